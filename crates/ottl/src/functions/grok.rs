//! `ExtractGrokPatterns` as Go's (on elastic/go-grok's `NewComplete` parser): `%{NAME}`,
//! `%{NAME:field}` and `%{NAME:field:type}` expand to the library's (or the statement's own
//! `patternDefinitions`) regular expressions, the whole is compiled with Go's RE2 semantics
//! (`goregex`), and a match yields a map of the captures, typed by their hints.
//!
//! Go regexps allow one group name many times (a pattern naming `%{IP}` twice, or the `IPV4`
//! inside every `%{IP}` when not `namedCapturesOnly`); Rust's do not, so every named group is
//! renamed to a unique internal name and mapped back. As in go-grok, a later non-empty capture
//! of a name overwrites an earlier one, empty captures are left out.

use std::collections::HashMap;
use std::sync::OnceLock;

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use crate::EvalError;

/// The library: `NewComplete`'s pattern sets, then go-grok's defaults looked up last.
struct Library {
    complete: HashMap<&'static str, &'static str>,
    default: HashMap<&'static str, &'static str>,
}

fn library() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        let mut lib = Library {
            complete: HashMap::new(),
            default: HashMap::new(),
        };
        let mut in_default = true;
        for line in include_str!("grok_patterns.txt").lines() {
            match line {
                "" => {}
                "[default]" => in_default = true,
                "[complete]" => in_default = false,
                l if l.starts_with('#') => {}
                l => {
                    let (name, pattern) = l.split_once(' ').unwrap_or((l, ""));
                    let set = if in_default {
                        &mut lib.default
                    } else {
                        &mut lib.complete
                    };
                    set.insert(name, pattern);
                }
            }
        }
        lib
    })
}

/// The `%{SYNTAX}`, `%{SYNTAX:ID}`, `%{SYNTAX:ID:TYPE}` references go-grok expands.
fn reference_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // A fixed pattern: it compiles.
    RE.get_or_init(|| Regex::new(r"%\{(\w+(?::[\w+.]+(?::\w+)?)?)\}").expect("valid pattern"))
}

/// go-grok keeps dots out of group names this way and puts them back in the keys.
const DOT_SEP: &str = "___";
/// Expansion stops growing a pattern past this (a cyclic or exploding definition).
const MAX_EXPANDED: usize = 1 << 20;

/// The statement's own `patternDefinitions` (`NAME=pattern`), checked as Go does.
pub(crate) fn parse_definitions(defs: &[String]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        let Some((name, pattern)) = d.split_once('=') else {
            let shown = if d.len() > 20 {
                let cut = (0..=17).rev().find(|c| d.is_char_boundary(*c)).unwrap_or(0);
                format!("{}...", &d[..cut])
            } else {
                d.clone()
            };
            return Err(format!(
                "pattern {shown:?} supplied to ExtractGrokPatterns at index {i} has incorrect format, expecting PATTERNNAME=pattern definition"
            ));
        };
        if name.contains(':') {
            return Err(format!("pattern ID {name:?} should not contain ':'"));
        }
        out.insert(name.to_string(), pattern.to_string());
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
enum Hint {
    Str,
    Float,
    Int,
    Bool,
    /// a type go-grok does not know: an error when the group captures
    Unknown,
}

/// A compiled grok expression.
pub(crate) struct Grok {
    re: Regex,
    /// capture group index -> (key with dots, type hint); `None` for unnamed groups
    groups: Vec<Option<(String, Option<Hint>)>>,
}

impl Grok {
    /// Expands and compiles `pattern`; the error is go-grok's (the caller wraps it).
    pub(crate) fn compile(
        pattern: &str,
        named_captures_only: bool,
        custom: &HashMap<String, String>,
    ) -> Result<Grok, String> {
        let (expanded, hints) = expand(pattern, named_captures_only, custom)?;
        let (renamed, names) = rename_groups(&expanded);
        let re = goregex::compile(&renamed)?;
        let groups = re
            .capture_names()
            .map(|n| {
                let idx: usize = n?.strip_prefix("g")?.parse().ok()?;
                let name: &String = names.get(idx)?;
                let hint = hints.get(name).map(|t| match t.as_str() {
                    "string" => Hint::Str,
                    "double" | "float" => Hint::Float,
                    "int" | "long" => Hint::Int,
                    "bool" | "boolean" => Hint::Bool,
                    _ => Hint::Unknown,
                });
                Some((name.clone(), hint))
            })
            .collect();
        Ok(Grok { re, groups })
    }

    pub(crate) fn has_capture_groups(&self) -> bool {
        self.groups.iter().any(Option::is_some)
    }

    /// The captures of the first match as a map; empty when nothing matches.
    pub(crate) fn parse(&self, text: &str) -> Result<Vec<KeyValue>, EvalError> {
        let mut out: Vec<KeyValue> = Vec::new();
        let Some(caps) = self.re.captures(text) else {
            return Ok(out);
        };
        for (i, g) in self.groups.iter().enumerate() {
            let (Some((name, hint)), Some(m)) = (g, caps.get(i)) else {
                continue;
            };
            if m.as_str().is_empty() {
                continue;
            }
            let v = convert(m.as_str(), name, *hint)?;
            let key = name.replace(DOT_SEP, ".");
            match out.iter_mut().find(|kv| kv.key == key) {
                Some(kv) => kv.value = Some(v),
                None => out.push(KeyValue {
                    key,
                    value: Some(v),
                    ..Default::default()
                }),
            }
        }
        Ok(out)
    }
}

fn convert(s: &str, name: &str, hint: Option<Hint>) -> Result<AnyValue, EvalError> {
    use any_value::Value as V;
    let v = match hint {
        None | Some(Hint::Str) => V::StringValue(s.to_string()),
        Some(Hint::Int) => V::IntValue(go_atoi(s)?),
        Some(Hint::Float) => V::DoubleValue(s.parse::<f64>().map_err(|_| {
            EvalError::new(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        })?),
        Some(Hint::Bool) => V::BoolValue(match s {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => {
                return Err(EvalError::new(format!(
                    "strconv.ParseBool: parsing {s:?}: invalid syntax"
                )));
            }
        }),
        Some(Hint::Unknown) => {
            return Err(EvalError::new(format!(
                "invalid type for {name}: type not specified"
            )));
        }
    };
    Ok(AnyValue { value: Some(v) })
}

/// Go `strconv.Atoi` (64-bit int): an optional sign and decimal digits.
fn go_atoi(s: &str) -> Result<i64, EvalError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EvalError::new(format!(
            "strconv.Atoi: parsing {s:?}: invalid syntax"
        )));
    }
    s.parse::<i64>()
        .map_err(|_| EvalError::new(format!("strconv.Atoi: parsing {s:?}: value out of range")))
}

