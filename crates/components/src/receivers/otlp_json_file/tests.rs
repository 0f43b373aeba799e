//! The receiver through its factory: files of OTLP/JSON lines (as the `file` exporter
//! writes them) in a temporary directory, a collecting consumer per signal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::config::{ComponentId, Value};
use async_trait::async_trait;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::{Batch, Request, Signal};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Receiver, Telemetry};

use super::Factory;

#[derive(Default)]
struct Sink(Mutex<Vec<Request>>);

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.lock().unwrap().push(batch.into_request().unwrap());
        Ok(())
    }
}

impl Sink {
    fn take(&self) -> Vec<Request> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Running {
    receiver: Arc<dyn Receiver>,
    sinks: [Arc<Sink>; 3],
    telemetry: Telemetry,
}

fn parse(yaml: &str) -> Result<runtime::AnyConfig, String> {
    let v = Value::from_yaml_str(yaml).unwrap();
    Factory
        .parse_config(&v, "receivers::otlp_json_file")
        .map_err(|e| e.to_string())
}

async fn start(yaml: &str) -> Running {
    let cfg = parse(yaml).unwrap();
    let sinks = [
        Arc::new(Sink::default()),
        Arc::new(Sink::default()),
        Arc::new(Sink::default()),
    ];
    let outputs = ReceiverOutputs {
        traces: Some(sinks[0].clone()),
        metrics: Some(sinks[1].clone()),
        logs: Some(sinks[2].clone()),
        profiles: None,
    };
    let telemetry = Telemetry::default();
    let set = Settings {
        id: ComponentId::new("otlp_json_file"),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let receiver = Factory.create(set, &cfg, outputs).unwrap();
    receiver.start(&Host::default()).await.unwrap();
    Running {
        receiver,
        sinks,
        telemetry,
    }
}

/// Waits until `sink` holds `n` requests (or 5 s pass) and takes them.
async fn wait_for(sink: &Sink, n: usize) -> Vec<Request> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.0.lock().unwrap().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sink.take()
}

fn file_name_attr(name: &str) -> KeyValue {
    KeyValue {
        key: "log.file.name".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(name.into())),
        }),
        ..Default::default()
    }
}

/// The request as the receiver should deliver it: the file name added to every record.
fn with_file_name(mut req: Request, name: &str) -> Request {
    let kv = file_name_attr(name);
    match &mut req {
        Request::Profiles(_) => unreachable!("the receiver reads no profiles"),
        Request::Traces(t) => t
            .resource_spans
            .iter_mut()
            .flat_map(|r| r.scope_spans.iter_mut())
            .flat_map(|s| s.spans.iter_mut())
            .for_each(|s| s.attributes.push(kv.clone())),
        Request::Metrics(m) => m
            .resource_metrics
            .iter_mut()
            .flat_map(|r| r.scope_metrics.iter_mut())
            .flat_map(|s| s.metrics.iter_mut())
            .for_each(|m| m.metadata.push(kv.clone())),
        Request::Logs(l) => l
            .resource_logs
            .iter_mut()
            .flat_map(|r| r.scope_logs.iter_mut())
            .flat_map(|s| s.log_records.iter_mut())
            .for_each(|r| r.attributes.push(kv.clone())),
    }
    req
}

fn line(req: &Request) -> String {
    String::from_utf8(pdata::json::encode(req)).unwrap() + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_file_reads_each_signal_with_the_file_name_added() {
    let dir = tempfile::tempdir().unwrap();
    let traces = pdata::testdata::request(Signal::Traces, 2, 2, 1);
    let metrics = pdata::testdata::request(Signal::Metrics, 1, 3, 2);
    let logs = pdata::testdata::request(Signal::Logs, 2, 1, 3);
    let text = [line(&traces), line(&metrics), line(&logs), line(&traces)].concat();
    std::fs::write(dir.path().join("data.json"), text).unwrap();
    let r = start(&format!(
        "include: ['{}/*.json']\nstart_at: beginning\npoll_interval: 20ms",
        dir.path().display()
    ))
    .await;
    let got = wait_for(&r.sinks[0], 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], with_file_name(traces.clone(), "data.json"));
    assert_eq!(
        wait_for(&r.sinks[1], 1).await,
        vec![with_file_name(metrics, "data.json")]
    );
    assert_eq!(
        wait_for(&r.sinks[2], 1).await,
        vec![with_file_name(logs.clone(), "data.json")]
    );
    r.receiver.shutdown().await.unwrap();
    let labels = [("receiver", "otlp_json_file"), ("transport", "file")];
    assert_eq!(
        r.telemetry
            .value("otelcol_receiver_accepted_spans", &labels),
        Some((2 * traces.item_count()) as f64)
    );
    assert_eq!(
        r.telemetry
            .value("otelcol_receiver_accepted_log_records", &labels),
        Some(logs.item_count() as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_file_skips_a_malformed_line_and_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let a = pdata::testdata::request(Signal::Logs, 1, 1, 1);
    let b = pdata::testdata::request(Signal::Logs, 1, 2, 2);
    let text = [
        line(&a),
        "{\"resourceLogs\": [ {\"resource\": \n".to_string(),
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"x\"}]}]}]}\n"
            .to_string(),
        line(&b),
    ]
    .concat();
    std::fs::write(dir.path().join("x.json"), text).unwrap();
    let r = start(&format!(
        "include: ['{}/*.json']\nstart_at: beginning\npoll_interval: 20ms\ninclude_file_name: false",
        dir.path().display()
    ))
    .await;
    let got = wait_for(&r.sinks[2], 2).await;
    assert_eq!(got, vec![a, b]);
    r.receiver.shutdown().await.unwrap();
    assert!(r.sinks[0].take().is_empty());
    assert!(r.sinks[1].take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_file_starts_at_the_end_by_default_and_reads_appended_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    let old = pdata::testdata::request(Signal::Logs, 1, 1, 1);
    let new = pdata::testdata::request(Signal::Logs, 1, 1, 2);
    std::fs::write(&path, line(&old)).unwrap();
    let r = start(&format!(
        "include: ['{}/*.json']\npoll_interval: 20ms\ninclude_file_name: false",
        dir.path().display()
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(line(&new).as_bytes()).unwrap();
    }
    let got = wait_for(&r.sinks[2], 1).await;
    r.receiver.shutdown().await.unwrap();
    assert_eq!(got, vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_file_replay_file_reads_the_file_again_at_each_poll() {
    let dir = tempfile::tempdir().unwrap();
    let req = pdata::testdata::request(Signal::Traces, 1, 1, 1);
    std::fs::write(dir.path().join("t.json"), line(&req)).unwrap();
    let r = start(&format!(
        "include: ['{}/*.json']\nstart_at: beginning\npoll_interval: 20ms\nreplay_file: true\ninclude_file_name: false",
        dir.path().display()
    ))
    .await;
    let got = wait_for(&r.sinks[0], 3).await;
    r.receiver.shutdown().await.unwrap();
    assert!(got.len() >= 3, "{}", got.len());
    assert!(got.iter().all(|g| *g == req));
}

#[test]
fn otlp_json_file_config_errors() {
    let err = parse("start_at: beginning").unwrap_err();
    assert!(err.contains("include"), "{err}");
    let err = parse("include: [/tmp/*.json]\nbogus: 1").unwrap_err();
    assert!(err.contains("bogus"), "{err}");
    let err = parse("include: [/tmp/*.json]\nstart_at: middle").unwrap_err();
    assert!(err.contains("middle"), "{err}");
    assert!(parse("include: [/tmp/*.json]\nreplay_file: true\nstorage: file_storage").is_ok());
}
