//! Body of the remote-write encoder fuzz target (`/fuzz/fuzz_targets/remote_write.rs`), kept
//! here so that a unit test runs it over seeded random inputs on stable, where cargo-fuzz
//! (nightly) is not available. It must never panic; the assertions are the properties.

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::KeyValue;
use pdata::proto::metrics::v1::exponential_histogram_data_point::Buckets;
use pdata::proto::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Metric, Summary,
    SummaryDataPoint, metric::Data, summary_data_point::ValueAtQuantile,
};
use prost::Message;

use crate::build::*;
use crate::labels::LabelSettings;
use crate::naming::MetricNamer;
use crate::prompb::{self, WriteRequest};
use crate::remotewrite::{Settings, batch, encode_batches, encode_metrics, from_metrics};

/// Arbitrary metrics -> remote-write series -> requests cut at a small byte limit -> snappy
/// protobuf -> decoded: every request decodes to exactly what was encoded (compared by its
/// encoding, so NaNs compare), no series is lost or duplicated by batching, every label set
/// is sorted by name with one `__name__`, and arbitrary bytes given to the decoder give an
/// error, not a panic. The input is read as an OTLP metrics request when it is one;
/// otherwise metrics of every type are made from its bytes.
pub fn remote_write_round_trip(data: &[u8]) {
    let _ = prompb::decode(data);
    let req = match ExportMetricsServiceRequest::decode(data) {
        Ok(r) if !r.resource_metrics.is_empty() => r,
        _ => synthesize(data),
    };
    let first = data.first().copied().unwrap_or(0);
    let settings = Settings {
        namer: MetricNamer::new(if first & 1 == 0 { "" } else { "ns" }, first & 2 == 0),
        labels: LabelSettings {
            resource_to_telemetry: first & 4 != 0,
            scope_labels: true,
            ..Default::default()
        }
        .with_fixed([("cluster", "c1")]),
        target_info: first & 8 == 0,
        export_created_metric: first & 16 != 0,
    };
    let t = from_metrics(&req, &settings);
    for ts in &t.series {
        let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "labels sorted by name, no duplicates");
        assert_eq!(names.iter().filter(|n| **n == "__name__").count(), 1);
        assert!(!ts.samples.is_empty() || !ts.histograms.is_empty());
    }
    let total = t.series.len();
    let limit = 64 + (first as usize) * 16;
    // What the exporter sends (encode_batches) is what batch + encode describe.
    let bodies = encode_batches(t.series.as_slice(), limit).expect("snappy encodes what we make");
    // ... and what it sends from series encoded as they were made, without owned labels.
    let e = encode_metrics(&req, &settings);
    assert_eq!(e.series.len(), total, "the same series");
    assert_eq!((&e.errors, e.dropped_points), (&t.errors, t.dropped_points));
    let encoded = encode_batches(&e.series, limit).expect("snappy encodes what we make");
    assert_eq!(encoded, bodies, "encoded series make the same bodies");
    // ... which are those of labels made point by point by `point_label_refs`.
    let g = crate::remotewrite::encode_metrics_generally(&req, &settings);
    let generally = encode_batches(&g.series, limit).expect("snappy encodes what we make");
    assert_eq!(
        generally, bodies,
        "labels made directly are those made generally"
    );
    // (The next input on this thread reuses these buffers.)
    e.series.recycle();
    let requests = batch(t.series, limit);
    assert_eq!(bodies.len(), requests.len());
    let mut seen = 0;
    for (r, sent) in requests.iter().zip(&bodies) {
        assert!(!r.timeseries.is_empty(), "no empty requests");
        seen += r.timeseries.len();
        if r.timeseries.len() > 1 {
            let size: usize = r.timeseries.iter().map(Message::encoded_len).sum();
            assert!(
                size < limit,
                "a request of several series stays under the limit"
            );
        }
        let body = prompb::encode(r).expect("snappy encodes what we make");
        assert_eq!(&body, sent, "encode_batches wrote this request's body");
        let back: WriteRequest = prompb::decode(&body).expect("our own request decodes");
        assert_eq!(back.encode_to_vec(), r.encode_to_vec(), "round trip");
    }
    assert_eq!(seen, total, "batching keeps every series once");

    // The pull exporter's path over the same input must not panic either: accumulated twice
    // (deltas continue), then written in every format.
    let mut acc = crate::accumulator::Accumulator::new();
    let now = std::time::Instant::now();
    acc.accumulate(&req, now);
    acc.accumulate(&req, now);
    let exp = crate::exposition::Settings {
        namer: settings.namer.clone(),
        labels: settings.labels.clone(),
        send_timestamps: first & 32 != 0,
    };
    for format in [
        crate::exposition::Format::Text,
        crate::exposition::Format::OpenMetrics,
        crate::exposition::Format::Protobuf,
    ] {
        let _ = crate::exposition::render(acc.series(), &exp, format);
    }
}

