//! `sending_queue.storage`: the persistent sending queue, kept in a storage extension's
//! client (Go's exporterhelper persistent queue).
//!
//! Layout in the client (named after the signal, as Go's `GetClient(kind, id, signal)`):
//! each request under its decimal index; `wi` the next index to write; `lo` the lowest index
//! that may still be on disk. Every value is a record `[version][signal][crc32][OTLP bytes]`,
//! so a damaged value is found when it is read, not trusted.
//!
//! - `offer` writes the record and `wi` in one storage transaction (committed as the storage
//!   extension's `fsync` says) before it answers `Ok`: an acknowledged request is on disk.
//! - Workers take requests in index order; a request is deleted (with `lo` moved on in the
//!   same transaction) only once it was exported or failed for good. A request being sent
//!   when the process dies is still on disk and is sent again after the restart: duplicates,
//!   never loss.
//! - At start the indices `lo..wi` are read back in order. Records that fail their checksum
//!   or do not decode are logged, counted in `otelcol_exporter_queue_corrupt_items` and
//!   deleted; the queue goes on with the rest.
//! - Shutdown does not drain: it stops taking data, cuts retries short, and leaves what is
//!   not exported on disk for the next start (as Go).
//!
//! Writes are serialised by one lock (the storage serialises its write transactions anyway,
//! and this keeps `wi` and `lo` only growing); requests offered meanwhile are written
//! together by the next writer (group commit).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use config::ComponentId;
use pdata::{Batch, Signal};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::queue::size_of;
use super::retry::Sender;
use super::{QueueBatchSettings, QueueSettings, Sizer};
use crate::component::{ConsumeError, Host, Kind};
use crate::storage::{Op, StorageClient};
use crate::telemetry::{Counter, Telemetry};

type Reply = oneshot::Sender<Result<(), ConsumeError>>;

const RECORD_VERSION: u8 = 1;
const HEADER: usize = 6;
const WRITE_INDEX_KEY: &str = "wi";
const LOW_INDEX_KEY: &str = "lo";
/// Indices read back per storage call at start.
const SCAN_CHUNK: u64 = 1024;

fn signal_code(s: Signal) -> u8 {
    match s {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
        Signal::Profiles => 4,
    }
}

/// The stored form of one request.
pub(crate) fn encode_record(batch: &Batch) -> Vec<u8> {
    let payload = batch.encoded();
    let mut v = Vec::with_capacity(HEADER + payload.len());
    v.push(RECORD_VERSION);
    v.push(signal_code(batch.signal()));
    v.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    v.extend_from_slice(&payload);
    v
}

/// Reads a record back; the error says what is wrong with it.
pub(crate) fn decode_record(signal: Signal, rec: Vec<u8>) -> Result<Batch, String> {
    if rec.len() < HEADER {
        return Err(format!("record of {} bytes is truncated", rec.len()));
    }
    if rec[0] != RECORD_VERSION {
        return Err(format!("unknown record version {}", rec[0]));
    }
    if rec[1] != signal_code(signal) {
        return Err(format!("record holds another signal (code {})", rec[1]));
    }
    let want = u32::from_le_bytes([rec[2], rec[3], rec[4], rec[5]]);
    let got = crc32fast::hash(&rec[HEADER..]);
    if want != got {
        return Err(format!(
            "checksum mismatch (stored {want:08x}, computed {got:08x})"
        ));
    }
    let mut bytes = Bytes::from(rec);
    let payload = bytes.split_off(HEADER);
    Batch::from_encoded(signal, payload).map_err(|e| format!("undecodable request: {e}"))
}

fn parse_index(v: Option<Vec<u8>>) -> Result<Option<u64>, String> {
    match v {
        None => Ok(None),
        Some(b) => <[u8; 8]>::try_from(b.as_slice())
            .map(|a| Some(u64::from_le_bytes(a)))
            .map_err(|_| format!("index of {} bytes", b.len())),
    }
}

/// An offered request waiting for the next group commit.
struct Staged {
    record: Vec<u8>,
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
    client: Option<Arc<dyn StorageClient>>,
    next_write: u64,
    /// `lo` as last written.
    low: u64,
    pending: VecDeque<Pending>,
    /// Offered, not yet written.
    staged: Vec<Staged>,
    in_flight: BTreeSet<u64>,
    /// Size of `pending`, in the sizer's unit.
    used: u64,
    /// No new data taken.
    closed: bool,
    /// Workers take nothing more (shutdown): what is left stays on disk.
    stopped: bool,
}

