//! The OTLP server shared by the sink and the floor: gRPC through tonic's server machinery with a
//! codec that hands over the raw message bytes (tonic reads and decompresses the frame, nothing
//! is decoded), and OTLP/HTTP protobuf over HTTP/1.1, on one port (the protocol is detected per
//! connection). `GET /stats` answers the backend's counters as JSON.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pdata::Signal;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::client::signal_of_path;
use crate::compress;

/// Largest request accepted (compressed and decompressed).
pub const MAX_BODY: usize = 64 << 20;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Why a backend did not accept a request.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: tonic::Code,
    pub http_status: u16,
    pub message: String,
}

impl Refusal {
    pub fn unavailable(message: impl Into<String>) -> Refusal {
        Refusal {
            code: tonic::Code::Unavailable,
            http_status: 503,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Refusal {
        Refusal {
            code: tonic::Code::InvalidArgument,
            http_status: 400,
            message: message.into(),
        }
    }
}

/// What the server does with an export request's (decompressed) protobuf bytes.
pub trait Backend: Send + Sync + 'static {
    fn export(self: Arc<Self>, signal: Signal, body: Bytes) -> BoxFuture<Result<(), Refusal>>;
    fn stats(&self) -> serde_json::Value;

    /// Answers `POST <path>` control requests other than exports (JSON in, JSON out).
    fn control(&self, _path: &str, _body: &[u8]) -> Option<Result<serde_json::Value, String>> {
        None
    }
}

/// A tonic codec whose messages are the raw protobuf bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put(dst, item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

struct Unary<B: ?Sized> {
    backend: Arc<B>,
    signal: Signal,
}

impl<B: Backend + ?Sized> tonic::server::UnaryService<Bytes> for Unary<B> {
    type Response = Bytes;
    type Future = BoxFuture<Result<tonic::Response<Bytes>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let fut = self
            .backend
            .clone()
            .export(self.signal, request.into_inner());
        Box::pin(async move {
            match fut.await {
                // An empty Export*ServiceResponse encodes to no bytes.
                Ok(()) => Ok(tonic::Response::new(Bytes::new())),
                Err(r) => Err(tonic::Status::new(r.code, r.message)),
            }
        })
    }
}

type Resp = http::Response<tonic::body::Body>;

fn plain(status: u16, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = http::Response::new(tonic::body::Body::new(Full::new(body.into())));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert("content-type", v);
    }
    r
}

async fn handle<B: Backend + ?Sized>(backend: Arc<B>, req: http::Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let is_grpc = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if req.method() == http::Method::GET && path == "/stats" {
        let stats = backend.stats().to_string();
        return plain(200, "application/json", stats);
    }
    if !is_grpc && req.method() == http::Method::POST && signal_of_path(&path).is_none() {
        let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => return plain(400, "text/plain", format!("reading body: {e}")),
        };
        return match backend.control(&path, &body) {
            Some(Ok(v)) => plain(200, "application/json", v.to_string()),
            Some(Err(e)) => plain(400, "text/plain", e),
            None => plain(404, "text/plain", format!("no handler for {path}")),
        };
    }
    let Some(signal) = signal_of_path(&path) else {
        return plain(404, "text/plain", format!("no handler for {path}"));
    };
    if is_grpc {
        let mut grpc = tonic::server::Grpc::new(RawCodec)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(MAX_BODY);
        return grpc.unary(Unary { backend, signal }, req).await;
    }
    if req.method() != http::Method::POST {
        return plain(405, "text/plain", "only POST is allowed");
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !content_type.starts_with("application/x-protobuf") {
        return plain(
            415,
            "text/plain",
            format!("unsupported content type {content_type:?}"),
        );
    }
    let encoding = req
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return plain(400, "text/plain", format!("reading body: {e}")),
    };
    let body = match encoding.as_deref() {
        None | Some("identity") => body,
        enc => match compress::decompress(enc, &body, MAX_BODY as u64) {
            Ok(b) => Bytes::from(b),
            Err(e) => return plain(400, "text/plain", format!("decompressing body: {e}")),
        },
    };
    match backend.export(signal, body).await {
        Ok(()) => plain(200, "application/x-protobuf", Bytes::new()),
        Err(r) => plain(r.http_status, "text/plain", r.message),
    }
}

/// Serves `backend` on `listener` until `shutdown` turns true.
pub async fn serve<B: Backend + ?Sized>(
    listener: TcpListener,
    backend: Arc<B>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let backend = backend.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let backend = backend.clone();
                async move { Ok::<_, Infallible>(handle(backend, req).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http2()
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(16 << 20)
                .max_frame_size(1 << 20)
                .max_concurrent_streams(1024);
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// A plain HTTP/1.1 response of the HTTP-only instruments (Loki and remote-write sinks, the
/// scrape target).
pub fn response(
    status: u16,
    content_type: &str,
    body: impl Into<Bytes>,
) -> http::Response<Full<Bytes>> {
    let mut r = http::Response::new(Full::new(body.into()));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert("content-type", v);
    }
    r
}

/// Serves `handle(state, request)` over HTTP/1.1 and h2c on `listener` until `shutdown`
/// turns true: the accept loop of the HTTP-only instruments.
pub async fn serve_http<S, F, Fut>(
    listener: TcpListener,
    state: Arc<S>,
    handle: F,
    mut shutdown: watch::Receiver<bool>,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, http::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = http::Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let (state, handle) = (state.clone(), handle.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let fut = handle(state.clone(), req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// Binds `addr` (127.0.0.1 expected) and returns the listener and its local address.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding {addr}: {e}"))?;
    let local = l.local_addr()?;
    Ok((l, local))
}
