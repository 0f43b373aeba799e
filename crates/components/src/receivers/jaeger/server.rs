//! The three Jaeger endpoints, as Go's `jaegerreceiver`:
//!
//! - gRPC `jaeger.api_v2.CollectorService/PostSpans` (transport `grpc`): a request that does
//!   not unmarshal is INTERNAL `grpc: error unmarshalling request: …` as grpc-go answers;
//!   a pipeline refusal is the OTLP receiver's status (UNAVAILABLE when retryable);
//! - HTTP `POST /api/traces` (transport `collector_http`) with a binary-protocol Thrift
//!   `Batch` (`Content-Type: application/x-thrift` or `application/vnd.apache.thrift.binary`):
//!   202 accepted; 400 `Cannot parse content type: …`, `Unsupported content type: …` or
//!   `Unable to process request body: …`; 500 `Cannot submit Jaeger batch: …` (503 when the
//!   pipeline refuses for now, so that clients retry); 404 for other paths, 405 for other
//!   methods; bodies decompressed per `Content-Encoding` within `max_request_body_size`;
//! - UDP agent ports (transports `udp_thrift_compact`, `udp_thrift_binary`): each packet is
//!   one `emitBatch` call, read whole up to `max_packet_size`, queued (at most `queue_size`;
//!   a packet finding the queue full is dropped and counted, as Go's buffered server does)
//!   and handled by `workers` tasks.
//!
//! Self-metrics are the OTLP receiver's ([`Pipelines`]): spans accepted or refused per
//! transport, and refused requests by reason.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use jaeger::thrift::{self, AgentCall, Protocol};
use jaeger::translate::{self, Options};
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::{Batch, Signal};
use runtime::admission::Admission;
use runtime::{ConsumeError, SharedConsumer};
use tokio::net::UdpSocket;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, NamedService, UnaryService};

use super::config::{HttpConfig, Udp};
use crate::compression::{self, Codec, DecompressError};
use crate::otlp_grpc_codec::{RawBytesCodec, status_from_consume_error};
use crate::processors::memory_limiter::REFUSED_MESSAGE;
use crate::receivers::otlp::pipeline::{Pipelines, RefusalReason};

pub const TRANSPORT_GRPC: &str = "grpc";
pub const TRANSPORT_HTTP: &str = "collector_http";
pub const TRANSPORT_COMPACT: &str = "udp_thrift_compact";
pub const TRANSPORT_BINARY: &str = "udp_thrift_binary";

/// What every endpoint needs: the next consumer, the translation switches, admission.
pub struct Shared {
    pub consumer: SharedConsumer,
    pub options: Options,
    pub admission: Admission,
}

impl Shared {
    /// Hands `traces` to the pipeline; `pipelines` counts the outcome.
    async fn consume(
        &self,
        pipelines: &Pipelines,
        traces: ExportTraceServiceRequest,
        client: Option<Arc<pdata::ClientInfo>>,
    ) -> Result<(), ConsumeError> {
        let batch = Batch::from_request(pdata::Request::Traces(traces)).with_client_info(client);
        // Jaeger has no partial success to pass back: what the pipeline took is counted.
        pipelines.export(&self.consumer, batch).await.map(|_| ())
    }
}

// ---- gRPC ----

/// The tower service of `CollectorService`.
#[derive(Clone)]
pub struct CollectorServer {
    shared: Arc<Shared>,
    pipelines: Arc<Pipelines>,
    max_message: usize,
}

impl CollectorServer {
    pub fn new(shared: Arc<Shared>, pipelines: Arc<Pipelines>, max_message: usize) -> Self {
        CollectorServer {
            shared,
            pipelines,
            max_message,
        }
    }
}

impl NamedService for CollectorServer {
    const NAME: &'static str = jaeger::proto::COLLECTOR_SERVICE;
}

