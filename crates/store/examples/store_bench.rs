//! Issue 11 benchmark driver: the embedded store side of `bench/store.sh`.
//!
//! Generates deterministic OTLP spans, log records and remote-write series (same seed, same
//! data every run), ingests them through the store's public API as the `embedded_store`
//! exporter does (the request, and its protobuf encoding made here as the exporter makes
//! it), measures ingest CPU (the ingesting thread around each call and around the flush that
//! seals that kind's heads into blocks; the maintenance thread is reported apart), measures
//! bytes on disk, then runs the queries and prints one JSON object. With `--tsv DIR` it also
//! writes the same data as TSV in the Go `clickhouse` exporter's column order (as bench/
//! store.py's ClickHouse 18.16 tables take it), and the query parameters it used.
//!
//!   store_bench [--spans N] [--logs N] [--series N] [--quick] [--dir DIR] [--tsv DIR]
//!               [--gen-only]
//!
//! `--gen-only` writes the TSV files and the query parameters without opening a store.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use promtranslate::prompb::{Label, Sample as PSample, TimeSeries, WriteRequest};
use prost::Message;
use store::query::SpanQuery;
use store::{Options, Store};

/// 2026-01-01T00:00:00Z: every item lies in the hour after it (plus trace tails).
const T0_S: u64 = 1_767_225_600;
const T0_NS: u64 = T0_S * 1_000_000_000;
const HOUR_NS: u64 = 3_600_000_000_000;
const NEEDLE: &str = "timeout";
const METRIC: &str = "http_requests_total";

const SERVICES: [&str; 10] = [
    "frontend",
    "checkout",
    "cart",
    "payment",
    "shipping",
    "email",
    "currency",
    "recommendation",
    "ad",
    "product-catalog",
];
const LANGS: [&str; 5] = ["go", "java", "python", "nodejs", "dotnet"];
const RESOURCES: [&str; 5] = ["items", "orders", "users", "cart", "quotes"];
const VERBS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
];
const KIND_NAMES: [&str; 6] = [
    "Unspecified",
    "Internal",
    "Server",
    "Client",
    "Producer",
    "Consumer",
];

/// splitmix64: small, deterministic, good enough for test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

fn kv_s(k: &str, v: impl Into<String>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn kv_i(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}

fn attr_str(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        _ => String::new(),
    }
}

/// The operation `op` (0..50): service op/5, a verb and a route.
fn operation(op: usize) -> (usize, &'static str, String) {
    let svc = op / 5;
    let verb = VERBS[op % 4];
    let route = format!("/api/{}/{}", SERVICES[svc], RESOURCES[op % 5]);
    (svc, verb, route)
}

fn resource(svc: usize, host: u64) -> Resource {
    Resource {
        attributes: vec![
            kv_s("service.name", SERVICES[svc]),
            kv_s("service.version", format!("1.{}.0", svc % 4)),
            kv_s("service.instance.id", format!("{}-{host}", SERVICES[svc])),
            kv_s(
                "host.name",
                format!("node-{}", (svc as u64 * 3 + host) % 16),
            ),
            kv_s("deployment.environment", "production"),
            kv_s("telemetry.sdk.language", LANGS[svc % 5]),
            kv_s("telemetry.sdk.name", "opentelemetry"),
        ],
        ..Default::default()
    }
}

