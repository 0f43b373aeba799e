//! Typed decoding of a [`Value`] with serde, tracking the `::` path of every node so that
//! each error names where it happened, and rejecting unknown keys the way Go's mapstructure
//! (`ErrorUnused`) does.
//!
//! Rules, chosen to match Go confmap's decoder:
//! - Unknown keys: a struct derived with `Deserialize` is checked against its field list
//!   (aliases included) whether or not it uses `deny_unknown_fields`; all offending keys
//!   are reported, sorted: `<path>: has invalid keys: a, b`. A struct with a
//!   `#[serde(flatten)]` field is decoded as a map by serde, so only `deny_unknown_fields`
//!   (serde's first-unknown-key error, translated to the same wording) protects it.
//! - Null (`key:` with no value): `Option` → `None`, structs → all defaults (needs
//!   `#[serde(default)]`), maps and lists → empty. A null given to a scalar field (a string,
//!   number, bool, duration…) keeps that field's default, as mapstructure leaves a field alone
//!   when its input is nil: the key is dropped and the decode retried (see [`decode`]).
//! - A whole-scalar `${...}` that typed as a number/bool gives its verbatim text to string
//!   targets and its typed value to everything else.
//! - A string given where a list is expected is split at commas (`a,b` → `[a, b]`, Go's
//!   `StringToSliceHookFunc`).
//! - No weak typing otherwise: `"5"` is not a number, `5` is not a string.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::{ConfigError, Value, value::Mapping};

/// Decodes `value` into `T`, naming `path` (and everything below it) in errors.
pub fn decode<T: de::DeserializeOwned>(value: &Value, path: &str) -> Result<T, ConfigError> {
    let first = T::deserialize(ValueDeserializer {
        value,
        path: path.to_string(),
    });
    let mut err = match first {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    // A null under a scalar field keeps the default: drop that key and decode again. serde's
    // derived visitors cannot skip a key once read, hence the retry; each round removes one
    // key, so this ends, and configs have few null scalars.
    let mut pruned: Option<Value> = None;
    while err.null_scalar {
        let Some(full) = err.path.as_deref() else {
            break;
        };
        let target = pruned.get_or_insert_with(|| value.clone());
        if !remove_at(target, relative_path(full, path)) {
            break;
        }
        match T::deserialize(ValueDeserializer {
            value: target,
            path: path.to_string(),
        }) {
            Ok(t) => return Ok(t),
            Err(e) => err = e,
        }
    }
    Err(ConfigError::new(
        err.path.unwrap_or_else(|| path.to_string()),
        err.message,
    ))
}

fn relative_path<'a>(full: &'a str, base: &str) -> &'a str {
    if base.is_empty() {
        return full;
    }
    full.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix("::"))
        .unwrap_or("")
}

/// Removes the map entry at `rel` (`a::b::c`) when its parent is a map; false otherwise.
fn remove_at(root: &mut Value, rel: &str) -> bool {
    if rel.is_empty() {
        return false;
    }
    let (parent, key) = match rel.rsplit_once("::") {
        Some((p, k)) => (Some(p), k),
        None => (None, rel),
    };
    let mut node = root;
    if let Some(parent) = parent {
        for k in parent.split("::") {
            node = match node {
                Value::Map(m) => match m.get_mut(k) {
                    Some(n) => n,
                    None => return false,
                },
                _ => return false,
            };
        }
    }
    match node {
        Value::Map(m) => m.shift_remove(key).is_some(),
        _ => false,
    }
}

/// Decodes one map into two structs that share it, as Go's `mapstructure:",squash"` does
/// (an exporter's own keys beside the `confighttp` client keys): each key goes to the struct
/// whose derived field list names it, and a key neither names is an unknown key of the whole
/// map (`<path>: has invalid keys: a, b`). serde's `flatten` cannot do this: it hides the
/// unknown keys (see the module docs).
pub fn decode_parts<A, B>(value: &Value, path: &str) -> Result<(A, B), ConfigError>
where
    A: de::DeserializeOwned,
    B: de::DeserializeOwned,
{
    let Value::Map(m) = value.resolved() else {
        return Ok((decode(value, path)?, decode(value, path)?));
    };
    let (fa, fb) = (field_names::<A>(), field_names::<B>());
    let (mut ma, mut mb) = (Mapping::new(), Mapping::new());
    let mut unknown = Vec::new();
    for (k, v) in m {
        if fa.contains(&k.as_str()) {
            ma.insert(k.clone(), v.clone());
        } else if fb.contains(&k.as_str()) {
            mb.insert(k.clone(), v.clone());
        } else {
            unknown.push(k.as_str());
        }
    }
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(ConfigError::new(
            path,
            format!("has invalid keys: {}", unknown.join(", ")),
        ));
    }
    Ok((
        decode(&Value::Map(ma), path)?,
        decode(&Value::Map(mb), path)?,
    ))
}

