//! The Go text/template subset `line_format` and `label_format` take. The data is the
//! entry's labels (a missing label renders as "", as Loki's `missingkey=zero` gives).
//!
//! Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming and `{{/* comments */}}`;
//! fields `.name`; string (`"..."`, `` `...` ``), number and `true`/`false` literals;
//! pipelines `a | f b` (the piped value is the last argument); parentheses;
//! `{{if}} / {{else if}} / {{else}} / {{end}}`. Functions, with Loki's names and argument
//! order (its strings.* and sprig selections and its own): `ToLower ToUpper lower upper title
//! trim TrimSpace trimAll trimPrefix trimSuffix TrimPrefix TrimSuffix TrimLeft TrimRight Trim
//! replace Replace default contains hasPrefix hasSuffix substr trunc repeat regexReplaceAll
//! regexReplaceAllLiteral count urlencode urldecode b64enc b64dec bytes duration
//! duration_seconds indent nindent int float64 add sub mul div mod addf subf mulf divf max min
//! maxf minf ceil floor round __line__ __timestamp__ now date unixEpoch unixEpochMillis
//! unixEpochNanos`, and Go's `printf eq ne lt le gt ge and or not`. Times print and `date`
//! formats in UTC. Not supported (parse error naming them): `range`, `with`, `define`,
//! `template`, variables (`$x`), `index`, `len`, `fromJson`, `toDate`, `toDateInZone`.

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

// Loki's function map (strings.*, sprig's, its own) plus Go's builtins.
const FUNCS: &[&str] = &[
    "ToLower",
    "ToUpper",
    "lower",
    "upper",
    "title",
    "trim",
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
    "__timestamp__",
    "now",
    "date",
    "unixEpoch",
    "unixEpochMillis",
    "unixEpochNanos",
    "count",
    "urlencode",
    "urldecode",
    "b64enc",
    "b64dec",
    "bytes",
    "duration",
    "duration_seconds",
    "indent",
    "nindent",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
];