impl State {
    fn low_water(&self) -> u64 {
        let mut lo = self.next_write;
        if let Some(p) = self.pending.front() {
            lo = lo.min(p.index);
        }
        if let Some(i) = self.in_flight.first() {
            lo = lo.min(*i);
        }
        lo
    }
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

    /// Gets the storage client and reads back what the last run left. Go's error texts for
    /// a missing or non-storage extension.
    pub(crate) async fn open(
        &self,
        host: &Host,
        owner: &ComponentId,
        sender: &Sender,
    ) -> Result<(), String> {
        let ext = host
            .extension(&self.storage)
            .ok_or("no storage client extension found")?;
        let st = ext
            .as_storage()
            .ok_or("requested extension is not a storage extension")?;
        let client = st
            .client(Kind::Exporter, owner, self.signal.as_str())
            .map_err(|e| format!("persistent queue: {e}"))?;
        let signal = self.signal;
        let c = client.clone();
        let log_id = sender.log.id.clone();
        let recovered = tokio::task::spawn_blocking(move || recover(&*c, signal, &log_id[..]))
            .await
            .map_err(|e| format!("persistent queue: {e}"))??;
        let mut size = 0;
        let mut st = self.lock();
        st.next_write = recovered.next_write;
        st.low = recovered.low;
        for (index, batch) in recovered.items {
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
        st.client = Some(client);
        drop(st);
        if recovered.corrupt > 0 {
            self.corrupt.add(recovered.corrupt);
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
        let record = encode_record(&batch);
        let (reply, outcome) = if self.wait_for_result {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let (committed_tx, committed) = oneshot::channel();
        self.lock().staged.push(Staged {
            record,
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

    /// Writes every staged request in one storage transaction (group commit): requests
    /// offered while a write is under way go together in the next one, so a slow commit
    /// (`fsync: true`) costs one sync per group, not per request. Order is staging order.
    /// On failure the space the requests reserved is given back here, so that a caller
    /// that stopped waiting does not leak it.
    async fn commit_staged(&self, sender: &Sender) {
        let _io = self.io.lock().await;
        let (client, first, staged) = {
            let mut st = self.lock();
            if st.staged.is_empty() {
                return;
            }
            let staged = std::mem::take(&mut st.staged);
            match &st.client {
                Some(c) => (c.clone(), st.next_write, staged),
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
        let n = staged.len() as u64;
        let mut ops = Vec::with_capacity(staged.len() + 1);
        let mut rest = Vec::with_capacity(staged.len());
        for (i, s) in staged.into_iter().enumerate() {
            let Staged {
                record,
                size,
                batch,
                reply,
                committed,
            } = s;
            ops.push(Op::Set((first + i as u64).to_string(), record));
            rest.push((size, batch, reply, committed));
        }
        ops.push(Op::Set(
            WRITE_INDEX_KEY.into(),
            (first + n).to_le_bytes().to_vec(),
        ));
        let written = match tokio::task::spawn_blocking(move || client.batch(ops)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut st = self.lock();
        match written {
            Ok(()) => {
                st.next_write = first + n;
                let mut total = 0;
                let mut acks = Vec::with_capacity(rest.len());
                for (i, (size, batch, reply, committed)) in rest.into_iter().enumerate() {
                    st.pending.push_back(Pending {
                        index: first + i as u64,
                        size,
                        batch,
                        reply,
                    });
                    total += size;
                    acks.push(committed);
                }
                drop(st);
                sender.metrics.queue_size.add(total as i64);
                self.ready.notify_waiters();
                for a in acks {
                    let _ = a.send(Ok(()));
                }
            }
            Err(e) => {
                let total: u64 = rest.iter().map(|r| r.0).sum();
                st.used -= total;
                drop(st);
                self.space.notify_waiters();
                let err = ConsumeError::retryable(format!(
                    "failed to write the request to the persistent queue: {e}"
                ));
                for (_, _, _, committed) in rest {
                    let _ = committed.send(Err(err.clone()));
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

    /// Releases the storage client once the workers ended.
    pub(crate) fn close_client(&self) {
        if let Some(c) = self.lock().client.take() {
            let _ = c.close();
        }
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
        st.in_flight.insert(p.index);
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

    /// Deletes finished requests; with `keep` (interrupted by shutdown) leaves them on disk.
    async fn finish(&self, indices: &[u64], keep: bool) {
        let _io = self.io.lock().await;
        let (client, ops, low) = {
            let mut st = self.lock();
            for i in indices {
                st.in_flight.remove(i);
            }
            if keep {
                return;
            }
            let Some(client) = st.client.clone() else {
                return;
            };
            let mut ops: Vec<Op> = indices.iter().map(|i| Op::Delete(i.to_string())).collect();
            let low = st.low_water();
            if low != st.low {
                ops.push(Op::Set(LOW_INDEX_KEY.into(), low.to_le_bytes().to_vec()));
            }
            (client, ops, low)
        };
        match tokio::task::spawn_blocking(move || client.batch(ops)).await {
            Ok(Ok(_)) => self.lock().low = low,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "persistent queue: failed to delete exported requests; they will be sent again after a restart")
            }
            Err(e) => tracing::error!(error = %e, "persistent queue: delete task failed"),
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
            self.finish(&indices, interrupted).await;
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
    }
}

struct Recovered {
    next_write: u64,
    low: u64,
    items: Vec<(u64, Batch)>,
    corrupt: u64,
}

/// Reads `lo..wi` back in order; damaged records are logged, counted and deleted.
fn recover(client: &dyn StorageClient, signal: Signal, id: &str) -> Result<Recovered, String> {
    let meta = client
        .batch(vec![
            Op::Get(WRITE_INDEX_KEY.into()),
            Op::Get(LOW_INDEX_KEY.into()),
        ])
        .map_err(|e| format!("persistent queue: reading the queue state: {e}"))?;
    let mut it = meta.into_iter();
    let wi = parse_index(it.next().flatten());
    let lo = parse_index(it.next().flatten());
    let (next_write, mut low) = match (wi, lo) {
        (Ok(w), Ok(l)) => (w.unwrap_or(0), l.unwrap_or(0)),
        (w, l) => {
            // Without the indices the queued requests cannot be found: start over past any
            // index that may exist, and say so.
            tracing::error!(
                otelcol.component.id = %id,
                otelcol.component.kind = "exporter",
                write_index = ?w.err(),
                low_index = ?l.err(),
                "Persistent queue state is damaged; queued requests are lost."
            );
            let restart = 1u64 << 40;
            client
                .batch(vec![
                    Op::Set(WRITE_INDEX_KEY.into(), restart.to_le_bytes().to_vec()),
                    Op::Set(LOW_INDEX_KEY.into(), restart.to_le_bytes().to_vec()),
                ])
                .map_err(|e| format!("persistent queue: {e}"))?;
            (restart, restart)
        }
    };
    if low > next_write {
        low = next_write;
    }
    let mut items = Vec::new();
    let mut corrupt = 0u64;
    let mut bad = Vec::new();
    let mut start = low;
    while start < next_write {
        let end = (start + SCAN_CHUNK).min(next_write);
        let got = client
            .batch((start..end).map(|i| Op::Get(i.to_string())).collect())
            .map_err(|e| format!("persistent queue: reading queued requests: {e}"))?;
        for (i, v) in (start..end).zip(got) {
            let Some(rec) = v else { continue };
            match decode_record(signal, rec) {
                Ok(b) => items.push((i, b)),
                Err(why) => {
                    tracing::error!(
                        otelcol.component.id = %id,
                        otelcol.component.kind = "exporter",
                        index = i,
                        error = %why,
                        "Dropping a damaged request found in the persistent queue."
                    );
                    corrupt += 1;
                    bad.push(Op::Delete(i.to_string()));
                }
            }
        }
        start = end;
    }
    let new_low = items.first().map_or(next_write, |(i, _)| *i);
    if new_low != low {
        bad.push(Op::Set(
            LOW_INDEX_KEY.into(),
            new_low.to_le_bytes().to_vec(),
        ));
    }
    if !bad.is_empty() {
        client
            .batch(bad)
            .map_err(|e| format!("persistent queue: {e}"))?;
    }
    if !items.is_empty() {
        tracing::info!(
            otelcol.component.id = %id,
            otelcol.component.kind = "exporter",
            requests = items.len(),
            "Resuming the persistent queue with the requests left by the last run."
        );
    }
    Ok(Recovered {
        next_write,
        low: new_low,
        items,
        corrupt,
    })
}
