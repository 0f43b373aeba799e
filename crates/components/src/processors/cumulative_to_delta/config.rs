//! `cumulative_to_delta` settings, with the Go processor's keys, defaults and errors.

use runtime::ComponentConfig;
use serde::Deserialize;

use crate::filtering::RegexpConfig;

/// The metric types `metric_types` may name (Go's lower-cased `pmetric.MetricType`s), in
/// the sorted order Go lists them in its error.
pub const METRIC_TYPES: [&str; 3] = ["exponentialhistogram", "histogram", "sum"];

/// An `include` or `exclude` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchMetrics {
    pub match_type: String,
    pub regexp: Option<RegexpConfig>,
    pub metrics: Vec<String>,
    pub metric_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long a stream is remembered past its last point; 0 = forever.
    pub max_staleness: config::Duration,
    /// `auto` | `keep` | `drop`.
    pub initial_value: String,
    pub include: MatchMetrics,
    pub exclude: MatchMetrics,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_staleness: config::Duration::ZERO,
            initial_value: "auto".into(),
            include: MatchMetrics::default(),
            exclude: MatchMetrics::default(),
        }
    }
}

fn check_types(block: &str, types: &[String]) -> Result<(), String> {
    for t in types {
        if !METRIC_TYPES.contains(&t.to_lowercase().as_str()) {
            return Err(format!(
                "found invalid metric type in {block}.metric_types: {t}. Valid values are [{}]",
                METRIC_TYPES.join(" ")
            ));
        }
    }
    Ok(())
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        metricstreams::to_delta::InitialValue::parse(&self.initial_value)?;
        let (inc, exc) = (&self.include, &self.exclude);
        if (!inc.metrics.is_empty() && inc.match_type.is_empty())
            || (!exc.metrics.is_empty() && exc.match_type.is_empty())
        {
            return Err("match_type must be set if metrics are supplied".into());
        }
        if (!inc.match_type.is_empty() && inc.metrics.is_empty())
            || (!exc.match_type.is_empty() && exc.metrics.is_empty())
        {
            return Err("metrics must be supplied if match_type is set".into());
        }
        check_types("exclude", &exc.metric_types)?;
        check_types("include", &inc.metric_types)?;
        let stale = self.max_staleness.0;
        if !stale.is_zero() && stale < std::time::Duration::from_millis(1) {
            let n = stale.as_nanos();
            // A bare number is nanoseconds; a small one was most likely meant as seconds.
            if (1..=86400).contains(&n) {
                return Err(format!(
                    "max_staleness ({}) appears to be missing a unit suffix; did you mean '{n}s' or '{}'? Use '0' for infinite retention",
                    self.max_staleness,
                    config::Duration::from_secs(n as u64),
                ));
            }
            return Err(format!(
                "max_staleness ({}) is unreasonably small; duration values require a unit suffix (e.g., '300s', '5m', '1h') or use '0' for infinite retention",
                self.max_staleness
            ));
        }
        Ok(())
    }
}
