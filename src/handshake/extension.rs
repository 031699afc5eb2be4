//! `Sec-WebSocket-Extensions` offers: an extension name with its parameters,
//! parsed by the grammar of [RFC 6455 §9.1] and formatted back.
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! [RFC 6455 §9.1]: https://www.rfc-editor.org/rfc/rfc6455#section-9.1

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::error::HandshakeError;
use super::headers::{is_ows, is_tchar, is_token};

/// One extension offered (or accepted) in a `Sec-WebSocket-Extensions` header,
/// for example `permessage-deflate; client_max_window_bits`.
///
/// Names and parameter names are kept as they appeared on the wire; compare
/// them ASCII-case-insensitively. A parameter given as a quoted string has its
/// quotes and escapes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, such as `permessage-deflate`.
    pub name: String,
    /// The parameters in wire order: name and optional value.
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// An offer of `name` without parameters.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style): `with_param("server_max_window_bits", Some("10"))`.
    #[must_use]
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push((name.into(), value.map(Into::into)));
        self
    }

    /// Whether this offer's name is `name`, ignoring ASCII case.
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The first parameter called `name` (ASCII-case-insensitive): `None` if
    /// absent, `Some(None)` if present without a value.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

/// Writes the offer as it goes on the wire: `name; p1; p2=v`. A value that is
/// not a token is written as a quoted string.
impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            match value {
                None => {}
                Some(v) if is_token(v.as_bytes()) => write!(f, "={v}")?,
                Some(v) => {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Formats offers as one `Sec-WebSocket-Extensions` value, separated by `, `
/// (for a response, or for a client's offer).
///
/// ```
/// use wsmachine::handshake::{format_extensions, ExtensionOffer};
/// let pmd = ExtensionOffer::new("permessage-deflate").with_param("server_no_context_takeover", None);
/// assert_eq!(format_extensions(&[pmd]), "permessage-deflate; server_no_context_takeover");
/// ```
#[must_use]
pub fn format_extensions(offers: &[ExtensionOffer]) -> String {
    let mut out = String::new();
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing into a String cannot fail.
        let _ = fmt::write(&mut out, format_args!("{offer}"));
    }
    out
}

/// Parses one `Sec-WebSocket-Extensions` value into offers, in order.
///
/// Optional whitespace is allowed around `,`, `;` and `=`, and empty list
/// elements are ignored (RFC 9110 §5.6.1), so an empty value gives no offer.
/// Parameter values may be tokens or quoted strings; after unquoting they
/// MUST be tokens ([RFC 6455 §9.1]).
///
/// # Errors
///
/// [`HandshakeError::BadExtensionHeader`] for anything outside the grammar.
///
/// ```
/// use wsmachine::handshake::parse_extensions;
/// let offers = parse_extensions("permessage-deflate; client_max_window_bits, x; y=\"1\"").unwrap();
/// assert_eq!(offers.len(), 2);
/// assert_eq!(offers[1].param("y"), Some(Some("1")));
/// ```
///
/// [RFC 6455 §9.1]: https://www.rfc-editor.org/rfc/rfc6455#section-9.1
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut offers = Vec::new();
    parse_extensions_into(value.as_bytes(), &mut offers)?;
    Ok(offers)
}

