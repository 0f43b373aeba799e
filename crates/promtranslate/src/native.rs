//! OTLP exponential histograms as Prometheus native histograms, as Go's
//! `exponentialToNativeHistogram` does: scales above 8 are merged down to 8, scales below -4
//! cannot be represented (an error: the point is dropped), OTel bucket `i` (upper bound
//! `base^(i+1)`) is Prometheus bucket `i+1`, the zero threshold is Prometheus's default.

use pdata::proto::metrics::v1::ExponentialHistogramDataPoint;
use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;

use crate::prompb::{BucketSpan, Histogram, histogram};

/// Go's `defaultZeroThreshold` (OTLP's zero threshold is not used yet, as in Go).
pub const DEFAULT_ZERO_THRESHOLD: f64 = 1e-128;

/// The native histogram of a point; `timestamp_ms` is the sample time.
pub fn to_native(
    p: &ExponentialHistogramDataPoint,
    timestamp_ms: i64,
) -> Result<Histogram, String> {
    let mut scale = p.scale;
    if scale < -4 {
        return Err(format!(
            "cannot convert exponential to native histogram. Scale must be >= -4, was {scale}"
        ));
    }
    let mut scale_down = 0;
    if scale > 8 {
        scale_down = scale - 8;
        scale = 8;
    }
    let (positive_spans, positive_deltas) = buckets_layout(p.positive.as_ref(), scale_down);
    let (negative_spans, negative_deltas) = buckets_layout(p.negative.as_ref(), scale_down);
    let stale = p.flags & crate::FLAG_NO_RECORDED_VALUE != 0;
    let (sum, count) = if stale {
        (crate::stale_nan(), crate::STALE_NAN_BITS)
    } else {
        (p.sum.unwrap_or(0.0), p.count)
    };
    Ok(Histogram {
        count: Some(histogram::Count::CountInt(count)),
        sum,
        schema: scale,
        zero_threshold: DEFAULT_ZERO_THRESHOLD,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(p.zero_count)),
        negative_spans,
        negative_deltas,
        negative_counts: Vec::new(),
        positive_spans,
        positive_deltas,
        positive_counts: Vec::new(),
        reset_hint: histogram::ResetHint::Unknown as i32,
        timestamp: timestamp_ms,
        custom_values: Vec::new(),
    })
}

/// Spans and count deltas of one side. Buckets are merged `2^scale_down` at a time; a gap of
/// more than two empty buckets starts a new span, smaller gaps are filled with zeros (the
/// rule client_golang uses).
pub fn buckets_layout(b: Option<&Buckets>, scale_down: i32) -> (Vec<BucketSpan>, Vec<i64>) {
    let Some(b) = b else {
        return (Vec::new(), Vec::new());
    };
    // Indexes in i64 and counts wrapping: any input, however odd, gives some layout and
    // never an overflow.
    let shift = scale_down.clamp(0, 63) as u32;
    // (Prometheus index, count) of the merged buckets, in index order.
    let mut merged: Vec<(i64, u64)> = Vec::new();
    for (i, &c) in b.bucket_counts.iter().enumerate() {
        let idx = ((b.offset as i64 + i as i64) >> shift) + 1;
        match merged.last_mut() {
            Some((last, n)) if *last == idx => *n = n.wrapping_add(c),
            _ => merged.push((idx, c)),
        }
    }
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count: i64 = 0;
    let mut next_idx: Option<i64> = None;
    for (idx, count) in merged {
        if count == 0 {
            continue;
        }
        match next_idx {
            None => spans.push(BucketSpan {
                offset: idx as i32,
                length: 0,
            }),
            Some(next) => {
                let gap = idx - next;
                if gap > 2 {
                    spans.push(BucketSpan {
                        offset: gap as i32,
                        length: 0,
                    });
                } else {
                    for _ in 0..gap {
                        deltas.push(prev_count.wrapping_neg());
                        prev_count = 0;
                        if let Some(s) = spans.last_mut() {
                            s.length = s.length.wrapping_add(1);
                        }
                    }
                }
            }
        }
        let c = count as i64;
        deltas.push(c.wrapping_sub(prev_count));
        prev_count = c;
        if let Some(s) = spans.last_mut() {
            s.length = s.length.wrapping_add(1);
        }
        next_idx = Some(idx + 1);
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(offset: i32, counts: &[u64]) -> Buckets {
        Buckets {
            offset,
            bucket_counts: counts.to_vec(),
        }
    }

    /// Expands spans and deltas back into (index, count).
    fn expand(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, i64)> {
        let mut out = Vec::new();
        let mut idx = 0;
        let mut d = deltas.iter();
        let mut count = 0;
        for s in spans {
            idx += s.offset;
            for _ in 0..s.length {
                count += d.next().unwrap();
                out.push((idx, count));
                idx += 1;
            }
        }
        out
    }

    #[test]
    fn buckets_shift_by_one_and_keep_counts() {
        let (s, d) = buckets_layout(Some(&buckets(0, &[1, 2, 3])), 0);
        assert_eq!(
            s,
            vec![BucketSpan {
                offset: 1,
                length: 3
            }]
        );
        assert_eq!(d, vec![1, 1, 1]);
    }

    #[test]
    fn small_gaps_are_filled_large_gaps_start_a_span() {
        let (s, d) = buckets_layout(Some(&buckets(-2, &[1, 0, 0, 2, 0, 0, 0, 4])), 0);
        assert_eq!(
            expand(&s, &d),
            vec![(-1, 1), (0, 0), (1, 0), (2, 2), (6, 4)]
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn scale_down_merges_pairs() {
        // Scale 10 -> 8: four OTel buckets per Prometheus bucket.
        let p = ExponentialHistogramDataPoint {
            scale: 10,
            count: 10,
            sum: Some(5.0),
            positive: Some(buckets(0, &[1, 1, 1, 1, 2, 2, 2])),
            ..Default::default()
        };
        let h = to_native(&p, 7).unwrap();
        assert_eq!(h.schema, 8);
        assert_eq!(
            expand(&h.positive_spans, &h.positive_deltas),
            vec![(1, 4), (2, 6)]
        );
        assert_eq!(h.count, Some(histogram::Count::CountInt(10)));
        assert_eq!(h.timestamp, 7);
        assert_eq!(h.zero_threshold, DEFAULT_ZERO_THRESHOLD);
    }

    #[test]
    fn extreme_offsets_scales_and_counts_do_not_overflow() {
        let b = buckets(i32::MAX, &[u64::MAX, u64::MAX, 1]);
        let (s, d) = buckets_layout(Some(&b), 0);
        assert_eq!(d.len(), 3);
        assert_eq!(s.len(), 1);
        let (_, d) = buckets_layout(Some(&buckets(i32::MIN, &[1, 2])), 200);
        assert_eq!(d, vec![3]);
    }

    #[test]
    fn scales_below_minus_four_are_refused() {
        let p = ExponentialHistogramDataPoint {
            scale: -5,
            ..Default::default()
        };
        assert_eq!(
            to_native(&p, 0).unwrap_err(),
            "cannot convert exponential to native histogram. Scale must be >= -4, was -5"
        );
    }

    #[test]
    fn stale_points_carry_the_stale_nan() {
        let p = ExponentialHistogramDataPoint {
            flags: 1,
            count: 3,
            ..Default::default()
        };
        let h = to_native(&p, 0).unwrap();
        assert_eq!(h.sum.to_bits(), crate::STALE_NAN_BITS);
        assert_eq!(
            h.count,
            Some(histogram::Count::CountInt(crate::STALE_NAN_BITS))
        );
    }
}
