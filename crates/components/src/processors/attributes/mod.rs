//! `attributes`: inserts, updates, upserts, deletes, hashes, extracts and converts the
//! attributes of spans, log records and metric data points, as the Go collector's
//! `processor/attributesprocessor`. `include`/`exclude` choose the items acted on: for
//! spans and logs every property of [`crate::filtering`]; for metrics only `metric_names`
//! (as in Go).
//!
//! The actions are validated when the config is parsed (Go does it at creation; the texts
//! are the same), the include/exclude blocks when the processor is created for a signal.
//! `from_context` finds no client information yet (see [`crate::attraction`]).

pub mod config;
mod process;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::process::Skip;
use crate::attraction::{AttrProc, ClientInfo};
use crate::filtering::{LogSkip, MetricSkip, SpanSkip};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "attributes"
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
        Ok(Arc::new(AttributesProcessor::new(&set, cfg, signal, next)?))
    }
}

/// One attributes processor instance (one per pipeline).
pub struct AttributesProcessor {
    actions: AttrProc,
    skip: Skip,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl AttributesProcessor {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        let actions = AttrProc::new(&cfg.actions)?;
        let matching = cfg.match_config();
        let skip = match signal {
            Signal::Traces => Skip::Spans(SpanSkip::new(&matching)?),
            Signal::Logs => Skip::Logs(LogSkip::new(&matching)?),
            Signal::Metrics => Skip::Metrics(MetricSkip::new(&matching)?),
            Signal::Profiles => return Err("profiles are not supported".to_string()),
        };
        Ok(AttributesProcessor {
            actions,
            skip,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        })
    }

    /// Applies the processor to a decoded request (what `consume` does to each batch).
    pub fn apply(&self, req: &mut Request) {
        process::apply(&self.actions, &self.skip, &ClientInfo::default(), req);
    }
}

#[async_trait]
impl Consumer for AttributesProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        if items == 0 {
            return self.next.consume(batch).await;
        }
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        self.apply(req);
        self.metrics.outgoing.add(items);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for AttributesProcessor {}

impl Processor for AttributesProcessor {
    fn mutates_data(&self) -> bool {
        true
    }
}
