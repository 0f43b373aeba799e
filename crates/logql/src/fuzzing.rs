//! The body of the LogQL parser fuzz target (`/fuzz/fuzz_targets/logql_parser.rs`), kept here
//! so a unit test runs it over seeded random and mutated inputs on stable. Whatever parses is
//! also evaluated over a tiny in-memory source: errors are fine, panics are not.

use crate::{Direction, Engine, Entry, LogSource, Selection, Stream};

struct Tiny;

impl LogSource for Tiny {
    fn select(&self, _sel: &Selection<'_>) -> Result<Vec<Stream>, String> {
        let lines = [
            r#"{"level":"error","msg":"boom","status":500,"d":"15ms","nested":{"a":1}}"#,
            "level=info msg=\"hi there\" status=200 d=5ms size=1KB",
            "GET /index.html 404 12",
            "not=\"closed",
        ];
        Ok(vec![Stream {
            labels: vec![("app".into(), "a".into()), ("env".into(), "prod".into())],
            entries: lines
                .iter()
                .enumerate()
                .map(|(i, l)| Entry {
                    ts_ns: (i as i64 + 1) * 1_000_000_000,
                    line: (*l).into(),
                    metadata: vec![("trace_id".into(), format!("t{i}"))],
                })
                .collect(),
        }])
    }
}

pub fn parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::parse_selector(text);
    if crate::parser::parse(text).is_err() {
        return;
    }
    let e = Engine {
        max_cells: 100_000,
        ..Engine::default()
    };
    let _ = e.query_range(
        &Tiny,
        text,
        0,
        10_000_000_000,
        1_000_000_000,
        100,
        Direction::Backward,
    );
    let _ = e.query_instant(&Tiny, text, 5_000_000_000, 100, Direction::Forward);
}

#[cfg(test)]
mod tests {
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
        r#"{app="a"} |= "x" or "y" | json | status >= 500 | line_format "{{.msg | ToUpper}}""#,
        r#"sum by (level) (count_over_time({app="a"} | logfmt | __error__="" [5s]))"#,
        r#"quantile_over_time(0.9, {app="a"} | logfmt | unwrap duration(d) | __error__="" [10s]) by (app)"#,
        r#"topk(2, rate({app=~"a|b"} | pattern "<m> <p> <s> <_>" [3s])) / on (app) vector(2)"#,
        r#"{app="a"} | label_format x=`{{if eq .level "info"}}I{{else}}{{.level}}{{end}}`, y=app | drop x | keep y"#,
        "vector(1)+vector(1) > bool 1 or vector(3) unless vector(4)",
        r#"absent_over_time({app="zz"}[1m]) * -2 ^ 2 % 3"#,
        r#"{app="a"} | regexp "(?P<m>\\w+) (?P<p>\\S+)" | m=~"G.*", p!~"x" | size > 1KB or d < 1s"#,
    ];

    const ALPHABET: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "|",
        "=",
        "!",
        "~",
        ">",
        "<",
        "\"",
        "`",
        ",",
        " ",
        "5m",
        "1",
        "json",
        "logfmt",
        "unwrap",
        "by",
        "sum",
        "rate",
        "{{",
        "}}",
        ".",
        "-",
        "or",
        "and",
        "#",
        "\\",
        "offset",
        "0.5",
        "__error__",
    ];

    #[test]
    fn fuzz_body_does_not_panic_on_random_and_mutated_inputs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for seed in SEEDS {
            super::parse(seed.as_bytes());
            assert!(
                crate::parser::parse(seed).is_ok(),
                "{seed}: {:?}",
                crate::parser::parse(seed).err()
            );
        }
        for _ in 0..3000 {
            let mut s: Vec<u8> = if rng.below(3) == 0 {
                (0..rng.below(40))
                    .flat_map(|_| ALPHABET[rng.below(ALPHABET.len())].bytes())
                    .collect()
            } else {
                SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec()
            };
            for _ in 0..rng.below(4) + 1 {
                if s.is_empty() {
                    break;
                }
                let i = rng.below(s.len());
                match rng.below(4) {
                    0 => {
                        s.remove(i);
                    }
                    1 => s.insert(i, ALPHABET[rng.below(ALPHABET.len())].as_bytes()[0]),
                    2 => s[i] = rng.next() as u8,
                    _ => {
                        let j = rng.below(s.len());
                        s.truncate(i.max(j));
                    }
                }
            }
            super::parse(&s);
        }
        super::parse(&vec![b'('; 10_000]);
        super::parse("{{{{{{{{".as_bytes());
    }
}
