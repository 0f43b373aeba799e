//! `labels`: label sets and label matchers as Prometheus and Loki define them — the one
//! definition the store, PromQL and LogQL share. A missing label reads as the empty string;
//! `=~`/`!~` take Go RE2 syntax (through `goregex`) and match the whole value.

use std::fmt;

/// Label pairs sorted by name, names unique (`__name__` among them for metrics).
pub type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Re,
    NotRe,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
}

/// A label matcher; `value` is what was written, the compiled regex is private.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    re: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Matcher) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}

impl Matcher {
    /// Compiles the regex of `=~`/`!~`, anchored at both ends.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, String> {
        let re = match op {
            MatchOp::Re | MatchOp::NotRe => {
                // The user's pattern alone first, so that a syntax error names it rather than
                // our anchoring wrapper.
                goregex::compile(value)?;
                Some(goregex::compile(&format!("^(?:{value})$"))?)
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Re, Some(re)) => re.is_match(v),
            (MatchOp::NotRe, Some(re)) => !re.is_match(v),
            _ => false,
        }
    }

    /// Whether a label set satisfies the matcher.
    pub fn matches_labels(&self, labels: &[(String, String)]) -> bool {
        self.matches(get(labels, &self.name).unwrap_or(""))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// A label's value.
pub fn get<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a label set satisfies every matcher.
pub fn matches_all(ms: &[Matcher], labels: &[(String, String)]) -> bool {
    ms.iter().all(|m| m.matches_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored_go_syntax_and_missing_labels_are_empty() {
        let m = Matcher::new("job", MatchOp::Re, "api|web").unwrap();
        assert!(m.matches("api") && !m.matches("api2") && !m.matches("xapi"));
        let l: Labels = vec![("a".into(), "b".into())];
        assert!(
            Matcher::new("x", MatchOp::Equal, "")
                .unwrap()
                .matches_labels(&l)
        );
        assert!(
            !Matcher::new("x", MatchOp::NotEqual, "")
                .unwrap()
                .matches_labels(&l)
        );
        assert!(
            Matcher::new("x", MatchOp::NotRe, ".+")
                .unwrap()
                .matches_labels(&l)
        );
        let e = Matcher::new("x", MatchOp::Re, "(").unwrap_err();
        assert!(e.contains("`(`"), "{e}");
        // \d is ASCII in Go.
        assert!(
            !Matcher::new("x", MatchOp::Re, r"\d")
                .unwrap()
                .matches("\u{663}")
        );
        assert_eq!(
            Matcher::new("a", MatchOp::NotRe, "x").unwrap().to_string(),
            "a!~\"x\""
        );
    }
}
