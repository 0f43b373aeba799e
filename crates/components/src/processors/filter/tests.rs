use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use pdata::{Batch, Request, Signal};

use super::Factory;
use crate::processors::testing::{create, parse};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}

/// A gauge `name` with `points` data points.
fn metric(name: &str, points: usize) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); points],
        })),
        ..Default::default()
    }
}

/// Two resources (host a and b), each with the network metrics of the seed.
fn host_metrics() -> Batch {
    let rm = |host: &str| ResourceMetrics {
        resource: resource(vec![kv("host.name", host)]),
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![
                metric("system.network.io", 4),
                metric("system.network.connections", 12),
                metric("system.cpu.time", 16),
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    Batch::from_request(Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![rm("a"), rm("b")],
    }))
}

/// (resource host.name, metric names) of every request the sink got.
fn metric_names(reqs: &[Request]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for r in reqs {
        let Request::Metrics(m) = r else {
            panic!("metrics")
        };
        for rm in &m.resource_metrics {
            let host = rm
                .resource
                .as_ref()
                .and_then(|r| r.attributes.first())
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let names = rm
                .scope_metrics
                .iter()
                .flat_map(|s| &s.metrics)
                .map(|m| m.name.clone())
                .collect();
            out.push((host, names));
        }
    }
    out
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn seed_config_drops_network_connections_everywhere_and_counts_its_points() {
    // shared/configs/seed-hostmetrics.yaml
    let yaml = "metrics:\n  exclude:\n    match_type: strict\n    metric_names:\n      - system.network.connections\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    let want = names(&["system.network.io", "system.cpu.time"]);
    assert_eq!(
        metric_names(&sink.requests()),
        [("a".to_string(), want.clone()), ("b".to_string(), want)]
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_filter_datapoints_filtered",
            &[("filter", "filter")]
        ),
        Some(24.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_outgoing_items",
            &[("otel_signal", "metrics")]
        ),
        Some(40.0)
    );
}

#[tokio::test]
async fn include_regexp_keeps_only_matching_metric_names() {
    let yaml = "metrics:\n  include:\n    match_type: regexp\n    metric_names: ['^system\\.network\\.']\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    let want = names(&["system.network.io", "system.network.connections"]);
    assert_eq!(
        metric_names(&sink.requests()),
        [("a".to_string(), want.clone()), ("b".to_string(), want)]
    );
}

#[tokio::test]
async fn strict_names_are_exact_and_case_sensitive() {
    let yaml = "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [System.Network.Connections, system.network]\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    assert_eq!(metric_names(&sink.requests())[0].1.len(), 3);
}

#[tokio::test]
async fn exclude_with_names_and_resource_attributes_drops_either_as_go_does() {
    // Go evaluates the resource attributes on their own: the matching resource goes whole,
    // and the named metric goes from every resource.
    let yaml = "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [system.cpu.time]\n    resource_attributes:\n      - key: host.name\n        value: a\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    assert_eq!(
        metric_names(&sink.requests()),
        [(
            "b".to_string(),
            names(&["system.network.io", "system.network.connections"])
        )]
    );
    assert_eq!(
        tel.value("otelcol_processor_filter_datapoints_filtered", &[]),
        Some(32.0 + 16.0)
    );
}

#[tokio::test]
async fn include_resource_attributes_keeps_only_matching_resources() {
    let yaml = "metrics:\n  include:\n    match_type: regexp\n    resource_attributes:\n      - key: host.name\n        value: ^b$\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    let got = metric_names(&sink.requests());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "b");
}

#[tokio::test]
async fn a_batch_filtered_to_nothing_goes_no_further() {
    let yaml = "metrics:\n  exclude:\n    match_type: regexp\n    metric_names: ['.*']\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    assert!(sink.requests().is_empty());
}

#[tokio::test]
async fn a_signal_without_a_filter_passes_untouched() {
    let yaml = "metrics:\n  exclude:\n    match_type: strict\n    metric_names: [x]\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(spans()).await.unwrap();
    assert_eq!(span_names(&sink.requests()).len(), 3);
}

fn spans() -> Batch {
    let rs = |service: &str, spans: Vec<Span>| ResourceSpans {
        resource: resource(vec![kv("service.name", service)]),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    };
    let span = |name: &str, kind: i32| Span {
        name: name.into(),
        kind,
        ..Default::default()
    };
    Batch::from_request(Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![
            rs("shopper", vec![span("GET /", 3), span("healthz", 2)]),
            rs("grocery-store", vec![span("GET /products", 2)]),
        ],
    }))
}

