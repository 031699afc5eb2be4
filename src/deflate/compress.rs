//! [`Compressor`]: compresses outgoing messages ([RFC 7692 §7.2.1]).
//!
//! [RFC 7692 §7.2.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress_to_output, create_comp_flags_from_zip_params,
};

use super::config::MAX_WINDOW_BITS;
use super::{DeflateConfig, Direction};

/// The empty stored block that a sync flush ends with, removed from every
/// compressed message (RFC 7692 §7.2.1 step 2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses the messages one endpoint sends, one LZ77 context per connection.
///
/// Build it with [`PmdParams::compressor`](super::PmdParams::compressor) or
/// [`Compressor::new`]. A whole message goes through [`compress`](Self::compress);
/// a message sent in fragments goes through [`compress_fragment`](Self::compress_fragment)
/// for each fragment and [`finish_message`](Self::finish_message) at the end.
/// Output is appended to the caller's `Vec` and is exactly the payload to put
/// in the frame(s) with RSV1 set on the first one.
///
/// # The window
///
/// miniz_oxide always searches a 32 KiB window. To honour a smaller
/// negotiated window (`*_max_window_bits` below 15) the compressor ends a
/// segment every 2^bits input bytes with a full flush: an empty stored block
/// after which nothing refers back, so no match distance can exceed the
/// window. This works for every window RFC 7692 allows, 8 included (which
/// zlib cannot produce for raw DEFLATE), at the cost of ratio and of a hash
/// table reset (about 4 µs) per segment. With context takeover the segment
/// runs on across messages, so a later message still refers to the end of the
/// previous one.
pub struct Compressor {
    state: Option<Box<CompressorOxide>>,
    flags: u32,
    /// Bytes per segment, or `None` for the full 32 KiB window.
    segment: Option<usize>,
    /// Bytes fed since the last full flush (only counted with `segment`).
    since_flush: usize,
    no_context_takeover: bool,
    release_idle_memory: bool,
    threshold: usize,
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor")
            .field("allocated", &self.state.is_some())
            .field("segment", &self.segment)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for one direction, with level, threshold and memory policy
    /// from `config`. The state (about 312 KiB) is allocated on first use.
    pub fn new(direction: Direction, config: &DeflateConfig) -> Self {
        let bits = direction.max_window_bits.clamp(8, MAX_WINDOW_BITS);
        Self {
            state: None,
            // window_bits <= 0 selects raw DEFLATE, without zlib header.
            flags: create_comp_flags_from_zip_params(i32::from(config.level()), -15, 0),
            segment: (bits < MAX_WINDOW_BITS).then(|| 1 << bits),
            since_flush: 0,
            no_context_takeover: direction.no_context_takeover,
            release_idle_memory: config.release_idle_memory(),
            threshold: config.threshold(),
        }
    }

    /// Whether a message of `len` bytes should be compressed (it reaches the
    /// threshold). A message sent uncompressed (RSV1 clear) never touches the
    /// compressor.
    pub const fn should_compress(&self, len: usize) -> bool {
        len >= self.threshold
    }

    /// Whether the compressor currently holds its (large) state.
    pub const fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    /// Compresses a whole message: appends its compressed payload, without
    /// the trailing `00 00 ff ff`, to `out`.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        self.compress_fragment(payload, out);
        self.finish_message(out);
    }

    /// Feeds the next part of a message. Appends whatever compressed bytes are
    /// ready, possibly none: the compressor may keep input until the next
    /// fragment or [`finish_message`](Self::finish_message). An empty
    /// continuation frame is allowed, so sending what came out is always fine.
    pub fn compress_fragment(&mut self, mut payload: &[u8], out: &mut Vec<u8>) {
        let flags = self.flags;
        let state = self
            .state
            .get_or_insert_with(|| Box::new(CompressorOxide::new(flags)));
        let Some(segment) = self.segment else {
            run(state, payload, TDEFLFlush::None, out);
            return;
        };
        while !payload.is_empty() {
            if self.since_flush == segment {
                run(state, &[], TDEFLFlush::Full, out);
                self.since_flush = 0;
            }
            let take = payload.len().min(segment - self.since_flush);
            run(state, &payload[..take], TDEFLFlush::None, out);
            self.since_flush += take;
            payload = &payload[take..];
        }
    }

    /// Ends a fragment of a streamed message with a sync flush, so that
    /// everything fed so far can be inflated by the peer as soon as the
    /// frame arrives. The flush's empty stored block stays in the data
    /// (only the message's last one is removed).
    pub fn flush_fragment(&mut self, out: &mut Vec<u8>) {
        if let Some(state) = self.state.as_mut() {
            run(state, &[], TDEFLFlush::Sync, out);
        }
    }

    /// Ends the message: flushes, removes the `00 00 ff ff` tail, and starts
    /// the next message afresh if this direction has no context takeover.
    ///
    /// An empty message comes out as the single byte `00` (RFC 7692 §7.2.3.6).
    pub fn finish_message(&mut self, out: &mut Vec<u8>) {
        let flags = self.flags;
        let state = self
            .state
            .get_or_insert_with(|| Box::new(CompressorOxide::new(flags)));
        // RFC 7692 §7.2.1: "Compress all the octets of the payload of the
        // message using DEFLATE." then "If the resulting data does not end with
        // an empty DEFLATE block with no compression (the "BTYPE" bits are set
        // to 00), append an empty DEFLATE block with no compression to the
        // tail end." then "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from
        // the tail end." A sync flush always ends with that empty block.
        let flush = if self.no_context_takeover {
            // RFC 7692 §7.1.1.1/§7.1.1.2: the next message must not refer to
            // this one. A full flush is a sync flush that also forgets.
            self.since_flush = 0;
            TDEFLFlush::Full
        } else {
            TDEFLFlush::Sync
        };
        let start = out.len();
        run(state, &[], flush, out);
        debug_assert!(out[start..].ends_with(&TAIL));
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover && self.release_idle_memory {
            self.state = None;
        }
    }
}

/// Runs the compressor over `input` with an unbounded output.
fn run(state: &mut CompressorOxide, input: &[u8], flush: TDEFLFlush, out: &mut Vec<u8>) {
    let (status, consumed) = compress_to_output(state, input, flush, |chunk| {
        out.extend_from_slice(chunk);
        true
    });
    // The callback never refuses output and the stream is never finished, so
    // miniz_oxide consumes everything and reports success.
    debug_assert_eq!(status, TDEFLStatus::Okay);
    debug_assert_eq!(consumed, input.len());
}
