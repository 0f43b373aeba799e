//! The file_log receiver through its factory, as the service runs it: files in a temporary
//! directory, a test consumer behind it (accepting, or refusing as told), a storage
//! extension in the host. Expected values are the Go collector's (otelcol-contrib 0.135 run
//! on the same configs where noted).

use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::storage::{MemoryStorage, StorageExtension};
use runtime::{Component, ConsumeError, Consumer, Extension, Host, Kind, Receiver, Telemetry};

use super::Factory;

// ---- harness ---------------------------------------------------------------------------

/// One delivered log record, flattened for comparison.
#[derive(Debug, Clone, PartialEq)]
struct Rec {
    body: String,
    attrs: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
    severity: i32,
    severity_text: String,
    time: u64,
}

impl Rec {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
}

fn text(v: &Option<AnyValue>) -> String {
    use any_value::Value as V;
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        None => "<nil>".into(),
        Some(V::StringValue(s)) => s.clone(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::DoubleValue(d)) => d.to_string(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::BytesValue(b)) => format!("{b:?}"),
        Some(V::KvlistValue(kv)) => format!("{:?}", flat(&kv.values)),
        Some(V::ArrayValue(a)) => format!(
            "[{}]",
            a.values
                .iter()
                .map(|v| text(&Some(v.clone())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Some(other) => format!("{other:?}"),
    }
}

fn flat(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

/// Keeps what it is given; refuses with the queued errors first, one per call.
#[derive(Default)]
struct Sink {
    batches: Mutex<Vec<Batch>>,
    refusals: Mutex<VecDeque<ConsumeError>>,
    calls: Mutex<usize>,
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(e) = self.refusals.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Sink {
    fn refuse(&self, errors: impl IntoIterator<Item = ConsumeError>) {
        self.refusals.lock().unwrap().extend(errors);
    }

    fn records(&self) -> Vec<Rec> {
        let mut out = Vec::new();
        for b in self.batches.lock().unwrap().iter() {
            let Request::Logs(req) = b.clone().into_request().expect("decodable") else {
                panic!("not logs")
            };
            for rl in req.resource_logs {
                let resource = flat(&rl.resource.map(|r| r.attributes).unwrap_or_default());
                for sl in rl.scope_logs {
                    for r in sl.log_records {
                        out.push(Rec {
                            body: text(&r.body),
                            attrs: flat(&r.attributes),
                            resource: resource.clone(),
                            severity: r.severity_number,
                            severity_text: r.severity_text,
                            time: r.time_unix_nano,
                        });
                    }
                }
            }
        }
        out
    }

    fn bodies(&self) -> Vec<String> {
        self.records().into_iter().map(|r| r.body).collect()
    }

    /// Waits until `n` records arrived (panics after 10 s), then a few more polls to catch
    /// duplicates, and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Rec> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.records().len() < n {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} records; got {:?}",
                self.bodies()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.records()
    }
}

/// A storage extension as the host holds it (file_storage in the service).
struct StorageExt(MemoryStorage);

impl Component for StorageExt {}

impl Extension for StorageExt {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_storage(&self) -> Option<&dyn StorageExtension> {
        Some(&self.0)
    }
}

/// An extension that is not a storage.
struct OtherExt;

impl Component for OtherExt {}

impl Extension for OtherExt {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn host_with(id: &str, ext: Arc<dyn Extension>) -> Host {
    let mut extensions = HashMap::new();
    extensions.insert(config::ComponentId::parse(id).unwrap(), ext);
    Host {
        extensions,
        ..Host::default()
    }
}

const PATH: &str = "receivers::filelog";

/// The config error as the user sees it.
fn parse_err(yaml: &str) -> String {
    let value = config::Value::from_yaml_str(yaml).expect("test yaml");
    match Factory.parse_config(&value, PATH) {
        Ok(_) => panic!("config accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

struct Running {
    receiver: Arc<dyn Receiver>,
    telemetry: Telemetry,
}

impl Running {
    async fn stop(self) {
        self.receiver.shutdown().await.expect("shutdown");
    }

    fn metric(&self, name: &str) -> f64 {
        self.telemetry
            .value(name, &[("receiver", "filelog")])
            .unwrap_or(0.0)
    }
}

/// `yaml` with `{dir}` replaced, parsed, created and started with `host`.
async fn start_in(
    dir: &Path,
    yaml: &str,
    sink: &Arc<Sink>,
    host: &Host,
) -> Result<Running, String> {
    start_to(dir, yaml, sink.clone(), host).await
}

/// [`start_in`] with any consumer behind the receiver.
async fn start_to(
    dir: &Path,
    yaml: &str,
    sink: Arc<dyn Consumer>,
    host: &Host,
) -> Result<Running, String> {
    let yaml = yaml.replace("{dir}", dir.to_str().expect("utf-8 dir"));
    let value = config::Value::from_yaml_str(&yaml).expect("test yaml");
    let cfg = Factory
        .parse_config(&value, PATH)
        .map_err(|e| e.to_string())?;
    let telemetry = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("filelog"),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let mut outputs = ReceiverOutputs::default();
    outputs.set(pdata::Signal::Logs, sink);
    let receiver = Factory.create(set, &cfg, outputs)?;
    receiver.start(host).await?;
    Ok(Running {
        receiver,
        telemetry,
    })
}

async fn start(dir: &Path, yaml: &str, sink: &Arc<Sink>) -> Running {
    start_in(dir, yaml, sink, &Host::default())
        .await
        .expect("start")
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log file");
    f.write_all(text.as_bytes()).expect("write log file");
}

/// Reads from the beginning, polling fast.
const BASE: &str = "include: ['{dir}/*.log']
start_at: beginning
poll_interval: 10ms
";

// ---- reading and operators -------------------------------------------------------------

#[tokio::test]
async fn reads_a_file_and_delivers_records_with_the_operators_applied() {
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("app.log"),
        "2024-05-01T10:00:00Z INFO started ok\n2024-05-01T10:00:01Z ERROR disk full\n",
    );
    let yaml = format!(
        "{BASE}operators:
  - type: regex_parser
    regex: '^(?P<time>\\S+) (?P<level>\\w+) (?P<msg>.*)$'
    timestamp:
      parse_from: attributes.time
      layout: '%Y-%m-%dT%H:%M:%SZ'
    severity:
      parse_from: attributes.level
  - type: move
    from: attributes.msg
    to: body
  - type: remove
    field: attributes.time
"
    );
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(2).await;
    r.stop().await;
    assert_eq!(got.len(), 2, "{got:?}");
    let want = [
        ("started ok", "INFO", 9, 1_714_557_600_000_000_000u64),
        ("disk full", "ERROR", 17, 1_714_557_601_000_000_000),
    ];
    for (rec, (body, level, sev, time)) in got.iter().zip(want) {
        assert_eq!(rec.body, body);
        assert_eq!(
            rec.attrs,
            BTreeMap::from([
                ("level".to_string(), level.to_string()),
                ("log.file.name".to_string(), "app.log".to_string()),
            ])
        );
        assert_eq!((rec.severity, rec.severity_text.as_str()), (sev, level));
        assert_eq!(rec.time, time);
        assert!(rec.resource.is_empty());
    }
}

#[tokio::test]
async fn static_attributes_and_resource_are_set_with_expr_values_rendered() {
    // Go 0.135 on this config: static=v1, mixed=pre-xy-post, resource host=h1, beside
    // log.file.name; EXPR sees an empty entry (`EXPR(body)` is nil: Go fails the token,
    // we leave the key out).
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("b.log"), "hello world\nsecond line\n");
    let yaml = format!(
        "{BASE}attributes:
  static: v1
  mixed: pre-EXPR(\"x\" + \"y\")-post
  from_body: EXPR(body)
resource:
  host: EXPR(\"h\" + \"1\")
"
    );
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(2).await;
    r.stop().await;
    assert_eq!(got.len(), 2);
    for (rec, body) in got.iter().zip(["hello world", "second line"]) {
        assert_eq!(rec.body, body);
        assert_eq!(
            rec.attrs,
            BTreeMap::from([
                ("static".to_string(), "v1".to_string()),
                ("mixed".to_string(), "pre-xy-post".to_string()),
                ("log.file.name".to_string(), "b.log".to_string()),
            ])
        );
        assert_eq!(
            rec.resource,
            BTreeMap::from([("host".to_string(), "h1".to_string())])
        );
    }
}

#[tokio::test]
async fn include_file_record_number_counts_per_file_and_continues_after_appends() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    append(&a, "a1\na2\n");
    append(&b, "b1\n");
    let yaml = format!("{BASE}include_file_record_number: true\n");
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    sink.wait_for(3).await;
    append(&a, "a3\n");
    let got = sink.wait_for(4).await;
    r.stop().await;
    let mut numbers: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r.body.clone(),
                r.attr("log.file.record_number").unwrap_or("-").to_string(),
            )
        })
        .collect();
    numbers.sort();
    let want = [("a1", "1"), ("a2", "2"), ("a3", "3"), ("b1", "1")];
    assert_eq!(
        numbers,
        want.map(|(b, n)| (b.to_string(), n.to_string())).to_vec()
    );
}

/// otelcol-contrib 0.135 on the same file and keys gave `log.file.record_offset` 0, 3, 9
/// (Int) and `log.file.record_number` 1, 2, 4 (the empty line counts, is not emitted).
#[tokio::test]
async fn newer_keys_record_offset_and_initial_buffer_size_as_go_0_135() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    append(&a, "ab\n  cd\n\nef\n");
    let yaml = format!(
        "{BASE}include_file_record_offset: true\ninclude_file_record_number: true\n\
         initial_buffer_size: 16\npolls_to_archive: 3\nmax_log_size_behavior: split\n\
         on_truncate: ignore\n"
    );
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(3).await;
    r.stop().await;
    let rows: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|r| {
            (
                r.body.as_str(),
                r.attr("log.file.record_offset").unwrap_or("-"),
                r.attr("log.file.record_number").unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(rows, [("ab", "0", "1"), ("cd", "3", "2"), ("ef", "9", "4")]);
}

// ---- delivery --------------------------------------------------------------------------

#[tokio::test]
async fn retryable_refusals_are_retried_and_nothing_is_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    append(&dir.path().join("a.log"), &(lines.join("\n") + "\n"));
    let yaml = format!(
        "{BASE}retry_on_failure:
  enabled: true
  initial_interval: 10ms
  max_interval: 20ms
"
    );
    let sink = Arc::new(Sink::default());
    sink.refuse((0..3).map(|_| ConsumeError::retryable("queue is full")));
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(50).await;
    assert_eq!(
        got.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
        lines
    );
    assert!(
        *sink.calls.lock().unwrap() >= 4,
        "three refusals, then accepted"
    );
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records"), 50.0);
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);
    r.stop().await;
}

#[tokio::test]
async fn retryable_refusals_with_stateful_operators_are_retried_in_place_without_duplicates() {
    // recombine keeps partial entries between lines, so a refused batch is kept and retried
    // rather than read again from the file (which would feed recombine the lines twice).
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("a.log"),
        "start a\ncont a\nstart b\ncont b\nstart c\n",
    );
    let yaml = format!(
        "{BASE}retry_on_failure:
  enabled: true
  initial_interval: 10ms
  max_interval: 20ms
operators:
  - type: recombine
    combine_field: body
    is_first_entry: body matches \"^start\"
    force_flush_period: 200ms
"
    );
    let sink = Arc::new(Sink::default());
    sink.refuse((0..2).map(|_| ConsumeError::retryable("queue is full")));
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(3).await;
    assert_eq!(
        got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["start a\ncont a", "start b\ncont b", "start c"]
    );
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);
    r.stop().await;
}

