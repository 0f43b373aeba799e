use super::*;
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::logs::v1::{ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};

use crate::ErrorMode;
use crate::transform::{Config, GroupConfig, Transform};

fn basic(statements: &[&str]) -> Vec<GroupConfig> {
    vec![GroupConfig {
        statements: statements.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }]
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", s("svc"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource::default()),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics(ms: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("host.name", s("h")), kv("other", s("x"))],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: ms,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn number(v: f64) -> NumberDataPoint {
    NumberDataPoint {
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

#[test]
fn readme_basic_trace_statements() {
    let t = Transform::new(&Config {
        error_mode: ErrorMode::Ignore,
        trace_statements: basic(&[
            r#"keep_keys(span.attributes, ["service.name", "service.namespace", "cloud.region", "process.command_line"])"#,
            r#"replace_pattern(span.attributes["process.command_line"], "password\\=[^\\s]*(\\s?)", "password=***")"#,
            r#"limit(span.attributes, 100, [])"#,
            r#"truncate_all(span.attributes, 4096)"#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = traces(vec![Span {
        name: "s".into(),
        attributes: vec![
            kv("process.command_line", s("app --password=secret --port=1")),
            kv("http.method", s("GET")),
            kv("cloud.region", s("eu")),
        ],
        ..Default::default()
    }]);
    t.process_traces(&mut req).unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        span.attributes,
        vec![
            kv("process.command_line", s("app --password=***--port=1")),
            kv("cloud.region", s("eu")),
        ]
    );
}

#[test]
fn readme_basic_metric_statements() {
    let t = Transform::new(&Config {
        metric_statements: basic(&[
            r#"keep_keys(resource.attributes, ["host.name"])"#,
            r#"truncate_all(resource.attributes, 4096)"#,
            r#"set(metric.description, "Sum") where metric.type == "Sum""#,
            r#"convert_sum_to_gauge() where metric.name == "system.processes.count""#,
            r#"convert_gauge_to_sum("cumulative", false) where metric.name == "prometheus_metric""#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = metrics(vec![
        Metric {
            name: "system.processes.count".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![number(3.0)],
                aggregation_temporality: 2,
                is_monotonic: false,
            })),
            ..Default::default()
        },
        Metric {
            name: "prometheus_metric".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![number(1.0)],
            })),
            ..Default::default()
        },
    ]);
    t.process_metrics(&mut req).unwrap();
    let rm = &req.resource_metrics[0];
    assert_eq!(
        rm.resource.as_ref().unwrap().attributes,
        vec![kv("host.name", s("h"))]
    );
    let ms = &rm.scope_metrics[0].metrics;
    // metric.type is an int: comparing it with "Sum" is false, as in Go
    assert_eq!(ms[0].description, "");
    assert!(matches!(&ms[0].data, Some(Data::Gauge(g)) if g.data_points == vec![number(3.0)]));
    assert!(
        matches!(&ms[1].data, Some(Data::Sum(s)) if s.aggregation_temporality == 2 && !s.is_monotonic)
    );
}

