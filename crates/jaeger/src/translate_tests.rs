//! Expected values follow Go's `pkg/translator/jaeger` tests and code paths
//! (`jaegerproto_to_traces_test.go`, `jaegerthrift_to_traces_test.go`).

use super::*;
use crate::fuzzing::{SPAN_A, SPAN_B, START_US, TRACE_HIGH, TRACE_LOW, sample_batch};
use crate::proto::fixtures::kv_str;
use crate::thrift::{Protocol, decode_batch};

fn show(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => format!("int:{i}"),
        Some(Value::DoubleValue(d)) => format!("double:{d}"),
        Some(Value::BoolValue(b)) => format!("bool:{b}"),
        Some(Value::BytesValue(b)) => format!("bytes:{b:?}"),
        other => format!("{other:?}"),
    }
}

fn attrs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|k| (k.key.clone(), show(&k.value)))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn attrs_from(tags: &[(&str, Value)]) -> Attrs {
    let mut a = Attrs::default();
    for (k, v) in tags {
        a.put(k, v.clone());
    }
    a
}

#[test]
fn thrift_batch_translates_as_go() {
    for proto in [Protocol::Binary, Protocol::Compact] {
        let batch = decode_batch(&sample_batch(proto), proto).unwrap();
        let otlp = thrift_to_otlp(batch, &Options::default());
        assert_eq!(otlp.resource_spans.len(), 1);
        let rs = &otlp.resource_spans[0];
        // hostname → host.name and jaeger.version → opencensus.exporterversion, each put
        // last and then swapped into the removed key's place.
        assert_eq!(
            attrs(&rs.resource.as_ref().unwrap().attributes),
            pairs(&[
                ("service.name", "frontend"),
                ("host.name", "host-1"),
                ("opencensus.exporterversion", "Jaeger-Go-2.30.0"),
                ("ip", "int:167772161"),
            ])
        );
        assert_eq!(rs.scope_spans.len(), 1);
        assert_eq!(
            rs.scope_spans[0].scope,
            Some(InstrumentationScope::default())
        );
        let spans = &rs.scope_spans[0].spans;
        let a = &spans[0];
        let mut trace = TRACE_HIGH.to_be_bytes().to_vec();
        trace.extend_from_slice(&TRACE_LOW.to_be_bytes());
        assert_eq!(a.trace_id, trace);
        assert_eq!(a.span_id, SPAN_A.to_be_bytes());
        assert!(a.parent_span_id.is_empty());
        assert_eq!(a.name, "get /api");
        assert_eq!(a.kind, 2, "server");
        assert_eq!(a.start_time_unix_nano, START_US as u64 * 1000);
        assert_eq!(a.end_time_unix_nano, (START_US as u64 + 250_000) * 1000);
        // error=true wins over http.status_code=500 and leaves no message.
        assert_eq!(
            a.status.as_ref().map(|s| (s.code, s.message.as_str())),
            Some((2, ""))
        );
        assert_eq!(
            attrs(&a.attributes),
            pairs(&[
                ("http.status_code", "int:500"),
                ("blob", "bytes:[1, 2, 3]"),
                ("ratio", "double:0.5"),
                ("n", "int:-42"),
            ])
        );
        assert_eq!(a.events.len(), 1);
        assert_eq!(a.events[0].name, "boom");
        assert_eq!(a.events[0].time_unix_nano, (START_US as u64 + 1000) * 1000);
        assert_eq!(attrs(&a.events[0].attributes), pairs(&[("level", "error")]));
        assert!(a.links.is_empty());

        let b = &spans[1];
        assert_eq!(b.span_id, SPAN_B.to_be_bytes());
        assert_eq!(
            b.parent_span_id,
            SPAN_A.to_be_bytes(),
            "parent from CHILD_OF ref"
        );
        assert!(b.links.is_empty(), "the parent's reference is not a link");
        assert_eq!(b.kind, 3, "client");
        assert_eq!(
            b.status.as_ref().map(|s| (s.code, s.message.as_str())),
            Some((2, "connection refused"))
        );
        assert!(b.attributes.is_empty());
    }
}

