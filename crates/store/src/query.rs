//! What the query APIs ask the store, as data: label matchers, span filters, time ranges.
//! Everything here can be answered by another backend (ClickHouse) from the same inputs;
//! the only closure is the optional span predicate of a TraceQL search, which a backend
//! that cannot push it down applies to the candidates it returns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use promtranslate::prompb;

use crate::Store;
use crate::logs::{Labels, LinesPage, LogRow, Logs};
use crate::metrics::{MetricMetadata, Metrics, Sample};
use crate::table::{Schema, Snapshot, Table};
use crate::traces::{SpanRef, SpanRow, Traces, trace_key};

pub type Result<T> = std::result::Result<T, String>;

pub use labels::{MatchOp, Matcher, matches_all};

/// A label's value, empty when missing (as matchers read it).
pub fn label<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels::get(labels, name).unwrap_or("")
}

/// Caches matcher results per label set (rows of one series share its `Arc`). The map holds
/// a clone of each `Arc` it has seen: a page evicted from the cache mid-scan frees its label
/// sets, and a freed address reused by another label set must not find the old answer.
struct LabelFilter<'a> {
    ms: &'a [Matcher],
    seen: HashMap<*const Labels, (Arc<Labels>, bool)>,
}

impl<'a> LabelFilter<'a> {
    fn new(ms: &'a [Matcher]) -> Self {
        LabelFilter {
            ms,
            seen: HashMap::new(),
        }
    }

    fn ok(&mut self, l: &Arc<Labels>) -> bool {
        let ms = self.ms;
        self.seen
            .entry(Arc::as_ptr(l))
            .or_insert_with(|| (l.clone(), matches_all(ms, l)))
            .1
    }
}

/// A span search: every set condition must hold for one span of a trace.
pub struct SpanQuery<'a> {
    pub start_ns: i64,
    pub end_ns: i64,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub min_duration_ns: Option<u64>,
    pub max_duration_ns: Option<u64>,
    pub predicate: Option<&'a (dyn Fn(&SpanRef) -> bool + Sync)>,
    /// Traces to return at most (the most recent).
    pub limit: usize,
}

/// A trace found by a search, with the spans that matched.
#[derive(Debug, Clone)]
pub struct TraceHit {
    pub trace_id: [u8; 16],
    pub matched: Vec<SpanRow>,
    pub last_start_ns: u64,
}

/// A metric series between two times.
#[derive(Debug, Clone, Default)]
pub struct SeriesData {
    pub labels: Arc<Labels>,
    pub floats: Vec<(i64, f64)>,
    pub histograms: Vec<(i64, prompb::Histogram)>,
    /// (time ms, value, exemplar labels)
    pub exemplars: Vec<(i64, f64, Arc<Labels>)>,
}

fn overlaps(min: i64, max: i64, start: i64, end: i64) -> bool {
    max >= start && min <= end
}

fn scan<S: Schema>(
    table: &Table<S>,
    snap: &Snapshot<S>,
    start: i64,
    end: i64,
    mut page_ok: impl FnMut(&crate::table::Block<S>, usize) -> bool,
    f: impl FnMut(&S::Row) -> bool,
) -> Result<()> {
    scan_pages(
        snap,
        start,
        end,
        |b, i| {
            if page_ok(b, i) {
                table.page(b, i).map(Some)
            } else {
                Ok(None)
            }
        },
        f,
    )
}

