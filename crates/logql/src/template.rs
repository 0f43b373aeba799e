//! The Go text/template subset `line_format` and `label_format` take. The data is the
//! entry's labels (a missing label renders as "", as Loki's `missingkey=zero` gives).
//!
//! Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! fields `.name`; string (`"..."`, `` `...` ``), number and `true`/`false` literals;
//! pipelines `a | f b` (the piped value is the last argument); parentheses;
//! `{{if}} / {{else if}} / {{else}} / {{end}}`. Functions (Loki's names and argument order):
//! `ToLower ToUpper lower upper title Title trim trimSpace TrimSpace trimAll trimPrefix
//! trimSuffix TrimPrefix TrimSuffix TrimLeft TrimRight Trim replace Replace default contains
//! hasPrefix hasSuffix substr trunc repeat printf regexReplaceAll regexReplaceAllLiteral
//! int float64 add sub mul div mod addf subf mulf divf eq ne lt le gt ge and or not
//! __line__`. Anything else (`range`, `with`, variables, `__timestamp__`, `date`, ...) fails
//! to parse with Go's `function "x" not defined` or a message naming the construct.

#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
}

type Pipe = Vec<Cmd>;

#[derive(Debug, Clone)]
struct Cmd {
    func: Option<String>,
    args: Vec<Arg>,
}

#[derive(Debug, Clone)]
enum Arg {
    Field(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Sub(Pipe),
    Func(String),
}

const FUNCS: &[&str] = &[
    "ToLower",
    "ToUpper",
    "lower",
    "upper",
    "title",
    "Title",
    "trim",
    "trimSpace",
    "TrimSpace",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "TrimPrefix",
    "TrimSuffix",
    "TrimLeft",
    "TrimRight",
    "Trim",
    "replace",
    "Replace",
    "default",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "substr",
    "trunc",
    "repeat",
    "printf",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "int",
    "float64",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "addf",
    "subf",
    "mulf",
    "divf",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "__line__",
];

#[derive(Debug, Clone, PartialEq)]
enum V {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::S(s) => s.clone(),
            V::I(i) => i.to_string(),
            V::F(f) => go_float(*f),
            V::B(b) => b.to_string(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            V::S(s) => !s.is_empty(),
            V::I(i) => *i != 0,
            V::F(f) => *f != 0.0,
            V::B(b) => *b,
        }
    }

    fn int(&self) -> i64 {
        match self {
            V::S(s) => s
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or(0),
            V::I(i) => *i,
            V::F(f) => *f as i64,
            V::B(b) => *b as i64,
        }
    }

    fn float(&self) -> f64 {
        match self {
            V::S(s) => s.trim().parse().unwrap_or(0.0),
            V::I(i) => *i as f64,
            V::F(f) => *f,
            V::B(b) => *b as i64 as f64,
        }
    }
}

/// Go's `%v` of a float64 (shortest repr, exponent for large/small magnitudes).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e21).contains(&a) {
        let s = format!("{f:e}");
        // Rust writes 1e21 / 1.5e-5; Go writes 1e+21 / 1.5e-05.
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        return format!("{m}e{sign}{digits:0>2}");
    }
    format!("{f}")
}

fn err(msg: impl std::fmt::Display) -> String {
    format!("template: line:1: {msg}")
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut p = TParser {
            src,
            pos: 0,
            depth: 0,
        };
        let (nodes, end) = p.nodes()?;
        if end.is_some() {
            return Err(err(format!(
                "unexpected {{{{{}}}}}",
                end.unwrap_or_default()
            )));
        }
        Ok(Template { nodes })
    }

    /// Renders with `get` reading a label. `line` is what `__line__` returns.
    pub fn render<'a>(
        &self,
        get: &dyn Fn(&str) -> Option<&'a str>,
        line: &str,
        out: &mut String,
    ) -> Result<(), String> {
        render_nodes(&self.nodes, get, line, out)
    }

    /// The template is plain text (no actions): its output never depends on the entry.
    pub fn constant(&self) -> Option<&str> {
        match self.nodes.as_slice() {
            [] => Some(""),
            [Node::Text(t)] => Some(t),
            _ => None,
        }
    }
}

