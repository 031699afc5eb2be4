//! The tokio adapter: handshakes over loopback, the Stream/Sink idioms, one
//! test per cancel-safety claim, backpressure, timers (on tokio's paused
//! clock), and a hyper-style upgrade with bytes read ahead.
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use common::frame;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::tokio::{Decision, Error, OwnedMessage, WebSocket};
use wsmachine::{CloseCode, Config, Connection, Event, Message, State, Timeout};

const MASK: [u8; 4] = [1, 2, 3, 4];

/// A server `WebSocket` on one end of an in-memory pipe, the raw other end
/// for the test to play the client byte by byte.
fn server_pair(config: Config, capacity: usize) -> (WebSocket<DuplexStream>, DuplexStream) {
    let (ours, theirs) = duplex(capacity);
    (
        WebSocket::from_connection(ours, Connection::open_server(config)),
        theirs,
    )
}

fn quiet() -> Config {
    Config::default().without_timeouts()
}

/// Keepalive on: a ping after `interval` seconds without input, the peer
/// dropped `timeout` seconds after it.
fn keepalive(interval: u64, timeout: u64) -> Config {
    Config::default()
        .with_ping_interval(Some(Duration::from_secs(interval)))
        .unwrap()
        .with_ping_timeout(Some(Duration::from_secs(timeout)))
        .unwrap()
}

/// Fails unless `error` is the expiry of the `which` timer.
fn assert_timeout(error: &Error, which: Timeout) {
    assert!(
        matches!(error, Error::Timeout(t) if *t == which),
        "expected Timeout::{which:?}, got {error:?}"
    );
}

/// Reads exactly `n` bytes from the raw end.
async fn read_n(raw: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    raw.read_exact(&mut buf).await.expect("the bytes arrive");
    buf
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/chat", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn echo_over_loopback_text_binary_ping_and_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = WebSocket::accept_with(stream, quiet(), |request| {
            assert_eq!(request.path(), "/chat");
            Decision::accept_protocol("chat")
        })
        .await
        .unwrap();
        assert_eq!(ws.protocol(), Some("chat"));
        let mut pings = 0;
        loop {
            let echoed = ws
                .read_with(|event, sender| match event {
                    Event::Message(message) => sender.send(message).map(|()| true),
                    Event::Ping(_) => {
                        pings += 1;
                        Ok(false)
                    }
                    _ => Ok(false),
                })
                .await;
            match echoed {
                Ok(result) => {
                    result.unwrap();
                    ws.flush().await.unwrap();
                }
                Err(Error::Closed) => break,
                Err(e) => panic!("server: {e}"),
            }
        }
        pings
    });
    let request = wsmachine::ClientRequest::from_url(&url)
        .unwrap()
        .protocol("chat");
    let stream = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches("/chat"))
        .await
        .unwrap();
    let mut ws = WebSocket::connect_with(stream, &request, quiet())
        .await
        .unwrap();
    assert_eq!(ws.protocol(), Some("chat"));
    ws.send_text("héllo").await.unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Text("héllo".into()));
    ws.send_binary(&[0, 1, 2, 255]).await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(vec![0, 1, 2, 255])
    );
    ws.send_ping(b"are you there").await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Pong(b"are you there".to_vec())
    );
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(server.await.unwrap(), 1);
}

#[tokio::test]
async fn connect_url_and_a_rejection_carries_the_status_and_body() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        WebSocket::accept_with(stream, quiet(), |_| Decision::reject(404, "no such room")).await
    });
    match wsmachine::tokio::connect(&url).await {
        Err(Error::Rejected { status, body }) => {
            assert_eq!(status, 404);
            assert_eq!(body, b"no such room");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Rejected { status: 404, .. })
    ));
}

#[tokio::test]
async fn a_bad_request_gets_its_http_error_response() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        WebSocket::accept(stream).await
    });
    let addr = url.trim_start_matches("ws://").trim_end_matches("/chat");
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(raw); // ends the server's lingering close
    let error = server.await.unwrap().unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
}

