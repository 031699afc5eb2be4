//! The echo examples over real loopback sockets with messages large enough
//! to take their fast paths (read into the connection's buffer, header and
//! payload in one vectored write) while the client does not read, so that
//! the server's writes block part way through a frame: every echo must still
//! arrive whole, in order, and a pong owed to a ping sent between them must
//! not cut into a frame.
#![cfg(feature = "std")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{client_frame, parse_frames, spawn_server};

/// Safety net for every socket in this file.
const GUARD: Duration = Duration::from_secs(20);

/// Distinct bytes per message, so a misplaced slice shows.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// `read_late`: read nothing until every frame is written (the server must
/// keep reading while its output waits: `event_loop` does, up to 4 MiB); a
/// thread-per-connection server blocks in its write instead, so its client
/// reads as it writes.
fn assert_echoes_whole_and_in_order(server: &str, read_late: bool) {
    let (_server, addr, _log) = spawn_server(server, &[]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.set_write_timeout(Some(GUARD)).unwrap();
    write!(
        stream,
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();

    // (first byte, payload): binary and text across the vectored bound;
    // the two 3 MiB echoes outgrow the kernel's buffers, and the ping after
    // them is answered while a frame is half written; then the close.
    let sizes = [
        16 * 1024,
        1 << 20,
        20,
        64 * 1024 + 1,
        3 << 20,
        3 << 20,
        16 * 1024 - 1,
    ];
    let mut sent: Vec<(u8, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| (0x82, payload(len, i as u8)))
        .collect();
    sent.insert(3, (0x81, "é".repeat(20_000).into_bytes()));
    sent.insert(7, (0x89, b"between".to_vec()));
    let mut wire = Vec::new();
    for (b0, data) in &sent {
        wire.extend_from_slice(&client_frame(*b0, data));
    }
    wire.extend_from_slice(&client_frame(0x88, &1000u16.to_be_bytes()));

    // The server's socket fills and its writes stop part way through frames.
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        thread::spawn(move || stream.write_all(&wire))
    };
    let writer = if read_late {
        writer.join().unwrap().unwrap();
        None
    } else {
        Some(writer)
    };

    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while start.elapsed() < GUARD {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    if let Some(writer) = writer {
        writer.join().unwrap().unwrap();
    }
    let head_end = seen
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a handshake response")
        + 4;
    assert!(seen.starts_with(b"HTTP/1.1 101 "));
    let frames = parse_frames(&seen[head_end..]);
    let (pongs, data): (Vec<_>, Vec<_>) = frames.into_iter().partition(|f| f.0 == 0x8A);
    // The pong is owed while output waits; when the close arrives before
    // that output drains, the engine sends the close reply without it
    // (RFC 6455 5.5.3 lets a pong be skipped). If it is sent, it is whole.
    assert!(pongs.len() <= 1, "{} pongs", pongs.len());
    for pong in &pongs {
        assert_eq!(pong, &(0x8A, b"between".to_vec()), "the pong, whole");
    }
    let expected: Vec<(u8, Vec<u8>)> = sent
        .into_iter()
        .filter(|f| f.0 != 0x89)
        .chain([(0x88, 1000u16.to_be_bytes().to_vec())])
        .collect();
    assert_eq!(data.len(), expected.len(), "every echo and the close");
    for (i, (got, want)) in data.iter().zip(&expected).enumerate() {
        assert_eq!(got.0, want.0, "frame {i}: first byte");
        assert!(
            got.1 == want.1,
            "frame {i}: payload of {} bytes differs",
            want.1.len()
        );
    }
}

#[test]
fn event_loop_echoes_large_messages_whole_and_in_order() {
    assert_echoes_whole_and_in_order("event_loop", true);
}

#[test]
fn echo_server_echoes_large_messages_whole_and_in_order() {
    assert_echoes_whole_and_in_order("echo_server", false);
}
