//! Native (exponential) histograms: bucket boundaries, arithmetic for `sum`/`+`/`rate`, counter
//! reset detection and `histogram_quantile`, following model/histogram and promql/quantile.go.

use std::collections::BTreeMap;

/// A native histogram sample with float counts (Prometheus' `FloatHistogram`).
/// Buckets hold absolute counts, not the deltas of the remote-write encoding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatHistogram {
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    /// `(offset, length)` spans; the first offset is the index of the first bucket.
    pub positive_spans: Vec<(i32, u32)>,
    pub positive_buckets: Vec<f64>,
    pub negative_spans: Vec<(i32, u32)>,
    pub negative_buckets: Vec<f64>,
    pub counter_reset_hint: CounterResetHint,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CounterResetHint {
    #[default]
    Unknown,
    CounterReset,
    NotCounterReset,
    Gauge,
}

/// One bucket as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
}

/// Upper bound of bucket `idx` in `schema` (model/histogram getBound, with the same special
/// case for the last finite bucket).
pub fn bucket_bound(idx: i32, schema: i32) -> f64 {
    // Valid schemas are -4..=8; anything else (a corrupt sample) still gets a finite answer.
    let schema = schema.clamp(-30, 30);
    if schema < 0 {
        let exp = (idx as i64) << (-schema);
        if exp == 1024 {
            return f64::MAX;
        }
        if exp > 1024 {
            return f64::INFINITY;
        }
        if exp < -1074 {
            return 0.0;
        }
        return 2f64.powi(exp as i32);
    }
    let frac_idx = (idx as i64) & ((1i64 << schema) - 1);
    let whole = (idx as i64) >> schema;
    if frac_idx == 0 && whole == 1024 {
        return f64::MAX;
    }
    if whole >= 1024 {
        return f64::INFINITY;
    }
    if whole < -1075 {
        return 0.0;
    }
    // The fraction is exact for frac_idx == 0; elsewhere exp2 is within an ulp of the table.
    let frac = (frac_idx as f64 / (1u64 << schema) as f64).exp2();
    frac * 2f64.powi(whole as i32)
}

fn expand(spans: &[(i32, u32)], buckets: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut idx = 0i32;
    let mut bi = 0usize;
    for (si, &(off, len)) in spans.iter().enumerate() {
        idx = if si == 0 { off } else { idx.wrapping_add(off) };
        for _ in 0..len {
            // A span longer than the buckets it describes (a corrupt sample) ends here.
            let Some(&c) = buckets.get(bi) else {
                return out;
            };
            out.push((idx, c));
            bi += 1;
            idx = idx.wrapping_add(1);
        }
    }
    out
}

fn encode(map: &BTreeMap<i32, f64>) -> (Vec<(i32, u32)>, Vec<f64>) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut buckets = Vec::new();
    let mut next: Option<i32> = None;
    for (&idx, &c) in map {
        if c == 0.0 {
            continue;
        }
        match next {
            Some(n) if n == idx => spans.last_mut().unwrap().1 += 1,
            Some(n) => spans.push((idx.wrapping_sub(n), 1)),
            None => spans.push((idx, 1)),
        }
        buckets.push(c);
        next = Some(idx.wrapping_add(1));
    }
    (spans, buckets)
}

/// Index of `idx` (in `from` schema) once reduced to the coarser `to` schema.
fn target_idx(idx: i32, from: i32, to: i32) -> i32 {
    if from <= to {
        return idx;
    }
    (idx.saturating_sub(1) >> (from.saturating_sub(to)).min(31)).saturating_add(1)
}

impl FloatHistogram {
    pub fn positive(&self) -> Vec<(i32, f64)> {
        expand(&self.positive_spans, &self.positive_buckets)
    }
    pub fn negative(&self) -> Vec<(i32, f64)> {
        expand(&self.negative_spans, &self.negative_buckets)
    }

    fn maps(&self, schema: i32) -> (BTreeMap<i32, f64>, BTreeMap<i32, f64>) {
        let mut p = BTreeMap::new();
        for (i, c) in self.positive() {
            *p.entry(target_idx(i, self.schema, schema)).or_insert(0.0) += c;
        }
        let mut n = BTreeMap::new();
        for (i, c) in self.negative() {
            *n.entry(target_idx(i, self.schema, schema)).or_insert(0.0) += c;
        }
        (p, n)
    }

