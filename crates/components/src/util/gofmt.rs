//! How the Go collector renders values in its debug output, reproduced byte for byte: float
//! formats (`%f`, `%v`, pdata's ES6-style `AsString`), `time.Time.String()`, trace/span ids,
//! and `pcommon.Value` as `Type(value)` with maps and slices as Go `encoding/json` text.

use std::fmt::Write as _;

use pdata::proto::common::v1::{AnyValue, any_value::Value};

use crate::util::gotext;

/// Shortest round-trip digits of a finite, non-negative `f` and its decimal exponent:
/// `1234.5` → (`"12345"`, 3).
fn shortest_digits(abs: f64) -> (String, i32) {
    let sci = format!("{abs:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    (mantissa.replace('.', ""), exp.parse().unwrap_or(0))
}

/// Exponent form of the shortest digits: `d[.ddd]e±X`, the exponent zero-padded to at least
/// `exp_width` digits (2 for Go's `%e`/`%v`, 1 for ES6).
fn exp_form(neg: bool, digits: &str, exp: i32, exp_width: usize) -> String {
    let mut s = String::with_capacity(digits.len() + 6);
    if neg {
        s.push('-');
    }
    s.push_str(&digits[..1]);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    let _ = write!(
        s,
        "e{}{:0exp_width$}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    );
    s
}

/// Go `fmt` text of infinities and NaN (`%v`, `%f`).
fn non_finite(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("+Inf")
    } else if f == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Go `fmt.Sprintf("%f", f)`: six decimals.
pub fn go_f(f: f64) -> String {
    match non_finite(f) {
        Some(s) => s.to_string(),
        None => format!("{f:.6}"),
    }
}

/// Go `fmt.Sprintf("%v", f)` for a float64: `%g` with the shortest digits, in exponent form
/// when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`, `123456`).
pub fn go_v(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, exp) = shortest_digits(f.abs());
    if !(-4..6).contains(&exp) {
        exp_form(f < 0.0, &digits, exp, 2)
    } else {
        format!("{f}")
    }
}

/// pdata's `float64AsString` (also Go `encoding/json`'s float text): ES6 number-to-string,
/// exponent form below 1e-6 and from 1e21 on, with no zero padding in the exponent
/// (`1e+21`, `1e-7`). Infinities and NaN have JSON-ish names.
pub fn es6(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, exp) = shortest_digits(abs);
        exp_form(f < 0.0, &digits, exp, 1)
    } else {
        format!("{f}")
    }
}

/// Go `time.Unix(0, int64(ns)).UTC().String()`: `2020-02-11 20:26:12.000000321 +0000 UTC`,
/// trailing zeros of the fraction dropped, no fraction when it is zero.
pub fn timestamp(ns: u64) -> String {
    // Go converts the uint64 to int64 the same way.
    crate::util::time::go_string(ns as i64)
}

/// pdata's `TraceID.String()` / `SpanID.String()`: lowercase hex, empty for an all-zero id.
pub fn id(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| *b == 0) {
        return String::new();
    }
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Standard base64 with padding (Go `base64.StdEncoding`).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let sextet = |shift: u32| ALPHABET[(n >> shift & 63) as usize] as char;
        s.push(sextet(18));
        s.push(sextet(12));
        s.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        s.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    s
}

/// pdata's `ValueType.String()`. An unset value, or a variant Go's pdata has no type for
/// (profiles' string-table index), is `Empty`.
pub fn value_type(v: Option<&AnyValue>) -> &'static str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(_)) => "Str",
        Some(Value::BoolValue(_)) => "Bool",
        Some(Value::IntValue(_)) => "Int",
        Some(Value::DoubleValue(_)) => "Double",
        Some(Value::ArrayValue(_)) => "Slice",
        Some(Value::KvlistValue(_)) => "Map",
        Some(Value::BytesValue(_)) => "Bytes",
        Some(Value::StringValueStrindex(_)) | None => "Empty",
    }
}

/// pdata's `Value.AsString()`.
pub fn value_as_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => es6(*d),
        Some(Value::BytesValue(b)) => base64(b),
        Some(Value::KvlistValue(kv)) => {
            json_or_empty(|out| gotext::json_map_escaped(out, &kv.values, false))
        }
        Some(Value::ArrayValue(a)) => {
            json_or_empty(|out| gotext::json_slice_escaped(out, &a.values, false))
        }
        Some(Value::StringValueStrindex(_)) | None => String::new(),
    }
}

/// `Type(value)`, the otlptext rendering of an attribute value or body.
pub fn typed_value(v: Option<&AnyValue>) -> String {
    format!("{}({})", value_type(v), value_as_string(v))
}

/// pdata's `AsString` of a map or slice: Go's `encoding/json` text with HTML escaping off,
/// or the empty string when encoding fails (NaN or an infinity inside).
fn json_or_empty(write: impl FnOnce(&mut String) -> Result<(), gotext::Unsupported>) -> String {
    let mut out = String::new();
    match write(&mut out) {
        Ok(()) => out,
        Err(_) => String::new(),
    }
}
