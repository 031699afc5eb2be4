//! The opening handshake phase of a [`Connection`](super::Connection): the
//! HTTP/1.1 Upgrade exchange of RFC 6455 section 4, driven over the same
//! input and output buffers as the frames that follow it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::handshake::{
    ClientRequest, HandshakeError, HandshakeRequest, Negotiated, ParsedResponse, RequestParser,
    ResponseParser,
};

/// Where the opening handshake stands.
#[derive(Debug)]
pub(super) enum Opening {
    /// No handshake: the connection was built open, or the handshake is over.
    Done,
    /// Server: reading the client's request.
    AwaitRequest(RequestParser),
    /// Server: the request was handed out; waiting for `accept` or `reject`.
    AwaitDecision(HandshakeRequest),
    /// Client: the request is in the output; reading the response head.
    AwaitResponse {
        parser: ResponseParser,
        request: ClientRequest,
        key: String,
    },
    /// Client: a non-101 response; collecting its body for the application.
    CollectBody {
        response: ParsedResponse,
        body_len: usize,
    },
    /// Client: a response the application may inspect (101 accepted, or a refusal).
    Answered(HandshakeResponse),
}

/// The server's answer to a client's opening handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeResponse {
    response: ParsedResponse,
    negotiated: Negotiated,
}

impl HandshakeResponse {
    pub(super) fn new(response: ParsedResponse, negotiated: Negotiated) -> Self {
        Self {
            response,
            negotiated,
        }
    }

    /// The HTTP status (101 when the connection opened).
    pub fn status(&self) -> u16 {
        self.response.status()
    }

    /// The subprotocol the server chose, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.negotiated.protocol.as_deref()
    }

    /// The extensions the server accepted, with their parameters.
    pub fn extensions(&self) -> &[crate::handshake::ExtensionOffer] {
        &self.negotiated.extensions
    }

    /// Every response header as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.response.headers()
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.response.header(name)
    }

    /// The response body (only a refusal has one), up to the handshake size limit.
    pub fn body(&self) -> &[u8] {
        self.response.body()
    }
}

/// How the application answers a client's handshake: optionally a
/// subprotocol (one the client offered) and extra response headers.
///
/// ```
/// use wsmachine::Accept;
/// let accept = Accept::new().protocol("chat").header("Set-Cookie", "session=1");
/// # let _ = accept;
/// ```
#[derive(Clone, Debug)]
pub struct Accept<'a> {
    pub(super) protocol: Option<&'a str>,
    pub(super) headers: Vec<(&'a str, &'a str)>,
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    pub(super) compression: bool,
}

impl Default for Accept<'_> {
    fn default() -> Self {
        Self {
            protocol: None,
            headers: Vec::new(),
            compression: true,
        }
    }
}

impl<'a> Accept<'a> {
    /// Accept with no subprotocol and no extra headers (and, with the
    /// `deflate` feature, permessage-deflate if the client offers it and the
    /// configuration allows it).
    pub fn new() -> Self {
        Self::default()
    }

    /// Declines compression for this connection even if it was offered and
    /// configured (for instance for a stream of already-compressed data).
    pub fn without_compression(mut self) -> Self {
        self.compression = false;
        self
    }

    /// Selects `protocol`, which must be one the client offered.
    pub fn protocol(mut self, protocol: &'a str) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Adds a response header (no CR or LF; not one the handshake sets itself).
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A handshake error as the protocol error it becomes.
pub(super) fn failed(error: HandshakeError) -> crate::ProtocolError {
    crate::ProtocolError::Handshake(error)
}
