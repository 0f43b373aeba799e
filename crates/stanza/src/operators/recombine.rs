//! `recombine`: joins the `combine_field` of consecutive entries of one source into one
//! entry, split by `is_first_entry` or `is_last_entry`, with Go's limits (batch sizes,
//! sources, log size) and the `force_flush_period` timer driven by
//! [`crate::Pipeline::flush_expired`]. As in Go, `if` is not evaluated.

use std::collections::HashMap;

use serde::Deserialize;

use crate::entry::Entry;
use crate::expr::Expr;
use crate::field::Field;
use crate::operator::config::{OnError, Spec};
use crate::operator::parser::TransformerKeys;
use crate::operator::{Next, Operator, Out};
use crate::value::Value;

pub(crate) const DEFAULT_SOURCE: &str = "DefaultSourceIdentifier";

#[derive(Deserialize, Debug, Clone)]
#[serde(default)]
pub(crate) struct Config {
    is_first_entry: String,
    is_last_entry: String,
    max_batch_size: i64,
    max_unmatched_batch_size: i64,
    combine_field: Option<Field>,
    combine_with: String,
    source_identifier: Field,
    overwrite_with: String,
    force_flush_period: config::Duration,
    max_sources: i64,
    max_log_size: config::StanzaByteSize,
    #[serde(flatten)]
    t: TransformerKeys,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            is_first_entry: String::new(),
            is_last_entry: String::new(),
            max_batch_size: 1000,
            max_unmatched_batch_size: 100,
            combine_field: None,
            combine_with: "\n".into(),
            // Go v0.116+ (`attrs.LogFilePath`); v0.115 and older used `file.path`.
            source_identifier: Field::attribute("log.file.path"),
            overwrite_with: "oldest".into(),
            force_flush_period: config::Duration::from_secs(5),
            max_sources: 1000,
            max_log_size: config::StanzaByteSize(0),
            t: TransformerKeys::default(),
        }
    }
}

/// The built settings (also used by the container parser's internal recombine).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub match_first: bool,
    pub expr: Expr,
    pub max_batch_size: usize,
    pub max_unmatched_batch_size: usize,
    pub max_sources: usize,
    pub overwrite_with_newest: bool,
    pub combine_field: Field,
    pub combine_with: String,
    pub source_identifier: Field,
    pub force_flush_ns: i64,
    pub max_log_size: usize,
    pub on_error: OnError,
}

impl Config {
    pub(crate) fn settings(&self) -> Result<Settings, String> {
        let t = self
            .t
            .build()
            .map_err(|e| format!("failed to build transformer config: {e}"))?;
        if !self.is_last_entry.is_empty() && !self.is_first_entry.is_empty() {
            return Err("only one of is_first_entry and is_last_entry can be set".into());
        }
        if self.is_last_entry.is_empty() && self.is_first_entry.is_empty() {
            return Err("one of is_first_entry and is_last_entry must be set".into());
        }
        let (match_first, expr) = if !self.is_first_entry.is_empty() {
            let e = Expr::compile_bool(&self.is_first_entry)
                .map_err(|e| format!("failed to compile is_first_entry: {e}"))?;
            (true, e)
        } else {
            let e = Expr::compile_bool(&self.is_last_entry)
                .map_err(|e| format!("failed to compile is_last_entry: {e}"))?;
            (false, e)
        };
        let combine_field = self
            .combine_field
            .clone()
            .ok_or("missing required argument 'combine_field'")?;
        let overwrite_with_newest = match self.overwrite_with.as_str() {
            "newest" => true,
            "oldest" | "" => false,
            other => {
                return Err(format!(
                    "invalid value '{other}' for parameter 'overwrite_with'"
                ));
            }
        };
        let nonneg = |v: i64| usize::try_from(v).unwrap_or(0);
        Ok(Settings {
            match_first,
            expr,
            max_batch_size: nonneg(self.max_batch_size),
            max_unmatched_batch_size: nonneg(self.max_unmatched_batch_size),
            max_sources: nonneg(self.max_sources),
            overwrite_with_newest,
            combine_field,
            combine_with: self.combine_with.clone(),
            source_identifier: self.source_identifier.clone(),
            force_flush_ns: self.force_flush_period.0.as_nanos().min(i64::MAX as u128) as i64,
            // Go compares `> 0`: a negative size is no limit, like 0.
            max_log_size: usize::try_from(self.max_log_size.0).unwrap_or(0),
            on_error: t.on_error,
        })
    }
}

