//! Tests across the handshake module: RFC examples, a real browser request,
//! error tables, prefix and split invariance, linear work, and properties.

use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};

use super::*;

const LIMITS: HandshakeLimits = HandshakeLimits {
    max_bytes: 16 * 1024,
    max_headers: 64,
};

/// RFC 6455 §1.2, the client's handshake.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// RFC 6455 §1.2, the server's handshake.
const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// A request as Chrome sends it from a page on the same host.
const CHROME_REQUEST: &[u8] = b"GET /ws?room=1 HTTP/1.1\r\n\
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

fn parse_request(input: &[u8]) -> Result<Option<(ParsedRequest, usize)>, HandshakeError> {
    RequestParser::new().parse(input, LIMITS)
}

fn server_check(input: &[u8], policy: &OriginPolicy) -> Result<HandshakeRequest, HandshakeError> {
    let (parsed, n) = parse_request(input)?.expect("complete head");
    assert_eq!(n, input.len());
    parsed.validate(policy)
}

/// A request head from (name, value) lines.
fn request(method_line: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method_line}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

const GOOD: &[(&str, &str)] = &[
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
];

/// GOOD with header `name` replaced by `value` (None: removed).
fn good_with(name: &str, value: Option<&str>) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (n, v) in GOOD {
        if n.eq_ignore_ascii_case(name) {
            if let Some(v) = value {
                out.push((n, v.into()));
            }
        } else {
            out.push((n, (*v).into()));
        }
    }
    out
}