impl<B> tonic::codegen::Service<http::Request<B>> for CollectorServer
where
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
        if req.uri().path() != jaeger::proto::POST_SPANS_PATH {
            self.pipelines.refuse(RefusalReason::NotFound, None, 0);
            let status = Status::unimplemented(format!(
                "unknown method {} for service {}",
                req.uri().path(),
                jaeger::proto::COLLECTOR_SERVICE
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // Go's auth interceptor: refused before the body is polled (counted by `client_info`).
        let client = match self
            .pipelines
            .client_info(req.headers(), None, Some(Signal::Traces))
        {
            Ok(c) => c,
            Err(e) => {
                let status = Status::unauthenticated(e.0);
                return Box::pin(async move { Ok(status.into_http()) });
            }
        };
        if self.shared.admission.under_pressure() {
            self.pipelines
                .refuse(RefusalReason::MemoryLimit, Some(Signal::Traces), 0);
            return Box::pin(async move { Ok(Status::unavailable(REFUSED_MESSAGE).into_http()) });
        }
        let method = PostSpans {
            shared: self.shared.clone(),
            pipelines: self.pipelines.clone(),
            client,
        };
        let pipelines = self.pipelines.clone();
        let max = self.max_message;
        Box::pin(async move {
            let mut grpc = Grpc::new(RawBytesCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Deflate)
                .max_decoding_message_size(max);
            let mut response = grpc.unary(method, req).await;
            // A message over `max_recv_msg_size_mib`: grpc-go says RESOURCE_EXHAUSTED, tonic
            // OUT_OF_RANGE (which clients may retry).
            if response
                .headers()
                .get("grpc-status")
                .is_some_and(|v| v.as_bytes() == b"11")
            {
                response.headers_mut().insert(
                    "grpc-status",
                    http::HeaderValue::from(tonic::Code::ResourceExhausted as i32),
                );
                pipelines.refuse(RefusalReason::TooLarge, Some(Signal::Traces), 0);
            }
            Ok(response)
        })
    }
}

struct PostSpans {
    shared: Arc<Shared>,
    pipelines: Arc<Pipelines>,
    client: Option<Arc<pdata::ClientInfo>>,
}

impl UnaryService<Bytes> for PostSpans {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let shared = self.shared.clone();
        let pipelines = self.pipelines.clone();
        let client = self.client.take();
        Box::pin(async move {
            let batch = jaeger::proto::decode_post_spans(request.get_ref()).map_err(|e| {
                pipelines.refuse(RefusalReason::Malformed, Some(Signal::Traces), 0);
                Status::internal(format!("grpc: error unmarshalling request: {e}"))
            })?;
            let traces = translate::proto_to_otlp(batch, &shared.options);
            shared
                .consume(&pipelines, traces, client)
                .await
                .map_err(|e| status_from_consume_error(&e))?;
            // PostSpansResponse has no fields.
            Ok(tonic::Response::new(Bytes::new()))
        })
    }
}

// ---- HTTP ----

const ACCEPTED_THRIFT: [&str; 2] = [
    "application/x-thrift",
    "application/vnd.apache.thrift.binary",
];

pub struct HttpService {
    shared: Arc<Shared>,
    pipelines: Arc<Pipelines>,
    max_body_size: usize,
    allowed_encodings: Vec<String>,
    response_headers: HeaderMap,
}

/// Go's `http.Error`: the message and a newline, as plain text.
fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Go's `html.EscapeString`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `mime.ParseMediaType`, as far as the media type goes.
fn media_type(v: Option<&HeaderValue>) -> Result<String, String> {
    let raw = v.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mt = raw
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mt.is_empty() {
        return Err("mime: no media type".into());
    }
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    match mt.split_once('/') {
        Some((a, b)) if token(a) && token(b) => Ok(mt),
        Some(_) => Err("mime: expected token after slash".into()),
        None if token(&mt) => Err("mime: expected slash after first token".into()),
        None => Err("mime: expected token after slash".into()),
    }
}

