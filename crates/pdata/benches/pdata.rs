//! pdata hot paths: wire walker vs prost, split, concat, JSON, prost encode.
//! Run: `cargo bench -p pdata --features testdata`.

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pdata::{Batch, Request, Signal, json, scan, testdata};
use std::hint::black_box;

fn cases() -> Vec<(&'static str, Signal, Request)> {
    vec![
        (
            "traces_100",
            Signal::Traces,
            testdata::request(Signal::Traces, 2, 50, 1),
        ),
        (
            "logs_1000",
            Signal::Logs,
            testdata::request(Signal::Logs, 4, 250, 2),
        ),
        (
            "metrics_~250pts",
            Signal::Metrics,
            testdata::request(Signal::Metrics, 2, 50, 3),
        ),
    ]
}

fn benches(c: &mut Criterion) {
    for (name, signal, req) in cases() {
        let bytes = Bytes::from(req.encode_to_vec());
        let items = req.item_count();
        let json_bytes = json::encode(&req);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("validate_and_count", |b| {
            b.iter(|| scan::validate_and_count(signal, black_box(&bytes)))
        });
        g.bench_function("count_encoded", |b| {
            b.iter(|| scan::count_encoded(signal, black_box(&bytes)))
        });
        g.bench_function("prost_decode", |b| {
            b.iter(|| Request::decode(signal, black_box(&bytes)))
        });
        g.bench_function("prost_encode", |b| {
            b.iter(|| black_box(&req).encode_to_vec())
        });
        g.bench_function("split_encoded_by_10pct", |b| {
            b.iter(|| scan::split_encoded(signal, black_box(&bytes), items / 10))
        });
        let parts: Vec<Batch> = Batch::from_encoded(signal, bytes.clone())
            .map(|b| b.split(items / 10))
            .unwrap_or_default();
        g.bench_function("concat_10_parts", |b| {
            b.iter_batched(|| parts.clone(), Batch::concat, BatchSize::SmallInput)
        });
        // A batch a processor changed, sent by two exporters: both need the encoding.
        g.bench_function("decoded_batch_encoded_by_2_exporters", |b| {
            b.iter_batched_ref(
                || Batch::from_request(req.clone()),
                |batch| {
                    let second = batch.clone();
                    (batch.encoded(), second.encoded())
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("json_decode", |b| {
            b.iter(|| json::decode(signal, black_box(&json_bytes)))
        });
        g.bench_function("json_encode", |b| b.iter(|| json::encode(black_box(&req))));
        g.finish();
    }
}

criterion_group!(pdata_benches, benches);
criterion_main!(pdata_benches);
