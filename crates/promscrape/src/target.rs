//! Targets from target groups, as Prometheus builds them: the group's labels under the
//! target's own, the job's defaults (`job`, `__scheme__`, `__metrics_path__`,
//! `__scrape_interval__`, `__scrape_timeout__`, `__param_*`), `relabel_configs`, then the
//! checks and the `instance` default; labels starting with `__` are dropped from what the
//! samples get. Also `file_sd_configs`: reading the JSON/YAML target files.

use std::path::Path;
use std::time::Duration;

use crate::config::{RawStatic, ScrapeConfig, TargetGroup, format_duration, parse_duration};
use crate::labels::{self, Labels};
use crate::relabel;

/// One target to scrape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// What the samples get: no `__` labels; `job` and `instance` set.
    pub labels: Labels,
    /// The labels before relabeling, with the job's defaults (Go's `DiscoveredLabels`).
    pub discovered: Labels,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    pub fn job(&self) -> &str {
        self.labels.get(labels::JOB)
    }
    pub fn instance(&self) -> &str {
        self.labels.get(labels::INSTANCE)
    }
}

/// Builds the targets of `groups`; targets that relabeling drops are left out, and targets
/// with bad labels are reported (Prometheus logs and skips them).
pub fn targets_from_groups(
    groups: &[TargetGroup],
    cfg: &ScrapeConfig,
) -> (Vec<Target>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for g in groups {
        for addr in &g.targets {
            match populate(g, addr, cfg) {
                Ok(Some(t)) => {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
                Ok(None) => {}
                Err(e) => errors.push(format!("instance {addr:?} in group {:?}: {e}", g.source)),
            }
        }
    }
    (out, errors)
}

/// One target from its group; `Ok(None)` when `relabel_configs` drop it.
pub fn populate(
    group: &TargetGroup,
    address: &str,
    cfg: &ScrapeConfig,
) -> Result<Option<Target>, String> {
    let mut lb = group.labels.clone();
    lb.set(labels::ADDRESS, address);
    if !group.source.is_empty() && !cfg.file_sd_configs.is_empty() {
        lb.set("__meta_filepath", group.source.clone());
    }
    let defaults = [
        (labels::JOB, cfg.job_name.clone()),
        (
            labels::SCRAPE_INTERVAL,
            format_duration(cfg.scrape_interval),
        ),
        (labels::SCRAPE_TIMEOUT, format_duration(cfg.scrape_timeout)),
        (labels::METRICS_PATH, cfg.metrics_path.clone()),
        (labels::SCHEME, cfg.scheme.clone()),
    ];
    for (k, v) in defaults {
        if lb.get(k).is_empty() {
            lb.set(k, v);
        }
    }
    for (k, v) in &cfg.params {
        let name = format!("{}{k}", labels::PARAM_PREFIX);
        if let Some(first) = v.first()
            && lb.get(&name).is_empty()
        {
            lb.set(name, first.clone());
        }
    }
    let discovered = lb.clone();
    if !relabel::process(&mut lb, &cfg.relabel_configs) {
        return Ok(None);
    }
    let addr = lb.get(labels::ADDRESS).to_string();
    if addr.is_empty() {
        return Err("no address".into());
    }
    check_address(&addr)?;
    let interval = parse_duration(lb.get(labels::SCRAPE_INTERVAL))
        .map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    let timeout = parse_duration(lb.get(labels::SCRAPE_TIMEOUT))
        .map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({:?} > {:?})",
            lb.get(labels::SCRAPE_TIMEOUT),
            lb.get(labels::SCRAPE_INTERVAL)
        ));
    }
    let url = target_url(&lb, cfg);
    let mut public = lb.clone();
    public.retain(|n, _| !n.starts_with(labels::RESERVED_PREFIX));
    if public.get(labels::INSTANCE).is_empty() {
        public.set(labels::INSTANCE, addr);
    }
    Ok(Some(Target {
        labels: public,
        discovered,
        url,
        interval,
        timeout,
    }))
}

fn check_address(addr: &str) -> Result<(), String> {
    if addr.contains('/') || addr.contains(char::is_whitespace) {
        return Err(format!("invalid host {addr:?}"));
    }
    // `host:port` with a numeric port, `host`, or `[v6]:port`.
    let port = if let Some(rest) = addr.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, p)) => p.strip_prefix(':'),
            None => return Err(format!("invalid host {addr:?}")),
        }
    } else if addr.matches(':').count() == 1 {
        addr.split_once(':').map(|(_, p)| p)
    } else {
        None
    };
    if let Some(p) = port
        && !p.is_empty()
        && p.parse::<u16>().is_err()
    {
        return Err(format!("invalid port in address {addr:?}"));
    }
    Ok(())
}

/// The scrape URL: `__scheme__://__address____metrics_path__?params`, the job's `params`
/// overridden by `__param_<name>` labels, keys sorted as Go's `url.Values.Encode` does.
fn target_url(lb: &Labels, cfg: &ScrapeConfig) -> String {
    let mut params = cfg.params.clone();
    for (n, v) in lb.iter() {
        if let Some(k) = n.strip_prefix(labels::PARAM_PREFIX) {
            let e = params.entry(k.to_string()).or_default();
            if e.is_empty() {
                e.push(v.to_string());
            } else {
                e[0] = v.to_string();
            }
        }
    }
    let mut url = format!(
        "{}://{}{}",
        lb.get(labels::SCHEME),
        lb.get(labels::ADDRESS),
        escape_path(lb.get(labels::METRICS_PATH))
    );
    let mut first = true;
    for (k, vs) in &params {
        for v in vs {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&query_escape(k));
            url.push('=');
            url.push_str(&query_escape(v));
        }
    }
    url
}

fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn escape_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    if !s.starts_with('/') && !s.is_empty() {
        out.push('/');
    }
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b':'
            | b'@' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Reads the target groups of `file_sd_configs` patterns (`*` only in the last element).
/// A file that cannot be read or parsed is an error naming it; Prometheus keeps the
/// groups it had from that file, so the caller should too.
pub fn read_file_sd(patterns: &[String]) -> (Vec<TargetGroup>, Vec<String>) {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for pattern in patterns {
        for path in glob(pattern) {
            match read_sd_file(&path) {
                Ok(g) => groups.extend(g),
                Err(e) => errors.push(format!("file_sd {path}: {e}")),
            }
        }
    }
    (groups, errors)
}

fn glob(pattern: &str) -> Vec<String> {
    let p = Path::new(pattern);
    let file = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if !file.contains('*') {
        return if p.exists() {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (pre, post) = file.split_once('*').unwrap_or((file, ""));
    let mut out: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| {
                n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post)
            })
            .map(|n| dir.join(n).to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn read_sd_file(path: &str) -> Result<Vec<TargetGroup>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let raw: Vec<RawStatic> = if path.to_ascii_lowercase().ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?
    };
    raw.iter()
        .map(|r| crate::config::target_group(r, path))
        .collect()
}
