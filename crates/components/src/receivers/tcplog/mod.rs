//! `tcp_log` (deprecated alias `tcplog`): log lines from a TCP socket (Go's tcplogreceiver) through the
//! stanza operators of its config; the socket and delivery are [`netlog`](crate::receivers::netlog)'s.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::Receiver;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};

pub use self::config::Config;
use crate::receivers::netlog::{Input, NetLogReceiver};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Alpha)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "tcp_log"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        Ok(Box::new(Config::parse(value, path)?))
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let cfg: &Config = typed(cfg);
        let consumer = outputs
            .logs
            .clone()
            .ok_or("the tcp_log receiver only produces logs")?;
        Ok(Arc::new(NetLogReceiver::new(
            "tcp_log",
            &set,
            Input::Tcp(cfg.built.clone()),
            cfg.common.operators.clone(),
            cfg.common.clone(),
            consumer,
        )))
    }
}
