//! `metrics_transform` settings: `transforms`, each with its filter, action and operations,
//! with the Go processor's keys and validation messages.

use std::collections::BTreeMap;

use runtime::ComponentConfig;
use serde::Deserialize;

pub const MATCH_TYPES: &[&str] = &["strict", "regexp"];
pub const ACTIONS: &[&str] = &["insert", "update", "combine", "group"];
pub const OPERATION_ACTIONS: &[&str] = &[
    "add_label",
    "update_label",
    "delete_label_value",
    "toggle_scalar_data_type",
    "experimental_scale_value",
    "aggregate_labels",
    "aggregate_label_values",
];
pub const AGGREGATION_TYPES: &[&str] = &["sum", "mean", "min", "max", "count", "median"];
pub const SUBMATCH_CASES: &[&str] = &["lower", "upper"];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub transforms: Vec<Transform>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Transform {
    /// The metric name (strict) or pattern (regexp) to operate on.
    pub include: String,
    /// `strict` (default) or `regexp`.
    pub match_type: String,
    /// Only data points whose attributes match these (value or pattern; an empty value also
    /// matches a missing attribute).
    pub experimental_match_labels: BTreeMap<String, String>,
    /// `update`, `insert`, `combine` or `group`.
    pub action: String,
    pub new_name: String,
    pub group_resource_labels: Option<BTreeMap<String, String>>,
    pub aggregation_type: String,
    pub submatch_case: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Operation {
    pub action: String,
    pub label: String,
    pub new_label: String,
    pub label_set: Vec<String>,
    pub aggregation_type: String,
    pub aggregated_values: Vec<String>,
    pub new_value: String,
    pub value_actions: Vec<ValueAction>,
    pub experimental_scale: f64,
    pub label_value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValueAction {
    pub value: String,
    pub new_value: String,
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn quoted(list: &[&str]) -> String {
    let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

fn must_be_in(field: &str, list: &[&str]) -> String {
    format!("{field:?} must be in {}", quoted(list))
}

fn missing_while(field: &str, action: &str) -> String {
    format!("missing required field {field:?} while \"action\" is {action}")
}

impl ComponentConfig for Config {
    /// Go checks these when the processor is created; here before anything starts, with the
    /// same texts.
    fn validate(&self) -> Result<(), String> {
        for t in &self.transforms {
            if t.include.is_empty() {
                return Err("missing required field \"include\"".into());
            }
            if !t.match_type.is_empty() && !MATCH_TYPES.contains(&t.match_type.as_str()) {
                return Err(must_be_in("match_type", MATCH_TYPES));
            }
            if t.match_type == "regexp" {
                goregex::compile(&t.include).map_err(|e| format!("\"include\", {e}"))?;
            }
            if !ACTIONS.contains(&t.action.as_str()) {
                return Err(must_be_in("action", ACTIONS));
            }
            if t.action == "insert" && t.new_name.is_empty() {
                return Err(missing_while("new_name", "insert"));
            }
            if t.action == "combine" && t.new_name.is_empty() {
                return Err(missing_while("new_name", "combine"));
            }
            if t.action == "combine" && t.aggregation_type.is_empty() {
                return Err(missing_while("aggregation_type", "combine"));
            }
            if t.action == "group" && t.group_resource_labels.is_none() {
                return Err(missing_while("group_resource_labels", "group"));
            }
            if !t.aggregation_type.is_empty()
                && !AGGREGATION_TYPES.contains(&t.aggregation_type.as_str())
            {
                return Err(must_be_in("aggregation_type", AGGREGATION_TYPES));
            }
            if !t.submatch_case.is_empty() && !SUBMATCH_CASES.contains(&t.submatch_case.as_str()) {
                return Err(must_be_in("submatch_case", SUBMATCH_CASES));
            }
            for (i, op) in t.operations.iter().enumerate() {
                let n = i + 1;
                let a = op.action.as_str();
                if !OPERATION_ACTIONS.contains(&a) {
                    return Err(format!(
                        "operation {n}: {}",
                        must_be_in("action", OPERATION_ACTIONS)
                    ));
                }
                let missing =
                    |field: &str| Err(format!("operation {n}: {}", missing_while(field, a)));
                if a == "update_label" && op.label.is_empty() {
                    return missing("label");
                }
                if a == "add_label" && op.new_label.is_empty() {
                    return missing("new_label");
                }
                if a == "add_label" && op.new_value.is_empty() {
                    return missing("new_value");
                }
                if a == "experimental_scale_value" && op.experimental_scale == 0.0 {
                    return missing("experimental_scale");
                }
                if (a == "aggregate_labels" || a == "aggregate_label_values")
                    && op.aggregation_type.is_empty()
                {
                    return missing("aggregation_type");
                }
                if !op.aggregation_type.is_empty()
                    && !AGGREGATION_TYPES.contains(&op.aggregation_type.as_str())
                {
                    return Err(format!(
                        "operation {n}: {}",
                        must_be_in("aggregation_type", AGGREGATION_TYPES)
                    ));
                }
            }
        }
        Ok(())
    }
}
