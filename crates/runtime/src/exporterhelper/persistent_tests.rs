//! The persistent sending queue over a real queue log in a temporary directory: a "restart"
//! is a new exporter on the same directory; a crash is dropping the exporter without shutdown.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use config::ComponentId;
use pdata::{Batch, Signal};
use tokio::sync::Semaphore;

use super::persistent::{decode_record, signal_tag};
use super::*;
use crate::component::Extension;
use crate::storage::{
    MemoryStorage, OpenedQueue, QueueLog, StorageClient, StorageError, StorageExtension,
};
use crate::{Kind, Settings, Telemetry};

/// Records what reaches the destination, in order (item counts identify the batches).
#[derive(Default)]
struct Recorder {
    got: Mutex<Vec<usize>>,
    /// When set, every push waits for a permit first.
    gate: Option<Semaphore>,
    fail: AtomicBool,
}

#[async_trait]
impl Push for Recorder {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        if let Some(g) = &self.gate {
            g.acquire().await.expect("gate open").forget();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(ConsumeError::retryable("destination down"));
        }
        self.got.lock().unwrap().push(batch.item_count());
        Ok(())
    }
}

/// The real log, whose appends can be held (to see that `offer` waits for them) or made
/// to fail.
struct Gated {
    inner: spool::Spool,
    store: Store,
}

impl QueueLog for Gated {
    fn append(&mut self, records: &[(u8, &[u8])]) -> std::io::Result<u64> {
        let _held = self.store.hold.lock().unwrap();
        self.store.writes.fetch_add(1, Ordering::SeqCst);
        if self.store.fail.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("disk full"));
        }
        self.inner.append(records)
    }
    fn release(&mut self, indices: &[u64]) -> std::io::Result<()> {
        self.inner.release(indices)
    }
    fn slow_appends(&self) -> bool {
        self.store.slow.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Store {
    dir: Arc<tempfile::TempDir>,
    hold: Arc<std::sync::Mutex<()>>,
    fail: Arc<AtomicBool>,
    /// Appends run on a blocking thread (as with `fsync`), so that holding them does not
    /// stall the test's runtime.
    slow: Arc<AtomicBool>,
    writes: Arc<AtomicUsize>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            dir: Arc::new(tempfile::tempdir().unwrap()),
            hold: Arc::default(),
            fail: Arc::default(),
            slow: Arc::default(),
            writes: Arc::default(),
        }
    }
}

impl Store {
    fn queue_dir(&self) -> PathBuf {
        self.dir.path().join("exporter_otlp__logs")
    }

    /// What the queue holds on disk (item counts, in order); the exporter must be stopped.
    fn on_disk(&self) -> Vec<usize> {
        let (_, rec) = spool::Spool::open(&self.queue_dir(), spool::Options::default()).unwrap();
        rec.records
            .into_iter()
            .map(|r| {
                decode_record(Signal::Logs, r.tag, r.payload)
                    .unwrap()
                    .item_count()
            })
            .collect()
    }
}

impl StorageExtension for Store {
    fn client(
        &self,
        _kind: Kind,
        _id: &ComponentId,
        _name: &str,
    ) -> Result<Arc<dyn StorageClient>, StorageError> {
        Err(StorageError::new("the queue uses no client"))
    }

