//! The tokio adapter split into a read half and a write half for two tasks:
//! the read half answers pings and closes while the write half is idle or
//! busy, a close from the write half starts the read half's close timer,
//! keepalive runs on the read half, the halves reunite.
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use common::frame;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use wsmachine::tokio::{Error, OwnedMessage, WebSocket, reunite};
use wsmachine::{CloseCode, Config, Connection, State, Timeout};

const MASK: [u8; 4] = [3, 1, 4, 1];

fn server_pair(config: Config) -> (WebSocket<DuplexStream>, DuplexStream) {
    let (ours, theirs) = duplex(1 << 16);
    (
        WebSocket::from_connection(ours, Connection::open_server(config)),
        theirs,
    )
}

fn quiet() -> Config {
    Config::default().without_timeouts()
}

async fn read_n(raw: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    raw.read_exact(&mut buf).await.expect("the bytes arrive");
    buf
}

#[tokio::test]
async fn the_read_half_answers_a_ping_while_the_write_half_is_idle() {
    let (ws, mut raw) = server_pair(quiet());
    let (mut reader, _writer) = ws.split().unwrap();
    let reading = tokio::spawn(async move { reader.read().await.unwrap() });
    raw.write_all(&frame(0x89, b"ping!", Some(MASK)))
        .await
        .unwrap();
    assert_eq!(read_n(&mut raw, 7).await, frame(0x8A, b"ping!", None));
    assert_eq!(
        reading.await.unwrap(),
        OwnedMessage::Ping(b"ping!".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tasks_send_and_read_at_once_and_frames_never_interleave() {
    let (ws, raw) = server_pair(quiet());
    let (mut reader, mut writer) = ws.split().unwrap();
    const N: usize = 300;
    let sending = tokio::spawn(async move {
        for i in 0..N {
            writer.send_binary(&[i as u8; 1000]).await.unwrap();
        }
        writer
    });
    let reading = tokio::spawn(async move {
        let mut pings = 0;
        while pings < N {
            match reader.read().await.unwrap() {
                OwnedMessage::Ping(_) => pings += 1,
                other => panic!("{other:?}"),
            }
        }
        reader
    });
    let (mut peer_read, mut peer_write) = tokio::io::split(raw);
    let pinging = tokio::spawn(async move {
        for i in 0..N as u32 {
            peer_write
                .write_all(&frame(0x89, &i.to_be_bytes(), Some(MASK)))
                .await
                .unwrap();
        }
        peer_write
    });
    let mut binaries = 0;
    let mut last_pong = None;
    while binaries < N || last_pong != Some(N as u32 - 1) {
        let mut head = [0u8; 2];
        peer_read.read_exact(&mut head).await.unwrap();
        let len = match head[1] {
            126 => usize::from(peer_read.read_u16().await.unwrap()),
            n => usize::from(n),
        };
        let mut payload = vec![0; len];
        peer_read.read_exact(&mut payload).await.unwrap();
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
    let peer_write = pinging.await.unwrap();
    let writer = sending.await.unwrap();
    let reader = reading.await.unwrap();
    let mut ws = reunite(reader, writer).map_err(|_| "halves").unwrap();
    ws.send_text("whole again").await.unwrap();
    let mut whole = [0u8; 13];
    peer_read.read_exact(&mut whole).await.unwrap();
    assert_eq!(whole[..], frame(0x81, b"whole again", None));
    drop(peer_write);
}

#[tokio::test]
async fn the_peers_close_is_answered_by_the_read_half() {
    let (ws, mut raw) = server_pair(quiet());
    let (mut reader, mut writer) = ws.split().unwrap();
    raw.write_all(&frame(0x88, &[0x0F, 0xA0], Some(MASK)))
        .await
        .unwrap();
    assert_eq!(
        reader.read().await.unwrap(),
        OwnedMessage::Close(Some((CloseCode(4000), String::new())))
    );
    assert!(matches!(reader.read().await, Err(Error::Closed)));
    assert_eq!(read_n(&mut raw, 4).await, frame(0x88, &[0x0F, 0xA0], None));
    assert_eq!(writer.state(), State::Closed);
    assert!(matches!(
        writer.send_text("too late").await,
        Err(Error::Usage(wsmachine::UsageError::Closed))
    ));
}

/// The read half sleeps in a read with no timer running; a close from the
/// write half wakes it and starts its close timer.
#[tokio::test(start_paused = true)]
async fn a_close_from_the_write_half_starts_the_read_halfs_close_timer() {
    let config = quiet()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (ws, mut raw) = server_pair(config);
    let (mut reader, mut writer) = ws.split().unwrap();
    let reading = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let result = reader.read().await;
        (result, started.elapsed())
    });
    tokio::task::yield_now().await;
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(read_n(&mut raw, 4).await, frame(0x88, &[0x03, 0xE8], None));
    // Bounded: a read half that was not woken would sleep forever.
    let (result, took) = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("the read half was woken")
        .unwrap();
    assert!(
        matches!(result, Err(Error::Timeout(Timeout::Closing))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn keepalive_runs_on_the_read_half_and_drops_a_dead_peer() {
    let config = Config::default()
        .with_ping_interval(Some(Duration::from_secs(20)))
        .unwrap()
        .with_ping_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (ws, mut raw) = server_pair(config);
    let (mut reader, _writer) = ws.split().unwrap();
    let error = reader.read().await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout(Timeout::DeadPeer)),
        "{error:?}"
    );
    let ping = read_n(&mut raw, 6).await;
    assert_eq!(ping[..2], [0x89, 4]);
    let head = read_n(&mut raw, 2).await;
    assert_eq!(head[0], 0x88);
    assert_eq!(
        read_n(&mut raw, usize::from(head[1])).await[..2],
        [0x03, 0xF3]
    );
}

#[tokio::test]
async fn read_half_forwards_into_write_half() {
    let (ours, theirs) = duplex(1 << 16);
    let server = WebSocket::from_connection(ours, Connection::open_server(quiet()));
    let mut client = WebSocket::from_connection(
        theirs,
        Connection::open_client(quiet(), common::counter_masks()),
    );
    let echo = tokio::spawn(async move {
        let (reader, writer) = server.split().unwrap();
        reader.forward(writer).await
    });
    for i in 0..50 {
        client.send_text(&format!("n{i}")).await.unwrap();
    }
    for i in 0..50 {
        assert_eq!(
            client.read().await.unwrap(),
            OwnedMessage::Text(format!("n{i}"))
        );
    }
    client.close(CloseCode::NORMAL, "").await.unwrap();
    echo.await.unwrap().unwrap();
}

/// Cancel safety on the read half: `read` dropped in `select!` loses no
/// byte, and a ping that arrived meanwhile is still answered.
#[tokio::test]
async fn read_half_read_dropped_in_select_loses_no_byte() {
    let (ws, mut raw) = server_pair(quiet());
    let (mut reader, _writer) = ws.split().unwrap();
    let mut wire = frame(0x89, b"p", Some(MASK));
    wire.extend(frame(0x82, &[7; 300], Some(MASK)));
    for &byte in &wire[..wire.len() - 1] {
        raw.write_all(&[byte]).await.unwrap();
        tokio::select! {
            biased;
            message = reader.read() => assert_eq!(message.unwrap(), OwnedMessage::Ping(b"p".to_vec())),
            () = std::future::ready(()) => {}
        }
    }
    raw.write_all(&wire[wire.len() - 1..]).await.unwrap();
    assert_eq!(
        reader.read().await.unwrap(),
        OwnedMessage::Binary(vec![7; 300])
    );
    assert_eq!(read_n(&mut raw, 3).await, frame(0x8A, b"p", None));
}

/// The read half goes to the stream before its timer, as the whole socket
/// does: a message that was waiting when the keepalive deadline passed is
/// read first and counts as input, so no ping goes out.
#[tokio::test(start_paused = true)]
async fn the_read_half_reads_waiting_input_before_its_keepalive_timer() {
    use futures_util::FutureExt;
    let config = Config::default()
        .with_ping_interval(Some(Duration::from_secs(20)))
        .unwrap()
        .with_ping_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (ws, mut raw) = server_pair(config);
    let (mut reader, _writer) = ws.split().unwrap();
    // A read that finds nothing arms the keepalive timer (20 s from now).
    assert!(reader.read().now_or_never().is_none());
    raw.write_all(&frame(0x82, b"late", Some(MASK)))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(21)).await;
    assert_eq!(
        reader.read().await.unwrap(),
        OwnedMessage::Binary(b"late".to_vec())
    );
    let mut byte = [0u8; 1];
    assert!(
        raw.read(&mut byte).now_or_never().is_none(),
        "a ping went out though input was waiting"
    );
}
