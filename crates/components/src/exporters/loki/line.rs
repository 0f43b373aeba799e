//! The Loki log line of one record, in the three `loki.format`s of Go's
//! `pkg/translator/loki` (`encode.go`): `json` (its `lokiEntry` struct through
//! `encoding/json`), `logfmt` (key/values through `go-logfmt` v0.6, a string body parsed as
//! logfmt first) and `raw` (`Body().AsString()`).
//!
//! The resource part of a line is the same for every record of a resource unless a record
//! promotes one of the resource's attributes to a label, so callers render it once
//! ([`json_resources`], [`logfmt_resources`]) and hand the text in.

use std::borrow::Cow;
use std::fmt::Write as _;

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::logs::v1::LogRecord;

use crate::util::gofmt::{go_v, id};
use crate::util::gotext::{
    Escaped, MapPlan, StanzaMapPlan, Unsupported, as_string, json_map, json_stanza_value,
    json_string, json_value,
};

/// Which attributes a line leaves out (hints and attributes promoted to labels).
pub(crate) type Skip<'a> = &'a dyn Fn(&str) -> bool;

/// The `"resources":{...}` member, or empty when no resource attribute is left.
pub(crate) fn json_resources(attrs: &[KeyValue], skip: Skip<'_>) -> Result<String, Unsupported> {
    if !attrs.iter().any(|kv| !skip(&kv.key)) {
        return Ok(String::new());
    }
    let mut s = String::from("\"resources\":");
    json_map(&mut s, attrs, skip)?;
    Ok(s)
}

/// The record as Go's `Encode` writes it. `level` is the `level` attribute the exporter
/// added from the severity, when it is not left out. `plan`, when given, is the caller's
/// [`MapPlan`] for `attrs_skip`, kept across the records that share it.
pub(crate) fn json_line(
    lr: &LogRecord,
    attrs_skip: Skip<'_>,
    level: Option<&str>,
    resources: &str,
    scope: Option<&InstrumentationScope>,
    plan: Option<&mut MapPlan>,
) -> Result<String, Unsupported> {
    // Room for the body and the attributes' text without growing (escapes aside).
    let text = |v: &Option<AnyValue>| match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.len(),
        _ => 16,
    };
    let guess = text(&lr.body)
        + lr.attributes
            .iter()
            .map(|kv| kv.key.len() + text(&kv.value) + 6)
            .sum::<usize>();
    let mut out = String::with_capacity(64 + guess + resources.len());
    out.push('{');
    if let Some(body) = lr.body.as_ref().filter(|b| b.value.is_some()) {
        out.push_str("\"body\":");
        json_value(&mut out, Some(body))?;
    }
    let trace = id(&lr.trace_id);
    if !trace.is_empty() {
        sep(&mut out);
        out.push_str("\"traceid\":");
        json_string(&mut out, &trace);
    }
    let span = id(&lr.span_id);
    if !span.is_empty() {
        sep(&mut out);
        out.push_str("\"spanid\":");
        json_string(&mut out, &span);
    }
    if !lr.severity_text.is_empty() {
        sep(&mut out);
        out.push_str("\"severity\":");
        json_string(&mut out, &lr.severity_text);
    }
    if lr.flags != 0 {
        sep(&mut out);
        let _ = write!(out, "\"flags\":{}", lr.flags);
    }
    let with_level;
    // A plan is made for the record's own attributes: not for them with `level` added.
    let (attrs, plan): (&[KeyValue], _) = match level.filter(|_| !attrs_skip("level")) {
        None => (&lr.attributes, plan),
        Some(level) => {
            let mut a = lr.attributes.clone();
            a.push(KeyValue {
                key: "level".into(),
                value: Some(AnyValue {
                    value: Some(Value::StringValue(level.into())),
                }),
                ..KeyValue::default()
            });
            with_level = a;
            (&with_level, None)
        }
    };
    match plan {
        Some(plan) => {
            let plan = plan.for_map(attrs, attrs_skip);
            if !plan.is_empty() {
                sep(&mut out);
                out.push_str("\"attributes\":");
                plan.write(&mut out, attrs)?;
            }
        }
        None => {
            if attrs.iter().any(|kv| !attrs_skip(&kv.key)) {
                sep(&mut out);
                out.push_str("\"attributes\":");
                json_map(&mut out, attrs, attrs_skip)?;
            }
        }
    }
    close_json_line(&mut out, resources, scope);
    Ok(out)
}

