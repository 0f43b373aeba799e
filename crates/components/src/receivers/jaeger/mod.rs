//! `jaeger` receiver: Jaeger spans over gRPC (`protocols::grpc`, api_v2 `PostSpans`, default
//! `localhost:14250`), Thrift over HTTP (`protocols::thrift_http`, `POST /api/traces`, default
//! `localhost:14268`) and the agent's Thrift UDP ports (`protocols::thrift_compact`, default
//! `localhost:6831`; `protocols::thrift_binary`, default `localhost:6832`), as Go's contrib
//! `jaegerreceiver`. The formats and the translation to OTLP are the [`jaeger`] crate's; the
//! endpoints [`server`]'s. `remote_sampling` is refused at validation, as in Go.
//!
//! The translator's feature gates `pkg.translator.jaeger.DontEmitV0HttpConventions` and
//! `pkg.translator.jaeger.EmitV1HttpConventions` are read from `--feature-gates`.

pub mod config;
pub mod server;
#[cfg(test)]
mod tests;

use crate::util::server_auth::ServerAuth;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use jaeger::thrift::Protocol;
use jaeger::translate::{GATE_DONT_EMIT_V0_HTTP, GATE_EMIT_V1_HTTP, Options};
use pdata::Signal;
use runtime::admission::Admission;
use runtime::factory::{
    AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, parse_config, typed,
};
use runtime::{Component, Host, Receiver};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use self::config::{GrpcConfig, HttpConfig, Udp};
use self::server::{
    CollectorServer, HttpService, Shared, TRANSPORT_BINARY, TRANSPORT_COMPACT, TRANSPORT_GRPC,
    TRANSPORT_HTTP, UdpServer,
};
use crate::receivers::otlp::config::bind_address;
use crate::receivers::otlp::pipeline::Pipelines;
use crate::util::http_server;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];

/// How long `shutdown` waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "jaeger"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String> {
        let consumer = outputs
            .traces
            .clone()
            .ok_or("the jaeger receiver only produces traces")?;
        Ok(Arc::new(JaegerReceiver::new(
            &set,
            typed(cfg),
            consumer,
            Admission::global().clone(),
        )))
    }
}

/// The translation switches from this process's `--feature-gates`.
pub fn options_from_gates() -> Options {
    Options {
        emit_v0_http: !runtime::featuregate::enabled(GATE_DONT_EMIT_V0_HTTP, false),
        emit_v1_http: runtime::featuregate::enabled(GATE_EMIT_V1_HTTP, false),
    }
}

/// The bound addresses while running (useful with port 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Addrs {
    pub grpc: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub compact: Option<SocketAddr>,
    pub binary: Option<SocketAddr>,
}

struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    addrs: Addrs,
}

pub struct JaegerReceiver {
    cfg: Config,
    id: String,
    telemetry: runtime::Telemetry,
    shared: Arc<Shared>,
    /// Packets the UDP ports dropped because their queue was full.
    pub dropped_packets: Arc<AtomicU64>,
    running: Mutex<Option<Running>>,
}

impl JaegerReceiver {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        consumer: runtime::SharedConsumer,
        admission: Admission,
    ) -> JaegerReceiver {
        JaegerReceiver {
            cfg: cfg.clone(),
            id: set.id.to_string(),
            telemetry: set.telemetry.clone(),
            shared: Arc::new(Shared {
                consumer,
                options: options_from_gates(),
                admission,
            }),
            dropped_packets: Arc::new(AtomicU64::new(0)),
            running: Mutex::new(None),
        }
    }

    pub fn addrs(&self) -> Addrs {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|r| r.addrs)
            .unwrap_or_default()
    }

    /// The OTLP receiver's accounting for one transport.
    fn pipelines(&self, transport: &'static str) -> Arc<Pipelines> {
        self.pipelines_with(transport, ServerAuth::default())
    }

    /// The same with a server's `auth` and `include_metadata`.
    fn pipelines_with(&self, transport: &'static str, auth: ServerAuth) -> Arc<Pipelines> {
        let outputs = ReceiverOutputs {
            traces: Some(self.shared.consumer.clone()),
            ..ReceiverOutputs::default()
        };
        Arc::new(
            Pipelines::new(
                outputs,
                &self.telemetry,
                &self.id,
                transport,
                self.shared.admission.clone(),
            )
            .with_server_auth(auth),
        )
    }
}

async fn bind_tcp(what: &str, endpoint: &str) -> Result<TcpListener, String> {
    TcpListener::bind(bind_address(endpoint))
        .await
        .map_err(|e| format!("failed to bind to {what} address {endpoint:?}: {e}"))
}

fn serve_grpc(
    cfg: &GrpcConfig,
    service: CollectorServer,
    tls: Option<crate::util::tls::ServerTls>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let mut server = tonic::transport::Server::builder();
    if cfg.max_concurrent_streams > 0 {
        server = server.max_concurrent_streams(cfg.max_concurrent_streams);
    }
    if let Some(params) = cfg
        .keepalive
        .as_ref()
        .and_then(|k| k.server_parameters.as_ref())
    {
        let some = |d: ::config::Duration| (!d.0.is_zero()).then_some(d.0);
        if let Some(age) = some(params.max_connection_age) {
            server = server.max_connection_age(age);
        }
        if let Some(grace) = some(params.max_connection_age_grace) {
            server = server.max_connection_age_grace(grace);
        }
        server = server
            .http2_keepalive_interval(some(params.time))
            .http2_keepalive_timeout(some(params.timeout));
    }
    let router = server.add_service(service);
    tokio::spawn(async move {
        let served = match tls {
            None => {
                let incoming =
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
                router
                    .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                    .await
            }
            Some(acceptor) => {
                let incoming =
                    crate::util::tls::incoming("Jaeger gRPC", listener, acceptor, stop.clone());
                router
                    .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "Jaeger gRPC server stopped");
        }
    })
}

