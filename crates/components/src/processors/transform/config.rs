//! `transform` processor settings (Go `processor/transformprocessor/config.go`): per signal a
//! list that is either all statements (the basic style, one group whose context is inferred)
//! or all groups (`context`, `conditions`, `statements`, `error_mode`).

use ottl::ErrorMode;
use ottl::transform::{Config as EngineConfig, GroupConfig, Transform};
use runtime::ComponentConfig;
use serde::Deserialize;

/// Go's `transform.flatten.logs` gate, which `flatten_data` needs.
pub const FLATTEN_LOGS_GATE: &str = "transform.flatten.logs";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub error_mode: String,
    pub trace_statements: Vec<Entry>,
    pub metric_statements: Vec<Entry>,
    pub log_statements: Vec<Entry>,
    pub profile_statements: Vec<Entry>,
    pub flatten_data: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            error_mode: "propagate".into(),
            trace_statements: Vec::new(),
            metric_statements: Vec::new(),
            log_statements: Vec::new(),
            profile_statements: Vec::new(),
            flatten_data: false,
        }
    }
}

/// One element of a `*_statements` list.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Statement(String),
    Group(Group),
}

/// A string is a statement, a map a group; a group's bad key is reported as such (an
/// untagged enum would only say that nothing matched).
impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entry;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an OTTL statement or a statement group")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Entry, E> {
                Ok(Entry::Statement(v.to_string()))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Entry, E> {
                Ok(Entry::Statement(v))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                Group::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Entry::Group)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Group {
    pub context: Option<String>,
    pub conditions: Vec<String>,
    pub statements: Vec<String>,
    pub error_mode: Option<String>,
    /// Accepted; each group has its own cache per item here.
    pub shared_cache: bool,
}

fn error_mode(s: &str) -> Result<ErrorMode, String> {
    ErrorMode::parse(s)
}

/// Go's `Unmarshal`: strings form one group with no context; mixing styles is an error.
fn groups(entries: &[Entry]) -> Result<Vec<GroupConfig>, String> {
    let mut out = Vec::new();
    let mut basic: Vec<String> = Vec::new();
    for e in entries {
        match e {
            Entry::Statement(s) => basic.push(s.clone()),
            Entry::Group(g) => {
                if !basic.is_empty() {
                    return Err("configuring multiple configuration styles is not supported, please use only Basic configuration or only Advanced configuration".into());
                }
                out.push(GroupConfig {
                    context: g.context.clone().filter(|c| !c.is_empty()),
                    conditions: g.conditions.clone(),
                    statements: g.statements.clone(),
                    error_mode: g.error_mode.as_deref().map(error_mode).transpose()?,
                });
            }
        }
    }
    if !basic.is_empty() {
        if !out.is_empty() {
            return Err("configuring multiple configuration styles is not supported, please use only Basic configuration or only Advanced configuration".into());
        }
        out.push(GroupConfig {
            statements: basic,
            ..Default::default()
        });
    }
    Ok(out)
}

impl Config {
    /// The engine's view of this config.
    pub fn engine_config(&self) -> Result<EngineConfig, String> {
        Ok(EngineConfig {
            error_mode: error_mode(&self.error_mode)?,
            trace_statements: groups(&self.trace_statements)?,
            metric_statements: groups(&self.metric_statements)?,
            log_statements: groups(&self.log_statements)?,
            flatten_data: self.flatten_data,
        })
    }

    pub fn build(&self) -> Result<Transform, String> {
        Transform::new(&self.engine_config()?)
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if !self.profile_statements.is_empty() {
            return Err(
                "profile_statements: profiles are not supported by ferrotel's transform processor"
                    .into(),
            );
        }
        if self.flatten_data && !runtime::featuregate::enabled(FLATTEN_LOGS_GATE, false) {
            return Err(format!(
                "'flatten_data' requires the '{FLATTEN_LOGS_GATE}' feature gate to be enabled"
            ));
        }
        self.build().map(drop)
    }
}
