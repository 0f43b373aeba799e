//! `zipkin` owns the Zipkin span formats of ferrotel and their translation to and from OTLP,
//! with the field mappings of the Go collector's `pkg/translator/zipkin`: v2 JSON and v2
//! protobuf in both directions ([`json`], [`proto`], [`from_otlp`], [`to_otlp`]) and v1 JSON
//! and Thrift in ([`v1`], [`thrift`]). The `zipkin` exporter and receiver are thin adapters over it.
//!
//! ```
//! use zipkin::{Format, decode_v2, encode};
//! use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
//! let body = br#"[{"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","name":"get",
//!   "timestamp":1556604172355737,"duration":1431,"kind":"SERVER",
//!   "localEndpoint":{"serviceName":"backend"}}]"#;
//! let otlp: ExportTraceServiceRequest = decode_v2(Format::Json, body, false, false).unwrap();
//! assert_eq!(otlp.resource_spans[0].scope_spans[0].spans[0].name, "get");
//! let again = encode(Format::Proto, &otlp, "<missing service name>").unwrap();
//! assert!(!again.is_empty());
//! ```

pub mod from_otlp;
pub mod fuzzing;
pub mod json;
pub mod model;
pub mod proto;
pub mod thrift;
pub mod to_otlp;
pub mod v1;

use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;

pub use from_otlp::TranslateError;
pub use model::Span;

/// The local service name of spans whose resource names no service (Go's
/// `tracetranslator.ResourceNoServiceName`).
pub const NO_SERVICE_NAME: &str = "OTLPResourceNoServiceName";
pub const TAG_SERVICE_NAME_SOURCE: &str = "otlp.service.name.source";
pub const START_TIME_ABSENT: &str = "otel.zipkin.absentField.startTime";
pub const TAG_LIBRARY_NAME: &str = "otel.library.name";
pub const TAG_LIBRARY_VERSION: &str = "otel.library.version";
pub const TAG_STATUS_CODE: &str = "otel.status_code";
pub const TAG_STATUS_DESCRIPTION: &str = "otel.status_description";
pub const TAG_ERROR: &str = "error";
pub const TAG_SPAN_KIND: &str = "span.kind";
pub const TAG_TRACE_STATE: &str = "w3c.tracestate";

/// The v2 wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Proto,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Proto => "application/x-protobuf",
        }
    }
}

/// OTLP traces as a v2 request body.
pub fn encode(
    format: Format,
    traces: &ExportTraceServiceRequest,
    default_service_name: &str,
) -> Result<Vec<u8>, TranslateError> {
    let spans = from_otlp::spans_from_otlp(traces, default_service_name)?;
    Ok(match format {
        Format::Json => json::encode(&spans),
        Format::Proto => proto::encode(&spans),
    })
}

/// A v2 request body as OTLP traces; `debug` is the `X-B3-Flags: 1` header (protobuf only).
pub fn decode_v2(
    format: Format,
    body: &[u8],
    debug: bool,
    parse_string_tags: bool,
) -> Result<ExportTraceServiceRequest, String> {
    let spans = match format {
        Format::Json => json::decode(body)?,
        Format::Proto => proto::decode(body, debug)?,
    };
    to_otlp::spans_to_otlp(spans, parse_string_tags)
}
