//! Golden tests: requests shaped like the Go collector's pdata test data, rendered and compared
//! with the exact text the Go debug exporter prints (testdata/*.txt); value rendering; config;
//! sampling; and the exporter end to end through its factory.

use std::time::{Duration, Instant};

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
    any_value::Value as V,
};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use pdata::{Batch, Request, Signal};
use runtime::factory::{ExporterFactory, Settings, typed};

use super::*;
use crate::util::gofmt::{base64, es6, go_f, go_v, id, timestamp, typed_value};

/// 2020-02-11 20:26:12.000000321 UTC, the start time of the Go test data.
const START: u64 = 1_581_452_772_000_000_321;
/// 2020-02-11 20:26:13.000000789 UTC.
const END: u64 = 1_581_452_773_000_000_789;
/// 2020-02-11 20:26:13.000000123 UTC, the event/exemplar time.
const EVENT: u64 = 1_581_452_773_000_000_123;
const TRACE_ID: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SPAN_ID: [u8; 8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];

fn val(v: V) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}
fn s(v: &str) -> V {
    V::StringValue(v.into())
}
fn kv(k: &str, v: V) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: val(v),
        ..Default::default()
    }
}
fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| kv(k, s(v))).collect()
}
fn map(pairs: Vec<KeyValue>) -> V {
    V::KvlistValue(KeyValueList { values: pairs })
}
fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}
fn golden(name: &str) -> String {
    let path = format!(
        "{}/src/exporters/debug/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Go's `testdata.GenerateTraces(2)`.
fn two_spans() -> Request {
    let span_a = Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        trace_state: "ot=th:0".into(),
        name: "operationA".into(),
        start_time_unix_nano: START,
        end_time_unix_nano: END,
        dropped_attributes_count: 1,
        events: vec![
            span::Event {
                time_unix_nano: EVENT,
                name: "event-with-attr".into(),
                attributes: kvs(&[("span-event-attr", "span-event-attr-val")]),
                dropped_attributes_count: 2,
            },
            span::Event {
                time_unix_nano: EVENT,
                name: "event".into(),
                attributes: vec![],
                dropped_attributes_count: 2,
            },
        ],
        dropped_events_count: 1,
        status: Some(Status {
            message: "status-cancelled".into(),
            code: 2,
        }),
        ..Default::default()
    };
    let link = |attrs| span::Link {
        attributes: attrs,
        dropped_attributes_count: 4,
        ..Default::default()
    };
    let span_b = Span {
        name: "operationB".into(),
        start_time_unix_nano: START,
        end_time_unix_nano: END,
        links: vec![
            link(kvs(&[("span-link-attr", "span-link-attr-val")])),
            link(vec![]),
        ],
        dropped_links_count: 3,
        ..Default::default()
    };
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(kvs(&[("resource-attr", "resource-attr-val-1")])),
            scope_spans: vec![ScopeSpans {
                scope: None,
                spans: vec![span_a, span_b],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

/// The README's telemetrygen span, with entity refs and a link.
fn server_span() -> Request {
    let hex = |s: &str| {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let span = Span {
        trace_id: hex("fafdac970271dd2ce89de2442c0518c7"),
        span_id: hex("3875f436d989d0e5"),
        parent_span_id: hex("d98de4cb8e2a0ad6"),
        trace_state: "ot=th:0".into(),
        name: "okey-dokey-0".into(),
        kind: 2,
        start_time_unix_nano: 1_744_879_244_555_461_596,
        end_time_unix_nano: 1_744_879_244_555_584_596,
        attributes: kvs(&[
            ("peer.service", "telemetrygen-client"),
            ("net.peer.ip", "1.2.3.4"),
        ]),
        links: vec![span::Link {
            trace_id: TRACE_ID.to_vec(),
            span_id: SPAN_ID.to_vec(),
            trace_state: "ot=th:8".into(),
            attributes: kvs(&[("span-link-attr", "v")]),
            ..Default::default()
        }],
        status: Some(Status {
            message: String::new(),
            code: 1,
        }),
        ..Default::default()
    };
    let entity = |t: &str, schema: &str, ids: &[&str], descs: &[&str]| EntityRef {
        schema_url: schema.into(),
        r#type: t.into(),
        id_keys: ids.iter().map(|s| s.to_string()).collect(),
        description_keys: descs.iter().map(|s| s.to_string()).collect(),
    };
    Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: kvs(&[("service.name", "telemetrygen")]),
                entity_refs: vec![
                    entity(
                        "service",
                        "https://opentelemetry.io/schemas/1.21.0",
                        &["service.name"],
                        &["service.version"],
                    ),
                    entity("host", "", &["host.name"], &[]),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "telemetrygen".into(),
                    version: "1.2.3".into(),
                    attributes: kvs(&[("k", "v")]),
                    dropped_attributes_count: 0,
                }),
                spans: vec![span],
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.25.0".into(),
        }],
    })
}

