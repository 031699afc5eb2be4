//! Payload masking (RFC 6455 section 5.3).

/// XORs `buf` with the 4-byte masking `key`, as if `buf` started at byte
/// `offset` of the payload.
///
/// Masking is its own inverse, so the same call masks and unmasks. The offset
/// lets a payload that arrives in pieces be unmasked piece by piece.
///
/// ```
/// use wsmachine::frame::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut whole = *b"Hello, world";
/// apply_mask(&mut whole, key, 0);
/// let mut pieces = *b"Hello, world";
/// let (a, b) = pieces.split_at_mut(5);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 5);
/// assert_eq!(whole, pieces);
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as a little-endian word, turned to start at `offset`: byte i
    // of the word masks payload byte offset + i.
    let k = u32::from_le_bytes(key).rotate_right(8 * (offset & 3) as u32);
    let mut buf = buf;
    if buf.len() >= 256 {
        buf = mask_wide(buf, k);
    }
    // Eight bytes a step, then bytes: each step starts at a multiple of 8,
    // a multiple of the key period, so the key phase never changes.
    let k8 = u64::from(k) * 0x1_0000_0001;
    let (words, tail) = buf.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_le_bytes(*word) ^ k8).to_le_bytes();
    }
    let key = k.to_le_bytes();
    for (i, byte) in tail.iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// Masks whole 64-byte blocks, returning the tail (under 64 bytes), whose
/// key phase is that of the start. Out of line, so that the short path
/// stays small enough to inline.
#[inline(never)]
fn mask_wide(buf: &mut [u8], key: u32) -> &mut [u8] {
    // The key over 16 bytes as one value (a register splat), not a 64-byte
    // array built byte by byte in memory: 64 one-byte stores read back as
    // vectors stalled on store forwarding (perf: a third of this
    // function's time at 1 KiB).
    let k = key.to_le_bytes();
    let key16 = [
        k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3], k[0], k[1], k[2],
        k[3],
    ];
    let (chunks, tail) = buf.as_chunks_mut::<64>();
    for chunk in chunks {
        // Byte by byte against a 16-byte key, four times a block: the shape
        // LLVM turns into full-width vector XORs (u128 words became pairs
        // of scalar 64-bit XORs to memory).
        for part in chunk.as_chunks_mut::<16>().0 {
            for (b, k) in part.iter_mut().zip(&key16) {
                *b ^= k;
            }
        }
    }
    tail
}

/// Writes `src` masked with `key` (from payload byte 0) into `dst`, which
/// must be exactly as long: one pass that copies and XORs, for a sender that
/// would otherwise copy the payload and then mask the copy.
///
/// ```
/// use wsmachine::frame::{apply_mask, mask_into};
/// let mut copy = [0u8; 5];
/// mask_into(&mut copy, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
/// let mut in_place = *b"Hello";
/// apply_mask(&mut in_place, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(copy, in_place);
/// ```
#[inline]
pub fn mask_into(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    debug_assert_eq!(dst.len(), src.len());
    let wide = wide_key(key);
    let (dst, dst_tail) = dst.as_chunks_mut::<16>();
    let (src, src_tail) = src.as_chunks::<16>();
    for (d, s) in dst.iter_mut().zip(src) {
        *d = (u128::from_ne_bytes(*s) ^ wide).to_ne_bytes();
    }
    for (i, (d, s)) in dst_tail.iter_mut().zip(src_tail).enumerate() {
        *d = s ^ key[i & 3];
    }
}

/// The key repeated over 16 bytes. Word at a time: 16-byte chunks XORed with
/// it compile to vector instructions; the key period (4) divides the chunk
/// size, so the key phase is the same at every chunk boundary.
#[inline]
fn wide_key(key: [u8; 4]) -> u128 {
    u128::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3], key[0], key[1], key[2],
        key[3], key[0], key[1], key[2], key[3],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Fast mask equals the naive byte loop for every length, offset and alignment.
        #[test]
        fn fast_mask_equals_naive(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            key in any::<[u8; 4]>(),
            offset in 0usize..64,
            align in 0usize..16,
        ) {
            let mut storage: Vec<u8> = alloc::vec![0; align];
            storage.extend_from_slice(&data);
            let mut expected = data.clone();
            naive(&mut expected, key, offset);
            apply_mask(&mut storage[align..], key, offset);
            prop_assert_eq!(&storage[align..], &expected[..]);
            // The copying form, from payload byte 0.
            let mut from_zero = data.clone();
            naive(&mut from_zero, key, 0);
            let mut copy = alloc::vec![0; data.len()];
            mask_into(&mut copy, &data, key);
            prop_assert_eq!(copy, from_zero);
        }
    }
}
