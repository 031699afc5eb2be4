//! Scale on one machine: resident memory per connection of a server process,
//! measured from outside (`VmRSS` in `/proc/PID/status`), and a connection
//! storm. Only ever connects to 127.0.0.1.
//!
//! ```sh
//! cargo build --release --features deflate --example event_loop
//! cargo bench --features deflate --bench scale            # everything (~5 min)
//! cargo bench --features deflate --bench scale -- storm   # the storm alone
//! cargo bench --features deflate --bench scale -- idle    # event_loop idle alone
//! ```
//!
//! `idle` runs only `event_loop`'s idle case, `WSM_SCALE_RUNS` times (3 by
//! default) per connection count, each in a fresh server process.
//!
//! Each server runs as its own process (so that its memory is its own, and
//! because this machine allows 20,000 open files per process, which one
//! process holding both ends of 19,000 connections would pass): the
//! `event_loop` example, and this bench's own tungstenite and fastwebsockets
//! echo servers (`scale -- serve tungstenite|fastwebsockets`), each one
//! thread: tungstenite non-blocking in a mio loop as `event_loop` is,
//! fastwebsockets as one task per connection in a current-thread tokio
//! runtime. The client is this process: it opens the connections itself
//! (non-blocking connects, all in flight at once, one mio loop), completes
//! every handshake, and then reads the server's resident memory.
//!
//! Figures, per server and connection count N (10,000 and 19,000;
//! `WSM_SCALE_N=2000,5000` to change, `WSM_BENCH_QUICK=1` for 2,000):
//!
//! - idle: (RSS with N open, idle connections − RSS before) / N;
//! - after 1 MiB: each of the first 1,000 connections in turn sends one 1 MiB
//!   binary message and reads its echo; the RSS growth over idle / 1,000 is
//!   what each such connection keeps afterwards (buffers the server did not
//!   give back, and what its allocator keeps);
//! - compression (event_loop only; the peers have no permessage-deflate):
//!   every connection negotiates permessage-deflate and exchanges one 4 KiB
//!   JSON-like text message (so both codec states exist), per memory preset,
//!   with context takeover, and without it with the per-thread shared state.
//!
//! `WSM_SCALE_BASELINE=/path/to/an/older/event_loop` adds that binary's
//! compression figure (its default settings) to the table.
//!
//! The storm: 10,000 connections opened as fast as this client can start
//! them against `event_loop`, all handshakes completed; the time it took and
//! how many were refused or timed out (any is a failure).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use wsmachine::deflate::{Compressor, CompressorMemory, DeflateConfig, Direction};

const ONE_MIB: usize = 1 << 20;
/// Connections that send a 1 MiB message.
const BIG_SENDERS: usize = 1000;
/// `event_loop` on one thread, like the peers' servers. It keeps a keepalive
/// deadline per connection (its timer heap entry is part of what is
/// measured), but one far enough out that no ping lands in a measurement:
/// the bench's client does not answer pings.
const EVENT_LOOP_ARGS: [&str; 4] = ["--threads", "1", "--ping-interval", "600"];

/// `event_loop`'s arguments: a free port, [`EVENT_LOOP_ARGS`], then `extra`.
fn el_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["127.0.0.1:0"];
    args.extend(EVENT_LOOP_ARGS);
    args.extend(extra);
    args
}
/// The longest any phase may take before the bench gives up on it.
const PHASE_LIMIT: Duration = Duration::from_secs(120);

// ------------------------------------------------------------------ servers

struct Server {
    child: Child,
    addr: SocketAddr,
    name: String,
}

