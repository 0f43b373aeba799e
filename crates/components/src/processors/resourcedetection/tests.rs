//! Component tests through the factory: Go's defaults and errors, override and merge order,
//! attribute switches, shared detection per id, fail-soft and fatal detection, the timeout,
//! and detectors against fake metadata servers on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pdata::proto::common::v1::KeyValue;
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use resourcedetection::fake::{FakeServer, Route, closed_port_url, ec2_routes};
use resourcedetection::{Env, METADATA_ENDPOINT_ENV};
use runtime::{Host, Processor};

use super::{Config, Factory};
use crate::attraction::value;
use crate::processors::testing::{Collect, create, parse};

fn factory(vars: &[(&str, &str)]) -> Factory {
    let mut all: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Nothing in these tests may reach a real metadata address.
    if !vars.iter().any(|(k, _)| *k == METADATA_ENDPOINT_ENV) {
        all.push((METADATA_ENDPOINT_ENV.into(), closed_port_url()));
    }
    Factory::with_env(Env::fixed(all))
}

fn resources(req: &Request) -> Vec<(Option<&Resource>, &str)> {
    match req {
        Request::Traces(t) => t
            .resource_spans
            .iter()
            .map(|r| (r.resource.as_ref(), r.schema_url.as_str()))
            .collect(),
        Request::Metrics(m) => m
            .resource_metrics
            .iter()
            .map(|r| (r.resource.as_ref(), r.schema_url.as_str()))
            .collect(),
        Request::Logs(l) => l
            .resource_logs
            .iter()
            .map(|r| (r.resource.as_ref(), r.schema_url.as_str()))
            .collect(),
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    value::get(attrs, key).and_then(value::as_str)
}

/// A request of `signal` whose every resource carries `host.name=original`.
fn request_with_host(signal: Signal) -> Request {
    let mut req = pdata::testdata::request(signal, 2, 3, 11);
    let set = |r: &mut Option<Resource>| {
        let res = r.get_or_insert_with(Resource::default);
        res.attributes.retain(|kv| kv.key != "host.name");
        res.attributes.push(KeyValue {
            key: "host.name".into(),
            value: Some(pdata::proto::common::v1::AnyValue {
                value: Some(pdata::proto::common::v1::any_value::Value::StringValue(
                    "original".into(),
                )),
            }),
            ..Default::default()
        });
    };
    match &mut req {
        Request::Traces(t) => t
            .resource_spans
            .iter_mut()
            .for_each(|r| set(&mut r.resource)),
        Request::Metrics(m) => m
            .resource_metrics
            .iter_mut()
            .for_each(|r| set(&mut r.resource)),
        Request::Logs(l) => l
            .resource_logs
            .iter_mut()
            .for_each(|r| set(&mut r.resource)),
        #[allow(unreachable_patterns)]
        _ => {}
    }
    req
}

async fn started(
    f: &Factory,
    yaml: &str,
    signal: Signal,
) -> Result<(Arc<dyn Processor>, Arc<Collect>), String> {
    let (p, sink, _tel) = create(f, yaml, signal)?;
    p.start(&Host::default()).await?;
    Ok((p, sink))
}

async fn through(p: &Arc<dyn Processor>, sink: &Collect, req: Request) -> Request {
    p.consume(Batch::from_request(req)).await.unwrap();
    sink.requests().pop().expect("one request")
}

#[test]
fn defaults_are_gos() {
    let cfg = Config::default();
    assert_eq!(cfg.detectors, vec!["env".to_string()]);
    assert!(cfg.override_existing);
    assert_eq!(cfg.timeout.0, Duration::from_secs(5));
    let parsed = parse(&Factory::default(), "processors::resource_detection", "{}").unwrap();
    assert_eq!(parsed.downcast_ref::<Config>().unwrap(), &cfg);
}

#[test]
fn answers_to_the_new_name_and_the_deprecated_alias() {
    let r = crate::registry();
    assert!(matches!(
        r.lookup_processor("resource_detection"),
        runtime::registry::Lookup::Found(_)
    ));
    match r.lookup_processor("resourcedetection") {
        runtime::registry::Lookup::Deprecated(f, msg) => {
            assert_eq!(f.type_name(), "resource_detection");
            assert_eq!(
                msg,
                "the resourcedetection processor type \"resourcedetection\" is deprecated, use \"resource_detection\" instead"
            );
        }
        _ => panic!("alias not registered"),
    }
}

#[test]
fn config_errors_read_as_gos() {
    let f = Factory::default();
    let p = "processors::resource_detection";
    assert_eq!(
        parse(&f, p, "detectors: [env, foo]").unwrap_err(),
        "processors::resource_detection::detectors: invalid detector key: foo"
    );
    let err = parse(&f, p, "detectors: [consul]").unwrap_err();
    assert!(
        err.contains("the \"consul\" detector is not built into ferrotel yet"),
        "{err}"
    );
    assert_eq!(
        parse(&f, p, "system:\n  hostname_sources: [os, bogus]").unwrap_err(),
        "processors::resource_detection::system: hostname_sources contains invalid value: \"bogus\""
    );
    let err = parse(
        &f,
        p,
        "system:\n  resource_attributes:\n    host.nam:\n      enabled: true",
    )
    .unwrap_err();
    assert!(err.ends_with("has invalid keys: host.nam"), "{err}");
    let err = parse(&f, p, "timeout: 0s").unwrap_err();
    assert!(err.contains("cannot both be 0"), "{err}");
    assert!(parse(&f, p, "detector: [env]").is_err());
    // Keys Go squashes in (client settings) and blocks of detectors not built are accepted.
    parse(
        &f,
        p,
        "detectors: [env]\ntimeout: 2s\noverride: false\nconsul:\n  address: x\nheaders: {a: b}\nrefresh_interval: 0s\nretry:\n  enabled: false",
    )
    .unwrap();
}

#[tokio::test]
async fn env_detector_overrides_existing_attributes_on_every_signal() {
    let f = factory(&[("OTEL_RESOURCE_ATTRIBUTES", "host.name=detected,team=core")]);
    for signal in Signal::ALL {
        let (p, sink) = started(&f, "detectors: [env]", signal).await.unwrap();
        let got = through(&p, &sink, request_with_host(signal)).await;
        for (r, _) in resources(&got) {
            let attrs = &r.unwrap().attributes;
            assert_eq!(get(attrs, "host.name"), Some("detected"), "{signal}");
            assert_eq!(get(attrs, "team"), Some("core"), "{signal}");
            assert_eq!(attrs.iter().filter(|kv| kv.key == "host.name").count(), 1);
        }
    }
}

#[tokio::test]
async fn override_false_keeps_existing_attributes_and_adds_new_ones() {
    let f = factory(&[("OTEL_RESOURCE_ATTRIBUTES", "host.name=detected,team=core")]);
    let (p, sink) = started(&f, "detectors: [env]\noverride: false", Signal::Traces)
        .await
        .unwrap();
    let got = through(&p, &sink, request_with_host(Signal::Traces)).await;
    for (r, _) in resources(&got) {
        let attrs = &r.unwrap().attributes;
        assert_eq!(get(attrs, "host.name"), Some("original"));
        assert_eq!(get(attrs, "team"), Some("core"));
    }
}

#[tokio::test]
async fn a_resource_without_attributes_gets_the_detected_ones() {
    let f = factory(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1")]);
    let (p, sink) = started(&f, "{}", Signal::Logs).await.unwrap();
    let mut req = pdata::testdata::request(Signal::Logs, 1, 1, 3);
    if let Request::Logs(l) = &mut req {
        l.resource_logs[0].resource = None;
    }
    let got = through(&p, &sink, req).await;
    let (r, _) = resources(&got)[0];
    assert_eq!(get(&r.unwrap().attributes, "a"), Some("1"));
}

#[tokio::test]
async fn ec2_through_the_factory_sets_gos_attributes_and_schema_url() {
    let srv = FakeServer::start(ec2_routes()).await;
    let f = factory(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &srv.url)]);
    let (p, sink) = started(&f, "detectors: [ec2]", Signal::Metrics)
        .await
        .unwrap();
    let mut req = request_with_host(Signal::Metrics);
    if let Request::Metrics(m) = &mut req {
        m.resource_metrics[0].schema_url = String::new();
        m.resource_metrics[1].schema_url = "https://opentelemetry.io/schemas/1.24.0".into();
    }
    let got = through(&p, &sink, req).await;
    let res = resources(&got);
    let attrs = &res[0].0.unwrap().attributes;
    for (k, v) in [
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_ec2"),
        ("cloud.region", "us-west-2"),
        ("cloud.account.id", "123456789012"),
        ("cloud.availability_zone", "us-west-2b"),
        ("host.id", "i-1234567890abcdef0"),
        ("host.image.id", "ami-5fb8c835"),
        ("host.type", "t2.micro"),
        ("host.name", "ip-10-158-112-84.us-west-2.compute.internal"),
    ] {
        assert_eq!(get(attrs, k), Some(v), "{k}");
    }
    assert_eq!(res[0].1, "https://opentelemetry.io/schemas/1.6.1");
    assert_eq!(res[1].1, "https://opentelemetry.io/schemas/1.24.0");
}

