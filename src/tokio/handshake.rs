//! The opening handshake over an async stream, both roles.

use alloc::borrow::ToOwned;
use core::future::poll_fn;
use core::pin::Pin;
use core::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Connector, Decision, Error, MaybeTlsStream, WebSocket};
use crate::handshake::HandshakeError;
use crate::{
    Accept, ClientRequest, Config, Connection, Event, HandshakeRequest, OsRandom, ProtocolError,
};

/// How long the lingering close after an HTTP error response drains the
/// peer's input, and how much of it.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 << 20;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Runs the server side of the opening handshake with the default
    /// [`Config`] and accepts every valid request.
    ///
    /// Not cancel-safe: dropped before it completes, the handshake is lost
    /// with the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] with [`ProtocolError::Handshake`] for an invalid
    /// request (its error response, 400/403/426..., was written),
    /// [`Error::TlsOnPlainPort`] at once for a TLS ClientHello (a `wss://`
    /// client on this plain stream; a `400` was written),
    /// [`Error::Timeout`] when the open timeout passed, or [`Error::Io`].
    pub async fn accept(io: S) -> Result<Self, Error> {
        Self::accept_with(io, Config::default(), |_| Decision::accept()).await
    }

    /// Runs the server side of the opening handshake: reads the request,
    /// validates it (including the `Origin` policy of `config`), lets
    /// `decide` see it, and writes the answer. Bounded by the config's open
    /// timeout. Not cancel-safe (see [`accept`](Self::accept)).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept), and [`Error::Rejected`] when `decide`
    /// rejected (its response was written).
    pub async fn accept_with(
        io: S,
        config: Config,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        let mut ws = Self::from_connection(io, Connection::server(config));
        ws.refuse_client_hello().await?;
        ws.server_handshake(decide).await
    }

    /// The client's first bytes, looked at before the engine gets them: a
    /// TLS ClientHello (a `wss://` client on this plain port) can never end
    /// in the blank line an HTTP head waits for, so it is answered `400` and
    /// closed now ([`Error::TlsOnPlainPort`]) rather than at the open
    /// timeout. Bounded by the open timeout (the engine's clock started
    /// with `self`, so the deadline is the same one).
    async fn refuse_client_hello(&mut self) -> Result<(), Error> {
        let mut first = [0u8; 2048];
        let timeout = self.connection().config().open_timeout();
        let io = &mut self.io;
        let n = super::connector::within(timeout, async {
            let mut buf = ReadBuf::new(&mut first);
            poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, &mut buf)).await?;
            Ok(buf.filled().len())
        })
        .await?;
        if n == 0 {
            return Err(Error::Protocol(ProtocolError::AbnormalClosure));
        }
        if let Err(error) = crate::blocking::refuse_client_hello(&first[..n]) {
            let _ = super::http::write_all(&mut self.io, crate::sniff::TLS_ON_PLAIN_PORT_RESPONSE)
                .await;
            let _ = poll_fn(|cx| Pin::new(&mut self.io).poll_flush(cx)).await;
            lingering_close(&mut self.io).await;
            return Err(error);
        }
        self.conn_mut().receive(&first[..n]);
        Ok(())
    }

    /// The server handshake on a server connection that may already hold
    /// (part of) the request.
    pub(super) async fn accept_connection(
        io: S,
        conn: Connection,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        Self::from_connection(io, conn)
            .server_handshake(decide)
            .await
    }

    async fn server_handshake(
        self,
        decide: impl FnOnce(&HandshakeRequest) -> Decision,
    ) -> Result<Self, Error> {
        let mut ws = self;
        let mut decide = Some(decide);
        let decision = poll_fn(|cx| {
            ws.poll_event(cx, |event, _| match event {
                Event::Handshake(request) => decide.take().map(|decide| decide(request)),
                _ => None,
            })
        })
        .await;
        let decision = match decision {
            Ok(Some(decision)) => decision,
            Ok(None) => return Err(Error::Protocol(ProtocolError::AbnormalClosure)),
            Err(Error::Protocol(error)) => {
                // The error response (400, 403, 426, 431, ...) is queued:
                // write it, then close so that it reaches the client.
                if ws.flush().await.is_ok() {
                    lingering_close(ws.io).await;
                }
                return Err(Error::Protocol(error));
            }
            Err(error) => return Err(error),
        };
        match decision {
            Decision::Accept { protocol, headers } => {
                let mut accept = Accept::new();
                if let Some(protocol) = &protocol {
                    accept = accept.protocol(protocol);
                }
                for (name, value) in &headers {
                    accept = accept.header(name, value);
                }
                ws.conn_mut().accept(accept)?;
                ws.set_protocol(protocol);
                ws.flush().await?;
                Ok(ws)
            }
            Decision::Reject {
                status,
                headers,
                body,
            } => {
                crate::blocking::reject(ws.conn_mut(), status, headers, &body)?;
                ws.flush().await?;
                lingering_close(ws.io).await;
                Err(Error::Rejected { status, body })
            }
        }
    }

    /// Runs the client side of the opening handshake for `request` with the
    /// default [`Config`], masking with keys from the OS ([`OsRandom`]).
    /// Not cancel-safe (see [`accept`](Self::accept)).
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] with the status when the server answered other
    /// than `101`; [`Error::Protocol`] for an invalid answer;
    /// [`Error::Timeout`]; [`Error::Io`].
    pub async fn connect(io: S, request: &ClientRequest) -> Result<Self, Error> {
        Self::connect_with(io, request, Config::default()).await
    }

    /// [`connect`](Self::connect) with a [`Config`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        io: S,
        request: &ClientRequest,
        config: Config,
    ) -> Result<Self, Error> {
        let conn = Connection::client(request, config, OsRandom::new())?;
        let mut ws = Self::from_connection(io, conn);
        let connected = poll_fn(|cx| {
            ws.poll_event(cx, |event, _| match event {
                Event::Connected(response) => Some(response.protocol().map(str::to_owned)),
                _ => None,
            })
        })
        .await;
        match connected {
            Ok(Some(protocol)) => {
                ws.set_protocol(protocol);
                Ok(ws)
            }
            Ok(None) => Err(Error::Protocol(ProtocolError::AbnormalClosure)),
            Err(Error::Protocol(ProtocolError::Handshake(HandshakeError::UnexpectedStatus {
                status,
            }))) => {
                let body = ws
                    .connection()
                    .handshake_response()
                    .map(|r| r.body().to_vec());
                Err(Error::Rejected {
                    status,
                    body: body.unwrap_or_default(),
                })
            }
            Err(error) => Err(error),
        }
    }

    /// [`connect`](Self::connect) to a `ws://` or `wss://` URL over a stream
    /// already connected to its host (a TLS stream for `wss://`).
    ///
    /// # Errors
    ///
    /// [`Error::Url`], or as [`connect`](Self::connect).
    pub async fn connect_url(io: S, url: &str) -> Result<Self, Error> {
        Self::connect(io, &ClientRequest::from_url(url)?).await
    }
}

