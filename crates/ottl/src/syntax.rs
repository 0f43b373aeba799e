//! The context-free half of the parser: Go's OTTL lexer rules (`grammar.go` `buildLexer`) and a
//! recursive-descent reading of its grammar into a syntax tree. Nothing here knows contexts or
//! functions; `compile` resolves the tree against both.

use std::fmt;

/// A position in the statement: 1-based line and column, as participle reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Bytes(Vec<u8>),
    Float(f64),
    Int(i64),
    Str(String),
    Not,
    Or,
    And,
    Cmp(CmpOp),
    Math(MathOp),
    Bool(bool),
    Nil,
    Equal,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Comma,
    Dot,
    /// An identifier: `[A-Za-z][A-Za-z0-9_]*`. Go lexes `IsMatch` as several Uppercase and
    /// Lowercase tokens that its grammar joins back; one token is the same language.
    Ident(String),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            Tok::Float(v) => write!(f, "{v}"),
            Tok::Int(v) => write!(f, "{v}"),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Not => f.write_str("not"),
            Tok::Or => f.write_str("or"),
            Tok::And => f.write_str("and"),
            Tok::Cmp(op) => f.write_str(op.as_str()),
            Tok::Math(op) => f.write_str(op.as_str()),
            Tok::Bool(b) => write!(f, "{b}"),
            Tok::Nil => f.write_str("nil"),
            Tok::Equal => f.write_str("="),
            Tok::LParen => f.write_str("("),
            Tok::RParen => f.write_str(")"),
            Tok::LBrace => f.write_str("{"),
            Tok::RBrace => f.write_str("}"),
            Tok::LBracket => f.write_str("["),
            Tok::RBracket => f.write_str("]"),
            Tok::Colon => f.write_str(":"),
            Tok::Comma => f.write_str(","),
            Tok::Dot => f.write_str("."),
            Tok::Ident(s) => f.write_str(s),
            Tok::Eof => f.write_str("<EOF>"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl MathOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MathOp::Add => "+",
            MathOp::Sub => "-",
            MathOp::Mul => "*",
            MathOp::Div => "/",
        }
    }
}

/// A syntax error: where and why, in participle's words where they exist.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub msg: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.msg)
    }
}

