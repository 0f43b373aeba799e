//! The contract between the language and the telemetry it runs on: a context resolves a path
//! once at parse time to its own `Path` value, then reads and writes that path on borrowed
//! pdata. Keyed access (`attributes["a"][0]`) is shared: a context hands out the map or value
//! a path names and this module walks the keys (Go `ctxutil.GetMapValue` / `SetMapValue`).

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};

use crate::EvalError;
use crate::syntax::Field;
use crate::value::Value;

/// A context kind (span, log, datapoint, ...). The type is a marker; `Data<'a>` is what one
/// evaluation borrows.
pub trait Context: Sized + 'static {
    /// A path resolved at parse time.
    type Path: Clone + std::fmt::Debug + Send + Sync + 'static;
    /// The telemetry one evaluation runs on.
    type Data<'a>;
    /// The context's name (`span`), the prefix its own paths may carry.
    const NAME: &'static str;

    /// Resolves `fields` (context prefix removed) to a path; returns how many keys of the last
    /// field the path consumed itself (`trace_state["k"]`), the rest are walked generically.
    fn parse_path(fields: &[Field]) -> Result<(Self::Path, usize), String>;

    /// The int64 value of an enum symbol this context knows.
    fn enum_symbol(name: &str) -> Option<i64>;

    fn get(data: &Self::Data<'_>, path: &Self::Path) -> Result<Value, EvalError>;

    fn set(data: &mut Self::Data<'_>, path: &Self::Path, value: Value) -> Result<(), EvalError>;

    /// The map or value behind a path that can be indexed; `None` for scalar paths.
    fn slot<'b>(data: &'b Self::Data<'_>, path: &Self::Path) -> Option<SlotRef<'b>>;

    fn slot_mut<'b>(data: &'b mut Self::Data<'_>, path: &Self::Path) -> Option<SlotMut<'b>>;
}

/// An indexable thing a path names, read-only.
pub enum SlotRef<'a> {
    Map(&'a [KeyValue]),
    Any(Option<&'a AnyValue>),
}

/// An indexable thing a path names, writable.
pub enum SlotMut<'a> {
    Map(&'a mut Vec<KeyValue>),
    Any(&'a mut AnyValue),
}

/// A key resolved for one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyVal {
    Str(String),
    Int(i64),
}

fn any_type_name(v: &AnyValue) -> &'static str {
    match &v.value {
        None => "Empty",
        Some(any_value::Value::StringValue(_)) => "Str",
        Some(any_value::Value::IntValue(_)) => "Int",
        Some(any_value::Value::DoubleValue(_)) => "Double",
        Some(any_value::Value::BoolValue(_)) => "Bool",
        Some(any_value::Value::BytesValue(_)) => "Bytes",
        Some(any_value::Value::KvlistValue(_)) => "Map",
        Some(any_value::Value::ArrayValue(_)) => "Slice",
        Some(_) => "Empty",
    }
}

pub fn map_get<'a>(m: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    m.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

pub fn map_get_mut<'a>(m: &'a mut [KeyValue], key: &str) -> Option<&'a mut KeyValue> {
    m.iter_mut().find(|kv| kv.key == key)
}

/// pcommon `Map.PutEmpty`: the entry for `key`, created empty if absent.
pub fn map_entry<'a>(m: &'a mut Vec<KeyValue>, key: &str) -> &'a mut AnyValue {
    let idx = match m.iter().position(|kv| kv.key == key) {
        Some(i) => i,
        None => {
            m.push(KeyValue {
                key: key.to_string(),
                value: Some(AnyValue::default()),
                ..Default::default()
            });
            m.len() - 1
        }
    };
    m[idx].value.get_or_insert_with(AnyValue::default)
}

pub fn map_put(m: &mut Vec<KeyValue>, key: &str, v: AnyValue) {
    *map_entry(m, key) = v;
}

pub fn map_remove(m: &mut Vec<KeyValue>, key: &str) {
    m.retain(|kv| kv.key != key);
}

/// Reads through `keys` from `slot`: a missing key is nil; indexing a value that cannot be
/// indexed, or an index out of range, is an error as in Go.
pub fn get_keyed(slot: SlotRef<'_>, keys: &[KeyVal]) -> Result<Value, EvalError> {
    let mut cur: Option<&AnyValue> = match slot {
        SlotRef::Any(v) => v,
        SlotRef::Map(m) => {
            let Some((first, rest)) = keys.split_first() else {
                return Ok(Value::Map(m.to_vec()));
            };
            match first {
                KeyVal::Str(k) => {
                    let v = map_get(m, k);
                    return walk(v, rest);
                }
                KeyVal::Int(_) => {
                    return Err(EvalError::new("cannot index map with int"));
                }
            }
        }
    };
    if keys.is_empty() {
        return Ok(Value::from_opt_any(cur));
    }
    let v = cur.take();
    walk(v, keys)
}

