//! [`Decompressor`]: inflates incoming messages within a size limit
//! ([RFC 7692 §7.2.2]).
//!
//! [RFC 7692 §7.2.2]: https://www.rfc-editor.org/rfc/rfc7692#section-7.2.2

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::stream::{InflateState, MinReset, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::compress::TAIL;
use super::{DeflateConfig, DeflateError, Direction};

/// The most output one inflate call may produce.
const CHUNK: usize = 32 * 1024;

/// Inflates the compressed messages one endpoint receives.
///
/// Feed each frame's payload of a compressed message to
/// [`decompress`](Self::decompress) as it arrives, then call
/// [`finish_message`](Self::finish_message) after the last frame; or use
/// [`decompress_message`](Self::decompress_message) for a whole message. The
/// output is bounded *while* inflating: inflation proceeds in chunks of at
/// most 32 KiB and stops with [`DeflateError::TooLarge`] as soon as `out`
/// would grow past `max_total`, so a small frame that would inflate to
/// gigabytes costs at most `max_total` plus one chunk.
///
/// After an error the decompressor is unusable (every call returns
/// [`DeflateError::Corrupt`]); the connection is to be failed anyway.
///
/// The inflater keeps a 32 KiB window whatever the negotiated window, so it
/// decodes data from any peer; a peer that refers further back than the window
/// it negotiated is not detected.
pub struct Decompressor {
    state: Option<Box<InflateState>>,
    no_context_takeover: bool,
    release_idle_memory: bool,
    /// A block with BFINAL set ended the DEFLATE stream inside this message.
    stream_ended: bool,
    /// Some payload bytes of the current message were fed.
    fed: bool,
    failed: bool,
    /// Streaming: how much of the message tail was fed by [`Decompressor::finish_some`].
    tail_fed: usize,
}

impl core::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decompressor")
            .field("allocated", &self.state.is_some())
            .field("no_context_takeover", &self.no_context_takeover)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor for what the peer sends with `direction`'s parameters,
    /// with the memory policy from `config`. The state (about 42 KiB) is
    /// allocated on first use.
    pub fn new(direction: Direction, config: &DeflateConfig) -> Self {
        Self {
            state: None,
            no_context_takeover: direction.no_context_takeover,
            release_idle_memory: config.release_idle_memory(),
            stream_ended: false,
            fed: false,
            failed: false,
            tail_fed: 0,
        }
    }

    /// Whether the decompressor currently holds its state.
    pub const fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    /// Inflates a whole compressed message payload: [`decompress`](Self::decompress)
    /// then [`finish_message`](Self::finish_message).
    pub fn decompress_message(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        max_total: usize,
    ) -> Result<(), DeflateError> {
        self.decompress(payload, out, max_total)?;
        self.finish_message(out, max_total)
    }

    /// Inflates the next frame's payload of a compressed message, appending
    /// to `out`.
    ///
    /// Fails with [`DeflateError::TooLarge`] as soon as `out.len()` would
    /// exceed `max_total` (give the message limit, with `out` holding what
    /// the message produced so far), with [`DeflateError::Corrupt`] on
    /// invalid data.
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        max_total: usize,
    ) -> Result<(), DeflateError> {
        if self.failed {
            return Err(DeflateError::Corrupt);
        }
        self.fed |= !input.is_empty();
        let result = self.inflate_into(input, out, max_total);
        self.failed = result.is_err();
        result
    }

    /// Ends the message: feeds the `00 00 ff ff` that the sender removed
    /// (RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail
    /// end of the payload of the message"), then starts the next message
    /// afresh if the peer has no context takeover or ended its DEFLATE stream.
    ///
    /// A message whose payload was empty (no compressor produces that: an
    /// empty message compresses to `00`) is taken as an empty message and
    /// leaves the stream as it was, instead of leaving the inflater inside a
    /// stored block.
    pub fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        max_total: usize,
    ) -> Result<(), DeflateError> {
        if self.fed {
            self.decompress(&TAIL, out, max_total)?;
            self.fed = false;
        } else if self.failed {
            return Err(DeflateError::Corrupt);
        }
        self.end_message();
        Ok(())
    }

    /// Streaming: inflates `input` (the next bytes of a compressed message's
    /// payload) into `out` until the input is used up or `out` holds `room`
    /// bytes. Returns how many input bytes were consumed and whether `out`
    /// filled up, in which case more output may be waiting: call again
    /// (with the unconsumed input, possibly none) once `out` has room.
    ///
    /// The output is bounded by `room` whatever the input (a small frame
    /// that inflates to gigabytes comes out `room` bytes at a time).
    pub fn decompress_some(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<(usize, bool), DeflateError> {
        if self.failed {
            return Err(DeflateError::Corrupt);
        }
        self.fed |= !input.is_empty();
        let result = self.inflate_bounded(input, out, room);
        self.failed = result.is_err();
        result
    }

    /// Streaming: ends the message as [`finish_message`](Self::finish_message)
    /// does, with the output bounded like [`decompress_some`](Self::decompress_some).
    /// Returns `false` when `out` filled up first: call again once it has
    /// room; `true` once the message is finished.
    pub fn finish_some(&mut self, out: &mut Vec<u8>, room: usize) -> Result<bool, DeflateError> {
        if self.failed {
            return Err(DeflateError::Corrupt);
        }
        if self.fed {
            let (consumed, full) = self.decompress_some(&TAIL[self.tail_fed..], out, room)?;
            self.tail_fed += consumed;
            if full || self.tail_fed < TAIL.len() {
                return Ok(false);
            }
            self.fed = false;
            self.tail_fed = 0;
        }
        self.end_message();
        Ok(true)
    }

    /// After the last frame of a message: start the next message afresh if
    /// the peer has no context takeover or ended its DEFLATE stream.
    fn end_message(&mut self) {
        // A sender may end a message with a BFINAL block (RFC 7692 §7.2.3.4):
        // its DEFLATE stream is over, so the next message starts a new one.
        if self.no_context_takeover || self.stream_ended {
            if self.release_idle_memory && self.no_context_takeover {
                self.state = None;
            } else if let Some(state) = &mut self.state {
                // The window may keep old bytes: they are this peer's own
                // earlier messages, and a peer without context takeover
                // has no business referring to them.
                state.reset_as(MinReset);
            }
            self.stream_ended = false;
        }
    }

    fn inflate_bounded(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<(usize, bool), DeflateError> {
        if self.stream_ended {
            // Bytes after the final block of a message mean nothing.
            return Ok((input.len(), false));
        }
        let state = self
            .state
            .get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
        let mut consumed = 0;
        loop {
            let start = out.len();
            if start >= room {
                return Ok((consumed, true));
            }
            let len = (room - start).min(CHUNK);
            out.resize(start + len, 0);
            let r = inflate(state, &input[consumed..], &mut out[start..], MZFlush::None);
            out.truncate(start + r.bytes_written);
            consumed += r.bytes_consumed;
            let progressed = r.bytes_written > 0 || r.bytes_consumed > 0;
            match r.status {
                Ok(MZStatus::StreamEnd) => {
                    self.stream_ended = true;
                    return Ok((input.len(), false));
                }
                // As in `inflate_into`: stop once a call makes no progress.
                Ok(_) | Err(MZError::Buf) if !progressed => return Ok((consumed, false)),
                Ok(_) | Err(MZError::Buf) => {}
                Err(_) => return Err(DeflateError::Corrupt),
            }
        }
    }

    fn inflate_into(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        max_total: usize,
    ) -> Result<(), DeflateError> {
        if self.stream_ended {
            // Bytes after the final block of a message mean nothing.
            return Ok(());
        }
        let state = self
            .state
            .get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
        // Start small: most frames inflate to a few times their size.
        let mut chunk = input.len().saturating_mul(4).clamp(256, CHUNK);
        loop {
            // One byte beyond the limit, to see whether the data goes past it.
            let room = max_total.saturating_sub(out.len()).saturating_add(1);
            let len = chunk.min(room);
            let start = out.len();
            out.resize(start + len, 0);
            let r = inflate(state, input, &mut out[start..], MZFlush::None);
            out.truncate(start + r.bytes_written);
            input = &input[r.bytes_consumed..];
            if out.len() > max_total {
                out.truncate(max_total);
                return Err(DeflateError::TooLarge);
            }
            let progressed = r.bytes_written > 0 || r.bytes_consumed > 0;
            match r.status {
                Ok(MZStatus::StreamEnd) => {
                    self.stream_ended = true;
                    return Ok(());
                }
                // Loop until a call makes no progress: input can be used up
                // while decodable output is still held inside the inflater.
                // `Buf` is miniz_oxide's "no progress possible".
                Ok(_) | Err(MZError::Buf) if !progressed => {
                    debug_assert!(input.is_empty());
                    return Ok(());
                }
                Ok(_) | Err(MZError::Buf) => {}
                Err(_) => return Err(DeflateError::Corrupt),
            }
            // A full buffer asks for a full chunk; otherwise probe cheaply.
            chunk = if r.bytes_written == len { CHUNK } else { 256 };
        }
    }
}
