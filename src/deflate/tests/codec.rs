//! Compressor and Decompressor: RFC 7692 examples, round trips over every
//! parameter, fragments, limits and bad data.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::reference::Reference;
use crate::deflate::{Compressor, Decompressor, DeflateConfig, DeflateError, Direction};

const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn dir(max_window_bits: u8, no_context_takeover: bool) -> Direction {
    Direction {
        max_window_bits,
        no_context_takeover,
    }
}

fn pair(bits: u8, nct: bool, config: &DeflateConfig) -> (Compressor, Decompressor) {
    (
        Compressor::new(dir(bits, nct), config),
        Decompressor::new(dir(bits, nct), config),
    )
}

fn inflate(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, DeflateError> {
    let mut out = Vec::new();
    d.decompress_message(payload, &mut out, 1 << 24)?;
    Ok(out)
}

/// Text-like data: words from a small vocabulary picked by an LCG.
fn text(len: usize, seed: u32) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "{\"id\":",
        "\"name\":",
        "alpha",
        "beta",
        "gamma",
        " ",
        ",",
        "}",
        "\"value\":",
        "1234",
        "true",
        "delta-epsilon",
    ];
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut v = Vec::with_capacity(len + 16);
    while v.len() < len {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        v.extend_from_slice(WORDS[(state >> 16) as usize % WORDS.len()].as_bytes());
        if state.is_multiple_of(7) {
            v.push((state >> 8) as u8);
        }
    }
    v.truncate(len);
    v
}

#[test]
fn rfc_7692_7_2_3_1_hello() {
    let config = DeflateConfig::default();
    let (mut c, mut d) = pair(15, false, &config);
    assert_eq!(inflate(&mut d, &HELLO).unwrap(), b"Hello");
    let mut out = Vec::new();
    c.compress(b"Hello", &mut out);
    assert_eq!(out, HELLO);
}

