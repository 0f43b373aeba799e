//! `transform`: runs OTTL statements on spans, span events, metrics, data points, log records
//! and their resources and scopes, as the Go collector's `processor/transformprocessor`. The
//! work is [`ottl::transform::Transform`]; this is its adapter to the pipeline. With
//! `error_mode: propagate` (the default) a statement that fails drops the batch with the
//! error; `ignore` logs and goes on with the next statement, `silent` goes on quietly.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use ottl::transform::Transform;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "transform"
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
        Ok(Arc::new(TransformProcessor::new(&set, cfg, signal, next)?))
    }
}

/// One transform processor instance (one per pipeline).
pub struct TransformProcessor {
    transform: Transform,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl TransformProcessor {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        if signal == Signal::Profiles {
            return Err("profiles are not supported".to_string());
        }
        Ok(TransformProcessor {
            transform: cfg.build()?,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        })
    }

    /// Runs the statements on a decoded request (what `consume` does to each batch).
    pub fn apply(&self, req: &mut Request) -> Result<(), String> {
        match req {
            Request::Traces(r) => self.transform.process_traces(r),
            Request::Metrics(r) => self.transform.process_metrics(r),
            Request::Logs(r) => self.transform.process_logs(r),
            Request::Profiles(_) => Ok(()),
        }
    }
}

#[async_trait]
impl Consumer for TransformProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let active = match batch.signal() {
            Signal::Traces => self.transform.has_traces(),
            Signal::Metrics => self.transform.has_metrics(),
            Signal::Logs => self.transform.has_logs(),
            Signal::Profiles => false,
        };
        if items == 0 || !active {
            self.metrics.outgoing.add(items);
            return self.next.consume(batch).await;
        }
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        self.apply(req).map_err(ConsumeError::permanent)?;
        // metric functions may add metrics, flatten_data regroups
        batch.recount();
        self.metrics.outgoing.add(batch.item_count() as u64);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for TransformProcessor {}

impl Processor for TransformProcessor {
    fn mutates_data(&self) -> bool {
        true
    }
}
