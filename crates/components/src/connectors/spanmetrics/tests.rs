//! `span_metrics` from the seeds' story (connectors::story): exact call and bucket counts,
//! dimensions, temporality, limits; and the factory with the seed config.

use std::sync::Arc;
use std::time::Duration;

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::metrics::v1::{Metric, NumberDataPoint, metric, number_data_point};
use pdata::proto::trace::v1::span::SpanKind;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ConnectorFactory, Settings};
use runtime::{Kind, Telemetry};

use super::aggregate::Aggregator;
use super::config::Config;
use super::{Factory, Gates, OVERFLOW_KEY};
use crate::connectors::story::{self, T0};
use crate::processors::testing::Collect;

/// The seed-jaeger-prometheus.yaml connector block.
const SEED: &str = "histogram:
  explicit:
    buckets: [2ms, 4ms, 6ms, 8ms, 10ms, 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1400ms, 2s, 5s, 10s, 15s]
dimensions:
  - name: http.method
  - name: http.status_code
metrics_flush_interval: 15s";

const FLUSH: u64 = T0 + 60_000_000_000;

fn config(yaml: &str) -> Config {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    let c: Config = ::config::decode(&v, "connectors::span_metrics").unwrap();
    runtime::ComponentConfig::validate(&c).unwrap();
    c
}

fn no_instance_id() -> Gates {
    Gates::default()
}

fn agg(yaml: &str) -> Aggregator {
    Aggregator::new(&config(yaml), &no_instance_id())
}

fn s(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// `k=v,...` of a point's attributes, in order.
fn labels(attrs: &[KeyValue]) -> String {
    attrs
        .iter()
        .map(|a| format!("{}={}", a.key, a.value.as_ref().map(s).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, service: &str, name: &str) -> &'a Metric {
    let rm = req
        .resource_metrics
        .iter()
        .find(|rm| {
            rm.resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .is_some_and(|a| a.value.as_ref().map(s).as_deref() == Some(service))
        })
        .unwrap_or_else(|| panic!("no resource {service}"));
    rm.scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name} for {service}"))
}

/// (labels, value) of every calls point.
fn calls(req: &ExportMetricsServiceRequest, service: &str) -> Vec<(String, i64)> {
    let Some(metric::Data::Sum(sum)) = &metric(req, service, "traces.span.metrics.calls").data
    else {
        panic!("calls is a sum")
    };
    assert!(sum.is_monotonic);
    sum.data_points
        .iter()
        .map(|p: &NumberDataPoint| {
            let Some(number_data_point::Value::AsInt(v)) = p.value else {
                panic!("calls are ints")
            };
            (labels(&p.attributes), v)
        })
        .collect()
}

/// (labels, bucket counts, count, sum) of every duration point.
fn durations(
    req: &ExportMetricsServiceRequest,
    service: &str,
) -> Vec<(String, Vec<u64>, u64, f64)> {
    let m = metric(req, service, "traces.span.metrics.duration");
    assert_eq!(m.unit, "ms");
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("duration is a histogram")
    };
    h.data_points
        .iter()
        .map(|p| {
            assert_eq!(p.explicit_bounds.len() + 1, p.bucket_counts.len());
            (
                labels(&p.attributes),
                p.bucket_counts.clone(),
                p.count,
                p.sum.unwrap(),
            )
        })
        .collect()
}

/// Bucket counts with `n` at each listed index (17 buckets: 16 bounds + overflow).
fn buckets(at: &[(usize, u64)]) -> Vec<u64> {
    let mut b = vec![0; 17];
    for (i, n) in at {
        b[*i] += n;
    }
    b
}