fn pos_at(src: &str, offset: usize) -> Pos {
    let before = &src[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos { line, col }
}

pub fn lex(src: &str) -> Result<Vec<(Tok, Pos)>, SyntaxError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let pos = pos_at(src, start);
        let err = |msg: String| SyntaxError { pos, msg };
        let invalid = |from: usize| {
            let rest: String = src[from..].chars().take(40).collect();
            SyntaxError {
                pos,
                msg: format!("invalid input text {rest:?}"),
            }
        };
        let tok = match c {
            b'0' if b.get(i + 1) == Some(&b'x')
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                i += 2;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let bytes = hex::decode(&src[start + 2..i])
                    .map_err(|_| err("encoding/hex: odd length hex string".into()))?;
                Tok::Bytes(bytes)
            }
            b'0'..=b'9' | b'.' | b'-' | b'+' => {
                // Go's rules in order: Float `[-+]?\d*\.\d+([eE][-+]?\d+)?`, Int `[-+]?\d+`,
                // then the operators; so a sign glued to digits belongs to the number.
                let mut j = i;
                if b[j] == b'-' || b[j] == b'+' {
                    j += 1;
                }
                let digits_start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let int_end = j;
                let mut float_end = None;
                if j < b.len() && b[j] == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
                    let mut k = j + 1;
                    while k < b.len() && b[k].is_ascii_digit() {
                        k += 1;
                    }
                    if k < b.len() && (b[k] == b'e' || b[k] == b'E') {
                        let mut m = k + 1;
                        if m < b.len() && (b[m] == b'-' || b[m] == b'+') {
                            m += 1;
                        }
                        if m < b.len() && b[m].is_ascii_digit() {
                            while m < b.len() && b[m].is_ascii_digit() {
                                m += 1;
                            }
                            k = m;
                        }
                    }
                    float_end = Some(k);
                }
                if let Some(end) = float_end {
                    i = end;
                    let v: f64 = src[start..end]
                        .parse()
                        .map_err(|e| err(format!("invalid float {:?}: {e}", &src[start..end])))?;
                    Tok::Float(v)
                } else if int_end > digits_start {
                    i = int_end;
                    let v: i64 = src[start..int_end].parse().map_err(|_| {
                        err(format!(
                            "strconv.ParseInt: parsing {:?}: value out of range",
                            &src[start..int_end]
                        ))
                    })?;
                    Tok::Int(v)
                } else if c == b'+' {
                    i += 1;
                    Tok::Math(MathOp::Add)
                } else if c == b'-' {
                    i += 1;
                    Tok::Math(MathOp::Sub)
                } else {
                    i += 1;
                    Tok::Dot
                }
            }
            b'"' => {
                let (s, end) = lex_string(src, i).ok_or_else(|| invalid(start))?;
                i = end;
                Tok::Str(s.map_err(err)?)
            }
            b'=' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Cmp(CmpOp::Eq)
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Cmp(CmpOp::Ne)
            }
            b'>' | b'<' => {
                let eq = b.get(i + 1) == Some(&b'=');
                i += 1 + eq as usize;
                Tok::Cmp(match (c, eq) {
                    (b'>', true) => CmpOp::Gte,
                    (b'>', false) => CmpOp::Gt,
                    (_, true) => CmpOp::Lte,
                    _ => CmpOp::Lt,
                })
            }
            b'*' => {
                i += 1;
                Tok::Math(MathOp::Mul)
            }
            b'/' => {
                i += 1;
                Tok::Math(MathOp::Div)
            }
            b'=' => {
                i += 1;
                Tok::Equal
            }
            b'(' | b')' | b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                i += 1;
                match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'{' => Tok::LBrace,
                    b'}' => Tok::RBrace,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b':' => Tok::Colon,
                    _ => Tok::Comma,
                }
            }
            c if c.is_ascii_alphabetic() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                match &src[start..i] {
                    "not" => Tok::Not,
                    "or" => Tok::Or,
                    "and" => Tok::And,
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    id => Tok::Ident(id.to_string()),
                }
            }
            _ => return Err(invalid(start)),
        };
        out.push((tok, pos));
    }
    out.push((Tok::Eof, pos_at(src, src.len())));
    Ok(out)
}

/// The string starting at `start` (a `"`): its unquoted value (Go `strconv.Unquote`) and the
/// offset after its closing quote; `None` when it is not terminated.
fn lex_string(src: &str, start: usize) -> Option<(Result<String, String>, usize)> {
    let b = src.as_bytes();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some((unquote(&src[start + 1..i]), i + 1)),
            _ => i += 1,
        }
    }
    None
}

fn unquote(body: &str) -> Result<String, String> {
    let syntax = || "invalid syntax".to_string();
    if !body.contains('\\') {
        if body.contains('\n') {
            return Err(syntax());
        }
        return Ok(body.to_string());
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    let mut bytes: Vec<u8> = Vec::new();
    // \x and octal escapes produce bytes that may form UTF-8 together: collect then decode.
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c == '\n' {
            return Err(syntax());
        }
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(syntax)?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(s) = simple {
            flush(&mut bytes, &mut out);
            out.push(s);
            continue;
        }
        match e {
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                let v = u8::from_str_radix(&h, 16).map_err(|_| syntax())?;
                if h.len() != 2 {
                    return Err(syntax());
                }
                bytes.push(v);
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let oct = format!("{e}{rest}");
                let v = u32::from_str_radix(&oct, 8).map_err(|_| syntax())?;
                if oct.len() != 3 || v > 255 {
                    return Err(syntax());
                }
                bytes.push(v as u8);
            }
            'u' | 'U' => {
                flush(&mut bytes, &mut out);
                let n = if e == 'u' { 4 } else { 8 };
                let h: String = chars.by_ref().take(n).collect();
                if h.len() != n {
                    return Err(syntax());
                }
                let v = u32::from_str_radix(&h, 16).map_err(|_| syntax())?;
                out.push(char::from_u32(v).ok_or_else(syntax)?);
            }
            _ => return Err(syntax()),
        }
    }
    flush(&mut bytes, &mut out);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Int(i64),
    /// `attributes[attributes["name"]]`: a key computed from a path or converter.
    Expr(Box<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub pos: Pos,
    pub fields: Vec<Field>,
}

