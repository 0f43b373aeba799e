//! The pull exporter's state, as Go's `prometheusexporter` accumulator keeps it: the latest
//! point of every series, keyed by (metric type, scope name, metric name, attributes, job,
//! instance), with delta sums and histograms turned cumulative, and series not updated for
//! `metric_expiration` dropped at the next scrape.
//!
//! Rules (Go's `accumulateSum` / `accumulateHistogram`): a point older than the one held is
//! ignored; a cumulative point replaces the one held; a monotonic delta point whose start
//! time is the held point's time continues it (values and buckets added, the first start
//! time kept), any other delta point starts the series again; non-monotonic delta sums and
//! points of unspecified temporality are dropped. A point flagged "no recorded value" removes
//! its series (it vanishes from the scrape and Prometheus marks it stale).
//!
//! Memory: one entry per live series, bounded by `metric_expiration` as in Go (Go has no cap;
//! neither has this).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, SummaryDataPoint, metric::Data, number_data_point,
};

use crate::FLAG_NO_RECORDED_VALUE;
use crate::labels;
use crate::naming::MetricType;

/// What is held for one series.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
    Summary(SummaryDataPoint),
}

impl Point {
    fn time(&self) -> u64 {
        match self {
            Point::Number(p) => p.time_unix_nano,
            Point::Histogram(p) => p.time_unix_nano,
            Point::Exponential(p) => p.time_unix_nano,
            Point::Summary(p) => p.time_unix_nano,
        }
    }

    pub fn attributes(&self) -> &[KeyValue] {
        match self {
            Point::Number(p) => &p.attributes,
            Point::Histogram(p) => &p.attributes,
            Point::Exponential(p) => &p.attributes,
            Point::Summary(p) => &p.attributes,
        }
    }
}

/// The metric-level facts a series needs for exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDesc {
    pub name: String,
    pub unit: String,
    pub description: String,
    pub ty: MetricType,
}

/// One series held.
#[derive(Debug, Clone)]
pub struct Series {
    pub desc: Arc<MetricDesc>,
    pub resource: Arc<Vec<KeyValue>>,
    pub scope: Arc<(InstrumentationScope, String)>,
    pub point: Point,
    updated: Instant,
}

/// The accumulated series.
#[derive(Debug, Default)]
pub struct Accumulator {
    series: HashMap<String, Series>,
}

fn signature(
    ty: MetricType,
    scope: &(InstrumentationScope, String),
    name: &str,
    attrs: &[KeyValue],
    res: &[KeyValue],
) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(64);
    let (sc, schema) = scope;
    let _ = write!(s, "{ty:?}*{}*{}*{schema}", sc.name, sc.version);
    for kv in &sc.attributes {
        let _ = write!(
            s,
            "*{}={}",
            kv.key,
            labels::value_as_string(kv.value.as_ref())
        );
    }
    let _ = write!(s, "*{name}");
    let mut pairs: Vec<String> = attrs
        .iter()
        .map(|kv| format!("{}*{}", kv.key, labels::value_as_string(kv.value.as_ref())))
        .collect();
    pairs.sort();
    s.push('*');
    s.push_str(&pairs.join("*"));
    if let Some(job) = labels::job(res) {
        let _ = write!(s, "*job*{job}");
    }
    if let Some(instance) = labels::instance(res) {
        let _ = write!(s, "*instance*{instance}");
    }
    s
}

