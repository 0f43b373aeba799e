//! `otlp` receiver: OTLP over gRPC (`protocols::grpc`, default `localhost:4317`) and over HTTP
//! (`protocols::http`, default `localhost:4318`), one instance per receiver id serving every
//! signal its pipelines use, as the Go collector's `receiver/otlpreceiver`.
//!
//! Requests stay encoded: a protobuf body becomes a [`pdata::Batch`] by validating and counting
//! (`Batch::from_encoded`), not by decoding. Listeners are bound in `start` and drained in
//! `shutdown` (stop accepting, finish the requests in flight).
//!
//! Admission: while a `memory_limiter` refuses data, a request is refused before its body is
//! read (gRPC UNAVAILABLE, HTTP 503, `data refused due to high memory usage`), and the bytes
//! of the requests being read are bounded by the limiter's spike limit
//! ([`runtime::admission`]). The Go receiver reads and decodes every request first; refused
//! that late, a request has already taken its memory.
//!
//! Status codes follow otelcol.md §4, with one deliberate difference: an HTTP body over
//! `max_request_body_size` (after decompression) is answered `413 Payload Too Large`, where Go
//! answers 400. Both are permanent for OTLP clients; 413 says what happened.

pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod grpc;
pub mod http;
pub mod pipeline;
#[cfg(test)]
mod tests;

use crate::util::server_auth::ServerAuth;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::Signal;
use runtime::admission::Admission;
use runtime::factory::{
    AnyConfig, ReceiverFactory, ReceiverOutputs, Settings, Stability, parse_config, typed,
};
use runtime::{Component, Host, Receiver, Telemetry};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::config::{Config, GrpcConfig, HttpConfig, bind_address};
use self::grpc::{ExportServer, LogsService, MetricsService, ProfilesService, TraceService};
use self::http::HttpService;
use self::pipeline::Pipelines;
use crate::util::tls::ServerTls as TlsAcceptor;
use crate::util::{http_server, tls};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Stable),
    (Signal::Metrics, Stability::Stable),
    (Signal::Logs, Stability::Stable),
    (Signal::Profiles, Stability::Development),
];

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "otlp"
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
        Ok(Arc::new(OtlpReceiver::new(
            &set.id.to_string(),
            &set.telemetry,
            typed::<Config>(cfg),
            outputs,
            Admission::global().clone(),
        )?))
    }
}

/// One `otlp` receiver instance. Its listeners exist between `start` and `shutdown`.
pub struct OtlpReceiver {
    grpc: Option<(GrpcConfig, Arc<Pipelines>)>,
    http: Option<Arc<HttpService>>,
    http_cfg: Option<HttpConfig>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    grpc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
}

/// How long `shutdown` waits for requests in flight before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

impl OtlpReceiver {
    pub fn new(
        id: &str,
        telemetry: &Telemetry,
        cfg: &Config,
        outputs: ReceiverOutputs,
        admission: Admission,
    ) -> Result<Self, String> {
        let grpc = cfg.protocols.grpc.clone().map(|g| {
            let auth = server_auth(g.auth.as_ref(), g.include_metadata);
            (
                g,
                Arc::new(
                    Pipelines::new(outputs.clone(), telemetry, id, "grpc", admission.clone())
                        .with_server_auth(auth),
                ),
            )
        });
        let http = match &cfg.protocols.http {
            Some(h) => Some(Arc::new(HttpService::new(
                h,
                Arc::new(
                    Pipelines::new(outputs, telemetry, id, "http", admission)
                        .with_server_auth(server_auth(h.auth.as_ref(), h.include_metadata)),
                ),
            )?)),
            None => None,
        };
        Ok(OtlpReceiver {
            grpc,
            http,
            http_cfg: cfg.protocols.http.clone(),
            running: Mutex::new(None),
        })
    }

    /// The bound gRPC address while running (useful with port 0).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()?
            .grpc_addr
    }

    /// The bound HTTP address while running (useful with port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()?
            .http_addr
    }
}

fn server_auth(auth: Option<&config::AuthConfig>, include_metadata: bool) -> ServerAuth {
    ServerAuth::new(
        auth.map(|a| a.authenticator.as_str()),
        auth.map(|a| a.request_params.clone()).unwrap_or_default(),
        include_metadata,
    )
}

