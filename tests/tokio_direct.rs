//! The tokio adapter's direct reply (`read_with_reply`): a large echo goes
//! to the stream as header + payload in vectored writes from the input
//! buffer; what the stream does not take waits in a spill that goes out
//! before anything else, whatever future is dropped meanwhile. Small
//! messages and compressed connections take the engine's output buffer.
#![cfg(feature = "tokio")]

mod common;

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::{client_frame, frame, parse_frames};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf, duplex};
use wsmachine::tokio::{Error, WebSocket};
use wsmachine::{CloseCode, Config, Connection, Event, Message};

/// What a [`Gate`] wrote, and how much more it may take.
#[derive(Default)]
struct Wire {
    /// Bytes the gate takes before it answers `Pending`.
    budget: usize,
    bytes: Vec<u8>,
    /// Calls of `poll_write_vectored` that took bytes.
    vectored: usize,
    /// Calls of `poll_write` that took bytes.
    plain: usize,
    waker: Option<Waker>,
}

/// A stream that reads from an in-memory pipe and writes into a [`Wire`]
/// up to its budget, then returns `Pending` until the test opens it.
struct Gate {
    input: DuplexStream,
    wire: Arc<Mutex<Wire>>,
}

impl Gate {
    fn new(budget: usize) -> (Self, DuplexStream, Arc<Mutex<Wire>>) {
        let (input, client) = duplex(1 << 20);
        let wire = Arc::new(Mutex::new(Wire {
            budget,
            ..Wire::default()
        }));
        (
            Self {
                input,
                wire: wire.clone(),
            },
            client,
            wire,
        )
    }

