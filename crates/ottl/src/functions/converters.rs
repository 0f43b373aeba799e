//! The standard converters (Go `ottlfuncs/func_<name>.go`), time ones excepted (`time.rs`).

use base64::Engine;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use super::ParamKind::*;
use super::editors::{compile_regex, get_int, get_map, get_string};
use super::hash;
use super::{Args, Functions, Param, opt, req};
use crate::context::Context;
use crate::expr::Expr;
use crate::syntax::CmpOp;
use crate::value::{self, Value, format_float};
use crate::{ConverterFn, EvalError};

pub(super) fn register<C: Context>(f: &mut Functions<C>) {
    f.converter("Concat", CONCAT, concat::<C>)
        .converter("ConvertCase", CONVERT_CASE, convert_case::<C>)
        .converter("Int", ONE, int::<C>)
        .converter("Double", ONE, double::<C>)
        .converter("Bool", ONE, bool_::<C>)
        .converter("String", ONE, string::<C>)
        .converter("Len", ONE, len::<C>)
        .converter("IsMatch", IS_MATCH, is_match::<C>)
        .converter("IsString", ONE, is_string::<C>)
        .converter("IsInt", ONE, is_int::<C>)
        .converter("IsDouble", ONE, is_double::<C>)
        .converter("IsBool", ONE, is_bool::<C>)
        .converter("IsMap", ONE, is_map::<C>)
        .converter("IsList", ONE, is_list::<C>)
        .converter("IsEmpty", ONE, is_empty::<C>)
        .converter("ParseJSON", ONE, parse_json::<C>)
        .converter("ParseKeyValue", PARSE_KV, parse_key_value::<C>)
        .converter("ExtractPatterns", EXTRACT, extract_patterns::<C>)
        .converter("Split", SPLIT, split::<C>)
        .converter("Substring", SUBSTRING, substring::<C>)
        .converter("Trim", TRIM, trim::<C>)
        .converter("TrimPrefix", AFFIX, trim_prefix::<C>)
        .converter("TrimSuffix", AFFIX, trim_suffix::<C>)
        .converter("HasPrefix", AFFIX, has_prefix::<C>)
        .converter("HasSuffix", AFFIX, has_suffix::<C>)
        .converter("ToLowerCase", ONE, to_lower::<C>)
        .converter("ToUpperCase", ONE, to_upper::<C>)
        .converter("ToSnakeCase", ONE, to_snake::<C>)
        .converter("ToCamelCase", ONE, to_camel::<C>)
        .converter("SHA1", ONE, sha1::<C>)
        .converter("SHA256", ONE, sha256::<C>)
        .converter("SHA512", ONE, sha512::<C>)
        .converter("MD5", ONE, md5::<C>)
        .converter("FNV", ONE, fnv::<C>)
        .converter("Murmur3Hash", ONE, murmur3::<C>)
        .converter("Murmur3Hash128", ONE, murmur3_128::<C>)
        .converter("Hex", ONE, hex_::<C>)
        .converter("Base64Encode", BASE64_ENCODE, base64_encode::<C>)
        .converter("Base64Decode", ONE, base64_decode::<C>)
        .converter("Decode", DECODE, decode::<C>)
        .converter("Format", FORMAT, format::<C>)
        .converter("TraceID", ONE, trace_id::<C>)
        .converter("SpanID", ONE, span_id::<C>)
        .converter("ProfileID", ONE, profile_id::<C>)
        .converter("ExtractGrokPatterns", GROK, extract_grok_patterns::<C>)
        .converter("UserAgent", ONE, user_agent::<C>)
        .converter("Keys", ONE, keys::<C>)
        .converter("Values", ONE, values::<C>)
        .converter("Index", TWO, index::<C>)
        .converter("ContainsValue", TWO, contains_value::<C>)
        .converter("Coalesce", COALESCE, coalesce::<C>)
        .converter("SliceToMap", SLICE_TO_MAP, slice_to_map::<C>)
        .converter("Sort", SORT, sort::<C>)
        .converter("ParseInt", PARSE_INT, parse_int::<C>)
        .converter("Log", ONE, log::<C>)
        .converter("IsValidLuhn", ONE, is_valid_luhn::<C>)
        .converter("IsInCIDR", IS_IN_CIDR, is_in_cidr::<C>)
        .converter("ToKeyValueString", TO_KV, to_key_value_string::<C>)
        .converter("ParseCSV", PARSE_CSV, parse_csv::<C>)
        .converter("UUID", NONE, uuid::<C>)
        .converter("UUIDv7", NONE, uuid7::<C>)
        .converter("URL", ONE, url::<C>)
        .converter("IsRootSpan", NONE, is_root_span::<C>)
        .converter("XXH3", ONE, xxh3::<C>)
        .converter("XXH128", ONE, xxh128::<C>)
        .converter("CommunityID", COMMUNITY_ID, community_id::<C>)
        .converter("ParseSeverity", TWO, parse_severity::<C>);
}

const NONE: &[Param] = &[];
const ONE: &[Param] = &[req("target", Getter)];
const TWO: &[Param] = &[req("target", Getter), req("value", Getter)];
const CONCAT: &[Param] = &[req("vals", GetterList), req("delimiter", Str)];
const CONVERT_CASE: &[Param] = &[req("target", Getter), req("toCase", Str)];
const IS_MATCH: &[Param] = &[req("target", Getter), req("pattern", Getter)];
const PARSE_KV: &[Param] = &[
    req("target", Getter),
    opt("delimiter", Str),
    opt("pair_delimiter", Str),
];
const EXTRACT: &[Param] = &[req("target", Getter), req("pattern", Str)];
const SPLIT: &[Param] = &[req("target", Getter), req("delimiter", Str)];
const SUBSTRING: &[Param] = &[
    req("target", Getter),
    req("start", Getter),
    req("length", Getter),
    opt("utf8_safe", Bool),
];
const TRIM: &[Param] = &[req("target", Getter), opt("replacement", Str)];
const AFFIX: &[Param] = &[req("target", Getter), req("prefix", Getter)];
const BASE64_ENCODE: &[Param] = &[req("target", Getter), opt("variant", Str)];
const DECODE: &[Param] = &[req("target", Getter), req("encoding", Getter)];
const FORMAT: &[Param] = &[req("format", Str), req("vals", GetterList)];
const GROK: &[Param] = &[
    req("target", Getter),
    req("pattern", Getter),
    opt("namedCapturesOnly", Bool),
    opt("patternDefinitions", StrList),
];
const COALESCE: &[Param] = &[req("values", GetterList)];
const SLICE_TO_MAP: &[Param] = &[
    req("target", Getter),
    opt("keyPath", StrList),
    opt("valuePath", StrList),
];
const SORT: &[Param] = &[req("target", Getter), opt("order", Str)];
const PARSE_INT: &[Param] = &[req("target", Getter), req("base", Getter)];
const IS_IN_CIDR: &[Param] = &[req("target", Getter), req("networks", StrList)];
const TO_KV: &[Param] = &[
    req("target", Getter),
    opt("delimiter", Str),
    opt("pair_delimiter", Str),
    opt("sort_output", Bool),
];
const PARSE_CSV: &[Param] = &[
    req("target", Getter),
    req("headers", Getter),
    opt("delimiter", Str),
    opt("headerDelimiter", Str),
    opt("mode", Str),
];

