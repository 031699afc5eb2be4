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
    mask_with(buf, key, offset, Path::Best);
}

/// Which loop masks whole 64-byte blocks. Only the tests pick
/// [`Baseline`](Path::Baseline), to hold both loops to the byte loop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    /// AVX2 when the CPU has it (x86_64 with `simd-mask`), else
    /// the baseline.
    Best,
    /// What the target's compile-time features give (SSE2 on x86_64).
    #[cfg_attr(not(test), allow(dead_code))]
    Baseline,
}

/// From this length on, whole 64-byte blocks go through [`mask_wide`]; below
/// it, eight bytes a step (which LLVM vectorizes too). Measured on an AVX2
/// machine, ns per call (8-byte steps / AVX2 blocks / SSE2 blocks): 128 B
/// 9.0 / 9.5 / 13.1, 256 B 10.1 / 10.5 / 14.3, 384 B 12.6 / 11.3 / 15.3,
/// 1 KiB 16.4 / 13.9 / 20.7, 4 KiB 54 / 27 / 54: AVX2 pays from 256–384 B on;
/// the SSE2 blocks never beat the steps there, kept as they were for targets
/// not measured.
const WIDE: usize = 256;

/// [`apply_mask`] with the block loop chosen by `path`.
#[inline(always)]
fn mask_with(buf: &mut [u8], key: [u8; 4], offset: usize, path: Path) {
    // The key as a little-endian word, turned to start at `offset`: byte i
    // of the word masks payload byte offset + i.
    let k = u32::from_le_bytes(key).rotate_right(8 * (offset & 3) as u32);
    let mut buf = buf;
    if buf.len() >= WIDE {
        buf = mask_wide(buf, k, path);
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
fn mask_wide(buf: &mut [u8], key: u32, path: Path) -> &mut [u8] {
    if path == Path::Best
        && let Some(avx2) = avx2()
    {
        // The same loop compiled a second time with AVX2 enabled (32-byte
        // registers: half the XORs, loads and stores per block), run only
        // on a CPU that was found to have it.
        return with_avx2(
            avx2,
            #[inline(always)]
            || mask_blocks(buf, key),
        );
    }
    mask_blocks(buf, key)
}

/// The block loop of [`mask_wide`], inlined into each of its instances.
#[inline(always)]
fn mask_blocks(buf: &mut [u8], key: u32) -> &mut [u8] {
    // The key over 16 bytes as one value (a register splat), not a 64-byte
    // array built byte by byte in memory: 64 one-byte stores read back as
    // vectors stalled on store forwarding (perf: a third of this
    // function's time at 1 KiB).
    let key16 = key16(key);
    let (chunks, tail) = buf.as_chunks_mut::<64>();
    for chunk in chunks {
        xor_block(chunk, &key16);
    }
    tail
}

/// XORs one 64-byte block with the 16-byte key, byte by byte four times:
/// the shape LLVM turns into full-width vector XORs (u128 words became
/// pairs of scalar 64-bit XORs to memory).
#[inline(always)]
fn xor_block(block: &mut [u8; 64], key16: &[u8; 16]) {
    for part in block.as_chunks_mut::<16>().0 {
        for (b, k) in part.iter_mut().zip(key16) {
            *b ^= k;
        }
    }
}

/// The key word (byte i masks byte i) repeated over 16 bytes.
#[inline(always)]
fn key16(key: u32) -> [u8; 16] {
    let k = key.to_le_bytes();
    [
        k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3], k[0], k[1], k[2],
        k[3],
    ]
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
    mask_into_with(dst, src, key, Path::Best);
}

/// From this length on, [`mask_into`] copies whole 64-byte blocks through
/// [`mask_into_wide`]. Measured as `WIDE`, ns per call (16-byte steps / AVX2
/// blocks / SSE2 blocks): 128 B 13.0 / 11.5 / 13.6, 256 B 16.5 / 12.6 / 15.3,
/// 1 KiB 30.6 / 15.9 / 22.7, 4 KiB 93 / 33 / 51: both block loops are ahead
/// from 256 B.
const WIDE_INTO: usize = 256;

/// [`mask_into`] with the block loop chosen by `path`.
#[inline(always)]
fn mask_into_with(dst: &mut [u8], src: &[u8], key: [u8; 4], path: Path) {
    debug_assert_eq!(dst.len(), src.len());
    let (mut dst, mut src) = (dst, src);
    if dst.len() >= WIDE_INTO {
        (dst, src) = mask_into_wide(dst, src, u32::from_le_bytes(key), path);
    }
    let wide = u128::from_le_bytes(key16(u32::from_le_bytes(key)));
    let (dst, dst_tail) = dst.as_chunks_mut::<16>();
    let (src, src_tail) = src.as_chunks::<16>();
    for (d, s) in dst.iter_mut().zip(src) {
        *d = (u128::from_le_bytes(*s) ^ wide).to_le_bytes();
    }
    for (i, (d, s)) in dst_tail.iter_mut().zip(src_tail).enumerate() {
        *d = s ^ key[i & 3];
    }
}

/// Copies and masks whole 64-byte blocks, returning the tails (under 64
/// bytes each), whose key phase is that of the start. Out of line, as
/// [`mask_wide`].
#[inline(never)]
fn mask_into_wide<'d, 's>(
    dst: &'d mut [u8],
    src: &'s [u8],
    key: u32,
    path: Path,
) -> (&'d mut [u8], &'s [u8]) {
    if path == Path::Best
        && let Some(avx2) = avx2()
    {
        return with_avx2(
            avx2,
            #[inline(always)]
            || copy_blocks(dst, src, key),
        );
    }
    copy_blocks(dst, src, key)
}

/// The block loop of [`mask_into_wide`], inlined into each of its instances.
#[inline(always)]
fn copy_blocks<'d, 's>(dst: &'d mut [u8], src: &'s [u8], key: u32) -> (&'d mut [u8], &'s [u8]) {
    let key16 = key16(key);
    let (dst, dst_tail) = dst.as_chunks_mut::<64>();
    let (src, src_tail) = src.as_chunks::<64>();
    for (d, s) in dst.iter_mut().zip(src) {
        // The block read into a value first: inlined into the AVX2 instance
        // through a closure, `dst` and `src` lose their no-alias marks, and
        // a loop reading `src` while writing `dst` stayed a byte loop.
        let mut block = *s;
        xor_block(&mut block, &key16);
        *d = block;
    }
    (dst_tail, src_tail)
}

/// Proof that this CPU runs AVX2 (x86-64-v3), from fearless_simd's run-time
/// detection: done once, after that one load of a cached value per call.
#[cfg(all(feature = "simd-mask", target_arch = "x86_64"))]
#[inline]
fn avx2() -> Option<fearless_simd::x86::Avx2> {
    fearless_simd::Level::new().as_avx2()
}

/// Without run-time detection there is nothing to prove.
#[cfg(not(all(feature = "simd-mask", target_arch = "x86_64")))]
#[inline]
fn avx2() -> Option<NoAvx2> {
    None
}

/// Stands for the AVX2 proof where there can be none.
#[cfg(not(all(feature = "simd-mask", target_arch = "x86_64")))]
enum NoAvx2 {}

/// Runs `f` compiled with AVX2 enabled (fearless_simd's `vectorize`: a
/// `#[target_feature]` function it calls, with the proof, for us).
#[cfg(all(feature = "simd-mask", target_arch = "x86_64"))]
#[inline(always)]
fn with_avx2<R>(avx2: fearless_simd::x86::Avx2, f: impl FnOnce() -> R) -> R {
    fearless_simd::Simd::vectorize(avx2, f)
}

/// Never called: there is no [`NoAvx2`] value.
#[cfg(not(all(feature = "simd-mask", target_arch = "x86_64")))]
#[inline(always)]
fn with_avx2<R>(avx2: NoAvx2, _f: impl FnOnce() -> R) -> R {
    match avx2 {}
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
        /// Both block loops (the run-time choice and the baseline) equal the
        /// naive byte loop for every length (past both wide thresholds),
        /// offset and alignment, masking in place and copying.
        #[test]
        fn fast_mask_equals_naive(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            key in any::<[u8; 4]>(),
            offset in 0usize..64,
            align in 0usize..64,
        ) {
            let mut expected = data.clone();
            naive(&mut expected, key, offset);
            let mut from_zero = data.clone();
            naive(&mut from_zero, key, 0);
            for path in [Path::Best, Path::Baseline] {
                let mut storage: Vec<u8> = alloc::vec![0; align];
                storage.extend_from_slice(&data);
                mask_with(&mut storage[align..], key, offset, path);
                prop_assert_eq!(&storage[align..], &expected[..], "{:?}", path);
                // The copying form, from payload byte 0, into a destination
                // aligned differently from the source.
                let mut copy = alloc::vec![0; data.len() + align];
                mask_into_with(&mut copy[align..], &data, key, path);
                prop_assert_eq!(&copy[align..], &from_zero[..], "{:?}", path);
            }
            let mut public = data.clone();
            apply_mask(&mut public, key, offset);
            prop_assert_eq!(public, expected);
            let mut copy = alloc::vec![0; data.len()];
            mask_into(&mut copy, &data, key);
            prop_assert_eq!(copy, from_zero);
        }
    }

    /// With `simd-mask` on x86_64, the AVX2 block loop is the one chosen on
    /// a CPU that has AVX2 (x86-64-v3), and never on one without.
    #[cfg(all(feature = "simd-mask", target_arch = "x86_64"))]
    #[test]
    fn avx2_chosen_when_the_cpu_has_it() {
        extern crate std;
        let v3 = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("movbe");
        assert_eq!(avx2().is_some(), v3);
        if std::is_x86_feature_detected!("avx2") {
            // Every x86-64 CPU with AVX2 that was ever sold has the rest of v3.
            assert!(avx2().is_some(), "AVX2 present but not chosen");
        }
    }

    /// Without run-time detection the baseline loop is all there is.
    #[cfg(not(all(feature = "simd-mask", target_arch = "x86_64")))]
    #[test]
    fn baseline_without_detection() {
        assert!(avx2().is_none());
    }
}
