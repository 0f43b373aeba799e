use super::*;
use pdata::proto::metrics::v1::{
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum, metric::Data, number_data_point,
};
use pdata::proto::trace::v1::{Span, Status, span::Event};

use crate::contexts::datapoint::{DataPointContext, DataPointData};
use crate::contexts::metric::{MetricContext, MetricData};
use crate::contexts::resource::{ResourceContext, ResourceData};
use crate::contexts::scope::{ScopeContext, ScopeData};
use crate::contexts::span::{SpanContext, SpanData};
use crate::contexts::spanevent::{SpanEventContext, SpanEventData};

fn span() -> Span {
    Span {
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        parent_span_id: vec![0; 8],
        trace_state: "a=1,b=2".into(),
        name: "GET /users".into(),
        kind: 2,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 3_500_000_000,
        attributes: vec![kv("http.method", s("GET"))],
        dropped_attributes_count: 1,
        events: vec![Event {
            time_unix_nano: 2_000_000_000,
            name: "exception".into(),
            attributes: vec![kv("exception.type", s("E"))],
            dropped_attributes_count: 0,
        }],
        status: Some(Status {
            message: "boom".into(),
            code: 2,
        }),
        ..Default::default()
    }
}

fn resource() -> Resource {
    Resource {
        attributes: vec![kv("service.name", s("checkout"))],
        ..Default::default()
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "lib".into(),
        version: "1.0".into(),
        ..Default::default()
    }
}

#[test]
fn span_paths_read_as_go() {
    let p = Parser::<SpanContext>::new(crate::functions::standard());
    let (mut sp, mut sc, mut res) = (span(), scope(), resource());
    let data = SpanData::new(&mut sp, &mut sc, &mut res);
    let cases: Vec<(&str, Value)> = vec![
        ("name", Value::Str("GET /users".into())),
        ("span.name", Value::Str("GET /users".into())),
        (
            "trace_id.string",
            Value::Str("0102030405060708090a0b0c0d0e0f10".into()),
        ),
        ("span_id.string", Value::Str("0102030405060708".into())),
        ("span_id", Value::Bytes((1..=8).collect())),
        ("parent_span_id.string", Value::Str("".into())),
        ("kind", Value::Int(2)),
        ("kind.string", Value::Str("Server".into())),
        (
            "kind.deprecated_string",
            Value::Str("SPAN_KIND_SERVER".into()),
        ),
        ("kind == SPAN_KIND_SERVER", Value::Bool(true)),
        ("status.code", Value::Int(2)),
        ("status.message", Value::Str("boom".into())),
        ("trace_state", Value::Str("a=1,b=2".into())),
        ("trace_state[\"b\"]", Value::Str("2".into())),
        ("trace_state[\"z\"]", Value::Nil),
        ("start_time_unix_nano", Value::Int(1_000_000_000)),
        ("start_time", Value::utc_time(1_000_000_000)),
        ("end_time - start_time", Value::Duration(2_500_000_000)),
        ("attributes[\"http.method\"]", Value::Str("GET".into())),
        (
            "resource.attributes[\"service.name\"]",
            Value::Str("checkout".into()),
        ),
        ("instrumentation_scope.name", Value::Str("lib".into())),
        ("instrumentation_scope.version", Value::Str("1.0".into())),
        ("dropped_attributes_count", Value::Int(1)),
        ("IsRootSpan()", Value::Bool(true)),
        ("cache[\"x\"]", Value::Nil),
    ];
    for (expr, want) in cases {
        let v = if expr.contains("==") {
            Value::Bool(p.parse_condition(expr).unwrap().eval(&data).unwrap())
        } else {
            p.parse_value_expression(expr)
                .unwrap_or_else(|e| panic!("{e}"))
                .eval(&data)
                .unwrap()
        };
        assert_eq!(v, want, "{expr}");
    }
}