/// The keys a struct deriving `Deserialize` accepts (what serde hands `deserialize_struct`);
/// empty for anything else.
pub fn field_names<T: de::DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a std::cell::Cell<&'static [&'static str]>);
    impl<'de> de::Deserializer<'de> for Probe<'_> {
        type Error = DeError;
        fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, DeError> {
            Err(DeError::msg("probe"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _v: V,
        ) -> Result<V::Value, DeError> {
            self.0.set(fields);
            Err(DeError::msg("probe"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let fields = std::cell::Cell::new(&[][..]);
    let _ = T::deserialize(Probe(&fields));
    fields.get()
}

/// Deserialization error with the path of the innermost node that failed.
#[derive(Debug)]
pub struct DeError {
    path: Option<String>,
    message: String,
    /// A null met a scalar target (see the module docs: the key is then dropped).
    null_scalar: bool,
}

impl DeError {
    fn at(mut self, path: &str) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }
    fn msg(message: impl Into<String>) -> Self {
        DeError {
            path: None,
            message: message.into(),
            null_scalar: false,
        }
    }
    fn null_scalar(mut self) -> Self {
        self.null_scalar = true;
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) if !p.is_empty() => write!(f, "{p}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DeError {}

fn unexpected_text(unexp: de::Unexpected<'_>) -> String {
    match unexp {
        de::Unexpected::Unit | de::Unexpected::Option => "null".to_string(),
        de::Unexpected::Seq => "a sequence".to_string(),
        de::Unexpected::Map => "a map".to_string(),
        other => other.to_string(),
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::msg(msg.to_string())
    }
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::msg(format!("expected {exp}, got {}", unexpected_text(unexp)))
    }
    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::msg(format!(
            "invalid value: expected {exp}, got {}",
            unexpected_text(unexp)
        ))
    }
    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        DeError::msg(format!("has invalid keys: {field}"))
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::msg(format!(
            "unknown value {variant:?}, expected one of: {}",
            expected.join(", ")
        ))
    }
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}::{key}")
    }
}

/// The deserializer over one node of the tree.
struct ValueDeserializer<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> ValueDeserializer<'a> {
    fn typed(&self) -> &'a Value {
        self.value.resolved()
    }

    fn invalid<T>(&self, exp: &dyn de::Expected) -> Result<T, DeError> {
        let got = match self.typed() {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("boolean `{b}`"),
            Value::Int(i) => format!("integer `{i}`"),
            Value::Float(x) => format!("float `{x}`"),
            Value::String(s) => format!("string {s:?}"),
            Value::Seq(_) => "a sequence".to_string(),
            Value::Map(_) => "a map".to_string(),
            Value::Expanded { .. } => "an expanded value".to_string(),
        };
        Err(DeError::msg(format!("expected {exp}, got {got}")))
    }

    fn visit_mapping<'de, V: Visitor<'de>>(
        &self,
        m: &'a Mapping,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_map(MapAccess {
            iter: m.iter(),
            pending: None,
            path: &self.path,
        })
    }

    fn visit_items<'de, 'b, V: Visitor<'de>>(
        &self,
        items: &'b [Value],
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_seq(SeqAccess {
            iter: items.iter().enumerate(),
            path: &self.path,
        })
    }
}

struct Expect(&'static str);
impl de::Expected for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

struct VisitorExpected<'v, V>(&'v V);
impl<'de, V: Visitor<'de>> de::Expected for VisitorExpected<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