fn render_nodes<'a>(
    nodes: &[Node],
    get: &dyn Fn(&str) -> Option<&'a str>,
    line: &str,
    out: &mut String,
) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&eval_pipe(p, get, line)?.text()),
            Node::If(branches, els) => {
                let mut done = false;
                for (cond, body) in branches {
                    if eval_pipe(cond, get, line)?.truthy() {
                        render_nodes(body, get, line, out)?;
                        done = true;
                        break;
                    }
                }
                if !done {
                    render_nodes(els, get, line, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval_pipe<'a>(p: &Pipe, get: &dyn Fn(&str) -> Option<&'a str>, line: &str) -> Result<V, String> {
    let mut prev: Option<V> = None;
    for c in p {
        let mut args = Vec::with_capacity(c.args.len() + 1);
        for a in &c.args {
            args.push(match a {
                Arg::Field(f) => V::S(get(f).unwrap_or("").to_string()),
                Arg::Str(s) => V::S(s.clone()),
                Arg::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => V::I(*n as i64),
                Arg::Num(n) => V::F(*n),
                Arg::Bool(b) => V::B(*b),
                Arg::Sub(p) => eval_pipe(p, get, line)?,
                Arg::Func(f) => call(f, Vec::new(), line)?,
            });
        }
        if let Some(v) = prev.take() {
            args.push(v);
        }
        prev = Some(match &c.func {
            Some(f) => call(f, args, line)?,
            None => {
                if args.len() != 1 {
                    return Err(err("can't give argument to non-function"));
                }
                args.pop().unwrap_or(V::S(String::new()))
            }
        });
    }
    Ok(prev.unwrap_or(V::S(String::new())))
}

fn call(f: &str, a: Vec<V>, line: &str) -> Result<V, String> {
    let n = a.len();
    let need = |k: usize| -> Result<(), String> {
        if n == k {
            Ok(())
        } else {
            Err(err(format!(
                "executing \"line\": wrong number of args for {f}: want {k} got {n}"
            )))
        }
    };
    let s = |i: usize| a[i].text();
    Ok(match f {
        "__line__" => {
            need(0)?;
            V::S(line.to_string())
        }
        "ToLower" | "lower" => {
            need(1)?;
            V::S(s(0).to_lowercase())
        }
        "ToUpper" | "upper" => {
            need(1)?;
            V::S(s(0).to_uppercase())
        }
        "title" | "Title" => {
            need(1)?;
            let mut out = String::new();
            let mut start = true;
            for c in s(0).chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric() && c != '_' && c != '\'';
            }
            V::S(out)
        }
        "trim" | "trimSpace" | "TrimSpace" => {
            need(1)?;
            V::S(s(0).trim().to_string())
        }
        "trimAll" => {
            need(2)?;
            let cut = s(0);
            V::S(s(1).trim_matches(|c| cut.contains(c)).to_string())
        }
        "trimPrefix" => {
            need(2)?;
            let (p, v) = (s(0), s(1));
            V::S(v.strip_prefix(p.as_str()).unwrap_or(&v).to_string())
        }
        "trimSuffix" => {
            need(2)?;
            let (p, v) = (s(0), s(1));
            V::S(v.strip_suffix(p.as_str()).unwrap_or(&v).to_string())
        }
        "TrimPrefix" => {
            need(2)?;
            let (v, p) = (s(0), s(1));
            V::S(v.strip_prefix(p.as_str()).unwrap_or(&v).to_string())
        }
        "TrimSuffix" => {
            need(2)?;
            let (v, p) = (s(0), s(1));
            V::S(v.strip_suffix(p.as_str()).unwrap_or(&v).to_string())
        }
        "TrimLeft" | "TrimRight" | "Trim" => {
            need(2)?;
            let (v, cut) = (s(0), s(1));
            let m = |c: char| cut.contains(c);
            V::S(match f {
                "TrimLeft" => v.trim_start_matches(m).to_string(),
                "TrimRight" => v.trim_end_matches(m).to_string(),
                _ => v.trim_matches(m).to_string(),
            })
        }
        "replace" => {
            need(3)?;
            V::S(s(2).replace(&s(0), &s(1)))
        }
        "Replace" => {
            need(4)?;
            let k = a[3].int();
            let (v, old, new) = (s(0), s(1), s(2));
            V::S(if k < 0 {
                v.replace(&old, &new)
            } else {
                v.replacen(&old, &new, k as usize)
            })
        }
        "default" => {
            if n == 1 {
                // Piped nothing: `default "x"` with no given value is the default.
                return Ok(a[0].clone());
            }
            need(2)?;
            if a[1].truthy() {
                a[1].clone()
            } else {
                a[0].clone()
            }
        }
        "contains" => {
            need(2)?;
            V::B(s(1).contains(&s(0)))
        }
        "hasPrefix" => {
            need(2)?;
            V::B(s(1).starts_with(&s(0)))
        }
        "hasSuffix" => {
            need(2)?;
            V::B(s(1).ends_with(&s(0)))
        }
        "substr" => {
            need(3)?;
            let v: Vec<char> = s(2).chars().collect();
            let (st, en) = (a[0].int(), a[1].int());
            let st = if st < 0 {
                0
            } else {
                (st as usize).min(v.len())
            };
            let en = if en < 0 || en as usize > v.len() {
                v.len()
            } else {
                en as usize
            };
            V::S(if st > en {
                String::new()
            } else {
                v[st..en].iter().collect()
            })
        }
        "trunc" => {
            need(2)?;
            let v: Vec<char> = s(1).chars().collect();
            let k = a[0].int();
            V::S(if k >= 0 {
                v[..(k as usize).min(v.len())].iter().collect()
            } else {
                let k = (-k) as usize;
                v[v.len().saturating_sub(k)..].iter().collect()
            })
        }
        "repeat" => {
            need(2)?;
            let k = a[0].int().clamp(0, 10_000) as usize;
            V::S(s(1).repeat(k))
        }
        "printf" => {
            if n == 0 {
                return Err(err("wrong number of args for printf"));
            }
            V::S(printf(&s(0), &a[1..]))
        }
        "regexReplaceAll" | "regexReplaceAllLiteral" => {
            need(3)?;
            let re = goregex::compile(&s(0)).map_err(err)?;
            let (v, r) = (s(1), s(2));
            V::S(if f == "regexReplaceAll" {
                re.replace_all(&v, r.as_str()).into_owned()
            } else {
                re.replace_all(&v, regex::NoExpand(&r)).into_owned()
            })
        }
        "int" => {
            need(1)?;
            V::I(a[0].int())
        }
        "float64" => {
            need(1)?;
            V::F(a[0].float())
        }
        "add" | "sub" | "mul" | "div" | "mod" => {
            need(2)?;
            let (x, y) = (a[0].int(), a[1].int());
            V::I(match f {
                "add" => x.wrapping_add(y),
                "sub" => x.wrapping_sub(y),
                "mul" => x.wrapping_mul(y),
                "div" if y != 0 => x.wrapping_div(y),
                "mod" if y != 0 => x.wrapping_rem(y),
                _ => return Err(err("integer divide by zero")),
            })
        }
        "addf" | "subf" | "mulf" | "divf" => {
            need(2)?;
            let (x, y) = (a[0].float(), a[1].float());
            V::F(match f {
                "addf" => x + y,
                "subf" => x - y,
                "mulf" => x * y,
                _ => x / y,
            })
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            need(2)?;
            let ord = match (&a[0], &a[1]) {
                (V::S(x), V::S(y)) => x.partial_cmp(y),
                (x, y) => x.float().partial_cmp(&y.float()),
            };
            use std::cmp::Ordering::*;
            V::B(match f {
                "eq" => ord == Some(Equal),
                "ne" => ord != Some(Equal),
                "lt" => ord == Some(Less),
                "le" => matches!(ord, Some(Less | Equal)),
                "gt" => ord == Some(Greater),
                _ => matches!(ord, Some(Greater | Equal)),
            })
        }
        "and" => a
            .iter()
            .find(|v| !v.truthy())
            .or(a.last())
            .cloned()
            .unwrap_or(V::B(true)),
        "or" => a
            .iter()
            .find(|v| v.truthy())
            .or(a.last())
            .cloned()
            .unwrap_or(V::B(false)),
        "not" => {
            need(1)?;
            V::B(!a[0].truthy())
        }
        other => return Err(err(format!("function \"{other}\" not defined"))),
    })
}

/// fmt.Sprintf for the verbs templates use: %s %v %d %f %.Nf %q %%.
fn printf(fmt: &str, args: &[V]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p * 10 + d as usize;
                chars.next();
            }
            prec = Some(p.min(64));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(v) = it.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        match verb {
            'd' => out.push_str(&v.int().to_string()),
            'f' => out.push_str(&format!("{:.*}", prec.unwrap_or(6), v.float())),
            'q' => out.push_str(&format!("{:?}", v.text())),
            _ => out.push_str(&v.text()),
        }
    }
    out
}

