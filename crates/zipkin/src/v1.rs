//! Zipkin v1 JSON (`POST /api/v1/spans`) → OTLP, as Go's `zipkinv1` JSON unmarshaler:
//! the `cs`/`sr`/`ss`/`cr`/`ms`/`mr` annotations give the kind, the endpoint and the
//! timestamps; other annotations become events; binary annotations attributes (`lc` as
//! `component`), with the status from `otel.status_code`, `census.status_code`, `error` or
//! `http.status_code`. One resource per endpoint (`service.name`, and `ipv4`, `ipv6`,
//! `port` as strings).

use std::collections::HashMap;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::any_value;
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::span::Event;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde::Deserialize;

use crate::START_TIME_ABSENT;
use crate::to_otlp::{kv, parse_tag, put, str_value};

pub(crate) const UNKNOWN_SERVICE: &str = "unknown-service";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsonSpan {
    #[serde(default, deserialize_with = "crate::json::nullable")]
    trace_id: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    name: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    parent_id: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    id: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    timestamp: i64,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    duration: i64,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    annotations: Vec<Option<JsonAnnotation>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    binary_annotations: Vec<Option<JsonBinaryAnnotation>>,
}

#[derive(Deserialize, Default, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JsonEndpoint {
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub service_name: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub ipv4: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub ipv6: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub port: i32,
}

#[derive(Deserialize, Default)]
pub(crate) struct JsonAnnotation {
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub value: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    pub endpoint: Option<JsonEndpoint>,
}

#[derive(Deserialize, Default)]
struct JsonBinaryAnnotation {
    #[serde(default, deserialize_with = "crate::json::nullable")]
    key: String,
    /// Go reads binary annotation values as strings only.
    #[serde(default, deserialize_with = "crate::json::nullable")]
    value: String,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    endpoint: Option<JsonEndpoint>,
}

pub(crate) fn micros_to_nanos(us: i64) -> u64 {
    if us <= 0 {
        0
    } else {
        (us as u64).saturating_mul(1000)
    }
}

fn trace_id(s: &str) -> Result<[u8; 16], String> {
    let mut id = [0u8; 16];
    match s.len() {
        16 => hex::decode_to_slice(s, &mut id[8..]),
        32 => hex::decode_to_slice(s, &mut id),
        _ => {
            return Err(
                "zipkinV1 span traceId: hex traceId span has wrong length (expected 16 or 32)"
                    .into(),
            );
        }
    }
    .map_err(|e| format!("zipkinV1 span traceId: {e}"))?;
    if id.iter().all(|b| *b == 0) {
        return Err("zipkinV1 span traceId: traceId is zero".into());
    }
    Ok(id)
}

fn span_id(s: &str, what: &str) -> Result<[u8; 8], String> {
    if s.len() != 16 {
        return Err(format!(
            "zipkinV1 span {what}: hex Id has wrong length (expected 16)"
        ));
    }
    let mut id = [0u8; 8];
    hex::decode_to_slice(s, &mut id).map_err(|e| format!("zipkinV1 span {what}: {e}"))?;
    if id.iter().all(|b| *b == 0) {
        return Err(format!("zipkinV1 span {what}: ID is zero"));
    }
    Ok(id)
}

/// Where the status of a v1 span comes from, in Go's order of preference.
#[derive(Default)]
struct StatusMapper {
    census: (Option<i32>, String),
    otel: (Option<i32>, String),
    http: (Option<i32>, String),
    error_tag: Option<i32>,
}

