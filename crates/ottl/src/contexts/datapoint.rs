//! The datapoint context (Go `ottldatapoint`): one data point of any metric type, with
//! `metric.*` paths to the metric that holds it.

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};
use pdata::proto::resource::v1::Resource;

use super::metric::{MetricField, metric_get, metric_set, parse_metric_field};
use super::span::pdata_value;
use super::{Upper, invalid, keyed, leaf, metric_enum, nanos, parse_upper, time};
use crate::EvalError;
use crate::context::{Context, SlotMut, SlotRef, set_int, set_map, set_time};
use crate::syntax::Field;
use crate::value::{Pdata, Value};

pub struct DataPointContext;

/// Data point `index` of `metric` (whatever its type). The point is reached through the
/// metric so `metric.*` paths can be written in the same evaluation.
pub struct DataPointData<'a> {
    pub metric: &'a mut Metric,
    pub index: usize,
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> DataPointData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> DataPointData<'a> {
    pub fn new(
        metric: &'a mut Metric,
        index: usize,
        scope: &'a mut InstrumentationScope,
        resource: &'a mut Resource,
    ) -> DataPointData<'a> {
        DataPointData {
            metric,
            index,
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }

    pub fn point(&self) -> Option<Dp<'_>> {
        let i = self.index;
        Some(match self.metric.data.as_ref()? {
            Data::Gauge(g) => Dp::Number(g.data_points.get(i)?),
            Data::Sum(s) => Dp::Number(s.data_points.get(i)?),
            Data::Histogram(h) => Dp::Histogram(h.data_points.get(i)?),
            Data::ExponentialHistogram(h) => Dp::ExpHistogram(h.data_points.get(i)?),
            Data::Summary(s) => Dp::Summary(s.data_points.get(i)?),
        })
    }

    pub fn point_mut(&mut self) -> Option<DpMut<'_>> {
        let i = self.index;
        Some(match self.metric.data.as_mut()? {
            Data::Gauge(g) => DpMut::Number(g.data_points.get_mut(i)?),
            Data::Sum(s) => DpMut::Number(s.data_points.get_mut(i)?),
            Data::Histogram(h) => DpMut::Histogram(h.data_points.get_mut(i)?),
            Data::ExponentialHistogram(h) => DpMut::ExpHistogram(h.data_points.get_mut(i)?),
            Data::Summary(s) => DpMut::Summary(s.data_points.get_mut(i)?),
        })
    }
}

