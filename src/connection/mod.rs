//! The connection state machine: one [`Connection`] type for both roles.

mod opening;
mod reader;
mod sender;
mod split;
mod timers;

use alloc::boxed::Box;
use alloc::vec::Vec;

use opening::Opening;
pub use opening::{Accept, HandshakeResponse};
use reader::{RawEvent, Reader};
pub use sender::{FrameHead, Sender};
use split::OwedClose;
pub use split::{Owed, Receiver};

use crate::config::Config;
use crate::error::{ProtocolError, Timeout, UsageError};
use crate::handshake::{
    ClientRequest, HandshakeRequest, RequestParser, ResponseParser, generate_key,
};
use crate::mask_source::MaskSource;
use crate::message::{Chunk, CloseCode, CloseFrame, Message, MessageKind};
use crate::time::Timestamp;
use timers::{Action, Timers};

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection; masks every frame it sends.
    Client,
    /// The end that accepted it; never masks.
    Server,
}

/// Where a connection is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// This end sent a close frame and awaits the peer's; messages the peer
    /// sends meanwhile are still delivered.
    Closing,
    /// Both close frames were exchanged, or the connection failed or ended.
    /// Once [`pending_output`](Connection::pending_output) is written, the
    /// transport can be closed (RFC 6455 section 7.1.1: the server first).
    Closed,
}

