//! The batch processor's task: collects batches, sends them on by size or time, and keeps
//! (and retries) what the next consumer refuses for now, while the processor refuses new
//! data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pdata::{Batch, ClientInfo, Signal};
use runtime::telemetry::{Counter, Histogram, ProcessorMetrics, Telemetry};
use runtime::{ConsumeError, ErrorKind, SharedConsumer};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Config;

/// Bucket bounds of `otelcol_processor_batch_batch_send_size`, as the Go collector's.
const SEND_SIZE_BOUNDS: [f64; 22] = [
    10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0,
    6000.0, 7000.0, 8000.0, 9000.0, 10000.0, 20000.0, 30000.0, 50000.0, 100000.0,
];

/// First wait before sending a refused batch again; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
/// Short, because new data is refused while waiting: recovery should be noticed quickly.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long shutdown keeps retrying refused data before counting it as dropped.
pub(super) const SHUTDOWN_RETRY_WINDOW: Duration = Duration::from_secs(5);

/// Set while the next consumer refuses data for now: `consume` answers new data with the
/// refusal (so senders back off and retry) while the task retries what it holds.
#[derive(Default)]
pub(super) struct Refusal {
    active: AtomicBool,
    error: Mutex<Option<ConsumeError>>,
}

impl Refusal {
    /// The next consumer's refusal, while it lasts.
    pub fn current(&self) -> Option<ConsumeError> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, e: &ConsumeError) -> bool {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        !self.active.swap(true, Ordering::AcqRel)
    }

    fn clear(&self) -> bool {
        self.active.swap(false, Ordering::AcqRel)
    }
}

/// The self-metrics of one batch processor.
#[derive(Clone)]
pub(super) struct Metrics {
    pub processor: ProcessorMetrics,
    pub refused: Counter,
    send_size: Histogram,
    timeout_trigger: Counter,
    size_trigger: Counter,
    dropped_permanent: Counter,
    dropped_rejected: Counter,
    dropped_shutdown: Counter,
}

impl Metrics {
    pub fn new(tel: &Telemetry, id: &str, signal: Signal) -> Self {
        let l = [("processor", id)];
        let dropped = |reason| {
            tel.counter(
                "otelcol_processor_batch_dropped_items",
                "Number of items the batch processor could not deliver (ferrotel addition).",
                &[("processor", id), ("reason", reason)],
            )
        };
        Metrics {
            processor: ProcessorMetrics::new(tel, id, signal),
            refused: tel.counter(
                "otelcol_processor_batch_refused_items",
                "Number of items refused because the next consumer was refusing data (ferrotel addition).",
                &l,
            ),
            send_size: tel.histogram(
                "otelcol_processor_batch_batch_send_size",
                "Number of units in the batch",
                &l,
                &SEND_SIZE_BOUNDS,
            ),
            timeout_trigger: tel.counter(
                "otelcol_processor_batch_timeout_trigger_send",
                "Number of times the batch was sent due to a timeout trigger",
                &l,
            ),
            size_trigger: tel.counter(
                "otelcol_processor_batch_batch_size_trigger_send",
                "Number of times the batch was sent due to a size trigger",
                &l,
            ),
            dropped_permanent: dropped("permanent_error"),
            dropped_rejected: dropped("rejected"),
            dropped_shutdown: dropped("shutdown"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Size,
    Timeout,
}

pub(super) struct Batcher {
    next: SharedConsumer,
    rx: mpsc::Receiver<Batch>,
    metrics: Metrics,
    refusal: Arc<Refusal>,
    stop: CancellationToken,
    id: String,
    send_batch_size: usize,
    send_batch_max_size: usize,
    /// `None` when `timeout` is 0: every batch is sent as it arrives.
    timeout: Option<Duration>,
    pub(super) shutdown_retry_window: Duration,
    /// The data held, per distinct `metadata_keys` values (one shard without them).
    shards: HashMap<Option<Arc<ClientInfo>>, Shard>,
}

/// The data held for one combination of metadata values, in arrival order.
#[derive(Default)]
struct Shard {
    held: Vec<Batch>,
    held_items: usize,
}

impl Batcher {
    pub fn new(
        cfg: &Config,
        next: SharedConsumer,
        rx: mpsc::Receiver<Batch>,
        metrics: Metrics,
        refusal: Arc<Refusal>,
        stop: CancellationToken,
        id: String,
    ) -> Self {
        Batcher {
            next,
            rx,
            metrics,
            refusal,
            stop,
            id,
            send_batch_size: cfg.send_batch_size as usize,
            send_batch_max_size: cfg.send_batch_max_size as usize,
            timeout: (!cfg.timeout.0.is_zero()).then_some(cfg.timeout.0),
            shutdown_retry_window: SHUTDOWN_RETRY_WINDOW,
            shards: HashMap::new(),
        }
    }

    /// Runs until the processor is shut down (or every sender is gone), then sends what it
    /// holds and what is still in the channel.
    pub async fn run(mut self) {
        // As in Go, the timer measures from the last send, so an item waits at most
        // `timeout` and on average about half of it.
        let period = self.timeout.unwrap_or(Duration::from_secs(3600));
        let timer = tokio::time::sleep(period);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                _ = self.stop.cancelled() => break,
                msg = self.rx.recv() => match msg {
                    Some(batch) => {
                        let (key, held_items) = self.hold(batch);
                        if self.timeout.is_none() || held_items >= self.send_batch_size {
                            self.send(key, Trigger::Size).await;
                            timer.as_mut().reset(Instant::now() + period);
                        }
                    }
                    None => break,
                },
                _ = timer.as_mut(), if self.timeout.is_some() => {
                    // One timer for every shard: an item still waits at most `timeout`.
                    self.send_all().await;
                    timer.as_mut().reset(Instant::now() + period);
                }
            }
        }
        // Take no new data, then send what is already queued and held.
        self.rx.close();
        while let Some(batch) = self.rx.recv().await {
            let (key, held_items) = self.hold(batch);
            if held_items >= self.send_batch_size.max(1) {
                self.send(key, Trigger::Size).await;
            }
        }
        self.send_all().await;
    }

    /// Adds `batch` to its shard; returns the shard's key and how many items it holds now.
    fn hold(&mut self, batch: Batch) -> (Option<Arc<ClientInfo>>, usize) {
        let key = batch.client_info().cloned();
        let shard = self.shards.entry(key.clone()).or_default();
        shard.held_items += batch.item_count();
        shard.held.push(batch);
        (key, shard.held_items)
    }

    /// Sends every shard that holds data (timer, shutdown).
    async fn send_all(&mut self) {
        let keys: Vec<_> = self
            .shards
            .iter()
            .filter(|(_, s)| s.held_items > 0)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.send(key, Trigger::Timeout).await;
        }
    }

