//! The span metrics state: spans are counted into series (one per resource and dimension
//! combination) and turned into OTLP metrics at each flush, as Go's `connectorImp`
//! (`aggregateMetrics`, `buildMetrics`, `resetState`) does.
//!
//! Memory is bounded whatever the input's cardinality: at most `resource_metrics_cache_size`
//! resources (the least recently used is evicted, exported one last time, and counted), and
//! per resource and metric at most `aggregation_cardinality_limit` series; spans beyond it
//! are counted in one overflow series whose only attribute is `otel.metric.overflow=true`
//! (Go's behaviour since v0.125). Without a configured limit, Go grows without bound; here a
//! total of [`SAFETY_MAX_SERIES`] series across all resources applies instead, with the
//! same overflow series.
//!
//! Every function takes the current time as an argument, so tests decide the clock.

use std::borrow::Cow;
use std::collections::HashMap;

use indexmap::IndexMap;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exemplar, metric, number_data_point,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, Span};
use pdata::scan::{WireReader, wire};
use prost::Message;

use super::config::{
    COLLECTOR_INSTANCE_ID, Config, DEFAULT_NAMESPACE, Dimension, SERVICE_NAME, SPAN_KIND,
    SPAN_NAME, STATUS_CODE,
};
use crate::attraction::value::{as_string, get};
use crate::connectors::expo::ExpoHistogram;

/// Total series across all resources when `aggregation_cardinality_limit` is 0.
pub const SAFETY_MAX_SERIES: usize = 100_000;
pub const OVERFLOW_KEY: &str = "otel.metric.overflow";
const SCOPE_NAME: &str = "spanmetricsconnector";
const SCOPE_NAME_KEY: &str = "span.instrumentation.scope.name";
const SCOPE_VERSION_KEY: &str = "span.instrumentation.scope.version";
const SEP: char = '\0';
/// Marks a dimension that is absent (Go writes nothing, so `a=x,b=∅` and `a=∅,b=x` collide).
const ABSENT: char = '\u{1}';

/// The span kind as Go's `traceutil.SpanKindStr`.
pub fn span_kind_str(kind: i32) -> &'static str {
    match kind {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "",
    }
}

/// The status code as Go's `traceutil.StatusCodeStr`.
pub fn status_code_str(code: i32) -> &'static str {
    match code {
        0 => "STATUS_CODE_UNSET",
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "",
    }
}

fn str_value(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value,
        ..KeyValue::default()
    }
}

#[derive(Debug, Clone)]
enum HistState {
    Explicit { counts: Vec<u64>, sum: f64 },
    Exponential(Box<ExpoHistogram>),
}

#[derive(Debug, Clone)]
struct Series<T> {
    attributes: Vec<KeyValue>,
    start: u64,
    last_seen: u64,
    exemplars: Vec<Exemplar>,
    count: u64,
    data: T,
}

/// One metric's series of one resource, with its overflow series.
#[derive(Debug)]
struct SeriesMap<T> {
    map: IndexMap<String, Series<T>>,
    overflow: Option<Series<T>>,
}

impl<T> Default for SeriesMap<T> {
    fn default() -> Self {
        SeriesMap {
            map: IndexMap::new(),
            overflow: None,
        }
    }
}

#[derive(Debug)]
struct ResourceState {
    attributes: Vec<KeyValue>,
    last_seen: u64,
    last_used: u64,
    calls: SeriesMap<()>,
    durations: SeriesMap<HistState>,
    events: SeriesMap<()>,
}

impl ResourceState {
    fn series_count(&self) -> usize {
        self.calls.map.len() + self.durations.map.len() + self.events.map.len()
    }
}

/// What a consume did beyond counting, for the self-metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Spans (or events) counted into an overflow series.
    pub overflowed: u64,
    /// Resources evicted from the cache.
    pub evicted_resources: u64,
}

/// Which of the default dimensions are kept (`exclude_dimensions`).
#[derive(Debug, Clone, Copy)]
struct Defaults {
    service_name: bool,
    span_name: bool,
    span_kind: bool,
    status_code: bool,
}

/// Where a span's attributes are read from: decoded, or the encoded `KeyValue` messages
/// of a request that was never decoded (see [`Aggregator::consume_encoded`]).
#[derive(Clone, Copy)]
pub(crate) enum Attrs<'a> {
    Decoded(&'a [KeyValue]),
    Encoded(&'a [&'a [u8]]),
}