fn scope(svc: usize) -> InstrumentationScope {
    InstrumentationScope {
        name: format!("io.opentelemetry.{}.http", LANGS[svc % 5]),
        version: "1.32.0".into(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- TSV (ClickHouse side)

fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
}

fn field(out: &mut String, s: &str) {
    esc(out, s);
    out.push('\t');
}

/// A `Map(String, String)` as the two arrays of a `Nested(key, value)`.
fn kv_arrays(out: &mut String, kvs: &[KeyValue]) {
    for part in 0..2 {
        out.push('[');
        for (i, kv) in kvs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('\'');
            if part == 0 {
                esc(out, &kv.key);
            } else {
                esc(out, &attr_str(&kv.value));
            }
            out.push('\'');
        }
        out.push_str("]\t");
    }
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) of unix seconds.
fn datetime(secs: u64) -> String {
    jiff::Timestamp::from_second(secs as i64)
        .expect("bench times are in range")
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

struct Tsv {
    w: Option<BufWriter<std::fs::File>>,
    line: String,
}
impl Tsv {
    fn new(dir: Option<&Path>, name: &str) -> Tsv {
        Tsv {
            w: dir.map(|d| {
                BufWriter::with_capacity(
                    1 << 20,
                    std::fs::File::create(d.join(name)).expect("tsv file"),
                )
            }),
            line: String::new(),
        }
    }
    fn on(&self) -> bool {
        self.w.is_some()
    }
    fn end_line(&mut self) {
        if self.line.ends_with('\t') {
            self.line.pop();
        }
        self.line.push('\n');
        if let Some(w) = &mut self.w {
            w.write_all(self.line.as_bytes()).expect("tsv write");
        }
        self.line.clear();
    }
    fn finish(mut self) {
        if let Some(w) = &mut self.w {
            w.flush().expect("tsv flush");
        }
    }
}

// ---------------------------------------------------------------- CPU time

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of this process's threads named `name` (utime + stime from /proc).
fn named_threads_cpu(name: &str) -> Duration {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for e in rd.flatten() {
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            if comm.trim() != name {
                continue;
            }
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            if let Some(rest) = stat.rsplit_once(')').map(|x| x.1) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let u: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
                let s: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
                total += (u + s) / tick;
            }
        }
    }
    Duration::from_secs_f64(total)
}

/// Times the ingest calls on this thread.
#[derive(Default)]
struct Meter {
    cpu: Duration,
    wall: Duration,
}
impl Meter {
    fn run<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (c, w) = (thread_cpu(), Instant::now());
        let r = f();
        self.cpu += thread_cpu() - c;
        self.wall += w.elapsed();
        r
    }
}

// ---------------------------------------------------------------- spans

struct SpanGen {
    rng: Rng,
    traces: u64,
    trace_no: u64,
    /// One trace in `stride`: the ids the trace-by-id query looks up (1,000 of them).
    stride: u64,
    sample_ids: Vec<[u8; 16]>,
}

