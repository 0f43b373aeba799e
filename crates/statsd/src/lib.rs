//! StatsD and DogStatsD as the Go collector's `statsdreceiver` understands them: the line
//! format (`name:value|type|@rate|#k:v,...|c:container|T<unix seconds>`), per-interval
//! aggregation per sender address, and the translation to OTLP: counters as delta sums
//! (integer, `is_monotonic_counter`), gauges (a `+`/`-` value adds to the gauge),
//! timers/histograms/distributions as one gauge point each, a summary
//! (`summary.percentiles`, Go's empirical quantiles) or an exponential histogram
//! (`histogram.max_size`), as `timer_histogram_mapping` says.
//!
//! No I/O: the receiver feeds lines with [`Aggregator::aggregate`] and takes the interval's
//! metrics with [`Aggregator::flush`].
//!
//! ```
//! use statsd::{Aggregator, Options};
//!
//! let mut agg = Aggregator::new(Options::default(), 0);
//! agg.aggregate("requests:1|c|#route:/a", "127.0.0.1:5000", 10).unwrap();
//! agg.aggregate("requests:2|c|@0.5|#route:/a", "127.0.0.1:5000", 11).unwrap();
//! let batches = agg.flush(20);
//! let sum = &batches[0].1.resource_metrics[0].scope_metrics[0].metrics[0];
//! assert_eq!(sum.name, "requests");
//! ```

pub mod expohisto;

use indexmap::IndexMap;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric,
    number_data_point,
};
use pdata::proto::resource::v1::Resource;

/// The scope Go names its metrics with.
pub const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/statsdreceiver";

/// Go's default summary percentiles.
pub const DEFAULT_PERCENTILES: [f64; 6] = [0.0, 10.0, 50.0, 90.0, 95.0, 100.0];

/// The `type` of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Timing,
    Distribution,
}

impl MetricType {
    /// Go's full name (`metric_type` attribute).
    pub fn full_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Timing => "timing",
            MetricType::Distribution => "distribution",
        }
    }
}

/// How timers or histograms are aggregated (`observer_type`).
#[derive(Debug, Clone, PartialEq)]
pub enum Observer {
    Disabled,
    Gauge,
    Summary { percentiles: Vec<f64> },
    Histogram { max_size: i32 },
}

/// The receiver's switches.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub enable_metric_type: bool,
    pub enable_simple_tags: bool,
    pub is_monotonic_counter: bool,
    pub enable_ip_only_aggregation: bool,
    /// For `ms` lines.
    pub timer: Observer,
    /// For `h` and `d` lines.
    pub histogram: Observer,
    pub scope_version: String,
}

