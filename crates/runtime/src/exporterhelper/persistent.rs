//! `sending_queue.storage`: the persistent sending queue, kept in a log the storage
//! extension opens for it ([`crate::storage::QueueLog`], the `spool` crate on disk), one per
//! exporter and signal (Go's `GetClient(kind, id, signal)`).
//!
//! Each request is one record: its OTLP bytes as the exporter received them (no copy), tagged
//! with the signal, checksummed by the log.
//!
//! - `offer` appends the record before it answers `Ok`: an acknowledged request is in the
//!   page cache (and, with the extension's `fsync`, on stable storage).
//! - Workers take requests in order; a request is released (marked done in the log) only
//!   once it was exported or failed for good. A request being sent when the process dies is
//!   still in the log and is sent again after the restart: duplicates, never loss.
//! - At start the log gives back what was not released. Records the log found damaged or
//!   missing, and intact records that do not decode as the signal's OTLP, are logged, counted
//!   in `otelcol_exporter_queue_corrupt_items` and skipped; the queue goes on with the rest.
//! - Shutdown does not drain: it stops taking data, cuts retries short, and leaves what is
//!   not exported on disk for the next start (as Go).
//!
//! Appends are serialised by one lock; with `fsync`, requests offered while a sync is under
//! way are written together by the next writer (group commit).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use config::ComponentId;
use pdata::{Batch, Signal};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::queue::size_of;
use super::retry::Sender;
use super::{QueueBatchSettings, QueueSettings, Sizer, Work};
use crate::component::{ConsumeError, Host, Kind};
use crate::storage::QueueLog;
use crate::telemetry::{Counter, Telemetry};

type Reply = oneshot::Sender<Result<(), ConsumeError>>;
type Log = Arc<Mutex<Box<dyn QueueLog>>>;

pub(crate) fn signal_tag(s: Signal) -> u8 {
    match s {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
        Signal::Profiles => 4,
    }
}

/// A record read back; the error says what is wrong with it.
pub(crate) fn decode_record(signal: Signal, tag: u8, payload: Bytes) -> Result<Batch, String> {
    if tag != signal_tag(signal) {
        return Err(format!("record holds another signal (tag {tag})"));
    }
    Batch::from_encoded(signal, payload).map_err(|e| format!("undecodable request: {e}"))
}

/// An offered request waiting for the next group commit.
struct Staged {
    payload: Bytes,
    size: u64,
    batch: Batch,
    reply: Option<Reply>,
    committed: oneshot::Sender<Result<(), ConsumeError>>,
}

struct Pending {
    index: u64,
    size: u64,
    batch: Batch,
    reply: Option<Reply>,
}

#[derive(Default)]
struct State {
    log: Option<Log>,
    /// The log's appends wait for the disk (read once at open).
    slow_appends: bool,
    pending: VecDeque<Pending>,
    /// Offered, not yet written.
    staged: Vec<Staged>,
    /// Size of `pending`, in the sizer's unit.
    used: u64,
    /// No new data taken.
    closed: bool,
    /// Workers take nothing more (shutdown): what is left stays on disk.
    stopped: bool,
}

pub(crate) struct PersistentQueue {
    sizer: Sizer,
    capacity: u64,
    block_on_overflow: bool,
    wait_for_result: bool,
    storage: ComponentId,
    signal: Signal,
    batch: Option<QueueBatchSettings>,
    corrupt: Counter,
    state: Mutex<State>,
    io: tokio::sync::Mutex<()>,
    ready: Notify,
    space: Notify,
}

fn stopped_error() -> ConsumeError {
    ConsumeError::retryable("sending queue is stopped: the exporter is shutting down")
}

