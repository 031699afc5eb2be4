//! The one loop every async method runs: write what is owed, fire due
//! timers, fill the input buffer, hand out the next event. Every piece of
//! progress is recorded in the engine before a poll returns, which is what
//! makes the read futures cancel-safe.

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::Instant;

use super::reply::{Reply, Spill};
use super::{DEFAULT_HIGH_WATER, Error, WebSocket};
use crate::{Connection, Event, ProtocolError, Timestamp};

/// Bytes asked of the connection's input buffer for each read. The engine
/// keeps up to about three times this as working space while idle, so it
/// stays small for servers that hold many connections; a larger frame
/// grows the buffer as it needs.
const READ_CHUNK: usize = 16 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose opening handshake is already done (or that
    /// needs none) around an open connection, such as
    /// [`Connection::open_server`]. Any output the connection holds is
    /// written by the first call that writes. The connection's clock starts
    /// now.
    pub fn from_connection(io: S, mut conn: Connection) -> Self {
        // Nothing expires at the epoch.
        let _ = conn.handle_timeout(Timestamp::ZERO);
        Self {
            io,
            conn,
            protocol: None,
            clock: super::clock::Clock::new(),
            high_water: DEFAULT_HIGH_WATER,
            unflushed: false,
            undecoded: true,
            eof: false,
            spill: Spill::default(),
        }
    }

    /// Like [`from_connection`](Self::from_connection), for a stream on which
    /// an HTTP server already read past the opening handshake (hyper's
    /// `Parts::read_buf` after an upgrade): `read_ahead` are the bytes it
    /// read beyond the request, the peer's first frames, which are decoded
    /// before anything read from `io`.
    pub fn from_upgraded(io: S, mut conn: Connection, read_ahead: &[u8]) -> Self {
        conn.receive(read_ahead);
        Self::from_connection(io, conn)
    }

    /// The read loop: lends the next event to `f`. Writes owed output as
    /// the stream takes it, fires due timers, and reads when no event is
    /// complete. `Ready(Err(Error::Closed))` once the connection is closed
    /// and its output written.
    pub(super) fn poll_event<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(Event<'_>, &mut Reply<'_>) -> R,
    ) -> Poll<Result<R, Error>> {
        loop {
            // Decoding again what the last pass found incomplete, with no
            // byte added since, is wasted: a read that waited resumes
            // straight at the stream.
            let decoded = if self.undecoded {
                self.conn.next_event_with_sender()
            } else {
                Ok(None)
            };
            match decoded {
                Ok(Some((event, sender))) => {
                    // A direct reply writes within this poll, with its
                    // waker, and keeps the untaken tail in the spill before
                    // `f` returns: nothing is left to a later poll.
                    let mut reply = Reply {
                        sender,
                        io: &mut self.io,
                        waker: cx.waker(),
                        spill: &mut self.spill,
                        unflushed: &mut self.unflushed,
                    };
                    let result = f(event, &mut reply);
                    // An event that used up the input (a whole echo's
                    // frame) leaves nothing to decode: the next read goes
                    // straight to the stream.
                    self.undecoded = !self.conn.is_drained();
                    // The pong or close reply goes out now if the stream
                    // takes it; otherwise the next call writes it.
                    if let Poll::Ready(Err(error)) = self.poll_flush_all(cx) {
                        return Poll::Ready(Err(error));
                    }
                    return Poll::Ready(Ok(result));
                }
                Ok(None) => self.undecoded = false,
                Err(error) => {
                    // Best effort: the close frame the error calls for.
                    let _ = self.poll_flush_all(cx);
                    return Poll::Ready(Err(error.into()));
                }
            }
            if self.conn.is_closed() {
                ready!(self.poll_flush_all(cx))?;
                return Poll::Ready(Err(Error::Closed));
            }
            if self.eof {
                // The engine reported everything the stream held.
                return Poll::Ready(Err(Error::Protocol(ProtocolError::AbnormalClosure)));
            }
            // Pending output does not stop the read: it registers for
            // writability and the loop goes on.
            if let Poll::Ready(Err(error)) = self.poll_flush_all(cx) {
                return Poll::Ready(Err(error));
            }
            // The stream first: a read that brings bytes gives the engine
            // the time itself (`poll_fill`), so the timer is only looked at
            // (and its waker registered) when this poll is about to wait.
            if ready!(self.poll_fill_or_timer(cx))? {
                self.undecoded = true;
            }
        }
    }

    /// A read from the stream, or else the timer: `Ready(Ok(true))` when
    /// bytes (or the end of the stream) came in, `Ready(Ok(false))` when
    /// the timer fired and the engine took the time, `Pending` when
    /// neither (both wakers registered).
    #[inline]
    fn poll_fill_or_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        if let Poll::Ready(result) = self.poll_fill(cx) {
            return Poll::Ready(result.map(|()| true));
        }
        self.poll_timer(cx).map_ok(|()| false)
    }

    /// One read from the stream straight into the connection's input
    /// buffer, then the time of the read for the timers.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut buf = ReadBuf::new(self.conn.read_buf(READ_CHUNK));
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        let n = buf.filled().len();
        if n == 0 {
            self.conn.receive_eof();
            self.eof = true;
        } else {
            self.conn.filled(n);
            // The time of the read keeps keepalive and latency exact. With
            // no deadline, no timer wants the clock: a timer that starts
            // later (the close timer, when our close goes out) asks for a
            // tick by a deadline already due, so skipping the clock read
            // here loses nothing.
            if self.conn.poll_timeout().is_some() {
                self.tick(self.clock.timestamp(Instant::now()))?;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The connection's one timer. `Ready(Ok)` when it fired and the engine
    /// took the time.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // No deadline (keepalive off, no close under way): nothing to arm,
        // decided here rather than in a call.
        let Some(deadline) = self.conn.poll_timeout() else {
            return Poll::Pending;
        };
        let now = ready!(self.clock.poll(cx, Some(deadline)));
        Poll::Ready(self.tick(now))
    }

    /// Gives the connection the time; an expiry is the caller's error.
    fn tick(&mut self, now: Timestamp) -> Result<(), Error> {
        match self.conn.handle_timeout(now) {
            Ok(()) => Ok(()),
            Err(timeout) => {
                // The close frame owed (1011 to a dead peer): a courtesy,
                // if the stream takes it right away.
                let _ = self.poll_write_out(&mut Context::from_waker(core::task::Waker::noop()));
                Err(Error::Timeout(timeout))
            }
        }
    }

    /// Writes the tail of a direct reply, then the connection's output, as
    /// far as the stream takes them.
    pub(super) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_spill(cx))?;
        while self.conn.wants_write() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.conn.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.conn.advance_output(n);
            self.unflushed = true;
        }
        Poll::Ready(Ok(()))
    }

    /// All output written and the stream flushed.
    ///
    /// Called three or four times per echo, mostly with nothing to do:
    /// that case is a few loads here, not a call.
    #[inline]
    pub(super) fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !self.unflushed && self.spill.is_empty() && !self.conn.wants_write() {
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_write_out(cx))?;
        if self.unflushed {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// The tail of a direct reply, which goes before any other output.
    fn poll_spill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.spill.is_empty() {
            return Poll::Ready(Ok(()));
        }
        self.spill.poll_drain(&mut self.io, cx, &mut self.unflushed)
    }

    /// Writes until the pending output is at most the high-water mark. A
    /// direct reply's tail counts, and goes first, whole.
    pub(super) fn poll_below_high_water(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        if self.spill.len() + self.conn.pending_output().len() > self.high_water {
            ready!(self.poll_spill(cx))?;
        }
        while self.conn.pending_output().len() > self.high_water {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.conn.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.conn.advance_output(n);
            self.unflushed = true;
        }
        Poll::Ready(Ok(()))
    }

    pub(super) fn set_protocol(&mut self, protocol: Option<alloc::string::String>) {
        self.protocol = protocol;
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
        self.undecoded = true;
        &mut self.conn
    }
}
