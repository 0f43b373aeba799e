//! `headers_setter` settings: the contrib extension's keys.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub headers: Vec<HeaderConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Insert,
    Update,
    #[default]
    Upsert,
    Delete,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeaderConfig {
    pub key: Option<String>,
    pub action: Action,
    /// A fixed value.
    pub value: Option<String>,
    /// The value of this request metadata key (kept by a receiver with `include_metadata`).
    pub from_context: Option<String>,
    /// The value of this authenticator attribute (`username` of basicauth, ...).
    pub from_attribute: Option<String>,
    /// Used when the context or attribute has no value.
    pub default_value: Option<String>,
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.headers.is_empty() {
            return Err("missing headers configuration".into());
        }
        for h in &self.headers {
            if h.key.as_deref().is_none_or(str::is_empty) {
                return Err("missing header name".into());
            }
            if h.action == Action::Delete {
                continue;
            }
            let sources = [
                h.value.is_some(),
                h.from_context.is_some(),
                h.from_attribute.is_some(),
            ]
            .iter()
            .filter(|s| **s)
            .count();
            if sources == 0 {
                return Err(
                    "missing header source, must be 'from_context', 'from_attribute' or 'value'"
                        .into(),
                );
            }
            if sources > 1 {
                return Err(
                    "invalid header source, must either 'from_context', 'from_attribute' or 'value'"
                        .into(),
                );
            }
        }
        Ok(())
    }
}
