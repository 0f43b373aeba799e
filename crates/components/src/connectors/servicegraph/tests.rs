//! `service_graph` from the seeds' story (connectors::story): the shopper → grocery-store
//! and grocery-store → inventory edges with their request, failed and bucket counts; virtual
//! nodes, databases, messaging, the store bound; and the factory.

use std::sync::Arc;

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::metrics::v1::{Metric, metric, number_data_point};
use pdata::proto::trace::v1::ResourceSpans;
use pdata::proto::trace::v1::span::SpanKind;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ConnectorFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::{Config, Factory, Gates, Graph};
use crate::connectors::story::{self, T0};
use crate::processors::testing::Collect;

const SEC: u64 = 1_000_000_000;

fn config(yaml: &str) -> Config {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    let c: Config = ::config::decode(&v, "connectors::service_graph").unwrap();
    runtime::ComponentConfig::validate(&c).unwrap();
    c
}

fn graph(yaml: &str) -> Graph {
    Graph::new(&config(yaml), Gates::default(), T0 - SEC)
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> Option<&'a Metric> {
    req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
}

fn labels(attrs: &[pdata::proto::common::v1::KeyValue]) -> String {
    attrs
        .iter()
        .map(|a| {
            let v = match a.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(pdata::proto::common::v1::any_value::Value::StringValue(s)) => s.clone(),
                Some(pdata::proto::common::v1::any_value::Value::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            format!("{}={v}", a.key)
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn counts(req: &ExportMetricsServiceRequest, name: &str) -> Vec<(String, i64)> {
    let Some(Metric {
        data: Some(metric::Data::Sum(s)),
        ..
    }) = metric(req, name)
    else {
        return Vec::new();
    };
    assert!(s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 2, "cumulative");
    s.data_points
        .iter()
        .map(|p| {
            let Some(number_data_point::Value::AsInt(v)) = p.value else {
                panic!("ints")
            };
            (labels(&p.attributes), v)
        })
        .collect()
}

fn buckets(req: &ExportMetricsServiceRequest, name: &str) -> Vec<(String, Vec<u64>, u64)> {
    let m = metric(req, name).unwrap();
    assert_eq!(m.unit, "s");
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("histogram")
    };
    h.data_points
        .iter()
        .map(|p| (labels(&p.attributes), p.bucket_counts.clone(), p.count))
        .collect()
}

fn at(idx: &[usize]) -> Vec<u64> {
    let mut b = vec![0; 17];
    for i in idx {
        b[*i] += 1;
    }
    b
}

const SG_OK: &str = "client=shopper,server=grocery-store,connection_type=,failed=false";
const SG_FAIL: &str = "client=shopper,server=grocery-store,connection_type=,failed=true";
const GI_OK: &str = "client=grocery-store,server=inventory,connection_type=,failed=false";
const GI_FAIL: &str = "client=grocery-store,server=inventory,connection_type=,failed=true";

#[test]
fn story_edges_have_exact_request_failed_and_bucket_counts() {
    let mut g = graph("{}");
    let o = g.consume(&story::visits().resource_spans, T0);
    assert_eq!(o.new_edges, 6, "two edges per visit");
    assert_eq!(g.pending(), 0, "every client found its server");
    let out = g.flush(T0 + 60 * SEC).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total"),
        vec![
            (SG_OK.into(), 2),
            (GI_OK.into(), 2),
            (SG_FAIL.into(), 1),
            (GI_FAIL.into(), 1)
        ]
    );
    assert_eq!(
        counts(&out, "traces_service_graph_request_failed_total"),
        vec![(SG_FAIL.into(), 1), (GI_FAIL.into(), 1)]
    );
    // Bounds 0.002 0.004 0.006 0.008 0.01 0.05 0.1 0.2 ...: /products took 15, 110, 7 ms;
    // web request 20, 120, 8 ms; /inventory 3, 80, 1.5 ms; inventory request 5, 90, 5 ms.
    assert_eq!(
        buckets(&out, "traces_service_graph_request_server"),
        vec![
            (SG_OK.into(), at(&[5, 7]), 2),
            (GI_OK.into(), at(&[1, 6]), 2),
            (SG_FAIL.into(), at(&[3]), 1),
            (GI_FAIL.into(), at(&[0]), 1),
        ]
    );
    assert_eq!(
        buckets(&out, "traces_service_graph_request_client"),
        vec![
            (SG_OK.into(), at(&[5, 7]), 2),
            (GI_OK.into(), at(&[2, 6]), 2),
            (SG_FAIL.into(), at(&[3]), 1),
            (GI_FAIL.into(), at(&[2]), 1),
        ]
    );
    let rm = &out.resource_metrics[0];
    assert!(rm.resource.as_ref().unwrap().attributes.is_empty());
    assert_eq!(
        rm.scope_metrics[0].scope.as_ref().unwrap().name,
        "traces_service_graph"
    );
    let Some(metric::Data::Sum(s)) = &metric(&out, "traces_service_graph_request_total")
        .unwrap()
        .data
    else {
        panic!()
    };
    assert_eq!(
        (
            s.data_points[0].start_time_unix_nano,
            s.data_points[0].time_unix_nano
        ),
        (T0 - SEC, T0 + 60 * SEC),
        "start is the connector's start"
    );
}

#[test]
fn server_first_in_another_batch_still_pairs() {
    let mut g = graph("{}");
    let v = story::visits().resource_spans;
    g.consume(&v[1..3], T0); // grocery-store and inventory first
    assert_eq!(
        g.pending(),
        1,
        "/products waits for web request; inventory request paired"
    );
    g.consume(&v[0..1], T0 + 1);
    assert_eq!(g.pending(), 0);
    let out = g.flush(T0 + 2).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total"),
        vec![(GI_OK.into(), 1), (SG_OK.into(), 1)]
    );
}

fn client_only(peer: Option<(&str, &str)>) -> Vec<ResourceSpans> {
    let mut v = story::visit(0, [1.0; 5], false);
    let mut rs = v.swap_remove(1); // grocery-store
    rs.scope_spans[0].spans.remove(0); // keep only "inventory request"
    if let Some((k, val)) = peer {
        rs.scope_spans[0].spans[0]
            .attributes
            .push(story::str_kv(k, val));
    }
    vec![rs]
}

#[test]
fn unpaired_edges_expire_into_virtual_nodes_and_are_counted() {
    let mut g = graph("virtual_node_extra_label: true");
    g.consume(&client_only(Some(("peer.service", "payment"))), T0);
    // A root server span: nobody called it from an instrumented service.
    let root = story::visit(1, [1.0; 5], false);
    let mut rs = root[0].clone();
    rs.scope_spans[0].spans = vec![story::span(
        9,
        1,
        0,
        "checkout",
        SpanKind::Server,
        T0,
        4.0,
        false,
        vec![],
    )];
    g.consume(&[rs], T0);
    assert_eq!(g.expire(T0 + SEC).expired_edges, 0, "ttl 2s not over");
    let o = g.expire(T0 + 2 * SEC);
    assert_eq!(o.expired_edges, 2);
    let out = g.flush(T0 + 3 * SEC).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total"),
        vec![
            (
                "client=grocery-store,server=payment,connection_type=virtual_node,failed=false,virtual_node=server".into(),
                1
            ),
            (
                "client=user,server=shopper,connection_type=virtual_node,failed=false,virtual_node=client".into(),
                1
            ),
        ]
    );
    // No peer attribute: the server is `unknown`.
    let mut g = graph("{}");
    g.consume(&client_only(None), T0);
    g.expire(T0 + 3 * SEC);
    let out = g.flush(T0 + 3 * SEC).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total")[0].0,
        "client=grocery-store,server=unknown,connection_type=virtual_node,failed=false"
    );
    // Virtual nodes off (empty peer attribute list): expired edges are only counted.
    let mut g = graph("virtual_node_peer_attributes: []");
    g.consume(&client_only(Some(("peer.service", "payment"))), T0);
    assert_eq!(g.expire(T0 + 3 * SEC).expired_edges, 1);
    assert!(g.flush(T0 + 3 * SEC).is_none());
}

