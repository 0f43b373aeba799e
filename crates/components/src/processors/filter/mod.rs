//! `filter`: drops spans, metrics and log records, as the Go collector's
//! `processor/filterprocessor`: in the OTTL form, items an OTTL condition matches (the engine
//! is [`ottl::filter`]); in the legacy include/exclude form, `include` keeps only what
//! matches and `exclude` drops what matches. Scopes and resources left empty are removed, and
//! a batch left empty goes no further (Go's "skip processing data"). What is dropped is
//! counted in `otelcol_processor_filter_{spans,datapoints,logs}_filtered{filter=<id>}`. A
//! condition failing with `error_mode: propagate` refuses the whole batch.

pub mod config;
mod process;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::{Counter, ProcessorMetrics};
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::process::Filters;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Alpha),
    (Signal::Metrics, Stability::Alpha),
    (Signal::Logs, Stability::Alpha),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "filter"
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
        Ok(Arc::new(FilterProcessor::new(&set, cfg, signal, next)?))
    }
}

/// One filter processor instance (one per pipeline).
pub struct FilterProcessor {
    filters: Filters,
    ottl: ottl::filter::Filter,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
    filtered: Counter,
}

impl FilterProcessor {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        let id = set.id.to_string();
        let (name, help) = match signal {
            Signal::Traces => (
                "otelcol_processor_filter_spans_filtered",
                "Number of spans dropped by the filter processor",
            ),
            Signal::Metrics => (
                "otelcol_processor_filter_datapoints_filtered",
                "Number of metric data points dropped by the filter processor",
            ),
            Signal::Logs => (
                "otelcol_processor_filter_logs_filtered",
                "Number of logs dropped by the filter processor",
            ),
            Signal::Profiles => return Err("profiles are not supported".to_string()),
        };
        Ok(FilterProcessor {
            filters: Filters::new(cfg)?,
            ottl: cfg.build_ottl()?,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &id, signal),
            filtered: set
                .telemetry
                .counter(name, help, &[("filter", id.as_str())]),
        })
    }
}

#[async_trait]
impl Consumer for FilterProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let ottl = match batch.signal() {
            Signal::Metrics => self.ottl.has_metrics(),
            Signal::Traces => self.ottl.has_traces(),
            Signal::Logs => self.ottl.has_logs(),
            Signal::Profiles => false,
        };
        let active = ottl
            || match batch.signal() {
                Signal::Metrics => self.filters.metrics.is_some(),
                Signal::Traces => self.filters.spans.is_some(),
                Signal::Logs => self.filters.logs.is_some(),
                Signal::Profiles => false,
            };
        if items == 0 || !active {
            self.metrics.outgoing.add(items);
            return self.next.consume(batch).await;
        }
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let removed = if ottl {
            let r = match req {
                pdata::Request::Traces(r) => self.ottl.filter_traces(r),
                pdata::Request::Metrics(r) => self.ottl.filter_metrics(r),
                pdata::Request::Logs(r) => self.ottl.filter_logs(r),
                _ => Ok(0),
            };
            match r {
                Ok(n) => n,
                Err(e) => {
                    // `propagate`: the batch goes back to the sender as failed (Go returns the
                    // error from ConsumeX); it is refused, not silently dropped.
                    return Err(ConsumeError::permanent(e));
                }
            }
        } else {
            self.filters.apply(req)
        };
        if removed > 0 {
            self.filtered.add(removed as u64);
        }
        let left = items.saturating_sub(removed as u64);
        if left == 0 {
            // Go's processorhelper.ErrSkipProcessingData: nothing to send, not an error.
            return Ok(());
        }
        self.metrics.outgoing.add(left);
        batch.recount();
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for FilterProcessor {}

impl Processor for FilterProcessor {
    fn mutates_data(&self) -> bool {
        true
    }
}
