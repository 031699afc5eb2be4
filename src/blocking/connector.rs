//! Opening a client connection from a URL: TCP, TLS for `wss://` (feature
//! `rustls`), the opening handshake, each step bounded by a timeout.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

#[cfg(feature = "rustls")]
use alloc::sync::Arc;

use super::{Error, WebSocket};
use crate::handshake::WsUrl;
use crate::{ClientRequest, Config};

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

    /// Sets the TCP stream's read timeout (`None`: block for ever).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::set_read_timeout`].
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// Sets the TCP stream's write timeout (`None`: block for ever).
    ///
    /// # Errors
    ///
    /// As [`TcpStream::set_write_timeout`].
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
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
/// `rustls`), with a [`Config`] and a timeout.
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
/// platform's store, client certificates).
#[derive(Clone, Debug)]
pub struct Connector {
    config: Config,
    timeout: Option<Duration>,
    #[cfg(feature = "rustls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for Connector {
    fn default() -> Self {
        Self::new()
    }
}

impl Connector {
    /// The default [`Config`], a 30 second timeout, and (with `rustls`)
    /// Mozilla's roots.
    pub fn new() -> Self {
        Self {
            config: Config::default(),
            timeout: Some(Duration::from_secs(30)),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// The [`Config`] of the connections it opens.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Bounds the TCP connect, then each read and write of the TLS and
    /// opening handshakes (the socket's read and write timeouts, cleared
    /// once the connection is open); a stalled handshake ends with an
    /// [`Error::Io`] whose [`Error::is_timeout`] is true. `None` waits for
    /// ever. Default: 30 seconds.
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout.filter(|t| !t.is_zero());
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
    /// [`Error::Url`], [`Error::Io`] (a timeout included), for `wss://`
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
        let tcp = self.tcp(&url)?;
        tcp.set_read_timeout(self.timeout)?;
        tcp.set_write_timeout(self.timeout)?;
        let stream = self.wrap(tcp, &url)?;
        let ws = WebSocket::connect_with(stream, request, self.config.clone())?;
        // Open: an idle WebSocket may stay silent as long as it likes.
        ws.get_ref().set_read_timeout(None)?;
        ws.get_ref().set_write_timeout(None)?;
        Ok(ws)
    }

    fn tcp(&self, url: &WsUrl) -> Result<TcpStream, Error> {
        let mut last = None;
        for addr in (url.host.as_str(), url.port).to_socket_addrs()? {
            let stream = match self.timeout {
                Some(timeout) => TcpStream::connect_timeout(&addr, timeout),
                None => TcpStream::connect(addr),
            };
            match stream {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Io(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "the host has no address")
        })))
    }

    #[cfg(feature = "rustls")]
    fn wrap(&self, tcp: TcpStream, url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        if !url.secure {
            return Ok(MaybeTlsStream::Plain(tcp));
        }
        let config = match &self.tls {
            Some(config) => config.clone(),
            None => default_tls_config()?,
        };
        let tls = super::tls_connect(tcp, &url.host, config)?;
        Ok(MaybeTlsStream::Tls(alloc::boxed::Box::new(tls)))
    }

    #[cfg(not(feature = "rustls"))]
    fn wrap(&self, tcp: TcpStream, _url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        Ok(MaybeTlsStream::Plain(tcp))
    }
}

/// `tls::client_config(&Roots::WebPki)`, built once: parsing Mozilla's roots
/// for every connection would be wasted work.
#[cfg(feature = "rustls")]
fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static DEFAULT: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = crate::tls::client_config(&crate::tls::Roots::WebPki)?;
    Ok(DEFAULT.get_or_init(|| config).clone())
}
