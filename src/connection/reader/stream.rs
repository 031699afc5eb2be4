//! Streaming mode of the reader: data messages handed out as chunks, as
//! their bytes arrive, straight from the input buffer.
//!
//! Memory is bounded by the read size, not the message: a data frame's
//! header is consumed as soon as it is read, and every payload byte that has
//! arrived is unmasked in place and handed out as part of a chunk (a range
//! of the input buffer, like every other event), after which the buffer may
//! reuse its space. No reassembly buffer is used. Two things are kept back:
//!
//! - text: a character split by a read or a frame boundary (at most 3
//!   bytes), so that every text chunk is valid UTF-8 on its own. The bytes
//!   stay at the front of the unconsumed input ("ready" bytes: unmasked,
//!   part of the message) and start the next chunk; when the next frame of
//!   the message arrives they are moved over its header, right before its
//!   payload, so the chunk stays one contiguous slice. Control frames
//!   between are skipped over ("gap") on the next call, once their event is
//!   no longer borrowed.
//! - permessage-deflate: compressed bytes not inflated yet (the inflate
//!   buffer was full). A compressed message inflates into the reader's
//!   `inflated` buffer, at most [`INFLATE_CHUNK`] bytes per chunk.
//!
//! Text is validated once: the connection's `core::str::from_utf8` (or
//! simdutf8) over each chunk, which also gives the `&str`; only the held-back
//! bytes (at most 3) are looked at here, to fail fast when they cannot start
//! a character.

use alloc::vec::Vec;
use core::ops::Range;

use super::{ChunkAt, Fragmented, RawEvent, Reader};
use crate::config::Config;
use crate::connection::Role;
use crate::connection::split::Outbox;
use crate::error::ProtocolError;
use crate::frame::{Decoded, FrameHeader, OpCode, apply_mask};
use crate::message::MessageKind;
use crate::utf8::{incomplete_tail, is_char_prefix};

/// The most inflated bytes one chunk of a compressed message holds: the
/// bound on the inflate buffer.
#[cfg(feature = "deflate")]
pub(super) const INFLATE_CHUNK: usize = 64 * 1024;

/// Where the message being streamed stands, between calls.
#[derive(Debug)]
pub(in crate::connection) struct StreamState {
    /// The bounded buffer compressed messages inflate into.
    inflated: Vec<u8>,
    /// The data frame whose payload is arriving.
    frame: Option<StreamFrame>,
    /// Bytes at the front of the unconsumed input that belong to the
    /// message and are unmasked already: a held-back character start
    /// (text), or compressed bytes not inflated yet.
    ready: usize,
    /// Consumed bytes right after the ready ones (a control frame that
    /// arrived between two frames of a message), removed on the next call.
    gap: usize,
    /// The next chunk is the first of its message.
    first: bool,
    /// Bytes of the message so far (payload, or inflated when compressed),
    /// for the message size limit.
    received: usize,
    /// Inflated bytes handed out by the last chunk, dropped on the next call.
    inflated_taken: usize,
}

impl StreamState {
    /// No message in progress.
    const IDLE: Self = Self {
        inflated: Vec::new(),
        frame: None,
        ready: 0,
        gap: 0,
        first: false,
        received: 0,
        inflated_taken: 0,
    };

    pub(super) fn received(&self) -> usize {
        self.received
    }

    /// Nothing of a message is held between calls: no frame arriving, no
    /// held-back or borrowed bytes. (`first` and `received` are set afresh
    /// when the next message starts.)
    fn between_frames(&self) -> bool {
        self.frame.is_none()
            && self.ready == 0
            && self.gap == 0
            && self.inflated_taken == 0
            && self.inflated.is_empty()
    }

    /// The inflate buffer, where [`ChunkAt::inflated`] chunks are.
    pub(in crate::connection) fn inflated(&self) -> &[u8] {
        &self.inflated
    }
}

