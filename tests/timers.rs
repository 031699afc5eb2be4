//! Time as an input: keepalive, dead peer, open and close timeouts, driven by
//! a fake clock through in-memory pairs, in both roles.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Connection, Event, State, Timeout, Timestamp,
};

fn secs(s: f64) -> Timestamp {
    Timestamp::from_duration(Duration::from_secs_f64(s))
}

/// A pair with both clocks started at t = 0.
fn started_pair(config: Config) -> Pair {
    let mut pair = Pair::with_config(config, Chunking::Whole);
    pair.client.handle_timeout(Timestamp::ZERO).unwrap();
    pair.server.handle_timeout(Timestamp::ZERO).unwrap();
    pair
}

/// Moves `from`'s output into `to` at time `now`, the way a driver does it:
/// read, tell the time, drain events.
fn deliver_at(from: &mut Connection, to: &mut Connection, now: Timestamp) -> Vec<Owned> {
    let bytes = take_output(from, usize::MAX);
    to.receive(&bytes);
    to.handle_timeout(now).unwrap();
    let mut events = Vec::new();
    drain(to, &mut events);
    events
}

/// Runs `test` with (pinger, peer) as (server, client) and as (client, server).
fn both_roles(config: Config, mut test: impl FnMut(&mut Connection, &mut Connection)) {
    let mut pair = started_pair(config.clone());
    test(&mut pair.server, &mut pair.client);
    let mut pair = started_pair(config);
    test(&mut pair.client, &mut pair.server);
}

fn ping_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    parse_frames(bytes)
        .into_iter()
        .filter(|(b0, _)| b0 & 0x0f == 0x9)
        .map(|(_, payload)| payload)
        .collect()
}

#[test]
fn keepalive_pings_after_the_interval_of_silence_and_not_before() {
    both_roles(Config::default(), |a, _| {
        assert_eq!(a.poll_timeout(), Some(secs(20.0)));
        a.handle_timeout(secs(19.999)).unwrap();
        assert!(!a.wants_write(), "no ping before the interval");
        a.handle_timeout(secs(20.0)).unwrap();
        let out = take_output(a, usize::MAX);
        assert_eq!(ping_frames(&out).len(), 1, "one ping at the interval");
        // Extra calls at the same time send nothing more.
        a.handle_timeout(secs(20.0)).unwrap();
        a.handle_timeout(secs(25.0)).unwrap();
        assert!(!a.wants_write());
        // Its dead-peer deadline is the ping timeout after it.
        assert_eq!(a.poll_timeout(), Some(secs(40.0)));
    });
}

#[test]
fn keepalive_pong_measures_latency_and_keeps_the_peer_alive() {
    both_roles(Config::default(), |a, b| {
        a.handle_timeout(secs(20.0)).unwrap();
        let seen = deliver_at(a, b, secs(20.1));
        assert!(matches!(seen.as_slice(), [Owned::Ping(p)] if p.len() == 4));
        // The pong comes back 0.25 s after the ping went out.
        let seen = deliver_at(b, a, secs(20.25));
        assert!(matches!(seen.as_slice(), [Owned::Pong(_)]));
        assert_eq!(a.latency(), Some(Duration::from_millis(250)));
        // The peer answered: no failure at the dead-peer deadline, and the
        // next ping an interval after the pong.
        a.handle_timeout(secs(40.0)).unwrap();
        assert_eq!(a.state(), State::Open);
        assert_eq!(a.poll_timeout(), Some(secs(40.25)));
    });
}

#[test]
fn anything_received_resets_keepalive_but_sending_does_not() {
    both_roles(Config::default(), |a, b| {
        // a sends at 5, 10, 15: that does not count.
        for t in [5.0, 10.0, 15.0] {
            a.handle_timeout(secs(t)).unwrap();
            a.send_text("from a").unwrap();
            deliver_at(a, b, secs(t));
        }
        a.handle_timeout(secs(20.0)).unwrap();
        assert_eq!(ping_frames(&take_output(a, usize::MAX)).len(), 1);

        // b sends at 30: a's next ping waits until 50, not 40.
        b.handle_timeout(secs(30.0)).unwrap();
        // Drain b's pong to the ping first (it goes with the message).
        deliver_at(a, b, secs(30.0));
        b.send_binary(b"from b").unwrap();
        deliver_at(b, a, secs(30.0));
        a.handle_timeout(secs(49.9)).unwrap();
        assert!(ping_frames(&take_output(a, usize::MAX)).is_empty());
        a.handle_timeout(secs(50.0)).unwrap();
        assert_eq!(ping_frames(&take_output(a, usize::MAX)).len(), 1);
    });
}

