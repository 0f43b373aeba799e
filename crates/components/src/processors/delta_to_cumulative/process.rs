//! The request walk: every delta point is added to its stream's total and replaced by it.

use metricstreams::StreamHasher;
use metricstreams::to_cumulative::{Accumulator, Dropped};
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::metrics::v1::{AggregationTemporality, metric::Data};
use runtime::Telemetry;
use runtime::telemetry::{Counter, Gauge};

use super::config::Config;

const DELTA: i32 = AggregationTemporality::Delta as i32;
const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
/// Go sweeps stale streams on a one-minute ticker.
const SWEEP_EVERY: u64 = 60_000_000_000;

pub struct Accumulate {
    totals: Accumulator,
    max_stale: u64,
    sweep_every: u64,
    last_sweep: u64,
    processed: Counter,
    dropped: [Counter; 3],
    tracked: Gauge,
}

impl Accumulate {
    pub fn new(cfg: &Config, tel: &Telemetry, now: u64) -> Self {
        const NAME: &str = "otelcol_deltatocumulative_datapoints";
        const HELP: &str = "total number of datapoints processed. may have 'error' attribute, if processing failed";
        let dropped = |e: Dropped| tel.counter(NAME, HELP, &[("error", e.as_str())]);
        let limit = if cfg.max_streams == 0 {
            usize::MAX
        } else {
            usize::try_from(cfg.max_streams).unwrap_or(usize::MAX)
        };
        tel.gauge(
            "otelcol_deltatocumulative_streams_limit",
            "upper limit of tracked streams",
            &[],
        )
        .set(cfg.max_streams);
        tel.gauge(
            "otelcol_deltatocumulative_streams_max_stale",
            "duration after which streams inactive streams are dropped",
            &[],
        )
        .set(cfg.max_stale.0.as_secs() as i64);
        let max_stale = cfg.max_stale.0.as_nanos() as u64;
        Accumulate {
            totals: Accumulator::new(limit),
            max_stale,
            sweep_every: SWEEP_EVERY.min(max_stale),
            last_sweep: now,
            processed: tel.counter(NAME, HELP, &[]),
            dropped: [
                dropped(Dropped::Limit),
                dropped(Dropped::OlderStart),
                dropped(Dropped::OutOfOrder),
            ],
            tracked: tel.gauge(
                "otelcol_deltatocumulative_streams_tracked",
                "number of streams tracked",
                &[],
            ),
        }
    }

    /// Forgets streams idle for longer than `max_stale`.
    pub fn expire(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) < self.sweep_every {
            return;
        }
        self.last_sweep = now;
        self.totals
            .expire_before(now.saturating_sub(self.max_stale));
        self.tracked.set(self.totals.len() as i64);
    }

    pub fn process(&mut self, req: &mut ExportMetricsServiceRequest, now: u64) {
        let root = StreamHasher::new();
        let totals = &mut self.totals;
        let (mut ok, mut errs) = (0u64, [0u64; 3]);
        let mut tally = |r: Result<(), Dropped>| match r {
            Ok(()) => {
                ok += 1;
                true
            }
            Err(e) => {
                errs[e as usize] += 1;
                false
            }
        };
        req.resource_metrics.retain_mut(|rm| {
            let res = root.resource(rm.resource.as_ref().map_or(&[][..], |r| &r.attributes));
            rm.scope_metrics.retain_mut(|sm| {
                let scope = res.scope(sm.scope.as_ref());
                sm.metrics.retain_mut(|m| match &mut m.data {
                    Some(Data::Sum(s)) if s.aggregation_temporality == DELTA => {
                        let id = scope.metric(&m.name, &m.unit, 1, s.is_monotonic, DELTA);
                        s.data_points.retain_mut(|dp| {
                            tally(totals.number(id.stream(&dp.attributes), dp, now))
                        });
                        s.aggregation_temporality = CUMULATIVE;
                        !s.data_points.is_empty()
                    }
                    Some(Data::Histogram(h)) if h.aggregation_temporality == DELTA => {
                        let id = scope.metric(&m.name, &m.unit, 2, false, DELTA);
                        h.data_points.retain_mut(|dp| {
                            tally(totals.histogram(id.stream(&dp.attributes), dp, now))
                        });
                        h.aggregation_temporality = CUMULATIVE;
                        !h.data_points.is_empty()
                    }
                    Some(Data::ExponentialHistogram(h)) if h.aggregation_temporality == DELTA => {
                        let id = scope.metric(&m.name, &m.unit, 3, false, DELTA);
                        h.data_points.retain_mut(|dp| {
                            tally(totals.exponential(id.stream(&dp.attributes), dp, now))
                        });
                        h.aggregation_temporality = CUMULATIVE;
                        !h.data_points.is_empty()
                    }
                    _ => true,
                });
                !sm.metrics.is_empty()
            });
            !rm.scope_metrics.is_empty()
        });
        self.processed.add(ok);
        for (c, n) in self.dropped.iter().zip(errs) {
            if n > 0 {
                c.add(n);
            }
        }
        self.tracked.set(self.totals.len() as i64);
    }
}
