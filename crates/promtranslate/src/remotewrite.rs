//! OTLP metrics to remote-write time series, as Go's `prometheusremotewrite.FromMetrics`,
//! and the size-bounded batching of the exporter (`batchTimeSeries`).
//!
//! Per metric type: gauges and sums give one sample per point (monotonic sums named with
//! `_total`); histograms give `_bucket` series with cumulative `le` counts ending at `+Inf`,
//! `_sum` (when the point has a sum) and `_count`; summaries give `quantile` series, `_sum`
//! and `_count`; exponential histograms become native histograms under the base name.
//! Delta sums, histograms and exponential histograms cannot be expressed in remote write:
//! they are not converted and each such metric is reported as an error (Go's "invalid
//! temporality and type combination"), the rest of the request is still sent.
//! A point flagged "no recorded value" becomes Prometheus's stale NaN.

use std::collections::HashMap;

use pdata::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::metrics::v1::{
    AggregationTemporality, Exemplar as OtlpExemplar, Metric, exemplar, metric::Data,
    number_data_point,
};
use pdata::scan::put_varint;

use crate::labels::{self, LabelRef, LabelSettings};
use crate::naming::{MetricNamer, MetricType};
use crate::prompb::{Exemplar, Histogram, Label, Sample, TimeSeries, WriteRequest};
use crate::{FLAG_NO_RECORDED_VALUE, format_float_f, native, stale_nan};

/// Go's `maxExemplarRunes`: exemplar labels beyond this are left out (trace and span id stay).
const MAX_EXEMPLAR_RUNES: usize = 128;

/// What the translation needs from the exporter config.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub namer: MetricNamer,
    pub labels: LabelSettings,
    /// `target_info.enabled`.
    pub target_info: bool,
    /// `export_created_metric.enabled`: a `_created` series with the start time.
    pub export_created_metric: bool,
}

/// The outcome of translating one request: its series (owned [`TimeSeries`], or encoded
/// as they go on the wire: [`EncodedSeries`]), and what could not be translated.
#[derive(Debug, Default)]
pub struct Translation<S = Vec<TimeSeries>> {
    pub series: S,
    /// One message per metric (or point) that could not be translated.
    pub errors: Vec<String>,
    /// Data points not translated.
    pub dropped_points: usize,
}

/// One label of a series as the stores take it: name and value, and for a label every point
/// of a resource and scope shares, its encoding (a `TimeSeries.labels` entry) made once for
/// all of them (empty: not made).
#[derive(Debug, Clone, Copy)]
struct Lbl<'l> {
    name: &'l str,
    value: &'l str,
    encoded: &'l [u8],
}

impl<'l> Lbl<'l> {
    fn pair((name, value): (&'l str, &'l str)) -> Lbl<'l> {
        Lbl {
            name,
            value,
            encoded: &[],
        }
    }
}

/// Where the translator puts the series it makes, in the order it first makes them.
trait SeriesStore {
    /// Room for about `n` series.
    fn reserve(&mut self, n: usize);
    /// The series of `labels` (sorted by name), created when new; its index.
    fn series<'l>(&mut self, labels: impl Iterator<Item = Lbl<'l>> + Clone) -> usize;
    fn push_sample(&mut self, i: usize, sample: Sample);
    fn has_samples(&self, i: usize) -> bool;
    fn push_exemplar(&mut self, i: usize, exemplar: Exemplar);
    fn push_histogram(&mut self, i: usize, histogram: Histogram);
}

/// Series by label hash: the first series of each hash; `next[i]` links series `i` to the
/// next one of the same hash (equal hashes are told apart by comparing the labels held, so
/// a label set is not stored twice). A chain in one vector rather than a vector per hash:
/// one allocation per request instead of one per series (measured in bench/scrape.sh).
#[derive(Debug, Default)]
struct Index {
    hasher: foldhash::fast::RandomState,
    first: HashMap<u64, usize, foldhash::fast::RandomState>,
    next: Vec<usize>,
}

/// End of a chain in [`Index::next`].
const NONE: usize = usize::MAX;

impl Index {
    fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
        self.next.reserve(n);
    }

    /// The series of hash `key` for which `same` holds, or `None` after noting that series
    /// `new` (the next one) has this hash.
    fn find(&mut self, key: u64, new: usize, same: impl Fn(usize) -> bool) -> Option<usize> {
        match self.first.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(new);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                let mut at = *o.get();
                loop {
                    if same(at) {
                        return Some(at);
                    }
                    match self.next[at] {
                        NONE => break,
                        n => at = n,
                    }
                }
                self.next[at] = new;
            }
        }
        self.next.push(NONE);
        None
    }
}

/// The owned series of [`from_metrics`].
#[derive(Debug, Default)]
struct OwnedSeries {
    series: Vec<TimeSeries>,
    index: Index,
}

impl SeriesStore for OwnedSeries {
    fn reserve(&mut self, n: usize) {
        self.series.reserve(n);
        self.index.reserve(n);
    }

    fn series<'l>(&mut self, labels: impl Iterator<Item = Lbl<'l>> + Clone) -> usize {
        use std::hash::{BuildHasher, Hasher};
        let mut h = self.index.hasher.build_hasher();
        for Lbl {
            name: n, value: v, ..
        } in labels.clone()
        {
            h.write(n.as_bytes());
            h.write_u8(0xff);
            h.write(v.as_bytes());
            h.write_u8(0xff);
        }
        let new = self.series.len();
        let series = &self.series;
        let same = |at: usize| {
            let (mut held, mut given) = (series[at].labels.iter(), labels.clone());
            loop {
                match (held.next(), given.next()) {
                    (None, None) => return true,
                    (Some(l), Some(g)) if l.name == g.name && l.value == g.value => {}
                    _ => return false,
                }
            }
        };
        if let Some(at) = self.index.find(h.finish(), new, same) {
            return at;
        }
        self.series.push(TimeSeries {
            labels: labels
                .map(|l| Label {
                    name: l.name.into(),
                    value: l.value.into(),
                })
                .collect(),
            ..Default::default()
        });
        new
    }

    fn push_sample(&mut self, i: usize, sample: Sample) {
        self.series[i].samples.push(sample);
    }

    fn has_samples(&self, i: usize) -> bool {
        !self.series[i].samples.is_empty()
    }

    fn push_exemplar(&mut self, i: usize, exemplar: Exemplar) {
        self.series[i].exemplars.push(exemplar);
    }

    fn push_histogram(&mut self, i: usize, histogram: Histogram) {
        self.series[i].histograms.push(histogram);
    }
}

/// Series whose labels are kept as they go on the wire (the repeated `TimeSeries.labels`
/// field, all series' labels in one buffer), what the exporter sends: no `String` per
/// label, the index keyed by those bytes, and the labels copied into the request as they
/// are. [`encode_batches`] writes the same bodies for these as for the [`TimeSeries`] of
/// [`from_metrics`] (tested, and checked by the fuzz target).
#[derive(Debug, Default)]
pub struct EncodedSeries {
    labels: Vec<u8>,
    series: Vec<Encoded>,
    index: Index,
}

