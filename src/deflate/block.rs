//! DEFLATE blocks ([RFC 1951 §3.2]): the symbols of one block and how they
//! are written (dynamic Huffman, fixed Huffman or stored, whichever is
//! shortest), least significant bit first.
//!
//! [RFC 1951 §3.2]: https://www.rfc-editor.org/rfc/rfc1951#section-3.2

use alloc::vec::Vec;

use super::huffman::{code_lengths, codes};

/// Bits waiting to be written whole bytes; kept across calls so a fragment
/// may end mid-byte.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Bits {
    acc: u64,
    n: u32,
}

impl Bits {
    /// Appends the low `n` (at most 32) bits of `value`.
    #[inline]
    pub(super) fn put(&mut self, out: &mut Vec<u8>, value: u32, n: u32) {
        debug_assert!(n <= 32 && (n == 32 || value >> n == 0));
        self.acc |= u64::from(value) << self.n;
        self.n += n;
        if self.n >= 32 {
            out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Writes out the pending bits, padding the last byte with zeros.
    pub(super) fn align(&mut self, out: &mut Vec<u8>) {
        while self.n > 0 {
            out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.acc = 0;
    }
}

/// One LZ77 symbol: a literal byte, or a match of `len` 3..=258 bytes at
/// `dist` 1..=32768, packed as `len << 16 | dist` (a literal has `len` 0).
pub(super) type Symbol = u32;

pub(super) const fn literal(byte: u8) -> Symbol {
    byte as u32
}

pub(super) const fn matched(len: usize, dist: usize) -> Symbol {
    ((len as u32) << 16) | dist as u32 | MATCH
}

pub(super) const MATCH: u32 = 1 << 31;

/// Length codes 257..=285: (first length, extra bits) per code.
pub(super) const LEN_BASE: [(u16, u8); 29] = [
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 1),
    (13, 1),
    (15, 1),
    (17, 1),
    (19, 2),
    (23, 2),
    (27, 2),
    (31, 2),
    (35, 3),
    (43, 3),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 4),
    (115, 4),
    (131, 5),
    (163, 5),
    (195, 5),
    (227, 5),
    (258, 0),
];

/// Distance codes 0..=29: (first distance, extra bits) per code.
pub(super) const DIST_BASE: [(u16, u8); 30] = [
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (5, 1),
    (7, 1),
    (9, 2),
    (13, 2),
    (17, 3),
    (25, 3),
    (33, 4),
    (49, 4),
    (65, 5),
    (97, 5),
    (129, 6),
    (193, 6),
    (257, 7),
    (385, 7),
    (513, 8),
    (769, 8),
    (1025, 9),
    (1537, 9),
    (2049, 10),
    (3073, 10),
    (4097, 11),
    (6145, 11),
    (8193, 12),
    (12289, 12),
    (16385, 13),
    (24577, 13),
];

/// Length code index (0..=28) per match length 0..=258 (3 and up used).
const LEN_CODE: [u8; 259] = {
    let mut table = [0u8; 259];
    let mut code = 0;
    while code < 29 {
        let (base, extra) = LEN_BASE[code];
        let mut len = base as usize;
        let end = if code == 28 {
            259
        } else {
            base as usize + (1 << extra)
        };
        while len < end && len < 259 {
            table[len] = code as u8;
            len += 1;
        }
        code += 1;
    }
    // 258 has its own code (28), not code 27's last value.
    table[258] = 28;
    table
};

/// Distance code index per distance: `[d - 1]` for d up to 256, then
/// `[256 + ((d - 1) >> 7)]` (every code from 16 up spans a multiple of 128).
const DIST_CODE: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut code = 0;
    while code < 30 {
        let (base, extra) = DIST_BASE[code];
        let mut d = base as usize;
        let end = base as usize + (1 << extra);
        while d < end {
            if d <= 256 {
                table[d - 1] = code as u8;
            } else {
                table[256 + ((d - 1) >> 7)] = code as u8;
            }
            d += 1;
        }
        code += 1;
    }
    table
};

#[inline]
pub(super) fn len_code(len: u32) -> usize {
    usize::from(LEN_CODE[len as usize])
}

#[inline]
pub(super) fn dist_code(dist: u32) -> usize {
    let d = dist as usize - 1;
    usize::from(if d < 256 {
        DIST_CODE[d]
    } else {
        DIST_CODE[256 + (d >> 7)]
    })
}

/// The order code length code lengths are sent in (RFC 1951 §3.2.7).
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The fixed code's literal/length code lengths (RFC 1951 §3.2.6).
const FIXED_LIT_LEN: [u8; 288] = {
    let mut t = [8u8; 288];
    let mut i = 144;
    while i < 256 {
        t[i] = 9;
        i += 1;
    }
    while i < 280 {
        t[i] = 7;
        i += 1;
    }
    t
};

