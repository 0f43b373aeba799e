//! The `loki` push: translate a batch into one Loki push request per tenant, POST each
//! (protobuf + snappy), and classify the answers as Go's `lokiexporter.sendPushRequest`
//! does: 2xx is success, 4xx other than 429 is permanent, everything else (429, 5xx, no
//! answer) is retryable; `Retry-After` is honoured as the minimum wait.
//!
//! Accounting, decided here (Go drops or re-sends whole batches): records that cannot be
//! converted or have no label are counted as failed and the rest is sent; when some
//! tenants' requests fail permanently and the others are accepted, the failed tenants'
//! records are counted as failed (a partial success) and nothing is sent again.
//! A retryable failure of any tenant retries the batch; the factory splits batches by
//! tenant before the queue so that a retry re-sends only that tenant's records.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use pdata::{Batch, Request};
use runtime::exporterhelper::{Prepared, Push};
use runtime::{ConsumeError, telemetry::Counter};

use super::config::{Config, DefaultLabels};
use super::proto;
use super::translate::{self, TenantRequest};
use crate::compression;
use crate::util::http_client::{self, HttpCompression, error_chain};

/// Go reads at most this much of an error answer, and uses its first line.
const MAX_ERR_MSG_LEN: usize = 1024;

pub(crate) struct LokiPush {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    auth: http_client::ClientAuth,
    compression: HttpCompression,
    level: Option<i32>,
    defaults: DefaultLabels,
    id: Arc<str>,
    missing_labels: Counter,
}

impl LokiPush {
    pub(crate) fn new(cfg: &Config, id: &str, missing_labels: Counter) -> Result<LokiPush, String> {
        Ok(LokiPush {
            client: http_client::build_client(&cfg.client_settings(), &cfg.client.endpoint)?,
            url: cfg.client.endpoint.clone(),
            headers: http_client::header_map(&cfg.client.headers)?,
            auth: http_client::ClientAuth::new(cfg.client.auth.as_ref()),
            compression: cfg.compression()?,
            level: cfg.client.compression_params.level,
            defaults: cfg.default_labels(),
            id: Arc::from(id),
            missing_labels,
        })
    }

    /// One tenant's push body: protobuf, compressed as configured.
    fn body(&self, t: &TenantRequest) -> Result<Bytes, ConsumeError> {
        let body = proto::encode(&t.request).map_err(|e| ConsumeError::permanent(e.to_string()))?;
        match self.compression.codec() {
            None => Ok(body),
            Some(codec) => compression::compress(codec, self.level, &body).map_err(|e| {
                ConsumeError::permanent(format!("failed to compress the request body: {e}"))
            }),
        }
    }

    /// Translates a batch into the push bodies to send, logging and counting the records
    /// that cannot be sent. Fails (permanently) when no record can be sent at all.
    fn build(&self, batch: &Batch) -> Result<LokiRequest, ConsumeError> {
        let req = batch.request().map_err(|e| {
            ConsumeError::permanent(format!("failed to decode the logs batch: {e}"))
        })?;
        let Request::Logs(logs) = &*req else {
            return Err(ConsumeError::permanent("the loki exporter takes logs only"));
        };
        let tenants = translate::logs_to_loki(logs, self.defaults, &now_nanos);
        let mut unsent = 0usize;
        let mut missing = 0usize;
        for t in &tenants {
            missing += t.missing_labels;
            unsent += t.dropped + t.missing_labels;
            if t.dropped > 0 || t.missing_labels > 0 {
                tracing::info!(
                    otelcol.component.id = %self.id,
                    otelcol.component.kind = "exporter",
                    otelcol.signal = "logs",
                    dropped = t.dropped + t.missing_labels,
                    submitted = t.submitted,
                    error = t.first_error.as_deref().unwrap_or("no label left for the record"),
                    "not all log entries were converted to Loki"
                );
            }
        }
        self.missing_labels.add(missing as u64);
        let mut parts = Vec::with_capacity(tenants.len());
        for t in tenants.iter().filter(|t| !t.request.streams.is_empty()) {
            parts.push(Part {
                body: self.body(t)?,
                tenant: t.tenant.clone(),
                submitted: t.submitted,
            });
        }
        if parts.is_empty() {
            return Err(ConsumeError::permanent(
                "failed to transform logs into Loki log streams",
            ));
        }
        Ok(LokiRequest {
            parts,
            unsent,
            total: batch.item_count(),
            client: batch.client_info().cloned(),
        })
    }

