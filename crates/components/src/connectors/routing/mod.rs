//! `routing`: sends each item of a pipeline to the pipelines of the first route whose OTTL
//! condition (or `request` metadata condition) it matches, and what matches none to
//! `default_pipelines` (Go `connector/routingconnector`). The split is [`route::Table`];
//! this file is the adapter. What matches no route when there are no default pipelines is
//! dropped, as in Go, and counted in `otelcol_connector_routing_unrouted_items`.

pub mod config;
pub mod route;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::{Batch, Signal};
use runtime::factory::{AnyConfig, ConnectorFactory, Settings, Stability, parse_config, typed};
use runtime::fanout::fanout;
use runtime::telemetry::Counter;
use runtime::{Component, Connector, ConsumeError, Consumer, SharedConsumer};

pub use self::config::Config;
use self::route::Table;

pub struct Factory;

impl ConnectorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "routing"
    }

    fn pairs(&self) -> &[(Signal, Signal, Stability)] {
        &[
            (Signal::Traces, Signal::Traces, Stability::Alpha),
            (Signal::Metrics, Signal::Metrics, Stability::Alpha),
            (Signal::Logs, Signal::Logs, Stability::Alpha),
        ]
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(
        &self,
        _set: Settings,
        _cfg: &AnyConfig,
        _from: Signal,
        _to: Signal,
        _next: SharedConsumer,
    ) -> Result<Arc<dyn Connector>, String> {
        Err("expected consumer to be a connector router".into())
    }

    fn create_router(
        &self,
        set: &Settings,
        cfg: &AnyConfig,
        from: Signal,
        _to: Signal,
        pipelines: &[(String, SharedConsumer)],
    ) -> Option<Result<Arc<dyn Connector>, String>> {
        let cfg: &Config = typed(cfg);
        Some(Routing::new(set, cfg, from, pipelines).map(|r| Arc::new(r) as Arc<dyn Connector>))
    }
}

struct Routing {
    table: Table,
    /// One consumer per route (its pipelines), then the default one.
    consumers: Vec<Option<SharedConsumer>>,
    unrouted: Counter,
}

impl Routing {
    fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        pipelines: &[(String, SharedConsumer)],
    ) -> Result<Routing, String> {
        let by_id: HashMap<&str, &SharedConsumer> =
            pipelines.iter().map(|(id, c)| (id.as_str(), c)).collect();
        let pick = |ids: &[String]| -> Result<Option<SharedConsumer>, String> {
            if ids.is_empty() {
                return Ok(None);
            }
            let mut cs = Vec::with_capacity(ids.len());
            for id in ids {
                let c = by_id.get(id.as_str()).ok_or_else(|| {
                    format!("pipeline {id:?} does not receive from this connector (listed pipelines must have it in their receivers)")
                })?;
                cs.push((*c).clone());
            }
            Ok(Some(fanout(cs)))
        };
        let mut consumers = Vec::with_capacity(cfg.table.len() + 1);
        for r in &cfg.table {
            consumers.push(pick(&r.pipelines)?);
        }
        consumers.push(pick(&cfg.default_pipelines)?);
        let id = set.id.to_string();
        Ok(Routing {
            table: Table::new(cfg, signal)?,
            consumers,
            unrouted: set.telemetry.counter(
                "otelcol_connector_routing_unrouted_items",
                "Items that matched no route while the connector has no default pipelines, dropped",
                &[("connector", id.as_str()), ("otel_signal", signal.as_str())],
            ),
        })
    }
}

#[async_trait]
impl Consumer for Routing {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let signal = batch.signal();
        let client = batch.client_info().cloned();
        let req = batch
            .into_request()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        let parts = self
            .table
            .split(req, client.as_deref())
            .map_err(ConsumeError::permanent)?;
        let mut sends = Vec::new();
        for (part, consumer) in parts.into_iter().zip(&self.consumers) {
            let Some(req) = part else { continue };
            let b = Batch::from_request(req).with_client_info(client.clone());
            match consumer {
                Some(c) => sends.push(c.consume(b)),
                None => self.unrouted.add(b.item_count() as u64),
            }
        }
        debug_assert!(signal != Signal::Profiles);
        let errors: Vec<ConsumeError> = futures::future::join_all(sends)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        match ConsumeError::combine(errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Component for Routing {}

impl Connector for Routing {}
