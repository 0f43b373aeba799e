//! `embedded_store` extension settings.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the query APIs listen (Jaeger's query port by default).
    pub endpoint: String,
    /// Data directory (created when missing); ignored with `in_memory`.
    pub directory: String,
    /// Keep everything in memory: nothing survives a restart.
    pub in_memory: bool,
    /// Size cap of the data (blocks and WAL) in MiB; the oldest data is evicted first.
    pub max_size_mib: u64,
    /// Data older than this is evicted (`0s`: no age limit).
    pub retention: ::config::Duration,
    /// How often the write-ahead log is synced to disk: at most this much is lost in a power
    /// loss (nothing in a process kill).
    pub flush_interval: ::config::Duration,
    /// Unsealed data is written to a compressed block at this age at the latest.
    pub block_duration: ::config::Duration,
    /// Derive RED metrics (`traces_span_metrics_*`) and service-graph edges
    /// (`traces_service_graph_*`) from the stored spans, for Grafana's and Jaeger's views.
    pub derived_metrics: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: "localhost:16686".into(),
            directory: "ferrotel-data".into(),
            in_memory: false,
            max_size_mib: 1024,
            retention: ::config::Duration(std::time::Duration::from_secs(7 * 24 * 3600)),
            flush_interval: ::config::Duration(std::time::Duration::from_secs(1)),
            block_duration: ::config::Duration(std::time::Duration::from_secs(120)),
            derived_metrics: true,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("endpoint must not be empty".into());
        }
        if !self.in_memory && self.directory.is_empty() {
            return Err("directory must be set unless in_memory is true".into());
        }
        if self.max_size_mib == 0 {
            return Err("max_size_mib must be positive".into());
        }
        if self.flush_interval.0.is_zero() {
            return Err("flush_interval must be positive".into());
        }
        if self.block_duration.0.is_zero() {
            return Err("block_duration must be positive".into());
        }
        Ok(())
    }
}
