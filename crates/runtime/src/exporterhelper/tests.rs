//! The sender chain against a scripted [`Push`] (a test double: the chain is what is tested).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use config::ComponentId;
use pdata::{Batch, Signal};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::*;
use crate::{Kind, Settings, Telemetry};

#[derive(Default)]
struct FakePush {
    /// Outcomes of the next calls; `Ok` once empty unless `always` is set.
    script: Mutex<VecDeque<Result<(), ConsumeError>>>,
    always: Option<ConsumeError>,
    /// When set, every push waits for a permit first.
    gate: Option<Semaphore>,
    entered: Notify,
    calls: AtomicUsize,
    delivered_items: AtomicUsize,
    delivered_batches: AtomicUsize,
    /// How long the first push takes.
    first_push_takes: Option<Duration>,
}

#[async_trait]
impl Push for FakePush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        self.entered.notify_one();
        if let Some(g) = &self.gate {
            g.acquire().await.expect("gate open").forget();
        }
        if call == 0
            && let Some(d) = self.first_push_takes
        {
            tokio::time::sleep(d).await;
        }
        let outcome = self.script.lock().unwrap().pop_front();
        let outcome = match (outcome, &self.always) {
            (Some(o), _) => o,
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Ok(()),
        };
        if outcome.is_ok() {
            self.delivered_items
                .fetch_add(batch.item_count(), Ordering::SeqCst);
            self.delivered_batches.fetch_add(1, Ordering::SeqCst);
        }
        outcome
    }
}

fn settings(tel: &Telemetry) -> Settings {
    Settings {
        id: ComponentId::new("otlp"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    }
}

/// The sender chain for logs around `push`, with no per-attempt timeout.
fn logs_exporter(
    tel: &Telemetry,
    queue: &QueueSettings,
    retry: &RetrySettings,
    push: Arc<dyn Push>,
) -> Arc<dyn crate::Exporter> {
    build(
        &settings(tel),
        Signal::Logs,
        queue,
        retry,
        Duration::ZERO,
        push,
    )
}

fn logs(n: usize, seed: u64) -> Batch {
    Batch::from_request(pdata::testdata::request(Signal::Logs, 1, n, seed))
}

fn no_queue() -> QueueSettings {
    QueueSettings {
        enabled: false,
        ..QueueSettings::default()
    }
}

fn queue(size: u64, consumers: usize) -> QueueSettings {
    QueueSettings {
        queue_size: size,
        num_consumers: consumers,
        ..QueueSettings::default()
    }
}

fn retry_without_jitter(max_elapsed_secs: u64) -> RetrySettings {
    RetrySettings {
        randomization_factor: 0.0,
        max_elapsed_time: config::Duration::from_secs(max_elapsed_secs),
        ..RetrySettings::default()
    }
}

fn metric(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("exporter", "otlp")]).unwrap_or(0.0)
}

#[tokio::test]
async fn full_queue_refuses_with_retryable_error_and_counts_enqueue_failed() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush::default());
    // Not started: nothing takes from the queue.
    let exp = logs_exporter(&tel, &queue(1, 1), &RetrySettings::default(), push);
    exp.consume(logs(3, 1)).await.expect("first batch fits");
    let err = exp.consume(logs(4, 2)).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.message, "sending queue is full");
    assert_eq!(
        metric(&tel, "otelcol_exporter_enqueue_failed_log_records"),
        4.0
    );
    assert_eq!(
        tel.value("otelcol_exporter_queue_size", &[("data_type", "logs")]),
        Some(1.0)
    );
    assert_eq!(
        tel.value("otelcol_exporter_queue_capacity", &[("data_type", "logs")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn items_sizer_refuses_a_batch_that_does_not_fit() {
    let tel = Telemetry::default();
    let q = QueueSettings {
        sizer: Sizer::Items,
        ..queue(10, 1)
    };
    let exp = logs_exporter(
        &tel,
        &q,
        &RetrySettings::default(),
        Arc::new(FakePush::default()),
    );
    exp.consume(logs(6, 1)).await.expect("6 of 10 items");
    assert_eq!(
        exp.consume(logs(5, 2)).await.unwrap_err().message,
        "sending queue is full"
    );
    exp.consume(logs(4, 3)).await.expect("10 of 10 items");
}

#[tokio::test(start_paused = true)]
async fn permanent_error_is_not_retried() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        always: Some(ConsumeError::permanent("bad request")),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &no_queue(), &RetrySettings::default(), push.clone());
    let err = exp.consume(logs(2, 1)).await.unwrap_err();
    assert_eq!(err.message, "not retryable error: bad request");
    assert!(err.is_permanent());
    assert_eq!(push.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn retryable_error_is_retried_with_backoff_until_success() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        script: Mutex::new(VecDeque::from([
            Err(ConsumeError::retryable("unavailable")),
            Err(ConsumeError::retryable("unavailable")),
        ])),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &no_queue(), &retry_without_jitter(300), push.clone());
    let t0 = Instant::now();
    exp.consume(logs(3, 1))
        .await
        .expect("delivered on the third attempt");
    assert_eq!(push.calls.load(Ordering::SeqCst), 3);
    // 5s, then 5s * 1.5
    assert_eq!(t0.elapsed(), Duration::from_millis(12_500));
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 3.0);
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_from_the_server_is_honoured() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        script: Mutex::new(VecDeque::from([Err(ConsumeError::throttled(
            "slow down",
            Duration::from_secs(42),
        ))])),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &no_queue(), &retry_without_jitter(300), push.clone());
    let t0 = Instant::now();
    exp.consume(logs(1, 1))
        .await
        .expect("delivered after the delay");
    assert_eq!(t0.elapsed(), Duration::from_secs(42));
}

