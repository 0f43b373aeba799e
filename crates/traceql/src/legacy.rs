//! Tempo's legacy tag search (`/api/search?tags=...&minDuration=...&maxDuration=...`) as a
//! [`Query`]. Tempo documents the tag value as "matched as a case-insensitive substring"; its
//! code (vParquet4 `makePipelineWithRowGroups`) does something narrower, which is what we
//! follow:
//! - well-known columns match a case-sensitive substring: `service.name`, `cluster`,
//!   `namespace`, `pod`, `container`, `k8s.{cluster,namespace,pod,container}.name`
//!   (resource), `name` (span name), `http.method`, `http.url` (span), `root.name`,
//!   `root.service.name` (trace);
//! - `http.status_code` compares as an integer when the value is one;
//! - `status.code` is `unset`/`ok`/`error` (anything else reads as unset, Go's map zero);
//! - any other key must equal the value exactly, on a span or resource attribute;
//! - all conditions must hold in the same trace (not necessarily on one span);
//! - `minDuration` / `maxDuration` (Go durations, truncated to milliseconds) bound the trace's
//!   duration, inclusive.

use regex::Regex;

use crate::ast::{BinOp, Expr, Field, Intrinsic, Scope, SpansetExpr, Static, Status};
use crate::{Error, Query};

/// The legacy search parameters of a Tempo `/api/search` request.
#[derive(Debug, Clone, Default)]
pub struct LegacySearch<'a> {
    /// The `tags` parameter (logfmt).
    pub tags: Option<&'a str>,
    pub min_duration: Option<&'a str>,
    pub max_duration: Option<&'a str>,
}

/// Builds the query a legacy search runs. Errors read as Tempo's 400 responses
/// (`invalid tags: ...`, `invalid minDuration: ...`).
pub fn from_legacy_search(req: &LegacySearch<'_>) -> Result<Query, Error> {
    let mut filters: Vec<Expr> = Vec::new();
    if let Some(tags) = req.tags {
        let pairs = logfmt(tags).map_err(|m| Error::Invalid(format!("invalid tags: {m}")))?;
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &pairs {
            if seen.contains(&k.as_str()) {
                return Err(Error::Invalid(format!(
                    "invalid tags: tag {k} has been set twice"
                )));
            }
            seen.push(k);
        }
        for (k, v) in pairs {
            filters.push(tag_condition(&k, &v));
        }
    }
    let ms = |s: &str, which: &str| -> Result<u64, Error> {
        let ns =
            parse_go_duration(s).map_err(|e| Error::Invalid(format!("invalid {which}: {e}")))?;
        // Tempo keeps whole milliseconds in a uint32
        Ok(((ns.max(0) / 1_000_000) as u64) & 0xffff_ffff)
    };
    let min = req.min_duration.map(|s| ms(s, "minDuration")).transpose()?;
    let max = req.max_duration.map(|s| ms(s, "maxDuration")).transpose()?;
    if let (Some(min), Some(max)) = (min, max)
        && min != 0
        && min > max
    {
        return Err(Error::Invalid(
            "invalid maxDuration: must be greater than minDuration".into(),
        ));
    }
    let td = || Box::new(Expr::Field(Field::Intrinsic(Intrinsic::TraceDuration)));
    let mut dur: Option<Expr> = None;
    if let Some(min) = min.filter(|m| *m > 0) {
        dur = Some(Expr::Binary(
            BinOp::Gte,
            td(),
            Box::new(Expr::Static(Static::Duration(min as i64 * 1_000_000))),
        ));
    }
    if let Some(max) = max.filter(|m| *m > 0) {
        let e = Expr::Binary(
            BinOp::Lte,
            td(),
            Box::new(Expr::Static(Static::Duration(max as i64 * 1_000_000))),
        );
        dur = Some(match dur {
            Some(d) => Expr::Binary(BinOp::And, Box::new(d), Box::new(e)),
            None => e,
        });
    }
    filters.extend(dur);
    let mut it = filters.into_iter().map(SpansetExpr::Filter);
    let Some(first) = it.next() else {
        return Ok(Query::match_all());
    };
    let root = it.fold(first, |acc, f| SpansetExpr::And(Box::new(acc), Box::new(f)));
    Ok(Query {
        root,
        stages: Vec::new(),
        select: Vec::new(),
    })
}

fn substring(field: Field, v: &str) -> Expr {
    let pattern = format!(".*{}.*", regex::escape(v));
    let re = Regex::new(&format!("^(?s:{pattern})$")).expect("escaped literal is a valid regex");
    Expr::Regex {
        lhs: Box::new(Expr::Field(field)),
        pattern,
        re,
        negated: false,
    }
}

