//! `load` scraper: `/proc/loadavg`, optionally divided by the number of CPUs
//! (`cpu_average`).

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{ScrapeError, Scraped, Scraper};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Divide the averages by the number of logical CPUs.
    pub cpu_average: bool,
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("system.cpu.load_average.1m", true),
    ("system.cpu.load_average.5m", true),
    ("system.cpu.load_average.15m", true),
];

const DEFS: [Def; 3] = [
    Def::gauge(
        "system.cpu.load_average.1m",
        "Average CPU Load over 1 minute.",
        "{thread}",
    ),
    Def::gauge(
        "system.cpu.load_average.5m",
        "Average CPU Load over 5 minutes.",
        "{thread}",
    ),
    Def::gauge(
        "system.cpu.load_average.15m",
        "Average CPU Load over 15 minutes.",
        "{thread}",
    ),
];

/// The 1, 5 and 15 minute averages of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], String> {
    let mut f = text.split_ascii_whitespace();
    let mut out = [0f64; 3];
    for slot in &mut out {
        let v = f.next().ok_or("too few fields in /proc/loadavg")?;
        *slot = v
            .parse()
            .map_err(|_| format!("invalid /proc/loadavg value {v:?}"))?;
    }
    Ok(out)
}

pub struct LoadScraper {
    paths: HostPaths,
    enabled: Enabled,
    cpu_average: bool,
    cpus: f64,
    start: u64,
}

impl LoadScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<LoadScraper, String> {
        Ok(LoadScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            cpu_average: cfg.cpu_average,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
            start: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64, cpus: f64) {
        self.start = start;
        self.cpus = cpus;
    }

    pub fn scrape_text(&mut self, now: u64, loadavg: Result<String, String>) -> Scraped {
        let avg = match loadavg.and_then(|t| parse_loadavg(&t)) {
            Ok(a) => a,
            Err(e) => return Scraped::single(Vec::new(), vec![ScrapeError::new(e, 3)]),
        };
        let mut em = Emitter::new(self.start, now);
        for (i, v) in avg.into_iter().enumerate() {
            if self.enabled.on(i) {
                let v = if self.cpu_average { v / self.cpus } else { v };
                em.one(&DEFS[i], Val::D(v));
            }
        }
        Scraped::single(em.finish(), Vec::new())
    }
}

impl Scraper for LoadScraper {
    fn key(&self) -> &'static str {
        "load"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let text = paths::read(&self.paths.proc("loadavg"));
        self.scrape_text(now, text)
    }
}
