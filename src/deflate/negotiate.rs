//! Negotiation of permessage-deflate in the opening handshake ([RFC 7692 §7.1]).
//!
//! The server side is [`negotiate`]; the client side is [`client_offer`] and
//! [`client_accept`]. Both work on [`ExtensionOffer`]s, the parsed elements of
//! `Sec-WebSocket-Extensions`.
//!
//! [RFC 7692 §7.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1

use alloc::string::String;
use core::fmt::Write as _;

use super::config::MAX_WINDOW_BITS;
use super::{DeflateConfig, DeflateError, Direction, NegotiationError, PmdParams};
use crate::handshake::extension::ExtensionOffer;

/// The extension token of RFC 7692.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The four parameters of one offer or response, checked for form only.
#[derive(Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// RFC 7692 §7.1.2.1: the value "MUST be an integer in the range of 8 to 15
/// inclusive ... a decimal integer without leading zeroes" (same in §7.1.2.2).
fn window_bits(value: &str) -> Result<u8, NegotiationError> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Ok(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Ok(10 + d - b'0'),
        _ => Err(NegotiationError::InvalidValue),
    }
}

/// RFC 7692 §7.1: an offer or response with an unknown parameter, a parameter
/// twice, or an invalid value is declined (offer) or fails the connection
/// (response).
fn parse(ext: &ExtensionOffer) -> Result<Parsed, NegotiationError> {
    use NegotiationError::*;
    let mut p = Parsed::default();
    let mut seen = [false; 4];
    for (name, value) in &ext.params {
        let idx = if name.eq_ignore_ascii_case("server_no_context_takeover") {
            0
        } else if name.eq_ignore_ascii_case("client_no_context_takeover") {
            1
        } else if name.eq_ignore_ascii_case("server_max_window_bits") {
            2
        } else if name.eq_ignore_ascii_case("client_max_window_bits") {
            3
        } else {
            return Err(UnknownParameter);
        };
        if core::mem::replace(&mut seen[idx], true) {
            return Err(DuplicateParameter);
        }
        let value = value.as_deref();
        match (idx, value) {
            (0 | 1, Some(_)) => return Err(UnexpectedValue),
            (0, None) => p.server_no_context_takeover = true,
            (1, None) => p.client_no_context_takeover = true,
            (2, None) => return Err(MissingValue),
            (2, Some(v)) => p.server_max_window_bits = Some(window_bits(v)?),
            (_, v) => p.client_max_window_bits = Some(v.map(window_bits).transpose()?),
        }
    }
    Ok(p)
}

fn is_pmd(ext: &ExtensionOffer) -> bool {
    ext.name.eq_ignore_ascii_case(EXTENSION_NAME)
}

/// Server side: picks the first acceptable permessage-deflate offer.
///
/// `offers` are all elements of the request's `Sec-WebSocket-Extensions`
/// headers in order; other extensions are skipped. A malformed offer (unknown
/// or duplicate parameter, a value on a flag, `server_max_window_bits` without
/// a value, a window not in 8..=15) is declined and the next one is tried, as
/// RFC 7692 §5 and §7.1 allow. Returns the parameters in force and the value of
/// the `Sec-WebSocket-Extensions` response header, or `None` to use no
/// compression (no offer acceptable, or `config` disabled).
///
/// What the server answers:
/// - `server_no_context_takeover` when the client asks for it or `config` wants it;
/// - `server_max_window_bits=N` when the client asks for a limit, N being the
///   smaller of its limit and `config`'s (the server's compressor always uses
///   at most `config.server_max_window_bits()`, also when it does not say so);
/// - `client_no_context_takeover` when `config` demands it or the client
///   offered it (which makes the client's hint binding);
/// - `client_max_window_bits=N` only when the client offered that parameter
///   (RFC 7692 §7.1.2.2: otherwise the server must not send it), with the
///   smaller of the client's value and `config`'s; bare in the offer and 15 in
///   `config` means nothing needs saying.
///
/// ```
/// use wsmachine::deflate::{negotiate, DeflateConfig};
/// use wsmachine::handshake::extension::ExtensionOffer;
/// let chrome = ExtensionOffer {
///     name: "permessage-deflate".into(),
///     params: vec![("client_max_window_bits".into(), None)],
/// };
/// let (params, header) = negotiate(&DeflateConfig::default(), &[chrome]).unwrap();
/// assert_eq!(header, "permessage-deflate");
/// assert_eq!(params.server.max_window_bits, 15);
/// ```
pub fn negotiate(config: &DeflateConfig, offers: &[ExtensionOffer]) -> Option<(PmdParams, String)> {
    if !config.enabled() {
        return None;
    }
    let offer = offers
        .iter()
        .filter(|o| is_pmd(o))
        .find_map(|o| parse(o).ok())?;

    let server = Direction {
        max_window_bits: offer
            .server_max_window_bits
            .map_or(config.server_max_window_bits(), |n| {
                n.min(config.server_max_window_bits())
            }),
        no_context_takeover: offer.server_no_context_takeover
            || config.server_no_context_takeover(),
    };
    let client_window = match offer.client_max_window_bits {
        None => None,
        Some(None) if config.client_max_window_bits() == MAX_WINDOW_BITS => None,
        Some(None) => Some(config.client_max_window_bits()),
        Some(Some(n)) => Some(n.min(config.client_max_window_bits())),
    };
    let client = Direction {
        max_window_bits: client_window.unwrap_or(MAX_WINDOW_BITS),
        no_context_takeover: offer.client_no_context_takeover
            || config.client_no_context_takeover(),
    };

    let mut header = String::from(EXTENSION_NAME);
    if server.no_context_takeover {
        header.push_str("; server_no_context_takeover");
    }
    if client.no_context_takeover {
        header.push_str("; client_no_context_takeover");
    }
    if offer.server_max_window_bits.is_some() {
        let _ = write!(
            header,
            "; server_max_window_bits={}",
            server.max_window_bits
        );
    }
    if let Some(n) = client_window {
        let _ = write!(header, "; client_max_window_bits={n}");
    }
    Some((PmdParams { client, server }, header))
}

