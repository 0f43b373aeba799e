//! `resource` processor settings: `attributes`, the list of actions (required), with the
//! Go collector's keys and errors.

use runtime::ComponentConfig;
use serde::Deserialize;

use crate::attraction::{ActionConfig, AttrProc};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub attributes: Vec<ActionConfig>,
}

impl ComponentConfig for Config {
    /// The actions are validated here rather than at creation (as Go does) so that a broken
    /// config is refused before anything starts; the texts are Go's.
    fn validate(&self) -> Result<(), String> {
        if self.attributes.is_empty() {
            return Err("missing required field \"attributes\"".into());
        }
        AttrProc::new(&self.attributes).map(drop)
    }
}
