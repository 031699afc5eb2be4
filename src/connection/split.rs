//! A connection split in two state machines, one per direction: the
//! [`Receiver`] (input buffer, frame decoder, decompressor, timers) and the
//! [`Sender`] (output buffer, framing, compressor). Each can live in its own
//! task or thread; neither shares memory with the other.
//!
//! The receiving half still owes the peer things: the pong for a ping, the
//! reply to a close frame, the close frame a protocol error calls for, a
//! keepalive ping. It cannot write them (it has no output), so it records
//! them in a fixed-size [`Owed`] (the latest pong only, one close) that the
//! driver hands to the sending half ([`Sender::deliver`]) on its next
//! transmit. The other way, the driver tells the receiver when the sender
//! sent a close ([`Receiver::close_sent`]), which starts the close timer.
//!
//! ```
//! use wsmachine::{Config, Connection, Event};
//! let (mut rx, mut tx) = Connection::open_server(Config::default()).split().unwrap();
//! rx.receive(&[0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]); // a masked ping
//! assert_eq!(rx.next_event()?, Some(Event::Ping(b"hi")));
//! tx.deliver(rx.take_owed());                       // the hand-off
//! assert_eq!(tx.pending_output(), [0x8A, 2, b'h', b'i']);
//! # Ok::<(), wsmachine::ProtocolError>(())
//! ```

use core::mem;
use core::time::Duration;

use super::reader::{RawEvent, Reader};
use super::timers::{Action, Timers};
use super::{Event, Role, State, raw_to_event};
use crate::config::Config;
use crate::error::{ProtocolError, Timeout};
use crate::message::CloseCode;
use crate::time::Timestamp;

/// What the reader needs from whoever answers for it: a [`Sender`](super::Sender)
/// when whole, the receiver's [`Owed`] record when split.
pub(super) trait Outbox {
    /// The peer's close frame arrived already.
    fn close_received(&self) -> bool;
    /// A ping arrived: its pong is owed (only the latest is kept).
    fn owe_pong(&mut self, payload: &[u8]);
    /// The peer's close frame arrived: the reply is owed.
    fn on_close_received(&mut self, code: CloseCode);
}

/// The control frames a [`Receiver`] owes the peer, for the sending half to
/// send ([`Sender::deliver`](super::Sender::deliver)). Fixed size (about 140
/// bytes): a ping flood keeps only the latest pong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owed {
    pub(super) pong: Option<([u8; 125], u8)>,
    pub(super) ping: Option<[u8; 4]>,
    pub(super) close: Option<OwedClose>,
}

/// The close frame owed, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OwedClose {
    /// The peer's close arrived: echo its code.
    Reply(CloseCode),
    /// A protocol error failed the connection.
    Fail(ProtocolError),
    /// A timer expired.
    Expire(Timeout),
}

impl Owed {
    /// Nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.pong.is_none() && self.ping.is_none() && self.close.is_none()
    }

    /// Folds a later record into this one: the later pong and ping replace
    /// earlier ones, the first close stays.
    pub fn merge(&mut self, later: Owed) {
        self.pong = later.pong.or(self.pong);
        self.ping = later.ping.or(self.ping);
        self.close = self.close.or(later.close);
    }

    /// Whether a close frame (a reply or a failure's) is owed: a driver
    /// should wake an idle sending half for it.
    pub fn has_close(&self) -> bool {
        self.close.is_some()
    }
}

/// The receiving half of a split [`Connection`](super::Connection): input,
/// events, timers. What it owes the peer (pongs, the close reply, a
/// keepalive ping, an error's close frame) it records for
/// [`take_owed`](Self::take_owed), which the driver hands to
/// [`Sender::deliver`](super::Sender::deliver).
pub struct Receiver {
    role: Role,
    config: Config,
    reader: Reader,
    timers: Timers,
    inbox: Inbox,
    failed: bool,
    #[cfg(feature = "deflate")]
    pub(super) deflate_params: Option<crate::deflate::PmdParams>,
}

/// The receiver's side of [`Outbox`].
#[derive(Default)]
struct Inbox {
    owed: Owed,
    close_sent: bool,
    close_received: bool,
}

impl Outbox for Inbox {
    fn close_received(&self) -> bool {
        self.close_received
    }

    fn owe_pong(&mut self, payload: &[u8]) {
        if self.close_sent {
            return;
        }
        let mut slot = [0u8; 125];
        slot[..payload.len()].copy_from_slice(payload);
        // payload.len() <= 125: checked by the frame decoder.
        self.owed.pong = Some((slot, payload.len() as u8));
    }

