//! `delta_to_cumulative` settings, with the Go processor's keys, defaults and errors.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A stream that receives no point for this long is forgotten (default 5m).
    pub max_stale: config::Duration,
    /// Streams tracked at most; points of further new streams are dropped. Go's default is
    /// the largest int (no limit but `max_stale`).
    pub max_streams: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_stale: config::Duration::from_secs(300),
            max_streams: i64::MAX,
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.max_stale.0.is_zero() {
            return Err(format!(
                "max_stale must be a positive duration (got {})",
                self.max_stale
            ));
        }
        if self.max_streams < 0 {
            return Err(format!(
                "max_streams must be a positive number (got {})",
                self.max_streams
            ));
        }
        Ok(())
    }
}
