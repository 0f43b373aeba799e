//! `tcp_log` / `tcplog` config: the input keys of [`stanza::input::TcpConfig`] at the top level,
//! beside the shared keys of [`netlog::config`](crate::receivers::netlog::config).

use ::config::{ConfigError, Value};
use stanza::input::{TcpConfig, TcpInput};

use crate::receivers::netlog::Common;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    pub input: TcpConfig,
    /// Built once here for its errors; the receiver runs this.
    pub built: TcpInput,
}

impl Config {
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let (common, input): (Common, TcpConfig) =
            crate::receivers::netlog::config::parse(value, path)?;
        let built = input
            .build()
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        crate::receivers::netlog::tcp::tls_config(&built)
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        Ok(Config {
            common,
            input,
            built,
        })
    }
}
