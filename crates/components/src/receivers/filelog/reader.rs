//! The receiver's reading thread: [`fileconsumer::Manager`] polls the files and hands tokens
//! to [`Stage`], which makes entries of them, runs the stanza operators and delivers the
//! resulting log records downstream before the file offsets move on.
//!
//! Delivery and backpressure (where this differs from Go, and why): Go's adapter converts
//! and sends asynchronously and, with `retry_on_failure` off (the default), drops a batch the
//! pipeline refuses. Here a batch is consumed synchronously from the reading thread, so a
//! slow or refusing pipeline stalls reading (the file is the buffer), and a **retryable**
//! refusal (an exporter's full queue, a memory_limiter) is retried with backoff — with the
//! `retry_on_failure` intervals, or 100 ms growing to 5 s when it is off — for as long as it
//! lasts; with `retry_on_failure.enabled` and a `max_elapsed_time`, the batch is dropped after
//! that time as Go does. While retries would never stop, an exporter's full in-memory queue
//! is waited for instead of refused and retried
//! ([`runtime::exporterhelper::waiting_for_queue_space`]): the same outcome without redoing
//! the processors' and the exporter's work on every refused attempt. A **permanent**
//! refusal drops the batch. Every dropped record is
//! counted in `otelcol_receiver_refused_log_records` and logged. While the receiver stops,
//! a refused batch is not retried: [`Emit`] reports failure, the file offset stays before
//! it, and the lines are read again after a restart (with `storage`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fileconsumer::{Attributes, Body, Emit, EmitError, Token};
use pdata::{Batch, Signal};
use runtime::exporterhelper::{Backoff, RetrySettings, waiting_for_queue_space};
use runtime::telemetry::ReceiverMetrics;
use runtime::{ConsumeError, SharedConsumer};
use stanza::{Entry, ExprString, Map, Pipeline, Value};
use tokio_util::sync::CancellationToken;

use super::config::RetryOnFailure;

/// Tokens read and entries delivered per batch: Go's emitter size. Measured against 256 and
/// 1024 (bench/filelog.sh --quick): 1024 is ~7% cheaper per line at 100-byte lines, but an
/// exporter queue of `queue_size` requests then holds 10x the records, and memory follows.
pub(crate) const MAX_BATCH: usize = 100;

/// What turns tokens into delivered log records. Shared (behind a mutex) by the manager's
/// [`Emit`] and the thread loop that flushes the operators' timers.
pub(crate) struct Stage {
    pipeline: Pipeline,
    /// Static `attributes` / `resource`, rendered once (see [`render_static`]).
    attributes: Vec<(stanza::Key, Value)>,
    resource: Vec<(stanza::Key, Value)>,
    /// The last file attributes seen and their stanza form (tokens of one file share them).
    file_attrs: Option<(Arc<Attributes>, Map)>,
    /// `log.file.record_number` and `log.file.record_offset`, interned once.
    record_keys: (stanza::Key, stanza::Key),
    /// The room the operators needed in an entry's attributes and resource, learnt from
    /// the entries they put out (a map's capacity shows the most it held): new entries get
    /// it at once instead of growing into it (each growth a new allocation and a copy, a
    /// tenth of the seed agent's operator time).
    room: (usize, usize),
    delivery: Delivery,
}

/// Hands batches to the pipeline with the retry policy of the module docs.
pub(crate) struct Delivery {
    pub consumer: SharedConsumer,
    pub handle: tokio::runtime::Handle,
    pub metrics: ReceiverMetrics,
    pub retry: RetryOnFailure,
    /// Cancelled when the receiver stops.
    pub stopping: CancellationToken,
    pub id: Arc<str>,
    /// The backoff while the pipeline keeps refusing lines that are read again
    /// ([`Delivery::deliver_rereadable`]).
    pub failing: Option<Backoff>,
}

impl Delivery {
    /// Delivers `entries`; `Err` only when the receiver is stopping and the batch was not
    /// taken (the caller keeps the data for a later read).
    fn deliver(&self, entries: Vec<Entry>) -> Result<(), EmitError> {
        self.handle.block_on(self.send(entries))
    }