fn span_names(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .flat_map(|r| match r {
            Request::Traces(t) => t.resource_spans.clone(),
            _ => panic!("traces"),
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .map(|s| s.name)
        .collect()
}

#[tokio::test]
async fn spans_exclude_by_span_name_and_include_by_service() {
    let yaml = "spans:\n  exclude:\n    match_type: strict\n    span_names: [healthz]\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(spans()).await.unwrap();
    assert_eq!(span_names(&sink.requests()), ["GET /", "GET /products"]);
    assert_eq!(
        tel.value("otelcol_processor_filter_spans_filtered", &[]),
        Some(1.0)
    );

    let yaml = "spans:\n  include:\n    match_type: regexp\n    services: ['^grocery']\n    span_kinds: [SPAN_KIND_SERVER]\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(spans()).await.unwrap();
    assert_eq!(span_names(&sink.requests()), ["GET /products"]);
}

fn logs() -> Batch {
    let record = |body: &str, sev: i32, text: &str| LogRecord {
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.into())),
        }),
        severity_number: sev,
        severity_text: text.into(),
        attributes: vec![kv("http.route", "/cart")],
        ..Default::default()
    };
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(vec![kv("service.name", "shopper")]),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    record("GET / 200", 9, "INFO"),
                    record("slow request", 13, "WARN"),
                    record("boom", 17, "ERROR"),
                    record("no severity", 0, ""),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

fn bodies(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .flat_map(|r| match r {
            Request::Logs(l) => l.resource_logs.clone(),
            _ => panic!("logs"),
        })
        .flat_map(|rl| rl.scope_logs)
        .flat_map(|sl| sl.log_records)
        .map(|r| match r.body.and_then(|b| b.value) {
            Some(Value::StringValue(s)) => s,
            _ => String::new(),
        })
        .collect()
}

#[tokio::test]
async fn logs_include_severity_number_min_by_name_and_match_undefined() {
    let yaml =
        "logs:\n  include:\n    severity_number:\n      min: WARN\n      match_undefined: true\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs()).await.unwrap();
    assert_eq!(
        bodies(&sink.requests()),
        ["slow request", "boom", "no severity"]
    );
    assert_eq!(
        tel.value("otelcol_processor_filter_logs_filtered", &[]),
        Some(1.0)
    );
}

#[tokio::test]
async fn logs_exclude_bodies_regexp_and_record_and_resource_attributes() {
    let yaml = "logs:\n  exclude:\n    match_type: regexp\n    bodies: ['^GET ', boom]\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs()).await.unwrap();
    assert_eq!(bodies(&sink.requests()), ["slow request", "no severity"]);

    let yaml = "logs:\n  exclude:\n    match_type: strict\n    severity_texts: [ERROR]\n    record_attributes: [{key: http.route, value: /cart}]\n    resource_attributes: [{key: service.name, value: shopper}]\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs()).await.unwrap();
    assert_eq!(
        bodies(&sink.requests()),
        ["GET / 200", "slow request", "no severity"]
    );
}

