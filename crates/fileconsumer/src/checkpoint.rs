//! Checkpoints in the Go collector's v0.115 format (`internal/checkpoint`): under the key
//! `file_input.knownFiles`, a JSON stream of the record count followed by one object per
//! known file (`Fingerprint.first_bytes` base64, `Offset`, `RecordNum`, `FileAttributes`,
//! `HeaderFinalized`, `FlushState`), so either collector can resume from the other's.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::Attributes;
use crate::fingerprint::Fingerprint;
use crate::matcher::days_from_civil;
use crate::split::FlushState;

/// The storage key: the `file_input` operator id and Go's `knownFiles`.
pub const KNOWN_FILES_KEY: &str = "file_input.knownFiles";
/// Where the next archive slot (`knownFiles<i>`, `polls_to_archive`) is kept: Go's
/// `knownFilesArchiveIndex`, a little-endian u64.
pub const ARCHIVE_INDEX_KEY: &str = "file_input.knownFilesArchiveIndex";

/// What the engine remembers about a file between reads and across restarts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Metadata {
    pub fingerprint: Fingerprint,
    pub offset: u64,
    pub record_num: i64,
    pub attributes: Arc<Attributes>,
    pub header_finalized: bool,
    pub flush: FlushState,
}

#[derive(Serialize, Deserialize, Default)]
struct FingerprintJson {
    #[serde(default)]
    first_bytes: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FlushJson {
    #[serde(rename = "LastDataChange", default)]
    last_data_change: Option<String>,
    #[serde(rename = "LastDataLength", default)]
    last_data_length: i64,
}

#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(rename = "Fingerprint", default)]
    fingerprint: Option<FingerprintJson>,
    #[serde(rename = "Offset", default)]
    offset: i64,
    #[serde(rename = "RecordNum", default)]
    record_num: i64,
    #[serde(rename = "FileAttributes", default)]
    file_attributes: Option<Attributes>,
    #[serde(rename = "HeaderFinalized", default)]
    header_finalized: bool,
    #[serde(rename = "FlushState", default)]
    flush_state: Option<FlushJson>,
}

/// Encodes the metadata as Go's `json.Encoder` would write it.
pub(crate) fn encode<'a>(all: impl ExactSizeIterator<Item = &'a Metadata>) -> Vec<u8> {
    let mut out = format!("{}\n", all.len()).into_bytes();
    for m in all {
        let rec = Record {
            fingerprint: Some(FingerprintJson {
                first_bytes: Some(
                    base64::engine::general_purpose::STANDARD.encode(&m.fingerprint.0),
                ),
            }),
            offset: i64::try_from(m.offset).unwrap_or(i64::MAX),
            record_num: m.record_num,
            file_attributes: Some((*m.attributes).clone()),
            header_finalized: m.header_finalized,
            flush_state: Some(FlushJson {
                last_data_change: Some(format_rfc3339_nano(m.flush.last_data_change)),
                last_data_length: m.flush.last_data_length as i64,
            }),
        };
        // Serializing plain structs of strings, numbers and JSON maps cannot fail.
        if let Ok(json) = serde_json::to_vec(&rec) {
            out.extend_from_slice(&json);
            out.push(b'\n');
        }
    }
    out
}

/// Decodes a checkpoint with Go's error texts.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Metadata>, String> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>();
    let count = match stream.next() {
        None => return Ok(Vec::new()),
        Some(v) => v
            .map_err(|e| format!("decoding file count: {e}"))?
            .as_i64()
            .ok_or_else(|| "decoding file count: not a number".to_string())?,
    };
    let mut out = Vec::with_capacity(count.clamp(0, 10_000) as usize);
    for _ in 0..count {
        let v = stream
            .next()
            .ok_or_else(|| "unexpected EOF".to_string())?
            .map_err(|e| e.to_string())?;
        let rec: Record = serde_json::from_value(v).map_err(|e| e.to_string())?;
        let first_bytes = rec
            .fingerprint
            .and_then(|f| f.first_bytes)
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
            .transpose()
            .map_err(|e| format!("decode fingerprint: {e}"))?
            .unwrap_or_default();
        let mut attributes = rec.file_attributes.unwrap_or_default();
        // readers of old collectors kept header attributes apart
        if let Some(serde_json::Value::Object(ha)) = attributes.remove("HeaderAttributes") {
            attributes.extend(ha);
        }
        let flush = rec.flush_state.unwrap_or(FlushJson {
            last_data_change: None,
            last_data_length: 0,
        });
        out.push(Metadata {
            fingerprint: Fingerprint(first_bytes),
            offset: u64::try_from(rec.offset).unwrap_or(0),
            record_num: rec.record_num,
            attributes: Arc::new(attributes),
            header_finalized: rec.header_finalized,
            flush: FlushState {
                last_data_change: flush
                    .last_data_change
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .unwrap_or(UNIX_EPOCH),
                last_data_length: usize::try_from(flush.last_data_length).unwrap_or(0),
                dropping: false,
            },
        });
    }
    Ok(out)
}

/// Go's `time.RFC3339Nano` in UTC.
pub(crate) fn format_rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses RFC 3339 (`Z` or `±hh:mm`, optional fraction); times before 1970 clamp to it.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let n = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        let padded = format!("{:0<9}", &digits[..digits.len().min(9)]);
        nanos = padded.parse().ok()?;
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let off = n(i + 1..i + 3)? * 3600 + n(i + 4..i + 6)? * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    if secs < 0 {
        return Some(UNIX_EPOCH);
    }
    Some(UNIX_EPOCH + Duration::new(secs as u64, nanos))
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_gos_output() {
        // as written by the Go collector (v0.115) for one file
        let go = br#"1
{"Fingerprint":{"first_bytes":"aGVsbG8K"},"Offset":6,"RecordNum":1,"FileAttributes":{"log.file.name":"a.log","HeaderAttributes":{"env":"prod"}},"HeaderFinalized":false,"FlushState":{"LastDataChange":"2024-12-01T10:20:30.123456789+01:00","LastDataLength":0}}
"#;
        let got = decode(go).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fingerprint.0, b"hello\n");
        assert_eq!(got[0].offset, 6);
        assert_eq!(got[0].record_num, 1);
        assert_eq!(got[0].attributes["log.file.name"], "a.log");
        assert_eq!(got[0].attributes["env"], "prod");
        assert!(!got[0].attributes.contains_key("HeaderAttributes"));
        assert_eq!(
            format_rfc3339_nano(got[0].flush.last_data_change),
            "2024-12-01T09:20:30.123456789Z"
        );
        let again = encode(got.iter());
        let text = String::from_utf8(again.clone()).unwrap();
        assert!(text.starts_with("1\n{\"Fingerprint\":{\"first_bytes\":\"aGVsbG8K\"},\"Offset\":6,\"RecordNum\":1,\"FileAttributes\":{"), "{text}");
        assert_eq!(decode(&again).unwrap(), got);
    }

    #[test]
    fn empty_and_bad_checkpoints() {
        assert_eq!(decode(b"").unwrap(), vec![]);
        assert_eq!(decode(b"0\n").unwrap(), vec![]);
        assert!(decode(b"x").unwrap_err().starts_with("decoding file count"));
        assert_eq!(decode(b"2\n{}\n").unwrap_err(), "unexpected EOF");
    }

    #[test]
    fn formats_times_like_go() {
        assert_eq!(format_rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(format_rfc3339_nano(t), "2023-11-14T22:13:20.5Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.5Z"), Some(t));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some(UNIX_EPOCH));
    }
}
