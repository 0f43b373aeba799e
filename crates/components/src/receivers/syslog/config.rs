//! `syslog` config: Go's `syslog_input` keys (`protocol`, `location`,
//! `enable_octet_counting`, `non_transparent_framing_trailer`, `allow_skip_pri_header`,
//! `max_octets`, `on_error`, and `tcp` or `udp` with the input keys) beside the shared keys
//! of [`netlog::config`](crate::receivers::netlog::config).

use ::config::{ConfigError, Value};
use stanza::OperatorConfig;
use stanza::input::{SyslogConfig, SyslogInput};

use crate::receivers::netlog::Common;

/// Go's default id of the input, which names its internal parser.
const INPUT_ID: &str = "syslog_input";

#[derive(Debug, Clone)]
pub struct Config {
    pub common: Common,
    pub input: SyslogConfig,
    pub built: SyslogInput,
    /// The syslog parser, then the configured operators.
    pub operators: Vec<OperatorConfig>,
}

impl Config {
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let (common, input): (Common, SyslogConfig) =
            crate::receivers::netlog::config::parse(value, path)?;
        let built = input
            .build(INPUT_ID)
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        if let stanza::input::SyslogTransport::Tcp(t) = &built.transport {
            crate::receivers::netlog::tcp::tls_config(t)
                .map_err(|m| runtime::factory::validation_error(&format!("{path}::tcp"), &m))?;
        }
        let mut operators = Vec::with_capacity(common.operators.len() + 1);
        operators.push(built.parser.clone());
        operators.extend(common.operators.iter().cloned());
        stanza::Pipeline::build(&operators)
            .map_err(|e| ConfigError::new(format!("{path}::operators"), e.message))?;
        Ok(Config {
            common,
            input,
            built,
            operators,
        })
    }
}