impl Path {
    /// The path as written (`resource.attributes["k"]`), for messages.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&f.name);
            for k in &f.keys {
                match k {
                    Key::Str(k) => s.push_str(&format!("[{k:?}]")),
                    Key::Int(k) => s.push_str(&format!("[{k}]")),
                    Key::Expr(_) => s.push_str("[...]"),
                }
            }
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub pos: Pos,
    pub name: String,
    pub args: Vec<Arg>,
    pub keys: Vec<Key>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub pos: Pos,
    pub name: Option<String>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    /// An all-caps identifier: an enum symbol, or a function name passed as an argument.
    Enum(Pos, String),
    /// A converter name passed as an argument (`IsMatch` without parentheses).
    FuncName(Pos, String),
    Path(Path),
    Call(Box<Call>),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    Math(Box<Value>, MathOp, Box<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoolExpr {
    Const(bool),
    Cmp(Value, CmpOp, Value),
    Call(Box<Call>),
    Not(Box<BoolExpr>),
    And(Vec<BoolExpr>),
    Or(Vec<BoolExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub editor: Call,
    pub condition: Option<BoolExpr>,
}

// ---------------------------------------------------------------------------------------------
// Recursive descent

pub struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
    depth: u32,
}

/// How deep values, conditions and math chains may nest. The tree is walked recursively when
/// compiled, evaluated and dropped: without a bound, `((((...` or `1+1+1...` of a few
/// thousand tokens overflows the stack. Real statements nest a handful of levels.
const MAX_DEPTH: u32 = 100;

type R<T> = Result<T, SyntaxError>;

impl Parser {
    pub fn new(src: &str) -> R<Parser> {
        Ok(Parser {
            toks: lex(src)?,
            i: 0,
            depth: 0,
        })
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                pos: self.pos(),
                msg: format!("expression nested more than {MAX_DEPTH} levels deep"),
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.i + n).min(self.toks.len() - 1)].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.i].1
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        let tok = self.peek();
        let shown = match tok {
            Tok::Eof => "<EOF>".to_string(),
            t => t.to_string(),
        };
        SyntaxError {
            pos: self.pos(),
            msg: if expected.is_empty() {
                format!("unexpected token \"{shown}\"")
            } else {
                format!("unexpected token \"{shown}\" (expected {expected})")
            },
        }
    }

    fn expect(&mut self, t: Tok, shown: &str) -> R<()> {
        if *self.peek() == t {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("\"{shown}\"")))
        }
    }

    fn end(&self) -> R<()> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            Err(self.unexpected(""))
        }
    }

    /// `editor(args) [where cond]`
    pub fn statement(mut self) -> R<Statement> {
        let pos = self.pos();
        let name = match self.peek() {
            Tok::Ident(n) if matches!(self.peek_at(1), Tok::LParen) => n.clone(),
            _ => return Err(self.unexpected("<lowercase>")),
        };
        self.bump();
        let editor = self.call_rest(pos, name)?;
        let condition = match self.peek() {
            Tok::Ident(w) if w == "where" => {
                self.bump();
                Some(self.bool_expr()?)
            }
            _ => None,
        };
        self.end()?;
        Ok(Statement { editor, condition })
    }

    pub fn condition(mut self) -> R<BoolExpr> {
        let c = self.bool_expr()?;
        self.end()?;
        Ok(c)
    }

    /// A value on its own (a value expression as `ottl.ParseValueExpression` reads it).
    pub fn value_expr(mut self) -> R<Value> {
        let v = self.value()?;
        self.end()?;
        Ok(v)
    }

    fn bool_expr(&mut self) -> R<BoolExpr> {
        let mut terms = vec![self.bool_term()?];
        while *self.peek() == Tok::Or {
            self.bump();
            terms.push(self.bool_term()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(BoolExpr::Const(false))
        } else {
            BoolExpr::Or(terms)
        })
    }

    fn bool_term(&mut self) -> R<BoolExpr> {
        let mut vals = vec![self.bool_value()?];
        while *self.peek() == Tok::And {
            self.bump();
            vals.push(self.bool_value()?);
        }
        Ok(if vals.len() == 1 {
            vals.pop().unwrap_or(BoolExpr::Const(false))
        } else {
            BoolExpr::And(vals)
        })
    }

    fn bool_value(&mut self) -> R<BoolExpr> {
        self.enter()?;
        let r = if *self.peek() == Tok::Not {
            self.bump();
            self.bool_value_inner().map(|v| BoolExpr::Not(Box::new(v)))
        } else {
            self.bool_value_inner()
        };
        self.leave();
        r
    }

    /// comparison | true/false | converter | `(` bool_expr `)`. As participle does, a
    /// comparison is tried first and the other readings when it does not parse.
    fn bool_value_inner(&mut self) -> R<BoolExpr> {
        let (save, depth) = (self.i, self.depth);
        let cmp_err = match self.comparison() {
            Ok(c) => return Ok(c),
            Err(e) if e.msg.starts_with("expression nested") => return Err(e),
            Err(e) => e,
        };
        // an alternative reading starts over from the same token and depth
        self.i = save;
        self.depth = depth;
        match self.peek().clone() {
            Tok::Bool(b) => {
                self.bump();
                return Ok(BoolExpr::Const(b));
            }
            Tok::Ident(name)
                if name.starts_with(|c: char| c.is_ascii_uppercase())
                    && *self.peek_at(1) == Tok::LParen =>
            {
                let pos = self.pos();
                self.bump();
                let call = self.call_rest(pos, name)?;
                return Ok(BoolExpr::Call(Box::new(call)));
            }
            Tok::LParen => {
                self.bump();
                match self.bool_expr() {
                    Ok(e) if *self.peek() == Tok::RParen => {
                        self.bump();
                        return Ok(e);
                    }
                    // too deep is final: retrying other readings would only be slower
                    Err(e) if e.msg.starts_with("expression nested") => return Err(e),
                    _ => {}
                }
            }
            _ => {}
        }
        self.i = save;
        self.depth = depth;
        Err(cmp_err)
    }

    fn comparison(&mut self) -> R<BoolExpr> {
        let left = self.value()?;
        let op = match self.peek() {
            Tok::Cmp(op) => *op,
            _ => return Err(self.unexpected("<opcomparison>")),
        };
        self.bump();
        let right = self.value()?;
        Ok(BoolExpr::Cmp(left, op, right))
    }

    /// A value: nil, literals, paths, converters, maps, lists, math expressions.
    fn value(&mut self) -> R<Value> {
        self.enter()?;
        let r = self.value_inner();
        self.leave();
        r
    }

    fn value_inner(&mut self) -> R<Value> {
        match self.peek() {
            Tok::Nil => {
                self.bump();
                Ok(Value::Nil)
            }
            Tok::Bytes(_) => match self.bump() {
                Tok::Bytes(b) => Ok(Value::Bytes(b)),
                _ => unreachable!("peeked"),
            },
            Tok::Str(_) => match self.bump() {
                Tok::Str(s) => Ok(Value::Str(s)),
                _ => unreachable!("peeked"),
            },
            Tok::Bool(b) => {
                let b = *b;
                self.bump();
                Ok(Value::Bool(b))
            }
            Tok::LBrace => self.map(),
            Tok::LBracket => self.list(),
            Tok::Ident(name)
                if is_enum_name(name)
                    && !matches!(self.peek_at(1), Tok::LParen | Tok::LBracket) =>
            {
                let pos = self.pos();
                let name = name.clone();
                self.bump();
                Ok(Value::Enum(pos, name))
            }
            _ => self.math_expr(),
        }
    }

    fn math_expr(&mut self) -> R<Value> {
        self.enter()?;
        let saved = self.depth;
        let mut left = self.math_term()?;
        while let Tok::Math(op @ (MathOp::Add | MathOp::Sub)) = *self.peek() {
            self.bump();
            // each operator nests the tree one level deeper
            self.enter()?;
            let right = self.math_term()?;
            left = Value::Math(Box::new(left), op, Box::new(right));
        }
        self.depth = saved - 1;
        Ok(left)
    }

    fn math_term(&mut self) -> R<Value> {
        let saved = self.depth;
        let mut left = self.math_value()?;
        while let Tok::Math(op @ (MathOp::Mul | MathOp::Div)) = *self.peek() {
            self.bump();
            self.enter()?;
            let right = self.math_value()?;
            left = Value::Math(Box::new(left), op, Box::new(right));
        }
        self.depth = saved;
        Ok(left)
    }

    fn math_value(&mut self) -> R<Value> {
        match self.peek().clone() {
            Tok::LParen => {
                self.bump();
                let v = self.math_expr()?;
                self.expect(Tok::RParen, ")")?;
                Ok(v)
            }
            Tok::Int(v) => {
                self.bump();
                Ok(Value::Int(v))
            }
            Tok::Float(v) => {
                self.bump();
                Ok(Value::Float(v))
            }
            Tok::Ident(name) => {
                let pos = self.pos();
                if *self.peek_at(1) == Tok::LParen {
                    self.bump();
                    let call = self.call_rest(pos, name.clone())?;
                    if call.name.starts_with(|c: char| c.is_ascii_lowercase()) {
                        return Err(SyntaxError {
                            pos,
                            msg: format!(
                                "converter names must start with an uppercase letter but got '{}'",
                                call.name
                            ),
                        });
                    }
                    return Ok(Value::Call(Box::new(call)));
                }
                if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    // A converter name without parentheses: only valid as a function argument.
                    self.bump();
                    return Ok(Value::FuncName(pos, name));
                }
                self.path().map(Value::Path)
            }
            _ => Err(self.unexpected("")),
        }
    }

    fn path(&mut self) -> R<Path> {
        let pos = self.pos();
        let mut fields = Vec::new();
        loop {
            let name = match self.peek() {
                Tok::Ident(n) if n.starts_with(|c: char| c.is_ascii_lowercase()) => n.clone(),
                _ => return Err(self.unexpected("<lowercase>")),
            };
            self.bump();
            let keys = self.keys()?;
            fields.push(Field { name, keys });
            if *self.peek() == Tok::Dot {
                self.bump();
            } else {
                break;
            }
        }
        Ok(Path { pos, fields })
    }

    fn keys(&mut self) -> R<Vec<Key>> {
        let mut keys = Vec::new();
        while *self.peek() == Tok::LBracket {
            self.bump();
            let key = match self.peek().clone() {
                Tok::Str(s) if *self.peek_at(1) == Tok::RBracket => {
                    self.bump();
                    Key::Str(s)
                }
                Tok::Int(v) if *self.peek_at(1) == Tok::RBracket => {
                    self.bump();
                    Key::Int(v)
                }
                _ => Key::Expr(Box::new(self.math_expr()?)),
            };
            self.expect(Tok::RBracket, "]")?;
            keys.push(key);
        }
        Ok(keys)
    }

    fn call_rest(&mut self, pos: Pos, name: String) -> R<Call> {
        self.expect(Tok::LParen, "(")?;
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                let apos = self.pos();
                let arg_name = match (self.peek(), self.peek_at(1)) {
                    (Tok::Ident(n), Tok::Equal) => {
                        let n = n.clone();
                        self.bump();
                        self.bump();
                        Some(n)
                    }
                    _ => None,
                };
                let value = self.value()?;
                args.push(Arg {
                    pos: apos,
                    name: arg_name,
                    value,
                });
                if *self.peek() == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, ")")?;
        let keys = self.keys()?;
        Ok(Call {
            pos,
            name,
            args,
            keys,
        })
    }

    fn list(&mut self) -> R<Value> {
        self.expect(Tok::LBracket, "[")?;
        let mut items = Vec::new();
        while *self.peek() != Tok::RBracket {
            items.push(self.value()?);
            if *self.peek() == Tok::Comma {
                self.bump();
            } else {
                break;
            }
        }
        self.expect(Tok::RBracket, "]")?;
        Ok(Value::List(items))
    }

    fn map(&mut self) -> R<Value> {
        self.expect(Tok::LBrace, "{")?;
        let mut items = Vec::new();
        while *self.peek() != Tok::RBrace {
            let key = match self.peek().clone() {
                Tok::Str(s) => s,
                _ => return Err(self.unexpected("<string>")),
            };
            self.bump();
            self.expect(Tok::Colon, ":")?;
            items.push((key, self.value()?));
            if *self.peek() == Tok::Comma {
                self.bump();
            }
        }
        self.expect(Tok::RBrace, "}")?;
        Ok(Value::Map(items))
    }
}

