//! Echo load over loopback TCP: closed-loop clients (one message in flight
//! per connection) against a WebSocket echo server; messages/s and p50/p99
//! round-trip latency for 1, 10 and 100 connections and 20 B, 512 B, 1 KiB
//! and 16 KiB binary messages. Every run is bounded by a message count and a
//! time limit, and only ever connects to 127.0.0.1.
//!
//! - `cargo bench --bench echo_load`: starts three tiny in-process echo
//!   servers on `127.0.0.1:0` (wsmachine, tungstenite, fastwebsockets; bench
//!   code only) and loads each in turn, in the same run.
//! - `cargo bench --bench echo_load -- ws://127.0.0.1:PORT/echo`: loads an
//!   external server instead (e.g. the `echo_server` example).
//! - `cargo bench --bench echo_load -- serve wsmachine|tungstenite|fastwebsockets [127.0.0.1:0]`:
//!   runs one of the tiny servers alone; its first stdout line is
//!   `listening on http://127.0.0.1:PORT`.
//!
//! The load generator is a blocking client driving a wsmachine `Connection`
//! (so the client side costs the same against every server).
//! `WSM_BENCH_QUICK=1` shortens every case; `WSM_ECHO_CONNECTIONS=100,1000`
//! and `WSM_ECHO_SIZES=20,1024` replace the connection counts and message
//! sizes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::quick;
use wsmachine::{Config, Connection, Event};

const CONNECTIONS: [usize; 3] = [1, 10, 100];
const MESSAGE_SIZES: [usize; 4] = [20, 512, 1024, 16 * 1024];

// ---------------------------------------------------------------- handshake

/// Reads an HTTP head (up to the blank line) byte by byte; the peer sends
/// nothing after it until answered, so nothing is over-read.
fn read_head(stream: &mut impl Read) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
        if head.len() > 8192 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The 101 response for a request head (RFC 6455 section 4.2.2).
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
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

// ---------------------------------------------------------------- servers

fn serve_wsmachine(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        thread::spawn(move || -> std::io::Result<()> {
            stream.set_nodelay(true)?;
            let head = read_head(&mut stream)?;
            stream.write_all(accept_response(&head).as_bytes())?;
            let mut conn = Connection::open_server(Config::default());
            loop {
                let buf = conn.read_buf(16 * 1024);
                let n = stream.read(buf)?;
                if n == 0 {
                    conn.receive_eof();
                } else {
                    conn.filled(n);
                }
                while let Ok(Some((event, sender))) = conn.next_event_with_sender() {
                    if let Event::Message(message) = event {
                        let _ = sender.send(message);
                    }
                }
                while conn.wants_write() {
                    let written = stream.write(conn.pending_output())?;
                    conn.advance_output(written);
                }
                if n == 0 || conn.is_closed() {
                    return Ok(());
                }
            }
        });
    }
}

fn serve_tungstenite(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = tungstenite::accept(stream) else {
                return;
            };
            while let Ok(message) = ws.read() {
                if (message.is_binary() || message.is_text()) && ws.send(message).is_err() {
                    return;
                }
            }
        });
    }
}