impl Spec for Config {
    fn build(&self, _id: &str) -> Result<Box<dyn Operator>, String> {
        Ok(Box::new(Recombine::new(self.settings()?)))
    }
}

struct Batch {
    base: Entry,
    entries: usize,
    combined: String,
    first_observed: i64,
    match_detected: bool,
}

pub(crate) struct Recombine {
    s: Settings,
    /// Batches by source, with arrival order kept so flush-all is deterministic.
    batches: HashMap<String, Batch>,
    order: Vec<String>,
    /// Spare buffers of flushed batches, reused for new ones.
    spare: Vec<String>,
}

impl Recombine {
    pub(crate) fn new(s: Settings) -> Recombine {
        Recombine {
            s,
            batches: HashMap::new(),
            order: Vec::new(),
            spare: Vec::new(),
        }
    }

    fn source_of(&self, e: &Entry, out: &mut Out) -> String {
        match self.s.source_identifier.get(e).and_then(Value::as_text) {
            Some(s) if !s.is_empty() => s.into_owned(),
            Some(_) => DEFAULT_SOURCE.to_string(),
            None => {
                out.warn("entry does not contain the source_identifier, so it may be pooled with other sources");
                DEFAULT_SOURCE.to_string()
            }
        }
    }

    fn add(&mut self, e: Entry, source: &str, matches: bool, out: &mut Out) {
        if !self.batches.contains_key(source) && self.batches.len() >= self.s.max_sources {
            tracing::error!(
                "Too many sources. Flushing all batched logs. Consider increasing max_sources parameter"
            );
            self.flush_all_sources(out);
        }
        let text = self
            .s
            .combine_field
            .get(&e)
            .and_then(Value::as_text)
            .map(|c| c.into_owned());
        let batch = match self.batches.get_mut(source) {
            Some(b) => {
                b.entries += 1;
                if self.s.overwrite_with_newest {
                    b.base = e;
                }
                b
            }
            None => {
                let mut combined = self.spare.pop().unwrap_or_default();
                combined.clear();
                self.order.push(source.to_string());
                let first_observed = e.observed_timestamp;
                self.batches.entry(source.to_string()).or_insert(Batch {
                    base: e,
                    entries: 1,
                    combined,
                    first_observed,
                    match_detected: false,
                })
            }
        };
        if matches {
            batch.match_detected = true;
        }
        let Some(text) = text else {
            tracing::error!("entry does not contain the combine_field");
            return;
        };
        if !batch.combined.is_empty() {
            batch.combined.push_str(&self.s.combine_with);
        }
        batch.combined.push_str(&text);
        let s = &self.s;
        if (s.max_log_size > 0 && batch.combined.len() > s.max_log_size)
            || (s.max_batch_size > 0 && batch.entries >= s.max_batch_size)
            || (!batch.match_detected
                && s.max_unmatched_batch_size > 0
                && batch.entries >= s.max_unmatched_batch_size)
        {
            self.flush_source(source, out);
        }
    }

    fn flush_source(&mut self, source: &str, out: &mut Out) {
        let Some(mut b) = self.batches.remove(source) else {
            return;
        };
        if let Some(i) = self.order.iter().position(|s| s == source) {
            self.order.remove(i);
        }
        let combined = std::mem::take(&mut b.combined);
        let mut e = b.base;
        match self.s.combine_field.set(&mut e, Value::from(combined)) {
            Ok(()) => out.emit(e),
            Err(m) => out.report(&format!("there was error flushing combined logs: {m}")),
        }
        if self.spare.len() < 16 {
            self.spare.push(String::new());
        }
    }

    fn flush_all_sources(&mut self, out: &mut Out) {
        for source in std::mem::take(&mut self.order) {
            self.order.push(source.clone());
            self.flush_source(&source, out);
        }
    }
}

