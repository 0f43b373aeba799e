//! `service_graph` config: Go's `servicegraphconnector.Config` (contrib v0.160) with the
//! defaults its `newConnector` fills in.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub ttl: config::Duration,
    pub max_items: i64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            ttl: config::Duration::from_secs(2),
            max_items: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Durations; seconds as bounds (Go's default when unset).
    pub latency_histogram_buckets: Option<Vec<config::Duration>>,
    /// Exponential histograms instead of explicit buckets when > 0.
    pub exponential_histogram_max_size: i32,
    /// Attribute names, looked up in the resource first, then the span.
    pub dimensions: Vec<String>,
    pub store: StoreConfig,
    pub cache_loop: config::Duration,
    pub store_expiration_loop: config::Duration,
    /// `None`: Go's default list; an empty list turns virtual nodes off.
    pub virtual_node_peer_attributes: Option<Vec<String>>,
    pub virtual_node_extra_label: bool,
    /// `None`: 60s; zero: flush after every batch of spans.
    pub metrics_flush_interval: Option<config::Duration>,
    pub metrics_timestamp_offset: config::Duration,
    /// Deprecated in Go for `database_name_attributes`.
    pub database_name_attribute: Option<String>,
    pub database_name_attributes: Vec<String>,
    /// Deprecated and ignored in Go.
    pub metrics_exporter: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            latency_histogram_buckets: None,
            exponential_histogram_max_size: 0,
            dimensions: Vec::new(),
            store: StoreConfig::default(),
            cache_loop: config::Duration::from_secs(60),
            store_expiration_loop: config::Duration::from_secs(2),
            virtual_node_peer_attributes: None,
            virtual_node_extra_label: false,
            metrics_flush_interval: None,
            metrics_timestamp_offset: config::Duration::ZERO,
            database_name_attribute: None,
            database_name_attributes: Vec::new(),
            metrics_exporter: None,
        }
    }
}

/// Go's `defaultLatencyHistogramBuckets` (seconds).
pub const DEFAULT_BUCKETS: [f64; 16] = [
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
];

impl Config {
    /// Explicit bounds in seconds, or `None` for exponential histograms.
    pub fn bounds(&self) -> Option<Vec<f64>> {
        if self.exponential_histogram_max_size > 0 {
            return None;
        }
        Some(match &self.latency_histogram_buckets {
            Some(b) => b.iter().map(|d| d.0.as_secs_f64()).collect(),
            None => DEFAULT_BUCKETS.to_vec(),
        })
    }

    pub fn peer_attributes(&self) -> Vec<String> {
        self.virtual_node_peer_attributes
            .clone()
            .unwrap_or_else(|| {
                ["peer.service", "db.name", "db.system"]
                    .map(String::from)
                    .to_vec()
            })
    }

    pub fn database_name_attributes(&self) -> Vec<String> {
        if !self.database_name_attributes.is_empty() {
            return self.database_name_attributes.clone();
        }
        vec![
            self.database_name_attribute
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "db.name".into()),
        ]
    }

    pub fn flush_interval(&self) -> std::time::Duration {
        self.metrics_flush_interval
            .map_or(std::time::Duration::from_secs(60), |d| d.0)
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.exponential_histogram_max_size > 0 && self.latency_histogram_buckets.is_some() {
            return Err(
                "use either latency_histogram_buckets or exponential_histogram_max_size".into(),
            );
        }
        if self.exponential_histogram_max_size < 0 {
            return Err("exponential_histogram_max_size: must not be negative".into());
        }
        if self.store.max_items <= 0 {
            return Err("store::max_items: must be positive".into());
        }
        if self.store.ttl.0.is_zero() {
            return Err("store::ttl: must be positive".into());
        }
        Ok(())
    }
}
