//! Server side: RFC and browser requests, refusals, limits.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::*;

#[test]
fn rfc_accept_key() {
    // RFC 6455 §1.3.
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(
        generate_key(*b"the sample nonce"),
        "dGhlIHNhbXBsZSBub25jZQ=="
    );
    // The key in Chrome's request (and Wikipedia's example).
    assert_eq!(
        accept_key(b"x3JJHMbDL1EzLkh9GBhXDw=="),
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk="
    );
}

#[test]
fn rfc_example_request() {
    let policy = OriginPolicy::AllowList(vec!["http://example.com".into()]);
    let req = server_check(RFC_REQUEST, &policy).unwrap();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.version(), (1, 1));
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert!(req.extensions().is_empty());
    assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(req.accept_key(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(req.header("sec-websocket-version"), Some(&b"13"[..]));
    assert_eq!(req.headers().count(), 7);

    // The page's origin is another host: the default policy refuses it.
    assert_eq!(
        server_check(RFC_REQUEST, &OriginPolicy::default()),
        Err(HandshakeError::OriginNotAllowed)
    );

    // And the server's answer is the RFC's response, byte for byte.
    let mut out = Vec::new();
    write_accept_response(&mut out, &req.accept_key(), Some("chat"), None, &[]).unwrap();
    assert_eq!(out, RFC_RESPONSE);
}

#[test]
fn rfc_example_response() {
    let client = ClientRequest::new("server.example.com", "/chat")
        .origin("http://example.com")
        .protocol("chat")
        .protocol("superchat");
    let mut out = Vec::new();
    client
        .write_request("dGhlIHNhbXBsZSBub25jZQ==", &mut out)
        .unwrap();
    // Same headers as the RFC's request (ours are in a fixed order).
    let ours = server_check(&out, &OriginPolicy::Any).unwrap();
    let theirs = server_check(RFC_REQUEST, &OriginPolicy::Any).unwrap();
    assert_eq!(ours.valid(), theirs.valid());

    let (resp, n) = ResponseParser::new()
        .parse(RFC_RESPONSE, LIMITS)
        .unwrap()
        .unwrap();
    assert_eq!(n, RFC_RESPONSE.len());
    assert_eq!((resp.status(), resp.reason()), (101, "Switching Protocols"));
    let neg = resp.validate(&client, "dGhlIHNhbXBsZSBub25jZQ==").unwrap();
    assert_eq!(neg.protocol.as_deref(), Some("chat"));
    assert!(neg.extensions.is_empty());
}

#[test]
fn chrome_request_is_accepted() {
    let req = server_check(CHROME_REQUEST, &OriginPolicy::default()).unwrap();
    assert_eq!(req.path(), "/ws?room=1");
    assert_eq!(req.host(), "localhost:8080");
    assert_eq!(req.origin(), Some("http://localhost:8080"));
    assert!(req.protocols().is_empty());
    assert_eq!(
        req.extensions(),
        [ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits", None)]
    );
    assert_eq!(
        req.header("COOKIE"),
        Some(&b"session=abc123; theme=dark"[..])
    );
    assert_eq!(req.accept_key(), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    assert_eq!(req.headers().count(), 13);
}

#[test]
fn frames_after_the_head_are_not_consumed() {
    let mut input = Vec::from(CHROME_REQUEST);
    input.extend_from_slice(&[0x81, 0x85, 1, 2, 3, 4]);
    let (_, n) = parse_request(&input).unwrap().unwrap();
    assert_eq!(n, CHROME_REQUEST.len());

    let mut input = Vec::from(RFC_RESPONSE);
    input.extend_from_slice(b"\x81\x02hi");
    let (_, n) = ResponseParser::new()
        .parse(&input, LIMITS)
        .unwrap()
        .unwrap();
    assert_eq!(n, RFC_RESPONSE.len());
}

/// GOOD under another request line.
fn line(request_line: &str) -> Vec<u8> {
    request(request_line, GOOD)
}

/// GOOD with header `name` set to `value`, or removed.
fn edited(name: &str, value: Option<&str>) -> Vec<u8> {
    let headers: Vec<(&str, &str)> = GOOD
        .iter()
        .filter_map(|&(n, v)| match n.eq_ignore_ascii_case(name) {
            true => value.map(|value| (n, value)),
            false => Some((n, v)),
        })
        .collect();
    request("GET / HTTP/1.1", &headers)
}

/// GOOD with more headers after it.
fn plus(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = Vec::from(GOOD);
    headers.extend_from_slice(extra);
    request("GET / HTTP/1.1", &headers)
}

#[test]
fn bad_requests() {
    use HandshakeError::*;
    let key = "Sec-WebSocket-Key";
    let version = "Sec-WebSocket-Version";
    #[rustfmt::skip]
    let cases: Vec<(Vec<u8>, HandshakeError, u16)> = vec![
        (line("POST / HTTP/1.1"), MethodNotGet, 405),
        (line("get / HTTP/1.1"), MethodNotGet, 405),
        (line("GET / HTTP/1.0"), HttpVersion, 400),
        (edited("Host", None), MissingHost, 400),
        (edited("Host", Some("")), MissingHost, 400),
        (edited("Host", Some("a b")), MissingHost, 400),
        (plus(&[("Host", "example.com")]), DuplicateHeader, 400),
        (edited("Upgrade", None), MissingUpgrade, 400),
        (edited("Upgrade", Some("h2c")), UpgradeNotWebSocket, 400),
        (edited("Upgrade", Some("websockets")), UpgradeNotWebSocket, 400),
        (edited("Connection", None), ConnectionNotUpgrade, 400),
        (edited("Connection", Some("keep-alive")), ConnectionNotUpgrade, 400),
        (edited("Connection", Some("upgraded")), ConnectionNotUpgrade, 400),
        (edited(key, None), MissingKey, 400),
        (edited(key, Some("")), BadKey, 400),
        (edited(key, Some("dGhlIHNhbXBsZQ==")), BadKey, 400),
        (edited(key, Some("dGhlIHNhbXBsZSBub25jZQ")), BadKey, 400),
        (edited(key, Some("dGhlIHNhbXBsZSBub25jZR==")), BadKey, 400),
        (edited(key, Some("!!!!!!!!!!!!!!!!!!!!!!==")), BadKey, 400),
        (plus(&[(key, "dGhlIHNhbXBsZSBub25jZQ==")]), DuplicateHeader, 400),
        (edited(version, None), UnsupportedVersion, 426),
        (edited(version, Some("8")), UnsupportedVersion, 426),
        (edited(version, Some("13, 8")), UnsupportedVersion, 426),
        (edited(version, Some("013")), UnsupportedVersion, 426),
        (plus(&[("Origin", "http://evil.com")]), OriginNotAllowed, 403),
        (plus(&[("Origin", "http://example.com.evil.com")]), OriginNotAllowed, 403),
        (plus(&[("Origin", "null")]), OriginNotAllowed, 403),
        (plus(&[("Origin", "http://example.com"), ("Origin", "http://example.com")]), DuplicateHeader, 400),
        (plus(&[("Sec-WebSocket-Protocol", "a b")]), BadProtocolHeader, 400),
        (plus(&[("Sec-WebSocket-Protocol", "chat, \"x\"")]), BadProtocolHeader, 400),
        (plus(&[("Sec-WebSocket-Extensions", "x; y=\"a b\"")]), BadExtensionHeader, 400),
        (plus(&[("Sec-WebSocket-Extensions", "x y")]), BadExtensionHeader, 400),
        (b"GET / HTTP/1.1\r\nHost example.com\r\n\r\n".to_vec(), Malformed, 400),
        (b"GET / HTTP/2.0\r\n\r\n".to_vec(), Malformed, 400),
        (b"GET / HTTP/1.1\r\n Host: x\r\n\r\n".to_vec(), Malformed, 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n".to_vec(), Malformed, 400),
        (b"\x16\x03\x01\x02\x00\x01\r\n\r\n".to_vec(), Malformed, 400),
    ];
    for (input, err, status) in cases {
        let got = parse_request(&input).and_then(|r| {
            let (parsed, _) = r.expect("complete head");
            parsed.validate(&OriginPolicy::default())
        });
        let text = String::from_utf8_lossy(&input);
        assert_eq!(got, Err(err), "{text}");
        assert_eq!(err.http_status(), status, "{text}");
    }
    // The baseline itself is fine.
    assert!(
        parse_request(&line("GET / HTTP/1.1"))
            .unwrap()
            .unwrap()
            .0
            .validate(&OriginPolicy::default())
            .is_ok()
    );
}

#[test]
fn lenient_where_http_allows() {
    let req = request(
        "GET /p HTTP/1.1",
        &[
            ("host", " example.com "),
            ("upgrade", "h2c, WebSocket"),
            ("connection", "keep-alive, UPGRADE"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
            ("Sec-WebSocket-Protocol", "a, b"),
            ("Sec-WebSocket-Extensions", "x; p=1"),
            ("Sec-WebSocket-Protocol", "c"),
            ("Sec-WebSocket-Extensions", "y, z"),
            ("Origin", "HTTP://EXAMPLE.COM:80"),
        ],
    );
    let req = server_check(&req, &OriginPolicy::default()).unwrap();
    assert_eq!(req.host(), "example.com");
    assert_eq!(req.protocols(), ["a", "b", "c"]);
    let names: Vec<&str> = req.extensions().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["x", "y", "z"]);
}

#[test]
fn limits_on_requests() {
    let mut long = Vec::from(&CHROME_REQUEST[..CHROME_REQUEST.len() - 2]);
    while long.len() < 20_000 {
        long.extend_from_slice(b"X-Pad: 0123456789012345678901234567890123456789\r\n");
    }
    long.extend_from_slice(b"\r\n");
    assert_eq!(parse_request(&long).err(), Some(HandshakeError::TooLarge));
    // Refused as soon as the limit is passed, before the end is seen.
    assert_eq!(
        parse_request(&long[..LIMITS.max_bytes]).err(),
        Some(HandshakeError::TooLarge)
    );
    assert_eq!(parse_request(&long[..LIMITS.max_bytes - 1]).err(), None);

    let few = HandshakeLimits {
        max_bytes: 16 * 1024,
        max_headers: 12,
    };
    assert_eq!(
        RequestParser::new().parse(CHROME_REQUEST, few).err(),
        Some(HandshakeError::TooManyHeaders)
    );
    let enough = HandshakeLimits {
        max_headers: 13,
        ..few
    };
    assert!(
        RequestParser::new()
            .parse(CHROME_REQUEST, enough)
            .unwrap()
            .is_some()
    );
    let exact = HandshakeLimits {
        max_bytes: CHROME_REQUEST.len(),
        max_headers: 13,
    };
    assert!(
        RequestParser::new()
            .parse(CHROME_REQUEST, exact)
            .unwrap()
            .is_some()
    );
}
