//! `forward`: joins pipelines of the same signal. What one pipeline exports, the other
//! receives, unchanged.

use std::sync::Arc;

use async_trait::async_trait;
use config::{ConfigError, Value};
use pdata::{Batch, Signal};
use runtime::factory::{
    AnyConfig, ComponentConfig, ConnectorFactory, Settings, Stability, parse_config,
};
use runtime::{Component, Connector, ConsumeError, Consumer, SharedConsumer};
use serde::Deserialize;

pub struct Factory;

/// `forward` has no settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl ComponentConfig for Config {}

impl ConnectorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "forward"
    }

    fn pairs(&self) -> &[(Signal, Signal, Stability)] {
        &[
            (Signal::Traces, Signal::Traces, Stability::Beta),
            (Signal::Metrics, Signal::Metrics, Stability::Beta),
            (Signal::Logs, Signal::Logs, Stability::Beta),
            (Signal::Profiles, Signal::Profiles, Stability::Development),
        ]
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        _set: Settings,
        _cfg: &AnyConfig,
        _from: Signal,
        _to: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Connector>, String> {
        Ok(Arc::new(Forward { next }))
    }
}

struct Forward {
    next: SharedConsumer,
}

#[async_trait]
impl Consumer for Forward {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.next.consume(batch).await
    }
}

impl Component for Forward {}
impl Connector for Forward {}
