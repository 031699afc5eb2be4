//! What the blocking adapter needs of a stream beyond `Read + Write`:
//! timeouts (the engine's deadlines become the stream's read timeout) and a
//! half close (so an HTTP error response reaches the client).

use alloc::boxed::Box;
use core::time::Duration;
use std::io::{self, Read};
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

/// A stream whose blocking reads and writes can be given a timeout, which
/// is how [`WebSocket`](super::WebSocket) wakes up for keepalive pings,
/// dead peers and the open and close timeouts; and whose write side can be
/// shut down on its own, for [`lingering_close`].
///
/// Implemented for `TcpStream` (and `&TcpStream`), Unix sockets, boxes and
/// mutable references. For a stream that cannot time out (an in-memory
/// pipe, say), implement it with `Ok(())` bodies: the timers then run only
/// when a read returns, and a silent peer can block a read forever.
///
/// ```
/// use std::io::{self, Read, Write};
/// use std::time::Duration;
/// struct Pipe; // a stream of your own
/// # impl Read for Pipe { fn read(&mut self, _: &mut [u8]) -> io::Result<usize> { Ok(0) } }
/// # impl Write for Pipe { fn write(&mut self, b: &[u8]) -> io::Result<usize> { Ok(b.len()) }
/// #   fn flush(&mut self) -> io::Result<()> { Ok(()) } }
/// impl wsmachine::blocking::Transport for Pipe {
///     fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> { Ok(()) }
///     fn set_write_timeout(&mut self, _: Option<Duration>) -> io::Result<()> { Ok(()) }
/// }
/// ```
pub trait Transport {
    /// Bounds each following blocking read: after `timeout` without data it
    /// fails with `WouldBlock` or `TimedOut`. `None` blocks without bound.
    /// Never called with a zero duration.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bounds each following blocking write likewise.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Shuts down the write side only (TCP: sends FIN), after the last
    /// byte this end will send. The default does nothing.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Write)
    }
}

impl Transport for &TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// How long [`lingering_close`] drains in all (nginx's `lingering_time` is
/// 30 s; an error response needs far less to reach the client).
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// How long [`lingering_close`] waits for the next input (nginx's
/// `lingering_timeout`, 5 s, shortened for the same reason).
pub const LINGER_TIMEOUT: Duration = Duration::from_millis(500);
/// The most input [`lingering_close`] reads and discards.
pub const LINGER_BYTES: usize = 4 << 20;

/// Closes a stream after an HTTP error response without losing the
/// response: shuts down the write side (the client sees the end of the
/// response), then reads and discards what the client still sends, until it
/// closes too or [`LINGER_TIME`], [`LINGER_TIMEOUT`] or [`LINGER_BYTES`]
/// run out. nginx calls this a lingering close.
///
/// Why: closing a TCP socket whose receive buffer still holds unread input
/// makes the kernel send a reset, and a reset destroys the response in the
/// client's receive buffer before the client reads it. A browser with big
/// cookies gets "connection reset" instead of the 431 that was written.
pub fn lingering_close<S: Read + Transport>(mut stream: S) {
    if stream.shutdown_write().is_err() {
        return;
    }
    let start = Instant::now();
    let mut discarded = 0;
    let mut sink = [0u8; 8192];
    while discarded < LINGER_BYTES {
        let left = LINGER_TIME.saturating_sub(start.elapsed());
        if left.is_zero()
            || stream
                .set_read_timeout(Some(left.min(LINGER_TIMEOUT)))
                .is_err()
        {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The timeouts a [`WebSocket`](super::WebSocket) last gave its stream, so
/// that the system call is made only when the value changes.
#[derive(Debug, Default)]
pub(super) struct Applied {
    read: Option<Option<Duration>>,
    write: Option<Option<Duration>>,
}

/// The shortest timeout handed to a stream: `TcpStream` refuses zero, and a
/// deadline already due is handled before reading at all.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

impl Applied {
    pub(super) fn read<S: Transport>(
        &mut self,
        stream: &mut S,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(MIN_TIMEOUT));
        // The engine's next deadline moves with every read (keepalive counts
        // from the last input), so an exact timeout would cost a system call
        // per message. A timeout already set that ends no later than the one
        // wanted and waits at least half of it will do: a read that returns
        // early with a timeout only makes the caller check the clock again.
        let fits = match (self.read, timeout) {
            (Some(Some(applied)), Some(wanted)) => applied <= wanted && applied >= wanted / 2,
            (Some(applied), wanted) => applied == wanted,
            (None, _) => false,
        };
        if !fits {
            stream.set_read_timeout(timeout)?;
            self.read = Some(timeout);
        }
        Ok(())
    }

    pub(super) fn write<S: Transport>(
        &mut self,
        stream: &mut S,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(MIN_TIMEOUT));
        if self.write != Some(timeout) {
            stream.set_write_timeout(timeout)?;
            self.write = Some(timeout);
        }
        Ok(())
    }
}
