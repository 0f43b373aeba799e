//! The expression language of stanza's `if`, `expr`, `is_first_entry`/`is_last_entry` and
//! `EXPR(...)` values: the subset of expr-lang (github.com/expr-lang/expr, which Go stanza
//! compiles with `AllowUndefinedVariables`) that log configs use. An expression is parsed
//! once into a tree; evaluation reads the entry in place (no environment map is built and
//! entry values are borrowed, not copied).
//!
//! Environment: `body` (also `$`), `attributes`, `resource`, `timestamp`; unknown
//! identifiers are nil. `env("X")` reads the process environment ("" when unset).
//! Runtime semantics follow expr-lang: a missing map key is nil, fetching from nil or a
//! non-map is an error, `nil == "x"` is false, ordering mismatched types is an error, `/`
//! yields a float, `matches` with a literal pattern compiles it once.

use std::borrow::Cow;
use std::fmt;

use crate::entry::Entry;

use crate::value::{Map, Value};

/// A compiled expression.
#[derive(Clone)]
pub struct Expr {
    source: String,
    root: Node,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({:?})", self.source)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Var {
    Body,
    Attributes,
    Resource,
    Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Contains,
    StartsWith,
    EndsWith,
    In,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Func {
    Env,
    Len,
    Lower,
    Upper,
    Trim,
    TrimPrefix,
    TrimSuffix,
    HasPrefix,
    HasSuffix,
    Split,
    Replace,
    IndexOf,
    Int,
    Float,
    String,
}

#[derive(Clone)]
enum Node {
    Lit(Value),
    Var(Var),
    Member {
        obj: Box<Node>,
        key: Box<Node>,
        optional: bool,
    },
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Coalesce(Box<Node>, Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    /// `a matches b`; the regex is compiled at parse time when `b` is a literal (and matched
    /// without an engine when it never needs to go back, as the router's container format
    /// test `body matches "^[^ Z]+Z"` on every line: [`goregex::Direct`]).
    Matches(Box<Node>, Box<Node>, Option<Box<goregex::Matcher>>),
    Ternary(Box<Node>, Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
    Array(Vec<Node>),
    MapLit(Vec<(Node, Node)>),
}

// ---------------------------------------------------------------------------------------
// Values during evaluation

/// A value during evaluation: borrowed from the entry when read from it, owned when
/// computed. Scalars computed by operators never allocate.
#[derive(Clone, Debug)]
enum Val<'a> {
    Ref(&'a Value),
    MapRef(&'a Map),
    Own(Value),
}

#[derive(Clone, Copy)]
enum View<'b> {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'b str),
    Bytes(&'b [u8]),
    Map(&'b Map),
    List(&'b [Value]),
}

fn view(v: &Value) -> View<'_> {
    match v {
        Value::Nil => View::Nil,
        Value::Bool(b) => View::Bool(*b),
        Value::Int(i) => View::Int(*i),
        Value::Float(x) => View::Float(*x),
        Value::Str(s) => View::Str(s),
        Value::Bytes(b) => View::Bytes(b),
        Value::Map(m) => View::Map(m),
        Value::List(l) => View::List(l),
    }
}

impl<'a> Val<'a> {
    fn view(&self) -> View<'_> {
        match self {
            Val::Ref(v) => view(v),
            Val::MapRef(m) => View::Map(m),
            Val::Own(v) => view(v),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Val::Ref(v) => v.clone(),
            Val::MapRef(m) => Value::Map(m.clone()),
            Val::Own(v) => v,
        }
    }

    fn nil() -> Val<'a> {
        Val::Own(Value::Nil)
    }

    fn bool(b: bool) -> Val<'a> {
        Val::Own(Value::Bool(b))
    }
}

impl View<'_> {
    /// Go type name as expr-lang's runtime errors print it.
    fn type_name(&self) -> &'static str {
        match self {
            View::Nil => "<nil>",
            View::Bool(_) => "bool",
            View::Int(_) => "int",
            View::Float(_) => "float64",
            View::Str(_) => "string",
            View::Bytes(_) => "[]uint8",
            View::Map(_) => "map[string]interface {}",
            View::List(_) => "[]interface {}",
        }
    }

    fn num(&self) -> Option<f64> {
        match *self {
            View::Int(i) => Some(i as f64),
            View::Float(x) => Some(x),
            _ => None,
        }
    }
}

fn equal(a: View, b: View) -> bool {
    match (a, b) {
        (View::Nil, View::Nil) => true,
        (View::Bool(x), View::Bool(y)) => x == y,
        (View::Int(x), View::Int(y)) => x == y,
        (View::Str(x), View::Str(y)) => x == y,
        (View::Bytes(x), View::Bytes(y)) => x == y,
        (View::Map(x), View::Map(y)) => x == y,
        (View::List(x), View::List(y)) => x == y,
        (x, y) => match (x.num(), y.num()) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
    }
}

fn op_name(op: BinOp) -> &'static str {
    match op {
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Pow => "**",
        BinOp::Contains => "contains",
        BinOp::StartsWith => "startsWith",
        BinOp::EndsWith => "endsWith",
        BinOp::In => "in",
    }
}

