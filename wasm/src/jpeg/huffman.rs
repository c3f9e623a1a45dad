//! Entropy-coded data: the bit reader and Huffman tables.
//!
//! The reader keeps a 64-bit buffer, left-aligned, refilled 8 bytes at a time when those bytes
//! hold no 0xFF (one word load and a bit trick), byte by byte otherwise (stuffed `FF 00`, or a
//! marker, after which it feeds zeros and counts them: the caller checks the count once per
//! MCU row rather than every read). Huffman codes up to [`LOOKUP`] bits long are decoded with
//! one table lookup; longer ones walk the per-length code ranges (T.81 F.2.2.3).
use crate::error::{Error, Result};

/// Bits resolved by one table lookup: most codes of real tables are at most 9 bits long.
pub const LOOKUP: u32 = 9;

pub struct Huffman {
    /// `(length << 8) | symbol` for every `LOOKUP`-bit prefix whose code is that short; 0 when
    /// the code is longer.
    look: Box<[u16; 1 << LOOKUP]>,
    /// For code lengths 1..=16: the largest code of that length (-1 when none), and the index
    /// of its first symbol minus its first code.
    max_code: [i32; 17],
    offset: [i32; 17],
    values: Vec<u8>,
    /// For AC tables: a whole (run, value) pair when its code and its extra bits together fit in
    /// `LOOKUP` bits — `value << 16 | run << 8 | bits`, 0 otherwise: most coefficients of a photo
    /// take one lookup instead of a symbol lookup, a peek and a sign extension.
    pub fast_ac: Box<[i32; 1 << LOOKUP]>,
}

impl Huffman {
    /// From DHT's 16 counts and the symbols (T.81 annex C).
    pub fn new(counts: &[u8; 16], values: &[u8]) -> Result<Huffman> {
        let bad = || Error::corrupt("the JPEG Huffman table is malformed");
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if values.len() > 256 || total != values.len() {
            return Err(bad());
        }
        let mut look = Box::new([0u16; 1 << LOOKUP]);
        let mut max_code = [-1i32; 17];
        let mut offset = [0i32; 17];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = u32::from(counts[len as usize - 1]);
            if n > 0 {
                offset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    if code >= 1 << len {
                        return Err(bad());
                    }
                    if len <= LOOKUP {
                        let shift = LOOKUP - len;
                        let first = (code << shift) as usize;
                        let entry = ((len as u16) << 8) | u16::from(values[k]);
                        look[first..first + (1 << shift)].fill(entry);
                    }
                    code += 1;
                    k += 1;
                }
                max_code[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        // The fast AC entries, from the symbol table just built.
        let mut fast_ac = Box::new([0i32; 1 << LOOKUP]);
        for (i, f) in fast_ac.iter_mut().enumerate() {
            let e = look[i];
            if e == 0 {
                continue;
            }
            let (len, rs) = (u32::from(e >> 8), e as u8);
            let (run, size) = (u32::from(rs >> 4), u32::from(rs & 15));
            if size == 0 || len + size > LOOKUP {
                continue;
            }
            let extra = ((i as u32) >> (LOOKUP - len - size)) & ((1 << size) - 1);
            let value = if extra < 1 << (size - 1) {
                extra as i32 - (1 << size) + 1
            } else {
                extra as i32
            };
            *f = (value << 16) | (run << 8) as i32 | (len + size) as i32;
        }
        Ok(Huffman {
            look,
            max_code,
            offset,
            values: values.to_vec(),
            fast_ac,
        })
    }
}

pub struct Bits<'a> {
    data: &'a [u8],
    pub pos: usize,
    buf: u64,
    n: u32,
    /// A marker (or the end of the data) was reached: zeros are fed from here on.
    at_marker: bool,
    /// Zero bytes fed past it.
    pub padding: u32,
    /// Set by an invalid code or a coefficient index past 63; checked once per block.
    pub error: bool,
}

