//! The opening handshake inside `Connection`, both roles, then frames.

mod common;

use common::*;
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Connection, Event, HandshakeError, OriginPolicy,
    ProtocolError, State, UsageError,
};

const CHROME_REQUEST: &[u8] = b"GET /echo HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=abc123; theme=dark\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// Events a connection yields for `input` cut by `chunking`, accepting any handshake.
fn server_events(conn: &mut Connection, input: &[u8], chunking: Chunking) -> Vec<String> {
    let mut log = Vec::new();
    let mut at = 0;
    let mut rng = 0x9E37_79B9u64;
    while at < input.len() {
        let n = match chunking {
            Chunking::Whole => input.len() - at,
            Chunking::ByteByByte => 1,
            Chunking::Random(seed) => {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(seed | 1);
                (1 + (rng >> 33) as usize % 40).min(input.len() - at)
            }
        };
        conn.receive(&input[at..at + n]);
        at += n;
        loop {
            match conn.next_event() {
                Ok(Some(Event::Handshake(req))) => {
                    log.push(format!("handshake {}", req.path()));
                    conn.accept(Accept::new()).unwrap();
                }
                Ok(Some(event)) => log.push(format!("{:?}", Owned::from_event(&event))),
                Ok(None) => break,
                Err(e) => {
                    log.push(format!("error {e:?}"));
                    return log;
                }
            }
        }
    }
    log
}

#[test]
fn chrome_request_is_accepted_with_pipelined_frames() {
    for chunking in Chunking::ALL {
        let mut input = CHROME_REQUEST.to_vec();
        input.extend_from_slice(&client_frame(0x81, b"pipelined"));
        input.extend_from_slice(&client_frame(0x89, b"ping"));
        let mut server = Connection::server(Config::default());
        let log = server_events(&mut server, &input, chunking);
        assert_eq!(
            log,
            vec![
                "handshake /echo".to_string(),
                format!("{:?}", Owned::Text("pipelined".into())),
                format!("{:?}", Owned::Ping(b"ping".to_vec())),
            ],
            "{chunking:?}"
        );
        let out = take_output(&mut server, usize::MAX);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        // The permessage-deflate offer is declined (no extension header) unless compression is on.
        #[cfg(not(feature = "deflate"))]
        assert!(
            !text
                .to_ascii_lowercase()
                .contains("sec-websocket-extensions")
        );
        // The pong follows the 101.
        let head_end = text.find("\r\n\r\n").unwrap() + 4;
        assert_eq!(
            parse_frames(&out[head_end..]),
            vec![(0x8A, b"ping".to_vec())]
        );
    }
}

#[test]
fn the_request_is_exposed_to_the_application() {
    let mut server = Connection::server(Config::default());
    server.receive(CHROME_REQUEST);
    let Some(Event::Handshake(req)) = server.next_event().unwrap() else {
        panic!("expected the handshake");
    };
    assert_eq!(req.path(), "/echo");
    assert_eq!(req.host(), "localhost:8080");
    assert_eq!(req.origin(), Some("http://localhost:8080"));
    assert_eq!(
        req.header("cookie"),
        Some(&b"session=abc123; theme=dark"[..])
    );
    assert_eq!(req.extensions().len(), 1);
    assert_eq!(req.extensions()[0].name, "permessage-deflate");
    assert_eq!(
        req.extensions()[0].params,
        vec![("client_max_window_bits".to_string(), None)]
    );
    assert!(req.headers().count() >= 13);
    // No more events until the application answers.
    assert_eq!(server.next_event(), Ok(None));
    assert_eq!(server.state(), State::Connecting);
    assert_eq!(server.send_text("too early"), Err(UsageError::NotOpen));
}

fn run_pair_handshake(client_req: &ClientRequest, chunking: Chunking) -> (Connection, Connection) {
    let mut client = Connection::client(client_req, Config::default(), counter_masks()).unwrap();
    let mut server = Connection::server(Config::default());
    let request = take_output(&mut client, 13);
    assert!(request.starts_with(b"GET /chat?room=1 HTTP/1.1\r\n"));
    let log = server_events(&mut server, &request, chunking);
    assert_eq!(log, vec!["handshake /chat?room=1"]);
    (client, server)
}

