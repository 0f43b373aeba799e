//! `group_by_attrs` (deprecated alias `groupbyattrs`): moves the listed record attributes
//! up to the resource, regrouping spans, log records and metric data points under
//! resources that differ by them, as Go's contrib `groupbyattrsprocessor` ([`group`] has
//! the rules). With no `keys` it only compacts: identical resources and scopes are merged.
//!
//! Self-metrics are Go's: `otelcol_processor_groupbyattrs_num_grouped_{spans,logs,metrics}`
//! and `..._num_non_grouped_*` (records with / without a grouping attribute; metrics count
//! data points) and the histograms `..._{span,log,metric}_groups` (resources per batch).

pub mod config;
pub mod group;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::{Counter, Histogram, ProcessorMetrics};
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

/// The OpenTelemetry SDK's default histogram boundaries, which Go's histograms use.
const GROUP_BOUNDS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "groupbyattrs"
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
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String> {
        let cfg: &Config = typed(cfg);
        let id = set.id.to_string();
        let labels = [("processor", id.as_str())];
        let (grouped, non_grouped, groups, help) = match signal {
            Signal::Profiles => return Err("profiles are not supported".to_string()),
            Signal::Traces => (
                "otelcol_processor_groupbyattrs_num_grouped_spans",
                "otelcol_processor_groupbyattrs_num_non_grouped_spans",
                "otelcol_processor_groupbyattrs_span_groups",
                [
                    "Number of spans that had attributes grouped",
                    "Number of spans that did not have attributes grouped",
                    "Distribution of groups extracted for spans",
                ],
            ),
            Signal::Metrics => (
                "otelcol_processor_groupbyattrs_num_grouped_metrics",
                "otelcol_processor_groupbyattrs_num_non_grouped_metrics",
                "otelcol_processor_groupbyattrs_metric_groups",
                [
                    "Number of metrics that had attributes grouped",
                    "Number of metrics that did not have attributes grouped",
                    "Distribution of groups extracted for metrics",
                ],
            ),
            Signal::Logs => (
                "otelcol_processor_groupbyattrs_num_grouped_logs",
                "otelcol_processor_groupbyattrs_num_non_grouped_logs",
                "otelcol_processor_groupbyattrs_log_groups",
                [
                    "Number of logs that had attributes grouped",
                    "Number of logs that did not have attributes grouped",
                    "Distribution of groups extracted for logs",
                ],
            ),
        };
        Ok(Arc::new(GroupByAttrs {
            keys: cfg.effective_keys(),
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &id, signal),
            grouped: set.telemetry.counter(grouped, help[0], &labels),
            non_grouped: set.telemetry.counter(non_grouped, help[1], &labels),
            groups: set
                .telemetry
                .histogram(groups, help[2], &labels, GROUP_BOUNDS),
        }))
    }
}

pub struct GroupByAttrs {
    keys: Vec<String>,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
    grouped: Counter,
    non_grouped: Counter,
    groups: Histogram,
}

impl GroupByAttrs {
    pub fn apply(&self, req: &mut Request) -> group::Counts {
        match req {
            Request::Traces(t) => group::traces(&self.keys, t),
            Request::Metrics(m) => group::metrics(&self.keys, m),
            Request::Logs(l) => group::logs(&self.keys, l),
            // Never built for profiles (see the factory).
            Request::Profiles(_) => group::Counts::default(),
        }
    }
}

#[async_trait]
impl Consumer for GroupByAttrs {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let counts = self.apply(req);
        batch.recount();
        self.grouped.add(counts.grouped);
        self.non_grouped.add(counts.non_grouped);
        self.groups.record(counts.groups as f64);
        self.metrics.outgoing.add(batch.item_count() as u64);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for GroupByAttrs {}

impl Processor for GroupByAttrs {
    fn mutates_data(&self) -> bool {
        true
    }
}
