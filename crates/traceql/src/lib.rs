//! A TraceQL subset: the query language of Grafana Tempo, parsed and evaluated span by span
//! over [`SpanView`], a trait any span store implements (the embedded store, later a
//! ClickHouse backend). This crate owns the language only; it depends on no store.
//!
//! No maintained Rust TraceQL crate exists (crates.io has none for the job), so the lexer and
//! the recursive-descent parser are written here after Tempo's `pkg/traceql` (`lexer.go`,
//! `expr.y`, `ast_execute.go`, `ast_validate.go`).
//!
//! # The subset
//! - One or more spansets `{ ... }` joined by `&&` / `||` (trace level: `{a} && {b}` matches
//!   a trace holding a span matching `a` and a span matching `b`; the result is the union of
//!   both), with parentheses; `{}` matches every span.
//! - Inside a spanset: `resource.x`, `span.x`, unscoped `.x` (the span's attribute, else the
//!   resource's), quoted names (`span."http.method"`), and the intrinsics `name`, `status`,
//!   `kind`, `duration`, `statusMessage`, `rootName`, `rootServiceName`, `traceDuration`, and
//!   their scoped forms `span:name`, `span:duration`, `span:status`, `span:statusMessage`,
//!   `span:kind`, `trace:duration`, `trace:rootName`, `trace:rootService`, and
//!   `instrumentation:name`, `instrumentation:version`.
//! - Operators `= != > >= < <= =~ !~`, `&& || !`, arithmetic `+ - * / % ^`, and Tempo's
//!   precedence (`&&` and `||` share a level: `a || b && c` is `(a || b) && c`).
//! - Literals: strings (`"..."` with Go escapes, or `` `raw` ``), ints, floats, `true`/`false`,
//!   durations (`100ms`, `1.5s`, `1h30m`, `1d`), statuses (`error ok unset`), kinds
//!   (`server client producer consumer internal unspecified`), and `nil` for existence
//!   (`span.x != nil`, `span.x = nil`).
//! - Regexes are Go RE2 (`goregex`), anchored at both ends with `.` matching newlines, as
//!   Tempo's Prometheus `FastRegexMatcher` does.
//! - Pipelines (one spanset per trace, as without `by()`), also inside parentheses
//!   (`({ a } | count() > 1) && { b }`) and starting with a stage (`max(duration) > 1s`, whose
//!   input is the whole trace):
//!   `| { ... }` keeps the spans that also match; `| count() > 2`, `| avg(duration) > 1s`,
//!   `min`/`max`/`sum(field)` compared with a literal keep or drop the trace's spanset (the
//!   only scalar-filter form Tempo evaluates); `| coalesce()` is a no-op; `| select(a, b)`
//!   does not change which spans match: [`Query::select`] names the fields a response should
//!   carry.
//! - Structural operators between spansets, evaluated on the parent links of the trace's
//!   spans: `>` (child), `<` (parent), `>>` (descendant), `<<` (ancestor), `~` (sibling),
//!   their negations `!>`, `!<`, `!>>`, `!<<`, `!~` (right-side spans with no such left
//!   span) and unions `&>`, `&<`, `&>>`, `&<<`, `&~` (the spans of both sides that take
//!   part). As in Tempo, the result is the right side's spans, and spans cut off from the
//!   trace's root (a parent missing) relate to nothing.
//!
//! Comparison semantics are Tempo's: ints, floats and durations compare as numbers, strings
//! never equal numbers, a missing attribute fails every comparison (including `!=`), string
//! ordering is byte-wise; an array attribute matches `=`, `=~` and the orderings when some
//! element does, `!=` and `!~` when every element does. Maps and bytes exist but never
//! compare. With the `pdata` feature, `attr_value` reads OTLP `AnyValue`s (arrays in
//! place).
//!
//! # Refused with an error naming the construct
//! `| by(...)`, arithmetic on aggregates or between pipelines, aggregates compared with
//! aggregates, `select()` inside parentheses, metrics queries (`rate()`,
//! `quantile_over_time()`, arithmetic on their results, ...), `parent.`/`event.`/`link.`/
//! `instrumentation.` scopes, and the intrinsics `trace:id`, `span:id`, `span:parentID`,
//! `span:childCount`, `parent`, `nestedSet*`, `event:*`, `link:*`.
//!
//! # Other searches as queries
//! [`from_legacy_search`] builds Tempo's legacy tag search (`tags`, `minDuration`,
//! `maxDuration`), [`from_jaeger_search`] Jaeger's trace search (service, operation, tags,
//! durations) with Jaeger v2's matching rules, so a store runs one evaluator for all three.