#[test]
fn dead_peer_fails_once_with_1011_after_the_ping_timeout() {
    both_roles(Config::default(), |a, _| {
        a.handle_timeout(secs(20.0)).unwrap();
        a.handle_timeout(secs(39.999)).unwrap();
        assert_eq!(a.state(), State::Open);
        assert_eq!(a.handle_timeout(secs(40.0)), Err(Timeout::DeadPeer));
        assert_eq!(Timeout::DeadPeer.close_code(), CloseCode::INTERNAL_ERROR);
        let frames = parse_frames(&take_output(a, usize::MAX));
        let close = frames.last().unwrap();
        assert_eq!(close.0 & 0x0f, 0x8);
        assert_eq!(close_code_of(close), Some(1011));
        assert_eq!(&close.1[2..], b"keepalive ping timeout");
        assert!(a.is_closed());
        // Reported once; nothing more is sent or asked for.
        assert_eq!(a.handle_timeout(secs(100.0)), Ok(()));
        assert_eq!(a.poll_timeout(), None);
        assert!(!a.wants_write());
        assert_eq!(a.next_event(), Ok(None));
    });
}

#[test]
fn any_byte_after_the_ping_proves_the_peer_alive_even_a_partial_frame() {
    both_roles(Config::default(), |a, b| {
        a.handle_timeout(secs(20.0)).unwrap();
        take_output(a, usize::MAX); // the ping is lost on the way
        b.send_binary(&[9u8; 300]).unwrap();
        let bytes = take_output(b, usize::MAX);
        a.receive(&bytes[..3]);
        a.handle_timeout(secs(30.0)).unwrap();
        assert_eq!(a.next_event(), Ok(None));
        a.handle_timeout(secs(40.0)).unwrap();
        assert_eq!(a.state(), State::Open);
        // The rest of the message still arrives whole.
        a.receive(&bytes[3..]);
        assert_eq!(
            a.next_event().unwrap(),
            Some(Event::Message(wsmachine::Message::Binary(&[9u8; 300])))
        );
    });
}

#[test]
fn an_unsolicited_pong_is_not_taken_for_the_keepalive_reply() {
    both_roles(Config::default(), |a, b| {
        a.handle_timeout(secs(20.0)).unwrap();
        let ping = take_output(a, usize::MAX);
        b.send_pong(b"heartbeat").unwrap();
        deliver_at(b, a, secs(21.0));
        assert_eq!(
            a.latency(),
            None,
            "a pong with another payload measures nothing"
        );
        b.receive(&ping);
        let mut events = Vec::new();
        drain(b, &mut events);
        deliver_at(b, a, secs(22.0));
        assert_eq!(a.latency(), Some(Duration::from_secs(2)));
    });
}

#[test]
fn without_a_ping_timeout_pings_repeat_every_interval() {
    let config = Config::default().with_ping_timeout(None).unwrap();
    both_roles(config, |a, _| {
        for n in 1..=5 {
            a.handle_timeout(secs(20.0 * f64::from(n))).unwrap();
            assert_eq!(
                ping_frames(&take_output(a, usize::MAX)).len(),
                1,
                "ping {n}"
            );
        }
        assert_eq!(a.state(), State::Open);
    });
}

fn request_bytes() -> &'static [u8] {
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
      Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
      Sec-WebSocket-Version: 13\r\n\r\n"
}

