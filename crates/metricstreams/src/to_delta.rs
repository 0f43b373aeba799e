//! Cumulative to delta, as Go's `cumulativetodelta` tracker does it.
//!
//! A stream's identity here includes the point's start time and value type (Go's
//! `MetricIdentity`): a counter that restarts with a new start time is a new stream, whose
//! first point is judged by `initial_value`, and the old stream ages out.
//!
//! - First point of a stream: remembered; `auto` sends it unchanged if its start time is set,
//!   not before the processor started and not equal to its timestamp, else drops it
//!   (reason `initial`); `keep` sends its value with the start time cleared (Go leaves the
//!   delta's start at zero); `drop` drops it.
//! - Later points: the delta from the remembered point, starting at the remembered point's
//!   timestamp. A sum that went down is a reset: the point is dropped (reason `reset`) and
//!   becomes the new reference. A histogram whose count went down passes with its full
//!   cumulative values; a histogram whose bucket layout changed is dropped
//!   (`bucket_mismatch`). A histogram's NaN sum is taken as the previous sum. An
//!   exponential histogram whose count or zero threshold went down or whose scale went up is
//!   dropped (`reset`); one whose scale went down or zero threshold went up is compared with
//!   the previous point brought to its layout.
//! - Min and max of converted histograms are removed (they are not deltas).

use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
use pdata::proto::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, number_data_point,
};

use crate::expo;
use crate::identity::{StreamHasher, extend};
use crate::map::StreamMap;

/// What to do with the first point of a stream (`initial_value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialValue {
    #[default]
    Auto,
    Keep,
    Drop,
}

impl InitialValue {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(InitialValue::Auto),
            "keep" => Ok(InitialValue::Keep),
            "drop" => Ok(InitialValue::Drop),
            other => Err(format!("unknown initial_value: {other}")),
        }
    }
}

/// Why a point was dropped (the `reason` of `otelcol_cumulativetodelta_datapoints_dropped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Initial,
    Reset,
    BucketMismatch,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Initial => "initial",
            Reason::Reset => "reset",
            Reason::BucketMismatch => "bucket_mismatch",
        }
    }
}

/// The fate of one point: rewritten in place and kept, or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Keep,
    Drop(Reason),
}

#[derive(Debug, Clone)]
struct ExpoPrev {
    count: u64,
    sum: f64,
    zero_count: u64,
    zero_threshold: f64,
    scale: i32,
    positive: Buckets,
    negative: Buckets,
}

#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Double(f64),
    Histogram {
        count: u64,
        sum: f64,
        buckets: Vec<u64>,
        bounds: Vec<f64>,
    },
    Expo(Box<ExpoPrev>),
}

#[derive(Debug, Clone)]
struct Prev {
    time: u64,
    value: Value,
}

/// The remembered point of every stream. At its ceiling it forgets the least recently seen
/// half (Go has no ceiling; a forgotten stream's next point is a first point again).
pub struct Tracker {
    states: StreamMap<Prev>,
    /// Streams forgotten to stay under the ceiling, since the last [`Tracker::take_evicted`].
    evicted: usize,
    initial: InitialValue,
    /// Unix nanoseconds the processor was created at (for `auto`).
    start_time: u64,
}

impl Tracker {
    pub fn new(initial: InitialValue, start_time: u64, limit: usize) -> Self {
        Tracker {
            states: StreamMap::new(limit),
            evicted: 0,
            initial,
            start_time,
        }
    }

    /// Streams remembered.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Streams forgotten to stay under the ceiling since the last call.
    pub fn take_evicted(&mut self) -> usize {
        std::mem::take(&mut self.evicted)
    }

    /// Forgets streams whose last point is older than `before` (unix nanoseconds).
    pub fn expire_before(&mut self, before: u64) -> usize {
        self.states.expire_before(before)
    }