fn walk(mut cur: Option<&AnyValue>, keys: &[KeyVal]) -> Result<Value, EvalError> {
    for k in keys {
        let Some(v) = cur else {
            return Ok(Value::Nil);
        };
        cur = match (&v.value, k) {
            (Some(any_value::Value::KvlistValue(kv)), KeyVal::Str(s)) => map_get(&kv.values, s),
            (Some(any_value::Value::ArrayValue(a)), KeyVal::Int(i)) => {
                if *i < 0 || *i as usize >= a.values.len() {
                    return Err(EvalError::new(format!("index {i} out of bounds")));
                }
                Some(&a.values[*i as usize])
            }
            (Some(any_value::Value::KvlistValue(_)), KeyVal::Int(_)) => {
                return Err(EvalError::new("map must be indexed by a string key"));
            }
            (Some(any_value::Value::ArrayValue(_)), KeyVal::Str(_)) => {
                return Err(EvalError::new("slice must be indexed by an int key"));
            }
            (_, KeyVal::Str(_)) => {
                return Err(EvalError::new(format!(
                    "type {} does not support string indexing",
                    any_type_name(v)
                )));
            }
            (_, KeyVal::Int(_)) => {
                return Err(EvalError::new(format!(
                    "type {} does not support int indexing",
                    any_type_name(v)
                )));
            }
        };
    }
    Ok(Value::from_opt_any(cur))
}

/// The value at `keys` under `slot`, borrowed; `None` when missing (or when `keys` is empty
/// and the slot is a map, which is no single value). Errors as [`get_keyed`].
pub fn ref_at<'a>(slot: SlotRef<'a>, keys: &[KeyVal]) -> Result<Option<&'a AnyValue>, EvalError> {
    let (mut cur, keys) = match slot {
        SlotRef::Any(v) => (v, keys),
        SlotRef::Map(m) => match keys.split_first() {
            None => return Ok(None),
            Some((KeyVal::Str(k), rest)) => (map_get(m, k), rest),
            Some((KeyVal::Int(_), _)) => return Err(EvalError::new("cannot index map with int")),
        },
    };
    for k in keys {
        let Some(v) = cur else { return Ok(None) };
        cur = match (&v.value, k) {
            (Some(any_value::Value::KvlistValue(kv)), KeyVal::Str(s)) => map_get(&kv.values, s),
            (Some(any_value::Value::ArrayValue(a)), KeyVal::Int(i)) => {
                match usize::try_from(*i).ok().and_then(|i| a.values.get(i)) {
                    Some(x) => Some(x),
                    None => return Err(EvalError::new(format!("index {i} out of bounds"))),
                }
            }
            (_, KeyVal::Str(_)) => {
                return Err(EvalError::new(format!(
                    "type {} does not support string indexing",
                    any_type_name(v)
                )));
            }
            (_, KeyVal::Int(_)) => {
                return Err(EvalError::new(format!(
                    "type {} does not support int indexing",
                    any_type_name(v)
                )));
            }
        };
    }
    Ok(cur)
}

/// Writes `value` through `keys` into `slot`, creating missing map entries on the way
/// (Go `SetMapValue`). A nil or unsupported value (time, duration) is not written.
pub fn set_keyed(slot: SlotMut<'_>, keys: &[KeyVal], value: Value) -> Result<(), EvalError> {
    let target: &mut AnyValue = match slot {
        SlotMut::Map(m) => {
            let Some((first, rest)) = keys.split_first() else {
                if let Value::Map(new) = value {
                    *m = new;
                }
                return Ok(());
            };
            let KeyVal::Str(k) = first else {
                return Err(EvalError::new("non-string indexing is not supported"));
            };
            let entry = map_entry(m, k);
            return set_walk(entry, rest, value);
        }
        SlotMut::Any(v) => v,
    };
    set_walk(target, keys, value)
}

fn set_walk(mut cur: &mut AnyValue, keys: &[KeyVal], value: Value) -> Result<(), EvalError> {
    for k in keys {
        let tname = any_type_name(cur);
        cur = match (&mut cur.value, k) {
            (Some(any_value::Value::KvlistValue(kv)), KeyVal::Str(s)) => {
                map_entry(&mut kv.values, s)
            }
            (Some(any_value::Value::ArrayValue(a)), KeyVal::Int(i)) => {
                let len = a.values.len();
                if *i < 0 || *i as usize >= len {
                    return Err(EvalError::new(format!("index {i} out of bounds")));
                }
                &mut a.values[*i as usize]
            }
            (slot @ None, KeyVal::Str(s)) => {
                // An empty value becomes a map, as pcommon's SetEmptyMap in SetMapValue.
                *slot = Some(any_value::Value::KvlistValue(KeyValueList::default()));
                match slot {
                    Some(any_value::Value::KvlistValue(kv)) => map_entry(&mut kv.values, s),
                    _ => unreachable!("just set"),
                }
            }
            (_, KeyVal::Str(_)) => {
                return Err(EvalError::new(format!(
                    "type {tname} does not support string indexing"
                )));
            }
            (_, KeyVal::Int(_)) => {
                return Err(EvalError::new(format!(
                    "type {tname} does not support int indexing"
                )));
            }
        };
    }
    if let Some(v) = value.into_any() {
        *cur = v;
    }
    Ok(())
}

