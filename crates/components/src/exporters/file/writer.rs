//! The files behind the `file` exporter: a plain file (truncated at start, or appended to)
//! and a rotating file with lumberjack's (timberjack's) rules, which is what the Go exporter uses when
//! `rotation:` is present. Both buffer their writes (64 KiB) and are flushed by the exporter
//! every `flush_interval` and at shutdown.
//!
//! Rotation, as lumberjack does it:
//! - the file at `path` is reused at start if a first write fits in it, otherwise rotated;
//! - a write that would take the file past `max_megabytes` (default 100) rotates first; a
//!   single write larger than the limit is refused;
//! - rotating renames the file to `<name>-<timestamp>-size<ext>` (`2006-01-02T15-04-05.000`,
//!   UTC unless `localtime`) and creates a new one at `path`. The Go exporter writes through
//!   timberjack (lumberjack's fork), which adds the rotation reason (`-size`) that
//!   lumberjack's `<name>-<timestamp><ext>` lacked; backups in either form are recognised;
//! - after a rotation the backups beyond `max_backups` (newest kept) and those older than
//!   `max_days` (by the timestamp in their name) are removed.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::config::Rotation;

const BUFFER: usize = 64 * 1024;
const MEGABYTE: u64 = 1024 * 1024;
const BACKUP_TIME_FORMAT: &str = "%Y-%m-%dT%H-%M-%S%.3f";

/// One output file.
pub enum Writer {
    Plain {
        path: PathBuf,
        file: BufWriter<File>,
    },
    Rotating(Box<Rotating>),
}

impl Writer {
    /// Opens `path` as the exporter does at start: with rotation the file is opened lazily
    /// at the first write; otherwise it is created (mode 0644), truncated unless `append`.
    pub fn open(path: &Path, append: bool, rotation: Option<&Rotation>) -> io::Result<Writer> {
        if let Some(r) = rotation {
            return Ok(Writer::Rotating(Box::new(Rotating::new(path, r))));
        }
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).mode(0o644);
        if append {
            o.append(true);
        } else {
            o.truncate(true);
        }
        let file = o.open(path)?;
        Ok(Writer::Plain {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(BUFFER, file),
        })
    }

    pub fn path(&self) -> &Path {
        match self {
            Writer::Plain { path, .. } => path,
            Writer::Rotating(r) => &r.path,
        }
    }

    /// Writes one framed record (the parts are written together, so rotation never splits
    /// a record).
    pub fn write_record(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        match self {
            Writer::Plain { file, .. } => parts.iter().try_for_each(|p| file.write_all(p)),
            Writer::Rotating(r) => r.write(parts),
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Plain { file, .. } => file.flush(),
            Writer::Rotating(r) => r.flush(),
        }
    }
}

/// A lumberjack-style rotating file.
pub struct Rotating {
    path: PathBuf,
    max_bytes: u64,
    max_days: u64,
    max_backups: usize,
    localtime: bool,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl Rotating {
    fn new(path: &Path, r: &Rotation) -> Rotating {
        let mb = if r.max_megabytes > 0 {
            r.max_megabytes as u64
        } else {
            100
        };
        Rotating {
            path: path.to_path_buf(),
            max_bytes: mb.saturating_mul(MEGABYTE),
            max_days: r.max_days.max(0) as u64,
            max_backups: r.max_backups.max(0) as usize,
            localtime: r.localtime,
            file: None,
            size: 0,
        }
    }

    fn write(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if len > self.max_bytes {
            return Err(io::Error::other(format!(
                "write length {len} exceeds maximum file size {}",
                self.max_bytes
            )));
        }
        if self.file.is_none() {
            self.open_existing_or_new(len)?;
        } else if self.size + len > self.max_bytes {
            self.rotate()?;
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("rotating file not open"))?;
        for p in parts {
            file.write_all(p)?;
        }
        self.size += len;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    fn open_existing_or_new(&mut self, len: u64) -> io::Result<()> {
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.open_new(),
            Err(e) => Err(e),
            Ok(meta) if meta.len() + len >= self.max_bytes => self.rotate(),
            Ok(meta) => {
                let file = OpenOptions::new().append(true).open(&self.path)?;
                self.file = Some(BufWriter::with_capacity(BUFFER, file));
                self.size = meta.len();
                Ok(())
            }
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        self.open_new()?;
        self.remove_old_backups();
        Ok(())
    }

    /// Moves an existing file aside to its backup name and creates a fresh one.
    fn open_new(&mut self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)?;
        }
        let mut mode = 0o644;
        if let Ok(meta) = std::fs::metadata(&self.path) {
            use std::os::unix::fs::PermissionsExt;
            mode = meta.permissions().mode() & 0o7777;
            let backup = self.backup_name(&jiff::Timestamp::now());
            std::fs::rename(&self.path, &backup)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&self.path)?;
        self.file = Some(BufWriter::with_capacity(BUFFER, file));
        self.size = 0;
        Ok(())
    }

