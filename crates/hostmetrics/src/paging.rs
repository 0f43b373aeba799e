//! `paging` scraper: swap devices of `/proc/swaps`, and page and swap traffic and faults of
//! `/proc/vmstat`. Go reports the vmstat page counts multiplied by 4096 (gopsutil's
//! `SwapMemory` turns them into bytes); these are reported the same way.

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
    ("system.paging.usage", true),
    ("system.paging.operations", true),
    ("system.paging.faults", true),
    ("system.paging.utilization", false),
];

const DEFS: [Def; 4] = [
    Def::sum(
        "system.paging.usage",
        "Swap (unix) or pagefile (windows) usage.",
        "By",
        false,
    ),
    Def::sum(
        "system.paging.operations",
        "The number of paging operations.",
        "{operations}",
        true,
    ),
    Def::sum(
        "system.paging.faults",
        "The number of page faults.",
        "{faults}",
        true,
    ),
    Def::gauge(
        "system.paging.utilization",
        "Swap (unix) or pagefile (windows) utilization.",
        "1",
    ),
];

/// One swap device of `/proc/swaps`, in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwapDevice {
    pub name: String,
    pub used: u64,
    pub free: u64,
}

pub fn parse_swaps(text: &str) -> Result<Vec<SwapDevice>, String> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let kib = |s: &str| -> Result<u64, String> {
            s.parse::<u64>()
                .map(|v| v * 1024)
                .map_err(|_| format!("invalid /proc/swaps value {s:?}"))
        };
        let size = kib(f[2])?;
        let used = kib(f[3])?;
        out.push(SwapDevice {
            name: f[0].to_string(),
            used,
            free: size.saturating_sub(used),
        });
    }
    Ok(out)
}

/// The `/proc/vmstat` counters the scraper reports, times 4096 as gopsutil gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VmStat {
    pub pswpin: u64,
    pub pswpout: u64,
    pub pgpgin: u64,
    pub pgpgout: u64,
    pub pgfault: u64,
    pub pgmajfault: u64,
}

pub fn parse_vmstat(text: &str) -> VmStat {
    let mut v = VmStat::default();
    for line in text.lines() {
        let Some((k, n)) = line.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.trim().parse::<u64>() else {
            continue;
        };
        let n = n * 4096;
        match k {
            "pswpin" => v.pswpin = n,
            "pswpout" => v.pswpout = n,
            "pgpgin" => v.pgpgin = n,
            "pgpgout" => v.pgpgout = n,
            "pgfault" => v.pgfault = n,
            "pgmajfault" => v.pgmajfault = n,
            _ => {}
        }
    }
    v
}

pub struct PagingScraper {
    paths: HostPaths,
    enabled: Enabled,
    start: u64,
}

impl PagingScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<PagingScraper, String> {
        Ok(PagingScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            start: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    pub fn scrape_texts(
        &mut self,
        now: u64,
        swaps: Result<String, String>,
        vmstat: Result<String, String>,
    ) -> Scraped {
        let mut em = Emitter::new(self.start, now);
        let mut errors = Vec::new();
        match swaps.and_then(|t| parse_swaps(&t)) {
            Ok(devs) => {
                if self.enabled.on(0) {
                    let mut points = Vec::new();
                    for d in &devs {
                        points.push((
                            vec![str_attr("device", &d.name), str_attr("state", "used")],
                            Val::I(d.used as i64),
                        ));
                        points.push((
                            vec![str_attr("device", &d.name), str_attr("state", "free")],
                            Val::I(d.free as i64),
                        ));
                    }
                    em.add(&DEFS[0], points);
                }
                if self.enabled.on(3) {
                    let mut points = Vec::new();
                    for d in &devs {
                        let total = (d.used + d.free) as f64;
                        if total == 0.0 {
                            continue;
                        }
                        points.push((
                            vec![str_attr("device", &d.name), str_attr("state", "used")],
                            Val::D(d.used as f64 / total),
                        ));
                        points.push((
                            vec![str_attr("device", &d.name), str_attr("state", "free")],
                            Val::D(d.free as f64 / total),
                        ));
                    }
                    em.add(&DEFS[3], points);
                }
            }
            Err(e) => errors.push(ScrapeError::new(e, 2)),
        }
        match vmstat {
            Ok(text) => {
                let v = parse_vmstat(&text);
                let op = |dir: &str, ty: &str, n: u64| {
                    (
                        vec![str_attr("direction", dir), str_attr("type", ty)],
                        Val::I(n as i64),
                    )
                };
                if self.enabled.on(1) {
                    em.add(
                        &DEFS[1],
                        vec![
                            op("page_in", "major", v.pswpin),
                            op("page_out", "major", v.pswpout),
                            op("page_in", "minor", v.pgpgin),
                            op("page_out", "minor", v.pgpgout),
                        ],
                    );
                }
                if self.enabled.on(2) {
                    em.add(
                        &DEFS[2],
                        vec![
                            (vec![str_attr("type", "major")], Val::I(v.pgmajfault as i64)),
                            (
                                vec![str_attr("type", "minor")],
                                Val::I(v.pgfault.saturating_sub(v.pgmajfault) as i64),
                            ),
                        ],
                    );
                }
            }
            Err(e) => errors.push(ScrapeError::new(e, 2)),
        }
        Scraped::single(em.finish(), errors)
    }
}

impl Scraper for PagingScraper {
    fn key(&self) -> &'static str {
        "paging"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let swaps = paths::read(&self.paths.proc("swaps"));
        let vmstat = paths::read(&self.paths.proc("vmstat"));
        self.scrape_texts(now, swaps, vmstat)
    }
}
