//! Body of the PromQL fuzz target (`/fuzz/fuzz_targets/promql_parser.rs`), kept here so a unit
//! test runs it over seeded random and mutated inputs on stable, where cargo-fuzz (nightly) is
//! not available. Any text is parsed; what parses is evaluated as an instant and as a range
//! query over a tiny in-memory data source. It must never panic, and a result must have the
//! shape its expression's type promises.

use crate::{CounterResetHint, Engine, FloatHistogram, STALE_NAN_BITS, Series, Value};

use crate::MemorySeries as Tiny;

fn tiny() -> Tiny {
    let l = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for (i, inst) in ["a", "b"].iter().enumerate() {
        out.push(Series {
            labels: l(&[("__name__", "x"), ("instance", inst), ("job", "j")]),
            floats: (0..40)
                .map(|k| {
                    let v = if k == 20 + i as i64 {
                        f64::from_bits(STALE_NAN_BITS)
                    } else {
                        (k * (i as i64 + 1)) as f64
                    };
                    (k * 15_000, v)
                })
                .collect(),
            histograms: Vec::new(),
        });
        out.push(Series {
            labels: l(&[
                ("__name__", "b_bucket"),
                ("instance", inst),
                ("le", ["0.5", "+Inf"][i]),
            ]),
            floats: (0..40).map(|k| (k * 15_000, (k * 3) as f64)).collect(),
            histograms: Vec::new(),
        });
    }
    out.push(Series {
        labels: l(&[("__name__", "h"), ("instance", "a")]),
        floats: Vec::new(),
        histograms: (0..40)
            .map(|k| {
                let c = k as f64;
                (
                    k * 15_000,
                    FloatHistogram {
                        schema: (k % 3) as i32 - 1,
                        zero_threshold: 0.001,
                        zero_count: c,
                        count: 4.0 * c,
                        sum: 10.0 * c,
                        positive_spans: vec![(-1, 2), (3, 1)],
                        positive_buckets: vec![c, c, c],
                        negative_spans: vec![(0, 1)],
                        negative_buckets: vec![if k == 30 { 0.0 } else { c }],
                        counter_reset_hint: CounterResetHint::Unknown,
                    },
                )
            })
            .collect(),
    });
    Tiny(out)
}

pub fn parse_and_eval(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let Ok(expr) = crate::parse(&query) else {
        return;
    };
    #[cfg(test)]
    tests::PARSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let engine = Engine {
        max_samples: 20_000,
        max_points_per_series: 50,
        ..Engine::default()
    };
    let store = tiny();
    let t = 300_000 + data.len() as i64 * 1_000;
    let instant = engine.instant(&store, &query, t);
    if let Ok(v) = &instant {
        use promql_parser::parser::value::ValueType;
        let ok = matches!(
            (expr.value_type(), &v),
            (ValueType::Scalar, Value::Scalar(..))
                | (ValueType::String, Value::String(..))
                | (ValueType::Vector, Value::Vector(_))
                | (ValueType::Matrix, Value::Matrix(_))
        );
        assert!(ok, "{query}: {:?} gave {v:?}", expr.value_type());
        let _ = crate::json::data(v);
    }
    if let Ok(v) = engine.range(&store, &query, 0, 600_000, 60_000) {
        assert!(matches!(v, Value::Matrix(_)));
        let _ = crate::json::data(&v);
    }
    // A range query's last step is the instant query at that time (range queries take other
    // paths: functions of selectors computed for all steps at once, caches across steps).
    // `@ start()` means another time in each, and a sample limit may stop one but not the
    // other.
    if !query.contains("start") {
        let range = engine.range(&store, &query, t - 120_000, t, 60_000);
        if let (Ok(Value::Vector(iv)), Ok(Value::Matrix(m))) = (&instant, &range) {
            let mut want: Vec<(Vec<(String, String)>, u64)> = iv
                .iter()
                .map(|s| (s.labels.clone(), sample_bits(&s.value)))
                .collect();
            let mut got: Vec<(Vec<(String, String)>, u64)> = m
                .iter()
                .filter_map(|s| {
                    let f = s.floats.iter().find(|p| p.0 == t).map(|p| canon(p.1));
                    let h = s
                        .histograms
                        .iter()
                        .find(|p| p.0 == t)
                        .map(|p| canon(p.1.count));
                    f.or(h).map(|v| (s.labels.clone(), v))
                })
                .collect();
            want.sort();
            got.sort();
            assert_eq!(want, got, "{query}: instant vs last range step");
        }
    }
}

