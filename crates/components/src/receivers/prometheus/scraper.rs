//! The scrape loops. A job task reads its targets (static ones once, `file_sd_configs` on
//! every `refresh_interval`) and keeps one task per target; a target task scrapes at a
//! fixed offset inside its interval (derived from the target, so targets spread over the
//! interval as Prometheus spreads them), with the job's `Accept` header, the
//! `X-Prometheus-Scrape-Timeout-Seconds` header and the scrape timeout, reads at most
//! `body_size_limit` bytes, and hands the OTLP of the scrape to the pipelines. A target that
//! goes away sends staleness markers for its series.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::metrics::v1::ResourceMetrics;
use pdata::{Batch, Request, Signal};
use promscrape::body::BODY_SIZE_LIMIT_EXCEEDED;
use promscrape::config::{ScrapeConfig, ScrapeProtocol, accept_header};
use promscrape::expfmt::Format;
use promscrape::{Body, Target, TargetState};
use runtime::telemetry::ReceiverMetrics;
use tokio_util::sync::CancellationToken;

use crate::util::http_client::{ClientSettings, build_client};

/// Where scrape results go.
#[derive(Clone)]
pub struct Sink {
    pub consumer: runtime::SharedConsumer,
    pub metrics: ReceiverMetrics,
    pub receiver: Arc<str>,
}

/// The points of a scrape handed to the pipeline at a time. Each chunk's OTLP is made,
/// translated by the exporters and freed before the next is made, so it stays in the CPU
/// cache and the next reuses its memory; a whole 100,000-series scrape at once was made
/// in fresh pages and read back from main memory. Prometheus's own remote write sends at
/// most 2,000 samples a request.
const CHUNK_POINTS: usize = 4096;

impl Sink {
    async fn send_scrape(&self, mut scrape: promscrape::Scrape<'_>) {
        while let Some((resource_metrics, points)) = scrape.next_chunk(CHUNK_POINTS) {
            self.send(resource_metrics, points).await;
        }
    }

    async fn send(&self, resource_metrics: Vec<ResourceMetrics>, points: usize) {
        if points == 0 {
            return;
        }
        let req = ExportMetricsServiceRequest { resource_metrics };
        let batch = Batch::from_request(Request::Metrics(req));
        match self.consumer.consume(batch).await {
            Ok(()) => self.metrics.accepted(Signal::Metrics, points),
            Err(e) => {
                self.metrics.refused(Signal::Metrics, points);
                tracing::warn!(receiver = %self.receiver, error = %e, "the pipeline refused scraped metrics");
            }
        }
    }
}

/// One `scrape_configs` entry at run time.
pub struct Job {
    cfg: Arc<ScrapeConfig>,
    settings: Arc<promscrape::Settings>,
    sink: Sink,
    client: reqwest::Client,
    accept: Arc<str>,
}

impl Job {
    pub fn new(
        cfg: Arc<ScrapeConfig>,
        settings: Arc<promscrape::Settings>,
        sink: Sink,
    ) -> Result<Job, String> {
        let tls = super::config::tls_settings(&cfg.http.tls);
        let scheme_url = format!("{}://", cfg.scheme);
        let client = build_client(
            &ClientSettings {
                timeout: Duration::ZERO,
                tls: &tls,
                proxy_url: &cfg.http.proxy_url,
                max_idle_conns: None,
                max_idle_conns_per_host: None,
                idle_conn_timeout: None,
                disable_keep_alives: false,
                http2_read_idle_timeout: None,
                http2_ping_timeout: None,
            },
            &scheme_url,
        )
        .map_err(|e| format!("job {:?}: {e}", cfg.job_name))?;
        let accept = Arc::from(accept_header(&cfg.scrape_protocols));
        Ok(Job {
            cfg,
            settings,
            sink,
            client,
            accept,
        })
    }

