//! The HTTP/1.1 opening handshake of
//! [RFC 6455 §4](https://www.rfc-editor.org/rfc/rfc6455#section-4), as pure
//! functions and types: no I/O, no connection state.
//!
//! Server side:
//!
//! ```text
//! bytes ──► RequestParser::parse ──► ParsedRequest ──► validate(&OriginPolicy)
//!                                                        │            │
//!                                              HandshakeRequest   HandshakeError
//!                                                        │            │
//!                                        write_accept_response   write_error_response
//! ```
//!
//! Client side:
//!
//! ```text
//! ClientRequest::write_request(key) ──► bytes ... bytes ──► ResponseParser::parse
//!                                                   ──► ParsedResponse::validate ──► Negotiated
//! ```
//!
//! Someone who already has an HTTP server can skip the parser and call
//! [`validate_request`] and [`accept_key`] directly.
//!
//! A whole exchange, in memory:
//!
//! ```
//! use wsmachine::handshake::*;
//!
//! let limits = HandshakeLimits::default();
//! let client = ClientRequest::from_url("ws://example.com/chat").unwrap().protocol("chat");
//! let key = generate_key([7; 16]);
//! let mut wire = Vec::new();
//! client.write_request(&key, &mut wire).unwrap();
//!
//! let (parsed, used) = RequestParser::new().parse(&wire, limits).unwrap().unwrap();
//! assert_eq!(used, wire.len());
//! let request = parsed.validate(&OriginPolicy::default()).unwrap();
//! assert_eq!(request.protocols(), ["chat"]);
//!
//! let mut answer = Vec::new();
//! write_accept_response(&mut answer, &request.accept_key(), Some("chat"), None, &[]).unwrap();
//!
//! let (response, used) = ResponseParser::new().parse(&answer, limits).unwrap().unwrap();
//! assert_eq!(used, answer.len());
//! let negotiated = response.validate(&client, &key).unwrap();
//! assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
//! ```

use alloc::string::String;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod client;
mod error;
pub mod extension;
mod headers;
mod origin;
mod response;
mod scan;
mod server;
mod url;

#[cfg(test)]
mod tests;

pub use client::{ClientRequest, Negotiated, ParsedResponse, ResponseParser, validate_response};
pub use error::{HandshakeError, HeaderError, UrlError};
pub use extension::{ExtensionOffer, format_extensions, parse_extensions};
pub use origin::OriginPolicy;
pub use response::{
    reason_phrase, write_accept_response, write_error_response, write_reject_response,
};
pub use server::{HandshakeRequest, ParsedRequest, RequestParser, ValidRequest, validate_request};
pub use url::WsUrl;

/// The GUID that [RFC 6455 §1.3](https://www.rfc-editor.org/rfc/rfc6455#section-1.3)
/// appends to the client's key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Limits on an incoming handshake head (request or response).
///
/// A head longer than `max_bytes` fails with [`HandshakeError::TooLarge`],
/// one with more than `max_headers` headers with
/// [`HandshakeError::TooManyHeaders`]; both answer 431 on a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Most bytes the head may take, up to and including its blank line
    /// (default 16 KiB).
    pub max_bytes: usize,
    /// Most headers the head may have (default 64).
    pub max_headers: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
/// base64 of the SHA-1 of the key (as sent, not decoded) followed by
/// [`WEBSOCKET_GUID`] ([RFC 6455 §4.2.2](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2)).
///
/// ```
/// use wsmachine::handshake::accept_key;
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(client_key: &[u8]) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(client_key);
    sha1.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha1.digest().bytes())
}

/// A `Sec-WebSocket-Key` from 16 random bytes: "a randomly selected 16-byte
/// value that has been base64-encoded" ([RFC 6455 §4.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.1)).
/// The bytes MUST be freshly chosen for each connection; wsmachine has no
/// source of randomness of its own.
///
/// ```
/// use wsmachine::handshake::generate_key;
/// assert_eq!(generate_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
/// ```
#[must_use]
pub fn generate_key(random: [u8; 16]) -> String {
    STANDARD.encode(random)
}
