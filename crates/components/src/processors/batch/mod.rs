//! `batch`: merges the batches of many requests into fewer, larger ones before they go on,
//! and splits ones that are too large.
//!
//! # How it differs from the Go collector, and why
//!
//! Go's batch processor puts the data on a channel and returns success at once; a later
//! export failure is only logged (`Sender failed`), so its senders never hear about refusals
//! and data can disappear. Here every [`Consumer::consume`] call **waits for the result of
//! the send that carried its items**:
//!
//! - `consume` hands the batch to the processor's own task through a bounded channel
//!   (awaiting when it is full: backpressure) and then waits on a one-shot answer.
//! - The task merges what arrives with [`Batch::concat`] (the protobuf bytes stay encoded),
//!   sends when `send_batch_size` items are held or `timeout` passed, splitting with
//!   [`Batch::split`] at `send_batch_max_size`, and answers each waiting request once all its
//!   items have been sent, with the downstream error if any part of them failed.
//! - Throughput does not suffer: requests that arrive concurrently join the same batch and
//!   wait for the same send, so the cost of waiting is latency (at most `timeout`, about half
//!   of it on average), not serialization. When the next consumer is a queued exporter the
//!   send returns as soon as the data is queued, so waiting costs nothing more; and a full
//!   queue is returned to the receiver as a retryable refusal instead of silently dropping.
//!   The price: a client that sends one request at a time and waits for each answer gets at
//!   most one request per `timeout` through this processor (lower `timeout` for such
//!   clients, or use `timeout: 0`).
//! - Nothing is lost without a number: items of a failed send whose sender is no longer
//!   waiting (its request was cancelled) are counted in
//!   `otelcol_processor_batch_dropped_items{processor, reason="send_failed"}`, and every
//!   item of a failed send in `otelcol_processor_batch_send_failed_items{processor}`. Both
//!   are ferrotel additions; the other self-metrics are the Go collector's.
//! - `shutdown` stops taking new data, sends everything held (answering its waiters) and
//!   only then returns.
//!
//! `metadata_keys` / `metadata_cardinality_limit` are accepted, but receivers do not pass
//! client metadata yet, so all data shares one batcher, as in Go with no metadata keys.

mod batcher;
pub mod config;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Processor, SharedConsumer};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use batcher::{Batcher, Metrics, Pending};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
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
    tx: mpsc::Sender<Pending>,
    metrics: Metrics,
    /// The task's inputs until `start` spawns it.
    idle: Mutex<Option<Batcher>>,
    running: Mutex<Option<JoinHandle<()>>>,
    stop: CancellationToken,
}

impl BatchProcessor {
    pub fn new(set: &Settings, cfg: &Config, signal: Signal, next: SharedConsumer) -> Self {
        let id = set.id.to_string();
        let metrics = Metrics::new(&set.telemetry, &id, signal);
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let stop = CancellationToken::new();
        if !cfg.metadata_keys.is_empty() {
            tracing::warn!(
                processor = %id,
                "metadata_keys is accepted but has no effect yet: receivers do not pass client metadata, so all data is batched together"
            );
        }
        let batcher = Batcher::new(cfg, next, rx, metrics.clone(), stop.clone(), id.clone());
        BatchProcessor {
            id,
            tx,
            metrics,
            idle: Mutex::new(Some(batcher)),
            running: Mutex::new(None),
            stop,
        }
    }
}

#[async_trait]
impl Consumer for BatchProcessor {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count();
        self.metrics.processor.incoming.add(items as u64);
        if items == 0 {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        self.tx.send(Pending { batch, done }).await.map_err(|_| {
            ConsumeError::retryable(format!("batch processor {:?} is shut down", self.id))
        })?;
        answer.await.unwrap_or_else(|_| {
            Err(ConsumeError::retryable(format!(
                "batch processor {:?} stopped before sending the data",
                self.id
            )))
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
