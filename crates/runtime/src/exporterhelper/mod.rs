//! The exporter helper: what every queued exporter shares. Sender chain, outermost first:
//! `sending_queue` -> self-metrics -> `retry_on_failure` -> `timeout` -> [`Push::push`].
//! Keys and defaults are the Go collector's (otelcol.md §3).
//!
//! One difference from Go, on purpose: at shutdown Go stops retrying first and gives every
//! queued batch a single attempt, so data queued while the destination is briefly down is lost
//! on SIGTERM. Here shutdown stops taking new data, then keeps delivering the queue with the
//! normal retry policy until it is empty; the service bounds how long by timing out
//! `shutdown`, and only then are the waits between retries cut short and the rest counted as
//! dropped (`otelcol_exporter_send_failed_*` and the `Exporting failed. Dropping data.` log).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use runtime::exporterhelper::{self, Push, QueueSettings, RetrySettings};
//! # fn demo(set: &runtime::Settings, push: Arc<dyn Push>) {
//! let exporter = exporterhelper::build(
//!     set,
//!     runtime::Signal::Traces,
//!     &QueueSettings::default(),
//!     &RetrySettings::default(),
//!     std::time::Duration::from_secs(5),
//!     push,
//! );
//! # }
//! ```

mod persistent;
#[cfg(test)]
mod persistent_tests;
mod queue;
mod retry;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pdata::Batch;
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::component::{Component, ConsumeError, Consumer, Exporter, Host};
use crate::telemetry::ExporterMetrics;
use persistent::PersistentQueue;
use queue::Queue;
pub use retry::Backoff;
use retry::{LogContext, Sender};

/// Sends one batch to the destination. Implemented by each exporter.
///
/// An exporter may also turn a batch into its own wire form before the in-memory queue
/// ([`Push::prepare`], [`Push::push_prepared`]), as Go's request-based exporter helper does
/// with its request converter: the queue then holds the (usually compressed) request instead
/// of the decoded batch, the conversion runs once however often the request is retried, and
/// the batch is freed on the thread that made it. The persistent queue and the queue's own
/// batching (`sending_queue::batch`) need batches, so with either one [`Push::push`] is used.
#[async_trait]
pub trait Push: Send + Sync + 'static {
    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError>;
    /// The request to queue in place of `batch`; `None` (the default) queues the batch.
    /// An error is final for the whole batch: it is counted as failed and returned.
    fn prepare(&self, _batch: &Batch) -> Option<Result<Prepared, ConsumeError>> {
        None
    }
    /// Sends a request made by [`Push::prepare`] (once per attempt).
    async fn push_prepared(&self, _request: &Prepared) -> Result<(), ConsumeError> {
        Err(ConsumeError::permanent(
            "this exporter does not prepare requests",
        ))
    }
    /// How a queue worker may gather prepared requests to hand them to
    /// [`Push::merge_prepared`] together; the default ([`MergeLimit::NONE`]) takes one at a
    /// time. A worker that took a request smaller than `bytes` takes what else is queued,
    /// and waits up to `wait` for more, until the requests it holds reach `bytes` (the last
    /// one may go over). Fewer, larger requests cost the destination and the collector less
    /// per item; the wait is the latency that buys. Queued data stays bounded as before: a
    /// gathered request has left the queue, so each worker holds at most one of them.
    fn merge_limit(&self) -> MergeLimit {
        MergeLimit::NONE
    }
    /// Merges requests taken together from the queue (in queue order) into fewer ones; the
    /// items of the result must be those of `requests`. The default keeps them as they are.
    fn merge_prepared(&self, requests: Vec<Prepared>) -> Vec<Prepared> {
        requests
    }
    async fn start(&self, _host: &Host) -> Result<(), String> {
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), String> {
        Ok(())
    }
}

tokio::task_local! {
    static WAITS_FOR_SPACE: CancellationToken;
}

/// Runs `f` (a receiver handing data to its pipeline) as a caller that would retry a full
/// sending queue's refusal until it is taken: an in-memory queue that is full makes it wait
/// for space instead, as `block_on_overflow` does, until `until` is cancelled (then it gets
/// the usual "sending queue is full" refusal). Nothing changes for data the caller could not
/// retry; for a caller that can, this replaces polling (and redoing the processors' and the
/// exporter's work on every refused attempt) with waiting.
pub async fn waiting_for_queue_space<F: std::future::Future>(
    until: CancellationToken,
    f: F,
) -> F::Output {
    WAITS_FOR_SPACE.scope(until, f).await
}

/// The token of a caller inside [`waiting_for_queue_space`].
pub(crate) fn caller_waits() -> Option<CancellationToken> {
    WAITS_FOR_SPACE.try_with(|t| t.clone()).ok()
}

