//! Loki's push API messages (`logproto.PushRequest` of grafana/loki `pkg/push`), written by
//! hand with prost's derive: a few small messages do not justify a protoc build step. Field
//! numbers and encodings are Loki's; an entry's timestamp is always written (gogoproto
//! `stdtime`, non-nullable), the stream `hash` (3) stays 0 and so is not written. The store
//! reads them for `/loki/api/v1/push`; the `loki` exporter writes them (without structured
//! metadata, as the Go exporter).

use bytes::Bytes;
use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<Stream>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Stream {
    /// The label set in Loki's text form, `{a="b", c="d"}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<Entry>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    #[prost(message, required, tag = "1")]
    pub timestamp: Timestamp,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPair>,
}

/// `push.LabelAdapter`.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct LabelPair {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Go `time.Unix(0, ns)` as gogoproto writes it: seconds rounded down, nanos in
    /// `0..1e9` (also before 1970).
    pub fn from_unix_nanos(ns: i64) -> Timestamp {
        Timestamp {
            seconds: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as i32,
        }
    }
}

/// Parses a label set in Loki's text form, `{a="b", c="d"}` (values are Go-quoted
/// strings), into sorted pairs.
pub fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let bad = || format!("invalid labels: {s}");
    let inner = s
        .trim()
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            return Err(bad());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('"') {
            return Err(bad());
        }
        let mut value = String::new();
        loop {
            match chars.next().ok_or_else(bad)? {
                '"' => break,
                '\\' => match chars.next().ok_or_else(bad)? {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        out.push((name, value));
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// The request body: protobuf, snappy block-compressed (Go's `snappy.Encode`).
pub fn encode(req: &PushRequest) -> Result<Bytes, snap::Error> {
    let raw = req.encode_to_vec();
    Ok(Bytes::from(pdata::snappy::compress(&raw)?))
}

/// What Loki does with a body: snappy-decode, then protobuf-decode.
pub fn decode(body: &[u8]) -> Result<PushRequest, String> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    PushRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))
}

/// A `PushRequest` encoded as it is made, without message structs: each stream's entries
/// are written straight into that stream's buffer, and [`PushWriter::finish`] frames the
/// streams with their labels. The bytes are the ones prost writes for the [`PushRequest`]
/// of the same streams and entries (hash 0, no structured metadata): the exporter's lines
/// are copied once, into place, with no `String` and no `Entry` per line.
#[derive(Debug, Default, Clone)]
pub struct PushWriter {
    /// Labels and the encoded `entries` fields (tag, length, `Entry`) of each stream.
    streams: Vec<(String, Vec<u8>)>,
    entries: usize,
    /// Entries the caller expects in all ([`PushWriter::expect`]).
    expected: usize,
}

impl PushWriter {
    /// Tells how many entries are coming: a stream's first entry makes room for as many of
    /// its size as are still expected (at most 16 MiB), so that the stream's buffer does
    /// not grow by copies.
    pub fn expect(&mut self, entries: usize) {
        self.expected = entries;
    }

    /// Adds an empty stream; returns its index for [`PushWriter::push`].
    pub fn add_stream(&mut self, labels: String) -> usize {
        self.streams.push((labels, Vec::new()));
        self.streams.len() - 1
    }

    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Appends an entry to stream `stream` (an index [`PushWriter::add_stream`] gave).
    pub fn push(&mut self, stream: usize, ts: Timestamp, line: &[u8]) {
        self.entries += 1;
        let out = &mut self.streams[stream].1;
        // google.protobuf.Timestamp, by prost (fields left out when 0), into a stack buffer.
        let mut t = [0u8; 22];
        let tl = {
            let mut buf = &mut t[..];
            ts.encode_raw(&mut buf);
            22 - buf.len()
        };
        // Entry: the timestamp always (required), the line unless empty.
        let line_field = if line.is_empty() {
            0
        } else {
            1 + varint_len(line.len() as u64) + line.len()
        };
        let entry_len = 1 + varint_len(tl as u64) + tl + line_field;
        let size = 1 + varint_len(entry_len as u64) + entry_len;
        if out.capacity() == 0 {
            let coming = self.expected.saturating_sub(self.entries - 1).max(1);
            out.reserve(size.saturating_mul(coming).min(16 << 20).max(size));
        } else {
            out.reserve(size);
        }
        out.push(0x12);
        put_varint(out, entry_len as u64);
        out.push(0x0a);
        put_varint(out, tl as u64);
        out.extend_from_slice(&t[..tl]);
        if !line.is_empty() {
            out.push(0x12);
            put_varint(out, line.len() as u64);
            out.extend_from_slice(line);
        }
    }

