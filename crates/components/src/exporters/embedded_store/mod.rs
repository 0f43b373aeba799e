//! `embedded_store`: writes traces, logs and metrics into the store of an `embedded_store`
//! extension, through the exporter helper (queue, retry), so a slow disk pushes back on the
//! pipeline the usual way instead of buffering without bound. Tested with the extension
//! (`extensions/embedded_store/tests.rs`).

pub mod config;

use std::sync::{Arc, OnceLock};

use ::config::{ComponentId, ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::exporterhelper::{self, Push};
use runtime::factory::{AnyConfig, ExporterFactory, Settings, Stability, parse_config, typed};
use runtime::{ConsumeError, Exporter, Host};

pub use self::config::Config;

use crate::extensions::embedded_store::EmbeddedStore;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Alpha),
    (Signal::Metrics, Stability::Alpha),
    (Signal::Logs, Stability::Alpha),
];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str {
        "embedded_store"
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
        signal: Signal,
    ) -> Result<Arc<dyn Exporter>, String> {
        let cfg: &Config = typed(cfg);
        let push = Arc::new(StorePush {
            extension: cfg.extension.clone(),
            store: OnceLock::new(),
            derived: OnceLock::new(),
        });
        Ok(exporterhelper::build(
            &set,
            signal,
            &cfg.sending_queue,
            &cfg.retry_on_failure,
            cfg.timeout.0,
            push,
        ))
    }
}

struct StorePush {
    extension: String,
    store: OnceLock<store::Store>,
    derived: OnceLock<Arc<crate::extensions::embedded_store::Derived>>,
}

#[async_trait]
impl Push for StorePush {
    async fn start(&self, host: &Host) -> Result<(), String> {
        let mut found: Vec<(&ComponentId, &EmbeddedStore)> = host
            .extensions
            .iter()
            .filter_map(|(id, e)| e.as_any().downcast_ref::<EmbeddedStore>().map(|s| (id, s)))
            .collect();
        found.sort_by_key(|(id, _)| id.to_string());
        let ext = if self.extension.is_empty() {
            match found.as_slice() {
                [one] => one.1,
                [] => return Err("no embedded_store extension is configured: add one to extensions and service::extensions".into()),
                _ => return Err("several embedded_store extensions are configured: name one in `extension`".into()),
            }
        } else {
            found
                .iter()
                .find(|(id, _)| id.to_string() == self.extension)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    format!(
                        "extension {:?} is not an embedded_store extension in service::extensions",
                        self.extension
                    )
                })?
        };
        let s = ext
            .store()
            .ok_or("the embedded_store extension has not started")?;
        let _ = self.store.set(s);
        if let Some(d) = ext.derived() {
            let _ = self.derived.set(d);
        }
        Ok(())
    }

    async fn push(&self, batch: &Batch) -> Result<(), ConsumeError> {
        let Some(s) = self.store.get().cloned() else {
            return Err(ConsumeError::retryable("embedded store not started"));
        };
        let req = batch
            .request()
            .map_err(|e| ConsumeError::permanent(format!("cannot decode the batch: {e}")))?;
        let encoded = batch.encoded();
        let traces = matches!(&*req, Request::Traces(_));
        let r = tokio::task::spawn_blocking(move || match &*req {
            Request::Traces(t) => s.ingest_traces(t, &encoded),
            Request::Logs(l) => s.ingest_logs(l, &encoded),
            Request::Metrics(m) => s.ingest_metrics(m, &encoded),
            Request::Profiles(_) => Ok(()),
        })
        .await
        .map_err(|e| ConsumeError::retryable(format!("store write failed: {e}")))?;
        r.map_err(|e| ConsumeError::retryable(format!("store write failed: {e}")))?;
        if traces && let Some(d) = self.derived.get() {
            d.consume(batch).await;
        }
        Ok(())
    }
}
