//! An async adapter: a [`Connection`] driven over any tokio
//! [`AsyncRead`] + [`AsyncWrite`] + [`Unpin`] stream (feature `tokio`).
//!
//! [`WebSocket`] reads straight into the connection's input buffer (a
//! [`ReadBuf`](::tokio::io::ReadBuf) over [`Connection::read_buf`]) and writes straight from its
//! output buffer ([`Connection::pending_output`]): no `WouldBlock` shim, no
//! copy on either side. Messages come out owned ([`WebSocket::read`], the
//! [`Stream`](futures_core::Stream) impl) or borrowed from the input buffer
//! ([`WebSocket::read_with`]); they go in through async sends or the
//! [`Sink`](futures_sink::Sink) impl, so `stream.forward(sink)` and
//! `StreamExt::next` work. An echo of a large message through
//! [`WebSocket::read_with_reply`] skips the output buffer too: header and
//! payload go to the stream in one vectored write from the input buffer.
//!
//! ```no_run
//! use wsmachine::tokio::{self as ws, OwnedMessage};
//!
//! # async fn run() -> Result<(), ws::Error> {
//! let mut socket = ws::connect("ws://127.0.0.1:8080/echo").await?;
//! socket.send_text("hello").await?;
//! if let OwnedMessage::Text(reply) = socket.read().await? {
//!     println!("{reply}");
//! }
//! socket.close(wsmachine::CloseCode::NORMAL, "bye").await?;
//! # Ok(()) }
//! ```
//!
//! A server (the README's), echoing each message straight from the input
//! buffer:
//!
//! ```no_run
//! use wsmachine::tokio::{Decision, WebSocket};
//! use wsmachine::{Config, Event};
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = WebSocket::accept_with(stream, Config::default(), |_| Decision::accept()).await?;
//!         while let Ok(sent) = ws.read_with(|event, tx| match event {
//!             Event::Message(message) => tx.send(message), // zero copy
//!             _ => Ok(()),
//!         }).await { sent?; ws.flush().await?; }
//!         Ok::<_, wsmachine::tokio::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! And the `futures` idioms on a client:
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use wsmachine::{CloseCode, tokio::OwnedMessage};
//! # async fn run() -> Result<(), wsmachine::tokio::Error> {
//! let mut ws = wsmachine::tokio::connect("ws://127.0.0.1:8080/").await?;
//! ws.send(OwnedMessage::Text("hello".into())).await?;        // SinkExt::send
//! if let Some(reply) = ws.next().await { println!("{:?}", reply?); } // StreamExt::next
//! ws.close(CloseCode::NORMAL, "bye").await?;
//! # Ok(()) }
//! ```
//!
//! A server accepts with [`WebSocket::accept`] or [`WebSocket::accept_with`]
//! (a callback returns a [`Decision`]); [`read_request_head`] +
//! [`WebSocket::accept_head`] route plain HTTP beside it; after an upgrade
//! by an HTTP server (hyper), [`WebSocket::from_upgraded`] takes the bytes it
//! read ahead. [`WebSocket::split`] gives a [`ReadHalf`] and a [`WriteHalf`]
//! for two tasks: the read half keeps answering pings and close frames
//! through the write half, whether it is idle or busy; [`reunite`] puts
//! them back together.
//!
//! # TLS
//!
//! With the `rustls` feature, [`connect`] takes `wss://` URLs (Mozilla's
//! roots, SNI and hostname verification) and a [`Connector`] takes your own
//! rustls client config (a private CA, client certificates). A server runs
//! [`tls_accept_within`] on the accepted `TcpStream` (one deadline for the
//! TLS handshake, the open timeout) and then [`WebSocket::accept_with`] over
//! the [`TlsStream`] it returns; see [`crate::tls`] for configs from PEM
//! files. TLS failures are [`Error::Tls`](crate::blocking::Error) with the
//! same [`TlsError`](crate::tls::TlsError) kinds as the blocking adapter's.
//! A plain server's [`WebSocket::accept`] answers a TLS ClientHello (a
//! `wss://` client on a plain port) at once with [`Error::TlsOnPlainPort`].
//!
//! ```no_run
//! # #[cfg(feature = "rustls")]
//! # async fn run() -> Result<(), wsmachine::tokio::Error> {
//! use wsmachine::tokio::{self as ws, WebSocket};
//! use wsmachine::{Config, tls};
//!
//! // Client: wss:// like ws://.
//! let mut client = ws::connect("wss://echo.example/ws").await?;
//! client.send_text("hello").await?;
//!
//! // Server: TLS from PEM files, then the WebSocket over it.
//! let tls = tls::server_config_from_pem_files("cert.pem".as_ref(), "key.pem".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let (tcp, _) = listener.accept().await?;
//! let config = Config::default();
//! let stream = ws::tls_accept_within(tcp, tls, config.open_timeout()).await?;
//! let server = WebSocket::accept_with(stream, config, |_| ws::Decision::accept()).await?;
//! # let _ = server; Ok(()) }
//! ```
//!
//! # Cancel safety
//!
//! Partial progress lives in the engine (or beside it), never in a future:
//! bytes read are in the connection's input buffer, bytes not yet written in
//! its output buffer, or, for a frame [`Reply::send`] wrote directly, in the
//! adapter's spill, filled before the poll that wrote the frame returns and
//! written before any other output. So:
//!
//! - [`read`](WebSocket::read), [`read_with`](WebSocket::read_with),
//!   [`read_with_reply`](WebSocket::read_with_reply), `StreamExt::next` and [`flush`](WebSocket::flush) are cancel-safe:
//!   dropping the future (in `select!`, `timeout`) loses no byte and no
//!   message; the next call picks up where it stopped.
//! - A send ([`send_message`](WebSocket::send_message) and the other `send_*` methods) queues its
//!   frame whole or not at all, so the stream is never corrupted; dropped
//!   before it completes, you cannot tell which. The [`Sink`](futures_sink::Sink) impl gives
//!   that certainty: once `start_send` accepted a message (which
//!   `SinkExt::send` does before it flushes), it is in the engine and goes
//!   out with the next flush, read or send, even if the `SinkExt::send`
//!   future is dropped.
//! - [`close`](WebSocket::close) is cancel-safe in the same sense: the close
//!   frame is queued once, and calling `close` again resumes the wait.
//!
//! # Time
//!
//! The connection's timers (keepalive ping, dead peer, open and close
//! timeouts; [`Config`](crate::Config)) run on one `tokio::time::Sleep` per
//! connection, reset only when the engine's next deadline moves earlier or
//! after it fired: a keepalive deadline that every message pushes back
//! costs one early wake-up per interval, not a timer reset per read. They
//! are driven by whatever reads (a read, the stream, `close`). An expiry is
//! [`Error::Timeout`]. A caller's bound on a read or a write is
//! `tokio::time::timeout` around it, which the cancel safety above allows.
//!
//! # Backpressure
//!
//! A send waits while the engine's pending output is above the high-water
//! mark ([`WebSocket::set_high_water`], [`DEFAULT_HIGH_WATER`] by default);
//! `flush` means the engine's output is written and the stream flushed.

