//! `stanza` owns log entries and the operators that turn raw log lines into structured log
//! records, as the Go collector's `pkg/stanza` does: the entry model and its field syntax
//! (`body.a`, `attributes["log.file.path"]`, `resource.x`), the small expression language
//! of `if`/`expr`/`EXPR(...)`, timestamp and severity parsing, and the operators themselves
//! (parsers, transformers, router, recombine, container). Receivers that read logs (filelog
//! today; journald, syslog, tcplog later) feed entries through an operator chain built from
//! the `operators` list of their config.

pub mod convert;
pub mod entry;
pub mod expr;
pub mod field;
mod goregex;
pub mod operator;
mod operators;
pub mod severity;
pub mod time;
pub mod value;

pub use entry::Entry;
pub use expr::{Expr, ExprString};
pub use field::{Field, Root, RootableField};
pub use operator::{BuildError, OnError, OperatorConfig, Pipeline, ProcessError};
pub use value::{Key, Map, Value};
