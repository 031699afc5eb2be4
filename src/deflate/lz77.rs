//! The LZ77 half of the compressor: finds repeats within a window sized from
//! the negotiated window bits and the memory preset, and hands the symbols to
//! [`block`](super::block) in blocks.
//!
//! Positions are stored as the low 16 bits of a running byte count. A stored
//! position older than 64 KiB can alias a recent one, but every candidate is
//! checked against the bytes themselves and against the window and the
//! history actually held, so aliasing costs ratio, never correctness. The same
//! argument makes a table shared by several connections safe (see
//! [`shared`](super::shared)): another stream's positions are either out of
//! reach or checked byte for byte like any other candidate.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::block::{Bits, Symbol, literal, matched, write_block};
use super::cost::Costs;

const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// A three-byte match farther back than this costs about as many bits as
/// its three literals (a 13-bit-extra distance code), and taking it ends
/// the search for a literal run that may start a longer match (zlib's
/// `TOO_FAR`).
const TOO_FAR: usize = 4096;
/// Marks a match the cost-based parse takes as found (at least `nice` long).
const FORCED: u16 = 1 << 15;
/// The cost-based parse searches the first bytes of a match with the full
/// chain (a longer match starting there is what lazy evaluation looks one
/// byte ahead for), and the later ones with [`INSIDE_CHAIN`] candidates:
/// the rest of the match they are in comes first on their chain anyway.
const SEARCHED_INSIDE: usize = 3;
/// Candidates tried at the later positions of a match (cost-based parse).
const INSIDE_CHAIN: u16 = 8;
/// Symbols per block: enough to amortise a dynamic header, few enough that
/// the code adapts to the data and the symbol buffer stays small (64 KiB).
const BLOCK_SYMBOLS: usize = 16 * 1024;
/// Input bytes copied beside the history per step, bounding the working
/// buffer of one call to the window plus this.
const CHUNK: usize = 64 * 1024;

/// How hard to search, from the compression level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tuning {
    /// Candidates tried per position (1: the hash head only, no chain table).
    chain: u16,
    /// Look one byte ahead for a longer match before taking one (zlib's lazy
    /// evaluation), for matches shorter than this.
    lazy_below: u16,
    /// Stop searching once a match is this long.
    nice: u16,
    /// Add the positions inside a match to the hash for matches up to this
    /// long (longer ones are skipped to keep long repeats cheap).
    insert_below: u16,
    /// Choose between the matches found at every position by their bit cost
    /// (the cost-based parse) instead of greedily or one byte ahead.
    optimal: bool,
}

impl Tuning {
    pub(super) const fn for_level(level: u8) -> Self {
        let (chain, lazy_below, nice, insert_below, optimal) = match level {
            0 | 1 => (1, 0, 32, 4, false),
            2 => (4, 0, 32, 64, false),
            3 => (8, 0, 64, 258, false),
            4 => (16, 16, 64, 258, false),
            5 => (32, 16, 128, 258, false),
            6 => (128, 32, 128, 258, false),
            // The cost-based parse: a better ratio within the same window
            // (on the README's JSON-like corpus 4 % smaller than level 6,
            // within 2.5 % of miniz_oxide's level 6 with its 32 KiB
            // window) at about a fifth of level 6's speed.
            7 => (64, 0, 64, 258, true),
            8 => (128, 0, 128, 258, true),
            _ => (1024, 0, 258, 258, true),
        };
        Self {
            chain,
            lazy_below,
            nice,
            insert_below,
            optimal,
        }
    }

    /// Whether this tuning follows hash chains (and so needs the chain table).
    pub(super) const fn chains(self) -> bool {
        self.chain > 1
    }
}

/// The sizes of a match finder: what its memory is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    /// log2 of the window the compressor refers back to.
    pub(super) window_bits: u8,
    /// log2 of the hash table's entries.
    pub(super) hash_bits: u8,
    /// With a chain table (one entry per window byte).
    pub(super) chains: bool,
}

