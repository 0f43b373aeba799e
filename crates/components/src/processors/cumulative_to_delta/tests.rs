//! Cases from Go's `processor_test.go` (TestCumulativeToDeltaProcessor) and the tracker's
//! rules, through the factory.

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric::Data,
    number_data_point,
};
use pdata::{Batch, Request, Signal};

use super::Factory;
use crate::processors::testing::{create, parse};

const CUM: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;
const NO_VALUE: u32 = 1;
const SEC: u64 = 1_000_000_000;

/// A point of `value` at second `i + 1` with no start time, as Go's test generator makes them.
fn num(i: usize, value: f64, flags: u32) -> NumberDataPoint {
    NumberDataPoint {
        time_unix_nano: (i as u64 + 1) * SEC,
        value: Some(number_data_point::Value::AsDouble(value)),
        flags,
        ..Default::default()
    }
}

fn sum(name: &str, values: &[f64], flags: &[u32], cumulative: bool, monotonic: bool) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: values
                .iter()
                .enumerate()
                .map(|(i, v)| num(i, *v, flags.get(i).copied().unwrap_or(0)))
                .collect(),
            aggregation_temporality: if cumulative { CUM } else { DELTA },
            is_monotonic: monotonic,
        })),
        ..Default::default()
    }
}

struct H<'a> {
    counts: &'a [u64],
    sums: Option<&'a [f64]>,
    buckets: &'a [[u64; 3]],
    flags: &'a [u32],
}

fn hist(name: &str, h: H, cumulative: bool) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Histogram(Histogram {
            data_points: h
                .counts
                .iter()
                .enumerate()
                .map(|(i, c)| HistogramDataPoint {
                    time_unix_nano: (i as u64 + 1) * SEC,
                    count: *c,
                    sum: h.sums.map(|s| s[i]),
                    bucket_counts: h.buckets[i].to_vec(),
                    explicit_bounds: vec![1.0, 2.0],
                    min: Some(0.5),
                    max: Some(9.0),
                    flags: h.flags.get(i).copied().unwrap_or(0),
                    ..Default::default()
                })
                .collect(),
            aggregation_temporality: if cumulative { CUM } else { DELTA },
        })),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> Batch {
    Batch::from_request(Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

fn out_metrics(req: &Request) -> Vec<Metric> {
    let Request::Metrics(m) = req else {
        panic!("metrics")
    };
    m.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| s.metrics.clone())
        .collect()
}

fn sum_values(m: &Metric) -> (Vec<f64>, i32) {
    let Some(Data::Sum(s)) = &m.data else {
        panic!("sum")
    };
    let v = s
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => f64::NAN,
        })
        .collect();
    (v, s.aggregation_temporality)
}