    fn set_maps(&mut self, schema: i32, p: &BTreeMap<i32, f64>, n: &BTreeMap<i32, f64>) {
        self.schema = schema;
        (self.positive_spans, self.positive_buckets) = encode(p);
        (self.negative_spans, self.negative_buckets) = encode(n);
    }

    /// `self + sign * other`, at the smaller of both schemas.
    fn combine(&self, other: &FloatHistogram, sign: f64) -> FloatHistogram {
        let schema = self.schema.min(other.schema);
        let (mut p, mut n) = self.maps(schema);
        let (op, on) = other.maps(schema);
        for (i, c) in op {
            *p.entry(i).or_insert(0.0) += sign * c;
        }
        for (i, c) in on {
            *n.entry(i).or_insert(0.0) += sign * c;
        }
        let mut out = FloatHistogram {
            zero_threshold: self.zero_threshold.max(other.zero_threshold),
            zero_count: self.zero_count + sign * other.zero_count,
            count: self.count + sign * other.count,
            sum: self.sum + sign * other.sum,
            counter_reset_hint: CounterResetHint::Unknown,
            ..Default::default()
        };
        out.set_maps(schema, &p, &n);
        out
    }

    pub fn add(&self, other: &FloatHistogram) -> FloatHistogram {
        self.combine(other, 1.0)
    }

    pub fn sub(&self, other: &FloatHistogram) -> FloatHistogram {
        self.combine(other, -1.0)
    }

    pub fn scale(&mut self, f: f64) {
        self.zero_count *= f;
        self.count *= f;
        self.sum *= f;
        self.positive_buckets.iter_mut().for_each(|c| *c *= f);
        self.negative_buckets.iter_mut().for_each(|c| *c *= f);
    }

    /// Whether `self` (later) shows a counter reset against `prev` (FloatHistogram.DetectReset).
    pub fn detect_reset(&self, prev: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset | CounterResetHint::Gauge => return false,
            CounterResetHint::Unknown => {}
        }
        if self.count < prev.count
            || self.schema > prev.schema
            || self.zero_threshold < prev.zero_threshold
        {
            return true;
        }
        if self.zero_threshold == prev.zero_threshold && self.zero_count < prev.zero_count {
            return true;
        }
        let schema = self.schema.min(prev.schema);
        let (cp, cn) = self.maps(schema);
        let (pp, pn) = prev.maps(schema);
        let decreased = |cur: &BTreeMap<i32, f64>, old: &BTreeMap<i32, f64>| {
            old.iter()
                .any(|(i, &c)| c > 0.0 && cur.get(i).copied().unwrap_or(0.0) < c)
        };
        decreased(&cp, &pp) || decreased(&cn, &pn)
    }

    /// All buckets from the lowest to the highest, the zero bucket in between when it holds
    /// observations (AllBucketIterator).
    pub fn all_buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        for (idx, count) in self.negative().into_iter().rev() {
            let mut upper = -bucket_bound(idx.saturating_sub(1), self.schema);
            if upper > -self.zero_threshold {
                upper = -self.zero_threshold;
            }
            out.push(Bucket {
                lower: -bucket_bound(idx, self.schema),
                upper,
                lower_inclusive: true,
                upper_inclusive: false,
                count,
            });
        }
        if self.zero_count > 0.0 {
            out.push(Bucket {
                lower: -self.zero_threshold,
                upper: self.zero_threshold,
                lower_inclusive: true,
                upper_inclusive: true,
                count: self.zero_count,
            });
        }
        for (idx, count) in self.positive() {
            let mut lower = bucket_bound(idx.saturating_sub(1), self.schema);
            if lower < self.zero_threshold {
                lower = self.zero_threshold;
            }
            out.push(Bucket {
                lower,
                upper: bucket_bound(idx, self.schema),
                lower_inclusive: false,
                upper_inclusive: true,
                count,
            });
        }
        out
    }
}

