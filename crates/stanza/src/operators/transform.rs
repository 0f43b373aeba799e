//! The field transformers: `move`, `copy`, `add`, `remove`, `retain`, `flatten`, and the
//! entry-level `noop` and `filter`.

use serde::Deserialize;

use crate::entry::Entry;
use crate::expr::Expr;
use crate::field::{Field, Root, RootableField};
use crate::operator::config::Spec;
use crate::operator::parser::TransformerKeys;
use crate::operator::{Next, Operator, Out, Transformer};
use crate::value::{Value, from_json};

/// An operator made of a transformer's `if`/`on_error` and a function of the entry.
struct FnOperator<F> {
    t: Transformer,
    f: F,
}

impl<F: Fn(&mut Entry) -> Result<(), String> + Send> Operator for FnOperator<F> {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        self.t.run(e, out, &self.f)
    }
}

fn boxed<F: Fn(&mut Entry) -> Result<(), String> + Send + 'static>(
    t: Transformer,
    f: F,
) -> Box<dyn Operator> {
    Box::new(FnOperator { t, f })
}

fn required<'a, T>(v: &'a Option<T>, key: &str) -> Result<&'a T, String> {
    v.as_ref()
        .ok_or_else(|| format!("missing required field '{key}'"))
}

// --- move ---------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct MoveConfig {
    from: Option<RootableField>,
    to: Option<RootableField>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for MoveConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        let to = self.to.clone().ok_or("move: missing to field")?.0;
        let from = self.from.clone().ok_or("move: missing from field")?.0;
        Ok(boxed(t, move |e| {
            from.move_to(&to, e)
                .unwrap_or_else(|| Err(format!("move: field does not exist: {from}")))
        }))
    }
}

// --- copy ---------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct CopyConfig {
    from: Option<RootableField>,
    to: Option<RootableField>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for CopyConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        let from = self.from.clone().ok_or("copy: missing from field")?.0;
        let to = self.to.clone().ok_or("copy: missing to field")?.0;
        Ok(boxed(t, move |e| {
            let v = if from.is_root() && from.root() != Root::Body {
                from.get_map(e).map(|m| Value::Map(m.clone()))
            } else {
                from.get(e).cloned()
            }
            .ok_or_else(|| format!("copy: from field does not exist in entry: {from}"))?;
            to.set(e, v)
        }))
    }
}

// --- add ----------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct AddConfig {
    field: Option<RootableField>,
    value: Option<serde_json::Value>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for AddConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        let field = required(&self.field, "field")?.0.clone();
        let value = match &self.value {
            None | Some(serde_json::Value::Null) => {
                return Err("missing required field 'value'".into());
            }
            Some(v) => v,
        };
        if let serde_json::Value::String(s) = value
            && let Some(inner) = s.strip_prefix("EXPR(").and_then(|r| r.strip_suffix(')'))
        {
            let expr = Expr::compile(inner)
                .map_err(|e| format!("failed to compile expression '{inner}': {e}"))?;
            return Ok(boxed(t, move |e| {
                let v = expr.eval(e)?;
                field.set(e, v)
            }));
        }
        // Shared: every entry gets a copy.
        let mut value = from_json(value);
        value.share_strings();
        Ok(boxed(t, move |e| field.set(e, value.clone())))
    }
}

// --- remove -------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct RemoveConfig {
    field: Option<RootableField>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for RemoveConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        let field = self.field.clone().ok_or("remove: field is empty")?.0;
        Ok(boxed(t, move |e| {
            if field.is_root() {
                match field.root() {
                    Root::Attributes => e.attributes.clear(),
                    Root::Resource => e.resource.clear(),
                    Root::Body => e.body = Value::Nil,
                }
                return Ok(());
            }
            field
                .delete(e)
                .map(|_| ())
                .ok_or_else(|| format!("remove: field does not exist: {field}"))
        }))
    }
}

// --- retain -------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct RetainConfig {
    fields: Vec<RootableField>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for RetainConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        if self.fields.is_empty() {
            return Err("retain: 'fields' is empty".into());
        }
        let fields: Vec<Field> = self.fields.iter().map(|f| f.0.clone()).collect();
        let has = |r: Root| fields.iter().any(|f| f.root() == r);
        let (body, attrs, res) = (has(Root::Body), has(Root::Attributes), has(Root::Resource));
        Ok(boxed(t, move |e| {
            let mut kept = Entry::default();
            for f in &fields {
                if let Some(v) = f.get(e) {
                    let _ = f.set(&mut kept, v.clone());
                }
            }
            if body {
                e.body = std::mem::take(&mut kept.body);
            }
            if attrs {
                e.attributes = std::mem::take(&mut kept.attributes);
            }
            if res {
                e.resource = std::mem::take(&mut kept.resource);
            }
            Ok(())
        }))
    }
}

