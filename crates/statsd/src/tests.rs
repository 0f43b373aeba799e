//! Lines and their OTLP as Go's statsdreceiver makes them (its parser and translator test
//! cases where noted).

use pdata::proto::metrics::v1::{metric::Data, number_data_point::Value};

use super::*;

fn agg(opts: Options) -> Aggregator {
    Aggregator::new(opts, 1_000)
}

fn metrics(batches: &[(String, ExportMetricsServiceRequest)]) -> Vec<&Metric> {
    batches
        .iter()
        .flat_map(|(_, r)| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .collect()
}

fn attrs(dp_attrs: &[KeyValue]) -> Vec<(String, String)> {
    dp_attrs
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

#[test]
fn parse_errors_match_go() {
    let cases = [
        ("test.metric", "invalid message format: test.metric"),
        (
            "test.metric|c",
            "invalid <name>:<value> format: test.metric",
        ),
        (":42|c", "empty metric name"),
        ("test.metric:|c", "empty metric value"),
        (
            "test.metric:42|unhandled_type",
            "unsupported metric type: unhandled_type",
        ),
        ("test.metric:42|c|@1.0a", "parse sample rate: 1.0a"),
        ("test.metric:42|c|#:val", "invalid tag format: \":val\""),
        ("test.metric:42|c|#key", "invalid tag format: \"key\""),
        ("test.metric:42|c|???", "unrecognized message part: ???"),
        ("test.metric:42.abc|c", "parse metric value string: 42.abc"),
        (
            "test.metric:42|ms|T1656581400",
            "only GAUGE and COUNT metrics support a timestamp",
        ),
        ("test.metric:42|c|T0.5", "invalid timestamp: 0.5"),
    ];
    for (line, want) in cases {
        assert_eq!(parse_line(line, false, false).unwrap_err(), want, "{line}");
    }
}

#[test]
fn tags_are_a_sorted_set_with_simple_tags_and_container_id() {
    let l = parse_line("m:1|c|#b:2,a:1,b:3|c:abc123", true, false).unwrap();
    assert_eq!(
        l.attrs,
        [
            ("a".into(), "1".into()),
            ("b".into(), "3".into()),
            ("container.id".into(), "abc123".into()),
            ("metric_type".into(), "counter".into())
        ]
    );
    let l = parse_line("m:1|g|#flag,k:v", false, true).unwrap();
    assert_eq!(
        l.attrs,
        [("flag".into(), "".into()), ("k".into(), "v".into())]
    );
    // an empty tag part is allowed (some clients send it)
    assert!(
        parse_line("m:1|c|#", false, false)
            .unwrap()
            .attrs
            .is_empty()
    );
}

#[test]
fn counters_are_delta_sums_of_sampled_integers() {
    let mut a = agg(Options {
        is_monotonic_counter: true,
        ..Options::default()
    });
    a.aggregate("hits:1|c|#r:/a", "127.0.0.1:1", 10).unwrap();
    a.aggregate("hits:3|c|@0.5|#r:/a", "127.0.0.1:1", 11)
        .unwrap();
    // 1/0.3 truncates to 3 (Go's int64 conversion)
    a.aggregate("hits:1|c|@0.3|#r:/b", "127.0.0.1:1", 11)
        .unwrap();
    let out = a.flush(5_000);
    let ms = metrics(&out);
    assert_eq!(ms.len(), 2);
    let Some(Data::Sum(s)) = &ms[0].data else {
        panic!()
    };
    assert!(s.is_monotonic);
    assert_eq!(
        s.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    let dp = &s.data_points[0];
    assert_eq!(dp.value, Some(Value::AsInt(7)));
    assert_eq!((dp.start_time_unix_nano, dp.time_unix_nano), (1_000, 5_000));
    assert_eq!(attrs(&dp.attributes), [("r".into(), "/a".into())]);
    let Some(Data::Sum(s)) = &ms[1].data else {
        panic!()
    };
    assert_eq!(s.data_points[0].value, Some(Value::AsInt(3)));
    // the scope is Go's
    let sm = &out[0].1.resource_metrics[0].scope_metrics[0];
    assert_eq!(sm.scope.as_ref().unwrap().name, SCOPE_NAME);
    // the next interval starts where this one ended, empty
    assert!(a.flush(6_000).is_empty());
}

#[test]
fn gauges_replace_or_add_with_a_sign() {
    let mut a = agg(Options::default());
    for (line, t) in [
        ("temp:10|g", 1),
        ("temp:+5|g", 2),
        ("temp:-3|g", 3),
        ("load:1|g", 4),
        ("load:7|g", 5),
    ] {
        a.aggregate(line, "127.0.0.1:1", t).unwrap();
    }
    let out = a.flush(100);
    let ms = metrics(&out);
    let value = |m: &Metric| match &m.data {
        Some(Data::Gauge(g)) => (g.data_points[0].value, g.data_points[0].time_unix_nano),
        _ => panic!(),
    };
    // +5 and -3 add to the first point (its time stays); 7 replaces 1 (with its time)
    assert_eq!(value(ms[0]), (Some(Value::AsDouble(12.0)), 1));
    assert_eq!(value(ms[1]), (Some(Value::AsDouble(7.0)), 5));
}

#[test]
fn a_counter_timestamp_is_kept() {
    let mut a = agg(Options::default());
    a.aggregate("c:1|c|T1656581400", "127.0.0.1:1", 10).unwrap();
    let out = a.flush(100);
    let Some(Data::Sum(s)) = &metrics(&out)[0].data else {
        panic!()
    };
    assert_eq!(s.data_points[0].time_unix_nano, 1_656_581_400_000_000_000);
}

#[test]
fn timers_as_gauges_are_one_point_each_by_default() {
    let mut a = agg(Options::default());
    a.aggregate("lat:10|ms", "127.0.0.1:1", 1).unwrap();
    a.aggregate("lat:20|ms", "127.0.0.1:1", 2).unwrap();
    a.aggregate("size:5|h", "127.0.0.1:1", 3).unwrap();
    let out = a.flush(100);
    let names: Vec<&str> = metrics(&out).iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["lat", "lat", "size"]);
}

#[test]
fn disabled_observer_drops_timers() {
    let mut a = agg(Options {
        timer: Observer::Disabled,
        ..Options::default()
    });
    a.aggregate("lat:10|ms", "127.0.0.1:1", 1).unwrap();
    let out = a.flush(100);
    assert!(metrics(&out).is_empty());
}

#[test]
fn summary_quantiles_are_gonum_empirical() {
    let mut a = agg(Options {
        timer: Observer::Summary {
            percentiles: vec![0.0, 50.0, 90.0, 100.0],
        },
        ..Options::default()
    });
    // Go's test: values 1..10, one of them sampled at 0.5 (weight 2)
    for v in [5, 1, 9, 3, 7, 2, 8, 4, 10] {
        a.aggregate(&format!("t:{v}|ms"), "127.0.0.1:1", 1).unwrap();
    }
    a.aggregate("t:6|ms|@0.5", "127.0.0.1:1", 1).unwrap();
    let out = a.flush(100);
    let Some(Data::Summary(s)) = &metrics(&out)[0].data else {
        panic!()
    };
    let dp = &s.data_points[0];
    assert_eq!(dp.count, 11);
    assert_eq!(dp.sum, 61.0);
    let q: Vec<(f64, f64)> = dp
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    // total weight 11: 50% is the first value whose cumulative weight reaches 5.5 -> 6
    assert_eq!(q, [(0.0, 1.0), (0.5, 6.0), (0.9, 9.0), (1.0, 10.0)]);
    assert_eq!((dp.start_time_unix_nano, dp.time_unix_nano), (1_000, 100));
}

#[test]
fn histogram_observer_makes_an_exponential_histogram() {
    let mut a = agg(Options {
        histogram: Observer::Histogram { max_size: 10 },
        ..Options::default()
    });
    for v in ["1", "2", "4", "8", "0", "-1"] {
        a.aggregate(&format!("d:{v}|d"), "127.0.0.1:1", 1).unwrap();
    }
    a.aggregate("d:16|d|@0.25", "127.0.0.1:1", 1).unwrap();
    let out = a.flush(100);
    let Some(Data::ExponentialHistogram(e)) = &metrics(&out)[0].data else {
        panic!()
    };
    assert_eq!(
        e.aggregation_temporality,
        AggregationTemporality::Delta as i32
    );
    let dp = &e.data_points[0];
    assert_eq!(dp.count, 10);
    assert_eq!(dp.sum, Some(14.0 + 64.0));
    assert_eq!((dp.min, dp.max), (Some(-1.0), Some(16.0)));
    assert_eq!(dp.zero_count, 1);
    let mut h = expohisto::Histogram::new(10);
    for (v, n) in [
        (1.0, 1),
        (2.0, 1),
        (4.0, 1),
        (8.0, 1),
        (0.0, 1),
        (-1.0, 1),
        (16.0, 4),
    ] {
        h.update(v, n);
    }
    assert_eq!(dp.scale, h.scale);
    assert_eq!(
        dp.positive.as_ref().unwrap().bucket_counts,
        h.positive.counts
    );
    assert_eq!(dp.negative.as_ref().unwrap().bucket_counts, vec![1]);
}

#[test]
fn each_sender_is_its_own_batch_unless_ip_only() {
    let mut a = agg(Options::default());
    a.aggregate("c:1|c", "127.0.0.1:1000", 1).unwrap();
    a.aggregate("c:1|c", "127.0.0.1:2000", 1).unwrap();
    assert_eq!(a.flush(10).len(), 2);
    let mut a = agg(Options {
        enable_ip_only_aggregation: true,
        ..Options::default()
    });
    a.aggregate("c:1|c", "127.0.0.1:1000", 1).unwrap();
    a.aggregate("c:1|c", "127.0.0.1:2000", 1).unwrap();
    let out = a.flush(10);
    assert_eq!(out.len(), 1);
    let Some(Data::Sum(s)) = &metrics(&out)[0].data else {
        panic!()
    };
    assert_eq!(s.data_points[0].value, Some(Value::AsInt(2)));
}