impl SpanGen {
    /// Spans of the next trace: (service, host, span).
    fn next_trace(&mut self) -> Vec<(usize, u64, Span)> {
        let r = &mut self.rng;
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&r.next().to_be_bytes());
        id[8..].copy_from_slice(&r.next().to_be_bytes());
        if self.trace_no.is_multiple_of(self.stride) {
            self.sample_ids.push(id);
        }
        let start = T0_NS + self.trace_no * HOUR_NS / self.traces + r.below(1_000_000);
        self.trace_no += 1;
        let n = 5 + r.below(16) as usize;
        let host = r.below(3);
        let mut spans: Vec<(usize, u64, Span)> = Vec::with_capacity(n);
        let root_total = 2_000_000 + r.below(400_000_000);
        for i in 0..n {
            let op = if i == 0 {
                r.below(5) as usize // a frontend operation
            } else {
                r.below(50) as usize
            };
            let (svc, verb, route) = operation(op);
            let (parent, pstart, pdur) = if i == 0 {
                (0u64, start, root_total)
            } else {
                let p = &spans[r.below(i as u64) as usize].2;
                (
                    u64::from_be_bytes(p.span_id[..8].try_into().unwrap()),
                    p.start_time_unix_nano,
                    p.end_time_unix_nano - p.start_time_unix_nano,
                )
            };
            let s = pstart + if i == 0 { 0 } else { r.below(pdur / 2 + 1) };
            let d = if i == 0 {
                pdur
            } else {
                (pdur / 2).max(1000) / (1 + r.below(4))
            };
            let status_code = match r.below(100) {
                0..=1 => 500,
                2..=5 => 404,
                6..=8 => 201,
                _ => 200,
            };
            let mut attrs = vec![
                kv_s("http.method", verb),
                kv_s("http.route", route.clone()),
                kv_i("http.status_code", status_code),
                kv_s(
                    "http.url",
                    format!(
                        "http://{}.shop.svc:8080{}/{}",
                        SERVICES[svc],
                        route,
                        r.below(100_000)
                    ),
                ),
                kv_s(
                    "net.peer.name",
                    format!("10.1.{}.{}", r.below(8), r.below(250)),
                ),
                kv_i("net.peer.port", 30_000 + r.below(30_000) as i64),
                kv_s("http.user_agent", AGENTS[r.below(4) as usize]),
                kv_i("http.response_content_length", r.below(20_000) as i64),
                kv_i("thread.id", r.below(64) as i64),
                kv_s("http.flavor", "1.1"),
            ];
            attrs.truncate(5 + r.below(6) as usize);
            let kind = if i == 0 { 2 } else { 2 + r.below(2) as i32 };
            let span = Span {
                trace_id: id.to_vec(),
                span_id: r.next().to_be_bytes().to_vec(),
                parent_span_id: if parent == 0 {
                    vec![]
                } else {
                    parent.to_be_bytes().to_vec()
                },
                name: format!("{verb} {route}"),
                kind,
                start_time_unix_nano: s,
                end_time_unix_nano: s + d,
                attributes: attrs,
                status: Some(if status_code == 500 {
                    Status {
                        code: 2,
                        message: "Internal Server Error".into(),
                    }
                } else {
                    Status::default()
                }),
                ..Default::default()
            };
            spans.push((svc, host, span));
        }
        spans
    }
}

fn span_tsv(t: &mut Tsv, svc: usize, res: &Resource, sc: &InstrumentationScope, s: &Span) {
    let l = &mut t.line;
    let _ = write!(l, "{}\t", s.start_time_unix_nano);
    field(l, &hex::encode(&s.trace_id));
    field(l, &hex::encode(&s.span_id));
    field(l, &hex::encode(&s.parent_span_id));
    field(l, "");
    field(l, &s.name);
    field(l, KIND_NAMES[s.kind as usize]);
    field(l, SERVICES[svc]);
    kv_arrays(l, &res.attributes);
    field(l, &sc.name);
    field(l, &sc.version);
    kv_arrays(l, &s.attributes);
    let _ = write!(l, "{}\t", s.end_time_unix_nano - s.start_time_unix_nano);
    let st = s.status.as_ref().map(|s| s.code).unwrap_or(0);
    field(l, ["Unset", "Ok", "Error"][st as usize]);
    field(
        l,
        s.status.as_ref().map(|s| s.message.as_str()).unwrap_or(""),
    );
    // Events.Timestamp, Events.Name, Links.TraceId, Links.SpanId, Links.TraceState
    l.push_str("[]\t[]\t[]\t[]\t[]");
    t.end_line();
}

