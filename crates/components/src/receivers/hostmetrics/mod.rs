//! `host_metrics` (deprecated alias `hostmetrics`, the name before 2026): scrapes the host's
//! CPU, memory, load, network, file system, disk, paging, process and uptime figures
//! from procfs and sysfs on `collection_interval`, after
//! `initial_delay`, and sends them down its metrics pipelines as one batch per tick.
//!
//! A thin adapter over the [`hostmetrics`] crate, which owns the scrapers; this module owns
//! the schedule, the delivery and the self-metrics (`otelcol_scraper_scraped_metric_points`,
//! `otelcol_scraper_errored_metric_points`, `otelcol_receiver_accepted_metric_points`).

pub mod config;
mod scrape;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use runtime::telemetry::ReceiverMetrics;
use runtime::{Component, Host, Receiver, SharedConsumer, Telemetry};
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use self::scrape::Controller;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "host_metrics"
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
            .ok_or("the host_metrics receiver only produces metrics")?;
        let id = set.id.to_string();
        Ok(Arc::new(HostMetricsReceiver {
            cfg: cfg.clone(),
            id: id.clone(),
            consumer,
            metrics: ReceiverMetrics::new(&set.telemetry, &id, ""),
            telemetry: set.telemetry.clone(),
            running: Mutex::new(None),
        }))
    }
}

/// One receiver instance; its scrape task exists between `start` and `shutdown`.
pub struct HostMetricsReceiver {
    cfg: Config,
    id: String,
    consumer: SharedConsumer,
    metrics: ReceiverMetrics,
    telemetry: Telemetry,
    running: Mutex<Option<(CancellationToken, tokio::task::JoinHandle<()>)>>,
}

#[async_trait]
impl Component for HostMetricsReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let mut controller = Controller::new(
            &self.cfg,
            &self.id,
            self.consumer.clone(),
            self.metrics.clone(),
            &self.telemetry,
        )?;
        controller.start()?;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(controller.run(cancel.clone()));
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((cancel, task));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((cancel, task)) = running {
            cancel.cancel();
            task.await.map_err(|e| format!("scrape task: {e}"))?;
        }
        Ok(())
    }
}

impl Receiver for HostMetricsReceiver {}