mod ast;
mod eval;
pub mod fuzzing;
mod legacy;
mod lexer;
mod parser;
mod tree;

#[cfg(test)]
mod tests;

use std::fmt;

pub use ast::{Field, Intrinsic, Kind, Scope, Status};
pub use legacy::{
    JaegerSearch, LegacySearch, from_jaeger_search, from_legacy_search, parse_go_duration,
};

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A syntax error, in Tempo's wording (`parse error at line 1, col 3: ...`).
    Parse(String),
    /// Valid TraceQL outside the subset this crate runs.
    Unsupported(String),
    /// A query Tempo rejects after parsing (type errors, bad regexes).
    Invalid(String),
}

impl Error {
    pub(crate) fn parse(line: usize, col: usize, msg: String) -> Error {
        Error::Parse(format!("parse error at line {line}, col {col}: {msg}"))
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Error {
        Error::Unsupported(msg.into())
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Parse(m) | Error::Unsupported(m) | Error::Invalid(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// An attribute value of a search result, as Tempo's `Static.AsAnyValue` renders it:
/// durations, statuses and kinds become strings (`1.5s`, `error`, `server`).
#[derive(Debug, Clone, PartialEq)]
pub enum ResultValue<'a> {
    Str(std::borrow::Cow<'a, str>),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// An attribute value as the store holds it. Maps and bytes are `Other`: they exist
/// (`!= nil` holds) but compare with nothing.
#[derive(Clone, Copy)]
pub enum AttrValue<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An array: `=`, `=~` and the orderings hold when some element satisfies them, `!=` and
    /// `!~` when every element does (Tempo's array semantics).
    Array(&'a dyn AttrArray),
    Other,
}

/// An array attribute's elements, read in place.
pub trait AttrArray {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> Option<AttrValue<'_>>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AttrArray for [AttrValue<'_>] {
    fn len(&self) -> usize {
        <[AttrValue<'_>]>::len(self)
    }
    fn get(&self, i: usize) -> Option<AttrValue<'_>> {
        <[AttrValue<'_>]>::get(self, i).copied()
    }
}

impl fmt::Debug for AttrValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => write!(f, "Str({s:?})"),
            AttrValue::Int(i) => write!(f, "Int({i})"),
            AttrValue::Float(x) => write!(f, "Float({x})"),
            AttrValue::Bool(b) => write!(f, "Bool({b})"),
            AttrValue::Array(a) => write!(f, "Array(len {})", a.len()),
            AttrValue::Other => write!(f, "Other"),
        }
    }
}

/// A value read from a span by a field ([`Query::field_value`]).
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    Status(Status),
    Kind(Kind),
    Array(&'a dyn AttrArray),
    Other,
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Duration(d) => write!(f, "Duration({d})"),
            Value::Status(s) => write!(f, "Status({s:?})"),
            Value::Kind(k) => write!(f, "Kind({k:?})"),
            Value::Array(a) => write!(f, "Array(len {})", a.len()),
            Value::Other => write!(f, "Other"),
        }
    }
}

/// Arrays compare by identity: two views of one array are equal.
impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Status(a), Value::Status(b)) => a == b,
            (Value::Kind(a), Value::Kind(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => std::ptr::addr_eq(*a, *b),
            (Value::Other, Value::Other) => true,
            _ => false,
        }
    }
}

#[cfg(feature = "pdata")]
mod pdata_values {
    use pdata::proto::common::v1::{AnyValue, ArrayValue, any_value};

    use crate::{AttrArray, AttrValue};

