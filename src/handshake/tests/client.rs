//! Client side: responses, refusals, writing requests, round trips.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::*;

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
    use HandshakeError::*;
    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    let client = ClientRequest::new("example.com", "/")
        .protocol("chat")
        .extension(ExtensionOffer::new("permessage-deflate"));
    let status = |line: &str| request(line, &[("Upgrade", "websocket")]);
    let switching = |headers: &[(&str, &str)]| request("HTTP/1.1 101 Switching Protocols", headers);
    let plus = |extra: &[(&str, &str)]| good_response(ACCEPT, extra);
    let (proto, ext) = ("Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions");
    #[rustfmt::skip]
    let cases: Vec<(Vec<u8>, HandshakeError)> = vec![
        (status("HTTP/1.1 200 OK"), UnexpectedStatus { status: 200 }),
        (status("HTTP/1.1 403 Forbidden"), UnexpectedStatus { status: 403 }),
        (status("HTTP/1.1 426 Upgrade Required"), UnexpectedStatus { status: 426 }),
        (status("HTTP/1.1 302"), UnexpectedStatus { status: 302 }),
        (request("HTTP/1.0 101 Switching Protocols", &[]), HttpVersion),
        (switching(&[("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)]), MissingUpgrade),
        (switching(&[("Upgrade", "h2c"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ACCEPT)]), UpgradeNotWebSocket),
        (switching(&[("Upgrade", "websocket"), ("Sec-WebSocket-Accept", ACCEPT)]), ConnectionNotUpgrade),
        (switching(&[("Upgrade", "websocket"), ("Connection", "close"), ("Sec-WebSocket-Accept", ACCEPT)]), ConnectionNotUpgrade),
        (switching(&[("Upgrade", "websocket"), ("Connection", "Upgrade")]), MissingAccept),
        (good_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo", &[]), AcceptMismatch),
        (good_response("S3PPLMBITXAQ9KYGZZHZRBK+XOO=", &[]), AcceptMismatch),
        (good_response(KEY, &[]), AcceptMismatch),
        (plus(&[("Sec-WebSocket-Accept", ACCEPT)]), AcceptMismatch),
        (plus(&[(proto, "superchat")]), ProtocolNotOffered),
        (plus(&[(proto, "Chat")]), ProtocolNotOffered),
        (plus(&[(proto, "")]), ProtocolNotOffered),
        (plus(&[(proto, "chat, chat")]), ProtocolNotOffered),
        (plus(&[(proto, "chat"), (proto, "chat")]), ProtocolNotOffered),
        (plus(&[(ext, "x-webkit-deflate-frame")]), ExtensionNotOffered),
        (plus(&[(ext, "permessage-deflate, foo")]), ExtensionNotOffered),
        (plus(&[(ext, "permessage-deflate"), (ext, "foo")]), ExtensionNotOffered),
        (plus(&[(ext, "permessage-deflate;")]), BadExtensionHeader),
        (b"HTTP/1.1 1O1 Switching Protocols\r\n\r\n".to_vec(), Malformed),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\n\r\n".to_vec(), Malformed),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(), Malformed),
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
        ((proto, "chat"), ProtocolNotOffered),
        ((ext, "permessage-deflate"), ExtensionNotOffered),
    ] {
        let (parsed, _) = ResponseParser::new()
            .parse(&plus(&[extra]), LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(parsed.validate(&bare, KEY), Err(err));
    }
    // And the baseline is fine, with or without the offered ones.
    for extra in [&[][..], &[(proto, "chat"), (ext, "permessage-deflate")]] {
        let (parsed, _) = ResponseParser::new()
            .parse(&plus(extra), LIMITS)
            .unwrap()
            .unwrap();
        assert!(parsed.validate(&client, KEY).is_ok());
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
