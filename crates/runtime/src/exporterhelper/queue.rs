//! `sending_queue`: a bounded in-memory queue in front of the retry sender, drained by
//! `num_consumers` workers.
//!
//! Space is a semaphore counted in the sizer's unit (requests, items or bytes); a batch takes
//! its size in permits when enqueued and gives them back when a worker takes it. The batches
//! themselves travel on an unbounded channel, which the semaphore bounds.
//!
//! Shutdown closes the queue for new data and lets the workers deliver everything queued,
//! retrying as usual; see [`super::HelperExporter`].

use std::sync::{Arc, RwLock};

use pdata::Batch;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc, oneshot};
use tokio::time::Instant;

use super::retry::Sender;
use super::{QueueBatchSettings, QueueSettings, Sizer, Work};
use crate::component::ConsumeError;

type Reply = oneshot::Sender<Result<(), ConsumeError>>;

pub(crate) struct Entry {
    work: Work,
    size: u64,
    /// Given back when a worker takes the entry.
    permit: Option<OwnedSemaphorePermit>,
    /// Set with `wait_for_result`: the caller awaits the export outcome.
    reply: Option<Reply>,
}

pub(crate) struct Queue {
    sizer: Sizer,
    capacity: u64,
    block_on_overflow: bool,
    wait_for_result: bool,
    space: Arc<Semaphore>,
    /// `None` once shutdown began: no new data is taken.
    tx: RwLock<Option<mpsc::UnboundedSender<Entry>>>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Entry>>,
    batch: Option<QueueBatchSettings>,
}

pub(crate) fn size_of(sizer: Sizer, batch: &Batch) -> u64 {
    match sizer {
        Sizer::Requests => 1,
        Sizer::Items => batch.item_count() as u64,
        Sizer::Bytes => batch.encoded_len() as u64,
    }
}

/// [`size_of`] for what the queue holds; a prepared request counts its own bytes.
fn work_size(sizer: Sizer, work: &Work) -> u64 {
    match (sizer, work) {
        (_, Work::Batch(b)) => size_of(sizer, b),
        (Sizer::Requests, Work::Prepared(_)) => 1,
        (Sizer::Items, Work::Prepared(p)) => p.items as u64,
        (Sizer::Bytes, Work::Prepared(p)) => p.bytes as u64,
    }
}

