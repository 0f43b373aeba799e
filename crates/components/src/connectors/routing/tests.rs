//! The routing connector on the Go README's examples: each item reaches exactly the
//! pipelines of the first route it matches, the rest the default pipelines.

use std::sync::Arc;

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use pdata::{Batch, ClientInfo, Request, Signal};
use runtime::factory::{ConnectorFactory, Settings};
use runtime::{Connector, Kind, SharedConsumer, Telemetry};

use super::Factory;
use crate::processors::testing::Collect;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn parse(yaml: &str) -> Result<runtime::AnyConfig, String> {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    Factory
        .parse_config(&value, "connectors::routing")
        .map_err(|e| e.to_string())
}

struct Routed {
    connector: Arc<dyn Connector>,
    sinks: Vec<(&'static str, Arc<Collect>)>,
    tel: Telemetry,
}

impl Routed {
    fn sink(&self, pipeline: &str) -> &Collect {
        &self
            .sinks
            .iter()
            .find(|(p, _)| *p == pipeline)
            .expect("pipeline")
            .1
    }
}

fn routed(yaml: &str, signal: Signal, pipelines: &[&'static str]) -> Result<Routed, String> {
    let cfg = parse(yaml)?;
    let tel = Telemetry::default();
    let set = Settings {
        id: ::config::ComponentId::new("routing"),
        kind: Kind::Connector,
        telemetry: tel.clone(),
    };
    let sinks: Vec<(&'static str, Arc<Collect>)> = pipelines
        .iter()
        .map(|p| (*p, Arc::new(Collect::default())))
        .collect();
    let heads: Vec<(String, SharedConsumer)> = sinks
        .iter()
        .map(|(p, s)| (p.to_string(), s.clone() as SharedConsumer))
        .collect();
    let connector = Factory
        .create_router(&set, &cfg, signal, signal, &heads)
        .expect("a router")?;
    Ok(Routed {
        connector,
        sinks,
        tel,
    })
}

/// A record: body, attributes, severity number.
type Rec<'a> = (&'a str, &'a [(&'a str, &'a str)], i32);

/// Logs: one resource per (service, records).
fn logs(resources: &[(&str, &[Rec<'_>])]) -> Batch {
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: resources
            .iter()
            .map(|(svc, recs)| ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", svc)],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        ..Default::default()
                    }),
                    log_records: recs
                        .iter()
                        .map(|(body, attrs, sev)| LogRecord {
                            body: Some(AnyValue {
                                value: Some(Value::StringValue(body.to_string())),
                            }),
                            attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
                            severity_number: *sev,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }))
}

/// (service, body) of every record a sink received, in order.
fn got(sink: &Collect) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in sink.requests() {
        let Request::Logs(l) = r else { panic!("logs") };
        for rl in l.resource_logs {
            let svc = rl
                .resource
                .as_ref()
                .and_then(|r| r.attributes.first())
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value);
            let svc = match svc {
                Some(Value::StringValue(s)) => s,
                _ => String::new(),
            };
            for sl in rl.scope_logs {
                assert_eq!(sl.scope.as_ref().map(|s| s.name.as_str()), Some("lib"));
                for rec in sl.log_records {
                    let body = match rec.body.and_then(|b| b.value) {
                        Some(Value::StringValue(s)) => s,
                        _ => String::new(),
                    };
                    out.push((svc.clone(), body));
                }
            }
        }
    }
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const REGION: &str = "default_pipelines: [logs/other]\ntable:\n  - context: log\n    condition: attributes[\"region\"] == \"east\"\n    pipelines: [logs/east]\n  - context: log\n    condition: attributes[\"region\"] == \"west\"\n    pipelines: [logs/west]\n";

#[tokio::test]
async fn readme_region_example_sends_each_record_to_its_region_with_its_resource() {
    let r = routed(
        REGION,
        Signal::Logs,
        &["logs/east", "logs/west", "logs/other"],
    )
    .unwrap();
    r.connector
        .consume(logs(&[
            (
                "api",
                &[
                    ("a1", &[("region", "east")], 9),
                    ("a2", &[("region", "west")], 9),
                    ("a3", &[], 9),
                ],
            ),
            ("db", &[("d1", &[("region", "east")], 9)]),
        ]))
        .await
        .unwrap();
    assert_eq!(
        got(r.sink("logs/east")),
        pairs(&[("api", "a1"), ("db", "d1")])
    );
    assert_eq!(got(r.sink("logs/west")), pairs(&[("api", "a2")]));
    assert_eq!(got(r.sink("logs/other")), pairs(&[("api", "a3")]));
}

#[tokio::test]
async fn readme_tenant_example_routes_whole_requests_by_client_metadata() {
    let yaml = "default_pipelines: [logs/other]\ntable:\n  - context: request\n    condition: request[\"X-Tenant\"] == \"acme\"\n    pipelines: [logs/acme]\n  - context: request\n    condition: request[\"X-Tenant\"] == \"ecorp\"\n    pipelines: [logs/ecorp]\n";
    let r = routed(
        yaml,
        Signal::Logs,
        &["logs/acme", "logs/ecorp", "logs/other"],
    )
    .unwrap();
    let with_tenant = |t: Option<&str>, body: &'static str| {
        let b = logs(&[("svc", &[(body, &[], 9)])]);
        let info = t.map(|t| {
            let mut c = ClientInfo::default();
            // Metadata keys arrive lower-cased from HTTP/2 and gRPC.
            c.push("x-tenant", t.to_string());
            Arc::new(c)
        });
        b.with_client_info(info)
    };
    r.connector
        .consume(with_tenant(Some("acme"), "from acme"))
        .await
        .unwrap();
    r.connector
        .consume(with_tenant(Some("ecorp"), "from ecorp"))
        .await
        .unwrap();
    r.connector
        .consume(with_tenant(Some("initech"), "from initech"))
        .await
        .unwrap();
    r.connector
        .consume(with_tenant(None, "anonymous"))
        .await
        .unwrap();
    assert_eq!(got(r.sink("logs/acme")), pairs(&[("svc", "from acme")]));
    assert_eq!(got(r.sink("logs/ecorp")), pairs(&[("svc", "from ecorp")]));
    assert_eq!(
        got(r.sink("logs/other")),
        pairs(&[("svc", "from initech"), ("svc", "anonymous")])
    );
    // The metadata goes along with the routed data.
    let b = &r.sink("logs/acme").batches()[0];
    assert_eq!(b.client_info().unwrap().get("x-tenant"), ["acme"]);
}

#[tokio::test]
async fn readme_cheap_storage_example_takes_low_severity_first_then_routes_by_service() {
    let yaml = "table:\n  - context: log\n    condition: severity_number < SEVERITY_NUMBER_ERROR\n    pipelines: [logs/cheap]\n  - context: resource\n    condition: attributes[\"service.name\"] == \"service1\"\n    pipelines: [logs/service1]\n  - context: resource\n    condition: attributes[\"service.name\"] == \"service2\"\n    pipelines: [logs/service2]\n";
    let r = routed(
        yaml,
        Signal::Logs,
        &["logs/cheap", "logs/service1", "logs/service2"],
    )
    .unwrap();
    r.connector
        .consume(logs(&[
            ("service1", &[("info", &[], 9), ("boom", &[], 17)]),
            ("service2", &[("fatal", &[], 21)]),
            ("service3", &[("lost", &[], 17)]),
        ]))
        .await
        .unwrap();
    assert_eq!(got(r.sink("logs/cheap")), pairs(&[("service1", "info")]));
    assert_eq!(got(r.sink("logs/service1")), pairs(&[("service1", "boom")]));
    assert_eq!(
        got(r.sink("logs/service2")),
        pairs(&[("service2", "fatal")])
    );
    // No default pipelines: the unmatched record is dropped, and counted.
    assert_eq!(
        r.tel.value(
            "otelcol_connector_routing_unrouted_items",
            &[("connector", "routing"), ("otel_signal", "logs")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn an_item_matching_several_routes_goes_only_to_the_first() {
    let yaml = "default_pipelines: [logs/d]\ntable:\n  - context: log\n    condition: body == \"x\"\n    pipelines: [logs/a]\n  - context: log\n    condition: IsMatch(body, \".*\")\n    pipelines: [logs/b, logs/c]\n";
    let r = routed(
        yaml,
        Signal::Logs,
        &["logs/a", "logs/b", "logs/c", "logs/d"],
    )
    .unwrap();
    r.connector
        .consume(logs(&[("s", &[("x", &[], 9), ("y", &[], 9)])]))
        .await
        .unwrap();
    assert_eq!(got(r.sink("logs/a")), pairs(&[("s", "x")]));
    assert_eq!(got(r.sink("logs/b")), pairs(&[("s", "y")]));
    assert_eq!(got(r.sink("logs/c")), pairs(&[("s", "y")]));
    assert!(got(r.sink("logs/d")).is_empty());
}

#[tokio::test]
async fn statements_route_and_may_delete_the_routing_key() {
    let yaml = "table:\n  - statement: route() where attributes[\"service.name\"] == \"api\"\n    pipelines: [logs/api]\n  - context: log\n    statement: delete_key(attributes, \"tenant\") where attributes[\"tenant\"] == \"t1\"\n    pipelines: [logs/t1]\n";
    let r = routed(yaml, Signal::Logs, &["logs/api", "logs/t1"]).unwrap();
    r.connector
        .consume(logs(&[
            ("api", &[("a", &[], 9)]),
            (
                "web",
                &[("w", &[("tenant", "t1")], 9), ("v", &[("tenant", "t2")], 9)],
            ),
        ]))
        .await
        .unwrap();
    assert_eq!(got(r.sink("logs/api")), pairs(&[("api", "a")]));
    assert_eq!(got(r.sink("logs/t1")), pairs(&[("web", "w")]));
    let Request::Logs(l) = &r.sink("logs/t1").requests()[0] else {
        panic!()
    };
    assert!(
        l.resource_logs[0].scope_logs[0].log_records[0]
            .attributes
            .is_empty()
    );
}

#[tokio::test]
async fn error_mode_ignore_sends_failing_items_to_the_default_and_propagate_refuses() {
    // Substring past the end of a short body fails at run time.
    let table = "table:\n  - context: log\n    condition: Substring(body, 0, 5) == \"hello\"\n    pipelines: [logs/a]\n";
    let r = routed(
        &format!("error_mode: ignore\ndefault_pipelines: [logs/d]\n{table}"),
        Signal::Logs,
        &["logs/a", "logs/d"],
    )
    .unwrap();
    r.connector
        .consume(logs(&[("s", &[("hello world", &[], 9), ("hi", &[], 9)])]))
        .await
        .unwrap();
    assert_eq!(got(r.sink("logs/a")), pairs(&[("s", "hello world")]));
    assert_eq!(got(r.sink("logs/d")), pairs(&[("s", "hi")]));

    let r = routed(
        &format!("default_pipelines: [logs/d]\n{table}"),
        Signal::Logs,
        &["logs/a", "logs/d"],
    )
    .unwrap();
    let err = r
        .connector
        .consume(logs(&[("s", &[("hello world", &[], 9), ("hi", &[], 9)])]))
        .await
        .unwrap_err();
    assert!(err.message.contains("Substring"), "{}", err.message);
    assert!(r.sinks.iter().all(|(_, s)| s.batches().is_empty()));
}

#[tokio::test]
async fn spans_are_routed_one_by_one_and_resources_whole() {
    let yaml = "default_pipelines: [traces/d]\ntable:\n  - context: resource\n    condition: attributes[\"service.name\"] == \"db\"\n    pipelines: [traces/db]\n  - context: span\n    condition: name == \"checkout\"\n    pipelines: [traces/checkout]\n";
    let r = routed(
        yaml,
        Signal::Traces,
        &["traces/db", "traces/checkout", "traces/d"],
    )
    .unwrap();
    let rs = |svc: &str, names: &[&str]| ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", svc)],
            ..Default::default()
        }),
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
    };
    r.connector
        .consume(Batch::from_request(Request::Traces(
            ExportTraceServiceRequest {
                resource_spans: vec![
                    rs("db", &["checkout", "q"]),
                    rs("web", &["checkout", "home"]),
                ],
            },
        )))
        .await
        .unwrap();
    let count = |p: &str| -> usize { r.sink(p).batches().iter().map(|b| b.item_count()).sum() };
    assert_eq!(
        count("traces/db"),
        2,
        "the db resource whole, checkout included"
    );
    assert_eq!(count("traces/checkout"), 1);
    assert_eq!(count("traces/d"), 1);
}

#[tokio::test]
async fn data_points_are_routed_with_a_copy_of_their_metric() {
    let yaml = "default_pipelines: [metrics/d]\ntable:\n  - context: datapoint\n    condition: attributes[\"state\"] == \"idle\"\n    pipelines: [metrics/idle]\n";
    let r = routed(yaml, Signal::Metrics, &["metrics/idle", "metrics/d"]).unwrap();
    let points = |states: &[&str]| {
        states
            .iter()
            .map(|s| NumberDataPoint {
                attributes: vec![kv("state", s)],
                ..Default::default()
            })
            .collect()
    };
    r.connector
        .consume(Batch::from_request(Request::Metrics(
            ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    scope_metrics: vec![ScopeMetrics {
                        metrics: vec![
                            Metric {
                                name: "cpu".into(),
                                unit: "s".into(),
                                data: Some(Data::Gauge(Gauge {
                                    data_points: points(&["idle", "user", "idle"]),
                                })),
                                ..Default::default()
                            },
                            Metric {
                                name: "mem".into(),
                                data: Some(Data::Gauge(Gauge {
                                    data_points: points(&["used"]),
                                })),
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
        )))
        .await
        .unwrap();
    let metrics = |p: &str| -> Vec<(String, usize)> {
        let mut v = Vec::new();
        for req in r.sink(p).requests() {
            let Request::Metrics(m) = req else { panic!() };
            for rm in m.resource_metrics {
                for sm in rm.scope_metrics {
                    for m in sm.metrics {
                        let n = match &m.data {
                            Some(Data::Gauge(g)) => g.data_points.len(),
                            _ => 0,
                        };
                        assert!(m.name != "cpu" || m.unit == "s");
                        v.push((m.name, n));
                    }
                }
            }
        }
        v
    };
    assert_eq!(metrics("metrics/idle"), vec![("cpu".to_string(), 2)]);
    assert_eq!(
        metrics("metrics/d"),
        vec![("cpu".to_string(), 1), ("mem".to_string(), 1)]
    );
}

#[test]
fn config_errors_read_as_go() {
    let cases = [
        (
            "table: []\n",
            "invalid routing table: the routing table is empty",
        ),
        (
            "table:\n  - condition: 'true'\n",
            "invalid route: no pipelines defined",
        ),
        (
            "table:\n  - pipelines: [logs/a]\n",
            "invalid route: no condition or statement provided",
        ),
        (
            "table:\n  - condition: 'true'\n    statement: route()\n    pipelines: [logs/a]\n",
            "invalid route: both condition and statement provided",
        ),
        (
            "table:\n  - context: request\n    statement: route()\n    pipelines: [logs/a]\n",
            "\"request\" context requires a 'condition'",
        ),
        (
            "table:\n  - context: request\n    condition: request[\"a\"] > \"b\"\n    pipelines: [logs/a]\n",
            "invalid request condition",
        ),
        (
            "table:\n  - context: scope\n    condition: 'true'\n    pipelines: [logs/a]\n",
            "invalid context: scope",
        ),
        (
            "match_once: true\ntable:\n  - condition: 'true'\n    pipelines: [logs/a]\n",
            "match_once: removed in v0.120.0",
        ),
        (
            "table:\n  - context: log\n    condition: NoSuch(body)\n    pipelines: [logs/a]\n",
            "NoSuch",
        ),
    ];
    for (yaml, want) in cases {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
    // A route naming a pipeline that does not receive from the connector.
    let e = routed(
        "table:\n  - condition: 'true'\n    pipelines: [logs/nowhere]\n",
        Signal::Logs,
        &["logs/a"],
    )
    .err()
    .unwrap();
    assert!(e.contains("logs/nowhere"), "{e}");
    // A span route in a logs pipeline.
    let e = routed(
        "table:\n  - context: span\n    condition: 'true'\n    pipelines: [logs/a]\n",
        Signal::Logs,
        &["logs/a"],
    )
    .err()
    .unwrap();
    assert!(e.contains("does not apply to logs"), "{e}");
}

#[tokio::test]
async fn routes_see_the_schema_urls_of_the_enclosing_messages() {
    let yaml = "default_pipelines: [logs/d]\ntable:\n  - context: log\n    condition: resource.schema_url == \"https://opentelemetry.io/schemas/1.4.0\"\n    pipelines: [logs/old]\n  - condition: schema_url == \"https://opentelemetry.io/schemas/1.5.0\"\n    pipelines: [logs/five]\n";
    let r = routed(yaml, Signal::Logs, &["logs/old", "logs/five", "logs/d"]).unwrap();
    let mut b = logs(&[
        ("a", &[("x", &[], 9)]),
        ("b", &[("y", &[], 9)]),
        ("c", &[("z", &[], 9)]),
    ]);
    if let Ok(Request::Logs(l)) = b.request_mut() {
        l.resource_logs[0].schema_url = "https://opentelemetry.io/schemas/1.4.0".into();
        l.resource_logs[1].schema_url = "https://opentelemetry.io/schemas/1.5.0".into();
    }
    r.connector.consume(b).await.unwrap();
    assert_eq!(got(r.sink("logs/old")), pairs(&[("a", "x")]));
    assert_eq!(got(r.sink("logs/five")), pairs(&[("b", "y")]));
    assert_eq!(got(r.sink("logs/d")), pairs(&[("c", "z")]));
}