    fn take(
        &self,
        cx: &mut Context<'_>,
        parts: &[&[u8]],
        vectored: bool,
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.wire.lock().unwrap();
        let mut taken = 0;
        for part in parts {
            let n = part.len().min(wire.budget);
            wire.bytes.extend_from_slice(&part[..n]);
            wire.budget -= n;
            taken += n;
        }
        if taken == 0 && parts.iter().any(|p| !p.is_empty()) {
            wire.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if vectored {
            wire.vectored += 1;
        } else {
            wire.plain += 1;
        }
        Poll::Ready(Ok(taken))
    }
}

fn open(wire: &Mutex<Wire>, n: usize) {
    let mut wire = wire.lock().unwrap();
    wire.budget += n;
    if let Some(waker) = wire.waker.take() {
        waker.wake();
    }
}

impl AsyncRead for Gate {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl AsyncWrite for Gate {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.take(cx, &[buf], false)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let parts: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
        self.take(cx, &parts, true)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn server(gate: Gate) -> WebSocket<Gate> {
    WebSocket::from_connection(
        gate,
        Connection::open_server(Config::default().without_timeouts()),
    )
}

/// One echo through `read_with_reply`.
async fn echo_once(ws: &mut WebSocket<Gate>) -> Result<(), Error> {
    ws.read_with_reply(|event, reply| match event {
        Event::Message(message) => reply.send(message),
        _ => Ok(()),
    })
    .await?
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A 64 KiB echo is written by one vectored write (header and payload
/// together), nothing through the output buffer, and arrives whole.
#[tokio::test]
async fn a_large_reply_goes_direct_and_arrives_intact() {
    let (gate, mut client, wire) = Gate::new(usize::MAX);
    let mut ws = server(gate);
    let payload = pattern(64 * 1024, 7);
    client
        .write_all(&client_frame(0x82, &payload))
        .await
        .unwrap();
    echo_once(&mut ws).await.unwrap();
    let wire = wire.lock().unwrap();
    assert_eq!(wire.bytes, frame(0x82, &payload, None));
    assert_eq!((wire.vectored, wire.plain), (1, 0));
}

/// The stream takes 1000 bytes of a 20 KiB echo; the rest waits in the
/// spill. A small text and a second large message that arrive meanwhile,
/// and the close reply, are queued behind it: the frames come out whole and
/// in order as the stream opens up.
#[tokio::test]
async fn a_partial_write_spills_and_the_spill_goes_before_the_next_message_and_the_close() {
    let (gate, mut client, wire) = Gate::new(1000);
    let mut ws = server(gate);
    let big = pattern(20 * 1024, 1);
    let big2 = pattern(30 * 1024, 2);
    client.write_all(&client_frame(0x82, &big)).await.unwrap();
    echo_once(&mut ws).await.unwrap();
    assert_eq!(
        wire.lock().unwrap().bytes.len(),
        1000,
        "the direct write took its budget"
    );
    assert!(!ws.is_closed());
    let mut rest = client_frame(0x81, b"hi");
    rest.extend(client_frame(0x82, &big2));
    rest.extend(client_frame(0x88, &1000u16.to_be_bytes()));
    client.write_all(&rest).await.unwrap();
    let task = tokio::spawn(async move {
        loop {
            match echo_once(&mut ws).await {
                Ok(()) => {}
                Err(Error::Closed) => return ws,
                Err(e) => panic!("server: {e}"),
            }
        }
    });
    // Open the gate a little at a time until the server has written all.
    for _ in 0..10_000 {
        if task.is_finished() {
            break;
        }
        open(&wire, 700);
        tokio::task::yield_now().await;
    }
    let ws = task.await.unwrap();
    assert!(ws.is_closed());
    let wire = wire.lock().unwrap();
    let frames = parse_frames(&wire.bytes);
    let kinds: Vec<u8> = frames.iter().map(|f| f.0).collect();
    assert_eq!(kinds, [0x82, 0x81, 0x82, 0x88]);
    assert_eq!(frames[0].1, big);
    assert_eq!(frames[1].1, b"hi");
    assert_eq!(frames[2].1, big2);
    assert_eq!(common::close_code_of(&frames[3]), Some(1000));
}

/// Futures dropped while a direct write's tail waits (a read, a flush, a
/// send under `timeout`) lose nothing: the tail, then the next message and
/// the server's close, come out whole and in order.
#[tokio::test(start_paused = true)]
async fn futures_dropped_after_a_partial_direct_write_lose_nothing() {
    let (gate, mut client, wire) = Gate::new(100);
    let mut ws = server(gate);
    let big = pattern(40 * 1024, 3);
    client.write_all(&client_frame(0x82, &big)).await.unwrap();
    echo_once(&mut ws).await.unwrap();
    assert_eq!(wire.lock().unwrap().bytes.len(), 100);

    let mut cx = Context::from_waker(Waker::noop());
    {
        // Waits on the stream (the spill) and on input: dropped pending.
        let mut read = pin!(echo_once(&mut ws));
        assert!(read.as_mut().poll(&mut cx).is_pending());
    }
    {
        let mut flush = pin!(ws.flush());
        assert!(flush.as_mut().poll(&mut cx).is_pending());
    }
    let send = tokio::time::timeout(std::time::Duration::from_millis(5), ws.send_text("after"));
    assert!(send.await.is_err(), "the send waits on the stream");
    assert_eq!(
        wire.lock().unwrap().bytes.len(),
        100,
        "nothing written while shut"
    );

    open(&wire, usize::MAX / 2);
    ws.send_text("after").await.unwrap();
    ws.start_close(CloseCode::NORMAL, "").await.unwrap();
    let frames = parse_frames(&wire.lock().unwrap().bytes);
    let kinds: Vec<u8> = frames.iter().map(|f| f.0).collect();
    // The send under `timeout` had queued its frame before it waited: a
    // send is whole or nothing, and here it was whole.
    assert_eq!(kinds, [0x82, 0x81, 0x81, 0x88]);
    assert_eq!(frames[0].1, big);
    assert_eq!(frames[1].1, b"after");
    assert_eq!(frames[2].1, b"after");
}

/// A direct write's tail goes with the write half of a split and out
/// before what the write half sends; `reunite` hands back what is left.
#[tokio::test]
async fn split_carries_the_spill_to_the_write_half() {
    let (gate, mut client, wire) = Gate::new(500);
    let mut ws = server(gate);
    let big = pattern(24 * 1024, 6);
    client.write_all(&client_frame(0x82, &big)).await.unwrap();
    echo_once(&mut ws).await.unwrap();
    let (rx, mut tx) = ws.split().unwrap();
    let send = tokio::spawn(async move {
        tx.send_text("from the write half").await.unwrap();
        tx
    });
    for _ in 0..10_000 {
        if send.is_finished() {
            break;
        }
        open(&wire, 1000);
        tokio::task::yield_now().await;
    }
    let tx = send.await.unwrap();
    let frames = parse_frames(&wire.lock().unwrap().bytes);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].1, big);
    assert_eq!(frames[1].1, b"from the write half");

    // And back: a spill made after reunite is the whole socket's again.
    let mut ws = wsmachine::tokio::reunite(rx, tx).unwrap();
    wire.lock().unwrap().budget = 300;
    client.write_all(&client_frame(0x82, &big)).await.unwrap();
    echo_once(&mut ws).await.unwrap();
    let (rx, tx) = ws.split().unwrap();
    let mut ws = wsmachine::tokio::reunite(rx, tx).unwrap();
    open(&wire, usize::MAX / 2);
    ws.flush().await.unwrap();
    let frames = parse_frames(&wire.lock().unwrap().bytes);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].1, big);
}

/// Under the 16 KiB bound the echo goes through the output buffer (plain
/// writes, no vectored one).
#[tokio::test]
async fn a_small_reply_takes_the_output_buffer() {
    let (gate, mut client, wire) = Gate::new(usize::MAX);
    let mut ws = server(gate);
    let payload = pattern(16 * 1024 - 1, 5);
    client
        .write_all(&client_frame(0x82, &payload))
        .await
        .unwrap();
    echo_once(&mut ws).await.unwrap();
    let wire = wire.lock().unwrap();
    assert_eq!(wire.bytes, frame(0x82, &payload, None));
    assert_eq!(wire.vectored, 0);
    assert!(wire.plain >= 1);
}

/// A frame the callback queues on the sender before a large reply keeps
/// its place: the reply is not written direct past it.
#[tokio::test]
async fn a_reply_after_queued_output_keeps_its_place() {
    let (gate, mut client, wire) = Gate::new(usize::MAX);
    let mut ws = server(gate);
    let payload = pattern(20 * 1024, 9);
    client
        .write_all(&client_frame(0x82, &payload))
        .await
        .unwrap();
    ws.read_with_reply(|event, reply| match event {
        Event::Message(message) => {
            reply.sender().send(Message::Text("first"))?;
            reply.send(message)
        }
        _ => Ok(()),
    })
    .await
    .unwrap()
    .unwrap();
    let wire = wire.lock().unwrap();
    let frames = parse_frames(&wire.bytes);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].1, b"first");
    assert_eq!(frames[1].1, payload);
    assert_eq!(wire.vectored, 0);
}