/// The comma before every member of a JSON line but the first (`out` holds the line from
/// its opening brace).
fn sep(out: &mut String) {
    if out.len() > 1 {
        out.push(',');
    }
}

/// The end of a JSON line: the resources' member, the scope, the closing brace.
fn close_json_line(out: &mut String, resources: &str, scope: Option<&InstrumentationScope>) {
    if !resources.is_empty() {
        sep(out);
        out.push_str(resources);
    }
    if let Some(scope) = scope.filter(|s| !s.name.is_empty()) {
        sep(out);
        out.push_str("\"instrumentation_scope\":{\"name\":");
        json_string(out, &scope.name);
        if !scope.version.is_empty() {
            out.push_str(",\"version\":");
            json_string(out, &scope.version);
        }
        out.push('}');
    }
    out.push('}');
}

/// [`json_line`] of a stanza entry, as of the record it converts to
/// (`stanza::convert::log_record`), for an entry that gets no `level` attribute, written
/// into `out` (cleared first: one buffer serves every line of a batch).
pub(crate) fn json_line_entry(
    out: &mut String,
    e: &stanza::Entry,
    attrs_skip: Skip<'_>,
    resources: &str,
    scope: Option<&InstrumentationScope>,
    plan: &mut StanzaMapPlan,
) -> Result<(), Unsupported> {
    out.clear();
    out.push('{');
    let mut body = None;
    if !e.body.is_nil() {
        out.push_str("\"body\":");
        let start = out.len() + 1;
        json_stanza_value(out, &e.body)?;
        if let stanza::Value::Str(s) = &e.body {
            body = Some(Escaped {
                text: s.as_str(),
                at: start..out.len() - 1,
            });
        }
    }
    for (name, raw, len) in [("traceid", &e.trace_id, 16), ("spanid", &e.span_id, 8)] {
        if raw.is_empty() {
            continue;
        }
        let hex = id(&stanza::convert::fixed_id(raw.clone(), len));
        if !hex.is_empty() {
            sep(out);
            let _ = write!(out, "\"{name}\":");
            json_string(out, &hex);
        }
    }
    let severity = if e.severity_text.is_empty() {
        stanza::convert::severity_short_name(e.severity)
    } else {
        &e.severity_text
    };
    if !severity.is_empty() {
        sep(out);
        out.push_str("\"severity\":");
        json_string(out, severity);
    }
    let flags = e.trace_flags.first().map_or(0, |&f| u32::from(f));
    if flags != 0 {
        sep(out);
        let _ = write!(out, "\"flags\":{flags}");
    }
    let plan = plan.for_map(&e.attributes, attrs_skip);
    if !plan.is_empty() {
        sep(out);
        out.push_str("\"attributes\":");
        // The container format's `log` group is the tail of the body: escaped once.
        plan.write(out, &e.attributes, body.as_ref())?;
    }
    close_json_line(out, resources, scope);
    Ok(())
}

/// `Body().AsString()`.
pub(crate) fn raw_line(lr: &LogRecord) -> String {
    as_string(lr.body.as_ref())
}

/// A logfmt key: from a parsed string body (Go keeps those as `[]byte`, which never equal the
/// `traceID`/`spanID`/`severity`/`flags` strings, so they are never replaced), or built.
#[derive(Debug, Clone, PartialEq)]
enum Key<'a> {
    Parsed(&'a str),
    Built(Cow<'a, str>),
}

/// A logfmt value as go-logfmt sees it: a string (`null` gets quoted) or bytes.
#[derive(Debug, Clone, PartialEq)]
enum Val<'a> {
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
}

