//! The TraceQL lexer: Tempo's `lexer.go` rules (Go `text/scanner` tokens, the token table
//! with greedy multi-character operators, the attribute mode after `.`/`span.`/`resource.`
//! where everything up to a space or an operator character is the attribute name, and
//! numbers followed by a unit read as durations).

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Eof,
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    /// A name that is not in the token table (outside attribute mode).
    Ident(String),
    /// The name read in attribute mode (after `.`, `span.`, `resource.`, ...).
    AttrName(String),
    /// Attribute mode ended (Tempo's END_ATTRIBUTE).
    EndAttr,
    /// An operator, punctuation or keyword, spelled as in Tempo's token table.
    Sym(&'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

/// Tempo's token table (lexer.go `tokenMap`).
const TOKENS: &[&str] = &[
    ",",
    ".",
    "{",
    "}",
    "(",
    ")",
    "=",
    "!=",
    "=~",
    "!~",
    ">",
    ">=",
    "<",
    "<=",
    "+",
    "-",
    "/",
    "%",
    "*",
    "^",
    "true",
    "false",
    "nil",
    "ok",
    "error",
    "unset",
    "unspecified",
    "internal",
    "server",
    "client",
    "producer",
    "consumer",
    "&&",
    "||",
    "!",
    "|",
    ">>",
    "<<",
    "~",
    "!>",
    "!<",
    "!>>",
    "!<<",
    "&~",
    "&>",
    "&<",
    "&>>",
    "&<<",
    "duration",
    "childCount",
    "name",
    "status",
    "statusMessage",
    "kind",
    "rootName",
    "rootServiceName",
    "rootService",
    "traceDuration",
    "nestedSetLeft",
    "nestedSetRight",
    "nestedSetParent",
    "id",
    "traceID",
    "spanID",
    "parentID",
    "timeSinceStart",
    "version",
    "parent",
    "parent.",
    "resource.",
    "span.",
    "trace:",
    "span:",
    "event:",
    "link:",
    "instrumentation:",
    "event.",
    "link.",
    "instrumentation.",
    "count",
    "avg",
    "max",
    "min",
    "sum",
    "by",
    "coalesce",
    "select",
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "sum_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
    "topk",
    "bottomk",
    "with",
];

fn lookup(s: &str) -> Option<&'static str> {
    TOKENS.iter().copied().find(|t| *t == s)
}

fn starts_attribute(sym: &str) -> bool {
    matches!(
        sym,
        "." | "resource." | "span." | "parent." | "event." | "link." | "instrumentation."
    )
}

/// Characters that end an attribute name outside quotes (lexer.go `isAttributeRune`).
pub(crate) fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ','
        )
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    col: usize,
}

