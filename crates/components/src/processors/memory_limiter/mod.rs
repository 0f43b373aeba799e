//! `memory_limiter`: refuses data with a retryable error while the collector uses too much
//! memory, so that senders back off and retry instead of the process being killed.
//!
//! A background task (started in `start`, stopped in `shutdown`) measures memory every
//! `check_interval` and keeps the verdict in an atomic flag that `consume` only reads.
//! Above the soft limit (`limit − spike`) every batch is refused with
//! `data refused due to high memory usage` (retryable: gRPC UNAVAILABLE / HTTP 503).
//!
//! Differences from the Go collector, on purpose:
//! - It measures the process's **resident memory** (`/proc/self/statm`), not a heap
//!   statistic: that is what the kernel's OOM killer and a container's limit count. So
//!   `limit_mib` is a limit on RSS, which is stricter than Go's heap target (Go's RSS is
//!   typically some 50 MiB above its heap).
//! - Rust has no garbage collector: memory is freed when dropped. Where Go forces a GC, this
//!   calls glibc's `malloc_trim(0)` to give freed arena pages back to the system (a no-op
//!   with other C libraries), with the same `min_gc_interval_when_*` spacing.
//! - Memory is also checked once in `start`, so the state is right before the first tick.
//! - While it refuses, receivers refuse too, before reading a request
//!   ([`runtime::admission`]): a request refused after it was read has already taken its
//!   memory. Its spike limit also bounds the bytes of the requests receivers hold at once.
//! - Each pipeline's instance runs its own check (Go shares one per component id); the log
//!   lines carry the processor id.
//!
//! Percentage limits are taken of the cgroup's memory limit when one is set (v2
//! `memory.max`, v1 `memory.limit_in_bytes`), else of `MemTotal` in `/proc/meminfo`.
//!
//! Self-metrics: `otelcol_processor_memory_limiter_{accepted,refused}_{spans,metric_points,log_records}{processor}`
//! (the names since Go v0.155), and `otelcol_processor_{incoming,outgoing}_items`.

pub mod config;
mod limiter;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::admission::Admission;
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::{Counter, ProcessorMetrics, Telemetry};
use runtime::{Component, ConsumeError, Consumer, Host, Processor, SharedConsumer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
pub use limiter::{
    Limiter, Limits, Transition, parse_cgroup_v1_limit, parse_cgroup_v2_max, parse_meminfo_total,
    parse_proc_self_cgroup, release_free_memory, total_memory,
};

/// The error every refused batch gets, as in Go.
pub const REFUSED_MESSAGE: &str = "data refused due to high memory usage";

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
    (Signal::Profiles, Stability::Development),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "memory_limiter"
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
        let id = set.id.to_string();
        let limits = Limits::from_config(cfg, total_memory)?;
        tracing::info!(
            processor = %id,
            limit_mib = limits.hard / (1024 * 1024),
            spike_limit_mib = (limits.hard - limits.soft) / (1024 * 1024),
            check_interval = %cfg.check_interval,
            "Memory limiter configured"
        );
        let limiter = Arc::new(Limiter::new(id, cfg, limits));
        Ok(Arc::new(MemoryLimiter::new(
            &set,
            signal,
            cfg.check_interval.0,
            limiter,
            next,
            Admission::global().clone(),
        )))
    }
}

/// `otelcol_processor_memory_limiter_{accepted,refused}_<items>{processor}` for one signal.
fn counters(tel: &Telemetry, id: &str, signal: Signal) -> (Counter, Counter) {
    let (accepted, refused) = match signal {
        Signal::Traces => (
            "otelcol_processor_memory_limiter_accepted_spans",
            "otelcol_processor_memory_limiter_refused_spans",
        ),
        Signal::Metrics => (
            "otelcol_processor_memory_limiter_accepted_metric_points",
            "otelcol_processor_memory_limiter_refused_metric_points",
        ),
        Signal::Logs => (
            "otelcol_processor_memory_limiter_accepted_log_records",
            "otelcol_processor_memory_limiter_refused_log_records",
        ),
        Signal::Profiles => (
            "otelcol_processor_memory_limiter_accepted_profile_samples",
            "otelcol_processor_memory_limiter_refused_profile_samples",
        ),
    };
    let l = [("processor", id)];
    (
        tel.counter(
            accepted,
            "Number of items successfully pushed into the next component in the pipeline.",
            &l,
        ),
        tel.counter(
            refused,
            "Number of items that were refused because memory usage was too high.",
            &l,
        ),
    )
}

/// One memory_limiter instance (one per pipeline).
pub struct MemoryLimiter {
    limiter: Arc<Limiter>,
    next: SharedConsumer,
    check_interval: Duration,
    accepted: Counter,
    refused: Counter,
    processor: ProcessorMetrics,
    monitor: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
    admission: Admission,
}

impl MemoryLimiter {
    pub fn new(
        set: &Settings,
        signal: Signal,
        check_interval: Duration,
        limiter: Arc<Limiter>,
        next: SharedConsumer,
        admission: Admission,
    ) -> Self {
        let id = set.id.to_string();
        let (accepted, refused) = counters(&set.telemetry, &id, signal);
        MemoryLimiter {
            limiter,
            next,
            check_interval,
            accepted,
            refused,
            processor: ProcessorMetrics::new(&set.telemetry, &id, signal),
            monitor: Mutex::new(None),
            admission,
        }
    }
}

#[async_trait]
impl Consumer for MemoryLimiter {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.processor.incoming.add(items);
        self.limiter.check_if_older_than(limiter::MAX_VERDICT_AGE);
        if self.limiter.must_refuse() {
            self.refused.add(items);
            return Err(ConsumeError::retryable(REFUSED_MESSAGE));
        }
        self.accepted.add(items);
        self.processor.outgoing.add(items);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for MemoryLimiter {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let mut monitor = self.monitor.lock().unwrap_or_else(|p| p.into_inner());
        if monitor.is_some() {
            return Ok(());
        }
        self.limiter
            .attach(self.admission.register(Some(self.limiter.read_budget())));
        self.limiter.check();
        let stop = CancellationToken::new();
        let (limiter, interval, token) = (self.limiter.clone(), self.check_interval, stop.clone());
        let handle = tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = ticks.tick() => { limiter.check(); }
                }
            }
        });
        *monitor = Some((stop, handle));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((stop, handle)) = running {
            stop.cancel();
            self.limiter.detach();
            handle
                .await
                .map_err(|e| format!("memory check task failed: {e}"))?;
        }
        Ok(())
    }
}

impl Processor for MemoryLimiter {}