/// go-logfmt's `ErrInvalidKey`: a key with nothing left after dropping invalid runes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidKey;

impl std::fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid key")
    }
}

/// The `resource_<key>=...` pairs of a resource, space separated.
pub(crate) fn logfmt_resources(attrs: &[KeyValue], skip: Skip<'_>) -> Result<String, InvalidKey> {
    let mut kv = Vec::new();
    for a in attrs.iter().filter(|a| !skip(&a.key)) {
        value_keyvals(
            &mut kv,
            Cow::Owned(format!("resource_{}", a.key)),
            a.value.as_ref(),
        );
    }
    let mut out = String::new();
    write_keyvals(&mut out, &kv)?;
    Ok(out)
}

/// The record as Go's `EncodeLogfmt` writes it.
pub(crate) fn logfmt_line(
    lr: &LogRecord,
    attrs_skip: Skip<'_>,
    level: Option<&str>,
    resources: &str,
    scope: Option<&InstrumentationScope>,
) -> Result<String, InvalidKey> {
    let mut kv: Vec<(Key<'_>, Val<'_>)> = Vec::new();
    body_keyvals(&mut kv, lr.body.as_ref());
    let trace = id(&lr.trace_id);
    if !trace.is_empty() {
        replace_or_append(&mut kv, "traceID", Val::Str(Cow::Owned(trace)));
    }
    let span = id(&lr.span_id);
    if !span.is_empty() {
        replace_or_append(&mut kv, "spanID", Val::Str(Cow::Owned(span)));
    }
    if !lr.severity_text.is_empty() {
        replace_or_append(
            &mut kv,
            "severity",
            Val::Str(Cow::Borrowed(&lr.severity_text)),
        );
    }
    if lr.flags != 0 {
        replace_or_append(&mut kv, "flags", Val::Str(Cow::Owned(lr.flags.to_string())));
    }
    for a in lr.attributes.iter().filter(|a| !attrs_skip(&a.key)) {
        value_keyvals(
            &mut kv,
            Cow::Owned(format!("attribute_{}", a.key)),
            a.value.as_ref(),
        );
    }
    if let Some(level) = level.filter(|_| !attrs_skip("level")) {
        kv.push((
            Key::Built(Cow::Borrowed("attribute_level")),
            Val::Str(Cow::Owned(level.to_string())),
        ));
    }
    let mut out = String::with_capacity(128 + resources.len());
    write_keyvals(&mut out, &kv)?;
    if !resources.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(resources);
    }
    if let Some(scope) = scope.filter(|s| !s.name.is_empty()) {
        let mut tail = vec![(
            Key::Built(Cow::Borrowed("instrumentation_scope_name")),
            Val::Str(Cow::Borrowed(scope.name.as_str())),
        )];
        if !scope.version.is_empty() {
            tail.push((
                Key::Built(Cow::Borrowed("instrumentation_scope_version")),
                Val::Str(Cow::Borrowed(scope.version.as_str())),
            ));
        }
        let mut t = String::new();
        write_keyvals(&mut t, &tail)?;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
    }
    Ok(out)
}

fn replace_or_append<'a>(kv: &mut Vec<(Key<'a>, Val<'a>)>, key: &'static str, val: Val<'a>) {
    for (k, v) in kv.iter_mut() {
        if let Key::Built(b) = k
            && b == key
        {
            *v = val;
            return;
        }
    }
    kv.push((Key::Built(Cow::Borrowed(key)), val));
}

/// Go's `bodyToKeyvals`.
fn body_keyvals<'a>(kv: &mut Vec<(Key<'a>, Val<'a>)>, body: Option<&'a AnyValue>) {
    match body.and_then(|b| b.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => {}
        Some(Value::StringValue(s)) => match parse_logfmt(s) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    kv.push((Key::Parsed(k), Val::Bytes(v)));
                }
            }
            Err(()) => kv.push((
                Key::Built(Cow::Borrowed("msg")),
                Val::Str(Cow::Borrowed(s.as_str())),
            )),
        },
        Some(Value::KvlistValue(_)) => value_keyvals(kv, Cow::Borrowed(""), body),
        Some(Value::ArrayValue(_)) => value_keyvals(kv, Cow::Borrowed("body"), body),
        Some(_) => {
            if let Some(v) = scalar(body) {
                kv.push((Key::Built(Cow::Borrowed("msg")), v));
            }
        }
    }
}