#[test]
fn seed_config_counts_every_call_of_the_story_exactly() {
    let mut a = agg(SEED);
    a.consume(&story::visits().resource_spans, T0);
    let out = a.flush(FLUSH);
    assert_eq!(out.resource_metrics.len(), 3, "one resource per service");

    const WEB: &str = "service.name=shopper,span.name=web request,span.kind=SPAN_KIND_CLIENT";
    assert_eq!(
        calls(&out, "shopper"),
        vec![
            (
                "service.name=shopper,span.name=browse,span.kind=SPAN_KIND_INTERNAL,status.code=STATUS_CODE_UNSET".into(),
                3
            ),
            (format!("{WEB},status.code=STATUS_CODE_UNSET,http.method=GET,http.status_code=200"), 2),
            (format!("{WEB},status.code=STATUS_CODE_ERROR,http.method=GET,http.status_code=500"), 1),
        ]
    );
    // Upper-inclusive bounds: 8 ms is in the `le 8` bucket (index 3), 9 ms in `le 10`.
    assert_eq!(
        durations(&out, "shopper"),
        vec![
            (
                "service.name=shopper,span.name=browse,span.kind=SPAN_KIND_INTERNAL,status.code=STATUS_CODE_UNSET".into(),
                buckets(&[(4, 1), (5, 1), (7, 1)]),
                3,
                164.0
            ),
            (
                format!("{WEB},status.code=STATUS_CODE_UNSET,http.method=GET,http.status_code=200"),
                buckets(&[(5, 1), (7, 1)]),
                2,
                140.0
            ),
            (
                format!("{WEB},status.code=STATUS_CODE_ERROR,http.method=GET,http.status_code=500"),
                buckets(&[(3, 1)]),
                1,
                8.0
            ),
        ]
    );
    let grocery: Vec<(String, i64)> = calls(&out, "grocery-store");
    assert_eq!(
        grocery.iter().map(|(l, n)| (l.split(",http").next().unwrap().to_string(), *n)).collect::<Vec<_>>(),
        vec![
            ("service.name=grocery-store,span.name=/products,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET".to_string(), 2),
            ("service.name=grocery-store,span.name=inventory request,span.kind=SPAN_KIND_CLIENT,status.code=STATUS_CODE_UNSET".to_string(), 2),
            ("service.name=grocery-store,span.name=/products,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_ERROR".to_string(), 1),
            ("service.name=grocery-store,span.name=inventory request,span.kind=SPAN_KIND_CLIENT,status.code=STATUS_CODE_ERROR".to_string(), 1),
        ]
    );
    let inv = durations(&out, "inventory");
    assert_eq!(inv.len(), 2);
    assert_eq!(
        inv[0].1,
        buckets(&[(1, 1), (6, 1)]),
        "3 ms -> le 4, 80 ms -> le 100"
    );
    assert_eq!(inv[1].1, buckets(&[(0, 1)]), "1.5 ms -> le 2");
    assert_eq!(inv[1].3, 1.5);
    // The resource is the spans' whole resource; the scope is Go's.
    let rm = &out.resource_metrics[0];
    assert_eq!(rm.resource.as_ref().unwrap().attributes.len(), 2);
    assert_eq!(
        rm.scope_metrics[0].scope.as_ref().unwrap().name,
        "spanmetricsconnector"
    );
    for m in &rm.scope_metrics[0].metrics {
        let starts_and_times: Vec<(u64, u64)> = match &m.data {
            Some(metric::Data::Sum(s)) => s
                .data_points
                .iter()
                .map(|p| (p.start_time_unix_nano, p.time_unix_nano))
                .collect(),
            Some(metric::Data::Histogram(h)) => h
                .data_points
                .iter()
                .map(|p| (p.start_time_unix_nano, p.time_unix_nano))
                .collect(),
            _ => panic!("unexpected kind"),
        };
        assert!(starts_and_times.iter().all(|t| *t == (T0, FLUSH)));
    }
}

#[test]
fn cumulative_keeps_counting_and_start_time_across_flushes() {
    let mut a = agg(SEED);
    a.consume(&story::visits().resource_spans, T0);
    a.flush(FLUSH);
    // Nothing new: the same values are emitted again.
    let again = a.flush(FLUSH + 1);
    assert_eq!(calls(&again, "inventory")[0].1, 2);
    a.consume(&story::visit(3, [1.0; 5], false), FLUSH + 2);
    let third = a.flush(FLUSH + 3);
    let c = calls(&third, "inventory");
    assert_eq!(c[0].1, 3);
    let Some(metric::Data::Sum(sum)) =
        &metric(&third, "inventory", "traces.span.metrics.calls").data
    else {
        panic!()
    };
    assert_eq!(sum.aggregation_temporality, 2, "cumulative");
    assert_eq!(sum.data_points[0].start_time_unix_nano, T0);
}

