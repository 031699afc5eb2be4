//! A blocking WebSocket split into a read half and a write half for two
//! threads, over two handles to one stream (`TcpStream::try_clone`).
//!
//! The engine splits the connection ([`Connection::split`]); this adds the
//! std hand-off. What the read half owes the peer (a pong, the reply to a
//! close, a keepalive ping, the close frame an error calls for) goes into a
//! small shared slot ([`Owed`]: the latest pong, one close). Then the read
//! half *tries* to take the writer (`try_lock`, never waiting): if the write
//! half is idle, the read half writes it at once; if the write half is busy,
//! it sends the slot's content before it lets go. No thread waits for the
//! other, and no lock is held by one half while it waits on the other; the
//! writer's mutex only makes writes to the stream exclusive. When the read
//! half writes owed frames itself, the write timeout bounds that write
//! ([`WriteHalf::set_write_timeout`], 10 s by default): a peer that stops
//! reading holds the read half no longer than that.

use alloc::sync::Arc;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Instant;

use super::transport::Applied;
use super::{Error, OwnedMessage, Transport, WebSocket};
use crate::{
    CloseCode, Connection, Event, Message, MessageKind, Owed, Receiver, Sender, State, Timestamp,
};

/// Bytes asked of the receiver's input buffer for each read.
const READ_CHUNK: usize = 16 * 1024;

/// What both halves share.
#[derive(Debug)]
struct Shared<S> {
    /// Read half -> write half: owed control frames. Write half -> read
    /// half: a close frame was sent (starts the receiver's close timer).
    slot: Mutex<Slot>,
    writer: Mutex<Writer<S>>,
}

#[derive(Debug, Default)]
struct Slot {
    owed: Owed,
    close_sent: bool,
}

#[derive(Debug)]
struct Writer<S> {
    stream: S,
    tx: Sender,
    applied: Applied,
    write_timeout: Option<Duration>,
}

/// The read half of a split [`WebSocket`]: reads messages and keeps
/// answering pings and close frames through the write half.
#[derive(Debug)]
pub struct ReadHalf<S> {
    stream: S,
    rx: Receiver,
    shared: Arc<Shared<S>>,
    epoch: Instant,
    applied: Applied,
    eof: bool,
}

/// The write half of a split [`WebSocket`]: sends messages, and whatever
/// the read half owes the peer.
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in the other half poisons nothing we rely on: the engine's
    // state is consistent between calls.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: Read + Write + Transport> WebSocket<S> {
    /// Splits into a read half and a write half for two threads; `writer` is
    /// a second handle to the same stream (see [`WebSocket::split`] for a
    /// `TcpStream`). Input read but not yet turned into events, and
    /// unwritten output, go with their half.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] with [`UsageError::NotOpen`](crate::UsageError::NotOpen)
    /// if the opening handshake is not complete; as [`flush`](Self::flush)
    /// if the unwritten tail of a [`Reply`](super::Reply) cannot be written.
    pub fn split_with(mut self, writer: S) -> Result<(ReadHalf<S>, WriteHalf<S>), Error> {
        // The unwritten tail of a direct reply goes before anything either
        // half writes; the halves have no place for it.
        if !self.spill.is_empty() {
            self.flush()?;
        }
        let Self {
            stream,
            conn,
            epoch,
            write_timeout,
            ..
        } = self;
        let (rx, tx) = conn
            .split()
            .map_err(|_| Error::Usage(crate::UsageError::NotOpen))?;
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            writer: Mutex::new(Writer {
                stream: writer,
                tx,
                applied: Applied::default(),
                write_timeout,
            }),
        });
        let read = ReadHalf {
            stream,
            rx,
            shared: shared.clone(),
            epoch,
            applied: Applied::default(),
            eof: false,
        };
        Ok((read, WriteHalf { shared }))
    }
}

impl WebSocket<std::net::TcpStream> {
    /// Splits into a read half and a write half for two threads, over a
    /// clone of the socket; see [`split_with`](Self::split_with).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the socket cannot be cloned, or as
    /// [`split_with`](Self::split_with).
    pub fn split(
        self,
    ) -> Result<
        (
            ReadHalf<std::net::TcpStream>,
            WriteHalf<std::net::TcpStream>,
        ),
        Error,
    > {
        let writer = self.get_ref().try_clone()?;
        self.split_with(writer)
    }
}

