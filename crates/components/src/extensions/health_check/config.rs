//! `health_check` settings: the contrib extension's keys, defaults and validation messages,
//! plus the HTTP server keys people set on it.

use std::collections::BTreeMap;

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address; an empty host (`:13133`) means every interface.
    pub endpoint: String,
    /// The path served. As in Go's ServeMux, a path ending in `/` also serves everything
    /// below it (so the default `/` answers on any path).
    pub path: String,
    /// Replaces the JSON body with fixed text.
    pub response_body: Option<ResponseBody>,
    /// Accepted and ignored: the Go implementation is documented as broken.
    pub check_collector_pipeline: CheckCollectorPipeline,
    /// Headers added to every response.
    pub response_headers: BTreeMap<String, String>,
    /// confighttp `tls`: the endpoint is served over TLS.
    pub tls: Option<crate::util::tls::TlsServerConfig>,
    /// Refused in validation until supported: silently serving without it would be wrong.
    pub auth: Option<config::Value>,
    // HTTP server settings accepted for compatibility, without effect on a health endpoint.
    pub cors: Option<config::Value>,
    pub include_metadata: Option<config::Value>,
    pub max_request_body_size: Option<config::Value>,
    pub compression_algorithms: Option<config::Value>,
    pub read_timeout: Option<config::Value>,
    pub read_header_timeout: Option<config::Value>,
    pub write_timeout: Option<config::Value>,
    pub idle_timeout: Option<config::Value>,
    pub keep_alives_enabled: Option<config::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseBody {
    pub healthy: String,
    pub unhealthy: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckCollectorPipeline {
    pub enabled: bool,
    pub interval: String,
    pub exporter_failure_threshold: i64,
}

impl Default for CheckCollectorPipeline {
    fn default() -> Self {
        CheckCollectorPipeline {
            enabled: false,
            interval: "5m".into(),
            exporter_failure_threshold: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:13133".into(),
            path: "/".into(),
            response_body: None,
            check_collector_pipeline: CheckCollectorPipeline::default(),
            response_headers: BTreeMap::new(),
            tls: None,
            auth: None,
            cors: None,
            include_metadata: None,
            max_request_body_size: None,
            compression_algorithms: None,
            read_timeout: None,
            read_header_timeout: None,
            write_timeout: None,
            idle_timeout: None,
            keep_alives_enabled: None,
        }
    }
}

impl ComponentConfig for Config {
    /// The contrib extension's checks and messages, in its order.
    fn validate(&self) -> Result<(), String> {
        config::Duration::parse(&self.check_collector_pipeline.interval)?;
        if self.endpoint.is_empty() {
            return Err("bad config: endpoint must be specified".into());
        }
        if self.check_collector_pipeline.exporter_failure_threshold <= 0 {
            return Err("bad config: exporter_failure_threshold expects a positive number".into());
        }
        if !self.path.starts_with('/') {
            return Err("bad config: path must start with /".into());
        }
        let present = |v: &Option<config::Value>| v.as_ref().is_some_and(|v| !v.is_null());
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| format!("tls: {e}"))?;
        }
        if present(&self.auth) {
            return Err("auth: not supported by ferrotel's health_check yet".into());
        }
        Ok(())
    }
}
