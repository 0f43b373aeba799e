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
