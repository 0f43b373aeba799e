//! Context inference for configs that list statements without a `context:` (the transform
//! processor's basic style, Go `context_inferrer.go`): the context is the most specific one
//! any path names by its prefix (`log.body` → log, `resource.attributes` → resource).

use crate::contexts::CONTEXT_NAMES;
use crate::syntax::{self, Path};

/// Go's default inference priority: earlier is more specific and wins.
pub const DEFAULT_PRIORITY: &[&str] = &[
    "log",
    "datapoint",
    "metric",
    "spanevent",
    "span",
    "resource",
    "scope",
    "instrumentation_scope",
];

/// The contexts reachable from each context (its own and the levels above it).
fn reachable(ctx: &str) -> &'static [&'static str] {
    match ctx {
        "log" => &["log", "resource", "scope", "instrumentation_scope"],
        "datapoint" => &[
            "datapoint",
            "metric",
            "resource",
            "scope",
            "instrumentation_scope",
        ],
        "metric" => &["metric", "resource", "scope", "instrumentation_scope"],
        "spanevent" => &[
            "spanevent",
            "span",
            "resource",
            "scope",
            "instrumentation_scope",
        ],
        "span" => &["span", "resource", "scope", "instrumentation_scope"],
        "scope" | "instrumentation_scope" => &["scope", "instrumentation_scope", "resource"],
        "resource" => &["resource"],
        _ => &[],
    }
}

fn path_context(p: &Path) -> Option<&'static str> {
    let first = p.fields.first()?;
    if p.fields.len() < 2 || !first.keys.is_empty() {
        return None;
    }
    CONTEXT_NAMES.iter().copied().find(|c| *c == first.name)
}

/// The context names the paths of `statements` (and `conditions`) start with.
pub fn path_contexts(
    statements: &[&str],
    conditions: &[&str],
) -> Result<Vec<&'static str>, String> {
    let mut names: Vec<&'static str> = Vec::new();
    let mut add = |p: &Path| {
        if let Some(c) = path_context(p)
            && !names.contains(&c)
        {
            names.push(c);
        }
    };
    for s in statements {
        let st = syntax::Parser::new(s)
            .and_then(|p| p.statement())
            .map_err(|e| format!("unable to parse OTTL statement {s:?}: {e}"))?;
        syntax::walk_paths_call(&st.editor, &mut add);
        if let Some(c) = &st.condition {
            syntax::walk_paths_bool(c, &mut add);
        }
    }
    for c in conditions {
        let cond = syntax::Parser::new(c)
            .and_then(|p| p.condition())
            .map_err(|e| format!("unable to parse OTTL condition {c:?}: {e}"))?;
        syntax::walk_paths_bool(&cond, &mut add);
    }
    Ok(names)
}

/// Infers the context of a group of statements and conditions; `priority` restricts and
/// orders the candidates (a signal's contexts). `scope`/`instrumentation_scope` read as
/// `scope`.
pub fn infer_context(
    statements: &[&str],
    conditions: &[&str],
    priority: &[&str],
) -> Result<&'static str, String> {
    let names = path_contexts(statements, conditions)?;
    let best = priority
        .iter()
        .filter_map(|p| names.iter().find(|n| *n == p).copied())
        .next()
        .ok_or_else(|| {
            format!(
                "unable to infer a valid context ({}) from statements [{}] and path's {:?}",
                priority.join(", "),
                statements.join(", "),
                names
            )
        })?;
    let best = if best == "instrumentation_scope" {
        "scope"
    } else {
        best
    };
    for n in &names {
        if !reachable(best).contains(n) {
            return Err(format!(
                "inferred context {best:?} does not support the path context {n:?}"
            ));
        }
    }
    Ok(best)
}

/// The function names a group of statements and conditions calls, and whether any of its
/// paths lacks a context prefix.
pub fn calls_and_bare_paths(
    statements: &[&str],
    conditions: &[&str],
) -> Result<(Vec<String>, bool), String> {
    let mut names: Vec<String> = Vec::new();
    let mut bare = false;
    let mut on_call = |c: &syntax::Call| {
        if !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    };
    let mut on_path = |p: &Path| {
        if path_context(p).is_none() {
            bare = true;
        }
    };
    for s in statements {
        let st = syntax::Parser::new(s)
            .and_then(|p| p.statement())
            .map_err(|e| format!("unable to parse OTTL statement {s:?}: {e}"))?;
        syntax::walk_calls(&st.editor, &mut on_call);
        syntax::walk_paths_call(&st.editor, &mut on_path);
        if let Some(c) = &st.condition {
            syntax::walk_calls_bool(c, &mut on_call);
            syntax::walk_paths_bool(c, &mut on_path);
        }
    }
    for c in conditions {
        let cond = syntax::Parser::new(c)
            .and_then(|p| p.condition())
            .map_err(|e| format!("unable to parse OTTL condition {c:?}: {e}"))?;
        syntax::walk_calls_bool(&cond, &mut on_call);
        syntax::walk_paths_bool(&cond, &mut on_path);
    }
    Ok((names, bare))
}
