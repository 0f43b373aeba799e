//! One target's scrape results turned into OTLP, as Prometheus's scrape loop and the Go
//! receiver's transaction do together: the target's labels merged into each sample
//! (`honor_labels`, `exported_` prefixes), `metric_relabel_configs`, the limits, staleness
//! markers for series that disappear, the report samples (`up`, `scrape_duration_seconds`,
//! …), then families grouped by metadata into sums, gauges, histograms and summaries,
//! `target_info` into the resource, `otel_scope_*` labels into the scope, and start times
//! (`_created`, or the first-seen/reset logic of Go's initial-point adjuster).
//!
//! [`TargetState`] keeps what lives across scrapes of one target and is bounded by it: the
//! series of the last scrape (for staleness), the last metadata, and the adjuster's start
//! points (swept like Go's after `gc_interval`).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::map::MutableKeys;
use indexmap::{Equivalent, IndexMap};
use pdata::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use pdata::proto::metrics::v1::{
    AggregationTemporality, DataPointFlags, Exemplar, Gauge, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, exemplar,
    metric, number_data_point, summary_data_point::ValueAtQuantile,
};
use pdata::proto::resource::v1::Resource;

use crate::config::ScrapeConfig;
use crate::expfmt::{Entry, Format, MetricType, Parser};
use crate::labels::{self, Frozen, Labels, Span};
use crate::relabel;
use crate::sequenced::Sequenced;
use crate::target::Target;

/// The maps of one scrape and of its target (foldhash: SipHash's cost showed up at 7 % of a
/// 100k-series scrape into remote write, and none of these keys come from an adversary who
/// could choose collisions that matter more than one slower scrape).
type Fast = foldhash::fast::RandomState;

/// The hash that stands for a point's identity across scrapes (its resource, name and
/// attributes): fixed, so equal inputs give equal hashes in one process.
const IDENTITY: foldhash::quality::FixedState =
    foldhash::quality::FixedState::with_seed(0x6665_7272_6f74_656c);

/// The scope name of points without `otel_scope_name`, as the Go receiver sets it.
pub const SCOPE_NAME: &str =
    "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver";

/// Prometheus's staleness marker: a NaN with this bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Settings shared by every target of a receiver.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `global.external_labels`, set on every sample.
    pub external_labels: Labels,
    /// The scope version of points without `otel_scope_version` (the build's version).
    pub scope_version: String,
    /// Go's initial-point start-time adjuster (off under the
    /// `receiver.prometheusreceiver.RemoveStartTimeAdjustment` gate).
    pub adjust_start_times: bool,
    /// `trim_metric_suffixes`.
    pub trim_suffixes: bool,
    /// `report_extra_scrape_metrics`.
    pub extra_scrape_metrics: bool,
}

/// What a scrape brought: the body and its format, or why there is none.
pub enum Body<'a> {
    Ok { body: &'a [u8], format: Format },
    Failed(String),
}

/// One scrape's result: its counts and error, and its points, made and handed out a chunk
/// at a time with their start times adjusted. The start-time adjuster's pass ends when it
/// is dropped.
pub struct Scrape<'s> {
    /// Why the scrape failed (`up` is 0), if it did.
    pub error: Option<String>,
    pub samples_scraped: u64,
    pub samples_post_relabel: u64,
    pub series_added: u64,
    emitter: Emitter,
    /// Handed out in one chunk whatever the size asked (the target set its own timestamps).
    whole: bool,
    adjuster: Option<&'s mut Adjuster>,
    /// Where the emptied group maps go back to ([`TargetState::group_maps`]).
    group_maps: &'s mut GroupMaps,
}

impl Scrape<'_> {
    /// The points of at most `max_points` more series groups (a histogram's or summary's
    /// lines make one), and how many points they are; `None` when all were handed out.
    /// A chunk can hold no point (a histogram without `_count` makes none). A scrape whose
    /// samples carry the target's own timestamps comes in one chunk.
    pub fn next_chunk(&mut self, max_points: usize) -> Option<(Vec<ResourceMetrics>, usize)> {
        let max_points = if self.whole { usize::MAX } else { max_points };
        let rms = self
            .emitter
            .next_chunk(max_points, self.adjuster.as_deref_mut())?;
        let points = rms.iter().map(count_points).sum();
        Some((rms, points))
    }

    /// Everything at once.
    pub fn into_outcome(mut self) -> Outcome {
        let (resource_metrics, points) = self.next_chunk(usize::MAX).unwrap_or_default();
        Outcome {
            resource_metrics,
            error: self.error.take(),
            samples_scraped: self.samples_scraped,
            samples_post_relabel: self.samples_post_relabel,
            series_added: self.series_added,
            points,
        }
    }
}

impl Drop for Scrape<'_> {
    fn drop(&mut self) {
        if let Some(adjuster) = self.adjuster.as_deref_mut() {
            adjuster.finish_scrape();
        }
        *self.group_maps = std::mem::take(&mut self.emitter.emptied);
    }
}

/// What one scrape produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub resource_metrics: Vec<ResourceMetrics>,
    /// Why the scrape failed (`up` is 0), if it did.
    pub error: Option<String>,
    pub samples_scraped: u64,
    pub samples_post_relabel: u64,
    pub series_added: u64,
    pub points: usize,
}

#[derive(Debug, Clone, Default)]
struct Meta {
    /// The name on the metadata lines (`foo` for an OpenMetrics counter `foo_total`).
    family: String,
    kind: Option<MetricType>,
    help: String,
    unit: String,
}

/// A series' labels with what the transaction asks of them at every sample, worked out
/// once when the series enters the cache: where `__name__`, `job` and `instance` are,
/// whether a label is a scope one, and the group hash of its point attributes for each
/// way a family's kind can leave labels out.
struct Series {
    labels: Frozen,
    name: Span,
    job: Span,
    instance: Span,
    scoped: bool,
    /// Its `job` and `instance` (the target's when it has none) are the target's: its
    /// resource is the target's own, found without comparing them.
    of_target: bool,
    /// [`GroupKey::hash_of`] for histograms (without `le`), summaries (without `quantile`)
    /// and the other kinds.
    hashes: [u64; 3],
}

impl Series {
    fn new(labels: Frozen, target: &Target) -> Series {
        let (mut name, mut job, mut instance, mut scoped) = Default::default();
        for (n, v) in labels.iter() {
            match n {
                labels::METRIC_NAME => name = labels.span_of(v),
                labels::JOB => job = labels.span_of(v),
                labels::INSTANCE => instance = labels.span_of(v),
                n => scoped |= n.starts_with("otel_scope_"),
            }
        }
        let hashes = [Kind::Histogram, Kind::Summary, Kind::Gauge]
            .map(|kind| GroupKey::hash_of(kind, &labels));
        let or_target = |span, of_target: &str| {
            let v = labels.at(span);
            v.is_empty() || v == of_target
        };
        let of_target = or_target(job, target.job()) && or_target(instance, target.instance());
        Series {
            name,
            job,
            instance,
            scoped,
            of_target,
            hashes,
            labels,
        }
    }

    fn hash(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Histogram => self.hashes[0],
            Kind::Summary => self.hashes[1],
            Kind::Gauge | Kind::Sum { .. } => self.hashes[2],
        }
    }
}

/// A sample on its way into the transaction, its labels borrowed from the series cache.
struct ScrapedSample<'l> {
    labels: &'l Series,
    value: f64,
    ts_ms: i64,
    exemplar: Option<ParsedExemplar>,
}

/// The metadata a sample's family is looked up in: this scrape's so far, then what earlier
/// scrapes said (stale series, and families whose `# TYPE` line this scrape has not reached,
/// keep the type they had). Go's transaction reads the scrape cache's metadata the same way,
/// as the parser reaches it.
#[derive(Clone, Copy)]
struct Md<'m> {
    current: &'m HashMap<String, Meta, Fast>,
    prev: &'m HashMap<String, Meta, Fast>,
}

impl<'m> Md<'m> {
    fn get(&self, name: &str) -> Option<&'m Meta> {
        self.current.get(name).or_else(|| self.prev.get(name))
    }
}

