//! Go `regexp` (RE2 syntax) patterns on Rust's `regex` crate, for every component that takes
//! a regular expression from a Go collector config (stanza operators and expressions, the
//! attributes and filter processors, later OTTL). The two dialects agree on almost all syntax
//! and on leftmost-first matching; where they differ, a pattern must still mean what it means
//! to Go:
//!
//! - `\d \s \w \b` (and the negations) are ASCII-only in Go, Unicode-aware in Rust: they are
//!   rewritten to their ASCII classes (`\d` → `[0-9]`, `\b` → `(?-u:\b)`), which is also faster.
//! - `\Q...\E` quotes a literal in Go; Rust has no such syntax: the text is escaped.
//! - Inside a bracket class, Go reads `[` (unless it starts `[:alpha:]`), `&&` and `~~` as
//!   literal characters; Rust reads them as a nested class and set operations: escaped.
//! - A `{` or `}` that does not form a repetition (`{2}`, `{2,}`, `{2,5}`) is a literal in Go
//!   (`^{.*}$` from a real config) and an error in Rust: escaped.
//!
//! Syntax errors read as Go's: `error parsing regexp: <reason>: `<pattern>``.
//!
//! ```
//! let re = goregex::compile(r"^{\d+}$").unwrap();
//! assert!(re.is_match("{42}"));
//! assert!(!re.is_match("{\u{663}}")); // ARABIC-INDIC DIGIT THREE is not a digit to Go
//! ```

pub mod direct;
pub mod filterset;

pub use direct::{Direct, Matcher};

use regex::Regex;

/// Compiles a Go regular expression.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| error_text(pattern, &e))
}

fn error_text(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    // The syntax error's last line is `error: <reason>`; the lines above draw a caret.
    let reason = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(text.as_str());
    format!("error parsing regexp: {}: `{pattern}`", go_reason(reason))
}

/// Go's `syntax.ErrorCode` text for the Rust parser's reasons that have one.
fn go_reason(rust: &str) -> &str {
    match rust {
        "unclosed group" => "missing closing )",
        "unopened group" => "unexpected )",
        "unclosed character class" => "missing closing ]",
        "repetition operator missing expression" => "missing argument to repetition operator",
        "incomplete escape sequence, reached end of pattern prematurely" => {
            "trailing backslash at end of expression"
        }
        "invalid character class range, the start must be <= the end" => {
            "invalid character class range"
        }
        other => other,
    }
}

const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0C\r ";
const WORD: &str = "0-9A-Za-z_";

/// Length of a repetition `{n}`, `{n,}`, `{n,m}` at the start of `s` (which starts with `{`).
fn repetition_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(1);
    if i == 1 {
        return None;
    }
    if b.get(i) == Some(&b',') {
        i = digits(i + 1);
    }
    (b.get(i) == Some(&b'}')).then_some(i + 1)
}

