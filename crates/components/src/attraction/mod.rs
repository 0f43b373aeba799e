//! The attribute action engine shared by the `attributes` and `resource` processors (and
//! later `span` and `groupbyattrs`), as the Go collector's `internal/coreinternal/attraction`:
//! an ordered list of actions (`insert`, `update`, `upsert`, `delete`, `hash`, `extract`,
//! `convert`) validated once with Go's error texts, compiled (regexes, config values), then
//! applied to attribute maps.
//!
//! ```
//! use components::attraction::{ActionConfig, AttrProc, ClientInfo};
//! let actions: Vec<ActionConfig> = vec![ActionConfig {
//!     key: "env".into(),
//!     action: "insert".into(),
//!     value: Some(components::attraction::ConfigValue(pdata::proto::common::v1::AnyValue {
//!         value: Some(pdata::proto::common::v1::any_value::Value::StringValue("prod".into())),
//!     })),
//!     ..Default::default()
//! }];
//! let proc = AttrProc::new(&actions).unwrap();
//! let mut attrs = Vec::new();
//! proc.process(&mut attrs, &ClientInfo::default());
//! assert_eq!(attrs[0].key, "env");
//! ```
//!
//! `from_context` reads the client of the request ([`ClientInfo`]): `metadata.<key>`,
//! `auth.<attribute>`, `client.address`, and any other key as a metadata key. Receivers do
//! not pass client information along with batches yet, so the processors hand in
//! [`ClientInfo::default()`]: metadata and auth lookups find nothing (the action does
//! nothing, as in Go without `include_metadata`), and `client.address` yields `""` (Go's
//! value when the client address is unknown).

mod convert;
mod hash;
#[cfg(test)]
pub(crate) mod tests;
pub mod value;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use regex::Regex;
use serde::Deserialize;

pub use convert::{ConvertTo, convert_value};
pub use hash::hash_value;
pub use value::ConfigValue;

/// One entry of `actions:` (attributes processor) or `attributes:` (resource processor),
/// with the Go collector's keys. Empty strings mean "not set", as in Go.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionConfig {
    pub key: String,
    pub value: Option<ConfigValue>,
    pub pattern: String,
    pub from_attribute: String,
    pub from_context: String,
    pub converted_type: String,
    pub action: String,
}

impl ActionConfig {
    fn value_source_count(&self) -> usize {
        usize::from(self.value.is_some())
            + usize::from(!self.from_attribute.is_empty())
            + usize::from(!self.from_context.is_empty())
    }
}

/// The client that sent a request, for `from_context`. Empty until receivers pass it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The peer's IP address, as text.
    pub address: Option<String>,
    /// Request metadata (HTTP headers / gRPC metadata), keys compared case-insensitively.
    pub metadata: Vec<(String, Vec<String>)>,
    /// Attributes an authenticator attached.
    pub auth: Vec<(String, AuthValue)>,
}

/// An authenticator's attribute value.
#[derive(Debug, Clone)]
pub enum AuthValue {
    Str(String),
    List(Vec<String>),
    /// Any other type: Go ignores those.
    Other,
}

impl ClientInfo {
    fn metadata(&self, key: &str) -> &[String] {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Go's `getAttributeValueFromContext`: several values are joined with `;`; nothing
    /// found is `None`.
    pub fn lookup(&self, key: &str) -> Option<AnyValue> {
        let values: &[String] = if key == "client.address" {
            return Some(str_value(self.address.clone().unwrap_or_default()));
        } else if let Some(md) = key.strip_prefix("metadata.") {
            self.metadata(md)
        } else if let Some(name) = key.strip_prefix("auth.") {
            match self.auth.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
                Some(AuthValue::Str(s)) => return Some(str_value(s.clone())),
                Some(AuthValue::List(l)) => l,
                Some(AuthValue::Other) | None => return None,
            }
        } else {
            self.metadata(key)
        };
        if values.is_empty() {
            return None;
        }
        Some(str_value(values.join(";")))
    }
}

fn str_value(s: String) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(s)),
    }
}

/// Where insert/update/upsert take the value from.
#[derive(Debug, Clone)]
enum Source {
    Value(AnyValue),
    Attribute(String),
    Context(String),
}

#[derive(Debug, Clone)]
enum Action {
    Insert(Source),
    Update(Source),
    Upsert(Source),
    Delete(Option<Regex>),
    Hash(Option<Regex>),
    /// The regex and its group names (index 0, the whole match, unused).
    Extract(Regex, Vec<String>),
    Convert(ConvertTo),
}

