//! The configuration tree after merging and expansion: a small YAML value type that remembers
//! the verbatim text of values that came from a whole-scalar `${...}` reference, so that a
//! string-typed field receives `0123` rather than the integer 83/123 (Go confmap's
//! `expandedValue`).

use std::fmt;

use indexmap::IndexMap;

/// A map of the configuration tree; keys are strings, order is the document's.
pub type Mapping = IndexMap<String, Value>;

/// One node of the configuration tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Mapping),
    /// The result of a scalar that was exactly one `${...}` reference and whose text parsed
    /// as a non-string YAML value: `typed` is what non-string targets see, `raw` is what a
    /// string target receives.
    Expanded {
        raw: String,
        typed: Box<Value>,
    },
}

impl Value {
    /// The value as a non-`Expanded` node (the typed side of an expansion).
    pub fn resolved(&self) -> &Value {
        match self {
            Value::Expanded { typed, .. } => typed.resolved(),
            v => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.resolved(), Value::Null)
    }

    /// The text of a string scalar, or the verbatim text of an expanded reference.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Expanded { raw, .. } => Some(raw),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.resolved() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self.resolved() {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match self.resolved() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Value]> {
        match self.resolved() {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up `key` if this is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Looks up a `::`-separated path (`exporters::otlp::endpoint`).
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        path.split("::").try_fold(self, |v, k| v.get(k))
    }

    /// A short noun for error messages: `a string`, `a map`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a map",
            Value::Expanded { typed, .. } => typed.kind(),
        }
    }

    /// Parses one YAML document. Keys containing `::` are split into nested maps (as Go's
    /// confmap does), YAML merge keys (`<<`) are applied, and non-string scalar keys become
    /// their text. Plain scalars resolve as Go's yaml.v3 resolves them (`1_000`, `0777`; see
    /// the `goyaml` module).
    pub fn from_yaml_str(text: &str) -> Result<Value, String> {
        let text = crate::goyaml::normalize(text);
        let mut raw: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
        raw.apply_merge().map_err(|e| e.to_string())?;
        Value::from_yaml(raw)
    }

    /// Converts a `serde_yaml_ng` tree (see [`Value::from_yaml_str`] for the key rules).
    pub fn from_yaml(raw: serde_yaml_ng::Value) -> Result<Value, String> {
        use serde_yaml_ng::Value as Y;
        Ok(match raw {
            Y::Null => Value::Null,
            Y::Bool(b) => Value::Bool(b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Y::String(s) => Value::String(s),
            Y::Sequence(items) => Value::Seq(
                items
                    .into_iter()
                    .map(Value::from_yaml)
                    .collect::<Result<_, _>>()?,
            ),
            Y::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, v) in m {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Bool(b) => b.to_string(),
                        Y::Number(n) => n.to_string(),
                        Y::Null => "null".to_string(),
                        other => {
                            return Err(format!(
                                "map keys must be scalars, got {}",
                                yaml_kind(&other)
                            ));
                        }
                    };
                    insert_split_key(&mut out, &key, Value::from_yaml(v)?);
                }
                Value::Map(out)
            }
            Y::Tagged(t) => Value::from_yaml(t.value)?,
        })
    }
}

fn yaml_kind(v: &serde_yaml_ng::Value) -> &'static str {
    match v {
        serde_yaml_ng::Value::Sequence(_) => "a sequence",
        serde_yaml_ng::Value::Mapping(_) => "a map",
        _ => "a tagged value",
    }
}

/// Inserts `a::b::c = v` as nested maps, deep-merging with what is already there.
fn insert_split_key(map: &mut Mapping, key: &str, value: Value) {
    let mut parts = key.split("::");
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let nested = rest.iter().rev().fold(value, |acc, k| {
        let mut m = Mapping::new();
        m.insert((*k).to_string(), acc);
        Value::Map(m)
    });
    match map.get_mut(first) {
        Some(existing) => merge(existing, nested),
        None => {
            map.insert(first.to_string(), nested);
        }
    }
}

/// Deep-merges `overlay` into `base` as Go's confmap does: maps merge key by key, anything
/// else (lists included) is replaced, and an explicit null in `overlay` wipes what was there.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Map(b), Value::Map(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

impl fmt::Display for Value {
    /// YAML-ish rendering, meant for messages and `print-config`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_yaml_ng::to_string(self) {
            Ok(s) => f.write_str(s.trim_end()),
            Err(_) => write!(f, "{self:?}"),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::String(x) => s.serialize_str(x),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Expanded { typed, .. } => typed.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    /// Any self-describing input; an `Expanded` node read through [`crate::decode`] arrives
    /// as its typed side.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Mapping::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Mapping> for Value {
    fn from(m: Mapping) -> Value {
        Value::Map(m)
    }
}
