//! OTLP traces → the JSON the Jaeger query service returns on its legacy HTTP API
//! (`/api/traces`, `/api/traces/{id}`: the "UI model", Jaeger's `internal/uimodel`), as Jaeger
//! v2 produces it: the collector-contrib translator (`ProtoFromTraces`) turns OTLP into the
//! Jaeger model, then `uimodel/converter/v1/json.FromDomain` renders it:
//!
//! - resource → process: `service.name` becomes `serviceName` (a resource with no attributes
//!   becomes `OTLPResourceNoServiceName`), the other attributes its tags; identical processes
//!   of a trace share one key `p1`, `p2`, ... in order of first use;
//! - span tags: `otel.scope.name`, `otel.scope.version`, the attributes, then `span.kind`
//!   (`client|server|producer|consumer|internal`), `otel.status_code` (`OK|ERROR`),
//!   `error=true` for an error status, `otel.status_description`, `w3c.tracestate`;
//! - the parent becomes the first `CHILD_OF` reference; links become `FOLLOWS_FROM` (or
//!   `CHILD_OF` when the link's `opentracing.ref_type` is `child_of`; a link to the parent
//!   only retypes the parent reference);
//! - events become logs, named by an `event` field unless an attribute already has that key;
//! - values: `string`, `bool`, `int64` (a string outside JavaScript's safe integer range),
//!   `float64`, `binary` (base64); arrays and maps are JSON text of type `string`;
//! - ids are lower-case hex: trace ids 16 characters when the high half is zero, else 32;
//!   span ids 16; times and durations in microseconds;
//! - `@jaeger@warnings` span attributes become the span's `warnings`.
//!
//! With [`UiOptions::adjust`] (the query service's default; `raw=true` turns it off) the
//! standard adjusters that do not need the whole trace's clock are applied first: attributes
//! sorted by key and events by name (`SortCollections`), `ip`/`peer.ipv4` integers as dotted
//! quads (`NormalizeIPAttributes`), `telemetry.sdk.*`/`telemetry.distro.*` span attributes
//! moved to the process (`MoveLibraryAttributes`), links without a trace id dropped with a
//! warning (`RemoveEmptySpanLinks`); plus the ingest sanitizers for service and span names
//! (`missing-service-name`, `empty-service-name`, `service-name-wrong-type`,
//! `empty-span-name`). Not applied: client/server span-id deduplication, duplicate-span
//! removal and clock-skew correction.
//!
//! [`otlp_json_traces`] renders the same spans as OTLP/JSON (Jaeger's `api_v3`, OTLP spec
//! mapping) or as Tempo's gogo `jsonpb` (base64 ids, enum names).

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use pdata::proto::trace::v1::{ResourceSpans, Span};
use serde_json::{Map, Value, json};

/// How [`traces_to_ui`] renders.
#[derive(Debug, Clone, Copy)]
pub struct UiOptions {
    /// Apply the query service's adjusters and name sanitizers (see the module docs).
    pub adjust: bool,
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions { adjust: true }
    }
}

const WARNINGS_ATTR: &str = "@jaeger@warnings";
const JS_MAX_SAFE: i64 = (1 << 53) - 1;

/// Converts OTLP resource spans into Jaeger UI traces, one per trace id in order of first
/// appearance, spans in input order.
pub fn traces_to_ui(resource_spans: &[ResourceSpans], opts: &UiOptions) -> Vec<Value> {
    let rss: Cow<'_, [ResourceSpans]> = if opts.adjust {
        let mut owned = resource_spans.to_vec();
        adjust(&mut owned);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(resource_spans)
    };

    struct TraceAcc {
        id: String,
        spans: Vec<Value>,
        // process key per distinct process, in first-use order
        processes: Vec<(Value, String)>,
    }
    let mut traces: Vec<TraceAcc> = Vec::new();
    let mut by_id: HashMap<[u8; 16], usize> = HashMap::new();

    for rs in rss.iter() {
        let process = process_of(rs);
        for ss in &rs.scope_spans {
            let (scope_name, scope_version) = ss
                .scope
                .as_ref()
                .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
            for span in &ss.spans {
                let tid = trace_id(&span.trace_id);
                let idx = *by_id.entry(tid).or_insert_with(|| {
                    traces.push(TraceAcc {
                        id: trace_id_string(tid),
                        spans: Vec::new(),
                        processes: Vec::new(),
                    });
                    traces.len() - 1
                });
                let t = &mut traces[idx];
                let pid = match t.processes.iter().find(|(p, _)| *p == process) {
                    Some((_, k)) => k.clone(),
                    None => {
                        let k = format!("p{}", t.processes.len() + 1);
                        t.processes.push((process.clone(), k.clone()));
                        k
                    }
                };
                t.spans
                    .push(span_json(span, scope_name, scope_version, &pid));
            }
        }
    }

    traces
        .into_iter()
        .map(|t| {
            let mut procs = Map::new();
            for (p, k) in t.processes {
                procs.insert(k, p);
            }
            json!({
                "traceID": t.id,
                "spans": t.spans,
                "processes": procs,
                "warnings": null,
            })
        })
        .collect()
}

