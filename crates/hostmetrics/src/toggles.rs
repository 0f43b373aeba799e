//! Per-metric `enabled` switches (`metrics: {system.cpu.utilization: {enabled: true}}`) and
//! per-resource-attribute ones, as mdatagen's generated configs read them: a metric not
//! named keeps its default, `name:` with no value keeps it too, unknown names are refused.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `enabled` of one metric or resource attribute; absent keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricSwitch {
    pub enabled: Option<bool>,
}

/// The `metrics:` map of a scraper.
pub type MetricsConfig = BTreeMap<String, Option<MetricSwitch>>;
/// The `resource_attributes:` map of a scraper.
pub type ResourceAttributesConfig = BTreeMap<String, Option<MetricSwitch>>;

/// Which of a scraper's metrics (by their index in its table) are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Enabled(u64);

impl Enabled {
    /// The switches of `table` (name, enabled by default) after `cfg`; `key` names the map
    /// in the error (`metrics`, `resource_attributes`).
    pub fn new(
        table: &[(&str, bool)],
        cfg: &BTreeMap<String, Option<MetricSwitch>>,
        key: &str,
    ) -> Result<Enabled, String> {
        debug_assert!(table.len() <= 64);
        let unknown: Vec<&str> = cfg
            .keys()
            .filter(|k| !table.iter().any(|(n, _)| n == k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!("{key}: has invalid keys: {}", unknown.join(", ")));
        }
        let mut bits = 0u64;
        for (i, (name, default)) in table.iter().enumerate() {
            let on = cfg
                .get(*name)
                .and_then(|s| s.as_ref())
                .and_then(|s| s.enabled)
                .unwrap_or(*default);
            if on {
                bits |= 1 << i;
            }
        }
        Ok(Enabled(bits))
    }

    pub fn on(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
}