#[derive(Debug)]
struct Encoded {
    labels: std::ops::Range<usize>,
    /// Most series have one sample and nothing else: that one is held here, the rest (rare)
    /// in `more`, so that a series costs no allocation of its own.
    first: Option<Sample>,
    more: Option<Box<More>>,
}

#[derive(Debug, Default)]
struct More {
    samples: Vec<Sample>,
    exemplars: Vec<Exemplar>,
    histograms: Vec<Histogram>,
}

const NO_MORE: &More = &More {
    samples: Vec::new(),
    exemplars: Vec::new(),
    histograms: Vec::new(),
};

impl Encoded {
    fn more(&self) -> &More {
        self.more.as_deref().unwrap_or(NO_MORE)
    }
}

/// Buffers of an [`EncodedSeries`] kept for the next request on the same thread (up to
/// [`KEEP_BYTES`]): a scrape of 100,000 series fills ~15 MB, which freshly allocated means
/// page faults on every batch.
const KEEP_BYTES: usize = 64 << 20;

thread_local! {
    static SPARE: std::cell::RefCell<Option<EncodedSeries>> = const { std::cell::RefCell::new(None) };
    static RAW: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl EncodedSeries {
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Empty series whose buffers may be those of the last ones recycled on this thread.
    fn reused() -> EncodedSeries {
        let mut s = SPARE.with(|c| c.borrow_mut().take()).unwrap_or_default();
        s.labels.clear();
        s.series.clear();
        s.index.first.clear();
        s.index.next.clear();
        s
    }

    /// Gives the buffers to the next translation on this thread (unless they grew large).
    pub fn recycle(self) {
        let bytes = self.labels.capacity()
            + self.series.capacity() * std::mem::size_of::<Encoded>()
            + self.index.next.capacity() * 24;
        if bytes <= KEEP_BYTES {
            SPARE.with(|c| *c.borrow_mut() = Some(self));
        }
    }
}

/// A `Sample` as `TimeSeries.samples` entry (field 2), as prost encodes it: fields with
/// their default value left out.
fn put_sample(x: &Sample, out: &mut Vec<u8>) {
    let value = x.value != 0.0;
    let ts = x.timestamp as u64;
    let len = if value { 9 } else { 0 }
        + if ts != 0 {
            1 + prost::encoding::encoded_len_varint(ts)
        } else {
            0
        };
    out.push(0x12);
    out.push(len as u8); // (at most 9 + 11 bytes)
    if value {
        out.push(0x09);
        out.extend_from_slice(&x.value.to_le_bytes());
    }
    if ts != 0 {
        out.push(0x10);
        put_varint(out, ts);
    }
}

/// A `Label` message as a `TimeSeries.labels` entry (prost's encoding: empty strings left out).
fn put_label(out: &mut Vec<u8>, n: &str, v: &str) {
    use prost::encoding::encoded_len_varint;
    let field = |s: &str| {
        if s.is_empty() {
            0
        } else {
            1 + encoded_len_varint(s.len() as u64) + s.len()
        }
    };
    let put = |out: &mut Vec<u8>, key: u8, s: &str| {
        if !s.is_empty() {
            out.push(key);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
    };
    out.push(0x0a); // field 1, length-delimited
    put_varint(out, (field(n) + field(v)) as u64);
    put(out, 0x0a, n);
    put(out, 0x12, v);
}

impl SeriesStore for EncodedSeries {
    fn reserve(&mut self, n: usize) {
        self.series.reserve(n);
        self.index.reserve(n);
        self.labels.reserve(n * 64);
    }

    fn series<'l>(&mut self, labels: impl Iterator<Item = Lbl<'l>> + Clone) -> usize {
        use std::hash::BuildHasher;
        let start = self.labels.len();
        for l in labels {
            if l.encoded.is_empty() {
                put_label(&mut self.labels, l.name, l.value);
            } else {
                self.labels.extend_from_slice(l.encoded);
            }
        }
        let (all, series) = (&self.labels, &self.series);
        let key = self.index.hasher.hash_one(&all[start..]);
        let new = series.len();
        let same = |at: usize| all[series[at].labels.clone()] == all[start..];
        if let Some(at) = self.index.find(key, new, same) {
            self.labels.truncate(start);
            return at;
        }
        self.series.push(Encoded {
            labels: start..self.labels.len(),
            first: None,
            more: None,
        });
        new
    }

    fn push_sample(&mut self, i: usize, sample: Sample) {
        let s = &mut self.series[i];
        if s.first.is_none() {
            s.first = Some(sample);
        } else {
            s.more.get_or_insert_default().samples.push(sample);
        }
    }

    fn has_samples(&self, i: usize) -> bool {
        self.series[i].first.is_some()
    }

    fn push_exemplar(&mut self, i: usize, exemplar: Exemplar) {
        let s = &mut self.series[i];
        s.more.get_or_insert_default().exemplars.push(exemplar);
    }

    fn push_histogram(&mut self, i: usize, histogram: Histogram) {
        let s = &mut self.series[i];
        s.more.get_or_insert_default().histograms.push(histogram);
    }
}

/// A series' labels: `base` (sorted by name, names unique) without any label named like
/// one of `ins`, with `ins` (`__name__` and the series' own `le`/`quantile`) merged in
/// where they sort: two insertions instead of a sort of every series' labels.
#[derive(Clone)]
struct Merged<'l, I: Iterator<Item = (&'l str, &'l str)>> {
    base: std::iter::Peekable<I>,
    ins: [(&'l str, &'l str); 2],
    next_ins: usize,
    n_ins: usize,
}

fn merged<'l, I: Iterator<Item = (&'l str, &'l str)> + Clone>(
    base: I,
    name: &'l str,
    extra: Option<(&'l str, &'l str)>,
) -> Merged<'l, I> {
    let (ins, n_ins) = own_labels(name, extra);
    Merged {
        base: base.peekable(),
        ins,
        next_ins: 0,
        n_ins,
    }
}

/// A series' own labels, `__name__` and its `extra` one, in name order; how many.
fn own_labels<'l>(
    name: &'l str,
    extra: Option<(&'l str, &'l str)>,
) -> ([(&'l str, &'l str); 2], usize) {
    let mut ins = [("__name__", name), extra.unwrap_or(("", ""))];
    if extra.is_some() && ins[1].0 < ins[0].0 {
        ins.swap(0, 1);
    }
    (ins, if extra.is_some() { 2 } else { 1 })
}

impl<'l, I: Iterator<Item = (&'l str, &'l str)>> Iterator for Merged<'l, I> {
    type Item = (&'l str, &'l str);

    fn next(&mut self) -> Option<(&'l str, &'l str)> {
        // `base` is sorted with unique names: a label named like an insertion meets it
        // here, and none can come after the last one.
        if self.next_ins == self.n_ins {
            return self.base.next();
        }
        let i = self.ins[self.next_ins];
        match self.base.peek().map(|b| labels::cmp_names(b.0, i.0)) {
            Some(std::cmp::Ordering::Less) => self.base.next(),
            Some(std::cmp::Ordering::Equal) => {
                self.base.next();
                self.next_ins += 1;
                Some(i)
            }
            _ => {
                self.next_ins += 1;
                Some(i)
            }
        }
    }
}