impl<S: Read + Write + Transport> ReadHalf<S> {
    /// The next message or control frame, copied out. Pings and the peer's
    /// close are answered through the write half. After the peer's
    /// [`OwnedMessage::Close`] (or an error), returns [`Error::Closed`].
    ///
    /// # Errors
    ///
    /// As [`WebSocket::read`].
    pub fn read(&mut self) -> Result<OwnedMessage, Error> {
        loop {
            if let Some(message) = self.read_with(|event| OwnedMessage::from_event(&event))? {
                return Ok(message);
            }
        }
    }

    /// Like [`read`](Self::read), lending the event borrowed from the input
    /// buffer to `f`.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_with<R>(&mut self, f: impl FnOnce(Event<'_>) -> R) -> Result<R, Error> {
        loop {
            self.note_close_sent();
            match self.rx.next_event() {
                Ok(Some(event)) => {
                    let result = f(event);
                    self.hand_off();
                    return Ok(result);
                }
                Ok(None) => {}
                Err(error) => {
                    self.hand_off();
                    return Err(error.into());
                }
            }
            if self.rx.is_done() {
                return Err(Error::Closed);
            }
            if self.eof {
                return Err(Error::Protocol(crate::ProtocolError::AbnormalClosure));
            }
            self.hand_off();
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        let wait = match self.rx.poll_timeout() {
            Some(deadline) => {
                let wait = deadline - Timestamp::since(self.epoch, now);
                if wait.is_zero() {
                    return self.tick(now);
                }
                Some(wait)
            }
            None => None,
        };
        self.applied.read(&mut self.stream, wait)?;
        let buf = self.rx.read_buf(READ_CHUNK);
        match self.stream.read(buf) {
            Ok(0) => {
                self.rx.receive_eof();
                self.eof = true;
            }
            Ok(n) => {
                self.rx.filled(n);
                self.tick(Instant::now())?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) => {}
            // A TLS stream reports a bad record as Error::Tls through io.
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    fn tick(&mut self, now: Instant) -> Result<(), Error> {
        self.note_close_sent();
        match self.rx.handle_timeout(Timestamp::since(self.epoch, now)) {
            Ok(()) => {
                self.hand_off();
                Ok(())
            }
            Err(timeout) => {
                // The 1011 owed to a dead peer: a courtesy, best effort.
                self.hand_off();
                Err(Error::Timeout(timeout))
            }
        }
    }

    fn note_close_sent(&mut self) {
        if self.rx.state() == State::Open && lock(&self.shared.slot).close_sent {
            self.rx.close_sent();
        }
    }

    /// Puts what is owed in the slot and, if the writer is idle, writes it.
    /// A write error is the write half's to report (on its next call); the
    /// read half goes on reading.
    fn hand_off(&mut self) {
        if !self.rx.has_owed() {
            return;
        }
        lock(&self.shared.slot).owed.merge(self.rx.take_owed());
        let _ = match self.shared.writer.try_lock() {
            Ok(mut writer) => writer.flush(&self.shared.slot),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().flush(&self.shared.slot),
            // Busy: the writer sends the slot before it lets go.
            Err(TryLockError::WouldBlock) => Ok(()),
        };
    }

    /// The engine's receiving half.
    pub fn receiver(&self) -> &Receiver {
        &self.rx
    }
}

impl<S: Write + Transport> Writer<S> {
    /// Takes what the read half owes, then writes everything queued.
    fn flush(&mut self, slot: &Mutex<Slot>) -> Result<(), Error> {
        loop {
            let owed = core::mem::take(&mut lock(slot).owed);
            if !owed.is_empty() {
                self.tx.deliver(owed);
            }
            if !self.tx.wants_write() {
                return Ok(());
            }
            self.applied.write(&mut self.stream, self.write_timeout)?;
            while self.tx.wants_write() {
                match self.stream.write(self.tx.pending_output()) {
                    Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                    Ok(n) => self.tx.advance_output(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // A TLS stream reports a bad record as Error::Tls through io.
                    Err(e) => return Err(e.into()),
                }
            }
            self.stream.flush()?;
            if self.tx.state() != State::Open {
                lock(slot).close_sent = true;
            }
        }
    }
}

impl<S: Read + Write + Transport> WriteHalf<S> {
    /// Runs `command` on the engine's sender, then writes (with what the
    /// read half owes).
    fn with_sender(
        &self,
        command: impl FnOnce(&mut Sender) -> Result<(), crate::UsageError>,
    ) -> Result<(), Error> {
        let result = {
            let mut writer = lock(&self.shared.writer);
            let owed = core::mem::take(&mut lock(&self.shared.slot).owed);
            writer.tx.deliver(owed);
            command(&mut writer.tx).map_err(Error::from)?;
            writer.flush(&self.shared.slot)
        };
        // Owed while we held the writer and after our last look: the read
        // half found it busy, so it is ours to send.
        if !lock(&self.shared.slot).owed.is_empty()
            && let Ok(mut writer) = self.shared.writer.try_lock()
        {
            writer.flush(&self.shared.slot)?;
        }
        result
    }

    /// Sends a text message and writes it.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.with_sender(|tx| tx.send_text(text))
    }

    /// Sends a binary message and writes it.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.with_sender(|tx| tx.send_binary(data))
    }

    /// Sends a message of either kind and writes it.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn send(&self, message: Message<'_>) -> Result<(), Error> {
        self.with_sender(|tx| tx.send(message))
    }