/// Whether any byte of `w` is 0xFF (the classic "has a zero byte" test on `!w`).
#[inline(always)]
fn has_ff(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    ((!w).wrapping_sub(LO) & w & HI) != 0
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            buf: 0,
            n: 0,
            at_marker: false,
            padding: 0,
            error: false,
        }
    }

    /// At least 32 bits in the buffer afterwards — a Huffman code and its extra bits (at most
    /// 16 + 15) — and 57 or more whenever it reads: below 32 bits it tops the buffer up with as
    /// many whole bytes as fit, so most calls return at once and a read brings 4–8 bytes in
    /// (the byte swap of the 8-byte load is a dozen instructions in wasm, which has no bswap).
    #[inline(always)]
    pub fn refill(&mut self) {
        if self.n >= 32 {
            return;
        }
        if let Some(b) = self.data.get(self.pos..self.pos + 8) {
            let w = u64::from_be_bytes(b.try_into().unwrap());
            if !has_ff(w) {
                let k = (64 - self.n) / 8;
                self.buf |= (w >> (64 - 8 * k)) << (64 - self.n - 8 * k);
                self.pos += k as usize;
                self.n += 8 * k;
                return;
            }
        }
        self.refill_slow();
    }

    // Inlined too: a call here would make the buffer live in memory across the whole decode
    // loop (its address escapes), a store and a reload on the critical path of every symbol.
    #[inline(always)]
    fn refill_slow(&mut self) {
        while self.n <= 56 {
            let byte = if self.at_marker {
                self.padding += 1;
                0
            } else {
                match self.data.get(self.pos) {
                    None => {
                        self.at_marker = true;
                        self.padding += 1;
                        0
                    }
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                        self.pos += 2;
                        0xFF
                    }
                    Some(&0xFF) => {
                        // A marker: stop in front of it.
                        self.at_marker = true;
                        self.padding += 1;
                        0
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                }
            };
            self.buf |= u64::from(byte) << (56 - self.n);
            self.n += 8;
        }
    }

    /// The next `k` bits (0..=16) as an unsigned number. Needs `k` bits buffered.
    #[inline(always)]
    pub fn bits(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        let v = (self.buf >> (64 - k)) as u32;
        self.buf <<= k;
        self.n -= k;
        v
    }

    /// `k` bits read as a signed coefficient (T.81 F.2.2.1, EXTEND).
    #[inline(always)]
    pub fn receive_extend(&mut self, k: u32) -> i32 {
        if k == 0 {
            return 0;
        }
        let v = self.bits(k) as i32;
        if v < 1 << (k - 1) {
            v - (1 << k) + 1
        } else {
            v
        }
    }

    /// The next `LOOKUP` bits, not consumed (masked, so indexing a lookup table needs no
    /// bounds check).
    #[inline(always)]
    pub fn peek(&self) -> usize {
        (self.buf >> (64 - LOOKUP)) as usize & ((1 << LOOKUP) - 1)
    }

    /// Drops `k` bits (at most what is buffered).
    #[inline(always)]
    pub fn consume(&mut self, k: u32) {
        self.buf <<= k;
        self.n -= k;
    }

    /// One Huffman symbol. Needs 16 bits buffered.
    #[inline(always)]
    pub fn decode(&mut self, t: &Huffman) -> u8 {
        let e = t.look[self.peek()];
        if e != 0 {
            let len = u32::from(e >> 8);
            self.buf <<= len;
            self.n -= len;
            return e as u8;
        }
        self.decode_long(t)
    }

    #[inline(always)]
    fn decode_long(&mut self, t: &Huffman) -> u8 {
        for len in LOOKUP + 1..=16 {
            let code = (self.buf >> (64 - len)) as i32;
            if code <= t.max_code[len as usize] {
                self.buf <<= len;
                self.n -= len;
                let i = (t.offset[len as usize] + code) as usize;
                return t.values.get(i).copied().unwrap_or(0);
            }
        }
        self.error = true;
        // Drop a byte's worth so a stream of garbage still moves on (and ends).
        self.buf <<= 8;
        self.n -= 8;
        0
    }

    /// Discards buffered bits and moves past the next marker if it is a restart marker
    /// (RST0–7). Returns false when a different marker (or none) stands there.
    pub fn restart(&mut self) -> bool {
        self.buf = 0;
        self.n = 0;
        self.at_marker = false;
        // Skip to the marker: bytes before it were data the encoder padded.
        while let Some(&b) = self.data.get(self.pos) {
            if b == 0xFF {
                match self.data.get(self.pos + 1) {
                    Some(0xFF) => self.pos += 1,
                    Some(0xD0..=0xD7) => {
                        self.pos += 2;
                        // Only a real RSTn starts the count of zeros fed again: without one, an
                        // interval of one MCU would reset it every block, and a scan with no
                        // data at all would "decode" as grey instead of being refused.
                        self.padding = 0;
                        return true;
                    }
                    Some(0) => self.pos += 2,
                    _ => return false,
                }
            } else {
                self.pos += 1;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ff_bytes() {
        assert!(!has_ff(0x0102_0304_0506_0708));
        assert!(has_ff(0xFF02_0304_0506_0708));
        assert!(has_ff(0x0102_0304_0506_07FF));
        assert!(!has_ff(0xFEFE_FEFE_7F7F_8080));
    }

    #[test]
    fn unstuffs_and_stops_at_markers() {
        let data = [0xAB, 0xFF, 0x00, 0x12, 0xFF, 0xD9, 0x55];
        let mut b = Bits::new(&data, 0);
        b.refill();
        assert_eq!(b.bits(8), 0xAB);
        assert_eq!(b.bits(16), 0xFF12);
        assert_eq!(b.bits(16), 0);
        assert!(b.padding > 0);
        assert_eq!(b.pos, 4);
    }

    #[test]
    fn decodes_short_and_long_codes() {
        // Lengths: one code of 1 bit (sym 7), one of 12 bits (sym 9).
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[11] = 1;
        let t = Huffman::new(&counts, &[7, 9]).unwrap();
        // "0" then "100000000000" (the first 12-bit code after 0 → 1 shifted 11 times).
        let data = [0b0100_0000, 0b0000_0000, 0x00, 0x00];
        let mut b = Bits::new(&data, 0);
        b.refill();
        assert_eq!(b.decode(&t), 7);
        assert_eq!(b.decode(&t), 9);
        assert!(!b.error);
        // An over-full table is refused.
        assert!(Huffman::new(
            &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[1, 2, 3]
        )
        .is_err());
    }
}
