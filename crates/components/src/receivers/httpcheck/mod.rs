//! `http_check` (deprecated alias `httpcheck`): checks HTTP endpoints on
//! `collection_interval` and reports `httpcheck.status`, `httpcheck.duration` and
//! `httpcheck.error` as Go's contrib `httpcheckreceiver` does. The requests go through the
//! shared HTTP client ([`crate::util::http_client`]), so `tls`, `headers`, `proxy_url` and
//! `timeout` mean what they mean for the HTTP exporters.

pub mod config;
mod scraper;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use runtime::telemetry::{Counter, ReceiverMetrics};
use runtime::{Component, Host, Receiver};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use self::scraper::Check;
use crate::util::time::now_unix_nanos;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Alpha)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "http_check"
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
            .ok_or("the http_check receiver only produces metrics")?;
        let id = set.id.to_string();
        let labels = [("receiver", id.as_str()), ("scraper", "http_check")];
        Ok(Arc::new(HttpCheckReceiver {
            cfg: cfg.clone(),
            consumer,
            metrics: ReceiverMetrics::new(&set.telemetry, &id, ""),
            scraped: set.telemetry.counter(
                "otelcol_scraper_scraped_metric_points",
                "Number of metric points successfully scraped.",
                &labels,
            ),
            running: Mutex::new(None),
            id,
        }))
    }
}

pub struct HttpCheckReceiver {
    cfg: Config,
    id: String,
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    scraped: Counter,
    running: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

#[async_trait]
impl Component for HttpCheckReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let fallback = if self.cfg.timeout.is_zero() {
            self.cfg.collection_interval
        } else {
            self.cfg.timeout
        };
        let checks = self
            .cfg
            .targets
            .iter()
            .map(|t| Check::new(t, fallback))
            .collect::<Result<Vec<_>, _>>()?;
        let stop = CancellationToken::new();
        let start_time = now_unix_nanos();
        let (cfg, consumer, metrics, scraped, id) = (
            self.cfg.clone(),
            self.consumer.clone(),
            self.metrics.clone(),
            self.scraped.clone(),
            self.id.clone(),
        );
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            let first = tokio::time::Instant::now() + cfg.initial_delay;
            let mut tick = tokio::time::interval_at(first, cfg.collection_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop2.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let request = tokio::select! {
                    _ = stop2.cancelled() => return,
                    r = scraper::scrape(&checks, &cfg.metrics, start_time, now_unix_nanos()) => r,
                };
                let points: usize = request
                    .resource_metrics
                    .iter()
                    .flat_map(|rm| &rm.scope_metrics)
                    .flat_map(|sm| &sm.metrics)
                    .map(|m| match &m.data {
                        Some(pdata::proto::metrics::v1::metric::Data::Gauge(g)) => {
                            g.data_points.len()
                        }
                        Some(pdata::proto::metrics::v1::metric::Data::Sum(s)) => {
                            s.data_points.len()
                        }
                        _ => 0,
                    })
                    .sum();
                scraped.add(points as u64);
                match consumer
                    .consume(Batch::from_request(Request::Metrics(request)))
                    .await
                {
                    Ok(()) => metrics.accepted(Signal::Metrics, points),
                    Err(e) => {
                        metrics.refused(Signal::Metrics, points);
                        tracing::warn!(receiver = %id, error = %e, "http_check metrics refused by the pipeline");
                    }
                }
            }
        });
        if let Some((old, _)) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace((stop, task))
        {
            old.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, task)) = running {
            stop.cancel();
            let _ = task.await;
        }
        Ok(())
    }
}

impl Receiver for HttpCheckReceiver {}