fn invalid(a: View, op: &str, b: View) -> String {
    format!(
        "invalid operation: {} {op} {}",
        a.type_name(),
        b.type_name()
    )
}

fn binary<'a>(op: BinOp, a: View, b: View) -> Result<Val<'a>, String> {
    use std::cmp::Ordering;
    let ord = |a: View, b: View| -> Result<Ordering, String> {
        match (a, b) {
            (View::Int(x), View::Int(y)) => Ok(x.cmp(&y)),
            (View::Str(x), View::Str(y)) => Ok(x.cmp(y)),
            _ => match (a.num(), b.num()) {
                (Some(p), Some(q)) => p.partial_cmp(&q).ok_or_else(|| "NaN".to_string()),
                _ => Err(invalid(a, op_name(op), b)),
            },
        }
    };
    let v = match op {
        BinOp::Eq => Value::Bool(equal(a, b)),
        BinOp::Ne => Value::Bool(!equal(a, b)),
        BinOp::Lt => Value::Bool(ord(a, b)? == Ordering::Less),
        BinOp::Gt => Value::Bool(ord(a, b)? == Ordering::Greater),
        BinOp::Le => Value::Bool(ord(a, b)? != Ordering::Greater),
        BinOp::Ge => Value::Bool(ord(a, b)? != Ordering::Less),
        BinOp::Add => match (a, b) {
            (View::Int(x), View::Int(y)) => Value::Int(x.wrapping_add(y)),
            (View::Str(x), View::Str(y)) => {
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                Value::from(s)
            }
            _ => {
                let (x, y) = arith(a, b, op)?;
                Value::Float(x + y)
            }
        },
        BinOp::Sub => match (a, b) {
            (View::Int(x), View::Int(y)) => Value::Int(x.wrapping_sub(y)),
            _ => {
                let (x, y) = arith(a, b, op)?;
                Value::Float(x - y)
            }
        },
        BinOp::Mul => match (a, b) {
            (View::Int(x), View::Int(y)) => Value::Int(x.wrapping_mul(y)),
            _ => {
                let (x, y) = arith(a, b, op)?;
                Value::Float(x * y)
            }
        },
        BinOp::Div => {
            let (x, y) = arith(a, b, op)?;
            Value::Float(x / y)
        }
        BinOp::Mod => match (a, b) {
            (View::Int(_), View::Int(0)) => return Err("integer divide by zero".into()),
            (View::Int(x), View::Int(y)) => Value::Int(x.wrapping_rem(y)),
            _ => return Err(invalid(a, "%", b)),
        },
        BinOp::Pow => {
            let (x, y) = arith(a, b, op)?;
            Value::Float(x.powf(y))
        }
        BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith => match (a, b) {
            (View::Str(x), View::Str(y)) => Value::Bool(match op {
                BinOp::Contains => x.contains(y),
                BinOp::StartsWith => x.starts_with(y),
                _ => x.ends_with(y),
            }),
            _ => return Err(invalid(a, op_name(op), b)),
        },
        BinOp::In => match b {
            View::Map(m) => match a {
                View::Str(k) => Value::Bool(m.contains_key(k)),
                _ => Value::Bool(false),
            },
            View::List(l) => Value::Bool(l.iter().any(|v| equal(a, view(v)))),
            View::Nil => Value::Bool(false),
            _ => return Err(format!("operator \"in\" not defined on {}", b.type_name())),
        },
    };
    Ok(Val::Own(v))
}

fn arith(a: View, b: View, op: BinOp) -> Result<(f64, f64), String> {
    match (a.num(), b.num()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(invalid(a, op_name(op), b)),
    }
}

fn fetch<'a>(obj: Val<'a>, key: View, optional: bool) -> Result<Val<'a>, String> {
    let key_text = |k: View| match k {
        View::Str(s) => s.to_string(),
        View::Int(i) => i.to_string(),
        other => other.type_name().to_string(),
    };
    match obj {
        Val::Ref(Value::Map(m)) | Val::MapRef(m) => Ok(match key {
            View::Str(k) => m.get(k).map_or(Val::nil(), Val::Ref),
            _ => Val::nil(),
        }),
        Val::Ref(Value::List(l)) => index_list(l, key).map(|v| v.map_or(Val::nil(), Val::Ref)),
        Val::Own(Value::Map(m)) => Ok(match key {
            View::Str(k) => Val::Own(m.get(k).cloned().unwrap_or_default()),
            _ => Val::nil(),
        }),
        Val::Own(Value::List(l)) => {
            index_list(&l, key).map(|v| Val::Own(v.cloned().unwrap_or_default()))
        }
        Val::Ref(Value::Nil) | Val::Own(Value::Nil) if optional => Ok(Val::nil()),
        other => Err(format!(
            "cannot fetch {} from {}",
            key_text(key),
            other.view().type_name()
        )),
    }
}

fn index_list<'l>(l: &'l [Value], key: View) -> Result<Option<&'l Value>, String> {
    let View::Int(i) = key else {
        return Err(format!(
            "cannot fetch {} from []interface {{}}",
            key.type_name()
        ));
    };
    let n = l.len() as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(format!("index out of range: {i} (array length is {n})"));
    }
    Ok(Some(&l[j as usize]))
}

