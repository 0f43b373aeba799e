//! `syslog` receiver: RFC 5424 / RFC 3164 messages over TCP (newline, octet-counted or
//! non-transparent framing) or UDP, parsed by stanza's `syslog_parser` into Go's attributes
//! (`priority`, `facility`, `hostname`, `appname`, `proc_id`, `msg_id`, `structured_data`,
//! `message`, ...) with severity and timestamp, then the configured operators. The
//! sockets and delivery are [`netlog`](crate::receivers::netlog)'s.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use pdata::Signal;
use runtime::Receiver;
use runtime::factory::{AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, typed};
use stanza::input::SyslogTransport;

pub use self::config::Config;
use crate::receivers::netlog::{Input, NetLogReceiver};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Alpha)];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "syslog"
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
            .ok_or("the syslog receiver only produces logs")?;
        let input = match &cfg.built.transport {
            SyslogTransport::Tcp(t) => Input::Tcp(t.clone()),
            SyslogTransport::Udp(u) => Input::Udp(u.clone()),
        };
        Ok(Arc::new(NetLogReceiver::new(
            "syslog",
            &set,
            input,
            cfg.operators.clone(),
            cfg.common.clone(),
            consumer,
        )))
    }
}
