//! Severity parsing for the stanza `severity` block and the `severity_parser` operator, as the
//! Go collector does it (`pkg/stanza/operator/helper/severity_builder.go`, `severity.go`):
//! a preset table (`default`, `none`, `otel`/`aliases`) plus the user's `mapping`, looked up
//! with the lower-cased string form of the value; no match gives severity 0 and keeps the
//! value as the severity text. Severity numbers are OTLP's (1 = TRACE .. 24 = FATAL4), which
//! stanza's internal scale maps to one for one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The `mapping` key of a severity config: severity alias -> value(s), in config order.
/// Values are what YAML gives: a scalar, a list, a `{min, max}` map or `2xx`..`5xx`.
/// Keys are kept as strings whatever YAML type they had (`1: foo` is the key `"1"`), as Go's
/// confmap does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeverityMapping(pub IndexMap<String, Value>);

impl<'de> Deserialize<'de> for SeverityMapping {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SeverityMapping;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of severity names to values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SeverityMapping::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SeverityMapping::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = IndexMap::new();
                while let Some((k, v)) = m.next_entry::<Value, Value>()? {
                    let key = match k {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    out.insert(key, v);
                }
                Ok(SeverityMapping(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// OTLP severity names, index = severity number.
const SHORT_NAMES: [&str; 25] = [
    "DEFAULT", "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4",
    "INFO", "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2",
    "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
];

/// The canonical name of a severity number, as Go's `entry.Severity.String()` (`ERROR`,
/// `INFO3`, `DEFAULT` for 0). Numbers above 24 have no name here and answer `""`.
pub fn short_name(severity: u8) -> &'static str {
    SHORT_NAMES.get(severity as usize).copied().unwrap_or("")
}

/// The error Go's severity parser returns for a value of another type (Go type names such as
/// `bool`, `int64`, `map[string]interface {}`): `parse: type %T cannot be a severity`.
pub fn type_error(go_type: &str) -> String {
    format!("parse: type {go_type} cannot be a severity")
}

/// A built severity parser: preset plus mapping, and whether to overwrite the text.
#[derive(Debug, Clone)]
pub struct SeverityParser {
    /// Lower-cased value -> (severity, order of insertion); later insertions win, as Go's
    /// map assignments do.
    exact: HashMap<Box<str>, (u8, u32)>,
    /// `{min, max}` and `Nxx` ranges, kept as intervals instead of Go's expanded strings so a
    /// wide range costs no memory; they match the decimal form of an integer in the range.
    ranges: Vec<(i64, i64, u8, u32)>,
    overwrite_text: bool,
}

/// The `aliases` preset: names and the numbers "1".."24".
fn aliases() -> Vec<(String, u8)> {
    let mut v = Vec::with_capacity(48);
    for (i, base) in ["trace", "debug", "info", "warn", "error", "fatal"]
        .iter()
        .enumerate()
    {
        for k in 0..4u8 {
            let sev = (i as u8) * 4 + 1 + k;
            let name = if k == 0 {
                base.to_string()
            } else {
                format!("{base}{}", k + 1)
            };
            v.push((name, sev));
            v.push((sev.to_string(), sev));
        }
    }
    v
}

/// Go's `strings.ToLower` (per character, no context rules).
fn go_lower(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            // Go's unicode.ToLower maps İ to a plain i.
            out.push('i');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Cow::Owned(out)
}

/// The Go type name of a YAML-decoded config value, for error texts.
fn go_config_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A Go `int` from a YAML number, if it is one.
fn config_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

enum Parseable {
    Exact(String),
    Range(i64, i64),
}

/// Go's `parseableValues` for one config value.
fn parseable(v: &Value) -> Result<Parseable, String> {
    let err = || format!("type {} cannot be parsed as a severity", go_config_type(v));
    match v {
        Value::Number(_) => config_int(v)
            .map(|i| Parseable::Exact(i.to_string()))
            .ok_or_else(err),
        Value::String(s) => Ok(match s.as_str() {
            "2xx" => Parseable::Range(200, 299),
            "3xx" => Parseable::Range(300, 399),
            "4xx" => Parseable::Range(400, 499),
            "5xx" => Parseable::Range(500, 599),
            _ => Parseable::Exact(go_lower(s).into_owned()),
        }),
        Value::Object(m) => match (
            m.get("min").and_then(config_int),
            m.get("max").and_then(config_int),
        ) {
            (Some(a), Some(b)) => Ok(Parseable::Range(a.min(b), a.max(b))),
            _ => Err(err()),
        },
        _ => Err(err()),
    }
}

/// Whether `s` is exactly Go's `strconv.Itoa` of some integer, and which.
fn canonical_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let b = digits.as_bytes();
    if b.is_empty()
        || !b.iter().all(u8::is_ascii_digit)
        || (b[0] == b'0' && (b.len() > 1 || digits.len() != s.len()))
    {
        return None;
    }
    s.parse().ok()
}

impl SeverityParser {
    /// Builds the table: the `preset` (`default` for `""` and unknown names, as Go), then the
    /// `mapping` entries in config order. Keys are looked up in the `aliases` table; an unknown
    /// key maps its values to severity 0, as Go does. Errors carry Go's texts.
    pub fn new(
        preset: &str,
        mapping: &SeverityMapping,
        overwrite_text: bool,
    ) -> Result<SeverityParser, String> {
        let mut p = SeverityParser {
            exact: HashMap::new(),
            ranges: Vec::new(),
            overwrite_text,
        };
        let mut seq = 0u32;
        match preset {
            "none" => {}
            "otel" | "aliases" => {
                for (k, s) in aliases() {
                    p.exact.insert(k.into(), (s, 0));
                }
            }
            _ => {
                for (k, s) in aliases() {
                    p.exact.insert(k.into(), (s, 0));
                }
                for (i, base) in ["warning", "err"].iter().enumerate() {
                    for k in 0..4u8 {
                        let sev = if i == 0 { 13 } else { 17 } + k;
                        let name = if k == 0 {
                            base.to_string()
                        } else {
                            format!("{base}{}", k + 1)
                        };
                        p.exact.insert(name.into(), (sev, 0));
                    }
                }
            }
        }
        let alias_table: HashMap<String, u8> = aliases().into_iter().collect();
        for (key, value) in &mapping.0 {
            let sev = alias_table
                .get(go_lower(key).as_ref())
                .copied()
                .unwrap_or(0);
            let items: &[Value] = match value {
                // Go's type switch skips a nil value.
                Value::Null => continue,
                Value::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            for item in items {
                seq += 1;
                match parseable(item)? {
                    Parseable::Exact(s) => {
                        p.exact.insert(s.into(), (sev, seq));
                    }
                    Parseable::Range(a, b) => p.ranges.push((a, b, sev, seq)),
                }
            }
        }
        Ok(p)
    }

    fn find(&self, key: &str) -> Option<u8> {
        let exact = self.exact.get(key).copied();
        if self.ranges.is_empty() {
            return exact.map(|(s, _)| s);
        }
        let mut best = exact;
        if let Some(n) = canonical_int(key) {
            for &(a, b, sev, seq) in &self.ranges {
                if (a..=b).contains(&n) && best.is_none_or(|(_, s)| seq > s) {
                    best = Some((sev, seq));
                }
            }
        }
        best.map(|(s, _)| s)
    }

    fn text(&self, sev: u8) -> Option<&'static str> {
        (self.overwrite_text && sev != 0).then(|| short_name(sev))
    }

    /// Parses a string (or byte string) value. Returns the severity number (0 when not
    /// found) and `Some(name)` when `overwrite_text` replaces the text; `None` means the
    /// severity text is the value itself, unchanged. Does not allocate for ASCII values of up
    /// to 64 bytes.
    pub fn parse_str(&self, s: &str) -> (u8, Option<&'static str>) {
        let sev = if s.len() <= 64 && s.is_ascii() {
            let mut buf = [0u8; 64];
            let b = &mut buf[..s.len()];
            b.copy_from_slice(s.as_bytes());
            b.make_ascii_lowercase();
            // ASCII in, ASCII out.
            std::str::from_utf8(b).ok().and_then(|k| self.find(k))
        } else {
            self.find(&go_lower(s))
        };
        let sev = sev.unwrap_or(0);
        (sev, self.text(sev))
    }

    /// Parses a Go `int` value (what YAML and `add` give). Returns the severity and the
    /// severity text: the decimal form of the value, or the canonical name with
    /// `overwrite_text`. (Go refuses `int64` values, e.g. from `json_parser` with
    /// `parse_ints`; the caller words that with [`type_error`]`("int64")` if it models them.)
    pub fn parse_int(&self, v: i64) -> (u8, Cow<'static, str>) {
        let text = v.to_string();
        let sev = self.find(&text).unwrap_or(0);
        match self.text(sev) {
            Some(name) => (sev, Cow::Borrowed(name)),
            None => (sev, Cow::Owned(text)),
        }
    }

    /// Parses a float64 value (JSON numbers): only whole numbers are looked up, by their
    /// integer form; others fail with Go's text (`parse: type float64 cannot be a severity
    /// unless it is a whole number`).
    pub fn parse_float(&self, v: f64) -> Result<(u8, Cow<'static, str>), String> {
        // Go: v != float64(int(v)), with amd64's conversion of out-of-range values to MinInt64.
        // 2^63 as f64; NaN fails the range test too.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        let as_int = if !(-LIMIT..LIMIT).contains(&v) {
            i64::MIN
        } else {
            v as i64
        };
        if v != as_int as f64 {
            return Err(
                "parse: type float64 cannot be a severity unless it is a whole number".to_string(),
            );
        }
        Ok(self.parse_int(as_int))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(yaml_like: Value) -> SeverityMapping {
        match serde_json::from_value(yaml_like) {
            Ok(m) => m,
            Err(e) => panic!("mapping: {e}"),
        }
    }

    fn build(preset: &str, m: Value, overwrite: bool) -> SeverityParser {
        match SeverityParser::new(preset, &mapping(m), overwrite) {
            Ok(p) => p,
            Err(e) => panic!("build: {e}"),
        }
    }

    #[test]
    fn short_names_are_the_canonical_ones() {
        let want = [
            (0, "DEFAULT"),
            (1, "TRACE"),
            (6, "DEBUG2"),
            (9, "INFO"),
            (16, "WARN4"),
            (17, "ERROR"),
            (23, "FATAL3"),
            (24, "FATAL4"),
            (25, ""),
        ];
        for (n, name) in want {
            assert_eq!(short_name(n), name);
        }
    }
    fn check(p: &SeverityParser, v: &Value, want: (u8, Result<&str, &str>)) {
        let got: Result<(u8, String), String> = match v {
            Value::String(s) => {
                let (n, t) = p.parse_str(s);
                Ok((n, t.map(str::to_string).unwrap_or_else(|| s.clone())))
            }
            Value::Number(n) if n.is_i64() => {
                let (n, t) = p.parse_int(n.as_i64().unwrap_or_default());
                Ok((n, t.into_owned()))
            }
            Value::Number(n) => p
                .parse_float(n.as_f64().unwrap_or_default())
                .map(|(n, t)| (n, t.into_owned())),
            other => panic!("unsupported test value {other}"),
        };
        let want = match want.1 {
            Ok(t) => Ok((want.0, t.to_string())),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(got, want, "{v}");
    }

    /// Every row was run through otelcol-contrib 0.135 (filelog + severity_parser into
    /// otlphttp); expected = the severityNumber and severityText it sent, or the error it logged.
    /// JSON numbers arrive as float64 in Go (the `V::F` rows).
    #[test]
    fn presets_and_values_match_the_go_collector() {
        // (preset, overwrite_text, value, severity, text or error)
        type Row = (
            &'static str,
            bool,
            Value,
            u8,
            Result<&'static str, &'static str>,
        );
        let cases: &[Row] = &[
            ("", false, json!("error"), 17, Ok("error")),
            ("", false, json!("ERROR"), 17, Ok("ERROR")),
            ("", false, json!("Err"), 17, Ok("Err")),
            ("", false, json!("warning"), 13, Ok("warning")),
            ("", false, json!("WARNING2"), 14, Ok("WARNING2")),
            ("", false, json!("err4"), 20, Ok("err4")),
            ("", false, json!("fatal4"), 24, Ok("fatal4")),
            ("", false, json!("17"), 17, Ok("17")),
            ("", false, json!("24"), 24, Ok("24")),
            ("", false, json!("25"), 0, Ok("25")),
            ("", false, json!("0"), 0, Ok("0")),
            ("", false, json!("nope"), 0, Ok("nope")),
            ("", false, json!("\u{130}NFO"), 9, Ok("\u{130}NFO")),
            ("otel", false, json!("warning"), 0, Ok("warning")),
            ("otel", false, json!("err"), 0, Ok("err")),
            ("otel", false, json!("info3"), 11, Ok("info3")),
            ("otel", false, json!("9"), 9, Ok("9")),
            ("aliases", false, json!("debug2"), 6, Ok("debug2")),
            ("none", false, json!("error"), 0, Ok("error")),
            ("none", false, json!("9"), 0, Ok("9")),
            ("bogus", false, json!("warning"), 13, Ok("warning")),
            ("", false, json!(17.0), 17, Ok("17")),
            (
                "",
                false,
                json!(17.5),
                0,
                Err("parse: type float64 cannot be a severity unless it is a whole number"),
            ),
            (
                "",
                false,
                json!(1e20),
                0,
                Err("parse: type float64 cannot be a severity unless it is a whole number"),
            ),
            ("", false, json!(-0.0), 0, Ok("0")),
            ("", true, json!("eRRor"), 17, Ok("ERROR")),
            ("", true, json!("nope"), 0, Ok("nope")),
            ("", true, json!("13"), 13, Ok("WARN")),
            ("", true, json!(9.0), 9, Ok("INFO")),
            ("", true, json!(9), 9, Ok("INFO")),
            ("", false, json!(21), 21, Ok("21")),
        ];
        for (preset, overwrite, v, n, text) in cases {
            let p = build(preset, json!({}), *overwrite);
            check(&p, v, (*n, *text));
        }
    }

    #[test]
    fn mappings_add_scalars_lists_ranges_and_http_classes() {
        let p = build(
            "",
            json!({"error": "oops", "warn": ["w1", "W2", {"min": 7, "max": 5}], "info": "2xx",
                   "fatal": ["5xx", 503], "debug": 404, "nosuch": "zz", "ERROR2": "e2", "1": "one"}),
            false,
        );
        let cases: &[(&str, u8)] = &[
            ("OOPS", 17),
            ("w2", 13),
            ("6", 13),
            ("7", 13),
            ("8", 8),
            ("250", 9),
            ("503", 21),
            ("599", 21),
            ("404", 5),
            ("zz", 0),
            ("e2", 18),
            ("one", 1),
            ("error", 17),
            ("4xx", 0),
            ("2xx", 0),
        ];
        for (v, n) in cases {
            check(&p, &json!(v), (*n, Ok(v)));
        }
        assert_eq!(p.parse_int(404), (5, Cow::Borrowed("404")));
    }

    #[test]
    fn range_matches_only_the_decimal_form() {
        let p = build("", json!({"error": "200", "info": "2xx"}), false);
        for (v, n) in [("200", 9), ("201", 9), ("0200", 0), ("+200", 0), ("2e2", 0)] {
            check(&p, &json!(v), (n, Ok(v)));
        }
        let p = build("", json!({"info": {"min": -3, "max": -1}}), false);
        for (v, n) in [("-2", 9), ("-0", 0), ("-4", 0)] {
            check(&p, &json!(v), (n, Ok(v)));
        }
        // A huge range costs nothing (Go would expand it into strings).
        let p = build(
            "",
            json!({"info": {"min": 0, "max": 4_000_000_000i64}}),
            false,
        );
        check(&p, &json!("3999999999"), (9, Ok("3999999999")));
    }

    #[test]
    fn later_mapping_entries_win_in_config_order() {
        // Go iterates its mapping map in random order; we take config order, one of its outcomes.
        let ordered = |pairs: &[(&str, Value)]| {
            SeverityMapping(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        let build_ordered = |pairs: &[(&str, Value)]| {
            SeverityParser::new("", &ordered(pairs), false).unwrap_or_else(|e| panic!("{e}"))
        };
        let p = build_ordered(&[("info", json!("200")), ("error", json!("200"))]);
        check(&p, &json!("200"), (17, Ok("200")));
        let p = build_ordered(&[("error", json!("200")), ("info", json!("200"))]);
        check(&p, &json!("200"), (9, Ok("200")));
        let p = build_ordered(&[("error", json!("200")), ("info", json!("2xx"))]);
        check(&p, &json!("200"), (9, Ok("200")));
        let p = build_ordered(&[("info", json!("2xx")), ("error", json!("200"))]);
        check(&p, &json!("200"), (17, Ok("200")));
    }

    #[test]
    fn mapping_keys_are_aliases_and_unknown_keys_map_to_zero() {
        // `warning` is not in the aliases table that keys are checked against.
        let p = build(
            "",
            json!({"warning": "x", "nosuch": "zz", "WARN3": "w3"}),
            false,
        );
        check(&p, &json!("x"), (0, Ok("x")));
        check(&p, &json!("w3"), (15, Ok("w3")));
        // An unknown key overrides a preset entry with 0.
        let p = build("", json!({"nosuch": "error"}), true);
        check(&p, &json!("error"), (0, Ok("error")));
        // A nil value is skipped.
        let p = build("", json!({"info": null}), false);
        check(&p, &json!("info"), (9, Ok("info")));
    }

    #[test]
    fn overwrite_text_keeps_unmatched_values() {
        let p = build("", json!({"error": "oops", "nosuch": "zz"}), true);
        assert_eq!(p.parse_str("OOPS"), (17, Some("ERROR")));
        assert_eq!(p.parse_str("zz"), (0, None));
        assert_eq!(p.parse_int(99), (0, Cow::Borrowed("99")));
    }

    #[test]
    fn bad_mapping_values_are_refused_with_go_errors() {
        let cases = [
            (
                json!({"info": ["a", null]}),
                "type <nil> cannot be parsed as a severity",
            ),
            (
                json!({"info": 1.5}),
                "type float64 cannot be parsed as a severity",
            ),
            (
                json!({"info": true}),
                "type bool cannot be parsed as a severity",
            ),
            (
                json!({"info": [["a"]]}),
                "type []interface {} cannot be parsed as a severity",
            ),
            (
                json!({"info": {"min": 1}}),
                "type map[string]interface {} cannot be parsed as a severity",
            ),
            (
                json!({"info": {"min": "1", "max": 3}}),
                "type map[string]interface {} cannot be parsed as a severity",
            ),
        ];
        for (m, want) in cases {
            match SeverityParser::new("", &mapping(m.clone()), false) {
                Ok(_) => panic!("{m} accepted"),
                Err(e) => assert_eq!(e, want, "{m}"),
            }
        }
    }

    #[test]
    fn mapping_deserializes_with_non_string_keys() {
        let m: SeverityMapping =
            match serde_json::from_str(r#"{"error": [1, "2xx"], "info": {"min": 1, "max": 2}}"#) {
                Ok(m) => m,
                Err(e) => panic!("{e}"),
            };
        assert_eq!(m.0.keys().collect::<Vec<_>>(), ["error", "info"]);
        let empty: SeverityMapping = serde_json::from_str("null").unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.0.is_empty());
    }

    #[test]
    fn non_scalar_values_get_the_go_type_error() {
        assert_eq!(
            type_error("int64"),
            "parse: type int64 cannot be a severity"
        );
    }
}