fn trace_id(b: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = b.len().min(16);
    out[..n].copy_from_slice(&b[..n]);
    out
}

fn span_id(b: &[u8]) -> u64 {
    let mut out = [0u8; 8];
    let n = b.len().min(8);
    out[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(out)
}

/// Jaeger's `TraceID.String`: the high half only when it is not zero.
fn trace_id_string(id: [u8; 16]) -> String {
    let high = u64::from_be_bytes(id[..8].try_into().unwrap_or_default());
    let low = u64::from_be_bytes(id[8..].try_into().unwrap_or_default());
    if high == 0 {
        format!("{low:016x}")
    } else {
        format!("{high:016x}{low:016x}")
    }
}

fn process_of(rs: &ResourceSpans) -> Value {
    let attrs: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
    if attrs.is_empty() {
        return json!({"serviceName": "OTLPResourceNoServiceName", "tags": []});
    }
    let service = attrs
        .iter()
        .find(|kv| kv.key == "service.name")
        .map_or("", |kv| {
            match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.as_str(),
                _ => "",
            }
        });
    let tags: Vec<Value> = attrs
        .iter()
        .filter(|kv| kv.key != "service.name")
        .map(|kv| tag(&kv.key, kv.value.as_ref()))
        .collect();
    json!({"serviceName": service, "tags": tags})
}

fn str_tag(key: &str, v: &str) -> Value {
    json!({"key": key, "type": "string", "value": v})
}

/// One attribute as a UI-model key/value.
fn tag(key: &str, v: Option<&AnyValue>) -> Value {
    let (ty, value) = match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => ("string", Value::String(s.clone())),
        Some(any_value::Value::BoolValue(b)) => ("bool", Value::Bool(*b)),
        Some(any_value::Value::IntValue(i)) => (
            "int64",
            if (-JS_MAX_SAFE..=JS_MAX_SAFE).contains(i) {
                Value::from(*i)
            } else {
                Value::String(i.to_string())
            },
        ),
        Some(any_value::Value::DoubleValue(f)) => ("float64", float_value(*f)),
        Some(any_value::Value::BytesValue(b)) => (
            "binary",
            Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        ),
        Some(any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_)) => {
            let mut s = String::new();
            write_raw_json(&mut s, v);
            ("string", Value::String(s))
        }
        // an empty value: Go leaves the tag's zero value, a string ""
        Some(any_value::Value::StringValueStrindex(_)) | None => {
            ("string", Value::String(String::new()))
        }
    };
    json!({"key": key, "type": ty, "value": value})
}

