//! The standard editors (Go `ottlfuncs/func_<name>.go`).

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use std::borrow::Cow;

use regex::Regex;

use super::ParamKind::*;
use super::{Args, FuncArg, Functions, Param, opt, req};
use crate::context::{Context, map_put, new_list_value};
use crate::expr::Expr;
use crate::value::Value;
use crate::{EditorFn, EvalError};

pub(super) fn register<C: Context>(f: &mut Functions<C>) {
    f.editor("set", SET, set::<C>)
        .editor("delete_key", DELETE_KEY, delete_key::<C>)
        .editor(
            "delete_matching_keys",
            PATTERN_ONLY,
            delete_matching_keys::<C>,
        )
        .editor("keep_keys", KEEP_KEYS, keep_keys::<C>)
        .editor("keep_matching_keys", PATTERN_ONLY, keep_matching_keys::<C>)
        .editor("limit", LIMIT, limit::<C>)
        .editor("merge_maps", MERGE_MAPS, merge_maps::<C>)
        .editor("replace_pattern", REPLACE_PATTERN, replace_pattern::<C>)
        .editor(
            "replace_all_patterns",
            REPLACE_ALL_PATTERNS,
            replace_all_patterns::<C>,
        )
        .editor("replace_match", REPLACE_MATCH, replace_match::<C>)
        .editor(
            "replace_all_matches",
            REPLACE_MATCH,
            replace_all_matches::<C>,
        )
        .editor("truncate_all", TRUNCATE_ALL, truncate_all::<C>)
        .editor("flatten", FLATTEN, flatten::<C>)
        .editor("append", APPEND, append::<C>)
        .editor("delete_index", DELETE_INDEX, delete_index::<C>)
        .editor("stringify_all", TARGET_ONLY, stringify_all::<C>);
}

const SET: &[Param] = &[req("target", Target), req("value", Getter)];
const DELETE_KEY: &[Param] = &[req("target", Target), req("key", Getter)];
const PATTERN_ONLY: &[Param] = &[req("target", Target), req("pattern", Str)];
const KEEP_KEYS: &[Param] = &[req("target", Target), req("keys", StrList)];
const LIMIT: &[Param] = &[
    req("target", Target),
    req("limit", Int),
    req("priority_keys", StrList),
];
const MERGE_MAPS: &[Param] = &[
    req("target", Target),
    req("source", Getter),
    req("strategy", Str),
];
const REPLACE_PATTERN: &[Param] = &[
    req("target", Target),
    req("regex", Str),
    req("replacement", Getter),
    opt("function", Function),
    opt("replacementFormat", Getter),
];
const REPLACE_ALL_PATTERNS: &[Param] = &[
    req("target", Target),
    req("mode", Str),
    req("regex", Str),
    req("replacement", Getter),
    opt("function", Function),
    opt("replacementFormat", Getter),
];
const REPLACE_MATCH: &[Param] = &[
    req("target", Target),
    req("pattern", Str),
    req("replacement", Getter),
    opt("function", Function),
    opt("replacementFormat", Getter),
];
const TRUNCATE_ALL: &[Param] = &[
    req("target", Target),
    req("limit", Int),
    opt("utf8_safe", Bool),
    opt("truncation_marker", Str),
];
const FLATTEN: &[Param] = &[
    req("target", Target),
    opt("prefix", Str),
    opt("depth", Int),
    opt("resolveConflicts", Bool),
];
const APPEND: &[Param] = &[
    req("target", Target),
    opt("value", Getter),
    opt("values", Getter),
];
const DELETE_INDEX: &[Param] = &[
    req("target", Target),
    req("startIndex", Getter),
    opt("endIndex", Getter),
];
const TARGET_ONLY: &[Param] = &[req("target", Target)];

// ---------------------------------------------------------------------------------------------
// Typed reads of arguments (Go's typed getters)

pub(crate) fn get_string<C: Context>(e: &Expr<C>, d: &C::Data<'_>) -> Result<String, EvalError> {
    match e.eval(d)? {
        Value::Str(s) => Ok(s),
        other => Err(EvalError::new(format!(
            "expected string but got {}",
            other.type_name()
        ))),
    }
}

