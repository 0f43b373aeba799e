//! Go library text formats that exporters' output depends on, reproduced byte for byte:
//! `encoding/json` of pdata's `AsRaw()` (HTML escaping on, as `json.Marshal`, for the loki
//! exporter's lines; off for the debug exporter's `AsString`, as its golden files show), pdata's
//! `Value.AsString()`, `strconv.Quote` (label values in `{k="v"}`), and the Prometheus label
//! name sanitising of `pkg/translator/prometheus.NormalizeLabel`.

use std::fmt::Write as _;

use pdata::gojson;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};

use crate::util::gofmt::{base64, es6};

/// Go `encoding/json` refused a value (NaN or an infinity); the text is Go's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(pub String);

impl Unsupported {
    fn float(f: f64) -> Unsupported {
        let name = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        Unsupported(format!("json: unsupported value: {name}"))
    }
}

/// A JSON string as `json.Marshal` writes it: `\"`, `\\`, `\b \f \n \r \t`, other control
/// characters as `\u00xx`, `<`, `>`, `&` as `\u003c` `\u003e` `\u0026` (HTML escaping), and
/// U+2028/U+2029 escaped.
pub(crate) fn json_string(out: &mut String, s: &str) {
    json_string_escaped(out, s, true)
}

/// [`json_string`] with HTML escaping of `<`, `>`, `&` on or off.
pub(crate) fn json_string_escaped(out: &mut String, s: &str, html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    gojson::escape_str_into(out, s, html);
    out.push('"');
}

/// A string [`json_string`] wrote: its text and where its escaped form (between the quotes)
/// is in the output.
pub(crate) struct Escaped<'a> {
    pub(crate) text: &'a str,
    pub(crate) at: std::ops::Range<usize>,
}

/// [`json_string`] into `out`, which holds `done` where it says: when `s` is the tail of
/// `done.text` (the same memory, as a parser's last group is the tail of the line it took it
/// from) and the part of the text before it needs no escaping, `s`'s escaped form is the tail
/// of `done`'s (escaping goes character by character), and it is copied, not made again.
pub(crate) fn json_string_after(out: &mut String, s: &str, done: &Escaped<'_>) {
    let (text, at) = (done.text.as_bytes(), s.as_ptr() as usize);
    let start = text.as_ptr() as usize;
    if at >= start && at + s.len() == start + text.len() {
        let k = at - start;
        if gojson::escaped_tail_is_suffix(text, k) && done.at.end <= out.len() {
            out.push('"');
            out.extend_from_within(done.at.start + k..done.at.end);
            out.push('"');
            return;
        }
    }
    json_string(out, s)
}

/// `json.Marshal(map.AsRaw())`: keys sorted bytewise, a repeated key keeps its last value.
/// `skip` leaves keys out (the exporter's removed hint and label attributes).
pub(crate) fn json_map(
    out: &mut String,
    kvs: &[KeyValue],
    skip: &dyn Fn(&str) -> bool,
) -> Result<(), Unsupported> {
    write_map(out, kvs, skip, true)
}

fn write_map(
    out: &mut String,
    kvs: &[KeyValue],
    skip: &dyn Fn(&str) -> bool,
    html: bool,
) -> Result<(), Unsupported> {
    out.push('{');
    for (n, i) in kept_pairs(kvs, skip).into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        json_string_escaped(out, &kvs[i].key, html);
        out.push(':');
        write_value(out, kvs[i].value.as_ref(), html)?;
    }
    out.push('}');
    Ok(())
}

/// The pairs of `kvs` a JSON map writes, as indices in the order written: keys `skip`
/// leaves out are left out, the rest sorted by key, and of a repeated key only the last
/// (Go's map keeps the last value). A record has a handful of attributes: sorting their
/// indices on the stack is cheaper than a map per record.
fn kept_pairs(kvs: &[KeyValue], skip: &dyn Fn(&str) -> bool) -> smallvec::SmallVec<[usize; 16]> {
    kept_indices(kvs.len(), |i| kvs[i].key.as_str(), skip)
}

