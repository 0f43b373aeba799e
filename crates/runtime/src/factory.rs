//! Factories: one per component type. A factory parses its config (defaults, then the user's
//! YAML on top, then validation) and builds instances.
//!
//! Most factories implement [`ComponentConfig`] for a serde struct and use
//! [`parse_config`] to do the parsing; see the components crate for examples.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use config::{ComponentId, ConfigError, Value};
use pdata::Signal;

use crate::component::{Connector, Exporter, Extension, Kind, Processor, Receiver, SharedConsumer};
use crate::telemetry::Telemetry;

/// A parsed, validated component config, downcast by its own factory.
pub type AnyConfig = Box<dyn Any + Send + Sync>;

/// A component's config struct: serde with the Go collector's keys, `Default` with its
/// defaults, and the component's own semantic checks.
pub trait ComponentConfig:
    serde::de::DeserializeOwned + Default + Debug + Send + Sync + 'static
{
    /// Semantic validation; the message is shown after the component's path.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::validation_error;

    #[test]
    fn validation_message_key_joins_the_component_path() {
        let e = validation_error(
            "receivers::otlp",
            "protocols::grpc::endpoint: must not be empty",
        );
        assert_eq!(
            e.to_string(),
            "receivers::otlp::protocols::grpc::endpoint: must not be empty"
        );
    }

    #[test]
    fn validation_message_without_a_key_keeps_the_component_path() {
        let e = validation_error(
            "processors::batch",
            "send_batch_max_size must be greater or equal to send_batch_size",
        );
        assert_eq!(e.path, "processors::batch");
        let e = validation_error(
            "receivers::otlp",
            "must specify at least one protocol: when using it",
        );
        assert_eq!(e.path, "receivers::otlp");
    }
}

/// Decodes and validates a config of type `C`, naming `path` in errors.
pub fn parse_config<C: ComponentConfig>(
    value: &Value,
    path: &str,
) -> Result<AnyConfig, ConfigError> {
    let cfg: C = config::decode(value, path)?;
    cfg.validate().map_err(|m| validation_error(path, &m))?;
    Ok(Box::new(cfg))
}

/// A validation message may start with the key it is about (`protocols::grpc::endpoint: must
/// not be empty`); that key joins the component's path, as the Go collector's nested paths do
/// (`receivers::otlp::protocols::grpc::endpoint: must not be empty`).
pub fn validation_error(path: &str, message: &str) -> ConfigError {
    if let Some((key, rest)) = message.split_once(": ")
        && !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '/' | '.' | '-'))
    {
        return ConfigError::new(format!("{path}::{key}"), rest);
    }
    ConfigError::new(path, message)
}

/// Gets the typed config back from an [`AnyConfig`] made by the same factory.
pub fn typed<C: 'static>(cfg: &AnyConfig) -> &C {
    cfg.downcast_ref::<C>()
        .expect("a factory only receives configs it parsed itself")
}

/// The maturity of a component for a signal, as `ferrotel components` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    Development,
    Alpha,
    Beta,
    Stable,
    Deprecated,
}

impl Stability {
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Development => "Development",
            Stability::Alpha => "Alpha",
            Stability::Beta => "Beta",
            Stability::Stable => "Stable",
            Stability::Deprecated => "Deprecated",
        }
    }
}

/// What every component instance is created with.
#[derive(Clone)]
pub struct Settings {
    pub id: ComponentId,
    pub kind: Kind,
    pub telemetry: Telemetry,
}

/// The consumers a receiver feeds, one per signal it is used for.
#[derive(Clone, Default)]
pub struct ReceiverOutputs {
    pub traces: Option<SharedConsumer>,
    pub metrics: Option<SharedConsumer>,
    pub logs: Option<SharedConsumer>,
    pub profiles: Option<SharedConsumer>,
}

impl ReceiverOutputs {
    pub fn get(&self, signal: Signal) -> Option<&SharedConsumer> {
        match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
            Signal::Profiles => self.profiles.as_ref(),
        }
    }

    pub fn set(&mut self, signal: Signal, consumer: SharedConsumer) {
        match signal {
            Signal::Traces => self.traces = Some(consumer),
            Signal::Metrics => self.metrics = Some(consumer),
            Signal::Logs => self.logs = Some(consumer),
            Signal::Profiles => self.profiles = Some(consumer),
        }
    }
}

pub trait ReceiverFactory: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn signals(&self) -> &[(Signal, Stability)];
    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError>;
    /// One instance per receiver id, serving every signal present in `outputs`.
    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        outputs: ReceiverOutputs,
    ) -> Result<Arc<dyn Receiver>, String>;
}

pub trait ProcessorFactory: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn signals(&self) -> &[(Signal, Stability)];
    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError>;
    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Processor>, String>;
}

pub trait ExporterFactory: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn signals(&self) -> &[(Signal, Stability)];
    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError>;
    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        signal: Signal,
    ) -> Result<Arc<dyn Exporter>, String>;
}

pub trait ConnectorFactory: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// Supported (from, to) signal pairs.
    fn pairs(&self) -> &[(Signal, Signal, Stability)];
    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError>;
    fn create(
        &self,
        set: Settings,
        cfg: &AnyConfig,
        from: Signal,
        to: Signal,
        next: SharedConsumer,
    ) -> Result<Arc<dyn Connector>, String>;

    /// Connectors that choose among the pipelines they feed (`routing`) are created here
    /// instead, with each receiving pipeline's consumer under its id (`logs/acme`), Go's
    /// `connector.LogsRouter`. `None`: not a router, [`ConnectorFactory::create`] is called
    /// with one consumer feeding every pipeline.
    fn create_router(
        &self,
        _set: &Settings,
        _cfg: &AnyConfig,
        _from: Signal,
        _to: Signal,
        _pipelines: &[(String, SharedConsumer)],
    ) -> Option<Result<Arc<dyn Connector>, String>> {
        None
    }
}

pub trait ExtensionFactory: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn stability(&self) -> Stability;
    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError>;
    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String>;
}