impl PersistentQueue {
    pub(crate) fn new(
        cfg: &QueueSettings,
        storage: ComponentId,
        signal: Signal,
        tel: &Telemetry,
        exporter: &str,
    ) -> PersistentQueue {
        PersistentQueue {
            sizer: cfg.sizer,
            capacity: cfg.queue_size,
            block_on_overflow: cfg.block_on_overflow,
            wait_for_result: cfg.wait_for_result,
            storage,
            signal,
            batch: cfg.batch.clone(),
            corrupt: tel.counter(
                "otelcol_exporter_queue_corrupt_items",
                "Number of requests in the persistent sending queue found damaged and dropped.",
                &[("data_type", signal.as_str()), ("exporter", exporter)],
            ),
            state: Mutex::new(State::default()),
            io: tokio::sync::Mutex::new(()),
            ready: Notify::new(),
            space: Notify::new(),
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the queue's log and takes back what the last run left. Go's error texts for a
    /// missing or non-storage extension.
    pub(crate) async fn open(
        &self,
        host: &Host,
        owner: &ComponentId,
        sender: &Sender,
    ) -> Result<(), String> {
        let ext = host
            .extension(&self.storage)
            .ok_or("no storage client extension found")?
            .clone();
        if ext.as_storage().is_none() {
            return Err("requested extension is not a storage extension".into());
        }
        let signal = self.signal;
        let owner = owner.clone();
        let opened = tokio::task::spawn_blocking(move || {
            ext.as_storage()
                .map(|st| st.open_queue(Kind::Exporter, &owner, signal.as_str()))
        })
        .await
        .map_err(|e| format!("persistent queue: {e}"))?
        .ok_or("requested extension is not a storage extension")?
        .map_err(|e| format!("persistent queue: {e}"))?;
        let id = &sender.log.id;
        let rec = opened.recovery;
        for p in &rec.problems {
            tracing::error!(
                otelcol.component.id = %id,
                otelcol.component.kind = "exporter",
                otelcol.signal = signal.as_str(),
                problem = %p,
                "Persistent queue damaged; the requests it names are dropped."
            );
        }
        let mut corrupt = rec.lost;
        let mut undecodable = Vec::new();
        let mut items = Vec::with_capacity(rec.records.len());
        for r in rec.records {
            match decode_record(signal, r.tag, r.payload) {
                Ok(b) => items.push((r.index, b)),
                Err(why) => {
                    tracing::error!(
                        otelcol.component.id = %id,
                        otelcol.component.kind = "exporter",
                        otelcol.signal = signal.as_str(),
                        index = r.index,
                        error = %why,
                        "Dropping a damaged request found in the persistent queue."
                    );
                    corrupt += 1;
                    undecodable.push(r.index);
                }
            }
        }
        let mut log = opened.log;
        if !undecodable.is_empty() {
            log.release(&undecodable)
                .map_err(|e| format!("persistent queue: {e}"))?;
        }
        if !items.is_empty() {
            tracing::info!(
                otelcol.component.id = %id,
                otelcol.component.kind = "exporter",
                otelcol.signal = signal.as_str(),
                requests = items.len(),
                "Resuming the persistent queue with the requests left by the last run."
            );
        }
        let mut size = 0;
        let mut st = self.lock();
        for (index, batch) in items {
            let s = size_of(self.sizer, &batch);
            size += s;
            st.pending.push_back(Pending {
                index,
                size: s,
                batch,
                reply: None,
            });
        }
        st.used += size;
        st.slow_appends = log.slow_appends();
        st.log = Some(Arc::new(Mutex::new(log)));
        drop(st);
        if corrupt > 0 {
            self.corrupt.add(corrupt);
        }
        sender.metrics.queue_size.add(size as i64);
        self.ready.notify_waiters();
        Ok(())
    }

    /// Writes `batch` to storage and answers once it is committed (then, with
    /// `wait_for_result`, once it is exported).
    pub(crate) async fn offer(&self, batch: Batch, sender: &Sender) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        let fail = |e: ConsumeError| {
            sender.metrics.enqueue_failed.add(items);
            Err(e)
        };
        let full = || ConsumeError::retryable("sending queue is full");
        let size = size_of(self.sizer, &batch);
        if size > self.capacity {
            return fail(full());
        }
        loop {
            let freed = self.space.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut st = self.lock();
                if st.closed {
                    return fail(stopped_error());
                }
                if st.used + size <= self.capacity {
                    st.used += size;
                    break;
                }
            }
            if !self.block_on_overflow {
                return fail(full());
            }
            freed.await;
        }
        let payload = batch.encoded();
        let (reply, outcome) = if self.wait_for_result {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let (committed_tx, committed) = oneshot::channel();
        self.lock().staged.push(Staged {
            payload,
            size,
            batch,
            reply,
            committed: committed_tx,
        });
        self.commit_staged(sender).await;
        match committed.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return fail(e),
            Err(_) => return fail(stopped_error()),
        }
        match outcome {
            None => Ok(()),
            Some(r) => r.await.unwrap_or_else(|_| {
                Err(ConsumeError::retryable(
                    "the exporter stopped before the export finished",
                ))
            }),
        }
    }

