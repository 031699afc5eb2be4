//! A tokio WebSocket split into a read half and a write half for two tasks.
//!
//! The engine splits the connection ([`Connection::split`]): the read half
//! owns the [`Receiver`] (decoder, decompressor, timers), the write half the
//! [`Sender`] (framing, compressor). The stream is split with
//! `tokio::io::split`, so any `AsyncRead + AsyncWrite + Unpin` stream works.
//!
//! What the read half owes the peer (a pong, a close reply, a keepalive
//! ping, the close frame an error calls for) goes into a small shared slot
//! ([`Owed`]: the latest pong, one close). The read half then *tries* to
//! take the writer (`try_lock`): if the write half is idle, the read half
//! writes it itself within its own poll; if the write half is in a poll or
//! waiting on the stream, the write half sends the slot's content on its
//! next transmit (it looks at the slot again after every poll). The writer's
//! mutex is held only inside one poll, never across an await, and the read
//! half never waits for it. A close sent by the write half wakes the read
//! half, whose close timer then starts.

use alloc::sync::Arc;
use core::future::poll_fn;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};
use std::io;
use std::sync::{Mutex, MutexGuard, TryLockError};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::Instant;
use futures_core::Stream;
use futures_sink::Sink;

use super::clock::Clock;
use super::reply::Spill;
use super::{Error, OwnedMessage, WebSocket};
use crate::{
    CloseCode, Connection, Event, Message, MessageKind, Owed, ProtocolError, Receiver, Sender,
    State, Timestamp, UsageError,
};

/// Bytes asked of the receiver's input buffer for each read.
const READ_CHUNK: usize = 16 * 1024;

struct Shared<S> {
    slot: Mutex<Slot>,
    writer: Mutex<Writer<S>>,
}

#[derive(Default)]
struct Slot {
    /// Read half -> write half.
    owed: Owed,
    /// Write half -> read half: a close frame went out.
    close_sent: bool,
    /// The read half's task, woken when `close_sent` is set.
    reader: Option<Waker>,
}

struct Writer<S> {
    io: ::tokio::io::WriteHalf<S>,
    tx: Sender,
    /// The tail of a direct reply the whole socket wrote before the split:
    /// it goes out before anything the sender queues.
    spill: Spill,
    unflushed: bool,
    /// The write half's last poll returned `Pending`: its task waits on the
    /// stream and will write everything queued, so the read half must not
    /// poll the stream's write side (it would take over the wake-up).
    waiting: bool,
    /// The read half wrote last and got `Pending`: it keeps writing until
    /// the write half takes over.
    reader_owns: bool,
}

/// The read half of a split [`WebSocket`]: reads messages (owned, borrowed,
/// or as a [`Stream`]) and keeps answering pings and close frames.
pub struct ReadHalf<S> {
    io: ::tokio::io::ReadHalf<S>,
    rx: Receiver,
    shared: Arc<Shared<S>>,
    clock: Clock,
    eof: bool,
    /// Our last write of owed output got `Pending`: keep at it.
    writing: bool,
    /// Input may hold an event: bytes came in since the last decode found
    /// nothing (or an event was taken).
    undecoded: bool,
}

/// The write half of a split [`WebSocket`]: sends messages (async methods,
/// or as a [`Sink`]), and what the read half owes the peer.
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
    high_water: usize,
}

impl<S> core::fmt::Debug for ReadHalf<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadHalf")
            .field("rx", &self.rx)
            .finish_non_exhaustive()
    }
}

impl<S> core::fmt::Debug for WriteHalf<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteHalf")
            .field("high_water", &self.high_water)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The engine's state is consistent between calls; a panic elsewhere
    // leaves nothing half-done here.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Splits into a read half and a write half for two tasks. Input read
    /// but not yet turned into events, and unwritten output, go with their
    /// half; the high-water mark goes to the write half.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] with [`UsageError::NotOpen`] if the opening
    /// handshake is not complete.
    pub fn split(self) -> Result<(ReadHalf<S>, WriteHalf<S>), Error> {
        let high_water = self.high_water;
        let unflushed = self.unflushed;
        let eof = self.eof;
        let clock = self.clock;
        let spill = self.spill;
        let (rx, tx) = self
            .conn
            .split()
            .map_err(|_| Error::Usage(UsageError::NotOpen))?;
        let (read_io, write_io) = ::tokio::io::split(self.io);
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            writer: Mutex::new(Writer {
                io: write_io,
                tx,
                spill,
                unflushed,
                waiting: false,
                reader_owns: false,
            }),
        });
        let read = ReadHalf {
            io: read_io,
            rx,
            shared: shared.clone(),
            clock,
            eof,
            writing: false,
            undecoded: true,
        };
        Ok((read, WriteHalf { shared, high_water }))
    }
}

