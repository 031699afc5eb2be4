//! rustls over an async stream (features `tokio` + `rustls`): the TLS
//! handshake with the same sorted errors as the blocking adapter's, then
//! `AsyncRead + AsyncWrite` for the [`WebSocket`](super::WebSocket).
//!
//! rustls is driven here rather than through tokio-rustls so that both
//! adapters behave alike where it matters to a user: the peer's first bytes
//! are looked at (a plain HTTP client is answered `400`, a plain server is
//! reported as [`TlsError::NotTls`]), an end of stream without
//! `close_notify` is an ordinary end of stream, and every failure is a
//! [`TlsError`]. The bridge from rustls's `std::io` calls to polls is the
//! small [`Bridge`] below.

use alloc::string::String;
use alloc::sync::Arc;
use core::future::poll_fn;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::io::{self, Read, Write};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

use super::Error;
use super::connector::within;
use crate::tls::{TlsError, sniff};

/// How much of a plain HTTP request is read (and dropped) before answering
/// it `400`, and for how long at most: a request head, bounded.
const PLAIN_REQUEST_LIMIT: usize = 16 * 1024;
const PLAIN_REQUEST_TIME: Duration = Duration::from_secs(1);

/// A stream encrypted by rustls, client or server side: what
/// [`tls_connect`] and [`tls_accept`] return once the TLS handshake is done.
/// It is `AsyncRead + AsyncWrite` like the stream under it, so a
/// [`WebSocket`](super::WebSocket) runs over it unchanged.
///
/// A failure of the TLS records after the handshake comes back as
/// [`Error::Tls`] through the adapter. The peer may close TCP without TLS's
/// `close_notify` (browsers and many servers do): that reads as an ordinary
/// end of stream, because the WebSocket closing handshake, not TLS, says
/// whether the conversation was complete. `poll_shutdown` (which
/// [`WebSocket::close`](super::WebSocket::close) calls) sends
/// `close_notify` before shutting the stream's write side; a drop tries to
/// send it too, without waiting.
#[derive(Debug)]
pub struct TlsStream<S: AsyncRead + AsyncWrite + Unpin> {
    tls: rustls::Connection,
    io: S,
    notified: bool,
}

/// rustls reads and writes `std::io`; this lends it the async stream for
/// one poll, `Pending` standing for `WouldBlock` (the waker is registered).
struct Bridge<'a, 'b, S> {
    io: &'a mut S,
    cx: &'a mut Context<'b>,
}

impl<S: AsyncRead + Unpin> Read for Bridge<'_, '_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut *self.io).poll_read(self.cx, &mut buf) {
            Poll::Ready(Ok(())) => Ok(buf.filled().len()),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: AsyncWrite + Unpin> Write for Bridge<'_, '_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // rustls hands over its queued records in one call.
        pending_is_would_block(Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        pending_is_would_block(Pin::new(&mut *self.io).poll_flush(self.cx))
    }
}

