//! `cpu` scraper: `/proc/stat` per-CPU times (seconds, by state), their utilization between
//! two scrapes, `/proc/cpuinfo` frequencies and CPU counts.

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

/// (name, enabled by default), in this order: the indexes below.
pub const METRICS: &[(&str, bool)] = &[
    ("system.cpu.time", true),
    ("system.cpu.utilization", false),
    ("system.cpu.frequency", false),
    ("system.cpu.logical.count", false),
    ("system.cpu.physical.count", false),
];
const TIME: usize = 0;
const UTILIZATION: usize = 1;
const FREQUENCY: usize = 2;
const LOGICAL: usize = 3;
const PHYSICAL: usize = 4;

const DEF_TIME: Def = Def::sum(
    "system.cpu.time",
    "Total seconds each logical CPU spent on each mode.",
    "s",
    true,
);
const DEF_UTILIZATION: Def = Def::gauge(
    "system.cpu.utilization",
    "Difference in system.cpu.time since the last measurement per logical CPU, divided by the elapsed time (value in interval [0,1]).",
    "1",
);
const DEF_FREQUENCY: Def = Def::gauge(
    "system.cpu.frequency",
    "Current frequency of the CPU core in Hz.",
    "Hz",
);
const DEF_LOGICAL: Def = Def::sum(
    "system.cpu.logical.count",
    "Number of available logical CPUs.",
    "{cpu}",
    false,
);
const DEF_PHYSICAL: Def = Def::sum(
    "system.cpu.physical.count",
    "Number of available physical CPUs.",
    "{cpu}",
    false,
);

/// One CPU's times in seconds (gopsutil's `TimesStat`, Linux fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuTimes {
    /// `cpu0`, `cpu1`, ...
    pub cpu: String,
    pub user: f64,
    pub nice: f64,
    pub system: f64,
    pub idle: f64,
    pub iowait: f64,
    pub irq: f64,
    pub softirq: f64,
    pub steal: f64,
}

impl CpuTimes {
    /// The states in the order Go records them, with their `state` attribute values.
    fn states(&self) -> [(&'static str, f64); 8] {
        [
            ("user", self.user),
            ("system", self.system),
            ("idle", self.idle),
            ("interrupt", self.irq),
            ("nice", self.nice),
            ("softirq", self.softirq),
            ("steal", self.steal),
            ("wait", self.iowait),
        ]
    }

    /// Every state but guest time, which `user` and `nice` already include.
    fn total(&self) -> f64 {
        self.user
            + self.system
            + self.idle
            + self.nice
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// The per-CPU lines (`cpuN ...`, not the `cpu` total) of `/proc/stat`, ticks divided by
/// `ticks_per_second`.
pub fn parse_stat(stat: &str, ticks_per_second: f64) -> Result<Vec<CpuTimes>, String> {
    let mut out = Vec::new();
    for line in stat.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(name) = fields.next() else { continue };
        if !name.starts_with("cpu") || name == "cpu" {
            continue;
        }
        let mut v = [0f64; 8];
        for (i, slot) in v.iter_mut().enumerate() {
            match fields.next() {
                Some(f) => {
                    *slot = f
                        .parse::<u64>()
                        .map_err(|_| format!("invalid /proc/stat field {f:?} of {name}"))?
                        as f64
                        / ticks_per_second;
                }
                // Old kernels have fewer columns (no steal before 2.6.11).
                None if i >= 4 => break,
                None => return Err(format!("too few fields in /proc/stat line {name:?}")),
            }
        }
        out.push(CpuTimes {
            cpu: name.to_string(),
            user: v[0],
            nice: v[1],
            system: v[2],
            idle: v[3],
            iowait: v[4],
            irq: v[5],
            softirq: v[6],
            steal: v[7],
        });
    }
    Ok(out)
}

/// What `/proc/cpuinfo` says: per logical CPU its frequency (MHz), and the number of
/// distinct physical cores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    /// (`cpuN`, MHz) for every processor entry with a `cpu MHz` line.
    pub mhz: Vec<(String, f64)>,
    pub logical: usize,
    pub physical: usize,
}

pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut cores: Vec<(String, String)> = Vec::new();
    // (processor, physical id, core id) of the entry being read
    let mut entry: Option<(String, String, Option<String>)> = None;
    let mut finish = |entry: Option<(String, String, Option<String>)>, info: &mut CpuInfo| {
        if let Some((_, physical_id, core_id)) = entry {
            info.logical += 1;
            if let Some(c) = core_id {
                let key = (physical_id, c);
                if !cores.contains(&key) {
                    cores.push(key);
                }
            }
        }
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match (key, entry.as_mut()) {
            ("processor", _) => {
                finish(entry.take(), &mut info);
                entry = Some((value.to_string(), String::new(), None));
            }
            ("physical id", Some(e)) => e.1 = value.to_string(),
            ("core id", Some(e)) => e.2 = Some(value.to_string()),
            ("cpu MHz", Some(e)) => {
                if let Ok(mhz) = value.parse::<f64>() {
                    info.mhz.push((format!("cpu{}", e.0), mhz));
                }
            }
            _ => {}
        }
    }
    finish(entry.take(), &mut info);
    info.physical = if cores.is_empty() {
        info.logical
    } else {
        cores.len()
    };
    info
}

