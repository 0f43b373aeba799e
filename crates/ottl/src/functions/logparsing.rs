//! The transform processor's log-only parsing converters (Go
//! `transformprocessor/internal/logparsingfuncs`). Register them with [`register_log`].

use std::sync::OnceLock;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use super::ParamKind::*;
use super::editors::get_string;
use super::{Args, Functions, Param, opt, req};
use crate::contexts::log::LogContext;
use crate::value::Value;
use crate::{ConverterFn, EvalError};

/// Registers the log-context parsing converters (`ParseCLF`, `ParseCEF`, `ParseLEEF`,
/// `ParseELF`).
pub fn register_log(f: &mut Functions<LogContext>) {
    f.converter("ParseCLF", PARSE_CLF, parse_clf)
        .converter("ParseCEF", ONE, parse_cef)
        .converter("ParseLEEF", ONE, parse_leef)
        .converter("ParseELF", ONE, parse_elf);
}

const ONE: &[Param] = &[req("target", Getter)];

const PARSE_CLF: &[Param] = &[req("target", Getter), opt("format", Str)];

fn put_str(m: &mut Vec<KeyValue>, k: &str, v: String) {
    put(m, k, any_value::Value::StringValue(v));
}

fn put(m: &mut Vec<KeyValue>, k: &str, v: any_value::Value) {
    m.push(KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    });
}

/// A quoted field with backslash escapes, as Apache's mod_log_config writes them.
const QUOTED: &str = r#""((?:[^"\\]|\\.)*)""#;

fn clf_re(combined: bool) -> &'static Regex {
    static CLF: OnceLock<Regex> = OnceLock::new();
    static COMBINED: OnceLock<Regex> = OnceLock::new();
    let head = r"^(\S+) (\S+) (\S+) \[([^\]]+)\] ";
    // Fixed patterns: they compile.
    if combined {
        COMBINED.get_or_init(|| {
            goregex::compile(&format!("{head}{QUOTED} (\\S+) (\\S+) {QUOTED} {QUOTED}$"))
                .expect("valid pattern")
        })
    } else {
        CLF.get_or_init(|| {
            goregex::compile(&format!("{head}{QUOTED} (\\S+) (\\S+)$")).expect("valid pattern")
        })
    }
}

/// Undoes mod_log_config's escaping (`\"`, `\\`, C escapes, `\xhh`); anything else stays.
fn unescape_clf(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'\\' || i + 1 == b.len() {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let next = b[i];
        match next {
            b'\\' | b'"' => out.push(next),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    _ => out.extend_from_slice(b"\\x"),
                }
            }
            _ => {
                out.push(b'\\');
                out.push(next);
            }
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go `strconv.ParseInt(s, 10, 64)` with its error text.
fn parse_int(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {s:?}: invalid syntax"));
    }
    s.parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {s:?}: value out of range"))
}

pub(crate) fn parse_clf_message(message: &str, combined: bool) -> Result<Vec<KeyValue>, String> {
    let format = if combined { "combined" } else { "clf" };
    let Some(c) = clf_re(combined).captures(message.trim()) else {
        return Err(format!(
            "invalid CLF message: does not match expected {format:?} format"
        ));
    };
    let g = |i: usize| c.get(i).map_or("", |m| m.as_str());
    let mut m = Vec::with_capacity(12);
    put_str(&mut m, "clf.remote_host", g(1).into());
    put_str(&mut m, "clf.rfc931", g(2).into());
    put_str(&mut m, "clf.authuser", g(3).into());
    put_str(&mut m, "clf.timestamp", g(4).into());
    let request = unescape_clf(g(5));
    put_str(&mut m, "clf.request", request.clone());
    let parts: Vec<&str> = request.splitn(3, ' ').collect();
    if let [method, uri, protocol] = parts[..] {
        put_str(&mut m, "clf.method", method.into());
        put_str(&mut m, "clf.request_uri", uri.into());
        put_str(&mut m, "clf.protocol", protocol.into());
    }
    let status = g(6);
    let status_int =
        parse_int(status).map_err(|e| format!("invalid status code {status:?}: {e}"))?;
    put(&mut m, "clf.status", any_value::Value::IntValue(status_int));
    let bytes = g(7);
    if bytes != "-" {
        let n = parse_int(bytes).map_err(|e| format!("invalid bytes value {bytes:?}: {e}"))?;
        put(&mut m, "clf.bytes", any_value::Value::IntValue(n));
    }
    if combined {
        put_str(&mut m, "clf.referer", unescape_clf(g(8)));
        put_str(&mut m, "clf.user_agent", unescape_clf(g(9)));
    }
    Ok(m)
}

