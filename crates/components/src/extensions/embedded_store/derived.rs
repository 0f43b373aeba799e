//! Metrics derived from the stored spans, as Tempo's metrics generator does for Grafana and
//! the spanmetrics connector does for Jaeger's Monitor tab: the `span_metrics` and
//! `service_graph` connectors run inside the extension (the same code a pipeline would run)
//! and write their output into the store's metrics, so RED metrics and service-graph edges
//! are there without any pipeline wiring. Names (Prometheus form): `traces_span_metrics_
//! calls_total`, `traces_span_metrics_duration_seconds_{bucket,sum,count}` (labels
//! `service_name`, `span_name`, `span_kind`, `status_code`) and `traces_service_graph_
//! request_total`, `..._failed_total`, `..._server_seconds_*`, `..._client_seconds_*`
//! (labels `client`, `server`). The query API also answers Tempo's names for the same series
//! (`traces_spanmetrics_calls_total`, `traces_spanmetrics_latency_*`; see `ui::adapters`).

use std::sync::Arc;

use async_trait::async_trait;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ConnectorFactory, Settings};
use runtime::{ConsumeError, Consumer, Host};

const SPAN_METRICS: &str = "
namespace: traces.span.metrics
histogram:
  unit: s
exemplars:
  enabled: true
metrics_flush_interval: 15s
";

const SERVICE_GRAPH: &str = "
metrics_flush_interval: 15s
store:
  ttl: 2s
  max_items: 10000
";

/// Writes connector output into the store.
struct StoreSink(store::Store);

#[async_trait]
impl Consumer for StoreSink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let req = batch
            .request()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let encoded = batch.encoded();
        let s = self.0.clone();
        tokio::task::spawn_blocking(move || match &*req {
            Request::Metrics(m) => s.ingest_metrics(m, &encoded),
            _ => Ok(()),
        })
        .await
        .map_err(|e| ConsumeError::retryable(e.to_string()))?
        .map_err(|e| ConsumeError::retryable(e.to_string()))
    }
}

pub(crate) struct Derived {
    connectors: Vec<Arc<dyn runtime::Connector>>,
}

impl Derived {
    pub(crate) fn new(store: store::Store, set: &Settings) -> Result<Derived, String> {
        let sink: runtime::SharedConsumer = Arc::new(StoreSink(store));
        let mut connectors = Vec::new();
        let make = |f: &dyn ConnectorFactory,
                    yaml: &str,
                    name: &str|
         -> Result<Arc<dyn runtime::Connector>, String> {
            let value = ::config::Value::from_yaml_str(yaml)?;
            let cfg = f.parse_config(&value, name).map_err(|e| e.to_string())?;
            let set = Settings {
                id: ::config::ComponentId::with_name(
                    f.type_name(),
                    set.id.to_string().replace('/', "_"),
                ),
                kind: runtime::Kind::Connector,
                telemetry: set.telemetry.clone(),
            };
            f.create(set, &cfg, Signal::Traces, Signal::Metrics, sink.clone())
        };
        connectors.push(make(
            &crate::connectors::spanmetrics::Factory,
            SPAN_METRICS,
            "span_metrics",
        )?);
        connectors.push(make(
            &crate::connectors::servicegraph::Factory,
            SERVICE_GRAPH,
            "service_graph",
        )?);
        Ok(Derived { connectors })
    }

    pub(crate) async fn start(&self, host: &Host) -> Result<(), String> {
        for c in &self.connectors {
            c.start(host).await?;
        }
        Ok(())
    }

    pub(crate) async fn shutdown(&self) {
        for c in &self.connectors {
            if let Err(e) = c.shutdown().await {
                tracing::warn!(error = %e, "embedded_store: derived metrics did not flush");
            }
        }
    }

    /// Feeds stored spans to the generators. Their failures do not fail the write: the spans
    /// are stored.
    pub(crate) async fn consume(&self, batch: &Batch) {
        for c in &self.connectors {
            if let Err(e) = c.consume(batch.clone()).await {
                tracing::debug!(error = %e, "embedded_store: derived metrics skipped a batch");
            }
        }
    }
}
