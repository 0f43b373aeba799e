//! Go's `deltatocumulative` rules (internal/delta: first sample, older start, out of order;
//! internal/data: histogram and exponential histogram addition), through the factory.

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
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

/// A delta point covering `(start, time]` with an integer value.
fn int(start: u64, time: u64, v: i64) -> NumberDataPoint {
    NumberDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        value: Some(number_data_point::Value::AsInt(v)),
        ..Default::default()
    }
}

fn sum_metric(name: &str, points: Vec<NumberDataPoint>, temporality: i32) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: true,
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

fn out(sink: &crate::processors::testing::Collect) -> Vec<Metric> {
    sink.requests()
        .iter()
        .flat_map(|r| match r {
            Request::Metrics(m) => m
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| s.metrics.clone())
                .collect::<Vec<_>>(),
            _ => vec![],
        })
        .collect()
}

/// (start, time, value) of every sum point, and the temporality.
fn sums(m: &Metric) -> (Vec<(u64, u64, i64)>, i32) {
    let Some(Data::Sum(s)) = &m.data else {
        panic!("sum")
    };
    let p = s
        .data_points
        .iter()
        .map(|p| {
            let v = match p.value {
                Some(number_data_point::Value::AsInt(i)) => i,
                Some(number_data_point::Value::AsDouble(d)) => d as i64,
                None => -1,
            };
            (p.start_time_unix_nano, p.time_unix_nano, v)
        })
        .collect();
    (p, s.aggregation_temporality)
}

#[tokio::test]
async fn sums_accumulate_and_bad_points_are_dropped_with_their_reason() {
    // (case, points in, points out) — one stream, in order of arrival
    type Case = (&'static str, Vec<NumberDataPoint>, Vec<(u64, u64, i64)>);
    let cases: [Case; 5] = [
        (
            "running total keeps the first start",
            vec![int(0, 1, 1), int(1, 2, 2), int(2, 3, 3)],
            vec![(0, 1, 1), (0, 2, 3), (0, 3, 6)],
        ),
        (
            "duplicate and older timestamps are out of order",
            vec![int(0, 5, 1), int(0, 5, 7), int(0, 4, 7), int(5, 6, 2)],
            vec![(0, 5, 1), (0, 6, 3)],
        ),
        (
            "a start before the series start is an older series",
            vec![int(10, 11, 1), int(5, 12, 7), int(11, 12, 2)],
            vec![(10, 11, 1), (10, 12, 3)],
        ),
        (
            "a gap is added across",
            vec![int(0, 1, 1), int(50, 60, 4)],
            vec![(0, 1, 1), (0, 60, 5)],
        ),
        (
            "first point passes as it is",
            vec![int(3, 4, 9)],
            vec![(3, 4, 9)],
        ),
    ];
    for (name, input, want) in cases {
        let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
        p.consume(request(vec![sum_metric("c", input, DELTA)]))
            .await
            .unwrap();
        let got = out(&sink);
        assert_eq!(sums(&got[0]), (want, CUM), "{name}");
    }

    let (p, _, tel) = create(&Factory, "{}", Signal::Metrics).unwrap();
    let input = vec![
        int(10, 11, 1),
        int(5, 12, 7),
        int(10, 11, 1),
        int(11, 12, 2),
    ];
    p.consume(request(vec![sum_metric("c", input, DELTA)]))
        .await
        .unwrap();
    let n = |labels: &[(&str, &str)]| tel.value("otelcol_deltatocumulative_datapoints", labels);
    assert_eq!(n(&[("error", "delta.ErrOlderStart")]), Some(1.0));
    assert_eq!(n(&[("error", "delta.ErrOutOfOrder")]), Some(1.0));
    assert_eq!(
        tel.value("otelcol_deltatocumulative_streams_tracked", &[]),
        Some(1.0)
    );
}

#[tokio::test]
async fn totals_carry_across_batches_and_streams_are_apart_by_attributes() {
    let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
    let with = |pt: NumberDataPoint, host: &str| NumberDataPoint {
        attributes: vec![KeyValue {
            key: "host".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(host.into())),
            }),
            ..Default::default()
        }],
        ..pt
    };
    p.consume(request(vec![sum_metric(
        "c",
        vec![with(int(0, 1, 1), "a"), with(int(0, 1, 10), "b")],
        DELTA,
    )]))
    .await
    .unwrap();
    p.consume(request(vec![sum_metric(
        "c",
        vec![with(int(1, 2, 2), "a"), with(int(1, 2, 20), "b")],
        DELTA,
    )]))
    .await
    .unwrap();
    let got = out(&sink);
    assert_eq!(sums(&got[1]).0, [(0, 2, 3), (0, 2, 30)]);
}

#[tokio::test]
async fn cumulative_sums_and_gauges_pass_untouched() {
    let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
    let gauge = Metric {
        name: "g".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![int(0, 1, 5)],
        })),
        ..Default::default()
    };
    let cumulative = sum_metric("c", vec![int(0, 1, 5), int(0, 2, 7)], CUM);
    p.consume(request(vec![gauge.clone(), cumulative.clone()]))
        .await
        .unwrap();
    assert_eq!(out(&sink), [gauge, cumulative]);
}

