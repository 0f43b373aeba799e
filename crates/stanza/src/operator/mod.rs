//! The operator chain: the `operators:` config list (Go `operator.Config`), the common
//! mechanics every operator shares (`id`, `output`, `if`, `on_error`), building the chain
//! with Go's validation errors, and running entries through it.
//!
//! An operator turns one entry into zero or more entries on its outputs. The chain is a
//! directed acyclic graph; [`Pipeline::process`] walks it depth-first with an explicit,
//! reused stack (no recursion, no per-entry allocation for the walk), giving entries
//! to the caller's sink when they leave the last operator (Go: the receiver's emitter).

pub(crate) mod blocks;
pub(crate) mod config;
pub(crate) mod parser;

use std::fmt;

pub use config::{OnError, OperatorConfig};

use crate::entry::Entry;
use crate::expr::Expr;

/// A build-time error: Go's message, and the index of the operator in the list when the
/// error is about one operator (so a receiver can name `operators[<index>]`).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    pub index: Option<usize>,
    pub message: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// An entry-processing error an operator reported (counted, logged, and handed to the
/// receiver's hook).
#[derive(Debug, Clone)]
pub struct ProcessError<'a> {
    pub operator_id: &'a str,
    pub message: &'a str,
    pub action: OnError,
}

/// Where an operator puts its results, and how it reports errors.
pub(crate) struct Out<'a> {
    buf: &'a mut Vec<(Entry, u32)>,
    errors: &'a mut u64,
    hook: &'a mut Option<ErrorHook>,
    id: &'a str,
}

/// Callback for entry-processing errors (the receiver counts or logs them).
pub type ErrorHook = Box<dyn FnMut(&ProcessError) + Send>;

impl Out<'_> {
    /// Sends an entry to the operator's outputs.
    pub(crate) fn emit(&mut self, e: Entry) {
        self.buf.push((e, 0));
    }

    /// Reports a processing error without an `on_error` decision (logged at error level).
    pub(crate) fn report(&mut self, message: &str) {
        *self.errors += 1;
        tracing::error!(
            operator_id = self.id,
            error = message,
            "Failed to process entry"
        );
        if let Some(h) = self.hook.as_mut() {
            h(&ProcessError {
                operator_id: self.id,
                message,
                action: OnError::Send,
            });
        }
    }

    pub(crate) fn warn(&mut self, message: &str) {
        tracing::warn!(operator_id = self.id, "{message}");
    }

    /// Go's `HandleEntryError`: log (quietly for the quiet modes), then send (the entry
    /// goes on as it is) or drop.
    pub(crate) fn fail(&mut self, on_error: OnError, message: &str) -> Next {
        *self.errors += 1;
        if on_error.is_quiet() {
            tracing::debug!(
                operator_id = self.id,
                error = message,
                action = on_error.as_str(),
                "Failed to process entry"
            );
        } else {
            tracing::error!(
                operator_id = self.id,
                error = message,
                action = on_error.as_str(),
                "Failed to process entry"
            );
        }
        if let Some(h) = self.hook.as_mut() {
            h(&ProcessError {
                operator_id: self.id,
                message,
                action: on_error,
            });
        }
        if on_error.sends() {
            Next::Forward(0)
        } else {
            Next::Consumed
        }
    }
}

/// What happens to the entry an operator was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// It goes on to the outputs of `port` (0 = `output`; router routes are 0..n).
    Forward(u32),
    /// The operator kept it, dropped it, or emitted it through [`Out`].
    Consumed,
}

/// One operator of the chain.
pub(crate) trait Operator: Send {
    /// Processes the entry in place (entries are large; moving them between operators
    /// costs more than most operators' work). Extra entries go through `out`.
    fn process(&mut self, entry: &mut Entry, out: &mut Out) -> Next;

    /// Emits state held longer than `now` allows (recombine's `force_flush_period`).
    fn flush_expired(&mut self, _now: i64, _out: &mut Out) {}

