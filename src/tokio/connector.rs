//! Opening a client connection from a URL, async: TCP, TLS for `wss://`
//! (feature `rustls`), the opening handshake, each step bounded by the open
//! timeout. The blocking [`Connector`](crate::blocking::Connector)'s shape.

use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::io;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

#[cfg(feature = "rustls")]
use alloc::{boxed::Box, sync::Arc};

use super::{Error, WebSocket};
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
    Tls(Box<super::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (to read addresses; reading or writing it
    /// directly would corrupt the connection).
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

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Opens client connections: `ws://` over TCP, `wss://` over TLS (feature
/// `rustls`), with a [`Config`] and (with `rustls`) a rustls client config
/// of your own.
///
/// ```no_run
/// use wsmachine::tokio::Connector;
///
/// # async fn run() -> Result<(), wsmachine::tokio::Error> {
/// let mut ws = Connector::new().connect("wss://echo.example/ws").await?;
/// ws.send_text("hello").await?;
/// # Ok(()) }
/// ```
///
/// For `wss://`, the server's certificate must chain to Mozilla's roots
/// (`webpki-roots`) and name the URL's host (sent as SNI), unless
/// [`tls_config`](Self::tls_config) says otherwise (a private CA, the
/// platform's store, client certificates). The config's open timeout
/// ([`Config::with_open_timeout`]) bounds the TCP connect, the TLS handshake
/// and the opening handshake, each: a server that stalls any of them ends in
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
    /// [`Error::Tls`](crate::blocking::Error) (or [`Error::TlsRequired`]
    /// without the `rustls` feature), and as [`WebSocket::connect`].
    pub async fn connect(&self, url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
        self.connect_request(url, &ClientRequest::from_url(url)?)
            .await
    }

    /// Like [`connect`](Self::connect), sending `request` (subprotocols,
    /// headers, `Origin`...) to the host and port of `url`, over TLS for
    /// `wss://`.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_request(
        &self,
        url: &str,
        request: &ClientRequest,
    ) -> Result<WebSocket<MaybeTlsStream>, Error> {
        let url = WsUrl::parse(url)?;
        #[cfg(not(feature = "rustls"))]
        if url.secure {
            return Err(Error::TlsRequired);
        }
        let timeout = self.config.open_timeout();
        let address = (url.host.as_str(), url.port);
        let tcp = within(timeout, async { Ok(TcpStream::connect(address).await?) }).await?;
        tcp.set_nodelay(true)?;
        let stream = self.wrap(tcp, &url).await?;
        // From here the engine's open timer bounds the handshake.
        WebSocket::connect_with(stream, request, self.config.clone()).await
    }

    #[cfg(feature = "rustls")]
    async fn wrap(&self, tcp: TcpStream, url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        if !url.secure {
            return Ok(MaybeTlsStream::Plain(tcp));
        }
        let config = match &self.tls {
            Some(config) => config.clone(),
            None => crate::tls::default_client_config()?,
        };
        let handshake = super::tls_connect(tcp, &url.host, config);
        let tls = within(self.config.open_timeout(), handshake).await?;
        Ok(MaybeTlsStream::Tls(Box::new(tls)))
    }

    #[cfg(not(feature = "rustls"))]
    async fn wrap(&self, tcp: TcpStream, _url: &WsUrl) -> Result<MaybeTlsStream, Error> {
        Ok(MaybeTlsStream::Plain(tcp))
    }
}

/// `future` bounded by `timeout`: its expiry is the open timeout.
pub(super) async fn within<T>(
    timeout: Option<Duration>,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout {
        Some(limit) => ::tokio::time::timeout(limit, future)
            .await
            .map_err(|_| Error::Timeout(Timeout::Opening))?,
        None => future.await,
    }
}
