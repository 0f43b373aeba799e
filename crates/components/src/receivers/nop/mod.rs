//! `nop` receiver: the Go collector's core `receiver/nopreceiver`. It accepts an empty
//! config, serves every signal, and produces nothing; people use it to give a pipeline a
//! receiver when the data comes from a connector or to keep a pipeline defined but idle.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::factory::{
    AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, parse_config,
};
use runtime::{Component, Receiver};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ReceiverFactory for Factory {
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
        _outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(NopReceiver))
    }
}

/// Starts and stops without doing anything.
pub struct NopReceiver;

#[async_trait]
impl Component for NopReceiver {}

impl Receiver for NopReceiver {}
