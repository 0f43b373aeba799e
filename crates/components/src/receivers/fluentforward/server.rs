//! The sockets: an accept loop (TCP or Unix), one task per connection that scans, decodes,
//! delivers and acknowledges events, and the UDP heartbeat echo.
//!
//! Delivery differs from Go's on purpose in one way: Go queues an event and acknowledges
//! its `chunk` at once, before the pipeline has taken it, so a full exporter queue loses
//! acknowledged data. Here the events of one read are delivered first (a retryable refusal
//! is retried with backoff while the connection waits, which holds the client back over
//! TCP), then acknowledged; a permanent refusal is counted in
//! `otelcol_receiver_refused_log_records` and acknowledged, as Go drops it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fluentforward::{Scanner, decode_event};
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::exporterhelper::{Backoff, RetrySettings};
use runtime::factory::Settings;
use runtime::telemetry::{Gauge, ReceiverMetrics};
use runtime::{Component, Host, Receiver};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::Config;
use crate::receivers::otlp::config::bind_address;

/// Go's initial read buffer.
const READ_BUFFER: usize = 10 * 1024;
/// The largest event taken (Go has no bound); Fluent Bit's and Fluentd's chunks are a few
/// MiB at most by default.
const MAX_EVENT: usize = 64 << 20;

/// Go's `otelcol_fluent_*` metrics (non-monotonic sums, hence gauges).
struct FluentMetrics {
    opened: Gauge,
    closed: Gauge,
    parsed: Gauge,
    failures: Gauge,
    records: Gauge,
}

struct Shared {
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    fluent: FluentMetrics,
    stopping: AtomicBool,
    id: String,
}

pub struct FluentReceiver {
    cfg: Config,
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    addr: Option<SocketAddr>,
}

impl FluentReceiver {
    pub fn new(set: &Settings, cfg: &Config, consumer: runtime::SharedConsumer) -> FluentReceiver {
        let id = set.id.to_string();
        let labels = [("receiver", id.as_str())];
        let t = &set.telemetry;
        let fluent = FluentMetrics {
            opened: t.gauge(
                "otelcol_fluent_opened_connections",
                "Number of connections opened to the fluentforward receiver",
                &labels,
            ),
            closed: t.gauge(
                "otelcol_fluent_closed_connections",
                "Number of connections closed to the fluentforward receiver",
                &labels,
            ),
            parsed: t.gauge(
                "otelcol_fluent_events_parsed",
                "Number of Fluent events parsed successfully",
                &labels,
            ),
            failures: t.gauge(
                "otelcol_fluent_parse_failures",
                "Number of times Fluent messages failed to be decoded",
                &labels,
            ),
            records: t.gauge(
                "otelcol_fluent_records_generated",
                "Number of log records generated from Fluent forward input",
                &labels,
            ),
        };
        FluentReceiver {
            cfg: cfg.clone(),
            shared: Arc::new(Shared {
                consumer,
                // Go's obsreport names the transport "http" for this receiver
                metrics: ReceiverMetrics::new(t, &id, "http"),
                fluent,
                stopping: AtomicBool::new(false),
                id,
            }),
            running: Mutex::new(None),
        }
    }

    /// The bound TCP address while running (for port 0 in tests).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().and_then(|r| r.addr)
    }
}