pub enum Dp<'a> {
    Number(&'a NumberDataPoint),
    Histogram(&'a HistogramDataPoint),
    ExpHistogram(&'a ExponentialHistogramDataPoint),
    Summary(&'a SummaryDataPoint),
}

pub enum DpMut<'a> {
    Number(&'a mut NumberDataPoint),
    Histogram(&'a mut HistogramDataPoint),
    ExpHistogram(&'a mut ExponentialHistogramDataPoint),
    Summary(&'a mut SummaryDataPoint),
}

macro_rules! common {
    ($dp:expr, $f:ident) => {
        match $dp {
            Dp::Number(p) => &p.$f,
            Dp::Histogram(p) => &p.$f,
            Dp::ExpHistogram(p) => &p.$f,
            Dp::Summary(p) => &p.$f,
        }
    };
}

macro_rules! common_mut {
    ($dp:expr, $f:ident) => {
        match $dp {
            DpMut::Number(p) => &mut p.$f,
            DpMut::Histogram(p) => &mut p.$f,
            DpMut::ExpHistogram(p) => &mut p.$f,
            DpMut::Summary(p) => &mut p.$f,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpField {
    Attributes,
    StartTimeUnixNano,
    TimeUnixNano,
    StartTime,
    Time,
    ValueDouble,
    ValueInt,
    Flags,
    Count,
    Sum,
    Min,
    Max,
    BucketCounts,
    ExplicitBounds,
    Scale,
    ZeroCount,
    PositiveOffset,
    PositiveBucketCounts,
    NegativeOffset,
    NegativeBucketCounts,
    /// `pmetric.ExemplarSlice` (not on summaries)
    Exemplars,
    /// `pmetric.SummaryDataPointValueAtQuantileSlice` (summaries only)
    QuantileValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPointPath {
    Upper(Upper),
    Metric(MetricField),
    Point(DpField),
}

fn u64_list(v: &[u64]) -> Value {
    Value::List(
        v.iter()
            .map(|x| AnyValue {
                value: Some(any_value::Value::IntValue(*x as i64)),
            })
            .collect(),
    )
}

fn f64_list(v: &[f64]) -> Value {
    Value::List(
        v.iter()
            .map(|x| AnyValue {
                value: Some(any_value::Value::DoubleValue(*x)),
            })
            .collect(),
    )
}

fn set_u64_list(target: &mut Vec<u64>, v: Value) {
    if let Value::List(l) = v {
        *target = l
            .iter()
            .map(|a| match a.value {
                Some(any_value::Value::IntValue(i)) => i.max(0) as u64,
                Some(any_value::Value::DoubleValue(f)) => f.max(0.0) as u64,
                _ => 0,
            })
            .collect();
    }
}

fn set_f64_list(target: &mut Vec<f64>, v: Value) {
    if let Value::List(l) = v {
        *target = l
            .iter()
            .map(|a| match a.value {
                Some(any_value::Value::IntValue(i)) => i as f64,
                Some(any_value::Value::DoubleValue(f)) => f,
                _ => 0.0,
            })
            .collect();
    }
}

fn dp_get(dp: Dp<'_>, f: DpField) -> Value {
    match f {
        DpField::Attributes => Value::Map(common!(dp, attributes).clone()),
        DpField::StartTimeUnixNano => nanos(*common!(dp, start_time_unix_nano)),
        DpField::TimeUnixNano => nanos(*common!(dp, time_unix_nano)),
        DpField::StartTime => time(*common!(dp, start_time_unix_nano)),
        DpField::Time => time(*common!(dp, time_unix_nano)),
        DpField::Flags => Value::Int(*common!(dp, flags) as i64),
        DpField::ValueDouble => match dp {
            Dp::Number(p) => Value::Float(match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                _ => 0.0,
            }),
            _ => Value::Nil,
        },
        DpField::ValueInt => match dp {
            Dp::Number(p) => Value::Int(match p.value {
                Some(number_data_point::Value::AsInt(i)) => i,
                _ => 0,
            }),
            _ => Value::Nil,
        },
        DpField::Count => match dp {
            Dp::Histogram(p) => Value::Int(p.count as i64),
            Dp::ExpHistogram(p) => Value::Int(p.count as i64),
            Dp::Summary(p) => Value::Int(p.count as i64),
            Dp::Number(_) => Value::Nil,
        },
        DpField::Sum => match dp {
            Dp::Histogram(p) => Value::Float(p.sum.unwrap_or(0.0)),
            Dp::ExpHistogram(p) => Value::Float(p.sum.unwrap_or(0.0)),
            Dp::Summary(p) => Value::Float(p.sum),
            Dp::Number(_) => Value::Nil,
        },
        DpField::Min => match dp {
            Dp::Histogram(p) => p.min.map_or(Value::Nil, Value::Float),
            Dp::ExpHistogram(p) => p.min.map_or(Value::Nil, Value::Float),
            _ => Value::Nil,
        },
        DpField::Max => match dp {
            Dp::Histogram(p) => p.max.map_or(Value::Nil, Value::Float),
            Dp::ExpHistogram(p) => p.max.map_or(Value::Nil, Value::Float),
            _ => Value::Nil,
        },
        DpField::BucketCounts => match dp {
            Dp::Histogram(p) => u64_list(&p.bucket_counts),
            _ => Value::Nil,
        },
        DpField::ExplicitBounds => match dp {
            Dp::Histogram(p) => f64_list(&p.explicit_bounds),
            _ => Value::Nil,
        },
        DpField::Scale => match dp {
            Dp::ExpHistogram(p) => Value::Int(p.scale as i64),
            _ => Value::Nil,
        },
        DpField::ZeroCount => match dp {
            Dp::ExpHistogram(p) => Value::Int(p.zero_count as i64),
            _ => Value::Nil,
        },
        DpField::PositiveOffset | DpField::NegativeOffset => match dp {
            Dp::ExpHistogram(p) => {
                let b = if f == DpField::PositiveOffset {
                    &p.positive
                } else {
                    &p.negative
                };
                Value::Int(b.as_ref().map_or(0, |b| b.offset as i64))
            }
            _ => Value::Nil,
        },
        DpField::PositiveBucketCounts | DpField::NegativeBucketCounts => match dp {
            Dp::ExpHistogram(p) => {
                let b = if f == DpField::PositiveBucketCounts {
                    &p.positive
                } else {
                    &p.negative
                };
                u64_list(b.as_ref().map_or(&[][..], |b| &b.bucket_counts[..]))
            }
            _ => Value::Nil,
        },
        DpField::Exemplars => match dp {
            Dp::Number(p) => pdata_value(Pdata::Exemplars(p.exemplars.clone())),
            Dp::Histogram(p) => pdata_value(Pdata::Exemplars(p.exemplars.clone())),
            Dp::ExpHistogram(p) => pdata_value(Pdata::Exemplars(p.exemplars.clone())),
            Dp::Summary(_) => Value::Nil,
        },
        DpField::QuantileValues => match dp {
            Dp::Summary(p) => pdata_value(Pdata::Quantiles(p.quantile_values.clone())),
            _ => Value::Nil,
        },
    }
}

fn dp_set(dp: DpMut<'_>, f: DpField, v: Value) {
    match f {
        DpField::Attributes => set_map(common_mut!(dp, attributes), v),
        DpField::StartTimeUnixNano => set_int(common_mut!(dp, start_time_unix_nano), v),
        DpField::TimeUnixNano => set_int(common_mut!(dp, time_unix_nano), v),
        DpField::StartTime => set_time(common_mut!(dp, start_time_unix_nano), v),
        DpField::Time => set_time(common_mut!(dp, time_unix_nano), v),
        DpField::Flags => set_int(common_mut!(dp, flags), v),
        DpField::ValueDouble => {
            if let (DpMut::Number(p), Value::Float(d)) = (dp, v) {
                p.value = Some(number_data_point::Value::AsDouble(d));
            }
        }
        DpField::ValueInt => {
            if let (DpMut::Number(p), Value::Int(i)) = (dp, v) {
                p.value = Some(number_data_point::Value::AsInt(i));
            }
        }
        DpField::Count => match dp {
            DpMut::Histogram(p) => set_int(&mut p.count, v),
            DpMut::ExpHistogram(p) => set_int(&mut p.count, v),
            DpMut::Summary(p) => set_int(&mut p.count, v),
            DpMut::Number(_) => {}
        },
        DpField::Sum => {
            if let Value::Float(s) = v {
                match dp {
                    DpMut::Histogram(p) => p.sum = Some(s),
                    DpMut::ExpHistogram(p) => p.sum = Some(s),
                    DpMut::Summary(p) => p.sum = s,
                    DpMut::Number(_) => {}
                }
            }
        }
        DpField::Min | DpField::Max => {
            if let Value::Float(x) = v {
                let is_min = f == DpField::Min;
                match dp {
                    DpMut::Histogram(p) => {
                        *(if is_min { &mut p.min } else { &mut p.max }) = Some(x)
                    }
                    DpMut::ExpHistogram(p) => {
                        *(if is_min { &mut p.min } else { &mut p.max }) = Some(x)
                    }
                    _ => {}
                }
            }
        }
        DpField::BucketCounts => {
            if let DpMut::Histogram(p) = dp {
                set_u64_list(&mut p.bucket_counts, v);
            }
        }
        DpField::ExplicitBounds => {
            if let DpMut::Histogram(p) = dp {
                set_f64_list(&mut p.explicit_bounds, v);
            }
        }
        DpField::Scale => {
            if let DpMut::ExpHistogram(p) = dp {
                set_int(&mut p.scale, v);
            }
        }
        DpField::ZeroCount => {
            if let DpMut::ExpHistogram(p) = dp {
                set_int(&mut p.zero_count, v);
            }
        }
        DpField::Exemplars => {
            if let Value::Pdata(b) = v
                && let Pdata::Exemplars(x) = *b
            {
                match dp {
                    DpMut::Number(p) => p.exemplars = x,
                    DpMut::Histogram(p) => p.exemplars = x,
                    DpMut::ExpHistogram(p) => p.exemplars = x,
                    DpMut::Summary(_) => {}
                }
            }
        }
        DpField::QuantileValues => {
            if let (DpMut::Summary(p), Value::Pdata(b)) = (dp, v)
                && let Pdata::Quantiles(x) = *b
            {
                p.quantile_values = x;
            }
        }
        DpField::PositiveOffset
        | DpField::NegativeOffset
        | DpField::PositiveBucketCounts
        | DpField::NegativeBucketCounts => {
            if let DpMut::ExpHistogram(p) = dp {
                let positive = matches!(f, DpField::PositiveOffset | DpField::PositiveBucketCounts);
                let b = if positive {
                    &mut p.positive
                } else {
                    &mut p.negative
                };
                let b = b.get_or_insert_with(Buckets::default);
                if matches!(f, DpField::PositiveOffset | DpField::NegativeOffset) {
                    set_int(&mut b.offset, v);
                } else {
                    set_u64_list(&mut b.bucket_counts, v);
                }
            }
        }
    }
}

impl Context for DataPointContext {
    type Path = DataPointPath;
    type Data<'a> = DataPointData<'a>;
    const NAME: &'static str = "datapoint";

    fn parse_path(fields: &[Field]) -> Result<(DataPointPath, usize), String> {
        const CTX: &str = "DataPoint";
        if let Some(u) = parse_upper(fields, CTX) {
            return u.map(|u| (DataPointPath::Upper(u), 0));
        }
        let f = &fields[0];
        let sub = fields.get(1).map(|f| f.name.as_str());
        let p = match f.name.as_str() {
            "metric" if f.keys.is_empty() && fields.len() > 1 => {
                return parse_metric_field(fields, 1, CTX).map(|m| (DataPointPath::Metric(m), 0));
            }
            "attributes" => keyed(fields, 0, CTX).map(|_| DpField::Attributes)?,
            "start_time_unix_nano" => leaf(fields, 0, CTX).map(|_| DpField::StartTimeUnixNano)?,
            "time_unix_nano" => leaf(fields, 0, CTX).map(|_| DpField::TimeUnixNano)?,
            "start_time" => leaf(fields, 0, CTX).map(|_| DpField::StartTime)?,
            "time" => leaf(fields, 0, CTX).map(|_| DpField::Time)?,
            "value_double" => leaf(fields, 0, CTX).map(|_| DpField::ValueDouble)?,
            "value_int" => leaf(fields, 0, CTX).map(|_| DpField::ValueInt)?,
            "flags" => leaf(fields, 0, CTX).map(|_| DpField::Flags)?,
            "count" => leaf(fields, 0, CTX).map(|_| DpField::Count)?,
            "sum" => leaf(fields, 0, CTX).map(|_| DpField::Sum)?,
            "min" => leaf(fields, 0, CTX).map(|_| DpField::Min)?,
            "max" => leaf(fields, 0, CTX).map(|_| DpField::Max)?,
            "bucket_counts" => leaf(fields, 0, CTX).map(|_| DpField::BucketCounts)?,
            "explicit_bounds" => leaf(fields, 0, CTX).map(|_| DpField::ExplicitBounds)?,
            "scale" => leaf(fields, 0, CTX).map(|_| DpField::Scale)?,
            "zero_count" => leaf(fields, 0, CTX).map(|_| DpField::ZeroCount)?,
            "exemplars" => leaf(fields, 0, CTX).map(|_| DpField::Exemplars)?,
            "quantile_values" => leaf(fields, 0, CTX).map(|_| DpField::QuantileValues)?,
            "positive" | "negative" if f.keys.is_empty() => {
                let pos = f.name == "positive";
                match sub {
                    Some("offset") => leaf(fields, 1, CTX).map(|_| {
                        if pos {
                            DpField::PositiveOffset
                        } else {
                            DpField::NegativeOffset
                        }
                    })?,
                    Some("bucket_counts") => leaf(fields, 1, CTX).map(|_| {
                        if pos {
                            DpField::PositiveBucketCounts
                        } else {
                            DpField::NegativeBucketCounts
                        }
                    })?,
                    _ => return Err(invalid(fields, 1.min(fields.len() - 1), CTX)),
                }
            }
            _ => return Err(invalid(fields, 0, CTX)),
        };
        Ok((DataPointPath::Point(p), 0))
    }

    fn enum_symbol(name: &str) -> Option<i64> {
        metric_enum(name)
    }

    fn get(d: &DataPointData<'_>, p: &DataPointPath) -> Result<Value, EvalError> {
        Ok(match p {
            DataPointPath::Upper(u) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            DataPointPath::Metric(f) => metric_get(d.metric, *f),
            DataPointPath::Point(f) => d.point().map_or(Value::Nil, |dp| dp_get(dp, *f)),
        })
    }

    fn set(d: &mut DataPointData<'_>, p: &DataPointPath, v: Value) -> Result<(), EvalError> {
        match p {
            DataPointPath::Upper(u) => {
                return super::upper_set(
                    &mut d.cache,
                    d.resource,
                    d.scope,
                    &mut d.schema_urls,
                    *u,
                    v,
                );
            }
            DataPointPath::Metric(f) => metric_set(d.metric, *f, v),
            DataPointPath::Point(f) => {
                if let Some(dp) = d.point_mut() {
                    dp_set(dp, *f, v);
                }
            }
        }
        Ok(())
    }

    fn slot<'b>(d: &'b DataPointData<'_>, p: &DataPointPath) -> Option<SlotRef<'b>> {
        match p {
            DataPointPath::Upper(u) => super::upper_slot(&d.cache, d.resource, d.scope, *u),
            DataPointPath::Metric(MetricField::Metadata) => Some(SlotRef::Map(&d.metric.metadata)),
            DataPointPath::Point(DpField::Attributes) => Some(SlotRef::Map(
                d.point().map_or(&[][..], |dp| &common!(dp, attributes)[..]),
            )),
            _ => None,
        }
    }

    fn slot_mut<'b>(d: &'b mut DataPointData<'_>, p: &DataPointPath) -> Option<SlotMut<'b>> {
        match p {
            DataPointPath::Upper(u) => super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *u),
            DataPointPath::Metric(MetricField::Metadata) => {
                Some(SlotMut::Map(&mut d.metric.metadata))
            }
            DataPointPath::Point(DpField::Attributes) => d
                .point_mut()
                .map(|dp| SlotMut::Map(common_mut!(dp, attributes))),
            _ => None,
        }
    }
}