#[tokio::test(start_paused = true)]
async fn backoff_longer_than_retry_after_wins() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        script: Mutex::new(VecDeque::from([Err(ConsumeError::throttled(
            "slow down",
            Duration::from_secs(1),
        ))])),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &no_queue(), &retry_without_jitter(300), push);
    let t0 = Instant::now();
    exp.consume(logs(1, 1)).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_time_gives_up_and_counts_send_failed() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        always: Some(ConsumeError::retryable("unavailable")),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &no_queue(), &retry_without_jitter(10), push.clone());
    let err = exp.consume(logs(7, 1)).await.unwrap_err();
    assert_eq!(err.message, "no more retries left: unavailable");
    // t=0 and t=5s; the next wait (7.5s) would end after 10s.
    assert_eq!(push.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        7.0
    );
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 0.0);
}

#[tokio::test(start_paused = true)]
async fn attempt_that_times_out_is_retried() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        first_push_takes: Some(Duration::from_secs(60)),
        ..FakePush::default()
    });
    let exp = build(
        &settings(&tel),
        Signal::Logs,
        &no_queue(),
        &retry_without_jitter(300),
        Duration::from_secs(1),
        push.clone(),
    );
    let t0 = Instant::now();
    exp.consume(logs(1, 1))
        .await
        .expect("second attempt succeeds");
    assert_eq!(push.calls.load(Ordering::SeqCst), 2);
    assert_eq!(t0.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn shutdown_delivers_everything_queued_even_while_the_destination_fails() {
    let tel = Telemetry::default();
    let failures: VecDeque<_> = (0..6)
        .map(|_| Err(ConsumeError::retryable("unavailable")))
        .collect();
    let push = Arc::new(FakePush {
        script: Mutex::new(failures),
        ..FakePush::default()
    });
    let exp = logs_exporter(
        &tel,
        &queue(100, 2),
        &RetrySettings::default(),
        push.clone(),
    );
    exp.start(&Host::default()).await.unwrap();
    for i in 0..10 {
        exp.consume(logs(2, i)).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    assert_eq!(push.delivered_batches.load(Ordering::SeqCst), 10);
    assert_eq!(push.delivered_items.load(Ordering::SeqCst), 20);
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 20.0);
    assert_eq!(
        tel.value("otelcol_exporter_queue_size", &[("data_type", "logs")]),
        Some(0.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_exporter_in_flight_requests",
            &[("data_type", "logs")]
        ),
        Some(0.0)
    );
    let err = exp.consume(logs(1, 99)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn abandoned_shutdown_stops_retrying_and_counts_the_rest_as_dropped() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        always: Some(ConsumeError::retryable("unavailable")),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &queue(100, 1), &retry_without_jitter(0), push.clone());
    exp.start(&Host::default()).await.unwrap();
    for i in 0..3 {
        exp.consume(logs(2, i)).await.unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(60), exp.shutdown())
            .await
            .is_err(),
        "retries forever"
    );
    let calls_at_abort = push.calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        6.0
    );
    assert_eq!(
        push.calls.load(Ordering::SeqCst),
        calls_at_abort,
        "no attempt after the abort"
    );
}

