//! Cases from Go's `metrics_transform_processor_testcases_test.go` and `factory_test.go`,
//! through the factory.

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::KeyValue;
use pdata::proto::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};

use super::Factory;
use super::points::{put_str, str_of};
use crate::processors::testing::{create, parse};

#[derive(Clone, Copy)]
enum V {
    I(i64),
    D(f64),
}

/// Go's `metricBuilder(type, name, labels...)` with `add{Int,Double}Datapoint(start, ts, v,
/// values...)`.
struct B {
    m: Metric,
    labels: Vec<&'static str>,
}

fn gauge(name: &str, labels: &[&'static str]) -> B {
    B {
        m: Metric {
            name: name.into(),
            data: Some(Data::Gauge(Gauge::default())),
            ..Default::default()
        },
        labels: labels.to_vec(),
    }
}

fn sum(name: &str, labels: &[&'static str]) -> B {
    B {
        m: Metric {
            name: name.into(),
            data: Some(Data::Sum(Sum {
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
                ..Default::default()
            })),
            ..Default::default()
        },
        labels: labels.to_vec(),
    }
}

impl B {
    fn point(mut self, start: u64, ts: u64, v: V, values: &[&str]) -> B {
        let mut attributes = Vec::new();
        for (k, v) in self.labels.iter().zip(values) {
            put_str(&mut attributes, k, v);
        }
        let dp = NumberDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: ts,
            attributes,
            value: Some(match v {
                V::I(i) => number_data_point::Value::AsInt(i),
                V::D(d) => number_data_point::Value::AsDouble(d),
            }),
            ..Default::default()
        };
        match &mut self.m.data {
            Some(Data::Gauge(g)) => g.data_points.push(dp),
            Some(Data::Sum(s)) => s.data_points.push(dp),
            _ => unreachable!("builder makes gauges and sums"),
        }
        self
    }
    fn i(self, start: u64, ts: u64, v: i64, values: &[&str]) -> B {
        self.point(start, ts, V::I(v), values)
    }
    fn d(self, start: u64, ts: u64, v: f64, values: &[&str]) -> B {
        self.point(start, ts, V::D(v), values)
    }
    fn build(self) -> Metric {
        self.m
    }
}

fn request(metrics: Vec<Metric>) -> Batch {
    Batch::from_request(Request::Metrics(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "host".into(),
                    value: super::points::string_value("h1"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }))
}

async fn run_rms(yaml: &str, input: Vec<Metric>) -> Vec<ResourceMetrics> {
    let (p, sink, _) = create(&Factory, yaml, Signal::Metrics).unwrap();
    p.consume(request(input)).await.unwrap();
    match sink.requests().pop() {
        Some(Request::Metrics(m)) => m.resource_metrics,
        _ => Vec::new(),
    }
}

async fn run(yaml: &str, input: Vec<Metric>) -> Vec<Metric> {
    run_rms(yaml, input)
        .await
        .into_iter()
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .collect()
}

#[tokio::test]
async fn go_standard_cases() {
    // (name, config, in, out)
    let cases: Vec<(&str, &str, Vec<Metric>, Vec<Metric>)> = vec![
        (
            "metric_name_update",
            "transforms: [{include: metric1, action: update, new_name: new/metric1}]",
            vec![gauge("metric1", &[]).build()],
            vec![gauge("new/metric1", &[]).build()],
        ),
        (
            "metric_names_update_chained",
            r"transforms:
  - {include: '^(metric)(?P<namedsubmatch>[12])$', match_type: regexp, action: update, new_name: 'new/$1/$namedsubmatch'}
  - {include: new/metric/1, action: update, new_name: new/new/metric1}",
            vec![
                gauge("metric1", &[]).build(),
                gauge("metric2", &[]).build(),
                gauge("metric3", &[]).build(),
            ],
            vec![
                gauge("new/new/metric1", &[]).build(),
                gauge("new/metric/2", &[]).build(),
                gauge("metric3", &[]).build(),
            ],
        ),
        (
            "metric_name_update_nonexist",
            "transforms: [{include: nonexist, action: update, new_name: new/metric1}]",
            vec![gauge("metric1", &[]).build()],
            vec![gauge("metric1", &[]).build()],
        ),
        (
            "metric_label_update",
            "transforms: [{include: metric1, action: update, operations: [{action: update_label, label: label1, new_label: new/label1}]}]",
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["value1"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["new/label1"])
                    .i(1, 2, 3, &["value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_value_update",
            "transforms: [{include: metric1, action: update, operations: [{action: update_label, label: label1, value_actions: [{value: label1-value1, new_value: new/label1-value1}]}]}]",
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["label1-value1"])
                    .i(1, 2, 3, &["label1-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["new/label1-value1"])
                    .i(1, 2, 3, &["label1-value2"])
                    .build(),
            ],
        ),
        (
            "metric_label_update_label_and_label_value",
            "transforms: [{include: metric1, action: update, operations: [{action: update_label, label: label1, new_label: new/label1, value_actions: [{value: label1-value1, new_value: new/label1-value1}]}]}]",
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["label1-value1"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["new/label1"])
                    .i(1, 2, 3, &["new/label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_update_with_regexp_filter",
            "transforms: [{include: '^matched.*$', match_type: regexp, action: update, operations: [{action: update_label, label: label1, value_actions: [{value: label1-value1, new_value: new/label1-value1}]}]}]",
            vec![
                gauge("matched-metric1", &["label1", "label2"])
                    .i(1, 2, 3, &["label1-value1", "label2-value1"])
                    .build(),
                gauge("unmatched-metric2", &["label1", "label2"])
                    .i(1, 2, 3, &["label1-value1", "label2-value1"])
                    .build(),
            ],
            vec![
                gauge("matched-metric1", &["label1", "label2"])
                    .i(1, 2, 3, &["new/label1-value1", "label2-value1"])
                    .build(),
                gauge("unmatched-metric2", &["label1", "label2"])
                    .i(1, 2, 3, &["label1-value1", "label2-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_sum_int_update",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: sum, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .i(1, 2, 3, &["label1-value1", "label2-value1"])
                    .i(1, 2, 1, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 4, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_mean_int_update",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: mean, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .i(1, 2, 3, &["label1-value1", "label2-value1"])
                    .i(1, 2, 1, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 2, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_max_int_update",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: max, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .i(1, 2, 1, &["label1-value1", "label2-value1"])
                    .i(1, 2, 3, &["label1-value1", "label2-value2"])
                    .i(1, 2, 2, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_min_int_update",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: min, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .i(1, 2, 1, &["label1-value1", "label2-value1"])
                    .i(1, 2, 3, &["label1-value1", "label2-value2"])
                    .i(1, 2, 2, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 1, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_mean_double_update",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: mean, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .d(1, 2, 3.0, &["label1-value1", "label2-value1"])
                    .d(1, 2, 1.0, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .d(1, 2, 2.0, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_min_double_update (groups keep their order, earliest start)",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_labels, aggregation_type: min, label_set: [label1]}]}]",
            vec![
                gauge("metric1", &["label1", "label2"])
                    .d(2, 2, 3.0, &["label1-value2", "label2-value2"])
                    .d(0, 2, 4.0, &["label1-value0", "label2-value0"])
                    .d(1, 2, 1.0, &["label1-value1", "label2-value1"])
                    .d(1, 2, 3.0, &["label1-value1", "label2-value2"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .d(2, 2, 3.0, &["label1-value2"])
                    .d(0, 2, 4.0, &["label1-value0"])
                    .d(1, 2, 1.0, &["label1-value1"])
                    .build(),
            ],
        ),
        (
            "metric_label_aggregation_insert_sum_with_several_attrs_match",
            "transforms: [{include: metric1, action: insert, new_name: new/metric1, experimental_match_labels: {label0: label0-value1}, operations: [{action: aggregate_labels, aggregation_type: sum, label_set: [label1, label2]}]}]",
            vec![
                gauge("metric1", &["label0", "label1", "label2", "label3"])
                    .d(
                        1,
                        2,
                        3.0,
                        &[
                            "label0-value1",
                            "label1-value1",
                            "label2-value1",
                            "label3-value1",
                        ],
                    )
                    .d(
                        1,
                        2,
                        1.0,
                        &[
                            "label0-value1",
                            "label1-value1",
                            "label2-value1",
                            "label3-value2",
                        ],
                    )
                    .d(
                        1,
                        2,
                        1.0,
                        &[
                            "label0-value2",
                            "label1-value1",
                            "label2-value1",
                            "label3-value1",
                        ],
                    )
                    .build(),
            ],
            vec![
                gauge("metric1", &["label0", "label1", "label2", "label3"])
                    .d(
                        1,
                        2,
                        3.0,
                        &[
                            "label0-value1",
                            "label1-value1",
                            "label2-value1",
                            "label3-value1",
                        ],
                    )
                    .d(
                        1,
                        2,
                        1.0,
                        &[
                            "label0-value1",
                            "label1-value1",
                            "label2-value1",
                            "label3-value2",
                        ],
                    )
                    .d(
                        1,
                        2,
                        1.0,
                        &[
                            "label0-value2",
                            "label1-value1",
                            "label2-value1",
                            "label3-value1",
                        ],
                    )
                    .build(),
                gauge("new/metric1", &["label1", "label2"])
                    .d(1, 2, 4.0, &["label1-value1", "label2-value1"])
                    .build(),
            ],
        ),
        (
            "aggregate_label_values sums the merged values",
            "transforms: [{include: metric1, action: update, operations: [{action: aggregate_label_values, label: label1, aggregated_values: [v1, v2], new_value: merged, aggregation_type: sum}]}]",
            vec![
                sum("metric1", &["label1"])
                    .i(1, 2, 3, &["v1"])
                    .i(1, 2, 4, &["v2"])
                    .i(1, 2, 5, &["v3"])
                    .build(),
            ],
            vec![
                sum("metric1", &["label1"])
                    .i(1, 2, 7, &["merged"])
                    .i(1, 2, 5, &["v3"])
                    .build(),
            ],
        ),
        (
            "add_label and delete_label_value",
            "transforms: [{include: metric1, action: update, operations: [{action: add_label, new_label: env, new_value: 'prod {{version}}'}, {action: delete_label_value, label: label1, label_value: drop}]}]",
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 3, &["keep"])
                    .i(1, 2, 4, &["drop"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1", "env"])
                    .i(
                        1,
                        2,
                        3,
                        &["keep", &format!("prod {}", env!("CARGO_PKG_VERSION"))],
                    )
                    .build(),
            ],
        ),
        (
            "delete_label_value removing every point removes the metric",
            "transforms: [{include: metric1, action: update, operations: [{action: delete_label_value, label: label1, label_value: drop}]}]",
            vec![
                gauge("metric1", &["label1"]).i(1, 2, 4, &["drop"]).build(),
                gauge("metric2", &[]).build(),
            ],
            vec![gauge("metric2", &[]).build()],
        ),
        (
            "toggle_scalar_data_type and experimental_scale_value",
            "transforms: [{include: metric1, action: update, operations: [{action: toggle_scalar_data_type}, {action: experimental_scale_value, experimental_scale: 1000}]}]",
            vec![
                gauge("metric1", &[])
                    .i(1, 2, 3, &[])
                    .d(1, 3, 0.5, &[])
                    .build(),
            ],
            vec![
                gauge("metric1", &[])
                    .d(1, 2, 3000.0, &[])
                    .i(1, 3, 0, &[])
                    .build(),
            ],
        ),
        (
            "update with match labels renames only when every point matches",
            "transforms: [{include: metric1, action: update, new_name: renamed, experimental_match_labels: {label1: a}, operations: [{action: update_label, label: label1, value_actions: [{value: a, new_value: A}]}]}]",
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 1, &["a"])
                    .i(1, 2, 2, &["b"])
                    .build(),
            ],
            vec![
                gauge("metric1", &["label1"])
                    .i(1, 2, 1, &["A"])
                    .i(1, 2, 2, &["b"])
                    .build(),
            ],
        ),
        (
            "combine with capture groups as attributes",
            "transforms: [{include: '^system\\.cpu\\.(?P<state>[a-z]+)$', match_type: regexp, action: combine, new_name: system.cpu.time, aggregation_type: sum, submatch_case: upper}]",
            vec![
                sum("system.cpu.user", &["cpu"])
                    .d(1, 2, 10.0, &["0"])
                    .build(),
                sum("system.cpu.idle", &["cpu"])
                    .d(1, 2, 90.0, &["0"])
                    .build(),
                gauge("other", &[]).build(),
            ],
            vec![
                gauge("other", &[]).build(),
                sum("system.cpu.time", &["cpu", "state"])
                    .d(1, 2, 10.0, &["0", "USER"])
                    .d(1, 2, 90.0, &["0", "IDLE"])
                    .build(),
            ],
        ),
    ];
    for (name, yaml, input, want) in cases {
        let got = run(yaml, input).await;
        assert_eq!(got, want, "{name}");
    }
}

#[tokio::test]
async fn combine_refuses_metrics_of_different_types() {
    let input = vec![sum("a.x", &[]).build(), gauge("a.y", &[]).build()];
    let got = run(
        "transforms: [{include: '^a\\.', match_type: regexp, action: combine, new_name: a, aggregation_type: sum}]",
        input.clone(),
    )
    .await;
    assert_eq!(got, input);
}

#[tokio::test]
async fn group_moves_matches_to_a_new_resource_with_its_labels() {
    let rms = run_rms(
        "transforms: [{include: '^k8s', match_type: regexp, action: group, group_resource_labels: {metric_group: k8s}}]",
        vec![gauge("k8s.pod.cpu", &[]).i(1, 2, 1, &[]).build(), gauge("host.cpu", &[]).i(1, 2, 1, &[]).build()],
    )
    .await;
    assert_eq!(rms.len(), 2);
    assert_eq!(rms[0].scope_metrics[0].metrics[0].name, "host.cpu");
    let res = &rms[1].resource.as_ref().unwrap().attributes;
    let get = |k: &str| str_of(super::points::get(res, k).unwrap().value.as_ref()).to_string();
    assert_eq!(
        (get("host"), get("metric_group")),
        ("h1".into(), "k8s".into())
    );
    assert_eq!(rms[1].scope_metrics[0].metrics[0].name, "k8s.pod.cpu");
}

#[tokio::test]
async fn histogram_scale_and_label_aggregation() {
    let h = |attrs: Vec<KeyValue>, count, buckets: Vec<u64>| HistogramDataPoint {
        attributes: attrs,
        time_unix_nano: 2,
        count,
        sum: Some(count as f64),
        bucket_counts: buckets,
        explicit_bounds: vec![1.0, 2.0],
        ..Default::default()
    };
    let attr = |v: &str| {
        let mut a = Vec::new();
        put_str(&mut a, "route", v);
        a
    };
    let m = Metric {
        name: "latency".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![
                h(attr("/a"), 2, vec![1, 1, 0]),
                h(attr("/b"), 3, vec![0, 1, 2]),
            ],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    };
    let got = run(
        "transforms: [{include: latency, action: update, operations: [{action: aggregate_labels, label_set: [], aggregation_type: sum}, {action: experimental_scale_value, experimental_scale: 1000}]}]",
        vec![m],
    )
    .await;
    let Some(Data::Histogram(h)) = &got[0].data else {
        panic!()
    };
    let p = &h.data_points[0];
    assert_eq!(h.data_points.len(), 1);
    assert_eq!(
        (
            p.count,
            p.sum,
            p.bucket_counts.clone(),
            p.explicit_bounds.clone()
        ),
        (5, Some(5000.0), vec![1, 2, 2], vec![1000.0, 2000.0])
    );
    assert!(p.attributes.is_empty());
}

#[test]
fn go_config_errors() {
    let err = |yaml: &str| parse(&Factory, "processors::metrics_transform", yaml).unwrap_err();
    let p = "processors::metrics_transform: ";
    let cases = [
        (
            "transforms: [{include: a, action: insert}]",
            r#"missing required field "new_name" while "action" is insert"#,
        ),
        (
            "transforms: [{include: a, action: group}]",
            r#"missing required field "group_resource_labels" while "action" is group"#,
        ),
        (
            "transforms: [{include: a, action: move}]",
            r#""action" must be in ["insert" "update" "combine" "group"]"#,
        ),
        (
            "transforms: [{action: update}]",
            r#"missing required field "include""#,
        ),
        (
            "transforms: [{include: a, match_type: wildcard, action: update}]",
            r#""match_type" must be in ["strict" "regexp"]"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: update_label}]}]",
            r#"operation 1: missing required field "label" while "action" is update_label"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: experimental_scale_value}]}]",
            r#"operation 1: missing required field "experimental_scale" while "action" is experimental_scale_value"#,
        ),
        (
            "transforms: [{include: '[\\da', match_type: regexp, action: update}]",
            r#""include", error parsing regexp: missing closing ]: `[\da`"#,
        ),
        (
            "transforms: [{include: a, action: update, aggregation_type: avg}]",
            r#""aggregation_type" must be in ["sum" "mean" "min" "max" "count" "median"]"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: drop}]}]",
            r#"operation 1: "action" must be in ["add_label" "update_label" "delete_label_value" "toggle_scalar_data_type" "experimental_scale_value" "aggregate_labels" "aggregate_label_values"]"#,
        ),
        (
            "transforms: [{include: a, action: update, submatch_case: title}]",
            r#""submatch_case" must be in ["lower" "upper"]"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: add_label, new_value: bar}]}]",
            r#"operation 1: missing required field "new_label" while "action" is add_label"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: add_label, new_label: foo}]}]",
            r#"operation 1: missing required field "new_value" while "action" is add_label"#,
        ),
        (
            "transforms: [{include: 'a.*', match_type: regexp, action: combine, aggregation_type: sum}]",
            r#"missing required field "new_name" while "action" is combine"#,
        ),
        (
            "transforms: [{include: 'a.*', match_type: regexp, action: combine, new_name: b}]",
            r#"missing required field "aggregation_type" while "action" is combine"#,
        ),
        (
            "transforms: [{include: a, action: update, operations: [{action: aggregate_labels, label_set: [x]}]}]",
            r#"operation 1: missing required field "aggregation_type" while "action" is aggregate_labels"#,
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(err(yaml), format!("{p}{want}"), "{yaml}");
    }
    assert!(parse(&Factory, "p", "{}").is_ok());
}
