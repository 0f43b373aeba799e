//! The traits every component implements, and the error a consumer returns.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use config::ComponentId;
use pdata::Batch;

/// The kind of a component, as in the config's top-level maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Receiver,
    Processor,
    Exporter,
    Connector,
    Extension,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Receiver => "receiver",
            Kind::Processor => "processor",
            Kind::Exporter => "exporter",
            Kind::Connector => "connector",
            Kind::Extension => "extension",
        }
    }

    /// The top-level config key (`receivers`, ...).
    pub fn section(self) -> &'static str {
        match self {
            Kind::Receiver => "receivers",
            Kind::Processor => "processors",
            Kind::Exporter => "exporters",
            Kind::Connector => "connectors",
            Kind::Extension => "extensions",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a refusal should be treated by whoever sent the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Try again later (gRPC UNAVAILABLE / HTTP 503, or RESOURCE_EXHAUSTED / 429 with a delay).
    Retryable,
    /// Never retry (gRPC INTERNAL / HTTP 500 unless a status code says otherwise).
    Permanent,
    /// Accepted, but `rejected` items were dropped downstream (OTLP partial success).
    Partial { rejected: u64 },
}

/// Why a consumer did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeError {
    pub kind: ErrorKind,
    pub message: String,
    /// A delay the sender should wait at least (server throttling / Retry-After).
    pub retry_after: Option<Duration>,
    /// A gRPC status code (as its number) to answer with, when one is known.
    pub grpc_code: Option<i32>,
}