#[test]
fn span_paths_write_as_go() {
    let p = Parser::<SpanContext>::new(crate::functions::standard());
    let (mut sp, mut sc, mut res) = (span(), scope(), resource());
    let mut data = SpanData::new(&mut sp, &mut sc, &mut res);
    for st in [
        r#"set(name, Concat([resource.attributes["service.name"], name], " "))"#,
        r#"set(kind, SPAN_KIND_CLIENT)"#,
        r#"set(status.code, STATUS_CODE_OK)"#,
        r#"set(status.message, "fine")"#,
        r#"set(trace_state["c"], "3")"#,
        r#"set(trace_id.string, "a389023abaa839283293ed323892389d")"#,
        r#"set(parent_span_id, SpanID(0x0102030405060708))"#,
        r#"set(end_time, start_time + Duration("1s"))"#,
        r#"set(cache["k"], "v")"#,
        r#"set(attributes["from_cache"], cache["k"])"#,
        r#"set(resource.attributes["r"], 1)"#,
        r#"set(instrumentation_scope.version, "2.0")"#,
        r#"set(attributes["root"], IsRootSpan())"#,
    ] {
        p.parse_statement(st)
            .unwrap_or_else(|e| panic!("{e}"))
            .execute(&mut data)
            .unwrap();
    }
    drop(data);
    assert_eq!(sp.name, "checkout GET /users");
    assert_eq!(sp.kind, 3);
    assert_eq!(
        sp.status,
        Some(Status {
            code: 1,
            message: "fine".into()
        })
    );
    assert_eq!(sp.trace_state, "c=3,a=1,b=2");
    assert_eq!(
        hex::encode(&sp.trace_id),
        "a389023abaa839283293ed323892389d"
    );
    assert_eq!(sp.parent_span_id, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(sp.end_time_unix_nano, 2_000_000_000);
    assert_eq!(get(&sp.attributes, "from_cache"), Some(&s("v")));
    assert_eq!(
        get(&sp.attributes, "root"),
        Some(&b(false)),
        "parent_span_id was set just before"
    );
    assert_eq!(get(&res.attributes, "r"), Some(&i(1)));
    assert_eq!(sc.version, "2.0");
}

#[test]
fn spanevent_paths() {
    let p = Parser::<SpanEventContext>::new(crate::functions::standard());
    let (mut sp, mut sc, mut res) = (span(), scope(), resource());
    let mut data = SpanEventData::new(&mut sp, 0, &mut sc, &mut res);
    let get_v = |data: &SpanEventData<'_>, e: &str| {
        p.parse_value_expression(e).unwrap().eval(data).unwrap()
    };
    assert_eq!(get_v(&data, "name"), Value::Str("exception".into()));
    assert_eq!(
        get_v(&data, "spanevent.name"),
        Value::Str("exception".into())
    );
    assert_eq!(get_v(&data, "span.name"), Value::Str("GET /users".into()));
    assert_eq!(get_v(&data, "time"), Value::utc_time(2_000_000_000));
    assert_eq!(
        get_v(&data, "attributes[\"exception.type\"]"),
        Value::Str("E".into())
    );
    assert_eq!(
        get_v(&data, "span.attributes[\"http.method\"]"),
        Value::Str("GET".into())
    );
    assert_eq!(get_v(&data, "event_index"), Value::Int(0));
    assert_eq!(
        get_v(&data, "resource.attributes[\"service.name\"]"),
        Value::Str("checkout".into())
    );
    for st in [
        r#"set(attributes["span"], span.name)"#,
        r#"set(span.attributes["had_exception"], true) where name == "exception""#,
    ] {
        p.parse_statement(st).unwrap().execute(&mut data).unwrap();
    }
    drop(data);
    assert_eq!(
        get(&sp.events[0].attributes, "span"),
        Some(&s("GET /users"))
    );
    assert_eq!(get(&sp.attributes, "had_exception"), Some(&b(true)));
}

