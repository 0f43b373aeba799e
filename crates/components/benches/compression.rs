//! Compression of an 8192-span OTLP batch (what the batch processor hands the otlp exporter):
//! flate2 on zlib-rs at level 6 (what tonic does) vs libdeflate at levels 1 and 6 vs zstd at
//! levels 1 and 3, plus gzip and zstd decompression (the otlp receiver's HTTP path).
//! Throughput is of the uncompressed bytes; each case's ratio is printed once before it runs.
//! Run: `cargo bench -p ferrotel-components --bench compression`.

use std::hint::black_box;
use std::io::{Read, Write};

use components::compression::{Codec, compress, decompress};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pdata::{Signal, testdata};

fn flate2_gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::new(level),
    );
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn benches(c: &mut Criterion) {
    let data = testdata::request(Signal::Traces, 8, 1024, 1).encode_to_vec();
    let mut g = c.benchmark_group("compress_8192_spans");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    let ratio = |name: &str, n: usize| {
        eprintln!(
            "{name}: {} -> {n} bytes, ratio {:.2}",
            data.len(),
            data.len() as f64 / n as f64
        )
    };
    ratio("flate2_zlib-rs_gzip_6", flate2_gzip(&data, 6).len());
    g.bench_function("flate2_zlib-rs_gzip_6", |b| {
        b.iter(|| flate2_gzip(black_box(&data), 6))
    });
    for (name, codec, level) in [
        ("libdeflate_gzip_1", Codec::Gzip, 1),
        ("libdeflate_gzip_6", Codec::Gzip, 6),
        ("zstd_1", Codec::Zstd, 1),
        ("zstd_3", Codec::Zstd, 3),
    ] {
        ratio(name, compress(codec, Some(level), &data).unwrap().len());
        g.bench_function(name, |b| {
            b.iter(|| compress(codec, Some(level), black_box(&data)).unwrap())
        });
    }
    g.finish();

    let gz = flate2_gzip(&data, 6);
    let mut g = c.benchmark_group("decompress_8192_spans");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("flate2_zlib-rs_gunzip", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(data.len());
            flate2::read::MultiGzDecoder::new(black_box(&gz[..]))
                .read_to_end(&mut out)
                .unwrap();
            out
        })
    });
    g.bench_function("libdeflate_gunzip", |b| {
        b.iter(|| decompress(Codec::Gzip, black_box(&gz), 64 << 20).unwrap())
    });
    // zstd as a client's streaming encoder writes it (no content size in the frame header).
    let zs = zstd::encode_all(&data[..], 3).unwrap();
    g.bench_function("zstd_decompress", |b| {
        b.iter(|| decompress(Codec::Zstd, black_box(&zs), 64 << 20).unwrap())
    });
    // zstd as bulk compressors (ours too) write it: the frame header declares the size.
    let zs_sized = compress(Codec::Zstd, Some(3), &data).unwrap();
    g.bench_function("zstd_decompress_sized", |b| {
        b.iter(|| decompress(Codec::Zstd, black_box(&zs_sized), 64 << 20).unwrap())
    });
    g.finish();
}

criterion_group!(compression, benches);
criterion_main!(compression);
