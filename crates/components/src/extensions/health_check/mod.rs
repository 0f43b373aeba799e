//! `health_check`: an HTTP endpoint for liveness/readiness probes, answering as the contrib
//! extension does.
//!
//! - Before all pipelines have started and once shutdown begins: **503** with
//!   `{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}`.
//! - In between: **200** with `{"status":"Server available","upSince":"<RFC 3339>","uptime":"<Go duration>"}`.
//! - Both as `Content-Type: application/json`. With `response_body` set, its `healthy` /
//!   `unhealthy` text is sent instead (as `text/plain`, which is what Go's content sniffing
//!   gives for it).
//!
//! `upSince` is written in UTC (`…Z`); Go writes the host's local zone, which is UTC in
//! the usual container. `check_collector_pipeline` is accepted and ignored.

pub mod config;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension, Host};
use tokio::task::JoinHandle;

use crate::util::time::rfc3339_utc;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "health_check"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(HealthCheck::new(set.id.to_string(), cfg.clone())))
    }
}

/// When the pipelines became ready, as a wall-clock time (for `upSince`) and a monotonic
/// one (for `uptime`).
#[derive(Clone, Copy)]
struct Ready {
    since: SystemTime,
    at: Instant,
}

struct Shared {
    cfg: Config,
    ready: Mutex<Option<Ready>>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

pub struct HealthCheck {
    id: String,
    shared: Arc<Shared>,
    server: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
    local_addr: Mutex<Option<SocketAddr>>,
}

impl HealthCheck {
    pub fn new(id: String, cfg: Config) -> Self {
        let headers = cfg
            .response_headers
            .iter()
            .filter_map(|(k, v)| match (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
                (Ok(k), Ok(v)) => Some((k, v)),
                _ => {
                    tracing::warn!(extension = %id, header = %k, "ignoring response header that is not a valid HTTP header");
                    None
                }
            })
            .collect();
        HealthCheck {
            id,
            shared: Arc::new(Shared {
                cfg,
                ready: Mutex::new(None),
                headers,
            }),
            server: Mutex::new(None),
            local_addr: Mutex::new(None),
        }
    }

    /// The address the server listens on, once started (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.local_addr.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_ready(&self, ready: bool) {
        let mut state = self.shared.ready.lock().unwrap_or_else(|p| p.into_inner());
        match (ready, state.is_some()) {
            (true, false) => {
                *state = Some(Ready {
                    since: SystemTime::now(),
                    at: Instant::now(),
                })
            }
            (false, true) => *state = None,
            _ => return,
        }
        let status = if ready { "ready" } else { "unavailable" };
        tracing::info!(extension = %self.id, status, "Health Check state change");
    }
}

#[async_trait]
impl Component for HealthCheck {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let tls = match &self.shared.cfg.tls {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        let listener = crate::util::http_server::bind(&self.shared.cfg.endpoint).await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(extension = %self.id, endpoint = %addr, path = %self.shared.cfg.path, "Starting health_check extension");
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(self.shared.clone());
        let stop = CancellationToken::new();
        let token = stop.clone();
        let id = self.id.clone();
        if let Some(acceptor) = tls {
            let handle = serve_axum_tls(app, acceptor, listener, stop.clone());
            *self.local_addr.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
            *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, handle));
            return Ok(());
        }
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await
            {
                tracing::error!(extension = %id, error = %e, "health_check server failed");
            }
        });
        *self.local_addr.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, handle));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.set_ready(false);
        let running = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, handle)) = running {
            stop.cancel();
            handle
                .await
                .map_err(|e| format!("health_check server task failed: {e}"))?;
        }
        Ok(())
    }
}

/// axum has no TLS server: over TLS the router answers through the shared accept loop, its
/// (small) bodies collected into one buffer.
fn serve_axum_tls(
    app: axum::Router,
    acceptor: crate::util::tls::ServerTls,
    listener: tokio::net::TcpListener,
    stop: CancellationToken,
) -> JoinHandle<()> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    crate::util::http_server::serve_tls(
        "health_check",
        crate::util::http_server::ServerOptions::default(),
        Some(acceptor),
        listener,
        stop,
        move |req: http::Request<hyper::body::Incoming>| {
            let app = app.clone();
            async move {
                let resp = match app.oneshot(req.map(axum::body::Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                let (parts, body) = resp.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                Ok(http::Response::from_parts(
                    parts,
                    http_body_util::Full::new(bytes),
                ))
            }
        },
    )
}

impl Extension for HealthCheck {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn pipelines_ready(&self) {
        self.set_ready(true);
    }

    fn pipelines_not_ready(&self) {
        self.set_ready(false);
    }
}

/// Serves the configured path (a subtree when it ends in `/`, like Go's ServeMux) with the
/// current state; anything else is Go's 404.
async fn answer(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let path = &shared.cfg.path;
    let matches = if path.ends_with('/') {
        uri.path().starts_with(path.as_str())
    } else {
        uri.path() == path
    };
    let mut response = if !matches {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "404 page not found\n",
        )
            .into_response()
    } else {
        let ready = *shared.ready.lock().unwrap_or_else(|p| p.into_inner());
        let status = if ready.is_some() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        match &shared.cfg.response_body {
            Some(custom) => {
                let text = if ready.is_some() {
                    &custom.healthy
                } else {
                    &custom.unhealthy
                };
                if text.is_empty() {
                    status.into_response()
                } else {
                    (
                        status,
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        text.clone(),
                    )
                        .into_response()
                }
            }
            None => (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                status_json(ready),
            )
                .into_response(),
        }
    };
    for (k, v) in &shared.headers {
        response.headers_mut().insert(k.clone(), v.clone());
    }
    response
}

/// The body Go's handler marshals: fields in its order, zero time and empty uptime when
/// not ready.
fn status_json(ready: Option<Ready>) -> String {
    match ready {
        None => r#"{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}"#
            .to_string(),
        Some(r) => format!(
            r#"{{"status":"Server available","upSince":"{}","uptime":"{}"}}"#,
            rfc3339_utc(r.since),
            ::config::Duration(r.at.elapsed())
        ),
    }
}
