//! The examples over real loopback sockets: every server reaps a silent peer
//! by keepalive, answers a header flood with a 431 the client can read
//! (lingering close), the chat room survives a dead member, and echo_client
//! never hangs on a server that does not answer.
#![cfg(feature = "std")]

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{example_binary, parse_frames, spawn_server};
use wsmachine::blocking::{self, OwnedMessage};
use wsmachine::{CloseCode, Config};

/// Safety net for every socket and process in this file.
const GUARD: Duration = Duration::from_secs(15);

const FAST_KEEPALIVE: [&str; 4] = ["--ping-interval", "0.2", "--ping-timeout", "0.3"];

fn request(addr: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Everything the peer sends until it closes (or the guard passes).
fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut buf = [0u8; 65536];
    while start.elapsed() < GUARD {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

/// Opens a WebSocket by hand, then goes silent (a pulled cable) while
/// reading everything the server sends until it hangs up; checks that it
/// was a ping, then a close with 1011, within a few seconds.
fn assert_silent_peer_is_reaped(addr: &str, path: &str) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&request(addr, path)).unwrap();
    let start = Instant::now();
    let seen = read_to_end(&mut stream);
    let took = start.elapsed();
    let head_end = seen
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a handshake response")
        + 4;
    assert!(
        seen.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
    let frames = parse_frames(&seen[head_end..]);
    let opcodes: Vec<u8> = frames.iter().map(|(b0, _)| b0 & 0x0f).collect();
    assert_eq!(opcodes, [0x9, 0x8], "a ping, then the close");
    assert_eq!(common::close_code_of(&frames[1]), Some(1011));
    assert!(took < Duration::from_secs(5), "reaped after {took:?}");
}

#[test]
fn echo_server_reaps_a_silent_peer() {
    let (_server, addr, _log) = spawn_server("echo_server", &FAST_KEEPALIVE);
    assert_silent_peer_is_reaped(&addr, "/echo");
}

#[test]
fn event_loop_reaps_a_silent_peer() {
    let (_server, addr, _log) = spawn_server("event_loop", &FAST_KEEPALIVE);
    assert_silent_peer_is_reaped(&addr, "/echo");
}

#[test]
fn chat_server_drops_a_dead_member_and_the_room_goes_on() {
    let (_server, addr, log) = spawn_server("chat_server", &FAST_KEEPALIVE);
    let url = format!("ws://{addr}/ws");
    let config = || Config::default().with_ping_interval(None).unwrap();
    let mut alice = blocking::connect_with_config(&url, config()).unwrap();
    let mut bob = blocking::connect_with_config(&url, config()).unwrap();
    alice.set_read_timeout(Some(GUARD));
    bob.set_read_timeout(Some(GUARD));
    // The dead member: joins, then never sends or reads again... except
    // here, where the test watches it being dropped.
    let dead_addr = addr.clone();
    let dead = thread::spawn(move || {
        let mut stream = TcpStream::connect(&dead_addr).unwrap();
        stream.write_all(&request(&dead_addr, "/ws")).unwrap();
        read_to_end(&mut stream)
    });
    // Alice and Bob keep talking (and answering pings) while it dies.
    let start = Instant::now();
    let mut heard = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        alice.send_text("still talking").unwrap();
        loop {
            match bob.read().unwrap() {
                OwnedMessage::Text(text) if text.contains("still talking") => break,
                _ => {}
            }
        }
        heard += 1;
        thread::sleep(Duration::from_millis(50));
    }
    assert!(heard >= 10, "{heard}");
    let seen = dead.join().unwrap();
    assert!(seen.starts_with(b"HTTP/1.1 101 "));
    let head_end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let frames = parse_frames(&seen[head_end..]);
    let last = frames.last().expect("frames after the handshake");
    assert_eq!(last.0 & 0x0f, 0x8);
    assert_eq!(common::close_code_of(last), Some(1011));
    alice.close(CloseCode::NORMAL, "").unwrap();
    bob.close(CloseCode::NORMAL, "").unwrap();
    // The server said why it dropped the dead member.
    drop(_server);
    let log: Vec<String> = log.lines().map_while(Result::ok).collect();
    assert!(
        log.iter()
            .any(|l| l.contains("dropped") && l.contains("keepalive ping timeout")),
        "{log:?}"
    );
}

/// Sends a request whose head is `head_size` bytes of headers shaped by
/// `flood`, and returns the whole response.
fn flood(addr: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_write_timeout(Some(GUARD)).unwrap();
    let head = format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
    );
    // The server stops reading at its limit; its lingering close drains the rest.
    stream.write_all(head.as_bytes()).unwrap();
    String::from_utf8_lossy(&read_to_end(&mut stream)).into_owned()
}

