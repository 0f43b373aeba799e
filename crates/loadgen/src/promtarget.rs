//! A Prometheus scrape target of a chosen size: `GET /metrics` answers the text exposition
//! format (0.0.4) with `series` samples, gzip-compressed when the scraper accepts it, as the Go
//! client library does. Counters, gauges and histograms in the proportions of a busy
//! application (60 % counters, 29 % gauges, the rest histogram samples), 100 label sets per
//! family (`service`, `endpoint`, `code`); every scrape moves every value, counters and
//! histogram buckets upwards. `GET /stats` answers how many scrapes were served and the
//! samples per scrape.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Label sets per metric family.
const PER_FAMILY: usize = 100;
/// Histogram bucket bounds; with `+Inf`, `_sum` and `_count` a histogram series is 11 samples.
const BOUNDS: [&str; 8] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1"];
const HISTOGRAM_SAMPLES: usize = BOUNDS.len() + 3;

/// How many series of each kind a target of `series` samples serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Layout {
    pub counters: usize,
    pub gauges: usize,
    /// Histogram series (each [`HISTOGRAM_SAMPLES`] samples).
    pub histograms: usize,
}

impl Layout {
    pub fn new(series: usize) -> Layout {
        let counters = series * 60 / 100;
        let gauges = series * 29 / 100;
        let histograms = (series - counters - gauges) / HISTOGRAM_SAMPLES;
        // Whatever the histograms leave over goes to the gauges, so the total is exact.
        let gauges = series - counters - histograms * HISTOGRAM_SAMPLES;
        Layout {
            counters,
            gauges,
            histograms,
        }
    }

    /// Samples in one scrape.
    pub fn samples(&self) -> usize {
        self.counters + self.gauges + self.histograms * HISTOGRAM_SAMPLES
    }
}

fn labels(out: &mut Vec<u8>, k: usize) {
    let _ = write!(
        out,
        "service=\"svc-{}\",endpoint=\"/api/v1/items/{}\",code=\"{}\"",
        k % 10,
        k,
        if k.is_multiple_of(20) { 500 } else { 200 }
    );
}

/// The exposition text of scrape number `scrape` (values grow with it).
pub fn render(layout: &Layout, scrape: u64, out: &mut Vec<u8>) {
    let family_header = |out: &mut Vec<u8>, name: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} Benchmark {kind} {name}.");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    let mut name = String::new();
    for i in 0..layout.counters {
        if i.is_multiple_of(PER_FAMILY) {
            name.clear();
            let _ = write!(name, "bench_requests_{}_total", i / PER_FAMILY);
            family_header(out, &name, "counter");
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'{');
        labels(out, i % PER_FAMILY);
        let _ = writeln!(out, "}} {}", 1000 + scrape * (i as u64 % 7 + 1));
    }
    for i in 0..layout.gauges {
        if i.is_multiple_of(PER_FAMILY) {
            name.clear();
            let _ = write!(name, "bench_inflight_{}", i / PER_FAMILY);
            family_header(out, &name, "gauge");
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'{');
        labels(out, i % PER_FAMILY);
        let _ = writeln!(out, "}} {}", (i as u64 * 31 + scrape * 17) % 1000);
    }
    for i in 0..layout.histograms {
        if i.is_multiple_of(PER_FAMILY) {
            name.clear();
            let _ = write!(name, "bench_duration_{}_seconds", i / PER_FAMILY);
            family_header(out, &name, "histogram");
        }
        let step = scrape * (i as u64 % 5 + 1);
        for (b, le) in BOUNDS.iter().enumerate() {
            let _ = write!(out, "{name}_bucket{{");
            labels(out, i % PER_FAMILY);
            let _ = writeln!(out, ",le=\"{le}\"}} {}", step * (b as u64 + 1));
        }
        let count = step * (BOUNDS.len() as u64 + 1);
        let _ = write!(out, "{name}_bucket{{");
        labels(out, i % PER_FAMILY);
        let _ = writeln!(out, ",le=\"+Inf\"}} {count}");
        let _ = write!(out, "{name}_sum{{");
        labels(out, i % PER_FAMILY);
        let _ = writeln!(out, "}} {}", count as f64 * 0.042);
        let _ = write!(out, "{name}_count{{");
        labels(out, i % PER_FAMILY);
        let _ = writeln!(out, "}} {count}");
    }
}

