//! The transform processor's histogram functions (Go `transformprocessor/internal/metrics`):
//! `extract_percentile_metric` (metric context: a gauge of a percentile estimated from each
//! histogram or exponential histogram point's buckets) and `merge_histogram_buckets`
//! (datapoint context: folds the bucket ending at a bound into the next one).

use pdata::proto::metrics::v1::{
    ExponentialHistogramDataPoint, Gauge, HistogramDataPoint, Metric, NumberDataPoint,
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};

use super::ParamKind::*;
use super::{Args, Functions, Param, opt, req};
use crate::contexts::datapoint::DataPointContext;
use crate::contexts::metric::MetricContext;
use crate::value::format_float;
use crate::{EditorFn, EvalError};

/// Registers the transform processor's datapoint-context editors.
pub fn register_datapoint(f: &mut Functions<DataPointContext>) {
    f.editor("merge_histogram_buckets", MERGE, merge_histogram_buckets);
}

pub(crate) const PERCENTILE: &[Param] = &[req("percentile", Float), opt("suffix", Str)];
const MERGE: &[Param] = &[req("bound", Float)];

/// A point to leave out (nothing to interpolate from), or a real error.
enum Skip {
    Point,
    Err(String),
}

pub(crate) fn extract_percentile_metric(
    mut a: Args<MetricContext>,
) -> Result<EditorFn<MetricContext>, String> {
    let percentile = a.float(0).unwrap_or(0.0);
    if percentile <= 0.0 || percentile >= 100.0 {
        return Err(format!(
            "percentile must be greater than 0 and less than 100, got {percentile:.6}"
        ));
    }
    let pct = format_float(percentile);
    let suffix = a
        .str(1)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("_p{pct}"));
    Ok(Box::new(move |d| {
        let points: Vec<NumberDataPoint> = match &d.metric.data {
            Some(Data::Histogram(h)) if !h.data_points.is_empty() => collect(
                &h.data_points,
                |p| histogram_percentile(p, percentile),
                |p| {
                    (
                        p.attributes.clone(),
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                    )
                },
            )?,
            Some(Data::ExponentialHistogram(h)) if !h.data_points.is_empty() => collect(
                &h.data_points,
                |p| exponential_percentile(p, percentile),
                |p| {
                    (
                        p.attributes.clone(),
                        p.start_time_unix_nano,
                        p.time_unix_nano,
                    )
                },
            )?,
            _ => return Ok(()),
        };
        if points.is_empty() {
            return Ok(());
        }
        let m = &d.metric;
        let description = if m.description.is_empty() {
            format!("p{pct}")
        } else {
            format!("{} (p{pct})", m.description)
        };
        let out = Metric {
            name: format!("{}{suffix}", m.name),
            description,
            unit: m.unit.clone(),
            data: Some(Data::Gauge(Gauge {
                data_points: points,
            })),
            ..Default::default()
        };
        d.new_metrics.push(out);
        Ok(())
    }))
}

type PointHead = (Vec<pdata::proto::common::v1::KeyValue>, u64, u64);

fn collect<P>(
    points: &[P],
    value: impl Fn(&P) -> Result<f64, Skip>,
    head: impl Fn(&P) -> PointHead,
) -> Result<Vec<NumberDataPoint>, EvalError> {
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let v = match value(p) {
            Ok(v) => v,
            Err(Skip::Point) => continue,
            Err(Skip::Err(e)) => return Err(EvalError::new(e)),
        };
        let (attributes, start, time) = head(p);
        out.push(NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsDouble(v)),
            ..Default::default()
        });
    }
    Ok(out)
}

fn target_count(count: u64, percentile: f64) -> u64 {
    (count as f64 * (percentile / 100.0)).ceil() as u64
}

fn linear(lower: f64, upper: f64, ratio: f64) -> Result<f64, Skip> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Skip::Err(format!(
            "linear interpolation: invalid ratio {ratio:.6}, must be between 0 and 1"
        )));
    }
    Ok(lower + ratio * (upper - lower))
}

fn logarithmic(lower: f64, upper: f64, ratio: f64) -> Result<f64, Skip> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Skip::Err(format!(
            "logarithmic interpolation: invalid ratio {ratio:.6}, must be between 0 and 1"
        )));
    }
    if lower <= 0.0 || upper <= 0.0 {
        return Err(Skip::Err(format!(
            "logarithmic interpolation: bounds must be positive, got lowerBound={lower:.6}, upperBound={upper:.6}"
        )));
    }
    let (l, u) = (lower.log2(), upper.log2());
    Ok((l + (u - l) * ratio).exp2())
}

