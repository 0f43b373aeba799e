//! The transforms compiled, and their application to a request, as Go's
//! `metrics_transform_processor_otlp.go`: transforms run in order on every scope's metrics;
//! `update` changes matching metrics in place, `insert` appends a changed copy, `combine`
//! merges the matching metrics into one new metric (regexp capture groups become
//! attributes), `group` moves them into a new resource with extra resource attributes.

use std::collections::{HashMap, HashSet};

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::KeyValue;
use pdata::proto::metrics::v1::{
    Metric, ResourceMetrics, ScopeMetrics, metric::Data, number_data_point,
};
use pdata::proto::resource::v1::Resource;
use regex::Regex;

use super::config::{Config, Operation, Transform};
use super::points;

/// How a label value is matched by `experimental_match_labels`.
enum ValueMatch {
    Exact(String),
    Pattern(Regex),
}

impl ValueMatch {
    fn matches(&self, s: &str) -> bool {
        match self {
            ValueMatch::Exact(v) => v == s,
            ValueMatch::Pattern(r) => r.is_match(s),
        }
    }
}

/// A transform's metric filter.
pub struct Filter {
    /// `None` for strict: the name must equal `include`.
    regex: Option<Regex>,
    include: String,
    labels: Vec<(String, ValueMatch)>,
}

impl Filter {
    fn name_matches(&self, name: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(name),
            None => name == self.include,
        }
    }

    /// Go's `matchAttrs`: a present label must match; a missing one matches only a
    /// matcher that accepts "".
    fn attrs_match(&self, attrs: &[KeyValue]) -> bool {
        self.labels
            .iter()
            .all(|(k, m)| match points::get(attrs, k) {
                Some(kv) => m.matches(points::str_of(kv.value.as_ref())),
                None => m.matches(""),
            })
    }

    /// The name matches and any point matches (or there are none).
    fn match_metric(&self, m: &Metric) -> bool {
        self.name_matches(&m.name) && {
            let attrs = points::attributes(m);
            attrs.is_empty() || attrs.iter().any(|a| self.attrs_match(a))
        }
    }

    fn match_all(&self, m: &Metric) -> bool {
        points::attributes(m).iter().all(|a| self.attrs_match(a))
    }

    /// Which points match, or `None` if the name does not.
    fn point_mask(&self, m: &Metric) -> Option<Vec<bool>> {
        if !self.name_matches(&m.name) {
            return None;
        }
        Some(
            points::attributes(m)
                .iter()
                .map(|a| self.attrs_match(a))
                .collect(),
        )
    }

    /// `template` with `$1`/`${name}` filled from the name's match ("" for strict or no
    /// match).
    fn expand(&self, template: &str, name: &str) -> String {
        let Some(r) = &self.regex else {
            return String::new();
        };
        let Some(caps) = r.captures(name) else {
            return String::new();
        };
        let mut out = String::new();
        caps.expand(template, &mut out);
        out
    }
}

enum Action {
    Update,
    Insert,
    Combine,
    Group(Vec<(String, String)>),
}

struct Op {
    cfg: Operation,
    value_map: HashMap<String, String>,
    set: HashSet<String>,
}

struct Compiled {
    filter: Filter,
    action: Action,
    new_name: String,
    aggregation_type: String,
    submatch_case: String,
    ops: Vec<Op>,
}

pub struct Transforms(Vec<Compiled>);

impl Transforms {
    /// `version` replaces `{{version}}` in new values, as Go puts its build version there.
    pub fn new(cfg: &Config, version: &str) -> Result<Self, String> {
        cfg.transforms
            .iter()
            .map(|t| compile(t, version))
            .collect::<Result<Vec<_>, _>>()
            .map(Transforms)
    }

    pub fn apply(&self, req: &mut ExportMetricsServiceRequest) {
        let mut grouped: Vec<ResourceMetrics> = Vec::new();
        req.resource_metrics.retain_mut(|rm| {
            let resource = rm.resource.clone();
            let schema = rm.schema_url.clone();
            rm.scope_metrics.retain_mut(|sm| {
                for t in &self.0 {
                    t.apply(sm, resource.as_ref(), &schema, &mut grouped);
                }
                !sm.metrics.is_empty()
            });
            !rm.scope_metrics.is_empty()
        });
        req.resource_metrics.extend(grouped);
    }
}

