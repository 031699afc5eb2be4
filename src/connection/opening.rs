//! The opening handshake phase of a [`Connection`](super::Connection): the
//! HTTP/1.1 Upgrade exchange of RFC 6455 section 4, driven over the same
//! input and output buffers as the frames that follow it.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::Connection;
use crate::error::{ProtocolError, UsageError};
use crate::handshake::{
    ClientRequest, HandshakeError, HandshakeRequest, Negotiated, ParsedResponse, RequestParser,
    ResponseParser, write_accept_response, write_error_response, write_reject_response,
};

/// Where the opening handshake stands. Every phase's state is boxed, so that
/// an open connection (`Done`) carries 16 bytes here rather than the size
/// of the largest phase (a parsed request, about 200 bytes).
#[derive(Debug)]
pub(super) enum Opening {
    /// No handshake: the connection was built open, or the handshake is over.
    Done,
    /// Server: reading the client's request.
    AwaitRequest(Box<RequestParser>),
    /// Server: the request was handed out; waiting for `accept` or `reject`.
    AwaitDecision(Box<HandshakeRequest>),
    /// Client: the request is in the output; reading the response head.
    AwaitResponse(Box<AwaitResponse>),
    /// Client: a non-101 response; collecting its body for the application.
    CollectBody(Box<CollectBody>),
    /// Client: a response the application may inspect (101 accepted, or a refusal).
    Answered(Box<HandshakeResponse>),
}

/// Client: what checking the server's response needs.
#[derive(Debug)]
pub(super) struct AwaitResponse {
    pub(super) parser: ResponseParser,
    pub(super) request: ClientRequest,
    pub(super) key: String,
}

/// Client: a refusal whose body is arriving.
#[derive(Debug)]
pub(super) struct CollectBody {
    response: ParsedResponse,
    body_len: usize,
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
fn failed(error: HandshakeError) -> ProtocolError {
    ProtocolError::Handshake(error)
}

/// The handshake-phase methods of [`Connection`].
impl Connection {
    /// Runs the opening handshake on the input so far. `Ok(true)` when an
    /// event is ready (the request for the application, or the 101), or the
    /// handshake is over and frames may follow.
    pub(super) fn advance_opening(&mut self) -> Result<bool, ProtocolError> {
        let limits = self.config.handshake_limits();
        loop {
            match &mut self.opening {
                Opening::Done | Opening::Answered(_) => return Ok(true),
                // Already handed out: no more events until accept or reject.
                // A client may pipeline its first frames, but not without
                // bound while the application decides: past one frame of
                // the largest size beyond a full handshake, it is refused.
                Opening::AwaitDecision(_) => {
                    let bound = limits.max_bytes
                        + self.config.max_frame_size()
                        + crate::frame::MAX_HEADER_LEN;
                    if self.reader.input().len() > bound {
                        return Err(self.refuse(HandshakeError::TooLarge));
                    }
                    return Ok(false);
                }
                Opening::AwaitRequest(parser) => {
                    let parsed = match parser.parse(self.reader.input(), limits) {
                        Ok(Some(parsed)) => parsed,
                        Ok(None) => return self.handshake_needs_more(),
                        Err(e) => return Err(self.refuse(e)),
                    };
                    let (request, used) = parsed;
                    self.reader.consume(used);
                    match request.validate(self.config.origin_policy()) {
                        Ok(request) => {
                            self.opening = Opening::AwaitDecision(Box::new(request));
                            return Ok(true);
                        }
                        Err(e) => return Err(self.refuse(e)),
                    }
                }
                Opening::AwaitResponse(waiting) => {
                    let AwaitResponse {
                        parser,
                        request,
                        key,
                    } = &mut **waiting;
                    let (response, used) = match parser.parse(self.reader.input(), limits) {
                        Ok(Some(parsed)) => parsed,
                        Ok(None) => return self.handshake_needs_more(),
                        Err(e) => return Err(failed(e)),
                    };
                    self.reader.consume(used);
                    if response.status() != 101 {
                        let body_len = response.body_len(limits);
                        self.opening =
                            Opening::CollectBody(Box::new(CollectBody { response, body_len }));
                        continue;
                    }
                    let negotiated = response.validate(request, key).map_err(failed)?;
                    #[cfg(feature = "deflate")]
                    let deflate = crate::deflate::client_accept(
                        self.config.deflate(),
                        &negotiated.extensions,
                    );
                    self.opening =
                        Opening::Answered(Box::new(HandshakeResponse::new(response, negotiated)));
                    self.sender.set_open();
                    self.announce_connected = true;
                    #[cfg(feature = "deflate")]
                    match deflate {
                        Ok(Some(params)) => self.install_deflate(params),
                        Ok(None) => {}
                        // RFC 7692 section 7.1: "the client MUST _Fail the WebSocket Connection_".
                        Err(_) => return Err(ProtocolError::BadExtensionResponse),
                    }
                    return Ok(true);
                }
                Opening::CollectBody(collect) => {
                    let body_len = collect.body_len;
                    let input_len = self.reader.input().len();
                    if input_len < body_len && !self.reader.at_eof() {
                        return Ok(false);
                    }
                    let take = input_len.min(body_len);
                    let mut status = 0;
                    if let Opening::CollectBody(collect) =
                        core::mem::replace(&mut self.opening, Opening::Done)
                    {
                        let mut response = collect.response;
                        response.set_body(&self.reader.input()[..take]);
                        status = response.status();
                        self.opening = Opening::Answered(Box::new(HandshakeResponse::new(
                            response,
                            crate::handshake::Negotiated::default(),
                        )));
                    }
                    self.reader.consume(take);
                    return Err(failed(HandshakeError::UnexpectedStatus { status }));
                }
            }
        }
    }