impl Server {
    fn start(name: &str, program: &PathBuf, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("startup line");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            addr,
            name: name.to_owned(),
        }
    }

    /// Resident memory in bytes.
    fn rss(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            .expect("VmRSS")
            * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event_loop_path() -> PathBuf {
    // target/release/deps/scale-HASH -> target/release/examples/event_loop
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|release| release.join("examples").join("event_loop"))
        .expect("target dir");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release --features deflate --example event_loop` first",
        path.display()
    );
    path
}

// ------------------------------------------------------------------ client

/// The request every connection sends (the server sends nothing after its
/// 101 until the client does, so reading up to the blank line over-reads
/// nothing).
fn request(addr: SocketAddr, deflate: bool) -> Vec<u8> {
    let ext = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    )
    .into_bytes()
}

/// A masked client frame (RFC 6455 §5.3) with a fixed key.
fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first_byte];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// The length of the first whole frame in `buf` (server frames: unmasked).
fn frame_len(buf: &[u8]) -> Option<usize> {
    let (head, len) = match *buf.get(1)? {
        126 => (
            4,
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (10, u64::from_be_bytes(bytes) as usize)
        }
        n => (2, usize::from(n & 0x7f)),
    };
    (buf.len() >= head + len).then_some(head + len)
}

struct Conn {
    stream: TcpStream,
    /// Bytes of the request still to write; then of the message to send.
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    open: bool,
}

#[derive(Default, Debug)]
struct Opened {
    completed: usize,
    refused: usize,
    failed: usize,
    elapsed: Duration,
}

struct Client {
    poll: Poll,
    conns: HashMap<Token, Conn>,
}

impl Client {
    fn new() -> Self {
        Self {
            poll: Poll::new().expect("poll"),
            conns: HashMap::new(),
        }
    }

    /// Starts `n` connections at once (as fast as connect() returns) and
    /// drives them until every handshake completed or failed.
    fn open(&mut self, addr: SocketAddr, n: usize, deflate: bool) -> Opened {
        let req = request(addr, deflate);
        let start = Instant::now();
        let mut result = Opened::default();
        let mut events = Events::with_capacity(4096);
        let mut started = 0;
        while result.completed + result.refused + result.failed < n {
            assert!(
                start.elapsed() < PHASE_LIMIT,
                "opening took too long: {result:?}"
            );
            // Start connections in batches between polls, so handshakes
            // progress while the rest are started.
            for _ in 0..512.min(n - started) {
                let token = Token(self.conns.len());
                match TcpStream::connect(addr) {
                    Ok(mut stream) => {
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        self.poll
                            .registry()
                            .register(&mut stream, token, interest)
                            .expect("register");
                        let conn = Conn {
                            stream,
                            out: req.clone(),
                            written: 0,
                            input: Vec::new(),
                            open: false,
                        };
                        self.conns.insert(token, conn);
                    }
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => result.refused += 1,
                    Err(_) => result.failed += 1,
                }
                started += 1;
            }
            let timeout = (started < n)
                .then_some(Duration::ZERO)
                .or(Some(Duration::from_millis(100)));
            self.poll.poll(&mut events, timeout).expect("poll");
            for event in &events {
                let Some(conn) = self.conns.get_mut(&event.token()) else {
                    continue;
                };
                if conn.open {
                    continue;
                }
                match handshake_step(conn) {
                    Ok(true) => result.completed += 1,
                    Ok(false) => {}
                    Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                        result.refused += 1;
                        conn.open = true; // counted; never again
                    }
                    Err(_) => {
                        result.failed += 1;
                        conn.open = true;
                    }
                }
            }
        }
        result.elapsed = start.elapsed();
        result
    }

    /// Sends `frame` on the first `count` connections, `in_flight` at a
    /// time, and reads one whole frame back on each.
    fn exchange(&mut self, count: usize, frame: &[u8], in_flight: usize) {
        let start = Instant::now();
        let mut pending: Vec<Token> = (0..count.min(self.conns.len())).map(Token).collect();
        for token in &pending {
            let conn = self.conns.get_mut(token).expect("conn");
            conn.out = frame.to_vec();
            conn.written = 0;
            conn.input.clear();
        }
        let mut events = Events::with_capacity(4096);
        let mut active: Vec<Token> = Vec::new();
        while !pending.is_empty() || !active.is_empty() {
            assert!(start.elapsed() < PHASE_LIMIT, "exchange took too long");
            while active.len() < in_flight {
                let Some(t) = pending.pop() else { break };
                active.push(t);
            }
            active.retain(|t| {
                let conn = self.conns.get_mut(t).expect("conn");
                !message_step(conn).expect("exchange")
            });
            if !active.is_empty() {
                self.poll
                    .poll(&mut events, Some(Duration::from_millis(50)))
                    .expect("poll");
            }
        }
    }
}

/// Writes what is left of the request and reads the response head.
/// Ok(true) once the 101 is in.
fn handshake_step(conn: &mut Conn) -> std::io::Result<bool> {
    if let Some(e) = conn.stream.take_error()? {
        return Err(e);
    }
    while conn.written < conn.out.len() {
        match conn.stream.write(&conn.out[conn.written..]) {
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => {
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    let mut buf = [0u8; 1024];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => conn.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if conn.input.windows(4).any(|w| w == b"\r\n\r\n") {
        if !conn.input.starts_with(b"HTTP/1.1 101") {
            return Err(ErrorKind::InvalidData.into());
        }
        conn.open = true;
        conn.input.clear();
        conn.out = Vec::new();
        return Ok(true);
    }
    Ok(false)
}

/// Writes what is left of the message and reads; Ok(true) once one whole
/// frame came back.
fn message_step(conn: &mut Conn) -> std::io::Result<bool> {
    while conn.written < conn.out.len() {
        match conn.stream.write(&conn.out[conn.written..]) {
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match conn.stream.read(&mut buf) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => conn.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if frame_len(&conn.input).is_some() {
        conn.input = Vec::new();
        conn.out = Vec::new();
        return Ok(true);
    }
    Ok(false)
}

// ------------------------------------------------------------------ cases

fn json_text(len: usize) -> String {
    let mut s = String::from("[");
    let mut i = 0u64;
    while s.len() + 100 < len {
        i += 1;
        s.push_str(&format!(
            r#"{{"id":{i},"user":"user{}","score":{},"text":"the quick brown fox","ok":true}},"#,
            i % 17,
            (i * 7919) % 10_000
        ));
    }
    s.push_str("{}]");
    s
}

/// One compressed text frame, the first message of a client's stream
/// (context takeover or not, the first message is the same).
fn compressed_frame(text: &str) -> Vec<u8> {
    let dir = Direction {
        max_window_bits: 15,
        no_context_takeover: false,
    };
    let mut c = Compressor::new(dir, &DeflateConfig::default());
    let mut payload = Vec::new();
    c.compress(text.as_bytes(), &mut payload);
    masked_frame(0x80 | 0x40 | 0x1, &payload) // FIN, RSV1, text
}

fn per_conn(after: usize, before: usize, n: usize) -> f64 {
    (after as f64 - before as f64) / n as f64
}

/// Idle and after-1-MiB figures for one server at N connections.
fn plain_case(server: &Server, n: usize) -> (f64, f64) {
    let mut client = Client::new();
    let before = server.rss();
    let opened = client.open(server.addr, n, false);
    assert_eq!(opened.completed, n, "{}: {opened:?}", server.name);
    let idle = server.rss();
    let big = masked_frame(0x82, &vec![0x5a; ONE_MIB]);
    let senders = BIG_SENDERS.min(n);
    // One at a time: what stays is what each connection keeps, not the
    // allocator's high-water mark of many messages in flight at once.
    client.exchange(senders, &big, 1);
    let after = server.rss();
    (per_conn(idle, before, n), per_conn(after, idle, senders))
}

/// RSS per connection once every connection exchanged one compressed message.
fn deflate_case(server: &Server, n: usize, frame: &[u8]) -> f64 {
    let mut client = Client::new();
    let before = server.rss();
    let opened = client.open(server.addr, n, true);
    assert_eq!(opened.completed, n, "{}: {opened:?}", server.name);
    client.exchange(n, frame, 256);
    per_conn(server.rss(), before, n)
}

/// `event_loop`'s idle figure alone, several runs per count (each in a
/// fresh process), to compare layouts of `Connection` quickly.
fn idle_only(event_loop: &PathBuf) {
    let runs: usize = std::env::var("WSM_SCALE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("| server | connections | idle, per run |");
    println!("|---|---|---|");
    for &n in &counts() {
        let figures: Vec<String> = (0..runs)
            .map(|_| {
                let server = Server::start("event_loop", event_loop, &el_args(&[]));
                let mut client = Client::new();
                let before = server.rss();
                let opened = client.open(server.addr, n, false);
                assert_eq!(opened.completed, n, "event_loop: {opened:?}");
                format!("{:.0} B", per_conn(server.rss(), before, n))
            })
            .collect();
        println!("| event_loop | {n} | {} |", figures.join(" / "));
    }
}

fn counts() -> Vec<usize> {
    if let Ok(list) = std::env::var("WSM_SCALE_N") {
        return list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
    }
    if std::env::var_os("WSM_BENCH_QUICK").is_some() {
        vec![2000]
    } else {
        vec![10_000, 19_000]
    }
}

fn storm(event_loop: &PathBuf) {
    let n = if std::env::var_os("WSM_BENCH_QUICK").is_some() {
        2000
    } else {
        10_000
    };
    let server = Server::start("event_loop", event_loop, &el_args(&[]));
    let mut client = Client::new();
    let opened = client.open(server.addr, n, false);
    println!(
        "storm: {n} connections against event_loop: {} handshakes completed, {} refused, {} failed, in {:.2} s ({:.0} handshakes/s)",
        opened.completed,
        opened.refused,
        opened.failed,
        opened.elapsed.as_secs_f64(),
        opened.completed as f64 / opened.elapsed.as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let which = args.get(1).map_or("tungstenite", String::as_str);
            let addr = args.get(2).map_or("127.0.0.1:0", String::as_str);
            let listener = std::net::TcpListener::bind(addr).expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            println!(
                "listening on http://{}",
                listener.local_addr().expect("addr")
            );
            std::io::stdout().flush().expect("stdout");
            match which {
                "tungstenite" => peers::tungstenite(listener),
                "fastwebsockets" => peers::fastwebsockets(listener),
                other => panic!("unknown server {other:?}"),
            }
        }
        Some("storm") => storm(&event_loop_path()),
        Some("idle") => idle_only(&event_loop_path()),
        _ => {
            let event_loop = event_loop_path();
            let me = std::env::current_exe().expect("current exe");
            println!("# resident memory per connection (server process, VmRSS)\n");
            println!(
                "| server | connections | idle | kept after a 1 MiB message (first {BIG_SENDERS} connections, one at a time) |"
            );
            println!("|---|---|---|---|");
            for &n in &counts() {
                let servers: [(&str, &PathBuf, Vec<&str>); 3] = [
                    ("event_loop", &event_loop, el_args(&[])),
                    ("tungstenite", &me, vec!["serve", "tungstenite"]),
                    ("fastwebsockets", &me, vec!["serve", "fastwebsockets"]),
                ];
                for (name, program, args) in servers {
                    let server = Server::start(name, program, &args);
                    let (idle, big) = plain_case(&server, n);
                    println!("| {name} | {n} | {idle:.0} B | {big:.0} B |");
                }
            }
            let n = counts()[0];
            println!(
                "\n# event_loop with permessage-deflate: RSS per connection after one 4 KiB compressed message each ({n} connections)\n"
            );
            println!("| preset | context takeover | per connection |");
            println!("|---|---|---|");
            let frame = compressed_frame(&json_text(4096));
            for preset in CompressorMemory::ALL {
                let flag = format!("--deflate-memory={preset:?}");
                let server = Server::start("event_loop", &event_loop, &el_args(&[&flag]));
                let rss = deflate_case(&server, n, &frame);
                println!("| {preset:?} | yes | {rss:.0} B |");
            }
            let server = Server::start(
                "event_loop",
                &event_loop,
                &el_args(&["--no-context-takeover", "--shared-state"]),
            );
            let rss = deflate_case(&server, n, &frame);
            println!("| Default, shared per thread | no | {rss:.0} B |");
            drop(server);
            // An older event_loop binary to compare with (e.g. one built
            // before the compressor was replaced), run with its defaults.
            if let Some(before) = std::env::var_os("WSM_SCALE_BASELINE") {
                let server = Server::start("baseline", &PathBuf::from(before), &["127.0.0.1:0"]);
                let rss = deflate_case(&server, n, &frame);
                println!("| WSM_SCALE_BASELINE, its defaults | yes | {rss:.0} B |");
            }
            println!();
            storm(&event_loop);
        }
    }
}

/// The peers' echo servers, each on one thread.
mod peers {
    use super::*;

    enum Tung {
        Handshake(
            tungstenite::handshake::MidHandshake<
                tungstenite::ServerHandshake<TcpStream, tungstenite::handshake::server::NoCallback>,
            >,
        ),
        Open(tungstenite::WebSocket<TcpStream>),
    }

    /// tungstenite over non-blocking sockets in a mio loop, as `event_loop`
    /// drives wsmachine: WouldBlock ends a turn, the next readiness resumes.
    pub fn tungstenite(listener: std::net::TcpListener) {
        use tungstenite::HandshakeError;
        let mut listener = TcpListener::from_std(listener);
        let mut poll = Poll::new().expect("poll");
        let listen = Token(usize::MAX);
        poll.registry()
            .register(&mut listener, listen, Interest::READABLE)
            .expect("register");
        let mut conns: HashMap<Token, Tung> = HashMap::new();
        let mut next = 0;
        let mut events = Events::with_capacity(1024);
        loop {
            poll.poll(&mut events, None).expect("poll");
            for event in &events {
                let token = event.token();
                if token == listen {
                    while let Ok((mut stream, _)) = listener.accept() {
                        let t = Token(next);
                        next += 1;
                        let _ = stream.set_nodelay(true);
                        poll.registry()
                            .register(&mut stream, t, Interest::READABLE | Interest::WRITABLE)
                            .expect("register");
                        match tungstenite::accept(stream) {
                            Ok(ws) => drop(conns.insert(t, Tung::Open(ws))),
                            Err(HandshakeError::Interrupted(mid)) => {
                                drop(conns.insert(t, Tung::Handshake(mid)))
                            }
                            Err(HandshakeError::Failure(_)) => {}
                        }
                    }
                    continue;
                }
                let Some(state) = conns.remove(&token) else {
                    continue;
                };
                let state = match state {
                    Tung::Handshake(mid) => match mid.handshake() {
                        Ok(ws) => Some(Tung::Open(ws)),
                        Err(HandshakeError::Interrupted(mid)) => Some(Tung::Handshake(mid)),
                        Err(HandshakeError::Failure(_)) => None,
                    },
                    Tung::Open(mut ws) => {
                        let mut alive = true;
                        loop {
                            match ws.read() {
                                Ok(m) if m.is_binary() || m.is_text() => match ws.send(m) {
                                    Ok(()) => {}
                                    Err(tungstenite::Error::Io(e))
                                        if e.kind() == ErrorKind::WouldBlock => {}
                                    Err(_) => {
                                        alive = false;
                                        break;
                                    }
                                },
                                Ok(_) => {}
                                Err(tungstenite::Error::Io(e))
                                    if e.kind() == ErrorKind::WouldBlock =>
                                {
                                    break;
                                }
                                Err(_) => {
                                    alive = false;
                                    break;
                                }
                            }
                        }
                        if alive {
                            match ws.flush() {
                                Ok(()) => Some(Tung::Open(ws)),
                                Err(tungstenite::Error::Io(e))
                                    if e.kind() == ErrorKind::WouldBlock =>
                                {
                                    Some(Tung::Open(ws))
                                }
                                Err(_) => None,
                            }
                        } else {
                            None
                        }
                    }
                };
                if let Some(state) = state {
                    conns.insert(token, state);
                }
            }
        }
    }

    /// fastwebsockets: one task per connection on a current-thread runtime.
    pub fn fastwebsockets(std_listener: std::net::TcpListener) {
        use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let response = accept_response(&String::from_utf8_lossy(&head));
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut ws =
                        FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
                    while let Ok(frame) = ws.read_frame().await {
                        let echo = match frame.opcode {
                            OpCode::Binary | OpCode::Text => ws.write_frame(frame).await.is_ok(),
                            OpCode::Close => false,
                            _ => true,
                        };
                        if !echo {
                            return;
                        }
                    }
                });
            }
        });
    }

    /// The 101 response for a request head (RFC 6455 §4.2.2).
    fn accept_response(head: &str) -> String {
        let key = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            wsmachine::handshake::accept_key(key.as_bytes())
        )
    }
}
