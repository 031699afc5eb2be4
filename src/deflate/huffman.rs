//! Length-limited Huffman codes for the compressor ([RFC 1951 §3.2.2]).
//!
//! [RFC 1951 §3.2.2]: https://www.rfc-editor.org/rfc/rfc1951#section-3.2.2

use alloc::vec::Vec;

/// Code lengths (0 = unused) for symbols with the given frequencies, none
/// longer than `limit` bits, and at least two symbols coded so that every
/// inflater accepts the code (a one-symbol code is incomplete).
///
/// A plain Huffman tree first (two queues over the symbols sorted by
/// frequency), then, if it is deeper than `limit`, the lengths are pushed
/// under the limit by keeping the Kraft sum exact and handing the shortest
/// lengths to the most frequent symbols again.
pub(super) fn code_lengths(freqs: &[u32], limit: u8, lengths: &mut [u8]) {
    debug_assert_eq!(freqs.len(), lengths.len());
    lengths.fill(0);
    let mut symbols: Vec<u16> = Vec::with_capacity(freqs.len());
    symbols.extend((0..freqs.len() as u16).filter(|&s| freqs[usize::from(s)] != 0));
    // A DEFLATE code needs two symbols (RFC 1951 allows one distance code,
    // but not every inflater takes a one-symbol literal code): pad with
    // unused symbols, which then cost a code length and nothing else.
    let mut pad = 0u16;
    while symbols.len() < 2 {
        if !symbols.contains(&pad) {
            symbols.push(pad);
        }
        pad += 1;
    }
    symbols.sort_unstable_by_key(|&s| (freqs[usize::from(s)], s));
    let n = symbols.len();

    // Two queues: leaves in frequency order, then internal nodes, which are
    // created in non-decreasing weight order. up[] links every node to its
    // parent (sums of block frequencies fit in u32: a block has at most
    // 16,385 symbols).
    let mut weight: Vec<u32> = Vec::with_capacity(2 * n - 1);
    weight.extend(symbols.iter().map(|&s| freqs[usize::from(s)].max(1)));
    let mut up: Vec<u32> = alloc::vec![0; 2 * n - 1];
    let (mut leaf, mut inner) = (0usize, n);
    let pick = |weight: &[u32], leaf: &mut usize, inner: &mut usize| {
        if *leaf < n && (*inner >= weight.len() || weight[*leaf] <= weight[*inner]) {
            *leaf += 1;
            *leaf - 1
        } else {
            *inner += 1;
            *inner - 1
        }
    };
    while weight.len() < 2 * n - 1 {
        let a = pick(&weight, &mut leaf, &mut inner);
        let b = pick(&weight, &mut leaf, &mut inner);
        let node = weight.len() as u32;
        weight.push(weight[a] + weight[b]);
        up[a] = node;
        up[b] = node;
    }
    // Depths from the root (the last node) down, in place: parents come
    // after their children, so a parent's entry is already its depth.
    up[2 * n - 2] = 0;
    for node in (0..2 * n - 2).rev() {
        up[node] = up[up[node] as usize] + 1;
    }
    let depth = &up;

    let mut count = [0u32; 64];
    for &d in &depth[..n] {
        count[(d as usize).min(63)] += 1;
    }
    limit_lengths(&mut count, usize::from(limit));
    // The most frequent symbols (the end of `symbols`) take the shortest codes.
    let mut sym = symbols.iter().rev();
    for (len, &c) in count
        .iter()
        .enumerate()
        .take(usize::from(limit) + 1)
        .skip(1)
    {
        for _ in 0..c {
            if let Some(&s) = sym.next() {
                lengths[usize::from(s)] = len as u8;
            }
        }
    }
}

/// Moves the lengths counted in `count` to at most `limit`, keeping the code
/// complete (Kraft sum exactly one).
fn limit_lengths(count: &mut [u32; 64], limit: usize) {
    let over: u32 = count[limit + 1..].iter().sum();
    if over == 0 {
        return;
    }
    count[limit] += over;
    count[limit + 1..].fill(0);
    let mut kraft: u64 = (1..=limit)
        .map(|l| u64::from(count[l]) << (limit - l))
        .sum();
    while kraft > 1 << limit {
        // Take one code of the longest length away, and split a shorter one
        // into two one bit longer: net one unit of 2^-limit less.
        count[limit] -= 1;
        if let Some(l) = (1..limit).rev().find(|&l| count[l] != 0) {
            count[l] -= 1;
            count[l + 1] += 2;
        }
        kraft -= 1;
    }
}

/// Canonical codes for `lengths` (RFC 1951 §3.2.2), bit-reversed so they can
/// be written least significant bit first.
pub(super) fn codes(lengths: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    for (i, &l) in lengths.iter().enumerate() {
        if l != 0 {
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            codes[i] = c.reverse_bits() >> (16 - l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kraft(lengths: &[u8], limit: u8) -> u64 {
        lengths
            .iter()
            .filter(|&&l| l != 0)
            .map(|&l| 1u64 << (limit - l))
            .sum()
    }

    #[test]
    fn complete_and_limited() {
        // Fibonacci frequencies make the deepest possible tree.
        let mut freqs = [0u32; 30];
        let (mut a, mut b) = (1u32, 1u32);
        for f in &mut freqs {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        for limit in [7u8, 15] {
            let mut lengths = [0u8; 30];
            code_lengths(&freqs, limit, &mut lengths);
            assert!(lengths.iter().all(|&l| (1..=limit).contains(&l)));
            assert_eq!(kraft(&lengths, limit), 1 << limit, "complete code");
            // More frequent never longer.
            for i in 1..30 {
                assert!(lengths[i] <= lengths[i - 1]);
            }
        }
    }

    #[test]
    fn one_symbol_gets_a_partner() {
        let mut freqs = [0u32; 19];
        freqs[5] = 10;
        let mut lengths = [0u8; 19];
        code_lengths(&freqs, 7, &mut lengths);
        assert_eq!(lengths[5], 1);
        assert_eq!(lengths.iter().filter(|&&l| l == 1).count(), 2);
    }

    #[test]
    fn canonical_codes_rfc_1951_example() {
        // RFC 1951 §3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give
        // F=00, A=010 ... H=1111.
        let lengths = [3u8, 3, 3, 3, 3, 2, 4, 4];
        let mut c = [0u16; 8];
        codes(&lengths, &mut c);
        let msb = |code: u16, len: u8| code.reverse_bits() >> (16 - len);
        assert_eq!(msb(c[5], 2), 0b00);
        assert_eq!(msb(c[0], 3), 0b010);
        assert_eq!(msb(c[4], 3), 0b110);
        assert_eq!(msb(c[6], 4), 0b1110);
        assert_eq!(msb(c[7], 4), 0b1111);
    }
}