/// A scalar as go-logfmt writes `AsRaw()`: `fmt.Sprint` of bools and numbers (`%v` floats),
/// bytes as bytes.
fn scalar(v: Option<&AnyValue>) -> Option<Val<'_>> {
    Some(match v?.value.as_ref()? {
        Value::StringValue(s) => Val::Str(Cow::Borrowed(s)),
        Value::BoolValue(b) => Val::Str(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::IntValue(i) => Val::Str(Cow::Owned(i.to_string())),
        Value::DoubleValue(d) => Val::Str(Cow::Owned(go_v(*d))),
        Value::BytesValue(b) => Val::Bytes(Cow::Borrowed(b)),
        Value::KvlistValue(_) | Value::ArrayValue(_) | Value::StringValueStrindex(_) => {
            return None;
        }
    })
}

/// Go's `valueToKeyvals`: maps and slices flattened with `_`-joined keys, empty values left
/// out.
fn value_keyvals<'a>(kv: &mut Vec<(Key<'a>, Val<'a>)>, key: Cow<'a, str>, v: Option<&'a AnyValue>) {
    let prefix = |key: &str| {
        if key.is_empty() {
            String::new()
        } else {
            format!("{key}_")
        }
    };
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => {}
        Some(Value::KvlistValue(m)) => {
            let p = prefix(&key);
            for e in &m.values {
                value_keyvals(kv, Cow::Owned(format!("{p}{}", e.key)), e.value.as_ref());
            }
        }
        Some(Value::ArrayValue(a)) => {
            let p = prefix(&key);
            for (i, e) in a.values.iter().enumerate() {
                value_keyvals(kv, Cow::Owned(format!("{p}{i}")), Some(e));
            }
        }
        Some(_) => {
            if let Some(val) = scalar(v) {
                kv.push((Key::Built(key), val));
            }
        }
    }
}

/// go-logfmt `MarshalKeyvals`: `k=v` pairs separated by one space; fails on a key left
/// empty by dropping invalid runes.
fn write_keyvals(out: &mut String, kv: &[(Key<'_>, Val<'_>)]) -> Result<(), InvalidKey> {
    for (k, v) in kv {
        let key = match k {
            Key::Parsed(s) => s,
            Key::Built(s) => s.as_ref(),
        };
        let start = out.len();
        if !out.is_empty() {
            out.push(' ');
        }
        let key_start = out.len();
        out.extend(key.chars().filter(|&c| !invalid_key_rune(c)));
        if out.len() == key_start {
            out.truncate(start);
            return Err(InvalidKey);
        }
        out.push('=');
        match v {
            Val::Str(s) if s == "null" => out.push_str("\"null\""),
            Val::Str(s) => write_str_value(out, s),
            Val::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => write_str_value(out, s),
                Err(_) => write_quoted_bytes(out, b),
            },
        }
    }
    Ok(())
}

fn invalid_key_rune(c: char) -> bool {
    c <= ' ' || c == '=' || c == '"' || c == '\u{fffd}'
}

fn write_str_value(out: &mut String, s: &str) {
    if s.chars().any(invalid_key_rune) {
        write_quoted(out, s);
    } else {
        out.push_str(s);
    }
}

/// go-logfmt's JSON-like quoting (v0.6: DEL is not escaped).
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    quoted_body(out, s);
    out.push('"');
}