fn owned_request(method_line: &str, headers: &[(&'static str, String)]) -> Vec<u8> {
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    request(method_line, &borrowed)
}

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

#[test]
fn bad_requests() {
    let get = "GET / HTTP/1.1";
    let cases: Vec<(Vec<u8>, HandshakeError, u16)> = vec![
        (
            owned_request("POST / HTTP/1.1", &good_with("", None)),
            HandshakeError::MethodNotGet,
            405,
        ),
        (
            owned_request("get / HTTP/1.1", &good_with("", None)),
            HandshakeError::MethodNotGet,
            405,
        ),
        (
            owned_request("GET / HTTP/1.0", &good_with("", None)),
            HandshakeError::HttpVersion,
            400,
        ),
        (
            owned_request(get, &good_with("Host", None)),
            HandshakeError::MissingHost,
            400,
        ),
        (
            owned_request(get, &good_with("Host", Some(""))),
            HandshakeError::MissingHost,
            400,
        ),
        (
            owned_request(get, &good_with("Host", Some("a b"))),
            HandshakeError::MissingHost,
            400,
        ),
        (
            owned_request(get, &good_with("Upgrade", None)),
            HandshakeError::MissingUpgrade,
            400,
        ),
        (
            owned_request(get, &good_with("Upgrade", Some("h2c"))),
            HandshakeError::UpgradeNotWebSocket,
            400,
        ),
        (
            owned_request(get, &good_with("Upgrade", Some("websockets"))),
            HandshakeError::UpgradeNotWebSocket,
            400,
        ),
        (
            owned_request(get, &good_with("Connection", None)),
            HandshakeError::ConnectionNotUpgrade,
            400,
        ),
        (
            owned_request(get, &good_with("Connection", Some("keep-alive"))),
            HandshakeError::ConnectionNotUpgrade,
            400,
        ),
        (
            owned_request(get, &good_with("Sec-WebSocket-Key", None)),
            HandshakeError::MissingKey,
            400,
        ),
        (
            owned_request(get, &good_with("Sec-WebSocket-Key", Some(""))),
            HandshakeError::BadKey,
            400,
        ),
        (
            owned_request(
                get,
                &good_with("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZQ==")),
            ),
            HandshakeError::BadKey,
            400,
        ),
        (
            owned_request(
                get,
                &good_with("Sec-WebSocket-Key", Some("dGhlIHNhbXBsZSBub25jZQ")),
            ),
            HandshakeError::BadKey,
            400,
        ),
        (
            owned_request(
                get,
                &good_with("Sec-WebSocket-Key", Some("!!!!!!!!!!!!!!!!!!!!!!==")),
            ),
            HandshakeError::BadKey,
            400,
        ),
        (
            owned_request(get, &good_with("Sec-WebSocket-Version", None)),
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            owned_request(get, &good_with("Sec-WebSocket-Version", Some("8"))),
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            owned_request(get, &good_with("Sec-WebSocket-Version", Some("13, 8"))),
            HandshakeError::UnsupportedVersion,
            426,
        ),
        (
            request(
                get,
                &[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    GOOD[3],
                    GOOD[4],
                    ("Origin", "http://evil.com"),
                ],
            ),
            HandshakeError::OriginNotAllowed,
            403,
        ),
        (
            request(
                get,
                &[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    GOOD[3],
                    GOOD[4],
                    ("Origin", "null"),
                ],
            ),
            HandshakeError::OriginNotAllowed,
            403,
        ),
        (
            request(get, &[GOOD[0], GOOD[0], GOOD[1], GOOD[2], GOOD[3], GOOD[4]]),
            HandshakeError::DuplicateHeader,
            400,
        ),
        (
            request(get, &[GOOD[0], GOOD[1], GOOD[2], GOOD[3], GOOD[3], GOOD[4]]),
            HandshakeError::DuplicateHeader,
            400,
        ),
        (
            request(
                get,
                &[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    GOOD[3],
                    GOOD[4],
                    ("Sec-WebSocket-Protocol", "a b"),
                ],
            ),
            HandshakeError::BadProtocolHeader,
            400,
        ),
        (
            request(
                get,
                &[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    GOOD[3],
                    GOOD[4],
                    ("Sec-WebSocket-Extensions", "x; y=\"a b\""),
                ],
            ),
            HandshakeError::BadExtensionHeader,
            400,
        ),
        (
            Vec::from(&b"GET / HTTP/1.1\r\nHost example.com\r\n\r\n"[..]),
            HandshakeError::Malformed,
            400,
        ),
        (
            Vec::from(&b"GET / HTTP/2.0\r\n\r\n"[..]),
            HandshakeError::Malformed,
            400,
        ),
        (
            Vec::from(&b"\x16\x03\x01\x02\x00\x01\r\n\r\n"[..]),
            HandshakeError::Malformed,
            400,
        ),
        (
            Vec::from(&b"GET / HTTP/1.1\r\n Host: x\r\n\r\n"[..]),
            HandshakeError::Malformed,
            400,
        ),
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

fn good_response(accept: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept),
    ];
    headers.extend_from_slice(extra);
    request("HTTP/1.1 101 Switching Protocols", &headers)
}

#[test]
fn bad_responses() {
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    let client = ClientRequest::new("example.com", "/")
        .protocol("chat")
        .extension(ExtensionOffer::new("permessage-deflate"));
    let status = |line: &str| request(line, &[("Upgrade", "websocket")]);
    let cases: Vec<(Vec<u8>, HandshakeError)> = vec![
        (
            status("HTTP/1.1 200 OK"),
            HandshakeError::UnexpectedStatus { status: 200 },
        ),
        (
            status("HTTP/1.1 403 Forbidden"),
            HandshakeError::UnexpectedStatus { status: 403 },
        ),
        (
            status("HTTP/1.1 426 Upgrade Required"),
            HandshakeError::UnexpectedStatus { status: 426 },
        ),
        (
            status("HTTP/1.1 302"),
            HandshakeError::UnexpectedStatus { status: 302 },
        ),
        (
            request("HTTP/1.0 101 Switching Protocols", &[]),
            HandshakeError::HttpVersion,
        ),
        (
            request(
                "HTTP/1.1 101 Switching Protocols",
                &[("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)],
            ),
            HandshakeError::MissingUpgrade,
        ),
        (
            request(
                "HTTP/1.1 101 Switching Protocols",
                &[
                    ("Upgrade", "h2c"),
                    ("Connection", "Upgrade"),
                    ("Sec-WebSocket-Accept", ACCEPT),
                ],
            ),
            HandshakeError::UpgradeNotWebSocket,
        ),
        (
            request(
                "HTTP/1.1 101 Switching Protocols",
                &[("Upgrade", "websocket"), ("Sec-WebSocket-Accept", ACCEPT)],
            ),
            HandshakeError::ConnectionNotUpgrade,
        ),
        (
            request(
                "HTTP/1.1 101 Switching Protocols",
                &[("Upgrade", "websocket"), ("Connection", "Upgrade")],
            ),
            HandshakeError::MissingAccept,
        ),
        (
            good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo", &[]),
            HandshakeError::AcceptMismatch,
        ),
        (good_response(KEY, &[]), HandshakeError::AcceptMismatch),
        (
            good_response(ACCEPT, &[("Sec-WebSocket-Accept", ACCEPT)]),
            HandshakeError::AcceptMismatch,
        ),
        (
            good_response(ACCEPT, &[("Sec-WebSocket-Protocol", "superchat")]),
            HandshakeError::ProtocolNotOffered,
        ),
        (
            good_response(ACCEPT, &[("Sec-WebSocket-Protocol", "Chat")]),
            HandshakeError::ProtocolNotOffered,
        ),
        (
            good_response(ACCEPT, &[("Sec-WebSocket-Protocol", "chat, chat")]),
            HandshakeError::ProtocolNotOffered,
        ),
        (
            good_response(
                ACCEPT,
                &[
                    ("Sec-WebSocket-Protocol", "chat"),
                    ("Sec-WebSocket-Protocol", "chat"),
                ],
            ),
            HandshakeError::ProtocolNotOffered,
        ),
        (
            good_response(
                ACCEPT,
                &[("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")],
            ),
            HandshakeError::ExtensionNotOffered,
        ),
        (
            good_response(
                ACCEPT,
                &[("Sec-WebSocket-Extensions", "permessage-deflate, foo")],
            ),
            HandshakeError::ExtensionNotOffered,
        ),
        (
            good_response(
                ACCEPT,
                &[("Sec-WebSocket-Extensions", "permessage-deflate;")],
            ),
            HandshakeError::BadExtensionHeader,
        ),
        (
            Vec::from(&b"HTTP/1.1 1O1 Switching Protocols\r\n\r\n"[..]),
            HandshakeError::Malformed,
        ),
        (
            Vec::from(&b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..]),
            HandshakeError::Malformed,
        ),
    ];
    for (input, err) in cases {
        let got = ResponseParser::new().parse(&input, LIMITS).and_then(|r| {
            let (parsed, n) = r.expect("complete head");
            assert_eq!(n, input.len());
            parsed.validate(&client, KEY)
        });
        assert_eq!(got, Err(err), "{}", String::from_utf8_lossy(&input));
    }

    // Without any offer, any extension or protocol is refused.
    let bare = ClientRequest::new("example.com", "/");
    for (extra, err) in [
        (
            ("Sec-WebSocket-Protocol", "chat"),
            HandshakeError::ProtocolNotOffered,
        ),
        (
            ("Sec-WebSocket-Extensions", "permessage-deflate"),
            HandshakeError::ExtensionNotOffered,
        ),
    ] {
        let input = good_response(ACCEPT, &[extra]);
        let (parsed, _) = ResponseParser::new()
            .parse(&input, LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(parsed.validate(&bare, KEY), Err(err));
    }
}

#[test]
fn good_response_with_extension_parameters() {
    const KEY: &str = "x3JJHMbDL1EzLkh9GBhXDw==";
    let client = ClientRequest::from_url("ws://localhost:8080/ws")
        .unwrap()
        .extensions_header("permessage-deflate; client_max_window_bits")
        .unwrap();
    let input = good_response(
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
        &[(
            "Sec-WebSocket-Extensions",
            "PerMessage-Deflate; server_no_context_takeover; client_max_window_bits=10",
        )],
    );
    let (parsed, _) = ResponseParser::new()
        .parse(&input, LIMITS)
        .unwrap()
        .unwrap();
    let neg = parsed.validate(&client, KEY).unwrap();
    assert_eq!(neg.protocol, None);
    assert_eq!(neg.extensions.len(), 1);
    assert_eq!(
        neg.extensions[0].param("client_max_window_bits"),
        Some(Some("10"))
    );
}

#[test]
fn refusal_keeps_status_headers_and_body() {
    let input = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno entry!extra";
    let (mut resp, n) = ResponseParser::new().parse(input, LIMITS).unwrap().unwrap();
    let client = ClientRequest::new("h", "/");
    assert_eq!(
        resp.validate(&client, "k"),
        Err(HandshakeError::UnexpectedStatus { status: 403 })
    );
    assert_eq!(resp.header("content-type"), Some(&b"text/plain"[..]));
    let len = resp.body_len(LIMITS);
    assert_eq!(len, 9);
    resp.set_body(&input[n..n + len]);
    assert_eq!(resp.body(), b"no entry!");

    // The body is capped by the handshake limit; odd lengths give 0.
    let small = HandshakeLimits {
        max_bytes: n + 4,
        max_headers: 8,
    };
    assert_eq!(resp.body_len(small), 4);
    for head in [
        &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 5\r\n\r\n",
    ] {
        let (resp, _) = ResponseParser::new().parse(head, LIMITS).unwrap().unwrap();
        assert_eq!(
            resp.body_len(LIMITS),
            0,
            "{}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn request_writer_refuses_injection() {
    let cases = [
        ClientRequest::new("h\r\nX: y", "/"),
        ClientRequest::new("h", "/a b"),
        ClientRequest::new("h", "/\r\n"),
        ClientRequest::new("h", "/").origin("o\n"),
        ClientRequest::new("h", "/").protocol("a b"),
        ClientRequest::new("h", "/").protocol("a,b"),
        ClientRequest::new("h", "/").header("X", "1\r\nY: 2"),
        ClientRequest::new("h", "/").header("X:", "1"),
    ];
    for req in cases {
        let mut out = Vec::new();
        assert!(req.write_request("k", &mut out).is_err(), "{req:?}");
        assert!(out.is_empty());
    }
    let mut out = Vec::new();
    assert_eq!(
        ClientRequest::new("h", "/").write_request("k\r\n", &mut out),
        Err(HeaderError::InvalidValue)
    );
}

#[test]
fn round_trip_client_to_server() {
    let client = ClientRequest::from_url("ws://[::1]:9001/a?b=c")
        .unwrap()
        .origin("http://[::1]:9001")
        .protocol("v2")
        .protocol("v1")
        .extension(
            ExtensionOffer::new("permessage-deflate").with_param("client_max_window_bits", None),
        )
        .header("Authorization", "Bearer t0k3n");
    let key = generate_key([42; 16]);
    let mut wire = Vec::new();
    client.write_request(&key, &mut wire).unwrap();
    let req = server_check(&wire, &OriginPolicy::default()).unwrap();
    assert_eq!(req.path(), "/a?b=c");
    assert_eq!(req.host(), "[::1]:9001");
    assert_eq!(req.protocols(), ["v2", "v1"]);
    assert_eq!(req.extensions(), client.extensions());
    assert_eq!(req.header("authorization"), Some(&b"Bearer t0k3n"[..]));

    let mut answer = Vec::new();
    let ext = format_extensions(req.extensions());
    write_accept_response(&mut answer, &req.accept_key(), Some("v1"), Some(&ext), &[]).unwrap();
    let (resp, _) = ResponseParser::new()
        .parse(&answer, LIMITS)
        .unwrap()
        .unwrap();
    let neg = resp.validate(&client, &key).unwrap();
    assert_eq!(neg.protocol.as_deref(), Some("v1"));
    assert_eq!(neg.extensions, client.extensions());
}

#[test]
fn error_response_parses_on_the_client() {
    let mut out = Vec::new();
    write_error_response(&mut out, &HandshakeError::UnsupportedVersion);
    let (mut resp, n) = ResponseParser::new().parse(&out, LIMITS).unwrap().unwrap();
    assert_eq!(resp.status(), 426);
    assert_eq!(resp.header("sec-websocket-version"), Some(&b"13"[..]));
    let len = resp.body_len(LIMITS);
    assert_eq!(n + len, out.len());
    resp.set_body(&out[n..]);
    assert_eq!(
        resp.body(),
        HandshakeError::UnsupportedVersion
            .message()
            .as_bytes()
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>()
    );
}

/// Feeds `input` in pieces ending at `cuts` (then whole), as the owner of a
/// growing buffer would, and returns the first answer that is not "need
/// more", with every such intermediate answer checked.
fn feed<T>(
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

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn header_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::from("Host")),
            Just(String::from("Upgrade")),
            Just(String::from("Connection")),
            Just(String::from("Sec-WebSocket-Key")),
            Just(String::from("Sec-WebSocket-Version")),
            Just(String::from("Sec-WebSocket-Protocol")),
            Just(String::from("Sec-WebSocket-Extensions")),
            Just(String::from("Sec-WebSocket-Accept")),
            Just(String::from("Origin")),
            Just(String::from("Content-Length")),
            "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}",
            "[ -~]{0,8}",
        ]
    }

    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::from(&b"websocket"[..])),
            Just(Vec::from(&b"Upgrade"[..])),
            Just(Vec::from(&b"13"[..])),
            Just(Vec::from(&b"dGhlIHNhbXBsZSBub25jZQ=="[..])),
            Just(Vec::from(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..])),
            "[a-z0-9; =,\"\\\\-]{0,40}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..40),
        ]
    }

    fn head() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![
                Just("GET /chat HTTP/1.1"),
                Just("HTTP/1.1 101 Switching Protocols"),
                Just("HTTP/1.1 400 Bad Request"),
                Just("POST / HTTP/1.0"),
            ],
            proptest::collection::vec((header_name(), header_value()), 0..24),
            prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])],
        )
            .prop_map(|(line, headers, eol)| {
                let mut out = Vec::from(line.as_bytes());
                out.extend_from_slice(eol);
                for (n, v) in headers {
                    out.extend_from_slice(n.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(&v);
                    out.extend_from_slice(eol);
                }
                out.extend_from_slice(eol);
                out
            })
    }

    fn limits() -> impl Strategy<Value = HandshakeLimits> {
        (0usize..2048, 0usize..32).prop_map(|(max_bytes, max_headers)| HandshakeLimits {
            max_bytes,
            max_headers,
        })
    }

    fn check_request(
        input: &[u8],
        limits: HandshakeLimits,
        cuts: &[usize],
    ) -> Result<(), TestCaseError> {
        let whole = RequestParser::new().parse(input, limits);
        let mut p = RequestParser::new();
        let split = feed(input, cuts.iter().copied(), |b| p.parse(b, limits));
        prop_assert_eq!(&whole, &split);
        if let Ok(Some((req, n))) = whole {
            prop_assert!(n <= limits.max_bytes && n <= input.len());
            prop_assert!(req.headers().count() <= limits.max_headers);
            if let Ok(valid) = req.validate(&OriginPolicy::default()) {
                let mut out = Vec::new();
                let ext = format_extensions(valid.extensions());
                let _ = write_accept_response(&mut out, &valid.accept_key(), None, Some(&ext), &[]);
            }
        }
        Ok(())
    }

    fn check_response(
        input: &[u8],
        limits: HandshakeLimits,
        cuts: &[usize],
    ) -> Result<(), TestCaseError> {
        let whole = ResponseParser::new().parse(input, limits);
        let mut p = ResponseParser::new();
        let split = feed(input, cuts.iter().copied(), |b| p.parse(b, limits));
        prop_assert_eq!(&whole, &split);
        if let Ok(Some((resp, n))) = whole {
            prop_assert!(n <= limits.max_bytes && n <= input.len());
            prop_assert!(resp.headers().count() <= limits.max_headers);
            prop_assert!(n + resp.body_len(limits) <= limits.max_bytes);
            let client = ClientRequest::new("h", "/").protocol("chat");
            let _ = resp.validate(&client, "dGhlIHNhbXBsZSBub25jZQ==");
        }
        Ok(())
    }

    fn sorted(mut cuts: Vec<usize>) -> Vec<usize> {
        cuts.sort_unstable();
        cuts
    }

    proptest! {
        #[test]
        fn random_heads_never_panic_and_respect_limits(
            input in head(),
            limits in limits(),
            cuts in proptest::collection::vec(0usize..2048, 0..16).prop_map(sorted),
        ) {
            check_request(&input, limits, &cuts)?;
            check_response(&input, limits, &cuts)?;
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            input in proptest::collection::vec(any::<u8>(), 0..512),
            limits in limits(),
            cuts in proptest::collection::vec(0usize..512, 0..16).prop_map(sorted),
        ) {
            check_request(&input, limits, &cuts)?;
            check_response(&input, limits, &cuts)?;
            if let Ok(s) = core::str::from_utf8(&input) {
                let _ = parse_extensions(s);
                let _ = WsUrl::parse(s);
                let _ = OriginPolicy::SameHost.allows(Some(s), s);
            }
        }

        #[test]
        fn extension_format_parse_identity(
            offers in proptest::collection::vec(
                (
                    "[a-z][a-z0-9_-]{0,12}",
                    proptest::collection::vec(
                        ("[a-z_]{1,10}", proptest::option::of("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,6}")),
                        0..4,
                    ),
                ),
                0..4,
            )
        ) {
            let offers: Vec<ExtensionOffer> = offers
                .into_iter()
                .map(|(name, params)| ExtensionOffer { name, params })
                .collect();
            prop_assert_eq!(parse_extensions(&format_extensions(&offers)), Ok(offers));
        }

        #[test]
        fn client_request_always_parses(
            path in "/[!-~]{0,30}",
            protocols in proptest::collection::vec("[a-z0-9.]{1,8}", 0..4),
            cookie in "[ -~]{0,30}",
            random in any::<[u8; 16]>(),
        ) {
            let client = protocols
                .iter()
                .fold(ClientRequest::new("example.com:8080", &path), |c, p| c.protocol(p))
                .header("Cookie", &cookie);
            let key = generate_key(random);
            let mut wire = Vec::new();
            client.write_request(&key, &mut wire).unwrap();
            let (parsed, n) = RequestParser::new().parse(&wire, LIMITS).unwrap().unwrap();
            prop_assert_eq!(n, wire.len());
            let req = parsed.validate(&OriginPolicy::default()).unwrap();
            prop_assert_eq!(req.path(), path.as_str());
            prop_assert_eq!(req.protocols(), protocols.as_slice());
            prop_assert_eq!(req.accept_key(), accept_key(key.as_bytes()));
        }
    }
}
