//! `filesystem` scraper: the mounts of `/proc/1/mountinfo` (gopsutil's `disk.Partitions`:
//! without `include_virtual_filesystems`, only file system types `/proc/filesystems` does not
//! mark `nodev`), their space and inodes from `statvfs(2)`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val, str_attr};
use crate::filter::{NameFilter, match_config};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{ScrapeError, Scraped, Scraper};

match_config!(
    /// `include_devices` / `exclude_devices`.
    DeviceMatch,
    devices
);
match_config!(
    /// `include_fs_types` / `exclude_fs_types`.
    FsTypeMatch,
    fs_types
);
match_config!(
    /// `include_mount_points` / `exclude_mount_points`.
    MountPointMatch,
    mount_points
);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include_virtual_filesystems: bool,
    pub include_devices: Option<DeviceMatch>,
    pub exclude_devices: Option<DeviceMatch>,
    pub include_fs_types: Option<FsTypeMatch>,
    pub exclude_fs_types: Option<FsTypeMatch>,
    pub include_mount_points: Option<MountPointMatch>,
    pub exclude_mount_points: Option<MountPointMatch>,
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("system.filesystem.usage", true),
    ("system.filesystem.inodes.usage", true),
    ("system.filesystem.utilization", false),
];

const DEFS: [Def; 3] = [
    Def::sum(
        "system.filesystem.usage",
        "Filesystem bytes used.",
        "By",
        false,
    ),
    Def::sum(
        "system.filesystem.inodes.usage",
        "FileSystem inodes used.",
        "{inodes}",
        false,
    ),
    Def::gauge(
        "system.filesystem.utilization",
        "Fraction of filesystem bytes used.",
        "1",
    ),
];

/// One mount (gopsutil's `PartitionStat`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partition {
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
    pub opts: Vec<String>,
    /// `major:minor`, to resolve `/dev/root`.
    pub dev_id: String,
}

/// `statvfs` figures in bytes and inodes (gopsutil's `UsageStat`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub total: u64,
    pub free: u64,
    pub used: u64,
    pub inodes_used: u64,
    pub inodes_free: u64,
}

/// The file system types `/proc/filesystems` lists without `nodev` (the "physical" ones).
pub fn physical_fs_types(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("nodev"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// `\040`-style octal escapes of mountinfo paths.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/<pid>/mountinfo`: `id parent major:minor root mountpoint opts [optional...] - fstype source superopts`.
/// Without `all`, mounts of types outside `physical` are left out (zfs is kept, as gopsutil
/// does).
pub fn parse_mountinfo(text: &str, all: bool, physical: &[String]) -> Vec<Partition> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 2 {
            continue;
        }
        let fstype = r[0].to_string();
        if !all && fstype != "zfs" && !physical.contains(&fstype) {
            continue;
        }
        out.push(Partition {
            device: unescape(r[1]),
            mountpoint: unescape(l[4]),
            fstype,
            opts: l[5].split(',').map(str::to_string).collect(),
            dev_id: l[2].to_string(),
        });
    }
    out
}

/// Go's `getMountMode`.
fn mount_mode(opts: &[String]) -> &'static str {
    if opts.iter().any(|o| o == "rw") {
        "rw"
    } else if opts.iter().any(|o| o == "ro") {
        "ro"
    } else {
        "unknown"
    }
}

fn statvfs_usage(path: &Path) -> Result<Usage, String> {
    let s = rustix::fs::statvfs(path).map_err(|e| e.to_string())?;
    let total = s.f_blocks * s.f_frsize;
    let free = s.f_bavail * s.f_frsize;
    let used = s.f_blocks.saturating_sub(s.f_bfree) * s.f_frsize;
    Ok(Usage {
        total,
        free,
        used,
        inodes_used: s.f_files.saturating_sub(s.f_ffree),
        inodes_free: s.f_ffree,
    })
}

pub struct FilesystemScraper {
    paths: HostPaths,
    enabled: Enabled,
    include_virtual: bool,
    devices: NameFilter,
    fs_types: NameFilter,
    mount_points: NameFilter,
    start: u64,
    usage: fn(&Path) -> Result<Usage, String>,
}

