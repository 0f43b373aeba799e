//! The filter engine on the Go filter processor README's examples and its documented
//! hierarchy rules.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Summary, SummaryDataPoint, metric::Data,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};

use super::{i, s};
use crate::ErrorMode;
use crate::filter::{Filter, FilterConfig};
use crate::transform::GroupConfig;

fn kv(k: &str, v: pdata::proto::common::v1::AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..Default::default()
    }
}

fn group(context: Option<&str>, conditions: &[&str]) -> GroupConfig {
    GroupConfig {
        context: context.map(String::from),
        conditions: conditions.iter().map(|c| c.to_string()).collect(),
        ..GroupConfig::default()
    }
}

/// The basic style: one group per condition, its context inferred.
fn basic(conditions: &[&str]) -> Vec<GroupConfig> {
    conditions.iter().map(|c| group(None, &[c])).collect()
}

fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}

fn span(name: &str, attrs: Vec<KeyValue>, events: &[&str]) -> Span {
    Span {
        name: name.into(),
        attributes: attrs,
        events: events
            .iter()
            .map(|e| Event {
                name: e.to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn traces(resources: Vec<(Option<Resource>, Vec<Span>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(r, spans)| ResourceSpans {
                resource: r,
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

fn span_names(req: &ExportTraceServiceRequest) -> Vec<String> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

/// The README's traces example (legacy blocks).
#[test]
fn readme_traces_example_drops_spans_by_attribute_resource_and_name_and_events() {
    let cfg = FilterConfig {
        error_mode: ErrorMode::Ignore,
        traces: vec![
            group(
                Some("span"),
                &[
                    r#"attributes["container.name"] == "app_container_1""#,
                    r#"resource.attributes["host.name"] == "localhost""#,
                    r#"name == "app_3""#,
                ],
            ),
            group(
                Some("spanevent"),
                &[
                    r#"attributes["grpc"] == true"#,
                    r#"IsMatch(name, ".*grpc.*")"#,
                ],
            ),
        ],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut req = traces(vec![
        (
            resource(vec![kv("host.name", s("server-1"))]),
            vec![
                span("a", vec![kv("container.name", s("app_container_1"))], &[]),
                span(
                    "b",
                    vec![kv("container.name", s("app_container_2"))],
                    &["grpc.call", "db"],
                ),
                span("app_3", vec![], &[]),
                span("c", vec![], &["grpc.only"]),
            ],
        ),
        (
            resource(vec![kv("host.name", s("localhost"))]),
            vec![span("d", vec![], &[]), span("e", vec![], &[])],
        ),
    ]);
    let removed = f.filter_traces(&mut req).unwrap();
    assert_eq!(span_names(&req), vec!["b", "c"]);
    assert_eq!(removed, 4, "a, app_3, d, e");
    // The localhost resource had only dropped spans: it is gone.
    assert_eq!(req.resource_spans.len(), 1);
    let spans = &req.resource_spans[0].scope_spans[0].spans;
    let events: Vec<&str> = spans[0].events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, vec!["db"]);
    // A span whose events were all dropped stays.
    assert_eq!(spans[1].name, "c");
    assert!(spans[1].events.is_empty());
}

#[test]
fn trace_conditions_infer_each_conditions_context_and_drop_whole_resources() {
    let cfg = FilterConfig {
        traces: basic(&[
            r#"resource.attributes["host.name"] == "localhost""#,
            r#"span.name == "app_3""#,
            r#"IsMatch(spanevent.name, ".*grpc.*")"#,
        ]),
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut req = traces(vec![
        (
            resource(vec![kv("host.name", s("localhost"))]),
            vec![span("x", vec![], &[]), span("y", vec![], &[])],
        ),
        (
            resource(vec![kv("host.name", s("other"))]),
            vec![
                span("app_3", vec![], &[]),
                span("z", vec![], &["grpc.x", "keep"]),
            ],
        ),
    ]);
    assert_eq!(f.filter_traces(&mut req).unwrap(), 3);
    assert_eq!(span_names(&req), vec!["z"]);
    let ev = &req.resource_spans[0].scope_spans[0].spans[0].events;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].name, "keep");
}

#[test]
fn scope_conditions_drop_the_scope_and_lower_levels_are_not_evaluated() {
    // The span condition fails at run time (Substring past the end), which would fail the
    // request in `propagate`; the scope above it is dropped first, so it never runs.
    let cfg = FilterConfig {
        traces: vec![
            group(None, &[r#"scope.name == "lib""#]),
            group(Some("span"), &[r#"Substring(name, 0, 100) == "x""#]),
        ],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut req = traces(vec![(
        resource(vec![]),
        vec![span("a", vec![kv("x", s("not a number"))], &[])],
    )]);
    assert_eq!(f.filter_traces(&mut req).unwrap(), 1);
    assert!(req.resource_spans.is_empty());
}

fn gauge(name: &str, points: &[(&str, &str)]) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: points
                .iter()
                .map(|(k, v)| NumberDataPoint {
                    attributes: vec![kv(k, s(v))],
                    ..Default::default()
                })
                .collect(),
        })),
        ..Default::default()
    }
}

fn metrics(res: Option<Resource>, ms: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: res,
            scope_metrics: vec![ScopeMetrics {
                metrics: ms,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metric_names(req: &ExportMetricsServiceRequest) -> Vec<String> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.clone())
        .collect()
}

/// The README's metrics example.
#[test]
fn readme_metrics_example_drops_metrics_by_name_type_and_data_points() {
    let cfg = FilterConfig {
        metrics: vec![
            group(
                Some("metric"),
                &[
                    r#"name == "my.metric" and resource.attributes["my_label"] == "abc123""#,
                    "type == METRIC_DATA_TYPE_HISTOGRAM",
                ],
            ),
            group(
                Some("datapoint"),
                &[
                    "metric.type == METRIC_DATA_TYPE_SUMMARY",
                    r#"attributes["state"] == "idle""#,
                ],
            ),
        ],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let hist = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint::default(); 2],
            ..Default::default()
        })),
        ..Default::default()
    };
    let summary = Metric {
        name: "sizes".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint::default(); 3],
        })),
        ..Default::default()
    };
    let mut req = metrics(
        resource(vec![kv("my_label", s("abc123"))]),
        vec![
            gauge("my.metric", &[("state", "busy")]),
            hist,
            summary,
            gauge(
                "cpu",
                &[("state", "idle"), ("state", "busy"), ("state", "idle")],
            ),
            gauge("idle.only", &[("state", "idle")]),
        ],
    );
    let removed = f.filter_metrics(&mut req).unwrap();
    // my.metric (1) + histogram (2) + summary points (3) + two idle cpu points + idle.only (1).
    assert_eq!(removed, 1 + 2 + 3 + 2 + 1);
    // The summary and idle.only lost every data point: removed with them.
    assert_eq!(metric_names(&req), vec!["cpu"]);
    match &req.resource_metrics[0].scope_metrics[0].metrics[0].data {
        Some(Data::Gauge(g)) => assert_eq!(g.data_points.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn has_attr_on_datapoint_follows_go_first_data_point_with_the_key() {
    let cfg = FilterConfig {
        metrics: vec![group(
            Some("metric"),
            &[
                r#"HasAttrOnDatapoint("state", "idle")"#,
                r#"HasAttrKeyOnDatapoint("gone")"#,
            ],
        )],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut int_point = gauge("int.valued", &[]);
    if let Some(Data::Gauge(g)) = &mut int_point.data {
        g.data_points.push(NumberDataPoint {
            attributes: vec![kv("state", i(3))],
            ..Default::default()
        });
    }
    let mut req = metrics(
        None,
        vec![
            // The first point with `state` is busy: not matched though a later one is idle.
            gauge("first.busy", &[("state", "busy"), ("state", "idle")]),
            gauge("first.idle", &[("other", "x"), ("state", "idle")]),
            gauge("has.gone", &[("gone", "")]),
            // A non-string value compares as "".
            int_point,
        ],
    );
    f.filter_metrics(&mut req).unwrap();
    assert_eq!(metric_names(&req), vec!["first.busy", "int.valued"]);
}

#[test]
fn metric_conditions_refuse_editors_and_unknown_functions() {
    for (cond, want) in [
        (r#"set(name, "x")"#, "set"),
        (r#"NoSuchFunc(name)"#, "NoSuchFunc"),
    ] {
        let cfg = FilterConfig {
            metrics: vec![group(Some("metric"), &[cond])],
            ..Default::default()
        };
        let err = Filter::new(&cfg).err().expect(cond);
        assert!(err.contains(want), "{cond}: {err}");
    }
    // HasAttrOnDatapoint exists only in the metric context.
    let cfg = FilterConfig {
        logs: vec![group(Some("log"), &[r#"HasAttrOnDatapoint("a", "b")"#])],
        ..Default::default()
    };
    assert!(Filter::new(&cfg).is_err());
}

fn logs(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn log(body: &str, severity: i32) -> LogRecord {
    LogRecord {
        body: Some(s(body)),
        severity_number: severity,
        ..Default::default()
    }
}

/// The README's logs example.
#[test]
fn readme_logs_example_drops_password_bodies_and_low_severities() {
    let cfg = FilterConfig {
        logs: vec![group(
            Some("log"),
            &[
                r#"IsMatch(body, ".*password.*")"#,
                "severity_number < SEVERITY_NUMBER_WARN",
            ],
        )],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut req = logs(vec![
        log("user password=hunter2", 17),
        log("debug details", 5),
        log("disk almost full", 13),
        log("crash", 21),
    ]);
    assert_eq!(f.filter_logs(&mut req).unwrap(), 2);
    let left: Vec<String> = req.resource_logs[0].scope_logs[0]
        .log_records
        .iter()
        .map(|r| match &r.body {
            Some(v) => crate::Value::from_any(v).as_string(),
            None => String::new(),
        })
        .collect();
    assert_eq!(left, vec!["disk almost full", "crash"]);
    // All dropped: nothing left, not even the resource.
    let mut req = logs(vec![log("password", 17)]);
    assert_eq!(f.filter_logs(&mut req).unwrap(), 1);
    assert!(req.resource_logs.is_empty());
}

#[test]
fn error_mode_ignore_treats_a_failing_condition_as_false_and_propagate_fails_the_request() {
    // Int() of a non-numeric string is nil, and nil > 1 is false; a failing condition needs an
    // error: Substring past the end of the string.
    let failing = r#"Substring(body, 0, 100) == "x""#;
    let records = || {
        logs(vec![
            log("short", 9),
            log("drop me", 9),
            log("keep me too", 9),
        ])
    };
    let mk = |mode| FilterConfig {
        error_mode: mode,
        logs: vec![group(Some("log"), &[failing, r#"body == "drop me""#])],
        ..Default::default()
    };
    let f = Filter::new(&mk(ErrorMode::Ignore)).unwrap();
    let mut req = records();
    assert_eq!(f.filter_logs(&mut req).unwrap(), 1);
    assert_eq!(req.resource_logs[0].scope_logs[0].log_records.len(), 2);

    let f = Filter::new(&mk(ErrorMode::Propagate)).unwrap();
    let err = f.filter_logs(&mut records()).unwrap_err();
    assert!(err.contains("failed to eval condition"), "{err}");
    assert!(err.contains("Substring"), "{err}");

    // A group's own error_mode wins over the processor's.
    let mut cfg = mk(ErrorMode::Propagate);
    cfg.logs[0].error_mode = Some(ErrorMode::Silent);
    let f = Filter::new(&cfg).unwrap();
    assert_eq!(f.filter_logs(&mut records()).unwrap(), 1);
}

#[test]
fn absent_resources_and_scopes_stay_absent() {
    let cfg = FilterConfig {
        logs: vec![group(Some("log"), &[r#"body == "x""#])],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let mut req = logs(vec![log("keep", 9)]);
    f.filter_logs(&mut req).unwrap();
    assert!(req.resource_logs[0].resource.is_none());
    assert!(req.resource_logs[0].scope_logs[0].scope.is_none());
}

#[test]
fn schema_url_conditions_see_the_enclosing_messages() {
    let cfg = FilterConfig {
        logs: vec![
            group(
                Some("log"),
                &[r#"resource.schema_url == "https://old/1.0""#],
            ),
            group(Some("log"), &[r#"scope.schema_url == "https://scope/2""#]),
        ],
        ..Default::default()
    };
    let f = Filter::new(&cfg).unwrap();
    let rl = |url: &str, scope_url: &str, body: &str| ResourceLogs {
        schema_url: url.into(),
        scope_logs: vec![ScopeLogs {
            schema_url: scope_url.into(),
            log_records: vec![log(body, 9)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut req = ExportLogsServiceRequest {
        resource_logs: vec![
            rl("https://old/1.0", "", "old resource"),
            rl("https://new/1.1", "https://scope/2", "old scope"),
            rl("https://new/1.1", "", "kept"),
        ],
    };
    assert_eq!(f.filter_logs(&mut req).unwrap(), 2);
    assert_eq!(req.resource_logs.len(), 1);
    assert_eq!(req.resource_logs[0].schema_url, "https://new/1.1");
}
