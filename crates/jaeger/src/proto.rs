//! The `jaeger.api_v2` protobuf model (`model.proto`) and the `CollectorService/PostSpans`
//! request (`collector.proto`), written here as prost types with the same field numbers.
//!
//! Go unmarshals these with gogoproto custom types, which check while decoding: a trace id
//! must be 8 or 16 bytes (`invalid length for TraceID`), a span id 8 bytes, timestamps and
//! durations must be valid `google.protobuf` values. [`decode_post_spans`] makes the same
//! checks, so a request Go refuses is refused here too.

use prost::Message;

/// The gRPC method of `CollectorService`.
pub const POST_SPANS_PATH: &str = "/jaeger.api_v2.CollectorService/PostSpans";
pub const COLLECTOR_SERVICE: &str = "jaeger.api_v2.CollectorService";

/// `ValueType`.
pub mod value_type {
    pub const STRING: i32 = 0;
    pub const BOOL: i32 = 1;
    pub const INT64: i32 = 2;
    pub const FLOAT64: i32 = 3;
    pub const BINARY: i32 = 4;
}

/// `SpanRefType`.
pub mod span_ref_type {
    pub const CHILD_OF: i32 = 0;
    pub const FOLLOWS_FROM: i32 = 1;
}

#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Duration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(int32, tag = "2")]
    pub v_type: i32,
    #[prost(string, tag = "3")]
    pub v_str: String,
    #[prost(bool, tag = "4")]
    pub v_bool: bool,
    #[prost(int64, tag = "5")]
    pub v_int64: i64,
    #[prost(double, tag = "6")]
    pub v_float64: f64,
    #[prost(bytes = "vec", tag = "7")]
    pub v_binary: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Log {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(message, repeated, tag = "2")]
    pub fields: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SpanRef {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(int32, tag = "3")]
    pub ref_type: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Process {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(message, repeated, tag = "2")]
    pub tags: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Span {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub operation_name: String,
    #[prost(message, repeated, tag = "4")]
    pub references: Vec<SpanRef>,
    #[prost(uint32, tag = "5")]
    pub flags: u32,
    #[prost(message, optional, tag = "6")]
    pub start_time: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub duration: Option<Duration>,
    #[prost(message, repeated, tag = "8")]
    pub tags: Vec<KeyValue>,
    #[prost(message, repeated, tag = "9")]
    pub logs: Vec<Log>,
    #[prost(message, optional, tag = "10")]
    pub process: Option<Process>,
    #[prost(string, tag = "11")]
    pub process_id: String,
    #[prost(string, repeated, tag = "12")]
    pub warnings: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Batch {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<Span>,
    #[prost(message, optional, tag = "2")]
    pub process: Option<Process>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PostSpansRequest {
    #[prost(message, optional, tag = "1")]
    pub batch: Option<Batch>,
}

/// `model.TraceIDFromBytes`: 16 bytes (high, low) or 8 (low); empty is the zero id (a field
/// proto3 encoders leave out).
pub fn trace_id(b: &[u8]) -> Result<(u64, u64), String> {
    match b.len() {
        0 => Ok((0, 0)),
        8 => Ok((0, u64::from_be_bytes(b.try_into().map_err(|_| "")?))),
        16 => Ok((
            u64::from_be_bytes(b[..8].try_into().map_err(|_| "")?),
            u64::from_be_bytes(b[8..].try_into().map_err(|_| "")?),
        )),
        _ => Err("invalid length for TraceID".into()),
    }
}

/// `model.SpanIDFromBytes`: 8 bytes; empty is the zero id.
pub fn span_id(b: &[u8]) -> Result<u64, String> {
    match b.len() {
        0 => Ok(0),
        8 => Ok(u64::from_be_bytes(b.try_into().map_err(|_| "")?)),
        _ => Err("invalid length for SpanID".into()),
    }
}

const MIN_VALID_SECONDS: i64 = -62_135_596_800; // 0001-01-01
const MAX_VALID_SECONDS: i64 = 253_402_300_800; // 10000-01-01
const MAX_DURATION_SECONDS: i64 = 315_576_000_000; // 10,000 years

/// Nanoseconds since the epoch of a timestamp, as Go's `time.Time` would give them: an
/// absent timestamp is Go's zero `time.Time` (year 1), whose `UnixNano` wraps.
pub fn timestamp_nanos(ts: Option<&Timestamp>) -> i128 {
    match ts {
        Some(t) => i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos),
        None => i128::from(MIN_VALID_SECONDS) * 1_000_000_000,
    }
}

/// Go's `time.Duration` of a duration (absent is zero).
pub fn duration_nanos(d: Option<&Duration>) -> i128 {
    d.map_or(0, |d| {
        i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos)
    })
}

fn check_timestamp(t: &Timestamp) -> Result<(), String> {
    let shown = format!("seconds:{} nanos:{}", t.seconds, t.nanos);
    if t.seconds < MIN_VALID_SECONDS {
        return Err(format!("timestamp: {shown} before 0001-01-01"));
    }
    if t.seconds >= MAX_VALID_SECONDS {
        return Err(format!("timestamp: {shown} after 10000-01-01"));
    }
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(format!("timestamp: {shown}: nanos not in range [0, 1e9)"));
    }
    Ok(())
}

