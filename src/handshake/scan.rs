//! Finding the end of an HTTP head in a growing buffer, in linear time.
//!
//! The owner of the connection appends bytes to one buffer and asks again
//! each time. Re-parsing the whole buffer on every call is quadratic in the
//! number of calls (tungstenite's CVE-2023-43669); instead [`HeadScanner`]
//! remembers how far it has looked and where in a possible line break it
//! stopped, so each byte is examined once. The HTTP parser runs once, when
//! the blank line that ends the head has been seen.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::HandshakeLimits;
use super::error::HandshakeError;

/// Where the scanner is relative to the line structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first line: empty lines here are skipped (as httparse does).
    Leading,
    /// Inside a line.
    Line,
    /// Just after a `\n`: a line starts here.
    LineStart,
    /// A line started with `\r`: a `\n` now ends the head.
    LineStartCr,
}

/// Incremental search for the blank line (`\r\n\r\n`, or bare `\n` line ends
/// as httparse also accepts) that ends an HTTP head.
#[derive(Clone, Debug)]
pub(crate) struct HeadScanner {
    /// How many bytes of the buffer have been examined.
    pos: usize,
    state: State,
    /// Length of the head once found.
    end: Option<usize>,
    /// Bytes examined over all calls, counted apart from `pos` so that a
    /// scanner restarting from 0 would show in the linearity tests.
    #[cfg(test)]
    work: usize,
}

impl Default for HeadScanner {
    fn default() -> Self {
        Self {
            pos: 0,
            state: State::Leading,
            end: None,
            #[cfg(test)]
            work: 0,
        }
    }
}

impl HeadScanner {
    /// Looks at the bytes of `buf` not seen yet. `Ok(Some(n))`: the head is
    /// `buf[..n]`; `Ok(None)`: more bytes are needed.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::TooLarge`] once `max_bytes` bytes have been seen
    /// without the end of the head.
    pub(crate) fn scan(
        &mut self,
        buf: &[u8],
        max_bytes: usize,
    ) -> Result<Option<usize>, HandshakeError> {
        if let Some(end) = self.end {
            return Ok(Some(end));
        }
        let limit = buf.len().min(max_bytes);
        while self.pos < limit {
            let b = buf[self.pos];
            self.pos += 1;
            #[cfg(test)]
            {
                self.work += 1;
            }
            self.state = match (self.state, b) {
                (State::Leading, b'\r' | b'\n') => State::Leading,
                (State::LineStart | State::LineStartCr, b'\n') => {
                    self.end = Some(self.pos);
                    return Ok(self.end);
                }
                (State::LineStart, b'\r') => State::LineStartCr,
                (_, b'\n') => State::LineStart,
                _ => State::Line,
            };
        }
        if self.pos >= max_bytes {
            return Err(HandshakeError::TooLarge);
        }
        Ok(None)
    }

    /// How many bytes have been examined in total, over all calls (for the
    /// linearity tests).
    #[cfg(test)]
    pub(crate) fn scanned(&self) -> usize {
        self.work
    }
}

/// Owned headers: names as sent, values as raw bytes.
pub(crate) type OwnedHeaders = Vec<(String, Vec<u8>)>;

/// A header array for httparse, big enough for `max_headers` and no bigger
/// than a head of `head_len` bytes can need (a header line takes at least
/// three bytes, `a:\n`), so that a large limit costs nothing on small input.
pub(crate) fn header_slots<'b>(
    limits: HandshakeLimits,
    head_len: usize,
) -> Vec<httparse::Header<'b>> {
    vec![httparse::EMPTY_HEADER; limits.max_headers.min(head_len / 3 + 1)]
}

/// Maps an httparse failure to ours.
pub(crate) fn map_httparse_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        _ => HandshakeError::Malformed,
    }
}

/// Checks httparse saw the same head length as the scanner, and copies the
/// headers out.
pub(crate) fn finish(
    status: httparse::Status<usize>,
    end: usize,
    headers: &[httparse::Header<'_>],
) -> Result<OwnedHeaders, HandshakeError> {
    match status {
        httparse::Status::Complete(n) if n == end => Ok(headers
            .iter()
            .map(|h| (String::from(h.name), Vec::from(h.value)))
            .collect()),
        // The scanner found a blank line that httparse does not take as the
        // end of the head (say, a stray `\r`): not a head we can use.
        _ => Err(HandshakeError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(input: &[u8], max: usize) -> Result<Option<usize>, HandshakeError> {
        HeadScanner::default().scan(input, max)
    }

    #[test]
    fn finds_the_blank_line() {
        assert_eq!(
            scan_all(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest", 100),
            Ok(Some(24))
        );
        assert_eq!(scan_all(b"GET / HTTP/1.1\nA: b\n\nrest", 100), Ok(Some(21)));
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nA: b\n\r\n", 100), Ok(Some(23)));
        assert_eq!(
            scan_all(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 100),
            Ok(Some(22))
        );
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nA: b\r\n\r", 100), Ok(None));
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nA: \rb\r\n", 100), Ok(None));
        assert_eq!(scan_all(b"", 100), Ok(None));
    }

    #[test]
    fn limit() {
        let head = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(scan_all(head, head.len()), Ok(Some(head.len())));
        assert_eq!(
            scan_all(head, head.len() - 1),
            Err(HandshakeError::TooLarge)
        );
        assert_eq!(scan_all(&head[..5], 5), Err(HandshakeError::TooLarge));
        assert_eq!(scan_all(&head[..5], 6), Ok(None));
    }

    #[test]
    fn each_byte_is_examined_once() {
        let mut input = Vec::from(&b"GET / HTTP/1.1\r\n"[..]);
        while input.len() < 8 * 1024 {
            input.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        input.extend_from_slice(b"\r\n");
        let mut s = HeadScanner::default();
        for n in 0..input.len() {
            assert_eq!(s.scan(&input[..n], usize::MAX), Ok(None));
            assert_eq!(s.scanned(), n, "rescanned at {n}");
        }
        assert_eq!(s.scan(&input, usize::MAX), Ok(Some(input.len())));
        assert_eq!(s.scanned(), input.len());
    }
}