#[test]
fn delta_resets_after_each_flush_and_chains_start_times() {
    let mut a = agg(&format!(
        "{SEED}\naggregation_temporality: AGGREGATION_TEMPORALITY_DELTA"
    ));
    a.consume(&story::visits().resource_spans, T0);
    let first = a.flush(FLUSH);
    assert_eq!(calls(&first, "inventory")[0].1, 2);
    assert!(
        a.flush(FLUSH + 5).resource_metrics.is_empty(),
        "nothing new, nothing held"
    );
    a.consume(&story::visit(3, [1.0; 5], false), FLUSH + 10);
    let second = a.flush(FLUSH + 20);
    let Some(metric::Data::Sum(sum)) =
        &metric(&second, "inventory", "traces.span.metrics.calls").data
    else {
        panic!()
    };
    assert_eq!(sum.aggregation_temporality, 1, "delta");
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(1))
    );
    assert_eq!(
        (
            sum.data_points[0].start_time_unix_nano,
            sum.data_points[0].time_unix_nano
        ),
        (FLUSH, FLUSH + 20),
        "the series starts where its last point ended"
    );
}

#[test]
fn dimension_is_looked_up_in_span_then_resource_then_default_else_omitted() {
    let mut a = agg(
        "dimensions: [{name: telemetry.sdk.language}, {name: region, default: eu}, {name: absent}]",
    );
    a.consume(&story::visit(0, [1.0; 5], false)[2..], T0);
    let out = a.flush(FLUSH);
    assert_eq!(
        calls(&out, "inventory"),
        vec![(
            "service.name=inventory,span.name=/inventory,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET,telemetry.sdk.language=python,region=eu".into(),
            1
        )]
    );
}

#[test]
fn exclude_dimensions_and_collector_instance_id() {
    let cfg = config("exclude_dimensions: [status.code, span.kind]");
    let gates = Gates {
        collector_instance_id: Some("c0ffee".into()),
        ..Gates::default()
    };
    let mut a = Aggregator::new(&cfg, &gates);
    a.consume(&story::visits().resource_spans[4..6], T0);
    let out = a.flush(FLUSH);
    assert_eq!(
        calls(&out, "grocery-store"),
        vec![
            ("service.name=grocery-store,span.name=/products,collector.instance.id=c0ffee".into(), 1),
            ("service.name=grocery-store,span.name=inventory request,collector.instance.id=c0ffee".into(), 1),
        ]
    );
    let cfg = config("exclude_dimensions: [collector.instance.id]");
    let mut a = Aggregator::new(&cfg, &gates);
    a.consume(&story::visits().resource_spans[5..6], T0);
    assert!(!labels(&calls_points(&a.flush(FLUSH))[0]).contains("collector"));
}

fn calls_points(req: &ExportMetricsServiceRequest) -> Vec<Vec<KeyValue>> {
    req.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics[0].metrics)
        .filter(|m| m.name.ends_with(".calls"))
        .flat_map(|m| match &m.data {
            Some(metric::Data::Sum(s)) => {
                s.data_points.iter().map(|p| p.attributes.clone()).collect()
            }
            _ => Vec::new(),
        })
        .collect()
}

fn many_span_names(n: usize) -> Vec<pdata::proto::trace::v1::ResourceSpans> {
    let mut v = story::visit(0, [1.0; 5], false);
    let inventory = v.pop().unwrap();
    let mut rs = inventory.clone();
    rs.scope_spans[0].spans = (0..n)
        .map(|i| {
            story::span(
                1,
                5,
                4,
                &format!("/item/{i}"),
                SpanKind::Server,
                T0,
                1.0,
                false,
                vec![],
            )
        })
        .collect();
    vec![rs]
}

#[test]
fn cardinality_limit_overflows_into_one_series_and_counts() {
    let mut a = agg("aggregation_cardinality_limit: 3");
    let outcome = a.consume(&many_span_names(10), T0);
    // calls and duration each overflow 7 spans.
    assert_eq!(outcome.overflowed, 14);
    let out = a.flush(FLUSH);
    let c = calls(&out, "inventory");
    assert_eq!(c.len(), 4);
    assert_eq!(c[3], (format!("{OVERFLOW_KEY}=true"), 7));
    let d = durations(&out, "inventory");
    assert_eq!((d[3].0.as_str(), d[3].2), ("otel.metric.overflow=true", 7));
    // Known series keep counting past the limit.
    a.consume(&many_span_names(1), T0 + 1);
    assert_eq!(calls(&a.flush(FLUSH + 1), "inventory")[0].1, 2);
}

