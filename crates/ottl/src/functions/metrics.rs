//! The transform processor's metric-context editors (Go `transformprocessor/internal/metrics`):
//! they change a metric's type or derive new metrics, so they exist for the metric context
//! only. Register them with [`register_metric`].

use pdata::proto::common::v1::KeyValue;
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogramDataPoint, Gauge, HistogramDataPoint, Metric,
    NumberDataPoint, Sum, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point,
};

use super::ParamKind::*;
use super::{Args, Functions, Param, opt, req};
use crate::EditorFn;
use crate::contexts::metric::MetricContext;

/// Adds the filter processor's metric-context converters (Go `filterprocessor`
/// `HasAttrKeyOnDatapoint`, `HasAttrOnDatapoint`).
pub fn register_filter_metric(f: &mut Functions<MetricContext>) {
    f.converter("HasAttrKeyOnDatapoint", HAS_KEY, has_attr_key_on_datapoint)
        .converter("HasAttrOnDatapoint", HAS_ATTR, has_attr_on_datapoint);
}

const HAS_KEY: &[Param] = &[req("key", Str)];
const HAS_ATTR: &[Param] = &[req("key", Str), req("expectedVal", Str)];

/// Every data point's attributes of a metric, whatever its type.
fn point_attributes(m: &Metric) -> Vec<&[KeyValue]> {
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

/// Go's `checkDataPoints`: the first data point that has `key` decides; with `expected`,
/// its value's `Str()` (`""` for anything but a string) must equal it.
fn check_data_points(m: &Metric, key: &str, expected: Option<&str>) -> bool {
    point_attributes(m)
        .iter()
        .find_map(|attrs| crate::context::map_get(attrs, key))
        .is_some_and(|v| match expected {
            None => true,
            Some(want) => match &v.value {
                Some(pdata::proto::common::v1::any_value::Value::StringValue(s)) => s == want,
                _ => want.is_empty(),
            },
        })
}

fn has_attr_key_on_datapoint(
    mut a: Args<MetricContext>,
) -> Result<crate::ConverterFn<MetricContext>, String> {
    let key = a.str(0).unwrap_or_default();
    Ok(Box::new(move |d| {
        Ok(crate::Value::Bool(check_data_points(d.metric, &key, None)))
    }))
}

fn has_attr_on_datapoint(
    mut a: Args<MetricContext>,
) -> Result<crate::ConverterFn<MetricContext>, String> {
    let key = a.str(0).unwrap_or_default();
    let want = a.str(1).unwrap_or_default();
    Ok(Box::new(move |d| {
        Ok(crate::Value::Bool(check_data_points(
            d.metric,
            &key,
            Some(&want),
        )))
    }))
}

/// Adds the transform processor's metric functions to a metric-context library.
pub fn register_metric(f: &mut Functions<MetricContext>) {
    f.editor("convert_sum_to_gauge", NONE, convert_sum_to_gauge)
        .editor("convert_gauge_to_sum", TO_SUM, convert_gauge_to_sum)
        .editor(
            "convert_summary_count_val_to_sum",
            SUMMARY_TO_SUM,
            summary_count_to_sum,
        )
        .editor(
            "convert_summary_sum_val_to_sum",
            SUMMARY_TO_SUM,
            summary_sum_to_sum,
        )
        .editor("extract_sum_metric", EXTRACT, extract_sum_metric)
        .editor("extract_count_metric", EXTRACT, extract_count_metric)
        .editor(
            "extract_percentile_metric",
            super::histograms::PERCENTILE,
            super::histograms::extract_percentile_metric,
        )
        .editor("copy_metric", COPY, copy_metric)
        .editor("scale_metric", SCALE, scale_metric)
        .editor(
            "aggregate_on_attributes",
            AGGREGATE,
            aggregate_on_attributes,
        )
        .editor(
            "aggregate_on_attribute_value",
            AGGREGATE_VALUE,
            aggregate_on_attribute_value,
        )
        .editor(
            "convert_summary_quantile_val_to_gauge",
            QUANTILES,
            summary_quantiles_to_gauge,
        )
        .editor(
            "convert_exponential_histogram_to_histogram",
            EXP_TO_HIST,
            exp_to_histogram,
        );
}

const NONE: &[Param] = &[];
const TO_SUM: &[Param] = &[
    req("aggregation_temporality", Str),
    req("is_monotonic", Bool),
];
const SUMMARY_TO_SUM: &[Param] = &[
    req("aggregation_temporality", Str),
    req("is_monotonic", Bool),
    opt("suffix", Str),
];
const EXTRACT: &[Param] = &[req("monotonic", Bool), opt("suffix", Str)];
const COPY: &[Param] = &[
    opt("name", Getter),
    opt("description", Getter),
    opt("unit", Getter),
];
const AGGREGATE: &[Param] = &[req("function", Str), opt("attributes", StrList)];
const AGGREGATE_VALUE: &[Param] = &[
    req("function", Str),
    req("attribute", Str),
    req("values", StrList),
    req("newValue", Str),
];
const QUANTILES: &[Param] = &[opt("attribute_key", Str), opt("suffix", Str)];
const EXP_TO_HIST: &[Param] = &[req("distribution", Str), req("explicit_bounds", GetterList)];
const SCALE: &[Param] = &[req("factor", Float), opt("unit", Getter)];

type R = Result<EditorFn<MetricContext>, String>;

fn temporality(s: &str) -> Result<i32, String> {
    match s {
        "cumulative" => Ok(AggregationTemporality::Cumulative as i32),
        "delta" => Ok(AggregationTemporality::Delta as i32),
        other => Err(format!("unknown aggregation temporality: {other}")),
    }
}

fn convert_sum_to_gauge(_a: Args<MetricContext>) -> R {
    Ok(Box::new(|d| {
        if let Some(Data::Sum(s)) = &mut d.metric.data {
            let points = std::mem::take(&mut s.data_points);
            d.metric.data = Some(Data::Gauge(Gauge {
                data_points: points,
            }));
        }
        Ok(())
    }))
}

fn convert_gauge_to_sum(mut a: Args<MetricContext>) -> R {
    let t = temporality(&a.str(0).unwrap_or_default())?;
    let monotonic = a.bool(1).unwrap_or(false);
    Ok(Box::new(move |d| {
        if let Some(Data::Gauge(g)) = &mut d.metric.data {
            let points = std::mem::take(&mut g.data_points);
            d.metric.data = Some(Data::Sum(Sum {
                data_points: points,
                aggregation_temporality: t,
                is_monotonic: monotonic,
            }));
        }
        Ok(())
    }))
}

fn derived(
    m: &Metric,
    suffix: &str,
    points: Vec<NumberDataPoint>,
    t: i32,
    monotonic: bool,
) -> Metric {
    Metric {
        name: format!("{}{suffix}", m.name),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: t,
            is_monotonic: monotonic,
        })),
    }
}

