//! `assign_keys`: turns a list field into a map by giving its values the configured
//! `keys` in order (`[1, "x"]` with `keys: [a, b]` becomes `{a: 1, b: "x"}`), typically
//! after a `json_array_parser` or `csv_parser` without header.

use serde::Deserialize;

use crate::entry::Entry;
use crate::field::{Field, RootableField};
use crate::operator::config::Spec;
use crate::operator::parser::TransformerKeys;
use crate::operator::{Next, Operator, Out, Transformer};
use crate::value::{Key, Map, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    field: Option<RootableField>,
    keys: Vec<String>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        if self.keys.is_empty() {
            return Err("assign_keys missing required field keys".into());
        }
        // Go's message for a config without `field` (its nil field has no type).
        let field = self.field.clone().ok_or("invalid field type: <nil>")?.0;
        Ok(Box::new(AssignKeys {
            t,
            field,
            keys: self.keys.iter().map(|k| Key::named(k)).collect(),
            keys_text: format!("[{}]", self.keys.join(" ")),
        }))
    }
}

struct AssignKeys {
    t: Transformer,
    field: Field,
    keys: Vec<Key>,
    /// The keys as Go's `%s` prints a `[]string`, for the length error.
    keys_text: String,
}

impl Operator for AssignKeys {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let (field, keys, keys_text) = (&self.field, &self.keys, &self.keys_text);
        self.t.run(e, out, |e| {
            let slot = if field.is_root() && field.root() != crate::field::Root::Body {
                // A whole attributes/resource root exists but is a map, never a list.
                None
            } else {
                field.get_mut(e)
            };
            let Some(slot) = slot else {
                if field.is_root() {
                    return Err(format!(
                        "apply assign_keys: couldn't convert field {field} to []any"
                    ));
                }
                return Err(format!(
                    "apply assign_keys: field {field} does not exist on entry"
                ));
            };
            let Value::List(list) = slot else {
                return Err(format!(
                    "apply assign_keys: couldn't convert field {field} to []any"
                ));
            };
            if list.len() != keys.len() {
                return Err(format!(
                    "apply assign_keys: field {field} contains {} values while expected keys are {keys_text} contain {} keys",
                    list.len(),
                    keys.len()
                ));
            }
            let mut m = Map::with_capacity(keys.len());
            for (k, v) in keys.iter().zip(std::mem::take(list)) {
                m.insert_key(k, v);
            }
            // Go sets the map on the field; the field held a list, so that replaces it.
            *slot = Value::Map(m);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

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

    // Expected values from otelcol-contrib 0.135 (json_array_parser + assign_keys).
    #[test]
    fn assigns_keys_to_a_body_list() {
        let yaml = "- type: assign_keys\n  field: body\n  keys: [a, b]\n";
        let out = run_one(
            yaml,
            Entry::with_body(list(vec![Value::Int(1), Value::from("x")]), 0),
        );
        assert_eq!(out[0].body, Value::Map(map! {"a" => 1i64, "b" => "x"}));
    }

    #[test]
    fn assigns_keys_in_attributes_and_resource() {
        for root in ["attributes", "resource"] {
            let yaml = format!("- type: assign_keys\n  field: {root}.l\n  keys: [k1, k2]\n");
            let mut e = Entry::with_body("b", 0);
            let l = list(vec![Value::Bool(true), Value::Nil]);
            if root == "attributes" {
                e.attributes.insert("l", l);
            } else {
                e.resource.insert("l", l);
            }
            let out = run_one(&yaml, e);
            let got = if root == "attributes" {
                &out[0].attributes
            } else {
                &out[0].resource
            };
            assert_eq!(
                got.get("l"),
                Some(&Value::Map(map! {"k1" => true, "k2" => Value::Nil})),
                "{root}"
            );
        }
    }

    #[test]
    fn errors_match_go_and_follow_on_error() {
        let yaml = "- type: assign_keys\n  field: body\n  keys: [a, b]\n";
        let (out, errs) = errors_of(yaml, Entry::with_body(list(vec![Value::Int(1)]), 0));
        assert_eq!(out[0].body, list(vec![Value::Int(1)]));
        assert_eq!(
            errs,
            vec![
                "apply assign_keys: field body contains 1 values while expected keys are [a b] contain 2 keys"
            ]
        );
        let (_, errs) = errors_of(yaml, Entry::with_body("text", 0));
        assert_eq!(
            errs,
            vec!["apply assign_keys: couldn't convert field body to []any"]
        );
        let attr = "- type: assign_keys\n  field: attributes.x\n  keys: [a]\n";
        let (_, errs) = errors_of(attr, Entry::with_body("text", 0));
        assert_eq!(
            errs,
            vec!["apply assign_keys: field attributes.x does not exist on entry"]
        );
        for (mode, sent) in [
            ("send", true),
            ("send_quiet", true),
            ("drop", false),
            ("drop_quiet", false),
        ] {
            let (out, errs) = errors_of(
                &format!("{yaml}  on_error: {mode}\n"),
                Entry::with_body(list(vec![]), 0),
            );
            assert_eq!(out.len(), usize::from(sent), "{mode}");
            assert_eq!(errs.len(), 1);
        }
    }

    #[test]
    fn config_errors_match_go() {
        assert_eq!(
            build_err("- type: assign_keys\n  field: body\n"),
            "assign_keys missing required field keys"
        );
        assert_eq!(
            build_err("- type: assign_keys\n  keys: [a]\n"),
            "invalid field type: <nil>"
        );
    }
}
