//! Server side: parse the client's opening handshake
//! ([RFC 6455 §4.2.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1))
//! and check it.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::HandshakeLimits;
use super::error::HandshakeError;
use super::extension::{ExtensionOffer, parse_extensions_into};
use super::headers::{is_token, list_contains, list_items, single, trim_ows, values};
use super::origin::OriginPolicy;
use super::scan::{HeadScanner, OwnedHeaders, finish, header_slots, map_httparse_error};

/// Incremental parser of a client's handshake request.
///
/// The owner keeps one growing buffer and calls [`parse`](Self::parse) with
/// all of it after each read. The parser remembers how far it has looked, so
/// the total work is linear in the bytes received however they are split,
/// byte by byte included.
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    scanner: HeadScanner,
}

impl RequestParser {
    /// A parser at the start of a request.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks for a complete request head at the start of `buf`.
    ///
    /// `buf` must be the same buffer each time, only ever extended at its end.
    /// Returns `Ok(None)` while the head is incomplete, and
    /// `Ok(Some((request, n)))` once it is: the head is `buf[..n]`, and any
    /// bytes after it are already WebSocket frames. Calling again after that
    /// parses the same head again.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::TooLarge`] once `limits.max_bytes` bytes have arrived
    /// without a complete head, [`HandshakeError::TooManyHeaders`] past
    /// `limits.max_headers` headers, [`HandshakeError::Malformed`] if the head
    /// is not HTTP/1.x.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: HandshakeLimits,
    ) -> Result<Option<(ParsedRequest, usize)>, HandshakeError> {
        let Some(end) = self.scanner.scan(buf, limits.max_bytes)? else {
            return Ok(None);
        };
        let head = &buf[..end];
        let mut slots = header_slots(limits, end);
        let mut req = httparse::Request::new(&mut slots);
        let status = req.parse(head).map_err(map_httparse_error)?;
        let (method, path, minor) = (req.method, req.path, req.version);
        let headers = finish(status, end, req.headers)?;
        let (Some(method), Some(path), Some(minor)) = (method, path, minor) else {
            return Err(HandshakeError::Malformed);
        };
        let request = ParsedRequest {
            method: method.into(),
            path: path.into(),
            version: (1, minor),
            headers,
        };
        Ok(Some((request, end)))
    }

    /// Forgets everything, ready for a new buffer.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// How many bytes the scanner has examined (for the linearity tests).
    #[cfg(test)]
    pub(crate) fn scanned(&self) -> usize {
        self.scanner.scanned()
    }
}

/// A syntactically valid HTTP/1.x request head, not yet checked as a
/// WebSocket handshake: call [`validate`](Self::validate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRequest {
    method: String,
    path: String,
    version: (u8, u8),
    headers: OwnedHeaders,
}

impl ParsedRequest {
    /// The request method, such as `GET`.
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target: path and query, such as `/chat?room=1`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The HTTP version as (major, minor): `(1, 1)` for HTTP/1.1.
    #[must_use]
    pub fn version(&self) -> (u8, u8) {
        self.version
    }

    /// Every header as (name, value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Checks the request as a WebSocket handshake (see [`validate_request`]).
    ///
    /// # Errors
    ///
    /// The first check that fails, as a [`HandshakeError`] whose
    /// [`http_status`](HandshakeError::http_status) is the answer to send.
    pub fn validate(self, origin: &OriginPolicy) -> Result<HandshakeRequest, HandshakeError> {
        let borrowed: Vec<(&str, &[u8])> = self.headers().collect();
        let valid = validate_request(&self.method, self.version, &borrowed, origin)?;
        Ok(HandshakeRequest {
            method: self.method,
            path: self.path,
            version: self.version,
            headers: self.headers,
            valid,
        })
    }
}

/// What [`validate_request`] found in a valid handshake request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRequest {
    /// The `Host` header, trimmed.
    pub host: String,
    /// The `Origin` header, if any (non-UTF-8 bytes replaced).
    pub origin: Option<String>,
    /// The `Sec-WebSocket-Key` header, trimmed, as sent.
    pub key: String,
    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in the client's
    /// order of preference, all headers merged.
    pub protocols: Vec<String>,
    /// The extensions offered in `Sec-WebSocket-Extensions`, in order, all
    /// headers merged.
    pub extensions: Vec<ExtensionOffer>,
}

impl ValidRequest {
    /// The `Sec-WebSocket-Accept` value answering this request's key.
    #[must_use]
    pub fn accept_key(&self) -> String {
        super::accept_key(self.key.as_bytes())
    }
}

