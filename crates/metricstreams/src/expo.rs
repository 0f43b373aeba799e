//! Bucket arithmetic of exponential histograms (OTLP data model): bucket `i` at scale `s`
//! holds values in `(2^(i·2^-s), 2^((i+1)·2^-s)]`; lowering the scale by `n` merges every
//! `2^n` neighbours (`i >> n`).

use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;

/// Absolute index of the first and one past the last bucket.
fn range(b: &Buckets) -> (i64, i64) {
    let lo = i64::from(b.offset);
    (lo, lo + b.bucket_counts.len() as i64)
}

/// Lowers the scale of `b` by `by` steps.
pub fn downscale(b: &mut Buckets, by: u32) {
    if by == 0 || b.bucket_counts.is_empty() {
        b.offset >>= by.min(31);
        return;
    }
    let by = by.min(62);
    let (lo, _) = range(b);
    let new_lo = lo >> by;
    let mut out: Vec<u64> = Vec::new();
    for (k, c) in b.bucket_counts.iter().enumerate() {
        let idx = ((lo + k as i64) >> by) - new_lo;
        let idx = idx as usize;
        if out.len() <= idx {
            out.resize(idx + 1, 0);
        }
        out[idx] += c;
    }
    b.offset = new_lo as i32;
    b.bucket_counts = out;
}

/// The absolute range covering both.
fn union(a: &Buckets, b: &Buckets) -> (i64, i64) {
    match (a.bucket_counts.is_empty(), b.bucket_counts.is_empty()) {
        (true, true) => (i64::from(a.offset), i64::from(a.offset)),
        (true, false) => range(b),
        (false, true) => range(a),
        (false, false) => {
            let (al, ah) = range(a);
            let (bl, bh) = range(b);
            (al.min(bl), ah.max(bh))
        }
    }
}

fn at(b: &Buckets, idx: i64) -> u64 {
    let (lo, hi) = range(b);
    if idx < lo || idx >= hi {
        0
    } else {
        b.bucket_counts[(idx - lo) as usize]
    }
}

/// `into += add`, bucket by bucket (both at the same scale).
pub fn merge(into: &mut Buckets, add: &Buckets) {
    if add.bucket_counts.is_empty() {
        return;
    }
    let (lo, hi) = union(into, add);
    let out: Vec<u64> = (lo..hi)
        .map(|i| at(into, i).wrapping_add(at(add, i)))
        .collect();
    into.offset = lo as i32;
    into.bucket_counts = out;
}

/// `now - prev`, bucket by bucket (both at the same scale); a bucket that went down
/// counts as zero.
pub fn diff(now: &Buckets, prev: &Buckets) -> Buckets {
    let (lo, hi) = union(now, prev);
    Buckets {
        offset: lo as i32,
        bucket_counts: (lo..hi)
            .map(|i| at(now, i).saturating_sub(at(prev, i)))
            .collect(),
    }
}

/// The index of the bucket holding `value` at `scale`.
pub fn index_of(value: f64, scale: i32) -> i64 {
    let scale_factor = (std::f64::consts::LOG2_E) * 2f64.powi(scale);
    ((value.ln() * scale_factor).ceil() - 1.0) as i64
}

/// Removes the buckets at or below absolute index `upto`; returns their total count.
pub fn trim_upto(b: &mut Buckets, upto: i64) -> u64 {
    let (lo, hi) = range(b);
    if b.bucket_counts.is_empty() || upto < lo {
        return 0;
    }
    let cut = ((upto - lo + 1).min(hi - lo)) as usize;
    let moved: u64 = b.bucket_counts[..cut].iter().sum();
    b.bucket_counts.drain(..cut);
    b.offset = (lo + cut as i64) as i32;
    moved
}

/// The number of steps both bucket sets must be lowered so that their union fits in
/// `max` buckets (leading and trailing empty buckets do not count).
pub fn steps_to_fit(a: &Buckets, b: &Buckets, max: i64) -> u32 {
    let (mut lo, mut hi) = union(a, b);
    while lo < hi && at(a, lo) == 0 && at(b, lo) == 0 {
        lo += 1;
    }
    while lo < hi - 1 && at(a, hi - 1) == 0 && at(b, hi - 1) == 0 {
        hi -= 1;
    }
    let mut steps = 0;
    while hi - lo > max {
        lo >>= 1;
        hi >>= 1;
        steps += 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(offset: i32, counts: &[u64]) -> Buckets {
        Buckets {
            offset,
            bucket_counts: counts.to_vec(),
        }
    }

    #[test]
    fn downscale_merges_neighbours() {
        // indexes 1..=4 -> 0,1,1,2 at one step lower
        let mut x = b(1, &[1, 2, 3, 4]);
        downscale(&mut x, 1);
        assert_eq!(x, b(0, &[1, 5, 4]));
        // negative indexes floor
        let mut y = b(-3, &[1, 1, 1]);
        downscale(&mut y, 1);
        assert_eq!(y, b(-2, &[1, 2]));
    }

    #[test]
    fn merge_and_diff_align_offsets() {
        let mut x = b(2, &[1, 1]);
        merge(&mut x, &b(0, &[5]));
        assert_eq!(x, b(0, &[5, 0, 1, 1]));
        assert_eq!(diff(&b(0, &[7, 1, 2, 1]), &x), b(0, &[2, 1, 1, 0]));
    }

    #[test]
    fn trim_moves_low_buckets_out() {
        let mut x = b(0, &[1, 2, 3]);
        assert_eq!(trim_upto(&mut x, 1), 3);
        assert_eq!(x, b(2, &[3]));
        assert_eq!(index_of(4.0, 0), 1);
    }
}