impl<'a> Attrs<'a> {
    /// The value of `key` (first occurrence; a missing wire value is the empty value), as
    /// [`get`] of the decoded form.
    fn get(&self, key: &str) -> Option<Cow<'a, AnyValue>> {
        match self {
            Attrs::Decoded(a) => get(a, key).map(Cow::Borrowed),
            Attrs::Encoded(list) => list.iter().find_map(|kv| {
                if encoded_key(kv)? != key {
                    return None;
                }
                // Only the matching attribute is decoded.
                let decoded = KeyValue::decode(*kv).ok()?;
                Some(Cow::Owned(decoded.value.unwrap_or_default()))
            }),
        }
    }
}

/// The key of an encoded `KeyValue` (the last occurrence of field 1, as prost reads it).
fn encoded_key(kv: &[u8]) -> Option<&str> {
    let mut r = WireReader::new(kv);
    let mut key = None;
    while !r.is_empty() {
        let f = r.field().ok()?;
        if f.tag == 1 && f.wire_type == wire::LEN {
            key = Some(std::str::from_utf8(f.data).ok()?);
        }
    }
    Some(key.unwrap_or(""))
}

/// What the aggregation reads of a span.
pub(crate) struct SpanView<'a> {
    name: &'a str,
    kind: i32,
    code: i32,
    start: u64,
    end: u64,
    trace_id: &'a [u8],
    span_id: &'a [u8],
    attrs: Attrs<'a>,
    events: &'a [pdata::proto::trace::v1::span::Event],
}

impl<'a> SpanView<'a> {
    fn decoded(span: &'a Span) -> SpanView<'a> {
        SpanView {
            name: &span.name,
            kind: span.kind,
            code: span.status.as_ref().map_or(0, |s| s.code),
            start: span.start_time_unix_nano,
            end: span.end_time_unix_nano,
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            attrs: Attrs::Decoded(&span.attributes),
            events: &span.events,
        }
    }
}

pub struct Aggregator {
    defaults: Defaults,
    instance_id: Option<String>,
    calls_dims: Vec<Dimension>,
    hist_dims: Vec<Dimension>,
    event_dims: Vec<Dimension>,
    include_scopes: Vec<String>,
    key_attrs: Vec<String>,
    namespace: String,
    unit: super::config::Unit,
    histogram: Option<HistKind>,
    events_enabled: bool,
    exemplars: bool,
    max_exemplars: Option<usize>,
    delta: bool,
    limit: usize,
    max_resources: usize,
    metrics_expiration: u64,
    series_expiration: u64,
    copy_resource_attributes: bool,
    delta_cache_size: usize,

    resources: IndexMap<Vec<u8>, ResourceState>,
    /// Evicted resources, exported once more at the next flush (Go's cache keeps them until
    /// `RemoveEvictedItems`).
    evicted: Vec<ResourceState>,
    total_series: usize,
    tick: u64,
    last_delta: HashMap<String, u64>,
    key: String,
}

#[derive(Debug, Clone)]
enum HistKind {
    Explicit(Vec<f64>),
    Exponential(usize),
}

/// The switches that come from feature gates rather than the config.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    /// `connector.spanmetrics.legacyMetricNames`: no prefix with the default namespace.
    pub legacy_metric_names: bool,
    /// `connector.spanmetrics.includeCollectorInstanceID` (beta, on): the id to add.
    pub collector_instance_id: Option<String>,
    /// `connector.spanmetrics.excludeResourceMetrics` (alpha, off).
    pub exclude_resource_metrics: bool,
}

impl Aggregator {
    pub fn new(cfg: &Config, gates: &Gates) -> Aggregator {
        let excluded = |name: &str| cfg.exclude_dimensions.iter().any(|e| e == name);
        let histogram = if cfg.histogram.disable {
            None
        } else if let Some(n) = cfg.exponential_max_size() {
            Some(HistKind::Exponential(n))
        } else {
            Some(HistKind::Explicit(cfg.explicit_bounds()))
        };
        let mut namespace = cfg.namespace.clone();
        if gates.legacy_metric_names && namespace == DEFAULT_NAMESPACE {
            namespace.clear();
        }
        let mut event_dims = cfg.dimensions.clone();
        event_dims.extend(cfg.events.dimensions.iter().cloned());
        let mut calls_dims = cfg.dimensions.clone();
        calls_dims.extend(cfg.calls_dimensions.iter().cloned());
        let mut hist_dims = cfg.dimensions.clone();
        hist_dims.extend(cfg.histogram.dimensions.iter().cloned());
        Aggregator {
            defaults: Defaults {
                service_name: !excluded(SERVICE_NAME),
                span_name: !excluded(SPAN_NAME),
                span_kind: !excluded(SPAN_KIND),
                status_code: !excluded(STATUS_CODE),
            },
            instance_id: gates
                .collector_instance_id
                .clone()
                .filter(|_| !excluded(COLLECTOR_INSTANCE_ID)),
            calls_dims,
            hist_dims,
            event_dims,
            include_scopes: cfg.include_instrumentation_scope.clone(),
            key_attrs: cfg.resource_metrics_key_attributes.clone(),
            namespace,
            unit: cfg.histogram.unit,
            histogram,
            events_enabled: cfg.events.enabled,
            exemplars: cfg.exemplars.enabled,
            max_exemplars: cfg.max_exemplars(),
            delta: cfg.is_delta(),
            limit: usize::try_from(cfg.aggregation_cardinality_limit).unwrap_or(0),
            max_resources: usize::try_from(cfg.resource_metrics_cache_size)
                .unwrap_or(1)
                .max(1),
            metrics_expiration: cfg.metrics_expiration.0.as_nanos() as u64,
            series_expiration: cfg.series_expiration.0.as_nanos() as u64,
            copy_resource_attributes: !gates.exclude_resource_metrics
                || cfg.add_resource_attributes,
            delta_cache_size: usize::try_from(cfg.delta_timestamp_cache_size())
                .unwrap_or(1)
                .max(1),
            resources: IndexMap::new(),
            evicted: Vec::new(),
            total_series: 0,
            tick: 0,
            last_delta: HashMap::new(),
            key: String::with_capacity(256),
        }
    }

