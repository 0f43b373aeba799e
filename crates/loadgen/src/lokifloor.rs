//! The floor of the filelog -> Loki pipeline: the least work any collector must do to ship the
//! same files to Loki. It reads each file of a pods tree once, sequentially, splits it on `\n`,
//! writes each line's Loki line (see [`FloorLines`]), puts it in one stream per file whose labels
//! come from the path by splitting the directory name on `_` (no regex), encodes the
//! `PushRequest`, snappy-compresses it and POSTs it, `batch` lines per request, on up to
//! `connections` keep-alive connections. It stops once every file was read and every push
//! acknowledged and reports its own lines/s, CPU-seconds and peak RSS.
//!
//! Two shapes of line: [`FloorLines::Seed`] writes the line the Go exporter writes for
//! `seed-agent-filelog.yaml` (the same push as the collectors', the issue's floor), finding the
//! containerd fields by the line's first three spaces and the pod's by the path, with nothing
//! checked and no time parsed; [`FloorLines::Body`] writes only `{"body":"<line>"}`, less than
//! any collector running that config can send.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::client::{HttpConn, Outcome};
use crate::loki::{self, PUSH_PATH, PushBuilder, Timestamp};
use crate::podlogs;

/// Longest line the floor holds whole; a longer one is an error (generated files never have one).
pub const MAX_LINE: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct LokiFloorConfig {
    /// The `pods` directory (`<pods_dir>/*/*/*.log` are read).
    pub pods_dir: PathBuf,
    /// The Loki sink, loopback only.
    pub endpoint: SocketAddr,
    /// Lines per push request.
    pub batch: usize,
    pub connections: usize,
    pub timeout: Duration,
    /// Bytes read from a file at a time.
    pub read_size: usize,
    pub lines: FloorLines,
}

/// What the floor writes as each entry's Loki line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FloorLines {
    /// The Go exporter's `json` line for the seed agent config: `{"body":"<line>","attributes":
    /// {"log":…,"logtag":…,"restart_count":…,"stream":…,"time":…,"uid":…}}` (the resource
    /// attributes are all labels), the fields cut at the line's first three spaces and from the
    /// path. A line with fewer than three spaces is written as `Body` would.
    #[default]
    Seed,
    /// `{"body":"<line>"}` only.
    Body,
}

impl LokiFloorConfig {
    pub fn new(pods_dir: impl Into<PathBuf>, endpoint: SocketAddr) -> Self {
        LokiFloorConfig {
            pods_dir: pods_dir.into(),
            endpoint,
            batch: 1000,
            connections: 2,
            timeout: Duration::from_secs(10),
            read_size: 256 << 10,
            lines: FloorLines::Seed,
        }
    }
}

/// What the floor did, printed as JSON at the end.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LokiFloorReport {
    pub files: u64,
    pub lines: u64,
    /// Bytes read from the files.
    pub file_bytes: u64,
    pub requests: u64,
    /// Encoded `PushRequest` bytes before snappy.
    pub push_bytes: u64,
    /// Bytes POSTed (snappy).
    pub sent_bytes: u64,
    pub failed_requests: u64,
    pub elapsed_s: f64,
    pub lines_per_s: f64,
    /// User + system CPU of this process (all threads) over the whole run.
    pub cpu_s: f64,
    pub lines_per_cpu_s: f64,
    pub cpu_s_per_gb: f64,
    /// Peak resident set size of this process (VmHWM).
    pub peak_rss_mib: f64,
}

/// CPU seconds (user + system, all threads) and peak RSS in bytes of this process.
pub fn own_usage() -> (f64, u64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu = if rc == 0 {
        tv(ru.ru_utime) + tv(ru.ru_stime)
    } else {
        0.0
    };
    (cpu, peak_rss().unwrap_or(0))
}

/// VmHWM of this process. Not `ru_maxrss`: Linux carries that over `execve`, so a floor
/// started by a large parent (the Python harness) would report the parent's peak.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The Loki line's parts that come from the file's path in the seed config (the record's
/// attributes `uid` and `restart_count`), written once per file: the text after `"log":<log>`
/// up to `"stream"` and after `"stream"`'s value up to `"time"`, and after the time.
struct SeedParts {
    /// `","restart_count":"<n>","stream":"`
    restart: Vec<u8>,
    /// `","uid":"<uid>"}}`
    uid: Vec<u8>,
}

