//! `zpages` settings: the core extension's keys, defaults and validation message.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listen address; an empty host (`:55679`) means every interface.
    pub endpoint: String,
    pub expvar: Expvar,
    pub tls: Option<crate::util::tls::TlsServerConfig>,
    /// Refused until supported: serving without it would be wrong.
    pub auth: Option<config::Value>,
    // confighttp server settings accepted without effect on these pages.
    pub cors: Option<config::Value>,
    pub include_metadata: Option<config::Value>,
    pub max_request_body_size: Option<config::Value>,
    pub compression_algorithms: Option<config::Value>,
    pub read_timeout: Option<config::Value>,
    pub read_header_timeout: Option<config::Value>,
    pub write_timeout: Option<config::Value>,
    pub idle_timeout: Option<config::Value>,
    pub keep_alives_enabled: Option<config::Value>,
    pub response_headers: Option<config::Value>,
}

/// `expvar:`: serve `/debug/expvarz`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expvar {
    pub enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:55679".into(),
            expvar: Expvar::default(),
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
            response_headers: None,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("\"endpoint\" is required when using the \"zpages\" extension".into());
        }
        let present = |v: &Option<config::Value>| v.as_ref().is_some_and(|v| !v.is_null());
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| format!("tls: {e}"))?;
        }
        if present(&self.auth) {
            return Err("auth: not supported by ferrotel's zpages yet".into());
        }
        Ok(())
    }
}
