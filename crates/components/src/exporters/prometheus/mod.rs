//! `prometheus` exporter (pull): serves the metrics it receives on `GET /metrics` at
//! `endpoint`, for Prometheus to scrape, as Go's contrib `prometheusexporter`: delta sums
//! and histograms accumulated into cumulative series, series expired after
//! `metric_expiration`, the Go name translation, `target_info` per resource, text 0.0.4 or
//! (with `enable_open_metrics`, when the scraper asks) OpenMetrics with exemplars.
//! The state and formats are `promtranslate`'s; the push runs behind the exporter helper
//! (no queue, no retry: accumulating cannot fail) so the sent/failed self-metrics are Go's.

pub mod config;
mod server;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use pdata::Signal;
use promtranslate::accumulator::Accumulator;
use promtranslate::exposition;
use promtranslate::labels::LabelSettings;
use promtranslate::naming::MetricNamer;
use runtime::exporterhelper::{self, QueueSettings, RetrySettings};
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, parse_config, typed};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "prometheus"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn runtime::Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let mut push = server::PromPush::new(state(cfg)?, cfg.endpoint.clone());
        push.tls = cfg.tls.clone();
        let push = Arc::new(push);
        Ok(exporterhelper::build(
            &set,
            signal,
            &QueueSettings {
                enabled: false,
                ..QueueSettings::default()
            },
            &RetrySettings {
                enabled: false,
                ..RetrySettings::default()
            },
            std::time::Duration::ZERO,
            push,
        ))
    }
}

fn state(cfg: &Config) -> Result<Arc<server::State>, String> {
    let labels = LabelSettings {
        resource_to_telemetry: cfg.resource_to_telemetry_conversion.enabled,
        scope_labels: !cfg.without_scope_info,
        scope_schema_and_attributes: true,
        ..Default::default()
    }
    .with_fixed(
        cfg.const_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(Arc::new(server::State {
        acc: Mutex::new(Accumulator::new()),
        settings: exposition::Settings {
            namer: MetricNamer::new(&cfg.namespace, cfg.with_suffixes()),
            labels,
            send_timestamps: cfg.send_timestamps,
        },
        expiration: cfg.metric_expiration.0,
        open_metrics: cfg.enable_open_metrics,
        response_headers: crate::util::http_client::header_map(&cfg.response_headers)
            .map_err(|e| e.replace("headers:", "response_headers:"))?,
    }))
}
