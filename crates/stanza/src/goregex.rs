//! Go RE2 patterns compiled with Rust's `regex`: the two dialects agree except where Go
//! is more lenient or ASCII-only, so patterns are rewritten before compiling:
//! - a `{` or `}` that does not form a repetition (`{2}`, `{2,}`, `{2,5}`) is a literal in
//!   Go (`^{.*}$` from a real config) and an error in Rust, so it is escaped;
//! - `\d \w \s \b` (and negations) are ASCII in Go and Unicode in Rust, so they are spelled
//!   out as ASCII classes (which is also faster).

use regex::Regex;

/// Compiles a Go regular expression. The error text is the Rust parser's.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| e.to_string())
}

fn class_body(c: char) -> Option<(&'static str, bool)> {
    Some(match c {
        'd' => ("0-9", false),
        'D' => ("0-9", true),
        'w' => ("0-9A-Za-z_", false),
        'W' => ("0-9A-Za-z_", true),
        's' => ("\\t\\n\\f\\r ", false),
        'S' => ("\\t\\n\\f\\r ", true),
        _ => return None,
    })
}

/// Length of a repetition `{n}`, `{n,}`, `{n,m}` starting at `s[0] == '{'`.
fn repetition_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < s.len() && s[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if i < s.len() && s[i] == ',' {
        i += 1;
        digits(&mut i);
    }
    (i < s.len() && s[i] == '}').then_some(i + 1)
}

pub(crate) fn translate(pattern: &str) -> String {
    let s: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\\' && i + 1 < s.len() {
            let n = s[i + 1];
            if let Some((body, neg)) = class_body(n) {
                match (in_class, neg) {
                    (false, false) => {
                        out.push('[');
                        out.push_str(body);
                        out.push(']');
                    }
                    (_, true) => {
                        out.push_str("[^");
                        out.push_str(body);
                        out.push(']');
                    }
                    (true, false) => out.push_str(body),
                }
                i += 2;
                continue;
            }
            if !in_class && (n == 'b' || n == 'B') {
                out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                i += 2;
                continue;
            }
            out.push(c);
            out.push(n);
            i += 2;
            // \p{Greek}, \x{263a}: copy the braces verbatim.
            if matches!(n, 'p' | 'P' | 'x') && i < s.len() && s[i] == '{' {
                while i < s.len() {
                    out.push(s[i]);
                    i += 1;
                    if s[i - 1] == '}' {
                        break;
                    }
                }
            }
            continue;
        }
        if in_class {
            if c == '[' && i + 1 < s.len() && s[i + 1] == ':' {
                // POSIX class [:alpha:]
                while i < s.len() {
                    out.push(s[i]);
                    i += 1;
                    if s[i - 1] == ']' {
                        break;
                    }
                }
                continue;
            }
            if c == '[' {
                // A literal '[' inside a class is nesting in Rust.
                out.push_str("\\[");
                i += 1;
                continue;
            }
            let first = i == class_start || (i == class_start + 1 && s[class_start] == '^');
            if c == ']' && !first {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = i + 1;
                out.push(c);
            }
            '{' => match repetition_len(&s[i..]) {
                Some(n) => {
                    out.extend(&s[i..i + n]);
                    i += n;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_literal_braces_compile() {
        let re = compile("^{.*}$").unwrap();
        assert!(re.is_match("{\"a\":1}"));
        assert!(!re.is_match("x{}"));
        assert!(compile("a{2}").unwrap().is_match("aa"));
        assert!(compile("a{2,}").unwrap().is_match("aaa"));
        assert!(compile("a{,2}").unwrap().is_match("a{,2}"));
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(!compile(r"^\d$").unwrap().is_match("٣"));
        assert!(compile(r"^\d+$").unwrap().is_match("123"));
        assert!(compile(r"^[\d\-]+$").unwrap().is_match("1-2"));
        assert!(compile(r"^[^\s]+$").unwrap().is_match("abc"));
        assert!(compile(r"^\w+\b").unwrap().is_match("abc def"));
        assert!(compile(r"^[a-f0-9\-]+$").unwrap().is_match("ab-12"));
        assert!(compile(r"^[]a]+$").unwrap().is_match("]a"));
        assert!(compile(r"^[[:alpha:]]+$").unwrap().is_match("ab"));
        assert!(compile(r"^\p{Greek}+$").unwrap().is_match("αβ"));
        assert!(
            compile(r"^[^ ^Z]+Z")
                .unwrap()
                .is_match("2024-01-01T00:00:00Z")
        );
    }
}