async fn bind(protocol: &str, endpoint: &str) -> Result<TcpListener, String> {
    TcpListener::bind(bind_address(endpoint))
        .await
        .map_err(|e| format!("failed to listen for OTLP/{protocol} on {endpoint}: {e}"))
}

fn serve_grpc(
    cfg: &GrpcConfig,
    pipelines: Arc<Pipelines>,
    tls: Option<TlsAcceptor>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let max = cfg.max_recv_msg_size();
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
    let router = server
        .add_service(ExportServer::<TraceService>::new(pipelines.clone(), max))
        .add_service(ExportServer::<MetricsService>::new(pipelines.clone(), max))
        .add_service(ExportServer::<LogsService>::new(pipelines.clone(), max))
        .add_service(ExportServer::<ProfilesService>::new(pipelines, max));
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
                let incoming = tls::incoming("OTLP/gRPC", listener, acceptor, stop.clone());
                router
                    .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "OTLP/gRPC server stopped");
        }
    })
}

fn serve_http(
    cfg: &HttpConfig,
    service: Arc<HttpService>,
    tls: Option<TlsAcceptor>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let options = http_server::ServerOptions {
        keep_alive: cfg.keep_alives_enabled,
        read_header_timeout: (!cfg.read_header_timeout.0.is_zero())
            .then_some(cfg.read_header_timeout.0),
    };
    http_server::serve_tls("OTLP/HTTP", options, tls, listener, stop, move |req| {
        service.clone().handle(req)
    })
}

#[async_trait]
impl Component for OtlpReceiver {
    async fn start(&self, host: &Host) -> Result<(), String> {
        // Authenticators first: an unknown one fails start before anything is bound.
        if let Some((_, pipelines)) = &self.grpc {
            pipelines.start_auth(host)?;
        }
        if let Some(service) = &self.http {
            service.pipelines().start_auth(host)?;
        }
        // Certificates are read at start, as Go's `ToServer` does.
        // Refused handshakes count as refused requests with reason `tls_handshake`.
        let grpc_tls = match &self.grpc {
            Some((c, pipelines)) => match &c.tls {
                Some(t) => Some(t.acceptor(tls::ALPN_H2)?.counted(
                    pipelines.refusal_counter(self::pipeline::RefusalReason::TlsHandshake),
                )),
                None => None,
            },
            None => None,
        };
        let http_tls = match (&self.http_cfg, &self.http) {
            (Some(c), Some(service)) => match &c.tls {
                Some(t) => Some(
                    t.acceptor(tls::ALPN_HTTP1)?.counted(
                        service
                            .pipelines()
                            .refusal_counter(self::pipeline::RefusalReason::TlsHandshake),
                    ),
                ),
                None => None,
            },
            _ => None,
        };
        // Bind everything first, so a taken port fails `start` without leaving a half-started server.
        let grpc_listener = match &self.grpc {
            Some((cfg, _)) => Some(bind("gRPC", &cfg.endpoint).await?),
            None => None,
        };
        let http_listener = match &self.http_cfg {
            Some(cfg) => Some(bind("HTTP", &cfg.endpoint).await?),
            None => None,
        };
        let stop = CancellationToken::new();
        let mut running = Running {
            stop: stop.clone(),
            tasks: Vec::new(),
            grpc_addr: None,
            http_addr: None,
        };
        if let (Some(listener), Some((cfg, pipelines))) = (grpc_listener, &self.grpc) {
            running.grpc_addr = listener.local_addr().ok();
            tracing::info!(endpoint = ?running.grpc_addr, "Starting GRPC server");
            running.tasks.push(serve_grpc(
                cfg,
                pipelines.clone(),
                grpc_tls,
                listener,
                stop.child_token(),
            ));
        }
        if let (Some(listener), Some(cfg), Some(service)) =
            (http_listener, &self.http_cfg, &self.http)
        {
            running.http_addr = listener.local_addr().ok();
            tracing::info!(endpoint = ?running.http_addr, "Starting HTTP server");
            running.tasks.push(serve_http(
                cfg,
                service.clone(),
                http_tls,
                listener,
                stop.child_token(),
            ));
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
        let drained =
            tokio::time::timeout(DRAIN_TIMEOUT, futures::future::join_all(running.tasks)).await;
        match drained {
            Ok(_) => Ok(()),
            Err(_) => Err(format!(
                "otlp receiver: requests still in flight after {DRAIN_TIMEOUT:?}"
            )),
        }
    }
}

impl Receiver for OtlpReceiver {}
