//! The Loki push API on the wire (`POST /loki/api/v1/push`: a snappy block holding a protobuf
//! `logproto.PushRequest`), written and read without message structs: the floor appends
//! entries straight into their encoded form ([`PushBuilder`]) and the sink walks the bytes
//! ([`walk_push`]).
//!
//! ```text
//! PushRequest   { repeated StreamAdapter streams = 1; }
//! StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//! EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//!                 repeated LabelPairAdapter structuredMetadata = 3; }
//! Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::wire::WireError;
use crate::wire::fields;

/// The push path of the Loki HTTP API.
pub const PUSH_PATH: &str = "/loki/api/v1/push";

/// Marker the generator writes at the start of every message (`seq=<n> `); the sink reads the
/// number after the first occurrence in each line to count distinct lines and duplicates.
pub const SEQ_MARK: &[u8] = b"seq=";

use crate::wire::LEN;
const VARINT: u64 = 0;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn tag(field: u64, wire: u64) -> u64 {
    (field << 3) | wire
}

/// A Loki timestamp: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

impl Timestamp {
    pub fn now() -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }

    /// The encoded `google.protobuf.Timestamp` message body (zero fields omitted), in a fixed
    /// buffer so that encoding an entry allocates nothing; returns the bytes used.
    fn encode(self, out: &mut [u8; 22]) -> usize {
        fn put(out: &mut [u8; 22], at: &mut usize, mut v: u64) {
            while v >= 0x80 {
                out[*at] = (v as u8) | 0x80;
                *at += 1;
                v >>= 7;
            }
            out[*at] = v as u8;
            *at += 1;
        }
        // At most 1 + 10 bytes per field: both fit in 22.
        let mut at = 0;
        if self.seconds != 0 {
            put(out, &mut at, tag(1, VARINT));
            put(out, &mut at, self.seconds as u64);
        }
        if self.nanos != 0 {
            put(out, &mut at, tag(2, VARINT));
            // int32: negative values take ten bytes, as protobuf sign-extends them.
            put(out, &mut at, i64::from(self.nanos) as u64);
        }
        at
    }
}

/// Formats a label set the way Loki and the Go exporter write it (Prometheus `LabelSet.String`:
/// names sorted, values quoted): `{a="1", b="2"}`.
pub fn format_labels(pairs: &[(&str, &str)]) -> String {
    let mut sorted: Vec<_> = pairs.to_vec();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut s = String::from("{");
    for (i, (k, v)) in sorted.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// Builds one `PushRequest` entry by entry, keeping each stream's entries already encoded.
/// Streams are kept in first-seen order; reusing the builder after [`PushBuilder::finish`]
/// reuses its buffers.
#[derive(Debug, Default)]
pub struct PushBuilder {
    /// (labels, encoded `EntryAdapter` fields with their tags) per stream.
    streams: Vec<(String, Vec<u8>)>,
    used: usize,
    entries: usize,
    /// Index of the stream the last entry went to: consecutive entries of one file hit it.
    last: usize,
}

impl PushBuilder {
    pub fn new() -> PushBuilder {
        PushBuilder::default()
    }

    /// Entries added since the last [`PushBuilder::finish`].
    pub fn entries(&self) -> usize {
        self.entries
    }

    fn stream(&mut self, labels: &str) -> &mut Vec<u8> {
        let idx = if self.last < self.used && self.streams[self.last].0 == labels {
            self.last
        } else if let Some(i) = self.streams[..self.used]
            .iter()
            .position(|(l, _)| l == labels)
        {
            i
        } else {
            if self.used == self.streams.len() {
                self.streams.push((String::new(), Vec::new()));
            }
            let slot = &mut self.streams[self.used];
            slot.0.clear();
            slot.0.push_str(labels);
            slot.1.clear();
            self.used += 1;
            self.used - 1
        };
        self.last = idx;
        &mut self.streams[idx].1
    }

    /// Adds one entry whose line is `line` as it is.
    pub fn push(&mut self, labels: &str, ts: Timestamp, line: &[u8]) {
        self.entries += 1;
        let out = self.stream(labels);
        let mut ts_body = [0u8; 22];
        let ts_len = ts.encode(&mut ts_body);
        let body_len = 1 + varint_len(ts_len as u64) + ts_len + 1 + varint_len(line.len() as u64);
        let body_len = body_len + line.len();
        put_varint(out, tag(2, LEN));
        put_varint(out, body_len as u64);
        put_varint(out, tag(1, LEN));
        put_varint(out, ts_len as u64);
        out.extend_from_slice(&ts_body[..ts_len]);
        put_varint(out, tag(2, LEN));
        put_varint(out, line.len() as u64);
        out.extend_from_slice(line);
    }

    /// Writes the `PushRequest` into `out` (cleared first) and empties the builder.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.clear();
        for (labels, entries) in &self.streams[..self.used] {
            let labels_field = 1 + varint_len(labels.len() as u64) + labels.len();
            put_varint(out, tag(1, LEN));
            put_varint(out, (labels_field + entries.len()) as u64);
            put_varint(out, tag(1, LEN));
            put_varint(out, labels.len() as u64);
            out.extend_from_slice(labels.as_bytes());
            out.extend_from_slice(entries);
        }
        self.used = 0;
        self.entries = 0;
        self.last = 0;
    }
}

