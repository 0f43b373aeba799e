//! `system` scraper: `system.uptime`, seconds since boot.

use serde::Deserialize;

use crate::emit::{Def, Emitter, Val};
use crate::paths::{self, HostPaths};
use crate::toggles::{Enabled, MetricsConfig};
use crate::{Scraped, Scraper};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub metrics: MetricsConfig,
}

pub const METRICS: &[(&str, bool)] = &[("system.uptime", true)];

const UPTIME: Def = Def::sum(
    "system.uptime",
    "The time the system has been running",
    "s",
    true,
);

pub struct SystemScraper {
    paths: HostPaths,
    enabled: Enabled,
    boot_secs: u64,
}

impl SystemScraper {
    pub fn new(cfg: &Config, paths: &HostPaths) -> Result<SystemScraper, String> {
        Ok(SystemScraper {
            paths: paths.clone(),
            enabled: Enabled::new(METRICS, &cfg.metrics, "metrics")?,
            boot_secs: 0,
        })
    }

    /// Go's `host.Uptime`: whole seconds from boot to `now`.
    pub fn scrape_at(&mut self, now: u64) -> Scraped {
        let mut em = Emitter::new(self.boot_secs * 1_000_000_000, now);
        if self.enabled.on(0) {
            let uptime = (now / 1_000_000_000).saturating_sub(self.boot_secs);
            em.one(&UPTIME, Val::D(uptime as f64));
        }
        Scraped::single(em.finish(), Vec::new())
    }

    #[cfg(test)]
    pub(crate) fn set_boot(&mut self, boot_secs: u64) {
        self.boot_secs = boot_secs;
    }
}

impl Scraper for SystemScraper {
    fn key(&self) -> &'static str {
        "system"
    }

    fn start(&mut self) -> Result<(), String> {
        self.boot_secs = paths::boot_time(&self.paths)?;
        Ok(())
    }

    fn scrape(&mut self) -> Scraped {
        self.scrape_at(crate::now_nanos())
    }
}