#[test]
fn unlimited_config_is_still_bounded_by_the_safety_limit() {
    let mut a = agg("histogram: {disable: true}");
    let outcome = a.consume(&many_span_names(super::SAFETY_MAX_SERIES + 5), T0);
    assert_eq!(outcome.overflowed, 5);
    assert_eq!(a.series(), super::SAFETY_MAX_SERIES);
}

#[test]
fn resource_cache_evicts_least_recently_used_and_exports_it_once_more() {
    let mut a = agg("resource_metrics_cache_size: 2");
    let v = story::visits().resource_spans;
    a.consume(&v[0..1], T0); // shopper
    a.consume(&v[1..2], T0 + 1); // grocery-store
    a.consume(&v[0..1], T0 + 2); // shopper again: grocery-store is now the oldest
    let o = a.consume(&v[2..3], T0 + 3); // inventory evicts grocery-store
    assert_eq!(o.evicted_resources, 1);
    assert_eq!(
        a.flush(FLUSH).resource_metrics.len(),
        3,
        "the evicted one a last time"
    );
    assert_eq!(a.flush(FLUSH + 1).resource_metrics.len(), 2);
}

#[test]
fn metrics_expiration_drops_resources_without_new_spans() {
    let mut a = agg("metrics_expiration: 30s");
    a.consume(&story::visits().resource_spans[0..1], T0);
    a.consume(&story::visits().resource_spans[2..3], FLUSH - 1_000_000_000);
    // As Go: built first, then expired.
    assert_eq!(a.flush(FLUSH).resource_metrics.len(), 2);
    let out = a.flush(FLUSH + 1);
    assert_eq!(out.resource_metrics.len(), 1, "shopper last seen 60s ago");
    calls(&out, "inventory");
}

#[test]
fn exemplars_carry_trace_and_span_ids_up_to_the_limit_and_are_cleared() {
    let mut a = agg("exemplars: {enabled: true, max_per_data_point: 1}");
    a.consume(&story::visits().resource_spans[2..3], T0);
    a.consume(&story::visit(1, [2.0; 5], false)[2..], T0);
    let out = a.flush(FLUSH);
    let m = metric(&out, "inventory", "traces.span.metrics.duration");
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!()
    };
    let ex = &h.data_points[0].exemplars;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].trace_id, vec![1; 16]);
    assert_eq!(ex[0].span_id, vec![1, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(ex[0].time_unix_nano, FLUSH);
    assert_eq!(
        ex[0].value,
        Some(pdata::proto::metrics::v1::exemplar::Value::AsDouble(3.0))
    );
    let again = a.flush(FLUSH + 1);
    let m = metric(&again, "inventory", "traces.span.metrics.duration");
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!()
    };
    assert!(h.data_points[0].exemplars.is_empty());
}

#[test]
fn events_are_counted_with_event_dimensions() {
    let mut a = agg("events: {enabled: true, dimensions: [{name: exception.type}]}");
    let mut rs = story::visits().resource_spans[2..3].to_vec();
    let ev = |t: &str| pdata::proto::trace::v1::span::Event {
        name: "exception".into(),
        attributes: vec![story::str_kv("exception.type", t)],
        ..Default::default()
    };
    rs[0].scope_spans[0].spans[0].events = vec![ev("Timeout"), ev("Timeout"), ev("KeyError")];
    a.consume(&rs, T0);
    let out = a.flush(FLUSH);
    let Some(metric::Data::Sum(sum)) =
        &metric(&out, "inventory", "traces.span.metrics.events").data
    else {
        panic!()
    };
    let got: Vec<(String, Option<number_data_point::Value>)> = sum
        .data_points
        .iter()
        .map(|p| (labels(&p.attributes), p.value))
        .collect();
    let base = "service.name=inventory,span.name=/inventory,span.kind=SPAN_KIND_SERVER,status.code=STATUS_CODE_UNSET";
    assert_eq!(
        got,
        vec![
            (
                format!("{base},exception.type=Timeout"),
                Some(number_data_point::Value::AsInt(2))
            ),
            (
                format!("{base},exception.type=KeyError"),
                Some(number_data_point::Value::AsInt(1))
            ),
        ]
    );
}

