//! Expected values from Go's `processor_test.go` (TestRedactSummaryDebug, ...HashMD5,
//! TestMultipleBlockValues, TestProcessAttrsAppliedTwice, TestRedactAllTypes*,
//! TestSpanEventRedacted, TestLogBodyRedactionDifferentTypes); the other digests are
//! Python hashlib's for the same input.

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};
use pdata::{Batch, Request, Signal};

use super::Factory;
use super::config::Config;
use super::redact::Redactor;
use crate::processors::testing::{create, parse};

fn s(k: &str, v: &str) -> KeyValue {
    kv(k, Value::StringValue(v.into()))
}

fn i(k: &str, v: i64) -> KeyValue {
    kv(k, Value::IntValue(v))
}

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == k)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn get_str(attrs: &[KeyValue], k: &str) -> Option<String> {
    match get(attrs, k) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn get_int(attrs: &[KeyValue], k: &str) -> Option<i64> {
    match get(attrs, k) {
        Some(Value::IntValue(n)) => Some(*n),
        _ => None,
    }
}

fn redactor(yaml: &str) -> Redactor {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg: Config = ::config::decode(&v, "processors::redaction").unwrap();
    Redactor::new(&cfg).unwrap()
}

/// Go's TestRedactSummaryDebug attributes.
fn debug_case_attrs() -> Vec<KeyValue> {
    vec![
        i("id", 5),
        s("group.id", "some.valid.id"),
        s("member (id)", "some other valid id"),
        s("name", "placeholder 4111111111111111"),
        s("safe_attribute", "harmless 4111111111111112"),
        s("safeRE_attribute_id", "safe id"),
        s("safeRE_attribute_source", "safe source"),
        s("credit_card", "4111111111111111"),
        s("token_some", "tokenize"),
        s("api_key_some", "apinize"),
        s("email", "user@mycompany.com"),
    ]
}

const DEBUG_CASE: &str = r#"
allowed_keys: [id, group, name, group.id, "member (id)", token_some, api_key_some, email]
blocked_values: ["4[0-9]{12}(?:[0-9]{3})?"]
ignored_keys: [safe_attribute]
ignored_key_patterns: ["safeRE_attribute.*"]
blocked_key_patterns: [".*(token|api_key).*"]
allowed_values: [".+@mycompany.com"]
summary: debug
"#;

fn check_debug_case(attrs: &[KeyValue], masked: [&str; 3]) {
    assert!(get(attrs, "credit_card").is_none());
    assert_eq!(
        get_str(attrs, "redaction.redacted.keys").as_deref(),
        Some("credit_card")
    );
    assert_eq!(get_int(attrs, "redaction.redacted.count"), Some(1));
    assert_eq!(get_int(attrs, "redaction.ignored.count"), Some(3));
    assert_eq!(
        get_str(attrs, "redaction.masked.keys").as_deref(),
        Some("api_key_some,name,token_some")
    );
    assert_eq!(get_int(attrs, "redaction.masked.count"), Some(3));
    assert_eq!(get_str(attrs, "name").as_deref(), Some(masked[0]));
    assert_eq!(get_str(attrs, "api_key_some").as_deref(), Some(masked[1]));
    assert_eq!(get_str(attrs, "token_some").as_deref(), Some(masked[2]));
    assert_eq!(get_int(attrs, "redaction.allowed.count"), Some(1));
    assert_eq!(
        get_str(attrs, "redaction.allowed.keys").as_deref(),
        Some("email")
    );
    assert_eq!(
        get_str(attrs, "email").as_deref(),
        Some("user@mycompany.com")
    );
    assert_eq!(get_int(attrs, "id"), Some(5));
    assert_eq!(
        get_str(attrs, "safe_attribute").as_deref(),
        Some("harmless 4111111111111112")
    );
}

#[test]
fn redaction_summary_debug_matches_go() {
    let r = redactor(DEBUG_CASE);
    let mut attrs = debug_case_attrs();
    r.process_attributes(&mut attrs);
    check_debug_case(&attrs, ["placeholder ****", "****", "****"]);
}

#[test]
fn redaction_md5_hashes_match_go() {
    let r = redactor(&format!("{DEBUG_CASE}\nhash_function: md5"));
    let mut attrs = debug_case_attrs();
    r.process_attributes(&mut attrs);
    check_debug_case(
        &attrs,
        [
            "placeholder 5910f4ea0062a0e29afd3dccc741e3ce",
            "93a699237950bde9eb9d25c7ead025f3",
            "77e9ef3680c5518785ef0121d3884c3d",
        ],
    );
}

#[test]
fn redaction_hash_functions() {
    let cases = [
        ("sha1", "68bfb396f35af3876fc509665b3dc23a0930aab1".to_string()),
        (
            "SHA3",
            "6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922".to_string(),
        ),
        (
            &*format!("hmac-sha256\nhmac_key: {}", "k".repeat(32)),
            "68461c4333f0d6ffc13ab17a895ccb61b6a8864e96602c4e91c869cfb9ccc6f1".to_string(),
        ),
        (
            &*format!("hmac-sha512\nhmac_key: {}", "k".repeat(64)),
            "89b024868b044f061da2d583e3b5cbdc8177fa0c7bad151d2a7c7e73aac1668e82781b89b8ce1eb73673659bcf141cba93daaadc3bb9cf6c8523e6c4f9c72f79".to_string(),
        ),
    ];
    for (hash, want) in cases {
        let r = redactor(&format!(
            "allow_all_keys: true\nblocked_values: ['4[0-9]{{12}}(?:[0-9]{{3}})?']\nhash_function: {hash}"
        ));
        let mut attrs = vec![s("card", "card 4111111111111111")];
        r.process_attributes(&mut attrs);
        assert_eq!(
            get_str(&attrs, "card"),
            Some(format!("card {want}")),
            "{hash}"
        );
    }
}

#[test]
fn redaction_multiple_block_values_and_applied_twice() {
    let r = redactor(
        "allowed_keys: [id, name, mystery]\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?', '(5[1-5][0-9]{3})']\nsummary: debug",
    );
    let mut attrs = vec![
        i("id", 5),
        s("mystery", "mystery 52000"),
        s("name", "placeholder 4111111111111111 52000"),
        s("credit_card", "4111111111111111"),
    ];
    r.process_attributes(&mut attrs);
    assert_eq!(
        get_str(&attrs, "name").as_deref(),
        Some("placeholder **** ****")
    );
    assert_eq!(get_str(&attrs, "mystery").as_deref(), Some("mystery ****"));
    assert_eq!(
        get_str(&attrs, "redaction.masked.keys").as_deref(),
        Some("mystery,name")
    );
    assert_eq!(get_int(&attrs, "redaction.masked.count"), Some(2));

    // TestProcessAttrsAppliedTwice: existing summaries are extended, not replaced.
    let r = redactor(
        "allowed_keys: [id, credit_card, mystery]\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']\nsummary: debug",
    );
    let mut attrs = vec![
        i("id", 5),
        kv("redundant", Value::DoubleValue(1.2)),
        s("mystery", "mystery ****"),
        s("credit_card", "4111111111111111"),
        s("redaction.redacted.keys", "dropped_attr1,dropped_attr2"),
        i("redaction.redacted.count", 2),
        s("redaction.masked.keys", "mystery"),
        i("redaction.masked.count", 1),
    ];
    r.process_attributes(&mut attrs);
    assert_eq!(attrs.len(), 7);
    assert_eq!(
        get_str(&attrs, "redaction.redacted.keys").as_deref(),
        Some("dropped_attr1,dropped_attr2,redundant")
    );
    assert_eq!(get_int(&attrs, "redaction.redacted.count"), Some(3));
    assert_eq!(get_int(&attrs, "redaction.masked.count"), Some(2));
}

#[test]
fn redaction_redact_all_types_and_summary_levels() {
    let base = "allow_all_keys: true\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']";
    let input = || {
        vec![
            i("id", 5),
            i("credit_card_int", 4111111111111111),
            s("credit_card", "placeholder 4111111111111111"),
        ]
    };
    let mut attrs = input();
    redactor(base).process_attributes(&mut attrs);
    assert_eq!(get_int(&attrs, "credit_card_int"), Some(4111111111111111));
    assert_eq!(
        get_str(&attrs, "credit_card").as_deref(),
        Some("placeholder ****")
    );
    // default summary: nothing added
    assert_eq!(attrs.len(), 3);

    let mut attrs = input();
    redactor(&format!("{base}\nredact_all_types: true\nsummary: info"))
        .process_attributes(&mut attrs);
    assert_eq!(get_str(&attrs, "credit_card_int").as_deref(), Some("****"));
    assert_eq!(get_int(&attrs, "id"), Some(5));
    assert_eq!(get_int(&attrs, "redaction.masked.count"), Some(2));
    assert!(get(&attrs, "redaction.masked.keys").is_none());
}

#[test]
fn redaction_mask_group_masks_only_that_part() {
    let r = redactor(
        r"allow_all_keys: true
blocked_values: ['\b(?P<mask>\d{3}-\d{2}-)(?:\d{4})\b']",
    );
    let mut attrs = vec![s("ssn", "ssn 123-45-6789 ok")];
    r.process_attributes(&mut attrs);
    assert_eq!(get_str(&attrs, "ssn").as_deref(), Some("ssn ****6789 ok"));
}

fn map(entries: Vec<KeyValue>) -> Value {
    Value::KvlistValue(KeyValueList { values: entries })
}

#[test]
fn redaction_log_bodies_match_go() {
    let r = redactor(
        "allowed_keys: [id, email, credit_card, nested, slice]\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']\nsummary: debug",
    );
    let mut body = Some(AnyValue {
        value: Some(Value::StringValue("placeholder 4111111111111111".into())),
    });
    let mut attrs = Vec::new();
    r.process_body(&mut body, &mut attrs);
    assert_eq!(
        body.unwrap().value,
        Some(Value::StringValue("placeholder ****".into()))
    );
    assert_eq!(
        get_str(&attrs, "redaction.body.masked.keys").as_deref(),
        Some("body")
    );
    assert_eq!(get_int(&attrs, "redaction.body.masked.count"), Some(1));

    let r = redactor(
        "allowed_keys: [id, email, credit_card, nested, slice]\nblocked_values: ['4[0-9]{12}(?:[0-9]{3})?']\nignored_keys: [safe_attribute]\nallowed_values: ['.+@mycompany.com']\nsummary: debug",
    );
    let mut body = Some(AnyValue {
        value: Some(map(vec![
            s("credit_card", "4111111111111111"),
            s("not_allowed_key", "temp"),
            s("id", "user123"),
            kv(
                "nested",
                map(vec![
                    s("credit_card", "4111111111111111"),
                    s("not_allowed_key", "temp"),
                    s("id", "user123"),
                    s("safe_attribute", "4111111111111111"),
                    s("email", "user@mycompany.com"),
                ]),
            ),
            kv(
                "slice",
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Value::StringValue("4111111111111111".into())),
                        },
                        AnyValue {
                            value: Some(Value::StringValue("user123".into())),
                        },
                    ],
                }),
            ),
        ])),
    });
    let mut attrs = Vec::new();
    r.process_body(&mut body, &mut attrs);
    let Some(Value::KvlistValue(top)) = body.unwrap().value else {
        panic!()
    };
    assert_eq!(get_str(&top.values, "credit_card").as_deref(), Some("****"));
    assert!(get(&top.values, "not_allowed_key").is_none());
    assert_eq!(get_str(&top.values, "id").as_deref(), Some("user123"));
    let Some(Value::KvlistValue(nested)) = get(&top.values, "nested").cloned() else {
        panic!()
    };
    assert_eq!(
        get_str(&nested.values, "credit_card").as_deref(),
        Some("****")
    );
    assert!(get(&nested.values, "not_allowed_key").is_none());
    assert_eq!(
        get_str(&nested.values, "safe_attribute").as_deref(),
        Some("4111111111111111")
    );
    let Some(Value::ArrayValue(slice)) = get(&top.values, "slice").cloned() else {
        panic!()
    };
    assert_eq!(
        slice.values[0].value,
        Some(Value::StringValue("****".into()))
    );
    assert_eq!(
        get_str(&attrs, "redaction.body.redacted.keys").as_deref(),
        Some("nested.not_allowed_key,not_allowed_key")
    );
    assert_eq!(get_int(&attrs, "redaction.body.redacted.count"), Some(2));
    assert_eq!(
        get_str(&attrs, "redaction.body.masked.keys").as_deref(),
        Some("credit_card,nested.credit_card,slice.[0]")
    );
    assert_eq!(get_int(&attrs, "redaction.body.masked.count"), Some(3));
    assert_eq!(
        get_str(&attrs, "redaction.body.allowed.keys").as_deref(),
        Some("nested.email")
    );
    assert_eq!(get_int(&attrs, "redaction.body.allowed.count"), Some(1));
    assert_eq!(get_int(&attrs, "redaction.body.ignored.count"), Some(1));
}

