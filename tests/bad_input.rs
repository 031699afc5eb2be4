//! Table tests: bytes from a misbehaving peer => the error reported and the
//! close code written to the output. Each row is fed whole and byte by byte,
//! after a valid message that must still be delivered.

mod common;

use common::*;
use wsmachine::{Config, Connection, ProtocolError, State};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    error: ProtocolError,
    close_code: u16,
}

fn case(name: &'static str, bytes: Vec<u8>, error: ProtocolError, close_code: u16) -> Case {
    Case {
        name,
        bytes,
        error,
        close_code,
    }
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// Runs one row against a fresh connection made by `make`.
fn check(make: &dyn Fn() -> Connection, valid_first: &[u8], case: &Case) {
    for chunking in Chunking::ALL {
        let mut conn = make();
        let mut input = valid_first.to_vec();
        input.extend_from_slice(&case.bytes);
        let events = feed(&mut conn, &input, chunking);
        assert_eq!(
            events,
            vec![Owned::Text("ok".into()), Owned::Error(case.error)],
            "{} ({chunking:?})",
            case.name
        );
        assert_eq!(case.error.close_code().0, case.close_code, "{}", case.name);
        let frames = parse_frames(&take_output(&mut conn, usize::MAX));
        assert_eq!(frames.len(), 1, "{}: one close frame expected", case.name);
        assert_eq!(
            close_code_of(&frames[0]),
            Some(case.close_code),
            "{}",
            case.name
        );
        // Reported once; afterwards the connection only says it is closed.
        assert_eq!(conn.state(), State::Closed, "{}", case.name);
        conn.receive(&client_frame(0x81, b"late"));
        assert_eq!(conn.next_event(), Ok(None), "{}", case.name);
        assert!(conn.pending_output().is_empty(), "{}", case.name);
    }
}

fn server_cases() -> Vec<Case> {
    use ProtocolError::*;
    let mut cases = vec![
        case(
            "rsv1_without_extension",
            client_frame(0xC1, b"hi"),
            ReservedBits,
            1002,
        ),
        case(
            "rsv2_without_extension",
            client_frame(0xA1, b"hi"),
            ReservedBits,
            1002,
        ),
        case(
            "rsv3_without_extension",
            client_frame(0x91, b"hi"),
            ReservedBits,
            1002,
        ),
        case("rsv_on_ping", client_frame(0xC9, b""), ReservedBits, 1002),
        case(
            "fragmented_ping",
            client_frame(0x09, b""),
            FragmentedControl,
            1002,
        ),
        case(
            "fragmented_close",
            client_frame(0x08, b""),
            FragmentedControl,
            1002,
        ),
        case(
            "ping_over_125",
            client_frame(0x89, &[0; 126]),
            ControlTooLong,
            1002,
        ),
        case(
            "pong_over_125",
            client_frame(0x8A, &[0; 200]),
            ControlTooLong,
            1002,
        ),
        case(
            "close_over_125",
            client_frame(0x88, &[3; 126]),
            ControlTooLong,
            1002,
        ),
        case(
            "continuation_without_message",
            client_frame(0x80, b"x"),
            UnexpectedContinuation,
            1002,
        ),
        case(
            "text_inside_fragmented_message",
            cat(&[client_frame(0x01, b"a"), client_frame(0x81, b"b")]),
            ExpectedContinuation,
            1002,
        ),
        case(
            "binary_inside_fragmented_message",
            cat(&[client_frame(0x02, b"a"), client_frame(0x02, b"b")]),
            ExpectedContinuation,
            1002,
        ),
        case(
            "unmasked_frame_to_server",
            frame(0x81, b"hi", None),
            UnmaskedFrame,
            1002,
        ),
        case(
            "length_msb_set",
            vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            LengthMsbSet,
            1002,
        ),
        case(
            "invalid_utf8_text",
            client_frame(0x81, &[b'a', 0xFF]),
            InvalidUtf8,
            1007,
        ),
        case(
            "surrogate_in_text",
            client_frame(0x81, &[0xED, 0xA0, 0x80]),
            InvalidUtf8,
            1007,
        ),
        case(
            "truncated_utf8_at_message_end",
            client_frame(0x81, &[0xE2, 0x82]),
            InvalidUtf8,
            1007,
        ),
        case(
            "invalid_utf8_across_fragments",
            cat(&[
                client_frame(0x01, &[0xE2, 0x82]),
                client_frame(0x00, &[0x28]),
                client_frame(0x80, b"never reached"),
            ]),
            InvalidUtf8,
            1007,
        ),
        case(
            "close_with_one_byte",
            client_frame(0x88, &[0x03]),
            CloseTooShort,
            1002,
        ),
        case(
            "close_reason_not_utf8",
            client_frame(0x88, &[0x03, 0xE8, 0xFF, 0xFE]),
            InvalidUtf8,
            1007,
        ),
    ];
    for op in (3..=7).chain(0xB..=0xF) {
        cases.push(case(
            "reserved_opcode",
            client_frame(0x80 | op, b""),
            ReservedOpcode(op),
            1002,
        ));
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        cases.push(case(
            "close_code_not_allowed",
            client_frame(0x88, &payload),
            InvalidCloseCode(code),
            1002,
        ));
    }
    cases
}

#[test]
fn server_rejects_each_protocol_violation_with_its_close_code() {
    let make = || Connection::open_server(Config::default());
    let ok = client_frame(0x81, b"ok");
    for case in server_cases() {
        check(&make, &ok, &case);
    }
}

#[test]
fn client_rejects_masked_frames() {
    let make = || Connection::open_client(Config::default(), counter_masks());
    let ok = frame(0x81, b"ok", None);
    let cases = [
        case(
            "masked_frame_to_client",
            client_frame(0x81, b"hi"),
            ProtocolError::MaskedFrame,
            1002,
        ),
        case(
            "reserved_opcode_to_client",
            frame(0x83, b"", None),
            ProtocolError::ReservedOpcode(3),
            1002,
        ),
        case(
            "invalid_utf8_to_client",
            frame(0x81, &[0xC0, 0x80], None),
            ProtocolError::InvalidUtf8,
            1007,
        ),
    ];
    for case in &cases {
        // The client's close frame is masked; check via parse_frames (unmasks).
        check(&make, &ok, case);
    }
}

fn limited() -> Config {
    Config::default()
        .with_max_frame_size(100)
        .unwrap()
        .with_max_message_size(150)
        .unwrap()
        .with_max_fragments(4)
        .unwrap()
}

#[test]
fn limits_fail_with_1009() {
    use ProtocolError::*;
    let make = || Connection::open_server(limited());
    let ok = client_frame(0x81, b"ok");
    let cases = [
        // Judged from the header alone: only the header is sent here.
        case(
            "frame_over_limit",
            client_frame(0x82, &[0; 101])[..8].to_vec(),
            FrameTooLarge,
            1009,
        ),
        // The whole small frame at once (the reader's one-step path for
        // small messages must judge it the same).
        case(
            "whole_small_frame_over_limit",
            client_frame(0x82, &[0; 101]),
            FrameTooLarge,
            1009,
        ),
        case(
            "whole_16_bit_length_frame_over_limit",
            client_frame(0x82, &[0; 200]),
            FrameTooLarge,
            1009,
        ),
        case(
            "message_over_limit_across_fragments",
            cat(&[
                client_frame(0x02, &[0; 100]),
                client_frame(0x80, &[0; 51])[..8].to_vec(),
            ]),
            MessageTooLarge,
            1009,
        ),
        case(
            "too_many_fragments",
            cat(&[
                client_frame(0x01, b"a"),
                client_frame(0x00, b"b"),
                client_frame(0x00, b"c"),
                client_frame(0x00, b"d"),
                client_frame(0x80, b"e"),
            ]),
            TooManyFragments,
            1009,
        ),
    ];
    for case in &cases {
        check(&make, &ok, case);
    }
    // At the limits exactly, all is well.
    let mut conn = make();
    let input = cat(&[
        client_frame(0x02, &[1; 100]),
        client_frame(0x00, &[2; 49]),
        client_frame(0x80, &[3; 1]),
    ]);
    let events = feed(&mut conn, &input, Chunking::Whole);
    assert!(matches!(&events[..], [Owned::Binary(b)] if b.len() == 150));
}

#[test]
fn invalid_utf8_fails_fast_in_the_middle_of_a_frame() {
    // A 1000-byte text frame whose 11th byte is impossible: the error comes
    // as soon as that byte arrives, long before the frame is complete.
    let mut payload = vec![b'a'; 1000];
    payload[10] = 0xFF;
    let bytes = client_frame(0x81, &payload);
    let mut conn = Connection::open_server(Config::default());
    conn.receive(&bytes[..8 + 10]);
    assert_eq!(conn.next_event(), Ok(None));
    conn.receive(&bytes[18..19]);
    assert_eq!(conn.next_event(), Err(ProtocolError::InvalidUtf8));
    let frames = parse_frames(conn.pending_output());
    assert_eq!(close_code_of(&frames[0]), Some(1007));
}

#[test]
fn invalid_utf8_fails_fast_within_a_character() {
    // F4 90 can never start valid UTF-8 (above U+10FFFF): fail at the 90.
    let bytes = client_frame(0x81, &[b'x', 0xF4, 0x90, 0x80, 0x80, b'y']);
    let mut conn = Connection::open_server(Config::default());
    conn.receive(&bytes[..6 + 2]);
    assert_eq!(conn.next_event(), Ok(None));
    conn.receive(&bytes[8..9]);
    assert_eq!(conn.next_event(), Err(ProtocolError::InvalidUtf8));
}

#[test]
fn eof_without_close_is_1006_after_complete_messages() {
    let mut conn = Connection::open_server(Config::default());
    let mut bytes = client_frame(0x81, b"first");
    bytes.extend_from_slice(&client_frame(0x81, b"partial")[..5]);
    conn.receive(&bytes);
    conn.receive_eof();
    assert_eq!(
        conn.next_event().unwrap().map(|e| Owned::from_event(&e)),
        Some(Owned::Text("first".into()))
    );
    let error = conn.next_event().unwrap_err();
    assert_eq!(error, ProtocolError::AbnormalClosure);
    assert_eq!(error.close_code().0, 1006);
    // 1006 is never sent on the wire.
    assert!(conn.pending_output().is_empty());
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.next_event(), Ok(None));
}

#[test]
fn every_proper_prefix_of_a_valid_stream_needs_more() {
    let mut stream = client_frame(0x81, "héllo".as_bytes());
    stream.extend_from_slice(&client_frame(0x02, &[7; 300]));
    stream.extend_from_slice(&client_frame(0x89, b"p"));
    stream.extend_from_slice(&client_frame(0x80, &[8; 70_000]));
    for cut in (0..stream.len()).step_by(997).chain([1, 2, 3, 13, 14, 15]) {
        let mut conn = Connection::open_server(Config::default());
        conn.receive(&stream[..cut]);
        let mut events = Vec::new();
        assert!(
            !drain(&mut conn, &mut events),
            "prefix {cut} gave an error: {events:?}"
        );
        assert_eq!(conn.state(), State::Open);
    }
}
