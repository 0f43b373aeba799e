//! LogQL, Loki's query language: a hand-written lexer and recursive-descent parser (no
//! well-kept Rust LogQL parser exists) and an evaluator with Loki's semantics over a
//! [`LogSource`] trait that a data source (the embedded store, later ClickHouse) implements.
//! This crate owns the language only: no storage, no HTTP server, no runtime.
//!
//! Supported (Loki's semantics, Loki's error wording where practical):
//! - stream selectors `{a="x", b!="y", c=~"re", d!~"re"}`: regexes are Go RE2 (via `goregex`)
//!   and fully anchored; a selector needs one matcher that does not match the empty string;
//! - line filters `|=`, `!=`, `|~`, `!~` (regexes unanchored), chained, with `or` alternatives;
//! - parsers `| json` (nested objects flattened with `_`, keys sanitized, arrays skipped;
//!   `| json a="b.c[0]"` paths), `| logfmt` (`--strict`, `--keep-empty`, `| logfmt a="k"`),
//!   `| regexp "(?P<x>..)"`, `| pattern "<_> <status>"`; extracted labels that collide with
//!   stream labels get the `_extracted` suffix; parse failures set `__error__` (`JSONParserErr`,
//!   `LogfmtParserErr`, ...) and `__error_details__`;
//! - label filters: string matchers, numeric, duration (`> 10ms`) and byte-size (`> 1KB`)
//!   comparisons, combined with `and`, `,`, a space, `or` and parentheses;
//! - `| line_format` and `| label_format` with a Go text/template subset (see [`template`]),
//!   `| label_format new=old` renames, `| drop` and `| keep` (with optional value matchers),
//!   `| decolorize`;
//! - range aggregations `count_over_time`, `rate`, `bytes_over_time`, `bytes_rate`,
//!   `absent_over_time`, and with `| unwrap x` (or `duration(x)`, `duration_seconds(x)`,
//!   `bytes(x)`, then optional post-filters such as `| __error__=""`): `sum_`, `avg_`, `min_`,
//!   `max_`, `stddev_`, `stdvar_`, `first_`, `last_`, `quantile_over_time` and `rate`, with
//!   `offset` and `by`/`without` on the unwrapped ones; a metric query whose series still carry
//!   `__error__` fails with Loki's `pipeline error: ...` message;
//! - vector aggregations `sum avg min max count stddev stdvar topk bottomk sort sort_desc`
//!   with `by`/`without`; `label_replace`; `vector(n)`; number literals (folded at parse
//!   time); binary operators `+ - * / % ^`, comparisons (with `bool`), `and or unless`,
//!   one-to-one matching with `on`/`ignoring`.
//!
//! Refused with an error naming the construct: `| unpack`, `| distinct`, `| ip(..)`,
//! `|>`/`!>` pattern line filters, `group_left`/`group_right`, `rate_counter`, `approx_topk`,
//! `absent`, subqueries. Range windows are `(t - offset - range, t - offset]` for each step
//! `t` of `start, start+step, .. <= end`; a log query reads `[start, end)` and returns at most
//! `limit` entries in the query's direction.
//!
//! Bounds: [`Engine`] holds Loki's limits (`max_entries_limit_per_query` 5000,
//! `max_query_series` 500, 11,000 points per series) and a bound on series × steps of any
//! intermediate result. Count, rate and byte aggregations keep per-step counters (memory
//! series × steps, not one sample per line); `sum` over them keys series by its grouping while
//! reading.
//!
//! Differences from Loki worth knowing: `| json` parses the whole line (a line that is not
//! one JSON value is a `JSONParserErr` even if its prefix is an object); `__error_details__`
//! texts are ours, not jsonparser's/go-logfmt's; templates format times in UTC.

mod eval;
mod lexer;
pub mod output;
mod parser;
mod pipeline;
pub mod template;

pub mod fuzzing;

pub use eval::Engine;
pub use output::to_loki_data;
pub use parser::parse_selector;

use std::fmt;

/// Label pairs sorted by name, names unique.
pub use labels::Labels;

/// One log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub ts_ns: i64,
    pub line: std::sync::Arc<str>,
    /// Structured metadata (trace_id, span_id, other attributes), sorted by name. Loki treats
    /// these as labels of the entry: label filters see them and they key result streams and
    /// series unless aggregated away.
    pub metadata: Labels,
}

/// A stream: a label set and its entries, ordered by timestamp (either direction; the engine
/// sorts when needed).
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub labels: Labels,
    pub entries: Vec<Entry>,
}

