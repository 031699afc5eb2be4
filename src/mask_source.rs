//! Where a client's masking keys come from.
//!
//! RFC 6455 section 5.3: the masking key "MUST be derived from a strong source
//! of entropy". The core has no entropy of its own (no_std has none), so it is
//! injected; with the `std` feature, [`OsRandom`] is the default.

/// A source of masking keys for client frames.
pub trait MaskSource: Send {
    /// The next 4-byte masking key.
    fn next_mask(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskSource for F {
    fn next_mask(&mut self) -> [u8; 4] {
        self()
    }
}

/// Masking keys from the operating system's entropy (`getrandom`), fetched
/// 64 keys at a time so that a frame does not cost a system call.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct OsRandom {
    buf: [u8; 256],
    used: usize,
    /// Fallback state, only used if the OS refuses entropy after having given
    /// some: keys then come from a xorshift generator seeded by earlier entropy.
    fallback: u64,
}

#[cfg(feature = "std")]
impl OsRandom {
    /// A new source; entropy is fetched on first use.
    pub const fn new() -> Self {
        Self {
            buf: [0; 256],
            used: 256,
            fallback: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

#[cfg(feature = "std")]
impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl MaskSource for OsRandom {
    fn next_mask(&mut self) -> [u8; 4] {
        if self.used == self.buf.len() {
            if getrandom::fill(&mut self.buf).is_ok() {
                self.fallback ^= u64::from_ne_bytes([
                    self.buf[0],
                    self.buf[1],
                    self.buf[2],
                    self.buf[3],
                    self.buf[4],
                    self.buf[5],
                    self.buf[6],
                    self.buf[7],
                ]) | 1;
                self.used = 0;
            } else {
                let mut x = self.fallback;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                self.fallback = x;
                return (x as u32).to_ne_bytes();
            }
        }
        let key = [
            self.buf[self.used],
            self.buf[self.used + 1],
            self.buf[self.used + 2],
            self.buf[self.used + 3],
        ];
        self.used += 4;
        key
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn os_random_keys_differ() {
        let mut source = OsRandom::new();
        let keys: alloc::vec::Vec<[u8; 4]> = (0..200).map(|_| source.next_mask()).collect();
        let distinct: alloc::collections::BTreeSet<_> = keys.iter().collect();
        // 200 draws of 32 bits: a repeat is astronomically unlikely.
        assert_eq!(distinct.len(), keys.len());
    }
}
