//! `event_loop --threads N`: N loops, one per thread, each with its own
//! listening socket on the same port (SO_REUSEPORT), all serving.
#![cfg(feature = "std")]

mod common;

use std::process::{Command, Stdio};

use common::{example_binary, spawn_server};
use wsmachine::blocking::{self, OwnedMessage};

/// Threads of a process, from /proc.
fn threads(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn every_loop_serves_and_every_connection_is_echoed() {
    let (server, addr, _log) = spawn_server("event_loop", &["--threads", "3"]);
    // The main thread runs the last loop.
    assert_eq!(threads(server.0.id()), 3);
    let url = format!("ws://{addr}/echo");
    // Connections from many source ports, so the kernel hands them to
    // different listening sockets; all open at once, each answered.
    let mut conns: Vec<_> = (0..60).map(|_| blocking::connect(&url).unwrap()).collect();
    for (i, ws) in conns.iter_mut().enumerate() {
        ws.set_read_timeout(Some(std::time::Duration::from_secs(15)));
        ws.send_text(&format!("hello {i}")).unwrap();
    }
    for (i, ws) in conns.iter_mut().enumerate() {
        match ws.read().unwrap() {
            OwnedMessage::Text(text) => assert_eq!(text, format!("hello {i}")),
            other => panic!("connection {i}: {other:?}"),
        }
    }
}

#[test]
fn one_loop_is_one_thread_and_zero_is_refused() {
    let (server, _addr, _log) = spawn_server("event_loop", &["--threads", "1"]);
    // A single-threaded process: libc and the kernel skip per-call
    // bookkeeping that threads need (cancellation points, file refcounts).
    assert_eq!(threads(server.0.id()), 1);
    let out = Command::new(example_binary("event_loop"))
        .args(["127.0.0.1:0", "--threads", "0"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads needs a number"));
}
