//! A WebSocket echo load generator in the manner of uSockets' `load_test`
//! (the tool uWebSockets and fastwebsockets publish their charts with): ONE
//! thread, non-blocking sockets on epoll (mio), N connections, the request
//! frame masked once and shared by every connection, one message in flight
//! per connection, messages/s counted over a fixed window after a warm-up.
//! A thread-per-connection client cannot load a server at 100+ connections
//! on two cores; this can, while costing the same against every server.
//!
//! ```sh
//! cargo bench --bench load                         # event_loop, echo_server, fastwebsockets, tokio-tungstenite, tokio_echo_server
//! cargo bench --bench load -- event_loop uWebSockets=ws://127.0.0.1:9001/ --connections 100,500
//! cargo bench --bench load -- serve fastwebsockets|tokio-tungstenite [ADDR]   # one bench server alone
//! ```
//!
//! Targets (the first is the reference of the ratio columns):
//! - `event_loop` (`--threads 1`), `echo_server`, `tokio_echo_server`
//!   (the tokio adapter; its multi-thread runtime sees the one CPU it is
//!   pinned to): the examples, built with `--release --features tokio`
//!   before the run, each its own process;
//! - `fastwebsockets` (current-thread tokio, `FragmentCollector`) and
//!   `tokio-tungstenite` (current-thread tokio): bench-only echo servers in
//!   this file, run as a child process (`serve`);
//! - `NAME=ws://127.0.0.1:PORT/path` or a bare URL: a server started by
//!   hand (uWebSockets' `EchoServer`, say). Loopback addresses only.
//!
//! Options: `--connections 100,500`, `--sizes 20,512,16384`, `--rounds 3`
//! (every case runs once per round, targets interleaved A B A B, the table
//! shows medians), `--warmup S`, `--window S`, `--cpus SERVER,LOAD` (default
//! `0,1` on a machine with two CPUs or more, `--no-pin` for none: every server started here runs
//! under `taskset -c SERVER` and this process moves itself to `LOAD`; pin a
//! hand-started server yourself, and give its PID as `NAME:PID=URL` for its
//! CPU time). `WSM_BENCH_QUICK=1` shortens the windows.
//!
//! Five tables: messages/s, the server's CPU time per message (user +
//! system, from `/proc/PID/stat`, over the same window), and the user-space
//! part of it. On a shared machine the second is the steadier: time the
//! server spends waiting for its core does not count. The third is the part
//! a WebSocket library controls most directly; the kernel's part is mostly
//! the socket calls, one read and one write per echo in each server
//! measured so far. The last two say who bounded the rate: the server's and
//! this load generator's CPU time per second of the window. When the load
//! generator is near 1.00 and the server below, the server waited for
//! requests, and messages/s measures the pair, not the server: compare CPU
//! per message then. Clock ticks are 10 ms: a window of a few seconds puts a
//! few hundred ticks in each figure, fewer in the user-space one.
//! Every run is bounded in time: connecting and the handshakes within 10 s,
//! then warm-up + window, and a run where no echo arrives for 5 s fails.

mod common;

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SETUP_LIMIT: Duration = Duration::from_secs(10);
const STALL_LIMIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- options

struct Options {
    connections: Vec<usize>,
    sizes: Vec<usize>,
    rounds: usize,
    warmup: Duration,
    window: Duration,
    cpus: Option<(usize, usize)>,
    targets: Vec<String>,
}

fn list(value: Option<String>, flag: &str) -> Vec<usize> {
    let value = value.unwrap_or_else(|| panic!("{flag} needs a value"));
    value
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: bad number {v:?}"))
        })
        .collect()
}

fn seconds(value: Option<String>, flag: &str) -> Duration {
    let value = value.unwrap_or_else(|| panic!("{flag} needs a value"));
    Duration::from_secs_f64(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{flag}: bad seconds")),
    )
}