    /// The `PushRequest`'s protobuf encoding.
    pub fn finish(&self) -> Vec<u8> {
        let size: usize = self
            .streams
            .iter()
            .map(|(l, e)| 12 + l.len() + e.len())
            .sum();
        let mut out = Vec::with_capacity(size);
        for (labels, entries) in &self.streams {
            stream_head(&mut out, labels, entries.len());
            out.extend_from_slice(entries);
        }
        out
    }

    /// The request body, as [`encode`] makes it: protobuf, snappy. One stream (a batch of
    /// one file's lines) is compressed as its frame and its entries, without copying the
    /// entries behind the frame first ([`pdata::snappy::compress_parts`]).
    pub fn encode(&self) -> Result<Bytes, snap::Error> {
        if let [(labels, entries)] = &self.streams[..] {
            let mut head = Vec::with_capacity(12 + labels.len());
            stream_head(&mut head, labels, entries.len());
            return Ok(Bytes::from(pdata::snappy::compress_parts(&[
                &head, entries,
            ])?));
        }
        Ok(Bytes::from(pdata::snappy::compress(&self.finish())?))
    }

    /// The messages these bytes encode (for tests and summaries).
    pub fn to_request(&self) -> PushRequest {
        PushRequest::decode(self.finish().as_slice()).unwrap_or_default()
    }
}

/// A `streams` field's tag and length and its stream's `labels` field: what precedes the
/// stream's `entries_len` bytes of entries.
fn stream_head(out: &mut Vec<u8>, labels: &str, entries_len: usize) {
    let labels_field = if labels.is_empty() {
        0
    } else {
        1 + varint_len(labels.len() as u64) + labels.len()
    };
    out.push(0x0a);
    put_varint(out, (labels_field + entries_len) as u64);
    if !labels.is_empty() {
        out.push(0x0a);
        put_varint(out, labels.len() as u64);
        out.extend_from_slice(labels.as_bytes());
    }
}

fn varint_len(v: u64) -> usize {
    prost::encoding::encoded_len_varint(v)
}