/// Go's one-record, event-name and embedded-maps logs, plus a resource with every value type.
fn logs() -> Request {
    let first = LogRecord {
        time_unix_nano: END,
        severity_number: 9,
        severity_text: "Info".into(),
        body: val(s("This is a log message")),
        attributes: vec![kv("app", s("server")), kv("instance_num", V::IntValue(1))],
        trace_id: vec![8, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        span_id: vec![1, 2, 4, 8, 0, 0, 0, 0],
        ..Default::default()
    };
    let nested = LogRecord {
        time_unix_nano: END,
        severity_number: 9,
        severity_text: "Info".into(),
        event_name: "event_name".into(),
        flags: 1,
        body: val(map(vec![
            kv("key2", map(kvs(&[("key22", "val22"), ("key21", "val21")]))),
            kv("key1", s("val1")),
        ])),
        attributes: vec![
            kv(
                "key1",
                map(vec![
                    kv("key13", map(kvs(&[("key131", "val131")]))),
                    kv("key11", s("val11")),
                    kv("key12", s("val12")),
                ]),
            ),
            kv("key2", s("val2")),
        ],
        ..Default::default()
    };
    let empty = LogRecord::default();
    let all_types = LogRecord {
        severity_number: 24,
        severity_text: "oops".into(),
        body: val(s("second")),
        attributes: vec![
            kv("str", s("a \"quoted\" <b> & c")),
            kv("int", V::IntValue(-42)),
            kv("double", V::DoubleValue(1.5)),
            kv("big", V::DoubleValue(1e21)),
            kv("tiny", V::DoubleValue(1e-7)),
            kv("bool", V::BoolValue(true)),
            kv("bytes", V::BytesValue(vec![1, 2, 3, 255])),
            KeyValue {
                key: "empty".into(),
                value: None,
                ..Default::default()
            },
            kv(
                "slice",
                V::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(s("a")),
                        },
                        AnyValue {
                            value: Some(V::IntValue(1)),
                        },
                        AnyValue {
                            value: Some(V::DoubleValue(2.5)),
                        },
                        AnyValue {
                            value: Some(V::BoolValue(true)),
                        },
                        AnyValue { value: None },
                        AnyValue {
                            value: Some(map(kvs(&[("k", "v")]))),
                        },
                        AnyValue {
                            value: Some(V::ArrayValue(ArrayValue {
                                values: vec![AnyValue {
                                    value: Some(s("x")),
                                }],
                            })),
                        },
                        AnyValue {
                            value: Some(V::BytesValue(vec![1, 2])),
                        },
                        AnyValue {
                            value: Some(V::BytesValue(vec![])),
                        },
                    ],
                }),
            ),
            kv(
                "map",
                map(vec![
                    kv("esc", s("q\"\\\n\t\u{1}\u{2028}")),
                    kv("dup", V::IntValue(1)),
                    kv("a<b", s("x&y")),
                    kv("dup", V::IntValue(2)),
                ]),
            ),
            kv("dup", s("first")),
            kv("dup", s("second")),
        ],
        ..Default::default()
    };
    Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![
            ResourceLogs {
                resource: resource(kvs(&[("resource-attr", "resource-attr-val-1")])),
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: vec![first, nested],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
            ResourceLogs {
                resource: None,
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "my-scope".into(),
                        version: "0.1".into(),
                        ..Default::default()
                    }),
                    log_records: vec![empty, all_types],
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                }],
                schema_url: "https://opentelemetry.io/schemas/1.25.0".into(),
            },
        ],
    })
}