const COMMUNITY_ID: &[Param] = &[
    req("sourceIP", Getter),
    req("sourcePort", Getter),
    req("destinationIP", Getter),
    req("destinationPort", Getter),
    opt("protocol", Getter),
    opt("seed", Getter),
];

type CR<C> = Result<ConverterFn<C>, String>;

/// A converter of one value.
fn unary<C: Context>(
    mut a: Args<C>,
    f: impl Fn(Value) -> Result<Value, EvalError> + Send + Sync + 'static,
) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| f(t.eval(d)?)))
}

/// A converter of one string (Go `StringGetter`: anything else is an error).
fn unary_str<C: Context>(
    mut a: Args<C>,
    f: impl Fn(String) -> Result<Value, EvalError> + Send + Sync + 'static,
) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| f(get_string(&t, d)?)))
}

/// Go `StringLikeGetter`: strings as they are, other scalars printed, bytes in hex, maps and
/// slices as JSON; nil stays nil.
pub(crate) fn string_like(v: &Value) -> Option<String> {
    Some(match v {
        Value::Nil => return None,
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => hex::encode(b),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float_f(*f),
        Value::Bool(b) => b.to_string(),
        other => other.as_string(),
    })
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn go_float_f(f: f64) -> String {
    if f.is_finite() {
        format!("{f}")
    } else {
        format_float(f)
    }
}

fn concat<C: Context>(mut a: Args<C>) -> CR<C> {
    let vals = a.getters(0);
    let delim = a.str(1).unwrap_or_default();
    Ok(Box::new(move |d| {
        let mut out = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i > 0 {
                out.push_str(&delim);
            }
            match v.eval(d)? {
                Value::Str(s) => out.push_str(&s),
                Value::Bytes(b) => out.push_str(&hex::encode(b)),
                Value::Int(n) => out.push_str(&n.to_string()),
                Value::Float(f) => out.push_str(&go_float_f(f)),
                Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Value::Nil => out.push_str("<nil>"),
                _ => {}
            }
        }
        Ok(Value::Str(out))
    }))
}

fn convert_case<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let case = a.str(1).unwrap_or_default();
    let f: fn(&str) -> String = match case.as_str() {
        "lower" => |s| s.to_lowercase(),
        "upper" => |s| s.to_uppercase(),
        "snake" => snake_case,
        "camel" => camel_case,
        other => {
            return Err(format!(
                "invalid case: {other}, allowed cases are: lower, upper, snake, camel"
            ));
        }
    };
    Ok(Box::new(move |d| match t.eval(d)? {
        Value::Str(s) => Ok(Value::Str(f(&s))),
        Value::Nil => Ok(Value::Nil),
        other => Err(EvalError::new(format!(
            "expected string but got {}",
            other.type_name()
        ))),
    }))
}

/// iancoleman/strcase `ToSnake`: words split at case changes, digits and separators.
pub(crate) fn snake_case(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        if matches!(c, ' ' | '_' | '-' | '.') {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            continue;
        }
        if let Some(p) = prev
            && !out.is_empty()
            && !out.ends_with('_')
        {
            let boundary = (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                || (c.is_uppercase() && p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                || (c.is_ascii_digit() && p.is_alphabetic())
                || (c.is_alphabetic() && p.is_ascii_digit() && c.is_uppercase());
            if boundary {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// iancoleman/strcase `ToCamel`: separators removed, each word capitalised.
pub(crate) fn camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper_next = true;
    for c in s.trim().chars() {
        if matches!(c, ' ' | '_' | '-' | '.') {
            upper_next = true;
            continue;
        }
        if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
        if c.is_ascii_digit() {
            upper_next = true;
        }
    }
    out
}

fn int<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        Ok(match v {
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Int(f as i64),
            Value::Bool(b) => Value::Int(b as i64),
            Value::Str(s) => s.parse::<i64>().map_or(Value::Nil, Value::Int),
            _ => Value::Nil,
        })
    })
}

fn double<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        Ok(match v {
            Value::Int(i) => Value::Float(i as f64),
            Value::Float(f) => Value::Float(f),
            Value::Bool(b) => Value::Float(if b { 1.0 } else { 0.0 }),
            Value::Str(s) => parse_go_float(&s).map_or(Value::Nil, Value::Float),
            _ => Value::Nil,
        })
    })
}

/// Go `strconv.ParseFloat(s, 64)`: also `inf`, `NaN`, hex floats are rare enough to skip.
fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => s
            .to_ascii_lowercase()
            .replace("infinity", "inf")
            .parse()
            .ok(),
        _ if s.contains('_') => None,
        _ => s.parse().ok(),
    }
}

fn bool_<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        Ok(match v {
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Bool(i != 0),
            Value::Float(f) => Value::Bool(f != 0.0),
            Value::Str(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Value::Bool(true),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => Value::Bool(false),
                _ => Value::Nil,
            },
            _ => Value::Nil,
        })
    })
}

fn string<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(string_like(&v).map_or(Value::Nil, Value::Str)))
}

fn len<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| match v {
        Value::Str(s) => Ok(Value::Int(s.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Bytes(b) => Ok(Value::Int(b.len() as i64)),
        Value::Pdata(p) if p.slice_len().is_some() => {
            Ok(Value::Int(p.slice_len().unwrap_or(0) as i64))
        }
        _ => Err(EvalError::new(
            "target arg must be of type string, []any, map[string]any, pcommon.Map, pcommon.Slice, or pcommon.Value (of type String, Map, Slice)",
        )),
    })
}

/// A pattern argument: compiled once when it is a literal, per evaluation otherwise.
enum Pattern<C: Context> {
    Fixed(Regex),
    Dynamic(Expr<C>),
}

impl<C: Context> Pattern<C> {
    fn new(e: Expr<C>) -> Result<Pattern<C>, String> {
        match e.literal() {
            Some(Value::Str(p)) => Ok(Pattern::Fixed(compile_regex(p)?)),
            Some(other) => Err(format!("expected string but got {}", other.type_name())),
            None => Ok(Pattern::Dynamic(e)),
        }
    }

    fn get<'s>(&'s self, d: &C::Data<'_>) -> Result<std::borrow::Cow<'s, Regex>, EvalError> {
        match self {
            Pattern::Fixed(r) => Ok(std::borrow::Cow::Borrowed(r)),
            Pattern::Dynamic(e) => {
                let p = get_string(e, d)?;
                compile_regex(&p)
                    .map(std::borrow::Cow::Owned)
                    .map_err(EvalError::new)
            }
        }
    }
}

fn is_match<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let pattern = Pattern::new(a.getter(1))?;
    Ok(Box::new(move |d| {
        let v = t.eval(d)?;
        let s = match &v {
            Value::Nil => return Ok(Value::Bool(false)),
            Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
            Value::Int(i) => i.to_string().into(),
            Value::Float(f) => go_float_f(*f).into(),
            Value::Bool(b) => b.to_string().into(),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
            other => other.as_string().into(),
        };
        Ok(Value::Bool(pattern.get(d)?.is_match(&s)))
    }))
}

fn is_string<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::Str(_)))))
}

