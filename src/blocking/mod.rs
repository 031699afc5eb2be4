//! A blocking adapter: a [`Connection`] driven over any
//! [`std::io::Read`] + [`std::io::Write`] stream (feature `std`).
//!
//! [`WebSocket`] reads from the stream into the connection, writes the
//! connection's output back, and hands out messages, either owned
//! ([`WebSocket::read`]) or borrowed straight from the input buffer
//! ([`WebSocket::read_with`]). Partial writes, `Interrupted` and end of stream
//! are handled.
//!
//! Time: the connection's timers (keepalive ping, dead peer, open and close
//! timeouts; [`Config`](crate::Config), Python websockets' 20/20/10/10 s by
//! default) run on the stream's read timeout, set to the next deadline before
//! each blocking read ([`Transport`]). An expiry comes back as
//! [`Error::Timeout`]. A bound of your own on one [`WebSocket::read`] is
//! [`WebSocket::set_read_timeout`] (an [`Error::Io`] timeout that leaves the
//! connection usable); writes that make no progress for
//! [`WebSocket::set_write_timeout`] (10 s by default) fail likewise.
//!
//! ```no_run
//! use wsmachine::blocking::{self, OwnedMessage};
//!
//! let mut ws = blocking::connect("ws://127.0.0.1:8080/echo")?;
//! ws.send_text("hello")?;
//! if let OwnedMessage::Text(reply) = ws.read()? {
//!     println!("{reply}");
//! }
//! ws.close(wsmachine::CloseCode::NORMAL, "bye")?;
//! # Ok::<(), wsmachine::blocking::Error>(())
//! ```
//!
//! `wss://` works the same with the `rustls` feature; [`Connector`] takes a
//! [`Config`](crate::Config), a timeout and (with `rustls`) your own rustls
//! client config. A server runs [`tls_accept`] on the accepted `TcpStream`
//! and then the WebSocket handshake over the [`TlsStream`] it returns (see
//! [`crate::tls`] for configs from PEM files).
//!
//! A server accepts with [`WebSocket::accept`] (every request) or
//! [`WebSocket::accept_with`] (a callback sees the request and returns a
//! [`Decision`]). When the request was already read by an HTTP router,
//! [`read_request_head`] + [`WebSocket::accept_head`] pick up from there.
//!
//! Once the close handshake is complete (or the connection failed), `read`
//! returns [`Error::Closed`]. Dropping the `WebSocket` drops the stream, which
//! closes a `TcpStream`: RFC 6455 section 7.1.1 wants the server to close the
//! TCP connection first, and [`WebSocket::is_closed`] says when it may.
//!
//! # Messages as byte streams
//!
//! [`WebSocket::message_writer`] and [`WebSocket::message_reader`] turn one
//! message into `std::io` (gorilla's `NextWriter` and `NextReader`); with
//! [`Config::with_streaming`](crate::Config::with_streaming) neither end holds it whole:
//!
//! ```no_run
//! use wsmachine::{MessageKind, blocking};
//!
//! let mut ws = blocking::connect("ws://127.0.0.1:8080/upload")?;
//! let mut file = std::fs::File::open("video.mp4")?;
//! std::io::copy(&mut file, &mut ws.message_writer(MessageKind::Binary))?; // one message
//! let mut reply = ws.message_reader()?; // the next message, read as it arrives
//! std::io::copy(&mut reply, &mut std::fs::File::create("echo.mp4")?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod connector;
mod error;
mod handshake;
mod split;
mod stream;
#[cfg(feature = "rustls")]
mod tls;
#[cfg(feature = "rustls")]
mod tls_split;
mod transport;

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::time::Instant;

use crate::{CloseCode, Connection, Event, Message, MessageKind, Role, Sender, State, Timestamp};

pub use connector::{Connector, MaybeTlsStream};
pub use error::Error;
pub use handshake::{
    Decision, RequestHead, connect, connect_request, connect_with_config, read_request_head,
    read_request_head_within, respond,
};
#[cfg(feature = "tokio")]
pub(crate) use handshake::{refuse_client_hello, reject, response_head};
pub use split::{ReadHalf, WriteHalf, reunite};
pub use stream::{MessageReader, MessageWriter};
#[cfg(feature = "rustls")]
pub use tls::{TlsStream, tls_accept, tls_accept_within, tls_connect};
#[cfg(feature = "rustls")]
pub use tls_split::SplitTlsStream;
use transport::Applied;
pub use transport::{LINGER_BYTES, LINGER_TIME, LINGER_TIMEOUT, Transport, lingering_close};

