//! `service_graph` (deprecated alias `servicegraph`, the name before contrib v0.158): builds
//! the request graph between services from client/server span pairs, as Go's
//! `connector/servicegraphconnector` (v0.160): `traces_service_graph_request_total`,
//! `_request_failed_total`, and the `_request_server` / `_request_client` latency
//! histograms in seconds, cumulative, on one resource without attributes.
//!
//! Three timers run, as in Go: the flush (`metrics_flush_interval`, 60s; 0 = after every
//! batch), the store expiry (`store_expiration_loop`, 2s) and the stale-series sweep
//! (`cache_loop`, 1m). Self-metrics are Go's: `otelcol_connector_servicegraph_total_edges`,
//! `_expired_edges`, `_dropped_spans`. Gates: `connector.servicegraph.virtualNode` (on) and
//! `connector.servicegraph.legacyLatencyMetricNames` (off).

pub mod config;
mod graph;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ConnectorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::Counter;
use runtime::{Component, Connector, ConsumeError, Consumer, Host, SharedConsumer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
pub use self::graph::{Gates, Graph, MAX_SERIES, Outcome};

pub struct Factory;

impl ConnectorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "service_graph"
    }

    fn pairs(&self) -> &[(Signal, Signal, Stability)] {
        &[(Signal::Traces, Signal::Metrics, Stability::Alpha)]
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        _from: Signal,
        _to: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Connector>, String> {
        let cfg: &Config = typed(cfg);
        let id = set.id.to_string();
        if cfg.metrics_flush_interval.is_some_and(|d| d.0.is_zero()) {
            tracing::warn!(
                otelcol.component.id = %id,
                otelcol.component.kind = "connector",
                "MetricsFlushInterval is set to 0, metrics will be flushed on every received batch of traces"
            );
        }
        let gates = gates_from(&runtime::featuregate::list());
        let labels = [("connector", id.as_str())];
        let counter =
            |name: &'static str, help: &'static str| set.telemetry.counter(name, help, &labels);
        Ok(Arc::new(ServiceGraph {
            graph: Arc::new(Mutex::new(Graph::new(cfg, gates, now_nanos()))),
            next,
            flush_interval: cfg.flush_interval(),
            expire_interval: nonzero(cfg.store_expiration_loop.0, Duration::from_secs(2)),
            clean_interval: nonzero(cfg.cache_loop.0, Duration::from_secs(60)),
            counters: Arc::new(Counters {
                total_edges: counter(
                    "otelcol_connector_servicegraph_total_edges",
                    "Total number of unique edges",
                ),
                expired_edges: counter(
                    "otelcol_connector_servicegraph_expired_edges",
                    "Number of edges that expired before finding its matching span",
                ),
                dropped_spans: counter(
                    "otelcol_connector_servicegraph_dropped_spans",
                    "Number of spans dropped when trying to add edges",
                ),
                overflowed: counter(
                    "otelcol_connector_servicegraph_overflowed_edges",
                    "Completed edges counted into the otel.metric.overflow series (ferrotel)",
                ),
            }),
            id,
            stop: CancellationToken::new(),
            task: Mutex::new(None),
        }))
    }
}

fn nonzero(d: Duration, default: Duration) -> Duration {
    if d.is_zero() { default } else { d }
}

/// The gates this connector reads, from the `--feature-gates` list.
pub fn gates_from(list: &[String]) -> Gates {
    let state = |id: &str, default: bool| runtime::featuregate::enabled_in(list, id, default);
    Gates {
        virtual_node: state("connector.servicegraph.virtualNode", true),
        legacy_latency_metric_names: state(
            "connector.servicegraph.legacyLatencyMetricNames",
            false,
        ),
    }
}

use crate::util::time::now_unix_nanos as now_nanos;

struct Counters {
    total_edges: Counter,
    expired_edges: Counter,
    dropped_spans: Counter,
    overflowed: Counter,
}

impl Counters {
    fn count(&self, o: Outcome) {
        for (c, n) in [
            (&self.total_edges, o.new_edges),
            (&self.expired_edges, o.expired_edges),
            (&self.dropped_spans, o.dropped_spans),
            (&self.overflowed, o.overflowed),
        ] {
            if n > 0 {
                c.add(n);
            }
        }
    }
}

struct ServiceGraph {
    id: String,
    graph: Arc<Mutex<Graph>>,
    next: SharedConsumer,
    flush_interval: Duration,
    expire_interval: Duration,
    clean_interval: Duration,
    counters: Arc<Counters>,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Hands the current metrics on; a refusal is logged, as Go does (cumulative series are
/// sent again at the next flush).
async fn flush(id: &str, graph: &Mutex<Graph>, next: &SharedConsumer) {
    let req = graph
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .flush(now_nanos());
    let Some(req) = req else { return };
    if let Err(e) = next
        .consume(Batch::from_request(Request::Metrics(req)))
        .await
    {
        tracing::error!(
            otelcol.component.id = %id,
            otelcol.component.kind = "connector",
            error = %e,
            "failed to flush metrics"
        );
    }
}

#[async_trait]
impl Consumer for ServiceGraph {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let req = batch
            .request()
            .map_err(|e| ConsumeError::permanent(format!("failed to decode the traces: {e}")))?;
        let Request::Traces(traces) = &*req else {
            return Err(ConsumeError::permanent(
                "the service_graph connector takes traces only",
            ));
        };
        let outcome = self
            .graph
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .consume(&traces.resource_spans, now_nanos());
        self.counters.count(outcome);
        if self.flush_interval.is_zero() {
            flush(&self.id, &self.graph, &self.next).await;
        }
        Ok(())
    }
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

#[async_trait]
impl Component for ServiceGraph {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let graph = self.graph.clone();
        let next = self.next.clone();
        let stop = self.stop.clone();
        let counters = self.counters.clone();
        let id = self.id.clone();
        let (flush_every, expire_every, clean_every) = (
            self.flush_interval,
            self.expire_interval,
            self.clean_interval,
        );
        let handle = tokio::spawn(async move {
            // A zero interval flushes per batch instead; the timer then never fires.
            let mut flush_t = ticker(if flush_every.is_zero() {
                Duration::from_secs(365 * 24 * 3600)
            } else {
                flush_every
            });
            let mut expire_t = ticker(expire_every);
            let mut clean_t = ticker(clean_every);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = flush_t.tick() => flush(&id, &graph, &next).await,
                    _ = expire_t.tick() => {
                        let o = graph.lock().unwrap_or_else(|p| p.into_inner()).expire(now_nanos());
                        counters.count(o);
                    }
                    _ = clean_t.tick() => graph.lock().unwrap_or_else(|p| p.into_inner()).clean(now_nanos()),
                }
            }
        });
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    /// Sends the series once more (the last interval's counts), unlike Go, which stops.
    async fn shutdown(&self) -> Result<(), String> {
        self.stop.cancel();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
        flush(&self.id, &self.graph, &self.next).await;
        Ok(())
    }
}

impl Connector for ServiceGraph {}