fn is_int<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::Int(_)))))
}

fn is_double<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::Float(_)))))
}

fn is_bool<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::Bool(_)))))
}

fn is_map<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::Map(_)))))
}

fn is_list<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| Ok(Value::Bool(matches!(v, Value::List(_)))))
}

fn is_empty<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        Ok(Value::Bool(match v {
            Value::Nil => true,
            Value::Str(s) => s.is_empty(),
            Value::Int(i) => i == 0,
            Value::Float(f) => f == 0.0,
            Value::Bool(b) => !b,
            Value::Bytes(b) => {
                b.is_empty() || b.iter().all(|x| *x == 0) && (b.len() == 8 || b.len() == 16)
            }
            Value::Map(m) => m.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Time(t, _) => t == 0,
            Value::Duration(d) => d == 0,
            Value::Pdata(p) => p.slice_len() == Some(0),
        }))
    })
}

fn parse_json<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(serde_json::Value::Object(o)) => Ok(Value::Map(value::json_object_to_map(o))),
        Ok(serde_json::Value::Array(arr)) => Ok(Value::List(
            arr.into_iter().map(value::json_to_any).collect(),
        )),
        Ok(_) => Err(EvalError::new(
            "could not convert parsed value of type to JSON object or array",
        )),
        Err(e) => Err(EvalError::new(e.to_string())),
    })
}

/// Splits `s` at `delim` outside double or single quotes (Go `parseutils.SplitString`).
fn split_quoted(s: &str, delim: &str) -> Result<Vec<String>, EvalError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    let b = s;
    while i < b.len() {
        let c = b[i..].chars().next().unwrap_or(' ');
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            cur.push(c);
            i += c.len_utf8();
            continue;
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
            cur.push(c);
            i += 1;
            continue;
        }
        if !delim.is_empty() && b[i..].starts_with(delim) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            i += delim.len();
            continue;
        }
        cur.push(c);
        i += c.len_utf8();
    }
    if let Some(q) = quote {
        return Err(EvalError::new(format!(
            "found unclosed quotes in string: {q}"
        )));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn trim_quotes(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn parse_key_value<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let delim = a.str(1).unwrap_or_else(|| "=".into());
    let pair_delim = a.str(2).unwrap_or_else(|| " ".into());
    if delim == pair_delim {
        return Err(format!(
            "delimiter cannot be set to the same value as pair_delimiter ({pair_delim})"
        ));
    }
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        if s.is_empty() {
            return Err(EvalError::new("cannot parse from empty target"));
        }
        let mut out: Vec<KeyValue> = Vec::new();
        for pair in split_quoted(&s, &pair_delim)? {
            let Some((k, v)) = pair.split_once(delim.as_str()) else {
                return Err(EvalError::new(format!(
                    "cannot split {pair:?} into 2 items, got 1 item(s)"
                )));
            };
            let k = trim_quotes(k).to_string();
            let v = trim_quotes(v).to_string();
            crate::context::map_put(
                &mut out,
                &k,
                AnyValue {
                    value: Some(any_value::Value::StringValue(v)),
                },
            );
        }
        Ok(Value::Map(out))
    }))
}

fn extract_patterns<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let re = compile_regex(&a.str(1).unwrap_or_default())?;
    if !re.capture_names().any(|n| n.is_some()) {
        return Err("at least 1 named capture group must be supplied in the given regex".into());
    }
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        let mut out = Vec::new();
        if let Some(caps) = re.captures(&s) {
            for (i, name) in re.capture_names().enumerate() {
                let Some(name) = name else { continue };
                let v = caps.get(i).map_or("", |m| m.as_str()).to_string();
                crate::context::map_put(
                    &mut out,
                    name,
                    AnyValue {
                        value: Some(any_value::Value::StringValue(v)),
                    },
                );
            }
        }
        Ok(Value::Map(out))
    }))
}

fn str_list(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(
        items
            .into_iter()
            .map(|s| AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            })
            .collect(),
    )
}

fn split<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let delim = a.str(1).unwrap_or_default();
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        Ok(if delim.is_empty() {
            str_list(s.chars().map(|c| c.to_string()))
        } else {
            str_list(s.split(delim.as_str()).map(str::to_string))
        })
    }))
}

fn substring<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let start = a.getter(1);
    let length = a.getter(2);
    let utf8_safe = a.bool(3).unwrap_or(false);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        let st = get_int(&start, d)?;
        let ln = get_int(&length, d)?;
        if st < 0 {
            return Err(EvalError::new(format!(
                "invalid start for substring function, {st} cannot be negative"
            )));
        }
        if ln <= 0 {
            return Err(EvalError::new(format!(
                "invalid length for substring function, {ln} cannot be negative or zero"
            )));
        }
        if st.saturating_add(ln) > s.len() as i64 {
            return Err(EvalError::new(format!(
                "invalid range for substring function, {} cannot be greater than the length of target string({})",
                st + ln,
                s.len()
            )));
        }
        let (mut from, mut to) = (st as usize, (st + ln) as usize);
        if utf8_safe {
            while from < s.len() && !s.is_char_boundary(from) {
                from += 1;
            }
            while to > from && !s.is_char_boundary(to) {
                to -= 1;
            }
        }
        Ok(Value::Str(
            String::from_utf8_lossy(&s.as_bytes()[from..to.max(from)]).into_owned(),
        ))
    }))
}

fn trim<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let cut = a.str(1).unwrap_or_else(|| " ".into());
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        Ok(Value::Str(s.trim_matches(|c| cut.contains(c)).to_string()))
    }))
}

fn affix<C: Context>(mut a: Args<C>, f: fn(&str, &str) -> Value) -> CR<C> {
    let t = a.getter(0);
    let p = a.getter(1);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        let p = get_string(&p, d)?;
        Ok(f(&s, &p))
    }))
}

fn trim_prefix<C: Context>(a: Args<C>) -> CR<C> {
    affix(a, |s, p| {
        Value::Str(s.strip_prefix(p).unwrap_or(s).to_string())
    })
}

fn trim_suffix<C: Context>(a: Args<C>) -> CR<C> {
    affix(a, |s, p| {
        Value::Str(s.strip_suffix(p).unwrap_or(s).to_string())
    })
}

fn has_prefix<C: Context>(a: Args<C>) -> CR<C> {
    affix(a, |s, p| Value::Bool(s.starts_with(p)))
}

fn has_suffix<C: Context>(a: Args<C>) -> CR<C> {
    affix(a, |s, p| Value::Bool(s.ends_with(p)))
}

fn to_lower<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(s.to_lowercase())))
}

fn to_upper<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(s.to_uppercase())))
}

fn to_snake<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(snake_case(&s))))
}

fn to_camel<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(camel_case(&s))))
}

fn sha1<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(hash::sha1_hex(s.as_bytes()))))
}

fn sha256<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(hash::sha256_hex(s.as_bytes()))))
}

fn sha512<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(hash::sha512_hex(s.as_bytes()))))
}

fn md5<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(hash::md5_hex(s.as_bytes()))))
}

fn fnv<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Int(hash::fnv1a64(s.as_bytes()) as i64)))
}

pub(crate) fn murmur3_hex(s: &str) -> String {
    hex::encode(hash::murmur3_32(s.as_bytes(), 0).to_le_bytes())
}

