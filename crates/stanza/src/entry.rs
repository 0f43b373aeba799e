//! A log entry as stanza operators see it (Go `entry.Entry`): the record being built from one
//! raw line before it becomes an OTLP log record (see [`crate::convert`]).

use crate::value::{Map, Value};

/// One log entry. Timestamps are Unix nanoseconds; 0 means unset (Go's zero `time.Time`,
/// which the converter leaves out of the record).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub timestamp: i64,
    pub observed_timestamp: i64,
    pub body: Value,
    pub attributes: Map,
    pub resource: Map,
    /// Stanza severity, 0 (unspecified) ..= 24 (fatal4); same numbering as OTLP.
    pub severity: u8,
    pub severity_text: String,
    /// Raw bytes as the trace parser decoded them; empty = unset.
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub trace_flags: Vec<u8>,
    pub scope_name: String,
}

impl Entry {
    /// An entry whose body is `body`, observed at `observed_timestamp`.
    pub fn with_body(body: impl Into<Value>, observed_timestamp: i64) -> Entry {
        Entry {
            body: body.into(),
            observed_timestamp,
            ..Entry::default()
        }
    }
}