    fn on_close_received(&mut self, code: CloseCode) {
        self.close_received = true;
        self.owed.close.get_or_insert(OwedClose::Reply(code));
        self.owed.pong = None;
    }
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("owed", &!self.inbox.owed.is_empty())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub(super) fn new(
        role: Role,
        config: Config,
        reader: Reader,
        timers: Timers,
        (close_sent, close_received, failed): (bool, bool, bool),
    ) -> Self {
        Self {
            role,
            config,
            reader,
            timers,
            inbox: Inbox {
                owed: Owed::default(),
                close_sent,
                close_received,
            },
            failed,
            #[cfg(feature = "deflate")]
            deflate_params: None,
        }
    }

    pub(super) fn into_parts(self) -> (Reader, Timers, Owed) {
        (self.reader, self.timers, self.inbox.owed)
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The lifecycle state as this half knows it (a close sent by the
    /// other half counts once [`close_sent`](Self::close_sent) was called).
    pub fn state(&self) -> State {
        // A received close is answered at once (its reply is owed), so it
        // ends this half's part of the handshake.
        if self.failed || self.inbox.close_received {
            State::Closed
        } else if self.inbox.close_sent {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Whether nothing more will be received: the peer's close arrived, or
    /// the connection failed.
    pub fn is_done(&self) -> bool {
        self.failed || self.inbox.close_received
    }

    /// Feeds bytes received from the peer; see
    /// [`Connection::receive`](super::Connection::receive).
    pub fn receive(&mut self, data: &[u8]) {
        if !self.is_done() && !data.is_empty() {
            self.timers.heard();
            self.reader.receive(data);
        }
    }

    /// Writable space at the end of the input buffer; see
    /// [`Connection::read_buf`](super::Connection::read_buf).
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.reader.read_space(min.max(1))
    }

    /// Marks `n` bytes of [`read_buf`](Self::read_buf) as received.
    pub fn filled(&mut self, n: usize) {
        if !self.is_done() && n > 0 {
            self.timers.heard();
            self.reader.filled(n);
        }
    }

    /// The peer closed its side of the transport.
    pub fn receive_eof(&mut self) {
        self.reader.receive_eof();
    }

    /// The next event; see [`Connection::next_event`](super::Connection::next_event).
    /// A ping's pong, a close's reply and an error's close frame are
    /// recorded for [`take_owed`](Self::take_owed).
    // Always inlined, as `Connection::next_event` is (see there): out of
    // line, the event crosses stack slots the CPU cannot forward.
    #[inline(always)]
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ProtocolError> {
        if self.is_done() {
            return Ok(None);
        }
        let raw: RawEvent = match self
            .reader
            .advance(&mut self.inbox, &self.config, self.role)
        {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(error) => return Err(self.fail(error)),
        };
        match raw_to_event(&self.reader, raw, &mut self.timers) {
            Ok(event) => Ok(Some(event)),
            Err(error) => {
                // Disjoint fields from the reader the event would borrow.
                self.inbox.owed.close.get_or_insert(OwedClose::Fail(error));
                self.failed = true;
                Err(error)
            }
        }
    }

    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        self.inbox.owed.close.get_or_insert(OwedClose::Fail(error));
        self.failed = true;
        error
    }

    /// What this half owes the peer since the last call, for
    /// [`Sender::deliver`](super::Sender::deliver). Empty most of the time.
    pub fn take_owed(&mut self) -> Owed {
        mem::take(&mut self.inbox.owed)
    }

    /// Whether something is owed (see [`take_owed`](Self::take_owed)).
    pub fn has_owed(&self) -> bool {
        !self.inbox.owed.is_empty()
    }

    /// The sending half sent a close frame: owed pongs stop, and the close
    /// timer starts at the next [`handle_timeout`](Self::handle_timeout).
    pub fn close_sent(&mut self) {
        self.inbox.close_sent = true;
        self.inbox.owed.pong = None;
    }

    /// The next deadline; see [`Connection::poll_timeout`](super::Connection::poll_timeout).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.deadline(self.state(), self.config.timeouts())
    }

    /// Takes the time; see [`Connection::handle_timeout`](super::Connection::handle_timeout).
    /// A keepalive ping and a dead peer's 1011 close are recorded for
    /// [`take_owed`](Self::take_owed).
    pub fn handle_timeout(&mut self, now: Timestamp) -> Result<(), Timeout> {
        let state = self.state();
        if state == State::Closed {
            return Ok(());
        }
        match self.timers.on_time(now, state, self.config.timeouts()) {
            Action::Nothing => Ok(()),
            Action::Ping(payload) => {
                self.inbox.owed.ping = Some(payload);
                Ok(())
            }
            Action::Expire(timeout) => {
                self.inbox
                    .owed
                    .close
                    .get_or_insert(OwedClose::Expire(timeout));
                self.failed = true;
                Err(timeout)
            }
        }
    }

    /// The round trip last measured by a keepalive ping.
    pub fn latency(&self) -> Option<Duration> {
        self.timers.latency()
    }
}