fn attr(scope: Scope, name: &str) -> Field {
    Field::Attribute {
        scope,
        name: name.to_string(),
    }
}

fn tag_condition(k: &str, v: &str) -> Expr {
    match k {
        "service.name" | "cluster" | "namespace" | "pod" | "container" | "k8s.cluster.name"
        | "k8s.namespace.name" | "k8s.pod.name" | "k8s.container.name" => {
            substring(attr(Scope::Resource, k), v)
        }
        "name" => substring(Field::Intrinsic(Intrinsic::Name), v),
        "http.method" | "http.url" => substring(attr(Scope::Span, k), v),
        "root.name" => substring(Field::Intrinsic(Intrinsic::RootName), v),
        "root.service.name" => substring(Field::Intrinsic(Intrinsic::RootServiceName), v),
        "http.status_code" if v.parse::<i64>().is_ok() => Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Field(attr(Scope::Span, k))),
            Box::new(Expr::Static(Static::Int(v.parse().unwrap_or_default()))),
        ),
        "status.code" => Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Field(Field::Intrinsic(Intrinsic::Status))),
            Box::new(Expr::Static(Static::Status(match v {
                "ok" => Status::Ok,
                "error" => Status::Error,
                _ => Status::Unset,
            }))),
        ),
        _ => Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Field(attr(Scope::Unscoped, k))),
            Box::new(Expr::Static(Static::Str(v.to_string()))),
        ),
    }
}

/// A Jaeger trace search (`/api/traces?service=&operation=&tags=&minDuration=&maxDuration=`,
/// `/api/v3/traces?query.*`) with the semantics of Jaeger v2's memory store (`validSpan`):
/// one span must satisfy every condition. `error` (`true`/`false`, Go's `ParseBool`) tests the
/// status; `span.status` (`ok`/`error`/other = unset) and `span.kind` compare case-insensitively;
/// `scope.name`/`scope.version` the instrumentation scope; `resource.k` the resource attribute
/// `k`; any other key a span or resource attribute whose Go `AsString()` equals the value.
/// Jaeger also looks at scope, event and link attributes for other keys; those are not
/// searched here. Durations bound the span's duration, inclusive; `None` or 0 means unbounded.
#[derive(Debug, Clone, Default)]
pub struct JaegerSearch<'a> {
    pub service: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub tags: &'a [(&'a str, &'a str)],
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
}

