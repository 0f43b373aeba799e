//! `json_parser`: a string holding a JSON object becomes a map; numbers are float64 as in
//! Go unless `parse_ints` (then int64 when the literal is an integer that fits). The JSON
//! is decoded straight into entry values (no intermediate tree).

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::entry::Entry;
use crate::operator::config::Spec;
use crate::operator::parser::{Parser, ParserKeys};
use crate::operator::{Next, Operator, Out};
use crate::value::{Key, Map, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    parse_ints: bool,
    #[serde(flatten)]
    parser: ParserKeys,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(JsonParser {
            parser: self.parser.build()?,
            parse_ints: self.parse_ints,
        }))
    }
}

struct JsonParser {
    parser: Parser,
    parse_ints: bool,
}

impl Operator for JsonParser {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let parse_ints = self.parse_ints;
        self.parser.process(e, out, |v| match v {
            Value::Str(s) => parse_object(s, parse_ints),
            other => Err(format!("type {} cannot be parsed as JSON", other.go_type())),
        })
    }
}

/// Decodes a JSON object into a map value.
pub(crate) fn parse_object(s: &str, parse_ints: bool) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_str(s);
    let v = JsonSeed { parse_ints }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    match v {
        Value::Map(_) => Ok(v),
        // Go decodes `null` into a nil map: nothing to set.
        Value::Nil => Ok(Value::Map(Map::new())),
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::List(_) => "array",
                Value::Str(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            }
        )),
    }
}

#[derive(Clone, Copy)]
struct JsonSeed {
    parse_ints: bool,
}

impl<'de> DeserializeSeed<'de> for JsonSeed {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(if self.parse_ints {
            Value::Int(i)
        } else {
            Value::Float(i as f64)
        })
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(match i64::try_from(u) {
            Ok(i) if self.parse_ints => Value::Int(i),
            _ => Value::Float(u as f64),
        })
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::from(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::from(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut l = Vec::with_capacity(a.size_hint().unwrap_or(4));
        while let Some(v) = a.next_element_seed(self)? {
            l.push(v);
        }
        Ok(Value::List(l))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut m = Map::with_capacity(a.size_hint().unwrap_or(8));
        while let Some(k) = a.next_key::<std::borrow::Cow<'de, str>>()? {
            let v = a.next_value_seed(self)?;
            // A repeated key keeps the last value, as Go's decoder does.
            m.insert(Key::from(&*k), v);
        }
        Ok(Value::Map(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    #[test]
    fn numbers_are_floats_unless_parse_ints() {
        let line =
            r#"{"a":1,"b":1.5,"c":"x","d":[1,true,null],"e":{"f":2},"g":18446744073709551615}"#;
        let out = run_one("- type: json_parser\n", Entry::with_body(line, 0));
        assert_eq!(
            out[0].attributes,
            map! {"a" => 1.0f64, "b" => 1.5f64, "c" => "x",
            "d" => Value::List(vec![Value::Float(1.0), Value::Bool(true), Value::Nil]),
            "e" => map!{"f" => 2.0f64}, "g" => 18446744073709551615.0f64}
        );
        let out = run_one(
            "- type: json_parser\n  parse_ints: true\n",
            Entry::with_body(line, 0),
        );
        assert_eq!(out[0].attributes.get("a"), Some(&Value::Int(1)));
        assert_eq!(
            out[0].attributes.get("e"),
            Some(&Value::Map(map! {"f" => 2i64}))
        );
        assert_eq!(out[0].attributes.get("b"), Some(&Value::Float(1.5)));
    }

    #[test]
    fn non_objects_and_non_strings_are_errors() {
        for body in [
            Value::from("[1,2]"),
            Value::from("3"),
            Value::from("{bad"),
            Value::Int(3),
        ] {
            let out = run_one(
                "- type: json_parser\n  on_error: drop\n",
                Entry::with_body(body.clone(), 0),
            );
            assert!(out.is_empty(), "{body:?}");
        }
        assert_eq!(
            parse_object("[1]", false).unwrap_err(),
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        );
    }

    #[test]
    fn parse_from_attribute_to_body_with_if() {
        let yaml = "- type: json_parser\n  if: 'body matches \"^{.*}$\"'\n";
        let out = run_one(yaml, Entry::with_body(r#"{"level":"info"}"#, 0));
        assert_eq!(out[0].attributes, map! {"level" => "info"});
        let out = run_one(yaml, Entry::with_body("plain text", 0));
        assert!(out[0].attributes.is_empty());
        assert_eq!(out[0].body, Value::from("plain text"));
    }

    #[test]
    fn body_key_moves_a_parsed_value_into_the_body() {
        let yaml = "- type: json_parser\n  body: attributes.msg\n";
        let out = run_one(yaml, Entry::with_body(r#"{"msg":"hi","n":1}"#, 0));
        assert_eq!(out[0].body, Value::from("hi"));
        assert_eq!(out[0].attributes.get("msg"), Some(&Value::from("hi")));
        assert_eq!(
            build_err("- type: json_parser\n  body: attributes.msg\n  parse_to: body\n"),
            "`parse_to: body` not allowed when `body` is configured"
        );
    }
}
