//! Interoperability with tungstenite over 127.0.0.1:0, both ways round: our
//! client against a tungstenite server, and a tungstenite client against our
//! server. Text, binary, 1 MiB, fragments, pings both ways, close codes.
#![cfg(feature = "std")]

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use tungstenite::Message as TMessage;
use tungstenite::protocol::CloseFrame as TCloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode as TCloseCode, Data, OpCode};
use wsmachine::blocking::{Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Event, Message, MessageKind};

const TIMEOUT: Duration = Duration::from_secs(10);

fn big() -> Vec<u8> {
    (0..1u32 << 20).map(|i| (i % 253) as u8).collect()
}

fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

fn connect_tcp(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
}

#[test]
fn our_client_against_a_tungstenite_server() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || -> tungstenite::Result<Option<u16>> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut ws = tungstenite::accept(stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => unreachable!("blocking stream"),
        })?;
        let mut close = None;
        loop {
            match ws.read() {
                Ok(TMessage::Text(text)) if text.as_str() == "fragments please" => {
                    let text = OpCode::Data(Data::Text);
                    ws.write(TMessage::Frame(Frame::message("ab", text, false)))?;
                    let more = OpCode::Data(Data::Continue);
                    ws.write(TMessage::Frame(Frame::message("cd", more, true)))?;
                    ws.flush()?;
                }
                Ok(TMessage::Text(text)) if text.as_str() == "ping me" => {
                    ws.send(TMessage::Ping(b"tp".to_vec().into()))?;
                }
                Ok(TMessage::Pong(data)) if &data[..] == b"tp" => {
                    ws.send(TMessage::text("got pong"))?;
                }
                Ok(message @ (TMessage::Text(_) | TMessage::Binary(_))) => ws.send(message)?,
                Ok(TMessage::Close(frame)) => close = frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return Ok(close),
                Err(e) => return Err(e),
            }
        }
    });

    let mut ws = WebSocket::connect_url(connect_tcp(&addr), &format!("ws://{addr}/")).unwrap();
    ws.send_text("hello tungstenite").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("hello tungstenite".into())
    );
    ws.send_binary(&[9, 8, 7]).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(vec![9, 8, 7]));
    ws.send_binary(&big()).unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Binary(big()));
    // Our side fragments, with a ping between the fragments.
    ws.send_fragment(MessageKind::Text, "frag".as_bytes(), false)
        .unwrap();
    ws.send_ping(b"x").unwrap();
    ws.send_fragment(MessageKind::Text, "mented €".as_bytes(), true)
        .unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Pong(b"x".to_vec()));
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Text("fragmented €".into())
    );
    // Their side fragments.
    ws.send_text("fragments please").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("abcd".into()));
    // Their ping, our automatic pong.
    ws.send_text("ping me").unwrap();
    assert_eq!(ws.read().unwrap(), OwnedMessage::Ping(b"tp".to_vec()));
    assert_eq!(ws.read().unwrap(), OwnedMessage::Text("got pong".into()));

    ws.close(CloseCode(4000), "bye").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        OwnedMessage::Close(Some((CloseCode(4000), "bye".into())))
    );
    assert!(matches!(ws.read(), Err(Error::Closed)));
    assert_eq!(server.join().unwrap().unwrap(), Some(4000));
}

#[test]
fn a_tungstenite_client_against_our_server() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || -> Result<Option<CloseCode>, Error> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut ws = WebSocket::accept(stream)?;
        let mut close = None;
        loop {
            let step = ws.read_with(|event, sender| match event {
                Event::Message(Message::Text("fragments please")) => {
                    sender.send_fragment(MessageKind::Binary, b"12", false)?;
                    sender.send_ping(b"between")?;
                    sender.send_fragment(MessageKind::Binary, b"34", true)
                }
                Event::Message(Message::Text("close with 4002")) => {
                    sender.close(CloseCode(4002), "server bye")
                }
                Event::Message(Message::Text("ping me")) => sender.send_ping(b"op"),
                Event::Pong(b"op") => sender.send_text("got pong"),
                Event::Message(message) => sender.send(message),
                Event::Close(frame) => {
                    close = Some(frame.code);
                    Ok(())
                }
                _ => Ok(()),
            });
            match step {
                Ok(sent) => sent?,
                Err(Error::Closed) => return Ok(close),
                Err(e) => return Err(e),
            }
        }
    });

    let url = format!("ws://{addr}/chat");
    let (mut ws, response) = tungstenite::client(url.as_str(), connect_tcp(&addr)).unwrap();
    assert_eq!(response.status(), 101);
    ws.send(TMessage::text("hello wsmachine")).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::text("hello wsmachine"));
    ws.send(TMessage::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::binary(vec![1, 2, 3]));
    ws.send(TMessage::binary(big())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::binary(big()));
    // Their side fragments (raw frames; tungstenite masks them).
    let text = OpCode::Data(Data::Text);
    ws.write(TMessage::Frame(Frame::message("tung", text, false)))
        .unwrap();
    let more = OpCode::Data(Data::Continue);
    ws.write(TMessage::Frame(Frame::message("stenite", more, true)))
        .unwrap();
    ws.flush().unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::text("tungstenite"));
    // Our side fragments, with a ping between.
    ws.send(TMessage::text("fragments please")).unwrap();
    assert_eq!(
        ws.read().unwrap(),
        TMessage::Ping(b"between".to_vec().into())
    );
    assert_eq!(ws.read().unwrap(), TMessage::binary(b"1234".to_vec()));
    // Their ping, our automatic pong; our ping, their automatic pong.
    ws.send(TMessage::Ping(b"tping".to_vec().into())).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::Pong(b"tping".to_vec().into()));
    ws.send(TMessage::text("ping me")).unwrap();
    assert_eq!(ws.read().unwrap(), TMessage::Ping(b"op".to_vec().into()));
    assert_eq!(ws.read().unwrap(), TMessage::text("got pong"));
    // Our server closes with a code.
    ws.send(TMessage::text("close with 4002")).unwrap();
    match ws.read().unwrap() {
        TMessage::Close(Some(frame)) => {
            assert_eq!(frame.code, TCloseCode::from(4002));
            assert_eq!(frame.reason.as_str(), "server bye");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ws.read(),
        Err(tungstenite::Error::ConnectionClosed)
    ));
    assert_eq!(server.join().unwrap().unwrap(), Some(CloseCode(4002)));
}

#[test]
fn tungstenite_client_close_code_reaches_our_server() {
    let (listener, addr) = listener();
    let server = thread::spawn(move || -> Result<OwnedMessage, Error> {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut ws = WebSocket::accept(stream)?;
        let close = ws.read()?;
        assert!(matches!(ws.read(), Err(Error::Closed)));
        Ok(close)
    });
    let url = format!("ws://{addr}/");
    let (mut ws, _) = tungstenite::client(url.as_str(), connect_tcp(&addr)).unwrap();
    let frame = TCloseFrame {
        code: TCloseCode::from(3001),
        reason: "client bye".into(),
    };
    ws.close(Some(frame)).unwrap();
    loop {
        match ws.read() {
            Ok(TMessage::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 3001),
            Ok(other) => panic!("{other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        server.join().unwrap().unwrap(),
        OwnedMessage::Close(Some((CloseCode(3001), "client bye".into())))
    );
}