/// A float as Go's `encoding/json` writes it: integral values without a fraction (held as
/// integers so they print as Go prints them), non-finite values (which Go refuses) as text.
fn float_value(f: f64) -> Value {
    if !f.is_finite() {
        return Value::String(if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        });
    }
    if f.fract() == 0.0 && f.abs() <= JS_MAX_SAFE as f64 && !(f == 0.0 && f.is_sign_negative()) {
        return Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `pcommon.Value.AsString` of a map or slice: `json.Marshal` of its raw form (map keys
/// sorted, bytes base64, floats in Go's notation).
fn write_raw_json(out: &mut String, v: Option<&AnyValue>) {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(any_value::Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(any_value::Value::StringValue(s)) => write_json_str(out, s),
        Some(any_value::Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => out.push_str(&i.to_string()),
        Some(any_value::Value::DoubleValue(f)) => out.push_str(&go_json_float(*f)),
        Some(any_value::Value::BytesValue(b)) => {
            write_json_str(out, &base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(any_value::Value::ArrayValue(a)) => {
            out.push('[');
            for (i, x) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_raw_json(out, Some(x));
            }
            out.push(']');
        }
        Some(any_value::Value::KvlistValue(kvs)) => {
            // a Go map: the last duplicate wins, keys sorted
            let mut entries: Vec<(&str, Option<&AnyValue>)> = Vec::new();
            for kv in &kvs.values {
                match entries.iter_mut().find(|(k, _)| *k == kv.key) {
                    Some(e) => e.1 = kv.value.as_ref(),
                    None => entries.push((&kv.key, kv.value.as_ref())),
                }
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, k);
                out.push(':');
                write_raw_json(out, *x);
            }
            out.push('}');
        }
    }
}

fn write_json_str(out: &mut String, s: &str) {
    // serde_json's escaping; Go additionally escapes <, >, & as \u003c etc. by default
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    for c in quoted.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

/// Go's `encoding/json` float64 text: shortest decimal for 1e-6 <= |f| < 1e21, else
/// exponent form with a signed two-digit-minimum-free exponent (`1e+21`, `1e-07` → `1e-7`).
fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let a = f.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

fn span_json(span: &Span, scope_name: &str, scope_version: &str, pid: &str) -> Value {
    let tid = trace_id(&span.trace_id);
    let tid_s = trace_id_string(tid);
    let mut tags: Vec<Value> = Vec::with_capacity(span.attributes.len() + 6);
    if !scope_name.is_empty() {
        tags.push(str_tag("otel.scope.name", scope_name));
    }
    if !scope_version.is_empty() {
        tags.push(str_tag("otel.scope.version", scope_version));
    }
    let mut warnings: Vec<String> = Vec::new();
    for kv in &span.attributes {
        if kv.key == WARNINGS_ATTR {
            match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::ArrayValue(a)) => {
                    for w in &a.values {
                        if let Some(any_value::Value::StringValue(s)) = &w.value {
                            warnings.push(s.clone());
                        } else {
                            warnings.push(String::new());
                        }
                    }
                }
                Some(any_value::Value::StringValue(s)) => warnings.push(s.clone()),
                _ => {
                    let mut s = String::new();
                    write_raw_json(&mut s, kv.value.as_ref());
                    warnings.push(s);
                }
            }
            continue;
        }
        tags.push(tag(&kv.key, kv.value.as_ref()));
    }
    let kind = match span.kind {
        1 => Some("internal"),
        2 => Some("server"),
        3 => Some("client"),
        4 => Some("producer"),
        5 => Some("consumer"),
        _ => None,
    };
    if let Some(k) = kind {
        tags.push(str_tag("span.kind", k));
    }
    let (code, message) = span
        .status
        .as_ref()
        .map_or((0, ""), |s| (s.code, s.message.as_str()));
    match code {
        2 => {
            tags.push(str_tag("otel.status_code", "ERROR"));
            tags.push(json!({"key": "error", "type": "bool", "value": true}));
        }
        1 => tags.push(str_tag("otel.status_code", "OK")),
        _ => {}
    }
    if !message.is_empty() {
        tags.push(str_tag("otel.status_description", message));
    }
    if !span.trace_state.is_empty() {
        tags.push(str_tag("w3c.tracestate", &span.trace_state));
    }

    // references: the parent first, then links
    let parent = span_id(&span.parent_span_id);
    let mut refs: Vec<(&'static str, String, u64)> = Vec::new();
    if parent != 0 {
        refs.push(("CHILD_OF", tid_s.clone(), parent));
    }
    for l in &span.links {
        let lt = trace_id(&l.trace_id);
        let ls = span_id(&l.span_id);
        let ref_type = l
            .attributes
            .iter()
            .find(|kv| kv.key == "opentracing.ref_type")
            .map_or("FOLLOWS_FROM", |kv| {
                match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) if s == "child_of" => "CHILD_OF",
                    _ => "FOLLOWS_FROM",
                }
            });
        if parent != 0 && lt == tid && ls == parent {
            refs[0].0 = ref_type;
            continue;
        }
        refs.push((ref_type, trace_id_string(lt), ls));
    }
    let references: Vec<Value> = refs
        .into_iter()
        .map(|(t, trace, s)| json!({"refType": t, "traceID": trace, "spanID": format!("{s:016x}")}))
        .collect();

    let logs: Vec<Value> = span
        .events
        .iter()
        .map(|e| {
            let mut fields = Vec::with_capacity(e.attributes.len() + 1);
            if !e.name.is_empty() && !e.attributes.iter().any(|kv| kv.key == "event") {
                fields.push(str_tag("event", &e.name));
            }
            fields.extend(
                e.attributes
                    .iter()
                    .map(|kv| tag(&kv.key, kv.value.as_ref())),
            );
            json!({"timestamp": e.time_unix_nano / 1000, "fields": fields})
        })
        .collect();

    let start_us = span.start_time_unix_nano / 1000;
    let duration_us = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano)
        / 1000;
    let mut obj = Map::new();
    obj.insert("traceID".into(), Value::String(tid_s));
    obj.insert(
        "spanID".into(),
        Value::String(format!("{:016x}", span_id(&span.span_id))),
    );
    // the W3C sampled bit is Jaeger's sampled flag; Jaeger omits a zero `flags`
    if span.flags & 1 != 0 {
        obj.insert("flags".into(), Value::from(1));
    }
    obj.insert("operationName".into(), Value::String(span.name.clone()));
    obj.insert("references".into(), Value::Array(references));
    obj.insert("startTime".into(), Value::from(start_us));
    obj.insert("duration".into(), Value::from(duration_us));
    obj.insert("tags".into(), Value::Array(tags));
    obj.insert("logs".into(), Value::Array(logs));
    obj.insert("processID".into(), Value::String(pid.to_string()));
    obj.insert(
        "warnings".into(),
        if warnings.is_empty() {
            Value::Null
        } else {
            Value::from(warnings)
        },
    );
    Value::Object(obj)
}