/// Metrics of every type from arbitrary bytes.
fn synthesize(data: &[u8]) -> ExportMetricsServiceRequest {
    let byte = |i: usize| data.get(i % data.len().max(1)).copied().unwrap_or(0);
    let text = |i: usize, n: usize| -> String {
        (0..n).map(|k| char::from(byte(i + k) % 96 + 32)).collect()
    };
    let f = |i: usize| -> f64 {
        let mut b = [0u8; 8];
        for (k, x) in b.iter_mut().enumerate() {
            *x = byte(i + k);
        }
        f64::from_le_bytes(b)
    };
    let t = 1_700_000_000_000_000_000u64 + byte(3) as u64 * 1_000_000;
    let attrs = |i: usize| -> Vec<KeyValue> {
        (0..(byte(i) % 4) as usize)
            .map(|k| {
                kv(
                    &text(i + k * 3, 1 + (byte(i + k) % 6) as usize),
                    &text(i + k * 5, 3),
                )
            })
            .collect()
    };
    let units = ["", "1", "ms", "By/s", "{req}", "%", "weird unit"];
    let unit = |i: usize| units[byte(i) as usize % units.len()];
    let mut metrics: Vec<Metric> = vec![
        gauge(&text(1, 5), unit(2), vec![point(attrs(4), 0, t, f(5))]),
        sum(
            &text(7, 4),
            unit(8),
            byte(9) & 1 == 0,
            byte(9) & 2 == 0,
            vec![point(attrs(10), t - 1, t, f(11))],
        ),
        histogram(
            &text(13, 6),
            unit(14),
            false,
            vec![hpoint(
                attrs(15),
                t - 1,
                t,
                &[f(16).abs().min(1e9), 1e9 + 1.0],
                &[
                    byte(17) as u64,
                    if byte(0) & 32 != 0 {
                        u64::MAX
                    } else {
                        byte(18) as u64
                    },
                    1,
                ],
                f(19),
            )],
        ),
    ];
    let mut stale = point(attrs(20), 0, t, 1.0);
    stale.flags = 1;
    metrics.push(gauge(&text(21, 3), "", vec![stale]));
    metrics.push(Metric {
        name: text(22, 4),
        unit: unit(23).into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                attributes: attrs(24),
                time_unix_nano: t,
                count: byte(25) as u64,
                sum: f(26),
                quantile_values: vec![ValueAtQuantile {
                    quantile: 0.5,
                    value: f(27),
                }],
                ..Default::default()
            }],
        })),
        ..Default::default()
    });
    metrics.push(Metric {
        name: text(28, 4),
        unit: unit(29).into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            data_points: vec![ExponentialHistogramDataPoint {
                attributes: attrs(30),
                time_unix_nano: t,
                scale: (byte(31) % 30) as i32 - 10,
                count: 3,
                zero_count: byte(32) as u64,
                positive: Some(Buckets {
                    offset: byte(33) as i32 - 128,
                    bucket_counts: (0..byte(34) % 20)
                        .map(|k| byte(35 + k as usize) as u64 % 3)
                        .collect(),
                }),
                negative: Some(Buckets {
                    offset: -(byte(36) as i32),
                    bucket_counts: vec![1, 0, 0, 0, 2],
                }),
                ..Default::default()
            }],
        })),
        ..Default::default()
    });
    request(
        attrs(40)
            .into_iter()
            .chain([kv("service.name", &text(41, 3))])
            .collect(),
        metrics,
    )
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let seed = synthesize(b"seed input for the remote write fuzz body").encode_to_vec();
        for i in 0..1500 {
            let data: Vec<u8> = if i % 2 == 0 {
                let n = rng.random_range(0..200);
                (0..n).map(|_| rng.random()).collect()
            } else {
                let mut d = seed.clone();
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..d.len());
                    d[at] = rng.random();
                }
                d
            };
            remote_write_round_trip(&data);
        }
    }
}
