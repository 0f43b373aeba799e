//! `store`: ferrotel's embedded telemetry store. It owns keeping traces, logs and metrics on
//! one machine — a write-ahead log, compressed time-ordered blocks, retention by size and
//! by age with the oldest data evicted first — and answering the questions the query APIs
//! ask of it ([`query`]): a trace by id, span search, services and operations, log streams
//! by label matchers and time, metric series by label matchers and time, label names and
//! values, metadata, exemplars. It knows no query language and no HTTP: PromQL, LogQL and
//! TraceQL are evaluated over what these methods return, so a ClickHouse backend (the Go
//! `clickhouse` exporter's schema) can later answer the same methods.
//!
//! # Why a storage engine of our own
//! Telemetry is written once, in time order, read by time range and deleted oldest first.
//! Blocks of zstd-compressed, column-ordered pages do all of that with two dependencies the
//! collector already builds (zstd, the `spool` WAL): ingest is an append to the WAL and a
//! push onto the in-memory head; a head is sealed into a block when it reaches its size or
//! age; retention deletes whole block files. An embedded SQL or LSM engine (SQLite, DuckDB,
//! redb, tantivy) would cost far more to compile on a 2-core machine and store spans larger
//! than compressed columns do (measured in docs/performance.md, issue 11).
//!
//! # Durability
//! Every ingest is appended to the WAL before it is acknowledged; the write reaches the
//! page cache at once, so `kill -9` loses nothing, and the WAL is `fdatasync`ed every
//! `flush_interval`, so a power loss loses at most that. A block is written to a temporary
//! file, synced and renamed; its footer lists the WAL records it holds, so records that made
//! it into a block before a crash are not replayed twice. Damaged blocks are set aside and
//! damaged WAL records skipped, each reported; opening never fails on damaged data.

mod codec;
pub mod fuzzing;
pub mod logs;
pub mod lokiproto;
pub mod metrics;
pub mod query;
mod table;
#[cfg(test)]
mod tests;
pub mod traces;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::metrics::v1::metric::Data;
use promtranslate::prompb::WriteRequest;
use prost::Message;

pub use logs::{Labels, LogRow};
pub use metrics::{MetricMetadata, MetricRow, Sample};
pub use traces::{SpanRef, SpanRow};

use logs::Logs;
use metrics::Metrics;
use table::{Schema, Table, TableOptions};
use traces::Traces;

const TAG_TRACES: u8 = 1;
const TAG_LOGS: u8 = 2;
const TAG_METRICS: u8 = 3;
const TAG_REMOTE_WRITE: u8 = 4;
const TAG_LOKI_PUSH: u8 = 5;

/// How the store keeps data.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data directory; `None` keeps everything in memory (lost at exit).
    pub dir: Option<PathBuf>,
    /// Bytes of blocks and WAL (in memory: blocks and heads) the store keeps at most.
    pub max_bytes: u64,
    /// Data older than this is evicted (zero: no age limit).
    pub max_age: Duration,
    /// How often the WAL is synced to stable storage, and heads are checked for age.
    pub flush_interval: Duration,
    /// A head is sealed into a block when it is this old...
    pub block_age: Duration,
    /// ...or holds this many bytes (zero: a sixteenth of `max_bytes`, at most 64 MiB).
    pub head_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dir: None,
            max_bytes: 1 << 30,
            max_age: Duration::from_secs(7 * 24 * 3600),
            flush_interval: Duration::from_secs(1),
            block_age: Duration::from_secs(120),
            head_bytes: 0,
        }
    }
}

/// Counters the extension reports as self-metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub spans: AtomicU64,
    pub log_records: AtomicU64,
    pub samples: AtomicU64,
    pub evicted_blocks: AtomicU64,
    pub evicted_spans: AtomicU64,
    pub evicted_log_records: AtomicU64,
    pub evicted_samples: AtomicU64,
    /// Items refused at ingest (no trace id, no metric name, untranslatable points).
    pub invalid_items: AtomicU64,
    /// Items lost to damage found at open.
    pub lost_at_open: AtomicU64,
}

/// Sizes, for the UI and the self-metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub block_bytes: u64,
    pub head_bytes: u64,
    pub wal_bytes: u64,
    pub index_bytes: u64,
    pub blocks: u64,
}