fn compile(t: &Transform, version: &str) -> Result<Compiled, String> {
    let regexp = t.match_type == "regexp";
    let mut labels = Vec::new();
    for (k, v) in &t.experimental_match_labels {
        let m = if regexp {
            ValueMatch::Pattern(goregex::compile(v)?)
        } else {
            ValueMatch::Exact(v.clone())
        };
        labels.push((k.clone(), m));
    }
    let filter = Filter {
        regex: if regexp {
            Some(goregex::compile(&t.include)?)
        } else {
            None
        },
        include: t.include.clone(),
        labels,
    };
    let action = match t.action.as_str() {
        "insert" => Action::Insert,
        "combine" => Action::Combine,
        "group" => Action::Group(
            t.group_resource_labels
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => Action::Update,
    };
    let ops = t
        .operations
        .iter()
        .map(|op| {
            let mut cfg = op.clone();
            cfg.new_value = cfg.new_value.replace("{{version}}", version);
            Op {
                value_map: op
                    .value_actions
                    .iter()
                    .map(|a| (a.value.clone(), a.new_value.replace("{{version}}", version)))
                    .collect(),
                set: match op.action.as_str() {
                    "aggregate_labels" => op.label_set.iter().cloned().collect(),
                    "aggregate_label_values" => op.aggregated_values.iter().cloned().collect(),
                    _ => HashSet::new(),
                },
                cfg,
            }
        })
        .collect();
    Ok(Compiled {
        filter,
        action,
        new_name: t.new_name.clone(),
        aggregation_type: t.aggregation_type.clone(),
        submatch_case: t.submatch_case.clone(),
        ops,
    })
}

/// Takes the matching metrics out of `metrics`: whole when every point matches, else a copy
/// with the matching points (the rest of such a metric is lost, as in Go).
fn extract_matching(filter: &Filter, metrics: &mut Vec<Metric>) -> Vec<Metric> {
    let mut out = Vec::new();
    let mut kept = Vec::with_capacity(metrics.len());
    for m in metrics.drain(..) {
        match filter.point_mask(&m) {
            Some(mask) if mask.iter().all(|b| *b) => out.push(m),
            Some(mask) if mask.iter().any(|b| *b) => {
                let mut part = m;
                points::retain_mask(&mut part, &mask);
                out.push(part);
            }
            _ => kept.push(m),
        }
    }
    *metrics = kept;
    out
}

impl Compiled {
    fn apply(
        &self,
        sm: &mut ScopeMetrics,
        resource: Option<&Resource>,
        schema: &str,
        grouped: &mut Vec<ResourceMetrics>,
    ) {
        match &self.action {
            Action::Group(labels) => {
                let moved = extract_matching(&self.filter, &mut sm.metrics);
                if moved.is_empty() {
                    return;
                }
                let mut res = resource.cloned().unwrap_or_default();
                for (k, v) in labels {
                    points::put_str(&mut res.attributes, k, v);
                }
                grouped.push(ResourceMetrics {
                    resource: Some(res),
                    scope_metrics: vec![ScopeMetrics {
                        scope: sm.scope.clone(),
                        metrics: moved,
                        schema_url: sm.schema_url.clone(),
                    }],
                    schema_url: schema.to_string(),
                });
            }
            Action::Combine => {
                let matched: Vec<&Metric> = sm
                    .metrics
                    .iter()
                    .filter(|m| self.filter.match_metric(m))
                    .collect();
                if matched.is_empty() {
                    return;
                }
                if let Err(e) = can_be_combined(&matched) {
                    tracing::warn!("{e}");
                    return;
                }
                let extracted = extract_matching(&self.filter, &mut sm.metrics);
                let mut combined = self.combine(extracted);
                if self.transform(&mut combined) {
                    sm.metrics.push(combined);
                }
            }
            Action::Insert => {
                let n = sm.metrics.len();
                for i in 0..n {
                    let Some(mask) = self.filter.point_mask(&sm.metrics[i]) else {
                        continue;
                    };
                    if !mask.is_empty() && !mask.iter().any(|b| *b) {
                        continue;
                    }
                    let mut copy = sm.metrics[i].clone();
                    points::retain_mask(&mut copy, &mask);
                    if self.transform(&mut copy) {
                        sm.metrics.push(copy);
                    }
                }
            }
            Action::Update => {
                sm.metrics
                    .retain_mut(|m| !self.filter.match_metric(m) || self.transform(m));
            }
        }
    }

    /// Go's `combine`: one metric named `new_name`, with the type of the first, holding the
    /// points of all, each given the regexp's capture groups as attributes, then merged.
    fn combine(&self, metrics: Vec<Metric>) -> Metric {
        let mut combined = points::empty_like(&metrics[0]);
        combined.name = self.new_name.clone();
        let names: Vec<String> = match &self.filter.regex {
            Some(r) => r
                .capture_names()
                .enumerate()
                .map(|(i, n)| n.map_or_else(|| format!("${i}"), str::to_string))
                .collect(),
            None => Vec::new(),
        };
        for mut m in metrics {
            if let Some(caps) = self.filter.regex.as_ref().and_then(|r| r.captures(&m.name)) {
                let subs: Vec<(String, String)> = (1..caps.len())
                    .filter_map(|i| {
                        let s = caps.get(i).map_or("", |c| c.as_str());
                        let s = match self.submatch_case.as_str() {
                            "lower" => s.to_lowercase(),
                            "upper" => s.to_uppercase(),
                            _ => s.to_string(),
                        };
                        (!s.is_empty()).then(|| (names[i].clone(), s))
                    })
                    .collect();
                points::for_each_attributes(&mut m, |attrs| {
                    for (k, v) in &subs {
                        points::put_str(attrs, k, v);
                    }
                });
            }
            points::append(&mut combined, m);
        }
        points::aggregate(&mut combined, &self.aggregation_type);
        combined
    }

    /// Go's `transformMetric`: rename and run the operations; false when it lost all its
    /// points.
    fn transform(&self, m: &mut Metric) -> bool {
        let was_empty = points::count(m) == 0;
        let can_change = !matches!(self.action, Action::Update) || self.filter.match_all(m);
        if !self.new_name.is_empty() && can_change {
            let expanded = self.filter.expand(&self.new_name, &m.name);
            m.name = if expanded.is_empty() {
                self.new_name.clone()
            } else {
                expanded
            };
        }
        for op in &self.ops {
            let c = &op.cfg;
            match c.action.as_str() {
                "update_label" => self.update_label(m, op),
                "aggregate_labels" if can_change => {
                    points::for_each_attributes(m, |attrs| {
                        attrs.retain(|kv| op.set.contains(&kv.key))
                    });
                    points::aggregate(m, &c.aggregation_type);
                }
                "aggregate_label_values" if can_change => {
                    points::for_each_attributes(m, |attrs| {
                        if let Some(kv) = attrs.iter_mut().find(|kv| kv.key == c.label)
                            && op.set.contains(points::str_of(kv.value.as_ref()))
                        {
                            kv.value = points::string_value(&c.new_value);
                        }
                    });
                    points::aggregate(m, &c.aggregation_type);
                }
                "toggle_scalar_data_type" => self.toggle(m),
                "experimental_scale_value" => self.scale(m, c.experimental_scale),
                "add_label" if can_change => {
                    points::for_each_attributes(m, |attrs| {
                        points::put_str(attrs, &c.new_label, &c.new_value)
                    });
                }
                "delete_label_value" if can_change => points::retain(m, |attrs| {
                    points::get(attrs, &c.label)
                        .is_none_or(|kv| points::str_of(kv.value.as_ref()) != c.label_value)
                }),
                _ => {}
            }
        }
        was_empty || points::count(m) > 0
    }

    fn update_label(&self, m: &mut Metric, op: &Op) {
        let c = &op.cfg;
        points::for_each_attributes(m, |attrs| {
            if !self.filter.attrs_match(attrs) {
                return;
            }
            let Some(pos) = attrs.iter().position(|kv| kv.key == c.label) else {
                return;
            };
            let mut key = c.label.clone();
            if !c.new_label.is_empty() {
                let value = attrs[pos].value.clone();
                match attrs.iter().position(|kv| kv.key == c.new_label) {
                    Some(existing) => attrs[existing].value = value,
                    None => attrs.push(KeyValue {
                        key: c.new_label.clone(),
                        value,
                        ..Default::default()
                    }),
                }
                if c.new_label != c.label {
                    attrs.retain(|kv| kv.key != c.label);
                }
                key = c.new_label.clone();
            }
            let current =
                points::get(attrs, &key).map(|kv| points::str_of(kv.value.as_ref()).to_string());
            if let Some(new) = current.and_then(|v| op.value_map.get(&v)) {
                points::put_str(attrs, &key, new);
            }
        });
    }

    fn toggle(&self, m: &mut Metric) {
        use number_data_point::Value::{AsDouble, AsInt};
        let dps = match &mut m.data {
            Some(Data::Gauge(g)) => &mut g.data_points,
            Some(Data::Sum(s)) => &mut s.data_points,
            _ => return,
        };
        for dp in dps
            .iter_mut()
            .filter(|dp| self.filter.attrs_match(&dp.attributes))
        {
            dp.value = match dp.value {
                Some(AsInt(i)) => Some(AsDouble(i as f64)),
                Some(AsDouble(d)) => Some(AsInt(d as i64)),
                None => None,
            };
        }
    }

    fn scale(&self, m: &mut Metric, by: f64) {
        use number_data_point::Value::{AsDouble, AsInt};
        use pdata::proto::metrics::v1::exemplar;
        let numbers = match &mut m.data {
            Some(Data::Gauge(g)) => &mut g.data_points,
            Some(Data::Sum(s)) => &mut s.data_points,
            Some(Data::Histogram(h)) => {
                for dp in h
                    .data_points
                    .iter_mut()
                    .filter(|dp| self.filter.attrs_match(&dp.attributes))
                {
                    for v in [&mut dp.sum, &mut dp.min, &mut dp.max]
                        .into_iter()
                        .flatten()
                    {
                        *v *= by;
                    }
                    dp.explicit_bounds.iter_mut().for_each(|b| *b *= by);
                    for e in &mut dp.exemplars {
                        e.value = match e.value {
                            Some(exemplar::Value::AsInt(i)) => {
                                Some(exemplar::Value::AsInt((i as f64 * by) as i64))
                            }
                            Some(exemplar::Value::AsDouble(d)) => {
                                Some(exemplar::Value::AsDouble(d * by))
                            }
                            None => None,
                        };
                    }
                }
                return;
            }
            _ => return,
        };
        for dp in numbers
            .iter_mut()
            .filter(|dp| self.filter.attrs_match(&dp.attributes))
        {
            dp.value = match dp.value {
                Some(AsInt(i)) => Some(AsInt((i as f64 * by) as i64)),
                Some(AsDouble(d)) => Some(AsDouble(d * by)),
                None => None,
            };
        }
    }
}

fn type_name(m: &Metric) -> &'static str {
    match &m.data {
        Some(Data::Gauge(_)) => "Gauge",
        Some(Data::Sum(_)) => "Sum",
        Some(Data::Histogram(_)) => "Histogram",
        Some(Data::ExponentialHistogram(_)) => "ExponentialHistogram",
        Some(Data::Summary(_)) => "Summary",
        None => "Empty",
    }
}