pub struct PromTarget {
    layout: Layout,
    gzip: bool,
    scrapes: AtomicU64,
}

impl PromTarget {
    pub fn new(series: usize, gzip: bool) -> PromTarget {
        PromTarget {
            layout: Layout::new(series),
            gzip,
            scrapes: AtomicU64::new(0),
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "scrapes": self.scrapes.load(Ordering::Relaxed),
            "samples_per_scrape": self.layout.samples(),
            "layout": self.layout,
        })
    }

    /// The body of the next scrape and whether it is gzip-compressed.
    fn scrape(&self, accepts_gzip: bool) -> (Vec<u8>, bool) {
        let n = self.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        let mut text = Vec::with_capacity(self.layout.samples() * 96);
        render(&self.layout, n, &mut text);
        if !(self.gzip && accepts_gzip) {
            return (text, false);
        }
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(text.len() / 8),
            flate2::Compression::fast(),
        );
        match enc.write_all(&text).and_then(|()| enc.finish()) {
            Ok(z) => (z, true),
            Err(_) => (text, false),
        }
    }
}

type Resp = http::Response<Full<Bytes>>;

use crate::server::{self, response as reply};

fn handle(t: &PromTarget, req: &http::Request<Incoming>) -> Resp {
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/metrics") => {
            let gz = req
                .headers()
                .get_all("accept-encoding")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
            let (body, gzipped) = t.scrape(gz);
            let mut r = reply(200, "text/plain; version=0.0.4; charset=utf-8", body);
            if gzipped {
                r.headers_mut()
                    .insert("content-encoding", http::HeaderValue::from_static("gzip"));
            }
            r
        }
        ("GET", "/stats") => reply(200, "application/json", t.stats().to_string()),
        (_, path) => reply(404, "text/plain", format!("404 page not found: {path}")),
    }
}

/// Serves it on `listener` (HTTP/1.1 and h2c) until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<PromTarget>, shutdown: watch::Receiver<bool>) {
    server::serve_http(
        listener,
        state,
        |t: Arc<PromTarget>, req| async move { handle(&t, &req) },
        shutdown,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_adds_up_to_the_requested_series() {
        for n in [100, 1_000, 12_345, 100_000] {
            let l = Layout::new(n);
            assert_eq!(l.samples(), n, "{l:?}");
            assert!(l.histograms > 0 || n < 100, "{l:?}");
        }
    }

    #[test]
    fn render_writes_one_line_per_sample_with_growing_counters() {
        let l = Layout::new(1_000);
        let mut a = Vec::new();
        render(&l, 1, &mut a);
        let samples = |t: &[u8]| {
            std::str::from_utf8(t)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let (k, v) = l.rsplit_once(' ').unwrap();
                    (k.to_string(), v.parse::<f64>().unwrap())
                })
                .collect::<Vec<_>>()
        };
        let first = samples(&a);
        assert_eq!(first.len(), 1_000);
        let mut b = Vec::new();
        render(&l, 2, &mut b);
        let second = samples(&b);
        for ((k1, v1), (k2, v2)) in first.iter().zip(&second) {
            assert_eq!(k1, k2);
            if k1.contains("_total{") || k1.contains("_bucket{") || k1.contains("_count{") {
                assert!(v2 > v1, "{k1}: {v1} -> {v2}");
            }
        }
        // Buckets are cumulative: each le at least the one before, +Inf equals _count.
        let text = std::str::from_utf8(&b).unwrap();
        let inf = text.lines().find(|l| l.contains("le=\"+Inf\"")).unwrap();
        let count_line = text
            .lines()
            .find(|l| l.contains("_seconds_count{"))
            .unwrap();
        assert_eq!(
            inf.rsplit_once(' ').unwrap().1,
            count_line.rsplit_once(' ').unwrap().1
        );
    }
}
