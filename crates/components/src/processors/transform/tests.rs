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

fn spans(names: &[&str]) -> Batch {
    Batch::from_request(Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
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
}

fn span_names(reqs: &[Request]) -> Vec<String> {
    let mut out = Vec::new();
    for r in reqs {
        let Request::Traces(t) = r else {
            panic!("traces")
        };
        for rs in &t.resource_spans {
            for ss in &rs.scope_spans {
                out.extend(ss.spans.iter().map(|s| s.name.clone()));
            }
        }
    }
    out
}

/// The OpenTelemetry Demo's transform (public_configs/otel-demo.yaml).
#[tokio::test]
async fn otel_demo_span_name_cleanup() {
    let yaml = r#"
error_mode: ignore
trace_statements:
  - context: span
    statements:
      - replace_pattern(name, "\\?.*", "")
      - replace_match(name, "GET /api/products/*", "GET /api/products/{productId}")
"#;
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(spans(&[
        "GET /api/products/OLJCESPC7Z?currency=USD",
        "GET /api/cart?x=1",
        "POST /api/checkout",
    ]))
    .await
    .unwrap();
    assert_eq!(
        span_names(&sink.requests()),
        vec![
            "GET /api/products/{productId}",
            "GET /api/cart",
            "POST /api/checkout"
        ]
    );
}

/// Grafana Cloud's getting-started transform (public_configs/vendor-grafana-cloud.yaml).
#[tokio::test]
async fn grafana_cloud_copies_resource_attributes_to_datapoints() {
    let yaml = r#"
error_mode: ignore
metric_statements:
  - context: datapoint
    statements:
      - set(attributes["deployment.environment"], resource.attributes["deployment.environment"])
      - set(attributes["service.version"], resource.attributes["service.version"])
"#;
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    let batch = Batch::from_request(Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("deployment.environment", "prod")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint::default(); 2],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }));
    p.consume(batch).await.unwrap();
    let reqs = sink.requests();
    let Request::Metrics(m) = &reqs[0] else {
        panic!()
    };
    let Some(Data::Gauge(g)) = &m.resource_metrics[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    for dp in &g.data_points {
        // a nil value (the absent service.version) sets nothing
        assert_eq!(dp.attributes, vec![kv("deployment.environment", "prod")]);
    }
}

fn log_batch(bodies: &[&str]) -> Batch {
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource::default()),
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
async fn error_mode_propagate_drops_the_batch_with_the_statement_ignore_goes_on() {
    let statements = r#"
  - set(log.attributes["short"], Substring(log.body, 0, 4))
  - set(log.attributes["seen"], "yes")
"#;
    let (p, sink, _) = create(
        &Factory,
        &format!("log_statements:{statements}"),
        Signal::Logs,
    )
    .unwrap();
    let e = p.consume(log_batch(&["abc", "abcdef"])).await.unwrap_err();
    assert!(
        e.to_string().contains(r#"failed to execute statement: set(log.attributes["short"], Substring(log.body, 0, 4)), invalid range"#),
        "{e}"
    );
    assert!(
        sink.requests().is_empty(),
        "propagate is the default: nothing goes on"
    );

    let (p, sink, _) = create(
        &Factory,
        &format!("error_mode: ignore\nlog_statements:{statements}"),
        Signal::Logs,
    )
    .unwrap();
    p.consume(log_batch(&["abc", "abcdef"])).await.unwrap();
    let reqs = sink.requests();
    let Request::Logs(l) = &reqs[0] else { panic!() };
    let recs = &l.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].attributes, vec![kv("seen", "yes")]);
    assert_eq!(
        recs[1].attributes,
        vec![kv("short", "abcd"), kv("seen", "yes")]
    );
}

#[test]
fn config_errors_name_the_statement_and_reason() {
    let cases = [
        (
            "trace_statements:\n  - set(span.name, Nope(1))\n",
            r#"unable to parse OTTL statement "set(span.name, Nope(1))": 1:16: error while parsing arguments for call to "set": invalid argument at position 1: undefined function "Nope""#,
        ),
        (
            "log_statements:\n  - set(log.body, \"x)\n",
            "unable to parse OTTL statement",
        ),
        (
            "log_statements:\n  - context: log\n    statements: [\"Set(body, 1)\"]\n",
            "editor names must start with a lowercase letter but got 'Set'",
        ),
        (
            "log_statements:\n  - set(log.body, \"x\")\n  - context: log\n    statements: []\n",
            "configuring multiple configuration styles is not supported",
        ),
        (
            "log_statements:\n  - context: span\n    statements: [\"set(name, 1)\"]\n",
            "unknown context span",
        ),
        ("error_mode: loud\n", "unknown error mode loud"),
        (
            "flatten_data: true\n",
            "'flatten_data' requires the 'transform.flatten.logs' feature gate to be enabled",
        ),
        ("trace_statement: []\n", "trace_statement"),
        (
            "log_statements:\n  - context: log\n    statments: [\"set(body, 1)\"]\n",
            "statments",
        ),
    ];
    for (yaml, want) in cases {
        let e = parse(&Factory, "processors::transform", yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
    assert!(parse(&Factory, "processors::transform", "{}").is_ok());
}