#[test]
fn client_and_server_handshake_then_messages_and_close() {
    for chunking in Chunking::ALL {
        let req = ClientRequest::from_url("ws://127.0.0.1:9000/chat?room=1").unwrap();
        let (mut client, mut server) = run_pair_handshake(&req, chunking);
        // The server's first frame travels in the same chunk as its 101.
        server.send_text("welcome").unwrap();
        let bytes = take_output(&mut server, usize::MAX);
        let mut events = Vec::new();
        let mut connected = 0;
        for piece in chunk(&bytes, chunking) {
            client.receive(piece);
            loop {
                match client.next_event().unwrap() {
                    Some(Event::Connected(resp)) => {
                        assert_eq!(resp.status(), 101);
                        assert_eq!(resp.protocol(), None);
                        connected += 1;
                    }
                    Some(event) => events.push(Owned::from_event(&event)),
                    None => break,
                }
            }
        }
        assert_eq!(connected, 1, "{chunking:?}");
        assert_eq!(events, vec![Owned::Text("welcome".into())]);
        assert_eq!(client.state(), State::Open);
        client.send_binary(&[1, 2, 3]).unwrap();
        client.close(CloseCode::NORMAL, "bye").unwrap();
        let got = feed(&mut server, &take_output(&mut client, 5), chunking);
        assert_eq!(
            got,
            vec![
                Owned::Binary(vec![1, 2, 3]),
                Owned::Close(1000, "bye".into())
            ]
        );
        let got = feed(&mut client, &take_output(&mut server, 5), chunking);
        assert_eq!(got, vec![Owned::Close(1000, String::new())]);
        assert!(client.is_closed() && server.is_closed());
    }
}

fn chunk(bytes: &[u8], chunking: Chunking) -> Vec<&[u8]> {
    match chunking {
        Chunking::Whole => vec![bytes],
        Chunking::ByteByByte => bytes.chunks(1).collect(),
        Chunking::Random(seed) => bytes.chunks(3 + (seed % 17) as usize).collect(),
    }
}

#[test]
fn subprotocol_negotiation() {
    let req = ClientRequest::from_url("ws://h/chat?room=1")
        .unwrap()
        .protocol("v2.chat")
        .protocol("v1.chat");
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    let mut server = Connection::server(Config::default());
    server.receive(&take_output(&mut client, usize::MAX));
    let Some(Event::Handshake(r)) = server.next_event().unwrap() else {
        panic!()
    };
    assert_eq!(r.protocols(), ["v2.chat", "v1.chat"]);
    assert_eq!(
        server.accept(Accept::new().protocol("v3.chat")),
        Err(UsageError::ProtocolNotOffered)
    );
    server
        .accept(
            Accept::new()
                .protocol("v1.chat")
                .header("Set-Cookie", "id=7"),
        )
        .unwrap();
    assert_eq!(
        server.accept(Accept::new()),
        Err(UsageError::NoHandshakePending)
    );
    client.receive(&take_output(&mut server, usize::MAX));
    let Some(Event::Connected(resp)) = client.next_event().unwrap() else {
        panic!()
    };
    assert_eq!(resp.protocol(), Some("v1.chat"));
    assert_eq!(resp.header("set-cookie"), Some(&b"id=7"[..]));
}

#[test]
fn application_rejects_with_its_own_status() {
    let req = ClientRequest::from_url("ws://h/private").unwrap();
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    let mut server = Connection::server(Config::default());
    server.receive(&take_output(&mut client, usize::MAX));
    assert!(matches!(server.next_event(), Ok(Some(Event::Handshake(_)))));
    server
        .reject(401, &[("WWW-Authenticate", "Bearer")], b"login first")
        .unwrap();
    assert_eq!(server.state(), State::Closed);
    let response = take_output(&mut server, usize::MAX);
    assert!(response.starts_with(b"HTTP/1.1 401 "));
    client.receive(&response);
    let error = client.next_event().unwrap_err();
    assert_eq!(
        error,
        ProtocolError::Handshake(HandshakeError::UnexpectedStatus { status: 401 })
    );
    assert_eq!(error.http_status(), Some(401));
    let refusal = client.handshake_response().unwrap();
    assert_eq!(refusal.status(), 401);
    assert_eq!(refusal.header("www-authenticate"), Some(&b"Bearer"[..]));
    assert_eq!(refusal.body(), b"login first");
    assert!(client.is_closed());
}