struct TParser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl TParser<'_> {
    /// Nodes up to the end of input or to an `{{else ...}}`/`{{end}}` (returned as its text).
    fn nodes(&mut self) -> Result<(Vec<Node>, Option<String>), String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err(err("template nested too deeply"));
        }
        let mut out = Vec::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(open) = rest.find("{{") else {
                if !rest.is_empty() {
                    out.push(Node::Text(rest.to_string()));
                }
                self.pos = self.src.len();
                self.depth -= 1;
                return Ok((out, None));
            };
            let mut text = &rest[..open];
            let mut inner_start = self.pos + open + 2;
            if self.src[inner_start..].starts_with("- ")
                || self.src[inner_start..].starts_with("-\t")
                || self.src[inner_start..].starts_with("-\n")
            {
                text = text.trim_end();
                inner_start += 1;
            }
            if !text.is_empty() {
                out.push(Node::Text(text.to_string()));
            }
            let close = self.find_close(inner_start)?;
            let mut inner = &self.src[inner_start..close];
            let mut after = close + 2;
            if inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-") {
                inner = &inner[..inner.len() - 1];
                let trimmed = self.src[after..].trim_start();
                after = self.src.len() - trimmed.len();
            }
            self.pos = after;
            let inner = inner.trim();
            if inner.starts_with("/*") {
                if !inner.ends_with("*/") {
                    return Err(err("unclosed comment"));
                }
                continue;
            }
            let (kw, rest) = match inner.split_once(|c: char| c.is_whitespace()) {
                Some((k, r)) => (k, r.trim()),
                None => (inner, ""),
            };
            match kw {
                "end" | "else" => {
                    self.depth -= 1;
                    return Ok((out, Some(inner.to_string())));
                }
                "if" => {
                    let mut branches = Vec::new();
                    let mut cond = parse_pipe(rest)?;
                    let mut els = Vec::new();
                    loop {
                        let (body, end) = self.nodes()?;
                        let end = end.ok_or_else(|| err("unexpected EOF"))?;
                        branches.push((cond, body));
                        if end == "end" {
                            break;
                        }
                        let after = end.strip_prefix("else").unwrap_or("").trim();
                        if let Some(c) = after.strip_prefix("if ") {
                            cond = parse_pipe(c.trim())?;
                            continue;
                        }
                        if !after.is_empty() {
                            return Err(err(format!("unexpected {after:?} in else")));
                        }
                        let (body, end) = self.nodes()?;
                        if end.as_deref() != Some("end") {
                            return Err(err("expected end; found else"));
                        }
                        els = body;
                        break;
                    }
                    out.push(Node::If(branches, els));
                }
                "range" | "with" | "define" | "template" | "block" | "break" | "continue" => {
                    return Err(err(format!(
                        "{{{{{kw}}}}} is not supported in line_format/label_format"
                    )));
                }
                _ => out.push(Node::Action(parse_pipe(inner)?)),
            }
        }
    }

    fn find_close(&self, from: usize) -> Result<usize, String> {
        // `}}` inside a string literal does not close the action.
        let b = self.src.as_bytes();
        let mut i = from;
        while i + 1 < b.len() {
            match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                b'`' => {
                    i += 1;
                    while i < b.len() && b[i] != b'`' {
                        i += 1;
                    }
                }
                b'}' if b[i + 1] == b'}' => return Ok(i),
                _ => {}
            }
            i += 1;
        }
        Err(err("unclosed action"))
    }
}

