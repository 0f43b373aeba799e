//! `regex_replace`: rewrites a string field with Go's `Regexp.ReplaceAllString` (every
//! match replaced by `replace_with`, where `$1`, `${1}`, `$name`, `${name}` expand to
//! groups and `$$` is a `$`), from a `regex` or the `regex_name` preset
//! `ansi_control_sequences` (ANSI CSI escapes such as colour codes).

use std::borrow::Cow;

use regex::Regex;
use serde::Deserialize;

use crate::entry::Entry;
use crate::field::Field;

use crate::operator::config::Spec;
use crate::operator::parser::TransformerKeys;
use crate::operator::{Next, Operator, Out, Transformer};
use crate::value::Value;

/// Go's preset: a CSI escape (ESC `[`, parameter bytes, intermediate bytes, final byte).
const ANSI_CSI: &str = r"\x1B\[[\x30-\x3F]*[\x20-\x2F]*[\x40-\x7E]";

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    regex_name: String,
    regex: String,
    replace_with: String,
    field: Option<Field>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        if self.regex_name.is_empty() == self.regex.is_empty() {
            return Err("either regex or regex_name must be set".into());
        }
        let regex = match self.regex_name.as_str() {
            "" => goregex::compile(&self.regex)?,
            // The pattern is a constant known to compile.
            "ansi_control_sequences" => Regex::new(ANSI_CSI).map_err(|e| e.to_string())?,
            other => return Err(format!("regex_name {other} is unknown")),
        };
        // Go builds without `field` and then dereferences a nil field on the first entry
        // (a panic); refusing the config is the useful version of that.
        let field = self.field.clone().ok_or("missing required field 'field'")?;
        Ok(Box::new(RegexReplace {
            t,
            field,
            regex,
            replace_with: self.replace_with.clone(),
        }))
    }
}

struct RegexReplace {
    t: Transformer,
    field: Field,
    regex: Regex,
    replace_with: String,
}

impl Operator for RegexReplace {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let (field, regex, with) = (&self.field, &self.regex, self.replace_with.as_str());
        self.t.run(e, out, |e| match field.get_mut(e) {
            // A missing field is left alone, as in Go.
            None => Ok(()),
            Some(Value::Str(s)) => {
                if let Cow::Owned(replaced) = regex.replace_all(s, with) {
                    *s = replaced.into();
                }
                Ok(())
            }
            Some(other) => Err(format!("type {} cannot be handled", other.go_type())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn body_after(yaml: &str, body: &str) -> Value {
        run_one(yaml, Entry::with_body(body, 0))
            .pop()
            .expect("one entry out")
            .body
    }

    // Expected values from otelcol-contrib 0.135 (filelog -> otlphttp json).
    #[test]
    fn replaces_every_match_with_go_template_expansion() {
        let cases = [
            ("_+", ",", "a__b__c", "a,b,c"),
            ("_+", ",", "x_$y", "x,$y"),
            (
                r"(?P<w>[a-z])_(\d)",
                "[${w}|$2|$1x|$$|$9|$|${2}x|$w]",
                "a_1 b_2 c-3",
                "[a|1||$||$|1x|a] [b|2||$||$|2x|b] c-3",
            ),
            ("{(.)}", "${1}", "{a}{b}{c}", "abc"),
            ("nomatch", "x", "unchanged", "unchanged"),
        ];
        for (re, with, input, want) in cases {
            let yaml = format!(
                "- type: regex_replace\n  regex: '{re}'\n  replace_with: '{with}'\n  field: body\n"
            );
            assert_eq!(
                body_after(&yaml, input),
                Value::from(want),
                "{re} on {input}"
            );
        }
    }

    #[test]
    fn ansi_preset_strips_csi_sequences() {
        let yaml = "- type: regex_replace\n  regex_name: ansi_control_sequences\n  field: body\n";
        let cases = [
            (
                "start \x1b[31mred\x1b[0m end \x1b[31M \x1b[m\x1b[1;2 ~x",
                "start red end  x",
            ),
            ("\x1b[31;1;4m", ""),
            ("asdf", "asdf"),
        ];
        for (input, want) in cases {
            assert_eq!(body_after(yaml, input), Value::from(want), "{input:?}");
        }
    }

    #[test]
    fn attribute_field_and_missing_field() {
        let yaml = "- type: regex_replace\n  regex_name: ansi_control_sequences\n  field: attributes.foo\n";
        let mut e = Entry::with_body("x", 0);
        e.attributes
            .insert("foo", Value::from("\x1b[31mred\x1b[0m"));
        let out = run_one(yaml, e);
        assert_eq!(out[0].attributes, map! {"foo" => "red"});
        // A missing field is no error: the entry goes on untouched.
        let mut p = pipeline(yaml);
        let out = run(&mut p, vec![Entry::with_body("\x1b[31mx", 0)]);
        assert_eq!(out[0].body, Value::from("\x1b[31mx"));
        assert_eq!(p.error_count(), 0);
    }

    #[test]
    fn non_string_values_follow_on_error() {
        let base =
            "- type: regex_replace\n  regex: '1'\n  replace_with: X\n  field: attributes.n\n";
        let entry = || {
            let mut e = Entry::with_body("b", 0);
            e.attributes.insert("n", Value::Float(1.0));
            e
        };
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let mut p = pipeline(&format!("{base}  on_error: {mode}\n"));
            let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let s2 = seen.clone();
            p.set_error_hook(Box::new(move |e| {
                *s2.lock().unwrap() = e.message.to_string()
            }));
            let out = run(&mut p, vec![entry()]);
            assert_eq!(out.len(), usize::from(sent), "{mode}");
            if sent {
                assert_eq!(out[0].attributes.get("n"), Some(&Value::Float(1.0)));
            }
            assert_eq!(*seen.lock().unwrap(), "type float64 cannot be handled");
        }
        let mut e = Entry::with_body("b", 0);
        e.attributes.insert("n", Value::Map(map! {"a" => "1"}));
        let mut p = pipeline(base);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            *s2.lock().unwrap() = e.message.to_string()
        }));
        run(&mut p, vec![e]);
        assert_eq!(
            *seen.lock().unwrap(),
            "type map[string]interface {} cannot be handled"
        );
    }

    #[test]
    fn config_errors_match_go() {
        let both = "- type: regex_replace\n  regex_name: ansi_control_sequences\n  regex: a\n  field: body\n";
        assert_eq!(build_err(both), "either regex or regex_name must be set");
        assert_eq!(
            build_err("- type: regex_replace\n  field: body\n"),
            "either regex or regex_name must be set"
        );
        assert_eq!(
            build_err("- type: regex_replace\n  regex_name: nope\n  field: body\n"),
            "regex_name nope is unknown"
        );
        assert!(
            build_err("- type: regex_replace\n  regex: '(a'\n  field: body\n")
                .starts_with("error parsing regexp: ")
        );
        assert_eq!(
            build_err("- type: regex_replace\n  regex: a\n"),
            "missing required field 'field'"
        );
    }
}
