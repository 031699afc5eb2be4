//! The CPU `event_loop` spends on keepalive: N idle WebSocket connections
//! (default 10,000) held open against the `event_loop` example, once with
//! keepalive off and once with a ping every second, measuring the server
//! process's CPU time (user + system, from /proc) over the same window.
//!
//! `cargo bench --bench keepalive` (builds the release `event_loop` example if
//! it is missing). `WSM_KEEPALIVE_CONNECTIONS=N` and `WSM_KEEPALIVE_SECONDS=S`
//! change the size; `WSM_BENCH_QUICK=1` runs 1,000 connections for 3 s.
//! Only 127.0.0.1 is used; every loop is bounded in time. The client side is
//! one mio thread driving a wsmachine `Connection` per connection, which
//! answers the pings.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use wsmachine::{Config, Connection, Event};

/// In flight at once while connecting, below the listener's backlog.
const CONNECT_BATCH: usize = 256;

struct Peer {
    stream: TcpStream,
    /// `None` until the 101 arrived.
    conn: Option<Connection>,
    head: Vec<u8>,
    request_sent: bool,
}

fn event_loop_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the bench binary has a path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile.join("examples").join("event_loop");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--example", "event_loop"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building event_loop failed");
    }
    path
}

fn spawn_server(ping_interval: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(event_loop_binary())
        .args([
            "127.0.0.1:0",
            "--ping-interval",
            ping_interval,
            "--ping-timeout",
            "10",
            "--open-timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("event_loop starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("a startup line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected startup line {line:?}"));
    (child, addr)
}

/// User + system CPU time of a process, from /proc/PID/stat (in clock
/// ticks of 10 ms, the USER_HZ every Linux reports).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc is there");
    // The command name is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn masks() -> impl FnMut() -> [u8; 4] {
    let mut n: u32 = 0x2545_F491;
    move || {
        n ^= n << 13;
        n ^= n >> 17;
        n ^= n << 5;
        n.to_be_bytes()
    }
}

/// Drives a peer's socket until it would block; returns the pings
/// answered. `opened` counts handshakes completed.
fn service(
    peer: &mut Peer,
    request: &[u8],
    scratch: &mut [u8],
    opened: &mut usize,
) -> std::io::Result<usize> {
    if !peer.request_sent {
        match peer.stream.write(request) {
            Ok(n) if n == request.len() => peer.request_sent = true,
            Ok(_) => return Err(ErrorKind::WriteZero.into()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(0),
            Err(e) => return Err(e),
        }
    }
    let mut pings = 0;
    loop {
        match peer.stream.read(scratch) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                let mut data = &scratch[..n];
                if peer.conn.is_none() {
                    peer.head.extend_from_slice(data);
                    let Some(end) = peer.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    assert!(peer.head.starts_with(b"HTTP/1.1 101"), "not upgraded");
                    let rest = peer.head.split_off(end + 4);
                    peer.head = rest;
                    let config = Config::default().without_timeouts();
                    peer.conn = Some(Connection::open_client(config, masks()));
                    *opened += 1;
                    data = &[];
                }
                let conn = peer.conn.as_mut().expect("open");
                if !peer.head.is_empty() {
                    conn.receive(&std::mem::take(&mut peer.head));
                }
                conn.receive(data);
                while let Some(event) = conn.next_event().expect("a valid server") {
                    if matches!(event, Event::Ping(_)) {
                        pings += 1;
                    }
                }
                let out = conn.pending_output().len();
                if out > 0 {
                    let n = peer.stream.write(conn.pending_output())?;
                    conn.advance_output(n);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(pings),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

struct Run {
    open: usize,
    cpu: Duration,
    wall: Duration,
    pings: usize,
}

fn run(ping_interval: &str, connections: usize, seconds: u64) -> Run {
    let (mut child, addr) = spawn_server(ping_interval);
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    let mut poll = Poll::new().expect("epoll");
    let mut events = Events::with_capacity(4096);
    let mut peers: HashMap<Token, Peer> = HashMap::new();
    let mut scratch = vec![0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut opened = 0;

    // Connect in batches (below the listener's backlog) until all are open.
    while opened < connections && Instant::now() < deadline {
        while peers.len() < connections && peers.len() - opened < CONNECT_BATCH {
            let mut stream = TcpStream::connect(addr).expect("connect");
            let token = Token(peers.len());
            poll.registry()
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .expect("register");
            let peer = Peer {
                stream,
                conn: None,
                head: Vec::new(),
                request_sent: false,
            };
            peers.insert(token, peer);
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        for event in &events {
            if let Some(peer) = peers.get_mut(&event.token()) {
                service(peer, &request, &mut scratch, &mut opened).expect("handshake");
            }
        }
    }

    // The measured window: idle, answering whatever pings come.
    let cpu_before = cpu_time(child.id());
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .expect("poll");
        for event in &events {
            if let Some(peer) = peers.get_mut(&event.token()) {
                pings +=
                    service(peer, &request, &mut scratch, &mut opened).expect("idle connection");
            }
        }
    }
    let wall = start.elapsed();
    let cpu = cpu_time(child.id()) - cpu_before;
    let _ = child.kill();
    let _ = child.wait();
    Run {
        open: opened,
        cpu,
        wall,
        pings,
    }
}

fn main() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (connections, seconds) = if common::quick() {
        (1_000, 3)
    } else {
        (
            env("WSM_KEEPALIVE_CONNECTIONS", 10_000) as usize,
            env("WSM_KEEPALIVE_SECONDS", 10),
        )
    };
    println!("event_loop, {connections} idle connections, {seconds} s window");
    println!("| keepalive | open | server CPU | CPU share of one core | pings/s | CPU per ping |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (label, interval) in [("off", "0"), ("ping every 1 s", "1")] {
        let r = run(interval, connections, seconds);
        let share = r.cpu.as_secs_f64() / r.wall.as_secs_f64() * 100.0;
        let per_ping = if r.pings > 0 {
            format!("{:.1} µs", r.cpu.as_secs_f64() * 1e6 / r.pings as f64)
        } else {
            "-".into()
        };
        println!(
            "| {label} | {} | {:.2} s | {share:.1} % | {:.0} | {per_ping} |",
            r.open,
            r.cpu.as_secs_f64(),
            r.pings as f64 / r.wall.as_secs_f64(),
        );
    }
}