/// Something that happened on the connection, borrowed from it until the next
/// call that changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Server: a client's opening handshake request, valid by RFC 6455 and
    /// the origin policy. Answer it with [`Connection::accept`] or
    /// [`Connection::reject`]; until then no further events come.
    Handshake(&'a HandshakeRequest),
    /// Client: the server accepted the handshake (101); the connection is open.
    Connected(&'a HandshakeResponse),
    /// A complete text or binary message.
    Message(Message<'a>),
    /// A ping; with [`Config::auto_pong`] on, its pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame; the reply is already queued and the connection
    /// is now [`State::Closed`].
    Close(CloseFrame<'a>),
    /// Streaming mode ([`Config::with_streaming`]): the bytes of a text or
    /// binary message that have arrived so far, in place of
    /// [`Event::Message`].
    Chunk(Chunk<'a>),
}

/// A WebSocket connection: bytes in, events and bytes out. One type for both
/// roles; see the [crate docs](crate) for a driving loop.
///
/// ```text
///                 send close                   peer's close arrives
///   +------+  ------------------->  +---------+  ------------------>  +--------+
///   | Open |                        | Closing |                       | Closed |
///   +------+  ----------------------------------------------------->  +--------+
///       |      peer's close arrives (our reply is queued at once)         ^
///       +-----------------------------------------------------------------+
///               protocol error (our close frame is queued) or EOF
/// ```
///
/// The methods fall into four groups (the order quinn-proto documents):
///
/// - **input**: [`receive`](Connection::receive) (or
///   [`read_buf`](Connection::read_buf) + [`filled`](Connection::filled)) and
///   [`receive_eof`](Connection::receive_eof);
/// - **events**: [`next_event`](Connection::next_event), called until it
///   returns `None` after each input;
/// - **commands**: [`send_text`](Connection::send_text),
///   [`send_binary`](Connection::send_binary), [`send_ping`](Connection::send_ping),
///   [`close`](Connection::close), ...;
/// - **output**: [`pending_output`](Connection::pending_output), then
///   [`advance_output`](Connection::advance_output) with what was written;
/// - **time**: [`poll_timeout`](Connection::poll_timeout) for the next
///   deadline, [`handle_timeout`](Connection::handle_timeout) when it passes
///   (and, for exact keepalive, after every read).
pub struct Connection {
    role: Role,
    /// One pointer: clones of a `Config` share its settings.
    config: Config,
    reader: Reader,
    sender: Sender,
    opening: Opening,
    timers: Timers,
    /// The 101 arrived and [`Event::Connected`] has not been reported yet.
    announce_connected: bool,
    #[cfg(feature = "deflate")]
    deflate_params: Option<crate::deflate::PmdParams>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server that starts by reading the client's HTTP/1.1 opening
    /// handshake; [`next_event`](Self::next_event) hands it out as
    /// [`Event::Handshake`] once it is complete and valid.
    ///
    /// ```
    /// use wsmachine::{Accept, Config, Connection, Event, State};
    /// let mut server = Connection::server(Config::default());
    /// server.receive(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    ///     Sec-WebSocket-Version: 13\r\n\r\n");
    /// let Some(Event::Handshake(request)) = server.next_event()? else { panic!() };
    /// assert_eq!(request.path(), "/chat");
    /// server.accept(Accept::new())?;
    /// assert_eq!(server.state(), State::Open);
    /// assert!(server.pending_output().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server(config: Config) -> Self {
        let mut conn = Self::new(Role::Server, config, None, false);
        conn.opening = Opening::AwaitRequest(Box::new(RequestParser::new()));
        conn
    }

    /// A client whose opening handshake `request` (with a fresh random
    /// `Sec-WebSocket-Key` from `masks`) is already in the output.
    /// [`next_event`](Self::next_event) reports [`Event::Connected`] once the
    /// server's 101 arrives and checks out.
    ///
    /// Fails with [`UsageError::InvalidHeader`] if the request carries a
    /// header that cannot be sent.
    pub fn client(
        request: &ClientRequest,
        config: Config,
        masks: impl MaskSource + 'static,
    ) -> Result<Self, UsageError> {
        #[cfg(feature = "deflate")]
        let offered;
        #[cfg(feature = "deflate")]
        let request = {
            let already = request
                .extensions()
                .iter()
                .any(|e| e.is(crate::deflate::EXTENSION_NAME));
            offered = match crate::deflate::client_offer(config.deflate()) {
                Some(offer) if !already => request
                    .clone()
                    .extensions_header(&offer)
                    .map_err(|_| UsageError::InvalidHeader)?,
                _ => request.clone(),
            };
            &offered
        };
        let mut conn = Self::new(Role::Client, config, Some(Box::new(masks)), false);
        let key = generate_key(conn.sender.random_key_bytes());
        request
            .write_request(&key, conn.sender.raw_output())
            .map_err(|_| UsageError::InvalidHeader)?;
        conn.opening = Opening::AwaitResponse(Box::new(opening::AwaitResponse {
            parser: ResponseParser::new(),
            request: request.clone(),
            key,
        }));
        Ok(conn)
    }

    /// A server-side connection that is already open: the opening handshake
    /// happened elsewhere (an existing HTTP server, or HTTP/2 extended
    /// CONNECT, RFC 8441).
    pub fn open_server(config: Config) -> Self {
        Self::new(Role::Server, config, None, true)
    }

    /// A client-side connection that is already open, masking its frames
    /// with keys from `masks`.
    pub fn open_client(config: Config, masks: impl MaskSource + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(masks)), true)
    }

    /// An already-open connection in `role`; a client takes its masking keys
    /// from the operating system ([`OsRandom`](crate::OsRandom)).
    #[cfg(feature = "std")]
    pub fn open(role: Role, config: Config) -> Self {
        match role {
            Role::Server => Self::open_server(config),
            Role::Client => Self::open_client(config, crate::OsRandom::new()),
        }
    }

    fn new(role: Role, config: Config, masks: Option<Box<dyn MaskSource>>, open: bool) -> Self {
        Self {
            role,
            config,
            reader: Reader::default(),
            sender: Sender::new(role, masks, open),
            opening: Opening::Done,
            timers: Timers::default(),
            announce_connected: false,
            #[cfg(feature = "deflate")]
            deflate_params: None,
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.sender.state()
    }

    /// Heap bytes held by the connection's buffers (input, reassembly and
    /// output capacity) and, with permessage-deflate, by its compressor and
    /// decompressor state. The buffers are bounded by the limits in
    /// [`Config`] plus the size of the largest single input and unwritten
    /// output; the codec state by the negotiated window and the
    /// [`CompressorMemory`](crate::deflate::CompressorMemory) preset (0 for a
    /// direction not yet used, or borrowing a per-thread state between
    /// messages).
    pub fn memory_usage(&self) -> usize {
        #[cfg(feature = "deflate")]
        let inflater = self
            .reader
            .inflater
            .as_ref()
            .map_or(0, |d| d.memory_usage());
        #[cfg(not(feature = "deflate"))]
        let inflater = 0;
        self.reader.memory_usage() + self.sender.memory_usage() + inflater
    }

    /// Frees the input, reassembly and output buffers where they hold
    /// nothing (no unconsumed input, no frame or fragmented message in
    /// progress, no unwritten output).
    ///
    /// The engine keeps drained buffers of up to 64 KiB for the next message,
    /// which costs a server holding many idle connections a few hundred bytes
    /// to kilobytes each. Calling this when a connection goes idle trades an
    /// allocation on its next message for that memory meanwhile; what is
    /// still pending is kept, so it is safe to call at any time.
    ///
    /// ```
    /// use wsmachine::{Config, Connection};
    /// let mut ws = Connection::open_server(Config::default());
    /// ws.send_text("hello").unwrap();
    /// ws.release_idle_buffers(); // the unwritten frame stays
    /// assert!(ws.memory_usage() > 0);
    /// let n = ws.pending_output().len();
    /// ws.advance_output(n);
    /// ws.release_idle_buffers();
    /// assert_eq!(ws.memory_usage(), 0);
    /// ```
    pub fn release_idle_buffers(&mut self) {
        self.reader.release_if_drained();
        self.sender.release_if_drained();
    }

    /// Whether the connection is closed (see [`State::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    // ---- input ----

    /// Feeds bytes received from the peer. Any split of the byte stream gives
    /// the same events. Feed socket-sized reads (say up to 64 KiB): a single
    /// huge input is buffered whole. Call [`next_event`](Self::next_event) until it
    /// returns `None` before feeding more, so that at most one partial frame
    /// is held. Bytes after the peer's close frame are ignored.
    #[inline]
    pub fn receive(&mut self, data: &[u8]) {
        if !self.is_closed() && !data.is_empty() {
            self.timers.heard();
            self.reader.receive(data);
        }
    }

    /// Writable space of at least `min` bytes at the end of the input buffer,
    /// to read into directly (saving the copy that [`receive`](Self::receive)
    /// makes); report how much was read with [`filled`](Self::filled).
    ///
    /// The buffer keeps up to about three times `min` while idle (working
    /// space, reused without zeroing); a server holding many idle
    /// connections can instead read into one shared buffer and call
    /// `receive`, which keeps nothing once the input is consumed.
    #[inline]
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.reader.read_space(min.max(1))
    }

    /// Marks `n` bytes of [`read_buf`](Self::read_buf) as received.
    #[inline]
    pub fn filled(&mut self, n: usize) {
        if !self.is_closed() && n > 0 {
            self.timers.heard();
            self.reader.filled(n);
        }
    }

    /// Bytes received and not yet turned into events. Once
    /// [`next_event`](Self::next_event) has returned `None`, this is the part
    /// of a frame still arriving (0 between frames, and for a frame whose
    /// payload the streaming mode has handed out).
    #[inline]
    pub fn buffered_input_len(&self) -> usize {
        self.reader.unconsumed()
    }

    /// Exchanges input buffers with the caller: the connection reads from
    /// `buf` from now on, and `buf` comes back holding the buffer the
    /// connection had (its contents are meaningless). Unconsumed input moves
    /// along, copied to the front of the buffer taken; the buffer's length
    /// is kept as room to [`read_buf`](Self::read_buf) into, without zeroing.
    ///
    /// A server reading many connections on one thread can keep one input
    /// buffer for all of them, as uWebSockets does with its one receive
    /// buffer: lend it before a read, take it back once the events are
    /// taken. That buffer stays in the CPU cache, where each connection's
    /// own would be cold by its next message, and an idle connection holds
    /// no input buffer. Lend it only when
    /// [`buffered_input_len`](Self::buffered_input_len) is small (0 between
    /// frames): what a connection holds is copied each way.
    ///
    /// ```
    /// use wsmachine::{Config, Connection, Event, Message};
    /// let mut server = Connection::open_server(Config::default());
    /// let mut shared = vec![0u8; 64 * 1024]; // one per thread
    /// // The masked frame "hi" arrives in two reads.
    /// let frame = [0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2];
    /// let mut messages = 0;
    /// for read in [&frame[..4], &frame[4..]] {
    ///     server.swap_input_buffer(&mut shared); // lend
    ///     let room = server.read_buf(read.len());
    ///     room[..read.len()].copy_from_slice(read); // a socket read, here
    ///     server.filled(read.len());
    ///     while let Some(event) = server.next_event()? {
    ///         assert!(matches!(event, Event::Message(Message::Text("hi"))));
    ///         messages += 1;
    ///     }
    ///     server.swap_input_buffer(&mut shared); // take back
    ///     assert_eq!(shared.len(), 64 * 1024);
    /// }
    /// assert_eq!((messages, server.buffered_input_len()), (1, 0));
    /// # Ok::<(), wsmachine::ProtocolError>(())
    /// ```
    #[inline(always)]
    pub fn swap_input_buffer(&mut self, buf: &mut Vec<u8>) {
        self.reader.swap_buffer(buf);
    }

    /// The peer closed its side of the transport. If its close frame had not
    /// arrived, [`next_event`](Self::next_event) reports
    /// [`ProtocolError::AbnormalClosure`] (1006) once every complete frame
    /// received before is delivered.
    pub fn receive_eof(&mut self) {
        self.reader.receive_eof();
    }

    // ---- events ----

    /// The next event, or `None` when more input is needed (or the
    /// connection is closed: check [`is_closed`](Self::is_closed)).
    ///
    /// A protocol error is returned once; the close frame it calls for is
    /// already queued in the output and the connection is closed. Every
    /// message completed before the offending bytes was delivered first.
    // Always inlined (with `next_event_with_sender` and `raw_to_event`):
    // out of line, the event went back and forth between stack slots
    // written as two 8-byte stores and read as one 16-byte load, which the
    // CPU cannot forward (perf: 3 loads of `next_event` held half its
    // samples; 16 B messages 33 -> 106 M msg/s in benches/decode). Inlined,
    // the caller's match reads the fields straight from registers.
    #[inline(always)]
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ProtocolError> {
        Ok(self.next_event_with_sender()?.map(|(event, _)| event))
    }

    /// Like [`next_event`](Self::next_event), with the sending half alongside,
    /// so a borrowed event can be answered without copying it:
    ///
    /// ```
    /// # use wsmachine::{Config, Connection, Event};
    /// # let mut server = Connection::open_server(Config::default());
    /// # server.receive(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    /// while let Some((event, sender)) = server.next_event_with_sender()? {
    ///     if let Event::Message(message) = event {
    ///         sender.send(message)?; // echo, straight from the input buffer
    ///     }
    /// }
    /// assert_eq!(server.pending_output(), [0x81, 2, b'h', b'i']);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline(always)]
    pub fn next_event_with_sender(
        &mut self,
    ) -> Result<Option<(Event<'_>, &mut Sender)>, ProtocolError> {
        if self.sender.is_closed() {
            return Ok(None);
        }
        if !matches!(self.opening, Opening::Done) {
            match self.advance_opening() {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(error) => {
                    self.sender.fail(&error);
                    return Err(error);
                }
            }
            match &self.opening {
                Opening::AwaitDecision(request) => {
                    return Ok(Some((Event::Handshake(request), &mut self.sender)));
                }
                Opening::Answered(response) if self.announce_connected => {
                    self.announce_connected = false;
                    return Ok(Some((Event::Connected(response), &mut self.sender)));
                }
                _ => {}
            }
        }
        // The call after the last event of a read (one per read at least):
        // answered here, not by the decoder's full entry and exit.
        if self.reader.is_drained(&self.config) {
            return Ok(None);
        }
        let raw = match self
            .reader
            .advance(&mut self.sender, &self.config, self.role)
        {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(error) => {
                self.sender.fail(&error);
                return Err(error);
            }
        };
        let Self {
            reader,
            sender,
            timers,
            ..
        } = self;
        match raw_to_event(reader, raw, timers) {
            Ok(event) => Ok(Some((event, sender))),
            Err(error) => {
                sender.fail(&error);
                Err(error)
            }
        }
    }

    /// Whether [`next_event`](Self::next_event) would return `None` until
    /// more input (or the end of the stream) arrives, with nothing to tidy
    /// meanwhile: the adapters skip that call after an event that used up
    /// the input.
    // Only the tokio adapter asks (so far).
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        matches!(self.opening, Opening::Done) && self.reader.is_drained(&self.config)
    }

    // ---- split ----

    /// Splits an open connection into its receiving and sending state
    /// machines, to read and write from two tasks or threads with no lock
    /// between them (see [`Receiver`] for the hand-off of owed control
    /// frames). With permessage-deflate, the receiver keeps the
    /// decompressor and the sender the compressor. Input not yet turned into
    /// events and unwritten output stay in their half.
    ///
    /// Fails (giving the connection back) while the opening handshake is
    /// in progress. A client's [`handshake_response`](Self::handshake_response)
    /// is not kept.
    #[allow(clippy::result_large_err)]
    pub fn split(self) -> Result<(Receiver, Sender), Self> {
        // Done, or a client's accepted handshake (`Answered`) that was
        // reported; the response is not kept across a split.
        let opened = matches!(self.opening, Opening::Done | Opening::Answered(_));
        if !opened || self.announce_connected || self.state() == State::Connecting {
            return Err(self);
        }
        let flags = self.sender.close_flags();
        #[allow(unused_mut)]
        let mut receiver = Receiver::new(self.role, self.config, self.reader, self.timers, flags);
        #[cfg(feature = "deflate")]
        {
            receiver.deflate_params = self.deflate_params;
        }
        Ok((receiver, self.sender))
    }

    /// Puts two halves of the same [`split`](Self::split) connection back
    /// together; what the receiver owes is delivered to the sender first.
    pub fn reunite(receiver: Receiver, mut sender: Sender) -> Self {
        let role = receiver.role();
        let config = receiver.config().clone();
        #[cfg(feature = "deflate")]
        let deflate_params = receiver.deflate_params;
        let (reader, timers, owed) = receiver.into_parts();
        sender.deliver(owed);
        Self {
            role,
            config,
            reader,
            sender,
            opening: Opening::Done,
            timers,
            announce_connected: false,
            #[cfg(feature = "deflate")]
            deflate_params,
        }
    }

    // ---- time ----

    /// When the connection next needs [`handle_timeout`](Self::handle_timeout):
    /// the earliest deadline of its timers ([`Config::ping_interval`],
    /// [`Config::ping_timeout`], [`Config::open_timeout`],
    /// [`Config::close_timeout`]), or `None` when no timer is running.
    ///
    /// A deadline at or before the time you last gave (for instance
    /// [`Timestamp::ZERO`] before the clock started, or right after
    /// [`close`](Self::close)) asks for `handle_timeout` at once: that call
    /// starts the timer. Ask again after every call on the connection; it is
    /// cheap (no allocation, no scan).
    ///
    /// ```
    /// use core::time::Duration;
    /// use wsmachine::{Config, Connection, Timeout, Timestamp};
    /// let config = Config::default().with_ping_interval(Duration::from_secs(20))?;
    /// let mut server = Connection::open_server(config);
    /// assert_eq!(server.poll_timeout(), Some(Timestamp::ZERO)); // start the clock
    /// server.handle_timeout(Timestamp::from_millis(5))?;
    /// let ping_at = server.poll_timeout().unwrap();
    /// assert_eq!(ping_at, Timestamp::from_millis(20_005));
    /// server.handle_timeout(ping_at)?;                 // 20 s of silence
    /// assert_eq!(server.pending_output()[0], 0x89);     // a ping is queued
    /// let dead_at = server.poll_timeout().unwrap();     // 20 s more for any reply
    /// assert_eq!(server.handle_timeout(dead_at), Err(Timeout::DeadPeer));
    /// assert!(server.is_closed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.deadline(self.state(), self.config.timeouts())
    }

    /// Tells the connection the time (`now`, on the same monotonic clock for
    /// every call) and fires what has expired: sends a keepalive ping, or
    /// fails the connection with the [`Timeout`] that fired. Each expiry is
    /// returned once; afterwards the connection is closed. Early, late or
    /// repeated calls are harmless; a `now` earlier than a previous one
    /// counts as that previous one.
    ///
    /// The first call starts the clock (the open timeout counts from it):
    /// make it right after creating the connection. Calling it after every
    /// read as well, before [`next_event`](Self::next_event), keeps
    /// keepalive exact and gives [`latency`](Self::latency) to the read;
    /// calling it only at [`poll_timeout`](Self::poll_timeout) deadlines
    /// can delay a keepalive ping by up to one interval, never fail a live peer.
    ///
    /// After an error, drop the transport at once (see [`Timeout`]).
    pub fn handle_timeout(&mut self, now: Timestamp) -> Result<(), Timeout> {
        let state = self.state();
        if state == State::Closed {
            return Ok(());
        }
        match self.timers.on_time(now, state, self.config.timeouts()) {
            Action::Nothing => Ok(()),
            Action::Ping(payload) => {
                // In the open state a ping cannot be refused.
                let _ = self.sender.send_ping(&payload);
                Ok(())
            }
            Action::Expire(timeout) => {
                self.sender.expire(timeout);
                Err(timeout)
            }
        }
    }

    /// The round-trip time last measured by a keepalive ping and its pong,
    /// to the precision of the times given to
    /// [`handle_timeout`](Self::handle_timeout) (Python websockets calls it
    /// `latency`). `None` until a keepalive pong has arrived.
    pub fn latency(&self) -> Option<core::time::Duration> {
        self.timers.latency()
    }

    // ---- commands ----

    /// The sending half, for commands while an event is borrowed; see
    /// [`next_event_with_sender`](Self::next_event_with_sender).
    pub fn sender(&mut self) -> &mut Sender {
        &mut self.sender
    }

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), UsageError> {
        self.sender.send_text(text)
    }

    /// Sends a whole binary message.
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.sender.send_binary(data)
    }

    /// Sends a whole message of either kind.
    pub fn send(&mut self, message: Message<'_>) -> Result<(), UsageError> {
        self.sender.send(message)
    }

    /// Sends one fragment of a streamed message; see [`Sender::send_fragment`].
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), UsageError> {
        self.sender.send_fragment(kind, payload, fin)
    }

    /// Starts a message sent as a stream; see [`Sender::begin_message`].
    pub fn begin_message(&mut self, kind: MessageKind) -> Result<(), UsageError> {
        self.sender.begin_message(kind)
    }

    /// Starts a streamed message whose chunks are coalesced into frames of
    /// `frame_size` bytes; see [`Sender::begin_message_coalesced`].
    pub fn begin_message_coalesced(
        &mut self,
        kind: MessageKind,
        frame_size: usize,
    ) -> Result<(), UsageError> {
        self.sender.begin_message_coalesced(kind, frame_size)
    }

    /// Writes the next chunk of a streamed message; see [`Sender::write_chunk`].
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.sender.write_chunk(data)
    }

    /// Ends a streamed message; see [`Sender::finish_message`].
    pub fn finish_message(&mut self) -> Result<(), UsageError> {
        self.sender.finish_message()
    }

    /// Writes a last chunk and ends a streamed message; see
    /// [`Sender::finish_message_with`].
    pub fn finish_message_with(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.sender.finish_message_with(data)
    }

    /// Bytes of output waiting to be written, for backpressure; see
    /// [`Sender::pending_output_len`].
    pub fn pending_output_len(&self) -> usize {
        self.sender.pending_output_len()
    }

    /// Sends a ping (at most 125 bytes of payload).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.sender.send_ping(payload)
    }

    /// Sends an unsolicited pong (at most 125 bytes of payload).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.sender.send_pong(payload)
    }

    /// Starts the closing handshake; see [`Sender::close`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        self.sender.close(code, reason)
    }

    // ---- output ----

    /// Bytes waiting to be written to the peer.
    #[inline]
    pub fn pending_output(&self) -> &[u8] {
        self.sender.pending_output()
    }

    /// Marks the first `n` bytes of [`pending_output`](Self::pending_output)
    /// as written; partial writes are normal.
    #[inline]
    pub fn advance_output(&mut self, n: usize) {
        self.sender.advance_output(n);
    }

    /// Whether there is output waiting to be written.
    #[inline]
    pub fn wants_write(&self) -> bool {
        self.sender.wants_write()
    }
}