/// See [`Push::merge_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeLimit {
    /// [`Prepared::bytes`] a worker gathers at most (0: no merging).
    pub bytes: usize,
    /// How long a worker waits for more once the queue is empty.
    pub wait: std::time::Duration,
}

impl MergeLimit {
    pub const NONE: MergeLimit = MergeLimit {
        bytes: 0,
        wait: std::time::Duration::ZERO,
    };
}

/// An exporter's own request, made from a batch by [`Push::prepare`].
pub struct Prepared {
    /// Items (spans, points, records) the request stands for, as the batch counted them.
    pub items: usize,
    /// Its size for the `bytes` sizer.
    pub bytes: usize,
    /// What the exporter needs to send it; [`Push::push_prepared`] downcasts it.
    pub request: Box<dyn std::any::Any + Send + Sync>,
}

impl Prepared {
    /// The exporter's request as it made it (a permanent error if it is of another type).
    pub fn get<T: 'static>(&self) -> Result<&T, ConsumeError> {
        self.request
            .downcast_ref::<T>()
            .ok_or_else(|| ConsumeError::permanent("a prepared request of another exporter"))
    }
}

/// What the in-memory queue holds and the sender sends.
pub(crate) enum Work {
    Batch(Batch),
    Prepared(Prepared),
}

impl Work {
    pub(crate) fn item_count(&self) -> usize {
        match self {
            Work::Batch(b) => b.item_count(),
            Work::Prepared(p) => p.items,
        }
    }
}

/// What the queue counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    #[default]
    Requests,
    Items,
    Bytes,
}

/// `sending_queue`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    pub enabled: bool,
    pub num_consumers: usize,
    pub queue_size: u64,
    pub sizer: Sizer,
    pub block_on_overflow: bool,
    pub wait_for_result: bool,
    /// Id of a storage extension for a persistent queue.
    pub storage: Option<String>,
    /// Exporter-side batching (`batch: {}` enables the defaults).
    #[serde(deserialize_with = "config::present_as_default")]
    pub batch: Option<QueueBatchSettings>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            block_on_overflow: false,
            wait_for_result: false,
            storage: None,
            batch: None,
        }
    }
}

impl QueueSettings {
    /// The Go collector's checks (`queue_size` and `num_consumers` must be positive).
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self.num_consumers == 0 {
            return Err("sending_queue: `num_consumers` must be positive".into());
        }
        if self.queue_size == 0 {
            return Err("sending_queue: `queue_size` must be positive".into());
        }
        if let Some(s) = &self.storage {
            config::ComponentId::parse(s).map_err(|e| format!("sending_queue::storage: {e}"))?;
        }
        if let Some(b) = &self.batch
            && b.max_size != 0
            && b.max_size < b.min_size
        {
            return Err(
                "sending_queue::batch: `max_size` must be greater or equal to `min_size`".into(),
            );
        }
        Ok(())
    }
}

/// `sending_queue::batch`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueBatchSettings {
    pub flush_timeout: config::Duration,
    pub min_size: u64,
    pub max_size: u64,
    pub sizer: Option<Sizer>,
}

impl Default for QueueBatchSettings {
    fn default() -> Self {
        QueueBatchSettings {
            flush_timeout: config::Duration(std::time::Duration::from_millis(200)),
            min_size: 8192,
            max_size: 0,
            sizer: None,
        }
    }
}

/// `retry_on_failure`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    pub enabled: bool,
    pub initial_interval: config::Duration,
    pub randomization_factor: f64,
    pub multiplier: f64,
    pub max_interval: config::Duration,
    /// 0 = retry forever.
    pub max_elapsed_time: config::Duration,
}

impl RetrySettings {
    /// The Go collector's checks (configretry `BackOffConfig.Validate`).
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            return Err("retry_on_failure: 'randomization_factor' must be within [0, 1]".into());
        }
        if self.multiplier < 0.0 || !self.multiplier.is_finite() {
            return Err("retry_on_failure: 'multiplier' must be non-negative".into());
        }
        if self.max_elapsed_time.0 != std::time::Duration::ZERO
            && self.max_elapsed_time.0 < self.initial_interval.0
        {
            return Err(
                "retry_on_failure: 'max_elapsed_time' must not be less than 'initial_interval'"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        use std::time::Duration as D;
        RetrySettings {
            enabled: true,
            initial_interval: config::Duration(D::from_secs(5)),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: config::Duration(D::from_secs(30)),
            max_elapsed_time: config::Duration(D::from_secs(300)),
        }
    }
}

