//! `otlp_http` exporter config: Go `confighttp.ClientConfig` keys plus the OTLP/HTTP ones
//! (per-signal endpoints, `encoding`) and the exporter helper's `retry_on_failure` and
//! `sending_queue` (otelcol.md §6 otlp_http).

use pdata::Signal;
use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

pub use crate::util::http_client::HttpCompression;
use crate::util::http_client::{self, ClientConfig, ClientSettings, check_url};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The `confighttp` client keys, squashed in as Go does (decoded by
    /// `http_client::decode`).
    #[serde(skip)]
    pub client: ClientConfig,
    pub traces_endpoint: String,
    pub metrics_endpoint: String,
    pub logs_endpoint: String,
    /// Accepted: profiles are not a signal of this build.
    pub profiles_endpoint: String,
    pub encoding: Encoding,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Proto,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client: ClientConfig::with_defaults(
                <Config as http_client::WithClient>::DEFAULT_TIMEOUT,
                "gzip",
            ),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            profiles_endpoint: String::new(),
            encoding: Encoding::Proto,
            retry_on_failure: RetrySettings::default(),
            sending_queue: QueueSettings::default(),
        }
    }
}

impl Config {
    pub fn compression(&self) -> Result<HttpCompression, String> {
        self.client.compression()
    }

    /// The connection keys, for [`http_client::build_client`].
    pub fn client_settings(&self) -> ClientSettings<'_> {
        self.client.settings()
    }

    /// The URL a signal is posted to, as Go's `composeSignalURL`.
    pub fn signal_url(&self, signal: Signal) -> Result<String, String> {
        let (over, name, path) = match signal {
            Signal::Traces => (&self.traces_endpoint, "traces", "v1/traces"),
            Signal::Metrics => (&self.metrics_endpoint, "metrics", "v1/metrics"),
            Signal::Logs => (&self.logs_endpoint, "logs", "v1/logs"),
            Signal::Profiles => (
                &self.profiles_endpoint,
                "profiles",
                "v1development/profiles",
            ),
        };
        let url = if !over.is_empty() {
            over.clone()
        } else if self.client.endpoint.is_empty() {
            return Err(format!(
                "either endpoint or {name}_endpoint must be specified"
            ));
        } else if self.client.endpoint.ends_with('/') {
            format!("{}{path}", self.client.endpoint)
        } else {
            format!("{}/{path}", self.client.endpoint)
        };
        check_url(&url)?;
        Ok(url)
    }
}

impl http_client::WithClient for Config {
    const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
    const DEFAULT_COMPRESSION: &'static str = "gzip";
    fn client_mut(&mut self) -> &mut ClientConfig {
        &mut self.client
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.client.endpoint.is_empty()
            && self.traces_endpoint.is_empty()
            && self.metrics_endpoint.is_empty()
            && self.logs_endpoint.is_empty()
            && self.profiles_endpoint.is_empty()
        {
            return Err("at least one endpoint must be specified".into());
        }
        for url in [
            &self.client.endpoint,
            &self.traces_endpoint,
            &self.metrics_endpoint,
            &self.logs_endpoint,
        ] {
            if !url.is_empty() {
                check_url(url)?;
            }
        }
        self.client.validate()?;
        self.retry_on_failure.validate()?;
        self.sending_queue.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config =
            http_client::decode(&v, "exporters::otlp_http").map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn signal_paths_are_appended_to_endpoint() {
        let c = cfg("endpoint: http://collector:4318").unwrap();
        assert_eq!(
            c.signal_url(Signal::Traces).unwrap(),
            "http://collector:4318/v1/traces"
        );
        let c = cfg("endpoint: https://collector:4318/otlp/").unwrap();
        assert_eq!(
            c.signal_url(Signal::Logs).unwrap(),
            "https://collector:4318/otlp/v1/logs"
        );
    }

    #[test]
    fn per_signal_endpoint_overrides_and_is_used_as_is() {
        let c =
            cfg("endpoint: http://a:4318\nmetrics_endpoint: http://b:9090/api/v1/otlp").unwrap();
        assert_eq!(
            c.signal_url(Signal::Metrics).unwrap(),
            "http://b:9090/api/v1/otlp"
        );
        assert_eq!(
            c.signal_url(Signal::Traces).unwrap(),
            "http://a:4318/v1/traces"
        );
    }

    #[test]
    fn missing_endpoints_are_config_errors_with_go_messages() {
        assert_eq!(
            cfg("compression: gzip").unwrap_err(),
            "at least one endpoint must be specified"
        );
        let c = cfg("traces_endpoint: http://a/v1/traces").unwrap();
        assert_eq!(
            c.signal_url(Signal::Logs).unwrap_err(),
            "either endpoint or logs_endpoint must be specified"
        );
    }

    #[test]
    fn compression_level_is_validated_for_the_configured_codec() {
        cfg("endpoint: http://a:4318\ncompression: deflate\ncompression_params: {level: 9}")
            .unwrap();
        assert_eq!(
            cfg("endpoint: http://a:4318\ncompression: lz4\ncompression_params: {level: 3}")
                .unwrap_err(),
            "compression_params: unsupported compression level 3 for lz4"
        );
        assert!(
            cfg("endpoint: http://a:4318\ncompression: gzip\ncompression_params: {level: 42}")
                .is_err()
        );
    }

    #[test]
    fn defaults_match_the_go_collector() {
        let c = cfg("endpoint: http://a:4318").unwrap();
        assert_eq!(c.compression().unwrap(), HttpCompression::Gzip);
        assert_eq!(c.encoding, Encoding::Proto);
        assert_eq!(
            c.client_settings().timeout,
            std::time::Duration::from_secs(30)
        );
    }

    #[test]
    fn go_client_keys_are_accepted() {
        cfg("endpoint: http://a:4318\nencoding: json\ncompression: zstd\nmax_idle_conns: 10\nidle_conn_timeout: 30s\nread_buffer_size: 0\nwrite_buffer_size: 512KiB\nheaders: {x-token: abc}\ndisable_keep_alives: false\nhttp2_ping_timeout: 5s\ncompression_params: {level: 1}")
            .unwrap();
        assert!(cfg("endpoint: http://a:4318\nencoding: xml").is_err());
        assert!(
            cfg("endpoint: http://a:4318\ncompression: br")
                .unwrap_err()
                .contains("unsupported compression")
        );
    }
}
