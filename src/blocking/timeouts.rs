//! How the blocking adapter bounds a blocking read or write in time: the
//! stream's own timeouts, set before each call from the engine's next deadline.

use alloc::boxed::Box;
use core::time::Duration;
use std::io;
use std::net::TcpStream;

/// A stream whose blocking reads and writes can be given a timeout, which
/// is how [`WebSocket`](super::WebSocket) wakes up for keepalive pings,
/// dead peers and the open and close timeouts.
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
/// impl wsmachine::blocking::SetTimeouts for Pipe {
///     fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> { Ok(()) }
///     fn set_write_timeout(&mut self, _: Option<Duration>) -> io::Result<()> { Ok(()) }
/// }
/// ```
pub trait SetTimeouts {
    /// Bounds each following blocking read: after `timeout` without data it
    /// fails with `WouldBlock` or `TimedOut`. `None` blocks without bound.
    /// Never called with a zero duration.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bounds each following blocking write likewise.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

impl SetTimeouts for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

impl SetTimeouts for &TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl SetTimeouts for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
}

impl<T: SetTimeouts + ?Sized> SetTimeouts for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
}

impl<T: SetTimeouts + ?Sized> SetTimeouts for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
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
    pub(super) fn read<S: SetTimeouts>(
        &mut self,
        stream: &mut S,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let timeout = timeout.map(|t| t.max(MIN_TIMEOUT));
        if self.read != Some(timeout) {
            stream.set_read_timeout(timeout)?;
            self.read = Some(timeout);
        }
        Ok(())
    }

    pub(super) fn write<S: SetTimeouts>(
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
