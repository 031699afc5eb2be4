//! Tests across the handshake module: RFC examples, a real browser request,
//! error tables, prefix and split invariance, linear work, and properties.

use alloc::format;
use alloc::vec::Vec;

use super::*;

mod client;
mod incremental;
mod properties;
mod server;

const LIMITS: HandshakeLimits = HandshakeLimits {
    max_bytes: 16 * 1024,
    max_headers: 64,
};

/// RFC 6455 §1.2, the client's handshake.
pub(super) const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// RFC 6455 §1.2, the server's handshake.
pub(super) const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// A request as Chrome sends it from a page on the same host.
pub(super) const CHROME_REQUEST: &[u8] = b"GET /ws?room=1 HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=abc123; theme=dark\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

pub(super) fn parse_request(
    input: &[u8],
) -> Result<Option<(ParsedRequest, usize)>, HandshakeError> {
    RequestParser::new().parse(input, LIMITS)
}

pub(super) fn server_check(
    input: &[u8],
    policy: &OriginPolicy,
) -> Result<HandshakeRequest, HandshakeError> {
    let (parsed, n) = parse_request(input)?.expect("complete head");
    assert_eq!(n, input.len());
    parsed.validate(policy)
}

/// A request head from (name, value) lines.
pub(super) fn request(method_line: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method_line}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

pub(super) const GOOD: &[(&str, &str)] = &[
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
];

/// Feeds `input` in pieces ending at `cuts` (then whole), as the owner of a
/// growing buffer would, and returns the first answer that is not "need
/// more", with every such intermediate answer checked.
pub(super) fn feed<T>(
    input: &[u8],
    cuts: impl IntoIterator<Item = usize>,
    mut parse: impl FnMut(&[u8]) -> Result<Option<T>, HandshakeError>,
) -> Result<Option<T>, HandshakeError> {
    for cut in cuts {
        match parse(&input[..cut.min(input.len())]) {
            Ok(None) => {}
            other => return other,
        }
    }
    parse(input)
}
