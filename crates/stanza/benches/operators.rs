//! Per-line cost of the operators of shared/configs/seed-agent-filelog.yaml (router,
//! containerd regex with timestamp, path regex with cache, moves, add) on 100-byte containerd
//! lines, with and without the conversion to OTLP. The operators are read from the seed
//! config itself, so the bench follows it. Run: `cargo bench -p stanza --bench operators`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stanza::{Entry, OperatorConfig, Pipeline, convert};

// The ferrotel binary's allocator: allocation is a good part of this path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: &str = "../../../shared/configs/seed-agent-filelog.yaml";
const PATH: &str = "/var/log/pods/default_web-7f9c_0123abcd-0000-1111-2222-333344445555/web/0.log";

fn seed_operators() -> Vec<OperatorConfig> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(SEED);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (shared/ lies beside the repository)",
            file.display()
        )
    });
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("seed config is YAML");
    let ops = &doc["receivers"]["filelog"]["operators"];
    let ops = serde_yaml_ng::to_string(ops).expect("operators re-serialise");
    OperatorConfig::list_from_yaml(&ops).expect("seed operators decode")
}

fn lines() -> Vec<String> {
    (0..1000)
        .map(|i| {
            format!(
                "2024-05-06T07:08:{:02}.{:03}Z stdout F GET /api/v1/items/{i} 200 12ms user=alice trace_id=0af7651916cd43dd8448eb211c80319c",
                i % 60,
                i % 1000
            )
        })
        .collect()
}

fn entries(lines: &[String]) -> Vec<Entry> {
    lines
        .iter()
        .map(|l| {
            let mut e = Entry::with_body(l.as_str(), 1);
            e.attributes.insert("log.file.path", PATH.into());
            e
        })
        .collect()
}

fn seed_agent(c: &mut Criterion) {
    let cfgs = seed_operators();
    let lines = lines();
    let mut g = c.benchmark_group("seed-agent-filelog operators, 1000 lines");
    g.throughput(Throughput::Elements(lines.len() as u64));
    let mut p = Pipeline::build(&cfgs).expect("pipeline builds");
    g.bench_function("operators", |b| {
        b.iter_batched(
            || entries(&lines),
            |batch| {
                let mut out = Vec::with_capacity(batch.len());
                p.process_batch(batch, &mut |e| out.push(e));
                black_box(out)
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("operators + OTLP conversion", |b| {
        b.iter_batched(
            || entries(&lines),
            |batch| {
                let mut out = Vec::with_capacity(batch.len());
                p.process_batch(batch, &mut |e| out.push(e));
                black_box(convert::to_request(out))
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, seed_agent);
criterion_main!(benches);