/// Runs `input` through a processor configured by `yaml`; the metrics that come out.
async fn run(yaml: &str, input: Vec<Metric>) -> Vec<Metric> {
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(request(input)).await.unwrap();
    sink.requests().iter().flat_map(out_metrics).collect()
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

#[tokio::test]
async fn go_sum_cases() {
    let nan = f64::NAN;
    // (name, config, metric_1 in, metric_2 in, metric_2 monotonic, metric_1 out, metric_2 out)
    struct Case {
        name: &'static str,
        yaml: &'static str,
        in1: &'static [f64],
        flags1: &'static [u32],
        in2: &'static [f64],
        flags2: &'static [u32],
        mono2: bool,
        out1: (&'static [f64], i32),
        out2: (&'static [f64], i32),
    }
    let cases = [
        Case {
            name: "convert_nothing",
            yaml: "exclude: {metrics: ['.*'], match_type: regexp}",
            in1: &[100.0],
            flags1: &[],
            in2: &[4.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0], CUM),
            out2: (&[4.0], CUM),
        },
        Case {
            name: "one_positive",
            yaml: "include: {metrics: [metric_1], match_type: strict}",
            in1: &[0.0, 100.0, 200.0, 500.0],
            flags1: &[],
            in2: &[4.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0, 100.0, 300.0], DELTA),
            out2: (&[4.0], CUM),
        },
        Case {
            name: "nan_value",
            yaml: "include: {metrics: ['_1'], match_type: regexp}",
            in1: &[0.0, 100.0, 200.0, f64::NAN],
            flags1: &[],
            in2: &[4.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0, 100.0, f64::NAN], DELTA),
            out2: (&[4.0], CUM),
        },
        Case {
            name: "nodata",
            yaml: "{}",
            in1: &[0.0, 100.0, 0.0, 200.0, 400.0],
            flags1: &[0, 0, NO_VALUE, 0, 0],
            in2: &[0.0, 100.0, 0.0, 0.0, 400.0],
            flags2: &[0, 0, NO_VALUE, NO_VALUE, 0],
            mono2: true,
            out1: (&[100.0, 100.0, 200.0], DELTA),
            out2: (&[100.0, 300.0], DELTA),
        },
        Case {
            name: "exclude_precedence",
            yaml: "{include: {metrics: ['.*'], match_type: regexp}, exclude: {metrics: ['.*'], match_type: regexp}}",
            in1: &[100.0],
            flags1: &[],
            in2: &[4.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0], CUM),
            out2: (&[4.0], CUM),
        },
        Case {
            name: "all",
            yaml: "include: {metrics: ['.*'], match_type: regexp}",
            in1: &[0.0, 100.0, 200.0, 500.0],
            flags1: &[],
            in2: &[0.0, 4.0, 5.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0, 100.0, 300.0], DELTA),
            out2: (&[4.0, 1.0], DELTA),
        },
        Case {
            name: "remove_metric_1",
            yaml: "{include: {metrics: ['.*'], match_type: regexp}, exclude: {metrics: [metric_1], match_type: strict}}",
            in1: &[100.0, 200.0, 500.0],
            flags1: &[],
            in2: &[0.0, 4.0, 5.0],
            flags2: &[],
            mono2: true,
            out1: (&[100.0, 200.0, 500.0], CUM),
            out2: (&[4.0, 1.0], DELTA),
        },
        Case {
            name: "non_monotonic_left_alone",
            yaml: "include: {metrics: ['.*'], match_type: regexp}",
            in1: &[0.0, 100.0, 200.0, 500.0],
            flags1: &[],
            in2: &[4.0, 5.0],
            flags2: &[],
            mono2: false,
            out1: (&[100.0, 100.0, 300.0], DELTA),
            out2: (&[4.0, 5.0], CUM),
        },
        Case {
            name: "metric_types_excludes_sums",
            yaml: "exclude: {metric_types: [sum]}",
            in1: &[0.0, 100.0],
            flags1: &[],
            in2: &[4.0],
            flags2: &[],
            mono2: true,
            out1: (&[0.0, 100.0], CUM),
            out2: (&[4.0], CUM),
        },
    ];
    let _ = nan;
    for c in cases {
        let got = run(
            c.yaml,
            vec![
                sum("metric_1", c.in1, c.flags1, true, true),
                sum("metric_2", c.in2, c.flags2, true, c.mono2),
            ],
        )
        .await;
        assert_eq!(got.len(), 2, "{}", c.name);
        let (v1, t1) = sum_values(&got[0]);
        let (v2, t2) = sum_values(&got[1]);
        assert!(
            same(&v1, c.out1.0) && t1 == c.out1.1,
            "{}: metric_1 {v1:?} {t1}",
            c.name
        );
        assert!(
            same(&v2, c.out2.0) && t2 == c.out2.1,
            "{}: metric_2 {v2:?} {t2}",
            c.name
        );
    }
}

#[tokio::test]
async fn go_restart_detected_drops_the_reset_point_and_counts_it() {
    let (p, sink, tel) = create(&Factory, "{}", Signal::Metrics).unwrap();
    let input = sum(
        "metric_1",
        &[100.0, 105.0, 120.0, 100.0, 110.0],
        &[],
        true,
        true,
    );
    p.consume(request(vec![input])).await.unwrap();
    let got: Vec<Metric> = sink.requests().iter().flat_map(out_metrics).collect();
    assert_eq!(sum_values(&got[0]), (vec![5.0, 15.0, 10.0], DELTA));
    let dropped = |r| {
        tel.value(
            "otelcol_cumulativetodelta_datapoints_dropped",
            &[("reason", r)],
        )
    };
    assert_eq!(dropped("initial"), Some(1.0));
    assert_eq!(dropped("reset"), Some(1.0));
}

#[tokio::test]
async fn delta_start_is_the_previous_point_time() {
    let got = run("{}", vec![sum("m", &[1.0, 3.0, 6.0], &[], true, true)]).await;
    let Some(Data::Sum(s)) = &got[0].data else {
        panic!()
    };
    let spans: Vec<(u64, u64)> = s
        .data_points
        .iter()
        .map(|p| (p.start_time_unix_nano, p.time_unix_nano))
        .collect();
    assert_eq!(spans, [(SEC, 2 * SEC), (2 * SEC, 3 * SEC)]);
}