#[test]
fn thrift_blank_spans_are_dropped_and_empty_batches_keep_their_resource() {
    let batch = thrift::Batch {
        process: thrift::Process {
            service_name: String::new(),
            tags: None,
        },
        spans: vec![thrift::Span::default()],
        seq_no: None,
    };
    let otlp = thrift_to_otlp(batch, &Options::default());
    assert_eq!(otlp.resource_spans.len(), 1);
    assert!(
        otlp.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .is_empty()
    );
    assert!(otlp.resource_spans[0].scope_spans[0].spans.is_empty());
    let no_spans = thrift::Batch {
        process: thrift::Process {
            service_name: "svc".into(),
            tags: None,
        },
        ..thrift::Batch::default()
    };
    let otlp = thrift_to_otlp(no_spans, &Options::default());
    assert!(otlp.resource_spans[0].scope_spans.is_empty());
}

#[test]
fn thrift_follows_from_is_the_parent_only_without_child_of_and_other_refs_are_links() {
    let r = |t, id| thrift::SpanRef {
        ref_type: t,
        trace_id_low: 1,
        trace_id_high: 0,
        span_id: id,
    };
    let s = thrift::Span {
        trace_id_low: 1,
        span_id: 9,
        references: Some(vec![
            r(span_ref_type::FOLLOWS_FROM, 5),
            r(span_ref_type::FOLLOWS_FROM, 6),
        ]),
        ..thrift::Span::default()
    };
    let out = thrift_span(s);
    assert_eq!(out.parent_span_id, 5u64.to_be_bytes());
    // FOLLOWS_FROM references stay links, the parent's included.
    assert_eq!(out.links.len(), 2);
    assert_eq!(
        attrs(&out.links[0].attributes),
        pairs(&[("opentracing.ref_type", "follows_from")])
    );
    let s = thrift::Span {
        trace_id_low: 1,
        span_id: 9,
        references: Some(vec![
            r(span_ref_type::FOLLOWS_FROM, 5),
            r(span_ref_type::CHILD_OF, 7),
        ]),
        ..thrift::Span::default()
    };
    let out = thrift_span(s);
    assert_eq!(out.parent_span_id, 7u64.to_be_bytes());
    assert_eq!(out.links.len(), 1);
    assert_eq!(out.links[0].span_id, 5u64.to_be_bytes());
}

#[test]
fn unknown_tag_types_are_described_as_go_describes_them() {
    let t = thrift::Tag {
        key: "k".into(),
        v_type: 9,
        ..thrift::Tag::default()
    };
    assert_eq!(
        thrift_value(t),
        Value::StringValue("<Unknown Jaeger TagType \"<UNSET>\">".into())
    );
    let p = proto::KeyValue {
        key: "k".into(),
        v_type: 7,
        ..proto::KeyValue::default()
    };
    assert_eq!(
        proto_value(p),
        Value::StringValue("<Unknown Jaeger TagType \"7\">".into())
    );
}

/// Go's `TestJTagsToInternalAttributes`, with binary values as bytes (current Go).
#[test]
fn proto_tags_become_typed_attributes() {
    use proto::value_type as vt;
    let tags = vec![
        proto::KeyValue {
            key: "bool-val".into(),
            v_type: vt::BOOL,
            v_bool: true,
            ..Default::default()
        },
        proto::KeyValue {
            key: "int-val".into(),
            v_type: vt::INT64,
            v_int64: 123,
            ..Default::default()
        },
        proto::KeyValue {
            key: "string-val".into(),
            v_type: vt::STRING,
            v_str: "abc".into(),
            ..Default::default()
        },
        proto::KeyValue {
            key: "double-val".into(),
            v_type: vt::FLOAT64,
            v_float64: 1.23,
            ..Default::default()
        },
        proto::KeyValue {
            key: "binary-val".into(),
            v_type: vt::BINARY,
            v_binary: vec![0, 0, 0, 0, 0, 0x64, 0x7D, 0x98],
            ..Default::default()
        },
    ];
    let mut a = Attrs::default();
    proto_tags(tags, &mut a, &Options::default());
    assert_eq!(
        attrs(&a.into_vec()),
        pairs(&[
            ("bool-val", "bool:true"),
            ("int-val", "int:123"),
            ("string-val", "abc"),
            ("double-val", "double:1.23"),
            ("binary-val", "bytes:[0, 0, 0, 0, 0, 100, 125, 152]"),
        ])
    );
}