/// A string argument without copying a literal one.
pub(crate) fn get_str_cow<'s, C: Context>(
    e: &'s Expr<C>,
    d: &C::Data<'_>,
) -> Result<std::borrow::Cow<'s, str>, EvalError> {
    use std::borrow::Cow;
    match e.eval_cow(d)? {
        Cow::Borrowed(Value::Str(s)) => Ok(Cow::Borrowed(s.as_str())),
        Cow::Owned(Value::Str(s)) => Ok(Cow::Owned(s)),
        other => Err(EvalError::new(format!(
            "expected string but got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn get_int<C: Context>(e: &Expr<C>, d: &C::Data<'_>) -> Result<i64, EvalError> {
    match e.eval(d)? {
        Value::Int(i) => Ok(i),
        other => Err(EvalError::new(format!(
            "expected int64 but got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn get_map<C: Context>(
    e: &Expr<C>,
    d: &C::Data<'_>,
) -> Result<Vec<KeyValue>, EvalError> {
    match e.eval(d)? {
        Value::Map(m) => Ok(m),
        other => Err(EvalError::new(format!(
            "expected pcommon.Map but got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    goregex::compile(pattern).map_err(|e| {
        format!("the regex pattern supplied to the function is not a valid pattern: {e}")
    })
}

fn not_a_map(target: &str) -> EvalError {
    EvalError::new(format!("expected pcommon.Map but got {target}"))
}

// ---------------------------------------------------------------------------------------------

fn set<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let value = a.getter(1);
    Ok(Box::new(move |d| {
        let v = value.eval(d)?;
        // Go: a nil value leaves the target as it was.
        if v.is_nil() {
            return Ok(());
        }
        target.set(d, v)
    }))
}

fn delete_key<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let key = a.getter(1);
    Ok(Box::new(move |d| {
        let k = get_str_cow(&key, d)?;
        match target.with_map(d, |m| m.retain(|kv| kv.key != k))? {
            Some(()) => Ok(()),
            None => Err(not_a_map(target.text())),
        }
    }))
}

fn delete_matching_keys<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let re = compile_regex(&a.str(1).unwrap_or_default())?;
    Ok(Box::new(move |d| {
        match target.with_map(d, |m| m.retain(|kv| !re.is_match(&kv.key)))? {
            Some(()) => Ok(()),
            None => Err(not_a_map(target.text())),
        }
    }))
}

fn keep_keys<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let keys = a.str_list(1).unwrap_or_default();
    Ok(Box::new(move |d| {
        match target.with_map(d, |m| m.retain(|kv| keys.contains(&kv.key)))? {
            Some(()) => Ok(()),
            None => Err(not_a_map(target.text())),
        }
    }))
}

fn keep_matching_keys<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let re = compile_regex(&a.str(1).unwrap_or_default())?;
    Ok(Box::new(move |d| {
        match target.with_map(d, |m| m.retain(|kv| re.is_match(&kv.key)))? {
            Some(()) => Ok(()),
            None => Err(not_a_map(target.text())),
        }
    }))
}

fn limit<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let limit = a.int(1).unwrap_or(0);
    let priority = a.str_list(2).unwrap_or_default();
    if limit < 0 {
        return Err(format!(
            "invalid limit for limit function, {limit} cannot be negative"
        ));
    }
    if priority.len() as i64 > limit {
        return Err(format!(
            "invalid limit for limit function, {} priority keys are provided but the limit is {limit}",
            priority.len()
        ));
    }
    let limit = limit as usize;
    Ok(Box::new(move |d| {
        let r = target.with_map(d, |m| {
            if m.len() <= limit {
                return;
            }
            // Priority keys present count first; the rest fill what is left, in map order.
            let present = m.iter().filter(|kv| priority.contains(&kv.key)).count();
            let mut room = limit.saturating_sub(present);
            m.retain(|kv| {
                if priority.contains(&kv.key) {
                    return true;
                }
                if room > 0 {
                    room -= 1;
                    true
                } else {
                    false
                }
            });
        })?;
        r.ok_or_else(|| not_a_map(target.text()))
    }))
}

fn merge_maps<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let source = a.getter(1);
    let strategy = a.str(2).unwrap_or_default();
    let strategy = match strategy.as_str() {
        "insert" => 0,
        "update" => 1,
        "upsert" => 2,
        other => {
            return Err(format!(
                "invalid value for strategy, {other}, must be 'insert', 'update' or 'upsert'"
            ));
        }
    };
    Ok(Box::new(move |d| {
        let src = get_map(&source, d)?;
        let r = target.with_map(d, |m| {
            for kv in src {
                let exists = m.iter().any(|t| t.key == kv.key);
                let put = match strategy {
                    0 => !exists,
                    1 => exists,
                    _ => true,
                };
                if put {
                    map_put(m, &kv.key, kv.value.unwrap_or_default());
                }
            }
        })?;
        r.ok_or_else(|| not_a_map(target.text()))
    }))
}

/// The replacement for one match: expanded (`$1`), then passed through `function` and
/// `replacementFormat` when given (Go `applyOptReplaceFunction`).
struct Replacer<C: Context> {
    replacement: Expr<C>,
    function: Option<FuncArg>,
    format: Option<Expr<C>>,
}

impl<C: Context> Replacer<C> {
    fn new(a: &mut Args<C>, first: usize) -> Replacer<C> {
        Replacer {
            replacement: a.getter(first),
            function: a.func(first + 1),
            format: a.opt_getter(first + 2),
        }
    }

    fn resolve<'s>(
        &'s self,
        d: &C::Data<'_>,
    ) -> Result<(Cow<'s, str>, Option<Cow<'s, str>>), EvalError> {
        let repl = get_str_cow(&self.replacement, d)?;
        let format = match &self.format {
            Some(f) => {
                let f = get_str_cow(f, d)?;
                if f.matches("%s").count() != 1 || f.replace("%s", "").contains('%') {
                    return Err(EvalError::new(
                        "replacementFormat must be format string containing a single %s and no other format specifiers",
                    ));
                }
                Some(f)
            }
            None => None,
        };
        Ok((repl, format))
    }

    fn finish(&self, expanded: String, format: &Option<Cow<'_, str>>) -> Result<String, EvalError> {
        let Some(f) = &self.function else {
            return Ok(expanded);
        };
        let hashed = match f.call(&expanded)? {
            Value::Str(s) => s,
            other => other.as_string(),
        };
        Ok(match format {
            Some(fmt) => fmt.replacen("%s", &hashed, 1),
            None => hashed,
        })
    }

    fn replace_regex(
        &self,
        re: &Regex,
        s: &str,
        repl: &str,
        format: &Option<Cow<'_, str>>,
    ) -> Result<Option<String>, EvalError> {
        if self.function.is_none() {
            // one scan: a haystack without a match comes back borrowed
            return Ok(match re.replace_all(s, repl) {
                Cow::Borrowed(_) => None,
                Cow::Owned(o) => Some(o),
            });
        }
        if !re.is_match(s) {
            return Ok(None);
        }
        if self.function.is_none() {
            return Ok(Some(re.replace_all(s, repl).into_owned()));
        }
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for caps in re.captures_iter(s) {
            let m = caps.get(0).map_or(0..0, |m| m.range());
            out.push_str(&s[last..m.start]);
            let mut expanded = String::new();
            caps.expand(repl, &mut expanded);
            out.push_str(&self.finish(expanded, format)?);
            last = m.end;
        }
        out.push_str(&s[last..]);
        Ok(Some(out))
    }
}

fn string_of(v: &AnyValue) -> Option<&str> {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn set_str(v: &mut AnyValue, s: String) {
    v.value = Some(any_value::Value::StringValue(s));
}

fn replace_pattern<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let re = compile_regex(&a.str(1).unwrap_or_default())?;
    let r = Replacer::new(&mut a, 2);
    Ok(Box::new(move |d| {
        let (repl, format) = r.resolve(d)?;
        let new = target.with_str(d, |s| r.replace_regex(&re, s, &repl, &format))?;
        if let Some(new) = new.transpose()?.flatten() {
            target.set(d, Value::Str(new))?;
        }
        Ok(())
    }))
}

fn replace_all_patterns<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let mode = a.str(1).unwrap_or_default();
    let by_key = match mode.as_str() {
        "key" => true,
        "value" => false,
        other => {
            return Err(format!(
                "invalid mode {other}, must be either 'key' or 'value'"
            ));
        }
    };
    let re = compile_regex(&a.str(2).unwrap_or_default())?;
    let r = Replacer::new(&mut a, 3);
    Ok(Box::new(move |d| {
        let (repl, format) = r.resolve(d)?;
        let res = target.with_map(d, |m| -> Result<(), EvalError> {
            if by_key {
                let old = std::mem::take(m);
                for mut kv in old {
                    if let Some(k) = r.replace_regex(&re, &kv.key, &repl, &format)? {
                        kv.key = k;
                        m.retain(|o| o.key != kv.key);
                    }
                    m.retain(|o| o.key != kv.key);
                    m.push(kv);
                }
            } else {
                for kv in m.iter_mut() {
                    let Some(v) = kv.value.as_mut() else { continue };
                    let Some(s) = string_of(v) else { continue };
                    if let Some(new) = r.replace_regex(&re, s, &repl, &format)? {
                        set_str(v, new);
                    }
                }
            }
            Ok(())
        })?;
        match res {
            Some(r) => r,
            None => Err(not_a_map(target.text())),
        }
    }))
}

