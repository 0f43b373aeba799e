//! `udp_log` / `udplog` config: the input keys of [`stanza::input::UdpConfig`] at the top level,
//! beside the shared keys of [`netlog::config`](crate::receivers::netlog::config).

use ::config::{ConfigError, Value};
use stanza::input::{UdpConfig, UdpInput};

use crate::receivers::netlog::Common;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    pub input: UdpConfig,
    /// Built once here for its errors; the receiver runs this.
    pub built: UdpInput,
}

impl Config {
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let (common, input): (Common, UdpConfig) =
            crate::receivers::netlog::config::parse(value, path)?;
        let built = input
            .build()
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        Ok(Config {
            common,
            input,
            built,
        })
    }
}
