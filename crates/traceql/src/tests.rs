//! Queries against a small hand-built trace. Each expected match set is written from TraceQL's
//! documented semantics (Tempo docs "Construct a TraceQL query" and the typing rules of
//! `ast_execute.go`), not from this evaluator's output.

use crate::fuzzing::{OwnedAttr as A, OwnedSpan};
use crate::{
    Error, Kind, LegacySearch, SpanConditions, Status, TraceInfo, from_legacy_search, parse,
};

fn s(v: &str) -> A {
    A::Str(v.into())
}

fn kv(pairs: Vec<(&str, A)>) -> Vec<(String, A)> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The tree: 0 → {1, 2}, 2 → {3, 4}.
/// 0 GET /cart (frontend, server, 120ms, unset)
/// 1 SELECT cart (cart, client, 30ms, ok)
/// 2 POST /checkout (checkout, server, 1.5s, error "payment declined")
/// 3 charge (payment, internal, 1ms, unset; span attr service.name=override)
/// 4 publish (checkout, producer, 5ms, ok)
fn spans() -> Vec<OwnedSpan> {
    vec![
        OwnedSpan {
            span_id: 1,
            parent_span_id: 0,
            name: "GET /cart".into(),
            scope_name: "io.opentelemetry.http".into(),
            scope_version: "1.2".into(),
            duration_ns: 120_000_000,
            status: Some(Status::Unset),
            kind: Some(Kind::Server),
            span_attrs: kv(vec![
                ("http.method", s("GET")),
                ("http.status_code", A::Int(200)),
                ("http.route", s("/cart")),
                ("codes", A::Array(vec![A::Int(200), A::Int(404)])),
            ]),
            resource_attrs: kv(vec![("service.name", s("frontend"))]),
            ..Default::default()
        },
        OwnedSpan {
            span_id: 2,
            parent_span_id: 1,
            name: "SELECT cart".into(),
            duration_ns: 30_000_000,
            status: Some(Status::Ok),
            kind: Some(Kind::Client),
            span_attrs: kv(vec![
                ("db.system", s("redis")),
                ("retries", A::Int(2)),
                ("ratio", A::Float(0.5)),
                ("empty_arr", A::Array(vec![])),
            ]),
            resource_attrs: kv(vec![("service.name", s("cart"))]),
            ..Default::default()
        },
        OwnedSpan {
            span_id: 3,
            parent_span_id: 1,
            name: "POST /checkout".into(),
            duration_ns: 1_500_000_000,
            status: Some(Status::Error),
            status_message: "payment declined".into(),
            kind: Some(Kind::Server),
            span_attrs: kv(vec![
                ("http.method", s("POST")),
                ("http.status_code", A::Int(500)),
                ("flag", A::Bool(true)),
                ("tags", A::Other),
                ("amount", A::Float(12.0)),
                ("message", s("line1\nline2")),
                ("langs", A::Array(vec![s("go"), s("rust")])),
            ]),
            resource_attrs: kv(vec![
                ("service.name", s("checkout")),
                ("deployment.environment", s("prod")),
            ]),
            ..Default::default()
        },
        OwnedSpan {
            span_id: 4,
            parent_span_id: 3,
            name: "charge".into(),
            duration_ns: 1_000_000,
            status: Some(Status::Unset),
            kind: Some(Kind::Internal),
            span_attrs: kv(vec![
                ("service.name", s("override")),
                ("weird key", s("v")),
                ("count", A::Int(3)),
            ]),
            resource_attrs: kv(vec![("service.name", s("payment"))]),
            ..Default::default()
        },
        OwnedSpan {
            span_id: 5,
            parent_span_id: 3,
            name: "publish".into(),
            duration_ns: 5_000_000,
            status: Some(Status::Ok),
            kind: Some(Kind::Producer),
            span_attrs: kv(vec![("messaging.system", s("kafka"))]),
            resource_attrs: kv(vec![("service.name", s("checkout"))]),
            ..Default::default()
        },
    ]
}

const TRACE: TraceInfo<'static> = TraceInfo {
    root_service: "frontend",
    root_name: "GET /cart",
    duration_ns: 2_000_000_000,
};

