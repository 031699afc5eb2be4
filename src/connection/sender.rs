//! The outgoing half: frames what the application sends, owes the protocol's
//! automatic replies, and tracks the sending side of the close handshake.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{Role, State};
use crate::error::{ProtocolError, UsageError};
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask, mask_into};
use crate::mask_source::MaskSource;
use crate::message::{CloseCode, Message, MessageKind};
use crate::utf8::Utf8Validator;

mod stream;

/// Once this much output is waiting, an owed pong stays owed (only the latest
/// is kept) instead of being queued, so a ping flood from a peer that does
/// not read cannot grow the output buffer.
const PONG_QUEUE_HIGH_WATER: usize = 16 * 1024;

/// Appends `payload` masked with `key`: one pass that copies and XORs,
/// instead of a copy and then a second pass over the copy.
fn extend_masked(out: &mut Vec<u8>, payload: &[u8], key: [u8; 4]) {
    let start = out.len();
    out.resize(start + payload.len(), 0);
    mask_into(&mut out[start..], payload, key);
}

/// The header of a whole unfragmented message, for the vectored sends.
fn frame_head(opcode: OpCode, mask: Option<[u8; 4]>, payload_len: usize) -> FrameHead {
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload_len as u64,
    };
    let mut bytes = [0u8; MAX_HEADER_LEN];
    let len = header.encode(&mut bytes) as u8;
    FrameHead { bytes, len }
}

/// RSV1, which permessage-deflate uses to mark a compressed message.
#[cfg(feature = "deflate")]
const RSV1: u8 = 0b100;

/// Output this large is released once fully written, so that one big message
/// does not pin its buffer for the life of the connection.
const OUTPUT_KEEP_CAPACITY: usize = 64 * 1024;

/// A frame header handed out by [`Sender::send_vectored`], for the caller
/// to write before the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl FrameHead {
    /// The header bytes (2 to 10 for a server's unmasked frames, 6 to 14
    /// with a client's masking key).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The sending half of a [`Connection`](super::Connection).
///
/// Obtained from [`Connection::next_event_with_sender`](super::Connection::next_event_with_sender)
/// so that an event borrowed from the receiving half can be answered (echoed,
/// for instance) without copying it first. Every method here is also
/// available on `Connection` itself.
pub struct Sender {
    role: Role,
    out: Vec<u8>,
    /// Bytes before this index were already written by the caller.
    out_start: usize,
    masks: Option<Box<dyn MaskSource>>,
    /// The kind of the fragmented message being sent, if any.
    outgoing: Option<MessageKind>,
    outgoing_utf8: Utf8Validator,
    open: bool,
    close_sent: bool,
    close_received: bool,
    failed: bool,
    /// The one owed control reply, the pong for the latest ping: allocated
    /// on the first ping and reused for every later one (a ping flood never
    /// allocates per ping), freed by `release_if_drained` when nothing is
    /// owed, so that an idle connection does not carry 125 bytes for it.
    pong: Option<Box<PongSlot>>,
    /// permessage-deflate, once negotiated (boxed: 8 bytes on a connection
    /// without compression rather than the compressor's settings).
    #[cfg(feature = "deflate")]
    deflater: Option<Box<Deflating>>,
    /// The fragmented message being sent is compressed.
    #[cfg(feature = "deflate")]
    outgoing_compressed: bool,
    /// A message streamed with `begin_message` / `write_chunk` / `finish_message`.
    /// (Boxed while a message is streamed: 8 bytes otherwise, not 40.)
    stream: Option<Box<stream::OutStream>>,
}

/// permessage-deflate's sending state, boxed together: a connection without
/// compression carries one empty pointer for it.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Deflating {
    compressor: crate::deflate::Compressor,
    /// Compressed payload under construction (kept to reuse its allocation).
    scratch: Vec<u8>,
}