fn murmur3<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| Ok(Value::Str(murmur3_hex(&s))))
}

fn murmur3_128<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| {
        let (h1, h2) = hash::murmur3_128(s.as_bytes(), 0);
        let mut b = h1.to_le_bytes().to_vec();
        b.extend_from_slice(&h2.to_le_bytes());
        Ok(Value::Str(hex::encode(b)))
    })
}

/// Go `ByteSliceLikeGetter`: big-endian numbers, UTF-8 strings, 0/1 bools.
fn byte_slice_like(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Bytes(b) => b.clone(),
        Value::Str(s) => s.as_bytes().to_vec(),
        Value::Int(i) => i.to_be_bytes().to_vec(),
        Value::Float(f) => f.to_bits().to_be_bytes().to_vec(),
        Value::Bool(b) => vec![*b as u8],
        _ => return None,
    })
}

fn hex_<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| match byte_slice_like(&v) {
        Some(b) => Ok(Value::Str(hex::encode(b))),
        None if v.is_nil() => Ok(Value::Nil),
        None => Err(EvalError::new(format!(
            "unsupported type provided to Hex function: {}",
            v.type_name()
        ))),
    })
}

fn base64_engine(variant: &str) -> Option<base64::engine::GeneralPurpose> {
    use base64::engine::general_purpose as gp;
    Some(match variant {
        "base64" => gp::STANDARD,
        "base64-raw" => gp::STANDARD_NO_PAD,
        "base64-url" => gp::URL_SAFE,
        "base64-raw-url" => gp::URL_SAFE_NO_PAD,
        _ => return None,
    })
}

fn base64_encode<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let variant = a.str(1).unwrap_or_else(|| "base64".into());
    let engine =
        base64_engine(&variant).ok_or_else(|| format!("unsupported base64 variant: {variant}"))?;
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        Ok(Value::Str(engine.encode(s)))
    }))
}

fn base64_decode<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| {
        let b = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| EvalError::new(e.to_string()))?;
        Ok(Value::Str(String::from_utf8_lossy(&b).into_owned()))
    })
}

/// A `Decode` encoding: the base64 variants Go adds, else Go's `textutils.LookupEncoding`
/// (its overrides, then the IANA names).
#[derive(Clone)]
enum Decoder {
    Base64(Box<base64::engine::GeneralPurpose>),
    /// utf-8, ascii, nop: the bytes as they are (`encoding.Nop`)
    Nop,
    /// Go's "utf-16" override: little endian, a BOM is not interpreted
    Utf16Le,
    /// ISO-8859-1 as IANA defines it (0x80-0x9F are C1 controls; WHATWG would make it
    /// windows-1252)
    Latin1,
    Text(&'static encoding_rs::Encoding),
}

const LATIN1_LABELS: &[&str] = &[
    "iso-8859-1",
    "iso_8859-1",
    "iso_8859-1:1987",
    "iso-ir-100",
    "latin1",
    "l1",
    "ibm819",
    "cp819",
    "csisolatin1",
];

impl Decoder {
    fn lookup(name: &str) -> Result<Decoder, String> {
        if let Some(e) = base64_engine(name) {
            return Ok(Decoder::Base64(Box::new(e)));
        }
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "" | "utf-8" | "utf8" | "ascii" | "us-ascii" | "nop" => return Ok(Decoder::Nop),
            "utf-16" | "utf16" => return Ok(Decoder::Utf16Le),
            _ => {}
        }
        if LATIN1_LABELS.contains(&lower.as_str()) {
            return Ok(Decoder::Latin1);
        }
        match encoding_rs::Encoding::for_label_no_replacement(lower.as_bytes()) {
            Some(e) if e == encoding_rs::UTF_8 => Ok(Decoder::Nop),
            Some(e) if e == encoding_rs::UTF_16LE => Ok(Decoder::Utf16Le),
            Some(e) if e == encoding_rs::X_USER_DEFINED => {
                Err(format!("unsupported encoding '{name}'"))
            }
            Some(e) => Ok(Decoder::Text(e)),
            None => Err(format!("unsupported encoding '{name}'")),
        }
    }

    /// Text decoders replace what they cannot read with U+FFFD, as x/text's do.
    fn decode(&self, bytes: &[u8]) -> Result<String, EvalError> {
        Ok(match self {
            Decoder::Base64(e) => {
                // Go trims surrounding whitespace first (event bodies often end in \n)
                let b = e
                    .decode(bytes.trim_ascii())
                    .map_err(|e| EvalError::new(format!("could not decode: {e}")))?;
                String::from_utf8_lossy(&b).into_owned()
            }
            Decoder::Nop => String::from_utf8_lossy(bytes).into_owned(),
            Decoder::Latin1 => bytes.iter().map(|b| *b as char).collect(),
            Decoder::Utf16Le => {
                let (s, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(bytes);
                s.into_owned()
            }
            Decoder::Text(e) => {
                let (s, _) = (*e).decode_without_bom_handling(bytes);
                s.into_owned()
            }
        })
    }
}

fn decode<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let enc = a.getter(1);
    // a literal encoding is looked up once, when the statement is parsed (as Go does)
    let fixed = match enc.literal() {
        Some(Value::Str(name)) => Some(Decoder::lookup(name)?),
        _ => None,
    };
    Ok(Box::new(move |d| {
        let looked_up;
        let dec = match &fixed {
            Some(dec) => dec,
            None => {
                looked_up = Decoder::lookup(&get_string(&enc, d)?).map_err(EvalError::new)?;
                &looked_up
            }
        };
        let out = match t.eval(d)? {
            Value::Str(s) => dec.decode(s.as_bytes())?,
            Value::Bytes(b) => dec.decode(&b)?,
            other => {
                return Err(EvalError::new(format!(
                    "unsupported type provided to Decode function: {}",
                    other.type_name()
                )));
            }
        };
        Ok(Value::Str(out))
    }))
}