/// Go `filepath.Match` on a whole string (`*`, `?`, `[...]`, `\` escapes; `*` and `?` do
/// not match `/`). `None` for a malformed pattern.
pub(crate) fn glob_match(pattern: &str, s: &str) -> Option<bool> {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        loop {
            let ch = *p.get(i)?;
            if ch == ']' && !first {
                i += 1;
                break;
            }
            first = false;
            let lo = if ch == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                ch
            };
            i += 1;
            let mut hi = lo;
            if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|c| *c != ']') {
                i += 1;
                hi = if p[i] == '\\' {
                    i += 1;
                    *p.get(i)?
                } else {
                    p[i]
                };
                i += 1;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
        }
        Some((matched != negate, i))
    }
    fn go(p: &[char], s: &[char]) -> Option<bool> {
        let (mut pi, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, si));
                        pi += 1;
                        continue;
                    }
                    '?' if si < s.len() && s[si] != '/' => {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                    '[' if si < s.len() => {
                        let (ok, n) = class(&p[pi + 1..], s[si])?;
                        if ok && s[si] != '/' {
                            pi += 1 + n;
                            si += 1;
                            continue;
                        }
                    }
                    '\\' if si < s.len() => {
                        let c = *p.get(pi + 1)?;
                        if c == s[si] {
                            pi += 2;
                            si += 1;
                            continue;
                        }
                    }
                    c if si < s.len() && c != '?' && c != '[' && c != '\\' && c == s[si] => {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                    _ => {}
                }
            } else if si == s.len() {
                return Some(true);
            }
            // backtrack: let the last star eat one more (non-separator) char
            match star {
                Some((sp, ss)) if ss < s.len() && s[ss] != '/' => {
                    star = Some((sp, ss + 1));
                    pi = sp + 1;
                    si = ss + 1;
                }
                _ => {
                    // validate the rest of the pattern for syntax errors as Go does
                    return Some(false);
                }
            }
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

