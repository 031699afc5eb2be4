//! rustls over a blocking stream (feature `rustls`): the TLS handshake with
//! clear errors, then plain `Read + Write` for the [`WebSocket`](super::WebSocket).

use alloc::string::String;
use alloc::sync::Arc;
use core::time::Duration;
use std::io::{self, Read, Write};
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

use super::{Error, Transport};
use crate::Timeout;
use crate::tls::{TlsError, sniff};

/// How much of a plain HTTP request is read (and dropped) before answering
/// it `400`, so that closing does not reset the connection under the
/// response: a request head, bounded.
const PLAIN_REQUEST_LIMIT: usize = 16 * 1024;

/// A stream encrypted by rustls, client or server side: what
/// [`tls_connect`] and [`tls_accept`] return once the TLS handshake is done.
/// It is `Read + Write` like the stream under it, so a
/// [`WebSocket`](super::WebSocket) runs over it unchanged.
///
/// Reads and writes keep the stream's timeouts: a `TcpStream` read timeout
/// comes back as an `Io` error (`WouldBlock`/`TimedOut`) and the stream stays
/// usable. A failure of the TLS records after the handshake comes back as
/// [`Error::Tls`] through the adapter.
///
/// The peer may close TCP without TLS's `close_notify` (browsers and many
/// servers do): that reads as an ordinary end of stream, because the
/// WebSocket closing handshake, not TLS, says whether the conversation was
/// complete (without it the adapter reports 1006). This side sends
/// `close_notify` when dropped (best effort, see
/// [`close_notify`](Self::close_notify)), since some peers (tungstenite)
/// report an error without it.
#[derive(Debug)]
pub struct TlsStream<S: Read + Write> {
    tls: rustls::Connection,
    stream: S,
    notified: bool,
}

/// Runs a TLS client handshake over `stream` for `host` (the name or IP
/// address sent as SNI and checked against the server's certificate).
///
/// The handshake reads and writes `stream` with whatever timeouts it has:
/// set them on a `TcpStream` first, or a server that never answers blocks
/// this call forever ([`Connector`](super::Connector) holds it to the
/// config's open timeout for you).
///
/// # Errors
///
/// [`Error::Tls`] with the [`TlsError`] that says what went wrong (an
/// untrusted, expired or wrong-name certificate, the server's alert, a
/// server that does not speak TLS...), or [`Error::Io`].
pub fn tls_connect<S: Read + Write>(
    stream: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<S>, Error> {
    tls_connect_with(stream, host, config, |_| Ok(()))
}

/// [`tls_connect`], calling `before_io` before every read and write of the
/// handshake (the [`Connector`](super::Connector) sets the time left until
/// its deadline as the socket's timeouts there).
pub(super) fn tls_connect_with<S: Read + Write>(
    stream: S,
    host: &str,
    config: Arc<ClientConfig>,
    before_io: impl FnMut(&mut S) -> io::Result<()>,
) -> Result<TlsStream<S>, Error> {
    let name = ServerName::try_from(String::from(host))
        .map_err(|_| TlsError::InvalidServerName(host.into()))?;
    let tls = ClientConnection::new(config, name).map_err(TlsError::Config)?;
    TlsStream::handshake(tls.into(), stream, before_io)
}

/// Runs a TLS server handshake over `stream`.
///
/// A client that sends a plain HTTP request instead of a ClientHello (a
/// `ws://` or `http://` URL on this port) is answered with a plain
/// `400 Bad Request` that says the port speaks TLS, and this returns
/// [`TlsError::PlainHttpClient`]. As with [`tls_connect`], set a read
/// timeout on the stream first so that a silent client cannot hold it.
///
/// # Errors
///
/// [`Error::Tls`] (the client's alert when it refused our certificate,
/// [`TlsError::PlainHttpClient`], [`TlsError::NotTls`] for other bytes...)
/// or [`Error::Io`].
pub fn tls_accept<S: Read + Write>(
    stream: S,
    config: Arc<ServerConfig>,
) -> Result<TlsStream<S>, Error> {
    let tls = ServerConnection::new(config).map_err(TlsError::Config)?;
    TlsStream::handshake(tls.into(), stream, |_| Ok(()))
}

/// [`tls_accept`] within `timeout` (typically the config's
/// [`open_timeout`](crate::Config::open_timeout)): one deadline for the whole
/// TLS handshake, given to the stream as the time left before each read and
/// write, so a client that stalls or trickles its handshake is cut off.
///
/// # Errors
///
/// As [`tls_accept`]; [`Error::Timeout`]`(`[`Timeout::Opening`]`)` when the
/// deadline passes.
pub fn tls_accept_within<S: Read + Write + Transport>(
    stream: S,
    config: Arc<ServerConfig>,
    timeout: Option<Duration>,
) -> Result<TlsStream<S>, Error> {
    let tls = ServerConnection::new(config).map_err(TlsError::Config)?;
    TlsStream::handshake(tls.into(), stream, deadline(timeout)).map_err(timeout_is_opening)
}

/// A `before_io` hook for the handshake: the time left until `timeout`
/// from now, as the stream's read and write timeouts; `TimedOut` once none
/// is left.
pub(super) fn deadline<S: Transport>(
    timeout: Option<Duration>,
) -> impl FnMut(&mut S) -> io::Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    move |stream| match deadline {
        None => Ok(()),
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            stream.set_read_timeout(Some(left))?;
            stream.set_write_timeout(Some(left))
        }
    }
}

