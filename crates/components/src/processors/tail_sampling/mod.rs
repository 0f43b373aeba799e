//! `tail_sampling`: decides whole traces after their spans have arrived, as the Go
//! collector's `processor/tailsamplingprocessor`. Spans are held per trace for
//! `decision_wait`, every policy votes (always_sample, latency, numeric/string/boolean
//! attribute, probabilistic, status_code, rate_limiting, bytes_limiting, span_count,
//! trace_state, and, drop, composite, ottl_condition), and the votes combine
//! with Go's precedence (drop, then inverted not-sample, then sample). Late spans follow the
//! decision while it is remembered; memory is bounded by `num_traces` with every early
//! eviction counted. Self-metrics are Go's `otelcol_processor_tail_sampling_*`.

pub mod config;
pub mod policies;
mod processor;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Processor, SharedConsumer};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
pub use self::processor::{Gates, RELEASE_SPANS, TailSampler};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "tail_sampling"
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
        if signal != Signal::Traces {
            return Err(format!("{} is not supported", signal.as_str()));
        }
        let cfg: &Config = typed(cfg);
        let sampler = TailSampler::new(cfg, &set.id, &set.telemetry, next, Gates::from_process())?;
        Ok(Arc::new(TailSamplingProcessor {
            sampler: Arc::new(sampler),
            ticker: Mutex::new(None),
            stop: CancellationToken::new(),
        }))
    }
}

/// The processor: the sampler plus the one-second decision ticker that runs between start
/// and shutdown.
pub struct TailSamplingProcessor {
    sampler: Arc<TailSampler>,
    ticker: Mutex<Option<JoinHandle<()>>>,
    stop: CancellationToken,
}

#[async_trait]
impl Consumer for TailSamplingProcessor {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.sampler.consume(batch).await
    }
}

#[async_trait]
impl Component for TailSamplingProcessor {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let sampler = self.sampler.clone();
        let stop = self.stop.clone();
        let handle = tokio::spawn(async move {
            let period = std::time::Duration::from_secs(1);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = ticks.tick() => sampler.tick().await,
                }
            }
        });
        *self.ticker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.stop.cancel();
        let handle = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.await;
        }
        self.sampler.flush().await;
        Ok(())
    }
}

impl Processor for TailSamplingProcessor {}