/// Puts the halves of one [`WebSocket::split`] back together.
///
/// # Errors
///
/// Gives the halves back if they come from different splits.
#[allow(clippy::result_large_err)]
pub fn reunite<S: AsyncRead + AsyncWrite + Unpin>(
    read: ReadHalf<S>,
    write: WriteHalf<S>,
) -> Result<WebSocket<S>, (ReadHalf<S>, WriteHalf<S>)> {
    if !Arc::ptr_eq(&read.shared, &write.shared) {
        return Err((read, write));
    }
    let ReadHalf {
        io: read_io,
        rx,
        shared,
        clock,
        eof,
        ..
    } = read;
    let high_water = write.high_water;
    drop(write);
    // The two halves held the only handles.
    let Some(shared) = Arc::into_inner(shared) else {
        unreachable!("the read half held the last handle")
    };
    let slot = shared.slot.into_inner().unwrap_or_else(|p| p.into_inner());
    let writer = shared
        .writer
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let mut tx = writer.tx;
    tx.deliver(slot.owed);
    let conn = Connection::reunite(rx, tx);
    let io = read_io.unsplit(writer.io);
    let mut ws = WebSocket::from_connection(io, conn);
    ws.clock = clock;
    ws.high_water = high_water;
    ws.unflushed = writer.unflushed;
    ws.spill = writer.spill;
    ws.eof = eof;
    Ok(ws)
}

impl<S: AsyncWrite> Writer<S> {
    /// Sends what the read half owes; tells it when a close went out.
    fn collect(&mut self, slot: &Mutex<Slot>) {
        let mut slot = lock(slot);
        let owed = mem::take(&mut slot.owed);
        if !owed.is_empty() {
            self.tx.deliver(owed);
        }
        self.note_close(&mut slot);
    }

    fn note_close(&self, slot: &mut Slot) {
        if self.tx.state() != State::Open && !slot.close_sent {
            slot.close_sent = true;
            if let Some(reader) = slot.reader.take() {
                reader.wake();
            }
        }
    }