    /// Appends every staged request in one write (group commit): with `fsync`, requests
    /// offered while a sync is under way go together in the next one, so a slow sync costs
    /// one per group, not per request. Order is staging order. On failure the space the
    /// requests reserved is given back here, so that a caller that stopped waiting does not
    /// leak it.
    async fn commit_staged(&self, sender: &Sender) {
        let _io = self.io.lock().await;
        let (log, slow, staged) = {
            let mut st = self.lock();
            if st.staged.is_empty() {
                return;
            }
            let staged = std::mem::take(&mut st.staged);
            match &st.log {
                Some(l) => (l.clone(), st.slow_appends, staged),
                None => {
                    let total: u64 = staged.iter().map(|s| s.size).sum();
                    st.used -= total;
                    drop(st);
                    self.space.notify_waiters();
                    for s in staged {
                        let _ = s.committed.send(Err(stopped_error()));
                    }
                    return;
                }
            }
        };
        let tag = signal_tag(self.signal);
        let payloads: Vec<Bytes> = staged.iter().map(|s| s.payload.clone()).collect();
        let append = move |log: &Log| {
            let records: Vec<(u8, &[u8])> = payloads.iter().map(|p| (tag, &p[..])).collect();
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            log.append(&records)
        };
        let written = if slow {
            match tokio::task::spawn_blocking(move || append(&log)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        } else {
            // A write into the page cache: microseconds, cheaper than a thread hand-off.
            append(&log).map_err(|e| e.to_string())
        };
        let mut st = self.lock();
        match written {
            Ok(first) => {
                let mut total = 0;
                let mut acks = Vec::with_capacity(staged.len());
                for (i, s) in staged.into_iter().enumerate() {
                    st.pending.push_back(Pending {
                        index: first + i as u64,
                        size: s.size,
                        batch: s.batch,
                        reply: s.reply,
                    });
                    total += s.size;
                    acks.push(s.committed);
                }
                drop(st);
                sender.metrics.queue_size.add(total as i64);
                self.ready.notify_waiters();
                for a in acks {
                    let _ = a.send(Ok(()));
                }
            }
            Err(e) => {
                let total: u64 = staged.iter().map(|s| s.size).sum();
                st.used -= total;
                drop(st);
                self.space.notify_waiters();
                let err = ConsumeError::retryable(format!(
                    "failed to write the request to the persistent queue: {e}"
                ));
                for s in staged {
                    let _ = s.committed.send(Err(err.clone()));
                }
            }
        }
    }

    /// Stops taking data and stops the workers; what is queued stays on disk.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.stopped = true;
        // `wait_for_result` callers get an answer: not exported (yet; it is kept on disk).
        let replies: Vec<Reply> = st
            .pending
            .iter_mut()
            .filter_map(|p| p.reply.take())
            .collect();
        drop(st);
        for r in replies {
            let _ = r.send(Err(stopped_error()));
        }
        self.ready.notify_waiters();
        self.space.notify_waiters();
    }

    /// Closes the log (and frees its directory for the next run) once the workers ended.
    pub(crate) fn close_log(&self) {
        self.lock().log.take();
    }

