//! Two connections talking through memory: every behaviour in both directions
//! and under every chunking policy.

mod common;

use common::*;
use wsmachine::{CloseCode, Config, Connection, Event, MessageKind, State, UsageError};

/// Sends from `a` to `b` and returns what `b` saw.
fn pass(a: &mut Connection, b: &mut Connection, chunking: Chunking) -> Vec<Owned> {
    let bytes = take_output(a, 5);
    feed(b, &bytes, chunking)
}

fn for_each_direction(mut test: impl FnMut(&mut Connection, &mut Connection, Chunking)) {
    for chunking in Chunking::ALL {
        let mut pair = Pair::new(chunking);
        test(&mut pair.client, &mut pair.server, chunking);
        let mut pair = Pair::new(chunking);
        test(&mut pair.server, &mut pair.client, chunking);
    }
}

#[test]
fn messages_of_every_size_arrive_intact() {
    for_each_direction(|a, b, chunking| {
        let sizes = [0usize, 1, 125, 126, 127, 65535, 65536, 70_000];
        for &size in &sizes {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            a.send_binary(&data).unwrap();
            assert_eq!(pass(a, b, chunking), vec![Owned::Binary(data)], "{size}");
        }
        a.send_text("héllo wörld €𝄞").unwrap();
        assert_eq!(
            pass(a, b, chunking),
            vec![Owned::Text("héllo wörld €𝄞".into())]
        );
    });
}

#[test]
fn fragmented_messages_with_interleaved_control_frames() {
    for_each_direction(|a, b, chunking| {
        let text = "€uro and 𝄞 clef".as_bytes();
        // Split inside multi-byte characters on purpose.
        a.send_fragment(MessageKind::Text, &text[..1], false)
            .unwrap();
        a.send_ping(b"mid").unwrap();
        a.send_fragment(MessageKind::Text, &text[1..12], false)
            .unwrap();
        a.send_pong(b"unsolicited").unwrap();
        a.send_fragment(MessageKind::Text, &text[12..], true)
            .unwrap();
        a.send_fragment(MessageKind::Binary, b"ab", false).unwrap();
        a.send_fragment(MessageKind::Binary, b"", false).unwrap();
        a.send_fragment(MessageKind::Binary, b"cd", true).unwrap();
        let events = pass(a, b, chunking);
        assert_eq!(
            events,
            vec![
                Owned::Ping(b"mid".to_vec()),
                Owned::Pong(b"unsolicited".to_vec()),
                Owned::Text("€uro and 𝄞 clef".into()),
                Owned::Binary(b"abcd".to_vec()),
            ]
        );
        // The auto-pong for "mid" went back.
        assert_eq!(pass(b, a, chunking), vec![Owned::Pong(b"mid".to_vec())]);
    });
}

#[test]
fn fragment_usage_errors() {
    let mut pair = Pair::new(Chunking::Whole);
    let c = &mut pair.client;
    assert_eq!(
        c.send_fragment(MessageKind::Text, &[0xFF], false),
        Err(UsageError::InvalidUtf8)
    );
    c.send_fragment(MessageKind::Text, &[0xE2], false).unwrap();
    assert_eq!(c.send_text("x"), Err(UsageError::MessageInProgress));
    assert_eq!(
        c.send_fragment(MessageKind::Binary, b"x", true),
        Err(UsageError::NoMessageInProgress)
    );
    // Ending the text inside a character is refused.
    assert_eq!(
        c.send_fragment(MessageKind::Text, &[0x82], true),
        Err(UsageError::InvalidUtf8)
    );
    c.send_fragment(MessageKind::Text, &[0x82, 0xAC], true)
        .unwrap();
    assert_eq!(pair.deliver_to_server(), vec![Owned::Text("€".into())]);
}

#[test]
fn auto_pong_answers_and_can_be_turned_off() {
    for_each_direction(|a, b, chunking| {
        a.send_ping(b"are you there").unwrap();
        assert_eq!(
            pass(a, b, chunking),
            vec![Owned::Ping(b"are you there".to_vec())]
        );
        assert_eq!(
            pass(b, a, chunking),
            vec![Owned::Pong(b"are you there".to_vec())]
        );
    });
    let config = Config::default().with_auto_pong(false);
    let mut pair = Pair::with_config(config, Chunking::Whole);
    pair.client.send_ping(b"x").unwrap();
    assert_eq!(pair.deliver_to_server(), vec![Owned::Ping(b"x".to_vec())]);
    assert!(pair.server.pending_output().is_empty());
}

