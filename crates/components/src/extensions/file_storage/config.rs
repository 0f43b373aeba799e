//! `file_storage` settings: the contrib extension's keys, defaults and validation messages
//! (extension/storage/filestorage config.go and factory.go).

use std::io;
use std::path::Path;

use runtime::ComponentConfig;
use serde::Deserialize;

/// Go's default on every OS but Windows.
pub const DEFAULT_DIRECTORY: &str = "/var/lib/otelcol/file_storage";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the one-file-per-client databases live.
    pub directory: String,
    /// How long opening a client waits for another process (or client) holding its file's
    /// lock before failing.
    pub timeout: config::Duration,
    pub compaction: CompactionConfig,
    /// Every committed write is on stable storage before the call returns. Without it a
    /// commit is handed to the OS (it survives the process being killed, not a power loss).
    pub fsync: bool,
    /// Create `directory` (and, with compaction on, `compaction.directory`) when missing.
    pub create_directory: bool,
    /// Octal mode for the directories `create_directory` makes (minus the umask).
    pub directory_permissions: String,
    /// A database file found corrupt at open is renamed to
    /// `<file>.<timestamp>.backup` and a fresh one is made, instead of failing the start.
    pub recreate: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompactionConfig {
    /// Compact each client's file when it is opened.
    pub on_start: bool,
    /// Compact online once the file grew past `rebound_needed_threshold_mib` and its live data
    /// then fell below `rebound_trigger_threshold_mib` (a drained persistent queue).
    pub on_rebound: bool,
    /// Go's scratch directory for compaction. The engine here compacts in place, so it is only
    /// validated (as Go does) and swept by `cleanup_on_start`.
    pub directory: String,
    /// Go's items per compaction transaction; validated, without effect on in-place compaction.
    #[serde(deserialize_with = "go_yaml_int")]
    pub max_transaction_size: i64,
    #[serde(deserialize_with = "go_yaml_int")]
    pub rebound_needed_threshold_mib: i64,
    #[serde(deserialize_with = "go_yaml_int")]
    pub rebound_trigger_threshold_mib: i64,
    pub check_interval: config::Duration,
    /// Remove Go's leftover `tempdb*` files from `directory` at start.
    pub cleanup_on_start: bool,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            on_start: false,
            on_rebound: false,
            directory: DEFAULT_DIRECTORY.into(),
            max_transaction_size: 65_536,
            rebound_needed_threshold_mib: 100,
            rebound_trigger_threshold_mib: 10,
            check_interval: config::Duration::from_secs(5),
            cleanup_on_start: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            directory: DEFAULT_DIRECTORY.into(),
            timeout: config::Duration::from_secs(1),
            compaction: CompactionConfig::default(),
            fsync: false,
            create_directory: false,
            directory_permissions: "0750".into(),
            recreate: false,
        }
    }
}

impl Config {
    /// The directories the extension needs: the compaction one only when compaction is on.
    pub fn directories(&self) -> Vec<&str> {
        if self.compaction.on_start || self.compaction.on_rebound {
            vec![&self.directory, &self.compaction.directory]
        } else {
            vec![&self.directory]
        }
    }

    /// `directory_permissions` as a mode; `None` when it is not a valid one (validation
    /// refuses that whenever `create_directory` is set).
    pub fn directory_mode(&self) -> Option<u32> {
        // Go's `strconv.ParseInt(s, 8, 32)`: an optional sign, octal digits, 32-bit range.
        let mode = i32::from_str_radix(&self.directory_permissions, 8).ok()?;
        (mode >= 0 && mode & 0o777 == mode).then_some(mode as u32)
    }
}

impl ComponentConfig for Config {
    /// Go's checks, messages and order.
    fn validate(&self) -> Result<(), String> {
        for dir in self.directories() {
            match std::fs::metadata(dir) {
                Ok(meta) if !meta.is_dir() => return Err(format!("{dir} is not a directory")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !self.create_directory {
                        return Err(format!(
                            "directory must exist: stat {dir}: {}. You can enable the create_directory option to automatically create it",
                            go_errno(&e)
                        ));
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "problem accessing configured directory: {dir}, err: stat {dir}: {}",
                        go_errno(&e)
                    ));
                }
            }
        }
        if self.compaction.max_transaction_size < 0 {
            return Err("max transaction size for compaction cannot be less than 0".into());
        }
        if self.compaction.on_rebound && self.compaction.check_interval.0.is_zero() {
            return Err(
                "compaction check interval must be positive when rebound compaction is set".into(),
            );
        }
        if self.create_directory {
            let Ok(mode) = i32::from_str_radix(&self.directory_permissions, 8) else {
                return Err(
                    "directory_permissions value must be a valid octal representation".into(),
                );
            };
            if mode & 0o777 != mode {
                return Err("directory_permissions contain invalid bits for file access".into());
            }
        }
        Ok(())
    }
}

/// An integer, also written as YAML 1.1 allows and Go's YAML reads it: `65_536` (the
/// README's own example), `0x10000`. The YAML loader hands such a plain scalar over as a
/// string, so a string of that shape is taken as the number.
fn go_yaml_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrText {
        Int(i64),
        Text(String),
    }
    match IntOrText::deserialize(d)? {
        IntOrText::Int(i) => Ok(i),
        IntOrText::Text(t) => {
            let digits: String = t.chars().filter(|&c| c != '_').collect();
            let (neg, body) = match digits.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, digits.strip_prefix('+').unwrap_or(&digits)),
            };
            let parsed = if let Some(h) = body.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else if let Some(o) = body.strip_prefix("0o") {
                i64::from_str_radix(o, 8)
            } else if let Some(b) = body.strip_prefix("0b") {
                i64::from_str_radix(b, 2)
            } else {
                body.parse::<i64>()
            };
            match parsed {
                Ok(v) if !body.is_empty() && !t.starts_with('_') => Ok(if neg { -v } else { v }),
                _ => Err(serde::de::Error::custom(format!(
                    "expected an integer, got string {t:?}"
                ))),
            }
        }
    }
}

/// An OS error as Go prints it: the C library's text with a lower-case first letter and no
/// `(os error N)` suffix (`permission denied`, `no such file or directory`).
pub fn go_errno(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `op path: reason`, Go's `*fs.PathError` text.
pub fn path_error(op: &str, path: &Path, e: &io::Error) -> String {
    format!("{op} {}: {}", path.display(), go_errno(e))
}
