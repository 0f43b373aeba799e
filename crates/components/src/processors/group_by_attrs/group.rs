//! The regrouping, as Go's `groupbyattrsprocessor`: every span, log record and metric data
//! point is moved into the resource made of its original resource's attributes plus the
//! grouping attributes it carries (which leave the record); resources with the same
//! attribute set (in any order) are one, and within a resource scopes with the same name
//! and version are one, metrics with the same name and type are one.
//!
//! What Go's rebuild leaves behind is left behind here too: resources and scopes keep only
//! their attributes / scope (no `schema_url`, no resource `dropped_attributes_count`),
//! and resources, scopes and metrics with nothing in them disappear.

use std::collections::HashMap;

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::logs::v1::{ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    ExponentialHistogram, Gauge, Histogram, Metric, ResourceMetrics, ScopeMetrics, Sum, Summary,
    metric::Data,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;

/// Records with and without grouping attributes, and the resources made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub grouped: u64,
    pub non_grouped: u64,
    pub groups: u64,
}

/// Takes the grouping attributes out of `attrs` (in the order of `keys`; the first
/// occurrence of a key, as pcommon's `Get`/`Remove`).
fn extract(keys: &[String], attrs: &mut Vec<KeyValue>) -> Vec<KeyValue> {
    let mut out = Vec::new();
    for k in keys {
        if let Some(i) = attrs.iter().position(|kv| kv.key == *k) {
            out.push(attrs.remove(i));
        }
    }
    out
}

/// The origin's attributes with the extracted ones put on top (replacing a key in place,
/// appending a new one).
fn reference(origin: &[KeyValue], extracted: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut attrs = origin.to_vec();
    for kv in extracted {
        match attrs.iter_mut().find(|a| a.key == kv.key) {
            Some(a) => a.value = kv.value,
            None => attrs.push(kv),
        }
    }
    attrs
}

/// An order-independent identity of an attribute set (Go hashes the map with sorted keys).
fn identity(attrs: &[KeyValue]) -> Vec<u8> {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    for kv in sorted {
        out.extend_from_slice(&(kv.key.len() as u64).to_le_bytes());
        out.extend_from_slice(kv.key.as_bytes());
        let v = kv
            .value
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default();
        out.extend_from_slice(&(v.len() as u64).to_le_bytes());
        out.extend_from_slice(&v);
    }
    out
}

fn name_version(s: &Option<InstrumentationScope>) -> (&str, &str) {
    s.as_ref()
        .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()))
}

fn same_scope(a: &Option<InstrumentationScope>, b: &Option<InstrumentationScope>) -> bool {
    name_version(a) == name_version(b)
}

/// The output resources and their identities.
struct Resources<R> {
    out: Vec<R>,
    index: HashMap<Vec<u8>, usize>,
}

