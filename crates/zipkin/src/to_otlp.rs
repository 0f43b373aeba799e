//! Zipkin v2 spans → OTLP traces, as Go's `zipkinv2.ToTranslator` (contrib
//! `pkg/translator/zipkin/zipkinv2/to_translator.go`).
//!
//! Spans are ordered by local service name, then `otel.library.name` (a stable sort; Go's is
//! not stable), and grouped: one resource per service (`service.name`, or the attribute
//! named by `otlp.service.name.source`, plus the resource-convention tags of the group's
//! first span), one scope per library. Tags become span attributes (numbers and booleans
//! parsed with `parse_string_tags`), except the resource-convention ones; the endpoints
//! add `net.host.ip`/`net.host.port` and `peer.service`/`net.peer.ip`/`net.peer.port`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::span::{Event, Link};
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};

use crate::model::{Endpoint, Kind, Span};
use crate::{
    NO_SERVICE_NAME, START_TIME_ABSENT, TAG_ERROR, TAG_LIBRARY_NAME, TAG_LIBRARY_VERSION,
    TAG_SERVICE_NAME_SOURCE, TAG_SPAN_KIND, TAG_STATUS_CODE, TAG_STATUS_DESCRIPTION,
    TAG_TRACE_STATE,
};

/// The resource attribute names of the semantic conventions v1.6.1 (Go's
/// `GetResourceSemanticConventionAttributeNames`), plus the OpenCensus and Zipkin keys Go
/// adds: tags with these names describe the resource, not the span.
const RESOURCE_KEYS: &[&str] = &[
    "cloud.provider",
    "cloud.account.id",
    "cloud.region",
    "cloud.availability_zone",
    "cloud.platform",
    "aws.ecs.container.arn",
    "aws.ecs.cluster.arn",
    "aws.ecs.launchtype",
    "aws.ecs.task.arn",
    "aws.ecs.task.family",
    "aws.ecs.task.revision",
    "aws.eks.cluster.arn",
    "aws.log.group.names",
    "aws.log.group.arns",
    "aws.log.stream.names",
    "aws.log.stream.arns",
    "container.name",
    "container.id",
    "container.runtime",
    "container.image.name",
    "container.image.tag",
    "deployment.environment",
    "device.id",
    "device.model.identifier",
    "device.model.name",
    "faas.name",
    "faas.id",
    "faas.version",
    "faas.instance",
    "faas.max_memory",
    "host.id",
    "host.name",
    "host.type",
    "host.arch",
    "host.image.name",
    "host.image.id",
    "host.image.version",
    "k8s.cluster.name",
    "k8s.node.name",
    "k8s.node.uid",
    "k8s.namespace.name",
    "k8s.pod.uid",
    "k8s.pod.name",
    "k8s.container.name",
    "k8s.container.restart_count",
    "k8s.replicaset.uid",
    "k8s.replicaset.name",
    "k8s.deployment.uid",
    "k8s.deployment.name",
    "k8s.statefulset.uid",
    "k8s.statefulset.name",
    "k8s.daemonset.uid",
    "k8s.daemonset.name",
    "k8s.job.uid",
    "k8s.job.name",
    "k8s.cronjob.uid",
    "k8s.cronjob.name",
    "os.type",
    "os.description",
    "os.name",
    "os.version",
    "process.pid",
    "process.executable.name",
    "process.executable.path",
    "process.command",
    "process.command_line",
    "process.command_args",
    "process.owner",
    "process.runtime.name",
    "process.runtime.version",
    "process.runtime.description",
    "service.name",
    "service.namespace",
    "service.instance.id",
    "service.version",
    "telemetry.sdk.name",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "telemetry.auto.version",
    "webengine.name",
    "webengine.version",
    "webengine.description",
    // Go's additions
    TAG_SERVICE_NAME_SOURCE,
    TAG_LIBRARY_NAME,
    TAG_LIBRARY_VERSION,
    "opencensus.starttime",
    "opencensus.exporterversion",
    "opencensus.resourcetype",
];

