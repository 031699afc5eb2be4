//! examples/hyper_server over loopback: the request checked by
//! `wsmachine::handshake`, the 101 sent by hyper, and the upgraded I/O run
//! by the tokio adapter, including the frames the client sent right behind
//! its handshake (which hyper had already read).
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{frame, spawn_server};
use wsmachine::tokio::OwnedMessage;
use wsmachine::{CloseCode, Config};

const GUARD: Duration = Duration::from_secs(15);
const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
const HANDSHAKE: &str = "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn frames_sent_behind_the_handshake_reach_the_websocket() {
    let (_server, addr, mut log) = spawn_server("hyper_server", &[]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    // Handshake and two frames in one write: hyper reads them with the head.
    let mut bytes = HANDSHAKE.as_bytes().to_vec();
    bytes.extend(frame(0x81, b"read ahead", Some(MASK)));
    bytes.extend(frame(0x82, &[1, 2, 3], Some(MASK)));
    stream.write_all(&bytes).unwrap();
    let head = head(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );
    let mut echo = [0u8; 12 + 5];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(echo[..12], frame(0x81, b"read ahead", None));
    assert_eq!(echo[12..], frame(0x82, &[1, 2, 3], None));
    // They came through hyper's `Parts::read_buf` and `from_upgraded`.
    let mut line = String::new();
    std::io::BufRead::read_line(&mut log, &mut line).unwrap();
    assert_eq!(line.trim(), "/echo: open, 25 bytes read ahead");
}

#[test]
fn an_unsupported_version_gets_426_naming_version_13() {
    let (_server, addr, _log) = spawn_server("hyper_server", &[]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream
        .write_all(HANDSHAKE.replace("Version: 13", "Version: 8").as_bytes())
        .unwrap();
    let head = head(&mut stream).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 426 upgrade required\r\n"),
        "{head}"
    );
    assert!(head.contains("sec-websocket-version: 13\r\n"), "{head}");
}

#[test]
fn the_tokio_client_talks_to_hyper_server() {
    let (_server, addr, _log) = spawn_server("hyper_server", &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = Config::default().without_timeouts();
        let url = format!("ws://{addr}/echo");
        let mut ws =
            tokio::time::timeout(GUARD, wsmachine::tokio::connect_with_config(&url, config))
                .await
                .unwrap()
                .unwrap();
        ws.send_text("through hyper").await.unwrap();
        assert_eq!(
            ws.read().await.unwrap(),
            OwnedMessage::Text("through hyper".into())
        );
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    });
}
