//! The incoming half: buffers received bytes, decodes frames, unmasks them in
//! place, checks them against RFC 6455 and the limits, and reassembles
//! fragmented messages.

use alloc::vec::Vec;
use core::ops::Range;

use super::Role;
use super::split::Outbox;
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{Decoded, FrameHeader, OpCode, apply_mask};
use crate::message::{CloseCode, MessageKind};
use crate::utf8::Utf8Validator;

mod stream;

/// Input and reassembly buffers at least this large are released when they
/// empty, so a connection that once received a big message does not keep
/// its memory while idle.
const KEEP_CAPACITY: usize = 64 * 1024;

/// A partial frame at most this long is moved to the front of the input
/// buffer when the decoder runs out of input. The next read then lands where
/// the last one did, in cache lines still in the L1 cache, instead of after
/// it: a buffer walked read after read misses the L1 cache on every line it
/// writes (cachegrind: four times the write misses, 0.84x the throughput of
/// a reader that drains its buffer, on 1 KiB frames in 16 KiB reads). The
/// copy costs at most this much per read, from lines just written.
const EAGER_COMPACT: usize = 4 * 1024;

/// An event located in one of the reader's buffers, turned into a borrowed
/// [`Event`](super::Event) by the connection.
#[derive(Clone, Debug)]
pub(super) enum RawEvent {
    /// A single-frame message, in the input buffer.
    Single(MessageKind, Range<usize>),
    /// A reassembled message, in the reassembly buffer.
    Assembled(MessageKind),
    Ping(Range<usize>),
    Pong(Range<usize>),
    Close(CloseCode, Range<usize>),
    /// Streaming mode: a piece of a message.
    Chunk(ChunkAt),
}

/// Where a streamed chunk is: in the input buffer, or in the inflate buffer.
#[derive(Clone, Debug)]
pub(super) struct ChunkAt {
    pub(super) kind: MessageKind,
    pub(super) range: Range<usize>,
    /// `range` is in [`Reader::inflated`] rather than the input buffer.
    pub(super) inflated: bool,
    pub(super) first: bool,
    pub(super) last: bool,
}

/// A frame whose header has been read and whose payload is arriving.
#[derive(Clone, Copy, Debug)]
struct PartialFrame {
    header: FrameHeader,
    /// At most 14 ([`crate::frame::MAX_HEADER_LEN`]).
    header_len: u8,
    payload_len: usize,
    /// Payload bytes already unmasked (and, for text, checked).
    done: usize,
    /// Whether the payload is text to check as it arrives.
    text: bool,
    /// The frame belongs to a compressed message (permessage-deflate).
    compressed: bool,
}