#[test]
fn database_calls_complete_at_once() {
    let mut g = graph("{}");
    g.consume(&client_only(Some(("db.name", "stock"))), T0);
    assert_eq!(g.pending(), 0);
    let out = g.flush(T0).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total"),
        vec![(
            "client=grocery-store,server=stock,connection_type=database,failed=false".into(),
            1
        )]
    );
}

#[test]
fn messaging_spans_pair_as_messaging_system() {
    let mut v = story::visit(0, [1.0; 5], false);
    v[1].scope_spans[0].spans[1].kind = SpanKind::Producer as i32;
    v[2].scope_spans[0].spans[0].kind = SpanKind::Consumer as i32;
    let mut g = graph("{}");
    g.consume(&v, T0);
    let out = g.flush(T0).unwrap();
    assert!(
        counts(&out, "traces_service_graph_request_total")
            .iter()
            .any(|(l, n)| l == "client=grocery-store,server=inventory,connection_type=messaging_system,failed=false" && *n == 1)
    );
}

#[test]
fn full_store_drops_spans_and_counts_them() {
    let mut g = graph("store: {max_items: 1}");
    let o = g.consume(&client_only(None), T0);
    assert_eq!((o.new_edges, o.dropped_spans), (1, 0));
    let mut other = client_only(None);
    other[0].scope_spans[0].spans[0].span_id = vec![7; 8];
    let o = g.consume(&other, T0);
    assert_eq!((o.new_edges, o.dropped_spans), (0, 1));
    assert_eq!(g.pending(), 1);
}