#[tokio::test]
async fn go_histogram_cases() {
    let b = |v: &[[u64; 3]]| v.to_vec();
    // one_positive with min and max: min/max removed from converted points only
    let got = run(
        "include: {metrics: [metric_1], match_type: strict}",
        vec![
            hist(
                "metric_1",
                H {
                    counts: &[0, 100, 200, 500],
                    sums: Some(&[0.0, 100.0, 200.0, 500.0]),
                    buckets: &[[0, 0, 0], [50, 25, 25], [100, 50, 50], [250, 125, 125]],
                    flags: &[],
                },
                true,
            ),
            hist(
                "metric_2",
                H {
                    counts: &[4],
                    sums: Some(&[4.0]),
                    buckets: &[[4, 4, 4]],
                    flags: &[],
                },
                true,
            ),
        ],
    )
    .await;
    let points = |m: &Metric| {
        let Some(Data::Histogram(h)) = &m.data else {
            panic!()
        };
        (h.data_points.clone(), h.aggregation_temporality)
    };
    let (p1, t1) = points(&got[0]);
    assert_eq!(t1, DELTA);
    assert_eq!(
        p1.iter().map(|p| p.count).collect::<Vec<_>>(),
        [100, 100, 300]
    );
    assert_eq!(
        p1.iter().map(|p| p.sum.unwrap()).collect::<Vec<_>>(),
        [100.0, 100.0, 300.0]
    );
    assert_eq!(
        p1.iter()
            .map(|p| p.bucket_counts.clone())
            .collect::<Vec<_>>(),
        b(&[[50, 25, 25], [50, 25, 25], [150, 75, 75]])
    );
    assert!(p1.iter().all(|p| p.min.is_none() && p.max.is_none()));
    let (p2, t2) = points(&got[1]);
    assert_eq!((p2[0].min, p2[0].max, t2), (Some(0.5), Some(9.0), CUM));

    // nan_sum: a NaN sum stays NaN, the next delta is taken from the sum before it
    let got = run(
        "{}",
        vec![hist(
            "metric_1",
            H {
                counts: &[0, 100, 200, 500],
                sums: Some(&[0.0, 100.0, f64::NAN, 500.0]),
                buckets: &[[0, 0, 0], [50, 25, 25], [100, 50, 50], [250, 125, 125]],
                flags: &[],
            },
            true,
        )],
    )
    .await;
    let sums: Vec<f64> = points(&got[0]).0.iter().map(|p| p.sum.unwrap()).collect();
    assert!(same(&sums, &[100.0, f64::NAN, 400.0]), "{sums:?}");

    // novalue: flagged points are removed and do not become the reference
    let got = run(
        "{}",
        vec![
            hist(
                "metric_1",
                H {
                    counts: &[0, 100, 0, 500],
                    sums: Some(&[0.0, 100.0, 0.0, 500.0]),
                    buckets: &[[0, 0, 0], [50, 25, 25], [0, 0, 0], [250, 125, 125]],
                    flags: &[0, 0, NO_VALUE, 0],
                },
                true,
            ),
            hist(
                "metric_2",
                H {
                    counts: &[0, 2, 0, 0, 16],
                    sums: Some(&[0.0, 3.0, 0.0, 0.0, 81.0]),
                    buckets: &[[0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0], [21, 40, 20]],
                    flags: &[0, 0, NO_VALUE, NO_VALUE, 0],
                },
                true,
            ),
        ],
    )
    .await;
    let (p1, _) = points(&got[0]);
    let (p2, _) = points(&got[1]);
    assert_eq!(p1.iter().map(|p| p.count).collect::<Vec<_>>(), [100, 400]);
    assert_eq!(p2.iter().map(|p| p.count).collect::<Vec<_>>(), [2, 14]);
    assert_eq!(
        p2.iter().map(|p| p.sum.unwrap()).collect::<Vec<_>>(),
        [3.0, 78.0]
    );
    assert_eq!(
        p2.iter()
            .map(|p| p.bucket_counts.clone())
            .collect::<Vec<_>>(),
        b(&[[1, 1, 1], [20, 39, 19]])
    );

    // without sums: none appear
    let got = run(
        "{}",
        vec![hist(
            "metric_1",
            H {
                counts: &[0, 100, 200],
                sums: None,
                buckets: &[[0, 0, 0], [50, 25, 25], [100, 50, 50]],
                flags: &[],
            },
            true,
        )],
    )
    .await;
    assert!(points(&got[0]).0.iter().all(|p| p.sum.is_none()));
}