impl HttpService {
    pub fn new(
        cfg: &HttpConfig,
        shared: Arc<Shared>,
        pipelines: Arc<Pipelines>,
    ) -> Result<HttpService, String> {
        let mut response_headers = HeaderMap::new();
        for (k, v) in &cfg.response_headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| format!("response_headers: invalid header name {k:?}: {e}"))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|e| format!("response_headers: invalid value for {k:?}: {e}"))?;
            response_headers.insert(name, value);
        }
        Ok(HttpService {
            shared,
            pipelines,
            max_body_size: cfg.max_body_size(),
            allowed_encodings: cfg
                .compression_algorithms
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            response_headers,
        })
    }

    pub async fn handle<B>(
        self: Arc<Self>,
        req: Request<B>,
    ) -> Result<Response<Full<Bytes>>, Infallible>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let mut response = self.route(req).await;
        for (k, v) in &self.response_headers {
            response.headers_mut().insert(k.clone(), v.clone());
        }
        Ok(response)
    }

    async fn route<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let refuse = |reason: RefusalReason| {
            self.pipelines.refuse(reason, Some(Signal::Traces), 0);
        };
        // Go's confighttp auth runs first, on the headers only: 401 with the reason.
        let client =
            match self
                .pipelines
                .client_info(req.headers(), req.uri().query(), Some(Signal::Traces))
            {
                Ok(c) => c,
                Err(e) => return text(StatusCode::UNAUTHORIZED, format!("{e}\n")),
            };
        if req.uri().path() != "/api/traces" {
            refuse(RefusalReason::NotFound);
            return text(StatusCode::NOT_FOUND, "404 page not found\n".into());
        }
        if req.method() != Method::POST {
            refuse(RefusalReason::MethodNotAllowed);
            // gorilla/mux answers a known path with another method with no body.
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return r;
        }
        let codec = match crate::compression::request_codec(req.headers(), &self.allowed_encodings)
        {
            Ok(c) => c,
            Err(m) => {
                refuse(RefusalReason::UnsupportedEncoding);
                return text(StatusCode::BAD_REQUEST, m);
            }
        };
        if self.shared.admission.under_pressure() {
            refuse(RefusalReason::MemoryLimit);
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{REFUSED_MESSAGE}\n"),
            );
        }
        let content_type = media_type(req.headers().get(header::CONTENT_TYPE));
        let body = match self.read_body(req.into_body(), codec).await {
            Ok(b) => b,
            Err((status, m)) => {
                refuse(match status {
                    StatusCode::PAYLOAD_TOO_LARGE => RefusalReason::TooLarge,
                    StatusCode::SERVICE_UNAVAILABLE => RefusalReason::MemoryLimit,
                    _ => RefusalReason::Malformed,
                });
                return text(status, m);
            }
        };
        let bad = |reason: RefusalReason, m: String| {
            refuse(reason);
            text(StatusCode::BAD_REQUEST, format!("{}\n", escape(&m)))
        };
        let content_type = match content_type {
            Ok(ct) => ct,
            Err(e) => {
                return bad(
                    RefusalReason::UnsupportedMediaType,
                    format!("Cannot parse content type: {e}"),
                );
            }
        };
        if !ACCEPTED_THRIFT.contains(&content_type.as_str()) {
            return bad(
                RefusalReason::UnsupportedMediaType,
                format!("Unsupported content type: {content_type}"),
            );
        }
        let batch = match thrift::decode_batch(&body, Protocol::Binary) {
            Ok(b) => b,
            Err(e) => {
                return bad(
                    RefusalReason::Malformed,
                    format!("Unable to process request body: {e}"),
                );
            }
        };
        drop(body);
        let traces = translate::thrift_to_otlp(batch, &self.shared.options);
        match self.shared.consume(&self.pipelines, traces, client).await {
            Ok(()) => {
                let mut r = Response::new(Full::new(Bytes::new()));
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            Err(e) => text(
                if e.is_retryable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                },
                format!("Cannot submit Jaeger batch: {}\n", e.message),
            ),
        }
    }

    /// Reads and decompresses the body within `max_request_body_size`, its bytes reserved
    /// against the admission budget shared with the other receivers: over it, 503.
    async fn read_body<B>(
        &self,
        body: B,
        codec: Option<Codec>,
    ) -> Result<Vec<u8>, (StatusCode, String)>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let limit = self.max_body_size;
        let too_large = || {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body too large: exceeds max_request_body_size of {limit} bytes\n"),
            )
        };
        let over_budget = || {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{REFUSED_MESSAGE}\n"),
            )
        };
        let raw_limit = match codec {
            None => limit,
            Some(_) => limit.saturating_add(limit / 8).saturating_add(64 * 1024),
        };
        let mut reservation = self
            .shared
            .admission
            .try_reserve(0)
            .ok_or_else(over_budget)?;
        let mut raw = Vec::new();
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("Unable to process request body: {e}\n"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if raw.len() + data.len() > raw_limit {
                    return Err(too_large());
                }
                let want = (raw.len() + data.len()) as u64;
                if let Some(more) = want.checked_sub(reservation.bytes())
                    && more > 0
                    && !reservation.try_grow(more)
                {
                    return Err(over_budget());
                }
                raw.extend_from_slice(&data);
            }
        }
        match codec {
            None => Ok(raw),
            Some(c) => compression::decompress(c, &raw, limit).map_err(|e| match e {
                DecompressError::TooLarge { .. } => too_large(),
                other => (StatusCode::BAD_REQUEST, format!("{other}\n")),
            }),
        }
    }
}