mod clock;
mod connector;
mod drive;
mod handshake;
mod http;
mod reply;
mod sink;
mod split;
#[cfg(feature = "rustls")]
mod tls;

use alloc::string::String;
use core::future::poll_fn;
use core::pin::Pin;

use ::tokio::io::{AsyncRead, AsyncWrite};

use crate::{CloseCode, Connection, Event, Message, MessageKind, Role, Sender, State};

pub use crate::blocking::{Decision, Error, OwnedMessage, RequestHead};
pub use connector::{Connector, MaybeTlsStream};
pub use handshake::{connect, connect_request, connect_with_config};
pub use http::{read_request_head, respond};
pub use reply::Reply;
pub use split::{ReadHalf, WriteHalf, reunite};
#[cfg(feature = "rustls")]
pub use tls::{TlsStream, tls_accept, tls_accept_within, tls_connect};

/// The default high-water mark of a connection's pending output, in bytes:
/// a send waits while more than this is queued and unwritten.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// A WebSocket over an async stream: a [`Connection`] plus the stream it
/// reads from and writes to.
///
/// Reads write what the connection owes (pongs, the close reply, keepalive
/// pings) as the stream takes it, so a reader alone keeps the connection
/// alive; sends write and flush.
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    protocol: Option<String>,
    /// The connection's epoch and its one timer.
    clock: clock::Clock,
    high_water: usize,
    /// Bytes were written since the stream was last flushed.
    unflushed: bool,
    /// The engine may hold input it has not decoded yet: cleared when
    /// decoding found nothing complete, set again by anything that gives
    /// the engine input (a read, `connection_mut`).
    undecoded: bool,
    /// The stream ended.
    eof: bool,
    /// The unwritten tail of a frame [`Reply::send`] wrote directly:
    /// written before any other output.
    spill: reply::Spill,
}