/// [`kept_pairs`] of `n` pairs whose keys `key` gives.
fn kept_indices<'a>(
    n: usize,
    key: impl Fn(usize) -> &'a str,
    skip: &dyn Fn(&str) -> bool,
) -> smallvec::SmallVec<[usize; 16]> {
    let mut sorted: smallvec::SmallVec<[usize; 16]> = (0..n).filter(|&i| !skip(key(i))).collect();
    // Stable: a repeated key's pairs stay in their order, the last one last.
    sorted.sort_by(|&a, &b| key(a).as_bytes().cmp(key(b).as_bytes()));
    let mut kept = smallvec::SmallVec::new();
    for (j, &i) in sorted.iter().enumerate() {
        if sorted.get(j + 1).is_none_or(|&next| key(next) != key(i)) {
            kept.push(i);
        }
    }
    kept
}

/// A plan's pairs: [`kept_indices`] with each key written as JSON, with its colon.
fn planned_pairs<'a>(
    n: usize,
    key: impl Fn(usize) -> &'a str,
    skip: &dyn Fn(&str) -> bool,
) -> Vec<(usize, String)> {
    kept_indices(n, &key, skip)
        .into_iter()
        .map(|i| {
            let mut k = String::new();
            json_string(&mut k, key(i));
            k.push(':');
            (i, k)
        })
        .collect()
}

/// How [`json_map`] writes maps whose keys come in one order, worked out once: which pairs
/// a map keeps, in the order Go writes them, with their keys already written. The records
/// of one file or one resource mostly carry the same attribute keys in the same order, so
/// the sorting, the `skip` calls and the key escaping are done once for all of them.
#[derive(Debug, Default)]
pub(crate) struct MapPlan {
    /// The keys of the map the plan was made for, in its order.
    keys: Vec<String>,
    /// (index of a kept pair, its key written as JSON with the colon), in output order.
    kept: Vec<(usize, String)>,
}

impl MapPlan {
    /// The plan for `kvs` under `skip`; made again when the keys differ from the last map's.
    /// A plan is only valid for one `skip`: a caller keeps one per skip function.
    pub(crate) fn for_map(&mut self, kvs: &[KeyValue], skip: &dyn Fn(&str) -> bool) -> &MapPlan {
        let same =
            self.keys.len() == kvs.len() && self.keys.iter().zip(kvs).all(|(k, kv)| *k == kv.key);
        if !same {
            self.keys = kvs.iter().map(|kv| kv.key.clone()).collect();
            self.kept = planned_pairs(kvs.len(), |i| kvs[i].key.as_str(), skip);
        }
        self
    }

    /// Whether a map under this plan writes no pair.
    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// [`json_map`] of the map the plan was made for (HTML escaping on).
    pub(crate) fn write(&self, out: &mut String, kvs: &[KeyValue]) -> Result<(), Unsupported> {
        out.push('{');
        for (n, (i, key)) in self.kept.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(key);
            write_value(out, kvs[*i].value.as_ref(), true)?;
        }
        out.push('}');
        Ok(())
    }
}

fn write_slice(out: &mut String, values: &[AnyValue], html: bool) -> Result<(), Unsupported> {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(out, Some(v), html)?;
    }
    out.push(']');
    Ok(())
}

/// One `AsRaw()` value: bytes as base64 (empty bytes are a nil slice in Go: `null`), unset
/// values as `null`, floats as ES6 numbers.
pub(crate) fn json_value(out: &mut String, v: Option<&AnyValue>) -> Result<(), Unsupported> {
    write_value(out, v, true)
}

/// A map (`html` escaping on or off) as [`json_map`] writes it, without skipped keys.
pub(crate) fn json_map_escaped(
    out: &mut String,
    kvs: &[KeyValue],
    html: bool,
) -> Result<(), Unsupported> {
    write_map(out, kvs, &|_| false, html)
}