/// Writes one non-final block holding `symbols`, which encode `raw` (the same
/// bytes, for a stored block), choosing the shortest of the three block types.
pub(super) fn write_block(symbols: &[Symbol], raw: &[u8], bits: &mut Bits, out: &mut Vec<u8>) {
    let mut lit_freq = [0u32; 286];
    let mut dist_freq = [0u32; 30];
    let mut extra_bits = 0u64;
    for &s in symbols {
        if s & MATCH == 0 {
            lit_freq[s as usize] += 1;
        } else {
            let lc = len_code((s >> 16) & 0x1ff);
            let dc = dist_code(s & 0xffff);
            lit_freq[257 + lc] += 1;
            dist_freq[dc] += 1;
            extra_bits += u64::from(LEN_BASE[lc].1) + u64::from(DIST_BASE[dc].1);
        }
    }
    lit_freq[256] = 1;

    let mut lit_len = [0u8; 286];
    let mut dist_len = [0u8; 30];
    code_lengths(&lit_freq, 15, &mut lit_len);
    code_lengths(&dist_freq, 15, &mut dist_len);
    let hlit = 257
        + lit_len[257..]
            .iter()
            .rposition(|&l| l != 0)
            .map_or(0, |p| p + 1);
    let hdist = 1 + dist_len.iter().rposition(|&l| l != 0).unwrap_or(0);

    // The code length sequence, run-length coded (RFC 1951 §3.2.7).
    let mut all = [0u8; 286 + 30];
    all[..hlit].copy_from_slice(&lit_len[..hlit]);
    all[hlit..hlit + hdist].copy_from_slice(&dist_len[..hdist]);
    let mut rle: Vec<(u8, u8)> = Vec::with_capacity(64);
    rle_lengths(&all[..hlit + hdist], &mut rle);
    let mut cl_freq = [0u32; 19];
    for &(sym, _) in &rle {
        cl_freq[usize::from(sym)] += 1;
    }
    let mut cl_len = [0u8; 19];
    code_lengths(&cl_freq, 7, &mut cl_len);
    let hclen = 4 + CL_ORDER[4..]
        .iter()
        .rposition(|&i| cl_len[i] != 0)
        .map_or(0, |p| p + 1);

    let header: u64 = 14
        + 3 * hclen as u64
        + rle
            .iter()
            .map(|&(sym, _)| u64::from(cl_len[usize::from(sym)]) + rle_extra(sym))
            .sum::<u64>();
    // Both Huffman costs in one pass over the frequencies.
    let (mut dynamic, mut fixed) = (3 + header + extra_bits, 3 + extra_bits);
    for (i, &f) in lit_freq.iter().enumerate() {
        dynamic += u64::from(f) * u64::from(lit_len[i]);
        fixed += u64::from(f) * u64::from(FIXED_LIT_LEN[i]);
    }
    for (i, &f) in dist_freq.iter().enumerate() {
        dynamic += u64::from(f) * u64::from(dist_len[i]);
        fixed += u64::from(f) * 5;
    }
    // Stored: a 3-bit header, up to 7 bits to align, 4 bytes per 65,535.
    let stored = 3 + 7 + 8 * (raw.len() as u64 + 5 * (raw.len() as u64 / 65_535 + 1));

    if stored < dynamic.min(fixed) {
        write_stored(raw, bits, out);
    } else if fixed <= dynamic {
        // All 288 lengths: codes 286 and 287 never occur but take their
        // place in the canonical order before the 9-bit codes.
        let dist_len = [5u8; 30];
        bits.put(out, 0b010, 3); // BFINAL 0, BTYPE 01
        write_symbols(symbols, &FIXED_LIT_LEN, &dist_len, bits, out);
    } else {
        bits.put(out, 0b100, 3); // BFINAL 0, BTYPE 10
        bits.put(out, (hlit - 257) as u32, 5);
        bits.put(out, (hdist - 1) as u32, 5);
        bits.put(out, (hclen - 4) as u32, 4);
        for &i in &CL_ORDER[..hclen] {
            bits.put(out, u32::from(cl_len[i]), 3);
        }
        let mut cl_code = [0u16; 19];
        codes(&cl_len, &mut cl_code);
        for &(sym, extra) in &rle {
            let s = usize::from(sym);
            bits.put(out, u32::from(cl_code[s]), u32::from(cl_len[s]));
            let n = rle_extra(sym) as u32;
            if n > 0 {
                bits.put(out, u32::from(extra), n);
            }
        }
        write_symbols(symbols, &lit_len, &dist_len, bits, out);
    }
}

