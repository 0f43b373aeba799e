//! The transform processor's metric-context editors (Go `transformprocessor/internal/metrics`):
//! they change a metric's type or derive new metrics, so they exist for the metric context
//! only. Register them with [`register_metric`].

use pdata::proto::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, metric::Data, number_data_point,
};

use super::ParamKind::*;
use super::{Args, Functions, Param, opt, req};
use crate::EditorFn;
use crate::contexts::metric::MetricContext;

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
        .editor("copy_metric", COPY, copy_metric)
        .editor("scale_metric", SCALE, scale_metric);
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