/// Cancel-safety claim: `read` dropped in `select!` loses no byte. The
/// message arrives one byte at a time and every read in between is
/// cancelled after it consumed what was there.
#[tokio::test]
async fn read_dropped_in_select_loses_no_byte() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    let wire = frame(0x81, b"cancel me, I dare you", Some(MASK));
    let mut cancelled = 0;
    for &byte in &wire[..wire.len() - 1] {
        raw.write_all(&[byte]).await.unwrap();
        tokio::select! {
            biased;
            message = ws.read() => panic!("a message from a partial frame: {message:?}"),
            () = std::future::ready(()) => cancelled += 1,
        }
    }
    assert_eq!(cancelled, wire.len() - 1);
    raw.write_all(&wire[wire.len() - 1..]).await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("cancel me, I dare you".into())
    );
}

/// Cancel-safety claim: `read_with` dropped (by `tokio::time::timeout`)
/// loses no message, even when several arrived in one read; `f` runs only
/// when the future completes.
#[tokio::test(start_paused = true)]
async fn read_with_dropped_by_timeout_loses_no_message() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    // Nothing to read: the timeout drops the future and `f` never ran.
    let mut ran = false;
    let waited =
        tokio::time::timeout(Duration::from_millis(10), ws.read_with(|_, _| ran = true)).await;
    assert!(waited.is_err() && !ran);
    let mut both = frame(0x82, &[1, 2, 3], Some(MASK));
    both.extend(frame(0x82, &[4, 5], Some(MASK)));
    raw.write_all(&both).await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(vec![1, 2, 3])
    );
    // The second message is already in the input buffer.
    let second = tokio::time::timeout(
        Duration::from_millis(10),
        ws.read_with(|event, _| match event {
            Event::Message(Message::Binary(data)) => data.to_vec(),
            other => panic!("{other:?}"),
        }),
    )
    .await;
    assert_eq!(second.unwrap().unwrap(), vec![4, 5]);
}

/// Cancel-safety claim: `StreamExt::next` dropped in `select!` loses no
/// message.
#[tokio::test]
async fn stream_next_dropped_in_select_loses_no_message() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    let wire = frame(0x81, b"streamed", Some(MASK));
    raw.write_all(&wire[..5]).await.unwrap();
    tokio::select! {
        biased;
        item = ws.next() => panic!("a message from a partial frame: {item:?}"),
        () = std::future::ready(()) => {}
    }
    raw.write_all(&wire[5..]).await.unwrap();
    let item = ws.next().await.unwrap().unwrap();
    assert_eq!(item, OwnedMessage::Text("streamed".into()));
}

/// Cancel-safety claim: once `start_send` accepted a message, a dropped
/// `SinkExt::send` future does not lose it: the next flush writes it whole.
#[tokio::test]
async fn sink_send_cancelled_after_start_send_keeps_the_message() {
    // A pipe of 64 bytes that nobody reads: the flush cannot complete.
    let (mut ws, mut raw) = server_pair(quiet(), 64);
    let payload = vec![7u8; 10_000];
    let sent = tokio::select! {
        biased;
        sent = SinkExt::send(&mut ws, OwnedMessage::Binary(payload.clone())) => Some(sent),
        () = std::future::ready(()) => None,
    };
    assert!(sent.is_none(), "the flush should still be pending");
    // Accepted: the whole frame is in the engine (part of it in the pipe).
    let queued = ws.connection().pending_output().len();
    assert!(queued > 0 && queued < 10_004, "{queued}");
    let reader = tokio::spawn(async move { read_n(&mut raw, 4 + 10_000).await });
    SinkExt::<OwnedMessage>::flush(&mut ws).await.unwrap();
    let bytes = reader.await.unwrap();
    assert_eq!(bytes[..4], [0x82, 126, 0x27, 0x10]);
    assert_eq!(bytes[4..], payload[..]);
}

