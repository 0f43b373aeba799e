//! The parsed form of a query, and its rendering in Tempo's stringer style (used in error
//! messages, as Tempo's own validation messages print the offending expression).

use std::fmt;

use regex::Regex;

/// A span's status, as TraceQL names it. Tempo numbers them `error` = 0, `ok` = 1,
/// `unset` = 2 (not OTLP's order), which matters only when a status meets an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Error,
    Ok,
    Unset,
}

impl Status {
    /// The status from OTLP's `Status.code` (0 unset, 1 ok, 2 error; others read as unset).
    pub fn from_otlp(code: i32) -> Status {
        match code {
            1 => Status::Ok,
            2 => Status::Error,
            _ => Status::Unset,
        }
    }

    fn tempo_code(self) -> i64 {
        match self {
            Status::Error => 0,
            Status::Ok => 1,
            Status::Unset => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Error => "error",
            Status::Ok => "ok",
            Status::Unset => "unset",
        }
    }
}

/// A span's kind; the numbers are OTLP's (and Tempo's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    /// The kind from OTLP's `Span.kind` (unknown numbers read as unspecified).
    pub fn from_otlp(kind: i32) -> Kind {
        match kind {
            1 => Kind::Internal,
            2 => Kind::Server,
            3 => Kind::Client,
            4 => Kind::Producer,
            5 => Kind::Consumer,
            _ => Kind::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

impl Status {
    pub(crate) fn code(self) -> i64 {
        self.tempo_code()
    }
}

/// A span or trace property with a fixed meaning (Tempo's intrinsics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// `name`, `span:name`
    Name,
    /// `duration`, `span:duration`
    Duration,
    /// `status`, `span:status`
    Status,
    /// `statusMessage`, `span:statusMessage`
    StatusMessage,
    /// `kind`, `span:kind`
    Kind,
    /// `rootName`, `trace:rootName`
    RootName,
    /// `rootServiceName`, `trace:rootService`
    RootServiceName,
    /// `traceDuration`, `trace:duration`
    TraceDuration,
    /// `instrumentation:name`: the instrumentation scope's name
    ScopeName,
    /// `instrumentation:version`
    ScopeVersion,
}

impl Intrinsic {
    /// The unscoped spelling (Tempo's `Intrinsic.String`).
    pub fn as_str(self) -> &'static str {
        match self {
            Intrinsic::Name => "name",
            Intrinsic::Duration => "duration",
            Intrinsic::Status => "status",
            Intrinsic::StatusMessage => "statusMessage",
            Intrinsic::Kind => "kind",
            Intrinsic::RootName => "rootName",
            Intrinsic::RootServiceName => "rootServiceName",
            Intrinsic::TraceDuration => "traceDuration",
            Intrinsic::ScopeName => "instrumentation:name",
            Intrinsic::ScopeVersion => "instrumentation:version",
        }
    }
}

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `.x`: the span's attribute, else the resource's.
    Unscoped,
    /// `span.x`
    Span,
    /// `resource.x`
    Resource,
}

/// What a query reads from a span: an attribute or an intrinsic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Attribute { scope: Scope, name: String },
    Intrinsic(Intrinsic),
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Static {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    Status(Status),
    Kind(Kind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    And,
    Or,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Eq => "=",
            BinOp::Neq => "!=",
            BinOp::Lt => "<",
            BinOp::Lte => "<=",
            BinOp::Gt => ">",
            BinOp::Gte => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
        }
    }

    pub(crate) fn is_boolean(self) -> bool {
        matches!(
            self,
            BinOp::And
                | BinOp::Or
                | BinOp::Eq
                | BinOp::Neq
                | BinOp::Lt
                | BinOp::Lte
                | BinOp::Gt
                | BinOp::Gte
        )
    }
}

/// A field expression (the inside of `{ ... }`).
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Static(Static),
    Field(Field),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `lhs =~ "re"` / `lhs !~ "re"`; the pattern is compiled once, anchored at both ends.
    Regex {
        lhs: Box<Expr>,
        pattern: String,
        re: Regex,
        negated: bool,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `x != nil` (true) / `x = nil` (false)
    Exists(Box<Expr>, bool),
    /// Jaeger's tag match (not TraceQL syntax): some field's value, rendered as Go's
    /// `pcommon.Value.AsString`, equals `text`. `int` is `text` when it is an integer written
    /// canonically, so integer attributes compare without formatting.
    AsString {
        fields: Vec<Field>,
        text: String,
        int: Option<i64>,
    },
}

