//! The Zipkin HTTP endpoint, as Go's `zipkinReceiver.ServeHTTP`: any path holding
//! `api/v1/spans` is v1 (Thrift with `Content-Type: application/x-thrift`, else JSON), any
//! other v2 (protobuf with `Content-Type:
//! application/x-protobuf`, else JSON); bodies are decompressed per `Content-Encoding`
//! (confighttp's set: gzip, zstd, zlib/deflate, snappy, lz4). Answers: 202 accepted, 400 for
//! a body that does not decode (with the reason), 500 `"Internal Server Error"` when the
//! pipeline refuses permanently, 503 when it refuses for now (so that clients retry; Go
//! answers 500 for both), 503 before reading a body while a memory_limiter refuses or
//! when reading it would exceed the admission budget of bytes being read.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use pdata::{Batch, Signal};
use runtime::SharedConsumer;
use runtime::admission::{Admission, Reservation};
use runtime::telemetry::ReceiverMetrics;

use super::config::Config;
use crate::compression::{self, Codec, DecompressError};
use crate::util::server_auth::ServerAuth;

/// Go's transports, the `transport` label of the receiver's self-metrics.
const TRANSPORTS: [&str; 4] = [
    "http_v1_json",
    "http_v2_json",
    "http_v2_proto",
    "http_v1_thrift",
];

pub struct ZipkinService {
    consumer: SharedConsumer,
    parse_string_tags: bool,
    max_body_size: usize,
    allowed_encodings: Vec<String>,
    response_headers: HeaderMap,
    metrics: [ReceiverMetrics; 4],
    admission: Admission,
    /// `auth` and `include_metadata`.
    pub(super) auth: ServerAuth,
    unauthenticated: runtime::telemetry::Counter,
}

use crate::util::time::now_unix_nanos as now_nanos;

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

impl ZipkinService {
    pub fn new(
        cfg: &Config,
        consumer: SharedConsumer,
        telemetry: &runtime::Telemetry,
        id: &str,
        admission: Admission,
    ) -> Result<ZipkinService, String> {
        let mut response_headers = HeaderMap::new();
        for (k, v) in &cfg.response_headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| format!("response_headers: invalid header name {k:?}: {e}"))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|e| format!("response_headers: invalid value for {k:?}: {e}"))?;
            response_headers.insert(name, value);
        }
        Ok(ZipkinService {
            consumer,
            parse_string_tags: cfg.parse_string_tags,
            max_body_size: cfg.max_body_size(),
            allowed_encodings: cfg
                .compression_algorithms
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            response_headers,
            metrics: TRANSPORTS.map(|t| ReceiverMetrics::new(telemetry, id, t)),
            admission,
            auth: ServerAuth::new(
                cfg.auth.as_ref().map(|a| a.authenticator.as_str()),
                cfg.auth
                    .as_ref()
                    .map(|a| a.request_params.clone())
                    .unwrap_or_default(),
                cfg.include_metadata,
            ),
            unauthenticated: telemetry.counter(
                crate::receivers::otlp::pipeline::REFUSED_REQUESTS,
                "Number of requests the receiver refused, by reason (ferrotel).",
                &[
                    ("reason", "unauthenticated"),
                    ("receiver", id),
                    ("transport", "http"),
                ],
            ),
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
        // Go's confighttp auth runs first, on the headers only: 401 with the reason.
        let client = match self.auth.check(req.headers(), req.uri().query()) {
            Ok(c) => c,
            Err(e) => {
                self.unauthenticated.add(1);
                return text(StatusCode::UNAUTHORIZED, format!("{e}\n"));
            }
        };
        let v1 = req.uri().path().contains("api/v1/spans");
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let transport = match (v1, content_type.as_str()) {
            (true, "application/x-thrift") => 3,
            (true, _) => 0,
            (false, "application/x-protobuf") => 2,
            _ => 1,
        };
        let codec = match crate::compression::request_codec(req.headers(), &self.allowed_encodings)
        {
            Ok(c) => c,
            Err(m) => return text(StatusCode::BAD_REQUEST, m),
        };
        if self.admission.under_pressure() {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{}\n", crate::processors::memory_limiter::REFUSED_MESSAGE),
            );
        }
        let debug = req
            .headers()
            .get("x-b3-flags")
            .is_some_and(|v| v.as_bytes() == b"1");
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // The reservation is held until the request is answered.
        let (body, _reservation) = match self.read_body(req.into_body(), codec, declared).await {
            Ok(b) => b,
            Err((status, m)) => return text(status, m),
        };
        let decoded = if v1 && content_type == "application/x-thrift" {
            zipkin::thrift::decode(&body)
        } else if v1 {
            zipkin::v1::decode(&body, self.parse_string_tags, now_nanos())
        } else {
            let format = if transport == 2 {
                zipkin::Format::Proto
            } else {
                zipkin::Format::Json
            };
            zipkin::decode_v2(format, &body, debug, self.parse_string_tags)
        };
        let traces = match decoded {
            Ok(t) => t,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let batch = Batch::from_request(pdata::Request::Traces(traces)).with_client_info(client);
        let n = batch.item_count();
        match self.consumer.consume(batch).await {
            Ok(()) => {
                self.metrics[transport].accepted(Signal::Traces, n);
                let mut r = Response::new(Full::new(Bytes::new()));
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            Err(e) => {
                self.metrics[transport].refused(Signal::Traces, n);
                let status = if e.is_retryable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                let mut r =
                    Response::new(Full::new(Bytes::from_static(b"\"Internal Server Error\"")));
                *r.status_mut() = status;
                r
            }
        }
    }

    /// Reads and decompresses the body within `max_request_body_size`, its bytes reserved
    /// against the admission budget shared with the other receivers (as the otlp receiver
    /// does): over the budget, 503.
    async fn read_body<B>(
        &self,
        body: B,
        codec: Option<Codec>,
        declared: Option<u64>,
    ) -> Result<(Vec<u8>, Reservation), (StatusCode, String)>
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
        let raw_limit = match codec {
            None => limit,
            Some(_) => limit.saturating_add(limit / 8).saturating_add(64 * 1024),
        };
        let over_budget = || {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{}\n", crate::processors::memory_limiter::REFUSED_MESSAGE),
            )
        };
        let mut reservation = self
            .admission
            .try_reserve(declared.map_or(0, |n| n.min(raw_limit as u64)))
            .ok_or_else(over_budget)?;
        let mut raw = Vec::new();
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("failed to read request body: {e}\n"),
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
        let body = match codec {
            None => raw,
            Some(c) => compression::decompress(c, &raw, limit).map_err(|e| match e {
                DecompressError::TooLarge { .. } => too_large(),
                other => (StatusCode::BAD_REQUEST, format!("{other}\n")),
            })?,
        };
        reservation.grow_to(body.len() as u64);
        Ok((body, reservation))
    }
}