fn format<C: Context>(mut a: Args<C>) -> CR<C> {
    let fmt = a.str(0).unwrap_or_default();
    let vals = a.getters(1);
    Ok(Box::new(move |d| {
        let args = vals
            .iter()
            .map(|v| v.eval(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::Str(go_sprintf(&fmt, &args)))
    }))
}

/// Go `fmt.Sprintf` for the verbs a format string in a config uses: `%s %v %d %f %g %e %x
/// %X %o %b %q %t %%`, flags `-+ 0#`, width and precision; Go's `%!verb(type=value)` for
/// mismatches.
pub(crate) fn go_sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let bad = || format!("%!{verb}({}={})", arg.type_name(), go_v(arg));
        let body = match (verb, arg) {
            ('v', v) => go_v(v),
            ('s', Value::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            (
                's',
                v @ (Value::Bytes(_)
                | Value::Map(_)
                | Value::List(_)
                | Value::Time(..)
                | Value::Duration(_)),
            ) => go_v(v),
            ('q', Value::Str(s)) => format!("{s:?}"),
            ('t', Value::Bool(b)) => b.to_string(),
            ('d', Value::Int(i)) => {
                let s = i.abs().to_string();
                let sign = if *i < 0 {
                    "-"
                } else if plus {
                    "+"
                } else if space {
                    " "
                } else {
                    ""
                };
                format!("{sign}{s}")
            }
            ('x', Value::Int(i)) => format!("{i:x}"),
            ('X', Value::Int(i)) => format!("{i:X}"),
            ('o', Value::Int(i)) => format!("{i:o}"),
            ('b', Value::Int(i)) => format!("{i:b}"),
            ('x', Value::Str(s)) => hex::encode(s),
            ('X', Value::Str(s)) => hex::encode_upper(s),
            ('x', Value::Bytes(b)) => hex::encode(b),
            ('X', Value::Bytes(b)) => hex::encode_upper(b),
            ('f' | 'F', Value::Float(f)) => {
                let s = format!("{:.*}", prec.unwrap_or(6), f);
                if plus && *f >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
            ('e', Value::Float(f)) => go_exp(*f, prec.unwrap_or(6)),
            ('g', Value::Float(f)) => format_float(*f),
            _ => bad(),
        };
        let w: usize = width.parse().unwrap_or(0);
        let n = body.chars().count();
        if n < w {
            let pad = w - n;
            if minus {
                out.push_str(&body);
                out.extend(std::iter::repeat_n(' ', pad));
            } else if zero && matches!(verb, 'd' | 'f' | 'F' | 'x' | 'X' | 'o' | 'b' | 'e') {
                let (sign, digits) = match body.strip_prefix(['-', '+']) {
                    Some(rest) => (&body[..1], rest),
                    None => ("", body.as_str()),
                };
                out.push_str(sign);
                out.extend(std::iter::repeat_n('0', pad));
                out.push_str(digits);
            } else {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), go_v(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn go_exp(f: f64, prec: usize) -> String {
    let s = format!("{:.*e}", prec, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, d) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    format!("{m}e{sign}{d:0>2}")
}

/// Go `%v` of a value.
fn go_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Bytes(b) => format!(
            "[{}]",
            b.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.as_string(),
    }
}

fn id_conv<C: Context>(a: Args<C>, len: usize, what: &'static str) -> CR<C> {
    unary(a, move |v| match v {
        Value::Bytes(b) if b.len() == len => Ok(Value::Bytes(b)),
        Value::Bytes(_) => Err(EvalError::new(format!("{what} ids must be {len} bytes"))),
        Value::Str(s) => {
            if s.len() != len * 2 {
                return Err(EvalError::new(format!(
                    "{what} ids must be {} hex characters",
                    len * 2
                )));
            }
            hex::decode(&s)
                .map(Value::Bytes)
                .map_err(|e| EvalError::new(e.to_string()))
        }
        other => Err(EvalError::new(format!(
            "unsupported type provided to {what} ID function: {}",
            other.type_name()
        ))),
    })
}

fn trace_id<C: Context>(a: Args<C>) -> CR<C> {
    id_conv(a, 16, "traces")
}

fn span_id<C: Context>(a: Args<C>) -> CR<C> {
    id_conv(a, 8, "span")
}

fn user_agent<C: Context>(a: Args<C>) -> CR<C> {
    super::useragent::init()?;
    unary_str(a, |ua| {
        super::useragent::parse(&ua)
            .map(Value::Map)
            .map_err(EvalError::new)
    })
}

fn extract_grok_patterns<C: Context>(mut a: Args<C>) -> CR<C> {
    use super::grok::{Grok, parse_definitions};
    let t = a.getter(0);
    let pattern = a.getter(1);
    let named_only = a.bool(2).unwrap_or(false);
    let custom = parse_definitions(&a.str_list(3).unwrap_or_default())?;
    let compile = move |p: &str| -> Result<Grok, String> {
        let g = Grok::compile(p, named_only, &custom).map_err(|e| {
            format!("the regex pattern supplied to ExtractGrokPatterns '{p:?}' is not a valid pattern: {e}")
        })?;
        if named_only && !g.has_capture_groups() {
            return Err(
                "at least 1 named capture group must be supplied in the given regex".into(),
            );
        }
        Ok(g)
    };
    // a literal pattern is expanded and compiled once, when the statement is parsed
    if let Some(Value::Str(p)) = pattern.literal() {
        let g = compile(p)?;
        return Ok(Box::new(move |d| {
            Ok(Value::Map(g.parse(&get_string(&t, d)?)?))
        }));
    }
    Ok(Box::new(move |d| {
        let g = compile(&get_string(&pattern, d)?).map_err(EvalError::new)?;
        Ok(Value::Map(g.parse(&get_string(&t, d)?)?))
    }))
}

/// `pprofile.ProfileID`: 16 bytes (or 32 hex characters), never all zeroes.
fn profile_id<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let check = |v: Value| -> Result<Value, EvalError> {
        let b = match v {
            Value::Bytes(b) => b,
            Value::Str(s) if s.len() == 32 => {
                hex::decode(&s).map_err(|e| EvalError::new(e.to_string()))?
            }
            Value::Str(_) => {
                return Err(EvalError::new("profile ids must be 32 hex characters"));
            }
            other => {
                return Err(EvalError::new(format!(
                    "unsupported type provided to ProfileID function: {}",
                    other.type_name()
                )));
            }
        };
        if b.len() != 16 {
            return Err(EvalError::new("profile ids must be 16 bytes"));
        }
        if b.iter().all(|x| *x == 0) {
            return Err(EvalError::new("profile ids cannot be all zeroes"));
        }
        Ok(Value::Bytes(b))
    };
    // a literal id is checked once, when the statement is parsed (Go takes a literal)
    if let Some(v) = t.literal() {
        let id = check(v.clone()).map_err(|e| e.msg)?;
        return Ok(Box::new(move |_| Ok(id.clone())));
    }
    Ok(Box::new(move |d| check(t.eval(d)?)))
}

fn keys<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let m = get_map(&t, d)?;
        Ok(str_list(m.into_iter().map(|kv| kv.key)))
    }))
}

fn values<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    Ok(Box::new(move |d| {
        let m = get_map(&t, d)?;
        Ok(Value::List(
            m.into_iter()
                .map(|kv| kv.value.unwrap_or_default())
                .collect(),
        ))
    }))
}

fn index<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let v = a.getter(1);
    Ok(Box::new(move |d| {
        let target = t.eval(d)?;
        let needle = v.eval(d)?;
        Ok(Value::Int(match (&target, &needle) {
            (Value::Str(s), Value::Str(n)) => s.find(n.as_str()).map_or(-1, |i| i as i64),
            (Value::Str(_), other) => {
                return Err(EvalError::new(format!(
                    "invalid value type for Index function, value must be a string, got {}",
                    other.type_name()
                )));
            }
            (Value::List(l), n) => l
                .iter()
                .position(|x| value::compare(&Value::from_any(x), CmpOp::Eq, n))
                .map_or(-1, |i| i as i64),
            (other, _) => {
                return Err(EvalError::new(format!(
                    "invalid target type for Index function, target must be a string or slice, got {}",
                    other.type_name()
                )));
            }
        }))
    }))
}

fn contains_value<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let v = a.getter(1);
    Ok(Box::new(move |d| {
        let Value::List(l) = t.eval(d)? else {
            return Err(EvalError::new("target must be a slice"));
        };
        let needle = v.eval(d)?;
        Ok(Value::Bool(l.iter().any(|x| {
            value::compare(&Value::from_any(x), CmpOp::Eq, &needle)
        })))
    }))
}

