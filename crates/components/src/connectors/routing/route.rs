//! The routing connector's work: routes compiled per signal, and the split of a request
//! into what each route takes. Routes are tried in table order and each item goes to the
//! first one that matches (Go since v0.120): a `request` route takes everything left, a
//! `resource` route whole resources, a `span`/`log`/`metric` route single items (with their
//! resource and scope), a `datapoint` route single data points (with their metric). What no
//! route takes goes to `default_pipelines`. A condition that fails is an error of the whole
//! request in `propagate`; in `ignore`/`silent` the item goes to the default pipelines.

use std::collections::HashMap;

use ottl::contexts::SchemaUrls;
use ottl::contexts::datapoint::{DataPointContext, DataPointData};
use ottl::contexts::log::{LogContext, LogData};
use ottl::contexts::metric::{MetricContext, MetricData};
use ottl::contexts::resource::{ResourceContext, ResourceData};
use ottl::contexts::span::{SpanContext, SpanData};
use ottl::functions::{Args, Build, Functions};
use ottl::{Condition, Context, EditorFn, ErrorMode, Parser, Statement};
use pdata::ClientInfo;
use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::logs::v1::ResourceLogs;
use pdata::proto::metrics::v1::metric::Data;
use pdata::proto::metrics::v1::{Metric, ResourceMetrics};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::ResourceSpans;
use pdata::tree::{Branch, Tree, data_point_count as point_count, with_resource};
use pdata::{Request, Signal};

use super::config::Config;

/// `request["key"] == "value"` / `!=` over the request's client metadata (`include_metadata`
/// on the receiver), the only grammar Go accepts in the request context.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestCondition {
    key: String,
    value: String,
    equal: bool,
}

impl RequestCondition {
    pub fn parse(text: &str) -> Result<RequestCondition, String> {
        let bad = || {
            format!(
                "invalid request condition {text:?}: must be request[\"key\"] == \"value\" or request[\"key\"] != \"value\""
            )
        };
        let rest = text.trim().strip_prefix("request[\"").ok_or_else(bad)?;
        let (key, rest) = rest.split_once("\"]").ok_or_else(bad)?;
        let rest = rest.trim_start();
        let (equal, rest) = if let Some(r) = rest.strip_prefix("==") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (false, r)
        } else {
            return Err(bad());
        };
        let value = rest
            .trim()
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(bad)?;
        if key.is_empty() || key.contains('"') || value.contains('"') {
            return Err(bad());
        }
        Ok(RequestCondition {
            key: key.to_ascii_lowercase(),
            value: value.to_string(),
            equal,
        })
    }

    /// Metadata keys are case-insensitive (HTTP headers, gRPC metadata), as Go's
    /// `client.Metadata.Get`.
    pub fn matches(&self, client: Option<&ClientInfo>) -> bool {
        let found = client.is_some_and(|c| c.get(&self.key).contains(&self.value));
        found == self.equal
    }
}

/// A route's OTTL: a condition, or a statement (`route() where ...`, which may also run
/// `delete_key`/`delete_matching_keys` on what it routes).
enum Matcher<C: Context> {
    Condition(Condition<C>),
    Statement(Statement<C>),
}

impl<C: Context> Matcher<C> {
    fn compile(condition: &str, statement: &str) -> Result<Matcher<C>, String> {
        let parser = Parser::<C>::new(functions::<C>());
        if statement.is_empty() {
            parser
                .parse_condition(condition)
                .map(Matcher::Condition)
                .map_err(|e| e.to_string())
        } else {
            parser
                .parse_statement(statement)
                .map(Matcher::Statement)
                .map_err(|e| e.to_string())
        }
    }

    fn eval(&self, d: &mut C::Data<'_>) -> Result<bool, String> {
        let (r, text) = match self {
            Matcher::Condition(c) => (c.eval(d), c.text()),
            Matcher::Statement(s) => (s.execute(d), s.text()),
        };
        r.map_err(|e| format!("failed to evaluate the route {text:?}: {e}"))
    }
}

/// `route()`: the editor a routing statement names; it does nothing itself.
fn route_editor<C: Context>(_: Args<C>) -> Result<EditorFn<C>, String> {
    Ok(Box::new(|_| Ok(())))
}

