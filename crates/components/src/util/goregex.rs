//! Go `regexp` (RE2 syntax) patterns on Rust's `regex` crate. The two agree on almost all
//! syntax and on leftmost-first matching; where they differ, a config written for the Go
//! collector must still mean the same thing here:
//!
//! - `\d \s \w \b` (and the negations) are ASCII-only in Go, Unicode-aware in Rust: they are
//!   rewritten to their ASCII classes (`\d` → `[0-9]`, `\b` → `(?-u:\b)`).
//! - `\Q...\E` quotes a literal in Go; Rust has no such syntax: the text is escaped.
//! - Inside a bracket class, Go reads `[` (unless it starts `[:alpha:]`), `&&` and `~~` as
//!   literal characters; Rust reads them as a nested class and set operations: escaped.
//!
//! Syntax errors are reported Go-style: `error parsing regexp: <reason>: `<pattern>``.

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
    format!("error parsing regexp: {reason}: `{pattern}`")
}

const DIGIT: &str = "0-9";
const SPACE: &str = r"\t\n\x0C\r ";
const WORD: &str = "0-9A-Za-z_";

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
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn syntax_error_reads_like_go() {
        let e = compile("(").unwrap_err();
        assert!(e.starts_with("error parsing regexp: "), "{e}");
        assert!(e.ends_with(": `(`"), "{e}");
    }
}
