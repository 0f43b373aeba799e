//! `jaeger` owns the Jaeger wire formats of ferrotel and their translation to OTLP:
//!
//! - [`thrift`]: the `jaeger.thrift` structures (`Batch`, `Process`, `Span`, `Tag`, `Log`,
//!   `SpanRef`) and the `agent.thrift` `emitBatch` message, read from the Thrift binary and
//!   compact protocols by a small bounded decoder (every length and element count is checked
//!   against the bytes left before anything is allocated; nesting is limited);
//! - [`proto`]: the `jaeger.api_v2` protobuf model and `CollectorService/PostSpans` messages
//!   (prost), with the id and time checks Go's gogoproto types make while unmarshalling;
//! - [`translate`]: Jaeger → OTLP exactly as the Go collector's `pkg/translator/jaeger`
//!   (`ThriftToTraces`, `ProtoToTraces`): process → resource (`service.name`, tags, `hostname`
//!   → `host.name`, `jaeger.version` → `opencensus.exporterversion`), `span.kind`, status from
//!   `error` / `otel.status_code` / `otel.status_description` / `http.status_code`, logs →
//!   events (named by their `event` field), references → parent and links, `otel.scope.*` →
//!   scope (protobuf only, as in Go);
//! - [`uimodel`]: the other direction for the query APIs: OTLP → the Jaeger UI JSON model
//!   (`/api/traces`) as Jaeger v2 renders it, and OTLP/JSON as Jaeger `api_v3` and Tempo write it.
//!
//! The `jaeger` receiver is a thin adapter over it.
//!
//! ```
//! use jaeger::thrift::{Protocol, decode_batch};
//! use jaeger::translate::{Options, thrift_to_otlp};
//! # let body = jaeger::fuzzing::sample_batch(Protocol::Binary);
//! let batch = decode_batch(&body, Protocol::Binary).unwrap();
//! let otlp = thrift_to_otlp(batch, &Options::default());
//! assert_eq!(otlp.resource_spans[0].scope_spans[0].spans[0].name, "get /api");
//! ```

pub mod fuzzing;
pub mod proto;
pub mod thrift;
pub mod translate;
pub mod uimodel;

#[cfg(test)]
mod uimodel_tests;