/// A mutable view of the map at `keys` under `slot`, for editors that change a map in place
/// (delete_key, keep_keys, truncate_all ...). `Ok(None)` when the value there is not a map.
pub fn map_at<'a>(
    slot: SlotMut<'a>,
    keys: &[KeyVal],
) -> Result<Option<&'a mut Vec<KeyValue>>, EvalError> {
    let cur: &'a mut AnyValue = match slot {
        SlotMut::Map(m) => {
            let Some((first, rest)) = keys.split_first() else {
                return Ok(Some(m));
            };
            let KeyVal::Str(k) = first else {
                return Err(EvalError::new("cannot index map with int"));
            };
            match map_get_mut(m, k).and_then(|kv| kv.value.as_mut()) {
                Some(v) => {
                    return any_map_at(v, rest);
                }
                None => return Ok(None),
            }
        }
        SlotMut::Any(v) => v,
    };
    if keys.is_empty() {
        return Ok(match &mut cur.value {
            Some(any_value::Value::KvlistValue(kv)) => Some(&mut kv.values),
            _ => None,
        });
    }
    any_map_at(cur, keys)
}

fn any_map_at<'a>(
    mut cur: &'a mut AnyValue,
    keys: &[KeyVal],
) -> Result<Option<&'a mut Vec<KeyValue>>, EvalError> {
    for k in keys {
        cur = match (&mut cur.value, k) {
            (Some(any_value::Value::KvlistValue(kv)), KeyVal::Str(s)) => {
                match map_get_mut(&mut kv.values, s).and_then(|kv| kv.value.as_mut()) {
                    Some(v) => v,
                    None => return Ok(None),
                }
            }
            (Some(any_value::Value::ArrayValue(a)), KeyVal::Int(i)) => {
                match a.values.get_mut(usize::try_from(*i).unwrap_or(usize::MAX)) {
                    Some(v) => v,
                    None => return Err(EvalError::new(format!("index {i} out of bounds"))),
                }
            }
            _ => return Ok(None),
        };
    }
    Ok(match &mut cur.value {
        Some(any_value::Value::KvlistValue(kv)) => Some(&mut kv.values),
        _ => None,
    })
}

/// Helpers the contexts share for their scalar fields.
pub(crate) fn str_val(s: &str) -> Value {
    Value::Str(s.to_string())
}

pub(crate) fn set_string(target: &mut String, v: Value) {
    if let Value::Str(s) = v {
        *target = s;
    }
}

pub(crate) fn set_int<T: TryFrom<i64>>(target: &mut T, v: Value) {
    if let Value::Int(i) = v
        && let Ok(x) = T::try_from(i)
    {
        *target = x;
    }
}

pub(crate) fn set_map(target: &mut Vec<KeyValue>, v: Value) {
    if let Value::Map(m) = v {
        *target = m;
    }
}

pub(crate) fn set_time(target: &mut u64, v: Value) {
    if let Value::Time(t, _) = v {
        *target = t.max(0) as u64;
    }
}

/// `[]byte`-like ids: `trace_id` takes bytes of the right length.
pub(crate) fn set_id(target: &mut Vec<u8>, v: Value, len: usize) {
    if let Value::Bytes(b) = v
        && b.len() == len
    {
        *target = b;
    }
}

/// `trace_id.string` / `span_id.string`: lowercase hex; setting parses hex of the right size
/// (Go errors on a wrong size).
pub(crate) fn set_id_string(target: &mut Vec<u8>, v: Value, len: usize) -> Result<(), EvalError> {
    if let Value::Str(s) = v {
        let b = hex::decode(&s).map_err(|e| EvalError::new(format!("{e}")))?;
        if b.len() != len {
            return Err(EvalError::new(if len == 16 {
                "traceids must be 32 bytes"
            } else {
                "spanids must be 16 bytes"
            }));
        }
        *target = b;
    }
    Ok(())
}

pub(crate) fn id_string(id: &[u8]) -> Value {
    if id.iter().all(|b| *b == 0) {
        return Value::Str(String::new());
    }
    Value::Str(hex::encode(id))
}

/// An empty-or-16-byte id as OTTL reads it: `pcommon.TraceID` bytes, all zeros when unset.
pub(crate) fn id_bytes(id: &[u8], len: usize) -> Value {
    if id.len() == len {
        Value::Bytes(id.to_vec())
    } else {
        Value::Bytes(vec![0; len])
    }
}

pub(crate) fn attrs_value(v: &[KeyValue]) -> Value {
    Value::Map(v.to_vec())
}

pub(crate) fn new_map_value(values: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList { values })),
    }
}

pub(crate) fn new_list_value(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
    }
}