fn summary_to_sum(mut a: Args<MetricContext>, count: bool) -> R {
    let t = temporality(&a.str(0).unwrap_or_default())?;
    let monotonic = a.bool(1).unwrap_or(false);
    let suffix = a
        .str(2)
        .unwrap_or_else(|| if count { "_count" } else { "_sum" }.into());
    Ok(Box::new(move |d| {
        let Some(Data::Summary(s)) = &d.metric.data else {
            return Ok(());
        };
        let points = s
            .data_points
            .iter()
            .map(|p| NumberDataPoint {
                attributes: p.attributes.clone(),
                start_time_unix_nano: p.start_time_unix_nano,
                time_unix_nano: p.time_unix_nano,
                flags: p.flags,
                value: Some(if count {
                    number_data_point::Value::AsInt(p.count as i64)
                } else {
                    number_data_point::Value::AsDouble(p.sum)
                }),
                ..Default::default()
            })
            .collect();
        let m = derived(d.metric, &suffix, points, t, monotonic);
        d.new_metrics.push(m);
        Ok(())
    }))
}

fn summary_count_to_sum(a: Args<MetricContext>) -> R {
    summary_to_sum(a, true)
}

fn summary_sum_to_sum(a: Args<MetricContext>) -> R {
    summary_to_sum(a, false)
}

