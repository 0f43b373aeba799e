//! `tail_sampling` cost per span: batches of 1024 spans (8 resources, traces of a few
//! spans each) taken in and decided by four policies (status_code, latency, string attribute
//! with a regex, probabilistic 10%), one decision tick per batch, with memory bounded by
//! `num_traces`. At 50k spans/s a core must spend well under a second per 50k spans here.
//! Run: `cargo bench -p ferrotel-components --bench tail_sampling`.

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use components::processors::tail_sampling::{Config, Gates, TailSampler};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pdata::{Batch, Request, testdata};
use runtime::{ConsumeError, Consumer, Telemetry};

struct Drop;

#[async_trait]
impl Consumer for Drop {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        black_box(batch);
        Ok(())
    }
}

const CONFIG: &str = "decision_wait: 1s
num_traces: 50000
policies:
  - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
  - {name: slow, type: latency, latency: {threshold_ms: 500}}
  - {name: route, type: string_attribute, string_attribute: {key: http.route, values: ['^/api/v[0-9]+/orders'], enabled_regex_matching: true}}
  - {name: sample, type: probabilistic, probabilistic: {sampling_percentage: 10}}
";

fn benches(c: &mut Criterion) {
    let v = config::Value::from_yaml_str(CONFIG).expect("bench yaml");
    let cfg: Config = config::decode(&v, "processors::tail_sampling").expect("bench config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let template = testdata::traces(8, 128, 1);
    let spans: usize = template
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let tel = Telemetry::default();
    let ts = TailSampler::new(
        &cfg,
        &config::ComponentId::new("tail_sampling"),
        &tel,
        Arc::new(Drop),
        Gates::default(),
    )
    .expect("sampler");
    let mut g = c.benchmark_group("tail_sampling");
    g.throughput(Throughput::Elements(spans as u64));
    let mut round = 0u64;
    g.bench_function("consume_and_decide_4_policies", |b| {
        b.iter_batched(
            || {
                // New trace ids every round (outside the measurement), as a live stream has.
                round += 1;
                let mut req = template.clone();
                for s in req
                    .resource_spans
                    .iter_mut()
                    .flat_map(|r| r.scope_spans.iter_mut())
                    .flat_map(|ss| ss.spans.iter_mut())
                {
                    s.trace_id[..8].copy_from_slice(&round.to_be_bytes());
                }
                Batch::from_request(Request::Traces(req))
            },
            |batch| {
                rt.block_on(async {
                    ts.consume(batch).await.unwrap();
                    ts.tick().await;
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    let on_memory = tel
        .value(
            "otelcol_processor_tail_sampling_sampling_traces_on_memory",
            &[],
        )
        .unwrap_or(0.0);
    assert!(on_memory <= 50_000.0, "{on_memory} traces in memory");
}

criterion_group!(tail, benches);
criterion_main!(tail);