fn parse_clf(mut a: Args<LogContext>) -> Result<ConverterFn<LogContext>, String> {
    let t = a.getter(0);
    let format = a.str(1).unwrap_or_else(|| "clf".into());
    let combined = match format.as_str() {
        "clf" => false,
        "combined" => true,
        other => {
            return Err(format!(
                "invalid format {other:?}: must be \"clf\" or \"combined\""
            ));
        }
    };
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("cannot parse empty CLF message"));
        }
        parse_clf_message(&s, combined)
            .map(Value::Map)
            .map_err(EvalError::new)
    }))
}

/// The first seven unescaped-pipe fields of a CEF message (`CEF:Version` and the six header
/// fields), then the extension as it is, when there is one.
fn split_cef_header(message: &str) -> Result<Vec<String>, String> {
    const HEADER_FIELDS: usize = 7;
    let b = message.as_bytes();
    let mut fields: Vec<String> = Vec::with_capacity(HEADER_FIELDS + 1);
    let mut cur: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && matches!(b.get(i + 1), Some(b'|' | b'\\')) {
            cur.extend_from_slice(&b[i..i + 2]);
            i += 2;
            continue;
        }
        if c == b'|' {
            fields.push(String::from_utf8_lossy(&cur).into_owned());
            cur.clear();
            if fields.len() == HEADER_FIELDS {
                fields.push(message[i + 1..].to_string());
                return Ok(fields);
            }
            i += 1;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    fields.push(String::from_utf8_lossy(&cur).into_owned());
    if fields.len() < HEADER_FIELDS {
        return Err(format!(
            "invalid CEF header: expected at least {HEADER_FIELDS} pipe-delimited fields (CEF:Version, Device Vendor, Device Product, Device Version, Device Event Class ID, Name, Severity), got {}",
            fields.len()
        ));
    }
    Ok(fields)
}

/// `\|` and `\\` in a header field.
fn unescape_cef_header(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && (n == '|' || n == '\\')
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// `\\`, `\=`, `\n`, `\r` in an extension value.
fn unescape_cef_value(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let rep = match chars.peek() {
                Some('\\') => Some('\\'),
                Some('=') => Some('='),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                _ => None,
            };
            if let Some(r) = rep {
                out.push(r);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn cef_key_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // A fixed pattern: it compiles.
    RE.get_or_init(|| goregex::compile(r"(?:^| )([A-Za-z][A-Za-z0-9_]*)=").expect("valid pattern"))
}

/// `key=value` pairs; a value runs to the next ` key=` (values may hold spaces).
fn parse_cef_extensions(ext: &str) -> Vec<KeyValue> {
    let matches: Vec<(usize, usize, &str)> = cef_key_re()
        .captures_iter(ext)
        .filter_map(|c| {
            let whole = c.get(0)?;
            Some((whole.start(), whole.end(), c.get(1)?.as_str()))
        })
        .collect();
    let mut out: Vec<KeyValue> = Vec::with_capacity(matches.len());
    for (i, (_, value_start, key)) in matches.iter().enumerate() {
        let value_end = matches.get(i + 1).map_or(ext.len(), |m| m.0);
        let value = unescape_cef_value(ext[*value_start..value_end].trim_end_matches(' '));
        let v = AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        };
        match out.iter_mut().find(|kv| kv.key == *key) {
            Some(kv) => kv.value = Some(v),
            None => out.push(KeyValue {
                key: key.to_string(),
                value: Some(v),
                ..Default::default()
            }),
        }
    }
    out
}

pub(crate) fn parse_cef_message(message: &str) -> Result<Vec<KeyValue>, String> {
    let Some(start) = message.find("CEF:") else {
        return Err("invalid CEF message: 'CEF:' not found".into());
    };
    let fields = split_cef_header(&message[start..])?;
    let Some(version) = fields[0].strip_prefix("CEF:") else {
        return Err(format!(
            "invalid CEF message: must start with 'CEF:', got {:?}",
            fields[0]
        ));
    };
    if version.is_empty() {
        return Err("invalid CEF message: missing version".into());
    }
    let mut m = Vec::with_capacity(8);
    put_str(&mut m, "cef.version", version.to_string());
    for (i, key) in [
        "cef.device_vendor",
        "cef.device_product",
        "cef.device_version",
        "cef.device_event_class_id",
        "cef.name",
        "cef.severity",
    ]
    .into_iter()
    .enumerate()
    {
        put_str(&mut m, key, unescape_cef_header(&fields[i + 1]));
    }
    let extensions = match fields.get(7) {
        Some(e) if !e.is_empty() => parse_cef_extensions(e),
        _ => Vec::new(),
    };
    put(
        &mut m,
        "cef.extensions",
        any_value::Value::KvlistValue(pdata::proto::common::v1::KeyValueList {
            values: extensions,
        }),
    );
    Ok(m)
}

fn parse_cef(mut a: Args<LogContext>) -> Result<ConverterFn<LogContext>, String> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("cannot parse empty CEF message"));
        }
        parse_cef_message(&s)
            .map(Value::Map)
            .map_err(EvalError::new)
    }))
}

