//! The store seen through each query language's data-source trait.

use store::query::Backend;
use store::query::{MatchOp, Matcher};

/// A Prometheus series selector (`match[]`) as store matchers.
pub fn prom_selector(s: &str) -> Result<Vec<Matcher>, String> {
    promql::parse_matchers(s).map_err(|e| e.to_string())
}

/// A native histogram as remote write carries it, as PromQL evaluates it.
pub fn float_histogram(h: &promtranslate::prompb::Histogram) -> promql::FloatHistogram {
    use promtranslate::prompb::histogram::{Count, ResetHint, ZeroCount};
    fn buckets(deltas: &[i64], counts: &[f64]) -> Vec<f64> {
        if !counts.is_empty() {
            return counts.to_vec();
        }
        let mut acc = 0i64;
        deltas
            .iter()
            .map(|d| {
                acc = acc.wrapping_add(*d);
                acc as f64
            })
            .collect()
    }
    promql::FloatHistogram {
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: match h.zero_count {
            Some(ZeroCount::ZeroCountInt(n)) => n as f64,
            Some(ZeroCount::ZeroCountFloat(f)) => f,
            None => 0.0,
        },
        count: match h.count {
            Some(Count::CountInt(n)) => n as f64,
            Some(Count::CountFloat(f)) => f,
            None => 0.0,
        },
        sum: h.sum,
        positive_spans: h
            .positive_spans
            .iter()
            .map(|s| (s.offset, s.length))
            .collect(),
        positive_buckets: buckets(&h.positive_deltas, &h.positive_counts),
        negative_spans: h
            .negative_spans
            .iter()
            .map(|s| (s.offset, s.length))
            .collect(),
        negative_buckets: buckets(&h.negative_deltas, &h.negative_counts),
        counter_reset_hint: match ResetHint::try_from(h.reset_hint).unwrap_or(ResetHint::Unknown) {
            ResetHint::Unknown => promql::CounterResetHint::Unknown,
            ResetHint::Yes => promql::CounterResetHint::CounterReset,
            ResetHint::No => promql::CounterResetHint::NotCounterReset,
            ResetHint::Gauge => promql::CounterResetHint::Gauge,
        },
    }
}

/// Tempo's metrics-generator names for the RED series the store derives from spans
/// (Grafana's Tempo datasource queries these), and the stored series they read. Tempo's
/// `service` label is the stored `service_name`.
const TEMPO_ALIASES: &[(&str, &str)] = &[
    (
        "traces_spanmetrics_calls_total",
        "traces_span_metrics_calls_total",
    ),
    (
        "traces_spanmetrics_latency_bucket",
        "traces_span_metrics_duration_seconds_bucket",
    ),
    (
        "traces_spanmetrics_latency_sum",
        "traces_span_metrics_duration_seconds_sum",
    ),
    (
        "traces_spanmetrics_latency_count",
        "traces_span_metrics_duration_seconds_count",
    ),
];

/// PromQL over the store.
pub struct Metrics<'a>(pub &'a dyn Backend);

impl promql::Queryable for Metrics<'_> {
    fn select(
        &self,
        matchers: &[promql::Matcher],
        min_ms: i64,
        max_ms: i64,
    ) -> Result<Vec<promql::Series>, String> {
        let alias = matchers.iter().find_map(|m| {
            (m.name == "__name__" && m.op == promql::MatchOp::Equal)
                .then(|| TEMPO_ALIASES.iter().find(|(a, _)| *a == m.value))
                .flatten()
        });
        let mut ms = matchers.to_vec();
        if let Some((_, stored)) = alias {
            for m in &mut ms {
                if m.name == "__name__" {
                    *m = Matcher::new("__name__", MatchOp::Equal, stored)?;
                } else if m.name == "service" {
                    *m = Matcher::new("service_name", m.op, &m.value)?;
                }
            }
        }
        Ok(self
            .0
            .select_series(&ms, min_ms, max_ms)?
            .into_iter()
            .filter(|s| !s.floats.is_empty() || !s.histograms.is_empty())
            .map(|s| {
                let mut labels = (*s.labels).clone();
                if let Some((name, _)) = alias {
                    let service = store::query::label(&labels, "service_name").to_string();
                    for l in &mut labels {
                        if l.0 == "__name__" {
                            l.1 = name.to_string();
                        }
                    }
                    labels.push(("service".into(), service));
                    labels.sort();
                }
                promql::Series {
                    labels,
                    floats: s.floats,
                    histograms: s
                        .histograms
                        .iter()
                        .map(|(t, h)| (*t, float_histogram(h)))
                        .collect(),
                }
            })
            .collect())
    }
}

/// LogQL over the store. A selection of more than `max_entries` lines is refused rather
/// than held in memory.
pub struct Logs<'a> {
    pub store: &'a dyn Backend,
    pub max_entries: usize,
}

/// LogQL's line filters as the store applies them: all must pass; a `|= "x"` (one value)
/// gives the store a literal to search a page's text for (the longest, when several).
struct LineFilters<'a>(&'a [logql::LineFilter]);

impl store::query::LinePredicate for LineFilters<'_> {
    fn matches(&self, line: &str) -> bool {
        self.0.iter().all(|f| f.matches(line))
    }

    fn literal(&self) -> Option<&str> {
        self.0
            .iter()
            .filter(|f| f.op == logql::LineFilterOp::Contains && f.values.len() == 1)
            .map(|f| f.values[0].as_str())
            .max_by_key(|v| v.len())
    }
}