#[async_trait]
impl Component for FluentReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let stop = CancellationToken::new();
        let shared = self.shared.clone();
        shared.stopping.store(false, Ordering::Relaxed);
        let mut tasks = Vec::new();
        let mut addr = None;
        if let Some(path) = self.cfg.unix_path() {
            let listener =
                UnixListener::bind(path).map_err(|e| format!("listen unix {path}: {e}"))?;
            let (shared, stop) = (shared.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                accept_loop(stop, shared, || async {
                    listener.accept().await.map(|(s, _)| s)
                })
                .await
            }));
        } else {
            let endpoint = bind_address(&self.cfg.endpoint);
            let listener = TcpListener::bind(&endpoint)
                .await
                .map_err(|e| format!("listen tcp {}: {e}", self.cfg.endpoint))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            addr = Some(bound);
            // the heartbeat socket takes the TCP port (the same one unless it was 0)
            let udp = UdpSocket::bind(bound)
                .await
                .map_err(|e| format!("listen udp {bound}: {e}"))?;
            tasks.push(tokio::spawn(heartbeats(udp, stop.clone())));
            let (shared, stop) = (shared.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                accept_loop(stop, shared, || async {
                    listener.accept().await.map(|(s, _)| {
                        let _ = s.set_nodelay(true);
                        s
                    })
                })
                .await
            }));
        }
        tracing::info!(receiver = %self.shared.id, endpoint = %self.cfg.endpoint, "Fluent Forward receiver listening");
        if let Some(old) = lock(&self.running).replace(Running { stop, tasks, addr }) {
            old.stop.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let Some(r) = lock(&self.running).take() else {
            return Ok(());
        };
        self.shared.stopping.store(true, Ordering::Relaxed);
        r.stop.cancel();
        for t in r.tasks {
            let _ = t.await;
        }
        if let Some(path) = self.cfg.unix_path() {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}

impl Receiver for FluentReceiver {}

async fn accept_loop<S, F, Fut>(stop: CancellationToken, shared: Arc<Shared>, mut accept: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
{
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = accept() => a,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        match accepted {
            Ok(sock) => {
                shared.fluent.opened.add(1);
                let (shared, stop) = (shared.clone(), stop.clone());
                conns.spawn(async move {
                    let result = tokio::select! {
                        _ = stop.cancelled() => Ok(()),
                        r = connection(sock, &shared) => r,
                    };
                    if let Err(e) = result {
                        tracing::debug!(receiver = %shared.id, error = %e, "Unexpected error handling connection");
                    }
                    shared.fluent.closed.add(1);
                });
            }
            Err(e) => {
                // Go waits 10 s after a failed accept (out of descriptors, ...)
                tracing::debug!(error = %e, "accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    conns.shutdown().await;
}

/// One connection: events in, records delivered, chunks acknowledged. `Err` closes it
/// (a malformed event, as in Go).
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut sock: S,
    shared: &Shared,
) -> Result<(), String> {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUFFER);
    let mut scanner = Scanner::default();
    loop {
        let mut start = 0;
        let mut records: Vec<LogRecord> = Vec::new();
        let mut acks: Vec<String> = Vec::new();
        let mut failure = None;
        loop {
            match scanner.scan(&buf[start..], MAX_EVENT) {
                Ok(Some(end)) => {
                    match decode_event(&buf[start..start + end]) {
                        Ok(ev) => {
                            shared.fluent.parsed.add(1);
                            records.extend(ev.records);
                            acks.extend(ev.chunk);
                        }
                        Err(e) => {
                            failure = Some(e.0);
                            break;
                        }
                    }
                    start += end;
                    scanner.reset();
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e.0);
                    break;
                }
            }
        }
        shared.deliver(records).await;
        for chunk in acks {
            sock.write_all(&fluentforward::ack(&chunk))
                .await
                .map_err(|e| format!("failed to acknowledge chunk {chunk}: {e}"))?;
        }
        if let Some(e) = failure {
            shared.fluent.failures.add(1);
            tracing::warn!(receiver = %shared.id, error = %e, "Fluent Forward event could not be decoded; closing the connection");
            return Err(e);
        }
        buf.drain(..start);
        buf.reserve(READ_BUFFER.max(buf.len().min(1 << 20)));
        let n = sock.read_buf(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(());
        }
    }
}

impl Shared {
    async fn deliver(&self, records: Vec<LogRecord>) {
        if records.is_empty() {
            return;
        }
        let n = records.len();
        self.fluent.records.add(n as i64);
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource::default()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope::default()),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let batch = Batch::from_request(Request::Logs(request));
        // retried without end while the pipeline says "later" (100 ms growing to 5 s)
        let mut backoff = Backoff::new(&RetrySettings {
            enabled: true,
            initial_interval: ::config::Duration(Duration::from_millis(100)),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: ::config::Duration(Duration::from_secs(5)),
            max_elapsed_time: ::config::Duration(Duration::ZERO),
        });
        loop {
            let err = match self.consumer.consume(batch.clone()).await {
                Ok(()) => {
                    self.metrics.accepted(Signal::Logs, n);
                    return;
                }
                Err(e) => e,
            };
            if let runtime::ErrorKind::Partial { rejected } = err.kind {
                self.metrics
                    .accepted(Signal::Logs, n.saturating_sub(rejected as usize));
                self.metrics.refused(Signal::Logs, rejected as usize);
                return;
            }
            let wait = match err.is_retryable() && !self.stopping.load(Ordering::Relaxed) {
                true => backoff.next_backoff(),
                false => None,
            };
            let Some(wait) = wait else {
                self.metrics.refused(Signal::Logs, n);
                tracing::error!(receiver = %self.id, error = %err, dropped_items = n, "Failed to send logs downstream; dropping them");
                return;
            };
            tokio::time::sleep(err.retry_after.map_or(wait, |d| d.max(wait))).await;
        }
    }
}

/// Go's heartbeat responder: echo the first byte of each datagram to its sender.
async fn heartbeats(udp: UdpSocket, stop: CancellationToken) {
    let mut b = [0u8; 1];
    loop {
        let got = tokio::select! {
            _ = stop.cancelled() => return,
            r = udp.recv_from(&mut b) => r,
        };
        match got {
            Ok((_, peer)) => {
                if let Err(e) = udp.send_to(&b, peer).await {
                    tracing::debug!(addr = %peer, error = %e, "Failed to write back heartbeat packet");
                }
            }
            // a datagram longer than the buffer is an error on some systems; go on
            Err(_) => continue,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