impl Shape {
    /// Heap bytes a [`Matcher`] of this shape holds (box, history, tables).
    pub(super) const fn heap_bytes(self) -> usize {
        let window = 1usize << self.window_bits;
        let chain = if self.chains { 2 * window } else { 0 };
        core::mem::size_of::<Matcher>() + window + (2usize << self.hash_bits) + chain
    }
}

/// The compressor's memory: history (context takeover), hash heads, chains.
pub(super) struct Matcher {
    shape: Shape,
    /// The last bytes fed, at most one window (empty between messages
    /// without context takeover).
    hist: Vec<u8>,
    head: Box<[u16]>,
    prev: Box<[u16]>,
    /// Bytes fed since creation (wrapping); the low 16 bits are positions.
    pos: u32,
}

impl Matcher {
    pub(super) fn new(shape: Shape) -> Box<Self> {
        let window = 1usize << shape.window_bits;
        Box::new(Self {
            shape,
            hist: Vec::with_capacity(window),
            head: vec![0; 1 << shape.hash_bits].into_boxed_slice(),
            prev: vec![0; if shape.chains { window } else { 0 }].into_boxed_slice(),
            pos: 0,
        })
    }

    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(super) const fn shape(&self) -> Shape {
        self.shape
    }

    /// Forgets the history: the next byte refers to nothing before it.
    pub(super) fn forget(&mut self) {
        self.hist.clear();
    }

    /// Compresses `input` into non-final blocks appended to `out`, with the
    /// history as the window's start, and keeps the window's end as history.
    pub(super) fn compress(
        &mut self,
        mut input: &[u8],
        tuning: Tuning,
        bits: &mut Bits,
        out: &mut Vec<u8>,
    ) {
        let window = 1usize << self.shape.window_bits;
        let mut symbols: Vec<Symbol> = Vec::with_capacity(input.len().min(BLOCK_SYMBOLS));
        let mut work: Vec<u8> = Vec::new();
        while !input.is_empty() {
            let take = input.len().min(CHUNK);
            work.clear();
            work.reserve(self.hist.len() + take);
            work.extend_from_slice(&self.hist);
            work.extend_from_slice(&input[..take]);
            let start = self.hist.len();
            // Positions: work[i] is byte number base + i of the stream.
            let base = self.pos.wrapping_sub(start as u32);
            let mut search = Search {
                work: &work,
                base,
                window,
                head: &mut self.head,
                prev: &mut self.prev,
                hash_shift: 32 - u32::from(self.shape.hash_bits),
                tuning,
            };
            if tuning.optimal {
                search.parse_by_cost(start, &mut symbols, bits, out);
            } else {
                search.parse(start, &mut symbols, bits, out);
            }
            self.pos = self.pos.wrapping_add(take as u32);
            let keep = work.len().min(window);
            self.hist.clear();
            self.hist.extend_from_slice(&work[work.len() - keep..]);
            input = &input[take..];
        }
    }
}

/// How many leading bytes `a` and `b` (of equal length) share, eight at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or_default());
        let y = u64::from_le_bytes(y.try_into().unwrap_or_default());
        let diff = x ^ y;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The matches found at each position of a block: `list[first[k]..first[k + 1]]`
/// for position `k`, lengths and distances growing.
#[derive(Default)]
struct Found {
    list: Vec<(u16, u16)>,
    first: Vec<u32>,
}

impl Found {
    fn clear(&mut self) {
        self.list.clear();
        self.first.clear();
    }

    fn at(&self, k: usize) -> &[(u16, u16)] {
        &self.list[self.first[k] as usize..self.first[k + 1] as usize]
    }
}

struct Search<'a> {
    work: &'a [u8],
    base: u32,
    window: usize,
    head: &'a mut [u16],
    prev: &'a mut [u16],
    hash_shift: u32,
    tuning: Tuning,
}

