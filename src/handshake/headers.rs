//! Small HTTP helpers shared by both sides: tokens, optional whitespace,
//! comma-separated lists, case-insensitive header lookup, and the checks that
//! keep a written header from injecting another one.

use super::error::HeaderError;

/// `tchar` of [RFC 9110 §5.6.2](https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2).
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// True for a non-empty string of `tchar`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Optional whitespace (`OWS`): space or horizontal tab.
pub(crate) const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing `OWS`.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// The non-empty elements of a `#element` list, trimmed of `OWS`.
///
/// RFC 9110 §5.6.1: a recipient MUST accept empty list elements and ignore them.
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

/// Whether the comma-separated `value` has an element equal to `token`,
/// ignoring ASCII case (`keep-alive, Upgrade` contains `upgrade`).
pub(crate) fn list_contains(value: &[u8], token: &str) -> bool {
    list_items(value).any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
}

/// Every value of header `name` (ASCII-case-insensitive), in order.
pub(crate) fn values<'h>(
    headers: &'h [(&str, &[u8])],
    name: &'h str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// The value of a header that must appear at most once.
pub(crate) fn single<'h>(
    headers: &'h [(&str, &[u8])],
    name: &'h str,
) -> Result<Option<&'h [u8]>, super::HandshakeError> {
    let mut it = values(headers, name);
    let first = it.next();
    if it.next().is_some() {
        return Err(super::HandshakeError::DuplicateHeader);
    }
    Ok(first)
}

/// Checks a header the caller wants written: the name is a token, the value
/// has no control character but tab (so no CR or LF can end the line early).
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if !is_token(name.as_bytes()) {
        return Err(HeaderError::InvalidName);
    }
    check_value(value)
}

/// The value half of [`check_header`].
pub(crate) fn check_value(value: &str) -> Result<(), HeaderError> {
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HeaderError::InvalidValue);
    }
    Ok(())
}

/// Appends `name: value\r\n`.
pub(crate) fn push_header(out: &mut alloc::vec::Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"permessage-deflate"));
        assert!(is_token(b"x!#$%&'*+-.^_`|~9"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a,b"));
        assert!(!is_token(b"a;b"));
        assert!(!is_token(b"\"a\""));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn trimming() {
        assert_eq!(trim_ows(b"  a b\t "), b"a b");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b"x"), b"x");
    }

    #[test]
    fn lists() {
        assert!(list_contains(b"keep-alive, Upgrade", "upgrade"));
        assert!(list_contains(b"UPGRADE", "upgrade"));
        assert!(list_contains(b" ,, upgrade ,", "upgrade"));
        assert!(!list_contains(b"upgrades", "upgrade"));
        assert!(!list_contains(b"keep-alive", "upgrade"));
        assert!(!list_contains(b"", "upgrade"));
        let items: alloc::vec::Vec<&[u8]> = list_items(b"a, ,b ,\tc").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn lookup() {
        let h: &[(&str, &[u8])] = &[("Host", b"a"), ("X", b"1"), ("x", b"2")];
        assert_eq!(single(h, "host"), Ok(Some(&b"a"[..])));
        assert_eq!(single(h, "missing"), Ok(None));
        assert_eq!(
            single(h, "X"),
            Err(super::super::HandshakeError::DuplicateHeader)
        );
        assert_eq!(values(h, "x").count(), 2);
    }

    #[test]
    fn header_checks() {
        assert_eq!(check_header("X-A", "b\tc"), Ok(()));
        assert_eq!(check_header("X A", "b"), Err(HeaderError::InvalidName));
        assert_eq!(check_header("", "b"), Err(HeaderError::InvalidName));
        assert_eq!(check_header("X-A:", "b"), Err(HeaderError::InvalidName));
        assert_eq!(
            check_header("X", "a\r\nSet-Cookie: x"),
            Err(HeaderError::InvalidValue)
        );
        assert_eq!(check_header("X", "a\n"), Err(HeaderError::InvalidValue));
        assert_eq!(check_header("X", "a\0"), Err(HeaderError::InvalidValue));
        assert_eq!(check_header("X", "caf\u{e9}"), Ok(()));
    }
}