    /// Emits all held state (pipeline stop).
    fn flush_all(&mut self, _out: &mut Out) {}

    /// Output ids per port when the operator chooses among several (router); `None` means
    /// the one `output` list.
    fn port_outputs(&self) -> Option<Vec<Vec<String>>> {
        None
    }

    /// Whether entries are held between calls (so the pipeline needs flushing).
    fn holds_state(&self) -> bool {
        false
    }
}

/// `if` and `on_error` of transformers and parsers (Go `TransformerOperator`).
#[derive(Clone, Debug)]
pub(crate) struct Transformer {
    pub on_error: OnError,
    pub if_expr: Option<Expr>,
}

impl Transformer {
    /// Runs the `if` check: `None` to go on processing, `Some(next)` when the entry was
    /// passed on untouched or handled as an error.
    pub(crate) fn check(&self, e: &Entry, out: &mut Out) -> Option<Next> {
        let cond = self.if_expr.as_ref()?;
        match cond.eval_bool(e) {
            Ok(true) => None,
            Ok(false) => Some(Next::Forward(0)),
            Err(m) => Some(out.fail(self.on_error, &format!("running if expr: {m}"))),
        }
    }

    /// A transformer's whole step: `if`, then `f`; on error, `on_error`.
    pub(crate) fn run(
        &self,
        e: &mut Entry,
        out: &mut Out,
        f: impl FnOnce(&mut Entry) -> Result<(), String>,
    ) -> Next {
        if let Some(next) = self.check(e, out) {
            return next;
        }
        match f(e) {
            Ok(()) => Next::Forward(0),
            Err(m) => out.fail(self.on_error, &m),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Node(usize),
    Sink,
}

struct Node {
    id: String,
    op: Box<dyn Operator>,
    /// Targets per port (port 0 = the `output` list).
    ports: Vec<Vec<Target>>,
}

/// A string as Go's `json.Marshal` writes it in an error's details (`{"operator_id":...}`):
/// quoted, with `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026`.
fn go_json(s: &str) -> String {
    serde_json::Value::from(s)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A built operator chain. Not thread-safe by itself (`&mut self`): a receiver runs one
/// per reading thread or guards it with a mutex, as Go's recombine does with its lock.
pub struct Pipeline {
    nodes: Vec<Node>,
    stack: Vec<(usize, Entry)>,
    scratch: Vec<(Entry, u32)>,
    errors: u64,
    hook: Option<ErrorHook>,
    stateful: bool,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "operators",
                &self.nodes.iter().map(|n| &n.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Pipeline {
    /// Builds the chain from the `operators` list, as Go's `pipeline.Config.Build` with the
    /// receiver's emitter as default output: ids equal to their type are de-duplicated
    /// (`move`, `move1`, ...), operators without `output` send to the next one and the
    /// last to the receiver, and outputs must exist and form no cycle.
    /// An empty list is a pipeline that passes entries through.
    pub fn build(configs: &[OperatorConfig]) -> Result<Pipeline, BuildError> {
        let ids = config::dedup_ids(configs);
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(BuildError {
                    index: Some(i),
                    message: format!("operator with id '{id}' already exists in pipeline"),
                });
            }
        }
        let mut nodes = Vec::with_capacity(configs.len());
        for (i, (cfg, id)) in configs.iter().zip(&ids).enumerate() {
            let op = cfg.build(id).map_err(|message| BuildError {
                index: Some(i),
                message,
            })?;
            nodes.push((id.clone(), op));
        }
        let mut built = Vec::with_capacity(nodes.len());
        for (i, (id, op)) in nodes.iter().enumerate() {
            let port_ids = match op.port_outputs() {
                Some(p) => p,
                None => {
                    let explicit = &configs[i].output;
                    vec![if !explicit.is_empty() {
                        explicit.clone()
                    } else if i + 1 < nodes.len() {
                        vec![ids[i + 1].clone()]
                    } else {
                        Vec::new()
                    }]
                }
            };
            let is_last_default =
                op.port_outputs().is_none() && configs[i].output.is_empty() && i + 1 == nodes.len();
            let mut ports = Vec::with_capacity(port_ids.len());
            for out_ids in &port_ids {
                let mut targets = Vec::with_capacity(out_ids.len());
                for out in out_ids {
                    let Some(j) = ids.iter().position(|x| x == out) else {
                        // The router finds its routes' outputs itself, with its own words.
                        let message = if op.port_outputs().is_some() {
                            format!(
                                "failed to set outputs on route: operator {out} does not exist: {{\"operator_id\":{}}}",
                                go_json(id)
                            )
                        } else {
                            format!(
                                "operator '{out}' does not exist: {{\"operator_id\":{}}}",
                                go_json(id)
                            )
                        };
                        return Err(BuildError {
                            index: Some(i),
                            message,
                        });
                    };
                    if targets.contains(&Target::Node(j)) {
                        return Err(BuildError {
                            index: Some(i),
                            message: format!(
                                "operators cannot be connected, because a connection already exists: {{\"input_operator\":{},\"output_operator\":{}}}",
                                go_json(id),
                                go_json(out)
                            ),
                        });
                    }
                    targets.push(Target::Node(j));
                }
                if is_last_default {
                    targets.push(Target::Sink);
                }
                ports.push(targets);
            }
            built.push(ports);
        }
        if let Some(cycle) = find_cycle(&built) {
            let names: Vec<&str> = cycle.iter().map(|&i| ids[i].as_str()).collect();
            return Err(BuildError {
                index: None,
                message: format!(
                    "pipeline has a circular dependency: {{\"cycles\":{}}}",
                    go_json(&format!("({} -> {})", names.join(" -> "), names[0]))
                ),
            });
        }
        let stateful = nodes.iter().any(|(_, op)| op.holds_state());
        Ok(Pipeline {
            nodes: nodes
                .into_iter()
                .zip(built)
                .map(|((id, op), ports)| Node { id, op, ports })
                .collect(),
            stack: Vec::new(),
            scratch: Vec::new(),
            errors: 0,
            hook: None,
            stateful,
        })
    }

    /// Installs a callback for every entry-processing error.
    pub fn set_error_hook(&mut self, hook: ErrorHook) {
        self.hook = Some(hook);
    }

    /// Processing errors so far (every `on_error` path and router/recombine errors).
    pub fn error_count(&self) -> u64 {
        self.errors
    }

    /// Ids of the operators, in config order (after de-duplication).
    pub fn operator_ids(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.id.as_str())
    }

    /// Whether some operator holds entries between calls (recombine, container), so the
    /// receiver must call [`Pipeline::flush_expired`] periodically and
    /// [`Pipeline::flush_all`] at stop.
    pub fn needs_flushing(&self) -> bool {
        self.stateful
    }

    /// Runs one entry through the chain; entries leaving it go to `sink`.
    pub fn process(&mut self, entry: Entry, sink: &mut impl FnMut(Entry)) {
        if self.nodes.is_empty() {
            sink(entry);
            return;
        }
        // Followed from the first operator without a trip through the stack (an entry is a
        // few hundred bytes to move); what an operator routes elsewhere is drained after.
        self.follow(0, entry, sink);
        self.drain(sink);
    }

    /// Runs a batch of entries through the chain, in order.
    pub fn process_batch(&mut self, entries: Vec<Entry>, sink: &mut impl FnMut(Entry)) {
        for e in entries {
            self.process(e, sink);
        }
    }

    /// Emits entries that operators held longer than their flush period (recombine's
    /// `force_flush_period`), judged at `now` (Unix ns). Call every ~`period/5`; Go's
    /// ticker runs at a fifth of the smallest period.
    pub fn flush_expired(&mut self, now: i64, sink: &mut impl FnMut(Entry)) {
        for i in 0..self.nodes.len() {
            self.flush_node(i, sink, |op, out| op.flush_expired(now, out));
        }
    }

    /// Emits everything held (at stop), upstream operators first so their output can
    /// still be combined downstream before that is flushed in turn.
    pub fn flush_all(&mut self, sink: &mut impl FnMut(Entry)) {
        for i in 0..self.nodes.len() {
            self.flush_node(i, sink, |op, out| op.flush_all(out));
        }
    }

    fn flush_node(
        &mut self,
        i: usize,
        sink: &mut impl FnMut(Entry),
        f: impl FnOnce(&mut dyn Operator, &mut Out),
    ) {
        let (op, mut out) = self.node_out(i);
        f(op, &mut out);
        self.route(i);
        self.drain(sink);
    }

    /// Node `i`'s operator and the output it emits into.
    #[inline]
    fn node_out(&mut self, i: usize) -> (&mut dyn Operator, Out<'_>) {
        let node = &mut self.nodes[i];
        let out = Out {
            buf: &mut self.scratch,
            errors: &mut self.errors,
            hook: &mut self.hook,
            id: &node.id,
        };
        (node.op.as_mut(), out)
    }

    /// Moves what node `i` emitted (in `scratch`) onto the stack, first emitted on top.
    fn route(&mut self, i: usize) {
        let ports = &self.nodes[i].ports;
        for (e, port) in self.scratch.drain(..).rev() {
            let Some(targets) = ports.get(port as usize) else {
                continue;
            };
            // Go writes copies to all outputs but the last, which gets the original;
            // pushing in reverse keeps the first output processed first.
            let Some((last, rest)) = targets.split_last() else {
                continue;
            };
            let copies: Vec<Entry> = rest.iter().map(|_| e.clone()).collect();
            push_target(&mut self.stack, *last, e);
            for (t, c) in rest.iter().zip(copies).rev() {
                push_target(&mut self.stack, *t, c);
            }
        }
    }

    fn drain(&mut self, sink: &mut impl FnMut(Entry)) {
        while let Some((i, e)) = self.stack.pop() {
            self.follow(i, e, sink);
        }
    }

    /// Follows `e` from node `i` in place while each operator forwards it to one target;
    /// anything else an operator does with it is routed onto the stack.
    #[inline]
    fn follow(&mut self, mut i: usize, mut e: Entry, sink: &mut impl FnMut(Entry)) {
        loop {
            if i == usize::MAX {
                sink(e);
                return;
            }
            let (op, mut out) = self.node_out(i);
            let next = op.process(&mut e, &mut out);
            let Next::Forward(port) = next else {
                self.route(i);
                return;
            };
            if self.scratch.is_empty()
                && let Some(targets) = self.nodes[i].ports.get(port as usize)
                && targets.len() == 1
            {
                i = match targets[0] {
                    Target::Node(j) => j,
                    Target::Sink => usize::MAX,
                };
                continue;
            }
            self.scratch.push((e, port));
            self.route(i);
            return;
        }
    }
}

fn push_target(stack: &mut Vec<(usize, Entry)>, t: Target, e: Entry) {
    match t {
        Target::Node(j) => stack.push((j, e)),
        Target::Sink => stack.push((usize::MAX, e)),
    }
}

/// A cycle in the operator graph, as the node indexes along it.
fn find_cycle(ports: &[Vec<Vec<Target>>]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on the current path, 2 = done
    fn visit(
        n: usize,
        ports: &[Vec<Vec<Target>>],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[n] = 1;
        path.push(n);
        for t in ports[n].iter().flatten() {
            let Target::Node(m) = *t else { continue };
            if state[m] == 1 {
                let start = path.iter().position(|&x| x == m).unwrap_or(0);
                return Some(path[start..].to_vec());
            }
            if state[m] == 0
                && let Some(c) = visit(m, ports, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[n] = 2;
        None
    }
    let mut state = vec![0u8; ports.len()];
    for n in 0..ports.len() {
        if state[n] == 0
            && let Some(c) = visit(n, ports, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testutil::*;
    use crate::value::Value;

    #[test]
    fn ids_equal_to_the_type_are_deduplicated_like_go() {
        let p = pipeline(
            "- type: noop\n- type: noop\n- type: noop\n  id: noop1\n- type: noop\n- type: move\n  from: body\n  to: attributes.x\n",
        );
        let ids: Vec<_> = p.operator_ids().collect();
        // Go: noop, noop2 (noop1 is taken), noop1, noop3
        assert_eq!(ids, vec!["noop", "noop2", "noop1", "noop3", "move"]);
    }

    #[test]
    fn build_errors_name_the_problem() {
        assert_eq!(
            build_err("- type: noop\n  id: a\n- type: noop\n  id: a\n"),
            "operator with id 'a' already exists in pipeline"
        );
        assert_eq!(build_err("- type: nope\n"), "unsupported type 'nope'");
        assert_eq!(build_err("- id: x\n"), "missing required field 'type'");
        assert_eq!(
            build_err("- type: 5\n"),
            "non-string type int for field 'type'"
        );
        assert_eq!(
            build_err("- type: noop\n  output: b\n"),
            "operator 'b' does not exist: {\"operator_id\":\"noop\"}"
        );
        assert_eq!(
            build_err("- type: noop\n  id: a\n  output: b\n- type: noop\n  id: b\n  output: a\n"),
            "pipeline has a circular dependency: {\"cycles\":\"(a -\\u003e b -\\u003e a)\"}"
        );
        assert!(build_err("- type: move\n  from: nope\n").starts_with("unmarshal to move: "));
        let cfgs = OperatorConfig::list_from_yaml("- type: noop\n- type: regex_parser\n").unwrap();
        assert_eq!(Pipeline::build(&cfgs).unwrap_err().index, Some(1));
    }

    #[test]
    fn unknown_keys_are_ignored_as_in_go() {
        let p = pipeline("- type: noop\n  whatever: 1\n");
        assert_eq!(p.operator_ids().count(), 1);
    }

    #[test]
    fn explicit_outputs_fan_out_copies_and_skip_operators() {
        let yaml = "- type: noop\n  output: [a, b]\n- type: add\n  id: skipped\n  field: attributes.s\n  value: 1\n- type: add\n  id: a\n  field: attributes.a\n  value: 1\n  output: end\n- type: add\n  id: b\n  field: attributes.b\n  value: 1\n- type: noop\n  id: end\n";
        let out = run_one(yaml, Entry::with_body("x", 0));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].attributes.get("a"), Some(&Value::Int(1)));
        assert!(!out[0].attributes.contains_key("b"));
        assert_eq!(out[1].attributes.get("b"), Some(&Value::Int(1)));
        assert!(out.iter().all(|e| !e.attributes.contains_key("s")));
    }

    #[test]
    fn empty_operator_list_passes_entries_through() {
        let mut p = Pipeline::build(&[]).unwrap();
        let out = run(&mut p, vec![Entry::with_body("x", 0)]);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn error_hook_sees_each_failure() {
        let mut p = pipeline(
            "- type: move\n  from: attributes.x\n  to: attributes.y\n  on_error: drop_quiet\n",
        );
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        p.set_error_hook(Box::new(move |e| {
            s2.lock()
                .unwrap()
                .push((e.operator_id.to_string(), e.message.to_string(), e.action))
        }));
        assert!(run(&mut p, vec![Entry::default()]).is_empty());
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            &[(
                "move".to_string(),
                "move: field does not exist: attributes.x".to_string(),
                OnError::DropQuiet
            )]
        );
    }
}
