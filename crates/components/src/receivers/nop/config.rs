//! `nop` receiver settings: none; any key is refused, as Go's empty config struct does.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

impl ComponentConfig for Config {}
