use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pdata::{Batch, Request, Signal};
use prost::Message;
use runtime::factory::{ProcessorFactory, Settings};
use runtime::{Component, ConsumeError, Consumer, Host, Kind, Telemetry};
use tokio::sync::Semaphore;

use super::{BatchProcessor, CHANNEL_CAPACITY, Config, Factory};

/// What the next consumer does with a batch.
enum Behaviour {
    Accept,
    /// Refuses every batch with this error.
    Fail(ConsumeError),
    /// Refuses the first `n` attempts with this error, then accepts.
    FailFirst(AtomicUsize, ConsumeError),
    /// Waits for a permit per batch, then accepts.
    Gate(Arc<Semaphore>),
}

struct Sink {
    behaviour: Behaviour,
    attempts: AtomicUsize,
    got: Mutex<Vec<Batch>>,
}

impl Sink {
    fn new(behaviour: Behaviour) -> Arc<Sink> {
        Arc::new(Sink {
            behaviour,
            attempts: AtomicUsize::new(0),
            got: Mutex::new(Vec::new()),
        })
    }

    fn sizes(&self) -> Vec<usize> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(Batch::item_count)
            .collect()
    }

    fn total(&self) -> usize {
        self.sizes().iter().sum()
    }
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        match &self.behaviour {
            Behaviour::Accept => {}
            Behaviour::Fail(e) => return Err(e.clone()),
            Behaviour::FailFirst(left, e) => {
                if left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return Err(e.clone());
                }
            }
            Behaviour::Gate(s) => s.acquire().await.expect("semaphore open").forget(),
        }
        self.got.lock().unwrap().push(batch);
        Ok(())
    }
}

/// An encoded traces batch of `resources` × `spans` spans.
fn spans(resources: usize, spans: usize, seed: u64) -> Batch {
    let req = pdata::testdata::traces(resources, spans, seed);
    Batch::from_encoded(Signal::Traces, Bytes::from(req.encode_to_vec())).expect("valid request")
}

fn config(size: u32, max: u32, timeout: Duration) -> Config {
    Config {
        send_batch_size: size,
        send_batch_max_size: max,
        timeout: config::Duration(timeout),
        ..Config::default()
    }
}

fn created(cfg: &Config, sink: &Arc<Sink>) -> (Arc<BatchProcessor>, Telemetry) {
    let tel = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("batch"),
        kind: Kind::Processor,
        telemetry: tel.clone(),
    };
    (
        Arc::new(BatchProcessor::new(&set, cfg, Signal::Traces, sink.clone())),
        tel,
    )
}

async fn started(cfg: &Config, sink: &Arc<Sink>) -> (Arc<BatchProcessor>, Telemetry) {
    let (p, tel) = created(cfg, sink);
    p.start(&Host::default()).await.unwrap();
    (p, tel)
}

fn metric(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("processor", "batch")]).unwrap_or(0.0)
}

fn dropped(tel: &Telemetry, reason: &str) -> f64 {
    tel.value(
        "otelcol_processor_batch_dropped_items",
        &[("processor", "batch"), ("reason", reason)],
    )
    .unwrap_or(0.0)
}

/// Waits (up to 5 s) until `cond` holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Starts `n` concurrent consumes of `per` spans each.
fn spawn_consumes(
    p: &Arc<BatchProcessor>,
    n: usize,
    per: usize,
) -> Vec<tokio::task::JoinHandle<Result<(), ConsumeError>>> {
    (0..n)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.consume(spans(1, per, i as u64)).await })
        })
        .collect()
}