/// Cancel-safety claim: `flush` dropped midway loses nothing; a later
/// flush finishes the write.
#[tokio::test]
async fn flush_dropped_midway_resumes() {
    let (mut ws, mut raw) = server_pair(quiet(), 64);
    ws.connection_mut().send_text(&"x".repeat(1000)).unwrap();
    tokio::select! {
        biased;
        _ = ws.flush() => panic!("a 64-byte pipe took 1000 bytes"),
        () = std::future::ready(()) => {}
    }
    let reader = tokio::spawn(async move { read_n(&mut raw, 4 + 1000).await });
    ws.flush().await.unwrap();
    let bytes = reader.await.unwrap();
    assert_eq!(bytes[..4], [0x81, 126, 0x03, 0xE8]);
    assert!(bytes[4..].iter().all(|&b| b == b'x'));
}

/// Backpressure: a send waits while the pending output is above the
/// high-water mark, and queues nothing meanwhile.
#[tokio::test]
async fn send_waits_above_the_high_water_mark() {
    let (mut ws, mut raw) = server_pair(quiet(), 64);
    ws.set_high_water(1024);
    ws.connection_mut().send_binary(&[1; 4000]).unwrap();
    let before = ws.connection().pending_output().len();
    let second = ws.send_binary(&[2; 10]).now_or_never();
    assert!(second.is_none(), "the send went through above the mark");
    let after = ws.connection().pending_output().len();
    // Some of the first message went into the pipe; the second is not queued.
    assert!(after < before && after > 1024, "{before} -> {after}");
    let reader = tokio::spawn(async move { read_n(&mut raw, 4 + 4000 + 2 + 10).await });
    ws.send_binary(&[2; 10]).await.unwrap();
    let bytes = reader.await.unwrap();
    assert_eq!(bytes[4 + 4000..], [0x82, 10, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
}

/// `stream.forward(sink)` echoes, and the peer's close passes through.
#[tokio::test]
async fn forward_echoes_until_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = WebSocket::accept_with(stream, quiet(), |_| Decision::accept())
            .await
            .unwrap();
        // futures' own split (a lock around the whole), to check Stream + Sink on one value.
        let (sink, stream) = StreamExt::split(ws);
        stream
            .filter(|item| std::future::ready(!matches!(item, Ok(OwnedMessage::Pong(_)))))
            .forward(sink)
            .await
    });
    let mut ws = wsmachine::tokio::connect_with_config(&url, quiet())
        .await
        .unwrap();
    for i in 0..20 {
        ws.feed(OwnedMessage::Text(format!("message {i}")))
            .await
            .unwrap();
    }
    SinkExt::<OwnedMessage>::flush(&mut ws).await.unwrap();
    for i in 0..20 {
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            OwnedMessage::Text(format!("message {i}"))
        );
    }
    ws.send(OwnedMessage::Close(Some((CloseCode(4000), "done".into()))))
        .await
        .unwrap();
    // The engine's reply echoes the code (RFC 6455 5.5.1), not the reason.
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        OwnedMessage::Close(Some((CloseCode(4000), String::new())))
    );
    assert!(ws.next().await.is_none());
    server.await.unwrap().unwrap();
}

/// Timers: a silent peer gets a keepalive ping, then a 1011 close and
/// `Timeout::DeadPeer`, all driven by the read alone.
#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_pinged_then_dropped() {
    let config = keepalive(20, 20);
    let (mut ws, mut raw) = server_pair(config, 4096);
    let started = tokio::time::Instant::now();
    let error = ws.read().await.unwrap_err();
    assert_timeout(&error, Timeout::DeadPeer);
    assert_eq!(started.elapsed(), Duration::from_secs(40));
    let ping = read_n(&mut raw, 6).await;
    assert_eq!(ping[..2], [0x89, 4]);
    let head = read_n(&mut raw, 2).await;
    assert_eq!(head[0], 0x88);
    let close = read_n(&mut raw, usize::from(head[1])).await;
    assert_eq!(close[..2], [0x03, 0xF3], "1011");
}