/// Borrowed labels as the `(name, value)` pairs [`merged`] takes.
fn refs<'l>(labels: &'l [LabelRef<'_>]) -> impl Iterator<Item = (&'l str, &'l str)> + Clone {
    labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
}

/// A label every point of the current resource and scope gets (see
/// [`labels::shared_point_labels`]), encoded once.
struct Shared<'l> {
    name: &'l str,
    value: &'l str,
    /// Replaces an attribute of its name (else yields to it).
    overrides: bool,
    encoded: Vec<u8>,
}

impl<'l> Shared<'l> {
    fn lbl(&self) -> Lbl<'_> {
        Lbl {
            name: self.name,
            value: self.value,
            encoded: &self.encoded,
        }
    }
}

/// A series' labels straight from its point's attributes (taken as they are: see
/// [`labels::taken_as_they_are`]), the shared labels and the series' own (`__name__` and its
/// `le` or `quantile`), three lists sorted by name merged as they go: what
/// `merged(point_label_refs(..))` gives for such points, without building the point's labels.
/// Named alike, the series' own label wins, then an overriding shared one, then the
/// attribute, then a shared one that yields.
#[derive(Clone)]
struct Direct<'l> {
    attrs: &'l [KeyValue],
    shared: &'l [Shared<'l>],
    ins: [(&'l str, &'l str); 2],
    next_ins: usize,
    n_ins: usize,
}

fn direct<'l>(
    attrs: &'l [KeyValue],
    shared: &'l [Shared<'l>],
    name: &'l str,
    extra: Option<(&'l str, &'l str)>,
) -> Direct<'l> {
    let (ins, n_ins) = own_labels(name, extra);
    Direct {
        attrs,
        shared,
        ins,
        next_ins: 0,
        n_ins,
    }
}

impl<'l> Iterator for Direct<'l> {
    type Item = Lbl<'l>;

    fn next(&mut self) -> Option<Lbl<'l>> {
        use std::cmp::Ordering::*;
        // The first attribute and the first shared label, both when named alike.
        let (attr, shared) = match (self.attrs.first(), self.shared.first()) {
            (Some(a), Some(s)) => match labels::cmp_names(&a.key, s.name) {
                Less => (Some(a), None),
                Greater => (None, Some(s)),
                Equal => (Some(a), Some(s)),
            },
            (a, s) => (a, s),
        };
        let head = attr.map(|a| a.key.as_str()).or(shared.map(|s| s.name));
        if self.next_ins < self.n_ins {
            let (n, v) = self.ins[self.next_ins];
            let ord = head.map_or(Less, |h| labels::cmp_names(n, h));
            if ord != Greater {
                self.next_ins += 1;
                if ord == Equal {
                    self.skip(attr.is_some(), shared.is_some());
                }
                return Some(Lbl::pair((n, v)));
            }
        }
        let lbl = match (attr, shared) {
            (_, Some(s)) if s.overrides || attr.is_none() => s.lbl(),
            // ([`labels::taken_as_they_are`] attributes have string values.)
            (Some(a), _) => Lbl::pair((&a.key, labels::string_of(a.value.as_ref()).unwrap_or(""))),
            (None, _) => return None,
        };
        self.skip(attr.is_some(), shared.is_some());
        Some(lbl)
    }
}

impl Direct<'_> {
    fn skip(&mut self, attr: bool, shared: bool) {
        if attr {
            self.attrs = &self.attrs[1..];
        }
        if shared {
            self.shared = &self.shared[1..];
        }
    }
}

struct Builder<'s, S> {
    settings: &'s Settings,
    /// The current point's labels (reused from point to point), unless `direct`.
    base: Vec<LabelRef<'s>>,
    /// The current resource's and scope's shared labels, when its points' labels can be
    /// made [`Direct`]ly.
    shared: Option<Vec<Shared<'s>>>,
    /// The current point's attributes, when its labels are made [`Direct`]ly.
    direct: Option<&'s [KeyValue]>,
    /// Whether labels may be made [`Direct`]ly (always, but in the test that compares).
    allow_direct: bool,
    /// Points whose labels were made [`Direct`]ly.
    made_directly: usize,
    out: Translation<S>,
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

fn is_stale(flags: u32) -> bool {
    flags & FLAG_NO_RECORDED_VALUE != 0
}

impl<'s, S: SeriesStore> Builder<'s, S> {
    /// The series named `name` (with `extra`) over the current point's labels.
    fn series_of(&mut self, name: &str, extra: Option<(&str, &str)>) -> usize {
        match (self.direct, &self.shared) {
            (Some(attrs), Some(shared)) => {
                self.out.series.series(direct(attrs, shared, name, extra))
            }
            _ => self
                .out
                .series
                .series(merged(refs(&self.base), name, extra).map(Lbl::pair)),
        }
    }

    /// A sample of the series named `name` (with `extra`) over the current point's labels.
    fn add(&mut self, name: &str, extra: Option<(&str, &str)>, value: f64, ts: i64) -> usize {
        let i = self.series_of(name, extra);
        self.out.series.push_sample(
            i,
            Sample {
                value,
                timestamp: ts,
            },
        );
        i
    }

    fn fail(&mut self, message: String, points: usize) {
        self.out.errors.push(message);
        self.out.dropped_points += points;
    }

    /// Sets the shared labels of the points of a resource and scope.
    fn scope(
        &mut self,
        resource: &'s labels::ResourceLabels<'s>,
        scope: Option<&'s InstrumentationScope>,
    ) {
        self.shared = None;
        if !self.allow_direct {
            return;
        }
        let shared = labels::shared_point_labels(resource, scope, &self.settings.labels);
        self.shared = shared.map(|l| {
            l.into_iter()
                .map(|(name, value, overrides)| {
                    let mut encoded = Vec::new();
                    put_label(&mut encoded, name, value);
                    Shared {
                        name,
                        value,
                        overrides,
                        encoded,
                    }
                })
                .collect()
        });
    }

    /// Sets the current point's labels.
    fn point(
        &mut self,
        resource: &'s labels::ResourceLabels<'s>,
        scope: Option<&'s InstrumentationScope>,
        scope_schema: &'s str,
        attrs: &'s [KeyValue],
    ) {
        self.direct = None;
        if self.shared.is_some() && labels::taken_as_they_are(attrs) {
            self.direct = Some(attrs);
            self.made_directly += 1;
            return;
        }
        labels::point_label_refs(
            resource,
            scope,
            scope_schema,
            attrs,
            &self.settings.labels,
            &mut self.base,
        );
    }

