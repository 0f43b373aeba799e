//! OTLP traces → Zipkin v2 spans, as Go's `zipkinv2.FromTranslator` (contrib
//! `pkg/translator/zipkin/zipkinv2/from_translator.go`, semantic conventions v1.6.1).
//!
//! Resource attributes and the instrumentation scope (`otel.library.name`/`.version`)
//! become tags of every span; `service.name` (or `faas.name`, `k8s.deployment.name`,
//! `process.executable.name`, named in `otlp.service.name.source`) the local endpoint;
//! `net.host.ip`/`net.host.port` the local address, `peer.service`, `net.peer.ip`,
//! `net.peer.port` the remote endpoint; the status `otel.status_code` /
//! `otel.status_description` / `error` tags; events annotations (`name|{json}|dropped`);
//! links `otlp.link.N` tags; the trace state `w3c.tracestate`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::trace::v1::Span as OtlpSpan;

use crate::model::{Annotation, Endpoint, Kind, Span, TraceId};
use crate::{
    NO_SERVICE_NAME, TAG_ERROR, TAG_LIBRARY_NAME, TAG_LIBRARY_VERSION, TAG_SERVICE_NAME_SOURCE,
    TAG_SPAN_KIND, TAG_STATUS_CODE, TAG_STATUS_DESCRIPTION, TAG_TRACE_STATE,
};

/// Why a batch cannot be written as Zipkin spans (the Go exporter's permanent errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError(pub String);

impl std::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TranslateError {}

/// The spans of `req`; `default_service_name` names spans whose resource has no service
/// name (the exporter's `default_service_name`).
pub fn spans_from_otlp(
    req: &ExportTraceServiceRequest,
    default_service_name: &str,
) -> Result<Vec<Span>, TranslateError> {
    let count: usize = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let mut out = Vec::with_capacity(count);
    for rs in &req.resource_spans {
        let attrs: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
        if attrs.is_empty() && rs.scope_spans.is_empty() {
            continue;
        }
        let mut res_tags: BTreeMap<String, String> = attrs
            .iter()
            .map(|kv| (kv.key.clone(), as_string(kv.value.as_ref())))
            .collect();
        let mut service = service_name(&mut res_tags);
        if service == NO_SERVICE_NAME && !default_service_name.is_empty() {
            service = default_service_name.to_string();
        }
        for ss in &rs.scope_spans {
            let mut tags = res_tags.clone();
            scope_tags(ss.scope.as_ref(), &mut tags);
            for span in &ss.spans {
                out.push(span_to_zipkin(span, &service, &tags)?);
            }
        }
    }
    Ok(out)
}

fn scope_tags(scope: Option<&InstrumentationScope>, tags: &mut BTreeMap<String, String>) {
    let Some(scope) = scope else { return };
    if !scope.name.is_empty() {
        tags.insert(TAG_LIBRARY_NAME.into(), scope.name.clone());
    }
    if !scope.version.is_empty() {
        tags.insert(TAG_LIBRARY_VERSION.into(), scope.version.clone());
    }
}

/// Go's `extractZipkinServiceName`: the first present of four attributes (removed from the
/// tags; for the last three, `otlp.service.name.source` says which).
fn service_name(tags: &mut BTreeMap<String, String>) -> String {
    if let Some(s) = tags.remove("service.name") {
        return s;
    }
    for key in [
        "faas.name",
        "k8s.deployment.name",
        "process.executable.name",
    ] {
        if let Some(s) = tags.remove(key) {
            tags.insert(TAG_SERVICE_NAME_SOURCE.into(), key.into());
            return s;
        }
    }
    NO_SERVICE_NAME.to_string()
}

/// Nanoseconds → microseconds, rounded half up (Go's `Round(time.Microsecond)`).
fn micros(ns: u64) -> u64 {
    ns.saturating_add(500) / 1000
}

