//! What every parser shares (Go `helper.ParserOperator`): `parse_from`, `parse_to`, `body`,
//! and the embedded `timestamp`, `severity`, `trace` and `scope_name` blocks, run in Go's
//! order with Go's error handling (all blocks run; the first failure goes to `on_error`
//! with whatever was already set on the entry).

use serde::Deserialize;

use super::config::OnError;
use super::{Next, Out, Transformer};
use crate::entry::Entry;
use crate::expr::Expr;
use crate::field::{Field, RootableField};
use crate::value::{Map, Value};

/// What a parse gave: a value of its own, or a map to copy (a cached result).
pub(crate) enum Parsed<'c> {
    Value(Value),
    /// A map kept elsewhere (a cache's result): copied into place.
    Copy(&'c Map),
    /// The parser's own map: its pairs are moved into place, its room kept.
    Drain(&'c mut Map),
}

/// `on_error` and `if`, shared by transformers and parsers.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub(crate) struct TransformerKeys {
    pub on_error: Option<String>,
    #[serde(rename = "if")]
    pub if_expr: Option<String>,
}

impl TransformerKeys {
    pub(crate) fn build(&self) -> Result<Transformer, String> {
        let on_error = match self.on_error.as_deref() {
            None | Some("") => OnError::Send,
            Some(s) => OnError::parse(s)?,
        };
        let if_expr = match self.if_expr.as_deref() {
            None | Some("") => None,
            Some(src) => Some(
                Expr::compile_bool(src)
                    .map_err(|e| format!("failed to compile expression '{src}': {e}"))?,
            ),
        };
        Ok(Transformer { on_error, if_expr })
    }
}

/// The `trace` block: hex strings from three fields (defaults `body.trace_id`,
/// `body.span_id`, `body.trace_flags`).
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub(crate) struct TraceKeys {
    pub trace_id: Option<ParseFromKey>,
    pub span_id: Option<ParseFromKey>,
    pub trace_flags: Option<ParseFromKey>,
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub(crate) struct ParseFromKey {
    pub parse_from: Option<Field>,
}

#[derive(Debug, Clone)]
pub(crate) struct TraceBlock {
    trace_id: Field,
    span_id: Field,
    trace_flags: Field,
}

impl TraceKeys {
    pub(crate) fn build(&self) -> TraceBlock {
        let pick = |k: &Option<ParseFromKey>, dflt: &str| {
            k.as_ref()
                .and_then(|k| k.parse_from.clone())
                .unwrap_or_else(|| Field::new(crate::field::Root::Body, &[dflt]))
        };
        TraceBlock {
            trace_id: pick(&self.trace_id, "trace_id"),
            span_id: pick(&self.span_id, "span_id"),
            trace_flags: pick(&self.trace_flags, "trace_flags"),
        }
    }
}

/// Go's `hex.DecodeString` of `fmt.Sprintf("%v", value)`, with its error texts.
fn decode_hex(v: &Value) -> Result<Vec<u8>, String> {
    let owned;
    let s: &str = match v {
        Value::Str(s) => s,
        other => {
            owned = other.to_string();
            &owned
        }
    };
    let b = s.as_bytes();
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    while i + 1 < b.len() {
        let (Some(h), Some(l)) = (nib(b[i]), nib(b[i + 1])) else {
            let bad = if nib(b[i]).is_none() { i } else { i + 1 };
            let c = s[bad..].chars().next().unwrap_or('?');
            return Err(
                format!("encoding/hex: invalid byte: U+{:04X} {c:?}", c as u32).replace('"', "'"),
            );
        };
        out.push(h << 4 | l);
        i += 2;
    }
    if b.len() % 2 == 1 {
        if nib(b[b.len() - 1]).is_none() {
            let c = s[b.len() - 1..].chars().next().unwrap_or('?');
            return Err(format!(
                "encoding/hex: invalid byte: U+{:04X} '{c}'",
                c as u32
            ));
        }
        return Err("encoding/hex: odd length hex string".into());
    }
    Ok(out)
}

impl TraceBlock {
    /// Sets trace id, span id and flags (each left empty when its field is missing).
    pub(crate) fn apply(&self, e: &mut Entry) -> Result<(), String> {
        let mut details: Vec<(&str, String)> = Vec::new();
        let mut one = |f: &Field, name: &'static str, e: &Entry| match f.get(e) {
            None => Vec::new(),
            Some(v) => decode_hex(v).unwrap_or_else(|m| {
                details.push((name, m));
                Vec::new()
            }),
        };
        let t = one(&self.trace_id, "trace_id", e);
        let s = one(&self.span_id, "span_id", e);
        let f = one(&self.trace_flags, "trace_flags", e);
        e.trace_id = t;
        e.span_id = s;
        e.trace_flags = f;
        if details.is_empty() {
            return Ok(());
        }
        let json: Vec<String> = details
            .iter()
            .map(|(k, v)| format!("\"{k}\":{}", serde_json::Value::String(v.clone())))
            .collect();
        Err(format!(
            "Error decoding traces for logs: {{{}}}",
            json.join(",")
        ))
    }
}

/// The `scope_name` block (and scope_name_parser): a string field becomes the scope name.
#[derive(Debug, Clone)]
pub(crate) struct ScopeNameBlock {
    pub parse_from: Field,
}

