//! permessage-deflate (RFC 7692) through whole connections.
#![cfg(feature = "deflate")]

mod common;

use common::*;
use proptest::prelude::*;
use wsmachine::deflate::{CompressorMemory, DeflateConfig};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Connection, Event, MessageKind, ProtocolError,
};

/// A client and a server that completed the handshake with these configs.
fn connected(client_cfg: Config, server_cfg: Config) -> (Connection, Connection) {
    let req = ClientRequest::from_url("ws://127.0.0.1:1/").unwrap();
    let mut client = Connection::client(&req, client_cfg, counter_masks()).unwrap();
    let mut server = Connection::server(server_cfg);
    server.receive(&take_output(&mut client, usize::MAX));
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).unwrap();
    client.receive(&take_output(&mut server, usize::MAX));
    assert!(matches!(client.next_event(), Ok(Some(Event::Connected(_)))));
    (client, server)
}

fn json_like(i: usize) -> String {
    format!(
        r#"{{"id":{i},"user":"user{}","text":"the quick brown fox jumps over the lazy dog","tags":["a","b","c"],"ok":true}}"#,
        i % 7
    )
}

#[test]
fn negotiated_by_default_and_compressing_both_ways() {
    let (mut client, mut server) = connected(Config::default(), Config::default());
    assert!(client.deflate_params().is_some());
    assert!(server.deflate_params().is_some());
    for chunking in Chunking::ALL {
        for flip in [false, true] {
            let (a, b) = if flip {
                (&mut server, &mut client)
            } else {
                (&mut client, &mut server)
            };
            let text = json_like(1).repeat(20);
            a.send_text(&text).unwrap();
            a.send_ping(b"control frames are never compressed").unwrap();
            a.send_binary(b"tiny").unwrap(); // under the threshold: sent plain
            let wire = take_output(a, usize::MAX);
            let frames = parse_frames(&wire);
            assert_eq!(
                frames[0].0,
                0x80 | 0x40 | 0x1,
                "RSV1 on a compressed text frame"
            );
            assert!(
                frames[0].1.len() < text.len() / 4,
                "compressed {} of {}",
                frames[0].1.len(),
                text.len()
            );
            assert_eq!(frames[1].0, 0x89);
            assert_eq!(frames[2], (0x82, b"tiny".to_vec()));
            let events = feed(b, &wire, chunking);
            assert_eq!(
                events,
                vec![
                    Owned::Text(text),
                    Owned::Ping(b"control frames are never compressed".to_vec()),
                    Owned::Binary(b"tiny".to_vec())
                ]
            );
            take_output(b, usize::MAX); // the pong
        }
    }
}

/// Sends `text` from `a` to `b` and back, and delivers both.
fn exchange(a: &mut Connection, b: &mut Connection, text: &str) {
    for flip in [false, true] {
        let (x, y) = if flip {
            (&mut *b, &mut *a)
        } else {
            (&mut *a, &mut *b)
        };
        x.send_text(text).unwrap();
        let events = feed(y, &take_output(x, usize::MAX), Chunking::Whole);
        assert_eq!(events, vec![Owned::Text(text.to_string())]);
    }
}

#[test]
fn memory_usage_counts_codec_state_and_fits_64_kib_with_context_takeover() {
    let (mut client, mut server) = connected(Config::default(), Config::default());
    let before = server.memory_usage();
    exchange(&mut client, &mut server, &json_like(3).repeat(30));
    // Compressor (8 KiB window, 4,096 hash entries) and inflater (miniz_oxide,
    // 32 KiB window) are both in use now and counted.
    let after = server.memory_usage();
    assert!(
        after - before > 16 * 1024 + 40 * 1024,
        "{before} -> {after}"
    );
    // With the buffers a 3 KiB exchange leaves, still within 64 KiB.
    assert!(after <= 64 * 1024, "{after} bytes with context takeover");
    // Each preset adds what its compressor holds.
    for memory in CompressorMemory::ALL {
        let config = Config::default().with_deflate(DeflateConfig::default().with_memory(memory));
        let (mut client, mut server) = connected(Config::default(), config);
        exchange(&mut client, &mut server, &json_like(3).repeat(30));
        let window = 1usize << memory.window_bits();
        let codec = server.memory_usage() - before;
        assert!(
            codec >= 2 * window + 40 * 1024 && codec < 2 * window + 48 * 1024,
            "{memory:?}: {codec}"
        );
    }
}

