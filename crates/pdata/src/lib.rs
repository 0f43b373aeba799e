//! `pdata` owns the telemetry data model of ferrotel: a [`Batch`] of traces, metrics or logs
//! that holds either the encoded OTLP request (protobuf bytes) or the decoded messages, and
//! converts lazily, at most once.
//!
//! Most pipelines only batch and forward, so counting items, merging batches and splitting
//! them work on the protobuf bytes without building structs (see [`scan`]).
//!
//! A third form serves receivers that make log records in their own shape (stanza's entries):
//! [`lazy`] logs keep those records until a component asks for the OTLP request, so that a
//! component that knows the shape (the loki exporter) can skip the conversion.
//!
//! ```
//! use pdata::{Batch, Signal, Request, proto};
//! let req = proto::collector::trace::v1::ExportTraceServiceRequest::default();
//! let batch = Batch::from_request(Request::Traces(req));
//! assert_eq!(batch.signal(), Signal::Traces);
//! assert_eq!(batch.item_count(), 0);
//! ```

pub mod anyvalue;
mod batch;
mod client;
pub mod gojson;
pub mod json;
pub mod lazy;
pub mod scan;
pub mod snappy;
#[cfg(any(test, feature = "testdata"))]
pub mod testdata;
pub mod text;
pub mod tree;

pub use batch::{Batch, Request};
pub use client::ClientInfo;
pub use opentelemetry_proto::tonic as proto;

/// The telemetry signal a batch or pipeline carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
    /// OTLP profiles (`v1development`): carried encoded and unchanged; items are samples.
    Profiles,
}

impl Signal {
    /// The three stable signals.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];
    /// Every signal, profiles included.
    pub const EVERY: [Signal; 4] = [
        Signal::Traces,
        Signal::Metrics,
        Signal::Logs,
        Signal::Profiles,
    ];

    /// The name used in config (`traces`, `metrics`, `logs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
            Signal::Profiles => "profiles",
        }
    }

    /// The item noun used in self-metric names: `spans`, `metric_points`, `log_records`,
    /// `profile_samples` (Go's `otelcol_receiver_accepted_profile_samples`).
    pub fn item_noun(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metric_points",
            Signal::Logs => "log_records",
            Signal::Profiles => "profile_samples",
        }
    }

    pub fn parse(s: &str) -> Option<Signal> {
        match s {
            "traces" => Some(Signal::Traces),
            "metrics" => Some(Signal::Metrics),
            "logs" => Some(Signal::Logs),
            "profiles" => Some(Signal::Profiles),
            _ => None,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why bytes could not be turned into telemetry.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PdataError {
    #[error("failed to decode protobuf: {0}")]
    Protobuf(String),
    #[error("failed to decode JSON: {0}")]
    Json(String),
}
