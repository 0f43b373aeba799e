//! `prometheus` receiver: scrapes Prometheus targets as the Go collector's
//! `receiver/prometheusreceiver` does (the embedded `config:` with `scrape_configs`,
//! `static_configs` and `file_sd_configs`, relabeling, limits) and turns each scrape into
//! OTLP metrics with the Go translation (types, start times, staleness, `up` and the other
//! scrape metrics, one resource per target).
//!
//! A thin adapter: [`promscrape`] owns the config, the parsers, relabeling and the
//! translation; this module owns the scrape loops ([`scraper`]): one task per job that
//! discovers targets, one task per target that scrapes on its interval over the shared HTTP
//! client and hands the result down the metrics pipelines.

pub mod config;
mod scraper;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use runtime::telemetry::ReceiverMetrics;
use runtime::{Component, Host, Receiver};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

/// The Go gate that turns off start-time adjustment (stable in Go since v0.142; here the
/// adjustment stays on unless the gate is given, see `promscrape::scrape`).
pub const REMOVE_START_TIME_ADJUSTMENT: &str =
    "receiver.prometheusreceiver.RemoveStartTimeAdjustment";

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "prometheus"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        Ok(Box::new(Config::parse(value, path)?))
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let cfg: &Config = typed(cfg);
        let consumer = outputs
            .metrics
            .clone()
            .ok_or("the prometheus receiver only produces metrics")?;
        let id = set.id.to_string();
        let remove_adjustment = runtime::featuregate::enabled(REMOVE_START_TIME_ADJUSTMENT, false);
        let settings = promscrape::Settings {
            external_labels: cfg.prometheus.global.external_labels.clone(),
            scope_version: env!("CARGO_PKG_VERSION").to_string(),
            adjust_start_times: !remove_adjustment,
            trim_suffixes: cfg.trim_metric_suffixes,
            extra_scrape_metrics: cfg.report_extra_scrape_metrics,
        };
        Ok(Arc::new(PrometheusReceiver {
            cfg: cfg.clone(),
            settings: Arc::new(settings),
            id,
            consumer,
            metrics: ReceiverMetrics::new(&set.telemetry, &set.id.to_string(), "http"),
            running: Mutex::new(None),
        }))
    }
}

/// One receiver instance; its tasks exist between `start` and `shutdown`.
pub struct PrometheusReceiver {
    cfg: Config,
    settings: Arc<promscrape::Settings>,
    id: String,
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    running: Mutex<Option<(CancellationToken, Vec<JoinHandle<()>>)>>,
}

#[async_trait]
impl Component for PrometheusReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();
        for sc in &self.cfg.prometheus.scrape_configs {
            let job = scraper::Job::new(
                Arc::new(sc.clone()),
                self.settings.clone(),
                scraper::Sink {
                    consumer: self.consumer.clone(),
                    metrics: self.metrics.clone(),
                    receiver: Arc::from(self.id.as_str()),
                },
            )?;
            tasks.push(tokio::spawn(job.run(cancel.clone())));
        }
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((cancel, tasks));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some((cancel, tasks)) = running else {
            return Ok(());
        };
        cancel.cancel();
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    }
}

impl Receiver for PrometheusReceiver {}
