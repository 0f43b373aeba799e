//! `memory` scraper: `/proc/meminfo` as gopsutil reads it (`Cached` includes
//! `SReclaimable`), and `used` as `MemTotal - MemAvailable` (Go's
//! `receiver.hostmetricsreceiver.UseLinuxMemAvailable` gate, beta and on since v0.137).

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val, str_attr};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{ScrapeError, Scraped, Scraper};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("system.memory.usage", true),
    ("system.memory.utilization", false),
    ("system.memory.limit", false),
    ("system.memory.page_size", false),
    ("system.linux.memory.available", false),
    ("system.linux.memory.dirty", false),
    ("system.memory.linux.shared", false),
    ("system.memory.linux.hugepages.limit", false),
    ("system.memory.linux.hugepages.page_size", false),
    ("system.memory.linux.hugepages.reserved", false),
    ("system.memory.linux.hugepages.surplus", false),
    ("system.memory.linux.hugepages.usage", false),
    ("system.memory.linux.hugepages.utilization", false),
];

const DEFS: [Def; 13] = [
    Def::sum(
        "system.memory.usage",
        "Bytes of memory in use.",
        "By",
        false,
    ),
    Def::gauge(
        "system.memory.utilization",
        "Percentage of memory bytes in use.",
        "1",
    ),
    Def::sum(
        "system.memory.limit",
        "Total bytes of memory available.",
        "By",
        false,
    ),
    Def::gauge(
        "system.memory.page_size",
        "A constant value for the system's configured page size.",
        "By",
    ),
    Def::sum(
        "system.linux.memory.available",
        "An estimate of how much memory is available for starting new applications, without swapping. This is a more accurate alternative than system.memory.usage with state=free. (Linux only)",
        "By",
        false,
    ),
    Def::sum(
        "system.linux.memory.dirty",
        "The amount of dirty memory according to `/proc/meminfo`.",
        "By",
        false,
    ),
    Def::sum(
        "system.memory.linux.shared",
        "Shared memory used (mostly by tmpfs).",
        "By",
        false,
    ),
    Def::sum(
        "system.memory.linux.hugepages.limit",
        "Total number of huge pages on the system.",
        "{page}",
        false,
    ),
    Def::sum(
        "system.memory.linux.hugepages.page_size",
        "Size of huge pages in bytes.",
        "By",
        false,
    ),
    Def::sum(
        "system.memory.linux.hugepages.reserved",
        "Number of huge pages reserved (committed but not yet allocated).",
        "{page}",
        false,
    ),
    Def::sum(
        "system.memory.linux.hugepages.surplus",
        "Number of surplus huge pages (overcommitted beyond the limit).",
        "{page}",
        false,
    ),
    Def::sum(
        "system.memory.linux.hugepages.usage",
        "Number of huge pages in use.",
        "{page}",
        false,
    ),
    Def::gauge(
        "system.memory.linux.hugepages.utilization",
        "Percentage of huge pages in use.",
        "1",
    ),
];

/// `/proc/meminfo` in bytes (huge page counts in pages), as gopsutil's `VirtualMemoryStat`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    /// `Cached + SReclaimable`, as gopsutil (and free(1)) count it.
    pub cached: u64,
    pub sreclaimable: u64,
    pub sunreclaim: u64,
    pub dirty: u64,
    pub shared: u64,
    pub huge_pages_total: u64,
    pub huge_pages_free: u64,
    pub huge_pages_rsvd: u64,
    pub huge_pages_surp: u64,
    pub huge_page_size: u64,
}