struct ParsedExemplar {
    labels: Vec<(String, String)>,
    value: f64,
    ts_ms: i64,
}

/// A series as the last scrape wrote it, and what its text became: its label set after the
/// target's labels and `metric_relabel_configs`, or `None` when relabeling dropped it.
/// Prometheus's scrape cache does the same: a series seen before is not parsed into labels,
/// merged and relabeled again. The entry also carries the series' staleness: which scrape
/// last tracked it, so that the series of the last scrape are the entries it tracked, with
/// no set of them built per scrape.
struct Cached {
    series: Option<Series>,
    /// The scrape that last saw it (scrapes are numbered from 1): entries not seen by the
    /// last scrape are let go.
    seen: u64,
    /// The last scrape that tracked it for staleness (0: none).
    tracked: u64,
    /// Whether the scrape before the one that last saw it had tracked it (worked out when
    /// a scrape first sees it, before that scrape tracks it).
    was_tracked: bool,
}

impl Cached {
    /// The entry as scrape `now` sees it, when the scrape whose series stand for "the last
    /// scrape's" is `prev` (0: none): the labels (`None`: dropped) and whether the series is
    /// new to staleness tracking. `track`: this sample is tracked (it has no timestamp of
    /// its own, or `track_timestamps_staleness`).
    fn see(&mut self, now: u64, prev: u64, track: bool) -> Option<(&Series, bool)> {
        if self.seen != now {
            self.was_tracked = prev != 0 && self.tracked == prev;
            self.seen = now;
        }
        let labels = self.series.as_ref()?;
        if !track {
            return Some((labels, false));
        }
        self.tracked = now;
        Some((labels, !self.was_tracked))
    }

    /// Whether the last scrape tracked it: `now` is the scrape being finished (0: none
    /// parsed), `prev` the one before.
    fn was_in_last(&self, now: u64, prev: u64) -> bool {
        if now != 0 && self.seen == now {
            self.was_tracked
        } else {
            prev != 0 && self.tracked == prev
        }
    }
}

/// What lives across scrapes of one target.
pub struct TargetState {
    cfg: Arc<ScrapeConfig>,
    target: Arc<Target>,
    settings: Arc<Settings>,
    /// Keyed by the series' text (`name{labels}` as written), bounded by the series of the
    /// last scrape, in the order the last scrape wrote them.
    cache: Sequenced<Box<str>, Cached, Fast>,
    /// Scrapes parsed so far (the number of the last one).
    scrapes: u64,
    /// The scrape whose tracked series are the last scrape's series (0: none, after a
    /// failed scrape).
    prev_tracked: u64,
    prev_metadata: HashMap<String, Meta, Fast>,
    /// The group maps of the last scrape's families, by family: the next scrape finds its
    /// groups there again. A family of 100,000 series doubled its way to its size, copying
    /// its map 17 times, and a map made at its size was still fresh pages to fault in:
    /// together two thirds of a scrape's page faults. The keys stay too: a series the last
    /// scrape had is found where it was, without a key made, hashed in and dropped again.
    group_maps: GroupMaps,
    /// Transactions made so far ([`Transaction::pass`]).
    passes: u32,
    adjuster: Adjuster,
}

