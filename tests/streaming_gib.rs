//! A 1 GiB single-frame binary message through `echo_server --stream` over
//! loopback comes back intact, and the server's peak resident memory
//! (VmHWM) stays under 32 MiB.
//!
//! Needs the release example (`cargo build --release --features deflate
//! --examples`, as `.ci/run` does first) and Linux's /proc; ignored by a
//! plain `cargo test`. Run it with
//!
//! ```text
//! cargo test --release --features deflate --test streaming_gib -- --ignored --nocapture
//! ```
//!
//! `WSM_ECHO_SERVER` overrides the server binary's path.
#![cfg(feature = "std")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::counter_masks;
use wsmachine::{ClientRequest, CloseCode, Config, Connection, Event};

const MESSAGE: u64 = 1 << 30;
const PEAK_LIMIT_KIB: u64 = 32 * 1024;
/// Upper bound for the whole exchange (it takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(240);
const KEY: [u8; 4] = [0x5A, 0xC3, 0x0F, 0x96];
/// The payload repeats with this period (a prime, so it drifts against
/// frame and read boundaries).
const PERIOD: usize = 251;

fn pattern_byte(i: usize) -> u8 {
    (i % PERIOD * 97 % 256) as u8
}

/// The server under `timeout`, killed when dropped.
struct Server {
    timeout: Child,
    pid: u32,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.timeout.kill();
        let _ = self.timeout.wait();
    }
}

fn echo_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WSM_ECHO_SERVER") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("release/examples/echo_server")
}

fn start_server() -> Server {
    let binary = echo_server_binary();
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --release --features deflate --examples` first",
        binary.display()
    );
    let mut timeout = Command::new("timeout")
        .arg(DEADLINE.as_secs().to_string())
        .arg(&binary)
        .args(["127.0.0.1:0", "--stream"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning timeout + echo_server");
    let mut line = String::new();
    BufReader::new(timeout.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // `timeout` runs the server as its child.
    let children = format!("/proc/{0}/task/{0}/children", timeout.id());
    let pid = std::fs::read_to_string(&children)
        .unwrap_or_else(|e| panic!("{children}: {e}"))
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the server's pid");
    Server { timeout, pid, addr }
}

/// VmHWM (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Writes the 1 GiB frame (masked, as a client must) in 64 KiB pieces.
fn send_frame(mut stream: TcpStream) -> std::io::Result<()> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&MESSAGE.to_be_bytes());
    header.extend_from_slice(&KEY);
    stream.write_all(&header)?;
    // Masked pattern: periodic with lcm(PERIOD, 4).
    let period = PERIOD * 4;
    let piece = 64 << 10;
    let masked: Vec<u8> = (0..piece + period)
        .map(|i| pattern_byte(i) ^ KEY[i % 4])
        .collect();
    let mut sent = 0u64;
    while sent < MESSAGE {
        let n = (MESSAGE - sent).min(piece as u64) as usize;
        let at = (sent % period as u64) as usize;
        stream.write_all(&masked[at..at + n])?;
        sent += n as u64;
    }
    Ok(())
}

#[test]
#[ignore = "needs the release echo_server; run by .ci/run"]
fn a_gib_message_through_echo_server_stream() {
    let started = Instant::now();
    let server = start_server();
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    // Handshake through a client connection that streams what comes back.
    let request = ClientRequest::from_url(&format!("ws://{}/", server.addr)).unwrap();
    let config = Config::default()
        .with_streaming(true)
        .without_message_size_limit()
        .with_max_frame_size(1 << 40)
        .unwrap();
    let mut client = Connection::client(&request, config, counter_masks()).unwrap();
    stream.write_all(client.pending_output()).unwrap();
    client.advance_output(usize::MAX);
    let writer = {
        let stream = stream.try_clone().unwrap();
        thread::spawn(move || send_frame(stream))
    };
    let expected: Vec<u8> = (0..(64 << 10) + PERIOD).map(pattern_byte).collect();
    let mut received = 0u64;
    let mut messages = 0;
    let mut peak_client = 0;
    while messages == 0 {
        assert!(started.elapsed() < DEADLINE, "too slow");
        let buf = client.read_buf(64 << 10);
        let n = stream.read(buf).unwrap();
        assert!(n > 0, "the server closed after {received} bytes");
        client.filled(n);
        while let Some(event) = client.next_event().unwrap() {
            match event {
                Event::Connected(_) => {}
                Event::Chunk(chunk) => {
                    for piece in chunk.as_bytes().chunks(64 << 10) {
                        let at = (received % PERIOD as u64) as usize;
                        assert!(
                            piece == &expected[at..at + piece.len()],
                            "the echo differs near byte {received}"
                        );
                        received += piece.len() as u64;
                    }
                    if chunk.is_last() {
                        messages += 1;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        peak_client = peak_client.max(client.memory_usage());
    }
    writer.join().unwrap().unwrap();
    assert_eq!(received, MESSAGE);
    let peak = peak_rss_kib(server.pid);
    // Close cleanly, and read the server's close.
    client.close(CloseCode::NORMAL, "done").unwrap();
    stream.write_all(client.pending_output()).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    client.receive(&rest);
    while let Ok(Some(_)) = client.next_event() {}
    assert!(client.is_closed(), "the close handshake did not complete");
    eprintln!(
        "1 GiB single frame echoed in {:.1} s; echo_server --stream peak RSS (VmHWM) {} KiB; \
         client connection peak memory_usage {} KiB",
        started.elapsed().as_secs_f64(),
        peak,
        peak_client / 1024
    );
    assert!(
        peak < PEAK_LIMIT_KIB,
        "echo_server --stream peaked at {peak} KiB (limit {PEAK_LIMIT_KIB} KiB)"
    );
}
