//! The engine of the `filter` processor's OTTL form (Go `processor/filterprocessor`): groups
//! of ORed conditions, each bound to a context (the legacy blocks `traces.span`,
//! `metrics.datapoint`, ... name it; `*_conditions` infer it from the paths), evaluated from
//! the top of the hierarchy down. A true condition drops the item and everything under it,
//! and lower levels of a dropped item are never evaluated: resource → scope → span →
//! span event, resource → scope → metric → data point, resource → scope → log. A span whose
//! events are all dropped stays; a metric whose data points are all dropped goes; scopes and
//! resources left empty go. Conditions take converters only (no editors), plus, in the metric
//! context, `HasAttrKeyOnDatapoint` and `HasAttrOnDatapoint`.
//!
//! ```
//! use ottl::filter::{Filter, FilterConfig};
//! use ottl::transform::GroupConfig;
//! let cfg = FilterConfig {
//!     logs: vec![GroupConfig {
//!         context: Some("log".into()),
//!         conditions: vec![r#"IsMatch(body, "health")"#.into()],
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let f = Filter::new(&cfg).unwrap();
//! assert!(f.has_logs() && !f.has_traces());
//! ```

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::metrics::v1::Metric;
use pdata::proto::metrics::v1::metric::Data;
use pdata::proto::resource::v1::Resource;
use pdata::tree::{Branch, Tree, data_point_count};

use crate::contexts::SchemaUrls;

use crate::contexts::datapoint::{DataPointContext, DataPointData};
use crate::contexts::log::{LogContext, LogData};
use crate::contexts::metric::{MetricContext, MetricData};
use crate::contexts::resource::{ResourceContext, ResourceData};
use crate::contexts::scope::{ScopeContext, ScopeData};
use crate::contexts::span::{SpanContext, SpanData};
use crate::contexts::spanevent::{SpanEventContext, SpanEventData};
use crate::functions::Functions;
use crate::transform::{GroupConfig, group_context};
use crate::{ConditionSequence, Context, ErrorMode, Parser};

/// The conditions of a filter, per signal. Each group's `statements` must be empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterConfig {
    pub error_mode: ErrorMode,
    pub traces: Vec<GroupConfig>,
    pub metrics: Vec<GroupConfig>,
    pub logs: Vec<GroupConfig>,
}

/// Conditions compiled for one context: the groups' sequences, any of which drops.
struct Level<C: Context>(Vec<ConditionSequence<C>>);

impl<C: Context> Default for Level<C> {
    fn default() -> Self {
        Level(Vec::new())
    }
}