fn as_bool(v: &Val, what: &str) -> Result<bool, String> {
    match v.view() {
        View::Bool(b) => Ok(b),
        other => Err(format!(
            "invalid operation: {what} (expected bool, got {})",
            other.type_name()
        )),
    }
}

fn text_arg<'b>(v: &'b Val, f: &str) -> Result<&'b str, String> {
    match v.view() {
        View::Str(s) => Ok(s),
        other => Err(format!(
            "invalid argument for {f} (type {})",
            other.type_name()
        )),
    }
}

impl Node {
    fn eval<'a>(&self, e: &'a Entry) -> Result<Val<'a>, String> {
        Ok(match self {
            Node::Lit(v) => Val::Own(v.clone()),
            Node::Var(Var::Body) => Val::Ref(&e.body),
            Node::Var(Var::Attributes) => Val::MapRef(&e.attributes),
            Node::Var(Var::Resource) => Val::MapRef(&e.resource),
            Node::Var(Var::Timestamp) => Val::Own(if e.timestamp == 0 {
                Value::Nil
            } else {
                Value::Int(e.timestamp)
            }),
            Node::Member { obj, key, optional } => {
                let o = obj.eval(e)?;
                if let Node::Lit(Value::Str(k)) = &**key {
                    return fetch(o, View::Str(k), *optional);
                }
                let k = key.eval(e)?;
                return fetch(o, k.view(), *optional);
            }
            Node::Not(x) => Val::bool(!as_bool(&x.eval(e)?, "!")?),
            Node::Neg(x) => match x.eval(e)?.view() {
                View::Int(i) => Val::Own(Value::Int(i.wrapping_neg())),
                View::Float(f) => Val::Own(Value::Float(-f)),
                other => return Err(format!("invalid operation: - {}", other.type_name())),
            },
            Node::And(a, b) => {
                Val::bool(as_bool(&a.eval(e)?, "and")? && as_bool(&b.eval(e)?, "and")?)
            }
            Node::Or(a, b) => Val::bool(as_bool(&a.eval(e)?, "or")? || as_bool(&b.eval(e)?, "or")?),
            Node::Coalesce(a, b) => match a.eval(e) {
                Ok(v) if !matches!(v.view(), View::Nil) => v,
                _ => b.eval(e)?,
            },
            Node::Binary(op, a, b) => {
                let x = a.eval(e)?;
                let y = b.eval(e)?;
                return binary(*op, x.view(), y.view());
            }
            Node::Matches(a, b, re) => {
                let x = a.eval(e)?;
                let View::Str(s) = x.view() else {
                    let y = b.eval(e)?;
                    return Err(invalid(x.view(), "matches", y.view()));
                };
                match re {
                    Some(p) => Val::bool(p.is_match(s)),
                    None => {
                        let y = b.eval(e)?;
                        let View::Str(p) = y.view() else {
                            return Err(invalid(x.view(), "matches", y.view()));
                        };
                        Val::bool(goregex::compile(p)?.is_match(s))
                    }
                }
            }
            Node::Ternary(c, a, b) => {
                if as_bool(&c.eval(e)?, "?:")? {
                    a.eval(e)?
                } else {
                    b.eval(e)?
                }
            }
            Node::Call(f, args) => call(*f, args, e)?,
            Node::Array(items) => Val::Own(Value::List(
                items
                    .iter()
                    .map(|n| n.eval(e).map(Val::into_value))
                    .collect::<Result<_, _>>()?,
            )),
            Node::MapLit(pairs) => {
                let mut m = Map::with_capacity(pairs.len());
                for (k, v) in pairs {
                    let k = k.eval(e)?;
                    let View::Str(k) = k.view() else {
                        return Err("map keys must be strings".into());
                    };
                    let k = k.to_string();
                    m.insert(k, v.eval(e)?.into_value());
                }
                Val::Own(Value::Map(m))
            }
        })
    }
}

