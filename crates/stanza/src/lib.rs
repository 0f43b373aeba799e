//! `stanza` owns log entries and the operators that turn raw log lines into structured log
//! records, as the Go collector's `pkg/stanza` does: the entry model and its field syntax
//! (`body.a`, `attributes["log.file.path"]`, `resource.x`), the small expression language
//! of `if`/`expr`/`EXPR(...)`, timestamp and severity parsing, and the operators themselves
//! (parsers, transformers, router, recombine, container) and the network inputs' framing
//! ([`input`]). Receivers that read logs (file_log, syslog, tcp_log, udp_log) feed entries through an operator chain built from
//! the `operators` list of their config.
//!
//! ```
//! use stanza::{Entry, OperatorConfig, Pipeline, Value};
//!
//! let ops = OperatorConfig::list_from_yaml(r#"
//! - type: regex_parser
//!   regex: '^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$'
//!   timestamp: { parse_from: attributes.time, layout: '%Y-%m-%dT%H:%M:%S.%LZ' }
//! - type: move
//!   from: attributes.log
//!   to: body
//! "#).unwrap();
//! let mut pipeline = Pipeline::build(&ops).unwrap();
//! let mut out = Vec::new();
//! pipeline.process(Entry::with_body("2024-05-06T07:08:09.123Z stdout F hello", 0), &mut |e| out.push(e));
//! assert_eq!(out[0].body, Value::from("hello"));
//! assert_eq!(out[0].timestamp, 1_714_979_289_123_000_000);
//! let request = stanza::convert::to_request(out);
//! assert_eq!(request.resource_logs.len(), 1);
//! ```

pub mod convert;
pub mod entry;
pub mod expr;
pub mod field;
pub mod fuzzing;
pub mod input;
pub mod operator;
mod operators;
pub mod severity;
pub mod time;
pub mod value;

pub use entry::Entry;
pub use expr::{Expr, ExprString};
pub use field::{Field, Root, RootableField};
pub use operator::{BuildError, OnError, OperatorConfig, Pipeline, ProcessError};
pub use value::{Key, Map, Str, Value};
