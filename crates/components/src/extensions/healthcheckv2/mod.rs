//! `healthcheckv2`: the contrib successor of `health_check`, reporting the status of each
//! component and pipeline from the runtime's component status events
//! ([`runtime::status`]).
//!
//! - Without `use_v2: true` it answers as `health_check` does on `endpoint` + `path`
//!   (200 `Server available` while the collector's aggregate status is OK or an error other
//!   than fatal, 503 `Server not available` otherwise; or `response_body`'s texts).
//! - With `use_v2: true` and an `http` section: `http.status.path` (default `/status`)
//!   answers the aggregate status as JSON, `?pipeline=<name>` one pipeline's (404 if it has
//!   not reported), `?verbose` with every component under it; `http.config.path`
//!   (`/config`, when `http.config.enabled`) answers the running configuration as JSON (the
//!   component sections as resolved, `service` with extensions and pipelines), or 503 before
//!   the extension has started, as Go before the collector hands it the configuration.
//! - `component_health` (`include_permanent_errors`, `include_recoverable_errors`,
//!   `recovery_duration`) makes errors count as unhealthy (HTTP 500): permanent ones at
//!   once, recoverable ones once they last longer than `recovery_duration`.
//! - The gRPC health service (`grpc:`) is not built: a config with it and `use_v2` is
//!   refused with a message saying so.
//!
//! As in Go, status events other than Starting are held until all pipelines have started,
//! so the aggregate does not flap between Starting and OK while the service starts.

mod aggregator;
pub mod config;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use hyper::body::Incoming;
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::status::{Event, InstanceId, Status};
use runtime::{Component, Extension, Host};
use serde::Serialize;

use self::aggregator::{AggregateStatus, Aggregator, ErrorPriority, NodeEvent};
use super::{ExtensionServer, HttpResponse, not_found, query_param, respond};
use crate::util::time::rfc3339_utc;

pub use self::config::Config;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "healthcheckv2"
    }

    fn stability(&self) -> Stability {
        Stability::Development
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(HealthCheckV2::new(
            set.id.to_string(),
            cfg.clone(),
        )))
    }
}

struct State {
    aggregator: Aggregator,
    /// Events held until the pipelines are ready (`None` once they are).
    queued: Option<Vec<(InstanceId, Event)>>,
}

struct Shared {
    cfg: Config,
    state: Mutex<State>,
    /// When the HTTP server started (legacy `upSince`, v2 `start_time`).
    started: Mutex<Option<(SystemTime, Instant)>>,
    /// The running configuration as JSON, once started.
    config_json: Mutex<Option<Vec<u8>>>,
}

pub struct HealthCheckV2 {
    id: String,
    shared: Arc<Shared>,
    server: ExtensionServer,
}

impl HealthCheckV2 {
    pub fn new(id: String, cfg: Config) -> Self {
        let priority = match &cfg.component_health {
            Some(ch) if ch.include_recoverable_errors && !ch.include_permanent_errors => {
                ErrorPriority::Recoverable
            }
            _ => ErrorPriority::Permanent,
        };
        HealthCheckV2 {
            id,
            shared: Arc::new(Shared {
                cfg,
                state: Mutex::new(State {
                    aggregator: Aggregator::new(priority),
                    queued: Some(Vec::new()),
                }),
                started: Mutex::new(None),
                config_json: Mutex::new(None),
            }),
            server: ExtensionServer::default(),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.local_addr()
    }

    fn v2_http(&self) -> bool {
        self.shared.cfg.use_v2 && self.shared.cfg.http.is_some()
    }
}

#[async_trait]
impl Component for HealthCheckV2 {
    async fn start(&self, host: &Host) -> Result<(), String> {
        if !host.service.config.is_null() {
            match serde_json::to_vec(&host.service.config) {
                Ok(json) => {
                    *self
                        .shared
                        .config_json
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(json)
                }
                Err(e) => {
                    tracing::warn!(extension = %self.id, error = %e, "could not marshal config")
                }
            }
        }
        let (endpoint, tls) = match (&self.shared.cfg.http, self.shared.cfg.use_v2) {
            (Some(h), true) => (h.endpoint.clone(), h.tls.clone()),
            (None, true) => return Ok(()), // grpc only: refused at validation
            (_, false) => (
                self.shared.cfg.endpoint.clone(),
                self.shared.cfg.tls.clone(),
            ),
        };
        // Certificates are read before binding, so their errors are not reported as a bind failure.
        let tls = match &tls {
            Some(t) => Some(t.acceptor(crate::util::tls::ALPN_HTTP1)?),
            None => None,
        };
        *self
            .shared
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((SystemTime::now(), Instant::now()));
        let shared = self.shared.clone();
        let addr = self
            .server
            .start_tls("healthcheckv2", &endpoint, tls, move |req| {
                handle(req, shared.clone())
            })
            .await
            .map_err(|e| format!("failed to bind to address {endpoint}: {e}"))?;
        tracing::info!(extension = %self.id, endpoint = %addr, v2 = self.v2_http(), "Starting healthcheckv2 extension");
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.server.stop().await;
        Ok(())
    }
}

impl Extension for HealthCheckV2 {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn component_status_changed(&self, source: &InstanceId, event: &Event) {
        let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        match &mut st.queued {
            Some(q) if event.status != Status::Starting => q.push((source.clone(), event.clone())),
            _ => st.aggregator.record(source, event),
        }
    }