#[derive(Debug, PartialEq)]
enum TT {
    Field(String),
    Ident(String),
    Str(String),
    Num(f64),
    Pipe,
    LParen,
    RParen,
}

fn lex_action(s: &str) -> Result<Vec<TT>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            b'|' => {
                out.push(TT::Pipe);
                i += 1;
            }
            b'(' => {
                out.push(TT::LParen);
                i += 1;
            }
            b')' => {
                out.push(TT::RParen);
                i += 1;
            }
            b'.' => {
                let mut j = i + 1;
                while j < b.len() && (b[j] == b'_' || b[j].is_ascii_alphanumeric()) {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(err(
                        "the data `.` itself cannot be printed; use a field such as .name",
                    ));
                }
                if j < b.len() && b[j] == b'.' {
                    return Err(err(
                        "nested fields (.a.b) are not supported: labels are flat",
                    ));
                }
                out.push(TT::Field(s[i + 1..j].to_string()));
                i = j;
            }
            b'"' => {
                let mut j = i + 1;
                let mut v = String::new();
                let mut closed = false;
                let mut chars = s[j..].char_indices();
                while let Some((off, ch)) = chars.next() {
                    match ch {
                        '"' => {
                            j += off + 1;
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, e)| e) {
                            Some('n') => v.push('\n'),
                            Some('t') => v.push('\t'),
                            Some('r') => v.push('\r'),
                            Some('\\') => v.push('\\'),
                            Some('"') => v.push('"'),
                            _ => return Err(err("bad escape in string")),
                        },
                        ch => v.push(ch),
                    }
                }
                if !closed {
                    return Err(err("unterminated quoted string"));
                }
                out.push(TT::Str(v));
                i = j;
            }
            b'`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or_else(|| err("unterminated raw quoted string"))?;
                out.push(TT::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'-' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                    j += 1;
                }
                let n: f64 = s[i..j]
                    .parse()
                    .map_err(|_| err(format!("bad number syntax: {:?}", &s[i..j])))?;
                out.push(TT::Num(n));
                i = j;
            }
            _ if c == b'_' || c.is_ascii_alphabetic() => {
                let mut j = i + 1;
                while j < b.len() && (b[j] == b'_' || b[j].is_ascii_alphanumeric()) {
                    j += 1;
                }
                out.push(TT::Ident(s[i..j].to_string()));
                i = j;
            }
            b'$' => return Err(err("template variables ($x) are not supported")),
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(err(format!("unexpected {ch:?} in command")));
            }
        }
    }
    Ok(out)
}

