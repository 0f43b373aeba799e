//! The body of the OTTL parser fuzz target (`/fuzz/fuzz_targets/ottl_parser.rs`), kept here
//! so a unit test runs it over seeded random and mutated inputs on stable, where cargo-fuzz
//! (nightly) is not available. It must never panic on any input.

use pdata::proto::common::v1::{AnyValue, InstrumentationScope, any_value};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::Span;

use crate::Parser;
use crate::contexts::log::{LogContext, LogData};
use crate::contexts::span::{SpanContext, SpanData};

thread_local! {
    static LOG: Parser<LogContext> = Parser::new(crate::functions::standard());
    static SPAN: Parser<SpanContext> = Parser::new(crate::functions::standard());
}

/// Parses `data` as a statement, a condition and a value expression for the log and span
/// contexts, and runs whatever parses on a small record: parse errors and evaluation errors
/// are fine, panics are not.
pub fn parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    LOG.with(|p| {
        let mut rec = LogRecord {
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("a=1 b=2".into())),
            }),
            ..Default::default()
        };
        let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
        let mut d = LogData::new(&mut rec, &mut scope, &mut res);
        if let Ok(st) = p.parse_statement(text) {
            let _ = st.execute(&mut d);
        }
        if let Ok(c) = p.parse_condition(text) {
            let _ = c.eval(&d);
        }
        if let Ok(e) = p.parse_value_expression(text) {
            let _ = e.eval(&d);
        }
    });
    SPAN.with(|p| {
        let (mut span, mut scope, mut res) = (
            Span::default(),
            InstrumentationScope::default(),
            Resource::default(),
        );
        let mut d = SpanData::new(&mut span, &mut scope, &mut res);
        if let Ok(st) = p.parse_statement(text) {
            let _ = st.execute(&mut d);
        }
        let _ = p.parse_condition(text);
    });
    let _ = crate::infer::path_contexts(&[text], &[text]);
}

#[cfg(test)]
mod tests {
    /// xorshift: a fixed seed gives the same corpus every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const SEEDS: &[&str] = &[
        r#"set(attributes["a"], Concat([body, "x", 1], "-")) where severity_number >= SEVERITY_NUMBER_WARN"#,
        r#"replace_pattern(body, "a=(\\d+)", "$1", SHA256, "h:%s")"#,
        r#"merge_maps(attributes, ParseKeyValue(body), "upsert") where IsString(body) and not IsMap(body)"#,
        r#"set(attributes["t"], UnixNano(Time("02/04/2023", "%m/%d/%Y")) + 1 * (2 - 3) / 4)"#,
        r#"set(cache["x"], ParseJSON("{\"a\":[1,{\"b\":2}]}")["a"][1]["b"])"#,
        r#"limit(attributes, 2, ["a"]) where attributes["x"] == nil or body != 0x0a0b"#,
        r#"set(span.attributes["k"], span.kind.string) where span.kind == SPAN_KIND_SERVER"#,
        r#"truncate_all(attributes, 3, utf8_safe = false, truncation_marker = "..")"#,
        r#"flatten(attributes, "p", 2) where Len(Split(body, " ")) > 1"#,
        r#"set(attributes[attributes["k"]], Format("%02d", [Len(body)]))"#,
        r#"keep_keys(attributes, ["a", "b"]) where {"a": 1} == {"a": 1.0}"#,
        r#"set(trace_state["k"], Substring(trace_id.string, 0, 4))"#,
    ];

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let alphabet: &[u8] = b"()[]{},.=<>!+-*/\"\\ :0123456789xaAeEnotrfwhsilSETNUMB_";
        let mut rng = Rng(0x9e3779b97f4a7c15);
        for seed in SEEDS {
            super::parse(seed.as_bytes());
        }
        for _ in 0..6000 {
            let mut input = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(input.len() + 1);
                match rng.below(4) {
                    0 if at < input.len() => {
                        input.remove(at);
                    }
                    1 => input.insert(at, alphabet[rng.below(alphabet.len())]),
                    2 if at < input.len() => input.truncate(at),
                    _ => {
                        // splice a piece of another seed
                        let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                        let from = rng.below(other.len());
                        let len = rng.below(other.len() - from + 1);
                        input.splice(at..at, other[from..from + len].iter().copied());
                    }
                }
            }
            super::parse(&input);
        }
        for _ in 0..2000 {
            let len = rng.below(60);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            super::parse(&input);
        }
    }

    /// Deep nesting is refused, not a stack overflow (in parsing, compiling, evaluating or
    /// dropping the tree).
    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let parens = format!(
            "set(attributes[\"a\"], {}1{})",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let sum = format!("set(attributes[\"a\"], 1{})", " + 1".repeat(5000));
        let nots = format!("{}true{}", "not (".repeat(5000), ")".repeat(5000));
        let bools = format!("{}true{}", "(".repeat(5000), ")".repeat(5000));
        let lists = format!(
            "set(attributes[\"a\"], {}{})",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let calls = format!(
            "set(attributes[\"a\"], {}1{})",
            "Int(".repeat(5000),
            ")".repeat(5000)
        );
        let p = super::LOG.with(|p| p.clone());
        for src in [&parens, &sum, &lists, &calls] {
            let e = p.parse_statement(src).unwrap_err().to_string();
            assert!(
                e.contains("nested more than 100 levels"),
                "{}",
                &e[e.len().saturating_sub(200)..]
            );
        }
        for src in [&nots, &bools] {
            let e = p.parse_condition(src).unwrap_err().to_string();
            assert!(
                e.contains("nested more than 100 levels"),
                "{}",
                &e[e.len().saturating_sub(200)..]
            );
        }
        // a real statement's depth is fine
        let ok = format!(
            "set(attributes[\"a\"], {}1{})",
            "(".repeat(20),
            ")".repeat(20)
        );
        assert!(p.parse_statement(&ok).is_ok());
        let ok = format!("set(attributes[\"a\"], 1{})", " + 1".repeat(50));
        assert!(p.parse_statement(&ok).is_ok());
    }
}