/// The reader's [`StreamState`], boxed on its first change: 8 bytes in every
/// connection that never streams (and in a streaming one between messages,
/// after [`release_if_idle`](Self::release_if_idle)) rather than 64. Reads
/// of an unallocated state see [`StreamState::IDLE`].
#[derive(Debug, Default)]
pub(in crate::connection) struct LazyStreamState(Option<alloc::boxed::Box<StreamState>>);

impl LazyStreamState {
    /// Frees the state when no message is in progress (`in_message`: a
    /// fragmented message awaits its next frame).
    pub(super) fn release_if_idle(&mut self, in_message: bool) {
        if !in_message && self.0.as_ref().is_some_and(|s| s.between_frames()) {
            self.0 = None;
        }
    }

    /// Heap bytes held.
    pub(super) fn memory_usage(&self) -> usize {
        self.0.as_ref().map_or(0, |s| {
            core::mem::size_of::<StreamState>() + s.inflated.capacity()
        })
    }
}

impl core::ops::Deref for LazyStreamState {
    type Target = StreamState;

    fn deref(&self) -> &StreamState {
        const IDLE: &StreamState = &StreamState::IDLE;
        self.0.as_deref().unwrap_or(IDLE)
    }
}

impl core::ops::DerefMut for LazyStreamState {
    fn deref_mut(&mut self) -> &mut StreamState {
        self.0
            .get_or_insert_with(|| alloc::boxed::Box::new(StreamState::IDLE))
    }
}

/// A data frame whose header has been consumed.
#[derive(Clone, Copy, Debug)]
struct StreamFrame {
    kind: MessageKind,
    fin: bool,
    compressed: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not arrived yet.
    remaining: usize,
    /// Payload bytes unmasked so far (the mask's phase).
    offset: usize,
}

/// What one step over the current data frame came to.
enum Step {
    Event(RawEvent),
    /// The frame is done without a chunk to hand out.
    FrameDone,
    NeedMore,
}

impl Reader {
    /// Streaming mode's [`advance`](Reader::advance). Kept out of line: the
    /// whole-message path it branches off from is the hot one.
    #[inline(never)]
    pub(super) fn advance_streaming(
        &mut self,
        tx: &mut impl Outbox,
        config: &Config,
        role: Role,
    ) -> Result<Option<RawEvent>, ProtocolError> {
        self.release_last_chunk();
        loop {
            if tx.close_received() {
                // RFC 6455 section 5.5.1: nothing follows a close frame.
                return Ok(None);
            }
            if let Some(frame) = self.stream.frame {
                let step = if frame.compressed {
                    self.inflate_step(frame, config)?
                } else {
                    self.plain_step(frame)?
                };
                match step {
                    Step::Event(event) => return Ok(Some(event)),
                    Step::FrameDone => continue,
                    Step::NeedMore => return self.need_more(),
                }
            }
            let at = self.start + self.stream.ready;
            let (header, header_len) = match FrameHeader::decode(&self.buf[at..self.end])? {
                Decoded::Incomplete { .. } => return self.need_more(),
                Decoded::Complete { header, header_len } => (header, header_len),
            };
            if header.opcode.is_control() {
                // At most 139 bytes: wait for the whole frame (its header is
                // decoded again then, which checks nothing twice that counts).
                let frame = self.check_header(&header, header_len, config, role)?;
                let total = header_len + frame.payload_len;
                if self.end - at < total {
                    return self.need_more();
                }
                let payload = at + header_len..at + total;
                if let Some(key) = header.mask {
                    apply_mask(&mut self.buf[payload.clone()], key, 0);
                }
                if self.stream.ready == 0 {
                    self.start = payload.end;
                } else {
                    self.stream.gap = total;
                }
                return self.complete_frame(&frame, payload, tx, config);
            }
            let frame = self.check_header(&header, header_len, config, role)?;
            self.start_data_frame(
                &header,
                at + header_len,
                frame.payload_len,
                frame.compressed,
                config,
            )?;
        }
    }

