//! The data points of a metric, whatever its type, as the operations need them: their
//! attributes, how many there are, which to keep, and grouping them into one point per
//! attribute set and timestamp (Go's `aggregateutil`-style merge).

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};

use metricstreams::{StreamHasher, StreamId};

/// Runs `$body` with `$dps` bound to the data point vector of every metric type.
macro_rules! each_type {
    ($data:expr, $dps:ident => $body:expr) => {
        match $data {
            Some(Data::Gauge(g)) => {
                let $dps = &mut g.data_points;
                $body
            }
            Some(Data::Sum(s)) => {
                let $dps = &mut s.data_points;
                $body
            }
            Some(Data::Histogram(h)) => {
                let $dps = &mut h.data_points;
                $body
            }
            Some(Data::ExponentialHistogram(h)) => {
                let $dps = &mut h.data_points;
                $body
            }
            Some(Data::Summary(s)) => {
                let $dps = &mut s.data_points;
                $body
            }
            None => {}
        }
    };
}

pub fn count(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

/// The attributes of every point, in order.
pub fn attributes(m: &Metric) -> Vec<&[KeyValue]> {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| &p.attributes[..]).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| &p.attributes[..]).collect()
        }
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| &p.attributes[..]).collect(),
        None => Vec::new(),
    }
}

pub fn for_each_attributes(m: &mut Metric, mut f: impl FnMut(&mut Vec<KeyValue>)) {
    each_type!(&mut m.data, dps => dps.iter_mut().for_each(|p| f(&mut p.attributes)));
}

pub fn retain(m: &mut Metric, mut keep: impl FnMut(&[KeyValue]) -> bool) {
    each_type!(&mut m.data, dps => dps.retain(|p| keep(&p.attributes)));
}

/// Keeps the points whose position is `true` in `mask`.
pub fn retain_mask(m: &mut Metric, mask: &[bool]) {
    let mut i = 0;
    retain(m, |_| {
        i += 1;
        mask[i - 1]
    });
}

/// An empty metric of the same name, unit, description and type (temporality, monotonicity).
pub fn empty_like(m: &Metric) -> Metric {
    use pdata::proto::metrics::v1::{ExponentialHistogram, Gauge, Histogram, Sum, Summary};
    let data = match &m.data {
        Some(Data::Gauge(_)) => Some(Data::Gauge(Gauge::default())),
        Some(Data::Sum(s)) => Some(Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
        })),
        Some(Data::Histogram(h)) => Some(Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: h.aggregation_temporality,
        })),
        Some(Data::ExponentialHistogram(h)) => {
            Some(Data::ExponentialHistogram(ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: h.aggregation_temporality,
            }))
        }
        Some(Data::Summary(_)) => Some(Data::Summary(Summary::default())),
        None => None,
    };
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        data,
        metadata: Vec::new(),
    }
}

/// Moves every point of `from` (same type) to the end of `to`.
pub fn append(to: &mut Metric, from: Metric) {
    match (&mut to.data, from.data) {
        (Some(Data::Gauge(a)), Some(Data::Gauge(b))) => a.data_points.extend(b.data_points),
        (Some(Data::Sum(a)), Some(Data::Sum(b))) => a.data_points.extend(b.data_points),
        (Some(Data::Histogram(a)), Some(Data::Histogram(b))) => a.data_points.extend(b.data_points),
        (Some(Data::ExponentialHistogram(a)), Some(Data::ExponentialHistogram(b))) => {
            a.data_points.extend(b.data_points)
        }
        (Some(Data::Summary(a)), Some(Data::Summary(b))) => a.data_points.extend(b.data_points),
        _ => {}
    }
}

/// Go's `Value.Str()`: the string of a string value, "" for any other type.
pub fn str_of(v: Option<&AnyValue>) -> &str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

pub fn string_value(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    })
}

/// pcommon `PutStr`: replaces the value in place, or appends.
pub fn put_str(attrs: &mut Vec<KeyValue>, key: &str, value: &str) {
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = string_value(value),
        None => attrs.push(KeyValue {
            key: key.to_string(),
            value: string_value(value),
            ..Default::default()
        }),
    }
}