struct Inner {
    opts: Options,
    head_bytes: usize,
    traces: Table<Traces>,
    logs: Table<Logs>,
    metrics: Table<Metrics>,
    wal: Option<Mutex<spool::Spool>>,
    wal_dirty: AtomicBool,
    seq: AtomicU64,
    metadata: RwLock<BTreeMap<String, MetricMetadata>>,
    stats: Stats,
    /// Shared with the maintenance thread, which holds the store only weakly between runs.
    stop: Arc<(Mutex<bool>, Condvar)>,
    /// Serialises sealing with retention.
    maintenance: Mutex<()>,
}

impl Usage {
    /// What the store holds against its size cap: blocks, and the unsealed data (its WAL on
    /// disk, the heads in memory).
    pub fn total(&self) -> u64 {
        self.block_bytes
            + if self.wal_bytes > 0 {
                self.wal_bytes
            } else {
                self.head_bytes
            }
    }
}

/// The store. Cloning shares it.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What opening found.
#[derive(Debug, Default)]
pub struct OpenReport {
    pub problems: Vec<String>,
    pub replayed_records: usize,
}

fn page_opts(head_bytes: usize) -> TableOptions {
    TableOptions {
        page_rows: 4096,
        page_bytes: 1 << 20,
        head_bytes,
        zstd_level: 3,
        page_cache_bytes: 64 << 20,
    }
}

impl Store {
    /// Opens (or creates) the store and replays its WAL. Starts the maintenance thread
    /// (WAL sync, sealing by age, retention), stopped by [`Store::close`] or when the last
    /// clone is dropped.
    pub fn open(opts: Options) -> std::io::Result<(Store, OpenReport)> {
        let head_bytes = if opts.head_bytes > 0 {
            opts.head_bytes
        } else {
            ((opts.max_bytes / 16) as usize).clamp(256 << 10, 64 << 20)
        };
        let mut report = OpenReport::default();
        let sub = |n: &str| opts.dir.as_ref().map(|d| d.join(n));
        // A trace's spans sit in one page per service it crosses, and a lookup decodes those
        // pages whole: smaller pages keep trace by id fast at the cost of a little
        // compression.
        let traces = Table::open(
            sub(Traces::NAME),
            TableOptions {
                page_rows: 1024,
                page_bytes: 256 << 10,
                ..page_opts(head_bytes)
            },
            &mut report.problems,
        )?;
        let logs = Table::open(sub(Logs::NAME), page_opts(head_bytes), &mut report.problems)?;
        let metrics = Table::open(
            sub(Metrics::NAME),
            page_opts(head_bytes),
            &mut report.problems,
        )?;
        let seq = traces.max_seq().max(logs.max_seq()).max(metrics.max_seq());
        let mut metadata = BTreeMap::new();
        if let Some(d) = &opts.dir
            && let Ok(b) = std::fs::read(d.join("metadata.json"))
            && let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(&b)
        {
            for (name, v) in m {
                let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                metadata.insert(
                    name,
                    MetricMetadata {
                        r#type: static_type(&s("type")),
                        help: s("help"),
                        unit: s("unit"),
                    },
                );
            }
        }
        let mut recovery = None;
        let wal = match &opts.dir {
            None => None,
            Some(d) => {
                let (sp, rec) = spool::Spool::open(
                    &d.join("wal"),
                    spool::Options {
                        fsync: false,
                        segment_bytes: wal_segment_bytes(head_bytes),
                    },
                )?;
                if rec.lost > 0 {
                    report.problems.extend(rec.problems.iter().cloned());
                }
                recovery = Some(rec);
                Some(Mutex::new(sp))
            }
        };
        let inner = Arc::new(Inner {
            opts,
            head_bytes,
            traces,
            logs,
            metrics,
            wal,
            wal_dirty: AtomicBool::new(false),
            seq: AtomicU64::new(seq),
            metadata: RwLock::new(metadata),
            stats: Stats::default(),
            stop: Arc::new((Mutex::new(false), Condvar::new())),
            maintenance: Mutex::new(()),
        });
        if let Some(rec) = recovery {
            inner
                .stats
                .lost_at_open
                .fetch_add(rec.lost, Ordering::Relaxed);
            let mut covered: Vec<u64> = inner.traces.covered_wal();
            covered.extend(inner.logs.covered_wal());
            covered.extend(inner.metrics.covered_wal());
            covered.sort_unstable();
            let mut release = Vec::new();
            for r in rec.records {
                if covered.binary_search(&r.index).is_ok() {
                    release.push(r.index);
                    continue;
                }
                if let Err(e) = inner.apply(r.tag, &r.payload, Some(r.index)) {
                    report.problems.push(format!(
                        "WAL record {} could not be read again: {e}",
                        r.index
                    ));
                    release.push(r.index);
                } else {
                    report.replayed_records += 1;
                }
            }
            if let Some(w) = &inner.wal {
                let _ = w
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .release(&release);
            }
        }
        let store = Store { inner };
        let weak = Arc::downgrade(&store.inner);
        let stop = store.inner.stop.clone();
        let interval = store
            .inner
            .opts
            .flush_interval
            .max(Duration::from_millis(10));
        std::thread::Builder::new()
            .name("store-maintenance".into())
            .spawn(move || maintenance_loop(weak, stop, interval))?;
        Ok((store, report))
    }

    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn usage(&self) -> Usage {
        let i = &self.inner;
        let blocks = (i.traces.block_list().len()
            + i.logs.block_list().len()
            + i.metrics.block_list().len()) as u64;
        Usage {
            block_bytes: i.traces.blocks_bytes() + i.logs.blocks_bytes() + i.metrics.blocks_bytes(),
            head_bytes: (i.traces.head_bytes() + i.logs.head_bytes() + i.metrics.head_bytes())
                as u64,
            wal_bytes: i.wal_disk_bytes(),
            index_bytes: (i.traces.meta_bytes() + i.logs.meta_bytes() + i.metrics.meta_bytes())
                as u64,
            blocks,
        }
    }