pub fn parse_meminfo(text: &str) -> Result<MemInfo, String> {
    let mut m = MemInfo::default();
    let mut has_available = false;
    let (mut active_file, mut inactive_file) = (None, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut parts = rest.split_ascii_whitespace();
        let Some(num) = parts.next() else { continue };
        let v: u64 = num
            .parse()
            .map_err(|_| format!("invalid /proc/meminfo value {num:?} for {key}"))?;
        let bytes = if parts.next() == Some("kB") {
            v * 1024
        } else {
            v
        };
        match key {
            "MemTotal" => m.total = bytes,
            "MemFree" => m.free = bytes,
            "MemAvailable" => {
                m.available = bytes;
                has_available = true;
            }
            "Buffers" => m.buffers = bytes,
            "Cached" => m.cached = bytes,
            "SReclaimable" => m.sreclaimable = bytes,
            "SUnreclaim" => m.sunreclaim = bytes,
            "Dirty" => m.dirty = bytes,
            "Shmem" => m.shared = bytes,
            "Active(file)" => active_file = Some(bytes),
            "Inactive(file)" => inactive_file = Some(bytes),
            "HugePages_Total" => m.huge_pages_total = bytes,
            "HugePages_Free" => m.huge_pages_free = bytes,
            "HugePages_Rsvd" => m.huge_pages_rsvd = bytes,
            "HugePages_Surp" => m.huge_pages_surp = bytes,
            "Hugepagesize" => m.huge_page_size = bytes,
            _ => {}
        }
    }
    m.cached += m.sreclaimable;
    if !has_available {
        // Kernels before 3.14: gopsutil's estimate without the watermarks it reads from
        // /proc/zoneinfo is free + cached; the file LRU lists refine it when present.
        m.available = match (active_file, inactive_file) {
            (Some(a), Some(i)) if m.sreclaimable > 0 => m.free + a + i + m.sreclaimable,
            _ => m.cached + m.free,
        };
    }
    Ok(m)
}

pub struct MemoryScraper {
    paths: HostPaths,
    enabled: Enabled,
    start: u64,
    page_size: u64,
}

impl MemoryScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<MemoryScraper, String> {
        Ok(MemoryScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            start: 0,
            page_size: rustix::param::page_size() as u64,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64, page_size: u64) {
        self.start = start;
        self.page_size = page_size;
    }

    pub fn scrape_text(&mut self, now: u64, meminfo: Result<String, String>) -> Scraped {
        let m = match meminfo.and_then(|t| parse_meminfo(&t)) {
            Ok(m) => m,
            Err(e) => return Scraped::single(Vec::new(), vec![ScrapeError::new(e, 2)]),
        };
        let mut em = Emitter::new(self.start, now);
        let on = |i| self.enabled.on(i);
        let used = m.total.saturating_sub(m.available);
        let states = [
            ("used", used),
            ("free", m.free),
            ("buffered", m.buffers),
            ("cached", m.cached),
            ("slab_reclaimable", m.sreclaimable),
            ("slab_unreclaimable", m.sunreclaim),
        ];
        if on(0) {
            let points = states
                .iter()
                .map(|(s, v)| (vec![str_attr("state", s)], Val::I(*v as i64)))
                .collect();
            em.add(&DEFS[0], points);
        }
        let mut errors = Vec::new();
        if on(1) {
            if m.total == 0 {
                errors.push(ScrapeError::new("invalid total memory: 0", 2));
            } else {
                let points = states
                    .iter()
                    .map(|(s, v)| {
                        (
                            vec![str_attr("state", s)],
                            Val::D(*v as f64 / m.total as f64),
                        )
                    })
                    .collect();
                em.add(&DEFS[1], points);
            }
        }
        let singles = [
            (2, Val::I(m.total as i64)),
            (3, Val::I(self.page_size as i64)),
            (4, Val::I(m.available as i64)),
            (5, Val::I(m.dirty as i64)),
            (6, Val::I(m.shared as i64)),
            (7, Val::I(m.huge_pages_total as i64)),
            (8, Val::I(m.huge_page_size as i64)),
            (9, Val::I(m.huge_pages_rsvd as i64)),
            (10, Val::I(m.huge_pages_surp as i64)),
        ];
        for (i, v) in singles {
            if on(i) {
                em.one(&DEFS[i], v);
            }
        }
        let huge_used = m.huge_pages_total.saturating_sub(m.huge_pages_free);
        let huge = [("free", m.huge_pages_free), ("used", huge_used)];
        if on(11) {
            let points = huge
                .iter()
                .map(|(s, v)| {
                    (
                        vec![str_attr("system.memory.linux.hugepages.state", s)],
                        Val::I(*v as i64),
                    )
                })
                .collect();
            em.add(&DEFS[11], points);
        }
        if on(12) && m.huge_pages_total != 0 {
            let points = huge
                .iter()
                .map(|(s, v)| {
                    (
                        vec![str_attr("system.memory.linux.hugepages.state", s)],
                        Val::D(*v as f64 / m.huge_pages_total as f64),
                    )
                })
                .collect();
            em.add(&DEFS[12], points);
        }
        Scraped::single(em.finish(), errors)
    }
}

impl Scraper for MemoryScraper {
    fn key(&self) -> &'static str {
        "memory"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let text = paths::read(&self.paths.proc("meminfo"));
        self.scrape_text(now, text)
    }
}
