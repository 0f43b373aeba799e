//! `metrics_transform` (deprecated `metricstransform`): renames, copies, combines and groups
//! metrics and rewrites their labels and values, as Go's `processor/metricstransformprocessor`
//! (see [`transform`] for the actions and operations). It works within each batch; nothing is
//! kept between batches.

pub mod config;
mod points;
#[cfg(test)]
mod tests;
mod transform;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::transform::Transforms;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "metrics_transform"
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
        Ok(Arc::new(MetricsTransform {
            transforms: Transforms::new(cfg, env!("CARGO_PKG_VERSION"))?,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        }))
    }
}

/// One instance (one per pipeline).
pub struct MetricsTransform {
    transforms: Transforms,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

#[async_trait]
impl Consumer for MetricsTransform {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        if let Request::Metrics(m) = req {
            self.transforms.apply(m);
        }
        batch.recount();
        self.metrics.outgoing.add(batch.item_count() as u64);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for MetricsTransform {}

impl Processor for MetricsTransform {
    fn mutates_data(&self) -> bool {
        true
    }
}
