//! The remote-write push: translate a metrics batch (`promtranslate::remotewrite`), cut it
//! into requests below `max_batch_size_bytes`, and POST them, `num_consumers` at a time, as
//! snappy-compressed protobuf with the remote-write 1.0 headers.
//!
//! As in Go, each request is retried on its own (`retry_on_failure`, inside the push; the
//! exporter helper's retry is off) so that the requests already accepted are not sent again:
//! 5xx, 429 and transport errors are retried, other answers (400 for out-of-order or
//! duplicate samples, 401, 404, ...) are permanent. Any failed request fails the batch, whose
//! points the helper counts in `otelcol_exporter_send_failed_metric_points`.
//! What cannot be translated (delta sums and histograms, scales below -4) is left out, logged
//! at debug level and counted in `otelcol_exporter_prometheusremotewrite_failed_translations`;
//! the rest is sent.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use pdata::{Batch, Request};
use promtranslate::labels::LabelSettings;
use promtranslate::naming::MetricNamer;
use promtranslate::remotewrite::{self, Settings};
use runtime::exporterhelper::{Backoff, Prepared, Push, RetrySettings};
use runtime::{ConsumeError, telemetry::Counter};

use super::config::Config;
use crate::util::http_client::{self, error_chain};

/// Go reads at most this much of an error answer.
const MAX_ERR_BODY: usize = 256;

pub(crate) struct PrwPush {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    auth: http_client::ClientAuth,
    settings: Settings,
    max_batch_bytes: usize,
    concurrency: usize,
    retry: RetrySettings,
    id: Arc<str>,
    pub(crate) failed_translations: Counter,
    pub(crate) translated_series: Counter,
}

impl PrwPush {
    pub(crate) fn new(
        cfg: &Config,
        id: &str,
        failed_translations: Counter,
        translated_series: Counter,
    ) -> Result<PrwPush, String> {
        let settings = Settings {
            namer: MetricNamer::new(&cfg.namespace, cfg.add_metric_suffixes),
            // Go's translator adds no scope labels ("TODO: decide if instrumentation library
            // information should be exported as labels").
            labels: LabelSettings {
                resource_to_telemetry: cfg.resource_to_telemetry_conversion.enabled,
                scope_labels: false,
                ..Default::default()
            }
            .with_fixed(
                cfg.external_labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            target_info: cfg.target_info.enabled,
            export_created_metric: cfg.export_created_metric.enabled,
        };
        Ok(PrwPush {
            client: http_client::build_client(&cfg.client_settings(), &cfg.client.endpoint)?,
            url: cfg.client.endpoint.clone(),
            headers: http_client::header_map(&cfg.client.headers)?,
            auth: http_client::ClientAuth::new(cfg.client.auth.as_ref()),
            settings,
            max_batch_bytes: cfg.max_batch_size_bytes,
            concurrency: cfg.concurrency(),
            retry: cfg.retry_on_failure.clone(),
            id: Arc::from(id),
            failed_translations,
            translated_series,
        })
    }

    /// One POST; the error says whether it may be retried.
    async fn send_once(
        &self,
        body: bytes::Bytes,
        client: Option<&pdata::ClientInfo>,
    ) -> Result<(), ConsumeError> {
        let mut headers = self.auth.headers(&self.headers, client)?;
        // Set after the configured headers: these cannot be overridden.
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            "x-prometheus-remote-write-version",
            HeaderValue::from_static("0.1.0"),
        );
        headers.remove(USER_AGENT);
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
        let (body, _) = http_client::read_body(&mut resp, MAX_ERR_BODY).await;
        let code = status.as_u16();
        // Go's text, `%w` of a nil error included.
        let message = format!(
            "remote write returned HTTP status {} {}; err = %!w(<nil>): {}",
            code,
            status.canonical_reason().unwrap_or(""),
            String::from_utf8_lossy(&body)
        );
        if (500..600).contains(&code) || code == 429 {
            return Err(match retry_after {
                Some(d) => ConsumeError::throttled(message, d),
                None => ConsumeError::retryable(message),
            });
        }
        Err(ConsumeError::permanent(message))
    }