/// Bounds the token list so a hostile query cannot make the parser allocate without limit.
const MAX_TOKENS: usize = 10_000;

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, Error> {
    let mut lx = Lexer {
        src,
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out: Vec<Token> = Vec::new();
    let mut attr_mode = false;
    loop {
        if out.len() > MAX_TOKENS {
            return Err(Error::parse(
                lx.line,
                lx.col,
                format!("query too long: more than {MAX_TOKENS} tokens"),
            ));
        }
        if attr_mode {
            let (line, col) = (lx.line, lx.col);
            match lx.peek() {
                Some(c) if is_attribute_char(c) => {}
                _ => {
                    attr_mode = false;
                    out.push(Token {
                        tok: Tok::EndAttr,
                        line,
                        col,
                    });
                    continue;
                }
            }
            // `parent.span.x`: a scope after `parent.` (lexer.go tryScopeAttribute)
            if out.last().map(|t| &t.tok) == Some(&Tok::Sym("parent.")) {
                for scope in ["span.", "resource."] {
                    if lx.rest().starts_with(scope) {
                        for _ in 0..scope.len() {
                            lx.bump();
                        }
                        out.push(Token {
                            tok: Tok::Sym(if scope == "span." {
                                "span."
                            } else {
                                "resource."
                            }),
                            line,
                            col,
                        });
                        break;
                    }
                }
            }
            let name = lx.attribute_name()?;
            out.push(Token {
                tok: Tok::AttrName(name),
                line,
                col,
            });
            continue;
        }
        lx.skip_space_and_comments()?;
        let (line, col) = (lx.line, lx.col);
        let Some(c) = lx.peek() else {
            out.push(Token {
                tok: Tok::Eof,
                line,
                col,
            });
            return Ok(out);
        };
        let tok = if c == '"' || c == '`' {
            Tok::Str(lx.string()?)
        } else if c.is_ascii_digit()
            || (c == '.' && lx.rest()[1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            lx.number()?
        } else if c.is_alphabetic() || c == '_' {
            let start = lx.pos;
            while lx.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                lx.bump();
            }
            let word = &src[start..lx.pos];
            // `span.`, `trace:`: the word plus the next character may be a table entry
            let next = lx.peek();
            let combined = next.and_then(|n| {
                let mut s = String::with_capacity(word.len() + 1);
                s.push_str(word);
                s.push(n);
                lookup(&s)
            });
            if let Some(sym) = combined {
                lx.bump();
                sym_token(sym, &mut attr_mode)
            } else if let Some(sym) = lookup(word) {
                sym_token(sym, &mut attr_mode)
            } else {
                Tok::Ident(word.to_string())
            }
        } else {
            // Greedy: extend the operator while the longer text is still a table entry.
            lx.bump();
            let start = lx.pos - c.len_utf8();
            let mut best = lookup(&src[start..lx.pos]);
            while let Some(n) = lx.peek() {
                let end = lx.pos + n.len_utf8();
                match lookup(&src[start..end]) {
                    Some(sym) => {
                        best = Some(sym);
                        lx.bump();
                    }
                    None => break,
                }
            }
            match best {
                Some(sym) => sym_token(sym, &mut attr_mode),
                None => Tok::Ident(src[start..lx.pos].to_string()),
            }
        };
        out.push(Token { tok, line, col });
    }
}

fn sym_token(sym: &'static str, attr_mode: &mut bool) -> Tok {
    *attr_mode = starts_attribute(sym);
    Tok::Sym(sym)
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        Error::parse(self.line, self.col, msg.into())
    }

    fn skip_space_and_comments(&mut self) -> Result<(), Error> {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            }
            if self.rest().starts_with("//") {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if self.rest().starts_with("/*") {
                self.bump();
                self.bump();
                loop {
                    if self.rest().starts_with("*/") {
                        self.bump();
                        self.bump();
                        break;
                    }
                    if self.bump().is_none() {
                        return Err(self.err("comment not terminated"));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// An attribute name: unquoted attribute characters and `"quoted"` parts (with `\"` and
    /// `\\` escapes), concatenated.
    fn attribute_name(&mut self) -> Result<String, Error> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '"' {
                self.bump();
                loop {
                    match self.bump() {
                        None => return Err(self.err("unexpected EOF, expecting \"")),
                        Some('"') => break,
                        Some('\\') => match self.peek() {
                            Some(e @ ('"' | '\\')) => {
                                self.bump();
                                name.push(e);
                            }
                            _ => return Err(self.err("invalid escape sequence")),
                        },
                        Some(c) => name.push(c),
                    }
                }
            } else if is_attribute_char(c) {
                self.bump();
                name.push(c);
            } else {
                break;
            }
        }
        Ok(name)
    }

    /// A Go string literal: `"..."` with Go escapes or a raw `` `...` ``.
    fn string(&mut self) -> Result<String, Error> {
        let quote = self.bump().unwrap_or('"');
        let mut s = String::new();
        if quote == '`' {
            loop {
                match self.bump() {
                    None => return Err(self.err("literal not terminated")),
                    Some('`') => return Ok(s),
                    // Go drops carriage returns from raw strings
                    Some('\r') => {}
                    Some(c) => s.push(c),
                }
            }
        }
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("literal not terminated")),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let Some(e) = self.bump() else {
                        return Err(self.err("literal not terminated"));
                    };
                    match e {
                        'a' => s.push('\x07'),
                        'b' => s.push('\x08'),
                        'f' => s.push('\x0c'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'v' => s.push('\x0b'),
                        '\\' => s.push('\\'),
                        '"' => s.push('"'),
                        'x' => s.push(self.hex_escape(2)?),
                        'u' => s.push(self.hex_escape(4)?),
                        'U' => s.push(self.hex_escape(8)?),
                        '0'..='7' => {
                            let mut v = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match self.bump().and_then(|d| d.to_digit(8)) {
                                    Some(d) => v = v * 8 + d,
                                    None => return Err(self.err("invalid syntax")),
                                }
                            }
                            if v > 255 {
                                return Err(self.err("invalid syntax"));
                            }
                            // Go puts the byte itself; only ASCII keeps the string UTF-8.
                            match char::from_u32(v) {
                                Some(c) if v < 128 => s.push(c),
                                _ => return Err(self.err("invalid syntax")),
                            }
                        }
                        _ => return Err(self.err("invalid syntax")),
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Result<char, Error> {
        let mut v: u32 = 0;
        for _ in 0..digits {
            match self.bump().and_then(|d| d.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => return Err(self.err("invalid syntax")),
            }
        }
        if digits == 2 && v >= 128 {
            // a raw byte in Go; not representable in a Rust string
            return Err(self.err("invalid syntax"));
        }
        char::from_u32(v).ok_or_else(|| self.err("invalid syntax"))
    }

    fn number(&mut self) -> Result<Tok, Error> {
        let (line, col) = (self.line, self.col);
        let start = self.pos;
        let mut is_float = false;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
            self.bump();
        }
        if self.peek() == Some('.') {
            is_float = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = (self.pos, self.line, self.col);
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            } else {
                (self.pos, self.line, self.col) = save;
            }
        }
        let text = &self.src[start..self.pos];
        // A unit right after the number (up to a space) makes it a duration: `100ms`, `1.5s`,
        // `1h30m`. If the longer text is not a duration the number stands alone.
        let rest = self.rest();
        let suffix_len = rest
            .char_indices()
            .find(|(_, c)| {
                c.is_whitespace()
                    || !(c.is_numeric()
                        || matches!(c, 'n' | 's' | 'u' | 'm' | 'h' | 'µ' | 'd' | 'w' | 'y' | '.'))
            })
            .map_or(rest.len(), |(i, _)| i);
        if suffix_len > 0 {
            let full = &self.src[start..self.pos + suffix_len];
            if let Some(ns) = parse_duration(full) {
                let n = full[text.len()..].chars().count();
                for _ in 0..n {
                    self.bump();
                }
                return Ok(Tok::Duration(ns));
            }
        }
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        if is_float {
            clean.parse::<f64>().map(Tok::Float).map_err(|_| {
                Error::parse(
                    line,
                    col,
                    format!("strconv.ParseFloat: parsing {text:?}: invalid syntax"),
                )
            })
        } else {
            clean.parse::<i64>().map(Tok::Int).map_err(|_| {
                Error::parse(
                    line,
                    col,
                    format!("strconv.Atoi: parsing {text:?}: value out of range"),
                )
            })
        }
    }
}

/// A TraceQL duration: Prometheus' form first (`1d`, `2w`, `1h30m`, integers only), then Go's
/// `time.ParseDuration` (`1.5s`, `300us`, `2h45m`), in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    prom_duration(s).or_else(|| go_duration(s))
}