    /// Remembers `value` as the stream's point and hands back the one it replaces; for a
    /// new stream, what becomes of its first point.
    fn lookup(
        &mut self,
        id: crate::StreamId,
        start: u64,
        time: u64,
        value: Value,
    ) -> Result<Prev, Outcome> {
        if let Some(prev) = self.states.get_mut(id, time) {
            return Ok(std::mem::replace(prev, Prev { time, value }));
        }
        self.evicted += self
            .states
            .insert_evicting(id, Prev { time, value }, time)
            .1;
        Err(match self.initial {
            InitialValue::Auto if start < self.start_time || time == start => {
                Outcome::Drop(Reason::Initial)
            }
            InitialValue::Auto | InitialValue::Keep => Outcome::Keep,
            InitialValue::Drop => Outcome::Drop(Reason::Initial),
        })
    }

    fn first(&self, outcome: Outcome) -> Option<u64> {
        // `keep` sends the first value with no start time (Go's zero DeltaValue start);
        // `auto` keeps the point's own start time.
        match (outcome, self.initial) {
            (Outcome::Keep, InitialValue::Keep) => Some(0),
            _ => None,
        }
    }

    /// A point of a monotonic cumulative sum (not NaN, not flagged "no recorded value").
    pub fn sum(&mut self, metric: &StreamHasher, dp: &mut NumberDataPoint) -> Outcome {
        let (kind, value) = match dp.value {
            Some(number_data_point::Value::AsDouble(d)) => (2u8, Value::Double(d)),
            Some(number_data_point::Value::AsInt(i)) => (1u8, Value::Int(i)),
            None => (0u8, Value::Int(0)),
        };
        let id = extend(metric, (dp.start_time_unix_nano, kind)).stream(&dp.attributes);
        let prev = match self.lookup(id, dp.start_time_unix_nano, dp.time_unix_nano, value) {
            Ok(prev) => prev,
            Err(outcome) => {
                if let Some(start) = self.first(outcome) {
                    dp.start_time_unix_nano = start;
                }
                return outcome;
            }
        };
        dp.start_time_unix_nano = prev.time;
        match (&mut dp.value, prev.value) {
            (Some(number_data_point::Value::AsDouble(v)), Value::Double(p)) => {
                if *v < p {
                    return Outcome::Drop(Reason::Reset);
                }
                *v -= p;
            }
            (Some(number_data_point::Value::AsInt(v)), Value::Int(p)) => {
                if *v < p {
                    return Outcome::Drop(Reason::Reset);
                }
                *v = v.wrapping_sub(p);
            }
            _ => {}
        }
        Outcome::Keep
    }

    /// A point of a cumulative histogram (not flagged "no recorded value").
    pub fn histogram(&mut self, metric: &StreamHasher, dp: &mut HistogramDataPoint) -> Outcome {
        let id = extend(metric, (dp.start_time_unix_nano, 1u8)).stream(&dp.attributes);
        let mut sum = dp.sum.unwrap_or(0.0);
        // Go takes a NaN sum as the previous one; peek before the state is replaced.
        if sum.is_nan()
            && let Some(Prev {
                value: Value::Histogram { sum: p, .. },
                ..
            }) = self.states.get_mut(id, dp.time_unix_nano).map(|p| &*p)
        {
            sum = *p;
        }
        let value = Value::Histogram {
            count: dp.count,
            sum,
            buckets: dp.bucket_counts.clone(),
            bounds: dp.explicit_bounds.clone(),
        };
        let prev = match self.lookup(id, dp.start_time_unix_nano, dp.time_unix_nano, value) {
            Ok(prev) => prev,
            Err(outcome) => {
                if outcome == Outcome::Keep {
                    if let Some(start) = self.first(outcome) {
                        dp.start_time_unix_nano = start;
                    }
                    dp.min = None;
                    dp.max = None;
                }
                return outcome;
            }
        };
        let Value::Histogram {
            count: pcount,
            sum: psum,
            buckets: pbuckets,
            bounds: pbounds,
        } = prev.value
        else {
            return Outcome::Drop(Reason::BucketMismatch);
        };
        if pbuckets.len() != dp.bucket_counts.len() || pbounds != dp.explicit_bounds {
            return Outcome::Drop(Reason::BucketMismatch);
        }
        dp.start_time_unix_nano = prev.time;
        if dp.count >= pcount {
            dp.count -= pcount;
            if let Some(s) = dp.sum.as_mut()
                && !s.is_nan()
            {
                *s -= psum;
            }
            for (b, p) in dp.bucket_counts.iter_mut().zip(pbuckets) {
                *b = b.wrapping_sub(p);
            }
        }
        // else: a reset; the point passes with its cumulative values (Go does the same).
        dp.min = None;
        dp.max = None;
        Outcome::Keep
    }

