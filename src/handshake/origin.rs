//! Which `Origin` a server accepts: browsers send the origin of the page that
//! opens a WebSocket, and a server that trusts cookies must refuse pages from
//! other sites (cross-site WebSocket hijacking). Clients that are not
//! browsers usually send no `Origin` at all, and are always let in.

use alloc::string::String;
use alloc::vec::Vec;

/// The server's rule for the `Origin` request header
/// ([RFC 6455 §4.2.2](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2),
/// §10.2). A request without `Origin` is allowed by every policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// The default: the origin's `host[:port]` must equal the `Host` header,
    /// ASCII-case-insensitively, with ports 80 and 443 treated as absent on
    /// both sides. `Origin: null` is refused.
    #[default]
    SameHost,
    /// Any origin is accepted (the application checks it itself, or uses no
    /// ambient credentials such as cookies).
    Any,
    /// Only these full origins, such as `https://example.com`, compared
    /// ASCII-case-insensitively. List `null` to accept `Origin: null`.
    AllowList(Vec<String>),
}

impl OriginPolicy {
    /// Whether a request with this `Origin` (if any) and this `Host` header
    /// passes the policy.
    ///
    /// ```
    /// use wsmachine::handshake::OriginPolicy;
    /// let p = OriginPolicy::SameHost;
    /// assert!(p.allows(None, "example.com"));
    /// assert!(p.allows(Some("https://Example.com:443"), "example.com"));
    /// assert!(!p.allows(Some("https://evil.example"), "example.com"));
    /// ```
    #[must_use]
    pub fn allows(&self, origin: Option<&str>, host: &str) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match self {
            Self::Any => true,
            Self::AllowList(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
            Self::SameHost => match (origin_authority(origin), split_host_port(host)) {
                (Some((oh, op)), Some((hh, hp))) => {
                    oh.eq_ignore_ascii_case(hh) && normal_port(op) == normal_port(hp)
                }
                _ => false,
            },
        }
    }
}

/// The `host` and optional port of a serialized origin `scheme://host[:port]`.
fn origin_authority(origin: &str) -> Option<(&str, Option<&str>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    // A serialized origin has no path, but tolerate a lone trailing slash.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    split_host_port(rest)
}

/// Splits `host[:port]`, where host may be an IPv6 literal in brackets.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        let (host, after) = s.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((host, port))
}

/// Ports 80 and 443 count as "no port": the default of `http`/`ws` and
/// `https`/`wss`, whichever side wrote them out.
fn normal_port(port: Option<&str>) -> Option<&str> {
    match port.map(|p| p.trim_start_matches('0')) {
        Some("80" | "443") | None => None,
        Some(p) => Some(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn same_host() {
        let p = OriginPolicy::default();
        let cases: &[(Option<&str>, &str, bool)] = &[
            (None, "example.com", true),
            (Some("http://localhost:8080"), "localhost:8080", true),
            (Some("http://LOCALHOST:8080"), "localhost:8080", true),
            (Some("http://localhost:8081"), "localhost:8080", false),
            (Some("http://localhost"), "localhost:8080", false),
            (Some("https://example.com"), "example.com", true),
            (Some("https://example.com"), "example.com:443", true),
            (Some("http://example.com:80"), "example.com", true),
            (Some("https://example.com/"), "example.com", true),
            (Some("https://evil.com"), "example.com", false),
            (Some("https://example.com.evil.com"), "example.com", false),
            (Some("null"), "example.com", false),
            (Some("example.com"), "example.com", false),
            (Some("http://[::1]:8080"), "[::1]:8080", true),
            (Some("http://[::1]"), "[::1]:8080", false),
            (Some("http://a@example.com"), "example.com", false),
            (Some("http://example.com/path"), "example.com", false),
            (Some("http://example.com:x"), "example.com", false),
            (Some("http://example.com"), "example.com:", false),
            (Some("http://"), "", false),
        ];
        for &(origin, host, ok) in cases {
            assert_eq!(p.allows(origin, host), ok, "{origin:?} {host:?}");
        }
    }

    #[test]
    fn allow_list_and_any() {
        let p = OriginPolicy::AllowList(vec!["https://example.com".into(), "null".into()]);
        assert!(p.allows(Some("HTTPS://EXAMPLE.COM"), "other"));
        assert!(p.allows(Some("null"), "other"));
        assert!(p.allows(None, "other"));
        assert!(!p.allows(Some("http://example.com"), "example.com"));
        let strict = OriginPolicy::AllowList(vec!["https://example.com".into()]);
        assert!(!strict.allows(Some("null"), "example.com"));
        assert!(OriginPolicy::Any.allows(Some("null"), "x"));
        assert!(OriginPolicy::Any.allows(Some("https://evil.com"), "x"));
    }
}
