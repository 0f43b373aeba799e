//! What `tcp_log`, `udp_log` and `syslog` share: the sockets of a [`stanza::input`] TCP or
//! UDP input, the stanza operators behind them, and delivery downstream.
//!
//! Not a component itself; each of those receivers is a factory over [`NetLogReceiver`].
//! Delivery is `file_log`'s ([`Delivery::send`]): the records of one read (a TCP read, or
//! the datagrams waiting on a UDP socket, up to [`MAX_BATCH`]) are one batch, sent before
//! the next read, so a slow or refusing pipeline stops reading (TCP flow control holds the
//! client; the kernel's UDP buffer overflows as it would in Go) instead of growing memory.
//! Retryable refusals are retried as `file_log` retries them; a malformed message is
//! reported by the operators and the connection goes on.

pub mod config;
pub(crate) mod tcp;
#[cfg(test)]
pub(crate) mod testutil;
mod udp;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use runtime::factory::Settings;
use runtime::telemetry::ReceiverMetrics;
use runtime::{Component, Host, Receiver};
use stanza::input::{HostResolver, TcpInput, UdpInput};
use stanza::{Entry, OperatorConfig, Pipeline, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Common;
use crate::receivers::filelog::reader::{Delivery, MAX_BATCH, now_nanos, render_static};
use crate::receivers::otlp::config::bind_address;

/// The socket a receiver listens on.
#[derive(Debug, Clone)]
pub enum Input {
    Tcp(TcpInput),
    Udp(UdpInput),
}

/// How often held entries (recombine's `force_flush_period`) are looked at.
const TIMER_TICK: Duration = Duration::from_millis(100);

/// Entries, operators and delivery, shared by every connection of one receiver.
pub(crate) struct Shared {
    pipeline: Mutex<Pipeline>,
    attributes: Vec<(stanza::Key, Value)>,
    resource: Vec<(stanza::Key, Value)>,
    delivery: Delivery,
    /// Names for `add_attributes`; `None` when it is off.
    resolver: Option<HostResolver>,
}

impl Shared {
    /// A new entry as Go's input helper makes it: body, then the static attributes and
    /// resource (the `net.*` attributes come after, from the socket).
    fn entry(&self, body: String, observed: i64) -> Entry {
        let mut e = Entry::with_body(body, observed);
        for (k, v) in &self.attributes {
            e.attributes.insert_key(k, v.clone());
        }
        for (k, v) in &self.resource {
            e.resource.insert_key(k, v.clone());
        }
        e
    }

    /// Runs entries through the operators and delivers what comes out.
    async fn handle(&self, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(entries.len());
        lock(&self.pipeline).process_batch(entries, &mut |e| out.push(e));
        self.deliver(out).await;
    }

    async fn deliver(&self, out: Vec<Entry>) {
        if let Err(e) = self.delivery.send(out).await {
            tracing::warn!(receiver = %self.delivery.id, error = %e.0, "log records dropped at shutdown");
        }
    }

    async fn flush_expired(&self) {
        let mut out = Vec::new();
        {
            let mut p = lock(&self.pipeline);
            if !p.needs_flushing() {
                return;
            }
            p.flush_expired(now_nanos(), &mut |e| out.push(e));
        }
        self.deliver(out).await;
    }

    async fn flush_all(&self) {
        let mut out = Vec::new();
        lock(&self.pipeline).flush_all(&mut |e| out.push(e));
        self.deliver(out).await;
    }
}

struct Running {
    stop: CancellationToken,
    stopping: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    addr: Option<SocketAddr>,
}

/// One `tcp_log` / `udp_log` / `syslog` receiver: listens between `start` and `shutdown`.
pub struct NetLogReceiver {
    type_name: &'static str,
    id: String,
    input: Input,
    /// The receiver's operators (syslog's parser first).
    operators: Vec<OperatorConfig>,
    common: Common,
    consumer: runtime::SharedConsumer,
    metrics: ReceiverMetrics,
    running: Mutex<Option<Running>>,
}

impl NetLogReceiver {
    pub fn new(
        type_name: &'static str,
        set: &Settings,
        input: Input,
        operators: Vec<OperatorConfig>,
        common: Common,
        consumer: runtime::SharedConsumer,
    ) -> NetLogReceiver {
        let id = set.id.to_string();
        NetLogReceiver {
            type_name,
            metrics: ReceiverMetrics::new(&set.telemetry, &id, ""),
            id,
            input,
            operators,
            common,
            consumer,
            running: Mutex::new(None),
        }
    }

    /// The bound address while running (for `:0` in tests).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().and_then(|r| r.addr)
    }
}

