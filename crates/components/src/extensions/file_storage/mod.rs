//! `file_storage`: the contrib storage extension. Each component that asks (the filelog
//! receiver for its checkpoints, an exporter's persistent sending queue) gets its own
//! key-value [`StorageClient`] in its own file under `directory`, named as Go names it
//! (`receiver_filelog_`, `exporter_otlp__traces`, see [`runtime::storage::client_key`]).
//! Persistent sending queues get a directory next to them instead (`exporter_otlp__traces.queue`,
//! a `spool` log: see [`runtime::storage::StorageExtension::open_queue`] for why).
//!
//! As in Go: the directory must exist unless `create_directory` (made with
//! `directory_permissions`, at start); `compaction.cleanup_on_start` sweeps Go's `tempdb*`
//! leftovers; a file name too long for the file system is replaced by the SHA-256 of the
//! name in hex; `recreate` moves a corrupt file aside. Beyond Go, start checks that the
//! directory is writable, so a read-only mount fails the start instead of the first
//! component that asks. The engine and what the compaction keys map to: [`store`].

pub mod config;
pub mod store;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use ::config::{ComponentId, ConfigError, Value};
use async_trait::async_trait;
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::storage::{OpenedQueue, StorageClient, StorageError, StorageExtension, client_key};
use runtime::{Component, Extension, Host, Kind};

pub use self::config::Config;
use self::config::{go_errno, path_error};
use self::store::{FileClient, StoreOptions};

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "file_storage"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(FileStorage::new(set.id.to_string(), cfg.clone())))
    }
}

pub struct FileStorage {
    id: String,
    cfg: Config,
    /// Clients handed out, closed at shutdown if their component did not.
    clients: Mutex<Vec<Weak<FileClient>>>,
}

impl FileStorage {
    pub fn new(id: String, cfg: Config) -> Self {
        FileStorage {
            id,
            cfg,
            clients: Mutex::new(Vec::new()),
        }
    }

    fn options(&self) -> StoreOptions {
        StoreOptions {
            fsync: self.cfg.fsync,
            timeout: self.cfg.timeout.0,
            recreate: self.cfg.recreate,
            compaction: self.cfg.compaction.clone(),
        }
    }

    /// The file a client's data is kept in.
    pub fn client_path(&self, kind: Kind, id: &ComponentId, name: &str) -> PathBuf {
        Path::new(&self.cfg.directory).join(client_key(kind, id, name))
    }

    /// Opens the client's file: the one named after the client, or when the file system
    /// refuses so long a name, the one named by its hash (as Go falls back).
    pub fn open_client(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<Arc<FileClient>, String> {
        let key = client_key(kind, id, name);
        let path = Path::new(&self.cfg.directory).join(&key);
        let client = match FileClient::open(path.clone(), self.options()) {
            Err(e) if name_too_long(&path) => {
                let hashed = Path::new(&self.cfg.directory).join(sha256_hex(&key));
                tracing::warn!(extension = %self.id, original_file = %path.display(), component = %key, hashed_file_name = %hashed.display(), "filename too long, using hashed filename instead");
                FileClient::open(hashed, self.options()).map_err(|e2| format!("{e}; {e2}"))?
            }
            other => other?,
        };
        let client = Arc::new(client);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|w| w.strong_count() > 0);
        clients.push(Arc::downgrade(&client));
        Ok(client)
    }
}

#[async_trait]
impl Component for FileStorage {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        let dirs: Vec<String> = self
            .cfg
            .directories()
            .into_iter()
            .map(String::from)
            .collect();
        if self.cfg.create_directory {
            let mode = self.cfg.directory_mode().unwrap_or(0o750);
            for dir in &dirs {
                create_dir(Path::new(dir), mode)?;
            }
        }
        if self.cfg.compaction.cleanup_on_start {
            cleanup(&self.id, Path::new(&self.cfg.compaction.directory));
        }
        check_writable(Path::new(&self.cfg.directory))
    }

    async fn shutdown(&self) -> Result<(), String> {
        let clients = std::mem::take(&mut *self.clients.lock().unwrap_or_else(|p| p.into_inner()));
        for c in clients.iter().filter_map(Weak::upgrade) {
            let _ = c.close();
        }
        Ok(())
    }
}

impl Extension for FileStorage {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_storage(&self) -> Option<&dyn StorageExtension> {
        Some(self)
    }
}

impl StorageExtension for FileStorage {
    fn client(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<Arc<dyn StorageClient>, StorageError> {
        let c = self
            .open_client(kind, id, name)
            .map_err(StorageError::new)?;
        Ok(c)
    }

    /// The queue lives in the directory `<client file name>.queue` (the hash of the name
    /// when too long, as for client files), written with this extension's `fsync`.
    fn open_queue(
        &self,
        kind: Kind,
        id: &ComponentId,
        name: &str,
    ) -> Result<OpenedQueue, StorageError> {
        let key = client_key(kind, id, name);
        // NAME_MAX is 255 bytes on every file system the collector runs on.
        let base = if key.len() + ".queue".len() > 255 {
            sha256_hex(&key)
        } else {
            key
        };
        let dir = Path::new(&self.cfg.directory).join(format!("{base}.queue"));
        let opts = spool::Options {
            fsync: self.cfg.fsync,
            ..spool::Options::default()
        };
        let (log, recovery) =
            spool::Spool::open(&dir, opts).map_err(|e| StorageError::new(e.to_string()))?;
        Ok(OpenedQueue {
            log: Box::new(log),
            recovery,
        })
    }
}

/// `os.MkdirAll(dir, mode)`: missing parents too, the umask applied.
fn create_dir(dir: &Path, mode: u32) -> Result<(), String> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, mode);
    #[cfg(not(unix))]
    let _ = mode;
    b.create(dir).map_err(|e| path_error("mkdir", dir, &e))
}

/// Removes Go's compaction leftovers (`tempdb*`) from `dir`; failures are logged, as in Go.
fn cleanup(id: &str, dir: &Path) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::info!(extension = %id, error = %path_error("open", dir, &e), "cleanup error listing temporary files");
            return;
        }
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("tempdb") {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::debug!(extension = %id, deleted_file = %path.display(), "cleanup")
            }
            Err(e) => {
                tracing::info!(extension = %id, error = %path_error("remove", &path, &e), "cleanup errors")
            }
        }
    }
}

/// Creates and removes a probe file, so that a directory the collector cannot write to fails
/// the start, naming the directory, rather than the first component that asks for storage.
fn check_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".file_storage_probe_{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!(
            "directory {} is not writable: {}",
            dir.display(),
            go_errno(&e)
        )),
    }
}

/// Whether the file system refuses `path`'s last component as too long (ENAMETOOLONG).
fn name_too_long(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Err(e) => e.kind() == std::io::ErrorKind::InvalidFilename,
        Ok(_) => false,
    }
}

fn sha256_hex(s: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