fn pending_is_would_block<T>(poll: Poll<io::Result<T>>) -> io::Result<T> {
    match poll {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// Runs a TLS client handshake over `io` for `host` (the name or IP address
/// sent as SNI and checked against the server's certificate).
///
/// Not bounded in time: wrap it in `tokio::time::timeout`, or use a
/// [`Connector`](super::Connector), which holds it to the config's open
/// timeout.
///
/// # Errors
///
/// [`Error::Tls`] with the [`TlsError`] that says what went wrong (an
/// untrusted, expired or wrong-name certificate, the server's alert, a
/// server that does not speak TLS...), or [`Error::Io`].
pub async fn tls_connect<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<TlsStream<S>, Error> {
    let name = ServerName::try_from(String::from(host))
        .map_err(|_| TlsError::InvalidServerName(host.into()))?;
    let tls = ClientConnection::new(config, name).map_err(TlsError::Config)?;
    TlsStream::handshake(tls.into(), io).await
}

/// Runs a TLS server handshake over `io`.
///
/// A client that sends a plain HTTP request instead of a ClientHello (a
/// `ws://` or `http://` URL on this port) is answered with a plain
/// `400 Bad Request` that says the port speaks TLS, and this returns
/// [`TlsError::PlainHttpClient`]. Not bounded in time: a silent client
/// holds it until [`tls_accept_within`]'s deadline (or your own
/// `tokio::time::timeout`).
///
/// # Errors
///
/// [`Error::Tls`] (the client's alert when it refused our certificate,
/// [`TlsError::PlainHttpClient`], [`TlsError::NotTls`] for other bytes...)
/// or [`Error::Io`].
pub async fn tls_accept<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: Arc<ServerConfig>,
) -> Result<TlsStream<S>, Error> {
    let tls = ServerConnection::new(config).map_err(TlsError::Config)?;
    TlsStream::handshake(tls.into(), io).await
}

/// [`tls_accept`] within `timeout` (typically the config's
/// [`open_timeout`](crate::Config::open_timeout)): one deadline for the
/// whole TLS handshake, so a client that stalls or trickles it is cut off.
///
/// # Errors
///
/// As [`tls_accept`]; [`Error::Timeout`]`(`[`Timeout::Opening`](crate::Timeout::Opening)`)` when the
/// deadline passes.
pub async fn tls_accept_within<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: Arc<ServerConfig>,
    timeout: Option<Duration>,
) -> Result<TlsStream<S>, Error> {
    within(timeout, tls_accept(io, config)).await
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream<S> {
    async fn handshake(tls: rustls::Connection, io: S) -> Result<Self, Error> {
        let mut this = Self {
            tls,
            io,
            notified: false,
        };
        let mut first = true;
        while this.tls.is_handshaking() {
            this.send_records().await.map_err(during_handshake)?;
            if !this.tls.wants_read() {
                break; // rustls needs nothing more from the peer
            }
            if first {
                first = false;
                this.first_read().await?;
                continue;
            }
            let read = poll_fn(|cx| {
                let mut bridge = Bridge {
                    io: &mut this.io,
                    cx,
                };
                match this.tls.read_tls(&mut bridge) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
                    result => Poll::Ready(result),
                }
            })
            .await;
            match read {
                Ok(0) => return Err(TlsError::ClosedDuringHandshake.into()),
                Ok(_) => this.process()?,
                Err(e) => return Err(during_handshake(e)),
            }
        }
        // The last flight (a TLS 1.3 client's Finished) goes out now.
        this.send_records().await.map_err(during_handshake)?;
        Ok(this)
    }

    /// The peer's first bytes, read here rather than by rustls so that a
    /// peer speaking plain HTTP is recognised and told so.
    async fn first_read(&mut self) -> Result<(), Error> {
        let mut head = [0u8; 64];
        let n = read_some(&mut self.io, &mut head)
            .await
            .map_err(during_handshake)?;
        if n == 0 {
            return Err(TlsError::ClosedDuringHandshake.into());
        }
        let head = &head[..n];
        let server = matches!(self.tls, rustls::Connection::Server(_));
        if server && !sniff::is_client_hello_start(head[0]) {
            if sniff::looks_like_http_request(head) {
                self.answer_plain_http(head).await;
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

    /// Reads the rest of a plain request head (bounded in bytes and time)
    /// and answers `400`. Best effort: the caller's error is the same either
    /// way.
    async fn answer_plain_http(&mut self, head: &[u8]) {
        let io = &mut self.io;
        let drain = async {
            let mut seen = head.to_vec();
            let mut chunk = [0u8; 2048];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < PLAIN_REQUEST_LIMIT {
                match read_some(io, &mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                }
            }
        };
        let _: Result<(), _> = ::tokio::time::timeout(PLAIN_REQUEST_TIME, drain).await;
        let _ = super::http::write_all(&mut self.io, sniff::PLAIN_HTTP_RESPONSE).await;
        let _ = poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await;
    }

    /// Hands rustls what it read; on a TLS error, tries once to send the
    /// alert rustls queued (without waiting) and reports the error.
    fn process(&mut self) -> Result<(), TlsError> {
        match self.tls.process_new_packets() {
            Ok(_) => Ok(()),
            Err(error) => {
                let mut cx = Context::from_waker(core::task::Waker::noop());
                let _ = self.poll_write_records(&mut cx);
                Err(error.into())
            }
        }
    }

    /// Writes every record rustls holds and flushes the stream.
    async fn send_records(&mut self) -> io::Result<()> {
        poll_fn(|cx| {
            ready!(self.poll_write_records(cx))?;
            Pin::new(&mut self.io).poll_flush(cx)
        })
        .await
    }

    /// Writes the records rustls holds as far as the stream takes them.
    fn poll_write_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            let mut bridge = Bridge {
                io: &mut self.io,
                cx,
            };
            match self.tls.write_tls(&mut bridge) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The stream under TLS (to read its peer address).
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream under TLS, mutably. Reading or writing it directly breaks
    /// the TLS session.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The rustls connection: the negotiated ALPN protocol, the peer's
    /// certificates, the protocol version, the SNI a client sent.
    pub fn tls(&self) -> &rustls::Connection {
        &self.tls
    }
}

/// One read of up to `buf.len()` bytes; 0 at end of stream.
async fn read_some<S: AsyncRead + Unpin>(io: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    let mut buf = ReadBuf::new(buf);
    poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, &mut buf)).await?;
    Ok(buf.filled().len())
}

/// An I/O error of the handshake: the peer hanging up (a reset is what a
/// server that closes with our ClientHello unread sends) is
/// [`TlsError::ClosedDuringHandshake`]; the rest stays [`Error::Io`].
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

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            match this.tls.reader().read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // No plaintext yet: read more records below.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP ended without close_notify: an ordinary end of stream
                // here; the WebSocket close handshake (or its absence, 1006)
                // says whether the conversation was complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Records owed to the peer (such as a key update) go out first;
            // a stream that does not take them now does not stop the read.
            if let Poll::Ready(Err(e)) = this.poll_write_records(cx) {
                return Poll::Ready(Err(e));
            }
            let mut bridge = Bridge {
                io: &mut this.io,
                cx,
            };
            match this.tls.read_tls(&mut bridge) {
                // 0 is the end of stream: rustls reports it on the next turn.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
            this.process()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // Older records first: Pending or an error here took none of `buf`.
        ready!(this.poll_write_records(cx))?;
        let n = this.tls.writer().write(buf)?;
        // `buf[..n]` is encrypted and queued: it counts as written even if
        // the stream does not take it now; the next write or flush sends it
        // and reports a lasting error.
        let _ = this.poll_write_records(cx);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_write_records(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    /// Sends `close_notify`, then shuts the stream's write side down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.notified {
            this.notified = true;
            this.tls.send_close_notify();
        }
        ready!(this.poll_write_records(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Drop for TlsStream<S> {
    /// Some peers (tungstenite) report an error without `close_notify`: one
    /// attempt to send it, never waiting (a peer that stopped reading must
    /// not hold the drop), and only when no earlier record is still queued.
    fn drop(&mut self) {
        if !self.notified && !self.tls.wants_write() && !self.tls.is_handshaking() {
            self.notified = true;
            self.tls.send_close_notify();
            let mut cx = Context::from_waker(core::task::Waker::noop());
            let _ = self.poll_write_records(&mut cx);
        }
    }
}