/// A timeout of the TLS handshake is the open timeout.
pub(super) fn timeout_is_opening(error: Error) -> Error {
    if error.is_timeout() {
        Error::Timeout(Timeout::Opening)
    } else {
        error
    }
}

impl<S: Read + Write> TlsStream<S> {
    fn handshake(
        tls: rustls::Connection,
        stream: S,
        mut before_io: impl FnMut(&mut S) -> io::Result<()>,
    ) -> Result<Self, Error> {
        let mut this = Self {
            tls,
            stream,
            notified: false,
        };
        let mut first = true;
        while this.tls.is_handshaking() {
            before_io(&mut this.stream).map_err(during_handshake)?;
            this.write_records().map_err(during_handshake)?;
            if !this.tls.wants_read() {
                break; // rustls needs nothing more from the peer
            }
            before_io(&mut this.stream).map_err(during_handshake)?;
            if first {
                first = false;
                this.first_read()?;
                continue;
            }
            match this.tls.read_tls(&mut this.stream) {
                Ok(0) => return Err(TlsError::ClosedDuringHandshake.into()),
                Ok(_) => this.process()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(during_handshake(e)),
            }
        }
        // The last flight (a TLS 1.3 client's Finished) goes out now.
        before_io(&mut this.stream).map_err(during_handshake)?;
        this.write_records().map_err(during_handshake)?;
        Ok(this)
    }

    /// The peer's first bytes, read here rather than by rustls so that a
    /// peer speaking plain HTTP is recognised and told so.
    fn first_read(&mut self) -> Result<(), Error> {
        let mut head = [0u8; 64];
        let n = loop {
            match self.stream.read(&mut head) {
                Ok(0) => return Err(TlsError::ClosedDuringHandshake.into()),
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(during_handshake(e)),
            }
        };
        let head = &head[..n];
        let server = matches!(self.tls, rustls::Connection::Server(_));
        if server && !sniff::is_client_hello_start(head[0]) {
            if sniff::looks_like_http_request(head) {
                self.answer_plain_http(head);
                return Err(TlsError::PlainHttpClient.into());
            }
            return Err(not_tls(head));
        }
        if !server && !sniff::is_tls_record_start(head[0]) {
            return Err(not_tls(head));
        }
        let mut rest = head;
        while !rest.is_empty() {
            self.tls.read_tls(&mut rest)?;
            self.process()?;
        }
        Ok(())
    }