impl Queue {
    pub(crate) fn new(cfg: &QueueSettings) -> Queue {
        let (tx, rx) = mpsc::unbounded_channel();
        let permits = usize::try_from(cfg.queue_size)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Queue {
            sizer: cfg.sizer,
            capacity: permits as u64,
            block_on_overflow: cfg.block_on_overflow,
            wait_for_result: cfg.wait_for_result,
            space: Arc::new(Semaphore::new(permits)),
            tx: RwLock::new(Some(tx)),
            rx: tokio::sync::Mutex::new(rx),
            batch: cfg.batch.clone(),
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether workers merge queued batches (`sending_queue::batch`): then the queue must
    /// hold batches, not prepared requests.
    pub(crate) fn batches(&self) -> bool {
        self.batch.is_some()
    }

    /// Takes `batch` into the queue (waiting for space with `block_on_overflow`), then waits
    /// for the export outcome with `wait_for_result`.
    pub(crate) async fn offer(&self, work: Work, sender: &Sender) -> Result<(), ConsumeError> {
        let items = work.item_count() as u64;
        let full = || {
            sender.metrics.enqueue_failed.add(items);
            Err(ConsumeError::retryable("sending queue is full"))
        };
        let size = work_size(self.sizer, &work);
        // A batch larger than the whole queue would never fit, not even by waiting.
        if size > self.capacity {
            return full();
        }
        let Some(tx) = self.tx.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            sender.metrics.enqueue_failed.add(items);
            return Err(ConsumeError::retryable(
                "sending queue is stopped: the exporter is shutting down",
            ));
        };
        let n = size as u32; // size <= capacity <= MAX_PERMITS, and a batch over 4 GiB cannot exist
        let caller = (!self.block_on_overflow)
            .then(super::caller_waits)
            .flatten();
        let permit = if self.block_on_overflow || caller.is_some() {
            let acquired = match &caller {
                None => self.space.clone().acquire_many_owned(n).await,
                Some(until) => tokio::select! {
                    p = self.space.clone().acquire_many_owned(n) => p,
                    _ = until.cancelled() => return full(),
                },
            };
            match acquired {
                Ok(p) => p,
                Err(_) => {
                    sender.metrics.enqueue_failed.add(items);
                    return Err(ConsumeError::retryable(
                        "sending queue is stopped: the exporter is shutting down",
                    ));
                }
            }
        } else {
            match self.space.clone().try_acquire_many_owned(n) {
                Ok(p) => p,
                Err(TryAcquireError::NoPermits) | Err(TryAcquireError::Closed) => return full(),
            }
        };
        let (reply, outcome) = if self.wait_for_result {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        sender.metrics.queue_size.add(size as i64);
        let entry = Entry {
            work,
            size,
            permit: Some(permit),
            reply,
        };
        if tx.send(entry).is_err() {
            sender.metrics.queue_size.add(-(size as i64));
            sender.metrics.enqueue_failed.add(items);
            return Err(ConsumeError::retryable(
                "sending queue is stopped: the exporter is shutting down",
            ));
        }
        drop(tx);
        match outcome {
            None => Ok(()),
            Some(r) => r.await.unwrap_or_else(|_| {
                Err(ConsumeError::retryable(
                    "the exporter stopped before the export finished",
                ))
            }),
        }
    }

    /// Stops taking new data. Workers finish what is queued, then end.
    pub(crate) fn close(&self) {
        self.tx.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Wakes callers blocked on space, with an error (shutdown ran out of time).
    pub(crate) fn close_space(&self) {
        self.space.close();
    }

    fn taken(&self, entry: &mut Entry, sender: &Sender) {
        sender.metrics.queue_size.add(-(entry.size as i64));
        entry.permit.take();
    }

    /// Next work item: one entry, or with `sending_queue::batch` several merged up to
    /// `min_size` or until `flush_timeout`. `None` when the queue is closed and empty.
    async fn next(&self, sender: &Sender) -> Option<Vec<Entry>> {
        let mut rx = self.rx.lock().await;
        let mut first = rx.recv().await?;
        self.taken(&mut first, sender);
        let Some(batching) = &self.batch else {
            let limit = sender.push.merge_limit();
            let Work::Prepared(p) = &first.work else {
                return Some(vec![first]);
            };
            // Prepared requests to merge, up to the exporter's limit (see
            // [`super::Push::merge_limit`]).
            let mut bytes = p.bytes;
            let mut entries = vec![first];
            let deadline = Instant::now() + limit.wait;
            loop {
                while bytes < limit.bytes {
                    let Ok(mut e) = rx.try_recv() else { break };
                    self.taken(&mut e, sender);
                    if let Work::Prepared(p) = &e.work {
                        bytes += p.bytes;
                    }
                    entries.push(e);
                }
                if bytes >= limit.bytes || limit.wait.is_zero() || Instant::now() >= deadline {
                    break;
                }
                // The rest of the wait on a timer, not on the channel: a worker waiting on
                // the channel is woken (a context switch) by every request queued.
                tokio::time::sleep_until(deadline).await;
            }
            return Some(entries);
        };
        let sizer = batching.sizer.unwrap_or(Sizer::Items);
        let mut size = work_size(sizer, &first.work);
        let mut entries = vec![first];
        let deadline = Instant::now() + batching.flush_timeout.0;
        while size < batching.min_size {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(mut e)) => {
                    self.taken(&mut e, sender);
                    size += work_size(sizer, &e.work);
                    entries.push(e);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Some(entries)
    }

    /// A worker: exports until the queue is closed and empty. Once `abort` fired (shutdown
    /// out of time), what is left is counted and logged as dropped without trying.
    pub(crate) async fn work(self: Arc<Self>, sender: Arc<Sender>) {
        while let Some(entries) = self.next(&sender).await {
            let (works, replies): (Vec<Work>, Vec<Option<Reply>>) =
                entries.into_iter().map(|e| (e.work, e.reply)).unzip();
            // Batches (several with `sending_queue::batch`) are merged and cut to
            // `max_size`; prepared requests (never queued with batching) taken together
            // are merged as the exporter merges them.
            let mut prepared = Vec::new();
            let mut batches = Vec::new();
            for w in works {
                match w {
                    Work::Batch(b) => batches.push(b),
                    Work::Prepared(p) => prepared.push(p),
                }
            }
            if prepared.len() > 1 {
                prepared = sender.push.merge_prepared(prepared);
            }
            let mut parts: Vec<Work> = prepared.into_iter().map(Work::Prepared).collect();
            if !batches.is_empty() {
                let batch = if batches.len() == 1 {
                    batches.pop().expect("one batch")
                } else {
                    Batch::concat(batches)
                };
                let max = match &self.batch {
                    Some(b) if b.sizer.unwrap_or(Sizer::Items) == Sizer::Items => {
                        b.max_size as usize
                    }
                    _ => 0,
                };
                parts.extend(batch.split(max).into_iter().map(Work::Batch));
            }
            let mut result = Ok(());
            for part in parts {
                let r = if sender.abort.is_cancelled() {
                    let e = ConsumeError::retryable(
                        "interrupted due to shutdown: the shutdown timed out",
                    );
                    sender.metrics.send_failed.add(part.item_count() as u64);
                    Err(e)
                } else {
                    sender.send(&part).await
                };
                if let Err(e) = r {
                    sender.log_dropped(&e, part.item_count());
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
            for reply in replies.into_iter().flatten() {
                let _ = reply.send(result.clone());
            }
        }
    }
}
