//! `otlp_json_file` receiver settings: every file-reading key of [`fileconsumer::Config`]
//! (`include`, `exclude`, `start_at` — `end` by default, as Go's — `poll_interval`, ...)
//! plus `storage` and `replay_file`.

use ::config::{ComponentId, ConfigError, Value, value::Mapping};
use fileconsumer::FeatureGates;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Config {
    pub file: fileconsumer::Config,
    pub storage: Option<ComponentId>,
    /// Read every file again from its start at each poll (Go's `WithNoTracking`).
    pub replay_file: bool,
    pub gates: FeatureGates,
}

/// The receiver's own keys, decoded apart from the file-reading ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct OwnKeys {
    storage: Option<String>,
    replay_file: bool,
}

type Pairs = Vec<(String, Value)>;

const OWN_KEYS: &[&str] = &["storage", "replay_file"];

impl Config {
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
        let (own, file): (Pairs, Pairs) = map
            .into_iter()
            .partition(|(k, _)| OWN_KEYS.contains(&k.as_str()));
        let own: OwnKeys = ::config::decode(&Value::Map(own.into_iter().collect()), path)?;
        let file: fileconsumer::Config =
            ::config::decode(&Value::Map(file.into_iter().collect()), path)?;
        let mut gates = FeatureGates::default();
        let list = runtime::featuregate::list();
        gates.apply(list.iter().map(String::as_str));
        file.validate(&gates)
            .map_err(|m| runtime::factory::validation_error(path, &m))?;
        let storage = match own.storage.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                ComponentId::parse(s)
                    .map_err(|m| ConfigError::new(format!("{path}::storage"), m))?,
            ),
        };
        Ok(Config {
            file,
            storage,
            replay_file: own.replay_file,
            gates,
        })
    }
}
