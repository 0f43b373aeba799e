//! The counting Loki sink: answers `POST /loki/api/v1/push` with 204 like Loki, counts streams,
//! entries and line bytes by walking the snappy-decoded protobuf (no message structs), and the
//! generator's `seq=<n>` numbers per line (distinct, duplicates, holes). `GET /stats` answers
//! the counts as JSON, in the shape of the OTLP sink's (`items` = entries).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::compress;
use crate::loki::{self, PUSH_PATH};
use crate::seq::SeqSet;
use crate::server::MAX_BODY;

/// Distinct label sets remembered; past this the count stops growing (bounded memory).
pub const MAX_LABEL_SETS: usize = 100_000;

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    entries: u64,
    line_bytes: u64,
    body_bytes: u64,
    streams: u64,
    seqs: u64,
    bad_requests: u64,
    first_item_at: Option<Instant>,
    last_item_at: Option<Instant>,
    label_sets: HashSet<Box<[u8]>>,
    tenants: HashSet<String>,
    set: SeqSet,
}

/// Counters of the Loki sink, as served on `GET /stats` and printed on exit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LokiSinkStats {
    pub elapsed_s: f64,
    pub first_item_at_s: Option<f64>,
    pub last_item_at_s: Option<f64>,
    /// Push requests accepted.
    pub requests: u64,
    /// Entries (log lines) accepted.
    pub items: u64,
    /// Bytes of the entries' lines.
    pub bytes: u64,
    /// Bytes of the request bodies as received (snappy-compressed).
    pub body_bytes: u64,
    /// Stream messages (a stream sent in two requests counts twice).
    pub streams: u64,
    /// Distinct label strings seen (at most [`MAX_LABEL_SETS`]).
    pub label_sets: u64,
    /// `X-Scope-OrgID` values seen (empty string: no header).
    pub tenants: Vec<String>,
    /// Lines carrying a readable `seq=<n>`.
    pub seqs: u64,
    pub distinct: u64,
    pub duplicates: u64,
    pub items_without_seq: u64,
    pub max_seq: Option<u64>,
    pub missing_below_max: u64,
    /// Requests answered 4xx (unreadable body, wrong content type).
    pub bad_requests: u64,
}

pub struct LokiSink {
    started: Instant,
    counts: Mutex<Counts>,
}

impl Default for LokiSink {
    fn default() -> Self {
        LokiSink::new()
    }
}

impl LokiSink {
    pub fn new() -> LokiSink {
        LokiSink {
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

    /// Counts one push body as received (snappy block, optionally wrapped in a
    /// `Content-Encoding`); returns the HTTP status and message to answer with.
    pub fn record(
        &self,
        content_type: &str,
        content_encoding: Option<&str>,
        tenant: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        let ct = content_type.split(';').next().unwrap_or("").trim();
        if ct != "application/x-protobuf" {
            return self.bad(
                415,
                format!("loki-sink: unsupported content type {content_type:?} (protobuf only)"),
            );
        }
        let unwrapped;
        let snappy = match content_encoding.map(str::trim) {
            None | Some("") | Some("identity") => body,
            enc => match compress::decompress(enc, body, MAX_BODY as u64) {
                Ok(b) => {
                    unwrapped = b;
                    &unwrapped[..]
                }
                Err(e) => return self.bad(400, format!("loki-sink: decompressing body: {e}")),
            },
        };
        match snap::raw::decompress_len(snappy) {
            Ok(n) if n <= MAX_BODY => {}
            Ok(n) => {
                return self.bad(
                    413,
                    format!("loki-sink: decoded body of {n} bytes exceeds {MAX_BODY}"),
                );
            }
            Err(e) => return self.bad(400, format!("loki-sink: snappy: {e}")),
        }
        let decoded = match snap::raw::Decoder::new().decompress_vec(snappy) {
            Ok(d) => d,
            Err(e) => return self.bad(400, format!("loki-sink: snappy: {e}")),
        };
        // Walk without the lock into local lists, so that a bad body counts nothing.
        let mut labels: Vec<&[u8]> = Vec::new();
        let mut seqs: Vec<u64> = Vec::new();
        let counts = match loki::walk_push(
            &decoded,
            |l| labels.push(l),
            |line| seqs.extend(loki::line_seq(line)),
        ) {
            Ok(c) => c,
            Err(e) => return self.bad(400, format!("loki-sink: protobuf: {e}")),
        };
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for l in labels {
            if c.label_sets.len() < MAX_LABEL_SETS && !c.label_sets.contains(l) {
                c.label_sets.insert(l.into());
            }
        }
        c.seqs += seqs.len() as u64;
        for s in seqs {
            c.set.insert(s);
        }
        c.requests += 1;
        c.entries += counts.entries;
        c.line_bytes += counts.line_bytes;
        c.streams += counts.streams;
        c.body_bytes += body.len() as u64;
        let tenant = tenant.unwrap_or("");
        if c.tenants.len() < 64 && !c.tenants.contains(tenant) {
            c.tenants.insert(tenant.to_string());
        }
        if counts.entries > 0 {
            let now = Instant::now();
            c.first_item_at.get_or_insert(now);
            c.last_item_at = Some(now);
        }
        (204, String::new())
    }

    pub fn snapshot(&self) -> LokiSinkStats {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let at = |t: Option<Instant>| t.map(|t| t.duration_since(self.started).as_secs_f64());
        let mut tenants: Vec<String> = c.tenants.iter().cloned().collect();
        tenants.sort();
        LokiSinkStats {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            first_item_at_s: at(c.first_item_at),
            last_item_at_s: at(c.last_item_at),
            requests: c.requests,
            items: c.entries,
            bytes: c.line_bytes,
            body_bytes: c.body_bytes,
            streams: c.streams,
            label_sets: c.label_sets.len() as u64,
            tenants,
            seqs: c.seqs,
            distinct: c.set.distinct(),
            duplicates: c.set.duplicates(),
            items_without_seq: c.entries.saturating_sub(c.seqs),
            max_seq: c.set.max(),
            missing_below_max: c.set.holes_from(0),
            bad_requests: c.bad_requests,
        }
    }
}

type Resp = http::Response<Full<Bytes>>;

use crate::server::{self, response as reply};

fn header<'a>(req: &'a http::Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(sink: Arc<LokiSink>, req: http::Request<Incoming>) -> Resp {
    let path = req.uri().path();
    match (req.method().as_str(), path) {
        ("GET", "/stats") => {
            let stats = serde_json::to_string(&sink.snapshot()).unwrap_or_default();
            reply(200, "application/json", stats)
        }
        ("GET", "/ready") => reply(200, "text/plain", "ready\n"),
        ("POST", PUSH_PATH) => {
            let content_type = header(&req, "content-type").unwrap_or("").to_string();
            let encoding = header(&req, "content-encoding").map(str::to_string);
            let tenant = header(&req, "x-scope-orgid").map(str::to_string);
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    let (s, m) = sink.bad(400, format!("loki-sink: reading body: {e}"));
                    return reply(s, "text/plain", m);
                }
            };
            let (status, msg) =
                sink.record(&content_type, encoding.as_deref(), tenant.as_deref(), &body);
            reply(status, "text/plain", msg)
        }
        (_, PUSH_PATH) => reply(405, "text/plain", "only POST is allowed"),
        _ => reply(404, "text/plain", format!("404 page not found: {path}")),
    }
}

/// Serves it on `listener` (HTTP/1.1 and h2c) until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<LokiSink>, shutdown: watch::Receiver<bool>) {
    server::serve_http(listener, state, handle, shutdown).await
}