#[async_trait]
impl Component for NetLogReceiver {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let pipeline = Pipeline::build(&self.operators).map_err(|e| e.message)?;
        let stopping = CancellationToken::new();
        let add_attributes = match &self.input {
            Input::Tcp(t) => t.add_attributes,
            Input::Udp(u) => u.add_attributes,
        };
        let shared = Arc::new(Shared {
            pipeline: Mutex::new(pipeline),
            attributes: render_static(&self.common.attributes, "attributes"),
            resource: render_static(&self.common.resource, "resource"),
            delivery: Delivery {
                consumer: self.consumer.clone(),
                handle: tokio::runtime::Handle::current(),
                metrics: self.metrics.clone(),
                retry: self.common.retry_on_failure.clone(),
                stopping: stopping.clone(),
                id: Arc::from(self.id.as_str()),
                failing: None,
            },
            resolver: add_attributes.then(HostResolver::from_system),
        });
        let stop = CancellationToken::new();
        let (mut tasks, addr) = match &self.input {
            Input::Tcp(t) => {
                // No ALPN: log senders over TLS name no application protocol.
                let tls = match tcp::tls_config(t)? {
                    Some(c) => Some(c.acceptor(&[])?),
                    None => None,
                };
                let listener = tokio::net::TcpListener::bind(bind_address(&t.listen_address))
                    .await
                    .map_err(|e| {
                        format!(
                            "failed to listen on interface: failed to configure tcp listener: listen tcp {}: {e}",
                            t.listen_address
                        )
                    })?;
                let addr = listener.local_addr().ok();
                let task = tokio::spawn(tcp::serve(
                    listener,
                    tls,
                    Arc::new(t.clone()),
                    shared.clone(),
                    stop.clone(),
                ));
                (vec![task], addr)
            }
            Input::Udp(u) => {
                let socket = tokio::net::UdpSocket::bind(bind_address(&u.listen_address))
                    .await
                    .map_err(|e| {
                        format!(
                            "failed to open connection: listen udp {}: {e}",
                            u.listen_address
                        )
                    })?;
                let addr = socket.local_addr().ok();
                let socket = Arc::new(socket);
                let input = Arc::new(u.clone());
                let tasks = (0..u.readers.max(1))
                    .map(|_| {
                        tokio::spawn(udp::serve(
                            socket.clone(),
                            input.clone(),
                            shared.clone(),
                            stop.clone(),
                        ))
                    })
                    .collect();
                (tasks, addr)
            }
        };
        tracing::info!(receiver = %self.id, kind = self.type_name, endpoint = ?addr, "Listening for logs");
        if lock(&shared.pipeline).needs_flushing() {
            let (shared, stop) = (shared.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(TIMER_TICK);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tick.tick() => shared.flush_expired().await,
                    }
                }
            }));
        }
        *lock(&self.running) = Some(Running {
            stop,
            stopping,
            tasks,
            shared,
            addr,
        });
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let Some(r) = lock(&self.running).take() else {
            return Ok(());
        };
        r.stopping.cancel();
        r.stop.cancel();
        for t in r.tasks {
            let _ = t.await;
        }
        r.shared.flush_all().await;
        Ok(())
    }
}

impl Receiver for NetLogReceiver {}

/// `MAX_BATCH` records per delivery, as file_log sends them.
pub(crate) const BATCH: usize = MAX_BATCH;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
