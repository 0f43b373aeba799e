//! OTLP/HTTP: `POST` protobuf or JSON to the three URL paths, with Go confighttp's
//! decompression, body limit, CORS and response headers, served on hyper.
//!
//! Admission ([`runtime::admission`]): under memory pressure a request is answered 503 before
//! its body is read; otherwise its bytes are reserved against the budget of bytes being read
//! (Content-Length up front, else frame by frame) and a request over it is answered 503.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use pdata::{Batch, Signal};
use prost::Message;
use runtime::admission::Reservation;

use super::config::HttpConfig;
use super::pipeline::{PartialSuccess, Pipelines, RefusalReason, export_response};
use crate::compression::{self, Codec, DecompressError};
use crate::otlp_grpc_codec::{RpcStatus, rpc_status, rpc_status_json};
use crate::processors::memory_limiter::REFUSED_MESSAGE;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The request body encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFormat {
    Protobuf,
    Json,
}

impl BodyFormat {
    fn from_content_type(value: Option<&HeaderValue>) -> Option<BodyFormat> {
        let value = value?.to_str().ok()?;
        let media_type = value.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case(PROTOBUF) {
            Some(BodyFormat::Protobuf)
        } else if media_type.eq_ignore_ascii_case(JSON) {
            Some(BodyFormat::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            BodyFormat::Protobuf => PROTOBUF,
            BodyFormat::Json => JSON,
        }
    }
}

/// Everything a request needs, built once from the config.
pub struct HttpService {
    pipelines: Arc<Pipelines>,
    paths: [(String, Signal); 4],
    max_body_size: usize,
    /// Lower-case `Content-Encoding` values allowed by `compression_algorithms`.
    allowed_encodings: Vec<String>,
    cors: Option<Cors>,
    response_headers: HeaderMap,
}

impl HttpService {
    /// The pipelines of this transport (to set its authenticator at start).
    pub fn pipelines(&self) -> &Arc<Pipelines> {
        &self.pipelines
    }

