//! `zipkin` receiver config: Go's `zipkinreceiver.Config` (confighttp.ServerConfig squashed
//! in, `parse_string_tags`), default endpoint `localhost:9411`.

use std::collections::BTreeMap;

use config::{ByteSize, Duration};
use runtime::ComponentConfig;
use serde::Deserialize;

use crate::receivers::otlp::config::{
    AuthConfig, CorsConfig, DEFAULT_COMPRESSION_ALGORITHMS, TlsServerConfig,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub endpoint: String,
    /// Turn tag strings that look like numbers or booleans into typed attributes.
    pub parse_string_tags: bool,
    /// Applied to the body after decompression.
    pub max_request_body_size: ByteSize,
    #[serde(deserialize_with = "config::present_as_default")]
    pub cors: Option<CorsConfig>,
    pub response_headers: BTreeMap<String, String>,
    /// Request headers travel with the batch (Go's `client.Info`).
    pub include_metadata: bool,
    pub compression_algorithms: Vec<String>,
    pub read_timeout: Duration,
    pub read_header_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
    pub keep_alives_enabled: bool,
    #[serde(deserialize_with = "config::present_as_default")]
    pub tls: Option<TlsServerConfig>,
    pub auth: Option<AuthConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:9411".into(),
            parse_string_tags: false,
            max_request_body_size: ByteSize(20 * 1024 * 1024),
            cors: None,
            response_headers: BTreeMap::new(),
            include_metadata: false,
            compression_algorithms: DEFAULT_COMPRESSION_ALGORITHMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            read_timeout: Duration::default(),
            read_header_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            keep_alives_enabled: true,
            tls: None,
            auth: None,
        }
    }
}

impl Config {
    pub fn max_body_size(&self) -> usize {
        match usize::try_from(self.max_request_body_size.0) {
            Ok(0) => 20 * 1024 * 1024,
            Ok(n) => n,
            Err(_) => usize::MAX,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("endpoint: must not be empty".into());
        }
        for alg in &self.compression_algorithms {
            if !DEFAULT_COMPRESSION_ALGORITHMS.contains(&alg.as_str()) {
                return Err(format!(
                    "compression_algorithms: unsupported compression type {alg:?}"
                ));
            }
        }
        if self
            .cors
            .as_ref()
            .is_some_and(|c| !c.allowed_origins.is_empty())
        {
            return Err("cors: is not supported yet by the zipkin receiver".into());
        }
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| format!("tls: {e}"))?;
        }
        for k in self.response_headers.keys() {
            http::HeaderName::try_from(k.as_str())
                .map_err(|e| format!("response_headers: invalid header name {k:?}: {e}"))?;
        }
        Ok(())
    }
}