    fn metric_name(&self, base: &str) -> String {
        if self.namespace.is_empty() {
            base.to_string()
        } else {
            format!("{}.{base}", self.namespace)
        }
    }

    /// The resource's cache key: its attributes (or the `resource_metrics_key_attributes`
    /// among them), order-independent.
    fn resource_key(&self, attrs: &[KeyValue]) -> Vec<u8> {
        let mut pairs: Vec<(&str, String)> = attrs
            .iter()
            .filter(|a| self.key_attrs.is_empty() || self.key_attrs.contains(&a.key))
            .map(|a| (a.key.as_str(), value_key(a.value.as_ref())))
            .collect();
        pairs.sort();
        let mut out = Vec::new();
        for (k, v) in pairs {
            out.extend_from_slice(k.as_bytes());
            out.push(0);
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        out
    }

    /// Finds or makes the state of a resource (evicting the least recently used one when
    /// the cache is full); `None` for a resource without `service.name`, whose spans Go
    /// ignores. Returns the resource key and the service name.
    fn enter_resource(
        &mut self,
        res_attrs: &[KeyValue],
        now: u64,
        outcome: &mut Outcome,
    ) -> Option<(Vec<u8>, String)> {
        let service = get(res_attrs, SERVICE_NAME)?;
        let service_name = match &service.value {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            _ => String::new(),
        };
        let rkey = self.resource_key(res_attrs);
        self.tick += 1;
        if !self.resources.contains_key(&rkey) {
            if self.resources.len() >= self.max_resources {
                self.evict_lru();
                outcome.evicted_resources += 1;
            }
            self.resources.insert(
                rkey.clone(),
                ResourceState {
                    attributes: res_attrs.to_vec(),
                    last_seen: now,
                    last_used: self.tick,
                    calls: SeriesMap::default(),
                    durations: SeriesMap::default(),
                    events: SeriesMap::default(),
                },
            );
        }
        Some((rkey, service_name))
    }

    fn leave_resource(&mut self, rkey: &[u8], now: u64) {
        let tick = self.tick;
        if let Some(r) = self.resources.get_mut(rkey) {
            r.last_seen = now;
            r.last_used = tick;
        }
    }

    /// Counts the spans of one request. `now` is Unix nanoseconds.
    pub fn consume(&mut self, resource_spans: &[ResourceSpans], now: u64) -> Outcome {
        let mut outcome = Outcome::default();
        for rs in resource_spans {
            let res_attrs: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
            let Some((rkey, service_name)) = self.enter_resource(res_attrs, now, &mut outcome)
            else {
                continue;
            };
            for ss in &rs.scope_spans {
                let scope = ss
                    .scope
                    .as_ref()
                    .filter(|s| self.include_scopes.contains(&s.name));
                for span in &ss.spans {
                    let view = SpanView::decoded(span);
                    self.count_span(
                        &rkey,
                        &service_name,
                        res_attrs,
                        scope,
                        &view,
                        now,
                        &mut outcome,
                    );
                }
            }
            self.leave_resource(&rkey, now);
        }
        outcome
    }

    /// True when [`Aggregator::consume_encoded`] can count a request without decoding it
    /// (span events need the decoded form).
    pub fn reads_encoded(&self) -> bool {
        !self.events_enabled
    }

    /// Counts the spans of an encoded `ExportTraceServiceRequest` without decoding it:
    /// resources (and scopes, when `include_instrumentation_scope` needs them) are decoded,
    /// spans are read field by field, and only the attributes a dimension asks for are
    /// decoded. Counts exactly what [`Aggregator::consume`] counts for the decoded request
    /// (a test checks both on the same data). Span events are not read: use `consume` when
    /// `events` is enabled ([`Aggregator::reads_encoded`]).
    pub fn consume_encoded(&mut self, bytes: &[u8], now: u64) -> Result<Outcome, String> {
        let mut outcome = Outcome::default();
        let mut attrs: Vec<&[u8]> = Vec::new();
        let mut req = WireReader::new(bytes);
        while !req.is_empty() {
            let f = req.field().map_err(|e| e.to_string())?;
            if f.tag != 1 || f.wire_type != wire::LEN {
                continue;
            }
            // ResourceSpans: its resource may follow its scopes on the wire.
            let mut resource = Resource::default();
            let mut scopes: Vec<&[u8]> = Vec::new();
            let mut r = WireReader::new(f.data);
            while !r.is_empty() {
                let f = r.field().map_err(|e| e.to_string())?;
                match (f.tag, f.wire_type) {
                    (1, wire::LEN) => resource.merge(f.data).map_err(|e| e.to_string())?,
                    (2, wire::LEN) => scopes.push(f.data),
                    _ => {}
                }
            }
            let Some((rkey, service_name)) =
                self.enter_resource(&resource.attributes, now, &mut outcome)
            else {
                continue;
            };
            for scope_bytes in scopes {
                let mut scope: Option<InstrumentationScope> = None;
                let mut spans: Vec<&[u8]> = Vec::new();
                let mut r = WireReader::new(scope_bytes);
                while !r.is_empty() {
                    let f = r.field().map_err(|e| e.to_string())?;
                    match (f.tag, f.wire_type) {
                        (1, wire::LEN) if !self.include_scopes.is_empty() => scope
                            .get_or_insert_with(InstrumentationScope::default)
                            .merge(f.data)
                            .map_err(|e| e.to_string())?,
                        (2, wire::LEN) => spans.push(f.data),
                        _ => {}
                    }
                }
                let scope = scope
                    .as_ref()
                    .filter(|s| self.include_scopes.contains(&s.name));
                for span_bytes in spans {
                    attrs.clear();
                    let view = read_span(span_bytes, &mut attrs)?;
                    // The attribute slices borrow `span_bytes`; the view borrows `attrs`.
                    let view = SpanView {
                        attrs: Attrs::Encoded(&attrs),
                        ..view
                    };
                    self.count_span(
                        &rkey,
                        &service_name,
                        &resource.attributes,
                        scope,
                        &view,
                        now,
                        &mut outcome,
                    );
                }
            }
            self.leave_resource(&rkey, now);
        }
        Ok(outcome)
    }

    fn evict_lru(&mut self) {
        let Some((i, _)) = self
            .resources
            .values()
            .enumerate()
            .min_by_key(|(_, r)| r.last_used)
        else {
            return;
        };
        if let Some((_, r)) = self.resources.swap_remove_index(i) {
            self.total_series -= r.series_count();
            self.evicted.push(r);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn count_span(
        &mut self,
        rkey: &[u8],
        service_name: &str,
        res_attrs: &[KeyValue],
        scope: Option<&InstrumentationScope>,
        span: &SpanView<'_>,
        now: u64,
        outcome: &mut Outcome,
    ) {
        let duration = if span.end > span.start {
            (span.end - span.start) as f64 / self.unit.nanos()
        } else {
            0.0
        };
        let exemplar =
            (self.exemplars && span.trace_id.iter().any(|b| *b != 0)).then(|| Exemplar {
                trace_id: span.trace_id.to_vec(),
                span_id: span.span_id.to_vec(),
                value: Some(exemplar::Value::AsDouble(duration)),
                ..Exemplar::default()
            });
        let limit = self.limit;
        let max_ex = self.max_exemplars;

        // calls
        let mut key = std::mem::take(&mut self.key);
        build_key(
            &mut key,
            self.defaults,
            &self.instance_id,
            service_name,
            span,
            &self.calls_dims,
            &span.attrs,
            res_attrs,
            scope,
        );
        let calls_dims = &self.calls_dims;
        let defaults = self.defaults;
        let instance_id = &self.instance_id;
        let total = &mut self.total_series;
        let Some(res) = self.resources.get_mut(rkey) else {
            self.key = key;
            return;
        };
        let s = get_or_create(
            &mut res.calls,
            &key,
            limit,
            total,
            now,
            outcome,
            || {
                build_attributes(
                    defaults,
                    instance_id,
                    service_name,
                    span,
                    calls_dims,
                    &span.attrs,
                    res_attrs,
                    scope,
                )
            },
            || (),
        );
        s.count += 1;
        s.last_seen = now;
        add_exemplar(&mut s.exemplars, exemplar.as_ref(), max_ex);

        // duration
        if let Some(kind) = &self.histogram {
            if self.hist_dims != self.calls_dims {
                build_key(
                    &mut key,
                    defaults,
                    instance_id,
                    service_name,
                    span,
                    &self.hist_dims,
                    &span.attrs,
                    res_attrs,
                    scope,
                );
            }
            let hist_dims = &self.hist_dims;
            let h = get_or_create(
                &mut res.durations,
                &key,
                limit,
                total,
                now,
                outcome,
                || {
                    build_attributes(
                        defaults,
                        instance_id,
                        service_name,
                        span,
                        hist_dims,
                        &span.attrs,
                        res_attrs,
                        scope,
                    )
                },
                || match kind {
                    HistKind::Explicit(b) => HistState::Explicit {
                        counts: vec![0; b.len() + 1],
                        sum: 0.0,
                    },
                    HistKind::Exponential(n) => {
                        HistState::Exponential(Box::new(ExpoHistogram::new(*n)))
                    }
                },
            );
            h.count += 1;
            h.last_seen = now;
            match (&mut h.data, kind) {
                (HistState::Explicit { counts, sum }, HistKind::Explicit(bounds)) => {
                    // The first bound >= value (upper-inclusive), as sort.SearchFloat64s.
                    let i = bounds.partition_point(|b| *b < duration);
                    counts[i] += 1;
                    *sum += duration;
                }
                (HistState::Exponential(e), _) => e.observe(duration),
                _ => {}
            }
            add_exemplar(&mut h.exemplars, exemplar.as_ref(), max_ex);
        }

        // events
        if self.events_enabled && !span.events.is_empty() {
            let event_dims = &self.event_dims;
            for event in span.events {
                // Resource attributes, then the event's on top (the event wins).
                let mut merged: Vec<KeyValue> = res_attrs.to_vec();
                for a in &event.attributes {
                    match merged.iter_mut().find(|m| m.key == a.key) {
                        Some(m) => m.value = a.value.clone(),
                        None => merged.push(a.clone()),
                    }
                }
                build_key(
                    &mut key,
                    defaults,
                    instance_id,
                    service_name,
                    span,
                    event_dims,
                    &span.attrs,
                    &merged,
                    scope,
                );
                let e = get_or_create(
                    &mut res.events,
                    &key,
                    limit,
                    total,
                    now,
                    outcome,
                    || {
                        build_attributes(
                            defaults,
                            instance_id,
                            service_name,
                            span,
                            event_dims,
                            &span.attrs,
                            &merged,
                            scope,
                        )
                    },
                    || (),
                );
                e.count += 1;
                e.last_seen = now;
                add_exemplar(&mut e.exemplars, exemplar.as_ref(), max_ex);
            }
        }
        self.key = key;
    }

    /// True when nothing is held (nothing to export).
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.evicted.is_empty()
    }

    /// Builds the metrics of every resource at `now` and resets what the temporality says
    /// (Go's `exportMetrics`: `buildMetrics` then `resetState`).
    pub fn flush(&mut self, now: u64) -> ExportMetricsServiceRequest {
        let temporality = if self.delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let mut out = ExportMetricsServiceRequest::default();
        let mut delta_keys: Vec<String> = Vec::new();
        let evicted = std::mem::take(&mut self.evicted);
        for (rkey, res) in self
            .resources
            .iter()
            .map(|(k, r)| (k.as_slice(), r))
            .chain(evicted.iter().map(|r| (&[][..], r)))
        {
            let mut metrics = Vec::with_capacity(3);
            let mut start_of = |kind: u8, key: &str, start: u64| -> u64 {
                if !self.delta {
                    return start;
                }
                let mut k = String::with_capacity(rkey.len() + key.len() + 2);
                k.push(kind as char);
                k.push_str(&String::from_utf8_lossy(rkey));
                k.push(SEP);
                k.push_str(key);
                let s = self.last_delta.get(&k).copied().unwrap_or(start);
                delta_keys.push(k);
                s
            };
            let calls = sum_points(&res.calls, now, &mut |k, s| start_of(b'c', k, s));
            metrics.push(Metric {
                name: self.metric_name("calls"),
                data: Some(metric::Data::Sum(Sum {
                    data_points: calls,
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                })),
                ..Metric::default()
            });
            if let Some(kind) = &self.histogram {
                let data = match kind {
                    HistKind::Explicit(bounds) => metric::Data::Histogram(Histogram {
                        data_points: explicit_points(&res.durations, bounds, now, &mut |k, s| {
                            start_of(b'd', k, s)
                        }),
                        aggregation_temporality: temporality,
                    }),
                    HistKind::Exponential(_) => {
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: expo_points(&res.durations, now, &mut |k, s| {
                                start_of(b'd', k, s)
                            }),
                            aggregation_temporality: temporality,
                        })
                    }
                };
                metrics.push(Metric {
                    name: self.metric_name("duration"),
                    unit: self.unit.as_str().to_string(),
                    data: Some(data),
                    ..Metric::default()
                });
            }
            if self.events_enabled {
                let events = sum_points(&res.events, now, &mut |k, s| start_of(b'e', k, s));
                metrics.push(Metric {
                    name: self.metric_name("events"),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: events,
                        aggregation_temporality: temporality,
                        is_monotonic: true,
                    })),
                    ..Metric::default()
                });
            }
            out.resource_metrics.push(ResourceMetrics {
                resource: Some(Resource {
                    attributes: if self.copy_resource_attributes {
                        res.attributes.clone()
                    } else {
                        Vec::new()
                    },
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: SCOPE_NAME.to_string(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            });
        }
        if self.delta {
            for k in delta_keys {
                self.last_delta.insert(k, now);
            }
            if self.last_delta.len() > self.delta_cache_size {
                // Keep the most recent ones (this flush's keys first).
                let mut entries: Vec<(String, u64)> = self.last_delta.drain().collect();
                entries.sort_by_key(|e| std::cmp::Reverse(e.1));
                entries.truncate(self.delta_cache_size);
                self.last_delta = entries.into_iter().collect();
            }
            self.resources.clear();
            self.total_series = 0;
        } else {
            self.reset_cumulative(now);
        }
        out
    }

    fn reset_cumulative(&mut self, now: u64) {
        let metrics_exp = self.metrics_expiration;
        let series_exp = self.series_expiration;
        let mut removed = 0usize;
        self.resources.retain(|_, r| {
            if metrics_exp > 0 && now.saturating_sub(r.last_seen) >= metrics_exp {
                removed += r.series_count();
                return false;
            }
            true
        });
        for r in self.resources.values_mut() {
            for ex in r.calls.map.values_mut().map(|s| &mut s.exemplars) {
                ex.clear();
            }
            for ex in r.durations.map.values_mut().map(|s| &mut s.exemplars) {
                ex.clear();
            }
            for ex in r.events.map.values_mut().map(|s| &mut s.exemplars) {
                ex.clear();
            }
            for o in [&mut r.calls.overflow, &mut r.events.overflow]
                .into_iter()
                .flatten()
            {
                o.exemplars.clear();
            }
            if let Some(o) = &mut r.durations.overflow {
                o.exemplars.clear();
            }
            if series_exp > 0 {
                let fresh = |s_last: u64| now.saturating_sub(s_last) < series_exp;
                let before = r.series_count();
                r.calls.map.retain(|_, s| fresh(s.last_seen));
                r.durations.map.retain(|_, s| fresh(s.last_seen));
                r.events.map.retain(|_, s| fresh(s.last_seen));
                removed += before - r.series_count();
            }
        }
        self.total_series -= removed.min(self.total_series);
    }

    /// Series held now (for tests and the bound).
    pub fn series(&self) -> usize {
        self.total_series
    }
}

