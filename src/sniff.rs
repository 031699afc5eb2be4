//! Telling TLS from plain HTTP by the first bytes a peer sends, so that a
//! `ws://` client on a TLS port, or a `wss://` client on a plain port, gets
//! told so instead of a cryptic decoding error (or, on a plain server, a
//! wait for the open timeout: a ClientHello never ends in the blank line
//! an HTTP head waits for).
//!
//! Compiled with `std` (the plain servers of both adapters use
//! [`is_client_hello_start`]); public as `wsmachine::tls::sniff` with the
//! `rustls` feature.
#![cfg_attr(not(feature = "rustls"), allow(dead_code))]
//!
//! Every TLS record starts with its content type (RFC 8446 section 5.1):
//! 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data. A
//! client's first record is a handshake (its ClientHello); a server's first
//! is a handshake (ServerHello) or an alert. An HTTP message starts with a
//! method token or `HTTP/`: ASCII letters, never one of those bytes.

/// The record content type of a handshake message: a ClientHello starts with it.
const HANDSHAKE: u8 = 22;

/// Whether `byte`, the first a client sent, can start a TLS ClientHello.
pub fn is_client_hello_start(byte: u8) -> bool {
    byte == HANDSHAKE
}

/// Whether `byte`, the first a server sent, can start TLS records
/// (a handshake, an alert, change_cipher_spec or application data).
pub fn is_tls_record_start(byte: u8) -> bool {
    (20..=23).contains(&byte)
}

/// Whether the first bytes look like the start of an HTTP request: a method
/// token (`GET`, `POST`, ...) of uppercase ASCII letters.
pub fn looks_like_http_request(first: &[u8]) -> bool {
    !first.is_empty()
        && first
            .iter()
            .take_while(|&&b| b != b' ')
            .all(u8::is_ascii_uppercase)
}

/// What a TLS server answers a plain HTTP request with before closing: a
/// complete `400 Bad Request` that says why, readable by a person with curl
/// and by a WebSocket client, which reports the status.
pub const PLAIN_HTTP_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 74\r\n\
Connection: close\r\n\
\r\n\
This port speaks TLS: use https:// or wss:// instead of http:// or ws://.\n";

/// What a plain (non-TLS) server answers a TLS ClientHello with before
/// closing: a `400` in plain text. A TLS client cannot read it as TLS, but
/// it tells it the port is plain (our clients report `TlsError::NotTls`
/// with this status line), and a person reading a packet capture sees why.
pub const TLS_ON_PLAIN_PORT_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 81\r\n\
Connection: close\r\n\
\r\n\
This port speaks plain HTTP: use http:// or ws:// instead of https:// or wss://.\n";

/// A short printable preview of bytes a peer sent, for error messages:
/// the first line, with anything unprintable escaped.
pub fn preview(bytes: &[u8]) -> alloc::string::String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    line.iter()
        .take(48)
        .flat_map(|&b| core::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_response_is_well_formed() {
        well_formed(PLAIN_HTTP_RESPONSE);
        well_formed(TLS_ON_PLAIN_PORT_RESPONSE);
    }

    fn well_formed(response: &[u8]) {
        let text = core::str::from_utf8(response).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        assert!(head.starts_with("HTTP/1.1 400 "));
    }

    #[test]
    fn tls_and_http_first_bytes_are_told_apart() {
        assert!(is_client_hello_start(0x16));
        assert!(!is_client_hello_start(b'G'));
        assert!(is_tls_record_start(0x15) && is_tls_record_start(0x16));
        assert!(!is_tls_record_start(b'H'));
        assert!(looks_like_http_request(b"GET / HTTP/1.1"));
        assert!(looks_like_http_request(b"OPT"));
        assert!(!looks_like_http_request(&[0x16, 3, 1]));
        assert!(!looks_like_http_request(b""));
        assert_eq!(preview(b"HTTP/1.1 400 Bad\r\nX: y"), "HTTP/1.1 400 Bad");
        assert_eq!(preview(&[0, 0x16]), "\\x00\\x16");
    }
}