    fn open_queue(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<OpenedQueue, StorageError> {
        let dir = self
            .dir
            .path()
            .join(crate::storage::client_key(kind, id, name));
        let (inner, recovery) = spool::Spool::open(&dir, spool::Options::default())
            .map_err(|e| StorageError::new(e.to_string()))?;
        Ok(OpenedQueue {
            log: Box::new(Gated {
                inner,
                store: self.clone(),
            }),
            recovery,
        })
    }
}

struct Ext(Store);

#[async_trait]
impl Component for Ext {}

impl Extension for Ext {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_storage(&self) -> Option<&dyn StorageExtension> {
        Some(&self.0)
    }
}

/// A storage extension with only key-value clients.
struct KvOnly(MemoryStorage);

#[async_trait]
impl Component for KvOnly {}

impl Extension for KvOnly {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_storage(&self) -> Option<&dyn StorageExtension> {
        Some(&self.0)
    }
}

struct NotStorage;

#[async_trait]
impl Component for NotStorage {}

impl Extension for NotStorage {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn host(store: &Store) -> Host {
    let mut extensions: HashMap<ComponentId, Arc<dyn Extension>> = HashMap::new();
    extensions.insert(
        ComponentId::parse("file_storage/q").unwrap(),
        Arc::new(Ext(store.clone())),
    );
    extensions.insert(ComponentId::new("nop"), Arc::new(NotStorage));
    extensions.insert(
        ComponentId::new("memory"),
        Arc::new(KvOnly(MemoryStorage::default())),
    );
    Host {
        extensions,
        ..Host::default()
    }
}

fn pqueue(size: u64, sizer: Sizer) -> QueueSettings {
    QueueSettings {
        queue_size: size,
        sizer,
        num_consumers: 1,
        storage: Some("file_storage/q".into()),
        ..QueueSettings::default()
    }
}

fn exporter(tel: &Telemetry, q: &QueueSettings, push: Arc<Recorder>) -> Arc<dyn crate::Exporter> {
    let set = Settings {
        id: ComponentId::new("otlp"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    let retry = RetrySettings {
        initial_interval: config::Duration(Duration::from_millis(10)),
        max_interval: config::Duration(Duration::from_millis(10)),
        max_elapsed_time: config::Duration(Duration::ZERO),
        ..RetrySettings::default()
    };
    build(&set, Signal::Logs, q, &retry, Duration::ZERO, push)
}

fn logs(n: usize) -> Batch {
    Batch::from_request(pdata::testdata::request(Signal::Logs, 1, n, n as u64))
}

fn metric(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("exporter", "otlp")])
        .or_else(|| tel.value(name, &[("data_type", "logs"), ("exporter", "otlp")]))
        .unwrap_or(0.0)
}

async fn wait_for(push: &Recorder, n: usize) -> Vec<usize> {
    for _ in 0..500 {
        let got = push.got.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("only {:?} arrived", push.got.lock().unwrap());
}

fn gated() -> Arc<Recorder> {
    Arc::new(Recorder {
        gate: Some(Semaphore::new(0)),
        ..Recorder::default()
    })
}

#[tokio::test]
async fn delivers_in_order_and_releases_each_request_after_export() {
    let tel = Telemetry::default();
    let store = Store::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    for n in 1..=6 {
        exp.consume(logs(n)).await.unwrap();
    }
    assert_eq!(wait_for(&push, 6).await, vec![1, 2, 3, 4, 5, 6]);
    exp.shutdown().await.unwrap();
    assert_eq!(store.on_disk(), Vec::<usize>::new());
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 21.0);
}

// The held lock blocks the storage's blocking threads, not this task: on purpose.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn offer_answers_only_after_the_log_wrote_the_request() {
    let tel = Telemetry::default();
    let store = Store::default();
    store.slow.store(true, Ordering::SeqCst);
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    let held = store.hold.lock().unwrap();
    let e = exp.clone();
    let offer = tokio::spawn(async move { e.consume(logs(2)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!offer.is_finished(), "acknowledged before the write");
    drop(held);
    offer.await.unwrap().unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(store.on_disk(), vec![2]);
}

#[tokio::test]
async fn failed_write_refuses_the_request_and_counts_enqueue_failed() {
    let tel = Telemetry::default();
    let store = Store::default();
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    store.fail.store(true, Ordering::SeqCst);
    let err = exp.consume(logs(3)).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        err.message,
        "failed to write the request to the persistent queue: disk full"
    );
    assert_eq!(
        metric(&tel, "otelcol_exporter_enqueue_failed_log_records"),
        3.0
    );
    assert_eq!(metric(&tel, "otelcol_exporter_queue_size"), 0.0);
    // The space it had reserved is given back.
    store.fail.store(false, Ordering::SeqCst);
    for _ in 0..100 {
        exp.consume(logs(1)).await.unwrap();
    }
}

#[tokio::test]
async fn resumes_after_a_crash_with_what_was_on_disk_including_in_flight() {
    let tel = Telemetry::default();
    let store = Store::default();
    let first = gated();
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), first.clone());
    exp.start(&host(&store)).await.unwrap();
    for n in 1..=4 {
        exp.consume(logs(n)).await.unwrap();
    }
    // The worker holds request 1 in flight; the process "dies" (no shutdown).
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(exp);