/// What a push request holds, as counted by [`walk_push`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCounts {
    pub streams: u64,
    pub entries: u64,
    /// Bytes of all entry lines.
    pub line_bytes: u64,
}

/// Walks a decoded (not snappy) `PushRequest`, counting streams, entries and line bytes;
/// calls `on_labels` with each stream's label string and `on_line` with each entry's line.
pub fn walk_push<'a>(
    body: &'a [u8],
    mut on_labels: impl FnMut(&'a [u8]),
    mut on_line: impl FnMut(&'a [u8]),
) -> Result<PushCounts, WireError> {
    let mut c = PushCounts::default();
    fields(body, |field, wire, stream| {
        if field != 1 {
            return Ok(());
        }
        if wire != LEN {
            return Err(WireError(
                "PushRequest.streams is not length-delimited".into(),
            ));
        }
        c.streams += 1;
        fields(stream, |field, wire, value| {
            match (field, wire) {
                (1, LEN) => on_labels(value),
                (2, LEN) => {
                    c.entries += 1;
                    fields(value, |field, wire, v| {
                        if field == 2 && wire == LEN {
                            c.line_bytes += v.len() as u64;
                            on_line(v);
                        }
                        Ok(())
                    })?;
                }
                (1 | 2, _) => {
                    return Err(WireError(format!(
                        "StreamAdapter field {field} is not length-delimited"
                    )));
                }
                _ => {}
            }
            Ok(())
        })
    })?;
    Ok(c)
}

/// Reads the number after the first [`SEQ_MARK`] in `line`, if any.
pub fn line_seq(line: &[u8]) -> Option<u64> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SEQ_MARK));
    let at = FINDER.find(line)? + SEQ_MARK.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_len_matches_the_encoding() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(varint_len(v), out.len(), "{v}");
        }
    }

    #[test]
    fn labels_are_sorted_and_quoted() {
        assert_eq!(
            format_labels(&[("pod", "p\"1"), ("container", "app")]),
            r#"{container="app", pod="p\"1"}"#
        );
    }

    #[test]
    fn built_push_walks_back_to_the_same_streams_and_lines() {
        let mut b = PushBuilder::new();
        let ts = Timestamp {
            seconds: 1_714_564_800,
            nanos: 123_456_789,
        };
        b.push("{a=\"1\"}", ts, b"one seq=7");
        b.push("{a=\"2\"}", ts, b"two");
        b.push("{a=\"1\"}", Timestamp::default(), b"three seq=9");
        assert_eq!(b.entries(), 3);
        let mut out = Vec::new();
        b.finish(&mut out);
        assert_eq!(b.entries(), 0);
        let (mut labels, mut lines) = (Vec::new(), Vec::new());
        let c = walk_push(
            &out,
            |l| labels.push(l.to_vec()),
            |l| lines.push(l.to_vec()),
        )
        .unwrap();
        assert_eq!(
            c,
            PushCounts {
                streams: 2,
                entries: 3,
                line_bytes: 23
            }
        );
        assert_eq!(labels, vec![b"{a=\"1\"}".to_vec(), b"{a=\"2\"}".to_vec()]);
        assert_eq!(
            lines,
            vec![
                b"one seq=7".to_vec(),
                b"three seq=9".to_vec(),
                b"two".to_vec()
            ]
        );
        assert_eq!(line_seq(&lines[0]), Some(7));
        assert_eq!(line_seq(&lines[2]), None);
    }

    #[test]
    fn truncated_pushes_are_errors_not_panics() {
        let mut b = PushBuilder::new();
        b.push("{a=\"1\"}", Timestamp::now(), b"hello");
        let mut out = Vec::new();
        b.finish(&mut out);
        for cut in 1..out.len() {
            assert!(
                walk_push(&out[..cut], |_| {}, |_| {}).is_err(),
                "cut at {cut}"
            );
        }
    }
}