#[test]
fn server_open_timeout_fires_on_a_slow_handshake_and_sends_nothing() {
    let mut server = Connection::server(Config::default());
    assert_eq!(server.poll_timeout(), Some(Timestamp::ZERO));
    server.handle_timeout(secs(1.0)).unwrap();
    assert_eq!(server.poll_timeout(), Some(secs(11.0)));
    server.receive(&request_bytes()[..20]); // a trickle, never the whole head
    server.handle_timeout(secs(10.999)).unwrap();
    assert_eq!(server.next_event(), Ok(None));
    assert_eq!(server.handle_timeout(secs(11.0)), Err(Timeout::Opening));
    assert!(server.is_closed());
    assert!(!server.wants_write());
    assert_eq!(server.handle_timeout(secs(12.0)), Ok(()));
}

#[test]
fn server_open_timeout_counts_the_application_decision_too() {
    let mut server = Connection::server(Config::default());
    server.handle_timeout(secs(0.0)).unwrap();
    server.receive(request_bytes());
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    // The application never answers.
    assert_eq!(server.handle_timeout(secs(10.0)), Err(Timeout::Opening));
    assert!(server.is_closed());
}

#[test]
fn a_handshake_in_time_stops_the_open_timer_and_starts_keepalive() {
    let mut server = Connection::server(Config::default());
    server.handle_timeout(secs(0.0)).unwrap();
    server.receive(request_bytes());
    server.handle_timeout(secs(9.0)).unwrap();
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).unwrap();
    // Keepalive counts from the last input (the request at 9 s).
    assert_eq!(server.poll_timeout(), Some(secs(29.0)));
    server.handle_timeout(secs(10.0)).unwrap();
    server.handle_timeout(secs(28.0)).unwrap();
    assert_eq!(server.state(), State::Open);
}

#[test]
fn client_open_timeout_fires_when_no_response_comes() {
    let request = ClientRequest::from_url("ws://127.0.0.1:9/").unwrap();
    let mut client = Connection::client(&request, Config::default(), counter_masks()).unwrap();
    client.handle_timeout(secs(0.0)).unwrap();
    take_output(&mut client, usize::MAX);
    client.handle_timeout(secs(9.5)).unwrap();
    assert_eq!(client.handle_timeout(secs(10.0)), Err(Timeout::Opening));
    assert!(client.is_closed());

    // With the timer off, it waits as long as it is told.
    let config = Config::default().with_open_timeout(None).unwrap();
    let mut client = Connection::client(&request, config, counter_masks()).unwrap();
    client.handle_timeout(secs(0.0)).unwrap();
    assert_eq!(client.poll_timeout(), None);
    client.handle_timeout(secs(1e6)).unwrap();
    assert_eq!(client.state(), State::Connecting);
}

#[test]
fn close_timeout_ends_an_unanswered_close() {
    both_roles(Config::default(), |a, _| {
        a.handle_timeout(secs(3.0)).unwrap();
        a.close(CloseCode::NORMAL, "bye").unwrap();
        // The timer waits to be armed: the deadline asks for the time now.
        assert_eq!(a.poll_timeout(), Some(secs(3.0)));
        a.handle_timeout(secs(4.0)).unwrap();
        assert_eq!(a.poll_timeout(), Some(secs(14.0)));
        // No keepalive while closing.
        a.handle_timeout(secs(13.9)).unwrap();
        assert_eq!(ping_frames(&take_output(a, usize::MAX)).len(), 0);
        assert_eq!(a.state(), State::Closing);
        assert_eq!(a.handle_timeout(secs(14.0)), Err(Timeout::Closing));
        assert!(a.is_closed());
        assert!(!a.wants_write(), "nothing after the close frame");
    });
}

#[test]
fn close_answered_in_time_stops_the_close_timer() {
    both_roles(Config::default(), |a, b| {
        a.close(CloseCode::NORMAL, "bye").unwrap();
        a.handle_timeout(secs(1.0)).unwrap();
        let seen = deliver_at(a, b, secs(2.0));
        assert_eq!(seen, vec![Owned::Close(1000, "bye".into())]);
        let seen = deliver_at(b, a, secs(3.0));
        assert_eq!(seen, vec![Owned::Close(1000, String::new())]);
        assert!(a.is_closed());
        assert_eq!(a.poll_timeout(), None);
        assert_eq!(a.handle_timeout(secs(11.0)), Ok(()));
    });
}

