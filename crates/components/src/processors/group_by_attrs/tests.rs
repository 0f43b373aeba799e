//! Expected values from Go's `processor_test.go` (`TestComplexAttributeGrouping`, the
//! attribute-moving and metric-splitting cases) and its `documentation.md` metric names.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use pdata::{Batch, Request, Signal};

use super::Factory;
use crate::processors::testing::{create, parse};

fn s(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn i(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
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

fn record_attrs() -> Vec<KeyValue> {
    vec![
        s("commonGroupedAttr", "abc"),
        s("commonNonGroupedAttr", "xyz"),
    ]
}

/// Go's `someComplexTraces`: `rs` resources (with `resourceAttrIndex` when asked), each
/// with `ils` scopes of one span.
fn complex_traces(with_index: bool, rs: usize, ils: usize) -> Request {
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: (0..rs)
            .map(|r| ResourceSpans {
                resource: resource(if with_index {
                    vec![i("resourceAttrIndex", r as i64)]
                } else {
                    vec![]
                }),
                scope_spans: (0..ils)
                    .map(|j| ScopeSpans {
                        spans: vec![Span {
                            name: format!("foo-{r}-{j}"),
                            attributes: record_attrs(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    })
}

fn complex_logs(with_index: bool, rl: usize, ill: usize) -> Request {
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: (0..rl)
            .map(|r| ResourceLogs {
                resource: resource(if with_index {
                    vec![i("resourceAttrIndex", r as i64)]
                } else {
                    vec![]
                }),
                scope_logs: (0..ill)
                    .map(|_| ScopeLogs {
                        log_records: vec![LogRecord {
                            attributes: record_attrs(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    })
}

/// Go's `someComplexMetrics` (gauges) and `someComplexHistogramMetrics`, two points each.
fn complex_metrics(with_index: bool, rm: usize, ilm: usize, histogram: bool) -> Request {
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: (0..rm)
            .map(|r| ResourceMetrics {
                resource: resource(if with_index {
                    vec![i("resourceAttrIndex", r as i64)]
                } else {
                    vec![]
                }),
                scope_metrics: (0..ilm)
                    .map(|j| ScopeMetrics {
                        metrics: vec![Metric {
                            name: format!("foo-{r}-{j}"),
                            data: Some(if histogram {
                                Data::Histogram(Histogram {
                                    aggregation_temporality: 2,
                                    data_points: (0..2)
                                        .map(|k| HistogramDataPoint {
                                            count: k,
                                            attributes: record_attrs(),
                                            ..Default::default()
                                        })
                                        .collect(),
                                })
                            } else {
                                Data::Gauge(Gauge {
                                    data_points: (0..2)
                                        .map(|k| NumberDataPoint {
                                            value: Some(number_data_point::Value::AsInt(k)),
                                            attributes: record_attrs(),
                                            ..Default::default()
                                        })
                                        .collect(),
                                })
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    })
}

/// (resources, scopes per resource, record attributes, resource attributes) of a result.
fn shape(req: &Request) -> Vec<(usize, Vec<Vec<KeyValue>>, Vec<KeyValue>)> {
    match req {
        Request::Profiles(_) => unreachable!("the processor takes no profiles"),
        Request::Traces(t) => t
            .resource_spans
            .iter()
            .map(|r| {
                (
                    r.scope_spans.len(),
                    r.scope_spans
                        .iter()
                        .flat_map(|s| s.spans.iter().map(|x| x.attributes.clone()))
                        .collect(),
                    r.resource.clone().unwrap_or_default().attributes,
                )
            })
            .collect(),
        Request::Logs(l) => l
            .resource_logs
            .iter()
            .map(|r| {
                (
                    r.scope_logs.len(),
                    r.scope_logs
                        .iter()
                        .flat_map(|s| s.log_records.iter().map(|x| x.attributes.clone()))
                        .collect(),
                    r.resource.clone().unwrap_or_default().attributes,
                )
            })
            .collect(),
        Request::Metrics(m) => m
            .resource_metrics
            .iter()
            .map(|r| {
                let mut attrs = Vec::new();
                for s in &r.scope_metrics {
                    for m in &s.metrics {
                        match &m.data {
                            Some(Data::Gauge(g)) => {
                                attrs.extend(g.data_points.iter().map(|p| p.attributes.clone()))
                            }
                            Some(Data::Histogram(h)) => {
                                assert_eq!(h.aggregation_temporality, 2);
                                attrs.extend(h.data_points.iter().map(|p| p.attributes.clone()))
                            }
                            _ => {}
                        }
                    }
                }
                (
                    r.scope_metrics.len(),
                    attrs,
                    r.resource.clone().unwrap_or_default().attributes,
                )
            })
            .collect(),
    }
}

async fn run(yaml: &str, signal: Signal, req: Request) -> (Request, runtime::Telemetry) {
    let (p, sink, tel) = create(&Factory, yaml, signal).unwrap();
    p.consume(Batch::from_request(req)).await.unwrap();
    let mut out = sink.requests();
    assert_eq!(out.len(), 1);
    (out.remove(0), tel)
}

#[tokio::test]
async fn group_by_attrs_complex_grouping_matches_go() {
    // (keys, with resourceAttrIndex, attribute moved, output resources)
    let cases: &[(&str, bool, bool, usize)] = &[
        ("keys: [commonGroupedAttr]", false, true, 1),
        ("keys: [commonGroupedAttr]", true, true, 4),
        ("keys: []", false, false, 1),
        ("keys: []", true, false, 4),
    ];
    for &(yaml, with_index, moved, resources) in cases {
        let inputs = [
            (Signal::Traces, complex_traces(with_index, 4, 4)),
            (Signal::Logs, complex_logs(with_index, 4, 4)),
            (Signal::Metrics, complex_metrics(with_index, 4, 4, false)),
            (Signal::Metrics, complex_metrics(with_index, 4, 4, true)),
        ];
        for (signal, input) in inputs {
            let records = match signal {
                Signal::Metrics => 32,
                _ => 16,
            };
            let (out, tel) = run(yaml, signal, input).await;
            let got = shape(&out);
            assert_eq!(got.len(), resources, "{yaml} {signal:?}");
            let total: usize = got.iter().map(|g| g.1.len()).sum();
            assert_eq!(total, records, "{yaml} {signal:?}");
            for (scopes, recs, res_attrs) in &got {
                assert_eq!(*scopes, 1, "{yaml} {signal:?}");
                let expected_record = if moved {
                    vec![s("commonNonGroupedAttr", "xyz")]
                } else {
                    record_attrs()
                };
                assert!(
                    recs.iter().all(|a| *a == expected_record),
                    "{yaml} {signal:?}"
                );
                assert_eq!(
                    res_attrs.contains(&s("commonGroupedAttr", "abc")),
                    moved,
                    "{yaml} {signal:?}"
                );
            }
            let (grouped, non_grouped) = match signal {
                Signal::Traces => (
                    "otelcol_processor_groupbyattrs_num_grouped_spans",
                    "otelcol_processor_groupbyattrs_num_non_grouped_spans",
                ),
                Signal::Logs => (
                    "otelcol_processor_groupbyattrs_num_grouped_logs",
                    "otelcol_processor_groupbyattrs_num_non_grouped_logs",
                ),
                Signal::Metrics => (
                    "otelcol_processor_groupbyattrs_num_grouped_metrics",
                    "otelcol_processor_groupbyattrs_num_non_grouped_metrics",
                ),
                Signal::Profiles => unreachable!("no profiles here"),
            };
            let labels = [("processor", "groupbyattrs")];
            let (g, n) = if moved { (records, 0) } else { (0, records) };
            assert_eq!(
                tel.value(grouped, &labels),
                Some(g as f64),
                "{yaml} {signal:?}"
            );
            assert_eq!(
                tel.value(non_grouped, &labels),
                Some(n as f64),
                "{yaml} {signal:?}"
            );
        }
    }
}

#[tokio::test]
async fn group_by_attrs_moves_keys_and_splits_by_value() {
    // One resource with host.name=r; spans carry host.name (overriding the resource's) or
    // not; the same value from two input resources lands in one output resource.
    let span = |name: &str, attrs: Vec<KeyValue>| Span {
        name: name.into(),
        attributes: attrs,
        ..Default::default()
    };
    let scope = |name: &str| {
        Some(InstrumentationScope {
            name: name.into(),
            version: "1".into(),
            ..Default::default()
        })
    };
    let input = Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource(vec![s("service.name", "svc"), s("host.name", "r")]),
                scope_spans: vec![ScopeSpans {
                    scope: scope("a"),
                    spans: vec![
                        span("1", vec![s("host.name", "h1"), s("x", "1")]),
                        span("2", vec![s("x", "2")]),
                        span("3", vec![s("host.name", "h2")]),
                    ],
                    schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            },
            ResourceSpans {
                resource: resource(vec![s("host.name", "r"), s("service.name", "svc")]),
                scope_spans: vec![ScopeSpans {
                    scope: scope("a"),
                    spans: vec![span("4", vec![s("host.name", "h1")])],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    });
    let (out, tel) = run("keys: [host.name]", Signal::Traces, input).await;
    let Request::Traces(t) = out else {
        unreachable!()
    };
    let summary: Vec<(Vec<KeyValue>, Vec<Vec<String>>)> = t
        .resource_spans
        .iter()
        .map(|r| {
            assert_eq!(r.schema_url, "", "Go rebuilds resources without schema_url");
            (
                r.resource.clone().unwrap().attributes,
                r.scope_spans
                    .iter()
                    .map(|s| s.spans.iter().map(|x| x.name.clone()).collect())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                vec![s("service.name", "svc"), s("host.name", "h1")],
                vec![vec!["1".to_string(), "4".to_string()]]
            ),
            (
                vec![s("service.name", "svc"), s("host.name", "r")],
                vec![vec!["2".to_string()]]
            ),
            (
                vec![s("service.name", "svc"), s("host.name", "h2")],
                vec![vec!["3".to_string()]]
            ),
        ]
    );
    assert_eq!(
        t.resource_spans[0].scope_spans[0].spans[0].attributes,
        vec![s("x", "1")]
    );
    assert!(
        t.resource_spans[0].scope_spans[0].spans[1]
            .attributes
            .is_empty()
    );
    let labels = [("processor", "groupbyattrs")];
    assert_eq!(
        tel.value("otelcol_processor_groupbyattrs_num_grouped_spans", &labels),
        Some(3.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_groupbyattrs_num_non_grouped_spans",
            &labels
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn group_by_attrs_splits_a_metric_across_resources_keeping_its_definition() {
    let point = |v: i64, host: &str| NumberDataPoint {
        value: Some(number_data_point::Value::AsInt(v)),
        attributes: vec![s("host", host), s("cpu", "0")],
        ..Default::default()
    };
    let input = Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(vec![s("service.name", "svc")]),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "requests".into(),
                        description: "d".into(),
                        unit: "1".into(),
                        data: Some(Data::Sum(Sum {
                            data_points: vec![point(1, "a"), point(2, "b"), point(3, "a")],
                            aggregation_temporality: 1,
                            is_monotonic: true,
                        })),
                        metadata: vec![s("m", "1")],
                    },
                    Metric {
                        name: "empty".into(),
                        data: Some(Data::Gauge(Gauge::default())),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let (out, tel) = run("keys: [host]", Signal::Metrics, input).await;
    let Request::Metrics(m) = out else {
        unreachable!()
    };
    assert_eq!(m.resource_metrics.len(), 2);
    for (rm, (host, values)) in m
        .resource_metrics
        .iter()
        .zip([("a", vec![1, 3]), ("b", vec![2])])
    {
        assert_eq!(
            rm.resource.clone().unwrap().attributes,
            vec![s("service.name", "svc"), s("host", host)]
        );
        let metrics = &rm.scope_metrics[0].metrics;
        assert_eq!(
            metrics.len(),
            1,
            "a metric without points disappears, as in Go"
        );
        let metric = &metrics[0];
        assert_eq!(
            (
                metric.name.as_str(),
                metric.description.as_str(),
                metric.unit.as_str()
            ),
            ("requests", "d", "1")
        );
        assert_eq!(metric.metadata, vec![s("m", "1")]);
        let Some(Data::Sum(sum)) = &metric.data else {
            panic!()
        };
        assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (1, true));
        let got: Vec<i64> = sum
            .data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(v)) => v,
                _ => -1,
            })
            .collect();
        assert_eq!(got, values);
        assert!(
            sum.data_points
                .iter()
                .all(|p| p.attributes == vec![s("cpu", "0")])
        );
    }
    assert_eq!(
        tel.value(
            "otelcol_processor_groupbyattrs_num_grouped_metrics",
            &[("processor", "groupbyattrs")]
        ),
        Some(3.0)
    );
}

#[test]
fn group_by_attrs_config_keys_and_refusals() {
    assert!(parse(&Factory, "processors::group_by_attrs", "").is_ok());
    let cfg = super::Config {
        keys: vec!["a".into(), "".into(), "b".into(), "a".into()],
    };
    assert_eq!(cfg.effective_keys(), vec!["a".to_string(), "b".to_string()]);
    let err = parse(&Factory, "processors::group_by_attrs", "key: [a]").unwrap_err();
    assert!(err.contains("key"), "{err}");
}
