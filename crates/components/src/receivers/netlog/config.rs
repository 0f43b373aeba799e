//! The keys every stanza socket receiver shares with `file_log` (Go's `adapter.BaseConfig`
//! plus the input's `attributes`/`resource`): decoded apart from the input's own keys, so
//! that an unknown key is still refused by the input's struct.

use ::config::{ConfigError, Value, value::Mapping};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use stanza::{ExprString, OperatorConfig, Pipeline};

use crate::receivers::filelog::config::RetryOnFailure;

/// The receiver's own keys, validated.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub operators: Vec<OperatorConfig>,
    pub attributes: Vec<(String, ExprString)>,
    pub resource: Vec<(String, ExprString)>,
    pub retry_on_failure: RetryOnFailure,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Keys {
    operators: Vec<serde_json::Value>,
    /// Go's adapter takes it for every stanza receiver; a socket input keeps no offsets.
    #[allow(dead_code)]
    storage: Option<String>,
    attributes: indexmap::IndexMap<String, String>,
    resource: indexmap::IndexMap<String, String>,
    retry_on_failure: RetryOnFailure,
}

/// Splits the receiver's map at `path` into the shared keys and the input's keys `T`.
pub fn parse<T: DeserializeOwned>(value: &Value, path: &str) -> Result<(Common, T), ConfigError> {
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
    let (own, input) = fileconsumer::config::split_receiver_keys(pairs);
    let own: Keys = ::config::decode(&Value::Map(own.into_iter().collect()), path)?;
    let input: T = ::config::decode(&Value::Map(input.into_iter().collect()), path)?;
    let operators = own
        .operators
        .iter()
        .enumerate()
        .map(|(i, v)| {
            OperatorConfig::from_json(v)
                .map_err(|m| ConfigError::new(format!("{path}::operators::{i}"), m))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Pipeline::build(&operators).map_err(|e| match e.index {
        Some(i) => ConfigError::new(format!("{path}::operators::{i}"), e.message),
        None => ConfigError::new(format!("{path}::operators"), e.message),
    })?;
    let exprs = |m: indexmap::IndexMap<String, String>, key: &str| {
        m.into_iter()
            .map(|(k, v)| {
                ExprString::parse(&v)
                    .map(|e| (k.clone(), e))
                    .map_err(|msg| ConfigError::new(format!("{path}::{key}::{k}"), msg))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok((
        Common {
            operators,
            attributes: exprs(own.attributes, "attributes")?,
            resource: exprs(own.resource, "resource")?,
            retry_on_failure: own.retry_on_failure,
        },
        input,
    ))
}
