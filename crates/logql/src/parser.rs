//! The LogQL syntax tree and a recursive-descent parser over the lexer's tokens, following
//! Loki's grammar (pkg/logql/syntax/expr.y) and its validations (ast.go).

use regex::Regex;

use crate::lexer::{Tok, Token, error_at, lex};
use crate::template::Template;
use crate::{Error, LineFilter, LineFilterOp, MatchOp, Matcher};

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Log(LogExpr),
    Sample(SampleExpr),
}

#[derive(Debug, Clone)]
pub(crate) struct LogExpr {
    pub matchers: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub(crate) enum JsonPathPart {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// Literal text before the first capture.
    pub prefix: String,
    /// Each capture (None for `<_>`) and the literal that follows it (may be empty: last).
    pub parts: Vec<(Option<String>, String)>,
}

#[derive(Debug, Clone)]
pub(crate) enum LabelFmt {
    Rename(String),
    Template(Template),
}

#[derive(Debug, Clone)]
pub(crate) struct NameMatch {
    pub name: String,
    pub matcher: Option<Matcher>,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Line(LineFilter),
    Json(Vec<(String, Vec<JsonPathPart>)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        params: Vec<(String, String)>,
    },
    Regexp(Regex),
    Pattern(Pattern),
    Filter(LabelFilter),
    LineFormat(Template),
    LabelFormat(Vec<(String, LabelFmt)>),
    Drop(Vec<NameMatch>),
    Keep(Vec<NameMatch>),
    Decolorize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn cmp<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    Str(Matcher),
    Num(String, CmpOp, f64),
    Dur(String, CmpOp, i64),
    Bytes(String, CmpOp, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conv {
    Float,
    Duration,
    Bytes,
}

#[derive(Debug, Clone)]
pub(crate) struct Unwrap {
    pub name: String,
    pub conv: Conv,
    pub post: Vec<LabelFilter>,
}

#[derive(Debug, Clone)]
pub(crate) struct LogRange {
    pub log: LogExpr,
    pub range_ns: i64,
    pub offset_ns: i64,
    pub unwrap: Option<Unwrap>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOp {
    Count,
    Rate,
    Bytes,
    BytesRate,
    Absent,
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    Stdvar,
    Quantile,
    First,
    Last,
}

impl RangeOp {
    fn from_name(s: &str) -> Option<RangeOp> {
        Some(match s {
            "count_over_time" => RangeOp::Count,
            "rate" => RangeOp::Rate,
            "bytes_over_time" => RangeOp::Bytes,
            "bytes_rate" => RangeOp::BytesRate,
            "absent_over_time" => RangeOp::Absent,
            "sum_over_time" => RangeOp::Sum,
            "avg_over_time" => RangeOp::Avg,
            "min_over_time" => RangeOp::Min,
            "max_over_time" => RangeOp::Max,
            "stddev_over_time" => RangeOp::Stddev,
            "stdvar_over_time" => RangeOp::Stdvar,
            "quantile_over_time" => RangeOp::Quantile,
            "first_over_time" => RangeOp::First,
            "last_over_time" => RangeOp::Last,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
}

impl AggOp {
    fn from_name(s: &str) -> Option<AggOp> {
        Some(match s {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "count" => AggOp::Count,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "topk" => AggOp::Topk,
            "bottomk" => AggOp::Bottomk,
            "sort" => AggOp::Sort,
            "sort_desc" => AggOp::SortDesc,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Unless,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl BinOp {
    fn prec(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
            BinOp::Pow => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::Or | BinOp::And | BinOp::Unless)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Matching {
    pub on: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum SampleExpr {
    Range {
        op: RangeOp,
        param: Option<f64>,
        range: Box<LogRange>,
        grouping: Option<Grouping>,
    },
    Agg {
        op: AggOp,
        param: Option<f64>,
        inner: Box<SampleExpr>,
        grouping: Option<Grouping>,
    },
    Binary {
        op: BinOp,
        return_bool: bool,
        matching: Option<Matching>,
        lhs: Box<SampleExpr>,
        rhs: Box<SampleExpr>,
    },
    Literal(f64),
    Vector(f64),
    LabelReplace {
        inner: Box<SampleExpr>,
        dst: String,
        replacement: String,
        src: String,
        re: Regex,
    },
}

/// Nesting bound: a fuzzer's `((((...` must not overflow the stack.
const MAX_DEPTH: usize = 64;

pub(crate) fn parse(src: &str) -> Result<Expr, Error> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.expr(0)?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected());
    }
    let e = match e {
        Ex::Log(l) => Expr::Log(l),
        Ex::Sample(s) => Expr::Sample(s),
    };
    Ok(e)
}

/// Parses a stream selector alone (`/labels?query=`, `/series?match[]=`): `{...}` with no
/// pipeline. Loki's empty-matcher rule applies.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, Error> {
    let toks = lex(s)?;
    let mut p = Parser {
        src: s,
        toks,
        i: 0,
        depth: 0,
    };
    let m = p.selector()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(m)
}

enum Ex {
    Log(LogExpr),
    Sample(SampleExpr),
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

fn is_ident(t: &Tok, s: &str) -> bool {
    matches!(t, Tok::Ident(x) if x == s)
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.i + n).min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].pos
    }

    /// Advances even past the end (peek stays on Eof) so that a caller may step back.
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    fn err(&self, msg: &str) -> Error {
        error_at(self.src, self.pos(), msg)
    }

    fn unexpected(&self) -> Error {
        self.err(&format!(
            "syntax error: unexpected {}",
            self.peek().describe()
        ))
    }

    fn expecting(&self, what: &str) -> Error {
        self.err(&format!(
            "syntax error: unexpected {}, expecting {what}",
            self.peek().describe()
        ))
    }

    fn expect(&mut self, t: Tok) -> Result<(), Error> {
        if *self.peek() == t {
            self.next();
            Ok(())
        } else {
            let what = match &t {
                Tok::Str(_) => "STRING".to_string(),
                other => other.describe(),
            };
            Err(self.expecting(&what))
        }
    }

    fn ident(&mut self) -> Result<String, Error> {
        match self.peek() {
            Tok::Ident(s) => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            _ => Err(self.expecting("IDENTIFIER")),
        }
    }

    fn string(&mut self) -> Result<String, Error> {
        match self.peek() {
            Tok::Str(s) => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            _ => Err(self.expecting("STRING")),
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("syntax error: expression nested too deeply"));
        }
        Ok(())
    }

    // ---- metric expressions ----

    fn binop(&self) -> Option<BinOp> {
        Some(match self.peek() {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::CmpEq => BinOp::Eq,
            Tok::Neq => BinOp::Ne,
            Tok::Gt => BinOp::Gt,
            Tok::Gte => BinOp::Ge,
            Tok::Lt => BinOp::Lt,
            Tok::Lte => BinOp::Le,
            Tok::Ident(s) if s == "or" => BinOp::Or,
            Tok::Ident(s) if s == "and" => BinOp::And,
            Tok::Ident(s) if s == "unless" => BinOp::Unless,
            _ => return None,
        })
    }

    fn expr(&mut self, min_prec: u8) -> Result<Ex, Error> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some(op) = self.binop() {
            let prec = op.prec();
            if prec < min_prec {
                break;
            }
            let op_pos = self.pos();
            self.next();
            let mut return_bool = false;
            if is_ident(self.peek(), "bool") {
                if !op.is_comparison() {
                    return Err(self.err("bool modifier can only be used on comparison operators"));
                }
                self.next();
                return_bool = true;
            }
            let mut matching = None;
            if is_ident(self.peek(), "on") || is_ident(self.peek(), "ignoring") {
                let on = is_ident(&self.next(), "on");
                matching = Some(Matching {
                    on,
                    labels: self.label_list()?,
                });
                if is_ident(self.peek(), "group_left") || is_ident(self.peek(), "group_right") {
                    return Err(
                        self.err("group_left/group_right (many-to-one matching) is not supported")
                    );
                }
            }
            // ^ is right-associative; the others left.
            let next_min = if op == BinOp::Pow { prec } else { prec + 1 };
            let rhs = self.expr(next_min)?;
            let (Ex::Sample(l), Ex::Sample(r)) = (lhs, rhs) else {
                return Err(error_at(
                    self.src,
                    op_pos,
                    "unexpected type for binary operation: log queries cannot be operands",
                ));
            };
            lhs = Ex::Sample(fold(op, return_bool, matching, l, r, self.src, op_pos)?);
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Ex, Error> {
        match self.peek() {
            Tok::Sub | Tok::Add => {
                let neg = self.next() == Tok::Sub;
                self.enter()?;
                // Unary minus binds tighter than any binary operator except ^ (as in
                // Prometheus: -2^2 = -4).
                let e = self.expr(BinOp::Pow.prec())?;
                self.depth -= 1;
                let Ex::Sample(s) = e else {
                    return Err(self.err("unexpected type for unary operation: log query"));
                };
                if !neg {
                    return Ok(Ex::Sample(s));
                }
                Ok(Ex::Sample(match s {
                    SampleExpr::Literal(v) => SampleExpr::Literal(-v),
                    other => SampleExpr::Binary {
                        op: BinOp::Mul,
                        return_bool: false,
                        matching: None,
                        lhs: Box::new(other),
                        rhs: Box::new(SampleExpr::Literal(-1.0)),
                    },
                }))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Ex, Error> {
        match self.peek().clone() {
            Tok::LParen => {
                self.next();
                let e = self.expr(0)?;
                self.expect(Tok::RParen)?;
                if *self.peek() == Tok::LBrack {
                    return Err(self.err(
                        "subqueries and ranges over parenthesized expressions are not supported",
                    ));
                }
                Ok(e)
            }
            Tok::Num(v) => {
                self.next();
                Ok(Ex::Sample(SampleExpr::Literal(v)))
            }
            Tok::LBrace => Ok(Ex::Log(self.log_expr()?)),
            Tok::Ident(name) => {
                if name == "vector" {
                    self.next();
                    self.expect(Tok::LParen)?;
                    let v = self.number()?;
                    self.expect(Tok::RParen)?;
                    return Ok(Ex::Sample(SampleExpr::Vector(v)));
                }
                if let Some(op) = RangeOp::from_name(&name) {
                    return Ok(Ex::Sample(self.range_agg(op)?));
                }
                if let Some(op) = AggOp::from_name(&name) {
                    return Ok(Ex::Sample(self.vector_agg(op)?));
                }
                if name == "label_replace" {
                    return Ok(Ex::Sample(self.label_replace()?));
                }
                match name.as_str() {
                    "rate_counter" | "approx_topk" | "absent" => Err(self.err(&format!(
                        "{name} is not supported by this LogQL implementation"
                    ))),
                    _ => Err(self.unexpected()),
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `label_replace(v, "dst", "replacement", "src", "regex")`, Prometheus' semantics.
    fn label_replace(&mut self) -> Result<SampleExpr, Error> {
        self.next();
        self.expect(Tok::LParen)?;
        let inner = match self.expr(0)? {
            Ex::Sample(s) => s,
            Ex::Log(_) => {
                return Err(self.err("label_replace needs a metric query, not a log query"));
            }
        };
        let mut args = Vec::with_capacity(4);
        for _ in 0..4 {
            self.expect(Tok::Comma)?;
            args.push((self.pos(), self.string()?));
        }
        self.expect(Tok::RParen)?;
        let (dst_pos, dst) = &args[0];
        let valid = |n: &str| {
            !n.is_empty()
                && n.bytes().enumerate().all(|(i, c)| {
                    c == b'_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                })
        };
        if !valid(dst) {
            return Err(error_at(
                self.src,
                *dst_pos,
                &format!("invalid destination label name in label_replace(): {dst}"),
            ));
        }
        let (re_pos, re) = &args[3];
        let re = goregex::compile(&format!("^(?s:{re})$")).map_err(|e| {
            error_at(
                self.src,
                *re_pos,
                &format!("invalid regular expression in label_replace(): {e}"),
            )
        })?;
        Ok(SampleExpr::LabelReplace {
            inner: Box::new(inner),
            dst: dst.clone(),
            replacement: args[1].1.clone(),
            src: args[2].1.clone(),
            re,
        })
    }

    fn number(&mut self) -> Result<f64, Error> {
        let neg = if *self.peek() == Tok::Sub {
            self.next();
            true
        } else {
            false
        };
        match self.peek() {
            Tok::Num(v) => {
                let v = *v;
                self.next();
                Ok(if neg { -v } else { v })
            }
            _ => Err(self.expecting("NUMBER")),
        }
    }

    fn label_list(&mut self) -> Result<Vec<String>, Error> {
        self.expect(Tok::LParen)?;
        let mut out = Vec::new();
        while *self.peek() != Tok::RParen {
            out.push(self.ident()?);
            if *self.peek() == Tok::Comma {
                self.next();
            } else if *self.peek() != Tok::RParen {
                return Err(self.expecting(")"));
            }
        }
        self.next();
        Ok(out)
    }

    fn grouping(&mut self) -> Result<Option<Grouping>, Error> {
        let without = match self.peek() {
            Tok::Ident(s) if s == "by" => false,
            Tok::Ident(s) if s == "without" => true,
            _ => return Ok(None),
        };
        self.next();
        Ok(Some(Grouping {
            without,
            labels: self.label_list()?,
        }))
    }

    fn range_agg(&mut self, op: RangeOp) -> Result<SampleExpr, Error> {
        let name_pos = self.pos();
        let name = match self.next() {
            Tok::Ident(s) => s,
            _ => unreachable!("range_agg is called on an identifier"),
        };
        self.expect(Tok::LParen)?;
        let mut param = None;
        if op == RangeOp::Quantile {
            param = Some(self.number()?);
            self.expect(Tok::Comma)?;
        }
        if *self.peek() != Tok::LBrace {
            return Err(self.expecting("{"));
        }
        let range = self.log_range()?;
        self.expect(Tok::RParen)?;
        let grouping = self.grouping()?;
        let e = |m: String| error_at(self.src, name_pos, &m);
        if range.unwrap.is_some() {
            if matches!(
                op,
                RangeOp::Count | RangeOp::Bytes | RangeOp::BytesRate | RangeOp::Absent
            ) {
                return Err(e(format!("invalid aggregation {name} with unwrap")));
            }
        } else {
            if !matches!(
                op,
                RangeOp::Count
                    | RangeOp::Bytes
                    | RangeOp::BytesRate
                    | RangeOp::Absent
                    | RangeOp::Rate
            ) {
                return Err(e(format!("invalid aggregation {name} without unwrap")));
            }
            if grouping.is_some() {
                return Err(e(format!("grouping not allowed for {name} aggregation")));
            }
        }
        Ok(SampleExpr::Range {
            op,
            param,
            range: Box::new(range),
            grouping,
        })
    }

    fn log_range(&mut self) -> Result<LogRange, Error> {
        let mut log = self.log_expr_until_range()?;
        let (mut unwrap, stages) = self.pipeline(true)?;
        log.stages.extend(stages);
        if *self.peek() != Tok::LBrack {
            return Err(self.expecting("["));
        }
        self.next();
        let range_ns = match self.next() {
            Tok::Dur(d) if d > 0 => d,
            Tok::Dur(_) => return Err(self.err("range must be positive")),
            _ => {
                self.i -= 1;
                return Err(self.expecting("DURATION"));
            }
        };
        self.expect(Tok::RBrack)?;
        let mut offset_ns = 0;
        if is_ident(self.peek(), "offset") {
            self.next();
            let neg = if *self.peek() == Tok::Sub {
                self.next();
                true
            } else {
                false
            };
            match self.next() {
                Tok::Dur(d) => offset_ns = if neg { -d } else { d },
                _ => {
                    self.i -= 1;
                    return Err(self.expecting("DURATION"));
                }
            }
        }
        // Loki also accepts the pipeline after the range: `{a="b"}[5m] | json`.
        if matches!(
            self.peek(),
            Tok::Pipe | Tok::PipeExact | Tok::PipeMatch | Tok::Neq | Tok::Nre
        ) {
            if unwrap.is_some() || !log.stages.is_empty() {
                return Err(self.unexpected());
            }
            let (u, stages) = self.pipeline(true)?;
            log.stages.extend(stages);
            unwrap = u;
        }
        Ok(LogRange {
            log,
            range_ns,
            offset_ns,
            unwrap,
        })
    }

    fn vector_agg(&mut self, op: AggOp) -> Result<SampleExpr, Error> {
        self.next();
        let mut grouping = self.grouping()?;
        self.expect(Tok::LParen)?;
        let mut param = None;
        if matches!(op, AggOp::Topk | AggOp::Bottomk) {
            let v = self.number()?;
            if v < 1.0 || v.fract() != 0.0 {
                return Err(self.err(&format!(
                    "syntax error: invalid parameter for {}: must be a positive integer",
                    if op == AggOp::Topk { "topk" } else { "bottomk" }
                )));
            }
            param = Some(v);
            self.expect(Tok::Comma)?;
        }
        let inner = match self.expr(0)? {
            Ex::Sample(s) => s,
            Ex::Log(_) => {
                return Err(self.err(
                    "syntax error: unexpected log query as vector aggregation parameter, expecting a metric query",
                ));
            }
        };
        self.expect(Tok::RParen)?;
        if let Some(g) = self.grouping()? {
            if grouping.is_some() {
                return Err(self.unexpected());
            }
            grouping = Some(g);
        }
        if matches!(op, AggOp::Sort | AggOp::SortDesc) && grouping.is_some() {
            return Err(self.err("sort and sort_desc do not accept grouping"));
        }
        Ok(SampleExpr::Agg {
            op,
            param,
            inner: Box::new(inner),
            grouping,
        })
    }

    // ---- log expressions ----

    fn selector(&mut self) -> Result<Vec<Matcher>, Error> {
        let start = self.pos();
        self.expect(Tok::LBrace)?;
        let mut out = Vec::new();
        loop {
            let name = self.ident()?;
            let op = match self.next() {
                Tok::Eq => MatchOp::Equal,
                Tok::Neq => MatchOp::NotEqual,
                Tok::Re => MatchOp::Re,
                Tok::Nre => MatchOp::NotRe,
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected());
                }
            };
            let vpos = self.pos();
            let value = self.string()?;
            out.push(Matcher::new(&name, op, &value).map_err(|e| error_at(self.src, vpos, &e))?);
            match self.next() {
                Tok::Comma => continue,
                Tok::RBrace => break,
                _ => {
                    self.i -= 1;
                    return Err(self.unexpected());
                }
            }
        }
        if out.iter().all(|m| m.matches("")) {
            let _ = start;
            return Err(Error::Parse(
                "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".into(),
            ));
        }
        Ok(out)
    }

    fn log_expr(&mut self) -> Result<LogExpr, Error> {
        let matchers = self.selector()?;
        let (unwrap, stages) = self.pipeline(false)?;
        debug_assert!(unwrap.is_none());
        Ok(LogExpr { matchers, stages })
    }

    fn log_expr_until_range(&mut self) -> Result<LogExpr, Error> {
        Ok(LogExpr {
            matchers: self.selector()?,
            stages: Vec::new(),
        })
    }

    /// Pipeline stages; with `allow_unwrap` an `| unwrap` ends the stages (only label filters
    /// may follow it, as post-filters).
    fn pipeline(&mut self, allow_unwrap: bool) -> Result<(Option<Unwrap>, Vec<Stage>), Error> {
        let mut stages = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::PipeExact => LineFilterOp::Contains,
                Tok::Neq => LineFilterOp::NotContains,
                Tok::PipeMatch => LineFilterOp::Regex,
                Tok::Nre => LineFilterOp::NotRegex,
                Tok::PipePattern | Tok::NotPattern => {
                    return Err(self.err("pattern line filters (|> and !>) are not supported"));
                }
                Tok::Pipe => {
                    self.next();
                    if is_ident(self.peek(), "unwrap") {
                        if !allow_unwrap {
                            return Err(self.err(
                                "syntax error: unexpected unwrap: unwrap is only allowed in range aggregations",
                            ));
                        }
                        let u = self.unwrap()?;
                        return Ok((Some(u), stages));
                    }
                    stages.push(self.stage()?);
                    continue;
                }
                _ => return Ok((None, stages)),
            };
            self.next();
            let mut values = Vec::new();
            loop {
                if is_ident(self.peek(), "ip") {
                    return Err(self.err("ip() line filters are not supported"));
                }
                let vpos = self.pos();
                values.push((vpos, self.string()?));
                if is_ident(self.peek(), "or") && matches!(self.peek_at(1), Tok::Str(_)) {
                    self.next();
                    continue;
                }
                break;
            }
            let pos = values[0].0;
            let f = LineFilter::new(op, values.into_iter().map(|(_, v)| v).collect())
                .map_err(|e| error_at(self.src, pos, &e))?;
            stages.push(Stage::Line(f));
        }
    }

    fn unwrap(&mut self) -> Result<Unwrap, Error> {
        self.next(); // unwrap
        let conv = match (self.peek(), self.peek_at(1)) {
            (Tok::Ident(s), Tok::LParen) => {
                let c = match s.as_str() {
                    "duration" | "duration_seconds" => Conv::Duration,
                    "bytes" => Conv::Bytes,
                    other => {
                        return Err(self.err(&format!("unsupported conversion operation {other}")));
                    }
                };
                self.next();
                self.next();
                Some(c)
            }
            _ => None,
        };
        let name = self.ident()?;
        if conv.is_some() {
            self.expect(Tok::RParen)?;
        }
        let mut post = Vec::new();
        while *self.peek() == Tok::Pipe {
            self.next();
            post.push(self.label_filter_or()?);
        }
        Ok(Unwrap {
            name,
            conv: conv.unwrap_or(Conv::Float),
            post,
        })
    }

    fn stage(&mut self) -> Result<Stage, Error> {
        let name = match self.peek() {
            Tok::Ident(s) => s.clone(),
            Tok::LParen => return Ok(Stage::Filter(self.label_filter_or()?)),
            _ => return Err(self.unexpected()),
        };
        // A label filter may use a label called like a stage keyword (`| json="x"`).
        let is_filter = matches!(
            self.peek_at(1),
            Tok::Eq
                | Tok::Neq
                | Tok::Re
                | Tok::Nre
                | Tok::CmpEq
                | Tok::Gt
                | Tok::Gte
                | Tok::Lt
                | Tok::Lte
        );
        if is_filter {
            return Ok(Stage::Filter(self.label_filter_or()?));
        }
        let pos = self.pos();
        match name.as_str() {
            "json" => {
                self.next();
                let mut params = Vec::new();
                if matches!(self.peek(), Tok::Ident(_)) {
                    loop {
                        let label = self.ident()?;
                        let (path_pos, path) = if *self.peek() == Tok::Eq {
                            self.next();
                            (self.pos(), self.string()?)
                        } else {
                            (pos, label.clone())
                        };
                        let parts = parse_json_path(&path).ok_or_else(|| {
                            error_at(self.src, path_pos, &format!("invalid json path {path:?}"))
                        })?;
                        params.push((label, parts));
                        if *self.peek() == Tok::Comma {
                            self.next();
                        } else {
                            break;
                        }
                    }
                }
                Ok(Stage::Json(params))
            }
            "logfmt" => {
                self.next();
                let (mut strict, mut keep_empty) = (false, false);
                while *self.peek() == Tok::Sub && *self.peek_at(1) == Tok::Sub {
                    self.next();
                    self.next();
                    match self.ident()?.as_str() {
                        "strict" => strict = true,
                        "keep"
                            if *self.peek() == Tok::Sub && is_ident(self.peek_at(1), "empty") =>
                        {
                            self.next();
                            self.next();
                            keep_empty = true;
                        }
                        _ => return Err(self.err(
                            "syntax error: invalid logfmt flag, expecting --strict or --keep-empty",
                        )),
                    }
                }
                let mut params = Vec::new();
                if matches!(self.peek(), Tok::Ident(_)) {
                    loop {
                        let label = self.ident()?;
                        let key = if *self.peek() == Tok::Eq {
                            self.next();
                            self.string()?
                        } else {
                            label.clone()
                        };
                        params.push((label, key));
                        if *self.peek() == Tok::Comma {
                            self.next();
                        } else {
                            break;
                        }
                    }
                }
                Ok(Stage::Logfmt {
                    strict,
                    keep_empty,
                    params,
                })
            }
            "regexp" => {
                self.next();
                let rpos = self.pos();
                let re = self.string()?;
                let re = goregex::compile(&re).map_err(|e| error_at(self.src, rpos, &e))?;
                if re.capture_names().flatten().next().is_none() {
                    return Err(error_at(
                        self.src,
                        rpos,
                        "at least one named capture must be supplied",
                    ));
                }
                Ok(Stage::Regexp(re))
            }
            "pattern" => {
                self.next();
                let ppos = self.pos();
                let p = self.string()?;
                Ok(Stage::Pattern(
                    parse_pattern(&p).map_err(|e| error_at(self.src, ppos, &e))?,
                ))
            }
            "line_format" => {
                self.next();
                let tpos = self.pos();
                let t = self.string()?;
                Ok(Stage::LineFormat(
                    Template::parse(&t).map_err(|e| error_at(self.src, tpos, &e))?,
                ))
            }
            "label_format" => {
                self.next();
                let mut out: Vec<(String, LabelFmt)> = Vec::new();
                loop {
                    let dst = self.ident()?;
                    self.expect(Tok::Eq)?;
                    let vpos = self.pos();
                    let f = match self.next() {
                        Tok::Ident(src) => LabelFmt::Rename(src),
                        Tok::Str(t) => LabelFmt::Template(
                            Template::parse(&t).map_err(|e| error_at(self.src, vpos, &e))?,
                        ),
                        _ => {
                            self.i -= 1;
                            return Err(self.expecting("STRING or IDENTIFIER"));
                        }
                    };
                    if dst == crate::pipeline::ERROR_LABEL {
                        return Err(error_at(self.src, pos, "__error__ cannot be formatted"));
                    }
                    if out.iter().any(|(d, _)| *d == dst) {
                        return Err(error_at(
                            self.src,
                            pos,
                            &format!(
                                "multiple label name '{dst}' not allowed in a single format operation"
                            ),
                        ));
                    }
                    out.push((dst, f));
                    if *self.peek() == Tok::Comma {
                        self.next();
                    } else {
                        break;
                    }
                }
                Ok(Stage::LabelFormat(out))
            }
            "drop" | "keep" => {
                self.next();
                let mut out = Vec::new();
                loop {
                    let n = self.ident()?;
                    let matcher = match self.peek() {
                        Tok::Eq | Tok::Neq | Tok::Re | Tok::Nre => {
                            let op = match self.next() {
                                Tok::Eq => MatchOp::Equal,
                                Tok::Neq => MatchOp::NotEqual,
                                Tok::Re => MatchOp::Re,
                                _ => MatchOp::NotRe,
                            };
                            let vpos = self.pos();
                            let v = self.string()?;
                            Some(
                                Matcher::new(&n, op, &v)
                                    .map_err(|e| error_at(self.src, vpos, &e))?,
                            )
                        }
                        _ => None,
                    };
                    out.push(NameMatch { name: n, matcher });
                    if *self.peek() == Tok::Comma {
                        self.next();
                    } else {
                        break;
                    }
                }
                Ok(if name == "drop" {
                    Stage::Drop(out)
                } else {
                    Stage::Keep(out)
                })
            }
            "decolorize" => {
                self.next();
                Ok(Stage::Decolorize)
            }
            "unpack" | "distinct" => Err(self.err(&format!(
                "| {name} is not supported by this LogQL implementation"
            ))),
            _ => Ok(Stage::Filter(self.label_filter_or()?)),
        }
    }

    fn label_filter_or(&mut self) -> Result<LabelFilter, Error> {
        self.enter()?;
        let mut l = self.label_filter_and()?;
        while is_ident(self.peek(), "or") {
            self.next();
            let r = self.label_filter_and()?;
            l = LabelFilter::Or(Box::new(l), Box::new(r));
        }
        self.depth -= 1;
        Ok(l)
    }

    fn label_filter_and(&mut self) -> Result<LabelFilter, Error> {
        let mut l = self.label_filter_primary()?;
        loop {
            let juxtaposed = matches!(self.peek(), Tok::Ident(s) if s != "or" && s != "and")
                && matches!(
                    self.peek_at(1),
                    Tok::Eq
                        | Tok::Neq
                        | Tok::Re
                        | Tok::Nre
                        | Tok::CmpEq
                        | Tok::Gt
                        | Tok::Gte
                        | Tok::Lt
                        | Tok::Lte
                );
            if is_ident(self.peek(), "and") || *self.peek() == Tok::Comma {
                self.next();
            } else if !juxtaposed && *self.peek() != Tok::LParen {
                break;
            }
            let r = self.label_filter_primary()?;
            l = LabelFilter::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn label_filter_primary(&mut self) -> Result<LabelFilter, Error> {
        if *self.peek() == Tok::LParen {
            self.next();
            let f = self.label_filter_or()?;
            self.expect(Tok::RParen)?;
            return Ok(f);
        }
        let name = self.ident()?;
        let op_tok = self.next();
        let vpos = self.pos();
        let str_op = match op_tok {
            Tok::Eq => Some(MatchOp::Equal),
            Tok::Neq => Some(MatchOp::NotEqual),
            Tok::Re => Some(MatchOp::Re),
            Tok::Nre => Some(MatchOp::NotRe),
            Tok::CmpEq | Tok::Gt | Tok::Gte | Tok::Lt | Tok::Lte => None,
            _ => {
                self.i -= 1;
                return Err(self.unexpected());
            }
        };
        let cmp = match op_tok {
            Tok::Eq | Tok::CmpEq => CmpOp::Eq,
            Tok::Neq => CmpOp::Ne,
            Tok::Gt => CmpOp::Gt,
            Tok::Gte => CmpOp::Ge,
            Tok::Lt => CmpOp::Lt,
            _ => CmpOp::Le,
        };
        let neg = if *self.peek() == Tok::Sub {
            self.next();
            true
        } else {
            false
        };
        match self.next() {
            Tok::Str(v) if !neg => {
                let op = match (str_op, cmp) {
                    (Some(op), _) => op,
                    (None, CmpOp::Eq) => MatchOp::Equal,
                    _ => {
                        return Err(error_at(
                            self.src,
                            vpos,
                            "syntax error: unexpected STRING, expecting NUMBER or DURATION or BYTES",
                        ));
                    }
                };
                Ok(LabelFilter::Str(
                    Matcher::new(&name, op, &v).map_err(|e| error_at(self.src, vpos, &e))?,
                ))
            }
            Tok::Num(v) if !matches!(str_op, Some(MatchOp::Re | MatchOp::NotRe)) => {
                Ok(LabelFilter::Num(name, cmp, if neg { -v } else { v }))
            }
            Tok::Dur(d) if !matches!(str_op, Some(MatchOp::Re | MatchOp::NotRe)) => {
                Ok(LabelFilter::Dur(name, cmp, if neg { -d } else { d }))
            }
            Tok::Bytes(b) if !neg && !matches!(str_op, Some(MatchOp::Re | MatchOp::NotRe)) => {
                Ok(LabelFilter::Bytes(name, cmp, b))
            }
            Tok::Ident(s) if s == "ip" => Err(error_at(
                self.src,
                vpos,
                "ip() label filters are not supported",
            )),
            _ => {
                self.i -= 1;
                Err(self.unexpected())
            }
        }
    }
}

/// Loki folds arithmetic between number literals at parse time (`1+1` is the scalar 2).
fn fold(
    op: BinOp,
    return_bool: bool,
    matching: Option<Matching>,
    l: SampleExpr,
    r: SampleExpr,
    src: &str,
    pos: usize,
) -> Result<SampleExpr, Error> {
    if let (SampleExpr::Literal(a), SampleExpr::Literal(b)) = (&l, &r) {
        if op.is_set() {
            return Err(error_at(
                src,
                pos,
                "unexpected literal for binary operation: set operators need vectors on both sides",
            ));
        }
        if op.is_comparison() && !return_bool {
            return Err(error_at(
                src,
                pos,
                "comparisons between scalars must use BOOL modifier",
            ));
        }
        return Ok(SampleExpr::Literal(
            crate::eval::arith(op, *a, *b).unwrap_or(0.0),
        ));
    }
    if op.is_set() && (matches!(l, SampleExpr::Literal(_)) || matches!(r, SampleExpr::Literal(_))) {
        return Err(error_at(
            src,
            pos,
            "unexpected literal for binary operation: set operators need vectors on both sides",
        ));
    }
    Ok(SampleExpr::Binary {
        op,
        return_bool,
        matching,
        lhs: Box::new(l),
        rhs: Box::new(r),
    })
}

/// `a.b[0]["c.d"]` into its parts.
fn parse_json_path(p: &str) -> Option<Vec<JsonPathPart>> {
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut expect_key = true;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                expect_key = true;
            }
            b'[' => {
                let end = i + p[i..].find(']')?;
                let inner = p[i + 1..end].trim();
                if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    out.push(JsonPathPart::Key(q.to_string()));
                } else {
                    out.push(JsonPathPart::Index(inner.parse().ok()?));
                }
                i = end + 1;
                expect_key = false;
            }
            _ => {
                if !expect_key {
                    return None;
                }
                let end = p[i..].find(['.', '[']).map_or(b.len(), |n| i + n);
                out.push(JsonPathPart::Key(p[i..end].to_string()));
                i = end;
                expect_key = false;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Loki's pattern expressions: literals and `<name>` captures (`<_>` captures nothing).
fn parse_pattern(p: &str) -> Result<Pattern, String> {
    let mut prefix = String::new();
    let mut parts: Vec<(Option<String>, String)> = Vec::new();
    let mut rest = p;
    let mut named = 0;
    while !rest.is_empty() {
        let cap = rest.strip_prefix('<').and_then(|r| {
            let end = r.find('>')?;
            let name = &r[..end];
            let valid = !name.is_empty()
                && name.bytes().enumerate().all(|(i, c)| {
                    c == b'_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                });
            valid.then(|| (name, &r[end + 1..]))
        });
        if let Some((name, after)) = cap {
            if parts.last().is_some_and(|(_, lit)| lit.is_empty()) {
                return Err("found consecutive capture: invalid expression".into());
            }
            if name != "_" {
                if parts.iter().any(|(n, _)| n.as_deref() == Some(name)) {
                    return Err(format!(
                        "duplicate capture name ({name}): invalid expression"
                    ));
                }
                named += 1;
            }
            parts.push(((name != "_").then(|| name.to_string()), String::new()));
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            match parts.last_mut() {
                Some((_, lit)) => lit.push(c),
                None => prefix.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    if named == 0 {
        return Err("at least one capture is required: invalid expression".into());
    }
    Ok(Pattern { prefix, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(q: &str) -> Expr {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    #[test]
    fn valid_queries_parse() {
        let valid = [
            r#"{app="a"}"#,
            r#"{app="a", env!="dev", c=~"x.+", d!~"y"}"#,
            r#"{app="a"} |= "x" != "y" |~ "z+" !~ "w""#,
            r#"{app="a"} |= "x" or "y""#,
            r#"{app="a"} | json"#,
            r#"{app="a"} | json first="name", ua="request.headers[\"User-Agent\"]", x="a[0]""#,
            r#"{app="a"} | logfmt"#,
            r#"{app="a"} | logfmt --strict --keep-empty host, lvl="level""#,
            r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
            r#"{app="a"} | pattern "<_> - <status> <_>""#,
            r#"{app="a"} | json | status >= 500"#,
            r#"{app="a"} | logfmt | duration > 10ms and size < 1KB"#,
            r#"{app="a"} | logfmt | level="error" or level="warn", status != 200"#,
            r#"{app="a"} | logfmt | (level="error" or level="warn") status=~"5..""#,
            r#"{app="a"} | json | __error__="""#,
            r#"{app="a"} | line_format "{{.msg}} {{.level | ToUpper}}""#,
            r#"{app="a"} | label_format a="{{.b}}", c=d"#,
            r#"{app="a"} | drop a, b="x" | keep c, d"#,
            r#"{app="a"} # a comment"#,
            r#"count_over_time({app="a"}[5m])"#,
            r#"count_over_time({app="a"} |= "x" [5m] offset 1h)"#,
            r#"count_over_time({app="a"}[5m] | json)"#,
            r#"rate({app="a"} | json [1m])"#,
            r#"bytes_rate({app="a"}[1m])"#,
            r#"sum by (level) (count_over_time({app="a"} | json [1m]))"#,
            r#"sum(count_over_time({app="a"}[1m])) without (pod)"#,
            r#"topk(3, sum by (app) (rate({app="a"}[1m])))"#,
            r#"quantile_over_time(0.95, {app="a"} | json | unwrap duration(latency) | __error__="" [5m]) by (path)"#,
            r#"sum_over_time({app="a"} | logfmt | unwrap bytes(size) [1m])"#,
            r#"avg_over_time({app="a"} | logfmt | unwrap latency [1m]) without (pod)"#,
            r#"absent_over_time({app="a"}[1m])"#,
            r#"vector(1)+vector(1)"#,
            r#"1 + 2 * 3"#,
            r#"2 ^ 3 ^ 2"#,
            r#"sum(rate({app="a"}[1m])) / sum(rate({app="b"}[1m]))"#,
            r#"sum by (app) (rate({app="a"}[1m])) > bool 0.5"#,
            r#"rate({app="a"}[1m]) / on (app) rate({app="b"}[1m])"#,
            r#"rate({app="a"}[1m]) or vector(0)"#,
            r#"-count_over_time({app="a"}[1m])"#,
            r#"count_over_time({app="a"} | json | size > 1.5MiB [1m])"#,
            r#"label_replace(rate({app="a"}[1m]), "svc", "$1", "app", "(.*)-.*")"#,
            r#"{app="a"} | decolorize"#,
            "sum by (level) (count_over_time({app=\"t\"} |= `giao` | drop __error__[1m]))",
            r#"sum by (level, detected_level) (count_over_time({app="a"} | drop __error__, __error_details__ [15s]))"#,
            r#"{app="a"} | logfmt | level != "info" | line_format `{{ .msg }}`"#,
        ];
        for q in valid {
            ok(q);
        }
    }

    #[test]
    fn literal_folding() {
        match ok("1 + 2 * 3") {
            Expr::Sample(SampleExpr::Literal(v)) => assert_eq!(v, 7.0),
            e => panic!("{e:?}"),
        }
        match ok("2 ^ 3 ^ 2") {
            Expr::Sample(SampleExpr::Literal(v)) => assert_eq!(v, 512.0),
            e => panic!("{e:?}"),
        }
        match ok("-2 ^ 2") {
            Expr::Sample(SampleExpr::Literal(v)) => assert_eq!(v, -4.0),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn invalid_queries_fail_with_loki_wording() {
        let empty = "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";
        let cases: &[(&str, &str)] = &[
            (r#"{app=~".*"}"#, empty),
            (r#"{app!="x"}"#, empty),
            (r#"{app=""}"#, empty),
            (
                "{}",
                "parse error at line 1, col 2: syntax error: unexpected }, expecting IDENTIFIER",
            ),
            (
                r#"{app="a""#,
                "parse error at line 1, col 9: syntax error: unexpected $end",
            ),
            (
                r#"{app="a"} |= "#,
                "parse error at line 1, col 14: syntax error: unexpected $end, expecting STRING",
            ),
            (
                r#"{app="a"} | foo"#,
                "parse error at line 1, col 16: syntax error: unexpected $end",
            ),
            (
                r#"sum_over_time({app="a"}[1m])"#,
                "parse error at line 1, col 1: invalid aggregation sum_over_time without unwrap",
            ),
            (
                r#"count_over_time({app="a"} | logfmt | unwrap x [1m])"#,
                "parse error at line 1, col 1: invalid aggregation count_over_time with unwrap",
            ),
            (
                r#"count_over_time({app="a"}[1m]) by (x)"#,
                "parse error at line 1, col 1: grouping not allowed for count_over_time aggregation",
            ),
            (
                r#"count_over_time({app="a"})"#,
                "parse error at line 1, col 26: syntax error: unexpected ), expecting [",
            ),
            (
                r#"{app=~"(x"}"#,
                "parse error at line 1, col 7: error parsing regexp: missing closing ): `(x`",
            ),
            (
                r#"{app="a"} | regexp "(\\w+)""#,
                "parse error at line 1, col 20: at least one named capture must be supplied",
            ),
            (
                "1 > 2",
                "parse error at line 1, col 3: comparisons between scalars must use BOOL modifier",
            ),
            (
                r#"{app="a"} | unpack"#,
                "parse error at line 1, col 13: | unpack is not supported by this LogQL implementation",
            ),
            (
                r#"rate({app="a"}[1m]) / on (x) group_left rate({app="b"}[1m])"#,
                "parse error at line 1, col 30: group_left/group_right (many-to-one matching) is not supported",
            ),
            (
                r#"{app="a"} | line_format "{{.a""#,
                "parse error at line 1, col 25: template: line:1: unclosed action",
            ),
            (
                r#"{app="a"} | pattern "<a><b>""#,
                "parse error at line 1, col 21: found consecutive capture: invalid expression",
            ),
            (
                r#"{app="a"} | json | unwrap x"#,
                "parse error at line 1, col 20: syntax error: unexpected unwrap: unwrap is only allowed in range aggregations",
            ),
            (
                "topk(0, vector(1))",
                "parse error at line 1, col 7: syntax error: invalid parameter for topk: must be a positive integer",
            ),
            (
                r#"{app="a"} + 1"#,
                "parse error at line 1, col 11: unexpected type for binary operation: log queries cannot be operands",
            ),
            (
                "\"abc",
                "parse error at line 1, col 1: literal not terminated",
            ),
        ];
        for (q, want) in cases {
            match parse(q) {
                Ok(e) => panic!("{q}: parsed as {e:?}"),
                Err(e) => assert_eq!(e.to_string(), *want, "query {q}"),
            }
        }
    }

    #[test]
    fn kinds_and_default_step() {
        assert_eq!(
            crate::query_kind(r#"{a="b"} |= "x""#),
            Ok(crate::QueryKind::Log)
        );
        assert_eq!(
            crate::query_kind("vector(1)+vector(1)"),
            Ok(crate::QueryKind::Metric)
        );
        assert!(crate::query_kind("{").is_err());
        let s = 1_000_000_000;
        assert_eq!(crate::default_step_ns(0, 3600 * s), 14 * s);
        assert_eq!(crate::default_step_ns(0, 60 * s), s);
    }

    #[test]
    fn selector_api() {
        let m = parse_selector(r#"{service_name="checkout", level=~"error|warn"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[1].matches("warn") && !m[1].matches("warning"));
        assert!(parse_selector(r#"{a="b"} |= "x""#).is_err());
    }

    #[test]
    fn json_paths_and_patterns() {
        let p = parse_json_path(r#"a.b[0]["c.d"]"#).unwrap();
        assert_eq!(p.len(), 4);
        assert!(parse_json_path("a..").is_some());
        assert!(parse_json_path("a[x]").is_none());
        let p = parse_pattern("<ip> - - [<_>] \"<method> <path>").unwrap();
        assert_eq!(p.prefix, "");
        assert_eq!(p.parts.len(), 4);
        assert!(parse_pattern("<_> x").is_err());
    }
}
