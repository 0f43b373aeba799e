//! OTLP/JSON: the JSON protobuf encoding of OTLP requests and responses
//! (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>).
//!
//! * `traceId`, `spanId`, `parentSpanId` (spans, links, logs, exemplars) are hex strings:
//!   any case on input, lower case on output; `""` is an empty id.
//! * Enums are written as integers; on input both integers and names
//!   (`"SPAN_KIND_SERVER"`) are accepted.
//! * 64-bit integers (`int64`, `uint64`, `fixed64`, `sfixed64`) are written as decimal strings;
//!   on input strings and JSON numbers are accepted. Doubles accept numbers and the strings
//!   `"NaN"`, `"Infinity"`, `"-Infinity"` (also written for non-finite values).
//! * Keys are written in lowerCamelCase; on input both lowerCamelCase and the original
//!   snake_case proto names are accepted. Unknown keys are ignored; `null` means default.
//! * `bytesValue` is base64 (standard alphabet; URL-safe and unpadded accepted on input).
//!
//! Decoding streams: serde visitors build the prost messages directly from the JSON tokens
//! (see `json_decode.rs`). Encoding writes JSON directly into a byte buffer, omitting default
//! values.

use base64::Engine;
// Names the tests in `json_tests.rs` use through `super::*`.
#[cfg(test)]
use {crate::proto::trace::v1::Status, serde_json::Value};

use crate::proto::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse},
    metrics::v1::{ExportMetricsPartialSuccess, ExportMetricsServiceResponse},
    profiles::v1development::{ExportProfilesPartialSuccess, ExportProfilesServiceResponse},
    trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse},
};
use crate::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use crate::proto::logs::v1::{LogRecord, ResourceLogs};
use crate::proto::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point,
};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, Span};
use crate::{PdataError, Request, Signal};

#[path = "json_decode.rs"]
mod decoding;

// =============================================================================================
// Decoding
// =============================================================================================

/// Decodes an OTLP/JSON export request of `signal`.
pub fn decode(signal: Signal, json: &[u8]) -> Result<Request, PdataError> {
    Ok(match signal {
        Signal::Traces => Request::Traces(decoding::decode_message(json, "request")?),
        Signal::Metrics => Request::Metrics(decoding::decode_message(json, "request")?),
        Signal::Logs => Request::Logs(decoding::decode_message(json, "request")?),
        Signal::Profiles => return Err(PdataError::Json(PROFILES_JSON.to_string())),
    })
}

/// Profiles travel as protobuf only: their schema is in development and its JSON mapping is
/// not built here.
pub const PROFILES_JSON: &str = "OTLP/JSON is not supported for profiles; send protobuf";

// =============================================================================================
// Encoding
// =============================================================================================

/// Encodes a request as OTLP/JSON (lowerCamelCase keys, hex ids, 64-bit integers as strings,
/// enums as integers, default values omitted).
pub fn encode(req: &Request) -> Vec<u8> {
    let mut b = Vec::with_capacity(4096);
    let mut o = ObjW::new(&mut b);
    match req {
        Request::Traces(r) => o.arr("resourceSpans", &r.resource_spans, w_resource_spans),
        Request::Metrics(r) => o.arr("resourceMetrics", &r.resource_metrics, w_resource_metrics),
        Request::Logs(r) => o.arr("resourceLogs", &r.resource_logs, w_resource_logs),
        // Unreachable in practice: components refuse JSON for profiles (see PROFILES_JSON)
        // when they are built; an empty object rather than a panic.
        Request::Profiles(_) => {}
    }
    o.end();
    b
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn w_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        b.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            b.extend_from_slice(b"\\u00");
            b.push(HEX[(c >> 4) as usize]);
            b.push(HEX[(c & 15) as usize]);
        } else {
            b.extend_from_slice(esc);
        }
        start = i + 1;
    }
    b.extend_from_slice(&bytes[start..]);
    b.push(b'"');
}

fn w_f64(b: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        b.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        b.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // Writing to a Vec cannot fail; serde_json prints the shortest round-trip form.
        let _ = serde_json::to_writer(&mut *b, &v);
    }
}

fn w_u64s(b: &mut Vec<u8>, v: u64) {
    b.push(b'"');
    b.extend_from_slice(v.to_string().as_bytes());
    b.push(b'"');
}

