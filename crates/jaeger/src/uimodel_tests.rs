//! Expected documents written from Jaeger's rules (collector-contrib `traces_to_jaegerproto.go`,
//! jaeger `uimodel/converter/v1/json/from_domain.go` and its `ui_01.json` fixture: 16-character
//! trace ids when the high half is zero, `"warnings": null`, empty arrays for no tags, logs or
//! references, large int64 as strings, binary as base64) and, for the adjusted rendering, the
//! query service's adjusters.

use pdata::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value as V,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::json;

use crate::uimodel::{OtlpJsonStyle, UiOptions, otlp_json_traces, traces_to_ui};

fn kv(k: &str, v: V) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(x: &str) -> V {
    V::StringValue(x.into())
}

const T1: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const T2: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a];
const START: u64 = 1_485_467_191_639_875_139;

fn sid(b: u8) -> Vec<u8> {
    vec![0, 0, 0, 0, 0, 0, 0, b]
}

fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}

fn input() -> Vec<ResourceSpans> {
    let span_a = Span {
        trace_id: T1.to_vec(),
        span_id: sid(0xa1),
        name: "GET /cart".into(),
        kind: 2,
        flags: 0x101,
        trace_state: "k=v".into(),
        start_time_unix_nano: START,
        end_time_unix_nano: START + 5_000_999,
        status: Some(Status {
            code: 2,
            message: "boom".into(),
        }),
        attributes: vec![
            kv("http.method", s("GET")),
            kv("big", V::IntValue(9_007_199_254_740_993)),
            kv("temperature", V::DoubleValue(72.5)),
            kv("whole", V::DoubleValue(12.0)),
            kv("ok", V::BoolValue(true)),
            kv("blob", V::BytesValue(vec![0, 0, 0x30, 0x39])),
            kv(
                "arr",
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
                    ],
                }),
            ),
            kv(
                "map",
                V::KvlistValue(KeyValueList {
                    values: vec![kv("b", V::IntValue(1)), kv("a", s("x<y"))],
                }),
            ),
            kv("peer.ipv4", V::IntValue(23456)),
            KeyValue {
                key: "empty".into(),
                value: None,
                ..Default::default()
            },
            kv("telemetry.sdk.language", s("go")),
        ],
        events: vec![
            span::Event {
                time_unix_nano: START + 1_000,
                name: "exception".into(),
                attributes: vec![kv("exception.type", s("E"))],
                ..Default::default()
            },
            span::Event {
                time_unix_nano: START + 2_000,
                name: "ignored".into(),
                attributes: vec![kv("event", s("custom"))],
                ..Default::default()
            },
            span::Event {
                time_unix_nano: START + 3_000,
                name: String::new(),
                attributes: vec![kv("x", V::IntValue(1))],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let span_b = Span {
        trace_id: T1.to_vec(),
        span_id: sid(0xb2),
        parent_span_id: sid(0xa1),
        name: "SELECT".into(),
        kind: 3,
        start_time_unix_nano: START,
        end_time_unix_nano: START + 1_000,
        status: Some(Status {
            code: 1,
            message: String::new(),
        }),
        attributes: vec![kv(
            "@jaeger@warnings",
            V::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(s("w1")),
                    },
                    AnyValue {
                        value: Some(s("w2")),
                    },
                ],
            }),
        )],
        links: vec![
            // the parent, named child_of: only retypes the parent reference
            span::Link {
                trace_id: T1.to_vec(),
                span_id: sid(0xa1),
                attributes: vec![kv("opentracing.ref_type", s("child_of"))],
                ..Default::default()
            },
            span::Link {
                trace_id: T2.to_vec(),
                span_id: sid(0x77),
                ..Default::default()
            },
            span::Link {
                trace_id: T1.to_vec(),
                span_id: sid(0xc3),
                attributes: vec![kv("opentracing.ref_type", s("child_of"))],
                ..Default::default()
            },
            span::Link {
                trace_id: vec![0; 16],
                span_id: sid(0x99),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let span_c = Span {
        trace_id: T1.to_vec(),
        span_id: sid(0xc3),
        parent_span_id: sid(0xb2),
        name: String::new(),
        kind: 1,
        start_time_unix_nano: START + 1_000,
        end_time_unix_nano: START + 1_000,
        attributes: vec![kv("telemetry.sdk.name", s("opentelemetry"))],
        ..Default::default()
    };
    let span_d = Span {
        trace_id: T2.to_vec(),
        span_id: sid(0xd4),
        name: "d".into(),
        start_time_unix_nano: START,
        end_time_unix_nano: START + 2_000_000,
        ..Default::default()
    };
    let span_e = Span {
        trace_id: T2.to_vec(),
        span_id: sid(0xe5),
        parent_span_id: sid(0xd4),
        name: "e".into(),
        start_time_unix_nano: START,
        end_time_unix_nano: START + 1_000_000,
        ..Default::default()
    };
    let frontend = || {
        resource(vec![
            kv("service.name", s("frontend")),
            kv("host.name", s("h1")),
            kv("telemetry.sdk.language", s("python")),
        ])
    };
    let scope = Some(InstrumentationScope {
        name: "io.opentelemetry.http".into(),
        version: "1.2.0".into(),
        ..Default::default()
    });
    vec![
        ResourceSpans {
            resource: frontend(),
            scope_spans: vec![ScopeSpans {
                scope,
                spans: vec![span_a, span_b],
                ..Default::default()
            }],
            ..Default::default()
        },
        ResourceSpans {
            resource: resource(vec![
                kv("host.name", s("h2")),
                kv("service.name", s("backend")),
            ]),
            scope_spans: vec![ScopeSpans {
                spans: vec![span_c],
                ..Default::default()
            }],
            ..Default::default()
        },
        ResourceSpans {
            resource: frontend(),
            scope_spans: vec![ScopeSpans {
                spans: vec![span_d],
                ..Default::default()
            }],
            ..Default::default()
        },
        ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans {
                spans: vec![span_e],
                ..Default::default()
            }],
            ..Default::default()
        },
    ]
}

