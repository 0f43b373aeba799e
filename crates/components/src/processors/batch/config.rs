//! `batch` processor settings: the Go collector's keys, defaults and validation messages.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Time after which a batch is sent regardless of size; 0 sends every batch at once
    /// (split only by `send_batch_max_size`).
    pub timeout: config::Duration,
    /// Items (spans, data points, log records) that trigger a send. A trigger, not a cap.
    pub send_batch_size: u32,
    /// Largest batch sent; bigger ones are split. 0 = no limit.
    pub send_batch_max_size: u32,
    /// Client metadata keys to batch by (see the module documentation).
    pub metadata_keys: Vec<String>,
    pub metadata_cardinality_limit: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeout: config::Duration::from_millis(200),
            send_batch_size: 8192,
            send_batch_max_size: 0,
            metadata_keys: Vec::new(),
            metadata_cardinality_limit: 1000,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.send_batch_max_size > 0 && self.send_batch_max_size < self.send_batch_size {
            return Err("send_batch_max_size must be greater or equal to send_batch_size".into());
        }
        let mut seen = std::collections::HashSet::new();
        for key in &self.metadata_keys {
            if !seen.insert(key.to_ascii_lowercase()) {
                return Err(format!(
                    "duplicate entry in metadata_keys: {key:?} (case-insensitive)"
                ));
            }
        }
        Ok(())
    }
}
