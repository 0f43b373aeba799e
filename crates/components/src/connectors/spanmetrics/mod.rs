//! `span_metrics` (deprecated alias `spanmetrics`, the name before contrib v0.151): turns
//! spans into request-count and duration metrics (`traces.span.metrics.calls`,
//! `traces.span.metrics.duration`, optionally `traces.span.metrics.events`), flushed every
//! `metrics_flush_interval`, as Go's `connector/spanmetricsconnector` (v0.160).
//!
//! Feature gates read from `--feature-gates`: `connector.spanmetrics.legacyMetricNames`
//! (off), `connector.spanmetrics.includeCollectorInstanceID` (beta, on: every point carries
//! `collector.instance.id`, a random id of this process), and
//! `connector.spanmetrics.excludeResourceMetrics` (off).
//!
//! Batches that arrive encoded are counted without being decoded
//! ([`Aggregator::consume_encoded`]).
//!
//! Unlike Go, shutdown flushes what is held once more, so the last interval's counts are not
//! lost when the collector stops (the metrics pipeline's exporters are still running then).

mod aggregate;
pub mod config;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ConnectorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::Counter;
use runtime::{Component, Connector, ConsumeError, Consumer, Host, SharedConsumer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::aggregate::{Aggregator, Gates, OVERFLOW_KEY, SAFETY_MAX_SERIES};
pub use self::config::Config;

pub struct Factory;

impl ConnectorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "span_metrics"
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
        if cfg.dimensions_cache_size.is_some() {
            tracing::warn!(
                otelcol.component.id = %id,
                otelcol.component.kind = "connector",
                "dimensions_cache_size is deprecated, use aggregation_cardinality_limit instead"
            );
        }
        let gates = gates_from(&runtime::featuregate::list());
        let labels = [("connector", id.as_str())];
        Ok(Arc::new(SpanMetrics {
            state: Arc::new(Mutex::new(Aggregator::new(cfg, &gates))),
            next,
            interval: cfg.metrics_flush_interval.0,
            overflowed: set.telemetry.counter(
                "otelcol_connector_spanmetrics_overflowed_spans",
                "Spans counted into the otel.metric.overflow series because the cardinality limit was reached (ferrotel)",
                &labels,
            ),
            evicted: set.telemetry.counter(
                "otelcol_connector_spanmetrics_evicted_resources",
                "Resources evicted from the resource_metrics_cache_size cache (ferrotel)",
                &labels,
            ),
            id,
            stop: CancellationToken::new(),
            task: Mutex::new(None),
        }))
    }
}

/// The gates this connector reads, from the `--feature-gates` list.
pub fn gates_from(list: &[String]) -> Gates {
    let state = |id: &str, default: bool| runtime::featuregate::enabled_in(list, id, default);
    Gates {
        legacy_metric_names: state("connector.spanmetrics.legacyMetricNames", false),
        collector_instance_id: state("connector.spanmetrics.includeCollectorInstanceID", true)
            .then(|| collector_instance_id().to_string()),
        exclude_resource_metrics: state("connector.spanmetrics.excludeResourceMetrics", false),
    }
}

/// This process's `collector.instance.id`: a random UUID, as the Go collector's default
/// `service.instance.id`.
pub fn collector_instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let b: [u8; 16] = rand::random();
        let mut b = b;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

use crate::util::time::now_unix_nanos as now_nanos;

struct SpanMetrics {
    id: String,
    state: Arc<Mutex<Aggregator>>,
    next: SharedConsumer,
    interval: Duration,
    overflowed: Counter,
    evicted: Counter,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Builds the metrics and hands them on; a refusal is logged, as Go does (the counts of a
/// cumulative series are sent again at the next flush).
async fn export(id: &str, state: &Mutex<Aggregator>, next: &SharedConsumer) {
    let req = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_empty() {
            return;
        }
        s.flush(now_nanos())
    };
    if req.resource_metrics.is_empty() {
        return;
    }
    if let Err(e) = next
        .consume(Batch::from_request(Request::Metrics(req)))
        .await
    {
        tracing::error!(
            otelcol.component.id = %id,
            otelcol.component.kind = "connector",
            error = %e,
            "Failed ConsumeMetrics"
        );
    }
}

#[async_trait]
impl Consumer for SpanMetrics {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if batch.signal() != Signal::Traces {
            return Err(ConsumeError::permanent(
                "the span_metrics connector takes traces only",
            ));
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A batch that arrived encoded is read without decoding it (most of the cost of a
        // decode is building every attribute); the decoded form is used when it is all
        // there is, or when span events are counted.
        let outcome = if batch.is_encoded() && state.reads_encoded() {
            state
                .consume_encoded(&batch.encoded(), now_nanos())
                .map_err(|e| ConsumeError::permanent(format!("failed to read the traces: {e}")))?
        } else {
            let req = batch.request().map_err(|e| {
                ConsumeError::permanent(format!("failed to decode the traces: {e}"))
            })?;
            let Request::Traces(traces) = &*req else {
                return Err(ConsumeError::permanent(
                    "the span_metrics connector takes traces only",
                ));
            };
            state.consume(&traces.resource_spans, now_nanos())
        };
        drop(state);
        if outcome.overflowed > 0 {
            self.overflowed.add(outcome.overflowed);
        }
        if outcome.evicted_resources > 0 {
            self.evicted.add(outcome.evicted_resources);
        }
        Ok(())
    }
}

#[async_trait]
impl Component for SpanMetrics {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let state = self.state.clone();
        let next = self.next.clone();
        let stop = self.stop.clone();
        let interval = self.interval;
        let id = self.id.clone();
        let handle = tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = ticker.tick() => export(&id, &state, &next).await,
                }
            }
        });
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.stop.cancel();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
        export(&self.id, &self.state, &self.next).await;
        Ok(())
    }
}

impl Connector for SpanMetrics {}