    /// Delivers lines the file can give again, without keeping a copy for retries (the
    /// processors after the receiver change a batch in place, so a copy would be a deep
    /// copy of every batch). On a retryable refusal it waits the backoff and fails, so the
    /// file offset stays before the lines and the next poll reads them again; the backoff
    /// carries over between those attempts until a batch is taken. The outcomes are those
    /// of [`Delivery::send`]: a refusal past `max_elapsed_time`, or a permanent one, drops
    /// the batch and counts it.
    fn deliver_rereadable(&mut self, entries: Vec<Entry>) -> Result<(), EmitError> {
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        let batch = stanza::convert::to_batch(entries);
        let err = match self.handle.block_on(self.offer(batch)) {
            Ok(()) => {
                self.failing = None;
                self.metrics.accepted(Signal::Logs, n);
                return Ok(());
            }
            Err(e) => e,
        };
        let mut backoff = self
            .failing
            .take()
            .unwrap_or_else(|| Backoff::new(&self.backoff_settings()));
        let Some(delay) = self.settle_or_wait(&err, n, &mut backoff) else {
            return Ok(());
        };
        self.failing = Some(backoff);
        if !self.stopping.is_cancelled() {
            tracing::debug!(receiver = %self.id, error = %err, ?delay, "pipeline refused logs; reading them again after the delay");
            self.handle.block_on(self.sleep_unless_stopping(delay));
        }
        Err(EmitError(format!("the pipeline refused logs: {err}")))
    }

    /// One attempt at handing `batch` on. While retries would never stop, a full exporter
    /// queue is waited for rather than refused and polled.
    async fn offer(&self, batch: Batch) -> Result<(), ConsumeError> {
        let consumed = self.consumer.consume(batch);
        if !self.retry.enabled || self.retry.max_elapsed_time.0.is_zero() {
            waiting_for_queue_space(self.stopping.clone(), consumed).await
        } else {
            consumed.await
        }
    }

    /// [`Delivery::deliver`] for callers on the runtime (the socket receivers): the same
    /// policy, waiting without blocking a worker thread.
    pub(crate) async fn send(&self, entries: Vec<Entry>) -> Result<(), EmitError> {
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        let batch = stanza::convert::to_batch(entries);
        let mut backoff = Backoff::new(&self.backoff_settings());
        loop {
            let err = match self.offer(batch.clone()).await {
                Ok(()) => {
                    self.metrics.accepted(Signal::Logs, n);
                    return Ok(());
                }
                Err(e) => e,
            };
            let Some(delay) = self.settle_or_wait(&err, n, &mut backoff) else {
                return Ok(());
            };
            if self.stopping.is_cancelled() {
                return Err(EmitError(format!(
                    "the pipeline refused logs while the receiver stops: {err}"
                )));
            }
            tracing::debug!(receiver = %self.id, error = %err, ?delay, "pipeline refused logs; retrying");
            self.sleep_unless_stopping(delay).await;
        }
    }

    /// After a refusal of `n` records: `None` when the batch is settled (a partial success,
    /// or a permanent refusal or the end of the retries: counted and logged as dropped),
    /// else how long to wait before trying again.
    fn settle_or_wait(
        &self,
        err: &ConsumeError,
        n: usize,
        backoff: &mut Backoff,
    ) -> Option<Duration> {
        if let runtime::ErrorKind::Partial { rejected } = err.kind {
            self.metrics
                .accepted(Signal::Logs, n.saturating_sub(rejected as usize));
            self.metrics.refused(Signal::Logs, rejected as usize);
            return None;
        }
        let wait = if err.is_retryable() {
            backoff.next_backoff()
        } else {
            None
        };
        let Some(wait) = wait else {
            self.metrics.refused(Signal::Logs, n);
            tracing::error!(
                receiver = %self.id,
                error = %err,
                dropped_items = n,
                "Failed to send logs downstream; dropping them"
            );
            return None;
        };
        Some(err.retry_after.map_or(wait, |d| d.max(wait)))
    }

