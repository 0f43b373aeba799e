//! `fluent_forward` (deprecated alias `fluentforward`): a Fluent Forward protocol v1 server
//! (TCP or a Unix socket, UDP heartbeats on the TCP port) for Fluentd, Fluent Bit and the
//! fluent-logger libraries, as Go's contrib `fluentforwardreceiver`. Decoding and the OTLP
//! conversion are the [`fluentforward`] crate's; [`server`] owns the sockets, delivery,
//! acks and the `otelcol_fluent_*` self-metrics.

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
pub use self::server::FluentReceiver;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Beta)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "fluent_forward"
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
            .logs
            .clone()
            .ok_or("the fluent_forward receiver only produces logs")?;
        Ok(Arc::new(FluentReceiver::new(&set, typed(cfg), consumer)))
    }
}