fn extract(mut a: Args<MetricContext>, count: bool) -> R {
    let monotonic = a.bool(0).unwrap_or(false);
    let suffix = a
        .str(1)
        .unwrap_or_else(|| if count { "_count" } else { "_sum" }.into());
    Ok(Box::new(move |d| {
        let point = |attributes: &Vec<_>,
                     start: u64,
                     time: u64,
                     flags: u32,
                     v: number_data_point::Value| {
            NumberDataPoint {
                attributes: attributes.clone(),
                start_time_unix_nano: start,
                time_unix_nano: time,
                flags,
                value: Some(v),
                ..Default::default()
            }
        };
        let value = |c: u64, s: Option<f64>| -> Option<number_data_point::Value> {
            if count {
                Some(number_data_point::Value::AsInt(c as i64))
            } else {
                s.map(number_data_point::Value::AsDouble)
            }
        };
        let (points, t): (Vec<NumberDataPoint>, i32) = match &d.metric.data {
            Some(Data::Histogram(h)) => (
                h.data_points
                    .iter()
                    .filter_map(|p| {
                        value(p.count, p.sum).map(|v| {
                            point(
                                &p.attributes,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                p.flags,
                                v,
                            )
                        })
                    })
                    .collect(),
                h.aggregation_temporality,
            ),
            Some(Data::ExponentialHistogram(h)) => (
                h.data_points
                    .iter()
                    .filter_map(|p| {
                        value(p.count, p.sum).map(|v| {
                            point(
                                &p.attributes,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                p.flags,
                                v,
                            )
                        })
                    })
                    .collect(),
                h.aggregation_temporality,
            ),
            Some(Data::Summary(s)) => (
                s.data_points
                    .iter()
                    .filter_map(|p| {
                        value(p.count, Some(p.sum)).map(|v| {
                            point(
                                &p.attributes,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                p.flags,
                                v,
                            )
                        })
                    })
                    .collect(),
                AggregationTemporality::Cumulative as i32,
            ),
            _ => return Ok(()),
        };
        let m = derived(d.metric, &suffix, points, t, monotonic);
        d.new_metrics.push(m);
        Ok(())
    }))
}

fn extract_sum_metric(a: Args<MetricContext>) -> R {
    extract(a, false)
}

fn extract_count_metric(a: Args<MetricContext>) -> R {
    extract(a, true)
}

fn copy_metric(mut a: Args<MetricContext>) -> R {
    let name = a.opt_getter(0);
    let description = a.opt_getter(1);
    let unit = a.opt_getter(2);
    Ok(Box::new(move |d| {
        let mut m = d.metric.clone();
        for (g, field) in [
            (&name, &mut m.name),
            (&description, &mut m.description),
            (&unit, &mut m.unit),
        ] {
            if let Some(g) = g {
                *field = super::editors::get_string(g, d)?;
            }
        }
        d.new_metrics.push(m);
        Ok(())
    }))
}