fn put_varint(out: &mut Vec<u8>, v: u64) {
    prost::encoding::encode_varint(v, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: u64) -> PushRequest {
        // A small deterministic generator (xorshift) so the round trip sees varied shapes:
        // empty and multi-byte lines, negative and zero timestamps, many streams.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = ["a", "é", "世", "\n", "\"", "=", " ", "\u{0}", "🙂", "z"];
        let text = |max: u64, next: &mut dyn FnMut() -> u64| {
            let n = next() % max;
            (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect::<String>()
        };
        let streams = (0..next() % 5)
            .map(|_| Stream {
                labels: text(20, &mut next),
                entries: (0..next() % 6)
                    .map(|_| Entry {
                        timestamp: Timestamp::from_unix_nanos(next() as i64),
                        line: text(200, &mut next),
                        structured_metadata: Vec::new(),
                    })
                    .collect(),
                hash: 0,
            })
            .collect();
        PushRequest { streams }
    }

    /// The writer's bytes are prost's for the same messages: empty and multi-byte lines,
    /// negative, zero and large timestamps, empty labels, streams without entries.
    #[test]
    fn the_push_writer_encodes_what_prost_encodes() {
        let mut entries = 0;
        for seed in 0..2000 {
            let req = sample(seed);
            let mut w = PushWriter::default();
            // Told how many entries come (rightly, too few, too many) or not at all.
            w.expect(
                (seed % 4) as usize * req.streams.iter().map(|s| s.entries.len()).sum::<usize>()
                    / 2,
            );
            for s in &req.streams {
                let i = w.add_stream(s.labels.clone());
                for e in &s.entries {
                    w.push(i, e.timestamp, e.line.as_bytes());
                    entries += 1;
                }
            }
            assert_eq!(w.finish(), req.encode_to_vec(), "seed {seed}");
            assert_eq!(w.to_request(), req);
            assert_eq!(decode(&w.encode().unwrap()).unwrap(), req);
        }
        assert!(entries > 1000);
        // Timestamps at the edges of the varint sizes.
        for (seconds, nanos) in [
            (0, 0),
            (-1, 0),
            (i64::MIN, 999_999_999),
            (127, 128),
            (1 << 40, 1),
        ] {
            let req = PushRequest {
                streams: vec![Stream {
                    labels: "{a=\"b\"}".into(),
                    entries: vec![Entry {
                        timestamp: Timestamp { seconds, nanos },
                        line: "x".repeat(200),
                        structured_metadata: Vec::new(),
                    }],
                    hash: 0,
                }],
            };
            let mut w = PushWriter::default();
            let i = w.add_stream(req.streams[0].labels.clone());
            w.push(i, Timestamp { seconds, nanos }, "x".repeat(200).as_bytes());
            assert_eq!(w.finish(), req.encode_to_vec(), "{seconds} {nanos}");
        }
    }

    #[test]
    fn push_request_round_trips_through_snappy_and_protobuf() {
        for seed in 0..2000 {
            let req = sample(seed);
            let body = encode(&req).unwrap();
            assert_eq!(decode(&body).unwrap(), req, "seed {seed}");
        }
    }

    #[test]
    fn timestamps_are_floored_like_go_time_unix() {
        assert_eq!(
            Timestamp::from_unix_nanos(1_500_000_000_123),
            Timestamp {
                seconds: 1500,
                nanos: 123
            }
        );
        assert_eq!(
            Timestamp::from_unix_nanos(-1),
            Timestamp {
                seconds: -1,
                nanos: 999_999_999
            }
        );
    }

    #[test]
    fn label_sets_parse_with_escapes_and_errors_are_clear() {
        assert_eq!(
            parse_labels(r#"{job="varlogs", a="x\"y\\z" }"#).unwrap(),
            vec![
                ("a".into(), "x\"y\\z".into()),
                ("job".into(), "varlogs".into())
            ]
        );
        assert_eq!(parse_labels("{}").unwrap(), vec![]);
        assert!(parse_labels(r#"{job=varlogs}"#).is_err());
        assert!(parse_labels(r#"job="x""#).is_err());
    }

    #[test]
    fn wire_bytes_are_lokis() {
        // One stream `{a="b"}` with one entry at 1s+2ns, line "x": written field by field
        // as gogoproto writes Loki's types.
        let req = PushRequest {
            streams: vec![Stream {
                labels: "{a=\"b\"}".into(),
                entries: vec![Entry {
                    timestamp: Timestamp {
                        seconds: 1,
                        nanos: 2,
                    },
                    line: "x".into(),
                    structured_metadata: Vec::new(),
                }],
                hash: 0,
            }],
        };
        let want: Vec<u8> = [
            &[0x0a, 20][..],              // streams, len 20
            &[0x0a, 7],                   // labels, len 7
            b"{a=\"b\"}",                 //
            &[0x12, 9],                   // entries, len 9
            &[0x0a, 4, 0x08, 1, 0x10, 2], // timestamp {seconds 1, nanos 2}
            &[0x12, 1, b'x'],             // line
        ]
        .concat();
        assert_eq!(req.encode_to_vec(), want);
        // A zero timestamp is still written (empty message).
        let e = Entry {
            timestamp: Timestamp::default(),
            line: String::new(),
            structured_metadata: Vec::new(),
        };
        assert_eq!(e.encode_to_vec(), vec![0x0a, 0]);
    }
}
