//! The legacy include/exclude decisions of the filter processor and their application to a
//! decoded request: matching items are removed, then scopes and resources left empty.

use pdata::Request;
use pdata::proto::metrics::v1::{Metric, metric::Data};

use super::config::{Config, MetricMatchProperties};
use crate::filtering::{
    AttributesMatcher, LogSkip, MatchConfig, MatchProperties, MetricSkip, SpanSkip,
};

/// Go's metric filter: names through `filtermetric` and, separately, resource attributes:
/// a resource is dropped whole when `include` has resource attributes it lacks or `exclude`
/// has resource attributes it has.
#[derive(Debug, Clone)]
pub struct MetricFilter {
    names: Option<MetricSkip>,
    include_resource: Option<AttributesMatcher>,
    exclude_resource: Option<AttributesMatcher>,
}

impl MetricFilter {
    /// Go ignores `expressions` under `strict`/`regexp`, and a block without `metric_names`
    /// filters no names.
    fn new(
        include: Option<&MetricMatchProperties>,
        exclude: Option<&MetricMatchProperties>,
    ) -> Result<Option<MetricFilter>, String> {
        for mp in [include, exclude].into_iter().flatten() {
            if mp.match_type == "expr" {
                return Err("match_type: expr (expr-lang expressions over MetricName, Label, HasLabel) is not built in ferrotel yet; use strict or regexp".into());
            }
        }
        let as_props = |mp: &MetricMatchProperties| MatchProperties {
            match_type: mp.match_type.clone(),
            metric_names: mp.metric_names.clone(),
            ..Default::default()
        };
        let names = MetricSkip::new(&MatchConfig {
            include: include.map(as_props),
            exclude: exclude.map(as_props),
        })?;
        let resource =
            |mp: Option<&MetricMatchProperties>| -> Result<Option<AttributesMatcher>, String> {
                match mp {
                    Some(mp) if !mp.resource_attributes.is_empty() => {
                        AttributesMatcher::new(&mp.match_type, &mp.resource_attributes).map(Some)
                    }
                    _ => Ok(None),
                }
            };
        let f = MetricFilter {
            names,
            include_resource: resource(include)?,
            exclude_resource: resource(exclude)?,
        };
        let empty =
            f.names.is_none() && f.include_resource.is_none() && f.exclude_resource.is_none();
        Ok((!empty).then_some(f))
    }

    fn skip_resource(&self, attrs: &[pdata::proto::common::v1::KeyValue]) -> bool {
        self.include_resource
            .as_ref()
            .is_some_and(|m| !m.matches(attrs))
            || self
                .exclude_resource
                .as_ref()
                .is_some_and(|m| m.matches(attrs))
    }
}

/// The compiled filters of one processor, per signal (`None`: that signal passes).
#[derive(Debug, Clone)]
pub struct Filters {
    pub metrics: Option<MetricFilter>,
    pub spans: Option<SpanSkip>,
    pub logs: Option<LogSkip>,
}

impl Filters {
    pub fn new(cfg: &Config) -> Result<Filters, String> {
        let metrics = MetricFilter::new(cfg.metrics.include.as_ref(), cfg.metrics.exclude.as_ref())
            .map_err(|e| format!("metrics: {e}"))?;
        let spans = SpanSkip::new(&MatchConfig {
            include: cfg.spans.include.clone(),
            exclude: cfg.spans.exclude.clone(),
        })
        .map_err(|e| format!("spans: {e}"))?;
        let logs_cfg = MatchConfig {
            include: cfg
                .logs
                .include
                .as_ref()
                .map(|l| l.to_match_properties())
                .transpose()?,
            exclude: cfg
                .logs
                .exclude
                .as_ref()
                .map(|l| l.to_match_properties())
                .transpose()?,
        };
        let logs = LogSkip::new(&logs_cfg).map_err(|e| format!("logs: {e}"))?;
        Ok(Filters {
            metrics,
            spans,
            logs,
        })
    }

    /// Removes what the filters match; returns how many items (spans, data points, log
    /// records) were removed.
    pub fn apply(&self, req: &mut Request) -> usize {
        match req {
            Request::Metrics(m) => {
                let Some(f) = &self.metrics else { return 0 };
                let mut removed = 0;
                m.resource_metrics.retain_mut(|rm| {
                    let attrs = rm
                        .resource
                        .as_ref()
                        .map_or(&[][..], |r| r.attributes.as_slice());
                    if f.skip_resource(attrs) {
                        removed += rm
                            .scope_metrics
                            .iter()
                            .flat_map(|s| &s.metrics)
                            .map(data_points)
                            .sum::<usize>();
                        return false;
                    }
                    rm.scope_metrics.retain_mut(|sm| {
                        sm.metrics.retain(|metric| {
                            let skip = f.names.as_ref().is_some_and(|n| n.skip(metric));
                            if skip {
                                removed += data_points(metric);
                            }
                            !skip
                        });
                        !sm.metrics.is_empty()
                    });
                    !rm.scope_metrics.is_empty()
                });
                removed
            }
            Request::Traces(t) => {
                let Some(f) = &self.spans else { return 0 };
                let mut removed = 0;
                t.resource_spans.retain_mut(|rs| {
                    let resource = rs.resource.as_ref();
                    rs.scope_spans.retain_mut(|ss| {
                        let scope = ss.scope.as_ref();
                        let before = ss.spans.len();
                        ss.spans.retain(|span| !f.skip(resource, scope, span));
                        removed += before - ss.spans.len();
                        !ss.spans.is_empty()
                    });
                    !rs.scope_spans.is_empty()
                });
                removed
            }
            // Never built for profiles (see the factory).
            Request::Profiles(_) => 0,
            Request::Logs(l) => {
                let Some(f) = &self.logs else { return 0 };
                let mut removed = 0;
                l.resource_logs.retain_mut(|rl| {
                    let resource = rl.resource.as_ref();
                    rl.scope_logs.retain_mut(|sl| {
                        let scope = sl.scope.as_ref();
                        let before = sl.log_records.len();
                        sl.log_records.retain(|r| !f.skip(resource, scope, r));
                        removed += before - sl.log_records.len();
                        !sl.log_records.is_empty()
                    });
                    !rl.scope_logs.is_empty()
                });
                removed
            }
        }
    }
}

fn data_points(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}