/// How long a write may make no progress before it fails (gorilla's
/// `writeWait`): a peer that stops reading cannot hold a writer forever.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the close frame owed to a dead peer may take to write: it is a
/// courtesy, and the peer is most likely gone.
const PARTING_WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// Bytes asked of the connection's input buffer for each read.
const READ_CHUNK: usize = 64 * 1024;

/// A received message or control frame, with its data copied out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping; with [`Config::auto_pong`](crate::Config::auto_pong) on (the
    /// default) its pong was already written (or, if the stream would not
    /// take it, is written by the next call that writes or reads).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The peer's close frame: its code and reason, or `None` when it carried
    /// no code (1005). The reply was already written; the next read returns
    /// [`Error::Closed`].
    Close(Option<(CloseCode, String)>),
}

impl OwnedMessage {
    /// Copies a borrowed event out; `None` for events that are not messages
    /// or control frames (handshake events).
    pub fn from_event(event: &Event<'_>) -> Option<Self> {
        Some(match *event {
            Event::Message(Message::Text(text)) => Self::Text(text.to_owned()),
            Event::Message(Message::Binary(data)) => Self::Binary(data.to_vec()),
            Event::Ping(data) => Self::Ping(data.to_vec()),
            Event::Pong(data) => Self::Pong(data.to_vec()),
            Event::Close(frame) => Self::Close(
                (frame.code != CloseCode::NO_STATUS).then(|| (frame.code, frame.reason.to_owned())),
            ),
            _ => return None,
        })
    }

    /// Whether this is a text or binary message (not a control frame).
    pub fn is_data(&self) -> bool {
        matches!(self, Self::Text(_) | Self::Binary(_))
    }
}

