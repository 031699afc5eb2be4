//! The blocking adapter's timers over real loopback sockets: a peer that
//! never answers the handshake, one that goes silent, one that never
//! answers a close, and a live one that keepalive must not disturb.
#![cfg(feature = "std")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::blocking::{self, Decision, Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Config, Timeout};

/// Safety net for every raw socket in this file.
const GUARD: Duration = Duration::from_secs(10);

fn fast_timers() -> Config {
    Config::default()
        .with_open_timeout(Duration::from_millis(300))
        .unwrap()
        .with_ping_interval(Duration::from_millis(150))
        .unwrap()
        .with_ping_timeout(Duration::from_millis(250))
        .unwrap()
        .with_close_timeout(Duration::from_millis(300))
        .unwrap()
}

const REQUEST: &[u8] = b"GET /t HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Reads from a raw socket until `done` says the bytes so far are enough,
/// or the peer closes, or the guard passes.
fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while !done(&seen) && start.elapsed() < GUARD {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Frames (first byte, payload) from unmasked server bytes.
fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let len = usize::from(bytes[1] & 0x7f);
        assert!(len < 126, "test frames are small");
        if bytes.len() < 2 + len {
            break;
        }
        out.push((bytes[0], bytes[2..2 + len].to_vec()));
        bytes = &bytes[2 + len..];
    }
    out
}

#[test]
fn a_client_gives_up_on_a_server_that_never_answers_the_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Read the request, answer nothing, hold the socket open until the
        // client hangs up.
        read_until(&mut stream, |_| false)
    });
    let start = Instant::now();
    let error = blocking::connect_with_config(&format!("ws://{addr}/"), fast_timers())
        .expect_err("no answer, no connection");
    let took = start.elapsed();
    assert!(
        matches!(error, Error::Timeout(Timeout::Opening)),
        "{error:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "{took:?}"
    );
    silent.join().unwrap();
}

#[test]
fn a_server_gives_up_on_a_client_that_never_sends_its_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&REQUEST[..10]).unwrap();
        // Wait for the server to hang up on us: it must, and say nothing.
        read_until(&mut stream, |_| false)
    });
    let (stream, _) = listener.accept().unwrap();
    let start = Instant::now();
    let error = WebSocket::accept_with(stream, fast_timers(), |_| Decision::accept())
        .expect_err("a trickle is not a handshake");
    assert!(
        matches!(error, Error::Timeout(Timeout::Opening)),
        "{error:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        client.join().unwrap(),
        b"",
        "nothing is written on an open timeout"
    );
}

#[test]
fn a_silent_peer_is_pinged_then_dropped_with_1011() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(REQUEST).unwrap();
        // Complete the handshake, then never send another byte (a pulled
        // cable), while reading what the server sends until it hangs up.
        read_until(&mut stream, |_| false)
    });
    let (stream, _) = listener.accept().unwrap();
    let mut ws = WebSocket::accept_with(stream, fast_timers(), |_| Decision::accept()).unwrap();
    let start = Instant::now();
    let error = ws.read().expect_err("the peer is dead");
    let took = start.elapsed();
    assert!(
        matches!(error, Error::Timeout(Timeout::DeadPeer)),
        "{error:?}"
    );
    assert_eq!(error.close_code(), Some(CloseCode::INTERNAL_ERROR));
    // 150 ms of silence, a ping, 250 ms more: about 400 ms.
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(matches!(ws.read(), Err(Error::Closed)));
    drop(ws);

    let seen = client.join().unwrap();
    let body = &seen[head_end(&seen).unwrap()..];
    let frames = frames(body);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0].0, 0x89, "a ping first");
    assert_eq!(frames[1].0, 0x88, "then the close");
    assert_eq!(&frames[1].1[..2], &1011u16.to_be_bytes());
}

#[test]
fn keepalive_leaves_a_live_peer_alone_and_measures_latency() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = WebSocket::accept_with(stream, fast_timers(), |_| Decision::accept()).unwrap();
        // Idle for 1.2 s: about seven keepalive rounds, none fatal.
        ws.set_read_timeout(Some(Duration::from_millis(100)));
        let idle = Instant::now();
        let mut control_frames = 0;
        while idle.elapsed() < Duration::from_millis(1200) {
            match ws.read() {
                Ok(OwnedMessage::Pong(_)) => control_frames += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(error) => assert!(error.is_timeout(), "not a dead peer: {error:?}"),
            }
        }
        assert!(control_frames >= 3, "{control_frames} keepalive pongs");
        let latency = ws.connection().latency().expect("a pong came back");
        ws.set_read_timeout(Some(GUARD));
        ws.send_text("still here").unwrap();
        assert_eq!(
            ws.read().unwrap(),
            OwnedMessage::Close(Some((CloseCode::NORMAL, "ok".into())))
        );
        latency
    });
    // Only the server pings, so that its pings are what keeps both alive.
    let config = fast_timers().with_ping_interval(None).unwrap();
    let mut client = blocking::connect_with_config(&format!("ws://{addr}/"), config).unwrap();
    client.set_read_timeout(Some(GUARD));
    // The client's reads answer the server's pings.
    let message = loop {
        match client.read().unwrap() {
            OwnedMessage::Ping(_) | OwnedMessage::Pong(_) => {}
            other => break other,
        }
    };
    assert_eq!(message, OwnedMessage::Text("still here".into()));
    client.close(CloseCode::NORMAL, "ok").unwrap();
    let latency = server.join().unwrap();
    assert!(latency < Duration::from_millis(150), "{latency:?}");
}

#[test]
fn close_gives_up_on_a_peer_that_never_answers_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let request = read_until(&mut stream, |b| head_end(b).is_some());
        assert!(request.starts_with(b"GET / HTTP/1.1"));
        let key = String::from_utf8_lossy(&request)
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(str::to_owned))
            .unwrap();
        let accept = wsmachine::handshake::accept_key(key.trim().as_bytes());
        write!(
            stream,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        // Keep the socket open, read everything, answer nothing.
        read_until(&mut stream, |_| false)
    });
    let config = fast_timers().with_ping_interval(None).unwrap();
    let mut ws = blocking::connect_with_config(&format!("ws://{addr}/"), config).unwrap();
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    let start = Instant::now();
    let error = ws.read().expect_err("no close comes back");
    assert!(
        matches!(error, Error::Timeout(Timeout::Closing)),
        "{error:?}"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "{took:?}"
    );
    drop(ws);
    peer.join().unwrap();
}
