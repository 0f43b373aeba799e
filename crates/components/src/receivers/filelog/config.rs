//! `file_log` / `filelog` receiver config: the file-reading keys of
//! [`fileconsumer::Config`] plus the receiver's own (`operators`, `storage`, `attributes`,
//! `resource`, `retry_on_failure`), split by key so that unknown keys are still refused
//! (components.md §1.1).

use std::time::Duration;

use ::config::{ComponentId, ConfigError, Value, value::Mapping};
use fileconsumer::FeatureGates;
use serde::Deserialize;
use stanza::{ExprString, OperatorConfig, Pipeline};

/// The whole receiver config, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: fileconsumer::Config,
    pub operators: Vec<OperatorConfig>,
    pub storage: Option<ComponentId>,
    /// Static attributes / resource of every entry; values may embed `EXPR(...)`.
    pub attributes: Vec<(String, ExprString)>,
    pub resource: Vec<(String, ExprString)>,
    pub retry_on_failure: RetryOnFailure,
    pub gates: FeatureGates,
}

/// `retry_on_failure` (Go's `consumerretry.Config`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryOnFailure {
    pub enabled: bool,
    pub initial_interval: ::config::Duration,
    pub max_interval: ::config::Duration,
    /// 0 = retry forever.
    pub max_elapsed_time: ::config::Duration,
}

impl Default for RetryOnFailure {
    fn default() -> Self {
        RetryOnFailure {
            enabled: false,
            initial_interval: ::config::Duration(Duration::from_secs(1)),
            max_interval: ::config::Duration(Duration::from_secs(30)),
            max_elapsed_time: ::config::Duration(Duration::from_secs(300)),
        }
    }
}

/// The receiver's own keys, decoded apart from the file-reading ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ReceiverKeys {
    /// Decoded item by item below, so that an error names the operator's index.
    operators: Vec<serde_json::Value>,
    storage: Option<String>,
    attributes: indexmap::IndexMap<String, String>,
    resource: indexmap::IndexMap<String, String>,
    retry_on_failure: RetryOnFailure,
}

impl Config {
    /// Decodes and validates the receiver's config at `path` (`receivers::filelog`).
    pub fn parse(value: &Value, path: &str) -> Result<Config, ConfigError> {
        let map: Mapping = match value.resolved() {
            Value::Null => Mapping::new(),
            Value::Map(m) => m.clone(),
            other => {
                return Err(ConfigError::new(
                    path,
                    format!("expected a map, got {}", other.kind()),
                ));
            }
        };
        let pairs: Vec<(String, Value)> = map.into_iter().collect();
        let (own, file) = fileconsumer::config::split_receiver_keys(pairs);
        let own: ReceiverKeys = ::config::decode(&Value::Map(own.into_iter().collect()), path)?;
        let file: fileconsumer::Config =
            ::config::decode(&Value::Map(file.into_iter().collect()), path)?;

        let mut gates = FeatureGates::default();
        let list = runtime::featuregate::list();
        gates.apply(list.iter().map(String::as_str));
        file.validate(&gates)
            .map_err(|m| runtime::factory::validation_error(path, &m))?;

        let operators = own
            .operators
            .iter()
            .enumerate()
            .map(|(i, v)| {
                OperatorConfig::from_json(v)
                    .map_err(|m| ConfigError::new(format!("{path}::operators::{i}"), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Built once here for its errors (missing keys, unknown output, cycles); each running
        // receiver builds its own.
        Pipeline::build(&operators).map_err(|e| match e.index {
            Some(i) => ConfigError::new(format!("{path}::operators::{i}"), e.message),
            None => ConfigError::new(format!("{path}::operators"), e.message),
        })?;
        if let Some(h) = &file.header {
            let ops = header_operators(&h.metadata_operators)
                .map_err(|m| ConfigError::new(format!("{path}::header::metadata_operators"), m))?;
            Pipeline::build(&ops).map_err(|e| {
                ConfigError::new(format!("{path}::header::metadata_operators"), e.message)
            })?;
        }

        let storage = match own.storage.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                ComponentId::parse(s)
                    .map_err(|m| ConfigError::new(format!("{path}::storage"), m))?,
            ),
        };
        let exprs = |m: indexmap::IndexMap<String, String>, key: &str| {
            m.into_iter()
                .map(|(k, v)| {
                    ExprString::parse(&v)
                        .map(|e| (k.clone(), e))
                        .map_err(|msg| ConfigError::new(format!("{path}::{key}::{k}"), msg))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Config {
            file,
            operators,
            storage,
            attributes: exprs(own.attributes, "attributes")?,
            resource: exprs(own.resource, "resource")?,
            retry_on_failure: own.retry_on_failure,
            gates,
        })
    }
}

/// `header.metadata_operators` as operator configs.
pub fn header_operators(raw: &[serde_json::Value]) -> Result<Vec<OperatorConfig>, String> {
    raw.iter()
        .enumerate()
        .map(|(i, v)| OperatorConfig::from_json(v).map_err(|m| format!("{i}: {m}")))
        .collect()
}
