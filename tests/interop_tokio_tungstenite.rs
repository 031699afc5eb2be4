//! Interop over loopback with tokio-tungstenite, the async WebSocket most
//! tokio users run today: its client against our tokio server, our tokio
//! client against its server. Text, binary, fragmented messages, pings both
//! ways, and the close handshake started from either end.
#![cfg(feature = "tokio")]

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode as TCode, Data, OpCode};
use wsmachine::tokio::{Decision, Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Config, Event, MessageKind};

fn config() -> Config {
    Config::default().without_timeouts()
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// Our server: echoes messages, pings the client once after the first
/// message, reports what it saw.
async fn our_echo_server(listener: TcpListener) -> Vec<String> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = WebSocket::accept_with(stream, config(), |_| Decision::accept())
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let event = ws
            .read_with(|event, sender| match event {
                Event::Message(message) => {
                    sender.send(message).unwrap();
                    format!("message {}", message.as_bytes().len())
                }
                Event::Ping(data) => format!("ping {data:?}"),
                Event::Pong(data) => format!("pong {data:?}"),
                Event::Close(frame) => format!("close {} {}", frame.code.0, frame.reason),
                _ => "other".to_owned(),
            })
            .await;
        match event {
            Ok(note) => {
                if seen.is_empty() {
                    ws.send_ping(b"from wsmachine").await.unwrap();
                }
                ws.flush().await.unwrap();
                seen.push(note);
            }
            Err(Error::Closed) => return seen,
            Err(e) => panic!("our server: {e}"),
        }
    }
}

#[tokio::test]
async fn tokio_tungstenite_client_against_our_server() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(our_echo_server(listener));
    let (mut client, _) = tokio_tungstenite::connect_async(&url).await.unwrap();

    client.send(TMessage::text("héllo")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::text("héllo")
    );
    // Our server's ping: tokio-tungstenite hands it out and answers it.
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::Ping(b"from wsmachine".to_vec().into())
    );
    client
        .send(TMessage::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::binary(vec![0u8, 1, 2, 255])
    );
    // A text message in three fragments, a ping between two of them.
    client
        .feed(TMessage::Frame(Frame::message(
            "frag".as_bytes().to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await
        .unwrap();
    client
        .feed(TMessage::Ping(b"mid".to_vec().into()))
        .await
        .unwrap();
    client
        .feed(TMessage::Frame(Frame::message(
            "men".as_bytes().to_vec(),
            OpCode::Data(Data::Continue),
            false,
        )))
        .await
        .unwrap();
    client
        .send(TMessage::Frame(Frame::message(
            "ted".as_bytes().to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .await
        .unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::Pong(b"mid".to_vec().into())
    );
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::text("fragmented")
    );
    let big = "x".repeat(200_000);
    client.send(TMessage::text(big.clone())).await.unwrap();
    assert_eq!(client.next().await.unwrap().unwrap(), TMessage::text(big));

    client
        .close(Some(TCloseFrame {
            code: TCode::Library(4000),
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    // Our reply to the close, then the end of the stream.
    match client.next().await {
        Some(Ok(TMessage::Close(Some(frame)))) => assert_eq!(frame.code, TCode::Library(4000)),
        other => panic!("expected our close reply, got {other:?}"),
    }
    assert!(client.next().await.is_none());

    let seen = server.await.unwrap();
    // tokio-tungstenite writes its pong with its next write, which may come
    // after that write's own frame: the pong is checked apart.
    let pong = "pong [102, 114, 111, 109, 32, 119, 115, 109, 97, 99, 104, 105, 110, 101]";
    assert!(seen.iter().any(|s| s == pong), "{seen:?}");
    let rest: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|s| *s != pong)
        .collect();
    assert_eq!(
        rest,
        [
            "message 6",
            "message 4",
            "ping [109, 105, 100]",
            "message 10",
            "message 200000",
            "close 4000 bye",
        ]
    );
}

/// tokio-tungstenite's server: echoes data, records pings and the close.
async fn their_echo_server(listener: TcpListener) -> Vec<String> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
    let mut seen = Vec::new();
    let mut pinged = false;
    while let Some(message) = ws.next().await {
        match message.unwrap() {
            message @ (TMessage::Text(_) | TMessage::Binary(_)) => {
                seen.push(format!("message {}", message.len()));
                ws.send(message).await.unwrap();
                if !pinged {
                    pinged = true;
                    ws.send(TMessage::Ping(b"from tungstenite".to_vec().into()))
                        .await
                        .unwrap();
                }
            }
            TMessage::Ping(data) => seen.push(format!("ping {}", data.len())),
            TMessage::Pong(data) => seen.push(format!("pong {}", data.len())),
            TMessage::Close(frame) => {
                seen.push(format!("close {:?}", frame.map(|f| u16::from(f.code))));
            }
            TMessage::Frame(_) => {}
        }
    }
    seen
}

#[tokio::test]
async fn our_client_against_tokio_tungstenite_server() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(their_echo_server(listener));
    let mut ws = wsmachine::tokio::connect_with_config(&url, config())
        .await
        .unwrap();

    ws.send_text("héllo").await.unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Text("héllo".into()));
    // Their ping: read hands it out, and its pong is already on its way.
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Ping(b"from tungstenite".to_vec())
    );
    ws.send_binary(&[9, 8, 7]).await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(vec![9, 8, 7])
    );
    ws.send_fragment(MessageKind::Text, b"frag", false)
        .await
        .unwrap();
    ws.send_ping(b"mid").await.unwrap();
    ws.send_fragment(MessageKind::Text, b"mented", true)
        .await
        .unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Pong(b"mid".to_vec())
    );
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("fragmented".into())
    );
    // Through the Sink too.
    ws.send(OwnedMessage::Binary(vec![1; 70_000]))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        OwnedMessage::Binary(vec![1; 70_000])
    );

    ws.close(CloseCode(4001), "done").await.unwrap();
    let seen = server.await.unwrap();
    assert_eq!(
        seen,
        [
            "message 6",
            "pong 16",
            "message 3",
            "ping 3",
            "message 10",
            "message 70000",
            "close Some(4001)",
        ]
    );
}