fn sum_metric() -> Metric {
    Metric {
        name: "requests".into(),
        unit: "1".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                attributes: vec![kv("code", s("200"))],
                time_unix_nano: 5,
                value: Some(number_data_point::Value::AsInt(7)),
                ..Default::default()
            }],
            aggregation_temporality: 1,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

#[test]
fn metric_paths() {
    let p = Parser::<MetricContext>::new(crate::functions::standard());
    let (mut m, mut sc, mut res) = (sum_metric(), scope(), resource());
    let mut data = MetricData::new(&mut m, &mut sc, &mut res);
    for (cond, want) in [
        ("type == METRIC_DATA_TYPE_SUM", true),
        (
            "aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA",
            true,
        ),
        ("is_monotonic == true", true),
        ("metric.name == \"requests\"", true),
        ("unit == \"1\"", true),
        (
            "resource.attributes[\"service.name\"] == \"checkout\"",
            true,
        ),
    ] {
        assert_eq!(
            p.parse_condition(cond).unwrap().eval(&data).unwrap(),
            want,
            "{cond}"
        );
    }
    for st in [
        r#"set(description, "Total requests")"#,
        r#"set(aggregation_temporality, AGGREGATION_TEMPORALITY_CUMULATIVE)"#,
        r#"set(name, "http.requests") where name == "requests""#,
    ] {
        p.parse_statement(st).unwrap().execute(&mut data).unwrap();
    }
    drop(data);
    assert_eq!(m.description, "Total requests");
    assert_eq!(m.name, "http.requests");
    assert!(matches!(&m.data, Some(Data::Sum(s)) if s.aggregation_temporality == 2));
}

#[test]
fn datapoint_paths() {
    let p = Parser::<DataPointContext>::new(crate::functions::standard());
    let (mut m, mut sc, mut res) = (sum_metric(), scope(), resource());
    let mut data = DataPointData::new(&mut m, 0, &mut sc, &mut res);
    let v = |data: &DataPointData<'_>, e: &str| {
        p.parse_value_expression(e).unwrap().eval(data).unwrap()
    };
    assert_eq!(v(&data, "value_int"), Value::Int(7));
    assert_eq!(v(&data, "value_double"), Value::Float(0.0));
    assert_eq!(v(&data, "attributes[\"code\"]"), Value::Str("200".into()));
    assert_eq!(v(&data, "metric.name"), Value::Str("requests".into()));
    assert_eq!(v(&data, "metric.type"), Value::Int(2));
    assert_eq!(v(&data, "time_unix_nano"), Value::Int(5));
    assert_eq!(v(&data, "count"), Value::Nil, "a number point has no count");
    for st in [
        r#"set(value_double, 1.5)"#,
        r#"set(attributes["code_class"], "2xx") where IsMatch(attributes["code"], "^2")"#,
        r#"set(metric.unit, "{request}")"#,
    ] {
        p.parse_statement(st).unwrap().execute(&mut data).unwrap();
    }
    drop(data);
    let Some(Data::Sum(sum)) = &m.data else {
        panic!()
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsDouble(1.5))
    );
    assert_eq!(
        get(&sum.data_points[0].attributes, "code_class"),
        Some(&s("2xx"))
    );
    assert_eq!(m.unit, "{request}");

    let mut h = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                count: 3,
                sum: Some(4.5),
                bucket_counts: vec![1, 2],
                explicit_bounds: vec![1.0],
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let data = DataPointData::new(&mut h, 0, &mut sc, &mut res);
    assert_eq!(v(&data, "count"), Value::Int(3));
    assert_eq!(v(&data, "sum"), Value::Float(4.5));
    assert_eq!(v(&data, "bucket_counts"), Value::List(vec![i(1), i(2)]));
    assert_eq!(v(&data, "explicit_bounds"), Value::List(vec![f(1.0)]));
    assert_eq!(
        v(
            &data,
            "metric.type == METRIC_DATA_TYPE_HISTOGRAM"
                .split(' ')
                .next()
                .unwrap()
        ),
        Value::Int(3)
    );
}

