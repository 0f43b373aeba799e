//! Delta to cumulative, as Go's `deltatocumulative` processor aggregates: the first point of
//! a stream starts its running total and passes unchanged; each later point is added to the
//! total (timestamp taken from the point, start time kept from the first), and the point
//! sent on is the total. A point whose start time is before the total's is from an older
//! run and is dropped (`delta.ErrOlderStart`); a point not newer than the total is out of
//! order or a duplicate and is dropped (`delta.ErrOutOfOrder`). A point that starts later
//! than the last one ended (a gap) is simply added.
//!
//! Histograms add bucket by bucket; when the bounds change the total restarts from the new
//! point. Exponential histograms are brought to the lower of the two scales (and further
//! down if the union would exceed 160 buckets) and to the wider zero threshold before their
//! buckets are added. Sum, min and max are kept only while every point has them.

use pdata::proto::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, number_data_point,
};

use crate::StreamId;
use crate::expo;
use crate::map::StreamMap;

/// Go's limit on exponential histogram buckets after a merge.
const MAX_BUCKETS: i64 = 160;

/// Why a point was dropped: the `error` attribute of `otelcol_deltatocumulative_datapoints`
/// (Go names the error type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    Limit,
    OlderStart,
    OutOfOrder,
}

impl Dropped {
    pub fn as_str(self) -> &'static str {
        match self {
            Dropped::Limit => "limit",
            Dropped::OlderStart => "delta.ErrOlderStart",
            Dropped::OutOfOrder => "delta.ErrOutOfOrder",
        }
    }
}

enum Total {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
    Exponential(ExponentialHistogramDataPoint),
}

/// The running total of every stream.
pub struct Accumulator {
    totals: StreamMap<Total>,
}

/// The checks every kind of point goes through before it is added.
fn check(total_start: u64, total_time: u64, start: u64, time: u64) -> Result<(), Dropped> {
    if start < total_start {
        Err(Dropped::OlderStart)
    } else if time <= total_time {
        Err(Dropped::OutOfOrder)
    } else {
        Ok(())
    }
}

fn min_max(total: &mut Option<f64>, add: Option<f64>, pick: fn(f64, f64) -> f64) {
    *total = match (*total, add) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        _ => None,
    };
}

fn add_sum(total: &mut Option<f64>, add: Option<f64>) {
    *total = match (*total, add) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    };
}

impl Accumulator {
    /// At most `limit` streams.
    pub fn new(limit: usize) -> Self {
        Accumulator {
            totals: StreamMap::new(limit),
        }
    }