    /// An OTLP attribute value as a query sees it.
    pub fn attr_value(v: &AnyValue) -> AttrValue<'_> {
        match &v.value {
            Some(any_value::Value::StringValue(s)) => AttrValue::Str(s),
            Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
            Some(any_value::Value::DoubleValue(f)) => AttrValue::Float(*f),
            Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
            Some(any_value::Value::ArrayValue(a)) => AttrValue::Array(a),
            _ => AttrValue::Other,
        }
    }

    impl AttrArray for ArrayValue {
        fn len(&self) -> usize {
            self.values.len()
        }
        fn get(&self, i: usize) -> Option<AttrValue<'_>> {
            self.values.get(i).map(attr_value)
        }
    }
}

#[cfg(feature = "pdata")]
pub use pdata_values::attr_value;

/// One span as a query sees it. Attribute lookups return `None` when the key is absent.
pub trait SpanView {
    /// The 8-byte span id as a big-endian integer (structural operators join on it).
    fn span_id(&self) -> u64;
    /// The parent's span id as a big-endian integer, 0 for a root span.
    fn parent_span_id(&self) -> u64;
    fn name(&self) -> &str;
    /// The instrumentation scope's name and version (`instrumentation:name`, Jaeger's
    /// `otel.scope.name`); empty when unknown.
    fn scope_name(&self) -> &str;
    fn scope_version(&self) -> &str;
    fn duration_ns(&self) -> u64;
    fn status(&self) -> Status;
    fn status_message(&self) -> &str;
    fn kind(&self) -> Kind;
    fn span_attr(&self, key: &str) -> Option<AttrValue<'_>>;
    fn resource_attr(&self, key: &str) -> Option<AttrValue<'_>>;
}

impl<T: SpanView + ?Sized> SpanView for &T {
    fn span_id(&self) -> u64 {
        (**self).span_id()
    }
    fn parent_span_id(&self) -> u64 {
        (**self).parent_span_id()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn scope_name(&self) -> &str {
        (**self).scope_name()
    }
    fn scope_version(&self) -> &str {
        (**self).scope_version()
    }
    fn duration_ns(&self) -> u64 {
        (**self).duration_ns()
    }
    fn status(&self) -> Status {
        (**self).status()
    }
    fn status_message(&self) -> &str {
        (**self).status_message()
    }
    fn kind(&self) -> Kind {
        (**self).kind()
    }
    fn span_attr(&self, key: &str) -> Option<AttrValue<'_>> {
        (**self).span_attr(key)
    }
    fn resource_attr(&self, key: &str) -> Option<AttrValue<'_>> {
        (**self).resource_attr(key)
    }
}

/// The trace-level intrinsics (`rootServiceName`, `rootName`, `traceDuration`), computed
/// once per trace by the store. Empty strings when the root span is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceInfo<'a> {
    pub root_service: &'a str,
    pub root_name: &'a str,
    pub duration_ns: u64,
}

/// Necessary conditions on one span, for a store to prune before evaluating: a span that
/// fails any present field cannot match the filter it was derived from. Bounds are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanConditions {
    /// `resource.service.name = "..."`
    pub service_name: Option<String>,
    /// `name = "..."`
    pub span_name: Option<String>,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
}

/// Necessary conditions for a trace to match ([`Query::conditions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// For each entry, some span of the trace must satisfy it. Empty when the query gives no
    /// usable hint (for example a top-level `||`).
    pub spans: Vec<SpanConditions>,
    pub root_service: Option<String>,
    pub root_name: Option<String>,
    pub min_trace_duration_ns: Option<u64>,
    pub max_trace_duration_ns: Option<u64>,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    root: ast::SpansetExpr,
    stages: Vec<ast::Stage>,
    select: Vec<Field>,
}