impl<S> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .field("protocol", &self.protocol)
            .field("high_water", &self.high_water)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// The next message or control frame, copied out of the connection.
    ///
    /// Waits until one is complete, writing owed output (pongs, the close
    /// reply) meanwhile. After the peer's [`OwnedMessage::Close`] (or an
    /// error), returns [`Error::Closed`].
    ///
    /// Cancel-safe: dropped before it completes, no byte or message is lost.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn read(&mut self) -> Result<OwnedMessage, Error> {
        loop {
            if let Some(message) = self
                .read_with(|event, _| OwnedMessage::from_event(&event))
                .await?
            {
                return Ok(message);
            }
        }
    }

    /// Like [`read`](Self::read), but lends the event (borrowed from the
    /// connection's input buffer: no copy for a single-frame message) to `f`
    /// with the [`Sender`], so that an echo costs no copy:
    ///
    /// ```no_run
    /// # use wsmachine::{Event, tokio::WebSocket};
    /// # async fn echo(ws: &mut WebSocket<tokio::net::TcpStream>) -> Result<(), wsmachine::tokio::Error> {
    /// loop {
    ///     ws.read_with(|event, sender| match event {
    ///         Event::Message(message) => sender.send(message),
    ///         _ => Ok(()),
    ///     })
    ///     .await??;
    /// }
    /// # }
    /// ```
    ///
    /// What `f` queues is written by the next read, send or
    /// [`flush`](Self::flush).
    ///
    /// Cancel-safe: `f` runs only in the poll that completes the future.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_with<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Sender) -> R,
    ) -> Result<R, Error> {
        self.read_with_reply(|event, reply| f(event, reply.sender()))
            .await
    }

    /// Like [`read_with`](Self::read_with), with a [`Reply`] in place of the
    /// sender: [`Reply::send`] writes a large message (16 KiB or more, when
    /// nothing is queued before it and no compression was negotiated)
    /// straight to the stream, header and payload in one vectored write from
    /// the input buffer where it was unmasked, so an echo costs no copy:
    ///
    /// ```no_run
    /// # use wsmachine::{Event, tokio::WebSocket};
    /// # async fn echo(ws: &mut WebSocket<tokio::net::TcpStream>) -> Result<(), wsmachine::tokio::Error> {
    /// loop {
    ///     ws.read_with_reply(|event, reply| match event {
    ///         Event::Message(message) => reply.send(message),
    ///         _ => Ok(()),
    ///     })
    ///     .await??;
    /// }
    /// # }
    /// ```
    ///
    /// The write does not wait: what the stream does not take at once is
    /// copied aside (as [`read_with`](Self::read_with)'s send would have
    /// copied it all) and written before any other output, by this read's
    /// flush or the next call that writes.
    ///
    /// Cancel-safe like [`read_with`](Self::read_with): `f` and the direct
    /// write run within the poll that completes the future, and the
    /// untaken tail is set aside before that poll returns, so a frame is
    /// never lost or cut by a dropped future.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_with_reply<R>(
        &mut self,
        f: impl FnOnce(Event<'_>, &mut Reply<'_>) -> R,
    ) -> Result<R, Error> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.poll_event(cx, |event, reply| f.take().map(|f| f(event, reply)))
                .map(|result| result.and_then(|r| r.ok_or(Error::Closed)))
        })
        .await
    }

    /// Sends a text message: waits until the pending output is below the
    /// high-water mark, queues the message, then writes and flushes.
    ///
    /// Not cancel-safe in the strict sense: the frame is queued whole or not
    /// at all (the stream is never corrupted), but dropped early you cannot
    /// tell which; the [`Sink`](futures_sink::Sink) impl can.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] (nothing queued) or [`Error::Io`] (the message is
    /// queued; [`flush`](Self::flush) retries).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_message(Message::Text(text)).await
    }

    /// Sends a binary message; see [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_message(Message::Binary(data)).await
    }

    /// Sends a message of either kind, borrowed; see
    /// [`send_text`](Self::send_text). (Not named `send`, which would hide
    /// `SinkExt::send` of owned messages.)
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn send_message(&mut self, message: Message<'_>) -> Result<(), Error> {
        poll_fn(|cx| self.poll_below_high_water(cx)).await?;
        self.conn.send(message)?;
        self.flush().await
    }

    /// Sends one fragment of a streamed message (see
    /// [`Sender::send_fragment`]); as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_below_high_water(cx)).await?;
        self.conn.send_fragment(kind, payload, fin)?;
        self.flush().await
    }

    /// Sends a ping (at most 125 bytes); its pong arrives as
    /// [`OwnedMessage::Pong`]. As [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush().await
    }

    /// Sends an unsolicited pong (at most 125 bytes). As
    /// [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_pong(payload)?;
        self.flush().await
    }

    /// Writes everything the connection has queued, then flushes the stream.
    ///
    /// Cancel-safe: what was not written stays queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`]; what was not written stays queued for the next call.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Runs the closing handshake: sends a close frame with `code` and
    /// `reason` (unless one was sent already), then reads until the peer's
    /// close arrives or the close timeout ([`Config::close_timeout`](crate::Config::close_timeout))
    /// passes, discarding the messages that arrive meanwhile, and shuts the
    /// stream's write side down. To keep those messages, send the close
    /// with [`start_close`](Self::start_close) and read until
    /// [`Error::Closed`] instead.
    ///
    /// Cancel-safe: the frame is queued once; calling `close` again resumes
    /// the wait.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the peer did not answer in time (the
    /// connection is closed), [`Error::Usage`] for a code or reason that
    /// cannot be sent, or the errors of [`read`](Self::read) other than
    /// [`Error::Closed`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.conn.close(code, reason)?;
        }
        loop {
            match self.read_with(|_, _| ()).await {
                Ok(()) => {}
                Err(Error::Closed) => break,
                Err(error) => return Err(error),
            }
        }
        self.flush().await?;
        poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await?;
        Ok(())
    }

    /// Queues a close frame and flushes, without waiting for the peer's
    /// answer: keep reading until [`Error::Closed`] (the peer's
    /// [`OwnedMessage::Close`] comes first, and the close timeout bounds the
    /// wait).
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub async fn start_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush().await
    }
}

