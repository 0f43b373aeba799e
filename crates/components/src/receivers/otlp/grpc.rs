//! OTLP/gRPC: the four `Export` services (profiles: `v1development`), served by hand on tonic's server with the raw-bytes
//! codec, so that a request reaches the pipeline as the bytes that came off the wire.
//!
//! Admission ([`runtime::admission`]): under memory pressure a call is answered UNAVAILABLE
//! (trailers-only) before its body is polled; otherwise the body reserves the message's
//! length, read from the gRPC length prefix, before more than one DATA frame is read, and is
//! refused UNAVAILABLE when the budget of bytes being read is spent.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use pdata::{Batch, Signal};
use runtime::admission::{Admission, Reservation};
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};

use super::pipeline::{Pipelines, RefusalReason, export_response};
use crate::otlp_grpc_codec::{
    LOGS_SERVICE, METRICS_SERVICE, PROFILES_SERVICE, RawBytesCodec, TRACE_SERVICE, export_path,
    service_name, status_from_consume_error,
};
use crate::processors::memory_limiter::REFUSED_MESSAGE;

/// A signal's gRPC service, as a type so that [`NamedService::NAME`] can differ per signal.
pub trait OtlpService: Send + Sync + 'static {
    const NAME: &'static str;
    const SIGNAL: Signal;
}

pub struct TraceService;
pub struct MetricsService;
pub struct LogsService;
pub struct ProfilesService;

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
impl OtlpService for ProfilesService {
    const NAME: &'static str = PROFILES_SERVICE;
    const SIGNAL: Signal = Signal::Profiles;
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
        // Go's auth interceptor runs before the handler: refused before the body is polled.
        let client = match pipelines.client_info(req.headers(), None, Some(S::SIGNAL)) {
            Ok(c) => c,
            Err(e) => {
                let status = Status::unauthenticated(e.0);
                return Box::pin(async move { Ok(status.into_http()) });
            }
        };
        if pipelines.under_memory_pressure() && pipelines.consumer(S::SIGNAL).is_some() {
            // Refused before the body is polled: dropping the request resets the stream, so
            // its DATA frames are discarded by h2 as they come. The items are unknown.
            pipelines.refuse(RefusalReason::MemoryLimit, Some(S::SIGNAL), 0);
            return Box::pin(async move { Ok(memory_refusal().into_http()) });
        }
        let max = self.max_decoding_message_size;
        Box::pin(async move {
            let budget = Arc::new(ReadBudget::new(pipelines.admission().clone()));
            let req = req.map(|body| BudgetedBody::new(body, budget.clone()));
            let reached_handler = Arc::new(AtomicBool::new(false));
            let method = ExportMethod {
                pipelines: pipelines.clone(),
                signal: S::SIGNAL,
                reached_handler: reached_handler.clone(),
                budget: budget.clone(),
                client,
            };
            let mut grpc = Grpc::new(RawBytesCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Deflate)
                .max_decoding_message_size(max);
            let mut response = grpc.unary(method, req).await;
            if budget.refused() {
                pipelines.refuse(RefusalReason::MemoryLimit, Some(S::SIGNAL), 0);
                response = memory_refusal().into_http();
            } else if !reached_handler.load(Ordering::Relaxed) {
                refused_before_handler(&pipelines, S::SIGNAL, &mut response);
            }
            // The request's bytes are in the pipeline's hands (or dropped) now.
            budget.release();
            Ok(response)
        })
    }
}

/// UNAVAILABLE with the memory_limiter's message: retryable, the sender backs off.
fn memory_refusal() -> Status {
    Status::unavailable(REFUSED_MESSAGE)
}

/// The bytes one request holds against the [`Admission`] budget, shared by its body (which
/// reserves the message's size from the gRPC length prefix before reading further), its
/// handler (which accounts for decompression) and the service (which releases it).
struct ReadBudget {
    admission: Admission,
    reservation: Mutex<Option<Reservation>>,
    refused: AtomicBool,
}

impl ReadBudget {
    fn new(admission: Admission) -> ReadBudget {
        ReadBudget {
            admission,
            reservation: Mutex::new(None),
            refused: AtomicBool::new(false),
        }
    }

