//! `zpages`: the core extension's in-process pages, with ferrotel's own facts.
//!
//! - `/debug/servicez`: build (command, description, version), start time, uptime.
//! - `/debug/pipelinez`: each pipeline with its input type, whether it mutates data, and
//!   its receivers, processors and exporters (connectors marked).
//! - `/debug/extensionz`: the running extensions.
//! - `/debug/featurez`: the feature gates ferrotel's components read, with their state
//!   in this process, and any other gate given on the command line.
//! - `/debug/tracez`: Go samples the collector's own spans; ferrotel has none, and shows per
//!   pipeline the pushes into it in the same latency buckets (running, >0s ... >1m, errors).
//! - `/debug/expvarz` (with `expvar.enabled`): JSON with the command line and the process's
//!   figures, where Go shows its expvar variables.

pub mod config;
mod pages;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use hyper::body::Incoming;
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::view::ServiceView;
use runtime::{Component, Extension, Host};

use super::{ExtensionServer, HttpResponse, not_found, respond};

pub use self::config::Config;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "zpages"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(ZPages::new(set.id.to_string(), cfg.clone())))
    }
}

pub struct ZPages {
    id: String,
    cfg: Config,
    server: ExtensionServer,
}

impl ZPages {
    pub fn new(id: String, cfg: Config) -> Self {
        ZPages {
            id,
            cfg,
            server: ExtensionServer::default(),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.local_addr()
    }
}

#[async_trait]
impl Component for ZPages {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let view = host.service.clone();
        let expvar = self.cfg.expvar.enabled;
        let tls = match &self.cfg.tls {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        let addr = self
            .server
            .start_tls("zpages", &self.cfg.endpoint, tls, move |req| {
                handle(req, view.clone(), expvar)
            })
            .await?;
        tracing::info!(extension = %self.id, endpoint = %addr, "Starting zPages extension");
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.server.stop().await;
        Ok(())
    }
}

impl Extension for ZPages {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

async fn handle(
    req: http::Request<Incoming>,
    view: Arc<ServiceView>,
    expvar: bool,
) -> Result<HttpResponse, Infallible> {
    let html = |body: String| respond(200, "text/html; charset=utf-8", body);
    Ok(match req.uri().path() {
        "/debug/servicez" => html(pages::servicez(&view)),
        "/debug/pipelinez" => html(pages::pipelinez(&view)),
        "/debug/extensionz" => html(pages::extensionz(&view)),
        "/debug/featurez" => html(pages::featurez()),
        "/debug/tracez" => html(pages::tracez(&view)),
        "/debug/expvarz" if expvar => respond(
            200,
            "application/json; charset=utf-8",
            pages::expvarz(&view),
        ),
        _ => not_found(),
    })
}
