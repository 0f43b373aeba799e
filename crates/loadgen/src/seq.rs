//! The `loadgen.seq` attribute: how the generator writes it and how the sink finds and counts it.
//!
//! Every generated item (span, log record, metric data point) carries one attribute
//! `loadgen.seq` with an int value that is unique within a run. The generator encodes the value
//! as a varint padded to [`SEQ_WIDTH`] bytes (protobuf decoders accept non-minimal varints), so a
//! pre-encoded request can be given new sequence numbers by overwriting bytes in place.
//!
//! The sink does not decode requests: it searches the bytes for the encoded key
//! ([`KEY_PATTERN`]: `KeyValue.key = "loadgen.seq"` followed by the `value` field tag) and reads
//! the `AnyValue.int_value` varint after it, whatever width the collector re-encoded it with.

/// Attribute key carrying the sequence number.
pub const SEQ_KEY: &str = "loadgen.seq";

/// Bytes of the padded varint the generator writes: 5 bytes hold values below 2^35.
pub const SEQ_WIDTH: usize = 5;

/// Largest sequence number the generator can write.
pub const SEQ_MAX: u64 = (1 << (7 * SEQ_WIDTH)) - 1;

/// `KeyValue` field 1 (key, len 11, "loadgen.seq") then the tag of field 2 (value).
pub const KEY_PATTERN: &[u8] = b"\x0a\x0bloadgen.seq\x12";