/// An exporter whose pushes wait for permits, counting what they deliver.
struct GatedPush {
    gate: tokio::sync::Semaphore,
    items: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl runtime::exporterhelper::Push for GatedPush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        self.gate.acquire().await.expect("open").forget();
        self.items
            .fetch_add(batch.item_count(), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// A slow exporter with a one-batch queue behind the receiver (the benchmark's backlog on
/// one core, in small): the reader waits for queue space instead of being refused and
/// polling; every line arrives once, nothing is counted as failed to enqueue, and the
/// receiver still stops promptly while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_exporter_queue_is_waited_for_not_refused() {
    use runtime::exporterhelper::{QueueSettings, RetrySettings, build};
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..1000).map(|i| format!("line {i}")).collect();
    append(&dir.path().join("a.log"), &(lines.join("\n") + "\n"));
    let tel = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("loki"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    let push = Arc::new(GatedPush {
        gate: tokio::sync::Semaphore::new(0),
        items: Default::default(),
    });
    let queue = QueueSettings {
        queue_size: 1,
        num_consumers: 1,
        ..QueueSettings::default()
    };
    let exporter = build(
        &set,
        pdata::Signal::Logs,
        &queue,
        &RetrySettings::default(),
        Duration::ZERO,
        push.clone(),
    );
    exporter.start(&Host::default()).await.unwrap();
    let r = start_to(dir.path(), BASE, exporter.clone(), &Host::default())
        .await
        .expect("start");
    // Let the batches through one at a time, slower than the reader reads.
    let deadline = Instant::now() + Duration::from_secs(20);
    while push.items.load(std::sync::atomic::Ordering::SeqCst) < 1000 {
        assert!(Instant::now() < deadline, "lines did not arrive");
        push.gate.add_permits(1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let failed = |name: &str| tel.value(name, &[("exporter", "loki")]).unwrap_or(0.0);
    assert_eq!(failed("otelcol_exporter_enqueue_failed_log_records"), 0.0);
    assert_eq!(failed("otelcol_exporter_sent_log_records"), 1000.0);
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records"), 1000.0);
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);

    // Now the exporter stalls (no permit left over) while more lines come: one batch is
    // held in the push, one fills the queue, and the reader waits with the third.
    while let Ok(p) = push.gate.try_acquire() {
        p.forget();
    }
    append(&dir.path().join("a.log"), &(lines.join("\n") + "\n"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while failed("otelcol_exporter_queue_size") < 1.0 {
        assert!(Instant::now() < deadline, "the queue did not fill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(push.items.load(std::sync::atomic::Ordering::SeqCst), 1000);
    assert_eq!(failed("otelcol_exporter_enqueue_failed_log_records"), 0.0);
    // Stopping the receiver ends its wait.
    tokio::time::timeout(Duration::from_secs(5), r.stop())
        .await
        .expect("the receiver stops while waiting for queue space");
    push.gate.add_permits(1000);
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn retryable_refusal_is_retried_even_with_retry_on_failure_off() {
    // Our delivery policy (reader.rs): a retryable refusal stalls reading instead of
    // dropping, whatever retry_on_failure says; first retry after 100 ms.
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), "one\ntwo\n");
    let sink = Arc::new(Sink::default());
    sink.refuse([ConsumeError::retryable("memory limit")]);
    let r = start(dir.path(), BASE, &sink).await;
    let got = sink.wait_for(2).await;
    assert_eq!(
        got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 0.0);
    r.stop().await;
}

#[tokio::test]
async fn retryable_refusals_give_up_after_max_elapsed_time_and_are_counted() {
    // With retry_on_failure enabled, Go's consumerretry stops after max_elapsed_time and the
    // batch is dropped; here it is also counted as refused.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    append(&path, "one\ntwo\nthree\n");
    let yaml = format!(
        "{BASE}retry_on_failure:
  enabled: true
  initial_interval: 10ms
  max_interval: 20ms
  max_elapsed_time: 100ms
"
    );
    let sink = Arc::new(Sink::default());
    sink.refuse((0..100).map(|_| ConsumeError::retryable("queue is full")));
    let r = start(dir.path(), &yaml, &sink).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.metric("otelcol_receiver_refused_log_records") < 3.0 {
        assert!(
            Instant::now() < deadline,
            "the refused batch was not given up on"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let attempts = *sink.calls.lock().unwrap();
    assert!(
        (2..100).contains(&attempts),
        "retried a few times within 100 ms, then stopped: {attempts} attempts"
    );
    assert!(sink.records().is_empty());
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records"), 0.0);
    r.stop().await;
}

#[tokio::test]
async fn permanent_refusal_is_dropped_and_counted_and_later_lines_flow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    append(&path, "bad1\nbad2\nbad3\n");
    let sink = Arc::new(Sink::default());
    sink.refuse([ConsumeError::permanent("cannot be exported")]);
    let r = start(dir.path(), BASE, &sink).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.metric("otelcol_receiver_refused_log_records") < 3.0 {
        assert!(Instant::now() < deadline, "refusal not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    append(&path, "good\n");
    let got = sink.wait_for(1).await;
    assert_eq!(
        got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["good"],
        "the refused batch is not sent again"
    );
    assert_eq!(r.metric("otelcol_receiver_refused_log_records"), 3.0);
    assert_eq!(r.metric("otelcol_receiver_accepted_log_records"), 1.0);
    r.stop().await;
}

// ---- storage ---------------------------------------------------------------------------

#[tokio::test]
async fn storage_naming_a_missing_or_non_storage_extension_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!("{BASE}storage: file_storage\n");
    let sink = Arc::new(Sink::default());
    // Go: `storage client: storage extension 'file_storage' not found`.
    let err = start_in(dir.path(), &yaml, &sink, &Host::default())
        .await
        .err()
        .expect("start fails");
    assert_eq!(
        err,
        "storage client: storage extension 'file_storage' not found"
    );
    let host = host_with("file_storage", Arc::new(OtherExt));
    let err = start_in(dir.path(), &yaml, &sink, &host)
        .await
        .err()
        .expect("start fails");
    assert_eq!(
        err,
        "storage client: non-storage extension 'file_storage' found"
    );
}

#[tokio::test]
async fn storage_keeps_checkpoints_across_a_restart_so_no_line_is_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    append(&path, "a\nb\nc\n");
    let yaml = format!("{BASE}storage: file_storage\ninclude_file_record_number: true\n");
    let storage = MemoryStorage::default();
    let host = host_with("file_storage", Arc::new(StorageExt(storage.clone())));

    let first = Arc::new(Sink::default());
    let r = start_in(dir.path(), &yaml, &first, &host).await.unwrap();
    assert_eq!(first.wait_for(3).await.len(), 3);
    r.stop().await;
    let client = storage
        .client(Kind::Receiver, &config::ComponentId::new("filelog"), "")
        .unwrap();
    assert!(
        client.get(fileconsumer::KNOWN_FILES_KEY).unwrap().is_some(),
        "checkpoint saved under Go's key"
    );

    append(&path, "d\ne\n");
    let second = Arc::new(Sink::default());
    let r = start_in(dir.path(), &yaml, &second, &host).await.unwrap();
    let got = second.wait_for(2).await;
    r.stop().await;
    let got: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r.body.as_str(), r.attr("log.file.record_number").unwrap()))
        .collect();
    assert_eq!(
        got,
        [("d", "4"), ("e", "5")],
        "resumed at the offset and count"
    );

    // Without storage the same restart reads the file again (start_at: beginning).
    let third = Arc::new(Sink::default());
    let r = start(dir.path(), BASE, &third).await;
    assert_eq!(third.wait_for(5).await.len(), 5);
    r.stop().await;
}

// ---- recombine timers and shutdown -----------------------------------------------------

const RECOMBINE: &str = "operators:
  - type: recombine
    combine_field: body
    is_first_entry: body matches \"^A\"
";

#[tokio::test]
async fn recombine_force_flush_period_releases_a_partial_entry_without_new_input() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), "A1\nb\nc\nA2\nd\n");
    let yaml = format!("{BASE}{RECOMBINE}    force_flush_period: 100ms\n");
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    let got = sink.wait_for(2).await;
    assert_eq!(
        got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["A1\nb\nc", "A2\nd"]
    );
    r.stop().await;
    assert_eq!(sink.records().len(), 2, "nothing more at shutdown");
}

#[tokio::test]
async fn shutdown_flushes_what_recombine_holds() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), "A1\nb\nA2\nc\n");
    let yaml = format!("{BASE}{RECOMBINE}    force_flush_period: 1h\n");
    let sink = Arc::new(Sink::default());
    let r = start(dir.path(), &yaml, &sink).await;
    // A1+b leaves when A2 starts; A2+c stays held until shutdown.
    let got = sink.wait_for(1).await;
    assert_eq!(
        got.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["A1\nb"]
    );
    r.stop().await;
    assert_eq!(sink.bodies(), ["A1\nb", "A2\nc"]);
}

