//! The load generator: N connections x M requests in flight, fixed rate or as fast as
//! acknowledged, pre-encoded requests with fresh sequence numbers written in place.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use pdata::Signal;
use serde::Serialize;

use crate::client::{self, GrpcConn, HttpConn, Outcome};
use crate::compress::{Compression, Compressor};
use crate::template::{self, Template};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Grpc,
    Http,
}

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub signal: Signal,
    pub protocol: Protocol,
    pub endpoint: SocketAddr,
    pub compression: Compression,
    pub compression_level: Option<i32>,
    /// Items per second; 0 = as fast as acknowledged.
    pub rate: u64,
    pub connections: usize,
    pub in_flight: usize,
    pub items_per_request: usize,
    /// Stop after this long (checked before each request)...
    pub duration: Option<Duration>,
    /// ...or after this many items have been sent.
    pub count: Option<u64>,
    pub timeout: Duration,
    pub seq_start: u64,
    /// Distinct request templates cycled through.
    pub templates: usize,
    pub seed: u64,
    /// Where to write the sequence ranges that were refused or failed (JSON `[[start,end],..]`).
    pub unacked_file: Option<std::path::PathBuf>,
}

impl GenConfig {
    pub fn new(signal: Signal, protocol: Protocol, endpoint: SocketAddr) -> GenConfig {
        GenConfig {
            signal,
            protocol,
            endpoint,
            compression: Compression::None,
            compression_level: None,
            rate: 0,
            connections: 1,
            in_flight: 1,
            items_per_request: 100,
            duration: None,
            count: None,
            timeout: Duration::from_secs(10),
            seq_start: 0,
            templates: 16,
            seed: 1,
            unacked_file: None,
        }
    }
}

/// The generator's final report.
#[derive(Debug, Clone, Serialize)]
pub struct GenReport {
    pub signal: String,
    pub protocol: Protocol,
    pub compression: Compression,
    pub elapsed_s: f64,
    pub requests_sent: u64,
    pub sent: u64,
    pub acknowledged: u64,
    /// Items refused, by `grpc:<code>` / `http:<status>`.
    pub refused: BTreeMap<String, u64>,
    /// Items whose request got no answer, by error message.
    pub errors: BTreeMap<String, u64>,
    pub items_per_s: f64,
    pub offered_items_per_s: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub seq_start: u64,
    /// One past the last sequence number used (seqs `seq_start..seq_end` were sent).
    pub seq_end: u64,
    pub request_bytes_avg: u64,
}

struct SlotResult {
    requests: u64,
    sent: u64,
    acked: u64,
    bytes: u64,
    refused: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    unacked: Vec<(u64, u64)>,
}

struct Plan {
    templates: Vec<Template>,
    /// Sequence offset of each template within one cycle through all templates.
    prefix: Vec<u64>,
    cycle_items: u64,
}

impl Plan {
    /// Template and first sequence number of request `k` (dense: no gaps, no overlap).
    fn request(&self, seq_start: u64, k: u64) -> (&Template, u64) {
        let n = self.templates.len() as u64;
        let (cycle, i) = (k / n, (k % n) as usize);
        (
            &self.templates[i],
            seq_start + cycle * self.cycle_items + self.prefix[i],
        )
    }
}

fn short(e: &str) -> String {
    let e = e.trim();
    match e.char_indices().nth(80) {
        Some((i, _)) => e[..i].to_string(),
        None => e.to_string(),
    }
}