    pub async fn run(self, cancel: CancellationToken) {
        let job = Arc::new(self);
        let mut running: HashMap<Target, (CancellationToken, tokio::task::JoinHandle<()>)> =
            HashMap::new();
        let mut file_groups: Vec<promscrape::config::TargetGroup> = Vec::new();
        let refresh = job
            .cfg
            .file_sd_configs
            .iter()
            .map(|f| f.refresh_interval)
            .min();
        loop {
            let mut groups = job.cfg.static_configs.clone();
            if !job.cfg.file_sd_configs.is_empty() {
                let patterns: Vec<String> = job
                    .cfg
                    .file_sd_configs
                    .iter()
                    .flat_map(|f| f.files.clone())
                    .collect();
                let (g, errors) = promscrape::target::read_file_sd(&patterns);
                for e in &errors {
                    tracing::error!(receiver = %job.sink.receiver, job = %job.cfg.job_name, error = %e, "file_sd");
                }
                // A file that failed keeps nothing new; Prometheus keeps the last good
                // groups, which is what an error-free read gives back next time.
                if errors.is_empty() {
                    file_groups = g;
                }
                groups.extend(file_groups.iter().cloned());
            }
            let (targets, errors) = promscrape::target::targets_from_groups(&groups, &job.cfg);
            for e in errors {
                tracing::error!(receiver = %job.sink.receiver, job = %job.cfg.job_name, error = %e, "creating target failed");
            }
            let over_limit =
                job.cfg.target_limit > 0 && targets.len() as u64 > job.cfg.target_limit;
            if over_limit {
                tracing::error!(receiver = %job.sink.receiver, job = %job.cfg.job_name, targets = targets.len(), limit = job.cfg.target_limit, "target_limit exceeded");
            }
            // Stop targets that went away (they send staleness markers), start new ones.
            let gone: Vec<Target> = running
                .keys()
                .filter(|t| !targets.contains(t))
                .cloned()
                .collect();
            for t in gone {
                if let Some((c, h)) = running.remove(&t) {
                    c.cancel();
                    let _ = h.await;
                }
            }
            for t in targets {
                if running.contains_key(&t) {
                    continue;
                }
                let c = cancel.child_token();
                let h = tokio::spawn(scrape_target(
                    job.clone(),
                    t.clone(),
                    c.clone(),
                    cancel.clone(),
                    over_limit,
                ));
                running.insert(t, (c, h));
            }
            let Some(refresh) = refresh else {
                cancel.cancelled().await;
                break;
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(refresh) => {}
            }
        }
        for (_, (c, h)) in running {
            c.cancel();
            let _ = h.await;
        }
    }
}

/// Where in each interval this target is scraped: a hash of the target, as Prometheus
/// spreads targets (`scrape.Target.offset`).
fn offset(target: &Target, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    target.hash(&mut h);
    let n = interval.as_nanos().max(1) as u64;
    Duration::from_nanos(h.finish() % n)
}

async fn scrape_target(
    job: Arc<Job>,
    target: Target,
    cancel: CancellationToken,
    shutdown: CancellationToken,
    over_limit: bool,
) {
    let interval = target.interval;
    let mut state = TargetState::new(job.cfg.clone(), target.clone(), job.settings.clone());
    let first = offset(&target, interval);
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(first) => {}
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut bufs = Buffers::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let start = SystemTime::now();
        let start_ms = start
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let t0 = Instant::now();
        let fetched = if over_limit {
            Err("target_limit exceeded".to_string())
        } else {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = fetch(&job, &target, &mut bufs) => r,
            }
        };
        let duration = t0.elapsed();
        let scrape = match &fetched {
            Ok(format) => state.scrape(
                Body::Ok {
                    body: bufs.body(),
                    format: *format,
                },
                start_ms,
                duration,
            ),
            Err(e) => state.scrape(Body::Failed(e.clone()), start_ms, duration),
        };
        if let Some(e) = &scrape.error {
            tracing::warn!(receiver = %job.sink.receiver, target = %target.url, error = %e, "Failed to scrape Prometheus endpoint");
        }
        job.sink.send_scrape(scrape).await;
        bufs.settle();
    }
    // A target that went away ends its series here; at shutdown Prometheus leaves them.
    if !shutdown.is_cancelled() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let out = state.stale_all(now_ms);
        job.sink.send(out.resource_metrics, out.points).await;
    }
}

/// A target's body buffers, kept between its scrapes: a target's bodies are about the same
/// size every time, and fresh buffers of many megabytes were fresh pages to fault in on
/// every scrape (a sixth of the scrape path's page faults at 100,000 series).
#[derive(Default)]
struct Buffers {
    /// The body as it came.
    raw: Vec<u8>,
    /// The gzip'd body inflated, at its start (the rest is room written before, kept
    /// initialised: see `promscrape::body::decode_into`).
    inflated: Vec<u8>,
    /// The last body's length when it is `inflated` (else it is `raw`).
    inflated_len: Option<usize>,
}

impl Buffers {
    /// Lets go of room far beyond what the last scrape used (a target whose bodies
    /// shrank keeps at most twice its last body, not its largest one).
    fn settle(&mut self) {
        let used = self.raw.len().max(self.inflated_len.unwrap_or(0));
        for b in [&mut self.raw, &mut self.inflated] {
            if b.capacity() > (1 << 20) && b.capacity() / 4 > used {
                b.clear();
                b.shrink_to(used.saturating_mul(2));
            }
        }
    }

