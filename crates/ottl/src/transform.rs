//! The engine of the `transform` processor (Go `processor/transformprocessor/internal/common`):
//! groups of statements, each bound to a context (given, or inferred from the paths' context
//! prefixes), gated by ORed `conditions`, run in order over every resource, scope, span, span
//! event, metric, data point or log record of a request, with the group's `error_mode`.
//! The component is an adapter over [`Transform`].

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::logs::v1::{ResourceLogs, ScopeLogs};

use crate::contexts::SchemaUrls;
use crate::contexts::datapoint::{DataPointContext, DataPointData};
use crate::contexts::log::{LogContext, LogData};
use crate::contexts::metric::{MetricContext, MetricData};
use crate::contexts::resource::{ResourceContext, ResourceData};
use crate::contexts::scope::{ScopeContext, ScopeData};
use crate::contexts::span::{SpanContext, SpanData};
use crate::contexts::spanevent::{SpanEventContext, SpanEventData};
use crate::infer::{DEFAULT_PRIORITY, infer_context};
use crate::{ConditionSequence, Context, ErrorMode, Functions, Parser, Statement};

/// One entry of `trace_statements` / `metric_statements` / `log_statements`. The basic style
/// (a list of strings) is one group with no context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupConfig {
    /// `resource`, `scope`, `span`, `spanevent`, `metric`, `datapoint` or `log`; `None` to
    /// infer it from the statements' path prefixes.
    pub context: Option<String>,
    pub conditions: Vec<String>,
    pub statements: Vec<String>,
    /// Overrides the processor's `error_mode` for this group.
    pub error_mode: Option<ErrorMode>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub error_mode: ErrorMode,
    pub trace_statements: Vec<GroupConfig>,
    pub metric_statements: Vec<GroupConfig>,
    pub log_statements: Vec<GroupConfig>,
    pub flatten_data: bool,
}

/// Extra functions a signal's contexts get besides the standard library (the transform
/// processor's metric functions, a filter's `HasAttrOnDatapoint`, ...).
#[derive(Default)]
pub struct ExtraFunctions {
    pub span: Option<fn(&mut Functions<SpanContext>)>,
    pub log: Option<fn(&mut Functions<LogContext>)>,
    pub metric: Option<fn(&mut Functions<MetricContext>)>,
    pub datapoint: Option<fn(&mut Functions<DataPointContext>)>,
}

/// Statements compiled for one context.
pub struct Group<C: Context> {
    conditions: ConditionSequence<C>,
    statements: Vec<Statement<C>>,
    error_mode: ErrorMode,
}

impl<C: Context> Group<C> {
    fn new(
        cfg: &GroupConfig,
        mode: ErrorMode,
        functions: Functions<C>,
    ) -> Result<Group<C>, String> {
        let parser = Parser::<C>::new(functions);
        let conditions = parser
            .parse_conditions(&cfg.conditions)
            .map_err(|e| e.to_string())?;
        let statements = parser
            .parse_statements(&cfg.statements)
            .map_err(|e| e.to_string())?;
        let error_mode = cfg.error_mode.unwrap_or(mode);
        Ok(Group {
            conditions: ConditionSequence::new(conditions, error_mode),
            statements,
            error_mode,
        })
    }

    /// Runs the group on one item. An error is returned only in `propagate` mode.
    pub fn run(&self, d: &mut C::Data<'_>) -> Result<(), String> {
        if !self.conditions.is_empty() && !self.conditions.eval(d)? {
            return Ok(());
        }
        for st in &self.statements {
            if let Err(e) = st.execute(d) {
                match self.error_mode {
                    ErrorMode::Propagate => {
                        return Err(format!("failed to execute statement: {}, {e}", st.text()));
                    }
                    ErrorMode::Ignore => {
                        tracing::warn!(statement = st.text(), error = %e, "failed to execute statement");
                    }
                    ErrorMode::Silent => {}
                }
            }
        }
        Ok(())
    }
}

pub enum TraceGroup {
    Resource(Group<ResourceContext>),
    Scope(Group<ScopeContext>),
    Span(Group<SpanContext>),
    SpanEvent(Group<SpanEventContext>),
}

pub enum MetricGroup {
    Resource(Group<ResourceContext>),
    Scope(Group<ScopeContext>),
    Metric(Group<MetricContext>),
    DataPoint(Group<DataPointContext>),
}

pub enum LogGroup {
    Resource(Group<ResourceContext>),
    Scope(Group<ScopeContext>),
    Log(Group<LogContext>),
}

/// A transform processor's compiled statements.
pub struct Transform {
    traces: Vec<TraceGroup>,
    metrics: Vec<MetricGroup>,
    logs: Vec<LogGroup>,
    flatten_data: bool,
}