/// Builds the single-spanset query a Jaeger search runs.
pub fn from_jaeger_search(req: &JaegerSearch<'_>) -> Query {
    let mut conds: Vec<Expr> = Vec::new();
    let eq = |f: Field, v: Static| {
        Expr::Binary(
            BinOp::Eq,
            Box::new(Expr::Field(f)),
            Box::new(Expr::Static(v)),
        )
    };
    if let Some(s) = req.service.filter(|s| !s.is_empty()) {
        conds.push(eq(
            attr(Scope::Resource, "service.name"),
            Static::Str(s.into()),
        ));
    }
    if let Some(op) = req.operation.filter(|s| !s.is_empty()) {
        conds.push(eq(
            Field::Intrinsic(Intrinsic::Name),
            Static::Str(op.into()),
        ));
    }
    let dur = |op: BinOp, ns: u64| {
        Expr::Binary(
            op,
            Box::new(Expr::Field(Field::Intrinsic(Intrinsic::Duration))),
            Box::new(Expr::Static(Static::Duration(
                i64::try_from(ns).unwrap_or(i64::MAX),
            ))),
        )
    };
    if let Some(min) = req.min_duration_ns.filter(|n| *n > 0) {
        conds.push(dur(BinOp::Gte, min));
    }
    if let Some(max) = req.max_duration_ns.filter(|n| *n > 0) {
        conds.push(dur(BinOp::Lte, max));
    }
    let status = Field::Intrinsic(Intrinsic::Status);
    for (k, v) in req.tags {
        let cond = match *k {
            "error" => match go_parse_bool(v) {
                Some(true) => eq(status.clone(), Static::Status(Status::Error)),
                Some(false) => Expr::Binary(
                    BinOp::Neq,
                    Box::new(Expr::Field(status.clone())),
                    Box::new(Expr::Static(Static::Status(Status::Error))),
                ),
                // an unparsable error value matches no span
                None => Expr::Static(Static::Bool(false)),
            },
            "span.status" => eq(
                status.clone(),
                Static::Status(match v.to_ascii_uppercase().as_str() {
                    "OK" => Status::Ok,
                    "ERROR" => Status::Error,
                    _ => Status::Unset,
                }),
            ),
            "span.kind" => eq(
                Field::Intrinsic(Intrinsic::Kind),
                Static::Kind(match v.to_ascii_uppercase().as_str() {
                    "CLIENT" => crate::Kind::Client,
                    "SERVER" => crate::Kind::Server,
                    "PRODUCER" => crate::Kind::Producer,
                    "CONSUMER" => crate::Kind::Consumer,
                    "INTERNAL" => crate::Kind::Internal,
                    _ => crate::Kind::Unspecified,
                }),
            ),
            "scope.name" => eq(
                Field::Intrinsic(Intrinsic::ScopeName),
                Static::Str((*v).into()),
            ),
            "scope.version" => eq(
                Field::Intrinsic(Intrinsic::ScopeVersion),
                Static::Str((*v).into()),
            ),
            _ => {
                let fields = match k.strip_prefix("resource.") {
                    Some(rk) => vec![attr(Scope::Resource, rk)],
                    None => vec![attr(Scope::Span, k), attr(Scope::Resource, k)],
                };
                let int = v.parse::<i64>().ok().filter(|i| i.to_string() == *v);
                Expr::AsString {
                    fields,
                    text: (*v).to_string(),
                    int,
                }
            }
        };
        conds.push(cond);
    }
    let Some(first) = conds.pop() else {
        return Query::match_all();
    };
    let filter = conds.into_iter().rev().fold(first, |acc, c| {
        Expr::Binary(BinOp::And, Box::new(c), Box::new(acc))
    });
    Query {
        root: SpansetExpr::Filter(filter),
        stages: Vec::new(),
        select: Vec::new(),
    }
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// go-logfmt's decoder: `key=value` pairs separated by spaces; values may be `"quoted"` with
/// Go escapes; a key without `=` has an empty value.
fn logfmt(s: &str) -> Result<Vec<(String, String)>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let is_key = |c: char| c > ' ' && c != '=' && c != '"' && c != '\u{7f}';
    while i < b.len() {
        if b[i] <= ' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_key(b[i]) {
            i += 1;
        }
        if i == start {
            return Err(format!("unexpected '{}' at pos {}", b[i], i + 1));
        }
        let key: String = b[start..i].iter().collect();
        if i >= b.len() || b[i] <= ' ' {
            out.push((key, String::new()));
            continue;
        }
        if b[i] != '=' {
            return Err(format!("unexpected '{}' at pos {}", b[i], i + 1));
        }
        i += 1;
        let mut val = String::new();
        if i < b.len() && b[i] == '"' {
            i += 1;
            loop {
                if i >= b.len() {
                    return Err(format!("unterminated quoted value at pos {}", i + 1));
                }
                match b[i] {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' if i + 1 < b.len() => {
                        i += 1;
                        val.push(match b[i] {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            c => c,
                        });
                        i += 1;
                    }
                    c => {
                        val.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < b.len() && b[i] > ' ' {
                if b[i] == '"' || b[i] == '=' {
                    return Err(format!("unexpected '{}' at pos {}", b[i], i + 1));
                }
                val.push(b[i]);
                i += 1;
            }
        }
        out.push((key, val));
    }
    Ok(out)
}

/// Go's `time.ParseDuration` in nanoseconds, with Go's error text
/// (`time: invalid duration "x"`).
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    crate::lexer::go_duration(s).ok_or_else(|| format!("time: invalid duration {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_pairs_with_quotes() {
        assert_eq!(
            logfmt(r#"service.name=cart http.url="/api/a b" x"#).unwrap(),
            vec![
                ("service.name".into(), "cart".into()),
                ("http.url".into(), "/api/a b".into()),
                ("x".into(), String::new())
            ]
        );
        assert!(logfmt("a=\"open").is_err());
    }

    #[test]
    fn legacy_errors_read_as_tempo() {
        let e = from_legacy_search(&LegacySearch {
            tags: Some("a=1 a=2"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "invalid tags: tag a has been set twice");
        let e = from_legacy_search(&LegacySearch {
            min_duration: Some("5x"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid minDuration: time: invalid duration \"5x\""
        );
        let e = from_legacy_search(&LegacySearch {
            min_duration: Some("2s"),
            max_duration: Some("1s"),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid maxDuration: must be greater than minDuration"
        );
    }
}