/// Writes `value` as a varint of exactly [`SEQ_WIDTH`] bytes into `out`.
pub fn write_padded(out: &mut [u8], value: u64) {
    debug_assert!(value <= SEQ_MAX);
    for (i, b) in out.iter_mut().enumerate().take(SEQ_WIDTH) {
        let bits = ((value >> (7 * i)) & 0x7f) as u8;
        *b = if i + 1 < SEQ_WIDTH { bits | 0x80 } else { bits };
    }
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Reads the int value of the `AnyValue` starting at `pos` (its length prefix).
fn any_value_int(buf: &[u8], mut pos: usize) -> Option<u64> {
    let len = varint(buf, &mut pos)? as usize;
    let end = pos.checked_add(len)?;
    let body = buf.get(pos..end)?;
    let mut p = 0;
    // AnyValue.int_value is field 3, wire type varint.
    if *body.first()? != 0x18 {
        return None;
    }
    p += 1;
    let v = varint(body, &mut p)?;
    (p == body.len()).then_some(v)
}

/// Calls `f` with every sequence number found in an encoded export request. Returns how many
/// `loadgen.seq` keys were seen whose value could not be read (malformed or not an int).
pub fn scan(buf: &[u8], mut f: impl FnMut(u64)) -> u64 {
    let mut bad = 0;
    for start in memchr::memmem::find_iter(buf, KEY_PATTERN) {
        match any_value_int(buf, start + KEY_PATTERN.len()) {
            Some(v) => f(v),
            None => bad += 1,
        }
    }
    bad
}

const CHUNK_BITS: u32 = 16;
const CHUNK_WORDS: usize = 1 << (CHUNK_BITS - 6);

/// The set of sequence numbers seen, as a bitmap allocated in 64 Ki-number chunks.
#[derive(Debug, Default)]
pub struct SeqSet {
    chunks: Vec<Option<Box<[u64]>>>,
    distinct: u64,
    duplicates: u64,
    max: Option<u64>,
}

impl SeqSet {
    pub fn new() -> SeqSet {
        SeqSet::default()
    }

    /// Records `seq`; returns false if it was already present (a duplicate).
    pub fn insert(&mut self, seq: u64) -> bool {
        let chunk = (seq >> CHUNK_BITS) as usize;
        if chunk >= self.chunks.len() {
            self.chunks.resize_with(chunk + 1, || None);
        }
        let words =
            self.chunks[chunk].get_or_insert_with(|| vec![0u64; CHUNK_WORDS].into_boxed_slice());
        let bit = (seq & ((1 << CHUNK_BITS) - 1)) as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        self.max = Some(self.max.map_or(seq, |m| m.max(seq)));
        if words[word] & mask != 0 {
            self.duplicates += 1;
            return false;
        }
        words[word] |= mask;
        self.distinct += 1;
        true
    }

    pub fn contains(&self, seq: u64) -> bool {
        let chunk = (seq >> CHUNK_BITS) as usize;
        let bit = (seq & ((1 << CHUNK_BITS) - 1)) as usize;
        matches!(self.chunks.get(chunk), Some(Some(w)) if w[bit / 64] & (1 << (bit % 64)) != 0)
    }

    /// Distinct sequence numbers seen.
    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// Sightings of a number already seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    pub fn max(&self) -> Option<u64> {
        self.max
    }

    /// Distinct numbers seen in `start..end`.
    pub fn count_in(&self, start: u64, end: u64) -> u64 {
        let mut n = 0u64;
        for (ci, chunk) in self.chunks.iter().enumerate() {
            let Some(words) = chunk else { continue };
            let base = (ci as u64) << CHUNK_BITS;
            let top = base + (1 << CHUNK_BITS);
            if top <= start || base >= end {
                continue;
            }
            if base >= start && top <= end {
                n += words.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
            } else {
                n += (base.max(start)..top.min(end))
                    .filter(|&s| self.contains(s))
                    .count() as u64;
            }
        }
        n
    }

    /// Numbers in `start..end` never seen (the loss, when the sender used exactly that range).
    pub fn missing_in(&self, start: u64, end: u64) -> u64 {
        end.saturating_sub(start) - self.count_in(start, end)
    }

    /// Numbers from `start` up to the largest seen that were never seen.
    pub fn holes_from(&self, start: u64) -> u64 {
        match self.max {
            Some(max) if max >= start => self.missing_in(start, max + 1),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn padded_varint_decodes_to_the_value_with_prost() {
        for v in [0, 1, 127, 128, 300, 1 << 20, SEQ_MAX] {
            let mut buf = [0u8; SEQ_WIDTH];
            write_padded(&mut buf, v);
            let decoded = prost::encoding::decode_varint(&mut &buf[..]).unwrap();
            assert_eq!(decoded, v);
        }
    }

    #[test]
    fn scan_reads_canonical_and_padded_values() {
        use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
        let kv = KeyValue {
            key: SEQ_KEY.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(123_456)),
            }),
            ..Default::default()
        };
        let mut bytes = kv.encode_to_vec();
        bytes.extend(b"noise\x0a\x0bloadgen.seq\x12\x06\x18");
        let mut padded = [0u8; SEQ_WIDTH];
        write_padded(&mut padded, 42);
        bytes.extend(padded);
        let mut seen = vec![];
        let bad = scan(&bytes, |s| seen.push(s));
        assert_eq!(seen, vec![123_456, 42]);
        assert_eq!(bad, 0);
    }

    #[test]
    fn scan_counts_a_truncated_or_non_int_value_as_bad() {
        let mut seen = vec![];
        let bad = scan(b"\x0a\x0bloadgen.seq\x12\x06\x18\x80", |s| seen.push(s));
        assert_eq!((seen.len(), bad), (0, 1));
        let bad = scan(b"\x0a\x0bloadgen.seq\x12\x03\x0a\x01x", |s| seen.push(s));
        assert_eq!((seen.len(), bad), (0, 1));
    }

    #[test]
    fn seq_set_counts_distinct_duplicates_and_loss() {
        let mut set = SeqSet::new();
        for s in [0, 1, 2, 5, 2, 70_000, 1] {
            set.insert(s);
        }
        assert_eq!(set.distinct(), 5);
        assert_eq!(set.duplicates(), 2);
        assert_eq!(set.max(), Some(70_000));
        assert!(set.contains(70_000) && !set.contains(3) && !set.contains(1 << 40));
        assert_eq!(set.missing_in(0, 6), 2); // 3 and 4
        assert_eq!(set.holes_from(0), 70_001 - 5);
        assert_eq!(SeqSet::new().holes_from(0), 0);
    }
}
