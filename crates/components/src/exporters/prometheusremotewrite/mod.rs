//! `prometheus_remote_write` (older name `prometheusremotewrite`): sends metrics to a
//! Prometheus remote-write 1.0 endpoint as Go's contrib `prometheusremotewriteexporter`
//! does, through the exporter helper's queue (`remote_write_queue`) with per-request
//! retries in the push. The translation is `promtranslate`'s.

pub mod config;
mod push;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::exporterhelper::{self, RetrySettings};
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, typed};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "prometheus_remote_write"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        crate::util::http_client::parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn runtime::Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let id = set.id.to_string();
        let labels = [("exporter", id.as_str())];
        let failed = set.telemetry.counter(
            "otelcol_exporter_prometheusremotewrite_failed_translations",
            "Number of translation operations that failed to translate metrics from Otel to Prometheus",
            &labels,
        );
        let translated = set.telemetry.counter(
            "otelcol_exporter_prometheusremotewrite_translated_time_series",
            "Number of Prometheus time series that were translated from OTel metrics",
            &labels,
        );
        let push = push::PrwPush::new(cfg, &id, failed, translated)?;
        // The push retries each request itself; the helper must not send the batch again.
        let no_retry = RetrySettings {
            enabled: false,
            ..RetrySettings::default()
        };
        Ok(exporterhelper::build(
            &set,
            signal,
            &cfg.queue_settings(),
            &no_retry,
            std::time::Duration::ZERO,
            Arc::new(push),
        ))
    }
}