fn scale_metric(mut a: Args<MetricContext>) -> R {
    let factor = a.float(0).unwrap_or(1.0);
    let unit = a.opt_getter(1);
    Ok(Box::new(move |d| {
        if let Some(u) = &unit {
            d.metric.unit = super::editors::get_string(u, d)?;
        }
        let scale_number = |p: &mut NumberDataPoint| {
            p.value = match p.value {
                Some(number_data_point::Value::AsInt(i)) => {
                    Some(number_data_point::Value::AsInt((i as f64 * factor) as i64))
                }
                Some(number_data_point::Value::AsDouble(f)) => {
                    Some(number_data_point::Value::AsDouble(f * factor))
                }
                None => None,
            };
        };
        match &mut d.metric.data {
            Some(Data::Gauge(g)) => g.data_points.iter_mut().for_each(scale_number),
            Some(Data::Sum(s)) => s.data_points.iter_mut().for_each(scale_number),
            Some(Data::Histogram(h)) => {
                for p in &mut h.data_points {
                    p.sum = p.sum.map(|s| s * factor);
                    p.min = p.min.map(|s| s * factor);
                    p.max = p.max.map(|s| s * factor);
                    p.explicit_bounds.iter_mut().for_each(|b| *b *= factor);
                }
            }
            Some(Data::Summary(s)) => {
                for p in &mut s.data_points {
                    p.sum *= factor;
                    p.quantile_values.iter_mut().for_each(|q| q.value *= factor);
                }
            }
            Some(Data::ExponentialHistogram(_)) => {
                return Err(crate::EvalError::new(
                    "unsupported metric type: ExponentialHistogram",
                ));
            }
            None => {}
        }
        Ok(())
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggFn {
    Sum,
    Mean,
    Min,
    Max,
    Median,
    Count,
}

/// Go's aggregateutil: each point keeps only `attributes` (all when omitted), then points with
/// equal attributes become one, their values combined by `function`.
fn agg_fn(name: &str) -> Result<AggFn, String> {
    Ok(match name {
        "sum" => AggFn::Sum,
        "mean" => AggFn::Mean,
        "min" => AggFn::Min,
        "max" => AggFn::Max,
        "median" => AggFn::Median,
        "count" => AggFn::Count,
        other => {
            return Err(format!(
                "invalid aggregation function: '{other}', valid options: sum, mean, min, max, median, count"
            ));
        }
    })
}

/// Applies `filter` to every point's attributes, then merges points with equal attributes.
fn aggregate_points(
    data: &mut Option<Data>,
    f: AggFn,
    filter: impl Fn(&mut Vec<KeyValue>),
) -> Result<(), crate::EvalError> {
    match data {
        Some(Data::Gauge(g)) => aggregate_numbers(&mut g.data_points, f, filter),
        Some(Data::Sum(s)) => aggregate_numbers(&mut s.data_points, f, filter),
        Some(Data::Histogram(h)) => {
            if f != AggFn::Sum {
                return Err(crate::EvalError::new(
                    "Histogram metrics support only the sum aggregation function",
                ));
            }
            aggregate_histograms(&mut h.data_points, filter)
        }
        Some(Data::ExponentialHistogram(h)) => {
            if f != AggFn::Sum {
                return Err(crate::EvalError::new(
                    "ExponentialHistogram metrics support only the sum aggregation function",
                ));
            }
            aggregate_exp_histograms(&mut h.data_points, filter)
        }
        _ => {}
    }
    Ok(())
}

/// Points whose `attribute` is one of `values` get `newValue` there, then equal points merge.
fn aggregate_on_attribute_value(mut a: Args<MetricContext>) -> R {
    let f = agg_fn(&a.str(0).unwrap_or_default())?;
    let attribute = a.str(1).unwrap_or_default();
    let values = a.str_list(2).unwrap_or_default();
    let new_value = a.str(3).unwrap_or_default();
    Ok(Box::new(move |d| {
        aggregate_points(&mut d.metric.data, f, |attrs| {
            if let Some(kv) = attrs.iter_mut().find(|kv| kv.key == attribute)
                && let Some(pdata::proto::common::v1::AnyValue {
                    value: Some(pdata::proto::common::v1::any_value::Value::StringValue(v)),
                }) = &mut kv.value
                && values.contains(v)
            {
                *v = new_value.clone();
            }
        })
    }))
}

/// One Gauge point per Summary quantile, the quantile in `attribute_key` (default
/// `quantile`), named with `suffix` (default `.quantiles`).
fn summary_quantiles_to_gauge(mut a: Args<MetricContext>) -> R {
    let key = a.str(0).unwrap_or_else(|| "quantile".into());
    let suffix = a.str(1).unwrap_or_else(|| ".quantiles".into());
    Ok(Box::new(move |d| {
        let Some(Data::Summary(s)) = &d.metric.data else {
            return Ok(());
        };
        let mut points = Vec::new();
        for p in &s.data_points {
            for q in &p.quantile_values {
                let mut attributes = p.attributes.clone();
                crate::context::map_put(
                    &mut attributes,
                    &key,
                    pdata::proto::common::v1::AnyValue {
                        value: Some(pdata::proto::common::v1::any_value::Value::DoubleValue(
                            q.quantile,
                        )),
                    },
                );
                points.push(NumberDataPoint {
                    attributes,
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    flags: p.flags,
                    value: Some(number_data_point::Value::AsDouble(q.value)),
                    ..Default::default()
                });
            }
        }
        let m = Metric {
            name: format!("{}{suffix}", d.metric.name),
            description: d.metric.description.clone(),
            unit: d.metric.unit.clone(),
            metadata: d.metric.metadata.clone(),
            data: Some(Data::Gauge(Gauge {
                data_points: points,
            })),
        };
        d.new_metrics.push(m);
        Ok(())
    }))
}

fn aggregate_on_attributes(mut a: Args<MetricContext>) -> R {
    let f = agg_fn(&a.str(0).unwrap_or_default())?;
    let keep = a.str_list(1);
    Ok(Box::new(move |d| {
        aggregate_points(&mut d.metric.data, f, |attrs| {
            if let Some(keep) = &keep {
                attrs.retain(|kv| keep.contains(&kv.key));
            }
        })
    }))
}

fn same_attrs(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|kv| b.iter().any(|o| o.key == kv.key && o.value == kv.value))
}

/// Groups of points with equal attributes, in first-seen order.
fn group_by_attrs<T>(points: Vec<T>, attrs: impl Fn(&T) -> &[KeyValue]) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    for p in points {
        match groups
            .iter_mut()
            .find(|g| same_attrs(attrs(&g[0]), attrs(&p)))
        {
            Some(g) => g.push(p),
            None => groups.push(vec![p]),
        }
    }
    groups
}

fn aggregate_numbers(
    points: &mut Vec<NumberDataPoint>,
    f: AggFn,
    filter: impl Fn(&mut Vec<KeyValue>),
) {
    let mut all = std::mem::take(points);
    all.iter_mut().for_each(|p| filter(&mut p.attributes));
    for group in group_by_attrs(all, |p| &p.attributes) {
        let ints = group
            .iter()
            .all(|p| matches!(p.value, Some(number_data_point::Value::AsInt(_))));
        let vals: Vec<f64> = group
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                Some(number_data_point::Value::AsDouble(d)) => d,
                None => 0.0,
            })
            .collect();
        let int_vals: Vec<i64> = group
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(i)) => i,
                Some(number_data_point::Value::AsDouble(d)) => d as i64,
                None => 0,
            })
            .collect();
        let mut out = group[0].clone();
        out.start_time_unix_nano = group
            .iter()
            .map(|p| p.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        out.time_unix_nano = group.iter().map(|p| p.time_unix_nano).max().unwrap_or(0);
        let n = vals.len();
        out.value = Some(if ints {
            number_data_point::Value::AsInt(match f {
                AggFn::Sum => int_vals.iter().sum(),
                AggFn::Mean => int_vals.iter().sum::<i64>() / n as i64,
                AggFn::Min => int_vals.iter().copied().min().unwrap_or(0),
                AggFn::Max => int_vals.iter().copied().max().unwrap_or(0),
                AggFn::Median => {
                    let mut v = int_vals.clone();
                    v.sort_unstable();
                    if n % 2 == 1 {
                        v[n / 2]
                    } else {
                        (v[n / 2 - 1] + v[n / 2]) / 2
                    }
                }
                AggFn::Count => n as i64,
            })
        } else {
            number_data_point::Value::AsDouble(match f {
                AggFn::Sum => vals.iter().sum(),
                AggFn::Mean => vals.iter().sum::<f64>() / n as f64,
                AggFn::Min => vals.iter().copied().fold(f64::INFINITY, f64::min),
                AggFn::Max => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                AggFn::Median => {
                    let mut v = vals.clone();
                    v.sort_by(f64::total_cmp);
                    if n % 2 == 1 {
                        v[n / 2]
                    } else {
                        (v[n / 2 - 1] + v[n / 2]) / 2.0
                    }
                }
                AggFn::Count => n as f64,
            })
        });
        points.push(out);
    }
}

