//! `span_metrics` config: Go's `spanmetricsconnector.Config` (contrib v0.160) with the
//! defaults of its `createDefaultConfig` and the checks of its `Validate`.

use runtime::ComponentConfig;
use serde::Deserialize;

pub const DEFAULT_NAMESPACE: &str = "traces.span.metrics";
const DELTA: &str = "AGGREGATION_TEMPORALITY_DELTA";

/// Go's `defaultHistogramBucketsMs`.
pub const DEFAULT_BUCKETS_MS: [f64; 16] = [
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];

/// The default dimensions every point has (before `exclude_dimensions`).
pub const SERVICE_NAME: &str = "service.name";
pub const SPAN_NAME: &str = "span.name";
pub const SPAN_KIND: &str = "span.kind";
pub const STATUS_CODE: &str = "status.code";
pub const COLLECTOR_INSTANCE_ID: &str = "collector.instance.id";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub name: String,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub dimensions: Vec<Dimension>,
    pub calls_dimensions: Vec<Dimension>,
    pub exclude_dimensions: Vec<String>,
    /// Deprecated in Go (v0.130) for `aggregation_cardinality_limit`; the attribute sets live
    /// with their series here, so there is no separate cache to size.
    pub dimensions_cache_size: Option<i64>,
    pub resource_metrics_cache_size: i64,
    pub resource_metrics_key_attributes: Vec<String>,
    pub aggregation_temporality: String,
    pub histogram: HistogramConfig,
    pub metrics_flush_interval: config::Duration,
    pub metrics_expiration: config::Duration,
    /// Drops a series (one dimension combination) not updated for this long; 0 = never.
    pub series_expiration: config::Duration,
    pub metric_timestamp_cache_size: Option<i64>,
    pub namespace: String,
    pub exemplars: ExemplarsConfig,
    pub events: EventsConfig,
    pub include_instrumentation_scope: Vec<String>,
    pub aggregation_cardinality_limit: i64,
    pub add_resource_attributes: bool,
    pub enable_metrics_sampling_method: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HistogramConfig {
    pub disable: bool,
    pub unit: Unit,
    pub explicit: Option<ExplicitConfig>,
    pub exponential: Option<ExponentialConfig>,
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExplicitConfig {
    pub buckets: Option<Vec<config::Duration>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExponentialConfig {
    /// 0 = go-expohisto's default, 160.
    pub max_size: i32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExemplarsConfig {
    pub enabled: bool,
    pub max_per_data_point: Option<i64>,
}

impl Default for ExemplarsConfig {
    fn default() -> Self {
        ExemplarsConfig {
            enabled: false,
            max_per_data_point: Some(5),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    pub enabled: bool,
    pub dimensions: Vec<Dimension>,
}

/// The duration unit (`ms` or `s`, any case), as Go's `metrics.Unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unit {
    #[default]
    Milliseconds,
    Seconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "ms",
            Unit::Seconds => "s",
        }
    }

    /// Nanoseconds per unit.
    pub fn nanos(self) -> f64 {
        match self {
            Unit::Milliseconds => 1e6,
            Unit::Seconds => 1e9,
        }
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unit, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "ms" => Ok(Unit::Milliseconds),
            "s" => Ok(Unit::Seconds),
            _ => Err(serde::de::Error::custom(format!(
                "unknown unit {s:?}, allowed units are \"ms\" and \"s\""
            ))),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dimensions: Vec::new(),
            calls_dimensions: Vec::new(),
            exclude_dimensions: Vec::new(),
            dimensions_cache_size: None,
            resource_metrics_cache_size: 1000,
            resource_metrics_key_attributes: Vec::new(),
            aggregation_temporality: "AGGREGATION_TEMPORALITY_CUMULATIVE".into(),
            histogram: HistogramConfig::default(),
            metrics_flush_interval: config::Duration::from_secs(60),
            metrics_expiration: config::Duration::ZERO,
            series_expiration: config::Duration::ZERO,
            metric_timestamp_cache_size: None,
            namespace: DEFAULT_NAMESPACE.into(),
            exemplars: ExemplarsConfig::default(),
            events: EventsConfig::default(),
            include_instrumentation_scope: Vec::new(),
            aggregation_cardinality_limit: 0,
            add_resource_attributes: false,
            enable_metrics_sampling_method: false,
        }
    }
}

impl Config {
    /// Go: any other string than the DELTA constant is cumulative.
    pub fn is_delta(&self) -> bool {
        self.aggregation_temporality == DELTA
    }

    pub fn delta_timestamp_cache_size(&self) -> i64 {
        self.metric_timestamp_cache_size.unwrap_or(1000)
    }

    /// The explicit bounds in the configured unit (Go's `durationsToUnits` / defaults).
    pub fn explicit_bounds(&self) -> Vec<f64> {
        let unit = self.histogram.unit;
        match self
            .histogram
            .explicit
            .as_ref()
            .and_then(|e| e.buckets.as_ref())
        {
            Some(b) => b
                .iter()
                .map(|d| d.0.as_nanos() as f64 / unit.nanos())
                .collect(),
            None => DEFAULT_BUCKETS_MS
                .iter()
                .map(|ms| match unit {
                    Unit::Milliseconds => *ms,
                    Unit::Seconds => ms / 1000.0,
                })
                .collect(),
        }
    }

    /// The exponential histogram's maximum bucket count, when that kind is configured.
    pub fn exponential_max_size(&self) -> Option<usize> {
        self.histogram.exponential.as_ref().map(|e| {
            if e.max_size > 0 {
                e.max_size as usize
            } else {
                160
            }
        })
    }

    /// `None`: unlimited (Go's nil).
    pub fn max_exemplars(&self) -> Option<usize> {
        self.exemplars
            .max_per_data_point
            .map(|n| usize::try_from(n).unwrap_or(0))
    }
}

/// Go's `validateDimensions`: no name twice, none equal to a default dimension.
fn validate_dimensions(dims: &[Dimension]) -> Result<(), String> {
    let mut seen: Vec<&str> = vec![SERVICE_NAME, SPAN_KIND, STATUS_CODE, SPAN_NAME];
    for d in dims {
        if seen.contains(&d.name.as_str()) {
            return Err(format!("duplicate dimension name {}", d.name));
        }
        seen.push(&d.name);
    }
    Ok(())
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        validate_dimensions(&self.dimensions)
            .map_err(|e| format!("failed validating dimensions: {e}"))?;
        if self.events.enabled {
            if self.events.dimensions.is_empty() {
                return Err(
                    "failed validating event dimensions: no dimensions configured for events"
                        .into(),
                );
            }
            validate_dimensions(&self.events.dimensions)
                .map_err(|e| format!("failed validating event dimensions: {e}"))?;
        }
        if self.histogram.explicit.is_some() && self.histogram.exponential.is_some() {
            return Err("use either `explicit` or `exponential` buckets histogram".into());
        }
        if self.is_delta() && self.delta_timestamp_cache_size() <= 0 {
            return Err(format!(
                "invalid delta timestamp cache size: {}, the maximum number of the items in the cache should be positive",
                self.delta_timestamp_cache_size()
            ));
        }
        if self.aggregation_cardinality_limit < 0 {
            return Err(format!(
                "invalid aggregation_cardinality_limit: {}, the limit should be positive",
                self.aggregation_cardinality_limit
            ));
        }
        if self.resource_metrics_cache_size <= 0 {
            return Err(format!(
                "invalid cache size: {}, the maximum number of the items in the cache should be positive",
                self.resource_metrics_cache_size
            ));
        }
        if let Some(n) = self.dimensions_cache_size
            && n <= 0
        {
            return Err(format!(
                "invalid cache size: {n}, the maximum number of the items in the cache should be positive"
            ));
        }
        if self.enable_metrics_sampling_method {
            return Err("enable_metrics_sampling_method: is not supported yet".into());
        }
        if self.metrics_flush_interval.0.is_zero() {
            return Err(
                "invalid metrics_flush_interval: 0s, the duration should be positive".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> Result<Config, String> {
        let v = config::Value::from_yaml_str(yaml)?;
        let c: Config =
            config::decode(&v, "connectors::span_metrics").map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_are_gos() {
        let c = cfg("{}").unwrap();
        assert_eq!(c.namespace, "traces.span.metrics");
        assert_eq!(
            c.metrics_flush_interval.0,
            std::time::Duration::from_secs(60)
        );
        assert_eq!(c.histogram.unit, Unit::Milliseconds);
        assert_eq!(c.explicit_bounds(), DEFAULT_BUCKETS_MS.to_vec());
        assert!(!c.is_delta());
        assert_eq!(c.max_exemplars(), Some(5));
        assert_eq!(c.exponential_max_size(), None);
    }

    #[test]
    fn buckets_are_durations_converted_to_the_unit() {
        let c = cfg("histogram: {explicit: {buckets: [2ms, 1s, 1400ms, 100us]}}").unwrap();
        assert_eq!(c.explicit_bounds(), vec![2.0, 1000.0, 1400.0, 0.1]);
        let c = cfg("histogram: {unit: S, explicit: {buckets: [2ms, 1s]}}").unwrap();
        assert_eq!(c.explicit_bounds(), vec![0.002, 1.0]);
        let c = cfg("histogram: {unit: s}").unwrap();
        assert_eq!(c.explicit_bounds()[0], 0.002);
        assert!(
            cfg("histogram: {unit: h}")
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn validation_errors_are_gos() {
        assert_eq!(
            cfg("dimensions: [{name: span.kind}]").unwrap_err(),
            "failed validating dimensions: duplicate dimension name span.kind"
        );
        assert_eq!(
            cfg("dimensions: [{name: a}, {name: a}]").unwrap_err(),
            "failed validating dimensions: duplicate dimension name a"
        );
        assert_eq!(
            cfg("events: {enabled: true}").unwrap_err(),
            "failed validating event dimensions: no dimensions configured for events"
        );
        assert_eq!(
            cfg("histogram: {explicit: {}, exponential: {}}").unwrap_err(),
            "use either `explicit` or `exponential` buckets histogram"
        );
        assert!(
            cfg("aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA\nmetric_timestamp_cache_size: 0")
                .unwrap_err()
                .starts_with("invalid delta timestamp cache size: 0")
        );
        assert!(
            cfg("aggregation_cardinality_limit: -1")
                .unwrap_err()
                .starts_with("invalid aggregation_cardinality_limit")
        );
        assert!(cfg("metrics_flush_interval: -1s").is_err());
        assert!(cfg("unknown_key: 1").unwrap_err().contains("unknown_key"));
    }

    #[test]
    fn exponential_max_size_defaults_to_160() {
        assert_eq!(
            cfg("histogram: {exponential: {}}")
                .unwrap()
                .exponential_max_size(),
            Some(160)
        );
        assert_eq!(
            cfg("histogram: {exponential: {max_size: 10}}")
                .unwrap()
                .exponential_max_size(),
            Some(10)
        );
    }
}