fn w_i64s(b: &mut Vec<u8>, v: i64) {
    b.push(b'"');
    b.extend_from_slice(v.to_string().as_bytes());
    b.push(b'"');
}

fn w_hex(b: &mut Vec<u8>, v: &[u8]) {
    b.push(b'"');
    for &x in v {
        b.push(HEX[(x >> 4) as usize]);
        b.push(HEX[(x & 15) as usize]);
    }
    b.push(b'"');
}

/// Writes one JSON object, inserting commas.
struct ObjW<'a> {
    b: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjW<'a> {
    fn new(b: &'a mut Vec<u8>) -> Self {
        b.push(b'{');
        ObjW { b, first: true }
    }

    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.b.push(b',');
        }
        self.first = false;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
        self.b
    }

    fn end(self) {
        self.b.push(b'}');
    }

    fn str(&mut self, k: &str, v: &str) {
        if !v.is_empty() {
            w_str(self.key(k), v);
        }
    }

    fn num(&mut self, k: &str, v: i64) {
        if v != 0 {
            let b = self.key(k);
            b.extend_from_slice(v.to_string().as_bytes());
        }
    }

    fn u64s(&mut self, k: &str, v: u64) {
        if v != 0 {
            w_u64s(self.key(k), v);
        }
    }

    fn f64(&mut self, k: &str, v: f64) {
        w_f64(self.key(k), v);
    }

    fn f64_nonzero(&mut self, k: &str, v: f64) {
        if v != 0.0 || v.is_sign_negative() {
            self.f64(k, v);
        }
    }

    fn opt_f64(&mut self, k: &str, v: Option<f64>) {
        if let Some(v) = v {
            self.f64(k, v);
        }
    }

    fn bool(&mut self, k: &str, v: bool) {
        if v {
            self.key(k).extend_from_slice(b"true");
        }
    }

    fn id(&mut self, k: &str, v: &[u8]) {
        if !v.is_empty() {
            w_hex(self.key(k), v);
        }
    }

    fn arr<T>(&mut self, k: &str, items: &[T], f: impl Fn(&mut Vec<u8>, &T)) {
        if items.is_empty() {
            return;
        }
        let b = self.key(k);
        b.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            f(b, item);
        }
        b.push(b']');
    }

    fn obj<T>(&mut self, k: &str, v: &Option<T>, f: impl Fn(&mut Vec<u8>, &T)) {
        if let Some(v) = v {
            f(self.key(k), v);
        }
    }
}

fn w_any(b: &mut Vec<u8>, v: &AnyValue) {
    use any_value::Value as V;
    let mut o = ObjW::new(b);
    match &v.value {
        Some(V::StringValue(s)) => w_str(o.key("stringValue"), s),
        Some(V::BoolValue(x)) => {
            o.key("boolValue")
                .extend_from_slice(if *x { b"true" } else { b"false" })
        }
        Some(V::IntValue(i)) => w_i64s(o.key("intValue"), *i),
        Some(V::DoubleValue(d)) => w_f64(o.key("doubleValue"), *d),
        Some(V::ArrayValue(a)) => {
            let mut inner = ObjW::new(o.key("arrayValue"));
            inner.arr("values", &a.values, w_any);
            inner.end();
        }
        Some(V::KvlistValue(l)) => {
            let mut inner = ObjW::new(o.key("kvlistValue"));
            inner.arr("values", &l.values, w_kv);
            inner.end();
        }
        Some(V::BytesValue(x)) => {
            let s = base64::engine::general_purpose::STANDARD.encode(x);
            w_str(o.key("bytesValue"), &s);
        }
        Some(V::StringValueStrindex(i)) => o
            .key("stringValueStrindex")
            .extend_from_slice(i.to_string().as_bytes()),
        None => {}
    }
    o.end();
}

fn w_kv(b: &mut Vec<u8>, kv: &KeyValue) {
    let mut o = ObjW::new(b);
    // `key` is always written: receivers commonly require it.
    w_str(o.key("key"), &kv.key);
    o.obj("value", &kv.value, w_any);
    o.num("keyStrindex", kv.key_strindex.into());
    o.end();
}