fn parse_options(args: Vec<String>) -> Options {
    let two_cpus = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
    let mut options = Options {
        connections: vec![100, 500],
        sizes: vec![20, 512, 16 * 1024],
        rounds: 3,
        warmup: Duration::from_secs(1),
        window: Duration::from_secs(if common::quick() { 1 } else { 4 }),
        cpus: two_cpus.then_some((0, 1)),
        targets: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--connections" => options.connections = list(args.next(), &arg),
            "--sizes" => options.sizes = list(args.next(), &arg),
            "--rounds" => options.rounds = list(args.next(), &arg)[0].max(1),
            "--warmup" => options.warmup = seconds(args.next(), &arg),
            "--window" => options.window = seconds(args.next(), &arg),
            "--cpus" => {
                let cpus = list(args.next(), &arg);
                options.cpus = match cpus[..] {
                    [server, load] => Some((server, load)),
                    _ => panic!("--cpus SERVER,LOAD"),
                };
            }
            "--no-pin" => options.cpus = None,
            flag if flag.starts_with("--") => panic!("unknown option {flag}"),
            _ => options.targets.push(arg),
        }
    }
    if options.targets.is_empty() {
        options.targets = [
            "event_loop",
            "echo_server",
            "fastwebsockets",
            "tokio-tungstenite",
            "tokio_echo_server",
        ]
        .map(String::from)
        .to_vec();
    }
    options
}

// ---------------------------------------------------------------- targets

/// A server under load: where it listens, and its process if started here.
struct Target {
    name: String,
    addr: SocketAddr,
    path: String,
    child: Option<Child>,
    /// The server's process, for its CPU time.
    pid: Option<u32>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn parse_url(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("ws://").expect("a ws:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority.parse().expect("ws://IP:PORT/...");
    assert!(
        addr.ip().is_loopback(),
        "load only targets loopback addresses"
    );
    let path = if path.is_empty() { "/" } else { path };
    (addr, path.to_owned())
}

/// The release build of an example, built if missing.
fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/deps/load-HASH -> target/release/examples/NAME
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join("examples").join(name);
    // Always through cargo (a no-op when up to date): a binary left from
    // older sources would be measured in place of the current one.
    let features = if name.starts_with("tokio") {
        "tokio"
    } else {
        ""
    };
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--features",
            features,
            "--example",
            name,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build");
    assert!(status.success(), "building the {name} example failed");
    path
}

/// Runs `program args` (under `taskset -c cpu` when pinned) and reads its
/// `listening on http://ADDR` line.
fn spawn(name: &str, program: &std::path::Path, args: &[&str], cpu: Option<usize>) -> Target {
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        }
        None => Command::new(program),
    };
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"))
        .parse()
        .expect("address");
    Target {
        name: name.to_owned(),
        addr,
        path: "/echo".into(),
        pid: Some(child.id()), // taskset execs the server: same process
        child: Some(child),
    }
}

fn start(spec: &str, server_cpu: Option<usize>) -> Target {
    if let Some((name, url)) = spec.split_once('=') {
        let (addr, path) = parse_url(url);
        let (name, pid) = match name.split_once(':') {
            Some((name, pid)) => (name, Some(pid.parse().expect("NAME:PID=URL"))),
            None => (name, None),
        };
        return Target {
            name: name.into(),
            addr,
            path,
            child: None,
            pid,
        };
    }
    if spec.starts_with("ws://") {
        let (addr, path) = parse_url(spec);
        return Target {
            name: spec.into(),
            addr,
            path,
            child: None,
            pid: None,
        };
    }
    match spec {
        // One loop: the server gets one core, as every other target here.
        "event_loop" => spawn(
            spec,
            &example(spec),
            &["127.0.0.1:0", "--threads", "1"],
            server_cpu,
        ),
        "echo_server" | "tokio_echo_server" => {
            spawn(spec, &example(spec), &["127.0.0.1:0"], server_cpu)
        }
        "fastwebsockets" | "tokio-tungstenite" => {
            let me = std::env::current_exe().expect("current exe");
            spawn(spec, &me, &["serve", spec, "127.0.0.1:0"], server_cpu)
        }
        other => panic!("unknown target {other:?}"),
    }
}

/// User and system CPU time, in clock ticks.
type CpuTicks = (u64, u64);

/// A process's user and system CPU time so far (all its threads), from
/// `/proc/PID/stat` (Linux).
fn cpu_ticks(pid: u32) -> Option<CpuTicks> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 here.
    Some((
        fields.get(11)?.parse::<u64>().ok()?,
        fields.get(12)?.parse::<u64>().ok()?,
    ))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux in practice).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Moves this process (every thread) to `cpu` with `taskset`.
