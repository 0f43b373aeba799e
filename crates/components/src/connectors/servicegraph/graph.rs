//! The service graph state, as Go's `serviceGraphConnector` and its `store` (a port of
//! Tempo's service-graph processor): client and server spans are paired into edges by
//! (trace id, span id) — a client (or producer) span by its own id, a server (or consumer)
//! span by its parent's — and each completed edge is counted into a series per
//! (client, server, connection type, failed, dimensions).
//!
//! Bounded: at most `store.max_items` edges wait for their other half (a span that would
//! open one more is dropped and counted); an edge waits at most `store.ttl`, then expires
//! (counted; with virtual nodes it is recorded against `user` or its peer). Series not
//! updated for 15 minutes are dropped (Go's cache loop); beyond [`MAX_SERIES`] series (Go
//! has no bound), new combinations are counted into one series marked
//! `otel.metric.overflow=true`.
//!
//! Every function takes the time (Unix nanoseconds) as an argument, so tests set the clock.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, Span};

use super::config::Config;
use crate::attraction::value::{as_string, get};
use crate::connectors::expo::ExpoHistogram;

/// Series held at most; new combinations beyond it go to the overflow series.
pub const MAX_SERIES: usize = 100_000;
/// Go's cache loop drops series not updated for this long.
pub const STALE_AFTER_NANOS: u64 = 15 * 60 * 1_000_000_000;
const OVERFLOW_KEY: &str = "otel.metric.overflow";
const SEP: char = '\0';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionType {
    Unknown,
    MessagingSystem,
    Database,
    VirtualNode,
}

impl ConnectionType {
    fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Unknown => "",
            ConnectionType::MessagingSystem => "messaging_system",
            ConnectionType::Database => "database",
            ConnectionType::VirtualNode => "virtual_node",
        }
    }
}

type Key = ([u8; 16], [u8; 8]);

#[derive(Debug, Clone)]
struct Edge {
    span_id_empty: bool,
    client: String,
    server: String,
    connection_type: ConnectionType,
    failed: bool,
    client_latency: f64,
    server_latency: f64,
    dimensions: BTreeMap<String, String>,
    /// The first present peer attribute (name -> value).
    peer: BTreeMap<String, String>,
    expires_at: u64,
    virtual_node: &'static str,
}

impl Edge {
    fn complete(&self) -> bool {
        !self.client.is_empty() && !self.server.is_empty()
    }
}

#[derive(Debug, Clone)]
enum Hist {
    Explicit {
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
    Exponential(Box<ExpoHistogram>),
}

impl Hist {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        match self {
            Hist::Explicit { counts, sum, count } => {
                counts[bounds.partition_point(|b| *b < v)] += 1;
                *sum += v;
                *count += 1;
            }
            Hist::Exponential(e) => e.observe(v),
        }
    }
}

#[derive(Debug, Clone)]
struct Series {
    attributes: Vec<KeyValue>,
    last_updated: u64,
    total: i64,
    failed: i64,
    server: Hist,
    client: Hist,
}

/// What one batch or expiry did, for the self-metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// New edges opened (`otelcol_connector_servicegraph_total_edges`).
    pub new_edges: u64,
    /// Spans refused because the store was full (`..._dropped_spans`).
    pub dropped_spans: u64,
    /// Edges that expired unpaired (`..._expired_edges`).
    pub expired_edges: u64,
    /// Completed edges counted into the overflow series.
    pub overflowed: u64,
}

pub struct Graph {
    dimensions: Vec<String>,
    peer_attributes: Vec<String>,
    database_attributes: Vec<String>,
    virtual_nodes: bool,
    extra_label: bool,
    bounds: Option<Vec<f64>>,
    expo_max: usize,
    ttl: u64,
    max_items: usize,
    offset: u64,
    start: u64,
    legacy_names: bool,
    store: IndexMap<Key, Edge>,
    series: IndexMap<String, Series>,
}