fn coalesce<C: Context>(mut a: Args<C>) -> CR<C> {
    let vals = a.getters(0);
    if vals.is_empty() {
        return Err("at least one value is required".into());
    }
    Ok(Box::new(move |d| {
        for v in &vals {
            let x = v.eval(d)?;
            if !x.is_nil() {
                return Ok(x);
            }
        }
        Ok(Value::Nil)
    }))
}

fn any_at_path<'a>(v: &'a AnyValue, path: &[String]) -> Option<&'a AnyValue> {
    let mut cur = v;
    for p in path {
        let Some(any_value::Value::KvlistValue(kv)) = &cur.value else {
            return None;
        };
        cur = crate::context::map_get(&kv.values, p)?;
    }
    Some(cur)
}

fn slice_to_map<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let key_path = a.str_list(1).unwrap_or_default();
    let value_path = a.str_list(2).unwrap_or_default();
    Ok(Box::new(move |d| {
        let Value::List(l) = t.eval(d)? else {
            return Err(EvalError::new(
                "unsupported type provided to SliceToMap function",
            ));
        };
        let mut out = Vec::new();
        for (i, item) in l.iter().enumerate() {
            let key = if key_path.is_empty() {
                i.to_string()
            } else {
                match any_at_path(item, &key_path).and_then(|v| match &v.value {
                    Some(any_value::Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                }) {
                    Some(k) => k,
                    None => {
                        return Err(EvalError::new(format!(
                            "could not extract key from element {i}"
                        )));
                    }
                }
            };
            let val = if value_path.is_empty() {
                item.clone()
            } else {
                match any_at_path(item, &value_path) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(EvalError::new(format!(
                            "could not extract value from element {i}"
                        )));
                    }
                }
            };
            crate::context::map_put(&mut out, &key, val);
        }
        Ok(Value::Map(out))
    }))
}

fn sort<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let order = a.str(1).unwrap_or_else(|| "asc".into());
    let desc = match order.as_str() {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(format!(
                "invalid arguments: {other}. Order should be either \"asc\" or \"desc\""
            ));
        }
    };
    Ok(Box::new(move |d| {
        let Value::List(mut l) = t.eval(d)? else {
            return Err(EvalError::new("sort with unsupported type"));
        };
        let kind = |v: &AnyValue| match &v.value {
            Some(any_value::Value::IntValue(_)) => 0,
            Some(any_value::Value::DoubleValue(_)) => 1,
            Some(any_value::Value::StringValue(_)) => 2,
            Some(any_value::Value::BoolValue(_)) => 3,
            _ => 9,
        };
        if l.iter().any(|v| kind(v) == 9) {
            return Err(EvalError::new("sort with unsupported type"));
        }
        let numeric = l.iter().all(|v| kind(v) <= 1);
        if numeric {
            let num = |v: &AnyValue| match v.value {
                Some(any_value::Value::IntValue(i)) => i as f64,
                Some(any_value::Value::DoubleValue(f)) => f,
                _ => 0.0,
            };
            l.sort_by(|a, b| num(a).total_cmp(&num(b)));
        } else {
            l.sort_by_key(|v| Value::from_any(v).as_string());
        }
        if desc {
            l.reverse();
        }
        Ok(Value::List(l))
    }))
}

fn parse_int<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let b = a.getter(1);
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        let base = get_int(&b, d)?;
        if base < 0 || base == 1 || base > 36 {
            return Err(EvalError::new(format!(
                "invalid base: {base}, base must be 0 or between 2 and 36"
            )));
        }
        go_parse_int(&s, base as u32)
            .map(Value::Int)
            .ok_or_else(|| {
                EvalError::new(format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))
            })
    }))
}

/// Go `strconv.ParseInt(s, base, 64)`, including base 0 prefixes and underscores.
fn go_parse_int(s: &str, mut base: u32) -> Option<i64> {
    let (neg, mut body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut underscores = false;
    if base == 0 {
        base = 10;
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            base = 16;
            body = &body[2..];
        } else if lower.starts_with("0b") {
            base = 2;
            body = &body[2..];
        } else if lower.starts_with("0o") {
            base = 8;
            body = &body[2..];
        } else if body.len() > 1 && body.starts_with('0') {
            base = 8;
            body = &body[1..];
        }
        underscores = true;
    }
    let cleaned: String = if underscores {
        body.replace('_', "")
    } else {
        body.to_string()
    };
    if cleaned.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(&cleaned, base).ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

fn log<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        let f = match v {
            Value::Float(f) => f,
            Value::Int(i) => i as f64,
            Value::Bool(b) => b as i64 as f64,
            Value::Str(s) => s.parse::<f64>().map_err(|_| {
                EvalError::new(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
            })?,
            other => {
                return Err(EvalError::new(format!(
                    "unsupported type: {}",
                    other.type_name()
                )));
            }
        };
        if f <= 0.0 {
            return Err(EvalError::new("value must be greater than zero"));
        }
        Ok(Value::Float(f.ln()))
    })
}

fn is_valid_luhn<C: Context>(a: Args<C>) -> CR<C> {
    unary(a, |v| {
        let s = match v {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            other => {
                return Err(EvalError::new(format!(
                    "unsupported type: {}",
                    other.type_name()
                )));
            }
        };
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EvalError::new("invalid input: must contain only digits"));
        }
        let sum: u32 = s
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = (b - b'0') as u32;
                if i % 2 == 1 {
                    let x = d * 2;
                    if x > 9 { x - 9 } else { x }
                } else {
                    d
                }
            })
            .sum();
        Ok(Value::Bool(sum.is_multiple_of(10)))
    })
}

fn is_in_cidr<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let nets = a
        .str_list(1)
        .unwrap_or_default()
        .iter()
        .map(|n| parse_cidr(n).ok_or_else(|| format!("invalid CIDR address: {n}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(move |d| {
        let s = get_string(&t, d)?;
        let Ok(ip) = s.parse::<std::net::IpAddr>() else {
            return Ok(Value::Bool(false));
        };
        Ok(Value::Bool(
            nets.iter()
                .any(|(net, bits)| cidr_contains(*net, *bits, ip)),
        ))
    }))
}

fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: std::net::IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn cidr_contains(net: std::net::IpAddr, bits: u8, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V4(i)) => n.to_ipv4_mapped().is_some_and(|n4| {
            bits >= 96 && cidr_contains(IpAddr::V4(n4), bits - 96, IpAddr::V4(i))
        }),
        _ => false,
    }
}

fn to_key_value_string<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let delim = a.str(1).unwrap_or_else(|| "=".into());
    let pair_delim = a.str(2).unwrap_or_else(|| " ".into());
    let sort = a.bool(3).unwrap_or(false);
    if delim == pair_delim {
        return Err(format!(
            "delimiter cannot be set to the same value as pair_delimiter ({pair_delim})"
        ));
    }
    Ok(Box::new(move |d| {
        let mut m = get_map(&t, d)?;
        if sort {
            m.sort_by(|a, b| a.key.cmp(&b.key));
        }
        let quote = |s: String| {
            if s.contains(delim.as_str()) || s.contains(pair_delim.as_str()) {
                format!("\"{}\"", s.replace('"', "\\\""))
            } else {
                s
            }
        };
        let parts: Vec<String> = m
            .into_iter()
            .map(|kv| {
                let v = Value::from_opt_any(kv.value.as_ref()).as_string();
                format!("{}{}{}", quote(kv.key), delim, quote(v))
            })
            .collect();
        Ok(Value::Str(parts.join(&pair_delim)))
    }))
}

