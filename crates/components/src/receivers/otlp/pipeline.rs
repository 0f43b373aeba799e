//! What both transports share: handing a batch to the signal's pipeline, and counting the
//! outcome in the receiver's self-metrics.
//!
//! Besides the Go collector's `otelcol_receiver_{accepted,refused}_*{receiver,transport}`
//! (items), every refused request is counted in `otelcol_receiver_refused_requests
//! {reason,receiver,transport}` (a ferrotel addition): requests that could not be decoded
//! have no item count, and they must still show up somewhere. Requests refused before they
//! were read (`reason="memory_limit"`, see [`runtime::admission`]) have no item count either.

use std::sync::Arc;

use http::HeaderMap;
use pdata::json::ExportResponse;
use pdata::{Batch, ClientInfo, Signal};
use runtime::admission::Admission;
use runtime::auth::AuthError;
use runtime::telemetry::{ReceiverMetrics, Telemetry};
use runtime::{ConsumeError, ErrorKind, ReceiverOutputs, SharedConsumer};

use crate::util::server_auth::ServerAuth;

/// Why a request was refused, the `reason` label of `otelcol_receiver_refused_requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The body is not a valid export request (protobuf or JSON), or could not be decompressed.
    Malformed,
    /// Larger than `max_request_body_size` / `max_recv_msg_size_mib`.
    TooLarge,
    UnsupportedMediaType,
    UnsupportedEncoding,
    MethodNotAllowed,
    /// Unknown URL path, or a signal this receiver is not in a pipeline for.
    NotFound,
    /// The pipeline returned an error.
    Pipeline,
    /// The server authenticator refused the request's credentials (before its body was read).
    Unauthenticated,
    /// The TLS handshake failed: no client certificate, an untrusted or expired one, a
    /// protocol mismatch, or a timeout.
    TlsHandshake,
    /// Refused before the body was read (or before it was decoded): a memory limiter refuses
    /// data, or the bytes of the requests being read would exceed its budget
    /// ([`runtime::admission`]).
    MemoryLimit,
}

impl RefusalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Malformed => "malformed",
            RefusalReason::TooLarge => "too_large",
            RefusalReason::UnsupportedMediaType => "unsupported_media_type",
            RefusalReason::UnsupportedEncoding => "unsupported_encoding",
            RefusalReason::MethodNotAllowed => "method_not_allowed",
            RefusalReason::NotFound => "not_found",
            RefusalReason::Pipeline => "pipeline",
            RefusalReason::MemoryLimit => "memory_limit",
            RefusalReason::TlsHandshake => "tls_handshake",
            RefusalReason::Unauthenticated => "unauthenticated",
        }
    }
}

pub const REFUSED_REQUESTS: &str = "otelcol_receiver_refused_requests";

/// A partially accepted batch: `rejected` items were dropped downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialSuccess {
    pub rejected: i64,
    pub message: String,
}

/// The pipelines of one receiver as seen by one transport, with its metrics.
pub struct Pipelines {
    outputs: ReceiverOutputs,
    metrics: ReceiverMetrics,
    telemetry: Telemetry,
    receiver: String,
    transport: &'static str,
    admission: Admission,
    /// `auth` and `include_metadata`.
    auth: ServerAuth,
}

impl Pipelines {
    pub fn new(
        outputs: ReceiverOutputs,
        telemetry: &Telemetry,
        receiver: &str,
        transport: &'static str,
        admission: Admission,
    ) -> Self {
        Pipelines {
            outputs,
            metrics: ReceiverMetrics::new(telemetry, receiver, transport),
            telemetry: telemetry.clone(),
            receiver: receiver.to_string(),
            transport,
            admission,
            auth: ServerAuth::default(),
        }
    }

    /// This transport's `auth` and `include_metadata`.
    pub fn with_server_auth(mut self, auth: ServerAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Resolves the authenticator among the host's extensions (at start).
    pub fn start_auth(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }

    /// Authenticates a request and returns the client info its batch carries (see
    /// [`ServerAuth::check`]). A refusal is counted here.
    pub fn client_info(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        signal: Option<Signal>,
    ) -> Result<Option<Arc<ClientInfo>>, AuthError> {
        self.auth.check(headers, query).inspect_err(|_| {
            self.refuse(RefusalReason::Unauthenticated, signal, 0);
        })
    }

    /// Whether requests may be read (see [`runtime::admission`]).
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// True while a memory limiter refuses data: a request is then refused before its body
    /// is read or decoded. The caller counts it with [`RefusalReason::MemoryLimit`]; its items
    /// are unknown (the body was never looked at), so only the request is counted.
    pub fn under_memory_pressure(&self) -> bool {
        self.admission.under_pressure()
    }

    pub fn consumer(&self, signal: Signal) -> Option<&SharedConsumer> {
        self.outputs.get(signal)
    }

    /// Counts a refused request; `items` when the request could be counted.
    pub fn refuse(&self, reason: RefusalReason, signal: Option<Signal>, items: usize) {
        if let Some(signal) = signal
            && items > 0
        {
            self.metrics.refused(signal, items);
        }
        self.refusal_counter(reason).add(1);
    }

    /// `otelcol_receiver_refused_requests{reason, receiver, transport}`.
    pub fn refusal_counter(&self, reason: RefusalReason) -> runtime::telemetry::Counter {
        self.telemetry.counter(
            REFUSED_REQUESTS,
            "Number of requests the receiver refused, by reason (ferrotel).",
            &[
                ("reason", reason.as_str()),
                ("receiver", &self.receiver),
                ("transport", self.transport),
            ],
        )
    }

    /// Hands `batch` to `consumer`. An empty batch is accepted without calling the pipeline.
    pub async fn export(
        &self,
        consumer: &SharedConsumer,
        batch: Batch,
    ) -> Result<Option<PartialSuccess>, ConsumeError> {
        let items = batch.item_count();
        let signal = batch.signal();
        if items == 0 {
            return Ok(None);
        }
        match consumer.consume(batch).await {
            Ok(()) => {
                self.metrics.accepted(signal, items);
                Ok(None)
            }
            Err(e) => match e.kind {
                ErrorKind::Partial { rejected } => {
                    let rejected_items = usize::try_from(rejected).unwrap_or(usize::MAX).min(items);
                    self.metrics.accepted(signal, items - rejected_items);
                    self.metrics.refused(signal, rejected_items);
                    Ok(Some(PartialSuccess {
                        rejected: i64::try_from(rejected).unwrap_or(i64::MAX),
                        message: e.message,
                    }))
                }
                _ => {
                    self.refuse(RefusalReason::Pipeline, Some(signal), items);
                    Err(e)
                }
            },
        }
    }
}

/// The `Export*ServiceResponse` for an outcome (empty unless partially successful).
pub fn export_response(signal: Signal, partial: Option<&PartialSuccess>) -> ExportResponse {
    match partial {
        Some(p) => ExportResponse::partial(signal, p.rejected, p.message.clone()),
        None => ExportResponse::success(signal),
    }
}
