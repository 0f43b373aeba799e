//! `router`: the first route whose `expr` is true adds its `attributes` and sends the entry
//! to its outputs; `default` is a last route that always matches; no match drops the entry.
//! An expression error skips that route (warned, not counted as an entry error).

use serde::Deserialize;

use crate::entry::Entry;
use crate::expr::{Expr, ExprString};
use crate::operator::config::Spec;
use crate::operator::{Next, Operator, Out};
use crate::value::{Key, Value};

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct Config {
    routes: Vec<RouteConfig>,
    default: OneOrMany,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
struct RouteConfig {
    expr: String,
    output: OneOrMany,
    attributes: indexmap::IndexMap<String, serde_json::Value>,
}

/// `output: a` or `output: [a, b]`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// Scalars given for expression strings are taken as their text (Go's weak decoding).
pub(crate) fn scalar_text(v: &serde_json::Value) -> Result<String, String> {
    Ok(match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Null => String::new(),
        other => return Err(format!("expected a string, got {other}")),
    })
}

struct Route {
    expr: Expr,
    attributes: Vec<(Key, ExprString)>,
    outputs: Vec<String>,
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        let mut routes = Vec::new();
        for r in &self.routes {
            let expr = Expr::compile_bool(&r.expr)
                .map_err(|e| format!("failed to compile expression '{}': {e}", r.expr))?;
            let mut attributes = Vec::new();
            for (k, v) in &r.attributes {
                let s = scalar_text(v).map_err(|e| format!("attributes.{k}: {e}"))?;
                attributes.push((Key::named(k), ExprString::parse(&s)?));
            }
            routes.push(Route {
                expr,
                attributes,
                outputs: r.output.to_vec(),
            });
        }
        let default = self.default.to_vec();
        if !default.is_empty() {
            routes.push(Route {
                // A literal cannot fail to compile.
                expr: Expr::compile_bool("true").map_err(|e| e.to_string())?,
                attributes: Vec::new(),
                outputs: default,
            });
        }
        Ok(Box::new(Router { routes }))
    }
}

struct Router {
    routes: Vec<Route>,
}

impl Operator for Router {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        for (i, r) in self.routes.iter().enumerate() {
            match r.expr.eval_bool(e) {
                Err(m) => {
                    out.warn(&format!("Running expression returned an error: {m}"));
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }
            for (k, s) in &r.attributes {
                match s.render(e) {
                    Ok(v) => {
                        e.attributes.insert_key(k, Value::from(v));
                    }
                    Err(m) => {
                        out.report(&format!("Failed to label entry: {m}"));
                        return Next::Consumed;
                    }
                }
            }
            return Next::Forward(i as u32);
        }
        Next::Consumed
    }

    fn port_outputs(&self) -> Option<Vec<Vec<String>>> {
        Some(self.routes.iter().map(|r| r.outputs.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testutil::*;

    const ROUTER: &str = r#"
- type: router
  id: get-format
  routes:
    - expr: body matches "^\\{"
      output: docker
    - expr: body matches "^[^ Z]+ "
      output: crio
      attributes:
        fmt: 'crio-EXPR(body startsWith "2" ? "yes" : "no")'
  default: [other]
- type: add
  id: docker
  field: attributes.which
  value: docker
  output: end
- type: add
  id: crio
  field: attributes.which
  value: crio
  output: end
- type: add
  id: other
  field: attributes.which
  value: other
- type: noop
  id: end
"#;

    #[test]
    fn first_matching_route_wins_and_default_catches_the_rest() {
        let mut p = pipeline(ROUTER);
        let out = run(
            &mut p,
            vec![
                Entry::with_body("{\"a\":1}", 0),
                Entry::with_body("2024-01-01T00:00:00+00:00 stdout F x", 0),
                Entry::with_body("2024-01-01T00:00:00Z stdout F x", 0),
            ],
        );
        let which: Vec<_> = out
            .iter()
            .map(|e| e.attributes.get("which").cloned())
            .collect();
        assert_eq!(
            which,
            vec![
                Some("docker".into()),
                Some("crio".into()),
                Some("other".into())
            ]
        );
        assert_eq!(out[1].attributes.get("fmt"), Some(&Value::from("crio-yes")));
    }

    #[test]
    fn no_match_without_default_drops_and_errors_skip_the_route() {
        let yaml = r#"
- type: router
  routes:
    - expr: body.x == 1
      output: a
    - expr: body matches "^z"
      output: a
- type: noop
  id: a
"#;
        let mut p = pipeline(yaml);
        let out = run(
            &mut p,
            vec![Entry::with_body("abc", 0), Entry::with_body("zzz", 0)],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("zzz"));
        assert_eq!(p.error_count(), 0);
    }

    #[test]
    fn a_route_to_several_outputs_copies_the_entry() {
        let yaml = r#"
- type: router
  routes:
    - expr: 'true'
      output: [a, b]
- type: add
  id: a
  field: attributes.n
  value: a
- type: add
  id: b
  field: attributes.n
  value: b
"#;
        let out = run_one(yaml, Entry::with_body("x", 0));
        // a's output is b (next operator), so the entry through a arrives with n=b too.
        let ns: Vec<_> = out.iter().map(|e| e.attributes.get("n").cloned()).collect();
        assert_eq!(ns, vec![Some("b".into()), Some("b".into())]);
    }

    #[test]
    fn unknown_route_output_is_refused() {
        let yaml = "- type: router\n  routes:\n    - expr: 'true'\n      output: nowhere\n";
        assert_eq!(
            build_err(yaml),
            "failed to set outputs on route: operator nowhere does not exist: {\"operator_id\":\"router\"}"
        );
    }
}