#[test]
fn readme_basic_log_statements() {
    let t = Transform::new(&Config {
        log_statements: basic(&[
            r#"set(log.severity_text, "FAIL") where log.body == "request failed""#,
            r#"replace_all_matches(log.attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")"#,
            r#"replace_all_patterns(log.attributes, "value", "/account/\\d{4}", "/account/{accountId}")"#,
            r#"set(log.body, log.attributes["http.route"])"#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = logs(vec![LogRecord {
        body: Some(s("request failed")),
        attributes: vec![
            kv("http.route", s("/user/1/list/2")),
            kv("acct", s("/account/1234")),
        ],
        ..Default::default()
    }]);
    t.process_logs(&mut req).unwrap();
    let rec = &req.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(rec.severity_text, "FAIL");
    assert_eq!(rec.body, Some(s("/user/{userId}/list/{listId}")));
    assert_eq!(
        get(&rec.attributes, "acct"),
        Some(&s("/account/{accountId}"))
    );
}

#[test]
fn advanced_groups_conditions_and_error_modes() {
    let cfg = Config {
        error_mode: ErrorMode::Ignore,
        log_statements: vec![
            GroupConfig {
                context: Some("log".into()),
                conditions: vec![r#"IsMap(body) and body["object"] != nil"#.into()],
                statements: vec![r#"set(body, attributes["http.route"])"#.into()],
                error_mode: None,
            },
            GroupConfig {
                context: Some("log".into()),
                conditions: vec![],
                statements: vec![
                    r#"set(attributes["sub"], Substring(attributes["short"], 0, 10))"#.into(),
                    r#"set(attributes["after"], true)"#.into(),
                ],
                error_mode: None,
            },
        ],
        ..Default::default()
    };
    let t = Transform::new(&cfg).unwrap();
    let mut req = logs(vec![
        LogRecord {
            body: Some(map(vec![kv("object", s("o"))])),
            attributes: vec![kv("http.route", s("/r")), kv("short", s("abc"))],
            ..Default::default()
        },
        LogRecord {
            body: Some(s("plain")),
            attributes: vec![
                kv("http.route", s("/r")),
                kv("short", s("long enough text")),
            ],
            ..Default::default()
        },
    ]);
    t.process_logs(&mut req).unwrap();
    let recs = &req.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].body, Some(s("/r")), "condition matched");
    assert_eq!(recs[1].body, Some(s("plain")), "condition did not match");
    // ignore: the failing statement is skipped, the next one still runs, other items unaffected
    assert!(get(&recs[0].attributes, "sub").is_none());
    assert_eq!(get(&recs[0].attributes, "after"), Some(&b(true)));
    assert_eq!(get(&recs[1].attributes, "sub"), Some(&s("long enoug")));

    // propagate (the group's own error_mode) returns the error with the statement
    let mut cfg = cfg;
    cfg.log_statements[1].error_mode = Some(ErrorMode::Propagate);
    let t = Transform::new(&cfg).unwrap();
    let mut req = logs(vec![LogRecord {
        attributes: vec![kv("short", s("abc"))],
        ..Default::default()
    }]);
    let e = t.process_logs(&mut req).unwrap_err();
    assert!(
        e.starts_with(r#"failed to execute statement: set(attributes["sub"], Substring(attributes["short"], 0, 10)), invalid range"#),
        "{e}"
    );
}

#[test]
fn context_inference_per_group() {
    let t = Transform::new(&Config {
        metric_statements: basic(&[
            r#"set(metric.description, "test passed") where datapoint.attributes["test"] == "pass""#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = metrics(vec![Metric {
        name: "m".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![
                number(1.0),
                NumberDataPoint {
                    attributes: vec![kv("test", s("pass"))],
                    ..number(2.0)
                },
            ],
        })),
        ..Default::default()
    }]);
    t.process_metrics(&mut req).unwrap();
    assert_eq!(
        req.resource_metrics[0].scope_metrics[0].metrics[0].description,
        "test passed"
    );

    // metric functions are not datapoint functions: Go refuses this group
    let e = Transform::new(&Config {
        metric_statements: basic(&[
            r#"convert_sum_to_gauge() where metric.name == "system.processes.count""#,
            r#"limit(datapoint.attributes, 100, ["host.name"])"#,
        ]),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(
        e.contains("undefined function \"convert_sum_to_gauge\""),
        "{e}"
    );
    // a span path in log statements
    assert!(
        Transform::new(&Config {
            log_statements: basic(&[r#"set(span.name, "x")"#]),
            ..Default::default()
        })
        .is_err()
    );
    // unknown context
    let e = Transform::new(&Config {
        log_statements: vec![GroupConfig {
            context: Some("span".into()),
            statements: vec![r#"set(name, "x")"#.into()],
            ..Default::default()
        }],
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(e, "unknown context span");
}

#[test]
fn spanevent_resource_and_scope_groups() {
    let t = Transform::new(&Config {
        trace_statements: vec![
            GroupConfig {
                context: Some("resource".into()),
                statements: vec![r#"set(attributes["env"], "prod")"#.into()],
                ..Default::default()
            },
            GroupConfig {
                context: Some("scope".into()),
                statements: vec![r#"set(name, "scoped")"#.into()],
                ..Default::default()
            },
            GroupConfig {
                statements: vec![r#"set(spanevent.attributes["span"], span.name)"#.into()],
                ..Default::default()
            },
        ],
        ..Default::default()
    })
    .unwrap();
    let mut req = traces(vec![Span {
        name: "op".into(),
        events: vec![Event::default(), Event::default()],
        ..Default::default()
    }]);
    t.process_traces(&mut req).unwrap();
    let rs = &req.resource_spans[0];
    assert_eq!(
        get(&rs.resource.as_ref().unwrap().attributes, "env"),
        Some(&s("prod"))
    );
    assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "scoped");
    for e in &rs.scope_spans[0].spans[0].events {
        assert_eq!(get(&e.attributes, "span"), Some(&s("op")));
    }
}

#[test]
fn absent_resource_stays_absent_unless_written() {
    let t = Transform::new(&Config {
        log_statements: basic(&[r#"set(log.attributes["r"], resource.attributes["x"])"#]),
        ..Default::default()
    })
    .unwrap();
    let mut req = logs(vec![LogRecord::default()]);
    req.resource_logs[0].resource = None;
    t.process_logs(&mut req).unwrap();
    assert_eq!(req.resource_logs[0].resource, None);
    assert_eq!(req.resource_logs[0].scope_logs[0].scope, None);
}

#[test]
fn flatten_data_gives_each_record_its_resource() {
    let t = Transform::new(&Config {
        flatten_data: true,
        log_statements: basic(&[r#"set(resource.attributes["to"], log.attributes["to"])"#]),
        ..Default::default()
    })
    .unwrap();
    let rec = |to: &str| LogRecord {
        attributes: vec![kv("to", s(to))],
        ..Default::default()
    };
    let mut req = logs(vec![rec("a"), rec("b"), rec("a")]);
    t.process_logs(&mut req).unwrap();
    assert_eq!(req.resource_logs.len(), 2);
    assert_eq!(
        req.resource_logs[0].resource.as_ref().unwrap().attributes,
        vec![kv("to", s("a"))]
    );
    assert_eq!(req.resource_logs[0].scope_logs.len(), 1);
    assert_eq!(req.resource_logs[0].scope_logs[0].log_records.len(), 2);
    assert_eq!(req.resource_logs[1].scope_logs[0].log_records.len(), 1);

    // without it, the last record's value wins for the shared resource
    let t = Transform::new(&Config {
        log_statements: basic(&[r#"set(resource.attributes["to"], log.attributes["to"])"#]),
        ..Default::default()
    })
    .unwrap();
    let mut req = logs(vec![rec("a"), rec("b")]);
    t.process_logs(&mut req).unwrap();
    assert_eq!(req.resource_logs.len(), 1);
    assert_eq!(
        req.resource_logs[0].resource.as_ref().unwrap().attributes,
        vec![kv("to", s("b"))]
    );
}

#[test]
fn metric_functions() {
    let t = Transform::new(&Config {
        metric_statements: vec![GroupConfig {
            context: Some("metric".into()),
            statements: vec![
                r#"extract_sum_metric(true) where name == "latency""#.into(),
                r#"extract_count_metric(true, "_total") where name == "latency""#.into(),
                r#"copy_metric(name = "latency.copy") where name == "latency""#.into(),
                // the copy is visited by the group too (Go iterates the growing slice)
                r#"set(description, "copied") where name == "latency.copy""#.into(),
                r#"scale_metric(1000.0, "ms") where name == "seconds""#.into(),
            ],
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    let mut req = metrics(vec![
        Metric {
            name: "latency".into(),
            unit: "s".into(),
            data: Some(Data::Histogram(Histogram {
                data_points: vec![
                    HistogramDataPoint {
                        count: 4,
                        sum: Some(2.5),
                        explicit_bounds: vec![1.0],
                        bucket_counts: vec![3, 1],
                        ..Default::default()
                    },
                    HistogramDataPoint {
                        count: 1,
                        sum: None,
                        ..Default::default()
                    },
                ],
                aggregation_temporality: 1,
            })),
            ..Default::default()
        },
        Metric {
            name: "seconds".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![number(1.5)],
            })),
            ..Default::default()
        },
    ]);
    t.process_metrics(&mut req).unwrap();
    let ms = &req.resource_metrics[0].scope_metrics[0].metrics;
    let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "latency",
            "seconds",
            "latency_sum",
            "latency_total",
            "latency.copy"
        ]
    );
    let Some(Data::Sum(sum)) = &ms[2].data else {
        panic!()
    };
    assert_eq!(sum.data_points.len(), 1, "a point without sum is skipped");
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsDouble(2.5))
    );
    assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (1, true));
    let Some(Data::Sum(count)) = &ms[3].data else {
        panic!()
    };
    assert_eq!(count.data_points.len(), 2);
    assert_eq!(
        count.data_points[0].value,
        Some(number_data_point::Value::AsInt(4))
    );
    assert_eq!(ms[1].unit, "ms");
    assert_eq!(ms[4].description, "copied");
    assert_eq!(ms[0].description, "");
    assert!(matches!(&ms[1].data, Some(Data::Gauge(g)) if g.data_points == vec![number(1500.0)]));
    assert!(
        Transform::new(&Config {
            metric_statements: basic(&[r#"convert_gauge_to_sum("sometimes", true)"#]),
            ..Default::default()
        })
        .is_err_and(|e| e.contains("unknown aggregation temporality: sometimes"))
    );
}

#[test]
fn aggregate_on_attributes_combines_points_with_equal_kept_attributes() {
    let point = |host: &str, code: &str, v: i64| NumberDataPoint {
        attributes: vec![kv("host", s(host)), kv("code", s(code))],
        time_unix_nano: v as u64,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    };
    let run_fn = |f: &str, keep: &str| {
        let t = Transform::new(&Config {
            metric_statements: vec![GroupConfig {
                context: Some("metric".into()),
                statements: vec![format!(r#"aggregate_on_attributes("{f}"{keep})"#)],
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
        let mut req = metrics(vec![Metric {
            name: "requests".into(),
            data: Some(Data::Sum(Sum {
                data_points: vec![
                    point("a", "200", 1),
                    point("b", "200", 4),
                    point("a", "500", 10),
                ],
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        }]);
        t.process_metrics(&mut req).unwrap();
        let Some(Data::Sum(sum)) = req.resource_metrics[0].scope_metrics[0].metrics[0]
            .data
            .clone()
        else {
            panic!()
        };
        sum.data_points
            .into_iter()
            .map(|p| {
                let v = match p.value {
                    Some(number_data_point::Value::AsInt(i)) => i,
                    _ => -1,
                };
                (p.attributes, v)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run_fn("sum", r#", ["code"]"#),
        vec![
            (vec![kv("code", s("200"))], 5),
            (vec![kv("code", s("500"))], 10)
        ]
    );
    assert_eq!(run_fn("max", r#", ["code"]"#)[0].1, 4);
    assert_eq!(run_fn("count", r#", ["code"]"#)[0].1, 2);
    assert_eq!(run_fn("sum", ", []"), vec![(vec![], 15)]);
    // attributes omitted: every key is kept, so only identical points merge
    assert_eq!(run_fn("sum", "").len(), 3);
    assert!(
        Transform::new(&Config {
            metric_statements: basic(&[r#"aggregate_on_attributes("avg")"#]),
            ..Default::default()
        })
        .is_err_and(|e| e.contains("invalid aggregation function: 'avg'"))
    );
}

#[test]
fn aggregate_on_attribute_value_and_summary_quantiles() {
    let point = |code: &str, v: f64| NumberDataPoint {
        attributes: vec![kv("code", s(code))],
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    let t = Transform::new(&Config {
        metric_statements: vec![GroupConfig {
            context: Some("metric".into()),
            statements: vec![
                r#"aggregate_on_attribute_value("sum", "code", ["500", "503"], "5xx") where name == "errors""#.into(),
                r#"convert_summary_quantile_val_to_gauge() where name == "latency""#.into(),
            ],
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    use pdata::proto::metrics::v1::{
        Summary, SummaryDataPoint, summary_data_point::ValueAtQuantile,
    };
    let mut req = metrics(vec![
        Metric {
            name: "errors".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![point("500", 1.0), point("200", 7.0), point("503", 2.5)],
            })),
            ..Default::default()
        },
        Metric {
            name: "latency".into(),
            data: Some(Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    quantile_values: vec![
                        ValueAtQuantile {
                            quantile: 0.5,
                            value: 1.0,
                        },
                        ValueAtQuantile {
                            quantile: 0.99,
                            value: 9.0,
                        },
                    ],
                    ..Default::default()
                }],
            })),
            ..Default::default()
        },
    ]);
    t.process_metrics(&mut req).unwrap();
    let ms = &req.resource_metrics[0].scope_metrics[0].metrics;
    let Some(Data::Gauge(g)) = &ms[0].data else {
        panic!()
    };
    assert_eq!(g.data_points, vec![point("5xx", 3.5), point("200", 7.0)]);
    assert_eq!(ms[2].name, "latency.quantiles");
    let Some(Data::Gauge(q)) = &ms[2].data else {
        panic!()
    };
    assert_eq!(q.data_points.len(), 2);
    assert_eq!(q.data_points[1].attributes, vec![kv("quantile", f(0.99))]);
    assert_eq!(
        q.data_points[1].value,
        Some(number_data_point::Value::AsDouble(9.0))
    );
}

#[test]
fn exponential_histogram_to_explicit() {
    use pdata::proto::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint,
        exponential_histogram_data_point::Buckets,
    };
    let exp = || Metric {
        name: "size".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                // scale 0: bucket i holds (2^i, 2^(i+1)]: (1,2] x3, (2,4] x5, (4,8] x2
                scale: 0,
                count: 11,
                zero_count: 1,
                sum: Some(30.0),
                positive: Some(Buckets {
                    offset: 0,
                    bucket_counts: vec![3, 5, 2],
                }),
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    for (dist, want) in [
        // bounds [2, 5]: buckets (-inf,2], (2,5], (5,+inf)
        ("upper", vec![1 + 3, 5, 2]),
        ("midpoint", vec![1 + 3, 5, 2]),
        ("uniform", vec![1 + 3, 5 + 1, 1]),
    ] {
        let t = Transform::new(&Config {
            metric_statements: basic(&[&format!(
                r#"convert_exponential_histogram_to_histogram("{dist}", [2.0, 5.0])"#
            )]),
            ..Default::default()
        })
        .unwrap();
        let mut req = metrics(vec![exp()]);
        t.process_metrics(&mut req).unwrap();
        let Some(Data::Histogram(h)) = &req.resource_metrics[0].scope_metrics[0].metrics[0].data
        else {
            panic!("{dist}")
        };
        assert_eq!(h.aggregation_temporality, 2);
        let p = &h.data_points[0];
        assert_eq!(p.explicit_bounds, vec![2.0, 5.0]);
        assert_eq!(p.bucket_counts, want, "{dist}");
        assert_eq!((p.count, p.sum), (11, Some(30.0)));
        assert_eq!(p.bucket_counts.iter().sum::<u64>(), 11);
    }
    let t = Transform::new(&Config {
        metric_statements: basic(&[
            r#"convert_exponential_histogram_to_histogram("random", [2.0, 5.0])"#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = metrics(vec![exp()]);
    t.process_metrics(&mut req).unwrap();
    let Some(Data::Histogram(h)) = &req.resource_metrics[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    assert_eq!(h.data_points[0].bucket_counts.iter().sum::<u64>(), 11);
    for bad in [
        r#""upper", []"#,
        r#""upper", [5.0, 2.0]"#,
        r#""sideways", [1.0]"#,
    ] {
        assert!(
            Transform::new(&Config {
                metric_statements: basic(&[&format!(
                    "convert_exponential_histogram_to_histogram({bad})"
                )]),
                ..Default::default()
            })
            .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn schema_urls_reach_the_enclosing_messages() {
    let t = Transform::new(&Config {
        trace_statements: basic(&[
            r#"set(span.attributes["r"], resource.schema_url)"#,
            r#"set(scope.schema_url, "https://opentelemetry.io/schemas/1.26.0")"#,
            r#"set(resource.schema_url, "https://opentelemetry.io/schemas/1.27.0") where resource.schema_url == "" "#,
        ]),
        ..Default::default()
    })
    .unwrap();
    let mut req = traces(vec![Span {
        name: "s".into(),
        ..Default::default()
    }]);
    req.resource_spans[0].schema_url = "https://opentelemetry.io/schemas/1.20.0".into();
    t.process_traces(&mut req).unwrap();
    let rs = &req.resource_spans[0];
    assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.20.0");
    assert_eq!(
        rs.scope_spans[0].schema_url,
        "https://opentelemetry.io/schemas/1.26.0"
    );
    assert_eq!(
        get(&rs.scope_spans[0].spans[0].attributes, "r"),
        Some(&s("https://opentelemetry.io/schemas/1.20.0"))
    );
}

/// Go's func_set_semconv_span_name_test.go table (TestSemconvSpanName).
#[test]
fn set_semconv_span_name_as_go() {
    use crate::contexts::span::{SpanContext, SpanData};
    use pdata::proto::common::v1::InstrumentationScope;
    let mut fns = crate::functions::standard::<SpanContext>();
    crate::functions::spans::register_span(&mut fns);
    let p = crate::Parser::<SpanContext>::new(fns);
    let st = p
        .parse_statement(r#"set_semconv_span_name("1.37.0", "original_span_name")"#)
        .unwrap();
    // (current name, kind, attributes, want)
    let (server, client, producer, consumer) = (2, 3, 4, 5);
    let cases: Vec<(&str, i32, Vec<KeyValue>, &str)> = vec![
        (
            "GET /users/123",
            server,
            vec![
                kv("http.request.method", s("GET")),
                kv("http.route", s("/users/:id")),
            ],
            "GET /users/:id",
        ),
        (
            "GET /users/123",
            server,
            vec![
                kv("http.method", s("GET")),
                kv("http.route", s("/users/:id")),
            ],
            "GET /users/:id",
        ),
        (
            "GET /users/123",
            server,
            vec![kv("http.request.method", s("GET"))],
            "GET",
        ),
        (
            "GET /app/workspaces/7?_rsc=hn5g2",
            server,
            vec![
                kv("http.method", s("GET")),
                kv("http.target", s("/app/workspaces/7?_rsc=hn5g2")),
            ],
            "GET",
        ),
        (
            "GET /users/123",
            client,
            vec![
                kv("http.request.method", s("GET")),
                kv("url.template", s("/users/:id")),
            ],
            "GET /users/:id",
        ),
        // a server span does not read url.template, a client span not http.route
        (
            "GET /users/123",
            client,
            vec![
                kv("http.method", s("GET")),
                kv("http.route", s("/users/:id")),
            ],
            "GET",
        ),
        (
            "INSERT webshop.orders",
            client,
            vec![
                kv("db.system.name", s("postgresql")),
                kv("db.namespace", s("webshop")),
                kv("db.operation.name", s("INSERT")),
                kv("db.collection.name", s("orders")),
            ],
            "INSERT webshop.orders",
        ),
        (
            "HGET",
            client,
            vec![
                kv("db.redis.database_index", i(0)),
                kv("db.system", s("redis")),
                kv("server.address", s("valkey-cart")),
            ],
            "valkey-cart",
        ),
        (
            "otel",
            client,
            vec![kv("db.system", s("postgresql")), kv("db.name", s("otel"))],
            "otel",
        ),
        (
            "SELECT",
            client,
            vec![
                kv("db.system.name", s("postgresql")),
                kv("db.query.summary", s("SELECT users")),
            ],
            "SELECT users",
        ),
        (
            "x",
            client,
            vec![
                kv("db.system.name", s("mysql")),
                kv("server.address", s("db")),
                kv("server.port", i(3306)),
            ],
            "db:3306",
        ),
        (
            "oteldemo.CartService/GetCart",
            client,
            vec![
                kv("rpc.grpc.method", s("GetCart")),
                kv("rpc.grpc.service", s("oteldemo.CartService")),
                kv("rpc.system", s("grpc")),
            ],
            "oteldemo.CartService/GetCart",
        ),
        (
            "x",
            server,
            vec![kv("rpc.system.name", s("grpc")), kv("rpc.service", s("S"))],
            "S/*",
        ),
        ("x", server, vec![kv("rpc.system", s("grpc"))], "grpc"),
        (
            "orders receive",
            consumer,
            vec![
                kv("messaging.destination.name", s("orders")),
                kv("messaging.operation", s("receive")),
                kv("messaging.system", s("kafka")),
            ],
            "receive orders",
        ),
        (
            "orders publish",
            producer,
            vec![
                kv("messaging.destination.name", s("orders")),
                kv("messaging.operation", s("publish")),
                kv("messaging.system", s("kafka")),
            ],
            "publish orders",
        ),
        (
            "send /customers/123456",
            producer,
            vec![
                kv("messaging.system", s("servicebus")),
                kv("messaging.operation.name", s("send")),
                kv(
                    "messaging.destination.template",
                    s("/customers/{customerId}"),
                ),
                kv("messaging.destination.name", s("/customers/123456")),
            ],
            "send /customers/{customerId}",
        ),
        (
            "send amq.gen-123",
            producer,
            vec![
                kv("messaging.system", s("rabbitmq")),
                kv("messaging.operation.name", s("send")),
                kv("messaging.destination.temporary", b(true)),
                kv("messaging.destination.name", s("amq.gen-123")),
            ],
            "send (temporary)",
        ),
        (
            "kept",
            consumer,
            vec![kv("messaging.system", s("kafka"))],
            "kafka",
        ),
        // an internal span and a span without the conventions' attributes keep their names
        ("work", 1, vec![kv("http.method", s("GET"))], "work"),
        ("GET /x", server, vec![kv("url.path", s("/x"))], "GET /x"),
    ];
    for (name, kind, attrs, want) in cases {
        let mut span = Span {
            name: name.into(),
            kind,
            attributes: attrs,
            ..Default::default()
        };
        let (mut sc, mut res) = (InstrumentationScope::default(), Resource::default());
        st.execute(&mut SpanData::new(&mut span, &mut sc, &mut res))
            .unwrap();
        assert_eq!(span.name, want, "{name}");
        let original = get(&span.attributes, "original_span_name");
        if want == name {
            assert_eq!(original, None, "{name}");
        } else {
            assert_eq!(original, Some(&s(name)), "{name}");
        }
    }
    for (args, msg) in [
        (
            r#""1.36.0""#,
            r#"unsupported semconv version "1.36.0": must be between 1.37.0 and 1.40.0"#,
        ),
        (
            r#""1.41.0""#,
            r#"unsupported semconv version "1.41.0": must be between 1.37.0 and 1.40.0"#,
        ),
        (
            r#""one""#,
            r#"failed to parse semconv version "one": invalid semantic version"#,
        ),
        (
            r#""1.38.0", """#,
            "originalSpanNameAttribute cannot be an empty string",
        ),
    ] {
        let e = p
            .parse_statement(&format!("set_semconv_span_name({args})"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with(msg), "{e}");
    }
    assert!(
        p.parse_statement(r#"set_semconv_span_name("v1.38")"#)
            .is_ok()
    );
    // the transform processor offers it in span groups
    let t = Transform::new(&Config {
        trace_statements: basic(&[r#"set_semconv_span_name("1.38.0")"#]),
        ..Default::default()
    })
    .unwrap();
    let mut req = traces(vec![Span {
        name: "GET /users/1".into(),
        kind: server,
        attributes: vec![
            kv("http.request.method", s("GET")),
            kv("http.route", s("/users/:id")),
        ],
        ..Default::default()
    }]);
    t.process_traces(&mut req).unwrap();
    let sp = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(sp.name, "GET /users/:id");
    assert_eq!(get(&sp.attributes, "original_span_name"), None);
}

fn hist_metric(name: &str, description: &str, points: Vec<HistogramDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        description: description.into(),
        unit: "ms".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: 2,
        })),
        ..Default::default()
    }
}

fn gauge_values(m: &Metric) -> Vec<f64> {
    match &m.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsDouble(v)) => v,
                _ => f64::NAN,
            })
            .collect(),
        other => panic!("not a gauge: {other:?}"),
    }
}

fn run_metric_statements(statements: &[&str], ms: Vec<Metric>) -> Result<Vec<Metric>, String> {
    let t = Transform::new(&Config {
        metric_statements: basic(statements),
        ..Default::default()
    })?;
    let mut req = metrics(ms);
    t.process_metrics(&mut req)?;
    Ok(std::mem::take(
        &mut req.resource_metrics[0].scope_metrics[0].metrics,
    ))
}

/// Go's extract_percentile_metric: linear interpolation inside explicit buckets (min/max for
/// the open ends), logarithmic inside exponential ones.
#[test]
fn extract_percentile_metric_as_go() {
    let point = HistogramDataPoint {
        count: 10,
        explicit_bounds: vec![1.0, 5.0, 10.0],
        bucket_counts: vec![2, 3, 4, 1],
        attributes: vec![kv("route", s("/a"))],
        start_time_unix_nano: 5,
        time_unix_nano: 7,
        ..Default::default()
    };
    for (p, want) in [
        ("10", 0.5),
        ("25", 1.0 + 4.0 / 3.0),
        ("50", 5.0),
        ("90", 10.0),
        ("95", 10.0),
    ] {
        let out = run_metric_statements(
            &[&format!("extract_percentile_metric({p})")],
            vec![hist_metric("latency", "", vec![point.clone()])],
        )
        .unwrap();
        assert_eq!(out.len(), 2, "p{p}");
        let m = &out[1];
        assert_eq!(m.name, format!("latency_p{p}"));
        assert_eq!(m.description, format!("p{p}"));
        assert_eq!(m.unit, "ms");
        let got = gauge_values(m)[0];
        assert!((got - want).abs() < 1e-9, "p{p}: {got} != {want}");
        let Some(Data::Gauge(g)) = &m.data else {
            unreachable!()
        };
        assert_eq!(g.data_points[0].attributes, point.attributes);
        assert_eq!(
            (
                g.data_points[0].start_time_unix_nano,
                g.data_points[0].time_unix_nano
            ),
            (5, 7)
        );
    }
    // the last bucket interpolates up to max; a suffix and a description
    let with_max = HistogramDataPoint {
        max: Some(20.0),
        ..point.clone()
    };
    let out = run_metric_statements(
        &[r#"extract_percentile_metric(95, "_high")"#],
        vec![hist_metric("latency", "Latency", vec![with_max])],
    )
    .unwrap();
    assert_eq!(out[1].name, "latency_high");
    assert_eq!(out[1].description, "Latency (p95)");
    assert_eq!(gauge_values(&out[1]), vec![20.0]);
    // one bucket: min..max, or skipped (no metric) without them
    let single = HistogramDataPoint {
        count: 4,
        bucket_counts: vec![4],
        min: Some(2.0),
        max: Some(6.0),
        ..Default::default()
    };
    let out = run_metric_statements(
        &["extract_percentile_metric(50)"],
        vec![hist_metric("h", "", vec![single.clone()])],
    )
    .unwrap();
    assert_eq!(gauge_values(&out[1]), vec![4.0]);
    let out = run_metric_statements(
        &["extract_percentile_metric(50)"],
        vec![hist_metric(
            "h",
            "",
            vec![HistogramDataPoint {
                min: None,
                ..single
            }],
        )],
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    // exponential histograms
    use pdata::proto::metrics::v1::{
        ExponentialHistogram, ExponentialHistogramDataPoint,
        exponential_histogram_data_point::Buckets,
    };
    let exp = |p: ExponentialHistogramDataPoint| Metric {
        name: "e".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![p],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let buckets = |offset: i32, counts: Vec<u64>| {
        Some(Buckets {
            offset,
            bucket_counts: counts,
        })
    };
    let positive = ExponentialHistogramDataPoint {
        count: 4,
        scale: 0,
        positive: buckets(0, vec![2, 2]),
        ..Default::default()
    };
    let negative = ExponentialHistogramDataPoint {
        count: 2,
        scale: 0,
        negative: buckets(0, vec![2]),
        ..Default::default()
    };
    let with_zero = ExponentialHistogramDataPoint {
        count: 4,
        zero_count: 2,
        zero_threshold: 0.5,
        positive: buckets(0, vec![2]),
        ..Default::default()
    };
    for (p, point, want) in [
        ("50", positive.clone(), 2.0),
        ("75", positive, 2f64.powf(1.5)),
        ("50", negative, -(2f64.sqrt())),
        ("25", with_zero, 0.25),
    ] {
        let out = run_metric_statements(
            &[&format!("extract_percentile_metric({p})")],
            vec![exp(point)],
        )
        .unwrap();
        let got = gauge_values(&out[1])[0];
        assert!((got - want).abs() < 1e-9, "p{p}: {got} != {want}");
    }
    // sums and gauges are left alone
    let out = run_metric_statements(
        &["extract_percentile_metric(50)"],
        vec![Metric {
            name: "g".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![number(1.0)],
            })),
            ..Default::default()
        }],
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    // errors
    for p in ["0", "100", "-1"] {
        let e = run_metric_statements(&[&format!("extract_percentile_metric({p})")], vec![])
            .unwrap_err();
        assert!(
            e.contains("percentile must be greater than 0 and less than 100, got"),
            "{e}"
        );
    }
    let malformed = HistogramDataPoint {
        count: 2,
        bucket_counts: vec![1, 1],
        ..Default::default()
    };
    let e = run_metric_statements(
        &["extract_percentile_metric(50)"],
        vec![hist_metric("h", "", vec![malformed])],
    )
    .unwrap_err();
    assert!(
        e.contains("malformed data: bucketCounts length (2) != explicitBounds length (0) + 1"),
        "{e}"
    );
}

#[test]
fn merge_histogram_buckets_as_go() {
    let point = HistogramDataPoint {
        count: 10,
        explicit_bounds: vec![1.0, 5.0, 10.0],
        bucket_counts: vec![2, 3, 4, 1],
        ..Default::default()
    };
    let bounds_counts = |m: &Metric| match &m.data {
        Some(Data::Histogram(h)) => (
            h.data_points[0].explicit_bounds.clone(),
            h.data_points[0].bucket_counts.clone(),
        ),
        other => panic!("not a histogram: {other:?}"),
    };
    for (stmt, bounds, counts) in [
        (
            "merge_histogram_buckets(5.0)",
            vec![1.0, 10.0],
            vec![2, 7, 1],
        ),
        ("merge_histogram_buckets(1)", vec![5.0, 10.0], vec![5, 4, 1]),
        ("merge_histogram_buckets(10)", vec![1.0, 5.0], vec![2, 3, 5]),
        // a bound the point does not have: unchanged
        (
            "merge_histogram_buckets(7)",
            vec![1.0, 5.0, 10.0],
            vec![2, 3, 4, 1],
        ),
    ] {
        let out = run_metric_statements(&[stmt], vec![hist_metric("h", "", vec![point.clone()])])
            .unwrap();
        assert_eq!(bounds_counts(&out[0]), (bounds, counts), "{stmt}");
    }
    // malformed points and other types are left alone
    let malformed = HistogramDataPoint {
        explicit_bounds: vec![1.0],
        bucket_counts: vec![1, 2, 3],
        ..Default::default()
    };
    let out = run_metric_statements(
        &["merge_histogram_buckets(1)"],
        vec![hist_metric("h", "", vec![malformed])],
    )
    .unwrap();
    assert_eq!(bounds_counts(&out[0]), (vec![1.0], vec![1, 2, 3]));
}

/// Go's func_parse_clf_test.go shapes, through the transform processor's log statements.
#[test]
fn parse_clf_as_go() {
    let run = |stmt: &str, body: &str| -> Result<LogRecord, String> {
        let t = Transform::new(&Config {
            log_statements: basic(&[stmt]),
            ..Default::default()
        })?;
        let mut req = logs(vec![LogRecord {
            body: Some(s(body)),
            ..Default::default()
        }]);
        t.process_logs(&mut req)?;
        Ok(req.resource_logs[0].scope_logs[0].log_records.remove(0))
    };
    let rec = run(
        r#"merge_maps(log.attributes, ParseCLF(log.body), "upsert")"#,
        r#"127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
    )
    .unwrap();
    assert_eq!(
        rec.attributes,
        vec![
            kv("clf.remote_host", s("127.0.0.1")),
            kv("clf.rfc931", s("user-identifier")),
            kv("clf.authuser", s("frank")),
            kv("clf.timestamp", s("10/Oct/2000:13:55:36 -0700")),
            kv("clf.request", s("GET /apache_pb.gif HTTP/1.0")),
            kv("clf.method", s("GET")),
            kv("clf.request_uri", s("/apache_pb.gif")),
            kv("clf.protocol", s("HTTP/1.0")),
            kv("clf.status", i(200)),
            kv("clf.bytes", i(2326)),
        ]
    );
    let rec = run(
        r#"merge_maps(log.attributes, ParseCLF(log.body, "combined"), "upsert")"#,
        r#"10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /q?x=\"y\" HTTP/1.1" 304 - "http://ex.com/\x41" "curl/8.0""#,
    )
    .unwrap();
    assert_eq!(
        get(&rec.attributes, "clf.request_uri"),
        Some(&s(r#"/q?x="y""#))
    );
    assert_eq!(get(&rec.attributes, "clf.bytes"), None);
    assert_eq!(get(&rec.attributes, "clf.status"), Some(&i(304)));
    assert_eq!(
        get(&rec.attributes, "clf.referer"),
        Some(&s("http://ex.com/A"))
    );
    assert_eq!(get(&rec.attributes, "clf.user_agent"), Some(&s("curl/8.0")));
    // a request that is not three words keeps only clf.request
    let rec = run(
        r#"merge_maps(log.attributes, ParseCLF(log.body), "upsert")"#,
        r#"h - - [d] "\x16\x03" 400 0"#,
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "clf.request"), Some(&s("\u{16}\u{3}")));
    assert_eq!(get(&rec.attributes, "clf.method"), None);
    // errors
    let e = run(r#"set(log.attributes["x"], ParseCLF(log.body))"#, "not clf").unwrap_err();
    assert!(
        e.contains(r#"invalid CLF message: does not match expected "clf" format"#),
        "{e}"
    );
    let e = run(r#"set(log.attributes["x"], ParseCLF(log.body))"#, "").unwrap_err();
    assert!(e.contains("cannot parse empty CLF message"), "{e}");
    let e = run(
        r#"set(log.attributes["x"], ParseCLF(log.body))"#,
        r#"h - - [d] "GET / HTTP/1.0" OK 1"#,
    )
    .unwrap_err();
    assert!(
        e.contains(r#"invalid status code "OK": strconv.ParseInt: parsing "OK": invalid syntax"#),
        "{e}"
    );
    let e = run(
        r#"set(log.attributes["x"], ParseCLF(log.body, "json"))"#,
        "x",
    )
    .unwrap_err();
    assert!(
        e.contains(r#"invalid format "json": must be "clf" or "combined""#),
        "{e}"
    );
}

fn run_log(stmt: &str, body: &str) -> Result<LogRecord, String> {
    let t = Transform::new(&Config {
        log_statements: basic(&[stmt]),
        ..Default::default()
    })?;
    let mut req = logs(vec![LogRecord {
        body: Some(s(body)),
        ..Default::default()
    }]);
    t.process_logs(&mut req)?;
    Ok(req.resource_logs[0].scope_logs[0].log_records.remove(0))
}

/// Go's func_parse_cef_test.go shapes.
#[test]
fn parse_cef_as_go() {
    let rec = run_log(
        r#"set(log.attributes["cef"], ParseCEF(log.body))"#,
        r#"Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 msg=Detected a threat. No action needed. cs1=a\=b\\c\nd"#,
    )
    .unwrap();
    let cef = match get(&rec.attributes, "cef").and_then(|v| v.value.as_ref()) {
        Some(pdata::proto::common::v1::any_value::Value::KvlistValue(kv)) => kv.values.clone(),
        other => panic!("not a map: {other:?}"),
    };
    for (k, v) in [
        ("cef.version", "0"),
        ("cef.device_vendor", "Security"),
        ("cef.device_product", "threatmanager"),
        ("cef.device_version", "1.0"),
        ("cef.device_event_class_id", "100"),
        ("cef.name", "worm successfully stopped"),
        ("cef.severity", "10"),
    ] {
        assert_eq!(get(&cef, k), Some(&s(v)), "{k}");
    }
    assert_eq!(
        get(&cef, "cef.extensions"),
        Some(&map(vec![
            kv("src", s("10.0.0.1")),
            kv("dst", s("2.1.2.2")),
            kv("spt", s("1232")),
            kv("msg", s("Detected a threat. No action needed.")),
            kv("cs1", s("a=b\\c\nd")),
        ]))
    );
    // escaped pipes in the header, no extension
    let rec = run_log(
        r#"set(log.attributes["cef"], ParseCEF(log.body))"#,
        r#"CEF:1|Ven\|dor|Prod\\uct|2|sig|Name|Low|"#,
    )
    .unwrap();
    let cef = match get(&rec.attributes, "cef").and_then(|v| v.value.as_ref()) {
        Some(pdata::proto::common::v1::any_value::Value::KvlistValue(kv)) => kv.values.clone(),
        other => panic!("not a map: {other:?}"),
    };
    assert_eq!(get(&cef, "cef.device_vendor"), Some(&s("Ven|dor")));
    assert_eq!(get(&cef, "cef.device_product"), Some(&s("Prod\\uct")));
    assert_eq!(get(&cef, "cef.extensions"), Some(&map(vec![])));
    for (body, msg) in [
        ("no marker", "invalid CEF message: 'CEF:' not found"),
        ("", "cannot parse empty CEF message"),
        ("CEF:|a|b|c|d|e|f|", "invalid CEF message: missing version"),
        (
            "CEF:0|a|b",
            "invalid CEF header: expected at least 7 pipe-delimited fields (CEF:Version, Device Vendor, Device Product, Device Version, Device Event Class ID, Name, Severity), got 3",
        ),
    ] {
        let e = run_log(r#"set(log.attributes["cef"], ParseCEF(log.body))"#, body).unwrap_err();
        assert!(e.contains(msg), "{body}: {e}");
    }
}

/// Go's Test_parseLEEF shapes (LEEF 1.0 with tabs, LEEF 2.0 with its own delimiter).
#[test]
fn parse_leef_as_go() {
    let parsed = |body: &str| -> Result<Vec<KeyValue>, String> {
        let rec = run_log(r#"set(log.attributes["l"], ParseLEEF(log.body))"#, body)?;
        match get(&rec.attributes, "l").and_then(|v| v.value.as_ref()) {
            Some(pdata::proto::common::v1::any_value::Value::KvlistValue(kv)) => {
                Ok(kv.values.clone())
            }
            other => panic!("not a map: {other:?}"),
        }
    };
    assert_eq!(
        parsed("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tsev=5")
            .unwrap(),
        vec![
            kv("version", s("1.0")),
            kv("vendor", s("Microsoft")),
            kv("product_name", s("MSExchange")),
            kv("product_version", s("4.0 SP1")),
            kv("event_id", s("15345")),
            kv(
                "attributes",
                map(vec![
                    kv("src", s("10.50.1.1")),
                    kv("dst", s("2.10.20.20")),
                    kv("sev", s("5")),
                ])
            ),
        ]
    );
    let m = parsed(
        "<13>Jan 1 host LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5",
    )
    .unwrap();
    assert_eq!(
        get(&m, "attributes"),
        Some(&map(vec![
            kv("src", s("10.0.1.8")),
            kv("dst", s("10.0.0.5")),
            kv("sev", s("5"))
        ]))
    );
    let m = parsed("LEEF:2.0|V|P|1|E|0x7c|a=1|b=2").unwrap();
    assert_eq!(
        get(&m, "attributes"),
        Some(&map(vec![kv("a", s("1")), kv("b", s("2"))]))
    );
    let m = parsed("LEEF:1.0|V|P|1|E").unwrap();
    assert_eq!(get(&m, "attributes"), Some(&map(vec![])));
    for (body, msg) in [
        ("nothing", "invalid LEEF message: 'LEEF:' not found"),
        (
            "LEEF:1.0",
            "invalid LEEF message: missing pipe delimiter in header",
        ),
        (
            "LEEF:3.0|V|P|1|E|",
            "unsupported LEEF version: 3.0 (supported: 1.0, 2.0)",
        ),
        (
            "LEEF:1.0|V|P",
            "invalid LEEF 1.0 header: expected at least 4 fields (vendor, product, version, eventID), got 2",
        ),
        (
            "LEEF:2.0|V|P|1|E|0x7c7c|a=1",
            "invalid LEEF 2.0 delimiter: hex delimiter must decode to a single byte, got 2 bytes",
        ),
        ("", "cannot parse empty LEEF message"),
    ] {
        let e = parsed(body).unwrap_err();
        assert!(e.contains(msg), "{body}: {e}");
    }
}

/// Go's func_parse_elf_test.go shapes: directives, quoted values, several #Fields.
#[test]
fn parse_elf_as_go() {
    let parsed = |body: &str| -> Result<Vec<KeyValue>, String> {
        let rec = run_log(r#"set(log.attributes["e"], ParseELF(log.body))"#, body)?;
        match get(&rec.attributes, "e").and_then(|v| v.value.as_ref()) {
            Some(pdata::proto::common::v1::any_value::Value::KvlistValue(kv)) => {
                Ok(kv.values.clone())
            }
            other => panic!("not a map: {other:?}"),
        }
    };
    let m = parsed(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-01-01 00:00:00\r\n#Fields: date time cs-method cs-uri-stem sc-status cs(User-Agent)\r\n2024-01-01 00:00:01 GET /index.html 200 \"Mozilla/5.0 (\"\"x\"\")\"\r\n2024-01-01 00:00:02 POST /api\r\n",
    )
    .unwrap();
    assert_eq!(
        m,
        vec![
            kv(
                "elf.entries",
                list(vec![
                    map(vec![
                        kv("date", s("2024-01-01")),
                        kv("time", s("00:00:01")),
                        kv("cs-method", s("GET")),
                        kv("cs-uri-stem", s("/index.html")),
                        kv("sc-status", s("200")),
                        kv("cs(User-Agent)", s("Mozilla/5.0 (\"x\")")),
                    ]),
                    map(vec![
                        kv("date", s("2024-01-01")),
                        kv("time", s("00:00:02")),
                        kv("cs-method", s("POST")),
                        kv("cs-uri-stem", s("/api")),
                        // fewer values than fields: "-"
                        kv("sc-status", s("-")),
                        kv("cs(User-Agent)", s("-")),
                    ]),
                ])
            ),
            kv(
                "elf.software",
                s("Microsoft Internet Information Services 10.0")
            ),
            kv("elf.version", s("1.0")),
            kv("elf.date", s("2024-01-01 00:00:00")),
            kv(
                "elf.fields",
                list(vec![
                    s("date"),
                    s("time"),
                    s("cs-method"),
                    s("cs-uri-stem"),
                    s("sc-status"),
                    s("cs(User-Agent)"),
                ])
            ),
        ]
    );
    // a later #Fields applies to the lines after it; elf.fields is the last one
    let m = parsed("#Version: 1.0\n#Fields: a b\n1 2\n#Fields: c\n3 4\n").unwrap();
    assert_eq!(
        get(&m, "elf.entries"),
        Some(&list(vec![
            map(vec![kv("a", s("1")), kv("b", s("2"))]),
            map(vec![kv("c", s("3"))]),
        ]))
    );
    assert_eq!(get(&m, "elf.fields"), Some(&list(vec![s("c")])));
    for (body, msg) in [
        ("#Fields: a\n1", "invalid ELF: missing #Version directive"),
        (
            "#Version: 1.0\n1 2",
            "invalid ELF: data entry found before #Fields directive",
        ),
        (
            "#Version: 1.0\n#Fields a b\n",
            "invalid ELF: malformed #Fields directive",
        ),
        (
            "#Version: 1.0\n#Fields: a\n\"open",
            "invalid ELF: unterminated quoted value in data line",
        ),
        ("", "cannot parse empty ELF message"),
    ] {
        let e = parsed(body).unwrap_err();
        assert!(e.contains(msg), "{body:?}: {e}");
    }
    // a bare #Remark is skipped
    assert!(parsed("#Version: 1.0\n#Remark\n").is_ok());
}
