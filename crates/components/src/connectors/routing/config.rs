//! `routing` connector settings (Go `connector/routingconnector/config.go`, v0.120 and
//! later: every item goes to the first route that matches; `match_once` is gone).

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Pipelines for what matches no route; without them it is dropped (and counted).
    pub default_pipelines: Vec<String>,
    /// `propagate` (default), `ignore` or `silent`.
    pub error_mode: Option<String>,
    pub table: Vec<Route>,
    /// Removed upstream in v0.120; refused with Go's advice rather than ignored.
    pub match_once: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    /// `resource` (default), `span`, `metric`, `datapoint`, `log` or `request`.
    pub context: String,
    /// An OTTL statement (`route() where ...`), not for `request`.
    pub statement: String,
    /// An OTTL condition; for `request`, `request["key"] == "value"` or `!=`.
    pub condition: String,
    pub pipelines: Vec<String>,
}

pub const CONTEXTS: &[&str] = &["resource", "span", "metric", "datapoint", "log", "request"];

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.match_once.is_some() {
            return Err("match_once: removed in v0.120.0; every item now goes to the first route that matches (see the routing connector's README for how to migrate)".into());
        }
        if let Some(m) = &self.error_mode {
            ottl::ErrorMode::parse(m).map_err(|e| format!("error_mode: {e}"))?;
        }
        if self.table.is_empty() {
            return Err("invalid routing table: the routing table is empty".into());
        }
        for r in &self.table {
            let ctx = r.context();
            if !CONTEXTS.contains(&ctx) {
                return Err(format!("invalid context: {ctx}"));
            }
            match (r.statement.is_empty(), r.condition.is_empty()) {
                (true, true) => {
                    return Err("invalid route: no condition or statement provided".into());
                }
                (false, false) => {
                    return Err("invalid route: both condition and statement provided".into());
                }
                _ => {}
            }
            if ctx == "request" && r.condition.is_empty() {
                return Err(format!("{ctx:?} context requires a 'condition'"));
            }
            if r.pipelines.is_empty() {
                return Err("invalid route: no pipelines defined".into());
            }
            if ctx == "request" {
                super::route::RequestCondition::parse(&r.condition)?;
            }
        }
        // The OTTL is compiled per signal when the connector is created; compiling it for
        // each signal its contexts exist in catches syntax errors here already.
        super::route::check(self)
    }
}

impl Route {
    pub fn context(&self) -> &str {
        if self.context.is_empty() {
            "resource"
        } else {
            &self.context
        }
    }
}
