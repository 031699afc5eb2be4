//! The resource budget: every limit the engine enforces, attacked. Each test
//! sends the attack, checks the answer (close code or HTTP status) and that
//! `memory_usage()` stays bounded while it happens. The README's "Security"
//! section lists these tests line by line.

mod common;

use std::time::{Duration, Instant};

use common::*;
use wsmachine::handshake::HandshakeError;
use wsmachine::{Accept, Config, Connection, Event, ProtocolError, State};

const REQUEST_LINE: &[u8] = b"GET /chat HTTP/1.1\r\n";
const VALID_HEADERS: &[u8] = b"Host: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn request(extra_headers: &[u8]) -> Vec<u8> {
    [REQUEST_LINE, VALID_HEADERS, extra_headers, b"\r\n"].concat()
}

/// Drains events; returns the error that ended them, if any.
fn pump(conn: &mut Connection) -> Option<ProtocolError> {
    loop {
        match conn.next_event() {
            Ok(Some(Event::Handshake(_))) => conn.accept(Accept::new()).unwrap(),
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

/// The HTTP status of the response at the start of `out`.
fn status_of(out: &[u8]) -> u16 {
    assert!(
        out.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(out)
    );
    std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap()
}

/// The only frame in `out`, which must be a close frame: its code.
fn only_close_code(out: &[u8]) -> u16 {
    let frames = parse_frames(out);
    assert_eq!(frames.len(), 1, "{frames:x?}");
    close_code_of(&frames[0]).unwrap()
}

/// A server that completed the handshake and wrote its 101 away.
fn open_server(config: Config) -> Connection {
    let mut server = Connection::server(config);
    server.receive(&request(b""));
    assert_eq!(pump(&mut server), None);
    assert_eq!(server.state(), State::Open);
    let n = server.pending_output().len();
    server.advance_output(n);
    server
}

// ---- the opening handshake ----

/// Slowloris on the handshake: a head that never ends, one byte at a time.
/// At `max_handshake_bytes` the server answers 431, having held no more than
/// the limit, in time linear in the bytes (a rescan per byte would be
/// quadratic: minutes instead of milliseconds at this size).
#[test]
fn slow_handshake_byte_by_byte_gets_431_in_linear_time() {
    let limit = 256 * 1024;
    let config = Config::default().with_max_handshake_bytes(limit).unwrap();
    let mut server = Connection::server(config);
    let mut input = REQUEST_LINE.to_vec();
    while input.len() < limit + 100 {
        input.extend_from_slice(b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let started = Instant::now();
    let mut fed = 0;
    let mut error = None;
    for byte in &input {
        server.receive(std::slice::from_ref(byte));
        fed += 1;
        error = pump(&mut server);
        assert!(
            server.memory_usage() <= 2 * limit + 64,
            "{}",
            server.memory_usage()
        );
        if error.is_some() {
            break;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(
        error,
        Some(ProtocolError::Handshake(HandshakeError::TooLarge))
    );
    assert_eq!(error.unwrap().http_status(), Some(431));
    assert_eq!(fed, limit, "refused as soon as the limit was reached");
    assert_eq!(status_of(server.pending_output()), 431);
    assert_eq!(server.state(), State::Closed);
    assert!(
        elapsed < Duration::from_secs(20),
        "{limit} bytes one at a time took {elapsed:?}: not linear"
    );
}

/// The same with the default limit (8 KiB): 431 at byte 8,192.
#[test]
fn default_handshake_limit_is_8_kib() {
    let mut server = Connection::server(Config::default());
    let mut input = REQUEST_LINE.to_vec();
    input.resize(10_000, b'a');
    let mut fed = 0;
    for chunk in input.chunks(100) {
        server.receive(chunk);
        fed += chunk.len();
        if let Some(error) = pump(&mut server) {
            assert_eq!(error.http_status(), Some(431));
            break;
        }
    }
    assert_eq!(fed, 8200, "the chunk that crossed 8,192 bytes");
    assert_eq!(status_of(server.pending_output()), 431);
}

/// Header-count flood: more header lines than `max_headers` (default 64)
/// within the byte limit gets 431, whether the lines are 65 or 100,000.
#[test]
fn header_count_flood_gets_431() {
    for (config, count) in [
        (Config::default(), 65),
        (
            Config::default()
                .with_max_handshake_bytes(1 << 20)
                .unwrap()
                .with_max_headers(1024)
                .unwrap(),
            100_000,
        ),
    ] {
        let max = config.max_headers();
        let mut extra = Vec::new();
        for i in 0..count - 5 {
            extra.extend_from_slice(format!("a{i}:b\r\n").as_bytes());
        }
        let input = request(&extra);
        let input = &input[..input.len().min(config.max_handshake_bytes())];
        let mut server = Connection::server(config);
        let mut error = None;
        for chunk in input.chunks(4096) {
            server.receive(chunk);
            error = pump(&mut server);
            if error.is_some() {
                break;
            }
        }
        let error = error.expect("refused");
        assert!(
            matches!(
                error,
                ProtocolError::Handshake(HandshakeError::TooManyHeaders | HandshakeError::TooLarge)
            ),
            "{error:?}"
        );
        assert_eq!(error.http_status(), Some(431));
        assert_eq!(status_of(server.pending_output()), 431);
        // The header table is sized by the limit, not by the flood.
        assert!(server.memory_usage() <= 2 * (1 << 20) + 64 * 1024, "{max}");
    }
    // Exactly the limit is fine.
    let mut extra = Vec::new();
    for i in 0..64 - 5 {
        extra.extend_from_slice(format!("a{i}:b\r\n").as_bytes());
    }
    let mut server = Connection::server(Config::default());
    server.receive(&request(&extra));
    assert_eq!(pump(&mut server), None);
    assert_eq!(server.state(), State::Open);
}

/// Cross-site WebSocket hijacking: a browser page from another origin gets
/// 403 under the default policy.
#[test]
fn foreign_origin_gets_403() {
    let mut server = Connection::server(Config::default());
    server.receive(&request(b"Origin: https://evil.example\r\n"));
    let error = pump(&mut server).expect("refused");
    assert_eq!(
        error,
        ProtocolError::Handshake(HandshakeError::OriginNotAllowed)
    );
    assert_eq!(status_of(server.pending_output()), 403);
    assert!(server.memory_usage() <= 4096);
}

// ---- frames ----

/// A header announcing a 2^63-1 byte frame: 1009 from the 14 header bytes
/// alone; nothing of the payload is waited for or buffered.
#[test]
fn huge_length_header_gets_1009_from_the_header_alone() {
    for config in [
        Config::default(),
        Config::default().with_max_frame_size(1000).unwrap(),
    ] {
        let over = config.max_frame_size() as u64 + 1;
        for len in [over, u64::MAX >> 1] {
            let mut server = open_server(config.clone());
            let mut header = vec![0x82, 0xFF];
            header.extend_from_slice(&len.to_be_bytes());
            header.extend_from_slice(&KEY);
            server.receive(&header);
            assert_eq!(pump(&mut server), Some(ProtocolError::FrameTooLarge));
            assert_eq!(only_close_code(server.pending_output()), 1009);
            assert!(
                server.memory_usage() <= 1024,
                "{} bytes held",
                server.memory_usage()
            );
        }
    }
}

/// A single data frame over `max_message_size` (but within the frame limit)
/// is refused from its header too.
#[test]
fn message_over_the_limit_gets_1009_from_the_header() {
    let config = Config::default()
        .with_max_message_size(1 << 20)
        .unwrap()
        .with_max_frame_size(4 << 20)
        .unwrap();
    let mut server = open_server(config);
    let mut header = vec![0x82, 0xFF];
    header.extend_from_slice(&((1u64 << 20) + 1).to_be_bytes());
    header.extend_from_slice(&KEY);
    server.receive(&header);
    assert_eq!(pump(&mut server), Some(ProtocolError::MessageTooLarge));
    assert_eq!(only_close_code(server.pending_output()), 1009);
    assert!(server.memory_usage() <= 1024);
}

/// A fragmented message whose fragments add up past `max_message_size`: 1009
/// at the header of the fragment that crosses it; the reassembly buffer never
/// holds more than the limit.
#[test]
fn fragments_past_the_message_limit_get_1009() {
    let limit = 64 * 1024;
    let config = Config::default().with_max_message_size(limit).unwrap();
    let mut server = open_server(config);
    server.receive(&client_frame(0x02, &[7; 1000]));
    assert_eq!(pump(&mut server), None);
    let mut received = 1000;
    let error = loop {
        server.receive(&client_frame(0x00, &[7; 1000]));
        if let Some(e) = pump(&mut server) {
            break e;
        }
        received += 1000;
        assert!(server.memory_usage() <= 2 * limit + 2 * 1024 + 64);
    };
    assert_eq!(error, ProtocolError::MessageTooLarge);
    assert_eq!(
        received,
        limit / 1000 * 1000,
        "refused at the crossing fragment"
    );
    assert_eq!(only_close_code(server.pending_output()), 1009);
}

/// Millions of 1-byte fragments: 1009 at fragment `max_fragments` + 1
/// (default 131,072), with memory bounded by the reassembly of that many
/// bytes; the millions that follow are ignored.
#[test]
fn millions_of_one_byte_fragments_get_1009_at_max_fragments() {
    let config = Config::default();
    let max = config.max_fragments();
    assert_eq!(max, 131_072);
    let mut server = open_server(config);
    let first = client_frame(0x02, b"x");
    let next = client_frame(0x00, b"x");
    let batch: Vec<u8> = next.repeat(1000);
    server.receive(&first);
    assert_eq!(pump(&mut server), None);
    let mut sent = 1;
    let mut error = None;
    let mut held_after_error = None;
    while sent < 2_000_000 {
        server.receive(&batch);
        sent += 1000;
        if error.is_none() {
            error = pump(&mut server);
            if error.is_some() {
                held_after_error = Some(server.memory_usage());
            }
        } else {
            assert_eq!(server.next_event(), Ok(None));
            assert_eq!(Some(server.memory_usage()), held_after_error, "ignored");
        }
        assert!(
            server.memory_usage() <= 2 * max + 2 * batch.len() + 1024,
            "{} bytes held",
            server.memory_usage()
        );
    }
    assert_eq!(error, Some(ProtocolError::TooManyFragments));
    assert_eq!(only_close_code(server.pending_output()), 1009);
    assert_eq!(server.state(), State::Closed);
}

/// The exact fragment count: `max_fragments` frames pass, one more fails.
#[test]
fn max_fragments_is_exact() {
    for (max, frames, ok) in [(1, 1, true), (1, 2, false), (5, 5, true), (5, 6, false)] {
        let config = Config::default().with_max_fragments(max).unwrap();
        let mut server = open_server(config);
        let mut input = Vec::new();
        for i in 0..frames {
            let b0 = if i == 0 { 0x02 } else { 0x00 } | if i + 1 == frames { 0x80 } else { 0 };
            input.extend_from_slice(&client_frame(b0, b"ab"));
        }
        let events = feed(&mut server, &input, Chunking::Whole);
        if ok {
            assert_eq!(events, vec![Owned::Binary(b"ab".repeat(frames))]);
        } else {
            assert_eq!(events, vec![Owned::Error(ProtocolError::TooManyFragments)]);
            assert_eq!(only_close_code(server.pending_output()), 1009);
        }
    }
}

/// A ping flood from a peer that never reads its socket: every ping is
/// reported, but the output stops growing at the 16 KiB high-water mark
/// (only the pong for the latest ping stays owed), and once the peer reads,
/// that pong goes out.
#[test]
fn ping_flood_from_a_peer_that_never_reads_keeps_output_bounded() {
    let mut server = open_server(Config::default());
    let batch: Vec<u8> = (0..100u8)
        .flat_map(|i| client_frame(0x89, &[i; 125]))
        .collect();
    let mut pings = 0;
    for _ in 0..2_000 {
        server.receive(&batch);
        loop {
            match server.next_event() {
                Ok(Some(Event::Ping(_))) => pings += 1,
                Ok(None) => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(server.pending_output().len() <= 16 * 1024 + 127);
        assert!(
            server.memory_usage() <= 2 * (16 * 1024 + 127) + 2 * batch.len() + 1024,
            "{} bytes held",
            server.memory_usage()
        );
    }
    assert_eq!(pings, 200_000);
    // The peer finally reads: the backlog, then the one owed pong.
    let backlog = server.pending_output().len();
    server.advance_output(backlog);
    let owed = parse_frames(server.pending_output());
    assert_eq!(owed, vec![(0x8A, vec![99; 125])], "the latest ping's pong");
}

/// The owed-pong slot: held only from a ping until the connection is idle
/// again, and the same slot for every ping of a flood (memory does not
/// grow with their number while the output is backed up).
#[test]
fn pong_slot_is_kept_through_a_flood_and_freed_when_idle() {
    let mut server = open_server(Config::default());
    server.release_idle_buffers();
    assert_eq!(server.memory_usage(), 0);
    // Back the output up so that pongs stay owed, then flood.
    server.send_binary(&[7; 20 * 1024]).unwrap();
    let mut held = None;
    for i in 0..1_000u32 {
        server.receive(&client_frame(0x89, &i.to_be_bytes()));
        assert!(matches!(server.next_event(), Ok(Some(Event::Ping(_)))));
        assert_eq!(server.next_event(), Ok(None));
        server.release_idle_buffers(); // the owed pong is kept
        let now = server.memory_usage();
        assert!(
            *held.get_or_insert(now) == now,
            "{now} bytes after ping {i}"
        );
    }
    let backlog = server.pending_output().len();
    server.advance_output(backlog);
    let owed = parse_frames(server.pending_output());
    assert_eq!(owed, vec![(0x8A, 999u32.to_be_bytes().to_vec())]);
    let n = server.pending_output().len();
    server.advance_output(n);
    // Nothing owed and nothing pending: an idle connection holds nothing.
    server.release_idle_buffers();
    assert_eq!(server.memory_usage(), 0);
}

/// Bytes pipelined after the peer's close frame are never interpreted, and
/// whatever arrives afterwards is dropped without being buffered.
#[test]
fn pipelined_garbage_after_a_close_is_ignored() {
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7919 % 251) as u8).collect();
    // In the same read as the close frame.
    let mut server = open_server(Config::default());
    let mut input = client_frame(0x88, &1000u16.to_be_bytes());
    input.extend_from_slice(&client_frame(0x81, b"after close"));
    input.extend_from_slice(&garbage);
    server.receive(&input);
    assert!(matches!(server.next_event(), Ok(Some(Event::Close(_)))));
    assert_eq!(server.next_event(), Ok(None));
    assert_eq!(server.state(), State::Closed);
    assert_eq!(only_close_code(server.pending_output()), 1000);
    let held = server.memory_usage();
    // And in later reads: nothing more is held.
    for _ in 0..1000 {
        server.receive(&garbage);
        assert_eq!(server.next_event(), Ok(None));
    }
    assert_eq!(
        server.memory_usage(),
        held,
        "garbage after the close was buffered"
    );
    assert_eq!(only_close_code(server.pending_output()), 1000);
    // Same after a protocol error.
    let mut server = open_server(Config::default());
    server.receive(&client_frame(0x83, b"reserved opcode"));
    assert_eq!(pump(&mut server), Some(ProtocolError::ReservedOpcode(3)));
    let held = server.memory_usage();
    for _ in 0..1000 {
        server.receive(&garbage);
        assert_eq!(server.next_event(), Ok(None));
    }
    assert_eq!(server.memory_usage(), held);
}

/// One big message does not pin its memory: the input and output buffers
/// past 64 KiB are released once they empty.
#[test]
fn big_buffers_are_released_once_empty() {
    let config = Config::default();
    let mut server = open_server(config);
    let message = vec![b'z'; 4 << 20];
    server.receive(&client_frame(0x82, &message));
    match server.next_event() {
        Ok(Some(Event::Message(m))) => assert_eq!(m.as_bytes().len(), 4 << 20),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.next_event(), Ok(None));
    assert!(
        server.memory_usage() <= 64 * 1024,
        "{}",
        server.memory_usage()
    );
    server.send_binary(&message).unwrap();
    let n = server.pending_output().len();
    server.advance_output(n);
    assert!(
        server.memory_usage() <= 64 * 1024,
        "{}",
        server.memory_usage()
    );
}

/// permessage-deflate bomb: a few kilobytes that inflate to 16 MiB stop
/// at the caller's limit with `TooLarge` (1009), having allocated about the
/// limit, not the bomb.
#[cfg(feature = "deflate")]
#[test]
fn inflate_bomb_stops_at_the_limit() {
    use wsmachine::deflate::{Compressor, Decompressor, DeflateConfig, DeflateError, Direction};
    let direction = Direction {
        max_window_bits: 15,
        no_context_takeover: false,
    };
    let config = DeflateConfig::default();
    let mut bomb = Vec::new();
    let mut tx = Compressor::new(direction, &config);
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        tx.compress_fragment(&zeros, &mut bomb);
    }
    tx.finish_message(&mut bomb);
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    let limit = 1 << 20;
    let mut rx = Decompressor::new(direction, &config);
    let mut out = Vec::new();
    assert_eq!(
        rx.decompress_message(&bomb, &mut out, limit),
        Err(DeflateError::TooLarge)
    );
    assert_eq!(DeflateError::TooLarge.close_code(), 1009);
    assert!(out.len() <= limit);
    assert!(
        out.capacity() <= 2 * limit + 64 * 1024,
        "{}",
        out.capacity()
    );
}

/// The same bomb through a `Connection` that negotiated permessage-deflate:
/// a 16 MiB message of zeros compressed to a few kilobytes fails with 1009
/// at the message limit (1 MiB here) while it inflates; the reassembly
/// buffer never holds much more than the limit.
#[cfg(feature = "deflate")]
#[test]
fn compressed_bomb_through_a_connection_gets_1009() {
    use wsmachine::{ClientRequest, OriginPolicy};
    let limit = 1 << 20;
    // The attacker compresses as hard as it can (level 9).
    let best = wsmachine::deflate::DeflateConfig::default()
        .with_level(9)
        .unwrap();
    let mut client = Connection::client(
        &ClientRequest::new("example.com", "/"),
        Config::default().with_deflate(best),
        counter_masks(),
    )
    .unwrap();
    let mut server = Connection::server(
        Config::default()
            .with_max_message_size(limit)
            .unwrap()
            .with_origin_policy(OriginPolicy::Any),
    );
    server.receive(&take_output(&mut client, usize::MAX));
    assert_eq!(pump(&mut server), None);
    client.receive(&take_output(&mut server, usize::MAX));
    assert_eq!(pump(&mut client), None);
    assert!(client.deflate_params().is_some() && server.deflate_params().is_some());
    client.send_binary(&vec![0u8; 16 << 20]).unwrap();
    let bomb = take_output(&mut client, usize::MAX);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    server.receive(&bomb);
    assert_eq!(pump(&mut server), Some(ProtocolError::MessageTooLarge));
    assert_eq!(only_close_code(server.pending_output()), 1009);
    assert!(
        server.memory_usage() <= 2 * limit + 2 * bomb.len() + 64 * 1024,
        "{} bytes held",
        server.memory_usage()
    );
}
