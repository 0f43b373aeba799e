//! `zipkin` receiver: an HTTP server (default `localhost:9411`) taking Zipkin v1 JSON and
//! Thrift and v2 JSON/protobuf spans, as Go's contrib `zipkinreceiver`; the decoding and the translation
//! to OTLP are the [`zipkin`] crate's, the endpoint [`server`].

pub mod config;
mod server;
#[cfg(test)]
mod tests;

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
use runtime::{Component, Host, Receiver};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;
use self::server::ZipkinService;
use crate::receivers::otlp::config::bind_address;
use crate::util::http_server;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];

/// How long `shutdown` waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

impl ReceiverFactory for Factory {
    fn type_name(&self) -> &'static str {
        "zipkin"
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
            .ok_or("the zipkin receiver only produces traces")?;
        Ok(Arc::new(ZipkinReceiver::new(&set, typed(cfg), consumer)?))
    }
}

/// The server while running: its stop switch, its task and the bound address.
type Running = (CancellationToken, JoinHandle<()>, Option<SocketAddr>);

pub struct ZipkinReceiver {
    cfg: Config,
    service: Arc<ZipkinService>,
    running: Mutex<Option<Running>>,
}

impl ZipkinReceiver {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        consumer: runtime::SharedConsumer,
    ) -> Result<ZipkinReceiver, String> {
        let service = ZipkinService::new(
            cfg,
            consumer,
            &set.telemetry,
            &set.id.to_string(),
            Admission::global().clone(),
        )?;
        Ok(ZipkinReceiver {
            cfg: cfg.clone(),
            service: Arc::new(service),
            running: Mutex::new(None),
        })
    }

    /// The bound address while running (useful with port 0).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|r| r.2)
    }
}

fn serve(
    cfg: &Config,
    service: Arc<ZipkinService>,
    tls: Option<crate::util::tls::ServerTls>,
    listener: TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let options = http_server::ServerOptions {
        keep_alive: cfg.keep_alives_enabled,
        read_header_timeout: (!cfg.read_header_timeout.0.is_zero())
            .then_some(cfg.read_header_timeout.0),
    };
    http_server::serve_tls("Zipkin", options, tls, listener, stop, move |req| {
        service.clone().handle(req)
    })
}

#[async_trait]
impl Component for ZipkinReceiver {
    async fn start(&self, host: &Host) -> Result<(), String> {
        self.service.auth.start(host)?;
        let tls = match &self.cfg.tls {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        let listener = TcpListener::bind(bind_address(&self.cfg.endpoint))
            .await
            .map_err(|e| format!("failed to listen for Zipkin on {}: {e}", self.cfg.endpoint))?;
        let addr = listener.local_addr().ok();
        tracing::info!(endpoint = ?addr, "Starting Zipkin HTTP server");
        let stop = CancellationToken::new();
        let task = serve(&self.cfg, self.service.clone(), tls, listener, stop.clone());
        let previous = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace((stop, task, addr));
        if let Some((s, _, _)) = previous {
            s.cancel();
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some((stop, task, _)) = running else {
            return Ok(());
        };
        stop.cancel();
        tokio::time::timeout(DRAIN_TIMEOUT, task)
            .await
            .map(|_| ())
            .map_err(|_| {
                format!("zipkin receiver: requests still in flight after {DRAIN_TIMEOUT:?}")
            })
    }
}

impl Receiver for ZipkinReceiver {}
