//! `zipkin` exporter config: Go's `zipkinexporter.Config` (confighttp client keys squashed
//! in, `format`, `default_service_name`, `sending_queue`, `retry_on_failure`) with the
//! defaults of its `createDefaultConfig` (timeout 5s, format json).

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
    /// The spans URL, e.g. `http://zipkin:9411/api/v2/spans`, used as it is.
    pub endpoint: String,
    /// `json` or `proto`.
    pub format: String,
    /// The local service name of spans whose resource names none.
    pub default_service_name: String,
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
    pub auth: Option<serde_json::Value>,
    pub middlewares: Vec<serde_json::Value>,
    pub retry_on_failure: RetrySettings,
    pub sending_queue: QueueSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            format: "json".into(),
            default_service_name: "<missing service name>".into(),
            compression: String::new(),
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            timeout: config::Duration::from_secs(5),
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
    pub fn format(&self) -> Result<zipkin::Format, String> {
        match self.format.as_str() {
            "json" => Ok(zipkin::Format::Json),
            "proto" => Ok(zipkin::Format::Proto),
            other => Err(format!("{other} is not one of json or proto")),
        }
    }

    pub fn compression(&self) -> Result<HttpCompression, String> {
        HttpCompression::parse(&self.compression)
    }

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
    /// Go's `Validate` (`endpoint required`), the format check Go makes when creating the
    /// exporter (here at load, so `validate` reports it), and the client checks.
    fn validate(&self) -> Result<(), String> {
        self.sending_queue
            .validate()
            .map_err(|e| format!("queue settings has invalid configuration: {e}"))?;
        if self.endpoint.is_empty() {
            return Err("endpoint required".into());
        }
        http_client::check_url(&self.endpoint)?;
        self.format()?;
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
