//! The sockets and the interval: readers hand lines to one shared [`Aggregator`]; a timer
//! task takes the interval's metrics and sends one request per sender, as Go does.
//!
//! Bounded where Go is not: an interval holds at most [`MAX_HELD`] series and observations
//! (a timer observed as a gauge is one point per line); lines past it are dropped, counted
//! in `otelcol_receiver_refused_metric_points` and logged once per interval. A TCP line
//! longer than [`MAX_LINE`] is dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::Settings;
use runtime::telemetry::ReceiverMetrics;
use runtime::{Component, Host, Receiver};
use statsd::Aggregator;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::Config;
use crate::receivers::otlp::config::bind_address;
use crate::util::time::now_unix_nanos;

/// Series and observations one interval may hold.
pub const MAX_HELD: usize = 1_000_000;
/// The longest line taken over TCP.
pub const MAX_LINE: usize = 64 * 1024;
/// Go's UDP read buffer (the largest IPv6 datagram body).
const MAX_DATAGRAM: usize = 65527;

struct Shared {
    agg: Mutex<Aggregator>,
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    /// Whether the held-series warning was logged this interval.
    warned: AtomicBool,
    id: String,
}

impl Shared {
    /// Aggregates the lines of one datagram or TCP read from `addr`.
    fn lines(&self, data: &[u8], addr: &str) {
        let now = now_unix_nanos();
        let mut agg = lock(&self.agg);
        let mut dropped = 0usize;
        for raw in data.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if agg.series() >= MAX_HELD {
                dropped += 1;
                continue;
            }
            if let Err(e) = agg.aggregate(line, addr, now) {
                tracing::debug!(receiver = %self.id, error = %e, line, "Error aggregating metric");
            }
        }
        drop(agg);
        if dropped > 0 {
            self.metrics.refused(Signal::Metrics, dropped);
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(receiver = %self.id, limit = MAX_HELD, "statsd interval full: lines dropped until the next flush");
            }
        }
    }

    async fn flush(&self) {
        let batches = lock(&self.agg).flush(now_unix_nanos());
        self.warned.store(false, Ordering::Relaxed);
        for (addr, request) in batches {
            let points = request
                .resource_metrics
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .flat_map(|sm| &sm.metrics)
                .count();
            let batch = Batch::from_request(Request::Metrics(request));
            match self.consumer.consume(batch).await {
                Ok(()) => self.metrics.accepted(Signal::Metrics, points),
                Err(e) => {
                    self.metrics.refused(Signal::Metrics, points);
                    tracing::debug!(receiver = %self.id, error = %e, sender = %addr, "Error flushing metrics");
                }
            }
        }
    }
}

pub struct StatsdReceiver {
    cfg: Config,
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    addr: Option<SocketAddr>,
}

impl StatsdReceiver {
    pub fn new(set: &Settings, cfg: &Config, consumer: runtime::SharedConsumer) -> StatsdReceiver {
        let id = set.id.to_string();
        StatsdReceiver {
            shared: Arc::new(Shared {
                agg: Mutex::new(Aggregator::new(cfg.options(), now_unix_nanos())),
                consumer,
                metrics: ReceiverMetrics::new(&set.telemetry, &id, cfg.transport_kind()),
                warned: AtomicBool::new(false),
                id,
            }),
            cfg: cfg.clone(),
            running: Mutex::new(None),
        }
    }

    /// The bound address while running (port 0 in tests).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().and_then(|r| r.addr)
    }
}

