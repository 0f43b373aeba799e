//! Errors, limits and edge cases, with expected values derived by hand from Prometheus'
//! documented semantics (the broad comparison with a real Prometheus is vs_prometheus.rs).

use promql::histogram::{bucket_quantile, native_quantile};
use promql::{
    CounterResetHint, Engine, Error, FloatHistogram, MatchOp, Matcher, Queryable, STALE_NAN_BITS,
    SampleValue, Series, Value, format_value,
};

use promql::MemorySeries as Store;

struct Failing;
impl Queryable for Failing {
    fn select(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<Series>, String> {
        Err("disk on fire".into())
    }
}

fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

fn series(pairs: &[(&str, &str)], floats: &[(i64, f64)]) -> Series {
    Series {
        labels: l(pairs),
        floats: floats.to_vec(),
        histograms: Vec::new(),
    }
}

fn floats(v: &Value) -> Vec<(Vec<(String, String)>, f64)> {
    match v {
        Value::Vector(s) => s
            .iter()
            .map(|s| match &s.value {
                SampleValue::Float(f) => (s.labels.clone(), *f),
                SampleValue::Histogram(_) => panic!("histogram"),
            })
            .collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

fn store() -> Store {
    Store(vec![
        series(
            &[("__name__", "up"), ("instance", "a"), ("job", "x")],
            &[(0, 1.0), (60_000, 1.0)],
        ),
        series(
            &[("__name__", "up"), ("instance", "b"), ("job", "x")],
            &[(0, 0.0), (60_000, f64::from_bits(STALE_NAN_BITS))],
        ),
        series(
            &[("__name__", "info"), ("job", "x"), ("v", "1")],
            &[(0, 1.0), (60_000, 1.0)],
        ),
    ])
}

#[test]
fn parse_errors_are_bad_data() {
    let e = Engine::default().instant(&store(), "sum(", 0).unwrap_err();
    assert!(matches!(e, Error::Parse(_)), "{e:?}");
    assert_eq!(e.error_type(), "bad_data");
    assert_eq!(e.http_status(), 400);
    let e = Engine::default()
        .instant(&store(), "up{instance=~\"(\"}", 0)
        .unwrap_err();
    assert_eq!(e.error_type(), "bad_data");
}

#[test]
fn range_parameters_are_checked_as_the_api_does() {
    let eng = Engine::default();
    let e = eng.range(&store(), "up", 0, 10, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"
    );
    let e = eng.range(&store(), "up", 10, 0, 1).unwrap_err();
    assert_eq!(e.error_type(), "bad_data");
    assert!(
        e.to_string()
            .contains("end timestamp must not be before start time")
    );
    // 11,000 steps are fine, 11,001 are not.
    assert!(eng.range(&store(), "1", 0, 11_000, 1).is_ok());
    let e = eng.range(&store(), "1", 0, 11_001, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
    let e = eng.range(&store(), "up[5m]", 0, 60_000, 1000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
}

#[test]
fn range_steps_are_aligned_to_start() {
    let v = Engine::default()
        .range(&store(), "time()", 1_000, 10_000, 4_000)
        .unwrap();
    let Value::Matrix(m) = v else { panic!() };
    assert_eq!(m.len(), 1);
    assert!(m[0].labels.is_empty());
    assert_eq!(m[0].floats, vec![(1_000, 1.0), (5_000, 5.0), (9_000, 9.0)]);
}

#[test]
fn stale_markers_end_series_and_lookback_is_five_minutes_inclusive() {
    let eng = Engine::default();
    let at = |t| floats(&eng.instant(&store(), "up", t).unwrap());
    // Before the stale marker both series answer.
    assert_eq!(at(59_999).len(), 2);
    // From the stale marker on, b is gone; a still answers from its sample at 60s.
    let v = at(60_000);
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].0,
        l(&[("__name__", "up"), ("instance", "a"), ("job", "x")])
    );
    // The last sample is visible exactly 5m later, not 1ms after.
    assert_eq!(at(360_000).len(), 1);
    assert_eq!(at(360_001).len(), 0);
    // Range selectors skip the marker.
    let v = eng
        .instant(&store(), "count_over_time(up[2m])", 60_000)
        .unwrap();
    let mut got = floats(&v);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got[0].1, 2.0);
    assert_eq!(got[1].1, 1.0);
}

#[test]
fn range_windows_are_closed_at_both_ends() {
    let eng = Engine::default();
    let v = eng
        .instant(&store(), "count_over_time(up{instance=\"a\"}[1m])", 60_000)
        .unwrap();
    assert_eq!(floats(&v)[0].1, 2.0);
    let v = eng
        .instant(
            &store(),
            "count_over_time(up{instance=\"a\"}[59999ms])",
            60_000,
        )
        .unwrap();
    assert_eq!(floats(&v)[0].1, 1.0);
}

#[test]
fn matching_errors_use_prometheus_wording() {
    let eng = Engine::default();
    let e = eng
        .instant(&store(), "info + on(job) up", 30_000)
        .unwrap_err();
    assert_eq!(e.error_type(), "execution");
    assert_eq!(e.http_status(), 422);
    let msg = e.to_string();
    assert!(
        msg.starts_with("found duplicate series for the match group {job=\"x\"} on the right hand-side of the operation: [")
            && msg.ends_with(";many-to-many matching not allowed: matching labels must be unique on one side"),
        "{msg}"
    );
    let e = eng
        .instant(&store(), "up * on(job) info", 30_000)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    // group_left makes it legal and copies the listed label from the one side.
    let v = eng
        .instant(&store(), "up * on(job) group_left(v) info", 30_000)
        .unwrap();
    let mut got = floats(&v);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (l(&[("instance", "a"), ("job", "x"), ("v", "1")]), 1.0),
            (l(&[("instance", "b"), ("job", "x"), ("v", "1")]), 0.0),
        ]
    );
    let e = eng
        .instant(
            &store(),
            "label_replace(up, \"instance\", \"z\", \"instance\", \".*\")",
            0,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn unsupported_functions_are_refused_by_name() {
    let e = Engine::default()
        .instant(&store(), "histogram_stddev(up)", 0)
        .unwrap_err();
    assert_eq!(e.error_type(), "execution");
    assert!(e.to_string().contains("histogram_stddev"), "{e}");
}

#[test]
fn storage_errors_are_internal() {
    let e = Engine::default().instant(&Failing, "up", 0).unwrap_err();
    assert_eq!(e.error_type(), "internal");
    assert!(e.to_string().contains("disk on fire"));
}

#[test]
fn too_many_samples() {
    let eng = Engine {
        max_samples: 1,
        ..Engine::default()
    };
    let e = eng.instant(&store(), "up", 30_000).unwrap_err();
    assert_eq!(e, Error::TooManySamples);
    assert_eq!(e.error_type(), "execution");
    assert_eq!(
        e.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
}

#[test]
fn regex_matchers_are_anchored_go_regexes() {
    let m = Matcher::new("a", MatchOp::Re, "b|c").unwrap();
    assert!(m.matches("b") && m.matches("c"));
    assert!(!m.matches("bc") && !m.matches("ab"));
    // \d is ASCII-only in Go.
    let m = Matcher::new("a", MatchOp::Re, r"\d+").unwrap();
    assert!(m.matches("42") && !m.matches("\u{663}"));
    let m = Matcher::new("a", MatchOp::NotRe, "").unwrap();
    assert!(m.matches("x") && !m.matches(""));
    // An absent label is the empty string.
    let m = Matcher::new("missing", MatchOp::Equal, "").unwrap();
    assert!(m.matches_labels(&l(&[("a", "b")])));
}

#[test]
fn classic_bucket_quantile_edge_cases() {
    // Interpolation inside a bucket: 100 observations, rank 50 falls in (1, 2] holding 50.
    let mut b = [(1.0, 25.0), (2.0, 75.0), (f64::INFINITY, 100.0)];
    assert_eq!(bucket_quantile(0.5, &mut b), 1.5);
    // The highest finite bound when the rank lands in the +Inf bucket.
    let mut b = [(1.0, 25.0), (2.0, 75.0), (f64::INFINITY, 100.0)];
    assert_eq!(bucket_quantile(0.99, &mut b), 2.0);
    // No +Inf bucket, fewer than two buckets, no observations: NaN.
    assert!(bucket_quantile(0.5, &mut [(1.0, 1.0), (2.0, 2.0)]).is_nan());
    assert!(bucket_quantile(0.5, &mut [(f64::INFINITY, 2.0)]).is_nan());
    assert!(bucket_quantile(0.5, &mut [(1.0, 0.0), (f64::INFINITY, 0.0)]).is_nan());
    assert_eq!(
        bucket_quantile(-1.0, &mut [(1.0, 1.0), (f64::INFINITY, 2.0)]),
        f64::NEG_INFINITY
    );
    assert_eq!(
        bucket_quantile(2.0, &mut [(1.0, 1.0), (f64::INFINITY, 2.0)]),
        f64::INFINITY
    );
    // A non-monotonic count is raised to the one before it.
    let mut b = [(1.0, 30.0), (2.0, 20.0), (4.0, 60.0), (f64::INFINITY, 60.0)];
    // Counts become 30, 30, 60, 60: rank 30 is reached in the first bucket: 0 + 1 * 30/30.
    assert_eq!(bucket_quantile(0.5, &mut b), 1.0);
    // Rank in the first bucket with a non-positive bound returns that bound.
    let mut b = [(-1.0, 10.0), (f64::INFINITY, 20.0)];
    assert_eq!(bucket_quantile(0.2, &mut b), -1.0);
}

fn native(schema: i32, idx: i32, counts: &[f64]) -> FloatHistogram {
    let total: f64 = counts.iter().sum();
    FloatHistogram {
        schema,
        zero_threshold: 0.0,
        zero_count: 0.0,
        count: total,
        sum: 1.0,
        positive_spans: vec![(idx, counts.len() as u32)],
        positive_buckets: counts.to_vec(),
        negative_spans: vec![],
        negative_buckets: vec![],
        counter_reset_hint: CounterResetHint::Unknown,
    }
}

#[test]
fn native_quantile_interpolates_exponentially_inside_buckets() {
    // Schema 0, bucket 1 is (1, 2] holding all 4 observations.
    let h = native(0, 1, &[4.0]);
    // Linear (Prometheus 2.x): the midpoint.
    assert_eq!(native_quantile(0.5, &h, false), 1.5);
    assert_eq!(native_quantile(0.25, &h, false), 1.25);
    // Exponential: 2^(0 + 1 * fraction); q 0.5 is searched from the top (fraction 0.5),
    // q 0.25 from the bottom (fraction 0.25).
    assert!((native_quantile(0.5, &h, true) - 2f64.sqrt()).abs() < 1e-12);
    assert!((native_quantile(0.25, &h, true) - 2f64.powf(0.25)).abs() < 1e-12);
    // Schema 1: bucket 3 is (2^1, 2^1.5]; 2 of 4 observations in bucket 2 (2^0.5, 2^1], 2 in 3.
    // q 0.75: from the top, rank (1 - 0.75) * 4 = 1 of bucket 3's 2 -> fraction 1 - 1/2.
    let h = native(1, 2, &[2.0, 2.0]);
    let want = 2f64.powf(1.0 + 0.5 * 0.5);
    assert!((native_quantile(0.75, &h, true) - want).abs() < 1e-12);
    // Linear in the same bucket: 2 + (2^1.5 - 2) * 0.5.
    let want = 2.0 + (2f64.powf(1.5) - 2.0) * 0.5;
    assert!((native_quantile(0.75, &h, false) - want).abs() < 1e-12);
    assert!(native_quantile(0.5, &native(0, 1, &[]), true).is_nan());
    assert_eq!(native_quantile(-0.1, &h, true), f64::NEG_INFINITY);
    assert_eq!(native_quantile(1.1, &h, true), f64::INFINITY);
}

#[test]
fn native_histogram_queries() {
    let h = |c: f64| {
        let mut h = native(0, 1, &[c, 2.0 * c]);
        h.sum = 3.0 * c;
        h
    };
    let s = Store(vec![Series {
        labels: l(&[("__name__", "lat"), ("svc", "a")]),
        floats: vec![],
        histograms: (0..=10).map(|i| (i * 10_000, h(i as f64))).collect(),
    }]);
    let eng = Engine::default();
    // increase over the whole range: samples at 0..100s, window [0, 100s]: no extrapolation.
    let v = eng
        .instant(&s, "histogram_count(increase(lat[100s]))", 100_000)
        .unwrap();
    assert_eq!(floats(&v), vec![(l(&[("svc", "a")]), 30.0)]);
    let v = eng.instant(&s, "histogram_sum(lat)", 100_000).unwrap();
    assert_eq!(floats(&v), vec![(l(&[("svc", "a")]), 30.0)]);
    let v = eng.instant(&s, "lat", 100_000).unwrap();
    let Value::Vector(vec) = &v else { panic!() };
    let SampleValue::Histogram(got) = &vec[0].value else {
        panic!()
    };
    assert_eq!(got.count, 30.0);
    let json = promql::json::data(&v);
    assert_eq!(
        json["result"][0]["histogram"],
        serde_json::json!([100, {"count": "30", "sum": "30", "buckets": [[0, "1", "2", "10"], [0, "2", "4", "20"]]}])
    );
}

#[test]
fn json_shapes() {
    let eng = Engine::default();
    let j = promql::json::data(&eng.instant(&store(), "1 / 0", 1_500).unwrap());
    assert_eq!(
        j,
        serde_json::json!({"resultType": "scalar", "result": [1.5, "+Inf"]})
    );
    let j = promql::json::data(&eng.instant(&store(), "\"hi\"", 2_000).unwrap());
    assert_eq!(
        j,
        serde_json::json!({"resultType": "string", "result": [2, "hi"]})
    );
    let j = promql::json::data(
        &eng.instant(&store(), "-up{instance=\"a\"} * 0 / 0", 1_000)
            .unwrap(),
    );
    assert_eq!(
        j,
        serde_json::json!({"resultType": "vector", "result": [
            {"metric": {"instance": "a", "job": "x"}, "value": [1, "NaN"]}
        ]})
    );
    let j = promql::json::data(
        &eng.range(&store(), "up{instance=\"a\"}", 0, 60_000, 30_000)
            .unwrap(),
    );
    assert_eq!(
        j,
        serde_json::json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "up", "instance": "a", "job": "x"},
             "values": [[0, "1"], [30, "1"], [60, "1"]]}
        ]})
    );
    // As jsonutil.MarshalValue: exponent form below 1e-6 and from 1e21 on.
    assert_eq!(format_value(1e21), "1e+21");
    assert_eq!(
        format_value(123456789012345680000.0),
        "123456789012345680000"
    );
    assert_eq!(format_value(0.1), "0.1");
    assert_eq!(format_value(0.000001), "0.000001");
    assert_eq!(format_value(-2.5e-7), "-2.5e-07");
    assert_eq!(format_value(1.5e300), "1.5e+300");
    assert_eq!(format_value(0.0), "0");
    // count_values labels never use the exponent form.
    assert_eq!(promql::format_float(1e21), "1000000000000000000000");
    assert_eq!(promql::format_float(-2.5e-7), "-0.00000025");
    assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
}

