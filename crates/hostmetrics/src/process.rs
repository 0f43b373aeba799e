//! `process` scraper: one resource per process (`process.pid`, `process.executable.name`,
//! ...) with its CPU time, memory, disk I/O and the optional per-process metrics, read from
//! `/proc/<pid>/{stat,statm,status,io,cmdline,exe,fd}` as gopsutil reads them. Processes
//! whose name or executable cannot be read are skipped with an error, unless muted
//! (`mute_process_name_error`, `mute_process_exe_error`, `mute_process_all_errors`), as Go
//! does; the same for user, I/O and cgroup errors, which do not skip the process.

use std::collections::HashMap;
use std::time::Duration;

use pdata::proto::common::v1::KeyValue;
use serde::Deserialize;

use crate::emit::{Def, Emitter, Val, int_attr, str_attr};
use crate::filter::{NameFilter, match_config};
use crate::paths::{self, HostPaths};
use crate::processes::pids;
use crate::toggles::{Enabled, MetricsConfig, ResourceAttributesConfig};
use crate::{ScrapeError, Scraped, Scraper};

match_config!(
    /// `include`/`exclude` of the process scraper: executable names.
    NameMatch,
    names
);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include: Option<NameMatch>,
    pub exclude: Option<NameMatch>,
    pub mute_process_name_error: bool,
    pub mute_process_exe_error: bool,
    pub mute_process_io_error: bool,
    pub mute_process_user_error: bool,
    pub mute_process_cgroup_error: bool,
    pub mute_process_all_errors: bool,
    /// Processes younger than this are left for a later scrape.
    pub scrape_process_delay: Option<String>,
    pub metrics: MetricsConfig,
    pub resource_attributes: ResourceAttributesConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("process.cpu.time", true),
    ("process.cpu.utilization", false),
    ("process.memory.usage", true),
    ("process.memory.virtual", true),
    ("process.memory.utilization", false),
    ("process.disk.io", true),
    ("process.paging.faults", false),
    ("process.signals_pending", false),
    ("process.threads", false),
    ("process.open_file_descriptors", false),
    ("process.handles", false),
    ("process.context_switches", false),
    ("process.disk.operations", false),
    ("process.uptime", false),
];

const DEFS: [Def; 14] = [
    Def::sum(
        "process.cpu.time",
        "Total CPU seconds broken down by different states.",
        "s",
        true,
    ),
    Def::gauge(
        "process.cpu.utilization",
        "Percentage of total CPU time used by the process since last scrape, expressed as a value between 0 and 1. On the first scrape, no data point is emitted for this metric.",
        "1",
    ),
    Def::sum(
        "process.memory.usage",
        "The amount of physical memory in use.",
        "By",
        false,
    ),
    Def::sum(
        "process.memory.virtual",
        "Virtual memory size.",
        "By",
        false,
    ),
    Def::gauge(
        "process.memory.utilization",
        "Percentage of total physical memory that is used by the process.",
        "1",
    ),
    Def::sum("process.disk.io", "Disk bytes transferred.", "By", true),
    Def::sum(
        "process.paging.faults",
        "Number of page faults the process has made.",
        "{faults}",
        true,
    ),
    Def::sum(
        "process.signals_pending",
        "Number of pending signals for the process.",
        "{signals}",
        false,
    ),
    Def::sum(
        "process.threads",
        "Process threads count.",
        "{threads}",
        false,
    ),
    Def::sum(
        "process.open_file_descriptors",
        "Number of file descriptors in use by the process.",
        "{count}",
        false,
    ),
    Def::sum(
        "process.handles",
        "Number of handles held by the process.",
        "{count}",
        false,
    ),
    Def::sum(
        "process.context_switches",
        "Number of times the process has been context switched.",
        "{count}",
        true,
    ),
    Def::sum(
        "process.disk.operations",
        "Number of disk operations performed by the process.",
        "{operations}",
        true,
    ),
    Def::gauge(
        "process.uptime",
        "The time the process has been running.",
        "s",
    ),
];