fn w_resource(b: &mut Vec<u8>, r: &Resource) {
    let mut o = ObjW::new(b);
    o.arr("attributes", &r.attributes, w_kv);
    o.num("droppedAttributesCount", r.dropped_attributes_count.into());
    o.arr("entityRefs", &r.entity_refs, |b, e| {
        let mut o = ObjW::new(b);
        o.str("schemaUrl", &e.schema_url);
        o.str("type", &e.r#type);
        o.arr("idKeys", &e.id_keys, |b, s| w_str(b, s));
        o.arr("descriptionKeys", &e.description_keys, |b, s| w_str(b, s));
        o.end();
    });
    o.end();
}

fn w_scope(b: &mut Vec<u8>, s: &InstrumentationScope) {
    let mut o = ObjW::new(b);
    o.str("name", &s.name);
    o.str("version", &s.version);
    o.arr("attributes", &s.attributes, w_kv);
    o.num("droppedAttributesCount", s.dropped_attributes_count.into());
    o.end();
}

fn w_resource_spans(b: &mut Vec<u8>, rs: &ResourceSpans) {
    let mut o = ObjW::new(b);
    o.obj("resource", &rs.resource, w_resource);
    o.arr("scopeSpans", &rs.scope_spans, |b, ss| {
        let mut o = ObjW::new(b);
        o.obj("scope", &ss.scope, w_scope);
        o.arr("spans", &ss.spans, w_span);
        o.str("schemaUrl", &ss.schema_url);
        o.end();
    });
    o.str("schemaUrl", &rs.schema_url);
    o.end();
}

fn w_span(b: &mut Vec<u8>, s: &Span) {
    let mut o = ObjW::new(b);
    o.id("traceId", &s.trace_id);
    o.id("spanId", &s.span_id);
    o.str("traceState", &s.trace_state);
    o.id("parentSpanId", &s.parent_span_id);
    o.num("flags", s.flags.into());
    o.str("name", &s.name);
    o.num("kind", s.kind.into());
    o.u64s("startTimeUnixNano", s.start_time_unix_nano);
    o.u64s("endTimeUnixNano", s.end_time_unix_nano);
    o.arr("attributes", &s.attributes, w_kv);
    o.num("droppedAttributesCount", s.dropped_attributes_count.into());
    o.arr("events", &s.events, |b, e| {
        let mut o = ObjW::new(b);
        o.u64s("timeUnixNano", e.time_unix_nano);
        o.str("name", &e.name);
        o.arr("attributes", &e.attributes, w_kv);
        o.num("droppedAttributesCount", e.dropped_attributes_count.into());
        o.end();
    });
    o.num("droppedEventsCount", s.dropped_events_count.into());
    o.arr("links", &s.links, |b, l| {
        let mut o = ObjW::new(b);
        o.id("traceId", &l.trace_id);
        o.id("spanId", &l.span_id);
        o.str("traceState", &l.trace_state);
        o.arr("attributes", &l.attributes, w_kv);
        o.num("droppedAttributesCount", l.dropped_attributes_count.into());
        o.num("flags", l.flags.into());
        o.end();
    });
    o.num("droppedLinksCount", s.dropped_links_count.into());
    o.obj("status", &s.status, |b, st| {
        let mut o = ObjW::new(b);
        o.str("message", &st.message);
        o.num("code", st.code.into());
        o.end();
    });
    o.end();
}

fn w_resource_logs(b: &mut Vec<u8>, rl: &ResourceLogs) {
    let mut o = ObjW::new(b);
    o.obj("resource", &rl.resource, w_resource);
    o.arr("scopeLogs", &rl.scope_logs, |b, sl| {
        let mut o = ObjW::new(b);
        o.obj("scope", &sl.scope, w_scope);
        o.arr("logRecords", &sl.log_records, w_log);
        o.str("schemaUrl", &sl.schema_url);
        o.end();
    });
    o.str("schemaUrl", &rl.schema_url);
    o.end();
}

fn w_log(b: &mut Vec<u8>, l: &LogRecord) {
    let mut o = ObjW::new(b);
    o.u64s("timeUnixNano", l.time_unix_nano);
    o.u64s("observedTimeUnixNano", l.observed_time_unix_nano);
    o.num("severityNumber", l.severity_number.into());
    o.str("severityText", &l.severity_text);
    o.obj("body", &l.body, w_any);
    o.arr("attributes", &l.attributes, w_kv);
    o.num("droppedAttributesCount", l.dropped_attributes_count.into());
    o.num("flags", l.flags.into());
    o.id("traceId", &l.trace_id);
    o.id("spanId", &l.span_id);
    o.str("eventName", &l.event_name);
    o.end();
}

fn w_resource_metrics(b: &mut Vec<u8>, rm: &ResourceMetrics) {
    let mut o = ObjW::new(b);
    o.obj("resource", &rm.resource, w_resource);
    o.arr("scopeMetrics", &rm.scope_metrics, |b, sm| {
        let mut o = ObjW::new(b);
        o.obj("scope", &sm.scope, w_scope);
        o.arr("metrics", &sm.metrics, w_metric);
        o.str("schemaUrl", &sm.schema_url);
        o.end();
    });
    o.str("schemaUrl", &rm.schema_url);
    o.end();
}

fn w_metric(b: &mut Vec<u8>, m: &Metric) {
    let mut o = ObjW::new(b);
    o.str("name", &m.name);
    o.str("description", &m.description);
    o.str("unit", &m.unit);
    match &m.data {
        Some(metric::Data::Gauge(g)) => {
            let mut d = ObjW::new(o.key("gauge"));
            d.arr("dataPoints", &g.data_points, w_number_point);
            d.end();
        }
        Some(metric::Data::Sum(s)) => {
            let mut d = ObjW::new(o.key("sum"));
            d.arr("dataPoints", &s.data_points, w_number_point);
            d.num("aggregationTemporality", s.aggregation_temporality.into());
            d.bool("isMonotonic", s.is_monotonic);
            d.end();
        }
        Some(metric::Data::Histogram(h)) => {
            let mut d = ObjW::new(o.key("histogram"));
            d.arr("dataPoints", &h.data_points, w_histogram_point);
            d.num("aggregationTemporality", h.aggregation_temporality.into());
            d.end();
        }
        Some(metric::Data::ExponentialHistogram(h)) => {
            let mut d = ObjW::new(o.key("exponentialHistogram"));
            d.arr("dataPoints", &h.data_points, w_exp_histogram_point);
            d.num("aggregationTemporality", h.aggregation_temporality.into());
            d.end();
        }
        Some(metric::Data::Summary(s)) => {
            let mut d = ObjW::new(o.key("summary"));
            d.arr("dataPoints", &s.data_points, w_summary_point);
            d.end();
        }
        None => {}
    }
    o.arr("metadata", &m.metadata, w_kv);
    o.end();
}

fn w_exemplar(b: &mut Vec<u8>, e: &Exemplar) {
    let mut o = ObjW::new(b);
    o.arr("filteredAttributes", &e.filtered_attributes, w_kv);
    o.u64s("timeUnixNano", e.time_unix_nano);
    match e.value {
        Some(exemplar::Value::AsDouble(d)) => o.f64("asDouble", d),
        Some(exemplar::Value::AsInt(i)) => w_i64s(o.key("asInt"), i),
        None => {}
    }
    o.id("spanId", &e.span_id);
    o.id("traceId", &e.trace_id);
    o.end();
}

fn w_number_point(b: &mut Vec<u8>, p: &NumberDataPoint) {
    let mut o = ObjW::new(b);
    o.arr("attributes", &p.attributes, w_kv);
    o.u64s("startTimeUnixNano", p.start_time_unix_nano);
    o.u64s("timeUnixNano", p.time_unix_nano);
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => o.f64("asDouble", d),
        Some(number_data_point::Value::AsInt(i)) => w_i64s(o.key("asInt"), i),
        None => {}
    }
    o.arr("exemplars", &p.exemplars, w_exemplar);
    o.num("flags", p.flags.into());
    o.end();
}

