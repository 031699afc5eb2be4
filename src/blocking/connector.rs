//! Opening a client connection from a URL: TCP, TLS for `wss://` (feature
//! `rustls`), the opening handshake, each step bounded by the open timeout.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

#[cfg(feature = "rustls")]
use alloc::sync::Arc;

use super::{Error, Transport, WebSocket};
use crate::handshake::WsUrl;
use crate::{ClientRequest, Config, Timeout};

/// The stream of a connection opened by [`connect`](super::connect) or a
/// [`Connector`]: plain TCP for `ws://`, TLS over TCP for `wss://`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`: the TCP stream itself.
    Plain(TcpStream),
    /// `wss://`: rustls over the TCP stream (feature `rustls`).
    #[cfg(feature = "rustls")]
    Tls(alloc::boxed::Box<super::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (to set timeouts or read addresses; reading
    /// or writing it directly would corrupt the connection).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(stream) => stream,
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => stream.get_ref(),
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }
}

impl Transport for MaybeTlsStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.shutdown_write(),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => stream.shutdown_write(),
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => stream.flush(),
        }
    }
}

/// Opens client connections: `ws://` over TCP, `wss://` over TLS (feature
/// `rustls`), with a [`Config`] and (with `rustls`) a rustls client config
/// of your own.
///
/// ```no_run
/// use wsmachine::blocking::Connector;
///
/// let mut ws = Connector::new().connect("wss://echo.example/ws")?;
/// ws.send_text("hello")?;
/// # Ok::<(), wsmachine::blocking::Error>(())
/// ```
///
/// For `wss://`, the server's certificate must chain to Mozilla's roots
/// (`webpki-roots`) and name the URL's host, unless
/// [`tls_config`](Self::tls_config) says otherwise (a private CA, the
/// platform's store, client certificates). The config's open timeout
/// ([`Config::with_open_timeout`]) bounds the TCP connect, the TLS handshake
/// (through the socket's read and write timeouts) and the opening handshake,
/// each: a server that stalls any of them ends in
/// [`Error::Timeout`]`(`[`Timeout::Opening`]`)`.
#[derive(Clone, Debug, Default)]
pub struct Connector {
    config: Config,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Connector {
    /// The default [`Config`] and (with `rustls`) Mozilla's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The [`Config`] of the connections it opens.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The rustls client config for `wss://` URLs, instead of
    /// `tls::client_config(&Roots::WebPki)`: see [`crate::tls`] to build one
    /// that trusts a private CA or the platform's store, or build your own
    /// (client certificates, ALPN...).
    #[cfg(feature = "rustls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects to `url` and runs the opening handshake.
    ///
    /// # Errors
    ///
    /// [`Error::Url`], [`Error::Io`], [`Error::Timeout`], for `wss://`
    /// [`Error::Tls`] (or [`Error::TlsRequired`] without the `rustls`
    /// feature), and as [`WebSocket::connect`].
    pub fn connect(&self, url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
        self.connect_request(url, &ClientRequest::from_url(url)?)
    }

    /// Like [`connect`](Self::connect), sending `request` (subprotocols,
    /// headers, `Origin`...) to the host and port of `url`, over TLS for
    /// `wss://`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_request(
        &self,
        url: &str,
        request: &ClientRequest,
    ) -> Result<WebSocket<MaybeTlsStream>, Error> {
        let url = WsUrl::parse(url)?;
        #[cfg(not(feature = "rustls"))]
        if url.secure {
            return Err(Error::TlsRequired);
        }
        let tcp = connect_tcp(&url.host, url.port, self.config.open_timeout())?;
        tcp.set_nodelay(true)?;
        let stream = self.wrap(tcp, &url)?;
        // From here the adapter sets the socket's timeouts itself, from the
        // engine's open timer.
        WebSocket::connect_with(stream, request, self.config.clone())
    }

    #[cfg(feature = "rustls")]
    fn wrap(&self, tcp: TcpStream, url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        if !url.secure {
            return Ok(MaybeTlsStream::Plain(tcp));
        }
        let config = match &self.tls {
            Some(config) => config.clone(),
            None => crate::tls::default_client_config()?,
        };
        // The TLS handshake is driven here, not by the engine: its bound is
        // a deadline, the open timeout from now, given to the socket as the
        // time left before each read and write (so a server trickling bytes
        // cannot stretch it either).
        let deadline = super::tls::deadline(self.config.open_timeout());
        let tls = super::tls::tls_connect_with(tcp, &url.host, config, deadline)
            .map_err(super::tls::timeout_is_opening)?;
        Ok(MaybeTlsStream::Tls(alloc::boxed::Box::new(tls)))
    }

    #[cfg(not(feature = "rustls"))]
    fn wrap(&self, tcp: TcpStream, _url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        Ok(MaybeTlsStream::Plain(tcp))
    }
}

/// Tries each address of `host` in turn, each bounded by `timeout`.
fn connect_tcp(host: &str, port: u16, timeout: Option<Duration>) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match timeout {
            Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                last = Some(Error::Timeout(Timeout::Opening));
            }
            Err(e) => last = Some(Error::Io(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::Io(io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        ))
    }))
}