#[tokio::test]
async fn requests_are_merged_and_sent_at_send_batch_size() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(12, 0, Duration::from_secs(3600)), &sink).await;
    for i in 0..3 {
        p.consume(spans(1, 3, i)).await.expect("accepted at once");
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        sink.sizes().is_empty(),
        "9 items: below send_batch_size, no timeout yet"
    );
    p.consume(spans(1, 3, 3)).await.unwrap();
    eventually("the merged batch is sent", || sink.sizes() == vec![12]).await;
    let sent = sink.got.lock().unwrap()[0].clone();
    assert!(sent.is_encoded(), "merging keeps the protobuf bytes");
    match sent.request().unwrap().as_ref() {
        Request::Traces(r) => assert_eq!(r.resource_spans.len(), 4),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_size_trigger_send"),
        1.0
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_timeout_trigger_send"),
        0.0
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_send_size"),
        1.0,
        "one histogram observation"
    );
    let text = tel.render();
    assert!(
        text.contains(
            "otelcol_processor_batch_batch_send_size_bucket{processor=\"batch\",le=\"25\"} 1\n"
        ),
        "{text}"
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_incoming_items",
            &[("processor", "batch")]
        ),
        Some(12.0)
    );
    assert_eq!(
        tel.value(
            "otelcol_processor_outgoing_items",
            &[("processor", "batch")]
        ),
        Some(12.0)
    );
}

#[tokio::test]
async fn small_batches_are_sent_when_the_timeout_passes() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(8192, 0, Duration::from_millis(50)), &sink).await;
    p.consume(spans(1, 5, 1)).await.unwrap();
    eventually("the timer sends the batch", || sink.sizes() == vec![5]).await;
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_timeout_trigger_send"),
        1.0
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_size_trigger_send"),
        0.0
    );
}

#[tokio::test]
async fn zero_timeout_sends_every_request_at_once() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, _tel) = started(&config(8192, 0, Duration::ZERO), &sink).await;
    p.consume(spans(1, 3, 1)).await.unwrap();
    p.consume(spans(1, 4, 2)).await.unwrap();
    eventually("both are sent", || sink.sizes() == vec![3, 4]).await;
}

#[tokio::test]
async fn batches_above_send_batch_max_size_are_split_into_exact_parts() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(10, 15, Duration::from_secs(3600)), &sink).await;
    p.consume(spans(4, 10, 7)).await.unwrap();
    eventually("all 40 spans are sent", || sink.total() == 40).await;
    assert_eq!(sink.sizes(), vec![15, 15, 10]);
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_size_trigger_send"),
        3.0
    );
}

#[tokio::test]
async fn a_split_remainder_below_send_batch_size_waits_for_the_timeout() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(10, 15, Duration::from_millis(100)), &sink).await;
    // 38 spans: two full parts go at once, the last 8 wait for the timer.
    p.consume(spans(2, 19, 3)).await.unwrap();
    eventually("the full parts are sent", || sink.sizes() == vec![15, 15]).await;
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_timeout_trigger_send"),
        0.0
    );
    eventually("the remainder is sent by the timer", || {
        sink.sizes() == vec![15, 15, 8]
    })
    .await;
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_size_trigger_send"),
        2.0
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_timeout_trigger_send"),
        1.0
    );
}

#[tokio::test]
async fn shutdown_sends_everything_held_before_returning() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, _tel) = started(&config(8192, 0, Duration::from_secs(3600)), &sink).await;
    for h in spawn_consumes(&p, 3, 7) {
        h.await.unwrap().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        sink.sizes().is_empty(),
        "held: neither size nor timeout reached"
    );
    p.shutdown().await.unwrap();
    assert_eq!(sink.sizes(), vec![21]);
    let late = p
        .consume(spans(1, 1, 9))
        .await
        .expect_err("no data is taken after shutdown");
    assert!(late.is_retryable(), "{late:?}");
}