fn int_of(v: &any_value::Value) -> Option<i64> {
    match v {
        any_value::Value::IntValue(i) => Some(*i),
        any_value::Value::StringValue(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|i| i32::try_from(*i).is_ok())
}

fn str_of(v: &any_value::Value) -> String {
    match v {
        any_value::Value::StringValue(s) => s.clone(),
        _ => String::new(),
    }
}

impl StatusMapper {
    /// True when the attribute is consumed (not kept on the span).
    fn take(&mut self, key: &str, v: &any_value::Value) -> bool {
        match key {
            "census.status_code" => {
                if let Some(c) = int_of(v) {
                    self.census.0 = Some(if c == 0 { 1 } else { 2 });
                }
                true
            }
            "census.status_description" | "opencensus.status_description" => {
                self.census.1 = str_of(v);
                true
            }
            "otel.status_code" => {
                if let Some(c) = int_of(v) {
                    self.otel.0 = Some(c as i32);
                }
                true
            }
            "otel.status_description" => {
                self.otel.1 = str_of(v);
                true
            }
            "http.status_code" => {
                if let Some(c) = int_of(v) {
                    self.http.0 = Some(if (100..400).contains(&c) { 0 } else { 2 });
                }
                false
            }
            "http.status_message" => {
                self.http.1 = str_of(v);
                false
            }
            "error" => {
                self.error_tag = Some(2);
                true
            }
            _ => false,
        }
    }

    fn status(self) -> Option<Status> {
        let (code, message) = if let Some(c) = self.census.0 {
            (c, self.census.1)
        } else if let Some(c) = self.otel.0 {
            (c, self.otel.1)
        } else if let Some(c) = self.error_tag {
            let m = if !self.census.1.is_empty() {
                self.census.1
            } else {
                self.otel.1
            };
            (c, m)
        } else if let Some(c) = self.http.0 {
            (c, self.http.1)
        } else {
            return None;
        };
        Some(Status { code, message })
    }
}

/// A JSON array of v1 spans as OTLP; `now_nanos` stamps spans without any time (Go uses
/// the receive time and marks them `otel.zipkin.absentField.startTime`).
pub fn decode(
    body: &[u8],
    parse_string_tags: bool,
    now_nanos: u64,
) -> Result<ExportTraceServiceRequest, String> {
    let spans: Vec<JsonSpan> =
        serde_json::from_slice(body).map_err(|e| format!("zipkinv1: {e}"))?;
    let mut out = ExportTraceServiceRequest::default();
    let mut by_endpoint: HashMap<String, usize> = HashMap::new();
    for z in spans {
        let tid = trace_id(&z.trace_id)?;
        let sid = span_id(&z.id, "id")?;
        let parent = if z.parent_id.is_empty() {
            Vec::new()
        } else {
            span_id(&z.parent_id, "parentId")?.to_vec()
        };
        let mut span = Span {
            trace_id: tid.to_vec(),
            span_id: sid.to_vec(),
            parent_span_id: parent,
            name: z.name,
            ..Span::default()
        };
        let mut endpoint = annotations_to_span(&z.annotations, &mut span);
        let binary = z
            .binary_annotations
            .into_iter()
            .flatten()
            .map(|b| BinaryAnnotation {
                value: parse_tag(&b.value, parse_string_tags),
                key: b.key,
                host_service: b.endpoint.map(|e| e.service_name),
            })
            .collect();
        let local_component = apply_binary_annotations(binary, &mut span, true);
        if endpoint.service_name == UNKNOWN_SERVICE && !local_component.is_empty() {
            endpoint.service_name = local_component;
        }
        if z.timestamp != 0 {
            span.start_time_unix_nano = micros_to_nanos(z.timestamp);
            span.end_time_unix_nano = micros_to_nanos(z.timestamp.saturating_add(z.duration));
        }
        if span.start_time_unix_nano == 0 {
            span.start_time_unix_nano = now_nanos;
            span.end_time_unix_nano = now_nanos;
            put(
                &mut span.attributes,
                START_TIME_ABSENT,
                any_value::Value::BoolValue(true),
            );
        }
        push_span(&mut out, &mut by_endpoint, &endpoint, span);
    }
    Ok(out)
}

pub(crate) fn annotations_to_span(
    annotations: &[Option<JsonAnnotation>],
    span: &mut Span,
) -> JsonEndpoint {
    let mut early = i64::MAX;
    let mut late = i64::MIN;
    let mut endpoint: Option<JsonEndpoint> = None;
    let mut kind_set = false;
    for a in annotations.iter().flatten() {
        if a.value.is_empty() {
            continue;
        }
        let name = a
            .endpoint
            .as_ref()
            .map(|e| e.service_name.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(UNKNOWN_SERVICE);
        let has_kind = matches!(a.value.as_str(), "cs" | "cr" | "ms" | "mr" | "ss" | "sr");
        if endpoint.is_none() && name != UNKNOWN_SERVICE && has_kind {
            endpoint = a.endpoint.clone();
        }
        if !kind_set && has_kind {
            span.kind = match a.value.as_str() {
                "cs" | "cr" => 3,
                "ms" => 4,
                "mr" => 5,
                _ => 2,
            };
            kind_set = true;
        }
        let ts = micros_to_nanos(a.timestamp);
        if a.timestamp < early {
            early = a.timestamp;
            span.start_time_unix_nano = ts;
        }
        if a.timestamp > late {
            late = a.timestamp;
            span.end_time_unix_nano = ts;
        }
        if has_kind {
            continue;
        }
        span.events.push(Event {
            time_unix_nano: ts,
            name: a.value.clone(),
            ..Event::default()
        });
    }
    endpoint.unwrap_or(JsonEndpoint {
        service_name: UNKNOWN_SERVICE.into(),
        ..JsonEndpoint::default()
    })
}

/// One binary annotation, decoded: its key, its value, and the service name of its host
/// (`None` without a host).
pub(crate) struct BinaryAnnotation {
    pub key: String,
    pub value: any_value::Value,
    pub host_service: Option<String>,
}

/// Go's `jsonBinAnnotationsToSpanAttributes` / `thriftBinAnnotationsToSpanAttributes`:
/// attributes and status of the span; returns the fallback service name (the last host's,
/// else the local component). JSON only takes a host with a service name (`only_named`).
pub(crate) fn apply_binary_annotations(
    list: Vec<BinaryAnnotation>,
    span: &mut Span,
    only_named: bool,
) -> String {
    let mut fallback = String::new();
    if list.is_empty() {
        return fallback;
    }
    let mut mapper = StatusMapper::default();
    let mut local_component = String::new();
    for b in list {
        if let Some(h) = b.host_service
            && !(only_named && h.is_empty())
        {
            fallback = h;
        }
        let mut key = b.key.as_str();
        if key == "lc" {
            key = "component";
            local_component = match &b.value {
                any_value::Value::StringValue(s) => s.clone(),
                other => crate::from_otlp::as_string(Some(&pdata::proto::common::v1::AnyValue {
                    value: Some(other.clone()),
                })),
            };
        }
        if mapper.take(key, &b.value) {
            continue;
        }
        put(&mut span.attributes, key, b.value);
    }
    if fallback.is_empty() {
        fallback = local_component;
    }
    if let Some(s) = mapper.status() {
        span.status = Some(s);
    }
    fallback
}

/// Adds the span to the resource of its endpoint (one per service, addresses and port).
pub(crate) fn push_span(
    out: &mut ExportTraceServiceRequest,
    by_endpoint: &mut HashMap<String, usize>,
    endpoint: &JsonEndpoint,
    span: Span,
) {
    let key = format!(
        "{}-{}-{}-{}",
        endpoint.service_name, endpoint.ipv4, endpoint.ipv6, endpoint.port
    );
    let i = *by_endpoint.entry(key).or_insert_with(|| {
        let mut attrs = vec![kv("service.name", str_value(&endpoint.service_name))];
        if !endpoint.ipv4.is_empty() {
            attrs.push(kv("ipv4", str_value(&endpoint.ipv4)));
        }
        if !endpoint.ipv6.is_empty() {
            attrs.push(kv("ipv6", str_value(&endpoint.ipv6)));
        }
        if endpoint.port != 0 {
            attrs.push(kv("port", str_value(&endpoint.port.to_string())));
        }
        out.resource_spans.push(ResourceSpans {
            resource: Some(Resource {
                attributes: attrs,
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans::default()],
            schema_url: String::new(),
        });
        out.resource_spans.len() - 1
    });
    out.resource_spans[i].scope_spans[0].spans.push(span);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: &str = r#"[{
      "traceId": "4d1e00c0db9010db86154a4ba6e91385",
      "parentId": "86154a4ba6e91385",
      "id": "4d1e00c0db9010db",
      "name": "get",
      "timestamp": 1472470996199000,
      "duration": 207000,
      "annotations": [
        {"timestamp": 1472470996199000, "value": "cs", "endpoint": {"serviceName": "frontend", "ipv4": "10.0.0.1", "port": 8080}},
        {"timestamp": 1472470996238000, "value": "ws", "endpoint": {"serviceName": "frontend"}},
        {"timestamp": 1472470996406000, "value": "cr", "endpoint": {"serviceName": "frontend"}}
      ],
      "binaryAnnotations": [
        {"key": "http.path", "value": "/api"},
        {"key": "http.status_code", "value": "500"},
        {"key": "lc", "value": "spring"}
      ]
    }]"#;

    #[test]
    fn v1_span_maps_as_go() {
        let req = decode(SPAN.as_bytes(), true, 1).unwrap();
        assert_eq!(req.resource_spans.len(), 1);
        let rs = &req.resource_spans[0];
        let res: Vec<(String, String)> = rs
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .iter()
            .map(|a| (a.key.clone(), crate::from_otlp::as_string(a.value.as_ref())))
            .collect();
        assert_eq!(
            res,
            vec![
                ("service.name".into(), "frontend".into()),
                ("ipv4".into(), "10.0.0.1".into()),
                ("port".into(), "8080".into())
            ]
        );
        let s = &rs.scope_spans[0].spans[0];
        assert_eq!(s.kind, 3);
        assert_eq!(s.start_time_unix_nano, 1472470996199000 * 1000);
        assert_eq!(s.end_time_unix_nano, (1472470996199000 + 207000) * 1000);
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].name, "ws");
        assert_eq!(s.status.as_ref().unwrap().code, 2, "HTTP 500 is an error");
        let keys: Vec<&str> = s.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, vec!["http.path", "http.status_code", "component"]);
        assert_eq!(s.trace_id.len(), 16);
        assert_eq!(hex::encode(&s.parent_span_id), "86154a4ba6e91385");
    }

    #[test]
    fn v1_errors_are_gos() {
        assert!(
            decode(
                b"[{\"traceId\":\"1\",\"id\":\"0000000000000001\"}]",
                false,
                0
            )
            .unwrap_err()
            .contains("wrong length")
        );
        assert!(
            decode(b"{", false, 0)
                .unwrap_err()
                .starts_with("zipkinv1: ")
        );
        let r = decode(
            b"[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\"}]",
            false,
            7,
        )
        .unwrap();
        let s = &r.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(s.start_time_unix_nano, 7);
        assert_eq!(s.attributes[0].key, START_TIME_ABSENT);
    }
}
