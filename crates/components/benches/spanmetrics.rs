//! `span_metrics` aggregation cost per span: a batch of 1024 spans (8 resources) counted into
//! calls and duration series with the seed config's buckets and two dimensions, and the same
//! with exemplars on, the same batch read encoded (no decode), a plain prost decode of it for
//! scale, and building the metrics of a flush. The budget is CPU per span
//! over plain pass-through; this measures the connector's own share.
//! Run: `cargo bench -p ferrotel-components --bench spanmetrics`.

use std::hint::black_box;

use components::connectors::spanmetrics::{Aggregator, Config, Gates};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pdata::testdata;

fn config(yaml: &str) -> Config {
    let v = config::Value::from_yaml_str(yaml).expect("bench yaml");
    config::decode(&v, "connectors::span_metrics").expect("bench config")
}

const SEED: &str = "histogram: {explicit: {buckets: [2ms, 4ms, 6ms, 8ms, 10ms, 50ms, 100ms, 200ms, 400ms, 800ms, 1s, 1400ms, 2s, 5s, 10s, 15s]}}
dimensions: [{name: http.method}, {name: http.status_code}]";

fn benches(c: &mut Criterion) {
    let req = testdata::traces(8, 128, 1);
    let spans: usize = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let gates = Gates {
        collector_instance_id: Some("0c7ad5f4-3a5e-4b6e-9d1b-000000000000".into()),
        ..Gates::default()
    };
    let mut g = c.benchmark_group("span_metrics");
    g.throughput(Throughput::Elements(spans as u64));
    for (name, yaml) in [
        ("consume_seed_config", SEED.to_string()),
        (
            "consume_seed_config_with_exemplars",
            format!("{SEED}\nexemplars: {{enabled: true}}"),
        ),
    ] {
        let cfg = config(&yaml);
        let mut a = Aggregator::new(&cfg, &gates);
        a.consume(&req.resource_spans, 1);
        g.bench_function(name, |b| {
            b.iter(|| black_box(a.consume(black_box(&req.resource_spans), 2)))
        });
    }
    // What the connector does with a batch that arrived encoded (the usual case).
    let bytes = prost::Message::encode_to_vec(&req);
    let cfg = config(SEED);
    let mut a = Aggregator::new(&cfg, &gates);
    g.bench_function("consume_encoded_seed_config", |b| {
        b.iter(|| black_box(a.consume_encoded(black_box(&bytes), 2).unwrap()))
    });
    // For scale: decoding the same request, which the encoded path avoids.
    g.bench_function("prost_decode_only", |b| {
        b.iter(|| {
            black_box(
                <pdata::proto::collector::trace::v1::ExportTraceServiceRequest as prost::Message>::decode(
                    black_box(bytes.as_slice()),
                )
                .unwrap(),
            )
        })
    });
    let mut a = Aggregator::new(&cfg, &gates);
    a.consume(&req.resource_spans, 1);
    eprintln!("series held: {}", a.series());
    g.bench_function("flush", |b| b.iter(|| black_box(a.flush(3))));
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
