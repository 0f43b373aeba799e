//! The `resource_attributes: {name: {enabled: bool}}` switches every detector takes (Go's
//! generated `ResourceAttributesConfig`), and the builder that only sets enabled attributes.

use std::collections::BTreeMap;

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use serde::Deserialize;

/// One attribute's switch. Go's generated config has `enabled` and the entity filters
/// `metrics_include`/`metrics_exclude`, which only matter to receivers: accepted, unused.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttrSwitch {
    pub enabled: Option<bool>,
    pub metrics_include: Option<serde_json::Value>,
    pub metrics_exclude: Option<serde_json::Value>,
}

pub type AttrSwitches = BTreeMap<String, AttrSwitch>;

/// An attribute name the detector does not have is an error, as Go's strict decoding makes it.
pub fn validate_switches(sw: &AttrSwitches, known: &[(&str, bool)]) -> Result<(), String> {
    let unknown: Vec<&str> = sw
        .keys()
        .filter(|k| !known.iter().any(|(n, _)| n == k))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "resource_attributes: has invalid keys: {}",
            unknown.join(", ")
        ))
    }
}

/// The resolved switches of one detector: its defaults with the configured overrides.
#[derive(Debug, Clone)]
pub struct Enabled {
    keys: Vec<(&'static str, bool)>,
}

impl Enabled {
    pub fn new(defaults: &'static [(&'static str, bool)], sw: &AttrSwitches) -> Enabled {
        Enabled {
            keys: defaults
                .iter()
                .map(|&(k, on)| (k, sw.get(k).and_then(|s| s.enabled).unwrap_or(on)))
                .collect(),
        }
    }

    pub fn is(&self, key: &str) -> bool {
        self.keys.iter().any(|&(k, on)| k == key && on)
    }

    pub fn builder(&self) -> Builder<'_> {
        Builder {
            enabled: self,
            out: Vec::new(),
        }
    }
}

/// Collects the attributes a detector sets, skipping disabled ones (Go's `ResourceBuilder`).
pub struct Builder<'a> {
    enabled: &'a Enabled,
    out: Vec<KeyValue>,
}

impl Builder<'_> {
    pub fn str(&mut self, key: &str, value: impl Into<String>) {
        if self.enabled.is(key) {
            put(&mut self.out, key.to_string(), string(value.into()));
        }
    }

    pub fn strs(&mut self, key: &str, values: Vec<String>) {
        if self.enabled.is(key) {
            put(&mut self.out, key.to_string(), string_array(values));
        }
    }

    pub fn int(&mut self, key: &str, value: i64) {
        if self.enabled.is(key) {
            put(
                &mut self.out,
                key.to_string(),
                AnyValue {
                    value: Some(any_value::Value::IntValue(value)),
                },
            );
        }
    }

    /// An attribute outside the switch table (tags, labels): always set.
    pub fn extra(&mut self, key: String, value: String) {
        put(&mut self.out, key, string(value));
    }

    pub fn finish(self) -> Vec<KeyValue> {
        self.out
    }
}

pub(crate) fn string(s: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

pub(crate) fn string_array(values: Vec<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: values.into_iter().map(string).collect(),
        })),
    }
}

/// Go's `Map.Put*`: replaces the value of an existing key in place, else appends.
pub(crate) fn put(out: &mut Vec<KeyValue>, key: String, value: AnyValue) {
    match out.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = Some(value),
        None => out.push(KeyValue {
            key,
            value: Some(value),
            ..Default::default()
        }),
    }
}