impl SeedParts {
    fn of(path: &Path) -> SeedParts {
        let restart = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let uid = pod_dir_name(path).splitn(3, '_').nth(2).unwrap_or("");
        let mut r = b"\",\"restart_count\":\"".to_vec();
        escape_json_into(&mut r, restart.as_bytes());
        r.extend_from_slice(b"\",\"stream\":\"");
        let mut u = b"\",\"uid\":\"".to_vec();
        escape_json_into(&mut u, uid.as_bytes());
        u.extend_from_slice(b"\"}}");
        SeedParts { restart: r, uid: u }
    }
}

/// Appends the inside of the JSON string `json.Marshal` writes for `s` (HTML escaping on, as
/// the Go exporter's lines have it), by the collector's own escaping.
fn escape_json_into(out: &mut Vec<u8>, s: &[u8]) {
    pdata::gojson::escape_into(out, s, true)
}

/// Writes `line`'s Loki line into `json` (cleared first); see [`FloorLines`].
fn write_line(json: &mut Vec<u8>, line: &[u8], shape: FloorLines, seed: &SeedParts) {
    json.clear();
    json.extend_from_slice(b"{\"body\":\"");
    let body_at = json.len();
    escape_json_into(json, line);
    let body_end = json.len();
    let fields = match shape {
        FloorLines::Body => None,
        FloorLines::Seed => {
            let s1 = memchr::memchr(b' ', line);
            let s2 = s1.and_then(|a| memchr::memchr(b' ', &line[a + 1..]).map(|b| a + 1 + b));
            let s3 = s2.and_then(|a| memchr::memchr(b' ', &line[a + 1..]).map(|b| a + 1 + b));
            s1.zip(s2).zip(s3).map(|((a, b), c)| (a, b, c))
        }
    };
    let Some((s1, s2, s3)) = fields else {
        json.extend_from_slice(b"\"}");
        return;
    };
    json.extend_from_slice(b"\",\"attributes\":{\"log\":\"");
    // `log` is the line's tail: its escaped form is copied from the end of the body's
    // where that is the same, as the collector does.
    let k = s3 + 1;
    if pdata::gojson::escaped_tail_is_suffix(line, k) {
        json.extend_from_within(body_at + k..body_end);
    } else {
        escape_json_into(json, &line[k..]);
    }
    json.extend_from_slice(b"\",\"logtag\":\"");
    escape_json_into(json, &line[s2 + 1..s3]);
    json.extend_from_slice(&seed.restart);
    escape_json_into(json, &line[s1 + 1..s2]);
    json.extend_from_slice(b"\",\"time\":\"");
    escape_json_into(json, &line[..s1]);
    json.extend_from_slice(&seed.uid);
}

/// `<namespace>_<pod>_<uid>` of `<...>/<namespace>_<pod>_<uid>/<container>/<n>.log`.
fn pod_dir_name(path: &Path) -> &str {
    path.parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.file_name())
        .and_then(|s| s.to_str())
        .unwrap_or("")
}

/// Loki labels of one pod log file, from its path alone:
/// `<...>/<namespace>_<pod>_<uid>/<container>/<n>.log`.
pub fn labels_of(path: &Path) -> String {
    let container = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|s| s.to_str())
        .unwrap_or("");
    let mut parts = pod_dir_name(path).splitn(3, '_');
    let namespace = parts.next().unwrap_or("");
    let pod = parts.next().unwrap_or("");
    let filename = path.to_str().unwrap_or("");
    loki::format_labels(&[
        ("cluster", "minikube"),
        ("container", container),
        ("exporter", "OTLP"),
        ("filename", filename),
        ("namespace", namespace),
        ("pod", pod),
    ])
}

struct Sender {
    pool_tx: mpsc::Sender<HttpConn>,
    pool_rx: mpsc::Receiver<HttpConn>,
    connections: usize,
    timeout: Duration,
    failed: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<String>>>,
}

impl Sender {
    async fn new(endpoint: SocketAddr, connections: usize, timeout: Duration) -> Sender {
        let connections = connections.max(1);
        let (pool_tx, pool_rx) = mpsc::channel(connections);
        for _ in 0..connections {
            // The channel holds `connections` slots and is empty: this cannot fail.
            let _ = pool_tx.send(HttpConn::new(endpoint)).await;
        }
        Sender {
            pool_tx,
            pool_rx,
            connections,
            timeout,
            failed: Arc::default(),
            first_error: Arc::default(),
        }
    }