    fn metric(
        &mut self,
        resource: &'s labels::ResourceLabels<'s>,
        scope: Option<&'s InstrumentationScope>,
        scope_schema: &'s str,
        m: &'s Metric,
    ) {
        let Some(data) = &m.data else {
            self.fail(
                format!("unsupported metric type \"Empty\" for metric {:?}", m.name),
                0,
            );
            return;
        };
        let (ty, temporality, points) = match data {
            Data::Gauge(g) => (MetricType::Gauge, None, g.data_points.len()),
            Data::Sum(s) => (
                if s.is_monotonic {
                    MetricType::MonotonicCounter
                } else {
                    MetricType::NonMonotonicCounter
                },
                Some(s.aggregation_temporality),
                s.data_points.len(),
            ),
            Data::Histogram(h) => (
                MetricType::Histogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::ExponentialHistogram(h) => (
                MetricType::ExponentialHistogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::Summary(s) => (MetricType::Summary, None, s.data_points.len()),
        };
        if let Some(t) = temporality
            && t != AggregationTemporality::Cumulative as i32
        {
            // (Go checks the temporality before the points.)
            self.fail(
                format!(
                    "invalid temporality and type combination for metric {:?}",
                    m.name
                ),
                points,
            );
            return;
        }
        if points == 0 {
            self.fail(format!("empty data points. {} is dropped", m.name), 0);
            return;
        }
        let name = match self.settings.namer.build(&m.name, &m.unit, ty) {
            Ok(n) => n,
            Err(e) => {
                self.fail(e, points);
                return;
            }
        };
        match data {
            Data::Gauge(_) | Data::Sum(_) => {
                let pts = match data {
                    Data::Gauge(g) => &g.data_points,
                    Data::Sum(s) => &s.data_points,
                    _ => unreachable!("matched above"),
                };
                for p in pts {
                    self.point(resource, scope, scope_schema, &p.attributes);
                    let value = if is_stale(p.flags) {
                        stale_nan()
                    } else {
                        match p.value {
                            Some(number_data_point::Value::AsDouble(d)) => d,
                            Some(number_data_point::Value::AsInt(i)) => i as f64,
                            None => 0.0,
                        }
                    };
                    let ts = ms(p.time_unix_nano);
                    let i = self.add(&name, None, value, ts);
                    // Go: exemplars on every sum, `_created` for monotonic ones. (Go reads
                    // an integer exemplar's value as 0; its value is kept here.)
                    if matches!(data, Data::Sum(_)) {
                        for ex in exemplars(&p.exemplars) {
                            self.out.series.push_exemplar(i, ex);
                        }
                    }
                    if ty == MetricType::MonotonicCounter {
                        self.created(&name, p.start_time_unix_nano, ts);
                    }
                }
            }
            Data::Histogram(h) => {
                let (sum_name, count_name) = (format!("{name}_sum"), format!("{name}_count"));
                let bucket_name = format!("{name}_bucket");
                for p in &h.data_points {
                    self.point(resource, scope, scope_schema, &p.attributes);
                    let ts = ms(p.time_unix_nano);
                    let stale = is_stale(p.flags);
                    let v = |x: f64| if stale { stale_nan() } else { x };
                    if let Some(sum) = p.sum {
                        self.add(&sum_name, None, v(sum), ts);
                    }
                    self.add(&count_name, None, v(p.count as f64), ts);
                    let mut cumulative = 0u64;
                    let mut bounds: Vec<(f64, usize)> =
                        Vec::with_capacity(p.explicit_bounds.len() + 1);
                    for (bound, count) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                        cumulative = cumulative.wrapping_add(*count);
                        let le = format_float_f(*bound);
                        let i = self.add(&bucket_name, Some(("le", &le)), v(cumulative as f64), ts);
                        bounds.push((*bound, i));
                    }
                    let i = self.add(&bucket_name, Some(("le", "+Inf")), v(p.count as f64), ts);
                    bounds.push((f64::INFINITY, i));
                    bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
                    for ex in exemplars(&p.exemplars) {
                        if let Some(&(_, i)) = bounds.iter().find(|(bound, _)| ex.value <= *bound) {
                            self.out.series.push_exemplar(i, ex);
                        }
                    }
                    self.created(&name, p.start_time_unix_nano, ts);
                }
            }
            Data::Summary(s) => {
                let (sum_name, count_name) = (format!("{name}_sum"), format!("{name}_count"));
                for p in &s.data_points {
                    self.point(resource, scope, scope_schema, &p.attributes);
                    let ts = ms(p.time_unix_nano);
                    let stale = is_stale(p.flags);
                    let v = |x: f64| if stale { stale_nan() } else { x };
                    self.add(&sum_name, None, v(p.sum), ts);
                    self.add(&count_name, None, v(p.count as f64), ts);
                    for q in &p.quantile_values {
                        let quantile = format_float_f(q.quantile);
                        self.add(&name, Some(("quantile", &quantile)), v(q.value), ts);
                    }
                    self.created(&name, p.start_time_unix_nano, ts);
                }
            }
            Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    self.point(resource, scope, scope_schema, &p.attributes);
                    let ts = ms(p.time_unix_nano);
                    match native::to_native(p, ts) {
                        Ok(hist) => {
                            let i = self.series_of(&name, None);
                            self.out.series.push_histogram(i, hist);
                            for ex in exemplars(&p.exemplars) {
                                self.out.series.push_exemplar(i, ex);
                            }
                        }
                        Err(e) => self.fail(e, 1),
                    }
                }
            }
        }
    }

    /// `_created` over the current point's labels (when `export_created_metric` is on and
    /// the point has a start time). As Go: the value is the start time in milliseconds, at
    /// the sample's timestamp, once per series.
    fn created(&mut self, name: &str, start_ns: u64, ts: i64) {
        if !self.settings.export_created_metric || start_ns == 0 {
            return;
        }
        let created = format!("{name}_created");
        let i = self.series_of(&created, None);
        if !self.out.series.has_samples(i) {
            self.out.series.push_sample(
                i,
                Sample {
                    value: ms(start_ns) as f64,
                    timestamp: ts,
                },
            );
        }
    }
}

/// Exemplars with `trace_id`, `span_id` and (when they fit in 128 runes) their attributes.
fn exemplars(exs: &[OtlpExemplar]) -> Vec<Exemplar> {
    exs.iter()
        .map(|e| {
            let mut labels = Vec::new();
            let mut runes = 0;
            if !e.trace_id.is_empty() && e.trace_id.iter().any(|&b| b != 0) {
                let v = hex::encode(&e.trace_id);
                runes += "trace_id".len() + v.len();
                labels.push(Label {
                    name: "trace_id".into(),
                    value: v,
                });
            }
            if !e.span_id.is_empty() && e.span_id.iter().any(|&b| b != 0) {
                let v = hex::encode(&e.span_id);
                runes += "span_id".len() + v.len();
                labels.push(Label {
                    name: "span_id".into(),
                    value: v,
                });
            }
            let mut attrs = Vec::new();
            for kv in &e.filtered_attributes {
                let v = labels::value_as_string(kv.value.as_ref());
                runes += kv.key.chars().count() + v.chars().count();
                attrs.push(Label {
                    name: kv.key.clone(),
                    value: v,
                });
            }
            if runes <= MAX_EXEMPLAR_RUNES {
                labels.extend(attrs);
            }
            Exemplar {
                labels,
                value: match e.value {
                    Some(exemplar::Value::AsDouble(d)) => d,
                    Some(exemplar::Value::AsInt(i)) => i as f64,
                    None => 0.0,
                },
                timestamp: ms(e.time_unix_nano),
            }
        })
        .collect()
}

