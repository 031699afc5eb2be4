//! The blocking adapter's message reader (`io::Read`) and writer
//! (`io::Write`), over sockets on 127.0.0.1:0.
#![cfg(feature = "std")]

mod common;

use std::io::{self, Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::counter_masks;
use wsmachine::blocking::{Error, OwnedMessage, WebSocket};
use wsmachine::{Config, Connection, MessageKind, ProtocolError};

/// Every socket gets this read timeout, so a bug fails a test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A server and a client `WebSocket`, already open, over one loopback socket.
fn pair(server: Config, client: Config) -> (WebSocket<TcpStream>, WebSocket<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (far, _) = listener.accept().unwrap();
    for s in [&near, &far] {
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.set_write_timeout(Some(TIMEOUT)).unwrap();
    }
    (
        WebSocket::from_connection(far, Connection::open_server(server)),
        WebSocket::from_connection(near, Connection::open_client(client, counter_masks())),
    )
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

/// `io::copy` into the message writer sends one message; `io::copy` out of
/// the message reader on a streaming connection gets it back, without the
/// connection ever holding it whole.
#[test]
fn io_copy_in_and_out_of_one_message() {
    let config = Config::default()
        .with_streaming(true)
        .without_message_size_limit();
    let (mut server, mut client) = pair(config, Config::default());
    let data = pattern(24 << 20);
    let reader = thread::spawn(move || {
        let mut got = Vec::new();
        let mut message = server.message_reader().unwrap();
        assert_eq!(message.kind(), MessageKind::Binary);
        let mut peak = 0;
        let mut buf = [0u8; 8192];
        loop {
            let n = message.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            peak = peak.max(message.connection().memory_usage());
        }
        drop(message);
        (got, peak, server)
    });
    io::copy(
        &mut Cursor::new(&data),
        &mut client.message_writer(MessageKind::Binary),
    )
    .unwrap();
    client.send_text("next").unwrap();
    let (got, memory, mut server) = reader.join().unwrap();
    assert!(got == data, "the message came back different");
    // One read (64 KiB asked, with slack) at a time, not 24 MiB.
    assert!(memory <= 512 << 10, "the server held {memory} bytes");
    assert_eq!(server.read().unwrap(), OwnedMessage::Text("next".into()));
}

#[test]
fn the_reader_works_in_whole_message_mode_and_skips_an_abandoned_rest() {
    let streaming = Config::default().with_streaming(true);
    for server_config in [Config::default(), streaming] {
        let (mut server, mut client) = pair(server_config, Config::default());
        client.send_ping(b"p").unwrap();
        client.send_binary(&pattern(300_000)).unwrap();
        client.send_text("second").unwrap();
        let mut first = server.message_reader().unwrap();
        let mut head = [0u8; 10];
        first.read_exact(&mut head).unwrap();
        assert_eq!(head[..], pattern(10)[..]);
        drop(first); // the rest of the first message is skipped
        let mut second = server.message_reader().unwrap();
        assert_eq!(second.kind(), MessageKind::Text);
        let mut text = String::new();
        second.read_to_string(&mut text).unwrap();
        assert_eq!(text, "second");
    }
}

#[test]
fn the_text_writer_refuses_invalid_utf8_and_finishes_on_drop() {
    let (mut server, mut client) = pair(Config::default(), Config::default());
    {
        let mut writer = client.message_writer(MessageKind::Text);
        writer.write_all("grüß ".as_bytes()).unwrap();
        let error = writer.write(b"\xFF").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        writer.write_all(&"€".as_bytes()[..1]).unwrap();
        writer.flush().unwrap(); // a frame may end inside a character
        writer.write_all(&"€".as_bytes()[1..]).unwrap();
    } // dropped: the message ends
    assert_eq!(server.read().unwrap(), OwnedMessage::Text("grüß €".into()));
    // A second writer while one is open is refused at its first write.
    let mut first = client.message_writer(MessageKind::Binary);
    first.write_all(b"x").unwrap();
    first.finish().unwrap();
    assert_eq!(server.read().unwrap(), OwnedMessage::Binary(b"x".to_vec()));
}

/// `read()` on a streaming connection puts the chunks together, up to
/// `max_message_size`; past it the connection is closed with 1009.
#[test]
fn read_assembles_chunks_up_to_the_limit() {
    let config = Config::default()
        .with_streaming(true)
        .with_max_message_size(100_000)
        .unwrap();
    let (mut server, mut client) = pair(config, Config::default());
    let data = pattern(90_000);
    client.send_binary(&data).unwrap();
    client.send_binary(&pattern(110_000)).unwrap();
    assert_eq!(server.read().unwrap(), OwnedMessage::Binary(data));
    match server.read() {
        Err(Error::Protocol(ProtocolError::MessageTooLarge)) => {}
        other => panic!("expected 1009, got {other:?}"),
    }
    match client.read() {
        Ok(OwnedMessage::Close(Some((code, _)))) => assert_eq!(code.0, 1009),
        other => panic!("expected the close, got {other:?}"),
    }
}