/// Groups spans into one request: a ResourceSpans per (service, host).
fn trace_request(batch: Vec<(usize, u64, Span)>) -> ExportTraceServiceRequest {
    let mut by: std::collections::BTreeMap<(usize, u64), Vec<Span>> = Default::default();
    for (svc, host, s) in batch {
        by.entry((svc, host)).or_default().push(s);
    }
    ExportTraceServiceRequest {
        resource_spans: by
            .into_iter()
            .map(|((svc, host), spans)| ResourceSpans {
                resource: Some(resource(svc, host)),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope(svc)),
                    spans,
                    ..Default::default()
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------- logs

const LOG_TEMPLATES: [&str; 8] = [
    "request completed method={verb} route={route} status={status} duration_ms={n}",
    "user {user} added item sku-{n} to cart",
    "cache miss for key product:{n}, loading from database",
    "payment authorized for order {n} amount={amount} currency=EUR",
    "connection pool stats active={a} idle={b} waiting=0",
    "retrying request to {peer} attempt={a}",
    "order {n} shipped via carrier-{a} tracking=TRK{user}",
    "rendered page {route} in {n}ms",
];

fn log_body(r: &mut Rng, svc: usize, trace: &[u8; 16]) -> (String, u8, &'static str) {
    let (_, verb, route) = operation(svc * 5 + r.below(5) as usize);
    let mut body = if r.chance(20) {
        format!(
            "upstream request {NEEDLE} after {}ms calling {} {}",
            1000 + r.below(9000),
            SERVICES[r.below(10) as usize],
            route
        )
    } else {
        let t = LOG_TEMPLATES[r.below(8) as usize];
        t.replace("{verb}", verb)
            .replace("{route}", &route)
            .replace(
                "{status}",
                ["200", "200", "200", "404", "500"][r.below(5) as usize],
            )
            .replace("{n}", &r.below(100_000).to_string())
            .replace("{user}", &format!("u{:06}", r.below(1_000_000)))
            .replace("{amount}", &format!("{}.{:02}", r.below(500), r.below(100)))
            .replace("{a}", &r.below(20).to_string())
            .replace("{b}", &r.below(20).to_string())
            .replace("{peer}", SERVICES[r.below(10) as usize])
    };
    if *trace != [0; 16] {
        let _ = write!(body, " trace_id={}", hex::encode(trace));
    }
    let (num, text) = match r.below(100) {
        0..=4 => (17, "ERROR"),
        5..=14 => (13, "WARN"),
        15..=24 => (5, "DEBUG"),
        _ => (9, "INFO"),
    };
    (body, num, text)
}

fn log_tsv(t: &mut Tsv, svc: usize, res: &Resource, sc: &InstrumentationScope, rec: &LogRecord) {
    let l = &mut t.line;
    let _ = write!(l, "{}\t", rec.time_unix_nano);
    field(l, &hex::encode(&rec.trace_id));
    field(l, &hex::encode(&rec.span_id));
    let _ = write!(l, "{}\t", rec.flags);
    field(l, &rec.severity_text);
    let _ = write!(l, "{}\t", rec.severity_number);
    field(l, SERVICES[svc]);
    field(l, &attr_str(&rec.body));
    field(l, "");
    kv_arrays(l, &res.attributes);
    field(l, "");
    field(l, &sc.name);
    field(l, &sc.version);
    l.push_str("[]\t[]\t");
    kv_arrays(l, &rec.attributes);
    t.end_line();
}

// ---------------------------------------------------------------- metrics

fn series_labels(i: usize) -> Vec<Label> {
    let l = |n: &str, v: String| Label {
        name: n.into(),
        value: v,
    };
    let job = i % 10;
    let inst = (i / 10) % 20;
    let route = i / 200;
    let mut v = vec![
        l("__name__", METRIC.into()),
        l("instance", format!("{}-{inst}:8080", SERVICES[job])),
        l("job", SERVICES[job].into()),
        l("method", VERBS[route % 4].into()),
        l(
            "route",
            format!(
                "/api/{}/{}/{}",
                SERVICES[route % 10],
                RESOURCES[route % 5],
                route
            ),
        ),
        l("status", "200".into()),
    ];
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn metric_tsv(t: &mut Tsv, labels: &[Label], ts_s: u64, value: f64) {
    let l = &mut t.line;
    let get = |n: &str| labels.iter().find(|x| x.name == n).unwrap().value.as_str();
    let res = vec![
        kv_s("service.name", get("job")),
        kv_s("service.instance.id", get("instance")),
    ];
    kv_arrays(l, &res);
    field(l, "");
    field(l, "io.opentelemetry.prometheus");
    field(l, "1.0.0");
    l.push_str("[]\t[]\t0\t\t");
    field(l, get("job"));
    field(l, METRIC);
    field(l, "");
    field(l, "");
    let attrs: Vec<KeyValue> = ["method", "route", "status"]
        .iter()
        .map(|n| kv_s(n, get(n)))
        .collect();
    kv_arrays(l, &attrs);
    field(l, &datetime(T0_S));
    field(l, &datetime(ts_s));
    let _ = write!(l, "{value}\t0\t");
    // Exemplars.FilteredAttributes.keys/.values, TimeUnix, Value, SpanId, TraceId
    l.push_str("[]\t[]\t[]\t[]\t[]\t[]\t2\t1");
    t.end_line();
}

// ---------------------------------------------------------------- queries: PromQL adapter

/// PromQL over the store (the `Metrics` adapter of crates/ui, without Tempo's aliases).
struct Metrics<'a>(&'a Store);

impl promql::Queryable for Metrics<'_> {
    fn select(
        &self,
        matchers: &[promql::Matcher],
        min_ms: i64,
        max_ms: i64,
    ) -> Result<Vec<promql::Series>, String> {
        // PromQL's matchers are the store's (the `labels` crate).
        Ok(self
            .0
            .select_series(matchers, min_ms, max_ms)?
            .into_iter()
            .filter(|s| !s.floats.is_empty())
            .map(|s| promql::Series {
                labels: (*s.labels).clone(),
                floats: s.floats,
                histograms: vec![],
            })
            .collect())
    }
}

// ---------------------------------------------------------------- main

struct Args {
    spans: u64,
    logs: u64,
    series: usize,
    dir: Option<PathBuf>,
    tsv: Option<PathBuf>,
    gen_only: bool,
    repeats: usize,
}

fn args() -> Args {
    let mut a = Args {
        spans: 10_000_000,
        logs: 10_000_000,
        series: 10_000,
        dir: None,
        tsv: None,
        gen_only: false,
        repeats: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().expect("a value after the flag");
        match x.as_str() {
            "--spans" => a.spans = val().parse().expect("--spans N"),
            "--logs" => a.logs = val().parse().expect("--logs N"),
            "--series" => a.series = val().parse().expect("--series N"),
            "--dir" => a.dir = Some(val().into()),
            "--tsv" => a.tsv = Some(val().into()),
            "--repeats" => a.repeats = val().parse().expect("--repeats N"),
            "--gen-only" => a.gen_only = true,
            "--quick" => {
                a.spans = 500_000;
                a.logs = 500_000;
                a.series = 10_000;
                a.repeats = 3;
            }
            _ => {
                eprintln!(
                    "usage: store_bench [--spans N] [--logs N] [--series N] [--quick] [--dir DIR] [--tsv DIR] [--repeats N] [--gen-only]"
                );
                std::process::exit(2);
            }
        }
    }
    a
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    pct(&mut v, 0.5)
}

fn du(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                n += du(&e.path());
            } else {
                use std::os::unix::fs::MetadataExt;
                n += md.blocks() * 512;
            }
        }
    }
    n
}