#[test]
fn exponential_histogram_in_seconds() {
    let mut a = agg("histogram: {unit: s, exponential: {max_size: 160}}");
    a.consume(&story::visits().resource_spans[2..3], T0);
    let out = a.flush(FLUSH);
    let m = metric(&out, "inventory", "traces.span.metrics.duration");
    assert_eq!(m.unit, "s");
    let Some(metric::Data::ExponentialHistogram(h)) = &m.data else {
        panic!()
    };
    let p = &h.data_points[0];
    assert_eq!(
        (p.count, p.sum, p.min, p.max),
        (1, Some(0.003), Some(0.003), Some(0.003))
    );
    assert_eq!(p.scale, 20);
    assert_eq!(p.positive.as_ref().unwrap().bucket_counts, vec![1]);
}

#[test]
fn spans_without_service_name_are_ignored_and_legacy_names_gate() {
    let cfg = config("{}");
    let mut a = Aggregator::new(
        &cfg,
        &Gates {
            legacy_metric_names: true,
            ..Gates::default()
        },
    );
    let mut rs = story::visits().resource_spans;
    rs[0].resource.as_mut().unwrap().attributes.remove(0);
    a.consume(&rs[0..1], T0);
    a.consume(&rs[4..5], T0);
    let out = a.flush(FLUSH);
    assert_eq!(out.resource_metrics.len(), 1);
    let names: Vec<&str> = out.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, vec!["calls", "duration"]);
}

#[test]
fn gates_default_to_gos_stages() {
    let g = super::gates_from(&[]);
    assert!(g.collector_instance_id.is_some());
    assert!(!g.legacy_metric_names && !g.exclude_resource_metrics);
    let g = super::gates_from(&[
        "-connector.spanmetrics.includeCollectorInstanceID".into(),
        "+connector.spanmetrics.legacyMetricNames".into(),
    ]);
    assert!(g.collector_instance_id.is_none());
    assert!(g.legacy_metric_names);
    let id = super::collector_instance_id();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
}

#[tokio::test]
async fn factory_flushes_on_the_interval_and_at_shutdown() {
    let f = Factory;
    let v = ::config::Value::from_yaml_str("metrics_flush_interval: 50ms").unwrap();
    let cfg = f.parse_config(&v, "connectors::span_metrics").unwrap();
    let sink = Arc::new(Collect::default());
    let set = Settings {
        id: ::config::ComponentId::parse("span_metrics").unwrap(),
        kind: Kind::Connector,
        telemetry: Telemetry::new("normal"),
    };
    let c = f
        .create(set, &cfg, Signal::Traces, Signal::Metrics, sink.clone())
        .unwrap();
    c.start(&runtime::Host::default()).await.unwrap();
    c.consume(Batch::from_request(Request::Traces(story::visits())))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = sink.requests().len();
    assert!(n >= 1, "flushed on the ticker");
    c.shutdown().await.unwrap();
    let reqs = sink.requests();
    // A tick may still land between the count and the shutdown: at least one more.
    assert!(reqs.len() > n, "one more flush at shutdown");
    let Request::Metrics(m) = reqs.last().unwrap() else {
        panic!()
    };
    let c = calls(m, "inventory");
    assert_eq!(c.iter().map(|(_, n)| n).sum::<i64>(), 3);
    assert!(
        c[0].0.contains("collector.instance.id="),
        "the beta gate is on"
    );
}

#[test]
fn both_names_are_registered() {
    use runtime::registry::Lookup;
    let r = crate::registry();
    assert!(matches!(
        r.lookup_connector("span_metrics"),
        Lookup::Found(_)
    ));
    match r.lookup_connector("spanmetrics") {
        Lookup::Deprecated(_, msg) => assert!(msg.contains("\"span_metrics\"")),
        _ => panic!("spanmetrics is the deprecated alias"),
    }
}