/// Go's `TestGetStatusCodeFromHTTPStatusAttr`.
#[test]
fn http_status_codes_map_to_span_status_as_go() {
    let cases = [
        (Value::StringValue("10".into()), 3, 2),
        (Value::StringValue("101".into()), 3, 0),
        (Value::IntValue(404), 3, 2),
        (Value::IntValue(404), 2, 0),
        (Value::IntValue(408), 3, 2),
        (Value::IntValue(500), 3, 2),
    ];
    for (v, kind, want) in cases {
        assert_eq!(
            status_from_http(code_from(&v).unwrap(), kind),
            want,
            "{v:?}"
        );
    }
    // Go's TestCodeFromAttr.
    assert_eq!(code_from(&Value::StringValue("0".into())), Some(0));
    assert_eq!(code_from(&Value::BoolValue(true)), None);
    assert_eq!(code_from(&Value::StringValue("inf".into())), None);
}

/// Go's `TestSetInternalSpanStatus`: (attributes, kind, status, attributes left).
#[test]
fn span_status_from_tags_as_go() {
    let s = |v: &str| Value::StringValue(v.into());
    type Case<'a> = (Vec<(&'a str, Value)>, i32, Option<(i32, &'a str)>, usize);
    let cases: Vec<Case> = vec![
        (vec![], 0, None, 0),
        (vec![("error", Value::BoolValue(true))], 0, Some((2, "")), 0),
        (vec![("otel.status_code", s("OK"))], 0, Some((1, "")), 0),
        (
            vec![
                ("error", Value::BoolValue(true)),
                ("otel.status_code", s("ERROR")),
                ("otel.status_description", s("Error: Invalid argument")),
            ],
            0,
            Some((2, "Error: Invalid argument")),
            0,
        ),
        (vec![("http.status_code", s("404"))], 0, Some((2, "")), 1),
        (
            vec![
                ("error", Value::BoolValue(true)),
                ("http.status_code", Value::IntValue(404)),
                ("http.status_message", s("HTTP 404: Not Found")),
            ],
            0,
            Some((2, "HTTP 404: Not Found")),
            2,
        ),
        (
            vec![
                ("otel.status_code", s("OK")),
                ("http.status_code", Value::IntValue(500)),
                ("http.status_message", s("Server Error")),
            ],
            0,
            Some((1, "")),
            2,
        ),
        (
            vec![
                ("error", Value::BoolValue(true)),
                ("http.status_code", Value::IntValue(200)),
            ],
            0,
            Some((2, "")),
            1,
        ),
        (
            vec![
                ("error", Value::BoolValue(false)),
                ("http.status_code", Value::IntValue(404)),
            ],
            2,
            None,
            2,
        ),
        // The newer key counts too.
        (
            vec![("http.response.status_code", Value::IntValue(503))],
            2,
            Some((2, "")),
            1,
        ),
        // otel.status_code is lower-cased by some SDKs.
        (vec![("otel.status_code", s("error"))], 0, Some((2, "")), 0),
        (vec![("otel.status_code", s("UNSET"))], 0, Some((0, "")), 0),
    ];
    for (tags, kind, want, left) in cases {
        let mut a = attrs_from(&tags);
        let got = status(&mut a, kind);
        assert_eq!(
            got.as_ref().map(|s| (s.code, s.message.as_str())),
            want,
            "{tags:?}"
        );
        assert_eq!(a.len(), left, "{tags:?}");
    }
}

/// Go's `TestJSpanKindToInternal`.
#[test]
fn span_kinds_as_go() {
    for (k, want) in [
        ("client", 3),
        ("server", 2),
        ("producer", 4),
        ("consumer", 5),
        ("internal", 1),
        ("all-others", 0),
    ] {
        assert_eq!(span_kind(k), want, "{k}");
    }
}

fn proto_span_at(name: &str, tags: Vec<proto::KeyValue>) -> proto::Span {
    proto::Span {
        operation_name: name.into(),
        start_time: Some(proto::Timestamp {
            seconds: 1_581_452_772,
            nanos: 321_000,
        }),
        duration: Some(proto::Duration {
            seconds: 1,
            nanos: 468_000,
        }),
        tags,
        ..proto::Span::default()
    }
}