fn check_duration(d: &Duration) -> Result<(), String> {
    let shown = format!("seconds:{} nanos:{}", d.seconds, d.nanos);
    if !(-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&d.seconds) {
        return Err(format!("duration: {shown}: seconds out of range"));
    }
    if d.nanos <= -1_000_000_000 || d.nanos >= 1_000_000_000 {
        return Err(format!("duration: {shown}: nanos out of range"));
    }
    if (d.seconds < 0 && d.nanos > 0) || (d.seconds > 0 && d.nanos < 0) {
        return Err(format!(
            "duration: {shown}: seconds and nanos have different signs"
        ));
    }
    // time.Duration is int64 nanoseconds.
    if i64::try_from(duration_nanos(Some(d))).is_err() {
        return Err(format!(
            "duration: {shown} is out of range for time.Duration"
        ));
    }
    Ok(())
}

fn check_span(s: &Span) -> Result<(), String> {
    trace_id(&s.trace_id)?;
    span_id(&s.span_id)?;
    for r in &s.references {
        trace_id(&r.trace_id)?;
        span_id(&r.span_id)?;
    }
    if let Some(t) = &s.start_time {
        check_timestamp(t)?;
    }
    if let Some(d) = &s.duration {
        check_duration(d)?;
    }
    for l in &s.logs {
        if let Some(t) = &l.timestamp {
            check_timestamp(t)?;
        }
    }
    Ok(())
}

/// A `PostSpansRequest` message, checked as Go's unmarshalling checks it; its batch (an
/// absent batch is an empty one, as gogoproto's non-nullable field).
pub fn decode_post_spans(body: &[u8]) -> Result<Batch, String> {
    let req = PostSpansRequest::decode(body).map_err(|e| e.to_string())?;
    let batch = req.batch.unwrap_or_default();
    for s in &batch.spans {
        check_span(s)?;
    }
    Ok(batch)
}

/// Sample requests for tests and fuzz seeds.
pub mod fixtures {
    use super::*;

    pub fn kv_str(key: &str, v: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            v_type: value_type::STRING,
            v_str: v.into(),
            ..KeyValue::default()
        }
    }

    /// One span of `svc` with a scope, a kind, a trace state and a log.
    pub fn sample_request() -> Vec<u8> {
        PostSpansRequest {
            batch: Some(Batch {
                process: Some(Process {
                    service_name: "svc".into(),
                    tags: vec![kv_str("hostname", "h")],
                }),
                spans: vec![Span {
                    trace_id: (1u128 << 64 | 2).to_be_bytes().to_vec(),
                    span_id: 3u64.to_be_bytes().to_vec(),
                    operation_name: "op".into(),
                    start_time: Some(Timestamp {
                        seconds: 1_600_000_000,
                        nanos: 5,
                    }),
                    duration: Some(Duration {
                        seconds: 1,
                        nanos: 0,
                    }),
                    tags: vec![
                        kv_str("otel.scope.name", "lib"),
                        kv_str("span.kind", "producer"),
                        kv_str("w3c.tracestate", "a=b"),
                    ],
                    logs: vec![Log {
                        timestamp: Some(Timestamp {
                            seconds: 1_600_000_000,
                            nanos: 6,
                        }),
                        fields: vec![kv_str("event", "e")],
                    }],
                    ..Span::default()
                }],
            }),
        }
        .encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(span: Span) -> Vec<u8> {
        PostSpansRequest {
            batch: Some(Batch {
                spans: vec![span],
                process: None,
            }),
        }
        .encode_to_vec()
    }

    #[test]
    fn ids_are_checked_as_gogoproto_custom_types_check_them() {
        let ok = decode_post_spans(&fixtures::sample_request()).unwrap();
        assert_eq!(ok.spans.len(), 1);
        assert_eq!(trace_id(&ok.spans[0].trace_id).unwrap(), (1, 2));
        assert_eq!(trace_id(&[0, 0, 0, 0, 0, 0, 0, 9]).unwrap(), (0, 9));
        let bad = Span {
            trace_id: vec![1; 5],
            ..Span::default()
        };
        assert_eq!(
            decode_post_spans(&request(bad)).unwrap_err(),
            "invalid length for TraceID"
        );
        let bad = Span {
            span_id: vec![1; 16],
            ..Span::default()
        };
        assert_eq!(
            decode_post_spans(&request(bad)).unwrap_err(),
            "invalid length for SpanID"
        );
        assert!(decode_post_spans(b"\x0a\xff\xff").is_err());
        // An absent batch is an empty one.
        assert_eq!(decode_post_spans(&[]).unwrap(), Batch::default());
    }

    #[test]
    fn invalid_times_are_refused_as_gogoproto_refuses_them() {
        let mut s = Span {
            start_time: Some(Timestamp {
                seconds: 1,
                nanos: -1,
            }),
            ..Span::default()
        };
        assert!(
            decode_post_spans(&request(s.clone()))
                .unwrap_err()
                .contains("nanos not in range")
        );
        s.start_time = None;
        s.duration = Some(Duration {
            seconds: 1,
            nanos: -5,
        });
        assert!(
            decode_post_spans(&request(s.clone()))
                .unwrap_err()
                .contains("different signs")
        );
        s.duration = Some(Duration {
            seconds: 300_000_000_000,
            nanos: 0,
        });
        assert!(
            decode_post_spans(&request(s))
                .unwrap_err()
                .contains("out of range for time.Duration")
        );
    }

    #[test]
    fn an_absent_timestamp_is_gos_zero_time() {
        // time.Time{}.UnixNano() wraps: -62135596800e9 mod 2^64.
        assert_eq!(
            timestamp_nanos(None) as u64,
            (-62_135_596_800i64).wrapping_mul(1_000_000_000) as u64
        );
    }
}
