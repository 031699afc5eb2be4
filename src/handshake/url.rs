//! `ws://` and `wss://` URLs ([RFC 6455 §3](https://www.rfc-editor.org/rfc/rfc6455#section-3)),
//! just enough of RFC 3986 to open a connection: no URL crate.
//!
//! ```text
//! ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]
//! wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
//! ```

use alloc::string::String;
use core::fmt::Write as _;

use super::error::UrlError;

/// A parsed WebSocket URL: where to connect and what to ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsUrl {
    /// `true` for `wss://` (TLS).
    pub secure: bool,
    /// The host as written, without the brackets of an IPv6 literal
    /// (`::1` for `ws://[::1]/`): ready for a socket address lookup.
    pub host: String,
    /// The port: as written, else 80 for `ws` and 443 for `wss`.
    pub port: u16,
    /// The request target: path and query, never empty (`/` at least).
    pub path: String,
}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]` or the same with `wss://`.
    /// The scheme is case-insensitive.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming what is wrong.
    ///
    /// ```
    /// use wsmachine::handshake::WsUrl;
    /// let url = WsUrl::parse("wss://[::1]:8443/chat?room=1").unwrap();
    /// assert_eq!((url.secure, url.host.as_str(), url.port), (true, "::1", 8443));
    /// assert_eq!(url.path, "/chat?room=1");
    /// assert_eq!(url.host_header(), "[::1]:8443");
    /// ```
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::BadScheme)?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(UrlError::BadScheme);
        };
        // RFC 6455 §3: "Fragment identifiers are meaningless in the context
        // of WebSocket URIs and MUST NOT be used on these URIs."
        if rest.contains('#') {
            return Err(UrlError::FragmentNotAllowed);
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(UrlError::UserInfoNotAllowed);
        }
        let (host, port) = split_authority(authority)?;
        let port = match port {
            None => default_port(secure),
            Some(p) => parse_port(p)?,
        };
        if !target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::InvalidCharacter);
        }
        let mut path = String::new();
        if !target.starts_with('/') {
            path.push('/');
        }
        path.push_str(target);
        Ok(Self {
            secure,
            host: host.into(),
            port,
            path,
        })
    }

    /// Whether the host is an IPv6 literal (written in brackets in a URL and
    /// in `Host`).
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        self.host.contains(':')
    }

    /// The `Host` header value: the host (bracketed if IPv6), with `:port`
    /// unless it is the scheme's default.
    #[must_use]
    pub fn host_header(&self) -> String {
        let mut out = String::new();
        if self.is_ipv6() {
            let _ = write!(out, "[{}]", self.host);
        } else {
            out.push_str(&self.host);
        }
        if self.port != default_port(self.secure) {
            let _ = write!(out, ":{}", self.port);
        }
        out
    }
}

const fn default_port(secure: bool) -> u16 {
    if secure { 443 } else { 80 }
}

/// Splits `host[:port]` and checks the host's characters.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::MissingHost);
    }
    if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner.split_once(']').ok_or(UrlError::BadHost)?;
        let ipv6_ok = host.contains(':')
            && host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ipv6_ok {
            return Err(UrlError::BadHost);
        }
        return match after {
            "" => Ok((host, None)),
            _ => Ok((
                host,
                Some(after.strip_prefix(':').ok_or(UrlError::BadHost)?),
            )),
        };
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    // reg-name or IPv4: unreserved, percent-encoded and sub-delims characters.
    let host_ok = host.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    });
    if !host_ok {
        return Err(UrlError::BadHost);
    }
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::BadPort),
        Ok(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls() {
        // url, secure, host, port, path, Host header
        let cases = [
            (
                "ws://example.com",
                false,
                "example.com",
                80,
                "/",
                "example.com",
            ),
            (
                "ws://example.com/",
                false,
                "example.com",
                80,
                "/",
                "example.com",
            ),
            (
                "wss://example.com",
                true,
                "example.com",
                443,
                "/",
                "example.com",
            ),
            (
                "WSS://Example.com/a/b",
                true,
                "Example.com",
                443,
                "/a/b",
                "Example.com",
            ),
            (
                "ws://localhost:8080/chat",
                false,
                "localhost",
                8080,
                "/chat",
                "localhost:8080",
            ),
            ("ws://h:80/x", false, "h", 80, "/x", "h"),
            ("ws://h:443/x", false, "h", 443, "/x", "h:443"),
            ("wss://h:80/x", true, "h", 80, "/x", "h:80"),
            ("ws://h?q=1", false, "h", 80, "/?q=1", "h"),
            ("ws://h/p?q=1&r=%20", false, "h", 80, "/p?q=1&r=%20", "h"),
            (
                "ws://127.0.0.1:9001/",
                false,
                "127.0.0.1",
                9001,
                "/",
                "127.0.0.1:9001",
            ),
            ("ws://[::1]:8080/", false, "::1", 8080, "/", "[::1]:8080"),
            (
                "wss://[2001:db8::1]/",
                true,
                "2001:db8::1",
                443,
                "/",
                "[2001:db8::1]",
            ),
            (
                "ws://[::ffff:1.2.3.4]",
                false,
                "::ffff:1.2.3.4",
                80,
                "/",
                "[::ffff:1.2.3.4]",
            ),
            ("ws://h:65535", false, "h", 65535, "/", "h:65535"),
        ];
        for (url, secure, host, port, path, host_header) in cases {
            let u = WsUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (u.secure, u.host.as_str(), u.port, u.path.as_str()),
                (secure, host, port, path),
                "{url}"
            );
            assert_eq!(u.host_header(), host_header, "{url}");
        }
    }

    #[test]
    fn bad_urls() {
        let cases = [
            ("http://example.com", UrlError::BadScheme),
            ("example.com", UrlError::BadScheme),
            ("ws:example.com", UrlError::BadScheme),
            ("wss//example.com", UrlError::BadScheme),
            ("ws://", UrlError::MissingHost),
            ("ws:///path", UrlError::MissingHost),
            ("ws://:80/", UrlError::MissingHost),
            ("ws://h:/", UrlError::BadPort),
            ("ws://h:0/", UrlError::BadPort),
            ("ws://h:65536/", UrlError::BadPort),
            ("ws://h:123456/", UrlError::BadPort),
            ("ws://h:8a/", UrlError::BadPort),
            ("ws://h:-1/", UrlError::BadPort),
            ("ws://h/#frag", UrlError::FragmentNotAllowed),
            ("ws://h#", UrlError::FragmentNotAllowed),
            ("ws://user:pw@h/", UrlError::UserInfoNotAllowed),
            ("ws://[::1/", UrlError::BadHost),
            ("ws://[::1]x/", UrlError::BadHost),
            ("ws://[host]/", UrlError::BadHost),
            ("ws://a b/", UrlError::BadHost),
            ("ws://h\r\n/", UrlError::BadHost),
            ("ws://h/a b", UrlError::InvalidCharacter),
            ("ws://h/a\r\nX: y", UrlError::InvalidCharacter),
            ("ws://h/caf\u{e9}", UrlError::InvalidCharacter),
        ];
        for (url, err) in cases {
            assert_eq!(WsUrl::parse(url), Err(err), "{url:?}");
        }
    }
}