    /// A point of a cumulative exponential histogram (not flagged "no recorded value").
    pub fn exponential(
        &mut self,
        metric: &StreamHasher,
        dp: &mut ExponentialHistogramDataPoint,
    ) -> Outcome {
        let id = extend(metric, (dp.start_time_unix_nano, 1u8)).stream(&dp.attributes);
        let value = Value::Expo(Box::new(ExpoPrev {
            count: dp.count,
            sum: dp.sum.unwrap_or(0.0),
            zero_count: dp.zero_count,
            zero_threshold: dp.zero_threshold,
            scale: dp.scale,
            positive: dp.positive.clone().unwrap_or_default(),
            negative: dp.negative.clone().unwrap_or_default(),
        }));
        let prev = match self.lookup(id, dp.start_time_unix_nano, dp.time_unix_nano, value) {
            Ok(prev) => prev,
            Err(outcome) => {
                if outcome == Outcome::Keep {
                    if let Some(start) = self.first(outcome) {
                        dp.start_time_unix_nano = start;
                    }
                    dp.min = None;
                    dp.max = None;
                }
                return outcome;
            }
        };
        let Value::Expo(mut p) = prev.value else {
            return Outcome::Drop(Reason::Reset);
        };
        if dp.count < p.count || dp.zero_threshold < p.zero_threshold || dp.scale > p.scale {
            return Outcome::Drop(Reason::Reset);
        }
        dp.start_time_unix_nano = prev.time;
        dp.count -= p.count;
        if let Some(s) = dp.sum.as_mut() {
            *s -= p.sum;
        }
        if dp.zero_threshold > p.zero_threshold {
            // The previous buckets now inside the zero bucket count as zeros.
            let upto = expo::index_of(dp.zero_threshold, p.scale);
            p.zero_count += expo::trim_upto(&mut p.positive, upto);
            p.zero_count += expo::trim_upto(&mut p.negative, upto);
        }
        dp.zero_count = dp.zero_count.wrapping_sub(p.zero_count);
        if dp.scale < p.scale {
            let by = (p.scale - dp.scale) as u32;
            expo::downscale(&mut p.positive, by);
            expo::downscale(&mut p.negative, by);
        }
        let pos = dp.positive.take().unwrap_or_default();
        let neg = dp.negative.take().unwrap_or_default();
        dp.positive = Some(expo::diff(&pos, &p.positive));
        dp.negative = Some(expo::diff(&neg, &p.negative));
        dp.min = None;
        dp.max = None;
        Outcome::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};

    fn point(series: &str, time: u64, v: i64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![KeyValue {
                key: "s".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(series.into())),
                }),
                ..Default::default()
            }],
            start_time_unix_nano: 0,
            time_unix_nano: time,
            value: Some(number_data_point::Value::AsInt(v)),
            ..Default::default()
        }
    }

    #[test]
    fn at_the_ceiling_the_stalest_streams_are_forgotten_and_counted() {
        let mut t = Tracker::new(InitialValue::Keep, 0, 2);
        let m = StreamHasher::new().metric("m", "", 1, true, 2);
        assert_eq!(t.sum(&m, &mut point("a", 1, 10)), Outcome::Keep);
        assert_eq!(t.sum(&m, &mut point("b", 2, 10)), Outcome::Keep);
        let mut b = point("b", 3, 15);
        assert_eq!(t.sum(&m, &mut b), Outcome::Keep);
        assert_eq!(b.value, Some(number_data_point::Value::AsInt(5)));
        // a third stream: "a" (seen at 1) is the least recent and goes
        assert_eq!(t.sum(&m, &mut point("c", 4, 1)), Outcome::Keep);
        assert_eq!(t.take_evicted(), 1);
        assert_eq!(t.len(), 2);
        // "a" comes back as a new stream: its value is sent whole (initial_value keep)
        let mut a = point("a", 5, 30);
        assert_eq!(t.sum(&m, &mut a), Outcome::Keep);
        assert_eq!(a.value, Some(number_data_point::Value::AsInt(30)));
    }
}
