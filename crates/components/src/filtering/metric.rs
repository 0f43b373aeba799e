//! include/exclude for metrics as the attributes processor uses it (Go's `filtermetric`
//! fed by `CreateMatchPropertiesFromDefault`): only `metric_names` is honoured. A block
//! without metric names, or with `match_type: expr` (whose `expressions` these blocks cannot
//! set), imposes nothing; the other properties are ignored for metrics, as in Go.

use pdata::proto::metrics::v1::Metric;

use super::{MatchConfig, MatchProperties, StringSet, skip};

/// Which metrics to leave alone.
#[derive(Debug, Clone)]
pub struct MetricSkip {
    include: Option<StringSet>,
    exclude: Option<StringSet>,
}

fn names(mp: Option<&MatchProperties>) -> Result<Option<StringSet>, String> {
    match mp {
        Some(mp) if mp.match_type != "expr" && !mp.metric_names.is_empty() => {
            StringSet::new(&mp.metric_names, &mp.match_type).map(Some)
        }
        _ => Ok(None),
    }
}

impl MetricSkip {
    /// `None` when neither block filters anything.
    pub fn new(cfg: &MatchConfig) -> Result<Option<MetricSkip>, String> {
        let include = names(cfg.include.as_ref())?;
        let exclude = names(cfg.exclude.as_ref())?;
        Ok((include.is_some() || exclude.is_some()).then_some(MetricSkip { include, exclude }))
    }

    pub fn skip(&self, metric: &Metric) -> bool {
        skip(self.include.as_ref(), self.exclude.as_ref(), |set| {
            set.matches(&metric.name)
        })
    }
}