#[test]
fn ping_flood_keeps_only_the_latest_owed_pong() {
    let mut server = Connection::open_server(Config::default());
    // The peer never reads: a million pings must not grow our output without bound.
    let ping = client_frame(0x89, &[0xAB; 125]);
    for i in 0..20_000u32 {
        let mut p = ping.clone();
        if i == 19_999 {
            p = client_frame(0x89, b"last");
        }
        server.receive(&p);
        while server.next_event().unwrap().is_some() {}
    }
    let pending = server.pending_output().len();
    assert!(pending < 16 * 1024 + 200, "output grew to {pending}");
    // Once the output drains, the pong for the latest ping follows.
    let all = take_output(&mut server, usize::MAX);
    let frames = parse_frames(&all);
    assert_eq!(frames.last().unwrap(), &(0x8A, b"last".to_vec()));
}

#[test]
fn close_handshake_initiated_by_either_side() {
    for_each_direction(|a, b, chunking| {
        a.send_text("before close").unwrap();
        a.close(CloseCode::NORMAL, "done").unwrap();
        assert_eq!(a.state(), State::Closing);
        assert_eq!(a.send_text("after"), Err(UsageError::Closed));
        assert_eq!(a.send_ping(b""), Err(UsageError::Closed));
        // b still sends a message before it sees the close: a receives it.
        b.send_text("crossing").unwrap();
        let seen_by_b = pass(a, b, chunking);
        assert_eq!(
            seen_by_b,
            vec![
                Owned::Text("before close".into()),
                Owned::Close(1000, "done".into())
            ]
        );
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.send_text("x"), Err(UsageError::Closed));
        let seen_by_a = pass(b, a, chunking);
        assert_eq!(
            seen_by_a,
            vec![
                Owned::Text("crossing".into()),
                Owned::Close(1000, String::new())
            ]
        );
        assert_eq!(a.state(), State::Closed);
        assert!(a.pending_output().is_empty(), "no reply to the reply");
    });
}

#[test]
fn empty_close_is_answered_with_empty_close() {
    let mut server = Connection::open_server(Config::default());
    let events = feed(&mut server, &client_frame(0x88, b""), Chunking::Whole);
    assert_eq!(events, vec![Owned::Close(1005, String::new())]);
    assert_eq!(parse_frames(server.pending_output()), vec![(0x88, vec![])]);
}

#[test]
fn close_usage_errors() {
    let mut pair = Pair::new(Chunking::Whole);
    for code in [1005u16, 1006, 1015, 999, 2000, 5000] {
        assert_eq!(
            pair.client.close(CloseCode(code), ""),
            Err(UsageError::InvalidCloseCode(code))
        );
    }
    assert_eq!(
        pair.client.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(UsageError::CloseReasonTooLong)
    );
    assert_eq!(
        pair.client.send_ping(&[0; 126]),
        Err(UsageError::ControlTooLong)
    );
    assert_eq!(
        pair.client.send_pong(&[0; 126]),
        Err(UsageError::ControlTooLong)
    );
    pair.client
        .close(CloseCode(4000), &"x".repeat(123))
        .unwrap();
    assert_eq!(
        pair.client.close(CloseCode::NORMAL, ""),
        Err(UsageError::Closed)
    );
    assert_eq!(
        pair.deliver_to_server(),
        vec![Owned::Close(4000, "x".repeat(123))]
    );
}

#[test]
fn nothing_after_a_close_frame_is_processed() {
    let mut server = Connection::open_server(Config::default());
    let mut bytes = client_frame(0x88, &[0x03, 0xE8]);
    bytes.extend_from_slice(&client_frame(0x81, b"after close"));
    bytes.extend_from_slice(&[0xFF; 1000]); // garbage
    let events = feed(&mut server, &bytes, Chunking::Whole);
    assert_eq!(events, vec![Owned::Close(1000, String::new())]);
    server.receive(&[0xFF; 1 << 16]);
    assert_eq!(server.next_event(), Ok(None));
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut client = Connection::open_client(Config::default(), counter_masks());
    client.send_text("hello").unwrap();
    client.send_text("hello").unwrap();
    let out = take_output(&mut client, usize::MAX);
    let (first, second) = out.split_at(out.len() / 2);
    assert_ne!(first, second, "same payload, different keys");
    assert!(first[1] & 0x80 != 0 && second[1] & 0x80 != 0);
    assert_eq!(
        parse_frames(&out),
        vec![(0x81, b"hello".to_vec()), (0x81, b"hello".to_vec())]
    );
    // The server never masks.
    let mut server = Connection::open_server(Config::default());
    server.send_text("hi").unwrap();
    assert_eq!(server.pending_output(), [0x81, 0x02, b'h', b'i']);
}