fn serve_http(
    cfg: &HttpConfig,
    service: Arc<HttpService>,
    tls: Option<crate::util::tls::ServerTls>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let options = http_server::ServerOptions {
        keep_alive: cfg.keep_alives_enabled,
        read_header_timeout: (!cfg.read_header_timeout.0.is_zero())
            .then_some(cfg.read_header_timeout.0),
    };
    http_server::serve_tls(
        "Jaeger Thrift HTTP",
        options,
        tls,
        listener,
        stop,
        move |req| service.clone().handle(req),
    )
}

#[async_trait]
impl Component for JaegerReceiver {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let p = &self.cfg.protocols;
        // Authenticators first: an unknown one fails start before anything is bound.
        let server_auth = |auth: Option<&crate::receivers::otlp::config::AuthConfig>,
                           include_metadata: bool| {
            ServerAuth::new(
                auth.map(|a| a.authenticator.as_str()),
                auth.map(|a| a.request_params.clone()).unwrap_or_default(),
                include_metadata,
            )
        };
        let grpc_pipelines = match &p.grpc {
            Some(g) => {
                let pl = self.pipelines_with(
                    TRANSPORT_GRPC,
                    server_auth(g.auth.as_ref(), g.include_metadata),
                );
                pl.start_auth(host)?;
                Some(pl)
            }
            None => None,
        };
        let http_pipelines = match &p.thrift_http {
            Some(h) => {
                let pl = self.pipelines_with(
                    TRANSPORT_HTTP,
                    server_auth(h.auth.as_ref(), h.include_metadata),
                );
                pl.start_auth(host)?;
                Some(pl)
            }
            None => None,
        };
        // Certificates are read at start, as Go's `ToServer` does.
        let grpc_tls = match p.grpc.as_ref().and_then(|g| g.tls.as_ref()) {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_H2)?),
            None => None,
        };
        let http_tls = match p.thrift_http.as_ref().and_then(|h| h.tls.as_ref()) {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        // Bind everything first, so a taken port fails `start` with nothing left running.
        let grpc = match &p.grpc {
            Some(g) => Some(bind_tcp("gRPC", &g.endpoint).await?),
            None => None,
        };
        let http = match &p.thrift_http {
            Some(h) => Some(bind_tcp("Collector", &h.endpoint).await?),
            None => None,
        };
        let mut udp = Vec::new();
        for (cfg, protocol, transport) in [
            (
                p.thrift_compact.as_ref().map(Udp::from),
                Protocol::Compact,
                TRANSPORT_COMPACT,
            ),
            (
                p.thrift_binary.as_ref().map(Udp::from),
                Protocol::Binary,
                TRANSPORT_BINARY,
            ),
        ] {
            if let Some(cfg) = cfg {
                let socket = UdpServer::bind(&cfg, &bind_address(&cfg.endpoint))?;
                udp.push((cfg, protocol, transport, socket));
            }
        }
        let stop = CancellationToken::new();
        let mut running = Running {
            stop: stop.clone(),
            tasks: Vec::new(),
            addrs: Addrs::default(),
        };
        if let (Some(listener), Some(cfg), Some(pipelines)) = (grpc, &p.grpc, grpc_pipelines) {
            running.addrs.grpc = listener.local_addr().ok();
            tracing::info!(endpoint = ?running.addrs.grpc, "Starting gRPC server for Jaeger Collector");
            let service =
                CollectorServer::new(self.shared.clone(), pipelines, cfg.max_recv_msg_size());
            running.tasks.push(serve_grpc(
                cfg,
                service,
                grpc_tls,
                listener,
                stop.child_token(),
            ));
        }
        if let (Some(listener), Some(cfg), Some(pipelines)) = (http, &p.thrift_http, http_pipelines)
        {
            running.addrs.http = listener.local_addr().ok();
            tracing::info!(endpoint = ?running.addrs.http, "Starting HTTP server for Jaeger Collector");
            let service = Arc::new(HttpService::new(cfg, self.shared.clone(), pipelines)?);
            running.tasks.push(serve_http(
                cfg,
                service,
                http_tls,
                listener,
                stop.child_token(),
            ));
        }
        for (cfg, protocol, transport, socket) in udp {
            let addr = socket.local_addr().ok();
            match protocol {
                Protocol::Compact => {
                    running.addrs.compact = addr;
                    tracing::info!(endpoint = ?addr, "Starting UDP server for Compact Thrift");
                }
                Protocol::Binary => {
                    running.addrs.binary = addr;
                    tracing::info!(endpoint = ?addr, "Starting UDP server for Binary Thrift");
                }
            }
            let server = UdpServer {
                shared: self.shared.clone(),
                pipelines: self.pipelines(transport),
                protocol,
                cfg,
                dropped: self.dropped_packets.clone(),
            };
            running.tasks.push(server.serve(socket, stop.child_token()));
        }
        let previous = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(running);
        if let Some(previous) = previous {
            previous.stop.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(running) = running else {
            return Ok(());
        };
        running.stop.cancel();
        tokio::time::timeout(DRAIN_TIMEOUT, futures::future::join_all(running.tasks))
            .await
            .map(|_| ())
            .map_err(|_| {
                format!("jaeger receiver: requests still in flight after {DRAIN_TIMEOUT:?}")
            })
    }
}

impl Receiver for JaegerReceiver {}
