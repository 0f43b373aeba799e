//! Tokens of LogQL, read by hand. Loki's lexer is Go's text/scanner plus a few rules: a number
//! directly followed by letters is a duration (Go's `time.ParseDuration`, then Prometheus'
//! `d`/`w`/`y` units) or else a byte size (go-humanize's `ParseBytes`); strings are Go
//! interpreted ("...") or raw (`...`) literals; `#` starts a comment to the end of the line.

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    /// Nanoseconds.
    Dur(i64),
    Bytes(u64),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `=~`
    Re,
    /// `!~`
    Nre,
    /// `|=`
    PipeExact,
    /// `|~`
    PipeMatch,
    /// `|>`
    PipePattern,
    /// `!>`
    NotPattern,
    Pipe,
    /// `==`
    CmpEq,
    Gt,
    Gte,
    Lt,
    Lte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eof,
}

impl Tok {
    /// The name Loki's yacc grammar gives the token in `unexpected X` messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(_) => "IDENTIFIER".into(),
            Tok::Str(_) => "STRING".into(),
            Tok::Num(_) => "NUMBER".into(),
            Tok::Dur(_) => "DURATION".into(),
            Tok::Bytes(_) => "BYTES".into(),
            Tok::Eof => "$end".into(),
            other => other.text().into(),
        }
    }

    fn text(&self) -> &'static str {
        match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrack => "[",
            Tok::RBrack => "]",
            Tok::Comma => ",",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Re => "=~",
            Tok::Nre => "!~",
            Tok::PipeExact => "|=",
            Tok::PipeMatch => "|~",
            Tok::PipePattern => "|>",
            Tok::NotPattern => "!>",
            Tok::Pipe => "|",
            Tok::CmpEq => "==",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            _ => "",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset of the token's first character.
    pub pos: usize,
}

/// `parse error at line L, col C: <msg>` as Loki words it (1-based, col counts chars).
pub(crate) fn error_at(src: &str, pos: usize, msg: &str) -> Error {
    let pos = pos.min(src.len());
    let before = src.get(..pos).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Error::Parse(format!("parse error at line {line}, col {col}: {msg}"))
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, Error> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let two = |n: u8| b.get(i + 1) == Some(&n);
        let (tok, len) = match c {
            b'{' => (Tok::LBrace, 1),
            b'}' => (Tok::RBrace, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBrack, 1),
            b']' => (Tok::RBrack, 1),
            b',' => (Tok::Comma, 1),
            b'+' => (Tok::Add, 1),
            b'-' => (Tok::Sub, 1),
            b'*' => (Tok::Mul, 1),
            b'/' => (Tok::Div, 1),
            b'%' => (Tok::Mod, 1),
            b'^' => (Tok::Pow, 1),
            b'=' if two(b'~') => (Tok::Re, 2),
            b'=' if two(b'=') => (Tok::CmpEq, 2),
            b'=' => (Tok::Eq, 1),
            b'!' if two(b'=') => (Tok::Neq, 2),
            b'!' if two(b'~') => (Tok::Nre, 2),
            b'!' if two(b'>') => (Tok::NotPattern, 2),
            b'|' if two(b'=') => (Tok::PipeExact, 2),
            b'|' if two(b'~') => (Tok::PipeMatch, 2),
            b'|' if two(b'>') => (Tok::PipePattern, 2),
            b'|' => (Tok::Pipe, 1),
            b'>' if two(b'=') => (Tok::Gte, 2),
            b'>' => (Tok::Gt, 1),
            b'<' if two(b'=') => (Tok::Lte, 2),
            b'<' => (Tok::Lt, 1),
            b'"' => {
                let (s, len) = lex_quoted(src, i)?;
                (Tok::Str(s), len)
            }
            b'`' => match src[i + 1..].find('`') {
                Some(end) => (Tok::Str(src[i + 1..i + 1 + end].to_string()), end + 2),
                None => return Err(error_at(src, i, "literal not terminated")),
            },
            b'0'..=b'9' | b'.' => lex_number(src, i)?,
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let mut j = i + 1;
                while j < b.len() && (b[j] == b'_' || b[j].is_ascii_alphanumeric()) {
                    j += 1;
                }
                (Tok::Ident(src[i..j].to_string()), j - i)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(error_at(
                    src,
                    i,
                    &format!("syntax error: unexpected character {ch:?}"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(out)
}

/// A Go interpreted string literal starting at `start` (the opening quote): its value and
/// its length in bytes including both quotes.
fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    let bad = |off: usize| error_at(src, start + 1 + off, "invalid syntax: bad escape in string");
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, off + 2)),
            '\n' => break,
            '\\' => {
                let Some((eoff, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v: u32 = 0;
                        for _ in 0..n {
                            let d = chars
                                .next()
                                .and_then(|(_, h)| h.to_digit(16))
                                .ok_or_else(|| bad(eoff))?;
                            v = v * 16 + d;
                        }
                        // \xNN is a byte in Go; a lone high byte would make invalid UTF-8,
                        // which Rust strings cannot hold: read it as the code point.
                        out.push(char::from_u32(v).ok_or_else(|| bad(eoff))?);
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars
                                .next()
                                .and_then(|(_, h)| h.to_digit(8))
                                .ok_or_else(|| bad(eoff))?;
                            v = v * 8 + d;
                        }
                        out.push(char::from_u32(v).ok_or_else(|| bad(eoff))?);
                    }
                    _ => return Err(bad(eoff)),
                }
            }
            c => out.push(c),
        }
    }
    Err(error_at(src, start, "literal not terminated"))
}