#[tokio::test]
async fn block_on_overflow_makes_the_caller_wait_for_space() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        gate: Some(Semaphore::new(0)),
        ..FakePush::default()
    });
    let q = QueueSettings {
        block_on_overflow: true,
        ..queue(1, 1)
    };
    let exp = logs_exporter(&tel, &q, &RetrySettings::default(), push.clone());
    exp.start(&Host::default()).await.unwrap();
    exp.consume(logs(1, 1)).await.unwrap();
    push.entered.notified().await; // the worker holds batch 1; the queue is empty
    exp.consume(logs(1, 2)).await.unwrap(); // fills the queue
    let blocked = tokio::spawn({
        let exp = exp.clone();
        async move { exp.consume(logs(1, 3)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!blocked.is_finished(), "third batch must wait for space");
    push.gate.as_ref().unwrap().add_permits(10);
    blocked.await.unwrap().expect("enqueued once space freed");
    exp.shutdown().await.unwrap();
    assert_eq!(push.delivered_batches.load(Ordering::SeqCst), 3);
    assert_eq!(
        metric(&tel, "otelcol_exporter_enqueue_failed_log_records"),
        0.0
    );
}

#[tokio::test]
async fn wait_for_result_returns_the_export_error_to_the_caller() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        always: Some(ConsumeError::permanent("invalid data")),
        ..FakePush::default()
    });
    let q = QueueSettings {
        wait_for_result: true,
        ..queue(10, 1)
    };
    let exp = logs_exporter(&tel, &q, &RetrySettings::default(), push);
    exp.start(&Host::default()).await.unwrap();
    let err = exp.consume(logs(1, 1)).await.unwrap_err();
    assert_eq!(err.message, "not retryable error: invalid data");
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_wait_for_result_success_returns_once_enqueued() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        always: Some(ConsumeError::permanent("invalid data")),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &queue(10, 1), &RetrySettings::default(), push);
    exp.start(&Host::default()).await.unwrap();
    exp.consume(logs(1, 1))
        .await
        .expect("accepted into the queue");
    exp.shutdown().await.unwrap();
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn queue_batching_merges_small_batches_up_to_min_size() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush::default());
    let batch = QueueBatchSettings {
        min_size: 10,
        max_size: 10,
        ..QueueBatchSettings::default()
    };
    let q = QueueSettings {
        batch: Some(batch),
        ..queue(100, 1)
    };
    let exp = logs_exporter(&tel, &q, &RetrySettings::default(), push.clone());
    for i in 0..7 {
        exp.consume(logs(3, i)).await.unwrap(); // 21 items, queued before the worker starts
    }
    exp.start(&Host::default()).await.unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(push.delivered_items.load(Ordering::SeqCst), 21);
    // 12 items (split 10 + 2), 9 items: three pushes instead of seven.
    assert_eq!(push.delivered_batches.load(Ordering::SeqCst), 3);
}

#[test]
fn storage_must_be_a_component_id() {
    let q = |s: &str| QueueSettings {
        storage: Some(s.into()),
        ..QueueSettings::default()
    };
    assert_eq!(q("file_storage/queue").validate(), Ok(()));
    assert!(q("").validate().is_err());
}

/// An exporter that queues its own requests: the batch's item count as text, made once.
#[derive(Default)]
struct PreparingPush {
    prepared: AtomicUsize,
    pushed_batches: AtomicUsize,
    /// Attempts at prepared requests; the first `fail_first` are refused (retryable).
    attempts: AtomicUsize,
    fail_first: usize,
    delivered_items: AtomicUsize,
    /// Batches of this many items cannot be prepared.
    refuse_items: Option<usize>,
    /// [`Push::merge_limit`]; requests are merged by adding their counts.
    merge_limit: usize,
    /// How many requests each call of [`Push::merge_prepared`] got.
    merged: Mutex<Vec<usize>>,
    /// Items of each successful prepared push.
    sent_sizes: Mutex<Vec<usize>>,
}

