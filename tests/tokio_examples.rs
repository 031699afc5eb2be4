//! examples/tokio_echo_server over loopback, held to echo_server's
//! behaviour: the page, the echo, keepalive reaping a silent peer (ping,
//! then 1011), a readable 431 for a header flood (lingering close), and a
//! request head trickled in cut off at the open timeout.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{frame, parse_frames, read_until_closed, spawn_server};

const GUARD: Duration = Duration::from_secs(15);

fn request(addr: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

fn head_end(seen: &[u8]) -> usize {
    seen.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4
}

#[test]
fn serves_the_page_and_echoes() {
    let (_server, addr, _log) = spawn_server("tokio_echo_server", &[]);
    let mut page = TcpStream::connect(&addr).unwrap();
    page.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let seen = read_until_closed(GUARD, &mut page);
    assert!(seen.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(String::from_utf8_lossy(&seen).contains("<html"));

    let mut ws = TcpStream::connect(&addr).unwrap();
    let mut bytes = request(&addr, "");
    bytes.extend(frame(0x81, b"hello", Some([1, 2, 3, 4])));
    bytes.extend(frame(0x88, &[0x03, 0xE8], Some([1, 2, 3, 4])));
    ws.write_all(&bytes).unwrap();
    let seen = read_until_closed(GUARD, &mut ws);
    assert!(seen.starts_with(b"HTTP/1.1 101 "));
    let frames = parse_frames(&seen[head_end(&seen)..]);
    assert_eq!(frames[0], (0x81, b"hello".to_vec()));
    assert_eq!(common::close_code_of(&frames[1]), Some(1000));
}

#[test]
fn reaps_a_silent_peer() {
    let args = ["--ping-interval", "0.2", "--ping-timeout", "0.3"];
    let (_server, addr, _log) = spawn_server("tokio_echo_server", &args);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(&request(&addr, "")).unwrap();
    let start = Instant::now();
    let seen = read_until_closed(GUARD, &mut stream);
    let took = start.elapsed();
    let frames = parse_frames(&seen[head_end(&seen)..]);
    let opcodes: Vec<u8> = frames.iter().map(|(b0, _)| b0 & 0x0f).collect();
    assert_eq!(opcodes, [0x9, 0x8], "a ping, then the close");
    assert_eq!(common::close_code_of(&frames[1]), Some(1011));
    assert!(took < Duration::from_secs(5), "reaped after {took:?}");
}

#[test]
fn answers_header_floods_with_a_readable_431() {
    let (_server, addr, _log) = spawn_server("tokio_echo_server", &[]);
    let big_cookie = format!("Cookie: {}\r\n", "c".repeat(64 * 1024));
    let tiny: String = (0..10_000).map(|i| format!("X-{i}: y\r\n")).collect();
    for headers in [big_cookie, tiny] {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_write_timeout(Some(GUARD)).unwrap();
        stream.write_all(&request(&addr, &headers)).unwrap();
        let seen = read_until_closed(GUARD, &mut stream);
        assert!(
            seen.starts_with(b"HTTP/1.1 431 "),
            "{:?}",
            String::from_utf8_lossy(&seen)
        );
    }
}

#[test]
fn a_request_head_trickled_in_is_cut_off_at_the_open_timeout() {
    let (_server, addr, _log) = spawn_server("tokio_echo_server", &["--open-timeout", "1"]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    let start = Instant::now();
    let mut cut_off = None;
    for byte in request(&addr, "").iter().take(60) {
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
    let took = cut_off.expect("tokio_echo_server kept a trickling client for 6 s");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
}
