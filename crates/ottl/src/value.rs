//! OTTL values: what a path or converter yields, with Go's comparison rules (`compare.go`),
//! math (`math.go`) and the conversions between values and pdata `AnyValue`s.

use std::cmp::Ordering;
use std::fmt;

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};

use crate::syntax::{CmpOp, MathOp};

/// A value in flight. `Map` and `List` are pcommon.Map / pcommon.Slice; `Time` is nanoseconds
/// since the Unix epoch with the location it is shown in (Go's `time.Time` carries one:
/// `Hour`, `FormatTime`, ... answer in it; comparisons and math use the instant only);
/// `Duration` nanoseconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Nil,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Map(Vec<KeyValue>),
    List(Vec<AnyValue>),
    Time(i64, jiff::tz::TimeZone),
    Duration(i64),
    /// The pdata structs and slices a few paths yield as Go does (`resource`, `status`,
    /// `events`, ...): they can be read, compared and set onto the same path, not stored in
    /// an attribute.
    Pdata(Box<Pdata>),
}

/// A pdata value that is not a `pcommon.Value`, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Pdata {
    Resource(pdata::proto::resource::v1::Resource),
    Scope(pdata::proto::common::v1::InstrumentationScope),
    Status(pdata::proto::trace::v1::Status),
    Events(Vec<pdata::proto::trace::v1::span::Event>),
    Links(Vec<pdata::proto::trace::v1::span::Link>),
    Exemplars(Vec<pdata::proto::metrics::v1::Exemplar>),
    Quantiles(Vec<pdata::proto::metrics::v1::summary_data_point::ValueAtQuantile>),
}

impl Pdata {
    /// The Go type name in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Pdata::Resource(_) => "pcommon.Resource",
            Pdata::Scope(_) => "pcommon.InstrumentationScope",
            Pdata::Status(_) => "ptrace.Status",
            Pdata::Events(_) => "ptrace.SpanEventSlice",
            Pdata::Links(_) => "ptrace.SpanLinkSlice",
            Pdata::Exemplars(_) => "pmetric.ExemplarSlice",
            Pdata::Quantiles(_) => "pmetric.SummaryDataPointValueAtQuantileSlice",
        }
    }

    /// The element count of a slice (`Len`); `None` for the structs.
    pub fn slice_len(&self) -> Option<usize> {
        match self {
            Pdata::Events(v) => Some(v.len()),
            Pdata::Links(v) => Some(v.len()),
            Pdata::Exemplars(v) => Some(v.len()),
            Pdata::Quantiles(v) => Some(v.len()),
            Pdata::Resource(_) | Pdata::Scope(_) | Pdata::Status(_) => None,
        }
    }
}

impl Value {
    /// A time shown in UTC, as pdata timestamps read (`pcommon.Timestamp.AsTime`).
    pub fn utc_time(nanos: i64) -> Value {
        Value::Time(nanos, jiff::tz::TimeZone::UTC)
    }

    /// The Go type name in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Str(_) => "string",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::Bytes(_) => "[]byte",
            Value::Map(_) => "pcommon.Map",
            Value::List(_) => "pcommon.Slice",
            Value::Time(..) => "time.Time",
            Value::Duration(_) => "time.Duration",
            Value::Pdata(p) => p.type_name(),
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value read from an attribute or body.
    pub fn from_any(v: &AnyValue) -> Value {
        match &v.value {
            None => Value::Nil,
            Some(any_value::Value::StringValue(s)) => Value::Str(s.clone()),
            Some(any_value::Value::IntValue(i)) => Value::Int(*i),
            Some(any_value::Value::DoubleValue(f)) => Value::Float(*f),
            Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
            Some(any_value::Value::BytesValue(b)) => Value::Bytes(b.clone()),
            Some(any_value::Value::KvlistValue(kv)) => Value::Map(kv.values.clone()),
            Some(any_value::Value::ArrayValue(a)) => Value::List(a.values.clone()),
            Some(_) => Value::Nil,
        }
    }

    pub fn from_opt_any(v: Option<&AnyValue>) -> Value {
        v.map_or(Value::Nil, Value::from_any)
    }