/// `histogram_quantile` over a native histogram. `exponential` selects the interpolation of
/// Prometheus 3.0 and later (logarithmic inside exponential buckets, searching from the
/// nearer end); otherwise the linear interpolation of 2.x (Debian ships 2.42).
pub fn native_quantile(q: f64, h: &FloatHistogram, exponential: bool) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if h.count == 0.0 || q.is_nan() {
        return f64::NAN;
    }
    let buckets = h.all_buckets();
    let reverse = exponential && !(h.sum.is_nan() || q < 0.5);
    let rank_target = if reverse {
        (1.0 - q) * h.count
    } else {
        q * h.count
    };
    let mut bucket = Bucket {
        lower: 0.0,
        upper: 0.0,
        lower_inclusive: false,
        upper_inclusive: false,
        count: 0.0,
    };
    let mut count = 0.0;
    let mut iter: Box<dyn Iterator<Item = &Bucket>> = if reverse {
        Box::new(buckets.iter().rev())
    } else {
        Box::new(buckets.iter())
    };
    for b in &mut iter {
        if exponential && b.count == 0.0 {
            continue;
        }
        bucket = *b;
        count += b.count;
        if count >= rank_target {
            break;
        }
    }
    if bucket.lower < 0.0 && bucket.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            bucket.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            bucket.upper = 0.0;
        }
    }
    if count > h.count {
        count = h.count;
    }
    if count < rank_target {
        if exponential && h.sum.is_nan() {
            return f64::NAN;
        }
        return bucket.upper;
    }
    let rank = if reverse {
        count - rank_target
    } else {
        rank_target - (count - bucket.count)
    };
    let fraction = rank / bucket.count;
    if !exponential || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        return bucket.lower + (bucket.upper - bucket.lower) * fraction;
    }
    let log_lower = bucket.lower.abs().log2();
    let log_upper = bucket.upper.abs().log2();
    if bucket.lower > 0.0 {
        (log_lower + (log_upper - log_lower) * fraction).exp2()
    } else {
        -((log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2())
    }
}

/// Classic-bucket quantile (quantile.go bucketQuantile): `buckets` are `(upper bound, cumulative
/// count)` of one series group, in any order.
pub fn bucket_quantile(q: f64, buckets: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    match buckets.last() {
        Some(b) if b.0 == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    // Buckets with the same upper bound (e.g. "1" and "1.0") are merged.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    // Cumulative counts must not decrease (scrape races, float precision): raise to the max.
    let mut max = merged[0].1;
    for b in merged.iter_mut().skip(1) {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let n = merged.len() - 1;
    let b = merged[..n].partition_point(|x| x.1 < rank);
    if b == n {
        return merged[n - 1].0;
    }
    if b == 0 && merged[0].0 <= 0.0 {
        return merged[0].0;
    }
    let bucket_end = merged[b].0;
    let mut count = merged[b].1;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = merged[b - 1].0;
        count -= merged[b - 1].1;
        rank -= merged[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// `histogram_fraction`: the estimated share of observations in `[lower, upper]`, with the
/// same interpolation choice as [`native_quantile`] (the zero bucket is always linear).
pub fn native_fraction(lower: f64, upper: f64, h: &FloatHistogram, exponential: bool) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for mut b in h.all_buckets() {
        let zero_bucket = b.lower <= 0.0 && b.upper >= 0.0;
        if b.lower < 0.0 && b.upper > 0.0 {
            if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
                b.lower = 0.0;
            } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
                b.upper = 0.0;
            }
        }
        let below = |v: f64| {
            let f = if exponential && !zero_bucket {
                let (lo, up) = (b.lower.abs().log2(), b.upper.abs().log2());
                (v.abs().log2() - lo) / (up - lo)
            } else {
                (v - b.lower) / (b.upper - b.lower)
            };
            rank + b.count * f
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = below(lower);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = below(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    if !lower_set || lower_rank > h.count {
        lower_rank = h.count;
    }
    if !upper_set || upper_rank > h.count {
        upper_rank = h.count;
    }
    (upper_rank - lower_rank) / h.count
}