    /// Starts sending `body` as soon as a connection is free; retries a few times.
    async fn send(&mut self, body: Bytes) -> anyhow::Result<()> {
        let Some(mut conn) = self.pool_rx.recv().await else {
            anyhow::bail!("connection pool closed");
        };
        let back = self.pool_tx.clone();
        let (timeout, failed, first_error) =
            (self.timeout, self.failed.clone(), self.first_error.clone());
        tokio::spawn(async move {
            let mut last = String::new();
            let mut ok = false;
            for attempt in 0..5u32 {
                match conn.post(PUSH_PATH, body.clone(), None, timeout).await {
                    Outcome::Ok => {
                        ok = true;
                        break;
                    }
                    Outcome::Refused(s) | Outcome::Error(s) => last = s,
                }
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            if !ok {
                failed.fetch_add(1, Ordering::Relaxed);
                first_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(last);
            }
            let _ = back.send(conn).await;
        });
        Ok(())
    }

    /// Waits until every push was answered.
    async fn drain(&mut self) {
        for _ in 0..self.connections {
            let _ = self.pool_rx.recv().await;
        }
    }
}

struct Batcher {
    builder: PushBuilder,
    encoded: Vec<u8>,
    batch: usize,
    ts: Timestamp,
    requests: u64,
    push_bytes: u64,
    sent_bytes: u64,
}

impl Batcher {
    async fn flush(&mut self, sender: &mut Sender) -> anyhow::Result<()> {
        if self.builder.entries() == 0 {
            return Ok(());
        }
        self.builder.finish(&mut self.encoded);
        // By the collector's snappy helper: into the thread's kept buffer, copied out at the
        // compressed size.
        let compressed = pdata::snappy::compress(&self.encoded)?;
        self.requests += 1;
        self.push_bytes += self.encoded.len() as u64;
        self.sent_bytes += compressed.len() as u64;
        sender.send(Bytes::from(compressed)).await?;
        // One clock read per request: the floor does not parse the lines' own timestamps.
        self.ts = Timestamp::now();
        Ok(())
    }
}

/// Reads every file of the tree and ships it; see the module docs.
pub async fn run(cfg: LokiFloorConfig) -> anyhow::Result<LokiFloorReport> {
    anyhow::ensure!(
        cfg.endpoint.ip().is_loopback(),
        "send to a loopback address only"
    );
    let started = Instant::now();
    let files = podlogs::list_files(&cfg.pods_dir)
        .map_err(|e| anyhow::anyhow!("listing {}: {e}", cfg.pods_dir.display()))?;
    anyhow::ensure!(
        !files.is_empty(),
        "no */*/*.log under {}",
        cfg.pods_dir.display()
    );
    let mut sender = Sender::new(cfg.endpoint, cfg.connections, cfg.timeout).await;
    let mut b = Batcher {
        builder: PushBuilder::new(),
        encoded: Vec::new(),
        batch: cfg.batch.max(1),
        ts: Timestamp::now(),
        requests: 0,
        push_bytes: 0,
        sent_bytes: 0,
    };
    let (mut lines, mut file_bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; cfg.read_size.max(4096)];
    let mut json = Vec::with_capacity(4096);
    for path in &files {
        let labels = labels_of(path);
        let seed = SeedParts::of(path);
        let mut f = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
        // `buf[..filled]` holds read bytes not yet consumed: at most one partial line.
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                anyhow::ensure!(
                    buf.len() < MAX_LINE,
                    "{}: a line longer than {MAX_LINE} bytes",
                    path.display()
                );
                buf.resize(buf.len() * 2, 0);
            }
            let n = std::io::Read::read(&mut f, &mut buf[filled..])
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            file_bytes += n as u64;
            let end = filled + n;
            let mut start = 0;
            let eof = n == 0;
            loop {
                let (line, next) = match memchr::memchr(b'\n', &buf[start..end]) {
                    Some(i) => (&buf[start..start + i], start + i + 1),
                    // The last line of a file without a final newline.
                    None if eof && start < end => (&buf[start..end], end),
                    None => break,
                };
                write_line(&mut json, line, cfg.lines, &seed);
                b.builder.push(&labels, b.ts, &json);
                lines += 1;
                start = next;
                if b.builder.entries() >= b.batch {
                    b.flush(&mut sender).await?;
                }
            }
            if eof {
                break;
            }
            buf.copy_within(start..end, 0);
            filled = end - start;
        }
    }
    b.flush(&mut sender).await?;
    sender.drain().await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, peak) = own_usage();
    let failed = sender.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let e = sender
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        eprintln!("loki-floor: {failed} pushes failed after retries; first error: {e}");
    }
    Ok(LokiFloorReport {
        files: files.len() as u64,
        lines,
        file_bytes,
        requests: b.requests,
        push_bytes: b.push_bytes,
        sent_bytes: b.sent_bytes,
        failed_requests: failed,
        elapsed_s: elapsed,
        lines_per_s: lines as f64 / elapsed.max(1e-9),
        cpu_s: cpu,
        lines_per_cpu_s: if cpu > 0.0 { lines as f64 / cpu } else { 0.0 },
        cpu_s_per_gb: cpu / (file_bytes as f64 / 1e9).max(1e-12),
        peak_rss_mib: peak as f64 / (1024.0 * 1024.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lines_are_the_go_exporters_json_lines_for_the_seed_config() {
        let p = Path::new(
            "/tmp/x/pods/shop_cart-7d9f-x2k4p_0123abcd-0000-1111-2222-333344445555/cart/0.log",
        );
        let seed = SeedParts::of(p);
        let mut json = Vec::new();
        let line = br#"2024-05-01T12:00:00.000000001Z stdout F say "hi" \ there"#;
        write_line(&mut json, line, FloorLines::Seed, &seed);
        // The line ferrotel and the Go exporter write for this entry (tests/e2e/
        // test_filelog_loki.py asserts the same shape against both).
        assert_eq!(
            String::from_utf8(json.clone()).unwrap(),
            r#"{"body":"2024-05-01T12:00:00.000000001Z stdout F say \"hi\" \\ there","attributes":{"log":"say \"hi\" \\ there","logtag":"F","restart_count":"0","stream":"stdout","time":"2024-05-01T12:00:00.000000001Z","uid":"0123abcd-0000-1111-2222-333344445555"}}"#
        );
        write_line(&mut json, line, FloorLines::Body, &seed);
        assert_eq!(
            String::from_utf8(json.clone()).unwrap(),
            r#"{"body":"2024-05-01T12:00:00.000000001Z stdout F say \"hi\" \\ there"}"#
        );
        // HTML characters escaped as json.Marshal does; `log` is the same whether its escaped
        // form is copied from the body's (plain fields before it) or made anew (not plain).
        for (line, log) in [
            (
                &br#"2024-05-01T12:00:00Z stdout F a<b>&c"#[..],
                r#"a\u003cb\u003e\u0026c"#,
            ),
            (&br#"2024-05-01T12:00:00Z std"o F a<b"#[..], r#"a\u003cb"#),
        ] {
            write_line(&mut json, line, FloorLines::Seed, &seed);
            let text = String::from_utf8(json.clone()).unwrap();
            assert!(
                text.contains(&format!(r#""log":"{log}","logtag""#)),
                "{text}"
            );
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["body"], String::from_utf8(line.to_vec()).unwrap());
        }
        // Not a containerd line: the body alone, as the floor cannot cut it.
        write_line(&mut json, b"no-spaces", FloorLines::Seed, &seed);
        assert_eq!(String::from_utf8(json).unwrap(), r#"{"body":"no-spaces"}"#);
    }

    #[test]
    fn labels_come_from_the_pod_directory_and_container() {
        let p = Path::new(
            "/tmp/x/pods/shop_cart-7d9f-x2k4p_0123abcd-0000-1111-2222-333344445555/cart/0.log",
        );
        assert_eq!(
            labels_of(p),
            "{cluster=\"minikube\", container=\"cart\", exporter=\"OTLP\", \
             filename=\"/tmp/x/pods/shop_cart-7d9f-x2k4p_0123abcd-0000-1111-2222-333344445555/cart/0.log\", \
             namespace=\"shop\", pod=\"cart-7d9f-x2k4p\"}"
        );
    }
}
