//! `statsd` receiver: StatsD / DogStatsD over UDP (default `localhost:8125`), TCP or a
//! `unixgram` socket, aggregated per `aggregation_interval` and sent as OTLP metrics, as
//! Go's contrib `statsdreceiver`. Parsing, aggregation and translation are the [`statsd`]
//! crate's; [`server`] owns the sockets and the flush timer.

pub mod config;
mod server;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::Receiver;
use runtime::factory::{
    AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, parse_config, typed,
};

pub use self::config::Config;
pub use self::server::StatsdReceiver;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "statsd"
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
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let consumer = outputs
            .metrics
            .clone()
            .ok_or("the statsd receiver only produces metrics")?;
        Ok(Arc::new(StatsdReceiver::new(&set, typed(cfg), consumer)))
    }
}