fn number(attrs: &[(&str, &str)], v: number_data_point::Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: kvs(attrs),
        start_time_unix_nano: START,
        time_unix_nano: END,
        value: Some(v),
        ..Default::default()
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: "1".into(),
        data: Some(data),
        ..Default::default()
    }
}

fn exemplar(value: exemplar::Value) -> Exemplar {
    Exemplar {
        filtered_attributes: kvs(&[("exemplar-attachment", "exemplar-attachment-value")]),
        time_unix_nano: EVENT,
        span_id: SPAN_ID.to_vec(),
        trace_id: TRACE_ID.to_vec(),
        value: Some(value),
    }
}

const L1: (&str, &str) = ("label-1", "label-value-1");
const L2: (&str, &str) = ("label-2", "label-value-2");
const L3: (&str, &str) = ("label-3", "label-value-3");

/// Go's `testdata.GenerateMetricsAllTypes()`, a metric with metadata and one with no data.
fn all_metrics() -> Request {
    use number_data_point::Value::{AsDouble, AsInt};
    let ints = || vec![number(&[L1], AsInt(123)), number(&[L2], AsInt(456))];
    let doubles = || {
        vec![
            number(&[L1, L2], AsDouble(1.23)),
            number(&[L1, L3], AsDouble(4.56)),
        ]
    };
    let hist = Histogram {
        data_points: vec![
            HistogramDataPoint {
                attributes: kvs(&[L1, L3]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 1,
                sum: Some(15.0),
                ..Default::default()
            },
            HistogramDataPoint {
                attributes: kvs(&[L2]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 1,
                sum: Some(15.0),
                min: Some(15.0),
                max: Some(15.0),
                bucket_counts: vec![0, 1],
                explicit_bounds: vec![1.0],
                exemplars: vec![exemplar(exemplar::Value::AsDouble(15.0))],
                ..Default::default()
            },
        ],
        aggregation_temporality: 2,
    };
    let exp = ExponentialHistogram {
        data_points: vec![
            ExponentialHistogramDataPoint {
                attributes: kvs(&[L1, L3]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 5,
                sum: Some(0.15),
                scale: 1,
                zero_count: 1,
                positive: Some(Buckets {
                    offset: 1,
                    bucket_counts: vec![1, 1],
                }),
                negative: Some(Buckets {
                    offset: -1,
                    bucket_counts: vec![1, 1],
                }),
                ..Default::default()
            },
            ExponentialHistogramDataPoint {
                attributes: kvs(&[L2]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 3,
                sum: Some(1.25),
                min: Some(0.0),
                max: Some(1.0),
                scale: -1,
                zero_count: 1,
                positive: Some(Buckets {
                    offset: -1,
                    bucket_counts: vec![1, 1],
                }),
                exemplars: vec![exemplar(exemplar::Value::AsInt(15))],
                ..Default::default()
            },
        ],
        aggregation_temporality: 1,
    };
    let summary = Summary {
        data_points: vec![
            SummaryDataPoint {
                attributes: kvs(&[L1, L3]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 1,
                sum: 15.0,
                ..Default::default()
            },
            SummaryDataPoint {
                attributes: kvs(&[L2]),
                start_time_unix_nano: START,
                time_unix_nano: END,
                count: 1,
                sum: 15.0,
                quantile_values: vec![ValueAtQuantile {
                    quantile: 0.01,
                    value: 15.0,
                }],
                ..Default::default()
            },
        ],
    };
    let with_metadata = Metric {
        name: "test-metric-metadata".into(),
        description: "A test metric with metadata".into(),
        unit: "1".into(),
        metadata: vec![
            kv("meta.key", s("meta-value")),
            kv("meta.id", V::IntValue(101)),
        ],
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                value: Some(AsInt(1)),
                ..Default::default()
            }],
        })),
    };
    let sum = |points| {
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: 2,
            is_monotonic: true,
        })
    };
    Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(kvs(&[("resource-attr", "resource-attr-val-1")])),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics: vec![
                    metric(
                        "gauge-int",
                        Data::Gauge(Gauge {
                            data_points: ints(),
                        }),
                    ),
                    metric(
                        "gauge-double",
                        Data::Gauge(Gauge {
                            data_points: doubles(),
                        }),
                    ),
                    metric("sum-int", sum(ints())),
                    metric("sum-double", sum(doubles())),
                    metric("histogram", Data::Histogram(hist)),
                    metric("exponential-histogram", Data::ExponentialHistogram(exp)),
                    metric("summary", Data::Summary(summary)),
                    with_metadata,
                    Metric {
                        name: "no-data".into(),
                        unit: "1".into(),
                        ..Default::default()
                    },
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

/// Compares line by line first, so a failure names the first differing line.
fn assert_text(actual: &str, expected: &str) {
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs", i + 1);
    }
    assert_eq!(actual, expected);
}