fn assert_floods_get_a_readable_431(addr: &str) {
    let big_cookie = format!("Cookie: {}\r\n", "c".repeat(64 * 1024));
    let response = flood(addr, &big_cookie);
    assert!(response.starts_with("HTTP/1.1 431 "), "{response:?}");
    let tiny: String = (0..10_000).map(|i| format!("X-{i}: y\r\n")).collect();
    let response = flood(addr, &tiny);
    assert!(response.starts_with("HTTP/1.1 431 "), "{response:?}");
}

#[test]
fn echo_server_answers_header_floods_with_a_readable_431() {
    let (_server, addr, _log) = spawn_server("echo_server", &[]);
    assert_floods_get_a_readable_431(&addr);
}

#[test]
fn event_loop_answers_header_floods_with_a_readable_431() {
    let (_server, addr, _log) = spawn_server("event_loop", &[]);
    assert_floods_get_a_readable_431(&addr);
}

/// Runs echo_client with `args` and `stdin`; returns its status, its
/// stderr, and how long it took.
fn run_echo_client(args: &[&str], stdin: &str) -> (bool, String, Duration) {
    let start = Instant::now();
    let mut child = common::Child(
        Command::new(example_binary("echo_client"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    child
        .0
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let mut err = String::new();
    let mut stderr = child.0.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        stderr.read_to_string(&mut err).unwrap();
        err
    });
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < GUARD, "echo_client hung");
        thread::sleep(Duration::from_millis(20));
    };
    (status.success(), reader.join().unwrap(), start.elapsed())
}

/// A server that reads the request and never answers it.
fn mute_server() -> (String, thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_to_end(&mut stream);
    });
    (addr, handle)
}

#[test]
fn echo_client_gives_up_on_a_handshake_that_never_completes() {
    let (addr, server) = mute_server();
    let url = format!("ws://{addr}/echo");
    let (ok, stderr, took) = run_echo_client(&["--open-timeout", "0.5", &url], "hi\n");
    assert!(!ok);
    assert!(
        stderr.contains("did not complete the WebSocket handshake"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    server.join().unwrap();
}

#[test]
fn echo_client_gives_up_on_a_close_that_is_never_answered() {
    // Accepts, echoes one message, then ignores the close frame.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        let mut ws = wsmachine::blocking::WebSocket::accept_with(
            stream,
            Config::default().with_close_timeout(None).unwrap(),
            |_| blocking::Decision::accept(),
        )
        .unwrap();
        let message = ws.read().unwrap();
        let OwnedMessage::Text(text) = message else {
            panic!("{message:?}")
        };
        ws.send_text(&text).unwrap();
        // Read the close, but never let the engine answer it: take the
        // stream back and hold it open until the client leaves.
        let (mut stream, _) = ws.into_parts();
        read_to_end(&mut stream);
    });
    let url = format!("ws://{addr}/echo");
    let (ok, stderr, took) = run_echo_client(&["--close-timeout", "0.5", &url], "hi\n");
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("did not answer our close frame"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    server.join().unwrap();
}

#[test]
fn timer_flags_are_checked() {
    for (name, flag) in [
        ("echo_server", "--ping-interval"),
        ("chat_server", "--ping-timeout"),
        ("event_loop", "--open-timeout"),
        ("echo_client", "--close-timeout"),
    ] {
        let out = Command::new(example_binary(name))
            .args([flag, "soon"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name} {flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not a number of seconds"),
            "{name}: {stderr}"
        );
        let help = Command::new(example_binary(name))
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains(flag), "{name} --help: {text}");
    }
}

#[test]
fn a_request_head_trickled_in_is_cut_off_at_the_open_timeout() {
    for name in ["echo_server", "chat_server", "event_loop"] {
        let (_server, addr, _log) = spawn_server(name, &["--open-timeout", "1"]);
        let mut stream = TcpStream::connect(&addr).unwrap();
        let start = Instant::now();
        let head = request(&addr, "/echo");
        // One byte every 100 ms: each read is quick, the head never ends in time.
        let mut cut_off = None;
        for byte in head.iter().take(60) {
            if stream.write_all(std::slice::from_ref(byte)).is_err() {
                cut_off = Some(start.elapsed());
                break;
            }
            thread::sleep(Duration::from_millis(100));
            stream
                .set_read_timeout(Some(Duration::from_millis(1)))
                .unwrap();
            let mut probe = [0u8; 64];
            if matches!(stream.read(&mut probe), Ok(0)) {
                cut_off = Some(start.elapsed());
                break;
            }
        }
        let took = cut_off.unwrap_or_else(|| panic!("{name} kept a trickling client for 6 s"));
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{name}: {took:?}"
        );
    }
}