#[tokio::test]
async fn a_slow_next_consumer_makes_consume_wait_instead_of_buffering() {
    let gate = Arc::new(Semaphore::new(0));
    let sink = Sink::new(Behaviour::Gate(gate.clone()));
    let (p, _tel) = started(&config(1, 0, Duration::ZERO), &sink).await;
    let n = CHANNEL_CAPACITY + 20;
    let consumes = spawn_consumes(&p, n, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = consumes.iter().filter(|h| !h.is_finished()).count();
    // One batch is with the stuck consumer, the channel holds CHANNEL_CAPACITY more; the
    // rest wait in `consume`.
    assert_eq!(waiting, n - CHANNEL_CAPACITY - 1);
    gate.add_permits(n);
    for h in consumes {
        h.await.unwrap().unwrap();
    }
    eventually("everything arrives", || sink.total() == 2 * n).await;
}

#[tokio::test]
async fn while_the_next_consumer_refuses_new_data_is_refused_and_held_data_is_retried() {
    let full = ConsumeError::retryable("sending queue is full");
    let sink = Sink::new(Behaviour::FailFirst(AtomicUsize::new(3), full.clone()));
    let (p, tel) = started(&config(1, 0, Duration::ZERO), &sink).await;
    p.consume(spans(1, 4, 1))
        .await
        .expect("accepted before any refusal");
    eventually("the first send was refused", || {
        sink.attempts.load(Ordering::Relaxed) >= 1
    })
    .await;
    let refused = p
        .consume(spans(1, 5, 2))
        .await
        .expect_err("the refusal reaches the sender");
    assert_eq!(
        refused, full,
        "the next consumer's own error, so the receiver maps it the same way"
    );
    assert_eq!(metric(&tel, "otelcol_processor_batch_refused_items"), 5.0);
    eventually("the held batch goes through on a retry", || {
        sink.sizes() == vec![4]
    })
    .await;
    assert_eq!(
        sink.attempts.load(Ordering::Relaxed),
        4,
        "three refusals, then success"
    );
    p.consume(spans(1, 6, 3))
        .await
        .expect("accepted again once the next consumer accepts");
    eventually("new data flows", || sink.sizes() == vec![4, 6]).await;
    assert_eq!(
        dropped(&tel, "permanent_error") + dropped(&tel, "shutdown"),
        0.0,
        "nothing lost"
    );
}

#[tokio::test]
async fn a_permanent_error_is_logged_and_counted_as_dropped() {
    let sink = Sink::new(Behaviour::Fail(ConsumeError::permanent("bad data")));
    let (p, tel) = started(&config(1, 0, Duration::ZERO), &sink).await;
    p.consume(spans(1, 4, 1)).await.unwrap();
    eventually("the drop is counted", || {
        dropped(&tel, "permanent_error") == 4.0
    })
    .await;
    assert_eq!(
        sink.attempts.load(Ordering::Relaxed),
        1,
        "a permanent error is not retried"
    );
    p.consume(spans(1, 2, 2))
        .await
        .expect("a permanent error does not make the processor refuse");
    eventually("that one is counted too", || {
        dropped(&tel, "permanent_error") == 6.0
    })
    .await;
}

#[tokio::test]
async fn data_still_refused_at_shutdown_is_counted_as_dropped() {
    let sink = Sink::new(Behaviour::Fail(ConsumeError::retryable("backend down")));
    let (p, tel) = created(&config(8192, 0, Duration::from_secs(3600)), &sink);
    p.idle
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .shutdown_retry_window = Duration::from_millis(200);
    p.start(&Host::default()).await.unwrap();
    p.consume(spans(1, 9, 1)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), p.shutdown())
        .await
        .expect("shutdown gives up after the retry window")
        .unwrap();
    assert_eq!(dropped(&tel, "shutdown"), 9.0);
    assert!(
        sink.attempts.load(Ordering::Relaxed) >= 2,
        "retried before giving up"
    );
}

#[test]
fn config_has_go_defaults_and_checks_max_size() {
    let parse = |yaml: &str| {
        Factory.parse_config(
            &config::Value::from_yaml_str(yaml).unwrap(),
            "processors::batch",
        )
    };
    let cfg = parse("{}").unwrap();
    let cfg = runtime::factory::typed::<Config>(&cfg);
    assert_eq!(*cfg, Config::default());
    assert_eq!(cfg.send_batch_size, 8192);
    assert_eq!(cfg.timeout.0, Duration::from_millis(200));
    assert_eq!(cfg.metadata_cardinality_limit, 1000);

    let err = parse("send_batch_size: 100\nsend_batch_max_size: 50")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("send_batch_max_size must be greater or equal to send_batch_size"),
        "{err}"
    );
    assert!(err.contains("processors::batch"), "{err}");
    assert!(parse("send_batch_size: 100\nsend_batch_max_size: 100").is_ok());
    assert!(parse("timeout: 1s\nmetadata_keys: [tenant]\nmetadata_cardinality_limit: 10").is_ok());
    assert!(parse("unknown_key: 1").is_err());
}

