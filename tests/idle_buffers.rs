//! `Connection::release_idle_buffers`: drained buffers are freed, pending
//! input and output are not, and the events are the same as without it.

mod common;

use common::*;
use wsmachine::{Accept, ClientRequest, Config, Connection, Event, MessageKind};

fn connected() -> (Connection, Connection) {
    let req = ClientRequest::from_url("ws://127.0.0.1:1/").unwrap();
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    let mut server = Connection::server(Config::default());
    server.receive(&take_output(&mut client, usize::MAX));
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new().without_compression()).unwrap();
    client.receive(&take_output(&mut server, usize::MAX));
    assert!(matches!(client.next_event(), Ok(Some(Event::Connected(_)))));
    (client, server)
}

/// Feeds `bytes` in pieces, releasing idle buffers after every piece and
/// every event.
fn feed_releasing(conn: &mut Connection, bytes: &[u8], piece: usize) -> Vec<Owned> {
    let mut events = Vec::new();
    for chunk in bytes.chunks(piece) {
        conn.receive(chunk);
        conn.release_idle_buffers();
        loop {
            let event = conn.next_event().unwrap().map(|e| Owned::from_event(&e));
            conn.release_idle_buffers();
            match event {
                Some(e) => events.push(e),
                None => break,
            }
        }
    }
    events
}

#[test]
fn drained_connections_hold_nothing_and_pending_data_survives() {
    let (mut client, mut server) = connected();
    // The handshake left buffers behind; released, nothing is held.
    assert!(server.memory_usage() > 0);
    server.release_idle_buffers();
    assert_eq!(server.memory_usage(), 0);

    // A whole message, a fragmented one with a ping between fragments, and
    // a big one, cut at every size: releasing between pieces loses nothing.
    client.send_text("hello").unwrap();
    client
        .send_fragment(MessageKind::Binary, b"part 1, ", false)
        .unwrap();
    client.send_ping(b"between").unwrap();
    client
        .send_fragment(MessageKind::Binary, b"part 2", true)
        .unwrap();
    let big = "x".repeat(100_000);
    client.send_text(&big).unwrap();
    let wire = take_output(&mut client, usize::MAX);
    let expected = vec![
        Owned::Text("hello".into()),
        Owned::Ping(b"between".to_vec()),
        Owned::Binary(b"part 1, part 2".to_vec()),
        Owned::Text(big),
    ];
    for piece in [1, 3, 7, 100, 4096, wire.len()] {
        let (mut c, mut s) = connected();
        let _ = &mut c;
        assert_eq!(
            feed_releasing(&mut s, &wire, piece),
            expected,
            "pieces of {piece}"
        );
        // The pong is owed and unwritten: releasing keeps it.
        s.release_idle_buffers();
        assert!(!s.pending_output().is_empty());
        let _ = take_output(&mut s, usize::MAX);
        s.release_idle_buffers();
        assert_eq!(s.memory_usage(), 0, "pieces of {piece}");
    }
}