    /// Stores OTLP traces. `encoded` is the request's protobuf encoding (written to the WAL).
    pub fn ingest_traces(
        &self,
        req: &ExportTraceServiceRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        self.inner
            .ingest(TAG_TRACES, encoded, |i, w| i.apply_traces(req, w))
    }

    pub fn ingest_logs(
        &self,
        req: &ExportLogsServiceRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        self.inner
            .ingest(TAG_LOGS, encoded, |i, w| i.apply_logs(req, w))
    }

    pub fn ingest_metrics(
        &self,
        req: &ExportMetricsServiceRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        self.inner
            .ingest(TAG_METRICS, encoded, |i, w| i.apply_metrics(req, w))
    }

    /// Stores a remote-write request; `encoded` is its (uncompressed) protobuf encoding.
    pub fn ingest_remote_write(&self, req: &WriteRequest, encoded: &[u8]) -> std::io::Result<()> {
        self.inner.ingest(TAG_REMOTE_WRITE, encoded, |i, w| {
            i.apply_remote_write(req, w)
        })
    }

    /// Stores a Loki push request; `encoded` is its (uncompressed) protobuf encoding.
    pub fn ingest_loki_push(
        &self,
        req: &lokiproto::PushRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        self.inner
            .ingest(TAG_LOKI_PUSH, encoded, |i, w| i.apply_loki_push(req, w))
    }

    /// Seals every head into a block now (tests; shutdown).
    pub fn flush(&self) -> std::io::Result<()> {
        self.inner.seal_all(true)?;
        self.inner.sync_wal();
        Ok(())
    }

    /// Applies retention now (tests; the maintenance thread does it every flush interval).
    pub fn enforce_retention(&self) {
        self.inner.retention();
    }

    /// Stops the maintenance thread and syncs the WAL. Heads stay in the WAL, replayed at the
    /// next open (faster than sealing small blocks at every restart).
    pub fn close(&self) {
        self.inner.stop_maintenance();
        self.inner.sync_wal();
    }
}

/// WAL segments are deleted whole once every record in them is in a block, so a segment
/// is kept small next to the head: the WAL on disk stays near what the heads hold.
fn wal_segment_bytes(head_bytes: usize) -> u64 {
    (head_bytes as u64 / 4).clamp(64 << 10, 16 << 20)
}

/// How far the WAL may span before every head is sealed (see `Inner::seal_all`): a full head
/// and a segment. More means an older record, in another table's head, holds it; sealing
/// then keeps the WAL under two heads and a segment.
fn wal_span_bytes(head_bytes: usize) -> u64 {
    head_bytes as u64 + wal_segment_bytes(head_bytes)
}