#[test]
fn resource_metrics_key_attributes_merge_resources_that_differ_elsewhere() {
    let v = story::visits().resource_spans;
    let mut other = v[2].clone(); // inventory, visit 0
    other.resource.as_mut().unwrap().attributes[1] = story::str_kv("telemetry.sdk.language", "go");
    let mut a = agg("resource_metrics_key_attributes: [service.name]");
    a.consume(&[v[2].clone(), other.clone()], T0);
    let out = a.flush(FLUSH);
    assert_eq!(out.resource_metrics.len(), 1, "keyed by service.name only");
    assert_eq!(calls(&out, "inventory")[0].1, 2);
    // The first resource seen is the one reported.
    let res = &out.resource_metrics[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert_eq!(
        labels(res),
        "service.name=inventory,telemetry.sdk.language=python"
    );
    let mut a = agg("{}");
    a.consume(&[v[2].clone(), other], T0);
    assert_eq!(
        a.flush(FLUSH).resource_metrics.len(),
        2,
        "by default every attribute counts"
    );
}

#[test]
fn include_instrumentation_scope_adds_the_scope_of_listed_libraries() {
    let mut a = agg("include_instrumentation_scope: [inventory.app]");
    a.consume(&story::visits().resource_spans[1..3], T0);
    let out = a.flush(FLUSH);
    assert!(calls(&out, "inventory")[0].0.ends_with(
        ",span.instrumentation.scope.name=inventory.app,span.instrumentation.scope.version=0.1.0"
    ));
    assert!(!calls(&out, "grocery-store")[0].0.contains("scope"));
}

/// The encoded path counts exactly what the decoded path counts: random requests (every
/// attribute type, several resources and scopes, missing fields) with dimensions that hit
/// span and resource attributes, defaults, exemplars and instrumentation scopes.
#[test]
fn encoded_and_decoded_requests_give_the_same_metrics() {
    use prost::Message;
    let yaml = "dimensions: [{name: http.method}, {name: http.request.method}, {name: http.response.status_code}, {name: app.cache_hit}, {name: app.user, default: anon}, {name: host.name}, {name: service.namespace}, {name: http.status_code}]
calls_dimensions: [{name: app.payload}, {name: app.duration_ms}]
exemplars: {enabled: true, max_per_data_point: 3}
include_instrumentation_scope: [app, db.client, inventory.app]
aggregation_cardinality_limit: 50";
    for seed in 0..8u64 {
        let req = pdata::testdata::traces(3, 40, seed);
        let mut story_req = story::visits();
        story_req.resource_spans.extend(req.resource_spans.clone());
        for r in [req, story_req] {
            let bytes = r.encode_to_vec();
            let mut decoded = agg(yaml);
            let mut encoded = agg(yaml);
            let a = decoded.consume(&r.resource_spans, T0);
            let b = encoded.consume_encoded(&bytes, T0).unwrap();
            assert_eq!(a, b, "seed {seed}");
            assert_eq!(decoded.flush(FLUSH), encoded.flush(FLUSH), "seed {seed}");
        }
    }
    // Truncated bytes are an error, not a panic.
    let bytes = story::visits().encode_to_vec();
    let mut a = agg(yaml);
    for n in [1, 7, bytes.len() / 2, bytes.len() - 1] {
        let _ = a.consume_encoded(&bytes[..n], T0);
    }
}

#[tokio::test]
async fn factory_counts_an_encoded_batch_without_decoding_it() {
    use prost::Message;
    let f = Factory;
    let v = ::config::Value::from_yaml_str(SEED).unwrap();
    let cfg = f.parse_config(&v, "connectors::span_metrics").unwrap();
    let sink = Arc::new(Collect::default());
    let set = Settings {
        id: ::config::ComponentId::parse("span_metrics").unwrap(),
        kind: Kind::Connector,
        telemetry: Telemetry::new("normal"),
    };
    let c = f
        .create(set, &cfg, Signal::Traces, Signal::Metrics, sink.clone())
        .unwrap();
    let batch = Batch::from_encoded(
        Signal::Traces,
        bytes::Bytes::from(story::visits().encode_to_vec()),
    )
    .unwrap();
    c.consume(batch.clone()).await.unwrap();
    assert!(batch.is_encoded());
    c.shutdown().await.unwrap();
    let reqs = sink.requests();
    let Request::Metrics(m) = reqs.last().unwrap() else {
        panic!()
    };
    assert_eq!(calls(m, "shopper").iter().map(|(_, n)| n).sum::<i64>(), 6);
}
