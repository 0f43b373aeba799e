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
//! Decoding parses into a `serde_json::Value` tree and converts it; encoding writes JSON
//! directly into a byte buffer, omitting default values.

use base64::Engine;
use serde_json::{Map, Value};

use crate::proto::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse},
    metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    },
    trace::v1::{ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse},
};
use crate::proto::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use crate::proto::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};
use crate::{PdataError, Request, Signal};

type R<T> = Result<T, PdataError>;

fn jerr(msg: impl Into<String>) -> PdataError {
    PdataError::Json(msg.into())
}

// =============================================================================================
// Decoding
// =============================================================================================

/// Decodes an OTLP/JSON export request of `signal`.
pub fn decode(signal: Signal, json: &[u8]) -> Result<Request, PdataError> {
    let v: Value = serde_json::from_slice(json).map_err(|e| jerr(e.to_string()))?;
    let o = Obj::of(&v, "request")?;
    Ok(match signal {
        Signal::Traces => Request::Traces(ExportTraceServiceRequest {
            resource_spans: o.arr("resourceSpans", "resource_spans", resource_spans)?,
        }),
        Signal::Metrics => Request::Metrics(ExportMetricsServiceRequest {
            resource_metrics: o.arr("resourceMetrics", "resource_metrics", resource_metrics)?,
        }),
        Signal::Logs => Request::Logs(ExportLogsServiceRequest {
            resource_logs: o.arr("resourceLogs", "resource_logs", resource_logs)?,
        }),
    })
}

/// A JSON object with lookups by camelCase or snake_case key.
#[derive(Clone, Copy)]
struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    fn of(v: &'a Value, what: &str) -> R<Obj<'a>> {
        match v {
            Value::Object(m) => Ok(Obj(m)),
            other => Err(jerr(format!(
                "{what}: expected an object, found {}",
                kind(other)
            ))),
        }
    }

    fn get(&self, camel: &str, snake: &str) -> Option<&'a Value> {
        self.0
            .get(camel)
            .or_else(|| {
                if snake != camel {
                    self.0.get(snake)
                } else {
                    None
                }
            })
            .filter(|v| !v.is_null())
    }

    fn arr<T>(&self, camel: &str, snake: &str, f: impl Fn(&'a Value) -> R<T>) -> R<Vec<T>> {
        match self.get(camel, snake) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(f).collect(),
            Some(other) => Err(jerr(format!(
                "{camel}: expected an array, found {}",
                kind(other)
            ))),
        }
    }

    fn obj<T>(&self, camel: &str, snake: &str, f: impl Fn(&'a Value) -> R<T>) -> R<Option<T>> {
        self.get(camel, snake).map(f).transpose()
    }

    fn string(&self, camel: &str, snake: &str) -> R<String> {
        match self.get(camel, snake) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(jerr(format!(
                "{camel}: expected a string, found {}",
                kind(other)
            ))),
        }
    }

    fn bool(&self, camel: &str, snake: &str) -> R<bool> {
        match self.get(camel, snake) {
            None => Ok(false),
            Some(v) => as_bool(v, camel),
        }
    }

    fn u64(&self, camel: &str, snake: &str) -> R<u64> {
        self.get(camel, snake).map_or(Ok(0), |v| as_u64(v, camel))
    }

    fn i64(&self, camel: &str, snake: &str) -> R<i64> {
        self.get(camel, snake).map_or(Ok(0), |v| as_i64(v, camel))
    }

    fn u32(&self, camel: &str, snake: &str) -> R<u32> {
        let v = self.u64(camel, snake)?;
        u32::try_from(v).map_err(|_| jerr(format!("{camel}: {v} out of range for uint32")))
    }

    fn i32(&self, camel: &str, snake: &str) -> R<i32> {
        let v = self.i64(camel, snake)?;
        i32::try_from(v).map_err(|_| jerr(format!("{camel}: {v} out of range for int32")))
    }

    fn f64(&self, camel: &str, snake: &str) -> R<f64> {
        self.get(camel, snake).map_or(Ok(0.0), |v| as_f64(v, camel))
    }

    fn opt_f64(&self, camel: &str, snake: &str) -> R<Option<f64>> {
        self.get(camel, snake).map(|v| as_f64(v, camel)).transpose()
    }

    fn id(&self, camel: &str, snake: &str) -> R<Vec<u8>> {
        match self.get(camel, snake) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => {
                hex::decode(s).map_err(|e| jerr(format!("{camel}: invalid hex id {s:?}: {e}")))
            }
            Some(other) => Err(jerr(format!(
                "{camel}: expected a hex string, found {}",
                kind(other)
            ))),
        }
    }

    fn enumeration(
        &self,
        camel: &str,
        snake: &str,
        by_name: impl Fn(&str) -> Option<i32>,
    ) -> R<i32> {
        match self.get(camel, snake) {
            None => Ok(0),
            Some(Value::String(s)) => match by_name(s) {
                Some(v) => Ok(v),
                None => s
                    .parse::<i32>()
                    .map_err(|_| jerr(format!("{camel}: unknown enum value {s:?}"))),
            },
            Some(v) => {
                let n = as_i64(v, camel)?;
                i32::try_from(n).map_err(|_| jerr(format!("{camel}: {n} out of range for enum")))
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_bool(v: &Value, what: &str) -> R<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(jerr(format!(
            "{what}: expected a boolean, found {}",
            kind(other)
        ))),
    }
}

fn as_u64(v: &Value, what: &str) -> R<u64> {
    let bad = || jerr(format!("{what}: expected an unsigned integer, found {v}"));
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8446744073709552e19)
                    .map(|f| f as u64)
            })
            .ok_or_else(bad),
        Value::String(s) => s.trim().parse::<u64>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn as_i64(v: &Value, what: &str) -> R<i64> {
    let bad = || jerr(format!("{what}: expected an integer, found {v}"));
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .ok_or_else(bad),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn as_f64(v: &Value, what: &str) -> R<f64> {
    let bad = || jerr(format!("{what}: expected a number, found {v}"));
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(bad),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other.trim().parse::<f64>().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

fn u64_list(v: &Value, what: &str) -> R<Vec<u64>> {
    match v {
        Value::Array(items) => items.iter().map(|x| as_u64(x, what)).collect(),
        other => Err(jerr(format!(
            "{what}: expected an array, found {}",
            kind(other)
        ))),
    }
}

fn f64_list(v: &Value, what: &str) -> R<Vec<f64>> {
    match v {
        Value::Array(items) => items.iter().map(|x| as_f64(x, what)).collect(),
        other => Err(jerr(format!(
            "{what}: expected an array, found {}",
            kind(other)
        ))),
    }
}

fn string_list(v: &Value, what: &str) -> R<Vec<String>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                other => Err(jerr(format!(
                    "{what}: expected a string, found {}",
                    kind(other)
                ))),
            })
            .collect(),
        other => Err(jerr(format!(
            "{what}: expected an array, found {}",
            kind(other)
        ))),
    }
}

