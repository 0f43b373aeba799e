//! The file-tailing engine of the `filelog` receiver, as the Go collector's
//! `pkg/stanza/fileconsumer` does it: find files by glob, identify them by the
//! fingerprint of their first bytes (so rotation by rename, copytruncate, truncation,
//! symlinks and restarts neither re-read nor skip), cut their new bytes into tokens
//! (newline or multiline patterns, trimming, `max_log_size`, force flush, encodings,
//! gzip), hand the tokens in batches to a caller's [`Emit`], and keep offsets in
//! checkpoints that the Go collector could read.
//!
//! It is synchronous and owns no thread: the receiver calls [`Manager::poll`] every
//! `poll_interval` on a thread of its own and [`Manager::stop`] at shutdown.
//!
//! ```
//! use fileconsumer::{Config, Emit, EmitError, Manager, ManagerOptions, Token, Body};
//! struct Print;
//! impl Emit for Print {
//!     fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError> {
//!         for t in batch.drain(..) {
//!             if let Body::Text(s) = t.body { println!("{s}"); }
//!         }
//!         Ok(())
//!     }
//! }
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("a.log"), "hello\nworld\n").unwrap();
//! let cfg: Config = serde_json::from_value(serde_json::json!({
//!     "include": [format!("{}/*.log", dir.path().display())],
//!     "start_at": "beginning",
//! })).unwrap();
//! let mut m = Manager::new(&cfg, Box::new(Print), ManagerOptions::default()).unwrap();
//! m.poll();
//! m.stop();
//! ```

pub mod config;
pub mod decode;
pub mod fuzzing;
pub mod matcher;
pub mod split;

mod attrs;
mod checkpoint;
mod fingerprint;
mod header;
mod manager;
mod reader;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use checkpoint::KNOWN_FILES_KEY;
pub use config::{Config, FeatureGates};
pub use manager::{Manager, ManagerOptions};

/// Attribute keys the engine sets on every token of a file.
pub mod keys {
    pub const FILE_NAME: &str = "log.file.name";
    pub const FILE_PATH: &str = "log.file.path";
    pub const FILE_NAME_RESOLVED: &str = "log.file.name_resolved";
    pub const FILE_PATH_RESOLVED: &str = "log.file.path_resolved";
    pub const FILE_OWNER_NAME: &str = "log.file.owner.name";
    pub const FILE_OWNER_GROUP_NAME: &str = "log.file.owner.group.name";
    pub const FILE_RECORD_NUMBER: &str = "log.file.record_number";
    pub const FILE_RECORD_OFFSET: &str = "log.file.record_offset";
}

/// A file's attributes (`log.file.*` plus any header-derived ones), sorted by key.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// The body of one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Decoded text (every encoding but `nop`), reference counted so that the receiver's
    /// parsers can take parts of it without copying them (`stanza::Str`).
    Text(std::sync::Arc<str>),
    /// Raw bytes (`encoding: nop`).
    Bytes(Vec<u8>),
}

/// One log entry cut from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub body: Body,
    /// The file's attributes, shared by all tokens of the file.
    pub attributes: Arc<Attributes>,
    /// `log.file.record_number` (1-based, per file) when `include_file_record_number`.
    pub record_number: Option<i64>,
    /// `log.file.record_offset` when `include_file_record_offset`: the file offset where
    /// the token's bytes start (before trimming), as Go's scanner position.
    pub record_offset: Option<i64>,
}

/// Why a batch was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmitError {}

/// Where tokens go. Batches hold tokens of one file, in file order.
pub trait Emit: Send {
    /// Takes a batch (drain it to take ownership). May block for backpressure.
    ///
    /// `Ok`: the batch is accepted and the file's offset moves past it. `Err`: the offset
    /// stays before the batch, the file is not read further in this poll and the batch is
    /// read again on the next poll (so a receiver that wants Go's "drop on error" returns
    /// `Ok` after logging; retries per `retry_on_failure` happen inside this call).
    fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError>;
}

/// Key-value storage for checkpoints (the receiver adapts its storage extension's client).
pub trait Persister: Send {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String>;
}

/// Turns header lines into file attributes (the receiver runs `header.metadata_operators`).
pub trait HeaderParser: Send {
    /// Called with each header line (decoded, without the newline) that matched
    /// `header.pattern`; adds or overwrites attributes. An error is logged and the line
    /// still counts as header.
    fn parse(&mut self, line: &str, attributes: &mut Attributes) -> Result<(), String>;
}

/// The values of Go's `otelcol_fileconsumer_open_files` and
/// `otelcol_fileconsumer_reading_files` (up-down counters), for the receiver to publish.
#[derive(Debug, Default)]
pub struct Telemetry {
    open_files: AtomicI64,
    reading_files: AtomicI64,
}

impl Telemetry {
    /// Files currently held open.
    pub fn open_files(&self) -> i64 {
        self.open_files.load(Ordering::Relaxed)
    }
    /// Files being read right now.
    pub fn reading_files(&self) -> i64 {
        self.reading_files.load(Ordering::Relaxed)
    }
    pub(crate) fn add_open(&self, n: i64) {
        self.open_files.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_reading(&self, n: i64) {
        self.reading_files.fetch_add(n, Ordering::Relaxed);
    }
}