fn w_histogram_point(b: &mut Vec<u8>, p: &HistogramDataPoint) {
    let mut o = ObjW::new(b);
    o.arr("attributes", &p.attributes, w_kv);
    o.u64s("startTimeUnixNano", p.start_time_unix_nano);
    o.u64s("timeUnixNano", p.time_unix_nano);
    o.u64s("count", p.count);
    o.opt_f64("sum", p.sum);
    o.arr("bucketCounts", &p.bucket_counts, |b, c| w_u64s(b, *c));
    o.arr("explicitBounds", &p.explicit_bounds, |b, x| w_f64(b, *x));
    o.arr("exemplars", &p.exemplars, w_exemplar);
    o.num("flags", p.flags.into());
    o.opt_f64("min", p.min);
    o.opt_f64("max", p.max);
    o.end();
}

fn w_buckets(b: &mut Vec<u8>, x: &exponential_histogram_data_point::Buckets) {
    let mut o = ObjW::new(b);
    o.num("offset", x.offset.into());
    o.arr("bucketCounts", &x.bucket_counts, |b, c| w_u64s(b, *c));
    o.end();
}

fn w_exp_histogram_point(b: &mut Vec<u8>, p: &ExponentialHistogramDataPoint) {
    let mut o = ObjW::new(b);
    o.arr("attributes", &p.attributes, w_kv);
    o.u64s("startTimeUnixNano", p.start_time_unix_nano);
    o.u64s("timeUnixNano", p.time_unix_nano);
    o.u64s("count", p.count);
    o.opt_f64("sum", p.sum);
    o.num("scale", p.scale.into());
    o.u64s("zeroCount", p.zero_count);
    o.obj("positive", &p.positive, w_buckets);
    o.obj("negative", &p.negative, w_buckets);
    o.num("flags", p.flags.into());
    o.arr("exemplars", &p.exemplars, w_exemplar);
    o.opt_f64("min", p.min);
    o.opt_f64("max", p.max);
    o.f64_nonzero("zeroThreshold", p.zero_threshold);
    o.end();
}