fn resource(attrs: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes: attrs,
        ..Default::default()
    })
}

fn scope(attrs: Vec<KeyValue>) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "first-library".into(),
        attributes: attrs,
        ..Default::default()
    })
}

/// TestRedactUnknownAttributes and TestSpanEventRedacted through the factory: resource,
/// scope, span, event, log record and data point attributes are all redacted.
#[tokio::test]
async fn redaction_covers_every_attribute_map_of_every_signal() {
    let attrs = || {
        vec![
            s("group", "temporary"),
            i("id", 5),
            s("password", "xyzxyz"),
            s("credit_card", "4111111111111111"),
        ]
    };
    let yaml = "allowed_keys: [group, id, password]\nblocked_values: [xyzxyz]";
    let want = vec![s("group", "temporary"), i("id", 5), s("password", "****")];

    let traces = Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(attrs()),
            scope_spans: vec![ScopeSpans {
                scope: scope(attrs()),
                spans: vec![Span {
                    attributes: attrs(),
                    events: vec![Event {
                        attributes: attrs(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(Batch::from_request(traces)).await.unwrap();
    let Request::Traces(t) = sink.requests().remove(0) else {
        unreachable!()
    };
    let rs = &t.resource_spans[0];
    assert_eq!(rs.resource.as_ref().unwrap().attributes, want);
    assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().attributes, want);
    assert_eq!(rs.scope_spans[0].spans[0].attributes, want);
    assert_eq!(rs.scope_spans[0].spans[0].events[0].attributes, want);

    let logs = Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(attrs()),
            scope_logs: vec![ScopeLogs {
                scope: scope(attrs()),
                log_records: vec![LogRecord {
                    attributes: attrs(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(Batch::from_request(logs)).await.unwrap();
    let Request::Logs(l) = sink.requests().remove(0) else {
        unreachable!()
    };
    assert_eq!(
        l.resource_logs[0].scope_logs[0].log_records[0].attributes,
        want
    );
    assert_eq!(
        l.resource_logs[0].resource.as_ref().unwrap().attributes,
        want
    );

    let metrics = Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(attrs()),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(attrs()),
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            attributes: attrs(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    });
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(Batch::from_request(metrics)).await.unwrap();
    let Request::Metrics(m) = sink.requests().remove(0) else {
        unreachable!()
    };
    let Some(Data::Sum(sum)) = &m.resource_metrics[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    assert_eq!(sum.data_points[0].attributes, want);
    assert_eq!(
        m.resource_metrics[0].scope_metrics[0]
            .scope
            .as_ref()
            .unwrap()
            .attributes,
        want
    );
}

#[test]
fn redaction_config_errors() {
    let path = "processors::redaction";
    let err = parse(&Factory, path, "hash_function: sha256").unwrap_err();
    assert!(err.contains("unknown HashFunction sha256"), "{err}");
    let err = parse(&Factory, path, "hash_function: hmac-sha256").unwrap_err();
    assert!(err.contains("hmac_key must not be empty"), "{err}");
    let err = parse(&Factory, path, "blocked_values: ['(']").unwrap_err();
    assert!(
        err.contains(
            "failed to process block list: error compiling regex in list: error parsing regexp"
        ),
        "{err}"
    );
    let err = parse(&Factory, path, "url_sanitizer:\n  enabled: true").unwrap_err();
    assert!(err.contains("url_sanitizer"), "{err}");
    assert!(
        parse(
            &Factory,
            path,
            "url_sanitizer:\n  enabled: false\n  attributes: [a]"
        )
        .is_ok()
    );
    assert!(parse(&Factory, path, "").is_ok());
    let err = parse(&Factory, path, "allowed_key: [a]").unwrap_err();
    assert!(err.contains("allowed_key"), "{err}");
}