// Label matchers are the definitions the store and PromQL share.
pub use labels::{MatchOp, Matcher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Regex,
    /// `!~`
    NotRegex,
}

/// A line filter; `values` holds the `or` alternatives (`|= "a" or "b"`: contains either;
/// `!= "a" or "b"`: contains neither). Regexes are Go RE2, unanchored.
#[derive(Debug, Clone)]
pub struct LineFilter {
    pub op: LineFilterOp,
    pub values: Vec<String>,
    res: Vec<regex::Regex>,
}

impl LineFilter {
    pub fn new(op: LineFilterOp, values: Vec<String>) -> Result<LineFilter, String> {
        let res = match op {
            LineFilterOp::Regex | LineFilterOp::NotRegex => values
                .iter()
                .map(|v| goregex::compile(v))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        Ok(LineFilter { op, values, res })
    }

    pub fn matches(&self, line: &str) -> bool {
        match self.op {
            LineFilterOp::Contains => self.values.iter().any(|v| line.contains(v.as_str())),
            LineFilterOp::NotContains => !self.values.iter().any(|v| line.contains(v.as_str())),
            LineFilterOp::Regex => self.res.iter().any(|r| r.is_match(line)),
            LineFilterOp::NotRegex => !self.res.iter().any(|r| r.is_match(line)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Forward,
    #[default]
    Backward,
}

/// What the engine asks a source for: streams whose labels satisfy every matcher, with their
/// entries in `[start_ns, end_ns)`.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub matchers: &'a [Matcher],
    pub start_ns: i64,
    pub end_ns: i64,
    /// Pushdown hint: filters every returned line must pass. The source MAY apply them (the
    /// engine re-applies them), e.g. to skip blocks.
    pub line_filters: &'a [LineFilter],
    pub direction: Direction,
    /// Hint for log queries: only the first `limit` entries in `direction` order (across all
    /// streams) that pass `line_filters` are needed. Set only when nothing else filters.
    pub limit: Option<usize>,
    /// Hint: only these structured-metadata names can matter (`sum by (detected_level)
    /// (count_over_time({…} |= "x" [1m]))`); `None`: all of them. A source MAY return
    /// more.
    pub metadata: Option<&'a [String]>,
    /// Hint: label filters `name="value"` every returned entry must pass (they come before
    /// any stage that can add labels); a source MAY drop entries whose stream label or else
    /// structured metadata `name` differs (`| trace_id="…"` over a long range).
    pub label_equals: &'a [(String, String)],
}

/// A log data source.
pub trait LogSource {
    fn select(&self, sel: &Selection<'_>) -> Result<Vec<Stream>, String>;
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub ts_ns: i64,
    pub value: f64,
}

/// One series of a range query's matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// `(ts_ns, value)` ascending.
    pub points: Vec<(i64, f64)>,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Streams(Vec<Stream>),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(i64, f64),
}

/// Errors: `Parse` and `Query` are the user's (HTTP 400), `Limit` too (Loki answers 400),
/// `Source` is the data source's failure (500).
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Parse(String),
    Query(String),
    Limit(String),
    Source(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse(m) | Error::Query(m) | Error::Limit(m) | Error::Source(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

/// Whether a query returns log lines or samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    Log,
    Metric,
}

/// Parses `query` and says which kind it is (the HTTP layer picks defaults by it).
pub fn query_kind(query: &str) -> Result<QueryKind, Error> {
    Ok(match parser::parse(query)? {
        parser::Expr::Log(_) => QueryKind::Log,
        parser::Expr::Sample(_) => QueryKind::Metric,
    })
}

/// Loki's default `step` for `query_range` without one: `floor((end - start) / 250)` whole
/// seconds, at least one second.
pub fn default_step_ns(start_ns: i64, end_ns: i64) -> i64 {
    let secs = end_ns.saturating_sub(start_ns) as f64 / 1e9 / 250.0;
    (secs.floor().max(1.0) as i64).saturating_mul(1_000_000_000)
}

/// The value of a label in a sorted label set.
pub fn label_value<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    labels::get(labels, name)
}

/// `{a="x", b="y"}` as Prometheus prints label sets.
pub fn labels_string(labels: &Labels) -> String {
    let mut s = String::from("{");
    for (i, (n, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(n);
        s.push('=');
        s.push_str(&format!("{v:?}"));
    }
    s.push('}');
    s
}