impl Search<'_> {
    #[inline]
    fn hash(&self, i: usize) -> usize {
        let w = self.work;
        let v = u32::from(w[i]) | (u32::from(w[i + 1]) << 8) | (u32::from(w[i + 2]) << 16);
        (v.wrapping_mul(0x9E37_79B1) >> self.hash_shift) as usize
    }

    /// Records position `i` (which has three bytes after it) and returns the
    /// previous position with the same hash.
    #[inline]
    fn insert(&mut self, i: usize) -> u16 {
        let h = self.hash(i);
        let cur = self.base.wrapping_add(i as u32) as u16;
        let cand = core::mem::replace(&mut self.head[h], cur);
        if !self.prev.is_empty() {
            let mask = self.prev.len() - 1;
            self.prev[usize::from(cur) & mask] = cand;
        }
        cand
    }

    /// The longest match for position `i` as (length, distance); length 0 if
    /// none of at least three bytes.
    #[inline]
    fn find(&mut self, i: usize) -> (usize, usize) {
        self.find_with(i, self.tuning.chain)
    }

    /// [`find`](Self::find) trying at most `chain` candidates.
    #[inline]
    fn find_with(&mut self, i: usize, chain: u16) -> (usize, usize) {
        let end = self.work.len();
        if end - i < MIN_MATCH {
            return (0, 0);
        }
        let mut cand = self.insert(i);
        let cur = self.base.wrapping_add(i as u32) as u16;
        let max_len = (end - i).min(MAX_MATCH);
        let reach = self.window.min(i);
        let w = self.work;
        let (mut best_len, mut best_dist) = (MIN_MATCH - 1, 0);
        let mut d = usize::from(cur.wrapping_sub(cand));
        let mut chain = chain;
        while d != 0 && d <= reach {
            let c = i - d;
            if w[c + best_len] == w[i + best_len] && w[c] == w[i] && w[c + 1] == w[i + 1] {
                let len = 2 + common_prefix(&w[c + 2..c + max_len], &w[i + 2..i + max_len]);
                if len > best_len {
                    (best_len, best_dist) = (len, d);
                    if len >= usize::from(self.tuning.nice).min(max_len) {
                        break;
                    }
                }
            }
            chain -= 1;
            if chain == 0 || self.prev.is_empty() {
                break;
            }
            let next = self.prev[usize::from(cand) & (self.prev.len() - 1)];
            let nd = usize::from(cur.wrapping_sub(next));
            // Chains only go back in time; anything else is a stale entry.
            if nd <= d {
                break;
            }
            (cand, d) = (next, nd);
        }
        if best_len >= MIN_MATCH && !(best_len == MIN_MATCH && best_dist > TOO_FAR) {
            (best_len, best_dist)
        } else {
            (0, 0)
        }
    }

    /// Like [`find_with`](Self::find_with), recording every match that is
    /// longer than the ones before it in `sink` (so lengths and distances
    /// both grow: each length up to one comes cheapest from the nearest).
    /// Returns the longest length found (0 if none).
    #[inline]
    fn find_all(&mut self, i: usize, chain: u16, sink: &mut Vec<(u16, u16)>) -> usize {
        let end = self.work.len();
        if end - i < MIN_MATCH {
            return 0;
        }
        let mut cand = self.insert(i);
        let cur = self.base.wrapping_add(i as u32) as u16;
        let max_len = (end - i).min(MAX_MATCH);
        let reach = self.window.min(i);
        let w = self.work;
        let mut best_len = MIN_MATCH - 1;
        let mut d = usize::from(cur.wrapping_sub(cand));
        let mut chain = chain;
        while d != 0 && d <= reach {
            let c = i - d;
            if w[c + best_len] == w[i + best_len] && w[c] == w[i] && w[c + 1] == w[i + 1] {
                let len = 2 + common_prefix(&w[c + 2..c + max_len], &w[i + 2..i + max_len]);
                if len > best_len {
                    best_len = len;
                    sink.push((len as u16, d as u16));
                    if len >= usize::from(self.tuning.nice).min(max_len) {
                        break;
                    }
                }
            }
            chain -= 1;
            if chain == 0 || self.prev.is_empty() {
                break;
            }
            let next = self.prev[usize::from(cand) & (self.prev.len() - 1)];
            let nd = usize::from(cur.wrapping_sub(next));
            if nd <= d {
                break;
            }
            (cand, d) = (next, nd);
        }
        if best_len >= MIN_MATCH { best_len } else { 0 }
    }

    /// Adds the positions after `i` inside a match of `len` to the hash.
    fn insert_inside(&mut self, i: usize, len: usize) {
        if len <= usize::from(self.tuning.insert_below) {
            let last = (i + len).min(self.work.len().saturating_sub(MIN_MATCH - 1));
            for p in i + 1..last {
                self.insert(p);
            }
        }
    }

    /// Parses `work[start..]` into symbols, writing a block whenever enough
    /// have gathered and one for the rest at the end.
    fn parse(
        &mut self,
        start: usize,
        symbols: &mut Vec<Symbol>,
        bits: &mut Bits,
        out: &mut Vec<u8>,
    ) {
        let end = self.work.len();
        let lazy = usize::from(self.tuning.lazy_below);
        let mut block_start = start;
        let mut i = start;
        // A match found at i - 1, held back while i is tried (lazy evaluation).
        let mut held: Option<(usize, usize)> = None;
        while i < end {
            if held.is_none() && symbols.len() >= BLOCK_SYMBOLS {
                write_block(symbols, &self.work[block_start..i], bits, out);
                symbols.clear();
                block_start = i;
            }
            let (len, dist) = self.find(i);
            match held {
                Some((hlen, hdist)) if len <= hlen => {
                    // The held match at i - 1 is at least as long: take it.
                    symbols.push(matched(hlen, hdist));
                    self.insert_inside(i, hlen - 1);
                    i = i - 1 + hlen;
                    held = None;
                }
                Some(_) => {
                    symbols.push(literal(self.work[i - 1]));
                    held = (len < lazy).then_some((len, dist));
                    if held.is_none() {
                        symbols.push(matched(len, dist));
                        self.insert_inside(i, len);
                        i += len;
                    } else {
                        i += 1;
                    }
                }
                None if len == 0 => {
                    symbols.push(literal(self.work[i]));
                    i += 1;
                }
                None if len < lazy => {
                    held = Some((len, dist));
                    i += 1;
                }
                None => {
                    symbols.push(matched(len, dist));
                    self.insert_inside(i, len);
                    i += len;
                }
            }
        }
        if let Some((hlen, hdist)) = held {
            // The input ended right after the held match's first byte; it
            // still fits, as it was found within the same input.
            symbols.push(matched(hlen, hdist));
            i = i - 1 + hlen;
        }
        debug_assert_eq!(i, end);
        if !symbols.is_empty() {
            write_block(symbols, &self.work[block_start..end], bits, out);
            symbols.clear();
        }
    }
    /// The cost-based parse: finds the longest match at every position of a
    /// block's worth of input, then picks the cheapest way through it (a
    /// literal, or any length up to the match found, at each position) by
    /// the bit costs the block's own symbols give, priced twice: first from
    /// a greedy parse, then from the first choice. A match of at least
    /// `nice` bytes is taken as found (long repeats stay cheap).
    ///
    /// Working memory, freed on return: the matches found (4 bytes each,
    /// a few per position) and 12 bytes per position, for blocks of up to
    /// [`BLOCK_SYMBOLS`] positions.
    fn parse_by_cost(
        &mut self,
        start: usize,
        symbols: &mut Vec<Symbol>,
        bits: &mut Bits,
        out: &mut Vec<u8>,
    ) {
        let end = self.work.len();
        let nice = usize::from(self.tuning.nice);
        let mut found = Found::default();
        let mut cost: Vec<u32> = Vec::new();
        let mut step: Vec<(u16, u16)> = Vec::new();
        let mut seg = start;
        while seg < end {
            let seg_end = (seg + BLOCK_SYMBOLS).min(end);
            let n = seg_end - seg;
            found.clear();
            // The match reaching furthest so far: (start, end).
            let mut cover = (seg, seg);
            let mut i = seg;
            while i < seg_end {
                let (from, to) = cover;
                // Inside a match, a shorter search: the rest of that match
                // is among what it finds first.
                let chain = if i >= from + SEARCHED_INSIDE && i < to {
                    INSIDE_CHAIN.min(self.tuning.chain)
                } else {
                    self.tuning.chain
                };
                let mark = found.list.len();
                self.find_all(i, chain, &mut found.list);
                // Matches stop at the block's end: clamped, the nearest of
                // those reaching it kept.
                let cut = (seg_end - i).min(MAX_MATCH) as u16;
                let mut keep = mark;
                for j in mark..found.list.len() {
                    let (l, d) = found.list[j];
                    let l = l.min(cut);
                    if usize::from(l) >= MIN_MATCH && (keep == mark || found.list[keep - 1].0 < l) {
                        found.list[keep] = (l, d);
                        keep += 1;
                    }
                }
                found.list.truncate(keep);
                found.first.push(mark as u32);
                let longest = found
                    .list
                    .get(mark..)
                    .and_then(|l| l.last())
                    .map_or(0, |m| usize::from(m.0));
                if longest >= nice {
                    // Taken as found: the positions inside are hashed, not
                    // searched.
                    let last = found.list.len() - 1;
                    found.list[last].0 |= FORCED;
                    self.insert_inside(i, longest);
                    for _ in 1..longest {
                        found.first.push(found.list.len() as u32);
                    }
                    i += longest;
                    continue;
                }
                if longest >= MIN_MATCH && i + longest > to {
                    cover = (i, i + longest);
                }
                i += 1;
            }
            found.first.push(found.list.len() as u32);
            // First prices: a greedy parse of what was found.
            symbols.clear();
            let mut k = 0;
            while k < n {
                match found.at(k).last() {
                    Some(&(len, dist)) => {
                        let len = usize::from(len & !FORCED);
                        symbols.push(matched(len, usize::from(dist)));
                        k += len;
                    }
                    None => {
                        symbols.push(literal(self.work[seg + k]));
                        k += 1;
                    }
                }
            }
            for _ in 0..2 {
                let costs = Costs::of(symbols);
                self.cheapest(seg, &found, &costs, &mut cost, &mut step);
                symbols.clear();
                let mut k = 0;
                while k < n {
                    let (len, dist) = step[k];
                    let len = usize::from(len);
                    if len >= MIN_MATCH {
                        symbols.push(matched(len, usize::from(dist)));
                        k += len;
                    } else {
                        symbols.push(literal(self.work[seg + k]));
                        k += 1;
                    }
                }
            }
            write_block(symbols, &self.work[seg..seg_end], bits, out);
            symbols.clear();
            seg = seg_end;
        }
    }

    /// The cheapest parse of the block at `seg` under `costs`, backwards:
    /// `cost[k]` is the fewest bits from position `k` to the block's end and
    /// `step[k]` the (length, distance) to take there (length 1: a literal).
    fn cheapest(
        &self,
        seg: usize,
        found: &Found,
        costs: &Costs,
        cost: &mut Vec<u32>,
        step: &mut Vec<(u16, u16)>,
    ) {
        let n = found.first.len() - 1;
        cost.clear();
        cost.resize(n + 1, 0);
        step.clear();
        step.resize(n, (1, 0));
        for k in (0..n).rev() {
            let mut best = costs.literal(self.work[seg + k]) + cost[k + 1];
            let mut take = (1u16, 0u16);
            let mut shorter = MIN_MATCH - 1;
            for &(len, dist) in found.at(k) {
                let dist_bits = costs.distance(usize::from(dist));
                if len & FORCED != 0 {
                    let len = usize::from(len & !FORCED);
                    best = costs.length(len) + dist_bits + cost[k + len];
                    take = (len as u16, dist);
                    break;
                }
                let len = usize::from(len);
                // Every length this distance serves, cheapest first found
                // (the shortest on a tie).
                let lengths = costs.lengths(shorter + 1..len + 1);
                let after = &cost[k + shorter + 1..k + len + 1];
                let mut here = u32::MAX;
                let mut at = 0;
                for (j, (&l, &c)) in lengths.iter().zip(after).enumerate() {
                    if l + c < here {
                        here = l + c;
                        at = j;
                    }
                }
                if here + dist_bits < best {
                    best = here + dist_bits;
                    take = ((shorter + 1 + at) as u16, dist);
                }
                shorter = len;
            }
            cost[k] = best;
            step[k] = take;
        }
    }
}