impl Default for Options {
    /// Go's defaults: timers and histograms as gauges.
    fn default() -> Self {
        Options {
            enable_metric_type: false,
            enable_simple_tags: false,
            is_monotonic_counter: false,
            enable_ip_only_aggregation: false,
            timer: Observer::Gauge,
            histogram: Observer::Gauge,
            scope_version: String::new(),
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub kind: MetricType,
    /// Sorted by key, last value of a repeated key (Go's `attribute.Set`).
    pub attrs: Vec<(String, String)>,
    pub value: f64,
    /// The value had a `+` or `-` sign (a gauge delta).
    pub addition: bool,
    pub sample_rate: f64,
    /// `T<seconds>` in nanoseconds; 0 when absent.
    pub timestamp: u64,
}

impl Line {
    fn counter_value(&self) -> i64 {
        let mut x = self.value;
        if 0.0 < self.sample_rate && self.sample_rate < 1.0 {
            x /= self.sample_rate;
        }
        x as i64
    }

    /// (value, count) of a sampled observation.
    fn sample(&self) -> (f64, f64) {
        let mut count = 1.0;
        if 0.0 < self.sample_rate && self.sample_rate < 1.0 {
            count /= self.sample_rate;
        }
        (self.value, count)
    }
}

/// Parses one line with Go's errors.
pub fn parse_line(
    line: &str,
    enable_metric_type: bool,
    enable_simple_tags: bool,
) -> Result<Line, String> {
    let Some((name_value, rest)) = line.split_once('|') else {
        return Err(format!("invalid message format: {line}"));
    };
    let Some((name, value_str)) = name_value.split_once(':') else {
        return Err(format!("invalid <name>:<value> format: {name_value}"));
    };
    if name.is_empty() {
        return Err("empty metric name".into());
    }
    if value_str.is_empty() {
        return Err("empty metric value".into());
    }
    let addition = value_str.starts_with('-') || value_str.starts_with('+');
    let (type_str, mut parts) = match rest.split_once('|') {
        Some((t, p)) => (t, p),
        None => (rest, ""),
    };
    let kind = match type_str {
        "c" => MetricType::Counter,
        "g" => MetricType::Gauge,
        "h" => MetricType::Histogram,
        "ms" => MetricType::Timing,
        "d" => MetricType::Distribution,
        other => return Err(format!("unsupported metric type: {other}")),
    };
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut sample_rate = 0.0;
    let mut timestamp = 0;
    while !parts.is_empty() {
        let (part, more) = parts.split_once('|').unwrap_or((parts, ""));
        parts = more;
        if part.is_empty() {
            // Go's loop stops at an empty part
            break;
        }
        if let Some(rate) = part.strip_prefix('@') {
            sample_rate =
                go_parse_float(rate).ok_or_else(|| format!("parse sample rate: {rate}"))?;
        } else if let Some(tags) = part.strip_prefix('#') {
            for tag in tags.split(',') {
                if tag.is_empty() {
                    // Go stops at the first empty tag
                    break;
                }
                let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
                if k.is_empty() || (v.is_empty() && !enable_simple_tags) {
                    return Err(format!("invalid tag format: {tag:?}"));
                }
                attrs.push((k.to_string(), v.to_string()));
            }
        } else if let Some(id) = part.strip_prefix("c:") {
            if !id.is_empty() {
                attrs.push(("container.id".into(), id.to_string()));
            }
        } else if let Some(t) = part.strip_prefix('T') {
            if kind != MetricType::Counter && kind != MetricType::Gauge {
                return Err("only GAUGE and COUNT metrics support a timestamp".into());
            }
            let secs: u64 = t.parse().map_err(|_| format!("invalid timestamp: {t}"))?;
            timestamp = secs.wrapping_mul(1_000_000_000);
        } else {
            return Err(format!("unrecognized message part: {part}"));
        }
    }
    let value = go_parse_float(value_str)
        .ok_or_else(|| format!("parse metric value string: {value_str}"))?;
    if enable_metric_type {
        attrs.push(("metric_type".into(), kind.full_name().into()));
    }
    // attribute.NewSet: sorted by key, the last of a repeated key kept
    let mut set: Vec<(String, String)> = Vec::with_capacity(attrs.len());
    for (k, v) in attrs {
        match set.iter_mut().find(|(sk, _)| *sk == k) {
            Some(slot) => slot.1 = v,
            None => set.push((k, v)),
        }
    }
    set.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Line {
        name: name.to_string(),
        kind,
        attrs: set,
        value,
        addition,
        sample_rate,
        timestamp,
    })
}

/// `strconv.ParseFloat(s, 64)` for the forms StatsD clients write (Rust's parser also
/// takes `inf`/`nan` spellings, as Go does).
fn go_parse_float(s: &str) -> Option<f64> {
    if s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

type Key = (String, MetricType, Vec<(String, String)>);

/// A summary's observations: values, their weights (1 / sample rate), the percentiles.
struct SummaryState {
    points: Vec<f64>,
    weights: Vec<f64>,
    percentiles: Vec<f64>,
}

/// What one sender address accumulated in the interval.
#[derive(Default)]
struct Instruments {
    addr: String,
    gauges: IndexMap<Key, (f64, u64)>,
    counters: IndexMap<Key, (i64, u64)>,
    /// Each observation of a gauge-observed timer/histogram: (key, value, time).
    observed: Vec<(Key, f64, u64)>,
    summaries: IndexMap<Key, SummaryState>,
    histograms: IndexMap<Key, expohisto::Histogram>,
}

/// The per-interval state (Go's `StatsDParser`).
pub struct Aggregator {
    opts: Options,
    by_addr: IndexMap<String, Instruments>,
    last_flush: u64,
}

impl Aggregator {
    /// `now`: Unix nanoseconds, the start of the first interval.
    pub fn new(opts: Options, now: u64) -> Aggregator {
        Aggregator {
            opts,
            by_addr: IndexMap::new(),
            last_flush: now,
        }
    }

    /// Adds one line from `addr` (`ip:port`) received at `now`.
    pub fn aggregate(&mut self, line: &str, addr: &str, now: u64) -> Result<(), String> {
        let m = parse_line(
            line,
            self.opts.enable_metric_type,
            self.opts.enable_simple_tags,
        )?;
        let addr_key = if self.opts.enable_ip_only_aggregation {
            split_host(addr).to_string()
        } else {
            addr.to_string()
        };
        let inst = self.by_addr.entry(addr_key).or_insert_with(|| Instruments {
            addr: addr.to_string(),
            ..Instruments::default()
        });
        let key: Key = (m.name.clone(), m.kind, m.attrs.clone());
        match m.kind {
            MetricType::Gauge => match inst.gauges.get_mut(&key) {
                Some(g) if m.addition => g.0 += m.value,
                Some(g) => *g = (m.value, now),
                None => {
                    inst.gauges.insert(key, (m.value, now));
                }
            },
            MetricType::Counter => {
                let v = m.counter_value();
                match inst.counters.get_mut(&key) {
                    Some(c) => c.0 = c.0.wrapping_add(v),
                    None => {
                        inst.counters.insert(key, (v, m.timestamp));
                    }
                }
            }
            MetricType::Timing | MetricType::Histogram | MetricType::Distribution => {
                let observer = if m.kind == MetricType::Timing {
                    &self.opts.timer
                } else {
                    &self.opts.histogram
                };
                match observer {
                    Observer::Disabled => {}
                    Observer::Gauge => inst.observed.push((key, m.value, now)),
                    Observer::Summary { percentiles } => {
                        let (v, w) = m.sample();
                        let e = inst.summaries.entry(key).or_insert_with(|| SummaryState {
                            points: Vec::new(),
                            weights: Vec::new(),
                            percentiles: percentiles.clone(),
                        });
                        e.points.push(v);
                        e.weights.push(w);
                    }
                    Observer::Histogram { max_size } => {
                        let (v, w) = m.sample();
                        inst.histograms
                            .entry(key)
                            .or_insert_with(|| expohisto::Histogram::new(*max_size))
                            // Go rounds the count down to an integer here
                            .update(v, w as u64);
                    }
                }
            }
        }
        Ok(())
    }

    /// The interval's metrics, one request per sender address (Go's batches, with the
    /// address for the client info), and a new interval from `now`.
    pub fn flush(&mut self, now: u64) -> Vec<(String, ExportMetricsServiceRequest)> {
        let start = self.last_flush;
        self.last_flush = now;
        let scope = InstrumentationScope {
            name: SCOPE_NAME.into(),
            version: self.opts.scope_version.clone(),
            ..Default::default()
        };
        let one = |metric: Metric| ScopeMetrics {
            scope: Some(scope.clone()),
            metrics: vec![metric],
            ..Default::default()
        };
        let monotonic = self.opts.is_monotonic_counter;
        let mut out = Vec::with_capacity(self.by_addr.len());
        for (_, inst) in self.by_addr.drain(..) {
            let mut scopes = Vec::new();
            for ((name, _, attrs), (v, t)) in inst.gauges {
                scopes.push(one(gauge(name, &attrs, v, t)));
            }
            for ((name, _, attrs), v, t) in inst.observed {
                scopes.push(one(gauge(name, &attrs, v, t)));
            }
            for ((name, _, attrs), (v, t)) in inst.counters {
                scopes.push(one(Metric {
                    name,
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            attributes: kvs(&attrs),
                            start_time_unix_nano: start,
                            time_unix_nano: if t != 0 { t } else { now },
                            value: Some(number_data_point::Value::AsInt(v)),
                            ..Default::default()
                        }],
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                        is_monotonic: monotonic,
                    })),
                    ..Default::default()
                }));
            }
            for ((name, _, attrs), st) in inst.summaries {
                scopes.push(one(summary(name, &attrs, &st, start, now)));
            }
            for ((name, _, attrs), h) in inst.histograms {
                scopes.push(one(exponential(name, &attrs, h, start, now)));
            }
            out.push((
                inst.addr,
                ExportMetricsServiceRequest {
                    resource_metrics: vec![ResourceMetrics {
                        resource: Some(Resource::default()),
                        scope_metrics: scopes,
                        ..Default::default()
                    }],
                },
            ));
        }
        out
    }

    /// Series held now (for a bound on memory).
    pub fn series(&self) -> usize {
        self.by_addr
            .values()
            .map(|i| {
                i.gauges.len()
                    + i.counters.len()
                    + i.observed.len()
                    + i.summaries.len()
                    + i.histograms.len()
            })
            .sum()
    }
}