// ---- config errors ---------------------------------------------------------------------

#[test]
fn config_errors_name_the_path_and_give_go_reason() {
    let cases = [
        (
            "include: [/x/*.log]\nincludd: [a]\n",
            "receivers::filelog: has invalid keys: includd",
        ),
        (
            "include: []\n",
            "receivers::filelog: 'include' must be specified",
        ),
        (
            "start_at: beginning\n",
            "receivers::filelog: 'include' must be specified",
        ),
        (
            "include: [/x/*.log]\noperators:\n  - type: noop\n  - type: regex_parser\n",
            "receivers::filelog::operators::1: missing required field 'regex'",
        ),
        (
            "include: [/x/*.log]\noperators:\n  - type: noop\n  - type: regex_parserr\n",
            "receivers::filelog::operators::1: unsupported type 'regex_parserr'",
        ),
        (
            "include: [/x/*.log]\noperators:\n  - type: move\n    from: foo.bar\n    to: body\n",
            "receivers::filelog::operators::0: unmarshal to move: ",
        ),
        (
            "include: [/x/*.log]\noperators:\n  - type: noop\n    output: nowhere\n",
            "receivers::filelog::operators::0: operator 'nowhere' does not exist: {\"operator_id\":\"noop\"}",
        ),
        (
            "include: [/x/*.log]\nmax_log_size_behavior: cut\n",
            "receivers::filelog: invalid value 'cut' for `max_log_size_behavior`",
        ),
        (
            "include: [/x/*.log]\non_truncate: reread\n",
            "receivers::filelog: invalid value 'reread' for `on_truncate`",
        ),
        (
            "include: [/x/*.log]\nstart_at: middle\n",
            "receivers::filelog: invalid start_at location 'middle'",
        ),
        (
            "include: [/x/*.log]\nattributes:\n  k: EXPR(1 +)\n",
            "receivers::filelog::attributes::k: compile embedded expression: ",
        ),
        (
            "include: [/x/*.log]\nstorage: \"file_storage/\"\n",
            "receivers::filelog::storage: ",
        ),
    ];
    for (yaml, want) in cases {
        let err = parse_err(yaml);
        assert!(
            err.starts_with(want),
            "{yaml}\n  got:  {err}\n  want: {want}..."
        );
    }
}
