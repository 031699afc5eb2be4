//! Negotiation tables: server answers, client offers, client checks of
//! responses (RFC 7692 §7.1, browser offers, Autobahn 13.* offers).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::deflate::{
    DeflateConfig, DeflateError, Direction, NegotiationError, PmdParams, client_accept,
    client_offer, negotiate,
};
use crate::handshake::extension::ExtensionOffer;

/// A test-only parser of `Sec-WebSocket-Extensions` (no quoted strings).
fn parse(header: &str) -> Vec<ExtensionOffer> {
    header
        .split(',')
        .map(|ext| {
            let mut parts = ext.split(';').map(str::trim);
            let name = parts.next().unwrap().to_string();
            let params = parts
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                    None => (p.to_string(), None),
                })
                .collect();
            ExtensionOffer { name, params }
        })
        .collect()
}

fn d(bits: u8, nct: bool) -> Direction {
    Direction {
        max_window_bits: bits,
        no_context_takeover: nct,
    }
}

fn params(client: Direction, server: Direction) -> PmdParams {
    PmdParams { client, server }
}

fn server(config: &DeflateConfig, offer: &str) -> Option<(PmdParams, String)> {
    negotiate(config, &parse(offer))
}

#[test]
fn server_accepts() {
    let default = DeflateConfig::default();
    let full = d(15, false);
    #[rustfmt::skip]
    let table: &[(&str, &str, PmdParams)] = &[
        // Chrome.
        ("permessage-deflate; client_max_window_bits", "permessage-deflate", params(full, full)),
        // Firefox.
        ("permessage-deflate", "permessage-deflate", params(full, full)),
        // Safari and others that ask for nothing: same answer; case does not matter.
        ("Permessage-Deflate; Client_Max_Window_Bits", "permessage-deflate", params(full, full)),
        // RFC 7692 §7.1.3-style offer with a fallback: the first one is fine.
        ("permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
         "permessage-deflate; server_max_window_bits=10", params(full, d(10, false))),
        ("permessage-deflate; server_no_context_takeover",
         "permessage-deflate; server_no_context_takeover", params(full, d(15, true))),
        ("permessage-deflate; client_max_window_bits=10",
         "permessage-deflate; client_max_window_bits=10", params(d(10, false), full)),
        ("permessage-deflate; client_no_context_takeover",
         "permessage-deflate; client_no_context_takeover", params(d(15, true), full)),
        // Autobahn 13.3: (requestNoContextTakeover, requestMaxWindowBits) = (False, 8).
        ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
         "permessage-deflate; client_no_context_takeover; server_max_window_bits=8", params(d(15, true), d(8, false))),
        // Autobahn 13.6: (True, 15).
        ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15",
         params(d(15, true), d(15, true))),
        // Another extension first is skipped.
        ("x-webkit-deflate-frame, permessage-deflate", "permessage-deflate", params(full, full)),
    ];
    for (offer, answer, expected) in table {
        let (p, header) = server(&default, offer).unwrap_or_else(|| panic!("declined {offer}"));
        assert_eq!(&header, answer, "{offer}");
        assert_eq!(&p, expected, "{offer}");
    }
}

#[test]
fn server_declines_malformed_offers() {
    let default = DeflateConfig::default();
    let malformed = [
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=100",
    ];
    for offer in malformed {
        assert_eq!(server(&default, offer), None, "{offer}");
        // Followed by a good offer, the good one wins.
        let two = alloc::format!("{offer}, permessage-deflate; client_no_context_takeover");
        let (_, header) = server(&default, &two).unwrap();
        assert_eq!(
            header, "permessage-deflate; client_no_context_takeover",
            "{two}"
        );
    }
    // No offer at all, or only other extensions.
    assert_eq!(negotiate(&default, &[]), None);
    assert_eq!(server(&default, "x-foo"), None);
    // Disabled.
    assert_eq!(
        server(&default.with_enabled(false), "permessage-deflate"),
        None
    );
}

#[test]
fn server_config_limits_and_demands() {
    let strict = DeflateConfig::default()
        .with_server_max_window_bits(10)
        .unwrap()
        .with_client_max_window_bits(9)
        .unwrap()
        .with_client_no_context_takeover(true)
        .with_server_no_context_takeover(true);
    #[rustfmt::skip]
    let table: &[(&str, &str, PmdParams)] = &[
        // The client supports client_max_window_bits: the server limits it.
        ("permessage-deflate; client_max_window_bits",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9",
         params(d(9, true), d(10, true))),
        // It does not: the server must not send it, the client keeps 15.
        ("permessage-deflate",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         params(d(15, true), d(10, true))),
        // The client asks for a larger server window than configured: the smaller wins.
        ("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
         params(d(9, true), d(10, true))),
        // A smaller one than configured: granted.
        ("permessage-deflate; server_max_window_bits=8",
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
         params(d(15, true), d(8, true))),
    ];
    for (offer, answer, expected) in table {
        let (p, header) = server(&strict, offer).unwrap();
        assert_eq!(&header, answer, "{offer}");
        assert_eq!(&p, expected, "{offer}");
    }
}

