//! [`Compressor`]: compresses outgoing messages ([RFC 7692 §7.2.1]).
//!
//! [RFC 7692 §7.2.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::block::Bits;
use super::config::MAX_WINDOW_BITS;
use super::lz77::{Matcher, Shape, Tuning};
use super::shared;
use super::{DeflateConfig, Direction};

/// The empty stored block that a sync flush ends with, removed from every
/// compressed message (RFC 7692 §7.2.1 step 2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses the messages one endpoint sends.
///
/// Build it with [`PmdParams::compressor`](super::PmdParams::compressor) or
/// [`Compressor::new`]. A whole message goes through [`compress`](Self::compress);
/// a message sent in fragments goes through [`compress_fragment`](Self::compress_fragment)
/// for each fragment and [`finish_message`](Self::finish_message) at the end.
/// Output is appended to the caller's `Vec` and is exactly the payload to put
/// in the frame(s) with RSV1 set on the first one.
///
/// # Memory
///
/// The compressor is this crate's own (LZ77 with a hash table, plus hash
/// chains from level 2, and Huffman blocks), so its state is sized to what
/// it needs: a window of the smaller of the negotiated window and the
/// [`CompressorMemory`](super::CompressorMemory) preset, and a hash table of
/// the preset's size but no larger than the window. A compressor may always
/// refer back less far than negotiated (RFC 7692 §7.1.2.1 only bounds it from
/// above), so the peer's decompressor, which keeps the negotiated window,
/// decodes it unchanged. [`memory_usage`](Self::memory_usage) says what it
/// holds. The state is allocated on first use; without context takeover it
/// can be freed after every message
/// ([`DeflateConfig::with_release_idle_memory`]) or borrowed from a
/// per-thread one ([`DeflateConfig::with_shared_state`]).
pub struct Compressor {
    state: Option<Box<Matcher>>,
    shape: Shape,
    tuning: Tuning,
    /// Bits of a message written up to a fragment's end (never across messages).
    bits: Bits,
    no_context_takeover: bool,
    release_idle_memory: bool,
    shared: bool,
    threshold: usize,
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor")
            .field("allocated", &self.state.is_some())
            .field("window_bits", &self.shape.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for one direction, with level, memory preset, threshold
    /// and memory policy from `config`. The state is allocated on first use.
    pub fn new(direction: Direction, config: &DeflateConfig) -> Self {
        let preset = config.memory();
        let window_bits = direction
            .max_window_bits
            .clamp(8, MAX_WINDOW_BITS)
            .min(preset.window_bits());
        let tuning = Tuning::for_level(config.level());
        Self {
            state: None,
            shape: Shape {
                window_bits,
                // Half as many hash entries as window bytes, as in every
                // preset: a smaller negotiated window shrinks both.
                hash_bits: preset.hash_bits().min(window_bits - 1),
                chains: tuning.chains(),
            },
            tuning,
            bits: Bits::default(),
            no_context_takeover: direction.no_context_takeover,
            release_idle_memory: config.release_idle_memory(),
            shared: config.shared_state() && direction.no_context_takeover,
            threshold: config.threshold(),
        }
    }

    /// Whether a message of `len` bytes should be compressed (it reaches the
    /// threshold). A message sent uncompressed (RSV1 clear) never touches the
    /// compressor.
    pub const fn should_compress(&self, len: usize) -> bool {
        len >= self.threshold
    }

    /// Whether the compressor currently holds its state (a shared one is
    /// held only from the first fragment of a message to its end).
    pub const fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    /// The window this compressor refers back within, as log2 of bytes: the
    /// negotiated window or the memory preset's, whichever is smaller.
    pub const fn window_bits(&self) -> u8 {
        self.shape.window_bits
    }

    /// Heap bytes this compressor holds now (0 while unallocated, or between
    /// messages when it borrows a per-thread state).
    pub fn memory_usage(&self) -> usize {
        if self.state.is_some() {
            self.shape.heap_bytes()
        } else {
            0
        }
    }

    /// Compresses a whole message: appends its compressed payload, without
    /// the trailing `00 00 ff ff`, to `out`.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        self.compress_fragment(payload, out);
        self.finish_message(out);
    }

    /// Feeds the next part of a message. Appends whatever compressed bytes are
    /// ready, possibly none: the last bits of a fragment may wait for the
    /// next one or for [`finish_message`](Self::finish_message). An empty
    /// continuation frame is allowed, so sending what came out is always fine.
    pub fn compress_fragment(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        if payload.is_empty() {
            return;
        }
        let tuning = self.tuning;
        let mut bits = self.bits;
        self.state_mut().compress(payload, tuning, &mut bits, out);
        self.bits = bits;
    }

    /// Ends a fragment of a streamed message with a sync flush, so that
    /// everything fed so far can be inflated by the peer as soon as the
    /// frame arrives: an empty stored block (BFINAL 0, BTYPE 00, LEN 0000,
    /// NLEN ffff) after the fragment's blocks, which `compress_fragment`
    /// always completes. It stays in the data; only the message's last
    /// one is removed, by [`finish_message`](Self::finish_message).
    pub fn flush_fragment(&mut self, out: &mut Vec<u8>) {
        if self.state.is_none() {
            return; // nothing fed since the last flush
        }
        self.bits.put(out, 0, 3);
        self.bits.align(out);
        out.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    }

    /// Ends the message: flushes, leaves out the `00 00 ff ff` tail, and
    /// starts the next message afresh if this direction has no context
    /// takeover.
    ///
    /// An empty message comes out as the single byte `00` (RFC 7692 §7.2.3.6).
    pub fn finish_message(&mut self, out: &mut Vec<u8>) {
        // RFC 7692 §7.2.1: "Compress all the octets of the payload of the
        // message using DEFLATE." then "If the resulting data does not end with
        // an empty DEFLATE block with no compression (the "BTYPE" bits are set
        // to 00), append an empty DEFLATE block with no compression to the
        // tail end." then "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from
        // the tail end." Every block written so far is non-final and ends
        // where its last code ends; the empty stored block is its 3-bit
        // header (BFINAL 0, BTYPE 00), padding to the byte boundary, and then
        // LEN 0000 / NLEN ffff, which are exactly the 4 octets removed, so
        // they are never written.
        self.bits.put(out, 0, 3);
        self.bits.align(out);
        if self.no_context_takeover {
            // RFC 7692 §7.1.1.1/§7.1.1.2: the next message must not refer to
            // this one.
            if let Some(state) = &mut self.state {
                state.forget();
            }
            if self.shared {
                if let Some(state) = self.state.take() {
                    shared::give_matcher(state);
                }
            } else if self.release_idle_memory {
                self.state = None;
            }
        }
    }

    fn state_mut(&mut self) -> &mut Matcher {
        let (shape, shared) = (self.shape, self.shared);
        self.state.get_or_insert_with(|| {
            if shared {
                shared::take_matcher(shape)
            } else {
                Matcher::new(shape)
            }
        })
    }
}
