//! Async echo servers side by side: `tokio_echo_server` (wsmachine's tokio
//! adapter, the example binary) against the same echo service on
//! tokio-tungstenite and on fastwebsockets. Every server is its own process
//! on a multi-thread tokio runtime with the same worker count
//! (`TOKIO_WORKER_THREADS`, default 2). One load generator (this process,
//! a current-thread runtime driving wsmachine tokio clients, so the client
//! side costs the same against every server) keeps one message in flight on
//! each of 100 and 500 connections, with 20 B and 16 KiB binary messages,
//! and counts echoes over a fixed window, and the server process's CPU time
//! per echo (from /proc: robust to the rest of a shared machine, which
//! moves throughput far more), in total and split into user time (the
//! WebSocket library, the runtime and libc: the part a library controls)
//! and system time (the kernel's socket and epoll work, which dominates and
//! is about the same for every server making the same calls); each case is
//! the median of five rounds in which the servers take turns. Loopback
//! only; Linux for the CPU columns (clock ticks of 10 ms: a user figure is
//! a few dozen ticks per window, so differences under ~5 % are noise).
//!
//! - `cargo bench --bench tokio_echo --features tokio`: the table (markdown),
//!   with throughput as wsmachine / peer and CPU as peer / wsmachine (both
//!   above 1 when wsmachine does better); builds the example in release if
//!   missing.
//! - `cargo bench --bench tokio_echo --features tokio -- serve tungstenite|fastwebsockets`:
//!   one peer server alone on `127.0.0.1:0`; its first stdout line is
//!   `listening on http://ADDR`.
//!
//! `WSM_BENCH_QUICK=1` shortens the window; `WSM_BENCH_RUNS=N` sets the
//! number of rounds (default 5).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::quick;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsmachine::Config;
use wsmachine::tokio::OwnedMessage;

const CONNECTIONS: [usize; 2] = [100, 500];
const SIZES: [usize; 2] = [20, 16 * 1024];
const SERVERS: [&str; 3] = ["wsmachine", "tokio-tungstenite", "fastwebsockets"];

fn worker_threads() -> String {
    std::env::var("TOKIO_WORKER_THREADS").unwrap_or_else(|_| "2".into())
}

// ------------------------------------------------------------ peer servers

fn runtime() -> tokio::runtime::Runtime {
    // Worker count from TOKIO_WORKER_THREADS, as tokio_echo_server's.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Reads the request head byte by byte and writes the 101.
async fn handshake(stream: &mut tokio::net::TcpStream) -> Option<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? != 1 || head.len() > 8192 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let key = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_owned())
    })?;
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await.ok()
}

async fn serve_tokio_tungstenite(listener: tokio::net::TcpListener) {
    use futures_util::{SinkExt, StreamExt};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_binary() || message.is_text()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn serve_fastwebsockets(listener: tokio::net::TcpListener) {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if handshake(&mut stream).await.is_none() {
                return;
            }
            let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
            while let Ok(frame) = ws.read_frame().await {
                let go_on = match frame.opcode {
                    OpCode::Binary | OpCode::Text => ws.write_frame(frame).await.is_ok(),
                    OpCode::Close => false,
                    _ => true,
                };
                if !go_on {
                    return;
                }
            }
        });
    }
}

fn serve(which: &str) {
    runtime().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "listening on http://{}",
            listener.local_addr().expect("addr")
        );
        std::io::stdout().flush().ok();
        match which {
            "tokio-tungstenite" => serve_tokio_tungstenite(listener).await,
            "fastwebsockets" => serve_fastwebsockets(listener).await,
            other => panic!("unknown server {other}"),
        }
    });
}

// ------------------------------------------------------------ processes

/// A server process, killed when dropped.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tokio_echo_server_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("target/release/examples/tokio_echo_server");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--features",
            "tokio",
            "--example",
            "tokio_echo_server",
        ])
        .current_dir(root)
        .status()
        .expect("cargo");
    assert!(status.success(), "building tokio_echo_server failed");
    path
}

fn start(which: &str) -> Server {
    let mut command = if which == "wsmachine" {
        let mut c = Command::new(tokio_echo_server_binary());
        c.args(["127.0.0.1:0", "--ping-interval", "0", "--ping-timeout", "0"]);
        c
    } else {
        let mut c = Command::new(std::env::current_exe().expect("exe"));
        c.args(["serve", which]);
        c
    };
    let mut child = command
        .env("TOKIO_WORKER_THREADS", worker_threads())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    Server(child, addr)
}

// ------------------------------------------------------------ load

/// CPU time a process has used, from /proc: user space (the library, the
/// runtime, libc) and the kernel on its behalf (mostly the socket calls).
#[derive(Clone, Copy, Default)]
struct CpuTime {
    user: Duration,
    system: Duration,
}

impl CpuTime {
    fn of(pid: u32) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces) ")": utime is
        // the 12th, stime the 13th, in clock ticks (100 per second on Linux).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            let n = fields.get(i).and_then(|v| v.parse::<u64>().ok());
            Duration::from_millis(n.unwrap_or(0) * 10)
        };
        Self {
            user: ticks(11),
            system: ticks(12),
        }
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    /// Per echo, in µs: (total, user, system).
    fn per_echo_us(self, echoes: u64) -> [f64; 3] {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / echoes.max(1) as f64;
        [
            per(self.user + self.system),
            per(self.user),
            per(self.system),
        ]
    }
}

/// What one window measured: echoes per second, and the server's CPU per
/// echo in µs (total, user, system).
struct Sample {
    rate: f64,
    cpu: [f64; 3],
}