impl ScopeNameBlock {
    pub(crate) fn apply(&self, e: &mut Entry) -> Result<(), String> {
        match self.parse_from.get(e) {
            None => Err(format!(
                "log entry does not have the expected parse_from field: {{\"parse_from\":\"{}\"}}",
                self.parse_from
            )),
            Some(Value::Str(s)) => {
                e.scope_name = s.to_string();
                Ok(())
            }
            Some(other) => Err(format!(
                "cannot parse scope name: {{\"value\":\"{other}\",\"type\":\"{}\"}}",
                other.go_type()
            )),
        }
    }
}

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub(crate) struct ScopeNameKeys {
    pub parse_from: Option<Field>,
}

/// Keys of every parser.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub(crate) struct ParserKeys {
    pub parse_from: Option<Field>,
    pub parse_to: Option<RootableField>,
    pub body: Option<Field>,
    pub timestamp: Option<serde_json::Value>,
    pub severity: Option<serde_json::Value>,
    pub trace: Option<TraceKeys>,
    pub scope_name: Option<ScopeNameKeys>,
    #[serde(flatten)]
    pub transformer: TransformerKeys,
}

/// A built parser's shared part.
#[derive(Debug, Clone)]
pub(crate) struct Parser {
    pub t: Transformer,
    pub parse_from: Field,
    pub parse_to: Field,
    pub body: Option<Field>,
    pub time: Option<crate::operator::blocks::TimeBlock>,
    pub severity: Option<crate::operator::blocks::SeverityBlock>,
    pub trace: Option<TraceBlock>,
    pub scope_name: Option<ScopeNameBlock>,
}

impl ParserKeys {
    pub(crate) fn build(&self) -> Result<Parser, String> {
        let t = self.transformer.build()?;
        let parse_to = self
            .parse_to
            .clone()
            .map_or_else(Field::attributes_root, |f| f.0);
        if self.body.is_some() && parse_to == Field::body() {
            return Err("`parse_to: body` not allowed when `body` is configured".into());
        }
        let time = match &self.timestamp {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(crate::operator::blocks::TimeBlock::from_config(v)?),
        };
        let severity = match &self.severity {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(crate::operator::blocks::SeverityBlock::from_config(v)?),
        };
        Ok(Parser {
            t,
            parse_from: self.parse_from.clone().unwrap_or_else(Field::body),
            parse_to,
            body: self.body.clone(),
            time,
            severity,
            trace: self.trace.as_ref().map(TraceKeys::build),
            scope_name: self.scope_name.as_ref().map(|s| ScopeNameBlock {
                parse_from: s
                    .parse_from
                    .clone()
                    .unwrap_or_else(|| Field::new(crate::field::Root::Body, &["scope_name"])),
            }),
        })
    }
}

impl Parser {
    /// The whole step of a parser: `if`, read `parse_from`, `parse`, set `parse_to`, move
    /// `body`, run the embedded blocks, and hand the entry on (or to `on_error`).
    pub(crate) fn process(
        &self,
        e: &mut Entry,
        out: &mut Out,
        parse: impl FnOnce(&Value) -> Result<Value, String>,
    ) -> Next {
        self.process_parsed(e, out, |v| parse(v).map(Parsed::Value))
    }

    /// [`Parser::process`] for a parse whose result may be a map kept elsewhere (a cache):
    /// that one is copied into place pair by pair.
    pub(crate) fn process_parsed<'c>(
        &self,
        e: &mut Entry,
        out: &mut Out,
        parse: impl FnOnce(&Value) -> Result<Parsed<'c>, String>,
    ) -> Next {
        if let Some(next) = self.t.check(e, out) {
            return next;
        }
        let parsed = match self.parse_from.get(e) {
            None => Err(format!(
                "Entry is missing the expected parse_from field.: {{\"parse_from\":\"{}\"}}",
                self.parse_from
            )),
            Some(v) => parse(v),
        };
        let set = match parsed {
            Ok(Parsed::Value(v)) => self.parse_to.set(e, v),
            Ok(Parsed::Copy(m)) => {
                self.parse_to.set_map_copy(e, m);
                Ok(())
            }
            Ok(Parsed::Drain(m)) => {
                self.parse_to.set_map_drain(e, m);
                Ok(())
            }
            Err(m) => return out.fail(self.t.on_error, &m),
        };
        if let Err(m) = set {
            return out.fail(self.t.on_error, &format!("set parse_to: {m}"));
        }
        match self.finish(e) {
            Ok(()) => Next::Forward(0),
            Err(m) => out.fail(self.t.on_error, &m),
        }
    }

    /// `body` move and embedded blocks, after parse_to was set.
    pub(crate) fn finish(&self, e: &mut Entry) -> Result<(), String> {
        if let Some(b) = &self.body
            && let Some(v) = b.get(e)
        {
            e.body = v.clone();
        }
        let time = self.time.as_ref().map(|t| t.apply(e));
        let sev = self.severity.as_ref().map(|s| s.apply(e));
        let trace = self.trace.as_ref().map(|t| t.apply(e));
        let scope = self.scope_name.as_ref().map(|s| s.apply(e));
        if let Some(Err(m)) = time {
            return Err(format!("time parser: {m}"));
        }
        if let Some(Err(m)) = sev {
            return Err(format!("severity parser: {m}"));
        }
        if let Some(Err(m)) = trace {
            return Err(format!("trace parser: {m}"));
        }
        if let Some(Err(m)) = scope {
            return Err(format!("scope_name parser: {m}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_match_go() {
        assert_eq!(decode_hex(&"0a0B".into()).unwrap(), vec![10, 11]);
        assert_eq!(
            decode_hex(&"abc".into()).unwrap_err(),
            "encoding/hex: odd length hex string"
        );
        assert_eq!(
            decode_hex(&"zz".into()).unwrap_err(),
            "encoding/hex: invalid byte: U+007A 'z'"
        );
    }
}