/// Parses a TraceQL query (see the crate docs for the subset).
pub fn parse(q: &str) -> Result<Query, Error> {
    let p = parser::parse(q)?;
    let select = p
        .stages
        .iter()
        .filter_map(|s| match s {
            ast::Stage::Select(f) => Some(f.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    Ok(Query {
        root: p.root,
        stages: p.stages,
        select,
    })
}

impl Query {
    /// `{}`: every span of every trace.
    pub fn match_all() -> Query {
        Query {
            root: ast::SpansetExpr::Filter(ast::Expr::Static(ast::Static::Bool(true))),
            stages: Vec::new(),
            select: Vec::new(),
        }
    }

    /// Whether the query is a single spanset filter (no `&&`/`||` between spansets, no
    /// aggregate stage), for which [`Query::matches_span`] decides alone.
    pub fn is_single_spanset(&self) -> bool {
        matches!(self.root, ast::SpansetExpr::Filter(_))
            && !self
                .stages
                .iter()
                .any(|s| matches!(s, ast::Stage::Scalar { .. }))
    }

    /// Whether the span matches one of the query's spanset filters and every `| { ... }`
    /// stage. For a single spanset this is the whole answer; otherwise a trace must also
    /// satisfy [`Query::eval_trace`]. Every span `eval_trace` returns passes this test, so a
    /// store may use it to skip traces with no such span.
    pub fn matches_span<S: SpanView + ?Sized>(&self, span: &S, trace: &TraceInfo<'_>) -> bool {
        let stages_hold = self.stages.iter().all(|st| match st {
            ast::Stage::Filter(x) => eval::matches(x, span, trace),
            _ => true,
        });
        if !stages_hold {
            return false;
        }
        fn any<S: SpanView + ?Sized>(e: &ast::SpansetExpr, span: &S, t: &TraceInfo<'_>) -> bool {
            match e {
                ast::SpansetExpr::Filter(x) => eval::matches(x, span, t),
                ast::SpansetExpr::And(l, r)
                | ast::SpansetExpr::Or(l, r)
                | ast::SpansetExpr::Rel(_, l, r) => any(l, span, t) || any(r, span, t),
                ast::SpansetExpr::Pipe(inner, stages) => {
                    any(inner, span, t)
                        && stages.iter().all(|st| match st {
                            ast::Stage::Filter(x) => eval::matches(x, span, t),
                            _ => true,
                        })
                }
            }
        }
        any(&self.root, span, trace)
    }

    /// Evaluates the query on one trace: `None` when the trace does not match, else the
    /// indices (ascending) of the spans that make up its spanset.
    pub fn eval_trace<S: SpanView>(
        &self,
        spans: &[S],
        trace: &TraceInfo<'_>,
    ) -> Option<Vec<usize>> {
        let mut tree = None;
        let set = eval_set(&self.root, spans, trace, &mut tree);
        let set = apply_stages(set, &self.stages, spans, trace);
        (!set.is_empty()).then_some(set)
    }

    /// Fields named in `| select(...)`, for the response's span attributes.
    pub fn select(&self) -> &[Field] {
        &self.select
    }

    /// Every field the filters read, in order of first use without repeats: Tempo returns
    /// these as the matched spans' attributes in search results.
    pub fn fields(&self) -> Vec<Field> {
        fn walk_expr(e: &ast::Expr, out: &mut Vec<Field>) {
            match e {
                ast::Expr::Static(_) => {}
                ast::Expr::Field(f) => {
                    if !out.contains(f) {
                        out.push(f.clone());
                    }
                }
                ast::Expr::Binary(_, l, r) => {
                    walk_expr(l, out);
                    walk_expr(r, out);
                }
                ast::Expr::Regex { lhs, .. } => walk_expr(lhs, out),
                ast::Expr::Not(x) | ast::Expr::Neg(x) | ast::Expr::Exists(x, _) => {
                    walk_expr(x, out)
                }
                ast::Expr::AsString { .. } => {}
            }
        }
        fn walk(e: &ast::SpansetExpr, out: &mut Vec<Field>) {
            match e {
                ast::SpansetExpr::Filter(x) => walk_expr(x, out),
                ast::SpansetExpr::And(l, r)
                | ast::SpansetExpr::Or(l, r)
                | ast::SpansetExpr::Rel(_, l, r) => {
                    walk(l, out);
                    walk(r, out);
                }
                ast::SpansetExpr::Pipe(inner, stages) => {
                    walk(inner, out);
                    for st in stages {
                        match st {
                            ast::Stage::Filter(x) => walk_expr(x, out),
                            ast::Stage::Scalar { field: Some(x), .. } => walk_expr(x, out),
                            _ => {}
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        for st in &self.stages {
            match st {
                ast::Stage::Filter(x) => walk_expr(x, &mut out),
                ast::Stage::Scalar { field: Some(x), .. } => walk_expr(x, &mut out),
                _ => {}
            }
        }
        out
    }

    /// The attributes Tempo attaches to a matched span in search results
    /// (`engine.go asTraceSearchMetadata`): every field the query reads or selects, keyed by
    /// its bare name (`http.method`, `status`, `kind`), except the ones the result carries
    /// elsewhere (`name`, `duration`, trace intrinsics); missing attributes, maps and arrays
    /// are left out.
    pub fn result_attributes<'a, S: SpanView + ?Sized>(
        &'a self,
        span: &'a S,
        trace: &TraceInfo<'a>,
    ) -> Vec<(&'a str, ResultValue<'a>)> {
        let mut fields = self.fields();
        for f in &self.select {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        let mut out = Vec::new();
        for f in fields {
            let key: &'a str = match &f {
                Field::Intrinsic(
                    Intrinsic::Name
                    | Intrinsic::Duration
                    | Intrinsic::TraceDuration
                    | Intrinsic::RootName
                    | Intrinsic::RootServiceName,
                ) => continue,
                Field::Intrinsic(i) => i.as_str(),
                // the name lives as long as the query: find it in the query's own fields
                Field::Attribute { name, .. } => match self.attribute_name(name) {
                    Some(n) => n,
                    None => continue,
                },
            };
            let v = match eval::field(&f, span, trace) {
                Some(Value::Str(s)) => ResultValue::Str(s.into()),
                Some(Value::Int(i)) => ResultValue::Int(i),
                Some(Value::Float(x)) => ResultValue::Double(x),
                Some(Value::Bool(b)) => ResultValue::Bool(b),
                Some(Value::Duration(d)) => ResultValue::Str(ast::go_duration_string(d).into()),
                Some(Value::Status(st)) => ResultValue::Str(st.as_str().into()),
                Some(Value::Kind(k)) => ResultValue::Str(k.as_str().into()),
                Some(Value::Array(_)) | Some(Value::Other) | None => continue,
            };
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, v));
            }
        }
        out
    }

    fn attribute_name(&self, name: &str) -> Option<&str> {
        fn in_expr<'q>(e: &'q ast::Expr, name: &str) -> Option<&'q str> {
            match e {
                ast::Expr::Field(Field::Attribute { name: n, .. }) if n == name => Some(n),
                ast::Expr::Static(_) | ast::Expr::Field(_) => None,
                ast::Expr::Binary(_, l, r) => in_expr(l, name).or_else(|| in_expr(r, name)),
                ast::Expr::Regex { lhs, .. } => in_expr(lhs, name),
                ast::Expr::Not(x) | ast::Expr::Neg(x) | ast::Expr::Exists(x, _) => in_expr(x, name),
                ast::Expr::AsString { .. } => None,
            }
        }
        fn in_set<'q>(e: &'q ast::SpansetExpr, name: &str) -> Option<&'q str> {
            match e {
                ast::SpansetExpr::Filter(x) => in_expr(x, name),
                ast::SpansetExpr::And(l, r)
                | ast::SpansetExpr::Or(l, r)
                | ast::SpansetExpr::Rel(_, l, r) => in_set(l, name).or_else(|| in_set(r, name)),
                ast::SpansetExpr::Pipe(inner, stages) => in_set(inner, name).or_else(|| {
                    stages.iter().find_map(|st| match st {
                        ast::Stage::Filter(x) => in_expr(x, name),
                        ast::Stage::Scalar { field: Some(x), .. } => in_expr(x, name),
                        _ => None,
                    })
                }),
            }
        }
        if let Some(n) = in_set(&self.root, name) {
            return Some(n);
        }
        for st in &self.stages {
            let hit = match st {
                ast::Stage::Filter(x) => in_expr(x, name),
                ast::Stage::Scalar { field: Some(x), .. } => in_expr(x, name),
                ast::Stage::Select(fs) => fs.iter().find_map(|f| match f {
                    Field::Attribute { name: n, .. } if n == name => Some(n.as_str()),
                    _ => None,
                }),
                _ => None,
            };
            if hit.is_some() {
                return hit;
            }
        }
        None
    }

    /// The value of a field on a span (`None` for a missing attribute).
    pub fn field_value<'a, S: SpanView + ?Sized>(
        field: &Field,
        span: &'a S,
        trace: &TraceInfo<'a>,
    ) -> Option<Value<'a>> {
        eval::field(field, span, trace)
    }

    /// Conditions every matching trace satisfies, for pruning before evaluation. Derived from
    /// the `&&`-joined comparisons at the top of each filter; anything else is left to the
    /// evaluator.
    pub fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        collect_conditions(&self.root, &mut c);
        // every span left after a `| { ... }` stage satisfies it, and one is left
        for st in &self.stages {
            if let ast::Stage::Filter(x) = st {
                collect_conditions(&ast::SpansetExpr::Filter(x.clone()), &mut c);
            }
        }
        c
    }
}