    let tel2 = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel2, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    assert_eq!(wait_for(&push, 4).await, vec![1, 2, 3, 4]);
    exp.consume(logs(7)).await.unwrap();
    assert_eq!(wait_for(&push, 5).await, vec![1, 2, 3, 4, 7]);
    exp.shutdown().await.unwrap();
    assert!(first.got.lock().unwrap().is_empty());
    assert_eq!(store.on_disk(), Vec::<usize>::new());
}

#[tokio::test]
async fn graceful_shutdown_keeps_undelivered_requests_for_the_next_start() {
    let tel = Telemetry::default();
    let store = Store::default();
    let down = Arc::new(Recorder::default());
    down.fail.store(true, Ordering::SeqCst);
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), down);
    exp.start(&host(&store)).await.unwrap();
    for n in 1..=3 {
        exp.consume(logs(n)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    tokio::time::timeout(Duration::from_secs(5), exp.shutdown())
        .await
        .expect("shutdown does not wait for the destination")
        .unwrap();

    let tel2 = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel2, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    assert_eq!(wait_for(&push, 3).await, vec![1, 2, 3]);
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn queue_is_bounded_by_the_sizer_and_reports_size_and_capacity() {
    let cases = [
        // (sizer, queue_size, accepted batch sizes, refused batch size, queue_size after)
        (Sizer::Requests, 2, vec![5, 5], 1, 2.0),
        (Sizer::Items, 10, vec![6, 4], 1, 10.0),
        (Sizer::Items, 10, vec![6], 5, 6.0),
    ];
    for (sizer, size, ok, refused, after) in cases {
        let tel = Telemetry::default();
        let store = Store::default();
        // Not started consumers would not matter: the gate keeps everything queued.
        let exp = exporter(&tel, &pqueue(size, sizer), gated());
        exp.start(&host(&store)).await.unwrap();
        // The first request is taken in flight by the worker and frees its space.
        exp.consume(logs(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        for n in &ok {
            exp.consume(logs(*n)).await.unwrap();
        }
        let err = exp.consume(logs(refused)).await.unwrap_err();
        assert_eq!(err.message, "sending queue is full", "{sizer:?}");
        assert_eq!(
            metric(&tel, "otelcol_exporter_enqueue_failed_log_records"),
            refused as f64
        );
        assert_eq!(metric(&tel, "otelcol_exporter_queue_size"), after);
        assert_eq!(metric(&tel, "otelcol_exporter_queue_capacity"), size as f64);
    }
    // Bytes: capacity in encoded bytes.
    let tel = Telemetry::default();
    let one = logs(3).encoded_len() as u64;
    let exp = exporter(&tel, &pqueue(one * 2, Sizer::Bytes), gated());
    exp.start(&host(&Store::default())).await.unwrap();
    exp.consume(logs(3)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    exp.consume(logs(3)).await.unwrap();
    exp.consume(logs(3)).await.unwrap();
    assert!(exp.consume(logs(3)).await.is_err());
}

/// Byte ranges of each record in the oldest segment, by index.
fn record_spans(dir: &Path) -> (PathBuf, Vec<(usize, usize)>) {
    let seg = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .min()
        .unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos + 24 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        spans.push((pos, 24 + len));
        pos += 24 + len;
    }
    (seg, spans)
}

#[tokio::test]
async fn damaged_records_are_skipped_logged_and_counted_and_the_rest_delivered() {
    let tel = Telemetry::default();
    let store = Store::default();
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    for n in 1..=5 {
        exp.consume(logs(n)).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    // Two intact records the queue cannot use: another signal's, and bytes that are not OTLP.
    {
        let (mut s, _) = spool::Spool::open(&store.queue_dir(), spool::Options::default()).unwrap();
        s.append(&[(signal_tag(Signal::Traces), &logs(6).encoded()[..])])
            .unwrap();
        s.append(&[(signal_tag(Signal::Logs), b"\xff\xff not otlp")])
            .unwrap();
    }
    // Request 2 overwritten with garbage, a bit of request 4's payload flipped.
    let (seg, spans) = record_spans(&store.queue_dir());
    let mut bytes = std::fs::read(&seg).unwrap();
    let (at2, len2) = spans[1];
    bytes[at2..at2 + len2].fill(0x5A);
    let (at4, len4) = spans[3];
    bytes[at4 + len4 - 1] ^= 1;
    std::fs::write(&seg, &bytes).unwrap();

    let tel2 = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel2, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    assert_eq!(wait_for(&push, 3).await, vec![1, 3, 5]);
    assert_eq!(metric(&tel2, "otelcol_exporter_queue_corrupt_items"), 4.0);
    exp.consume(logs(9)).await.unwrap();
    assert_eq!(wait_for(&push, 4).await, vec![1, 3, 5, 9]);
    exp.shutdown().await.unwrap();
    // Nothing is counted twice at the next start.
    let tel3 = Telemetry::default();
    let exp = exporter(&tel3, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    assert_eq!(metric(&tel3, "otelcol_exporter_queue_corrupt_items"), 0.0);
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_queue_directory_full_of_garbage_starts_an_empty_queue_instead_of_failing() {
    let store = Store::default();
    let dir = store.queue_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["head", "acks", "00000000000000000000.seg"] {
        std::fs::write(dir.join(name), b"garbage garbage garbage garbage").unwrap();
    }
    let tel = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    exp.consume(logs(2)).await.unwrap();
    assert_eq!(wait_for(&push, 1).await, vec![2]);
    exp.shutdown().await.unwrap();
}

#[test]
fn records_of_another_signal_or_not_otlp_are_refused() {
    let b = logs(3);
    let tag = signal_tag(Signal::Logs);
    assert_eq!(
        decode_record(Signal::Logs, tag, b.encoded())
            .unwrap()
            .encoded(),
        b.encoded()
    );
    assert!(
        decode_record(Signal::Traces, tag, b.encoded())
            .unwrap_err()
            .contains("another signal")
    );
    assert!(decode_record(Signal::Logs, tag, bytes::Bytes::from_static(&[0xff, 3])).is_err());
}

#[tokio::test]
async fn unknown_non_storage_or_kv_only_extension_fails_start_with_clear_messages() {
    let tel = Telemetry::default();
    let store = Store::default();
    let mut q = pqueue(10, Sizer::Requests);
    q.storage = Some("file_storage/missing".into());
    let exp = exporter(&tel, &q, gated());
    assert_eq!(
        exp.start(&host(&store)).await.unwrap_err(),
        "no storage client extension found"
    );
    q.storage = Some("nop".into());
    let exp = exporter(&tel, &q, gated());
    assert_eq!(
        exp.start(&host(&store)).await.unwrap_err(),
        "requested extension is not a storage extension"
    );
    q.storage = Some("memory".into());
    let exp = exporter(&tel, &q, gated());
    assert_eq!(
        exp.start(&host(&store)).await.unwrap_err(),
        "persistent queue: this storage extension cannot hold a persistent sending queue"
    );
}

#[tokio::test]
async fn wait_for_result_answers_with_the_export_outcome() {
    let tel = Telemetry::default();
    let store = Store::default();
    let push = Arc::new(Recorder::default());
    let mut q = pqueue(10, Sizer::Requests);
    q.wait_for_result = true;
    let exp = exporter(&tel, &q, push.clone());
    exp.start(&host(&store)).await.unwrap();
    exp.consume(logs(2)).await.unwrap();
    assert_eq!(*push.got.lock().unwrap(), vec![2]);
    exp.shutdown().await.unwrap();
}

// The held lock blocks the storage's blocking threads, not this task: on purpose.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn requests_offered_during_a_write_are_written_together() {
    let tel = Telemetry::default();
    let store = Store::default();
    store.slow.store(true, Ordering::SeqCst);
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    let before = store.writes.load(Ordering::SeqCst);
    let held = store.hold.lock().unwrap();
    let mut offers = Vec::new();
    for n in 1..=20 {
        let e = exp.clone();
        offers.push(tokio::spawn(async move { e.consume(logs(n)).await }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(offers.iter().all(|o| !o.is_finished()));
    drop(held);
    for o in offers {
        o.await.unwrap().unwrap();
    }
    // The first writer's append, then everyone who queued behind it: two, not twenty.
    let writes = store.writes.load(Ordering::SeqCst) - before;
    assert!(writes <= 2, "{writes} appends for 20 requests");
    exp.shutdown().await.unwrap();
    let mut sizes = store.on_disk();
    sizes.sort();
    assert_eq!(sizes, (1..=20).collect::<Vec<_>>());
}