fn number(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

impl Accumulator {
    pub fn new() -> Accumulator {
        Accumulator::default()
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Takes in a request; returns the number of points accepted.
    pub fn accumulate(&mut self, req: &ExportMetricsServiceRequest, now: Instant) -> usize {
        let mut n = 0;
        for rm in &req.resource_metrics {
            let res: Arc<Vec<KeyValue>> = Arc::new(
                rm.resource
                    .as_ref()
                    .map_or_else(Vec::new, |r| r.attributes.clone()),
            );
            for sm in &rm.scope_metrics {
                let scope = Arc::new((sm.scope.clone().unwrap_or_default(), sm.schema_url.clone()));
                for m in &sm.metrics {
                    n += self.metric(&res, &scope, m, now);
                }
            }
        }
        n
    }

    fn metric(
        &mut self,
        res: &Arc<Vec<KeyValue>>,
        scope: &Arc<(InstrumentationScope, String)>,
        m: &Metric,
        now: Instant,
    ) -> usize {
        let Some(data) = &m.data else { return 0 };
        let (ty, delta) = match data {
            Data::Gauge(_) => (MetricType::Gauge, false),
            Data::Sum(s) => {
                if s.aggregation_temporality == AggregationTemporality::Unspecified as i32 {
                    return 0;
                }
                let delta = s.aggregation_temporality == AggregationTemporality::Delta as i32;
                if delta && !s.is_monotonic {
                    return 0;
                }
                let ty = if s.is_monotonic {
                    MetricType::MonotonicCounter
                } else {
                    MetricType::NonMonotonicCounter
                };
                (ty, delta)
            }
            Data::Histogram(h) => {
                if h.aggregation_temporality == AggregationTemporality::Unspecified as i32 {
                    return 0;
                }
                (
                    MetricType::Histogram,
                    h.aggregation_temporality == AggregationTemporality::Delta as i32,
                )
            }
            Data::ExponentialHistogram(h) => {
                if h.aggregation_temporality == AggregationTemporality::Unspecified as i32 {
                    return 0;
                }
                (
                    MetricType::ExponentialHistogram,
                    h.aggregation_temporality == AggregationTemporality::Delta as i32,
                )
            }
            Data::Summary(_) => (MetricType::Summary, false),
        };
        let desc = Arc::new(MetricDesc {
            name: m.name.clone(),
            unit: m.unit.clone(),
            description: m.description.clone(),
            ty,
        });
        let points: Vec<Point> = match data {
            Data::Gauge(g) => g.data_points.iter().cloned().map(Point::Number).collect(),
            Data::Sum(s) => s.data_points.iter().cloned().map(Point::Number).collect(),
            Data::Histogram(h) => h
                .data_points
                .iter()
                .cloned()
                .map(Point::Histogram)
                .collect(),
            Data::ExponentialHistogram(h) => h
                .data_points
                .iter()
                .cloned()
                .map(Point::Exponential)
                .collect(),
            Data::Summary(s) => s.data_points.iter().cloned().map(Point::Summary).collect(),
        };
        let mut n = 0;
        for p in points {
            let sig = signature(ty, scope, &m.name, p.attributes(), res);
            let flags = match &p {
                Point::Number(p) => p.flags,
                Point::Histogram(p) => p.flags,
                Point::Exponential(p) => p.flags,
                Point::Summary(p) => p.flags,
            };
            if flags & FLAG_NO_RECORDED_VALUE != 0 {
                self.series.remove(&sig);
                continue;
            }
            let merged = match self.series.get(&sig) {
                None => p,
                Some(held) => {
                    let histogram = matches!(p, Point::Histogram(_) | Point::Exponential(_));
                    // Go checks histogram deltas by their start time only (below).
                    if !(delta && histogram) && p.time() < held.point.time() {
                        continue;
                    }
                    if !delta {
                        p
                    } else {
                        match continue_delta(&held.point, p) {
                            Some(p) => p,
                            None => continue,
                        }
                    }
                }
            };
            self.series.insert(
                sig,
                Series {
                    desc: desc.clone(),
                    resource: res.clone(),
                    scope: scope.clone(),
                    point: merged,
                    updated: now,
                },
            );
            n += 1;
        }
        n
    }

    /// Drops series not updated within `expiration`.
    pub fn expire(&mut self, now: Instant, expiration: Duration) {
        self.series
            .retain(|_, s| now.saturating_duration_since(s.updated) <= expiration);
    }

    /// [`Accumulator::expire`], then the series left.
    pub fn collect(&mut self, now: Instant, expiration: Duration) -> Vec<&Series> {
        self.expire(now, expiration);
        self.series.values().collect()
    }

    /// The series held.
    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.series.values()
    }
}

/// A delta point after `held`: continued when contiguous, else a new start; `None` for a
/// histogram point that starts before the held one ends (Go drops it as misaligned).
fn continue_delta(held: &Point, p: Point) -> Option<Point> {
    let held_time = held.time();
    let start = match &p {
        Point::Number(p) => p.start_time_unix_nano,
        Point::Histogram(p) => p.start_time_unix_nano,
        Point::Exponential(p) => p.start_time_unix_nano,
        Point::Summary(p) => p.start_time_unix_nano,
    };
    if matches!(p, Point::Histogram(_) | Point::Exponential(_))
        && start != held_time
        && start <= held_time
    {
        return None;
    }
    Some(match (held, p) {
        (Point::Number(h), Point::Number(mut p)) if p.start_time_unix_nano == h.time_unix_nano => {
            p.start_time_unix_nano = h.start_time_unix_nano;
            p.value = Some(match (h.value, p.value) {
                (
                    Some(number_data_point::Value::AsInt(a)),
                    Some(number_data_point::Value::AsInt(b)),
                ) => number_data_point::Value::AsInt(a.wrapping_add(b)),
                _ => number_data_point::Value::AsDouble(number(h) + number(&p)),
            });
            Point::Number(p)
        }
        (Point::Histogram(h), Point::Histogram(mut p))
            if p.start_time_unix_nano == h.time_unix_nano
                && p.explicit_bounds == h.explicit_bounds
                && p.bucket_counts.len() == h.bucket_counts.len() =>
        {
            p.start_time_unix_nano = h.start_time_unix_nano;
            p.count = p.count.wrapping_add(h.count);
            p.sum = match (h.sum, p.sum) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            for (c, hc) in p.bucket_counts.iter_mut().zip(&h.bucket_counts) {
                *c = c.wrapping_add(*hc);
            }
            p.min = match (h.min, p.min) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            p.max = match (h.max, p.max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            Point::Histogram(p)
        }
        (Point::Exponential(h), Point::Exponential(mut p))
            if p.start_time_unix_nano == h.time_unix_nano
                && p.scale == h.scale
                && mergeable(h.positive.as_ref(), p.positive.as_ref())
                && mergeable(h.negative.as_ref(), p.negative.as_ref()) =>
        {
            p.start_time_unix_nano = h.start_time_unix_nano;
            p.count = p.count.wrapping_add(h.count);
            p.zero_count = p.zero_count.wrapping_add(h.zero_count);
            p.sum = match (h.sum, p.sum) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            p.positive = Some(add_buckets(h.positive.as_ref(), p.positive.as_ref()));
            p.negative = Some(add_buckets(h.negative.as_ref(), p.negative.as_ref()));
            Point::Exponential(p)
        }
        (_, p) => p,
    })
}

/// Most buckets a merged exponential bucket range may span; a point whose buckets are further
/// apart than this from the held ones starts the series again instead of allocating the
/// range between them (OTel SDKs keep 160 by default).
const MAX_MERGED_BUCKETS: i64 = 1 << 14;

fn mergeable(a: Option<&Buckets>, b: Option<&Buckets>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    if a.bucket_counts.is_empty() || b.bucket_counts.is_empty() {
        return true;
    }
    let start = (a.offset as i64).min(b.offset as i64);
    let end = (a.offset as i64 + a.bucket_counts.len() as i64)
        .max(b.offset as i64 + b.bucket_counts.len() as i64);
    end - start <= MAX_MERGED_BUCKETS
}

/// Bucket-wise sum of two bucket ranges of the same scale (at most [`MAX_MERGED_BUCKETS`]
/// apart: see [`mergeable`]).
fn add_buckets(a: Option<&Buckets>, b: Option<&Buckets>) -> Buckets {
    let empty = Buckets::default();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    if a.bucket_counts.is_empty() {
        return b.clone();
    }
    if b.bucket_counts.is_empty() {
        return a.clone();
    }
    let start = a.offset.min(b.offset);
    let end = (a.offset as i64 + a.bucket_counts.len() as i64)
        .max(b.offset as i64 + b.bucket_counts.len() as i64);
    let mut counts = vec![0u64; (end - start as i64) as usize];
    for x in [a, b] {
        let base = (x.offset as i64 - start as i64) as usize;
        for (i, c) in x.bucket_counts.iter().enumerate() {
            counts[base + i] = counts[base + i].wrapping_add(*c);
        }
    }
    Buckets {
        offset: start,
        bucket_counts: counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::*;

    const T: u64 = 1_700_000_000_000_000_000;
    const S: u64 = 1_000_000_000;

    fn values(acc: &mut Accumulator) -> Vec<(String, f64, u64)> {
        let now = Instant::now();
        let mut out: Vec<(String, f64, u64)> = acc
            .collect(now, Duration::from_secs(300))
            .into_iter()
            .map(|s| match &s.point {
                Point::Number(p) => (s.desc.name.clone(), number(p), p.start_time_unix_nano),
                Point::Histogram(p) => {
                    (s.desc.name.clone(), p.count as f64, p.start_time_unix_nano)
                }
                _ => (s.desc.name.clone(), f64::NAN, 0),
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn feed(acc: &mut Accumulator, metrics: Vec<Metric>) {
        acc.accumulate(
            &request(vec![kv("service.name", "s")], metrics),
            Instant::now(),
        );
    }

    #[test]
    fn contiguous_delta_sums_add_up_and_keep_the_first_start() {
        let mut acc = Accumulator::new();
        feed(
            &mut acc,
            vec![sum("c", "", true, true, vec![point(vec![], T, T + S, 2.0)])],
        );
        feed(
            &mut acc,
            vec![sum(
                "c",
                "",
                true,
                true,
                vec![point(vec![], T + S, T + 2 * S, 3.0)],
            )],
        );
        assert_eq!(values(&mut acc), vec![("c".to_string(), 5.0, T)]);
        // Not contiguous: a new start.
        feed(
            &mut acc,
            vec![sum(
                "c",
                "",
                true,
                true,
                vec![point(vec![], T + 5 * S, T + 6 * S, 1.0)],
            )],
        );
        assert_eq!(values(&mut acc), vec![("c".to_string(), 1.0, T + 5 * S)]);
    }

    #[test]
    fn non_monotonic_delta_sums_are_dropped_cumulative_replaced_older_ignored() {
        let mut acc = Accumulator::new();
        feed(
            &mut acc,
            vec![sum(
                "ud",
                "",
                false,
                true,
                vec![point(vec![], T, T + S, 2.0)],
            )],
        );
        assert!(values(&mut acc).is_empty());
        feed(
            &mut acc,
            vec![sum(
                "c",
                "",
                true,
                false,
                vec![point(vec![], T, T + 2 * S, 5.0)],
            )],
        );
        feed(
            &mut acc,
            vec![sum(
                "c",
                "",
                true,
                false,
                vec![point(vec![], T, T + S, 4.0)],
            )],
        );
        assert_eq!(values(&mut acc), vec![("c".to_string(), 5.0, T)]);
        feed(
            &mut acc,
            vec![gauge("g", "", vec![point(vec![], 0, T + S, 1.0)])],
        );
        feed(
            &mut acc,
            vec![gauge("g", "", vec![point(vec![], 0, T + 2 * S, 7.0)])],
        );
        assert_eq!(values(&mut acc)[1], ("g".to_string(), 7.0, 0));
    }

    #[test]
    fn delta_histograms_accumulate_bucket_by_bucket() {
        let mut acc = Accumulator::new();
        feed(
            &mut acc,
            vec![histogram(
                "h",
                "",
                true,
                vec![hpoint(vec![], T, T + S, &[1.0], &[1, 2], 3.0)],
            )],
        );
        feed(
            &mut acc,
            vec![histogram(
                "h",
                "",
                true,
                vec![hpoint(vec![], T + S, T + 2 * S, &[1.0], &[4, 0], 1.0)],
            )],
        );
        let now = Instant::now();
        let got = acc.collect(now, Duration::from_secs(60));
        let Point::Histogram(p) = &got[0].point else {
            panic!()
        };
        assert_eq!(p.bucket_counts, vec![5, 2]);
        assert_eq!(p.count, 7);
        assert_eq!(p.sum, Some(4.0));
        assert_eq!(p.start_time_unix_nano, T);
    }

    #[test]
    fn misaligned_delta_histograms_are_dropped_or_restart_as_go() {
        let mut acc = Accumulator::new();
        feed(
            &mut acc,
            vec![histogram(
                "h",
                "",
                true,
                vec![hpoint(vec![], T, T + 2 * S, &[1.0], &[1, 0], 1.0)],
            )],
        );
        // Starts inside the held interval: dropped.
        feed(
            &mut acc,
            vec![histogram(
                "h",
                "",
                true,
                vec![hpoint(vec![], T + S, T + 3 * S, &[1.0], &[5, 0], 5.0)],
            )],
        );
        assert_eq!(values(&mut acc), vec![("h".to_string(), 1.0, T)]);
        // Starts after it: a restart.
        feed(
            &mut acc,
            vec![histogram(
                "h",
                "",
                true,
                vec![hpoint(vec![], T + 4 * S, T + 5 * S, &[1.0], &[2, 0], 2.0)],
            )],
        );
        assert_eq!(values(&mut acc), vec![("h".to_string(), 2.0, T + 4 * S)]);
    }

    #[test]
    fn series_expire_and_stale_points_remove_them() {
        let mut acc = Accumulator::new();
        let then = Instant::now();
        acc.accumulate(
            &request(vec![], vec![gauge("g", "", vec![point(vec![], 0, T, 1.0)])]),
            then,
        );
        assert_eq!(
            acc.collect(then + Duration::from_secs(10), Duration::from_secs(60))
                .len(),
            1
        );
        assert_eq!(
            acc.collect(then + Duration::from_secs(61), Duration::from_secs(60))
                .len(),
            0
        );
        let mut p = point(vec![], 0, T + S, 1.0);
        acc.accumulate(
            &request(vec![], vec![gauge("g", "", vec![point(vec![], 0, T, 1.0)])]),
            then,
        );
        p.flags = 1;
        acc.accumulate(&request(vec![], vec![gauge("g", "", vec![p])]), then);
        assert!(acc.is_empty());
    }

    #[test]
    fn far_apart_exponential_buckets_restart_instead_of_allocating_the_gap() {
        let a = Buckets {
            offset: i32::MIN,
            bucket_counts: vec![1],
        };
        let b = Buckets {
            offset: i32::MAX - 1,
            bucket_counts: vec![1],
        };
        assert!(!mergeable(Some(&a), Some(&b)));
        assert!(mergeable(Some(&a), None));
    }

    #[test]
    fn exponential_buckets_of_different_offsets_add() {
        let a = Buckets {
            offset: 2,
            bucket_counts: vec![1, 1],
        };
        let b = Buckets {
            offset: 0,
            bucket_counts: vec![1, 0, 0, 5],
        };
        assert_eq!(
            add_buckets(Some(&a), Some(&b)),
            Buckets {
                offset: 0,
                bucket_counts: vec![1, 0, 1, 6]
            }
        );
    }
}