    /// The last body fetched.
    fn body(&self) -> &[u8] {
        match self.inflated_len {
            Some(n) => &self.inflated[..n.min(self.inflated.len())],
            None => &self.raw,
        }
    }
}

/// One HTTP scrape: the body (decompressed, within `body_size_limit`) into `bufs`, and its
/// format.
async fn fetch(job: &Job, target: &Target, bufs: &mut Buffers) -> Result<Format, String> {
    let cfg = &job.cfg;
    let mut req = job
        .client
        .get(&target.url)
        .timeout(target.timeout)
        .header(ACCEPT, &*job.accept)
        .header(
            ACCEPT_ENCODING,
            if cfg.enable_compression {
                "gzip"
            } else {
                "identity"
            },
        )
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format_seconds(target.timeout),
        );
    if let Some(b) = &cfg.http.basic_auth {
        let user = secret(&b.username, &b.username_file)?;
        let pass = secret(&b.password, &b.password_file)?;
        req = req.basic_auth(user, Some(pass));
    }
    if let Some(a) = &cfg.http.authorization {
        let cred = secret(&a.credentials, &a.credentials_file)?;
        req = req.header(AUTHORIZATION, format!("{} {}", a.kind, cred));
    }
    let mut resp = req.send().await.map_err(|e| error_text(&e))?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "server returned HTTP status {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string());
    }
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let content_type = header(CONTENT_TYPE);
    let encoding = header(CONTENT_ENCODING);
    let format = match Format::from_content_type(&content_type) {
        Some(f) => f,
        None => match cfg.fallback_scrape_protocol {
            Some(ScrapeProtocol::OpenMetricsText001 | ScrapeProtocol::OpenMetricsText100) => {
                Format::OpenMetrics
            }
            Some(_) => Format::Text,
            None if content_type.is_empty() => {
                return Err("non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target".into());
            }
            None => {
                return Err(format!(
                    "received unsupported Content-Type {content_type:?} and no fallback_scrape_protocol specified for target"
                ));
            }
        },
    };
    let limit = cfg.body_size_limit;
    // Sized by Content-Length when the target sent one (within the limit and 64 MiB).
    let expected = resp.content_length().unwrap_or(0).min(64 << 20);
    let expected = if limit > 0 {
        expected.min(limit)
    } else {
        expected
    };
    let raw = &mut bufs.raw;
    raw.clear();
    raw.reserve(expected as usize);
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_text(&e))? {
        raw.extend_from_slice(&chunk);
        // The compressed body never exceeds what it inflates to: stop reading early.
        if limit > 0 && raw.len() as u64 > limit {
            return Err(BODY_SIZE_LIMIT_EXCEEDED.into());
        }
    }
    bufs.inflated_len =
        promscrape::body::decode_into(&bufs.raw, &encoding, limit, &mut bufs.inflated)?;
    Ok(format)
}

fn secret(inline: &str, file: &str) -> Result<String, String> {
    if file.is_empty() {
        return Ok(inline.to_string());
    }
    std::fs::read_to_string(file)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("unable to read {file}: {e}"))
}

/// Go's `strconv.FormatFloat(seconds, 'f', -1, 64)`: `10`, `0.5`.
fn format_seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

fn error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded".into();
    }
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

#[cfg(test)]
mod buffer_tests {
    use super::Buffers;

    /// A target's buffers keep the room of a body like its last, and give back room far
    /// beyond it (a target whose bodies shrank does not hold its largest one for ever).
    #[test]
    fn buffers_keep_about_the_last_bodys_room() {
        let mut b = Buffers {
            raw: vec![0; 4 << 20],
            ..Buffers::default()
        };
        b.settle();
        assert!(
            b.raw.capacity() >= 4 << 20,
            "a body like the last keeps its room"
        );
        b.raw.clear();
        b.raw.extend_from_slice(&[1; 1000]);
        b.settle();
        assert!(
            b.raw.capacity() <= 2000,
            "room far beyond the last body is given back"
        );
        // An inflated body counts for both buffers: the compressed one is not shrunk
        // below what the inflated body needs.
        b.raw = vec![0; 2 << 20];
        b.inflated = vec![0; 16 << 20];
        b.inflated_len = Some(16 << 20);
        b.settle();
        assert!(b.raw.capacity() >= 2 << 20 && b.inflated.capacity() >= 16 << 20);
        assert_eq!(b.body().len(), 16 << 20);
    }
}