    fn split_name(&self) -> (String, String) {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        split_ext(&name)
    }

    /// `<dir>/<stem>-<timestamp>-size<ext>`.
    pub fn backup_name(&self, now: &jiff::Timestamp) -> PathBuf {
        let (stem, ext) = self.split_name();
        let tz = if self.localtime {
            jiff::tz::TimeZone::system()
        } else {
            jiff::tz::TimeZone::UTC
        };
        let stamp = now.to_zoned(tz).strftime(BACKUP_TIME_FORMAT).to_string();
        self.path
            .with_file_name(format!("{stem}-{stamp}-size{ext}"))
    }

    /// Removes the backups beyond `max_backups` and older than `max_days`. Failures are
    /// logged: they must not stop the data from being written.
    fn remove_old_backups(&self) {
        if self.max_backups == 0 && self.max_days == 0 {
            return;
        }
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (stem, ext) = self.split_name();
        let prefix = format!("{stem}-");
        let mut backups: Vec<(jiff::Timestamp, PathBuf)> = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot list rotated files");
                return;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stamp) = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(ext.as_str()))
            else {
                continue;
            };
            // timberjack's `-size` / `-time` reason, or none (lumberjack)
            let stamp = stamp
                .strip_suffix("-size")
                .or_else(|| stamp.strip_suffix("-time"))
                .unwrap_or(stamp);
            if let Some(t) = parse_backup_time(stamp) {
                backups.push((t, entry.path()));
            }
        }
        backups.sort_by_key(|b| std::cmp::Reverse(b.0));
        let mut remove: Vec<PathBuf> = Vec::new();
        if self.max_backups > 0 && backups.len() > self.max_backups {
            remove.extend(backups.drain(self.max_backups..).map(|(_, p)| p));
        }
        if self.max_days > 0 {
            let cutoff = jiff::Timestamp::now().as_second() - (self.max_days * 86_400) as i64;
            remove.extend(
                backups
                    .iter()
                    .filter(|(t, _)| t.as_second() < cutoff)
                    .map(|(_, p)| p.clone()),
            );
        }
        for p in remove {
            if let Err(e) = std::fs::remove_file(&p) {
                tracing::warn!(path = %p.display(), error = %e, "cannot remove rotated file");
            }
        }
    }
}

/// `name.ext` → (`name`, `.ext`), as Go's `filepath.Ext` splits.
fn split_ext(name: &str) -> (String, String) {
    match name.rfind('.') {
        Some(i) => (name[..i].to_string(), name[i..].to_string()),
        None => (name.to_string(), String::new()),
    }
}

/// The timestamp of a backup name, read as UTC as lumberjack does.
fn parse_backup_time(s: &str) -> Option<jiff::Timestamp> {
    let dt = jiff::civil::DateTime::strptime(BACKUP_TIME_FORMAT, s).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Go's `path.Clean`: the shortest lexical equivalent of a slash-separated path.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The file of a `group_by` path segment: `prefix + segment + suffix`, cleaned, and kept
/// inside `prefix` (a segment cannot climb out with `..`), as the Go exporter computes it.
pub fn group_path(prefix: &str, suffix: &str, segment: &str) -> String {
    let segment = if let Some(s) = segment.strip_prefix("./") {
        &segment[segment.len() - s.len() - 1..]
    } else if let Some(s) = segment.strip_prefix("../") {
        &segment[segment.len() - s.len() - 1..]
    } else {
        segment
    };
    let full = clean(&format!("{prefix}{segment}{suffix}"));
    if full.starts_with(prefix) {
        return full;
    }
    let inner = clean(&format!("/{segment}{suffix}"));
    clean(&format!("{prefix}/{inner}"))
}

/// Go's `cleanPathPrefix`: cleaned, keeping a trailing slash.
pub fn clean_prefix(prefix: &str) -> String {
    let cleaned = clean(prefix);
    if prefix.ends_with('/') && !cleaned.ends_with('/') {
        cleaned + "/"
    } else {
        cleaned
    }
}