fn main() {
    let a = args();
    if let Some(t) = &a.tsv {
        std::fs::create_dir_all(t).expect("tsv dir");
    }
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).expect("store dir");
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path().to_path_buf()
        }
    };
    let store = if a.gen_only {
        None
    } else {
        let (s, _) = Store::open(Options {
            dir: Some(dir.clone()),
            max_bytes: 1 << 40,
            max_age: Duration::ZERO,
            ..Default::default()
        })
        .expect("open store");
        Some(s)
    };
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        eprintln!("{k}: {v}");
        out.insert(k.into(), v);
    };
    put("spans", a.spans.into());
    put("log_lines", a.logs.into());
    put("series", a.series.into());
    let proc0 = process_cpu();

    // ---- spans
    let traces = a.spans * 2 / 25; // 12.5 spans a trace on average
    let mut g = SpanGen {
        rng: Rng(42),
        traces: traces.max(1),
        stride: (traces / 1000).max(1),
        trace_no: 0,
        sample_ids: Vec::new(),
    };
    let mut tsv = Tsv::new(a.tsv.as_deref(), "traces.tsv");
    let mut meter = Meter::default();
    let mut n_spans = 0u64;
    let mut batch: Vec<(usize, u64, Span)> = Vec::new();
    let mut trace_windows: Vec<(u64, u64)> = Vec::new();
    while n_spans < a.spans {
        let t = g.next_trace();
        let (lo, hi) = t.iter().fold((u64::MAX, 0), |(lo, hi), (_, _, s)| {
            (lo.min(s.start_time_unix_nano), hi.max(s.end_time_unix_nano))
        });
        if (g.trace_no - 1).is_multiple_of(g.stride) {
            trace_windows.push((lo, hi));
        }
        n_spans += t.len() as u64;
        batch.extend(t);
        if batch.len() >= 1000 || n_spans >= a.spans {
            if tsv.on() {
                for (svc, host, s) in &batch {
                    span_tsv(&mut tsv, *svc, &resource(*svc, *host), &scope(*svc), s);
                }
            }
            let req = trace_request(std::mem::take(&mut batch));
            if let Some(st) = &store {
                meter.run(|| {
                    let enc = req.encode_to_vec();
                    st.ingest_traces(&req, &enc).expect("ingest traces")
                });
            }
        }
    }
    if let Some(st) = &store {
        meter.run(|| st.flush().expect("flush"));
    }
    tsv.finish();
    put("spans_written", n_spans.into());
    let span_meter = std::mem::take(&mut meter);

    // ---- logs
    let mut r = Rng(7);
    let mut tsv = Tsv::new(a.tsv.as_deref(), "logs.tsv");
    let mut i = 0u64;
    while i < a.logs {
        let n = (a.logs - i).min(1000);
        let mut by: std::collections::BTreeMap<(usize, u64), Vec<LogRecord>> = Default::default();
        for _ in 0..n {
            let svc = r.below(10) as usize;
            let host = r.below(3);
            let mut trace = [0u8; 16];
            let mut span = [0u8; 8];
            if r.chance(700) {
                trace[..8].copy_from_slice(&r.next().to_be_bytes());
                trace[8..].copy_from_slice(&r.next().to_be_bytes());
                span.copy_from_slice(&r.next().to_be_bytes());
            }
            let (body, num, text) = log_body(&mut r, svc, &trace);
            let traced = trace != [0; 16];
            let rec = LogRecord {
                time_unix_nano: T0_NS + i * HOUR_NS / a.logs.max(1) + r.below(1000),
                observed_time_unix_nano: 0,
                severity_number: num as i32,
                severity_text: text.into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(body)),
                }),
                attributes: vec![
                    kv_s(
                        "code.function",
                        format!("handle{}", RESOURCES[r.below(5) as usize]),
                    ),
                    kv_s("thread.name", format!("worker-{}", r.below(16))),
                    kv_i("log.iostream", 1),
                ],
                trace_id: if traced { trace.to_vec() } else { vec![] },
                span_id: if traced { span.to_vec() } else { vec![] },
                flags: if traced { 1 } else { 0 },
                ..Default::default()
            };
            if tsv.on() {
                log_tsv(&mut tsv, svc, &resource(svc, host), &scope(svc), &rec);
            }
            by.entry((svc, host)).or_default().push(rec);
            i += 1;
        }
        let req = ExportLogsServiceRequest {
            resource_logs: by
                .into_iter()
                .map(|((svc, host), log_records)| ResourceLogs {
                    resource: Some(resource(svc, host)),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(scope(svc)),
                        log_records,
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                })
                .collect(),
        };
        if let Some(st) = &store {
            meter.run(|| {
                let enc = req.encode_to_vec();
                st.ingest_logs(&req, &enc).expect("ingest logs")
            });
        }
    }
    if let Some(st) = &store {
        meter.run(|| st.flush().expect("flush"));
    }
    tsv.finish();
    let log_meter = std::mem::take(&mut meter);

    // ---- metrics: 1 h at 15 s, remote write in sends of 2,000 samples (Prometheus' default)
    let labels: Vec<Vec<Label>> = (0..a.series).map(series_labels).collect();
    let mut values: Vec<f64> = vec![0.0; a.series];
    let mut r = Rng(99);
    let mut tsv = Tsv::new(a.tsv.as_deref(), "metrics.tsv");
    let mut samples = 0u64;
    for step in 0..=240u64 {
        let ts_s = T0_S + step * 15;
        let mut ts: Vec<TimeSeries> = Vec::with_capacity(2000);
        for (i, l) in labels.iter().enumerate() {
            values[i] += r.below(50) as f64;
            if tsv.on() {
                metric_tsv(&mut tsv, l, ts_s, values[i]);
            }
            ts.push(TimeSeries {
                labels: l.clone(),
                samples: vec![PSample {
                    value: values[i],
                    timestamp: (ts_s * 1000) as i64,
                }],
                ..Default::default()
            });
            samples += 1;
            if ts.len() == 2000 || i + 1 == labels.len() {
                let req = WriteRequest {
                    timeseries: std::mem::take(&mut ts),
                    ..Default::default()
                };
                if let Some(st) = &store {
                    meter.run(|| {
                        let enc = req.encode_to_vec();
                        st.ingest_remote_write(&req, &enc).expect("ingest rw")
                    });
                }
            }
        }
    }
    if let Some(st) = &store {
        meter.run(|| st.flush().expect("flush"));
    }
    tsv.finish();
    let metric_meter = std::mem::take(&mut meter);
    put("samples", samples.into());

    // ---- query parameters (shared with the ClickHouse side)
    let ids: Vec<String> = g.sample_ids.iter().take(1000).map(hex::encode).collect();
    let searches: Vec<(String, u64, u64)> = (0..20)
        .map(|k| {
            let svc = SERVICES[k % 10].to_string();
            // 5-minute windows spread over the hour
            let from = T0_NS + (k as u64 * 173 % 55) * 60_000_000_000;
            (svc, from, from + 300_000_000_000)
        })
        .collect();
    if let Some(t) = &a.tsv {
        let params = serde_json::json!({
            "trace_ids": ids,
            "trace_windows_ns": trace_windows.iter().take(1000).collect::<Vec<_>>(),
            "searches": searches,
            "needle": NEEDLE,
            "metric": METRIC,
            "t0_s": T0_S,
            "promql": format!("sum by (job) (rate({METRIC}[5m]))"),
        });
        std::fs::write(t.join("params.json"), params.to_string()).expect("params");
    }
    let Some(store) = store else {
        println!("{}", serde_json::Value::Object(out));
        return;
    };

    // ---- flush, then CPU totals and size
    let (fc, fw) = (thread_cpu(), Instant::now());
    store.flush().expect("flush");
    let flush_cpu = thread_cpu() - fc;
    let flush_wall = fw.elapsed();
    let maint = named_threads_cpu("store-maintena"); // comm is cut at 15 bytes
    let proc_total = process_cpu() - proc0;
    let per_m = |cpu: Duration, n: u64| cpu.as_secs_f64() * 1e6 / n.max(1) as f64;
    put("ingest_spans_cpu_s", span_meter.cpu.as_secs_f64().into());
    put("ingest_spans_wall_s", span_meter.wall.as_secs_f64().into());
    put("ingest_logs_cpu_s", log_meter.cpu.as_secs_f64().into());
    put("ingest_logs_wall_s", log_meter.wall.as_secs_f64().into());
    put(
        "ingest_samples_cpu_s",
        metric_meter.cpu.as_secs_f64().into(),
    );
    put("flush_cpu_s", flush_cpu.as_secs_f64().into());
    put("flush_wall_s", flush_wall.as_secs_f64().into());
    put("maintenance_thread_cpu_s", maint.as_secs_f64().into());
    put(
        "process_cpu_s_incl_generation",
        proc_total.as_secs_f64().into(),
    );
    put(
        "cpu_s_per_million_spans",
        per_m(span_meter.cpu, n_spans).into(),
    );
    put(
        "cpu_s_per_million_log_lines",
        per_m(log_meter.cpu, a.logs).into(),
    );
    put(
        "cpu_s_per_million_samples",
        per_m(metric_meter.cpu, samples).into(),
    );
    put(
        "spans_per_cpu_second",
        (n_spans as f64 / span_meter.cpu.as_secs_f64()).into(),
    );
    let part = |n: &str| du(&dir.join(n));
    let (tb, lb, mb, wal) = (part("traces"), part("logs"), part("metrics"), part("wal"));
    put("bytes_traces", tb.into());
    put("bytes_logs", lb.into());
    put("bytes_metrics", mb.into());
    put("bytes_wal", wal.into());
    put("bytes_total", du(&dir).into());
    put("bytes_per_span", (tb as f64 / n_spans as f64).into());
    put(
        "bytes_per_log_line",
        (lb as f64 / a.logs.max(1) as f64).into(),
    );
    put(
        "bytes_per_sample",
        (mb as f64 / samples.max(1) as f64).into(),
    );

    // ---- trace by id
    let mut lat = Vec::new();
    let mut found = 0usize;
    for id in g.sample_ids.iter().take(1000) {
        let w = Instant::now();
        let rows = store.trace(id).expect("trace");
        lat.push(w.elapsed().as_secs_f64() * 1e3);
        found += (!rows.is_empty()) as usize;
    }
    put("trace_by_id_lookups", lat.len().into());
    put("trace_by_id_found", found.into());
    put("trace_by_id_p50_ms", pct(&mut lat, 0.5).into());
    put("trace_by_id_p99_ms", pct(&mut lat, 0.99).into());

    // ---- search by service and 5-minute window, limit 20
    let mut lat = Vec::new();
    let mut hits = 0usize;
    for (svc, from, to) in &searches {
        let q = SpanQuery {
            start_ns: *from as i64,
            end_ns: *to as i64,
            service: Some(svc.clone()),
            operation: None,
            min_duration_ns: None,
            max_duration_ns: None,
            predicate: None,
            limit: 20,
        };
        let w = Instant::now();
        hits += store.search_spans(&q).expect("search").len();
        lat.push(w.elapsed().as_secs_f64() * 1e3);
    }
    put("search_queries", lat.len().into());
    put("search_hits", hits.into());
    put("search_p50_ms", pct(&mut lat, 0.5).into());
    put("search_p99_ms", pct(&mut lat, 0.99).into());

    // ---- log text filter over every line
    let mut times = Vec::new();
    let mut count = 0u64;
    for _ in 0..a.repeats {
        count = 0;
        let w = Instant::now();
        // What `{...} |= "timeout"` does: the lines alone are read and searched.
        store
            .scan_log_lines(
                &[],
                0,
                i64::MAX,
                &store::query::Contains(NEEDLE),
                &mut |_| {
                    count += 1;
                    true
                },
            )
            .expect("logs");
        times.push(w.elapsed().as_secs_f64() * 1e3);
    }
    put("log_filter_matches", count.into());
    put("log_filter_ms_median", median(times).into());

    // ---- PromQL rate by label, 1 h at 60 s
    let engine = promql::Engine::default();
    let query = format!("sum by (job) (rate({METRIC}[5m]))");
    let mut times = Vec::new();
    let mut points = 0usize;
    for _ in 0..a.repeats {
        let w = Instant::now();
        let v = engine
            .range(
                &Metrics(&store),
                &query,
                (T0_S * 1000) as i64,
                ((T0_S + 3600) * 1000) as i64,
                60_000,
            )
            .expect("promql");
        times.push(w.elapsed().as_secs_f64() * 1e3);
        if let promql::Value::Matrix(m) = v {
            points = m.iter().map(|s| s.floats.len()).sum();
        }
    }
    put("promql_points", points.into());
    put("promql_ms_median", median(times).into());
    store.close();
    println!("{}", serde_json::Value::Object(out));
}
