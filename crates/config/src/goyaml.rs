//! Plain scalars that Go's yaml.v3 reads as numbers but serde_yaml_ng (YAML 1.2 core schema)
//! reads as strings: `1_000_000`, `0777` (YAML 1.1 octal), `0O17`, `0X1F`, `09` (a float in
//! Go!), `1_000.5`. Configs written for the Go collector use them, so before serde_yaml_ng
//! parses a document, each such plain scalar is rewritten in place to the canonical number
//! yaml.v3 gives it. Quoted scalars are strings in both and are never touched.
//!
//! The scalar's style and position come from saphyr-parser's event stream; serde_yaml_ng's
//! `Value` forgets both. A document saphyr-parser cannot read is left as it is, so that
//! serde_yaml_ng reports the syntax error in its usual words.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// `text` with every plain scalar that yaml.v3 resolves to a number spelled canonically.
pub fn normalize(text: &str) -> Cow<'_, str> {
    // Every rewritten form has a digit: a document without one needs no event pass.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(text);
    }
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return Cow::Borrowed(text);
        };
        if let Event::Scalar(value, ScalarStyle::Plain, _, None) = &event
            && let Some(canonical) = rewrite(value)
        {
            edits.push((span.start.index(), span.end.index(), canonical));
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(text);
    }
    // Spans count characters; map them to byte offsets once.
    let byte_at: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, canonical) in edits {
        let (Some(&bs), Some(&be)) = (byte_at.get(start), byte_at.get(end)) else {
            return Cow::Borrowed(text);
        };
        // Only a single-line scalar whose source text is exactly its value is rewritten.
        if bs < last || text.get(bs..be).is_none_or(|src| rewrite(src).is_none()) {
            continue;
        }
        out.push_str(&text[last..bs]);
        out.push_str(&canonical);
        last = be;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The canonical spelling of `plain` when yaml.v3 resolves it to a number that serde_yaml_ng
/// would not read the same way; `None` when both agree (or it is not a number).
fn rewrite(plain: &str) -> Option<String> {
    let first = *plain.as_bytes().first()?;
    // yaml.v3's resolve table: numbers start with a digit, a sign or a dot.
    if !(first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.') {
        return None;
    }
    let number = resolve_number(plain)?;
    let canonical = match number {
        Number::Int(i) => i.to_string(),
        Number::Uint(u) => u.to_string(),
        Number::Float(f) if f.is_nan() => ".nan".to_string(),
        Number::Float(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.to_string(),
        Number::Float(f) => format!("{f:?}"),
    };
    // Already canonical (or a form serde_yaml_ng reads alike, e.g. `0x1F`, `1e3`): leave it.
    if serde_reads_alike(plain, number) {
        return None;
    }
    Some(canonical)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i64),
    Uint(u64),
    Float(f64),
}

/// yaml.v3's `resolve` for a plain scalar starting with a digit, sign or dot: underscores
/// removed, then Go's `ParseInt(s, 0, 64)` (0x, 0o, 0b and leading-0 octal prefixes), then
/// `ParseUint`, then the YAML float pattern, then `0b`/`-0b`/`0o`/`-0o` again.
fn resolve_number(plain: &str) -> Option<Number> {
    if let Some(special) = special_float(plain) {
        return Some(Number::Float(special));
    }
    if looks_like_timestamp(plain) {
        return None;
    }
    let s: String = plain.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int(&s) {
        return Some(Number::Int(i));
    }
    if let Some(u) = go_parse_uint(&s) {
        return Some(Number::Uint(u));
    }
    if is_yaml_float(&s) {
        return s.parse::<f64>().ok().map(Number::Float);
    }
    None
}

fn special_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        _ => None,
    }
}

/// yaml.v3 tries a timestamp first for `YYYY-…`; those stay strings in a config map.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// Go's `strconv.ParseInt(s, 0, 64)` on a string without underscores.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_prefixed(body)?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: no sign allowed.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_prefixed(s)
}

