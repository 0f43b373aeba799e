//! `batch`: merges the batches of many requests into fewer, larger ones before they go on,
//! and splits ones that are too large.
//!
//! # How it differs from the Go collector, and why
//!
//! Go's batch processor puts the data on a channel and returns success at once; when the
//! next consumer then fails, the data is only logged (`Sender failed`) and lost, and senders
//! keep sending into a pipeline that drops. Here:
//!
//! - `consume` hands the batch to the processor's own task through a **bounded** channel and
//!   returns once the task has room for it (awaiting while the channel is full: backpressure
//!   when the next consumer is slow).
//! - The task merges what arrives with [`Batch::concat`] (the protobuf bytes stay encoded),
//!   sends when `send_batch_size` items are held or `timeout` passed, and splits with
//!   [`Batch::split`] at `send_batch_max_size`, as Go does (a split remainder smaller than
//!   `send_batch_size` waits for the timer).
//! - When the next consumer refuses with a **retryable** error (an exporter's full queue, a
//!   memory_limiter), the task keeps that part and sends it again with backoff (50 ms
//!   doubling to 1 s, or the error's retry delay) until it is taken. Meanwhile `consume`
//!   answers new data with that same error, so the receiver refuses its clients (gRPC
//!   UNAVAILABLE / HTTP 503) and they retry: the pressure reaches the senders, and nothing
//!   that was accepted is lost. The first successful send ends the refusal.
//! - A **permanent** error (or the rejected part of a partial success) cannot be helped by
//!   retrying: those items are logged (`Sender failed`) and counted in
//!   `otelcol_processor_batch_dropped_items{processor, reason="permanent_error"|"rejected"}`.
//! - `shutdown` takes no new data, sends everything queued and held, retries refused parts
//!   for at most 5 s, and counts what still could not be sent as `reason="shutdown"`.
//!
//! `otelcol_processor_batch_dropped_items` and `otelcol_processor_batch_refused_items`
//! are ferrotel additions; the other self-metrics are the Go collector's.
//!
//! ## Why `consume` does not wait for the send its data joined
//!
//! That was tried first: it returns every downstream error to the sender, but throughput
//! collapses. A waiting request holds its client's next request back, so the data in flight
//! is at most (clients × request size); when that is below `send_batch_size` (8192 by
//! default: 64 clients of 100 spans already are) every send waits for the timer. Measured
//! in-process (debug build, default settings, a sink that accepts): 64 concurrent clients
//! sending 100-span requests got 30 600 spans/s through that design and 1.5 million spans/s
//! through this one; a client sending one request at a time got 5 requests/s there and
//! 24 000 here. Returning on acceptance and refusing while the next consumer refuses keeps Go's
//! throughput and still loses nothing silently.
//!
//! `metadata_keys`: data is batched separately per distinct combination of the values of
//! these client metadata keys (kept by a receiver with `include_metadata`), and each batch
//! sent on carries just those keys and values as its client info (Go's export context), for
//! `headers_setter` downstream. Without `metadata_keys` the client info is dropped, as Go
//! exports with an empty context. More combinations than `metadata_cardinality_limit` (0 =
//! unlimited) are refused permanently with Go's "too many batcher metadata-value
//! combinations". As in Go, a combination once seen keeps its slot until shutdown. One timer
//! serves all combinations (Go has one per combination): data still waits at most
//! `timeout`.

mod batcher;
pub mod config;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, ClientInfo, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Processor, SharedConsumer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use batcher::{Batcher, Metrics, Refusal};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
    (Signal::Profiles, Stability::Development),
];

/// Requests that may wait in the channel to the batcher task before `consume` has to wait
/// for room. Each holds one request's data, so this bounds what the processor buffers
/// beyond the batch it is building.
const CHANNEL_CAPACITY: usize = 64;

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "batch"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(BatchProcessor::new(&set, cfg, signal, next)))
    }
}

