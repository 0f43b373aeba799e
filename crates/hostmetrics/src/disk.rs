//! `disk` scraper: `/proc/diskstats` per block device (gopsutil's `disk.IOCounters`;
//! sectors are 512 bytes to the kernel whatever the device's own sector size).

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val, str_attr};
use crate::filter::{NameFilter, match_config};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{ScrapeError, Scraped, Scraper};

match_config!(
    /// `include`/`exclude` of the disk scraper: device names.
    DeviceMatch,
    devices
);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include: Option<DeviceMatch>,
    pub exclude: Option<DeviceMatch>,
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("system.disk.io", true),
    ("system.disk.io_time", true),
    ("system.disk.merged", true),
    ("system.disk.operation_time", true),
    ("system.disk.operations", true),
    ("system.disk.pending_operations", true),
    ("system.disk.weighted_io_time", true),
];

const DEFS: [Def; 7] = [
    Def::sum("system.disk.io", "Disk bytes transferred.", "By", true),
    Def::sum(
        "system.disk.io_time",
        "Time disk spent activated. On Windows, this is calculated as the inverse of disk idle time.",
        "s",
        true,
    ),
    Def::sum(
        "system.disk.merged",
        "The number of disk reads/writes merged into single physical disk access operations.",
        "{operations}",
        true,
    ),
    Def::sum(
        "system.disk.operation_time",
        "Time spent in disk operations.",
        "s",
        true,
    ),
    Def::sum(
        "system.disk.operations",
        "Disk operations count.",
        "{operations}",
        true,
    ),
    Def::sum(
        "system.disk.pending_operations",
        "The queue size of pending I/O operations.",
        "{operations}",
        false,
    ),
    Def::sum(
        "system.disk.weighted_io_time",
        "Time disk spent activated multiplied by the queue length.",
        "s",
        true,
    ),
];

const SECTOR: u64 = 512;

/// One device's counters (gopsutil's `IOCountersStat`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskCounters {
    pub name: String,
    pub read_count: u64,
    pub merged_read_count: u64,
    pub read_bytes: u64,
    pub read_time_ms: u64,
    pub write_count: u64,
    pub merged_write_count: u64,
    pub write_bytes: u64,
    pub write_time_ms: u64,
    pub iops_in_progress: u64,
    pub io_time_ms: u64,
    pub weighted_io_ms: u64,
}

pub fn parse_diskstats(text: &str) -> Result<Vec<DiskCounters>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 14 {
            continue;
        }
        let n = |i: usize| -> Result<u64, String> {
            f[i].parse()
                .map_err(|_| format!("invalid /proc/diskstats field {:?} of {}", f[i], f[2]))
        };
        out.push(DiskCounters {
            name: f[2].to_string(),
            read_count: n(3)?,
            merged_read_count: n(4)?,
            read_bytes: n(5)? * SECTOR,
            read_time_ms: n(6)?,
            write_count: n(7)?,
            merged_write_count: n(8)?,
            write_bytes: n(9)? * SECTOR,
            write_time_ms: n(10)?,
            iops_in_progress: n(11)?,
            io_time_ms: n(12)?,
            weighted_io_ms: n(13)?,
        });
    }
    Ok(out)
}

pub struct DiskScraper {
    paths: HostPaths,
    enabled: Enabled,
    filter: NameFilter,
    start: u64,
}

impl DiskScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<DiskScraper, String> {
        Ok(DiskScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            filter: NameFilter::new(
                cfg.include.as_ref().map(|m| m as _),
                cfg.exclude.as_ref().map(|m| m as _),
                |side| format!("error creating device {side} filters"),
            )?,
            start: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    pub fn scrape_text(&mut self, now: u64, diskstats: Result<String, String>) -> Scraped {
        let disks = match diskstats.and_then(|t| parse_diskstats(&t)) {
            Ok(d) => d,
            Err(e) => return Scraped::single(Vec::new(), vec![ScrapeError::new(e, METRICS.len())]),
        };
        let disks: Vec<_> = disks
            .into_iter()
            .filter(|d| self.filter.allows(&d.name))
            .collect();
        let mut em = Emitter::new(self.start, now);
        let dev = |d: &DiskCounters| str_attr("device", &d.name);
        let rw = |get: fn(&DiskCounters) -> (Val, Val)| {
            let mut points = Vec::with_capacity(disks.len() * 2);
            for d in &disks {
                let (r, w) = get(d);
                points.push((vec![dev(d), str_attr("direction", "read")], r));
                points.push((vec![dev(d), str_attr("direction", "write")], w));
            }
            points
        };
        let one = |get: fn(&DiskCounters) -> Val| {
            disks
                .iter()
                .map(|d| (vec![dev(d)], get(d)))
                .collect::<Vec<_>>()
        };
        let secs = |ms: u64| Val::D(ms as f64 / 1000.0);
        for (i, def) in DEFS.iter().enumerate() {
            if !self.enabled.on(i) {
                continue;
            }
            let points = match i {
                0 => rw(|d| (Val::I(d.read_bytes as i64), Val::I(d.write_bytes as i64))),
                1 => one(|d| Val::D(d.io_time_ms as f64 / 1000.0)),
                2 => rw(|d| {
                    (
                        Val::I(d.merged_read_count as i64),
                        Val::I(d.merged_write_count as i64),
                    )
                }),
                3 => {
                    let mut points = Vec::with_capacity(disks.len() * 2);
                    for d in &disks {
                        points.push((
                            vec![dev(d), str_attr("direction", "read")],
                            secs(d.read_time_ms),
                        ));
                        points.push((
                            vec![dev(d), str_attr("direction", "write")],
                            secs(d.write_time_ms),
                        ));
                    }
                    points
                }
                4 => rw(|d| (Val::I(d.read_count as i64), Val::I(d.write_count as i64))),
                5 => one(|d| Val::I(d.iops_in_progress as i64)),
                _ => one(|d| Val::D(d.weighted_io_ms as f64 / 1000.0)),
            };
            em.add(def, points);
        }
        Scraped::single(em.finish(), Vec::new())
    }
}

impl Scraper for DiskScraper {
    fn key(&self) -> &'static str {
        "disk"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let text = paths::read(&self.paths.proc("diskstats"));
        self.scrape_text(now, text)
    }
}