impl ConsumeError {
    pub fn retryable(message: impl Into<String>) -> Self {
        ConsumeError {
            kind: ErrorKind::Retryable,
            message: message.into(),
            retry_after: None,
            grpc_code: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        ConsumeError {
            kind: ErrorKind::Permanent,
            message: message.into(),
            retry_after: None,
            grpc_code: None,
        }
    }

    pub fn throttled(message: impl Into<String>, delay: Duration) -> Self {
        ConsumeError {
            kind: ErrorKind::Retryable,
            message: message.into(),
            retry_after: Some(delay),
            grpc_code: None,
        }
    }

    pub fn partial(rejected: u64, message: impl Into<String>) -> Self {
        ConsumeError {
            kind: ErrorKind::Partial { rejected },
            message: message.into(),
            retry_after: None,
            grpc_code: None,
        }
    }

    pub fn with_grpc_code(mut self, code: i32) -> Self {
        self.grpc_code = Some(code);
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    pub fn is_permanent(&self) -> bool {
        self.kind == ErrorKind::Permanent
    }

    /// The gRPC code a receiver answers with (otelcol.md §4 "Downstream error mapping"):
    /// a known code is kept; a retryable error with a delay is RESOURCE_EXHAUSTED (8), any
    /// other retryable error UNAVAILABLE (14), a permanent one INTERNAL (13).
    pub fn grpc_status_code(&self) -> i32 {
        if let Some(c) = self.grpc_code {
            return c;
        }
        match self.kind {
            ErrorKind::Retryable if self.retry_after.is_some() => 8,
            ErrorKind::Retryable => 14,
            ErrorKind::Permanent => 13,
            ErrorKind::Partial { .. } => 0,
        }
    }

    /// The HTTP status a receiver answers with, from the gRPC code (otelcol.md §4 table).
    pub fn http_status(&self) -> u16 {
        grpc_to_http(self.grpc_status_code())
    }

    /// Combines the errors of several consumers (fan-out): a retryable error wins over a
    /// permanent one, so the sender retries rather than drops; messages are joined.
    pub fn combine(errors: Vec<ConsumeError>) -> Option<ConsumeError> {
        let mut iter = errors.into_iter();
        let mut acc = iter.next()?;
        for e in iter {
            acc.message = format!("{}; {}", acc.message, e.message);
            match (acc.kind, e.kind) {
                (ErrorKind::Retryable, _) => {}
                (_, ErrorKind::Retryable) => {
                    acc.kind = ErrorKind::Retryable;
                    acc.grpc_code = e.grpc_code;
                }
                (ErrorKind::Partial { rejected: a }, ErrorKind::Partial { rejected: b }) => {
                    acc.kind = ErrorKind::Partial { rejected: a.max(b) };
                }
                (ErrorKind::Partial { .. }, ErrorKind::Permanent) => {
                    acc.kind = ErrorKind::Permanent;
                    acc.grpc_code = e.grpc_code;
                }
                _ => {}
            }
            acc.retry_after = match (acc.retry_after, e.retry_after) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        Some(acc)
    }
}

/// gRPC code → HTTP status, as the Go collector's `GetHTTPStatusCodeFromStatus`.
pub fn grpc_to_http(code: i32) -> u16 {
    match code {
        0 => 200,
        1 | 4 | 10 | 11 | 14 | 15 => 503,
        8 => 429,
        3 => 400,
        16 => 401,
        7 => 403,
        12 => 404,
        _ => 500,
    }
}

impl fmt::Display for ConsumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConsumeError {}

/// Takes batches. Awaiting `consume` is how backpressure travels upstream.
#[async_trait]
pub trait Consumer: Send + Sync {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError>;
}

pub type SharedConsumer = Arc<dyn Consumer>;

/// What a component may reach while starting: the running extensions, the service's
/// pipelines (for zpages) and the status reporter (Go's `componentstatus.ReportStatus`).
#[derive(Clone, Default)]
pub struct Host {
    pub extensions: HashMap<ComponentId, Arc<dyn Extension>>,
    pub service: Arc<crate::view::ServiceView>,
    pub status: crate::status::StatusReporter,
}

impl Host {
    pub fn extension(&self, id: &ComponentId) -> Option<&Arc<dyn Extension>> {
        self.extensions.get(id)
    }
}

/// Start and stop. `shutdown` must flush what the component holds into its next consumer
/// (processors, connectors) or deliver/persist it (exporters) before returning.
#[async_trait]
pub trait Component: Send + Sync {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A receiver: a server or scraper feeding [`crate::ReceiverOutputs`]. One instance per id.
pub trait Receiver: Component {}

/// A processor: one instance per pipeline, wrapping the next consumer.
pub trait Processor: Component + Consumer {
    /// True if it changes the data it is given (informational; batches are copy-on-write).
    fn mutates_data(&self) -> bool {
        false
    }
}

/// An exporter: one instance per (id, signal), shared by the pipelines of that signal.
pub trait Exporter: Component + Consumer {}

/// A connector: exporter of one pipeline, receiver of others. One instance per
/// (id, from-signal, to-signal).
pub trait Connector: Component + Consumer {}

/// An extension. `as_any` lets components find the concrete type (for example storage).
pub trait Extension: Component {
    fn as_any(&self) -> &dyn Any;
    /// The storage this extension offers, if it is a storage extension (`file_storage`).
    fn as_storage(&self) -> Option<&dyn crate::storage::StorageExtension> {
        None
    }
    /// The server authenticator this extension offers (`bearertokenauth`, `basicauth`).
    fn server_authenticator(&self) -> Option<Arc<dyn crate::auth::ServerAuthenticator>> {
        None
    }
    /// The client authenticator this extension offers (`bearertokenauth`, `headers_setter`).
    fn client_authenticator(&self) -> Option<Arc<dyn crate::auth::ClientAuthenticator>> {
        None
    }
    /// All pipelines started (health_check turns 200).
    fn pipelines_ready(&self) {}
    /// Shutdown began (health_check turns 503).
    fn pipelines_not_ready(&self) {}
    /// A component instance changed status (Go's `StatusWatcher`). Called for every
    /// instance, this extension's own included, from the thread that reported: must not
    /// block.
    fn component_status_changed(
        &self,
        _source: &crate::status::InstanceId,
        _event: &crate::status::Event,
    ) {
    }
}