/// Go's `no-error-from-server-span-with-4xx-http-code` case of `TestProtoToTraces`.
#[test]
fn proto_server_span_with_404_has_no_error() {
    let batch = proto::Batch {
        process: Some(proto::Process {
            service_name: NO_SERVICE_NAME.into(),
            tags: vec![],
        }),
        spans: vec![proto_span_at(
            "",
            vec![
                kv_str("span.kind", "server"),
                kv_str("http.status_code", "404"),
            ],
        )],
    };
    let otlp = proto_to_otlp(batch, &Options::default());
    let rs = &otlp.resource_spans[0];
    assert!(rs.resource.as_ref().unwrap().attributes.is_empty());
    let s = &rs.scope_spans[0].spans[0];
    assert_eq!(s.kind, 2);
    assert_eq!(s.status, None);
    assert_eq!(attrs(&s.attributes), pairs(&[("http.status_code", "404")]));
    // testSpanStartTime 2020-02-11T20:26:12.000321Z, end 20:26:13.789Z
    assert_eq!(s.start_time_unix_nano, 1_581_452_772_000_321_000);
    assert_eq!(s.end_time_unix_nano, 1_581_452_773_000_789_000);
}

/// Go's `TestProtoBatchToInternalTracesWithTwoLibraries`, with the current scope tags.
#[test]
fn proto_spans_are_grouped_by_scope_in_order_of_appearance() {
    let batch = proto::Batch {
        process: Some(proto::Process {
            service_name: NO_SERVICE_NAME.into(),
            tags: vec![],
        }),
        spans: vec![
            proto_span_at(
                "operation2",
                vec![
                    kv_str("otel.scope.name", "library2"),
                    kv_str("otel.scope.version", "0.42.0"),
                ],
            ),
            proto_span_at(
                "operation1",
                vec![
                    kv_str("otel.scope.name", "library1"),
                    kv_str("otel.scope.version", "0.42.0"),
                ],
            ),
            proto_span_at(
                "operation3",
                vec![
                    kv_str("otel.scope.name", "library2"),
                    kv_str("otel.scope.version", "0.42.0"),
                ],
            ),
        ],
    };
    let otlp = proto_to_otlp(batch, &Options::default());
    let ss = &otlp.resource_spans[0].scope_spans;
    assert_eq!(ss.len(), 2);
    let scope = |i: usize| {
        let s = ss[i].scope.as_ref().unwrap();
        (s.name.as_str(), s.version.as_str())
    };
    assert_eq!(scope(0), ("library2", "0.42.0"));
    assert_eq!(scope(1), ("library1", "0.42.0"));
    assert_eq!(ss[0].spans.len(), 2);
    assert!(
        ss[0].spans[0].attributes.is_empty(),
        "scope tags are taken out"
    );
}

/// Go's `TestRegroup`: a span with its own process gets a resource of its own.
#[test]
fn proto_spans_with_their_own_process_get_their_own_resource() {
    let mut with_process = proto_span_at("with", vec![]);
    with_process.process = Some(proto::Process {
        service_name: "custom-service-name".into(),
        tags: vec![],
    });
    let batch = proto::Batch {
        process: Some(proto::Process {
            service_name: "batch-process".into(),
            tags: vec![
                kv_str("hostname", "h1"),
                kv_str("jaeger.version", "Python-4.8.0"),
            ],
        }),
        spans: vec![with_process, proto_span_at("without", vec![])],
    };
    let otlp = proto_to_otlp(batch, &Options::default());
    assert_eq!(otlp.resource_spans.len(), 2);
    let res = |i: usize| attrs(&otlp.resource_spans[i].resource.as_ref().unwrap().attributes);
    assert_eq!(
        res(0),
        pairs(&[
            ("service.name", "batch-process"),
            ("host.name", "h1"),
            ("opencensus.exporterversion", "Jaeger-Python-4.8.0"),
        ])
    );
    assert_eq!(
        otlp.resource_spans[0].scope_spans[0].spans[0].name,
        "without"
    );
    assert_eq!(res(1), pairs(&[("service.name", "custom-service-name")]));
    assert_eq!(otlp.resource_spans[1].scope_spans[0].spans[0].name, "with");
}

#[test]
fn proto_span_fields_translate_as_go() {
    let batch = proto::decode_post_spans(&proto::fixtures::sample_request()).unwrap();
    let otlp = proto_to_otlp(batch, &Options::default());
    let rs = &otlp.resource_spans[0];
    assert_eq!(
        attrs(&rs.resource.as_ref().unwrap().attributes),
        pairs(&[("service.name", "svc"), ("host.name", "h")])
    );
    let ss = &rs.scope_spans[0];
    assert_eq!(ss.scope.as_ref().unwrap().name, "lib");
    let s = &ss.spans[0];
    assert_eq!(s.trace_id, (1u128 << 64 | 2).to_be_bytes());
    assert_eq!(s.span_id, 3u64.to_be_bytes());
    assert_eq!(s.kind, 4);
    assert_eq!(s.trace_state, "a=b");
    assert!(s.attributes.is_empty());
    assert_eq!(s.start_time_unix_nano, 1_600_000_000_000_000_005);
    assert_eq!(s.end_time_unix_nano, 1_600_000_001_000_000_005);
    assert_eq!(s.events[0].name, "e");
    assert_eq!(s.events[0].time_unix_nano, 1_600_000_000_000_000_006);
}