/// The pattern rewritten for Rust's `regex` with Go's meaning.
pub fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.char_indices().peekable();
    // Inside a bracket class, and whether the next char is the class's first (where `]` is
    // a literal).
    let mut in_class = false;
    let mut class_start = false;
    while let Some((i, c)) = chars.next() {
        let first_in_class = class_start;
        class_start = false;
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    out.push('\\');
                    break;
                };
                if e == 'Q' {
                    let rest = &pattern[i + 2..];
                    let (lit, after) = match rest.find("\\E") {
                        Some(end) => (&rest[..end], end + 2),
                        None => (rest, rest.len()),
                    };
                    if in_class {
                        for ch in lit.chars() {
                            out.push_str(&regex::escape(&ch.to_string()));
                        }
                    } else {
                        out.push_str(&regex::escape(lit));
                    }
                    let consumed = i + 2 + after;
                    while chars.peek().is_some_and(|(j, _)| *j < consumed) {
                        chars.next();
                    }
                    continue;
                }
                let ascii = match e {
                    'd' | 'D' => Some(DIGIT),
                    's' | 'S' => Some(SPACE),
                    'w' | 'W' => Some(WORD),
                    _ => None,
                };
                match (ascii, in_class) {
                    (Some(set), false) => {
                        out.push('[');
                        if e.is_ascii_uppercase() {
                            out.push('^');
                        }
                        out.push_str(set);
                        out.push(']');
                    }
                    (Some(set), true) if e.is_ascii_lowercase() => out.push_str(set),
                    (Some(set), true) => {
                        out.push_str("[^");
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, false) if e == 'b' || e == 'B' => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    (None, _) => {
                        out.push('\\');
                        out.push(e);
                        // `\p{Greek}`, `\x{263a}`: the braces belong to the escape.
                        if matches!(e, 'p' | 'P' | 'x')
                            && chars.peek().is_some_and(|(_, c)| *c == '{')
                        {
                            for (_, ch) in chars.by_ref() {
                                out.push(ch);
                                if ch == '}' {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if let Some((_, '^')) = chars.peek() {
                    chars.next();
                    out.push('^');
                }
            }
            '[' => {
                // `[:alpha:]` keeps its meaning; any other `[` is a literal in Go.
                if pattern[i..].starts_with("[:")
                    && let Some(end) = pattern[i + 2..].find(":]")
                {
                    let class = &pattern[i..i + 2 + end + 2];
                    out.push_str(class);
                    let consumed = i + class.len();
                    while chars.peek().is_some_and(|(j, _)| *j < consumed) {
                        chars.next();
                    }
                } else {
                    out.push_str("\\[");
                }
            }
            ']' if in_class && !first_in_class => {
                in_class = false;
                out.push(']');
            }
            ']' if in_class => out.push_str("\\]"),
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '{' if !in_class => match repetition_len(&pattern[i..]) {
                Some(n) => {
                    out.push_str(&pattern[i..i + n]);
                    while chars.peek().is_some_and(|(j, _)| *j < i + n) {
                        chars.next();
                    }
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reason is Go's; for errors about a fragment (`*`, `z-a`) Go quotes only the
    /// fragment where this quotes the whole pattern.
    #[test]
    fn common_syntax_errors_read_as_go_s() {
        for (pattern, want) in [
            ("(", "error parsing regexp: missing closing ): `(`"),
            ("a)", "error parsing regexp: unexpected ): `a)`"),
            ("[a", "error parsing regexp: missing closing ]: `[a`"),
        ] {
            assert_eq!(compile(pattern).unwrap_err(), want, "{pattern}");
        }
    }

    #[test]
    fn perl_classes_are_ascii_only_as_in_go() {
        let digits = compile(r"^\d+$").unwrap();
        assert!(digits.is_match("0123"));
        // U+0663 ARABIC-INDIC DIGIT THREE is a digit to Rust's Unicode `\d`, not to Go.
        assert!(!digits.is_match("\u{663}"));
        let word = compile(r"^\w+$").unwrap();
        assert!(word.is_match("a_Z9"));
        assert!(!word.is_match("é"));
        assert!(compile(r"^\W$").unwrap().is_match("é"));
        assert!(compile(r"^\s$").unwrap().is_match("\u{c}"));
        assert!(!compile(r"^\s$").unwrap().is_match("\u{a0}"));
        assert!(compile(r"^[\d.]+$").unwrap().is_match("1.5"));
        assert!(compile(r"^[\D]+$").unwrap().is_match("ab"));
        assert!(!compile(r"^[\D]+$").unwrap().is_match("a1"));
    }

    #[test]
    fn word_boundary_is_ascii() {
        // Go: `é` is not a word character, so there is a boundary between `é` and `x`.
        assert!(compile(r"\bx").unwrap().is_match("éx"));
    }

    #[test]
    fn quoted_literal_and_class_literals() {
        assert!(compile(r"^\Qa.b\E$").unwrap().is_match("a.b"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"^[[]$").unwrap().is_match("["));
        assert!(compile(r"^[]a]+$").unwrap().is_match("]a"));
        assert!(compile(r"^[a&&b]+$").unwrap().is_match("&"));
        assert!(compile(r"^[[:digit:]x]+$").unwrap().is_match("1x"));
    }

    #[test]
    fn named_groups_and_escapes_pass_through() {
        let re = compile(r"^(?P<a>\d+)-(?P<b>\.x)$").unwrap();
        let c = re.captures("12-.x").unwrap();
        assert_eq!(&c["a"], "12");
        assert_eq!(&c["b"], ".x");
    }

    #[test]
    fn go_literal_braces_compile() {
        let re = compile("^{.*}$").unwrap();
        assert!(re.is_match("{\"a\":1}"));
        assert!(!re.is_match("x{}"));
        assert!(compile("a{2}").unwrap().is_match("aa"));
        assert!(!compile("^a{2}$").unwrap().is_match("a"));
        assert!(compile("^a{2,}$").unwrap().is_match("aaa"));
        assert!(compile("^a{1,2}$").unwrap().is_match("aa"));
        assert!(compile("a{,2}").unwrap().is_match("a{,2}"));
        assert!(compile(r"^[{}]+$").unwrap().is_match("{}"));
    }

    #[test]
    fn escapes_with_braces_keep_them() {
        assert!(compile(r"^\p{Greek}+$").unwrap().is_match("αβ"));
        assert!(compile(r"^\x{263a}$").unwrap().is_match("\u{263a}"));
        assert!(
            compile(r"^[^ ^Z]+Z")
                .unwrap()
                .is_match("2024-01-01T00:00:00Z")
        );
        assert!(compile(r"^[a-f0-9\-]+$").unwrap().is_match("ab-12"));
        assert!(compile(r"^\w+\b").unwrap().is_match("abc def"));
    }

    #[test]
    fn syntax_error_reads_like_go() {
        let e = compile("(").unwrap_err();
        assert!(e.starts_with("error parsing regexp: "), "{e}");
        assert!(e.ends_with(": `(`"), "{e}");
    }
}