pub const RESOURCE_ATTRIBUTES: &[(&str, bool)] = &[
    ("process.pid", true),
    ("process.parent_pid", true),
    ("process.executable.name", true),
    ("process.executable.path", true),
    ("process.command", true),
    ("process.command_line", true),
    ("process.owner", true),
    ("process.cgroup", false),
];

/// The fields of `/proc/<pid>/stat` the scraper uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PidStat {
    pub ppid: i64,
    pub minflt: u64,
    pub majflt: u64,
    pub utime: u64,
    pub stime: u64,
    pub num_threads: i64,
    pub starttime: u64,
    pub blkio_ticks: u64,
}

pub fn parse_pid_stat(text: &str) -> Result<PidStat, String> {
    let close = text.rfind(')').ok_or("no command in stat")?;
    let f: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let n = |i: usize| -> Result<u64, String> {
        f.get(i)
            .ok_or_else(|| format!("stat has {} fields", f.len() + 2))?
            .parse::<i64>()
            .map(|v| v.max(0) as u64)
            .map_err(|_| format!("invalid stat field {:?}", f[i]))
    };
    Ok(PidStat {
        ppid: n(1)? as i64,
        minflt: n(7)?,
        majflt: n(9)?,
        utime: n(11)?,
        stime: n(12)?,
        num_threads: n(17)? as i64,
        starttime: n(19)?,
        // absent before Linux 2.6.18
        blkio_ticks: n(39).unwrap_or(0),
    })
}

/// What `/proc/<pid>/status` adds: the name, real uid, context switches, pending signals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PidStatus {
    pub name: String,
    pub uid: Option<u32>,
    pub voluntary_ctxt: i64,
    pub involuntary_ctxt: i64,
    pub sig_queued: i64,
}