    pub fn new(cfg: &HttpConfig, pipelines: Arc<Pipelines>) -> Result<Self, String> {
        let mut response_headers = HeaderMap::new();
        for (k, v) in &cfg.response_headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| format!("response_headers: invalid header name {k:?}: {e}"))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|e| format!("response_headers: invalid value for {k:?}: {e}"))?;
            response_headers.insert(name, value);
        }
        Ok(HttpService {
            pipelines,
            paths: [
                (HttpConfig::sanitized(&cfg.traces_url_path), Signal::Traces),
                (
                    HttpConfig::sanitized(&cfg.metrics_url_path),
                    Signal::Metrics,
                ),
                (HttpConfig::sanitized(&cfg.logs_url_path), Signal::Logs),
                // Go's fixed path for the development profiles signal (no setting for it).
                ("/v1development/profiles".to_string(), Signal::Profiles),
            ],
            max_body_size: cfg.max_body_size(),
            allowed_encodings: cfg
                .compression_algorithms
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            cors: cfg
                .cors
                .as_ref()
                .filter(|c| !c.allowed_origins.is_empty())
                .map(Cors::new),
            response_headers,
        })
    }

    /// Answers one request. Never fails: every problem is a response.
    pub async fn handle<B>(
        self: Arc<Self>,
        req: Request<B>,
    ) -> Result<Response<Full<Bytes>>, Infallible>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = match &self.cors {
            Some(cors) if cors.is_preflight(&req) => cors.preflight(req.headers()),
            Some(cors) => {
                let mut response = self.route(req).await;
                cors.decorate(origin.as_ref(), response.headers_mut());
                response
            }
            None => self.route(req).await,
        };
        let headers = response.headers_mut();
        for (k, v) in &self.response_headers {
            headers.insert(k.clone(), v.clone());
        }
        Ok(response)
    }

    async fn route<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        // Go's auth interceptor runs before decompression and routing, on the headers only.
        let path_signal = self
            .paths
            .iter()
            .find(|(p, _)| p == req.uri().path())
            .map(|(_, s)| *s);
        let client = match self
            .pipelines
            .client_info(req.headers(), req.uri().query(), path_signal)
        {
            Ok(c) => c,
            Err(e) => return unauthenticated(e.0, req).await,
        };
        // Go's decompression middleware runs before routing: an unknown encoding is a 400
        // whatever the path or method.
        let encoding_header = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
            .unwrap_or_default();
        let encoding =
            content_codec(&encoding_header).filter(|_| self.encoding_allowed(&encoding_header));
        let Some(encoding) = encoding else {
            self.pipelines
                .refuse(RefusalReason::UnsupportedEncoding, None, 0);
            return text(
                StatusCode::BAD_REQUEST,
                format!("unsupported Content-Encoding: {encoding_header}\n"),
            );
        };

        let signal = self
            .paths
            .iter()
            .find(|(p, _)| p == req.uri().path())
            .map(|(_, s)| *s);
        let Some(signal) = signal.filter(|s| self.pipelines.consumer(*s).is_some()) else {
            self.pipelines.refuse(RefusalReason::NotFound, None, 0);
            return text(StatusCode::NOT_FOUND, "404 page not found\n".into());
        };
        if req.method() != Method::POST {
            self.pipelines
                .refuse(RefusalReason::MethodNotAllowed, Some(signal), 0);
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 method not allowed, supported: [POST]".into(),
            );
        }
        let Some(format) = BodyFormat::from_content_type(req.headers().get(header::CONTENT_TYPE))
        else {
            self.pipelines
                .refuse(RefusalReason::UnsupportedMediaType, Some(signal), 0);
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "415 unsupported media type, supported: [application/json, application/x-protobuf]"
                    .into(),
            );
        };

        if self.pipelines.under_memory_pressure() {
            return self.refuse_for_memory(format, signal, req).await;
        }
        let declared_len = content_length(req.headers());
        let (body, _reservation) = match self
            .read_body(req.into_body(), encoding, declared_len)
            .await
        {
            Ok(body) => body,
            Err(BodyError::OverBudget) => {
                self.pipelines
                    .refuse(RefusalReason::MemoryLimit, Some(signal), 0);
                return memory_refusal(format);
            }
            Err(BodyError::TooLarge(message)) => {
                self.pipelines
                    .refuse(RefusalReason::TooLarge, Some(signal), 0);
                return status_response(
                    format,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &rpc_status(3, message, None),
                );
            }
            Err(BodyError::Unreadable(message)) => {
                self.pipelines
                    .refuse(RefusalReason::Malformed, Some(signal), 0);
                return status_response(
                    format,
                    StatusCode::BAD_REQUEST,
                    &rpc_status(3, message, None),
                );
            }
        };
        if self.pipelines.under_memory_pressure() {
            // The limiter began refusing while this body was read: refuse before decoding
            // (the limiter would refuse after). Items not counted.
            self.pipelines
                .refuse(RefusalReason::MemoryLimit, Some(signal), 0);
            return memory_refusal(format);
        }
        let batch = match format {
            BodyFormat::Protobuf => Batch::from_encoded(signal, Bytes::from(body)),
            BodyFormat::Json => pdata::json::decode(signal, &body).map(Batch::from_request),
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                self.pipelines
                    .refuse(RefusalReason::Malformed, Some(signal), 0);
                let message = format!("invalid {signal} export request: {e}");
                return status_response(
                    format,
                    StatusCode::BAD_REQUEST,
                    &rpc_status(3, message, None),
                );
            }
        };
        let batch = batch.with_client_info(client);
        let Some(consumer) = self.pipelines.consumer(signal) else {
            unreachable!("routing only picks signals with a consumer")
        };
        match self.pipelines.export(consumer, batch).await {
            Ok(partial) => success(format, signal, partial.as_ref()),
            Err(e) => {
                let status = StatusCode::from_u16(e.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = status_response(
                    format,
                    status,
                    &rpc_status(e.grpc_status_code(), e.message.clone(), e.retry_after),
                );
                if let Some(delay) = e.retry_after
                    && matches!(
                        status,
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    )
                {
                    // Whole seconds, rounded up so that a sub-second delay is not "retry now".
                    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }

    fn encoding_allowed(&self, header_value: &str) -> bool {
        let v = header_value.to_ascii_lowercase();
        // `identity` is the explicit spelling of "no encoding".
        let v = if v == "identity" { String::new() } else { v };
        self.allowed_encodings.contains(&v)
    }

    /// Refuses a request under memory pressure without reading its body (the items are
    /// unknown): 503 with the memory_limiter's message in the request's encoding, as Go
    /// answers that refusal. A small body is read and thrown away first, as Go's net/http
    /// does after a handler, so that the connection stays usable: hyper alone would close it
    /// under a client still sending, which can reset the connection before the client has
    /// read the 503.
    async fn refuse_for_memory<B>(
        &self,
        format: BodyFormat,
        signal: Signal,
        req: Request<B>,
    ) -> Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
    {
        self.pipelines
            .refuse(RefusalReason::MemoryLimit, Some(signal), 0);
        drain_small(req).await;
        memory_refusal(format)
    }

    /// Reads the whole body, then decompresses it, never holding more than the limit
    /// (plus framing slack for the compressed form). The bytes are reserved against the
    /// admission budget before they are read (all of `declared_len` at once, else frame by
    /// frame); the reservation returned is held until the request is answered.
    async fn read_body<B>(
        &self,
        body: B,
        encoding: Option<Codec>,
        declared_len: Option<u64>,
    ) -> Result<(Vec<u8>, Reservation), BodyError>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Display,
    {
        let limit = self.max_body_size;
        let too_large = || {
            BodyError::TooLarge(format!(
                "request body too large: exceeds max_request_body_size of {limit} bytes"
            ))
        };
        // Compressed data can be a little larger than what it decodes to.
        let raw_limit = match encoding {
            None => limit,
            Some(_) => limit.saturating_add(limit / 8).saturating_add(64 * 1024),
        };
        let admission = self.pipelines.admission();
        let declared = declared_len.map(|n| n.min(raw_limit as u64));
        let mut reservation = admission
            .try_reserve(declared.unwrap_or(0))
            .ok_or(BodyError::OverBudget)?;
        let mut raw = Vec::new();
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| BodyError::Unreadable(format!("failed to read request body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if raw.len() + data.len() > raw_limit {
                    return Err(too_large());
                }
                let unreserved = (raw.len() + data.len()) as u64;
                if let Some(more) = unreserved.checked_sub(reservation.bytes())
                    && more > 0
                    && !reservation.try_grow(more)
                {
                    return Err(BodyError::OverBudget);
                }
                raw.extend_from_slice(&data);
            }
        }
        match decode_body(encoding, raw, limit) {
            Ok(body) => {
                reservation.grow_to(body.len() as u64);
                Ok((body, reservation))
            }
            Err(DecompressError::TooLarge { .. }) => Err(too_large()),
            Err(e) => Err(BodyError::Unreadable(e.to_string())),
        }
    }
}

/// A `Content-Encoding` value as the codec it names: `Some(None)` for identity (no header, or
/// `identity`), `None` for an encoding this receiver cannot read (Go confighttp's set is
/// compression.rs's: gzip, zstd, zlib/deflate, snappy, x-snappy-framed, lz4).
pub(super) fn content_codec(value: &str) -> Option<Option<Codec>> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("identity") {
        Some(None)
    } else {
        Codec::parse(value).map(Some)
    }
}