/// Go's `common.Functions`: the converters, `delete_key`, `delete_matching_keys`, `route`.
fn functions<C: Context>() -> Functions<C> {
    let standard = ottl::functions::standard::<C>();
    let mut f = ottl::functions::standard::<C>().converters_only();
    for name in ["delete_key", "delete_matching_keys"] {
        if let Some(def) = standard.get(name)
            && let Build::Editor(b) = def.build
        {
            f.editor(name, def.params, b);
        }
    }
    f.editor("route", &[], route_editor::<C>);
    f
}

enum TraceRoute {
    Request(RequestCondition),
    Resource(Matcher<ResourceContext>),
    Span(Matcher<SpanContext>),
}

enum MetricRoute {
    Request(RequestCondition),
    Resource(Matcher<ResourceContext>),
    Metric(Matcher<MetricContext>),
    DataPoint(Matcher<DataPointContext>),
}

enum LogRoute {
    Request(RequestCondition),
    Resource(Matcher<ResourceContext>),
    Log(Matcher<LogContext>),
}

enum Routes {
    Traces(Vec<TraceRoute>),
    Metrics(Vec<MetricRoute>),
    Logs(Vec<LogRoute>),
}

/// The routes of one signal, compiled.
pub struct Table {
    routes: Routes,
    error_mode: ErrorMode,
}

fn not_for(ctx: &str, signal: Signal) -> String {
    format!("context {ctx:?} does not apply to {signal}")
}

