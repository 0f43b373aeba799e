//! `loki` exporter config: Go's `lokiexporter.Config` (confighttp client keys squashed in,
//! `sending_queue`, `retry_on_failure`, `default_labels_enabled`) with the defaults of its
//! `createDefaultConfig` (timeout 30s, no body compression besides snappy).

use std::collections::BTreeMap;

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
    /// `exporter`, `job`, `instance`, `level`: a label is added unless set to `false` here.
    pub default_labels_enabled: BTreeMap<String, bool>,
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
            default_labels_enabled: ["exporter", "job", "instance", "level"]
                .into_iter()
                .map(|k| (k.to_string(), true))
                .collect(),
            retry_on_failure: RetrySettings::default(),
            sending_queue: QueueSettings::default(),
        }
    }
}

/// Which default labels are on (a label missing from `default_labels_enabled` is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultLabels {
    pub exporter: bool,
    pub job: bool,
    pub instance: bool,
    pub level: bool,
}

impl Default for DefaultLabels {
    fn default() -> Self {
        DefaultLabels {
            exporter: true,
            job: true,
            instance: true,
            level: true,
        }
    }
}

impl Config {
    pub fn default_labels(&self) -> DefaultLabels {
        let on = |k: &str| self.default_labels_enabled.get(k).copied().unwrap_or(true);
        DefaultLabels {
            exporter: on("exporter"),
            job: on("job"),
            instance: on("instance"),
            level: on("level"),
        }
    }

    pub fn compression(&self) -> Result<HttpCompression, String> {
        self.client.compression()
    }

    /// The connection keys, for [`http_client::build_client`].
    pub fn client_settings(&self) -> ClientSettings<'_> {
        self.client.settings()
    }
}

impl http_client::WithClient for Config {
    const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
    fn client_mut(&mut self) -> &mut ClientConfig {
        &mut self.client
    }
}

impl ComponentConfig for Config {
    /// Go's `Config.Validate` (queue first, then the endpoint) plus the client checks.
    fn validate(&self) -> Result<(), String> {
        self.sending_queue
            .validate()
            .map_err(|e| format!("queue settings has invalid configuration: {e}"))?;
        if self.client.endpoint.is_empty() || http_client::check_url(&self.client.endpoint).is_err()
        {
            return Err("\"endpoint\" must be a valid URL".into());
        }
        self.client.validate()?;
        self.retry_on_failure.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config = http_client::decode(&v, "exporters::loki").map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn endpoint_is_required_with_gos_message() {
        assert_eq!(cfg("{}").unwrap_err(), "\"endpoint\" must be a valid URL");
        assert_eq!(
            cfg("endpoint: not a url").unwrap_err(),
            "\"endpoint\" must be a valid URL"
        );
        cfg("endpoint: http://loki:3100/loki/api/v1/push").unwrap();
    }

    #[test]
    fn defaults_match_gos_create_default_config() {
        let c = cfg("endpoint: http://loki:3100/loki/api/v1/push").unwrap();
        assert_eq!(
            c.client_settings().timeout,
            std::time::Duration::from_secs(30)
        );
        assert_eq!(c.compression().unwrap(), HttpCompression::None);
        assert_eq!(c.default_labels(), DefaultLabels::default());
        assert!(c.sending_queue.enabled);
        assert!(c.retry_on_failure.enabled);
    }

    #[test]
    fn default_labels_are_on_unless_set_false() {
        let c = cfg(
            "endpoint: http://l/x\ndefault_labels_enabled: {exporter: false, job: true, level: false}",
        )
        .unwrap();
        assert_eq!(
            c.default_labels(),
            DefaultLabels {
                exporter: false,
                job: true,
                instance: true,
                level: false,
            }
        );
    }

    #[test]
    fn client_keys_of_confighttp_are_accepted() {
        cfg("endpoint: https://loki:3100/loki/api/v1/push\nheaders: {X-Scope-OrgID: acme}\ntimeout: 10s\ntls: {insecure_skip_verify: true}\nread_buffer_size: 123\nwrite_buffer_size: 345\nmax_idle_conns: 10\nidle_conn_timeout: 30s\ncompression: gzip\nsending_queue: {num_consumers: 2, queue_size: 10}\nretry_on_failure: {initial_interval: 10s, max_interval: 60s, max_elapsed_time: 10m}")
            .unwrap();
        assert!(
            cfg("endpoint: http://l/x\nformat: json")
                .unwrap_err()
                .contains("format")
        );
        assert!(
            cfg("endpoint: http://l/x\nsending_queue: {queue_size: 0}")
                .unwrap_err()
                .starts_with("queue settings has invalid configuration: ")
        );
    }
}