#[test]
fn rfc_7692_7_2_3_2_shared_window() {
    let (_, mut d) = pair(15, false, &DeflateConfig::default());
    assert_eq!(inflate(&mut d, &HELLO).unwrap(), b"Hello");
    assert_eq!(
        inflate(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        b"Hello"
    );
    // And our compressor refers back the same way, at every level: the second
    // "Hello" is one match (length 5, distance 5) and the end of block, in a
    // fixed-Huffman block: 3 + 7 + 5 + 1 + 7 bits, then the empty stored
    // block's 3-bit header and padding, 4 octets (the RFC's zlib output
    // spends 5 on the same match).
    for level in 1..=9 {
        let config = DeflateConfig::default().with_level(level).unwrap();
        let (mut c, mut d) = pair(15, false, &config);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        c.compress(b"Hello", &mut first);
        c.compress(b"Hello", &mut second);
        assert_eq!(second, [0x02, 0x13, 0x00, 0x00], "level {level}");
        assert_eq!(inflate(&mut d, &first).unwrap(), b"Hello");
        assert_eq!(inflate(&mut d, &second).unwrap(), b"Hello");
    }
}

#[test]
fn rfc_7692_7_2_3_3_to_5_other_encodings() {
    let config = DeflateConfig::default();
    // 7.2.3.3: a stored block.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    // 7.2.3.4: a block with BFINAL set, then one padding octet.
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    // 7.2.3.5: two blocks in one message.
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    for payload in [&stored[..], &bfinal, &two] {
        let (_, mut d) = pair(15, false, &config);
        assert_eq!(inflate(&mut d, payload).unwrap(), b"Hello");
        // The next message decodes too (after BFINAL, as a new stream).
        assert_eq!(inflate(&mut d, &HELLO).unwrap(), b"Hello");
    }
}

#[test]
fn empty_messages() {
    let (mut c, mut d) = pair(15, false, &DeflateConfig::default());
    let mut out = Vec::new();
    c.compress(b"", &mut out);
    // RFC 7692 7.2.3.6: an empty message is the single octet 0x00.
    assert_eq!(out, [0x00]);
    assert_eq!(inflate(&mut d, &[0x00]).unwrap(), b"");
    // An empty payload (not valid output of any compressor) is an empty
    // message too, and does not disturb the stream.
    assert_eq!(inflate(&mut d, &[]).unwrap(), b"");
    assert_eq!(inflate(&mut d, &HELLO).unwrap(), b"Hello");
}

#[test]
fn round_trip_every_window_and_takeover() {
    let sizes = [
        0usize, 1, 5, 100, 300, 1000, 4096, 20_000, 70_000, 300, 300, 1000,
    ];
    for release in [false, true] {
        let config = DeflateConfig::default().with_release_idle_memory(release);
        for bits in 8..=15u8 {
            for nct in [false, true] {
                let (mut c, mut d) = pair(bits, nct, &config);
                let mut reference = Reference::new(bits, nct);
                for (i, &size) in sizes.iter().enumerate() {
                    let msg = text(size, i as u32 % 3);
                    let mut wire = Vec::new();
                    c.compress(&msg, &mut wire);
                    let mut out = Vec::new();
                    for frame in wire.chunks(700) {
                        d.decompress(frame, &mut out, msg.len()).unwrap();
                    }
                    d.finish_message(&mut out, msg.len()).unwrap();
                    assert!(out == msg, "bits {bits} nct {nct} message {i}");
                    let checked = reference.message(&wire);
                    assert!(
                        checked.as_deref() == Ok(&msg[..]),
                        "bits {bits} nct {nct} message {i}: {checked:?}"
                    );
                }
                assert_eq!(c.is_allocated(), !(release && nct));
                assert_eq!(d.is_allocated(), !(release && nct));
            }
        }
    }
}

#[test]
fn context_takeover_compresses_repeats_better() {
    let config = DeflateConfig::default();
    for bits in [9, 15] {
        let total = |nct: bool| {
            let (mut c, _) = pair(bits, nct, &config);
            let mut out = Vec::new();
            for i in 0..50 {
                c.compress(&text(200, i % 2), &mut out);
            }
            out.len()
        };
        let (with, without) = (total(false), total(true));
        // A 512-byte window keeps less context.
        let factor = if bits == 15 { 3 } else { 1 };
        assert!(
            with * factor < without,
            "window {bits}: {with} with takeover, {without} without"
        );
    }
}

#[test]
fn bomb_fails_with_bounded_memory() {
    // A fixed-Huffman block: one literal 0, then copies of 258 bytes at
    // distance 1, 13 bits each (20:1 per bit, about 1 GiB from 6.5 MB).
    let mut bytes = Vec::new();
    let (mut acc, mut n) = (0u64, 0u32);
    let mut put = |v: u32, len: u32, bytes: &mut Vec<u8>| {
        acc |= u64::from(v) << n;
        n += len;
        while n >= 8 {
            bytes.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    };
    let rev = |code: u32, len: u32| code.reverse_bits() >> (32 - len);
    put(0b010, 3, &mut bytes); // BFINAL 0, BTYPE 01
    put(rev(0x30, 8), 8, &mut bytes); // literal 0
    while bytes.len() < 6_500_000 {
        put(rev(0b1100_0101, 8), 8, &mut bytes); // length 258 (code 285)
        put(0, 5, &mut bytes); // distance 1 (code 0)
    }
    let limit = 16 << 20;
    let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
    let mut out = Vec::new();
    let mut fed = 0;
    let mut result = Ok(());
    for frame in bytes.chunks(1024) {
        result = d.decompress(frame, &mut out, limit);
        fed += frame.len();
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(DeflateError::TooLarge));
    assert!(out.len() <= limit);
    assert!(out.capacity() <= 2 * limit, "capacity {}", out.capacity());
    assert!(fed < 200_000, "stopped after {fed} input bytes");
    assert_eq!(
        d.decompress(&HELLO, &mut out, limit),
        Err(DeflateError::Corrupt)
    );
    // A single 1 KiB frame of it alone inflates to ~160 KiB: under a 64 KiB
    // limit it fails inside the frame.
    let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
    let mut out = Vec::new();
    assert_eq!(
        d.decompress(&bytes[..1024], &mut out, 64 << 10),
        Err(DeflateError::TooLarge)
    );
    assert!(out.len() <= 64 << 10);
}

#[test]
fn limit_is_exact() {
    let msg = text(10_000, 1);
    let (mut c, _) = pair(15, false, &DeflateConfig::default());
    let mut wire = Vec::new();
    c.compress(&msg, &mut wire);
    let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
    let mut out = Vec::new();
    assert_eq!(d.decompress_message(&wire, &mut out, msg.len()), Ok(()));
    assert_eq!(out, msg);
    let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
    let mut out = Vec::new();
    assert_eq!(
        d.decompress_message(&wire, &mut out, msg.len() - 1),
        Err(DeflateError::TooLarge)
    );
    assert!(out.len() < msg.len());
    // The limit counts what `out` already holds.
    let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
    let mut out = vec![0; 10];
    assert_eq!(
        d.decompress_message(&wire, &mut out, msg.len()),
        Err(DeflateError::TooLarge)
    );
}

#[test]
fn corrupt_data() {
    let config = DeflateConfig::default();
    let cases: [&[u8]; 4] = [
        &[0xff, 0xff, 0xff],                   // BTYPE 11
        &[0x00, 0x05, 0x00, 0x00, 0x00, 0x48], // stored block, NLEN is not !LEN
        &[0x04, 0x00, 0x00, 0x00, 0x00],       // dynamic block with an impossible code length code
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xff, 0xff, 0xff],
    ];
    for bad in cases {
        let (_, mut d) = pair(15, false, &config);
        let r = inflate(&mut d, bad);
        assert_eq!(r, Err(DeflateError::Corrupt), "{bad:02x?}");
        assert_eq!(inflate(&mut d, &HELLO), Err(DeflateError::Corrupt));
    }
}

#[test]
fn threshold() {
    let c = Compressor::new(dir(15, false), &DeflateConfig::default());
    assert!(!c.should_compress(63) && c.should_compress(64));
    let c = Compressor::new(dir(15, false), &DeflateConfig::default().with_threshold(0));
    assert!(c.should_compress(0));
    assert!(!c.is_allocated());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Compressing fragment by fragment and inflating frame by frame gives
    /// the message back, for any split on either side.
    #[test]
    fn fragments_equal_whole(
        sizes in prop::collection::vec(0usize..3000, 1..6),
        cuts in prop::collection::vec(1usize..500, 1..20),
        frame in 1usize..300,
        bits in 8u8..=15,
        nct: bool,
        seed: u32,
    ) {
        let config = DeflateConfig::default();
        let (mut c, mut d) = pair(bits, nct, &config);
        let mut reference = Reference::new(bits, nct);
        for (i, &size) in sizes.iter().enumerate() {
            let msg = text(size, seed.wrapping_add(i as u32));
            let mut wire = Vec::new();
            let mut rest = &msg[..];
            for &cut in cuts.iter().cycle().take(64) {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                c.compress_fragment(a, &mut wire);
                rest = b;
            }
            c.compress_fragment(rest, &mut wire);
            c.finish_message(&mut wire);
            let mut out = Vec::new();
            for f in wire.chunks(frame) {
                d.decompress(f, &mut out, size).unwrap();
            }
            d.finish_message(&mut out, size).unwrap();
            prop_assert_eq!(&out, &msg);
            let checked = reference.message(&wire);
            prop_assert_eq!(checked.as_deref(), Ok(&msg[..]));
        }
    }

    /// Arbitrary bytes never panic and never pass the limit.
    #[test]
    fn arbitrary_input_is_bounded(data in prop::collection::vec(any::<u8>(), 0..2000), limit in 0usize..5000) {
        let mut d = Decompressor::new(dir(15, false), &DeflateConfig::default());
        let mut out = Vec::new();
        let _ = d.decompress_message(&data, &mut out, limit);
        prop_assert!(out.len() <= limit);
    }
}