/// Turns the reader's ranges into a borrowed event (and notes a pong for
/// the keepalive timer). Inlined: see [`Connection::next_event`].
#[inline(always)]
fn raw_to_event<'a>(
    reader: &'a Reader,
    raw: RawEvent,
    timers: &mut Timers,
) -> Result<Event<'a>, ProtocolError> {
    match raw {
        RawEvent::Single(kind, range) => message(kind, &reader.buf[range]),
        RawEvent::Assembled(kind) => message(kind, &reader.assembly),
        RawEvent::Ping(range) => Ok(Event::Ping(&reader.buf[range])),
        RawEvent::Pong(range) => {
            timers.on_pong(&reader.buf[range.clone()]);
            Ok(Event::Pong(&reader.buf[range]))
        }
        RawEvent::Close(code, range) => Ok(Event::Close(CloseFrame {
            code,
            // Checked by the reader already.
            reason: core::str::from_utf8(&reader.buf[range]).unwrap_or_default(),
        })),
        RawEvent::Chunk(at) => {
            let bytes = if at.inflated {
                &reader.stream.inflated()[at.range]
            } else {
                &reader.buf[at.range]
            };
            chunk(at.kind, bytes, at.first, at.last)
        }
    }
}

fn chunk(
    kind: MessageKind,
    bytes: &[u8],
    first: bool,
    last: bool,
) -> Result<Event<'_>, ProtocolError> {
    let data = match kind {
        MessageKind::Binary => Message::Binary(bytes),
        // The one UTF-8 check of these bytes, which also yields the `&str`
        // (held-back character starts, at most 3 bytes, are checked again
        // once complete).
        MessageKind::Text => {
            Message::Text(crate::utf8::to_str(bytes).map_err(|_| ProtocolError::InvalidUtf8)?)
        }
    };
    Ok(Event::Chunk(Chunk::new(data, first, last)))
}

