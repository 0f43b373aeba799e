//! Measuring memory and deciding whether to refuse: the limits, the periodic check, and
//! the pure parsers for `/proc/meminfo` and cgroup files.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use runtime::admission::PressureSource;

use super::Config;

const MIB: u64 = 1024 * 1024;

/// The hard limit and the soft limit (hard − spike), in bytes of resident memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub hard: u64,
    pub soft: u64,
}

impl Limits {
    /// From the config; `total_memory` is asked only for percentage limits.
    pub fn from_config(
        cfg: &Config,
        total_memory: impl FnOnce() -> Result<u64, String>,
    ) -> Result<Limits, String> {
        let (hard, spike) = if cfg.limit_mib > 0 {
            (
                u64::from(cfg.limit_mib) * MIB,
                u64::from(cfg.spike_limit_mib) * MIB,
            )
        } else {
            let total = total_memory().map_err(|e| {
                format!("failed to get total memory, use fixed memory settings (limit_mib): {e}")
            })?;
            (
                u64::from(cfg.limit_percentage) * total / 100,
                u64::from(cfg.spike_limit_percentage) * total / 100,
            )
        };
        // An unset spike limit is 20% of the hard limit, as in Go.
        let spike = if spike == 0 { hard / 5 } else { spike };
        Ok(Limits {
            hard,
            soft: hard.saturating_sub(spike),
        })
    }
}

/// What one check found, for logging and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    StartedRefusing,
    StoppedRefusing,
}

/// The shared refuse/accept state and the check that updates it.
pub struct Limiter {
    pub limits: Limits,
    refusing: AtomicBool,
    min_release_soft: Duration,
    min_release_hard: Duration,
    last_release: Mutex<Option<Instant>>,
    usage: Box<dyn Fn() -> Option<u64> + Send + Sync>,
    release: Box<dyn Fn() + Send + Sync>,
    id: String,
    /// When the last check ran, in nanoseconds since `created`.
    last_check: AtomicU64,
    created: Instant,
    /// This limiter's say in [`runtime::admission`] while it runs: receivers refuse before
    /// reading a request while any limiter refuses.
    pressure: Mutex<Option<PressureSource>>,
}

/// How stale the verdict may be when data arrives. The periodic `check_interval` alone lets
/// a burst grow memory for a whole interval (at 150 MB/s of OTLP, 150 MB per second of
/// interval) before anything is refused; re-measuring on the data path at most this often
/// bounds the overshoot to a few milliseconds of input, for a few microseconds of CPU.
pub const MAX_VERDICT_AGE: Duration = Duration::from_millis(5);

impl Limiter {
    /// A limiter measuring the process's resident memory and releasing freed heap with
    /// `malloc_trim` (see [`release_free_memory`]).
    pub fn new(id: String, cfg: &Config, limits: Limits) -> Limiter {
        Limiter::with_probes(
            id,
            cfg,
            limits,
            runtime::telemetry::process_rss_bytes,
            release_free_memory,
        )
    }

    pub fn with_probes(
        id: String,
        cfg: &Config,
        limits: Limits,
        usage: impl Fn() -> Option<u64> + Send + Sync + 'static,
        release: impl Fn() + Send + Sync + 'static,
    ) -> Limiter {
        Limiter {
            limits,
            refusing: AtomicBool::new(false),
            min_release_soft: cfg.min_gc_interval_when_soft_limited.0,
            min_release_hard: cfg.min_gc_interval_when_hard_limited.0,
            last_release: Mutex::new(None),
            usage: Box::new(usage),
            release: Box::new(release),
            id,
            last_check: AtomicU64::new(0),
            created: Instant::now(),
            pressure: Mutex::new(None),
        }
    }