fn parse_pipe(s: &str) -> Result<Pipe, String> {
    let toks = lex_action(s)?;
    let mut i = 0;
    let p = pipe(&toks, &mut i, 0)?;
    if i != toks.len() {
        return Err(err("unexpected \")\" in operand"));
    }
    Ok(p)
}

fn pipe(t: &[TT], i: &mut usize, depth: usize) -> Result<Pipe, String> {
    if depth > 16 {
        return Err(err("expression nested too deeply"));
    }
    let mut cmds = Vec::new();
    loop {
        let mut args = Vec::new();
        let mut func = None;
        while *i < t.len() && t[*i] != TT::Pipe && t[*i] != TT::RParen {
            let a = match &t[*i] {
                TT::Field(f) => Arg::Field(f.clone()),
                TT::Str(s) => Arg::Str(s.clone()),
                TT::Num(n) => Arg::Num(*n),
                TT::Ident(id) if id == "true" || id == "false" => Arg::Bool(id == "true"),
                TT::Ident(id) => {
                    if !FUNCS.contains(&id.as_str()) {
                        return Err(err(format!("function \"{id}\" not defined")));
                    }
                    if args.is_empty() && func.is_none() {
                        func = Some(id.clone());
                        *i += 1;
                        continue;
                    }
                    Arg::Func(id.clone())
                }
                TT::LParen => {
                    *i += 1;
                    let p = pipe(t, i, depth + 1)?;
                    if t.get(*i) != Some(&TT::RParen) {
                        return Err(err("unclosed left paren"));
                    }
                    Arg::Sub(p)
                }
                TT::Pipe | TT::RParen => unreachable!("loop condition"),
            };
            args.push(a);
            *i += 1;
        }
        if args.is_empty() && func.is_none() {
            return Err(err("missing value for command"));
        }
        if func.is_none() && args.len() > 1 {
            return Err(err("can't give argument to non-function"));
        }
        if func.is_none() && !cmds.is_empty() {
            return Err(err("non executable command in pipeline stage 2"));
        }
        cmds.push(Cmd { func, args });
        if *i < t.len() && t[*i] == TT::Pipe {
            *i += 1;
            continue;
        }
        return Ok(cmds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str, labels: &[(&str, &str)]) -> Result<String, String> {
        let t = Template::parse(t)?;
        let mut out = String::new();
        let get = |n: &str| labels.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        t.render(&get, "the line", &mut out)?;
        Ok(out)
    }

    #[test]
    fn templates_render_as_go() {
        let l = [("msg", "hello"), ("level", "warn"), ("n", "3"), ("e", "")];
        let cases = [
            ("{{.msg}} {{.level | ToUpper}}", "hello WARN"),
            ("{{ .missing }}|", "|"),
            ("{{ToUpper .msg}}", "HELLO"),
            ("{{.e | default \"none\"}}", "none"),
            (
                "{{ if eq .level \"warn\" }}W{{ else if eq .level \"error\" }}E{{ else }}-{{ end }}",
                "W",
            ),
            ("{{ if .e }}yes{{ else }}no{{ end }}", "no"),
            ("{{ if .msg }}yes{{ end }}", "yes"),
            ("a {{- \" b \" -}} c", "a b c"),
            ("{{ __line__ }}", "the line"),
            ("{{ printf \"%s=%d\" .level (add .n 2) }}", "warn=5"),
            ("{{ .msg | replace \"l\" \"L\" }}", "heLLo"),
            ("{{ .msg | trunc 2 }}{{ substr 1 3 .msg }}", "heel"),
            ("{{/* note */}}x", "x"),
            ("{{ regexReplaceAll \"l+\" .msg \"_\" }}", "he_o"),
            ("{{ divf 1 4 }}", "0.25"),
            ("{{ title \"hello world\" }}", "Hello World"),
        ];
        for (t, want) in cases {
            assert_eq!(
                render(t, &l).unwrap_or_else(|e| panic!("{t}: {e}")),
                want,
                "{t}"
            );
        }
        for bad in [
            "{{ .a",
            "{{ nope .a }}",
            "{{ range .a }}{{ end }}",
            "{{ if .a }}x",
            "{{ $x }}",
            "{{ end }}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