fn span_to_zipkin(
    span: &OtlpSpan,
    local_service: &str,
    base_tags: &BTreeMap<String, String>,
) -> Result<Span, TranslateError> {
    let mut tags = base_tags.clone();
    for kv in &span.attributes {
        tags.insert(kv.key.clone(), as_string(kv.value.as_ref()));
    }
    let trace_bytes: [u8; 16] = span
        .trace_id
        .as_slice()
        .try_into()
        .ok()
        .filter(|b: &[u8; 16]| b.iter().any(|x| *x != 0))
        .ok_or_else(|| TranslateError("TraceID is invalid".into()))?;
    let span_id: [u8; 8] = span
        .span_id
        .as_slice()
        .try_into()
        .ok()
        .filter(|b: &[u8; 8]| b.iter().any(|x| *x != 0))
        .ok_or_else(|| TranslateError("SpanID is invalid".into()))?;
    if !span.trace_state.is_empty() {
        tags.insert(TAG_TRACE_STATE.into(), span.trace_state.clone());
    }
    let parent_id = <[u8; 8]>::try_from(span.parent_span_id.as_slice())
        .ok()
        .filter(|b| b.iter().any(|x| *x != 0))
        .map(u64::from_be_bytes);
    let timestamp = if span.start_time_unix_nano >= 1_000_000_000 {
        micros(span.start_time_unix_nano)
    } else {
        0
    };
    let duration = if span.end_time_unix_nano != 0 {
        let d = span
            .end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano);
        if d > 0 && d < 1000 { 1 } else { micros(d) }
    } else {
        0
    };
    let kind = match span.kind {
        3 => Kind::Client,
        2 => Kind::Server,
        4 => Kind::Producer,
        5 => Kind::Consumer,
        _ => Kind::Undetermined,
    };
    if span.kind == 1 {
        tags.insert(TAG_SPAN_KIND.into(), "internal".into());
    }
    let local_endpoint = endpoint_from_tags(&mut tags, local_service, false);
    let remote_endpoint = endpoint_from_tags(&mut tags, "", true);

    let (code, message) = span
        .status
        .as_ref()
        .map_or((0, ""), |s| (s.code, s.message.as_str()));
    if code == 2 {
        tags.insert(TAG_ERROR.into(), "true".into());
    } else {
        // Only an ERROR status may say error: Zipkin takes any `error` tag as failed.
        tags.remove(TAG_ERROR);
    }
    if code != 0 {
        let text = match code {
            1 => "STATUS_CODE_OK",
            2 => "STATUS_CODE_ERROR",
            _ => "",
        };
        tags.insert(TAG_STATUS_CODE.into(), text.into());
        if !message.is_empty() {
            tags.insert(TAG_STATUS_DESCRIPTION.into(), message.into());
            // zipkin-go's `Err`: an `error` tag with the message unless one is set.
            tags.entry(TAG_ERROR.into())
                .or_insert_with(|| message.into());
        }
    }

    let annotations = span
        .events
        .iter()
        .map(|e| Annotation {
            timestamp: micros(e.time_unix_nano),
            value: if e.attributes.is_empty() && e.dropped_attributes_count == 0 {
                e.name.clone()
            } else {
                format!(
                    "{}|{}|{}",
                    e.name,
                    attributes_json(&e.attributes),
                    e.dropped_attributes_count
                )
            },
        })
        .collect();
    for (i, link) in span.links.iter().enumerate() {
        tags.insert(
            format!("otlp.link.{i}"),
            format!(
                "{}|{}|{}|{}|{}",
                hex_or_empty(&link.trace_id),
                hex_or_empty(&link.span_id),
                link.trace_state,
                attributes_json(&link.attributes),
                link.dropped_attributes_count
            ),
        );
    }
    Ok(Span {
        trace_id: TraceId::from_bytes(trace_bytes),
        id: u64::from_be_bytes(span_id),
        parent_id,
        debug: false,
        name: span.name.clone(),
        kind,
        timestamp,
        duration,
        shared: false,
        local_endpoint,
        remote_endpoint,
        annotations,
        tags,
    })
}

fn hex_or_empty(id: &[u8]) -> String {
    if id.iter().all(|b| *b == 0) {
        String::new()
    } else {
        hex::encode(id)
    }
}

/// Go's `zipkinEndpointFromTags`: the address and port tags are consumed; no endpoint
/// without a service name or an address.
fn endpoint_from_tags(
    tags: &mut BTreeMap<String, String>,
    local_service: &str,
    remote: bool,
) -> Option<Endpoint> {
    let mut service = local_service.to_string();
    if remote && let Some(peer) = tags.remove("peer.service") {
        service = peer;
    }
    let (ip_key, port_key) = if remote {
        ("net.peer.ip", "net.peer.port")
    } else {
        ("net.host.ip", "net.host.port")
    };
    let ip: Option<IpAddr> = tags.remove(ip_key).and_then(|s| s.parse().ok());
    let port: u16 = tags
        .remove(port_key)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if service.is_empty() && ip.is_none() {
        return None;
    }
    let (ipv4, ipv6) = match ip {
        Some(IpAddr::V6(a)) => (None, Some(IpAddr::V6(a))),
        Some(v4) => (Some(v4), None),
        None => (None, None),
    };
    Some(Endpoint {
        service_name: service,
        ipv4,
        ipv6,
        port,
    })
}

/// pdata's `Value.AsString()`.
pub fn as_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => format_float(*d),
        Some(any_value::Value::BytesValue(b)) => base64(b),
        Some(other) => raw_json(other).to_string(),
    }
}