// --- flatten ------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct FlattenConfig {
    field: Option<Field>,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Spec for FlattenConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let t = self.t.build()?;
        let field = required(&self.field, "field")?.clone();
        if field.is_root() {
            return Err(format!(
                "flatten: invalid field {field}: must not be the root"
            ));
        }
        let keys: Vec<&str> = field.keys().iter().map(|k| &**k).collect();
        let parent = Field::new(field.root(), &keys[..keys.len() - 1]);
        Ok(boxed(t, move |e| {
            let Some(v) = field.delete(e) else {
                return Err(format!("apply flatten: field {field} does not exist"));
            };
            let Value::Map(m) = v else {
                // Put the value back before reporting.
                let _ = field.set(e, v);
                return Err(format!("apply flatten: field {field} is not a map"));
            };
            for (k, v) in m {
                let mut child = parent.keys().to_vec();
                child.push(k);
                let ks: Vec<&str> = child.iter().map(|k| &**k).collect();
                Field::new(field.root(), &ks).set(e, v)?;
            }
            Ok(())
        }))
    }
}

// --- noop / filter ------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct NoopConfig {
    /// Go's noop embeds the transformer config: `if` must compile and `on_error` be valid,
    /// though its `Process` never evaluates them.
    #[serde(flatten)]
    t: TransformerKeys,
}

struct Noop;

impl Operator for Noop {
    fn process(&mut self, _e: &mut Entry, _out: &mut Out) -> Next {
        Next::Forward(0)
    }
}

impl Spec for NoopConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        self.t.build()?;
        Ok(Box::new(Noop))
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(default)]
pub(crate) struct FilterConfig {
    expr: Option<String>,
    drop_ratio: f64,
    /// Validated as Go's embedded transformer config; `if` is not evaluated by Go's filter.
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            expr: None,
            drop_ratio: 1.0,
            t: TransformerKeys::default(),
        }
    }
}

impl Spec for FilterConfig {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        self.t.build()?;
        let src = match self.expr.as_deref() {
            None | Some("") => return Err("missing required field 'expr'".into()),
            Some(s) => s,
        };
        let expr = Expr::compile_bool(src)
            .map_err(|e| format!("failed to compile expression '{src}': {e}"))?;
        if !(0.0..=1.0).contains(&self.drop_ratio) {
            return Err("drop_ratio must be a number between 0 and 1".into());
        }
        Ok(Box::new(Filter {
            expr,
            drop_ratio: self.drop_ratio,
        }))
    }
}

struct Filter {
    expr: Expr,
    drop_ratio: f64,
}