fn w_summary_point(b: &mut Vec<u8>, p: &SummaryDataPoint) {
    let mut o = ObjW::new(b);
    o.arr("attributes", &p.attributes, w_kv);
    o.u64s("startTimeUnixNano", p.start_time_unix_nano);
    o.u64s("timeUnixNano", p.time_unix_nano);
    o.u64s("count", p.count);
    o.f64_nonzero("sum", p.sum);
    o.arr("quantileValues", &p.quantile_values, |b, q| {
        let mut o = ObjW::new(b);
        o.f64_nonzero("quantile", q.quantile);
        o.f64_nonzero("value", q.value);
        o.end();
    });
    o.num("flags", p.flags.into());
    o.end();
}

// =============================================================================================
// Export responses and google.rpc.Status
// =============================================================================================

/// The `partialSuccess` of an export response, for any signal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialSuccess {
    /// Rejected spans, data points or log records.
    pub rejected: i64,
    pub error_message: String,
}

/// An export response of any signal (`partial_success` absent = full success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportResponse {
    pub signal: Signal,
    pub partial_success: Option<PartialSuccess>,
}

fn rejected_key(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "rejectedSpans",
        Signal::Metrics => "rejectedDataPoints",
        Signal::Logs => "rejectedLogRecords",
        Signal::Profiles => "rejectedProfiles",
    }
}

impl ExportResponse {
    pub fn success(signal: Signal) -> Self {
        ExportResponse {
            signal,
            partial_success: None,
        }
    }

    pub fn partial(signal: Signal, rejected: i64, error_message: impl Into<String>) -> Self {
        ExportResponse {
            signal,
            partial_success: Some(PartialSuccess {
                rejected,
                error_message: error_message.into(),
            }),
        }
    }

    /// OTLP/JSON form, e.g. `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}}`;
    /// `{}` on full success.
    pub fn to_json(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(64);
        let mut o = ObjW::new(&mut b);
        if let Some(p) = &self.partial_success {
            let mut ps = ObjW::new(o.key("partialSuccess"));
            if p.rejected != 0 {
                w_i64s(ps.key(rejected_key(self.signal)), p.rejected);
            }
            ps.str("errorMessage", &p.error_message);
            ps.end();
        }
        o.end();
        b
    }

