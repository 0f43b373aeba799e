//! `memory_limiter` settings: the Go collector's keys, defaults and validation messages.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How often memory is measured. Required (> 0); 1s is the usual choice.
    pub check_interval: config::Duration,
    /// Hard limit in MiB. Takes precedence over `limit_percentage`.
    pub limit_mib: u32,
    /// Headroom below the hard limit; the soft limit is `limit_mib - spike_limit_mib`.
    /// 0 means 20% of the limit.
    pub spike_limit_mib: u32,
    /// Hard limit as a percentage of total memory (the cgroup limit when one is set).
    pub limit_percentage: u32,
    /// Headroom as a percentage of total memory; 0 means 20% of the limit.
    pub spike_limit_percentage: u32,
    /// Least time between two forced releases of freed memory while above the soft limit.
    pub min_gc_interval_when_soft_limited: config::Duration,
    /// Least time between two forced releases while above the hard limit.
    pub min_gc_interval_when_hard_limited: config::Duration,
    /// Accepted for compatibility; the release here is cheap, so no backoff is needed.
    pub max_gc_interval_when_soft_limited: config::Duration,
    /// Accepted for compatibility, as above.
    pub max_gc_interval_when_hard_limited: config::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            check_interval: config::Duration::ZERO,
            limit_mib: 0,
            spike_limit_mib: 0,
            limit_percentage: 0,
            spike_limit_percentage: 0,
            min_gc_interval_when_soft_limited: config::Duration::from_secs(10),
            min_gc_interval_when_hard_limited: config::Duration::ZERO,
            max_gc_interval_when_soft_limited: config::Duration::from_secs(30),
            max_gc_interval_when_hard_limited: config::Duration::from_secs(30),
        }
    }
}

impl ComponentConfig for Config {
    /// The Go collector's checks, in its order and with its messages.
    fn validate(&self) -> Result<(), String> {
        if self.check_interval.0.is_zero() {
            return Err("'check_interval' must be greater than zero".into());
        }
        if self.min_gc_interval_when_soft_limited < self.min_gc_interval_when_hard_limited {
            return Err(
                "'min_gc_interval_when_soft_limited' should be larger than 'min_gc_interval_when_hard_limited'".into()
            );
        }
        if self.limit_mib == 0 && self.limit_percentage == 0 {
            return Err("'limit_mib' or 'limit_percentage' must be greater than zero".into());
        }
        if self.limit_percentage > 100 || self.spike_limit_percentage > 100 {
            return Err(
                "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less than or equal to hundred"
                    .into(),
            );
        }
        if self.limit_mib > 0 && self.limit_mib <= self.spike_limit_mib {
            return Err("'spike_limit_mib' must be smaller than 'limit_mib'".into());
        }
        if self.limit_percentage > 0 && self.limit_percentage <= self.spike_limit_percentage {
            return Err("'spike_limit_percentage' must be smaller than 'limit_percentage'".into());
        }
        Ok(())
    }
}
