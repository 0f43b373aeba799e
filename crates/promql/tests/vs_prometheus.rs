//! The same samples, sent by remote write to a real Prometheus (Debian's /usr/bin/prometheus)
//! and held in a Vec-backed `Queryable`, must give the same answers to a table of instant and
//! range queries: same label sets, timestamps and values (1e-9 relative, NaN == NaN), same
//! order for `sort`/`sort_desc`, same error type for failing queries.
//!
//! Skipped with a message when the binary is absent, unless FERROTEL_REQUIRE_PROMETHEUS is set.

use promql::{Engine, Series};
use promtranslate::prompb;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promql::MemorySeries as VecStore;

struct Prom {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn prometheus_binary() -> Option<String> {
    for p in ["/usr/bin/prometheus", "/usr/local/bin/prometheus"] {
        if std::path::Path::new(p).exists() {
            return Some(p.to_string());
        }
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 exchange over loopback (Connection: close, chunked bodies decoded).
fn http(port: u16, method: &str, path: &str, ctype: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: {ctype}\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let headers = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..nl])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    (status, body)
}

fn start_prometheus(bin: &str) -> Prom {
    let dir = std::env::temp_dir().join(format!(
        "ferrotel-promql-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  evaluation_interval: 1m\n").unwrap();
    let spawn = |port: u16| {
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        Command::new(bin)
            .arg("--web.enable-remote-write-receiver")
            .arg("--enable-feature=native-histograms")
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--config.file={}", config.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus")
    };
    let port = free_port();
    let mut prom = Prom {
        child: spawn(port),
        port,
        dir: dir.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut restarts = 0;
    loop {
        // Another process may have taken the port between free_port and the bind: again on
        // another one.
        if let Ok(Some(_)) = prom.child.try_wait()
            && restarts < 3
        {
            restarts += 1;
            prom.port = free_port();
            prom.child = spawn(prom.port);
        }
        let port = prom.port;
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (status, _) = http(port, "GET", "/-/ready", "text/plain", b"");
            if status == 200 {
                break;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(prom.dir.join("prometheus.log")).unwrap_or_default();
            panic!("prometheus did not become ready:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    prom
}

/// Deterministic pseudo-random numbers (an LCG: the data must be the same on every run).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut l: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    l.sort();
    l
}

const STEPS: usize = 200;
const INTERVAL: i64 = 15_000;

/// Counters with a reset, gauges (one ended by a stale marker, one that just stops), a classic
/// histogram, native histograms (one with a reset), info series for joins.
fn generate(start: i64) -> Vec<Series> {
    let mut rng = Rng(42);
    let mut out = Vec::new();
    let times: Vec<i64> = (0..STEPS)
        .map(|i| start + i as i64 * INTERVAL + ((i * 7919) % 2000) as i64)
        .collect();
    for inst in ["a", "b"] {
        for method in ["GET", "POST"] {
            let mut v = 0.0;
            let mut s = Series {
                labels: labels(&[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("instance", inst),
                    ("method", method),
                ]),
                ..Default::default()
            };
            for (i, &t) in times.iter().enumerate() {
                if inst == "b" && method == "POST" && i == 100 {
                    v = 3.0;
                } else if rng.next() > 0.1 {
                    v += (rng.next() * 10.0).round() + if method == "GET" { 2.0 } else { 0.5 };
                }
                s.floats.push((t, v));
            }
            out.push(s);
        }
    }
    for (ri, room) in ["kitchen", "garage", "attic"].iter().enumerate() {
        let mut s = Series {
            labels: labels(&[("__name__", "temperature"), ("room", room)]),
            ..Default::default()
        };
        for (i, &t) in times.iter().enumerate() {
            if *room == "garage" && i == 190 {
                s.floats.push((t, f64::from_bits(promql::STALE_NAN_BITS)));
                break;
            }
            if *room == "attic" && i == 185 {
                break;
            }
            let base = [21.0, 12.0, -3.0][ri];
            let v = base + 4.0 * ((i as f64) / 17.0).sin() + (rng.next() - 0.5) * 2.0;
            s.floats.push((t, (v * 1000.0).round() / 1000.0));
        }
        out.push(s);
    }
    let les = ["0.1", "0.5", "1", "5", "+Inf"];
    for inst in ["a", "b"] {
        let mut cum = [0.0f64; 5];
        let mut sum = 0.0;
        let mut series: Vec<Series> = les
            .iter()
            .map(|le| Series {
                labels: labels(&[
                    ("__name__", "req_duration_seconds_bucket"),
                    ("job", "api"),
                    ("instance", inst),
                    ("le", le),
                ]),
                ..Default::default()
            })
            .collect();
        let mut count_s = Series {
            labels: labels(&[
                ("__name__", "req_duration_seconds_count"),
                ("job", "api"),
                ("instance", inst),
            ]),
            ..Default::default()
        };
        for &t in &times {
            let n = (rng.next() * 20.0) as usize;
            for _ in 0..n {
                let obs = rng.next() * rng.next() * if inst == "a" { 3.0 } else { 8.0 };
                sum += obs;
                for (j, ub) in [0.1, 0.5, 1.0, 5.0, f64::INFINITY].iter().enumerate() {
                    if obs <= *ub {
                        cum[j] += 1.0;
                    }
                }
            }
            for (j, s) in series.iter_mut().enumerate() {
                s.floats.push((t, cum[j]));
            }
            count_s.floats.push((t, cum[4]));
        }
        let _ = sum;
        out.extend(series);
        out.push(count_s);
    }
    // Native histograms: schema 1 for x, 0 for y (with negative buckets and a reset).
    for (svc, schema) in [("x", 1i32), ("y", 0i32)] {
        let mut s = Series {
            labels: labels(&[("__name__", "rpc_latency_seconds"), ("service", svc)]),
            ..Default::default()
        };
        let mut pos = [0.0f64; 6]; // indices -2..=3
        let mut neg = [0.0f64; 2]; // indices 1..=2
        let mut zero = 0.0;
        let mut sum = 0.0;
        for (i, &t) in times.iter().enumerate() {
            if svc == "y" && i == 120 {
                pos = [0.0; 6];
                neg = [0.0; 2];
                zero = 0.0;
                sum = 0.0;
            }
            for (j, p) in pos.iter_mut().enumerate() {
                let add = (rng.next() * (3 + j) as f64).floor();
                *p += add;
                sum += add * promql::histogram::bucket_bound(j as i32 - 2, schema) * 0.8;
            }
            if svc == "y" {
                for n in neg.iter_mut() {
                    let add = (rng.next() * 2.0).floor();
                    *n += add;
                    sum -= add;
                }
            }
            zero += (rng.next() * 2.0).floor();
            let count = pos.iter().sum::<f64>() + neg.iter().sum::<f64>() + zero;
            s.histograms.push((
                t,
                promql::FloatHistogram {
                    schema,
                    zero_threshold: 0.001,
                    zero_count: zero,
                    count,
                    sum,
                    positive_spans: vec![(-2, 6)],
                    positive_buckets: pos.to_vec(),
                    negative_spans: if svc == "y" { vec![(1, 2)] } else { vec![] },
                    negative_buckets: if svc == "y" { neg.to_vec() } else { vec![] },
                    counter_reset_hint: promql::CounterResetHint::Unknown,
                },
            ));
        }
        out.push(s);
    }
    for (inst, version) in [("a", "1.0"), ("b", "2.0")] {
        let mut info = Series {
            labels: labels(&[
                ("__name__", "node_info"),
                ("instance", inst),
                ("version", version),
            ]),
            ..Default::default()
        };
        let mut up = Series {
            labels: labels(&[("__name__", "up"), ("instance", inst), ("job", "api")]),
            ..Default::default()
        };
        for (i, &t) in times.iter().enumerate() {
            info.floats.push((t, 1.0));
            up.floats
                .push((t, if inst == "b" && i % 40 < 5 { 0.0 } else { 1.0 }));
        }
        out.push(info);
        out.push(up);
    }
    out
}

fn to_deltas(counts: &[f64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|&c| {
            let d = c as i64 - prev;
            prev = c as i64;
            d
        })
        .collect()
}

fn remote_write(port: u16, series: &[Series]) {
    let mut req = prompb::WriteRequest::default();
    for s in series {
        let mut ts = prompb::TimeSeries {
            labels: s
                .labels
                .iter()
                .map(|(n, v)| prompb::Label {
                    name: n.clone(),
                    value: v.clone(),
                })
                .collect(),
            ..Default::default()
        };
        ts.samples = s
            .floats
            .iter()
            .map(|&(t, v)| prompb::Sample {
                value: v,
                timestamp: t,
            })
            .collect();
        for (t, h) in &s.histograms {
            let span = |sp: &[(i32, u32)]| {
                sp.iter()
                    .map(|&(offset, length)| prompb::BucketSpan { offset, length })
                    .collect()
            };
            ts.histograms.push(prompb::Histogram {
                count: Some(prompb::histogram::Count::CountInt(h.count as u64)),
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: Some(prompb::histogram::ZeroCount::ZeroCountInt(
                    h.zero_count as u64,
                )),
                negative_spans: span(&h.negative_spans),
                negative_deltas: to_deltas(&h.negative_buckets),
                positive_spans: span(&h.positive_spans),
                positive_deltas: to_deltas(&h.positive_buckets),
                timestamp: *t,
                ..Default::default()
            });
        }
        req.timeseries.push(ts);
    }
    let body = prompb::encode(&req).unwrap();
    let (status, resp) = http(
        port,
        "POST",
        "/api/v1/write",
        "application/x-protobuf",
        &body,
    );
    assert!(
        status == 204 || status == 200,
        "remote write answered {status}: {}",
        String::from_utf8_lossy(&resp)
    );
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    F(f64),
    H(f64, f64, Vec<(i64, f64, f64, f64)>),
    S(String),
}

type Norm = (String, Vec<(BTreeMap<String, String>, Vec<(f64, Val)>)>);

fn pf(j: &J) -> f64 {
    match j.as_str().unwrap() {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap(),
    }
}

fn hist(j: &J) -> Val {
    let buckets = j
        .get("buckets")
        .and_then(|b| b.as_array())
        .map(|a| {
            a.iter()
                .map(|b| (b[0].as_i64().unwrap(), pf(&b[1]), pf(&b[2]), pf(&b[3])))
                .collect()
        })
        .unwrap_or_default();
    Val::H(pf(&j["count"]), pf(&j["sum"]), buckets)
}

fn point(p: &J, h: bool) -> (f64, Val) {
    let t = p[0].as_f64().unwrap();
    (t, if h { hist(&p[1]) } else { Val::F(pf(&p[1])) })
}

fn normalize(data: &J, keep_order: bool) -> Norm {
    let rt = data["resultType"].as_str().unwrap().to_string();
    let mut rows = Vec::new();
    match rt.as_str() {
        "scalar" => rows.push((BTreeMap::new(), vec![point(&data["result"], false)])),
        "string" => rows.push((
            BTreeMap::new(),
            vec![(
                data["result"][0].as_f64().unwrap(),
                Val::S(data["result"][1].as_str().unwrap().to_string()),
            )],
        )),
        _ => {
            for r in data["result"].as_array().unwrap() {
                let metric: BTreeMap<String, String> = r["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let mut pts = Vec::new();
                if let Some(v) = r.get("value") {
                    pts.push(point(v, false));
                }
                if let Some(v) = r.get("histogram") {
                    pts.push(point(v, true));
                }
                for v in r
                    .get("values")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    pts.push(point(v, false));
                }
                for v in r
                    .get("histograms")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    pts.push(point(v, true));
                }
                pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
                rows.push((metric, pts));
            }
        }
    }
    if !keep_order {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
    }
    (rt, rows)
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn same_val(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::F(x), Val::F(y)) => close(*x, *y),
        (Val::S(x), Val::S(y)) => x == y,
        (Val::H(c1, s1, b1), Val::H(c2, s2, b2)) => {
            close(*c1, *c2)
                && close(*s1, *s2)
                && b1.len() == b2.len()
                && b1.iter().zip(b2).all(|(x, y)| {
                    x.0 == y.0 && close(x.1, y.1) && close(x.2, y.2) && close(x.3, y.3)
                })
        }
        _ => false,
    }
}

fn compare(query: &str, want: &Norm, got: &Norm) -> Result<(), String> {
    if want.0 != got.0 {
        return Err(format!("resultType {} vs ours {}", want.0, got.0));
    }
    if want.1.len() != got.1.len() {
        return Err(format!(
            "{} series vs ours {}:\nprometheus {:?}\nours {:?}",
            want.1.len(),
            got.1.len(),
            want.1.iter().map(|r| &r.0).collect::<Vec<_>>(),
            got.1.iter().map(|r| &r.0).collect::<Vec<_>>()
        ));
    }
    for (w, g) in want.1.iter().zip(&got.1) {
        if w.0 != g.0 {
            return Err(format!("labels {:?} vs ours {:?}", w.0, g.0));
        }
        if w.1.len() != g.1.len() {
            return Err(format!(
                "{:?}: {} points vs ours {}\nprometheus {:?}\nours {:?}",
                w.0,
                w.1.len(),
                g.1.len(),
                w.1,
                g.1
            ));
        }
        for (pw, pg) in w.1.iter().zip(&g.1) {
            if (pw.0 - pg.0).abs() > 1e-6 {
                return Err(format!("{:?}: timestamp {} vs ours {}", w.0, pw.0, pg.0));
            }
            if !same_val(&pw.1, &pg.1) {
                return Err(format!(
                    "{query} {:?} at {}: {:?} vs ours {:?}",
                    w.0, pw.0, pw.1, pg.1
                ));
            }
        }
    }
    Ok(())
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn urlencode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

enum Q {
    Instant(String),
    Range(String),
}

#[test]
fn promql_matches_real_prometheus() {
    let Some(bin) = prometheus_binary() else {
        if std::env::var_os("FERROTEL_REQUIRE_PROMETHEUS").is_some() {
            panic!("FERROTEL_REQUIRE_PROMETHEUS is set but no prometheus binary was found");
        }
        eprintln!("skipping: /usr/bin/prometheus is not installed (apt-get install prometheus)");
        return;
    };
    let prom = start_prometheus(&bin);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Samples in the last hour: older ones fall outside the head block Prometheus appends to.
    let start = (now - 55 * 60_000) / 60_000 * 60_000;
    let series = generate(start);
    remote_write(prom.port, &series);
    let store = VecStore(series);
    // Prometheus 2.x interpolates linearly inside native buckets, 3.x logarithmically.
    let (_, body) = http(
        prom.port,
        "GET",
        "/api/v1/status/buildinfo",
        "text/plain",
        b"",
    );
    let info: J = serde_json::from_slice(&body).unwrap_or_default();
    let version = info["data"]["version"].as_str().unwrap_or("2").to_string();
    eprintln!("comparing with Prometheus {version}");
    let engine = Engine {
        exponential_interpolation: !version.starts_with('2'),
        ..Engine::default()
    };

    let last = start + (STEPS as i64 - 1) * INTERVAL;
    // An evaluation time between samples, shortly after the last one.
    let t = last - 7_300;
    let at = secs(start + 20 * 60_000);
    let r_start = start + 10 * 60_000 + 500;
    let r_end = last + 90_000;
    let r_step = 45_000;

    let instant = [
        "http_requests_total",
        "http_requests_total{method=\"GET\"}",
        "http_requests_total{instance=~\"a|b\", method!=\"POST\"}",
        "http_requests_total{method!~\"G.*\"}",
        "{__name__=~\"http_requests_.*\", instance=\"a\"}",
        "{__name__=~\"http_req\"}",
        "http_requests_total[2m]",
        "http_requests_total offset 10m",
        "temperature",
        "temperature offset 6m",
        "rate(http_requests_total[5m])",
        "rate(http_requests_total[30m])",
        "irate(http_requests_total[5m])",
        "increase(http_requests_total[10m])",
        "increase(http_requests_total[40m] offset 3m)",
        "delta(temperature[10m])",
        "idelta(temperature[10m])",
        "deriv(temperature[10m])",
        "predict_linear(temperature[10m], 600)",
        "resets(http_requests_total[50m])",
        "changes(up[50m])",
        "avg_over_time(temperature[10m])",
        "min_over_time(temperature[10m])",
        "max_over_time(temperature[10m])",
        "sum_over_time(temperature[10m])",
        "count_over_time(temperature[10m])",
        "last_over_time(temperature[10m])",
        "present_over_time(temperature[30m])",
        "stddev_over_time(temperature[10m])",
        "stdvar_over_time(temperature[10m])",
        "quantile_over_time(0.7, temperature[10m])",
        "abs(temperature - 20)",
        "ceil(temperature)",
        "floor(temperature)",
        "round(temperature, 0.5)",
        "round(temperature)",
        "clamp(temperature, 18, 22)",
        "clamp_min(temperature, 20)",
        "clamp_max(temperature, 20)",
        "sqrt(temperature)",
        "exp(temperature / 10)",
        "ln(temperature)",
        "log2(temperature)",
        "log10(temperature)",
        "-temperature",
        "time()",
        "vector(1)",
        "scalar(sum(up))",
        "scalar(up)",
        "timestamp(temperature)",
        "timestamp(rate(http_requests_total[5m]))",
        "absent(nonexistent{job=\"x\", a=~\"b\"})",
        "absent(temperature)",
        "absent_over_time(nonexistent{job=\"y\"}[5m])",
        "absent_over_time(temperature[5m])",
        "label_replace(up, \"foo\", \"$1-x\", \"instance\", \"(.*)\")",
        "label_replace(up, \"foo\", \"$1\", \"instance\", \"z(.*)\")",
        "label_join(up, \"foo\", \",\", \"instance\", \"job\")",
        "sort(temperature)",
        "sort_desc(rate(http_requests_total[5m]))",
        "histogram_quantile(0.9, rate(req_duration_seconds_bucket[10m]))",
        "histogram_quantile(0.5, sum by (le) (rate(req_duration_seconds_bucket[10m])))",
        "histogram_quantile(0.99, sum by (le, job) (req_duration_seconds_bucket))",
        "histogram_quantile(0.9, rpc_latency_seconds)",
        "histogram_quantile(0.1, rpc_latency_seconds)",
        "histogram_quantile(0.5, rate(rpc_latency_seconds[10m]))",
        "histogram_count(rpc_latency_seconds)",
        "histogram_fraction(0, 1, rpc_latency_seconds)",
        "histogram_fraction(-1.5, 0.7, rate(rpc_latency_seconds[10m]))",
        "histogram_fraction(0.3, 0.2, rpc_latency_seconds)",
        "histogram_sum(rpc_latency_seconds)",
        "histogram_count(rate(rpc_latency_seconds[10m]))",
        "rpc_latency_seconds",
        "rate(rpc_latency_seconds[5m])",
        "increase(rpc_latency_seconds[40m])",
        "sum(rpc_latency_seconds)",
        "sum(http_requests_total)",
        "sum by (instance) (rate(http_requests_total[5m]))",
        "avg without (method) (http_requests_total)",
        "min by (job) (temperature)",
        "max(temperature)",
        "count(temperature)",
        "stddev(temperature)",
        "stdvar by (job) (http_requests_total)",
        "topk(2, http_requests_total)",
        "bottomk(1, temperature)",
        "topk by (instance) (1, http_requests_total)",
        "quantile(0.3, temperature)",
        "count_values(\"v\", up)",
        "count_values without (instance) (\"v\", up)",
        "group by (job) (up)",
        "sum by (__name__) (http_requests_total)",
        "http_requests_total / 2",
        "2 ^ up",
        "http_requests_total % 7",
        "temperature atan2 10",
        "temperature > 10",
        "temperature > bool 10",
        "10 < temperature",
        "1 < bool 2",
        "1 + 2 * 3",
        "\"hello\"",
        "up == 1",
        "up and on(instance) node_info",
        "up or temperature",
        "http_requests_total unless on(instance) up == 0",
        "http_requests_total unless on(instance) (up == 0)",
        "http_requests_total * on(instance) group_left(version) node_info",
        "node_info * on(instance) group_right(version) http_requests_total",
        "sum by (instance) (http_requests_total) / ignoring(job) up",
        "http_requests_total > on(instance) group_left up",
        "up + on(instance) node_info",
        "sum by (instance) (http_requests_total) * on(instance) group_right http_requests_total",
        "up == bool on(instance) node_info",
        "max_over_time(rate(http_requests_total[5m])[30m:1m])",
        "avg_over_time(temperature[20m:2m] offset 5m)",
        "rate(http_requests_total[5m])[10m:2m]",
        &format!("http_requests_total @ {at}"),
        &format!("rate(http_requests_total[5m] @ {at})"),
        "temperature offset -2m",
        "rate(http_requests_total[5m] offset 1m @ end())",
        "last_over_time(temperature[10m])",
        "count(up) by (job)",
        "sum without (instance, method) (rate(http_requests_total[5m]))",
        "avg(temperature) by (room)",
        "quantile by (job) (0.9, rate(http_requests_total[5m]))",
        "up unless up",
        "up and up",
        "vector(1) or up",
        "label_replace(http_requests_total, \"method\", \"$1$1\", \"method\", \"(G)ET\")",
        "{__name__=\"up\"} offset 30s",
        "-(-up)",
        "time() - timestamp(up)",
        "sort(-temperature)",
        "scalar(temperature{room=\"kitchen\"}) * up",
        "histogram_quantile(0.5, req_duration_seconds_bucket)",
        "histogram_quantile(1, req_duration_seconds_bucket)",
        "histogram_quantile(0, rate(req_duration_seconds_bucket[5m]))",
        "histogram_quantile(-1, req_duration_seconds_bucket)",
        "histogram_quantile(0.9, sum by (le) (rpc_latency_seconds))",
        "histogram_quantile(0.75, sum(rate(rpc_latency_seconds[10m])))",
        "sum by (le) (rate(req_duration_seconds_bucket[5m])) / ignoring(le) group_left sum(rate(req_duration_seconds_count[5m]))",
        "count_over_time(rpc_latency_seconds[5m])",
        "http_requests_total{instance=\"a\"} - ignoring(method) group_left http_requests_total{instance=\"a\", method=\"GET\"}",
        "max by (instance) (http_requests_total) >= bool on(instance) min by (instance) (http_requests_total)",
        "holt_winters(temperature[10m], 0.5, 0.3)",
        "holt_winters(http_requests_total[5m], 0.1, 0.9)",
        "holt_winters(temperature[10m], 1, 0.3)",
        "hour(vector(time()))",
        "day_of_week()",
        "days_in_month()",
        // Failing queries: the error type and text must agree.
        "http_requests_total + on(job) up",
        "http_requests_total * on(instance) node_info",
        "sum(",
        "rate(up)",
        "label_replace(up, \"1x\", \"$1\", \"instance\", \"(.*)\")",
        "topk(scalar(nonexistent), up)",
        "topk(1/0, up)",
        "bottomk(-2^63 * 3, up)",
    ];
    let range = [
        "rate(http_requests_total[5m])",
        "sum by (method) (increase(http_requests_total[10m]))",
        "temperature",
        "temperature offset 1m",
        "histogram_quantile(0.9, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
        "histogram_quantile(0.8, rate(rpc_latency_seconds[5m]))",
        "rate(rpc_latency_seconds[5m])",
        "rpc_latency_seconds",
        "up * on(instance) group_left(version) node_info",
        "1 + 1",
        "time()",
        "absent(temperature{room=\"garage\"})",
        "absent_over_time(temperature{room=\"attic\"}[3m])",
        "topk(1, temperature)",
        "max_over_time(deriv(temperature[5m])[10m:1m])",
        "http_requests_total @ end()",
        "http_requests_total[5m]",
        "last_over_time(temperature[5m])",
        "irate(http_requests_total[1m])",
        "increase(http_requests_total[1m])",
        "delta(temperature[1m])",
        "avg_over_time(temperature[1m:15s])",
        "timestamp(temperature)",
        "sum(rate(rpc_latency_seconds[5m]))",
        "count_values(\"v\", up)",
        "sum_over_time(temperature[10m:30s] @ start())",
        "histogram_count(rpc_latency_seconds) - histogram_count(rpc_latency_seconds offset 5m)",
        "changes(up[10m]) > 0",
        "holt_winters(temperature[10m], 0.5, 0.3)",
        "rate(http_requests_total[5m] @ end())",
        "avg_over_time(temperature[3m] offset 2m)",
        "quantile_over_time(0.5, temperature[5m])",
        "quantile_over_time(scalar(max(up)) / 2, temperature[5m])",
        "predict_linear(temperature[5m], 60)",
        "count_over_time(temperature[2m])",
        "stddev_over_time(temperature[4m])",
        "increase(rpc_latency_seconds[3m])",
        "abs(rate(http_requests_total[2m]) - irate(http_requests_total[2m]))",
    ];

    let mut queries: Vec<Q> = instant.iter().map(|q| Q::Instant(q.to_string())).collect();
    queries.extend(range.iter().map(|q| Q::Range(q.to_string())));
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut empty: Vec<String> = Vec::new();
    for q in &queries {
        let (text, path, ours) = match q {
            Q::Instant(text) => (
                text,
                format!("/api/v1/query?query={}&time={}", urlencode(text), secs(t)),
                engine.instant(&store, text, t),
            ),
            Q::Range(text) => (
                text,
                format!(
                    "/api/v1/query_range?query={}&start={}&end={}&step={}",
                    urlencode(text),
                    secs(r_start),
                    secs(r_end),
                    secs(r_step)
                ),
                engine.range(&store, text, r_start, r_end, r_step),
            ),
        };
        let (status, body) = http(prom.port, "GET", &path, "text/plain", b"");
        let resp: J = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{text}: bad JSON from prometheus ({e}): {status}"));
        compared += 1;
        match (resp["status"].as_str(), ours) {
            (Some("success"), Ok(v)) => {
                let keep_order = text.starts_with("sort");
                let want = normalize(&resp["data"], keep_order);
                let got = normalize(&promql::json::data(&v), keep_order);
                if want.1.is_empty() {
                    empty.push(text.to_string());
                }
                if let Err(e) = compare(text, &want, &got) {
                    failures.push(format!("{text}: {e}"));
                }
            }
            (Some("error"), Err(e)) => {
                let want_type = resp["errorType"].as_str().unwrap_or("");
                let want_msg = resp["error"].as_str().unwrap_or("");
                if want_type != e.error_type() {
                    failures.push(format!(
                        "{text}: error type {want_type} ({want_msg}) vs ours {} ({e})",
                        e.error_type()
                    ));
                } else if want_type == "execution"
                    || want_type == "bad_data" && !want_msg.contains("parse error")
                {
                    // The duplicate pair is listed in storage order: compare up to it.
                    let cut = |m: &str| m.split(": [").next().unwrap_or("").to_string();
                    if cut(want_msg) != cut(&e.to_string()) {
                        failures.push(format!(
                            "{text}: error {want_msg:?} vs ours {:?}",
                            e.to_string()
                        ));
                    }
                }
            }
            (_, Ok(v)) => failures.push(format!(
                "{text}: prometheus failed ({}) but we answered {:?}",
                String::from_utf8_lossy(&body),
                promql::json::data(&v)
            )),
            (_, Err(e)) => failures.push(format!(
                "{text}: prometheus answered {} but we failed: {e}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )),
        }
    }
    // The JSON itself, byte for byte once parsed: value spellings (exponent forms, specials).
    for text in [
        "vector(1e21)",
        "vector(-1.5e-7)",
        "vector(0.1 + 0.2)",
        "vector(123456789.125)",
        "1/0",
        "-1/0",
        "0/0",
        "\"str\"",
        "count_values(\"v\", vector(1e22))",
        "rpc_latency_seconds{service=\"y\"}",
    ] {
        let path = format!("/api/v1/query?query={}&time={}", urlencode(text), secs(t));
        let (_, body) = http(prom.port, "GET", &path, "text/plain", b"");
        let resp: J = serde_json::from_slice(&body).unwrap();
        let ours = promql::json::data(&engine.instant(&store, text, t).unwrap());
        if resp["data"] != ours {
            failures.push(format!("{text}: JSON {} vs ours {ours}", resp["data"]));
        }
        compared += 1;
    }
    assert!(compared >= 30);
    // Empty answers agree trivially: only these queries may have one.
    assert_eq!(
        empty,
        [
            "{__name__=~\"http_req\"}",
            "absent(temperature)",
            "absent_over_time(temperature[5m])",
            "up unless up"
        ],
        "queries with an empty result"
    );
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        compared,
        failures.join("\n\n")
    );
}