impl logql::LogSource for Logs<'_> {
    /// Lines are found on the store's lines alone (only the lines of a page are
    /// decompressed); records are read only for the lines kept, for their structured
    /// metadata.
    fn select(&self, sel: &logql::Selection<'_>) -> Result<Vec<logql::Stream>, String> {
        use std::cmp::Reverse;
        use std::collections::{BTreeMap, BinaryHeap};
        let pred = LineFilters(sel.line_filters);
        // Loki's end is exclusive; the store's is inclusive.
        let end = sel.end_ns.saturating_sub(1);
        let mut cache = store::logs::MetadataCache::default();
        let mut entry = |r: &store::LogRow| logql::Entry {
            ts_ns: r.ts_ns,
            line: r.line.clone(),
            metadata: match sel.metadata {
                Some(names) => r.metadata_for(names, &mut cache),
                None => r.metadata_with(&mut cache),
            },
        };
        let mut streams: BTreeMap<std::sync::Arc<store::Labels>, Vec<logql::Entry>> =
            BTreeMap::new();
        // `| trace_id="…"`: tested on that one metadata name (which wins over a stream label
        // of the same name, as in the pipeline) before the entry's whole metadata is built;
        // the engine tests it again.
        let mut filter_cache = store::logs::MetadataCache::default();
        let mut passes = |r: &store::LogRow| {
            sel.label_equals.iter().all(|(n, v)| {
                match r
                    .metadata_for(std::slice::from_ref(n), &mut filter_cache)
                    .first()
                {
                    Some((_, m)) => m == v,
                    None => logql::label_value(&r.labels, n) == Some(v.as_str()),
                }
            })
        };
        // The engine sets a limit only for pipelines of line filters alone (no label filter
        // to test on the records); should both come, the records are scanned in full.
        if let Some(limit) = sel.limit.filter(|_| sel.label_equals.is_empty()) {
            // A plain log query needs only the first `limit` lines in its direction: keep
            // those in a heap, then load their records.
            let backward = sel.direction == logql::Direction::Backward;
            let mut seq = 0u64;
            let mut keep: BinaryHeap<(Reverse<i64>, u64)> = BinaryHeap::new();
            let mut kept: std::collections::HashMap<u64, store::query::LogRef> = Default::default();
            self.store
                .scan_log_lines(sel.matchers, sel.start_ns, end, &pred, &mut |l| {
                    // Newest first for backward: the heap's top is the worst kept line.
                    let key = if backward { l.ts_ns } else { -l.ts_ns };
                    seq += 1;
                    if keep.len() < limit {
                        keep.push((Reverse(key), seq));
                        kept.insert(seq, l.reference());
                    } else if let Some(&(Reverse(worst), wseq)) = keep.peek()
                        && key > worst
                    {
                        keep.pop();
                        kept.remove(&wseq);
                        keep.push((Reverse(key), seq));
                        kept.insert(seq, l.reference());
                    }
                    true
                })?;
            let refs: Vec<store::query::LogRef> = kept.into_values().collect();
            for r in self.store.log_rows(&refs)? {
                let e = entry(&r);
                streams.entry(r.labels).or_default().push(e);
            }
        } else {
            let mut n = 0usize;
            let mut over = false;
            self.store
                .for_each_log_where(sel.matchers, sel.start_ns, end, &pred, &mut |r| {
                    if !passes(r) {
                        return true;
                    }
                    n += 1;
                    if n > self.max_entries {
                        over = true;
                        return false;
                    }
                    streams.entry(r.labels.clone()).or_default().push(entry(r));
                    true
                })?;
            if over {
                return Err(format!(
                    "the query reads more than {} log lines; narrow the stream selector, add a line filter or shorten the time range",
                    self.max_entries
                ));
            }
        }
        Ok(streams
            .into_iter()
            .map(|(labels, mut entries)| {
                entries.sort_by_key(|e| e.ts_ns);
                logql::Stream {
                    labels: (*labels).clone(),
                    entries,
                }
            })
            .collect())
    }
}

/// A stored span as TraceQL reads it.
pub struct SpanV<'a>(pub store::SpanRef<'a>);

impl traceql::SpanView for SpanV<'_> {
    fn name(&self) -> &str {
        &self.0.row.name
    }
    fn duration_ns(&self) -> u64 {
        self.0.row.duration_ns()
    }
    fn status(&self) -> traceql::Status {
        traceql::Status::from_otlp(self.0.row.status.into())
    }
    fn status_message(&self) -> &str {
        self.0.status_message()
    }
    fn kind(&self) -> traceql::Kind {
        traceql::Kind::from_otlp(self.0.row.kind.into())
    }
    fn span_id(&self) -> u64 {
        u64::from_be_bytes(self.0.row.span_id)
    }
    fn parent_span_id(&self) -> u64 {
        u64::from_be_bytes(self.0.row.parent_span_id)
    }
    fn scope_name(&self) -> &str {
        self.0.scope().map_or("", |s| s.name.as_str())
    }
    fn scope_version(&self) -> &str {
        self.0.scope().map_or("", |s| s.version.as_str())
    }
    fn span_attr(&self, key: &str) -> Option<traceql::AttrValue<'_>> {
        self.0.span_attr(key).map(traceql::attr_value)
    }
    fn resource_attr(&self, key: &str) -> Option<traceql::AttrValue<'_>> {
        self.0.resource_attr(key).map(traceql::attr_value)
    }
}