#[test]
fn echo_loop_with_the_sender_half() {
    let mut pair = Pair::new(Chunking::Random(7));
    pair.client.send_text("one").unwrap();
    pair.client.send_binary(&[1, 2, 3]).unwrap();
    let bytes = take_output(&mut pair.client, usize::MAX);
    pair.server.receive(&bytes);
    while let Some((event, sender)) = pair.server.next_event_with_sender().unwrap() {
        if let Event::Message(message) = event {
            sender.send(message).unwrap();
        }
    }
    assert_eq!(
        pair.deliver_to_client(),
        vec![Owned::Text("one".into()), Owned::Binary(vec![1, 2, 3])]
    );
}

#[test]
fn read_buf_and_filled_equal_receive() {
    let bytes = [
        client_frame(0x81, b"direct"),
        client_frame(0x82, &[9; 5000]),
    ]
    .concat();
    let mut conn = Connection::open_server(Config::default());
    let mut events = Vec::new();
    for piece in bytes.chunks(1000) {
        let buf = conn.read_buf(piece.len());
        buf[..piece.len()].copy_from_slice(piece);
        conn.filled(piece.len());
        drain(&mut conn, &mut events);
    }
    assert_eq!(
        events,
        vec![Owned::Text("direct".into()), Owned::Binary(vec![9; 5000])]
    );
}

/// Where the next `read_buf` starts, from the start of the previous one.
fn next_read_offset(conn: &mut Connection, read: &[u8]) -> (usize, Vec<Owned>) {
    let first = conn.read_buf(64 * 1024);
    let at = first.as_ptr() as usize;
    first[..read.len()].copy_from_slice(read);
    conn.filled(read.len());
    let mut events = Vec::new();
    drain(conn, &mut events);
    let next = conn.read_buf(64 * 1024).as_ptr() as usize;
    (next - at, events)
}

#[test]
fn a_small_partial_frame_moves_to_the_front_so_the_next_read_lands_where_the_last_did() {
    // Three whole 1 KiB frames and the first 200 bytes of a fourth: the 200
    // bytes move to the front, and the next read goes right after them
    // (the cache lines the last read wrote), not 3,296 bytes further on.
    let frames = [
        client_frame(0x82, &[1; 1024]),
        client_frame(0x82, &[2; 1024]),
    ]
    .concat();
    let wire = [frames.clone(), client_frame(0x82, &[3; 1024])].concat();
    let read = [&wire[..], &client_frame(0x82, &[4; 1024])[..200]].concat();
    let mut conn = Connection::open_server(Config::default());
    let (offset, events) = next_read_offset(&mut conn, &read);
    assert_eq!(offset, 200);
    assert_eq!(events.len(), 3);
    // The rest of the fourth frame completes it where it now is.
    let rest = &client_frame(0x82, &[4; 1024])[200..];
    let buf = conn.read_buf(rest.len());
    buf[..rest.len()].copy_from_slice(rest);
    conn.filled(rest.len());
    let mut events = Vec::new();
    drain(&mut conn, &mut events);
    assert_eq!(events, vec![Owned::Binary(vec![4; 1024])]);

    // A large partial frame stays where it is: moving it would cost more
    // than the cache misses it saves.
    let mut conn = Connection::open_server(Config::default());
    let big = client_frame(0x82, &[5; 20_000]);
    let read = [&frames[..], &big[..10_000]].concat();
    let (offset, events) = next_read_offset(&mut conn, &read);
    assert_eq!(offset, read.len());
    assert_eq!(events.len(), 2);
}

#[test]
fn partial_writes_in_any_size_deliver_the_same_bytes() {
    let mut whole = Connection::open_server(Config::default());
    let mut piecewise = Connection::open_server(Config::default());
    for conn in [&mut whole, &mut piecewise] {
        conn.send_binary(&[5; 3000]).unwrap();
        conn.send_text("tail").unwrap();
    }
    let a = take_output(&mut whole, usize::MAX);
    let b = take_output(&mut piecewise, 3);
    assert_eq!(a, b);
    assert!(!piecewise.wants_write());
}

