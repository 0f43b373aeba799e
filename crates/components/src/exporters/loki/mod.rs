//! `loki` (deprecated upstream in favour of `otlp_http` to Loki's native OTLP endpoint, still
//! in wide use): pushes logs to Loki's push API as Go's contrib `lokiexporter` (release
//! v0.130.x) and its translator `pkg/translator/loki` do — labels and line format from the
//! `loki.*` attribute hints, one request per tenant, protobuf + snappy — through the
//! exporter helper (queue, retry). As in Go, the helper's per-attempt timeout is off and the
//! HTTP client's `timeout` (30s) bounds each request.
//!
//! Batches that hold records of several tenants are split per tenant before the queue, so
//! that each tenant's request is queued, retried and counted on its own: a tenant whose
//! request Loki refuses (or that is down) does not hold back, lose or duplicate the others'.

pub mod config;
mod entries;
pub mod fuzzing;
mod line;
/// Loki's push messages live with the store, which reads them on `/loki/api/v1/push`.
pub use store::lokiproto as proto;
mod push;
#[cfg(test)]
mod tests;
mod translate;
#[cfg(test)]
mod translate_tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::logs::v1::{ResourceLogs, ScopeLogs};
use pdata::{Batch, Request, Signal};
use runtime::exporterhelper;
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, typed};
use runtime::{Component, ConsumeError, Consumer, Exporter, Host};

pub use self::config::Config;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Deprecated)];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "loki"
    }

    fn signals(&self) -> &[(Signal, Stability)] {
        SIGNALS
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        crate::util::http_client::parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn runtime::Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let id = set.id.to_string();
        // The Go collector's builder logs a deprecated component's stability at Info, then
        // the exporter its own line.
        tracing::info!(
            otelcol.component.id = %id,
            otelcol.component.kind = "exporter",
            otelcol.signal = "logs",
            "Deprecated component. Will be removed in future releases."
        );
        tracing::info!(
            otelcol.component.id = %id,
            otelcol.component.kind = "exporter",
            otelcol.signal = "logs",
            "using the new Loki exporter"
        );
        let missing_labels = set.telemetry.counter(
            "otelcol_lokiexporter_send_failed_due_to_missing_labels",
            "Number of log records failed to send because labels were missing",
            &[("exporter", id.as_str())],
        );
        let push = push::LokiPush::new(cfg, &id, missing_labels)?;
        let inner = exporterhelper::build(
            &set,
            signal,
            &cfg.sending_queue,
            &cfg.retry_on_failure,
            std::time::Duration::ZERO,
            Arc::new(push),
        );
        Ok(Arc::new(TenantSplit { inner }))
    }
}

/// Hands each tenant's records to the exporter helper as a batch of its own.
struct TenantSplit {
    inner: Arc<dyn Exporter>,
}

#[async_trait]
impl Consumer for TenantSplit {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        // A receiver's entries that name no tenant go as they are (see `entries`).
        if batch
            .with_lazy_logs(entries::names_no_tenant)
            .unwrap_or(false)
        {
            return self.inner.consume(batch).await;
        }
        let parts = match batch.request() {
            Ok(req) => match &*req {
                Request::Logs(logs) => split_by_tenant(logs),
                _ => None,
            },
            // The push reports the decode error.
            Err(_) => None,
        };
        let Some(parts) = parts else {
            return self.inner.consume(batch).await;
        };
        let mut errors = Vec::new();
        for part in parts {
            let b = Batch::from_request(Request::Logs(part))
                .with_client_info(batch.client_info().cloned());
            if let Err(e) = self.inner.consume(b).await {
                errors.push(e);
            }
        }
        match ConsumeError::combine(errors) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

#[async_trait]
impl Component for TenantSplit {
    async fn start(&self, host: &Host) -> Result<(), String> {
        self.inner.start(host).await
    }

    async fn shutdown(&self) -> Result<(), String> {
        self.inner.shutdown().await
    }
}

impl Exporter for TenantSplit {}

/// The request cut into one request per tenant (first-seen order), or `None` when all its
/// records belong to one tenant (the usual case: no `loki.tenant` hint).
fn split_by_tenant(logs: &ExportLogsServiceRequest) -> Option<Vec<ExportLogsServiceRequest>> {
    let mut first: Option<&str> = None;
    let mut mixed = false;
    'scan: for rl in &logs.resource_logs {
        let res = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let tenant_of = translate::ResourceTenant::new(res);
        for sl in &rl.scope_logs {
            for lr in &sl.log_records {
                let t = tenant_of.of(&lr.attributes);
                match first {
                    None => first = Some(t),
                    Some(f) if !translate::same_str(f, t) => {
                        mixed = true;
                        break 'scan;
                    }
                    _ => {}
                }
            }
        }
    }
    if !mixed {
        return None;
    }
    let mut tenants: Vec<(String, ExportLogsServiceRequest)> = Vec::new();
    for rl in &logs.resource_logs {
        let res = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let tenant_of = translate::ResourceTenant::new(res);
        for sl in &rl.scope_logs {
            for lr in &sl.log_records {
                let t = tenant_of.of(&lr.attributes);
                let i = match tenants.iter().position(|(n, _)| n == t) {
                    Some(i) => i,
                    None => {
                        tenants.push((t.to_string(), ExportLogsServiceRequest::default()));
                        tenants.len() - 1
                    }
                };
                let out = &mut tenants[i].1;
                // Records stay under a copy of their resource and scope; consecutive records
                // of one scope share it.
                let same_rl = out.resource_logs.last().is_some_and(|last| {
                    last.resource == rl.resource && last.schema_url == rl.schema_url
                });
                if !same_rl {
                    out.resource_logs.push(ResourceLogs {
                        resource: rl.resource.clone(),
                        scope_logs: Vec::new(),
                        schema_url: rl.schema_url.clone(),
                    });
                }
                let rl_out = out.resource_logs.last_mut().expect("pushed above");
                let same_sl = rl_out
                    .scope_logs
                    .last()
                    .is_some_and(|last| last.scope == sl.scope && last.schema_url == sl.schema_url);
                if !same_sl {
                    rl_out.scope_logs.push(ScopeLogs {
                        scope: sl.scope.clone(),
                        log_records: Vec::new(),
                        schema_url: sl.schema_url.clone(),
                    });
                }
                let sl_out = rl_out.scope_logs.last_mut().expect("pushed above");
                sl_out.log_records.push(lr.clone());
            }
        }
    }
    Some(tenants.into_iter().map(|(_, r)| r).collect())
}
