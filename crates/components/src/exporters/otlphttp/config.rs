//! `otlp_http` exporter config: Go `confighttp.ClientConfig` keys plus the OTLP/HTTP ones
//! (per-signal endpoints, `encoding`) and the exporter helper's `retry_on_failure` and
//! `sending_queue` (otelcol.md §6 otlp_http).

use std::collections::BTreeMap;

use pdata::Signal;
use runtime::ComponentConfig;
use runtime::exporterhelper::{QueueSettings, RetrySettings};
use serde::Deserialize;

use crate::compression::CompressionParams;
use crate::exporters::otlp::tls::TlsClientSettings;
pub use crate::util::http_client::HttpCompression;
use crate::util::http_client::{self, ClientSettings, check_url};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Base URL; `/v1/traces` etc. is appended.
    pub endpoint: String,
    pub traces_endpoint: String,
    pub metrics_endpoint: String,
    pub logs_endpoint: String,
    /// Accepted: profiles are not a signal of this build.
    pub profiles_endpoint: String,
    pub encoding: Encoding,
    /// `gzip` (default), `zstd`, `zlib`, `deflate`, `snappy`, `x-snappy-framed`, `lz4`,
    /// `none` / `""`.
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
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            profiles_endpoint: String::new(),
            encoding: Encoding::Proto,
            compression: "gzip".into(),
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

impl Config {
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

    /// The URL a signal is posted to, as Go's `composeSignalURL`.
    pub fn signal_url(&self, signal: Signal) -> Result<String, String> {
        let (over, name) = match signal {
            Signal::Traces => (&self.traces_endpoint, "traces"),
            Signal::Metrics => (&self.metrics_endpoint, "metrics"),
            Signal::Logs => (&self.logs_endpoint, "logs"),
        };
        let url = if !over.is_empty() {
            over.clone()
        } else if self.endpoint.is_empty() {
            return Err(format!(
                "either endpoint or {name}_endpoint must be specified"
            ));
        } else if self.endpoint.ends_with('/') {
            format!("{}v1/{name}", self.endpoint)
        } else {
            format!("{}/v1/{name}", self.endpoint)
        };
        check_url(&url)?;
        Ok(url)
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty()
            && self.traces_endpoint.is_empty()
            && self.metrics_endpoint.is_empty()
            && self.logs_endpoint.is_empty()
            && self.profiles_endpoint.is_empty()
        {
            return Err("at least one endpoint must be specified".into());
        }
        for url in [
            &self.endpoint,
            &self.traces_endpoint,
            &self.metrics_endpoint,
            &self.logs_endpoint,
        ] {
            if !url.is_empty() {
                check_url(url)?;
            }
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
        self.sending_queue.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config = config::decode(&v, "exporters::otlp_http").map_err(|e| e.to_string())?;
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
        assert_eq!(c.timeout.0, std::time::Duration::from_secs(30));
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
