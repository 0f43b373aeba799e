//! `embedded_store` exporter settings.

use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The `embedded_store` extension to write to; empty: the only one configured.
    pub extension: String,
    pub sending_queue: QueueSettings,
    pub retry_on_failure: RetrySettings,
    pub timeout: ::config::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            extension: String::new(),
            sending_queue: QueueSettings::default(),
            retry_on_failure: RetrySettings::default(),
            timeout: ::config::Duration(std::time::Duration::from_secs(5)),
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if !self.extension.is_empty() {
            ::config::ComponentId::parse(&self.extension).map_err(|e| format!("extension: {e}"))?;
        }
        self.sending_queue.validate()?;
        Ok(())
    }
}
