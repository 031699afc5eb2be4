//! Fuzz target: inflating arbitrary compressed payloads under the message limit.

#[allow(unused_imports)]
use super::*;

/// Target `inflate`: a [`Decompressor`](crate::deflate::Decompressor) fed
/// arbitrary compressed messages, frame by frame, under a message limit.
///
/// Input: one byte of switches (window, context takeover, memory policy,
/// mode), a big-endian `u16` limit (plus one), then frames, each a
/// big-endian `u16` whose top bit ends the message and whose low 15 bits are
/// the length of the payload that follows.
///
/// With bit 6 of the switches set, the frames go to a server [`Connection`]
/// that negotiated permessage-deflate (the window, context takeover and
/// memory policy from the switches, the limit as its `max_message_size`),
/// as masked frames of compressed messages (RSV1 on each first frame; bit 5
/// picks text or binary; bit 7 cuts the stream in small chunks): checked
/// like [`server_stream`], and the only errors allowed are 1009 (too large
/// once inflated), 1007 (corrupt data or text that is not UTF-8) and 1006.
///
/// In the raw mode the frames are arbitrary compressed data: the output
/// never exceeds the limit (nor its buffer about twice the limit), and after
/// an error the decompressor stays failed. In the round-trip mode the frames
/// are plaintext fragments, compressed by a
/// [`Compressor`](crate::deflate::Compressor) and inflated again: they must
/// come back unchanged (bytes 1 and 2 then pick the compression level, the
/// memory preset and, with bit 7 of byte 2, the per-thread shared state).
#[cfg(feature = "deflate")]
pub fn inflate(data: &[u8]) {
    use crate::deflate::{Compressor, Decompressor, DeflateConfig, DeflateError, Direction};

    let b = |i: usize| data.get(i).copied().unwrap_or(0);
    let switches = b(0);
    let direction = Direction {
        max_window_bits: 8 + (switches & 7),
        no_context_takeover: switches & 8 != 0,
    };
    let config = DeflateConfig::default().with_release_idle_memory(switches & 16 != 0);
    let max_total = usize::from(u16::from_be_bytes([b(1), b(2)])) + 1;
    let messages = split_messages(data.get(3..).unwrap_or_default());
    if switches & 64 != 0 {
        return inflate_connection(switches, max_total, &messages);
    }
    let mut rx = Decompressor::new(direction, &config);
    if switches & 32 == 0 {
        let mut failed = false;
        for frames in messages {
            let mut out = Vec::new();
            let mut result = Ok(());
            for frame in &frames {
                result = result.and_then(|()| rx.decompress(frame, &mut out, max_total));
            }
            result = result.and_then(|()| rx.finish_message(&mut out, max_total));
            assert!(out.len() <= max_total, "{} > limit {max_total}", out.len());
            assert!(
                out.capacity() <= 2 * (max_total + 1) + 256,
                "inflate buffer {} for a limit of {max_total}",
                out.capacity()
            );
            if failed {
                assert_eq!(result, Err(DeflateError::Corrupt), "used after an error");
            }
            failed |= result.is_err();
        }
    } else {
        // Bytes 1 and 2 (the limit in the other mode) pick the level, the
        // memory preset and the per-thread shared state here.
        let presets = crate::deflate::CompressorMemory::ALL;
        let config = config
            .with_level(1 + b(1) % 9)
            .expect("1..=9")
            .with_memory(presets[usize::from(b(2)) % presets.len()])
            .with_shared_state(b(2) & 128 != 0);
        let mut tx = Compressor::new(direction, &config);
        for fragments in messages {
            let plain: Vec<u8> = fragments.concat();
            let limit = plain.len().max(1);
            let mut out = Vec::new();
            for (i, fragment) in fragments.iter().enumerate() {
                let mut frame = Vec::new();
                tx.compress_fragment(fragment, &mut frame);
                if i + 1 == fragments.len() {
                    tx.finish_message(&mut frame);
                }
                rx.decompress(&frame, &mut out, limit)
                    .expect("our own data inflates");
            }
            rx.finish_message(&mut out, limit)
                .expect("our own data inflates");
            assert_eq!(out, plain, "round trip");
        }
    }
}

