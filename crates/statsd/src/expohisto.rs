//! The exponential histogram Go's statsd receiver aggregates into (lightstep's
//! `go-expohisto` structure): it starts at the finest scale (20) and halves its
//! resolution only as far as needed to keep every value within `max_size` buckets.

/// Go's `structure.MinSize` and `MaximumMaxSize`, and the default size.
pub const MIN_SIZE: i32 = 2;
pub const MAXIMUM_MAX_SIZE: i32 = 16384;
pub const DEFAULT_MAX_SIZE: i32 = 160;
const MAX_SCALE: i32 = 20;

const SIGNIFICAND_MASK: u64 = (1 << 52) - 1;

/// One side's buckets: counts from index `offset` upwards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub offset: i32,
    pub counts: Vec<u64>,
}

impl Buckets {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn high(&self) -> i32 {
        self.offset + self.counts.len() as i32 - 1
    }

    /// Merges buckets for a scale `change` steps coarser.
    fn downscale(&mut self, change: i32) {
        if change == 0 || self.is_empty() {
            return;
        }
        let new_offset = self.offset >> change;
        let new_high = self.high() >> change;
        let mut merged = vec![0u64; (new_high - new_offset + 1) as usize];
        for (i, c) in self.counts.iter().enumerate() {
            let idx = (self.offset + i as i32) >> change;
            merged[(idx - new_offset) as usize] += c;
        }
        self.offset = new_offset;
        self.counts = merged;
    }

    fn increment(&mut self, index: i32, incr: u64) {
        if self.is_empty() {
            self.offset = index;
            self.counts.push(incr);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            let mut counts = vec![0u64; grow];
            counts.append(&mut self.counts);
            self.counts = counts;
            self.offset = index;
        } else if index > self.high() {
            self.counts.resize((index - self.offset + 1) as usize, 0);
        }
        self.counts[(index - self.offset) as usize] += incr;
    }
}

/// An exponential histogram of f64 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    max_size: i32,
    pub scale: i32,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub zero_count: u64,
    pub positive: Buckets,
    pub negative: Buckets,
}

impl Histogram {
    /// `max_size` below [`MIN_SIZE`] means the default, as Go's config does.
    pub fn new(max_size: i32) -> Histogram {
        Histogram {
            max_size: if max_size >= MIN_SIZE {
                max_size
            } else {
                DEFAULT_MAX_SIZE
            },
            scale: MAX_SCALE,
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            zero_count: 0,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }
    }

    /// Adds `value` `incr` times (Go's `UpdateByIncr`).
    pub fn update(&mut self, value: f64, incr: u64) {
        if value.is_nan() || value.is_infinite() {
            return;
        }
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += incr;
        self.sum += value * incr as f64;
        if value == 0.0 {
            self.zero_count += incr;
            return;
        }
        let negative = value < 0.0;
        let abs = value.abs();
        let mut index = map_to_index(abs, self.scale);
        let side = if negative {
            &self.negative
        } else {
            &self.positive
        };
        if !side.is_empty() {
            let low = side.offset.min(index);
            let high = side.high().max(index);
            let change = change_scale(high, low, self.max_size);
            if change > 0 {
                self.scale -= change;
                self.positive.downscale(change);
                self.negative.downscale(change);
                index = map_to_index(abs, self.scale);
            }
        }
        let side = if negative {
            &mut self.negative
        } else {
            &mut self.positive
        };
        side.increment(index, incr);
    }
}

fn change_scale(mut high: i32, mut low: i32, max_size: i32) -> i32 {
    let mut change = 0;
    while high - low >= max_size {
        high >>= 1;
        low >>= 1;
        change += 1;
    }
    change
}

fn normal_base2(v: f64) -> i32 {
    ((v.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

/// The bucket of a positive finite `value` at `scale`: upper-inclusive boundaries
/// `(base^index, base^(index+1)]`, exact at powers of two (lightstep's mappings).
pub fn map_to_index(value: f64, scale: i32) -> i32 {
    let exact = value.to_bits() & SIGNIFICAND_MASK == 0;
    let exp = normal_base2(value);
    if scale <= 0 {
        let correction = if exact { -1 } else { 0 };
        return (exp + correction) >> -scale;
    }
    if exact {
        return (exp << scale) - 1;
    }
    let factor = std::f64::consts::LOG2_E * (2f64).powi(scale);
    (value.ln() * factor).floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_are_upper_inclusive() {
        assert_eq!(map_to_index(1.0, 0), -1);
        assert_eq!(map_to_index(2.0, 0), 0);
        assert_eq!(map_to_index(3.0, 0), 1);
        assert_eq!(map_to_index(4.0, 0), 1);
        assert_eq!(map_to_index(4.0, -1), 0);
        assert_eq!(map_to_index(2.0, 1), 1);
        assert_eq!(map_to_index(3.0, 1), 3);
    }

    #[test]
    fn downscales_only_as_far_as_needed() {
        // go-expohisto with max_size 4: 1, 2, 4 and 8 land at scale 0 (indexes -1..2)
        let mut h = Histogram::new(4);
        for v in [1.0, 2.0, 4.0, 8.0] {
            h.update(v, 1);
        }
        assert_eq!(h.scale, 0);
        assert_eq!(
            h.positive,
            Buckets {
                offset: -1,
                counts: vec![1, 1, 1, 1]
            }
        );
        assert_eq!((h.count, h.sum, h.min, h.max), (4, 15.0, 1.0, 8.0));
        // one more doubling no longer fits: scale -1
        h.update(16.0, 1);
        assert_eq!(h.scale, -1);
        assert_eq!(
            h.positive,
            Buckets {
                offset: -1,
                counts: vec![1, 2, 2]
            }
        );
    }

    #[test]
    fn a_single_value_stays_at_scale_20_and_zero_and_negatives_apart() {
        let mut h = Histogram::new(160);
        h.update(10.0, 3);
        assert_eq!(h.scale, 20);
        assert_eq!(h.positive.counts, vec![3]);
        assert_eq!(h.positive.offset, map_to_index(10.0, 20));
        h.update(0.0, 1);
        h.update(-10.0, 1);
        assert_eq!(h.zero_count, 1);
        assert_eq!(h.negative.counts, vec![1]);
        assert_eq!((h.count, h.sum, h.min), (5, 20.0, -10.0));
    }
}
