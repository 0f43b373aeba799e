//! Where the host's /proc and /sys are: `root_path` as the Go receiver reads it (host
//! filesystems mounted into a container under e.g. `/hostfs`), with gopsutil's environment
//! variables (`HOST_PROC`, `HOST_SYS`, ...) winning over it, as Go's `gopsutilenv` does.

use std::io;
use std::path::{Path, PathBuf};

/// The host directories the scrapers read.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPaths {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub dev: PathBuf,
    /// `HOST_PROC_MOUNTINFO`: the mount table to read instead of `<proc>/1/mountinfo`; its
    /// mount points are used as they are (Go does not translate them).
    pub mountinfo: Option<PathBuf>,
    /// `root_path` when it is set and not `/`: mount points read from the host's mount
    /// table are reported relative to it.
    pub root: Option<PathBuf>,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths::with_env("", |_| None)
    }
}

impl HostPaths {
    /// The paths for `root_path`, with the process environment.
    pub fn new(root_path: &str) -> HostPaths {
        HostPaths::with_env(root_path, |k| {
            std::env::var(k).ok().filter(|v| !v.is_empty())
        })
    }

    /// The paths for `root_path` with `env` as the environment: a set `HOST_PROC` (etc.)
    /// wins; otherwise `<root_path>/proc`, or `/proc` without a root path.
    pub fn with_env(root_path: &str, env: impl Fn(&str) -> Option<String>) -> HostPaths {
        let root = (!root_path.is_empty() && root_path != "/").then(|| PathBuf::from(root_path));
        let dir = |key: &str, default: &str| match env(key) {
            Some(v) => PathBuf::from(v),
            None => match &root {
                Some(r) => r.join(default.trim_start_matches('/')),
                None => PathBuf::from(default),
            },
        };
        HostPaths {
            proc: dir("HOST_PROC", "/proc"),
            sys: dir("HOST_SYS", "/sys"),
            dev: dir("HOST_DEV", "/dev"),
            mountinfo: env("HOST_PROC_MOUNTINFO").map(PathBuf::from),
            root,
        }
    }

    /// A file under the proc directory (`stat`, `net/dev`, `1/mountinfo`).
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.proc.join(rel)
    }

    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sys.join(rel)
    }

    /// A mount point of the host's mount table as a path this process can open.
    pub fn host_path(&self, mountpoint: &str) -> PathBuf {
        match &self.root {
            Some(r) => r.join(mountpoint.trim_start_matches('/')),
            None => PathBuf::from(mountpoint),
        }
    }
}

/// Whether this process looks like it runs in a container (PID 1, or docker's / podman's
/// marker file): without a `root_path` the file system scraper then reports the container's
/// file systems, which Go warns about.
pub fn in_container() -> bool {
    std::process::id() == 1
        || ["/.dockerenv", "/run/.containerenv"]
            .iter()
            .any(|p| Path::new(p).exists())
}

/// Go's `ValidateRootPath`: empty and `/` are fine; anything else must exist.
pub fn validate_root_path(root_path: &str) -> Result<(), String> {
    if root_path.is_empty() || root_path == "/" {
        return Ok(());
    }
    std::fs::metadata(root_path)
        .map(drop)
        .map_err(|e| format!("invalid root_path: stat {root_path}: {}", go_io_error(&e)))
}

/// An I/O error as Go's `syscall.Errno` prints it.
pub(crate) fn go_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // "Not a directory (os error 20)" -> "not a directory"
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    }
}

/// Reads a whole procfs/sysfs file; the error reads as Go's `open <path>: <reason>`.
pub(crate) fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("open {}: {}", path.display(), go_io_error(&e)))
}

/// The boot time in seconds since the epoch: `btime` of `/proc/stat` (gopsutil's
/// `host.BootTime`), the start time of every cumulative host metric.
pub(crate) fn boot_time(paths: &HostPaths) -> Result<u64, String> {
    let stat = read(&paths.proc("stat"))?;
    parse_btime(&stat).ok_or_else(|| "could not find btime".to_string())
}

pub(crate) fn parse_btime(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}
