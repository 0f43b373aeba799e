//! `cumulative_to_delta` (deprecated `cumulativetodelta`): turns monotonic cumulative sums,
//! histograms and exponential histograms into deltas, as Go's
//! `processor/cumulativetodeltaprocessor`. The arithmetic and the per-stream memory live in
//! [`metricstreams::to_delta`]; this is the adapter (config, filters, request walk, counts).
//!
//! Dropped points are counted in `otelcol_cumulativetodelta_datapoints_dropped{reason}`
//! (`initial`, `reset`, `bucket_mismatch`). Streams not seen for `max_staleness` are
//! forgotten, checked at most once per `max_staleness` as batches arrive. Go keeps every
//! stream forever by default; ferrotel holds at most [`MAX_STREAMS`] and, when full, forgets
//! the least recently seen half, counted in `otelcol_cumulativetodelta_streams_evicted`.

pub mod config;
mod convert;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::convert::Converter;

/// Streams remembered at most; Go keeps every stream until `max_staleness` ends it (forever
/// by default), which on a gateway (and with counters restarting under new start times) is
/// unbounded memory.
pub const MAX_STREAMS: usize = 1_000_000;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "cumulative_to_delta"
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
        Ok(Arc::new(CumulativeToDelta::new(&set, cfg, signal, next)?))
    }
}

/// One instance (one per pipeline).
pub struct CumulativeToDelta {
    converter: Mutex<Converter>,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl CumulativeToDelta {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        Ok(CumulativeToDelta {
            converter: Mutex::new(Converter::new(
                cfg,
                &set.telemetry,
                crate::util::time::now_unix_nanos(),
                MAX_STREAMS,
            )?),
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        })
    }
}

#[async_trait]
impl Consumer for CumulativeToDelta {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        if let Request::Metrics(m) = req {
            let mut conv = self.converter.lock().unwrap_or_else(|p| p.into_inner());
            conv.expire(crate::util::time::now_unix_nanos());
            conv.process(m);
        }
        batch.recount();
        let left = batch.item_count() as u64;
        if left == 0 && items > 0 {
            // Everything was a first point or a reset: nothing to send.
            return Ok(());
        }
        self.metrics.outgoing.add(left);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for CumulativeToDelta {}

impl Processor for CumulativeToDelta {
    fn mutates_data(&self) -> bool {
        true
    }
}