fn parse_prefixed(body: &str) -> Option<u64> {
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = match body.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &body[2..]),
        [b'0', b'o' | b'O', ..] => (8, &body[2..]),
        [b'0', b'b' | b'B', ..] => (2, &body[2..]),
        [b'0', _, ..] => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// yaml.v3's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    } else {
        if !digits(&mut i) {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Whether serde_yaml_ng already reads `plain` as this number (so no rewrite is needed).
fn serde_reads_alike(plain: &str, number: Number) -> bool {
    let parsed: Result<serde_yaml_ng::Value, _> = serde_yaml_ng::from_str(plain);
    let Ok(serde_yaml_ng::Value::Number(n)) = parsed else {
        return false;
    };
    match number {
        Number::Int(i) => n.as_i64() == Some(i),
        Number::Uint(u) => n.as_u64() == Some(u),
        Number::Float(f) if f.is_nan() => n.as_f64().is_some_and(f64::is_nan),
        Number::Float(f) => n.is_f64() && n.as_f64() == Some(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> serde_yaml_ng::Value {
        let doc = format!("k: {text}");
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&normalize(&doc)).unwrap();
        v.get("k").unwrap().clone()
    }

    #[test]
    fn plain_scalars_resolve_as_go_yaml_v3_does() {
        use serde_yaml_ng::Value as Y;
        let int = |i: i64| Y::Number(i.into());
        let float = |f: f64| Y::Number(f.into());
        // (source, what yaml.v3 decodes it to)
        let cases: &[(&str, Y)] = &[
            ("1_000_000", int(1_000_000)),
            ("-1_0", int(-10)),
            ("1__0", int(10)),
            ("0777", int(511)),
            ("00", int(0)),
            ("0O17", int(15)),
            ("0B11", int(3)),
            ("0X1f", int(31)),
            ("0x_1F", int(31)),
            ("09", float(9.0)),
            ("018", float(18.0)),
            ("1_000.5", float(1000.5)),
            ("1_0e2", float(1000.0)),
            // already read alike by serde_yaml_ng
            ("0x1F", int(31)),
            ("0o17", int(15)),
            ("-0b101", int(-5)),
            ("+12", int(12)),
            ("1e3", float(1000.0)),
            ("0.5", float(0.5)),
            ("18446744073709551615", Y::Number(u64::MAX.into())),
            // strings in Go too
            ("_100", Y::String("_100".into())),
            ("1_000x", Y::String("1_000x".into())),
            ("2024-01-01", Y::String("2024-01-01".into())),
            ("12:30", Y::String("12:30".into())),
            ("yes", Y::String("yes".into())),
            ("'1_000'", Y::String("1_000".into())),
            ("\"0777\"", Y::String("0777".into())),
        ];
        for (src, want) in cases {
            assert_eq!(&scalar(src), want, "{src}");
        }
    }

    #[test]
    fn rewrites_only_the_plain_scalars_and_keeps_the_rest_of_the_text() {
        let doc = "# 1_000 in a comment\na: 1_000 # trailing\nb: '2_000'\nc: [3_000, \"4_000\", x_1]\nd: |\n  5_000\nkey_1_000: 0777\n";
        let out = normalize(doc);
        assert_eq!(
            out,
            "# 1_000 in a comment\na: 1000 # trailing\nb: '2_000'\nc: [3000, \"4_000\", x_1]\nd: |\n  5_000\nkey_1_000: 511\n"
        );
    }

    #[test]
    fn unicode_before_a_rewrite_keeps_offsets_right() {
        let doc = "name: \"héllo wörld\"\nsize: 1_024\n";
        assert_eq!(normalize(doc), "name: \"héllo wörld\"\nsize: 1024\n");
    }

    #[test]
    fn broken_document_is_left_for_serde_to_report() {
        let doc = "a: [1_000\nb: 2";
        assert_eq!(normalize(doc), doc);
    }
}