/// Over TCP with permessage-deflate negotiated, `send_vectored` is refused
/// and the reply is compressed by the engine; the client reads it back.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn a_compressed_connection_takes_the_engine_path() {
    use wsmachine::deflate::DeflateConfig;
    use wsmachine::tokio::{Decision, OwnedMessage};
    let config = Config::default()
        .without_timeouts()
        .with_deflate(DeflateConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server_config = config.clone();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = WebSocket::accept_with(tcp, server_config, |_| Decision::accept())
            .await
            .unwrap();
        assert!(ws.connection().deflate_params().is_some(), "compression on");
        loop {
            let sent = ws
                .read_with_reply(|event, reply| match event {
                    Event::Message(message) => reply.send(message),
                    _ => Ok(()),
                })
                .await;
            match sent {
                Ok(result) => result.unwrap(),
                Err(Error::Closed) => return,
                Err(e) => panic!("server: {e}"),
            }
        }
    });
    let mut client = wsmachine::tokio::connect_with_config(&url, config)
        .await
        .unwrap();
    let payload = pattern(100 * 1024, 4);
    for _ in 0..3 {
        client.send_binary(&payload).await.unwrap();
        assert_eq!(
            client.read().await.unwrap(),
            OwnedMessage::Binary(payload.clone())
        );
    }
    client.close(CloseCode::NORMAL, "").await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}

/// Over TCP loopback, large echoes (direct) and small ones (queued) mixed,
/// from a client that sends several before it reads: all come back whole
/// and in order, with the kernel's buffers filling up on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_echoes_over_tcp_come_back_in_order() {
    use wsmachine::tokio::{Decision, OwnedMessage};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = WebSocket::accept_with(tcp, Config::default(), |_| Decision::accept())
            .await
            .unwrap();
        loop {
            let sent = ws
                .read_with_reply(|event, reply| match event {
                    Event::Message(message) => reply.send(message),
                    _ => Ok(()),
                })
                .await;
            match sent {
                Ok(result) => result.unwrap(),
                Err(Error::Closed) => return,
                Err(e) => panic!("server: {e}"),
            }
        }
    });
    let client = wsmachine::tokio::connect(&url).await.unwrap();
    let sizes = [1 << 20, 10, 16 * 1024, 300_000, 5, 2 << 20];
    let messages: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| pattern(n, i as u8))
        .collect();
    let (mut rx, mut tx) = client.split().unwrap();
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        for _ in 0..sizes.len() {
            match rx.read().await.unwrap() {
                OwnedMessage::Binary(data) => got.push(data),
                other => panic!("{other:?}"),
            }
        }
        (rx, got)
    });
    for message in &messages {
        tx.send_binary(message).await.unwrap();
    }
    let (rx, got) = tokio::time::timeout(std::time::Duration::from_secs(30), reader)
        .await
        .unwrap()
        .unwrap();
    assert!(got == messages, "echoes differ");
    let mut client = wsmachine::tokio::reunite(rx, tx).unwrap();
    client.close(CloseCode::NORMAL, "").await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}
