//! `redaction`: removes attributes whose keys are not allowed and masks (or hashes) values
//! that match blocked patterns, as Go's contrib `redactionprocessor` ([`redact`] has the
//! rules and the summary attributes). It covers resource, scope, span and span event
//! attributes, log record attributes and bodies, and metric data point attributes.

pub mod config;
pub mod redact;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use pdata::proto::common::v1::InstrumentationScope;
use pdata::proto::metrics::v1::metric::Data;
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::factory::{AnyConfig, ProcessorFactory, Settings, Stability, parse_config, typed};
use runtime::telemetry::ProcessorMetrics;
use runtime::{Component, ConsumeError, Consumer, Processor, SharedConsumer};

pub use self::config::Config;
use self::redact::Redactor;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Alpha),
    (Signal::Logs, Stability::Alpha),
];

impl ProcessorFactory for Factory {
    fn type_name(&self) -> &'static str {
        "redaction"
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
        let redactor =
            Redactor::new(cfg).map_err(|e| format!("error creating a redaction processor: {e}"))?;
        Ok(Arc::new(Redaction {
            redactor,
            next,
            metrics: ProcessorMetrics::new(&set.telemetry, &set.id.to_string(), signal),
        }))
    }
}

pub struct Redaction {
    redactor: Redactor,
    next: SharedConsumer,
    metrics: ProcessorMetrics,
}

impl Redaction {
    fn resource(&self, r: &mut Option<Resource>) {
        if let Some(r) = r {
            self.redactor.process_attributes(&mut r.attributes);
        }
    }

    fn scope(&self, s: &mut Option<InstrumentationScope>) {
        if let Some(s) = s {
            self.redactor.process_attributes(&mut s.attributes);
        }
    }

    pub fn apply(&self, req: &mut Request) {
        let r = &self.redactor;
        match req {
            // Not a signal of this processor's factory.
            Request::Profiles(_) => {}
            Request::Traces(t) => {
                for rs in &mut t.resource_spans {
                    self.resource(&mut rs.resource);
                    for ss in &mut rs.scope_spans {
                        self.scope(&mut ss.scope);
                        for span in &mut ss.spans {
                            r.process_attributes(&mut span.attributes);
                            for e in &mut span.events {
                                r.process_attributes(&mut e.attributes);
                            }
                        }
                    }
                }
            }
            Request::Logs(l) => {
                for rl in &mut l.resource_logs {
                    self.resource(&mut rl.resource);
                    for sl in &mut rl.scope_logs {
                        self.scope(&mut sl.scope);
                        for rec in &mut sl.log_records {
                            r.process_attributes(&mut rec.attributes);
                            r.process_body(&mut rec.body, &mut rec.attributes);
                        }
                    }
                }
            }
            Request::Metrics(m) => {
                for rm in &mut m.resource_metrics {
                    self.resource(&mut rm.resource);
                    for sm in &mut rm.scope_metrics {
                        self.scope(&mut sm.scope);
                        for metric in &mut sm.metrics {
                            match &mut metric.data {
                                Some(Data::Gauge(g)) => g
                                    .data_points
                                    .iter_mut()
                                    .for_each(|p| r.process_attributes(&mut p.attributes)),
                                Some(Data::Sum(s)) => s
                                    .data_points
                                    .iter_mut()
                                    .for_each(|p| r.process_attributes(&mut p.attributes)),
                                Some(Data::Histogram(h)) => h
                                    .data_points
                                    .iter_mut()
                                    .for_each(|p| r.process_attributes(&mut p.attributes)),
                                Some(Data::ExponentialHistogram(h)) => h
                                    .data_points
                                    .iter_mut()
                                    .for_each(|p| r.process_attributes(&mut p.attributes)),
                                Some(Data::Summary(s)) => s
                                    .data_points
                                    .iter_mut()
                                    .for_each(|p| r.process_attributes(&mut p.attributes)),
                                None => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Consumer for Redaction {
    async fn consume(&self, mut batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.item_count() as u64;
        self.metrics.incoming.add(items);
        let req = batch
            .request_mut()
            .map_err(|e| ConsumeError::permanent(e.to_string()))?;
        self.apply(req);
        self.metrics.outgoing.add(items);
        self.next.consume(batch).await
    }
}

#[async_trait]
impl Component for Redaction {}

impl Processor for Redaction {
    fn mutates_data(&self) -> bool {
        true
    }
}
