//! `attributes` processor settings: `actions` (required) and the optional `include`/`exclude`
//! blocks, with the Go collector's keys and errors.

use runtime::ComponentConfig;
use serde::Deserialize;

use crate::attraction::{ActionConfig, AttrProc};
use crate::filtering::{MatchConfig, MatchProperties};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include: Option<MatchProperties>,
    pub exclude: Option<MatchProperties>,
    pub actions: Vec<ActionConfig>,
}

impl Config {
    pub fn match_config(&self) -> MatchConfig {
        MatchConfig {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

impl ComponentConfig for Config {
    /// Go checks only that `actions` is not empty here and validates the actions when it
    /// creates the processor; checking them now refuses a broken config before anything
    /// starts (and in `ferrotel validate`), with the same texts. The include/exclude blocks
    /// depend on the signal and are checked when the processor is created for one.
    fn validate(&self) -> Result<(), String> {
        if self.actions.is_empty() {
            return Err("missing required field \"actions\"".into());
        }
        AttrProc::new(&self.actions).map(drop)
    }
}