/// Go `encoding/csv` reading one record (strict or lazy quotes), or a plain split.
fn csv_fields(s: &str, delim: char, mode: &str) -> Result<Vec<String>, EvalError> {
    if mode == "ignoreQuotes" {
        return Ok(s.split(delim).map(str::to_string).collect());
    }
    let lazy = mode == "lazyQuotes";
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => match chars.peek() {
                        Some('"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some(&c) if c == delim => break,
                        None => break,
                        Some(&c) => {
                            if lazy {
                                field.push('"');
                                field.push(c);
                                chars.next();
                            } else {
                                return Err(EvalError::new(
                                    "extraneous or missing \" in quoted-field",
                                ));
                            }
                        }
                    },
                    Some(c) => field.push(c),
                    None => {
                        if lazy {
                            break;
                        }
                        return Err(EvalError::new("extraneous or missing \" in quoted-field"));
                    }
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == delim {
                    break;
                }
                if c == '"' && !lazy {
                    return Err(EvalError::new("bare \" in non-quoted-field"));
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(c) if c == delim => continue,
            _ => break,
        }
    }
    Ok(fields)
}

fn parse_csv<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let h = a.getter(1);
    let delim = a.str(2).unwrap_or_else(|| ",".into());
    let header_delim = a.str(3).unwrap_or_else(|| delim.clone());
    let mode = a.str(4).unwrap_or_else(|| "strict".into());
    let one_char = |s: &str, what: &str| -> Result<char, String> {
        let mut c = s.chars();
        match (c.next(), c.next()) {
            (Some(ch), None) => Ok(ch),
            _ => Err(format!(
                "invalid {what} for ParseCSV: {s:?}, must be a single character"
            )),
        }
    };
    let delim = one_char(&delim, "delimiter")?;
    if !matches!(mode.as_str(), "strict" | "lazyQuotes" | "ignoreQuotes") {
        return Err(format!("unknown mode: {mode}"));
    }
    Ok(Box::new(move |d| {
        let target = get_string(&t, d)?;
        let headers = get_string(&h, d)?;
        let header_fields: Vec<&str> = headers.split(header_delim.as_str()).collect();
        let fields = csv_fields(target.trim_matches(['\n', '\r']), delim, &mode)?;
        if fields.len() != header_fields.len() {
            return Err(EvalError::new(format!(
                "wrong number of fields: expected {}, found {}",
                header_fields.len(),
                fields.len()
            )));
        }
        let mut out = Vec::with_capacity(fields.len());
        for (k, v) in header_fields.iter().zip(fields) {
            crate::context::map_put(
                &mut out,
                k,
                AnyValue {
                    value: Some(any_value::Value::StringValue(v)),
                },
            );
        }
        Ok(Value::Map(out))
    }))
}

/// Random bits for UUIDs from std's per-process random SipHash keys and a counter; UUIDs
/// need uniqueness, not secrecy.
fn random_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let s = std::collections::hash_map::RandomState::new();
    let mut h1 = s.build_hasher();
    h1.write_u64(n);
    h1.write_u128(now);
    let mut h2 = s.build_hasher();
    h2.write_u64(!n);
    h2.write_u128(now.rotate_left(17));
    ((h1.finish() as u128) << 64) | h2.finish() as u128
}

fn uuid_string(v: u128) -> String {
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn uuid<C: Context>(_a: Args<C>) -> CR<C> {
    Ok(Box::new(|_| {
        let mut v = random_u128();
        v = (v & !(0xf << 76)) | (0x4 << 76);
        v = (v & !(0x3 << 62)) | (0x2 << 62);
        Ok(Value::Str(uuid_string(v)))
    }))
}

fn uuid7<C: Context>(_a: Args<C>) -> CR<C> {
    Ok(Box::new(|_| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut v = (random_u128() & ((1u128 << 80) - 1)) | (ms << 80);
        v = (v & !(0xf << 76)) | (0x7 << 76);
        v = (v & !(0x3 << 62)) | (0x2 << 62);
        Ok(Value::Str(uuid_string(v)))
    }))
}

fn url<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| {
        let mut out: Vec<KeyValue> = Vec::new();
        let put = |out: &mut Vec<KeyValue>, k: &str, v: Value| {
            if let Some(any) = v.into_any() {
                crate::context::map_put(out, k, any);
            }
        };
        put(&mut out, "url.original", Value::Str(s.clone()));
        let (rest, fragment) = match s.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (s.as_str(), None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (scheme, rest) = match rest.split_once("://") {
            Some((sc, r)) => (sc, r),
            None => {
                return Err(EvalError::new(format!(
                    "parse {s:?}: missing protocol scheme"
                )));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = if hostport.starts_with('[') {
            match hostport.find(']') {
                Some(i) => (
                    &hostport[1..i],
                    hostport[i + 1..]
                        .strip_prefix(':')
                        .filter(|p| !p.is_empty()),
                ),
                None => (hostport, None),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p).filter(|p| !p.is_empty())),
                None => (hostport, None),
            }
        };
        put(&mut out, "url.scheme", Value::Str(scheme.to_string()));
        put(&mut out, "url.domain", Value::Str(host.to_string()));
        put(&mut out, "url.path", Value::Str(path.to_string()));
        if let Some(f) = fragment.filter(|f| !f.is_empty()) {
            put(&mut out, "url.fragment", Value::Str(f.to_string()));
        }
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            put(&mut out, "url.query", Value::Str(q.to_string()));
        }
        if let Some(p) = port {
            let p: i64 = p
                .parse()
                .map_err(|_| EvalError::new(format!("parse {s:?}: invalid port {p:?}")))?;
            put(&mut out, "url.port", Value::Int(p));
        }
        if let Some(u) = userinfo.filter(|u| !u.is_empty()) {
            put(&mut out, "url.user_info", Value::Str(u.to_string()));
            let (name, pass) = match u.split_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (u, None),
            };
            put(&mut out, "url.username", Value::Str(name.to_string()));
            if let Some(p) = pass {
                put(&mut out, "url.password", Value::Str(p.to_string()));
            }
        }
        if let Some(file) = path.rsplit('/').next()
            && let Some((_, ext)) = file.rsplit_once('.')
            && !ext.is_empty()
        {
            put(&mut out, "url.extension", Value::Str(ext.to_string()));
        }
        Ok(Value::Map(out))
    })
}

/// `IsRootSpan()`: only where a `parent_span_id` path exists (the span context); a context
/// without it refuses the function at parse time, as Go registers it for spans only.
fn is_root_span<C: Context>(_a: Args<C>) -> CR<C> {
    let field = crate::syntax::Field {
        name: "parent_span_id".into(),
        keys: Vec::new(),
    };
    let (path, _) = C::parse_path(std::slice::from_ref(&field))
        .map_err(|_| format!("IsRootSpan is not supported in the {} context", C::NAME))?;
    if C::NAME != "span" {
        return Err(format!(
            "IsRootSpan is not supported in the {} context",
            C::NAME
        ));
    }
    Ok(Box::new(move |d| {
        Ok(Value::Bool(match C::get(d, &path)? {
            Value::Bytes(b) => b.iter().all(|x| *x == 0),
            _ => false,
        }))
    }))
}

