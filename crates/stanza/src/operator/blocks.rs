//! The embedded `timestamp` and `severity` blocks of parsers, and the time_parser /
//! severity_parser operators built on them. Parsing itself lives in [`crate::time`] and
//! [`crate::severity`]; this module reads the field, dispatches on the value's type and
//! writes the entry.

use crate::entry::Entry;

/// Placeholder until the time parsing module lands: configs with a `timestamp` block are
/// refused at build rather than silently ignored.
#[derive(Debug, Clone)]
pub(crate) struct TimeBlock;

impl TimeBlock {
    pub(crate) fn from_config(_v: &serde_json::Value) -> Result<TimeBlock, String> {
        Err("timestamp: not supported yet".into())
    }

    pub(crate) fn apply(&self, _e: &mut Entry) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SeverityBlock;

impl SeverityBlock {
    pub(crate) fn from_config(_v: &serde_json::Value) -> Result<SeverityBlock, String> {
        Err("severity: not supported yet".into())
    }

    pub(crate) fn apply(&self, _e: &mut Entry) -> Result<(), String> {
        Ok(())
    }
}