/// Bad requests: the HTTP status in the written response and the error.
#[test]
fn invalid_requests_get_an_http_error_response() {
    let good = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let cases: Vec<(String, u16, HandshakeError)> = vec![
        (
            good.replace("GET", "POST") + "\r\n",
            405,
            HandshakeError::MethodNotGet,
        ),
        (
            good.replace("HTTP/1.1", "HTTP/1.0") + "\r\n",
            400,
            HandshakeError::HttpVersion,
        ),
        (
            good.replace("Host: h\r\n", "") + "\r\n",
            400,
            HandshakeError::MissingHost,
        ),
        (
            good.replace("websocket", "h2c") + "\r\n",
            400,
            HandshakeError::UpgradeNotWebSocket,
        ),
        (
            good.replace("Connection: Upgrade", "Connection: keep-alive") + "\r\n",
            400,
            HandshakeError::ConnectionNotUpgrade,
        ),
        (
            good.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=") + "\r\n",
            400,
            HandshakeError::BadKey,
        ),
        (
            good.replace("Version: 13", "Version: 8") + "\r\n",
            426,
            HandshakeError::UnsupportedVersion,
        ),
        (
            good.to_string() + "Origin: http://evil.example\r\n\r\n",
            403,
            HandshakeError::OriginNotAllowed,
        ),
        (
            good.to_string()
                + &"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                    .repeat(200)
                + "\r\n",
            431,
            HandshakeError::TooLarge,
        ),
        (
            good.to_string() + &"X-A: 1\r\n".repeat(70) + "\r\n",
            431,
            HandshakeError::TooManyHeaders,
        ),
        (
            "GET / HTTP/1.1\r\nHost h\r\n\r\n".to_string(),
            400,
            HandshakeError::Malformed,
        ),
    ];
    for (request, status, expected) in cases {
        for chunking in [Chunking::Whole, Chunking::ByteByByte] {
            let mut server = Connection::server(Config::default());
            let events = feed(&mut server, request.as_bytes(), chunking);
            assert_eq!(
                events,
                vec![Owned::Error(ProtocolError::Handshake(expected))],
                "{request}"
            );
            let out = String::from_utf8(take_output(&mut server, usize::MAX)).unwrap();
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status} ")),
                "{expected:?}: {out}"
            );
            if status == 426 {
                assert!(out.contains("Sec-WebSocket-Version: 13\r\n"));
            }
            if status == 405 {
                assert!(out.contains("Allow: GET\r\n"));
            }
            assert!(server.is_closed());
        }
    }
}

#[test]
fn origin_policies() {
    let request = |origin: &str| {
        format!(
            "GET / HTTP/1.1\r\nHost: app.example:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
        )
    };
    let accepted = |policy: OriginPolicy, origin: &str| {
        let mut server = Connection::server(Config::default().with_origin_policy(policy));
        server.receive(request(origin).as_bytes());
        matches!(server.next_event(), Ok(Some(Event::Handshake(_))))
    };
    assert!(accepted(OriginPolicy::SameHost, "http://app.example:8080"));
    assert!(!accepted(
        OriginPolicy::SameHost,
        "http://other.example:8080"
    ));
    assert!(accepted(OriginPolicy::Any, "http://other.example:8080"));
    let list = OriginPolicy::AllowList(vec!["https://trusted.example".into()]);
    assert!(accepted(list.clone(), "https://trusted.example"));
    assert!(!accepted(list, "https://app.example:8080"));
}

#[test]
fn eof_during_the_handshake_is_abnormal() {
    let mut server = Connection::server(Config::default());
    server.receive(b"GET / HTTP/1.1\r\nHost: h\r\n");
    assert_eq!(server.next_event(), Ok(None));
    server.receive_eof();
    assert_eq!(server.next_event(), Err(ProtocolError::AbnormalClosure));
    assert!(server.is_closed());
}

#[test]
fn a_bad_101_fails_the_client() {
    let req = ClientRequest::from_url("ws://h/").unwrap();
    let mut client = Connection::client(&req, Config::default(), counter_masks()).unwrap();
    client.receive(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    );
    assert_eq!(
        client.next_event(),
        Err(ProtocolError::Handshake(HandshakeError::AcceptMismatch))
    );
    assert!(client.is_closed());
}
