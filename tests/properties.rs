//! Property tests over whole connections.

mod common;

use common::*;
use proptest::prelude::*;
use wsmachine::{CloseCode, Config, Connection, MessageKind};

/// One thing an application can do on the sending side.
#[derive(Clone, Debug)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
    /// A message in fragments (split points into the payload).
    Fragmented(bool, Vec<u8>, Vec<usize>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        ".{0,40}".prop_map(Op::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Op::Binary),
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(any::<usize>(), 0..5)
        )
            .prop_map(|(text, data, cuts)| Op::Fragmented(text, data, cuts)),
        proptest::collection::vec(any::<u8>(), 0..126).prop_map(Op::Ping),
        proptest::collection::vec(any::<u8>(), 0..126).prop_map(Op::Pong),
    ]
}

/// Applies `ops` to `conn` and returns the events the peer should see.
fn apply(conn: &mut Connection, ops: &[Op]) -> Vec<Owned> {
    let mut expected = Vec::new();
    for op in ops {
        match op {
            Op::Text(t) => {
                conn.send_text(t).unwrap();
                expected.push(Owned::Text(t.clone()));
            }
            Op::Binary(b) => {
                conn.send_binary(b).unwrap();
                expected.push(Owned::Binary(b.clone()));
            }
            Op::Fragmented(text, data, cuts) => {
                // Text fragments are cut on character boundaries of a lossy string.
                let (kind, data) = if *text {
                    let s = String::from_utf8_lossy(data).into_owned();
                    (MessageKind::Text, s.into_bytes())
                } else {
                    (MessageKind::Binary, data.clone())
                };
                let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
                points.sort_unstable();
                let mut at = 0;
                for p in points {
                    conn.send_fragment(kind, &data[at..p], false).unwrap();
                    // Control frames may sit between fragments.
                    conn.send_ping(b"between").unwrap();
                    expected.push(Owned::Ping(b"between".to_vec()));
                    at = p;
                }
                conn.send_fragment(kind, &data[at..], true).unwrap();
                expected.push(match kind {
                    MessageKind::Text => Owned::Text(String::from_utf8(data).unwrap()),
                    MessageKind::Binary => Owned::Binary(data),
                });
            }
            Op::Ping(p) => {
                conn.send_ping(p).unwrap();
                expected.push(Owned::Ping(p.clone()));
            }
            Op::Pong(p) => {
                conn.send_pong(p).unwrap();
                expected.push(Owned::Pong(p.clone()));
            }
        }
    }
    expected
}

fn chunking() -> impl Strategy<Value = Chunking> {
    prop_oneof![
        Just(Chunking::Whole),
        Just(Chunking::ByteByByte),
        any::<u64>().prop_map(Chunking::Random),
    ]
}

proptest! {
    #![proptest_config(proptest_config(256, "proptest-regressions/tests/properties.txt"))]

    /// (2) Any sequence of sends arrives as the same messages on the other
    /// side, both directions, under any chunking, with fragments and
    /// interleaved control frames; then a close handshake completes.
    #[test]
    fn sends_arrive_intact(ops in proptest::collection::vec(op(), 0..12), chunking in chunking(), from_client in any::<bool>()) {
        let mut pair = Pair::new(chunking);
        let (a, b) = if from_client { (&mut pair.client, &mut pair.server) } else { (&mut pair.server, &mut pair.client) };
        let mut expected = apply(a, &ops);
        a.close(CloseCode::NORMAL, "bye").unwrap();
        expected.push(Owned::Close(1000, "bye".into()));
        let bytes = take_output(a, 11);
        let got = feed(b, &bytes, chunking);
        prop_assert_eq!(got, expected);
        prop_assert!(b.is_closed());
    }

    /// (1) Any split of a valid stream gives identical events.
    #[test]
    fn split_invariance(ops in proptest::collection::vec(op(), 1..10), cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
        let mut client = Connection::open_client(Config::default(), counter_masks());
        apply(&mut client, &ops);
        let bytes = take_output(&mut client, usize::MAX);
        let whole = feed(&mut Connection::open_server(Config::default()), &bytes, Chunking::Whole);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        let mut server = Connection::open_server(Config::default());
        let mut events = Vec::new();
        let mut at = 0;
        for p in points {
            server.receive(&bytes[at..p]);
            at = p;
            drain(&mut server, &mut events);
        }
        prop_assert_eq!(events, whole);
    }

    /// (1b) Reading through a lent input buffer (`swap_input_buffer` before
    /// a read, again after its events) gives the events of any other split,
    /// whatever the buffer's size and stale contents and whichever reads
    /// borrow it; the caller always gets its own allocation back.
    #[test]
    fn lent_input_buffers_give_identical_events(
        ops in proptest::collection::vec(op(), 1..10),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        lend in proptest::collection::vec(any::<bool>(), 0..21),
        room in 0usize..300,
        stale in any::<u8>(),
    ) {
        let mut client = Connection::open_client(Config::default(), counter_masks());
        apply(&mut client, &ops);
        let bytes = take_output(&mut client, usize::MAX);
        let whole = feed(&mut Connection::open_server(Config::default()), &bytes, Chunking::Whole);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        let mut server = Connection::open_server(Config::default());
        let mut shared = vec![stale; room];
        let mut events = Vec::new();
        let mut at = 0;
        for (i, p) in points.into_iter().enumerate() {
            let lent = lend.get(i).copied().unwrap_or(true);
            let ours = shared.as_ptr();
            if lent {
                server.swap_input_buffer(&mut shared);
            }
            let piece = &bytes[at..p];
            server.read_buf(piece.len())[..piece.len()].copy_from_slice(piece);
            server.filled(piece.len());
            at = p;
            drain(&mut server, &mut events);
            if lent {
                server.swap_input_buffer(&mut shared);
                // The same allocation unless reading had to grow it.
                prop_assert!(shared.as_ptr() == ours || shared.len() > room);
            }
        }
        prop_assert_eq!(server.buffered_input_len(), 0);
        prop_assert_eq!(events, whole);
    }

    /// (6) Arbitrary bytes never panic, never yield a message over the
    /// limits, and the memory held stays bounded by the configuration.
    #[test]
    fn arbitrary_bytes_are_safe(
        garbage in proptest::collection::vec(any::<u8>(), 0..2000),
        prefix in proptest::collection::vec(op(), 0..3),
        server_role in any::<bool>(),
        chunk in 1usize..300,
    ) {
        let config = Config::default()
            .with_max_frame_size(256).unwrap()
            .with_max_message_size(512).unwrap()
            .with_max_fragments(8).unwrap();
        let mut peer = if server_role {
            Connection::open_client(Config::default(), counter_masks())
        } else {
            Connection::open_server(Config::default())
        };
        apply(&mut peer, &prefix);
        let mut input = take_output(&mut peer, usize::MAX);
        input.extend_from_slice(&garbage);
        let mut conn = if server_role {
            Connection::open_server(config.clone())
        } else {
            Connection::open_client(config.clone(), counter_masks())
        };
        let bound = 2 * (256 + 14 + chunk) + 2 * 512 + 4096;
        for piece in input.chunks(chunk) {
            conn.receive(piece);
            loop {
                match conn.next_event() {
                    Ok(Some(wsmachine::Event::Message(m))) => prop_assert!(m.as_bytes().len() <= 512),
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            prop_assert!(conn.memory_usage() <= bound, "{} > {}", conn.memory_usage(), bound);
        }
        conn.receive_eof();
        while let Ok(Some(_)) = conn.next_event() {}
        prop_assert!(conn.is_closed());
    }
}
