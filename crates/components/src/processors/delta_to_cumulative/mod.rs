//! `delta_to_cumulative` (deprecated `deltatocumulative`): accumulates delta sums,
//! histograms and exponential histograms into cumulative ones, as Go's
//! `processor/deltatocumulativeprocessor`. The aggregation and the per-stream state live in
//! [`metricstreams::to_cumulative`]; this is the adapter.
//!
//! Self-metrics as Go names them: `otelcol_deltatocumulative_datapoints` (every delta point
//! processed; dropped ones carry `error` = `limit`, `delta.ErrOlderStart` or
//! `delta.ErrOutOfOrder`), `otelcol_deltatocumulative_streams_tracked`,
//! `otelcol_deltatocumulative_streams_limit` and `otelcol_deltatocumulative_streams_max_stale`
//! (seconds). Streams idle for `max_stale` are forgotten; the sweep runs as batches arrive,
//! at most once a minute as Go's ticker (sooner when `max_stale` is shorter).

pub mod config;
mod process;
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
use self::process::Accumulate;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Alpha)];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "delta_to_cumulative"
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
        Ok(Arc::new(DeltaToCumulative::new(&set, cfg, signal, next)))
    }
}

/// One instance (one per pipeline).
pub struct DeltaToCumulative {
    state: Mutex<Accumulate>,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl DeltaToCumulative {
    pub fn new(set: &Settings, cfg: &Config, signal: Signal, next: SharedConsumer) -> Self {
        DeltaToCumulative {
            state: Mutex::new(Accumulate::new(
                cfg,
                &set.telemetry,
                crate::util::time::now_unix_nanos(),
            )),
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        }
    }
}

#[async_trait]
impl Consumer for DeltaToCumulative {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        if let Request::Metrics(m) = req {
            let now = crate::util::time::now_unix_nanos();
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.expire(now);
            state.process(m, now);
        }
        batch.recount();
        let left = batch.item_count() as u64;
        if left == 0 && items > 0 {
            // Go does not call the next consumer when every metric was dropped.
            return Ok(());
        }
        self.metrics.outgoing.add(left);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for DeltaToCumulative {}

impl Processor for DeltaToCumulative {
    fn mutates_data(&self) -> bool {
        true
    }
}