fn t(k: &str, ty: &str, v: serde_json::Value) -> serde_json::Value {
    json!({"key": k, "type": ty, "value": v})
}

#[test]
fn raw_ui_model_matches_jaeger_rules() {
    let got = traces_to_ui(&input(), &UiOptions { adjust: false });
    let t1 = "0102030405060708090a0b0c0d0e0f10";
    let want = vec![
        json!({
            "traceID": t1,
            "spans": [
                {
                    "traceID": t1,
                    "spanID": "00000000000000a1",
                    "flags": 1,
                    "operationName": "GET /cart",
                    "references": [],
                    "startTime": 1_485_467_191_639_875_u64,
                    "duration": 5000,
                    "tags": [
                        t("otel.scope.name", "string", json!("io.opentelemetry.http")),
                        t("otel.scope.version", "string", json!("1.2.0")),
                        t("http.method", "string", json!("GET")),
                        t("big", "int64", json!("9007199254740993")),
                        t("temperature", "float64", json!(72.5)),
                        t("whole", "float64", json!(12)),
                        t("ok", "bool", json!(true)),
                        t("blob", "binary", json!("AAAwOQ==")),
                        t("arr", "string", json!("[\"a\",1,2.5]")),
                        t("map", "string", json!("{\"a\":\"x\\u003cy\",\"b\":1}")),
                        t("peer.ipv4", "int64", json!(23456)),
                        t("empty", "string", json!("")),
                        t("telemetry.sdk.language", "string", json!("go")),
                        t("span.kind", "string", json!("server")),
                        t("otel.status_code", "string", json!("ERROR")),
                        t("error", "bool", json!(true)),
                        t("otel.status_description", "string", json!("boom")),
                        t("w3c.tracestate", "string", json!("k=v")),
                    ],
                    "logs": [
                        {"timestamp": 1_485_467_191_639_876_u64, "fields": [
                            t("event", "string", json!("exception")),
                            t("exception.type", "string", json!("E")),
                        ]},
                        {"timestamp": 1_485_467_191_639_877_u64, "fields": [
                            t("event", "string", json!("custom")),
                        ]},
                        {"timestamp": 1_485_467_191_639_878_u64, "fields": [
                            t("x", "int64", json!(1)),
                        ]},
                    ],
                    "processID": "p1",
                    "warnings": null,
                },
                {
                    "traceID": t1,
                    "spanID": "00000000000000b2",
                    "operationName": "SELECT",
                    "references": [
                        {"refType": "CHILD_OF", "traceID": t1, "spanID": "00000000000000a1"},
                        {"refType": "FOLLOWS_FROM", "traceID": "000000000000002a", "spanID": "0000000000000077"},
                        {"refType": "CHILD_OF", "traceID": t1, "spanID": "00000000000000c3"},
                        {"refType": "FOLLOWS_FROM", "traceID": "0000000000000000", "spanID": "0000000000000099"},
                    ],
                    "startTime": 1_485_467_191_639_875_u64,
                    "duration": 1,
                    "tags": [
                        t("otel.scope.name", "string", json!("io.opentelemetry.http")),
                        t("otel.scope.version", "string", json!("1.2.0")),
                        t("span.kind", "string", json!("client")),
                        t("otel.status_code", "string", json!("OK")),
                    ],
                    "logs": [],
                    "processID": "p1",
                    "warnings": ["w1", "w2"],
                },
                {
                    "traceID": t1,
                    "spanID": "00000000000000c3",
                    "operationName": "",
                    "references": [
                        {"refType": "CHILD_OF", "traceID": t1, "spanID": "00000000000000b2"},
                    ],
                    "startTime": 1_485_467_191_639_876_u64,
                    "duration": 0,
                    "tags": [
                        t("telemetry.sdk.name", "string", json!("opentelemetry")),
                        t("span.kind", "string", json!("internal")),
                    ],
                    "logs": [],
                    "processID": "p2",
                    "warnings": null,
                },
            ],
            "processes": {
                "p1": {"serviceName": "frontend", "tags": [
                    t("host.name", "string", json!("h1")),
                    t("telemetry.sdk.language", "string", json!("python")),
                ]},
                "p2": {"serviceName": "backend", "tags": [
                    t("host.name", "string", json!("h2")),
                ]},
            },
            "warnings": null,
        }),
        json!({
            "traceID": "000000000000002a",
            "spans": [
                {
                    "traceID": "000000000000002a",
                    "spanID": "00000000000000d4",
                    "operationName": "d",
                    "references": [],
                    "startTime": 1_485_467_191_639_875_u64,
                    "duration": 2000,
                    "tags": [],
                    "logs": [],
                    "processID": "p1",
                    "warnings": null,
                },
                {
                    "traceID": "000000000000002a",
                    "spanID": "00000000000000e5",
                    "operationName": "e",
                    "references": [
                        {"refType": "CHILD_OF", "traceID": "000000000000002a", "spanID": "00000000000000d4"},
                    ],
                    "startTime": 1_485_467_191_639_875_u64,
                    "duration": 1000,
                    "tags": [],
                    "logs": [],
                    "processID": "p2",
                    "warnings": null,
                },
            ],
            "processes": {
                "p1": {"serviceName": "frontend", "tags": [
                    t("host.name", "string", json!("h1")),
                    t("telemetry.sdk.language", "string", json!("python")),
                ]},
                "p2": {"serviceName": "OTLPResourceNoServiceName", "tags": []},
            },
            "warnings": null,
        }),
    ];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            g,
            w,
            "\ngot:  {}\nwant: {}",
            serde_json::to_string_pretty(g).unwrap(),
            serde_json::to_string_pretty(w).unwrap()
        );
    }
    // the sorted process keys Go's encoding/json writes
    let text = serde_json::to_string(&got[0]).unwrap();
    assert!(text.contains(r#""processes":{"p1":"#), "{text}");
}

#[test]
fn identical_processes_share_a_key() {
    let mut rss = input();
    // a second copy of the frontend resource in trace 1
    let mut extra = rss[0].clone();
    extra.scope_spans[0].spans.truncate(1);
    extra.scope_spans[0].spans[0].span_id = sid(0xf6);
    rss.push(extra);
    let got = traces_to_ui(&rss, &UiOptions { adjust: false });
    let spans = got[0]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 4);
    assert_eq!(spans[3]["spanID"], "00000000000000f6");
    assert_eq!(spans[3]["processID"], "p1");
    assert_eq!(got[0]["processes"].as_object().unwrap().len(), 2);
}