#[test]
fn proto_references_become_parent_and_links() {
    let trace = (5u128).to_be_bytes().to_vec();
    let r = |id: u64, t| proto::SpanRef {
        trace_id: trace.clone(),
        span_id: id.to_be_bytes().to_vec(),
        ref_type: t,
    };
    let other_trace = proto::SpanRef {
        trace_id: (6u128).to_be_bytes().to_vec(),
        span_id: 8u64.to_be_bytes().to_vec(),
        ref_type: proto::span_ref_type::CHILD_OF,
    };
    let mut s = proto_span_at("x", vec![]);
    s.trace_id = trace.clone();
    s.span_id = 9u64.to_be_bytes().to_vec();
    s.references = vec![
        other_trace,
        r(2, proto::span_ref_type::FOLLOWS_FROM),
        r(3, proto::span_ref_type::CHILD_OF),
    ];
    let out = proto_span(s, &Options::default());
    assert_eq!(
        out.parent_span_id,
        3u64.to_be_bytes(),
        "same-trace CHILD_OF first"
    );
    type Shown = (Vec<u8>, Vec<(String, String)>);
    let links: Vec<Shown> = out
        .links
        .iter()
        .map(|l| (l.span_id.clone(), attrs(&l.attributes)))
        .collect();
    assert_eq!(
        links,
        vec![
            (
                8u64.to_be_bytes().to_vec(),
                pairs(&[("opentracing.ref_type", "child_of")])
            ),
            (
                2u64.to_be_bytes().to_vec(),
                pairs(&[("opentracing.ref_type", "follows_from")])
            ),
        ]
    );
}

#[test]
fn proto_blank_spans_and_empty_batches_as_go() {
    let otlp = proto_to_otlp(proto::Batch::default(), &Options::default());
    assert!(otlp.resource_spans.is_empty(), "no process and no spans");
    let batch = proto::Batch {
        process: Some(proto::Process {
            service_name: "svc".into(),
            tags: vec![],
        }),
        spans: vec![proto::Span::default()],
    };
    let otlp = proto_to_otlp(batch, &Options::default());
    assert_eq!(otlp.resource_spans.len(), 1);
    assert!(
        otlp.resource_spans[0].scope_spans.is_empty(),
        "the blank span is dropped"
    );
}

#[test]
fn http_status_code_tags_follow_the_feature_gates() {
    let tags = vec![proto::KeyValue {
        key: "http.response.status_code".into(),
        v_type: proto::value_type::INT64,
        v_int64: 200,
        ..Default::default()
    }];
    let names = |opts: Options| {
        let mut a = Attrs::default();
        proto_tags(tags.clone(), &mut a, &opts);
        a.into_vec().into_iter().map(|k| k.key).collect::<Vec<_>>()
    };
    assert_eq!(names(Options::default()), vec!["http.status_code"]);
    assert_eq!(
        names(Options {
            emit_v0_http: true,
            emit_v1_http: true
        }),
        vec!["http.status_code", "http.response.status_code"]
    );
    assert_eq!(
        names(Options {
            emit_v0_http: false,
            emit_v1_http: true
        }),
        vec!["http.response.status_code"]
    );
}

#[test]
fn attrs_keep_pcommon_map_semantics_past_the_index_threshold() {
    let mut a = Attrs::default();
    for i in 0..40 {
        a.put(&format!("k{i}"), Value::IntValue(i));
    }
    a.put("k3", Value::IntValue(-3));
    assert_eq!(a.get("k3"), Some(&Value::IntValue(-3)));
    assert_eq!(a.remove("k0"), Some(Value::IntValue(0)));
    // k39 moved into k0's place.
    assert_eq!(a.kvs[0].key, "k39");
    assert_eq!(a.find("k39"), Some(0));
    assert_eq!(a.len(), 39);
    assert!(a.get("k0").is_none());
}