    fn handshake_needs_more(&self) -> Result<bool, ProtocolError> {
        if self.reader.at_eof() {
            Err(ProtocolError::AbnormalClosure)
        } else {
            Ok(false)
        }
    }

    /// Server: answers an invalid request with its HTTP error response.
    fn refuse(&mut self, error: HandshakeError) -> ProtocolError {
        write_error_response(self.sender.raw_output(), &error);
        self.opening = Opening::Done;
        failed(error)
    }

    /// Server: accepts the handshake request handed out by
    /// [`Event::Handshake`](super::Event::Handshake): the 101 response goes to the output and the
    /// connection is open. Frames the client sent right after its request
    /// are processed by the next [`next_event`](Self::next_event).
    pub fn accept(&mut self, accept: Accept<'_>) -> Result<(), UsageError> {
        let Opening::AwaitDecision(request) = &self.opening else {
            return Err(UsageError::NoHandshakePending);
        };
        if let Some(protocol) = accept.protocol
            && !request.protocols().iter().any(|p| p == protocol)
        {
            return Err(UsageError::ProtocolNotOffered);
        }
        let accept_key = request.accept_key();
        #[cfg(feature = "deflate")]
        let deflate = if accept.compression {
            crate::deflate::negotiate(self.config.deflate(), request.extensions())
        } else {
            None
        };
        #[cfg(feature = "deflate")]
        let extensions = deflate.as_ref().map(|(_, header)| header.as_str());
        #[cfg(not(feature = "deflate"))]
        let extensions = None;
        write_accept_response(
            self.sender.raw_output(),
            &accept_key,
            accept.protocol,
            extensions,
            &accept.headers,
        )
        .map_err(|_| UsageError::InvalidHeader)?;
        self.opening = Opening::Done;
        self.sender.set_open();
        #[cfg(feature = "deflate")]
        if let Some((params, _)) = deflate {
            self.install_deflate(params);
        }
        Ok(())
    }

    /// Turns on permessage-deflate with the negotiated `params`.
    #[cfg(feature = "deflate")]
    fn install_deflate(&mut self, params: crate::deflate::PmdParams) {
        let side = match self.role {
            super::Role::Client => crate::deflate::Side::Client,
            super::Role::Server => crate::deflate::Side::Server,
        };
        let config = self.config.deflate();
        self.sender.set_deflater(params.compressor(side, config));
        self.reader.inflater = Some(Box::new(params.decompressor(side, config)));
        self.reader.allowed_rsv = 0b100;
        self.deflate_params = Some(params);
    }

    /// The negotiated permessage-deflate parameters, if compression is on.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<&crate::deflate::PmdParams> {
        self.deflate_params.as_ref()
    }

    /// Server: refuses the handshake request handed out by
    /// [`Event::Handshake`](super::Event::Handshake) with an HTTP `status` (400-599), extra headers and
    /// a body. The connection is closed once the output is written.
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), UsageError> {
        if !matches!(self.opening, Opening::AwaitDecision(_)) {
            return Err(UsageError::NoHandshakePending);
        }
        if !(400..=599).contains(&status) {
            return Err(UsageError::InvalidHeader);
        }
        write_reject_response(self.sender.raw_output(), status, headers, body)
            .map_err(|_| UsageError::InvalidHeader)?;
        self.opening = Opening::Done;
        self.sender.set_failed();
        Ok(())
    }

    /// Client: the server's handshake response once it has arrived: the 101
    /// (subprotocol, extensions, headers), or a refusal with its status,
    /// headers and body.
    pub fn handshake_response(&self) -> Option<&HandshakeResponse> {
        match &self.opening {
            Opening::Answered(response) => Some(response),
            _ => None,
        }
    }
}