fn is_resource_key(k: &str) -> bool {
    RESOURCE_KEYS.contains(&k)
}

pub(crate) fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

pub(crate) fn str_value(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.to_string())
}

/// `PutStr`-like: replaces the value of an existing key in place.
pub(crate) fn put(attrs: &mut Vec<KeyValue>, key: &str, value: any_value::Value) {
    match attrs.iter_mut().find(|a| a.key == key) {
        Some(a) => a.value = Some(AnyValue { value: Some(value) }),
        None => attrs.push(kv(key, value)),
    }
}

fn local_service(s: &Span) -> &str {
    s.local_endpoint
        .as_ref()
        .map(|e| e.service_name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(NO_SERVICE_NAME)
}

fn library(s: &Span) -> &str {
    s.tags.get(TAG_LIBRARY_NAME).map_or("", String::as_str)
}

/// Go's `DetermineValueType` with `parse_string_tags`: integers, decimals and
/// `true`/`false` become typed values; anything else stays a string.
pub fn parse_tag(value: &str, parse: bool) -> any_value::Value {
    if !parse || value.is_empty() {
        return str_value(value);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    if digits(unsigned) {
        // strconv.ParseInt saturates out-of-range values.
        let v = value.parse::<i64>().unwrap_or(if value.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        });
        return any_value::Value::IntValue(v);
    }
    if let Some((i, f)) = unsigned.split_once('.')
        && digits(i)
        && digits(f)
    {
        return any_value::Value::DoubleValue(value.parse().unwrap_or(0.0));
    }
    match value {
        "true" => any_value::Value::BoolValue(true),
        "false" => any_value::Value::BoolValue(false),
        _ => str_value(value),
    }
}

/// The OTLP request for `spans`. An error (a malformed `otlp.link.N` tag or annotation
/// payload) refuses the whole request, as in Go.
pub fn spans_to_otlp(
    mut spans: Vec<Span>,
    parse_string_tags: bool,
) -> Result<ExportTraceServiceRequest, String> {
    spans.sort_by(|a, b| {
        local_service(a)
            .cmp(local_service(b))
            .then_with(|| library(a).cmp(library(b)))
    });
    let mut out = ExportTraceServiceRequest::default();
    let mut prev_service: Option<String> = None;
    let mut prev_library: Option<String> = None;
    for zspan in spans {
        let mut tags = zspan.tags.clone();
        let service = local_service(&zspan).to_string();
        if prev_service.as_deref() != Some(service.as_str()) {
            let mut resource = Resource::default();
            populate_resource(&mut tags, &service, &mut resource.attributes);
            out.resource_spans.push(ResourceSpans {
                resource: Some(resource),
                ..ResourceSpans::default()
            });
            prev_service = Some(service);
            prev_library = None;
        }
        let lib = library(&zspan).to_string();
        let rs = out.resource_spans.last_mut().expect("pushed above");
        if prev_library.as_deref() != Some(lib.as_str()) {
            let mut scope = InstrumentationScope::default();
            if !lib.is_empty() {
                if let Some(n) = tags.remove(TAG_LIBRARY_NAME) {
                    scope.name = n;
                }
                if let Some(v) = tags.remove(TAG_LIBRARY_VERSION) {
                    scope.version = v;
                }
            }
            rs.scope_spans.push(ScopeSpans {
                scope: Some(scope),
                ..ScopeSpans::default()
            });
            prev_library = Some(lib);
        }
        let ss = rs.scope_spans.last_mut().expect("pushed above");
        ss.spans
            .push(span_to_otlp(&zspan, tags, parse_string_tags)?);
    }
    Ok(out)
}

fn populate_resource(
    tags: &mut BTreeMap<String, String>,
    service: &str,
    attrs: &mut Vec<KeyValue>,
) {
    if service == NO_SERVICE_NAME {
        return;
    }
    let key = tags
        .remove(TAG_SERVICE_NAME_SOURCE)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "service.name".to_string());
    put(attrs, &key, str_value(service));
    for k in RESOURCE_KEYS {
        if *k == TAG_LIBRARY_NAME || *k == TAG_LIBRARY_VERSION {
            continue;
        }
        if let Some(v) = tags.remove(*k) {
            put(attrs, k, str_value(&v));
        }
    }
}

