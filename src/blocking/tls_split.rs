//! One TLS session used from two threads (feature `rustls`): the split
//! [`WebSocket`] over TLS, without a lock held across socket I/O.
//!
//! A rustls session is one piece of state for both directions, so it cannot
//! be cut in two the way a socket can be cloned. [`SplitTlsStream`] shares
//! it behind a mutex that is held only for in-memory work: feeding
//! ciphertext already read (`read_tls` from a buffer, `process_new_packets`,
//! `reader().read`) and encrypting (`writer().write`, `write_tls` into a
//! buffer). Each handle does its socket I/O on its own clone of the socket,
//! outside that lock, so a reader blocked in `read` never holds up a
//! writer, and a writer blocked by a peer that does not read never holds up
//! the reader.
//!
//! TLS records carry sequence numbers: they must reach the wire in the
//! order rustls made them. So whoever writes takes them out of rustls and
//! writes them under a second lock, `out`, which only makes writes to the
//! socket exclusive (as the blocking split's writer mutex does). Records
//! the reading side produces (an alert for a bad record) are written by it
//! only if no write is under way (`try_lock`, never waiting); otherwise the
//! writer, which looks again after it lets go, sends them. A TLS 1.3 key
//! update answer needs nothing of the reader: rustls sends it ahead of the
//! next record written.
//!
//! Write timeouts are the socket's: a write blocked on a peer that does not
//! read holds only the writers' lock, so the reading side goes on decrypting
//! (`tests/blocking_split_tls.rs` checks it). Records encrypted but refused
//! by the socket stay queued, in order, for the next write; that next
//! `write` or `flush` reports the timeout at once rather than waiting it out
//! again.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Mutex, MutexGuard, TryLockError};

use super::{Error, ReadHalf, TlsStream, Transport, WebSocket, WriteHalf};
use crate::tls::TlsError;

/// Ciphertext read from the socket at a time: one TLS record at most
/// (16 KiB of plaintext plus its overhead), so one read is one record.
const CIPHERTEXT_CHUNK: usize = 16 * 1024 + 512;

/// One of two (or more) handles to one TLS session, made by
/// [`TlsStream::split_with`] or [`TlsStream::try_split`]: `Read + Write +
/// Transport` like the [`TlsStream`], so a [`WebSocket`] split runs over it
/// ([`WebSocket::split`] for a `TlsStream<TcpStream>` does all of this).
///
/// Each handle reads and writes its own handle of the socket (a
/// `TcpStream::try_clone`); the session is shared behind a lock held only
/// for in-memory work, never across a socket read or write. Writes from
/// any handle are exclusive with each other, in the order rustls encrypted
/// them.
///
/// Timeouts set through [`Transport`] apply to this handle's socket; for
/// clones of one `TcpStream` the read and the write timeout are each the
/// socket's, shared by the handles (the split [`WebSocket`] sets the read
/// timeout from the read half and the write timeout from the write half).
///
/// `close_notify` goes out with [`close_notify`](Self::close_notify) or
/// [`Transport::shutdown_write`] from any handle, or when the last handle is
/// dropped (best effort, as for [`TlsStream`]).
///
/// The halves of a split [`WebSocket`] reunite ([`reunite`](super::reunite))
/// into a `WebSocket<SplitTlsStream<S>>`, which works like any other; the
/// session is not turned back into a [`TlsStream`].
pub struct SplitTlsStream<S: Read + Write> {
    stream: S,
    shared: Arc<Shared<S>>,
    /// Ciphertext read from `stream`; `fed..filled` is not yet in rustls
    /// (it takes records only while it holds no unread plaintext).
    input: Vec<u8>,
    fed: usize,
    filled: usize,
    eof: bool,
    /// The socket refused the records of the last `write` (a timeout): its
    /// bytes count as written, and the next `write` or `flush` reports
    /// this at once instead of waiting out the timeout a second time.
    stalled: Option<io::ErrorKind>,
}

struct Shared<S: Read + Write> {
    /// The session (and the stream it was made on, which only sends
    /// `close_notify` when the last handle goes). Held for in-memory work only.
    session: Mutex<TlsStream<S>>,
    /// Records taken out of rustls and not yet written. Held by whoever
    /// writes to the socket, for the whole write: records go out in order.
    out: Mutex<Vec<u8>>,
}