    /// Reads the rest of a plain request head (bounded) and answers `400`.
    /// Best effort: the error returned to the caller is the same either way.
    fn answer_plain_http(&mut self, head: &[u8]) {
        let mut seen = head.to_vec();
        let mut chunk = [0u8; 2048];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < PLAIN_REQUEST_LIMIT {
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = self
            .stream
            .write_all(sniff::PLAIN_HTTP_RESPONSE)
            .and_then(|()| self.stream.flush());
    }

    /// Hands rustls what it read; on a TLS error, sends the alert rustls
    /// queued (best effort) and reports the error.
    fn process(&mut self) -> Result<(), TlsError> {
        match self.tls.process_new_packets() {
            Ok(_) => Ok(()),
            Err(error) => {
                let _ = self.write_records();
                Err(error.into())
            }
        }
    }

    /// Writes every TLS record rustls holds.
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.stream) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// An I/O error of the handshake: the peer hanging up (a reset is what a
/// server that closes with our ClientHello unread sends) is
/// [`TlsError::ClosedDuringHandshake`]; timeouts and the rest stay
/// [`Error::Io`].
fn during_handshake(error: io::Error) -> Error {
    match error.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => TlsError::ClosedDuringHandshake.into(),
        _ => error.into(),
    }
}

fn not_tls(received: &[u8]) -> Error {
    TlsError::NotTls {
        received: sniff::preview(received),
    }
    .into()
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                // No plaintext yet: read more records below.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP ended without close_notify: an ordinary end of stream
                // here; the WebSocket close handshake (or its absence, 1006)
                // says whether the conversation was complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            // Records owed to the peer (such as a key update) go out first.
            self.write_records()?;
            self.tls.read_tls(&mut self.stream)?;
            self.process()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Older records first: an error here means none of `buf` was taken.
        self.write_records()?;
        let n = self.tls.writer().write(buf)?;
        // `buf[..n]` is encrypted and queued: it counts as written even if
        // the socket does not take it now (a timeout); the next write or
        // flush sends it, and reports a lasting error.
        let _ = self.write_records();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_records()?;
        self.stream.flush()
    }
}

impl<S: Read + Write> TlsStream<S> {
    /// Tells the peer that nothing more will be sent (TLS `close_notify`)
    /// and writes it. Done by `drop` too, unless earlier records are still
    /// unwritten (a peer that stopped reading must not block the drop).
    ///
    /// # Errors
    ///
    /// The stream's write error.
    pub fn close_notify(&mut self) -> io::Result<()> {
        if !self.notified {
            self.notified = true;
            self.tls.send_close_notify();
        }
        self.write_records()?;
        self.stream.flush()
    }

    /// The stream under TLS (to read its peer address or set timeouts).
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream under TLS, mutably. Reading or writing it directly breaks
    /// the TLS session.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The rustls connection: the negotiated ALPN protocol, the peer's
    /// certificates, the protocol version.
    pub fn tls(&self) -> &rustls::Connection {
        &self.tls
    }

    /// The session, for [`SplitTlsStream`](super::SplitTlsStream), which
    /// does the socket I/O on its own handles.
    pub(super) fn session_mut(&mut self) -> &mut rustls::Connection {
        &mut self.tls
    }

    /// Queues `close_notify` once (a split stream writes it itself).
    pub(super) fn queue_close_notify(&mut self) {
        if !self.notified {
            self.notified = true;
            self.tls.send_close_notify();
        }
    }

    /// No `close_notify` on drop: records queued before it were never
    /// written, so the peer could not read it anyway.
    pub(super) fn forgo_close_notify(&mut self) {
        self.notified = true;
    }
}

/// The stream's own timeouts bound the TLS reads and writes too, so the
/// adapter's timers work over TLS unchanged; a half close sends TLS's
/// `close_notify` before the TCP FIN.
impl<S: Read + Write + Transport> Transport for TlsStream<S> {
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

impl<S: Read + Write> Drop for TlsStream<S> {
    fn drop(&mut self) {
        if !self.notified && !self.tls.wants_write() && !self.tls.is_handshaking() {
            let _ = self.close_notify();
        }
    }
}
