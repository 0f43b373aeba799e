//! The request walk: which metrics are converted, and what becomes of each point.

use std::time::Duration;

use metricstreams::FLAG_NO_RECORDED_VALUE;
use metricstreams::StreamHasher;
use metricstreams::to_delta::{InitialValue, Outcome, Reason, Tracker};
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::metrics::v1::{AggregationTemporality, metric::Data, number_data_point};
use runtime::Telemetry;
use runtime::telemetry::Counter;

use super::config::{Config, MatchMetrics};
use crate::filtering::StringSet;

const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;

/// Metric kinds as the identity and `metric_types` see them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sum = 1,
    Histogram = 2,
    Exponential = 3,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s.to_lowercase().as_str() {
            "sum" => Some(Kind::Sum),
            "histogram" => Some(Kind::Histogram),
            "exponentialhistogram" => Some(Kind::Exponential),
            _ => None,
        }
    }
}

/// One `include`/`exclude` block compiled.
struct Filter {
    names: Option<StringSet>,
    kinds: Vec<Kind>,
}

impl Filter {
    fn new(m: &MatchMetrics) -> Result<Filter, String> {
        let names = if m.metrics.is_empty() {
            None
        } else {
            Some(StringSet::new(&m.metrics, &m.match_type)?)
        };
        Ok(Filter {
            names,
            kinds: m
                .metric_types
                .iter()
                .filter_map(|t| Kind::parse(t))
                .collect(),
        })
    }

    fn is_empty(&self) -> bool {
        self.names.is_none() && self.kinds.is_empty()
    }

    /// Both the names (if given) and the types (if given) match.
    fn matches(&self, name: &str, kind: Kind) -> bool {
        self.names.as_ref().is_none_or(|s| s.matches(name))
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
    }
}

pub struct Converter {
    include: Filter,
    exclude: Filter,
    tracker: Tracker,
    max_staleness: Duration,
    last_sweep: u64,
    tel: Telemetry,
    dropped: [Option<Counter>; 3],
    evicted: Counter,
}

impl Converter {
    pub fn new(cfg: &Config, tel: &Telemetry, now: u64, limit: usize) -> Result<Self, String> {
        Ok(Converter {
            include: Filter::new(&cfg.include)?,
            exclude: Filter::new(&cfg.exclude)?,
            tracker: Tracker::new(InitialValue::parse(&cfg.initial_value)?, now, limit),
            max_staleness: cfg.max_staleness.0,
            last_sweep: now,
            tel: tel.clone(),
            dropped: Default::default(),
            evicted: tel.counter(
                "otelcol_cumulativetodelta_streams_evicted",
                "Streams forgotten to keep the cumulativetodelta state under its ceiling (ferrotel only)",
                &[],
            ),
        })
    }

    fn count(&mut self, reason: Reason) {
        let slot = reason as usize;
        self.dropped[slot]
            .get_or_insert_with(|| {
                self.tel.counter(
                    "otelcol_cumulativetodelta_datapoints_dropped",
                    "Number of data points dropped by the cumulativetodelta processor",
                    &[("reason", reason.as_str())],
                )
            })
            .add(1);
    }

    /// Forgets streams whose last point is older than `max_staleness`, at most once per
    /// `max_staleness` (Go sweeps on a ticker of that period).
    pub fn expire(&mut self, now: u64) {
        let period = self.max_staleness.as_nanos() as u64;
        if period == 0 || now.saturating_sub(self.last_sweep) < period {
            return;
        }
        self.last_sweep = now;
        self.tracker.expire_before(now.saturating_sub(period));
    }

    fn convert(&self, name: &str, kind: Kind) -> bool {
        (self.include.is_empty() || self.include.matches(name, kind))
            && (self.exclude.is_empty() || !self.exclude.matches(name, kind))
    }

    pub fn process(&mut self, req: &mut ExportMetricsServiceRequest) {
        let root = StreamHasher::new();
        let mut drops: Vec<Reason> = Vec::new();
        req.resource_metrics.retain_mut(|rm| {
            let res = root.resource(rm.resource.as_ref().map_or(&[][..], |r| &r.attributes));
            rm.scope_metrics.retain_mut(|sm| {
                let scope = res.scope(sm.scope.as_ref());
                sm.metrics.retain_mut(|m| {
                    let kind = match &m.data {
                        Some(Data::Sum(s))
                            if s.aggregation_temporality == CUMULATIVE && s.is_monotonic =>
                        {
                            Kind::Sum
                        }
                        Some(Data::Histogram(h))
                            if h.aggregation_temporality == CUMULATIVE
                                && !h.data_points.is_empty() =>
                        {
                            Kind::Histogram
                        }
                        Some(Data::ExponentialHistogram(h))
                            if h.aggregation_temporality == CUMULATIVE
                                && !h.data_points.is_empty() =>
                        {
                            Kind::Exponential
                        }
                        _ => return true,
                    };
                    if !self.convert(&m.name, kind) {
                        return true;
                    }
                    let id = scope.metric(&m.name, &m.unit, kind as u8, true, CUMULATIVE);
                    let tracker = &mut self.tracker;
                    let mut keep = |o: Outcome| match o {
                        Outcome::Keep => true,
                        Outcome::Drop(r) => {
                            drops.push(r);
                            false
                        }
                    };
                    match &mut m.data {
                        Some(Data::Sum(s)) => {
                            s.data_points.retain_mut(|dp| {
                                if dp.flags & FLAG_NO_RECORDED_VALUE != 0 {
                                    return false;
                                }
                                if let Some(number_data_point::Value::AsDouble(d)) = dp.value
                                    && d.is_nan()
                                {
                                    // NaN marks staleness; Go leaves such points as they are.
                                    return true;
                                }
                                keep(tracker.sum(&id, dp))
                            });
                            s.aggregation_temporality = DELTA;
                            !s.data_points.is_empty()
                        }
                        Some(Data::Histogram(h)) => {
                            h.data_points.retain_mut(|dp| {
                                dp.flags & FLAG_NO_RECORDED_VALUE == 0
                                    && keep(tracker.histogram(&id, dp))
                            });
                            h.aggregation_temporality = DELTA;
                            !h.data_points.is_empty()
                        }
                        Some(Data::ExponentialHistogram(h)) => {
                            h.data_points.retain_mut(|dp| {
                                dp.flags & FLAG_NO_RECORDED_VALUE == 0
                                    && keep(tracker.exponential(&id, dp))
                            });
                            h.aggregation_temporality = DELTA;
                            !h.data_points.is_empty()
                        }
                        _ => true,
                    }
                });
                !sm.metrics.is_empty()
            });
            !rm.scope_metrics.is_empty()
        });
        for r in drops {
            self.count(r);
        }
        let evicted = self.tracker.take_evicted();
        if evicted > 0 {
            self.evicted.add(evicted as u64);
        }
    }
}