impl Operator for Filter {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        match self.expr.eval_bool(e) {
            // Go logs the error and does not pass the entry on.
            Err(m) => {
                out.report(&format!("Running expressing returned an error: {m}"));
                Next::Consumed
            }
            Ok(false) => Next::Forward(0),
            Ok(true) => {
                if self.drop_ratio < 1.0 && rand::random::<f64>() >= self.drop_ratio {
                    Next::Forward(0)
                } else {
                    Next::Consumed
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn entry() -> Entry {
        let mut e = Entry::with_body(
            map! {"msg" => "hi", "nested" => map!{"a" => 1i64, "b" => 2i64}},
            0,
        );
        e.attributes.insert("log.file.path", "/p/x.log".into());
        e.attributes.insert("stream", "stdout".into());
        e.resource.insert("host", "h".into());
        e
    }

    #[test]
    fn move_deletes_the_source_and_sets_the_target() {
        let out = run_one(
            "- type: move\n  from: attributes.stream\n  to: attributes[\"log.iostream\"]\n- type: move\n  from: body.msg\n  to: resource.m\n",
            entry(),
        );
        assert_eq!(
            out[0].attributes,
            map! {"log.file.path" => "/p/x.log", "log.iostream" => "stdout"}
        );
        assert_eq!(out[0].resource, map! {"host" => "h", "m" => "hi"});
        assert!(out[0].body.as_map().is_some_and(|m| !m.contains_key("msg")));
    }

    #[test]
    fn move_of_a_missing_field_is_an_error_and_the_entry_is_sent() {
        let mut p = pipeline("- type: move\n  from: attributes.nope\n  to: attributes.x\n");
        let out = run(&mut p, vec![entry()]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0], entry());
        assert_eq!(p.error_count(), 1);
    }

    #[test]
    fn move_a_string_attribute_to_body_replaces_the_body() {
        let out = run_one(
            "- type: move\n  from: attributes.stream\n  to: body\n",
            entry(),
        );
        assert_eq!(out[0].body, Value::from("stdout"));
    }

    #[test]
    fn copy_keeps_the_source() {
        let out = run_one(
            "- type: copy\n  from: body.nested\n  to: attributes.n\n",
            entry(),
        );
        assert_eq!(
            out[0].attributes.get("n"),
            Some(&Value::Map(map! {"a" => 1i64, "b" => 2i64}))
        );
        assert!(
            out[0]
                .body
                .as_map()
                .is_some_and(|m| m.contains_key("nested"))
        );
    }

    #[test]
    fn add_static_values_maps_and_expressions() {
        let yaml = r#"
- type: add
  field: resource["cluster"]
  value: minikube
- type: add
  field: attributes.n
  value: 3
- type: add
  field: attributes.m
  value:
    k: v
    l: [1, 2]
- type: add
  field: attributes.e
  value: EXPR(resource.host + "-" + attributes.stream)
"#;
        let out = run_one(yaml, entry());
        assert_eq!(
            out[0].resource.get("cluster"),
            Some(&Value::from("minikube"))
        );
        assert_eq!(out[0].attributes.get("n"), Some(&Value::Int(3)));
        assert_eq!(
            out[0].attributes.get("m"),
            Some(&Value::Map(
                map! {"k" => "v", "l" => Value::List(vec![1i64.into(), 2i64.into()])}
            ))
        );
        assert_eq!(out[0].attributes.get("e"), Some(&Value::from("h-stdout")));
    }

    #[test]
    fn remove_field_or_whole_root() {
        let out = run_one("- type: remove\n  field: attributes.stream\n", entry());
        assert!(!out[0].attributes.contains_key("stream"));
        let out = run_one("- type: remove\n  field: attributes\n", entry());
        assert!(out[0].attributes.is_empty());
        let mut p = pipeline("- type: remove\n  field: body.nope\n  on_error: drop\n");
        assert!(run(&mut p, vec![entry()]).is_empty());
    }

    #[test]
    fn retain_keeps_listed_fields_per_group() {
        let out = run_one("- type: retain\n  fields: [attributes.stream]\n", entry());
        assert_eq!(out[0].attributes, map! {"stream" => "stdout"});
        assert_eq!(out[0].resource, map! {"host" => "h"});
        assert_eq!(out[0].body, entry().body);
        let out = run_one("- type: retain\n  fields: [body.msg]\n", entry());
        assert_eq!(out[0].body, Value::Map(map! {"msg" => "hi"}));
    }

    #[test]
    fn flatten_moves_children_up() {
        let out = run_one("- type: flatten\n  field: body.nested\n", entry());
        assert_eq!(
            out[0].body,
            Value::Map(map! {"msg" => "hi", "a" => 1i64, "b" => 2i64})
        );
        let mut p = pipeline("- type: flatten\n  field: body.msg\n");
        let out = run(&mut p, vec![entry()]);
        assert_eq!(out[0].body, entry().body);
        assert_eq!(p.error_count(), 1);
    }

    #[test]
    fn filter_drops_matching_entries() {
        let yaml = "- type: filter\n  expr: 'attributes.stream == \"stdout\"'\n";
        assert!(run_one(yaml, entry()).is_empty());
        let yaml = "- type: filter\n  expr: 'attributes.stream == \"stderr\"'\n";
        assert_eq!(run_one(yaml, entry()).len(), 1);
        let yaml = "- type: filter\n  expr: 'true'\n  drop_ratio: 0.0\n";
        assert_eq!(run_one(yaml, entry()).len(), 1);
        assert_eq!(
            build_err("- type: filter\n  expr: 'true'\n  drop_ratio: 2\n"),
            "drop_ratio must be a number between 0 and 1"
        );
    }

    #[test]
    fn if_false_passes_the_entry_untouched() {
        let out = run_one(
            "- type: remove\n  field: attributes.stream\n  if: 'attributes.stream == \"stderr\"'\n",
            entry(),
        );
        assert_eq!(out[0], entry());
    }
}