#[test]
fn adjusted_ui_model_applies_query_service_adjusters() {
    let got = traces_to_ui(&input(), &UiOptions::default());
    let a = &got[0]["spans"][0];
    let keys: Vec<&str> = a["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    // attributes sorted by key between the scope tags and the status tags
    assert_eq!(
        keys,
        vec![
            "otel.scope.name",
            "otel.scope.version",
            "arr",
            "big",
            "blob",
            "empty",
            "http.method",
            "map",
            "ok",
            "peer.ipv4",
            "telemetry.sdk.language",
            "temperature",
            "whole",
            "span.kind",
            "otel.status_code",
            "error",
            "otel.status_description",
            "w3c.tracestate",
        ]
    );
    // 23456 = 0x00005ba0
    assert_eq!(a["tags"][9], t("peer.ipv4", "string", json!("0.0.91.160")));
    // the span's SDK language conflicts with the resource's: it stays, with a warning
    assert_eq!(
        a["warnings"],
        json!([
            "conflicting values between Span and Resource for attribute telemetry.sdk.language"
        ])
    );
    // events sorted by name: "", "exception", "ignored"
    let first_fields: Vec<&str> = a["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["fields"][0]["key"].as_str().unwrap())
        .collect();
    assert_eq!(first_fields, vec!["x", "event", "event"]);

    let b = &got[0]["spans"][1];
    assert_eq!(b["references"].as_array().unwrap().len(), 3);
    assert_eq!(
        b["warnings"],
        json!(["w1", "w2", "Invalid span link removed"])
    );

    let c = &got[0]["spans"][2];
    assert_eq!(c["operationName"], "empty-span-name");
    assert_eq!(
        c["tags"],
        json!([t("span.kind", "string", json!("internal"))])
    );
    // the SDK name moved to the process
    assert_eq!(
        got[0]["processes"]["p2"],
        json!({"serviceName": "backend", "tags": [
            t("host.name", "string", json!("h2")),
            t("telemetry.sdk.name", "string", json!("opentelemetry")),
        ]})
    );
    assert_eq!(
        got[1]["processes"]["p2"],
        json!({"serviceName": "missing-service-name", "tags": []})
    );
}

#[test]
fn otlp_json_in_jaeger_and_tempo_dialects() {
    let rss = vec![ResourceSpans {
        resource: resource(vec![kv("service.name", s("svc"))]),
        scope_spans: vec![ScopeSpans {
            spans: vec![Span {
                trace_id: T2.to_vec(),
                span_id: sid(0xd4),
                parent_span_id: sid(0x01),
                name: "op".into(),
                kind: 2,
                start_time_unix_nano: START,
                end_time_unix_nano: START + 10,
                status: Some(Status {
                    code: 2,
                    message: "bad".into(),
                }),
                attributes: vec![kv("n", V::IntValue(7))],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }];
    let span = json!({
        "traceId": "0000000000000000000000000000002a",
        "spanId": "00000000000000d4",
        "parentSpanId": "0000000000000001",
        "name": "op",
        "kind": 2,
        "startTimeUnixNano": "1485467191639875139",
        "endTimeUnixNano": "1485467191639875149",
        "attributes": [{"key": "n", "value": {"intValue": "7"}}],
        "status": {"message": "bad", "code": 2},
    });
    let otlp = otlp_json_traces(&rss, OtlpJsonStyle::Otlp);
    assert_eq!(
        otlp,
        json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
            "scopeSpans": [{"spans": [span]}],
        }]})
    );
    let tempo = otlp_json_traces(&rss, OtlpJsonStyle::Tempo);
    let ts = &tempo["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(ts["traceId"], "AAAAAAAAAAAAAAAAAAAAKg==");
    assert_eq!(ts["spanId"], "AAAAAAAAANQ=");
    assert_eq!(ts["parentSpanId"], "AAAAAAAAAAE=");
    assert_eq!(ts["kind"], "SPAN_KIND_SERVER");
    assert_eq!(ts["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(ts["startTimeUnixNano"], "1485467191639875139");
    assert_eq!(
        otlp_json_traces(&[], OtlpJsonStyle::Otlp),
        json!({"resourceSpans": []})
    );
}

#[test]
fn adjust_records_warnings_on_the_span_as_jaeger_does() {
    let mut rss = input();
    crate::uimodel::adjust(&mut rss);
    let b = &rss[0].scope_spans[0].spans[1];
    let w = b
        .attributes
        .iter()
        .find(|kv| kv.key == "@jaeger@warnings")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref());
    let Some(V::ArrayValue(a)) = w else {
        panic!("no warnings array: {w:?}");
    };
    let texts: Vec<&str> = a
        .values
        .iter()
        .map(|v| match &v.value {
            Some(V::StringValue(s)) => s.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(texts, vec!["w1", "w2", "Invalid span link removed"]);
    assert_eq!(b.links.len(), 3);
    // the OTLP rendering carries them
    let otlp = otlp_json_traces(&rss, OtlpJsonStyle::Otlp);
    let attrs = &otlp["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"];
    assert!(
        attrs.to_string().contains("Invalid span link removed"),
        "{attrs}"
    );
}