#[test]
fn without_timeouts_the_connection_never_asks_for_the_time() {
    let mut pair = started_pair(Config::default().without_timeouts());
    assert_eq!(pair.server.poll_timeout(), None);
    pair.server.handle_timeout(secs(1e6)).unwrap();
    assert!(!pair.server.wants_write());
    pair.server.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(pair.server.poll_timeout(), None);
    pair.server.handle_timeout(secs(2e6)).unwrap();
    assert_eq!(pair.server.state(), State::Closing);
}

#[test]
fn a_clock_going_backwards_counts_as_standing_still() {
    let mut pair = started_pair(Config::default());
    let a = &mut pair.server;
    a.handle_timeout(secs(15.0)).unwrap();
    a.handle_timeout(secs(2.0)).unwrap();
    assert_eq!(a.poll_timeout(), Some(secs(20.0)));
    a.handle_timeout(secs(20.0)).unwrap();
    assert_eq!(ping_frames(&take_output(a, usize::MAX)).len(), 1);
}

#[test]
fn config_rejects_zero_and_overlong_timers() {
    assert!(
        Config::default()
            .with_ping_interval(Duration::ZERO)
            .is_err()
    );
    assert!(Config::default().with_ping_timeout(Duration::ZERO).is_err());
    assert!(Config::default().with_open_timeout(Duration::ZERO).is_err());
    assert!(
        Config::default()
            .with_close_timeout(Duration::from_secs(86_401))
            .is_err()
    );
    assert!(
        Config::default()
            .with_ping_interval(Duration::from_millis(1))
            .is_ok()
    );
}

/// Feeds `wire` to a server cut at `cuts`, advancing its clock by `steps`
/// between pieces but never to a deadline; returns the events and what the
/// server wrote.
fn run_with_clock(wire: &[u8], cuts: &[usize], steps: &[u64]) -> (Vec<Owned>, Vec<u8>) {
    let mut server = Connection::open_server(Config::default());
    let mut now = Timestamp::ZERO;
    server.handle_timeout(now).unwrap();
    let mut events = Vec::new();
    let mut at = 0;
    for (i, &cut) in cuts.iter().enumerate() {
        let end = (at + cut).min(wire.len());
        if let Some(deadline) = server.poll_timeout() {
            // Advance by up to `steps[i]` ms, stopping short of the deadline.
            let room = (deadline - now).as_millis() as u64;
            let step = steps[i % steps.len()].min(room.saturating_sub(1));
            now = now + Duration::from_millis(step);
        }
        server.receive(&wire[at..end]);
        server.handle_timeout(now).unwrap();
        if drain(&mut server, &mut events) {
            break;
        }
        at = end;
        if at == wire.len() {
            break;
        }
    }
    if at < wire.len() {
        server.receive(&wire[at..]);
        drain(&mut server, &mut events);
    }
    (events, take_output(&mut server, usize::MAX))
}

proptest! {
    #![proptest_config(proptest_config(256, "proptest-regressions/tests/timers.txt"))]
    /// Any interleaving of byte splits and clock advances that passes no
    /// deadline gives the same events and output as no clock at all.
    #[test]
    fn clock_advances_short_of_deadlines_change_nothing(
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
        cuts in prop::collection::vec(1usize..200, 1..40),
        steps in prop::collection::vec(0u64..60_000, 1..40),
    ) {
        let mut client = Connection::open_client(Config::default(), counter_masks());
        for (i, m) in messages.iter().enumerate() {
            if i % 3 == 2 {
                client.send_ping(&m[..m.len().min(125)]).unwrap();
            } else {
                client.send_binary(m).unwrap();
            }
        }
        client.close(CloseCode::NORMAL, "done").unwrap();
        let wire = take_output(&mut client, usize::MAX);

        let mut plain = Connection::open_server(Config::default());
        let plain_events = feed(&mut plain, &wire, Chunking::Whole);
        let plain_output = take_output(&mut plain, usize::MAX);

        let (events, output) = run_with_clock(&wire, &cuts, &steps);
        prop_assert_eq!(events, plain_events);
        prop_assert_eq!(output, plain_output);
    }
}
