//! Incremental UTF-8 validation across frame and fragment boundaries.
//!
//! RFC 6455 section 8.1: "When an endpoint is to interpret a byte stream as
//! UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream,
//! that endpoint MUST _Fail the WebSocket Connection_." The validator fails as
//! soon as the bytes seen so far cannot be the start of valid UTF-8, which is
//! what Autobahn's "fail fast" cases (6.4.*) check, even in the middle of a
//! frame.

use core::fmt;

/// Bytes that are not, and cannot become, valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl core::error::Error for Utf8Error {}

/// Validates a byte stream fed in arbitrary pieces.
///
/// ```
/// use wsmachine::utf8::Utf8Validator;
/// let mut v = Utf8Validator::new();
/// let euro = "€".as_bytes(); // e2 82 ac
/// assert!(v.feed(&euro[..1]).is_ok());
/// assert!(!v.is_complete()); // a character is open
/// assert!(v.feed(&euro[1..]).is_ok());
/// assert!(v.is_complete());
/// assert!(v.feed(&[0xC0]).is_err()); // can never start valid UTF-8
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    /// The bytes of an unfinished character (at most 3 are ever kept).
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub const fn new() -> Self {
        Self {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// Validates the next piece of the stream. Fails at the first byte that
    /// makes the stream invalid, however the stream was split.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        if self.pending_len > 0 {
            let have = usize::from(self.pending_len);
            let want = sequence_len(self.pending[0]);
            let take = (want - have).min(bytes.len());
            self.pending[have..have + take].copy_from_slice(&bytes[..take]);
            let filled = have + take;
            match core::str::from_utf8(&self.pending[..filled]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix: `bytes` was used up.
                    self.pending_len = filled as u8;
                    return Ok(());
                }
                Err(_) => return Err(Utf8Error),
            }
            bytes = &bytes[take..];
        }
        match check(bytes) {
            Ok(()) => Ok(()),
            // `error_len() == None`: the input ends inside a character whose
            // bytes so far are a valid prefix; keep them for the next piece.
            Err((valid_up_to, None)) => {
                let tail = &bytes[valid_up_to..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(Utf8Error),
        }
    }

    /// Whether the stream so far ends on a character boundary (a message can
    /// end here).
    pub const fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Forgets any unfinished character, for the start of a new message.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }
}

/// `core::str::from_utf8`'s verdict (with the same error positions), by
/// simdutf8 when the `simd-utf8` feature is on.
#[inline]
fn check(bytes: &[u8]) -> Result<(), (usize, Option<usize>)> {
    #[cfg(feature = "simd-utf8")]
    {
        // A piece of a message that spans reads usually ends inside a
        // character (non-ASCII text nearly always). `basic` rejects such a
        // piece, and `compat` would then run over it all a second time just
        // to say "incomplete": check the whole characters, then the
        // held-back tail (at most three bytes) on its own. `compat` is left
        // for the invalid case, where the error position matters.
        let whole = bytes.len() - incomplete_tail(bytes);
        if simdutf8::basic::from_utf8(&bytes[..whole]).is_ok() {
            let tail = &bytes[whole..];
            if tail.is_empty() {
                return Ok(());
            }
            if is_char_prefix(tail) {
                return Err((whole, None));
            }
        }
        simdutf8::compat::from_utf8(bytes)
            .map(|_| ())
            .map_err(|e| (e.valid_up_to(), e.error_len()))
    }
    #[cfg(not(feature = "simd-utf8"))]
    core::str::from_utf8(bytes)
        .map(|_| ())
        .map_err(|e| (e.valid_up_to(), e.error_len()))
}

/// Validates a whole payload and returns it as text.
#[inline]
pub(crate) fn to_str(bytes: &[u8]) -> Result<&str, Utf8Error> {
    #[cfg(feature = "simd-utf8")]
    return simdutf8::basic::from_utf8(bytes).map_err(|_| Utf8Error);
    #[cfg(not(feature = "simd-utf8"))]
    core::str::from_utf8(bytes).map_err(|_| Utf8Error)
}

/// How many bytes at the end of `bytes` start a character that is not
/// complete yet (0 to 3): the part a streamed text chunk holds back for the
/// next one. Looks at the last three bytes only (no validation: the bytes
/// before, and these once complete, are validated where they are handed out).
pub(crate) fn incomplete_tail(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(3) {
        let byte = bytes[n - back];
        match byte {
            // A continuation byte: the lead is further back.
            0x80..=0xBF => {}
            // A lead byte: held back if its sequence is longer than what is here.
            0xC0..=0xF7 => return if sequence_len(byte) > back { back } else { 0 },
            // ASCII, or a byte that never starts a character: nothing to hold.
            _ => return 0,
        }
    }
    0
}

