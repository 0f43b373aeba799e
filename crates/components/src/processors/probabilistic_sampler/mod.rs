//! `probabilistic_sampler`: keeps a percentage of spans and log records, as the Go
//! collector's `processor/probabilisticsamplerprocessor`. In `hash_seed` mode (the default)
//! the decision is the seeded FNV hash of the trace id (or a log attribute) that the Go
//! processor has always made, so tiers with the same seed keep the same traces; `equalizing`
//! and `proportional` use OpenTelemetry consistent sampling (the trace id's randomness and the
//! `th`/`rv` values of the tracestate, [`otep235`]). Kept items carry the threshold they were
//! sampled at (`ot=th:...` or the `sampling.threshold` log attribute). Decisions are counted
//! in `otelcol_processor_probabilistic_sampler_count_{traces,logs}_sampled` (and, for spans,
//! `..._count_spans_processed_total`, its successor since v0.161) by `policy` and `sampled`.

pub mod config;
pub mod otep235;
pub mod sampler;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::{Counter, ProcessorMetrics};
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::sampler::{Outcome, Sampler, Source};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Logs, Stability::Alpha),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "probabilistic_sampler"
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
        Ok(Arc::new(ProbabilisticSampler::new(
            &set, cfg, signal, next,
        )?))
    }
}

/// The decision counters, one per (randomness source, sampled), resolved once.
struct Counts {
    /// `[source][sampled as usize]`, in [`Source::ALL`] order.
    by_source: Vec<[Vec<Counter>; 2]>,
}

impl Counts {
    fn new(set: &Settings, signal: Signal, attribute: &str) -> Counts {
        let names: &[(&'static str, &'static str)] = match signal {
            Signal::Logs => &[(
                "otelcol_processor_probabilistic_sampler_count_logs_sampled",
                "Count of logs that were sampled or not",
            )],
            _ => &[
                (
                    "otelcol_processor_probabilistic_sampler_count_traces_sampled",
                    "[DEPRECATED] Count of spans that were sampled or not",
                ),
                (
                    "otelcol_processor_probabilistic_sampler_count_spans_processed_total",
                    "Count of spans that were sampled or not",
                ),
            ],
        };
        let by_source = Source::ALL
            .iter()
            .map(|s| {
                let policy = match s {
                    Source::Attribute => attribute,
                    other => other.name(),
                };
                [false, true].map(|sampled| {
                    let sampled = if sampled { "true" } else { "false" };
                    names
                        .iter()
                        .map(|(name, help)| {
                            set.telemetry.counter(
                                name,
                                help,
                                &[("policy", policy), ("sampled", sampled)],
                            )
                        })
                        .collect()
                })
            })
            .collect();
        Counts { by_source }
    }

    fn add(&self, outcome: Outcome) {
        let i = Source::ALL
            .iter()
            .position(|s| *s == outcome.source)
            .unwrap_or(0);
        for c in &self.by_source[i][outcome.sampled as usize] {
            c.add(1);
        }
    }
}

/// One probabilistic_sampler instance (one per pipeline).
pub struct ProbabilisticSampler {
    sampler: Sampler,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
    counts: Counts,
}

impl ProbabilisticSampler {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        if !matches!(signal, Signal::Traces | Signal::Logs) {
            return Err(format!("{} is not supported", signal.as_str()));
        }
        Ok(ProbabilisticSampler {
            sampler: Sampler::new(cfg, signal == Signal::Logs),
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
            counts: Counts::new(set, signal, &cfg.from_attribute),
        })
    }

    /// Drops what is not sampled, and the scopes and resources left empty.
    fn apply(&self, req: &mut Request) {
        match req {
            Request::Traces(t) => {
                t.resource_spans.retain_mut(|rs| {
                    rs.scope_spans.retain_mut(|ss| {
                        ss.spans.retain_mut(|span| {
                            let o = self.sampler.span(span);
                            self.counts.add(o);
                            o.sampled
                        });
                        !ss.spans.is_empty()
                    });
                    !rs.scope_spans.is_empty()
                });
            }
            Request::Logs(l) => {
                l.resource_logs.retain_mut(|rl| {
                    rl.scope_logs.retain_mut(|sl| {
                        sl.log_records.retain_mut(|rec| {
                            let o = self.sampler.log(rec);
                            self.counts.add(o);
                            o.sampled
                        });
                        !sl.log_records.is_empty()
                    });
                    !rl.scope_logs.is_empty()
                });
            }
            Request::Metrics(_) | Request::Profiles(_) => {}
        }
    }
}

#[async_trait]
impl Consumer for ProbabilisticSampler {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        if items == 0 {
            return Ok(());
        }
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        self.apply(req);
        batch.recount();
        let left = batch.item_count() as u64;
        if left == 0 {
            // Go's processorhelper.ErrSkipProcessingData: nothing to send, not an error.
            return Ok(());
        }
        self.metrics.outgoing.add(left);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for ProbabilisticSampler {}

impl Processor for ProbabilisticSampler {
    fn mutates_data(&self) -> bool {
        true
    }
}
