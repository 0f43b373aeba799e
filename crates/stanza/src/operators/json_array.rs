//! `json_array_parser`: a string holding a JSON array becomes a list, or with `header`
//! (comma-separated names) a map of name to value. Values follow Go's fastjson reading:
//! numbers are int64 (`GetInt64`: a literal that is not an int64, such as `1.5` or `1e3`,
//! reads as 0), nested objects stay as their source text without whitespace, a nested
//! array is an error, and valid JSON that is not an array reads as an empty array.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::entry::Entry;
use crate::operator::config::Spec;
use crate::operator::parser::{Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::value::{Key, Map, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    header: String,
    #[serde(flatten)]
    parser: ParserKeys,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let parser = self.parser.build()?;
        let header = if self.header.is_empty() {
            None
        } else {
            // Go splits on "," without trimming: `a, b` names the second column " b".
            Some(self.header.split(',').map(Key::named).collect())
        };
        Ok(Box::new(JsonArrayParser { parser, header }))
    }
}

struct JsonArrayParser {
    parser: Parser,
    header: Option<Vec<Key>>,
}

const PARSE_FAILED: &str = "failed to parse entry";

impl Operator for JsonArrayParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let header = self.header.as_deref();
        self.parser.process(e, out, |v| {
            let text = match v {
                Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                Value::Bytes(b) => String::from_utf8_lossy(b),
                other => {
                    return Err(format!(
                        "type '{}' cannot be parsed as json array",
                        other.go_type()
                    ));
                }
            };
            let items = parse_array(&text)?;
            match header {
                None => Ok(Value::List(items)),
                Some(h) => {
                    if h.len() != items.len() {
                        return Err(format!(
                            "wrong number of fields: expected {}, found {}",
                            h.len(),
                            items.len()
                        ));
                    }
                    let mut m = Map::with_capacity(h.len());
                    for (k, v) in h.iter().zip(items) {
                        m.insert_key(k, v);
                    }
                    Ok(Value::Map(m))
                }
            }
        })
    }
}

/// The elements of a JSON array as Go's parser reads them.
pub(crate) fn parse_array(s: &str) -> Result<Vec<Value>, String> {
    let raw: Vec<&RawValue> = match serde_json::from_str(s) {
        Ok(v) => v,
        Err(_) => {
            // Valid JSON that is not an array has no elements (fastjson's `GetArray` is nil).
            return match serde_json::from_str::<&RawValue>(s) {
                Ok(_) => Ok(Vec::new()),
                Err(_) => Err(PARSE_FAILED.into()),
            };
        }
    };
    raw.into_iter().map(|r| element(r.get())).collect()
}

fn element(raw: &str) -> Result<Value, String> {
    Ok(match raw.as_bytes().first() {
        Some(b'{') => Value::from(minify(raw)),
        Some(b'[') | None => return Err(PARSE_FAILED.into()),
        Some(b'"') => Value::from(serde_json::from_str::<String>(raw).map_err(|_| PARSE_FAILED)?),
        Some(b't') => Value::Bool(true),
        Some(b'f') => Value::Bool(false),
        Some(b'n') => Value::Nil,
        // fastjson's best-effort int64: anything that is not one reads as 0.
        _ => Value::Int(raw.parse::<i64>().unwrap_or(0)),
    })
}

/// JSON source text without the whitespace between tokens (strings kept as written,
/// escapes included), as fastjson re-marshals a value it has not decoded.
fn minify(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '"' => {
                in_str = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn errors_of(yaml: &str, e: Entry) -> (Vec<Entry>, Vec<String>) {
        let mut p = pipeline(yaml);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            s2.lock().unwrap().push(e.message.to_string())
        }));
        let out = run(&mut p, vec![e]);
        let errs = seen.lock().unwrap().clone();
        (out, errs)
    }

    // Expected values from otelcol-contrib 0.135 (filelog -> otlphttp json).
    #[test]
    fn reads_values_as_go_fastjson_does() {
        let yaml = "- type: json_array_parser\n  parse_to: body\n";
        let line = r#"[1,"a",true,false,null,{"b": 2, "c":"x\u00e9<"},1.5,-2,1e3,"\u00e9",99999999999999999999,-0]"#;
        let out = run_one(yaml, Entry::with_body(line, 0));
        assert_eq!(
            out[0].body,
            Value::List(vec![
                Value::Int(1),
                Value::from("a"),
                Value::Bool(true),
                Value::Bool(false),
                Value::Nil,
                Value::from(r#"{"b":2,"c":"x\u00e9<"}"#),
                Value::Int(0),
                Value::Int(-2),
                Value::Int(0),
                Value::from("é"),
                Value::Int(0),
                Value::Int(0),
            ])
        );
    }

    #[test]
    fn non_arrays_are_empty_and_invalid_json_fails() {
        let yaml = "- type: json_array_parser\n  parse_to: body\n";
        for (line, want) in [
            (r#"{"a":1}"#, Some(Value::List(vec![]))),
            ("[]", Some(Value::List(vec![]))),
            ("  [1]  ", Some(Value::List(vec![Value::Int(1)]))),
            ("[[1]]", None),
            ("notjson", None),
            ("[1] x", None),
        ] {
            let (out, errs) = errors_of(yaml, Entry::with_body(line, 0));
            match want {
                Some(w) => {
                    assert_eq!(out[0].body, w, "{line}");
                    assert!(errs.is_empty(), "{line}");
                }
                None => {
                    // on_error send: the entry goes on unparsed.
                    assert_eq!(out[0].body, Value::from(line));
                    assert_eq!(errs, vec!["failed to parse entry"], "{line}");
                }
            }
        }
    }

    #[test]
    fn header_makes_a_map_with_untrimmed_names() {
        let yaml = "- type: json_array_parser\n  header: 'a, b,c'\n";
        let line = r#"[7,"s",{"k" : [1, 2 ,{"z":null}] ,"q":"a\"b"}]"#;
        let out = run_one(yaml, Entry::with_body(line, 0));
        assert_eq!(
            out[0].attributes,
            map! {"a" => 7i64, " b" => "s", "c" => r#"{"k":[1,2,{"z":null}],"q":"a\"b"}"#}
        );
        assert_eq!(out[0].body, Value::from(line));
        let (_, errs) = errors_of(yaml, Entry::with_body("[1,2]", 0));
        assert_eq!(errs, vec!["wrong number of fields: expected 3, found 2"]);
        let (_, errs) = errors_of(yaml, Entry::with_body("{}", 0));
        assert_eq!(errs, vec!["wrong number of fields: expected 3, found 0"]);
    }

    #[test]
    fn non_strings_and_on_error_modes() {
        let yaml = "- type: json_array_parser\n  parse_from: attributes.n\n";
        let mut e = Entry::with_body("b", 0);
        e.attributes.insert("n", Value::Int(1));
        let (_, errs) = errors_of(yaml, e);
        assert_eq!(errs, vec!["type 'int64' cannot be parsed as json array"]);
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let (out, errs) = errors_of(
                &format!("- type: json_array_parser\n  on_error: {mode}\n"),
                Entry::with_body("[", 0),
            );
            assert_eq!(out.len(), usize::from(sent), "{mode}");
            assert_eq!(errs.len(), 1);
        }
    }
}