/// LEEF 2.0's delimiter field: a character, or `0x..` naming one byte; tab when empty.
fn leef_delimiter(spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok("\t".into());
    }
    if let Some(h) = spec.strip_prefix("0x").or_else(|| spec.strip_prefix("0X")) {
        if h.is_empty() {
            return Err("empty hex value".into());
        }
        let decoded = hex::decode(h).map_err(|e| {
            let e = match e {
                hex::FromHexError::OddLength => "encoding/hex: odd length hex string".to_string(),
                hex::FromHexError::InvalidHexCharacter { c, .. } => {
                    format!("encoding/hex: invalid byte: U+{:04X} {c:?}", c as u32)
                }
                other => other.to_string(),
            };
            format!("invalid hex delimiter {spec:?}: {e}")
        })?;
        if decoded.len() != 1 {
            return Err(format!(
                "hex delimiter must decode to a single byte, got {} bytes",
                decoded.len()
            ));
        }
        return Ok(String::from_utf8_lossy(&decoded).into_owned());
    }
    Ok(spec.to_string())
}

pub(crate) fn parse_leef_message(message: &str) -> Result<Vec<KeyValue>, String> {
    let Some(start) = message.find("LEEF:") else {
        return Err("invalid LEEF message: 'LEEF:' not found".into());
    };
    let msg = &message[start..];
    let Some(pipe) = msg.find('|') else {
        return Err("invalid LEEF message: missing pipe delimiter in header".into());
    };
    let version = &msg["LEEF:".len()..pipe];
    let rest = &msg[pipe + 1..];
    let (parts, delimiter, attrs): (Vec<&str>, String, &str) = match version {
        "1.0" => {
            let parts: Vec<&str> = rest.splitn(5, '|').collect();
            if parts.len() < 4 {
                return Err(format!(
                    "invalid LEEF 1.0 header: expected at least 4 fields (vendor, product, version, eventID), got {}",
                    parts.len()
                ));
            }
            let attrs = parts.get(4).copied().unwrap_or("");
            (parts, "\t".into(), attrs)
        }
        "2.0" => {
            let parts: Vec<&str> = rest.splitn(6, '|').collect();
            if parts.len() < 5 {
                return Err(format!(
                    "invalid LEEF 2.0 header: expected at least 5 fields (vendor, product, version, eventID, delimiter), got {}",
                    parts.len()
                ));
            }
            let d =
                leef_delimiter(parts[4]).map_err(|e| format!("invalid LEEF 2.0 delimiter: {e}"))?;
            let attrs = parts.get(5).copied().unwrap_or("");
            (parts, d, attrs)
        }
        v => {
            return Err(format!(
                "unsupported LEEF version: {v} (supported: 1.0, 2.0)"
            ));
        }
    };
    let mut m = Vec::with_capacity(6);
    put_str(&mut m, "version", version.to_string());
    put_str(&mut m, "vendor", parts[0].to_string());
    put_str(&mut m, "product_name", parts[1].to_string());
    put_str(&mut m, "product_version", parts[2].to_string());
    put_str(&mut m, "event_id", parts[3].to_string());
    let mut kvs: Vec<KeyValue> = Vec::new();
    if !attrs.is_empty() {
        for pair in attrs.split(delimiter.as_str()) {
            let pair = pair.trim();
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            if k.is_empty() {
                continue;
            }
            let val = AnyValue {
                value: Some(any_value::Value::StringValue(v.to_string())),
            };
            match kvs.iter_mut().find(|kv| kv.key == k) {
                Some(kv) => kv.value = Some(val),
                None => kvs.push(KeyValue {
                    key: k.to_string(),
                    value: Some(val),
                    ..Default::default()
                }),
            }
        }
    }
    put(
        &mut m,
        "attributes",
        any_value::Value::KvlistValue(pdata::proto::common::v1::KeyValueList { values: kvs }),
    );
    Ok(m)
}

fn parse_leef(mut a: Args<LogContext>) -> Result<ConverterFn<LogContext>, String> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("cannot parse empty LEEF message"));
        }
        parse_leef_message(&s)
            .map(Value::Map)
            .map_err(EvalError::new)
    }))
}