/// Timers: a peer that answers keepalive pings stays connected.
#[tokio::test(start_paused = true)]
async fn a_live_peer_answering_pings_stays() {
    let config = keepalive(1, 1);
    let (ours, theirs) = duplex(4096);
    let mut server = WebSocket::from_connection(ours, Connection::open_server(config));
    let mut client = WebSocket::from_connection(
        theirs,
        Connection::open_client(quiet(), common::counter_masks()),
    );
    // The client answers pings as it reads; after 10 s (10 pings) the
    // server's read has seen only pongs, and no timeout.
    let client_task = tokio::spawn(async move {
        loop {
            match client.read().await {
                Ok(OwnedMessage::Ping(_)) => {}
                Ok(OwnedMessage::Close(_)) | Err(Error::Closed) => return,
                other => panic!("client: {other:?}"),
            }
        }
    });
    let mut pongs = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(message) = tokio::time::timeout_at(until, server.read()).await {
        assert!(matches!(message, Ok(OwnedMessage::Pong(_))), "{message:?}");
        pongs += 1;
    }
    assert!(pongs >= 9, "{pongs}");
    assert!(server.connection().latency().is_some());
    server.close(CloseCode::NORMAL, "").await.unwrap();
    client_task.await.unwrap();
}

/// Timers: `close` gives up after the close timeout when the peer never
/// answers.
#[tokio::test(start_paused = true)]
async fn close_honours_the_close_timeout() {
    let config = quiet()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut ws, mut raw) = server_pair(config, 4096);
    let started = tokio::time::Instant::now();
    let error = ws.close(CloseCode::NORMAL, "bye").await.unwrap_err();
    assert_timeout(&error, Timeout::Closing);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(
        read_n(&mut raw, 7).await,
        [0x88, 5, 0x03, 0xE8, b'b', b'y', b'e']
    );
}

/// Timers: with keepalive off, reads do not read the clock (no timer wants
/// it); the close timer still counts from the close, not from the last
/// clock reading, however long the connection was open before.
#[tokio::test(start_paused = true)]
async fn without_keepalive_the_close_timeout_counts_from_the_close() {
    let config = quiet()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut ws, mut raw) = server_pair(config, 4096);
    assert_eq!(ws.connection().poll_timeout(), None);
    for i in 0..5u8 {
        tokio::time::advance(Duration::from_secs(10)).await;
        raw.write_all(&frame(0x82, &[i], Some(MASK))).await.unwrap();
        assert_eq!(ws.read().await.unwrap(), OwnedMessage::Binary(vec![i]));
    }
    let started = tokio::time::Instant::now();
    let error = ws.close(CloseCode::NORMAL, "").await.unwrap_err();
    assert_timeout(&error, Timeout::Closing);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

/// Timers: a keepalive deadline pushed back by every message does not
/// re-arm the timer on every read (the one armed for an earlier deadline
/// wakes the read, which finds nothing due and arms the later one), and
/// the ping and the dead-peer timeout still count exactly from the last
/// message.
#[tokio::test(start_paused = true)]
async fn keepalive_counts_from_the_last_message_though_it_moved_on_every_read() {
    let config = keepalive(10, 10);
    let (mut ws, mut raw) = server_pair(config, 4096);
    let started = tokio::time::Instant::now();
    // A message every 3 s for 15 s, each arriving while the read waits
    // (so the timer is armed, for a deadline the message then pushes back).
    for i in 0..5u8 {
        let (message, ()) = tokio::join!(ws.read(), async {
            tokio::time::advance(Duration::from_secs(3)).await;
            raw.write_all(&frame(0x82, &[i], Some(MASK))).await.unwrap();
        });
        assert_eq!(message.unwrap(), OwnedMessage::Binary(vec![i]));
    }
    let error = tokio::time::timeout(Duration::from_secs(100), ws.read())
        .await
        .expect("the dead-peer timer fires")
        .unwrap_err();
    assert_timeout(&error, Timeout::DeadPeer);
    // Last message at 15 s: the ping at 25 s, the peer dead at 35 s.
    assert_eq!(started.elapsed(), Duration::from_secs(35));
    let ping = read_n(&mut raw, 6).await;
    assert_eq!(ping[..2], [0x89, 4]);
    assert_eq!(read_n(&mut raw, 1).await, [0x88]);
}

