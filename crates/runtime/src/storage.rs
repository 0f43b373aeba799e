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
/// file_storage names its files (`receiver_filelog_` for `filelog`).
pub fn client_key(kind: Kind, id: &ComponentId, name: &str) -> String {
    let mut s = format!(
        "{}_{}_{}",
        kind.as_str(),
        id.type_,
        id.name.as_deref().unwrap_or("")
    );
    if !name.is_empty() {
        s.push('_');
        s.push_str(name);
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
