//! The batch processor's task: collects batches, sends them on by size or time, and answers
//! every waiting request with the result of the sends that carried its items.

use std::collections::VecDeque;
use std::time::Duration;

use pdata::{Batch, Signal};
use runtime::telemetry::{Counter, Histogram, ProcessorMetrics, Telemetry};
use runtime::{ConsumeError, ErrorKind, SharedConsumer};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Config;

/// Bucket bounds of `otelcol_processor_batch_batch_send_size`, as the Go collector's.
const SEND_SIZE_BOUNDS: [f64; 22] = [
    10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0,
    6000.0, 7000.0, 8000.0, 9000.0, 10000.0, 20000.0, 30000.0, 50000.0, 100000.0,
];

/// One request's data on its way to the task, with where to send the answer.
pub(super) struct Pending {
    pub batch: Batch,
    pub done: oneshot::Sender<Result<(), ConsumeError>>,
}

/// The self-metrics of one batch processor.
#[derive(Clone)]
pub(super) struct Metrics {
    pub processor: ProcessorMetrics,
    send_size: Histogram,
    timeout_trigger: Counter,
    size_trigger: Counter,
    send_failed: Counter,
    dropped: Counter,
}

impl Metrics {
    pub fn new(tel: &Telemetry, id: &str, signal: Signal) -> Self {
        let l = [("processor", id)];
        Metrics {
            processor: ProcessorMetrics::new(tel, id, signal),
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
            send_failed: tel.counter(
                "otelcol_processor_batch_send_failed_items",
                "Number of items the next consumer refused (ferrotel addition).",
                &l,
            ),
            dropped: tel.counter(
                "otelcol_processor_batch_dropped_items",
                "Number of items lost because the next consumer refused them and their sender no longer waited for the result (ferrotel addition).",
                &[("processor", id), ("reason", "send_failed")],
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Size,
    Timeout,
}

/// A request whose items are (partly) held and not yet all sent.
struct Waiter {
    /// Its items not sent yet.
    unsent: usize,
    /// Its items in failed sends.
    failed: u64,
    error: Option<ConsumeError>,
    done: oneshot::Sender<Result<(), ConsumeError>>,
}

pub(super) struct Batcher {
    next: SharedConsumer,
    rx: mpsc::Receiver<Pending>,
    metrics: Metrics,
    stop: CancellationToken,
    id: String,
    send_batch_size: usize,
    send_batch_max_size: usize,
    /// `None` when `timeout` is 0: every batch is sent as it arrives.
    timeout: Option<Duration>,
    /// The data held, in arrival order, and the requests it belongs to (same order).
    held: Vec<Batch>,
    held_items: usize,
    waiters: VecDeque<Waiter>,
}

impl Batcher {
    pub fn new(
        cfg: &Config,
        next: SharedConsumer,
        rx: mpsc::Receiver<Pending>,
        metrics: Metrics,
        stop: CancellationToken,
        id: String,
    ) -> Self {
        Batcher {
            next,
            rx,
            metrics,
            stop,
            id,
            send_batch_size: cfg.send_batch_size as usize,
            send_batch_max_size: cfg.send_batch_max_size as usize,
            timeout: (!cfg.timeout.0.is_zero()).then_some(cfg.timeout.0),
            held: Vec::new(),
            held_items: 0,
            waiters: VecDeque::new(),
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
                    Some(p) => {
                        self.hold(p);
                        if self.timeout.is_none() || self.held_items >= self.send_batch_size {
                            self.send(Trigger::Size).await;
                            timer.as_mut().reset(Instant::now() + period);
                        }
                    }
                    None => break,
                },
                _ = timer.as_mut(), if self.timeout.is_some() => {
                    if self.held_items > 0 {
                        self.send(Trigger::Timeout).await;
                    }
                    timer.as_mut().reset(Instant::now() + period);
                }
            }
        }
        // Refuse new data, take what is already queued, and send everything.
        self.rx.close();
        while let Some(p) = self.rx.recv().await {
            self.hold(p);
            if self.held_items >= self.send_batch_size.max(1) {
                self.send(Trigger::Size).await;
            }
        }
        if self.held_items > 0 {
            self.send(Trigger::Timeout).await;
        }
    }

    fn hold(&mut self, p: Pending) {
        let n = p.batch.item_count();
        self.held_items += n;
        self.held.push(p.batch);
        self.waiters.push_back(Waiter {
            unsent: n,
            failed: 0,
            error: None,
            done: p.done,
        });
    }

    /// Sends what is held, in parts of at most `send_batch_max_size`. On a size trigger with
    /// a timer, a last part smaller than `send_batch_size` stays held (as in Go).
    async fn send(&mut self, trigger: Trigger) {
        let held = std::mem::take(&mut self.held);
        let merged = if held.len() == 1 {
            held.into_iter().next().expect("one batch")
        } else {
            Batch::concat(held)
        };
        let mut parts: VecDeque<Batch> = merged.split(self.send_batch_max_size).into();
        let keep_below =
            (trigger == Trigger::Size && self.timeout.is_some()).then_some(self.send_batch_size);
        while let Some(part) = parts.pop_front() {
            if keep_below.is_some_and(|min| self.held_items < min) {
                parts.push_front(part);
                break;
            }
            let n = part.item_count();
            self.held_items -= n;
            self.metrics.send_size.record(n as f64);
            match trigger {
                Trigger::Size => self.metrics.size_trigger.add(1),
                Trigger::Timeout => self.metrics.timeout_trigger.add(1),
            }
            self.metrics.processor.outgoing.add(n as u64);
            let result = self.next.consume(part).await;
            if let Err(e) = &result {
                tracing::warn!(processor = %self.id, error = %e, items = n, "Sender failed");
                self.metrics.send_failed.add(failed_items(e, n));
            }
            self.answer(n, result.err());
        }
        self.held = parts.into();
    }

    /// Accounts `n` sent items, oldest first, to their requests; answers the requests whose
    /// items are now all sent.
    fn answer(&mut self, mut n: usize, error: Option<ConsumeError>) {
        while n > 0 {
            let Some(w) = self.waiters.front_mut() else {
                break;
            };
            let take = w.unsent.min(n);
            w.unsent -= take;
            n -= take;
            if let Some(e) = &error {
                w.failed += failed_items(e, take);
                let mine = match e.kind {
                    // The rejected items cannot be attributed to requests; tell each request
                    // at most its own share.
                    ErrorKind::Partial { rejected } => ConsumeError {
                        kind: ErrorKind::Partial {
                            rejected: rejected.min(take as u64),
                        },
                        ..e.clone()
                    },
                    _ => e.clone(),
                };
                w.error = ConsumeError::combine(w.error.take().into_iter().chain([mine]).collect());
            }
            if w.unsent > 0 {
                break;
            }
            let w = self.waiters.pop_front().expect("front exists");
            let result = match w.error {
                Some(e) => Err(e),
                None => Ok(()),
            };
            let failed = result.is_err();
            if w.done.send(result).is_err() && failed {
                self.metrics.dropped.add(w.failed);
            }
        }
    }
}

/// Items of an `n`-item send that `e` says were not taken.
fn failed_items(e: &ConsumeError, n: usize) -> u64 {
    match e.kind {
        ErrorKind::Partial { rejected } => rejected.min(n as u64),
        _ => n as u64,
    }
}