    pub fn len(&self) -> usize {
        self.totals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// Forgets streams not seen since `before` (unix nanoseconds, wall clock).
    pub fn expire_before(&mut self, before: u64) -> usize {
        self.totals.expire_before(before)
    }

    /// Adds a delta sum point; on success `dp` holds the total.
    pub fn number(
        &mut self,
        id: StreamId,
        dp: &mut NumberDataPoint,
        now: u64,
    ) -> Result<(), Dropped> {
        let Some(Total::Number(total)) = self.totals.get_mut(id, now) else {
            return self.first(id, Total::Number(dp.clone()), now);
        };
        check(
            total.start_time_unix_nano,
            total.time_unix_nano,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
        )?;
        use number_data_point::Value::{AsDouble, AsInt};
        total.value = match (total.value, dp.value) {
            (Some(AsInt(a)), Some(AsInt(b))) => Some(AsInt(a.wrapping_add(b))),
            (Some(AsDouble(a)), Some(AsDouble(b))) => Some(AsDouble(a + b)),
            // Go adds in the incoming point's type, reading the other as that type.
            (Some(AsInt(_)) | None, Some(AsDouble(b))) => Some(AsDouble(b)),
            (Some(AsDouble(_)) | None, Some(AsInt(b))) => Some(AsInt(b)),
            (t, None) => t,
        };
        total.time_unix_nano = dp.time_unix_nano;
        dp.clone_from(total);
        Ok(())
    }

    /// Adds a delta histogram point; on success `dp` holds the total.
    pub fn histogram(
        &mut self,
        id: StreamId,
        dp: &mut HistogramDataPoint,
        now: u64,
    ) -> Result<(), Dropped> {
        let Some(Total::Histogram(total)) = self.totals.get_mut(id, now) else {
            return self.first(id, Total::Histogram(dp.clone()), now);
        };
        check(
            total.start_time_unix_nano,
            total.time_unix_nano,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
        )?;
        if total.explicit_bounds != dp.explicit_bounds {
            // No way to merge different bounds: the total starts again from this point.
            total.clone_from(dp);
        } else {
            for (t, b) in total.bucket_counts.iter_mut().zip(&dp.bucket_counts) {
                *t = t.wrapping_add(*b);
            }
            total.count = total.count.wrapping_add(dp.count);
            add_sum(&mut total.sum, dp.sum);
            min_max(&mut total.min, dp.min, f64::min);
            min_max(&mut total.max, dp.max, f64::max);
        }
        total.time_unix_nano = dp.time_unix_nano;
        dp.clone_from(total);
        Ok(())
    }

    /// Adds a delta exponential histogram point; on success `dp` holds the total.
    pub fn exponential(
        &mut self,
        id: StreamId,
        dp: &mut ExponentialHistogramDataPoint,
        now: u64,
    ) -> Result<(), Dropped> {
        let Some(Total::Exponential(total)) = self.totals.get_mut(id, now) else {
            return self.first(id, Total::Exponential(dp.clone()), now);
        };
        check(
            total.start_time_unix_nano,
            total.time_unix_nano,
            dp.start_time_unix_nano,
            dp.time_unix_nano,
        )?;
        let mut add = dp.clone();
        let tp = total.positive.get_or_insert_default();
        let tn = total.negative.get_or_insert_default();
        let ap = add.positive.get_or_insert_default();
        let an = add.negative.get_or_insert_default();
        // Same scale: the finer one is brought down to the coarser.
        if total.scale > add.scale {
            let by = (total.scale - add.scale) as u32;
            expo::downscale(tp, by);
            expo::downscale(tn, by);
            total.scale = add.scale;
        } else if add.scale > total.scale {
            let by = (add.scale - total.scale) as u32;
            expo::downscale(ap, by);
            expo::downscale(an, by);
            add.scale = total.scale;
        }
        // Bounded size: lower both further while the union is too wide.
        let steps =
            expo::steps_to_fit(tp, ap, MAX_BUCKETS).max(expo::steps_to_fit(tn, an, MAX_BUCKETS));
        if steps > 0 {
            for b in [&mut *tp, &mut *tn, &mut *ap, &mut *an] {
                expo::downscale(b, steps);
            }
            total.scale -= steps as i32;
        }
        // Same zero bucket: the narrower one is widened.
        if total.zero_threshold < add.zero_threshold {
            let upto = expo::index_of(add.zero_threshold, total.scale);
            total.zero_count += expo::trim_upto(tp, upto) + expo::trim_upto(tn, upto);
            total.zero_threshold = add.zero_threshold;
        } else if add.zero_threshold < total.zero_threshold {
            let upto = expo::index_of(total.zero_threshold, total.scale);
            add.zero_count += expo::trim_upto(ap, upto) + expo::trim_upto(an, upto);
        }
        expo::merge(tp, ap);
        expo::merge(tn, an);
        total.count = total.count.wrapping_add(add.count);
        total.zero_count = total.zero_count.wrapping_add(add.zero_count);
        add_sum(&mut total.sum, add.sum);
        min_max(&mut total.min, add.min, f64::min);
        min_max(&mut total.max, add.max, f64::max);
        total.time_unix_nano = dp.time_unix_nano;
        dp.clone_from(total);
        Ok(())
    }

    fn first(&mut self, id: StreamId, total: Total, now: u64) -> Result<(), Dropped> {
        // A stream whose kind changed under the same identity starts again, as a new one.
        self.totals.remove(id);
        self.totals
            .insert(id, total, now)
            .map(drop)
            .map_err(|_| Dropped::Limit)
    }
}
