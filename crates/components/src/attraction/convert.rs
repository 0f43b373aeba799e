//! The `convert` action: changes an attribute's type to `int`, `double` or `string` as the
//! Go collector's `convertValue` does, leaving values it cannot convert unchanged.

use pdata::proto::common::v1::{AnyValue, any_value::Value};

use super::value::as_string;

/// The target of a `convert` action (`converted_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertTo {
    Int,
    Double,
    String,
}

impl ConvertTo {
    pub fn parse(s: &str) -> Option<ConvertTo> {
        match s {
            "int" => Some(ConvertTo::Int),
            "double" => Some(ConvertTo::Double),
            "string" => Some(ConvertTo::String),
            _ => None,
        }
    }
}

/// Converts `v` in place. A string that does not parse, and a type with no conversion (maps,
/// slices, bytes, empty to a number), stay as they are; Go logs those at debug level.
pub fn convert_value(key: &str, to: ConvertTo, v: &mut AnyValue) {
    let converted = match (to, &v.value) {
        (ConvertTo::String, Some(Value::StringValue(_))) => return,
        (ConvertTo::String, _) => Value::StringValue(as_string(v).into_owned()),
        (ConvertTo::Int, Some(Value::IntValue(_))) => return,
        (ConvertTo::Int, Some(Value::DoubleValue(d))) => Value::IntValue(go_float_to_int(*d)),
        (ConvertTo::Int, Some(Value::BoolValue(b))) => Value::IntValue(i64::from(*b)),
        (ConvertTo::Int, Some(Value::StringValue(s))) => match s.parse::<i64>() {
            Ok(n) => Value::IntValue(n),
            Err(e) => {
                tracing::debug!(key, value = %s, error = %e, "String could not be converted to int");
                return;
            }
        },
        (ConvertTo::Double, Some(Value::DoubleValue(_))) => return,
        (ConvertTo::Double, Some(Value::IntValue(i))) => Value::DoubleValue(*i as f64),
        (ConvertTo::Double, Some(Value::BoolValue(b))) => {
            Value::DoubleValue(if *b { 1.0 } else { 0.0 })
        }
        (ConvertTo::Double, Some(Value::StringValue(s))) => match go_parse_float(s) {
            Some(f) => Value::DoubleValue(f),
            None => {
                tracing::debug!(key, value = %s, "String could not be converted to double");
                return;
            }
        },
        (ConvertTo::Int | ConvertTo::Double, _) => {
            tracing::debug!(key, to = ?to, "Unable to convert type");
            return;
        }
    };
    v.value = Some(converted);
}

/// Go's `int64(f)` on amd64 (where the Go collector mostly runs): truncation toward zero,
/// and the "integer indefinite" value `i64::MIN` for NaN and for values out of range, where
/// Rust's `as` would saturate.
fn go_float_to_int(f: f64) -> i64 {
    // 2^63 is exactly representable; every finite f in [-2^63, 2^63) truncates into range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: a value too large for a float64 is an
/// error there (Rust returns infinity), `inf`/`infinity` take an optional sign and `nan` none.
/// Go's hexadecimal floats (`0x1p-2`) are not accepted.
fn go_parse_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let special = unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
    if f.is_infinite() && !special {
        return None;
    }
    if f.is_nan() && unsigned.len() != s.len() {
        return None;
    }
    Some(f)
}
