//! `network` scraper: per-interface counters of `/proc/net/dev`, TCP connections by state
//! from `/proc/net/tcp` and `/proc/net/tcp6`, and the optional conntrack table size.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val, str_attr};
use crate::filter::{NameFilter, match_config};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{ScrapeError, Scraped, Scraper};

match_config!(
    /// `include`/`exclude` of the network scraper: interface names.
    InterfaceMatch,
    interfaces
);

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub include: Option<InterfaceMatch>,
    pub exclude: Option<InterfaceMatch>,
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[
    ("system.network.connections", true),
    ("system.network.dropped", true),
    ("system.network.errors", true),
    ("system.network.io", true),
    ("system.network.packets", true),
    ("system.network.conntrack.count", false),
    ("system.network.conntrack.max", false),
];
const CONNECTIONS: usize = 0;
const DROPPED: usize = 1;
const ERRORS: usize = 2;
const IO: usize = 3;
const PACKETS: usize = 4;
const CONNTRACK_COUNT: usize = 5;
const CONNTRACK_MAX: usize = 6;

const DEFS: [Def; 7] = [
    Def::sum(
        "system.network.connections",
        "The number of connections.",
        "{connections}",
        false,
    ),
    Def::sum(
        "system.network.dropped",
        "The number of packets dropped.",
        "{packets}",
        true,
    ),
    Def::sum(
        "system.network.errors",
        "The number of errors encountered.",
        "{errors}",
        true,
    ),
    Def::sum(
        "system.network.io",
        "The number of bytes transmitted and received.",
        "By",
        true,
    ),
    Def::sum(
        "system.network.packets",
        "The number of packets transferred.",
        "{packets}",
        true,
    ),
    Def::sum(
        "system.network.conntrack.count",
        "The count of entries in conntrack table.",
        "{entries}",
        false,
    ),
    Def::sum(
        "system.network.conntrack.max",
        "The limit for entries in the conntrack table.",
        "{entries}",
        false,
    ),
];

/// One interface's counters (gopsutil's `IOCountersStat`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceCounters {
    pub name: String,
    pub bytes_recv: u64,
    pub packets_recv: u64,
    pub errin: u64,
    pub dropin: u64,
    pub bytes_sent: u64,
    pub packets_sent: u64,
    pub errout: u64,
    pub dropout: u64,
}

/// `/proc/net/dev` (two header lines, then `name: rx[8] tx[8]`).
pub fn parse_net_dev(text: &str) -> Result<Vec<InterfaceCounters>, String> {
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let v: Vec<u64> = rest
            .split_ascii_whitespace()
            .map(|f| f.parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("invalid /proc/net/dev line {line:?}"))?;
        if v.len() < 12 {
            return Err(format!("too few fields in /proc/net/dev line {line:?}"));
        }
        out.push(InterfaceCounters {
            name: name.trim().to_string(),
            bytes_recv: v[0],
            packets_recv: v[1],
            errin: v[2],
            dropin: v[3],
            bytes_sent: v[8],
            packets_sent: v[9],
            errout: v[10],
            dropout: v[11],
        });
    }
    Ok(out)
}

/// The states Go's scraper always reports (zero when absent).
const ALL_TCP_STATES: [&str; 12] = [
    "CLOSE_WAIT",
    "CLOSE",
    "CLOSING",
    "DELETE",
    "ESTABLISHED",
    "FIN_WAIT_1",
    "FIN_WAIT_2",
    "LAST_ACK",
    "LISTEN",
    "SYN_SENT",
    "SYN_RECV",
    "TIME_WAIT",
];

/// gopsutil's names for the kernel's TCP states. Two differ from the list above
/// (`FIN_WAIT1`, `FIN_WAIT2`): Go reports both spellings, the list's at zero.
fn tcp_state_name(hex: &str) -> Option<&'static str> {
    Some(match hex {
        "01" => "ESTABLISHED",
        "02" => "SYN_SENT",
        "03" => "SYN_RECV",
        "04" => "FIN_WAIT1",
        "05" => "FIN_WAIT2",
        "06" => "TIME_WAIT",
        "07" => "CLOSE",
        "08" => "CLOSE_WAIT",
        "09" => "LAST_ACK",
        "0A" => "LISTEN",
        "0B" => "CLOSING",
        _ => return None,
    })
}