pub(crate) fn group_context(
    cfg: &GroupConfig,
    allowed: &[&'static str],
    has_functions: &dyn Fn(&str, &[String]) -> bool,
) -> Result<&'static str, String> {
    match cfg
        .context
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => {
            let statements: Vec<&str> = cfg.statements.iter().map(String::as_str).collect();
            let conditions: Vec<&str> = cfg.conditions.iter().map(String::as_str).collect();
            let priority: Vec<&str> = DEFAULT_PRIORITY
                .iter()
                .copied()
                .filter(|c| {
                    allowed.contains(c)
                        || (*c == "instrumentation_scope" && allowed.contains(&"scope"))
                })
                .collect();
            let inferred = infer_context(&statements, &conditions, &priority);
            if inferred.is_err() {
                // No path names a context: as Go, the first context (most specific first)
                // whose functions cover every call of the group.
                let (calls, bare) = crate::infer::calls_and_bare_paths(&statements, &conditions)?;
                if !bare
                    && let Some(c) = allowed_in_priority(allowed).find(|c| has_functions(c, &calls))
                {
                    return Ok(c);
                }
            }
            inferred
        }
        Some(c) => {
            let c = if c == "instrumentation_scope" {
                "scope"
            } else {
                c
            };
            allowed
                .iter()
                .copied()
                .find(|a| *a == c)
                .ok_or_else(|| format!("unknown context {c}"))
        }
    }
}