/// [`parse_extensions`] over raw header bytes, appending to `offers` (so that
/// repeated headers merge in order).
pub(crate) fn parse_extensions_into(
    value: &[u8],
    offers: &mut Vec<ExtensionOffer>,
) -> Result<(), HandshakeError> {
    let mut c = Cursor { s: value, i: 0 };
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(()),
            Some(b',') => {
                c.i += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut offer = ExtensionOffer::new(c.token()?);
        loop {
            c.skip_ows();
            match c.peek() {
                None | Some(b',') => break,
                Some(b';') => c.i += 1,
                Some(_) => return Err(HandshakeError::BadExtensionHeader),
            }
            c.skip_ows();
            let name = c.token()?;
            c.skip_ows();
            let value = if c.peek() == Some(b'=') {
                c.i += 1;
                c.skip_ows();
                Some(if c.peek() == Some(b'"') {
                    c.quoted()?
                } else {
                    String::from(c.token()?)
                })
            } else {
                None
            };
            offer.params.push((name.into(), value));
        }
        offers.push(offer);
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Result<&'a str, HandshakeError> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // tchar is ASCII, so this cannot fail; an empty token is an error.
        match core::str::from_utf8(&self.s[start..self.i]) {
            Ok(t) if !t.is_empty() => Ok(t),
            _ => Err(HandshakeError::BadExtensionHeader),
        }
    }

    /// A quoted-string starting at `"`, unescaped; the result must be a token.
    fn quoted(&mut self) -> Result<String, HandshakeError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let b = self.peek().ok_or(HandshakeError::BadExtensionHeader)?;
            self.i += 1;
            let b = match b {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or(HandshakeError::BadExtensionHeader)?;
                    self.i += 1;
                    e
                }
                _ => b,
            };
            // RFC 6455 §9.1: the value after quoted-string unescaping MUST
            // conform to the token ABNF.
            if !is_tchar(b) {
                return Err(HandshakeError::BadExtensionHeader);
            }
            out.push(char::from(b));
        }
        if out.is_empty() {
            return Err(HandshakeError::BadExtensionHeader);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        params
            .iter()
            .fold(ExtensionOffer::new(name), |o, (n, v)| o.with_param(n, *v))
    }

    #[test]
    fn parses_good_values() {
        let cases: &[(&str, Vec<ExtensionOffer>)] = &[
            ("", vec![]),
            (" , ,", vec![]),
            ("foo", vec![offer("foo", &[])]),
            (
                "permessage-deflate; client_max_window_bits",
                vec![offer(
                    "permessage-deflate",
                    &[("client_max_window_bits", None)],
                )],
            ),
            (
                "permessage-deflate;client_max_window_bits=10 ;server_no_context_takeover",
                vec![offer(
                    "permessage-deflate",
                    &[
                        ("client_max_window_bits", Some("10")),
                        ("server_no_context_takeover", None),
                    ],
                )],
            ),
            (
                "a; x = \"1\" , b;y=\"a\\-b\",\tc",
                vec![
                    offer("a", &[("x", Some("1"))]),
                    offer("b", &[("y", Some("a-b"))]),
                    offer("c", &[]),
                ],
            ),
            (
                "permessage-deflate; client_max_window_bits, permessage-deflate",
                vec![
                    offer("permessage-deflate", &[("client_max_window_bits", None)]),
                    offer("permessage-deflate", &[]),
                ],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_extensions(input).as_ref(), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn refuses_bad_values() {
        for input in [
            ";",
            "a;",
            "a; ;b",
            "a b",
            "a; b c",
            "a; b=",
            "a; b=\"\"",
            "a; b=\"x y\"",
            "a; b=\"x",
            "a; b=\"x\\",
            "a; b=\"x,y\"",
            "a; b=c d",
            "a; =c",
            "\"a\"",
            "a=1",
            "a; b=1=2",
            "caf\u{e9}",
            "a; b=\"\u{e9}\"",
        ] {
            assert_eq!(
                parse_extensions(input),
                Err(HandshakeError::BadExtensionHeader),
                "{input:?}"
            );
        }
    }

    #[test]
    fn formats_and_round_trips() {
        let offers = vec![
            offer("permessage-deflate", &[("client_max_window_bits", None)]),
            offer("x", &[("q", Some("a b\"\\")), ("t", Some("15"))]),
        ];
        let text = format_extensions(&offers);
        assert_eq!(
            text,
            "permessage-deflate; client_max_window_bits, x; q=\"a b\\\"\\\\\"; t=15"
        );
        // Token values round-trip exactly.
        let tokens = vec![offers[0].clone(), offer("y", &[("t", Some("15"))])];
        assert_eq!(parse_extensions(&format_extensions(&tokens)), Ok(tokens));
    }

    #[test]
    fn param_lookup() {
        let o = offer("pmd", &[("A", None), ("b", Some("1"))]);
        assert_eq!(o.param("a"), Some(None));
        assert_eq!(o.param("B"), Some(Some("1")));
        assert_eq!(o.param("c"), None);
        assert!(o.is("PMD"));
    }
}
