//! The counting Prometheus remote-write receiver: answers `POST /api/v1/write` (a snappy block
//! holding a protobuf `prometheus.WriteRequest`, remote-write 1.0) with 204 like Prometheus,
//! and counts series, samples, histograms, exemplars and metadata by walking the bytes (no
//! message structs). Distinct series are remembered by a hash of their labels (bounded).
//! `GET /stats` answers the counts as JSON (`items` = samples + histogram samples).
//!
//! ```text
//! WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//! TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
//!                repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//! ```

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::MAX_BODY;
use crate::wire::{LEN, WireError, fields};

/// The remote-write path Prometheus and VictoriaMetrics serve.
pub const WRITE_PATH: &str = "/api/v1/write";
/// Distinct series remembered; past this the count stops growing (bounded memory).
pub const MAX_SERIES: usize = 2_000_000;

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    series: u64,
    samples: u64,
    histograms: u64,
    exemplars: u64,
    metadata: u64,
    body_bytes: u64,
    bad_requests: u64,
    first_item_at: Option<Instant>,
    last_item_at: Option<Instant>,
    distinct: HashSet<u64>,
}

/// Counters of the remote-write sink, as served on `GET /stats` and printed on exit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RwSinkStats {
    pub elapsed_s: f64,
    pub first_item_at_s: Option<f64>,
    pub last_item_at_s: Option<f64>,
    pub requests: u64,
    /// Samples plus native-histogram samples.
    pub items: u64,
    pub samples: u64,
    pub histograms: u64,
    pub exemplars: u64,
    pub metadata: u64,
    /// TimeSeries messages (a series in two requests counts twice).
    pub series: u64,
    /// Distinct label sets (at most [`MAX_SERIES`]).
    pub distinct_series: u64,
    pub body_bytes: u64,
    pub bad_requests: u64,
}

/// What one body held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub series: u64,
    pub samples: u64,
    pub histograms: u64,
    pub exemplars: u64,
    pub metadata: u64,
}

/// Walks a decoded (not snappy) `WriteRequest`; calls `on_series` with each series' labels
/// (the concatenated encoded `Label` messages).
pub fn walk_write(body: &[u8], mut on_series: impl FnMut(&[u8])) -> Result<WriteCounts, WireError> {
    let mut c = WriteCounts::default();
    let mut labels: Vec<u8> = Vec::new();
    fields(body, |field, wire, ts| {
        match (field, wire) {
            (1, LEN) => {
                c.series += 1;
                labels.clear();
                fields(ts, |field, wire, v| {
                    match (field, wire) {
                        (1, LEN) => labels.extend_from_slice(v),
                        (2, LEN) => c.samples += 1,
                        (3, LEN) => c.exemplars += 1,
                        (4, LEN) => c.histograms += 1,
                        (1..=4, _) => {
                            return Err(WireError(format!(
                                "TimeSeries field {field} is not length-delimited"
                            )));
                        }
                        _ => {}
                    }
                    Ok(())
                })?;
                on_series(&labels);
            }
            (3, LEN) => c.metadata += 1,
            (1 | 3, _) => {
                return Err(WireError(format!(
                    "WriteRequest field {field} is not length-delimited"
                )));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(c)
}

pub struct RwSink {
    started: Instant,
    counts: Mutex<Counts>,
}

impl Default for RwSink {
    fn default() -> Self {
        RwSink::new()
    }
}

impl RwSink {
    pub fn new() -> RwSink {
        RwSink {
            started: Instant::now(),
            counts: Mutex::default(),
        }
    }

    fn bad(&self, status: u16, msg: String) -> (u16, String) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .bad_requests += 1;
        (status, msg)
    }

    /// Counts one body as received; returns the HTTP status and message to answer with.
    pub fn record(
        &self,
        content_type: &str,
        content_encoding: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        let ct = content_type.split(';').next().unwrap_or("").trim();
        if ct != "application/x-protobuf" {
            return self.bad(
                415,
                format!("rw-sink: unsupported content type {content_type:?}"),
            );
        }
        if !matches!(content_encoding.map(str::trim), Some("snappy")) {
            return self.bad(
                400,
                format!("rw-sink: Content-Encoding {content_encoding:?}, want snappy"),
            );
        }
        match snap::raw::decompress_len(body) {
            Ok(n) if n <= MAX_BODY => {}
            Ok(n) => return self.bad(413, format!("rw-sink: decoded body of {n} bytes")),
            Err(e) => return self.bad(400, format!("rw-sink: snappy: {e}")),
        }
        let decoded = match snap::raw::Decoder::new().decompress_vec(body) {
            Ok(d) => d,
            Err(e) => return self.bad(400, format!("rw-sink: snappy: {e}")),
        };
        let mut hashes: Vec<u64> = Vec::new();
        let counts = match walk_write(&decoded, |labels| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            labels.hash(&mut h);
            hashes.push(h.finish());
        }) {
            Ok(c) => c,
            Err(e) => return self.bad(400, format!("rw-sink: protobuf: {e}")),
        };
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for h in hashes {
            if c.distinct.len() < MAX_SERIES {
                c.distinct.insert(h);
            }
        }
        c.requests += 1;
        c.series += counts.series;
        c.samples += counts.samples;
        c.histograms += counts.histograms;
        c.exemplars += counts.exemplars;
        c.metadata += counts.metadata;
        c.body_bytes += body.len() as u64;
        if counts.samples + counts.histograms > 0 {
            let now = Instant::now();
            c.first_item_at.get_or_insert(now);
            c.last_item_at = Some(now);
        }
        (204, String::new())
    }

    pub fn snapshot(&self) -> RwSinkStats {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let at = |t: Option<Instant>| t.map(|t| t.duration_since(self.started).as_secs_f64());
        RwSinkStats {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            first_item_at_s: at(c.first_item_at),
            last_item_at_s: at(c.last_item_at),
            requests: c.requests,
            items: c.samples + c.histograms,
            samples: c.samples,
            histograms: c.histograms,
            exemplars: c.exemplars,
            metadata: c.metadata,
            series: c.series,
            distinct_series: c.distinct.len() as u64,
            body_bytes: c.body_bytes,
            bad_requests: c.bad_requests,
        }
    }
}

type Resp = http::Response<Full<Bytes>>;

use crate::server::{self, response as reply};

async fn handle(sink: Arc<RwSink>, req: http::Request<Incoming>) -> Resp {
    let path = req.uri().path();
    match (req.method().as_str(), path) {
        ("GET", "/stats") => {
            let stats = serde_json::to_string(&sink.snapshot()).unwrap_or_default();
            reply(200, "application/json", stats)
        }
        ("POST", WRITE_PATH) => {
            let header = |n: &str| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let content_type = header("content-type").unwrap_or_default();
            let encoding = header("content-encoding");
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    let (s, m) = sink.bad(400, format!("rw-sink: reading body: {e}"));
                    return reply(s, "text/plain", m);
                }
            };
            let (status, msg) = sink.record(&content_type, encoding.as_deref(), &body);
            reply(status, "text/plain", msg)
        }
        (_, WRITE_PATH) => reply(405, "text/plain", "only POST is allowed"),
        _ => reply(404, "text/plain", format!("404 page not found: {path}")),
    }
}