/// Builds the sender chain around `push` as an [`crate::Exporter`]. Queue workers start in
/// `start`; `shutdown` drains the queue (see the module docs).
pub fn build(
    set: &crate::Settings,
    signal: pdata::Signal,
    queue: &QueueSettings,
    retry: &RetrySettings,
    timeout: std::time::Duration,
    push: Arc<dyn Push>,
) -> Arc<dyn crate::Exporter> {
    let id = set.id.to_string();
    let metrics = ExporterMetrics::new(&set.telemetry, &id, signal);
    let num_consumers = queue.num_consumers.max(1);
    let storage = queue
        .storage
        .as_deref()
        .and_then(|s| config::ComponentId::parse(s).ok());
    let queue = queue.enabled.then(|| match storage {
        Some(storage) => QueueKind::Persistent(Arc::new(PersistentQueue::new(
            queue,
            storage,
            signal,
            &set.telemetry,
            &id,
        ))),
        None => QueueKind::Memory(Arc::new(Queue::new(queue))),
    });
    metrics
        .queue_capacity
        .set(queue.as_ref().map_or(0, |q| match q {
            QueueKind::Memory(q) => q.capacity() as i64,
            QueueKind::Persistent(q) => q.capacity() as i64,
        }));
    let sender = Arc::new(Sender {
        push,
        retry: retry.clone(),
        timeout,
        metrics,
        log: LogContext {
            id: Arc::from(id),
            signal,
        },
        abort: CancellationToken::new(),
    });
    Arc::new(HelperExporter {
        owner: set.id.clone(),
        sender,
        queue,
        num_consumers,
        workers: Mutex::new(Vec::new()),
    })
}

/// The in-memory queue, or the persistent one (`sending_queue.storage`).
enum QueueKind {
    Memory(Arc<Queue>),
    Persistent(Arc<PersistentQueue>),
}

/// An exporter made of the sender chain.
struct HelperExporter {
    owner: config::ComponentId,
    sender: Arc<Sender>,
    queue: Option<QueueKind>,
    num_consumers: usize,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

#[async_trait]
impl Consumer for HelperExporter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        match &self.queue {
            Some(QueueKind::Memory(q)) => {
                let work = if q.batches() {
                    Work::Batch(batch)
                } else {
                    match self.sender.push.prepare(&batch) {
                        None => Work::Batch(batch),
                        Some(Ok(p)) => Work::Prepared(p),
                        Some(Err(e)) => {
                            let items = batch.item_count();
                            self.sender.metrics.send_failed.add(items as u64);
                            self.sender.log_dropped(&e, items);
                            return Err(e);
                        }
                    }
                };
                q.offer(work, &self.sender).await
            }
            Some(QueueKind::Persistent(q)) => q.offer(batch, &self.sender).await,
            None => self.sender.send(&Work::Batch(batch)).await,
        }
    }
}

#[async_trait]
impl Component for HelperExporter {
    async fn start(&self, host: &Host) -> Result<(), String> {
        self.sender.push.start(host).await?;
        if let Some(QueueKind::Persistent(q)) = &self.queue {
            q.open(host, &self.owner, &self.sender).await?;
        }
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        if workers.is_empty() {
            for _ in 0..self.num_consumers {
                match &self.queue {
                    Some(QueueKind::Memory(q)) => {
                        workers.push(tokio::spawn(q.clone().work(self.sender.clone())))
                    }
                    Some(QueueKind::Persistent(q)) => {
                        workers.push(tokio::spawn(q.clone().work(self.sender.clone())))
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Stops taking data, delivers everything queued (retrying as usual), then shuts the
    /// destination down. If the caller stops waiting (its shutdown timeout), the guard below
    /// cuts the retries short and the workers count what is left as dropped.
    async fn shutdown(&self) -> Result<(), String> {
        let abort_if_abandoned = self.sender.abort.clone().drop_guard();
        if let Some(QueueKind::Persistent(q)) = &self.queue {
            // What is not exported stays on disk for the next start: stop at once.
            q.close();
            self.sender.abort.cancel();
            let workers =
                std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
            for w in workers {
                let _ = w.await;
            }
            q.close_log();
        }
        if let Some(QueueKind::Memory(q)) = &self.queue {
            q.close();
            let workers =
                std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
            if workers.is_empty() {
                // Never started: nobody will deliver what is queued; count it as dropped.
                self.sender.abort.cancel();
                q.clone().work(self.sender.clone()).await;
            }
            for w in workers {
                let _ = w.await;
            }
        }
        abort_if_abandoned.disarm();
        self.sender.push.shutdown().await
    }
}

impl Exporter for HelperExporter {}

impl Drop for HelperExporter {
    fn drop(&mut self) {
        self.sender.abort.cancel();
        match &self.queue {
            Some(QueueKind::Memory(q)) => {
                q.close();
                q.close_space();
            }
            Some(QueueKind::Persistent(q)) => {
                q.close();
                // The log's directory lock goes with the exporter, not with the last worker.
                q.close_log();
            }
            None => {}
        }
    }
}