#[test]
fn detailed_traces_match_go_otlptext() {
    assert_text(
        &detailed_text(&two_spans()),
        &golden("traces_two_spans.txt"),
    );
}

#[test]
fn detailed_traces_print_kind_scope_status_links_and_entity_refs() {
    assert_text(
        &detailed_text(&server_span()),
        &golden("traces_server_span.txt"),
    );
}

#[test]
fn detailed_logs_match_go_otlptext_for_every_value_type() {
    assert_text(&detailed_text(&logs()), &golden("logs.txt"));
}

#[test]
fn detailed_metrics_match_go_otlptext_for_every_metric_type() {
    assert_text(
        &detailed_text(&all_metrics()),
        &golden("metrics_all_types.txt"),
    );
}

#[test]
fn detailed_text_of_empty_requests_is_empty() {
    for signal in Signal::ALL {
        let empty = Request::decode(signal, &[]).unwrap();
        assert_eq!(detailed_text(&empty), "");
        assert_eq!(normal_text(&empty), "");
    }
}

#[test]
fn normal_traces_print_one_line_per_span() {
    let expected = "ResourceTraces #0 resource-attr=resource-attr-val-1\n\
                    ScopeTraces #0\n\
                    operationA 0102030405060708090a0b0c0d0e0f10 1112131415161718\n\
                    operationB  \n";
    assert_text(&normal_text(&two_spans()), expected);
    let expected = "ResourceTraces #0 [https://opentelemetry.io/schemas/1.25.0] service.name=telemetrygen\n\
                    ScopeTraces #0 telemetrygen@1.2.3 k=v\n\
                    okey-dokey-0 fafdac970271dd2ce89de2442c0518c7 3875f436d989d0e5 peer.service=telemetrygen-client net.peer.ip=1.2.3.4\n";
    assert_text(&normal_text(&server_span()), expected);
}

#[test]
fn normal_logs_print_body_then_attributes() {
    let expected = concat!(
        "ResourceLog #0 resource-attr=resource-attr-val-1\n",
        "ScopeLog #0\n",
        "This is a log message app=server instance_num=1\n",
        "{\"key1\":\"val1\",\"key2\":{\"key21\":\"val21\",\"key22\":\"val22\"}} ",
        "key1={\"key11\":\"val11\",\"key12\":\"val12\",\"key13\":{\"key131\":\"val131\"}} key2=val2\n",
        "ResourceLog #1 [https://opentelemetry.io/schemas/1.25.0]\n",
        "ScopeLog #0 my-scope@0.1 [https://opentelemetry.io/schemas/1.26.0]\n",
        " \n",
        "second str=a \"quoted\" <b> & c int=-42 double=1.5 big=1e+21 tiny=1e-7 bool=true bytes=AQID/w== empty= ",
        "slice=[\"a\",1,2.5,true,null,{\"k\":\"v\"},[\"x\"],\"AQI=\",null] ",
        "map={\"a<b\":\"x&y\",\"dup\":2,\"esc\":\"q\\\"\\\\\\n\\t\\u0001\\u2028\"} dup=first dup=second\n",
    );
    assert_text(&normal_text(&logs()), expected);
}

