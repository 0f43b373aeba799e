//! Operators that run one of the embedded parser blocks on its own: `time_parser`,
//! `trace_parser`, `scope_name_parser` (Go: transformers around `helper.TimeParser`,
//! `helper.TraceParser`, `helper.ScopeNameParser`).

use serde::Deserialize;

use crate::entry::Entry;
use crate::field::{Field, Root};
use crate::operator::blocks::{SeverityBlock, SeverityKeys, TimeBlock, TimeKeys};
use crate::operator::config::Spec;
use crate::operator::parser::{ScopeNameBlock, TraceBlock, TraceKeys, TransformerKeys};
use crate::operator::{Next, Operator, Out, Transformer};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct TimeParserConfig {
    #[serde(flatten)]
    time: TimeKeys,
    #[serde(flatten)]
    t: TransformerKeys,
}

struct TimeParserOp {
    t: Transformer,
    block: TimeBlock,
}

impl Spec for TimeParserConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(TimeParserOp {
            t: self.t.build()?,
            block: self.time.build()?,
        }))
    }
}

impl Operator for TimeParserOp {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let block = &self.block;
        self.t.run(e, out, |e| block.apply(e))
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct SeverityParserConfig {
    #[serde(flatten)]
    severity: SeverityKeys,
    #[serde(flatten)]
    t: TransformerKeys,
}

struct SeverityParserOp {
    t: Transformer,
    block: SeverityBlock,
}

impl Spec for SeverityParserConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(SeverityParserOp {
            t: self.t.build()?,
            block: self.severity.build()?,
        }))
    }
}

impl Operator for SeverityParserOp {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let block = &self.block;
        self.t.run(e, out, |e| block.apply(e))
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct TraceParserConfig {
    #[serde(flatten)]
    trace: TraceKeys,
    #[serde(flatten)]
    t: TransformerKeys,
}

struct TraceParserOp {
    t: Transformer,
    block: TraceBlock,
}

impl Spec for TraceParserConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(TraceParserOp {
            t: self.t.build()?,
            block: self.trace.build(),
        }))
    }
}

impl Operator for TraceParserOp {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let block = &self.block;
        self.t.run(e, out, |e| block.apply(e))
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct ScopeNameParserConfig {
    parse_from: Option<Field>,
    #[serde(flatten)]
    t: TransformerKeys,
}

struct ScopeNameParserOp {
    t: Transformer,
    block: ScopeNameBlock,
}

impl Spec for ScopeNameParserConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(ScopeNameParserOp {
            t: self.t.build()?,
            block: ScopeNameBlock {
                parse_from: self
                    .parse_from
                    .clone()
                    .unwrap_or_else(|| Field::new(Root::Body, &["scope_name"])),
            },
        }))
    }
}

