//! The persistent sending queue over an in-memory storage extension: a "restart" is a new
//! exporter on the same storage; a crash is dropping the exporter without shutdown.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use config::ComponentId;
use pdata::{Batch, Signal};
use tokio::sync::Semaphore;

use super::persistent::{decode_record, encode_record};
use super::*;
use crate::component::Extension;
use crate::storage::{MemoryStorage, Op, StorageClient, StorageError, StorageExtension};
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

/// A client whose writes can be held (to see that `offer` waits for them) or made to fail.
struct Client {
    inner: Arc<dyn StorageClient>,
    hold: Arc<std::sync::Mutex<()>>,
    fail: Arc<AtomicBool>,
    writes: Arc<AtomicUsize>,
}

impl StorageClient for Client {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.inner.delete(key)
    }
    fn batch(&self, ops: Vec<Op>) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        let _held = self.hold.lock().unwrap();
        if ops.iter().any(|o| matches!(o, Op::Set(..))) {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        if self.fail.load(Ordering::SeqCst) && ops.iter().any(|o| matches!(o, Op::Set(..))) {
            return Err(StorageError::new("disk full"));
        }
        self.inner.batch(ops)
    }
}

#[derive(Clone, Default)]
struct Store {
    mem: MemoryStorage,
    hold: Arc<std::sync::Mutex<()>>,
    fail: Arc<AtomicBool>,
    writes: Arc<AtomicUsize>,
}

impl Store {
    fn client(&self) -> Arc<dyn StorageClient> {
        self.mem
            .client(Kind::Exporter, &ComponentId::new("otlp"), "logs")
            .unwrap()
    }
}

impl StorageExtension for Store {
    fn client(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<Arc<dyn StorageClient>, StorageError> {
        Ok(Arc::new(Client {
            inner: self.mem.client(kind, id, name)?,
            hold: self.hold.clone(),
            fail: self.fail.clone(),
            writes: self.writes.clone(),
        }))
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
async fn delivers_in_order_and_deletes_each_request_after_export() {
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
    let c = store.client();
    for i in 0..6 {
        assert_eq!(c.get(&i.to_string()).unwrap(), None, "request {i} left");
    }
    assert_eq!(c.get("wi").unwrap(), Some(6u64.to_le_bytes().to_vec()));
    assert_eq!(c.get("lo").unwrap(), Some(6u64.to_le_bytes().to_vec()));
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 21.0);
}

// The held lock blocks the storage's blocking threads, not this task: on purpose.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn offer_answers_only_after_the_storage_committed_the_request() {
    let tel = Telemetry::default();
    let store = Store::default();
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    let held = store.hold.lock().unwrap();
    let e = exp.clone();
    let offer = tokio::spawn(async move { e.consume(logs(2)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !offer.is_finished(),
        "acknowledged before the write committed"
    );
    assert_eq!(store.client().get("0").unwrap(), None);
    drop(held);
    offer.await.unwrap().unwrap();
    let rec = store.client().get("0").unwrap().expect("request on disk");
    assert_eq!(decode_record(Signal::Logs, rec).unwrap().item_count(), 2);
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

#[tokio::test]
async fn damaged_and_truncated_records_are_skipped_logged_and_counted() {
    let tel = Telemetry::default();
    let store = Store::default();
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), gated());
    exp.start(&host(&store)).await.unwrap();
    for n in 1..=5 {
        exp.consume(logs(n)).await.unwrap();
    }
    drop(exp);
    let c = store.client();
    // Garbage over request 1, request 2 cut short, request 3 a bit flipped.
    c.set("1", b"garbage, not a record".to_vec()).unwrap();
    let rec = c.get("2").unwrap().unwrap();
    c.set("2", rec[..rec.len() / 2].to_vec()).unwrap();
    let mut rec = c.get("3").unwrap().unwrap();
    let last = rec.len() - 1;
    rec[last] ^= 1;
    c.set("3", rec).unwrap();
    c.set("4", vec![1]).unwrap();

    let tel2 = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel2, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    assert_eq!(wait_for(&push, 1).await, vec![1]);
    assert_eq!(metric(&tel2, "otelcol_exporter_queue_corrupt_items"), 4.0);
    exp.consume(logs(9)).await.unwrap();
    assert_eq!(wait_for(&push, 2).await, vec![1, 9]);
    exp.shutdown().await.unwrap();
    for i in 0..6 {
        assert_eq!(c.get(&i.to_string()).unwrap(), None, "request {i} left");
    }
}

#[tokio::test]
async fn damaged_queue_indices_start_an_empty_queue_instead_of_failing() {
    let store = Store::default();
    let c = store.client();
    c.set("wi", b"xx".to_vec()).unwrap();
    let tel = Telemetry::default();
    let push = Arc::new(Recorder::default());
    let exp = exporter(&tel, &pqueue(100, Sizer::Requests), push.clone());
    exp.start(&host(&store)).await.unwrap();
    exp.consume(logs(2)).await.unwrap();
    assert_eq!(wait_for(&push, 1).await, vec![2]);
}

#[test]
fn record_round_trips_and_refuses_another_signal() {
    let b = logs(3);
    let rec = encode_record(&b);
    assert_eq!(
        decode_record(Signal::Logs, rec.clone()).unwrap().encoded(),
        b.encoded()
    );
    assert!(
        decode_record(Signal::Traces, rec)
            .unwrap_err()
            .contains("another signal")
    );
    assert!(decode_record(Signal::Logs, vec![1, 3]).is_err());
}

#[tokio::test]
async fn unknown_or_non_storage_extension_fails_start_with_go_messages() {
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
async fn requests_offered_during_a_write_are_committed_together() {
    let tel = Telemetry::default();
    let store = Store::default();
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
    // The first writer's transaction, then everyone who queued behind it: two, not twenty.
    let writes = store.writes.load(Ordering::SeqCst) - before;
    assert!(writes <= 2, "{writes} transactions for 20 requests");
    let c = store.client();
    let mut sizes: Vec<usize> = (0..20)
        .map(|i| {
            let rec = c.get(&i.to_string()).unwrap().expect("on disk");
            decode_record(Signal::Logs, rec).unwrap().item_count()
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, (1..=20).collect::<Vec<_>>());
    assert_eq!(c.get("wi").unwrap(), Some(20u64.to_le_bytes().to_vec()));
}
