//! The XPath 1.0 subset the XML converters take (Go uses antchfx/xpath): absolute and
//! relative location paths, `//`, `.`, `..`, `@attr`, `@*`, `*`, `prefix:*`, the axes
//! `child`, `attribute`, `self`, `parent`, `descendant`, `descendant-or-self`, `ancestor`,
//! `ancestor-or-self`, `following-sibling`, `preceding-sibling`; the node tests `text()`,
//! `comment()`, `node()`, `processing-instruction()`; predicates (positional `[n]`,
//! `[last()]`, boolean); `or`, `and`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`, `*`, `div`,
//! `mod`, unary `-`, `|`, string and number literals, parentheses; and the functions
//! `not`, `true`, `false`, `boolean`, `number`, `string`, `concat`, `contains`,
//! `starts-with`, `ends-with`, `string-length`, `normalize-space`, `local-name`, `name`,
//! `count`, `position`, `last`. Anything else (variables, other axes or functions) is
//! refused when the expression is compiled, naming the expression.

use super::{Doc, Kind, ROOT, local};

/// A node of the tree, or an attribute of an element (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeRef {
    Node(usize),
    Attr(usize, usize),
}

impl NodeRef {
    /// Document order: node ids grow in document order while parsing; an element's
    /// attributes come right after it.
    fn key(self) -> (usize, usize) {
        match self {
            NodeRef::Node(n) => (n, 0),
            NodeRef::Attr(n, i) => (n, i + 1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    Child,
    Attribute,
    Itself,
    Parent,
    Descendant,
    DescendantOrSelf,
    Ancestor,
    AncestorOrSelf,
    FollowingSibling,
    PrecedingSibling,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Name(String),
    Prefix(String),
    Any,
    Text,
    Comment,
    Node,
    ProcInst,
}

#[derive(Debug, Clone)]
struct Step {
    axis: Axis,
    test: Test,
    preds: Vec<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Union,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Not,
    True,
    False,
    Boolean,
    Number,
    String,
    Concat,
    Contains,
    StartsWith,
    EndsWith,
    StringLength,
    NormalizeSpace,
    LocalName,
    Name,
    Count,
    Position,
    Last,
}

impl Func {
    fn lookup(name: &str) -> Option<(Func, usize, usize)> {
        Some(match name {
            "not" => (Func::Not, 1, 1),
            "true" => (Func::True, 0, 0),
            "false" => (Func::False, 0, 0),
            "boolean" => (Func::Boolean, 1, 1),
            "number" => (Func::Number, 0, 1),
            "string" => (Func::String, 0, 1),
            "concat" => (Func::Concat, 2, usize::MAX),
            "contains" => (Func::Contains, 2, 2),
            "starts-with" => (Func::StartsWith, 2, 2),
            "ends-with" => (Func::EndsWith, 2, 2),
            "string-length" => (Func::StringLength, 0, 1),
            "normalize-space" => (Func::NormalizeSpace, 0, 1),
            "local-name" => (Func::LocalName, 0, 1),
            "name" => (Func::Name, 0, 1),
            "count" => (Func::Count, 1, 1),
            "position" => (Func::Position, 0, 0),
            "last" => (Func::Last, 0, 0),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
enum Expr {
    Bin(Op, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Path {
        absolute: bool,
        steps: Vec<Step>,
    },
    Filter {
        primary: Box<Expr>,
        preds: Vec<Expr>,
        steps: Vec<Step>,
    },
    Lit(String),
    Num(f64),
    Call(Func, Vec<Expr>),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) struct XPath {
    expr: Expr,
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Slash,
    DSlash,
    LBracket,
    RBracket,
    LParen,
    RParen,
    At,
    Comma,
    Dot,
    DDot,
    Pipe,
    Plus,
    Minus,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Axis(String),
    Lit(String),
    Num(f64),
    Name(String),
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        let tok = match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            '/' if next == Some('/') => {
                i += 1;
                Tok::DSlash
            }
            '/' => Tok::Slash,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '@' => Tok::At,
            ',' => Tok::Comma,
            '|' => Tok::Pipe,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '=' => Tok::Eq,
            '!' if next == Some('=') => {
                i += 1;
                Tok::Ne
            }
            '<' if next == Some('=') => {
                i += 1;
                Tok::Le
            }
            '<' => Tok::Lt,
            '>' if next == Some('=') => {
                i += 1;
                Tok::Ge
            }
            '>' => Tok::Gt,
            '.' if next == Some('.') => {
                i += 1;
                Tok::DDot
            }
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => Tok::Dot,
            '"' | '\'' => {
                let end = cs[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or("unterminated string literal")?;
                let lit: String = cs[i + 1..i + 1 + end].iter().collect();
                i += end + 1;
                Tok::Lit(lit)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                    i += 1;
                }
                let n: String = cs[start..i].iter().collect();
                out.push(Tok::Num(
                    n.parse().map_err(|_| format!("invalid number {n:?}"))?,
                ));
                continue;
            }
            c if is_name_start(c) => {
                let start = i;
                while i < cs.len() && is_name_char(cs[i]) {
                    i += 1;
                }
                // one `:` continues a qualified name (or `prefix:*`); `::` ends an axis name
                if i + 1 < cs.len()
                    && cs[i] == ':'
                    && cs[i + 1] != ':'
                    && (is_name_start(cs[i + 1]) || cs[i + 1] == '*')
                {
                    i += 1;
                    if cs[i] == '*' {
                        i += 1;
                    } else {
                        while i < cs.len() && is_name_char(cs[i]) {
                            i += 1;
                        }
                    }
                }
                let name: String = cs[start..i].iter().collect();
                let mut j = i;
                while j < cs.len() && cs[j].is_whitespace() {
                    j += 1;
                }
                if j + 1 < cs.len() && cs[j] == ':' && cs[j + 1] == ':' {
                    out.push(Tok::Axis(name));
                    i = j + 2;
                } else {
                    out.push(Tok::Name(name));
                }
                continue;
            }
            '$' => return Err("variables are not supported".into()),
            other => return Err(format!("unexpected character {other:?}")),
        };
        out.push(tok);
        i += 1;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Nesting bound: a literal expression cannot recurse the compiler off the stack.
const MAX_NESTING: usize = 64;
/// Operator bound: a left-deep chain (`1+1+...`) is a tree as deep as it is long, and the
/// evaluator recurses over it.
const MAX_OPERATORS: usize = 256;

struct P {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    ops: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if self.eat(&t) {
            Ok(())
        } else {
            Err(format!("expected {t:?}, found {:?}", self.peek()))
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn bin(&mut self, op: Op, l: Expr, r: Expr) -> Result<Expr, String> {
        self.ops += 1;
        if self.ops > MAX_OPERATORS {
            return Err(format!("more than {MAX_OPERATORS} operators"));
        }
        Ok(Expr::Bin(op, Box::new(l), Box::new(r)))
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("expression nested too deeply".into());
        }
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat_word("or") {
            let r = self.and()?;
            l = self.bin(Op::Or, l, r)?;
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.equality()?;
        while self.eat_word("and") {
            let r = self.equality()?;
            l = self.bin(Op::And, l, r)?;
        }
        Ok(l)
    }

    fn equality(&mut self) -> Result<Expr, String> {
        let mut l = self.relational()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Eq) => Op::Eq,
                Some(Tok::Ne) => Op::Ne,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.relational()?;
            l = self.bin(op, l, r)?;
        }
    }

    fn relational(&mut self) -> Result<Expr, String> {
        let mut l = self.additive()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Lt) => Op::Lt,
                Some(Tok::Le) => Op::Le,
                Some(Tok::Gt) => Op::Gt,
                Some(Tok::Ge) => Op::Ge,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.additive()?;
            l = self.bin(op, l, r)?;
        }
    }

    fn additive(&mut self) -> Result<Expr, String> {
        let mut l = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Plus) => Op::Add,
                Some(Tok::Minus) => Op::Sub,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.multiplicative()?;
            l = self.bin(op, l, r)?;
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        loop {
            // in operator position `*`, `div` and `mod` are operators, not name tests
            let op = match self.peek() {
                Some(Tok::Star) => Op::Mul,
                Some(Tok::Name(n)) if n == "div" => Op::Div,
                Some(Tok::Name(n)) if n == "mod" => Op::Mod,
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.unary()?;
            l = self.bin(op, l, r)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(&Tok::Minus) {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err("expression nested too deeply".into());
            }
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        let mut l = self.path_expr()?;
        while self.eat(&Tok::Pipe) {
            let r = self.path_expr()?;
            l = self.bin(Op::Union, l, r)?;
        }
        Ok(l)
    }

    fn starts_primary(&self) -> bool {
        match self.peek() {
            Some(Tok::Lit(_) | Tok::Num(_) | Tok::LParen) => true,
            Some(Tok::Name(n)) => {
                self.peek_at(1) == Some(&Tok::LParen)
                    && !matches!(
                        n.as_str(),
                        "text" | "comment" | "node" | "processing-instruction"
                    )
            }
            _ => false,
        }
    }

    fn path_expr(&mut self) -> Result<Expr, String> {
        if self.starts_primary() {
            let primary = self.primary()?;
            let mut preds = Vec::new();
            while self.peek() == Some(&Tok::LBracket) {
                preds.push(self.predicate()?);
            }
            let mut steps = Vec::new();
            if matches!(self.peek(), Some(Tok::Slash | Tok::DSlash)) {
                self.relative_steps(&mut steps, true)?;
            }
            if preds.is_empty() && steps.is_empty() {
                return Ok(primary);
            }
            return Ok(Expr::Filter {
                primary: Box::new(primary),
                preds,
                steps,
            });
        }
        let mut steps = Vec::new();
        let absolute = matches!(self.peek(), Some(Tok::Slash | Tok::DSlash));
        if self.eat(&Tok::Slash) {
            // a lone `/` is the document
            if self.starts_step() {
                self.relative_steps(&mut steps, false)?;
            }
        } else if self.eat(&Tok::DSlash) {
            steps.push(desc_or_self());
            self.relative_steps(&mut steps, false)?;
        } else {
            self.relative_steps(&mut steps, false)?;
        }
        Ok(Expr::Path { absolute, steps })
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Some(Tok::Name(_) | Tok::Star | Tok::At | Tok::Dot | Tok::DDot | Tok::Axis(_))
        )
    }

    /// Steps separated by `/` or `//`; `leading_sep` when a separator comes first.
    fn relative_steps(&mut self, steps: &mut Vec<Step>, leading_sep: bool) -> Result<(), String> {
        if !leading_sep {
            steps.push(self.step()?);
        }
        loop {
            if self.eat(&Tok::Slash) {
                steps.push(self.step()?);
            } else if self.eat(&Tok::DSlash) {
                steps.push(desc_or_self());
                steps.push(self.step()?);
            } else {
                return Ok(());
            }
        }
    }

    fn step(&mut self) -> Result<Step, String> {
        if self.eat(&Tok::Dot) {
            return Ok(Step {
                axis: Axis::Itself,
                test: Test::Node,
                preds: Vec::new(),
            });
        }
        if self.eat(&Tok::DDot) {
            return Ok(Step {
                axis: Axis::Parent,
                test: Test::Node,
                preds: Vec::new(),
            });
        }
        let axis = if self.eat(&Tok::At) {
            Axis::Attribute
        } else if let Some(Tok::Axis(a)) = self.peek().cloned() {
            self.pos += 1;
            match a.as_str() {
                "child" => Axis::Child,
                "attribute" => Axis::Attribute,
                "self" => Axis::Itself,
                "parent" => Axis::Parent,
                "descendant" => Axis::Descendant,
                "descendant-or-self" => Axis::DescendantOrSelf,
                "ancestor" => Axis::Ancestor,
                "ancestor-or-self" => Axis::AncestorOrSelf,
                "following-sibling" => Axis::FollowingSibling,
                "preceding-sibling" => Axis::PrecedingSibling,
                other => return Err(format!("axis {other}:: is not supported")),
            }
        } else {
            Axis::Child
        };
        let test = match self.peek().cloned() {
            Some(Tok::Star) => {
                self.pos += 1;
                Test::Any
            }
            Some(Tok::Name(n)) => {
                self.pos += 1;
                if self.peek() == Some(&Tok::LParen) {
                    let t = match n.as_str() {
                        "text" => Test::Text,
                        "comment" => Test::Comment,
                        "node" => Test::Node,
                        "processing-instruction" => Test::ProcInst,
                        other => {
                            return Err(format!("function {other}() is not supported here"));
                        }
                    };
                    self.pos += 1;
                    if t == Test::ProcInst && matches!(self.peek(), Some(Tok::Lit(_))) {
                        return Err("processing-instruction(name) is not supported".into());
                    }
                    self.expect(Tok::RParen)?;
                    t
                } else if let Some(p) = n.strip_suffix(":*") {
                    Test::Prefix(p.to_string())
                } else {
                    Test::Name(n)
                }
            }
            other => return Err(format!("expected a node test, found {other:?}")),
        };
        let mut preds = Vec::new();
        while self.peek() == Some(&Tok::LBracket) {
            preds.push(self.predicate()?);
        }
        Ok(Step { axis, test, preds })
    }

    fn predicate(&mut self) -> Result<Expr, String> {
        self.expect(Tok::LBracket)?;
        let e = self.expr()?;
        self.expect(Tok::RBracket)?;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Tok::Lit(s)) => {
                self.pos += 1;
                Ok(Expr::Lit(s))
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Name(n)) => {
                self.pos += 1;
                let (f, min, max) =
                    Func::lookup(&n).ok_or_else(|| format!("function {n}() is not supported"))?;
                self.expect(Tok::LParen)?;
                let mut args = Vec::new();
                if !self.eat(&Tok::RParen) {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(&Tok::RParen) {
                            break;
                        }
                        self.expect(Tok::Comma)?;
                    }
                }
                if args.len() < min || args.len() > max {
                    return Err(format!("wrong number of arguments to {n}()"));
                }
                if matches!(f, Func::Count | Func::LocalName | Func::Name)
                    && args.first().is_some_and(|a| !may_be_nodes(a))
                {
                    return Err(format!("{n}() needs a node-set argument"));
                }
                Ok(Expr::Call(f, args))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn may_be_nodes(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Path { .. } | Expr::Filter { .. } | Expr::Bin(Op::Union, ..)
    )
}

fn desc_or_self() -> Step {
    Step {
        axis: Axis::DescendantOrSelf,
        test: Test::Node,
        preds: Vec::new(),
    }
}

impl XPath {
    /// Compiles `src`; the error names the expression.
    pub(crate) fn compile(src: &str) -> Result<XPath, String> {
        let fail = |e: String| format!("{src:?}: {e}");
        if src.trim().is_empty() {
            return Err(fail("empty expression".into()));
        }
        let toks = lex(src).map_err(fail)?;
        let mut p = P {
            toks,
            pos: 0,
            depth: 0,
            ops: 0,
        };
        let expr = p.expr().map_err(fail)?;
        if p.pos != p.toks.len() {
            return Err(fail(format!("unexpected {:?}", p.toks[p.pos])));
        }
        Ok(XPath { expr })
    }

    /// The nodes the expression selects from the document, in document order; an
    /// expression of another type selects nothing (antchfx `QueryAll`).
    pub(crate) fn query(&self, doc: &Doc) -> Result<Vec<NodeRef>, String> {
        let ctx = Ctx {
            node: NodeRef::Node(ROOT),
            pos: 1,
            size: 1,
        };
        match eval(doc, &self.expr, &ctx)? {
            XVal::Nodes(n) => Ok(n),
            _ => Ok(Vec::new()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Debug, Clone)]
enum XVal {
    Nodes(Vec<NodeRef>),
    Str(String),
    Num(f64),
    Bool(bool),
}

struct Ctx {
    node: NodeRef,
    pos: usize,
    size: usize,
}

/// Declarations and DOCTYPEs are not part of the XPath view of the tree.
fn visible(doc: &Doc, id: usize) -> bool {
    !matches!(doc.nodes[id].kind, Kind::Declaration | Kind::Notation)
}

fn children(doc: &Doc, n: NodeRef) -> Vec<NodeRef> {
    match n {
        NodeRef::Node(id) => doc
            .children(id)
            .into_iter()
            .filter(|&c| visible(doc, c))
            .map(NodeRef::Node)
            .collect(),
        NodeRef::Attr(..) => Vec::new(),
    }
}

fn parent(doc: &Doc, n: NodeRef) -> Option<NodeRef> {
    match n {
        NodeRef::Node(id) => doc.nodes[id].parent.map(NodeRef::Node),
        NodeRef::Attr(id, _) => Some(NodeRef::Node(id)),
    }
}

fn descendants(doc: &Doc, n: NodeRef, out: &mut Vec<NodeRef>) {
    let mut stack: Vec<NodeRef> = children(doc, n).into_iter().rev().collect();
    let budget = doc.nodes.len();
    let mut seen = 0;
    while let Some(c) = stack.pop() {
        seen += 1;
        if seen > budget {
            break;
        }
        out.push(c);
        stack.extend(children(doc, c).into_iter().rev());
    }
}

fn axis_nodes(doc: &Doc, n: NodeRef, axis: Axis) -> Vec<NodeRef> {
    let mut out = Vec::new();
    match axis {
        Axis::Child => out = children(doc, n),
        Axis::Attribute => {
            if let NodeRef::Node(id) = n
                && doc.nodes[id].kind == Kind::Element
            {
                out = (0..doc.nodes[id].attrs.len())
                    .map(|i| NodeRef::Attr(id, i))
                    .collect();
            }
        }
        Axis::Itself => out.push(n),
        Axis::Parent => out.extend(parent(doc, n)),
        Axis::Descendant => descendants(doc, n, &mut out),
        Axis::DescendantOrSelf => {
            out.push(n);
            descendants(doc, n, &mut out);
        }
        Axis::Ancestor | Axis::AncestorOrSelf => {
            if axis == Axis::AncestorOrSelf {
                out.push(n);
            }
            let mut p = parent(doc, n);
            while let Some(x) = p {
                if out.len() > doc.nodes.len() {
                    break;
                }
                out.push(x);
                p = parent(doc, x);
            }
        }
        Axis::FollowingSibling | Axis::PrecedingSibling => {
            if let NodeRef::Node(id) = n
                && doc.nodes[id].parent.is_some()
            {
                let mut s = if axis == Axis::FollowingSibling {
                    doc.nodes[id].next
                } else {
                    doc.nodes[id].prev
                };
                while let Some(x) = s {
                    if out.len() > doc.nodes.len() {
                        break;
                    }
                    if visible(doc, x) {
                        out.push(NodeRef::Node(x));
                    }
                    s = if axis == Axis::FollowingSibling {
                        doc.nodes[x].next
                    } else {
                        doc.nodes[x].prev
                    };
                }
            }
        }
    }
    out
}

fn matches_test(doc: &Doc, n: NodeRef, axis: Axis, test: &Test) -> bool {
    match n {
        NodeRef::Attr(id, i) => {
            let name = &doc.nodes[id].attrs[i].0;
            // attributes are only the principal node type of the attribute axis
            let principal = axis == Axis::Attribute;
            match test {
                Test::Node => true,
                Test::Any => principal,
                Test::Name(q) => principal && name_matches(name, q),
                Test::Prefix(p) => principal && name.split_once(':').is_some_and(|(x, _)| x == p),
                _ => false,
            }
        }
        NodeRef::Node(id) => {
            let node = &doc.nodes[id];
            match test {
                Test::Node => true,
                Test::Text => matches!(node.kind, Kind::Text | Kind::CData),
                Test::Comment => node.kind == Kind::Comment,
                Test::ProcInst => node.kind == Kind::ProcInst,
                _ if axis == Axis::Attribute || node.kind != Kind::Element => false,
                Test::Any => true,
                Test::Name(q) => name_matches(&node.data, q),
                Test::Prefix(p) => node.data.split_once(':').is_some_and(|(x, _)| x == p),
            }
        }
    }
}

/// A prefixed test matches the qualified name; a plain one the local name.
fn name_matches(name: &str, test: &str) -> bool {
    if test.contains(':') {
        name == test
    } else {
        local(name) == test
    }
}

fn sort_dedup(v: &mut Vec<NodeRef>) {
    v.sort_by_key(|n| n.key());
    v.dedup();
}

/// Applies predicates to `cands` (in axis order), positions counted in that order.
fn filter(doc: &Doc, mut cands: Vec<NodeRef>, preds: &[Expr]) -> Result<Vec<NodeRef>, String> {
    for p in preds {
        let size = cands.len();
        let mut kept = Vec::with_capacity(size);
        for (i, &c) in cands.iter().enumerate() {
            let ctx = Ctx {
                node: c,
                pos: i + 1,
                size,
            };
            let keep = match eval(doc, p, &ctx)? {
                XVal::Num(n) => n == (i + 1) as f64,
                v => boolean(&v),
            };
            if keep {
                kept.push(c);
            }
        }
        cands = kept;
    }
    Ok(cands)
}

fn run_steps(doc: &Doc, mut cur: Vec<NodeRef>, steps: &[Step]) -> Result<Vec<NodeRef>, String> {
    for step in steps {
        let mut next = Vec::new();
        for &c in &cur {
            let cands: Vec<NodeRef> = axis_nodes(doc, c, step.axis)
                .into_iter()
                .filter(|&n| matches_test(doc, n, step.axis, &step.test))
                .collect();
            next.extend(filter(doc, cands, &step.preds)?);
        }
        sort_dedup(&mut next);
        cur = next;
    }
    Ok(cur)
}

fn string_value(doc: &Doc, n: NodeRef) -> String {
    match n {
        NodeRef::Attr(id, i) => doc.nodes[id].attrs[i].1.clone(),
        NodeRef::Node(id) => doc.inner_text(id),
    }
}

fn to_str(doc: &Doc, v: &XVal) -> String {
    match v {
        XVal::Nodes(n) => n.first().map(|&x| string_value(doc, x)).unwrap_or_default(),
        XVal::Str(s) => s.clone(),
        XVal::Num(n) => num_str(*n),
        XVal::Bool(b) => b.to_string(),
    }
}

fn num_str(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == n.trunc() && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn str_num(s: &str) -> f64 {
    s.trim().parse().unwrap_or(f64::NAN)
}

fn to_num(doc: &Doc, v: &XVal) -> f64 {
    match v {
        XVal::Num(n) => *n,
        XVal::Bool(b) => f64::from(u8::from(*b)),
        other => str_num(&to_str(doc, other)),
    }
}

fn boolean(v: &XVal) -> bool {
    match v {
        XVal::Nodes(n) => !n.is_empty(),
        XVal::Str(s) => !s.is_empty(),
        XVal::Num(n) => *n != 0.0 && !n.is_nan(),
        XVal::Bool(b) => *b,
    }
}

fn flip(op: Op) -> Op {
    match op {
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        o => o,
    }
}

fn cmp_num(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        _ => false,
    }
}

/// Two atomic values (XPath 1.0 §3.4).
fn cmp_atomic(doc: &Doc, op: Op, a: &XVal, b: &XVal) -> bool {
    if matches!(op, Op::Eq | Op::Ne) {
        let eq = if matches!(a, XVal::Bool(_)) || matches!(b, XVal::Bool(_)) {
            boolean(a) == boolean(b)
        } else if matches!(a, XVal::Num(_)) || matches!(b, XVal::Num(_)) {
            to_num(doc, a) == to_num(doc, b)
        } else {
            to_str(doc, a) == to_str(doc, b)
        };
        return eq == (op == Op::Eq);
    }
    cmp_num(op, to_num(doc, a), to_num(doc, b))
}

fn compare(doc: &Doc, op: Op, a: &XVal, b: &XVal) -> bool {
    match (a, b) {
        (XVal::Nodes(x), XVal::Nodes(y)) => {
            let ys: Vec<String> = y.iter().map(|&n| string_value(doc, n)).collect();
            x.iter().any(|&n| {
                let xs = XVal::Str(string_value(doc, n));
                ys.iter()
                    .any(|s| cmp_atomic(doc, op, &xs, &XVal::Str(s.clone())))
            })
        }
        (XVal::Nodes(x), XVal::Bool(_)) => cmp_atomic(doc, op, &XVal::Bool(!x.is_empty()), b),
        (XVal::Bool(_), XVal::Nodes(y)) => cmp_atomic(doc, op, a, &XVal::Bool(!y.is_empty())),
        (XVal::Nodes(x), other) => x
            .iter()
            .any(|&n| cmp_atomic(doc, op, &XVal::Str(string_value(doc, n)), other)),
        (other, XVal::Nodes(y)) => y
            .iter()
            .any(|&n| cmp_atomic(doc, flip(op), &XVal::Str(string_value(doc, n)), other)),
        _ => cmp_atomic(doc, op, a, b),
    }
}

fn nodes(v: XVal, what: &str) -> Result<Vec<NodeRef>, String> {
    match v {
        XVal::Nodes(n) => Ok(n),
        _ => Err(format!("{what} needs a node-set")),
    }
}

fn eval(doc: &Doc, e: &Expr, ctx: &Ctx) -> Result<XVal, String> {
    Ok(match e {
        Expr::Lit(s) => XVal::Str(s.clone()),
        Expr::Num(n) => XVal::Num(*n),
        Expr::Neg(x) => XVal::Num(-to_num(doc, &eval(doc, x, ctx)?)),
        Expr::Path { absolute, steps } => {
            let start = if *absolute {
                vec![NodeRef::Node(ROOT)]
            } else {
                vec![ctx.node]
            };
            XVal::Nodes(run_steps(doc, start, steps)?)
        }
        Expr::Filter {
            primary,
            preds,
            steps,
        } => {
            let mut set = nodes(eval(doc, primary, ctx)?, "a filter expression")?;
            sort_dedup(&mut set);
            let set = filter(doc, set, preds)?;
            XVal::Nodes(run_steps(doc, set, steps)?)
        }
        Expr::Bin(op, l, r) => {
            let lv = eval(doc, l, ctx)?;
            match op {
                Op::Or => {
                    if boolean(&lv) {
                        return Ok(XVal::Bool(true));
                    }
                    XVal::Bool(boolean(&eval(doc, r, ctx)?))
                }
                Op::And => {
                    if !boolean(&lv) {
                        return Ok(XVal::Bool(false));
                    }
                    XVal::Bool(boolean(&eval(doc, r, ctx)?))
                }
                Op::Union => {
                    let mut a = nodes(lv, "|")?;
                    a.extend(nodes(eval(doc, r, ctx)?, "|")?);
                    sort_dedup(&mut a);
                    XVal::Nodes(a)
                }
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let rv = eval(doc, r, ctx)?;
                    XVal::Bool(compare(doc, *op, &lv, &rv))
                }
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
                    let a = to_num(doc, &lv);
                    let b = to_num(doc, &eval(doc, r, ctx)?);
                    XVal::Num(match op {
                        Op::Add => a + b,
                        Op::Sub => a - b,
                        Op::Mul => a * b,
                        Op::Div => a / b,
                        _ => a % b,
                    })
                }
            }
        }
        Expr::Call(f, args) => call(doc, *f, args, ctx)?,
    })
}

fn call(doc: &Doc, f: Func, args: &[Expr], ctx: &Ctx) -> Result<XVal, String> {
    let arg = |i: usize| -> Result<XVal, String> {
        match args.get(i) {
            Some(a) => eval(doc, a, ctx),
            None => Ok(XVal::Nodes(vec![ctx.node])),
        }
    };
    let s = |i: usize| -> Result<String, String> { Ok(to_str(doc, &arg(i)?)) };
    Ok(match f {
        Func::Not => XVal::Bool(!boolean(&arg(0)?)),
        Func::True => XVal::Bool(true),
        Func::False => XVal::Bool(false),
        Func::Boolean => XVal::Bool(boolean(&arg(0)?)),
        Func::Number => XVal::Num(to_num(doc, &arg(0)?)),
        Func::String => XVal::Str(s(0)?),
        Func::Concat => {
            let mut out = String::new();
            for i in 0..args.len() {
                out.push_str(&s(i)?);
            }
            XVal::Str(out)
        }
        Func::Contains => XVal::Bool(s(0)?.contains(&s(1)?)),
        Func::StartsWith => XVal::Bool(s(0)?.starts_with(&s(1)?)),
        Func::EndsWith => XVal::Bool(s(0)?.ends_with(&s(1)?)),
        Func::StringLength => XVal::Num(s(0)?.chars().count() as f64),
        Func::NormalizeSpace => XVal::Str(s(0)?.split_whitespace().collect::<Vec<_>>().join(" ")),
        Func::LocalName | Func::Name => {
            let set = nodes(arg(0)?, "local-name()")?;
            let name = match set.first() {
                Some(NodeRef::Attr(id, i)) => doc.nodes[*id].attrs[*i].0.clone(),
                Some(NodeRef::Node(id)) if doc.nodes[*id].kind == Kind::Element => {
                    doc.nodes[*id].data.clone()
                }
                Some(NodeRef::Node(id)) if doc.nodes[*id].kind == Kind::ProcInst => {
                    doc.nodes[*id].data.clone()
                }
                _ => String::new(),
            };
            XVal::Str(if f == Func::LocalName {
                local(&name).to_string()
            } else {
                name
            })
        }
        Func::Count => XVal::Num(nodes(arg(0)?, "count()")?.len() as f64),
        Func::Position => XVal::Num(ctx.pos as f64),
        Func::Last => XVal::Num(ctx.size as f64),
    })
}