    fn pipelines_ready(&self) {
        let mut st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = st.queued.take() {
            for (source, event) in q {
                st.aggregator.record(&source, &event);
            }
        }
    }
}

async fn handle(
    req: http::Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<HttpResponse, Infallible> {
    let path = req.uri().path();
    let cfg = &shared.cfg;
    if cfg.use_v2 {
        let Some(h) = &cfg.http else {
            return Ok(not_found());
        };
        if h.status.enabled && path == h.status.path {
            return Ok(v2_status(&shared, req.uri().query()));
        }
        if h.config.enabled && path == h.config.path {
            let conf = shared
                .config_json
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return Ok(match conf {
                Some(json) => respond(200, "application/json", json),
                // Go answers 503 until the collector has told it the configuration.
                None => respond(503, "text/plain; charset=utf-8", ""),
            });
        }
        return Ok(not_found());
    }
    let matches = if cfg.path.ends_with('/') {
        path.starts_with(cfg.path.as_str())
    } else {
        path == cfg.path
    };
    if !matches {
        return Ok(not_found());
    }
    Ok(legacy_status(&shared))
}

/// Go's `responseCodes`.
fn response_code(s: Status) -> u16 {
    match s {
        Status::Ok | Status::RecoverableError | Status::PermanentError => 200,
        Status::FatalError => 500,
        Status::None | Status::Starting | Status::Stopping | Status::Stopped => 503,
    }
}

fn v2_status(shared: &Shared, query: Option<&str>) -> HttpResponse {
    let pipeline = query_param(query, "pipeline").unwrap_or_default();
    let verbose = query_param(query, "verbose").is_some_and(|v| v != "false");
    let st = {
        let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.aggregator.status(&pipeline, verbose)
    };
    let Some(st) = st else {
        return respond(404, "text/plain; charset=utf-8", "");
    };
    let now = SystemTime::now();
    let health = shared.cfg.component_health.as_ref();
    let healthy = |ev: &NodeEvent| -> bool {
        let Some(ch) = health else {
            return true;
        };
        if ev.status == Status::PermanentError {
            return !ch.include_permanent_errors;
        }
        if ev.status == Status::RecoverableError && ch.include_recoverable_errors {
            return ev
                .timestamp
                .map(|t| now < t + ch.recovery_duration.0)
                .unwrap_or(true);
        }
        ev.status != Status::FatalError
    };
    let start = shared
        .started
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map(|(t, _)| t);
    let body = serialize(&st, start, &healthy);
    let mut code = response_code(st.event.status);
    if !body.healthy {
        code = 500;
    }
    let json = serde_json::to_vec(&body)
        .unwrap_or_else(|e| format!("{{\"error_message\":{:?}}}", e.to_string()).into_bytes());
    respond(code, "application/json", json)
}

/// Go's `serializableStatus`: fields in its order, `start_time` on the top node only,
/// `error` and `components` left out when empty.
#[derive(Serialize)]
struct Serialized {
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    healthy: bool,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    status_time: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    components: BTreeMap<String, Serialized>,
}

/// Go's zero `time.Time` in JSON.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn go_time(t: Option<SystemTime>) -> String {
    t.map(rfc3339_utc).unwrap_or_else(|| ZERO_TIME.to_string())
}

fn serialize(
    st: &AggregateStatus,
    start: Option<SystemTime>,
    healthy: &dyn Fn(&NodeEvent) -> bool,
) -> Serialized {
    fn node(st: &AggregateStatus, healthy: &dyn Fn(&NodeEvent) -> bool) -> Serialized {
        Serialized {
            start_time: None,
            healthy: healthy(&st.event),
            status: st.event.status.as_str(),
            error: st.event.error.clone().filter(|e| !e.is_empty()),
            status_time: go_time(st.event.timestamp),
            components: st
                .children
                .iter()
                .map(|(k, v)| (k.clone(), node(v, healthy)))
                .collect(),
        }
    }
    let mut top = node(st, healthy);
    top.start_time = Some(go_time(start));
    top
}

/// The `health_check` answer, from the collector's aggregate status.
fn legacy_status(shared: &Shared) -> HttpResponse {
    let status = {
        let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .aggregator
            .status("", false)
            .map(|s| s.event.status)
            .unwrap_or(Status::None)
    };
    // Go's legacyResponseCodes: as the v2 codes, but a fatal error is 503.
    let code = match status {
        Status::Ok | Status::RecoverableError | Status::PermanentError => 200,
        _ => 503,
    };
    if let Some(custom) = &shared.cfg.response_body {
        let text = if code == 200 {
            &custom.healthy
        } else {
            &custom.unhealthy
        };
        return respond(code, "text/plain; charset=utf-8", text.clone());
    }
    let body = if code == 200 {
        let started = *shared.started.lock().unwrap_or_else(|p| p.into_inner());
        let (since, at) = started.unwrap_or((SystemTime::now(), Instant::now()));
        format!(
            r#"{{"status":"Server available","upSince":"{}","uptime":"{}"}}"#,
            rfc3339_utc(since),
            ::config::Duration(at.elapsed())
        )
    } else {
        format!(r#"{{"status":"Server not available","upSince":"{ZERO_TIME}","uptime":""}}"#)
    };
    respond(code, "application/json", body)
}