/// About how many series a metric's points make (to size the builder).
fn point_count(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| p.explicit_bounds.len() + 3)
            .sum(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| p.quantile_values.len() + 2)
            .sum(),
        None => 0,
    }
}

fn latest_timestamp(m: &Metric) -> u64 {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).max(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).max(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).max(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).max(),
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).max(),
        None => None,
    }
    .unwrap_or(0)
}

/// Translates a request into owned series.
pub fn from_metrics(req: &ExportMetricsServiceRequest, settings: &Settings) -> Translation {
    let (t, _) = translate(req, settings, OwnedSeries::default(), true);
    Translation {
        series: t.series.series,
        errors: t.errors,
        dropped_points: t.dropped_points,
    }
}

/// Translates a request into series encoded as they go on the wire, for
/// [`encode_batches`]: what the exporter does. Handing them back with
/// [`EncodedSeries::recycle`] lets the next translation on the thread reuse their buffers.
pub fn encode_metrics(
    req: &ExportMetricsServiceRequest,
    settings: &Settings,
) -> Translation<EncodedSeries> {
    translate(req, settings, EncodedSeries::reused(), true).0
}

/// [`encode_metrics`] with every point's labels made by `labels::point_label_refs`, none
/// [`Direct`]ly: what the direct ones are compared with (tests, fuzz target).
pub(crate) fn encode_metrics_generally(
    req: &ExportMetricsServiceRequest,
    settings: &Settings,
) -> Translation<EncodedSeries> {
    translate(req, settings, EncodedSeries::default(), false).0
}

fn translate<S: SeriesStore>(
    req: &ExportMetricsServiceRequest,
    settings: &Settings,
    store: S,
    allow_direct: bool,
) -> (Translation<S>, usize) {
    // Most points make one series: size for them up front (growing vectors of 100k series
    // copies them and churns the allocator).
    let points: usize = req
        .resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .map(point_count)
        .sum();
    // `job` and `instance` of each resource, worked out once; points borrow them.
    let resources: Vec<labels::ResourceLabels<'_>> = req
        .resource_metrics
        .iter()
        .map(|rm| {
            labels::ResourceLabels::new(rm.resource.as_ref().map_or(&[][..], |r| &r.attributes))
        })
        .collect();
    let mut b = Builder {
        settings,
        base: Vec::new(),
        shared: None,
        direct: None,
        allow_direct,
        made_directly: 0,
        out: Translation {
            series: store,
            errors: Vec::new(),
            dropped_points: 0,
        },
    };
    b.out.series.reserve(points);
    for (rm, resource_labels) in req.resource_metrics.iter().zip(&resources) {
        let mut latest = 0u64;
        for sm in &rm.scope_metrics {
            b.scope(resource_labels, sm.scope.as_ref());
            for m in &sm.metrics {
                latest = latest.max(latest_timestamp(m));
                b.metric(resource_labels, sm.scope.as_ref(), &sm.schema_url, m);
            }
        }
        if settings.target_info
            && latest != 0
            && let Some(l) =
                labels::target_info_labels(resource_labels.attributes, &settings.labels.fixed)
        {
            let name = if settings.namer.namespace.is_empty() {
                "target_info".to_string()
            } else {
                format!("{}_target_info", settings.namer.namespace)
            };
            let base = l.iter().map(|(n, v)| (n.as_str(), v.as_str()));
            let i = b
                .out
                .series
                .series(merged(base, &name, None).map(Lbl::pair));
            b.out.series.push_sample(
                i,
                Sample {
                    value: 1.0,
                    timestamp: ms(latest),
                },
            );
        }
    }
    (b.out, b.made_directly)
}

/// Cuts series into requests of less than `max_bytes` of encoded series each (a series
/// larger than that goes alone), each request's series ordered by their first sample's
/// time, as Go's `batchTimeSeries` and `orderBySampleTimestamp`.
pub fn batch(series: Vec<TimeSeries>, max_bytes: usize) -> Vec<WriteRequest> {
    let sizes: Vec<usize> = series.iter().map(prost::Message::encoded_len).collect();
    let mut series = series.into_iter();
    cuts(&sizes, max_bytes)
        .into_iter()
        .map(|r| write_request(series.by_ref().take(r.len()).collect()))
        .collect()
}

/// Series [`encode_batches`] can write: owned [`TimeSeries`] or [`EncodedSeries`].
pub trait EncodeSeries {
    fn count(&self) -> usize;
    /// Series `i`'s encoded size.
    fn size(&self, i: usize) -> usize;
    /// The time requests are ordered by: its first sample's (or histogram's).
    fn first_time(&self, i: usize) -> i64;
    /// Series `i`'s `TimeSeries` fields (without its own tag and length).
    fn write(&self, i: usize, out: &mut Vec<u8>);
}

impl EncodeSeries for [TimeSeries] {
    fn count(&self) -> usize {
        self.len()
    }
    fn size(&self, i: usize) -> usize {
        prost::Message::encoded_len(&self[i])
    }
    fn first_time(&self, i: usize) -> i64 {
        first_time(&self[i])
    }
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        prost::Message::encode_raw(&self[i], out);
    }
}

impl EncodeSeries for EncodedSeries {
    fn count(&self) -> usize {
        self.series.len()
    }
    fn size(&self, i: usize) -> usize {
        use prost::encoding::message;
        let s = &self.series[i];
        let more = s.more();
        s.labels.len()
            + s.first.as_ref().map_or(0, |x| message::encoded_len(2, x))
            + message::encoded_len_repeated(2, &more.samples)
            + message::encoded_len_repeated(3, &more.exemplars)
            + message::encoded_len_repeated(4, &more.histograms)
    }
    fn first_time(&self, i: usize) -> i64 {
        let s = &self.series[i];
        s.first
            .map(|s| s.timestamp)
            .or_else(|| s.more().histograms.first().map(|h| h.timestamp))
            .unwrap_or(0)
    }
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        use prost::encoding::message;
        let s = &self.series[i];
        let more = s.more();
        out.extend_from_slice(&self.labels[s.labels.clone()]);
        for x in s.first.iter().chain(&more.samples) {
            put_sample(x, out);
        }
        for x in &more.exemplars {
            message::encode(3, x, out);
        }
        for x in &more.histograms {
            message::encode(4, x, out);
        }
    }
}

