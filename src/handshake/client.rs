//! Client side: describe and write the opening handshake request
//! ([RFC 6455 §4.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.1)),
//! then parse and check the server's response.

use alloc::string::String;
use alloc::vec::Vec;

use super::HandshakeLimits;
use super::error::{HandshakeError, HeaderError, UrlError};
use super::extension::{ExtensionOffer, format_extensions, parse_extensions_into};
use super::headers::{
    check_header, check_value, is_token, list_contains, push_header, single, trim_ows, values,
};
use super::scan::{HeadScanner, OwnedHeaders, finish, header_slots, map_httparse_error};
use super::url::WsUrl;

/// What a client asks for in its handshake request; built with
/// [`new`](Self::new) or [`from_url`](Self::from_url), then the builder
/// methods.
///
/// ```
/// use wsmachine::handshake::{ClientRequest, ExtensionOffer};
/// let req = ClientRequest::from_url("ws://localhost:8080/chat?room=1")
///     .unwrap()
///     .origin("http://localhost:8080")
///     .protocol("chat.v2")
///     .protocol("chat.v1")
///     .extension(ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits", None))
///     .header("Cookie", "session=abc");
/// let mut out = Vec::new();
/// req.write_request("dGhlIHNhbXBsZSBub25jZQ==", &mut out).unwrap();
/// assert!(out.starts_with(b"GET /chat?room=1 HTTP/1.1\r\nHost: localhost:8080\r\n"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    path: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path` (path and query, such as `/chat?room=1`) with
    /// this `Host` header value (`host[:port]`).
    #[must_use]
    pub fn new(host: &str, path: &str) -> Self {
        Self {
            host: host.into(),
            path: path.into(),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A request for a `ws://` or `wss://` URL (see [`WsUrl::parse`]): its
    /// path and query, and a `Host` header without the default port.
    ///
    /// # Errors
    ///
    /// The [`UrlError`] of the URL.
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        Ok(Self::from_ws_url(&WsUrl::parse(url)?))
    }

    /// A request for an already parsed URL.
    #[must_use]
    pub fn from_ws_url(url: &WsUrl) -> Self {
        Self::new(&url.host_header(), &url.path)
    }

    /// Sends `Origin: origin` (browsers do; other clients usually do not).
    #[must_use]
    pub fn origin(mut self, origin: &str) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offers one more subprotocol, after those already offered (most
    /// preferred first).
    #[must_use]
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers one more extension.
    #[must_use]
    pub fn extension(mut self, offer: ExtensionOffer) -> Self {
        self.extensions.push(offer);
        self
    }

    /// Offers the extensions of a raw `Sec-WebSocket-Extensions` value, after
    /// those already offered.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::BadExtensionHeader`] if the value does not parse.
    pub fn extensions_header(mut self, value: &str) -> Result<Self, HandshakeError> {
        parse_extensions_into(value.as_bytes(), &mut self.extensions)?;
        Ok(self)
    }

    /// Sends one more header, such as `Cookie` or `Authorization`. Checked
    /// when the request is written.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `Host` header value.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request target (path and query).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The subprotocols offered, in order.
    #[must_use]
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions offered, in order.
    #[must_use]
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Appends the handshake request to `out`: `GET`, `Host`, `Upgrade`,
    /// `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`, then
    /// `Origin`, `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` if
    /// any, then the extra headers in order.
    ///
    /// `key` comes from [`generate_key`](super::generate_key) with fresh
    /// random bytes; keep it to check the response.
    ///
    /// # Errors
    ///
    /// [`HeaderError`] if a header name is not a token, a value (host, path,
    /// key, origin, protocol included) has a control character, or a
    /// subprotocol is not a token; nothing is written then.
    pub fn write_request(&self, key: &str, out: &mut Vec<u8>) -> Result<(), HeaderError> {
        let extensions = format_extensions(&self.extensions);
        let protocols = self.protocols.join(", ");
        for value in [&self.host, key, &extensions, &protocols] {
            check_value(value)?;
        }
        if self.path.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(HeaderError::InvalidValue);
        }
        if let Some(origin) = &self.origin {
            check_value(origin)?;
        }
        if self.protocols.iter().any(|p| !is_token(p.as_bytes())) {
            return Err(HeaderError::InvalidValue);
        }
        for (name, value) in &self.headers {
            check_header(name, value)?;
        }

        out.extend_from_slice(b"GET ");
        out.extend_from_slice(if self.path.is_empty() {
            b"/"
        } else {
            self.path.as_bytes()
        });
        out.extend_from_slice(b" HTTP/1.1\r\n");
        push_header(out, "Host", self.host.as_bytes());
        push_header(out, "Upgrade", b"websocket");
        push_header(out, "Connection", b"Upgrade");
        push_header(out, "Sec-WebSocket-Key", key.as_bytes());
        push_header(out, "Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            push_header(out, "Origin", origin.as_bytes());
        }
        if !protocols.is_empty() {
            push_header(out, "Sec-WebSocket-Protocol", protocols.as_bytes());
        }
        if !extensions.is_empty() {
            push_header(out, "Sec-WebSocket-Extensions", extensions.as_bytes());
        }
        for (name, value) in &self.headers {
            push_header(out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Incremental parser of the server's handshake response; linear in the
/// bytes received, like [`RequestParser`](super::RequestParser).
#[derive(Clone, Debug, Default)]
pub struct ResponseParser {
    scanner: HeadScanner,
}

impl ResponseParser {
    /// A parser at the start of a response.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks for a complete response head at the start of `buf`, which must
    /// be the same buffer each time, only ever extended at its end.
    ///
    /// `Ok(None)`: more bytes needed. `Ok(Some((response, n)))`: the head is
    /// `buf[..n]`; after a `101` the bytes after it are WebSocket frames,
    /// after any other status they are the body (see
    /// [`ParsedResponse::body_len`]).
    ///
    /// # Errors
    ///
    /// [`HandshakeError::TooLarge`], [`HandshakeError::TooManyHeaders`] or
    /// [`HandshakeError::Malformed`], as for requests.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: HandshakeLimits,
    ) -> Result<Option<(ParsedResponse, usize)>, HandshakeError> {
        let Some(end) = self.scanner.scan(buf, limits.max_bytes)? else {
            return Ok(None);
        };
        let head = &buf[..end];
        let mut slots = header_slots(limits, end);
        let mut resp = httparse::Response::new(&mut slots);
        let status = resp.parse(head).map_err(map_httparse_error)?;
        let (minor, code, reason) = (resp.version, resp.code, resp.reason);
        let headers = finish(status, end, resp.headers)?;
        let (Some(minor), Some(code)) = (minor, code) else {
            return Err(HandshakeError::Malformed);
        };
        let response = ParsedResponse {
            version: (1, minor),
            status: code,
            reason: reason.unwrap_or("").into(),
            headers,
            head_len: end,
            body: Vec::new(),
        };
        Ok(Some((response, end)))
    }

    /// Forgets everything, ready for a new buffer.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    #[cfg(test)]
    pub(crate) fn scanned(&self) -> usize {
        self.scanner.scanned()
    }
}

/// A server's response head, owned. For a status other than `101` it also
/// keeps the body once the owner has collected it
/// ([`body_len`](Self::body_len), [`set_body`](Self::set_body)), so the
/// application can see why it was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedResponse {
    version: (u8, u8),
    status: u16,
    reason: String,
    headers: OwnedHeaders,
    head_len: usize,
    body: Vec<u8>,
}

impl ParsedResponse {
    /// The status code, `101` for an accepted handshake.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (possibly empty).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The HTTP version as (major, minor).
    #[must_use]
    pub fn version(&self) -> (u8, u8) {
        self.version
    }

    /// Every header as (name, value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The first header called `name` (ASCII-case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How many body bytes follow the head of a refusal, which the owner may
    /// collect (then pass to [`set_body`](Self::set_body)) before failing the
    /// connection: the `Content-Length`, capped so that head and body stay
    /// within `limits.max_bytes`. 0 after a `101`, without a valid
    /// `Content-Length` (no chunked decoding, no read to end of stream), or
    /// with several.
    #[must_use]
    pub fn body_len(&self, limits: HandshakeLimits) -> usize {
        if self.status == 101 {
            return 0;
        }
        let mut lengths = values(&self.borrowed(), "Content-Length")
            .map(|v| {
                core::str::from_utf8(trim_ows(v))
                    .ok()?
                    .parse::<usize>()
                    .ok()
            })
            .collect::<Vec<_>>()
            .into_iter();
        let len = match (lengths.next(), lengths.next()) {
            (Some(Some(n)), None) => n,
            _ => 0,
        };
        len.min(limits.max_bytes.saturating_sub(self.head_len))
    }

    /// Keeps the body of a refusal (what the owner collected after the head).
    pub fn set_body(&mut self, body: &[u8]) {
        self.body = body.into();
    }

    /// The body of a refusal, if the owner collected it.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Checks this response against the request we sent (see
    /// [`validate_response`]).
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn validate(
        &self,
        request: &ClientRequest,
        key: &str,
    ) -> Result<Negotiated, HandshakeError> {
        if self.version < (1, 1) {
            return Err(HandshakeError::HttpVersion);
        }
        validate_response(self.status, &self.borrowed(), request, key)
    }

    fn borrowed(&self) -> Vec<(&str, &[u8])> {
        self.headers().collect()
    }
}

/// What the server agreed to in a valid handshake response.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol the server selected, one of those offered.
    pub protocol: Option<String>,
    /// The extensions the server accepted, in its order, with its parameters.
    pub extensions: Vec<ExtensionOffer>,
}

/// Checks a server's handshake response, for callers that parsed the HTTP
/// themselves: `status`, `headers` (name, value) in the order received,
/// the request we sent and the key we sent in it.
///
/// The checks, in order ([RFC 6455 §4.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.1),
/// "the client MUST validate the server's response as follows"): status
/// `101`; `Upgrade` lists `websocket`; `Connection` lists `upgrade`; one
/// `Sec-WebSocket-Accept` equal to [`accept_key`](super::accept_key) of our
/// key; a `Sec-WebSocket-Extensions` naming only extensions we offered; at
/// most one `Sec-WebSocket-Protocol`, one of those we offered.
///
/// # Errors
///
/// The first check that fails.
pub fn validate_response(
    status: u16,
    headers: &[(&str, &[u8])],
    request: &ClientRequest,
    key: &str,
) -> Result<Negotiated, HandshakeError> {
    // 1. "If the status code received from the server is not 101, the client
    // handles the response per HTTP procedures."
    if status != 101 {
        return Err(HandshakeError::UnexpectedStatus { status });
    }
    // 2. "If the response lacks an |Upgrade| header field or the |Upgrade|
    // header field contains a value that is not an ASCII case-insensitive
    // match for the value "websocket", the client MUST _Fail_".
    let mut upgrade = values(headers, "Upgrade").peekable();
    if upgrade.peek().is_none() {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !upgrade.any(|v| list_contains(v, "websocket")) {
        return Err(HandshakeError::UpgradeNotWebSocket);
    }
    // 3. "... |Connection| header field ... "Upgrade" ..."
    if !values(headers, "Connection").any(|v| list_contains(v, "upgrade")) {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    // 4. "... |Sec-WebSocket-Accept| contains a value other than the base64-
    // encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a
    // string, not base64-decoded) with [the GUID] ... MUST _Fail_".
    let accept = single(headers, "Sec-WebSocket-Accept")
        .map_err(|_| HandshakeError::AcceptMismatch)?
        .ok_or(HandshakeError::MissingAccept)?;
    if trim_ows(accept) != super::accept_key(key.as_bytes()).as_bytes() {
        return Err(HandshakeError::AcceptMismatch);
    }
    // 5. "... indicates the use of an extension that was not present in the
    // client's handshake ... MUST _Fail_".
    let mut extensions = Vec::new();
    for value in values(headers, "Sec-WebSocket-Extensions") {
        parse_extensions_into(value, &mut extensions)?;
    }
    if extensions
        .iter()
        .any(|e| !request.extensions.iter().any(|o| o.is(&e.name)))
    {
        return Err(HandshakeError::ExtensionNotOffered);
    }
    // 6. "... indicates the use of a subprotocol that was not present in the
    // client's handshake ... MUST _Fail_". The server selects one value.
    let protocol = match single(headers, "Sec-WebSocket-Protocol")
        .map_err(|_| HandshakeError::ProtocolNotOffered)?
    {
        None => None,
        Some(p) => {
            let p = trim_ows(p);
            match request.protocols.iter().find(|o| o.as_bytes() == p) {
                Some(o) => Some(o.clone()),
                None => return Err(HandshakeError::ProtocolNotOffered),
            }
        }
    };
    Ok(Negotiated {
        protocol,
        extensions,
    })
}
