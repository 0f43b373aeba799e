//! Storage extensions: where components keep state that must survive a restart (the
//! filelog receiver's file offsets, later the exporters' persistent sending queues).
//!
//! As in the Go collector (`extension/xextension/storage`), a storage extension hands each
//! component its own key-value [`StorageClient`], named by the component's kind, id and an
//! optional name; keys of different clients never collide. The calls are synchronous: the
//! users run them on blocking threads (file readers) or in `spawn_blocking`, and an embedded
//! store answers from the page cache in microseconds.
//!
//! ```
//! use runtime::storage::{MemoryStorage, StorageExtension, Op};
//! use runtime::Kind;
//! let ext = MemoryStorage::default();
//! let id = config::ComponentId::parse("filelog").unwrap();
//! let client = ext.client(Kind::Receiver, &id, "").unwrap();
//! client.set("file_input.knownFiles", b"0".to_vec()).unwrap();
//! assert_eq!(client.get("file_input.knownFiles").unwrap().as_deref(), Some(&b"0"[..]));
//! let got = client.batch(vec![Op::Delete("file_input.knownFiles".into()), Op::Get("file_input.knownFiles".into())]).unwrap();
//! assert_eq!(got, vec![None, None]);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use config::ComponentId;

use crate::component::{Host, Kind};

/// A failed storage operation (I/O error, corrupt file, closed client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

impl StorageError {
    pub fn new(message: impl Into<String>) -> Self {
        StorageError(message.into())
    }
}

/// One operation of a [`StorageClient::batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Get(String),
    Set(String, Vec<u8>),
    Delete(String),
}

/// A component's own key-value store.
pub trait StorageClient: Send + Sync {
    /// The value of `key`, `None` if it was never set or was deleted.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError>;
    /// Deleting a missing key is not an error.
    fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Runs the operations in order, atomically (all of them are durable together or none
    /// is). Returns one entry per operation: the value for a `Get`, `None` for the others.
    fn batch(&self, ops: Vec<Op>) -> Result<Vec<Option<Vec<u8>>>, StorageError>;
    /// Releases the client; later calls fail.
    fn close(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// An extension that hands out storage clients.
pub trait StorageExtension: Send + Sync {
    /// The client of the component `kind`/`id`; `name` separates several clients of one
    /// component (Go's `GetClient(ctx, kind, id, name)`).
    fn client(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<Arc<dyn StorageClient>, StorageError>;

    /// Opens the persistent sending queue of `kind`/`id` named `name` (the signal) and reads
    /// back what the last run left. Blocking: callers run it on a blocking thread.
    ///
    /// A queue is not kept in the key-value client: it is written once, read once in order
    /// and deleted in order, which an append-only log does with one write per group of
    /// requests, and a damaged log still yields its intact records (see the `spool` crate).
    fn open_queue(
        &self,
        _kind: Kind,
        _id: &ComponentId,
        _name: &str,
    ) -> Result<OpenedQueue, StorageError> {
        Err(StorageError::new(
            "this storage extension cannot hold a persistent sending queue",
        ))
    }
}

/// The log a persistent sending queue writes its requests to: [`spool::Spool`], or a test's
/// wrapper around it.
pub trait QueueLog: Send {
    /// Appends (tag, payload) records in one write; returns the first one's index, the
    /// others follow. On error nothing was appended.
    fn append(&mut self, records: &[(u8, &[u8])]) -> std::io::Result<u64>;
    /// Marks records done: they are never read back.
    fn release(&mut self, indices: &[u64]) -> std::io::Result<()>;
    /// Appends wait for the disk (`fsync`), so the queue runs them on a blocking thread;
    /// otherwise they only reach the page cache and run in place.
    fn slow_appends(&self) -> bool;
}

impl QueueLog for spool::Spool {
    fn append(&mut self, records: &[(u8, &[u8])]) -> std::io::Result<u64> {
        spool::Spool::append(self, records)
    }
    fn release(&mut self, indices: &[u64]) -> std::io::Result<()> {
        spool::Spool::release(self, indices)
    }
    fn slow_appends(&self) -> bool {
        self.options().fsync
    }
}

/// A queue log just opened, with what it held.
pub struct OpenedQueue {
    pub log: Box<dyn QueueLog>,
    pub recovery: spool::Recovery,
}

/// The client a component configured with `storage: <extension id>` should use: the Go
/// collector's lookup, with its error texts.
pub fn client_from_host(
    host: &Host,
    storage: &ComponentId,
    kind: Kind,
    owner: &ComponentId,
    name: &str,
) -> Result<Arc<dyn StorageClient>, String> {
    let ext = host
        .extension(storage)
        .ok_or_else(|| format!("storage client: storage extension '{storage}' not found"))?;
    let storage_ext = ext
        .as_storage()
        .ok_or_else(|| format!("storage client: non-storage extension '{storage}' found"))?;
    storage_ext
        .client(kind, owner, name)
        .map_err(|e| format!("storage client: {e}"))
}

/// The name a client's data is kept under: `<kind>_<type>_<name>[_<client name>]`, as Go's
/// file_storage names its files (`receiver_filelog_` for `filelog`, `exporter_otlp_logs_traces`
/// for `otlp/logs` with client name `traces`). Every character other than `A-Z a-z 0-9
/// . - _` is written `~` and its Unicode number in (at least four) upper-case hex digits, `~`
/// itself included, so an escaped name never equals a name that needed no escaping:
/// `filelog/logs/container` is `receiver_filelog_logs~002Fcontainer`.
pub fn client_key(kind: Kind, id: &ComponentId, name: &str) -> String {
    let mut raw = format!(
        "{}_{}_{}",
        kind.as_str(),
        id.type_,
        id.name.as_deref().unwrap_or("")
    );
    if !name.is_empty() {
        raw.push('_');
        raw.push_str(name);
    }
    let mut s = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            s.push(c);
        } else {
            // Go's `fmt.Sprintf("~%04X", rune)`.
            use std::fmt::Write as _;
            let _ = write!(s, "~{:04X}", c as u32);
        }
    }
    s
}

/// An in-memory storage extension: state lasts as long as the process. For tests, and for
/// components that want the storage API without a directory.
#[derive(Default, Clone)]
pub struct MemoryStorage {
    clients: Arc<Mutex<HashMap<String, Arc<MemoryClient>>>>,
}

impl StorageExtension for MemoryStorage {
    fn client(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<Arc<dyn StorageClient>, StorageError> {
        let key = client_key(kind, id, name);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let c = clients.entry(key).or_default().clone();
        Ok(c)
    }
}

/// One in-memory client.
#[derive(Default)]
pub struct MemoryClient {
    data: Mutex<HashMap<String, Vec<u8>>>,
}

impl StorageClient for MemoryClient {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.lock().get(key).cloned())
    }

    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.lock().insert(key.to_string(), value);
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.lock().remove(key);
        Ok(())
    }