#[test]
fn client_offers() {
    let c = DeflateConfig::default();
    #[rustfmt::skip]
    let table: &[(DeflateConfig, &str)] = &[
        (c.clone(), "permessage-deflate; client_max_window_bits"),
        (c.clone().with_client_max_window_bits(9).unwrap().with_client_no_context_takeover(true),
         "permessage-deflate; client_no_context_takeover; client_max_window_bits=9"),
        (c.clone().with_server_max_window_bits(10).unwrap(),
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits"),
        (c.clone().with_server_no_context_takeover(true).with_server_max_window_bits(8).unwrap(),
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits, \
          permessage-deflate; client_max_window_bits"),
    ];
    for (config, expected) in table {
        let offer = client_offer(config).unwrap();
        assert_eq!(&offer, expected);
        // Every offer we make is one our own server accepts.
        assert!(negotiate(&DeflateConfig::default(), &parse(&offer)).is_some());
    }
    assert_eq!(client_offer(&c.with_enabled(false)), None);
}

#[test]
fn client_accepts_valid_responses() {
    let c = DeflateConfig::default();
    let limited = c
        .clone()
        .with_client_max_window_bits(10)
        .unwrap()
        .with_client_no_context_takeover(true);
    let full = d(15, false);
    #[rustfmt::skip]
    let table: &[(&DeflateConfig, &str, PmdParams)] = &[
        (&c, "permessage-deflate", params(full, full)),
        (&c, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", params(full, d(10, true))),
        (&c, "permessage-deflate; client_no_context_takeover; client_max_window_bits=8", params(d(8, true), full)),
        (&c, "x-other, permessage-deflate", params(full, full)),
        // The client keeps its own limits whatever the server says.
        (&limited, "permessage-deflate", params(d(10, true), full)),
        (&limited, "permessage-deflate; client_max_window_bits=9", params(d(9, true), full)),
    ];
    for (config, response, expected) in table {
        assert_eq!(
            client_accept(config, &parse(response)),
            Ok(Some(*expected)),
            "{response}"
        );
    }
    assert_eq!(client_accept(&c, &[]), Ok(None));
    assert_eq!(client_accept(&c, &parse("x-other")), Ok(None));
}

#[test]
fn client_refuses_invalid_responses() {
    use NegotiationError::*;
    let c = DeflateConfig::default();
    let limited = c.clone().with_client_max_window_bits(10).unwrap();
    let table: &[(&DeflateConfig, &str, NegotiationError)] = &[
        (
            &c,
            "permessage-deflate, permessage-deflate",
            DuplicateExtension,
        ),
        (&c, "permessage-deflate; foo", UnknownParameter),
        (
            &c,
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            DuplicateParameter,
        ),
        (
            &c,
            "permessage-deflate; client_no_context_takeover=1",
            UnexpectedValue,
        ),
        (
            &c,
            "permessage-deflate; client_max_window_bits",
            MissingValue,
        ),
        (
            &c,
            "permessage-deflate; server_max_window_bits",
            MissingValue,
        ),
        (
            &c,
            "permessage-deflate; server_max_window_bits=16",
            InvalidValue,
        ),
        (
            &c,
            "permessage-deflate; client_max_window_bits=7",
            InvalidValue,
        ),
        (
            &c,
            "permessage-deflate; client_max_window_bits=x",
            InvalidValue,
        ),
        (
            &limited,
            "permessage-deflate; client_max_window_bits=11",
            WindowTooLarge,
        ),
        (
            &c.clone().with_enabled(false),
            "permessage-deflate",
            NotOffered,
        ),
    ];
    for (config, response, expected) in table {
        let r = client_accept(config, &parse(response));
        assert_eq!(r, Err(DeflateError::Negotiation(*expected)), "{response}");
        assert_eq!(r.unwrap_err().close_code(), 1002);
    }
}

#[test]
fn both_ends_agree() {
    // Whatever the two configurations, what the client's compressor does is
    // what the server expects, and the other way round.
    let configs = [
        DeflateConfig::default(),
        DeflateConfig::default()
            .with_client_max_window_bits(9)
            .unwrap()
            .with_client_no_context_takeover(true),
        DeflateConfig::default()
            .with_server_max_window_bits(8)
            .unwrap()
            .with_server_no_context_takeover(true),
        DeflateConfig::default()
            .with_server_max_window_bits(12)
            .unwrap()
            .with_client_max_window_bits(11)
            .unwrap(),
    ];
    for client in &configs {
        for server_config in &configs {
            let offer = client_offer(client).unwrap();
            let (on_server, answer) = negotiate(server_config, &parse(&offer)).unwrap();
            let on_client = client_accept(client, &parse(&answer)).unwrap().unwrap();
            // The client never uses more window or context than the server allows.
            assert!(
                on_client.client.max_window_bits <= on_server.client.max_window_bits,
                "{offer} / {answer}"
            );
            assert!(on_client.client.no_context_takeover >= on_server.client.no_context_takeover);
            // The server's compressor is exactly what the client was told.
            assert!(
                on_server.server.max_window_bits <= on_client.server.max_window_bits,
                "{offer} / {answer}"
            );
            assert!(on_server.server.no_context_takeover >= on_client.server.no_context_takeover);
        }
    }
}