/// [`scan`] with the pages' rows from `load` (`None`: skip the page).
fn scan_pages<S: Schema>(
    snap: &Snapshot<S>,
    start: i64,
    end: i64,
    mut load: impl FnMut(&crate::table::Block<S>, usize) -> Result<Option<Arc<Vec<S::Row>>>>,
    mut f: impl FnMut(&S::Row) -> bool,
) -> Result<()> {
    for c in snap.chunks.iter().rev() {
        for r in c.iter() {
            let t = S::time(r);
            if t >= start && t <= end && !f(r) {
                return Ok(());
            }
        }
    }
    for b in snap.blocks.iter().rev() {
        if !overlaps(b.min_t, b.max_t, start, end) {
            continue;
        }
        for (i, p) in b.pages.iter().enumerate() {
            if !overlaps(p.min_t, p.max_t, start, end) {
                continue;
            }
            let Some(rows) = load(b, i)? else {
                continue;
            };
            for r in rows.iter() {
                let t = S::time(r);
                if t >= start && t <= end && !f(r) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

impl Store {
    // ---- traces ----

    /// Every stored span of a trace (duplicates from retried exports included; assembly
    /// drops them).
    pub fn trace(&self, id: &[u8; 16]) -> Result<Vec<SpanRow>> {
        let t = &self.inner.traces;
        let snap = t.snapshot();
        let mut out = Vec::new();
        for c in &snap.chunks {
            out.extend(c.iter().filter(|r| r.trace_id == *id).cloned());
        }
        let key = trace_key(id);
        for b in &snap.blocks {
            for i in b.meta.pages_with(key) {
                // A page in the cache is filtered; otherwise only the trace's spans are
                // decoded (a lookup by id touches pages no one else reads).
                match t.cached_page(b, i) {
                    Some(rows) => out.extend(rows.iter().filter(|r| r.trace_id == *id).cloned()),
                    None => out.extend(crate::traces::decode_rows(
                        &t.raw_page(b, i)?,
                        crate::traces::Want::Trace(id),
                    )?),
                }
            }
        }
        Ok(out)
    }

    /// Traces with a span matching the query, most recent first.
    pub fn search_spans(&self, q: &SpanQuery) -> Result<Vec<TraceHit>> {
        let t = &self.inner.traces;
        let snap = t.snapshot();
        let mut hits: HashMap<[u8; 16], TraceHit> = HashMap::new();
        let limit = q.limit.max(1);
        let service = q.service.as_deref();
        let op = q.operation.as_deref();
        let matches = |r: &SpanRow| -> bool {
            if service.is_some_and(|s| *r.service != *s) || op.is_some_and(|o| *r.name != *o) {
                return false;
            }
            let d = r.duration_ns();
            if q.min_duration_ns.is_some_and(|m| d < m) || q.max_duration_ns.is_some_and(|m| d > m)
            {
                return false;
            }
            q.predicate.is_none_or(|p| p(&SpanRef::new(r)))
        };
        let add = |r: &SpanRow, hits: &mut HashMap<[u8; 16], TraceHit>| {
            let h = hits.entry(r.trace_id).or_insert_with(|| TraceHit {
                trace_id: r.trace_id,
                matched: Vec::new(),
                last_start_ns: 0,
            });
            h.last_start_ns = h.last_start_ns.max(r.start_ns);
            if h.matched.len() < 64 {
                h.matched.push(r.clone());
            }
        };
        for c in snap.chunks.iter().rev() {
            for r in c.iter() {
                let ts = r.start_ns as i64;
                if ts >= q.start_ns && ts <= q.end_ns && matches(r) {
                    add(r, &mut hits);
                }
            }
        }
        for b in snap.blocks.iter().rev() {
            if hits.len() >= limit {
                break;
            }
            if !overlaps(b.min_t, b.max_t, q.start_ns, q.end_ns) {
                continue;
            }
            if let Some(s) = service
                && !b
                    .meta
                    .operations
                    .iter()
                    .any(|(bs, n, _)| **bs == *s && op.is_none_or(|o| **n == *o))
            {
                continue;
            }
            for (i, p) in b.pages.iter().enumerate() {
                if !overlaps(p.min_t, p.max_t, q.start_ns, q.end_ns)
                    || service.is_some_and(|s| !b.meta.page_has_service(i, s))
                {
                    continue;
                }
                for r in t.page(b, i)?.iter() {
                    let ts = r.start_ns as i64;
                    if ts >= q.start_ns && ts <= q.end_ns && matches(r) {
                        add(r, &mut hits);
                    }
                }
            }
        }
        let mut out: Vec<TraceHit> = hits.into_values().collect();
        out.sort_by(|a, b| {
            b.last_start_ns
                .cmp(&a.last_start_ns)
                .then(a.trace_id.cmp(&b.trace_id))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Calls `f` on every span that started in [start, end], newest data first, until it
    /// returns false.
    pub fn for_each_span(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()> {
        let t = &self.inner.traces;
        let snap = t.snapshot();
        scan(t, &snap, start_ns, end_ns, |_, _| true, f)
    }

    /// [`Store::for_each_span`] for scans that read only the ids, times, kind, status,
    /// service and name: of a page not in the cache only its prefix frame is decompressed, and
    /// its rows come with empty resource, scope and span bytes.
    pub fn for_each_span_columns(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()> {
        let t = &self.inner.traces;
        let snap = t.snapshot();
        let mut scratch = crate::table::PrefixScratch::default();
        let mut prefix = Vec::new();
        // A cached page is read as rows; otherwise only its prefix frame.
        scan_pages(
            &snap,
            start_ns,
            end_ns,
            |b, i| {
                if let Some(rows) = t.cached_page(b, i) {
                    return Ok(Some(rows));
                }
                if !t.page_prefix(b, i, &mut scratch, &mut prefix)? {
                    prefix = t.raw_page(b, i)?;
                }
                let rows = crate::traces::decode_rows(&prefix, crate::traces::Want::Columns)?;
                Ok(Some(Arc::new(rows)))
            },
            f,
        )
    }

    /// Services and their operations (span name, kind), of everything stored.
    pub fn operations(&self) -> BTreeMap<String, BTreeSet<(String, u8)>> {
        let snap = self.inner.traces.snapshot();
        let mut out: BTreeMap<String, BTreeSet<(String, u8)>> = BTreeMap::new();
        let mut seen: std::collections::HashSet<(*const str, *const str, u8)> = Default::default();
        for c in &snap.chunks {
            for r in c.iter() {
                if seen.insert((Arc::as_ptr(&r.service), Arc::as_ptr(&r.name), r.kind)) {
                    out.entry(r.service.to_string())
                        .or_default()
                        .insert((r.name.to_string(), r.kind));
                }
            }
        }
        for b in &snap.blocks {
            for (s, n, k) in &b.meta.operations {
                out.entry(s.to_string())
                    .or_default()
                    .insert((n.to_string(), *k));
            }
        }
        out
    }

    // ---- logs ----

    /// Calls `f` on every record of a matching stream in [start, end] until it returns false.
    /// Order: unsealed data newest chunk first, then blocks newest first; callers sort.
    pub fn for_each_log(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()> {
        let t = &self.inner.logs;
        let snap = t.snapshot();
        let mut filter = LabelFilter::new(matchers);
        let mut block_ok: HashMap<u64, Vec<bool>> = HashMap::new();
        for b in &snap.blocks {
            block_ok.insert(
                b.seq,
                b.meta
                    .streams
                    .iter()
                    .map(|s| matches_all(matchers, s))
                    .collect(),
            );
        }
        scan(
            t,
            &snap,
            start_ns,
            end_ns,
            |b, i| {
                let ok = &block_ok[&b.seq];
                b.meta.page_streams[i]
                    .iter()
                    .any(|s| ok.get(*s as usize).copied().unwrap_or(false))
            },
            |r| if filter.ok(&r.labels) { f(r) } else { true },
        )
    }

    /// Log lines of matching streams in [start, end] that pass `pred`, until `f` returns
    /// false; same order as [`Store::for_each_log`]. Only the lines of a page are
    /// decompressed, and when `pred` names a literal every match contains, a page's text is
    /// searched for it at once; a caller that needs a line's whole record keeps its
    /// [`LogLine::reference`] and loads the records with [`Store::log_rows`].
    pub fn scan_log_lines(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()> {
        let t = &self.inner.logs;
        let snap = t.snapshot();
        let mut filter = LabelFilter::new(matchers);
        let in_range = |ts: i64| ts >= start_ns && ts <= end_ns;
        for c in snap.chunks.iter().rev() {
            for r in c.iter() {
                if in_range(r.ts_ns) && filter.ok(&r.labels) && pred.matches(&r.line) {
                    let hit = LogLine {
                        ts_ns: r.ts_ns,
                        labels: &r.labels,
                        line: &r.line,
                        at: At::Row(r),
                    };
                    if !f(&hit) {
                        return Ok(());
                    }
                }
            }
        }
        let finder = pred
            .literal()
            .filter(|l| !l.is_empty())
            .map(memchr::memmem::Finder::new);
        let mut scratch = crate::table::PrefixScratch::default();
        let mut prefix = Vec::new();
        for b in snap.blocks.iter().rev() {
            if !overlaps(b.min_t, b.max_t, start_ns, end_ns) {
                continue;
            }
            let ok: Vec<bool> = b
                .meta
                .streams
                .iter()
                .map(|s| matches_all(matchers, s))
                .collect();
            for (i, p) in b.pages.iter().enumerate() {
                let wanted = b.meta.page_streams[i]
                    .iter()
                    .any(|s| ok.get(*s as usize).copied().unwrap_or(false));
                if !overlaps(p.min_t, p.max_t, start_ns, end_ns) || !wanted {
                    continue;
                }
                // A page already decoded is read as rows; otherwise only its lines.
                let has_prefix = t.cached_page(b, i).is_none()
                    && t.page_prefix(b, i, &mut scratch, &mut prefix)?;
                if !has_prefix {
                    let rows = t.page(b, i)?;
                    for (k, r) in rows.iter().enumerate() {
                        if in_range(r.ts_ns) && filter.ok(&r.labels) && pred.matches(&r.line) {
                            let hit = LogLine {
                                ts_ns: r.ts_ns,
                                labels: &r.labels,
                                line: &r.line,
                                at: At::Page(b, i as u32, k as u32),
                            };
                            if !f(&hit) {
                                return Ok(());
                            }
                        }
                    }
                    continue;
                }
                let page = LinesPage::read(&mut crate::codec::Reader::new(&prefix))?;
                // The page's streams as the block's shared label sets.
                let streams: Vec<(Arc<Labels>, bool)> = page
                    .streams
                    .iter()
                    .map(
                        |l| match b.meta.streams.binary_search_by(|s| (**s).cmp(l)) {
                            Ok(k) => (b.meta.streams[k].clone(), ok[k]),
                            Err(_) => (Arc::new(l.clone()), matches_all(matchers, l)),
                        },
                    )
                    .collect();
                let mut visit = |k: usize, line: &str| -> bool {
                    let (labels, ok) = &streams[page.sids[k] as usize];
                    if !*ok || !in_range(page.ts[k]) || !pred.matches(line) {
                        return true;
                    }
                    f(&LogLine {
                        ts_ns: page.ts[k],
                        labels,
                        line,
                        at: At::Page(b, i as u32, k as u32),
                    })
                };
                match &finder {
                    Some(finder) => {
                        // Search the text; a hit's row is tested whole, then the search goes
                        // on at the next row (a match across two lines is no match, and
                        // must not hide one that starts inside the next line).
                        let text = page.text.as_bytes();
                        let mut pos = 0;
                        while let Some(off) = finder.find(&text[pos..]) {
                            let at = pos + off;
                            let k = page.row_at(at);
                            if k >= page.len() {
                                break;
                            }
                            if at + finder.needle().len() <= page.ends[k]
                                && !visit(k, page.line(k)?)
                            {
                                return Ok(());
                            }
                            pos = page.ends[k].max(at + 1);
                        }
                    }
                    None => {
                        for k in 0..page.len() {
                            if !visit(k, page.line(k)?) {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// [`Store::for_each_log`] for the records whose line passes `pred`: lines are tested on
    /// the lines alone ([`Store::scan_log_lines`]) and only the pages with a hit decoded;
    /// `f` sees the stored rows, not copies.
    pub fn for_each_log_where(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()> {
        let t = &self.inner.logs;
        // The decoded page of the last hit: (block, page) and its rows.
        let mut page: Option<(PageKey, Arc<Vec<LogRow>>)> = None;
        let mut failed = None;
        self.scan_log_lines(matchers, start_ns, end_ns, pred, &mut |l| match l.at {
            At::Row(r) => f(r),
            At::Page(b, i, k) => {
                let key = (b.seq, i);
                if page.as_ref().is_none_or(|(at, _)| *at != key) {
                    match t.page(b, i as usize) {
                        Ok(rows) => page = Some((key, rows)),
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                }
                match page.as_ref().and_then(|(_, rows)| rows.get(k as usize)) {
                    Some(r) => f(r),
                    None => {
                        failed = Some("log line outside its page".into());
                        false
                    }
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// The records of lines found by [`Store::scan_log_lines`], in the order given; each page
    /// involved is decoded once.
    pub fn log_rows(&self, refs: &[LogRef]) -> Result<Vec<LogRow>> {
        let t = &self.inner.logs;
        let mut pages: HashMap<(u64, u32), Arc<Vec<LogRow>>> = HashMap::new();
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            match &r.0 {
                RefAt::Row(row) => out.push(row.clone()),
                RefAt::Page(b, page, k) => {
                    let rows = match pages.get(&(b.seq, *page)) {
                        Some(p) => p.clone(),
                        None => {
                            let p = t.page(b, *page as usize)?;
                            pages.insert((b.seq, *page), p.clone());
                            p
                        }
                    };
                    out.push(
                        rows.get(*k as usize)
                            .ok_or("log reference outside its page")?
                            .clone(),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Distinct streams matching, with data in [start, end] (block granularity for sealed
    /// data).
    pub fn log_streams(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
    ) -> Vec<Arc<Labels>> {
        let snap = self.inner.logs.snapshot();
        let mut out: BTreeSet<Arc<Labels>> = BTreeSet::new();
        let mut filter = LabelFilter::new(matchers);
        for c in &snap.chunks {
            for r in c.iter() {
                if r.ts_ns >= start_ns && r.ts_ns <= end_ns && filter.ok(&r.labels) {
                    out.insert(r.labels.clone());
                }
            }
        }
        for b in &snap.blocks {
            if overlaps(b.min_t, b.max_t, start_ns, end_ns) {
                out.extend(
                    b.meta
                        .streams
                        .iter()
                        .filter(|s| matches_all(matchers, s))
                        .cloned(),
                );
            }
        }
        out.into_iter().collect()
    }

    // ---- metrics ----

    /// Series matching, with their samples in [min_ms, max_ms] in time order (one sample per
    /// timestamp: the last one written).
    pub fn select_series(
        &self,
        matchers: &[Matcher],
        min_ms: i64,
        max_ms: i64,
    ) -> Result<Vec<SeriesData>> {
        let t = &self.inner.metrics;
        let snap = t.snapshot();
        let mut by = SeriesIndex::default();
        let mut filter = LabelFilter::new(matchers);
        let push = |r: &crate::metrics::MetricRow, by: &mut SeriesIndex| {
            let s = by.get(&r.labels);
            match &r.sample {
                Sample::Float(v) => s.floats.push((r.t_ms, *v)),
                Sample::Histogram(_) => {
                    if let Some(h) = r.histogram() {
                        s.histograms.push((r.t_ms, h));
                    }
                }
                Sample::Exemplar { value, labels } => {
                    s.exemplars.push((r.t_ms, *value, labels.clone()))
                }
            }
        };
        // Blocks oldest first, then unsealed data: later writes of a timestamp win.
        for b in &snap.blocks {
            if !overlaps(b.min_t, b.max_t, min_ms, max_ms) {
                continue;
            }
            let mut pages = BTreeSet::new();
            for (l, a, z) in &b.meta.series {
                if matches_all(matchers, l) {
                    pages.extend(*a..=*z);
                }
            }
            for i in pages {
                let p = &b.pages[i as usize];
                if !overlaps(p.min_t, p.max_t, min_ms, max_ms) {
                    continue;
                }
                for r in t.page(b, i as usize)?.iter() {
                    if r.t_ms >= min_ms && r.t_ms <= max_ms && filter.ok(&r.labels) {
                        push(r, &mut by);
                    }
                }
            }
        }
        for c in &snap.chunks {
            for r in c.iter() {
                if r.t_ms >= min_ms && r.t_ms <= max_ms && filter.ok(&r.labels) {
                    push(r, &mut by);
                }
            }
        }
        let mut out = by.into_sorted();
        for s in &mut out {
            dedup_last(&mut s.floats, |x| x.0);
            dedup_last(&mut s.histograms, |x| x.0);
            s.exemplars.sort_by_key(|e| e.0);
        }
        out.retain(|s| !s.floats.is_empty() || !s.histograms.is_empty() || !s.exemplars.is_empty());
        Ok(out)
    }

    /// Label sets of the series matching with data in [min_ms, max_ms] (block granularity
    /// for sealed data).
    pub fn series(&self, matchers: &[Matcher], min_ms: i64, max_ms: i64) -> Vec<Arc<Labels>> {
        let snap = self.inner.metrics.snapshot();
        let mut out: BTreeSet<Arc<Labels>> = BTreeSet::new();
        let mut filter = LabelFilter::new(matchers);
        for c in &snap.chunks {
            for r in c.iter() {
                if r.t_ms >= min_ms && r.t_ms <= max_ms && filter.ok(&r.labels) {
                    out.insert(r.labels.clone());
                }
            }
        }
        for b in &snap.blocks {
            if overlaps(b.min_t, b.max_t, min_ms, max_ms) {
                out.extend(
                    b.meta
                        .series
                        .iter()
                        .filter(|s| matches_all(matchers, &s.0))
                        .map(|s| s.0.clone()),
                );
            }
        }
        out.into_iter().collect()
    }

    pub fn metadata(&self) -> BTreeMap<String, MetricMetadata> {
        self.inner
            .metadata
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The questions the query APIs ask, and the two ingest paths they serve. The embedded
/// [`Store`] answers them; a backend for more than one machine (ClickHouse in the Go
/// `clickhouse` exporter's schema) can implement the same trait, and the HTTP APIs, query
/// languages and UI stay as they are. Rows are OTLP-encoded, so any backend that can return
/// spans, log records and samples can build them.
/// A line filter as the store applies it: a test per line, and optionally a literal that
/// every matching line contains (the store then searches a page's text for it first).
pub trait LinePredicate {
    fn matches(&self, line: &str) -> bool;
    fn literal(&self) -> Option<&str> {
        None
    }
}

/// Every line.
pub struct AnyLine;

impl LinePredicate for AnyLine {
    fn matches(&self, _: &str) -> bool {
        true
    }
}

/// Lines containing a string.
pub struct Contains<'a>(pub &'a str);

impl LinePredicate for Contains<'_> {
    fn matches(&self, line: &str) -> bool {
        line.contains(self.0)
    }
    fn literal(&self) -> Option<&str> {
        Some(self.0)
    }
}

/// A page by its block's sequence number and its index in the block.
type PageKey = (u64, u32);

/// A line found by [`Store::scan_log_lines`].
pub struct LogLine<'a> {
    pub ts_ns: i64,
    pub labels: &'a Arc<Labels>,
    pub line: &'a str,
    at: At<'a>,
}

enum At<'a> {
    Row(&'a LogRow),
    Page(&'a Arc<crate::table::Block<Logs>>, u32, u32),
}

impl LogLine<'_> {
    /// Where the line's record is, to load it later with [`Store::log_rows`].
    pub fn reference(&self) -> LogRef {
        LogRef(match self.at {
            At::Row(r) => RefAt::Row(r.clone()),
            At::Page(b, p, k) => RefAt::Page(b.clone(), p, k),
        })
    }
}

/// Where a found line's record is: the row itself (unsealed), or its block, page and index.
#[derive(Clone)]
pub struct LogRef(RefAt);

#[derive(Clone)]
enum RefAt {
    Row(LogRow),
    Page(Arc<crate::table::Block<Logs>>, u32, u32),
}

pub trait Backend: Send + Sync {
    /// Every stored span of a trace.
    fn trace(&self, id: &[u8; 16]) -> Result<Vec<SpanRow>>;
    /// Traces with a span matching, most recent first.
    fn search_spans(&self, q: &SpanQuery) -> Result<Vec<TraceHit>>;
    /// Spans that started in [start, end] until `f` returns false.
    fn for_each_span(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()>;
    /// [`Backend::for_each_span`] for a caller that reads only the row's columns, not its
    /// `span` bytes (a backend may leave them empty).
    fn for_each_span_columns(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()> {
        self.for_each_span(start_ns, end_ns, f)
    }
    /// Services and their (span name, kind) operations.
    fn operations(&self) -> BTreeMap<String, BTreeSet<(String, u8)>>;
    /// Log records of matching streams in [start, end] until `f` returns false.
    fn for_each_log(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()>;
    /// Lines of matching streams in [start, end] that pass `pred`, until `f` returns false.
    fn scan_log_lines(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()>;
    /// Records of matching streams in [start, end] whose line passes `pred`, until `f`
    /// returns false.
    fn for_each_log_where(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()>;
    /// The records of lines `scan_log_lines` found.
    fn log_rows(&self, refs: &[LogRef]) -> Result<Vec<LogRow>>;
    /// Distinct matching log streams with data in [start, end].
    fn log_streams(&self, matchers: &[Matcher], start_ns: i64, end_ns: i64) -> Vec<Arc<Labels>>;
    /// Matching metric series with their samples in [min, max] (milliseconds).
    fn select_series(
        &self,
        matchers: &[Matcher],
        min_ms: i64,
        max_ms: i64,
    ) -> Result<Vec<SeriesData>>;
    /// Label sets of matching series with data in [min, max].
    fn series(&self, matchers: &[Matcher], min_ms: i64, max_ms: i64) -> Vec<Arc<Labels>>;
    /// Type, help and unit per metric name.
    fn metadata(&self) -> BTreeMap<String, MetricMetadata>;
    /// `POST /api/v1/write`.
    fn ingest_remote_write(
        &self,
        req: &prompb::WriteRequest,
        encoded: &[u8],
    ) -> std::io::Result<()>;
    /// `POST /loki/api/v1/push`.
    fn ingest_loki_push(
        &self,
        req: &crate::lokiproto::PushRequest,
        encoded: &[u8],
    ) -> std::io::Result<()>;
}

impl Backend for Store {
    fn trace(&self, id: &[u8; 16]) -> Result<Vec<SpanRow>> {
        Store::trace(self, id)
    }
    fn search_spans(&self, q: &SpanQuery) -> Result<Vec<TraceHit>> {
        Store::search_spans(self, q)
    }
    fn for_each_span(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()> {
        Store::for_each_span(self, start_ns, end_ns, f)
    }
    fn for_each_span_columns(
        &self,
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&SpanRow) -> bool,
    ) -> Result<()> {
        Store::for_each_span_columns(self, start_ns, end_ns, f)
    }
    fn operations(&self) -> BTreeMap<String, BTreeSet<(String, u8)>> {
        Store::operations(self)
    }
    fn for_each_log(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()> {
        Store::for_each_log(self, matchers, start_ns, end_ns, f)
    }
    fn scan_log_lines(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogLine) -> bool,
    ) -> Result<()> {
        Store::scan_log_lines(self, matchers, start_ns, end_ns, pred, f)
    }
    fn for_each_log_where(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        pred: &dyn LinePredicate,
        f: &mut dyn FnMut(&LogRow) -> bool,
    ) -> Result<()> {
        Store::for_each_log_where(self, matchers, start_ns, end_ns, pred, f)
    }
    fn log_rows(&self, refs: &[LogRef]) -> Result<Vec<LogRow>> {
        Store::log_rows(self, refs)
    }
    fn log_streams(&self, matchers: &[Matcher], start_ns: i64, end_ns: i64) -> Vec<Arc<Labels>> {
        Store::log_streams(self, matchers, start_ns, end_ns)
    }
    fn select_series(
        &self,
        matchers: &[Matcher],
        min_ms: i64,
        max_ms: i64,
    ) -> Result<Vec<SeriesData>> {
        Store::select_series(self, matchers, min_ms, max_ms)
    }
    fn series(&self, matchers: &[Matcher], min_ms: i64, max_ms: i64) -> Vec<Arc<Labels>> {
        Store::series(self, matchers, min_ms, max_ms)
    }
    fn metadata(&self) -> BTreeMap<String, MetricMetadata> {
        Store::metadata(self)
    }
    fn ingest_remote_write(
        &self,
        req: &prompb::WriteRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        Store::ingest_remote_write(self, req, encoded)
    }
    fn ingest_loki_push(
        &self,
        req: &crate::lokiproto::PushRequest,
        encoded: &[u8],
    ) -> std::io::Result<()> {
        Store::ingest_loki_push(self, req, encoded)
    }
}

/// The series of a selection by label set. Rows of one page share their series' `Arc`, so
/// the address is looked up first (hashing a pointer) and the labels compared only once per
/// distinct `Arc`; comparing label sets for every sample took most of a PromQL query's time.
/// Each address maps to a clone of its `Arc`, so it cannot be freed and reused meanwhile.
#[derive(Default)]
struct SeriesIndex {
    by_ptr: HashMap<*const Labels, (Arc<Labels>, usize)>,
    by_labels: BTreeMap<Arc<Labels>, usize>,
    data: Vec<SeriesData>,
}

impl SeriesIndex {
    fn get(&mut self, l: &Arc<Labels>) -> &mut SeriesData {
        let i = match self.by_ptr.get(&Arc::as_ptr(l)) {
            Some((_, i)) => *i,
            None => {
                let data = &mut self.data;
                let i = *self.by_labels.entry(l.clone()).or_insert_with(|| {
                    data.push(SeriesData {
                        labels: l.clone(),
                        ..Default::default()
                    });
                    data.len() - 1
                });
                self.by_ptr.insert(Arc::as_ptr(l), (l.clone(), i));
                i
            }
        };
        &mut self.data[i]
    }

    /// The series in label order.
    fn into_sorted(self) -> Vec<SeriesData> {
        let mut slots: Vec<Option<SeriesData>> = self.data.into_iter().map(Some).collect();
        self.by_labels
            .into_values()
            .filter_map(|i| slots[i].take())
            .collect()
    }
}

/// Sorts by key (stable, so later writes stay after earlier ones) and keeps the last of
/// each key.
fn dedup_last<T>(v: &mut Vec<T>, key: impl Fn(&T) -> i64) {
    v.sort_by_key(|x| key(x));
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v.drain(..) {
        if out.last().is_some_and(|l| key(l) == key(&x)) {
            out.pop();
        }
        out.push(x);
    }
    *v = out;
}

// Keep the schema types referenced so their NAME constants document the directories.
const _: [&str; 3] = [Traces::NAME, Logs::NAME, Metrics::NAME];