fn call<'a>(f: Func, args: &[Node], e: &'a Entry) -> Result<Val<'a>, String> {
    let vals = args
        .iter()
        .map(|a| a.eval(e))
        .collect::<Result<Vec<_>, _>>()?;
    let s = |i: usize, name: &str| text_arg(&vals[i], name);
    let out = match f {
        Func::Env => Value::from(std::env::var(s(0, "env")?).unwrap_or_default()),
        Func::Len => Value::Int(match vals[0].view() {
            View::Str(x) => x.chars().count() as i64,
            View::List(l) => l.len() as i64,
            View::Map(m) => m.len() as i64,
            View::Bytes(b) => b.len() as i64,
            other => {
                return Err(format!(
                    "invalid argument for len (type {})",
                    other.type_name()
                ));
            }
        }),
        Func::Lower => Value::from(s(0, "lower")?.to_lowercase()),
        Func::Upper => Value::from(s(0, "upper")?.to_uppercase()),
        Func::Trim => Value::from(match vals.get(1) {
            Some(_) => {
                let cut = s(1, "trim")?;
                s(0, "trim")?.trim_matches(|c| cut.contains(c)).to_string()
            }
            None => s(0, "trim")?.trim().to_string(),
        }),
        Func::TrimPrefix => {
            let x = s(0, "trimPrefix")?;
            Value::from(x.strip_prefix(s(1, "trimPrefix")?).unwrap_or(x))
        }
        Func::TrimSuffix => {
            let x = s(0, "trimSuffix")?;
            Value::from(x.strip_suffix(s(1, "trimSuffix")?).unwrap_or(x))
        }
        Func::HasPrefix => Value::Bool(s(0, "hasPrefix")?.starts_with(s(1, "hasPrefix")?)),
        Func::HasSuffix => Value::Bool(s(0, "hasSuffix")?.ends_with(s(1, "hasSuffix")?)),
        Func::Split => Value::List(
            s(0, "split")?
                .split(s(1, "split")?)
                .map(Value::from)
                .collect(),
        ),
        Func::Replace => Value::from(s(0, "replace")?.replace(s(1, "replace")?, s(2, "replace")?)),
        Func::IndexOf => {
            let hay = s(0, "indexOf")?;
            Value::Int(match hay.find(s(1, "indexOf")?) {
                Some(b) => hay[..b].chars().count() as i64,
                None => -1,
            })
        }
        Func::Int => Value::Int(match vals[0].view() {
            View::Int(i) => i,
            View::Float(x) => x as i64,
            View::Str(x) => x
                .trim()
                .parse()
                .map_err(|_| format!("strconv.Atoi: parsing {x:?}: invalid syntax"))?,
            other => return Err(format!("invalid operation: int({})", other.type_name())),
        }),
        Func::Float => Value::Float(match vals[0].view() {
            View::Int(i) => i as f64,
            View::Float(x) => x,
            View::Str(x) => x
                .trim()
                .parse()
                .map_err(|_| format!("strconv.ParseFloat: parsing {x:?}: invalid syntax"))?,
            other => return Err(format!("invalid operation: float({})", other.type_name())),
        }),
        Func::String => Value::from(match vals.into_iter().next() {
            Some(v) => v.into_value().to_string(),
            None => String::new(),
        }),
    };
    Ok(Val::Own(out))
}

impl Expr {
    /// Parses an expression; the error is expr-lang's, without the expression itself
    /// (callers add "failed to compile expression '<src>'"): the message, the position
    /// `(line:column)` and a snippet of the line with a caret under the column:
    /// `unexpected token EOF (1:3)\n | 1 +\n | ..^`.
    pub fn compile(source: &str) -> Result<Expr, String> {
        Self::parse(source).map_err(|e| with_snippet(source, e))
    }

    fn parse(source: &str) -> Result<Expr, String> {
        let tokens = lex(source)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            eof: eof_at(source),
            depth: 0,
        };
        let root = p.expr(0)?;
        if p.pos < p.tokens.len() {
            return Err(format!(
                "unexpected token {} ({})",
                p.tokens[p.pos].tok, p.tokens[p.pos].at
            ));
        }
        Ok(Expr {
            source: source.to_string(),
            root,
        })
    }

    /// Parses a boolean expression (`if`, router `expr`, recombine conditions, filter):
    /// a literal of another type is refused at compile time, as expr-lang's `AsBool` does.
    pub fn compile_bool(source: &str) -> Result<Expr, String> {
        let e = Expr::compile(source)?;
        if let Node::Lit(v) = &e.root
            && !matches!(v, Value::Bool(_))
        {
            return Err(format!("expected bool, but got {}", view(v).type_name()));
        }
        Ok(e)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates to an owned value.
    pub fn eval(&self, e: &Entry) -> Result<Value, String> {
        self.root.eval(e).map(Val::into_value)
    }

    /// Evaluates in a boolean context; a non-bool result is a runtime error.
    pub fn eval_bool(&self, e: &Entry) -> Result<bool, String> {
        // `<field> matches "<literal>"`, the routers' container format tests run on every
        // line (`body matches "^[^ Z]+Z"`): the field's text goes straight to the matcher.
        // Anything but a string there takes the general path, which words the error.
        if let Node::Matches(a, _, Some(re)) = &self.root
            && let Some(Value::Str(s)) = field_of(a, e)
        {
            return Ok(re.is_match(s));
        }
        let v = self.root.eval(e)?;
        match v.view() {
            View::Bool(b) => Ok(b),
            other => Err(format!("expected bool, but got {}", other.type_name())),
        }
    }

    /// Evaluates to a string (embedded `EXPR(...)`); anything else is Go's
    /// "embedded expression returned non-string" error.
    pub fn eval_string<'a>(&self, e: &'a Entry) -> Result<Cow<'a, str>, String> {
        match self.root.eval(e)? {
            Val::Ref(Value::Str(s)) => Ok(Cow::Borrowed(s)),
            Val::Own(Value::Str(s)) => Ok(Cow::Owned(s.into_string())),
            other => Err(format!(
                "embedded expression returned non-string {}",
                other.into_value()
            )),
        }
    }
}