#[test]
fn resource_and_scope_paths() {
    let p = Parser::<ResourceContext>::new(crate::functions::standard());
    let mut res = resource();
    let mut data = ResourceData::new(&mut res);
    for st in [
        r#"set(attributes["env"], "prod")"#,
        r#"set(resource.attributes["svc"], attributes["service.name"])"#,
        r#"set(dropped_attributes_count, 2)"#,
    ] {
        p.parse_statement(st).unwrap().execute(&mut data).unwrap();
    }
    drop(data);
    assert_eq!(get(&res.attributes, "env"), Some(&s("prod")));
    assert_eq!(get(&res.attributes, "svc"), Some(&s("checkout")));
    assert_eq!(res.dropped_attributes_count, 2);
    assert!(p.parse_statement(r#"set(name, "x")"#).is_err());

    let p = Parser::<ScopeContext>::new(crate::functions::standard());
    let (mut sc, mut res) = (scope(), resource());
    let mut data = ScopeData::new(&mut sc, &mut res);
    for st in [
        r#"set(name, Concat([name, version], "@"))"#,
        r#"set(attributes["svc"], resource.attributes["service.name"])"#,
        r#"set(scope.version, "2")"#,
    ] {
        p.parse_statement(st).unwrap().execute(&mut data).unwrap();
    }
    drop(data);
    assert_eq!(sc.name, "lib@1.0");
    assert_eq!(sc.version, "2");
    assert_eq!(get(&sc.attributes, "svc"), Some(&s("checkout")));
}

#[test]
fn log_paths() {
    let mut rec = record();
    rec.trace_id = (1..=16).collect();
    rec.body = Some(map(vec![
        kv("msg", s("hi")),
        kv("items", list(vec![s("a")])),
    ]));
    run(
        &mut rec,
        &[
            r#"set(attributes["msg"], body["msg"])"#,
            r#"set(attributes["first"], body["items"][0])"#,
            r#"set(attributes["body_string"], body.string)"#,
            r#"set(attributes["tid"], trace_id.string)"#,
            r#"set(attributes["t"], UnixSeconds(time))"#,
            r#"set(body["added"], 1)"#,
            r#"set(observed_time, time)"#,
            r#"set(severity_text, "warn") where severity_number < SEVERITY_NUMBER_WARN"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "msg"), Some(&s("hi")));
    assert_eq!(get(&rec.attributes, "first"), Some(&s("a")));
    assert_eq!(
        get(&rec.attributes, "body_string"),
        Some(&s(r#"{"items":["a"],"msg":"hi"}"#))
    );
    assert_eq!(
        get(&rec.attributes, "tid"),
        Some(&s("0102030405060708090a0b0c0d0e0f10"))
    );
    assert_eq!(get(&rec.attributes, "t"), Some(&i(1_700_000_000)));
    assert_eq!(rec.observed_time_unix_nano, rec.time_unix_nano);
    assert_eq!(rec.severity_text, "warn");
    let Some(AnyValue {
        value: Some(any_value::Value::KvlistValue(body)),
    }) = &rec.body
    else {
        panic!()
    };
    assert_eq!(get(&body.values, "added"), Some(&i(1)));

    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(body.string, "new")"#,
            r#"set(attributes["is"], IsString(body))"#,
        ],
    )
    .unwrap();
    assert_eq!(rec.body, Some(s("new")));
}

#[test]
fn errors_leave_other_items_alone() {
    // one statement failing on an item is an error for that item only
    let p = log_parser();
    let st = p
        .parse_statement(r#"set(attributes["n"], Substring(body, 0, 5))"#)
        .unwrap();
    let mut short = record();
    short.body = Some(s("abc"));
    let mut long = record();
    let (mut sc, mut res) = (InstrumentationScope::default(), Resource::default());
    assert!(
        st.execute(&mut LogData::new(&mut short, &mut sc, &mut res))
            .is_err()
    );
    assert!(
        st.execute(&mut LogData::new(&mut long, &mut sc, &mut res))
            .is_ok()
    );
    assert_eq!(get(&long.attributes, "n"), Some(&s("opera")));
    assert!(get(&short.attributes, "n").is_none());
}

#[test]
fn filter_datapoint_attribute_converters() {
    let mut f = crate::functions::standard_converters::<MetricContext>();
    crate::functions::metrics::register_filter_metric(&mut f);
    let p = Parser::<MetricContext>::new(f);
    let (mut m, mut sc, mut res) = (sum_metric(), scope(), resource());
    m.data = Some(Data::Sum(Sum {
        data_points: vec![NumberDataPoint {
            attributes: vec![kv("code", s("200")), kv("n", i(1))],
            ..Default::default()
        }],
        ..Default::default()
    }));
    let data = MetricData::new(&mut m, &mut sc, &mut res);
    for (cond, want) in [
        (r#"HasAttrKeyOnDatapoint("code")"#, true),
        (r#"HasAttrKeyOnDatapoint("nope")"#, false),
        (r#"HasAttrOnDatapoint("code", "200")"#, true),
        (r#"HasAttrOnDatapoint("code", "500")"#, false),
        (r#"HasAttrOnDatapoint("n", "")"#, true),
    ] {
        assert_eq!(
            p.parse_condition(cond).unwrap().eval(&data).unwrap(),
            want,
            "{cond}"
        );
    }
    // no editors among the converters
    assert!(p.parse_condition(r#"set(name, "x")"#).is_err());
}

#[test]
fn span_struct_and_slice_paths_read_and_set_as_go() {
    use crate::contexts::SchemaUrls;
    use crate::value::Pdata;
    use pdata::proto::trace::v1::span::Link;
    let p = Parser::<SpanContext>::new(crate::functions::standard());
    let (mut sp, mut sc, mut res) = (span(), scope(), resource());
    sp.links = vec![Link {
        trace_id: vec![7; 16],
        span_id: vec![7; 8],
        ..Default::default()
    }];
    let (mut res_url, mut sc_url) = ("https://r/1".to_string(), "https://s/1".to_string());
    let mut data = SpanData::new(&mut sp, &mut sc, &mut res)
        .with_schema_urls(SchemaUrls::new(&mut res_url, Some(&mut sc_url)));
    let get = |d: &SpanData<'_>, e: &str| {
        p.parse_value_expression(e)
            .unwrap_or_else(|e| panic!("{e}"))
            .eval(d)
            .unwrap()
    };
    // (path, Go type name, Len)
    for (path, ty, len) in [
        ("events", "ptrace.SpanEventSlice", Some(1)),
        ("span.events", "ptrace.SpanEventSlice", Some(1)),
        ("links", "ptrace.SpanLinkSlice", Some(1)),
        ("status", "ptrace.Status", None),
        ("resource", "pcommon.Resource", None),
        (
            "instrumentation_scope",
            "pcommon.InstrumentationScope",
            None,
        ),
    ] {
        let v = get(&data, path);
        assert_eq!(v.type_name(), ty, "{path}");
        if let Some(n) = len {
            assert_eq!(get(&data, &format!("Len({path})")), Value::Int(n), "{path}");
        }
    }
    assert_eq!(
        get(&data, "status"),
        Value::Pdata(Box::new(Pdata::Status(Status {
            message: "boom".into(),
            code: 2
        })))
    );
    assert_eq!(
        get(&data, "resource.schema_url"),
        Value::Str("https://r/1".into())
    );
    assert_eq!(
        get(&data, "instrumentation_scope.schema_url"),
        Value::Str("https://s/1".into())
    );
    assert_eq!(
        get(&data, "scope.schema_url"),
        Value::Str("https://s/1".into())
    );
    assert!(
        p.parse_condition("events == events")
            .unwrap()
            .eval(&data)
            .unwrap()
    );
    assert!(
        !p.parse_condition("events == links")
            .unwrap()
            .eval(&data)
            .unwrap()
    );
    for st in [
        r#"set(resource.schema_url, "https://r/2")"#,
        r#"set(instrumentation_scope.schema_url, "https://s/2")"#,
        // a non-string is ignored, as Go's setter does
        r#"set(resource.schema_url, 3)"#,
        r#"set(cache["saved"], "x")"#,
        r#"set(links, events)"#,
        r#"set(events, links)"#,
    ] {
        p.parse_statement(st)
            .unwrap_or_else(|e| panic!("{e}"))
            .execute(&mut data)
            .unwrap();
    }
    drop(data);
    assert_eq!(res_url, "https://r/2");
    assert_eq!(sc_url, "https://s/2");
    // a value of the wrong pdata type is not written
    assert_eq!(sp.events.len(), 1);
    assert_eq!(sp.links.len(), 1);

    // copying the whole status, resource and scope from another item
    let (mut other, mut sc2, mut res2) = (
        Span::default(),
        InstrumentationScope::default(),
        Resource::default(),
    );
    let src = SpanData::new(&mut sp, &mut sc, &mut res);
    let status = get(&src, "status");
    let events = get(&src, "events");
    let resource_v = get(&src, "resource");
    let scope_v = get(&src, "instrumentation_scope");
    drop(src);
    let mut dst = SpanData::new(&mut other, &mut sc2, &mut res2);
    for (path, v) in [
        ("status", status),
        ("events", events),
        ("resource", resource_v),
        ("instrumentation_scope", scope_v),
    ] {
        set_path::<SpanContext>(&mut dst, path, v);
    }
    drop(dst);
    assert_eq!(other.status.as_ref().map(|s| s.code), Some(2));
    assert_eq!(other.events.len(), 1);
    assert_eq!(other.events[0].name, "exception");
    assert_eq!(res2.attributes, resource().attributes);
    assert_eq!(sc2.name, "lib");
}

/// Sets a dotted path through the context's own setter (a pdata value cannot go through
/// `cache`, so tests hand it over directly).
fn set_path<C: crate::Context>(d: &mut C::Data<'_>, path: &str, v: Value) {
    let fields: Vec<crate::syntax::Field> = path
        .split('.')
        .map(|n| crate::syntax::Field {
            name: n.into(),
            keys: vec![],
        })
        .collect();
    let (p, _) = C::parse_path(&fields).unwrap();
    C::set(d, &p, v).unwrap();
}

#[test]
fn datapoint_exemplars_and_quantile_values() {
    use crate::value::Pdata;
    use pdata::proto::metrics::v1::{
        Exemplar, Summary, SummaryDataPoint, summary_data_point::ValueAtQuantile,
    };
    let p = Parser::<DataPointContext>::new(crate::functions::standard());
    let q = |q: f64, v: f64| ValueAtQuantile {
        quantile: q,
        value: v,
    };
    let mut summary = Metric {
        name: "s".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                quantile_values: vec![q(0.5, 1.0), q(0.99, 9.0)],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    let mut gauge = Metric {
        name: "g".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![NumberDataPoint {
                exemplars: vec![Exemplar {
                    span_id: vec![1; 8],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })),
        ..Default::default()
    };
    let (mut sc, mut res) = (scope(), resource());
    let eval =
        |d: &DataPointData<'_>, e: &str| p.parse_value_expression(e).unwrap().eval(d).unwrap();
    let d = DataPointData::new(&mut summary, 0, &mut sc, &mut res);
    assert_eq!(eval(&d, "Len(quantile_values)"), Value::Int(2));
    assert_eq!(
        eval(&d, "quantile_values").type_name(),
        "pmetric.SummaryDataPointValueAtQuantileSlice"
    );
    // a summary has no exemplars
    assert_eq!(eval(&d, "exemplars"), Value::Nil);
    let quantiles = eval(&d, "quantile_values");
    drop(d);
    let d = DataPointData::new(&mut gauge, 0, &mut sc, &mut res);
    assert_eq!(eval(&d, "Len(exemplars)"), Value::Int(1));
    assert_eq!(eval(&d, "exemplars").type_name(), "pmetric.ExemplarSlice");
    assert_eq!(eval(&d, "quantile_values"), Value::Nil);
    let mut d = d;
    // exemplars from a value of another type are not written; an empty slice clears them
    set_path::<DataPointContext>(&mut d, "exemplars", quantiles);
    assert_eq!(eval(&d, "Len(exemplars)"), Value::Int(1));
    set_path::<DataPointContext>(
        &mut d,
        "exemplars",
        Value::Pdata(Box::new(Pdata::Exemplars(vec![]))),
    );
    assert_eq!(eval(&d, "Len(exemplars)"), Value::Int(0));
    assert!(p.parse_condition("IsEmpty(exemplars)").is_ok());
    assert!(p.parse_value_expression("exemplars[0]").is_err());
}

#[test]
fn schema_url_paths_in_every_context() {
    use crate::contexts::SchemaUrls;
    use crate::contexts::log::{LogContext, LogData};
    use pdata::proto::logs::v1::LogRecord;
    let (mut res, mut sc) = (resource(), scope());
    let (mut ru, mut su) = ("r0".to_string(), "s0".to_string());
    {
        let p = Parser::<ResourceContext>::new(crate::functions::standard());
        let mut d = ResourceData::new(&mut res).with_schema_urls(SchemaUrls::new(&mut ru, None));
        assert_eq!(
            p.parse_value_expression("schema_url")
                .unwrap()
                .eval(&d)
                .unwrap(),
            Value::Str("r0".into())
        );
        p.parse_statement(r#"set(resource.schema_url, "r1")"#)
            .unwrap()
            .execute(&mut d)
            .unwrap();
    }
    assert_eq!(ru, "r1");
    {
        let p = Parser::<ScopeContext>::new(crate::functions::standard());
        let mut d = ScopeData::new(&mut sc, &mut res)
            .with_schema_urls(SchemaUrls::new(&mut ru, Some(&mut su)));
        assert_eq!(
            p.parse_value_expression("schema_url")
                .unwrap()
                .eval(&d)
                .unwrap(),
            Value::Str("s0".into())
        );
        p.parse_statement(r#"set(schema_url, Concat([resource.schema_url, "s1"], "+"))"#)
            .unwrap()
            .execute(&mut d)
            .unwrap();
    }
    assert_eq!(su, "r1+s1");
    {
        let p = Parser::<LogContext>::new(crate::functions::standard());
        let mut rec = LogRecord::default();
        let mut d = LogData::new(&mut rec, &mut sc, &mut res)
            .with_schema_urls(SchemaUrls::new(&mut ru, Some(&mut su)));
        p.parse_statement(r#"set(attributes["u"], instrumentation_scope.schema_url)"#)
            .unwrap()
            .execute(&mut d)
            .unwrap();
        p.parse_statement(r#"set(resource.schema_url, "r2")"#)
            .unwrap()
            .execute(&mut d)
            .unwrap();
        drop(d);
        assert_eq!(get(&rec.attributes, "u"), Some(&s("r1+s1")));
    }
    assert_eq!(ru, "r2");
    // without borrowed URLs (a component that did not hand them over): "" and no write
    let p = Parser::<ScopeContext>::new(crate::functions::standard());
    let mut d = ScopeData::new(&mut sc, &mut res);
    assert_eq!(
        p.parse_value_expression("resource.schema_url")
            .unwrap()
            .eval(&d)
            .unwrap(),
        Value::Str(String::new())
    );
    p.parse_statement(r#"set(schema_url, "x")"#)
        .unwrap()
        .execute(&mut d)
        .unwrap();
    assert!(p.parse_value_expression("schema_url.x").is_err());
}