#[tokio::test]
async fn histogram_reset_passes_full_values_and_bucket_change_is_dropped() {
    let (p, sink, tel) = create(&Factory, "{}", Signal::Metrics).unwrap();
    let mut m = hist(
        "h",
        H {
            counts: &[10, 20, 5, 8],
            sums: Some(&[10.0, 20.0, 5.0, 8.0]),
            buckets: &[[5, 5, 0], [10, 10, 0], [5, 0, 0], [6, 2, 0]],
            flags: &[],
        },
        true,
    );
    // the last point has another bucket layout
    if let Some(Data::Histogram(h)) = &mut m.data {
        h.data_points[3].explicit_bounds = vec![1.0, 5.0];
    }
    p.consume(request(vec![m])).await.unwrap();
    let got: Vec<Metric> = sink.requests().iter().flat_map(out_metrics).collect();
    let Some(Data::Histogram(h)) = &got[0].data else {
        panic!()
    };
    let counts: Vec<u64> = h.data_points.iter().map(|p| p.count).collect();
    // 20-10 = 10; then 5 < 20 is a reset: sent with its cumulative 5
    assert_eq!(counts, [10, 5]);
    assert_eq!(
        tel.value(
            "otelcol_cumulativetodelta_datapoints_dropped",
            &[("reason", "bucket_mismatch")]
        ),
        Some(1.0)
    );
}

fn expo_point(
    i: u64,
    count: u64,
    scale: i32,
    offset: i32,
    pos: &[u64],
) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        time_unix_nano: (i + 1) * SEC,
        count,
        sum: Some(count as f64),
        scale,
        positive: Some(Buckets {
            offset,
            bucket_counts: pos.to_vec(),
        }),
        min: Some(1.0),
        ..Default::default()
    }
}

#[tokio::test]
async fn exponential_histograms_become_deltas_across_a_scale_change() {
    let m = Metric {
        name: "e".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![
                expo_point(0, 4, 1, 0, &[1, 1, 2]),
                expo_point(1, 8, 1, 0, &[2, 2, 4]),
                // scale 0: the previous [2,2,4]@1 offset 0 is [4,4]@0 offset 0
                expo_point(2, 12, 0, 0, &[6, 6]),
                // count went down: reset, dropped
                expo_point(3, 1, 0, 0, &[1]),
            ],
            aggregation_temporality: CUM,
        })),
        ..Default::default()
    };
    let got = run("{}", vec![m]).await;
    let Some(Data::ExponentialHistogram(h)) = &got[0].data else {
        panic!()
    };
    assert_eq!(h.aggregation_temporality, DELTA);
    let p: Vec<(u64, i32, Vec<u64>, Option<f64>)> = h
        .data_points
        .iter()
        .map(|p| {
            (
                p.count,
                p.scale,
                p.positive.clone().unwrap().bucket_counts,
                p.min,
            )
        })
        .collect();
    assert_eq!(p, [(4, 1, vec![1, 1, 2], None), (4, 0, vec![2, 2], None)]);
}

