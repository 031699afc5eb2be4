//! Properties: random heads and bytes never panic nor pass the limits;
//! extension values round-trip; every request we write parses.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
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
