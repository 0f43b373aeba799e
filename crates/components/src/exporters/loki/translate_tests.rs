//! Table tests of the translation, with expected labels and lines taken from Go's
//! `pkg/translator/loki` tests (`encode_test.go`, `logs_to_loki_test.go`) or derived from
//! its source where those tests are silent.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;

use super::config::DefaultLabels;
use super::translate::{TenantRequest, logs_to_loki, severity_level};

fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}
fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(v)),
    }
}
fn d(v: f64) -> AnyValue {
    AnyValue {
        value: Some(Value::DoubleValue(v)),
    }
}
fn b(v: bool) -> AnyValue {
    AnyValue {
        value: Some(Value::BoolValue(v)),
    }
}
fn list(v: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue { values: v })),
    }
}
fn map(kvs: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList { values: kvs })),
    }
}
fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..KeyValue::default()
    }
}

/// A change to the example record and resource attributes.
type Edit = Box<dyn Fn(&mut LogRecord, &mut Vec<KeyValue>)>;

/// Go's `exampleLog()` of encode_test.go.
fn example() -> (LogRecord, Vec<KeyValue>, InstrumentationScope) {
    let mut trace = [0u8; 16];
    trace[..4].copy_from_slice(&[1, 2, 3, 4]);
    let lr = LogRecord {
        body: Some(s("Example log")),
        severity_text: "error".into(),
        attributes: vec![kv("attr1", s("1")), kv("attr2", s("2"))],
        trace_id: trace.to_vec(),
        span_id: vec![5, 6, 7, 8, 0, 0, 0, 0],
        time_unix_nano: 1_700_000_000_000_000_001,
        ..LogRecord::default()
    };
    let scope = InstrumentationScope {
        name: "example-logger-name".into(),
        version: "v1".into(),
        ..InstrumentationScope::default()
    };
    (lr, vec![kv("host.name", s("something"))], scope)
}

fn request(
    res: Vec<KeyValue>,
    scope: InstrumentationScope,
    records: Vec<LogRecord>,
) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: res,
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope),
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn run(req: &ExportLogsServiceRequest, defaults: DefaultLabels) -> Vec<TenantRequest> {
    logs_to_loki(req, defaults, &|| 42)
}

/// (labels, line) of the only entry of the only tenant.
fn one(req: &ExportLogsServiceRequest) -> (String, String) {
    let out = run(req, DefaultLabels::default());
    assert_eq!(out.len(), 1);
    let streams = &out[0].request.streams;
    assert_eq!(streams.len(), 1, "{streams:?}");
    (
        streams[0].labels.clone(),
        streams[0].entries[0].line.clone(),
    )
}

fn example_with(f: impl FnOnce(&mut LogRecord, &mut Vec<KeyValue>)) -> (String, String) {
    let (mut lr, mut res, scope) = example();
    f(&mut lr, &mut res);
    one(&request(res, scope, vec![lr]))
}

#[test]
fn json_lines_are_gos_encode() {
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "string body",
            Box::new(|_, _| {}),
            r#"{"body":"Example log","traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#,
        ),
        (
            "map body",
            Box::new(|lr, _| {
                lr.body = Some(map(vec![kv("key1", s("value")), kv("key2", s("value"))]))
            }),
            r#"{"body":{"key1":"value","key2":"value"},"traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#,
        ),
        (
            "flags",
            Box::new(|lr, _| lr.flags = 1),
            r#"{"body":"Example log","traceid":"01020304000000000000000000000000","spanid":"0506070800000000","severity":"error","flags":1,"attributes":{"attr1":"1","attr2":"2"},"resources":{"host.name":"something"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#,
        ),
        (
            "empty parts are left out; html characters escaped; keys sorted",
            Box::new(|lr, res| {
                lr.body = None;
                lr.trace_id.clear();
                lr.span_id = vec![0; 8];
                lr.severity_text.clear();
                lr.attributes = vec![kv("z", s("<a&b>")), kv("a", d(1e21)), kv("m", d(0.000001))];
                res.clear();
            }),
            r#"{"attributes":{"a":1e+21,"m":0.000001,"z":"\u003ca\u0026b\u003e"},"instrumentation_scope":{"name":"example-logger-name","version":"v1"}}"#,
        ),
    ];
    for (name, f, want) in cases {
        let (labels, line) = example_with(f);
        assert_eq!(labels, r#"{exporter="OTLP"}"#, "{name}");
        assert_eq!(line, want, "{name}");
    }
}