    /// Reserves `bytes`; false (and remembered) when the budget is spent.
    fn reserve(&self, bytes: u64) -> bool {
        match self.admission.try_reserve(bytes) {
            Some(r) => {
                *self.lock() = Some(r);
                true
            }
            None => {
                self.refused.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// The message decompressed to `bytes`: hold that much from now on.
    fn grow_to(&self, bytes: u64) {
        if let Some(r) = self.lock().as_mut() {
            r.grow_to(bytes);
        }
    }

    fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    fn release(&self) {
        self.lock().take();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Reservation>> {
        self.reservation.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A request body that reads the 5-byte gRPC message prefix first and reserves the
/// message's length before anything more is read; over budget, it ends with an error and
/// the service answers UNAVAILABLE, having read at most one DATA frame.
struct BudgetedBody<B> {
    inner: Pin<Box<B>>,
    budget: Arc<ReadBudget>,
    prefix: [u8; 5],
    prefix_len: usize,
}

impl<B> BudgetedBody<B> {
    fn new(inner: B, budget: Arc<ReadBudget>) -> Self {
        BudgetedBody {
            inner: Box::pin(inner),
            budget,
            prefix: [0; 5],
            prefix_len: 0,
        }
    }

    /// Takes prefix bytes from `data`; false when the message is over budget.
    fn admit(&mut self, data: &[u8]) -> bool {
        let take = (self.prefix.len() - self.prefix_len).min(data.len());
        self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&data[..take]);
        self.prefix_len += take;
        if self.prefix_len < self.prefix.len() {
            return true;
        }
        let [_, a, b, c, d] = self.prefix;
        let message_len = u64::from(u32::from_be_bytes([a, b, c, d]));
        self.budget.reserve(message_len + self.prefix.len() as u64)
    }
}

impl<B> http_body::Body for BudgetedBody<B>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let frame = match std::task::ready!(self.inner.as_mut().poll_frame(cx)) {
            None => return Poll::Ready(None),
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            Some(Ok(frame)) => frame.map_data(|mut d| d.copy_to_bytes(d.remaining())),
        };
        if self.prefix_len < self.prefix.len()
            && let Some(data) = frame.data_ref()
            && !self.admit(data)
        {
            return Poll::Ready(Some(Err(Box::new(memory_refusal()))));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
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
    budget: Arc<ReadBudget>,
    client: Option<Arc<pdata::ClientInfo>>,
}

impl UnaryService<Bytes> for ExportMethod {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        self.reached_handler.store(true, Ordering::Relaxed);
        // Compressed on the wire: the decompressed message is what is held from here on.
        self.budget.grow_to(request.get_ref().len() as u64);
        let pipelines = self.pipelines.clone();
        let signal = self.signal;
        let client = self.client.take();
        Box::pin(async move {
            export(&pipelines, signal, request.into_inner(), client)
                .await
                .map(tonic::Response::new)
        })
    }
}

async fn export(
    pipelines: &Pipelines,
    signal: Signal,
    body: Bytes,
    client: Option<Arc<pdata::ClientInfo>>,
) -> Result<Bytes, Status> {
    let Some(consumer) = pipelines.consumer(signal) else {
        // Go registers only the services of the signals the receiver is used for.
        pipelines.refuse(RefusalReason::NotFound, Some(signal), 0);
        return Err(Status::unimplemented(format!(
            "unknown service {}",
            service_name(signal)
        )));
    };
    if pipelines.under_memory_pressure() {
        // The limiter began refusing while this request was read: refuse it before spending
        // the validation on it (the limiter would refuse it after). Items not counted.
        pipelines.refuse(RefusalReason::MemoryLimit, Some(signal), 0);
        return Err(memory_refusal());
    }
    let batch = Batch::from_encoded(signal, body).map_err(|e| {
        pipelines.refuse(RefusalReason::Malformed, Some(signal), 0);
        Status::invalid_argument(format!("invalid {signal} export request: {e}"))
    })?;
    let batch = batch.with_client_info(client);
    match pipelines.export(consumer, batch).await {
        Ok(partial) => Ok(Bytes::from(
            export_response(signal, partial.as_ref()).to_protobuf(),
        )),
        Err(e) => Err(status_from_consume_error(&e)),
    }
}
