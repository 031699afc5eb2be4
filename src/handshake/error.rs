//! Error types of the opening handshake: what the peer got wrong
//! ([`HandshakeError`]), what a `ws://` URL got wrong ([`UrlError`]) and what
//! the caller got wrong when asking for a header to be written ([`HeaderError`]).

use core::fmt;

/// Why an opening handshake failed.
///
/// Server side, each variant maps to the HTTP status of the error response
/// ([`HandshakeError::http_status`]); [`write_error_response`] writes that
/// response. Client side, the handshake simply fails: a client MUST _Fail the
/// WebSocket Connection_ ([RFC 6455 §4.1]).
///
/// [`write_error_response`]: super::write_error_response
/// [RFC 6455 §4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The request method is not `GET` (405, answered with `Allow: GET`).
    MethodNotGet,
    /// The request (or response) is not HTTP/1.1 or later (400).
    HttpVersion,
    /// The request has no usable `Host` header: absent, empty or not
    /// printable ASCII (400).
    MissingHost,
    /// A header that must appear at most once appears several times
    /// (`Host`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, `Origin`,
    /// `Sec-WebSocket-Accept`) (400).
    DuplicateHeader,
    /// There is no `Upgrade` header (400).
    MissingUpgrade,
    /// The `Upgrade` header does not list `websocket` (400).
    UpgradeNotWebSocket,
    /// The `Connection` header does not list `upgrade` (400).
    ConnectionNotUpgrade,
    /// There is no `Sec-WebSocket-Key` header (400).
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes (400).
    BadKey,
    /// `Sec-WebSocket-Version` is absent or not `13` (426, answered with
    /// `Sec-WebSocket-Version: 13`).
    UnsupportedVersion,
    /// The `Origin` header is refused by the server's
    /// [`OriginPolicy`](super::OriginPolicy) (403).
    OriginNotAllowed,
    /// `Sec-WebSocket-Protocol` is not a comma-separated list of tokens (400).
    BadProtocolHeader,
    /// `Sec-WebSocket-Extensions` does not follow the grammar of
    /// [RFC 6455 §9.1](https://www.rfc-editor.org/rfc/rfc6455#section-9.1) (400).
    BadExtensionHeader,
    /// The head (request or response line plus headers) is longer than
    /// [`HandshakeLimits::max_bytes`](super::HandshakeLimits::max_bytes) (431).
    TooLarge,
    /// The head has more headers than
    /// [`HandshakeLimits::max_headers`](super::HandshakeLimits::max_headers) (431).
    TooManyHeaders,
    /// The bytes are not an HTTP/1.x head at all (the HTTP parser refused them) (400).
    Malformed,
    /// Client side: the server answered with a status other than `101`.
    /// The whole response stays available in
    /// [`ParsedResponse`](super::ParsedResponse).
    UnexpectedStatus {
        /// The status code the server sent.
        status: u16,
    },
    /// Client side: the response has no `Sec-WebSocket-Accept` header.
    MissingAccept,
    /// Client side: `Sec-WebSocket-Accept` is not the value derived from the
    /// key we sent.
    AcceptMismatch,
    /// Client side: the server selected a subprotocol we did not offer (or
    /// several).
    ProtocolNotOffered,
    /// Client side: the server accepted an extension we did not offer.
    ExtensionNotOffered,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with.
    ///
    /// Client-side variants (which a server never produces) give 400, except
    /// [`UnexpectedStatus`](Self::UnexpectedStatus), which gives its status.
    ///
    /// ```
    /// use wsmachine::handshake::HandshakeError;
    /// assert_eq!(HandshakeError::UnsupportedVersion.http_status(), 426);
    /// assert_eq!(HandshakeError::OriginNotAllowed.http_status(), 403);
    /// ```
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::MethodNotGet => 405,
            Self::UnsupportedVersion => 426,
            Self::OriginNotAllowed => 403,
            Self::TooLarge | Self::TooManyHeaders => 431,
            Self::UnexpectedStatus { status } => *status,
            Self::HttpVersion
            | Self::MissingHost
            | Self::DuplicateHeader
            | Self::MissingUpgrade
            | Self::UpgradeNotWebSocket
            | Self::ConnectionNotUpgrade
            | Self::MissingKey
            | Self::BadKey
            | Self::BadProtocolHeader
            | Self::BadExtensionHeader
            | Self::Malformed
            | Self::MissingAccept
            | Self::AcceptMismatch
            | Self::ProtocolNotOffered
            | Self::ExtensionNotOffered => 400,
        }
    }

    /// A short English sentence saying what was wrong (also the body of the
    /// error response).
    #[must_use]
    pub const fn message(&self) -> &'static str {
        match self {
            Self::MethodNotGet => "a WebSocket handshake must use the GET method",
            Self::HttpVersion => "a WebSocket handshake needs HTTP/1.1 or later",
            Self::MissingHost => "missing or invalid Host header",
            Self::DuplicateHeader => "a header that must appear once appears several times",
            Self::MissingUpgrade => "missing Upgrade header",
            Self::UpgradeNotWebSocket => "the Upgrade header does not list websocket",
            Self::ConnectionNotUpgrade => "the Connection header does not list upgrade",
            Self::MissingKey => "missing Sec-WebSocket-Key header",
            Self::BadKey => "Sec-WebSocket-Key is not the base64 encoding of 16 bytes",
            Self::UnsupportedVersion => "unsupported WebSocket version: only 13 is supported",
            Self::OriginNotAllowed => "origin not allowed",
            Self::BadProtocolHeader => "malformed Sec-WebSocket-Protocol header",
            Self::BadExtensionHeader => "malformed Sec-WebSocket-Extensions header",
            Self::TooLarge => "handshake too large",
            Self::TooManyHeaders => "too many headers",
            Self::Malformed => "malformed HTTP head",
            Self::UnexpectedStatus { .. } => "the server did not answer 101 Switching Protocols",
            Self::MissingAccept => "missing Sec-WebSocket-Accept header",
            Self::AcceptMismatch => "Sec-WebSocket-Accept does not match the key sent",
            Self::ProtocolNotOffered => "the server selected a subprotocol that was not offered",
            Self::ExtensionNotOffered => "the server accepted an extension that was not offered",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedStatus { status } => {
                write!(f, "{} (status {status})", self.message())
            }
            _ => f.write_str(self.message()),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// Why a `ws://` / `wss://` URL was refused by
/// [`WsUrl::parse`](super::WsUrl::parse).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// The URL does not start with `ws://` or `wss://`.
    BadScheme,
    /// There is no host between `//` and the path.
    MissingHost,
    /// The host has characters a host cannot have, or an IPv6 literal is
    /// not closed by `]`.
    BadHost,
    /// The port is empty, not a number, 0 or above 65535.
    BadPort,
    /// The URL has a `#fragment`, which WebSocket URIs MUST NOT have
    /// ([RFC 6455 §3](https://www.rfc-editor.org/rfc/rfc6455#section-3)).
    FragmentNotAllowed,
    /// The URL has `user:password@`; send credentials in a header instead.
    UserInfoNotAllowed,
    /// The path or query has a space, a control character or a non-ASCII
    /// character (percent-encode it).
    InvalidCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadScheme => "the URL scheme must be ws:// or wss://",
            Self::MissingHost => "the URL has no host",
            Self::BadHost => "the URL host is invalid",
            Self::BadPort => "the URL port is invalid",
            Self::FragmentNotAllowed => "a WebSocket URL must not have a #fragment",
            Self::UserInfoNotAllowed => "a WebSocket URL must not have user information",
            Self::InvalidCharacter => "the URL path or query has an invalid character",
        })
    }
}

impl core::error::Error for UrlError {}

/// The caller asked for a header (or status) that cannot be written.
///
/// Returned by the response and request writers before anything is written:
/// on this error the output buffer is left as it was. Header names must be
/// HTTP tokens; values must not contain CR, LF or other control characters
/// (tab excepted), so that no header can smuggle in another one.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// A header name is empty or not an HTTP token.
    InvalidName,
    /// A header value contains CR, LF or another control character.
    InvalidValue,
    /// A header that the writer adds itself (such as `Content-Length`) was
    /// given again.
    Reserved,
    /// The status code is not one a rejection can use (200 to 599 only,
    /// 101 excluded).
    InvalidStatus,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidName => "invalid header name",
            Self::InvalidValue => "invalid header value (control character)",
            Self::Reserved => "this header is written by wsmachine itself",
            Self::InvalidStatus => "invalid status code for a rejection",
        })
    }
}

impl core::error::Error for HeaderError {}