/// A slice (`html` escaping on or off).
pub(crate) fn json_slice_escaped(
    out: &mut String,
    values: &[AnyValue],
    html: bool,
) -> Result<(), Unsupported> {
    write_slice(out, values, html)
}

fn write_value(out: &mut String, v: Option<&AnyValue>, html: bool) -> Result<(), Unsupported> {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json_string_escaped(out, s, html),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => {
            if !d.is_finite() {
                return Err(Unsupported::float(*d));
            }
            out.push_str(&es6(*d));
        }
        Some(Value::BytesValue(b)) if b.is_empty() => out.push_str("null"),
        Some(Value::BytesValue(b)) => {
            out.push('"');
            out.push_str(&base64(b));
            out.push('"');
        }
        Some(Value::KvlistValue(kv)) => write_map(out, &kv.values, &|_| false, html)?,
        Some(Value::ArrayValue(a)) => write_slice(out, &a.values, html)?,
        Some(Value::StringValueStrindex(_)) | None => out.push_str("null"),
    }
    Ok(())
}

/// [`json_value`] of a stanza value, as of the OTLP value it converts to
/// (`stanza::convert::any_value`): the loki exporter writes lines of a receiver's entries
/// without converting them first.
pub(crate) fn json_stanza_value(out: &mut String, v: &stanza::Value) -> Result<(), Unsupported> {
    use stanza::Value as S;
    match v {
        S::Nil => out.push_str("null"),
        S::Str(s) => json_string(out, s),
        S::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        S::Int(i) => {
            let _ = write!(out, "{i}");
        }
        S::Float(d) => {
            if !d.is_finite() {
                return Err(Unsupported::float(*d));
            }
            out.push_str(&es6(*d));
        }
        S::Bytes(b) if b.is_empty() => out.push_str("null"),
        S::Bytes(b) => {
            out.push('"');
            out.push_str(&base64(b));
            out.push('"');
        }
        S::Map(m) => {
            let pairs: smallvec::SmallVec<[(&str, &stanza::Value); 16]> =
                m.iter().map(|(k, v)| (k.as_str(), v)).collect();
            out.push('{');
            for (n, i) in kept_indices(pairs.len(), |i| pairs[i].0, &|_| false)
                .into_iter()
                .enumerate()
            {
                if n > 0 {
                    out.push(',');
                }
                json_string(out, pairs[i].0);
                out.push(':');
                json_stanza_value(out, pairs[i].1)?;
            }
            out.push('}');
        }
        S::List(l) => {
            out.push('[');
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_stanza_value(out, v)?;
            }
            out.push(']');
        }
    }
    Ok(())
}

/// [`MapPlan`] for stanza maps (entries of one file carry the same keys, mostly interned:
/// compared without their text).
#[derive(Debug, Default)]
pub(crate) struct StanzaMapPlan {
    keys: Vec<stanza::Key>,
    kept: Vec<(usize, String)>,
}

impl StanzaMapPlan {
    /// The plan for `m` under `skip` (one plan per skip function).
    pub(crate) fn for_map(
        &mut self,
        m: &stanza::Map,
        skip: &dyn Fn(&str) -> bool,
    ) -> &StanzaMapPlan {
        let same =
            self.keys.len() == m.len() && self.keys.iter().zip(m.keys()).all(|(a, b)| a == b);
        if !same {
            self.keys = m.keys().cloned().collect();
            self.kept = planned_pairs(self.keys.len(), |i| self.keys[i].as_str(), skip);
        }
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// `json_map` of the map the plan was made for. A string value that is the tail of a
    /// text already written (`done`) is copied from its escaped form there.
    pub(crate) fn write(
        &self,
        out: &mut String,
        m: &stanza::Map,
        done: Option<&Escaped<'_>>,
    ) -> Result<(), Unsupported> {
        out.push('{');
        for (n, (i, key)) in self.kept.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(key);
            // The plan was made for this map's keys: every index is within it.
            let value = m.value_at(*i).unwrap_or(&stanza::Value::Nil);
            match (value, done) {
                (stanza::Value::Str(v), Some(done)) => json_string_after(out, v, done),
                (v, _) => json_stanza_value(out, v)?,
            }
        }
        out.push('}');
        Ok(())
    }
}