fn prom_duration(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(0);
    }
    const MS: i128 = 1_000_000;
    // Units in the order Prometheus requires them, each at most once.
    const UNITS: [(&str, i128); 7] = [
        ("y", 365 * 24 * 3600 * 1000 * MS),
        ("w", 7 * 24 * 3600 * 1000 * MS),
        ("d", 24 * 3600 * 1000 * MS),
        ("h", 3600 * 1000 * MS),
        ("m", 60 * 1000 * MS),
        ("s", 1000 * MS),
        ("ms", MS),
    ];
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let idx = UNITS[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
        next_unit = idx + 1;
        total = total.checked_add(n.checked_mul(UNITS[idx].1)?)?;
    }
    i64::try_from(total).ok()
}

pub(crate) fn go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut total_int: i128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        match num.split_once('.') {
            None => {
                let n: i128 = num.parse().ok()?;
                total_int = total_int.checked_add(n.checked_mul(scale)?)?;
            }
            Some((int, frac)) => {
                let n: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
                total_int = total_int.checked_add(n.checked_mul(scale)?)?;
                if !frac.is_empty() {
                    let f: f64 = format!("0.{frac}").parse().ok()?;
                    total += f * scale as f64;
                }
            }
        }
        if total_int > i64::MAX as i128 {
            return None;
        }
    }
    let ns = total_int + total as i128;
    let ns = i64::try_from(ns).ok()?;
    Some(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_prometheus_then_go() {
        assert_eq!(parse_duration("100ms"), Some(100_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("1d"), Some(86_400_000_000_000));
        assert_eq!(parse_duration("300us"), Some(300_000));
        assert_eq!(parse_duration("300µs"), Some(300_000));
        assert_eq!(parse_duration("10ns"), Some(10));
        assert_eq!(parse_duration("2m1.5s"), Some(121_500_000_000));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("5"), None);
    }

    #[test]
    fn attribute_mode_reads_dots_and_quotes() {
        let toks = lex(r#"{ span."http.method" = "GET" && resource.service.name=~"a.*"}"#).unwrap();
        let kinds: Vec<Tok> = toks.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Sym("{"),
                Tok::Sym("span."),
                Tok::AttrName("http.method".into()),
                Tok::EndAttr,
                Tok::Sym("="),
                Tok::Str("GET".into()),
                Tok::Sym("&&"),
                Tok::Sym("resource."),
                Tok::AttrName("service.name".into()),
                Tok::EndAttr,
                Tok::Sym("=~"),
                Tok::Str("a.*".into()),
                Tok::Sym("}"),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn operators_are_greedy() {
        let toks = lex("} >> { } !>> { } &&").unwrap();
        let kinds: Vec<Tok> = toks.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Sym("}"),
                Tok::Sym(">>"),
                Tok::Sym("{"),
                Tok::Sym("}"),
                Tok::Sym("!>>"),
                Tok::Sym("{"),
                Tok::Sym("}"),
                Tok::Sym("&&"),
                Tok::Eof
            ]
        );
    }
}
