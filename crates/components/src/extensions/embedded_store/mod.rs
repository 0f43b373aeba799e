//! `embedded_store`: keeps the telemetry that `embedded_store` exporters write (traces,
//! logs, metrics) in ferrotel's own store (the `store` crate: on disk under `directory` or in
//! memory, capped by size and age) and serves it over HTTP through the query APIs Grafana
//! and the Jaeger UI speak (the `ui` crate): Prometheus, Loki, Tempo (under `/tempo`) and
//! Jaeger. It is an extension, as otel-desktop-viewer and Jaeger v2 do it, because
//! extensions start before the pipelines and stop after them: the store is open before the
//! first write and closed after the last.

pub mod config;
mod derived;
pub(crate) use derived::Derived;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension, Host};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::config::Config;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "embedded_store"
    }

    fn stability(&self) -> Stability {
        Stability::Alpha
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(EmbeddedStore {
            set: Settings {
                id: set.id.clone(),
                kind: set.kind,
                telemetry: set.telemetry.clone(),
            },
            derived: Mutex::new(None),
            id: set.id.to_string(),
            cfg: cfg.clone(),
            telemetry: set.telemetry.clone(),
            store: Mutex::new(None),
            server: Mutex::new(None),
            local_addr: Mutex::new(None),
        }))
    }
}

pub struct EmbeddedStore {
    set: Settings,
    derived: Mutex<Option<Arc<derived::Derived>>>,
    id: String,
    cfg: Config,
    telemetry: runtime::telemetry::Telemetry,
    store: Mutex<Option<store::Store>>,
    server: Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
    local_addr: Mutex<Option<SocketAddr>>,
}

impl EmbeddedStore {
    /// The open store (between start and shutdown).
    pub fn store(&self) -> Option<store::Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The generators of RED and service-graph metrics from stored spans, when enabled.
    pub(crate) fn derived(&self) -> Option<Arc<derived::Derived>> {
        self.derived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The extension's settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Where the query APIs listen, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.local_addr.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn options(&self) -> store::Options {
        store::Options {
            dir: (!self.cfg.in_memory).then(|| self.cfg.directory.clone().into()),
            max_bytes: self.cfg.max_size_mib.saturating_mul(1 << 20),
            max_age: self.cfg.retention.0,
            flush_interval: self.cfg.flush_interval.0,
            block_age: self.cfg.block_duration.0,
            head_bytes: 0,
        }
    }

    fn register_metrics(&self, s: &store::Store) {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &self.telemetry;
        macro_rules! counter {
            ($name:literal, $help:literal, $field:ident) => {{
                let s = s.clone();
                t.observe($name, $help, "counter", move || {
                    s.stats().$field.load(Relaxed) as f64
                });
            }};
        }
        counter!(
            "otelcol_store_evicted_spans",
            "Spans evicted from the embedded store by its size or age limit",
            evicted_spans
        );
        counter!(
            "otelcol_store_evicted_log_records",
            "Log records evicted from the embedded store by its size or age limit",
            evicted_log_records
        );
        counter!(
            "otelcol_store_evicted_metric_points",
            "Metric samples evicted from the embedded store by its size or age limit",
            evicted_samples
        );
        counter!(
            "otelcol_store_refused_items",
            "Items the embedded store could not keep (no trace id, no metric name, untranslatable points)",
            invalid_items
        );
        counter!(
            "otelcol_store_lost_items_at_start",
            "Items found damaged in the embedded store's files at start",
            lost_at_open
        );
        let u = s.clone();
        t.observe(
            "otelcol_store_size_bytes",
            "Bytes the embedded store holds against its size cap (blocks and unsealed data)",
            "gauge",
            move || u.usage().total() as f64,
        );
    }
}

#[async_trait]
impl Component for EmbeddedStore {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let opts = self.options();
        if let Some(d) = &opts.dir {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create directory {}: {e}", d.display()))?;
        }
        let (s, report) = tokio::task::spawn_blocking(move || store::Store::open(opts))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot open the store: {e}"))?;
        for p in &report.problems {
            tracing::warn!(extension = %self.id, problem = %p, "Embedded store damaged; the intact data is kept");
        }
        let where_ = if self.cfg.in_memory {
            "memory".to_string()
        } else {
            std::fs::canonicalize(&self.cfg.directory)
                .map_or(self.cfg.directory.clone(), |p| p.display().to_string())
        };
        self.register_metrics(&s);
        if self.cfg.derived_metrics {
            let d = Arc::new(derived::Derived::new(s.clone(), &self.set)?);
            d.start(host).await?;
            *self.derived.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
        }
        let listener = crate::util::http_server::bind(&self.cfg.endpoint).await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let app = ui::router(ui::Api::new(Arc::new(s.clone())))
            .merge(webui::router(collector_status(host, &self.telemetry)));
        let stop = CancellationToken::new();
        let token = stop.clone();
        let id = self.id.clone();
        let handle = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await
            {
                tracing::error!(extension = %id, error = %e, "embedded_store server failed");
            }
        });
        tracing::info!(
            extension = %self.id,
            data = %where_,
            max_size_mib = self.cfg.max_size_mib,
            replayed = report.replayed_records,
            "Embedded store open"
        );
        for line in ui::banner(&format!("http://{addr}")) {
            tracing::info!(extension = %self.id, "{line}");
        }
        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
        *self.local_addr.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, handle));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        let running = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((stop, handle)) = running {
            stop.cancel();
            let _ = handle.await;
        }
        let d = self
            .derived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(d) = d {
            d.shutdown().await;
        }
        let open = self.store.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = open {
            tokio::task::spawn_blocking(move || s.close())
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Extension for EmbeddedStore {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What the UI's collector page shows (`GET /api/ferrotel/collector`): the build, when the
/// service started, the running pipelines and extensions, and every `otelcol_*` self-metric
/// series (histograms as `_count` and `_sum`) with its labels and current value; the page
/// computes rates from two polls.
pub(crate) fn collector_status(
    host: &Host,
    telemetry: &runtime::telemetry::Telemetry,
) -> webui::CollectorStatus {
    let view = host.service.clone();
    let telemetry = telemetry.clone();
    Arc::new(move || {
        let pipelines: Vec<serde_json::Value> = view
            .pipelines
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "signal": p.signal,
                    "receivers": p.receivers,
                    "processors": p.processors,
                    "exporters": p.exporters,
                    "connectors": p.connectors,
                })
            })
            .collect();
        let metrics: Vec<serde_json::Value> = telemetry
            .snapshot()
            .into_iter()
            .filter(|s| s.name.starts_with("otelcol_"))
            .map(|s| {
                let labels: serde_json::Map<String, serde_json::Value> = s
                    .labels
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                // Whole numbers as integers; JSON has no NaN or infinities: those are null.
                let value = if s.value.fract() == 0.0 && s.value.abs() < 9e15 {
                    serde_json::Value::from(s.value as i64)
                } else {
                    serde_json::Number::from_f64(s.value)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                };
                serde_json::json!({
                    "name": s.name,
                    "kind": s.kind,
                    "labels": labels,
                    "value": value,
                })
            })
            .collect();
        let start_ms = view
            .start_time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        serde_json::json!({
            "version": view.build.version,
            "start_time_unix_ms": start_ms,
            "uptime_seconds": view.started.elapsed().as_secs_f64(),
            "pipelines": pipelines,
            "extensions": view.extensions,
            "metrics": metrics,
        })
    })
}