/// Echoes per second, and the server's CPU time per echo, with
/// `connections` clients, one `size`-byte message in flight each, over
/// `window` after a warm-up.
fn load(server: &Server, connections: usize, size: usize, window: Duration) -> Sample {
    load_pid(server, server.0.id(), connections, size, window)
}

fn load_pid(
    server: &Server,
    pid: u32,
    connections: usize,
    size: usize,
    window: Duration,
) -> Sample {
    let addr = &server.1;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!("ws://{addr}/");
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let config = Config::default().without_timeouts();
            let ws = wsmachine::tokio::connect_with_config(&url, config)
                .await
                .expect("connect");
            let (count, stop) = (count.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut ws = ws;
                let payload = vec![0x5A; size];
                while !stop.load(Ordering::Relaxed) {
                    ws.send_binary(&payload).await.expect("send");
                    match ws.read().await.expect("echo") {
                        OwnedMessage::Binary(echo) => assert_eq!(echo.len(), size),
                        other => panic!("unexpected {other:?}"),
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                let _ = ws.start_close(wsmachine::CloseCode::NORMAL, "").await;
            }));
        }
        tokio::time::sleep(window / 4).await;
        let start_count = count.load(Ordering::Relaxed);
        let start_cpu = CpuTime::of(pid);
        let started = Instant::now();
        tokio::time::sleep(window).await;
        let done = count.load(Ordering::Relaxed) - start_count;
        let cpu = CpuTime::of(pid).since(start_cpu);
        let rate = done as f64 / started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        Sample {
            rate,
            cpu: cpu.per_echo_us(done),
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(args.get(1).map_or("", String::as_str));
    }
    if args.first().map(String::as_str) == Some("load") {
        return load_only(&args[1..]);
    }
    let window = Duration::from_millis(if quick() { 300 } else { 2000 });
    // WSM_BENCH_RUNS overrides: single cells scatter by 10-15 % from round
    // to round on a two-core machine, so a table to quote wants more.
    let rounds = std::env::var("WSM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(if quick() { 1 } else { 5 });
    println!(
        "tokio echo, one message in flight per connection; servers on multi-thread runtimes with {} workers; \
         median of {rounds} rounds of {} s per server, the servers taking turns in each round",
        worker_threads(),
        window.as_secs_f64()
    );
    // Started once; a round loads each in turn (rotating who goes first), so
    // a burst from the rest of the machine falls on all of them alike.
    let servers: Vec<Server> = SERVERS.iter().map(|which| start(which)).collect();
    println!(
        "| connections | size | msg/s: wsm / tt / fws | vs tt | vs fws \
         | CPU/echo µs: wsm / tt / fws | CPU tt/wsm | CPU fws/wsm \
         | user µs: wsm / tt / fws | user tt/wsm | user fws/wsm \
         | system µs: wsm / tt / fws | system tt/wsm | system fws/wsm |"
    );
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for &connections in &CONNECTIONS {
        for &size in &SIZES {
            let mut rates: Vec<Vec<f64>> = vec![Vec::new(); SERVERS.len()];
            // [server][total, user, system]: samples.
            let mut cpus: Vec<[Vec<f64>; 3]> = vec![Default::default(); SERVERS.len()];
            for round in 0..rounds {
                for k in 0..SERVERS.len() {
                    let i = (round + k) % SERVERS.len();
                    let sample = load(&servers[i], connections, size, window);
                    rates[i].push(sample.rate);
                    for (samples, value) in cpus[i].iter_mut().zip(sample.cpu) {
                        samples.push(value);
                    }
                }
            }
            let rate: Vec<f64> = rates.iter_mut().map(|s| median(s)).collect();
            let label = if size >= 1024 {
                format!("{} KiB", size / 1024)
            } else {
                format!("{size} B")
            };
            let mut row = format!(
                "| {connections} | {label} | {:.0} / {:.0} / {:.0} | {:.2}x | {:.2}x |",
                rate[0],
                rate[1],
                rate[2],
                rate[0] / rate[1],
                rate[0] / rate[2],
            );
            // Total, user, system: each the three medians, then the peers'
            // CPU over ours (above 1: wsmachine spends less).
            for part in 0..3 {
                let cpu: Vec<f64> = cpus.iter_mut().map(|c| median(&mut c[part])).collect();
                row += &format!(
                    " {:.1} / {:.1} / {:.1} | {:.2}x | {:.2}x |",
                    cpu[0],
                    cpu[1],
                    cpu[2],
                    cpu[1] / cpu[0],
                    cpu[2] / cpu[0]
                );
            }
            println!("{row}");
        }
    }
}

/// `load PID ADDR CONNECTIONS SIZE SECONDS`: the load alone against a
/// server already running (to profile it: `perf record -p PID`, `strace -c
/// -f -p PID`).
fn load_only(args: &[String]) {
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    let usage = "usage: tokio_echo load PID ADDR CONNECTIONS SIZE SECONDS";
    let pid: u32 = arg(0).parse().expect(usage);
    let connections: usize = arg(2).parse().expect(usage);
    let size: usize = arg(3).parse().expect(usage);
    let window = Duration::from_secs_f64(arg(4).parse().expect(usage));
    // A stand-in process for the Server handle: only its pid is read.
    let child = Command::new("true").spawn().expect("spawn");
    let server = Server(child, arg(1).to_owned());
    let Sample { rate, cpu } = load_pid(&server, pid, connections, size, window);
    println!(
        "{connections} connections, {size} B: {rate:.0} msg/s, server CPU {:.1} µs per echo \
         (user {:.1}, system {:.1})",
        cpu[0], cpu[1], cpu[2]
    );
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