/// Stored blocks (RFC 1951 §3.2.4) of at most 65,535 bytes each.
fn write_stored(raw: &[u8], bits: &mut Bits, out: &mut Vec<u8>) {
    let mut chunks = raw.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        return;
    }
    for chunk in chunks {
        bits.put(out, 0, 3); // BFINAL 0, BTYPE 00
        bits.align(out);
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
}

fn rle_extra(sym: u8) -> u64 {
    match sym {
        16 => 2,
        17 => 3,
        18 => 7,
        _ => 0,
    }
}

/// Code lengths as code-length-code symbols with their extra values: 16
/// repeats the previous length 3-6 times, 17 and 18 are runs of zeros.
fn rle_lengths(lengths: &[u8], rle: &mut Vec<(u8, u8)>) {
    let mut i = 0;
    while i < lengths.len() {
        let l = lengths[i];
        let run = lengths[i..].iter().take_while(|&&x| x == l).count();
        let mut left = run;
        if l == 0 {
            while left >= 11 {
                let n = left.min(138);
                rle.push((18, (n - 11) as u8));
                left -= n;
            }
            if left >= 3 {
                rle.push((17, (left - 3) as u8));
                left = 0;
            }
        } else {
            rle.push((l, 0));
            left -= 1;
            while left >= 3 {
                let n = left.min(6);
                rle.push((16, (n - 3) as u8));
                left -= n;
            }
        }
        for _ in 0..left {
            rle.push((l, 0));
        }
        i += run;
    }
}

fn write_symbols(
    symbols: &[Symbol],
    lit_len: &[u8],
    dist_len: &[u8],
    bits: &mut Bits,
    out: &mut Vec<u8>,
) {
    let mut lit_code = [0u16; 288];
    let mut dist_code_bits = [0u16; 30];
    codes(lit_len, &mut lit_code[..lit_len.len()]);
    codes(dist_len, &mut dist_code_bits);
    for &s in symbols {
        if s & MATCH == 0 {
            let i = s as usize;
            bits.put(out, u32::from(lit_code[i]), u32::from(lit_len[i]));
        } else {
            let len = (s >> 16) & 0x1ff;
            let dist = s & 0xffff;
            let lc = len_code(len);
            let (base, extra) = LEN_BASE[lc];
            bits.put(
                out,
                u32::from(lit_code[257 + lc]),
                u32::from(lit_len[257 + lc]),
            );
            bits.put(out, len - u32::from(base), u32::from(extra));
            let dc = dist_code(dist);
            let (base, extra) = DIST_BASE[dc];
            bits.put(out, u32::from(dist_code_bits[dc]), u32::from(dist_len[dc]));
            bits.put(out, dist - u32::from(base), u32::from(extra));
        }
    }
    bits.put(out, u32::from(lit_code[256]), u32::from(lit_len[256]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_distance_codes() {
        assert_eq!(len_code(3), 0);
        assert_eq!(len_code(10), 7);
        assert_eq!(len_code(11), 8);
        assert_eq!(len_code(12), 8);
        assert_eq!(len_code(257), 27);
        assert_eq!(len_code(258), 28);
        assert_eq!(dist_code(1), 0);
        assert_eq!(dist_code(4), 3);
        assert_eq!(dist_code(5), 4);
        assert_eq!(dist_code(6), 4);
        assert_eq!(dist_code(24_577), 29);
        assert_eq!(dist_code(32_768), 29);
    }

    #[test]
    fn tables_match_the_rfc_ranges() {
        for len in 3u32..=258 {
            let c = len_code(len);
            let (base, extra) = LEN_BASE[c];
            let top = if c == 28 {
                258
            } else {
                u32::from(base) + (1 << extra) - 1
            };
            assert!((u32::from(base)..=top).contains(&len), "length {len}");
        }
        for dist in 1u32..=32_768 {
            let (base, extra) = DIST_BASE[dist_code(dist)];
            let top = u32::from(base) + (1 << extra) - 1;
            assert!((u32::from(base)..=top).contains(&dist), "distance {dist}");
        }
    }

    #[test]
    fn rle_round_trips() {
        let lengths = [
            0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 3, 0, 0, 7,
        ];
        let mut rle = Vec::new();
        rle_lengths(&lengths, &mut rle);
        let mut back = Vec::new();
        for &(sym, extra) in &rle {
            match sym {
                16 => {
                    let last = *back.last().unwrap();
                    back.extend(core::iter::repeat_n(last, 3 + usize::from(extra)));
                }
                17 => back.extend(core::iter::repeat_n(0, 3 + usize::from(extra))),
                18 => back.extend(core::iter::repeat_n(0, 11 + usize::from(extra))),
                l => back.push(l),
            }
        }
        assert_eq!(back, lengths);
    }
}