impl Table {
    pub fn new(cfg: &Config, signal: Signal) -> Result<Table, String> {
        let error_mode = match &cfg.error_mode {
            Some(m) => ErrorMode::parse(m)?,
            None => ErrorMode::Propagate,
        };
        let routes = match signal {
            Signal::Traces => Routes::Traces(
                cfg.table
                    .iter()
                    .map(|r| {
                        Ok(match r.context() {
                            "request" => {
                                TraceRoute::Request(RequestCondition::parse(&r.condition)?)
                            }
                            "resource" => {
                                TraceRoute::Resource(Matcher::compile(&r.condition, &r.statement)?)
                            }
                            "span" => {
                                TraceRoute::Span(Matcher::compile(&r.condition, &r.statement)?)
                            }
                            c => return Err(not_for(c, signal)),
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Signal::Metrics => Routes::Metrics(
                cfg.table
                    .iter()
                    .map(|r| {
                        Ok(match r.context() {
                            "request" => {
                                MetricRoute::Request(RequestCondition::parse(&r.condition)?)
                            }
                            "resource" => {
                                MetricRoute::Resource(Matcher::compile(&r.condition, &r.statement)?)
                            }
                            "metric" => {
                                MetricRoute::Metric(Matcher::compile(&r.condition, &r.statement)?)
                            }
                            "datapoint" => MetricRoute::DataPoint(Matcher::compile(
                                &r.condition,
                                &r.statement,
                            )?),
                            c => return Err(not_for(c, signal)),
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Signal::Logs => Routes::Logs(
                cfg.table
                    .iter()
                    .map(|r| {
                        Ok(match r.context() {
                            "request" => LogRoute::Request(RequestCondition::parse(&r.condition)?),
                            "resource" => {
                                LogRoute::Resource(Matcher::compile(&r.condition, &r.statement)?)
                            }
                            "log" => LogRoute::Log(Matcher::compile(&r.condition, &r.statement)?),
                            c => return Err(not_for(c, signal)),
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            Signal::Profiles => return Err("profiles cannot be routed".into()),
        };
        Ok(Table { routes, error_mode })
    }

    fn route_count(&self) -> usize {
        match &self.routes {
            Routes::Traces(r) => r.len(),
            Routes::Metrics(r) => r.len(),
            Routes::Logs(r) => r.len(),
        }
    }

    /// Splits `req`: entry `i` of the result is what route `i` takes, the last entry what
    /// goes to the default pipelines. Empty requests are `None`.
    pub fn split(
        &self,
        req: Request,
        client: Option<&ClientInfo>,
    ) -> Result<Vec<Option<Request>>, String> {
        let mode = self.error_mode;
        match (&self.routes, req) {
            (Routes::Traces(routes), Request::Traces(mut r)) => {
                let mut outs: Vec<Vec<ResourceSpans>> = vec![Vec::new(); routes.len() + 1];
                let (head, default) = outs.split_at_mut(routes.len());
                let default = &mut default[0];
                for (route, out) in routes.iter().zip(head.iter_mut()) {
                    let rem = &mut r.resource_spans;
                    if rem.is_empty() {
                        break;
                    }
                    match route {
                        TraceRoute::Request(c) => {
                            if c.matches(client) {
                                out.append(rem);
                            }
                        }
                        TraceRoute::Resource(m) => {
                            move_resources(rem, out, default, mode, |res, url| {
                                m.eval(
                                    &mut ResourceData::new(res)
                                        .with_schema_urls(SchemaUrls::new(url, None)),
                                )
                            })?
                        }
                        TraceRoute::Span(m) => {
                            move_items(rem, out, default, mode, |s, sc, res, urls| {
                                m.eval(&mut SpanData::new(s, sc, res).with_schema_urls(urls))
                            })?
                        }
                    }
                }
                let rest = std::mem::take(&mut r.resource_spans);
                outs.last_mut().expect("default slot").extend(rest);
                Ok(outs
                    .into_iter()
                    .map(|v| {
                        (!v.is_empty()).then_some(Request::Traces(
                            pdata::proto::collector::trace::v1::ExportTraceServiceRequest {
                                resource_spans: v,
                            },
                        ))
                    })
                    .collect())
            }
            (Routes::Metrics(routes), Request::Metrics(mut r)) => {
                let mut outs: Vec<Vec<ResourceMetrics>> = vec![Vec::new(); routes.len() + 1];
                let (head, default) = outs.split_at_mut(routes.len());
                let default = &mut default[0];
                for (route, out) in routes.iter().zip(head.iter_mut()) {
                    let rem = &mut r.resource_metrics;
                    if rem.is_empty() {
                        break;
                    }
                    match route {
                        MetricRoute::Request(c) => {
                            if c.matches(client) {
                                out.append(rem);
                            }
                        }
                        MetricRoute::Resource(m) => {
                            move_resources(rem, out, default, mode, |res, url| {
                                m.eval(
                                    &mut ResourceData::new(res)
                                        .with_schema_urls(SchemaUrls::new(url, None)),
                                )
                            })?
                        }
                        MetricRoute::Metric(m) => {
                            move_items(rem, out, default, mode, |x, sc, res, urls| {
                                m.eval(&mut MetricData::new(x, sc, res).with_schema_urls(urls))
                            })?
                        }
                        MetricRoute::DataPoint(m) => move_points(rem, out, default, mode, m)?,
                    }
                }
                let rest = std::mem::take(&mut r.resource_metrics);
                outs.last_mut().expect("default slot").extend(rest);
                Ok(outs
                    .into_iter()
                    .map(|v| {
                        (!v.is_empty()).then_some(Request::Metrics(
                            pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest {
                                resource_metrics: v,
                            },
                        ))
                    })
                    .collect())
            }
            (Routes::Logs(routes), Request::Logs(mut r)) => {
                let mut outs: Vec<Vec<ResourceLogs>> = vec![Vec::new(); routes.len() + 1];
                let (head, default) = outs.split_at_mut(routes.len());
                let default = &mut default[0];
                for (route, out) in routes.iter().zip(head.iter_mut()) {
                    let rem = &mut r.resource_logs;
                    if rem.is_empty() {
                        break;
                    }
                    match route {
                        LogRoute::Request(c) => {
                            if c.matches(client) {
                                out.append(rem);
                            }
                        }
                        LogRoute::Resource(m) => {
                            move_resources(rem, out, default, mode, |res, url| {
                                m.eval(
                                    &mut ResourceData::new(res)
                                        .with_schema_urls(SchemaUrls::new(url, None)),
                                )
                            })?
                        }
                        LogRoute::Log(m) => {
                            move_items(rem, out, default, mode, |l, sc, res, urls| {
                                m.eval(&mut LogData::new(l, sc, res).with_schema_urls(urls))
                            })?
                        }
                    }
                }
                let rest = std::mem::take(&mut r.resource_logs);
                outs.last_mut().expect("default slot").extend(rest);
                Ok(outs
                    .into_iter()
                    .map(|v| {
                        (!v.is_empty()).then_some(Request::Logs(
                            pdata::proto::collector::logs::v1::ExportLogsServiceRequest {
                                resource_logs: v,
                            },
                        ))
                    })
                    .collect())
            }
            (_, other) => Ok(vec![None; self.route_count()]
                .into_iter()
                .chain(std::iter::once(Some(other)))
                .collect()),
        }
    }
}

/// Where an item goes after one route looked at it.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Stay,
    Route,
    Default,
}

fn fate(r: Result<bool, String>, mode: ErrorMode) -> Result<Fate, String> {
    match r {
        Ok(true) => Ok(Fate::Route),
        Ok(false) => Ok(Fate::Stay),
        Err(e) => match mode {
            ErrorMode::Propagate => Err(e),
            ErrorMode::Ignore => {
                tracing::warn!(error = %e, "failed to evaluate a routing condition; routing to the default pipelines");
                Ok(Fate::Default)
            }
            ErrorMode::Silent => Ok(Fate::Default),
        },
    }
}

fn move_resources<R: Tree>(
    rem: &mut Vec<R>,
    out: &mut Vec<R>,
    default: &mut Vec<R>,
    mode: ErrorMode,
    mut pred: impl FnMut(&mut Resource, &mut String) -> Result<bool, String>,
) -> Result<(), String> {
    let mut kept = Vec::with_capacity(rem.len());
    for mut rt in rem.drain(..) {
        let f = with_resource(&mut rt, |res, rt| fate(pred(res, rt.parts().1), mode))?;
        match f {
            Fate::Stay => kept.push(rt),
            Fate::Route => out.push(rt),
            Fate::Default => default.push(rt),
        }
    }
    *rem = kept;
    Ok(())
}

/// Appends `item` under copies of its resource and scope headers in `dst`, reusing the
/// copies made for earlier items of the same resource and scope (`slots`).
fn place<R: Tree>(
    dst: &mut Vec<R>,
    slot: &mut Option<(usize, Option<usize>)>,
    rt: &R,
    st: &R::Scope,
    item: <R::Scope as Branch>::Item,
) {
    let ri = match slot {
        Some((ri, _)) => *ri,
        None => {
            dst.push(rt.header());
            *slot = Some((dst.len() - 1, None));
            dst.len() - 1
        }
    };
    let scopes = dst[ri].scopes();
    let si = match slot.as_mut().and_then(|s| s.1) {
        Some(si) => si,
        None => {
            scopes.push(st.header());
            let si = scopes.len() - 1;
            if let Some(s) = slot.as_mut() {
                s.1 = Some(si);
            }
            si
        }
    };
    scopes[si].items().push(item);
}

fn move_items<R: Tree>(
    rem: &mut Vec<R>,
    out: &mut Vec<R>,
    default: &mut Vec<R>,
    mode: ErrorMode,
    mut pred: impl FnMut(
        &mut <R::Scope as Branch>::Item,
        &mut InstrumentationScope,
        &mut Resource,
        SchemaUrls<'_>,
    ) -> Result<bool, String>,
) -> Result<(), String> {
    for rt in rem.iter_mut() {
        // Copies: the conditions read them, and routing statements only edit attributes.
        let mut res_url = rt.parts().1.clone();
        let mut routed_slot: Option<(usize, Option<usize>)> = None;
        let mut default_slot: Option<(usize, Option<usize>)> = None;
        let had = rt.resource().is_some();
        let mut res = rt.resource().take().unwrap_or_default();
        let mut scopes = std::mem::take(rt.scopes());
        let r = (|| -> Result<(), String> {
            for st in scopes.iter_mut() {
                // A new scope: the slots' scope index starts over.
                if let Some(s) = routed_slot.as_mut() {
                    s.1 = None;
                }
                if let Some(s) = default_slot.as_mut() {
                    s.1 = None;
                }
                let mut sc_url = st.parts().1.clone();
                let had_scope = st.scope().is_some();
                let mut sc = st.scope().take().unwrap_or_default();
                let items = std::mem::take(st.items());
                let mut stay = Vec::with_capacity(items.len());
                let mut moved = Vec::new();
                let mut result = Ok(());
                for mut item in items {
                    if result.is_err() {
                        stay.push(item);
                        continue;
                    }
                    let urls = SchemaUrls::new(&mut res_url, Some(&mut sc_url));
                    match fate(pred(&mut item, &mut sc, &mut res, urls), mode) {
                        Ok(Fate::Stay) => stay.push(item),
                        Ok(f) => moved.push((f, item)),
                        Err(e) => {
                            result = Err(e);
                            stay.push(item);
                        }
                    }
                }
                if had_scope {
                    *st.scope() = Some(sc);
                }
                *st.items() = stay;
                if !moved.is_empty() {
                    // The resource is out of `rt` while items are evaluated: the header
                    // copies get it from here (the scope was put back above).
                    let mut hdr = rt.header();
                    if had {
                        *hdr.resource() = Some(res.clone());
                    }
                    for (f, item) in moved {
                        match f {
                            Fate::Route => place(out, &mut routed_slot, &hdr, st, item),
                            _ => place(default, &mut default_slot, &hdr, st, item),
                        }
                    }
                }
                result?;
            }
            Ok(())
        })();
        scopes.retain_mut(|st| !st.items().is_empty());
        *rt.scopes() = scopes;
        if had {
            *rt.resource() = Some(res);
        }
        r?;
    }
    rem.retain_mut(|rt| !rt.scopes().is_empty());
    Ok(())
}

/// Splits `m`'s data points by `fates`: returns the metrics (header copies) holding the
/// routed and the defaulted points; `m` keeps the rest.
fn split_metric(m: &mut Metric, fates: &[Fate]) -> (Option<Metric>, Option<Metric>) {
    fn part<T>(v: &mut Vec<T>, fates: &[Fate]) -> (Vec<T>, Vec<T>) {
        let mut stay = Vec::with_capacity(v.len());
        let (mut routed, mut default) = (Vec::new(), Vec::new());
        for (p, f) in v.drain(..).zip(fates.iter().copied()) {
            match f {
                Fate::Stay => stay.push(p),
                Fate::Route => routed.push(p),
                Fate::Default => default.push(p),
            }
        }
        *v = stay;
        (routed, default)
    }
    let header = |m: &Metric| Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data: None,
    };
    let (mut r, mut d) = (header(m), header(m));
    match &mut m.data {
        None => return (None, None),
        Some(Data::Gauge(g)) => {
            let (a, b) = part(&mut g.data_points, fates);
            r.data = Some(Data::Gauge(pdata::proto::metrics::v1::Gauge {
                data_points: a,
            }));
            d.data = Some(Data::Gauge(pdata::proto::metrics::v1::Gauge {
                data_points: b,
            }));
        }
        Some(Data::Sum(s)) => {
            let (a, b) = part(&mut s.data_points, fates);
            let mk = |p| {
                Data::Sum(pdata::proto::metrics::v1::Sum {
                    data_points: p,
                    aggregation_temporality: s.aggregation_temporality,
                    is_monotonic: s.is_monotonic,
                })
            };
            r.data = Some(mk(a));
            d.data = Some(mk(b));
        }
        Some(Data::Histogram(h)) => {
            let (a, b) = part(&mut h.data_points, fates);
            let t = h.aggregation_temporality;
            r.data = Some(Data::Histogram(pdata::proto::metrics::v1::Histogram {
                data_points: a,
                aggregation_temporality: t,
            }));
            d.data = Some(Data::Histogram(pdata::proto::metrics::v1::Histogram {
                data_points: b,
                aggregation_temporality: t,
            }));
        }
        Some(Data::ExponentialHistogram(h)) => {
            let (a, b) = part(&mut h.data_points, fates);
            let t = h.aggregation_temporality;
            r.data = Some(Data::ExponentialHistogram(
                pdata::proto::metrics::v1::ExponentialHistogram {
                    data_points: a,
                    aggregation_temporality: t,
                },
            ));
            d.data = Some(Data::ExponentialHistogram(
                pdata::proto::metrics::v1::ExponentialHistogram {
                    data_points: b,
                    aggregation_temporality: t,
                },
            ));
        }
        Some(Data::Summary(s)) => {
            let (a, b) = part(&mut s.data_points, fates);
            r.data = Some(Data::Summary(pdata::proto::metrics::v1::Summary {
                data_points: a,
            }));
            d.data = Some(Data::Summary(pdata::proto::metrics::v1::Summary {
                data_points: b,
            }));
        }
    }
    (
        (point_count(&r) > 0).then_some(r),
        (point_count(&d) > 0).then_some(d),
    )
}

fn move_points(
    rem: &mut Vec<ResourceMetrics>,
    out: &mut Vec<ResourceMetrics>,
    default: &mut Vec<ResourceMetrics>,
    mode: ErrorMode,
    m: &Matcher<DataPointContext>,
) -> Result<(), String> {
    // Fates first (evaluation borrows the metric mutably), then the split.
    let mut plan: HashMap<(usize, usize, usize), Vec<Fate>> = HashMap::new();
    for (ri, rm) in rem.iter_mut().enumerate() {
        let mut res_url = rm.schema_url.clone();
        let had = rm.resource.is_some();
        let mut res = rm.resource.take().unwrap_or_default();
        let r = (|| -> Result<(), String> {
            for (si, sm) in rm.scope_metrics.iter_mut().enumerate() {
                let mut sc_url = sm.schema_url.clone();
                let had_scope = sm.scope.is_some();
                let mut sc = sm.scope.take().unwrap_or_default();
                let r = (|| -> Result<(), String> {
                    for (mi, metric) in sm.metrics.iter_mut().enumerate() {
                        let n = point_count(metric);
                        let mut fates = Vec::with_capacity(n);
                        for i in 0..n {
                            let urls = SchemaUrls::new(&mut res_url, Some(&mut sc_url));
                            fates.push(fate(
                                m.eval(
                                    &mut DataPointData::new(metric, i, &mut sc, &mut res)
                                        .with_schema_urls(urls),
                                ),
                                mode,
                            )?);
                        }
                        if fates.iter().any(|f| *f != Fate::Stay) {
                            plan.insert((ri, si, mi), fates);
                        }
                    }
                    Ok(())
                })();
                if had_scope {
                    sm.scope = Some(sc);
                }
                r?;
            }
            Ok(())
        })();
        if had {
            rm.resource = Some(res);
        }
        r?;
    }
    if plan.is_empty() {
        return Ok(());
    }
    for (ri, rm) in rem.iter_mut().enumerate() {
        let mut routed_slot: Option<(usize, Option<usize>)> = None;
        let mut default_slot: Option<(usize, Option<usize>)> = None;
        let mut scopes = std::mem::take(&mut rm.scope_metrics);
        for (si, sm) in scopes.iter_mut().enumerate() {
            if let Some(s) = routed_slot.as_mut() {
                s.1 = None;
            }
            if let Some(s) = default_slot.as_mut() {
                s.1 = None;
            }
            for mi in 0..sm.metrics.len() {
                let Some(fates) = plan.get(&(ri, si, mi)) else {
                    continue;
                };
                let (r, d) = split_metric(&mut sm.metrics[mi], fates);
                if let Some(r) = r {
                    place(out, &mut routed_slot, rm, sm, r);
                }
                if let Some(d) = d {
                    place(default, &mut default_slot, rm, sm, d);
                }
            }
            sm.metrics.retain(|x| point_count(x) > 0);
        }
        scopes.retain(|s| !s.metrics.is_empty());
        rm.scope_metrics = scopes;
    }
    rem.retain(|rm| !rm.scope_metrics.is_empty());
    Ok(())
}

/// Compiles every route for each signal where its context exists, so that `validate`
/// reports OTTL errors.
pub fn check(cfg: &Config) -> Result<(), String> {
    let applies = |signal: Signal, ctx: &str| match signal {
        Signal::Traces => matches!(ctx, "request" | "resource" | "span"),
        Signal::Metrics => matches!(ctx, "request" | "resource" | "metric" | "datapoint"),
        _ => matches!(ctx, "request" | "resource" | "log"),
    };
    for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
        let mut only = cfg.clone();
        only.table.retain(|r| applies(signal, r.context()));
        if !only.table.is_empty() {
            Table::new(&only, signal)?;
        }
    }
    Ok(())
}
