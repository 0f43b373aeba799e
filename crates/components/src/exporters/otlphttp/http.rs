//! The `otlp_http` push: encode (protobuf bytes as they are, or OTLP/JSON), compress, POST,
//! and map the answer as the Go exporter does (otelcol.md §3.1).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};
use pdata::json::{ExportResponse, RpcStatus};
use pdata::{Batch, Signal};
use prost::Message;
use runtime::ConsumeError;
use runtime::exporterhelper::Push;

use super::config::{Config, Encoding, HttpCompression};
use crate::compression;
use crate::util::http_client::{self, error_chain};

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
    auth: http_client::ClientAuth,
    id: Arc<str>,
}

impl HttpPush {
    pub(crate) fn new(cfg: &Config, signal: Signal, id: &str) -> Result<HttpPush, String> {
        let url = cfg.signal_url(signal)?;
        let client = http_client::build_client(&cfg.client_settings(), &url)?;
        let headers = http_client::header_map(&cfg.client.headers)?;
        Ok(HttpPush {
            client,
            url,
            signal,
            encoding: cfg.encoding,
            compression: cfg.compression()?,
            level: cfg.client.compression_params.level,
            headers,
            auth: http_client::ClientAuth::new(cfg.client.auth.as_ref()),
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
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let body = self.body(batch)?;
        let content_type = match self.encoding {
            Encoding::Proto => PROTOBUF,
            Encoding::Json => JSON,
        };
        let mut req = self
            .client
            .post(&self.url)
            .headers(
                self.auth
                    .headers(&self.headers, batch.client_info().map(|c| &**c))?,
            )
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
        let retry_after = http_client::retry_after(&resp);
        let (body, err) = http_client::read_body(&mut resp, MAX_RESPONSE_BODY).await;
        if let Some(e) = err
            && (200..300).contains(&status)
        {
            return Err(ConsumeError::permanent(format!(
                "failed to read the response body: {}",
                error_chain(&e)
            )));
        }
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
