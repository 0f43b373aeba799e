//! Placeholder: being written.
use std::sync::Arc;
use config::{ConfigError, Value};
use pdata::Signal;
use runtime::factory::*;

pub struct Factory;

const SIGNALS: &[(Signal, Stability)] = &[(Signal::Traces, Stability::Development), (Signal::Metrics, Stability::Development), (Signal::Logs, Stability::Development)];

impl ExporterFactory for Factory {
    fn type_name(&self) -> &'static str { "debug" }
    fn signals(&self) -> &[(Signal, Stability)] { SIGNALS }
    fn parse_config(&self, _value: &Value, _path: &str) -> Result<AnyConfig, ConfigError> { Ok(Box::new(())) }
    fn create(&self, _s: Settings, _c: &AnyConfig, _sig: Signal) -> Result<Arc<dyn runtime::Exporter>, String> { Err("not implemented yet".into()) }
}