/// Whether `bytes` (at most 3) can begin a valid character: held-back bytes
/// are checked at once, so that invalid text fails as soon as it arrives.
pub(crate) fn is_char_prefix(bytes: &[u8]) -> bool {
    match core::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The length of the sequence a lead byte starts. Only called on the first
/// byte of a valid prefix, so it is a lead byte of a 2-, 3- or 4-byte sequence.
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Index of the first byte after which no continuation can make the
    /// prefix valid; `None` if valid, `Some(len)` if merely incomplete.
    fn first_impossible(bytes: &[u8]) -> Option<usize> {
        (1..=bytes.len()).find(|&n| match core::str::from_utf8(&bytes[..n]) {
            Ok(_) => false,
            Err(e) => e.error_len().is_some(),
        })
    }

    fn feed_split(bytes: &[u8], cuts: &[usize]) -> Result<bool, usize> {
        let mut v = Utf8Validator::new();
        let mut at = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        for p in points {
            if v.feed(&bytes[at..p]).is_err() {
                return Err(p);
            }
            at = p;
        }
        Ok(v.is_complete())
    }

    #[test]
    fn incomplete_tails() {
        let euro = "€".as_bytes();
        let clef = "𝄞".as_bytes();
        assert_eq!(incomplete_tail(b""), 0);
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail(euro), 0);
        assert_eq!(incomplete_tail(&euro[..1]), 1);
        assert_eq!(incomplete_tail(&euro[..2]), 2);
        assert_eq!(incomplete_tail(&clef[..3]), 3);
        assert_eq!(incomplete_tail(clef), 0);
        assert_eq!(incomplete_tail(&[b'a', 0x80]), 0); // invalid, left to the check
        assert!(is_char_prefix(&clef[..3]));
        assert!(!is_char_prefix(&[0xC0]));
        assert!(!is_char_prefix(&[0xE0, 0x80]));
        assert!(!is_char_prefix(&[0xF4, 0x90]));
    }

    #[test]
    fn surrogates_and_overlongs_fail_immediately() {
        for bad in [
            &[0xED, 0xA0][..],
            &[0xC0],
            &[0xE0, 0x80],
            &[0xF4, 0x90],
            &[0xF5],
            &[0x80],
        ] {
            let mut v = Utf8Validator::new();
            let mut failed = false;
            for b in bad {
                failed |= v.feed(core::slice::from_ref(b)).is_err();
            }
            assert!(failed, "{bad:x?}");
        }
    }

    /// One piece that ends inside a character: valid text before it and a
    /// valid prefix keep the prefix; an invalid byte anywhere, or a tail
    /// that cannot begin a character, fails in this piece.
    #[test]
    fn a_piece_ending_inside_a_character() {
        let euro = "€".as_bytes();
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[b'a', euro[0], euro[1]]).is_ok());
        assert!(!v.is_complete());
        assert!(v.feed(&euro[2..]).is_ok());
        assert!(v.is_complete());
        for bad in [
            &[b'a', 0xE0, 0x80][..],   // overlong lead pair as the tail
            &[b'a', 0xED, 0xA0],       // surrogate as the tail
            &[0xFF, euro[0], euro[1]], // invalid before a valid tail
            &[b'a', 0xF5, 0x80],       // a lead that never starts a character
        ] {
            assert!(Utf8Validator::new().feed(bad).is_err(), "{bad:x?}");
        }
    }

    fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..40),
            (any::<String>(), any::<u8>(), any::<String>()).prop_map(|(a, b, c)| {
                let mut v = a.into_bytes();
                v.push(b);
                v.extend_from_slice(c.as_bytes());
                v
            }),
        ]
    }
    use alloc::string::String;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        /// Agrees with core::str::from_utf8 for every split, and fails exactly
        /// in the piece holding the first impossible byte.
        #[test]
        fn agrees_with_core(bytes in utf8ish(), cuts in proptest::collection::vec(any::<usize>(), 0..6)) {
            let result = feed_split(&bytes, &cuts);
            match (core::str::from_utf8(&bytes), first_impossible(&bytes)) {
                (Ok(_), _) => prop_assert_eq!(result, Ok(true)),
                (Err(_), None) => prop_assert_eq!(result, Ok(false)),
                (Err(_), Some(bad)) => {
                    let Err(failed_at_end_of_piece) = result else {
                        return Err(TestCaseError::fail("accepted invalid UTF-8"));
                    };
                    // The piece that failed is the first one that reached the bad byte.
                    prop_assert!(failed_at_end_of_piece >= bad);
                    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
                    points.push(bytes.len());
                    let first_reaching = points.iter().copied().filter(|&p| p >= bad).min().unwrap();
                    prop_assert_eq!(failed_at_end_of_piece, first_reaching);
                }
            }
        }
    }
}