/// The gates this connector reads.
#[derive(Debug, Clone, Copy)]
pub struct Gates {
    /// `connector.servicegraph.virtualNode` (on).
    pub virtual_node: bool,
    /// `connector.servicegraph.legacyLatencyMetricNames` (off).
    pub legacy_latency_metric_names: bool,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            virtual_node: true,
            legacy_latency_metric_names: false,
        }
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn duration_secs(span: &Span) -> f64 {
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e9
}

fn first_match(keys: &[String], maps: &[&[KeyValue]]) -> Option<String> {
    for k in keys {
        for m in maps {
            if let Some(v) = get(m, k) {
                return Some(as_string(v).into_owned());
            }
        }
    }
    None
}

impl Graph {
    pub fn new(cfg: &Config, gates: Gates, start: u64) -> Graph {
        let peer_attributes = cfg.peer_attributes();
        Graph {
            dimensions: cfg.dimensions.clone(),
            virtual_nodes: gates.virtual_node && !peer_attributes.is_empty(),
            peer_attributes,
            database_attributes: cfg.database_name_attributes(),
            extra_label: cfg.virtual_node_extra_label,
            bounds: cfg.bounds(),
            expo_max: usize::try_from(cfg.exponential_histogram_max_size).unwrap_or(160),
            ttl: cfg.store.ttl.0.as_nanos() as u64,
            max_items: usize::try_from(cfg.store.max_items).unwrap_or(1).max(1),
            offset: cfg.metrics_timestamp_offset.0.as_nanos() as u64,
            start,
            legacy_names: gates.legacy_latency_metric_names,
            store: IndexMap::new(),
            series: IndexMap::new(),
        }
    }

