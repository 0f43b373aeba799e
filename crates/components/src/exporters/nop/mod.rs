//! `nop` exporter: the Go collector's core `exporter/nopexporter`. It accepts every batch of
//! every signal and drops it without a word: no queue, no retry, no self-metrics of its own
//! beyond what the pipeline counts, so a pipeline ending here never pushes back.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, parse_config};
use runtime::{Component, ConsumeError, Consumer, Exporter};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "nop"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        _set: Settings,
        _cfg: &AnyConfig,
        _signal: Signal,
    ) -> Result<Arc<dyn Exporter>, String> {
        Ok(Arc::new(NopExporter))
    }
}

/// Takes everything and keeps nothing.
pub struct NopExporter;

#[async_trait]
impl Consumer for NopExporter {
    async fn consume(&self, _batch: Batch) -> Result<(), ConsumeError> {
        Ok(())
    }
}

#[async_trait]
impl Component for NopExporter {}

impl Exporter for NopExporter {}