    fn take(&self, sender: &Sender) -> Result<Option<Pending>, ()> {
        let mut st = self.lock();
        if st.stopped {
            return Err(());
        }
        let Some(p) = st.pending.pop_front() else {
            return Ok(None);
        };
        st.used -= p.size;
        drop(st);
        sender.metrics.queue_size.add(-(p.size as i64));
        self.space.notify_waiters();
        Ok(Some(p))
    }

    /// The next work item (one request, or several merged with `sending_queue::batch`);
    /// `None` once the queue is stopped.
    async fn next(&self, sender: &Sender) -> Option<Vec<Pending>> {
        let first = loop {
            let ready = self.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            match self.take(sender) {
                Err(()) => return None,
                Ok(Some(p)) => break p,
                Ok(None) => ready.await,
            }
        };
        let Some(batching) = &self.batch else {
            return Some(vec![first]);
        };
        let sizer = batching.sizer.unwrap_or(Sizer::Items);
        let mut size = size_of(sizer, &first.batch);
        let mut entries = vec![first];
        let deadline = Instant::now() + batching.flush_timeout.0;
        while size < batching.min_size {
            let ready = self.ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            match self.take(sender) {
                Err(()) => break,
                Ok(Some(p)) => {
                    size += size_of(sizer, &p.batch);
                    entries.push(p);
                }
                Ok(None) => {
                    if tokio::time::timeout_at(deadline, ready).await.is_err() {
                        break;
                    }
                }
            }
        }
        Some(entries)
    }

    /// Releases finished requests; with `keep` (interrupted by shutdown) leaves them to be
    /// sent again at the next start. A release is a small write to the page cache.
    fn finish(&self, indices: &[u64], keep: bool) {
        if keep {
            return;
        }
        let Some(log) = self.lock().log.clone() else {
            return;
        };
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = log.release(indices) {
            tracing::error!(error = %e, "persistent queue: failed to mark exported requests as done; they will be sent again after a restart");
        }
    }

    /// A worker: exports until the queue is stopped.
    pub(crate) async fn work(self: Arc<Self>, sender: Arc<Sender>) {
        while let Some(entries) = self.next(&sender).await {
            let mut indices = Vec::with_capacity(entries.len());
            let mut batches = Vec::with_capacity(entries.len());
            let mut replies = Vec::new();
            for e in entries {
                indices.push(e.index);
                batches.push(e.batch);
                replies.extend(e.reply);
            }
            let batch = if batches.len() == 1 {
                batches.pop().expect("one batch")
            } else {
                Batch::concat(batches)
            };
            let max = match &self.batch {
                Some(b) if b.sizer.unwrap_or(Sizer::Items) == Sizer::Items => b.max_size as usize,
                _ => 0,
            };
            let mut result = Ok(());
            let mut interrupted = false;
            for part in batch.split(max) {
                let part = Work::Batch(part);
                if sender.abort.is_cancelled() {
                    interrupted = true;
                    break;
                }
                // The request stays on disk until deleted: an export cut short by shutdown
                // is simply sent again at the next start.
                let sent = tokio::select! {
                    r = sender.send(&part) => r,
                    _ = sender.abort.cancelled() => Err(ConsumeError::retryable(
                        "interrupted due to shutdown",
                    )),
                };
                if let Err(e) = sent {
                    if sender.abort.is_cancelled() {
                        interrupted = true;
                        tracing::info!(
                            otelcol.component.id = %sender.log.id,
                            otelcol.component.kind = "exporter",
                            otelcol.signal = sender.log.signal.as_str(),
                            error = %e,
                            "Export interrupted by shutdown; the request stays in the persistent queue."
                        );
                        result = Err(e);
                        break;
                    }
                    sender.log_dropped(&e, part.item_count());
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
            if interrupted && result.is_ok() {
                result = Err(stopped_error());
            }
            self.finish(&indices, interrupted);
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
    }
}