// ---------- the query service's adjusters (OTLP in, OTLP out) ----------

const LIBRARY_KEYS: [&str; 5] = [
    "telemetry.sdk.language",
    "telemetry.sdk.name",
    "telemetry.sdk.version",
    "telemetry.distro.name",
    "telemetry.distro.version",
];

fn str_value(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    })
}

fn sort_attrs(attrs: &mut [KeyValue]) {
    attrs.sort_by(|a, b| a.key.cmp(&b.key));
}

fn normalize_ips(attrs: &mut [KeyValue]) {
    for kv in attrs.iter_mut() {
        if kv.key != "ip" && kv.key != "peer.ipv4" {
            continue;
        }
        let n: u32 = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::IntValue(i)) => *i as u32,
            Some(any_value::Value::DoubleValue(f)) => *f as u32,
            _ => continue,
        };
        let b = n.to_be_bytes();
        kv.value = str_value(&format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
    }
}

/// jptrace.AddWarnings: appends to the span's `@jaeger@warnings` string array.
fn add_warning(span: &mut Span, warning: String) {
    let w = AnyValue {
        value: Some(any_value::Value::StringValue(warning)),
    };
    match span
        .attributes
        .iter_mut()
        .find(|kv| kv.key == WARNINGS_ATTR)
    {
        Some(kv) => match kv.value.as_mut().and_then(|v| v.value.as_mut()) {
            Some(any_value::Value::ArrayValue(a)) => a.values.push(w),
            _ => {
                // a value that lost its array type: keep it as the first warning
                let mut prev = String::new();
                match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => prev.push_str(s),
                    _ => write_raw_json(&mut prev, kv.value.as_ref()),
                }
                kv.value = Some(AnyValue {
                    value: Some(any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(any_value::Value::StringValue(prev)),
                            },
                            w,
                        ],
                    })),
                });
            }
        },
        None => span.attributes.push(KeyValue {
            key: WARNINGS_ATTR.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![w] })),
            }),
            ..Default::default()
        }),
    }
}