    fn batch(&self, ops: Vec<Op>) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        let mut data = self.lock();
        Ok(ops
            .into_iter()
            .map(|op| match op {
                Op::Get(k) => data.get(&k).cloned(),
                Op::Set(k, v) => {
                    data.insert(k, v);
                    None
                }
                Op::Delete(k) => {
                    data.remove(&k);
                    None
                }
            })
            .collect())
    }
}

impl MemoryClient {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_key_is_go_file_storage_file_name() {
        // Built by hand: the client name (and, in Go, a component name) may hold characters
        // that `ComponentId::parse` refuses.
        let id = |s: &str| {
            let (type_, name) = match s.split_once('/') {
                Some((t, n)) => (t, Some(n.to_string())),
                None => (s, None),
            };
            ComponentId {
                type_: type_.to_string(),
                name,
            }
        };
        let cases = [
            (Kind::Receiver, "filelog", "", "receiver_filelog_"),
            (Kind::Receiver, "filelog/logs", "", "receiver_filelog_logs"),
            (Kind::Exporter, "otlp/x", "traces", "exporter_otlp_x_traces"),
            (
                Kind::Exporter,
                "otlp_http",
                "logs",
                "exporter_otlp_http__logs",
            ),
            // Go's README example, and `~` is escaped too.
            (
                Kind::Receiver,
                "filelog/logs/container",
                "",
                "receiver_filelog_logs~002Fcontainer",
            ),
            (
                Kind::Receiver,
                "filelog/a~b c",
                "",
                "receiver_filelog_a~007Eb~0020c",
            ),
            (Kind::Extension, "x/é", "", "extension_x_~00E9"),
            (Kind::Processor, "p/😀", "", "processor_p_~1F600"),
        ];
        for (kind, s, name, want) in cases {
            assert_eq!(client_key(kind, &id(s), name), want, "{s} {name}");
        }
    }
}