impl TargetState {
    pub fn new(cfg: Arc<ScrapeConfig>, target: Target, settings: Arc<Settings>) -> TargetState {
        // Go sweeps its start points every 2 minutes, or every scrape interval if longer.
        let gc = target.interval.max(Duration::from_secs(120));
        TargetState {
            cfg,
            target: Arc::new(target),
            settings,
            cache: Sequenced::default(),
            scrapes: 0,
            prev_tracked: 0,
            prev_metadata: HashMap::default(),
            group_maps: GroupMaps::default(),
            passes: 0,
            adjuster: Adjuster::new(gc),
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A new transaction, numbered after the last one.
    fn transaction(&mut self) -> Transaction {
        self.passes = self.passes.wrapping_add(1);
        Transaction::new(self.target.clone(), self.settings.clone(), self.passes)
    }

    /// How many groups the family's map, kept from the last scrape, holds room for.
    #[cfg(test)]
    pub(crate) fn family_room(&self, name: &str) -> Option<usize> {
        self.group_maps.get(name).map(|m| m.capacity())
    }

    /// How many group keys the family's map, kept from the last scrape, holds.
    #[cfg(test)]
    pub(crate) fn family_groups(&self, name: &str) -> Option<usize> {
        self.group_maps.get(name).map(|m| m.len())
    }

    /// How many series texts the cache holds.
    #[cfg(test)]
    pub(crate) fn cached_series(&self) -> usize {
        self.cache.len()
    }

    /// Turns one scrape (started at `start_ms`, lasting `duration`) into OTLP, all at once.
    pub fn process(&mut self, body: Body<'_>, start_ms: i64, duration: Duration) -> Outcome {
        self.scrape(body, start_ms, duration).into_outcome()
    }

    /// Turns one scrape (started at `start_ms`, lasting `duration`) into OTLP handed out a
    /// chunk at a time ([`Scrape::next_chunk`]).
    pub fn scrape(&mut self, body: Body<'_>, start_ms: i64, duration: Duration) -> Scrape<'_> {
        let mut out = Outcome::default();
        // Samples go into the transaction as they are parsed, while their labels are in the
        // CPU cache (a vector of a scrape's samples was 100,000 entries written and read
        // back, and every series' labels read twice).
        let mut tx = self.transaction();
        tx.group_maps = std::mem::take(&mut self.group_maps);
        let mut metadata: HashMap<String, Meta, Fast> = HashMap::default();
        let mut body_size = 0usize;
        let prev = self.prev_tracked;
        let mut now = 0;
        let mut err = match body {
            Body::Failed(e) => Some(e),
            Body::Ok { body, format } => {
                body_size = body.len();
                self.scrapes += 1;
                now = self.scrapes;
                self.parse(body, format, start_ms, &mut tx, &mut metadata, &mut out)
                    .err()
            }
        };
        if err.is_none()
            && self.cfg.sample_limit > 0
            && out.samples_post_relabel > self.cfg.sample_limit
        {
            err = Some("sample limit exceeded".into());
        }
        if err.is_some() {
            // A failed scrape keeps nothing: every series of the last scrape goes stale.
            tx = self.transaction();
            metadata.clear();
        }
        // Series of the last scrape that this one lacks (all of them when it failed) get a
        // staleness marker; the cache lets go of what this scrape did not write.
        let ok = err.is_none();
        let md = Md {
            current: &metadata,
            prev: &self.prev_metadata,
        };
        let mut stale = |c: &Cached| {
            let still = ok && now != 0 && c.seen == now && c.tracked == now;
            if c.was_in_last(now, prev)
                && !still
                && let Some(lset) = &c.series
            {
                tx.add(
                    ScrapedSample {
                        labels: lset,
                        value: stale_nan(),
                        ts_ms: start_ms,
                        exemplar: None,
                    },
                    md,
                );
            }
        };
        if now != 0 {
            self.cache.finish_pass(|_, c| {
                stale(c);
                c.seen == now
            });
        } else {
            self.cache.values().for_each(stale);
        }
        self.prev_tracked = if ok { now } else { 0 };
        out.series_added = out.series_added.min(out.samples_post_relabel);
        let up = if err.is_none() { 1.0 } else { 0.0 };
        let mut report = vec![
            ("up", up),
            ("scrape_duration_seconds", duration.as_secs_f64()),
            ("scrape_samples_scraped", out.samples_scraped as f64),
            (
                "scrape_samples_post_metric_relabeling",
                out.samples_post_relabel as f64,
            ),
            ("scrape_series_added", out.series_added as f64),
        ];
        if self.settings.extra_scrape_metrics {
            report.push(("scrape_timeout_seconds", self.target.timeout.as_secs_f64()));
            report.push(("scrape_sample_limit", self.cfg.sample_limit as f64));
            // Prometheus reports 0 for a scrape that failed.
            let size = if err.is_none() { body_size as f64 } else { 0.0 };
            report.push(("scrape_body_size_bytes", size));
        }
        for (name, value) in report {
            let mut lset = Labels::with_capacity(self.target.labels.len() + 1);
            lset.set(labels::METRIC_NAME, name);
            for (n, v) in self.target.labels.iter() {
                lset.set(n, v);
            }
            with_external_labels(&mut lset, &self.settings);
            let md = Md {
                current: &metadata,
                prev: &self.prev_metadata,
            };
            tx.add(
                ScrapedSample {
                    labels: &Series::new(Frozen::new(&lset), &self.target),
                    value,
                    ts_ms: start_ms,
                    exemplar: None,
                },
                md,
            );
        }
        // Families of stale series keep the type they had.
        for (k, m) in std::mem::take(&mut self.prev_metadata) {
            metadata.entry(k).or_insert(m);
        }
        self.prev_metadata = metadata;
        out.error = err;
        self.hand_out(tx, out)
    }

    /// A finished transaction, to be handed out with the counts and error of `out`.
    fn hand_out(&mut self, tx: Transaction, out: Outcome) -> Scrape<'_> {
        // Remote write gives each request's resources a `target_info` sample at the latest
        // time of their points: with the target's own timestamps, one chunk's could be older
        // than the last one's, and Prometheus refuses the whole request for an
        // out-of-order sample. Such scrapes go at once, as the Go receiver sends them; the
        // others' chunks repeat the same `target_info` sample, which Prometheus ignores.
        let whole = tx.own_timestamps;
        Scrape {
            error: out.error,
            samples_scraped: out.samples_scraped,
            samples_post_relabel: out.samples_post_relabel,
            series_added: out.series_added,
            emitter: tx.finish(),
            whole,
            adjuster: self
                .settings
                .adjust_start_times
                .then_some(&mut self.adjuster),
            group_maps: &mut self.group_maps,
        }
    }

    /// Staleness markers for every series of the last scrape, for a target that goes away.
    pub fn stale_all(&mut self, now_ms: i64) -> Outcome {
        let mut tx = self.transaction();
        let metadata = std::mem::take(&mut self.prev_metadata);
        let none = HashMap::default();
        let md = Md {
            current: &metadata,
            prev: &none,
        };
        let prev = std::mem::take(&mut self.prev_tracked);
        for c in std::mem::take(&mut self.cache).into_values() {
            if let Some(lset) = c.series.filter(|_| prev != 0 && c.tracked == prev) {
                tx.add(
                    ScrapedSample {
                        labels: &lset,
                        value: stale_nan(),
                        ts_ms: now_ms,
                        exemplar: None,
                    },
                    md,
                );
            }
        }
        self.hand_out(tx, Outcome::default()).into_outcome()
    }

    #[allow(clippy::too_many_arguments)]
    fn parse(
        &mut self,
        body: &[u8],
        format: Format,
        start_ms: i64,
        tx: &mut Transaction,
        metadata: &mut HashMap<String, Meta, Fast>,
        out: &mut Outcome,
    ) -> Result<(), String> {
        let cfg = &*self.cfg;
        // Labels are parsed only for series not in the cache.
        let mut p = Parser::from_bytes(body, format)
            .map_err(|e| e.to_string())?
            .lazy_labels();
        let mut limit_error: Option<String> = None;
        while let Some(entry) = p.next_entry().map_err(|e| e.to_string())? {
            let s = match entry {
                Entry::Help { name, text } => {
                    meta_entry(metadata, &name).help = text.into_owned();
                    continue;
                }
                Entry::Type { name, kind } => {
                    meta_entry(metadata, &name).kind = Some(kind);
                    continue;
                }
                Entry::Unit { name, unit } => {
                    meta_entry(metadata, &name).unit = unit.into_owned();
                    continue;
                }
                Entry::Sample(s) => s,
            };
            out.samples_scraped += 1;
            if limit_error.is_some() {
                continue;
            }
            let (now, prev) = (self.scrapes, self.prev_tracked);
            let track = s.timestamp_ms.is_none() || cfg.track_timestamps_staleness;
            let seen = match self.cache.get_mut(s.series) {
                Some(c) => c.see(now, prev, track),
                None => {
                    let parsed = s.labels().map_err(|e| e.to_string())?;
                    let mut lset =
                        Labels::with_capacity(parsed.len() + self.target.labels.len() + 1);
                    lset.set(labels::METRIC_NAME, s.name.as_ref());
                    for (n, v) in parsed.iter() {
                        lset.set(n.as_ref(), v.as_ref());
                    }
                    merge_target_labels(&mut lset, &self.target.labels, cfg.honor_labels);
                    let kept = relabel::process(&mut lset, &cfg.metric_relabel_configs)
                        && !lset.is_empty();
                    if kept && let Err(e) = check_label_limits(&lset, cfg) {
                        // (Not cached: the scrape fails, and so would the next one.)
                        limit_error = Some(e);
                        continue;
                    }
                    if kept && cfg.sample_limit > 0 && out.samples_post_relabel >= cfg.sample_limit
                    {
                        // Past the sample limit the scrape fails: a new series is counted
                        // but not cached, so that the cache stays bounded by the limit.
                        out.samples_post_relabel += 1;
                        continue;
                    }
                    if kept {
                        with_external_labels(&mut lset, &self.settings);
                    }
                    let c = Cached {
                        series: kept.then(|| Series::new(Frozen::new(&lset), &self.target)),
                        seen: 0,
                        tracked: 0,
                        was_tracked: false,
                    };
                    self.cache.insert(s.series.into(), c).see(now, prev, track)
                }
            };
            // (A sample over the sample limit is tracked too: the scrape fails then, and a
            // failed scrape's tracking is not used.)
            let Some((lset, added)) = seen else {
                continue;
            };
            let ts_ms = match s.timestamp_ms {
                Some(t) if cfg.honor_timestamps => t,
                _ => start_ms,
            };
            out.samples_post_relabel += 1;
            if cfg.sample_limit > 0 && out.samples_post_relabel > cfg.sample_limit {
                // The scrape fails; stop keeping samples so memory stays bounded.
                continue;
            }
            if added {
                out.series_added += 1;
            }
            let exemplar = s.exemplar.map(|(value, ts)| ParsedExemplar {
                labels: s
                    .exemplar_labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                value,
                ts_ms: ts.unwrap_or(ts_ms),
            });
            tx.own_timestamps |= ts_ms != start_ms;
            let md = Md {
                current: metadata,
                prev: &self.prev_metadata,
            };
            tx.add(
                ScrapedSample {
                    labels: lset,
                    value: s.value,
                    ts_ms,
                    exemplar,
                },
                md,
            );
        }
        match limit_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn meta_entry<'m>(m: &'m mut HashMap<String, Meta, Fast>, name: &str) -> &'m mut Meta {
    m.entry(name.to_string()).or_insert_with(|| Meta {
        family: name.to_string(),
        ..Meta::default()
    })
}

/// Prometheus's `mutateSampleLabels` before metric relabeling: with `honor_labels` the
/// scraped labels win; otherwise the target's win and clashing scraped ones are kept as
/// `exported_<name>` (shortest names first, prefixing again while taken).
pub fn merge_target_labels(lset: &mut Labels, target: &Labels, honor_labels: bool) {
    if honor_labels {
        for (n, v) in target.iter() {
            if !lset.has(n) {
                lset.set(n, v);
            }
        }
        return;
    }
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for (n, v) in target.iter() {
        let existing = lset.get(n);
        if !existing.is_empty() {
            conflicts.push((n.to_string(), existing.to_string()));
        }
        lset.set(n, v);
    }
    conflicts.sort_by_key(|(n, _)| n.len());
    for (n, v) in conflicts {
        let mut name = n;
        loop {
            name = format!("exported_{name}");
            if lset.get(&name).is_empty() {
                lset.set(name, v);
                break;
            }
        }
    }
}

/// The receiver's `external_labels`, set on a sample's labels after relabeling and the
/// limits (on the cached label set, so once per series rather than once per sample).
fn with_external_labels(lset: &mut Labels, settings: &Settings) {
    for (n, v) in settings.external_labels.iter() {
        lset.set(n, v);
    }
}

fn check_label_limits(lset: &Labels, cfg: &ScrapeConfig) -> Result<(), String> {
    let metric = || truncate(lset.get(labels::METRIC_NAME), 50).to_string();
    if cfg.label_limit > 0 && lset.len() as u64 > cfg.label_limit {
        return Err(format!(
            "label_limit exceeded (metric: {}, number of labels: {}, limit: {})",
            metric(),
            lset.len(),
            cfg.label_limit
        ));
    }
    if cfg.label_name_length_limit == 0 && cfg.label_value_length_limit == 0 {
        return Ok(());
    }
    for (n, v) in lset.iter() {
        if cfg.label_name_length_limit > 0 && n.len() as u64 > cfg.label_name_length_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {}, label name: {}, length: {}, limit: {})",
                metric(),
                truncate(n, 50),
                n.len(),
                cfg.label_name_length_limit
            ));
        }
        if cfg.label_value_length_limit > 0 && v.len() as u64 > cfg.label_value_length_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {}, label name: {}, value: {:?}, length: {}, limit: {})",
                metric(),
                truncate(n, 50),
                truncate(v, 50),
                v.len(),
                cfg.label_value_length_limit
            ));
        }
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