pub struct CpuScraper {
    paths: HostPaths,
    enabled: Enabled,
    ticks_per_second: f64,
    start: u64,
    previous: Option<Vec<CpuTimes>>,
}

impl CpuScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<CpuScraper, String> {
        Ok(CpuScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
            start: 0,
            previous: None,
        })
    }

    /// A scrape at `now` from the texts of `/proc/stat` and `/proc/cpuinfo` (tests feed
    /// fixtures here).
    pub fn scrape_texts(
        &mut self,
        now: u64,
        stat: Result<String, String>,
        cpuinfo: Option<Result<String, String>>,
    ) -> Scraped {
        let mut em = Emitter::new(self.start, now);
        let mut errors = Vec::new();
        match stat.and_then(|s| parse_stat(&s, self.ticks_per_second)) {
            Ok(times) => {
                if self.enabled.on(TIME) {
                    let mut points = Vec::with_capacity(times.len() * 8);
                    for t in &times {
                        for (state, v) in t.states() {
                            points.push((
                                vec![str_attr("cpu", &t.cpu), str_attr("state", state)],
                                Val::D(v),
                            ));
                        }
                    }
                    em.add(&DEF_TIME, points);
                }
                if self.enabled.on(UTILIZATION) {
                    if let Some(prev) = &self.previous {
                        em.add(&DEF_UTILIZATION, utilization(prev, &times));
                    }
                    self.previous = Some(times);
                }
            }
            Err(e) => errors.push(ScrapeError::new(
                e,
                1 + usize::from(self.enabled.on(UTILIZATION)),
            )),
        }
        if let Some(cpuinfo) = cpuinfo {
            match cpuinfo {
                Ok(text) => {
                    let info = parse_cpuinfo(&text);
                    if self.enabled.on(FREQUENCY) {
                        let points = info
                            .mhz
                            .iter()
                            .map(|(cpu, mhz)| (vec![str_attr("cpu", cpu)], Val::D(mhz * 1e6)))
                            .collect();
                        em.add(&DEF_FREQUENCY, points);
                    }
                    if self.enabled.on(LOGICAL) {
                        em.one(&DEF_LOGICAL, Val::I(info.logical as i64));
                    }
                    if self.enabled.on(PHYSICAL) {
                        em.one(&DEF_PHYSICAL, Val::I(info.physical as i64));
                    }
                }
                Err(e) => errors.push(ScrapeError::new(e, 1)),
            }
        }
        Scraped::single(em.finish(), errors)
    }

    fn wants_cpuinfo(&self) -> bool {
        self.enabled.on(FREQUENCY) || self.enabled.on(LOGICAL) || self.enabled.on(PHYSICAL)
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64, ticks_per_second: f64) {
        self.start = start;
        self.ticks_per_second = ticks_per_second;
    }
}

/// Go's `ucal`: per CPU seen in both scrapes, each state's delta over the delta of the
/// total (so the states of a CPU add up to 1).
fn utilization(
    prev: &[CpuTimes],
    now: &[CpuTimes],
) -> Vec<(Vec<pdata::proto::common::v1::KeyValue>, Val)> {
    let mut points = Vec::new();
    for p in prev {
        let Some(n) = now.iter().find(|n| n.cpu == p.cpu) else {
            continue;
        };
        let elapsed = n.total() - p.total();
        for ((state, a), (_, b)) in p.states().into_iter().zip(n.states()) {
            let v = if elapsed <= 0.0 {
                0.0
            } else {
                (b - a) / elapsed
            };
            points.push((
                vec![str_attr("cpu", &p.cpu), str_attr("state", state)],
                Val::D(v),
            ));
        }
    }
    points
}

impl Scraper for CpuScraper {
    fn key(&self) -> &'static str {
        "cpu"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let stat = if self.enabled.on(TIME) || self.enabled.on(UTILIZATION) {
            paths::read(&self.paths.proc("stat"))
        } else {
            Ok(String::new())
        };
        let cpuinfo = self
            .wants_cpuinfo()
            .then(|| paths::read(&self.paths.proc("cpuinfo")));
        self.scrape_texts(now, stat, cpuinfo)
    }
}