fn key(attrs: &[KeyValue], time: u64, extra: impl FnOnce(&mut StreamHasher)) -> StreamId {
    let mut h = StreamHasher::new();
    h.attributes(attrs);
    h.number(time);
    extra(&mut h);
    h.finish()
}

/// Groups `points` by `key`, in the order each group was first seen.
fn group<P>(points: Vec<P>, key: impl Fn(&P) -> StreamId) -> Vec<Vec<P>> {
    let mut index: std::collections::HashMap<StreamId, usize> = std::collections::HashMap::new();
    let mut out: Vec<Vec<P>> = Vec::new();
    for p in points {
        let k = key(&p);
        match index.get(&k) {
            Some(&i) => out[i].push(p),
            None => {
                index.insert(k, out.len());
                out.push(vec![p]);
            }
        }
    }
    out
}

fn as_f64(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

/// One point per group, its value the `agg` of the group's values (in the first point's
/// value type) and its start the earliest start.
fn merge_numbers(points: Vec<NumberDataPoint>, by_start: bool, agg: &str) -> Vec<NumberDataPoint> {
    use number_data_point::Value::{AsDouble, AsInt};
    group(points, |p| {
        key(&p.attributes, p.time_unix_nano, |h| {
            if by_start {
                h.number(p.start_time_unix_nano)
            }
        })
    })
    .into_iter()
    .map(|g| {
        let n = g.len();
        let start = g.iter().map(|p| p.start_time_unix_nano).min().unwrap_or(0);
        let mut floats: Vec<f64> = g.iter().map(as_f64).collect();
        let mut ints: Vec<i64> = g
            .iter()
            .map(|p| match p.value {
                Some(AsInt(i)) => i,
                Some(AsDouble(d)) => d as i64,
                None => 0,
            })
            .collect();
        let mut it = g.into_iter();
        // A group is never empty: it was made from its first point.
        let mut first = it.next().expect("group has a point");
        // Go folds in the first point's value type.
        first.value = Some(if matches!(first.value, Some(AsInt(_))) {
            AsInt(match agg {
                "sum" => ints.iter().fold(0i64, |a, v| a.wrapping_add(*v)),
                "mean" => ints.iter().fold(0i64, |a, v| a.wrapping_add(*v)) / n as i64,
                "max" => ints.iter().copied().max().unwrap_or(0),
                "min" => ints.iter().copied().min().unwrap_or(0),
                "count" => n as i64,
                "median" => {
                    ints.sort_unstable();
                    if n % 2 == 1 {
                        ints[n / 2]
                    } else {
                        (ints[n / 2 - 1] + ints[n / 2]) / 2
                    }
                }
                // No aggregation named: the first point stands.
                _ => ints[0],
            })
        } else {
            AsDouble(match agg {
                "sum" => floats.iter().sum(),
                "mean" => floats.iter().sum::<f64>() / n as f64,
                "max" => floats.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "min" => floats.iter().copied().fold(f64::INFINITY, f64::min),
                "count" => n as f64,
                "median" => {
                    floats.sort_by(|a, b| a.total_cmp(b));
                    if n % 2 == 1 {
                        floats[n / 2]
                    } else {
                        (floats[n / 2 - 1] + floats[n / 2]) / 2.0
                    }
                }
                _ => floats[0],
            })
        });
        first.start_time_unix_nano = start;
        first
    })
    .collect()
}

fn merge_histograms(points: Vec<HistogramDataPoint>, by_start: bool) -> Vec<HistogramDataPoint> {
    group(points, |p| {
        key(&p.attributes, p.time_unix_nano, |h| {
            for b in &p.explicit_bounds {
                h.number(b.to_bits());
            }
            if by_start {
                h.number(p.start_time_unix_nano);
            }
            h.tag(p.min.is_some() as u8);
            h.tag(p.max.is_some() as u8);
            h.number(u64::from(p.flags));
        })
    })
    .into_iter()
    .map(|g| {
        let mut it = g.into_iter();
        let mut acc = it.next().expect("group has a point");
        for p in it {
            if p.count == 0 {
                continue;
            }
            acc.count += p.count;
            acc.sum = Some(acc.sum.unwrap_or(0.0) + p.sum.unwrap_or(0.0));
            if let (Some(a), Some(b)) = (acc.min, p.min) {
                acc.min = Some(a.min(b));
            }
            if let (Some(a), Some(b)) = (acc.max, p.max) {
                acc.max = Some(a.max(b));
            }
            add_counts(&mut acc.bucket_counts, &p.bucket_counts);
            acc.exemplars.extend(p.exemplars);
            acc.start_time_unix_nano = acc.start_time_unix_nano.min(p.start_time_unix_nano);
        }
        acc
    })
    .collect()
}

fn add_counts(to: &mut Vec<u64>, add: &[u64]) {
    if to.len() < add.len() {
        to.resize(add.len(), 0);
    }
    for (t, a) in to.iter_mut().zip(add) {
        *t += a;
    }
}

fn merge_exponential(
    points: Vec<ExponentialHistogramDataPoint>,
    by_start: bool,
) -> Vec<ExponentialHistogramDataPoint> {
    let offset = |b: &Option<Buckets>| b.as_ref().map_or(0, |b| b.offset) as u64;
    group(points, |p| {
        key(&p.attributes, p.time_unix_nano, |h| {
            h.number(p.scale as u64);
            h.tag(p.min.is_some() as u8);
            h.tag(p.max.is_some() as u8);
            h.number(u64::from(p.flags));
            h.number(offset(&p.negative));
            h.number(offset(&p.positive));
            if by_start {
                h.number(p.start_time_unix_nano);
            }
        })
    })
    .into_iter()
    .map(|g| {
        let mut it = g.into_iter();
        let mut acc = it.next().expect("group has a point");
        for p in it {
            if p.count == 0 {
                continue;
            }
            acc.count += p.count;
            acc.sum = Some(acc.sum.unwrap_or(0.0) + p.sum.unwrap_or(0.0));
            if let (Some(a), Some(b)) = (acc.min, p.min) {
                acc.min = Some(a.min(b));
            }
            if let (Some(a), Some(b)) = (acc.max, p.max) {
                acc.max = Some(a.max(b));
            }
            if let Some(b) = &p.negative {
                add_counts(
                    &mut acc.negative.get_or_insert_default().bucket_counts,
                    &b.bucket_counts,
                );
            }
            if let Some(b) = &p.positive {
                add_counts(
                    &mut acc.positive.get_or_insert_default().bucket_counts,
                    &b.bucket_counts,
                );
            }
            acc.exemplars.extend(p.exemplars);
            acc.start_time_unix_nano = acc.start_time_unix_nano.min(p.start_time_unix_nano);
        }
        acc
    })
    .collect()
}

const DELTA: i32 = AggregationTemporality::Delta as i32;

/// Merges the points that share attributes and timestamp (and, for deltas, start time) into
/// one. Histograms are always added; summaries are left as they are.
pub fn aggregate(m: &mut Metric, agg: &str) {
    match &mut m.data {
        Some(Data::Gauge(g)) => {
            g.data_points = merge_numbers(std::mem::take(&mut g.data_points), false, agg)
        }
        Some(Data::Sum(s)) => {
            let by_start = s.aggregation_temporality == DELTA;
            s.data_points = merge_numbers(std::mem::take(&mut s.data_points), by_start, agg)
        }
        Some(Data::Histogram(h)) => {
            let by_start = h.aggregation_temporality == DELTA;
            h.data_points = merge_histograms(std::mem::take(&mut h.data_points), by_start)
        }
        Some(Data::ExponentialHistogram(h)) => {
            let by_start = h.aggregation_temporality == DELTA;
            h.data_points = merge_exponential(std::mem::take(&mut h.data_points), by_start)
        }
        Some(Data::Summary(_)) | None => {}
    }
}
