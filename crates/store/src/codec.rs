//! Byte-level encoding shared by the block formats: LEB128 varints, length-prefixed byte
//! strings, and a reader that reports truncation as an error instead of panicking (block
//! files come from disk and may be damaged).

pub(crate) use pdata::scan::put_varint as put_uvarint;

pub(crate) fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A label set: its length, then each name and value.
pub(crate) fn encode_labels(l: &[(String, String)], out: &mut Vec<u8>) {
    put_uvarint(out, l.len() as u64);
    for (k, v) in l {
        put_bytes(out, k.as_bytes());
        put_bytes(out, v.as_bytes());
    }
}

pub(crate) fn decode_labels(r: &mut Reader) -> Result<Vec<(String, String)>> {
    let n = r.len()?;
    (0..n)
        .map(|_| Ok((r.str()?.to_string(), r.str()?.to_string())))
        .collect()
}

/// Reads what the `put_*` functions wrote.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub(crate) type Result<T> = std::result::Result<T, String>;

fn short() -> String {
    "block data ends early".to_string()
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos).ok_or_else(short)?;
            self.pos += 1;
            if shift >= 64 {
                return Err("varint overflows 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    pub(crate) fn ivarint(&mut self) -> Result<i64> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A count that is about to size an allocation: bounded by the bytes left, since every
    /// element takes at least one byte.
    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.uvarint()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(format!("count {n} exceeds the block's remaining bytes"));
        }
        Ok(n as usize)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    /// Like [`Reader::bytes`], as a range of the buffer (to slice a shared copy of it).
    pub(crate) fn bytes_range(&mut self) -> Result<std::ops::Range<usize>> {
        let n = self.len()?;
        let start = self.pos;
        self.take(n)?;
        Ok(start..start + n)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "block string is not UTF-8".to_string())
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let s = self.buf.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().expect("take(8) returns 8 bytes"),
        ))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("take(N) returns N bytes"))
    }
}

/// A Bloom filter over 128-bit ids that are random already (trace ids), so the id's own
/// bits serve as the two base hashes of double hashing. 10 bits and 7 probes per id: about
/// 1 % false positives, which is what keeps a trace-by-id lookup to the blocks that hold it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bloom {
    bits: Vec<u64>,
}

const BLOOM_PROBES: u64 = 7;

impl Bloom {
    pub(crate) fn with_capacity(ids: usize) -> Bloom {
        let words = (ids * 10).div_ceil(64).max(1);
        Bloom {
            bits: vec![0; words],
        }
    }

    fn probes(&self, id: u128) -> impl Iterator<Item = (usize, u64)> + '_ {
        let n = (self.bits.len() * 64) as u64;
        // Mix, so that ids that are not random (tests, 64-bit Jaeger ids padded with zeros)
        // still spread.
        let h1 = mix((id >> 64) as u64 ^ (id as u64).rotate_left(17));
        let h2 = mix(id as u64) | 1;
        (0..BLOOM_PROBES).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % n;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    pub(crate) fn insert(&mut self, id: u128) {
        let probes: Vec<_> = self.probes(id).collect();
        for (w, m) in probes {
            self.bits[w] |= m;
        }
    }

    pub(crate) fn may_contain(&self, id: u128) -> bool {
        self.probes(id).all(|(w, m)| self.bits[w] & m != 0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.bits.len() as u64);
        for w in &self.bits {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Bloom> {
        let n = r.uvarint()? as usize;
        if n == 0 || n > (r.buf.len() - r.pos) / 8 {
            return Err("bloom filter size is damaged".into());
        }
        let mut bits = Vec::with_capacity(n);
        for _ in 0..n {
            bits.push(r.u64_le()?);
        }
        Ok(Bloom { bits })
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Interns strings of one page so each distinct value is written once.
#[derive(Default)]
pub(crate) struct Dict<'a> {
    index: std::collections::HashMap<&'a [u8], u32>,
    values: Vec<&'a [u8]>,
}

impl<'a> Dict<'a> {
    pub(crate) fn id(&mut self, v: &'a [u8]) -> u32 {
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        let i = self.values.len() as u32;
        self.index.insert(v, i);
        self.values.push(v);
        i
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.values.len() as u64);
        for v in &self.values {
            put_bytes(out, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_truncation_is_an_error() {
        let mut b = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            put_uvarint(&mut b, v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            put_ivarint(&mut b, v);
        }
        let mut r = Reader::new(&b);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.uvarint().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(r.ivarint().unwrap(), v);
        }
        assert!(r.is_empty());
        assert!(Reader::new(&[0x80]).uvarint().is_err());
        assert!(Reader::new(&[5, 1]).bytes().is_err());
    }

    #[test]
    fn bloom_has_no_false_negatives_and_few_false_positives() {
        let mut b = Bloom::with_capacity(10_000);
        for i in 0..10_000u128 {
            b.insert(i * 7919);
        }
        assert!((0..10_000u128).all(|i| b.may_contain(i * 7919)));
        let fp = (1..=10_000u128)
            .filter(|i| b.may_contain(i * 7919 + 3))
            .count();
        assert!(fp < 300, "{fp} false positives in 10000");
        let mut enc = Vec::new();
        b.encode(&mut enc);
        let d = Bloom::decode(&mut Reader::new(&enc)).unwrap();
        assert!((0..10_000u128).all(|i| d.may_contain(i * 7919)));
    }
}