/// The `inflate` target's connection mode.
#[cfg(feature = "deflate")]
fn inflate_connection(switches: u8, max_total: usize, messages: &[Vec<&[u8]>]) {
    use crate::deflate::DeflateConfig;

    let mut offer = String::from("permessage-deflate");
    if switches & 8 != 0 {
        offer.push_str("; client_no_context_takeover");
    }
    let bits = 8 + (switches & 7);
    if bits > 8 {
        offer.push_str("; client_max_window_bits=");
        offer.push_str(&bits.to_string());
    }
    let mut stream = Vec::from(
        &b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: "[..],
    );
    stream.extend_from_slice(offer.as_bytes());
    stream.extend_from_slice(b"\r\n\r\n");
    let opcode = if switches & 32 != 0 { 0x1 } else { 0x2 };
    let key = [0x5A, 0xA5, 0x3C, 0xC3];
    for frames in messages {
        for (i, payload) in frames.iter().enumerate() {
            let fin = if i + 1 == frames.len() { 0x80 } else { 0 };
            let first = if i == 0 { 0x40 | opcode } else { 0 };
            let header = FrameHeader {
                fin: fin != 0,
                rsv: (first >> 4) & 7,
                opcode: OpCode::from_u8(first & 0xF).expect("data opcode"),
                mask: Some(key),
                payload_len: payload.len() as u64,
            };
            let mut head = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut head);
            stream.extend_from_slice(&head[..n]);
            let at = stream.len();
            stream.extend_from_slice(payload);
            crate::frame::apply_mask(&mut stream[at..], key, 0);
        }
    }
    let config = Config::default()
        .with_max_message_size(max_total)
        .and_then(|c| c.with_max_frame_size(1 << 15))
        .expect("limits in range")
        .with_origin_policy(OriginPolicy::Any)
        .with_deflate(DeflateConfig::default().with_release_idle_memory(switches & 16 != 0));
    let params = StreamParams {
        config,
        max_chunk: if switches & 128 != 0 { 64 } else { 1 << 16 },
        seed: u32::try_from(max_total).unwrap_or(1) | 1,
        drain_output: true,
        valid_response: false,
        deflate_response: false,
    };
    let mut conn = Connection::server(params.config.clone());
    let mut seen = Seen::default();
    let wire = run_stream(&mut conn, &params, &stream, &mut seen);
    assert!(
        conn.deflate_params().is_some(),
        "a valid offer was declined: {offer}"
    );
    assert!(
        matches!(
            seen.error,
            None | Some(
                ProtocolError::AbnormalClosure
                    | ProtocolError::MessageTooLarge
                    | ProtocolError::InvalidCompressedData
                    | ProtocolError::InvalidUtf8
            )
        ),
        "{seen:?}"
    );
    let head_end = find_head_end(&wire).expect("a 101");
    assert!(wire.starts_with(b"HTTP/1.1 101 "));
    check_frames(&wire[head_end..], false, &seen);
}

/// Splits `data` into messages of frames: each frame a big-endian `u16`
/// (top bit: last frame of its message; low 15 bits: length) and its bytes.
/// A message the input ends inside still counts, with the frames it has.
#[cfg(feature = "deflate")]
fn split_messages(mut data: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut messages = Vec::new();
    let mut frames = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let word = u16::from_be_bytes([*hi, *lo]);
        let len = usize::from(word & 0x7FFF).min(rest.len());
        frames.push(&rest[..len]);
        data = &rest[len..];
        if word & 0x8000 != 0 {
            messages.push(core::mem::take(&mut frames));
        }
    }
    if !frames.is_empty() {
        messages.push(frames);
    }
    messages
}