/// Go's `strconv.FormatFloat(f, 'f'/'e', -1, 64)` as pdata uses it (exponent form outside
/// [1e-4, 1e21)).
fn format_float(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = d.abs();
    if a != 0.0 && !(1e-4..1e21).contains(&a) {
        let s = format!("{d:e}");
        // Go writes the exponent with a sign and two digits: 1e+21, 1e-05.
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            return format!("{m}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{d}")
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = match chunk.len() {
            3 => (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]),
            2 => (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8),
            _ => u32::from(chunk[0]) << 16,
        };
        let idx = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, x) in idx.iter().enumerate() {
            if i <= chunk.len() {
                out.push(T[*x as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A value as the JSON of Go's `AsRaw()` marshalled by `encoding/json`.
fn raw_json(v: &any_value::Value) -> serde_json::Value {
    match v {
        any_value::Value::StringValue(s) => serde_json::Value::String(s.clone()),
        any_value::Value::BoolValue(b) => serde_json::Value::Bool(*b),
        any_value::Value::IntValue(i) => serde_json::Value::from(*i),
        any_value::Value::DoubleValue(d) => serde_json::Number::from_f64(*d)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        any_value::Value::BytesValue(b) => serde_json::Value::String(base64(b)),
        any_value::Value::ArrayValue(a) => serde_json::Value::Array(
            a.values
                .iter()
                .map(|v| v.value.as_ref().map_or(serde_json::Value::Null, raw_json))
                .collect(),
        ),
        any_value::Value::KvlistValue(kv) => attributes_value(&kv.values),
        #[allow(unreachable_patterns)]
        _ => serde_json::Value::Null,
    }
}

fn attributes_value(attrs: &[KeyValue]) -> serde_json::Value {
    // Go marshals maps ordered by key; sorted here so that the order holds whether or not
    // serde_json keeps insertion order (its `preserve_order` feature).
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut m = serde_json::Map::new();
    for kv in sorted {
        m.insert(
            kv.key.clone(),
            kv.value
                .as_ref()
                .and_then(|v| v.value.as_ref())
                .map_or(serde_json::Value::Null, raw_json),
        );
    }
    serde_json::Value::Object(m)
}

fn attributes_json(attrs: &[KeyValue]) -> String {
    attributes_value(attrs).to_string()
}

#[cfg(test)]
mod tests {
    use pdata::proto::resource::v1::Resource;
    use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Status};

    use super::*;

    fn skv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..KeyValue::default()
        }
    }

    fn one(resource: Vec<KeyValue>, span: OtlpSpan) -> Span {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..ScopeSpans::default()
                }],
                schema_url: String::new(),
            }],
        };
        spans_from_otlp(&req, "<missing service name>")
            .unwrap()
            .remove(0)
    }

    fn base() -> OtlpSpan {
        OtlpSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "op".into(),
            start_time_unix_nano: 1_700_000_000_000_000_400,
            end_time_unix_nano: 1_700_000_000_000_000_900,
            ..OtlpSpan::default()
        }
    }

    #[test]
    fn service_name_sources_in_gos_order() {
        let s = one(
            vec![skv("faas.name", "fn"), skv("k8s.deployment.name", "dep")],
            base(),
        );
        assert_eq!(s.local_endpoint.unwrap().service_name, "fn");
        assert_eq!(s.tags[TAG_SERVICE_NAME_SOURCE], "faas.name");
        assert_eq!(s.tags["k8s.deployment.name"], "dep");
        let s = one(vec![skv("host.name", "h")], base());
        assert_eq!(
            s.local_endpoint.unwrap().service_name,
            "<missing service name>"
        );
    }

    #[test]
    fn endpoints_status_and_times_as_go() {
        let mut span = base();
        span.kind = 3;
        span.attributes = vec![
            skv("peer.service", "db"),
            skv("net.peer.ip", "::1"),
            skv("net.peer.port", "5432"),
            skv("net.host.ip", "10.0.0.2"),
            skv("error", "false"),
        ];
        span.status = Some(Status {
            code: 1,
            message: "fine".into(),
        });
        let s = one(vec![skv("service.name", "api")], span);
        let remote = s.remote_endpoint.unwrap();
        assert_eq!(remote.service_name, "db");
        assert_eq!(remote.ipv6.unwrap().to_string(), "::1");
        assert_eq!(remote.port, 5432);
        assert_eq!(
            s.local_endpoint.unwrap().ipv4.unwrap().to_string(),
            "10.0.0.2"
        );
        for k in [
            "peer.service",
            "net.peer.ip",
            "net.peer.port",
            "net.host.ip",
        ] {
            assert!(!s.tags.contains_key(k), "{k} moved to an endpoint");
        }
        assert_eq!(s.tags[TAG_STATUS_CODE], "STATUS_CODE_OK");
        assert_eq!(s.tags[TAG_STATUS_DESCRIPTION], "fine");
        // zipkin-go writes the error message of a span with a status message.
        assert_eq!(s.tags[TAG_ERROR], "fine");
        assert_eq!(s.kind, Kind::Client);
        // 1_700_000_000_000_000.4 µs rounds down; 500 ns of duration rounds up to 1 µs.
        assert_eq!((s.timestamp, s.duration), (1_700_000_000_000_000, 1));
    }

    #[test]
    fn ids_must_be_valid() {
        let mut span = base();
        span.trace_id = vec![0; 16];
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        assert_eq!(
            spans_from_otlp(&req, "x").unwrap_err().0,
            "TraceID is invalid"
        );
    }

    #[test]
    fn floats_and_bytes_as_pdata_writes_them() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
        assert_eq!(base64(b"h"), "aA==");
    }
}