    /// Reports every verdict from now on to `source` (see [`runtime::admission`]).
    pub fn attach(&self, source: PressureSource) {
        source.set_refusing(self.must_refuse());
        *self.pressure.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    /// Stops reporting; the pressure this limiter signalled ends with it.
    pub fn detach(&self) {
        self.pressure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// The bytes of requests receivers may hold at once while this limiter runs: a quarter
    /// of the spike limit (the memory the limits leave for data in flight), the rest being
    /// for what the pipeline holds after the receiver. Measured on one core under 2x overload
    /// with 4096 requests of 57 KB outstanding and limit 256 / spike 64 MiB: the whole spike
    /// (~1150 requests being read at once) let admitted requests wait 1-1.5 s in the
    /// collector, so 2-6 % of the items timed out at the sender after being delivered (work
    /// wasted, and duplicates when retried), and memory still reached the soft limit; a
    /// quarter delivered as much with 3-10x fewer timeouts and no refusals by the limiter; a
    /// sixteenth starved the pipeline (-35 % delivered).
    pub fn read_budget(&self) -> u64 {
        (self.limits.hard - self.limits.soft) / 4
    }

    /// Runs [`Limiter::check`] if the last one is older than `max_age`; one caller wins when
    /// several race.
    pub fn check_if_older_than(&self, max_age: Duration) {
        let now = self.created.elapsed().as_nanos() as u64;
        let last = self.last_check.load(Ordering::Relaxed);
        if now.saturating_sub(last) < max_age.as_nanos() as u64 {
            return;
        }
        if self
            .last_check
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.check();
        }
    }

    /// True while memory is above the soft limit.
    pub fn must_refuse(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }

    /// Measures memory and updates the state, releasing freed memory when over a limit.
    /// Logs the Go collector's messages on every change of state.
    pub fn check(&self) -> Transition {
        self.last_check
            .store(self.created.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let Some(mut used) = (self.usage)() else {
            // Cannot measure (no /proc): never refuse on a guess.
            return Transition::None;
        };
        tracing::debug!(processor = %self.id, cur_mem_mib = used / MIB, "Currently used memory.");
        if used >= self.limits.hard {
            tracing::warn!(processor = %self.id, cur_mem_mib = used / MIB, "Memory usage is above hard limit. Forcing a GC.");
            used = self.release_if_due(self.min_release_hard).unwrap_or(used);
        }
        let was_refusing = self.must_refuse();
        let mut refuse = used >= self.limits.soft;
        // As Go, on every check above the soft limit, not only when refusing begins: while
        // refusing, what was in flight drains and is freed, but resident memory only falls
        // once freed pages are handed back, and until then data is refused for nothing.
        if refuse && let Some(after) = self.release_if_due(self.min_release_soft) {
            refuse = after >= self.limits.soft;
            used = after;
        }
        if was_refusing && !refuse {
            tracing::info!(processor = %self.id, cur_mem_mib = used / MIB, "Memory usage back within limits. Resuming normal operation.");
        }
        if !was_refusing && refuse {
            tracing::warn!(processor = %self.id, cur_mem_mib = used / MIB, "Memory usage is above soft limit. Refusing data.");
        }
        self.refusing.store(refuse, Ordering::Relaxed);
        if let Some(source) = &*self.pressure.lock().unwrap_or_else(|p| p.into_inner()) {
            source.set_refusing(refuse);
        }
        match (was_refusing, refuse) {
            (false, true) => Transition::StartedRefusing,
            (true, false) => Transition::StoppedRefusing,
            _ => Transition::None,
        }
    }

    /// Releases freed memory unless that was done less than `min_interval` ago; returns the
    /// usage measured afterwards.
    fn release_if_due(&self, min_interval: Duration) -> Option<u64> {
        let mut last = self.last_release.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < min_interval) {
            return None;
        }
        (self.release)();
        *last = Some(Instant::now());
        let after = (self.usage)();
        if let Some(a) = after {
            tracing::info!(processor = %self.id, cur_mem_mib = a / MIB, "Memory usage after GC.");
        }
        after
    }
}

/// Our analogue of Go's forced GC: Rust frees memory as soon as it is dropped, but glibc's
/// allocator keeps freed pages in its arenas; `malloc_trim(0)` returns them to the system so
/// that resident memory goes down. A no-op with other C libraries.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it takes no
    // pointers from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Total memory available to this process: the cgroup limit when one is set and smaller
/// than the machine's memory, else `MemTotal` from `/proc/meminfo`.
pub fn total_memory() -> Result<u64, String> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    let machine = parse_meminfo_total(&meminfo).ok_or("no MemTotal in /proc/meminfo")?;
    Ok(match cgroup_memory_limit() {
        Some(limit) => limit.min(machine),
        None => machine,
    })
}

/// The memory limit of this process's cgroup (v2 `memory.max`, else v1
/// `memory.limit_in_bytes`), if one is set.
fn cgroup_memory_limit() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let (v2_path, v1_path) = parse_proc_self_cgroup(&membership);
    let mut candidates = Vec::new();
    if let Some(p) = v2_path {
        candidates.push((format!("/sys/fs/cgroup{}/memory.max", trim_root(&p)), true));
    }
    candidates.push(("/sys/fs/cgroup/memory.max".to_string(), true));
    if let Some(p) = v1_path {
        candidates.push((
            format!(
                "/sys/fs/cgroup/memory{}/memory.limit_in_bytes",
                trim_root(&p)
            ),
            false,
        ));
    }
    candidates.push((
        "/sys/fs/cgroup/memory/memory.limit_in_bytes".to_string(),
        false,
    ));
    for (path, v2) in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return if v2 {
                parse_cgroup_v2_max(&text)
            } else {
                parse_cgroup_v1_limit(&text)
            };
        }
    }
    None
}

fn trim_root(p: &str) -> &str {
    if p == "/" {
        ""
    } else {
        p.trim_end_matches('/')
    }
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut fields = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    let factor = match fields.next() {
        None => 1,
        Some(u) if u.eq_ignore_ascii_case("kb") => 1024,
        Some(u) if u.eq_ignore_ascii_case("mb") => MIB,
        Some(_) => return None,
    };
    value.checked_mul(factor)
}

/// A cgroup v2 `memory.max`: a byte count, or `max` (no limit → `None`).
pub fn parse_cgroup_v2_max(text: &str) -> Option<u64> {
    match text.trim() {
        "max" => None,
        n => n.parse().ok(),
    }
}

/// A cgroup v1 `memory.limit_in_bytes`. "No limit" is written as a huge number (the
/// largest page-aligned i64), which is treated as no limit.
pub fn parse_cgroup_v1_limit(text: &str) -> Option<u64> {
    let n: u64 = text.trim().parse().ok()?;
    (n < 1 << 62).then_some(n)
}

/// The v2 cgroup path (`0::/path`) and the v1 memory controller's path (`N:memory:/path`)
/// from the text of `/proc/self/cgroup`.
pub fn parse_proc_self_cgroup(text: &str) -> (Option<String>, Option<String>) {
    let (mut v2, mut v1) = (None, None);
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    (v2, v1)
}
