//! Incremental parsing: prefixes, splits, linear work.

use alloc::vec::Vec;

use super::*;

#[test]
fn every_proper_prefix_needs_more() {
    for input in [RFC_REQUEST, CHROME_REQUEST] {
        for n in 0..input.len() {
            assert_eq!(parse_request(&input[..n]), Ok(None), "prefix {n}");
        }
    }
    for input in [
        RFC_RESPONSE,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    ] {
        for n in 0..input.len() {
            assert_eq!(
                ResponseParser::new().parse(&input[..n], LIMITS),
                Ok(None),
                "prefix {n}"
            );
        }
    }
}

#[test]
fn byte_by_byte_equals_whole() {
    for input in [RFC_REQUEST, CHROME_REQUEST] {
        let mut p = RequestParser::new();
        let split = feed(input, 0..input.len(), |b| p.parse(b, LIMITS));
        assert_eq!(split, parse_request(input));
        assert!(split.unwrap().is_some());
    }
    let mut p = ResponseParser::new();
    let split = feed(RFC_RESPONSE, 0..RFC_RESPONSE.len(), |b| p.parse(b, LIMITS));
    assert_eq!(split, ResponseParser::new().parse(RFC_RESPONSE, LIMITS));
}

#[test]
fn parsers_do_linear_work() {
    let mut input = Vec::from(&CHROME_REQUEST[..CHROME_REQUEST.len() - 2]);
    while input.len() < 8 * 1024 {
        input.extend_from_slice(b"X-Pad: 01234567890123456789\r\n");
    }
    input.extend_from_slice(b"\r\n");
    let limits = HandshakeLimits {
        max_bytes: 16 * 1024,
        max_headers: 1024,
    };
    let mut p = RequestParser::new();
    for n in 0..input.len() {
        assert_eq!(p.parse(&input[..n], limits), Ok(None));
        assert_eq!(p.scanned(), n, "rescanned at {n}");
    }
    let (req, used) = p.parse(&input, limits).unwrap().unwrap();
    assert_eq!((p.scanned(), used), (input.len(), input.len()));
    assert!(req.headers().count() > 200);

    let mut r = ResponseParser::new();
    let mut resp = Vec::from(&RFC_RESPONSE[..RFC_RESPONSE.len() - 2]);
    while resp.len() < 8 * 1024 {
        resp.extend_from_slice(b"X-Pad: 01234567890123456789\r\n");
    }
    resp.extend_from_slice(b"\r\n");
    for n in 0..resp.len() {
        assert_eq!(r.parse(&resp[..n], limits), Ok(None));
        assert_eq!(r.scanned(), n, "rescanned at {n}");
    }
    assert!(r.parse(&resp, limits).unwrap().is_some());
}
