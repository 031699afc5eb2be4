//! A small, slow, independent DEFLATE decoder for tests. It checks what
//! miniz_oxide's streaming inflater does not: that no match reaches further
//! back than the negotiated window, nor (without context takeover) into an
//! earlier message.

use alloc::vec::Vec;

const LBASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

type R<T> = Result<T, &'static str>;

struct Bits<'a> {
    data: &'a [u8],
    bit: usize,
}

impl Bits<'_> {
    fn get(&mut self, n: u32) -> R<u32> {
        let mut v = 0;
        for i in 0..n {
            let byte = *self.data.get(self.bit / 8).ok_or("truncated")?;
            v |= u32::from((byte >> (self.bit % 8)) & 1) << i;
            self.bit += 1;
        }
        Ok(v)
    }
}

/// A canonical Huffman code: symbols ordered by (length, value).
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut symbols = Vec::new();
        for len in 1..16 {
            for (s, &l) in lengths.iter().enumerate() {
                if usize::from(l) == len {
                    symbols.push(s as u16);
                }
            }
        }
        Self { counts, symbols }
    }

    /// Reads one symbol, one bit at a time, MSB of the code first.
    fn decode(&self, bits: &mut Bits<'_>) -> R<u16> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.get(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("bad code")
    }
}

/// Decodes a connection's stream of messages and checks every distance.
pub struct Reference {
    window: usize,
    no_context_takeover: bool,
    out: Vec<u8>,
}

impl Reference {
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Self {
            window: 1 << window_bits,
            no_context_takeover,
            out: Vec::new(),
        }
    }

    /// Decodes one message payload (without its `00 00 ff ff` tail).
    pub fn message(&mut self, payload: &[u8]) -> R<Vec<u8>> {
        let mut data = payload.to_vec();
        data.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut bits = Bits {
            data: &data,
            bit: 0,
        };
        let start = self.out.len();
        let floor = if self.no_context_takeover { start } else { 0 };
        while bits.bit < data.len() * 8 {
            let last = bits.get(1)? == 1;
            match bits.get(2)? {
                0 => {
                    bits.bit = bits.bit.div_ceil(8) * 8;
                    let len = bits.get(16)?;
                    if bits.get(16)? != !len & 0xffff {
                        return Err("stored length");
                    }
                    for _ in 0..len {
                        let b = bits.get(8)? as u8;
                        self.out.push(b);
                    }
                }
                1 => {
                    let mut l = [8u8; 288];
                    l[144..256].fill(9);
                    l[256..280].fill(7);
                    self.codes(&mut bits, &Huffman::new(&l), &Huffman::new(&[5; 30]), floor)?;
                }
                2 => {
                    let (lit, dist) = dynamic_tables(&mut bits)?;
                    self.codes(&mut bits, &lit, &dist, floor)?;
                }
                _ => return Err("block type 3"),
            }
            if last {
                break;
            }
        }
        Ok(self.out[start..].to_vec())
    }

    fn codes(&mut self, bits: &mut Bits<'_>, lit: &Huffman, dist: &Huffman, floor: usize) -> R<()> {
        loop {
            let sym = usize::from(lit.decode(bits)?);
            match sym {
                0..=255 => self.out.push(sym as u8),
                256 => return Ok(()),
                257..=285 => {
                    let i = sym - 257;
                    let len = usize::from(LBASE[i]) + bits.get(u32::from(LEXT[i]))? as usize;
                    let d = usize::from(dist.decode(bits)?);
                    if d >= 30 {
                        return Err("distance code");
                    }
                    let d = usize::from(DBASE[d]) + bits.get(u32::from(DEXT[d]))? as usize;
                    if d > self.window {
                        return Err("distance beyond the window");
                    }
                    if d > self.out.len() - floor {
                        return Err("distance before the message or stream");
                    }
                    for _ in 0..len {
                        let b = self.out[self.out.len() - d];
                        self.out.push(b);
                    }
                }
                _ => return Err("length code"),
            }
        }
    }
}

fn dynamic_tables(bits: &mut Bits<'_>) -> R<(Huffman, Huffman)> {
    let hlit = bits.get(5)? as usize + 257;
    let hdist = bits.get(5)? as usize + 1;
    let hclen = bits.get(4)? as usize + 4;
    let mut cl = [0u8; 19];
    for &i in &CL_ORDER[..hclen] {
        cl[i] = bits.get(3)? as u8;
    }
    let cl = Huffman::new(&cl);
    let mut lengths = Vec::new();
    while lengths.len() < hlit + hdist {
        let (value, repeat) = match cl.decode(bits)? {
            s @ 0..=15 => (s as u8, 1),
            16 => (*lengths.last().ok_or("repeat first")?, 3 + bits.get(2)?),
            17 => (0, 3 + bits.get(3)?),
            _ => (0, 11 + bits.get(7)?),
        };
        for _ in 0..repeat {
            lengths.push(value);
        }
    }
    if lengths.len() != hlit + hdist {
        return Err("code lengths overrun");
    }
    Ok((
        Huffman::new(&lengths[..hlit]),
        Huffman::new(&lengths[hlit..]),
    ))
}