/// The entry's value a node names when it is `body`, `attributes.<key>` or
/// `resource.<key>` (also written `attributes["<key>"]`), as the general evaluation finds it.
fn field_of<'a>(n: &Node, e: &'a Entry) -> Option<&'a Value> {
    match n {
        Node::Var(Var::Body) => Some(&e.body),
        Node::Member { obj, key, .. } => match (&**obj, &**key) {
            (Node::Var(Var::Attributes), Node::Lit(Value::Str(k))) => e.attributes.get(k),
            (Node::Var(Var::Resource), Node::Lit(Value::Str(k))) => e.resource.get(k),
            _ => None,
        },
        _ => None,
    }
}

/// Where expr-lang reports the end of input: on the last character (`1 +` -> `1:3`).
fn eof_at(source: &str) -> String {
    format!("1:{}", source.trim_end().chars().count().max(1))
}

/// Rewrites a message ending in `(1:<n>)` (`n` counting characters from 1 over the whole
/// source) as expr-lang prints it: the line and column of that character, then the line and
/// a caret under the column. Messages without a position are returned as they are.
fn with_snippet(source: &str, msg: String) -> String {
    let Some(open) = msg.rfind(" (1:") else {
        return msg;
    };
    let Some(n) = msg[open + 4..]
        .strip_suffix(')')
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return msg;
    };
    let (mut line, mut col) = (1, n.saturating_sub(1));
    let mut text = source.split('\n');
    let mut current = text.next().unwrap_or("");
    while col > current.chars().count() {
        let Some(next) = text.next() else { break };
        col -= current.chars().count() + 1;
        current = next;
        line += 1;
    }
    format!(
        "{} ({line}:{})\n | {current}\n | {}^",
        &msg[..open],
        col + 1,
        ".".repeat(col)
    )
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
}

/// As expr-lang prints a token in errors: `Kind("value")`. Word operators (`and`, `in`,
/// `matches`, ...) are operators there; numbers show their value (expr-lang shows the source
/// text, which differs only for spellings like `1_000` or `0x10`).
impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) if WORD_OPS.contains(&s.as_str()) => write!(f, "Operator({s:?})"),
            Tok::Ident(s) => write!(f, "Identifier({s:?})"),
            Tok::Int(i) => write!(f, "Number(\"{i}\")"),
            Tok::Float(x) => write!(f, "Number(\"{x}\")"),
            Tok::Str(s) => write!(f, "String({s:?})"),
            Tok::Op(o) if matches!(*o, "(" | ")" | "[" | "]" | "{" | "}") => {
                write!(f, "Bracket({o:?})")
            }
            Tok::Op(o) => write!(f, "Operator({o:?})"),
        }
    }
}

const WORD_OPS: [&str; 9] = [
    "and",
    "or",
    "not",
    "in",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    "let",
];

struct Token {
    tok: Tok,
    at: String,
}

/// Longest first. The lone `=`, `&`, `|`, `^` are no operators of the language but tokens
/// of expr-lang's lexer, so that `a === b` is "unexpected token Operator("=")".
const OPS: [&str; 32] = [
    "??", "?.", "**", "==", "!=", "<=", ">=", "&&", "||", "..", "(", ")", "[", "]", "{", "}", ",",
    ".", "?", ":", "<", ">", "+", "-", "*", "/", "%", "!", "=", "&", "|", "^",
];

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Character positions, counted on from the last token so that lexing stays linear.
    let counted = std::cell::Cell::new((0usize, 0usize));
    let pos = |i: usize| {
        let (at, n) = counted.get();
        let n = if i >= at {
            n + src[at..i].chars().count()
        } else {
            src[..i].chars().count()
        };
        counted.set((i, n));
        format!("1:{}", n + 1)
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at = pos(i);
        if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            let start = i;
            let mut is_float = false;
            if c == b'0' && i + 1 < b.len() && (b[i + 1] == b'x' || b[i + 1] == b'X') {
                i += 2;
                while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
                    i += 1;
                }
                let text: String = src[start + 2..i].chars().filter(|&c| c != '_').collect();
                let v = i64::from_str_radix(&text, 16)
                    .map_err(|_| format!("invalid number {} ({at})", &src[start..i]))?;
                out.push(Token {
                    tok: Tok::Int(v),
                    at,
                });
                continue;
            }
            while i < b.len() {
                match b[i] {
                    b'0'..=b'9' | b'_' => i += 1,
                    // `1..5` is a range, not a float.
                    b'.' if !(is_float || i + 1 < b.len() && b[i + 1] == b'.') => {
                        is_float = true;
                        i += 1
                    }
                    b'e' | b'E' => {
                        is_float = true;
                        i += 1;
                        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                            i += 1;
                        }
                    }
                    _ => break,
                }
            }
            let text: String = src[start..i].chars().filter(|&c| c != '_').collect();
            let tok = if is_float {
                Tok::Float(
                    text.parse()
                        .map_err(|_| format!("invalid float literal: {text} ({at})"))?,
                )
            } else {
                Tok::Int(
                    text.parse()
                        .map_err(|_| format!("invalid integer literal: {text} ({at})"))?,
                )
            };
            out.push(Token { tok, at });
            continue;
        }
        if c == b'"' || c == b'\'' {
            // expr-lang reports an open literal after the end of the input.
            let (s, n) = unquote(&src[i..], c as char).map_err(|m| {
                if m == "literal not terminated" {
                    format!("{m} ({})", pos(src.len()))
                } else {
                    format!("{m} ({at})")
                }
            })?;
            out.push(Token {
                tok: Tok::Str(s),
                at,
            });
            i += n;
            continue;
        }
        if c == b'`' {
            let Some(end) = src[i + 1..].find('`') else {
                return Err(format!("literal not terminated ({})", pos(src.len())));
            };
            out.push(Token {
                tok: Tok::Str(src[i + 1..i + 1 + end].to_string()),
                at,
            });
            i += end + 2;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                at,
            });
            continue;
        }
        let Some(op) = OPS.iter().find(|o| src[i..].starts_with(**o)) else {
            let c = src[i..].chars().next().unwrap_or_default();
            return Err(format!(
                "unrecognized character: U+{:04X} '{c}' ({at})",
                c as u32
            ));
        };
        // `?.` followed by a digit is `? .5`, a ternary with a float.
        if *op == "?." && i + 2 < b.len() && b[i + 2].is_ascii_digit() {
            out.push(Token {
                tok: Tok::Op("?"),
                at,
            });
            i += 1;
            continue;
        }
        out.push(Token {
            tok: Tok::Op(op),
            at,
        });
        i += op.len();
    }
    Ok(out)
}