// ---- the transaction: samples into OTLP ------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Sum { monotonic: bool },
    Histogram,
    Summary,
}

fn kind_of(t: Option<MetricType>) -> Kind {
    match t {
        Some(MetricType::Counter) => Kind::Sum { monotonic: true },
        Some(MetricType::Histogram) => Kind::Histogram,
        Some(MetricType::Summary) => Kind::Summary,
        Some(MetricType::Info | MetricType::StateSet) => Kind::Sum { monotonic: false },
        // Untyped and gauge histograms (which OTLP cannot carry) become gauges.
        _ => Kind::Gauge,
    }
}

/// Metadata of the samples Prometheus adds to every scrape (Go's `internalMetricMetadata`).
fn internal_meta(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "up" => ("The scraping was successful", ""),
        "scrape_duration_seconds" => ("Duration of the scrape", "seconds"),
        "scrape_samples_scraped" => ("The number of samples the target exposed", ""),
        "scrape_series_added" => ("The approximate number of new series in this scrape", ""),
        "scrape_samples_post_metric_relabeling" => (
            "The number of samples remaining after metric relabeling was applied",
            "",
        ),
        "scrape_body_size_bytes" => ("Length of the scrape response in bytes", ""),
        "scrape_sample_limit" => ("Sample limit of the scrape", ""),
        "scrape_timeout_seconds" => ("Timeout of the scrape", ""),
        _ => return None,
    })
}

const TRIMMABLE: [&str; 6] = ["_bucket", "_count", "_sum", "_total", "_info", "_created"];

fn normalize_name(name: &str) -> &str {
    for s in TRIMMABLE {
        if let Some(t) = name.strip_suffix(s)
            && !t.is_empty()
        {
            return t;
        }
    }
    name
}

/// The family a sample belongs to (its OTLP metric name) and its metadata, as Go's
/// `metadataForMetric` decides.
fn family_for(name: &str, md: Md<'_>) -> (String, Meta) {
    if let Some((help, unit)) = internal_meta(name) {
        return (
            name.to_string(),
            Meta {
                family: name.to_string(),
                kind: Some(MetricType::Gauge),
                help: help.into(),
                unit: unit.into(),
            },
        );
    }
    if let Some(m) = md.get(name) {
        return (name.to_string(), m.clone());
    }
    let norm = normalize_name(name);
    if let Some(m) = md.get(norm) {
        if m.kind == Some(MetricType::Counter) {
            // A counter's `_created` belongs to its `_total` series.
            if name.ends_with("_created") {
                return (format!("{norm}_total"), m.clone());
            }
            return (name.to_string(), m.clone());
        }
        return (norm.to_string(), m.clone());
    }
    (
        name.to_string(),
        Meta {
            family: name.to_string(),
            ..Meta::default()
        },
    )
}

#[derive(Default)]
struct Group {
    ts_ms: i64,
    value: f64,
    created: f64,
    /// What only histograms, summaries and exemplars need, kept apart: the groups of
    /// counters and gauges (most of them) take 72 bytes in their family's map instead of
    /// 136, and a scrape walks half the memory to reach them.
    more: Option<Box<GroupMore>>,
}

#[derive(Default)]
struct GroupMore {
    count: f64,
    has_count: bool,
    sum: f64,
    has_sum: bool,
    bounds: Vec<(f64, f64)>,
    exemplars: Vec<Exemplar>,
}

impl Group {
    fn more(&mut self) -> &mut GroupMore {
        self.more.get_or_insert_default()
    }
}

/// A group's identity: the label set of its first sample, whose labels but those the
/// family's kind leaves out ([`point_attrs`]) are the point's attributes. The attributes
/// become OTLP strings only when the point is made, so a scrape copies no label while
/// it groups, and makes each point's strings just before they are sent.
struct GroupKey {
    /// Of the attributes, with [`IDENTITY`].
    hash: u64,
    kind: Kind,
    /// The transaction that last added a sample to the group ([`Transaction::pass`]):
    /// keys stay in their family's map from scrape to scrape, and a group is part of a
    /// transaction only when this is that transaction's. (Not part of the key's identity.)
    pass: u32,
    labels: Frozen,
}

impl GroupKey {
    fn probe(&self) -> GroupProbe<'_> {
        GroupProbe {
            hash: self.hash,
            kind: self.kind,
            labels: &self.labels,
        }
    }

    fn hash_of(kind: Kind, labels: &Frozen) -> u64 {
        let mut h = IDENTITY.build_hasher();
        for p in point_attrs(kind, labels) {
            p.hash(&mut h);
        }
        h.finish()
    }
}

/// A group looked up with a borrowed label set (the key is made only for a new group).
struct GroupProbe<'l> {
    hash: u64,
    kind: Kind,
    labels: &'l Frozen,
}

impl Hash for GroupProbe<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl Equivalent<GroupKey> for GroupProbe<'_> {
    fn equivalent(&self, k: &GroupKey) -> bool {
        self.hash == k.hash
            && (Frozen::ptr_eq(self.labels, &k.labels)
                || point_attrs(self.kind, self.labels).eq(point_attrs(k.kind, &k.labels)))
    }
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, o: &GroupKey) -> bool {
        self.probe().equivalent(o)
    }
}

impl Eq for GroupKey {}

/// The labels of a sample that become its point's attributes.
fn point_attrs(kind: Kind, lset: &Frozen) -> impl Iterator<Item = (&str, &str)> {
    lset.iter()
        .filter(move |(n, v)| !v.is_empty() && !not_useful(kind, n))
}