fn from_tenant(batch: Batch, tenant: Option<&str>, other: &str) -> Batch {
    let mut info = pdata::ClientInfo::default();
    if let Some(t) = tenant {
        info.push("X-Tenant", t.to_string());
    }
    info.push("x-other", other.to_string());
    batch.with_client_info(Some(Arc::new(info)))
}

#[tokio::test]
async fn metadata_keys_batch_per_tenant_and_forward_only_those_keys() {
    let sink = Sink::new(Behaviour::Accept);
    let cfg = Config {
        metadata_keys: vec!["x-tenant".into()],
        ..config(10, 0, Duration::from_secs(3600))
    };
    let (p, _tel) = started(&cfg, &sink).await;
    // 6 + 6 spans of tenant a reach the size of 10 together; tenant b's 6 and the 4 with no
    // tenant wait in their own batches until shutdown.
    p.consume(from_tenant(spans(2, 3, 1), Some("a"), "1"))
        .await
        .unwrap();
    p.consume(from_tenant(spans(2, 3, 2), Some("b"), "2"))
        .await
        .unwrap();
    p.consume(from_tenant(spans(2, 2, 3), None, "3"))
        .await
        .unwrap();
    p.consume(from_tenant(spans(2, 3, 4), Some("a"), "4"))
        .await
        .unwrap();
    eventually("tenant a's batch is sent", || sink.total() >= 12).await;
    assert_eq!(sink.sizes(), vec![12]);
    p.shutdown().await.unwrap();
    let got = sink.got.lock().unwrap().clone();
    let mut by_tenant: Vec<(Vec<String>, usize)> = got
        .iter()
        .map(|b| {
            let info = b.client_info().expect("client info forwarded");
            assert!(info.get("x-other").is_empty(), "only metadata_keys go on");
            (info.get("x-tenant").to_vec(), b.item_count())
        })
        .collect();
    by_tenant.sort();
    assert_eq!(
        by_tenant,
        vec![
            (vec![], 4),
            (vec!["a".to_string()], 12),
            (vec!["b".to_string()], 6)
        ]
    );
}

#[tokio::test]
async fn metadata_cardinality_limit_refuses_new_combinations_permanently() {
    let sink = Sink::new(Behaviour::Accept);
    let cfg = Config {
        metadata_keys: vec!["X-Tenant".into()],
        metadata_cardinality_limit: 2,
        ..config(1000, 0, Duration::from_millis(10))
    };
    let (p, _tel) = started(&cfg, &sink).await;
    p.consume(from_tenant(spans(1, 1, 1), Some("a"), ""))
        .await
        .unwrap();
    p.consume(from_tenant(spans(1, 1, 2), Some("b"), ""))
        .await
        .unwrap();
    let err = p
        .consume(from_tenant(spans(1, 1, 3), Some("c"), ""))
        .await
        .unwrap_err();
    assert!(err.is_permanent());
    assert_eq!(err.message, "too many batcher metadata-value combinations");
    // Known combinations are still taken.
    p.consume(from_tenant(spans(1, 1, 4), Some("a"), ""))
        .await
        .unwrap();
    p.shutdown().await.unwrap();
    assert_eq!(sink.total(), 3);
}

#[tokio::test]
async fn without_metadata_keys_client_info_is_dropped_as_go_exports_with_an_empty_context() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, _tel) = started(&config(1, 0, Duration::from_secs(1)), &sink).await;
    p.consume(from_tenant(spans(1, 2, 1), Some("a"), "x"))
        .await
        .unwrap();
    eventually("sent", || sink.total() == 2).await;
    p.shutdown().await.unwrap();
    assert!(sink.got.lock().unwrap()[0].client_info().is_none());
}