#[test]
fn dimensions_come_from_resource_then_span_per_side() {
    let mut g = graph("dimensions: [telemetry.sdk.language, http.method]");
    g.consume(&story::visit(0, [1.0; 5], false), T0);
    let out = g.flush(T0).unwrap();
    assert_eq!(
        counts(&out, "traces_service_graph_request_total")[0].0,
        format!(
            "{SG_OK},client_http.method=GET,client_telemetry.sdk.language=python,server_http.method=GET,server_telemetry.sdk.language=python"
        )
    );
}

#[test]
fn stale_series_are_dropped_after_15_minutes() {
    let mut g = graph("{}");
    g.consume(&story::visit(0, [1.0; 5], false), T0);
    g.clean(T0 + 14 * 60 * SEC);
    assert_eq!(g.series_count(), 2);
    g.clean(T0 + 16 * 60 * SEC);
    assert_eq!(g.series_count(), 0);
}

#[test]
fn exponential_histograms_when_configured() {
    let mut g = graph("exponential_histogram_max_size: 20");
    g.consume(&story::visits().resource_spans, T0);
    let out = g.flush(T0).unwrap();
    let m = metric(&out, "traces_service_graph_request_server").unwrap();
    let Some(metric::Data::ExponentialHistogram(h)) = &m.data else {
        panic!()
    };
    assert_eq!(h.data_points.iter().map(|p| p.count).sum::<u64>(), 6);
    assert!(
        config("{}")
            .bounds()
            .is_some_and(|b| b == super::config::DEFAULT_BUCKETS)
    );
}

#[test]
fn legacy_latency_name_gate_and_defaults() {
    let g = super::gates_from(&["connector.servicegraph.legacyLatencyMetricNames".into()]);
    assert!(g.legacy_latency_metric_names && g.virtual_node);
    let c = config("{}");
    assert_eq!(c.flush_interval(), std::time::Duration::from_secs(60));
    assert_eq!(
        c.peer_attributes(),
        vec!["peer.service", "db.name", "db.system"]
    );
    assert_eq!(c.database_name_attributes(), vec!["db.name"]);
    assert_eq!(
        config("database_name_attribute: db.namespace").database_name_attributes(),
        vec!["db.namespace"]
    );
    let mut g = Graph::new(&c, g, 0);
    g.consume(&story::visits().resource_spans, T0);
    let out = g.flush(T0).unwrap();
    assert!(metric(&out, "traces_service_graph_request_duration").is_some());
    assert!(metric(&out, "traces_service_graph_request_client").is_none());
}

#[tokio::test]
async fn factory_with_zero_interval_flushes_every_batch() {
    let f = Factory;
    let v = ::config::Value::from_yaml_str("metrics_flush_interval: 0s").unwrap();
    let cfg = f.parse_config(&v, "connectors::service_graph").unwrap();
    let sink = Arc::new(Collect::default());
    let set = Settings {
        id: ::config::ComponentId::parse("service_graph").unwrap(),
        kind: Kind::Connector,
        telemetry: Telemetry::new("normal"),
    };
    let tel = set.telemetry.clone();
    let c = f
        .create(set, &cfg, Signal::Traces, Signal::Metrics, sink.clone())
        .unwrap();
    c.start(&Host::default()).await.unwrap();
    c.consume(Batch::from_request(Request::Traces(story::visits())))
        .await
        .unwrap();
    let reqs = sink.requests();
    assert_eq!(reqs.len(), 1);
    let Request::Metrics(m) = &reqs[0] else {
        panic!()
    };
    assert_eq!(counts(m, "traces_service_graph_request_total").len(), 4);
    assert_eq!(
        tel.value(
            "otelcol_connector_servicegraph_total_edges",
            &[("connector", "service_graph")]
        ),
        Some(6.0)
    );
    c.shutdown().await.unwrap();
    use runtime::registry::Lookup;
    assert!(matches!(
        crate::registry().lookup_connector("servicegraph"),
        Lookup::Deprecated(..)
    ));
}