fn eval_set<S: SpanView>(
    e: &ast::SpansetExpr,
    spans: &[S],
    trace: &TraceInfo<'_>,
    tree: &mut Option<tree::Tree>,
) -> Vec<usize> {
    match e {
        ast::SpansetExpr::Filter(x) => spans
            .iter()
            .enumerate()
            .filter(|(_, s)| eval::matches(x, s, trace))
            .map(|(i, _)| i)
            .collect(),
        ast::SpansetExpr::And(l, r) => {
            let a = eval_set(l, spans, trace, tree);
            if a.is_empty() {
                return a;
            }
            let b = eval_set(r, spans, trace, tree);
            if b.is_empty() {
                return b;
            }
            union(a, b)
        }
        ast::SpansetExpr::Or(l, r) => {
            let a = eval_set(l, spans, trace, tree);
            let b = eval_set(r, spans, trace, tree);
            union(a, b)
        }
        ast::SpansetExpr::Pipe(inner, stages) => {
            let set = eval_set(inner, spans, trace, tree);
            apply_stages(set, stages, spans, trace)
        }
        ast::SpansetExpr::Rel(rel, l, r) => {
            let a = eval_set(l, spans, trace, tree);
            let b = eval_set(r, spans, trace, tree);
            if b.is_empty() {
                return b;
            }
            let t = tree.get_or_insert_with(|| tree::Tree::build(spans));
            t.relate(*rel, &a, &b)
        }
    }
}