#[derive(Debug, Clone)]
struct CompiledAction {
    key: String,
    action: Action,
}

/// A validated, compiled list of actions.
#[derive(Debug, Clone)]
pub struct AttrProc {
    actions: Vec<CompiledAction>,
}

fn compile(pattern: &str, i: usize) -> Result<Regex, String> {
    goregex::compile(pattern).map_err(|_| {
        format!(
            "error creating AttrProc. Field \"pattern\" has invalid pattern: \"{pattern}\" to be set at the {i}-th actions"
        )
    })
}

impl AttrProc {
    /// Validates the actions as Go's `NewAttrProc` does, with its error texts (`i-th
    /// actions` counts from 0), and compiles them.
    pub fn new(actions: &[ActionConfig]) -> Result<AttrProc, String> {
        let mut compiled = Vec::with_capacity(actions.len());
        for (i, a) in actions.iter().enumerate() {
            let name = a.action.to_lowercase();
            let name = name.as_str();
            match name {
                "delete" | "hash" => {
                    if a.key.is_empty() && a.pattern.is_empty() {
                        return Err(format!(
                            "error creating AttrProc due to missing required field (at least one of \"key\" and \"pattern\" have to be used) at the {i}-th actions"
                        ));
                    }
                }
                _ => {
                    if a.key.is_empty() {
                        return Err(format!(
                            "error creating AttrProc due to missing required field \"key\" at the {i}-th actions"
                        ));
                    }
                }
            }
            let sources = a.value_source_count();
            let no_converted_type = || {
                if a.converted_type.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "error creating AttrProc. Action \"{name}\" does not use the \"converted_type\" field. This must not be specified for {i}-th action"
                    ))
                }
            };
            let action = match name {
                "insert" | "update" | "upsert" => {
                    if sources == 0 {
                        return Err(format!(
                            "error creating AttrProc. Either field \"value\", \"from_attribute\" or \"from_context\" setting must be specified for {i}-th action"
                        ));
                    }
                    if sources > 1 {
                        return Err(format!(
                            "error creating AttrProc due to multiple value sources being set at the {i}-th actions"
                        ));
                    }
                    if !a.pattern.is_empty() {
                        return Err(format!(
                            "error creating AttrProc. Action \"{name}\" does not use the \"pattern\" field. This must not be specified for {i}-th action"
                        ));
                    }
                    no_converted_type()?;
                    let source = match &a.value {
                        Some(v) => Source::Value(v.0.clone()),
                        None if !a.from_attribute.is_empty() => {
                            Source::Attribute(a.from_attribute.clone())
                        }
                        None => Source::Context(a.from_context.clone()),
                    };
                    match name {
                        "insert" => Action::Insert(source),
                        "update" => Action::Update(source),
                        _ => Action::Upsert(source),
                    }
                }
                "delete" | "hash" => {
                    if a.value.is_some() || !a.from_attribute.is_empty() {
                        return Err(format!(
                            "error creating AttrProc. Action \"{name}\" does not use \"value\" or \"from_attribute\" field. These must not be specified for {i}-th action"
                        ));
                    }
                    let regex = if a.pattern.is_empty() {
                        None
                    } else {
                        Some(compile(&a.pattern, i)?)
                    };
                    no_converted_type()?;
                    if name == "delete" {
                        Action::Delete(regex)
                    } else {
                        Action::Hash(regex)
                    }
                }
                "extract" => {
                    if sources > 0 {
                        return Err(format!(
                            "error creating AttrProc. Action \"{name}\" does not use a value source field. These must not be specified for {i}-th action"
                        ));
                    }
                    if a.pattern.is_empty() {
                        return Err(format!(
                            "error creating AttrProc due to missing required field \"pattern\" for action \"{name}\" at the {i}-th action"
                        ));
                    }
                    no_converted_type()?;
                    let regex = compile(&a.pattern, i)?;
                    let names: Vec<String> = regex
                        .capture_names()
                        .map(|n| n.unwrap_or_default().to_string())
                        .collect();
                    if names.len() <= 1 {
                        return Err(format!(
                            "error creating AttrProc. Field \"pattern\" contains no named matcher groups at the {i}-th actions"
                        ));
                    }
                    if names[1..].iter().any(String::is_empty) {
                        return Err(format!(
                            "error creating AttrProc. Field \"pattern\" contains at least one unnamed matcher group at the {i}-th actions"
                        ));
                    }
                    Action::Extract(regex, names)
                }
                "convert" => {
                    if sources > 0 || !a.pattern.is_empty() {
                        return Err(format!(
                            "error creating AttrProc. Action \"{name}\" does not use value sources or \"pattern\" field. These must not be specified for {i}-th action"
                        ));
                    }
                    if a.converted_type.is_empty() {
                        return Err(format!(
                            "error creating AttrProc due to missing required field \"converted_type\" for action \"{name}\" at the {i}-th action"
                        ));
                    }
                    match ConvertTo::parse(&a.converted_type) {
                        Some(to) => Action::Convert(to),
                        None => {
                            return Err(format!(
                                "error creating AttrProc due to invalid value \"{}\" in field \"converted_type\" for action \"{name}\" at the {i}-th action",
                                a.converted_type
                            ));
                        }
                    }
                }
                _ => {
                    return Err(format!(
                        "error creating AttrProc due to unsupported action {name:?} at the {i}-th actions"
                    ));
                }
            };
            compiled.push(CompiledAction {
                key: a.key.clone(),
                action,
            });
        }
        Ok(AttrProc { actions: compiled })
    }

    /// Applies every action, in order, to one attribute map.
    pub fn process(&self, attrs: &mut Vec<KeyValue>, client: &ClientInfo) {
        for a in &self.actions {
            let key = a.key.as_str();
            match &a.action {
                Action::Delete(regex) => {
                    value::remove(attrs, key);
                    if let Some(re) = regex {
                        // Go collects the matching keys first, then removes them one by one
                        // (each removal moves the last entry into the hole).
                        let keys = matching_keys(re, attrs);
                        for k in &keys {
                            value::remove(attrs, k);
                        }
                    }
                }
                Action::Insert(source) => {
                    if value::position(attrs, key).is_some() {
                        continue;
                    }
                    if let Some(v) = source_value(source, attrs, client) {
                        value::put(attrs, key, v);
                    }
                }
                Action::Update(source) => {
                    let Some(i) = value::position(attrs, key) else {
                        continue;
                    };
                    if let Some(v) = source_value(source, attrs, client) {
                        attrs[i].value = Some(v);
                    }
                }
                Action::Upsert(source) => {
                    if let Some(v) = source_value(source, attrs, client) {
                        value::put(attrs, key, v);
                    }
                }
                Action::Hash(regex) => {
                    if let Some(v) = value::get_mut(attrs, key) {
                        hash_value(v);
                    }
                    if let Some(re) = regex {
                        // Go hashes `key` first and then every matching key, so a key that
                        // also matches the pattern is hashed twice; kept for equal output.
                        for kv in attrs.iter_mut() {
                            if re.is_match(&kv.key) {
                                hash_value(kv.value.get_or_insert_with(AnyValue::default));
                            }
                        }
                    }
                }
                Action::Extract(regex, names) => extract(regex, names, key, attrs),
                Action::Convert(to) => {
                    if let Some(v) = value::get_mut(attrs, key) {
                        convert_value(key, *to, v);
                    }
                }
            }
        }
    }
}