    /// Sends what is held, in parts of at most `send_batch_max_size`. On a size trigger with
    /// a timer, a last part smaller than `send_batch_size` stays held (as in Go).
    async fn send(&mut self, key: Option<Arc<ClientInfo>>, trigger: Trigger) {
        let Some(mut shard) = self.shards.remove(&key) else {
            return;
        };
        let held = std::mem::take(&mut shard.held);
        let merged = if held.len() == 1 {
            held.into_iter().next().expect("one batch")
        } else {
            Batch::concat(held)
        };
        let mut parts = merged.split(self.send_batch_max_size).into_iter();
        let keep_below =
            (trigger == Trigger::Size && self.timeout.is_some()).then_some(self.send_batch_size);
        for part in parts.by_ref() {
            if keep_below.is_some_and(|min| shard.held_items < min) {
                shard.held.push(part);
                break;
            }
            let n = part.item_count();
            shard.held_items -= n;
            self.metrics.send_size.record(n as f64);
            match trigger {
                Trigger::Size => self.metrics.size_trigger.add(1),
                Trigger::Timeout => self.metrics.timeout_trigger.add(1),
            }
            self.metrics.processor.outgoing.add(n as u64);
            self.deliver(part).await;
        }
        shard.held.extend(parts);
        if shard.held_items > 0 {
            self.shards.insert(key, shard);
        }
    }

    /// Sends one part. A retryable refusal makes the processor refuse new data while this
    /// part is sent again with backoff until it is taken; during shutdown the retries stop
    /// after `shutdown_retry_window` and the part is counted as dropped. A permanent error
    /// cannot be helped by retrying: the part is counted as dropped.
    async fn deliver(&self, part: Batch) {
        let n = part.item_count() as u64;
        let mut delay = FIRST_RETRY_DELAY;
        let mut give_up_at = None;
        loop {
            let e = match self.next.consume(part.clone()).await {
                Ok(()) => {
                    if self.refusal.clear() {
                        tracing::info!(processor = %self.id, "Next consumer accepts data again; accepting new data.");
                    }
                    return;
                }
                Err(e) => e,
            };
            match e.kind {
                ErrorKind::Permanent => {
                    tracing::warn!(processor = %self.id, error = %e, dropped_items = n, "Sender failed");
                    self.metrics.dropped_permanent.add(n);
                    return;
                }
                ErrorKind::Partial { rejected } => {
                    tracing::warn!(processor = %self.id, error = %e, rejected_items = rejected, "Sender failed");
                    self.metrics.dropped_rejected.add(rejected.min(n));
                    return;
                }
                ErrorKind::Retryable => {}
            }
            if self.refusal.set(&e) {
                tracing::warn!(
                    processor = %self.id, error = %e, items = n,
                    "Sender failed; keeping the data to send again and refusing new data until the next consumer accepts"
                );
            }
            let wait = e.retry_after.map_or(delay, |d| d.max(delay));
            delay = (delay * 2).min(MAX_RETRY_DELAY);
            if self.stop.is_cancelled() {
                let deadline =
                    *give_up_at.get_or_insert_with(|| Instant::now() + self.shutdown_retry_window);
                if Instant::now() + wait > deadline {
                    tracing::error!(processor = %self.id, error = %e, dropped_items = n, "Sender failed at shutdown; dropping data");
                    self.metrics.dropped_shutdown.add(n);
                    return;
                }
                tokio::time::sleep(wait).await;
            } else {
                // Shutdown cuts a long wait short and starts the bounded retry window.
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.stop.cancelled() => {}
                }
            }
        }
    }
}
