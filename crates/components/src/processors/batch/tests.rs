use std::sync::Arc;
use std::sync::Mutex;
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
    Fail(ConsumeError),
    /// Waits for a permit per batch, then accepts.
    Gate(Arc<Semaphore>),
    /// Waits, then fails.
    SlowFail(Duration, ConsumeError),
}

struct Sink {
    behaviour: Behaviour,
    got: Mutex<Vec<Batch>>,
}

impl Sink {
    fn new(behaviour: Behaviour) -> Arc<Sink> {
        Arc::new(Sink {
            behaviour,
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
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        match &self.behaviour {
            Behaviour::Accept => {}
            Behaviour::Fail(e) => return Err(e.clone()),
            Behaviour::Gate(s) => s.acquire().await.expect("semaphore open").forget(),
            Behaviour::SlowFail(d, e) => {
                tokio::time::sleep(*d).await;
                return Err(e.clone());
            }
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

async fn started(cfg: &Config, sink: &Arc<Sink>) -> (Arc<BatchProcessor>, Telemetry) {
    let tel = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("batch"),
        kind: Kind::Processor,
        telemetry: tel.clone(),
    };
    let p = Arc::new(BatchProcessor::new(&set, cfg, Signal::Traces, sink.clone()));
    p.start(&Host::default()).await.unwrap();
    (p, tel)
}

fn metric(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("processor", "batch")]).unwrap_or(0.0)
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
async fn concurrent_requests_are_merged_and_sent_at_send_batch_size() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(12, 0, Duration::from_secs(3600)), &sink).await;
    for h in spawn_consumes(&p, 4, 3) {
        h.await
            .unwrap()
            .expect("each request is answered with the send's success");
    }
    assert_eq!(sink.sizes(), vec![12]);
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
    let answer = tokio::time::timeout(Duration::from_secs(5), p.consume(spans(1, 5, 1))).await;
    answer
        .expect("answered once the timeout sent the batch")
        .unwrap();
    assert_eq!(sink.sizes(), vec![5]);
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
    assert_eq!(sink.sizes(), vec![3, 4]);
}

#[tokio::test]
async fn batches_above_send_batch_max_size_are_split_into_exact_parts() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(10, 15, Duration::from_secs(3600)), &sink).await;
    p.consume(spans(4, 10, 7)).await.unwrap();
    assert_eq!(sink.sizes(), vec![15, 15, 10]);
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_batch_size_trigger_send"),
        3.0
    );
}

#[tokio::test]
async fn a_split_remainder_below_send_batch_size_waits_for_the_timeout() {
    let sink = Sink::new(Behaviour::Accept);
    let (p, tel) = started(&config(10, 15, Duration::from_millis(50)), &sink).await;
    // 38 spans: two full parts go at once, the last 8 wait for the timer; the request is
    // answered only when all of its spans are sent.
    p.consume(spans(2, 19, 3)).await.unwrap();
    assert_eq!(sink.sizes(), vec![15, 15, 8]);
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
    let waiting = spawn_consumes(&p, 3, 7);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        sink.sizes().is_empty(),
        "held: neither size nor timeout reached"
    );
    p.shutdown().await.unwrap();
    assert_eq!(sink.sizes(), vec![21]);
    for h in waiting {
        h.await
            .unwrap()
            .expect("held requests are answered by the shutdown send");
    }
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
    let waiting = spawn_consumes(&p, n, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        waiting.iter().all(|h| !h.is_finished()),
        "no request is answered while the next consumer is stuck"
    );
    assert_eq!(
        p.tx.capacity(),
        0,
        "the channel is full: further senders wait rather than queue"
    );
    gate.add_permits(n);
    for h in waiting {
        h.await.unwrap().unwrap();
    }
    assert_eq!(sink.sizes().iter().sum::<usize>(), 2 * n);
}

#[tokio::test]
async fn a_next_consumer_error_is_returned_to_every_request_of_the_send_and_counted() {
    let sink = Sink::new(Behaviour::Fail(ConsumeError::retryable(
        "sending queue is full",
    )));
    let (p, tel) = started(&config(6, 0, Duration::from_secs(3600)), &sink).await;
    for h in spawn_consumes(&p, 2, 3) {
        let e = h
            .await
            .unwrap()
            .expect_err("the refusal reaches the sender");
        assert!(e.is_retryable());
        assert_eq!(e.message, "sending queue is full");
    }
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_send_failed_items"),
        6.0
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_dropped_items"),
        0.0,
        "every sender heard of it"
    );
}

#[tokio::test]
async fn failed_items_whose_sender_gave_up_are_counted_as_dropped() {
    let sink = Sink::new(Behaviour::SlowFail(
        Duration::from_millis(100),
        ConsumeError::permanent("bad data"),
    ));
    let (p, tel) = started(&config(1, 0, Duration::ZERO), &sink).await;
    let gave_up = tokio::time::timeout(Duration::from_millis(10), p.consume(spans(1, 4, 1))).await;
    assert!(gave_up.is_err(), "the sender stopped waiting");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        tel.value(
            "otelcol_processor_batch_dropped_items",
            &[("processor", "batch"), ("reason", "send_failed")]
        ),
        Some(4.0)
    );
    assert_eq!(
        metric(&tel, "otelcol_processor_batch_send_failed_items"),
        4.0
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