/// Runs pipeline stages over one trace's spanset; empty when a stage drops it.
fn apply_stages<S: SpanView>(
    mut set: Vec<usize>,
    stages: &[ast::Stage],
    spans: &[S],
    trace: &TraceInfo<'_>,
) -> Vec<usize> {
    for st in stages {
        if set.is_empty() {
            break;
        }
        match st {
            ast::Stage::Filter(x) => set.retain(|&i| eval::matches(x, &spans[i], trace)),
            ast::Stage::Scalar {
                agg,
                field,
                op,
                rhs,
            } => {
                let holds = eval::aggregate(*agg, field.as_ref(), spans, &set, trace)
                    .is_some_and(|v| eval::scalar_holds(*op, v, rhs));
                if !holds {
                    set.clear();
                }
            }
            ast::Stage::Select(_) | ast::Stage::Coalesce => {}
        }
    }
    set
}

fn union(a: Vec<usize>, b: Vec<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn collect_conditions(e: &ast::SpansetExpr, c: &mut Conditions) {
    match e {
        ast::SpansetExpr::Filter(x) => {
            let mut sc = SpanConditions::default();
            conjuncts(x, &mut sc, c);
            if sc != SpanConditions::default() {
                c.spans.push(sc);
            }
        }
        ast::SpansetExpr::And(l, r) => {
            collect_conditions(l, c);
            collect_conditions(r, c);
        }
        // Either side may match alone: nothing is necessary.
        ast::SpansetExpr::Or(..) => {}
        // The right side always contributes spans; the left too unless negated.
        ast::SpansetExpr::Rel(rel, l, r) => {
            if !rel.negated {
                collect_conditions(l, c);
            }
            collect_conditions(r, c);
        }
        // the stages only narrow what the inner expression yields
        ast::SpansetExpr::Pipe(inner, _) => collect_conditions(inner, c),
    }
}

fn conjuncts(e: &ast::Expr, sc: &mut SpanConditions, c: &mut Conditions) {
    use ast::{BinOp, Expr, Static};
    let Expr::Binary(op, l, r) = e else {
        return;
    };
    if *op == BinOp::And {
        conjuncts(l, sc, c);
        conjuncts(r, sc, c);
        return;
    }
    // field op literal, or literal op field (flipped)
    let (field, lit, op) = match (&**l, &**r) {
        (Expr::Field(f), Expr::Static(s)) => (f, s, *op),
        (Expr::Static(s), Expr::Field(f)) => (
            f,
            s,
            match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::Lte => BinOp::Gte,
                BinOp::Gt => BinOp::Lt,
                BinOp::Gte => BinOp::Lte,
                o => *o,
            },
        ),
        _ => return,
    };
    let ns = match lit {
        Static::Duration(d) | Static::Int(d) => Some(*d),
        _ => None,
    };
    let lower = |ns: i64, op: BinOp| -> Option<u64> {
        match op {
            BinOp::Gt => Some(ns.saturating_add(1).max(0) as u64),
            BinOp::Gte | BinOp::Eq => Some(ns.max(0) as u64),
            _ => None,
        }
    };
    let upper = |ns: i64, op: BinOp| -> Option<u64> {
        match op {
            BinOp::Lt if ns > 0 => Some((ns - 1) as u64),
            BinOp::Lte | BinOp::Eq if ns >= 0 => Some(ns as u64),
            _ => None,
        }
    };
    let tighten_min = |slot: &mut Option<u64>, v: Option<u64>| {
        if let Some(v) = v {
            *slot = Some(slot.map_or(v, |o| o.max(v)));
        }
    };
    let tighten_max = |slot: &mut Option<u64>, v: Option<u64>| {
        if let Some(v) = v {
            *slot = Some(slot.map_or(v, |o| o.min(v)));
        }
    };
    match (field, lit, op) {
        (
            Field::Attribute {
                scope: Scope::Resource,
                name,
            },
            Static::Str(v),
            BinOp::Eq,
        ) if name == "service.name" => sc.service_name = Some(v.clone()),
        (Field::Intrinsic(Intrinsic::Name), Static::Str(v), BinOp::Eq) => {
            sc.span_name = Some(v.clone())
        }
        (Field::Intrinsic(Intrinsic::Status), Static::Status(s), BinOp::Eq) => sc.status = Some(*s),
        (Field::Intrinsic(Intrinsic::Kind), Static::Kind(k), BinOp::Eq) => sc.kind = Some(*k),
        (Field::Intrinsic(Intrinsic::RootServiceName), Static::Str(v), BinOp::Eq) => {
            c.root_service = Some(v.clone())
        }
        (Field::Intrinsic(Intrinsic::RootName), Static::Str(v), BinOp::Eq) => {
            c.root_name = Some(v.clone())
        }
        (Field::Intrinsic(Intrinsic::Duration), _, _) => {
            if let Some(ns) = ns {
                tighten_min(&mut sc.min_duration_ns, lower(ns, op));
                tighten_max(&mut sc.max_duration_ns, upper(ns, op));
            }
        }
        (Field::Intrinsic(Intrinsic::TraceDuration), _, _) => {
            if let Some(ns) = ns {
                tighten_min(&mut c.min_trace_duration_ns, lower(ns, op));
                tighten_max(&mut c.max_trace_duration_ns, upper(ns, op));
            }
        }
        _ => {}
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        for st in &self.stages {
            write!(f, " | {st}")?;
        }
        Ok(())
    }
}