    fn poll_write_out(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<Result<(), Error>> {
        if !self.spill.is_empty() && self.spill.len() + self.tx.pending_output().len() > limit {
            ready!(self.spill.poll_drain(&mut self.io, cx, &mut self.unflushed))?;
        }
        while self.tx.pending_output().len() > limit {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.tx.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.tx.advance_output(n);
            self.unflushed = true;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_out(cx, 0))?;
        if self.unflushed {
            ready!(Pin::new(&mut self.io).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// The next message or control frame, copied out; see
    /// [`WebSocket::read`]. Pings and the peer's close are answered through
    /// the write half.
    ///
    /// Cancel-safe: dropped before it completes, no byte or message is lost.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::read`].
    pub async fn read(&mut self) -> Result<OwnedMessage, Error> {
        loop {
            if let Some(message) = self
                .read_with(|event| OwnedMessage::from_event(&event))
                .await?
            {
                return Ok(message);
            }
        }
    }

    /// Like [`read`](Self::read), lending the event borrowed from the input
    /// buffer to `f`. Cancel-safe: `f` runs only in the poll that completes
    /// the future.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn read_with<R>(&mut self, f: impl FnOnce(Event<'_>) -> R) -> Result<R, Error> {
        let mut f = Some(f);
        poll_fn(|cx| {
            self.poll_event(cx, |event| f.take().map(|f| f(event)))
                .map(|result| result.and_then(|r| r.ok_or(Error::Closed)))
        })
        .await
    }

    fn poll_event<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(Event<'_>) -> R,
    ) -> Poll<Result<R, Error>> {
        loop {
            self.sync_with_writer(cx);
            // Not decoded again what was found incomplete until bytes came
            // in (or the end of the stream).
            let decoded = if self.undecoded {
                self.rx.next_event()
            } else {
                Ok(None)
            };
            match decoded {
                Ok(Some(event)) => {
                    let result = f(event);
                    self.hand_off(cx);
                    return Poll::Ready(Ok(result));
                }
                Ok(None) => self.undecoded = false,
                Err(error) => {
                    self.hand_off(cx);
                    return Poll::Ready(Err(error.into()));
                }
            }
            if self.rx.is_done() {
                return Poll::Ready(Err(Error::Closed));
            }
            if self.eof {
                return Poll::Ready(Err(Error::Protocol(ProtocolError::AbnormalClosure)));
            }
            self.hand_off(cx);
            // The stream first, as the whole socket's read: a read that
            // brings bytes gives the engine the time itself, so the timer
            // is only looked at when this poll is about to wait.
            let mut buf = ReadBuf::new(self.rx.read_buf(READ_CHUNK));
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(result) => {
                    result?;
                    let n = buf.filled().len();
                    self.fill(cx, n)?;
                    self.undecoded = true;
                }
                Poll::Pending => {
                    let Some(deadline) = self.rx.poll_timeout() else {
                        return Poll::Pending;
                    };
                    let now = ready!(self.clock.poll(cx, Some(deadline)));
                    self.tick(cx, now)?;
                }
            }
        }
    }

    /// Takes the `n` bytes a read brought (0: the end of the stream), and
    /// their time for the timers.
    fn fill(&mut self, cx: &mut Context<'_>, n: usize) -> Result<(), Error> {
        if n == 0 {
            self.rx.receive_eof();
            self.eof = true;
        } else {
            self.rx.filled(n);
            // No deadline: no timer wants the clock (see WebSocket's
            // poll_fill), so the clock is not read.
            if self.rx.poll_timeout().is_some() {
                let now = self.clock.timestamp(Instant::now());
                self.tick(cx, now)?;
            }
        }
        Ok(())
    }

    fn tick(&mut self, cx: &mut Context<'_>, now: Timestamp) -> Result<(), Error> {
        let result = self.rx.handle_timeout(now);
        // A keepalive ping, or the 1011 owed to a dead peer.
        self.hand_off(cx);
        result.map_err(Error::Timeout)
    }

    /// Leaves our waker for the write half's close, and starts the close
    /// timer once a close went out.
    fn sync_with_writer(&mut self, cx: &mut Context<'_>) {
        let mut slot = lock(&self.shared.slot);
        if slot.close_sent {
            if self.rx.state() == State::Open {
                self.rx.close_sent();
            }
        } else if !slot
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            slot.reader = Some(cx.waker().clone());
        }
    }

    /// Puts what is owed in the slot and, if the write half is idle, writes
    /// it (without waiting for the writer's mutex).
    fn hand_off(&mut self, cx: &mut Context<'_>) {
        if self.rx.has_owed() {
            lock(&self.shared.slot).owed.merge(self.rx.take_owed());
        } else if !self.writing {
            return;
        }
        let mut writer = match self.shared.writer.try_lock() {
            Ok(writer) => writer,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // In a poll of the write half, which looks at the slot after.
            Err(TryLockError::WouldBlock) => return,
        };
        if writer.waiting && !writer.reader_owns {
            // The write half waits on the stream and writes all that is queued.
            writer.collect(&self.shared.slot);
            self.writing = false;
            return;
        }
        writer.collect(&self.shared.slot);
        if writer.tx.wants_write() || !writer.spill.is_empty() || writer.unflushed {
            // A write error is the write half's to report on its next call.
            let pending = writer.poll_flush_all(cx).is_pending();
            writer.reader_owns = pending;
            writer.waiting = pending;
        }
        self.writing = writer.reader_owns;
    }

    /// The engine's receiving half.
    pub fn receiver(&self) -> &Receiver {
        &self.rx
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Runs an idempotent poll of the writer with what the read half owes,
    /// and again if more was owed meanwhile (the read half found us busy).
    fn poll_writer(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut Writer<S>, &mut Context<'_>) -> Poll<Result<(), Error>>,
    ) -> Poll<Result<(), Error>> {
        loop {
            let result = {
                let mut writer = lock(&self.shared.writer);
                writer.reader_owns = false;
                writer.collect(&self.shared.slot);
                let result = op(&mut writer, cx);
                writer.waiting = result.is_pending();
                result
            };
            if lock(&self.shared.slot).owed.is_empty() {
                return result;
            }
        }
    }

    fn command(&self, f: impl FnOnce(&mut Sender) -> Result<(), UsageError>) -> Result<(), Error> {
        let mut writer = lock(&self.shared.writer);
        f(&mut writer.tx)?;
        writer.note_close(&mut lock(&self.shared.slot));
        Ok(())
    }

    fn poll_below_high_water(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let high_water = self.high_water;
        self.poll_writer(cx, |w, cx| w.poll_write_out(cx, high_water))
    }

    fn poll_flush_all(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_writer(cx, Writer::poll_flush_all)
    }

    async fn send_with(
        &mut self,
        f: impl FnOnce(&mut Sender) -> Result<(), UsageError>,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_below_high_water(cx)).await?;
        self.command(f)?;
        self.flush().await
    }

    /// Sends a text message; as [`WebSocket::send_text`] (waits below the
    /// high-water mark, queues whole or not at all, writes and flushes).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_with(|tx| tx.send_text(text)).await
    }