#[async_trait]
impl Push for PreparingPush {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        self.pushed_batches.fetch_add(1, Ordering::SeqCst);
        self.delivered_items
            .fetch_add(batch.item_count(), Ordering::SeqCst);
        Ok(())
    }

    fn prepare(&self, batch: &Batch) -> Option<Result<Prepared, ConsumeError>> {
        self.prepared.fetch_add(1, Ordering::SeqCst);
        if self.refuse_items == Some(batch.item_count()) {
            return Some(Err(ConsumeError::permanent("cannot be translated")));
        }
        let text = batch.item_count().to_string();
        Some(Ok(Prepared {
            items: batch.item_count(),
            bytes: 1000 * batch.item_count(),
            request: Box::new(text),
        }))
    }

    async fn push_prepared(&self, request: &Prepared) -> Result<(), ConsumeError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
        if attempt < self.fail_first {
            return Err(ConsumeError::retryable("try again"));
        }
        let text = request.get::<String>().expect("ours");
        let n: usize = text.parse().expect("a count");
        self.delivered_items.fetch_add(n, Ordering::SeqCst);
        self.sent_sizes.lock().unwrap().push(n);
        Ok(())
    }

    fn merge_limit(&self) -> MergeLimit {
        MergeLimit {
            bytes: self.merge_limit,
            wait: Duration::from_millis(5),
        }
    }

    fn merge_prepared(&self, requests: Vec<Prepared>) -> Vec<Prepared> {
        self.merged.lock().unwrap().push(requests.len());
        let items: usize = requests.iter().map(|p| p.items).sum();
        vec![Prepared {
            items,
            bytes: requests.iter().map(|p| p.bytes).sum(),
            request: Box::new(items.to_string()),
        }]
    }
}