fn quoted_body(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Bytes that are not UTF-8: quoted, each byte of an invalid sequence as `\ufffd`.
fn write_quoted_bytes(out: &mut String, b: &[u8]) {
    out.push('"');
    for chunk in b.utf8_chunks() {
        quoted_body(out, chunk.valid());
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

/// A parsed key and its value (empty when it has none).
type Pair<'a> = (&'a str, Cow<'a, [u8]>);

/// bufio.Scanner's limit on a line: a longer first line fails the logfmt decoder.
const MAX_SCAN_TOKEN: usize = 64 * 1024;

/// go-logfmt's decoder on the first line of `body` (`ScanRecord` once, then `ScanKeyval`):
/// keys with their values (`None` for an empty one), or `Err` on a syntax error.
fn parse_logfmt(body: &str) -> Result<Vec<Pair<'_>>, ()> {
    let end = body.find('\n').unwrap_or(body.len());
    if end >= MAX_SCAN_TOKEN {
        return Err(());
    }
    // bufio.ScanLines drops a final `\r` whether or not a newline follows.
    let line = &body[..end];
    let line = line.strip_suffix('\r').unwrap_or(line);
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        // Garbage before a key.
        while pos < b.len() && b[pos] <= b' ' {
            pos += 1;
        }
        if pos >= b.len() {
            return Ok(out);
        }
        let start = pos;
        while pos < b.len() && b[pos] > b' ' && b[pos] != b'=' && b[pos] != b'"' {
            pos += 1;
        }
        if pos < b.len() && b[pos] == b'"' {
            return Err(());
        }
        let key = &line[start..pos];
        if key.contains('\u{fffd}') {
            return Err(());
        }
        if pos >= b.len() || b[pos] <= b' ' {
            out.push((key, Cow::Borrowed(&b[0..0])));
            continue;
        }
        // b[pos] == '='
        if key.is_empty() {
            return Err(());
        }
        pos += 1;
        if pos >= b.len() || b[pos] <= b' ' {
            out.push((key, Cow::Borrowed(&b[0..0])));
            continue;
        }
        if b[pos] == b'"' {
            let qstart = pos;
            let mut esc = false;
            let mut has_esc = false;
            let mut close = None;
            for (p, &c) in b[pos + 1..].iter().enumerate() {
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    has_esc = true;
                    esc = true;
                } else if c == b'"' {
                    close = Some(pos + 1 + p);
                    break;
                }
            }
            let Some(close) = close else {
                return Err(());
            };
            pos = close + 1;
            let inner = &b[qstart + 1..close];
            if has_esc {
                out.push((key, Cow::Owned(unquote(inner).ok_or(())?)));
            } else {
                out.push((key, Cow::Borrowed(inner)));
            }
            continue;
        }
        let vstart = pos;
        while pos < b.len() && b[pos] > b' ' {
            if b[pos] == b'=' || b[pos] == b'"' {
                return Err(());
            }
            pos += 1;
        }
        out.push((key, Cow::Borrowed(&b[vstart..pos])));
    }
}

/// go-logfmt's `unquoteBytes` of a quoted value's inside that has escapes.
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut r = 0;
    while r < s.len() {
        let c = s[r];
        match c {
            b'\\' => {
                r += 1;
                let e = *s.get(r)?;
                match e {
                    b'"' | b'\\' | b'/' | b'\'' => out.push(e),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let first = hex4(&s[r + 1..])?;
                        r += 5;
                        let mut ch = first;
                        if (0xD800..0xE000).contains(&first) {
                            let pair = (s.get(r..r + 2) == Some(b"\\u"))
                                .then(|| hex4(&s[r + 2..]))
                                .flatten();
                            match pair {
                                Some(second)
                                    if (0xD800..0xDC00).contains(&first)
                                        && (0xDC00..0xE000).contains(&second) =>
                                {
                                    ch = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                                    r += 6;
                                }
                                _ => ch = 0xFFFD,
                            }
                        }
                        let ch = char::from_u32(ch).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        continue;
                    }
                    _ => return None,
                }
                r += 1;
            }
            b'"' => return None,
            c if c < b' ' => return None,
            _ => {
                out.push(c);
                r += 1;
            }
        }
    }
    Some(out)
}

fn hex4(s: &[u8]) -> Option<u32> {
    let h = s.get(..4)?;
    let text = std::str::from_utf8(h).ok()?;
    if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}