/// Connects to a `ws://` or (feature `rustls`) `wss://` URL and runs the
/// client handshake with the default [`Config`] (for `wss://`: Mozilla's
/// roots, SNI and hostname verification). For your own rustls client config
/// (a private CA, client certificates), use a [`Connector`].
///
/// # Errors
///
/// [`Error::Url`], [`Error::Io`], [`Error::Timeout`] when the open timeout
/// passes, for `wss://` [`Error::Tls`] (or [`Error::TlsRequired`] without
/// the `rustls` feature), or as [`WebSocket::connect`].
pub async fn connect(url: &str) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with a [`Config`]. The TCP connect, the TLS handshake
/// (`wss://`) and the opening handshake are each bounded by the config's
/// open timeout.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_with_config(
    url: &str,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    connect_request(url, &ClientRequest::from_url(url)?, config).await
}

/// [`connect_with_config`] with a request of your own (subprotocols,
/// `Origin`, headers), sent to the host and port of `url`.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_request(
    url: &str,
    request: &ClientRequest,
    config: Config,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    Connector::new()
        .config(config)
        .connect_request(url, request)
        .await
}

/// After an HTTP error response: shut the write side, then drain what the
/// peer still sends (bounded in time and bytes) so that the response is not
/// destroyed by a reset.
async fn lingering_close<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    if poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx))
        .await
        .is_err()
    {
        return;
    }
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match poll_fn(|cx| Pin::new(&mut io).poll_read(cx, &mut buf)).await {
                Ok(()) if !buf.filled().is_empty() => total += buf.filled().len(),
                _ => return,
            }
        }
    };
    let _: Result<(), _> = ::tokio::time::timeout(LINGER_TIME, drain).await;
}