/// `@Uppercase (?! Lowercase)`: all capitals, digits and underscores.
fn is_enum_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Visits every path of a statement or condition (context inference, validation).
pub fn walk_paths_bool(e: &BoolExpr, f: &mut dyn FnMut(&Path)) {
    match e {
        BoolExpr::Const(_) => {}
        BoolExpr::Cmp(l, _, r) => {
            walk_paths_value(l, f);
            walk_paths_value(r, f);
        }
        BoolExpr::Call(c) => walk_paths_call(c, f),
        BoolExpr::Not(e) => walk_paths_bool(e, f),
        BoolExpr::And(v) | BoolExpr::Or(v) => v.iter().for_each(|e| walk_paths_bool(e, f)),
    }
}

pub fn walk_paths_call(c: &Call, f: &mut dyn FnMut(&Path)) {
    for a in &c.args {
        walk_paths_value(&a.value, f);
    }
    walk_keys(&c.keys, f);
}

fn walk_keys(keys: &[Key], f: &mut dyn FnMut(&Path)) {
    for k in keys {
        if let Key::Expr(v) = k {
            walk_paths_value(v, f);
        }
    }
}

pub fn walk_paths_value(v: &Value, f: &mut dyn FnMut(&Path)) {
    match v {
        Value::Path(p) => {
            f(p);
            for field in &p.fields {
                walk_keys(&field.keys, f);
            }
        }
        Value::Call(c) => walk_paths_call(c, f),
        Value::List(items) => items.iter().for_each(|v| walk_paths_value(v, f)),
        Value::Map(items) => items.iter().for_each(|(_, v)| walk_paths_value(v, f)),
        Value::Math(l, _, r) => {
            walk_paths_value(l, f);
            walk_paths_value(r, f);
        }
        _ => {}
    }
}