/// A value's bits with every NaN alike (NaN == NaN for the comparison).
fn canon(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        f.to_bits()
    }
}

fn sample_bits(v: &crate::SampleValue) -> u64 {
    match v {
        crate::SampleValue::Float(f) => canon(*f),
        crate::SampleValue::Histogram(h) => canon(h.count),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_and_eval;

    /// Inputs that parsed (and were evaluated): the share says whether the mutations still
    /// reach the evaluator.
    pub(super) static PARSED: std::sync::atomic::AtomicUsize =
        std::sync::atomic::AtomicUsize::new(0);

    const SEEDS: &[&str] = &[
        "x",
        "x{instance=~\"a|b\"}[5m] offset 1m",
        "rate(x[5m])",
        "sum by (job) (rate(x[2m]))",
        "histogram_quantile(0.9, b_bucket)",
        "histogram_quantile(0.9, rate(h[5m]))",
        "sum(h) + h",
        "h * 2",
        "-h",
        "topk(2, x) and on(instance) x",
        "x / on(job) group_left x",
        "x + on(instance) group_right(job) x",
        "max_over_time(rate(x[1m])[5m:30s])",
        "x @ 100 offset -1m",
        "label_replace(x, \"a\", \"$1\", \"instance\", \"(.)\")",
        "count_values(\"v\", x)",
        "quantile(0.5, x)",
        "absent_over_time(nope[1m])",
        "sort_desc(x)",
        "time() - timestamp(x)",
        "round(x, 0.3) % 2 ^ 3",
        "histogram_count(h) > bool 2",
        "1 < bool 2",
        "\"s\"",
    ];

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let alphabet = b"xhb_{}[]()=~!\"<>+-*/%^,.:@0123456789 smhdwy abcdefgijklnopqrtuvz";
        let mut rng = Rng(std::env::var("PROMQL_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7));
        for s in SEEDS {
            parse_and_eval(s.as_bytes());
        }
        let rounds: usize = std::env::var("PROMQL_FUZZ_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000);
        for _ in 0..rounds {
            let seed = SEEDS[(rng.next() as usize) % SEEDS.len()].as_bytes();
            let mut q = seed.to_vec();
            for _ in 0..(rng.next() % 4) {
                let pos = (rng.next() as usize) % (q.len() + 1);
                let c = alphabet[(rng.next() as usize) % alphabet.len()];
                match rng.next() % 3 {
                    0 => q.insert(pos, c),
                    1 if pos < q.len() => {
                        q.remove(pos);
                    }
                    _ if pos < q.len() => q[pos] = c,
                    _ => q.push(c),
                }
            }
            if rng.next().is_multiple_of(3) {
                // Nest it in another construct, so more of what is evaluated is compound.
                const WRAP: &[&str] = &[
                    "sum by (instance) (@)",
                    "rate((@)[5m:1m])",
                    "(@) + (@)",
                    "(@) / on(instance) group_left (@)",
                    "topk(2, @)",
                    "max_over_time((@)[10m:])",
                    "-(@)",
                    "(@) > bool 1",
                    "count_values(\"v\", @)",
                    "label_replace(@, \"z\", \"$1\", \"instance\", \"(.*)\")",
                    "histogram_quantile(0.9, @)",
                    "absent(@)",
                    "(@) and (@)",
                    "(@) or vector(1)",
                    "sort_desc(@)",
                    "timestamp(@)",
                    "scalar(@) * x",
                    "quantile(0.5, @)",
                ];
                let w = WRAP[(rng.next() as usize) % WRAP.len()];
                let inner = String::from_utf8_lossy(&q).into_owned();
                q = w.replace('@', &inner).into_bytes();
            }
            if rng.next().is_multiple_of(5) {
                let other = SEEDS[(rng.next() as usize) % SEEDS.len()].as_bytes();
                let cut = (rng.next() as usize) % (q.len() + 1);
                q.truncate(cut);
                q.extend_from_slice(other);
            }
            parse_and_eval(&q);
        }
        let parsed = PARSED.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("{parsed} of {rounds} mutated queries parsed and were evaluated");
        assert!(
            parsed > rounds / 10,
            "only {parsed} of {rounds} mutated queries parse"
        );
        for _ in 0..2000 {
            let len = rng.next() % 40;
            let q: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            parse_and_eval(&q);
        }
    }
}