/// One batch processor instance (one per pipeline).
pub struct BatchProcessor {
    id: String,
    /// Profiles: each request goes on as it came. Its samples index into the request's own
    /// dictionary, so two requests cannot be concatenated (nor one split) without rewriting
    /// every index; the pipeline keeps profiles as received instead.
    passthrough: Option<SharedConsumer>,
    tx: mpsc::Sender<Batch>,
    metrics: Metrics,
    refusal: Arc<Refusal>,
    /// The task's inputs until `start` spawns it.
    idle: Mutex<Option<Batcher>>,
    running: Mutex<Option<JoinHandle<()>>>,
    stop: CancellationToken,
    /// `metadata_keys`, lower-cased.
    metadata_keys: Vec<String>,
    metadata_cardinality_limit: usize,
    /// The combinations of metadata values seen (Go never forgets one).
    combinations: Mutex<HashSet<Arc<ClientInfo>>>,
}

/// Go's error when `metadata_cardinality_limit` is reached.
pub const TOO_MANY_COMBINATIONS: &str = "too many batcher metadata-value combinations";

impl BatchProcessor {
    pub fn new(set: &Settings, cfg: &Config, signal: Signal, next: SharedConsumer) -> Self {
        let id = set.id.to_string();
        let metrics = Metrics::new(&set.telemetry, &id, signal);
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let stop = CancellationToken::new();
        let refusal = Arc::new(Refusal::default());
        let passthrough = (signal == Signal::Profiles).then(|| next.clone());
        let batcher = Batcher::new(
            cfg,
            next,
            rx,
            metrics.clone(),
            refusal.clone(),
            stop.clone(),
            id.clone(),
        );
        BatchProcessor {
            id,
            passthrough,
            tx,
            metrics,
            refusal,
            idle: Mutex::new(Some(batcher)),
            running: Mutex::new(None),
            stop,
            metadata_keys: cfg
                .metadata_keys
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            metadata_cardinality_limit: cfg.metadata_cardinality_limit as usize,
            combinations: Mutex::new(HashSet::new()),
        }
    }

    /// The client info the batch goes on with: only the `metadata_keys` and their values
    /// (none without metadata keys). A new combination beyond the limit is refused.
    fn shard_info(&self, batch: &Batch) -> Result<Option<Arc<ClientInfo>>, ConsumeError> {
        if self.metadata_keys.is_empty() {
            return Ok(None);
        }
        let mut info = ClientInfo::default();
        if let Some(client) = batch.client_info() {
            for key in &self.metadata_keys {
                for v in client.get(key) {
                    info.push(key, v.clone());
                }
            }
        }
        let info = Arc::new(info);
        let mut seen = self.combinations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = seen.get(&info) {
            return Ok(Some(known.clone()));
        }
        if self.metadata_cardinality_limit > 0 && seen.len() >= self.metadata_cardinality_limit {
            return Err(ConsumeError::permanent(TOO_MANY_COMBINATIONS));
        }
        seen.insert(info.clone());
        Ok(Some(info))
    }
}

#[async_trait]
impl Consumer for BatchProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count();
        self.metrics.processor.incoming.add(items as u64);
        if let Some(next) = &self.passthrough {
            let r = next.consume(batch).await;
            if r.is_ok() {
                self.metrics.processor.outgoing.add(items as u64);
            }
            return r;
        }
        if items == 0 {
            return Ok(());
        }
        if let Some(refusal) = self.refusal.current() {
            self.metrics.refused.add(items as u64);
            return Err(refusal);
        }
        if !self.metadata_keys.is_empty() || batch.client_info().is_some() {
            let info = self.shard_info(&batch)?;
            batch.set_client_info(info);
        }
        self.tx.send(batch).await.map_err(|_| {
            ConsumeError::retryable(format!("batch processor {:?} is shut down", self.id))
        })
    }
}

#[async_trait]
impl Component for BatchProcessor {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let batcher = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(batcher) = batcher {
            let handle = tokio::spawn(batcher.run());
            *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        Ok(())
    }

    /// Sends everything held (and everything already handed to the channel) downstream
    /// before returning.
    async fn shutdown(&self) -> Result<(), String> {
        self.stop.cancel();
        let handle = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = handle {
            handle
                .await
                .map_err(|e| format!("batch processor task failed: {e}"))?;
            return Ok(());
        }
        let never_started = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(batcher) = never_started {
            // Still deliver anything that was queued.
            batcher.run().await;
        }
        Ok(())
    }
}

impl Processor for BatchProcessor {
    /// The Go processor declares MutatesData; this one never changes a batch it is given
    /// (merging builds new ones), so fan-out needs no copy for it.
    fn mutates_data(&self) -> bool {
        false
    }
}