/// Counts the connections of `/proc/net/tcp`-format texts by state.
pub fn count_tcp_states<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<&'static str, i64> {
    let mut counts: BTreeMap<&'static str, i64> = ALL_TCP_STATES.iter().map(|s| (*s, 0)).collect();
    for text in texts {
        for line in text.lines().skip(1) {
            // sl local_address rem_address st ...
            let Some(st) = line.split_ascii_whitespace().nth(3) else {
                continue;
            };
            if let Some(name) = tcp_state_name(st) {
                *counts.entry(name).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Picks (transmit, receive) of one counter.
type TxRx = fn(&InterfaceCounters) -> (u64, u64);

pub struct NetworkScraper {
    paths: HostPaths,
    enabled: Enabled,
    filter: NameFilter,
    start: u64,
}

/// What one network scrape read.
pub struct NetworkInput {
    pub dev: Result<String, String>,
    /// `/proc/net/tcp` and `/proc/net/tcp6` (a missing tcp6 is no error: IPv6 may be off).
    pub tcp: Result<Vec<String>, String>,
    pub conntrack: Option<Result<(i64, i64), String>>,
}

impl NetworkScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<NetworkScraper, String> {
        let filter = NameFilter::new(
            cfg.include.as_ref().map(|m| m as _),
            cfg.exclude.as_ref().map(|m| m as _),
            |side| format!("error creating network interface {side} filters"),
        )?;
        Ok(NetworkScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            filter,
            start: 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn set_start(&mut self, start: u64) {
        self.start = start;
    }

    pub fn scrape_input(&mut self, now: u64, input: NetworkInput) -> Scraped {
        let mut em = Emitter::new(self.start, now);
        let mut errors = Vec::new();
        let on = |i| self.enabled.on(i);
        match input.dev.and_then(|t| parse_net_dev(&t)) {
            Ok(ifaces) => {
                let ifaces: Vec<_> = ifaces
                    .into_iter()
                    .filter(|i| self.filter.allows(&i.name))
                    .collect();
                let counters: [(usize, TxRx); 4] = [
                    (PACKETS, |c| (c.packets_sent, c.packets_recv)),
                    (DROPPED, |c| (c.dropout, c.dropin)),
                    (ERRORS, |c| (c.errout, c.errin)),
                    (IO, |c| (c.bytes_sent, c.bytes_recv)),
                ];
                for (idx, get) in counters {
                    if !on(idx) {
                        continue;
                    }
                    let mut points = Vec::with_capacity(ifaces.len() * 2);
                    for c in &ifaces {
                        let (tx, rx) = get(c);
                        points.push((
                            vec![
                                str_attr("device", &c.name),
                                str_attr("direction", "transmit"),
                            ],
                            Val::I(tx as i64),
                        ));
                        points.push((
                            vec![
                                str_attr("device", &c.name),
                                str_attr("direction", "receive"),
                            ],
                            Val::I(rx as i64),
                        ));
                    }
                    em.add(&DEFS[idx], points);
                }
            }
            Err(e) => errors.push(ScrapeError::new(e, 4)),
        }
        if on(CONNECTIONS) {
            match input.tcp {
                Ok(texts) => {
                    let counts = count_tcp_states(texts.iter().map(String::as_str));
                    let points = counts
                        .into_iter()
                        .map(|(state, n)| {
                            (
                                vec![str_attr("protocol", "tcp"), str_attr("state", state)],
                                Val::I(n),
                            )
                        })
                        .collect();
                    em.add(&DEFS[CONNECTIONS], points);
                }
                Err(e) => errors.push(ScrapeError::new(e, 1)),
            }
        }
        match input.conntrack {
            Some(Ok((count, max))) => {
                if on(CONNTRACK_COUNT) {
                    em.one(&DEFS[CONNTRACK_COUNT], Val::I(count));
                }
                if on(CONNTRACK_MAX) {
                    em.one(&DEFS[CONNTRACK_MAX], Val::I(max));
                }
            }
            Some(Err(e)) => errors.push(ScrapeError::new(e, 2)),
            None => {}
        }
        Scraped::single(em.finish(), errors)
    }

    fn read_tcp(&self) -> Result<Vec<String>, String> {
        let mut out = vec![paths::read(&self.paths.proc("net/tcp"))?];
        if let Ok(t6) = paths::read(&self.paths.proc("net/tcp6")) {
            out.push(t6);
        }
        Ok(out)
    }

    fn read_conntrack(&self) -> Result<(i64, i64), String> {
        let read_num = |rel: &str| -> Result<i64, String> {
            let p = self.paths.proc(rel);
            let t = paths::read(&p)?;
            t.trim()
                .parse()
                .map_err(|_| format!("invalid value in {}: {:?}", p.display(), t.trim()))
        };
        Ok((
            read_num("sys/net/netfilter/nf_conntrack_count")?,
            read_num("sys/net/netfilter/nf_conntrack_max")?,
        ))
    }
}

impl Scraper for NetworkScraper {
    fn key(&self) -> &'static str {
        "network"
    }

    fn start(&mut self) -> Result<(), String> {
        self.start = paths::boot_time(&self.paths)? * 1_000_000_000;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        let now = crate::now_nanos();
        let input = NetworkInput {
            dev: paths::read(&self.paths.proc("net/dev")),
            tcp: if self.enabled.on(CONNECTIONS) {
                self.read_tcp()
            } else {
                Ok(Vec::new())
            },
            conntrack: (self.enabled.on(CONNTRACK_COUNT) || self.enabled.on(CONNTRACK_MAX))
                .then(|| self.read_conntrack()),
        };
        self.scrape_input(now, input)
    }
}