fn serve_fastwebsockets(listener: TcpListener) {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    listener.set_nonblocking(true).expect("nonblocking");
    let rt = common::runtime_with_io();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
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

/// Starts one of the tiny servers on `addr` in a background thread.
fn start_server(which: &str, addr: &str) -> SocketAddr {
    let listener = TcpListener::bind(addr).expect("bind");
    let local = listener.local_addr().expect("local addr");
    let serve: fn(TcpListener) = match which {
        "wsmachine" => serve_wsmachine,
        "tungstenite" => serve_tungstenite,
        "fastwebsockets" => serve_fastwebsockets,
        other => panic!("unknown server {other:?}"),
    };
    thread::spawn(move || serve(listener));
    local
}

// ---------------------------------------------------------------- load

struct Target {
    addr: SocketAddr,
    path: String,
}

/// Parses `ws://127.0.0.1:PORT/path`; only loopback targets are accepted.
fn parse_target(url: &str) -> Target {
    let rest = url.strip_prefix("ws://").expect("a ws:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority.parse().expect("ws://IP:PORT/...");
    assert!(
        addr.ip().is_loopback(),
        "echo_load only targets loopback addresses"
    );
    Target {
        addr,
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
    }
}

struct Client {
    stream: TcpStream,
    conn: Connection,
    buf: Vec<u8>,
}

impl Client {
    fn connect(target: &Target) -> std::io::Result<Self> {
        let mut stream = TcpStream::connect(target.addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            target.path, target.addr
        )?;
        // The server sends nothing after its 101 until we send: a buffered
        // reader cannot swallow frame bytes here.
        let mut reader = BufReader::new(&mut stream);
        let mut status = String::new();
        reader.read_line(&mut status)?;
        if !status.contains(" 101 ") {
            return Err(std::io::Error::other(format!(
                "handshake refused: {status}"
            )));
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
        }
        Ok(Self {
            stream,
            conn: Connection::open(wsmachine::Role::Client, Config::default()),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Sends one message and waits for its echo.
    fn round_trip(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.conn
            .send_binary(payload)
            .map_err(std::io::Error::other)?;
        while self.conn.wants_write() {
            let n = self.stream.write(self.conn.pending_output())?;
            self.conn.advance_output(n);
        }
        loop {
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.conn.receive(&self.buf[..n]);
            while let Some(event) = self.conn.next_event().map_err(std::io::Error::other)? {
                if let Event::Message(message) = event {
                    assert_eq!(message.as_bytes().len(), payload.len(), "echo length");
                    return Ok(());
                }
            }
        }
    }
}

struct LoadResult {
    messages: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

/// `connections` closed-loop clients; stops after `max_messages` in all or
/// at `max_time`, whichever comes first.
fn load(
    target: &Target,
    connections: usize,
    size: usize,
    max_messages: usize,
    max_time: Duration,
) -> std::io::Result<LoadResult> {
    let clients: Vec<Client> = (0..connections)
        .map(|_| Client::connect(target))
        .collect::<Result<_, _>>()?;
    let payload: Arc<Vec<u8>> = Arc::new((0..size).map(|i| i as u8).collect());
    let budget = Arc::new(AtomicUsize::new(max_messages));
    let start = Instant::now();
    let deadline = start + max_time;
    let handles: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let payload = Arc::clone(&payload);
            let budget = Arc::clone(&budget);
            thread::spawn(move || -> std::io::Result<Vec<Duration>> {
                let mut rtts = Vec::new();
                while Instant::now() < deadline
                    && budget
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                        .is_ok()
                {
                    let sent = Instant::now();
                    client.round_trip(&payload)?;
                    rtts.push(sent.elapsed());
                }
                let _ = client.conn.close(wsmachine::CloseCode::NORMAL, "");
                let _ = client.stream.write_all(client.conn.pending_output());
                Ok(rtts)
            })
        })
        .collect();
    let mut rtts = Vec::new();
    for handle in handles {
        rtts.extend(handle.join().expect("client thread")?);
    }
    let elapsed = start.elapsed();
    rtts.sort();
    let at = |q: f64| rtts[((rtts.len() as f64 * q) as usize).min(rtts.len() - 1)];
    Ok(LoadResult {
        messages: rtts.len(),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// A comma-separated list of numbers from the environment, or `default`.
fn list_from_env(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn run_matrix(targets: &[(String, Target)]) {
    let (max_messages, max_time) = if quick() {
        (5_000, Duration::from_millis(500))
    } else {
        (100_000, Duration::from_secs(2))
    };
    println!(
        "# echo load over loopback (closed loop, one message in flight per connection; at most {max_messages} messages or {:.1} s per case){}\n",
        max_time.as_secs_f64(),
        if quick() { " — QUICK mode" } else { "" }
    );
    print!("| connections | message |");
    for (name, _) in targets {
        print!(" {name} msg/s | {name} p50 / p99 |");
    }
    if targets.len() > 1 {
        for (name, _) in &targets[1..] {
            print!(" {}/{name} |", targets[0].0);
        }
    }
    println!();
    println!(
        "|{}",
        "---|".repeat(2 + 2 * targets.len() + targets.len().saturating_sub(1))
    );
    for connections in list_from_env("WSM_ECHO_CONNECTIONS", &CONNECTIONS) {
        for size in list_from_env("WSM_ECHO_SIZES", &MESSAGE_SIZES) {
            print!("| {connections} | {size} B |");
            let mut rates = Vec::new();
            for (name, target) in targets {
                match load(target, connections, size, max_messages, max_time) {
                    Ok(r) => {
                        let rate = r.messages as f64 / r.elapsed.as_secs_f64();
                        rates.push(rate);
                        print!(
                            " {rate:.0} | {:.0} µs / {:.0} µs |",
                            r.p50.as_secs_f64() * 1e6,
                            r.p99.as_secs_f64() * 1e6
                        );
                    }
                    Err(e) => {
                        rates.push(f64::NAN);
                        eprintln!("{name}: {e}");
                        print!(" error | - |");
                    }
                }
            }
            for rate in rates.iter().skip(1) {
                print!(" {:.2}x |", rates[0] / rate);
            }
            println!();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let which = args.get(1).map_or("wsmachine", String::as_str);
            let addr = args.get(2).map_or("127.0.0.1:0", String::as_str);
            let listener = TcpListener::bind(addr).expect("bind");
            println!(
                "listening on http://{}",
                listener.local_addr().expect("addr")
            );
            match which {
                "wsmachine" => serve_wsmachine(listener),
                "tungstenite" => serve_tungstenite(listener),
                "fastwebsockets" => serve_fastwebsockets(listener),
                other => panic!("unknown server {other:?}"),
            }
        }
        Some(url) if url.starts_with("ws://") => {
            run_matrix(&[(url.to_owned(), parse_target(url))]);
        }
        _ => {
            let targets: Vec<(String, Target)> = ["wsmachine", "tungstenite", "fastwebsockets"]
                .into_iter()
                .map(|name| {
                    let addr = start_server(name, "127.0.0.1:0");
                    (
                        name.to_owned(),
                        Target {
                            addr,
                            path: "/echo".into(),
                        },
                    )
                })
                .collect();
            run_matrix(&targets);
        }
    }
}