/// Timers: a read that waits again with the timer unchanged does not poll
/// it again when it already holds this task's waker; a read from another
/// task (another waker) registers its own, so the timer wakes it.
#[tokio::test(start_paused = true)]
async fn a_timer_first_polled_by_one_waker_wakes_a_read_in_another_task() {
    let config = keepalive(10, 10);
    let (mut ws, _raw) = server_pair(config, 4096);
    let started = tokio::time::Instant::now();
    // Polled once with a waker that wakes nothing.
    assert!(ws.read().now_or_never().is_none());
    let reader = tokio::spawn(async move { ws.read().await });
    let error = tokio::time::timeout(Duration::from_secs(100), reader)
        .await
        .expect("the timer wakes the reading task")
        .unwrap()
        .unwrap_err();
    assert_timeout(&error, Timeout::DeadPeer);
    assert_eq!(started.elapsed(), Duration::from_secs(20));
}

/// Timers: a deadline that moves earlier than the one the timer is armed
/// for (the close timeout under a long keepalive interval) re-arms it.
#[tokio::test(start_paused = true)]
async fn a_close_timeout_shorter_than_the_keepalive_interval_fires_on_time() {
    let config = Config::default()
        .with_ping_interval(Some(Duration::from_secs(100)))
        .unwrap()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut ws, _raw) = server_pair(config, 4096);
    // The timer is armed for the keepalive ping, 100 s ahead.
    assert!(ws.read().now_or_never().is_none());
    let started = tokio::time::Instant::now();
    let error = ws.close(CloseCode::NORMAL, "").await.unwrap_err();
    assert_timeout(&error, Timeout::Closing);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

/// Timers: a read goes to the stream before it looks at the timer, and
/// gives the engine the time of every read that brings bytes, so a timer
/// that expired fires on the next read even with messages waiting.
#[tokio::test(start_paused = true)]
async fn an_expired_close_timer_fires_though_messages_are_waiting() {
    let config = quiet()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut ws, mut raw) = server_pair(config, 1 << 16);
    ws.start_close(CloseCode::NORMAL, "").await.unwrap();
    // A read that finds nothing starts the close timer (its deadline is
    // three seconds from now).
    assert!(ws.read().now_or_never().is_none());
    for i in 0..50u8 {
        raw.write_all(&frame(0x82, &[i], Some(MASK))).await.unwrap();
    }
    tokio::time::advance(Duration::from_secs(4)).await;
    let error = ws.read().await.unwrap_err();
    assert_timeout(&error, Timeout::Closing);
}

/// A read that found nothing complete does not decode again until input
/// arrives; input given through `connection_mut` counts, though the
/// stream brings nothing.
#[tokio::test(start_paused = true)]
async fn input_given_through_connection_mut_is_read_next() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    // Half a frame from the stream: the read decodes it, finds it
    // incomplete, and waits.
    let whole = frame(0x82, b"abcd", Some(MASK));
    raw.write_all(&whole[..4]).await.unwrap();
    assert!(ws.read().now_or_never().is_none());
    ws.connection_mut().receive(&whole[4..]);
    let message = tokio::time::timeout(Duration::from_secs(1), ws.read())
        .await
        .expect("decoded with no new byte from the stream");
    assert_eq!(message.unwrap(), OwnedMessage::Binary(b"abcd".to_vec()));
}

/// After an event the read skips the decode only when the input is used
/// up: a second frame that came in the same read is delivered with no
/// more bytes from the stream.
#[tokio::test]
async fn frames_that_arrive_together_are_read_without_more_input() {
    let (mut ws, mut raw) = server_pair(quiet(), 1 << 16);
    let mut wire = frame(0x82, b"one", Some(MASK));
    wire.extend(frame(0x82, b"two", Some(MASK)));
    raw.write_all(&wire).await.unwrap();
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(b"one".to_vec())
    );
    let second = ws
        .read()
        .now_or_never()
        .expect("decoded from the buffer, without waiting on the stream");
    assert_eq!(second.unwrap(), OwnedMessage::Binary(b"two".to_vec()));
}

