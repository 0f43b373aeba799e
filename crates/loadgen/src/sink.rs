//! The counting sink: accepts OTLP exports, counts items and `loadgen.seq` numbers (distinct,
//! duplicates, missing) without decoding, optionally slow or failing.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pdata::Signal;
use serde::Serialize;

use crate::seq::{self, SeqSet};
use crate::server::{Backend, BoxFuture, Refusal};

#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Wait this long before answering each request (after counting it).
    pub delay: Duration,
    /// Fraction of requests refused with UNAVAILABLE / 503 (not counted as received).
    pub fail_rate: f64,
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    items: u64,
    bytes: u64,
    seqs: u64,
    bad_seqs: u64,
    refused_requests: u64,
    refused_items: u64,
    last_item_at: Option<Instant>,
    set: SeqSet,
}

pub struct Sink {
    opts: SinkOptions,
    started: Instant,
    arrivals: AtomicU64,
    counts: Mutex<Counts>,
}

/// The sink's counters, as served on `GET /stats` and printed on exit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SinkStats {
    pub elapsed_s: f64,
    pub last_item_at_s: Option<f64>,
    pub requests: u64,
    pub items: u64,
    pub bytes: u64,
    /// `loadgen.seq` values seen (including duplicates).
    pub seqs: u64,
    pub distinct: u64,
    pub duplicates: u64,
    /// Items that carried no readable `loadgen.seq`.
    pub items_without_seq: u64,
    pub max_seq: Option<u64>,
    /// Numbers between 0 and `max_seq` never seen.
    pub missing_below_max: u64,
    pub refused_requests: u64,
    pub refused_items: u64,
}

impl Sink {
    pub fn new(opts: SinkOptions) -> Sink {
        Sink {
            opts,
            started: Instant::now(),
            arrivals: AtomicU64::new(0),
            counts: Mutex::default(),
        }
    }

    fn refuse_this_one(&self) -> bool {
        if self.opts.fail_rate <= 0.0 {
            return false;
        }
        // A deterministic, evenly spread choice: golden-ratio sequence over arrivals.
        let n = self.arrivals.fetch_add(1, Ordering::Relaxed);
        let x = (n as f64 * 0.618_033_988_749_895).fract();
        x < self.opts.fail_rate
    }

    /// Counts one export request body; refuses it when the fail rate says so.
    pub fn record(&self, signal: Signal, body: &[u8]) -> Result<(), Refusal> {
        let items = pdata::scan::count_encoded(signal, body)
            .map_err(|e| Refusal::bad_request(e.to_string()))? as u64;
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if self.refuse_this_one() {
            c.refused_requests += 1;
            c.refused_items += items;
            return Err(Refusal::unavailable("sink: simulated failure"));
        }
        c.requests += 1;
        c.items += items;
        c.bytes += body.len() as u64;
        if items > 0 {
            c.last_item_at = Some(Instant::now());
        }
        let Counts { set, seqs, .. } = &mut *c;
        let bad = seq::scan(body, |s| {
            *seqs += 1;
            set.insert(s);
        });
        c.bad_seqs += bad;
        Ok(())
    }

    pub fn snapshot(&self) -> SinkStats {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        SinkStats {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            last_item_at_s: c
                .last_item_at
                .map(|t| t.duration_since(self.started).as_secs_f64()),
            requests: c.requests,
            items: c.items,
            bytes: c.bytes,
            seqs: c.seqs,
            distinct: c.set.distinct(),
            duplicates: c.set.duplicates(),
            items_without_seq: c.items.saturating_sub(c.seqs),
            max_seq: c.set.max(),
            missing_below_max: c.set.holes_from(0),
            refused_requests: c.refused_requests,
            refused_items: c.refused_items,
        }
    }
}

impl Backend for Sink {
    fn export(self: Arc<Self>, signal: Signal, body: Bytes) -> BoxFuture<Result<(), Refusal>> {
        let result = self.record(signal, &body);
        let delay = self.opts.delay;
        Box::pin(async move {
            if result.is_ok() && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            result
        })
    }

    fn stats(&self) -> serde_json::Value {
        serde_json::to_value(self.snapshot()).unwrap_or_default()
    }
}