/// The payload of the pong owed for the latest ping.
#[derive(Debug)]
struct PongSlot {
    payload: [u8; 125],
    len: u8,
    /// The pong is owed (not yet queued).
    owed: bool,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("pending_output", &self.pending_output().len())
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(super) fn new(role: Role, masks: Option<Box<dyn MaskSource>>, open: bool) -> Self {
        Self {
            role,
            out: Vec::new(),
            out_start: 0,
            masks,
            outgoing: None,
            outgoing_utf8: Utf8Validator::new(),
            open,
            close_sent: false,
            close_received: false,
            failed: false,
            pong: None,
            #[cfg(feature = "deflate")]
            deflater: None,
            #[cfg(feature = "deflate")]
            #[cfg(feature = "deflate")]
            outgoing_compressed: false,
            stream: None,
        }
    }

    #[cfg(feature = "deflate")]
    pub(super) fn set_deflater(&mut self, deflater: crate::deflate::Compressor) {
        self.deflater = Some(Box::new(Deflating {
            compressor: deflater,
            scratch: Vec::new(),
        }));
    }

    /// The connection's lifecycle state.
    pub fn state(&self) -> State {
        if self.failed || (self.close_sent && self.close_received) {
            State::Closed
        } else if !self.open {
            State::Connecting
        } else if self.close_sent {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Bytes waiting to be written to the peer. Write any prefix of them,
    /// then report how many with [`advance_output`](Self::advance_output).
    #[inline]
    pub fn pending_output(&self) -> &[u8] {
        &self.out[self.out_start..]
    }

    /// Marks the first `n` bytes of [`pending_output`](Self::pending_output)
    /// as written. `n` larger than what is pending counts as all of it.
    // Inline, with the owed-pong check first: a driver calls this after
    // every write, and a pong is rarely held back.
    #[inline]
    pub fn advance_output(&mut self, n: usize) {
        self.out_start = (self.out_start + n).min(self.out.len());
        if self.out_start == self.out.len() {
            self.out.clear();
            self.out_start = 0;
            if self.out.capacity() > OUTPUT_KEEP_CAPACITY {
                self.out = Vec::new();
            }
            if self.pong.as_ref().is_some_and(|slot| slot.owed) {
                self.flush_owed_pong();
            }
        }
    }

    /// Whether there is output waiting to be written.
    #[inline]
    pub fn wants_write(&self) -> bool {
        self.out_start < self.out.len()
    }

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), UsageError> {
        self.send_message(OpCode::Text, text.as_bytes())
    }

    /// Sends a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.send_message(OpCode::Binary, data)
    }

    /// Sends a whole message of either kind (an echo is `send(message)`).
    pub fn send(&mut self, message: Message<'_>) -> Result<(), UsageError> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Sends one fragment of a message streamed in pieces.
    ///
    /// The first call starts a message of `kind`; later calls must name the
    /// same kind and continue it; the call with `fin` set ends it. Control
    /// frames (ping, pong, close) may be sent between fragments; whole
    /// messages may not. For text, the fragments together must be UTF-8, but a
    /// fragment may end inside a character.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), UsageError> {
        if self.stream.is_some() {
            // The message belongs to `begin_message`'s stream.
            return Err(UsageError::MessageInProgress);
        }
        self.fragment(kind, payload, fin, false)
    }