#[tokio::test]
async fn resource_attributes_switches_turn_attributes_off_and_on() {
    let srv = FakeServer::start(ec2_routes()).await;
    let f = factory(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let yaml = "detectors: [ec2]
ec2:
  resource_attributes:
    host.name:
      enabled: false
    cloud.account.id:
      enabled: false
";
    let (p, sink) = started(&f, yaml, Signal::Traces).await.unwrap();
    let mut req = pdata::testdata::request(Signal::Traces, 1, 1, 5);
    if let Request::Traces(t) = &mut req {
        t.resource_spans[0].resource = None;
    }
    let got = through(&p, &sink, req).await;
    let attrs = &resources(&got)[0].0.unwrap().attributes;
    assert_eq!(get(attrs, "host.name"), None);
    assert_eq!(get(attrs, "cloud.account.id"), None);
    assert_eq!(get(attrs, "host.id"), Some("i-1234567890abcdef0"));
}

#[tokio::test]
async fn first_detector_in_the_list_wins_a_key() {
    let srv = FakeServer::start(ec2_routes()).await;
    let f = factory(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("OTEL_RESOURCE_ATTRIBUTES", "cloud.region=from-env"),
    ]);
    let (p, sink) = started(&f, "detectors: [env, ec2]", Signal::Traces)
        .await
        .unwrap();
    let got = through(&p, &sink, pdata::testdata::request(Signal::Traces, 1, 1, 2)).await;
    let attrs = &resources(&got)[0].0.unwrap().attributes;
    assert_eq!(get(attrs, "cloud.region"), Some("from-env"));
    assert_eq!(get(attrs, "cloud.provider"), Some("aws"));
}

