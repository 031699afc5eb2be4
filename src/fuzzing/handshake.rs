//! Fuzz target: the handshake request parser alone.

#[allow(unused_imports)]
use super::*;

/// Target `handshake_request`: the request parser and validator alone, with
/// limits from the first three bytes (any values, zero included), fed the
/// rest as one growing buffer cut at points the fuzzer chose.
///
/// Checks that incremental parsing agrees with parsing the whole buffer at
/// once, that a parsed head lies within the buffer and the byte limit, and
/// that a valid request's 101 and an invalid one's error response are
/// well-formed HTTP with the right status.
pub fn handshake_request(data: &[u8]) {
    let (p, stream) = data.split_at(data.len().min(3));
    let b = |i: usize| p.get(i).copied().unwrap_or(0);
    let limits = HandshakeLimits {
        max_bytes: usize::from(u16::from_be_bytes([b(0), b(1)])),
        max_headers: usize::from(b(2) & 0x7F),
    };
    let policy = if b(2) & 0x80 == 0 {
        OriginPolicy::SameHost
    } else {
        OriginPolicy::Any
    };
    let whole = RequestParser::new().parse(stream, limits);
    // The same bytes arriving in pieces: cut where the bytes say.
    let mut parser = RequestParser::new();
    let mut incremental = Ok(None);
    let mut end = 0;
    while end < stream.len() {
        end = (end + 1 + usize::from(stream[end] % 17)).min(stream.len());
        incremental = parser.parse(&stream[..end], limits);
        if !matches!(incremental, Ok(None)) {
            break;
        }
    }
    if stream.is_empty() {
        incremental = parser.parse(stream, limits);
    }
    match (&whole, &incremental) {
        (Ok(Some((a, n))), Ok(Some((b, m)))) => {
            assert_eq!((a, n), (b, m), "split changed the request");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "split changed the error"),
        (Ok(None), Ok(None)) => {}
        (a, b) => panic!("whole {a:?} but in pieces {b:?}"),
    }
    let parsed = match whole {
        Ok(Some((parsed, used))) => {
            assert!(used <= stream.len() && used <= limits.max_bytes);
            parsed
        }
        Ok(None) => {
            assert!(stream.len() < limits.max_bytes, "no error past the limit");
            return;
        }
        Err(error) => return check_error_response(&error),
    };
    match parsed.validate(&policy) {
        Ok(request) => {
            assert_eq!(request.accept_key(), accept_key(request.key().as_bytes()));
            let mut out = Vec::new();
            write_accept_response(&mut out, &request.accept_key(), None, None, &[])
                .expect("a 101 can always be written");
            let (response, used) = ResponseParser::new()
                .parse(&out, HandshakeLimits::default())
                .expect("our 101 parses")
                .expect("whole");
            assert_eq!((response.status(), used), (101, out.len()));
            assert_eq!(
                response.header("Sec-WebSocket-Accept"),
                Some(request.accept_key().as_bytes())
            );
        }
        Err(error) => check_error_response(&error),
    }
}

fn check_error_response(error: &crate::HandshakeError) {
    let mut out = Vec::new();
    write_error_response(&mut out, error);
    let (response, used) = ResponseParser::new()
        .parse(&out, HandshakeLimits::default())
        .expect("our error response parses")
        .expect("whole");
    assert_eq!(response.status(), error.http_status());
    let body_len = response.body_len(HandshakeLimits::default());
    assert_eq!(
        used + body_len,
        out.len(),
        "Content-Length matches the body"
    );
}

// ---------------------------------------------------------------- target 5
