use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::metrics::v1::Metric;
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::Span;

use super::*;
use crate::attraction::tests::{b, d, i, kvs, s};

fn props(yaml: &str) -> MatchProperties {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    ::config::decode(&value, "include").unwrap_or_else(|e| panic!("{e}"))
}

fn include(yaml: &str) -> MatchConfig {
    MatchConfig {
        include: Some(props(yaml)),
        exclude: None,
    }
}

fn exclude(yaml: &str) -> MatchConfig {
    MatchConfig {
        include: None,
        exclude: Some(props(yaml)),
    }
}

/// A span in its context: resource attributes, scope (name, version), the span.
struct SpanCase {
    resource: Option<Resource>,
    scope: Option<InstrumentationScope>,
    span: Span,
}

fn span_case(
    resource: &[(&str, AnyValue)],
    scope: (&str, &str),
    name: &str,
    kind: i32,
    attrs: &[(&str, AnyValue)],
) -> SpanCase {
    SpanCase {
        resource: Some(Resource {
            attributes: kvs(resource),
            ..Default::default()
        }),
        scope: Some(InstrumentationScope {
            name: scope.0.into(),
            version: scope.1.into(),
            ..Default::default()
        }),
        span: Span {
            name: name.into(),
            kind,
            attributes: kvs(attrs),
            ..Default::default()
        },
    }
}

fn span_included(yaml: &str, c: &SpanCase) -> bool {
    let skip = SpanSkip::new(&include(yaml)).unwrap_or_else(|e| panic!("{e}"));
    !skip
        .expect("include set")
        .skip(c.resource.as_ref(), c.scope.as_ref(), &c.span)
}