fn matching_keys(re: &Regex, attrs: &[KeyValue]) -> Vec<String> {
    attrs
        .iter()
        .filter(|kv| re.is_match(&kv.key))
        .map(|kv| kv.key.clone())
        .collect()
}

/// The value an insert/update/upsert writes, or `None` when its source is missing.
fn source_value(source: &Source, attrs: &[KeyValue], client: &ClientInfo) -> Option<AnyValue> {
    match source {
        Source::Value(v) => Some(v.clone()),
        Source::Attribute(from) => value::get(attrs, from).cloned(),
        Source::Context(key) => client.lookup(key),
    }
}

/// `extract`: on a string value that matches, upserts one string attribute per named group
/// (`""` for a group that did not participate). Other types and non-matches do nothing.
fn extract(regex: &Regex, names: &[String], key: &str, attrs: &mut Vec<KeyValue>) {
    let Some(source) = value::get(attrs, key).and_then(value::as_str) else {
        return;
    };
    let Some(caps) = regex.captures(source) else {
        return;
    };
    let found: Vec<(usize, String)> = (1..names.len())
        .map(|g| (g, caps.get(g).map_or("", |m| m.as_str()).to_string()))
        .collect();
    for (g, text) in found {
        value::put(attrs, &names[g], str_value(text));
    }
}
