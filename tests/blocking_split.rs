//! The blocking adapter split in two halves for two threads, over loopback:
//! the read half answers pings and close frames while the write half is
//! idle or busy, keepalive runs on the read half, the halves reunite.
#![cfg(feature = "std")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::frame;
use wsmachine::blocking::{self, Decision, Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Config, Timeout};

/// A guard on every blocking read in the tests: no test hangs.
const GUARD: Duration = Duration::from_secs(10);
const MASK: [u8; 4] = [5, 6, 7, 8];

/// A server WebSocket accepted over loopback, and the raw client socket
/// after its handshake.
fn pair(config: Config) -> (WebSocket<TcpStream>, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        WebSocket::accept_with(stream, config, |_| Decision::accept()).unwrap()
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(GUARD)).unwrap();
    raw.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        raw.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    (server.join().unwrap(), raw)
}

fn quiet() -> Config {
    Config::default().without_timeouts()
}

fn read_exact(raw: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    raw.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn the_read_half_answers_a_ping_while_the_write_half_is_idle() {
    let (ws, mut raw) = pair(quiet());
    let (mut reader, _writer) = ws.split().unwrap();
    let reading = thread::spawn(move || {
        let first = reader.read().unwrap();
        let second = reader.read().unwrap();
        (first, second)
    });
    raw.write_all(&frame(0x89, b"ping!", Some(MASK))).unwrap();
    // The pong comes back although nobody calls the write half.
    assert_eq!(read_exact(&mut raw, 7), frame(0x8A, b"ping!", None));
    raw.write_all(&frame(0x81, b"then text", Some(MASK)))
        .unwrap();
    let (first, second) = reading.join().unwrap();
    assert_eq!(first, OwnedMessage::Ping(b"ping!".to_vec()));
    assert_eq!(second, OwnedMessage::Text("then text".into()));
}

#[test]
fn two_threads_send_and_read_at_once_and_pongs_interleave_cleanly() {
    let (ws, mut raw) = pair(quiet());
    let (mut reader, writer) = ws.split().unwrap();
    const N: usize = 300;
    let sending = thread::spawn(move || {
        for i in 0..N {
            writer.send_binary(&[i as u8; 1000]).unwrap();
        }
        writer
    });
    let reading = thread::spawn(move || {
        let mut pings = 0;
        while pings < N {
            match reader.read().unwrap() {
                OwnedMessage::Ping(_) => pings += 1,
                other => panic!("{other:?}"),
            }
        }
        reader
    });
    let mut peer = raw.try_clone().unwrap();
    let pinging = thread::spawn(move || {
        for i in 0..N as u32 {
            peer.write_all(&frame(0x89, &i.to_be_bytes(), Some(MASK)))
                .unwrap();
        }
    });
    // Every frame the server sent parses: N binary messages in order, and
    // pongs (only the latest of a burst is owed) between them.
    let mut binaries = 0;
    let mut last_pong = None;
    while binaries < N || last_pong != Some(N as u32 - 1) {
        let head = read_exact(&mut raw, 2);
        let len = match head[1] {
            126 => {
                let ext = read_exact(&mut raw, 2);
                usize::from(u16::from_be_bytes([ext[0], ext[1]]))
            }
            n => usize::from(n),
        };
        let payload = read_exact(&mut raw, len);
        match head[0] {
            0x82 => {
                assert_eq!(payload, vec![binaries as u8; 1000]);
                binaries += 1;
            }
            0x8A => {
                let seq = u32::from_be_bytes(payload[..4].try_into().unwrap());
                assert!(
                    last_pong.is_none_or(|last| seq > last),
                    "{seq} after {last_pong:?}"
                );
                last_pong = Some(seq);
            }
            other => panic!("unexpected frame {other:#x}"),
        }
    }
    pinging.join().unwrap();
    let writer = sending.join().unwrap();
    let reader = reading.join().unwrap();
    // Reunited, the connection goes on.
    let mut ws = blocking::reunite(reader, writer)
        .map_err(|_| "halves")
        .unwrap();
    ws.send_text("whole again").unwrap();
    assert_eq!(read_exact(&mut raw, 13), frame(0x81, b"whole again", None));
}

#[test]
fn the_peers_close_is_answered_by_the_read_half() {
    let (ws, mut raw) = pair(quiet());
    let (mut reader, writer) = ws.split().unwrap();
    raw.write_all(&frame(0x88, &[0x0F, 0xA0], Some(MASK)))
        .unwrap();
    assert_eq!(
        reader.read().unwrap(),
        OwnedMessage::Close(Some((CloseCode(4000), String::new())))
    );
    assert!(matches!(reader.read(), Err(Error::Closed)));
    assert_eq!(read_exact(&mut raw, 4), frame(0x88, &[0x0F, 0xA0], None));
    assert!(matches!(
        writer.send_text("too late"),
        Err(Error::Usage(wsmachine::UsageError::Closed))
    ));
    writer.shutdown().unwrap();
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn a_close_from_the_write_half_is_awaited_by_the_read_half() {
    let config = quiet()
        .with_close_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let (ws, mut raw) = pair(config);
    let (mut reader, writer) = ws.split().unwrap();
    writer.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(read_exact(&mut raw, 4), frame(0x88, &[0x03, 0xE8], None));
    // The peer never answers: the read half's close timer ends it.
    assert!(matches!(
        reader.read(),
        Err(Error::Timeout(Timeout::Closing))
    ));
}

#[test]
fn keepalive_runs_on_the_read_half_and_drops_a_dead_peer() {
    let config = Config::default()
        .with_ping_interval(Some(Duration::from_millis(100)))
        .unwrap()
        .with_ping_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let (ws, mut raw) = pair(config);
    let (mut reader, _writer) = ws.split().unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(
        reader.read(),
        Err(Error::Timeout(Timeout::DeadPeer))
    ));
    assert!(started.elapsed() >= Duration::from_millis(200));
    let ping = read_exact(&mut raw, 6);
    assert_eq!(ping[..2], [0x89, 4]);
    let head = read_exact(&mut raw, 2);
    assert_eq!(head[0], 0x88);
    assert_eq!(
        read_exact(&mut raw, usize::from(head[1]))[..2],
        [0x03, 0xF3]
    );
}
