//! Placeholder: being written.
use std::sync::Arc;
use config::{ConfigError, Value};
use runtime::factory::*;

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str { "health_check" }
    fn stability(&self) -> Stability { Stability::Development }
    fn parse_config(&self, _value: &Value, _path: &str) -> Result<AnyConfig, ConfigError> { Ok(Box::new(())) }
    fn create(&self, _s: Settings, _c: &AnyConfig) -> Result<Arc<dyn runtime::Extension>, String> { Err("not implemented yet".into()) }
}