fn aggregate_histograms(points: &mut Vec<HistogramDataPoint>, filter: impl Fn(&mut Vec<KeyValue>)) {
    let mut all = std::mem::take(points);
    all.iter_mut().for_each(|p| filter(&mut p.attributes));
    for group in group_by_attrs(all, |p| &p.attributes) {
        // points with other bounds cannot be added bucket by bucket: they stay apart
        let mut merged: Vec<HistogramDataPoint> = Vec::new();
        for p in group {
            match merged
                .iter_mut()
                .find(|m| m.explicit_bounds == p.explicit_bounds)
            {
                Some(m) => {
                    m.count += p.count;
                    m.sum = match (m.sum, p.sum) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    m.min = match (m.min, p.min) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    m.max = match (m.max, p.max) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    for (i, c) in p.bucket_counts.iter().enumerate() {
                        match m.bucket_counts.get_mut(i) {
                            Some(x) => *x += c,
                            None => m.bucket_counts.push(*c),
                        }
                    }
                    m.start_time_unix_nano = m.start_time_unix_nano.min(p.start_time_unix_nano);
                    m.time_unix_nano = m.time_unix_nano.max(p.time_unix_nano);
                }
                None => merged.push(p),
            }
        }
        points.extend(merged);
    }
}

fn add_buckets(into: &mut Option<Buckets>, from: Option<Buckets>) {
    let Some(from) = from else { return };
    let Some(b) = into else {
        *into = Some(from);
        return;
    };
    // align on the lower offset
    let lo = b.offset.min(from.offset);
    let shift = |bk: &Buckets| (bk.offset - lo) as usize;
    let len = (b.offset as i64 + b.bucket_counts.len() as i64)
        .max(from.offset as i64 + from.bucket_counts.len() as i64)
        - lo as i64;
    let mut counts = vec![0u64; len.max(0) as usize];
    for (i, c) in b.bucket_counts.iter().enumerate() {
        counts[shift(b) + i] += c;
    }
    for (i, c) in from.bucket_counts.iter().enumerate() {
        counts[shift(&from) + i] += c;
    }
    *b = Buckets {
        offset: lo,
        bucket_counts: counts,
    };
}

