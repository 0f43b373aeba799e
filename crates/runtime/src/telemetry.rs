//! The collector's own metrics, exposed as Prometheus text with the Go collector's names
//! (`otelcol_receiver_accepted_spans`, no `_total` or unit suffixes, as its default reader).
//!
//! Written by hand rather than with a metrics crate: the names must match the Go collector
//! exactly (prometheus-client appends `_total`), and the hot path needs plain atomic handles
//! resolved once per component, not a label lookup per call.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pdata::Signal;

type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn add(&self, v: i64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct Histogram(Arc<HistogramInner>);

struct HistogramInner {
    bounds: Vec<f64>,
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_bits: AtomicU64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Histogram(Arc::new(HistogramInner {
            bounds: bounds.to_vec(),
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_bits: AtomicU64::new(0f64.to_bits()),
        }))
    }

    pub fn record(&self, v: f64) {
        let i = self
            .0
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.0.bounds.len());
        self.0.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.0.count.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .0
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + v).to_bits())
            });
    }

    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.0.sum_bits.load(Ordering::Relaxed))
    }
}

enum Series {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
    Func(Box<dyn Fn() -> f64 + Send + Sync>),
}

struct Family {
    help: &'static str,
    kind: &'static str,
    series: Vec<(Labels, Series)>,
}

/// One series' value at a [`Telemetry::snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A registry of self-metrics. Cheap to clone; handles are resolved once.
#[derive(Clone)]
pub struct Telemetry {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
    /// `none` | `basic` | `normal` | `detailed`
    pub level: Arc<str>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new("normal")
    }
}

impl Telemetry {
    pub fn new(level: &str) -> Self {
        Telemetry {
            families: Arc::default(),
            level: Arc::from(level),
        }
    }

    fn get_or_insert(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        labels: &[(&'static str, &str)],
        make: impl FnOnce() -> Series,
        existing: impl Fn(&Series) -> Option<Series>,
    ) -> Series {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let mut fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let fam = fams.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: Vec::new(),
        });
        if let Some((_, s)) = fam.series.iter().find(|(l, _)| *l == labels)
            && let Some(s) = existing(s)
        {
            return s;
        }
        let s = make();
        let handle = existing(&s).expect("made series has the requested kind");
        fam.series.push((labels, s));
        handle
    }

    /// A counter; the same name and labels give the same counter.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Counter {
        match self.get_or_insert(
            name,
            help,
            "counter",
            labels,
            || Series::Counter(Counter::default()),
            |s| match s {
                Series::Counter(c) => Some(Series::Counter(c.clone())),
                _ => None,
            },
        ) {
            Series::Counter(c) => c,
            _ => unreachable!(),
        }
    }

    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Gauge {
        match self.get_or_insert(
            name,
            help,
            "gauge",
            labels,
            || Series::Gauge(Gauge::default()),
            |s| match s {
                Series::Gauge(g) => Some(Series::Gauge(g.clone())),
                _ => None,
            },
        ) {
            Series::Gauge(g) => g,
            _ => unreachable!(),
        }
    }

    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        bounds: &[f64],
    ) -> Histogram {
        match self.get_or_insert(
            name,
            help,
            "histogram",
            labels,
            || Series::Histogram(Histogram::new(bounds)),
            |s| match s {
                Series::Histogram(h) => Some(Series::Histogram(h.clone())),
                _ => None,
            },
        ) {
            Series::Histogram(h) => h,
            _ => unreachable!(),
        }
    }

    /// A value computed when scraped (`kind` is `counter` or `gauge`).
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) {
        let mut fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let fam = fams.entry(name).or_insert_with(|| Family {
            help,
            kind,
            series: Vec::new(),
        });
        fam.series.clear();
        fam.series.push((Vec::new(), Series::Func(Box::new(f))));
    }

    /// Current value of a counter or gauge series, for tests and the UI.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let fam = fams.get(name)?;
        fam.series.iter().find_map(|(l, s)| {
            let matches = labels
                .iter()
                .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v));
            if !matches {
                return None;
            }
            Some(match s {
                Series::Counter(c) => c.get() as f64,
                Series::Gauge(g) => g.get() as f64,
                Series::Histogram(h) => h.count() as f64,
                Series::Func(f) => f(),
            })
        })
    }

    /// Every series' current value, in name order: counters and gauges as they are, and
    /// histograms as two counter series `<name>_count` and `<name>_sum` (what a page needs to
    /// compute rates and averages from two snapshots).
    pub fn snapshot(&self) -> Vec<Sample> {
        let fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (name, fam) in fams.iter() {
            for (labels, s) in &fam.series {
                let mut push = |name: String, kind: &'static str, value: f64| {
                    out.push(Sample {
                        name,
                        kind,
                        labels: labels.clone(),
                        value,
                    })
                };
                match s {
                    Series::Counter(c) => push(name.to_string(), fam.kind, c.get() as f64),
                    Series::Gauge(g) => push(name.to_string(), fam.kind, g.get() as f64),
                    Series::Func(f) => push(name.to_string(), fam.kind, f()),
                    Series::Histogram(h) => {
                        push(format!("{name}_count"), "counter", h.count() as f64);
                        push(format!("{name}_sum"), "counter", h.sum());
                    }
                }
            }
        }
        out
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::with_capacity(4096);
        for (name, fam) in fams.iter() {
            if fam.series.is_empty() {
                continue;
            }
            let _ = writeln!(out, "# HELP {name} {}", fam.help);
            let _ = writeln!(out, "# TYPE {name} {}", fam.kind);
            for (labels, s) in &fam.series {
                match s {
                    Series::Counter(c) => line(&mut out, name, "", labels, None, c.get() as f64),
                    Series::Gauge(g) => line(&mut out, name, "", labels, None, g.get() as f64),
                    Series::Func(f) => line(&mut out, name, "", labels, None, f()),
                    Series::Histogram(h) => {
                        let mut cum = 0u64;
                        for (i, b) in h.0.buckets.iter().enumerate() {
                            cum += b.load(Ordering::Relaxed);
                            let le =
                                h.0.bounds
                                    .get(i)
                                    .map(|v| fmt_f64(*v))
                                    .unwrap_or_else(|| "+Inf".into());
                            line(&mut out, name, "_bucket", labels, Some(&le), cum as f64);
                        }
                        line(&mut out, name, "_sum", labels, None, h.sum());
                        line(&mut out, name, "_count", labels, None, h.count() as f64);
                    }
                }
            }
        }
        out
    }
}