/// Runs the generator to completion and reports.
pub async fn run(cfg: GenConfig) -> anyhow::Result<GenReport> {
    anyhow::ensure!(
        cfg.endpoint.ip().is_loopback(),
        "only loopback targets are allowed, not {}",
        cfg.endpoint
    );
    anyhow::ensure!(
        cfg.duration.is_some() || cfg.count.is_some(),
        "give --duration or --count"
    );
    let templates =
        template::build_set(cfg.signal, cfg.items_per_request, cfg.templates, cfg.seed)?;
    let mut prefix = Vec::with_capacity(templates.len());
    let mut cycle_items = 0;
    for t in &templates {
        prefix.push(cycle_items);
        cycle_items += t.items();
    }
    let plan = Arc::new(Plan {
        templates,
        prefix,
        cycle_items,
    });
    let max_seq = cfg.seq_start
        + cfg
            .count
            .unwrap_or(u64::MAX / 2)
            .min(crate::seq::SEQ_MAX - cfg.seq_start);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = cfg.duration.map(|d| start + d);

    let grpc_conns = match cfg.protocol {
        Protocol::Grpc => {
            let mut v = Vec::with_capacity(cfg.connections);
            for _ in 0..cfg.connections.max(1) {
                v.push(GrpcConn::connect(cfg.endpoint).await?);
            }
            v
        }
        Protocol::Http => vec![],
    };

    let slots = cfg.connections.max(1) * cfg.in_flight.max(1);
    let mut tasks = Vec::with_capacity(slots);
    for slot in 0..slots {
        let cfg = cfg.clone();
        let plan = plan.clone();
        let next = next.clone();
        let grpc = grpc_conns.get(slot % grpc_conns.len().max(1)).cloned();
        tasks.push(tokio::spawn(async move {
            let mut http = HttpConn::new(cfg.endpoint);
            let compressor = Compressor::new(cfg.compression, cfg.compression_level)?;
            let mut scratch = Vec::new();
            let mut r = SlotResult {
                requests: 0,
                sent: 0,
                acked: 0,
                bytes: 0,
                refused: BTreeMap::new(),
                errors: BTreeMap::new(),
                latency: Histogram::new_with_bounds(1, 600_000_000, 3)?,
                unacked: Vec::new(),
            };
            let grpc_path = client::grpc_path(cfg.signal);
            let http_path = client::http_path(cfg.signal);
            let encoding = cfg.compression.encoding();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let (t, first) = plan.request(cfg.seq_start, k);
                if first >= max_seq {
                    break;
                }
                if cfg.rate > 0 {
                    let due = start
                        + Duration::from_secs_f64((first - cfg.seq_start) as f64 / cfg.rate as f64);
                    if deadline.is_some_and(|d| due >= d) {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                }
                let mut buf = Vec::with_capacity(t.bytes.len() + 5);
                if cfg.protocol == Protocol::Grpc {
                    client::begin_frame(&mut buf, cfg.compression != Compression::None);
                }
                if cfg.compression == Compression::None {
                    t.render_append(first, &mut buf);
                } else {
                    t.render(first, &mut scratch);
                    compressor.compress_append(&scratch, &mut buf)?;
                }
                if cfg.protocol == Protocol::Grpc {
                    client::finish_frame(&mut buf);
                }
                r.bytes += buf.len() as u64;
                let body = Bytes::from(buf);
                let items = t.items();
                let sent_at = Instant::now();
                let outcome = match &grpc {
                    Some(c) => c.call(grpc_path, body, encoding, cfg.timeout).await,
                    None => http.post(http_path, body, encoding, cfg.timeout).await,
                };
                let _ = r
                    .latency
                    .record(sent_at.elapsed().as_micros().max(1) as u64);
                r.requests += 1;
                r.sent += items;
                if outcome != Outcome::Ok {
                    r.unacked.push((first, first + items));
                }
                match outcome {
                    Outcome::Ok => r.acked += items,
                    Outcome::Refused(s) => *r.refused.entry(s).or_default() += items,
                    Outcome::Error(e) => *r.errors.entry(short(&e)).or_default() += items,
                }
            }
            Ok::<_, anyhow::Error>(r)
        }));
    }

    let mut total = SlotResult {
        requests: 0,
        sent: 0,
        acked: 0,
        bytes: 0,
        refused: BTreeMap::new(),
        errors: BTreeMap::new(),
        latency: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        unacked: Vec::new(),
    };
    for t in tasks {
        let r = t.await??;
        total.requests += r.requests;
        total.sent += r.sent;
        total.acked += r.acked;
        total.bytes += r.bytes;
        for (k, v) in r.refused {
            *total.refused.entry(k).or_default() += v;
        }
        for (k, v) in r.errors {
            *total.errors.entry(k).or_default() += v;
        }
        total.latency.add(&r.latency)?;
        total.unacked.extend(r.unacked);
    }
    if let Some(path) = &cfg.unacked_file {
        total.unacked.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(total.unacked.len());
        for (a, b) in total.unacked.drain(..) {
            match merged.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => merged.push((a, b)),
            }
        }
        std::fs::write(path, serde_json::to_vec(&merged)?)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Requests were numbered densely; the ones taken but never sent (stop checks) were the last.
    let seq_end = cfg.seq_start + total.sent;
    let ms = |q: f64| total.latency.value_at_quantile(q) as f64 / 1000.0;
    Ok(GenReport {
        signal: cfg.signal.to_string(),
        protocol: cfg.protocol,
        compression: cfg.compression,
        elapsed_s: elapsed,
        requests_sent: total.requests,
        sent: total.sent,
        acknowledged: total.acked,
        refused: total.refused,
        errors: total.errors,
        items_per_s: total.acked as f64 / elapsed.max(1e-9),
        offered_items_per_s: total.sent as f64 / elapsed.max(1e-9),
        latency_ms_p50: ms(0.5),
        latency_ms_p99: ms(0.99),
        latency_ms_max: total.latency.max() as f64 / 1000.0,
        seq_start: cfg.seq_start,
        seq_end,
        request_bytes_avg: total.bytes.checked_div(total.requests).unwrap_or(0),
    })
}