#[test]
fn offset_and_at_modifiers() {
    let eng = Engine::default();
    // At 60s with offset 1m, b reads its sample at 0 (value 0), not the later stale marker.
    let v = eng
        .instant(&store(), "up{instance=\"b\"} offset 1m", 60_000)
        .unwrap();
    assert_eq!(floats(&v).len(), 1);
    assert_eq!(floats(&v)[0].1, 0.0);
    // @ fixes the evaluation time of the selector for every step.
    let v = eng
        .range(
            &store(),
            "up{instance=\"b\"} @ 30",
            100_000,
            200_000,
            50_000,
        )
        .unwrap();
    let Value::Matrix(m) = v else { panic!() };
    assert_eq!(
        m[0].floats,
        vec![(100_000, 0.0), (150_000, 0.0), (200_000, 0.0)]
    );
}

/// Timing of the benchmark's shape (rate by label over many series for 1h); run with
/// `cargo test -p promql --test engine -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_rate_by_label() {
    let n: usize = std::env::var("SERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let store = Store(
        (0..n)
            .map(|i| {
                series(
                    &[
                        ("__name__", "http_requests_total"),
                        ("job", &format!("job{}", i % 10)),
                        ("instance", &format!("host-{i}.example:9100")),
                        ("method", "GET"),
                    ],
                    &(0..240)
                        .map(|k| (k * 15_000, (k * (i as i64 % 7 + 1)) as f64))
                        .collect::<Vec<_>>(),
                )
            })
            .collect(),
    );
    let t0 = std::time::Instant::now();
    let v = Engine::default()
        .range(
            &store,
            "sum by (job) (rate(http_requests_total[5m]))",
            300_000,
            3_585_000,
            15_000,
        )
        .unwrap();
    let Value::Matrix(m) = v else { panic!() };
    assert_eq!(m.len(), 10);
    eprintln!("{n} series x 220 steps: {:?}", t0.elapsed());
}