/// Inlined into `raw_to_event`: out of line it was a call per message
/// (~10 % of the instructions of a 16 B message in benches/decode).
#[inline]
fn message(kind: MessageKind, payload: &[u8]) -> Result<Event<'_>, ProtocolError> {
    Ok(Event::Message(match kind {
        MessageKind::Binary => Message::Binary(payload),
        // The one full UTF-8 check of a text message, which also yields the `&str`.
        MessageKind::Text => {
            Message::Text(crate::utf8::to_str(payload).map_err(|_| ProtocolError::InvalidUtf8)?)
        }
    }))
}

#[cfg(test)]
mod size_tests {
    use super::Connection;
    use core::mem::size_of;

    /// What every connection carries inline, idle or not (a server holding
    /// many idle connections pays it for each): the open-connection state
    /// only. The handshake's phases, the owed pong, the codec state, the
    /// streaming state and the settings (shared between clones of a
    /// `Config`) are each one pointer here. Growing this is a decision, not
    /// an accident: README "Memory and scale" gives the per-connection
    /// figure it feeds.
    #[test]
    fn connection_stays_small() {
        let limit = if cfg!(feature = "deflate") { 328 } else { 312 };
        assert!(
            size_of::<Connection>() <= limit,
            "Connection is {} bytes (limit {limit})",
            size_of::<Connection>()
        );
        assert!(size_of::<super::timers::Timers>() <= 56);
        assert!(size_of::<super::opening::Opening>() <= 16);
        assert_eq!(size_of::<crate::Config>(), size_of::<usize>());
    }
}