    pub fn from_json(signal: Signal, json: &[u8]) -> Result<Self, PdataError> {
        use decoding::decode_message;
        let partial_success = match signal {
            Signal::Traces => decode_message::<ExportTraceServiceResponse>(json, "response")?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_spans,
                    error_message: p.error_message,
                }),
            Signal::Metrics => decode_message::<ExportMetricsServiceResponse>(json, "response")?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_data_points,
                    error_message: p.error_message,
                }),
            Signal::Logs => decode_message::<ExportLogsServiceResponse>(json, "response")?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_log_records,
                    error_message: p.error_message,
                }),
            Signal::Profiles => {
                // `{}` or `{"partialSuccess": {...}}`: read the two fields by hand.
                let v: serde_json::Value =
                    serde_json::from_slice(json).map_err(|e| PdataError::Json(e.to_string()))?;
                v.get("partialSuccess").map(|p| PartialSuccess {
                    rejected: p
                        .get("rejectedProfiles")
                        .and_then(|r| r.as_i64().or_else(|| r.as_str()?.parse().ok()))
                        .unwrap_or(0),
                    error_message: p
                        .get("errorMessage")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            }
        };
        Ok(ExportResponse {
            signal,
            partial_success,
        })
    }

    /// Protobuf form (`ExportTraceServiceResponse` etc.).
    pub fn to_protobuf(&self) -> Vec<u8> {
        use prost::Message;
        let p = self.partial_success.clone();
        match self.signal {
            Signal::Traces => ExportTraceServiceResponse {
                partial_success: p.map(|p| ExportTracePartialSuccess {
                    rejected_spans: p.rejected,
                    error_message: p.error_message,
                }),
            }
            .encode_to_vec(),
            Signal::Metrics => ExportMetricsServiceResponse {
                partial_success: p.map(|p| ExportMetricsPartialSuccess {
                    rejected_data_points: p.rejected,
                    error_message: p.error_message,
                }),
            }
            .encode_to_vec(),
            Signal::Logs => ExportLogsServiceResponse {
                partial_success: p.map(|p| ExportLogsPartialSuccess {
                    rejected_log_records: p.rejected,
                    error_message: p.error_message,
                }),
            }
            .encode_to_vec(),
            Signal::Profiles => ExportProfilesServiceResponse {
                partial_success: p.map(|p| ExportProfilesPartialSuccess {
                    rejected_profiles: p.rejected,
                    error_message: p.error_message,
                }),
            }
            .encode_to_vec(),
        }
    }

    pub fn from_protobuf(signal: Signal, bytes: &[u8]) -> Result<Self, PdataError> {
        use prost::Message;
        let err = |e: prost::DecodeError| PdataError::Protobuf(e.to_string());
        let partial_success = match signal {
            Signal::Traces => ExportTraceServiceResponse::decode(bytes)
                .map_err(err)?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_spans,
                    error_message: p.error_message,
                }),
            Signal::Metrics => ExportMetricsServiceResponse::decode(bytes)
                .map_err(err)?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_data_points,
                    error_message: p.error_message,
                }),
            Signal::Logs => ExportLogsServiceResponse::decode(bytes)
                .map_err(err)?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_log_records,
                    error_message: p.error_message,
                }),
            Signal::Profiles => ExportProfilesServiceResponse::decode(bytes)
                .map_err(err)?
                .partial_success
                .map(|p| PartialSuccess {
                    rejected: p.rejected_profiles,
                    error_message: p.error_message,
                }),
        };
        Ok(ExportResponse {
            signal,
            partial_success,
        })
    }
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.rpc.Status` as JSON: `{"code":3,"message":"...","details":[]}`.
pub fn encode_status_json(code: i32, message: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(48 + message.len());
    let mut o = ObjW::new(&mut b);
    o.key("code").extend_from_slice(code.to_string().as_bytes());
    w_str(o.key("message"), message);
    o.key("details").extend_from_slice(b"[]");
    o.end();
    b
}

/// `google.rpc.Status` as protobuf.
pub fn encode_status_protobuf(code: i32, message: &str) -> Vec<u8> {
    use prost::Message;
    RpcStatus {
        code,
        message: message.to_string(),
        details: vec![],
    }
    .encode_to_vec()
}

/// Parses a `google.rpc.Status` JSON body (details are ignored).
pub fn decode_status_json(json: &[u8]) -> Result<RpcStatus, PdataError> {
    decoding::decode_message(json, "status")
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
