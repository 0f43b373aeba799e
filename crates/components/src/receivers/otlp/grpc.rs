//! OTLP/gRPC: the three `Export` services, served by hand on tonic's server with the raw-bytes
//! codec, so that a request reaches the pipeline as the bytes that came off the wire.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use pdata::{Batch, Signal};
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};

use super::pipeline::{Pipelines, RefusalReason, export_response};
use crate::otlp_grpc_codec::{
    LOGS_SERVICE, METRICS_SERVICE, RawBytesCodec, TRACE_SERVICE, export_path, service_name,
    status_from_consume_error,
};

/// A signal's gRPC service, as a type so that [`NamedService::NAME`] can differ per signal.
pub trait OtlpService: Send + Sync + 'static {
    const NAME: &'static str;
    const SIGNAL: Signal;
}

pub struct TraceService;
pub struct MetricsService;
pub struct LogsService;

impl OtlpService for TraceService {
    const NAME: &'static str = TRACE_SERVICE;
    const SIGNAL: Signal = Signal::Traces;
}
impl OtlpService for MetricsService {
    const NAME: &'static str = METRICS_SERVICE;
    const SIGNAL: Signal = Signal::Metrics;
}
impl OtlpService for LogsService {
    const NAME: &'static str = LOGS_SERVICE;
    const SIGNAL: Signal = Signal::Logs;
}

/// The tower service of one signal's `Export` method.
pub struct ExportServer<S> {
    pipelines: Arc<Pipelines>,
    max_decoding_message_size: usize,
    _service: PhantomData<fn() -> S>,
}

impl<S> ExportServer<S> {
    pub fn new(pipelines: Arc<Pipelines>, max_decoding_message_size: usize) -> Self {
        ExportServer {
            pipelines,
            max_decoding_message_size,
            _service: PhantomData,
        }
    }
}

impl<S> Clone for ExportServer<S> {
    fn clone(&self) -> Self {
        ExportServer {
            pipelines: self.pipelines.clone(),
            max_decoding_message_size: self.max_decoding_message_size,
            _service: PhantomData,
        }
    }
}

impl<S: OtlpService> NamedService for ExportServer<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for ExportServer<S>
where
    S: OtlpService,
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let pipelines = self.pipelines.clone();
        if req.uri().path() != export_path(S::SIGNAL) {
            pipelines.refuse(RefusalReason::NotFound, None, 0);
            let status = Status::unimplemented(format!(
                "unknown method {} for service {}",
                req.uri().path(),
                S::NAME
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let max = self.max_decoding_message_size;
        Box::pin(async move {
            let reached_handler = Arc::new(AtomicBool::new(false));
            let method = ExportMethod {
                pipelines: pipelines.clone(),
                signal: S::SIGNAL,
                reached_handler: reached_handler.clone(),
            };
            let mut grpc = Grpc::new(RawBytesCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Deflate)
                .max_decoding_message_size(max);
            let mut response = grpc.unary(method, req).await;
            if !reached_handler.load(Ordering::Relaxed) {
                refused_before_handler(&pipelines, S::SIGNAL, &mut response);
            }
            Ok(response)
        })
    }
}

/// tonic answered before our handler ran: the message could not be read, decompressed, or was
/// over `max_recv_msg_size_mib`. Counts it, and reports an oversize message as
/// RESOURCE_EXHAUSTED like grpc-go (tonic says OUT_OF_RANGE, which OTLP clients retry).
fn refused_before_handler(
    pipelines: &Pipelines,
    signal: Signal,
    response: &mut http::Response<Body>,
) {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32);
    let reason = match code {
        Some(Code::Ok) | None => return,
        Some(Code::OutOfRange) => {
            response.headers_mut().insert(
                "grpc-status",
                http::HeaderValue::from(Code::ResourceExhausted as i32),
            );
            RefusalReason::TooLarge
        }
        Some(Code::ResourceExhausted) => RefusalReason::TooLarge,
        Some(_) => RefusalReason::Malformed,
    };
    pipelines.refuse(reason, Some(signal), 0);
}

struct ExportMethod {
    pipelines: Arc<Pipelines>,
    signal: Signal,
    reached_handler: Arc<AtomicBool>,
}

impl UnaryService<Bytes> for ExportMethod {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        self.reached_handler.store(true, Ordering::Relaxed);
        let pipelines = self.pipelines.clone();
        let signal = self.signal;
        Box::pin(async move {
            export(&pipelines, signal, request.into_inner())
                .await
                .map(tonic::Response::new)
        })
    }
}

async fn export(pipelines: &Pipelines, signal: Signal, body: Bytes) -> Result<Bytes, Status> {
    let Some(consumer) = pipelines.consumer(signal) else {
        // Go registers only the services of the signals the receiver is used for.
        pipelines.refuse(RefusalReason::NotFound, Some(signal), 0);
        return Err(Status::unimplemented(format!(
            "unknown service {}",
            service_name(signal)
        )));
    };
    let batch = Batch::from_encoded(signal, body).map_err(|e| {
        pipelines.refuse(RefusalReason::Malformed, Some(signal), 0);
        Status::invalid_argument(format!("invalid {signal} export request: {e}"))
    })?;
    match pipelines.export(consumer, batch).await {
        Ok(partial) => Ok(Bytes::from(
            export_response(signal, partial.as_ref()).to_protobuf(),
        )),
        Err(e) => Err(status_from_consume_error(&e)),
    }
}