/// Decodes a quoted literal starting at `s[0] == quote`; returns the text and the bytes
/// consumed. Escapes as Go's `strconv.Unquote` (which expr-lang uses).
pub(crate) fn unquote_literal(s: &str, quote: char) -> Result<(String, usize), String> {
    unquote(s, quote)
}

fn unquote(s: &str, quote: char) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, i + 1));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            '`' => out.push('`'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n)
                    .filter_map(|_| chars.next().map(|(_, c)| c))
                    .collect();
                let v = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("invalid char escape")?;
                out.push(v);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let Some((_, d)) = chars.next() else { break };
                    v = v * 8 + d.to_digit(8).ok_or("invalid char escape")?;
                }
                out.push(char::from_u32(v).ok_or("invalid char escape")?);
            }
            _ => return Err("invalid char escape".into()),
        }
    }
    Err("literal not terminated".into())
}

// ---------------------------------------------------------------------------------------
// Parser (precedence climbing with expr-lang's precedences)

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Position of the end of input, for "unexpected token EOF".
    eof: String,
    /// Nesting of [`Parser::expr`] calls, bounded by [`MAX_DEPTH`].
    depth: usize,
}

/// How deeply an expression may nest (parentheses, operands, indexes). The parser and the
/// evaluator recurse once per level, so without a bound `((((...` of a few thousand bytes
/// overflows the reading thread's stack; real expressions nest a handful of levels. (Go's
/// expr-lang recurses on a growable goroutine stack and has no such limit.)
const MAX_DEPTH: usize = 100;