fn temporality(m: &Metric) -> i32 {
    match &m.data {
        Some(Data::Sum(s)) => s.aggregation_temporality,
        Some(Data::Histogram(h)) => h.aggregation_temporality,
        Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality,
        _ => 0,
    }
}

fn temporality_name(t: i32) -> &'static str {
    match t {
        1 => "Delta",
        2 => "Cumulative",
        _ => "Unspecified",
    }
}

fn attr_keys(m: &Metric) -> std::collections::BTreeSet<&str> {
    points::attributes(m)
        .into_iter()
        .flat_map(|a| a.iter().map(|kv| kv.key.as_str()))
        .collect()
}

/// Go's `canBeCombined`: same type, unit, attribute keys, temporality and monotonicity.
fn can_be_combined(metrics: &[&Metric]) -> Result<(), String> {
    if metrics.len() <= 1 {
        return Ok(());
    }
    let first = metrics[0];
    for m in metrics {
        if matches!(m.data, Some(Data::Summary(_))) {
            return Err(format!("Summary metrics cannot be combined: {} ", m.name));
        }
    }
    for m in &metrics[1..] {
        if type_name(first) != type_name(m) {
            return Err(format!(
                "metrics cannot be combined as they are of different types: {} ({}) and {} ({})",
                first.name,
                type_name(first),
                m.name,
                type_name(m)
            ));
        }
        if first.unit != m.unit {
            return Err(format!(
                "metrics cannot be combined as they have different units: {} ({}) and {} ({})",
                first.name, first.unit, m.name, m.unit
            ));
        }
        let (a, b) = (attr_keys(first), attr_keys(m));
        if a != b {
            return Err(format!(
                "metrics cannot be combined as they have different attributes: {} ({a:?}) and {} ({b:?})",
                first.name, m.name
            ));
        }
        if temporality(first) != temporality(m) {
            return Err(format!(
                "metrics cannot be combined as they have different aggregation temporalities: {} ({}) and {} ({})",
                first.name,
                temporality_name(temporality(first)),
                m.name,
                temporality_name(temporality(m))
            ));
        }
        if let (Some(Data::Sum(x)), Some(Data::Sum(y))) = (&first.data, &m.data)
            && x.is_monotonic != y.is_monotonic
        {
            return Err(format!(
                "metrics cannot be combined as they have different monotonicity: {} ({}) and {} ({})",
                first.name, x.is_monotonic, m.name, y.is_monotonic
            ));
        }
    }
    Ok(())
}