fn status_code(text: &str) -> i32 {
    match text {
        "STATUS_CODE_OK" | "Ok" | "OK" => 1,
        "STATUS_CODE_ERROR" | "Error" | "ERROR" => 2,
        _ => 0,
    }
}

fn ip_text(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => a.to_string(),
        },
        IpAddr::V4(a) => a.to_string(),
    }
}

fn endpoint_attrs(e: &Endpoint, attrs: &mut Vec<KeyValue>, remote: bool) {
    let (ip_key, port_key) = if remote {
        ("net.peer.ip", "net.peer.port")
    } else {
        ("net.host.ip", "net.host.port")
    };
    if remote && !e.service_name.is_empty() {
        put(attrs, "peer.service", str_value(&e.service_name));
    }
    if let Some(ip) = &e.ipv4 {
        put(attrs, ip_key, str_value(&ip_text(ip)));
    }
    if let Some(ip) = &e.ipv6 {
        put(attrs, ip_key, str_value(&ip_text(ip)));
    }
    if e.port > 0 {
        put(
            attrs,
            port_key,
            any_value::Value::IntValue(i64::from(e.port)),
        );
    }
}

fn span_to_otlp(
    z: &Span,
    mut tags: BTreeMap<String, String>,
    parse: bool,
) -> Result<OtlpSpan, String> {
    let mut span = OtlpSpan {
        trace_id: z.trace_id.to_bytes().to_vec(),
        span_id: z.id.to_be_bytes().to_vec(),
        name: z.name.clone(),
        ..OtlpSpan::default()
    };
    if let Some(ts) = tags.remove(TAG_TRACE_STATE) {
        span.trace_state = ts;
    }
    if let Some(p) = z.parent_id
        && p != z.id
    {
        span.parent_span_id = p.to_be_bytes().to_vec();
    }
    span.kind = match z.kind {
        Kind::Client => 3,
        Kind::Server => 2,
        Kind::Producer => 4,
        Kind::Consumer => 5,
        Kind::Undetermined => match tags.remove(TAG_SPAN_KIND).as_deref() {
            Some("internal") => 1,
            _ => 0,
        },
    };
    let mut status = Status::default();
    if let Some(code) = tags.remove(TAG_STATUS_CODE) {
        status.code = status_code(&code);
        if let Some(m) = tags.remove(TAG_STATUS_DESCRIPTION) {
            status.message = m;
        }
    }
    if tags.get(TAG_ERROR).is_some_and(|v| v == "true") {
        status.code = 2;
        tags.remove(TAG_ERROR);
    }
    if status.code != 0 || !status.message.is_empty() {
        span.status = Some(status);
    }
    span.links = links_from_tags(&mut tags)?;
    for (k, v) in &tags {
        if is_resource_key(k) {
            continue;
        }
        span.attributes.push(kv(k, parse_tag(v, parse)));
    }
    if let Some(e) = &z.local_endpoint {
        endpoint_attrs(e, &mut span.attributes, false);
    }
    if let Some(e) = &z.remote_endpoint {
        endpoint_attrs(e, &mut span.attributes, true);
    }
    if z.timestamp == 0 {
        span.start_time_unix_nano = 0;
        span.end_time_unix_nano = z.duration.saturating_mul(1000);
        put(
            &mut span.attributes,
            START_TIME_ABSENT,
            any_value::Value::BoolValue(true),
        );
    } else {
        span.start_time_unix_nano = z.timestamp.saturating_mul(1000);
        span.end_time_unix_nano = span
            .start_time_unix_nano
            .saturating_add(z.duration.saturating_mul(1000));
    }
    for a in &z.annotations {
        span.events
            .push(event_from_annotation(a.timestamp, &a.value)?);
    }
    Ok(span)
}