fn base64_decode(s: &str) -> R<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .map_err(|e| jerr(format!("bytesValue: invalid base64: {e}")))
}

fn any_value(v: &Value) -> R<AnyValue> {
    let o = Obj::of(v, "AnyValue")?;
    use any_value::Value as V;
    let value = if let Some(x) = o.get("stringValue", "string_value") {
        match x {
            Value::String(s) => Some(V::StringValue(s.clone())),
            other => {
                return Err(jerr(format!(
                    "stringValue: expected a string, found {}",
                    kind(other)
                )));
            }
        }
    } else if let Some(x) = o.get("boolValue", "bool_value") {
        Some(V::BoolValue(as_bool(x, "boolValue")?))
    } else if let Some(x) = o.get("intValue", "int_value") {
        Some(V::IntValue(as_i64(x, "intValue")?))
    } else if let Some(x) = o.get("doubleValue", "double_value") {
        Some(V::DoubleValue(as_f64(x, "doubleValue")?))
    } else if let Some(x) = o.get("arrayValue", "array_value") {
        let a = Obj::of(x, "arrayValue")?;
        Some(V::ArrayValue(ArrayValue {
            values: a.arr("values", "values", any_value)?,
        }))
    } else if let Some(x) = o.get("kvlistValue", "kvlist_value") {
        let a = Obj::of(x, "kvlistValue")?;
        Some(V::KvlistValue(KeyValueList {
            values: a.arr("values", "values", key_value)?,
        }))
    } else if let Some(x) = o.get("bytesValue", "bytes_value") {
        match x {
            Value::String(s) => Some(V::BytesValue(base64_decode(s)?)),
            other => {
                return Err(jerr(format!(
                    "bytesValue: expected a string, found {}",
                    kind(other)
                )));
            }
        }
    } else if let Some(x) = o.get("stringValueStrindex", "string_value_strindex") {
        let n = as_i64(x, "stringValueStrindex")?;
        Some(V::StringValueStrindex(
            i32::try_from(n).map_err(|_| jerr("stringValueStrindex: out of range"))?,
        ))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn key_value(v: &Value) -> R<KeyValue> {
    let o = Obj::of(v, "KeyValue")?;
    Ok(KeyValue {
        key: o.string("key", "key")?,
        value: o.obj("value", "value", any_value)?,
        key_strindex: o.i32("keyStrindex", "key_strindex")?,
    })
}

fn attributes(o: &Obj<'_>) -> R<Vec<KeyValue>> {
    o.arr("attributes", "attributes", key_value)
}

fn entity_ref(v: &Value) -> R<EntityRef> {
    let o = Obj::of(v, "EntityRef")?;
    Ok(EntityRef {
        schema_url: o.string("schemaUrl", "schema_url")?,
        r#type: o.string("type", "type")?,
        id_keys: o
            .get("idKeys", "id_keys")
            .map_or(Ok(vec![]), |v| string_list(v, "idKeys"))?,
        description_keys: o
            .get("descriptionKeys", "description_keys")
            .map_or(Ok(vec![]), |v| string_list(v, "descriptionKeys"))?,
    })
}

fn resource(v: &Value) -> R<Resource> {
    let o = Obj::of(v, "resource")?;
    Ok(Resource {
        attributes: attributes(&o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        entity_refs: o.arr("entityRefs", "entity_refs", entity_ref)?,
    })
}

fn scope(v: &Value) -> R<InstrumentationScope> {
    let o = Obj::of(v, "scope")?;
    Ok(InstrumentationScope {
        name: o.string("name", "name")?,
        version: o.string("version", "version")?,
        attributes: attributes(&o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
    })
}

fn resource_spans(v: &Value) -> R<ResourceSpans> {
    let o = Obj::of(v, "resourceSpans")?;
    Ok(ResourceSpans {
        resource: o.obj("resource", "resource", resource)?,
        scope_spans: o.arr("scopeSpans", "scope_spans", scope_spans)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_spans(v: &Value) -> R<ScopeSpans> {
    let o = Obj::of(v, "scopeSpans")?;
    Ok(ScopeSpans {
        scope: o.obj("scope", "scope", scope)?,
        spans: o.arr("spans", "spans", span_)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn span_kind(s: &str) -> Option<i32> {
    span::SpanKind::from_str_name(s).map(|k| k as i32)
}

fn span_(v: &Value) -> R<Span> {
    let o = Obj::of(v, "span")?;
    Ok(Span {
        trace_id: o.id("traceId", "trace_id")?,
        span_id: o.id("spanId", "span_id")?,
        trace_state: o.string("traceState", "trace_state")?,
        parent_span_id: o.id("parentSpanId", "parent_span_id")?,
        flags: o.u32("flags", "flags")?,
        name: o.string("name", "name")?,
        kind: o.enumeration("kind", "kind", span_kind)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        end_time_unix_nano: o.u64("endTimeUnixNano", "end_time_unix_nano")?,
        attributes: attributes(&o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        events: o.arr("events", "events", |v| {
            let o = Obj::of(v, "event")?;
            Ok(span::Event {
                time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
                name: o.string("name", "name")?,
                attributes: attributes(&o)?,
                dropped_attributes_count: o
                    .u32("droppedAttributesCount", "dropped_attributes_count")?,
            })
        })?,
        dropped_events_count: o.u32("droppedEventsCount", "dropped_events_count")?,
        links: o.arr("links", "links", |v| {
            let o = Obj::of(v, "link")?;
            Ok(span::Link {
                trace_id: o.id("traceId", "trace_id")?,
                span_id: o.id("spanId", "span_id")?,
                trace_state: o.string("traceState", "trace_state")?,
                attributes: attributes(&o)?,
                dropped_attributes_count: o
                    .u32("droppedAttributesCount", "dropped_attributes_count")?,
                flags: o.u32("flags", "flags")?,
            })
        })?,
        dropped_links_count: o.u32("droppedLinksCount", "dropped_links_count")?,
        status: o.obj("status", "status", |v| {
            let o = Obj::of(v, "status")?;
            Ok(Status {
                message: o.string("message", "message")?,
                code: o.enumeration("code", "code", |s| {
                    status::StatusCode::from_str_name(s).map(|c| c as i32)
                })?,
            })
        })?,
    })
}

fn resource_logs(v: &Value) -> R<ResourceLogs> {
    let o = Obj::of(v, "resourceLogs")?;
    Ok(ResourceLogs {
        resource: o.obj("resource", "resource", resource)?,
        scope_logs: o.arr("scopeLogs", "scope_logs", scope_logs)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_logs(v: &Value) -> R<ScopeLogs> {
    let o = Obj::of(v, "scopeLogs")?;
    Ok(ScopeLogs {
        scope: o.obj("scope", "scope", scope)?,
        log_records: o.arr("logRecords", "log_records", log_record)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn log_record(v: &Value) -> R<LogRecord> {
    let o = Obj::of(v, "logRecord")?;
    Ok(LogRecord {
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        observed_time_unix_nano: o.u64("observedTimeUnixNano", "observed_time_unix_nano")?,
        severity_number: o.enumeration("severityNumber", "severity_number", |s| {
            SeverityNumber::from_str_name(s).map(|n| n as i32)
        })?,
        severity_text: o.string("severityText", "severity_text")?,
        body: o.obj("body", "body", any_value)?,
        attributes: attributes(&o)?,
        dropped_attributes_count: o.u32("droppedAttributesCount", "dropped_attributes_count")?,
        flags: o.u32("flags", "flags")?,
        trace_id: o.id("traceId", "trace_id")?,
        span_id: o.id("spanId", "span_id")?,
        event_name: o.string("eventName", "event_name")?,
    })
}

fn resource_metrics(v: &Value) -> R<ResourceMetrics> {
    let o = Obj::of(v, "resourceMetrics")?;
    Ok(ResourceMetrics {
        resource: o.obj("resource", "resource", resource)?,
        scope_metrics: o.arr("scopeMetrics", "scope_metrics", scope_metrics)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn scope_metrics(v: &Value) -> R<ScopeMetrics> {
    let o = Obj::of(v, "scopeMetrics")?;
    Ok(ScopeMetrics {
        scope: o.obj("scope", "scope", scope)?,
        metrics: o.arr("metrics", "metrics", metric_)?,
        schema_url: o.string("schemaUrl", "schema_url")?,
    })
}

fn temporality(o: &Obj<'_>) -> R<i32> {
    o.enumeration("aggregationTemporality", "aggregation_temporality", |s| {
        AggregationTemporality::from_str_name(s).map(|t| t as i32)
    })
}

fn metric_(v: &Value) -> R<Metric> {
    let o = Obj::of(v, "metric")?;
    let data = if let Some(g) = o.get("gauge", "gauge") {
        let g = Obj::of(g, "gauge")?;
        Some(metric::Data::Gauge(Gauge {
            data_points: g.arr("dataPoints", "data_points", number_point)?,
        }))
    } else if let Some(s) = o.get("sum", "sum") {
        let s = Obj::of(s, "sum")?;
        Some(metric::Data::Sum(Sum {
            data_points: s.arr("dataPoints", "data_points", number_point)?,
            aggregation_temporality: temporality(&s)?,
            is_monotonic: s.bool("isMonotonic", "is_monotonic")?,
        }))
    } else if let Some(h) = o.get("histogram", "histogram") {
        let h = Obj::of(h, "histogram")?;
        Some(metric::Data::Histogram(Histogram {
            data_points: h.arr("dataPoints", "data_points", histogram_point)?,
            aggregation_temporality: temporality(&h)?,
        }))
    } else if let Some(h) = o.get("exponentialHistogram", "exponential_histogram") {
        let h = Obj::of(h, "exponentialHistogram")?;
        Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: h.arr("dataPoints", "data_points", exp_histogram_point)?,
            aggregation_temporality: temporality(&h)?,
        }))
    } else if let Some(s) = o.get("summary", "summary") {
        let s = Obj::of(s, "summary")?;
        Some(metric::Data::Summary(Summary {
            data_points: s.arr("dataPoints", "data_points", summary_point)?,
        }))
    } else {
        None
    };
    Ok(Metric {
        name: o.string("name", "name")?,
        description: o.string("description", "description")?,
        unit: o.string("unit", "unit")?,
        metadata: o.arr("metadata", "metadata", key_value)?,
        data,
    })
}

fn exemplar_(v: &Value) -> R<Exemplar> {
    let o = Obj::of(v, "exemplar")?;
    let value = if let Some(d) = o.get("asDouble", "as_double") {
        Some(exemplar::Value::AsDouble(as_f64(d, "asDouble")?))
    } else if let Some(i) = o.get("asInt", "as_int") {
        Some(exemplar::Value::AsInt(as_i64(i, "asInt")?))
    } else {
        None
    };
    Ok(Exemplar {
        filtered_attributes: o.arr("filteredAttributes", "filtered_attributes", key_value)?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        span_id: o.id("spanId", "span_id")?,
        trace_id: o.id("traceId", "trace_id")?,
        value,
    })
}

fn number_point(v: &Value) -> R<NumberDataPoint> {
    let o = Obj::of(v, "dataPoint")?;
    let value = if let Some(d) = o.get("asDouble", "as_double") {
        Some(number_data_point::Value::AsDouble(as_f64(d, "asDouble")?))
    } else if let Some(i) = o.get("asInt", "as_int") {
        Some(number_data_point::Value::AsInt(as_i64(i, "asInt")?))
    } else {
        None
    };
    Ok(NumberDataPoint {
        attributes: attributes(&o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        exemplars: o.arr("exemplars", "exemplars", exemplar_)?,
        flags: o.u32("flags", "flags")?,
        value,
    })
}

fn histogram_point(v: &Value) -> R<HistogramDataPoint> {
    let o = Obj::of(v, "dataPoint")?;
    Ok(HistogramDataPoint {
        attributes: attributes(&o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.opt_f64("sum", "sum")?,
        bucket_counts: o
            .get("bucketCounts", "bucket_counts")
            .map_or(Ok(vec![]), |v| u64_list(v, "bucketCounts"))?,
        explicit_bounds: o
            .get("explicitBounds", "explicit_bounds")
            .map_or(Ok(vec![]), |v| f64_list(v, "explicitBounds"))?,
        exemplars: o.arr("exemplars", "exemplars", exemplar_)?,
        flags: o.u32("flags", "flags")?,
        min: o.opt_f64("min", "min")?,
        max: o.opt_f64("max", "max")?,
    })
}

fn buckets(v: &Value) -> R<exponential_histogram_data_point::Buckets> {
    let o = Obj::of(v, "buckets")?;
    Ok(exponential_histogram_data_point::Buckets {
        offset: o.i32("offset", "offset")?,
        bucket_counts: o
            .get("bucketCounts", "bucket_counts")
            .map_or(Ok(vec![]), |v| u64_list(v, "bucketCounts"))?,
    })
}

fn exp_histogram_point(v: &Value) -> R<ExponentialHistogramDataPoint> {
    let o = Obj::of(v, "dataPoint")?;
    Ok(ExponentialHistogramDataPoint {
        attributes: attributes(&o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.opt_f64("sum", "sum")?,
        scale: o.i32("scale", "scale")?,
        zero_count: o.u64("zeroCount", "zero_count")?,
        positive: o.obj("positive", "positive", buckets)?,
        negative: o.obj("negative", "negative", buckets)?,
        flags: o.u32("flags", "flags")?,
        exemplars: o.arr("exemplars", "exemplars", exemplar_)?,
        min: o.opt_f64("min", "min")?,
        max: o.opt_f64("max", "max")?,
        zero_threshold: o.f64("zeroThreshold", "zero_threshold")?,
    })
}

fn summary_point(v: &Value) -> R<SummaryDataPoint> {
    let o = Obj::of(v, "dataPoint")?;
    Ok(SummaryDataPoint {
        attributes: attributes(&o)?,
        start_time_unix_nano: o.u64("startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: o.u64("timeUnixNano", "time_unix_nano")?,
        count: o.u64("count", "count")?,
        sum: o.f64("sum", "sum")?,
        quantile_values: o.arr("quantileValues", "quantile_values", |v| {
            let q = Obj::of(v, "quantileValue")?;
            Ok(summary_data_point::ValueAtQuantile {
                quantile: q.f64("quantile", "quantile")?,
                value: q.f64("value", "value")?,
            })
        })?,
        flags: o.u32("flags", "flags")?,
    })
}

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

fn rejected_key(signal: Signal) -> (&'static str, &'static str) {
    match signal {
        Signal::Traces => ("rejectedSpans", "rejected_spans"),
        Signal::Metrics => ("rejectedDataPoints", "rejected_data_points"),
        Signal::Logs => ("rejectedLogRecords", "rejected_log_records"),
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
                w_i64s(ps.key(rejected_key(self.signal).0), p.rejected);
            }
            ps.str("errorMessage", &p.error_message);
            ps.end();
        }
        o.end();
        b
    }

    pub fn from_json(signal: Signal, json: &[u8]) -> Result<Self, PdataError> {
        let v: Value = serde_json::from_slice(json).map_err(|e| jerr(e.to_string()))?;
        let o = Obj::of(&v, "response")?;
        let partial_success = o.obj("partialSuccess", "partial_success", |p| {
            let p = Obj::of(p, "partialSuccess")?;
            let (camel, snake) = rejected_key(signal);
            Ok(PartialSuccess {
                rejected: p.i64(camel, snake)?,
                error_message: p.string("errorMessage", "error_message")?,
            })
        })?;
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
    let v: Value = serde_json::from_slice(json).map_err(|e| jerr(e.to_string()))?;
    let o = Obj::of(&v, "status")?;
    Ok(RpcStatus {
        code: o.i32("code", "code")?,
        message: o.string("message", "message")?,
        details: vec![],
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
