//! `fluent_forward` config: Go's `fluentforwardreceiver.Config`, one key: `endpoint`
//! (`host:port` for TCP, with UDP heartbeats on the same port, or `unix://<path>` / an
//! absolute path for a Unix socket), default `localhost:8006`.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub endpoint: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:8006".into(),
        }
    }
}

impl Config {
    /// The Unix socket path when the endpoint names one (Go: a leading `/` or `unix://`).
    pub fn unix_path(&self) -> Option<&str> {
        if self.endpoint.starts_with('/') {
            Some(&self.endpoint)
        } else {
            self.endpoint.strip_prefix("unix://")
        }
    }
}

impl ComponentConfig for Config {}