#[test]
fn idle_connections_without_context_takeover_hold_no_codec_state() {
    let no_takeover = DeflateConfig::default()
        .with_server_no_context_takeover(true)
        .with_client_no_context_takeover(true);
    // The same exchanges with context takeover, for the buffers they leave.
    let (mut c0, mut takeover) = connected(Config::default(), Config::default());
    for config in [
        no_takeover.clone().with_shared_state(true),
        no_takeover.clone().with_release_idle_memory(true),
    ] {
        let server_cfg = Config::default().with_deflate(config.clone());
        let (mut client, mut server) = connected(Config::default(), server_cfg);
        let params = server.deflate_params().copied().unwrap();
        assert!(params.client.no_context_takeover && params.server.no_context_takeover);
        for i in 0..5 {
            let text = json_like(i).repeat(30);
            exchange(&mut client, &mut server, &text);
            exchange(&mut c0, &mut takeover, &text);
            // Idle, this connection holds its buffers and no codec state:
            // the compressor (16 KiB) and inflater (42 KiB) that the
            // connection with context takeover keeps are not here.
            let (idle, kept) = (server.memory_usage(), takeover.memory_usage());
            assert!(
                idle + 16 * 1024 + 40 * 1024 <= kept,
                "{config:?}: {idle} against {kept}"
            );
            assert!(idle <= 8 * 1024, "buffers of a 3 KiB exchange: {idle}");
        }
    }
}

#[test]
fn context_takeover_shrinks_repeated_messages() {
    let (mut client, _server) = connected(Config::default(), Config::default());
    let msg = json_like(3).repeat(3);
    client.send_text(&msg).unwrap();
    let first = take_output(&mut client, usize::MAX).len();
    client.send_text(&msg).unwrap();
    let second = take_output(&mut client, usize::MAX).len();
    assert!(second < first / 2, "second {second} vs first {first}");

    let no_takeover = Config::default()
        .with_deflate(DeflateConfig::default().with_client_no_context_takeover(true));
    let (mut client, mut server) = connected(no_takeover, Config::default());
    assert!(server.deflate_params().unwrap().client.no_context_takeover);
    client.send_text(&msg).unwrap();
    let first = take_output(&mut client, usize::MAX);
    client.send_text(&msg).unwrap();
    let second = take_output(&mut client, usize::MAX);
    // Same message, fresh context: no reuse of the first one (within a
    // byte of block framing).
    assert!(
        second.len() + 2 >= first.len(),
        "{} vs {}",
        second.len(),
        first.len()
    );
    let mut wire = first;
    wire.extend_from_slice(&second);
    assert_eq!(
        feed(&mut server, &wire, Chunking::ByteByByte),
        vec![Owned::Text(msg.clone()), Owned::Text(msg)]
    );
}

#[test]
fn fragmented_compressed_messages_both_ways() {
    let (mut client, mut server) = connected(Config::default(), Config::default());
    for flip in [false, true] {
        let (a, b) = if flip {
            (&mut server, &mut client)
        } else {
            (&mut client, &mut server)
        };
        let body = json_like(9).repeat(50);
        let bytes = body.as_bytes();
        a.send_fragment(MessageKind::Text, &bytes[..1000], false)
            .unwrap();
        a.send_ping(b"between").unwrap();
        a.send_fragment(MessageKind::Text, &bytes[1000..3000], false)
            .unwrap();
        a.send_fragment(MessageKind::Text, &bytes[3000..], true)
            .unwrap();
        let wire = take_output(a, usize::MAX);
        let frames = parse_frames(&wire);
        assert_eq!(frames[0].0 & 0x40, 0x40, "RSV1 on the first frame");
        assert!(
            frames[1..].iter().all(|f| f.0 & 0x40 == 0),
            "and only there"
        );
        let events = feed(b, &wire, Chunking::Random(5));
        assert_eq!(
            events,
            vec![Owned::Ping(b"between".to_vec()), Owned::Text(body)]
        );
        take_output(b, usize::MAX);
    }
}

#[test]
fn chrome_offer_is_accepted() {
    let request =
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let mut server = Connection::server(Config::default());
    server.receive(request);
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new()).unwrap();
    let response = String::from_utf8(take_output(&mut server, usize::MAX)).unwrap();
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions: permessage-deflate"),
        "{response}"
    );
    // ... and can be declined per connection.
    let mut server = Connection::server(Config::default());
    server.receive(request);
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server.accept(Accept::new().without_compression()).unwrap();
    let response = String::from_utf8(take_output(&mut server, usize::MAX)).unwrap();
    assert!(
        !response
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions")
    );
    assert!(server.deflate_params().is_none());
}

#[test]
fn disabled_config_neither_offers_nor_accepts() {
    let off = Config::default().with_deflate(DeflateConfig::default().with_enabled(false));
    let (client, server) = connected(off.clone(), Config::default());
    assert!(client.deflate_params().is_none() && server.deflate_params().is_none());
    let (client, server) = connected(Config::default(), off);
    assert!(client.deflate_params().is_none() && server.deflate_params().is_none());
}

/// Raw DEFLATE of `data` with the empty-block tail removed, via our own client.
fn compressed_frame_from_client(data: &[u8]) -> Vec<u8> {
    let best = Config::default().with_deflate(DeflateConfig::default().with_level(9).unwrap());
    let (mut client, _server) = connected(best, Config::default());
    client.send_binary(data).unwrap();
    take_output(&mut client, usize::MAX)
}

