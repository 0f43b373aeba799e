use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::KeyValue;
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};

use super::Factory;
use crate::attraction::value;
use crate::processors::testing::{create, parse};

fn resources(req: &Request) -> Vec<Option<&Resource>> {
    match req {
        Request::Profiles(p) => p
            .resource_profiles
            .iter()
            .map(|r| r.resource.as_ref())
            .collect(),
        Request::Traces(t) => t
            .resource_spans
            .iter()
            .map(|r| r.resource.as_ref())
            .collect(),
        Request::Metrics(m) => m
            .resource_metrics
            .iter()
            .map(|r| r.resource.as_ref())
            .collect(),
        Request::Logs(l) => l
            .resource_logs
            .iter()
            .map(|r| r.resource.as_ref())
            .collect(),
    }
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    value::get(attrs, key).and_then(value::as_str)
}

/// seed-agent-filelog.yaml's resource processor.
const SEED_AGENT: &str = "attributes:
  - action: insert
    key: loki.format
    value: json
  - action: insert
    key: loki.resource.labels
    value: pod, namespace, container, cluster, filename
";

#[tokio::test]
async fn seed_config_inserts_loki_hints_on_every_resource_of_every_signal() {
    for signal in Signal::ALL {
        let (p, sink, tel) = create(&Factory, SEED_AGENT, signal).unwrap();
        let req = pdata::testdata::request(signal, 3, 4, 7);
        let items = req.item_count();
        p.consume(Batch::from_request(req)).await.unwrap();
        let got = sink.requests();
        let res = resources(&got[0]);
        assert_eq!(res.len(), 3);
        for r in res {
            let attrs = &r.expect("resource").attributes;
            assert_eq!(get(attrs, "loki.format"), Some("json"), "{signal}");
            assert_eq!(
                get(attrs, "loki.resource.labels"),
                Some("pod, namespace, container, cluster, filename"),
                "{signal}"
            );
        }
        let labels = [("otel_signal", signal.as_str()), ("processor", "resource")];
        assert_eq!(
            tel.value("otelcol_processor_outgoing_items", &labels),
            Some(items as f64)
        );
    }
}

fn logs(resources: Vec<Option<Resource>>) -> Batch {
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|resource| ResourceLogs {
                resource,
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord::default()],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }))
}

#[tokio::test]
async fn insert_keeps_existing_resource_values_and_fills_missing_resources() {
    let existing = Resource {
        attributes: vec![KeyValue {
            key: "loki.format".into(),
            value: Some(pdata::proto::common::v1::AnyValue {
                value: Some(pdata::proto::common::v1::any_value::Value::StringValue(
                    "logfmt".into(),
                )),
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let (p, sink, _) = create(&Factory, SEED_AGENT, Signal::Logs).unwrap();
    p.consume(logs(vec![Some(existing), None])).await.unwrap();
    let got = sink.requests();
    let res = resources(&got[0]);
    assert_eq!(
        get(&res[0].unwrap().attributes, "loki.format"),
        Some("logfmt")
    );
    // A resource absent on the wire gets one holding what the actions added.
    assert_eq!(
        get(&res[1].unwrap().attributes, "loki.format"),
        Some("json")
    );
}

#[tokio::test]
async fn a_missing_resource_stays_missing_when_nothing_is_added() {
    let (p, sink, _) = create(
        &Factory,
        "attributes: [{key: gone, action: delete}]",
        Signal::Logs,
    )
    .unwrap();
    p.consume(logs(vec![None])).await.unwrap();
    assert_eq!(resources(&sink.requests()[0]), vec![None]);
}

#[tokio::test]
async fn every_action_kind_applies_to_resource_attributes() {
    let yaml = r"attributes:
  - {key: k8s.pod.name, from_attribute: pod, action: upsert}
  - {key: pod, action: delete}
  - {key: host, action: hash}
  - {key: image, pattern: '^(?P<repo>[^:]+):(?P<tag>.+)$', action: extract}
  - {key: replicas, converted_type: int, action: convert}
";
    let resource = Resource {
        attributes: [
            ("pod", "web-1"),
            ("host", "foo"),
            ("image", "nginx:1.27"),
            ("replicas", "3"),
        ]
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.to_string(),
            value: Some(pdata::proto::common::v1::AnyValue {
                value: Some(pdata::proto::common::v1::any_value::Value::StringValue(
                    v.to_string(),
                )),
            }),
            ..Default::default()
        })
        .collect(),
        ..Default::default()
    };
    let (p, sink, _) = create(&Factory, yaml, Signal::Logs).unwrap();
    p.consume(logs(vec![Some(resource)])).await.unwrap();
    let got = sink.requests();
    let attrs = &resources(&got[0])[0].unwrap().attributes;
    let keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    // `pod` removed: the last entry (`k8s.pod.name`) took its place.
    assert_eq!(
        keys,
        ["k8s.pod.name", "host", "image", "replicas", "repo", "tag"]
    );
    assert_eq!(get(attrs, "k8s.pod.name"), Some("web-1"));
    // printf foo | sha256sum
    assert_eq!(
        get(attrs, "host"),
        Some("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")
    );
    assert_eq!(get(attrs, "repo"), Some("nginx"));
    assert_eq!(get(attrs, "tag"), Some("1.27"));
    assert_eq!(
        value::get(attrs, "replicas").and_then(|v| v.value.clone()),
        Some(pdata::proto::common::v1::any_value::Value::IntValue(3))
    );
}

#[test]
fn config_errors_name_the_processor() {
    let err = |yaml: &str| parse(&Factory, "processors::resource", yaml).unwrap_err();
    assert_eq!(
        err("{}"),
        r#"processors::resource: missing required field "attributes""#
    );
    assert_eq!(
        err("attributes: [{key: a, action: move, value: 1}]"),
        r#"processors::resource: error creating AttrProc due to unsupported action "move" at the 0-th actions"#
    );
    assert!(err("actions: [{key: a, value: 1, action: insert}]").contains("actions"));
}
