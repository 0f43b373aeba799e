//! `zipkin` exporter config: Go's `zipkinexporter.Config` (confighttp client keys squashed
//! in, `format`, `default_service_name`, `sending_queue`, `retry_on_failure`) with the
//! defaults of its `createDefaultConfig` (timeout 5s, format json).

use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::util::http_client::{self, ClientConfig, ClientSettings, HttpCompression};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The `confighttp` client keys, squashed in as Go does (decoded by
    /// `http_client::decode`).
    #[serde(skip)]
    pub client: ClientConfig,
    /// `json` or `proto`.
    pub format: String,
    /// The local service name of spans whose resource names none.
    pub default_service_name: String,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client: ClientConfig::with_defaults(
                <Config as http_client::WithClient>::DEFAULT_TIMEOUT,
                "",
            ),
            format: "json".into(),
            default_service_name: "<missing service name>".into(),
            retry_on_failure: RetrySettings::default(),
            sending_queue: QueueSettings::default(),
        }
    }
}

impl Config {
    pub fn format(&self) -> Result<zipkin::Format, String> {
        match self.format.as_str() {
            "json" => Ok(zipkin::Format::Json),
            "proto" => Ok(zipkin::Format::Proto),
            other => Err(format!("{other} is not one of json or proto")),
        }
    }

    pub fn compression(&self) -> Result<HttpCompression, String> {
        self.client.compression()
    }

    pub fn client_settings(&self) -> ClientSettings<'_> {
        self.client.settings()
    }
}

impl http_client::WithClient for Config {
    const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
    fn client_mut(&mut self) -> &mut ClientConfig {
        &mut self.client
    }
}

impl ComponentConfig for Config {
    /// Go's `Validate` (`endpoint required`), the format check Go makes when creating the
    /// exporter (here at load, so `validate` reports it), and the client checks.
    fn validate(&self) -> Result<(), String> {
        self.sending_queue
            .validate()
            .map_err(|e| format!("queue settings has invalid configuration: {e}"))?;
        if self.client.endpoint.is_empty() {
            return Err("endpoint required".into());
        }
        http_client::check_url(&self.client.endpoint)?;
        self.format()?;
        self.client.validate()?;
        self.retry_on_failure.validate()?;
        Ok(())
    }
}