fn static_type(s: &str) -> &'static str {
    match s {
        "counter" => "counter",
        "gauge" => "gauge",
        "histogram" => "histogram",
        "gaugehistogram" => "gaugehistogram",
        "summary" => "summary",
        "info" => "info",
        "stateset" => "stateset",
        _ => "unknown",
    }
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Inner {
    fn ingest(
        &self,
        tag: u8,
        encoded: &[u8],
        apply: impl FnOnce(&Inner, Option<u64>) -> bool,
    ) -> std::io::Result<()> {
        // Backpressure: with two heads' worth unsealed, a seal is running behind; wait for it
        // (it holds the maintenance lock) rather than let the WAL outgrow what retention
        // reserves for it.
        if self.unsealed_bytes() >= 2 * self.head_bytes {
            self.seal_all(false)?;
        }
        let index = match &self.wal {
            Some(w) => {
                let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                let i = w.append(&[(tag, encoded)])?;
                self.wal_dirty.store(true, Ordering::Relaxed);
                Some(i)
            }
            None => None,
        };
        if apply(self, index) {
            self.seal_all(false)?;
        }
        Ok(())
    }

    /// What the WAL's files take on disk (0 in memory).
    fn wal_disk_bytes(&self) -> u64 {
        self.wal.as_ref().map_or(0, |w| {
            w.lock().unwrap_or_else(|e| e.into_inner()).disk_bytes()
        })
    }

    fn unsealed_bytes(&self) -> usize {
        self.traces.head_bytes() + self.logs.head_bytes() + self.metrics.head_bytes()
    }

    fn apply(&self, tag: u8, payload: &[u8], wal: Option<u64>) -> Result<bool, String> {
        let e = |e: prost::DecodeError| e.to_string();
        Ok(match tag {
            TAG_TRACES => {
                self.apply_traces(&ExportTraceServiceRequest::decode(payload).map_err(e)?, wal)
            }
            TAG_LOGS => {
                self.apply_logs(&ExportLogsServiceRequest::decode(payload).map_err(e)?, wal)
            }
            TAG_METRICS => self.apply_metrics(
                &ExportMetricsServiceRequest::decode(payload).map_err(e)?,
                wal,
            ),
            TAG_REMOTE_WRITE => {
                self.apply_remote_write(&WriteRequest::decode(payload).map_err(e)?, wal)
            }
            TAG_LOKI_PUSH => {
                self.apply_loki_push(&lokiproto::PushRequest::decode(payload).map_err(e)?, wal)
            }
            t => return Err(format!("unknown record tag {t}")),
        })
    }

    fn apply_traces(&self, req: &ExportTraceServiceRequest, wal: Option<u64>) -> bool {
        let (rows, invalid) = traces::rows(req);
        self.stats
            .spans
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.stats
            .invalid_items
            .fetch_add(invalid as u64, Ordering::Relaxed);
        self.traces.append(rows, wal)
    }

    fn apply_logs(&self, req: &ExportLogsServiceRequest, wal: Option<u64>) -> bool {
        let rows = logs::rows(req);
        self.stats
            .log_records
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.logs.append(rows, wal)
    }

    fn apply_loki_push(&self, req: &lokiproto::PushRequest, wal: Option<u64>) -> bool {
        let (rows, invalid) = logs::rows_from_push(req);
        self.stats
            .log_records
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.stats
            .invalid_items
            .fetch_add(invalid as u64, Ordering::Relaxed);
        self.logs.append(rows, wal)
    }

    fn apply_metrics(&self, req: &ExportMetricsServiceRequest, wal: Option<u64>) -> bool {
        let settings = promtranslate::remotewrite::Settings {
            namer: promtranslate::naming::MetricNamer::new("", true),
            target_info: true,
            ..Default::default()
        };
        let t = promtranslate::remotewrite::from_metrics(req, &settings);
        self.stats
            .invalid_items
            .fetch_add(t.dropped_points as u64, Ordering::Relaxed);
        self.note_metadata(req, &settings.namer);
        let (rows, invalid) = metrics::rows(&t.series);
        self.stats
            .invalid_items
            .fetch_add(invalid as u64, Ordering::Relaxed);
        self.stats
            .samples
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.metrics.append(rows, wal)
    }

    fn apply_remote_write(&self, req: &WriteRequest, wal: Option<u64>) -> bool {
        let md = metrics::metadata_of(req);
        if !md.is_empty() {
            let mut m = self.metadata.write().unwrap_or_else(|e| e.into_inner());
            m.extend(md);
        }
        let (rows, invalid) = metrics::rows(&req.timeseries);
        self.stats
            .invalid_items
            .fetch_add(invalid as u64, Ordering::Relaxed);
        self.stats
            .samples
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.metrics.append(rows, wal)
    }

    /// Type, help and unit of OTLP metrics under their Prometheus names.
    fn note_metadata(
        &self,
        req: &ExportMetricsServiceRequest,
        namer: &promtranslate::naming::MetricNamer,
    ) {
        use promtranslate::naming::MetricType as T;
        let mut fresh = Vec::new();
        {
            let known = self.metadata.read().unwrap_or_else(|e| e.into_inner());
            for m in req
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
            {
                let (ty, prom) = match &m.data {
                    Some(Data::Gauge(_)) => (T::Gauge, "gauge"),
                    Some(Data::Sum(s)) if s.is_monotonic => (T::MonotonicCounter, "counter"),
                    Some(Data::Sum(_)) => (T::NonMonotonicCounter, "gauge"),
                    Some(Data::Histogram(_)) => (T::Histogram, "histogram"),
                    Some(Data::ExponentialHistogram(_)) => (T::ExponentialHistogram, "histogram"),
                    Some(Data::Summary(_)) => (T::Summary, "summary"),
                    None => continue,
                };
                let Ok(name) = namer.build(&m.name, &m.unit, ty) else {
                    continue;
                };
                let md = MetricMetadata {
                    r#type: prom,
                    help: m.description.clone(),
                    unit: promtranslate::naming::unit_name(&m.unit),
                };
                if known.get(&name) != Some(&md) {
                    fresh.push((name, md));
                }
            }
        }
        if !fresh.is_empty() {
            self.metadata
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .extend(fresh);
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Seals heads that are full (or, with `all`, every non-empty head; `age`: heads older
    /// than `block_age` too). Also every non-empty head once the WAL spans more than
    /// [`wal_span_bytes`]: the tables share one WAL and its segments go only once every record
    /// before them is in a block, so a head that fills slowly (span metrics derived from the
    /// traces, sealed by age after two minutes) would otherwise keep all the other tables'
    /// traffic of those minutes on disk, and retention would evict blocks to make room for it.
    ///
    /// A table whose seal fails keeps its rows (queryable, in the WAL); what the others
    /// sealed is still released before the error is returned.
    fn seal_all(&self, all: bool) -> std::io::Result<()> {
        let _m = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        let age = self.opts.block_age;
        let all = all || self.wal_disk_bytes() > wal_span_bytes(self.head_bytes);
        let due = |bytes: usize, a: Option<Duration>| {
            bytes > 0 && (all || bytes >= self.head_bytes || a.is_some_and(|a| a >= age))
        };
        let mut released = Vec::new();
        let mut sealed = false;
        let mut failed = None;
        let mut seal = |r: std::io::Result<Option<(Vec<u64>, u64)>>| match r {
            Ok(r) => {
                released.extend(r);
                sealed = true;
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        };
        if due(self.traces.head_bytes(), self.traces.head_age()) {
            seal(self.traces.seal(self.next_seq()));
        }
        if due(self.logs.head_bytes(), self.logs.head_age()) {
            seal(self.logs.seal(self.next_seq()));
        }
        if due(self.metrics.head_bytes(), self.metrics.head_age()) {
            seal(self.metrics.seal(self.next_seq()));
            self.save_metadata();
        }
        if let Some(w) = &self.wal {
            let idx: Vec<u64> = released
                .iter()
                .flat_map(|(w, _)| w.iter().copied())
                .collect();
            if !idx.is_empty() {
                let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = w.release(&idx) {
                    failed.get_or_insert(e);
                }
            }
        }
        drop(_m);
        if sealed {
            self.retention();
        }
        failed.map_or(Ok(()), Err)
    }

    fn save_metadata(&self) {
        let Some(d) = &self.opts.dir else { return };
        let m = self.metadata.read().unwrap_or_else(|e| e.into_inner());
        let obj: serde_json::Map<String, serde_json::Value> = m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::json!({"type": v.r#type, "help": v.help, "unit": v.unit}),
                )
            })
            .collect();
        let tmp = d.join("metadata.json.tmp");
        if std::fs::write(&tmp, serde_json::Value::Object(obj).to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, d.join("metadata.json"));
        }
    }

    fn sync_wal(&self) {
        if let Some(w) = &self.wal
            && self.wal_dirty.swap(false, Ordering::Relaxed)
        {
            let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = w.sync() {
                tracing::warn!(error = %e, "Could not sync the store's WAL");
            }
        }
    }

    /// Evicts blocks past `max_age`, then the oldest blocks (by their newest data) until
    /// blocks, heads and WAL fit in `max_bytes`.
    fn retention(&self) {
        let _m = self.maintenance.lock().unwrap_or_else(|e| e.into_inner());
        #[derive(Clone, Copy)]
        enum T {
            Traces,
            Logs,
            Metrics,
        }
        let mut all: Vec<(i64, u64, u64, T)> = Vec::new();
        for (t, list) in [
            (T::Traces, self.traces.block_list()),
            (T::Logs, self.logs.block_list()),
            (T::Metrics, self.metrics.block_list()),
        ] {
            for (seq, max_t, bytes) in list {
                // Metrics keep milliseconds; compare in nanoseconds.
                let max_ns = if matches!(t, T::Metrics) {
                    max_t.saturating_mul(1_000_000)
                } else {
                    max_t
                };
                all.push((max_ns, seq, bytes, t));
            }
        }
        all.sort_by_key(|a| (a.0, a.1));
        // What is not in blocks: on disk the WAL (its real size: the heads' records, the
        // records of a head being sealed, done records in a segment not yet deleted); in
        // memory the heads. Plus what can arrive before the next run: a head filling up and
        // the block of a head being sealed, written before its WAL records are released.
        let heads =
            (self.traces.head_bytes() + self.logs.head_bytes() + self.metrics.head_bytes()) as u64;
        let unsealed = if self.wal.is_some() {
            self.wal_disk_bytes()
        } else {
            heads
        };
        // Ingest waits once two heads are unsealed, so the WAL can grow by about two heads
        // and a segment before the next run, and a sealing head's block is on disk before
        // its WAL records are released: three heads and a segment. (A head larger than the
        // cap allows is the caller's choice: reserve at most a quarter of the cap.)
        let reserve = 3 * self.head_bytes as u64
            + if self.wal.is_some() {
                wal_segment_bytes(self.head_bytes)
            } else {
                0
            };
        let live = unsealed + reserve.min(self.opts.max_bytes / 4);
        let mut total: u64 = all.iter().map(|a| a.2).sum::<u64>() + live;
        let cutoff = if self.opts.max_age.is_zero() {
            i64::MIN
        } else {
            now_ns() - self.opts.max_age.as_nanos() as i64
        };
        for (max_ns, seq, bytes, t) in all {
            if max_ns >= cutoff && total <= self.opts.max_bytes {
                break;
            }
            let rows = match t {
                T::Traces => self.traces.evict(seq),
                T::Logs => self.logs.evict(seq),
                T::Metrics => self.metrics.evict(seq),
            };
            let counter = match t {
                T::Traces => &self.stats.evicted_spans,
                T::Logs => &self.stats.evicted_log_records,
                T::Metrics => &self.stats.evicted_samples,
            };
            counter.fetch_add(rows, Ordering::Relaxed);
            self.stats.evicted_blocks.fetch_add(1, Ordering::Relaxed);
            total -= bytes;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_maintenance();
    }
}

impl Inner {
    fn stop_maintenance(&self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
    }
}

fn maintenance_loop(
    weak: std::sync::Weak<Inner>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    interval: Duration,
) {
    loop {
        {
            let stopped = stop.0.lock().unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return;
            }
            let (stopped, _) = stop
                .1
                .wait_timeout(stopped, interval)
                .unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return;
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        inner.sync_wal();
        if let Err(e) = inner.seal_all(false) {
            tracing::warn!(error = %e, "Could not write a store block; its data stays in the WAL and is retried");
        }
        inner.retention();
    }
}
