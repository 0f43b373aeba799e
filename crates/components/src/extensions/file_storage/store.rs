//! One client's database file: a redb key-value table behind the [`StorageClient`] API, with
//! the open-time lock wait, corruption detection (refuse, or move aside with `recreate`),
//! durability per `fsync`, and compaction.
//!
//! Durability: every call is one redb transaction committed with `Durability::Immediate`,
//! which writes the changed pages, then flips to a checksummed commit slot. redb calls
//! `sync_data` there; with `fsync: false` our backend makes that a no-op, so a commit is in
//! the OS page cache when the call returns. That is bbolt's `NoSync`: it survives the process
//! being killed (the file reopens at the last commit), not a power loss (the last commits may
//! be gone; a torn file is found by the integrity check at open).
//!
//! Compaction: redb compacts in place (`Database::compact`: live pages are moved down and
//! the file is truncated), so Go's `compaction.directory` and `max_transaction_size`, which
//! drive bbolt's copy into a temporary file, have nothing to map to.

use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::backends::FileBackend;
use redb::{
    BackendError, Database, DatabaseError, Durability, ReadableDatabase, ReadableTable,
    StorageBackend, TableDefinition,
};
use runtime::storage::{Op, StorageClient, StorageError};

use super::config::{CompactionConfig, path_error};

/// The one table, named as Go's bbolt bucket.
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("default");

/// redb's own page cache per client; the OS page cache holds the rest. Checkpoints and queue
/// items are read back rarely, so a large cache only costs memory.
const CACHE_BYTES: usize = 4 << 20;

const MIB: u64 = 1 << 20;

/// How a client's file is opened and written.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub fsync: bool,
    pub timeout: Duration,
    pub recreate: bool,
    pub compaction: CompactionConfig,
}

/// Why a database file could not be opened.
#[derive(Debug)]
enum OpenError {
    /// The file is not a database this engine can read (damaged, truncated, or another
    /// format); the text says what was found.
    Corrupt(String),
    Other(String),
}

/// `FileBackend` with `sync_data` made a no-op when `fsync` is off.
#[derive(Debug)]
struct Backend {
    inner: FileBackend,
    fsync: bool,
    /// fsyncs done, for tests to tell `fsync: true` from `false`.
    syncs: Arc<AtomicU64>,
}

impl StorageBackend for Backend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        if self.fsync {
            self.syncs.fetch_add(1, Ordering::Relaxed);
            self.inner.sync_data()
        } else {
            Ok(())
        }
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.inner.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.inner.close()
    }
    fn try_lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(s, e)
    }
    fn try_lock_shared_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(s, e)
    }
    fn lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(s, e)
    }
    fn lock_shared_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(s, e)
    }
    fn unlock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(s, e)
    }
    fn query_lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(s, e)
    }
}

/// Rebound compaction state (Go's `compactionNeeded` flag and check clock).
#[derive(Debug)]
struct Rebound {
    needed: bool,
    next_check: Instant,
}

/// One component's key-value store in one file.
pub struct FileClient {
    path: PathBuf,
    opts: StoreOptions,
    /// `None` once closed. Calls share the read side (redb orders writers itself);
    /// compaction and close take the write side, so no transaction is live then.
    db: RwLock<Option<Database>>,
    rebound: Mutex<Rebound>,
    syncs: Arc<AtomicU64>,
}

impl std::fmt::Debug for FileClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileClient")
            .field("path", &self.path)
            .finish()
    }
}

impl FileClient {
    /// Opens (creating if needed) the database at `path`; a corrupt file is refused, or with
    /// `recreate` renamed aside and replaced by an empty one. Compacts when
    /// `compaction.on_start` is set.
    pub fn open(path: PathBuf, opts: StoreOptions) -> Result<FileClient, String> {
        let syncs = Arc::new(AtomicU64::new(0));
        let db = match open_db(&path, &opts, &syncs) {
            Ok(db) => db,
            Err(OpenError::Other(e)) => return Err(e),
            Err(OpenError::Corrupt(why)) if !opts.recreate => {
                tracing::error!(file = %path.display(), reason = %why, "file_storage: database file is corrupt; refusing to start (move it aside, or set `recreate: true` to do so automatically)");
                return Err(format!(
                    "database file {} is corrupt ({why}); move it aside, or set `recreate: true` to have it renamed and a new one created",
                    path.display()
                ));
            }
            Err(OpenError::Corrupt(why)) => {
                tracing::warn!(file = %path.display(), reason = %why, "file_storage: database corruption detected, recreating database file");
                let backup = backup_name(&path);
                std::fs::rename(&path, &backup).map_err(|e| {
                    format!(
                        "rename corrupt database {} -> {} (please remove manually): {}",
                        path.display(),
                        backup.display(),
                        super::config::go_errno(&e)
                    )
                })?;
                tracing::warn!(original = %path.display(), backup = %backup.display(), "file_storage: renamed corrupt database; a fresh database will be created");
                open_db(&path, &opts, &syncs).map_err(|e| match e {
                    OpenError::Corrupt(why) | OpenError::Other(why) => {
                        format!("failed to create fresh database after corruption recovery: {why}")
                    }
                })?
            }
        };
        let client = FileClient {
            rebound: Mutex::new(Rebound {
                needed: false,
                next_check: Instant::now() + opts.compaction.check_interval.0,
            }),
            path,
            opts,
            db: RwLock::new(Some(db)),
            syncs,
        };
        if client.opts.compaction.on_start
            && let Err(e) = client.compact()
        {
            tracing::error!(file = %client.path.display(), error = %e, "compaction on start failed");
        }
        Ok(client)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times the file was fsynced (always 0 with `fsync: false`).
    pub fn fsyncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Compacts the file now: live pages are moved to its start and the file is shrunk.
    pub fn compact(&self) -> Result<(), String> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        let db = guard.as_mut().ok_or("database not open")?;
        let before = file_len(&self.path);
        let res = catch_unwind(AssertUnwindSafe(|| {
            // Each pass moves what it can; redb documents repeating until nothing moves.
            for _ in 0..64 {
                if !db.compact()? {
                    break;
                }
            }
            Ok::<(), redb::CompactionError>(())
        }));
        match res {
            Ok(Ok(())) => {
                tracing::info!(file = %self.path.display(), size_before = before, size_after = file_len(&self.path), "file_storage: compaction finished");
                Ok(())
            }
            Ok(Err(e)) => Err(format!("compaction of {}: {e}", self.path.display())),
            Err(p) => Err(format!(
                "compaction of {}: engine panicked: {}",
                self.path.display(),
                panic_text(&p)
            )),
        }
    }