/// go-grok's expansion: every reference is replaced by its definition (as a named group, or
/// a plain group for an unnamed reference when `namedCapturesOnly`), until none is left.
fn expand(
    pattern: &str,
    named_only: bool,
    custom: &HashMap<String, String>,
) -> Result<(String, HashMap<String, String>), String> {
    let lib = library();
    let mut hints = HashMap::new();
    let mut out = pattern.to_string();
    // go-grok's guard against cyclic definitions
    for _ in 0..1000 {
        let refs: Vec<String> = reference_re()
            .captures_iter(&out)
            .map(|c| c[1].to_string())
            .collect();
        if refs.is_empty() {
            break;
        }
        for inner in refs {
            let token = format!("%{{{inner}}}");
            if !out.contains(&token) {
                continue; // an earlier reference of the same text replaced it
            }
            let parts: Vec<&str> = inner.split(':').collect();
            let syntax = parts[0];
            let id = match parts.get(1) {
                Some(id) => id.replace('.', DOT_SEP),
                None => syntax.to_string(),
            };
            if let Some(t) = parts.get(2) {
                hints.insert(id.clone(), t.to_string());
            }
            let def = custom
                .get(syntax)
                .map(String::as_str)
                .or_else(|| lib.complete.get(syntax).copied())
                .or_else(|| lib.default.get(syntax).copied())
                .ok_or_else(|| format!("pattern definition {syntax:?} unknown: parsing failed"))?;
            let replacement = if named_only && parts.len() == 1 {
                format!("({def})")
            } else {
                format!("(?P<{id}>{def})")
            };
            out = out.replace(&token, &replacement);
            if out.len() > MAX_EXPANDED {
                return Err(format!(
                    "pattern expands past {MAX_EXPANDED} bytes (a cyclic or exploding definition?)"
                ));
            }
        }
    }
    Ok((out, hints))
}

/// Renames every named group `(?P<name>` / `(?<name>` to `(?P<gN>` in order, so that a name
/// may occur more than once as Go allows; returns the names by N.
fn rename_groups(re: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(re.len());
    let mut names = Vec::new();
    let mut rest = re;
    let mut in_class = false;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let n = rest[1..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..1 + n]);
            rest = &rest[1 + n..];
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
        } else if c == '[' {
            in_class = true;
            out.push('[');
            rest = &rest[1..];
            // `[]...]` and `[^]...]`: a leading `]` is a literal
            for lead in ["^]", "]", "^"] {
                if let Some(r) = rest.strip_prefix(lead) {
                    out.push_str(lead);
                    rest = r;
                    break;
                }
            }
            continue;
        } else {
            let open = ["(?P<", "(?<"].into_iter().find(|p| rest.starts_with(p));
            if let Some(open) = open
                && let Some(end) = rest[open.len()..].find('>')
            {
                let name = &rest[open.len()..open.len() + end];
                out.push_str(&format!("(?P<g{}>", names.len()));
                names.push(name.to_string());
                rest = &rest[open.len() + end + 1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, names)
}
