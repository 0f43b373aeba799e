//! Recursive descent over Tempo's grammar (`expr.y`), with its precedence: `&&` and `||`
//! share one level (left-associative, so `a || b && c` is `(a || b) && c`, as in Tempo), then
//! comparisons, then `+ -`, then prefix `!`, then `* / %`, then `^` (right-associative).
//! Constructs outside the subset parse far enough to be named in a clear error.

use crate::Error;
use crate::ast::{
    Agg, BinOp, Expr, Field, Intrinsic, Kind, Rel, Scope, SpansetExpr, Stage, Static, Status, Type,
};
use crate::lexer::{Tok, Token, lex};

pub(crate) struct Parsed {
    pub root: SpansetExpr,
    pub stages: Vec<Stage>,
}

/// Deep nesting (`((((...` or `!!!!...`) must not overflow the stack.
const MAX_DEPTH: usize = 200;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

pub(crate) fn parse(src: &str) -> Result<Parsed, Error> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    if matches!(p.peek(), Tok::Eof) {
        return Err(p.syntax_error());
    }
    let mut stages = Vec::new();
    // A pipeline may start with a stage (`select(.a)`, `max(duration) > 1s | {...}`): its
    // input is the whole trace, as `{ } | ...`.
    let root = if p.at_stage_start() {
        stages.push(p.pipeline_stage()?);
        SpansetExpr::Filter(Expr::Static(Static::Bool(true)))
    } else {
        p.refuse_number_start()?;
        p.spanset_expr()?
    };
    while p.eat_sym("|") {
        stages.push(p.pipeline_stage()?);
    }
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.syntax_error());
    }
    validate_spanset(&root)?;
    for st in &stages {
        validate_stage(st)?;
    }
    Ok(Parsed { root, stages })
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "$end".into(),
        Tok::Str(s) => format!("STRING {s:?}"),
        Tok::Int(i) => format!("INTEGER {i}"),
        Tok::Float(f) => format!("FLOAT {f}"),
        Tok::Duration(d) => format!("DURATION {}", crate::ast::go_duration_string(*d)),
        Tok::Ident(s) | Tok::AttrName(s) => format!("IDENTIFIER {s}"),
        Tok::EndAttr => "END_ATTRIBUTE".into(),
        Tok::Sym(s) => (*s).to_string(),
    }
}

fn is_metrics_fn(sym: &str) -> bool {
    matches!(
        sym,
        "rate"
            | "count_over_time"
            | "min_over_time"
            | "max_over_time"
            | "avg_over_time"
            | "sum_over_time"
            | "quantile_over_time"
            | "histogram_over_time"
            | "compare"
            | "topk"
            | "bottomk"
    )
}

