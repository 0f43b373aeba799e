//! `resource`: applies the attribute actions of [`crate::attraction`] to the resource
//! attributes of every resource in traces, metrics and logs, as the Go collector's
//! `processor/resourceprocessor`. There is no include/exclude. A resource without
//! attributes on the wire is given them only if an action adds some.

pub mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::proto::common::v1::KeyValue;
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use crate::attraction::{AttrProc, ClientInfo};

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "resource"
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
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(ResourceProcessor::new(&set, cfg, signal, next)?))
    }
}

/// One resource processor instance (one per pipeline).
pub struct ResourceProcessor {
    actions: AttrProc,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl ResourceProcessor {
    pub fn new(
        set: &Settings,
        cfg: &Config,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Self, String> {
        Ok(ResourceProcessor {
            actions: AttrProc::new(&cfg.attributes)?,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        })
    }

    /// Applies the actions to one resource; a resource without attributes is given them
    /// only if an action adds some.
    fn process(&self, resource: &mut Option<Resource>, client: &ClientInfo) {
        match resource {
            Some(r) => self.actions.process(&mut r.attributes, client),
            None => {
                let mut attributes: Vec<KeyValue> = Vec::new();
                self.actions.process(&mut attributes, client);
                if !attributes.is_empty() {
                    *resource = Some(Resource {
                        attributes,
                        ..Default::default()
                    });
                }
            }
        }
    }

    /// Applies the actions to every resource of a decoded request.
    pub fn apply(&self, req: &mut Request) {
        let client = ClientInfo::default();
        let process = |resource: &mut Option<Resource>| self.process(resource, &client);
        match req {
            Request::Traces(t) => t
                .resource_spans
                .iter_mut()
                .for_each(|r| process(&mut r.resource)),
            Request::Metrics(m) => m
                .resource_metrics
                .iter_mut()
                .for_each(|r| process(&mut r.resource)),
            Request::Logs(l) => l
                .resource_logs
                .iter_mut()
                .for_each(|r| process(&mut r.resource)),
            // Not a signal of this processor's factory.
            Request::Profiles(_) => {}
        }
    }
}

#[async_trait]
impl Consumer for ResourceProcessor {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        if let Some(logs) = batch.lazy_logs_mut() {
            // A receiver's own record form: the resources are OTLP already.
            let client = ClientInfo::default();
            for rl in &mut logs.resource_logs {
                self.process(&mut rl.resource, &client);
            }
        } else {
            let req = batch
                .request_mut()
                .map_err(|e| ConsumeError::permanent(e.to_string()))?;
            self.apply(req);
        }
        self.metrics.outgoing.add(items);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for ResourceProcessor {}

impl Processor for ResourceProcessor {
    fn mutates_data(&self) -> bool {
        true
    }
}
