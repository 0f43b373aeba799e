//! The `zipkin` push, as Go's `zipkinExporter.pushTraces`: translate (a failure is
//! permanent), serialise as JSON or protobuf, POST; a transport error or a status outside
//! 2xx is retryable (`failed the request with status code N`), honouring `Retry-After`.

use async_trait::async_trait;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use pdata::{Batch, Request};
use runtime::ConsumeError;
use runtime::exporterhelper::Push;

use super::config::Config;
use crate::compression;
use crate::util::http_client::{self, HttpCompression, error_chain};

pub(crate) struct ZipkinPush {
    client: reqwest::Client,
    url: String,
    format: zipkin::Format,
    default_service_name: String,
    headers: HeaderMap,
    auth: http_client::ClientAuth,
    compression: HttpCompression,
    level: Option<i32>,
}

impl ZipkinPush {
    pub(crate) fn new(cfg: &Config) -> Result<ZipkinPush, String> {
        Ok(ZipkinPush {
            client: http_client::build_client(&cfg.client_settings(), &cfg.client.endpoint)?,
            url: cfg.client.endpoint.clone(),
            format: cfg.format()?,
            default_service_name: cfg.default_service_name.clone(),
            headers: http_client::header_map(&cfg.client.headers)?,
            auth: http_client::ClientAuth::new(cfg.client.auth.as_ref()),
            compression: cfg.compression()?,
            level: cfg.client.compression_params.level,
        })
    }
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("failed to push trace data via Zipkin exporter: {e}")
}

#[async_trait]
impl Push for ZipkinPush {
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let req = batch
            .request()
            .map_err(|e| ConsumeError::permanent(failed(e)))?;
        let Request::Traces(traces) = &*req else {
            return Err(ConsumeError::permanent(
                "the zipkin exporter takes traces only",
            ));
        };
        let body = zipkin::encode(self.format, traces, &self.default_service_name)
            .map_err(|e| ConsumeError::permanent(failed(e)))?;
        let body = match self.compression.codec() {
            None => bytes::Bytes::from(body),
            Some(codec) => compression::compress(codec, self.level, &body)
                .map_err(|e| ConsumeError::permanent(failed(e)))?,
        };
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 2);
        self.auth
            .apply(&mut headers, batch.client_info().map(|c| &**c))?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(self.format.content_type()),
        );
        if let Some(enc) = self.compression.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        for (k, v) in &self.headers {
            headers.insert(k.clone(), v.clone());
        }
        let resp = self
            .client
            .post(&self.url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| ConsumeError::retryable(failed(error_chain(&e))))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("failed the request with status code {}", status.as_u16());
        Err(match http_client::retry_after(&resp) {
            Some(d) => ConsumeError::throttled(message, d),
            None => ConsumeError::retryable(message),
        })
    }
}
