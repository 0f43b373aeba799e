//! `prometheus` exporter config: Go's `prometheusexporter.Config` (confighttp server keys
//! squashed in) with the defaults of its `createDefaultConfig`: `metric_expiration` 5m,
//! `add_metric_suffixes` on, no timestamps, no OpenMetrics.

use std::collections::BTreeMap;

use runtime::ComponentConfig;
use serde::Deserialize;

use crate::receivers::otlp::config::{AuthConfig, TlsServerConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where `/metrics` is served, e.g. `0.0.0.0:8889`.
    pub endpoint: String,
    pub namespace: String,
    pub const_labels: BTreeMap<String, String>,
    pub send_timestamps: bool,
    pub metric_expiration: config::Duration,
    pub resource_to_telemetry_conversion: Enabled,
    pub enable_open_metrics: bool,
    pub add_metric_suffixes: bool,
    /// Overrides `add_metric_suffixes` when set.
    pub translation_strategy: Option<String>,
    pub without_scope_info: bool,

    // confighttp.ServerConfig
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
    pub cors: Option<serde_json::Value>,
    pub max_request_body_size: Option<config::ByteSize>,
    pub include_metadata: bool,
    pub response_headers: BTreeMap<String, String>,
    pub compression_algorithms: Option<Vec<String>>,
    pub read_timeout: Option<config::Duration>,
    pub read_header_timeout: Option<config::Duration>,
    pub write_timeout: Option<config::Duration>,
    pub idle_timeout: Option<config::Duration>,
    pub keep_alives_enabled: Option<bool>,
    pub middlewares: Vec<serde_json::Value>,
}

/// `{enabled: bool}`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Enabled {
    pub enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: String::new(),
            namespace: String::new(),
            const_labels: BTreeMap::new(),
            send_timestamps: false,
            metric_expiration: config::Duration::from_secs(300),
            resource_to_telemetry_conversion: Enabled::default(),
            enable_open_metrics: false,
            add_metric_suffixes: true,
            translation_strategy: None,
            without_scope_info: false,
            tls: None,
            auth: None,
            cors: None,
            max_request_body_size: None,
            include_metadata: false,
            response_headers: BTreeMap::new(),
            compression_algorithms: None,
            read_timeout: None,
            read_header_timeout: None,
            write_timeout: None,
            idle_timeout: None,
            keep_alives_enabled: None,
            middlewares: Vec::new(),
        }
    }
}

impl Config {
    /// Whether unit and type suffixes are added (`translation_strategy` wins).
    pub fn with_suffixes(&self) -> bool {
        match self.translation_strategy.as_deref() {
            Some("UnderscoreEscapingWithoutSuffixes") => false,
            Some(_) => true,
            None => self.add_metric_suffixes,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("endpoint: must be set (the address to serve /metrics on)".into());
        }
        match self.translation_strategy.as_deref() {
            None
            | Some("UnderscoreEscapingWithSuffixes")
            | Some("UnderscoreEscapingWithoutSuffixes") => {}
            Some(s @ ("NoUTF8EscapingWithSuffixes" | "NoTranslation")) => {
                return Err(format!(
                    "translation_strategy: {s} (UTF-8 metric names) is not supported yet"
                ));
            }
            Some(other) => {
                return Err(format!("invalid translation_strategy: {other:?}"));
            }
        }
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| format!("tls: {e}"))?;
        }
        if self.auth.is_some() {
            return Err("auth: authenticator extensions are not supported yet".into());
        }
        if !self.middlewares.is_empty() {
            return Err("middlewares: are not supported yet".into());
        }
        crate::util::http_client::header_map(&self.response_headers)
            .map_err(|e| e.replace("headers:", "response_headers:"))?;
        for k in self.const_labels.keys() {
            promtranslate::naming::normalize_label(k).map_err(|e| format!("const_labels: {e}"))?;
        }
        Ok(())
    }
}