impl<S> WebSocket<S> {
    /// Sets the high-water mark of pending output (bytes): sends wait while
    /// more than this is queued and unwritten. Default
    /// [`DEFAULT_HIGH_WATER`]; `0` makes every send wait until all earlier
    /// output was written.
    pub fn set_high_water(&mut self, bytes: usize) {
        self.high_water = bytes;
    }

    /// The high-water mark of pending output.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream, mutably. Reading from or writing to it directly corrupts
    /// the WebSocket stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The engine underneath.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The engine underneath, mutably: for commands this adapter does not
    /// wrap. Output it queues is written by the next flush, send or read.
    pub fn connection_mut(&mut self) -> &mut Connection {
        // The caller may give it input (`receive`).
        self.undecoded = true;
        &mut self.conn
    }

    /// The stream and the connection. Input read but not yet turned into
    /// events, and unwritten output, stay in the connection; all but the
    /// unwritten tail of a frame [`Reply::send`] wrote directly, which is
    /// the adapter's: [`flush`](Self::flush) first if
    /// [`read_with_reply`](Self::read_with_reply) sent a large message.
    pub fn into_parts(self) -> (S, Connection) {
        (self.io, self.conn)
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
        self.conn.is_closed() && !self.conn.wants_write() && self.spill.is_empty()
    }
}