fn allowed_in_priority(allowed: &[&'static str]) -> impl Iterator<Item = &'static str> {
    DEFAULT_PRIORITY
        .iter()
        .copied()
        .filter(move |c| allowed.contains(c))
}

fn covers<C: Context>(f: &Functions<C>, calls: &[String]) -> bool {
    calls.iter().all(|c| f.get(c).is_some())
}

impl Transform {
    /// The transform processor's statements, with its metric functions.
    pub fn new(cfg: &Config) -> Result<Transform, String> {
        Transform::with_functions(
            cfg,
            &ExtraFunctions {
                span: Some(crate::functions::spans::register_span),
                log: Some(crate::functions::logparsing::register_log),
                metric: Some(crate::functions::metrics::register_metric),
                datapoint: Some(crate::functions::histograms::register_datapoint),
            },
        )
    }

    pub fn with_functions(cfg: &Config, extra: &ExtraFunctions) -> Result<Transform, String> {
        let mode = cfg.error_mode;
        let span_fns = || {
            let mut f = crate::functions::standard::<SpanContext>();
            if let Some(add) = extra.span {
                add(&mut f);
            }
            f
        };
        let log_fns = || {
            let mut f = crate::functions::standard::<LogContext>();
            if let Some(add) = extra.log {
                add(&mut f);
            }
            f
        };
        let metric_fns = || {
            let mut f = crate::functions::standard::<MetricContext>();
            if let Some(add) = extra.metric {
                add(&mut f);
            }
            f
        };
        let datapoint_fns = || {
            let mut f = crate::functions::standard::<DataPointContext>();
            if let Some(add) = extra.datapoint {
                add(&mut f);
            }
            f
        };
        let std_covers = |_: &str, calls: &[String]| {
            covers(&crate::functions::standard::<ResourceContext>(), calls)
        };
        let metric_covers = |c: &str, calls: &[String]| match c {
            "metric" => covers(&metric_fns(), calls),
            "datapoint" => covers(&datapoint_fns(), calls),
            _ => std_covers(c, calls),
        };
        let trace_covers = |c: &str, calls: &[String]| match c {
            "span" => covers(&span_fns(), calls),
            _ => std_covers(c, calls),
        };
        let mut traces = Vec::new();
        for g in &cfg.trace_statements {
            traces.push(
                match group_context(
                    g,
                    &["resource", "scope", "span", "spanevent"],
                    &trace_covers,
                )? {
                    "resource" => {
                        TraceGroup::Resource(Group::new(g, mode, crate::functions::standard())?)
                    }
                    "scope" => {
                        TraceGroup::Scope(Group::new(g, mode, crate::functions::standard())?)
                    }
                    "span" => TraceGroup::Span(Group::new(g, mode, span_fns())?),
                    _ => TraceGroup::SpanEvent(Group::new(g, mode, crate::functions::standard())?),
                },
            );
        }
        let mut metrics = Vec::new();
        for g in &cfg.metric_statements {
            metrics.push(
                match group_context(
                    g,
                    &["resource", "scope", "metric", "datapoint"],
                    &metric_covers,
                )? {
                    "resource" => {
                        MetricGroup::Resource(Group::new(g, mode, crate::functions::standard())?)
                    }
                    "scope" => {
                        MetricGroup::Scope(Group::new(g, mode, crate::functions::standard())?)
                    }
                    "metric" => MetricGroup::Metric(Group::new(g, mode, metric_fns())?),
                    _ => MetricGroup::DataPoint(Group::new(g, mode, datapoint_fns())?),
                },
            );
        }
        let log_covers = |c: &str, calls: &[String]| match c {
            "log" => covers(&log_fns(), calls),
            _ => std_covers(c, calls),
        };
        let mut logs = Vec::new();
        for g in &cfg.log_statements {
            logs.push(
                match group_context(g, &["resource", "scope", "log"], &log_covers)? {
                    "resource" => {
                        LogGroup::Resource(Group::new(g, mode, crate::functions::standard())?)
                    }
                    "scope" => LogGroup::Scope(Group::new(g, mode, crate::functions::standard())?),
                    _ => LogGroup::Log(Group::new(g, mode, log_fns())?),
                },
            );
        }
        Ok(Transform {
            traces,
            metrics,
            logs,
            flatten_data: cfg.flatten_data,
        })
    }

    pub fn has_traces(&self) -> bool {
        !self.traces.is_empty()
    }

    pub fn has_metrics(&self) -> bool {
        !self.metrics.is_empty()
    }

    pub fn has_logs(&self) -> bool {
        !self.logs.is_empty()
    }

    pub fn process_traces(&self, req: &mut ExportTraceServiceRequest) -> Result<(), String> {
        for g in &self.traces {
            for rs in &mut req.resource_spans {
                let scopes = &mut rs.scope_spans;
                let res_url = &mut rs.schema_url;
                with_default(&mut rs.resource, |res| -> Result<(), String> {
                    if let TraceGroup::Resource(g) = g {
                        return g.run(
                            &mut ResourceData::new(res).with_schema_urls(urls(res_url, None)),
                        );
                    }
                    for ss in scopes.iter_mut() {
                        let spans = &mut ss.spans;
                        let sc_url = &mut ss.schema_url;
                        with_default(&mut ss.scope, |sc| -> Result<(), String> {
                            match g {
                                TraceGroup::Scope(g) => g.run(
                                    &mut ScopeData::new(sc, res)
                                        .with_schema_urls(urls(res_url, Some(sc_url))),
                                ),
                                TraceGroup::Span(g) => {
                                    for span in spans.iter_mut() {
                                        g.run(
                                            &mut SpanData::new(span, sc, res)
                                                .with_schema_urls(urls(res_url, Some(sc_url))),
                                        )?;
                                    }
                                    Ok(())
                                }
                                TraceGroup::SpanEvent(g) => {
                                    for span in spans.iter_mut() {
                                        for i in 0..span.events.len() {
                                            g.run(
                                                &mut SpanEventData::new(span, i, sc, res)
                                                    .with_schema_urls(urls(res_url, Some(sc_url))),
                                            )?;
                                        }
                                    }
                                    Ok(())
                                }
                                TraceGroup::Resource(_) => Ok(()),
                            }
                        })?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    pub fn process_metrics(&self, req: &mut ExportMetricsServiceRequest) -> Result<(), String> {
        for g in &self.metrics {
            for rm in &mut req.resource_metrics {
                let scopes = &mut rm.scope_metrics;
                let res_url = &mut rm.schema_url;
                with_default(&mut rm.resource, |res| -> Result<(), String> {
                    if let MetricGroup::Resource(g) = g {
                        return g.run(
                            &mut ResourceData::new(res).with_schema_urls(urls(res_url, None)),
                        );
                    }
                    for sm in scopes.iter_mut() {
                        let metrics = &mut sm.metrics;
                        let sc_url = &mut sm.schema_url;
                        with_default(&mut sm.scope, |sc| -> Result<(), String> {
                            match g {
                                MetricGroup::Scope(g) => g.run(
                                    &mut ScopeData::new(sc, res)
                                        .with_schema_urls(urls(res_url, Some(sc_url))),
                                ),
                                MetricGroup::Metric(g) => {
                                    // Metrics a statement adds (copy_metric, extract_*) are
                                    // appended at once and visited by the group too, as Go
                                    // iterates the growing slice; bounded, where Go would
                                    // loop forever on an unguarded copy_metric().
                                    let limit = metrics.len().saturating_mul(16).max(1024);
                                    let mut i = 0;
                                    while i < metrics.len() {
                                        let mut d = MetricData::new(&mut metrics[i], sc, res)
                                            .with_schema_urls(urls(res_url, Some(sc_url)));
                                        let r = g.run(&mut d);
                                        let added = std::mem::take(&mut d.new_metrics);
                                        if metrics.len() < limit {
                                            metrics.extend(added);
                                        }
                                        r?;
                                        i += 1;
                                    }
                                    Ok(())
                                }
                                MetricGroup::DataPoint(g) => {
                                    for m in metrics.iter_mut() {
                                        for i in 0..pdata::tree::data_point_count(m) {
                                            g.run(
                                                &mut DataPointData::new(m, i, sc, res)
                                                    .with_schema_urls(urls(res_url, Some(sc_url))),
                                            )?;
                                        }
                                    }
                                    Ok(())
                                }
                                MetricGroup::Resource(_) => Ok(()),
                            }
                        })?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    pub fn process_logs(&self, req: &mut ExportLogsServiceRequest) -> Result<(), String> {
        if self.flatten_data {
            flatten_logs(req);
        }
        let r = self.run_logs(req);
        if self.flatten_data {
            regroup_logs(req);
        }
        r
    }

    fn run_logs(&self, req: &mut ExportLogsServiceRequest) -> Result<(), String> {
        for g in &self.logs {
            for rl in &mut req.resource_logs {
                let scopes = &mut rl.scope_logs;
                let res_url = &mut rl.schema_url;
                with_default(&mut rl.resource, |res| -> Result<(), String> {
                    if let LogGroup::Resource(g) = g {
                        return g.run(
                            &mut ResourceData::new(res).with_schema_urls(urls(res_url, None)),
                        );
                    }
                    for sl in scopes.iter_mut() {
                        let records = &mut sl.log_records;
                        let sc_url = &mut sl.schema_url;
                        with_default(&mut sl.scope, |sc| -> Result<(), String> {
                            match g {
                                LogGroup::Scope(g) => g.run(
                                    &mut ScopeData::new(sc, res)
                                        .with_schema_urls(urls(res_url, Some(sc_url))),
                                ),
                                LogGroup::Log(g) => {
                                    for rec in records.iter_mut() {
                                        g.run(
                                            &mut LogData::new(rec, sc, res)
                                                .with_schema_urls(urls(res_url, Some(sc_url))),
                                        )?;
                                    }
                                    Ok(())
                                }
                                LogGroup::Resource(_) => Ok(()),
                            }
                        })?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }
}

/// Runs `f` on the message in `opt`, or on a default one that is kept only if `f` changed
/// it: an absent resource or scope stays absent in the output unless a statement set it.
/// Reborrows the schema URLs of the messages around an item for one evaluation.
fn urls<'a>(res: &'a mut String, scope: Option<&'a mut String>) -> SchemaUrls<'a> {
    SchemaUrls::new(res, scope)
}

fn with_default<T: Default + PartialEq, R>(opt: &mut Option<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let was_some = opt.is_some();
    let mut v = opt.take().unwrap_or_default();
    let r = f(&mut v);
    if was_some || v != T::default() {
        *opt = Some(v);
    }
    r
}

/// `flatten_data`: every log record gets its own copy of its resource and scope, so a
/// statement that writes `resource.attributes` from a record's fields affects that record
/// only.
fn flatten_logs(req: &mut ExportLogsServiceRequest) {
    let mut out = Vec::new();
    for rl in req.resource_logs.drain(..) {
        for sl in rl.scope_logs {
            for rec in sl.log_records {
                out.push(ResourceLogs {
                    resource: rl.resource.clone(),
                    scope_logs: vec![ScopeLogs {
                        scope: sl.scope.clone(),
                        log_records: vec![rec],
                        schema_url: sl.schema_url.clone(),
                    }],
                    schema_url: rl.schema_url.clone(),
                });
            }
        }
    }
    req.resource_logs = out;
}

/// Groups records again under equal resources and scopes (first appearance order).
fn regroup_logs(req: &mut ExportLogsServiceRequest) {
    let mut out: Vec<ResourceLogs> = Vec::new();
    for rl in req.resource_logs.drain(..) {
        let idx = match out
            .iter()
            .position(|o| o.resource == rl.resource && o.schema_url == rl.schema_url)
        {
            Some(i) => i,
            None => {
                out.push(ResourceLogs {
                    resource: rl.resource.clone(),
                    scope_logs: Vec::new(),
                    schema_url: rl.schema_url.clone(),
                });
                out.len() - 1
            }
        };
        let target = &mut out[idx].scope_logs;
        for sl in rl.scope_logs {
            match target
                .iter_mut()
                .find(|t| t.scope == sl.scope && t.schema_url == sl.schema_url)
            {
                Some(t) => t.log_records.extend(sl.log_records),
                None => target.push(sl),
            }
        }
    }
    req.resource_logs = out;
}
