//! `statsd` config: Go's `statsdreceiver.Config` keys and defaults (`endpoint`
//! `localhost:8125`, `transport` `udp`, `aggregation_interval` 60s, timers and histograms
//! observed as gauges) and its validation messages.

use std::time::Duration;

use runtime::ComponentConfig;
use serde::Deserialize;
use statsd::{Observer, Options};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub endpoint: String,
    pub transport: String,
    pub aggregation_interval: ::config::Duration,
    pub enable_ip_only_aggregation: bool,
    pub enable_metric_type: bool,
    pub enable_simple_tags: bool,
    pub is_monotonic_counter: bool,
    pub timer_histogram_mapping: Vec<TimerHistogramMapping>,
    /// File mode of the `unixgram` socket (Go's `os.FileMode`; YAML `0622` reads as octal).
    pub socket_permissions: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimerHistogramMapping {
    pub statsd_type: String,
    pub observer_type: String,
    pub histogram: HistogramConfig,
    pub summary: SummaryConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistogramConfig {
    pub max_size: i32,
    /// Newer Go: explicit-bucket histograms per name pattern; refused here (see validate).
    pub explicit_buckets: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SummaryConfig {
    pub percentiles: Vec<f64>,
}

impl Default for Config {
    fn default() -> Self {
        let mapping = |t: &str| TimerHistogramMapping {
            statsd_type: t.into(),
            observer_type: "gauge".into(),
            ..TimerHistogramMapping::default()
        };
        Config {
            endpoint: "localhost:8125".into(),
            transport: "udp".into(),
            aggregation_interval: ::config::Duration(Duration::from_secs(60)),
            enable_ip_only_aggregation: false,
            enable_metric_type: false,
            enable_simple_tags: false,
            is_monotonic_counter: false,
            timer_histogram_mapping: vec![mapping("timer"), mapping("histogram")],
            socket_permissions: 0o622,
        }
    }
}

impl ComponentConfig for Config {
    /// Go's `Config.Validate`, its messages joined as multierr joins them.
    fn validate(&self) -> Result<(), String> {
        let mut errs: Vec<String> = Vec::new();
        if self.aggregation_interval.0.is_zero() {
            errs.push("aggregation_interval must be a positive duration".into());
        }
        let mut missing = false;
        for m in &self.timer_histogram_mapping {
            if m.statsd_type.is_empty() {
                missing = true;
                break;
            }
            if !matches!(
                m.statsd_type.as_str(),
                "timing" | "timer" | "histogram" | "distribution"
            ) {
                errs.push(format!(
                    "statsd_type is not a supported mapping for histogram and timing metrics: {}",
                    m.statsd_type
                ));
            }
            if m.observer_type.is_empty() {
                missing = true;
                break;
            }
            if !matches!(m.observer_type.as_str(), "gauge" | "summary" | "histogram") {
                errs.push(format!(
                    "observer_type is not supported for histogram and timing metrics: {}",
                    m.observer_type
                ));
            }
            if m.observer_type == "histogram" {
                let size = m.histogram.max_size;
                if size != 0
                    && !(statsd::expohisto::MIN_SIZE..=statsd::expohisto::MAXIMUM_MAX_SIZE)
                        .contains(&size)
                {
                    errs.push(format!("histogram max_size out of range: {size}"));
                }
                if m.histogram.explicit_buckets.is_some() {
                    errs.push(
                        "histogram explicit_buckets is not supported by this build yet: use max_size (an exponential histogram)".into(),
                    );
                }
            } else if m.histogram != HistogramConfig::default() {
                errs.push("histogram configuration requires observer_type: histogram".into());
            }
            if !m.summary.percentiles.is_empty() {
                for p in &m.summary.percentiles {
                    if !(0.0..=100.0).contains(p) {
                        errs.push(format!("summary percentiles out of [0, 100] range: {p}"));
                    }
                }
                if m.observer_type != "summary" {
                    errs.push("summary configuration requires observer_type: summary".into());
                }
            }
        }
        if missing {
            errs.push("must specify object id for all TimerHistogramMappings".into());
        }
        if !matches!(
            self.transport.to_ascii_lowercase().as_str(),
            "" | "udp" | "udp4" | "udp6" | "tcp" | "tcp4" | "tcp6" | "unixgram"
        ) {
            errs.push(format!("unsupported transport {:?}", self.transport));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

impl Config {
    /// The aggregator's options (Go's `Initialize`; later mappings of a type win).
    pub fn options(&self) -> Options {
        let mut opts = Options {
            enable_metric_type: self.enable_metric_type,
            enable_simple_tags: self.enable_simple_tags,
            is_monotonic_counter: self.is_monotonic_counter,
            enable_ip_only_aggregation: self.enable_ip_only_aggregation,
            timer: Observer::Disabled,
            histogram: Observer::Disabled,
            scope_version: env!("CARGO_PKG_VERSION").into(),
        };
        for m in &self.timer_histogram_mapping {
            let observer = match m.observer_type.as_str() {
                "gauge" => Observer::Gauge,
                "summary" => Observer::Summary {
                    percentiles: m.summary.percentiles.clone(),
                },
                "histogram" => Observer::Histogram {
                    max_size: m.histogram.max_size,
                },
                _ => Observer::Disabled,
            };
            match m.statsd_type.as_str() {
                "histogram" | "distribution" => opts.histogram = observer,
                "timing" | "timer" => opts.timer = observer,
                _ => {}
            }
        }
        opts
    }

    /// `udp`, `tcp` or `unixgram` (the address family suffix only narrows the bind).
    pub fn transport_kind(&self) -> &'static str {
        let t = self.transport.to_ascii_lowercase();
        if t.starts_with("tcp") {
            "tcp"
        } else if t == "unixgram" {
            "unixgram"
        } else {
            "udp"
        }
    }
}