fn split_host(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once(']').map_or(addr, |(h, _)| h);
    }
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

fn kvs(attrs: &[(String, String)]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.clone())),
            }),
            ..Default::default()
        })
        .collect()
}

fn gauge(name: String, attrs: &[(String, String)], v: f64, t: u64) -> Metric {
    Metric {
        name,
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                attributes: kvs(attrs),
                time_unix_nano: t,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

fn summary(
    name: String,
    attrs: &[(String, String)],
    st: &SummaryState,
    start: u64,
    now: u64,
) -> Metric {
    let (points, weights, percentiles) = (&st.points, &st.weights, &st.percentiles[..]);
    let (mut count, mut sum) = (0.0, 0.0);
    for (p, w) in points.iter().zip(weights.iter()) {
        count += w;
        sum += p * w;
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| points[a].total_cmp(&points[b]));
    let sorted: Vec<(f64, f64)> = order.iter().map(|&i| (points[i], weights[i])).collect();
    let percentiles = if percentiles.is_empty() {
        &DEFAULT_PERCENTILES[..]
    } else {
        percentiles
    };
    let quantile_values = percentiles
        .iter()
        .map(|&pct| {
            use pdata::proto::metrics::v1::summary_data_point::ValueAtQuantile;
            ValueAtQuantile {
                quantile: pct / 100.0,
                value: empirical_quantile(pct / 100.0, &sorted, count),
            }
        })
        .collect();
    Metric {
        name,
        data: Some(metric::Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: kvs(attrs),
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: count as u64,
                sum,
                quantile_values,
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

/// gonum's `stat.Quantile(p, stat.Empirical, x, weights)` over sorted (value, weight).
fn empirical_quantile(p: f64, sorted: &[(f64, f64)], total: f64) -> f64 {
    let target = p * total;
    let mut cum = 0.0;
    for &(v, w) in sorted {
        cum += w;
        if cum >= target {
            return v;
        }
    }
    sorted.last().map_or(0.0, |l| l.0)
}

fn exponential(
    name: String,
    attrs: &[(String, String)],
    h: expohisto::Histogram,
    start: u64,
    now: u64,
) -> Metric {
    use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
    let buckets = |b: expohisto::Buckets| {
        Some(Buckets {
            offset: b.offset,
            bucket_counts: b.counts,
        })
    };
    Metric {
        name,
        data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: kvs(attrs),
                start_time_unix_nano: start,
                time_unix_nano: now,
                count: h.count,
                sum: Some(h.sum),
                min: (h.count != 0).then_some(h.min),
                max: (h.count != 0).then_some(h.max),
                scale: h.scale,
                zero_count: h.zero_count,
                positive: buckets(h.positive),
                negative: buckets(h.negative),
                ..Default::default()
            }],
            aggregation_temporality: AggregationTemporality::Delta as i32,
        })),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