    /// Runs `f` on the open database, turning an engine panic (a file damaged while open)
    /// into an error.
    fn with_db<R>(
        &self,
        f: impl FnOnce(&Database) -> Result<R, redb::Error>,
    ) -> Result<R, StorageError> {
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        let db = guard
            .as_ref()
            .ok_or_else(|| StorageError::new("database not open"))?;
        match catch_unwind(AssertUnwindSafe(|| f(db))) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(StorageError::new(format!("{}: {e}", self.path.display()))),
            Err(p) => Err(StorageError::new(format!(
                "{}: storage engine failed (file damaged while open?): {}",
                self.path.display(),
                panic_text(&p)
            ))),
        }
    }

    /// One write transaction; afterwards, the rebound compaction check when it is due.
    fn write<R>(
        &self,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<R, redb::Error>,
    ) -> Result<R, StorageError> {
        let check = self.opts.compaction.on_rebound && self.rebound_check_due();
        let (r, stats) = self.with_db(|db| {
            let mut tx = db.begin_write()?;
            tx.set_durability(Durability::Immediate)?;
            let r = {
                let mut table = tx.open_table(TABLE)?;
                f(&mut table)?
            };
            let stats = if check { Some(tx.stats()?) } else { None };
            tx.commit()?;
            Ok((r, stats))
        })?;
        if let Some(stats) = stats {
            let live = stats.allocated_pages() * stats.page_size() as u64;
            self.rebound(file_len(&self.path), live);
        }
        Ok(r)
    }

    fn rebound_check_due(&self) -> bool {
        let mut rb = self.rebound.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now < rb.next_check {
            return false;
        }
        rb.next_check = now + self.opts.compaction.check_interval.0;
        true
    }

    /// Go's rebound rule: a file grown past the needed threshold marks compaction as
    /// needed; once marked, live data below the trigger threshold compacts.
    fn rebound(&self, total: u64, live: u64) {
        let c = &self.opts.compaction;
        let needed_at = u64::try_from(c.rebound_needed_threshold_mib).unwrap_or(0) * MIB;
        let trigger_at = u64::try_from(c.rebound_trigger_threshold_mib).unwrap_or(0) * MIB;
        let run = {
            let mut rb = self.rebound.lock().unwrap_or_else(|p| p.into_inner());
            if total > needed_at {
                rb.needed = true;
            }
            let run = rb.needed && live < trigger_at;
            if run {
                rb.needed = false;
            }
            run
        };
        if run {
            tracing::info!(file = %self.path.display(), total_bytes = total, live_bytes = live, "file_storage: starting rebound compaction");
            if let Err(e) = self.compact() {
                tracing::error!(file = %self.path.display(), error = %e, "rebound compaction failed");
            }
        }
    }
}

