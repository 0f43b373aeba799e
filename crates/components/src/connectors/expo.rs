//! A base-2 exponential histogram of non-negative values with a bucket budget, as
//! `lightstep/go-expohisto` (what Go's span_metrics and service_graph record durations
//! with): it starts at the
//! finest scale (20) and halves its resolution (scale - 1, neighbouring buckets merged)
//! whenever the observed range needs more than `max_size` buckets.

use pdata::proto::metrics::v1::ExponentialHistogramDataPoint;
use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;

const MAX_SCALE: i32 = 20;
const MIN_SCALE: i32 = -10;

#[derive(Debug, Clone)]
pub struct ExpoHistogram {
    max_size: usize,
    scale: i32,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    zero_count: u64,
    offset: i32,
    counts: Vec<u64>,
}

/// `v = frac * 2^exp` with `frac` in [0.5, 1), and whether `v` is an exact power of two.
fn frexp(v: f64) -> (i32, bool) {
    let bits = v.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = bits & ((1u64 << 52) - 1);
    if exp_bits == 0 {
        // Subnormal: normalise by hand.
        let lz = mantissa.leading_zeros() as i32 - 12;
        let exact = mantissa.is_power_of_two();
        return (-1022 - lz, exact);
    }
    (exp_bits - 1022, mantissa == 0)
}

/// The bucket index of `v > 0` at `scale`; buckets are upper-inclusive:
/// index i holds (base^i, base^(i+1)], base = 2^(2^-scale).
pub fn map_to_index(v: f64, scale: i32) -> i32 {
    let (exp, exact) = frexp(v);
    if scale <= 0 {
        let base2 = if exact { exp - 2 } else { exp - 1 };
        return base2 >> -scale;
    }
    if exact {
        return ((exp - 1) << scale) - 1;
    }
    let factor = f64::from(1u32 << scale) / std::f64::consts::LN_2;
    (v.ln() * factor).floor() as i32
}

impl ExpoHistogram {
    pub fn new(max_size: usize) -> ExpoHistogram {
        ExpoHistogram {
            max_size: max_size.max(2),
            scale: MAX_SCALE,
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            zero_count: 0,
            offset: 0,
            counts: Vec::new(),
        }
    }

    pub fn observe(&mut self, v: f64) {
        if !v.is_finite() || v < 0.0 {
            return;
        }
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
        if v == 0.0 {
            self.zero_count += 1;
            return;
        }
        let mut idx = map_to_index(v, self.scale);
        if self.counts.is_empty() {
            self.offset = idx;
            self.counts.push(1);
            return;
        }
        let high_now = self.offset + self.counts.len() as i32 - 1;
        let (low, high) = (self.offset.min(idx), high_now.max(idx));
        let mut change = 0;
        while (i64::from(high >> change) - i64::from(low >> change) + 1) as usize > self.max_size
            && self.scale - change > MIN_SCALE
        {
            change += 1;
        }
        if change > 0 {
            self.downscale(change);
            idx = map_to_index(v, self.scale);
        }
        if idx < self.offset {
            let grow = (self.offset - idx) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = idx;
        } else if idx >= self.offset + self.counts.len() as i32 {
            self.counts.resize((idx - self.offset + 1) as usize, 0);
        }
        self.counts[(idx - self.offset) as usize] += 1;
    }

    fn downscale(&mut self, change: i32) {
        self.scale -= change;
        let new_offset = self.offset >> change;
        let mut merged: Vec<u64> = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            let j = ((self.offset + i as i32) >> change) - new_offset;
            let j = j as usize;
            if merged.len() <= j {
                merged.resize(j + 1, 0);
            }
            merged[j] += c;
        }
        self.offset = new_offset;
        self.counts = merged;
    }

    /// Fills the value fields of a data point (Go's `expoHistToExponentialDataPoint`).
    pub fn fill(&self, dp: &mut ExponentialHistogramDataPoint) {
        dp.count = self.count;
        dp.sum = Some(self.sum);
        if self.count > 0 {
            dp.min = Some(self.min);
            dp.max = Some(self.max);
        }
        dp.zero_count = self.zero_count;
        dp.scale = self.scale;
        dp.positive = Some(Buckets {
            offset: if self.counts.is_empty() {
                0
            } else {
                self.offset
            },
            bucket_counts: self.counts.clone(),
        });
        dp.negative = Some(Buckets::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_are_upper_bucket_bounds() {
        // At scale 0, bucket i is (2^i, 2^(i+1)].
        assert_eq!(map_to_index(1.0, 0), -1);
        assert_eq!(map_to_index(2.0, 0), 0);
        assert_eq!(map_to_index(3.0, 0), 1);
        assert_eq!(map_to_index(4.0, 0), 1);
        assert_eq!(map_to_index(4.5, 0), 2);
        // At scale 1, base sqrt(2): 2 = base^2 is the top of bucket 1.
        assert_eq!(map_to_index(2.0, 1), 1);
        assert_eq!(map_to_index(2.5, 1), 2);
        assert_eq!(map_to_index(1.0, 20), -1);
        assert_eq!(map_to_index(4.0, -1), 0);
        assert_eq!(map_to_index(5.0, -1), 1);
    }

    #[test]
    fn downscales_to_fit_max_size_and_keeps_every_count() {
        let mut h = ExpoHistogram::new(4);
        for v in [1.0, 2.0, 4.0, 8.0, 16.0, 0.0] {
            h.observe(v);
        }
        let mut dp = ExponentialHistogramDataPoint::default();
        h.fill(&mut dp);
        assert_eq!(dp.count, 6);
        assert_eq!(dp.zero_count, 1);
        assert_eq!(dp.sum, Some(31.0));
        assert_eq!((dp.min, dp.max), (Some(0.0), Some(16.0)));
        let p = dp.positive.unwrap();
        assert!(p.bucket_counts.len() <= 4);
        assert_eq!(p.bucket_counts.iter().sum::<u64>(), 5);
        // 1,2,4,8,16 are bounds -1..3 at scale 0; five buckets do not fit four, so scale -1.
        assert_eq!(dp.scale, -1);
        assert_eq!(p.offset, -1);
        assert_eq!(p.bucket_counts, vec![1, 2, 2]);
    }

    #[test]
    fn single_value_stays_at_the_finest_scale() {
        let mut h = ExpoHistogram::new(160);
        h.observe(5.0);
        h.observe(5.0);
        let mut dp = ExponentialHistogramDataPoint::default();
        h.fill(&mut dp);
        assert_eq!(dp.scale, 20);
        assert_eq!(dp.positive.unwrap().bucket_counts, vec![2]);
    }
}
