//! Lines per second of the engine over a pre-written 100 MB file of 100-byte lines:
//! splitting alone (newline split + trim over memory), and a whole poll (read, split,
//! decode to `String`, batch to a sink that drops the tokens).

use std::io::Write;
use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fileconsumer::split::{FlushState, Splitter};
use fileconsumer::{Config, Emit, EmitError, Manager, ManagerOptions, Token};

const LINES: usize = 1_000_000;

fn content() -> Vec<u8> {
    let mut out = Vec::with_capacity(LINES * 100);
    for i in 0..LINES {
        // 99 bytes of text + newline
        write!(out, "2024-01-01T00:00:00.000Z stdout F line {i:010} ").unwrap();
        let pad = 99 - (out.len() % 100);
        out.extend(std::iter::repeat_n(b'x', pad));
        out.push(b'\n');
    }
    out
}

struct Drop;
impl Emit for Drop {
    fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError> {
        batch.clear();
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let data = content();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.log");
    std::fs::write(&path, &data).unwrap();
    let cfg: Config = serde_json::from_value(serde_json::json!({
        "include": [path.display().to_string()],
        "start_at": "beginning",
    }))
    .unwrap();

    let mut g = c.benchmark_group("fileconsumer_100MB_100B_lines");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LINES as u64));

    let splitter = Splitter::new(&cfg, fileconsumer::decode::Encoding::Utf8).unwrap();
    g.bench_function("split_only", |b| {
        b.iter(|| {
            let mut pos = 0;
            let mut n = 0usize;
            let mut fs = FlushState::new(SystemTime::now());
            let now = SystemTime::now();
            while let Some(f) = splitter.next(&data[pos..], true, &mut fs, now) {
                n += f.range.len();
                pos += f.advance;
            }
            n
        })
    });

    g.bench_function("poll_read_split_decode", |b| {
        b.iter(|| {
            let mut m = Manager::new(&cfg, Box::new(Drop), ManagerOptions::default()).unwrap();
            m.poll();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
