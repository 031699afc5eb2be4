//! Server side: write the answer to a handshake request, `101 Switching
//! Protocols` or an error, into a caller's `Vec<u8>`.
//!
//! Every writer checks its input before writing anything: on error the
//! output buffer is left as it was.

use alloc::vec::Vec;
use core::fmt::Write as _;

use super::error::{HandshakeError, HeaderError};
use super::headers::{check_header, check_value, push_header};

/// Appends the `101 Switching Protocols` response
/// ([RFC 6455 §4.2.2](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2))
/// with `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Accept`,
/// then `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` if given,
/// then `extra_headers` (for example `Set-Cookie`), in order.
///
/// `protocol` must be one the client offered; `extensions` is a complete
/// header value (see [`format_extensions`](super::format_extensions)).
///
/// # Errors
///
/// [`HeaderError`] if a name is not a token or a value has a control
/// character (CR and LF included); nothing is written then.
///
/// ```
/// use wsmachine::handshake::write_accept_response;
/// let mut out = Vec::new();
/// write_accept_response(&mut out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Some("chat"), None, &[]).unwrap();
/// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(out.ends_with(b"Sec-WebSocket-Protocol: chat\r\n\r\n"));
/// ```
pub fn write_accept_response(
    out: &mut Vec<u8>,
    accept_key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra_headers: &[(&str, &str)],
) -> Result<(), HeaderError> {
    check_value(accept_key)?;
    if let Some(p) = protocol {
        check_value(p)?;
    }
    if let Some(e) = extensions {
        check_value(e)?;
    }
    for (name, value) in extra_headers {
        check_header(name, value)?;
    }
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    push_header(out, "Upgrade", b"websocket");
    push_header(out, "Connection", b"Upgrade");
    push_header(out, "Sec-WebSocket-Accept", accept_key.as_bytes());
    if let Some(p) = protocol {
        push_header(out, "Sec-WebSocket-Protocol", p.as_bytes());
    }
    if let Some(e) = extensions {
        push_header(out, "Sec-WebSocket-Extensions", e.as_bytes());
    }
    for (name, value) in extra_headers {
        push_header(out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Appends the error response for a failed handshake: the status of
/// [`HandshakeError::http_status`], `Content-Type: text/plain`,
/// `Content-Length`, `Connection: close`, `Allow: GET` for 405,
/// `Sec-WebSocket-Version: 13` (with `Upgrade: websocket`) for 426, and a
/// one-line body saying what was wrong. The server then closes the
/// connection.
///
/// ```
/// use wsmachine::handshake::{write_error_response, HandshakeError};
/// let mut out = Vec::new();
/// write_error_response(&mut out, &HandshakeError::MethodNotGet);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
/// assert!(text.contains("\r\nAllow: GET\r\n"));
/// ```
pub fn write_error_response(out: &mut Vec<u8>, error: &HandshakeError) {
    let status = error.http_status();
    let mut body = alloc::string::String::from(error.message());
    body.push('\n');
    let extra: &[(&str, &str)] = match error {
        HandshakeError::MethodNotGet => &[("Allow", "GET")],
        // RFC 6455 §4.4: the server answers an unsupported version with the
        // versions it supports; RFC 9110 §15.5.22: a 426 MUST carry Upgrade.
        HandshakeError::UnsupportedVersion => {
            &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        }
        _ => &[],
    };
    write_status_line(out, status);
    push_header(out, "Content-Type", b"text/plain; charset=utf-8");
    for (name, value) in extra {
        push_header(out, name, value.as_bytes());
    }
    finish_with_body(out, body.as_bytes());
}

/// Appends an application's own rejection: status line (reason phrase from
/// [`reason_phrase`]), `headers` in order, then `Content-Length` and
/// `Connection: close`, then `body`.
///
/// `status` must be 200 to 599 (a 101 is an acceptance: use
/// [`write_accept_response`]). `Content-Length` and `Connection` are written
/// by this function and must not be in `headers`.
///
/// # Errors
///
/// [`HeaderError`] for a bad status, name or value, or a reserved header;
/// nothing is written then.
///
/// ```
/// use wsmachine::handshake::write_reject_response;
/// let mut out = Vec::new();
/// write_reject_response(&mut out, 401, &[("WWW-Authenticate", "Bearer")], b"login first").unwrap();
/// assert!(out.starts_with(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"));
/// assert!(out.ends_with(b"\r\n\r\nlogin first"));
/// ```
pub fn write_reject_response(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), HeaderError> {
    if !(200..=599).contains(&status) {
        return Err(HeaderError::InvalidStatus);
    }
    for (name, value) in headers {
        check_header(name, value)?;
        if name.eq_ignore_ascii_case("Content-Length")
            || name.eq_ignore_ascii_case("Connection")
            || name.eq_ignore_ascii_case("Transfer-Encoding")
        {
            return Err(HeaderError::Reserved);
        }
    }
    write_status_line(out, status);
    for (name, value) in headers {
        push_header(out, name, value.as_bytes());
    }
    finish_with_body(out, body);
    Ok(())
}

/// `Content-Length`, `Connection: close`, the blank line and the body.
fn finish_with_body(out: &mut Vec<u8>, body: &[u8]) {
    let mut len = alloc::string::String::new();
    // Writing into a String cannot fail.
    let _ = write!(len, "{}", body.len());
    push_header(out, "Content-Length", len.as_bytes());
    push_header(out, "Connection", b"close");
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn write_status_line(out: &mut Vec<u8>, status: u16) {
    let mut line = alloc::string::String::new();
    let _ = write!(line, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    out.extend_from_slice(line.as_bytes());
}

/// The reason phrase for a status code: the standard one for common codes,
/// else the name of the class (`Client Error` for an unknown 4xx).
#[must_use]
pub const fn reason_phrase(status: u16) -> &'static str {
    if let Some(phrase) = known_phrase(status) {
        return phrase;
    }
    match status {
        100..=199 => "Informational",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        _ => "Server Error",
    }
}

const fn known_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn accept_response_rfc_example() {
        // RFC 6455 §1.3 (with the §1.2 subprotocol).
        let mut out = Vec::new();
        write_accept_response(
            &mut out,
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            Some("chat"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            text(out),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn accept_response_with_everything() {
        let mut out = Vec::from(&b"old"[..]);
        write_accept_response(
            &mut out,
            "k",
            None,
            Some("permessage-deflate"),
            &[("Set-Cookie", "a=b")],
        )
        .unwrap();
        assert_eq!(
            text(out),
            "oldHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: k\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
             Set-Cookie: a=b\r\n\r\n"
        );
    }

    #[test]
    fn injection_is_refused_and_nothing_written() {
        let mut out = Vec::new();
        let bad_value = [("X", "a\r\nSet-Cookie: evil=1")];
        let bad_name = [("X\r\nY", "a")];
        assert_eq!(
            write_accept_response(&mut out, "k", None, None, &bad_value),
            Err(HeaderError::InvalidValue)
        );
        assert_eq!(
            write_accept_response(&mut out, "k", Some("a\nb"), None, &[]),
            Err(HeaderError::InvalidValue)
        );
        assert_eq!(
            write_accept_response(&mut out, "k", None, None, &bad_name),
            Err(HeaderError::InvalidName)
        );
        assert_eq!(
            write_reject_response(&mut out, 403, &bad_value, b""),
            Err(HeaderError::InvalidValue)
        );
        assert_eq!(
            write_reject_response(&mut out, 403, &[("content-length", "1")], b""),
            Err(HeaderError::Reserved)
        );
        assert_eq!(
            write_reject_response(&mut out, 101, &[], b""),
            Err(HeaderError::InvalidStatus)
        );
        assert_eq!(
            write_reject_response(&mut out, 600, &[], b""),
            Err(HeaderError::InvalidStatus)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn error_responses() {
        let mut out = Vec::new();
        write_error_response(&mut out, &HandshakeError::UnsupportedVersion);
        let body = "unsupported WebSocket version: only 13 is supported\n";
        assert_eq!(
            text(out),
            alloc::format!(
                "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        );
        for (err, line) in [
            (
                HandshakeError::MethodNotGet,
                "HTTP/1.1 405 Method Not Allowed\r\n",
            ),
            (
                HandshakeError::OriginNotAllowed,
                "HTTP/1.1 403 Forbidden\r\n",
            ),
            (
                HandshakeError::TooLarge,
                "HTTP/1.1 431 Request Header Fields Too Large\r\n",
            ),
            (HandshakeError::BadKey, "HTTP/1.1 400 Bad Request\r\n"),
        ] {
            let mut out = Vec::new();
            write_error_response(&mut out, &err);
            let t = text(out);
            assert!(t.starts_with(line), "{t}");
            assert!(
                t.ends_with(err.message()) || t.ends_with(&alloc::format!("{}\n", err.message()))
            );
            assert_eq!(
                t.contains("\r\nAllow: GET\r\n"),
                err == HandshakeError::MethodNotGet
            );
            // Parses as an HTTP response with a body of the stated length.
            let mut h = [httparse::EMPTY_HEADER; 8];
            let mut r = httparse::Response::new(&mut h);
            let n = r.parse(t.as_bytes()).unwrap().unwrap();
            assert_eq!(r.code, Some(err.http_status()));
            let len = r
                .headers
                .iter()
                .find(|h| h.name == "Content-Length")
                .unwrap()
                .value;
            assert_eq!(
                core::str::from_utf8(len).unwrap().parse::<usize>().unwrap(),
                t.len() - n
            );
        }
    }

    #[test]
    fn reject_response() {
        let mut out = Vec::new();
        write_reject_response(&mut out, 499, &[], b"").unwrap();
        assert_eq!(
            text(out),
            "HTTP/1.1 499 Client Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(reason_phrase(302), "Found");
        assert_eq!(reason_phrase(599), "Server Error");
    }
}