    /// Go's consumerretry backoff (cenkalti's, randomization 0.5, multiplier 1.5) with the
    /// `retry_on_failure` intervals; with it off, retries never stop and start short: a
    /// memory_limiter refuses in bursts and frees within its check interval (1 s waits cut a
    /// 1 KiB backlog's throughput 8x in bench/filelog.sh).
    fn backoff_settings(&self) -> RetrySettings {
        let (initial, max, max_elapsed) = if self.retry.enabled {
            (
                self.retry.initial_interval,
                self.retry.max_interval,
                self.retry.max_elapsed_time,
            )
        } else {
            (
                ::config::Duration(Duration::from_millis(100)),
                ::config::Duration(Duration::from_secs(5)),
                ::config::Duration(Duration::ZERO),
            )
        };
        RetrySettings {
            enabled: true,
            initial_interval: initial,
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: max,
            max_elapsed_time: max_elapsed,
        }
    }

    async fn sleep_unless_stopping(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stopping.is_cancelled() {
            tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(50))).await;
        }
    }
}

pub(crate) fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Stage {
    pub(crate) fn new(
        pipeline: Pipeline,
        attributes: &[(String, ExprString)],
        resource: &[(String, ExprString)],
        delivery: Delivery,
    ) -> Stage {
        Stage {
            pipeline,
            attributes: render_static(attributes, "attributes"),
            resource: render_static(resource, "resource"),
            file_attrs: None,
            record_keys: (
                stanza::Key::named(fileconsumer::keys::FILE_RECORD_NUMBER),
                stanza::Key::named(fileconsumer::keys::FILE_RECORD_OFFSET),
            ),
            room: (0, 0),
            delivery,
        }
    }

    /// Notes the room the entries that came out of the operators needed.
    fn learn_room(&mut self, out: &[Entry]) {
        // Bounded so that one odd entry does not make every later one large.
        const MAX_ROOM: usize = 64;
        for e in out {
            self.room.0 = self.room.0.max(e.attributes.capacity().min(MAX_ROOM));
            self.room.1 = self.room.1.max(e.resource.capacity().min(MAX_ROOM));
        }
    }

    /// A new entry for one token, as Go's file input makes it: static `attributes` and
    /// `resource` first, then the file's attributes.
    fn entry(&mut self, token: Token, observed: i64) -> Entry {
        let body = match token.body {
            Body::Text(s) => Value::Str(stanza::Str::from(s)),
            Body::Bytes(b) => Value::Bytes(b),
        };
        let mut e = Entry::with_body(body, observed);
        e.attributes = Map::with_capacity(self.room.0);
        e.resource = Map::with_capacity(self.room.1);
        for (k, v) in &self.attributes {
            e.attributes.insert_key(k, v.clone());
        }
        for (k, v) in &self.resource {
            e.resource.insert_key(k, v.clone());
        }
        let same = matches!(&self.file_attrs, Some((a, _)) if Arc::ptr_eq(a, &token.attributes));
        if !same {
            let mut map = Map::with_capacity(token.attributes.len());
            for (k, v) in token.attributes.iter() {
                // The receiver's own `log.file.*` names are a fixed set: interned, so that the
                // per-entry copies of this map touch no reference count. Header attributes
                // come from the files and stay shared.
                let key = if k.starts_with("log.file.") {
                    stanza::Key::named(k)
                } else {
                    stanza::Key::from(k.as_str())
                };
                map.insert_key(&key, stanza::value::from_json(v));
            }
            // Shared: every entry of the file gets a copy.
            map.share_strings();
            self.file_attrs = Some((token.attributes.clone(), map));
        }
        if let Some((_, map)) = &self.file_attrs {
            for (k, v) in map.iter() {
                e.attributes.insert_key(k, v.clone());
            }
        }
        if let Some(n) = token.record_number {
            e.attributes.insert_key(&self.record_keys.0, Value::Int(n));
        }
        if let Some(n) = token.record_offset {
            e.attributes.insert_key(&self.record_keys.1, Value::Int(n));
        }
        e
    }

    /// Runs tokens through the operators and delivers what comes out.
    pub(crate) fn process(&mut self, tokens: &mut Vec<Token>) -> Result<(), EmitError> {
        let observed = now_nanos();
        let mut out = Vec::with_capacity(tokens.len());
        // Each entry made and followed through the operators at once, while its maps are
        // still in the core's nearest cache; not a batch of entries made first and then
        // moved through.
        for t in tokens.drain(..) {
            let e = self.entry(t, observed);
            self.pipeline.process(e, &mut |e| out.push(e));
        }
        self.learn_room(&out);
        if !self.pipeline.needs_flushing() && out.len() <= MAX_BATCH {
            // No operator keeps lines between batches, so these lines can be read again:
            // no retry copy (see [`Delivery::deliver_rereadable`]).
            return self.delivery.deliver_rereadable(out);
        }
        self.deliver_all(out)
    }

    /// Sends what the operators' timers release (recombine's `force_flush_period`).
    pub(crate) fn flush_expired(&mut self) -> Result<(), EmitError> {
        if !self.pipeline.needs_flushing() {
            return Ok(());
        }
        let mut out = Vec::new();
        self.pipeline
            .flush_expired(now_nanos(), &mut |e| out.push(e));
        self.deliver_all(out)
    }

    /// Sends everything the operators hold (at stop).
    pub(crate) fn flush_all(&mut self) -> Result<(), EmitError> {
        let mut out = Vec::new();
        self.pipeline.flush_all(&mut |e| out.push(e));
        self.deliver_all(out)
    }

    /// Delivers in batches of at most [`MAX_BATCH`]; stops at the first batch not taken.
    fn deliver_all(&mut self, out: Vec<Entry>) -> Result<(), EmitError> {
        if out.len() <= MAX_BATCH {
            return self.delivery.deliver(out);
        }
        let mut rest = out.into_iter();
        loop {
            let batch: Vec<Entry> = rest.by_ref().take(MAX_BATCH).collect();
            if batch.is_empty() {
                return Ok(());
            }
            self.delivery.deliver(batch)?;
        }
    }
}

