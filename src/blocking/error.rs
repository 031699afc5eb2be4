//! The blocking adapter's error: the engine's errors plus I/O and the
//! outcome of the opening handshake.

use core::fmt;
use std::io;

use alloc::vec::Vec;

use crate::handshake::UrlError;
use crate::{ProtocolError, Timeout, UsageError};

/// Everything that can go wrong on a [`WebSocket`](super::WebSocket).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed. A read or write timeout (`WouldBlock`/`TimedOut`)
    /// or an interrupted call leaves the connection intact: call again.
    /// Data queued by a send before the error stays queued and goes out with
    /// the next [`flush`](super::WebSocket::flush), send or read.
    Io(io::Error),
    /// The peer broke the protocol or vanished
    /// ([`ProtocolError::AbnormalClosure`], 1006, for end of stream without a
    /// close frame). The close frame it calls for was written (if the stream
    /// allowed); the connection is closed.
    Protocol(ProtocolError),
    /// The caller asked for something the protocol or the connection's state
    /// forbids (sending after close, a ping over 125 bytes, ...). Nothing was
    /// sent.
    Usage(UsageError),
    /// One of the connection's timers expired: the handshake took too long,
    /// a keepalive ping went unanswered by a peer that sent nothing at all,
    /// or the peer never answered our close frame. The connection is
    /// closed; drop the stream.
    Timeout(Timeout),
    /// The connection is closed: the close handshake completed normally (the
    /// peer's close frame was delivered by an earlier read), or an earlier
    /// error ended it. Nothing more will arrive.
    Closed,
    /// The opening handshake was refused with this HTTP status: on a client,
    /// the server answered something other than `101`; on a server, the
    /// accept callback returned [`Decision::Reject`](super::Decision::Reject)
    /// and that response was written.
    Rejected {
        /// The HTTP status code, such as 403 or 404.
        status: u16,
        /// The response body (on a client, up to the handshake size limit).
        body: Vec<u8>,
    },
    /// The URL given to [`connect`](super::connect) or
    /// [`WebSocket::connect_url`](super::WebSocket::connect_url) is not a
    /// valid `ws://` URL.
    Url(UrlError),
    /// A `wss://` URL, and the crate was built without the `rustls`
    /// feature: enable it, or open a TLS stream yourself and hand it to
    /// [`WebSocket::connect_url`](super::WebSocket::connect_url), which
    /// takes any `Read + Write` stream.
    TlsRequired,
    /// Server side, on a plain (non-TLS) port: the client's first bytes are
    /// a TLS ClientHello (a `wss://` or `https://` URL). It was answered at
    /// once with a plain `400` saying the port is plain, and the connection
    /// closed, rather than waiting for an HTTP request that cannot come.
    /// Serve TLS on this port (feature `rustls`) or tell clients `ws://`.
    TlsOnPlainPort,
    /// TLS failed (feature `rustls`): the [`TlsError`](crate::tls::TlsError)
    /// says how (an untrusted, expired or wrong-name certificate, the
    /// peer's alert, a peer that does not speak TLS...). The connection is
    /// unusable.
    #[cfg(feature = "rustls")]
    Tls(crate::tls::TlsError),
}

impl Error {
    /// Whether this is an I/O timeout (`WouldBlock` or `TimedOut`, as a
    /// `TcpStream` with a read or write timeout reports it); the connection
    /// is still usable.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Io(e)
            if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }

    /// The close code this error stands for, when it ended the connection
    /// because of the protocol (1002, 1007, 1009, 1006 for end of stream, ...).
    pub fn close_code(&self) -> Option<crate::CloseCode> {
        match self {
            Self::Protocol(e) => Some(e.close_code()),
            Self::Timeout(t) => Some(t.close_code()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
            Self::Usage(e) => write!(f, "usage error: {e}"),
            Self::Timeout(t) => write!(f, "timeout: {t}"),
            Self::Closed => f.write_str("the WebSocket connection is closed"),
            Self::Rejected { status, .. } => {
                write!(f, "handshake rejected with HTTP status {status}")
            }
            Self::Url(e) => write!(f, "bad WebSocket URL: {e}"),
            Self::TlsRequired => f.write_str(
                "wss:// needs TLS: build wsmachine with the `rustls` feature, or connect a \
                 TLS stream yourself and pass it to WebSocket::connect_url",
            ),
            Self::TlsOnPlainPort => f.write_str(
                "the client started a TLS handshake (wss:// or https://) on this plain port; \
                 it was answered 400",
            ),
            #[cfg(feature = "rustls")]
            Self::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Usage(e) => Some(e),
            Self::Timeout(t) => Some(t),
            Self::Url(e) => Some(e),
            #[cfg(feature = "rustls")]
            Self::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    /// [`Error::Io`], except for a TLS failure that the TLS stream had to
    /// report through `std::io` (feature `rustls`): that is [`Error::Tls`].
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "rustls")]
        if e.get_ref()
            .is_some_and(|inner| inner.is::<crate::tls::TlsError>())
        {
            let kind = e.kind();
            if let Some(inner) = e.into_inner() {
                return match inner.downcast::<crate::tls::TlsError>() {
                    Ok(tls) => Self::Tls(*tls),
                    Err(other) => Self::Io(io::Error::new(kind, other)),
                };
            }
            return Self::Io(kind.into());
        }
        Self::Io(e)
    }
}

#[cfg(feature = "rustls")]
impl From<crate::tls::TlsError> for Error {
    fn from(e: crate::tls::TlsError) -> Self {
        Self::Tls(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Self::Usage(e)
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Self::Url(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}