/// Decodes a request body per its `Content-Encoding` (`None`: identity) into at most `limit`
/// bytes; a body that inflates past the limit is refused without allocating more than it.
pub(super) fn decode_body(
    codec: Option<Codec>,
    body: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    match codec {
        None if body.len() > limit => Err(DecompressError::TooLarge { limit }),
        None => Ok(body),
        Some(codec) => compression::decompress(codec, &body, limit),
    }
}

enum BodyError {
    TooLarge(String),
    Unreadable(String),
    /// Reading it would exceed the admission budget of bytes being read.
    OverBudget,
}

/// How much of an unread body is read and thrown away to keep the connection usable after
/// a refusal: Go net/http's `maxPostHandlerReadBytes`.
const DRAIN_LIMIT: u64 = 256 * 1024;

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// 503 with `data refused due to high memory usage` (google.rpc.Status code 14,
/// UNAVAILABLE) in the request's encoding; retryable, without Retry-After, as Go.
fn memory_refusal(format: BodyFormat) -> Response<Full<Bytes>> {
    status_response(
        format,
        StatusCode::SERVICE_UNAVAILABLE,
        &rpc_status(14, REFUSED_MESSAGE.to_string(), None),
    )
}

/// Reads and throws away a small body after the request was refused, as Go's net/http
/// does after a handler, so that the connection stays usable: hyper alone would close it
/// under a client still sending, which can reset the connection before the client has read
/// the refusal. A large or `Expect: 100-continue` body is never read.
async fn drain_small<B>(req: Request<B>)
where
    B: http_body::Body<Data = Bytes>,
{
    let expects_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let small = content_length(req.headers()).is_none_or(|n| n <= DRAIN_LIMIT);
    if small && !expects_continue {
        let mut body = std::pin::pin!(req.into_body());
        let mut drained = 0u64;
        while drained <= DRAIN_LIMIT
            && let Some(Ok(frame)) = body.frame().await
        {
            drained += frame.data_ref().map_or(0, |d| d.len() as u64);
        }
    }
}

/// 401 for a request the authenticator refused (Go's otlp receiver error handler): a
/// `google.rpc.Status` with UNAUTHENTICATED in the request's encoding, else plain text.
async fn unauthenticated<B>(message: String, req: Request<B>) -> Response<Full<Bytes>>
where
    B: http_body::Body<Data = Bytes>,
{
    let format = BodyFormat::from_content_type(req.headers().get(header::CONTENT_TYPE));
    drain_small(req).await;
    match format {
        Some(format) => status_response(
            format,
            StatusCode::UNAUTHORIZED,
            &rpc_status(16, message, None),
        ),
        None => text(StatusCode::UNAUTHORIZED, message),
    }
}

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