fn is_aggregate(sym: &str) -> bool {
    matches!(sym, "count" | "avg" | "max" | "min" | "sum")
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(x) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), Error> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.syntax_error_expecting(s))
        }
    }

    fn here(&self) -> (usize, usize) {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        (t.line, t.col)
    }

    fn syntax_error(&self) -> Error {
        let (l, c) = self.here();
        Error::parse(
            l,
            c,
            format!("syntax error: unexpected {}", describe(self.peek())),
        )
    }

    fn syntax_error_expecting(&self, what: &str) -> Error {
        let (l, c) = self.here();
        Error::parse(
            l,
            c,
            format!(
                "syntax error: unexpected {}, expecting {what}",
                describe(self.peek())
            ),
        )
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (l, c) = self.here();
            return Err(Error::parse(
                l,
                c,
                format!("query nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn at_stage_start(&self) -> bool {
        matches!(self.peek(), Tok::Sym(s) if is_aggregate(s) || is_metrics_fn(s)
            || matches!(*s, "select" | "by"))
    }

    /// Arithmetic on metrics results (`100 * ({} | rate())`) starts with a number.
    fn refuse_number_start(&self) -> Result<(), Error> {
        let mut i = 0;
        while matches!(self.peek_at(i), Tok::Sym("(")) {
            i += 1;
        }
        if matches!(
            self.peek_at(i),
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Sym("-")
        ) {
            return Err(Error::unsupported(
                "arithmetic on TraceQL metrics results is not supported".to_string(),
            ));
        }
        Ok(())
    }

    // ---------- spanset level ----------

    /// `&&` and `||` between spansets, below the structural operators (which share the
    /// comparison level in Tempo's grammar), all left-associative.
    fn spanset_expr(&mut self) -> Result<SpansetExpr, Error> {
        self.enter()?;
        let mut lhs = self.spanset_rel()?;
        loop {
            match self.peek() {
                Tok::Sym("&&") => {
                    self.next();
                    let rhs = self.spanset_rel()?;
                    lhs = SpansetExpr::And(Box::new(lhs), Box::new(rhs));
                }
                Tok::Sym("||") => {
                    self.next();
                    let rhs = self.spanset_rel()?;
                    lhs = SpansetExpr::Or(Box::new(lhs), Box::new(rhs));
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn spanset_rel(&mut self) -> Result<SpansetExpr, Error> {
        let mut lhs = self.spanset_primary()?;
        while let Tok::Sym(s) = self.peek() {
            let Some(rel) = Rel::from_symbol(s) else {
                break;
            };
            self.next();
            let rhs = self.spanset_primary()?;
            lhs = SpansetExpr::Rel(rel, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn spanset_primary(&mut self) -> Result<SpansetExpr, Error> {
        match self.peek() {
            Tok::Sym("{") => {
                self.next();
                if self.eat_sym("}") {
                    return Ok(SpansetExpr::Filter(Expr::Static(Static::Bool(true))));
                }
                let e = self.field_expr(0)?;
                self.expect_sym("}")?;
                Ok(SpansetExpr::Filter(e))
            }
            Tok::Sym("(") => {
                self.next();
                self.refuse_number_start()?;
                let (e, mut stages) = if self.at_stage_start() {
                    let first = self.pipeline_stage()?;
                    (
                        SpansetExpr::Filter(Expr::Static(Static::Bool(true))),
                        vec![first],
                    )
                } else {
                    (self.spanset_expr()?, Vec::new())
                };
                while self.eat_sym("|") {
                    stages.push(self.pipeline_stage()?);
                }
                self.expect_sym(")")?;
                if stages.is_empty() {
                    Ok(e)
                } else {
                    if stages.iter().any(|s| matches!(s, Stage::Select(_))) {
                        return Err(Error::unsupported(
                            "select() inside parentheses is not supported; select at the end of the query"
                                .to_string(),
                        ));
                    }
                    Ok(SpansetExpr::Pipe(Box::new(e), stages))
                }
            }
            _ => Err(self.syntax_error_expecting("{ or (")),
        }
    }

    fn pipeline_stage(&mut self) -> Result<Stage, Error> {
        match self.peek().clone() {
            Tok::Sym("select") => {
                self.next();
                self.expect_sym("(")?;
                let mut fields = Vec::new();
                loop {
                    let e = self.field_expr(0)?;
                    match e {
                        Expr::Field(f) => fields.push(f),
                        other => {
                            return Err(Error::unsupported(format!(
                                "select() of an expression ({other}) is not supported; select attributes or intrinsics"
                            )));
                        }
                    }
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym(")")?;
                Ok(Stage::Select(fields))
            }
            Tok::Sym(s) if is_aggregate(s) => self.scalar_filter(),
            Tok::Sym(s) if is_metrics_fn(s) => Err(Error::unsupported(format!(
                "TraceQL metrics function `{s}()` is not supported"
            ))),
            Tok::Sym("by") => Err(Error::unsupported(
                "pipeline stage `by()` (grouping) is not supported".to_string(),
            )),
            Tok::Sym("coalesce") => {
                self.next();
                self.expect_sym("(")?;
                self.expect_sym(")")?;
                Ok(Stage::Coalesce)
            }
            Tok::Sym("{") => {
                self.next();
                if self.eat_sym("}") {
                    return Ok(Stage::Filter(Expr::Static(Static::Bool(true))));
                }
                let e = self.field_expr(0)?;
                self.expect_sym("}")?;
                Ok(Stage::Filter(e))
            }
            Tok::Sym("(") => Err(Error::unsupported(
                "a parenthesized spanset expression as a pipeline stage is not supported"
                    .to_string(),
            )),
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Sym("-") => {
                Err(Error::unsupported(
                    "a scalar filter must be `aggregate() <op> literal` (as Tempo evaluates it)"
                        .to_string(),
                ))
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// `count() > 2`, `avg(duration) >= 1s`: Tempo evaluates only an aggregate compared
    /// with a literal.
    fn scalar_filter(&mut self) -> Result<Stage, Error> {
        let agg = match self.next() {
            Tok::Sym("count") => Agg::Count,
            Tok::Sym("avg") => Agg::Avg,
            Tok::Sym("max") => Agg::Max,
            Tok::Sym("min") => Agg::Min,
            _ => Agg::Sum,
        };
        self.expect_sym("(")?;
        let field = if agg == Agg::Count {
            None
        } else {
            Some(self.field_expr(0)?)
        };
        self.expect_sym(")")?;
        let op = match self.peek() {
            Tok::Sym("=") => BinOp::Eq,
            Tok::Sym("!=") => BinOp::Neq,
            Tok::Sym("<") => BinOp::Lt,
            Tok::Sym("<=") => BinOp::Lte,
            Tok::Sym(">") => BinOp::Gt,
            Tok::Sym(">=") => BinOp::Gte,
            Tok::Sym(")") | Tok::Eof => {
                return Err(Error::unsupported(
                    "an aggregate without a comparison (arithmetic between pipelines) is not supported"
                        .to_string(),
                ));
            }
            Tok::Sym(s @ ("+" | "-" | "*" | "/" | "%" | "^")) => {
                return Err(Error::unsupported(format!(
                    "arithmetic (`{s}`) on aggregates is not supported"
                )));
            }
            _ => return Err(self.syntax_error_expecting("a comparison")),
        };
        self.next();
        if let Tok::Sym(x) = self.peek()
            && is_aggregate(x)
        {
            return Err(Error::unsupported(
                "comparing two aggregates is not supported".to_string(),
            ));
        }
        if !matches!(
            self.peek(),
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Sym("-" | "(")
        ) {
            return Err(self.syntax_error());
        }
        // a literal, possibly arithmetic on literals (`> 1 - 3`), folded now
        let e = self.field_expr(3)?;
        let rhs = fold_constant(&e).ok_or_else(|| {
            Error::unsupported(format!(
                "a scalar filter must compare an aggregate with a number, not {e}"
            ))
        })?;
        Ok(Stage::Scalar {
            agg,
            field,
            op,
            rhs,
        })
    }

    // ---------- field expressions ----------

    fn binop_at(&self) -> Option<(BinOp, u8)> {
        let Tok::Sym(s) = self.peek() else {
            return None;
        };
        Some(match *s {
            "&&" => (BinOp::And, 1),
            "||" => (BinOp::Or, 1),
            "=" => (BinOp::Eq, 2),
            "!=" => (BinOp::Neq, 2),
            "<" => (BinOp::Lt, 2),
            "<=" => (BinOp::Lte, 2),
            ">" => (BinOp::Gt, 2),
            ">=" => (BinOp::Gte, 2),
            "+" => (BinOp::Add, 3),
            "-" => (BinOp::Sub, 3),
            "*" => (BinOp::Mul, 5),
            "/" => (BinOp::Div, 5),
            "%" => (BinOp::Mod, 5),
            "^" => (BinOp::Pow, 6),
            _ => return None,
        })
    }

    fn field_expr(&mut self, min_prec: u8) -> Result<Expr, Error> {
        self.enter()?;
        let mut lhs = self.unary()?;
        loop {
            // regex operators sit at the comparison level
            let regex = match self.peek() {
                Tok::Sym("=~") => Some(false),
                Tok::Sym("!~") => Some(true),
                _ => None,
            };
            if let Some(negated) = regex {
                if 2 < min_prec {
                    break;
                }
                self.next();
                let rhs = self.field_expr(3)?;
                lhs = make_regex(lhs, rhs, negated)?;
                continue;
            }
            let Some((op, prec)) = self.binop_at() else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.next();
            if matches!(op, BinOp::Eq | BinOp::Neq) && matches!(self.peek(), Tok::Sym("nil")) {
                self.next();
                lhs = Expr::Exists(Box::new(lhs), op == BinOp::Neq);
                continue;
            }
            let next_min = if op == BinOp::Pow { prec } else { prec + 1 };
            let rhs = self.field_expr(next_min)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        match self.peek().clone() {
            Tok::Sym("!") => {
                self.next();
                let e = self.field_expr(5)?;
                Ok(Expr::Not(Box::new(e)))
            }
            Tok::Sym("-") => {
                self.next();
                let e = self.field_expr(5)?;
                Ok(match e {
                    Expr::Static(Static::Int(i)) => Expr::Static(Static::Int(i.wrapping_neg())),
                    Expr::Static(Static::Float(f)) => Expr::Static(Static::Float(-f)),
                    Expr::Static(Static::Duration(d)) => {
                        Expr::Static(Static::Duration(d.wrapping_neg()))
                    }
                    e => Expr::Neg(Box::new(e)),
                })
            }
            Tok::Sym("(") => {
                self.next();
                let e = self.field_expr(0)?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym("nil") => {
                // `nil = x`, `nil != x`, `nil = nil`
                self.next();
                let exists = match self.next() {
                    Tok::Sym("=") => false,
                    Tok::Sym("!=") => true,
                    _ => {
                        self.pos -= 1;
                        return Err(self.syntax_error());
                    }
                };
                if self.eat_sym("nil") {
                    return Ok(Expr::Static(Static::Bool(false)));
                }
                let e = self.field_expr(3)?;
                Ok(Expr::Exists(Box::new(e), exists))
            }
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Static(Static::Str(s)))
            }
            Tok::Int(i) => {
                self.next();
                Ok(Expr::Static(Static::Int(i)))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Expr::Static(Static::Float(f)))
            }
            Tok::Duration(d) => {
                self.next();
                Ok(Expr::Static(Static::Duration(d)))
            }
            Tok::Ident(s) => {
                self.next();
                match s.as_str() {
                    "minInt" => Ok(Expr::Static(Static::Int(i64::MIN))),
                    "maxInt" => Ok(Expr::Static(Static::Int(i64::MAX))),
                    _ => {
                        self.pos -= 1;
                        let (l, c) = self.here();
                        Err(Error::parse(l, c, format!("unknown identifier: {s}")))
                    }
                }
            }
            Tok::Sym(s) => {
                self.next();
                self.sym_operand(s)
            }
            _ => Err(self.syntax_error()),
        }
    }

    fn sym_operand(&mut self, s: &'static str) -> Result<Expr, Error> {
        let st = |v| Ok(Expr::Static(v));
        let intr = |i| Ok(Expr::Field(Field::Intrinsic(i)));
        match s {
            "true" => st(Static::Bool(true)),
            "false" => st(Static::Bool(false)),
            "ok" => st(Static::Status(Status::Ok)),
            "error" => st(Static::Status(Status::Error)),
            "unset" => st(Static::Status(Status::Unset)),
            "unspecified" => st(Static::Kind(Kind::Unspecified)),
            "internal" => st(Static::Kind(Kind::Internal)),
            "server" => st(Static::Kind(Kind::Server)),
            "client" => st(Static::Kind(Kind::Client)),
            "producer" => st(Static::Kind(Kind::Producer)),
            "consumer" => st(Static::Kind(Kind::Consumer)),
            "duration" => intr(Intrinsic::Duration),
            "name" => intr(Intrinsic::Name),
            "status" => intr(Intrinsic::Status),
            "statusMessage" => intr(Intrinsic::StatusMessage),
            "kind" => intr(Intrinsic::Kind),
            "rootName" => intr(Intrinsic::RootName),
            "rootServiceName" => intr(Intrinsic::RootServiceName),
            "traceDuration" => intr(Intrinsic::TraceDuration),
            "parent" => Err(Error::unsupported("intrinsic (parent) is not supported")),
            "nestedSetLeft" | "nestedSetRight" | "nestedSetParent" => Err(Error::unsupported(
                format!("intrinsic `{s}` is not supported"),
            )),
            "span:" => {
                let t = self.next();
                match t {
                    Tok::Sym("duration") => intr(Intrinsic::Duration),
                    Tok::Sym("name") => intr(Intrinsic::Name),
                    Tok::Sym("kind") => intr(Intrinsic::Kind),
                    Tok::Sym("status") => intr(Intrinsic::Status),
                    Tok::Sym("statusMessage") => intr(Intrinsic::StatusMessage),
                    Tok::Sym(x @ ("id" | "parentID" | "childCount")) => Err(Error::unsupported(
                        format!("intrinsic `span:{x}` is not supported"),
                    )),
                    _ => {
                        self.pos -= 1;
                        Err(self.syntax_error())
                    }
                }
            }
            "trace:" => {
                let t = self.next();
                match t {
                    Tok::Sym("duration") => intr(Intrinsic::TraceDuration),
                    Tok::Sym("rootName") => intr(Intrinsic::RootName),
                    Tok::Sym("rootService") => intr(Intrinsic::RootServiceName),
                    Tok::Sym("id") => Err(Error::unsupported(
                        "intrinsic `trace:id` is not supported".to_string(),
                    )),
                    _ => {
                        self.pos -= 1;
                        Err(self.syntax_error())
                    }
                }
            }
            "instrumentation:" => match self.next() {
                Tok::Sym("name") => intr(Intrinsic::ScopeName),
                Tok::Sym("version") => intr(Intrinsic::ScopeVersion),
                _ => {
                    self.pos -= 1;
                    Err(self.syntax_error())
                }
            },
            "event:" | "link:" => Err(Error::unsupported(format!(
                "`{s}` intrinsics are not supported"
            ))),
            "." | "span." | "resource." => {
                let scope = match s {
                    "." => Scope::Unscoped,
                    "span." => Scope::Span,
                    _ => Scope::Resource,
                };
                let name = match self.next() {
                    Tok::AttrName(n) => n,
                    _ => {
                        self.pos -= 1;
                        return Err(self.syntax_error());
                    }
                };
                match self.next() {
                    Tok::EndAttr => {}
                    _ => {
                        self.pos -= 1;
                        return Err(self.syntax_error());
                    }
                }
                Ok(Expr::Field(Field::Attribute { scope, name }))
            }
            "parent." => Err(Error::unsupported(
                "`parent.` attributes are not supported".to_string(),
            )),
            "event." | "link." | "instrumentation." => Err(Error::unsupported(format!(
                "`{s}` attributes are not supported"
            ))),
            x if is_aggregate(x) => Err(Error::unsupported(format!(
                "aggregate `{x}()` inside a spanset filter is not supported"
            ))),
            _ => {
                self.pos -= 1;
                Err(self.syntax_error())
            }
        }
    }
}

fn references_span(e: &Expr) -> bool {
    match e {
        Expr::Static(_) => false,
        Expr::Field(_) => true,
        Expr::Binary(_, l, r) => references_span(l) || references_span(r),
        Expr::Regex { lhs, .. } => references_span(lhs),
        Expr::Not(x) | Expr::Neg(x) | Expr::Exists(x, _) => references_span(x),
        Expr::AsString { .. } => true,
    }
}

/// Evaluates an expression of numeric literals.
fn fold_constant(e: &Expr) -> Option<Static> {
    if references_span(e) {
        return None;
    }
    let span = crate::fuzzing::OwnedSpan::default();
    match crate::eval::eval(e, &span, &crate::TraceInfo::default())? {
        crate::Value::Int(i) => Some(Static::Int(i)),
        crate::Value::Float(f) => Some(Static::Float(f)),
        crate::Value::Duration(d) => Some(Static::Duration(d)),
        _ => None,
    }
}

fn make_regex(lhs: Expr, rhs: Expr, negated: bool) -> Result<Expr, Error> {
    let op = if negated { "!~" } else { "=~" };
    let pattern = match rhs {
        Expr::Static(Static::Str(p)) => p,
        other => {
            return Err(Error::invalid(format!(
                "invalid type for =~ or !~: {other}"
            )));
        }
    };
    let lt = lhs.implied_type();
    if lt != Type::Attribute && lt != Type::Str {
        return Err(Error::invalid(format!(
            "illegal operation for the given types: {lhs} {op} `{pattern}`"
        )));
    }
    // Tempo matches through Prometheus' FastRegexMatcher: anchored at both ends, `.` matching
    // newlines.
    let re = goregex::compile(&format!("^(?s:{pattern})$"))
        .map_err(|_| Error::invalid(format!("invalid regex: `{pattern}`")))?;
    // Go rejects the pattern alone too (an unbalanced `)` would close our group).
    goregex::compile(&pattern)
        .map_err(|_| Error::invalid(format!("invalid regex: `{pattern}`")))?;
    Ok(Expr::Regex {
        lhs: Box::new(lhs),
        pattern,
        re,
        negated,
    })
}

// ---------- validation (Tempo's ast_validate.go) ----------

fn validate_spanset(e: &SpansetExpr) -> Result<(), Error> {
    match e {
        SpansetExpr::Filter(x) => {
            validate(x)?;
            let t = x.implied_type();
            if t != Type::Attribute && t != Type::Bool {
                return Err(Error::invalid(format!(
                    "span filter field expressions must resolve to a boolean: {{ {x} }}"
                )));
            }
            Ok(())
        }
        SpansetExpr::And(l, r) | SpansetExpr::Or(l, r) | SpansetExpr::Rel(_, l, r) => {
            validate_spanset(l)?;
            validate_spanset(r)
        }
        SpansetExpr::Pipe(inner, stages) => {
            validate_spanset(inner)?;
            stages.iter().try_for_each(validate_stage)
        }
    }
}

fn validate_stage(st: &Stage) -> Result<(), Error> {
    match st {
        Stage::Filter(x) => validate_spanset(&SpansetExpr::Filter(x.clone())),
        Stage::Scalar { agg, field, .. } => match field {
            Some(x) => {
                validate(x)?;
                let t = x.implied_type();
                let shown = format!("{}({x})", agg.as_str());
                if t != Type::Attribute && !t.is_numeric() {
                    return Err(Error::invalid(format!(
                        "aggregate field expressions must resolve to a number type: {shown}"
                    )));
                }
                if !references_span(x) {
                    return Err(Error::invalid(format!(
                        "aggregate field expressions must reference the span: {shown}"
                    )));
                }
                Ok(())
            }
            None => Ok(()),
        },
        Stage::Select(_) | Stage::Coalesce => Ok(()),
    }
}

fn matching_operand(a: Type, b: Type) -> bool {
    a == Type::Attribute || b == Type::Attribute || a == b || (a.is_numeric() && b.is_numeric())
}

fn type_valid(op: BinOp, t: Type) -> bool {
    use BinOp::*;
    match t {
        Type::Attribute => true,
        Type::Bool => matches!(op, And | Or | Eq | Neq),
        Type::Int | Type::Float | Type::Duration => !matches!(op, And | Or),
        Type::Str => matches!(op, Eq | Neq | Lt | Lte | Gt | Gte),
        Type::Status | Type::Kind => matches!(op, Eq | Neq),
    }
}

fn validate(e: &Expr) -> Result<(), Error> {
    match e {
        Expr::Static(_) | Expr::Field(_) | Expr::AsString { .. } => Ok(()),
        Expr::Binary(op, l, r) => {
            validate(l)?;
            validate(r)?;
            let (lt, rt) = (l.implied_type(), r.implied_type());
            if !matching_operand(lt, rt) {
                return Err(Error::invalid(format!(
                    "binary operations must operate on the same type: {e}"
                )));
            }
            if !type_valid(*op, lt) || !type_valid(*op, rt) {
                return Err(Error::invalid(format!(
                    "illegal operation for the given types: {e}"
                )));
            }
            Ok(())
        }
        Expr::Regex { lhs, .. } => validate(lhs),
        Expr::Not(x) => {
            validate(x)?;
            match x.implied_type() {
                Type::Attribute | Type::Bool => Ok(()),
                _ => Err(Error::invalid(format!(
                    "illegal operation for the given type: {e}"
                ))),
            }
        }
        Expr::Neg(x) => {
            validate(x)?;
            let t = x.implied_type();
            if t == Type::Attribute || t.is_numeric() {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "illegal operation for the given type: {e}"
                )))
            }
        }
        Expr::Exists(x, exists) => {
            validate(x)?;
            if !exists && let Expr::Field(f) = &**x {
                match f {
                    Field::Intrinsic(_) => {
                        return Err(Error::invalid(format!(
                            "{f}=nil is not valid because intrinsics cannot be nil"
                        )));
                    }
                    Field::Attribute {
                        scope: Scope::Resource,
                        name,
                    } if name == "service.name" => {
                        return Err(Error::invalid(format!(
                            "{f}=nil is not valid because resource.service.name cannot be nil"
                        )));
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }
}