/// The bodies of the requests [`batch`] makes, as [`crate::prompb::encode`] writes them:
/// each series' size is worked out once (prost's encoder would work it out twice more:
/// for the buffer and for the length prefix).
pub fn encode_batches<S: EncodeSeries + ?Sized>(
    series: &S,
    max_bytes: usize,
) -> Result<Vec<Vec<u8>>, String> {
    let sizes: Vec<usize> = (0..series.count()).map(|i| series.size(i)).collect();
    // The uncompressed request, in a buffer kept per thread (as the series' buffers).
    let mut raw = RAW.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let mut order: Vec<usize> = Vec::new();
    let mut bodies = Vec::new();
    for r in cuts(&sizes, max_bytes) {
        order.clear();
        order.extend(r.clone());
        order.sort_by_key(|&i| series.first_time(i));
        raw.clear();
        raw.reserve(r.map(|i| sizes[i] + 11).sum());
        for &i in &order {
            // `WriteRequest.timeseries` is field 1, length-delimited.
            raw.push(0x0a);
            put_varint(&mut raw, sizes[i] as u64);
            series.write(i, &mut raw);
        }
        bodies.push(crate::prompb::compress(&raw)?);
    }
    if raw.capacity() <= KEEP_BYTES {
        raw.clear();
        RAW.with(|r| *r.borrow_mut() = raw);
    }
    Ok(bodies)
}