    /// Sends a binary message; as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|tx| tx.send_binary(data)).await
    }

    /// Sends a message of either kind; as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn send_message(&mut self, message: Message<'_>) -> Result<(), Error> {
        self.send_with(|tx| tx.send(message)).await
    }

    /// Sends one fragment of a streamed message; as [`send_text`](Self::send_text).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.send_with(|tx| tx.send_fragment(kind, payload, fin))
            .await
    }

    /// Sends a ping (at most 125 bytes); its pong arrives on the read half.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|tx| tx.send_ping(payload)).await
    }

    /// Sends a close frame and flushes; the read half then reads until the
    /// peer's close arrives (or the close timeout passes) and returns
    /// [`Error::Closed`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.command(|tx| tx.close(code, reason))?;
        self.flush().await
    }

    /// Writes everything queued or owed, then flushes the stream.
    /// Cancel-safe: what was not written stays queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Sets the high-water mark of pending output; see
    /// [`WebSocket::set_high_water`] (default [`DEFAULT_HIGH_WATER`](super::DEFAULT_HIGH_WATER)).
    pub fn set_high_water(&mut self, bytes: usize) {
        self.high_water = bytes;
    }

    /// The connection's state as the sending side knows it.
    pub fn state(&self) -> State {
        lock(&self.shared.writer).tx.state()
    }
}

/// As the [`Stream`] of [`WebSocket`]: cancel-safe, ends after the peer's
/// close.
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ReadHalf<S> {
    type Item = Result<OwnedMessage, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match this.poll_event(cx, |event| OwnedMessage::from_event(&event)) {
                Poll::Ready(Ok(Some(message))) => Poll::Ready(Some(Ok(message))),
                Poll::Ready(Ok(None)) => continue,
                Poll::Ready(Err(Error::Closed)) => Poll::Ready(None),
                Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error))),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// As the [`Sink`] of [`WebSocket`]: a message `start_send` accepted is in
/// the engine and is not lost if the future that sent it is dropped.
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<OwnedMessage> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_below_high_water(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: OwnedMessage) -> Result<(), Error> {
        self.command(|tx| match &item {
            OwnedMessage::Text(text) => tx.send_text(text),
            OwnedMessage::Binary(data) => tx.send_binary(data),
            OwnedMessage::Ping(data) => tx.send_ping(data),
            OwnedMessage::Pong(data) => tx.send_pong(data),
            OwnedMessage::Close(_) if tx.state() != State::Open => Ok(()),
            OwnedMessage::Close(Some((code, reason))) => tx.close(*code, reason),
            OwnedMessage::Close(None) => tx.close(CloseCode::NORMAL, ""),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_flush_all(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.command(|tx| match tx.state() {
            State::Open => tx.close(CloseCode::NORMAL, ""),
            _ => Ok(()),
        })?;
        self.poll_flush_all(cx)
    }
}