/// Renders the static `attributes` / `resource` values. Go evaluates their `EXPR(...)` on a
/// new entry before the body and the file attributes are set, so an expression sees an
/// empty entry (`EXPR(body)` is nil) and its value is the same for every entry: rendered
/// once here. Go fails every token of the file when an expression does not give a string
/// ("embedded expression returned non-string <nil>"); here the key is left out, with a
/// warning, and the lines are kept.
pub(crate) fn render_static(
    values: &[(String, ExprString)],
    what: &str,
) -> Vec<(stanza::Key, Value)> {
    let empty = Entry::default();
    values
        .iter()
        .filter_map(|(k, expr)| match expr.render(&empty) {
            Ok(s) => Some((stanza::Key::from(k.as_str()), Value::Str(stanza::Str::from(s).shared()))),
            Err(err) => {
                tracing::warn!(key = %k, error = %err, "the {what} value is left out: its EXPR(...) did not give a string");
                None
            }
        })
        .collect()
}

/// The manager's sink: the shared [`Stage`].
pub(crate) struct StageEmit(pub Arc<Mutex<Stage>>);

impl Emit for StageEmit {
    fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError> {
        let mut stage = self.0.lock().unwrap_or_else(|p| p.into_inner());
        stage.process(batch)
    }
}

/// Header lines through `header.metadata_operators`: the attributes the operators leave on
/// the entry become file attributes.
pub(crate) struct HeaderOperators(pub Pipeline);

impl fileconsumer::HeaderParser for HeaderOperators {
    fn parse(&mut self, line: &str, attributes: &mut Attributes) -> Result<(), String> {
        let mut got = Vec::new();
        self.0
            .process(Entry::with_body(line, now_nanos()), &mut |e| got.push(e));
        for e in got {
            for (k, v) in e.attributes.iter() {
                attributes.insert(k.to_string(), stanza::value::to_json(v));
            }
        }
        Ok(())
    }
}

/// Checkpoints in the storage extension's client for this receiver.
pub(crate) struct StoragePersister(pub Arc<dyn runtime::storage::StorageClient>);

impl fileconsumer::Persister for StoragePersister {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get(key).map_err(|e| e.to_string())
    }
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String> {
        self.0.set(key, value).map_err(|e| e.to_string())
    }
}
