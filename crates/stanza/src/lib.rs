//! `stanza` owns log entries and the operators that turn raw log lines into structured log
//! records, as the Go collector's `pkg/stanza` does: the entry model and its field syntax
//! (`body.a`, `attributes["log.file.path"]`, `resource.x`), the small expression language
//! of `if`/`expr`/`EXPR(...)`, timestamp and severity parsing, and the operators themselves
//! (parsers, transformers, router, recombine, container). Receivers that read logs (filelog
//! today; journald, syslog, tcplog later) feed entries through an operator chain built from
//! the `operators` list of their config.
pub mod severity;
pub mod time;
