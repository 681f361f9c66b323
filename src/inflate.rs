//! A small decoder of raw DEFLATE streams (RFC 1951), for scenario files carried in links
//! (`srcz`). The browser compresses (CompressionStream); reading the link at start-up must be
//! synchronous, and a general-purpose decompressor costs 16 KB gzip of page, so this one does
//! only what the format requires: stored, fixed-Huffman and dynamic-Huffman blocks. The output is
//! bounded: a stream that would unpack to more than `limit` bytes is refused, so a small link
//! cannot exhaust memory.

/// Why a stream was not unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The stream is not valid DEFLATE, or ends before its last block does.
    Invalid,
    /// The stream would unpack to more than the limit.
    TooBig,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
    nbits: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<u32, InflateError> {
        while self.nbits < n {
            let b = *self.data.get(self.pos).ok_or(InflateError::Invalid)?;
            self.pos += 1;
            self.bit |= u32::from(b) << self.nbits;
            self.nbits += 8;
        }
        let v = self.bit & ((1u32 << n) - 1);
        self.bit >>= n;
        self.nbits -= n;
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Huffman, InflateError> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        // Over-subscribed code sets are invalid (incomplete ones are allowed, as zlib does).
        let mut left: i32 = 1;
        for &c in &counts[1..] {
            left = (left << 1) - i32::from(c);
            if left < 0 {
                return Err(InflateError::Invalid);
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = sym as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    fn decode(&self, bits: &mut Bits) -> Result<u16, InflateError> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.need(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or(InflateError::Invalid);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(InflateError::Invalid)
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The bytes of the raw DEFLATE stream `data`, at most `limit` of them.
pub fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut bits = Bits {
        data,
        pos: 0,
        bit: 0,
        nbits: 0,
    };
    let mut out: Vec<u8> = Vec::new();
    loop {
        let last = bits.need(1)? == 1;
        match bits.need(2)? {
            0 => {
                bits.bit = 0;
                bits.nbits = 0;
                let at = bits.pos;
                let head = data.get(at..at + 4).ok_or(InflateError::Invalid)?;
                let len = usize::from(u16::from_le_bytes([head[0], head[1]]));
                if u16::from_le_bytes([head[0], head[1]]) != !u16::from_le_bytes([head[2], head[3]])
                {
                    return Err(InflateError::Invalid);
                }
                let body = data
                    .get(at + 4..at + 4 + len)
                    .ok_or(InflateError::Invalid)?;
                if out.len() + len > limit {
                    return Err(InflateError::TooBig);
                }
                out.extend_from_slice(body);
                bits.pos = at + 4 + len;
            }
            1 => {
                let mut l = [0u8; 288];
                l[..144].fill(8);
                l[144..256].fill(9);
                l[256..280].fill(7);
                l[280..].fill(8);
                let lit = Huffman::new(&l)?;
                let dist = Huffman::new(&[5u8; 30])?;
                codes(&mut bits, &mut out, &lit, &dist, limit)?;
            }
            2 => {
                let nlen = bits.need(5)? as usize + 257;
                let ndist = bits.need(5)? as usize + 1;
                let ncode = bits.need(4)? as usize + 4;
                if nlen > 286 || ndist > 30 {
                    return Err(InflateError::Invalid);
                }
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &i in &ORDER[..ncode] {
                    cl[i] = bits.need(3)? as u8;
                }
                let clh = Huffman::new(&cl)?;
                let mut lengths = vec![0u8; nlen + ndist];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = clh.decode(&mut bits)?;
                    let (value, repeat) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => {
                            let prev = *lengths[..i].last().ok_or(InflateError::Invalid)?;
                            (prev, 3 + bits.need(2)? as usize)
                        }
                        17 => (0, 3 + bits.need(3)? as usize),
                        _ => (0, 11 + bits.need(7)? as usize),
                    };
                    let end = i + repeat;
                    lengths
                        .get_mut(i..end)
                        .ok_or(InflateError::Invalid)?
                        .fill(value);
                    i = end;
                }
                if lengths[256] == 0 {
                    return Err(InflateError::Invalid);
                }
                let lit = Huffman::new(&lengths[..nlen])?;
                let dist = Huffman::new(&lengths[nlen..])?;
                codes(&mut bits, &mut out, &lit, &dist, limit)?;
            }
            _ => return Err(InflateError::Invalid),
        }
        if last {
            return Ok(out);
        }
    }
}

fn codes(
    bits: &mut Bits,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
    limit: usize,
) -> Result<(), InflateError> {
    loop {
        let sym = usize::from(lit.decode(bits)?);
        match sym {
            0..=255 => {
                if out.len() >= limit {
                    return Err(InflateError::TooBig);
                }
                out.push(sym as u8);
            }
            256 => return Ok(()),
            _ => {
                let s = sym - 257;
                let len = usize::from(*LEN_BASE.get(s).ok_or(InflateError::Invalid)?)
                    + bits.need(u32::from(LEN_EXTRA[s]))? as usize;
                let d = usize::from(dist.decode(bits)?);
                let back = usize::from(*DIST_BASE.get(d).ok_or(InflateError::Invalid)?)
                    + bits.need(u32::from(DIST_EXTRA[d]))? as usize;
                if back > out.len() {
                    return Err(InflateError::Invalid);
                }
                if out.len() + len > limit {
                    return Err(InflateError::TooBig);
                }
                let from = out.len() - back;
                for k in 0..len {
                    out.push(out[from + k]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::compress_to_vec;

    #[test]
    fn reads_what_a_real_compressor_writes_at_every_level() {
        let mut texts: Vec<Vec<u8>> = session_engine::library::BUILT_IN
            .iter()
            .map(|(_, t)| t.as_bytes().to_vec())
            .collect();
        texts.push(Vec::new());
        texts.push(b"a".to_vec());
        texts.push(vec![b'x'; 100_000]);
        let mut x = 1u32;
        texts.push(
            (0..70_000)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (x >> 16) as u8
                })
                .collect(),
        );
        for t in &texts {
            for level in [0, 1, 6, 9] {
                let packed = compress_to_vec(t, level);
                assert_eq!(
                    inflate(&packed, 1 << 20).as_deref(),
                    Ok(&t[..]),
                    "level {level}, {} bytes",
                    t.len()
                );
            }
        }
    }

    #[test]
    fn refuses_too_much_output_and_broken_streams() {
        let packed = compress_to_vec(&vec![b' '; 10_000], 9);
        assert_eq!(inflate(&packed, 9_999), Err(InflateError::TooBig));
        assert_eq!(inflate(&packed, 10_000).map(|v| v.len()), Ok(10_000));
        let good = compress_to_vec(session_engine::library::BUILT_IN[0].1.as_bytes(), 9);
        for cut in 0..good.len() {
            assert!(inflate(&good[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
        // Every single-byte corruption ends in a result or an error, never a panic.
        for i in 0..good.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                let _ = inflate(&bad, 1 << 20);
            }
        }
        assert_eq!(inflate(&[0xff; 8], 100), Err(InflateError::Invalid));
    }
}