#[tokio::test]
async fn initial_value_decides_the_first_point() {
    let now = crate::util::time::now_unix_nanos();
    // started after the processor, timestamp after start: a new counter
    let fresh = |v: f64| NumberDataPoint {
        start_time_unix_nano: now + SEC,
        time_unix_nano: now + 2 * SEC,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    let metric = |p: NumberDataPoint| Metric {
        name: "c".into(),
        data: Some(Data::Sum(Sum {
            data_points: vec![p],
            aggregation_temporality: CUM,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    let first = |got: Vec<Metric>| -> Option<(u64, f64)> {
        let Some(Data::Sum(s)) = &got.first()?.data else {
            return None;
        };
        let p = s.data_points.first()?;
        Some((p.start_time_unix_nano, sum_values(&got[0]).0[0]))
    };
    assert_eq!(
        first(run("{}", vec![metric(fresh(7.0))]).await),
        Some((now + SEC, 7.0))
    );
    assert_eq!(
        first(run("initial_value: drop", vec![metric(fresh(7.0))]).await),
        None
    );
    // keep: even an old counter's first value is sent (Go leaves its start time unset)
    assert_eq!(
        first(
            run(
                "initial_value: keep",
                vec![sum("c", &[7.0], &[], true, true)]
            )
            .await
        ),
        Some((0, 7.0))
    );
    // auto: a start time equal to the timestamp is not trusted
    let mut same_time = fresh(7.0);
    same_time.start_time_unix_nano = same_time.time_unix_nano;
    assert_eq!(first(run("{}", vec![metric(same_time)]).await), None);
}

#[tokio::test]
async fn gauges_and_delta_sums_pass_untouched() {
    let gauge = Metric {
        name: "g".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![num(0, 3.0, 0)],
        })),
        ..Default::default()
    };
    let got = run(
        "{}",
        vec![gauge.clone(), sum("d", &[1.0, 2.0], &[], false, true)],
    )
    .await;
    assert_eq!(got[0], gauge);
    assert_eq!(sum_values(&got[1]), (vec![1.0, 2.0], DELTA));
}

#[tokio::test]
async fn streams_are_forgotten_after_max_staleness() {
    let (p, sink, _) = create(&Factory, "max_staleness: 1ms", Signal::Metrics).unwrap();
    p.consume(request(vec![sum("m", &[10.0], &[], true, true)]))
        .await
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    // The old point (timestamp 1s after the epoch) is long stale: this one is a first point again.
    let second = sum("m", &[10.0, 15.0], &[], true, true);
    p.consume(request(vec![second])).await.unwrap();
    let got: Vec<Metric> = sink.requests().iter().flat_map(out_metrics).collect();
    assert_eq!(sum_values(&got[0]), (vec![5.0], DELTA));
}

#[test]
fn config_errors_are_gos() {
    let err = |yaml: &str| parse(&Factory, "processors::cumulative_to_delta", yaml).unwrap_err();
    let p = "processors::cumulative_to_delta: ";
    assert_eq!(
        err("include: {metrics: [a]}"),
        format!("{p}match_type must be set if metrics are supplied")
    );
    assert_eq!(
        err("exclude: {match_type: strict}"),
        format!("{p}metrics must be supplied if match_type is set")
    );
    assert_eq!(
        err("include: {metric_types: [gauge]}"),
        format!(
            "{p}found invalid metric type in include.metric_types: gauge. Valid values are [exponentialhistogram histogram sum]"
        )
    );
    assert_eq!(
        err("exclude: {metric_types: [Invalid]}"),
        format!(
            "{p}found invalid metric type in exclude.metric_types: Invalid. Valid values are [exponentialhistogram histogram sum]"
        )
    );
    assert_eq!(
        err("initial_value: first"),
        format!("{p}unknown initial_value: first")
    );
    assert_eq!(
        err("max_staleness: 300"),
        format!(
            "{p}max_staleness (300ns) appears to be missing a unit suffix; did you mean '300s' or '5m0s'? Use '0' for infinite retention"
        )
    );
    let ok = parse(
        &Factory,
        "p",
        "{max_staleness: 0, initial_value: keep, include: {metrics: [a], match_type: strict, metric_types: [Sum, histogram]}}",
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn bad_regexp_is_refused_at_creation() {
    let Err(e) = create(
        &Factory,
        "include: {metrics: ['(('], match_type: regexp}",
        Signal::Metrics,
    ) else {
        panic!("accepted")
    };
    assert!(e.contains("error parsing regexp"), "{e}");
}

#[tokio::test]
async fn streams_are_told_apart_by_attributes_and_resource() {
    use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    let point = |i: usize, v: f64, host: &str| NumberDataPoint {
        attributes: vec![kv("host", host)],
        ..num(i, v, 0)
    };
    let metric = |points: Vec<NumberDataPoint>| Metric {
        name: "m".into(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: CUM,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    // two hosts interleaved in one metric, and the same host under a second resource
    let mut req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric(vec![
                    point(0, 10.0, "a"),
                    point(0, 100.0, "b"),
                    point(1, 15.0, "a"),
                    point(1, 130.0, "b"),
                ])],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut other = req.resource_metrics[0].clone();
    other.resource = Some(pdata::proto::resource::v1::Resource {
        attributes: vec![kv("service.name", "other")],
        ..Default::default()
    });
    if let Some(Data::Sum(s)) = &mut other.scope_metrics[0].metrics[0].data {
        s.data_points = vec![point(0, 1.0, "a"), point(1, 3.0, "a")];
    }
    req.resource_metrics.push(other);
    let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
    p.consume(Batch::from_request(Request::Metrics(req)))
        .await
        .unwrap();
    let got: Vec<Metric> = sink.requests().iter().flat_map(out_metrics).collect();
    assert_eq!(sum_values(&got[0]).0, [5.0, 30.0]);
    assert_eq!(sum_values(&got[1]).0, [2.0]);
}