/// A WebSocket over a blocking stream: a [`Connection`] plus the stream it
/// reads from and writes to.
///
/// Every method that writes also flushes what the connection owes (pongs,
/// close replies, earlier sends held up by a timeout) before returning, and
/// [`read`](Self::read) writes it before blocking.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    protocol: Option<String>,
    /// The connection's clock starts here.
    epoch: Instant,
    /// The caller's bound on one `read` (not the engine's timers).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    applied: Applied,
    /// The unwritten tail of a frame written directly by [`Reply::send`]
    /// when its write failed part way; written before any other output.
    spill: Vec<u8>,
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Wraps a stream whose opening handshake is already done (or that
    /// needs none) around an open connection, such as
    /// [`Connection::open_server`]. Any output the connection holds is
    /// written by the first call that writes. The connection's clock starts
    /// now.
    pub fn from_connection(stream: S, mut conn: Connection) -> Self {
        // Nothing expires at the epoch.
        let _ = conn.handle_timeout(Timestamp::ZERO);
        Self {
            stream,
            conn,
            protocol: None,
            epoch: Instant::now(),
            read_timeout: None,
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            applied: Applied::default(),
            spill: Vec::new(),
        }
    }

    /// Bounds each [`read`](Self::read) (and [`read_with`](Self::read_with))
    /// call: after `timeout` with no event it returns an [`Error::Io`]
    /// timeout and the connection stays usable. `None` (the default) waits
    /// for the connection's own timers. Set it here, not on the stream: the
    /// adapter sets the stream's read timeout before every read.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Bounds each write to the stream: one that makes no progress for
    /// `timeout` fails with an [`Error::Io`] timeout, and what was not
    /// written stays queued. Default [`DEFAULT_WRITE_TIMEOUT`]; `None`
    /// waits forever.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// The next message or control frame, copied out of the connection.
    ///
    /// Blocks until one is complete, writing owed output (pongs, the close
    /// reply) first. After the peer's [`OwnedMessage::Close`] (or an error),
    /// returns [`Error::Closed`].
    ///
    /// # Errors
    ///
    /// See [`Error`]; [`Error::Io`] with a timeout kind can be retried.
    ///
    /// In streaming mode ([`Config::with_streaming`](crate::Config::with_streaming))
    /// a message's chunks are put together here, up to
    /// [`Config::max_message_size`](crate::Config::max_message_size) (over
    /// it, the connection is closed with 1009 and this fails with
    /// [`ProtocolError::MessageTooLarge`](crate::ProtocolError::MessageTooLarge));
    /// pings and pongs that arrive in the middle of a message are answered
    /// and skipped. [`message_reader`](Self::message_reader) reads a message
    /// without holding it whole.
    pub fn read(&mut self) -> Result<OwnedMessage, Error> {
        let limit = self.conn.config().max_message_size();
        let mut partial: Option<(MessageKind, Vec<u8>)> = None;
        loop {
            let next = self.read_with(|event, _| match event {
                Event::Chunk(chunk) => {
                    if chunk.is_first() {
                        partial = Some((chunk.kind(), Vec::new()));
                    }
                    // Without a first chunk: the rest of a message whose
                    // `message_reader` was dropped early.
                    let (_, data) = partial.as_mut()?;
                    if data.len() + chunk.as_bytes().len() > limit {
                        return Some(Err(crate::ProtocolError::MessageTooLarge));
                    }
                    data.extend_from_slice(chunk.as_bytes());
                    let (kind, data) = partial.take_if(|_| chunk.is_last())?;
                    Some(Ok(match kind {
                        MessageKind::Text => OwnedMessage::Text(
                            String::from_utf8(data).expect("text chunks are UTF-8"),
                        ),
                        MessageKind::Binary => OwnedMessage::Binary(data),
                    }))
                }
                Event::Ping(_) | Event::Pong(_) if partial.is_some() => None,
                other => OwnedMessage::from_event(&other).map(Ok),
            })?;
            match next {
                Some(Ok(message)) => return Ok(message),
                Some(Err(too_large)) => {
                    self.conn.close(CloseCode::MESSAGE_TOO_BIG, "")?;
                    self.flush()?;
                    return Err(Error::Protocol(too_large));
                }
                None => {}
            }
        }
    }

    /// Like [`read`](Self::read), but lends the event (borrowed from the
    /// connection's input buffer: no copy for a single-frame message) to `f`,
    /// together with the [`Sender`], so that an echo costs no copy:
    ///
    /// ```no_run
    /// # use wsmachine::{Event, blocking::WebSocket};
    /// # fn echo(ws: &mut WebSocket<std::net::TcpStream>) -> Result<(), wsmachine::blocking::Error> {
    /// loop {
    ///     ws.read_with(|event, sender| match event {
    ///         Event::Message(message) => sender.send(message),
    ///         _ => Ok(()),
    ///     })??;
    /// }
    /// # }
    /// ```
    ///
    /// What `f` queues on the sender is written before the next read blocks,
    /// or by [`flush`](Self::flush).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Sender) -> R,
    ) -> Result<R, Error> {
        self.read_inner(|event, reply| f(event, reply.sender))
    }

    /// Like [`read_with`](Self::read_with), with a [`Reply`] in place of the
    /// sender: [`Reply::send`] writes a large message (16 KiB or more, when
    /// nothing is queued before it) straight to the stream, header and
    /// payload in one vectored write from the input buffer where it was
    /// unmasked, so an echo costs no copy at all:
    ///
    /// ```no_run
    /// # use wsmachine::{Event, blocking::WebSocket};
    /// # fn echo(ws: &mut WebSocket<std::net::TcpStream>) -> Result<(), wsmachine::blocking::Error> {
    /// loop {
    ///     ws.read_with_reply(|event, reply| match event {
    ///         Event::Message(message) => reply.send(message),
    ///         _ => Ok(()),
    ///     })??;
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_with_reply<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Reply<'_>) -> R,
    ) -> Result<R, Error> {
        self.read_inner(f)
    }

    fn read_inner<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Reply<'_>) -> R,
    ) -> Result<R, Error> {
        let started = Instant::now();
        loop {
            match self.conn.next_event_with_sender() {
                Ok(Some((event, sender))) => {
                    let owes_reply = matches!(event, Event::Ping(_) | Event::Close(_));
                    // A direct write is bounded like a flush (a cached
                    // setting: no system call unless it changed). Best
                    // effort: the event is delivered either way.
                    let _ = self.applied.write(&mut self.stream, self.write_timeout);
                    let mut reply = Reply {
                        sender,
                        stream: &mut self.stream,
                        spill: &mut self.spill,
                    };
                    let result = f(event, &mut reply);
                    if owes_reply {
                        // The pong or close reply goes out now, so that a
                        // caller that stops reading still answers. Best
                        // effort: the event is delivered either way, and a
                        // lasting write error shows up on the next call.
                        let _ = self.flush();
                    }
                    return Ok(result);
                }
                Ok(None) => {}
                Err(error) => {
                    // Best effort: the close frame the error calls for.
                    let _ = self.flush();
                    return Err(error.into());
                }
            }
            if self.conn.is_closed() {
                self.flush()?;
                return Err(Error::Closed);
            }
            self.flush()?;
            self.fill(READ_CHUNK, Some(started))?;
        }
    }

    /// One blocking read into the connection's input buffer, bounded by
    /// the connection's next deadline and the caller's read timeout (counted
    /// from `started`); fires the timers that are due. True at end of stream.
    fn fill(&mut self, chunk: usize, started: Option<Instant>) -> Result<bool, Error> {
        self.fill_checked(chunk, started, |_| Ok(()))
    }

    /// [`fill`](Self::fill), showing the bytes read to `check` before the
    /// engine gets them (a plain server's look at the first bytes).
    fn fill_checked(
        &mut self,
        chunk: usize,
        started: Option<Instant>,
        check: impl FnOnce(&[u8]) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let now = Instant::now();
        let engine_wait = match self.conn.poll_timeout() {
            Some(deadline) => {
                let wait = deadline - self.timestamp(now);
                if wait.is_zero() {
                    self.tick(now)?;
                    return Ok(false);
                }
                Some(wait)
            }
            None => None,
        };
        let caller_wait = match (self.read_timeout, started) {
            (Some(limit), Some(started)) => {
                let left = limit.saturating_sub(now - started);
                if left.is_zero() {
                    return Err(Error::Io(io::ErrorKind::TimedOut.into()));
                }
                Some(left)
            }
            _ => None,
        };
        let wait = match (engine_wait, caller_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.applied.read(&mut self.stream, wait)?;
        let buf = self.conn.read_buf(chunk);
        match self.stream.read(buf) {
            Ok(0) => {
                self.conn.receive_eof();
                return Ok(true);
            }
            Ok(n) => {
                check(&buf[..n])?;
                self.conn.filled(n);
                // The time of the read: keeps keepalive and latency exact.
                self.tick(Instant::now())?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                // The engine's deadline (handled on the next turn) or the
                // caller's (reported by the check above on the next turn).
            }
            Err(e) => return Err(e.into()),
        }
        Ok(false)
    }

    /// Gives the connection the time; an expiry is the caller's error.
    fn tick(&mut self, now: Instant) -> Result<(), Error> {
        match self.conn.handle_timeout(self.timestamp(now)) {
            Ok(()) => Ok(()),
            Err(timeout) => {
                if self.conn.wants_write() {
                    // The 1011 owed to a dead peer: a courtesy, briefly.
                    let _ = self.flush_within(Some(PARTING_WRITE_TIMEOUT));
                }
                Err(Error::Timeout(timeout))
            }
        }
    }

    fn timestamp(&self, now: Instant) -> Timestamp {
        Timestamp::since(self.epoch, now)
    }

    /// Sends a text message and flushes.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] (nothing queued) or [`Error::Io`] (the message is
    /// queued; [`flush`](Self::flush) retries).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message and flushes.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.conn.send_binary(data)?;
        self.flush()
    }

    /// Sends a message of either kind and flushes.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send(&mut self, message: Message<'_>) -> Result<(), Error> {
        self.conn.send(message)?;
        self.flush()
    }

    /// Sends one fragment of a streamed message (see
    /// [`Sender::send_fragment`]) and flushes.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(kind, payload, fin)?;
        self.flush()
    }

    /// Sends a ping (at most 125 bytes) and flushes; its pong arrives as
    /// [`OwnedMessage::Pong`].
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush()
    }

    /// Sends an unsolicited pong (at most 125 bytes) and flushes.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_pong(payload)?;
        self.flush()
    }

    /// Starts the closing handshake and flushes. Keep calling
    /// [`read`](Self::read) until it returns the peer's
    /// [`OwnedMessage::Close`] and then [`Error::Closed`]; messages the peer
    /// sent meanwhile arrive first. A peer that never answers ends it with
    /// [`Error::Timeout`] ([`Timeout::Closing`](crate::Timeout::Closing))
    /// after [`Config::close_timeout`](crate::Config::close_timeout).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Writes everything the connection has queued, then flushes the stream.
    /// Partial writes and `Interrupted` are retried.
    ///
    /// # Errors
    ///
    /// [`Error::Io`]: what was not written stays queued for the next call.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.flush_within(self.write_timeout)
    }

    fn flush_within(&mut self, write_timeout: Option<Duration>) -> Result<(), Error> {
        if !self.conn.wants_write() && self.spill.is_empty() {
            return Ok(());
        }
        self.applied.write(&mut self.stream, write_timeout)?;
        let mut wrote = false;
        while !self.spill.is_empty() {
            match self.stream.write(&self.spill) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.spill.drain(..n);
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        self.spill = Vec::new();
        while self.conn.wants_write() {
            match self.stream.write(self.conn.pending_output()) {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.conn.advance_output(n);
                    wrote = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        if wrote {
            loop {
                match self.stream.flush() {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    result => return result.map_err(Error::from),
                }
            }
        }
        Ok(())
    }
}

/// Messages at least this large go from [`Reply::send`] straight to the
/// stream (uWebSockets' bound): below it the copy into the output buffer
/// costs less than a second system call would.
const DIRECT_MIN: usize = 16 * 1024;

/// The sending half lent to [`WebSocket::read_with_reply`]'s closure, with
/// the stream beside it.
pub struct Reply<'a> {
    sender: &'a mut Sender,
    stream: &'a mut dyn Write,
    spill: &'a mut Vec<u8>,
}

impl Reply<'_> {
    /// Sends a whole message: 16 KiB or more with nothing queued before it
    /// (and no compression negotiated) is written now, header and payload in
    /// one vectored write, without being copied; anything else is queued on
    /// the [`Sender`] and written before the next read.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] (nothing sent) or [`Error::Io`] (what was not
    /// written is kept and written first by the next call that writes).
    pub fn send(&mut self, message: Message<'_>) -> Result<(), Error> {
        let payload = message.as_bytes();
        if payload.len() < DIRECT_MIN || self.sender.wants_write() || !self.spill.is_empty() {
            return Ok(self.sender.send(message)?);
        }
        let Ok(head) = self.sender.send_vectored(message) else {
            // A client (which must mask) or compression: the engine frames it.
            return Ok(self.sender.send(message)?);
        };
        let head = head.as_bytes();
        let total = head.len() + payload.len();
        let mut written = 0;
        let mut write_all = || -> io::Result<()> {
            while written < total {
                let parts = if written < head.len() {
                    [
                        io::IoSlice::new(&head[written..]),
                        io::IoSlice::new(payload),
                    ]
                } else {
                    [
                        io::IoSlice::new(&payload[written - head.len()..]),
                        io::IoSlice::new(&[]),
                    ]
                };
                match self.stream.write_vectored(&parts) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        if let Err(e) = write_all() {
            // The frame is committed: its tail goes out before anything else.
            self.spill
                .extend_from_slice(&head[written.min(head.len())..]);
            self.spill
                .extend_from_slice(&payload[written.saturating_sub(head.len())..]);
            return Err(Error::Io(e));
        }
        Ok(())
    }

    /// The sender, for everything else (fragments, pings, close).
    pub fn sender(&mut self) -> &mut Sender {
        self.sender
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<S> WebSocket<S> {
    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading from or writing to it directly corrupts
    /// the WebSocket stream, and its read and write timeouts are the
    /// adapter's (see [`set_read_timeout`](WebSocket::set_read_timeout)).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The engine underneath.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The engine underneath, mutably: for commands this adapter does not
    /// wrap. Output it queues is written by the next flush, send or read.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Gives the stream back, dropping the connection and any unwritten
    /// output.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The stream and the connection, to drive the connection by hand (in
    /// your own event loop, say; for a reader and a writer thread,
    /// [`split`](Self::split) is ready-made). Input read but not yet turned
    /// into events, and unwritten output, stay in the connection.
    pub fn into_parts(self) -> (S, Connection) {
        (self.stream, self.conn)
    }

    /// The subprotocol the handshake settled on, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.conn.role()
    }

    /// The connection's lifecycle state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Whether the connection is closed and all its output written: the
    /// stream can be dropped (a server closes TCP first, RFC 6455 section
    /// 7.1.1).
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed() && !self.conn.wants_write()
    }
}