impl<C: Context> Level<C> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn matches(&self, d: &C::Data<'_>) -> Result<bool, String> {
        for seq in &self.0 {
            if seq.eval(d)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[derive(Default)]
struct TraceLevels {
    resource: Level<ResourceContext>,
    scope: Level<ScopeContext>,
    span: Level<SpanContext>,
    spanevent: Level<SpanEventContext>,
}

#[derive(Default)]
struct MetricLevels {
    resource: Level<ResourceContext>,
    scope: Level<ScopeContext>,
    metric: Level<MetricContext>,
    datapoint: Level<DataPointContext>,
}

#[derive(Default)]
struct LogLevels {
    resource: Level<ResourceContext>,
    scope: Level<ScopeContext>,
    log: Level<LogContext>,
}

/// A compiled filter.
pub struct Filter {
    traces: TraceLevels,
    metrics: MetricLevels,
    logs: LogLevels,
}

/// What one call removed, in the unit the processor counts (spans, data points, records).
pub type Removed = usize;

fn sequence<C: Context>(
    g: &GroupConfig,
    mode: ErrorMode,
    functions: Functions<C>,
) -> Result<ConditionSequence<C>, String> {
    if !g.statements.is_empty() {
        return Err("a filter takes conditions, not statements".into());
    }
    let parser = Parser::<C>::new(functions);
    let conditions = parser
        .parse_conditions(&g.conditions)
        .map_err(|e| e.to_string())?;
    Ok(ConditionSequence::new(
        conditions,
        g.error_mode.unwrap_or(mode),
    ))
}

fn converters<C: Context>() -> Functions<C> {
    crate::functions::standard::<C>().converters_only()
}

/// The metric context's functions in a filter: the converters and the two data point
/// lookups Go's filter processor adds.
fn metric_functions() -> Functions<MetricContext> {
    let mut f = converters::<MetricContext>();
    crate::functions::metrics::register_filter_metric(&mut f);
    f
}

fn covers<C: Context>(f: &Functions<C>, calls: &[String]) -> bool {
    calls.iter().all(|c| f.get(c).is_some())
}

/// The basic style (a plain list) infers each condition's context on its own; a group with
/// several conditions is inferred as a whole.
fn groups_by_context<'a>(
    groups: &'a [GroupConfig],
    allowed: &[&'static str],
    has: &dyn Fn(&str, &[String]) -> bool,
) -> Result<Vec<(&'static str, &'a GroupConfig)>, String> {
    groups
        .iter()
        .map(|g| group_context(g, allowed, has).map(|c| (c, g)))
        .collect()
}

impl Filter {
    pub fn new(cfg: &FilterConfig) -> Result<Filter, String> {
        let mode = cfg.error_mode;
        let std_has = |_: &str, calls: &[String]| covers(&converters::<ResourceContext>(), calls);
        let metric_has = |c: &str, calls: &[String]| match c {
            "metric" => covers(&metric_functions(), calls),
            _ => std_has(c, calls),
        };
        let mut traces = TraceLevels::default();
        for (ctx, g) in groups_by_context(
            &cfg.traces,
            &["resource", "scope", "span", "spanevent"],
            &std_has,
        )? {
            match ctx {
                "resource" => traces.resource.0.push(sequence(g, mode, converters())?),
                "scope" => traces.scope.0.push(sequence(g, mode, converters())?),
                "span" => traces.span.0.push(sequence(g, mode, converters())?),
                _ => traces.spanevent.0.push(sequence(g, mode, converters())?),
            }
        }
        let mut metrics = MetricLevels::default();
        for (ctx, g) in groups_by_context(
            &cfg.metrics,
            &["resource", "scope", "metric", "datapoint"],
            &metric_has,
        )? {
            match ctx {
                "resource" => metrics.resource.0.push(sequence(g, mode, converters())?),
                "scope" => metrics.scope.0.push(sequence(g, mode, converters())?),
                "metric" => metrics
                    .metric
                    .0
                    .push(sequence(g, mode, metric_functions())?),
                _ => metrics.datapoint.0.push(sequence(g, mode, converters())?),
            }
        }
        let mut logs = LogLevels::default();
        for (ctx, g) in groups_by_context(&cfg.logs, &["resource", "scope", "log"], &std_has)? {
            match ctx {
                "resource" => logs.resource.0.push(sequence(g, mode, converters())?),
                "scope" => logs.scope.0.push(sequence(g, mode, converters())?),
                _ => logs.log.0.push(sequence(g, mode, converters())?),
            }
        }
        Ok(Filter {
            traces,
            metrics,
            logs,
        })
    }

    pub fn has_traces(&self) -> bool {
        let t = &self.traces;
        !(t.resource.is_empty()
            && t.scope.is_empty()
            && t.span.is_empty()
            && t.spanevent.is_empty())
    }

    pub fn has_metrics(&self) -> bool {
        let m = &self.metrics;
        !(m.resource.is_empty()
            && m.scope.is_empty()
            && m.metric.is_empty()
            && m.datapoint.is_empty())
    }

    pub fn has_logs(&self) -> bool {
        let l = &self.logs;
        !(l.resource.is_empty() && l.scope.is_empty() && l.log.is_empty())
    }

    /// Drops matching spans (and span events); returns the spans dropped. An error
    /// (`propagate`) leaves the request half filtered: the caller drops it whole.
    pub fn filter_traces(&self, req: &mut ExportTraceServiceRequest) -> Result<Removed, String> {
        let t = &self.traces;
        filter_tree(
            &mut req.resource_spans,
            &t.resource,
            &t.scope,
            |_| 1,
            |span, sc, res, u| {
                if t.span
                    .matches(&SpanData::new(span, sc, res).with_schema_urls(urls(u)))?
                {
                    return Ok(ItemFate::Drop(1));
                }
                if !t.spanevent.is_empty() {
                    let mut i = 0;
                    while i < span.events.len() {
                        if t.spanevent.matches(
                            &SpanEventData::new(span, i, sc, res).with_schema_urls(urls(u)),
                        )? {
                            span.events.remove(i);
                        } else {
                            i += 1;
                        }
                    }
                }
                // A span whose events all went stays.
                Ok(ItemFate::Keep(0))
            },
        )
    }

    /// Drops matching metrics and data points; returns the data points dropped.
    pub fn filter_metrics(&self, req: &mut ExportMetricsServiceRequest) -> Result<Removed, String> {
        let m = &self.metrics;
        let points = data_point_count;
        filter_tree(
            &mut req.resource_metrics,
            &m.resource,
            &m.scope,
            points,
            |metric, sc, res, u| {
                let n = points(metric);
                if m.metric
                    .matches(&MetricData::new(metric, sc, res).with_schema_urls(urls(u)))?
                {
                    return Ok(ItemFate::Drop(n));
                }
                if m.datapoint.is_empty() {
                    return Ok(ItemFate::Keep(0));
                }
                let mut drop = Vec::with_capacity(n);
                for i in 0..n {
                    drop.push(
                        m.datapoint
                            .matches(&DataPointData::new(metric, i, sc, res))?,
                    );
                }
                let dropped = drop.iter().filter(|d| **d).count();
                if dropped > 0 {
                    remove_points(metric, &drop);
                }
                // Go: a metric left without data points goes.
                Ok(if points(metric) > 0 {
                    ItemFate::Keep(dropped)
                } else {
                    ItemFate::Drop(dropped)
                })
            },
        )
    }

    /// Drops matching log records; returns the records dropped.
    pub fn filter_logs(&self, req: &mut ExportLogsServiceRequest) -> Result<Removed, String> {
        let l = &self.logs;
        filter_tree(
            &mut req.resource_logs,
            &l.resource,
            &l.scope,
            |_| 1,
            |rec, sc, res, u| {
                Ok(
                    if l.log
                        .matches(&LogData::new(rec, sc, res).with_schema_urls(urls(u)))?
                    {
                        ItemFate::Drop(1)
                    } else {
                        ItemFate::Keep(0)
                    },
                )
            },
        )
    }
}

/// What the filter did to one item: kept it (with this many of its parts removed) or
/// dropped it (counting this many).
enum ItemFate {
    Keep(usize),
    Drop(usize),
}

/// The schema URLs of the item's resource and scope, for `resource.schema_url` and
/// `scope.schema_url` paths.
type Urls<'a> = (&'a mut String, &'a mut String);

fn urls<'a>(u: &'a mut Urls<'_>) -> SchemaUrls<'a> {
    SchemaUrls::new(u.0, Some(u.1))
}

/// The walk every signal shares: resources, then scopes, then items, top down; a dropped
/// level is counted with `count` per item and never looked into. Emptied scopes and
/// resources go.
fn filter_tree<T: Tree>(
    trees: &mut Vec<T>,
    resource: &Level<ResourceContext>,
    scope: &Level<ScopeContext>,
    count: impl Fn(&<T::Scope as Branch>::Item) -> usize,
    mut item: impl FnMut(
        &mut <T::Scope as Branch>::Item,
        &mut InstrumentationScope,
        &mut Resource,
        &mut Urls<'_>,
    ) -> Result<ItemFate, String>,
) -> Result<Removed, String> {
    let mut removed = 0;
    let mut err = None;
    trees.retain_mut(|t| {
        if err.is_some() {
            return true;
        }
        let (res_opt, res_url, scopes) = t.parts();
        let had = res_opt.is_some();
        let mut res = res_opt.take().unwrap_or_default();
        let keep = (|| -> Result<bool, String> {
            let d = ResourceData::new(&mut res).with_schema_urls(SchemaUrls::new(res_url, None));
            if resource.matches(&d)? {
                removed += scopes
                    .iter_mut()
                    .map(|b| b.items().iter().map(&count).sum::<usize>())
                    .sum::<usize>();
                return Ok(false);
            }
            let mut inner = Ok(());
            scopes.retain_mut(|b| {
                if inner.is_err() {
                    return true;
                }
                let (sc_opt, sc_url, items) = b.parts();
                let had_scope = sc_opt.is_some();
                let mut sc = sc_opt.take().unwrap_or_default();
                let keep = (|| -> Result<bool, String> {
                    let mut u: Urls<'_> = (&mut *res_url, &mut *sc_url);
                    let d = ScopeData::new(&mut sc, &mut res).with_schema_urls(urls(&mut u));
                    if scope.matches(&d)? {
                        removed += items.iter().map(&count).sum::<usize>();
                        return Ok(false);
                    }
                    let mut e = Ok(());
                    items.retain_mut(|x| {
                        if e.is_err() {
                            return true;
                        }
                        match item(x, &mut sc, &mut res, &mut u) {
                            Ok(ItemFate::Keep(n)) => {
                                removed += n;
                                true
                            }
                            Ok(ItemFate::Drop(n)) => {
                                removed += n;
                                false
                            }
                            Err(x) => {
                                e = Err(x);
                                true
                            }
                        }
                    });
                    e?;
                    Ok(!items.is_empty())
                })();
                if had_scope {
                    *sc_opt = Some(sc);
                }
                keep.unwrap_or_else(|e| {
                    inner = Err(e);
                    true
                })
            });
            inner?;
            Ok(!scopes.is_empty())
        })();
        if had {
            *res_opt = Some(res);
        }
        keep.unwrap_or_else(|e| {
            err = Some(e);
            true
        })
    });
    match err {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// Removes the data points whose `drop` entry is true.
fn remove_points(m: &mut Metric, drop: &[bool]) {
    fn retain<T>(v: &mut Vec<T>, drop: &[bool]) {
        let mut i = 0;
        v.retain(|_| {
            let keep = !drop.get(i).copied().unwrap_or(false);
            i += 1;
            keep
        });
    }
    match &mut m.data {
        None => {}
        Some(Data::Gauge(g)) => retain(&mut g.data_points, drop),
        Some(Data::Sum(s)) => retain(&mut s.data_points, drop),
        Some(Data::Histogram(h)) => retain(&mut h.data_points, drop),
        Some(Data::ExponentialHistogram(h)) => retain(&mut h.data_points, drop),
        Some(Data::Summary(s)) => retain(&mut s.data_points, drop),
    }
}