/// The fields of an encoded span the aggregation reads (the last occurrence of each, as
/// prost decodes); its attributes' slices go to `attrs`.
fn read_span<'a>(bytes: &'a [u8], attrs: &mut Vec<&'a [u8]>) -> Result<SpanView<'a>, String> {
    let e = |e: pdata::PdataError| e.to_string();
    let mut view = SpanView {
        name: "",
        kind: 0,
        code: 0,
        start: 0,
        end: 0,
        trace_id: &[],
        span_id: &[],
        attrs: Attrs::Decoded(&[]),
        events: &[],
    };
    let fixed64 = |d: &[u8], end: usize| -> u64 {
        u64::from_le_bytes(d[end - 8..end].try_into().expect("8 bytes"))
    };
    let mut r = WireReader::new(bytes);
    while !r.is_empty() {
        let f = r.field().map_err(e)?;
        match (f.tag, f.wire_type) {
            (1, wire::LEN) => view.trace_id = f.data,
            (2, wire::LEN) => view.span_id = f.data,
            (5, wire::LEN) => {
                view.name = std::str::from_utf8(f.data).map_err(|x| x.to_string())?;
            }
            (6, wire::VARINT) => {
                // The field's bytes are its key then its value.
                let mut vr = WireReader::new(&bytes[f.start..f.end]);
                vr.key().map_err(e)?;
                view.kind = vr.varint().map_err(e)? as i32;
            }
            (7, wire::FIXED64) => view.start = fixed64(bytes, f.end),
            (8, wire::FIXED64) => view.end = fixed64(bytes, f.end),
            (9, wire::LEN) => attrs.push(f.data),
            (15, wire::LEN) => {
                // Status: merged field by field; the code is field 3.
                let mut sr = WireReader::new(f.data);
                while !sr.is_empty() {
                    let (tag, wt) = sr.key().map_err(e)?;
                    if tag == 3 && wt == wire::VARINT {
                        view.code = sr.varint().map_err(e)? as i32;
                    } else {
                        sr.skip_value(wt, tag, 100).map_err(e)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(view)
}

/// A value's text for keys, appended: its type tag and Go `AsString` text (borrowed for
/// strings, so the hot path does not allocate).
fn push_value_key(key: &mut String, v: &AnyValue) {
    key.push(match &v.value {
        Some(any_value::Value::StringValue(_)) => 's',
        Some(any_value::Value::BoolValue(_)) => 'b',
        Some(any_value::Value::IntValue(_)) => 'i',
        Some(any_value::Value::DoubleValue(_)) => 'd',
        Some(any_value::Value::ArrayValue(_)) => 'a',
        Some(any_value::Value::KvlistValue(_)) => 'm',
        Some(any_value::Value::BytesValue(_)) => 'y',
        _ => 'e',
    });
    key.push_str(&as_string(v));
}

/// A value's key text, owned.
fn value_key(v: Option<&AnyValue>) -> String {
    let mut s = String::new();
    if let Some(v) = v {
        push_value_key(&mut s, v);
    }
    s
}

/// A dimension's value: span attribute, else the second map (resource, or resource and
/// event), else the default; absent otherwise.
fn dimension_value<'a>(
    d: &'a Dimension,
    span_attrs: &Attrs<'a>,
    other: &'a [KeyValue],
) -> Option<Cow<'a, AnyValue>> {
    if let Some(v) = span_attrs.get(&d.name) {
        return Some(v);
    }
    if let Some(v) = get(other, &d.name) {
        return Some(Cow::Borrowed(v));
    }
    d.default.as_ref().map(|s| {
        std::borrow::Cow::Owned(AnyValue {
            value: Some(any_value::Value::StringValue(s.clone())),
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn build_key(
    key: &mut String,
    defaults: Defaults,
    instance_id: &Option<String>,
    service_name: &str,
    span: &SpanView<'_>,
    dims: &[Dimension],
    span_attrs: &Attrs<'_>,
    other: &[KeyValue],
    scope: Option<&InstrumentationScope>,
) {
    key.clear();
    if defaults.service_name {
        key.push_str(service_name);
    }
    key.push(SEP);
    if defaults.span_name {
        key.push_str(span.name);
    }
    key.push(SEP);
    if defaults.span_kind {
        key.push_str(span_kind_str(span.kind));
    }
    key.push(SEP);
    if defaults.status_code {
        key.push_str(status_code_str(span.code));
    }
    if let Some(id) = instance_id {
        key.push(SEP);
        key.push_str(id);
    }
    for d in dims {
        key.push(SEP);
        match dimension_value(d, span_attrs, other) {
            Some(v) => push_value_key(key, &v),
            None => key.push(ABSENT),
        }
    }
    if let Some(s) = scope {
        key.push(SEP);
        key.push_str(&s.name);
        key.push(SEP);
        key.push_str(&s.version);
    }
}

#[allow(clippy::too_many_arguments)]
fn build_attributes(
    defaults: Defaults,
    instance_id: &Option<String>,
    service_name: &str,
    span: &SpanView<'_>,
    dims: &[Dimension],
    span_attrs: &Attrs<'_>,
    other: &[KeyValue],
    scope: Option<&InstrumentationScope>,
) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(5 + dims.len());
    if defaults.service_name {
        out.push(kv(SERVICE_NAME, str_value(service_name)));
    }
    if defaults.span_name {
        out.push(kv(SPAN_NAME, str_value(span.name)));
    }
    if defaults.span_kind {
        out.push(kv(SPAN_KIND, str_value(span_kind_str(span.kind))));
    }
    if defaults.status_code {
        out.push(kv(STATUS_CODE, str_value(status_code_str(span.code))));
    }
    if let Some(id) = instance_id {
        out.push(kv(COLLECTOR_INSTANCE_ID, str_value(id)));
    }
    for d in dims {
        if let Some(v) = dimension_value(d, span_attrs, other) {
            out.push(kv(&d.name, Some(v.into_owned())));
        }
    }
    if let Some(s) = scope {
        out.push(kv(SCOPE_NAME_KEY, str_value(&s.name)));
        out.push(kv(SCOPE_VERSION_KEY, str_value(&s.version)));
    }
    out
}

/// The series for `key`, made when new; past the limit, the overflow series.
#[allow(clippy::too_many_arguments)]
fn get_or_create<'m, T>(
    m: &'m mut SeriesMap<T>,
    key: &str,
    limit: usize,
    total: &mut usize,
    now: u64,
    outcome: &mut Outcome,
    attributes: impl FnOnce() -> Vec<KeyValue>,
    data: impl FnOnce() -> T,
) -> &'m mut Series<T> {
    if let Some(i) = m.map.get_index_of(key) {
        return &mut m.map[i];
    }
    let full = if limit > 0 {
        m.map.len() >= limit
    } else {
        *total >= SAFETY_MAX_SERIES
    };
    if full {
        outcome.overflowed += 1;
        return m.overflow.get_or_insert_with(|| Series {
            attributes: vec![KeyValue {
                key: OVERFLOW_KEY.to_string(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::BoolValue(true)),
                }),
                ..KeyValue::default()
            }],
            start: now,
            last_seen: now,
            exemplars: Vec::new(),
            count: 0,
            data: data(),
        });
    }
    *total += 1;
    let (i, _) = m.map.insert_full(
        key.to_string(),
        Series {
            attributes: attributes(),
            start: now,
            last_seen: now,
            exemplars: Vec::new(),
            count: 0,
            data: data(),
        },
    );
    &mut m.map[i]
}

fn add_exemplar(list: &mut Vec<Exemplar>, e: Option<&Exemplar>, max: Option<usize>) {
    let Some(e) = e else { return };
    if max.is_some_and(|m| list.len() >= m) {
        return;
    }
    list.push(e.clone());
}

fn stamped(exemplars: &[Exemplar], now: u64) -> Vec<Exemplar> {
    exemplars
        .iter()
        .map(|e| Exemplar {
            time_unix_nano: now,
            ..e.clone()
        })
        .collect()
}

fn all_series<T>(m: &SeriesMap<T>) -> impl Iterator<Item = (&str, &Series<T>)> {
    m.map
        .iter()
        .map(|(k, s)| (k.as_str(), s))
        .chain(m.overflow.iter().map(|s| (OVERFLOW_KEY, s)))
}

fn sum_points(
    m: &SeriesMap<()>,
    now: u64,
    start_of: &mut dyn FnMut(&str, u64) -> u64,
) -> Vec<NumberDataPoint> {
    all_series(m)
        .map(|(k, s)| NumberDataPoint {
            attributes: s.attributes.clone(),
            start_time_unix_nano: start_of(k, s.start),
            time_unix_nano: now,
            exemplars: stamped(&s.exemplars, now),
            value: Some(number_data_point::Value::AsInt(s.count as i64)),
            ..NumberDataPoint::default()
        })
        .collect()
}

fn explicit_points(
    m: &SeriesMap<HistState>,
    bounds: &[f64],
    now: u64,
    start_of: &mut dyn FnMut(&str, u64) -> u64,
) -> Vec<HistogramDataPoint> {
    all_series(m)
        .filter_map(|(k, s)| match &s.data {
            HistState::Explicit { counts, sum } => Some(HistogramDataPoint {
                attributes: s.attributes.clone(),
                start_time_unix_nano: start_of(k, s.start),
                time_unix_nano: now,
                count: s.count,
                sum: Some(*sum),
                bucket_counts: counts.clone(),
                explicit_bounds: bounds.to_vec(),
                exemplars: stamped(&s.exemplars, now),
                ..HistogramDataPoint::default()
            }),
            HistState::Exponential(_) => None,
        })
        .collect()
}

fn expo_points(
    m: &SeriesMap<HistState>,
    now: u64,
    start_of: &mut dyn FnMut(&str, u64) -> u64,
) -> Vec<ExponentialHistogramDataPoint> {
    all_series(m)
        .filter_map(|(k, s)| match &s.data {
            HistState::Exponential(e) => {
                let mut dp = ExponentialHistogramDataPoint {
                    attributes: s.attributes.clone(),
                    start_time_unix_nano: start_of(k, s.start),
                    time_unix_nano: now,
                    exemplars: stamped(&s.exemplars, now),
                    ..ExponentialHistogramDataPoint::default()
                };
                e.fill(&mut dp);
                Some(dp)
            }
            HistState::Explicit { .. } => None,
        })
        .collect()
}