#[tokio::test]
async fn detection_outcomes_are_self_metrics() {
    let srv = FakeServer::start(ec2_routes()).await;
    let f = factory(&[
        (METADATA_ENDPOINT_ENV, &srv.url),
        ("OTEL_RESOURCE_ATTRIBUTES", "a=1"),
    ]);
    let (p, _sink, tel) = create(&f, "detectors: [env, ec2]", Signal::Traces).unwrap();
    p.start(&Host::default()).await.unwrap();
    for d in ["env", "ec2"] {
        assert_eq!(
            tel.value(
                "otelcol_resourcedetection_detector_results_total",
                &[("detector", d), ("outcome", "success")]
            ),
            Some(1.0),
            "{d}"
        );
    }
    assert_eq!(
        tel.value("otelcol_resourcedetection_attributes_detected", &[]),
        Some(10.0)
    );
    let text = tel.render();
    assert!(
        text.contains("otelcol_resourcedetection_detector_duration_seconds_count{detector=\"ec2\",outcome=\"success\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn pipelines_sharing_an_id_detect_once() {
    let srv = FakeServer::start(ec2_routes()).await;
    let f = factory(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let (a, _) = started(&f, "detectors: [ec2]", Signal::Traces)
        .await
        .unwrap();
    let (b, _) = started(&f, "detectors: [ec2]", Signal::Logs).await.unwrap();
    let docs = srv
        .requests()
        .iter()
        .filter(|r| r.path == "/latest/dynamic/instance-identity/document")
        .count();
    assert_eq!(docs, 1);
    drop((a, b));
}

#[tokio::test]
async fn every_cloud_detector_off_platform_fails_soft_and_starts() {
    let f = factory(&[]);
    let yaml = "detectors: [ec2, gcp, azure, aks, eks, ecs, lambda, heroku, docker, openshift]\ntimeout: 2s";
    let t = Instant::now();
    let (p, sink) = started(&f, yaml, Signal::Traces).await.unwrap();
    let req = pdata::testdata::request(Signal::Traces, 1, 1, 9);
    let before = resources(&req)[0].0.cloned();
    let got = through(&p, &sink, req).await;
    assert_eq!(resources(&got)[0].0.cloned(), before);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn a_failing_detector_keeps_the_processor_from_starting_after_the_timeout() {
    let f = factory(&[("OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign")]);
    let t = Instant::now();
    let err = started(&f, "detectors: [env]\ntimeout: 300ms", Signal::Traces)
        .await
        .err()
        .unwrap();
    assert_eq!(err, "invalid resource format: \"no-equals-sign\"");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_slow_metadata_server_fails_soft_within_the_timeout() {
    let srv = FakeServer::start_with_delay(
        vec![Route::get(
            "/metadata/instance/compute?api-version=2020-09-01&format=json",
            "{}",
        )],
        Duration::from_secs(30),
    )
    .await;
    let f = factory(&[(METADATA_ENDPOINT_ENV, &srv.url)]);
    let t = Instant::now();
    let (p, sink) = started(&f, "detectors: [azure]\ntimeout: 200ms", Signal::Traces)
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let req = pdata::testdata::request(Signal::Traces, 1, 1, 4);
    let before = resources(&req)[0].0.cloned();
    let got = through(&p, &sink, req).await;
    assert_eq!(resources(&got)[0].0.cloned(), before);
}

#[tokio::test]
async fn fail_on_missing_metadata_makes_an_absent_platform_fatal() {
    let f = factory(&[]);
    let err = started(
        &f,
        "detectors: [ec2]\ntimeout: 300ms\nfail_on_missing_metadata: true\nretry:\n  enabled: false",
        Signal::Traces,
    )
    .await
    .err()
    .unwrap();
    assert!(err.starts_with("EC2 metadata unavailable"), "{err}");
}

#[tokio::test]
async fn deprecated_attributes_list_keeps_only_the_named_keys() {
    let f = factory(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,b=2,c=3")]);
    let (p, sink) = started(&f, "attributes: [a, c]", Signal::Traces)
        .await
        .unwrap();
    let mut req = pdata::testdata::request(Signal::Traces, 1, 1, 1);
    if let Request::Traces(t) = &mut req {
        t.resource_spans[0].resource = None;
    }
    let got = through(&p, &sink, req).await;
    let attrs = &resources(&got)[0].0.unwrap().attributes;
    let keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, vec!["a", "c"]);
}

#[tokio::test]
async fn system_detector_through_yaml_switches() {
    let f = factory(&[]);
    let yaml = "detectors: [system]
system:
  hostname_sources: [os]
  resource_attributes:
    os.type:
      enabled: false
    host.arch:
      enabled: true
";
    let (p, sink) = started(&f, yaml, Signal::Traces).await.unwrap();
    let mut req = pdata::testdata::request(Signal::Traces, 1, 1, 1);
    if let Request::Traces(t) = &mut req {
        t.resource_spans[0].resource = None;
    }
    let got = through(&p, &sink, req).await;
    let attrs = &resources(&got)[0].0.unwrap().attributes;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(get(attrs, "host.name"), Some(host.trim()));
    assert_eq!(get(attrs, "os.type"), None);
    assert!(get(attrs, "host.arch").is_some());
}
