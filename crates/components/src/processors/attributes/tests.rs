use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::metrics::v1::metric::Data;
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use pdata::{Batch, Request, Signal};

use super::Factory;
use crate::attraction::value;
use crate::processors::testing::{create, parse};

fn str_value(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(str_value(v)),
        ..Default::default()
    }
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    value::get(attrs, key).and_then(value::as_str)
}

/// Logs of two resources (pods `web` and `api`), each with records `body` and severity.
fn pod_logs() -> Batch {
    let resource = |pod: &str, records: Vec<LogRecord>| ResourceLogs {
        resource: Some(Resource {
            attributes: vec![kv("pod", pod)],
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs {
            scope: Some(InstrumentationScope::default()),
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    };
    let record = |body: &str, sev: i32, attrs: Vec<KeyValue>| LogRecord {
        body: Some(str_value(body)),
        severity_number: sev,
        attributes: attrs,
        ..Default::default()
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![
            resource(
                "web",
                vec![
                    record("GET / 200", 9, vec![]),
                    record("boom", 17, vec![kv("loki.attribute.labels", "mine")]),
                ],
            ),
            resource("api", vec![record("ok", 9, vec![])]),
        ],
    };
    Batch::from_request(Request::Logs(req))
}

fn records(req: &Request) -> Vec<&LogRecord> {
    let Request::Logs(l) = req else {
        panic!("logs expected")
    };
    l.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .collect()
}

#[tokio::test]
async fn seed_config_inserts_loki_attribute_labels_on_every_record() {
    // seed-agent-filelog-multiformat.yaml
    let yaml = "actions:\n  - action: insert\n    key: loki.attribute.labels\n    value: level, context, traceID\n";
    let (p, sink, tel) = create(&Factory, yaml, Signal::Logs).unwrap();
    // Received encoded, as from the OTLP receiver: the processor decodes it.
    let encoded = Batch::from_encoded(Signal::Logs, pod_logs().encoded()).unwrap();
    p.consume(encoded).await.unwrap();
    let got = sink.requests();
    let labels: Vec<Option<&str>> = records(&got[0])
        .iter()
        .map(|r| get(&r.attributes, "loki.attribute.labels"))
        .collect();
    // insert leaves an existing value alone.
    assert_eq!(
        labels,
        [
            Some("level, context, traceID"),
            Some("mine"),
            Some("level, context, traceID")
        ]
    );
    let labels = [("otel_signal", "logs"), ("processor", "attributes")];
    assert_eq!(
        tel.value("otelcol_processor_incoming_items", &labels),
        Some(3.0)
    );
    assert_eq!(
        tel.value("otelcol_processor_outgoing_items", &labels),
        Some(3.0)
    );
}

#[tokio::test]
async fn clones_taken_before_processing_keep_the_old_attributes() {
    let (p, sink, _) = create(
        &Factory,
        "actions: [{key: added, value: x, action: upsert}]",
        Signal::Logs,
    )
    .unwrap();
    let batch = pod_logs();
    let other_pipeline = batch.clone();
    p.consume(batch).await.unwrap();
    let untouched = other_pipeline.into_request().unwrap();
    assert!(
        records(&untouched)
            .iter()
            .all(|r| get(&r.attributes, "added").is_none())
    );
    assert!(
        records(&sink.requests()[0])
            .iter()
            .all(|r| get(&r.attributes, "added") == Some("x"))
    );
}

#[tokio::test]
async fn log_include_and_exclude_choose_the_records() {
    let cases = [
        // include by resource, severity number, body
        (
            "include: {match_type: strict, resources: [{key: pod, value: web}]}",
            [true, true, false],
        ),
        (
            "include: {log_severity_number: {min: 13}}",
            [false, true, false],
        ),
        (
            "include: {match_type: regexp, log_bodies: ['^GET ']}",
            [true, false, false],
        ),
        (
            "exclude: {match_type: regexp, log_bodies: ['^GET ']}",
            [false, true, true],
        ),
        (
            "include: {match_type: strict, resources: [{key: pod, value: web}]}\nexclude: {match_type: strict, log_bodies: [boom]}",
            [true, false, false],
        ),
    ];
    for (blocks, want) in cases {
        let yaml = format!("{blocks}\nactions: [{{key: hit, value: 'y', action: insert}}]");
        let (p, sink, _) = create(&Factory, &yaml, Signal::Logs).unwrap();
        p.consume(pod_logs()).await.unwrap();
        let got: Vec<bool> = records(&sink.requests()[0])
            .iter()
            .map(|r| get(&r.attributes, "hit").is_some())
            .collect();
        assert_eq!(got, want, "{blocks}");
    }
}

fn service_spans() -> Batch {
    let resource = |service: &str, names: &[&str]| ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans: names
                .iter()
                .map(|n| Span {
                    name: n.to_string(),
                    kind: 2,
                    attributes: vec![kv("user.email", "a@b.c")],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    Batch::from_request(Request::Traces(ExportTraceServiceRequest {
        resource_spans: vec![
            resource("checkout", &["GET /cart", "POST /pay"]),
            resource("search", &["GET /q"]),
        ],
    }))
}

#[tokio::test]
async fn span_include_hashes_only_matching_spans() {
    let yaml = "include:\n  match_type: regexp\n  services: ['^check']\n  span_names: ['^GET']\nactions:\n  - {key: user.email, action: hash}\n";
    let (p, sink, _) = create(&Factory, yaml, Signal::Traces).unwrap();
    p.consume(service_spans()).await.unwrap();
    let got = sink.requests();
    let Request::Traces(t) = &got[0] else {
        panic!()
    };
    let emails: Vec<&str> = t
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| get(&s.attributes, "user.email").unwrap())
        .collect();
    // printf 'a@b.c' | sha256sum
    assert_eq!(
        emails,
        [
            "d648b243a3e817eaa3309e00e183483f2867baadf522099f0c2121770536b25a",
            "a@b.c",
            "a@b.c"
        ]
    );
}

#[tokio::test]
async fn metric_actions_reach_every_data_point_type() {
    let req = pdata::testdata::metrics(1, 12, 11);
    let (p, sink, _) = create(
        &Factory,
        "actions: [{key: dp, value: 1, action: upsert}]",
        Signal::Metrics,
    )
    .unwrap();
    p.consume(Batch::from_request(Request::Metrics(req)))
        .await
        .unwrap();
    let got = sink.requests();
    let Request::Metrics(m) = &got[0] else {
        panic!()
    };
    let mut kinds = std::collections::HashSet::new();
    let mut points = 0;
    for metric in m
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        let attrs: Vec<&Vec<KeyValue>> = match metric.data.as_ref().unwrap() {
            Data::Gauge(g) => g.data_points.iter().map(|d| &d.attributes).collect(),
            Data::Sum(s) => s.data_points.iter().map(|d| &d.attributes).collect(),
            Data::Histogram(h) => h.data_points.iter().map(|d| &d.attributes).collect(),
            Data::ExponentialHistogram(h) => h.data_points.iter().map(|d| &d.attributes).collect(),
            Data::Summary(s) => s.data_points.iter().map(|d| &d.attributes).collect(),
        };
        kinds.insert(std::mem::discriminant(metric.data.as_ref().unwrap()));
        for a in attrs {
            points += 1;
            assert_eq!(
                value::get(a, "dp").and_then(|v| v.value.clone()),
                Some(Value::IntValue(1)),
                "{}",
                metric.name
            );
        }
    }
    assert_eq!(kinds.len(), 5, "all five metric types were exercised");
    assert!(points > 0);
}

#[tokio::test]
async fn metric_include_matches_metric_names() {
    let req = pdata::testdata::metrics(1, 12, 11);
    let first = req.resource_metrics[0].scope_metrics[0].metrics[0]
        .name
        .clone();
    let yaml = format!(
        "include: {{match_type: strict, metric_names: [{first:?}]}}\nactions: [{{key: dp, value: 1, action: upsert}}]"
    );
    let (p, sink, _) = create(&Factory, &yaml, Signal::Metrics).unwrap();
    p.consume(Batch::from_request(Request::Metrics(req)))
        .await
        .unwrap();
    let got = sink.requests();
    let Request::Metrics(m) = &got[0] else {
        panic!()
    };
    for metric in m
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        let attrs = match metric.data.as_ref().unwrap() {
            Data::Gauge(g) => &g.data_points[0].attributes,
            Data::Sum(s) => &s.data_points[0].attributes,
            Data::Histogram(h) => &h.data_points[0].attributes,
            Data::ExponentialHistogram(h) => &h.data_points[0].attributes,
            Data::Summary(s) => &s.data_points[0].attributes,
        };
        assert_eq!(
            value::get(attrs, "dp").is_some(),
            metric.name == first,
            "{}",
            metric.name
        );
    }
}

#[test]
fn config_errors_name_the_processor() {
    let err = |yaml: &str| parse(&Factory, "processors::attributes", yaml).unwrap_err();
    assert_eq!(
        err("{}"),
        r#"processors::attributes: missing required field "actions""#
    );
    assert_eq!(
        err("actions: [{key: a, action: insert}]"),
        r#"processors::attributes: error creating AttrProc. Either field "value", "from_attribute" or "from_context" setting must be specified for 0-th action"#
    );
    assert!(
        err("actions: [{key: a, value: 1, action: insert}]\nbogus: 1").contains("bogus"),
        "unknown keys are refused"
    );
}

#[test]
fn include_blocks_are_validated_for_the_pipeline_signal() {
    let yaml = "include: {match_type: strict, log_bodies: [x]}\nactions: [{key: a, value: 1, action: insert}]";
    // Fine for logs and metrics (metrics read only metric_names) ...
    assert!(create(&Factory, yaml, Signal::Logs).is_ok());
    assert!(create(&Factory, yaml, Signal::Metrics).is_ok());
    // ... refused for traces, with Go's text.
    let Err(e) = create(&Factory, yaml, Signal::Traces) else {
        panic!("accepted")
    };
    assert_eq!(e, "log_bodies should not be specified for trace spans");
}