/// A spanset expression: filters joined by `&&` / `||` at the trace level, or by a
/// structural operator.
#[derive(Debug, Clone)]
pub(crate) enum SpansetExpr {
    Filter(Expr),
    And(Box<SpansetExpr>, Box<SpansetExpr>),
    Or(Box<SpansetExpr>, Box<SpansetExpr>),
    Rel(Rel, Box<SpansetExpr>, Box<SpansetExpr>),
    /// `( ... | stage | ... )`
    Pipe(Box<SpansetExpr>, Vec<Stage>),
}

/// The relation a structural operator tests between a left span `a` and a right span `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// `>`: `b` is a child of `a`
    Child,
    /// `<`: `b` is the parent of `a`
    Parent,
    /// `>>`: `b` descends from `a`
    Descendant,
    /// `<<`: `b` is an ancestor of `a`
    Ancestor,
    /// `~`: `b` and `a` share a parent
    Sibling,
}

/// A structural operator: the relation, and whether it is negated (`!>`: right spans with no
/// such left span) or a union (`&>`: the spans of both sides that take part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rel {
    pub relation: Relation,
    pub negated: bool,
    pub union: bool,
}

impl Rel {
    pub(crate) fn from_symbol(sym: &str) -> Option<Rel> {
        let (prefix, rest) = match sym.as_bytes().first() {
            Some(b'!') => ("!", &sym[1..]),
            Some(b'&') => ("&", &sym[1..]),
            _ => ("", sym),
        };
        let relation = match rest {
            ">" => Relation::Child,
            "<" => Relation::Parent,
            ">>" => Relation::Descendant,
            "<<" => Relation::Ancestor,
            "~" => Relation::Sibling,
            _ => return None,
        };
        Some(Rel {
            relation,
            negated: prefix == "!",
            union: prefix == "&",
        })
    }

    pub(crate) fn symbol(self) -> String {
        let base = match self.relation {
            Relation::Child => ">",
            Relation::Parent => "<",
            Relation::Descendant => ">>",
            Relation::Ancestor => "<<",
            Relation::Sibling => "~",
        };
        let prefix = if self.negated {
            "!"
        } else if self.union {
            "&"
        } else {
            ""
        };
        format!("{prefix}{base}")
    }
}

/// A spanset aggregate of a scalar filter (`| count() > 2`, `| avg(duration) > 1s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agg {
    Count,
    Avg,
    Max,
    Min,
    Sum,
}

impl Agg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Avg => "avg",
            Agg::Max => "max",
            Agg::Min => "min",
            Agg::Sum => "sum",
        }
    }
}

/// A pipeline stage after the spanset expression.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// `| { ... }`: keeps the spans of the spanset that also match.
    Filter(Expr),
    /// `| agg(field) op literal`: keeps the spanset when the comparison holds.
    Scalar {
        agg: Agg,
        field: Option<Expr>,
        op: BinOp,
        rhs: Static,
    },
    /// `| select(...)`
    Select(Vec<Field>),
    /// `| coalesce()`: one spanset per trace already; nothing to merge.
    Coalesce,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Filter(e) => write!(f, "{{ {e} }}"),
            Stage::Scalar {
                agg,
                field,
                op,
                rhs,
            } => match field {
                Some(x) => write!(f, "{}({x}) {} {rhs}", agg.as_str(), op.as_str()),
                None => write!(f, "{}() {} {rhs}", agg.as_str(), op.as_str()),
            },
            Stage::Select(fields) => {
                let names: Vec<String> = fields.iter().map(|x| x.to_string()).collect();
                write!(f, "select({})", names.join(", "))
            }
            Stage::Coalesce => write!(f, "coalesce()"),
        }
    }
}

/// The type an expression is known to have before any span is seen (Tempo's `impliedType`);
/// `Attribute` is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Attribute,
    Str,
    Int,
    Float,
    Bool,
    Duration,
    Status,
    Kind,
}

impl Type {
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float | Type::Duration)
    }
}