/// `Sender::send_in_place`: the caller writes the returned head and then its
/// own buffer; a client's buffer is masked in place, a server's left alone.
fn send_in_place_and_pass(
    a: &mut Connection,
    b: &mut Connection,
    chunking: Chunking,
    kind: MessageKind,
    data: &[u8],
) -> Vec<Owned> {
    let mut buf = data.to_vec();
    let head = a.sender().send_in_place(kind, &mut buf).unwrap();
    let mut wire = take_output(a, 5);
    wire.extend_from_slice(head.as_bytes());
    wire.extend_from_slice(&buf);
    let masked = a.role() == wsmachine::Role::Client;
    if masked && data.len() >= 8 {
        assert_ne!(buf, data, "a client's payload is masked in its buffer");
    } else if !masked {
        assert_eq!(buf, data, "a server's payload is left as it was");
    }
    feed(b, &wire, chunking)
}

#[test]
fn send_in_place_arrives_intact_from_either_side() {
    for_each_direction(|a, b, chunking| {
        for size in [0usize, 1, 7, 125, 126, 65535, 65536, 70_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 13 + size) as u8).collect();
            let seen = send_in_place_and_pass(a, b, chunking, MessageKind::Binary, &data);
            assert_eq!(seen, vec![Owned::Binary(data)], "{size}");
        }
        let text = "héllo wörld €𝄞, masked in place";
        let seen = send_in_place_and_pass(a, b, chunking, MessageKind::Text, text.as_bytes());
        assert_eq!(seen, vec![Owned::Text(text.into())]);
        // Ordinary sends before and after keep their order on the wire.
        a.send_text("before").unwrap();
        let seen = send_in_place_and_pass(a, b, chunking, MessageKind::Binary, b"in place");
        assert_eq!(
            seen,
            vec![
                Owned::Text("before".into()),
                Owned::Binary(b"in place".to_vec())
            ]
        );
    });
}

#[test]
fn send_in_place_refuses_what_send_refuses_and_leaves_the_buffer() {
    let mut pair = Pair::new(Chunking::Whole);
    let client = &mut pair.client;
    let mut bad = vec![b'a', 0xC0, 0x80, b'z'];
    assert_eq!(
        client
            .sender()
            .send_in_place(MessageKind::Text, &mut bad)
            .unwrap_err(),
        UsageError::InvalidUtf8
    );
    assert_eq!(bad, [b'a', 0xC0, 0x80, b'z'], "nothing masked");
    client
        .send_fragment(MessageKind::Binary, b"first", false)
        .unwrap();
    let mut buf = b"whole".to_vec();
    assert_eq!(
        client
            .sender()
            .send_in_place(MessageKind::Binary, &mut buf)
            .unwrap_err(),
        UsageError::MessageInProgress
    );
    assert_eq!(buf, b"whole");
    client
        .send_fragment(MessageKind::Binary, b"", true)
        .unwrap();
    client.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(
        client
            .sender()
            .send_in_place(MessageKind::Binary, &mut buf)
            .unwrap_err(),
        UsageError::Closed
    );
}

#[test]
fn a_server_frame_of_any_length_has_the_header_the_general_encoder_gives() {
    use wsmachine::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
    // Small unmasked frames take a shorter path than the rest; every
    // length around its edge (125/126) must come out as the encoder says.
    for len in [0usize, 1, 20, 124, 125, 126, 127, 300, 65_535, 65_536] {
        for text in [false, true] {
            let payload = vec![b'a'; len];
            let mut server = Connection::open_server(Config::default());
            if text {
                server
                    .send_text(core::str::from_utf8(&payload).unwrap())
                    .unwrap();
            } else {
                server.send_binary(&payload).unwrap();
            }
            let header = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: if text { OpCode::Text } else { OpCode::Binary },
                mask: None,
                payload_len: len as u64,
            };
            let mut head = [0u8; MAX_HEADER_LEN];
            let head_len = header.encode(&mut head);
            let mut expected = head[..head_len].to_vec();
            expected.extend_from_slice(&payload);
            assert_eq!(
                server.pending_output(),
                expected,
                "length {len}, text {text}"
            );
        }
    }
}