fn with_body(format: BodyFormat, status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}

fn status_response(
    format: BodyFormat,
    status: StatusCode,
    rpc: &RpcStatus,
) -> Response<Full<Bytes>> {
    let body = match format {
        BodyFormat::Protobuf => rpc.encode_to_vec(),
        BodyFormat::Json => rpc_status_json(rpc),
    };
    with_body(format, status, body)
}

fn success(
    format: BodyFormat,
    signal: Signal,
    partial: Option<&PartialSuccess>,
) -> Response<Full<Bytes>> {
    let response = export_response(signal, partial);
    let body = match format {
        BodyFormat::Protobuf => response.to_protobuf(),
        BodyFormat::Json => response.to_json(),
    };
    with_body(format, StatusCode::OK, body)
}

/// CORS as Go confighttp configures rs/cors: credentials allowed, methods GET/POST/HEAD,
/// preflight answered with 204 whether or not it is allowed (a refused preflight simply has no
/// `Access-Control-Allow-*` headers).
struct Cors {
    origins: Vec<OriginPattern>,
    /// Lower-case; `None` means any header (`*`).
    allowed_headers: Option<Vec<String>>,
    exposed_headers: Option<HeaderValue>,
    max_age: u64,
}

enum OriginPattern {
    Any,
    Exact(String),
    Wildcard { prefix: String, suffix: String },
}

impl OriginPattern {
    fn parse(p: &str) -> OriginPattern {
        let p = p.to_ascii_lowercase();
        if p == "*" {
            return OriginPattern::Any;
        }
        match p.split_once('*') {
            Some((prefix, suffix)) => OriginPattern::Wildcard {
                prefix: prefix.into(),
                suffix: suffix.into(),
            },
            None => OriginPattern::Exact(p),
        }
    }

    fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Any => true,
            OriginPattern::Exact(o) => o == origin,
            OriginPattern::Wildcard { prefix, suffix } => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            }
        }
    }
}

impl Cors {
    fn new(cfg: &super::config::CorsConfig) -> Cors {
        let allowed_headers = if cfg.allowed_headers.iter().any(|h| h == "*") {
            None
        } else if cfg.allowed_headers.is_empty() {
            Some(
                ["origin", "accept", "content-type", "x-requested-with"]
                    .map(String::from)
                    .to_vec(),
            )
        } else {
            let mut h: Vec<String> = cfg
                .allowed_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect();
            h.push("origin".into());
            Some(h)
        };
        Cors {
            origins: cfg
                .allowed_origins
                .iter()
                .map(|o| OriginPattern::parse(o))
                .collect(),
            allowed_headers,
            exposed_headers: (!cfg.exposed_headers.is_empty())
                .then(|| HeaderValue::try_from(cfg.exposed_headers.join(", ")).ok())
                .flatten(),
            max_age: cfg.max_age,
        }
    }

    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        self.origins.iter().any(|p| p.matches(&origin))
    }

    fn is_preflight<B>(&self, req: &Request<B>) -> bool {
        req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    fn preflight(&self, h: &HeaderMap) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        let out = r.headers_mut();
        out.append(header::VARY, HeaderValue::from_static("Origin"));
        out.append(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Method"),
        );
        out.append(
            header::VARY,
            HeaderValue::from_static("Access-Control-Request-Headers"),
        );
        let Some(origin) = h.get(header::ORIGIN).filter(|o| self.origin_allowed(o)) else {
            return r;
        };
        let method = h
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok())
            .unwrap_or("")
            .to_ascii_uppercase();
        if !matches!(method.as_str(), "GET" | "POST" | "HEAD" | "OPTIONS") {
            return r;
        }
        let requested: Vec<String> = h
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(allowed) = &self.allowed_headers
            && !requested.iter().all(|r| allowed.contains(r))
        {
            return r;
        }
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if let Ok(m) = HeaderValue::try_from(method) {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
        }
        if !requested.is_empty()
            && let Ok(v) = HeaderValue::try_from(requested.join(", "))
        {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if self.max_age > 0 {
            out.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(self.max_age),
            );
        }
        r
    }

    /// Headers of an actual (non-preflight) cross-origin response.
    fn decorate(&self, origin: Option<&HeaderValue>, out: &mut HeaderMap) {
        out.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = origin.filter(|o| self.origin_allowed(o)) else {
            return;
        };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if let Some(exposed) = &self.exposed_headers {
            out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed.clone());
        }
    }
}