    /// Gives back what the previous event borrowed: the control frame that
    /// sat between held-back bytes and the rest of their message, and the
    /// inflated bytes already handed out.
    fn release_last_chunk(&mut self) {
        let stream = &mut self.stream;
        if stream.gap > 0 {
            let ready = self.start..self.start + stream.ready;
            self.buf.copy_within(ready, self.start + stream.gap);
            self.start += stream.gap;
            stream.gap = 0;
        }
        if stream.inflated_taken > 0 {
            // Moves at most 3 bytes (a held-back character start).
            let taken = stream.inflated_taken;
            stream.inflated.drain(..taken);
            stream.inflated_taken = 0;
        }
    }

    /// A data frame's header was read: consume it and start handing out its
    /// payload.
    fn start_data_frame(
        &mut self,
        header: &FrameHeader,
        payload_at: usize,
        payload_len: usize,
        compressed: bool,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        let ready = self.stream.ready;
        if ready > 0 {
            // The held-back start of a character goes over the header just
            // read, right before this frame's payload, so that the next
            // chunk is one slice. (The regions may overlap: copy_within.)
            self.buf
                .copy_within(self.start..self.start + ready, payload_at - ready);
        }
        self.start = payload_at - ready;
        let kind = match header.opcode {
            OpCode::Continuation => {
                let Some(fragmented) = self.fragmented else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                if header.fin {
                    self.fragmented = None;
                }
                fragmented.kind
            }
            opcode => {
                let kind = if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.stream.first = true;
                self.stream.received = 0;
                if !header.fin {
                    // As in whole-message mode: a message that starts
                    // fragmented needs at least two frames.
                    if config.max_fragments() < 2 {
                        return Err(ProtocolError::TooManyFragments);
                    }
                    self.fragmented = Some(Fragmented {
                        kind,
                        fragments: 1,
                        compressed,
                    });
                }
                kind
            }
        };
        if !compressed {
            self.stream.received += payload_len;
        }
        self.stream.frame = Some(StreamFrame {
            kind,
            fin: header.fin,
            compressed,
            mask: header.mask,
            remaining: payload_len,
            offset: 0,
        });
        Ok(())
    }

    /// Unmasks what arrived of the frame's payload and makes it a chunk.
    fn plain_step(&mut self, frame: StreamFrame) -> Result<Step, ProtocolError> {
        let raw_at = self.start + self.stream.ready;
        let arrived = self.unmask_arrived(&frame, raw_at);
        let done = frame.remaining == arrived;
        let last = done && frame.fin;
        let mut end = raw_at + arrived;
        if frame.kind == MessageKind::Text && !last {
            end -= self.hold_back(self.start..end)?;
        }
        let range = self.start..end;
        self.stream.ready = raw_at + arrived - end;
        self.start = end;
        if done {
            self.stream.frame = None;
        }
        Ok(self.chunk_or(frame.kind, range, false, last, done))
    }

    /// Unmasks the payload bytes of `frame` (a copy of the current frame)
    /// that arrived after `raw_at` (in place: RFC 6455 section 5.3, the
    /// payload XOR the masking key from its first byte on); returns how
    /// many. The current frame's count and mask phase move on in place:
    /// writing the whole frame back from a copy, and reading it again on the
    /// next read, stalled on store forwarding (perf on `benches/profile --
    /// stream 65536 4096 binary`: about a quarter of the engine's time per
    /// read).
    fn unmask_arrived(&mut self, frame: &StreamFrame, raw_at: usize) -> usize {
        let arrived = (self.end - raw_at).min(frame.remaining);
        if arrived > 0 {
            if let Some(key) = frame.mask {
                apply_mask(&mut self.buf[raw_at..raw_at + arrived], key, frame.offset);
            }
            if let Some(current) = self.stream.frame.as_mut() {
                current.offset += arrived;
                current.remaining -= arrived;
            }
        }
        arrived
    }

