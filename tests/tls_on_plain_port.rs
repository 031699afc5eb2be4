//! A TLS ClientHello (a `wss://` or `https://` client) on a plain server's
//! port, in both adapters, with or without the `rustls` feature: the server
//! answers at once with `Error::TlsOnPlainPort` and a plain `400`, instead
//! of waiting for the open timeout for an HTTP head that cannot come.
//! (tests/tls_tokio.rs runs the same with our real TLS clients.)
#![cfg(feature = "tokio")]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsmachine::Config;

/// Far above what the tests allow: they pass only if the refusal is at once.
const OPEN_TIMEOUT: Duration = Duration::from_secs(8);
const AT_ONCE: Duration = Duration::from_secs(2);

/// The start of a ClientHello record as browsers send it: record type 22
/// (handshake), version 3.1, a length, handshake type 1 (client_hello).
const CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

fn config() -> Config {
    Config::default().with_open_timeout(OPEN_TIMEOUT).unwrap()
}

#[test]
fn blocking_plain_server_refuses_a_client_hello_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_read_timeout(Some(OPEN_TIMEOUT)).unwrap();
    client.write_all(CLIENT_HELLO).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    let started = Instant::now();
    let result = wsmachine::blocking::WebSocket::accept_with(tcp, config(), |_| {
        wsmachine::blocking::Decision::accept()
    });
    let took = started.elapsed();
    assert!(
        matches!(result, Err(wsmachine::blocking::Error::TlsOnPlainPort)),
        "{:?}",
        result.map(|_| ())
    );
    assert!(took < AT_ONCE, "took {took:?}");
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("plain HTTP"), "{answer}");
}

#[tokio::test]
async fn tokio_plain_server_refuses_a_client_hello_at_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(async move {
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(CLIENT_HELLO).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(OPEN_TIMEOUT, client.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        answer
    });
    let (tcp, _) = listener.accept().await.unwrap();
    let started = Instant::now();
    let result = wsmachine::tokio::WebSocket::accept_with(tcp, config(), |_| {
        wsmachine::tokio::Decision::accept()
    })
    .await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(wsmachine::tokio::Error::TlsOnPlainPort)),
        "{:?}",
        result.map(|_| ())
    );
    assert!(took < AT_ONCE, "took {took:?}");
    let answer = client.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("plain HTTP"), "{answer}");
}

#[test]
fn a_plain_request_split_after_its_first_byte_is_still_served() {
    // The look at the first bytes must not cost a request that arrives in
    // pieces: 'G' alone, then the rest.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        wsmachine::blocking::WebSocket::accept_with(tcp, config(), |_| {
            wsmachine::blocking::Decision::accept()
        })
        .map(|_| ())
    });
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(OPEN_TIMEOUT)).unwrap();
    client.set_nodelay(true).unwrap();
    client.write_all(b"G").unwrap();
    client
        .write_all(
            b"ET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut answer = [0u8; 12];
    client.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 101");
    server.join().unwrap().unwrap();
}