/// pdata's `Value.AsString()`: maps and slices as `json.Marshal` text (empty when that
/// fails), bytes as base64, floats as ES6 numbers (Go's error text for NaN/Inf).
pub(crate) fn as_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) if !d.is_finite() => {
            let name = if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "+Inf"
            } else {
                "-Inf"
            };
            format!("json: unsupported value: {name}")
        }
        Some(Value::DoubleValue(d)) => es6(*d),
        Some(Value::BytesValue(b)) => base64(b),
        Some(Value::KvlistValue(kv)) => {
            let mut s = String::new();
            match json_map(&mut s, &kv.values, &|_| false) {
                Ok(()) => s,
                Err(_) => String::new(),
            }
        }
        Some(Value::ArrayValue(a)) => {
            let mut s = String::new();
            match write_slice(&mut s, &a.values, true) {
                Ok(()) => s,
                Err(_) => String::new(),
            }
        }
        Some(Value::StringValueStrindex(_)) | None => String::new(),
    }
}

/// pdata's `Value.Str()`: the string of a string value, else empty.
pub(crate) fn str_of(v: Option<&AnyValue>) -> &str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// Go `strconv.Quote`: `"`-quoted, `\"` and `\\`, printable runes as they are, `\a \b \f \n
/// \r \t \v`, other ASCII controls as `\xNN`, other non-printable runes as `\uNNNN` or
/// `\UNNNNNNNN`.
///
/// Go's `unicode.IsPrint` needs the Unicode tables; this treats as non-printable: controls,
/// white space other than U+0020, the format characters (Cf), private use and
/// noncharacters. Unassigned code points (Go escapes them) are kept as they are.
pub(crate) fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
}

fn is_print(c: char) -> bool {
    let u = c as u32;
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format = matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F);
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD);
    let nonchar = matches!(u, 0xFDD0..=0xFDEF) || (u & 0xFFFE) == 0xFFFE;
    !(format || private || nonchar)
}