#[derive(Debug, Clone, PartialEq)]
enum V {
    S(String),
    I(i64),
    F(f64),
    B(bool),
    /// A time (ns since the epoch, UTC), from `__timestamp__` or `now`.
    T(i64),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::S(s) => s.clone(),
            V::I(i) => i.to_string(),
            V::F(f) => go_float(*f),
            V::B(b) => b.to_string(),
            V::T(t) => go_layout(*t, "2006-01-02 15:04:05.999999999 -0700 MST"),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            V::S(s) => !s.is_empty(),
            V::I(i) => *i != 0,
            V::F(f) => *f != 0.0,
            V::B(b) => *b,
            V::T(_) => true,
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
            V::T(t) => *t / 1_000_000_000,
        }
    }

    fn float(&self) -> f64 {
        match self {
            V::S(s) => s.trim().parse().unwrap_or(0.0),
            V::I(i) => *i as f64,
            V::F(f) => *f,
            V::B(b) => *b as i64 as f64,
            V::T(t) => *t as f64 / 1e9,
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

    /// Renders with `get` reading a label. `line` and `ts_ns` are what `__line__` and
    /// `__timestamp__` return.
    pub fn render<'a>(
        &self,
        get: &dyn Fn(&str) -> Option<&'a str>,
        line: &str,
        ts_ns: i64,
        out: &mut String,
    ) -> Result<(), String> {
        let cx = Cx { line, ts_ns };
        render_nodes(&self.nodes, get, &cx, out)
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

/// What the entry-dependent functions read.
struct Cx<'l> {
    line: &'l str,
    ts_ns: i64,
}

fn render_nodes<'a>(
    nodes: &[Node],
    get: &dyn Fn(&str) -> Option<&'a str>,
    line: &Cx<'_>,
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

fn eval_pipe<'a>(
    p: &Pipe,
    get: &dyn Fn(&str) -> Option<&'a str>,
    line: &Cx<'_>,
) -> Result<V, String> {
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

fn call(f: &str, a: Vec<V>, cx: &Cx<'_>) -> Result<V, String> {
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
            V::S(cx.line.to_string())
        }
        "__timestamp__" => {
            need(0)?;
            V::T(cx.ts_ns)
        }
        "now" => {
            need(0)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            V::T(now)
        }
        "date" => {
            need(2)?;
            let t = match &a[1] {
                V::T(t) => *t,
                other => other.int().saturating_mul(1_000_000_000),
            };
            V::S(go_layout(t, &s(0)))
        }
        "unixEpoch" | "unixEpochMillis" | "unixEpochNanos" => {
            need(1)?;
            let t = match &a[0] {
                V::T(t) => *t,
                _ => return Err(err(format!("{f}: argument is not a time"))),
            };
            V::S(
                match f {
                    "unixEpoch" => t.div_euclid(1_000_000_000),
                    "unixEpochMillis" => t.div_euclid(1_000_000),
                    _ => t,
                }
                .to_string(),
            )
        }
        "count" => {
            need(2)?;
            let re = goregex::compile(&s(0)).map_err(err)?;
            V::I(re.find_iter(&s(1)).count() as i64)
        }
        "urlencode" => {
            need(1)?;
            V::S(query_escape(&s(0)))
        }
        "urldecode" => {
            need(1)?;
            V::S(query_unescape(&s(0)).ok_or_else(|| err("invalid URL escape"))?)
        }
        "b64enc" => {
            need(1)?;
            use base64::Engine as _;
            V::S(base64::engine::general_purpose::STANDARD.encode(s(0)))
        }
        "b64dec" => {
            need(1)?;
            use base64::Engine as _;
            // sprig returns the error text in place of the value.
            V::S(
                match base64::engine::general_purpose::STANDARD.decode(s(0)) {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(e) => e.to_string(),
                },
            )
        }
        "bytes" => {
            need(1)?;
            V::F(
                crate::lexer::parse_bytes(&s(0))
                    .ok_or_else(|| err(format!("invalid byte size {:?}", s(0))))?
                    as f64,
            )
        }
        "duration" | "duration_seconds" => {
            need(1)?;
            let ns = crate::lexer::parse_duration(&s(0), false)
                .ok_or_else(|| err(format!("time: invalid duration {:?}", s(0))))?;
            V::F(ns as f64 / 1e9)
        }
        "indent" | "nindent" => {
            need(2)?;
            let pad = " ".repeat(a[0].int().clamp(0, 1000) as usize);
            let body = format!("{pad}{}", s(1).replace('\n', &format!("\n{pad}")));
            V::S(if f == "nindent" {
                format!("\n{body}")
            } else {
                body
            })
        }
        "max" | "min" => {
            if n == 0 {
                return Err(err(format!("wrong number of args for {f}")));
            }
            let it = a.iter().map(V::int);
            V::I(if f == "max" { it.max() } else { it.min() }.unwrap_or(0))
        }
        "maxf" | "minf" => {
            if n == 0 {
                return Err(err(format!("wrong number of args for {f}")));
            }
            let it = a.iter().map(V::float);
            V::F(if f == "maxf" {
                it.fold(f64::MIN, f64::max)
            } else {
                it.fold(f64::MAX, f64::min)
            })
        }
        "ceil" | "floor" => {
            need(1)?;
            let x = a[0].float();
            V::F(if f == "ceil" { x.ceil() } else { x.floor() })
        }
        "round" => {
            if !(2..=3).contains(&n) {
                return Err(err("wrong number of args for round: want 2 or 3"));
            }
            // sprig: round half away from zero at `places` decimals (the rounding point is
            // the optional third argument, .5 by default).
            let (x, p) = (a[0].float(), a[1].int().clamp(0, 15) as i32);
            let point = if n == 3 { a[2].float() } else { 0.5 };
            let pow = 10f64.powi(p);
            let d = x * pow;
            let (int, frac) = (d.trunc(), (d - d.trunc()).abs());
            let r = if frac >= point { int + d.signum() } else { int };
            V::F(r / pow)
        }
        "ToLower" | "lower" => {
            need(1)?;
            V::S(s(0).to_lowercase())
        }
        "ToUpper" | "upper" => {
            need(1)?;
            V::S(s(0).to_uppercase())
        }
        "title" => {
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
        "trim" | "TrimSpace" => {
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
            // Loki's substring: start < 0 reads from 0 (nothing if end < 0 too), end < 0 or
            // past the end reads to the end, start > end is empty.
            let v: Vec<char> = s(2).chars().collect();
            let l = v.len() as i64;
            let (st, en) = (a[0].int().min(l), a[1].int().min(l));
            V::S(if st < 0 {
                if en < 0 {
                    String::new()
                } else {
                    v[..en as usize].iter().collect()
                }
            } else if en < 0 {
                v[st as usize..].iter().collect()
            } else if st > en {
                String::new()
            } else {
                v[st as usize..en as usize].iter().collect()
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

/// url.QueryEscape: unreserved bytes stay, space becomes `+`, the rest `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Layout elements, longest first where one is a prefix of another.
const LAYOUT_ELEMS: &[&str] = &[
    "January", "Monday", "2006", "Z07:00", "-07:00", "Z0700", "-0700", "Jan", "Mon", "MST", "002",
    "_2", "06", "01", "02", "15", "03", "04", "05", "PM", "pm", "1", "2", "3", "4", "5",
];

/// Go's `time.Format` in UTC for the layout elements templates use: 2006 06 01 1 Jan January
/// 02 2 _2 002 15 03 3 04 4 05 5 PM pm Mon Monday MST Z07:00 Z0700 -07:00 -0700 and
/// fractional seconds (.000, .999999999, ,000).
fn go_layout(ts_ns: i64, layout: &str) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil(days);
    let (h, mi, se) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    let wd = (days + 4).rem_euclid(7) as usize;
    let yday = days - {
        // days of Jan 1 of year y
        let (mut lo, mut hi) = (days - 366, days);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if civil(mid).0 < y {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        lo
    } + 1;
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        // Fractional seconds: `.` or `,` then a run of 0s (fixed) or 9s (trailing zeros cut),
        // only when not followed by another digit.
        let rb = rest.as_bytes();
        if (rb[0] == b'.' || rb[0] == b',') && rb.len() > 1 && (rb[1] == b'0' || rb[1] == b'9') {
            let digit = rb[1];
            let n = rb[1..].iter().take_while(|c| **c == digit).count();
            if !rb.get(1 + n).is_some_and(u8::is_ascii_digit) {
                let frac = format!("{nanos:09}");
                let frac = &frac[..n.min(9)];
                if digit == b'0' {
                    out.push(rb[0] as char);
                    out.push_str(frac);
                } else {
                    let t = frac.trim_end_matches('0');
                    if !t.is_empty() {
                        out.push(rb[0] as char);
                        out.push_str(t);
                    }
                }
                rest = &rest[1 + n..];
                continue;
            }
        }
        match LAYOUT_ELEMS.iter().find(|t| rest.starts_with(*t)) {
            Some(t) => {
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                let month = MONTHS[mo as usize - 1];
                match *t {
                    "January" => out.push_str(month),
                    "Monday" => out.push_str(DAYS[wd]),
                    "2006" => out.push_str(&format!("{y:04}")),
                    "Z07:00" | "Z0700" => out.push('Z'),
                    "-07:00" => out.push_str("+00:00"),
                    "-0700" => out.push_str("+0000"),
                    "Jan" => out.push_str(&month[..3]),
                    "Mon" => out.push_str(&DAYS[wd][..3]),
                    "MST" => out.push_str("UTC"),
                    "002" => out.push_str(&format!("{yday:03}")),
                    "_2" => out.push_str(&format!("{d:>2}")),
                    "06" => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                    "01" => out.push_str(&format!("{mo:02}")),
                    "02" => out.push_str(&format!("{d:02}")),
                    "15" => out.push_str(&format!("{h:02}")),
                    "03" => out.push_str(&format!("{h12:02}")),
                    "04" => out.push_str(&format!("{mi:02}")),
                    "05" => out.push_str(&format!("{se:02}")),
                    "PM" => out.push_str(if h >= 12 { "PM" } else { "AM" }),
                    "pm" => out.push_str(if h >= 12 { "pm" } else { "am" }),
                    "1" => out.push_str(&mo.to_string()),
                    "2" => out.push_str(&d.to_string()),
                    "3" => out.push_str(&h12.to_string()),
                    "4" => out.push_str(&mi.to_string()),
                    _ => out.push_str(&se.to_string()),
                }
                rest = &rest[t.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
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
        t.render(&get, "the line", 1_700_000_000_123_000_000, &mut out)?;
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
            ("{{ __timestamp__ }}", "2023-11-14 22:13:20.123 +0000 UTC"),
            (
                "{{ __timestamp__ | date \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM\" }}",
                "2023-11-14T22:13:20.123Z Tue Nov 14 10PM",
            ),
            ("{{ __timestamp__ | unixEpochMillis }}", "1700000000123"),
            (
                "{{ urlencode \"a b&c\" }}|{{ urldecode \"a+b%26c\" }}",
                "a+b%26c|a b&c",
            ),
            (
                "{{ b64enc .msg }}|{{ b64dec \"aGVsbG8=\" }}",
                "aGVsbG8=|hello",
            ),
            (
                "{{ count \"l\" .msg }} {{ max 1 5 3 }} {{ round 2.345 2 }} {{ duration \"1m30s\" }}",
                "2 5 2.35 90",
            ),
            (
                "{{ substr -1 2 .msg }}|{{ substr 3 -1 .msg }}|{{ substr -1 -1 .msg }}",
                "he|lo|",
            ),
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