/// A worker that took a request waits the exporter's merge wait for more: what arrives
/// within it goes in the same send, what arrives after it in the next.
#[tokio::test(start_paused = true)]
async fn a_worker_waits_the_merge_wait_for_more_requests_and_no_longer() {
    let tel = Telemetry::default();
    let push = Arc::new(PreparingPush {
        merge_limit: 100_000,
        ..PreparingPush::default()
    });
    let exp = logs_exporter(&tel, &queue(10, 1), &retry_without_jitter(0), push.clone());
    exp.start(&Host::default()).await.unwrap();
    exp.consume(logs(3, 1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    exp.consume(logs(2, 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(*push.sent_sizes.lock().unwrap(), vec![5]);
    exp.consume(logs(4, 3)).await.unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(*push.sent_sizes.lock().unwrap(), vec![5, 4]);
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 9.0);
}

/// Prepared requests already queued when a worker takes one are handed to the exporter
/// together, up to its byte limit (the first over it included), and sent, retried and
/// counted as one; with no limit each goes alone.
#[tokio::test(start_paused = true)]
async fn queued_prepared_requests_are_merged_up_to_the_exporters_limit() {
    for (limit, fail_first, want_sizes, want_merges) in [
        (7000, 1, vec![9, 9], vec![3, 3]),
        (0, 0, vec![3; 6], vec![]),
        (100_000, 0, vec![18], vec![6]),
    ] {
        let tel = Telemetry::default();
        let push = Arc::new(PreparingPush {
            merge_limit: limit,
            fail_first,
            ..PreparingPush::default()
        });
        let exp = logs_exporter(&tel, &queue(10, 1), &retry_without_jitter(0), push.clone());
        // Not started: all six (3,000 bytes each) are queued when the worker starts.
        for seed in 0..6 {
            exp.consume(logs(3, seed)).await.unwrap();
        }
        exp.start(&Host::default()).await.unwrap();
        exp.shutdown().await.unwrap();
        assert_eq!(
            *push.sent_sizes.lock().unwrap(),
            want_sizes,
            "limit {limit}"
        );
        assert_eq!(*push.merged.lock().unwrap(), want_merges, "limit {limit}");
        assert_eq!(
            push.attempts.load(Ordering::SeqCst),
            want_sizes.len() + fail_first
        );
        assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 18.0);
        assert_eq!(metric(&tel, "otelcol_exporter_queue_size"), 0.0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_prepared_request_is_made_once_and_retried_as_it_is() {
    let tel = Telemetry::default();
    let push = Arc::new(PreparingPush {
        fail_first: 2,
        ..PreparingPush::default()
    });
    let exp = logs_exporter(&tel, &queue(10, 1), &retry_without_jitter(0), push.clone());
    exp.start(&Host::default()).await.unwrap();
    exp.consume(logs(7, 1)).await.unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(push.prepared.load(Ordering::SeqCst), 1);
    assert_eq!(push.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(push.pushed_batches.load(Ordering::SeqCst), 0);
    assert_eq!(push.delivered_items.load(Ordering::SeqCst), 7);
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 7.0);
}

#[tokio::test]
async fn the_bytes_sizer_counts_a_prepared_requests_own_bytes() {
    let tel = Telemetry::default();
    let push = Arc::new(PreparingPush::default());
    let cfg = QueueSettings {
        sizer: Sizer::Bytes,
        queue_size: 5000,
        ..queue(0, 1)
    };
    // Not started: what is offered stays queued.
    let exp = logs_exporter(&tel, &cfg, &RetrySettings::default(), push);
    exp.consume(logs(3, 1)).await.expect("3000 bytes fit");
    let err = exp.consume(logs(3, 2)).await.unwrap_err();
    assert_eq!(err.message, "sending queue is full");
    assert_eq!(metric(&tel, "otelcol_exporter_queue_size"), 3000.0);
}

#[tokio::test]
async fn a_batch_that_cannot_be_prepared_is_counted_as_failed() {
    let tel = Telemetry::default();
    let push = Arc::new(PreparingPush {
        refuse_items: Some(4),
        ..PreparingPush::default()
    });
    let exp = logs_exporter(&tel, &queue(10, 1), &RetrySettings::default(), push.clone());
    exp.start(&Host::default()).await.unwrap();
    let err = exp.consume(logs(4, 1)).await.unwrap_err();
    assert!(!err.is_retryable());
    exp.consume(logs(2, 2)).await.unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(
        metric(&tel, "otelcol_exporter_send_failed_log_records"),
        4.0
    );
    assert_eq!(metric(&tel, "otelcol_exporter_sent_log_records"), 2.0);
    assert_eq!(push.delivered_items.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn queue_batching_and_no_queue_send_batches_not_prepared_requests() {
    for cfg in [
        QueueSettings {
            batch: Some(QueueBatchSettings::default()),
            ..queue(10, 1)
        },
        no_queue(),
    ] {
        let tel = Telemetry::default();
        let push = Arc::new(PreparingPush::default());
        let exp = logs_exporter(&tel, &cfg, &RetrySettings::default(), push.clone());
        exp.start(&Host::default()).await.unwrap();
        exp.consume(logs(5, 1)).await.unwrap();
        exp.shutdown().await.unwrap();
        assert_eq!(push.prepared.load(Ordering::SeqCst), 0);
        assert_eq!(push.pushed_batches.load(Ordering::SeqCst), 1);
        assert_eq!(push.delivered_items.load(Ordering::SeqCst), 5);
    }
}

#[tokio::test]
async fn a_caller_that_waits_for_space_is_queued_when_space_frees_not_refused() {
    let tel = Telemetry::default();
    let push = Arc::new(FakePush {
        gate: Some(Semaphore::new(0)),
        ..FakePush::default()
    });
    let exp = logs_exporter(&tel, &queue(1, 1), &RetrySettings::default(), push.clone());
    exp.start(&Host::default()).await.unwrap();
    // The worker takes the first batch and is held at the gate; the second fills the queue.
    exp.consume(logs(1, 1)).await.unwrap();
    push.entered.notified().await;
    exp.consume(logs(2, 2)).await.unwrap();
    // A plain caller is refused; a waiting one waits until the worker frees the space.
    let err = exp.consume(logs(3, 3)).await.unwrap_err();
    assert_eq!(err.message, "sending queue is full");
    let until = tokio_util::sync::CancellationToken::new();
    let exp2 = exp.clone();
    let waiting = tokio::spawn(waiting_for_queue_space(until.clone(), async move {
        exp2.consume(logs(4, 4)).await
    }));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "waits while the queue is full");
    push.gate.as_ref().unwrap().add_permits(10);
    waiting.await.unwrap().expect("queued once space freed");
    exp.shutdown().await.unwrap();
    assert_eq!(push.delivered_items.load(Ordering::SeqCst), 1 + 2 + 4);
    assert_eq!(
        metric(&tel, "otelcol_exporter_enqueue_failed_log_records"),
        3.0
    );

    // Cancelling the token ends the wait with the usual refusal.
    let tel = Telemetry::default();
    let exp = logs_exporter(
        &tel,
        &queue(1, 1),
        &RetrySettings::default(),
        Arc::new(FakePush::default()),
    );
    exp.consume(logs(1, 1)).await.unwrap();
    let until = tokio_util::sync::CancellationToken::new();
    let exp2 = exp.clone();
    let waiting = tokio::spawn(waiting_for_queue_space(until.clone(), async move {
        exp2.consume(logs(5, 2)).await
    }));
    tokio::time::sleep(Duration::from_millis(20)).await;
    until.cancel();
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.message, "sending queue is full");
    assert!(err.is_retryable());
}