/// Where requests of less than `max_bytes` end (a series larger than that goes alone).
fn cuts(sizes: &[usize], max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut size) = (0usize, 0usize);
    for (i, &s) in sizes.iter().enumerate() {
        if size + s >= max_bytes && i > start {
            out.push(start..i);
            start = i;
            size = 0;
        }
        size += s;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

fn first_time(ts: &TimeSeries) -> i64 {
    ts.samples
        .first()
        .map(|s| s.timestamp)
        .or_else(|| ts.histograms.first().map(|h| h.timestamp))
        .unwrap_or(0)
}

fn write_request(mut series: Vec<TimeSeries>) -> WriteRequest {
    series.sort_by_key(first_time);
    WriteRequest {
        timeseries: series,
        metadata: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::*;

    const T: u64 = 1_700_000_000_000_000_000;

    fn settings() -> Settings {
        Settings {
            namer: MetricNamer::new("", true),
            labels: LabelSettings::default(),
            target_info: true,
            export_created_metric: false,
        }
    }

    /// Series as `name{l="v",...}` -> samples, for readable assertions.
    fn render(t: &Translation) -> Vec<(String, Vec<f64>)> {
        let mut out: Vec<(String, Vec<f64>)> = t
            .series
            .iter()
            .map(|s| {
                let name = s
                    .labels
                    .iter()
                    .find(|l| l.name == "__name__")
                    .map(|l| l.value.clone())
                    .unwrap_or_default();
                let rest: Vec<String> = s
                    .labels
                    .iter()
                    .filter(|l| l.name != "__name__")
                    .map(|l| format!("{}={:?}", l.name, l.value))
                    .collect();
                (
                    format!("{name}{{{}}}", rest.join(",")),
                    s.samples.iter().map(|x| x.value).collect(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn gauges_counters_and_target_info() {
        let req = request(
            vec![
                kv("service.name", "svc"),
                kv("service.instance.id", "i1"),
                kv("host.name", "h"),
            ],
            vec![
                gauge(
                    "cpu.utilization",
                    "1",
                    vec![point(vec![kv("cpu", "0")], 0, T, 0.5)],
                ),
                sum(
                    "http.requests",
                    "{request}",
                    true,
                    false,
                    vec![point(vec![], T - 1000, T, 7.0)],
                ),
                sum(
                    "queue.length",
                    "{item}",
                    false,
                    false,
                    vec![point(vec![], T - 1000, T, -2.0)],
                ),
            ],
        );
        let t = from_metrics(&req, &settings());
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(
            render(&t),
            vec![
                (
                    "cpu_utilization_ratio{cpu=\"0\",instance=\"i1\",job=\"svc\"}".to_string(),
                    vec![0.5]
                ),
                (
                    "http_requests_total{instance=\"i1\",job=\"svc\"}".to_string(),
                    vec![7.0]
                ),
                (
                    "queue_length{instance=\"i1\",job=\"svc\"}".to_string(),
                    vec![-2.0]
                ),
                (
                    "target_info{host_name=\"h\",instance=\"i1\",job=\"svc\"}".to_string(),
                    vec![1.0]
                ),
            ]
        );
        assert!(
            t.series
                .iter()
                .all(|s| s.samples[0].timestamp == (T / 1_000_000) as i64)
        );
    }

    #[test]
    fn histograms_have_cumulative_buckets_sum_and_count() {
        let req = request(
            vec![],
            vec![histogram(
                "http.server.duration",
                "ms",
                false,
                vec![hpoint(vec![], T - 1, T, &[5.0, 10.0], &[1, 2, 3], 42.5)],
            )],
        );
        let t = from_metrics(&req, &settings());
        assert_eq!(
            render(&t),
            vec![
                (
                    "http_server_duration_milliseconds_bucket{le=\"+Inf\"}".to_string(),
                    vec![6.0]
                ),
                (
                    "http_server_duration_milliseconds_bucket{le=\"10\"}".to_string(),
                    vec![3.0]
                ),
                (
                    "http_server_duration_milliseconds_bucket{le=\"5\"}".to_string(),
                    vec![1.0]
                ),
                (
                    "http_server_duration_milliseconds_count{}".to_string(),
                    vec![6.0]
                ),
                (
                    "http_server_duration_milliseconds_sum{}".to_string(),
                    vec![42.5]
                ),
            ]
        );
    }

    #[test]
    fn delta_sums_and_histograms_are_dropped_with_gos_error() {
        let req = request(
            vec![],
            vec![
                sum(
                    "c",
                    "",
                    true,
                    true,
                    vec![
                        point(vec![], 0, T, 1.0),
                        point(vec![kv("a", "b")], 0, T, 1.0),
                    ],
                ),
                histogram("h", "", true, vec![hpoint(vec![], 0, T, &[], &[1], 1.0)]),
                gauge("g", "", vec![point(vec![], 0, T, 1.0)]),
            ],
        );
        let t = from_metrics(&req, &settings());
        assert_eq!(
            t.errors,
            vec![
                "invalid temporality and type combination for metric \"c\"",
                "invalid temporality and type combination for metric \"h\""
            ]
        );
        assert_eq!(t.dropped_points, 3);
        assert_eq!(render(&t).len(), 1);
    }

    #[test]
    fn metrics_without_points_are_reported_as_go_does() {
        let req = request(
            vec![],
            vec![gauge("g", "", vec![]), sum("s", "", true, false, vec![])],
        );
        let t = from_metrics(&req, &settings());
        assert_eq!(
            t.errors,
            vec![
                "empty data points. g is dropped",
                "empty data points. s is dropped"
            ]
        );
        assert!(t.series.is_empty());
    }

    #[test]
    fn stale_points_become_stale_nans() {
        let mut p = point(vec![], 0, T, 5.0);
        p.flags = 1;
        let req = request(vec![], vec![gauge("g", "", vec![p])]);
        let t = from_metrics(&req, &settings());
        assert_eq!(
            t.series[0].samples[0].value.to_bits(),
            crate::STALE_NAN_BITS
        );
    }

    #[test]
    fn points_of_one_series_share_it_and_exemplars_go_to_their_bucket() {
        let mut hp = hpoint(vec![], 0, T, &[1.0, 2.0], &[0, 1, 0], 1.5);
        hp.exemplars.push(pdata::proto::metrics::v1::Exemplar {
            value: Some(exemplar::Value::AsDouble(1.5)),
            time_unix_nano: T,
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            ..Default::default()
        });
        let req = request(
            vec![],
            vec![
                gauge(
                    "g",
                    "",
                    vec![
                        point(vec![], 0, T, 1.0),
                        point(vec![], 0, T + 1_000_000, 2.0),
                    ],
                ),
                histogram("h", "", false, vec![hp]),
            ],
        );
        let t = from_metrics(&req, &settings());
        let g = t
            .series
            .iter()
            .find(|s| s.labels.iter().any(|l| l.value == "g"))
            .unwrap();
        assert_eq!(g.samples.len(), 2);
        let with_ex: Vec<&TimeSeries> = t
            .series
            .iter()
            .filter(|s| !s.exemplars.is_empty())
            .collect();
        assert_eq!(with_ex.len(), 1);
        assert!(
            with_ex[0]
                .labels
                .iter()
                .any(|l| l.name == "le" && l.value == "2")
        );
        assert_eq!(with_ex[0].exemplars[0].labels[0].value, "01".repeat(16));
    }

    #[test]
    fn encoded_batches_are_the_bodies_of_the_cut_and_ordered_requests() {
        // Series of different sizes, their times out of order, cut at several limits: the
        // bodies encode_batches writes are byte for byte those of batch + prompb::encode.
        let points: Vec<_> = (0..60u64)
            .map(|i| {
                point(
                    vec![
                        kv("i", &"x".repeat(1 + (i as usize * 7) % 13)),
                        kv("k", &i.to_string()),
                    ],
                    0,
                    T + ((i * 37) % 60) * 1_000_000,
                    i as f64,
                )
            })
            .collect();
        let req = request(vec![], vec![gauge("g", "", points)]);
        let t = from_metrics(&req, &settings());
        for limit in [1, 50, 200, 1000, 1 << 20] {
            let want: Vec<Vec<u8>> = batch(t.series.clone(), limit)
                .iter()
                .map(|r| crate::prompb::encode(r).unwrap())
                .collect();
            let got = encode_batches(t.series.as_slice(), limit).unwrap();
            assert!(!got.is_empty());
            assert_eq!(got, want, "limit {limit}");
        }
        assert!(encode_batches::<[TimeSeries]>(&[], 100).unwrap().is_empty());
        assert!(
            encode_batches(&EncodedSeries::default(), 100)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn samples_and_varints_are_written_as_prost_writes_them() {
        let values = [
            0.0,
            -0.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            -2.0,
            f64::MIN_POSITIVE,
        ];
        let times = [
            0i64,
            1,
            127,
            128,
            16_383,
            16_384,
            1_700_000_000_000,
            -1,
            i64::MIN,
        ];
        for value in values {
            for timestamp in times {
                let x = Sample { value, timestamp };
                let mut ours = Vec::new();
                put_sample(&x, &mut ours);
                let mut theirs = Vec::new();
                prost::encoding::message::encode(2, &x, &mut theirs);
                assert_eq!(ours, theirs, "{value} @ {timestamp}");
            }
        }
        for v in [0u64, 1, 127, 128, 300, 16_384, u32::MAX as u64, u64::MAX] {
            let mut ours = Vec::new();
            put_varint(&mut ours, v);
            let mut theirs = Vec::new();
            prost::encoding::encode_varint(v, &mut theirs);
            assert_eq!(ours, theirs, "{v}");
        }
    }

    #[test]
    fn encoded_series_make_the_bodies_of_owned_series() {
        // Every metric type, repeated points of one series, exemplars, `_created`, stale
        // points, resource attributes as labels, external labels, and keys to sanitise:
        // series encoded as they are made give the bodies of owned series, byte for byte.
        let mut hp = hpoint(
            vec![kv("route", "/a")],
            T - 5,
            T,
            &[1.0, 2.5],
            &[1, 2, 3],
            9.0,
        );
        hp.exemplars.push(pdata::proto::metrics::v1::Exemplar {
            value: Some(exemplar::Value::AsDouble(2.0)),
            time_unix_nano: T,
            trace_id: vec![3; 16],
            ..Default::default()
        });
        let mut stale = point(vec![kv("b", "2"), kv("a", "1")], 0, T, 1.0);
        stale.flags = 1;
        let summary = Metric {
            name: "rpc.latency".into(),
            data: Some(Data::Summary(pdata::proto::metrics::v1::Summary {
                data_points: vec![pdata::proto::metrics::v1::SummaryDataPoint {
                    attributes: vec![kv("x.y", "1"), kv("x_y", "2")],
                    start_time_unix_nano: T - 9,
                    time_unix_nano: T,
                    count: 4,
                    sum: 2.0,
                    quantile_values: vec![
                        pdata::proto::metrics::v1::summary_data_point::ValueAtQuantile {
                            quantile: 0.5,
                            value: 0.4,
                        },
                    ],
                    ..Default::default()
                }],
            })),
            ..Default::default()
        };
        let req = request(
            vec![
                kv("service.name", "svc"),
                kv("service.instance.id", "i1"),
                kv("k8s.pod.name", "p"),
            ],
            vec![
                gauge(
                    "temp",
                    "Cel",
                    vec![
                        point(vec![], 0, T, 1.0),
                        point(vec![], 0, T + 1_000_000, 2.0),
                    ],
                ),
                gauge("g", "", vec![stale]),
                sum(
                    "reqs",
                    "",
                    true,
                    false,
                    vec![point(vec![kv("1code", "200")], T - 7, T, 3.0)],
                ),
                histogram("lat", "s", false, vec![hp]),
                summary,
            ],
        );
        for (r2t, created) in [(false, false), (true, true), (false, true)] {
            let settings = Settings {
                namer: MetricNamer::new("", true),
                labels: LabelSettings {
                    resource_to_telemetry: r2t,
                    ..Default::default()
                }
                .with_fixed([("cluster", "c1")]),
                target_info: true,
                export_created_metric: created,
            };
            let owned = from_metrics(&req, &settings);
            let encoded = encode_metrics(&req, &settings);
            assert_eq!(encoded.series.len(), owned.series.len());
            assert!(owned.series.len() >= 12, "{}", owned.series.len());
            for limit in [1, 100, 1 << 20] {
                assert_eq!(
                    encode_batches(&encoded.series, limit).unwrap(),
                    encode_batches(owned.series.as_slice(), limit).unwrap(),
                    "limit {limit}, resource_to_telemetry {r2t}"
                );
            }
            // The next round reuses these buffers, holding this round's series.
            encoded.series.recycle();
        }
    }

    #[test]
    fn batches_stay_below_the_byte_limit_and_are_time_ordered() {
        let points: Vec<_> = (0..100)
            .map(|i| {
                point(
                    vec![kv("i", &format!("{i:03}"))],
                    0,
                    T + (100 - i) * 1_000_000,
                    1.0,
                )
            })
            .collect();
        let req = request(vec![], vec![gauge("g", "", points)]);
        let t = from_metrics(&req, &settings());
        let one = prost::Message::encoded_len(&t.series[0]);
        let reqs = batch(t.series, one * 10 + 1);
        assert_eq!(reqs.len(), 10);
        for r in &reqs {
            assert_eq!(r.timeseries.len(), 10);
            let times: Vec<i64> = r.timeseries.iter().map(first_time).collect();
            let mut sorted = times.clone();
            sorted.sort();
            assert_eq!(times, sorted);
        }
        // A series larger than the limit goes alone.
        let req = request(vec![], vec![gauge("g", "", vec![point(vec![], 0, T, 1.0)])]);
        let t = from_metrics(&req, &settings());
        assert_eq!(batch(t.series, 1).len(), 1);
    }

    #[test]
    fn namespace_and_no_suffixes() {
        let s = Settings {
            namer: MetricNamer::new("ns", false),
            target_info: true,
            ..Default::default()
        };
        let req = request(
            vec![kv("host.name", "h")],
            vec![sum(
                "c.x",
                "ms",
                true,
                false,
                vec![point(vec![], 0, T, 1.0)],
            )],
        );
        let t = from_metrics(&req, &s);
        assert_eq!(
            render(&t),
            vec![
                ("ns_c_x{}".to_string(), vec![1.0]),
                ("ns_target_info{host_name=\"h\"}".to_string(), vec![1.0]),
            ]
        );
    }

    #[test]
    fn encode_decode_round_trip() {
        let req = request(
            vec![kv("service.name", "svc")],
            vec![histogram(
                "h",
                "s",
                false,
                vec![hpoint(vec![kv("a", "b")], 0, T, &[0.1], &[1, 1], 0.3)],
            )],
        );
        let t = from_metrics(&req, &settings());
        let wr = WriteRequest {
            timeseries: t.series,
            metadata: vec![],
        };
        let body = crate::prompb::encode(&wr).unwrap();
        assert_eq!(crate::prompb::decode(&body).unwrap(), wr);
    }

    /// Points whose labels are made directly from their attributes and the shared labels
    /// (`Direct`) get the label sets `point_label_refs` gives, whatever collides: attribute
    /// names alike `job`, `instance`, the scope labels, an external label, `__name__` and
    /// `le`/`quantile`, names to sanitise, non-string values, unsorted and repeated keys,
    /// resources with and without the service attributes, scopes with and without a name,
    /// `resource_to_telemetry` on and off. (Fails when any precedence is swapped.)
    #[test]
    fn labels_made_directly_are_those_made_point_by_point() {
        use pdata::proto::common::v1::AnyValue;
        use pdata::proto::common::v1::any_value::Value;
        use pdata::proto::metrics::v1::{Summary, SummaryDataPoint};
        use rand::{Rng, SeedableRng};
        const NAMES: [&str; 16] = [
            "job",
            "instance",
            "otel_scope_name",
            "otel_scope_version",
            "cluster",
            "__name__",
            "le",
            "quantile",
            "a",
            "code",
            "service",
            "zone",
            "a.b",
            "a_b",
            "9x",
            "_x",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut direct_points = 0;
        for round in 0..3000 {
            let attrs = |rng: &mut rand::rngs::StdRng| -> Vec<KeyValue> {
                let mut a: Vec<KeyValue> = (0..rng.random_range(0..6))
                    .map(|_| {
                        let k = NAMES[rng.random_range(0..NAMES.len())];
                        match rng.random_range(0..8) {
                            0 => KeyValue {
                                key: k.into(),
                                value: Some(AnyValue {
                                    value: Some(Value::IntValue(rng.random_range(0..3))),
                                }),
                                ..Default::default()
                            },
                            1 => kv(k, ""),
                            _ => kv(k, ["v1", "v2", "x"][rng.random_range(0..3)]),
                        }
                    })
                    .collect();
                if rng.random_bool(0.8) {
                    a.sort_by(|x, y| x.key.cmp(&y.key));
                    if rng.random_bool(0.8) {
                        a.dedup_by(|x, y| x.key == y.key);
                    }
                }
                a
            };
            let mut resource = Vec::new();
            for (k, v) in [
                ("service.name", "svc"),
                ("service.namespace", "ns"),
                ("service.instance.id", "host:1"),
                ("host.name", "h"),
            ] {
                if rng.random_bool(0.6) {
                    resource.push(kv(k, v));
                }
            }
            let metrics = vec![
                gauge(
                    "g",
                    "",
                    vec![
                        point(attrs(&mut rng), 0, T, 1.0),
                        point(attrs(&mut rng), 0, T, 2.0),
                    ],
                ),
                sum(
                    "c",
                    "",
                    true,
                    false,
                    vec![point(attrs(&mut rng), T - 5, T, 3.0)],
                ),
                histogram(
                    "h",
                    "s",
                    false,
                    vec![hpoint(
                        attrs(&mut rng),
                        T - 5,
                        T,
                        &[0.5, 1.0],
                        &[1, 2, 3],
                        4.0,
                    )],
                ),
                Metric {
                    name: "q".into(),
                    data: Some(Data::Summary(Summary {
                        data_points: vec![SummaryDataPoint {
                            attributes: attrs(&mut rng),
                            time_unix_nano: T,
                            count: 2,
                            sum: 3.0,
                            quantile_values: vec![
                                pdata::proto::metrics::v1::summary_data_point::ValueAtQuantile {
                                    quantile: 0.5,
                                    value: 1.0,
                                },
                            ],
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                },
            ];
            let mut req = request(resource, metrics);
            let scope = req.resource_metrics[0].scope_metrics[0]
                .scope
                .as_mut()
                .unwrap();
            scope.name = ["", "meter"][round % 2].into();
            scope.version = ["", "1.0"][(round / 2) % 2].into();
            let mut fixed = vec![("cluster", "c1")];
            for extra in ["job", "otel_scope_name", "a.b", "a_b", "zone"] {
                if rng.random_bool(0.3) {
                    fixed.push((extra, "fixed"));
                }
            }
            let settings = Settings {
                labels: LabelSettings {
                    resource_to_telemetry: rng.random_bool(0.2),
                    scope_labels: rng.random_bool(0.8),
                    ..Default::default()
                }
                .with_fixed(fixed),
                export_created_metric: rng.random_bool(0.5),
                ..settings()
            };
            let want = encode_metrics_generally(&req, &settings);
            let (got, directly) = translate(&req, &settings, EncodedSeries::default(), true);
            direct_points += directly;
            let bodies =
                |t: &Translation<EncodedSeries>| encode_batches(&t.series, 1 << 20).unwrap();
            assert_eq!(
                bodies(&got),
                bodies(&want),
                "round {round}: {req:?} with {settings:?}"
            );
            // The owned series (from_metrics) take the direct labels too.
            let owned = from_metrics(&req, &settings);
            assert_eq!(
                encode_batches(owned.series.as_slice(), 1 << 20).unwrap(),
                bodies(&want),
                "round {round}"
            );
        }
        assert!(
            direct_points > 3000,
            "most rounds have points made directly: {direct_points}"
        );
    }
}