    /// The value as an attribute value (Go `ctxutil.SetValue`): `None` for the types an
    /// attribute cannot hold (time, duration), which setters then ignore.
    pub fn into_any(self) -> Option<AnyValue> {
        let v = match self {
            Value::Nil => None,
            Value::Str(s) => Some(any_value::Value::StringValue(s)),
            Value::Int(i) => Some(any_value::Value::IntValue(i)),
            Value::Float(f) => Some(any_value::Value::DoubleValue(f)),
            Value::Bool(b) => Some(any_value::Value::BoolValue(b)),
            Value::Bytes(b) => Some(any_value::Value::BytesValue(b)),
            Value::Map(m) => Some(any_value::Value::KvlistValue(KeyValueList { values: m })),
            Value::List(l) => Some(any_value::Value::ArrayValue(ArrayValue { values: l })),
            Value::Time(..) | Value::Duration(_) | Value::Pdata(_) => return None,
        };
        Some(AnyValue { value: v })
    }

    /// Go `pcommon.Value.AsString()` for the value types an attribute holds; JSON for maps
    /// and slices, base64 for bytes.
    pub fn as_string(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_es6(*f),
            Value::Bool(b) => b.to_string(),
            Value::Bytes(b) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(b)
            }
            Value::Map(m) => serde_json::to_string(&map_to_json(m)).unwrap_or_default(),
            Value::List(l) => serde_json::to_string(&list_to_json(l)).unwrap_or_default(),
            Value::Time(t, tz) => format_time_in(*t, tz),
            Value::Duration(d) => format_duration(*d),
            Value::Pdata(p) => format!("{p:?}"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)` as pcommon prints doubles: shortest round-trip,
/// exponent form for exponents < -4 or >= 21.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        let s = format!("{f:e}");
        // Rust: 1e21, 1.5e-7; Go: 1e+21, 1.5e-07
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        let digits = if digits.len() < 2 {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        format!("{mant}e{sign}{digits}")
    } else {
        format!("{f}")
    }
}

/// pcommon's `AsString` of a double (ES6 number to string): plain digits, exponent form only
/// below 1e-6 or from 1e21, the exponent unpadded (`1e-7`, `1e+21`).
pub fn format_float_es6(f: f64) -> String {
    if !f.is_finite() {
        return format_float(f);
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        return match e.strip_prefix('-') {
            Some(d) => format!("{mant}e-{d}"),
            None => format!("{mant}e+{e}"),
        };
    }
    format!("{f}")
}

/// Go `time.Time.String()` for a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn format_time(nanos: i64) -> String {
    format_time_in(nanos, &jiff::tz::TimeZone::UTC)
}

/// Go `time.Time.String()` in a location: `2006-01-02 15:04:05.999999999 -0700 MST`; a fixed
/// zone without a name shows its offset twice (`+0200 +0200`), as Go's `FixedZone("", ..)`.
pub fn format_time_in(nanos: i64, tz: &jiff::tz::TimeZone) -> String {
    let Ok(ts) = jiff::Timestamp::from_nanosecond(nanos as i128) else {
        return nanos.to_string();
    };
    let z = ts.to_zoned(tz.clone());
    let dt = z.datetime();
    let frac = nanos.rem_euclid(1_000_000_000);
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    let offset = z.strftime("%z").to_string();
    let abbr = if tz.iana_name().is_none() && *tz != jiff::tz::TimeZone::UTC {
        offset.clone()
    } else {
        z.strftime("%Z").to_string()
    };
    s.push(' ');
    s.push_str(&offset);
    s.push(' ');
    s.push_str(&abbr);
    s
}

/// Go `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let frac = |v: u64, unit: u64, digits: usize| -> String {
        let whole = v / unit;
        let rem = v % unit;
        if rem == 0 {
            whole.to_string()
        } else {
            let f = format!("{rem:0digits$}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        out.push_str(&format!("{u}ns"));
    } else if u < 1_000_000 {
        out.push_str(&frac(u, 1_000, 3));
        out.push_str("µs");
    } else if u < 1_000_000_000 {
        out.push_str(&frac(u, 1_000_000, 6));
        out.push_str("ms");
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = u % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(s, 1_000_000_000, 9));
        out.push('s');
    }
    out
}

// The JSON of values as pcommon's `AsString` writes it is pdata's, shared with the store.
pub use pdata::anyvalue::{any_to_json, list_to_json, map_to_json};

/// A JSON document as pdata (`ParseJSON`): numbers become doubles, as Go's decoder makes them.
pub fn json_to_any(j: serde_json::Value) -> AnyValue {
    use serde_json::Value as J;
    let v = match j {
        J::Null => None,
        J::Bool(b) => Some(any_value::Value::BoolValue(b)),
        J::Number(n) => Some(any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0))),
        J::String(s) => Some(any_value::Value::StringValue(s)),
        J::Array(a) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: a.into_iter().map(json_to_any).collect(),
        })),
        J::Object(o) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: json_object_to_map(o),
        })),
    };
    AnyValue { value: v }
}