pub fn parse_pid_status(text: &str) -> PidStatus {
    let mut s = PidStatus::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Name" => s.name = v.to_string(),
            "Uid" => {
                s.uid = v
                    .split_ascii_whitespace()
                    .next()
                    .and_then(|u| u.parse().ok())
            }
            "voluntary_ctxt_switches" => s.voluntary_ctxt = v.parse().unwrap_or(0),
            "nonvoluntary_ctxt_switches" => s.involuntary_ctxt = v.parse().unwrap_or(0),
            "SigQ" => {
                s.sig_queued = v
                    .split('/')
                    .next()
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    s
}

/// `/proc/<pid>/io`: (read_bytes, write_bytes, syscr, syscw).
pub fn parse_pid_io(text: &str) -> (i64, i64, i64, i64) {
    let mut v = (0, 0, 0, 0);
    for line in text.lines() {
        let Some((k, n)) = line.split_once(':') else {
            continue;
        };
        let n = n.trim().parse().unwrap_or(0);
        match k {
            "read_bytes" => v.0 = n,
            "write_bytes" => v.1 = n,
            "syscr" => v.2 = n,
            "syscw" => v.3 = n,
            _ => {}
        }
    }
    v
}

/// uid → user name of a passwd file.
fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

pub struct ProcessScraper {
    paths: HostPaths,
    enabled: Enabled,
    resource: Enabled,
    filter: NameFilter,
    mute_name: bool,
    mute_exe: bool,
    mute_io: bool,
    mute_user: bool,
    mute_cgroup: bool,
    delay: Duration,
    ticks_per_second: u64,
    page_size: u64,
    boot_secs: u64,
    cpus: f64,
    /// (pid, start ms) → (scrape time ns, user, system, wait seconds) of the last scrape.
    previous: HashMap<(i64, u64), (u64, [f64; 3])>,
}

impl ProcessScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<ProcessScraper, String> {
        let delay = match &cfg.scrape_process_delay {
            None => Duration::ZERO,
            Some(s) => parse_go_duration(s)
                .ok_or_else(|| format!("scrape_process_delay: time: invalid duration {s:?}"))?,
        };
        let all = cfg.mute_process_all_errors;
        Ok(ProcessScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            resource: Enabled::new(
                RESOURCE_ATTRIBUTES,
                &cfg.resource_attributes,
                "resource_attributes",
            )?,
            filter: NameFilter::new(
                cfg.include.as_ref().map(|m| m as _),
                cfg.exclude.as_ref().map(|m| m as _),
                |side| format!("error creating process {side} filters"),
            )?,
            mute_name: all || cfg.mute_process_name_error,
            mute_exe: all || cfg.mute_process_exe_error,
            mute_io: all || cfg.mute_process_io_error,
            mute_user: all || cfg.mute_process_user_error,
            mute_cgroup: all || cfg.mute_process_cgroup_error,
            delay,
            ticks_per_second: rustix::param::clock_ticks_per_second(),
            page_size: rustix::param::page_size() as u64,
            boot_secs: 0,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
            previous: HashMap::new(),
        })
    }

    #[cfg(test)]
    pub(crate) fn set_host(&mut self, boot_secs: u64, ticks: u64, page_size: u64, cpus: f64) {
        self.boot_secs = boot_secs;
        self.ticks_per_second = ticks;
        self.page_size = page_size;
        self.cpus = cpus;
    }

    fn pid_file(&self, pid: i64, name: &str) -> std::path::PathBuf {
        self.paths.proc(&format!("{pid}/{name}"))
    }

    /// Scrapes every process at `now`.
    pub fn scrape_at(&mut self, now: u64) -> Scraped {
        let pids = match pids(&self.paths) {
            Ok(p) => p,
            Err(e) => {
                return Scraped {
                    resources: Vec::new(),
                    errors: vec![ScrapeError::new(e, METRICS.len())],
                };
            }
        };
        let mem_total = self.wants(4).then(|| {
            paths::read(&self.paths.proc("meminfo"))
                .ok()
                .and_then(|t| crate::memory::parse_meminfo(&t).ok())
                .map_or(0, |m| m.total)
        });
        let users = if self.resource.on(6) {
            parse_passwd(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
        } else {
            HashMap::new()
        };
        let mut out = Scraped::default();
        let mut seen = HashMap::with_capacity(pids.len());
        for pid in pids {
            // A process that exits while it is read is not an error: it is gone.
            let Ok(stat_text) = std::fs::read_to_string(self.pid_file(pid, "stat")) else {
                continue;
            };
            let stat = match parse_pid_stat(&stat_text) {
                Ok(s) => s,
                Err(e) => {
                    out.errors.push(ScrapeError::new(
                        format!("error reading stat for pid {pid}: {e}"),
                        0,
                    ));
                    continue;
                }
            };
            let status = match std::fs::read_to_string(self.pid_file(pid, "status")) {
                Ok(t) => parse_pid_status(&t),
                Err(e) => {
                    if !self.mute_name {
                        out.errors.push(ScrapeError::new(
                            format!(
                                "error reading process executable for pid {pid}: open {}: {}",
                                self.pid_file(pid, "status").display(),
                                paths::go_io_error(&e)
                            ),
                            0,
                        ));
                    }
                    continue;
                }
            };
            let exe = match std::fs::read_link(self.pid_file(pid, "exe")) {
                Ok(p) => p.to_string_lossy().into_owned(),
                Err(e) => {
                    if !self.mute_exe {
                        out.errors.push(ScrapeError::new(
                            format!(
                                "error reading process executable for pid {pid}: readlink {}: {}",
                                self.pid_file(pid, "exe").display(),
                                paths::go_io_error(&e)
                            ),
                            0,
                        ));
                    }
                    continue;
                }
            };
            // gopsutil's Name: the 15-byte comm of status, completed from the command line.
            let cmdline: Vec<String> = std::fs::read(self.pid_file(pid, "cmdline"))
                .map(|b| {
                    b.split(|c| *c == 0)
                        .filter(|s| !s.is_empty())
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let mut name = status.name.clone();
            if name.len() >= 15
                && let Some(first) = cmdline.first()
            {
                let base = first.rsplit('/').next().unwrap_or(first);
                if base.starts_with(&name) {
                    name = base.to_string();
                }
            }
            if !self.filter.allows(&name) {
                continue;
            }
            let create_ms = (stat.starttime / self.ticks_per_second.max(1) + self.boot_secs) * 1000;
            if !self.delay.is_zero() && now / 1_000_000 < create_ms + self.delay.as_millis() as u64
            {
                continue;
            }
            let mut resource: Vec<KeyValue> = Vec::with_capacity(8);
            let r = |i: usize| self.resource.on(i);
            if r(0) {
                resource.push(int_attr("process.pid", pid));
            }
            if r(1) {
                resource.push(int_attr("process.parent_pid", stat.ppid));
            }
            if r(2) {
                resource.push(str_attr("process.executable.name", &name));
            }
            if r(3) {
                resource.push(str_attr("process.executable.path", &exe));
            }
            if r(4) {
                resource.push(str_attr(
                    "process.command",
                    cmdline.first().map_or("", String::as_str),
                ));
            }
            if r(5) {
                resource.push(str_attr("process.command_line", &cmdline.join(" ")));
            }
            if r(6) {
                match status.uid.and_then(|u| users.get(&u)) {
                    Some(user) => resource.push(str_attr("process.owner", user)),
                    None => {
                        if !self.mute_user {
                            out.errors.push(ScrapeError::new(
                                format!("error reading username for process {name:?} (pid {pid}): user: unknown userid {}", status.uid.map_or(-1, i64::from)),
                                0,
                            ));
                        }
                    }
                }
            }
            if r(7) {
                match std::fs::read_to_string(self.pid_file(pid, "cgroup")) {
                    Ok(t) => resource.push(str_attr("process.cgroup", t.trim_end())),
                    Err(e) if !self.mute_cgroup => out.errors.push(ScrapeError::new(
                        format!(
                            "error reading process cgroup for process {name:?} (pid {pid}): {}",
                            paths::go_io_error(&e)
                        ),
                        0,
                    )),
                    Err(_) => {}
                }
            }

            let mut em = Emitter::new(create_ms * 1_000_000, now);
            let ticks = self.ticks_per_second.max(1) as f64;
            let times = [
                stat.utime as f64 / ticks,
                stat.stime as f64 / ticks,
                stat.blkio_ticks as f64 / ticks,
            ];
            let states = ["user", "system", "wait"];
            if self.enabled.on(0) {
                em.add(
                    &DEFS[0],
                    states
                        .iter()
                        .zip(times)
                        .map(|(s, v)| (vec![str_attr("state", s)], Val::D(v)))
                        .collect(),
                );
            }
            if self.enabled.on(1) {
                if let Some((then, prev)) = self.previous.get(&(pid, create_ms)) {
                    let elapsed = now.saturating_sub(*then) as f64 / 1e9 * self.cpus;
                    let points = states
                        .iter()
                        .zip(times.iter().zip(prev))
                        .map(|(s, (v, p))| {
                            let u = if elapsed > 0.0 {
                                (v - p) / elapsed
                            } else {
                                0.0
                            };
                            (vec![str_attr("state", s)], Val::D(u))
                        })
                        .collect();
                    em.add(&DEFS[1], points);
                }
                seen.insert((pid, create_ms), (now, times));
            }
            if self.wants(2) || self.wants(3) || self.wants(4) {
                match std::fs::read_to_string(self.pid_file(pid, "statm")) {
                    Ok(t) => {
                        let mut f = t
                            .split_ascii_whitespace()
                            .map(|v| v.parse::<u64>().unwrap_or(0));
                        let vms = f.next().unwrap_or(0) * self.page_size;
                        let rss = f.next().unwrap_or(0) * self.page_size;
                        if self.enabled.on(2) {
                            em.one(&DEFS[2], Val::I(rss as i64));
                        }
                        if self.enabled.on(3) {
                            em.one(&DEFS[3], Val::I(vms as i64));
                        }
                        if let Some(total) = mem_total.filter(|t| *t > 0) {
                            em.one(&DEFS[4], Val::D(rss as f64 / total as f64));
                        }
                    }
                    Err(e) => out.errors.push(ScrapeError::new(
                        format!(
                            "error reading memory info for process {name:?} (pid {pid}): {}",
                            paths::go_io_error(&e)
                        ),
                        2,
                    )),
                }
            }
            if self.wants(5) || self.wants(12) {
                match std::fs::read_to_string(self.pid_file(pid, "io")) {
                    Ok(t) => {
                        let (rb, wb, rc, wc) = parse_pid_io(&t);
                        let dir = |d: &str, v: i64| (vec![str_attr("direction", d)], Val::I(v));
                        if self.enabled.on(5) {
                            em.add(&DEFS[5], vec![dir("read", rb), dir("write", wb)]);
                        }
                        if self.enabled.on(12) {
                            em.add(&DEFS[12], vec![dir("read", rc), dir("write", wc)]);
                        }
                    }
                    Err(e) if !self.mute_io => out.errors.push(ScrapeError::new(
                        format!("error reading disk usage for process {name:?} (pid {pid}): open {}: {}", self.pid_file(pid, "io").display(), paths::go_io_error(&e)),
                        1,
                    )),
                    Err(_) => {}
                }
            }
            if self.enabled.on(6) {
                em.add(
                    &DEFS[6],
                    vec![
                        (vec![str_attr("type", "major")], Val::I(stat.majflt as i64)),
                        (vec![str_attr("type", "minor")], Val::I(stat.minflt as i64)),
                    ],
                );
            }
            if self.enabled.on(7) {
                em.one(&DEFS[7], Val::I(status.sig_queued));
            }
            if self.enabled.on(8) {
                em.one(&DEFS[8], Val::I(stat.num_threads));
            }
            if self.enabled.on(9) {
                match std::fs::read_dir(self.pid_file(pid, "fd")) {
                    Ok(d) => em.one(&DEFS[9], Val::I(d.count() as i64)),
                    Err(e) => out.errors.push(ScrapeError::new(
                        format!("error reading open file descriptor count for process {name:?} (pid {pid}): {}", paths::go_io_error(&e)),
                        1,
                    )),
                }
            }
            // process.handles (10) exists on Windows only.
            if self.enabled.on(11) {
                em.add(
                    &DEFS[11],
                    vec![
                        (
                            vec![str_attr("type", "involuntary")],
                            Val::I(status.involuntary_ctxt),
                        ),
                        (
                            vec![str_attr("type", "voluntary")],
                            Val::I(status.voluntary_ctxt),
                        ),
                    ],
                );
            }
            if self.enabled.on(13) {
                em.one(
                    &DEFS[13],
                    Val::D((now / 1_000_000).saturating_sub(create_ms) as f64 / 1000.0),
                );
            }
            let metrics = em.finish();
            if !metrics.is_empty() {
                out.resources.push((resource, metrics));
            }
        }
        if self.enabled.on(1) {
            // Only the processes seen now: memory stays bounded by the live processes.
            self.previous = seen;
        }
        out
    }

    fn wants(&self, i: usize) -> bool {
        self.enabled.on(i)
    }
}

/// A Go duration string (`10s`, `1m30s`, `500ms`).
fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(n * secs);
        rest = &rest[unit_end..];
    }
    Some(total)
}

impl Scraper for ProcessScraper {
    fn key(&self) -> &'static str {
        "process"
    }

    fn start(&mut self) -> Result<(), String> {
        self.boot_secs = paths::boot_time(&self.paths)?;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        self.scrape_at(crate::now_nanos())
    }
}