impl<R> Resources<R> {
    fn new() -> Self {
        Resources {
            out: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The output resource for a record of `origin` carrying `extracted`.
    fn find_or_create(
        &mut self,
        origin: &[KeyValue],
        extracted: Vec<KeyValue>,
        make: impl FnOnce(Resource) -> R,
    ) -> usize {
        let attrs = reference(origin, extracted);
        let id = identity(&attrs);
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        self.out.push(make(Resource {
            attributes: attrs,
            ..Default::default()
        }));
        self.index.insert(id, self.out.len() - 1);
        self.out.len() - 1
    }
}

/// The output resources already found for the records of one input resource: the one of
/// its records without grouping attributes, and one per set of grouping values, so the
/// merged attribute set is built and compared once per distinct group, not per record.
#[derive(Default)]
struct Seen {
    plain: Option<usize>,
    grouped: HashMap<Vec<u8>, usize>,
}

/// The output resource of a record of `origin` that carried `extracted`.
fn target<R>(
    res: &mut Resources<R>,
    seen: &mut Seen,
    origin: &[KeyValue],
    extracted: Vec<KeyValue>,
    counts: &mut Counts,
    make: impl FnOnce(Resource) -> R,
) -> usize {
    if extracted.is_empty() {
        counts.non_grouped += 1;
        return *seen
            .plain
            .get_or_insert_with(|| res.find_or_create(origin, Vec::new(), make));
    }
    counts.grouped += 1;
    let key = identity(&extracted);
    if let Some(&i) = seen.grouped.get(&key) {
        return i;
    }
    let i = res.find_or_create(origin, extracted, make);
    seen.grouped.insert(key, i);
    i
}

fn origin_attrs(r: &Option<Resource>) -> Vec<KeyValue> {
    r.as_ref().map(|r| r.attributes.clone()).unwrap_or_default()
}

pub fn traces(keys: &[String], req: &mut ExportTraceServiceRequest) -> Counts {
    let mut counts = Counts::default();
    let mut res: Resources<ResourceSpans> = Resources::new();
    for rs in std::mem::take(&mut req.resource_spans) {
        let origin = origin_attrs(&rs.resource);
        let mut seen = Seen::default();
        for ss in rs.scope_spans {
            for mut span in ss.spans {
                let extracted = extract(keys, &mut span.attributes);
                let i = target(&mut res, &mut seen, &origin, extracted, &mut counts, |r| {
                    ResourceSpans {
                        resource: Some(r),
                        ..Default::default()
                    }
                });
                let scopes = &mut res.out[i].scope_spans;
                let j = match scopes.iter().position(|s| same_scope(&s.scope, &ss.scope)) {
                    Some(j) => j,
                    None => {
                        scopes.push(ScopeSpans {
                            scope: ss.scope.clone(),
                            ..Default::default()
                        });
                        scopes.len() - 1
                    }
                };
                scopes[j].spans.push(span);
            }
        }
    }
    counts.groups = res.out.len() as u64;
    req.resource_spans = res.out;
    counts
}

pub fn logs(keys: &[String], req: &mut ExportLogsServiceRequest) -> Counts {
    let mut counts = Counts::default();
    let mut res: Resources<ResourceLogs> = Resources::new();
    for rl in std::mem::take(&mut req.resource_logs) {
        let origin = origin_attrs(&rl.resource);
        let mut seen = Seen::default();
        for sl in rl.scope_logs {
            for mut record in sl.log_records {
                let extracted = extract(keys, &mut record.attributes);
                let i = target(&mut res, &mut seen, &origin, extracted, &mut counts, |r| {
                    ResourceLogs {
                        resource: Some(r),
                        ..Default::default()
                    }
                });
                let scopes = &mut res.out[i].scope_logs;
                let j = match scopes.iter().position(|s| same_scope(&s.scope, &sl.scope)) {
                    Some(j) => j,
                    None => {
                        scopes.push(ScopeLogs {
                            scope: sl.scope.clone(),
                            ..Default::default()
                        });
                        scopes.len() - 1
                    }
                };
                scopes[j].log_records.push(record);
            }
        }
    }
    counts.groups = res.out.len() as u64;
    req.resource_logs = res.out;
    counts
}

/// One data point of any metric type, with its attributes reachable.
enum Point {
    Number(pdata::proto::metrics::v1::NumberDataPoint),
    Histogram(pdata::proto::metrics::v1::HistogramDataPoint),
    Exponential(pdata::proto::metrics::v1::ExponentialHistogramDataPoint),
    Summary(pdata::proto::metrics::v1::SummaryDataPoint),
}

impl Point {
    fn attributes(&mut self) -> &mut Vec<KeyValue> {
        match self {
            Point::Number(p) => &mut p.attributes,
            Point::Histogram(p) => &mut p.attributes,
            Point::Exponential(p) => &mut p.attributes,
            Point::Summary(p) => &mut p.attributes,
        }
    }
}

/// The metric's points, leaving it with empty data of the same type (the template of the
/// metrics made in the output).
fn take_points(data: &mut Option<Data>) -> Vec<Point> {
    match data {
        Some(Data::Gauge(g)) => std::mem::take(&mut g.data_points)
            .into_iter()
            .map(Point::Number)
            .collect(),
        Some(Data::Sum(s)) => std::mem::take(&mut s.data_points)
            .into_iter()
            .map(Point::Number)
            .collect(),
        Some(Data::Histogram(h)) => std::mem::take(&mut h.data_points)
            .into_iter()
            .map(Point::Histogram)
            .collect(),
        Some(Data::ExponentialHistogram(h)) => std::mem::take(&mut h.data_points)
            .into_iter()
            .map(Point::Exponential)
            .collect(),
        Some(Data::Summary(s)) => std::mem::take(&mut s.data_points)
            .into_iter()
            .map(Point::Summary)
            .collect(),
        None => Vec::new(),
    }
}

fn type_tag(data: &Option<Data>) -> u8 {
    match data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

/// A new metric like `m` (name, description, unit, metadata, temporality and
/// monotonicity) with no points.
fn empty_like(m: &Metric) -> Metric {
    let data = match &m.data {
        Some(Data::Gauge(_)) => Some(Data::Gauge(Gauge::default())),
        Some(Data::Sum(s)) => Some(Data::Sum(Sum {
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
            ..Default::default()
        })),
        Some(Data::Histogram(h)) => Some(Data::Histogram(Histogram {
            aggregation_temporality: h.aggregation_temporality,
            ..Default::default()
        })),
        Some(Data::ExponentialHistogram(h)) => {
            Some(Data::ExponentialHistogram(ExponentialHistogram {
                aggregation_temporality: h.aggregation_temporality,
                ..Default::default()
            }))
        }
        Some(Data::Summary(_)) => Some(Data::Summary(Summary::default())),
        None => None,
    };
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data,
    }
}

fn push_point(m: &mut Metric, p: Point) {
    match (&mut m.data, p) {
        (Some(Data::Gauge(g)), Point::Number(p)) => g.data_points.push(p),
        (Some(Data::Sum(s)), Point::Number(p)) => s.data_points.push(p),
        (Some(Data::Histogram(h)), Point::Histogram(p)) => h.data_points.push(p),
        (Some(Data::ExponentialHistogram(h)), Point::Exponential(p)) => h.data_points.push(p),
        (Some(Data::Summary(s)), Point::Summary(p)) => s.data_points.push(p),
        // take_points and empty_like keep the kinds paired
        _ => {}
    }
}

pub fn metrics(keys: &[String], req: &mut ExportMetricsServiceRequest) -> Counts {
    let mut counts = Counts::default();
    let mut res: Resources<ResourceMetrics> = Resources::new();
    // (resource, scope, name, type) -> metric index, so a scope of many metrics is not
    // searched linearly for each point
    let mut metric_index: HashMap<(usize, usize, String, u8), usize> = HashMap::new();
    for rm in std::mem::take(&mut req.resource_metrics) {
        let origin = origin_attrs(&rm.resource);
        let mut seen = Seen::default();
        for sm in rm.scope_metrics {
            for mut metric in sm.metrics {
                let tag = type_tag(&metric.data);
                for mut point in take_points(&mut metric.data) {
                    let extracted = extract(keys, point.attributes());
                    let i = target(&mut res, &mut seen, &origin, extracted, &mut counts, |r| {
                        ResourceMetrics {
                            resource: Some(r),
                            ..Default::default()
                        }
                    });
                    let scopes = &mut res.out[i].scope_metrics;
                    let j = match scopes.iter().position(|s| same_scope(&s.scope, &sm.scope)) {
                        Some(j) => j,
                        None => {
                            scopes.push(ScopeMetrics {
                                scope: sm.scope.clone(),
                                ..Default::default()
                            });
                            scopes.len() - 1
                        }
                    };
                    let metrics = &mut scopes[j].metrics;
                    let k = *metric_index
                        .entry((i, j, metric.name.clone(), tag))
                        .or_insert_with(|| {
                            metrics.push(empty_like(&metric));
                            metrics.len() - 1
                        });
                    push_point(&mut metrics[k], point);
                }
            }
        }
    }
    counts.groups = res.out.len() as u64;
    req.resource_metrics = res.out;
    counts
}