pub fn json_object_to_map(o: serde_json::Map<String, serde_json::Value>) -> Vec<KeyValue> {
    o.into_iter()
        .map(|(key, v)| KeyValue {
            key,
            value: Some(json_to_any(v)),
            ..Default::default()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Comparison (compare.go)

/// `left op right` with Go's rules: numbers compare numerically across int and float, values
/// of different types are only unequal, nil equals only nil.
pub fn compare(left: &Value, op: CmpOp, right: &Value) -> bool {
    use Value::*;
    let ord: Option<Ordering> = match (left, right) {
        (Nil, Nil) => Some(Ordering::Equal),
        (Nil, _) | (_, Nil) => None,
        (Int(a), Int(b)) => Some(a.cmp(b)),
        (Int(a), Float(b)) => (*a as f64).partial_cmp(b),
        (Float(a), Int(b)) => a.partial_cmp(&(*b as f64)),
        (Float(a), Float(b)) => {
            // NaN: every ordering false, only != true (Go float semantics)
            match a.partial_cmp(b) {
                Some(o) => Some(o),
                None => return op == CmpOp::Ne,
            }
        }
        (Str(a), Str(b)) => Some(a.as_str().cmp(b.as_str())),
        (Bool(a), Bool(b)) => Some(a.cmp(b)),
        (Bytes(a), Bytes(b)) => Some(a.as_slice().cmp(b.as_slice())),
        (Time(a, _), Time(b, _)) | (Duration(a), Duration(b)) => Some(a.cmp(b)),
        (Map(a), Map(b)) => {
            return match op {
                CmpOp::Eq => maps_equal(a, b),
                CmpOp::Ne => !maps_equal(a, b),
                _ => false,
            };
        }
        (List(a), List(b)) => {
            return match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                _ => false,
            };
        }
        // Go falls back to `==` on types it cannot order.
        (Pdata(a), Pdata(b)) => {
            return match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                _ => false,
            };
        }
        _ => None,
    };
    match ord {
        None => op == CmpOp::Ne,
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Lte => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Gte => o != Ordering::Less,
        },
    }
}

/// pcommon.Map equality ignores key order.
fn maps_equal(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter().all(|kv| {
            b.iter()
                .find(|o| o.key == kv.key)
                .is_some_and(|o| o.value == kv.value)
        })
}

// ---------------------------------------------------------------------------------------------
// Math (math.go)

pub fn math(left: Value, op: MathOp, right: Value) -> Result<Value, String> {
    use Value::*;
    let div0 = || "attempted to divide by 0".to_string();
    Ok(match (left, right) {
        (Int(a), Int(b)) => Int(match op {
            MathOp::Add => a.wrapping_add(b),
            MathOp::Sub => a.wrapping_sub(b),
            MathOp::Mul => a.wrapping_mul(b),
            MathOp::Div => {
                if b == 0 {
                    return Err(div0());
                }
                a.wrapping_div(b)
            }
        }),
        (Float(a), Float(b)) => Float(match op {
            MathOp::Add => a + b,
            MathOp::Sub => a - b,
            MathOp::Mul => a * b,
            MathOp::Div => {
                if b == 0.0 {
                    return Err(div0());
                }
                a / b
            }
        }),
        (Time(a, _), Time(b, _)) => match op {
            MathOp::Sub => Duration(a.wrapping_sub(b)),
            _ => {
                return Err(format!(
                    "only subtraction is allowed between times, got {}",
                    op.as_str()
                ));
            }
        },
        (Time(a, tz), Duration(b)) => match op {
            MathOp::Add => Time(a.wrapping_add(b), tz),
            MathOp::Sub => Time(a.wrapping_sub(b), tz),
            _ => {
                return Err(format!(
                    "only addition and subtraction are allowed between time and duration, got {}",
                    op.as_str()
                ));
            }
        },
        (Duration(a), Duration(b)) => match op {
            MathOp::Add => Duration(a.wrapping_add(b)),
            MathOp::Sub => Duration(a.wrapping_sub(b)),
            _ => {
                return Err(format!(
                    "only addition and subtraction are allowed between durations, got {}",
                    op.as_str()
                ));
            }
        },
        (l, r) => {
            return Err(format!(
                "unsupported math operation between {} and {}",
                l.type_name(),
                r.type_name()
            ));
        }
    })
}