    /// One request with its own retries.
    async fn send(
        &self,
        body: bytes::Bytes,
        client: Option<&pdata::ClientInfo>,
    ) -> Result<(), ConsumeError> {
        let mut backoff = Backoff::new(&self.retry);
        loop {
            let err = match self.send_once(body.clone(), client).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if !err.is_retryable() || !self.retry.enabled {
                return Err(ConsumeError::permanent(err.message));
            }
            let Some(wait) = backoff.next_backoff() else {
                return Err(ConsumeError::permanent(format!(
                    "max elapsed time expired {}",
                    err.message
                )));
            };
            let wait = match err.retry_after {
                Some(d) if d > wait => d,
                _ => wait,
            };
            tracing::debug!(
                otelcol.component.id = %self.id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "metrics",
                error = %err.message,
                interval = ?wait,
                "Exporting failed. Will retry the request after interval."
            );
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[async_trait]
impl Push for PrwPush {
    async fn start(&self, host: &runtime::Host) -> Result<(), String> {
        self.auth.start(host)
    }
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let r = self.build(batch)?;
        self.send_all(&r).await
    }

    /// The queue holds the encoded, compressed requests: translated once, a fraction of the
    /// decoded batch's memory, and the batch freed where it was made.
    fn prepare(&self, batch: &Batch) -> Option<Result<Prepared, ConsumeError>> {
        Some(self.build(batch).map(|r| Prepared {
            items: batch.item_count(),
            bytes: r.bodies.iter().map(|b| b.len()).sum(),
            request: Box::new(r),
        }))
    }

    async fn push_prepared(&self, request: &Prepared) -> Result<(), ConsumeError> {
        self.send_all(request.get::<PrwRequests>()?).await
    }
}

/// A batch translated for remote write: its requests, encoded and snappy-compressed.
struct PrwRequests {
    bodies: Vec<bytes::Bytes>,
    client: Option<Arc<pdata::ClientInfo>>,
}

impl PrwPush {
    /// Translates a batch into the request bodies to send, counting what cannot be
    /// translated.
    fn build(&self, batch: &Batch) -> Result<PrwRequests, ConsumeError> {
        let req = batch.request().map_err(|e| {
            ConsumeError::permanent(format!("failed to decode the metrics batch: {e}"))
        })?;
        let Request::Metrics(metrics) = &*req else {
            return Err(ConsumeError::permanent(
                "the prometheus_remote_write exporter takes metrics only",
            ));
        };
        let t = remotewrite::encode_metrics(metrics, &self.settings);
        if !t.errors.is_empty() {
            self.failed_translations.add(1);
            tracing::debug!(
                otelcol.component.id = %self.id,
                otelcol.component.kind = "exporter",
                otelcol.signal = "metrics",
                error = %t.errors.join("; "),
                translated = t.series.len(),
                "failed to translate metrics, exporting remaining metrics"
            );
        }
        self.translated_series.add(t.series.len() as u64);
        let mut bodies = Vec::new();
        if !t.series.is_empty() {
            for body in remotewrite::encode_batches(&t.series, self.max_batch_bytes)
                .map_err(ConsumeError::permanent)?
            {
                bodies.push(bytes::Bytes::from(body));
            }
        }
        t.series.recycle();
        Ok(PrwRequests {
            bodies,
            client: batch.client_info().cloned(),
        })
    }

    /// Sends every request, `num_consumers` at a time; any failure fails the batch.
    async fn send_all(&self, r: &PrwRequests) -> Result<(), ConsumeError> {
        let client = r.client.as_deref();
        let results: Vec<Result<(), ConsumeError>> = futures::stream::iter(r.bodies.clone())
            .map(|body| self.send(body, client))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let errors: Vec<ConsumeError> = results.into_iter().filter_map(Result::err).collect();
        match ConsumeError::combine(errors) {
            None => Ok(()),
            Some(e) => Err(ConsumeError::permanent(e.message)),
        }
    }
}
