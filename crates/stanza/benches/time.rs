//! Per-line cost of the two timestamp layouts the seed configs parse on every log line.

use criterion::{Criterion, criterion_group, criterion_main};
use stanza::time::TimeParser;
use std::hint::black_box;

fn seeds(c: &mut Criterion) {
    let strptime =
        TimeParser::new("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None).expect("valid layout");
    c.bench_function("strptime %Y-%m-%dT%H:%M:%S.%LZ", |b| {
        b.iter(|| strptime.parse_str(black_box("2024-05-06T07:08:09.123Z")))
    });
    let gotime = TimeParser::new("gotime", "2006-01-02T15:04:05.999999999Z07:00", None)
        .expect("valid layout");
    c.bench_function("gotime RFC3339Nano Z", |b| {
        b.iter(|| gotime.parse_str(black_box("2024-05-06T07:08:09.123456789Z")))
    });
    c.bench_function("gotime RFC3339Nano +02:00", |b| {
        b.iter(|| gotime.parse_str(black_box("2024-05-06T07:08:09.123456789+02:00")))
    });
}

criterion_group!(benches, seeds);
criterion_main!(benches);
