//! The `otlp_http` push: encode (protobuf bytes as they are, or OTLP/JSON), compress, POST,
//! and map the answer as the Go exporter does (otelcol.md §3.1).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{
    CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};
use pdata::json::{ExportResponse, RpcStatus};
use pdata::{Batch, Signal};
use prost::Message;
use runtime::ConsumeError;
use runtime::exporterhelper::Push;

use super::config::{Config, Encoding, HttpCompression};
use crate::compression;

/// Go reads at most this much of a response body.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

pub(crate) struct HttpPush {
    client: reqwest::Client,
    url: String,
    signal: Signal,
    encoding: Encoding,
    compression: HttpCompression,
    level: Option<i32>,
    headers: HeaderMap,
    id: Arc<str>,
}

impl HttpPush {
    pub(crate) fn new(cfg: &Config, signal: Signal, id: &str) -> Result<HttpPush, String> {
        let url = cfg.signal_url(signal)?;
        let mut b = reqwest::Client::builder()
            .user_agent(format!("ferrotel/{}", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true);
        if !cfg.timeout.0.is_zero() {
            b = b.timeout(cfg.timeout.0);
        }
        if url.starts_with("https://") {
            b = b.tls_backend_preconfigured(cfg.tls.client_config(&[b"h2", b"http/1.1"])?);
        }
        if !cfg.proxy_url.is_empty() {
            b = b
                .proxy(reqwest::Proxy::all(&cfg.proxy_url).map_err(|e| format!("proxy_url: {e}"))?);
        }
        if cfg.disable_keep_alives {
            b = b.pool_max_idle_per_host(0);
        } else if let Some(n) = cfg.max_idle_conns_per_host.or(cfg.max_idle_conns) {
            b = b.pool_max_idle_per_host(n);
        }
        if let Some(t) = cfg.idle_conn_timeout {
            b = b.pool_idle_timeout(if t.0.is_zero() { None } else { Some(t.0) });
        }
        if let Some(t) = cfg.http2_read_idle_timeout.filter(|t| !t.0.is_zero()) {
            b = b.http2_keep_alive_interval(t.0);
        }
        if let Some(t) = cfg.http2_ping_timeout.filter(|t| !t.0.is_zero()) {
            b = b.http2_keep_alive_timeout(t.0);
        }
        let client = b
            .build()
            .map_err(|e| format!("failed to build the HTTP client: {e}"))?;
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|_| format!("headers: invalid value for header {k:?}"))?;
            headers.insert(name, value);
        }
        Ok(HttpPush {
            client,
            url,
            signal,
            encoding: cfg.encoding,
            compression: cfg.compression()?,
            level: cfg.compression_params.level,
            headers,
            id: Arc::from(id),
        })
    }

    fn body(&self, batch: &Batch) -> Result<Bytes, ConsumeError> {
        let raw: Bytes = match self.encoding {
            Encoding::Proto => batch.encoded(),
            Encoding::Json => {
                let req = batch.request().map_err(|e| {
                    ConsumeError::permanent(format!(
                        "failed to decode the batch for JSON encoding: {e}"
                    ))
                })?;
                Bytes::from(pdata::json::encode(&req))
            }
        };
        let Some(codec) = self.compression.codec() else {
            return Ok(raw);
        };
        compression::compress(codec, self.level, &raw).map_err(|e| {
            ConsumeError::permanent(format!("failed to compress the request body: {e}"))
        })
    }
}

#[async_trait]
impl Push for HttpPush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let body = self.body(batch)?;
        let content_type = match self.encoding {
            Encoding::Proto => PROTOBUF,
            Encoding::Json => JSON,
        };
        let mut req = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, content_type);
        if let Some(enc) = self.compression.content_encoding() {
            req = req.header(CONTENT_ENCODING, enc);
        }
        let mut resp = req.body(body).send().await.map_err(|e| {
            ConsumeError::retryable(format!(
                "failed to make an HTTP request: {}",
                error_chain(&e)
            ))
        })?;
        let status = resp.status().as_u16();
        let resp_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = Vec::new();
        while body.len() < MAX_RESPONSE_BODY {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if (200..300).contains(&status) => {
                    return Err(ConsumeError::permanent(format!(
                        "failed to read the response body: {}",
                        error_chain(&e)
                    )));
                }
                Err(_) => break,
            }
        }
        body.truncate(MAX_RESPONSE_BODY);
        if (200..300).contains(&status) {
            return self.handle_success(&resp_type, &body);
        }
        let mut message = format!(
            "error exporting items, request to {} responded with HTTP Status Code {status}",
            self.url
        );
        if let Some(st) = parse_status(&resp_type, &body) {
            let details: Vec<&str> = st.details.iter().map(|d| d.type_url.as_str()).collect();
            message.push_str(&format!(", Message={}, Details={details:?}", st.message));
        }
        match status {
            429 | 503 => Err(match retry_after {
                Some(d) => ConsumeError::throttled(message, d),
                None => ConsumeError::retryable(message),
            }),
            502 | 504 => Err(ConsumeError::retryable(message)),
            _ => Err(ConsumeError::permanent(message)),
        }
    }
}

impl HttpPush {
    /// A 2xx body may carry a partial success; one that cannot be parsed is a permanent error
    /// (Go v0.156+), so data the server accepted is not sent again.
    fn handle_success(&self, content_type: &str, body: &[u8]) -> Result<(), ConsumeError> {
        if body.is_empty() {
            return Ok(());
        }
        let parsed = if content_type.starts_with(PROTOBUF) {
            ExportResponse::from_protobuf(self.signal, body)
        } else if content_type.starts_with(JSON) {
            ExportResponse::from_json(self.signal, body)
        } else {
            return Ok(());
        };
        let parsed = parsed.map_err(|e| {
            ConsumeError::permanent(format!(
                "failed to parse the export response from {}: {e}",
                self.url
            ))
        })?;
        crate::exporters::otlp::log_partial_success(&self.id, &parsed);
        Ok(())
    }
}

fn parse_status(content_type: &str, body: &[u8]) -> Option<RpcStatus> {
    if body.is_empty() {
        return None;
    }
    if content_type.starts_with(PROTOBUF) {
        RpcStatus::decode(body).ok()
    } else if content_type.starts_with(JSON) {
        pdata::json::decode_status_json(body).ok()
    } else {
        None
    }
}

/// `Retry-After`: delay seconds, or an HTTP-date.
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// reqwest's error with its causes (`error sending request: ... connection refused`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}