/// Nor when the engine has memory to give back: the read that waits after
/// a large message releases the input buffer it grew.
#[tokio::test]
async fn the_read_after_a_large_message_releases_its_input_buffer() {
    let (mut ws, mut raw) = server_pair(quiet(), 1 << 16);
    let big = frame(0x82, &vec![5; 1 << 20], Some(MASK));
    let writing = tokio::spawn(async move {
        raw.write_all(&big).await.unwrap();
        raw
    });
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(vec![5; 1 << 20])
    );
    let _raw = writing.await.unwrap();
    assert!(ws.read().now_or_never().is_none());
    let held = ws.connection().memory_usage();
    assert!(held < 256 << 10, "{held} bytes held while idle");
}

/// Nor when a reassembled message was delivered: the read that waits
/// after it frees the reassembly buffer (the input buffer stayed small).
#[tokio::test]
async fn the_read_after_a_fragmented_message_releases_its_reassembly() {
    let (mut ws, mut raw) = server_pair(quiet(), 1 << 16);
    const PARTS: usize = 100;
    let writing = tokio::spawn(async move {
        for i in 0..PARTS {
            let opcode = if i == 0 { 0x02 } else { 0x00 };
            let fin = if i == PARTS - 1 { 0x80 } else { 0 };
            raw.write_all(&frame(opcode | fin, &[6; 10_000], Some(MASK)))
                .await
                .unwrap();
        }
        raw
    });
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Binary(vec![6; PARTS * 10_000])
    );
    let _raw = writing.await.unwrap();
    assert!(ws.read().now_or_never().is_none());
    let held = ws.connection().memory_usage();
    assert!(held < 256 << 10, "{held} bytes held while idle");
}

/// Cancel-safety claim for `close`: dropped while waiting for the peer,
/// calling it again resumes and sends no second close frame.
#[tokio::test]
async fn close_dropped_then_resumed_sends_one_close_frame() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    tokio::select! {
        biased;
        _ = ws.close(CloseCode::NORMAL, "") => panic!("closed without the peer's answer"),
        () = std::future::ready(()) => {}
    }
    assert_eq!(ws.state(), State::Closing);
    assert_eq!(read_n(&mut raw, 4).await, [0x88, 2, 0x03, 0xE8]);
    raw.write_all(&frame(0x88, &[0x03, 0xE8], Some(MASK)))
        .await
        .unwrap();
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(ws.state(), State::Closed);
    // The write side was shut down after the handshake, with nothing more.
    let mut rest = Vec::new();
    raw.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

/// A ping is answered by the read path even if the caller never sends.
#[tokio::test]
async fn a_ping_is_answered_by_the_reader() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    raw.write_all(&frame(0x89, b"hi", Some(MASK)))
        .await
        .unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Ping(b"hi".to_vec()));
    assert_eq!(read_n(&mut raw, 4).await, [0x8A, 2, b'h', b'i']);
}

/// hyper hands over the upgraded I/O and the bytes it read past the
/// request: those frames come first.
#[tokio::test]
async fn from_upgraded_decodes_the_bytes_read_ahead_first() {
    let (ours, mut raw) = duplex(4096);
    let ahead = frame(0x81, b"first", Some(MASK));
    let mut ws = WebSocket::from_upgraded(ours, Connection::open_server(quiet()), &ahead[..4]);
    raw.write_all(&ahead[4..]).await.unwrap();
    raw.write_all(&frame(0x81, b"second", Some(MASK)))
        .await
        .unwrap();
    assert_eq!(ws.read().await.unwrap(), OwnedMessage::Text("first".into()));
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("second".into())
    );
}

/// End of stream without a close frame is 1006, after the messages before it.
#[tokio::test]
async fn eof_after_a_message_delivers_it_then_abnormal_closure() {
    let (mut ws, mut raw) = server_pair(quiet(), 4096);
    raw.write_all(&frame(0x81, b"last words", Some(MASK)))
        .await
        .unwrap();
    drop(raw);
    assert_eq!(
        ws.read().await.unwrap(),
        OwnedMessage::Text("last words".into())
    );
    let error = ws.read().await.unwrap_err();
    assert_eq!(error.close_code(), Some(CloseCode(1006)), "{error:?}");
}