/// Visits every function call (editor and converters) of a statement or condition.
pub fn walk_calls_value(v: &Value, f: &mut dyn FnMut(&Call)) {
    match v {
        Value::Call(c) => walk_calls(c, f),
        Value::List(items) => items.iter().for_each(|v| walk_calls_value(v, f)),
        Value::Map(items) => items.iter().for_each(|(_, v)| walk_calls_value(v, f)),
        Value::Math(l, _, r) => {
            walk_calls_value(l, f);
            walk_calls_value(r, f);
        }
        Value::Path(p) => {
            for field in &p.fields {
                for k in &field.keys {
                    if let Key::Expr(v) = k {
                        walk_calls_value(v, f);
                    }
                }
            }
        }
        _ => {}
    }
}

pub fn walk_calls(c: &Call, f: &mut dyn FnMut(&Call)) {
    f(c);
    for a in &c.args {
        walk_calls_value(&a.value, f);
    }
}

pub fn walk_calls_bool(e: &BoolExpr, f: &mut dyn FnMut(&Call)) {
    match e {
        BoolExpr::Const(_) => {}
        BoolExpr::Cmp(l, _, r) => {
            walk_calls_value(l, f);
            walk_calls_value(r, f);
        }
        BoolExpr::Call(c) => walk_calls(c, f),
        BoolExpr::Not(e) => walk_calls_bool(e, f),
        BoolExpr::And(v) | BoolExpr::Or(v) => v.iter().for_each(|e| walk_calls_bool(e, f)),
    }
}
