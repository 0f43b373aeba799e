//! The resource → scope → item shape every signal's request shares, as two traits, so that
//! code which walks, filters or splits requests (the filter processor, the routing connector)
//! is written once for spans, metrics and log records.
//!
//! ```
//! use pdata::tree::{Branch, Tree};
//! use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
//! let mut rl = ResourceLogs { scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); 3], ..Default::default() }], ..Default::default() };
//! let n: usize = rl.scopes().iter_mut().map(|s| s.items().len()).sum();
//! assert_eq!(n, 3);
//! ```

use crate::proto::common::v1::InstrumentationScope;
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::proto::metrics::v1::metric::Data;
use crate::proto::metrics::v1::{Metric, ResourceMetrics, ScopeMetrics};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};

/// A resource-level message (`ResourceSpans`, `ResourceMetrics`, `ResourceLogs`).
pub trait Tree: Default {
    type Scope: Branch;
    fn resource(&mut self) -> &mut Option<Resource>;
    fn scopes(&mut self) -> &mut Vec<Self::Scope>;
    /// The resource, its schema URL and the scopes, borrowed at once.
    fn parts(&mut self) -> (&mut Option<Resource>, &mut String, &mut Vec<Self::Scope>);
    /// A copy of everything but the scopes.
    fn header(&self) -> Self;
}

/// A scope-level message and its items.
pub trait Branch: Default {
    type Item;
    fn scope(&mut self) -> &mut Option<InstrumentationScope>;
    fn items(&mut self) -> &mut Vec<Self::Item>;
    /// The scope, its schema URL and the items, borrowed at once.
    fn parts(
        &mut self,
    ) -> (
        &mut Option<InstrumentationScope>,
        &mut String,
        &mut Vec<Self::Item>,
    );
    /// A copy of everything but the items.
    fn header(&self) -> Self;
}

macro_rules! tree {
    ($r:ty, $scopes:ident, $s:ty, $items:ident, $i:ty) => {
        impl Tree for $r {
            type Scope = $s;
            fn resource(&mut self) -> &mut Option<Resource> {
                &mut self.resource
            }
            fn scopes(&mut self) -> &mut Vec<$s> {
                &mut self.$scopes
            }
            fn parts(&mut self) -> (&mut Option<Resource>, &mut String, &mut Vec<$s>) {
                (&mut self.resource, &mut self.schema_url, &mut self.$scopes)
            }
            fn header(&self) -> Self {
                Self {
                    resource: self.resource.clone(),
                    schema_url: self.schema_url.clone(),
                    ..Default::default()
                }
            }
        }
        impl Branch for $s {
            type Item = $i;
            fn scope(&mut self) -> &mut Option<InstrumentationScope> {
                &mut self.scope
            }
            fn items(&mut self) -> &mut Vec<$i> {
                &mut self.$items
            }
            fn parts(&mut self) -> (&mut Option<InstrumentationScope>, &mut String, &mut Vec<$i>) {
                (&mut self.scope, &mut self.schema_url, &mut self.$items)
            }
            fn header(&self) -> Self {
                Self {
                    scope: self.scope.clone(),
                    schema_url: self.schema_url.clone(),
                    ..Default::default()
                }
            }
        }
    };
}

tree!(ResourceSpans, scope_spans, ScopeSpans, spans, Span);
tree!(
    ResourceMetrics,
    scope_metrics,
    ScopeMetrics,
    metrics,
    Metric
);
tree!(ResourceLogs, scope_logs, ScopeLogs, log_records, LogRecord);

/// Runs `f` on the resource taken out of `t` (a default one when absent, put back only if
/// one was there), with `t` still usable: OTTL contexts borrow the resource and an item of
/// the tree at once.
pub fn with_resource<T: Tree, R>(t: &mut T, f: impl FnOnce(&mut Resource, &mut T) -> R) -> R {
    let had = t.resource().is_some();
    let mut res = t.resource().take().unwrap_or_default();
    let out = f(&mut res, t);
    if had {
        *t.resource() = Some(res);
    }
    out
}

/// [`with_resource`] for a scope.
pub fn with_scope<B: Branch, R>(
    b: &mut B,
    f: impl FnOnce(&mut InstrumentationScope, &mut B) -> R,
) -> R {
    let had = b.scope().is_some();
    let mut sc = b.scope().take().unwrap_or_default();
    let out = f(&mut sc, b);
    if had {
        *b.scope() = Some(sc);
    }
    out
}

/// How many data points a metric holds, whatever its type (a metric's items, as the
/// collector counts them in its self-metrics).
pub fn data_point_count(m: &Metric) -> usize {
    match &m.data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}