#[test]
fn a_small_frame_that_inflates_past_the_limit_fails_with_1009() {
    let limit = 1 << 20;
    let cfg = Config::default().with_max_message_size(limit).unwrap();
    // 64 MiB of zeros compresses to ~64 KiB; the frame is far under the limit.
    let bomb = compressed_frame_from_client(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let (_client, mut server) = connected(Config::default(), cfg);
    let events = feed(&mut server, &bomb, Chunking::Whole);
    assert_eq!(events, vec![Owned::Error(ProtocolError::MessageTooLarge)]);
    let frames = parse_frames(&take_output(&mut server, usize::MAX));
    assert_eq!(close_code_of(frames.last().unwrap()), Some(1009));
    // Memory stayed near the limit, not near 64 MiB.
    assert!(
        server.memory_usage() < 4 * limit + (256 << 10),
        "{}",
        server.memory_usage()
    );
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let (_client, mut server) = connected(Config::default(), Config::default());
    // RSV1 + binary, payload 0xFF...: BTYPE 11 is reserved, invalid DEFLATE.
    let events = feed(
        &mut server,
        &client_frame(0xC2, &[0xFF; 10]),
        Chunking::Whole,
    );
    assert_eq!(
        events,
        vec![Owned::Error(ProtocolError::InvalidCompressedData)]
    );
    let frames = parse_frames(&take_output(&mut server, usize::MAX));
    assert_eq!(close_code_of(frames.last().unwrap()), Some(1007));
}

#[test]
fn rsv1_where_it_means_nothing_is_a_protocol_error() {
    for bytes in [
        [client_frame(0x01, b"a"), client_frame(0xC0, b"b")].concat(), // on a continuation
        client_frame(0xC9, b""),                                       // on a ping
    ] {
        let (_client, mut server) = connected(Config::default(), Config::default());
        let events = feed(&mut server, &bytes, Chunking::Whole);
        assert_eq!(events, vec![Owned::Error(ProtocolError::ReservedBits)]);
    }
}

#[test]
fn client_fails_on_an_unacceptable_extension_response() {
    let req = ClientRequest::from_url("ws://h/").unwrap();
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    let request = String::from_utf8(take_output(&mut client, usize::MAX)).unwrap();
    let key_line = request
        .lines()
        .find(|l| l.starts_with("Sec-WebSocket-Key: "))
        .unwrap();
    let accept = wsmachine::handshake::accept_key(key_line[19..].trim().as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=20\r\n\r\n"
    );
    client.receive(response.as_bytes());
    assert_eq!(
        client.next_event(),
        Err(ProtocolError::BadExtensionResponse)
    );
    let frames = parse_frames(&take_output(&mut client, usize::MAX));
    assert_eq!(close_code_of(frames.last().unwrap()), Some(1002));
}

fn deflate_config() -> impl Strategy<Value = DeflateConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        8u8..=15,
        8u8..=15,
        0usize..200,
    )
        .prop_map(|(cnc, snc, cw, sw, threshold)| {
            DeflateConfig::default()
                .with_client_no_context_takeover(cnc)
                .with_server_no_context_takeover(snc)
                .with_client_max_window_bits(cw)
                .unwrap()
                .with_server_max_window_bits(sw)
                .unwrap()
                .with_threshold(threshold)
        })
}

proptest! {
    #![proptest_config(proptest_config(64, "proptest-regressions/tests/deflate.txt"))]
    /// Round trip of message sequences with every parameter combination and
    /// random chunking: what one side compresses inflates back exactly.
    #[test]
    fn round_trip_every_parameter_combination(
        client_cfg in deflate_config(),
        server_cfg in deflate_config(),
        messages in proptest::collection::vec(("[a-z{}\":, ]{0,300}", any::<bool>()), 1..8),
        seed in any::<u64>(),
    ) {
        let (mut client, mut server) = connected(
            Config::default().with_deflate(client_cfg),
            Config::default().with_deflate(server_cfg),
        );
        prop_assert!(client.deflate_params().is_some());
        for flip in [false, true] {
            let (a, b) = if flip { (&mut server, &mut client) } else { (&mut client, &mut server) };
            let mut expected = Vec::new();
            for (text, fragmented) in &messages {
                let text = text.repeat(3);
                if *fragmented && text.len() > 2 {
                    let mid = text.len() / 2;
                    a.send_fragment(MessageKind::Text, &text.as_bytes()[..mid], false).unwrap();
                    a.send_fragment(MessageKind::Text, &text.as_bytes()[mid..], true).unwrap();
                } else {
                    a.send_text(&text).unwrap();
                }
                expected.push(Owned::Text(text));
            }
            let wire = take_output(a, usize::MAX);
            prop_assert_eq!(feed(b, &wire, Chunking::Random(seed)), expected);
        }
        client.close(CloseCode::NORMAL, "").unwrap();
    }
}