    /// One frame of a fragmented message. `streamed`: from
    /// `begin_message`'s stream, whose text was checked as it was written,
    /// which is compressed whatever its size, and whose frames each end
    /// with a sync flush so the peer can inflate each as it arrives.
    fn fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
        streamed: bool,
    ) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        let opcode = match self.outgoing {
            Some(current) if current != kind => return Err(UsageError::NoMessageInProgress),
            Some(_) => OpCode::Continuation,
            None => {
                // A stream's text was checked from `begin_message` on.
                if !streamed {
                    self.outgoing_utf8.reset();
                }
                match kind {
                    MessageKind::Text => OpCode::Text,
                    MessageKind::Binary => OpCode::Binary,
                }
            }
        };
        if kind == MessageKind::Text && !streamed {
            let mut check = self.outgoing_utf8;
            check.feed(payload).map_err(|_| UsageError::InvalidUtf8)?;
            if fin && !check.is_complete() {
                return Err(UsageError::InvalidUtf8);
            }
            self.outgoing_utf8 = check;
        }
        self.outgoing = if fin { None } else { Some(kind) };
        #[cfg(feature = "deflate")]
        if let Some(deflater) = &mut self.deflater {
            if opcode != OpCode::Continuation {
                self.outgoing_compressed =
                    streamed || deflater.compressor.should_compress(payload.len());
            }
            if self.outgoing_compressed {
                // RFC 7692 section 6.1: RSV1 on the first frame of a compressed message only.
                let rsv = if opcode == OpCode::Continuation {
                    0
                } else {
                    RSV1
                };
                let mut scratch = core::mem::take(&mut deflater.scratch);
                scratch.clear();
                deflater.compressor.compress_fragment(payload, &mut scratch);
                if fin {
                    deflater.compressor.finish_message(&mut scratch);
                } else if streamed {
                    deflater.compressor.flush_fragment(&mut scratch);
                }
                self.write_frame_rsv(opcode, fin, rsv, &scratch);
                self.keep_scratch(scratch);
                return Ok(());
            }
        }
        self.write_frame(opcode, fin, payload);
        Ok(())
    }

    /// Sends a ping (payload at most 125 bytes). Allowed until a close frame
    /// has been sent.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong (payload at most 125 bytes), for instance as
    /// a unidirectional heartbeat (RFC 6455 section 5.5.3).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake with `code` and a `reason` of at most 123
    /// bytes. After this, no more data may be sent; received messages are
    /// still delivered until the peer's close frame arrives.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        if !code.is_valid_on_wire() {
            return Err(UsageError::InvalidCloseCode(code.0));
        }
        if reason.len() > 123 {
            return Err(UsageError::CloseReasonTooLong);
        }
        self.check_open_for_control()?;
        self.write_close(Some(code), reason.as_bytes());
        Ok(())
    }

    /// Sends a whole message without copying its payload: returns the frame
    /// header, which the caller writes right after
    /// [`pending_output`](Self::pending_output) and right before the
    /// payload, typically with one vectored write (`write_vectored` of the
    /// three slices). Nothing else may be written in between: call no other
    /// `send_*` and no `next_event` (which may queue a pong) until the
    /// payload is written.
    ///
    /// For large messages from a server this saves the copy into the output
    /// buffer. A client must mask, so it gets
    /// [`UsageError::VectoredUnavailable`], as does a connection that
    /// negotiated compression: use [`send`](Self::send) there.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Message};
    /// let mut server = Connection::open_server(Config::default());
    /// let payload = vec![7u8; 100_000];
    /// let head = server.sender().send_vectored(Message::Binary(&payload))?;
    /// let mut wire = server.pending_output().to_vec(); // empty here
    /// wire.extend_from_slice(head.as_bytes());
    /// wire.extend_from_slice(&payload); // in real code: one write_vectored
    /// assert_eq!(&wire[..4], [0x82, 127, 0, 0]);
    /// # Ok::<(), wsmachine::UsageError>(())
    /// ```
    pub fn send_vectored(&mut self, message: Message<'_>) -> Result<FrameHead, UsageError> {
        self.check_can_send_data()?;
        if self.outgoing.is_some() || self.stream.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        if self.deflater.is_some() {
            return Err(UsageError::VectoredUnavailable);
        }
        if self.masks.is_some() {
            return Err(UsageError::VectoredUnavailable);
        }
        let opcode = match message {
            Message::Text(_) => OpCode::Text,
            Message::Binary(_) => OpCode::Binary,
        };
        Ok(frame_head(opcode, None, message.as_bytes().len()))
    }

    /// Sends a whole message from a buffer the caller owns and lends
    /// mutably, without copying it: a client's payload is masked in place
    /// (RFC 6455 section 5.3), one pass over it, and the buffer then holds
    /// the frame's payload as it goes on the wire; a server's is left as it
    /// is. Returns the frame header (with the masking key), which the caller
    /// writes right after [`pending_output`](Self::pending_output) and right
    /// before the buffer, as for [`send_vectored`](Self::send_vectored), with
    /// the same rule: nothing else may be sent or read in between.
    ///
    /// [`send`](Self::send) copies a client's payload into the output
    /// buffer as it masks it, because it may not change the caller's bytes;
    /// this is for a client sending large messages it does not need
    /// afterwards. Text is checked to be UTF-8 first ([`UsageError::InvalidUtf8`],
    /// nothing masked). A connection that negotiated compression gets
    /// [`UsageError::VectoredUnavailable`].
    ///
    /// ```
    /// use wsmachine::{Config, Connection, MessageKind};
    /// // (A fixed key for the example only: real masks must be unpredictable.)
    /// let mut client = Connection::open_client(Config::default(), || [1, 2, 3, 4]);
    /// let mut payload = vec![7u8; 100_000];
    /// let head = client.sender().send_in_place(MessageKind::Binary, &mut payload)?;
    /// let head = head.as_bytes();
    /// assert_eq!(head[..2], [0x82, 0x80 | 127]); // masked, 64-bit length
    /// let key = &head[10..14];
    /// assert!(payload.iter().enumerate().all(|(i, b)| b ^ key[i % 4] == 7));
    /// # Ok::<(), wsmachine::UsageError>(())
    /// ```
    pub fn send_in_place(
        &mut self,
        kind: MessageKind,
        payload: &mut [u8],
    ) -> Result<FrameHead, UsageError> {
        self.check_can_send_data()?;
        if self.outgoing.is_some() || self.stream.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        if self.deflater.is_some() {
            return Err(UsageError::VectoredUnavailable);
        }
        let opcode = match kind {
            MessageKind::Text => {
                crate::utf8::to_str(payload).map_err(|_| UsageError::InvalidUtf8)?;
                OpCode::Text
            }
            MessageKind::Binary => OpCode::Binary,
        };
        // RFC 6455 section 5.3: a client "MUST mask all frames that it sends
        // to the server"; a server "MUST NOT mask any frames".
        let mask = self.masks.as_mut().map(|source| source.next_mask());
        if let Some(key) = mask {
            apply_mask(payload, key, 0);
        }
        Ok(frame_head(opcode, mask, payload.len()))
    }

    fn send_message(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), UsageError> {
        self.check_can_send_data()?;
        if self.outgoing.is_some() || self.stream.is_some() {
            return Err(UsageError::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        if let Some(deflater) = &mut self.deflater
            && deflater.compressor.should_compress(payload.len())
        {
            let mut scratch = core::mem::take(&mut deflater.scratch);
            scratch.clear();
            deflater.compressor.compress(payload, &mut scratch);
            self.write_frame_rsv(opcode, true, RSV1, &scratch);
            self.keep_scratch(scratch);
            return Ok(());
        }
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    #[cfg(feature = "deflate")]
    fn keep_scratch(&mut self, scratch: Vec<u8>) {
        if let Some(deflater) = &mut self.deflater
            && scratch.capacity() <= OUTPUT_KEEP_CAPACITY
        {
            deflater.scratch = scratch;
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), UsageError> {
        if payload.len() > 125 {
            return Err(UsageError::ControlTooLong);
        }
        self.check_open_for_control()?;
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    fn check_open_for_control(&self) -> Result<(), UsageError> {
        match self.state() {
            State::Connecting => Err(UsageError::NotOpen),
            State::Open => Ok(()),
            State::Closing | State::Closed => Err(UsageError::Closed),
        }
    }

    fn check_can_send_data(&self) -> Result<(), UsageError> {
        self.check_open_for_control()?;
        // RFC 6455 section 5.5.1: "After sending a Close frame, the endpoint
        // MUST NOT send any further data frames." A received close is answered
        // at once, so it closes the sending side too.
        if self.close_received {
            return Err(UsageError::Closed);
        }
        Ok(())
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv(opcode, fin, 0, payload);
    }

    pub(super) fn write_frame_rsv(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        // RFC 6455 section 5.3: a client "MUST mask all frames that it sends
        // to the server"; a server "MUST NOT mask any frames".
        let mask = self.masks.as_mut().map(|source| source.next_mask());
        if mask.is_none() && payload.len() < 126 {
            // A server's small frame (most of an echo server's): two header
            // bytes, built here rather than through the general encoder and
            // its 14-byte staging array.
            self.compact();
            let b0 = (u8::from(fin) << 7) | ((rsv & 0x7) << 4) | opcode.as_u8();
            self.out.reserve(2 + payload.len());
            self.out.extend_from_slice(&[b0, payload.len() as u8]);
            self.out.extend_from_slice(payload);
            return;
        }
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.compact();
        // The whole header array, then cut to its length: a copy of a
        // constant size is a few stores, a copy of `head_len` bytes a call.
        let start = self.out.len();
        self.out.reserve(MAX_HEADER_LEN + payload.len());
        self.out.extend_from_slice(&head);
        self.out.truncate(start + head_len);
        match mask {
            Some(key) => extend_masked(&mut self.out, payload, key),
            None => self.out.extend_from_slice(payload),
        }
    }

    /// Drops already-written bytes once they are most of the buffer, so the
    /// buffer does not creep forward forever under partial writes.
    fn compact(&mut self) {
        if self.out_start > 0 && self.out_start >= self.out.len() / 2 {
            self.out.drain(..self.out_start);
            self.out_start = 0;
        }
    }

    fn write_close(&mut self, code: Option<CloseCode>, reason: &[u8]) {
        let mut payload = [0u8; 125];
        let len = match code {
            Some(code) => {
                payload[..2].copy_from_slice(&code.0.to_be_bytes());
                payload[2..2 + reason.len()].copy_from_slice(reason);
                2 + reason.len()
            }
            None => 0,
        };
        self.write_frame(OpCode::Close, true, &payload[..len]);
        self.close_sent = true;
        self.pong = None;
    }

    /// Records the pong owed for a ping and queues it if output is not backed up.
    pub(super) fn owe_pong(&mut self, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        let slot = self.pong.get_or_insert_with(|| {
            Box::new(PongSlot {
                payload: [0; 125],
                len: 0,
                owed: false,
            })
        });
        // payload.len() <= 125: checked by the frame decoder.
        let len = payload.len().min(slot.payload.len());
        slot.payload[..len].copy_from_slice(&payload[..len]);
        slot.len = len as u8;
        slot.owed = true;
        self.flush_owed_pong();
    }

    fn flush_owed_pong(&mut self) {
        if self.pending_output().len() >= PONG_QUEUE_HIGH_WATER || self.close_sent {
            return;
        }
        // Taken out and put back, so that the slot is not borrowed while
        // the frame is written.
        if let Some(mut slot) = self.pong.take() {
            if core::mem::take(&mut slot.owed) {
                self.write_frame(OpCode::Pong, true, &slot.payload[..usize::from(slot.len)]);
            }
            self.pong = Some(slot);
        }
    }

    /// The peer's close frame arrived: answer it (RFC 6455 section 5.5.1:
    /// "the endpoint MUST send a Close frame in response ... typically echoing
    /// the status code it received") unless ours was already sent.
    pub(super) fn on_close_received(&mut self, code: CloseCode) {
        self.close_received = true;
        if !self.close_sent {
            let echo = (code != CloseCode::NO_STATUS).then_some(code);
            self.write_close(echo, b"");
        }
    }

    /// The connection failed: send the close frame the error calls for
    /// (RFC 6455 section 7.1.7, _Fail the WebSocket Connection_), unless one
    /// was sent already or the peer is gone.
    pub(super) fn fail(&mut self, error: &ProtocolError) {
        let peer_gone_or_not_websocket = matches!(
            error,
            ProtocolError::AbnormalClosure | ProtocolError::Handshake(_)
        );
        if !self.close_sent && !peer_gone_or_not_websocket {
            self.write_close(Some(error.close_code()), b"");
        }
        self.failed = true;
    }

    /// A timer expired: a dead peer gets the close frame Python websockets
    /// sends it (1011); an unfinished handshake and an unanswered close get
    /// nothing more. Either way the connection is over.
    pub(super) fn expire(&mut self, timeout: crate::error::Timeout) {
        if timeout == crate::error::Timeout::DeadPeer && self.open && !self.close_sent {
            self.write_close(Some(CloseCode::INTERNAL_ERROR), b"keepalive ping timeout");
        }
        self.failed = true;
    }

    /// Frees the output buffer (and the compression scratch) if nothing
    /// waits to be written.
    pub(super) fn release_if_drained(&mut self) {
        if self.out_start == self.out.len() {
            self.out = Vec::new();
            self.out_start = 0;
        }
        if self.pong.as_ref().is_some_and(|slot| !slot.owed) {
            self.pong = None;
        }
        #[cfg(feature = "deflate")]
        {
            if let Some(deflater) = &mut self.deflater {
                deflater.scratch = Vec::new();
            }
        }
    }

    pub(super) fn memory_usage(&self) -> usize {
        let stream = self.stream.as_ref().map_or(0, |s| {
            s.capacity() + core::mem::size_of::<stream::OutStream>()
        }) + self
            .pong
            .as_ref()
            .map_or(0, |_| core::mem::size_of::<PongSlot>());
        #[cfg(feature = "deflate")]
        return self.out.capacity()
            + stream
            + self
                .deflater
                .as_ref()
                .map_or(0, |d| d.compressor.memory_usage() + d.scratch.capacity());
        #[cfg(not(feature = "deflate"))]
        return self.out.capacity() + stream;
    }

    pub(super) fn set_open(&mut self) {
        self.open = true;
    }

    /// Ends the connection without a close frame (a refused handshake).
    pub(super) fn set_failed(&mut self) {
        self.failed = true;
    }

    /// The output buffer itself, for the handshake's HTTP messages.
    pub(super) fn raw_output(&mut self) -> &mut Vec<u8> {
        self.compact();
        &mut self.out
    }

    /// Sixteen random bytes for a `Sec-WebSocket-Key`, from the mask source.
    pub(super) fn random_key_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        if let Some(source) = self.masks.as_mut() {
            for chunk in bytes.chunks_exact_mut(4) {
                chunk.copy_from_slice(&source.next_mask());
            }
        }
        bytes
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state() == State::Closed
    }

    /// Close sent, close received, failed: what a receiving half split off
    /// this sender starts from.
    pub(super) fn close_flags(&self) -> (bool, bool, bool) {
        (self.close_sent, self.close_received, self.failed)
    }

    /// Sends what the receiving half of a split connection owes the peer
    /// ([`Receiver::take_owed`](super::Receiver::take_owed)): the pong for
    /// its latest ping, a keepalive ping, and the reply to the peer's close
    /// or the close frame a failure calls for. Call it before every
    /// transmit; the adapters' halves do.
    pub fn deliver(&mut self, owed: super::Owed) {
        if let Some((slot, len)) = owed.pong {
            self.owe_pong(&slot[..usize::from(len)]);
        }
        if let Some(ping) = owed.ping
            && self.state() == State::Open
        {
            self.write_frame(OpCode::Ping, true, &ping);
        }
        match owed.close {
            Some(super::OwedClose::Reply(code)) => self.on_close_received(code),
            Some(super::OwedClose::Fail(error)) => self.fail(&error),
            Some(super::OwedClose::Expire(timeout)) => self.expire(timeout),
            None => {}
        }
    }
}

impl super::split::Outbox for Sender {
    fn close_received(&self) -> bool {
        self.close_received
    }

    fn owe_pong(&mut self, payload: &[u8]) {
        Sender::owe_pong(self, payload);
    }

    fn on_close_received(&mut self, code: CloseCode) {
        Sender::on_close_received(self, code);
    }
}
