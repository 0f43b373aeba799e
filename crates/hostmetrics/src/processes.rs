//! `processes` scraper: processes by status and processes created since boot, as Go counts
//! them on Linux: the state letter of every `/proc/<pid>/stat`, then `running` and `blocked`
//! replaced by `procs_running` / `procs_blocked` of `/proc/stat` (one read, more accurate),
//! and `unknown` topped up to the scheduling entities of `/proc/loadavg` (`2/469`).

use std::collections::BTreeMap;

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
    ("system.processes.count", true),
    ("system.processes.created", true),
];

const DEFS: [Def; 2] = [
    Def::sum(
        "system.processes.count",
        "Total number of processes in each state.",
        "{processes}",
        false,
    ),
    Def::sum(
        "system.processes.created",
        "Total number of created processes.",
        "{processes}",
        true,
    ),
];

/// The `status` attribute of a process state letter (gopsutil's `convertStatusChar`, then
/// Go's attribute values).
pub fn status_of(letter: char) -> &'static str {
    match letter {
        'A' => "daemon",
        'D' | 'U' => "blocked",
        'E' => "detached",
        'I' => "idle",
        'L' => "locked",
        'O' => "orphan",
        'R' => "running",
        'S' => "sleeping",
        'T' | 't' => "stopped",
        'W' => "paging",
        'Y' => "system",
        'Z' => "zombies",
        _ => "unknown",
    }
}

/// The state letter of a `/proc/<pid>/stat` line (after the `(comm)`, which may hold spaces
/// and parentheses).
pub fn state_letter(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// A `name value` line of `/proc/stat` (`processes`, `procs_running`, `procs_blocked`).
pub fn stat_value(stat: &str, name: &str) -> Option<i64> {
    stat.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The total after the slash in the fourth field of `/proc/loadavg` (gopsutil's
/// `ProcsTotal`).
pub fn loadavg_total(loadavg: &str) -> Option<i64> {
    loadavg
        .split_ascii_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

pub struct ProcessesScraper {
    paths: HostPaths,
    enabled: Enabled,
    start: u64,
}

impl ProcessesScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<ProcessesScraper, String> {
        Ok(ProcessesScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            start: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    /// Counts from the stat lines of the processes, `/proc/stat` and `/proc/loadavg`.
    pub fn scrape_texts<'a>(
        &mut self,
        now: u64,
        process_stats: Result<impl IntoIterator<Item = &'a str>, String>,
        stat: Result<String, String>,
        loadavg: Result<String, String>,
    ) -> Scraped {
        let mut em = Emitter::new(self.start, now);
        let stat = match stat {
            Ok(s) => s,
            Err(e) => return Scraped::single(Vec::new(), vec![ScrapeError::new(e, 2)]),
        };
        let mut errors = Vec::new();
        if self.enabled.on(0) {
            let misc = |name| {
                stat_value(&stat, name).ok_or_else(|| format!("no {name} line in /proc/stat"))
            };
            let inputs = process_stats.and_then(|stats| {
                let total = loadavg.and_then(|t| {
                    loadavg_total(&t).ok_or_else(|| "invalid /proc/loadavg".to_string())
                })?;
                Ok((stats, misc("procs_running")?, misc("procs_blocked")?, total))
            });
            match inputs {
                Ok((stats, running, blocked, total)) => {
                    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
                    for s in stats {
                        let status = state_letter(s).map_or("unknown", status_of);
                        *counts.entry(status).or_insert(0) += 1;
                    }
                    counts.insert("running", running);
                    counts.insert("blocked", blocked);
                    let known: i64 = counts.values().sum();
                    if total > known {
                        counts.insert("unknown", total - known);
                    }
                    let points = counts
                        .into_iter()
                        .map(|(s, n)| (vec![str_attr("status", s)], Val::I(n)))
                        .collect();
                    em.add(&DEFS[0], points);
                }
                Err(e) => errors.push(ScrapeError::new(e, 1)),
            }
        }
        if self.enabled.on(1) {
            match stat_value(&stat, "processes") {
                Some(n) => em.one(&DEFS[1], Val::I(n)),
                None => errors.push(ScrapeError::new("no processes line in /proc/stat", 1)),
            }
        }
        Scraped::single(em.finish(), errors)
    }
}

/// The numeric entries of the proc directory: the processes.
pub(crate) fn pids(paths: &HostPaths) -> Result<Vec<i64>, String> {
    let dir = std::fs::read_dir(&paths.proc)
        .map_err(|e| format!("open {}: {}", paths.proc.display(), paths::go_io_error(&e)))?;
    let mut out: Vec<i64> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    out.sort_unstable();
    Ok(out)
}

impl Scraper for ProcessesScraper {
    fn key(&self) -> &'static str {
        "processes"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        // A process that exits between the listing and the read is simply not counted.
        let stats = pids(&self.paths).map(|pids| {
            pids.into_iter()
                .filter_map(|pid| {
                    std::fs::read_to_string(self.paths.proc(&format!("{pid}/stat"))).ok()
                })
                .collect::<Vec<String>>()
        });
        let stat = paths::read(&self.paths.proc("stat"));
        let loadavg = paths::read(&self.paths.proc("loadavg"));
        match stats {
            Ok(stats) => {
                self.scrape_texts(now, Ok(stats.iter().map(String::as_str)), stat, loadavg)
            }
            Err(e) => self.scrape_texts(now, Err::<Vec<&str>, _>(e), stat, loadavg),
        }
    }
}