#[test]
fn timeout() {
    let eng = Engine {
        timeout_ms: 0,
        ..Engine::default()
    };
    let e = eng.instant(&store(), "up", 30_000).unwrap_err();
    assert_eq!(e, Error::Timeout);
    assert_eq!(e.error_type(), "timeout");
    assert_eq!(e.http_status(), 503);
    assert_eq!(e.to_string(), "query timed out in expression evaluation");
}

#[test]
fn double_exponential_smoothing_by_hand() {
    let s = Store(vec![series(
        &[("__name__", "g")],
        &[(0, 1.0), (10_000, 3.0), (20_000, 4.0)],
    )]);
    // s1=1, b=2; i=1: s1 = 0.5*3 + 0.5*(1+2) = 3; i=2: b = 0.5*(3-1) + 0.5*2 = 2,
    // s1 = 0.5*4 + 0.5*(3+2) = 4.5.
    let v = Engine::default()
        .instant(&s, "double_exponential_smoothing(g[1m], 0.5, 0.5)", 20_000)
        .unwrap();
    assert_eq!(floats(&v), vec![(vec![], 4.5)]);
    let e = Engine::default()
        .instant(&s, "double_exponential_smoothing(g[1m], 1, 0.5)", 20_000)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"
    );
}

#[test]
fn histogram_fraction_interpolation() {
    // Schema 0, bucket 2 is (2, 4] with all 8 observations.
    let h = native(0, 2, &[8.0]);
    use promql::histogram::native_fraction;
    // Linear: (3 - 2) / (4 - 2); exponential: (log2 3 - 1) / (2 - 1).
    assert_eq!(native_fraction(0.0, 3.0, &h, false), 0.5);
    assert!((native_fraction(0.0, 3.0, &h, true) - (3f64.log2() - 1.0)).abs() < 1e-12);
    assert_eq!(
        native_fraction(f64::NEG_INFINITY, f64::INFINITY, &h, true),
        1.0
    );
    assert_eq!(native_fraction(5.0, 1.0, &h, true), 0.0);
    assert!(native_fraction(f64::NAN, 1.0, &h, true).is_nan());
}

