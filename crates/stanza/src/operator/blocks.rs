//! The embedded `timestamp` and `severity` blocks of parsers, and the time_parser /
//! severity_parser operators built on them. Parsing itself lives in [`crate::time`] and
//! [`crate::severity`]; this module reads the field, dispatches on the value's type and
//! writes the entry.

use std::sync::Arc;

use serde::Deserialize;

use super::config::decode;
use crate::entry::Entry;
use crate::field::Field;
use crate::severity::{SeverityMapping, SeverityParser};
use crate::time::TimeParser;
use crate::value::Value;

/// Keys of a `timestamp` block (and of time_parser).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct TimeKeys {
    pub parse_from: Option<Field>,
    pub layout_type: String,
    pub layout: String,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TimeBlock {
    parse_from: Field,
    parser: Arc<TimeParser>,
}

impl TimeKeys {
    pub(crate) fn build(&self) -> Result<TimeBlock, String> {
        let parse_from = self
            .parse_from
            .clone()
            .ok_or("missing required parameter 'parse_from'")?;
        let parser = TimeParser::new(&self.layout_type, &self.layout, self.location.as_deref())?;
        Ok(TimeBlock {
            parse_from,
            parser: Arc::new(parser),
        })
    }
}

impl TimeBlock {
    pub(crate) fn from_config(v: &serde_json::Value) -> Result<TimeBlock, String> {
        decode::<TimeKeys>(v)
            .map_err(|e| format!("timestamp: {e}"))?
            .build()
    }

    /// Parses the field's value into the entry's timestamp (Go `TimeParser.Parse`).
    pub(crate) fn apply(&self, e: &mut Entry) -> Result<(), String> {
        let ts = match self.parse_from.get(e) {
            None => {
                return Err(format!(
                    "log entry does not have the expected parse_from field: {{\"parse_from\":\"{}\"}}",
                    self.parse_from
                ));
            }
            Some(Value::Str(s)) => self.parser.parse_str(s),
            Some(Value::Bytes(b)) => self.parser.parse_bytes(b),
            Some(Value::Int(i)) => self.parser.parse_int(*i),
            Some(Value::Float(x)) => self.parser.parse_float(*x),
            Some(other) => Err(crate::time::type_error(other.go_type())),
        }?;
        e.timestamp = ts;
        Ok(())
    }
}

/// Keys of a `severity` block (and of severity_parser).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(default)]
pub(crate) struct SeverityKeys {
    pub parse_from: Option<Field>,
    pub preset: String,
    pub mapping: SeverityMapping,
    pub overwrite_text: bool,
}

impl SeverityKeys {
    pub(crate) fn build(&self) -> Result<SeverityBlock, String> {
        let parser = SeverityParser::new(&self.preset, &self.mapping, self.overwrite_text)?;
        let parse_from = self
            .parse_from
            .clone()
            .ok_or("missing required field 'parse_from'")?;
        Ok(SeverityBlock {
            parse_from,
            parser: Arc::new(parser),
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SeverityBlock {
    parse_from: Field,
    parser: Arc<SeverityParser>,
}

impl SeverityBlock {
    pub(crate) fn from_config(v: &serde_json::Value) -> Result<SeverityBlock, String> {
        decode::<SeverityKeys>(v)
            .map_err(|e| format!("severity: {e}"))?
            .build()
    }

    /// Sets severity and severity text from the field's value (Go `SeverityParser.Parse`).
    pub(crate) fn apply(&self, e: &mut Entry) -> Result<(), String> {
        let (sev, text) = match self.parse_from.get(e) {
            None => {
                return Err(format!(
                    "log entry does not have the expected parse_from field: {{\"parse_from\":\"{}\"}}",
                    self.parse_from
                ));
            }
            Some(Value::Str(s)) => match self.parser.parse_str(s) {
                (sev, Some(name)) => (sev, name.to_string()),
                (sev, None) => (sev, s.to_string()),
            },
            Some(Value::Bytes(b)) => {
                let s = String::from_utf8_lossy(b);
                match self.parser.parse_str(&s) {
                    (sev, Some(name)) => (sev, name.to_string()),
                    (sev, None) => (sev, s.into_owned()),
                }
            }
            Some(Value::Int(i)) => {
                let (sev, text) = self.parser.parse_int(*i);
                (sev, text.into_owned())
            }
            Some(Value::Float(x)) => {
                let (sev, text) = self.parser.parse_float(*x)?;
                (sev, text.into_owned())
            }
            Some(other) => return Err(crate::severity::type_error(other.go_type())),
        };
        e.severity = sev;
        e.severity_text = text;
        Ok(())
    }
}
