//! `Connection::split`: a receiving and a sending state machine, the
//! hand-off of owed control frames between them, timers on the receiving
//! side, reuniting, and (with deflate) one codec per half.

mod common;

use common::*;
use core::time::Duration;
use wsmachine::{
    CloseCode, Config, Connection, Event, Message, ProtocolError, State, Timeout, Timestamp,
};

const MASK: [u8; 4] = [9, 8, 7, 6];

fn split_server(config: Config) -> (wsmachine::Receiver, wsmachine::Sender) {
    Connection::open_server(config).split().expect("open")
}

#[test]
fn a_ping_on_the_receiver_becomes_a_pong_on_the_sender() {
    let (mut rx, mut tx) = split_server(Config::default());
    rx.receive(&frame(0x89, b"are you there", Some(MASK)));
    assert_eq!(
        rx.next_event().unwrap(),
        Some(Event::Ping(b"are you there"))
    );
    assert!(rx.has_owed());
    assert!(tx.pending_output().is_empty(), "nothing crosses by itself");
    tx.deliver(rx.take_owed());
    assert_eq!(tx.pending_output(), frame(0x8A, b"are you there", None));
    assert!(!rx.has_owed());
}

#[test]
fn a_ping_flood_owes_only_the_latest_pong() {
    let (mut rx, mut tx) = split_server(Config::default());
    for i in 0..1000u32 {
        rx.receive(&frame(0x89, &i.to_be_bytes(), Some(MASK)));
        assert!(matches!(rx.next_event(), Ok(Some(Event::Ping(_)))));
    }
    let owed = rx.take_owed();
    assert_eq!(size_of_val(&owed), size_of::<wsmachine::Owed>());
    tx.deliver(owed);
    assert_eq!(
        tx.pending_output(),
        frame(0x8A, &999u32.to_be_bytes(), None)
    );
}