fn replace_match<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let pattern = a.str(1).unwrap_or_default();
    if glob_match(&pattern, "").is_none() {
        return Err("syntax error in pattern".into());
    }
    let r = Replacer::new(&mut a, 2);
    Ok(Box::new(move |d| {
        let (repl, format) = r.resolve(d)?;
        let matched = target.with_str(d, |s| glob_match(&pattern, s) == Some(true))?;
        if matched == Some(true) {
            target.set(d, Value::Str(r.finish(repl.into_owned(), &format)?))?;
        }
        Ok(())
    }))
}

fn replace_all_matches<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let pattern = a.str(1).unwrap_or_default();
    if glob_match(&pattern, "").is_none() {
        return Err("syntax error in pattern".into());
    }
    let r = Replacer::new(&mut a, 2);
    Ok(Box::new(move |d| {
        let (repl, format) = r.resolve(d)?;
        let new = r.finish(repl.into_owned(), &format)?;
        let res = target.with_map(d, |m| {
            for kv in m.iter_mut() {
                let Some(v) = kv.value.as_mut() else { continue };
                if string_of(v).is_some_and(|s| glob_match(&pattern, s) == Some(true)) {
                    set_str(v, new.clone());
                }
            }
        })?;
        res.ok_or_else(|| not_a_map(target.text()))
    }))
}

fn truncate_all<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let limit = a.int(1).unwrap_or(0);
    let utf8_safe = a.bool(2).unwrap_or(true);
    let marker = a.str(3).unwrap_or_default();
    if limit < 0 {
        return Err(format!(
            "invalid limit for truncate_all function, {limit} cannot be negative"
        ));
    }
    if marker.len() as i64 > limit {
        return Err(format!(
            "invalid truncation_marker for truncate_all function, its length ({}) exceeds the limit ({limit})",
            marker.len()
        ));
    }
    let limit = limit as usize;
    Ok(Box::new(move |d| {
        let res = target.with_map(d, |m| {
            for kv in m.iter_mut() {
                let Some(AnyValue {
                    value: Some(any_value::Value::StringValue(s)),
                }) = kv.value.as_mut()
                else {
                    continue;
                };
                if s.len() <= limit {
                    continue;
                }
                let mut cut = limit - marker.len();
                if utf8_safe {
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                } else {
                    // Byte cut; an invalid UTF-8 tail cannot live in a Rust String, so a
                    // split character is dropped whole.
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
                s.push_str(&marker);
            }
        })?;
        res.ok_or_else(|| not_a_map(target.text()))
    }))
}

