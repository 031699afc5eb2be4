//! Bit costs of LZ77 symbols under the Huffman code a block's symbols would
//! get, for the cost-based parse of levels 6 and up
//! ([`lz77`](super::lz77)): the price of a literal, of a match length and of
//! a distance, extra bits included.

use super::block::{DIST_BASE, LEN_BASE, MATCH, Symbol, dist_code, len_code};
use super::huffman::code_lengths;

/// What a symbol absent from the statistics is taken to cost: longer than
/// any code it would likely get, so the parse does not lean on it.
const UNSEEN: u32 = 14;

/// Bits per literal byte, match length and distance code.
pub(super) struct Costs {
    literal: [u32; 256],
    /// Indexed by match length (3..=258), extra bits included.
    length: [u32; 259],
    /// Indexed by distance code, extra bits included.
    distance: [u32; 30],
}

impl Costs {
    /// The costs under the code lengths `symbols` would get (as
    /// [`write_block`](super::block::write_block) would choose them).
    pub(super) fn of(symbols: &[Symbol]) -> Self {
        let mut lit_freq = [0u32; 286];
        let mut dist_freq = [0u32; 30];
        for &s in symbols {
            if s & MATCH == 0 {
                lit_freq[s as usize] += 1;
            } else {
                lit_freq[257 + len_code((s >> 16) & 0x1ff)] += 1;
                dist_freq[dist_code(s & 0xffff)] += 1;
            }
        }
        lit_freq[256] = 1;
        let mut lit_len = [0u8; 286];
        let mut dist_len = [0u8; 30];
        code_lengths(&lit_freq, 15, &mut lit_len);
        code_lengths(&dist_freq, 15, &mut dist_len);
        let bits = |len: u8| if len == 0 { UNSEEN } else { u32::from(len) };
        let mut costs = Self {
            literal: [0; 256],
            length: [0; 259],
            distance: [0; 30],
        };
        for (cost, &len) in costs.literal.iter_mut().zip(&lit_len[..256]) {
            *cost = bits(len);
        }
        for len in 3..=258u32 {
            let code = len_code(len);
            costs.length[len as usize] = bits(lit_len[257 + code]) + u32::from(LEN_BASE[code].1);
        }
        for (code, cost) in costs.distance.iter_mut().enumerate() {
            *cost = bits(dist_len[code]) + u32::from(DIST_BASE[code].1);
        }
        costs
    }

    /// A literal byte.
    #[inline]
    pub(super) fn literal(&self, byte: u8) -> u32 {
        self.literal[usize::from(byte)]
    }

    /// A match length (3..=258), without its distance.
    #[inline]
    pub(super) fn length(&self, len: usize) -> u32 {
        self.length[len]
    }

    /// The costs of the match lengths in `range` (within 3..=258).
    #[inline]
    pub(super) fn lengths(&self, range: core::ops::Range<usize>) -> &[u32] {
        &self.length[range]
    }

    /// A match distance (1..=32768).
    #[inline]
    pub(super) fn distance(&self, dist: usize) -> u32 {
        self.distance[dist_code(dist as u32)]
    }
}
