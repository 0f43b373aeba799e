//! Matching of the properties every signal shares (Go's `filtermatcher`): item attributes,
//! resource attributes and instrumentation scopes (`libraries`).

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use pdata::proto::resource::v1::Resource;

use super::set::{StringSet, unrecognized_match_type};
use super::{AttributeMatch, MatchProperties};
use crate::attraction::value::{self, go_format_f};

#[derive(Debug, Clone)]
enum ValueMatch {
    /// No `value`: the key must be present.
    Present,
    /// `match_type: strict`: same type and value.
    Equal(AnyValue),
    /// `match_type: regexp`: the value as text matches.
    Pattern(StringSet),
}

/// `attributes` or `resources` entries: all must match.
#[derive(Debug, Clone, Default)]
pub struct AttributesMatcher {
    entries: Vec<(String, ValueMatch)>,
}

impl AttributesMatcher {
    /// Go's `NewAttributesMatcher`, with its errors.
    pub fn new(match_type: &str, attributes: &[AttributeMatch]) -> Result<Self, String> {
        let mut entries = Vec::with_capacity(attributes.len());
        for a in attributes {
            if a.key.is_empty() {
                return Err("can't have empty key in the list of attributes".into());
            }
            let m = match &a.value {
                None => ValueMatch::Present,
                Some(v) => match match_type {
                    "regexp" => match value::as_str(&v.0) {
                        Some(pattern) => {
                            ValueMatch::Pattern(StringSet::new(&[pattern.to_string()], "regexp")?)
                        }
                        None => {
                            return Err(format!(
                                "match_type=regexp for {:?} only supports Str, but found {}",
                                a.key,
                                crate::util::gofmt::value_type(Some(&v.0))
                            ));
                        }
                    },
                    "strict" => ValueMatch::Equal(v.0.clone()),
                    other => return Err(unrecognized_match_type(other)),
                },
            };
            entries.push((a.key.clone(), m));
        }
        Ok(AttributesMatcher { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when every entry matches (and trivially when there are none).
    pub fn matches(&self, attrs: &[KeyValue]) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        self.entries.iter().all(|(key, m)| {
            let Some(v) = value::get(attrs, key) else {
                return false;
            };
            match m {
                ValueMatch::Present => true,
                ValueMatch::Equal(want) => strict_equal(want, v),
                ValueMatch::Pattern(set) => match &v.value {
                    Some(Value::StringValue(s)) => set.matches(s),
                    Some(Value::BoolValue(b)) => set.matches(if *b { "true" } else { "false" }),
                    Some(Value::IntValue(i)) => set.matches(&i.to_string()),
                    Some(Value::DoubleValue(d)) => set.matches(&go_format_f(*d)),
                    // Go cannot stringify the other types for a regexp and reports no match.
                    _ => false,
                },
            }
        })
    }
}

/// Go's `attributeValueMatch`: same type, then `==` for scalars (so NaN never matches) and
/// structural equality (Go compares hashes) for maps, slices, bytes and empty values.
fn strict_equal(want: &AnyValue, got: &AnyValue) -> bool {
    match (&want.value, &got.value) {
        (Some(Value::StringValue(a)), Some(Value::StringValue(b))) => a == b,
        (Some(Value::BoolValue(a)), Some(Value::BoolValue(b))) => a == b,
        (Some(Value::IntValue(a)), Some(Value::IntValue(b))) => a == b,
        (Some(Value::DoubleValue(a)), Some(Value::DoubleValue(b))) => a == b,
        _ => same_structure(want, got),
    }
}

/// Deep equality as Go's value hash sees it: map entries in any order, doubles by bits.
fn same_structure(a: &AnyValue, b: &AnyValue) -> bool {
    match (&a.value, &b.value) {
        (None, None) => true,
        (Some(Value::DoubleValue(x)), Some(Value::DoubleValue(y))) => x.to_bits() == y.to_bits(),
        (Some(Value::ArrayValue(x)), Some(Value::ArrayValue(y))) => {
            x.values.len() == y.values.len()
                && x.values
                    .iter()
                    .zip(&y.values)
                    .all(|(p, q)| same_structure(p, q))
        }
        (Some(Value::KvlistValue(x)), Some(Value::KvlistValue(y))) => {
            let empty = AnyValue::default();
            x.values.len() == y.values.len()
                && x.values.iter().all(|kv| {
                    value::get(&y.values, &kv.key).is_some_and(|other| {
                        same_structure(kv.value.as_ref().unwrap_or(&empty), other)
                    })
                })
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[derive(Debug, Clone)]
struct LibraryMatcher {
    name: StringSet,
    version: Option<StringSet>,
}

/// Go's `filtermatcher.PropertiesMatcher`: libraries, resource attributes and item
/// attributes of one block.
#[derive(Debug, Clone)]
pub struct PropertiesMatcher {
    libraries: Vec<LibraryMatcher>,
    attributes: AttributesMatcher,
    resources: AttributesMatcher,
}

impl PropertiesMatcher {
    /// Go's `filtermatcher.NewMatcher`, errors wrapped as Go wraps them.
    pub fn new(mp: &MatchProperties) -> Result<Self, String> {
        let mut libraries = Vec::with_capacity(mp.libraries.len());
        for lib in &mp.libraries {
            let name = mp
                .string_set(std::slice::from_ref(&lib.name))
                .map_err(|e| format!("error creating library name filters: {e}"))?;
            let version = match &lib.version {
                Some(v) => Some(
                    mp.string_set(std::slice::from_ref(v))
                        .map_err(|e| format!("error creating library version filters: {e}"))?,
                ),
                None => None,
            };
            libraries.push(LibraryMatcher { name, version });
        }
        let attributes = AttributesMatcher::new(&mp.match_type, &mp.attributes)
            .map_err(|e| format!("error creating attribute filters: {e}"))?;
        let resources = AttributesMatcher::new(&mp.match_type, &mp.resources)
            .map_err(|e| format!("error creating resource filters: {e}"))?;
        Ok(PropertiesMatcher {
            libraries,
            attributes,
            resources,
        })
    }

    pub fn matches(
        &self,
        attributes: &[KeyValue],
        resource: Option<&Resource>,
        scope: Option<&InstrumentationScope>,
    ) -> bool {
        if !self.libraries.is_empty() {
            let (name, version) = scope.map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
            let all = self.libraries.iter().all(|l| {
                l.name.matches(name) && l.version.as_ref().is_none_or(|v| v.matches(version))
            });
            if !all {
                return false;
            }
        }
        if !self.resources.is_empty()
            && !self
                .resources
                .matches(resource.map_or(&[], |r| r.attributes.as_slice()))
        {
            return false;
        }
        self.attributes.matches(attributes)
    }
}