impl<S: Read + Write + core::fmt::Debug> core::fmt::Debug for SplitTlsStream<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SplitTlsStream")
            .field("stream", &self.stream)
            .field("unprocessed", &(self.filled - self.fed))
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write> Drop for Shared<S> {
    fn drop(&mut self) {
        // Records taken out of rustls but never written: a close_notify
        // after them would not decrypt at the peer.
        let unwritten = !lock(&self.out).is_empty();
        if unwritten {
            lock(&self.session).forgo_close_notify();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another handle leaves the session as rustls left it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

impl<S: Read + Write> TlsStream<S> {
    /// Splits the session into two handles for two threads: the first does
    /// its I/O on `first`, the second on `second`, both handles to the
    /// socket this stream runs on (this stream keeps its own, to send
    /// `close_notify` when the last handle goes).
    pub fn split_with(self, first: S, second: S) -> (SplitTlsStream<S>, SplitTlsStream<S>) {
        let shared = Arc::new(Shared {
            session: Mutex::new(self),
            out: Mutex::new(Vec::new()),
        });
        (
            SplitTlsStream::new(first, shared.clone()),
            SplitTlsStream::new(second, shared),
        )
    }
}

impl TlsStream<TcpStream> {
    /// [`split_with`](Self::split_with) over two clones of the socket.
    ///
    /// # Errors
    ///
    /// The socket could not be cloned.
    pub fn try_split(self) -> io::Result<(SplitTlsStream<TcpStream>, SplitTlsStream<TcpStream>)> {
        let first = self.get_ref().try_clone()?;
        let second = self.get_ref().try_clone()?;
        Ok(self.split_with(first, second))
    }
}

impl WebSocket<TlsStream<TcpStream>> {
    /// Splits a WebSocket over TLS into a read half and a write half for two
    /// threads, as [`WebSocket::split`] does for a plain `TcpStream`: the
    /// session is shared by two [`SplitTlsStream`] handles (see there), so
    /// neither half holds a lock while it waits on the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the socket cannot be cloned; as
    /// [`split_with`](WebSocket::split_with).
    #[allow(clippy::type_complexity)]
    pub fn split(
        self,
    ) -> Result<
        (
            ReadHalf<SplitTlsStream<TcpStream>>,
            WriteHalf<SplitTlsStream<TcpStream>>,
        ),
        Error,
    > {
        let Self {
            stream,
            conn,
            protocol,
            epoch,
            read_timeout,
            write_timeout,
            spill,
            ..
        } = self;
        let (reader, writer) = stream.try_split()?;
        WebSocket {
            stream: reader,
            conn,
            protocol,
            epoch,
            read_timeout,
            write_timeout,
            applied: super::Applied::default(),
            spill,
        }
        .split_with(writer)
    }
}

impl<S: Read + Write> SplitTlsStream<S> {
    fn new(stream: S, shared: Arc<Shared<S>>) -> Self {
        Self {
            stream,
            shared,
            input: Vec::new(),
            fed: 0,
            filled: 0,
            eof: false,
            stalled: None,
        }
    }

    /// This handle's stream (to read its peer address or set timeouts).
    /// Reading or writing it directly breaks the TLS session.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Runs `f` on the rustls connection (the negotiated ALPN protocol, the
    /// peer's certificates), under the session's lock.
    pub fn with_tls<R>(&self, f: impl FnOnce(&rustls::Connection) -> R) -> R {
        f(lock(&self.shared.session).tls())
    }

    /// Tells the peer that nothing more will be sent (TLS `close_notify`)
    /// and writes it, after every record queued before it.
    ///
    /// # Errors
    ///
    /// The stream's write error.
    pub fn close_notify(&mut self) -> io::Result<()> {
        let mut out = lock(&self.shared.out);
        lock(&self.shared.session).queue_close_notify();
        write_records(&self.shared.session, &mut self.stream, &mut out)?;
        self.stream.flush()
    }

    /// Feeds rustls the ciphertext it will take and hands out plaintext;
    /// `None` when it needs more from the socket.
    fn decrypt(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let mut session = lock(&self.shared.session);
        let tls = session.session_mut();
        // rustls takes records only while it holds no unread plaintext;
        // the rest waits here for the next call.
        while self.fed < self.filled && tls.wants_read() {
            let mut rest = &self.input[self.fed..self.filled];
            match tls.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => self.fed += n,
                Err(e) => return Some(Err(e)),
            }
            if let Err(error) = tls.process_new_packets() {
                // The alert rustls queued for the peer: best effort.
                let alert = tls.wants_write();
                drop(session);
                if alert {
                    self.try_write_records();
                }
                let error = TlsError::from(error);
                return Some(Err(io::Error::new(io::ErrorKind::InvalidData, error)));
            }
        }
        if self.fed == self.filled {
            self.fed = 0;
            self.filled = 0;
        }
        let result = match tls.reader().read(buf) {
            Ok(n) => Some(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            // TCP ended without close_notify: an ordinary end of stream, as
            // for TlsStream (the WebSocket close handshake says whether the
            // conversation was complete).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(Ok(0)),
            Err(e) => Some(Err(e)),
        };
        let owed = tls.wants_write();
        drop(session);
        if owed {
            self.try_write_records();
        }
        result
    }

    /// Writes the records rustls holds if no other handle is writing; if
    /// one is, it sends them before it is done ([`after_write`](Self::after_write)).
    fn try_write_records(&mut self) {
        if let Some(mut out) = try_lock(&self.shared.out) {
            let _ = write_records(&self.shared.session, &mut self.stream, &mut out);
        }
    }

    /// After letting `out` go: records another handle made meanwhile found
    /// it busy and were left to us.
    fn after_write(&mut self) {
        let owed = lock(&self.shared.session).session_mut().wants_write();
        if owed {
            self.try_write_records();
        }
    }
}

/// Takes every record out of rustls and writes them all, in order, to
/// `stream`; the caller holds `out`. What the socket did not take stays in
/// `out` for the next writer.
fn write_records<S: Read + Write>(
    session: &Mutex<TlsStream<S>>,
    stream: &mut S,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    loop {
        {
            let mut session = lock(session);
            let tls = session.session_mut();
            while tls.wants_write() {
                tls.write_tls(out)?;
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        while !out.is_empty() {
            match stream.write(out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => drop(out.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<S: Read + Write> Read for SplitTlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(result) = self.decrypt(buf) {
                return result;
            }
            if self.eof {
                return Ok(0);
            }
            // The socket, without any lock, after what rustls has not
            // taken yet (none, but a full buffer must not read as the end).
            if self.filled == self.input.len() {
                self.input.copy_within(self.fed..self.filled, 0);
                self.filled -= self.fed;
                self.fed = 0;
                let room = self.filled + CIPHERTEXT_CHUNK;
                self.input.resize(room.max(self.input.len()), 0);
            }
            match self.stream.read(&mut self.input[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    // rustls tells a truncation from a close_notify.
                    let _ = lock(&self.shared.session)
                        .session_mut()
                        .read_tls(&mut &[][..]);
                }
                Ok(n) => self.filled += n,
                Err(e) => return Err(e),
            }
        }
    }
}

impl<S: Read + Write> Write for SplitTlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The last write's records are still waiting on a socket that took
        // nothing for the whole timeout: say so now (nothing of `buf` is
        // taken), rather than wait it out again; the call after retries.
        if let Some(kind) = self.stalled.take() {
            return Err(kind.into());
        }
        let mut out = lock(&self.shared.out);
        // Older records first: an error here means none of `buf` was taken.
        write_records(&self.shared.session, &mut self.stream, &mut out)?;
        let n = lock(&self.shared.session)
            .session_mut()
            .writer()
            .write(buf)?;
        // `buf[..n]` is encrypted: it counts as written even if the socket
        // does not take it now (a timeout); the next write or flush sends
        // it, and reports a lasting error.
        let written = write_records(&self.shared.session, &mut self.stream, &mut out);
        drop(out);
        match written {
            Ok(()) => self.after_write(),
            Err(e) => self.stalled = Some(e.kind()),
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(kind) = self.stalled.take() {
            return Err(kind.into());
        }
        let mut out = lock(&self.shared.out);
        write_records(&self.shared.session, &mut self.stream, &mut out)?;
        drop(out);
        self.after_write();
        self.stream.flush()
    }
}

/// Timeouts go to this handle's socket; a half close sends `close_notify`
/// (after every record queued before it), then the TCP FIN.
impl<S: Read + Write + Transport> Transport for SplitTlsStream<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.close_notify()?;
        self.stream.shutdown_write()
    }
}