    /// The number of bytes at the end of `range` (of the input buffer) that
    /// start an unfinished character; fails at once if they cannot start one
    /// (RFC 6455 section 8.1: invalid text MUST fail the connection).
    fn hold_back(&self, range: Range<usize>) -> Result<usize, ProtocolError> {
        held_in(&self.buf[range])
    }

    /// A chunk event if there is something to hand out (only the last chunk
    /// may be empty), else what comes next.
    fn chunk_or(
        &mut self,
        kind: MessageKind,
        range: Range<usize>,
        inflated: bool,
        last: bool,
        frame_done: bool,
    ) -> Step {
        if !range.is_empty() || last {
            if inflated {
                self.stream.inflated_taken = range.end;
            }
            let first = core::mem::take(&mut self.stream.first);
            Step::Event(RawEvent::Chunk(ChunkAt {
                kind,
                range,
                inflated,
                first,
                last,
            }))
        } else if frame_done {
            Step::FrameDone
        } else {
            Step::NeedMore
        }
    }

    /// A frame of a compressed message (RFC 7692): unmask what arrived,
    /// inflate as much as fits in the bounded inflate buffer, hand that out.
    #[cfg(feature = "deflate")]
    fn inflate_step(&mut self, frame: StreamFrame, config: &Config) -> Result<Step, ProtocolError> {
        let raw_at = self.start + self.stream.ready;
        let arrived = self.unmask_arrived(&frame, raw_at);
        self.stream.ready += arrived;
        let Some(inflater) = self.inflater.as_mut() else {
            return Err(ProtocolError::ReservedBits);
        };
        let corrupt = |_| ProtocolError::InvalidCompressedData;
        let before = self.stream.inflated.len();
        let ready = self.start..self.start + self.stream.ready;
        // Room up to the chunk size, or to one byte past the message limit
        // when that is nearer (so a small limit keeps the buffer small too).
        let allowed = config.streamed_message_limit().map_or(usize::MAX, |limit| {
            limit.saturating_sub(self.stream.received)
        });
        let room = INFLATE_CHUNK.min(before.saturating_add(allowed).saturating_add(1));
        let (consumed, full) = inflater
            .decompress_some(&self.buf[ready], &mut self.stream.inflated, room)
            .map_err(corrupt)?;
        self.start += consumed;
        self.stream.ready -= consumed;
        let input_done = !full && frame.remaining == arrived && self.stream.ready == 0;
        // The message's last frame is done once the tail RFC 7692 section
        // 7.2.2 appends has inflated too (its output is bounded the same way).
        let done = input_done
            && (!frame.fin
                || inflater
                    .finish_some(&mut self.stream.inflated, room)
                    .map_err(corrupt)?);
        let inflated_now = self.stream.inflated.len() - before;
        self.stream.received += inflated_now;
        if let Some(limit) = config.streamed_message_limit()
            && self.stream.received > limit
        {
            return Err(ProtocolError::MessageTooLarge);
        }
        let last = done && frame.fin;
        let mut end = self.stream.inflated.len();
        if frame.kind == MessageKind::Text && !last {
            end -= held_in(&self.stream.inflated)?;
        }
        if done {
            self.stream.frame = None;
        }
        Ok(self.chunk_or(frame.kind, 0..end, true, last, done))
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate_step(&mut self, _: StreamFrame, _: &Config) -> Result<Step, ProtocolError> {
        // Unreachable in practice: RSV1 is refused when no extension allows it.
        Err(ProtocolError::ReservedBits)
    }
}

/// The held-back bytes at the end of a text chunk (see [`Reader::hold_back`]).
fn held_in(bytes: &[u8]) -> Result<usize, ProtocolError> {
    let held = incomplete_tail(bytes);
    if !is_char_prefix(&bytes[bytes.len() - held..]) {
        return Err(ProtocolError::InvalidUtf8);
    }
    Ok(held)
}