/// `name|{json attributes}|dropped count`, or just a name.
fn event_from_annotation(ts: u64, value: &str) -> Result<Event, String> {
    let parts: Vec<&str> = value.split('|').collect();
    let mut event = Event {
        time_unix_nano: ts.saturating_mul(1000),
        name: parts[0].to_string(),
        ..Event::default()
    };
    if parts.len() < 3 {
        return Ok(event);
    }
    let json = parts[1..parts.len() - 1].join("|");
    event.attributes = json_attributes(&json)?;
    event.dropped_attributes_count = parse_dropped(parts[parts.len() - 1])?;
    Ok(event)
}

fn parse_dropped(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|e| format!("strconv.ParseUint: parsing {s:?}: {e}"))
}

/// Go's `jsonMapToAttributeMap`: strings, numbers (integral ones as ints) and booleans;
/// other values are left out.
fn json_attributes(json: &str) -> Result<Vec<KeyValue>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let value = match v {
            serde_json::Value::String(s) => any_value::Value::StringValue(s),
            serde_json::Value::Number(n) => {
                let d = n.as_f64().unwrap_or(0.0);
                if d.fract() == 0.0 && d.abs() < 9.2e18 {
                    any_value::Value::IntValue(d as i64)
                } else {
                    any_value::Value::DoubleValue(d)
                }
            }
            serde_json::Value::Bool(b) => any_value::Value::BoolValue(b),
            _ => continue,
        };
        out.push(kv(&k, value));
    }
    Ok(out)
}

fn hex_id<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let s = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = [0u8; N];
    if s.is_empty() {
        return Ok(out);
    }
    if s.len() != N * 2 {
        return Err("invalid length for ID".into());
    }
    hex::decode_to_slice(s, &mut out)
        .map_err(|e| format!("cannot unmarshal ID from string '{s}': {e}"))?;
    Ok(out)
}

/// `otlp.link.0`, `otlp.link.1`, … up to the first missing one (at most 128).
fn links_from_tags(tags: &mut BTreeMap<String, String>) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for i in 0..128 {
        let Some(val) = tags.remove(&format!("otlp.link.{i}")) else {
            break;
        };
        let parts: Vec<&str> = val.split('|').collect();
        if parts.len() < 5 {
            continue;
        }
        let n = parts.len();
        let json = parts[3..n - 1].join("|");
        links.push(Link {
            trace_id: hex_id::<16>(parts[0])?.to_vec(),
            span_id: hex_id::<8>(parts[1])?.to_vec(),
            trace_state: parts[2].to_string(),
            attributes: json_attributes(&json)?,
            dropped_attributes_count: parse_dropped(parts[n - 1])?,
            ..Link::default()
        });
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_string_tags_types_as_go() {
        assert_eq!(parse_tag("42", true), any_value::Value::IntValue(42));
        assert_eq!(parse_tag("-7", true), any_value::Value::IntValue(-7));
        assert_eq!(parse_tag("1.5", true), any_value::Value::DoubleValue(1.5));
        assert_eq!(parse_tag("true", true), any_value::Value::BoolValue(true));
        assert_eq!(parse_tag("True", true), str_value("True"));
        assert_eq!(parse_tag("1.", true), str_value("1."));
        assert_eq!(parse_tag("", true), str_value(""));
        assert_eq!(parse_tag("42", false), str_value("42"));
        assert_eq!(
            parse_tag("99999999999999999999", true),
            any_value::Value::IntValue(i64::MAX)
        );
    }

    #[test]
    fn annotation_payloads_become_event_attributes() {
        let e = event_from_annotation(5, r#"boom|{"a":1,"b":"x|y","c":1.5,"d":true,"e":[1]}|2"#)
            .unwrap();
        assert_eq!(e.name, "boom");
        assert_eq!(e.time_unix_nano, 5000);
        assert_eq!(e.dropped_attributes_count, 2);
        let keys: Vec<&str> = e.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, vec!["a", "b", "c", "d"]);
        assert!(event_from_annotation(1, "x|{not json|1").is_err());
        assert_eq!(event_from_annotation(1, "a|b").unwrap().name, "a");
    }
}