macro_rules! forward_scalar {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let path = self.path.clone();
            match self.typed() {
                Value::Null => self
                    .invalid(&VisitorExpected(&v))
                    .map_err(DeError::null_scalar),
                _ => self.deserialize_any(v),
            }
            .map_err(|e| e.at(&path))
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.typed() {
            // A visitor that cannot take a unit wanted a scalar (durations, sizes, enums).
            Value::Null => v.visit_unit().map_err(DeError::null_scalar),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::Float(x) => v.visit_f64(*x),
            Value::String(s) => v.visit_str(s),
            Value::Seq(items) => self.visit_items(items, v),
            Value::Map(m) => self.visit_mapping(m, v),
            // resolved() never returns Expanded; answer with the text rather than panic.
            Value::Expanded { raw, .. } => v.visit_str(raw),
        };
        r.map_err(|e| e.at(&self.path))
    }

    forward_scalar! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.value.as_str() {
            Some(s) => v.visit_str(s),
            None if self.value.is_null() => self
                .invalid(&VisitorExpected(&v))
                .map_err(DeError::null_scalar),
            None => self.invalid(&VisitorExpected(&v)),
        };
        r.map_err(|e| e.at(&self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.value.as_str() {
            Some(s) => v.visit_bytes(s.as_bytes()),
            None => self.invalid(&VisitorExpected(&v)),
        };
        r.map_err(|e| e.at(&self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        match self.typed() {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
        .map_err(|e| e.at(&path))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.typed() {
            Value::Null => v.visit_unit(),
            _ => self.invalid(&VisitorExpected(&v)),
        };
        r.map_err(|e| e.at(&self.path))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        v.visit_newtype_struct(self).map_err(|e| e.at(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match (self.typed(), self.value.as_str()) {
            (Value::Seq(items), _) => self.visit_items(items, v),
            (Value::Null, None) => self.visit_items(&[], v),
            (_, Some(s)) => {
                let parts: Vec<Value> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').map(|p| Value::String(p.to_string())).collect()
                };
                self.visit_items(&parts, v)
            }
            _ => self.invalid(&Expect("a sequence")),
        };
        r.map_err(|e| e.at(&self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        static EMPTY: std::sync::LazyLock<Mapping> = std::sync::LazyLock::new(Mapping::new);
        let r = match self.typed() {
            Value::Map(m) => self.visit_mapping(m, v),
            Value::Null => self.visit_mapping(&EMPTY, v),
            _ => self.invalid(&Expect("a map")),
        };
        r.map_err(|e| e.at(&self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        if let Value::Map(m) = self.typed() {
            let mut unknown: Vec<&str> = m
                .keys()
                .map(String::as_str)
                .filter(|k| !fields.contains(k))
                .collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                return Err(
                    DeError::msg(format!("has invalid keys: {}", unknown.join(", ")))
                        .at(&self.path),
                );
            }
        }
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let r = if let Some(s) = self.value.as_str() {
            v.visit_enum(EnumAccess {
                variant: s,
                value: None,
                path: &path,
            })
        } else {
            match self.typed() {
                Value::Map(m) if m.len() == 1 => {
                    let (k, val) = m.iter().next().expect("len checked");
                    v.visit_enum(EnumAccess {
                        variant: k,
                        value: Some(val),
                        path: &path,
                    })
                }
                _ => self.invalid(&Expect("a string or a map with one key")),
            }
        };
        r.map_err(|e| e.at(&path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct SeqAccess<'a, 'p> {
    iter: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
    path: &'p str,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some((i, value)) => {
                let path = child_path(self.path, &i.to_string());
                seed.deserialize(ValueDeserializer {
                    value,
                    path: path.clone(),
                })
                .map(Some)
                // An element whose own `Deserialize` refuses what it read (e.g. a stanza
                // operator of an unknown `type`) is named by its index, as Go names
                // `operators[3]`.
                .map_err(|e| e.at(&path))
            }
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapAccess<'a, 'p> {
    iter: indexmap::map::Iter<'a, String, Value>,
    pending: Option<(&'a String, &'a Value)>,
    path: &'p str,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.pending = Some((k, v));
                let key: de::value::StrDeserializer<'_, DeError> = k.as_str().into_deserializer();
                seed.deserialize(key).map(Some).map_err(|e| e.at(self.path))
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (k, value) = self
            .pending
            .take()
            .ok_or_else(|| DeError::msg("value requested before key"))?;
        seed.deserialize(ValueDeserializer {
            value,
            path: child_path(self.path, k),
        })
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct EnumAccess<'a, 'p> {
    variant: &'a str,
    value: Option<&'a Value>,
    path: &'p str,
}

impl<'de, 'a, 'p> de::EnumAccess<'de> for EnumAccess<'a, 'p> {
    type Error = DeError;
    type Variant = VariantAccess<'a>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccess<'a>), DeError> {
        let key: de::value::StrDeserializer<'_, DeError> = self.variant.into_deserializer();
        let v = seed.deserialize(key).map_err(|e| e.at(self.path))?;
        Ok((
            v,
            VariantAccess {
                value: self.value,
                path: child_path(self.path, self.variant),
            },
        ))
    }
}

struct VariantAccess<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'_> {
    type Error = DeError;
    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(DeError::msg("this variant takes no value").at(&self.path)),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let null = Value::Null;
        seed.deserialize(ValueDeserializer {
            value: self.value.unwrap_or(&null),
            path: self.path,
        })
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, DeError> {
        let null = Value::Null;
        de::Deserializer::deserialize_seq(
            ValueDeserializer {
                value: self.value.unwrap_or(&null),
                path: self.path,
            },
            v,
        )
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let null = Value::Null;
        de::Deserializer::deserialize_struct(
            ValueDeserializer {
                value: self.value.unwrap_or(&null),
                path: self.path,
            },
            "",
            fields,
            v,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a map, then refuses it: an error raised by the element's `Deserialize` itself.
    #[derive(Debug)]
    struct Picky;

    impl<'de> de::Deserialize<'de> for Picky {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Picky, D::Error> {
            let m = std::collections::BTreeMap::<String, String>::deserialize(d)?;
            match m.get("type").map(String::as_str) {
                Some("ok") => Ok(Picky),
                other => Err(de::Error::custom(format!(
                    "unsupported type '{}'",
                    other.unwrap_or("")
                ))),
            }
        }
    }

    #[test]
    fn list_element_refusing_itself_is_named_by_its_index() {
        let v: Value = serde_yaml_ng::from_str("[{type: ok}, {type: ok}, {type: nope}]").unwrap();
        let err = decode::<Vec<Picky>>(&v, "receivers::filelog::operators").unwrap_err();
        assert_eq!(
            err.to_string(),
            "receivers::filelog::operators::2: unsupported type 'nope'"
        );
    }

    #[test]
    fn list_element_of_wrong_kind_keeps_its_path() {
        let v: Value = serde_yaml_ng::from_str("[1, x]").unwrap();
        let err = decode::<Vec<i64>>(&v, "a::b").unwrap_err();
        assert!(err.to_string().starts_with("a::b::1: "), "{err}");
    }

    #[derive(Debug, serde::Deserialize, PartialEq, Default)]
    #[serde(default)]
    struct Client {
        endpoint: String,
        timeout: Option<u64>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Own {
        format: String,
        #[serde(skip)]
        client: Client,
    }

    #[test]
    fn decode_parts_splits_one_map_between_two_structs() {
        let v: Value = serde_yaml_ng::from_str("{endpoint: http://x, format: json}").unwrap();
        let (c, o): (Client, Own) = decode_parts(&v, "exporters::x").unwrap();
        assert_eq!(c.endpoint, "http://x");
        assert_eq!(c.timeout, None);
        assert_eq!(o.format, "json");
        let (c, o): (Client, Own) = decode_parts(&Value::Null, "exporters::x").unwrap();
        assert_eq!((c, o), (Client::default(), Own::default()));
    }

    #[test]
    fn decode_parts_names_keys_neither_struct_has_and_paths_of_bad_values() {
        let v: Value =
            serde_yaml_ng::from_str("{endpoint: http://x, zz: 1, client: 2, aa: 3}").unwrap();
        let err = decode_parts::<Client, Own>(&v, "exporters::x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "exporters::x: has invalid keys: aa, client, zz"
        );
        let v: Value = serde_yaml_ng::from_str("{timeout: soon}").unwrap();
        let err = decode_parts::<Client, Own>(&v, "exporters::x").unwrap_err();
        assert!(
            err.to_string().starts_with("exporters::x::timeout: "),
            "{err}"
        );
    }

    #[test]
    fn field_names_are_the_derived_keys() {
        assert_eq!(field_names::<Client>(), &["endpoint", "timeout"]);
        assert_eq!(field_names::<Own>(), &["format"]);
        assert!(field_names::<u64>().is_empty());
    }
}