fn binary_prec(tok: &Tok) -> Option<(u8, bool)> {
    // (precedence, right-associative)
    let name = match tok {
        Tok::Op(o) => *o,
        Tok::Ident(s) => s.as_str(),
        _ => return None,
    };
    Some(match name {
        "or" | "||" => (10, false),
        "and" | "&&" => (15, false),
        "==" | "!=" | "<" | ">" | "<=" | ">=" | "in" | "matches" | "contains" | "startsWith"
        | "endsWith" | "not" => (20, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" => (100, true),
        "??" => (200, false),
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn at(&self) -> String {
        self.tokens
            .get(self.pos)
            .map_or_else(|| self.eof.clone(), |t| t.at.clone())
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(match self.peek() {
                Some(t) => format!("unexpected token {t} ({})", self.at()),
                None => format!("unexpected token EOF ({})", self.at()),
            })
        }
    }

    fn expr(&mut self, min_prec: u8) -> Result<Node, String> {
        let saved = self.depth;
        self.deeper()?;
        let r = self.expr_inner(min_prec);
        self.depth = saved;
        r
    }

    /// Counts one more level of the tree being built: a nested expression, or one more
    /// link of an operator or member chain (`a + b + c`, `a.b.c` nest without recursing
    /// here, but evaluating and dropping them recurses). The count is restored when the
    /// enclosing [`Parser::expr`] returns.
    fn deeper(&mut self) -> Result<(), String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "expression nests more than {MAX_DEPTH} levels deep ({})",
                self.at()
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn expr_inner(&mut self, min_prec: u8) -> Result<Node, String> {
        let mut left = self.unary()?;
        while let Some(tok) = self.peek().cloned() {
            self.deeper()?;
            if min_prec == 0 && tok == Tok::Op("?") {
                self.pos += 1;
                let a = self.expr(0)?;
                self.expect(":")?;
                let b = self.expr(0)?;
                left = Node::Ternary(Box::new(left), Box::new(a), Box::new(b));
                continue;
            }
            let Some((prec, right)) = binary_prec(&tok) else {
                break;
            };
            if prec < min_prec.max(1) {
                break;
            }
            self.pos += 1;
            // `not in`, `not matches`, ...
            let (name, negate) = match &tok {
                Tok::Ident(s) if s == "not" => match self.peek() {
                    Some(Tok::Ident(n))
                        if matches!(
                            n.as_str(),
                            "in" | "matches" | "contains" | "startsWith" | "endsWith"
                        ) =>
                    {
                        let n = n.clone();
                        self.pos += 1;
                        (n, true)
                    }
                    _ => return Err(format!("unexpected token not ({})", self.at())),
                },
                Tok::Ident(s) => (s.clone(), false),
                Tok::Op(o) => (o.to_string(), false),
                _ => break,
            };
            let rhs = self.expr(if right { prec } else { prec + 1 })?;
            let node = self.combine(&name, left, rhs)?;
            left = if negate {
                Node::Not(Box::new(node))
            } else {
                node
            };
        }
        Ok(left)
    }

    fn combine(&self, name: &str, l: Node, r: Node) -> Result<Node, String> {
        let (l, r) = (Box::new(l), Box::new(r));
        Ok(match name {
            "or" | "||" => Node::Or(l, r),
            "and" | "&&" => Node::And(l, r),
            "??" => Node::Coalesce(l, r),
            "matches" => {
                let re = match &*r {
                    Node::Lit(Value::Str(p)) => {
                        Some(Box::new(goregex::Matcher::new(goregex::compile(p)?)))
                    }
                    Node::Lit(other) => {
                        return Err(format!(
                            "invalid operation: matches (mismatched types string and {})",
                            view(other).type_name()
                        ));
                    }
                    _ => None,
                };
                Node::Matches(l, r, re)
            }
            _ => Node::Binary(
                match name {
                    "==" => BinOp::Eq,
                    "!=" => BinOp::Ne,
                    "<" => BinOp::Lt,
                    ">" => BinOp::Gt,
                    "<=" => BinOp::Le,
                    ">=" => BinOp::Ge,
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "%" => BinOp::Mod,
                    "**" => BinOp::Pow,
                    "contains" => BinOp::Contains,
                    "startsWith" => BinOp::StartsWith,
                    "endsWith" => BinOp::EndsWith,
                    "in" => BinOp::In,
                    other => return Err(format!("unsupported operator {other}")),
                },
                l,
                r,
            ),
        })
    }

    fn unary(&mut self) -> Result<Node, String> {
        match self.peek() {
            Some(Tok::Op("!")) => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.expr(50)?)))
            }
            Some(Tok::Ident(s)) if s == "not" => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.expr(50)?)))
            }
            Some(Tok::Op("-")) => {
                self.pos += 1;
                let n = self.expr(90)?;
                Ok(match n {
                    Node::Lit(Value::Int(i)) => Node::Lit(Value::Int(-i)),
                    Node::Lit(Value::Float(x)) => Node::Lit(Value::Float(-x)),
                    n => Node::Neg(Box::new(n)),
                })
            }
            Some(Tok::Op("+")) => {
                self.pos += 1;
                self.expr(90)
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> Result<Node, String> {
        let mut node = self.primary()?;
        loop {
            self.deeper()?;
            if self.is_op(".") || self.is_op("?.") {
                let optional = self.is_op("?.");
                self.pos += 1;
                if optional && self.is_op("[") {
                    self.pos += 1;
                    let key = self.expr(0)?;
                    self.expect("]")?;
                    node = Node::Member {
                        obj: Box::new(node),
                        key: Box::new(key),
                        optional,
                    };
                    continue;
                }
                let name = match self.peek() {
                    Some(Tok::Ident(n)) => n.clone(),
                    _ => return Err(format!("expected name ({})", self.at())),
                };
                self.pos += 1;
                if self.is_op("(") {
                    return Err(format!("methods are not supported: {name} ({})", self.at()));
                }
                node = Node::Member {
                    obj: Box::new(node),
                    key: Box::new(Node::Lit(Value::from(name))),
                    optional,
                };
            } else if self.is_op("[") {
                self.pos += 1;
                let key = self.expr(0)?;
                self.expect("]")?;
                node = Node::Member {
                    obj: Box::new(node),
                    key: Box::new(key),
                    optional: false,
                };
            } else {
                return Ok(node);
            }
        }
    }

    fn primary(&mut self) -> Result<Node, String> {
        let at = self.at();
        let Some(tok) = self.peek().cloned() else {
            return Err(format!("unexpected token EOF ({at})"));
        };
        self.pos += 1;
        Ok(match tok {
            Tok::Int(i) => Node::Lit(Value::Int(i)),
            Tok::Float(x) => Node::Lit(Value::Float(x)),
            Tok::Str(s) => Node::Lit(Value::from(s)),
            Tok::Op("(") => {
                let n = self.expr(0)?;
                self.expect(")")?;
                n
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expr(0)?);
                    if !self.is_op("]") {
                        self.expect(",")?;
                    }
                }
                self.pos += 1;
                Node::Array(items)
            }
            Tok::Op("{") => {
                let mut pairs = Vec::new();
                while !self.is_op("}") {
                    let key = match self.peek().cloned() {
                        Some(Tok::Ident(k)) => {
                            self.pos += 1;
                            Node::Lit(Value::from(k))
                        }
                        _ => self.expr(0)?,
                    };
                    self.expect(":")?;
                    pairs.push((key, self.expr(0)?));
                    if !self.is_op("}") {
                        self.expect(",")?;
                    }
                }
                self.pos += 1;
                Node::MapLit(pairs)
            }
            Tok::Ident(name) => {
                if self.is_op("(") {
                    self.pos += 1;
                    let mut args = Vec::new();
                    while !self.is_op(")") {
                        args.push(self.expr(0)?);
                        if !self.is_op(")") {
                            self.expect(",")?;
                        }
                    }
                    self.pos += 1;
                    return function(&name, args, &at);
                }
                match name.as_str() {
                    "true" => Node::Lit(Value::Bool(true)),
                    "false" => Node::Lit(Value::Bool(false)),
                    "nil" => Node::Lit(Value::Nil),
                    "body" | "$" => Node::Var(Var::Body),
                    "attributes" => Node::Var(Var::Attributes),
                    "resource" => Node::Var(Var::Resource),
                    "timestamp" => Node::Var(Var::Timestamp),
                    // AllowUndefinedVariables: unknown names are nil.
                    _ => Node::Lit(Value::Nil),
                }
            }
            Tok::Op(_) => return Err(format!("unexpected token {tok} ({at})")),
        })
    }
}