fn lex_number(src: &str, i: usize) -> Result<(Tok, usize), Error> {
    let b = src.as_bytes();
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
        j += 1;
    }
    // Exponent of a float literal (1e3, 2.5E-2).
    if j < b.len()
        && (b[j] == b'e' || b[j] == b'E')
        && (b.get(j + 1).is_some_and(u8::is_ascii_digit)
            || (matches!(b.get(j + 1), Some(b'+' | b'-'))
                && b.get(j + 2).is_some_and(u8::is_ascii_digit)))
    {
        j += 2;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let text = &src[i..j];
        return text
            .parse::<f64>()
            .map(|v| (Tok::Num(v), j - i))
            .map_err(|_| error_at(src, i, &format!("syntax error: invalid number {text:?}")));
    }
    let num_end = j;
    // A unit (and the rest of a compound duration such as 1h30m) follows without a space.
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] >= 0x80) {
        if b[j] >= 0x80 {
            // Only µ/μ (in µs) may appear; stop at any other non-ASCII char.
            let ch = src[j..].chars().next().unwrap_or(' ');
            if ch != 'µ' && ch != 'μ' {
                break;
            }
            j += ch.len_utf8();
            continue;
        }
        j += 1;
    }
    let text = &src[i..j];
    if j == num_end {
        return text
            .parse::<f64>()
            .map(|v| (Tok::Num(v), j - i))
            .map_err(|_| error_at(src, i, &format!("syntax error: invalid number {text:?}")));
    }
    if let Some(d) = parse_duration(text, true) {
        return Ok((Tok::Dur(d), j - i));
    }
    if let Some(n) = parse_bytes(text) {
        return Ok((Tok::Bytes(n), j - i));
    }
    Err(error_at(
        src,
        i,
        &format!("syntax error: invalid duration or byte size {text:?}"),
    ))
}

/// A Go duration (`1h30m`, `1.5s`, `-2ms`, `0`) in nanoseconds; with `dwy` also Prometheus'
/// day, week and year units as Loki's lexer accepts in ranges.
pub(crate) fn parse_duration(s: &str, dwy: bool) -> Option<i64> {
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if n == 0 {
            return None;
        }
        let num: f64 = s[..n].parse().ok()?;
        s = &s[n..];
        let u = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = match &s[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" if dwy => 86400e9,
            "w" if dwy => 7.0 * 86400e9,
            "y" if dwy => 365.0 * 86400e9,
            _ => return None,
        };
        s = &s[u..];
        total += num * unit;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return None;
    }
    let v = total.round() as i64;
    Some(if neg { -v } else { v })
}

/// go-humanize's `ParseBytes`: a float, optional spaces, an SI (kB = 1000) or IEC
/// (KiB = 1024) unit, case-insensitive; no unit means bytes.
pub(crate) fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let n = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let num: f64 = s[..n].replace(',', "").parse().ok()?;
    let unit = s[n..].trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024.0f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024.0f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024.0f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024.0f64.powi(5),
        "e" | "eb" => 1e18,
        "ei" | "eib" => 1024.0f64.powi(6),
        _ => return None,
    };
    let v = num * mult;
    if !v.is_finite() || v >= u64::MAX as f64 {
        return None;
    }
    Some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_bytes() {
        assert_eq!(parse_duration("1h30m", true), Some(5400 * 1_000_000_000));
        assert_eq!(parse_duration("1.5s", false), Some(1_500_000_000));
        assert_eq!(parse_duration("250µs", false), Some(250_000));
        assert_eq!(parse_duration("1d", false), None);
        assert_eq!(parse_duration("1d", true), Some(86_400_000_000_000));
        assert_eq!(parse_duration("abc", true), None);
        assert_eq!(parse_bytes("1KB"), Some(1000));
        assert_eq!(parse_bytes("1KiB"), Some(1024));
        assert_eq!(parse_bytes("2.5 MB"), Some(2_500_000));
        assert_eq!(parse_bytes("42"), Some(42));
        assert_eq!(parse_bytes("1XB"), None);
        let toks: Vec<Tok> = lex("[5m] 10ms 1KB 3 1e3 `a\\b` \"a\\tb\"")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect();
        assert_eq!(
            toks,
            vec![
                Tok::LBrack,
                Tok::Dur(300_000_000_000),
                Tok::RBrack,
                Tok::Dur(10_000_000),
                Tok::Bytes(1000),
                Tok::Num(3.0),
                Tok::Num(1000.0),
                Tok::Str("a\\b".into()),
                Tok::Str("a\tb".into()),
                Tok::Eof
            ]
        );
    }
}