#[test]
fn the_peers_close_is_answered_through_the_sender() {
    let (mut rx, mut tx) = split_server(Config::default());
    tx.send_text("still sending").unwrap();
    rx.receive(&frame(0x88, &[0x0F, 0xA0, b'b', b'y', b'e'], Some(MASK)));
    match rx.next_event().unwrap() {
        Some(Event::Close(close)) => {
            assert_eq!((close.code, close.reason), (CloseCode(4000), "bye"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.state(), State::Closed);
    assert_eq!(rx.next_event().unwrap(), None);
    tx.deliver(rx.take_owed());
    let mut expected = frame(0x81, b"still sending", None);
    expected.extend(frame(0x88, &[0x0F, 0xA0], None));
    assert_eq!(tx.pending_output(), expected);
    assert_eq!(tx.state(), State::Closed);
    assert_eq!(tx.send_text("late"), Err(wsmachine::UsageError::Closed));
}

#[test]
fn a_protocol_error_on_the_receiver_closes_through_the_sender() {
    let (mut rx, mut tx) = split_server(Config::default());
    rx.receive(&frame(0x81, b"ok", Some(MASK)));
    // An unmasked frame from a client: 1002.
    rx.receive(&frame(0x82, b"bad", None));
    assert_eq!(
        rx.next_event().unwrap(),
        Some(Event::Message(Message::Text("ok")))
    );
    assert_eq!(rx.next_event(), Err(ProtocolError::UnmaskedFrame));
    assert_eq!(rx.state(), State::Closed);
    tx.deliver(rx.take_owed());
    assert_eq!(tx.pending_output(), frame(0x88, &[0x03, 0xEA], None));
    assert_eq!(tx.state(), State::Closed);
}

#[test]
fn keepalive_and_dead_peer_run_on_the_receiver() {
    let config = Config::default()
        .with_ping_interval(Some(Duration::from_secs(20)))
        .unwrap()
        .with_ping_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (mut rx, mut tx) = split_server(config);
    rx.handle_timeout(Timestamp::ZERO).unwrap();
    let ping_at = rx.poll_timeout().unwrap();
    assert_eq!(ping_at, Timestamp::from_millis(20_000));
    rx.handle_timeout(ping_at).unwrap();
    tx.deliver(rx.take_owed());
    assert_eq!(tx.pending_output()[0], 0x89, "a keepalive ping");
    let dead_at = rx.poll_timeout().unwrap();
    assert_eq!(rx.handle_timeout(dead_at), Err(Timeout::DeadPeer));
    let ping_len = tx.pending_output().len();
    tx.deliver(rx.take_owed());
    assert_eq!(tx.pending_output()[ping_len..][..4], [0x88, 24, 0x03, 0xF3]);
    assert_eq!(tx.state(), State::Closed);
}

#[test]
fn a_close_sent_starts_the_receivers_close_timer() {
    let config = Config::default()
        .without_timeouts()
        .with_close_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let (mut rx, mut tx) = split_server(config);
    rx.handle_timeout(Timestamp::ZERO).unwrap();
    assert_eq!(rx.poll_timeout(), None);
    tx.close(CloseCode::NORMAL, "").unwrap();
    rx.close_sent();
    assert_eq!(rx.state(), State::Closing);
    // Armed at the next tick, then due 3 s later.
    rx.handle_timeout(Timestamp::from_millis(100)).unwrap();
    assert_eq!(rx.poll_timeout(), Some(Timestamp::from_millis(3_100)));
    assert_eq!(
        rx.handle_timeout(Timestamp::from_millis(3_100)),
        Err(Timeout::Closing)
    );
}

#[test]
fn reunite_delivers_what_is_owed_and_keeps_buffered_input() {
    let (mut rx, tx) = split_server(Config::default());
    let mut input = frame(0x89, b"p", Some(MASK));
    input.extend(frame(0x81, b"after", Some(MASK)));
    rx.receive(&input);
    assert_eq!(rx.next_event().unwrap(), Some(Event::Ping(b"p")));
    let mut conn = Connection::reunite(rx, tx);
    assert_eq!(conn.pending_output(), frame(0x8A, b"p", None));
    assert_eq!(
        conn.next_event().unwrap(),
        Some(Event::Message(Message::Text("after")))
    );
}

#[test]
fn no_split_during_the_handshake() {
    let conn = Connection::server(Config::default());
    let conn = conn.split().expect_err("still connecting");
    assert_eq!(conn.state(), State::Connecting);
}

#[test]
fn halves_of_a_client_and_a_server_talk_both_ways() {
    let client = Connection::open_client(Config::default(), counter_masks());
    let (mut crx, mut ctx) = client.split().unwrap();
    let (mut srx, mut stx) = split_server(Config::default());
    ctx.send_text("to the server").unwrap();
    ctx.send_ping(b"c").unwrap();
    let wire = ctx.pending_output().to_vec();
    ctx.advance_output(wire.len());
    srx.receive(&wire);
    assert_eq!(
        srx.next_event().unwrap(),
        Some(Event::Message(Message::Text("to the server")))
    );
    assert_eq!(srx.next_event().unwrap(), Some(Event::Ping(b"c")));
    stx.send_binary(b"to the client").unwrap();
    stx.deliver(srx.take_owed());
    let wire = stx.pending_output().to_vec();
    crx.receive(&wire);
    assert_eq!(
        crx.next_event().unwrap(),
        Some(Event::Message(Message::Binary(b"to the client")))
    );
    assert_eq!(crx.next_event().unwrap(), Some(Event::Pong(b"c")));
}

/// With permessage-deflate each half keeps its codec: the receiver
/// inflates, the sender deflates, with context takeover across messages.
#[cfg(feature = "deflate")]
#[test]
fn with_deflate_each_half_keeps_its_codec() {
    use wsmachine::{Accept, ClientRequest};
    let req = ClientRequest::from_url("ws://127.0.0.1:1/").unwrap();
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    let mut server = Connection::server(Config::default());
    server.receive(&take_output(&mut client, usize::MAX));
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).unwrap();
    client.receive(&take_output(&mut server, usize::MAX));
    assert!(matches!(client.next_event(), Ok(Some(Event::Connected(_)))));
    assert!(server.deflate_params().is_some());

    let (mut crx, mut ctx) = client.split().unwrap();
    let (mut srx, mut stx) = server.split().unwrap();
    let text = "the quick brown fox jumps over the lazy dog ".repeat(50);
    for _ in 0..3 {
        ctx.send_text(&text).unwrap();
        let wire = ctx.pending_output().to_vec();
        ctx.advance_output(wire.len());
        assert_eq!(wire[0], 0xC1, "RSV1: compressed");
        assert!(wire.len() < text.len() / 4, "{}", wire.len());
        srx.receive(&wire);
        assert_eq!(
            srx.next_event().unwrap(),
            Some(Event::Message(Message::Text(&text)))
        );
        stx.send_text(&text).unwrap();
        let wire = stx.pending_output().to_vec();
        stx.advance_output(wire.len());
        assert_eq!(wire[0], 0xC1);
        crx.receive(&wire);
        assert_eq!(
            crx.next_event().unwrap(),
            Some(Event::Message(Message::Text(&text)))
        );
    }
    let server = Connection::reunite(srx, stx);
    assert!(server.deflate_params().is_some());
}
