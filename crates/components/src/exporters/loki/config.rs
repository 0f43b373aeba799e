//! `loki` exporter config: Go's `lokiexporter.Config` (confighttp client keys squashed in,
//! `sending_queue`, `retry_on_failure`, `default_labels_enabled`) with the defaults of its
//! `createDefaultConfig` (timeout 30s, no body compression besides snappy).

use std::collections::BTreeMap;

use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::compression::CompressionParams;
use crate::exporters::otlp::tls::TlsClientSettings;
use crate::util::http_client::{self, ClientSettings, HttpCompression};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The push URL, e.g. `http://loki:3100/loki/api/v1/push`, used as it is.
    pub endpoint: String,
    /// `exporter`, `job`, `instance`, `level`: a label is added unless set to `false` here.
    pub default_labels_enabled: BTreeMap<String, bool>,
    /// confighttp's body compression, on top of the snappy of the push format (Go's default
    /// for this exporter: none).
    pub compression: String,
    pub compression_params: CompressionParams,
    pub headers: BTreeMap<String, String>,
    /// The HTTP client's timeout for a whole request (the helper's own timeout is off).
    pub timeout: config::Duration,
    pub tls: TlsClientSettings,
    pub proxy_url: String,
    pub read_buffer_size: config::ByteSize,
    pub write_buffer_size: config::ByteSize,
    pub max_idle_conns: Option<usize>,
    pub max_idle_conns_per_host: Option<usize>,
    pub max_conns_per_host: Option<usize>,
    pub idle_conn_timeout: Option<config::Duration>,
    pub disable_keep_alives: bool,
    pub http2_read_idle_timeout: Option<config::Duration>,
    pub http2_ping_timeout: Option<config::Duration>,
    pub force_attempt_http2: Option<bool>,
    pub cookies: Option<serde_json::Value>,
    /// Authenticator extension id: not supported yet.
    pub auth: Option<serde_json::Value>,
    pub middlewares: Vec<serde_json::Value>,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            default_labels_enabled: ["exporter", "job", "instance", "level"]
                .into_iter()
                .map(|k| (k.to_string(), true))
                .collect(),
            compression: String::new(),
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            timeout: config::Duration::from_secs(30),
            tls: TlsClientSettings::default(),
            proxy_url: String::new(),
            read_buffer_size: config::ByteSize(0),
            write_buffer_size: config::ByteSize(512 * 1024),
            max_idle_conns: None,
            max_idle_conns_per_host: None,
            max_conns_per_host: None,
            idle_conn_timeout: None,
            disable_keep_alives: false,
            http2_read_idle_timeout: None,
            http2_ping_timeout: None,
            force_attempt_http2: None,
            cookies: None,
            auth: None,
            middlewares: Vec::new(),
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
        HttpCompression::parse(&self.compression)
    }

    /// The connection keys, for [`http_client::build_client`].
    pub fn client_settings(&self) -> ClientSettings<'_> {
        ClientSettings {
            timeout: self.timeout.0,
            tls: &self.tls,
            proxy_url: &self.proxy_url,
            max_idle_conns: self.max_idle_conns,
            max_idle_conns_per_host: self.max_idle_conns_per_host,
            idle_conn_timeout: self.idle_conn_timeout.map(|d| d.0),
            disable_keep_alives: self.disable_keep_alives,
            http2_read_idle_timeout: self.http2_read_idle_timeout.map(|d| d.0),
            http2_ping_timeout: self.http2_ping_timeout.map(|d| d.0),
        }
    }
}

impl ComponentConfig for Config {
    /// Go's `Config.Validate` (queue first, then the endpoint) plus the client checks.
    fn validate(&self) -> Result<(), String> {
        self.sending_queue
            .validate()
            .map_err(|e| format!("queue settings has invalid configuration: {e}"))?;
        if self.endpoint.is_empty() || http_client::check_url(&self.endpoint).is_err() {
            return Err("\"endpoint\" must be a valid URL".into());
        }
        if let Some(codec) = self.compression()?.codec() {
            codec.validate_level(self.compression_params.level)?;
        }
        if self.auth.is_some() {
            return Err("auth: authenticator extensions are not supported yet".into());
        }
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        http_client::validate(&self.proxy_url, &self.headers, &self.tls)?;
        self.retry_on_failure.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config = config::decode(&v, "exporters::loki").map_err(|e| e.to_string())?;
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
        assert_eq!(c.timeout.0, std::time::Duration::from_secs(30));
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