impl Operator for Recombine {
    fn process(&mut self, e: &mut Entry, out: &mut Out) -> Next {
        let matches = match self.s.expr.eval_bool(e) {
            Ok(m) => m,
            Err(m) => return out.fail(self.s.on_error, &m),
        };
        let source = self.source_of(e, out);
        let e = std::mem::take(e);
        match (matches, self.s.match_first) {
            (true, true) => {
                self.flush_source(&source, out);
                self.add(e, &source, matches, out);
            }
            (true, false) => {
                self.add(e, &source, matches, out);
                self.flush_source(&source, out);
            }
            _ => self.add(e, &source, matches, out),
        }
        Next::Consumed
    }

    fn flush_expired(&mut self, now: i64, out: &mut Out) {
        let expired: Vec<String> = self
            .order
            .iter()
            .filter(|s| {
                self.batches
                    .get(*s)
                    .is_some_and(|b| now.saturating_sub(b.first_observed) >= self.s.force_flush_ns)
            })
            .cloned()
            .collect();
        for s in expired {
            self.flush_source(&s, out);
        }
    }

    fn flush_all(&mut self, out: &mut Out) {
        self.flush_all_sources(out);
    }

    fn holds_state(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::operators::testutil::*;

    fn cri(path: &str, tag: &str, log: &str, t: i64) -> Entry {
        let mut e = Entry::with_body("raw", t);
        e.attributes.insert("log.file.path", path.into());
        e.attributes.insert("logtag", tag.into());
        e.attributes.insert("log", log.into());
        e
    }

    const LAST: &str = r#"
- type: recombine
  combine_field: attributes.log
  combine_with: ''
  is_last_entry: attributes.logtag == 'F'
  max_log_size: 102400
  source_identifier: attributes["log.file.path"]
"#;

    #[test]
    fn last_entry_mode_joins_partials_per_source() {
        let mut p = pipeline(LAST);
        let out = run(
            &mut p,
            vec![
                cri("/a", "P", "hel", 1),
                cri("/b", "P", "wor", 2),
                cri("/a", "F", "lo", 3),
                cri("/b", "F", "ld", 4),
                cri("/a", "F", "single", 5),
            ],
        );
        let logs: Vec<_> = out
            .iter()
            .map(|e| e.attributes.get("log").cloned().unwrap())
            .collect();
        assert_eq!(
            logs,
            vec![
                Value::from("hello"),
                Value::from("world"),
                Value::from("single")
            ]
        );
        // The oldest entry is the base: its logtag (P) and observed time stay.
        assert_eq!(out[0].attributes.get("logtag"), Some(&Value::from("P")));
        assert_eq!(out[0].observed_timestamp, 1);
    }

    #[test]
    fn first_entry_mode_flushes_on_the_next_first_line() {
        let yaml = r#"
- type: recombine
  combine_field: body
  is_first_entry: body matches "^\\S"
  overwrite_with: newest
"#;
        let mut p = pipeline(yaml);
        let mk = |s: &str| Entry::with_body(s, 0);
        let out = run(
            &mut p,
            vec![mk("Exception"), mk("  at a"), mk("  at b"), mk("Next")],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("Exception\n  at a\n  at b"));
        let mut rest = Vec::new();
        p.flush_all(&mut |e| rest.push(e));
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].body, Value::from("Next"));
    }

    #[test]
    fn force_flush_period_flushes_old_batches() {
        let mut p = pipeline(&format!("{LAST}  force_flush_period: 1s\n"));
        let out = run(&mut p, vec![cri("/a", "P", "x", 1_000_000_000)]);
        assert!(out.is_empty());
        let mut flushed = Vec::new();
        p.flush_expired(1_500_000_000, &mut |e| flushed.push(e));
        assert!(flushed.is_empty());
        p.flush_expired(2_000_000_000, &mut |e| flushed.push(e));
        assert_eq!(flushed.len(), 1);
        assert_eq!(flushed[0].attributes.get("log"), Some(&Value::from("x")));
    }

    #[test]
    fn max_log_size_and_batch_limits_flush() {
        let yaml = "- type: recombine\n  combine_field: body\n  is_last_entry: body == 'end'\n  max_log_size: 5\n";
        let mut p = pipeline(yaml);
        let out = run(
            &mut p,
            vec![
                Entry::with_body("abc", 0),
                Entry::with_body("def", 0),
                Entry::with_body("g", 0),
            ],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("abc\ndef"));
        let yaml = "- type: recombine\n  combine_field: body\n  is_last_entry: body == 'end'\n  max_unmatched_batch_size: 2\n";
        let out = run(
            &mut pipeline(yaml),
            (0..4)
                .map(|i| Entry::with_body(format!("{i}"), 0))
                .collect(),
        );
        let bodies: Vec<_> = out.iter().map(|e| e.body.clone()).collect();
        assert_eq!(bodies, vec![Value::from("0\n1"), Value::from("2\n3")]);
        let yaml = "- type: recombine\n  combine_field: body\n  is_first_entry: body == 'start'\n  max_batch_size: 2\n";
        let out = run(
            &mut pipeline(yaml),
            vec![
                Entry::with_body("start", 0),
                Entry::with_body("a", 0),
                Entry::with_body("b", 0),
            ],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].body, Value::from("start\na"));
    }

    #[test]
    fn max_sources_flushes_everything() {
        let yaml = format!("{LAST}  max_sources: 2\n");
        let mut p = pipeline(&yaml);
        let out = run(
            &mut p,
            vec![
                cri("/a", "P", "a", 0),
                cri("/b", "P", "b", 0),
                cri("/c", "P", "c", 0),
            ],
        );
        let logs: Vec<_> = out
            .iter()
            .map(|e| e.attributes.get("log").cloned().unwrap())
            .collect();
        assert_eq!(logs, vec![Value::from("a"), Value::from("b")]);
    }

    #[test]
    fn missing_source_pools_under_the_default_source() {
        let mut p = pipeline(LAST);
        let mut a = cri("/a", "P", "x", 0);
        a.attributes.remove("log.file.path");
        let mut b = cri("", "F", "y", 0);
        b.attributes.insert("log.file.path", "".into());
        let out = run(&mut p, vec![a, b]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].attributes.get("log"), Some(&Value::from("xy")));
    }

    #[test]
    fn expression_error_goes_to_on_error() {
        let yaml = "- type: recombine\n  combine_field: body\n  is_last_entry: body.x == 1\n  on_error: drop\n";
        let mut p = pipeline(yaml);
        assert!(run(&mut p, vec![Entry::with_body("str", 0)]).is_empty());
        assert_eq!(p.error_count(), 1);
        let yaml = "- type: recombine\n  combine_field: body\n  is_last_entry: body.x == 1\n";
        let out = run_one(yaml, Entry::with_body("str", 0));
        assert_eq!(out[0].body, Value::from("str"));
        let _ = map!();
    }

    #[test]
    fn config_errors() {
        assert_eq!(
            build_err("- type: recombine\n  combine_field: body\n"),
            "one of is_first_entry and is_last_entry must be set"
        );
        assert_eq!(
            build_err(
                "- type: recombine\n  combine_field: body\n  is_first_entry: 'true'\n  is_last_entry: 'true'\n"
            ),
            "only one of is_first_entry and is_last_entry can be set"
        );
        assert_eq!(
            build_err("- type: recombine\n  is_first_entry: 'true'\n"),
            "missing required argument 'combine_field'"
        );
        assert_eq!(
            build_err(
                "- type: recombine\n  combine_field: body\n  is_first_entry: 'true'\n  overwrite_with: middle\n"
            ),
            "invalid value 'middle' for parameter 'overwrite_with'"
        );
    }

    #[test]
    fn max_log_size_takes_stanzas_byte_size_syntax() {
        // helper.ByteSize: `kb` is 1000 bytes (the collector's sizes elsewhere agree), and
        // an unknown unit is Go's "invalid byte size".
        let yaml = "- type: recombine\n  combine_field: body\n  is_last_entry: body == 'end'\n  max_log_size: 1kb\n";
        // 505 + "\n" + 505 = 1011 bytes: over 1000, under 1024.
        let big = "x".repeat(505);
        let out = run(
            &mut pipeline(yaml),
            vec![
                Entry::with_body(big.as_str(), 0),
                Entry::with_body(big.as_str(), 0),
            ],
        );
        assert_eq!(
            out.len(),
            1,
            "flushed once the combined body passed 1000 bytes (1kb, not 1KiB)"
        );
        assert!(
            build_err("- type: recombine\n  combine_field: body\n  is_last_entry: 'true'\n  max_log_size: 1xb\n")
                .contains("invalid byte size '1xb'")
        );
    }
}