    /// Sends every tenant's part and accounts for the outcome (see the module docs).
    async fn send_request(&self, r: &LokiRequest) -> Result<(), ConsumeError> {
        let results =
            futures::future::join_all(r.parts.iter().map(|p| self.send(p, r.client.as_deref())))
                .await;
        let mut errors = Vec::new();
        let mut rejected = r.unsent;
        let mut retry = false;
        for (p, res) in r.parts.iter().zip(results) {
            if let Err(e) = res {
                retry |= e.is_retryable();
                rejected += p.submitted;
                errors.push(e);
            }
        }
        if retry {
            // Retryable wins (ConsumeError::combine): the sender tries again.
            return Err(ConsumeError::combine(errors).expect("at least one error"));
        }
        if rejected == 0 {
            return Ok(());
        }
        if rejected >= r.total && !errors.is_empty() {
            return Err(ConsumeError::combine(errors).expect("at least one error"));
        }
        let message = match ConsumeError::combine(errors) {
            Some(e) => e.message,
            None => format!("{rejected} log records could not be converted to Loki entries"),
        };
        Err(ConsumeError::partial(rejected as u64, message))
    }

    /// Sends one tenant's request.
    async fn send(&self, t: &Part, client: Option<&pdata::ClientInfo>) -> Result<(), ConsumeError> {
        let body = t.body.clone();
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 3);
        self.auth.apply(&mut headers, client)?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if !t.tenant.is_empty() {
            let v = HeaderValue::try_from(t.tenant.as_str()).map_err(|_| {
                ConsumeError::permanent(format!("invalid tenant {:?} for X-Scope-OrgID", t.tenant))
            })?;
            headers.insert("x-scope-orgid", v);
        }
        if let Some(enc) = self.compression.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        // confighttp sets the configured headers last, in its round tripper: they win.
        for (k, v) in &self.headers {
            headers.insert(k.clone(), v.clone());
        }
        let mut resp = self
            .client
            .post(&self.url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                ConsumeError::retryable(format!("Post {:?}: {}", self.url, error_chain(&e)))
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = http_client::retry_after(&resp);
        let (body, _) = http_client::read_body(&mut resp, MAX_ERR_MSG_LEN).await;
        let code = status.as_u16();
        let message = format!("HTTP {code} {:?}: {}", status_text(code), first_line(&body));
        if (400..500).contains(&code) && code != 429 {
            return Err(ConsumeError::permanent(message));
        }
        Err(match retry_after {
            Some(d) => ConsumeError::throttled(message, d),
            None => ConsumeError::retryable(message),
        })
    }
}

/// Go's `http.StatusText` (which differs from the `http` crate's reasons in a few places).
fn status_text(code: u16) -> &'static str {
    match code {
        413 => "Request Entity Too Large",
        416 => "Requested Range Not Satisfiable",
        c => http::StatusCode::from_u16(c)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or(""),
    }
}

/// The first line of an answer, as `bufio.Scanner` gives it.
fn first_line(body: &[u8]) -> String {
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = &body[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl Push for LokiPush {
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let r = self.build(batch)?;
        self.send_request(&r).await
    }

    /// The queue holds the compressed push bodies: a fraction of the decoded batch's memory,
    /// translated once however often they are retried.
    fn prepare(&self, batch: &Batch) -> Option<Result<Prepared, ConsumeError>> {
        Some(self.build(batch).map(|r| Prepared {
            items: batch.item_count(),
            bytes: r.parts.iter().map(|p| p.body.len()).sum(),
            request: Box::new(r),
        }))
    }

    async fn push_prepared(&self, request: &Prepared) -> Result<(), ConsumeError> {
        self.send_request(request.get::<LokiRequest>()?).await
    }
}

/// A batch translated for Loki: one compressed push body per tenant.
struct LokiRequest {
    parts: Vec<Part>,
    /// Records that could not be converted (counted as failed when the rest is sent).
    unsent: usize,
    /// Records of the batch.
    total: usize,
    client: Option<std::sync::Arc<pdata::ClientInfo>>,
}

struct Part {
    tenant: String,
    body: Bytes,
    /// Records in `body`.
    submitted: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_gos() {
        assert_eq!(status_text(400), "Bad Request");
        assert_eq!(status_text(429), "Too Many Requests");
        assert_eq!(status_text(413), "Request Entity Too Large");
        assert_eq!(status_text(599), "");
        assert_eq!(
            first_line(b"entry too far behind\r\nsecond"),
            "entry too far behind"
        );
    }
}