impl FilesystemScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<FilesystemScraper, String> {
        let filter = |inc: Option<&dyn crate::MatchFilter>,
                      exc: Option<&dyn crate::MatchFilter>,
                      what: &'static str| {
            NameFilter::new(inc, exc, |side| {
                format!("error creating {side}_{what} filter")
            })
        };
        Ok(FilesystemScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            include_virtual: cfg.include_virtual_filesystems,
            devices: filter(
                cfg.include_devices.as_ref().map(|m| m as _),
                cfg.exclude_devices.as_ref().map(|m| m as _),
                "devices",
            )?,
            fs_types: filter(
                cfg.include_fs_types.as_ref().map(|m| m as _),
                cfg.exclude_fs_types.as_ref().map(|m| m as _),
                "fs_types",
            )?,
            mount_points: filter(
                cfg.include_mount_points.as_ref().map(|m| m as _),
                cfg.exclude_mount_points.as_ref().map(|m| m as _),
                "mount_points",
            )?,
            start: 0,
            usage: statvfs_usage,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64, usage: fn(&Path) -> Result<Usage, String>) {
        self.start = start;
        self.usage = usage;
    }

    /// gopsutil reads PID 1's mount table, or this process's when that fails.
    fn partitions(&self) -> Result<Vec<Partition>, String> {
        let text = match &self.paths.mountinfo {
            Some(file) => paths::read(file)?,
            None => paths::read(&self.paths.proc("1/mountinfo"))
                .or_else(|_| paths::read(&self.paths.proc("self/mountinfo")))?,
        };
        let physical = if self.include_virtual {
            Vec::new()
        } else {
            physical_fs_types(&paths::read(&self.paths.proc("filesystems"))?)
        };
        let mut parts = parse_mountinfo(&text, self.include_virtual, &physical);
        for p in &mut parts {
            // gopsutil names `/dev/root` after the block device it is.
            if p.device == "/dev/root"
                && let Ok(target) =
                    std::fs::read_link(self.paths.sys(&format!("dev/block/{}", p.dev_id)))
                && let Some(name) = target.file_name()
            {
                p.device = format!("/dev/{}", name.to_string_lossy());
            }
        }
        Ok(parts)
    }

    /// Where a host mount point can be read from here (Go's `translateMountpoint`): under
    /// the root path, unless the mount table already lists it there.
    fn translate(&self, mountpoint: &str) -> PathBuf {
        if self.paths.mountinfo.is_some() {
            return PathBuf::from(mountpoint);
        }
        match &self.paths.root {
            Some(root) if Path::new(mountpoint).starts_with(root) => PathBuf::from(mountpoint),
            _ => self.paths.host_path(mountpoint),
        }
    }

    pub fn scrape_partitions(
        &mut self,
        now: u64,
        partitions: Result<Vec<Partition>, String>,
    ) -> Scraped {
        let partitions = match partitions {
            Ok(p) => p,
            Err(e) => return Scraped::single(Vec::new(), vec![ScrapeError::new(e, 2)]),
        };
        let mut errors = Vec::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let mut usages = Vec::new();
        for p in &partitions {
            let key = (p.mountpoint.as_str(), p.device.as_str());
            if !p.mountpoint.is_empty() && seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if !(self.devices.allows(&p.device)
                && self.fs_types.allows(&p.fstype)
                && self.mount_points.allows(&p.mountpoint))
            {
                continue;
            }
            let at = self.translate(&p.mountpoint);
            match (self.usage)(&at) {
                Ok(u) => usages.push((p, u)),
                Err(e) => errors.push(ScrapeError::new(
                    format!("failed to read usage at {}: {e}", at.display()),
                    0,
                )),
            }
        }
        if usages.is_empty() && !errors.is_empty() {
            for e in &mut errors {
                e.failed = 2;
            }
        }
        let mut em = Emitter::new(self.start, now);
        let attrs = |p: &Partition, state: Option<&str>| {
            let mut a = vec![
                str_attr("device", &p.device),
                str_attr("mode", mount_mode(&p.opts)),
                str_attr("mountpoint", &p.mountpoint),
                str_attr("type", &p.fstype),
            ];
            if let Some(s) = state {
                a.push(str_attr("state", s));
            }
            a
        };
        if self.enabled.on(0) {
            let mut points = Vec::with_capacity(usages.len() * 3);
            for (p, u) in &usages {
                let reserved = u.total.saturating_sub(u.used).saturating_sub(u.free);
                points.push((attrs(p, Some("used")), Val::I(u.used as i64)));
                points.push((attrs(p, Some("free")), Val::I(u.free as i64)));
                points.push((attrs(p, Some("reserved")), Val::I(reserved as i64)));
            }
            em.add(&DEFS[0], points);
        }
        if self.enabled.on(1) {
            let mut points = Vec::with_capacity(usages.len() * 2);
            for (p, u) in &usages {
                points.push((attrs(p, Some("used")), Val::I(u.inodes_used as i64)));
                points.push((attrs(p, Some("free")), Val::I(u.inodes_free as i64)));
            }
            em.add(&DEFS[1], points);
        }
        if self.enabled.on(2) {
            // gopsutil's UsedPercent: used over used + available (0 for an empty file system).
            let points = usages
                .iter()
                .map(|(p, u)| {
                    let denom = u.used + u.free;
                    let v = if denom == 0 {
                        0.0
                    } else {
                        u.used as f64 / denom as f64
                    };
                    (attrs(p, None), Val::D(v))
                })
                .collect();
            em.add(&DEFS[2], points);
        }
        Scraped::single(em.finish(), errors)
    }
}

impl Scraper for FilesystemScraper {
    fn key(&self) -> &'static str {
        "filesystem"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let parts = self
            .partitions()
            .map_err(|e| format!("failed collecting partitions information: {e}"));
        self.scrape_partitions(now, parts)
    }
}