/// One data line of an extended log file: whitespace-separated tokens, `"..."` quoting with
/// `""` for a quote inside.
fn elf_data_line(line: &str) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    let (mut i, n) = (0, b.len());
    let mut out = Vec::new();
    while i < n {
        while i < n && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= n {
            break;
        }
        if b[i] != b'"' {
            let start = i;
            while i < n && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            out.push(line[start..i].to_string());
            continue;
        }
        i += 1;
        let mut v: Vec<u8> = Vec::new();
        let mut closed = false;
        while i < n {
            if b[i] != b'"' {
                v.push(b[i]);
                i += 1;
                continue;
            }
            if i + 1 < n && b[i + 1] == b'"' {
                v.push(b'"');
                i += 2;
                continue;
            }
            i += 1;
            closed = true;
            break;
        }
        if !closed {
            return Err(format!("unterminated quoted value in data line: {line:?}"));
        }
        out.push(String::from_utf8_lossy(&v).into_owned());
    }
    Ok(out)
}

pub(crate) fn parse_elf_message(input: &str) -> Result<Vec<KeyValue>, String> {
    let mut head: Vec<KeyValue> = Vec::new();
    let mut entries: Vec<AnyValue> = Vec::new();
    let mut has_version = false;
    let mut fields: Vec<String> = Vec::new();
    let set = |head: &mut Vec<KeyValue>, k: &str, v: &str| {
        let val = AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        };
        match head.iter_mut().find(|kv| kv.key == k) {
            Some(kv) => kv.value = Some(val),
            None => put_str(head, k, v.to_string()),
        }
    };
    for line in input
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if let Some(body) = line.strip_prefix('#') {
            let Some((key, value)) = body.split_once(':') else {
                // a malformed #Fields would silently misread every data line after it
                let t = body.trim();
                if t.len() >= 6 && t.is_char_boundary(6) && t[..6].eq_ignore_ascii_case("fields") {
                    return Err(format!(
                        "invalid ELF: malformed #Fields directive {line:?}: directive {line:?} has no colon separator"
                    ));
                }
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let k = key.to_ascii_lowercase();
            match k.as_str() {
                "version" => {
                    has_version = true;
                    set(&mut head, "elf.version", value);
                }
                "fields" => fields = value.split_whitespace().map(String::from).collect(),
                "software" => set(&mut head, "elf.software", value),
                "date" => set(&mut head, "elf.date", value),
                "start-date" => set(&mut head, "elf.start_date", value),
                "end-date" => set(&mut head, "elf.end_date", value),
                "remark" => set(&mut head, "elf.remark", value),
                _ => {}
            }
            continue;
        }
        if fields.is_empty() {
            return Err("invalid ELF: data entry found before #Fields directive".into());
        }
        let values = elf_data_line(line).map_err(|e| format!("invalid ELF: {e}"))?;
        if values.len() != fields.len() {
            tracing::warn!(
                field_count = fields.len(),
                value_count = values.len(),
                "ELF data line has a different number of values than fields"
            );
        }
        let mut entry: Vec<KeyValue> = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            // fewer values than fields: "-" as Go substitutes
            let v = values.get(i).map_or("-", String::as_str);
            match entry.iter_mut().find(|kv| kv.key == *f) {
                Some(kv) => {
                    kv.value = Some(AnyValue {
                        value: Some(any_value::Value::StringValue(v.to_string())),
                    })
                }
                None => put_str(&mut entry, f, v.to_string()),
            }
        }
        entries.push(AnyValue {
            value: Some(any_value::Value::KvlistValue(
                pdata::proto::common::v1::KeyValueList { values: entry },
            )),
        });
    }
    if !has_version {
        return Err("invalid ELF: missing #Version directive".into());
    }
    let mut m = Vec::with_capacity(head.len() + 2);
    put(
        &mut m,
        "elf.entries",
        any_value::Value::ArrayValue(pdata::proto::common::v1::ArrayValue { values: entries }),
    );
    m.extend(head);
    let field_values = fields
        .into_iter()
        .map(|f| AnyValue {
            value: Some(any_value::Value::StringValue(f)),
        })
        .collect();
    put(
        &mut m,
        "elf.fields",
        any_value::Value::ArrayValue(pdata::proto::common::v1::ArrayValue {
            values: field_values,
        }),
    );
    Ok(m)
}

fn parse_elf(mut a: Args<LogContext>) -> Result<ConverterFn<LogContext>, String> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("cannot parse empty ELF message"));
        }
        parse_elf_message(&s)
            .map(Value::Map)
            .map_err(EvalError::new)
    }))
}
