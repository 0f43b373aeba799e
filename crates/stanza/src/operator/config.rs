//! The `operators:` list as configs carry it: each item a map with `type`, optional `id`
//! and `output`, and the keys of its type. Decoding follows Go's `operator.Config`:
//! "missing required field 'type'", "unsupported type 'x'", "unmarshal to <type>: ..." and
//! unknown keys ignored (Go decodes operators with `WithIgnoreUnused`). Checks that need
//! building (regexes, expressions, required keys) happen in [`super::Pipeline::build`].

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, de};

use super::Operator;
use crate::operators;

/// Go's four `on_error` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    #[default]
    Send,
    SendQuiet,
    Drop,
    DropQuiet,
}

impl OnError {
    pub fn parse(s: &str) -> Result<OnError, String> {
        Ok(match s {
            "send" => OnError::Send,
            "send_quiet" => OnError::SendQuiet,
            "drop" => OnError::Drop,
            "drop_quiet" => OnError::DropQuiet,
            other => {
                return Err(format!(
                    "operator config has an invalid `on_error` field.: {{\"on_error\":\"{other}\"}}"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Send => "send",
            OnError::SendQuiet => "send_quiet",
            OnError::Drop => "drop",
            OnError::DropQuiet => "drop_quiet",
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, OnError::Send | OnError::SendQuiet)
    }

    pub fn is_quiet(self) -> bool {
        matches!(self, OnError::SendQuiet | OnError::DropQuiet)
    }
}

/// The decoded keys of one operator type, able to build the operator.
pub(crate) trait Spec: Send + Sync + fmt::Debug {
    fn build(&self, id: &str) -> Result<Box<dyn Operator>, String>;
}

type SpecDecoder = fn(&serde_json::Value) -> Result<Arc<dyn Spec>, String>;

/// One item of an `operators:` list.
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// `type`.
    pub kind: String,
    /// `id` as written (defaults to the type, then de-duplicated at build).
    pub id: Option<String>,
    /// `output` as written (a string or a list); empty = the next operator.
    pub output: Vec<String>,
    spec: Arc<dyn Spec>,
}

impl OperatorConfig {
    /// Decodes one item from a JSON-shaped value (tests, other receivers).
    pub fn from_json(v: &serde_json::Value) -> Result<OperatorConfig, String> {
        let obj = match v {
            serde_json::Value::Object(o) => o,
            serde_json::Value::Null => return Err("missing required field 'type'".into()),
            other => {
                return Err(format!(
                    "failed to unmarshal yaml to base config: expected a map, got {other}"
                ));
            }
        };
        let kind = match obj.get("type") {
            None => return Err("missing required field 'type'".into()),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(format!(
                    "non-string type {} for field 'type'",
                    json_go_type(other)
                ));
            }
        };
        let Some(decoder) = lookup(&kind) else {
            return Err(format!("unsupported type '{kind}'"));
        };
        let unmarshal = |m: String| format!("unmarshal to {kind}: {m}");
        let id = match obj.get("id") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.is_empty() => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(unmarshal(format!("'id' expected a string, got {other}"))),
        };
        let output = match obj.get("output") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    other => Err(unmarshal(format!("'output' expected strings, got {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(unmarshal(format!(
                    "'output' expected a string or a list of strings, got {other}"
                )));
            }
        };
        let spec = decoder(v).map_err(unmarshal)?;
        Ok(OperatorConfig {
            kind,
            id,
            output,
            spec,
        })
    }

    /// Parses one item from YAML text (tests and tools).
    pub fn list_from_yaml(text: &str) -> Result<Vec<OperatorConfig>, String> {
        let v: serde_json::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        Vec::<OperatorConfig>::deserialize(v).map_err(|e| e.to_string())
    }

    pub(crate) fn build(&self, id: &str) -> Result<Box<dyn Operator>, String> {
        self.spec.build(id)
    }

    /// The id the operator will have before de-duplication.
    pub fn declared_id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.kind)
    }
}

impl<'de> Deserialize<'de> for OperatorConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OperatorConfig, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        OperatorConfig::from_json(&v).map_err(de::Error::custom)
    }
}

fn json_go_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "<nil>",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_f64() => "float64",
        serde_json::Value::Number(_) => "int",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "[]interface {}",
        serde_json::Value::Object(_) => "map[string]interface {}",
    }
}

/// Decodes typed keys from an operator's map; unknown keys are ignored as in Go. An error
/// names its key as mapstructure does (`'from' unrecognized prefix`).
pub(crate) fn decode<T: DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path.is_empty() || path == "." || path == "?" {
            inner
        } else {
            format!("'{path}' {inner}")
        }
    })
}

fn spec<T: Spec + DeserializeOwned + 'static>(
    v: &serde_json::Value,
) -> Result<Arc<dyn Spec>, String> {
    Ok(Arc::new(decode::<T>(v)?))
}

fn lookup(kind: &str) -> Option<SpecDecoder> {
    Some(match kind {
        "router" => spec::<operators::router::Config>,
        "regex_parser" => spec::<operators::regex::Config>,
        "regex_replace" => spec::<operators::regex_replace::Config>,
        "json_parser" => spec::<operators::json::Config>,
        "json_array_parser" => spec::<operators::json_array::Config>,
        "move" => spec::<operators::transform::MoveConfig>,
        "copy" => spec::<operators::transform::CopyConfig>,
        "add" => spec::<operators::transform::AddConfig>,
        "remove" => spec::<operators::transform::RemoveConfig>,
        "retain" => spec::<operators::transform::RetainConfig>,
        "flatten" => spec::<operators::transform::FlattenConfig>,
        "noop" => spec::<operators::transform::NoopConfig>,
        "assign_keys" => spec::<operators::assign_keys::Config>,
        "filter" => spec::<operators::transform::FilterConfig>,
        "recombine" => spec::<operators::recombine::Config>,
        "key_value_parser" => spec::<operators::text::KeyValueConfig>,
        "csv_parser" => spec::<operators::text::CsvConfig>,
        "uri_parser" => spec::<operators::uri::Config>,
        "syslog_parser" => spec::<operators::syslog::Config>,
        "unquote" => spec::<operators::text::UnquoteConfig>,
        "container" => spec::<operators::container::Config>,
        "severity_parser" => spec::<operators::standalone::SeverityParserConfig>,
        "time_parser" => spec::<operators::standalone::TimeParserConfig>,
        "trace_parser" => spec::<operators::standalone::TraceParserConfig>,
        "scope_name_parser" => spec::<operators::standalone::ScopeNameParserConfig>,
        _ => return None,
    })
}

/// Go's `deduplicateIDs`: operators whose id equals their type get `type1`, `type2`, ...
/// skipping ids already taken (including its quirk of not re-checking the first item
/// after a collision).
pub(crate) fn dedup_ids(configs: &[OperatorConfig]) -> Vec<String> {
    let mut ids: Vec<String> = configs
        .iter()
        .map(|c| c.declared_id().to_string())
        .collect();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for i in 0..configs.len() {
        let kind = &configs[i].kind;
        if &ids[i] != kind {
            continue;
        }
        let n = counts.entry(kind.clone()).or_insert(0);
        if *n == 0 {
            *n += 1;
            continue;
        }
        let mut new_id = format!("{kind}{n}");
        let mut j = 0;
        while j < ids.len() {
            if ids[j] == new_id {
                // Go sets j = 0 and the loop's j++ makes the rescan start at 1.
                j = 0;
                *n += 1;
                new_id = format!("{kind}{n}");
            }
            j += 1;
        }
        *n += 1;
        ids[i] = new_id;
    }
    ids
}