fn histogram_percentile(p: &HistogramDataPoint, percentile: f64) -> Result<f64, Skip> {
    let (counts, bounds) = (&p.bucket_counts, &p.explicit_bounds);
    if p.count == 0 || counts.is_empty() {
        return Err(Skip::Point);
    }
    let target = target_count(p.count, percentile);
    if counts.len() != bounds.len() + 1 {
        return Err(Skip::Err(format!(
            "calculating histogram percentile: malformed data: bucketCounts length ({}) != explicitBounds length ({}) + 1",
            counts.len(),
            bounds.len()
        )));
    }
    // one bucket spanning (-Inf, +Inf): only min and max give a range
    if counts.len() == 1 {
        let (Some(min), Some(max)) = (p.min, p.max) else {
            return Err(Skip::Point);
        };
        return linear(min, max, target as f64 / counts[0] as f64);
    }
    let mut cumulative = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        let before = cumulative;
        cumulative += c;
        if cumulative < target {
            continue;
        }
        let (lower, upper) = if i == 0 {
            let upper = bounds[0];
            match p.min {
                Some(min) if min < upper => (min, upper),
                // no usable min and a negative first bound: nothing to interpolate from -Inf
                _ if 0.0 > upper => return Ok(upper),
                _ => (0.0, upper),
            }
        } else {
            let lower = bounds[i - 1];
            match bounds.get(i) {
                Some(&upper) => (lower, upper),
                // the last bucket reaches +Inf: its max is the only upper end there is
                None => match p.max {
                    Some(max) if max > lower => (lower, max),
                    _ => return Ok(lower),
                },
            }
        };
        return linear(lower, upper, (target - before) as f64 / c as f64);
    }
    Err(Skip::Err(format!(
        "calculating histogram percentile: malformed data: cumulative count doesn't reach target count corresponding to percentile. targetCount={target}, total count={cumulative}"
    )))
}

/// The lower bound of exponential bucket `index` at `scale` (the data model's formulas).
fn exp_bound(index: i64, scale: i32) -> f64 {
    if scale <= 0 {
        let shift = (-scale).min(62) as u32;
        let exp = index.saturating_mul(1i64 << shift);
        return (exp.clamp(-2000, 2000) as f64).exp2();
    }
    let inverse_factor = std::f64::consts::LN_2 * (-(scale as f64)).exp2();
    (index as f64 * inverse_factor).exp()
}

fn exponential_percentile(p: &ExponentialHistogramDataPoint, percentile: f64) -> Result<f64, Skip> {
    let empty = Buckets::default();
    let neg = p.negative.as_ref().unwrap_or(&empty);
    let pos = p.positive.as_ref().unwrap_or(&empty);
    if p.count == 0
        || (neg.bucket_counts.is_empty() && pos.bucket_counts.is_empty() && p.zero_count == 0)
    {
        return Err(Skip::Point);
    }
    let target = target_count(p.count, percentile);
    let scale = p.scale;
    // the most negative values first: negative buckets from the highest index down
    let mut neg_total = 0u64;
    for i in (0..neg.bucket_counts.len()).rev() {
        let before = neg_total;
        neg_total += neg.bucket_counts[i];
        if neg_total >= target {
            let idx = neg.offset as i64 + i as i64;
            let (abs_lower, abs_upper) = (exp_bound(idx, scale), exp_bound(idx + 1, scale));
            if abs_lower >= abs_upper {
                return Err(Skip::Err(format!(
                    "calculating exponential histogram percentile: malformed negative bucket bounds: absLowerBound ({abs_lower:.6}) >= absUpperBound ({abs_upper:.6}) at histogramIndex={idx}, scale={scale}"
                )));
            }
            let ratio = (target - before) as f64 / neg.bucket_counts[i] as f64;
            return logarithmic(abs_lower, abs_upper, 1.0 - ratio).map(|v| -v);
        }
    }
    let after_zero = neg_total + p.zero_count;
    if after_zero >= target {
        let (has_neg, has_pos) = (!neg.bucket_counts.is_empty(), !pos.bucket_counts.is_empty());
        let mut lower = -p.zero_threshold;
        let mut upper = p.zero_threshold;
        if !has_neg && has_pos {
            lower = 0.0;
        } else if !has_pos && has_neg {
            upper = 0.0;
        }
        return linear(
            lower,
            upper,
            (target - neg_total) as f64 / p.zero_count as f64,
        );
    }
    let mut cumulative = after_zero;
    for (i, &c) in pos.bucket_counts.iter().enumerate() {
        let before = cumulative;
        cumulative += c;
        if cumulative >= target {
            let idx = pos.offset as i64 + i as i64;
            return logarithmic(
                exp_bound(idx, scale),
                exp_bound(idx + 1, scale),
                (target - before) as f64 / c as f64,
            );
        }
    }
    Err(Skip::Err(format!(
        "calculating exponential histogram percentile: malformed data: cumulative count doesn't reach target count corresponding to percentile. targetCount={target}, total count={cumulative}"
    )))
}

fn merge_histogram_buckets(
    mut a: Args<DataPointContext>,
) -> Result<EditorFn<DataPointContext>, String> {
    let bound = a.float(0).unwrap_or(0.0);
    Ok(Box::new(move |d| {
        if let Some(crate::contexts::datapoint::DpMut::Histogram(p)) = d.point_mut() {
            merge_bucket(p, bound);
        }
        Ok(())
    }))
}

/// Folds the bucket whose upper bound is `bound` (within 1e-12) into the next one.
fn merge_bucket(p: &mut HistogramDataPoint, bound: f64) {
    if p.explicit_bounds.len() + 1 != p.bucket_counts.len() || p.bucket_counts.len() == 1 {
        return;
    }
    let Some(i) = p
        .explicit_bounds
        .iter()
        .position(|b| (b - bound).abs() < 1e-12)
    else {
        return;
    };
    p.bucket_counts[i + 1] += p.bucket_counts[i];
    p.bucket_counts.remove(i);
    p.explicit_bounds.remove(i);
}