struct Family {
    name: String,
    kind: Kind,
    meta: Meta,
    groups: IndexMap<GroupKey, Group, Fast>,
    /// Where the group after the last one found is: a target writes its series in the
    /// same order every scrape, and the groups kept from the last scrape are in that order.
    next: usize,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ScopeKey {
    name: String,
    version: String,
    schema_url: String,
    attrs: Vec<(String, String)>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ResourceKey {
    job: String,
    instance: String,
}

struct ResourceEntry {
    attrs: Vec<KeyValue>,
    scopes: IndexMap<Option<ScopeKey>, IndexMap<String, Family, Fast>, Fast>,
}

struct Transaction {
    target: Arc<Target>,
    settings: Arc<Settings>,
    /// Whether a sample kept a time of its own (not the scrape's).
    own_timestamps: bool,
    resources: IndexMap<ResourceKey, ResourceEntry, Fast>,
    last_resource: Option<usize>,
    /// The target's own resource, once a sample has made it ([`Series::of_target`]).
    target_resource: Option<usize>,
    family_names: HashMap<String, String, Fast>,
    last_family: Option<LastFamily>,
    /// The group maps of the target's last scrape ([`TargetState::group_maps`]); what
    /// this scrape does not take is dropped with the transaction.
    group_maps: GroupMaps,
    /// This transaction's number among the target's ([`GroupKey::pass`]).
    pass: u32,
}

/// Where the last sample of the default scope went: its resource, scope and family, and
/// its metric name (samples with `otel_scope_*` labels are not remembered).
#[derive(Default)]
struct LastFamily {
    resource: usize,
    scope_index: usize,
    family: usize,
    name: String,
}

impl Transaction {
    fn new(target: Arc<Target>, settings: Arc<Settings>, pass: u32) -> Self {
        Transaction {
            pass,
            target,
            settings,
            own_timestamps: false,
            resources: IndexMap::default(),
            last_resource: None,
            target_resource: None,
            family_names: HashMap::default(),
            last_family: None,
            group_maps: GroupMaps::default(),
        }
    }

    fn add(&mut self, s: ScrapedSample<'_>, md: Md<'_>) {
        let series = s.labels;
        let lset = &series.labels;
        let (name, mut job, mut instance, scoped) = (
            lset.at(series.name),
            lset.at(series.job),
            lset.at(series.instance),
            series.scoped,
        );
        if name.is_empty() {
            return;
        }
        if job.is_empty() {
            job = self.target.job();
        }
        if instance.is_empty() {
            instance = self.target.instance();
        }
        // Consecutive samples almost always share their resource: look it up once.
        let index = match (self.target_resource, self.last_resource) {
            (Some(i), _) if series.of_target => i,
            (_, Some(i))
                if self
                    .resources
                    .get_index(i)
                    .is_some_and(|(k, _)| k.job == job && k.instance == instance) =>
            {
                i
            }
            _ => {
                let rkey = ResourceKey {
                    job: job.to_string(),
                    instance: instance.to_string(),
                };
                let target = &self.target;
                let entry = self.resources.entry(rkey);
                let i = entry.index();
                entry.or_insert_with(|| ResourceEntry {
                    attrs: create_resource(job, instance, &target.discovered),
                    scopes: IndexMap::default(),
                });
                i
            }
        };
        self.last_resource = Some(index);
        if series.of_target {
            self.target_resource = Some(index);
        }
        let Some((_, res)) = self.resources.get_index_mut(index) else {
            return;
        };
        if name == "target_info" {
            for (n, v) in lset.iter() {
                if n == labels::JOB || n == labels::INSTANCE || n == labels::METRIC_NAME {
                    continue;
                }
                put_str(&mut res.attrs, n, v);
            }
            return;
        }
        // Consecutive samples mostly belong to one family: the last one is tried first.
        let last = self
            .last_family
            .as_ref()
            .filter(|l| !scoped && l.resource == index && l.name == name);
        let (si, fi) = match last {
            Some(l) => (l.scope_index, l.family),
            None => {
                let scope = if scoped { scope_of(lset) } else { None };
                let entry = res.scopes.entry(scope);
                let si = entry.index();
                let families = entry.or_default();
                // The family of a name depends only on the metadata: decided once per name.
                let fname = match self.family_names.get(name) {
                    Some(f) => f,
                    None => {
                        let (f, _) = family_for(name, md);
                        self.family_names.insert(name.to_string(), f);
                        &self.family_names[name]
                    }
                };
                let fi = match families.get_index_of(fname.as_str()) {
                    Some(fi) => fi,
                    None => {
                        let (fname, meta) = family_for(name, md);
                        let groups = self.group_maps.remove(&fname).unwrap_or_default();
                        families
                            .insert_full(
                                fname.clone(),
                                Family {
                                    name: fname,
                                    kind: kind_of(meta.kind),
                                    meta,
                                    groups,
                                    next: 0,
                                },
                            )
                            .0
                    }
                };
                if scoped {
                    self.last_family = None;
                } else {
                    let l = self.last_family.get_or_insert_with(LastFamily::default);
                    l.resource = index;
                    l.scope_index = si;
                    l.family = fi;
                    l.name.clear();
                    l.name.push_str(name);
                }
                (si, fi)
            }
        };

        let Some(fam) = res
            .scopes
            .get_index_mut(si)
            .and_then(|(_, families)| families.get_index_mut(fi))
            .map(|(_, fam)| fam)
        else {
            return;
        };
        let kind = fam.kind;
        let hash = series.hash(kind);
        let probe = GroupProbe {
            hash,
            kind,
            labels: lset,
        };
        // The group after the last one found, or (a histogram's or summary's next line)
        // the last one again, before the hash table.
        let expected = |i: usize| {
            fam.groups
                .get_index(i)
                .is_some_and(|(k, _)| probe.equivalent(k))
                .then_some(i)
        };
        let multi = matches!(kind, Kind::Histogram | Kind::Summary);
        let found = (multi && fam.next > 0)
            .then(|| expected(fam.next - 1))
            .flatten()
            .or_else(|| expected(fam.next))
            .or_else(|| fam.groups.get_index_of(&probe));
        let i = match found {
            Some(i) => i,
            None => {
                let key = GroupKey {
                    hash,
                    kind,
                    pass: self.pass,
                    labels: lset.clone(),
                };
                let group = Group {
                    ts_ms: s.ts_ms,
                    ..Group::default()
                };
                fam.groups.insert_full(key, group).0
            }
        };
        fam.next = i + 1;
        let Some((key, group)) = fam.groups.get_index_mut2(i) else {
            return;
        };
        if key.pass != self.pass {
            // Kept from an earlier scrape: this is its first sample in this one.
            key.pass = self.pass;
            *group = Group {
                ts_ms: s.ts_ms,
                ..Group::default()
            };
        }
        if group.ts_ms != s.ts_ms {
            // Go: "inconsistent timestamps on metric points"; the sample is left out.
            return;
        }
        let is_created = name
            .strip_suffix("_created")
            .is_some_and(|f| f == fam.meta.family);
        match kind {
            Kind::Histogram | Kind::Summary => {
                if name.ends_with("_sum") {
                    let m = group.more();
                    m.sum = s.value;
                    m.has_sum = true;
                } else if name.ends_with("_count") {
                    let m = group.more();
                    m.count = s.value;
                    m.has_count = true;
                } else if is_created {
                    group.created = s.value;
                } else {
                    let key = if kind == Kind::Histogram {
                        "le"
                    } else {
                        "quantile"
                    };
                    match lset.get(key).parse::<f64>() {
                        Ok(b) if !lset.get(key).is_empty() => {
                            group.more().bounds.push((b, s.value))
                        }
                        _ => return,
                    }
                }
            }
            Kind::Sum { .. } => {
                if is_created {
                    group.created = s.value;
                } else {
                    group.value = s.value;
                }
            }
            Kind::Gauge => group.value = s.value,
        }
        if let Some(e) = s.exemplar
            && kind != Kind::Summary
        {
            group.more().exemplars.push(convert_exemplar(e));
        }
    }

    /// The transaction's points, ready to be handed out in chunks.
    fn finish(self) -> Emitter {
        let settings = &*self.settings;
        let pass = self.pass;
        let resources = self
            .resources
            .into_values()
            .map(|res| ReadyResource {
                adjust_key: Adjuster::resource_key(&res.attrs),
                attrs: res.attrs,
                scopes: res
                    .scopes
                    .into_iter()
                    .map(|(scope, families)| {
                        let (scope, schema_url) = match scope {
                            None => (
                                InstrumentationScope {
                                    name: SCOPE_NAME.into(),
                                    version: settings.scope_version.clone(),
                                    ..Default::default()
                                },
                                String::new(),
                            ),
                            Some(k) => (
                                InstrumentationScope {
                                    name: k.name,
                                    version: k.version,
                                    attributes: k.attrs.iter().map(|(n, v)| kv(n, v)).collect(),
                                    ..Default::default()
                                },
                                k.schema_url,
                            ),
                        };
                        ReadyScope {
                            scope,
                            schema_url,
                            families: families
                                .into_iter()
                                .map(|(key, f)| f.ready(key, settings, pass))
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect();
        Emitter {
            resources,
            at: (0, 0, 0),
            emptied: GroupMaps::default(),
        }
    }
}

struct ReadyResource {
    attrs: Vec<KeyValue>,
    /// The resource's part of its points' identity for the adjuster ([`Adjuster::resource_key`]).
    adjust_key: u64,
    scopes: Vec<ReadyScope>,
}

struct ReadyScope {
    scope: InstrumentationScope,
    schema_url: String,
    families: Vec<ReadyFamily>,
}

/// A family whose groups are made into points as they are handed out.
struct ReadyFamily {
    /// The family's name in the transaction (what its group map is kept under).
    key: String,
    /// The OTLP metric name (suffixes trimmed when configured).
    name: String,
    kind: Kind,
    help: String,
    unit: String,
    /// Handed out in order from `next` on; each group is taken out of the map as its point
    /// is made, and the map is kept for the next scrape with the keys of this one's groups.
    groups: IndexMap<GroupKey, Group, Fast>,
    next: usize,
    /// The transaction's [`GroupKey::pass`]: groups of other passes (series the last
    /// scrape had and this one has not) make no point.
    pass: u32,
}

/// Group maps by family name, kept for the next scrape with the keys of the groups the
/// last one made (their groups emptied).
type GroupMaps = HashMap<String, IndexMap<GroupKey, Group, Fast>, Fast>;

/// A finished transaction, handed out as OTLP a chunk at a time, in the transaction's
/// order: resources, scopes, families, groups. A scrape's 100,000 points are not all made
/// before the first are sent: each chunk's strings are made, translated by the exporters
/// and freed while they are still in the CPU cache, and the next chunk reuses that memory.
struct Emitter {
    resources: Vec<ReadyResource>,
    /// The next (resource, scope, family) to hand out from.
    at: (usize, usize, usize),
    /// The group maps of the families handed out, with the keys of their groups, for the
    /// next scrape.
    emptied: GroupMaps,
}

impl Emitter {
    /// The points of at most `max_groups` more groups; `None` when all were handed out.
    /// With an `adjuster`, each point's start time is adjusted as it is made.
    fn next_chunk(
        &mut self,
        max_groups: usize,
        mut adjuster: Option<&mut Adjuster>,
    ) -> Option<Vec<ResourceMetrics>> {
        let mut out: Vec<ResourceMetrics> = Vec::new();
        // Where the last metric went: (resource, scope) of `out`'s last entries.
        let mut last: Option<(usize, usize)> = None;
        let mut budget = max_groups.max(1);
        while budget > 0 {
            let (ri, si, fi) = self.at;
            let Some(res) = self.resources.get_mut(ri) else {
                break;
            };
            let Some(scope) = res.scopes.get_mut(si) else {
                self.at = (ri + 1, 0, 0);
                continue;
            };
            let Some(fam) = scope.families.get_mut(fi) else {
                self.at = (ri, si + 1, 0);
                continue;
            };
            let n = budget.min(fam.groups.len() - fam.next);
            budget -= n;
            let adjusting = adjuster.as_deref_mut().map(|a| (a, res.adjust_key));
            let metric = fam.piece(n, adjusting);
            if fam.next == fam.groups.len() {
                self.at = (ri, si, fi + 1);
                let mut map = std::mem::take(&mut fam.groups);
                // The keys of series gone since the last scrape go; the others stay.
                let pass = fam.pass;
                map.retain(|k, _| k.pass == pass);
                let used = map.len();
                // A family that shrank a lot does not keep its largest size.
                if map.capacity() / 4 > used {
                    map.shrink_to(used);
                }
                self.emptied.insert(std::mem::take(&mut fam.key), map);
            }
            let Some(metric) = metric else {
                continue;
            };
            if last.is_none_or(|(r, _)| r != ri) {
                out.push(ResourceMetrics {
                    resource: Some(Resource {
                        attributes: res.attrs.clone(),
                        ..Default::default()
                    }),
                    scope_metrics: Vec::new(),
                    schema_url: String::new(),
                });
            }
            let Some(rm) = out.last_mut() else {
                break;
            };
            if last != Some((ri, si)) {
                rm.scope_metrics.push(ScopeMetrics {
                    scope: Some(scope.scope.clone()),
                    metrics: Vec::new(),
                    schema_url: scope.schema_url.clone(),
                });
            }
            last = Some((ri, si));
            if let Some(sm) = rm.scope_metrics.last_mut() {
                sm.metrics.push(metric);
            }
        }
        if out.is_empty() && self.at.0 >= self.resources.len() {
            return None;
        }
        Some(out)
    }
}

fn not_useful(kind: Kind, name: &str) -> bool {
    match name {
        labels::METRIC_NAME
        | labels::INSTANCE
        | labels::JOB
        | labels::SCHEME
        | labels::METRICS_PATH => true,
        "le" => kind == Kind::Histogram,
        "quantile" => kind == Kind::Summary,
        n => n.starts_with("otel_scope_"),
    }
}

fn scope_of(lset: &Frozen) -> Option<ScopeKey> {
    let mut key = ScopeKey {
        name: String::new(),
        version: String::new(),
        schema_url: String::new(),
        attrs: Vec::new(),
    };
    let mut any = false;
    for (n, v) in lset.iter() {
        let Some(rest) = n.strip_prefix("otel_scope_") else {
            continue;
        };
        any = true;
        match rest {
            "name" => key.name = v.to_string(),
            "version" => key.version = v.to_string(),
            "schema_url" => key.schema_url = v.to_string(),
            _ => key.attrs.push((rest.to_string(), v.to_string())),
        }
    }
    any.then_some(key)
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
        ..Default::default()
    }
}

fn put_str(attrs: &mut Vec<KeyValue>, k: &str, v: &str) {
    match attrs.iter_mut().find(|a| a.key == k) {
        Some(a) => *a = kv(k, v),
        None => attrs.push(kv(k, v)),
    }
}

/// Go's `isDiscernibleHost`: not loopback, not unspecified, not `localhost`.
fn is_discernible_host(host: &str) -> bool {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return !ip.is_loopback() && !ip.is_unspecified();
    }
    host != "localhost"
}

/// Go's `net.SplitHostPort` for `instance`; `None` when it has no port.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// The resource of a target (Go's `CreateResource`).
pub fn create_resource(job: &str, instance: &str, discovered: &Labels) -> Vec<KeyValue> {
    let (host, port) = match split_host_port(instance) {
        Some((h, p)) => (h, p),
        None => (instance, ""),
    };
    let mut attrs = vec![kv("service.name", job)];
    if is_discernible_host(host) {
        attrs.push(kv("server.address", host));
    }
    attrs.push(kv("service.instance.id", instance));
    attrs.push(kv("server.port", port));
    attrs.push(kv("url.scheme", discovered.get(labels::SCHEME)));
    const K8S: [(&str, &str); 7] = [
        ("__meta_kubernetes_pod_name", "k8s.pod.name"),
        ("__meta_kubernetes_pod_uid", "k8s.pod.uid"),
        ("__meta_kubernetes_pod_container_name", "k8s.container.name"),
        ("__meta_kubernetes_namespace", "k8s.namespace.name"),
        ("__meta_kubernetes_pod_node_name", "k8s.node.name"),
        ("__meta_kubernetes_node_name", "k8s.node.name"),
        ("__meta_kubernetes_endpoint_node_name", "k8s.node.name"),
    ];
    for (sd, attr) in K8S {
        let v = discovered.get(sd);
        if !v.is_empty() {
            put_str(&mut attrs, attr, v);
        }
    }
    attrs
}

fn ns_from_ms(ms: i64) -> u64 {
    (ms as u64).wrapping_mul(1_000_000)
}

/// Go's `timestampFromFloat64`: whole seconds and the fraction, each to nanoseconds.
fn ns_from_secs(f: f64) -> u64 {
    let secs = f as i64;
    let nanos = ((f - secs as f64) * 1e9) as i64;
    (secs.wrapping_mul(1_000_000_000).wrapping_add(nanos)) as u64
}

/// Go's `decodeAndCopyToLowerBytes`: a short id is right-aligned, a long one cut.
fn decode_id<const N: usize>(hex_text: &str) -> Option<[u8; N]> {
    let src = hex_text.as_bytes();
    let mut dst = [0u8; N];
    if src.len() / 2 >= N {
        hex::decode_to_slice(&src[..2 * N], &mut dst).ok()?;
    } else {
        let n = src.len() / 2;
        // An odd length is an error in Go's hex.Decode too.
        if !src.len().is_multiple_of(2) {
            return None;
        }
        hex::decode_to_slice(src, &mut dst[N - n..]).ok()?;
    }
    Some(dst)
}

fn convert_exemplar(e: ParsedExemplar) -> Exemplar {
    let mut out = Exemplar {
        time_unix_nano: ns_from_ms(e.ts_ms),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Default::default()
    };
    for (n, v) in e.labels {
        match n.to_ascii_lowercase().as_str() {
            "trace_id" => match decode_id::<16>(&v) {
                Some(id) => out.trace_id = id.to_vec(),
                None => out.filtered_attributes.push(kv(&n, &v)),
            },
            "span_id" => match decode_id::<8>(&v) {
                Some(id) => out.span_id = id.to_vec(),
                None => out.filtered_attributes.push(kv(&n, &v)),
            },
            _ => out.filtered_attributes.push(kv(&n, &v)),
        }
    }
    out
}

impl GroupKey {
    /// The group's point attributes as OTLP.
    fn attributes(&self) -> Vec<KeyValue> {
        point_attrs(self.kind, &self.labels)
            .map(|(n, v)| kv(n, v))
            .collect()
    }
}

const NO_RECORDED_VALUE: u32 = DataPointFlags::NoRecordedValueMask as u32;

impl Family {
    fn ready(self, key: String, settings: &Settings, pass: u32) -> ReadyFamily {
        let name = if settings.trim_suffixes {
            trim_prom_suffixes(&self.name, self.kind, &self.meta.unit)
        } else {
            self.name
        };
        ReadyFamily {
            key,
            name,
            kind: self.kind,
            help: self.meta.help,
            unit: self.meta.unit,
            groups: self.groups,
            next: 0,
            pass,
        }
    }
}

impl ReadyFamily {
    /// The metric of the next `n` groups' points (`None` when none of them makes one);
    /// with an adjuster (and the resource's key), their start times adjusted.
    fn piece(&mut self, n: usize, adjuster: Option<(&mut Adjuster, u64)>) -> Option<Metric> {
        let kind = self.kind;
        // Without the adjuster Go leaves a start unset unless the series has `_created`.
        let adjust = adjuster.is_some();
        let mut adjuster =
            adjuster.map(|(a, resource)| (a, Adjuster::metric_key(resource, &self.name)));
        // The adjuster's key of a point: its metric's and its group's hash, which stands for
        // its attributes (the labels `point_attrs` makes them of) — no string hashed again.
        let mut step = |k: &GroupKey, start: u64, flags: u32, value: f64, count: u64| match adjuster
            .as_mut()
        {
            Some((a, metric)) => a.step(
                Adjuster::point_key(*metric, k.hash),
                start,
                flags & NO_RECORDED_VALUE != 0,
                value,
                count,
            ),
            None => start,
        };
        let (from, to) = (self.next, (self.next + n).min(self.groups.len()));
        self.next = to;
        // The keys stay (those of other passes go when the family is done); each group of
        // this pass is taken as its point is made.
        let pass = self.pass;
        let groups = self.groups.as_mut_slice()[from..to]
            .iter_mut()
            .filter(|(k, _)| k.pass == pass)
            .map(|(k, g)| (k, std::mem::take(g)));
        let data = match kind {
            Kind::Histogram => {
                let points: Vec<HistogramDataPoint> = groups
                    .filter_map(|(k, g)| {
                        let mut p = histogram_point(k, g, adjust)?;
                        p.start_time_unix_nano = step(
                            k,
                            p.start_time_unix_nano,
                            p.flags,
                            p.sum.unwrap_or(0.0),
                            p.count,
                        );
                        Some(p)
                    })
                    .collect();
                if points.is_empty() {
                    return None;
                }
                metric::Data::Histogram(Histogram {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })
            }
            Kind::Summary => {
                let points: Vec<SummaryDataPoint> = groups
                    .filter_map(|(k, g)| {
                        let mut p = summary_point(k, g, adjust)?;
                        p.start_time_unix_nano =
                            step(k, p.start_time_unix_nano, p.flags, p.sum, p.count);
                        Some(p)
                    })
                    .collect();
                if points.is_empty() {
                    return None;
                }
                metric::Data::Summary(Summary {
                    data_points: points,
                })
            }
            Kind::Sum { monotonic } => {
                let points: Vec<NumberDataPoint> = groups
                    .map(|(k, g)| {
                        let mut p = number_point(k, g, true, adjust);
                        // (A stale point has no value: 0, and the adjuster keeps its start.)
                        let v = match p.value {
                            Some(number_data_point::Value::AsDouble(d)) => d,
                            _ => 0.0,
                        };
                        p.start_time_unix_nano = step(k, p.start_time_unix_nano, p.flags, v, 0);
                        p
                    })
                    .collect();
                if points.is_empty() {
                    return None;
                }
                metric::Data::Sum(Sum {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: monotonic,
                })
            }
            Kind::Gauge => {
                let points: Vec<NumberDataPoint> = groups
                    .map(|(k, g)| number_point(k, g, false, adjust))
                    .collect();
                if points.is_empty() {
                    return None;
                }
                metric::Data::Gauge(Gauge {
                    data_points: points,
                })
            }
        };
        Some(Metric {
            name: self.name.clone(),
            description: self.help.clone(),
            unit: self.unit.clone(),
            data: Some(data),
            ..Default::default()
        })
    }
}

/// `_created` when the series has one; otherwise the point's own time, which the adjuster
/// turns into the first-seen time (without the adjuster Go leaves the start unset).
fn start_of(g: &Group, adjust: bool) -> u64 {
    if g.created != 0.0 && g.created.is_finite() {
        ns_from_secs(g.created)
    } else if adjust {
        ns_from_ms(g.ts_ms)
    } else {
        0
    }
}

fn number_point(key: &GroupKey, g: Group, cumulative: bool, adjust: bool) -> NumberDataPoint {
    let stale = is_stale(g.value);
    NumberDataPoint {
        attributes: key.attributes(),
        start_time_unix_nano: if cumulative { start_of(&g, adjust) } else { 0 },
        time_unix_nano: ns_from_ms(g.ts_ms),
        exemplars: g.more.map(|m| m.exemplars).unwrap_or_default(),
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
        value: if stale {
            None
        } else {
            Some(number_data_point::Value::AsDouble(g.value))
        },
    }
}

fn histogram_point(key: &GroupKey, g: Group, adjust: bool) -> Option<HistogramDataPoint> {
    let (start_time_unix_nano, time_unix_nano) = (start_of(&g, adjust), ns_from_ms(g.ts_ms));
    let mut g = *g.more?;
    if !g.has_count {
        return None;
    }
    g.bounds
        .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut n = g.bounds.len() + 1;
    // A final +Inf bucket is implied in OTLP.
    if n > 1 && g.bounds[n - 2].0 == f64::INFINITY {
        n -= 1;
    }
    let stale = is_stale(g.sum) || is_stale(g.count);
    let mut explicit_bounds = Vec::with_capacity(n - 1);
    let mut bucket_counts = Vec::with_capacity(n);
    for i in 0..n - 1 {
        explicit_bounds.push(g.bounds[i].0);
        let mut c = g.bounds[i].1;
        if stale {
            c = 0.0;
        } else if i != 0 {
            c -= g.bounds[i - 1].1;
        }
        bucket_counts.push(c as u64);
    }
    let mut last = g.count;
    if stale {
        last = 0.0;
    } else if n > 1 {
        last -= g.bounds[n - 2].1;
    }
    bucket_counts.push(last as u64);
    Some(HistogramDataPoint {
        attributes: key.attributes(),
        start_time_unix_nano,
        time_unix_nano,
        count: if stale { 0 } else { g.count as u64 },
        sum: if !stale && g.has_sum {
            Some(g.sum)
        } else {
            None
        },
        bucket_counts,
        explicit_bounds,
        exemplars: g.exemplars,
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
        min: None,
        max: None,
    })
}

fn summary_point(key: &GroupKey, g: Group, adjust: bool) -> Option<SummaryDataPoint> {
    let (start_time_unix_nano, time_unix_nano) = (start_of(&g, adjust), ns_from_ms(g.ts_ms));
    let mut g = *g.more?;
    if !g.has_count {
        return None;
    }
    g.bounds
        .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let stale = is_stale(g.sum) || is_stale(g.count);
    Some(SummaryDataPoint {
        attributes: key.attributes(),
        start_time_unix_nano,
        time_unix_nano,
        count: if stale { 0 } else { g.count as u64 },
        sum: if !stale && g.has_sum { g.sum } else { 0.0 },
        quantile_values: g
            .bounds
            .iter()
            .map(|(q, v)| ValueAtQuantile {
                quantile: *q,
                value: if stale { 0.0 } else { *v },
            })
            .collect(),
        flags: if stale { NO_RECORDED_VALUE } else { 0 },
    })
}

/// `trim_metric_suffixes`: Go's `TrimPromSuffixes` — `_total` off sums, then the unit's
/// tokens off the end when the name ends with them.
fn trim_prom_suffixes(name: &str, kind: Kind, unit: &str) -> String {
    let mut tokens: Vec<&str> = name.split('_').collect();
    if tokens.len() == 1 {
        return name.to_string();
    }
    if matches!(kind, Kind::Sum { .. }) && tokens.last() == Some(&"total") {
        tokens.pop();
    }
    let unit_tokens: Vec<&str> = unit.split('_').collect();
    if tokens.len() > unit_tokens.len() && tokens.ends_with(&unit_tokens) {
        tokens.truncate(tokens.len() - unit_tokens.len());
    }
    tokens.join("_")
}

fn count_points(rm: &ResourceMetrics) -> usize {
    rm.scope_metrics
        .iter()
        .flat_map(|s| &s.metrics)
        .map(pdata::tree::data_point_count)
        .sum()
}

// ---- Go's initial-point adjuster -----------------------------------------------------

#[derive(Clone, Copy)]
struct StartPoint {
    start: u64,
    prev_value: f64,
    prev_count: u64,
    mark: bool,
}

/// Start times of cumulative points: a series' first point keeps its own start (its
/// `_created` or its time); later points get that start until the value (or count, or sum)
/// falls, which is a reset and starts again. Points without a value keep the stored start.
struct Adjuster {
    /// Keyed by the hash of (resource, metric name, attributes): one `u64` instead of two
    /// strings copied per point and scrape; in the order of the last scrape's points.
    series: Sequenced<u64, StartPoint, Fast>,
    gc_interval: Duration,
    last_gc: Instant,
}

impl Adjuster {
    fn new(gc_interval: Duration) -> Adjuster {
        Adjuster {
            series: Sequenced::default(),
            gc_interval,
            last_gc: Instant::now(),
        }
    }

    /// The resource's part of a point's identity: its `service.name` and
    /// `service.instance.id` (the job and instance it was made of).
    fn resource_key(attrs: &[KeyValue]) -> u64 {
        let attr = |k: &str| {
            attrs
                .iter()
                .find(|a| a.key == k)
                .and_then(|a| a.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let mut h = IDENTITY.build_hasher();
        attr("service.name").hash(&mut h);
        attr("service.instance.id").hash(&mut h);
        h.finish()
    }

    /// A metric's part: its resource's and its name.
    fn metric_key(resource: u64, name: &str) -> u64 {
        let mut h = IDENTITY.build_hasher();
        resource.hash(&mut h);
        name.hash(&mut h);
        h.finish()
    }

    /// A point's identity: its metric's and the [`GroupKey::hash`] of its attributes.
    fn point_key(metric: u64, attributes: u64) -> u64 {
        let mut h = IDENTITY.build_hasher();
        h.write_u64(metric);
        h.write_u64(attributes);
        h.finish()
    }

    /// Ends a scrape's points; every `gc_interval` the start points no scrape has marked
    /// since the last sweep go.
    fn finish_scrape(&mut self) {
        if self.last_gc.elapsed() > self.gc_interval {
            self.series
                .finish_pass(|_, sp| std::mem::take(&mut sp.mark));
            self.last_gc = Instant::now();
        } else {
            self.series.finish_pass(|_, _| true);
        }
    }

    fn step(&mut self, key: u64, start: u64, no_value: bool, value: f64, count: u64) -> u64 {
        match self.series.get_mut(&key) {
            None => {
                self.series.insert(
                    key,
                    StartPoint {
                        start,
                        prev_value: value,
                        prev_count: count,
                        mark: true,
                    },
                );
                start
            }
            Some(sp) => {
                sp.mark = true;
                if no_value {
                    return sp.start;
                }
                if value < sp.prev_value || count < sp.prev_count {
                    sp.start = start;
                    sp.prev_value = value;
                    sp.prev_count = count;
                    return start;
                }
                sp.prev_value = value;
                sp.prev_count = count;
                sp.start
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn trim_prom_suffixes_for_test(name: &str, sum: bool, unit: &str) -> String {
    let kind = if sum {
        Kind::Sum { monotonic: true }
    } else {
        Kind::Gauge
    };
    trim_prom_suffixes(name, kind, unit)
}

#[cfg(test)]
mod series_tests {
    use super::*;

    /// What a cached series remembers is what the transaction would work out from its
    /// labels at every sample: `__name__`, `job`, `instance`, scope labels, and the group
    /// hash of each kind.
    #[test]
    fn a_cached_series_remembers_what_its_labels_say() {
        let long = "v".repeat(300);
        let sets: [&[(&str, &str)]; 8] = [
            &[
                ("__name__", "a"),
                ("job", "j"),
                ("instance", "i:1"),
                ("k", "1"),
            ],
            &[
                ("__name__", "h_bucket"),
                ("job", "j"),
                ("le", "0.5"),
                ("x", &long),
            ],
            &[("__name__", "s"), ("quantile", "0.9"), ("instance", "")],
            &[("__name__", "o"), ("otel_scope_name", "lib"), ("z", "é")],
            &[("k", "no name")],
            &[],
            &[("__name__", "b"), ("job", "other"), ("instance", "i:1")],
            &[("__name__", "c"), ("instance", "x:1")],
        ];
        let target = Target {
            labels: Labels::from_pairs([("job", "j"), ("instance", "i:1")]),
            discovered: Labels::new(),
            url: String::new(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        let mut of_target = Vec::new();
        for pairs in sets {
            let lset = Frozen::new(&Labels::from_pairs(pairs.iter().copied()));
            let series = Series::new(lset.clone(), &target);
            let or_target = |n: &str| {
                let v = lset.get(n);
                v.is_empty() || v == target.labels.get(n)
            };
            assert_eq!(series.of_target, or_target("job") && or_target("instance"));
            of_target.push(series.of_target);
            let l = &series.labels;
            assert_eq!(l.at(series.name), lset.get(labels::METRIC_NAME));
            assert_eq!(l.at(series.job), lset.get(labels::JOB));
            assert_eq!(l.at(series.instance), lset.get(labels::INSTANCE));
            assert_eq!(
                series.scoped,
                lset.iter().any(|(n, _)| n.starts_with("otel_scope_"))
            );
            for kind in [
                Kind::Gauge,
                Kind::Sum { monotonic: true },
                Kind::Histogram,
                Kind::Summary,
            ] {
                assert_eq!(
                    series.hash(kind),
                    GroupKey::hash_of(kind, &lset),
                    "{pairs:?}"
                );
            }
        }
        assert_eq!(
            of_target,
            [true, true, true, true, true, true, false, false]
        );
    }
}
