//! Building OTLP metrics the way mdatagen's generated builders do: every data point carries
//! the scraper's start time (boot time, or the process's start) and the scrape time, sums are
//! cumulative, a metric with no data points is not emitted, and metrics come out sorted by
//! name (the order of the generated `emit` calls).

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, Sum, metric::Data,
    number_data_point::Value,
};

/// The shape of a metric, from its `metadata.yaml`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    Sum { monotonic: bool },
    Gauge,
}

/// A metric's fixed description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def {
    pub name: &'static str,
    pub description: &'static str,
    pub unit: &'static str,
    pub shape: Shape,
}

impl Def {
    pub const fn sum(
        name: &'static str,
        description: &'static str,
        unit: &'static str,
        monotonic: bool,
    ) -> Def {
        Def {
            name,
            description,
            unit,
            shape: Shape::Sum { monotonic },
        }
    }

    pub const fn gauge(name: &'static str, description: &'static str, unit: &'static str) -> Def {
        Def {
            name,
            description,
            unit,
            shape: Shape::Gauge,
        }
    }
}

/// A data point value: Go's `int` or `double` value type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    I(i64),
    D(f64),
}

pub(crate) fn str_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

pub(crate) fn int_attr(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// Collects one scrape's metrics.
pub(crate) struct Emitter {
    start: u64,
    now: u64,
    metrics: Vec<Metric>,
}

impl Emitter {
    /// `start` and `now` in nanoseconds since the epoch.
    pub fn new(start: u64, now: u64) -> Emitter {
        Emitter {
            start,
            now,
            metrics: Vec::new(),
        }
    }

    /// Adds `def` with `points` (attributes, value); nothing when there are no points.
    pub fn add(&mut self, def: &Def, points: Vec<(Vec<KeyValue>, Val)>) {
        if points.is_empty() {
            return;
        }
        let data_points: Vec<NumberDataPoint> = points
            .into_iter()
            .map(|(attributes, v)| NumberDataPoint {
                attributes,
                start_time_unix_nano: self.start,
                time_unix_nano: self.now,
                value: Some(match v {
                    Val::I(i) => Value::AsInt(i),
                    Val::D(d) => Value::AsDouble(d),
                }),
                ..Default::default()
            })
            .collect();
        let data = match def.shape {
            Shape::Sum { monotonic } => Data::Sum(Sum {
                data_points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: monotonic,
            }),
            Shape::Gauge => Data::Gauge(Gauge { data_points }),
        };
        self.metrics.push(Metric {
            name: def.name.to_string(),
            description: def.description.to_string(),
            unit: def.unit.to_string(),
            data: Some(data),
            ..Default::default()
        });
    }

    /// Adds `def` with one point without attributes.
    pub fn one(&mut self, def: &Def, v: Val) {
        self.add(def, vec![(Vec::new(), v)]);
    }

    pub fn finish(mut self) -> Vec<Metric> {
        self.metrics.sort_by(|a, b| a.name.cmp(&b.name));
        self.metrics
    }
}

pub(crate) fn data_point_count(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Gauge(g)) => g.data_points.len(),
        _ => 0,
    }
}
