//! What an extension can see of the running service (the part of Go's `component.Host` and
//! service internals that zpages shows): build facts, start time, each pipeline with its
//! components, the extensions, and the latency of each pipeline's pushes.
//!
//! The latency figures are measured where a receiver hands a batch to a pipeline (the
//! pipeline's first consumer), so they cover the whole synchronous push: processors, fan-out
//! and exporters (or their queues). Buckets are those of Go's zpages tracez.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use pdata::Batch;

use crate::component::{ConsumeError, Consumer, SharedConsumer};

/// The build this process runs.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub command: &'static str,
    pub description: &'static str,
    pub version: &'static str,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            command: "ferrotel",
            description: "ferrotel, an OpenTelemetry Collector in Rust",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One pipeline as configured, with connectors among its receivers or exporters.
#[derive(Debug, Clone)]
pub struct PipelineView {
    /// `traces`, `metrics/2`, ...
    pub name: String,
    /// `traces`, `metrics`, `logs`.
    pub signal: String,
    pub receivers: Vec<String>,
    pub processors: Vec<String>,
    pub exporters: Vec<String>,
    /// The ids among receivers and exporters that are connectors.
    pub connectors: Vec<String>,
    /// Whether any processor of the pipeline changes the data it is given.
    pub mutates_data: bool,
    pub latency: Arc<Latency>,
}

/// The running service, as extensions may show it.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub build: BuildInfo,
    pub start_time: SystemTime,
    pub started: Instant,
    pub pipelines: Vec<PipelineView>,
    /// Extension ids, in the order of `service::extensions`.
    pub extensions: Vec<String>,
    /// The resolved configuration as a tree (what Go hands `ConfigWatcher`s): the component
    /// sections as written, `service` with its extensions and pipelines (telemetry left out).
    pub config: config::Value,
}

impl Default for ServiceView {
    fn default() -> Self {
        ServiceView {
            build: BuildInfo::default(),
            start_time: SystemTime::now(),
            started: Instant::now(),
            pipelines: Vec::new(),
            extensions: Vec::new(),
            config: config::Value::Null,
        }
    }
}

impl ServiceView {
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Lower bounds of Go zpages' latency buckets: >0, >10µs, >100µs, >1ms, >10ms, >100ms,
/// >1s, >10s, >1m.
pub const LATENCY_BUCKETS: [Duration; 9] = [
    Duration::ZERO,
    Duration::from_micros(10),
    Duration::from_micros(100),
    Duration::from_millis(1),
    Duration::from_millis(10),
    Duration::from_millis(100),
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(60),
];

/// Push counts per latency bucket, pushes in flight and failed pushes; lock-free.
#[derive(Debug, Default)]
pub struct Latency {
    buckets: [AtomicU64; 9],
    running: AtomicI64,
    errors: AtomicU64,
}

/// A copy of [`Latency`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencySnapshot {
    pub buckets: [u64; 9],
    pub running: i64,
    pub errors: u64,
}

impl Latency {
    pub fn record(&self, took: Duration, failed: bool) {
        let i = LATENCY_BUCKETS
            .iter()
            .rposition(|b| took >= *b)
            .unwrap_or(0);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            running: self.running.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// Wraps a pipeline's first consumer to time its pushes into `latency`.
pub(crate) struct Timed {
    pub next: SharedConsumer,
    pub latency: Arc<Latency>,
}

#[async_trait]
impl Consumer for Timed {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.latency.running.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let r = self.next.consume(batch).await;
        self.latency.record(start.elapsed(), r.is_err());
        self.latency.running.fetch_sub(1, Ordering::Relaxed);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_land_in_gos_zpages_buckets() {
        let l = Latency::default();
        for (took, bucket) in [
            (Duration::from_nanos(500), 0),
            (Duration::from_micros(10), 1),
            (Duration::from_micros(99), 1),
            (Duration::from_micros(150), 2),
            (Duration::from_millis(5), 3),
            (Duration::from_millis(50), 4),
            (Duration::from_millis(500), 5),
            (Duration::from_secs(2), 6),
            (Duration::from_secs(30), 7),
            (Duration::from_secs(600), 8),
        ] {
            let before = l.snapshot().buckets[bucket];
            l.record(took, false);
            assert_eq!(l.snapshot().buckets[bucket], before + 1, "{took:?}");
        }
        l.record(Duration::from_millis(1), true);
        assert_eq!(l.snapshot().errors, 1);
        assert_eq!(l.snapshot().buckets.iter().sum::<u64>(), 11);
    }
}