impl StorageClient for FileClient {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.with_db(|db| {
            let tx = db.begin_read()?;
            let table = tx.open_table(TABLE)?;
            Ok(table.get(key)?.map(|v| v.value().to_vec()))
        })
    }

    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        if key.is_empty() {
            return Err(StorageError::new("key required"));
        }
        self.write(|t| {
            t.insert(key, value.as_slice())?;
            Ok(())
        })
    }

    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.write(|t| {
            t.remove(key)?;
            Ok(())
        })
    }

    fn batch(&self, ops: Vec<Op>) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        if ops
            .iter()
            .any(|op| matches!(op, Op::Set(k, _) if k.is_empty()))
        {
            return Err(StorageError::new("key required"));
        }
        if ops.iter().all(|op| matches!(op, Op::Get(_))) {
            // Reads only: a read transaction, as Go's `db.View`.
            return self.with_db(|db| {
                let tx = db.begin_read()?;
                let table = tx.open_table(TABLE)?;
                let mut out = Vec::with_capacity(ops.len());
                for op in &ops {
                    if let Op::Get(k) = op {
                        out.push(table.get(k.as_str())?.map(|v| v.value().to_vec()));
                    }
                }
                Ok(out)
            });
        }
        self.write(|t| {
            let mut out = Vec::with_capacity(ops.len());
            for op in &ops {
                out.push(match op {
                    Op::Get(k) => t.get(k.as_str())?.map(|v| v.value().to_vec()),
                    Op::Set(k, v) => {
                        t.insert(k.as_str(), v.as_slice())?;
                        None
                    }
                    Op::Delete(k) => {
                        t.remove(k.as_str())?;
                        None
                    }
                });
            }
            Ok(out)
        })
    }

    /// Closes the file (releasing its lock); later calls fail with `database not open`.
    fn close(&self) -> Result<(), StorageError> {
        let db = self.db.write().unwrap_or_else(|p| p.into_inner()).take();
        drop(db);
        Ok(())
    }
}

/// Opens or creates the database, waiting up to `timeout` for a lock held elsewhere.
fn open_db(
    path: &Path,
    opts: &StoreOptions,
    syncs: &Arc<AtomicU64>,
) -> Result<Database, OpenError> {
    if let Some(why) = foreign_format(path) {
        return Err(OpenError::Corrupt(why));
    }
    let deadline = Instant::now() + opts.timeout;
    loop {
        let file = open_file(path).map_err(|e| OpenError::Other(path_error("open", path, &e)))?;
        let backend = Backend {
            inner: FileBackend::new(file)
                .map_err(|e| OpenError::Other(format!("open {}: {e}", path.display())))?,
            fsync: opts.fsync,
            syncs: syncs.clone(),
        };
        let mut builder = Database::builder();
        // The check reads every page of the committed trees and verifies its checksum: a
        // damaged file is refused here instead of failing (or panicking) on a later read.
        builder
            .set_cache_size(CACHE_BYTES)
            .set_check_integrity_on_open(true);
        let opened = catch_unwind(AssertUnwindSafe(|| builder.create_with_backend(backend)));
        let err = match opened {
            Ok(Ok(db)) => return init_table(db, path),
            Ok(Err(e)) => e,
            Err(p) => return Err(OpenError::Corrupt(panic_text(&p))),
        };
        match err {
            DatabaseError::DatabaseAlreadyOpen => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(OpenError::Other(format!(
                        "open {}: timeout: the file stayed locked by another process or client for {:?}",
                        path.display(),
                        opts.timeout
                    )));
                }
                std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
            }
            DatabaseError::Storage(redb::StorageError::Corrupted(why)) => {
                return Err(OpenError::Corrupt(why));
            }
            DatabaseError::Storage(redb::StorageError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
                ) =>
            {
                return Err(OpenError::Corrupt(e.to_string()));
            }
            DatabaseError::UpgradeRequired(v) => {
                return Err(OpenError::Corrupt(format!(
                    "written in storage format version {v}, which this build cannot read"
                )));
            }
            DatabaseError::RepairAborted => {
                return Err(OpenError::Corrupt("repair after a crash failed".into()));
            }
            other => {
                return Err(OpenError::Other(format!(
                    "open {}: {other}",
                    path.display()
                )));
            }
        }
    }
}

/// Creates the table, so that reads of a new file find it, and proves the file writable.
fn init_table(db: Database, path: &Path) -> Result<Database, OpenError> {
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<(), redb::Error> {
        let mut tx = db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(())
    }));
    match res {
        Ok(Ok(())) => Ok(db),
        Ok(Err(redb::Error::TableTypeMismatch { .. })) | Err(_) => Err(OpenError::Corrupt(
            "its table is not the one file_storage writes".into(),
        )),
        Ok(Err(e)) => Err(OpenError::Other(format!("open {}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // bbolt's mode for its files.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Names a file this engine must not touch as a database: a Go collector's bbolt file (the
/// same name in a directory shared with, or inherited from, a Go collector).
fn foreign_format(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 20];
    let mut f = std::fs::File::open(path).ok()?;
    f.read_exact(&mut head).ok()?;
    // bbolt's first meta page: a 16-byte page header, then the magic 0xED0CDAED (LE).
    (head[16..20] == 0xED0C_DAEDu32.to_le_bytes()).then(|| {
        "it is a Go collector (bbolt) database, which ferrotel cannot read; its state is not carried over".to_string()
    })
}

/// Go's backup name: `<file>.<2006-01-02T15:04:05.000>.backup` (UTC here).
fn backup_name(path: &Path) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let stamp =
        crate::util::time::rfc3339_utc(std::time::UNIX_EPOCH + Duration::from_secs(now.as_secs()));
    // `2024-05-01T10:20:30Z` -> `2024-05-01T10:20:30.123`
    let stamp = format!("{}.{:03}", stamp.trim_end_matches('Z'), now.subsec_millis());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{stamp}.backup"));
    PathBuf::from(name)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