/// Serves it on `listener` (HTTP/1.1 and h2c) until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<RwSink>, shutdown: watch::Receiver<bool>) {
    server::serve_http(listener, state, handle, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn len_field(out: &mut Vec<u8>, field: u64, payload: &[u8]) {
        put_varint(out, (field << 3) | LEN);
        put_varint(out, payload.len() as u64);
        out.extend_from_slice(payload);
    }

    /// A WriteRequest of `n` series with `k` samples each, by hand.
    fn request(n: usize, k: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for i in 0..n {
            let mut ts = Vec::new();
            let mut label = Vec::new();
            len_field(&mut label, 1, b"__name__");
            len_field(&mut label, 2, format!("m{i}").as_bytes());
            len_field(&mut ts, 1, &label);
            for j in 0..k {
                let mut sample = vec![0x09];
                sample.extend_from_slice(&(j as f64).to_le_bytes());
                sample.push(0x10);
                put_varint(&mut sample, 1_700_000_000_000 + j as u64);
                len_field(&mut ts, 2, &sample);
            }
            len_field(&mut body, 1, &ts);
        }
        body
    }

    #[test]
    fn counts_series_and_samples_of_a_snappy_body() {
        let sink = RwSink::new();
        let body = snap::raw::Encoder::new()
            .compress_vec(&request(3, 2))
            .unwrap();
        let (status, _) = sink.record("application/x-protobuf", Some("snappy"), &body);
        assert_eq!(status, 204);
        let s = sink.snapshot();
        assert_eq!((s.series, s.samples, s.distinct_series), (3, 6, 3));
        // The same series again are not new.
        sink.record("application/x-protobuf", Some("snappy"), &body);
        assert_eq!(sink.snapshot().distinct_series, 3);
        assert_eq!(sink.snapshot().samples, 12);
    }

    #[test]
    fn refuses_bodies_it_cannot_read_and_counts_nothing_of_them() {
        let sink = RwSink::new();
        let raw = request(1, 1);
        assert_eq!(sink.record("application/x-protobuf", None, &raw).0, 400);
        assert_eq!(sink.record("application/json", Some("snappy"), &raw).0, 415);
        let truncated = snap::raw::Encoder::new()
            .compress_vec(&raw[..raw.len() - 3])
            .unwrap();
        assert_eq!(
            sink.record("application/x-protobuf", Some("snappy"), &truncated)
                .0,
            400
        );
        let s = sink.snapshot();
        assert_eq!((s.samples, s.bad_requests), (0, 3));
    }
}
