//! The metric context (Go `ottlmetric`).

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::{Metric, metric::Data};
use pdata::proto::resource::v1::Resource;

use super::{Upper, invalid, keyed, leaf, metric_enum, parse_upper};
use crate::EvalError;
use crate::context::{Context, SlotMut, SlotRef, attrs_value, set_map, set_string, str_val};
use crate::syntax::Field;
use crate::value::Value;

pub struct MetricContext;

pub struct MetricData<'a> {
    pub metric: &'a mut Metric,
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
    /// Metrics a function made (`copy_metric`, `extract_sum_metric`): appended to the
    /// metric's scope after the group ran over it.
    pub new_metrics: Vec<Metric>,
}

impl<'a> MetricData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> MetricData<'a> {
    pub fn new(
        metric: &'a mut Metric,
        scope: &'a mut InstrumentationScope,
        resource: &'a mut Resource,
    ) -> MetricData<'a> {
        MetricData {
            metric,
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
            new_metrics: Vec::new(),
        }
    }
}

/// A metric's own fields (shared with the datapoint context's `metric.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricField {
    Name,
    Description,
    Unit,
    Type,
    AggregationTemporality,
    IsMonotonic,
    Metadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricPath {
    Upper(Upper),
    Field(MetricField),
}

pub(crate) fn parse_metric_field(
    fields: &[Field],
    i: usize,
    ctx: &str,
) -> Result<MetricField, String> {
    Ok(match fields[i].name.as_str() {
        "name" => leaf(fields, i, ctx).map(|_| MetricField::Name)?,
        "description" => leaf(fields, i, ctx).map(|_| MetricField::Description)?,
        "unit" => leaf(fields, i, ctx).map(|_| MetricField::Unit)?,
        "type" => leaf(fields, i, ctx).map(|_| MetricField::Type)?,
        "aggregation_temporality" => {
            leaf(fields, i, ctx).map(|_| MetricField::AggregationTemporality)?
        }
        "is_monotonic" => leaf(fields, i, ctx).map(|_| MetricField::IsMonotonic)?,
        "metadata" => keyed(fields, i, ctx).map(|_| MetricField::Metadata)?,
        _ => return Err(invalid(fields, i, ctx)),
    })
}

/// pdata's `MetricType` numbering.
pub fn metric_type(m: &Metric) -> i64 {
    match &m.data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

pub(crate) fn metric_get(m: &Metric, f: MetricField) -> Value {
    match f {
        MetricField::Name => str_val(&m.name),
        MetricField::Description => str_val(&m.description),
        MetricField::Unit => str_val(&m.unit),
        MetricField::Type => Value::Int(metric_type(m)),
        MetricField::AggregationTemporality => match &m.data {
            Some(Data::Sum(s)) => Value::Int(s.aggregation_temporality as i64),
            Some(Data::Histogram(h)) => Value::Int(h.aggregation_temporality as i64),
            Some(Data::ExponentialHistogram(h)) => Value::Int(h.aggregation_temporality as i64),
            _ => Value::Nil,
        },
        MetricField::IsMonotonic => match &m.data {
            Some(Data::Sum(s)) => Value::Bool(s.is_monotonic),
            _ => Value::Nil,
        },
        MetricField::Metadata => attrs_value(&m.metadata),
    }
}

pub(crate) fn metric_set(m: &mut Metric, f: MetricField, v: Value) {
    match f {
        MetricField::Name => set_string(&mut m.name, v),
        MetricField::Description => set_string(&mut m.description, v),
        MetricField::Unit => set_string(&mut m.unit, v),
        // Go: the type is read-only through this path (convert_* functions change it)
        MetricField::Type => {}
        MetricField::AggregationTemporality => {
            if let Value::Int(t) = v {
                match &mut m.data {
                    Some(Data::Sum(s)) => s.aggregation_temporality = t as i32,
                    Some(Data::Histogram(h)) => h.aggregation_temporality = t as i32,
                    Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality = t as i32,
                    _ => {}
                }
            }
        }
        MetricField::IsMonotonic => {
            if let (Value::Bool(b), Some(Data::Sum(s))) = (v, &mut m.data) {
                s.is_monotonic = b;
            }
        }
        MetricField::Metadata => set_map(&mut m.metadata, v),
    }
}

impl Context for MetricContext {
    type Path = MetricPath;
    type Data<'a> = MetricData<'a>;
    const NAME: &'static str = "metric";

    fn parse_path(fields: &[Field]) -> Result<(MetricPath, usize), String> {
        if let Some(u) = parse_upper(fields, "Metric") {
            return u.map(|u| (MetricPath::Upper(u), 0));
        }
        parse_metric_field(fields, 0, "Metric").map(|f| (MetricPath::Field(f), 0))
    }

    fn enum_symbol(name: &str) -> Option<i64> {
        metric_enum(name)
    }

    fn get(d: &MetricData<'_>, p: &MetricPath) -> Result<Value, EvalError> {
        Ok(match p {
            MetricPath::Upper(u) => super::upper_get(
                super::UpperData {
                    cache: &d.cache,
                    resource: d.resource,
                    scope: d.scope,
                    urls: &d.schema_urls,
                },
                *u,
            ),
            MetricPath::Field(f) => metric_get(d.metric, *f),
        })
    }

    fn set(d: &mut MetricData<'_>, p: &MetricPath, v: Value) -> Result<(), EvalError> {
        match p {
            MetricPath::Upper(u) => {
                super::upper_set(&mut d.cache, d.resource, d.scope, &mut d.schema_urls, *u, v)
            }
            MetricPath::Field(f) => {
                metric_set(d.metric, *f, v);
                Ok(())
            }
        }
    }

    fn slot<'b>(d: &'b MetricData<'_>, p: &MetricPath) -> Option<SlotRef<'b>> {
        match p {
            MetricPath::Upper(u) => super::upper_slot(&d.cache, d.resource, d.scope, *u),
            MetricPath::Field(MetricField::Metadata) => Some(SlotRef::Map(&d.metric.metadata)),
            _ => None,
        }
    }

    fn slot_mut<'b>(d: &'b mut MetricData<'_>, p: &MetricPath) -> Option<SlotMut<'b>> {
        match p {
            MetricPath::Upper(u) => super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *u),
            MetricPath::Field(MetricField::Metadata) => Some(SlotMut::Map(&mut d.metric.metadata)),
            _ => None,
        }
    }
}