fn xxh3<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| {
        Ok(Value::Str(format!(
            "{:016x}",
            twox_hash::XxHash3_64::oneshot(s.as_bytes())
        )))
    })
}

fn xxh128<C: Context>(a: Args<C>) -> CR<C> {
    unary_str(a, |s| {
        Ok(Value::Str(format!(
            "{:032x}",
            twox_hash::XxHash3_128::oneshot(s.as_bytes())
        )))
    })
}

/// Community ID flow hash v1 (`1:` + base64 of SHA-1 over seed, addresses, protocol, ports,
/// the lower endpoint first).
fn community_id<C: Context>(mut a: Args<C>) -> CR<C> {
    let (src, sport, dst, dport) = (a.getter(0), a.getter(1), a.getter(2), a.getter(3));
    let proto = a.opt_getter(4);
    let seed = a.opt_getter(5);
    Ok(Box::new(move |d| {
        let src_ip = get_string(&src, d)?;
        let dst_ip = get_string(&dst, d)?;
        let sp = get_int(&sport, d)?;
        if !(1..=65535).contains(&sp) {
            return Err(EvalError::new(format!(
                "source port must be between 1 and 65535, got {sp}"
            )));
        }
        let dp = get_int(&dport, d)?;
        if !(1..=65535).contains(&dp) {
            return Err(EvalError::new(format!(
                "destination port must be between 1 and 65535, got {dp}"
            )));
        }
        let protocol: u8 = match &proto {
            None => 6,
            Some(p) => match get_string(p, d)?.as_str() {
                "ICMP" => 1,
                "TCP" => 6,
                "UDP" => 17,
                "RSVP" => 46,
                "ICMP6" => 58,
                "SCTP" => 132,
                other => return Err(EvalError::new(format!("unsupported protocol: {other}"))),
            },
        };
        let seed: u16 = match &seed {
            None => 0,
            Some(s) => {
                let v = get_int(s, d)?;
                u16::try_from(v).map_err(|_| {
                    EvalError::new(format!("seed must be between 0 and 65535, got {v}"))
                })?
            }
        };
        let ip_bytes = |s: &str, what: &str| -> Result<Vec<u8>, EvalError> {
            match s.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(v4)) => Ok(v4.octets().to_vec()),
                Ok(std::net::IpAddr::V6(v6)) => Ok(match v6.to_ipv4_mapped() {
                    Some(v4) => v4.octets().to_vec(),
                    None => v6.octets().to_vec(),
                }),
                Err(_) => Err(EvalError::new(format!("invalid {what} IP: {s}"))),
            }
        };
        let (mut a_ip, mut b_ip) = (
            ip_bytes(&src_ip, "source")?,
            ip_bytes(&dst_ip, "destination")?,
        );
        let (mut a_port, mut b_port) = (sp as u16, dp as u16);
        let swap = if a_ip.len() != b_ip.len() {
            a_ip.len() > b_ip.len()
        } else {
            match a_ip.cmp(&b_ip) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => a_port > b_port,
                std::cmp::Ordering::Less => false,
            }
        };
        if swap {
            std::mem::swap(&mut a_ip, &mut b_ip);
            std::mem::swap(&mut a_port, &mut b_port);
        }
        let mut tuple = seed.to_be_bytes().to_vec();
        tuple.extend_from_slice(&a_ip);
        tuple.extend_from_slice(&b_ip);
        tuple.extend_from_slice(&[protocol, 0]);
        tuple.extend_from_slice(&a_port.to_be_bytes());
        tuple.extend_from_slice(&b_port.to_be_bytes());
        use sha1::Digest;
        let digest = sha1::Sha1::digest(&tuple);
        Ok(Value::Str(format!(
            "1:{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )))
    }))
}

/// `ParseSeverity(target, mapping)`: the first level (in the mapping's order) one of whose
/// criteria matches: `{"equals": [strings]}` for a string target, `{"range": {"min", "max"}}`
/// or `{"range": "2xx"}` for an int target.
fn parse_severity<C: Context>(mut a: Args<C>) -> CR<C> {
    let t = a.getter(0);
    let m = a.getter(1);
    Ok(Box::new(move |d| {
        let mapping = get_map(&m, d)
            .map_err(|e| EvalError::new(format!("cannot get severity mapping: {e}")))?;
        let value = t.eval(d)?;
        if !matches!(value, Value::Str(_) | Value::Int(_)) {
            return Err(EvalError::new(format!(
                "could not map log level: log level must be either string or int, got {}",
                value.type_name()
            )));
        }
        for level in &mapping {
            let Some(AnyValue {
                value: Some(any_value::Value::ArrayValue(criteria)),
            }) = &level.value
            else {
                return Err(EvalError::new(format!(
                    "invalid severity mapping: criteria of level {:?} must be a list",
                    level.key
                )));
            };
            for c in &criteria.values {
                let Some(any_value::Value::KvlistValue(c)) = &c.value else {
                    continue;
                };
                if severity_criterion_matches(&c.values, &value)? {
                    return Ok(Value::Str(level.key.clone()));
                }
            }
        }
        Err(EvalError::new(format!(
            "could not map log level: no matching log level found for value '{}'",
            value.as_string()
        )))
    }))
}

fn severity_criterion_matches(c: &[KeyValue], v: &Value) -> Result<bool, EvalError> {
    for kv in c {
        let Some(crit) = &kv.value else { continue };
        match (kv.key.as_str(), &crit.value, v) {
            ("equals", Some(any_value::Value::ArrayValue(list)), Value::Str(s))
                if list.values.iter().any(
                    |x| matches!(&x.value, Some(any_value::Value::StringValue(e)) if e == s),
                ) =>
            {
                return Ok(true);
            }
            ("range", Some(any_value::Value::StringValue(p)), Value::Int(i)) => {
                let (lo, hi) = match p.as_str() {
                    "2xx" => (200, 299),
                    "3xx" => (300, 399),
                    "4xx" => (400, 499),
                    "5xx" => (500, 599),
                    other => {
                        return Err(EvalError::new(format!(
                            "invalid severity mapping: unknown range placeholder {other:?}"
                        )));
                    }
                };
                if (lo..=hi).contains(i) {
                    return Ok(true);
                }
            }
            ("range", Some(any_value::Value::KvlistValue(r)), Value::Int(i)) => {
                let bound = |k: &str| match crate::context::map_get(&r.values, k)
                    .and_then(|v| v.value.as_ref())
                {
                    Some(any_value::Value::IntValue(n)) => Some(*n),
                    Some(any_value::Value::DoubleValue(f)) => Some(*f as i64),
                    _ => None,
                };
                if let (Some(lo), Some(hi)) = (bound("min"), bound("max"))
                    && (lo..=hi).contains(i)
                {
                    return Ok(true);
                }
            }
            _ => {}
        }
    }
    Ok(false)
}