impl Expr {
    pub(crate) fn implied_type(&self) -> Type {
        match self {
            Expr::Static(s) => match s {
                Static::Str(_) => Type::Str,
                Static::Int(_) => Type::Int,
                Static::Float(_) => Type::Float,
                Static::Bool(_) => Type::Bool,
                Static::Duration(_) => Type::Duration,
                Static::Status(_) => Type::Status,
                Static::Kind(_) => Type::Kind,
            },
            Expr::Field(Field::Attribute { .. }) => Type::Attribute,
            Expr::Field(Field::Intrinsic(i)) => match i {
                Intrinsic::Name
                | Intrinsic::StatusMessage
                | Intrinsic::RootName
                | Intrinsic::RootServiceName
                | Intrinsic::ScopeName
                | Intrinsic::ScopeVersion => Type::Str,
                Intrinsic::Duration | Intrinsic::TraceDuration => Type::Duration,
                Intrinsic::Status => Type::Status,
                Intrinsic::Kind => Type::Kind,
            },
            Expr::Binary(op, l, r) => {
                if op.is_boolean() {
                    Type::Bool
                } else {
                    match l.implied_type() {
                        Type::Attribute => r.implied_type(),
                        t => t,
                    }
                }
            }
            Expr::Regex { .. } | Expr::Not(_) | Expr::Exists(..) | Expr::AsString { .. } => {
                Type::Bool
            }
            Expr::Neg(e) => e.implied_type(),
        }
    }
}

/// Tempo prints strings in backquotes and wraps nested operations in parentheses.
impl fmt::Display for Static {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Static::Str(s) => write!(f, "`{s}`"),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(x) => {
                let s = format!("{x}");
                if s.contains(['e', '.']) || !x.is_finite() {
                    write!(f, "{s}")
                } else {
                    write!(f, "{s}.0")
                }
            }
            Static::Bool(b) => write!(f, "{b}"),
            Static::Duration(ns) => write!(f, "{}", go_duration_string(*ns)),
            Static::Status(s) => write!(f, "{}", s.as_str()),
            Static::Kind(k) => write!(f, "{}", k.as_str()),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Intrinsic(i) => write!(f, "{}", i.as_str()),
            Field::Attribute { scope, name } => {
                let prefix = match scope {
                    Scope::Unscoped => ".",
                    Scope::Span => "span.",
                    Scope::Resource => "resource.",
                };
                if name
                    .chars()
                    .any(|c| !crate::lexer::is_attribute_char(c) || c == '"')
                {
                    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
                    write!(f, "{prefix}\"{escaped}\"")
                } else {
                    write!(f, "{prefix}{name}")
                }
            }
        }
    }
}

fn wrap(e: &Expr) -> String {
    match e {
        Expr::Static(_) | Expr::Field(_) => e.to_string(),
        _ => format!("({e})"),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Static(s) => write!(f, "{s}"),
            Expr::Field(a) => write!(f, "{a}"),
            Expr::Binary(op, l, r) => write!(f, "{} {} {}", wrap(l), op.as_str(), wrap(r)),
            Expr::Regex {
                lhs,
                pattern,
                negated,
                ..
            } => write!(
                f,
                "{} {} `{pattern}`",
                wrap(lhs),
                if *negated { "!~" } else { "=~" }
            ),
            Expr::Not(e) => write!(f, "!{}", wrap(e)),
            Expr::Neg(e) => write!(f, "-{}", wrap(e)),
            Expr::Exists(e, true) => write!(f, "{} != nil", wrap(e)),
            Expr::Exists(e, false) => write!(f, "{} = nil", wrap(e)),
            Expr::AsString { fields, text, .. } => {
                let names: Vec<String> = fields.iter().map(|x| x.to_string()).collect();
                write!(f, "asString({}) = `{text}`", names.join(" | "))
            }
        }
    }
}

impl fmt::Display for SpansetExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(Expr::Static(Static::Bool(true))) => write!(f, "{{ true }}"),
            SpansetExpr::Filter(e) => write!(f, "{{ {e} }}"),
            SpansetExpr::And(l, r) => write!(f, "({l}) && ({r})"),
            SpansetExpr::Or(l, r) => write!(f, "({l}) || ({r})"),
            SpansetExpr::Rel(rel, l, r) => write!(f, "({l}) {} ({r})", rel.symbol()),
            SpansetExpr::Pipe(inner, stages) => {
                write!(f, "({inner}")?;
                for st in stages {
                    write!(f, " | {st}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// Go's `time.Duration.String` (`1h30m0s`, `1.5s`, `100ms`, `0s`).
pub(crate) fn go_duration_string(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", frac(u, div));
    }
    let h = u / 3_600_000_000_000;
    let rem = u % 3_600_000_000_000;
    let m = rem / 60_000_000_000;
    let s_ns = rem % 60_000_000_000;
    let secs = frac(s_ns, 1_000_000_000);
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{sign}{m}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}
