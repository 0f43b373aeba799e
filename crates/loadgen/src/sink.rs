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

    fn control(&self, path: &str, body: &[u8]) -> Option<Result<serde_json::Value, String>> {
        (path == "/lost").then(|| {
            let q: LostQuery =
                serde_json::from_slice(body).map_err(|e| format!("bad /lost query: {e}"))?;
            serde_json::to_value(self.lost(&q)).map_err(|e| e.to_string())
        })
    }
}

/// `POST /lost`: which of the items a generator sent (`start..end`) never arrived, split by
/// whether the generator got an acknowledgement for them (`unacked`: its refused or failed
/// ranges, as written by `gen --unacked-file`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LostQuery {
    pub start: u64,
    pub end: u64,
    #[serde(default)]
    pub unacked: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LostAnswer {
    /// Acknowledged to the sender but never delivered: silent loss.
    pub lost_acked: u64,
    /// Refused or failed at the sender and indeed not delivered.
    pub missing_unacked: u64,
    /// Refused or failed at the sender but delivered anyway (e.g. answered after a timeout).
    pub delivered_unacked: u64,
}

impl Sink {
    pub fn lost(&self, q: &LostQuery) -> LostAnswer {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let missing_all = c.set.missing_in(q.start, q.end);
        let (mut missing_unacked, mut unacked_items) = (0, 0);
        for &(a, b) in &q.unacked {
            let (a, b) = (a.max(q.start), b.min(q.end));
            if a < b {
                missing_unacked += c.set.missing_in(a, b);
                unacked_items += b - a;
            }
        }
        LostAnswer {
            lost_acked: missing_all - missing_unacked,
            missing_unacked,
            delivered_unacked: unacked_items - missing_unacked,
        }
    }
}
