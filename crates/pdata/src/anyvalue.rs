//! Attribute values as JSON, as pcommon's `AsString` renders maps and arrays (and Loki
//! renders a structured log body): bytes as base64, non-finite doubles as null, map keys
//! sorted as Go's `encoding/json` writes a `map[string]any`.

use crate::proto::common::v1::{AnyValue, KeyValue, any_value};

pub fn any_to_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(f)) => {
            serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
        }
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::BytesValue(b)) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(any_value::Value::KvlistValue(kv)) => map_to_json(&kv.values),
        Some(any_value::Value::ArrayValue(a)) => list_to_json(&a.values),
        Some(_) => J::Null,
    }
}

/// JSON of a map as pcommon marshals it (`AsString`): keys sorted, as Go's encoding/json
/// does for `map[string]any`.
pub fn map_to_json(m: &[KeyValue]) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for kv in m {
        obj.insert(
            kv.key.clone(),
            kv.value
                .as_ref()
                .map_or(serde_json::Value::Null, any_to_json),
        );
    }
    serde_json::Value::Object(obj)
}

pub fn list_to_json(l: &[AnyValue]) -> serde_json::Value {
    serde_json::Value::Array(l.iter().map(any_to_json).collect())
}