#[tokio::test]
async fn max_streams_drops_points_of_new_streams_as_limit() {
    let (p, sink, tel) = create(&Factory, "max_streams: 1", Signal::Metrics).unwrap();
    p.consume(request(vec![
        sum_metric("a", vec![int(0, 1, 1)], DELTA),
        sum_metric("b", vec![int(0, 1, 1)], DELTA),
    ]))
    .await
    .unwrap();
    let got = out(&sink);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "a");
    assert_eq!(
        tel.value(
            "otelcol_deltatocumulative_datapoints",
            &[("error", "limit")]
        ),
        Some(1.0)
    );
    assert_eq!(
        tel.value("otelcol_deltatocumulative_streams_limit", &[]),
        Some(1.0)
    );
}

#[tokio::test]
async fn idle_streams_are_forgotten_after_max_stale() {
    let (p, sink, tel) = create(&Factory, "max_stale: 1ms", Signal::Metrics).unwrap();
    assert_eq!(
        tel.value("otelcol_deltatocumulative_streams_max_stale", &[]),
        Some(0.0)
    );
    p.consume(request(vec![sum_metric("c", vec![int(0, 1, 1)], DELTA)]))
        .await
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3));
    // After the stream was forgotten, an older start is a new stream, not an older series.
    p.consume(request(vec![sum_metric("c", vec![int(0, 2, 4)], DELTA)]))
        .await
        .unwrap();
    let got = out(&sink);
    assert_eq!(sums(&got[1]).0, [(0, 2, 4)]);
}

#[tokio::test]
async fn histograms_add_buckets_and_restart_when_bounds_change() {
    let point =
        |start, time, count, buckets: [u64; 3], bounds: [f64; 2], min, max| HistogramDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: time,
            count,
            sum: Some(count as f64 * 2.0),
            bucket_counts: buckets.to_vec(),
            explicit_bounds: bounds.to_vec(),
            min: Some(min),
            max: Some(max),
            ..Default::default()
        };
    let mut third = point(2, 3, 1, [0, 1, 0], [1.0, 2.0], 1.5, 1.5);
    third.sum = None;
    let m = Metric {
        name: "h".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![
                point(0, 1, 3, [1, 1, 1], [1.0, 2.0], 0.5, 3.0),
                point(1, 2, 2, [0, 0, 2], [1.0, 2.0], 2.5, 9.0),
                third,
                point(3, 4, 4, [4, 0, 0], [5.0, 10.0], 0.1, 0.2),
            ],
            aggregation_temporality: DELTA,
        })),
        ..Default::default()
    };
    let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
    p.consume(request(vec![m])).await.unwrap();
    let got = out(&sink);
    let Some(Data::Histogram(h)) = &got[0].data else {
        panic!()
    };
    assert_eq!(h.aggregation_temporality, CUM);
    let rows: Vec<_> = h
        .data_points
        .iter()
        .map(|p| {
            (
                p.start_time_unix_nano,
                p.time_unix_nano,
                p.count,
                p.bucket_counts.clone(),
                p.sum,
                p.min,
                p.max,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (0, 1, 3, vec![1, 1, 1], Some(6.0), Some(0.5), Some(3.0)),
            (0, 2, 5, vec![1, 1, 3], Some(10.0), Some(0.5), Some(9.0)),
            // a point without sum: the total loses it
            (0, 3, 6, vec![1, 2, 3], None, Some(0.5), Some(9.0)),
            // other bounds: the total starts again from the point
            (3, 4, 4, vec![4, 0, 0], Some(8.0), Some(0.1), Some(0.2)),
        ]
    );
}

#[tokio::test]
async fn exponential_histograms_merge_at_the_coarser_scale() {
    let point = |start, time, scale, offset, counts: &[u64], zero| ExponentialHistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: time,
        scale,
        count: counts.iter().sum::<u64>() + zero,
        zero_count: zero,
        sum: Some(1.0),
        positive: Some(Buckets {
            offset,
            bucket_counts: counts.to_vec(),
        }),
        ..Default::default()
    };
    let m = Metric {
        name: "e".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![
                point(0, 1, 1, 0, &[1, 2, 3, 4], 1),
                // scale 0: the total [1,2,3,4]@1 becomes [3,7]@0
                point(1, 2, 0, 1, &[5], 0),
            ],
            aggregation_temporality: DELTA,
        })),
        ..Default::default()
    };
    let (p, sink, _) = create(&Factory, "{}", Signal::Metrics).unwrap();
    p.consume(request(vec![m])).await.unwrap();
    let got = out(&sink);
    let Some(Data::ExponentialHistogram(h)) = &got[0].data else {
        panic!()
    };
    let last = &h.data_points[1];
    assert_eq!(
        (
            last.scale,
            last.count,
            last.zero_count,
            last.sum,
            last.positive.clone().unwrap()
        ),
        (
            0,
            16,
            1,
            Some(2.0),
            Buckets {
                offset: 0,
                bucket_counts: vec![3, 12]
            }
        )
    );
}

#[test]
fn config_defaults_and_errors_are_gos() {
    let err = |yaml: &str| parse(&Factory, "processors::delta_to_cumulative", yaml).unwrap_err();
    assert_eq!(
        err("max_stale: 0s"),
        "processors::delta_to_cumulative: max_stale must be a positive duration (got 0s)"
    );
    assert_eq!(
        err("max_streams: -1"),
        "processors::delta_to_cumulative: max_streams must be a positive number (got -1)"
    );
    let cfg = super::Config::default();
    assert_eq!(
        (cfg.max_stale.0.as_secs(), cfg.max_streams),
        (300, i64::MAX)
    );
    assert!(err("storage: file_storage").contains("storage"));
}