/// The Jaeger v2 query service's standard adjusters that need no clock model, and the
/// ingest sanitizers for service and span names, applied in place (see the module docs).
/// Warnings go to each span's `@jaeger@warnings` attribute, as Jaeger records them, so the
/// OTLP rendering (`api_v3`) carries them too.
pub fn adjust(rss: &mut [ResourceSpans]) {
    for rs in rss.iter_mut() {
        let resource = rs.resource.get_or_insert_with(Default::default);
        // ingest sanitizer: a usable service name
        let svc = resource
            .attributes
            .iter_mut()
            .find(|kv| kv.key == "service.name");
        match svc {
            None => resource.attributes.push(KeyValue {
                key: "service.name".into(),
                value: str_value("missing-service-name"),
                ..Default::default()
            }),
            Some(kv) => match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) if !s.is_empty() => {}
                Some(any_value::Value::StringValue(_)) => {
                    kv.value = str_value("empty-service-name")
                }
                _ => kv.value = str_value("service-name-wrong-type"),
            },
        }
        sort_attrs(&mut resource.attributes);
        normalize_ips(&mut resource.attributes);
        for ss in rs.scope_spans.iter_mut() {
            if let Some(scope) = ss.scope.as_mut() {
                sort_attrs(&mut scope.attributes);
            }
            for span in ss.spans.iter_mut() {
                if span.name.is_empty() {
                    span.name = "empty-span-name".into();
                }
                sort_attrs(&mut span.attributes);
                span.events.sort_by(|a, b| a.name.cmp(&b.name));
                for e in &mut span.events {
                    sort_attrs(&mut e.attributes);
                }
                for l in &mut span.links {
                    sort_attrs(&mut l.attributes);
                }
                normalize_ips(&mut span.attributes);
                // MoveLibraryAttributes: SDK identity belongs to the process
                let mut i = 0;
                while i < span.attributes.len() {
                    let key = span.attributes[i].key.clone();
                    if !LIBRARY_KEYS.contains(&key.as_str()) {
                        i += 1;
                        continue;
                    }
                    let v = span.attributes[i].value.clone();
                    match resource.attributes.iter().find(|kv| kv.key == key) {
                        Some(existing) if existing.value != v => {
                            add_warning(
                                span,
                                format!(
                                    "conflicting values between Span and Resource for attribute {key}"
                                ),
                            );
                            i += 1;
                        }
                        Some(_) => {
                            span.attributes.remove(i);
                        }
                        None => {
                            let kv = span.attributes.remove(i);
                            resource.attributes.push(kv);
                        }
                    }
                }
                // RemoveEmptySpanLinks
                let before = span.links.len();
                span.links.retain(|l| l.trace_id.iter().any(|b| *b != 0));
                for _ in span.links.len()..before {
                    add_warning(span, "Invalid span link removed".into());
                }
            }
        }
    }
}

// ---------- OTLP/JSON ----------

/// Which OTLP/JSON dialect [`otlp_json_traces`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpJsonStyle {
    /// The OTLP specification's mapping, as Jaeger's `api_v3` writes it: hex ids, enums as
    /// integers (`"kind": 2`), 64-bit integers as strings.
    Otlp,
    /// Tempo's gogo `jsonpb`: ids base64, enums by name (`"kind": "SPAN_KIND_SERVER"`,
    /// `"code": "STATUS_CODE_ERROR"`), 64-bit integers as strings.
    Tempo,
}

/// `{"resourceSpans": [...]}` for the given spans (pdata's OTLP/JSON encoder; the Tempo
/// style rewrites ids and enums after it).
pub fn otlp_json_traces(resource_spans: &[ResourceSpans], style: OtlpJsonStyle) -> Value {
    let req = pdata::Request::Traces(ExportTraceServiceRequest {
        resource_spans: resource_spans.to_vec(),
    });
    let bytes = pdata::json::encode(&req);
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
    if style == OtlpJsonStyle::Tempo {
        tempo_style(&mut v);
    }
    if v.get("resourceSpans").is_none() {
        v = json!({"resourceSpans": []});
    }
    v
}

fn hex_to_base64(v: &mut Value) {
    if let Value::String(s) = v
        && let Some(bytes) = decode_hex(s)
    {
        *s = base64::engine::general_purpose::STANDARD.encode(bytes);
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

const SPAN_KINDS: [&str; 6] = [
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUS_CODES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

fn enum_name(v: &mut Value, names: &[&str]) {
    if let Some(n) = v.as_u64()
        && let Some(name) = names.get(n as usize)
    {
        *v = Value::String((*name).to_string());
    }
}

fn tempo_style(v: &mut Value) {
    let Some(rss) = v.get_mut("resourceSpans").and_then(Value::as_array_mut) else {
        return;
    };
    for rs in rss {
        let Some(sss) = rs.get_mut("scopeSpans").and_then(Value::as_array_mut) else {
            continue;
        };
        for ss in sss {
            let Some(spans) = ss.get_mut("spans").and_then(Value::as_array_mut) else {
                continue;
            };
            for span in spans {
                for k in ["traceId", "spanId", "parentSpanId"] {
                    if let Some(x) = span.get_mut(k) {
                        hex_to_base64(x);
                    }
                }
                if let Some(k) = span.get_mut("kind") {
                    enum_name(k, &SPAN_KINDS);
                }
                if let Some(c) = span.get_mut("status").and_then(|s| s.get_mut("code")) {
                    enum_name(c, &STATUS_CODES);
                }
                if let Some(links) = span.get_mut("links").and_then(Value::as_array_mut) {
                    for l in links {
                        for k in ["traceId", "spanId"] {
                            if let Some(x) = l.get_mut(k) {
                                hex_to_base64(x);
                            }
                        }
                    }
                }
            }
        }
    }
}
