//! Attribute values as the Go collector's `pcommon` sees them: a config value (any YAML:
//! scalar, list or map) turned into an OTLP `AnyValue` the way `Value.FromRaw` does, and the
//! few `pcommon.Map` operations the actions need, on the decoded `Vec<KeyValue>`, with
//! pcommon's semantics (first key wins on lookup, removal swaps the last entry into the
//! hole, a new key is appended).

use std::borrow::Cow;
use std::fmt;

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A value written in the config (`value:` of an action or of an include/exclude attribute),
/// already converted to the attribute value it stands for: YAML integers become `Int`,
/// floats `Double`, strings `Str`, booleans `Bool`, lists `Slice`, maps `Map`, and `null`
/// inside a list or map an empty value. A `null` at the top is "not set" (serde's `None`),
/// as a nil `any` is in Go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigValue(pub AnyValue);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValueVisitor).map(ConfigValue)
    }
}

struct AnyValueVisitor;

fn any(v: Value) -> AnyValue {
    AnyValue { value: Some(v) }
}

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = AnyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_unit<E>(self) -> Result<AnyValue, E> {
        Ok(AnyValue { value: None })
    }
    fn visit_none<E>(self) -> Result<AnyValue, E> {
        Ok(AnyValue { value: None })
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<AnyValue, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<AnyValue, E> {
        Ok(any(Value::BoolValue(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<AnyValue, E> {
        Ok(any(Value::IntValue(v)))
    }
    /// Go's `FromRaw` stores a `uint64` as `int64(v)`: values above `i64::MAX` wrap.
    fn visit_u64<E>(self, v: u64) -> Result<AnyValue, E> {
        Ok(any(Value::IntValue(v as i64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<AnyValue, E> {
        Ok(any(Value::DoubleValue(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<AnyValue, E> {
        Ok(any(Value::StringValue(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<AnyValue, E> {
        Ok(any(Value::StringValue(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValue, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element::<ConfigValue>()? {
            values.push(v.0);
        }
        Ok(any(Value::ArrayValue(ArrayValue { values })))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        let mut values: Vec<KeyValue> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((key, value)) = map.next_entry::<String, ConfigValue>()? {
            put(&mut values, &key, value.0);
        }
        Ok(any(Value::KvlistValue(KeyValueList { values })))
    }
}

/// The value of `key`, if the map has the key (first occurrence, as pcommon's `Get`). A key
/// whose value is missing on the wire reads as the empty value.
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    static EMPTY: AnyValue = AnyValue { value: None };
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref().unwrap_or(&EMPTY))
}

/// The index of `key` (first occurrence).
pub fn position(attrs: &[KeyValue], key: &str) -> Option<usize> {
    attrs.iter().position(|kv| kv.key == key)
}

/// Mutable value of `key`, materialising a missing wire value as the empty value.
pub fn get_mut<'a>(attrs: &'a mut [KeyValue], key: &str) -> Option<&'a mut AnyValue> {
    attrs
        .iter_mut()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.get_or_insert_with(AnyValue::default))
}

/// Sets `key` to `value`: replaces the value in place when the key exists, appends otherwise
/// (pcommon's `PutStr`/`PutEmpty`+`CopyTo`).
pub fn put(attrs: &mut Vec<KeyValue>, key: &str, value: AnyValue) {
    match get_mut(attrs, key) {
        Some(v) => *v = value,
        None => attrs.push(KeyValue {
            key: key.to_string(),
            value: Some(value),
            ..Default::default()
        }),
    }
}

/// Removes the first entry with `key`, moving the last entry into its place, as pcommon's
/// `Map.Remove` does (so the order of what remains matches the Go collector's output).
pub fn remove(attrs: &mut Vec<KeyValue>, key: &str) -> bool {
    match position(attrs, key) {
        Some(i) => {
            attrs.swap_remove(i);
            true
        }
        None => false,
    }
}

/// pcommon's `Value.Str()` when the value is a string.
pub fn as_str(v: &AnyValue) -> Option<&str> {
    match &v.value {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// pcommon's `Value.AsString()`: strings borrowed, everything else rendered as the Go
/// collector renders it (ES6 numbers, JSON for maps and slices, base64 for bytes).
pub fn as_string(v: &AnyValue) -> Cow<'_, str> {
    match &v.value {
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::DoubleValue(d)) if !d.is_finite() => {
            Cow::Owned(format!("json: unsupported value: {}", go_format_g(*d)))
        }
        _ => Cow::Owned(crate::util::gofmt::value_as_string(Some(v))),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` for the non-finite values.
fn go_format_g(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub fn go_format_f(f: f64) -> String {
    if f.is_finite() {
        // Rust's `Display` for f64 is exactly that: shortest digits, plain decimal notation.
        format!("{f}")
    } else {
        go_format_g(f).to_string()
    }
}