// ---- UDP ----

/// One agent port: its socket, protocol and queue settings.
pub struct UdpServer {
    pub shared: Arc<Shared>,
    pub pipelines: Arc<Pipelines>,
    pub protocol: Protocol,
    pub cfg: Udp,
    /// Packets dropped because the queue was full.
    pub dropped: Arc<AtomicU64>,
}

impl UdpServer {
    /// Binds the socket (with `socket_buffer_size` as `SO_RCVBUF` when set).
    pub fn bind(cfg: &Udp, addr: &str) -> Result<UdpSocket, String> {
        use std::net::ToSocketAddrs;
        // `localhost` may resolve to ::1 first; Go listens on the IPv4 address then.
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| format!("failed to resolve {}: {e}", cfg.endpoint))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
            .ok_or_else(|| format!("failed to resolve {}", cfg.endpoint))?;
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .map_err(|e| e.to_string())?;
        if cfg.socket_buffer_size > 0 {
            socket
                .set_recv_buffer_size(cfg.socket_buffer_size)
                .map_err(|e| format!("failed to set the UDP socket buffer size: {e}"))?;
        }
        socket
            .bind(&addr.into())
            .map_err(|e| format!("failed to listen on UDP {}: {e}", cfg.endpoint))?;
        socket.set_nonblocking(true).map_err(|e| e.to_string())?;
        UdpSocket::from_std(socket.into()).map_err(|e| e.to_string())
    }

    /// Reads packets until `stop`, then lets the workers drain the queue.
    pub fn serve(self, socket: UdpSocket, stop: CancellationToken) -> JoinHandle<()> {
        let this = Arc::new(self);
        tokio::spawn(async move {
            let (tx, rx) = mpsc::channel::<Vec<u8>>(this.cfg.queue_size.max(1));
            let rx = Arc::new(Mutex::new(rx));
            let workers: Vec<JoinHandle<()>> = (0..this.cfg.workers.max(1))
                .map(|_| {
                    let (this, rx) = (this.clone(), rx.clone());
                    tokio::spawn(async move {
                        loop {
                            let packet = rx.lock().await.recv().await;
                            match packet {
                                Some(p) => this.handle(&p).await,
                                None => return,
                            }
                        }
                    })
                })
                .collect();
            let mut buf = vec![0u8; this.cfg.max_packet_size.max(1)];
            loop {
                let n = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = socket.recv_from(&mut buf) => match r {
                        Ok((n, _)) => n,
                        Err(e) => {
                            tracing::debug!(error = %e, "jaeger receiver: UDP read failed");
                            continue;
                        }
                    },
                };
                if tx.try_send(buf[..n].to_vec()).is_err() {
                    this.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(tx);
            futures::future::join_all(workers).await;
        })
    }

    async fn handle(&self, packet: &[u8]) {
        match thrift::decode_agent(packet, self.protocol) {
            Ok(AgentCall::EmitBatch(Some(batch))) => {
                let traces = translate::thrift_to_otlp(batch, &self.shared.options);
                if let Err(e) = self.shared.consume(&self.pipelines, traces, None).await {
                    tracing::debug!(error = %e.message, "jaeger receiver: batch refused");
                }
            }
            Ok(AgentCall::EmitBatch(None)) => {}
            Ok(AgentCall::Other(name)) => {
                tracing::debug!(method = %name, "jaeger receiver: unsupported agent method")
            }
            Err(e) => {
                self.pipelines
                    .refuse(RefusalReason::Malformed, Some(Signal::Traces), 0);
                tracing::debug!(error = %e, "jaeger receiver: agent packet not decoded");
            }
        }
    }
}