#[test]
fn normal_metrics_print_one_line_per_data_point() {
    use number_data_point::Value::{AsDouble, AsInt};
    let req = Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(kvs(&[("resource-attr", "resource-attr-val-1")])),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "scope".into(),
                    version: "v1".into(),
                    ..Default::default()
                }),
                metrics: vec![
                    metric(
                        "gauge-int",
                        Data::Gauge(Gauge {
                            data_points: vec![number(&[L1], AsInt(123))],
                        }),
                    ),
                    metric(
                        "gauge-double",
                        Data::Gauge(Gauge {
                            data_points: vec![number(&[L1, L2], AsDouble(1.23))],
                        }),
                    ),
                    metric(
                        "big",
                        Data::Sum(Sum {
                            data_points: vec![number(&[], AsDouble(1e6))],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "histogram",
                        Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                attributes: kvs(&[L2]),
                                count: 1,
                                sum: Some(15.0),
                                min: Some(15.0),
                                max: Some(15.0),
                                bucket_counts: vec![0, 1],
                                explicit_bounds: vec![1.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: 2,
                        }),
                    ),
                    metric(
                        "exponential-histogram",
                        Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                count: 6,
                                sum: Some(0.15),
                                scale: 0,
                                zero_count: 1,
                                negative: Some(Buckets {
                                    offset: -1,
                                    bucket_counts: vec![2],
                                }),
                                positive: Some(Buckets {
                                    offset: 0,
                                    bucket_counts: vec![3],
                                }),
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "summary",
                        Data::Summary(Summary {
                            data_points: vec![SummaryDataPoint {
                                count: 1,
                                sum: 15.0,
                                quantile_values: vec![
                                    ValueAtQuantile {
                                        quantile: 0.01,
                                        value: 15.0,
                                    },
                                    ValueAtQuantile {
                                        quantile: 0.99,
                                        value: 1.5e-5,
                                    },
                                ],
                                ..Default::default()
                            }],
                        }),
                    ),
                ],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    });
    let expected = "ResourceMetrics #0 resource-attr=resource-attr-val-1\n\
                    ScopeMetrics #0 scope@v1\n\
                    gauge-int{label-1=label-value-1} 123\n\
                    gauge-double{label-1=label-value-1,label-2=label-value-2} 1.23\n\
                    big{} 1e+06\n\
                    histogram{label-2=label-value-2} count=1 sum=15 min=15 max=15 le1=0 1\n\
                    exponential-histogram{} count=6 sum=0.15 le-0.5=2 zero=1 le2=3\n\
                    summary{} count=1 sum=15.000000 q0.01=15 q0.99=1.5e-05\n";
    assert_text(&normal_text(&req), expected);
}

#[test]
fn doubles_render_like_pdata_as_string() {
    for (v, want) in [
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-10, "1.25e-10"),
        (-2.5e-8, "-2.5e-8"),
        (0.0, "0"),
        (-0.0, "-0"),
        (123456789.0, "123456789"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        assert_eq!(es6(v), want, "{v:e}");
    }
}