    /// Sends one fragment of a streamed message and writes it.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn send_fragment(&self, kind: MessageKind, payload: &[u8], fin: bool) -> Result<(), Error> {
        self.with_sender(|tx| tx.send_fragment(kind, payload, fin))
    }

    /// Sends a ping (at most 125 bytes) and writes it.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.with_sender(|tx| tx.send_ping(payload))
    }

    /// Starts the closing handshake; the read half reads until the peer's
    /// close (bounded by the close timeout).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_text`].
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.with_sender(|tx| tx.close(code, reason))
    }

    /// Writes whatever is queued or owed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&self) -> Result<(), Error> {
        self.with_sender(|_| Ok(()))
    }

    /// Bounds each write as [`WebSocket::set_write_timeout`] does (default
    /// [`DEFAULT_WRITE_TIMEOUT`](super::DEFAULT_WRITE_TIMEOUT)).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) {
        lock(&self.shared.writer).write_timeout = timeout;
    }

    /// The connection's state as the sending side knows it.
    pub fn state(&self) -> State {
        lock(&self.shared.writer).tx.state()
    }

    /// Shuts the write side of the stream down (after the close handshake,
    /// a server closes TCP first: RFC 6455 section 7.1.1).
    ///
    /// # Errors
    ///
    /// The stream's error.
    pub fn shutdown(&self) -> io::Result<()> {
        lock(&self.shared.writer).stream.shutdown_write()
    }
}

impl<S> Clone for WriteHalf<S> {
    /// Another handle to the same write half (sends from several threads
    /// take turns).
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Puts the halves of one [`WebSocket::split_with`] back together; the
/// stream comes from the read half (the write half's handle is dropped).
///
/// # Errors
///
/// Gives the halves back if they come from different splits or another
/// clone of the write half is still alive.
#[allow(clippy::result_large_err)]
pub fn reunite<S: Read + Write + Transport>(
    read: ReadHalf<S>,
    write: WriteHalf<S>,
) -> Result<WebSocket<S>, (ReadHalf<S>, WriteHalf<S>)> {
    if !Arc::ptr_eq(&read.shared, &write.shared) || Arc::strong_count(&write.shared) != 2 {
        return Err((read, write));
    }
    let ReadHalf {
        stream,
        rx,
        epoch,
        shared,
        ..
    } = read;
    drop(write);
    // Both handles were ours and no clone of the write half was alive.
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
    let mut ws = WebSocket::from_connection(stream, conn);
    ws.epoch = epoch;
    ws.write_timeout = writer.write_timeout;
    Ok(ws)
}