#[test]
fn span_properties_match_as_go_does() {
    let c = span_case(
        &[("service.name", s("checkout")), ("env", s("prod"))],
        ("io.lib", "1.2.0"),
        "GET /cart",
        2,
        &[("http.status", i(200)), ("ok", b(true)), ("ratio", d(0.5))],
    );
    let cases = [
        // services: any entry.
        ("{match_type: strict, services: [nope, checkout]}", true),
        ("{match_type: strict, services: [check]}", false),
        ("{match_type: regexp, services: [eck]}", true),
        ("{match_type: regexp, services: ['^eck']}", false),
        // span_names
        ("{match_type: strict, span_names: ['GET /cart']}", true),
        ("{match_type: regexp, span_names: ['^GET']}", true),
        ("{match_type: regexp, span_names: ['^POST']}", false),
        // span_kinds
        ("{match_type: strict, span_kinds: [SPAN_KIND_SERVER]}", true),
        (
            "{match_type: strict, span_kinds: [SPAN_KIND_CLIENT]}",
            false,
        ),
        ("{match_type: regexp, span_kinds: [SERVER]}", true),
        // attributes: all entries; strict compares type and value.
        (
            "{match_type: strict, attributes: [{key: http.status, value: 200}]}",
            true,
        ),
        (
            "{match_type: strict, attributes: [{key: http.status, value: '200'}]}",
            false,
        ),
        (
            "{match_type: strict, attributes: [{key: http.status}]}",
            true,
        ),
        (
            "{match_type: strict, attributes: [{key: http.status}, {key: missing}]}",
            false,
        ),
        (
            "{match_type: strict, attributes: [{key: ok, value: true}]}",
            true,
        ),
        (
            "{match_type: strict, attributes: [{key: ratio, value: 0.5}]}",
            true,
        ),
        // regexp stringifies bool, int and double.
        (
            "{match_type: regexp, attributes: [{key: http.status, value: '^2..$'}]}",
            true,
        ),
        (
            "{match_type: regexp, attributes: [{key: ok, value: '^true$'}]}",
            true,
        ),
        (
            "{match_type: regexp, attributes: [{key: ratio, value: '^0\\.5$'}]}",
            true,
        ),
        // resources: all entries.
        (
            "{match_type: strict, resources: [{key: env, value: prod}]}",
            true,
        ),
        (
            "{match_type: strict, resources: [{key: env, value: prod}, {key: service.name, value: x}]}",
            false,
        ),
        // libraries: all entries; version omitted matches any.
        ("{match_type: strict, libraries: [{name: io.lib}]}", true),
        (
            "{match_type: strict, libraries: [{name: io.lib, version: 1.2.0}]}",
            true,
        ),
        (
            "{match_type: strict, libraries: [{name: io.lib, version: ''}]}",
            false,
        ),
        (
            "{match_type: regexp, libraries: [{name: io, version: '^1\\.'}]}",
            true,
        ),
        (
            "{match_type: strict, libraries: [{name: io.lib}, {name: other}]}",
            false,
        ),
        // Different properties are ANDed.
        (
            "{match_type: strict, services: [checkout], span_names: [other]}",
            false,
        ),
        (
            "{match_type: strict, services: [checkout], span_names: ['GET /cart'], attributes: [{key: ok}]}",
            true,
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(span_included(yaml, &c), want, "{yaml}");
    }
}

#[test]
fn missing_service_name_reads_as_nil_service_name() {
    let c = span_case(&[], ("", ""), "x", 0, &[]);
    assert!(span_included(
        "{match_type: strict, services: ['<nil-service-name>']}",
        &c
    ));
    let no_resource = SpanCase {
        resource: None,
        ..c
    };
    assert!(span_included(
        "{match_type: strict, services: ['<nil-service-name>']}",
        &no_resource
    ));
    // Kind 0 reads as SPAN_KIND_UNSPECIFIED (strict refuses to name it; regexp can).
    assert!(span_included(
        "{match_type: regexp, span_kinds: ['^SPAN_KIND_UNSPECIFIED$']}",
        &no_resource
    ));
}

#[test]
fn include_and_exclude_decide_skip() {
    let c = span_case(&[("service.name", s("a"))], ("", ""), "n", 1, &[]);
    let skip = |cfg: MatchConfig| {
        SpanSkip::new(&cfg)
            .unwrap()
            .is_some_and(|sk| sk.skip(c.resource.as_ref(), c.scope.as_ref(), &c.span))
    };
    assert!(!skip(MatchConfig::default()));
    assert!(SpanSkip::new(&MatchConfig::default()).unwrap().is_none());
    assert!(!skip(include("{match_type: strict, services: [a]}")));
    assert!(skip(include("{match_type: strict, services: [b]}")));
    assert!(skip(exclude("{match_type: strict, services: [a]}")));
    assert!(!skip(exclude("{match_type: strict, services: [b]}")));
    // Both: included, then excluded.
    assert!(skip(MatchConfig {
        include: Some(props("{match_type: strict, services: [a]}")),
        exclude: Some(props("{match_type: strict, span_names: [n]}")),
    }));
}

fn log_case(body: AnyValue, severity_text: &str, severity_number: i32) -> LogRecord {
    LogRecord {
        body: Some(body),
        severity_text: severity_text.into(),
        severity_number,
        attributes: kvs(&[("a", s("1"))]),
        ..Default::default()
    }
}

fn log_included(yaml: &str, record: &LogRecord, resource: &[(&str, AnyValue)]) -> bool {
    let skip = LogSkip::new(&include(yaml))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("include set");
    let resource = Resource {
        attributes: kvs(resource),
        ..Default::default()
    };
    !skip.skip(Some(&resource), None, record)
}

#[test]
fn log_properties_match_as_go_does() {
    let info = log_case(s("user 42 logged in"), "INFO", 9);
    let cases = [
        (
            "{match_type: strict, log_bodies: ['user 42 logged in']}",
            true,
        ),
        ("{match_type: regexp, log_bodies: ['logged']}", true),
        ("{match_type: regexp, log_bodies: ['^logged']}", false),
        (
            "{match_type: strict, log_severity_texts: [WARN, INFO]}",
            true,
        ),
        ("{match_type: strict, log_severity_texts: [info]}", false),
        ("{log_severity_number: {min: 9}}", true),
        ("{log_severity_number: {min: 13}}", false),
        (
            "{match_type: strict, attributes: [{key: a, value: '1'}]}",
            true,
        ),
        (
            "{match_type: strict, resources: [{key: pod, value: web}]}",
            true,
        ),
        (
            "{match_type: strict, resources: [{key: pod, value: api}]}",
            false,
        ),
        (
            "{match_type: regexp, log_bodies: [user], log_severity_texts: [WARN]}",
            false,
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(
            log_included(yaml, &info, &[("pod", s("web"))]),
            want,
            "{yaml}"
        );
    }
    // Undefined severity matches only with match_undefined.
    let undefined = log_case(s("x"), "", 0);
    assert!(!log_included(
        "{log_severity_number: {min: 1}}",
        &undefined,
        &[]
    ));
    assert!(log_included(
        "{log_severity_number: {min: 1, match_undefined: true}}",
        &undefined,
        &[]
    ));
    // A non-string body is matched as its AsString text (JSON for a map).
    let map_body = log_case(
        AnyValue {
            value: Some(Value::KvlistValue(pdata::proto::common::v1::KeyValueList {
                values: kvs(&[("k", i(1))]),
            })),
        },
        "",
        0,
    );
    assert!(log_included(
        r#"{match_type: strict, log_bodies: ['{"k":1}']}"#,
        &map_body,
        &[]
    ));
}

#[test]
fn metrics_match_on_names_only() {
    let metric = |name: &str| Metric {
        name: name.into(),
        ..Default::default()
    };
    let skip = MetricSkip::new(&include(
        "{match_type: regexp, metric_names: ['^http\\.'], services: [ignored]}",
    ))
    .unwrap()
    .unwrap();
    assert!(!skip.skip(&metric("http.duration")));
    assert!(skip.skip(&metric("rpc.duration")));
    let skip = MetricSkip::new(&exclude("{match_type: strict, metric_names: [a, b]}"))
        .unwrap()
        .unwrap();
    assert!(skip.skip(&metric("b")));
    assert!(!skip.skip(&metric("c")));
    // No metric names: nothing filtered, whatever else the block says.
    assert!(
        MetricSkip::new(&include(
            "{match_type: strict, resources: [{key: a}], attributes: [{key: b}]}"
        ))
        .unwrap()
        .is_none()
    );
}

#[test]
fn per_signal_validation_and_build_errors_use_go_texts() {
    let span_err = |yaml: &str| SpanSkip::new(&include(yaml)).unwrap_err();
    let log_err = |yaml: &str| LogSkip::new(&include(yaml)).unwrap_err();
    assert_eq!(
        span_err("{match_type: strict, log_bodies: [x], services: [a]}"),
        "log_bodies should not be specified for trace spans"
    );
    assert_eq!(
        span_err("{match_type: strict, log_severity_texts: [x], services: [a]}"),
        "log_severity_texts should not be specified for trace spans"
    );
    assert_eq!(
        span_err("{match_type: strict, log_severity_number: {min: 1}, services: [a]}"),
        "log_severity_number should not be specified for trace spans"
    );
    assert_eq!(
        span_err("{match_type: strict}"),
        r#"at least one of "attributes", "libraries",  or "resources" field must be specified"#
    );
    assert_eq!(
        span_err("{match_type: strict, span_kinds: [server]}"),
        "span_kinds string must match one of the standard span kinds when match_type=strict: [SPAN_KIND_CLIENT SPAN_KIND_CONSUMER SPAN_KIND_INTERNAL SPAN_KIND_PRODUCER SPAN_KIND_SERVER]"
    );
    assert_eq!(
        log_err("{match_type: strict, services: [a]}"),
        "services, span_names, and span_kinds are not valid for log records"
    );
    assert_eq!(
        log_err("{match_type: strict}"),
        r#"at least one of "attributes", "libraries", "span_kinds", "resources", "log_bodies", "log_severity_texts" or "log_severity_number" field must be specified"#
    );
    assert_eq!(
        span_err("{services: [a]}"),
        "error creating service name filters: unrecognized match_type: '', valid types are: [regexp strict]"
    );
    assert_eq!(
        span_err("{match_type: glob, span_names: [a]}"),
        "error creating span name filters: unrecognized match_type: 'glob', valid types are: [regexp strict]"
    );
    assert_eq!(
        span_err("{match_type: strict, attributes: [{value: 1}]}"),
        "error creating attribute filters: can't have empty key in the list of attributes"
    );
    assert_eq!(
        span_err("{match_type: regexp, resources: [{key: a, value: 1}]}"),
        r#"error creating resource filters: match_type=regexp for "a" only supports Str, but found Int"#
    );
    assert_eq!(
        log_err("{match_type: nope, libraries: [{name: a}]}"),
        "error creating library name filters: unrecognized match_type: 'nope', valid types are: [regexp strict]"
    );
    let bad_regex = log_err("{match_type: regexp, log_bodies: ['(']}");
    assert!(
        bad_regex.starts_with("error creating log record body filters: error parsing regexp: "),
        "{bad_regex}"
    );
    // Attributes without values never look at match_type (as in Go).
    assert!(SpanSkip::new(&include("{attributes: [{key: a}]}")).is_ok());
    // Metrics only build metric_names.
    assert_eq!(
        MetricSkip::new(&include("{match_type: glob, metric_names: [a]}")).unwrap_err(),
        "unrecognized match_type: 'glob', valid types are: [regexp strict]"
    );
}

#[test]
fn strict_equality_of_structured_values_ignores_map_order() {
    let m = AttributesMatcher::new(
        "strict",
        &[AttributeMatch {
            key: "m".into(),
            value: Some(props_value("{a: 1, b: [x]}")),
        }],
    )
    .unwrap();
    let attrs = |v: AnyValue| -> Vec<KeyValue> { kvs(&[("m", v)]) };
    let reordered = AnyValue {
        value: Some(Value::KvlistValue(pdata::proto::common::v1::KeyValueList {
            values: kvs(&[
                (
                    "b",
                    AnyValue {
                        value: Some(Value::ArrayValue(pdata::proto::common::v1::ArrayValue {
                            values: vec![s("x")],
                        })),
                    },
                ),
                ("a", i(1)),
            ]),
        })),
    };
    assert!(m.matches(&attrs(reordered)));
    assert!(!m.matches(&attrs(s("{a: 1, b: [x]}"))));
    assert!(!m.matches(&[]));
}

fn props_value(yaml: &str) -> crate::attraction::ConfigValue {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    ::config::decode(&value, "value").unwrap()
}

#[test]
fn string_sets_dedupe_and_scale() {
    let many: Vec<String> = (0..100).map(|n| format!("svc-{n}")).collect();
    let set = StringSet::new(&many, "strict").unwrap();
    assert!(matches!(set, StringSet::StrictMany(_)));
    assert!(set.matches("svc-99"));
    assert!(!set.matches("svc-100"));
    let set = StringSet::new(&["a".into(), "a".into()], "strict").unwrap();
    assert!(matches!(&set, StringSet::StrictFew(v) if v.len() == 1));
    let re = StringSet::new(&["^a$".into(), r"\d{3}".into()], "regexp").unwrap();
    assert!(re.matches("a"));
    assert!(re.matches("x123y"));
    assert!(!re.matches("ab"));
}