/// Checks a request as a WebSocket opening handshake, for callers that parsed
/// the HTTP themselves. `version` is (major, minor); `headers` are (name,
/// value) in the order received, names compared ASCII-case-insensitively.
///
/// The checks, in order ([RFC 6455 §4.2.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1)):
/// method `GET`; HTTP/1.1 or later; one non-empty `Host`; `Upgrade` lists
/// `websocket`; `Connection` lists `upgrade`; one `Sec-WebSocket-Key` that
/// is base64 of 16 bytes; `Sec-WebSocket-Version: 13`; the origin policy;
/// `Sec-WebSocket-Protocol` tokens and `Sec-WebSocket-Extensions` grammar
/// (repeated headers merged in order).
///
/// # Errors
///
/// The first check that fails.
///
/// ```
/// use wsmachine::handshake::{validate_request, HandshakeError, OriginPolicy};
/// let headers: &[(&str, &[u8])] = &[
///     ("Host", b"example.com"),
///     ("Upgrade", b"websocket"),
///     ("Connection", b"Upgrade"),
///     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
///     ("Sec-WebSocket-Version", b"8"),
/// ];
/// let err = validate_request("GET", (1, 1), headers, &OriginPolicy::default()).unwrap_err();
/// assert_eq!(err, HandshakeError::UnsupportedVersion);
/// assert_eq!(err.http_status(), 426);
/// ```
pub fn validate_request(
    method: &str,
    version: (u8, u8),
    headers: &[(&str, &[u8])],
    origin: &OriginPolicy,
) -> Result<ValidRequest, HandshakeError> {
    // §4.2.1 1: "An HTTP/1.1 or higher GET request".
    if method != "GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if version < (1, 1) {
        return Err(HandshakeError::HttpVersion);
    }
    // §4.2.1 2: "A |Host| header field containing the server's authority."
    let host = single(headers, "Host")?
        .map(trim_ows)
        .filter(|h| !h.is_empty() && h.iter().all(|&b| b.is_ascii_graphic()))
        .and_then(|h| core::str::from_utf8(h).ok())
        .ok_or(HandshakeError::MissingHost)?;
    // §4.2.1 3: "An |Upgrade| header field containing the value "websocket",
    // treated as an ASCII case-insensitive value."
    let mut upgrade = values(headers, "Upgrade").peekable();
    if upgrade.peek().is_none() {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !upgrade.any(|v| list_contains(v, "websocket")) {
        return Err(HandshakeError::UpgradeNotWebSocket);
    }
    // §4.2.1 4: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    if !values(headers, "Connection").any(|v| list_contains(v, "upgrade")) {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    // §4.2.1 5: "A |Sec-WebSocket-Key| header field with a base64-encoded
    // value that, when decoded, is 16 bytes in length."
    let key = trim_ows(single(headers, "Sec-WebSocket-Key")?.ok_or(HandshakeError::MissingKey)?);
    if STANDARD.decode(key).map_or(true, |k| k.len() != 16) {
        return Err(HandshakeError::BadKey);
    }
    let key = core::str::from_utf8(key).map_err(|_| HandshakeError::BadKey)?;
    // §4.2.1 6: "A |Sec-WebSocket-Version| header field, with a value of 13."
    // §4.2.2: otherwise answer 426 with the versions we support.
    match single(headers, "Sec-WebSocket-Version")? {
        Some(v) if trim_ows(v) == b"13" => {}
        _ => return Err(HandshakeError::UnsupportedVersion),
    }
    // §4.2.1 7 and §10.2: the origin, checked by the server's policy.
    let origin_value = single(headers, "Origin")?.map(|o| String::from_utf8_lossy(trim_ows(o)));
    if !origin.allows(origin_value.as_deref(), host) {
        return Err(HandshakeError::OriginNotAllowed);
    }
    // §4.2.1 8: subprotocols, "one or more comma-separated values" (tokens).
    let mut protocols = Vec::new();
    for value in values(headers, "Sec-WebSocket-Protocol") {
        for item in list_items(value) {
            if !is_token(item) {
                return Err(HandshakeError::BadProtocolHeader);
            }
            // A token is ASCII.
            protocols.push(String::from_utf8_lossy(item).into_owned());
        }
    }
    // §4.2.1 9: extensions, §9.1 grammar; several headers merge in order.
    let mut extensions = Vec::new();
    for value in values(headers, "Sec-WebSocket-Extensions") {
        parse_extensions_into(value, &mut extensions)?;
    }
    Ok(ValidRequest {
        host: host.into(),
        origin: origin_value.map(|o| o.into_owned()),
        key: key.into(),
        protocols,
        extensions,
    })
}

/// A valid WebSocket handshake request, owned: what the application sees to
/// decide whether to accept it (and with which subprotocol and extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeRequest {
    method: String,
    path: String,
    version: (u8, u8),
    headers: OwnedHeaders,
    valid: ValidRequest,
}

impl HandshakeRequest {
    /// The request method (always `GET` once valid).
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target: path and query, such as `/chat?room=1`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The HTTP version as (major, minor).
    #[must_use]
    pub fn version(&self) -> (u8, u8) {
        self.version
    }

    /// The `Host` header.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.valid.host
    }

    /// The `Origin` header, if the client sent one.
    #[must_use]
    pub fn origin(&self) -> Option<&str> {
        self.valid.origin.as_deref()
    }

    /// The subprotocols offered, in the client's order of preference.
    #[must_use]
    pub fn protocols(&self) -> &[String] {
        &self.valid.protocols
    }

    /// The extensions offered, in order.
    #[must_use]
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.valid.extensions
    }

    /// The `Sec-WebSocket-Key` header, as sent.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.valid.key
    }

    /// The `Sec-WebSocket-Accept` value that answers this request.
    #[must_use]
    pub fn accept_key(&self) -> String {
        self.valid.accept_key()
    }

    /// Every header as (name, value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The first header called `name` (ASCII-case-insensitive), such as
    /// `header("cookie")`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The checked handshake fields.
    #[must_use]
    pub fn valid(&self) -> &ValidRequest {
        &self.valid
    }
}