impl Operator for ScopeNameParserOp {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let block = &self.block;
        self.t.run(e, out, |e| block.apply(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;
    use crate::value::Value;

    #[test]
    fn time_parser_sets_the_timestamp_from_each_layout_kind() {
        // Expected values: unix ns of the same instants (UTC).
        let cases = [
            (
                "strptime",
                "'%Y-%m-%dT%H:%M:%S.%LZ'",
                Value::from("2024-05-06T07:08:09.123Z"),
                1_714_979_289_123_000_000i64,
            ),
            (
                "gotime",
                "2006-01-02T15:04:05.999999999Z07:00",
                Value::from("2024-05-06T07:08:09.123456789+02:00"),
                1_714_972_089_123_456_789,
            ),
            (
                "epoch",
                "s",
                Value::Int(1_714_979_289),
                1_714_979_289_000_000_000,
            ),
            (
                "epoch",
                "ms",
                Value::from("1714979289123"),
                1_714_979_289_123_000_000,
            ),
            (
                "epoch",
                "s.ms",
                Value::Float(1_714_979_289.5),
                1_714_979_289_500_000_000,
            ),
        ];
        for (kind, layout, v, want) in cases {
            let yaml = format!(
                "- type: time_parser\n  parse_from: attributes.t\n  layout_type: {kind}\n  layout: {layout}\n"
            );
            let mut e = Entry::default();
            e.attributes.insert("t", v.clone());
            let out = run_one(&yaml, e);
            assert_eq!(out[0].timestamp, want, "{kind} {layout} {v:?}");
        }
    }

    #[test]
    fn time_parser_errors_go_to_on_error() {
        let yaml =
            "- type: time_parser\n  parse_from: attributes.t\n  layout: '%Y'\n  on_error: drop\n";
        let mut e = Entry::default();
        e.attributes.insert("t", "not a year".into());
        assert!(run_one(yaml, e).is_empty());
        assert!(run_one(yaml, Entry::default()).is_empty());
        assert_eq!(
            build_err("- type: time_parser\n  layout: '%Y'\n"),
            "missing required parameter 'parse_from'"
        );
        assert_eq!(
            build_err("- type: time_parser\n  parse_from: body\n"),
            "missing required configuration parameter `layout`"
        );
    }

    #[test]
    fn severity_parser_and_block() {
        let yaml = "- type: severity_parser\n  parse_from: attributes.level\n  mapping:\n    warn: [w, 'warning!']\n    error: 5xx\n";
        let cases: [(Value, u8, &str); 5] = [
            (Value::from("INFO"), 9, "INFO"),
            (Value::from("w"), 13, "w"),
            (Value::Int(503), 17, "503"),
            (Value::from("nonsense"), 0, "nonsense"),
            // The presets map the numbers "1".."24" to themselves.
            (Value::Float(2.0), 2, "2"),
        ];
        for (v, sev, text) in cases {
            let mut e = Entry::default();
            e.attributes.insert("level", v.clone());
            let out = run_one(yaml, e);
            assert_eq!(
                (out[0].severity, out[0].severity_text.as_str()),
                (sev, text),
                "{v:?}"
            );
        }
        // Embedded in a parser, with overwrite_text.
        let yaml = "- type: json_parser\n  severity:\n    parse_from: attributes.lvl\n    overwrite_text: true\n";
        let out = run_one(yaml, Entry::with_body(r#"{"lvl":"warning"}"#, 0));
        assert_eq!(
            (out[0].severity, out[0].severity_text.as_str()),
            (13, "WARN")
        );
        let mut p =
            pipeline("- type: severity_parser\n  parse_from: attributes.level\n  on_error: drop\n");
        let mut e = Entry::default();
        e.attributes.insert("level", Value::Bool(true));
        assert!(run(&mut p, vec![e]).is_empty());
        assert_eq!(
            build_err("- type: severity_parser\n"),
            "missing required field 'parse_from'"
        );
    }

    #[test]
    fn trace_parser_decodes_hex_ids() {
        let body = map! {"trace_id" => "0102030405060708090a0b0c0d0e0f10", "span_id" => "0102030405060708", "trace_flags" => "01"};
        let out = run_one("- type: trace_parser\n", Entry::with_body(body, 0));
        assert_eq!(out[0].trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(out[0].span_id, (1..=8).collect::<Vec<u8>>());
        assert_eq!(out[0].trace_flags, vec![1]);
        let yaml =
            "- type: trace_parser\n  trace_id:\n    parse_from: attributes.tid\n  on_error: drop\n";
        let mut e = Entry::default();
        e.attributes.insert("tid", "xyz".into());
        let mut p = pipeline(yaml);
        assert!(run(&mut p, vec![e]).is_empty());
    }

    #[test]
    fn scope_name_parser_sets_the_scope() {
        let out = run_one(
            "- type: scope_name_parser\n  parse_from: attributes.logger\n",
            {
                let mut e = Entry::default();
                e.attributes.insert("logger", "com.example.Main".into());
                e
            },
        );
        assert_eq!(out[0].scope_name, "com.example.Main");
    }
}