fn logs_batch(bodies: &[&str]) -> Batch {
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(vec![kv("service.name", "checkout")]),
            scope_logs: vec![ScopeLogs {
                log_records: bodies
                    .iter()
                    .map(|b| LogRecord {
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(b.to_string())),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

#[tokio::test]
async fn ottl_log_record_conditions_drop_matching_records_and_count_them() {
    let yaml =
        "logs:\n  log_record:\n    - 'IsMatch(body, \".*health.*\")'\n    - 'body == \"noise\"'\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs_batch(&[
        "GET /healthz",
        "order placed",
        "noise",
        "paid",
    ]))
    .await
    .unwrap();
    assert_eq!(bodies(&sink.requests()), vec!["order placed", "paid"]);
    assert_eq!(
        tel.value(
            "otelcol_processor_filter_logs_filtered",
            &[("filter", "filter")]
        ),
        Some(2.0)
    );
    // Everything dropped: nothing goes on, and it is not an error.
    p.consume(logs_batch(&["noise"])).await.unwrap();
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn log_conditions_infer_contexts_and_resource_conditions_drop_whole_resources() {
    let yaml = "log_conditions:\n  - 'resource.attributes[\"service.name\"] == \"checkout\"'\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs_batch(&["a", "b", "c"])).await.unwrap();
    assert!(sink.requests().is_empty());
    assert_eq!(
        tel.value(
            "otelcol_processor_filter_logs_filtered",
            &[("filter", "filter")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn ottl_spans_and_data_points_are_filtered_in_their_pipelines() {
    let yaml = "traces:\n  span:\n    - 'name == \"drop\"'\nmetrics:\n  datapoint:\n    - 'metric.name == \"system.network.connections\"'\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Traces).unwrap();
    let spans = |names: &[&str]| {
        Batch::from_request(Request::Traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: names
                        .iter()
                        .map(|n| Span {
                            name: n.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }))
    };
    p.consume(spans(&["keep", "drop", "drop"])).await.unwrap();
    assert_eq!(sink.batches()[0].item_count(), 1);
    assert_eq!(
        tel.value(
            "otelcol_processor_filter_spans_filtered",
            &[("filter", "filter")]
        ),
        Some(2.0)
    );
    let (p, sink, tel) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(host_metrics()).await.unwrap();
    let want = names(&["system.network.io", "system.cpu.time"]);
    assert_eq!(
        metric_names(&sink.requests()),
        [("a".to_string(), want.clone()), ("b".to_string(), want)]
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_filter_datapoints_filtered",
            &[("filter", "filter")]
        ),
        Some(24.0)
    );
}

#[tokio::test]
async fn error_mode_propagate_refuses_the_batch_and_ignore_drops_nothing_else() {
    // Substring past the end of a short body fails at run time.
    let cond = "    - 'Substring(body, 0, 10) == \"x\"'\n    - 'body == \"noise\"'\n";
    let (p, sink, _) = create(
        &Factory,
        &format!("error_mode: propagate\nlogs:\n  log_record:\n{cond}"),
        Signal::Logs,
    )
    .unwrap();
    let err = p
        .consume(logs_batch(&["short", "noise", "a long enough body"]))
        .await
        .unwrap_err();
    assert!(err.message.contains("Substring"), "{}", err.message);
    assert!(!err.is_retryable());
    assert!(sink.requests().is_empty());

    let (p, sink, _) = create(
        &Factory,
        &format!("error_mode: ignore\nlogs:\n  log_record:\n{cond}"),
        Signal::Logs,
    )
    .unwrap();
    p.consume(logs_batch(&["short", "noise", "a long enough body"]))
        .await
        .unwrap();
    assert_eq!(
        bodies(&sink.requests()),
        vec!["short", "a long enough body"]
    );
}

#[test]
fn ottl_config_errors_name_the_condition_and_mixing_forms_is_refused() {
    let cases = [
        ("logs:\n  log_record:\n    - 'set(body, \"x\")'\n", "set"),
        (
            "traces:\n  span:\n    - 'attributes[\"x\" == 1'\n",
            "unable to parse OTTL condition \"attributes[\\\"x\\\" == 1\": 1:12",
        ),
        (
            "logs:\n  log_record: ['body == \"x\"']\n  exclude:\n    match_type: strict\n    bodies: [x]\n",
            "cannot use ottl conditions and include/exclude for logs at the same time",
        ),
        (
            "metric_conditions: ['metric.name == \"x\"']\nmetrics:\n  exclude:\n    match_type: strict\n    metric_names: [x]\n",
            "cannot use ottl conditions and include/exclude for metrics at the same time",
        ),
        (
            "traces:\n  span: ['name == \"x\"']\nspans:\n  exclude:\n    match_type: strict\n    span_names: [x]\n",
            "cannot use ottl conditions and include/exclude for spans at the same time",
        ),
        (
            "profiles:\n  profile: ['true']\n",
            "profiles: filtering profiles is not built in ferrotel yet",
        ),
        (
            "log_conditions:\n  - error_mode: loud\n    conditions: ['true']\n",
            "unknown error mode loud",
        ),
    ];
    for (yaml, want) in cases {
        let e = parse(&Factory, "processors::filter", yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}

#[test]
fn legacy_errors_read_as_go_and_expr_is_refused() {
    let cases = [
        (
            "metrics:\n  exclude:\n    match_type: expr\n    expressions: ['MetricName == \"x\"']\n",
            "processors::filter::metrics: match_type: expr (expr-lang expressions over MetricName, Label, HasLabel) is not built in ferrotel yet; use strict or regexp",
        ),
        (
            "metrics:\n  exclude:\n    match_type: glob\n    metric_names: [x]\n",
            "processors::filter::metrics: unrecognized match_type: 'glob', valid types are: [regexp strict]",
        ),
        (
            "spans:\n  include:\n    match_type: strict\n",
            "processors::filter::spans: at least one of \"attributes\", \"libraries\",  or \"resources\" field must be specified",
        ),
        (
            "metrics:\n  include:\n    match_type: regexp\n    metric_names: ['(']\n",
            "processors::filter::metrics: error parsing regexp: missing closing ): `(`",
        ),
        (
            "error_mode: loud\n",
            "processors::filter::error_mode: unknown error mode loud",
        ),
        (
            "metrics:\n  exclude:\n    match_type: strict\n    metric_name: [x]\n",
            "processors::filter::metrics::exclude: has invalid keys: metric_name",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(
            parse(&Factory, "processors::filter", yaml).unwrap_err(),
            want,
            "{yaml}"
        );
    }
}