/// A fragmented message being reassembled.
#[derive(Clone, Copy, Debug)]
struct Fragmented {
    kind: MessageKind,
    fragments: usize,
    compressed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Reader {
    /// `buf[..buf.len()]` is initialised; `buf[start..end]` is unconsumed input.
    pub(super) buf: Vec<u8>,
    start: usize,
    end: usize,
    frame: Option<PartialFrame>,
    fragmented: Option<Fragmented>,
    pub(super) assembly: Vec<u8>,
    /// The assembly buffer holds a delivered message, to clear on the next call.
    assembly_delivered: bool,
    utf8: Utf8Validator,
    eof: bool,
    /// Reserved bits the negotiated extensions define (RSV1 for
    /// permessage-deflate); any other set bit is a protocol error.
    pub(super) allowed_rsv: u8,
    /// The room the latest `read_buf` asked for.
    read_request: usize,
    /// permessage-deflate, once negotiated.
    #[cfg(feature = "deflate")]
    pub(super) inflater: Option<alloc::boxed::Box<crate::deflate::Decompressor>>,
    /// Streaming mode: where the message being handed out stands, and the
    /// bounded buffer compressed messages inflate into.
    pub(super) stream: stream::LazyStreamState,
}

impl Reader {
    pub(super) fn receive(&mut self, data: &[u8]) {
        let spare = self.spare(data.len());
        spare[..data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// At least `min` bytes of writable space after the unconsumed input.
    ///
    /// Inline, with the moving and growing out of line: an async driver
    /// asks for room before every read, including the one that finds the
    /// socket empty, and the room is almost always there.
    #[inline]
    pub(super) fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.len() - self.end < min {
            self.make_room(min);
        }
        &mut self.buf[self.end..]
    }

    /// Moves or grows the buffer so that `min` bytes fit after the input.
    #[inline(never)]
    fn make_room(&mut self, min: usize) {
        let pending = self.end - self.start;
        // Move the unconsumed bytes (a partial frame) to the front only when
        // that moves no more than it reclaims, or when growing anyway.
        if self.start > 0 && (pending <= self.start || self.buf.len() - pending < min) {
            self.move_input_to_front();
        }
        if self.buf.len() - self.end < min {
            // Grow with some slack (up to 64 KiB beyond the request), so a
            // caller asking for more room than each read fills does not move
            // or grow the buffer on every read. Zero-fills only the growth,
            // once; later reads reuse it.
            let slack = min.min(KEEP_CAPACITY);
            self.buf.resize(self.end + min + slack, 0);
        }
    }

    /// Moves the unconsumed input to the front of the buffer. Every position
    /// the reader keeps counts from `start`, so nothing else changes.
    fn move_input_to_front(&mut self) {
        let pending = self.end - self.start;
        self.buf.copy_within(self.start..self.end, 0);
        self.start = 0;
        self.end = pending;
    }

    /// Room for the caller to read into (`read_buf`): remembered as working
    /// space that is kept while idle.
    #[inline]
    pub(super) fn read_space(&mut self, min: usize) -> &mut [u8] {
        self.read_request = min;
        self.spare(min)
    }

    pub(super) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Bytes received and not consumed yet.
    #[inline]
    pub(super) fn unconsumed(&self) -> usize {
        self.end - self.start
    }

    /// Takes `other` as the input buffer and hands the old one back in it.
    /// The unconsumed input moves to the front of the new buffer: every
    /// position the decoder keeps (a partial frame, the streaming state's
    /// `ready` and `gap`) counts from `start`, as when `spare` compacts.
    #[inline(always)]
    pub(super) fn swap_buffer(&mut self, other: &mut Vec<u8>) {
        if self.start == self.end {
            // Between frames, the usual case: nothing to carry, a few moves
            // inline in the caller's read loop.
            core::mem::swap(&mut self.buf, other);
            self.start = 0;
            self.end = 0;
        } else {
            self.swap_carrying_input(other);
        }
    }

    #[inline(never)]
    fn swap_carrying_input(&mut self, other: &mut Vec<u8>) {
        let pending = self.end - self.start;
        if other.len() < pending {
            other.resize(pending, 0);
        }
        other[..pending].copy_from_slice(&self.buf[self.start..self.end]);
        core::mem::swap(&mut self.buf, other);
        self.start = 0;
        self.end = pending;
    }

    /// Unconsumed input, for the handshake parsers.
    pub(super) fn input(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops the first `n` bytes of unconsumed input (a parsed handshake).
    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    pub(super) fn at_eof(&self) -> bool {
        self.eof
    }

    pub(super) fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// Frees the input and reassembly buffers if they hold nothing: no
    /// unconsumed input, no frame in progress, no message being reassembled.
    pub(super) fn release_if_drained(&mut self) {
        if self.start == self.end && self.frame.is_none() {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
        if self.fragmented.is_none() && (self.assembly.is_empty() || self.assembly_delivered) {
            self.assembly = Vec::new();
            self.assembly_delivered = false;
        }
        self.stream.release_if_idle(self.fragmented.is_some());
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.buf.capacity() + self.assembly.capacity() + self.stream.memory_usage()
    }

    /// Drives the frame decoder until one event is ready or more input is needed.
    pub(super) fn advance(
        &mut self,
        tx: &mut impl Outbox,
        config: &Config,
        role: Role,
    ) -> Result<Option<RawEvent>, ProtocolError> {
        if config.streaming() {
            return self.advance_streaming(tx, config, role);
        }
        if self.assembly_delivered {
            self.assembly_delivered = false;
            self.assembly.clear();
            if self.assembly.capacity() > KEEP_CAPACITY {
                self.assembly = Vec::new();
            }
        }
        loop {
            if tx.close_received() {
                // RFC 6455 section 5.5.1: nothing follows a close frame; any
                // further bytes are ignored.
                return Ok(None);
            }
            if self.frame.is_none()
                && let Some(event) = self.whole_message(config, role)
            {
                return Ok(Some(event));
            }
            let mut frame = match self.frame {
                Some(frame) => frame,
                None => match FrameHeader::decode(&self.buf[self.start..self.end])? {
                    Decoded::Incomplete { .. } => return self.need_more(),
                    Decoded::Complete { header, header_len } => {
                        self.check_header(&header, header_len, config, role)?
                    }
                },
            };
            let payload_at = self.start + usize::from(frame.header_len);
            let available = (self.end - payload_at).min(frame.payload_len);
            if available > frame.done {
                let chunk = &mut self.buf[payload_at + frame.done..payload_at + available];
                if let Some(key) = frame.header.mask {
                    apply_mask(chunk, key, frame.done);
                }
                // Text is checked as it arrives, to fail fast. The chunk that
                // completes the message is left to the final check, which
                // also produces the `&str`, so whole messages are validated once.
                let completes_message = frame.header.fin && available == frame.payload_len;
                if frame.text && !completes_message {
                    self.utf8
                        .feed(chunk)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                frame.done = available;
            }
            if available < frame.payload_len {
                self.frame = Some(frame);
                return self.need_more();
            }
            self.frame = None;
            let payload = payload_at..payload_at + frame.payload_len;
            self.start = payload.end;
            if let Some(event) = self.complete_frame(&frame, payload, tx, config)? {
                return Ok(Some(event));
            }
        }
    }

    /// The common case in one step: a whole unfragmented text or binary
    /// message in one frame, no reserved bits, masked as `role` requires,
    /// already in the buffer, outside any fragmented message. Anything else
    /// (and any frame the general path would refuse) returns `None` and goes
    /// through the general path, which applies every check; what this
    /// accepts the general path would accept too, with the same event. It
    /// keeps the header in registers: the general path's `FrameHeader` and
    /// `PartialFrame` go through memory, and reading them back right after
    /// writing them stalled on store forwarding (perf on
    /// `benches/profile -- decode 1024 16384 binary`).
    #[inline]
    fn whole_message(&mut self, config: &Config, role: Role) -> Option<RawEvent> {
        let input = &mut self.buf[self.start..self.end];
        let &mut [b0, b1, ref mut rest @ ..] = input else {
            return None;
        };
        // FIN, RSV 0, opcode 1 or 2.
        let kind = match b0 {
            0x82 => MessageKind::Binary,
            0x81 => MessageKind::Text,
            _ => return None,
        };
        if self.fragmented.is_some() {
            return None;
        }
        let (len, rest, ext) = match b1 & 0x7F {
            126 => {
                let &mut [h, l, ref mut rest @ ..] = rest else {
                    return None;
                };
                (usize::from(u16::from_be_bytes([h, l])), rest, 2)
            }
            127 => {
                let (be, rest) = rest.split_first_chunk_mut::<8>()?;
                let len = u64::from_be_bytes(*be);
                // Section 5.2: the most significant bit must be 0; the
                // general path says so.
                if len >> 63 != 0 {
                    return None;
                }
                (usize::try_from(len).ok()?, rest, 8)
            }
            short => (usize::from(short), rest, 0),
        };
        if len > config.max_frame_size() || len > message_limit(config) {
            return None;
        }
        let header_len = 2
            + ext
            + match (role, b1 & 0x80 != 0) {
                // Section 5.1: a client's frames are masked.
                (Role::Server, true) => {
                    let (key, payload) = rest.split_first_chunk_mut::<4>()?;
                    apply_mask(payload.get_mut(..len)?, *key, 0);
                    4
                }
                // Section 5.1: a server's frames are not.
                (Role::Client, false) => {
                    rest.get(..len)?;
                    0
                }
                _ => return None,
            };
        // Text: the one UTF-8 check is the final one (`message`), as for
        // any single-frame message; the incremental validator is not used
        // (the general path resets it at the start of every text message).
        let payload = self.start + header_len..self.start + header_len + len;
        self.start = payload.end;
        Some(RawEvent::Single(kind, payload))
    }

    /// Whether [`advance`](Self::advance) would only report that it needs
    /// more input: no unconsumed byte, no frame in progress, no delivered
    /// message to clear, no oversized buffer to release, no end of stream
    /// to report (and not streaming, whose inflater may hold output). A
    /// driver that just took an event can then go straight to its next
    /// read.
    #[inline]
    pub(super) fn is_drained(&self, config: &Config) -> bool {
        self.start == self.end
            && self.frame.is_none()
            && !self.assembly_delivered
            && !self.eof
            && !config.streaming()
            && !self.oversized()
    }

    /// The input buffer is larger than the working space a caller asks for
    /// with every read (and its slack), up to three times it: kept only
    /// while it holds a frame.
    #[inline]
    fn oversized(&self) -> bool {
        self.buf.len() > KEEP_CAPACITY.max(3 * self.read_request)
    }

    fn need_more(&mut self) -> Result<Option<RawEvent>, ProtocolError> {
        if self.oversized() {
            let pending = self.end - self.start;
            // What is left is at most a small frame in progress (often only
            // part of a header): keep it in a small buffer, so a connection
            // that once received a big message does not keep that memory
            // while idle.
            let small_frame = self
                .frame
                .is_none_or(|f| usize::from(f.header_len) + f.payload_len <= KEEP_CAPACITY);
            if pending == 0 {
                self.buf = Vec::new();
                self.start = 0;
                self.end = 0;
            } else if small_frame && pending <= KEEP_CAPACITY {
                self.buf = self.buf[self.start..self.end].to_vec();
                self.start = 0;
                self.end = pending;
            }
        }
        let pending = self.end - self.start;
        if pending != 0 && self.start > 0 && pending <= EAGER_COMPACT {
            self.move_input_to_front();
        }
        if self.eof {
            return Err(ProtocolError::AbnormalClosure);
        }
        Ok(None)
    }

    /// The rules a header must follow given the connection's state.
    fn check_header(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
        config: &Config,
        role: Role,
    ) -> Result<PartialFrame, ProtocolError> {
        // Section 5.2: "If a nonzero value is received and none of the
        // negotiated extensions defines the meaning of such a nonzero value,
        // the receiving endpoint MUST _Fail the WebSocket Connection_."
        if header.rsv & !self.allowed_rsv != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        // RFC 7692 section 6.1: RSV1 marks the first frame of a compressed
        // message; on a continuation or a control frame it means nothing and
        // so fails the connection like any undefined reserved bit.
        let rsv1 = header.rsv & 0b100 != 0;
        if rsv1 && !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            return Err(ProtocolError::ReservedBits);
        }
        let mut compressed = rsv1;
        // Section 5.1: "The server MUST close the connection upon receiving a
        // frame that is not masked"; "A client MUST close a connection if it
        // detects a masked frame."
        match (role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.payload_len > config.max_frame_size() as u64 {
            return Err(ProtocolError::FrameTooLarge);
        }
        let payload_len = header.payload_len as usize;
        let mut text = false;
        match header.opcode {
            OpCode::Continuation => {
                let over_limit = self.over_message_limit(config, payload_len);
                // Section 5.4: continuation only inside a fragmented message.
                let Some(fragmented) = &mut self.fragmented else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                fragmented.fragments += 1;
                if fragmented.fragments > config.max_fragments() {
                    return Err(ProtocolError::TooManyFragments);
                }
                compressed = fragmented.compressed;
                // A compressed message is bounded while it inflates instead.
                if !compressed && over_limit {
                    return Err(ProtocolError::MessageTooLarge);
                }
                text = fragmented.kind == MessageKind::Text;
            }
            OpCode::Text | OpCode::Binary => {
                // Section 5.4: a new message may not start inside another.
                if self.fragmented.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                if !compressed && payload_len > message_limit(config) {
                    return Err(ProtocolError::MessageTooLarge);
                }
                if header.opcode == OpCode::Text {
                    text = true;
                    self.utf8.reset();
                }
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => {}
        }
        Ok(PartialFrame {
            header: *header,
            // The decoder's header is at most 14 bytes.
            header_len: u8::try_from(header_len).unwrap_or(u8::MAX),
            payload_len,
            done: 0,
            // Compressed text is checked once inflated.
            text: text && !compressed,
            compressed,
        })
    }

    fn complete_frame(
        &mut self,
        frame: &PartialFrame,
        payload: Range<usize>,
        tx: &mut impl Outbox,
        config: &Config,
    ) -> Result<Option<RawEvent>, ProtocolError> {
        let fin = frame.header.fin;
        Ok(Some(match frame.header.opcode {
            OpCode::Text | OpCode::Binary => {
                let kind = if frame.header.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                if frame.compressed {
                    self.inflate(payload, fin, kind, config)?;
                    if fin {
                        self.assembly_delivered = true;
                        return Ok(Some(RawEvent::Assembled(kind)));
                    }
                } else if fin {
                    return Ok(Some(RawEvent::Single(kind, payload)));
                } else {
                    self.assembly.extend_from_slice(&self.buf[payload]);
                }
                if config.max_fragments() < 2 {
                    return Err(ProtocolError::TooManyFragments);
                }
                self.fragmented = Some(Fragmented {
                    kind,
                    fragments: 1,
                    compressed: frame.compressed,
                });
                return Ok(None);
            }
            OpCode::Continuation => {
                let Some(fragmented) = self.fragmented else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                if fragmented.compressed {
                    self.inflate(payload, fin, fragmented.kind, config)?;
                } else {
                    self.assembly.extend_from_slice(&self.buf[payload]);
                }
                if !fin {
                    return Ok(None);
                }
                self.fragmented = None;
                self.assembly_delivered = true;
                RawEvent::Assembled(fragmented.kind)
            }
            OpCode::Ping => {
                if config.auto_pong() {
                    tx.owe_pong(&self.buf[payload.clone()]);
                }
                RawEvent::Ping(payload)
            }
            OpCode::Pong => RawEvent::Pong(payload),
            OpCode::Close => {
                let (code, reason) = parse_close(&self.buf[payload.clone()])?;
                tx.on_close_received(code);
                RawEvent::Close(
                    code,
                    payload.start + reason.start..payload.start + reason.end,
                )
            }
        }))
    }
}

impl Reader {
    /// Inflates one frame of a compressed message into the reassembly
    /// buffer, bounded by the message limit as it goes (a small frame cannot
    /// inflate past `max_message_size`). Text is checked as it inflates, to
    /// fail fast; the last frame is left to the final check.
    #[cfg(feature = "deflate")]
    fn inflate(
        &mut self,
        payload: Range<usize>,
        fin: bool,
        kind: MessageKind,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        use crate::deflate::DeflateError;
        let Some(inflater) = self.inflater.as_mut() else {
            return Err(ProtocolError::ReservedBits);
        };
        let max = config.max_message_size();
        let before = self.assembly.len();
        let result = inflater
            .decompress(&self.buf[payload], &mut self.assembly, max)
            .and_then(|()| {
                if fin {
                    inflater.finish_message(&mut self.assembly, max)
                } else {
                    Ok(())
                }
            });
        match result {
            Ok(()) => {}
            Err(DeflateError::TooLarge) => return Err(ProtocolError::MessageTooLarge),
            Err(_) => return Err(ProtocolError::InvalidCompressedData),
        }
        if kind == MessageKind::Text && !fin {
            self.utf8
                .feed(&self.assembly[before..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate(
        &mut self,
        _payload: Range<usize>,
        _fin: bool,
        _kind: MessageKind,
        _config: &Config,
    ) -> Result<(), ProtocolError> {
        // Unreachable in practice: RSV1 is refused when no extension allows it.
        Err(ProtocolError::ReservedBits)
    }
}

/// The message size limit in the connection's mode.
fn message_limit(config: &Config) -> usize {
    if config.streaming() {
        config.streamed_message_limit().unwrap_or(usize::MAX)
    } else {
        config.max_message_size()
    }
}

impl Reader {
    /// Whether `more` bytes take the message in progress past its limit.
    fn over_message_limit(&self, config: &Config, more: usize) -> bool {
        let so_far = if config.streaming() {
            self.stream.received()
        } else {
            self.assembly.len()
        };
        so_far.saturating_add(more) > message_limit(config)
    }
}

/// Section 5.5.1: a close payload is empty, or a 2-byte code and a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<(CloseCode, Range<usize>), ProtocolError> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, 0..0)),
        [_] => Err(ProtocolError::CloseTooShort),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok((code, 2..payload.len()))
        }
    }
}