#[test]
fn doubles_render_like_go_percent_v_and_percent_f() {
    for (v, want) in [
        (1.23, "1.23"),
        (15.0, "15"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-1.5e-300, "-1.5e-300"),
        (0.0, "0"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(go_v(v), want, "{v:e}");
    }
    for (v, want) in [
        (1.23, "1.230000"),
        (0.15, "0.150000"),
        (-std::f64::consts::FRAC_1_SQRT_2, "-0.707107"),
        (1e21, "1000000000000000000000.000000"),
        (f64::INFINITY, "+Inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(go_f(v), want, "{v:e}");
    }
}

#[test]
fn timestamps_render_like_go_time_string_in_utc() {
    assert_eq!(timestamp(START), "2020-02-11 20:26:12.000000321 +0000 UTC");
    assert_eq!(timestamp(0), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(timestamp(1_500_000_000), "1970-01-01 00:00:01.5 +0000 UTC");
    assert_eq!(
        timestamp(951_782_400_000_000_000),
        "2000-02-29 00:00:00 +0000 UTC"
    );
    // Go converts the uint64 to int64: values past i64::MAX are before 1970.
    assert_eq!(
        timestamp(u64::MAX),
        "1969-12-31 23:59:59.999999999 +0000 UTC"
    );
}

#[test]
fn values_render_as_type_and_text() {
    let t = |v: V| typed_value(Some(&AnyValue { value: Some(v) }));
    assert_eq!(t(s("x")), "Str(x)");
    assert_eq!(t(V::IntValue(i64::MIN)), "Int(-9223372036854775808)");
    assert_eq!(t(V::DoubleValue(0.1)), "Double(0.1)");
    assert_eq!(t(V::BoolValue(false)), "Bool(false)");
    assert_eq!(t(V::BytesValue(vec![])), "Bytes()");
    assert_eq!(t(map(vec![])), "Map({})");
    assert_eq!(t(V::ArrayValue(ArrayValue::default())), "Slice([])");
    // encoding/json refuses NaN, and pdata then prints nothing.
    assert_eq!(t(map(vec![kv("n", V::DoubleValue(f64::NAN))])), "Map()");
    assert_eq!(typed_value(None), "Empty()");
    assert_eq!(typed_value(Some(&AnyValue { value: None })), "Empty()");
    assert_eq!(
        t(map(vec![kv("c", s("\u{8}\u{c}\u{7f}é"))])),
        "Map({\"c\":\"\\b\\f\u{7f}é\"})"
    );
}

#[test]
fn base64_and_ids_match_go() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    assert_eq!(id(&[0; 16]), "");
    assert_eq!(id(&[]), "");
    assert_eq!(id(&SPAN_ID), "1112131415161718");
}

// ---- config ----

fn parse(yaml: &str) -> Result<Config, String> {
    let value = ::config::Value::from_yaml_str(yaml).unwrap();
    Factory
        .parse_config(&value, "exporters::debug")
        .map(|c| typed::<Config>(&c).clone())
        .map_err(|e| e.to_string())
}

#[test]
fn config_defaults_are_the_go_collectors() {
    let c = parse("{}").unwrap();
    assert_eq!(c.effective_verbosity(), Verbosity::Basic);
    assert_eq!((c.sampling_initial, c.sampling_thereafter), (2, 1));
    assert!(c.use_internal_logger);
    assert_eq!(c.output_paths, None);
    assert!(
        !c.queue().enabled,
        "the debug exporter has no queue unless configured"
    );
    let c = parse("sending_queue:").unwrap();
    assert!(
        c.queue().enabled,
        "a present sending_queue enables the queue with its defaults"
    );
}

#[test]
fn config_reads_verbosity_case_insensitively_and_rejects_unknown_levels() {
    assert_eq!(
        parse("verbosity: Detailed").unwrap().effective_verbosity(),
        Verbosity::Detailed
    );
    assert_eq!(
        parse("verbosity: normal").unwrap().effective_verbosity(),
        Verbosity::Normal
    );
    let err = parse("verbosity: loud").unwrap_err();
    assert!(err.contains("unknown metrics level \"loud\""), "{err}");
    let err = parse("verbosity: none").unwrap_err();
    assert!(
        err.contains("verbosity level \"None\" is not supported"),
        "{err}"
    );
    let err = parse("verBosity: detailed").unwrap_err();
    assert!(err.contains("verBosity"), "{err}");
}

#[test]
fn config_maps_the_logging_exporters_loglevel() {
    assert_eq!(
        parse("loglevel: debug").unwrap().effective_verbosity(),
        Verbosity::Detailed
    );
    assert_eq!(
        parse("loglevel: info").unwrap().effective_verbosity(),
        Verbosity::Normal
    );
    assert_eq!(
        parse("loglevel: warn").unwrap().effective_verbosity(),
        Verbosity::Basic
    );
    assert_eq!(
        parse("loglevel: error").unwrap().effective_verbosity(),
        Verbosity::Basic
    );
    assert_eq!(
        parse("{loglevel: debug, verbosity: basic}")
            .unwrap()
            .effective_verbosity(),
        Verbosity::Basic
    );
    let err = parse("loglevel: trace").unwrap_err();
    assert!(
        err.contains("log level \"trace\" is not supported"),
        "{err}"
    );
}

#[test]
fn config_checks_output_paths_against_use_internal_logger() {
    let err = parse("output_paths: [stderr]").unwrap_err();
    assert!(
        err.contains("output_paths is not supported when use_internal_logger is true"),
        "{err}"
    );
    let err = parse("{use_internal_logger: false, output_paths: []}").unwrap_err();
    assert!(
        err.contains("output_paths must not be empty when use_internal_logger is false"),
        "{err}"
    );
    assert!(parse("{use_internal_logger: false, output_paths: [stderr]}").is_ok());
    assert!(parse("use_internal_logger: false").is_ok());
}

// ---- sampling and counting ----

#[test]
fn sampler_passes_the_first_n_then_every_mth_per_second() {
    let sampler = Sampler::new(2, 3);
    let t0 = Instant::now();
    let got: Vec<bool> = (0..9)
        .map(|i| sampler.admit(t0 + Duration::from_millis(i)))
        .collect();
    assert_eq!(
        got,
        [true, true, false, false, true, false, false, true, false]
    );
    // A new window one second after the first entry starts over.
    assert!(sampler.admit(t0 + Duration::from_millis(1001)));
    assert!(sampler.admit(t0 + Duration::from_millis(1002)));
    assert!(!sampler.admit(t0 + Duration::from_millis(1003)));
    // The default (2, 1) passes everything.
    let all = Sampler::new(2, 1);
    assert!((0..100).all(|_| all.admit(t0)));
    // thereafter 0: only the first ones.
    let first_only = Sampler::new(1, 0);
    assert_eq!(
        (0..3).map(|_| first_only.admit(t0)).collect::<Vec<_>>(),
        [true, false, false]
    );
}

#[test]
fn counts_from_encoded_bytes_equal_counts_from_the_decoded_request() {
    for (req, want) in [
        (
            two_spans(),
            Counts {
                resources: 1,
                metrics: 0,
                items: 2,
            },
        ),
        (
            logs(),
            Counts {
                resources: 2,
                metrics: 0,
                items: 4,
            },
        ),
        (
            all_metrics(),
            Counts {
                resources: 1,
                metrics: 9,
                items: 15,
            },
        ),
    ] {
        let decoded = Batch::from_request(req.clone());
        let encoded = Batch::from_encoded(req.signal(), req.encode_to_vec().into()).unwrap();
        assert_eq!(counts(&decoded), want);
        assert_eq!(counts(&encoded), want);
    }
}

// ---- the exporter through its factory ----

fn settings() -> Settings {
    Settings {
        id: ::config::ComponentId::new("debug"),
        kind: runtime::Kind::Exporter,
        telemetry: runtime::telemetry::Telemetry::default(),
    }
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrotel-debug-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    dir
}

async fn export_to_file(yaml_extra: &str, name: &str, batches: Vec<Batch>) -> String {
    let path = temp_path(name);
    let yaml = format!(
        "{{use_internal_logger: false, output_paths: [\"{}\"], {yaml_extra}}}",
        path.display()
    );
    let value = ::config::Value::from_yaml_str(&yaml).unwrap();
    let cfg = Factory.parse_config(&value, "exporters::debug").unwrap();
    let signal = batches[0].signal();
    let exporter = Factory.create(settings(), &cfg, signal).unwrap();
    exporter.start(&runtime::Host::default()).await.unwrap();
    for b in batches {
        exporter.consume(b).await.unwrap();
    }
    exporter.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    text
}

#[tokio::test]
async fn detailed_output_path_gets_zap_console_lines_and_the_dump() {
    let req = two_spans();
    let batch = Batch::from_encoded(Signal::Traces, req.encode_to_vec().into()).unwrap();
    let text = export_to_file("verbosity: detailed", "detailed", vec![batch]).await;
    let expected = format!(
        "Traces\t{{\"resource spans\": 1, \"spans\": 2}}\n{}\n",
        golden("traces_two_spans.txt")
    );
    assert_text(&text, &expected);
}

#[tokio::test]
async fn basic_output_path_gets_only_the_count_lines() {
    let metrics = Batch::from_request(all_metrics());
    let text = export_to_file("", "basic", vec![metrics.clone(), metrics]).await;
    let line = "Metrics\t{\"resource metrics\": 1, \"metrics\": 9, \"data points\": 15}\n";
    assert_eq!(text, format!("{line}{line}"));
}

#[tokio::test]
async fn normal_output_path_gets_the_one_line_per_item_text() {
    let batch = Batch::from_request(logs());
    let text = export_to_file("verbosity: normal", "normal", vec![batch]).await;
    let expected = format!(
        "Logs\t{{\"resource logs\": 2, \"log records\": 4}}\n{}\n",
        normal_text(&logs())
    );
    assert_eq!(text, expected);
}

#[tokio::test]
async fn sampling_drops_whole_batches_after_the_initial_ones() {
    let batch = Batch::from_request(two_spans());
    let text = export_to_file(
        "sampling_initial: 1, sampling_thereafter: 0",
        "sampled",
        vec![batch; 5],
    )
    .await;
    assert_eq!(text, "Traces\t{\"resource spans\": 1, \"spans\": 2}\n");
}

#[test]
fn unopenable_output_path_is_a_create_error() {
    let value = ::config::Value::from_yaml_str(
        "{use_internal_logger: false, output_paths: [/nonexistent-dir/x/y.log]}",
    )
    .unwrap();
    let cfg = Factory.parse_config(&value, "exporters::debug").unwrap();
    let err = Factory
        .create(settings(), &cfg, Signal::Logs)
        .err()
        .expect("create must fail");
    assert!(
        err.contains("cannot open output path \"/nonexistent-dir/x/y.log\""),
        "{err}"
    );
}

#[tokio::test]
async fn internal_logger_mode_accepts_every_signal_at_every_verbosity() {
    for verbosity in ["basic", "normal", "detailed"] {
        let value = ::config::Value::from_yaml_str(&format!("verbosity: {verbosity}")).unwrap();
        let cfg = Factory.parse_config(&value, "exporters::debug").unwrap();
        for req in [two_spans(), all_metrics(), logs()] {
            let exporter = Factory.create(settings(), &cfg, req.signal()).unwrap();
            exporter.start(&runtime::Host::default()).await.unwrap();
            exporter.consume(Batch::from_request(req)).await.unwrap();
            exporter.shutdown().await.unwrap();
        }
    }
}

#[test]
fn golden_requests_survive_a_protobuf_round_trip() {
    // The golden texts are for what arrives on the wire, so the requests must encode losslessly.
    for req in [two_spans(), server_span(), logs(), all_metrics()] {
        let back = Request::decode(req.signal(), &req.encode_to_vec()).unwrap();
        assert_eq!(detailed_text(&back), detailed_text(&req));
    }
}

/// Records the message and fields of every event, to check the count entry's exact names.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Vec<(String, String)>>>);

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(Vec<(String, String)>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0
                    .push((field.name().to_string(), format!("{value:?}")));
            }
        }
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn count_entry_uses_the_go_collectors_message_and_field_names() {
    let recorder = std::sync::Arc::new(Recorder::default());
    let exporter = |signal| DebugExporter {
        id: "debug/x".into(),
        signal,
        verbosity: Verbosity::Basic,
        sampler: Sampler::new(2, 1),
        output: std::sync::Arc::new(Output::InternalLogger),
    };
    tracing::subscriber::with_default(recorder.clone(), || {
        exporter(Signal::Traces).log_counts(&Counts {
            resources: 1,
            metrics: 0,
            items: 2,
        });
        exporter(Signal::Metrics).log_counts(&Counts {
            resources: 1,
            metrics: 3,
            items: 4,
        });
        exporter(Signal::Logs).log_counts(&Counts {
            resources: 5,
            metrics: 0,
            items: 6,
        });
    });
    let events = recorder.0.lock().unwrap();
    let render = |fields: &Vec<(String, String)>| {
        fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let common = "otelcol.component.id=\"debug/x\" otelcol.component.kind=\"exporter\"";
    assert_eq!(
        render(&events[0]),
        format!("message=Traces {common} otelcol.signal=\"traces\" resource spans=1 spans=2")
    );
    assert_eq!(
        render(&events[1]),
        format!(
            "message=Metrics {common} otelcol.signal=\"metrics\" resource metrics=1 metrics=3 data points=4"
        )
    );
    assert_eq!(
        render(&events[2]),
        format!("message=Logs {common} otelcol.signal=\"logs\" resource logs=5 log records=6")
    );
}