fn fmt_f64(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn line(out: &mut String, name: &str, suffix: &str, labels: &Labels, le: Option<&str>, v: f64) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (k, val) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{k}=\"{}\"", escape_label(val));
        }
        if let Some(le) = le {
            if !first {
                out.push(',');
            }
            let _ = write!(out, "le=\"{le}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", fmt_f64(v));
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Index into the per-signal arrays of the three stable signals; profiles have their own.
fn signal_index(s: Signal) -> Option<usize> {
    match s {
        Signal::Traces => Some(0),
        Signal::Metrics => Some(1),
        Signal::Logs => Some(2),
        Signal::Profiles => None,
    }
}

const RECEIVER_ACCEPTED: [&str; 3] = [
    "otelcol_receiver_accepted_spans",
    "otelcol_receiver_accepted_metric_points",
    "otelcol_receiver_accepted_log_records",
];
const RECEIVER_REFUSED: [&str; 3] = [
    "otelcol_receiver_refused_spans",
    "otelcol_receiver_refused_metric_points",
    "otelcol_receiver_refused_log_records",
];

/// `otelcol_receiver_{accepted,refused}_*{receiver, transport}` for one receiver and transport.
/// The profiles pair (`…_profile_samples`) is registered on first use, so that receivers that
/// never see profiles do not export them.
#[derive(Clone)]
pub struct ReceiverMetrics {
    accepted: [Counter; 3],
    refused: [Counter; 3],
    profiles: Arc<std::sync::OnceLock<[Counter; 2]>>,
    tel: Telemetry,
    receiver: Arc<str>,
    transport: Arc<str>,
}

impl ReceiverMetrics {
    pub fn new(tel: &Telemetry, receiver: &str, transport: &str) -> Self {
        let labels = [("receiver", receiver), ("transport", transport)];
        let mk = |names: &[&'static str; 3], help| {
            [0, 1, 2].map(|i| tel.counter(names[i], help, &labels))
        };
        ReceiverMetrics {
            accepted: mk(
                &RECEIVER_ACCEPTED,
                "Number of items successfully pushed into the pipeline.",
            ),
            refused: mk(
                &RECEIVER_REFUSED,
                "Number of items that could not be pushed into the pipeline.",
            ),
            profiles: Arc::default(),
            tel: tel.clone(),
            receiver: receiver.into(),
            transport: transport.into(),
        }
    }
    fn profiles(&self) -> &[Counter; 2] {
        self.profiles.get_or_init(|| {
            let labels = [
                ("receiver", &*self.receiver),
                ("transport", &*self.transport),
            ];
            [
                self.tel.counter(
                    "otelcol_receiver_accepted_profile_samples",
                    "Number of profile samples successfully pushed into the pipeline.",
                    &labels,
                ),
                self.tel.counter(
                    "otelcol_receiver_refused_profile_samples",
                    "Number of profile samples that could not be pushed into the pipeline.",
                    &labels,
                ),
            ]
        })
    }
    pub fn accepted(&self, signal: Signal, n: usize) {
        match signal_index(signal) {
            Some(i) => self.accepted[i].add(n as u64),
            None => self.profiles()[0].add(n as u64),
        }
    }
    pub fn refused(&self, signal: Signal, n: usize) {
        match signal_index(signal) {
            Some(i) => self.refused[i].add(n as u64),
            None => self.profiles()[1].add(n as u64),
        }
    }
}

/// Self-metrics of one exporter instance (id, signal).
#[derive(Clone)]
pub struct ExporterMetrics {
    pub sent: Counter,
    pub send_failed: Counter,
    pub enqueue_failed: Counter,
    pub queue_size: Gauge,
    pub queue_capacity: Gauge,
    pub in_flight: Gauge,
}

impl ExporterMetrics {
    pub fn new(tel: &Telemetry, exporter: &str, signal: Signal) -> Self {
        let l = [("exporter", exporter)];
        let lq = [("data_type", signal.as_str()), ("exporter", exporter)];
        let (sent, failed, enq) = match signal {
            Signal::Traces => (
                "otelcol_exporter_sent_spans",
                "otelcol_exporter_send_failed_spans",
                "otelcol_exporter_enqueue_failed_spans",
            ),
            Signal::Metrics => (
                "otelcol_exporter_sent_metric_points",
                "otelcol_exporter_send_failed_metric_points",
                "otelcol_exporter_enqueue_failed_metric_points",
            ),
            Signal::Logs => (
                "otelcol_exporter_sent_log_records",
                "otelcol_exporter_send_failed_log_records",
                "otelcol_exporter_enqueue_failed_log_records",
            ),
            Signal::Profiles => (
                "otelcol_exporter_sent_profile_samples",
                "otelcol_exporter_send_failed_profile_samples",
                "otelcol_exporter_enqueue_failed_profile_samples",
            ),
        };
        ExporterMetrics {
            sent: tel.counter(
                sent,
                "Number of items successfully sent to destination.",
                &l,
            ),
            send_failed: tel.counter(
                failed,
                "Number of items in failed attempts to send to destination.",
                &l,
            ),
            enqueue_failed: tel.counter(
                enq,
                "Number of items failed to be added to the sending queue.",
                &l,
            ),
            queue_size: tel.gauge(
                "otelcol_exporter_queue_size",
                "Current size of the retry queue (in batches).",
                &lq,
            ),
            queue_capacity: tel.gauge(
                "otelcol_exporter_queue_capacity",
                "Fixed capacity of the retry queue (in batches).",
                &lq,
            ),
            in_flight: tel.gauge(
                "otelcol_exporter_in_flight_requests",
                "Number of in-flight requests.",
                &lq,
            ),
        }
    }
}

/// `otelcol_processor_{incoming,outgoing}_items{processor, otel_signal}`.
#[derive(Clone)]
pub struct ProcessorMetrics {
    pub incoming: Counter,
    pub outgoing: Counter,
}

impl ProcessorMetrics {
    pub fn new(tel: &Telemetry, processor: &str, signal: Signal) -> Self {
        let l = [("otel_signal", signal.as_str()), ("processor", processor)];
        ProcessorMetrics {
            incoming: tel.counter(
                "otelcol_processor_incoming_items",
                "Number of items passed to the processor.",
                &l,
            ),
            outgoing: tel.counter(
                "otelcol_processor_outgoing_items",
                "Number of items emitted from the processor.",
                &l,
            ),
        }
    }
}

/// Registers `otelcol_process_*`: uptime, CPU seconds and resident memory, read from /proc.
pub fn register_process_metrics(tel: &Telemetry) {
    let start = Instant::now();
    tel.observe(
        "otelcol_process_uptime",
        "Uptime of the process",
        "counter",
        move || start.elapsed().as_secs_f64(),
    );
    tel.observe(
        "otelcol_process_cpu_seconds",
        "Total CPU user and system time in seconds",
        "counter",
        || process_cpu_seconds().unwrap_or(0.0),
    );
    tel.observe(
        "otelcol_process_memory_rss",
        "Total physical memory (resident set size)",
        "gauge",
        || process_rss_bytes().unwrap_or(0) as f64,
    );
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`).
pub fn process_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // The page size is 4 KiB on every Linux target we build for except some arm64/ppc64
    // kernels; read it from the auxiliary vector through /proc to be exact.
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|a| {
            a.chunks_exact(16).find_map(|c| {
                let key = u64::from_ne_bytes(c[..8].try_into().ok()?);
                if key == 6 {
                    Some(u64::from_ne_bytes(c[8..].try_into().ok()?))
                } else {
                    None
                }
            })
        })
        .unwrap_or(4096)
}

/// User + system CPU seconds of this process (Linux `/proc/self/stat`, clock ticks of 1/100 s).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Serves `/metrics` on `addr` until `shutdown` is cancelled.
pub async fn serve(
    addr: &str,
    tel: Telemetry,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, String> {
    use axum::{Router, routing::get};
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("failed to listen for self-metrics on {addr}: {e}"))?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let tel = tel.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    tel.render(),
                )
            }
        }),
    );
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_and_labels_share_one_counter() {
        let t = Telemetry::default();
        let a = ReceiverMetrics::new(&t, "otlp", "grpc");
        let b = ReceiverMetrics::new(&t, "otlp", "grpc");
        a.accepted(Signal::Traces, 3);
        b.accepted(Signal::Traces, 4);
        assert_eq!(
            t.value(
                "otelcol_receiver_accepted_spans",
                &[("receiver", "otlp"), ("transport", "grpc")]
            ),
            Some(7.0)
        );
    }

    #[test]
    fn renders_go_collector_names_without_total_suffix() {
        let t = Telemetry::default();
        ReceiverMetrics::new(&t, "otlp", "http").refused(Signal::Logs, 2);
        let text = t.render();
        assert!(
            text.contains("# TYPE otelcol_receiver_refused_log_records counter\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "otelcol_receiver_refused_log_records{receiver=\"otlp\",transport=\"http\"} 2\n"
            ),
            "{text}"
        );
        assert!(!text.contains("_total"));
    }

    #[test]
    fn histogram_renders_cumulative_buckets() {
        let t = Telemetry::default();
        let h = t.histogram("h", "help", &[("processor", "batch")], &[10.0, 100.0]);
        h.record(5.0);
        h.record(50.0);
        h.record(500.0);
        let text = t.render();
        assert!(
            text.contains("h_bucket{processor=\"batch\",le=\"10\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("h_bucket{processor=\"batch\",le=\"100\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("h_bucket{processor=\"batch\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("h_count{processor=\"batch\"} 3\n"), "{text}");
    }

    #[test]
    fn snapshot_lists_every_series_with_kind_labels_and_value() {
        let t = Telemetry::default();
        ReceiverMetrics::new(&t, "otlp", "grpc").accepted(Signal::Traces, 5);
        t.gauge("g", "help", &[("exporter", "x")]).set(-3);
        t.observe("f", "help", "gauge", || 2.5);
        let h = t.histogram("h", "help", &[("processor", "batch")], &[10.0]);
        h.record(4.0);
        h.record(40.0);
        let snap = t.snapshot();
        let find = |name: &str| {
            snap.iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no {name} in {snap:?}"))
        };
        let a = find("otelcol_receiver_accepted_spans");
        assert_eq!(a.kind, "counter");
        assert_eq!(
            a.labels,
            vec![
                ("receiver", "otlp".to_string()),
                ("transport", "grpc".to_string())
            ]
        );
        assert_eq!(a.value, 5.0);
        // Registered but never incremented series are listed too, at zero.
        assert_eq!(find("otelcol_receiver_refused_spans").value, 0.0);
        assert_eq!((find("g").kind, find("g").value), ("gauge", -3.0));
        assert_eq!(find("f").value, 2.5);
        assert_eq!(
            (find("h_count").kind, find("h_count").value),
            ("counter", 2.0)
        );
        assert_eq!(find("h_sum").value, 44.0);
        assert_eq!(
            find("h_sum").labels,
            vec![("processor", "batch".to_string())]
        );
        assert!(!snap.iter().any(|s| s.name == "h"));
    }

    #[test]
    fn process_rss_is_read_from_proc() {
        let rss = process_rss_bytes().expect("linux /proc");
        assert!(rss > 1024 * 1024, "rss {rss}");
    }
}