fn pin_self(cpu: usize) {
    let pid = std::process::id().to_string();
    match Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid])
        .stdout(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {}
        _ => eprintln!("taskset failed: the load generator is not pinned"),
    }
}

// ---------------------------------------------------------------- load

/// One client connection of the load generator.
struct Conn {
    stream: TcpStream,
    /// Bytes of the current outgoing buffer (request or frame) written.
    written: usize,
    /// The response head so far; `None` once upgraded.
    head: Option<Vec<u8>>,
    /// Bytes of the current echo still to come.
    owed: usize,
}

/// The client's masked binary frame for `payload`, built once per case.
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x82];
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
    frame.extend_from_slice(&KEY);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    frame
}

/// The size of the server's unmasked echo of `len` bytes.
fn echo_len(len: usize) -> usize {
    len + match len {
        n if n < 126 => 2,
        n if n <= 0xffff => 4,
        _ => 10,
    }
}

/// Writes what is left of `out` for `c`; true when all of it is written.
fn push(c: &mut Conn, out: &[u8]) -> io::Result<bool> {
    while c.written < out.len() {
        match c.stream.write(&out[c.written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => c.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// What one run measured over its window.
#[derive(Clone, Copy)]
struct Figures {
    /// Echoes per second.
    rate: f64,
    /// The server's CPU time per echo, in microseconds (NaN if unknown).
    cpu_us: f64,
    /// The user-space part of `cpu_us`: the server's own code and its
    /// libraries, without the kernel's socket work.
    user_us: f64,
    /// The server's CPU time over the window's wall time (1.0: its core
    /// never waited), NaN if unknown.
    server_busy: f64,
    /// The same for this load generator: near 1.0 it, not the server,
    /// bounds the rate, and CPU per message is the figure to compare.
    load_busy: f64,
}

/// Loads `target` with `connections` closed-loop clients of `size`-byte
/// messages; messages/s (and the server's CPU time per message, when its
/// process is known) over `window` after `warmup`.
fn run(
    target: &Target,
    connections: usize,
    size: usize,
    warmup: Duration,
    window: Duration,
) -> io::Result<Figures> {
    let payload: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
    let frame = masked_frame(&payload);
    let response = echo_len(size);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path, target.addr
    )
    .into_bytes();

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns = Vec::with_capacity(connections);
    for i in 0..connections {
        let mut stream = TcpStream::connect(target.addr)?;
        stream.set_nodelay(true)?; // as uSockets does
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        conns.push(Conn {
            stream,
            written: 0,
            head: Some(Vec::new()),
            owed: 0,
        });
    }
    let mut buf = vec![0u8; 512 * 1024];
    let mut upgraded = 0;
    let mut completed: u64 = 0;
    let setup_until = Instant::now() + SETUP_LIMIT;
    let mut started: Option<Instant> = None; // all upgraded
    let mut measure: Option<(Instant, u64, Option<CpuTicks>, Option<CpuTicks>)> = None;
    let server_cpu = || target.pid.and_then(cpu_ticks);
    let own_cpu = || cpu_ticks(std::process::id());
    let mut last_echo = Instant::now();
    loop {
        let now = Instant::now();
        match started {
            None if now > setup_until => {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("{upgraded} of {connections} upgraded"),
                ));
            }
            Some(at) if measure.is_none() && now >= at + warmup => {
                measure = Some((now, completed, server_cpu(), own_cpu()));
            }
            _ => {}
        }
        if let Some((from, count, cpu_from, own_from)) = measure
            && now >= from + window
        {
            let echoes = (completed - count) as f64;
            let seconds = |from: u64, to: u64| (to - from) as f64 / ticks_per_second();
            let (user, system) = match (cpu_from, server_cpu()) {
                (Some(a), Some(b)) => (seconds(a.0, b.0), seconds(a.1, b.1)),
                _ => (f64::NAN, f64::NAN),
            };
            let own = match (own_from, own_cpu()) {
                (Some(a), Some(b)) => seconds(a.0, b.0) + seconds(a.1, b.1),
                _ => f64::NAN,
            };
            let wall = (now - from).as_secs_f64();
            return Ok(Figures {
                rate: echoes / wall,
                cpu_us: (user + system) * 1e6 / echoes,
                user_us: user * 1e6 / echoes,
                server_busy: (user + system) / wall,
                load_busy: own / wall,
            });
        }
        if started.is_some() && now - last_echo > STALL_LIMIT {
            return Err(io::Error::new(ErrorKind::TimedOut, "no echo for 5 s"));
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in &events {
            let c = &mut conns[event.token().0];
            if c.head.is_some() {
                if push(c, &request)? && event.is_readable() {
                    // The 101 (the server sends nothing after it unasked).
                    loop {
                        match c.stream.read(&mut buf) {
                            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                            Ok(n) => {
                                let head = c.head.as_mut().expect("handshaking");
                                head.extend_from_slice(&buf[..n]);
                                if head.ends_with(b"\r\n\r\n") {
                                    if !head.starts_with(b"HTTP/1.1 101") {
                                        let head = String::from_utf8_lossy(head).into_owned();
                                        return Err(io::Error::other(format!("refused: {head}")));
                                    }
                                    c.head = None;
                                    c.written = 0;
                                    c.owed = response;
                                    upgraded += 1;
                                    if upgraded == connections {
                                        started = Some(Instant::now());
                                        last_echo = Instant::now();
                                    }
                                    push(c, &frame)?;
                                    break;
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                continue;
            }
            if event.is_writable() {
                push(c, &frame)?;
            }
            if !event.is_readable() {
                continue;
            }
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        if c.owed == response && buf[0] != 0x82 {
                            return Err(io::Error::other(format!(
                                "not a binary frame: {:#x}",
                                buf[0]
                            )));
                        }
                        c.owed = c
                            .owed
                            .checked_sub(n)
                            .ok_or_else(|| io::Error::other("echo longer than sent"))?;
                        if c.owed == 0 {
                            completed += 1;
                            last_echo = Instant::now();
                            c.owed = response;
                            c.written = 0;
                            push(c, &frame)?;
                        }
                        if n < buf.len() {
                            break; // the socket is empty; epoll reports what comes next
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

fn load_all(options: Options) {
    if let Some((_, load_cpu)) = options.cpus {
        pin_self(load_cpu);
    }
    let targets: Vec<Target> = options
        .targets
        .iter()
        .map(|spec| start(spec, options.cpus.map(|c| c.0)))
        .collect();
    println!(
        "# echo load: one thread, {} round(s) interleaved, {:.1} s warm-up + {:.1} s window per run, cpus (server, load) {:?}\n",
        options.rounds,
        options.warmup.as_secs_f64(),
        options.window.as_secs_f64(),
        options.cpus
    );
    let cases: Vec<(usize, usize)> = options
        .connections
        .iter()
        .flat_map(|&c| options.sizes.iter().map(move |&s| (c, s)))
        .collect();
    // figures[case][target] = one per round
    let mut figures = vec![vec![Vec::new(); targets.len()]; cases.len()];
    for round in 0..options.rounds {
        for (i, &(connections, size)) in cases.iter().enumerate() {
            for (t, target) in targets.iter().enumerate() {
                let f = run(target, connections, size, options.warmup, options.window)
                    .unwrap_or_else(|e| {
                        eprintln!("{} {connections}x{}: {e}", target.name, size_name(size));
                        Figures {
                            rate: f64::NAN,
                            cpu_us: f64::NAN,
                            user_us: f64::NAN,
                            server_busy: f64::NAN,
                            load_busy: f64::NAN,
                        }
                    });
                eprintln!(
                    "round {round}: {} {connections}x{}: {:.0} msg/s, server CPU {:.2} µs/msg ({:.2} user), busy: server {:.2}, load {:.2}",
                    target.name,
                    size_name(size),
                    f.rate,
                    f.cpu_us,
                    f.user_us,
                    f.server_busy,
                    f.load_busy
                );
                figures[i][t].push(f);
            }
        }
    }
    let table = |title: &str,
                 pick: fn(&Figures) -> f64,
                 format: fn(f64) -> String,
                 ratio: fn(f64, f64) -> f64| {
        println!("{title}\n");
        print!("| connections | message |");
        for target in &targets {
            print!(" {} |", target.name);
        }
        for target in &targets[1..] {
            print!(" {} vs {} |", targets[0].name, target.name);
        }
        println!("\n|{}", "---|".repeat(2 + 2 * targets.len() - 1));
        for (i, &(connections, size)) in cases.iter().enumerate() {
            let medians: Vec<f64> = figures[i]
                .iter()
                .map(|f| median(&mut f.iter().map(pick).collect::<Vec<_>>()))
                .collect();
            print!("| {connections} | {} |", size_name(size));
            for &m in &medians {
                print!(" {} |", format(m));
            }
            for &m in &medians[1..] {
                print!(" {:.2}x |", ratio(medians[0], m));
            }
            println!();
        }
        println!();
    };
    table(
        "## messages/s (medians; ratio = reference / peer)",
        |f| f.rate,
        |v| format!("{v:.0}"),
        |ours, peer| ours / peer,
    );
    table(
        "## server CPU time per message, µs (medians; ratio = peer / reference: above 1 the reference costs less)",
        |f| f.cpu_us,
        |v| format!("{v:.2}"),
        |ours, peer| peer / ours,
    );
    table(
        "## of which user space (the server's own code; the rest is the kernel's socket work), µs (medians; ratio = peer / reference)",
        |f| f.user_us,
        |v| format!("{v:.2}"),
        |ours, peer| peer / ours,
    );
    table(
        "## server busy (its CPU seconds per second of the window; below 1.00 its core waited for work; ratio = reference / peer)",
        |f| f.server_busy,
        |v| format!("{v:.2}"),
        |ours, peer| ours / peer,
    );
    table(
        "## load generator busy (its CPU seconds per second of the window; near 1.00 it bounds the rate; ratio = reference / peer)",
        |f| f.load_busy,
        |v| format!("{v:.2}"),
        |ours, peer| ours / peer,
    );
}

// ---------------------------------------------------------------- servers

/// Reads an HTTP head byte by byte (the client sends nothing after it
/// until answered) and returns the 101 for it (RFC 6455 section 4.2.2).
async fn upgrade(stream: &mut tokio::net::TcpStream) -> io::Result<()> {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Err(ErrorKind::InvalidData.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
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
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await
}

async fn fastwebsockets_echo(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    upgrade(&mut stream).await?;
    let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
    while let Ok(frame) = ws.read_frame().await {
        match frame.opcode {
            OpCode::Binary | OpCode::Text => {
                ws.write_frame(frame).await.map_err(io::Error::other)?
            }
            OpCode::Close => break,
            _ => {}
        }
    }
    Ok(())
}

async fn tokio_tungstenite_echo(stream: tokio::net::TcpStream) -> io::Result<()> {
    use futures_util::{SinkExt, StreamExt};
    let mut ws = tokio_tungstenite::accept_async(stream)
        .await
        .map_err(io::Error::other)?;
    while let Some(Ok(message)) = ws.next().await {
        if message.is_binary() || message.is_text() {
            ws.send(message).await.map_err(io::Error::other)?;
        } else if message.is_close() {
            break;
        }
    }
    Ok(())
}

/// A bench server on one current-thread tokio runtime (one core, as
/// `event_loop` uses), every connection a task.
fn serve(which: &str, addr: &str) {
    let listener = TcpListener::bind(addr).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("addr")
    );
    io::stdout().flush().expect("stdout");
    let tungstenite = match which {
        "fastwebsockets" => false,
        "tokio-tungstenite" => true,
        other => panic!("unknown server {other:?}"),
    };
    common::runtime_with_io().block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            if tungstenite {
                tokio::spawn(tokio_tungstenite_echo(stream));
            } else {
                tokio::spawn(fastwebsockets_echo(stream));
            }
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if positional.first() == Some(&"serve") {
        let which = positional.get(1).copied().unwrap_or("fastwebsockets");
        serve(which, positional.get(2).copied().unwrap_or("127.0.0.1:0"));
        return;
    }
    load_all(parse_options(args));
}
