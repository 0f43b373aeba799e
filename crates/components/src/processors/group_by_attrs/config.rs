//! `group_by_attrs` settings: `keys`, the record attributes to group by (none: only the
//! compaction of identical resources and scopes).

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub keys: Vec<String>,
}

impl ComponentConfig for Config {}

impl Config {
    /// The keys in order, without empty and repeated ones (a repeat is warned about, as Go
    /// does at creation).
    pub fn effective_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            if k.is_empty() {
                continue;
            }
            if out.contains(k) {
                tracing::warn!(key = %k, "A grouping key is already present");
            } else {
                out.push(k.clone());
            }
        }
        out
    }
}