#[async_trait]
impl Component for StatsdReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let stop = CancellationToken::new();
        let shared = self.shared.clone();
        // a new interval starts with the receiver
        *lock(&shared.agg) = Aggregator::new(self.cfg.options(), now_unix_nanos());
        let mut tasks = Vec::new();
        let mut addr = None;
        let endpoint = &self.cfg.endpoint;
        match self.cfg.transport_kind() {
            "tcp" => {
                let listener = TcpListener::bind(bind_address(endpoint))
                    .await
                    .map_err(|e| {
                        format!("starting to listen tcp socket: listen tcp {endpoint}: {e}")
                    })?;
                addr = listener.local_addr().ok();
                tasks.push(tokio::spawn(serve_tcp(
                    listener,
                    shared.clone(),
                    stop.clone(),
                )));
            }
            "unixgram" => {
                let _ = std::fs::remove_file(endpoint);
                let sock = UnixDatagram::bind(endpoint).map_err(|e| {
                    format!("starting to listen unixgram socket: listen unixgram {endpoint}: {e}")
                })?;
                set_permissions(endpoint, self.cfg.socket_permissions)?;
                tasks.push(tokio::spawn(serve_unixgram(
                    sock,
                    shared.clone(),
                    stop.clone(),
                )));
            }
            _ => {
                let sock = UdpSocket::bind(bind_address(endpoint)).await.map_err(|e| {
                    format!("starting to listen udp socket: listen udp {endpoint}: {e}")
                })?;
                addr = sock.local_addr().ok();
                tasks.push(tokio::spawn(serve_udp(sock, shared.clone(), stop.clone())));
            }
        }
        let interval = self.cfg.aggregation_interval.0;
        let (flusher, stop2) = (shared.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop2.cancelled() => return,
                    _ = tick.tick() => flusher.flush().await,
                }
            }
        }));
        tracing::info!(receiver = %shared.id, endpoint = %endpoint, transport = self.cfg.transport_kind(), "StatsD receiver listening");
        if let Some(old) = lock(&self.running).replace(Running { stop, tasks, addr }) {
            old.stop.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let Some(r) = lock(&self.running).take() else {
            return Ok(());
        };
        r.stop.cancel();
        for t in r.tasks {
            let _ = t.await;
        }
        if self.cfg.transport_kind() == "unixgram" {
            let _ = std::fs::remove_file(&self.cfg.endpoint);
        }
        // Go drops what the interval holds at shutdown; so does this
        Ok(())
    }
}

impl Receiver for StatsdReceiver {}

fn set_permissions(path: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("socket_permissions on {path}: {e}"))
}

async fn serve_udp(sock: UdpSocket, shared: Arc<Shared>, stop: CancellationToken) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let got = tokio::select! {
            _ = stop.cancelled() => return,
            r = sock.recv_from(&mut buf) => r,
        };
        match got {
            Ok((n, peer)) => shared.lines(&buf[..n], &peer.to_string()),
            Err(e) => tracing::debug!(error = %e, "UDP Transport - ReadFrom error"),
        }
    }
}

async fn serve_unixgram(sock: UnixDatagram, shared: Arc<Shared>, stop: CancellationToken) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let got = tokio::select! {
            _ = stop.cancelled() => return,
            r = sock.recv_from(&mut buf) => r,
        };
        match got {
            Ok((n, peer)) => {
                let addr = peer
                    .as_pathname()
                    .map_or_else(String::new, |p| p.display().to_string());
                shared.lines(&buf[..n], &addr);
            }
            Err(e) => tracing::debug!(error = %e, "unixgram Transport - ReadFrom error"),
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let Ok((mut sock, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (shared, stop) = (shared.clone(), stop.clone());
        conns.spawn(async move {
            let addr = peer.to_string();
            let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
            let mut skipping = false;
            loop {
                buf.reserve(8 * 1024);
                let n = tokio::select! {
                    _ = stop.cancelled() => return,
                    r = sock.read_buf(&mut buf) => r,
                };
                let eof = !matches!(n, Ok(n) if n > 0);
                let end = if eof {
                    buf.len()
                } else {
                    buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
                };
                if skipping {
                    // the rest of an over-long line, up to its newline
                    match buf.iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            buf.drain(..=i);
                            skipping = false;
                            continue;
                        }
                        None => buf.clear(),
                    }
                } else if end > 0 {
                    shared.lines(&buf[..end], &addr);
                    buf.drain(..end);
                } else if buf.len() > MAX_LINE {
                    tracing::debug!(peer = %addr, "statsd line longer than {MAX_LINE} bytes dropped");
                    buf.clear();
                    skipping = true;
                }
                if eof {
                    return;
                }
            }
        });
    }
    conns.shutdown().await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