fn push_client_params(header: &mut String, config: &DeflateConfig) {
    if config.client_no_context_takeover() {
        header.push_str("; client_no_context_takeover");
    }
    if config.client_max_window_bits() == MAX_WINDOW_BITS {
        header.push_str("; client_max_window_bits");
    } else {
        let _ = write!(
            header,
            "; client_max_window_bits={}",
            config.client_max_window_bits()
        );
    }
}

/// Client side: the value of the request's `Sec-WebSocket-Extensions` header,
/// or `None` when `config` is disabled.
///
/// The first offer carries everything `config` asks for. The client always
/// announces `client_max_window_bits` (bare when it may use 15, with its
/// limit otherwise), like browsers do, so the server may limit it. When the
/// first offer asks anything of the server (`server_no_context_takeover`,
/// `server_max_window_bits`), a second, plain offer follows as a fallback for
/// servers that cannot grant it: those requests are preferences, not
/// conditions.
///
/// ```
/// use wsmachine::deflate::{client_offer, DeflateConfig};
/// let config = DeflateConfig::default().with_server_no_context_takeover(true);
/// assert_eq!(
///     client_offer(&config).unwrap(),
///     "permessage-deflate; server_no_context_takeover; client_max_window_bits, \
///      permessage-deflate; client_max_window_bits",
/// );
/// ```
pub fn client_offer(config: &DeflateConfig) -> Option<String> {
    if !config.enabled() {
        return None;
    }
    let mut header = String::from(EXTENSION_NAME);
    let asks_server =
        config.server_no_context_takeover() || config.server_max_window_bits() < MAX_WINDOW_BITS;
    if config.server_no_context_takeover() {
        header.push_str("; server_no_context_takeover");
    }
    if config.server_max_window_bits() < MAX_WINDOW_BITS {
        let _ = write!(
            header,
            "; server_max_window_bits={}",
            config.server_max_window_bits()
        );
    }
    push_client_params(&mut header, config);
    if asks_server {
        header.push_str(", ");
        header.push_str(EXTENSION_NAME);
        push_client_params(&mut header, config);
    }
    Some(header)
}

/// Client side: checks the server's `Sec-WebSocket-Extensions` response
/// (all its elements, in order) against what [`client_offer`] offered.
///
/// `Ok(None)`: the server did not accept permessage-deflate. Fails, so that
/// the client must _Fail the WebSocket Connection_ (RFC 7692 §7.1), when the
/// response accepts permessage-deflate twice or without an offer, has an
/// unknown or duplicate parameter, a value on a flag, a window not in 8..=15,
/// `client_max_window_bits` without a value or above the client's announced
/// limit. A `server_max_window_bits` or `server_no_context_takeover` the
/// client did not ask for is accepted (RFC 7692 §7.1.1.1, §7.1.2.1 let the
/// server add them; with the fallback offer the client cannot tell which
/// offer was accepted anyway). Extensions other than permessage-deflate are
/// not looked at.
pub fn client_accept(
    config: &DeflateConfig,
    accepted: &[ExtensionOffer],
) -> Result<Option<PmdParams>, DeflateError> {
    let mut pmd = accepted.iter().filter(|e| is_pmd(e));
    let Some(response) = pmd.next() else {
        return Ok(None);
    };
    if pmd.next().is_some() {
        return Err(NegotiationError::DuplicateExtension.into());
    }
    if !config.enabled() {
        return Err(NegotiationError::NotOffered.into());
    }
    let p = parse(response)?;
    let client_window = match p.client_max_window_bits {
        None => config.client_max_window_bits(),
        Some(None) => return Err(NegotiationError::MissingValue.into()),
        Some(Some(n)) if n > config.client_max_window_bits() => {
            return Err(NegotiationError::WindowTooLarge.into());
        }
        Some(Some(n)) => n,
    };
    Ok(Some(PmdParams {
        client: Direction {
            max_window_bits: client_window,
            no_context_takeover: p.client_no_context_takeover
                || config.client_no_context_takeover(),
        },
        server: Direction {
            max_window_bits: p.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            no_context_takeover: p.server_no_context_takeover,
        },
    }))
}