    /// Edges waiting for their other half.
    pub fn pending(&self) -> usize {
        self.store.len()
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn consume(&mut self, resource_spans: &[ResourceSpans], now: u64) -> Outcome {
        let mut out = Outcome::default();
        for rs in resource_spans {
            let res: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
            // Go's `findServiceName`: any type, as its string form.
            let Some(service) = get(res, "service.name").map(|v| as_string(v).into_owned()) else {
                continue;
            };
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    self.span(span, res, &service, now, &mut out);
                }
            }
        }
        out
    }

    fn span(&mut self, span: &Span, res: &[KeyValue], service: &str, now: u64, out: &mut Outcome) {
        let trace: [u8; 16] = span.trace_id.as_slice().try_into().unwrap_or([0; 16]);
        let (client_side, connection_type) = match span.kind {
            4 => (true, ConnectionType::MessagingSystem),
            3 => (true, ConnectionType::Unknown),
            5 => (false, ConnectionType::MessagingSystem),
            2 => (false, ConnectionType::Unknown),
            _ => return,
        };
        let id = if client_side {
            &span.span_id
        } else {
            &span.parent_span_id
        };
        let span_id: [u8; 8] = id.as_slice().try_into().unwrap_or([0; 8]);
        let key = (trace, span_id);
        let failed = span.status.as_ref().is_some_and(|s| s.code == 2);
        let latency = duration_secs(span);
        let kind = if client_side { "client" } else { "server" };
        let dims: Vec<(String, String)> = self
            .dimensions
            .iter()
            .filter_map(|d| {
                first_match(std::slice::from_ref(d), &[res, &span.attributes])
                    .map(|v| (format!("{kind}_{d}"), v))
            })
            .collect();
        let peer = if client_side && self.virtual_nodes {
            self.peer_attributes.iter().find_map(|a| {
                get(&span.attributes, a).map(|v| (a.clone(), as_string(v).into_owned()))
            })
        } else {
            None
        };
        let database = if client_side {
            first_match(&self.database_attributes, &[res, &span.attributes])
        } else {
            None
        };
        let update = |e: &mut Edge| {
            e.connection_type = connection_type;
            e.failed |= failed;
            e.dimensions.extend(dims.iter().cloned());
            if client_side {
                e.client = service.to_string();
                e.client_latency = latency;
                if let Some((k, v)) = &peer {
                    e.peer.insert(k.clone(), v.clone());
                }
                if let Some(db) = &database {
                    e.connection_type = ConnectionType::Database;
                    e.server = db.clone();
                    e.server_latency = latency;
                }
            } else {
                e.server = service.to_string();
                e.server_latency = latency;
            }
        };
        if let Some(e) = self.store.get_mut(&key) {
            update(e);
            if e.complete()
                && let Some(e) = self.store.shift_remove(&key)
            {
                self.record(&e, now, out);
            }
            return;
        }
        let mut e = Edge {
            span_id_empty: span_id == [0; 8],
            client: String::new(),
            server: String::new(),
            connection_type: ConnectionType::Unknown,
            failed: false,
            client_latency: 0.0,
            server_latency: 0.0,
            dimensions: BTreeMap::new(),
            peer: BTreeMap::new(),
            expires_at: now.saturating_add(self.ttl),
            virtual_node: "",
        };
        update(&mut e);
        if e.complete() {
            out.new_edges += 1;
            self.record(&e, now, out);
            return;
        }
        if self.store.len() >= self.max_items {
            out.dropped_spans += 1;
            return;
        }
        out.new_edges += 1;
        self.store.insert(key, e);
    }

    /// Expires the edges whose TTL passed (Go's `storeExpirationLoop`).
    pub fn expire(&mut self, now: u64) -> Outcome {
        let mut out = Outcome::default();
        while let Some((_, e)) = self.store.first() {
            if e.expires_at > now {
                break;
            }
            let Some((_, mut e)) = self.store.shift_remove_index(0) else {
                break;
            };
            out.expired_edges += 1;
            if !self.virtual_nodes {
                continue;
            }
            e.connection_type = ConnectionType::VirtualNode;
            if e.client.is_empty() && e.span_id_empty {
                e.client = "user".into();
                if self.extra_label {
                    e.virtual_node = "client";
                }
                self.record(&e, now, &mut out);
            }
            if e.server.is_empty() {
                e.server = self
                    .peer_attributes
                    .iter()
                    .find_map(|a| e.peer.get(a).cloned())
                    .unwrap_or_else(|| "unknown".into());
                if self.extra_label {
                    e.virtual_node = "server";
                }
                self.record(&e, now, &mut out);
            }
        }
        out
    }

    fn series_key(&self, e: &Edge) -> String {
        let mut k = String::with_capacity(64);
        k.push_str(&e.client);
        k.push(SEP);
        k.push_str(&e.server);
        k.push(SEP);
        k.push_str(e.connection_type.as_str());
        k.push(SEP);
        k.push_str(if e.failed { "true" } else { "false" });
        for d in &self.dimensions {
            for kind in ["client", "server"] {
                let name = format!("{kind}_{d}");
                if let Some(v) = e.dimensions.get(&name) {
                    k.push(SEP);
                    k.push_str(&name);
                    k.push('_');
                    k.push_str(v);
                }
            }
        }
        if self.extra_label {
            k.push(SEP);
            k.push_str(e.virtual_node);
        }
        k
    }

    fn new_hist(&self) -> Hist {
        match &self.bounds {
            Some(b) => Hist::Explicit {
                counts: vec![0; b.len() + 1],
                sum: 0.0,
                count: 0,
            },
            None => Hist::Exponential(Box::new(ExpoHistogram::new(self.expo_max))),
        }
    }

    fn record(&mut self, e: &Edge, now: u64, out: &mut Outcome) {
        let mut key = self.series_key(e);
        if !self.series.contains_key(&key) && self.series.len() >= MAX_SERIES {
            out.overflowed += 1;
            key = OVERFLOW_KEY.to_string();
        }
        let attributes = if key == OVERFLOW_KEY {
            vec![kv(OVERFLOW_KEY, any_value::Value::BoolValue(true))]
        } else {
            let mut a = vec![
                kv("client", any_value::Value::StringValue(e.client.clone())),
                kv("server", any_value::Value::StringValue(e.server.clone())),
                kv(
                    "connection_type",
                    any_value::Value::StringValue(e.connection_type.as_str().into()),
                ),
                kv("failed", any_value::Value::BoolValue(e.failed)),
            ];
            for (k, v) in &e.dimensions {
                a.push(kv(k, any_value::Value::StringValue(v.clone())));
            }
            if self.extra_label {
                a.push(kv(
                    "virtual_node",
                    any_value::Value::StringValue(e.virtual_node.into()),
                ));
            }
            a
        };
        let fresh = (self.new_hist(), self.new_hist());
        let s = self.series.entry(key).or_insert_with(|| Series {
            attributes: attributes.clone(),
            last_updated: now,
            total: 0,
            failed: 0,
            server: fresh.0,
            client: fresh.1,
        });
        // As Go: the latest edge's dimensions describe the series.
        s.attributes = attributes;
        s.last_updated = now;
        s.total += 1;
        if e.failed {
            s.failed += 1;
        }
        let bounds = self.bounds.as_deref().unwrap_or(&[]);
        s.server.observe(bounds, e.server_latency);
        s.client.observe(bounds, e.client_latency);
    }

    /// Drops series not updated for 15 minutes (Go's `cleanCache`).
    pub fn clean(&mut self, now: u64) {
        self.series
            .retain(|_, s| s.last_updated.saturating_add(STALE_AFTER_NANOS) >= now);
    }

    /// The cumulative metrics of every series, or `None` when there is none.
    pub fn flush(&self, now: u64) -> Option<ExportMetricsServiceRequest> {
        if self.series.is_empty() {
            return None;
        }
        let ts = now.saturating_sub(self.offset);
        let cumulative = AggregationTemporality::Cumulative as i32;
        let sum_metric = |name: &str, value: &dyn Fn(&Series) -> i64, only_failed: bool| Metric {
            name: name.into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: self
                    .series
                    .values()
                    .filter(|s| !only_failed || s.failed > 0)
                    .map(|s| NumberDataPoint {
                        attributes: s.attributes.clone(),
                        start_time_unix_nano: self.start,
                        time_unix_nano: ts,
                        value: Some(number_data_point::Value::AsInt(value(s))),
                        ..NumberDataPoint::default()
                    })
                    .collect(),
                aggregation_temporality: cumulative,
                is_monotonic: true,
            })),
            ..Metric::default()
        };
        let hist_metric = |name: &str, pick: &dyn Fn(&Series) -> &Hist| {
            let data = match &self.bounds {
                Some(bounds) => metric::Data::Histogram(Histogram {
                    data_points: self
                        .series
                        .values()
                        .filter_map(|s| match pick(s) {
                            Hist::Explicit { counts, sum, count } => Some(HistogramDataPoint {
                                attributes: s.attributes.clone(),
                                start_time_unix_nano: self.start,
                                time_unix_nano: ts,
                                count: *count,
                                sum: Some(*sum),
                                bucket_counts: counts.clone(),
                                explicit_bounds: bounds.clone(),
                                ..HistogramDataPoint::default()
                            }),
                            Hist::Exponential(_) => None,
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
                None => metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: self
                        .series
                        .values()
                        .filter_map(|s| match pick(s) {
                            Hist::Exponential(e) => {
                                let mut dp = ExponentialHistogramDataPoint {
                                    attributes: s.attributes.clone(),
                                    start_time_unix_nano: self.start,
                                    time_unix_nano: ts,
                                    ..ExponentialHistogramDataPoint::default()
                                };
                                e.fill(&mut dp);
                                Some(dp)
                            }
                            Hist::Explicit { .. } => None,
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
            };
            Metric {
                name: name.into(),
                unit: "s".into(),
                data: Some(data),
                ..Metric::default()
            }
        };
        let mut metrics = vec![sum_metric(
            "traces_service_graph_request_total",
            &|s| s.total,
            false,
        )];
        if self.series.values().any(|s| s.failed > 0) {
            metrics.push(sum_metric(
                "traces_service_graph_request_failed_total",
                &|s| s.failed,
                true,
            ));
        }
        if self.legacy_names {
            metrics.push(hist_metric("traces_service_graph_request_duration", &|s| {
                &s.server
            }));
        } else {
            metrics.push(hist_metric("traces_service_graph_request_server", &|s| {
                &s.server
            }));
            metrics.push(hist_metric("traces_service_graph_request_client", &|s| {
                &s.client
            }));
        }
        Some(ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource::default()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "traces_service_graph".into(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        })
    }
}