fn function(name: &str, args: Vec<Node>, at: &str) -> Result<Node, String> {
    let (f, min, max) = match name {
        "env" => (Func::Env, 1, 1),
        "len" => (Func::Len, 1, 1),
        "lower" => (Func::Lower, 1, 1),
        "upper" => (Func::Upper, 1, 1),
        "trim" => (Func::Trim, 1, 2),
        "trimPrefix" => (Func::TrimPrefix, 2, 2),
        "trimSuffix" => (Func::TrimSuffix, 2, 2),
        "hasPrefix" => (Func::HasPrefix, 2, 2),
        "hasSuffix" => (Func::HasSuffix, 2, 2),
        "split" => (Func::Split, 2, 2),
        "replace" => (Func::Replace, 3, 3),
        "indexOf" => (Func::IndexOf, 2, 2),
        "int" => (Func::Int, 1, 1),
        "float" => (Func::Float, 1, 1),
        "string" => (Func::String, 1, 1),
        _ => return Err(format!("unknown func {name} ({at})")),
    };
    if args.len() < min {
        return Err(format!("not enough arguments to call {name} ({at})"));
    }
    if args.len() > max {
        return Err(format!("too many arguments to call {name} ({at})"));
    }
    Ok(Node::Call(f, args))
}

// ---------------------------------------------------------------------------------------
// Strings with embedded EXPR(...)

/// A string with `EXPR(...)` segments (Go `ExprStringConfig`), e.g. attribute values of
/// inputs and router routes.
#[derive(Clone, Debug)]
pub struct ExprString {
    literals: Vec<String>,
    exprs: Vec<Expr>,
}

impl ExprString {
    /// Splits at `EXPR(` and the last `)` before the next `EXPR(` (Go's rule) and compiles
    /// each expression.
    pub fn parse(s: &str) -> Result<ExprString, String> {
        const START: &str = "EXPR(";
        let mut literals = Vec::new();
        let mut sources = Vec::new();
        let mut range_start = 0;
        loop {
            let Some(idx) = s[range_start..].find(START) else {
                literals.push(s[range_start..].to_string());
                break;
            };
            let index_start = range_start + idx;
            let range_end = match s[index_start + START.len()..].find(START) {
                Some(n) => index_start + START.len() + n,
                None => s.len(),
            };
            let Some(end) = s[index_start..range_end].rfind(')') else {
                literals.push(s[range_start..].to_string());
                break;
            };
            let index_end = index_start + end;
            literals.push(s[range_start..index_start].to_string());
            sources.push(&s[index_start + START.len()..index_end]);
            range_start = index_end + 1;
            if range_start > s.len() {
                break;
            }
        }
        // A string ending right after `)` leaves the final literal to add.
        if literals.len() == sources.len() {
            literals.push(String::new());
        }
        let exprs = sources
            .into_iter()
            .map(|src| Expr::compile(src).map_err(|e| format!("compile embedded expression: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(ExprString { literals, exprs })
    }

    /// True when the string has no `EXPR(...)` (render is then a copy of the text).
    pub fn is_static(&self) -> bool {
        self.exprs.is_empty()
    }

    pub fn render(&self, e: &Entry) -> Result<String, String> {
        if self.exprs.is_empty() {
            return Ok(self.literals[0].clone());
        }
        let mut out = String::new();
        for (lit, ex) in self.literals.iter().zip(&self.exprs) {
            out.push_str(lit);
            let v = ex
                .eval_string(e)
                .map_err(|m| format!("render embedded expression: {m}"))?;
            out.push_str(&v);
        }
        out.push_str(&self.literals[self.literals.len() - 1]);
        Ok(out)
    }
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