fn aggregate_exp_histograms(
    points: &mut Vec<ExponentialHistogramDataPoint>,
    filter: impl Fn(&mut Vec<KeyValue>),
) {
    let mut all = std::mem::take(points);
    all.iter_mut().for_each(|p| filter(&mut p.attributes));
    for group in group_by_attrs(all, |p| &p.attributes) {
        let mut merged: Vec<ExponentialHistogramDataPoint> = Vec::new();
        for p in group {
            match merged.iter_mut().find(|m| m.scale == p.scale) {
                Some(m) => {
                    m.count += p.count;
                    m.zero_count += p.zero_count;
                    m.sum = match (m.sum, p.sum) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    m.min = match (m.min, p.min) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    m.max = match (m.max, p.max) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    add_buckets(&mut m.positive, p.positive);
                    add_buckets(&mut m.negative, p.negative);
                    m.start_time_unix_nano = m.start_time_unix_nano.min(p.start_time_unix_nano);
                    m.time_unix_nano = m.time_unix_nano.max(p.time_unix_nano);
                }
                None => merged.push(p),
            }
        }
        points.extend(merged);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Distribution {
    Upper,
    Midpoint,
    Uniform,
    Random,
}

/// The explicit bucket (upper-inclusive bounds, then the overflow bucket) holding `v`.
fn explicit_index(bounds: &[f64], v: f64) -> usize {
    bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len())
}

/// Spreads `count` observations of the value range (lo, hi] over the explicit buckets.
fn spread(
    counts: &mut [u64],
    bounds: &[f64],
    lo: f64,
    hi: f64,
    count: u64,
    d: Distribution,
    rng: &mut u64,
) {
    if count == 0 {
        return;
    }
    match d {
        Distribution::Upper => counts[explicit_index(bounds, hi)] += count,
        Distribution::Midpoint => counts[explicit_index(bounds, (lo + hi) / 2.0)] += count,
        Distribution::Uniform | Distribution::Random => {
            // the range is (lo, hi]: a bucket ending at lo is not covered
            let first = bounds.iter().position(|b| lo < *b).unwrap_or(bounds.len());
            let last = explicit_index(bounds, hi);
            let n = (last - first + 1) as u64;
            if d == Distribution::Uniform {
                // an even share each, the remainder to the first buckets
                for (k, c) in counts[first..=last].iter_mut().enumerate() {
                    *c += count / n + u64::from((k as u64) < count % n);
                }
            } else {
                for _ in 0..count {
                    *rng ^= *rng << 13;
                    *rng ^= *rng >> 7;
                    *rng ^= *rng << 17;
                    counts[first + (*rng % n) as usize] += 1;
                }
            }
        }
    }
}

/// `convert_exponential_histogram_to_histogram(distribution, explicit_bounds)`: an
/// exponential histogram becomes an explicit one with the given bounds; each exponential
/// bucket's count goes to the explicit bucket of its upper bound, of its midpoint, evenly over
/// the buckets its range covers, or randomly among them. Positive, negative and zero buckets
/// are converted; the total count, sum, min and max are kept.
fn exp_to_histogram(mut a: Args<MetricContext>) -> R {
    let dist = match a.str(0).unwrap_or_default().as_str() {
        "upper" => Distribution::Upper,
        "midpoint" => Distribution::Midpoint,
        "uniform" => Distribution::Uniform,
        "random" => Distribution::Random,
        other => {
            return Err(format!(
                "invalid distribution: {other}, must be one of upper, midpoint, uniform, random"
            ));
        }
    };
    let bounds: Vec<f64> = a
        .getters(1)
        .iter()
        .map(|e| match e.literal() {
            Some(crate::Value::Float(f)) => Ok(*f),
            Some(crate::Value::Int(i)) => Ok(*i as f64),
            _ => Err("explicit bounds must be a list of numbers".to_string()),
        })
        .collect::<Result<_, _>>()?;
    if bounds.is_empty() {
        return Err("explicit bounds cannot be empty".into());
    }
    if bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err("explicit bounds must be strictly increasing".into());
    }
    Ok(Box::new(move |d| {
        let Some(Data::ExponentialHistogram(eh)) = &d.metric.data else {
            return Ok(());
        };
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |t| t.as_nanos() as u64);
        let points = eh
            .data_points
            .iter()
            .map(|p| {
                let base = 2f64.powf(2f64.powi(-p.scale));
                let mut counts = vec![0u64; bounds.len() + 1];
                if let Some(b) = &p.positive {
                    for (i, c) in b.bucket_counts.iter().enumerate() {
                        let idx = (b.offset as i64 + i as i64) as f64;
                        spread(
                            &mut counts,
                            &bounds,
                            base.powf(idx),
                            base.powf(idx + 1.0),
                            *c,
                            dist,
                            &mut rng,
                        );
                    }
                }
                if let Some(b) = &p.negative {
                    for (i, c) in b.bucket_counts.iter().enumerate() {
                        let idx = (b.offset as i64 + i as i64) as f64;
                        spread(
                            &mut counts,
                            &bounds,
                            -base.powf(idx + 1.0),
                            -base.powf(idx),
                            *c,
                            dist,
                            &mut rng,
                        );
                    }
                }
                counts[explicit_index(&bounds, 0.0)] += p.zero_count;
                HistogramDataPoint {
                    attributes: p.attributes.clone(),
                    start_time_unix_nano: p.start_time_unix_nano,
                    time_unix_nano: p.time_unix_nano,
                    count: p.count,
                    sum: p.sum,
                    bucket_counts: counts,
                    explicit_bounds: bounds.clone(),
                    exemplars: p.exemplars.clone(),
                    flags: p.flags,
                    min: p.min,
                    max: p.max,
                }
            })
            .collect();
        let temporality = eh.aggregation_temporality;
        d.metric.data = Some(Data::Histogram(pdata::proto::metrics::v1::Histogram {
            data_points: points,
            aggregation_temporality: temporality,
        }));
        Ok(())
    }))
}