#[test]
fn series_selectors_parse_to_matchers() {
    let m = promql::parse_matchers("up{job=~\"a|b\", env!=\"\"}").unwrap();
    let got: Vec<(String, MatchOp, String)> = m
        .iter()
        .map(|m| (m.name.clone(), m.op, m.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("__name__".into(), MatchOp::Equal, "up".into()),
            ("job".into(), MatchOp::Re, "a|b".into()),
            ("env".into(), MatchOp::NotEqual, "".into()),
        ]
    );
    assert!(m[1].matches("a") && !m[1].matches("ab"));
    for bad in ["rate(up[5m])", "up offset 5m", "up{", "1"] {
        let e = promql::parse_matchers(bad).unwrap_err();
        assert_eq!(e.error_type(), "bad_data", "{bad}");
    }
}

#[test]
fn many_to_one_matching() {
    let s = Store(vec![
        series(&[("__name__", "a"), ("g", "1"), ("x", "1")], &[(0, 2.0)]),
        series(&[("__name__", "a"), ("g", "1"), ("x", "2")], &[(0, 3.0)]),
        series(&[("__name__", "c"), ("g", "1"), ("x", "2")], &[(0, 5.0)]),
        series(&[("__name__", "b"), ("g", "1"), ("v", "z")], &[(0, 10.0)]),
    ]);
    let eng = Engine::default();
    let mut got = floats(&eng.instant(&s, "a * on(g) group_left(v) b", 0).unwrap());
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (l(&[("g", "1"), ("v", "z"), ("x", "1")]), 20.0),
            (l(&[("g", "1"), ("v", "z"), ("x", "2")]), 30.0),
        ]
    );
    // group_right mirrors it: values keep their sides (b / a).
    let mut got = floats(&eng.instant(&s, "b / on(g) group_right a", 0).unwrap());
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (l(&[("g", "1"), ("x", "1")]), 5.0),
            (l(&[("g", "1"), ("x", "2")]), 10.0 / 3.0),
        ]
    );
    // a and c differ only by name, which the multiplication drops.
    let e = eng
        .instant(&s, "{__name__=~\"a|c\", x=\"2\"} * on(g) group_left b", 0)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "multiple matches for labels: grouping labels must ensure unique matches"
    );
    // Comparisons keep the name, so the same match is fine.
    let got = floats(
        &eng.instant(&s, "{__name__=~\"a|c\", x=\"2\"} < on(g) group_left b", 0)
            .unwrap(),
    );
    assert_eq!(got.len(), 2);
}

#[test]
fn dropping_names_that_collide_is_an_error() {
    let s = Store(vec![
        series(&[("__name__", "a"), ("g", "1")], &[(0, 1.0), (30_000, 2.0)]),
        series(&[("__name__", "c"), ("g", "1")], &[(0, 1.0), (30_000, 3.0)]),
    ]);
    let eng = Engine::default();
    for q in [
        "rate({__name__=~\"a|c\"}[1m])",
        "abs({__name__=~\"a|c\"})",
        "-{__name__=~\"a|c\"}",
        "{__name__=~\"a|c\"} + 1",
    ] {
        let e = eng.instant(&s, q, 30_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vector cannot contain metrics with the same labelset",
            "{q}"
        );
        // The batched range path too.
        let e = eng.range(&s, q, 0, 60_000, 30_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vector cannot contain metrics with the same labelset",
            "{q}"
        );
    }
    // last_over_time keeps the name: no collision.
    assert_eq!(
        floats(
            &eng.instant(&s, "last_over_time({__name__=~\"a|c\"}[1m])", 30_000)
                .unwrap()
        )
        .len(),
        2
    );
}