/// `prometheus.NormalizeLabel` with its default feature gates: every rune that is not a
/// letter or digit becomes `_`; a leading ASCII digit gets `key_`, a single leading `_`
/// gets `key` (`__` is kept).
///
/// Go tests letters and digits with `unicode.IsLetter`/`IsDigit`; Rust's alphabetic and
/// numeric properties also admit letter-like numbers and combining vowel signs.
pub(crate) fn normalize_label(label: &str) -> String {
    if label.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(label.len() + 4);
    for c in label.chars() {
        let keep = if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            c.is_alphabetic() || c.is_numeric()
        };
        s.push(if keep { c } else { '_' });
    }
    if s.as_bytes()[0].is_ascii_digit() {
        s.insert_str(0, "key_");
    } else if s.starts_with('_') && !s.starts_with("__") {
        s.insert_str(0, "key");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tail of a text already escaped is copied from the output when it can be, and is in
    /// every case what escaping it alone gives.
    #[test]
    fn a_tail_of_an_escaped_text_is_escaped_as_by_itself() {
        let texts = [
            "2024-05-01T12:00:00Z stdout F msg=\"GET /\" <b>&\u{2028}é\\ end\n",
            "plain prefix then \"quoted\"",
            "a\"quote early, plain tail",
            "",
            "€uro and \u{2029} and \t tab",
        ];
        let mut copied = 0;
        for text in texts {
            for k in (0..=text.len()).filter(|&k| text.is_char_boundary(k)) {
                let mut out = String::from("{\"body\":");
                let start = out.len() + 1;
                json_string(&mut out, text);
                let done = Escaped {
                    text,
                    at: start..out.len() - 1,
                };
                let before = out.len();
                json_string_after(&mut out, &text[k..], &done);
                let mut alone = String::new();
                json_string(&mut alone, &text[k..]);
                assert_eq!(&out[before..], alone, "{text:?} from {k}");
                copied += usize::from(gojson::escaped_tail_is_suffix(text.as_bytes(), k));
                // The same text elsewhere in memory is not a tail of `done`: escaped anew.
                let elsewhere = text[k..].to_string();
                let before = out.len();
                json_string_after(&mut out, &elsewhere, &done);
                assert_eq!(&out[before..], alone);
            }
        }
        assert!(copied > 20, "the copying path was taken {copied} times");
    }

    fn s(v: &str) -> AnyValue {
        AnyValue {
            value: Some(Value::StringValue(v.into())),
        }
    }

    #[test]
    fn json_strings_escape_html_and_controls_as_go() {
        let mut out = String::new();
        json_string(&mut out, "a<b>&\"\\\n\t\u{1}\u{8}\u{2028}é");
        assert_eq!(out, r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\b\u2028é""#);
        // Other characters whose UTF-8 starts with 0xE2 (U+2014, U+2027, U+202A, U+2713) pass
        // through the byte scan; U+2029 is escaped; HTML escaping can be turned off.
        out.clear();
        json_string(&mut out, "—\u{2027}\u{2029}\u{202a}✓");
        assert_eq!(out, "\"—\u{2027}\\u2029\u{202a}✓\"");
        out.clear();
        json_string_escaped(&mut out, "<&>", false);
        assert_eq!(out, "\"<&>\"");
    }

    #[test]
    fn json_maps_sort_keys_keep_the_last_of_a_repeated_key_and_skip_as_told() {
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(s(v)),
            ..KeyValue::default()
        };
        let kvs = [
            kv("b", "1"),
            kv("c", "x"),
            kv("a", "y"),
            kv("b", "2"),
            kv("b", "3"),
        ];
        let mut out = String::new();
        json_map(&mut out, &kvs, &|_| false).unwrap();
        assert_eq!(out, r#"{"a":"y","b":"3","c":"x"}"#);
        out.clear();
        json_map(&mut out, &kvs, &|k| k == "b").unwrap();
        assert_eq!(out, r#"{"a":"y","c":"x"}"#);
        out.clear();
        json_map(&mut out, &kvs, &|_| true).unwrap();
        assert_eq!(out, "{}");
    }

    /// A plan kept across maps writes each as `json_map` does: repeated keys, skipped keys,
    /// keys needing escapes, and maps whose keys change from one to the next (the plan is
    /// made again) or whose values change while the keys stay.
    #[test]
    fn a_kept_plan_writes_every_map_as_json_map_does() {
        let kv = |k: &str, v: &str| KeyValue {
            key: k.into(),
            value: Some(s(v)),
            ..KeyValue::default()
        };
        let skip = |k: &str| k == "pod" || k.starts_with("loki.");
        let maps = [
            vec![kv("time", "t1"), kv("stream", "stdout"), kv("log", "a\"b")],
            vec![kv("time", "t2"), kv("stream", "stderr"), kv("log", "<c>")],
            vec![kv("time", "t3"), kv("log", "d"), kv("stream", "stdout")],
            vec![kv("b", "1"), kv("a", "2"), kv("b", "3"), kv("pod", "p")],
            vec![kv("b", "4"), kv("a", "5"), kv("b", "6"), kv("pod", "q")],
            vec![kv("pod", "only"), kv("loki.format", "json")],
            vec![],
            vec![kv("k\u{2028}<", "v"), kv("ä", "ö")],
            vec![kv("time", "t4"), kv("stream", "stdout"), kv("log", "e")],
        ];
        let mut plan = MapPlan::default();
        for m in &maps {
            let mut want = String::new();
            json_map(&mut want, m, &skip).unwrap();
            let p = plan.for_map(m, &skip);
            let mut got = String::new();
            p.write(&mut got, m).unwrap();
            assert_eq!(got, want, "{m:?}");
            assert_eq!(p.is_empty(), want == "{}", "{m:?}");
        }
    }

    /// The word-at-a-time scan must find a special byte at any offset of a long plain run,
    /// including the last bytes that do not fill a word.
    #[test]
    fn specials_are_escaped_at_every_offset_of_a_long_line() {
        let specials = [
            ("\"", "\\\""),
            ("\\", "\\\\"),
            ("\n", "\\n"),
            ("\u{1f}", "\\u001f"),
            ("<", "\\u003c"),
            (">", "\\u003e"),
            ("&", "\\u0026"),
            ("\u{2028}", "\\u2028"),
        ];
        for (raw, escaped) in specials {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 100] {
                for at in 0..=len {
                    let plain = "abcdefgh-é-xyz0123456789abcdefghijklmnopqrstuvwxyz".repeat(3);
                    let mut text = plain.chars().take(len).collect::<String>();
                    let byte_at = text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
                    text.insert_str(byte_at, raw);
                    let mut out = String::new();
                    json_string(&mut out, &text);
                    let want = format!(
                        "\"{}{}{}\"",
                        &text[..byte_at],
                        escaped,
                        &text[byte_at + raw.len()..]
                    );
                    assert_eq!(out, want, "{raw:?} at char {at} of {len}");
                }
            }
        }
        // Bytes at or above 0x80 other than 0xE2 never stop the scan.
        let mut out = String::new();
        json_string(&mut out, "ééééééééééé");
        assert_eq!(out, "\"ééééééééééé\"");
    }

    #[test]
    fn quote_matches_strconv_quote() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("\n\t\u{7}\u{b}\u{0}\u{7f}", r#""\n\t\a\v\x00\x7f""#),
            ("héllo 世界", "\"héllo 世界\""),
            ("\u{a0}\u{200b}\u{feff}", r#""\u00a0\u200b\ufeff""#),
            ("\u{f0000}", r#""\U000f0000""#),
            ("\u{fffd}", "\"\u{fffd}\""),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            quote(&mut out, input);
            assert_eq!(out, want, "{input:?}");
        }
    }

    #[test]
    fn labels_are_normalized_as_prometheus_translator() {
        let cases = [
            ("", ""),
            ("service.name", "service_name"),
            ("k8s.pod.name", "k8s_pod_name"),
            ("http-method", "http_method"),
            ("0abc", "key_0abc"),
            ("_abc", "key_abc"),
            ("__abc", "__abc"),
            (".abc", "key_abc"),
            ("日本", "日本"),
            ("level", "level"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_label(input), want, "{input:?}");
        }
    }

    #[test]
    fn as_string_is_pdatas() {
        let map = AnyValue {
            value: Some(Value::KvlistValue(pdata::proto::common::v1::KeyValueList {
                values: vec![
                    KeyValue {
                        key: "z".into(),
                        value: Some(s("<1>")),
                        ..KeyValue::default()
                    },
                    KeyValue {
                        key: "a".into(),
                        value: Some(AnyValue {
                            value: Some(Value::DoubleValue(1e21)),
                        }),
                        ..KeyValue::default()
                    },
                ],
            })),
        };
        assert_eq!(as_string(Some(&map)), r#"{"a":1e+21,"z":"\u003c1\u003e"}"#);
        let nan = AnyValue {
            value: Some(Value::DoubleValue(f64::NAN)),
        };
        assert_eq!(as_string(Some(&nan)), "json: unsupported value: NaN");
        assert_eq!(as_string(None), "");
        let bytes = AnyValue {
            value: Some(Value::BytesValue(b"abc".to_vec())),
        };
        assert_eq!(as_string(Some(&bytes)), "YWJj");
    }
}