fn flatten<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let prefix = a.str(1).unwrap_or_default();
    let depth = a.int(2).unwrap_or(i64::MAX);
    let resolve = a.bool(3).unwrap_or(false);
    if depth < 0 {
        return Err(format!(
            "invalid depth for flatten function, {depth} cannot be negative"
        ));
    }
    Ok(Box::new(move |d| {
        let res = target.with_map(d, |m| {
            let old = std::mem::take(m);
            let p = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}.")
            };
            for kv in old {
                flatten_value(
                    &p,
                    kv.key,
                    kv.value.unwrap_or_default(),
                    0,
                    depth,
                    m,
                    resolve,
                );
            }
        })?;
        res.ok_or_else(|| not_a_map(target.text()))
    }))
}

fn flatten_value(
    prefix: &str,
    key: String,
    v: AnyValue,
    depth: i64,
    max: i64,
    out: &mut Vec<KeyValue>,
    resolve: bool,
) {
    match v.value {
        Some(any_value::Value::KvlistValue(kv)) if depth < max => {
            let p = format!("{prefix}{key}.");
            for e in kv.values {
                flatten_value(
                    &p,
                    e.key,
                    e.value.unwrap_or_default(),
                    depth + 1,
                    max,
                    out,
                    resolve,
                );
            }
        }
        Some(any_value::Value::ArrayValue(arr)) if depth < max => {
            let p = format!("{prefix}{key}.");
            for (i, e) in arr.values.into_iter().enumerate() {
                flatten_value(&p, i.to_string(), e, depth + 1, max, out, resolve);
            }
        }
        value => {
            let mut k = format!("{prefix}{key}");
            if out.iter().any(|e| e.key == k) {
                if resolve {
                    let mut n = 0;
                    while out.iter().any(|e| e.key == format!("{k}.{n}")) {
                        n += 1;
                    }
                    k = format!("{k}.{n}");
                } else {
                    out.retain(|e| e.key != k);
                }
            }
            out.push(KeyValue {
                key: k,
                value: Some(AnyValue { value }),
                ..Default::default()
            });
        }
    }
}

fn append<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let value = a.opt_getter(1);
    let values = a.opt_getter(2);
    if value.is_none() && values.is_none() {
        return Err(
            "at least one of the optional arguments ('value' or 'values') must be provided".into(),
        );
    }
    Ok(Box::new(move |d| {
        let mut new: Vec<AnyValue> = Vec::new();
        if let Some(v) = &value {
            let v = v.eval(d)?;
            if let Some(any) = v.into_any() {
                new.push(any);
            }
        }
        if let Some(vs) = &values {
            match vs.eval(d)? {
                Value::List(l) => new.extend(l),
                Value::Nil => {}
                other => {
                    if let Some(any) = other.into_any() {
                        new.push(any);
                    }
                }
            }
        }
        let cur = target.get(d)?;
        let list = match cur {
            Value::Nil => new,
            Value::List(mut l) => {
                l.extend(new);
                l
            }
            scalar => {
                let mut l: Vec<AnyValue> = scalar.into_any().into_iter().collect();
                l.extend(new);
                l
            }
        };
        target.set(d, Value::from_any(&new_list_value(list)))
    }))
}

fn delete_index<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    let start = a.getter(1);
    let end = a.opt_getter(2);
    Ok(Box::new(move |d| {
        let s = get_int(&start, d)?;
        let e = match &end {
            Some(e) => get_int(e, d)?,
            None => s + 1,
        };
        let Value::List(mut l) = target.get(d)? else {
            return Err(EvalError::new("target must be a slice"));
        };
        let len = l.len() as i64;
        if s < 0 || s >= len {
            return Err(EvalError::new(format!(
                "startIndex {s} out of bounds for slice of length {len}"
            )));
        }
        if e < s || e > len {
            return Err(EvalError::new(format!(
                "endIndex {e} out of bounds for slice of length {len}"
            )));
        }
        l.drain(s as usize..e as usize);
        target.set(d, Value::List(l))
    }))
}

fn stringify_all<C: Context>(mut a: Args<C>) -> Result<EditorFn<C>, String> {
    let target = a.target(0)?;
    Ok(Box::new(move |d| {
        let res = target.with_map(d, |m| {
            for kv in m.iter_mut() {
                let v = kv.value.get_or_insert_with(AnyValue::default);
                if string_of(v).is_none() {
                    let s = Value::from_any(v).as_string();
                    set_str(v, s);
                }
            }
        })?;
        res.ok_or_else(|| not_a_map(target.text()))
    }))
}