#[test]
fn query_table_matches_documented_semantics() {
    let table: &[(&str, &[usize])] = &[
        ("{}", &[0, 1, 2, 3, 4]),
        ("{ }", &[0, 1, 2, 3, 4]),
        (r#"{ resource.service.name = "checkout" }"#, &[2, 4]),
        // unscoped: the span's attribute wins over the resource's
        (r#"{ .service.name = "checkout" }"#, &[2, 4]),
        (r#"{ .service.name = "override" }"#, &[3]),
        (r#"{ resource.service.name = "override" }"#, &[]),
        (r#"{ span.http.method = "GET" }"#, &[0]),
        (r#"{ span."http.method" = "POST" }"#, &[2]),
        ("{ duration > 100ms }", &[0, 2]),
        ("{ duration >= 30ms && duration < 1s }", &[0, 1]),
        ("{ duration <= 1ms }", &[3]),
        ("{ duration = 1.5s }", &[2]),
        // an int literal against a duration compares nanoseconds
        ("{ duration > 1500000 }", &[0, 1, 2, 4]),
        ("{ status = error }", &[2]),
        ("{ status != error }", &[0, 1, 3, 4]),
        ("{ status = ok }", &[1, 4]),
        ("{ status = unset }", &[0, 3]),
        ("{ kind = server }", &[0, 2]),
        ("{ kind = client || kind = producer }", &[1, 4]),
        ("{ span.http.status_code >= 500 }", &[2]),
        // ints and floats compare as numbers; strings never equal numbers
        ("{ span.http.status_code = 200.0 }", &[0]),
        (r#"{ span.http.status_code = "200" }"#, &[]),
        ("{ span.amount = 12 }", &[2]),
        ("{ span.ratio < 1 && span.ratio > 0.25 }", &[1]),
        // `!=` never matches a missing attribute
        ("{ span.http.status_code != 200 }", &[2]),
        ("{ span.http.method != nil }", &[0, 2]),
        ("{ span.http.method = nil }", &[1, 3, 4]),
        // regexes are anchored at both ends
        (r#"{ name =~ "GET.*" }"#, &[0]),
        (r#"{ name =~ "cart" }"#, &[]),
        (r#"{ name =~ ".*cart" }"#, &[0, 1]),
        (r#"{ name !~ ".*cart" }"#, &[2, 3, 4]),
        (r#"{ span.db.system !~ "x" }"#, &[1]),
        // `.` matches a newline
        (r#"{ span.message =~ "line1.*" }"#, &[2]),
        (r#"{ statusMessage = "payment declined" }"#, &[2]),
        (r#"{ rootServiceName = "frontend" }"#, &[0, 1, 2, 3, 4]),
        (r#"{ rootName != "GET /cart" }"#, &[]),
        ("{ traceDuration > 1s }", &[0, 1, 2, 3, 4]),
        ("{ trace:duration > 5s }", &[]),
        (r#"{ span:name = "charge" }"#, &[3]),
        (
            r#"{ trace:rootService = "frontend" && span:kind = internal }"#,
            &[3],
        ),
        ("{ span:status = error && span:duration = 1.5s }", &[2]),
        ("{ span.flag = true }", &[2]),
        ("{ span.flag }", &[2]),
        ("{ span.tags != nil }", &[2]),
        (r#"{ span.tags = "a" }"#, &[]),
        ("{ !(status = error) }", &[0, 1, 3, 4]),
        ("{ span.count + 1 = 4 }", &[3]),
        ("{ span.retries * 2 > 3 }", &[1]),
        (r#"{ span."weird key" = "v" }"#, &[3]),
        (r#"{ .deployment.environment = "prod" }"#, &[2]),
        // byte-wise string ordering: uppercase before lowercase
        (r#"{ name > "P" }"#, &[1, 2, 3, 4]),
        // && and || share a precedence level in Tempo, left-associative
        (
            r#"{ span.http.method = "GET" || span.db.system = "redis" && duration > 1s }"#,
            &[],
        ),
        (
            r#"{ span.http.method = "GET" || (span.db.system = "redis" && duration > 1s) }"#,
            &[0],
        ),
        ("{ kind = server && span.http.status_code = 500 }", &[2]),
        // spanset operators work at the trace level
        (
            r#"{ resource.service.name = "checkout" } && { kind = producer }"#,
            &[2, 4],
        ),
        (
            r#"{ resource.service.name = "checkout" } && { name = "nope" }"#,
            &[],
        ),
        (r#"{ name = "nope" } || { kind = internal }"#, &[3]),
        (
            r#"({ status = error } || { kind = client }) && { span.http.method = "GET" }"#,
            &[0, 1, 2],
        ),
        (
            r#"{ resource.deployment.environment =~ "pr.*" } | select(span.http.method, duration)"#,
            &[2],
        ),
        // comments and raw strings
        ("{ name = `charge` } // trailing comment", &[3]),
        ("{ span.retries = -2 + 4 }", &[1]),
        // pipelines: filter stages and aggregate scalar filters over the spanset
        ("{ kind = server } | count() > 1", &[0, 2]),
        ("{ kind = server } | count() > 2", &[]),
        // (120 + 30 + 1500 + 1 + 5) ms / 5 = 331.2 ms
        ("{ } | avg(duration) > 300ms", &[0, 1, 2, 3, 4]),
        ("{ } | avg(duration) > 332ms", &[]),
        ("{ } | max(duration) = 1.5s", &[0, 1, 2, 3, 4]),
        ("{ } | min(span.http.status_code) < 300", &[0, 1, 2, 3, 4]),
        (
            r#"{ resource.service.name = "checkout" } | sum(span.amount) = 12"#,
            &[2, 4],
        ),
        ("{ } | avg(span.nothing) > 0", &[]),
        ("{ } | { status = error }", &[2]),
        ("{ kind = server } | { duration > 1s } | count() = 1", &[2]),
        ("{ } | coalesce()", &[0, 1, 2, 3, 4]),
        ("{ kind = server } | count() >= -1", &[0, 2]),
        // a pipeline may start with a stage, whose input is the whole trace
        ("count() > 4", &[0, 1, 2, 3, 4]),
        ("count() > 5", &[]),
        ("max(duration) > 1s | { status = error }", &[2]),
        ("select(span.http.method)", &[0, 1, 2, 3, 4]),
        // literal arithmetic on the right of a scalar filter is folded
        ("{ } | avg(duration) > 1 - 1", &[0, 1, 2, 3, 4]),
        // pipelines inside parentheses
        (
            r#"({ kind = server } | count() > 1) && { name = "charge" }"#,
            &[0, 2, 3],
        ),
        (
            r#"({ kind = server } | count() > 2) || { name = "charge" }"#,
            &[3],
        ),
        (r#"({ kind = server } | { duration > 1s }) > { }"#, &[3, 4]),
        // arrays: `=`, `=~` and orderings on some element, `!=`, `!~` on every element
        (r#"{ span.langs = "go" }"#, &[2]),
        (r#"{ span.langs != "go" }"#, &[]),
        (r#"{ span.langs != "java" }"#, &[2]),
        (r#"{ span.langs =~ "ru.*" }"#, &[2]),
        (r#"{ span.langs !~ "ru.*" }"#, &[]),
        (r#"{ span.langs !~ "j.*" }"#, &[2]),
        ("{ span.codes > 400 }", &[0]),
        ("{ span.codes >= 500 }", &[]),
        ("{ 400 < span.codes }", &[0]),
        ("{ span.codes = 404.0 }", &[0]),
        (r#"{ span.codes = "404" }"#, &[]),
        ("{ span.empty_arr != 1 }", &[1]),
        ("{ span.empty_arr = 1 }", &[]),
        ("{ span.codes != nil }", &[0]),
        ("{ span.codes + 1 > 0 }", &[]),
        (
            r#"{ instrumentation:name = "io.opentelemetry.http" }"#,
            &[0],
        ),
        (r#"{ instrumentation:version != "" }"#, &[0]),
        // structural operators yield right-side spans
        (r#"{ name = "GET /cart" } > { }"#, &[1, 2]),
        ("{ kind = server } >> { }", &[1, 2, 3, 4]),
        (r#"{ resource.service.name = "checkout" } > { }"#, &[3, 4]),
        ("{ } < { kind = server }", &[0, 2]),
        (r#"{ name = "charge" } << { }"#, &[0, 2]),
        (r#"{ name = "charge" } ~ { }"#, &[4]),
        (r#"{ name = "charge" } ~ { name = "charge" }"#, &[]),
        ("{ kind = server } !> { }", &[0]),
        (r#"{ name = "charge" } !~ { }"#, &[0, 1, 2, 3]),
        (r#"{ name = "nope" } !>> { kind = internal }"#, &[3]),
        (r#"{ name = "nope" } >> { kind = internal }"#, &[]),
        // unions keep the left spans that take part
        (r#"{ name = "GET /cart" } &> { status = error }"#, &[0, 2]),
        (r#"{ name = "charge" } &<< { kind = server }"#, &[0, 2, 3]),
        (r#"{ name = "charge" } &~ { }"#, &[3, 4]),
        // structural operators bind tighter than && and are left-associative
        (
            r#"{ kind = server } && { } >> { name = "charge" }"#,
            &[0, 2, 3],
        ),
        (r#"{ } >> { } >> { name = "publish" }"#, &[4]),
    ];
    assert!(table.len() >= 30);
    let spans = spans();
    let mut failures = Vec::new();
    for (q, want) in table {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let got = query.eval_trace(&spans, &TRACE).unwrap_or_default();
        if got != *want {
            failures.push(format!("{q}: want {want:?}, got {got:?}"));
        }
        if query.is_single_spanset() {
            let by_span: Vec<usize> = (0..spans.len())
                .filter(|i| query.matches_span(&spans[*i], &TRACE))
                .collect();
            if by_span != *want {
                failures.push(format!(
                    "{q} (matches_span): want {want:?}, got {by_span:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn structural_operators_ignore_spans_cut_off_from_the_root() {
    let span = |id: u64, parent: u64| OwnedSpan {
        span_id: id,
        parent_span_id: parent,
        ..Default::default()
    };
    // 0 root; 1 has a missing parent; 2 is 1's child; 3 and 4 form a cycle
    let spans = vec![span(1, 0), span(2, 99), span(3, 2), span(5, 6), span(6, 5)];
    let run = |q: &str| {
        parse(q)
            .unwrap()
            .eval_trace(&spans, &TRACE)
            .unwrap_or_default()
    };
    assert_eq!(run("{ } >> { }"), Vec::<usize>::new());
    assert_eq!(run("{ } > { }"), Vec::<usize>::new());
    assert_eq!(run("{ } !>> { }"), vec![0, 1, 2, 3, 4]);
    assert_eq!(run("{ } ~ { }"), Vec::<usize>::new());
}

#[cfg(feature = "pdata")]
#[test]
fn otlp_values_read_in_place() {
    use pdata::proto::common::v1::{AnyValue, ArrayValue, any_value::Value as V};
    let arr = AnyValue {
        value: Some(V::ArrayValue(ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(V::StringValue("a".into())),
                },
                AnyValue {
                    value: Some(V::IntValue(3)),
                },
            ],
        })),
    };
    let crate::AttrValue::Array(a) = crate::attr_value(&arr) else {
        panic!("not an array");
    };
    assert_eq!(a.len(), 2);
    assert!(matches!(a.get(1), Some(crate::AttrValue::Int(3))));
    let kv = AnyValue {
        value: Some(V::BytesValue(vec![1])),
    };
    assert!(matches!(crate::attr_value(&kv), crate::AttrValue::Other));
}

#[test]
fn dyn_span_views_evaluate() {
    let spans = spans();
    let views: Vec<&dyn crate::SpanView> =
        spans.iter().map(|s| s as &dyn crate::SpanView).collect();
    let q = parse("{ kind = server }").unwrap();
    assert_eq!(q.eval_trace(&views, &TRACE), Some(vec![0, 2]));
    assert!(q.matches_span(views[0], &TRACE));
    assert_eq!(q.eval_trace::<&dyn crate::SpanView>(&[], &TRACE), None);
}

#[test]
fn unsupported_constructs_are_named() {
    let cases: &[(&str, &str)] = &[
        (
            "({ } | count()) + ({ } | count()) = 1",
            "arithmetic between pipelines",
        ),
        ("{ } | count() + 1 > 2", "arithmetic (`+`) on aggregates"),
        ("{ } | 2 < count()", "aggregate() <op> literal"),
        ("{ } | rate()", "`rate()`"),
        (
            "{ } | quantile_over_time(duration, .9)",
            "`quantile_over_time()`",
        ),
        (
            "100 * ({} | rate())",
            "arithmetic on TraceQL metrics results",
        ),
        ("({ } | select(.a)) && { }", "select() inside parentheses"),
        (
            "{ } | max(duration) > (1 + span.x)",
            "compare an aggregate with a number",
        ),
        (
            "{ } | max(duration) > min(duration)",
            "comparing two aggregates",
        ),
        ("{ } | by(span.x)", "`by()`"),
        ("{ } | ({ .a = 1 })", "pipeline stage"),
        ("{ parent.x = 1 }", "`parent.`"),
        ("{ event.x = 1 }", "`event.`"),
        (r#"{ trace:id = "abc" }"#, "`trace:id`"),
        (r#"{ span:id = "abc" }"#, "`span:id`"),
        (r#"{ event:name = "x" }"#, "`event:`"),
    ];
    for (q, needle) in cases {
        match parse(q) {
            Err(Error::Unsupported(m)) => {
                assert!(m.contains(needle), "{q}: {m:?} lacks {needle:?}")
            }
            other => panic!("{q}: want Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn parse_errors_read_as_tempo() {
    let parse_errs: &[(&str, &str)] = &[
        // coalesce() cannot start a pipeline (Tempo's grammar)
        ("coalesce() | { true }", "syntax error: unexpected coalesce"),
        (
            "",
            "parse error at line 1, col 1: syntax error: unexpected $end",
        ),
        (
            "{ .a = 1",
            "parse error at line 1, col 9: syntax error: unexpected $end, expecting }",
        ),
        (
            "{ foo = 1 }",
            "parse error at line 1, col 3: unknown identifier: foo",
        ),
        (r#"{ span.x = "open }"#, "literal not terminated"),
        ("{ span. = 1 }", "syntax error: unexpected END_ATTRIBUTE"),
        ("{ .a = 1 } {", "syntax error: unexpected {"),
        ("{ .a = 99999999999999999999 }", "value out of range"),
    ];
    for (q, want) in parse_errs {
        match parse(q) {
            Err(Error::Parse(m)) => assert!(m.contains(want), "{q}: {m:?} lacks {want:?}"),
            other => panic!("{q}: want Parse error, got {other:?}"),
        }
    }
    let invalid: &[(&str, &str)] = &[
        (
            "{ name = 1 }",
            "binary operations must operate on the same type: name = 1",
        ),
        (
            "{ status = 2 }",
            "binary operations must operate on the same type: status = 2",
        ),
        (
            "{ kind > server }",
            "illegal operation for the given types: kind > server",
        ),
        (r#"{ span.x =~ "(" }"#, "invalid regex: `(`"),
        (
            "{ duration }",
            "span filter field expressions must resolve to a boolean: { duration }",
        ),
        (
            "{ duration = nil }",
            "duration=nil is not valid because intrinsics cannot be nil",
        ),
        (
            "{ resource.service.name = nil }",
            "resource.service.name=nil is not valid because resource.service.name cannot be nil",
        ),
        ("{ span.x =~ 1 }", "invalid type for =~ or !~: 1"),
        (
            "{ duration =~ \"1\" }",
            "illegal operation for the given types",
        ),
        (
            "sum(3) = 2",
            "aggregate field expressions must reference the span: sum(3)",
        ),
        (
            "{ } | min(1 = 3) = 1",
            "aggregate field expressions must resolve to a number type: min(1 = 3)",
        ),
    ];
    for (q, want) in invalid {
        match parse(q) {
            Err(Error::Invalid(m)) => assert!(m.contains(want), "{q}: {m:?} lacks {want:?}"),
            other => panic!("{q}: want Invalid, got {other:?}"),
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let q = format!("{{ {}.a = 1{} }}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(parse(&q), Err(Error::Parse(_))));
    let q = format!("{{ {}true }}", "!".repeat(5000));
    assert!(matches!(parse(&q), Err(Error::Parse(_))));
    let q = format!("{}{{}}{}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(parse(&q), Err(Error::Parse(_))));
}

#[test]
fn conditions_give_pruning_hints() {
    let q = parse(
        r#"{ resource.service.name = "a" && duration > 100ms && duration <= 2s && name = "x" && status = error } && { traceDuration >= 1s && kind = server }"#,
    )
    .unwrap();
    let c = q.conditions();
    assert_eq!(
        c.spans,
        vec![
            SpanConditions {
                service_name: Some("a".into()),
                span_name: Some("x".into()),
                min_duration_ns: Some(100_000_001),
                max_duration_ns: Some(2_000_000_000),
                status: Some(Status::Error),
                kind: None,
            },
            SpanConditions {
                kind: Some(Kind::Server),
                ..Default::default()
            }
        ]
    );
    assert_eq!(c.min_trace_duration_ns, Some(1_000_000_000));
    // `||` and unscoped service names give no hint
    let c = parse(r#"{ .service.name = "a" || duration > 1s }"#)
        .unwrap()
        .conditions();
    assert!(c.spans.is_empty());
    let c = parse(r#"{ resource.service.name = "a" } || { name = "b" }"#)
        .unwrap()
        .conditions();
    assert!(c.spans.is_empty());
    // a literal on the left flips the bound
    let c = parse("{ 1s < duration }").unwrap().conditions();
    assert_eq!(c.spans[0].min_duration_ns, Some(1_000_000_001));
}

#[test]
fn fields_and_select_name_what_the_query_reads() {
    let q = parse(r#"{ span.http.method = "GET" && duration > 1s && span.http.method != nil } | select(resource.k8s.pod.name)"#)
        .unwrap();
    let fields: Vec<String> = q.fields().iter().map(|f| f.to_string()).collect();
    assert_eq!(fields, vec!["span.http.method", "duration"]);
    let sel: Vec<String> = q.select().iter().map(|f| f.to_string()).collect();
    assert_eq!(sel, vec!["resource.k8s.pod.name"]);
    let spans = spans();
    assert_eq!(
        crate::Query::field_value(&q.fields()[0], &spans[0], &TRACE),
        Some(crate::Value::Str("GET"))
    );
}

#[test]
fn result_attributes_follow_tempo_search_metadata() {
    use crate::ResultValue as R;
    let q = parse(
        r#"{ span.http.method = "POST" && status = error && duration > 1s && kind = server && .missing != 1 } | select(span.amount, statusMessage, name)"#,
    )
    .unwrap();
    let spans = spans();
    let got = q.result_attributes(&spans[2], &TRACE);
    assert_eq!(
        got,
        vec![
            ("http.method", R::Str("POST".into())),
            ("status", R::Str("error".into())),
            ("kind", R::Str("server".into())),
            ("amount", R::Double(12.0)),
            ("statusMessage", R::Str("payment declined".into())),
        ]
    );
}

#[test]
fn query_renders_in_tempo_style() {
    let q = parse(r#"{ span."http method" = "GET" && duration > 1500ms } && { }"#).unwrap();
    assert_eq!(
        q.to_string(),
        r#"({ (span."http method" = `GET`) && (duration > 1.5s) }) && ({ true })"#
    );
}

#[test]
fn legacy_tag_search_follows_tempo() {
    let spans = spans();
    let run = |tags: Option<&str>, min: Option<&str>, max: Option<&str>| {
        let q = from_legacy_search(&LegacySearch {
            tags,
            min_duration: min,
            max_duration: max,
        })
        .unwrap();
        q.eval_trace(&spans, &TRACE).unwrap_or_default()
    };
    // well-known columns: substring; conditions meet at the trace level
    assert_eq!(
        run(Some("service.name=check http.method=PO"), None, None),
        vec![2, 4]
    );
    assert_eq!(run(Some("name=cart"), None, None), vec![0, 1]);
    // substring matching is case-sensitive (Tempo's SubstringPredicate)
    assert_eq!(run(Some("name=CART"), None, None), Vec::<usize>::new());
    assert_eq!(
        run(Some("root.service.name=front"), None, None),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(run(Some("status.code=error"), None, None), vec![2]);
    assert_eq!(run(Some("http.status_code=500"), None, None), vec![2]);
    // other attributes: exact string equality
    assert_eq!(run(Some("db.system=redi"), None, None), Vec::<usize>::new());
    assert_eq!(run(Some("db.system=redis"), None, None), vec![1]);
    assert_eq!(
        run(Some(r#"deployment.environment="prod""#), None, None),
        vec![2]
    );
    // trace duration bounds, inclusive
    assert_eq!(run(None, Some("1s"), Some("2s")), vec![0, 1, 2, 3, 4]);
    assert_eq!(run(None, None, Some("1999ms")), Vec::<usize>::new());
    assert_eq!(run(None, None, None), vec![0, 1, 2, 3, 4]);
}

#[test]
fn jaeger_search_follows_jaeger_v2_memory_store() {
    use crate::{JaegerSearch, from_jaeger_search};
    let spans = spans();
    let run = |req: JaegerSearch<'_>| {
        from_jaeger_search(&req)
            .eval_trace(&spans, &TRACE)
            .unwrap_or_default()
    };
    let tags = |t: &'static [(&'static str, &'static str)]| JaegerSearch {
        tags: t,
        ..Default::default()
    };
    let none = Vec::<usize>::new();
    assert_eq!(run(JaegerSearch::default()), vec![0, 1, 2, 3, 4]);
    assert_eq!(
        run(JaegerSearch {
            service: Some("checkout"),
            ..Default::default()
        }),
        vec![2, 4]
    );
    assert_eq!(
        run(JaegerSearch {
            service: Some("checkout"),
            operation: Some("publish"),
            ..Default::default()
        }),
        vec![4]
    );
    // values compare as Go's AsString renders the attribute
    assert_eq!(run(tags(&[("http.status_code", "500")])), vec![2]);
    assert_eq!(run(tags(&[("http.status_code", "0500")])), none);
    assert_eq!(run(tags(&[("flag", "true")])), vec![2]);
    assert_eq!(run(tags(&[("amount", "12")])), vec![2]);
    assert_eq!(run(tags(&[("ratio", "0.5")])), vec![1]);
    assert_eq!(run(tags(&[("error", "true")])), vec![2]);
    assert_eq!(run(tags(&[("error", "false")])), vec![0, 1, 3, 4]);
    assert_eq!(run(tags(&[("error", "maybe")])), none);
    assert_eq!(run(tags(&[("span.kind", "SERVER")])), vec![0, 2]);
    assert_eq!(run(tags(&[("span.status", "ok")])), vec![1, 4]);
    assert_eq!(
        run(tags(&[("scope.name", "io.opentelemetry.http")])),
        vec![0]
    );
    assert_eq!(
        run(tags(&[("resource.deployment.environment", "prod")])),
        vec![2]
    );
    assert_eq!(run(tags(&[("deployment.environment", "prod")])), vec![2]);
    // the span's attribute or the resource's
    assert_eq!(run(tags(&[("service.name", "override")])), vec![3]);
    assert_eq!(run(tags(&[("service.name", "checkout")])), vec![2, 4]);
    // one span must satisfy everything
    assert_eq!(
        run(JaegerSearch {
            service: Some("frontend"),
            tags: &[("flag", "true")],
            ..Default::default()
        }),
        none
    );
    assert_eq!(
        run(JaegerSearch {
            min_duration_ns: Some(100_000_000),
            ..Default::default()
        }),
        vec![0, 2]
    );
    assert_eq!(
        run(JaegerSearch {
            max_duration_ns: Some(5_000_000),
            ..Default::default()
        }),
        vec![3, 4]
    );
    let q = from_jaeger_search(&JaegerSearch {
        service: Some("checkout"),
        min_duration_ns: Some(1_000),
        ..Default::default()
    });
    assert_eq!(
        q.conditions().spans[0].service_name.as_deref(),
        Some("checkout")
    );
    assert_eq!(q.conditions().spans[0].min_duration_ns, Some(1_000));
}

#[test]
fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
    let seeds = [
        "{ resource.service.name = \"a\" && duration > 100ms }",
        "{ span.\"http.method\" =~ \"G.*\" } && { status = error } || { kind = server }",
        "{ .a != nil && !(.b = 1.5e3) && span.c + 2 * 3 ^ 2 >= -1 } | select(.a, name)",
        "{ trace:duration > 1h30m && span:kind = client && rootName !~ `x(` }",
        "({ }) && ({ } || { name = \"x\\u00e9\" })",
        "{ kind = server } | { duration > 1s } | avg(span.x) >= -1.5 | count() = 1 | coalesce()",
        "({ } >> { .a = 1 }) &~ { } !< { kind = client } && { } &<< { } !>> { }",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[u8] = b"{}()[]=!~<>&|.\"`\\ :,+-*/%^0123456789abcdefghijklmnopqrstuvwxyzsnmh";
    for seed in seeds {
        crate::fuzzing::parse(seed.as_bytes());
        for _ in 0..400 {
            let mut b = seed.as_bytes().to_vec();
            for _ in 0..(rnd() % 4 + 1) {
                let i = (rnd() as usize) % (b.len() + 1);
                match rnd() % 3 {
                    0 if i < b.len() => {
                        b.remove(i);
                    }
                    1 if i < b.len() => b[i] = alphabet[(rnd() as usize) % alphabet.len()],
                    _ => b.insert(i, alphabet[(rnd() as usize) % alphabet.len()]),
                }
            }
            crate::fuzzing::parse(&b);
        }
    }
    for _ in 0..2000 {
        let len = (rnd() % 40) as usize;
        let b: Vec<u8> = (0..len)
            .map(|_| alphabet[(rnd() as usize) % alphabet.len()])
            .collect();
        crate::fuzzing::parse(&b);
    }
}