#[test]
fn bodies_serialize_as_go_for_json_and_logfmt() {
    // TestSerializeComplexBody of encode_test.go.
    let complex = map(vec![
        kv("keystr", s("val")),
        kv("keyint", d(1.0)),
        kv("keybool", b(true)),
        kv("keynull", AnyValue { value: None }),
        kv("keyarr", list(vec![s("a"), s("b")])),
        kv("keymap", map(vec![kv("key", s("val"))])),
        kv("keyempty", AnyValue { value: None }),
    ]);
    let bytes = AnyValue {
        value: Some(Value::BytesValue(b"abc".to_vec())),
    };
    let cases = [
        (s("a"), r#"{"body":"a"}"#, "a="),
        (i(1), r#"{"body":1}"#, "msg=1"),
        (d(1.1), r#"{"body":1.1}"#, "msg=1.1"),
        (b(true), r#"{"body":true}"#, "msg=true"),
        (
            map(vec![kv("key", s("val"))]),
            r#"{"body":{"key":"val"}}"#,
            "key=val",
        ),
        (
            complex,
            r#"{"body":{"keyarr":["a","b"],"keybool":true,"keyempty":null,"keyint":1,"keymap":{"key":"val"},"keynull":null,"keystr":"val"}}"#,
            "keystr=val keyint=1 keybool=true keyarr_0=a keyarr_1=b keymap_key=val",
        ),
        (
            list(vec![s("a"), s("b")]),
            r#"{"body":["a","b"]}"#,
            "body_0=a body_1=b",
        ),
        (bytes, r#"{"body":"YWJj"}"#, "msg=abc"),
        (d(1e6), r#"{"body":1000000}"#, "msg=1e+06"),
    ];
    for (body, json, logfmt) in cases {
        for (format, want) in [("json", json), ("logfmt", logfmt)] {
            let lr = LogRecord {
                body: Some(body.clone()),
                attributes: vec![kv("loki.format", s(format))],
                ..LogRecord::default()
            };
            let (_, line) = one(&request(vec![], InstrumentationScope::default(), vec![lr]));
            assert_eq!(line, want, "{body:?} as {format}");
        }
    }
}

#[test]
fn logfmt_lines_are_gos_encode_logfmt() {
    let fmt_hint = |lr: &mut LogRecord| lr.attributes.push(kv("loki.format", s("logfmt")));
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "logfmt string body is parsed",
            Box::new(move |lr, _| {
                fmt_hint(lr);
                lr.body = Some(s("msg=\"hello world\""));
            }),
            r#"msg="hello world" traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
        (
            "plain text body becomes bare keys",
            Box::new(move |lr, _| fmt_hint(lr)),
            r#"Example= log= traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
        (
            "unparsable body goes to msg",
            Box::new(move |lr, _| {
                fmt_hint(lr);
                lr.body = Some(s("a=\"open"));
                lr.flags = 1;
            }),
            r#"msg="a=\"open" traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error flags=1 attribute_attr1=1 attribute_attr2=2 resource_host.name=something instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
        (
            "map body keys replace trace fields; newlines are quoted",
            Box::new(move |lr, res| {
                fmt_hint(lr);
                lr.body = Some(map(vec![kv("traceID", s("x")), kv("k", s("a b"))]));
                res.push(kv("multi", s("l1\nl2")));
            }),
            r#"traceID=01020304000000000000000000000000 k="a b" spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 resource_host.name=something resource_multi="l1\nl2" instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
        (
            "complex attributes are flattened",
            Box::new(move |lr, res| {
                fmt_hint(lr);
                let slice = list(vec![
                    s("fooo"),
                    map(vec![kv("slice", list(vec![b(true)])), kv("foo", s("bar"))]),
                    map(vec![kv("nested", s("deeply nested")), kv("uint", i(123))]),
                ]);
                lr.attributes.insert(2, kv("aslice", slice.clone()));
                res.push(kv("bslice", slice));
            }),
            r#"Example= log= traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_attr1=1 attribute_attr2=2 attribute_aslice_0=fooo attribute_aslice_1_slice_0=true attribute_aslice_1_foo=bar attribute_aslice_2_nested="deeply nested" attribute_aslice_2_uint=123 resource_host.name=something resource_bslice_0=fooo resource_bslice_1_slice_0=true resource_bslice_1_foo=bar resource_bslice_2_nested="deeply nested" resource_bslice_2_uint=123 instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
        (
            "null is quoted, string-body keys are never replaced",
            Box::new(move |lr, res| {
                fmt_hint(lr);
                lr.body = Some(s("severity=x v=null"));
                lr.attributes = vec![kv("n", s("null")), kv("loki.format", s("logfmt"))];
                res.clear();
            }),
            r#"severity=x v=null traceID=01020304000000000000000000000000 spanID=0506070800000000 severity=error attribute_n="null" instrumentation_scope_name=example-logger-name instrumentation_scope_version=v1"#,
        ),
    ];
    for (name, f, want) in cases {
        let (_, line) = example_with(f);
        assert_eq!(line, want, "{name}");
    }
}

#[test]
fn raw_format_writes_the_body_as_string() {
    for (body, want) in [
        (s("plain text"), "plain text"),
        (
            map(vec![kv("b", i(1)), kv("a", s("<"))]),
            r#"{"a":"\u003c","b":1}"#,
        ),
        (d(2.5), "2.5"),
    ] {
        let (labels, line) = example_with(|lr, _| {
            lr.body = Some(body.clone());
            lr.attributes.push(kv("loki.format", s("raw")));
        });
        assert_eq!(line, want);
        assert_eq!(labels, r#"{exporter="OTLP"}"#);
    }
}

/// One record per case under a resource; labels and JSON line checked.
#[test]
fn labels_follow_the_hints_and_default_labels() {
    struct Case {
        name: &'static str,
        res: Vec<KeyValue>,
        attrs: Vec<KeyValue>,
        severity: i32,
        defaults: DefaultLabels,
        labels: &'static str,
        line: &'static str,
    }
    let on = DefaultLabels::default();
    let cases = vec![
        Case {
            name: "attribute to label (Go: with attribute to label and regular attribute)",
            res: vec![],
            attrs: vec![
                kv("host.name", s("guarana")),
                kv("http.status", i(200)),
                kv("loki.attribute.labels", s("host.name")),
            ],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", host_name="guarana"}"#,
            line: r#"{"attributes":{"http.status":200}}"#,
        },
        Case {
            name: "resource to label",
            res: vec![
                kv("host.name", s("guarana")),
                kv("region.az", s("eu-west-1a")),
                kv("loki.resource.labels", s("host.name")),
            ],
            attrs: vec![],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", host_name="guarana"}"#,
            line: r#"{"resources":{"region.az":"eu-west-1a"}}"#,
        },
        Case {
            name: "record's resource hint names resource attributes",
            res: vec![kv("host.name", s("guarana")), kv("region.az", s("eu"))],
            attrs: vec![kv("loki.resource.labels", s("host.name"))],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", host_name="guarana"}"#,
            line: r#"{"resources":{"region.az":"eu"}}"#,
        },
        Case {
            name: "severity to label",
            res: vec![],
            attrs: vec![],
            severity: 8,
            defaults: on,
            labels: r#"{exporter="OTLP", level="DEBUG4"}"#,
            line: "{}",
        },
        Case {
            name: "existing level attribute wins, and is a label",
            res: vec![],
            attrs: vec![
                kv("host.name", s("guarana")),
                kv("level", s("dummy")),
                kv("loki.attribute.labels", s("host.name")),
            ],
            severity: 8,
            defaults: on,
            labels: r#"{exporter="OTLP", host_name="guarana", level="dummy"}"#,
            line: "{}",
        },
        Case {
            name: "level disabled: no label, level attribute stays",
            res: vec![],
            attrs: vec![kv("level", s("warn"))],
            severity: 13,
            defaults: DefaultLabels { level: false, ..on },
            labels: r#"{exporter="OTLP"}"#,
            line: r#"{"attributes":{"level":"warn"}}"#,
        },
        Case {
            name: "job and instance from service attributes, which stay in resources",
            res: vec![
                kv("service.name", s("api")),
                kv("service.namespace", s("shop")),
                kv("service.instance.id", s("i-1")),
            ],
            attrs: vec![kv("job", s("hidden"))],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", instance="i-1", job="shop/api"}"#,
            line: r#"{"resources":{"service.instance.id":"i-1","service.name":"api","service.namespace":"shop"}}"#,
        },
        Case {
            name: "job is service.name alone without namespace; none without service.name",
            res: vec![kv("service.name", s("api"))],
            attrs: vec![],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", job="api"}"#,
            line: r#"{"resources":{"service.name":"api"}}"#,
        },
        Case {
            name: "default labels switched off",
            res: vec![
                kv("service.name", s("api")),
                kv("service.instance.id", s("i")),
            ],
            attrs: vec![kv("k", s("v")), kv("loki.attribute.labels", s("k"))],
            severity: 9,
            defaults: DefaultLabels {
                exporter: false,
                job: false,
                instance: false,
                level: false,
            },
            labels: r#"{k="v"}"#,
            line: r#"{"resources":{"service.instance.id":"i","service.name":"api"}}"#,
        },
        Case {
            name: "hint lists are trimmed, accept lists, reach into maps, sanitise names",
            res: vec![kv(
                "k8s",
                map(vec![kv("pod", map(vec![kv("name", s("p-1"))]))]),
            )],
            attrs: vec![
                kv("a.b", s("1")),
                kv("_x", s("2")),
                kv("3d", i(3)),
                kv(
                    "loki.attribute.labels",
                    list(vec![s("a.b"), s("_x"), s("3d")]),
                ),
                kv("loki.resource.labels", s(" k8s.pod.name , missing")),
            ],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", k8s_pod_name="p-1", key_3d="3", key_x="2", a_b="1"}"#,
            line: r#"{"resources":{"k8s":{"pod":{"name":"p-1"}}}}"#,
        },
        Case {
            name: "label values are Go-quoted",
            res: vec![],
            attrs: vec![
                kv("v", s("a\"b\\c\nd")),
                kv("loki.attribute.labels", s("v")),
            ],
            severity: 0,
            defaults: on,
            labels: r#"{exporter="OTLP", v="a\"b\\c\nd"}"#,
            line: "{}",
        },
        Case {
            name: "out-of-range severity gives an empty level",
            res: vec![],
            attrs: vec![],
            severity: 30,
            defaults: on,
            labels: r#"{exporter="OTLP", level=""}"#,
            line: "{}",
        },
    ];
    for c in cases {
        let lr = LogRecord {
            attributes: c.attrs,
            severity_number: c.severity,
            time_unix_nano: 5,
            ..LogRecord::default()
        };
        let req = request(c.res, InstrumentationScope::default(), vec![lr]);
        let out = run(&req, c.defaults);
        let stream = &out[0].request.streams[0];
        // Label names sort bytewise: the expectations are written in that order.
        let mut want_sorted: Vec<&str> = c
            .labels
            .trim_matches(|ch| ch == '{' || ch == '}')
            .split(", ")
            .collect();
        want_sorted.sort_unstable();
        let want = format!("{{{}}}", want_sorted.join(", "));
        assert_eq!(stream.labels, want, "{}", c.name);
        assert_eq!(stream.entries[0].line, c.line, "{}", c.name);
    }
}

#[test]
fn records_are_grouped_into_streams_by_label_set() {
    let rec = |host: &str, ts: u64| LogRecord {
        body: Some(s(host)),
        attributes: vec![kv("host", s(host)), kv("loki.attribute.labels", s("host"))],
        time_unix_nano: ts,
        ..LogRecord::default()
    };
    let req = request(
        vec![],
        InstrumentationScope::default(),
        vec![rec("a", 1), rec("b", 2), rec("a", 3)],
    );
    let out = run(&req, DefaultLabels::default());
    let streams = &out[0].request.streams;
    assert_eq!(streams.len(), 2);
    assert_eq!(streams[0].labels, r#"{exporter="OTLP", host="a"}"#);
    assert_eq!(streams[0].entries.len(), 2);
    assert_eq!(streams[0].entries[1].timestamp.nanos, 3);
    assert_eq!(streams[1].labels, r#"{exporter="OTLP", host="b"}"#);
    assert_eq!(out[0].submitted, 3);
}

#[test]
fn timestamp_is_the_records_then_observed_then_now() {
    let req = request(
        vec![],
        InstrumentationScope::default(),
        vec![
            LogRecord {
                time_unix_nano: 1_500_000_000_000_000_123,
                observed_time_unix_nano: 7,
                ..LogRecord::default()
            },
            LogRecord {
                observed_time_unix_nano: 2_000_000_001,
                ..LogRecord::default()
            },
            LogRecord::default(),
        ],
    );
    let out = run(&req, DefaultLabels::default());
    let ts: Vec<(i64, i32)> = out[0].request.streams[0]
        .entries
        .iter()
        .map(|e| (e.timestamp.seconds, e.timestamp.nanos))
        .collect();
    assert_eq!(ts, vec![(1_500_000_000, 123), (2, 1), (0, 42)]);
}

#[test]
fn tenants_come_from_the_hint_resource_first() {
    // Go: TestLogsToLokiRequestWithGroupingByTenant.
    let rec = |tenant: &str| LogRecord {
        attributes: vec![
            kv("loki.tenant", s("tenant.id")),
            kv("tenant.id", s(tenant)),
            kv("http.status", i(200)),
        ],
        ..LogRecord::default()
    };
    let req = request(
        vec![],
        InstrumentationScope::default(),
        vec![rec("1"), rec("2")],
    );
    let out = run(&req, DefaultLabels::default());
    let got: Vec<(&str, &str, &str)> = out
        .iter()
        .map(|t| {
            let st = &t.request.streams[0];
            (
                t.tenant.as_str(),
                st.labels.as_str(),
                st.entries[0].line.as_str(),
            )
        })
        .collect();
    // The tenant attribute is not a label unless hinted; it stays in the line.
    assert_eq!(
        got,
        vec![
            (
                "1",
                r#"{exporter="OTLP"}"#,
                r#"{"attributes":{"http.status":200,"tenant.id":"1"}}"#
            ),
            (
                "2",
                r#"{exporter="OTLP"}"#,
                r#"{"attributes":{"http.status":200,"tenant.id":"2"}}"#
            ),
        ]
    );

    let req = request(
        vec![kv("loki.tenant", s("tenant.id")), kv("tenant.id", s("21"))],
        InstrumentationScope::default(),
        vec![rec("31")],
    );
    assert_eq!(run(&req, DefaultLabels::default())[0].tenant, "21");

    // A hint naming a missing attribute: no tenant.
    let lr = LogRecord {
        attributes: vec![kv("loki.tenant", s("nope"))],
        ..LogRecord::default()
    };
    let req = request(vec![], InstrumentationScope::default(), vec![lr]);
    assert_eq!(run(&req, DefaultLabels::default())[0].tenant, "");
}

#[test]
fn records_without_labels_or_with_bad_format_are_dropped_and_counted() {
    let none = DefaultLabels {
        exporter: false,
        job: false,
        instance: false,
        level: false,
    };
    let req = request(
        vec![],
        InstrumentationScope::default(),
        vec![
            LogRecord::default(),
            LogRecord {
                attributes: vec![kv("k", s("v")), kv("loki.attribute.labels", s("k"))],
                ..LogRecord::default()
            },
            LogRecord {
                attributes: vec![
                    kv("k", s("v")),
                    kv("loki.attribute.labels", s("k")),
                    kv("loki.format", s("xml")),
                ],
                ..LogRecord::default()
            },
            LogRecord {
                body: Some(d(f64::NAN)),
                attributes: vec![kv("k", s("v")), kv("loki.attribute.labels", s("k"))],
                ..LogRecord::default()
            },
        ],
    );
    let out = run(&req, none);
    assert_eq!(out[0].missing_labels, 1);
    assert_eq!(out[0].dropped, 2);
    assert_eq!(out[0].submitted, 1);
    assert_eq!(
        out[0].first_error.as_deref(),
        Some(
            "failed to convert, dropping log: invalid format xml. Expected one of: json, logfmt, raw"
        )
    );
    assert_eq!(out[0].request.streams[0].labels, r#"{k="v"}"#);
}

#[test]
fn severity_names_are_gos_level_map() {
    assert_eq!(severity_level(1), "TRACE");
    assert_eq!(severity_level(9), "INFO");
    assert_eq!(severity_level(14), "WARN2");
    assert_eq!(severity_level(17), "ERROR");
    assert_eq!(severity_level(24), "FATAL4");
    assert_eq!(severity_level(25), "");
    assert_eq!(severity_level(-1), "");
}

/// The per-resource tenant lookup gives what Go's `GetTenantFromTenantHint` gives, for every
/// place the hint and the tenant attribute can be (resource, record, both, neither).
#[test]
fn resource_tenant_lookup_equals_gos_per_record_lookup() {
    use super::translate::{HINT_TENANT, ResourceTenant, tenant_of};
    let places: [&[(&str, &str)]; 9] = [
        &[],
        &[(HINT_TENANT, "t")],
        &[(HINT_TENANT, "t"), ("t", "acme")],
        &[("t", "acme")],
        &[(HINT_TENANT, "u")],
        &[(HINT_TENANT, "u"), ("u", "umbrella")],
        &[(HINT_TENANT, "t"), ("u", "umbrella")],
        &[("loki.format", "json"), ("u", "umbrella")],
        &[(HINT_TENANT, "missing")],
    ];
    let attrs = |pairs: &[(&str, &str)]| -> Vec<KeyValue> {
        pairs.iter().map(|(k, v)| kv(k, s(v))).collect()
    };
    let mut non_empty = 0;
    for res in places {
        let res = attrs(res);
        let tenants = ResourceTenant::new(&res);
        for rec in places {
            let rec = attrs(rec);
            let want = tenant_of(&rec, &res);
            assert_eq!(tenants.of(&rec), want, "resource {res:?}, record {rec:?}");
            non_empty += usize::from(!want.is_empty());
        }
    }
    assert!(non_empty > 10, "the table reaches tenants: {non_empty}");
}

/// Records with only the resource's labels and records that add labels of their own,
/// interleaved and across two tenants: each lands in its own stream, in order.
#[test]
fn interleaved_records_land_in_their_own_streams_in_order() {
    use super::translate::{HINT_ATTRIBUTES, HINT_TENANT};
    let rec = |body: &str, attrs: Vec<KeyValue>| LogRecord {
        body: Some(s(body)),
        attributes: attrs,
        time_unix_nano: 1,
        ..LogRecord::default()
    };
    let labelled = |body: &str| {
        rec(
            body,
            vec![kv("level", s("warn")), kv(HINT_ATTRIBUTES, s("level"))],
        )
    };
    let other_tenant =
        |body: &str| rec(body, vec![kv("org", s("acme")), kv(HINT_TENANT, s("org"))]);
    let (_, res, scope) = example();
    let res = [res, vec![kv("loki.resource.labels", s("host.name"))]].concat();
    let records = vec![
        rec("a1", vec![]),
        labelled("b1"),
        rec("a2", vec![]),
        other_tenant("c1"),
        rec("a3", vec![]),
        labelled("b2"),
        other_tenant("c2"),
    ];
    let out = run(&request(res, scope, records), DefaultLabels::default());
    type Streams = Vec<(String, Vec<String>)>;
    let got: Vec<(String, Streams)> = out
        .iter()
        .map(|t| {
            let streams = t
                .request
                .streams
                .iter()
                .map(|st| {
                    let bodies = st
                        .entries
                        .iter()
                        .map(|e| e.line.split('"').nth(3).unwrap_or("").to_string())
                        .collect();
                    (st.labels.clone(), bodies)
                })
                .collect();
            (t.tenant.clone(), streams)
        })
        .collect();
    let base = r#"{exporter="OTLP", host_name="something"}"#.to_string();
    let warn = r#"{exporter="OTLP", host_name="something", level="warn"}"#.to_string();
    assert_eq!(
        got,
        vec![
            (
                String::new(),
                vec![
                    (base.clone(), vec!["a1".into(), "a2".into(), "a3".into()]),
                    (warn, vec!["b1".into(), "b2".into()]),
                ]
            ),
            ("acme".into(), vec![(base, vec!["c1".into(), "c2".into()])]),
        ]
    );
}
