//! The evaluator. Every query is evaluated one step at a time (an instant query is a range
//! query of one step); selectors read series fetched once, before the first step, for the
//! whole time window the query needs, so a step costs a binary search per series.

use crate::histogram::{FloatHistogram, bucket_quantile, native_fraction, native_quantile};
use crate::{
    Engine, Error, Labels, MatchOp, Matcher, Queryable, Sample, SampleValue, Series, Value,
    format_float, format_value, is_stale_nan,
};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::token::*;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, AtModifier, BinaryExpr, Call, Expr, LabelModifier, Offset, SubqueryExpr,
    VectorMatchCardinality, VectorSelector,
};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Hist = Arc<FloatHistogram>;

#[derive(Clone, Debug)]
struct Pt {
    t: i64,
    f: f64,
    h: Option<Hist>,
}

/// Label sets are shared between a series, the samples read from it and the results that
/// keep them: a step allocates no labels unless it changes them.
type L = Arc<Labels>;

struct Data {
    labels: L,
    /// `labels` without `__name__`, for the functions that drop it.
    nameless: L,
    pts: Vec<Pt>,
    has_stale: bool,
    /// Where the last lookups ended: steps move forward, so the next lookup usually starts
    /// there instead of bisecting the whole series.
    hint_lo: std::cell::Cell<usize>,
    hint_hi: std::cell::Cell<usize>,
}

/// The first index of `pts` where `before` is false (`before` holds for a prefix), starting
/// from `hint`.
fn seek(pts: &[Pt], hint: &std::cell::Cell<usize>, before: impl Fn(&Pt) -> bool) -> usize {
    let n = pts.len();
    let mut i = hint.get().min(n);
    if i > 0 && !before(&pts[i - 1]) {
        i = pts[..i].partition_point(&before);
    } else {
        let mut steps = 0;
        while i < n && before(&pts[i]) {
            i += 1;
            steps += 1;
            if steps == 8 {
                i += pts[i..].partition_point(&before);
                break;
            }
        }
    }
    hint.set(i);
    i
}

/// An instant-vector element.
#[derive(Clone, Debug)]
struct S {
    labels: L,
    f: f64,
    h: Option<Hist>,
}

/// A range-vector element.
struct RS {
    labels: L,
    /// `labels` without `__name__` when known in advance.
    nameless: Option<L>,
    win: Win,
}

/// The samples of a range-vector element: a window of a fetched series when it holds no stale
/// marker to skip (the common case, no copy), else a filtered copy.
enum Win {
    Shared(Rc<Vec<Data>>, usize, usize, usize),
    Owned(Vec<Pt>),
}

impl RS {
    fn pts(&self) -> &[Pt] {
        match &self.win {
            Win::Shared(d, i, a, b) => &d[*i].pts[*a..*b],
            Win::Owned(v) => v,
        }
    }
}

/// Hashes addresses (label sets are recognised by address before content on hot paths).
#[derive(Default, Clone, Copy)]
struct PtrHash(u64);

impl std::hash::Hasher for PtrHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type PtrMap<V> = HashMap<usize, V, std::hash::BuildHasherDefault<PtrHash>>;

fn addr(l: &L) -> usize {
    Arc::as_ptr(l) as usize
}

/// Output series of a range evaluation, found by the address of a sample's label set (stable
/// across steps for selectors and functions of them) before its content.
#[derive(Default)]
struct SeriesIndex {
    by_addr: PtrMap<usize>,
    by_labels: HashMap<L, usize>,
    first: Vec<L>,
}

impl SeriesIndex {
    /// The index of `l`'s series and whether it is new.
    fn get(&mut self, l: &L) -> (usize, bool) {
        if let Some(&i) = self.by_addr.get(&addr(l))
            && Arc::ptr_eq(&self.first[i], l)
        {
            return (i, false);
        }
        if let Some(&i) = self.by_labels.get(l) {
            return (i, false);
        }
        let i = self.first.len();
        self.first.push(l.clone());
        self.by_labels.insert(l.clone(), i);
        self.by_addr.insert(addr(l), i);
        (i, true)
    }
}

/// Aggregation groups of one aggregation expression, kept across steps: an input label set
/// (by address, kept alive here so the address stays its own) maps to a group id once.
#[derive(Default)]
struct GroupCache {
    by_addr: PtrMap<(L, usize)>,
    by_key: HashMap<String, usize>,
    labels: Vec<L>,
}

/// Entries held by a GroupCache before it starts over (bounds what it keeps alive when label
/// sets are new at every step, as after count_values or a binary operation).
const GROUP_CACHE_MAX: usize = 200_000;

fn empty_labels() -> L {
    Arc::new(Vec::new())
}

thread_local! {
    /// drop_name results by the address of the label set they came from (which the entry
    /// keeps alive, so the address cannot be reused); emptied when a query ends.
    static NAMELESS: std::cell::RefCell<PtrMap<(L, L)>> =
        std::cell::RefCell::new(PtrMap::default());
}

enum V {
    Scalar(f64),
    Str(String),
    Vector(Vec<S>),
    Matrix(Vec<RS>),
}

type R<T> = Result<T, Error>;

fn exec<T>(msg: impl Into<String>) -> R<T> {
    Err(Error::Execution(msg.into()))
}

/// Times and durations are kept within ±2^60 ms (36 million years) so that sums of a few of
/// them cannot overflow.
const TIME_LIMIT: i64 = 1 << 60;

fn clamp_time(t: i64) -> i64 {
    t.clamp(-TIME_LIMIT, TIME_LIMIT)
}

fn ms(d: &Duration) -> i64 {
    d.as_millis().min(TIME_LIMIT as u128) as i64
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => ms(d),
        Some(Offset::Neg(d)) => -ms(d),
    }
}

fn system_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => ms(&d),
        Err(e) => -ms(&e.duration()),
    }
}

type SelKey = *const VectorSelector;

struct Ev<'a> {
    eng: &'a Engine,
    q: &'a dyn Queryable,
    start: i64,
    end: i64,
    windows: HashMap<SelKey, (i64, i64)>,
    data: HashMap<SelKey, Rc<Vec<Data>>>,
    /// Steps of the range query being evaluated: `(start, step, count)`.
    steps: Option<(i64, i64, usize)>,
    /// Range-vector function calls evaluated at the query's steps only (not inside a
    /// subquery): computed for all steps at once, series by series, by `precompute`.
    batch_calls: std::collections::HashSet<*const Call>,
    batched: HashMap<*const Call, Vec<Vec<S>>>,
    /// The same for instant selectors.
    batch_sels: std::collections::HashSet<SelKey>,
    batched_sels: HashMap<SelKey, Vec<Vec<S>>>,
    in_subquery: usize,
    binops: HashMap<*const BinaryExpr, BinopCache>,
    subqueries: HashMap<*const SubqueryExpr, std::collections::BTreeMap<i64, Rc<Vec<S>>>>,
    groups: HashMap<*const AggregateExpr, GroupCache>,
    /// Samples held by the current step.
    cur_samples: usize,
    deadline: std::time::Instant,
    /// Calls of `count` since the clock was last read.
    ticks: u32,
}

pub(crate) fn instant(eng: &Engine, q: &dyn Queryable, expr: &Expr, t: i64) -> R<Value> {
    let t = clamp_time(t);
    let mut ev = Ev::new(eng, q, t, t);
    ev.prepare(expr, t, t)?;
    let v = ev.eval(expr, t)?;
    Ok(match v {
        V::Scalar(f) => Value::Scalar(t, f),
        V::Str(s) => Value::String(t, s),
        V::Vector(v) => Value::Vector(
            v.into_iter()
                .map(|s| Sample {
                    labels: Arc::unwrap_or_clone(s.labels),
                    t,
                    value: match s.h {
                        Some(h) => SampleValue::Histogram(Box::new((*h).clone())),
                        None => SampleValue::Float(s.f),
                    },
                })
                .collect(),
        ),
        V::Matrix(m) => {
            let mut out: Vec<Series> = m.into_iter().map(rs_to_series).collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Value::Matrix(out)
        }
    })
}

fn rs_to_series(r: RS) -> Series {
    let mut s = Series {
        labels: (*r.labels).clone(),
        ..Default::default()
    };
    for p in r.pts().iter().cloned() {
        match p.h {
            Some(h) => s.histograms.push((p.t, (*h).clone())),
            None => s.floats.push((p.t, p.f)),
        }
    }
    s
}

pub(crate) fn range(
    eng: &Engine,
    q: &dyn Queryable,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
) -> R<Value> {
    match expr.value_type() {
        ValueType::Vector | ValueType::Scalar => {}
        other => {
            let name = match other {
                ValueType::Matrix => "range vector",
                ValueType::String => "string",
                _ => "unknown",
            };
            return Err(Error::BadData(format!(
                "invalid expression type \"{name}\" for range query, must be Scalar or instant Vector"
            )));
        }
    }
    let (start, end) = (clamp_time(start), clamp_time(end));
    let mut ev = Ev::new(eng, q, start, end);
    ev.prepare(expr, start, end)?;
    let n_steps = ((end - start) / step) as usize + 1;
    if n_steps > 1 {
        ev.steps = Some((start, step, n_steps));
    }
    let mut index = SeriesIndex::default();
    let mut out: Vec<Series> = Vec::new();
    let mut total = 0usize;
    let mut t = start;
    while t <= end {
        ev.cur_samples = 0;
        let v = ev.eval(expr, t)?;
        let samples = match v {
            V::Scalar(f) => vec![S {
                labels: empty_labels(),
                f,
                h: None,
            }],
            V::Vector(v) => v,
            _ => return exec("range query evaluated to a non-vector"),
        };
        total += samples.len();
        if total > eng.max_samples {
            return Err(Error::TooManySamples);
        }
        for s in samples {
            let (i, new) = index.get(&s.labels);
            if new {
                out.push(Series {
                    labels: (*s.labels).clone(),
                    ..Default::default()
                });
                if s.h.is_none() {
                    out[i].floats.reserve(n_steps);
                }
            }
            match s.h {
                Some(h) => out[i].histograms.push((t, (*h).clone())),
                None => out[i].floats.push((t, s.f)),
            }
        }
        t += step;
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(out))
}

fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn drop_name(l: &L) -> L {
    if !l.iter().any(|(n, _)| n == "__name__") {
        return l.clone();
    }
    NAMELESS.with(|c| {
        let mut c = c.borrow_mut();
        let key = Arc::as_ptr(l) as usize;
        if let Some((_, d)) = c.get(&key) {
            return d.clone();
        }
        let d: L = Arc::new(l.iter().filter(|(n, _)| n != "__name__").cloned().collect());
        if c.len() >= GROUP_CACHE_MAX {
            // Label sets new at every step (after label_replace, say): start over rather
            // than keep them all alive.
            c.clear();
        }
        c.insert(key, (l.clone(), d.clone()));
        d
    })
}

fn get<'l>(l: &'l Labels, name: &str) -> &'l str {
    l.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn set_label(l: &mut Labels, name: &str, value: &str) {
    match l.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) => {
            if value.is_empty() {
                l.remove(i);
            } else {
                l[i].1 = value.to_string();
            }
        }
        Err(i) => {
            if !value.is_empty() {
                l.insert(i, (name.to_string(), value.to_string()));
            }
        }
    }
}

/// Prometheus' `labels.Labels.String()`: `{a="b", c="d"}`.
fn labels_string(l: &Labels) -> String {
    let inner: Vec<String> = l
        .iter()
        .map(|(n, v)| format!("{n}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

fn go_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether all label sets have the same metric name (or none): then dropping it cannot make
/// two of them equal, and the duplicate check can be skipped.
fn same_name<'l>(mut labels: impl Iterator<Item = &'l L>) -> bool {
    let Some(first) = labels.next() else {
        return true;
    };
    let name = get(first, "__name__");
    labels.all(|l| get(l, "__name__") == name)
}

fn check_dup(v: &[S]) -> R<()> {
    if v.len() < 2 {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    for s in v {
        if !seen.insert(&s.labels) {
            return exec("vector cannot contain metrics with the same labelset");
        }
    }
    Ok(())
}

fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// quantile.go `quantile`: values sorted with NaN first, linear interpolation between ranks.
fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap(),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    vals[lower as usize] * (1.0 - weight) + vals[upper as usize] * weight
}

impl Drop for Ev<'_> {
    fn drop(&mut self) {
        NAMELESS.with(|c| c.borrow_mut().clear());
    }
}

impl<'a> Ev<'a> {
    fn new(eng: &'a Engine, q: &'a dyn Queryable, start: i64, end: i64) -> Self {
        Ev {
            eng,
            q,
            start,
            end,
            windows: HashMap::new(),
            data: HashMap::new(),
            steps: None,
            batch_calls: Default::default(),
            batched: HashMap::new(),
            batch_sels: Default::default(),
            batched_sels: HashMap::new(),
            in_subquery: 0,
            binops: HashMap::new(),
            subqueries: HashMap::new(),
            groups: HashMap::new(),
            cur_samples: 0,
            deadline: std::time::Instant::now() + Duration::from_millis(eng.timeout_ms),
            ticks: 0,
        }
    }

    fn base_time(&self, at: &Option<AtModifier>, t: i64) -> i64 {
        match at {
            None => t,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(st)) => system_ms(st),
        }
    }

    fn eff_range(
        &self,
        at: &Option<AtModifier>,
        off: &Option<Offset>,
        lo: i64,
        hi: i64,
    ) -> (i64, i64) {
        let o = offset_ms(off);
        if at.is_some() {
            let b = self.base_time(at, lo) - o;
            (b, b)
        } else {
            (lo - o, hi - o)
        }
    }

    fn widen(&mut self, vs: &VectorSelector, lo: i64, hi: i64) {
        let e = self
            .windows
            .entry(vs as *const VectorSelector)
            .or_insert((lo, hi));
        e.0 = e.0.min(lo);
        e.1 = e.1.max(hi);
    }

    /// Finds the time window every selector needs over evaluation times `[lo, hi]`, then
    /// fetches the series.
    fn prepare(&mut self, e: &Expr, lo: i64, hi: i64) -> R<()> {
        self.plan(e, lo, hi)?;
        let mut sels: Vec<(SelKey, (i64, i64))> =
            self.windows.iter().map(|(k, v)| (*k, *v)).collect();
        sels.sort_by_key(|(k, _)| *k as usize);
        let mut fetched = 0usize;
        for (k, (lo, hi)) in sels {
            // SAFETY-free: the key is only an identity; the selector is found again by walking.
            let vs = find_selector(e, k).expect("planned selector is in the expression");
            let matchers = selector_matchers(vs)?;
            let series = self.q.select(&matchers, lo, hi).map_err(Error::Storage)?;
            // Everything fetched is held for the whole query: it is bounded by the sample
            // limit too (Prometheus streams chunks instead; a store holding more than that
            // for one query would exhaust memory here).
            fetched += series
                .iter()
                .map(|s| s.floats.len() + s.histograms.len())
                .sum::<usize>();
            if fetched > self.eng.max_samples {
                return Err(Error::TooManySamples);
            }
            self.data.insert(k, Rc::new(to_data(series)));
            if std::time::Instant::now() > self.deadline {
                return Err(Error::Timeout);
            }
        }
        Ok(())
    }

    fn plan(&mut self, e: &Expr, lo: i64, hi: i64) -> R<()> {
        match e {
            Expr::VectorSelector(vs) => {
                let (a, b) = self.eff_range(&vs.at, &vs.offset, lo, hi);
                self.widen(vs, a - self.eng.lookback_ms, b);
                if self.in_subquery == 0 {
                    self.batch_sels.insert(vs as *const VectorSelector);
                }
            }
            Expr::MatrixSelector(m) => {
                let (a, b) = self.eff_range(&m.vs.at, &m.vs.offset, lo, hi);
                self.widen(&m.vs, a - ms(&m.range), b);
            }
            Expr::Subquery(sq) => {
                let (a, b) = self.eff_range(&sq.at, &sq.offset, lo, hi);
                self.in_subquery += 1;
                let r = self.plan(&sq.expr, a - ms(&sq.range), b);
                self.in_subquery -= 1;
                r?;
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.plan(p, lo, hi)?;
                }
                self.plan(&a.expr, lo, hi)?;
            }
            Expr::Unary(u) => self.plan(&u.expr, lo, hi)?,
            Expr::Binary(b) => {
                self.plan(&b.lhs, lo, hi)?;
                self.plan(&b.rhs, lo, hi)?;
            }
            Expr::Paren(p) => self.plan(&p.expr, lo, hi)?,
            Expr::Call(c) => {
                if self.in_subquery == 0
                    && !matches!(c.func.name, "absent_over_time")
                    && c.args
                        .args
                        .iter()
                        .any(|a| matches!(unparen(a), Expr::MatrixSelector(_)))
                {
                    self.batch_calls.insert(c as *const Call);
                }
                for a in &c.args.args {
                    self.plan(a, lo, hi)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => return exec("extension expressions are not supported"),
        }
        Ok(())
    }

    fn count(&mut self, n: usize) -> R<()> {
        self.ticks += 1;
        if self.ticks >= 64 {
            self.ticks = 0;
            if std::time::Instant::now() > self.deadline {
                return Err(Error::Timeout);
            }
        }
        self.cur_samples += n;
        if self.cur_samples > self.eng.max_samples {
            return Err(Error::TooManySamples);
        }
        Ok(())
    }

    fn eval(&mut self, e: &Expr, t: i64) -> R<V> {
        match e {
            Expr::NumberLiteral(n) => Ok(V::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(V::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, t),
            Expr::Unary(u) => match self.eval(&u.expr, t)? {
                V::Scalar(f) => Ok(V::Scalar(-f)),
                V::Vector(v) => {
                    let out: Vec<S> = v
                        .into_iter()
                        .map(|s| S {
                            labels: drop_name(&s.labels),
                            f: -s.f,
                            h: s.h.map(|h| {
                                let mut h = (*h).clone();
                                h.scale(-1.0);
                                Arc::new(h)
                            }),
                        })
                        .collect();
                    check_dup(&out)?;
                    Ok(V::Vector(out))
                }
                _ => exec("unary expression only allowed on expressions of type scalar or vector"),
            },
            Expr::VectorSelector(vs) => {
                let key = vs as *const VectorSelector;
                if let Some((start, step, n)) = self.steps
                    && self.batch_sels.contains(&key)
                    && (t - start) % step == 0
                    && ((t - start) / step) < n as i64
                {
                    if !self.batched_sels.contains_key(&key) {
                        let all = self.precompute_selector(vs, start, step, n)?;
                        self.batched_sels.insert(key, all);
                    }
                    let k = ((t - start) / step) as usize;
                    let v = std::mem::take(&mut self.batched_sels.get_mut(&key).unwrap()[k]);
                    self.count(v.len())?;
                    return Ok(V::Vector(v));
                }
                Ok(V::Vector(
                    self.instant_sel(vs, t)?
                        .into_iter()
                        .map(|(_, s)| s)
                        .collect(),
                ))
            }
            Expr::MatrixSelector(m) => {
                let base = self.base_time(&m.vs.at, t) - offset_ms(&m.vs.offset);
                Ok(V::Matrix(self.range_sel(
                    &m.vs,
                    base - ms(&m.range),
                    base,
                )?))
            }
            Expr::Subquery(sq) => Ok(V::Matrix(self.subquery(sq, t)?)),
            Expr::Aggregate(a) => self.aggregate(a, t),
            Expr::Binary(b) => self.binary(b, t),
            Expr::Call(c) => self.call(c, t),
            Expr::Extension(_) => exec("extension expressions are not supported"),
        }
    }

    fn eval_vector(&mut self, e: &Expr, t: i64) -> R<Vec<S>> {
        match self.eval(e, t)? {
            V::Vector(v) => Ok(v),
            _ => exec("expected an instant vector"),
        }
    }

    fn eval_scalar(&mut self, e: &Expr, t: i64) -> R<f64> {
        match self.eval(e, t)? {
            V::Scalar(f) => Ok(f),
            _ => exec("expected a scalar"),
        }
    }

    fn eval_param(&mut self, a: &AggregateExpr, t: i64) -> R<f64> {
        match &a.param {
            Some(p) => self.eval_scalar(p, t),
            None => exec(format!(
                "{} requires a parameter",
                TokenType::new(a.op.id())
            )),
        }
    }

    fn eval_matrix(&mut self, e: &Expr, t: i64) -> R<Vec<RS>> {
        match self.eval(unparen(e), t)? {
            V::Matrix(m) => Ok(m),
            _ => exec("expected a range vector"),
        }
    }

    /// The latest non-stale sample of each series within the lookback window, with its time.
    fn instant_sel(&mut self, vs: &VectorSelector, t: i64) -> R<Vec<(i64, S)>> {
        let eff = self.base_time(&vs.at, t) - offset_ms(&vs.offset);
        let lookback = self.eng.lookback_ms;
        let Some(data) = self.data.get(&(vs as *const VectorSelector)) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for d in data.iter() {
            let i = seek(&d.pts, &d.hint_hi, |p| p.t <= eff);
            if i == 0 {
                continue;
            }
            let p = &d.pts[i - 1];
            if p.t < eff - lookback {
                continue;
            }
            if is_stale(p) {
                continue;
            }
            out.push((
                p.t,
                S {
                    labels: d.labels.clone(),
                    f: p.f,
                    h: p.h.clone(),
                },
            ));
        }
        self.count(out.len())?;
        Ok(out)
    }

    /// An instant selector at every step of the range query, series by series.
    fn precompute_selector(
        &mut self,
        vs: &VectorSelector,
        start: i64,
        step: i64,
        n: usize,
    ) -> R<Vec<Vec<S>>> {
        let Some(data) = self.data.get(&(vs as *const VectorSelector)).cloned() else {
            return Ok(vec![Vec::new(); n]);
        };
        let off = offset_ms(&vs.offset);
        let lookback = self.eng.lookback_ms;
        let mut out: Vec<Vec<S>> = (0..n).map(|_| Vec::with_capacity(data.len())).collect();
        let mut total = 0usize;
        for d in data.iter() {
            for (k, v) in out.iter_mut().enumerate() {
                let eff = self.base_time(&vs.at, start + k as i64 * step) - off;
                let i = seek(&d.pts, &d.hint_hi, |p| p.t <= eff);
                if i == 0 {
                    continue;
                }
                let p = &d.pts[i - 1];
                if p.t < eff - lookback || is_stale(p) {
                    continue;
                }
                v.push(S {
                    labels: d.labels.clone(),
                    f: p.f,
                    h: p.h.clone(),
                });
                total += 1;
            }
            if total > self.eng.max_samples {
                return Err(Error::TooManySamples);
            }
            self.count(0)?;
        }
        Ok(out)
    }

    /// The non-stale samples of each series in `[lo, hi]`; series without any are left out.
    fn range_sel(&mut self, vs: &VectorSelector, lo: i64, hi: i64) -> R<Vec<RS>> {
        let Some(data) = self.data.get(&(vs as *const VectorSelector)).cloned() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut n = 0;
        for (i, d) in data.iter().enumerate() {
            let a = seek(&d.pts, &d.hint_lo, |p| p.t < lo);
            let b = seek(&d.pts, &d.hint_hi, |p| p.t <= hi);
            if a >= b {
                continue;
            }
            let win = if d.has_stale {
                let pts: Vec<Pt> = d.pts[a..b]
                    .iter()
                    .filter(|p| !is_stale(p))
                    .cloned()
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                n += pts.len();
                Win::Owned(pts)
            } else {
                n += b - a;
                Win::Shared(data.clone(), i, a, b)
            };
            out.push(RS {
                labels: d.labels.clone(),
                nameless: Some(d.nameless.clone()),
                win,
            });
        }
        self.count(n)?;
        Ok(out)
    }

    /// Evaluates the inner expression at the step-aligned times in `[eff - range, eff]`.
    fn subquery(&mut self, sq: &SubqueryExpr, t: i64) -> R<Vec<RS>> {
        let eff = self.base_time(&sq.at, t) - offset_ms(&sq.offset);
        let step = match &sq.step {
            Some(d) if ms(d) > 0 => ms(d),
            _ => self.eng.default_subquery_step_ms,
        };
        let lo = eff - ms(&sq.range);
        let mut ts = step * lo.div_euclid(step);
        if ts < lo {
            ts += step;
        }
        if (eff - ts) / step > self.eng.max_points_per_series * 100 {
            return exec("subquery has too many steps");
        }
        let mut index = SeriesIndex::default();
        let mut out: Vec<(L, Vec<Pt>)> = Vec::new();
        // Consecutive outer steps share most inner steps: their results are kept, by inner
        // time, while they can still be needed (the inner expression's value at a time does not
        // depend on the outer step).
        let key = sq as *const SubqueryExpr;
        let mut memo = self.subqueries.remove(&key).unwrap_or_default();
        let first_needed = ts;
        while ts <= eff {
            let v = match memo.get(&ts) {
                Some(v) => Rc::clone(v),
                None => {
                    let v = match self.eval(&sq.expr, ts)? {
                        V::Vector(v) => v,
                        V::Scalar(f) => vec![S {
                            labels: empty_labels(),
                            f,
                            h: None,
                        }],
                        _ => return exec("subquery is only allowed on vector"),
                    };
                    let v = Rc::new(v);
                    memo.insert(ts, Rc::clone(&v));
                    v
                }
            };
            // Each inner step counts as a sample at least, so nested subqueries stay bounded.
            self.count(v.len().max(1))?;
            for s in v.iter().cloned() {
                let (i, new) = index.get(&s.labels);
                if new {
                    out.push((s.labels.clone(), Vec::new()));
                }
                out[i].1.push(Pt {
                    t: ts,
                    f: s.f,
                    h: s.h,
                });
            }
            ts += step;
        }
        // Outer steps move forward: inner results before this window are not needed again.
        memo = memo.split_off(&first_needed);
        self.subqueries.insert(key, memo);
        Ok(out
            .into_iter()
            .map(|(labels, pts)| RS {
                labels,
                nameless: None,
                win: Win::Owned(pts),
            })
            .collect())
    }

    fn aggregate(&mut self, a: &AggregateExpr, t: i64) -> R<V> {
        let op = a.op.id();
        let (without, mut grouping): (bool, Vec<String>) = match &a.modifier {
            None => (false, Vec::new()),
            Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        };
        let mut k = 0i64;
        let mut q = 0.0;
        let mut value_label = String::new();
        match op {
            T_TOPK | T_BOTTOMK => {
                let f = self.eval_param(a, t)?;
                // Go's convertibleToInt64; the message prints f as %v does.
                if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    let shown = if f.is_finite() {
                        crate::go_exp(f)
                    } else {
                        format_value(f)
                    };
                    return exec(format!("Scalar value {shown} overflows int64"));
                }
                k = f as i64;
            }
            T_QUANTILE => {
                q = self.eval_param(a, t)?;
            }
            T_COUNT_VALUES => {
                value_label = match a.param.as_deref().map(unparen) {
                    Some(Expr::StringLiteral(s)) => s.val.clone(),
                    _ => return exec("count_values requires a string parameter"),
                };
                if !valid_label_name(&value_label) {
                    return exec(format!("invalid label name {}", go_quote(&value_label)));
                }
                if !without {
                    grouping.push(value_label.clone());
                }
            }
            T_LIMITK | T_LIMIT_RATIO => {
                return exec(format!(
                    "aggregation {} is not supported",
                    TokenType::new(op)
                ));
            }
            _ => {}
        }
        grouping.sort();
        let input = self.eval_vector(&a.expr, t)?;
        if (op == T_TOPK || op == T_BOTTOMK) && k < 1 {
            return Ok(V::Vector(Vec::new()));
        }

        struct Group {
            labels: L,
            f: f64,
            mean: f64,
            count: usize,
            has_float: bool,
            has_hist: bool,
            h: Option<FloatHistogram>,
            members: Vec<S>,
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut cache = self
            .groups
            .remove(&(a as *const AggregateExpr))
            .unwrap_or_default();
        if cache.by_addr.len() > GROUP_CACHE_MAX {
            cache = GroupCache::default();
        }
        // Group id -> index in `groups` + 1 at this step.
        let mut slots: Vec<usize> = vec![0; cache.labels.len()];
        let mut key = String::new();
        for mut s in input {
            if op == T_COUNT_VALUES {
                let v = format_float(s.f);
                set_label(Arc::make_mut(&mut s.labels), &value_label, &v);
            }
            let gid = match cache.by_addr.get(&addr(&s.labels)) {
                Some((_, gid)) => *gid,
                None => {
                    key.clear();
                    for (n, v) in s.labels.iter() {
                        let in_grouping = grouping.binary_search(n).is_ok();
                        let keep = if without {
                            !in_grouping && n != "__name__"
                        } else {
                            in_grouping
                        };
                        if keep {
                            key.push_str(n);
                            key.push('\u{ff}');
                            key.push_str(v);
                            key.push('\u{ff}');
                        }
                    }
                    let gid = match cache.by_key.get(&key) {
                        Some(&g) => g,
                        None => {
                            let labels: Labels = s
                                .labels
                                .iter()
                                .filter(|(n, _)| {
                                    let in_grouping = grouping.binary_search(n).is_ok();
                                    if without {
                                        !in_grouping && n != "__name__"
                                    } else {
                                        in_grouping
                                    }
                                })
                                .cloned()
                                .collect();
                            cache.labels.push(Arc::new(labels));
                            cache.by_key.insert(key.clone(), cache.labels.len() - 1);
                            slots.push(0);
                            cache.labels.len() - 1
                        }
                    };
                    if op != T_COUNT_VALUES {
                        cache
                            .by_addr
                            .insert(addr(&s.labels), (s.labels.clone(), gid));
                    }
                    gid
                }
            };
            let gi = match slots[gid] {
                i if i > 0 => i - 1,
                _ => {
                    slots[gid] = groups.len() + 1;
                    groups.push(Group {
                        labels: cache.labels[gid].clone(),
                        f: s.f,
                        mean: s.f,
                        count: 1,
                        has_float: s.h.is_none(),
                        has_hist: s.h.is_some(),
                        h: if op == T_SUM {
                            s.h.as_ref().map(|h| (**h).clone())
                        } else {
                            None
                        },
                        members: Vec::new(),
                    });
                    let g = groups.last_mut().unwrap();
                    match op {
                        T_STDDEV | T_STDVAR => g.f = 0.0,
                        T_GROUP => g.f = 1.0,
                        T_TOPK | T_BOTTOMK | T_QUANTILE => g.members.push(s),
                        _ => {}
                    }
                    continue;
                }
            };
            let g = &mut groups[gi];
            match op {
                T_SUM => match &s.h {
                    Some(h) => {
                        g.has_hist = true;
                        if let Some(acc) = &g.h {
                            g.h = Some(acc.add(h));
                        }
                    }
                    None => {
                        g.has_float = true;
                        g.f += s.f;
                    }
                },
                T_AVG => {
                    g.count += 1;
                    let skip = g.mean.is_infinite()
                        && ((s.f.is_infinite() && (g.mean > 0.0) == (s.f > 0.0))
                            || (!s.f.is_infinite() && !s.f.is_nan()));
                    if !skip {
                        let c = g.count as f64;
                        g.mean += s.f / c - g.mean / c;
                    }
                }
                T_GROUP => {}
                T_MAX => {
                    if g.f < s.f || g.f.is_nan() {
                        g.f = s.f;
                    }
                }
                T_MIN => {
                    if g.f > s.f || g.f.is_nan() {
                        g.f = s.f;
                    }
                }
                T_COUNT | T_COUNT_VALUES => g.count += 1,
                T_STDDEV | T_STDVAR => {
                    g.count += 1;
                    let delta = s.f - g.mean;
                    g.mean += delta / g.count as f64;
                    g.f += delta * (s.f - g.mean);
                }
                T_TOPK | T_BOTTOMK | T_QUANTILE => g.members.push(s),
                _ => {
                    return exec(format!(
                        "aggregation {} is not supported",
                        TokenType::new(op)
                    ));
                }
            }
        }
        self.groups.insert(a as *const AggregateExpr, cache);
        let mut out = Vec::with_capacity(groups.len());
        for mut g in groups {
            let f = match op {
                T_AVG => g.mean,
                T_COUNT | T_COUNT_VALUES => g.count as f64,
                T_STDVAR => g.f / g.count as f64,
                T_STDDEV => (g.f / g.count as f64).sqrt(),
                T_TOPK | T_BOTTOMK => {
                    let top = op == T_TOPK;
                    // NaN ranks last either way; the order within equal values is unspecified.
                    g.members
                        .sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if top => b.f.partial_cmp(&a.f).unwrap(),
                            _ => a.f.partial_cmp(&b.f).unwrap(),
                        });
                    g.members.truncate(usize::try_from(k).unwrap_or(usize::MAX));
                    for m in g.members {
                        out.push(S {
                            labels: m.labels,
                            f: m.f,
                            h: None,
                        });
                    }
                    continue;
                }
                T_QUANTILE => {
                    let mut vals: Vec<f64> = g.members.iter().map(|m| m.f).collect();
                    quantile(q, &mut vals)
                }
                T_SUM => {
                    if g.has_float && g.has_hist {
                        continue;
                    }
                    g.f
                }
                _ => g.f,
            };
            out.push(S {
                labels: g.labels,
                f,
                h: if op == T_SUM && !g.has_float {
                    g.h.map(Arc::new)
                } else {
                    None
                },
            });
        }
        Ok(V::Vector(out))
    }

    fn binary(&mut self, b: &BinaryExpr, t: i64) -> R<V> {
        let op = b.op.id();
        if let Some(m) = &b.modifier
            && (m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some())
        {
            return exec("fill modifiers are not supported");
        }
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, t)?;
        let rhs = self.eval(&b.rhs, t)?;
        match (lhs, rhs) {
            (V::Scalar(l), V::Scalar(r)) => Ok(V::Scalar(scalar_binop(op, l, r)?)),
            (V::Vector(v), V::Scalar(x)) => vector_scalar_checked(op, v, x, false, return_bool),
            // The scalar on the left: `swap`.
            (V::Scalar(x), V::Vector(v)) => vector_scalar_checked(op, v, x, true, return_bool),
            (V::Vector(l), V::Vector(r)) => {
                let (on, names): (bool, Vec<String>) =
                    match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                        Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
                        Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
                        None => (false, Vec::new()),
                    };
                let card = b
                    .modifier
                    .as_ref()
                    .map(|m| m.card.clone())
                    .unwrap_or(VectorMatchCardinality::OneToOne);
                let out = match op {
                    // Set operations and one-to-one matching cannot yield two equal label
                    // sets (distinct signatures give distinct results).
                    T_LAND | T_LOR | T_LUNLESS => set_op(op, l, r, on, &names),
                    _ => {
                        let key = b as *const BinaryExpr;
                        let mut cache = self.binops.remove(&key).unwrap_or_default();
                        let out =
                            vector_binop(&mut cache, op, l, r, on, &names, &card, return_bool);
                        self.binops.insert(key, cache);
                        let out = out?;
                        // Results of different match groups differ in the matching labels,
                        // unless those include the name that arithmetic drops.
                        if on && names.iter().any(|n| n == "__name__") {
                            check_dup(&out)?;
                        }
                        out
                    }
                };
                Ok(V::Vector(out))
            }
            _ => exec("binary operations are only allowed between scalars and instant vectors"),
        }
    }

    fn call(&mut self, c: &Call, t: i64) -> R<V> {
        let name = c.func.name;
        let args = &c.args.args;
        let out = match name {
            "time" => return Ok(V::Scalar(t as f64 / 1000.0)),
            "pi" => return Ok(V::Scalar(std::f64::consts::PI)),
            "vector" => {
                let f = self.eval_scalar(&args[0], t)?;
                return Ok(V::Vector(vec![S {
                    labels: empty_labels(),
                    f,
                    h: None,
                }]));
            }
            "scalar" => {
                let v = self.eval_vector(&args[0], t)?;
                return Ok(V::Scalar(if v.len() == 1 && v[0].h.is_none() {
                    v[0].f
                } else {
                    f64::NAN
                }));
            }
            "timestamp" => {
                if let Expr::VectorSelector(vs) = unparen(&args[0]) {
                    self.instant_sel(vs, t)?
                        .into_iter()
                        .map(|(st, s)| S {
                            labels: drop_name(&s.labels),
                            f: st as f64 / 1000.0,
                            h: None,
                        })
                        .collect()
                } else {
                    self.eval_vector(&args[0], t)?
                        .into_iter()
                        .map(|s| S {
                            labels: drop_name(&s.labels),
                            f: t as f64 / 1000.0,
                            h: None,
                        })
                        .collect()
                }
            }
            "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sgn" | "sin"
            | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh" | "asinh"
            | "acosh" | "atanh" | "deg" | "rad" => {
                let f: fn(f64) -> f64 = match name {
                    "abs" => f64::abs,
                    "ceil" => f64::ceil,
                    "floor" => f64::floor,
                    "exp" => f64::exp,
                    "sqrt" => f64::sqrt,
                    "ln" => f64::ln,
                    "log2" => f64::log2,
                    "log10" => f64::log10,
                    "sgn" => |v: f64| {
                        if v > 0.0 {
                            1.0
                        } else if v < 0.0 {
                            -1.0
                        } else {
                            v
                        }
                    },
                    "sin" => f64::sin,
                    "cos" => f64::cos,
                    "tan" => f64::tan,
                    "asin" => f64::asin,
                    "acos" => f64::acos,
                    "atan" => f64::atan,
                    "sinh" => f64::sinh,
                    "cosh" => f64::cosh,
                    "tanh" => f64::tanh,
                    "asinh" => f64::asinh,
                    "acosh" => f64::acosh,
                    "atanh" => f64::atanh,
                    "deg" => f64::to_degrees,
                    _ => f64::to_radians,
                };
                self.map_floats(&args[0], t, f)?
            }
            "round" => {
                let to = if args.len() > 1 {
                    self.eval_scalar(&args[1], t)?
                } else {
                    1.0
                };
                let inv = 1.0 / to;
                self.map_floats(&args[0], t, |v| (v * inv + 0.5).floor() / inv)?
            }
            "clamp" => {
                let min = self.eval_scalar(&args[1], t)?;
                let max = self.eval_scalar(&args[2], t)?;
                if max < min {
                    Vec::new()
                } else {
                    self.map_floats(&args[0], t, |v| min.max(max.min(v)))?
                }
            }
            "clamp_min" => {
                let min = self.eval_scalar(&args[1], t)?;
                self.map_floats(&args[0], t, |v| min.max(v))?
            }
            "clamp_max" => {
                let max = self.eval_scalar(&args[1], t)?;
                self.map_floats(&args[0], t, |v| max.min(v))?
            }
            "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year"
            | "days_in_month" | "month" | "year" => {
                let f = date_fn(name);
                if args.is_empty() {
                    return Ok(V::Vector(vec![S {
                        labels: empty_labels(),
                        f: f((t as f64 / 1000.0).floor() as i64),
                        h: None,
                    }]));
                }
                self.map_floats(&args[0], t, |v| f(v as i64))?
            }
            "absent" => {
                let v = self.eval_vector(&args[0], t)?;
                if v.is_empty() {
                    vec![S {
                        labels: Arc::new(absent_labels(&args[0])),
                        f: 1.0,
                        h: None,
                    }]
                } else {
                    Vec::new()
                }
            }
            "absent_over_time" => {
                let m = self.eval_matrix(&args[0], t)?;
                if m.is_empty() {
                    vec![S {
                        labels: Arc::new(absent_labels(unparen(&args[0]))),
                        f: 1.0,
                        h: None,
                    }]
                } else {
                    Vec::new()
                }
            }
            "label_replace" => self.label_replace(args, t)?,
            "label_join" => self.label_join(args, t)?,
            "sort" | "sort_desc" => {
                let mut v = self.eval_vector(&args[0], t)?;
                let desc = name == "sort_desc";
                v.sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if desc => b.f.partial_cmp(&a.f).unwrap(),
                    _ => a.f.partial_cmp(&b.f).unwrap(),
                });
                return Ok(V::Vector(v));
            }
            "histogram_count" | "histogram_sum" => self
                .eval_vector(&args[0], t)?
                .into_iter()
                .filter_map(|s| {
                    s.h.as_ref().map(|h| S {
                        labels: drop_name(&s.labels),
                        f: if name == "histogram_count" {
                            h.count
                        } else {
                            h.sum
                        },
                        h: None,
                    })
                })
                .collect(),
            "histogram_fraction" => {
                let lower = self.eval_scalar(&args[0], t)?;
                let upper = self.eval_scalar(&args[1], t)?;
                let exp = self.eng.exponential_interpolation;
                self.eval_vector(&args[2], t)?
                    .into_iter()
                    .filter_map(|s| {
                        s.h.as_ref().map(|h| S {
                            labels: drop_name(&s.labels),
                            f: native_fraction(lower, upper, h, exp),
                            h: None,
                        })
                    })
                    .collect()
            }
            "histogram_avg" => self
                .eval_vector(&args[0], t)?
                .into_iter()
                .filter_map(|s| {
                    s.h.as_ref().map(|h| S {
                        labels: drop_name(&s.labels),
                        f: h.sum / h.count,
                        h: None,
                    })
                })
                .collect(),
            "histogram_quantile" => {
                let q = self.eval_scalar(&args[0], t)?;
                let v = self.eval_vector(&args[1], t)?;
                self.histogram_quantile(q, v)
            }
            _ => {
                if let Some(i) = args
                    .iter()
                    .position(|a| matches!(unparen(a), Expr::MatrixSelector(_) | Expr::Subquery(_)))
                {
                    return self.matrix_call(c, i, t);
                }
                return exec(format!("function {name}() is not supported"));
            }
        };
        // map_floats checked its own output.
        let checked = matches!(
            name,
            "abs"
                | "ceil"
                | "floor"
                | "exp"
                | "sqrt"
                | "ln"
                | "log2"
                | "log10"
                | "sgn"
                | "sin"
                | "cos"
                | "tan"
                | "asin"
                | "acos"
                | "atan"
                | "sinh"
                | "cosh"
                | "tanh"
                | "asinh"
                | "acosh"
                | "atanh"
                | "deg"
                | "rad"
                | "round"
                | "clamp"
                | "clamp_min"
                | "clamp_max"
                | "minute"
                | "hour"
                | "day_of_week"
                | "day_of_month"
                | "day_of_year"
                | "days_in_month"
                | "month"
                | "year"
        );
        if !checked {
            check_dup(&out)?;
        }
        Ok(V::Vector(out))
    }

    /// `f` over the float samples, names dropped (duplicates checked here).
    fn map_floats(&mut self, e: &Expr, t: i64, f: impl Fn(f64) -> f64) -> R<Vec<S>> {
        let v = self.eval_vector(e, t)?;
        let unique = same_name(v.iter().map(|s| &s.labels));
        let out: Vec<S> = v
            .into_iter()
            .filter(|s| s.h.is_none())
            .map(|s| S {
                labels: drop_name(&s.labels),
                f: f(s.f),
                h: None,
            })
            .collect();
        if !unique {
            check_dup(&out)?;
        }
        Ok(out)
    }

    fn label_replace(&mut self, args: &[Box<Expr>], t: i64) -> R<Vec<S>> {
        let v = self.eval_vector(&args[0], t)?;
        let dst = string_arg(&args[1])?;
        let repl = string_arg(&args[2])?;
        let src = string_arg(&args[3])?;
        let re_str = string_arg(&args[4])?;
        let re = goregex::compile(&format!("^(?:{re_str})$")).map_err(|_| {
            Error::Execution(format!(
                "invalid regular expression in label_replace(): {re_str}"
            ))
        })?;
        if !valid_label_name(&dst) {
            return exec(format!(
                "invalid destination label name in label_replace(): {dst}"
            ));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let src_val = get(&s.labels, &src).to_string();
            if let Some(caps) = re.captures(&src_val) {
                let mut res = String::new();
                caps.expand(&repl, &mut res);
                set_label(Arc::make_mut(&mut s.labels), &dst, &res);
            }
            out.push(s);
        }
        Ok(out)
    }

    fn label_join(&mut self, args: &[Box<Expr>], t: i64) -> R<Vec<S>> {
        let v = self.eval_vector(&args[0], t)?;
        let dst = string_arg(&args[1])?;
        let sep = string_arg(&args[2])?;
        let mut srcs = Vec::new();
        for a in &args[3..] {
            let s = string_arg(a)?;
            if !valid_label_name(&s) {
                return exec(format!("invalid source label name in label_join(): {s}"));
            }
            srcs.push(s);
        }
        if !valid_label_name(&dst) {
            return exec(format!(
                "invalid destination label name in label_join(): {dst}"
            ));
        }
        let mut out = Vec::with_capacity(v.len());
        for mut s in v {
            let joined = srcs
                .iter()
                .map(|n| get(&s.labels, n))
                .collect::<Vec<_>>()
                .join(&sep);
            set_label(Arc::make_mut(&mut s.labels), &dst, &joined);
            out.push(s);
        }
        Ok(out)
    }

    fn histogram_quantile(&self, q: f64, v: Vec<S>) -> Vec<S> {
        struct G {
            labels: Labels,
            buckets: Vec<(f64, f64)>,
        }
        let mut groups: Vec<G> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut natives = Vec::new();
        for s in v {
            if s.h.is_some() {
                natives.push(s);
                continue;
            }
            let Some(ub) = parse_go_float(get(&s.labels, "le")) else {
                continue;
            };
            let key: Labels = s
                .labels
                .iter()
                .filter(|(n, _)| n != "le")
                .cloned()
                .collect();
            let gi = match index.get(&key) {
                Some(&i) => i,
                None => {
                    groups.push(G {
                        labels: key
                            .iter()
                            .filter(|(n, _)| n != "__name__")
                            .cloned()
                            .collect(),
                        buckets: Vec::new(),
                    });
                    index.insert(key, groups.len() - 1);
                    groups.len() - 1
                }
            };
            groups[gi].buckets.push((ub, s.f));
        }
        let mut out = Vec::new();
        for s in natives {
            if let Some(&gi) = index.get(s.labels.as_ref()) {
                // Classic buckets and a native histogram under the same labels: neither.
                groups[gi].buckets.clear();
                continue;
            }
            let h = s.h.as_ref().unwrap();
            out.push(S {
                labels: drop_name(&s.labels),
                f: native_quantile(q, h, self.eng.exponential_interpolation),
                h: None,
            });
        }
        for mut g in groups {
            if g.buckets.is_empty() {
                continue;
            }
            out.push(S {
                labels: Arc::new(g.labels),
                f: bucket_quantile(q, &mut g.buckets),
                h: None,
            });
        }
        out
    }

    /// Functions over a range vector, evaluated per series.
    fn matrix_call(&mut self, c: &Call, mi: usize, t: i64) -> R<V> {
        let key = c as *const Call;
        if let Some((start, step, n)) = self.steps
            && self.batch_calls.contains(&key)
            && (t - start) % step == 0
            && ((t - start) / step) < n as i64
        {
            if !self.batched.contains_key(&key) {
                let all = self.precompute(c, mi, start, step, n)?;
                self.batched.insert(key, all);
            }
            let k = ((t - start) / step) as usize;
            let v = std::mem::take(&mut self.batched.get_mut(&key).unwrap()[k]);
            self.count(v.len())?;
            return Ok(V::Vector(v));
        }
        let name = c.func.name;
        let args = &c.args.args;
        let mut scalars = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != mi {
                scalars.push(self.eval_scalar(a, t)?);
            }
        }
        let inner = unparen(&args[mi]);
        let (range_ms, range_end) = match inner {
            Expr::MatrixSelector(m) => (
                ms(&m.range),
                self.base_time(&m.vs.at, t) - offset_ms(&m.vs.offset),
            ),
            Expr::Subquery(sq) => (
                ms(&sq.range),
                self.base_time(&sq.at, t) - offset_ms(&sq.offset),
            ),
            _ => return exec("expected a range vector"),
        };
        let m = self.eval_matrix(inner, t)?;
        let unique = name == "last_over_time" || same_name(m.iter().map(|r| &r.labels));
        let mut out = Vec::with_capacity(m.len());
        for rs in m {
            if let Some((f, h)) = range_fn(name, rs.pts(), range_end, range_ms, &scalars, t)? {
                out.push(S {
                    labels: if name == "last_over_time" {
                        rs.labels
                    } else {
                        rs.nameless.unwrap_or_else(|| drop_name(&rs.labels))
                    },
                    f,
                    h,
                });
            }
        }
        if !unique {
            check_dup(&out)?;
        }
        Ok(V::Vector(out))
    }

    /// A range-vector function over a selector at every step of the range query, series by
    /// series: each series' samples are read once, in order, instead of once per step.
    fn precompute(
        &mut self,
        c: &Call,
        mi: usize,
        start: i64,
        step: i64,
        n: usize,
    ) -> R<Vec<Vec<S>>> {
        let name = c.func.name;
        let args = &c.args.args;
        let Expr::MatrixSelector(m) = unparen(&args[mi]) else {
            return exec("expected a range vector");
        };
        let mut scalars: Vec<Vec<f64>> = Vec::with_capacity(n);
        for k in 0..n {
            let t = start + k as i64 * step;
            let mut row = Vec::new();
            for (i, a) in args.iter().enumerate() {
                if i != mi {
                    row.push(self.eval_scalar(a, t)?);
                }
            }
            scalars.push(row);
        }
        let range_ms = ms(&m.range);
        let off = offset_ms(&m.vs.offset);
        let Some(data) = self.data.get(&(&m.vs as *const VectorSelector)).cloned() else {
            return Ok(vec![Vec::new(); n]);
        };
        let keep_name = name == "last_over_time";
        let unique = keep_name || same_name(data.iter().map(|d| &d.labels));
        let mut out: Vec<Vec<S>> = (0..n).map(|_| Vec::with_capacity(data.len())).collect();
        let mut total = 0usize;
        let mut filtered: Vec<Pt> = Vec::new();
        for d in data.iter() {
            for (k, row) in scalars.iter().enumerate() {
                let t = start + k as i64 * step;
                let hi = self.base_time(&m.vs.at, t) - off;
                let lo = hi - range_ms;
                let a = seek(&d.pts, &d.hint_lo, |p| p.t < lo);
                let b = seek(&d.pts, &d.hint_hi, |p| p.t <= hi);
                if a >= b {
                    continue;
                }
                let pts: &[Pt] = if d.has_stale {
                    filtered.clear();
                    filtered.extend(d.pts[a..b].iter().filter(|p| !is_stale(p)).cloned());
                    if filtered.is_empty() {
                        continue;
                    }
                    &filtered
                } else {
                    &d.pts[a..b]
                };
                if let Some((f, h)) = range_fn(name, pts, hi, range_ms, row, t)? {
                    out[k].push(S {
                        labels: if keep_name {
                            d.labels.clone()
                        } else {
                            d.nameless.clone()
                        },
                        f,
                        h,
                    });
                    total += 1;
                }
            }
            // Results are held until their step: they count against the sample limit.
            if total > self.eng.max_samples {
                return Err(Error::TooManySamples);
            }
            self.count(0)?;
        }
        if !unique {
            for v in &out {
                check_dup(v)?;
            }
        }
        Ok(out)
    }
}

/// One range-vector function over the samples of one series in `[range_end - range_ms,
/// range_end]`, evaluated at `t`.
fn range_fn(
    name: &str,
    pts: &[Pt],
    range_end: i64,
    range_ms: i64,
    scalars: &[f64],
    t: i64,
) -> R<Option<(f64, Option<Hist>)>> {
    Ok(match name {
        "rate" => extrapolated_rate(pts, range_end, range_ms, true, true),
        "increase" => extrapolated_rate(pts, range_end, range_ms, true, false),
        "delta" => extrapolated_rate(pts, range_end, range_ms, false, false),
        "irate" | "idelta" => instant_value(pts, name == "irate").map(|f| (f, None)),
        "last_over_time" => pts.last().map(|p| (p.f, p.h.clone())),
        "present_over_time" => Some((1.0, None)),
        "count_over_time" => Some((pts.len() as f64, None)),
        _ => {
            let floats: Vec<(i64, f64)> = pts
                .iter()
                .filter(|p| p.h.is_none())
                .map(|p| (p.t, p.f))
                .collect();
            if floats.is_empty() {
                None
            } else {
                float_range_fn(name, &floats, scalars, t)?.map(|f| (f, None))
            }
        }
    })
}

/// A data source's series as the evaluator reads them: sorted by labels as Prometheus'
/// storage returns them (instant-vector order follows), one entry per label set, samples of
/// both kinds merged in time order.
fn to_data(series: Vec<Series>) -> Vec<Data> {
    let mut by_labels: std::collections::BTreeMap<Labels, Vec<Pt>> = Default::default();
    for s in series {
        let pts = by_labels.entry(s.labels).or_default();
        pts.extend(s.floats.iter().map(|&(t, f)| Pt { t, f, h: None }));
        pts.extend(s.histograms.into_iter().map(|(t, h)| Pt {
            t,
            f: 0.0,
            h: Some(Arc::new(h)),
        }));
    }
    by_labels
        .into_iter()
        .map(|(labels, mut pts)| {
            if !pts.windows(2).all(|w| w[0].t < w[1].t) {
                pts.sort_by_key(|p| p.t);
                // Two samples at one time: the later one given wins, as on append.
                let mut deduped: Vec<Pt> = Vec::with_capacity(pts.len());
                for p in pts {
                    match deduped.last_mut() {
                        Some(last) if last.t == p.t => *last = p,
                        _ => deduped.push(p),
                    }
                }
                pts = deduped;
            }
            let has_stale = pts.iter().any(is_stale);
            let labels = Arc::new(labels);
            Data {
                nameless: drop_name(&labels),
                labels,
                pts,
                has_stale,
                hint_lo: Default::default(),
                hint_hi: Default::default(),
            }
        })
        .collect()
}

fn is_stale(p: &Pt) -> bool {
    match &p.h {
        Some(h) => is_stale_nan(h.sum),
        None => is_stale_nan(p.f),
    }
}

fn string_arg(e: &Expr) -> R<String> {
    match unparen(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        _ => exec("expected a string literal argument"),
    }
}

/// Go's `strconv.ParseFloat` for `le` values: Rust's parser plus Go's spellings of infinity.
fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    let lower = t.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

fn absent_labels(e: &Expr) -> Labels {
    let vs = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(m) => &m.vs,
        _ => return Vec::new(),
    };
    let mut out: Labels = Vec::new();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        if matches!(m.op, PMatchOp::Equal) && !has.contains(&m.name.as_str()) {
            set_label(&mut out, &m.name, &m.value);
            has.push(&m.name);
        } else if let Ok(i) = out.binary_search_by(|(n, _)| n.as_str().cmp(&m.name)) {
            out.remove(i);
        }
    }
    out
}

pub(crate) fn selector_matchers(vs: &VectorSelector) -> R<Vec<Matcher>> {
    if !vs.matchers.or_matchers.is_empty() {
        return exec("the `or` operator inside a vector selector is not supported");
    }
    let mut out = Vec::new();
    if let Some(n) = &vs.name {
        out.push(Matcher::new("__name__", MatchOp::Equal, n).map_err(Error::Parse)?);
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Re,
            PMatchOp::NotRe(_) => MatchOp::NotRe,
        };
        out.push(Matcher::new(&m.name, op, &m.value).map_err(Error::Parse)?);
    }
    Ok(out)
}

fn find_selector(e: &Expr, k: SelKey) -> Option<&VectorSelector> {
    match e {
        Expr::VectorSelector(vs) => (std::ptr::eq(vs, k)).then_some(vs),
        Expr::MatrixSelector(m) => (std::ptr::eq(&m.vs, k)).then_some(&m.vs),
        Expr::Subquery(sq) => find_selector(&sq.expr, k),
        Expr::Aggregate(a) => a
            .param
            .as_deref()
            .and_then(|p| find_selector(p, k))
            .or_else(|| find_selector(&a.expr, k)),
        Expr::Unary(u) => find_selector(&u.expr, k),
        Expr::Binary(b) => find_selector(&b.lhs, k).or_else(|| find_selector(&b.rhs, k)),
        Expr::Paren(p) => find_selector(&p.expr, k),
        Expr::Call(c) => c.args.args.iter().find_map(|a| find_selector(a, k)),
        _ => None,
    }
}

fn scalar_binop(op: u16, l: f64, r: f64) -> R<f64> {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    Ok(match op {
        T_ADD => l + r,
        T_SUB => l - r,
        T_MUL => l * r,
        T_DIV => l / r,
        T_POW => l.powf(r),
        T_MOD => l % r,
        T_EQLC => b(l == r),
        T_NEQ => b(l != r),
        T_GTR => b(l > r),
        T_LSS => b(l < r),
        T_GTE => b(l >= r),
        T_LTE => b(l <= r),
        T_ATAN2 => l.atan2(r),
        _ => {
            return exec(format!(
                "operator \"{}\" not allowed for Scalar operations",
                TokenType::new(op)
            ));
        }
    })
}

fn is_comparison(op: u16) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

fn drops_name(op: u16) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD)
}

/// vectorElemBinop: the value, the histogram and whether to keep the element.
fn elem_binop(
    op: u16,
    l: f64,
    r: f64,
    hl: Option<&Hist>,
    hr: Option<&Hist>,
) -> R<(f64, Option<Hist>, bool)> {
    match (hl, hr) {
        (Some(a), Some(b)) => {
            return Ok(match op {
                T_ADD => (0.0, Some(Arc::new(a.add(b))), true),
                T_SUB => (0.0, Some(Arc::new(a.sub(b))), true),
                _ => (0.0, None, false),
            });
        }
        (Some(_), None) | (None, Some(_)) => return Ok((0.0, None, false)),
        _ => {}
    }
    Ok(match op {
        T_EQLC => (l, None, l == r),
        T_NEQ => (l, None, l != r),
        T_GTR => (l, None, l > r),
        T_LSS => (l, None, l < r),
        T_GTE => (l, None, l >= r),
        T_LTE => (l, None, l <= r),
        _ => (scalar_binop(op, l, r)?, None, true),
    })
}

/// vector_scalar with the duplicate check of a step's result where dropping the metric name
/// could make two label sets equal.
fn vector_scalar_checked(op: u16, v: Vec<S>, x: f64, swap: bool, return_bool: bool) -> R<V> {
    let unique = same_name(v.iter().map(|s| &s.labels));
    let out = vector_scalar(op, v, x, swap, return_bool)?;
    if !unique {
        check_dup(&out)?;
    }
    Ok(V::Vector(out))
}

fn vector_scalar(op: u16, v: Vec<S>, s: f64, swap: bool, return_bool: bool) -> R<Vec<S>> {
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        if let Some(h) = &e.h {
            // Histograms scale by a scalar; other operations on them yield nothing.
            let factor = match (op, swap) {
                (T_MUL, _) => s,
                (T_DIV, false) => 1.0 / s,
                _ => continue,
            };
            let mut h = (**h).clone();
            h.scale(factor);
            e.h = Some(Arc::new(h));
            e.labels = drop_name(&e.labels);
            out.push(e);
            continue;
        }
        let (l, r) = if swap { (s, e.f) } else { (e.f, s) };
        let (mut value, _, mut keep) = elem_binop(op, l, r, None, None)?;
        if is_comparison(op) && swap {
            value = r;
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            e.f = value;
            if drops_name(op) || return_bool {
                e.labels = drop_name(&e.labels);
            }
            out.push(e);
        }
    }
    Ok(out)
}

fn signature(l: &Labels, on: bool, names: &[String], buf: &mut String) {
    buf.clear();
    for (n, v) in l {
        let listed = names.iter().any(|x| x == n);
        let keep = if on {
            listed
        } else {
            !listed && n != "__name__"
        };
        if keep {
            buf.push_str(n);
            buf.push('\u{ff}');
            buf.push_str(v);
            buf.push('\u{ff}');
        }
    }
}

fn set_op(op: u16, l: Vec<S>, r: Vec<S>, on: bool, names: &[String]) -> Vec<S> {
    let mut buf = String::new();
    match op {
        T_LAND | T_LUNLESS => {
            if op == T_LAND && (l.is_empty() || r.is_empty()) {
                return Vec::new();
            }
            if op == T_LUNLESS && (l.is_empty() || r.is_empty()) {
                return l;
            }
            let mut sigs = std::collections::HashSet::new();
            for s in &r {
                signature(&s.labels, on, names, &mut buf);
                sigs.insert(buf.clone());
            }
            l.into_iter()
                .filter(|s| {
                    signature(&s.labels, on, names, &mut buf);
                    sigs.contains(&buf) == (op == T_LAND)
                })
                .collect()
        }
        _ => {
            if l.is_empty() {
                return r;
            }
            if r.is_empty() {
                return l;
            }
            let mut sigs = std::collections::HashSet::new();
            for s in &l {
                signature(&s.labels, on, names, &mut buf);
                sigs.insert(buf.clone());
            }
            let mut out = l;
            for s in r {
                signature(&s.labels, on, names, &mut buf);
                if !sigs.contains(&buf) {
                    out.push(s);
                }
            }
            out
        }
    }
}

fn match_labels(l: &Labels, on: bool, names: &[String]) -> Labels {
    l.iter()
        .filter(|(n, _)| {
            let listed = names.iter().any(|x| x == n);
            if on {
                listed
            } else {
                !listed && n != "__name__"
            }
        })
        .cloned()
        .collect()
}

/// Match signatures and result label sets of one binary operation, kept across steps: a label
/// set (by address, kept alive here) maps to its signature id once, and a pair of operands to
/// its result labels once, as Prometheus' resultMetric cache.
#[derive(Default)]
struct BinopCache {
    sig_by_addr: PtrMap<(L, usize)>,
    sig_ids: HashMap<String, usize>,
    results: HashMap<(usize, usize), (L, L, L), std::hash::BuildHasherDefault<PtrHash>>,
}

impl BinopCache {
    fn sig(&mut self, l: &L, on: bool, names: &[String], buf: &mut String) -> usize {
        if let Some((_, id)) = self.sig_by_addr.get(&addr(l)) {
            return *id;
        }
        signature(l, on, names, buf);
        let n = self.sig_ids.len();
        let id = match self.sig_ids.get(buf.as_str()) {
            Some(&id) => id,
            None => {
                self.sig_ids.insert(buf.clone(), n);
                n
            }
        };
        self.sig_by_addr.insert(addr(l), (l.clone(), id));
        id
    }
}

#[allow(clippy::too_many_arguments)]
fn vector_binop(
    cache: &mut BinopCache,
    op: u16,
    lhs: Vec<S>,
    rhs: Vec<S>,
    on: bool,
    names: &[String],
    card: &VectorMatchCardinality,
    return_bool: bool,
) -> R<Vec<S>> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let (one_to_many, include): (bool, &[String]) = match card {
        VectorMatchCardinality::OneToOne => (false, &[]),
        VectorMatchCardinality::ManyToOne(l) => (false, &l.labels),
        VectorMatchCardinality::OneToMany(l) => (true, &l.labels),
        VectorMatchCardinality::ManyToMany => {
            return exec("many-to-many only allowed for set operators");
        }
    };
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let (lhs, rhs) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    // Label sets new at every step (after another binary operation, say) would grow the
    // cache without end: it starts over between steps when large.
    if cache.sig_by_addr.len() > GROUP_CACHE_MAX
        || cache.sig_ids.len() > GROUP_CACHE_MAX
        || cache.results.len() > GROUP_CACHE_MAX
    {
        *cache = BinopCache::default();
    }
    let mut buf = String::new();
    let rsig: Vec<usize> = rhs
        .iter()
        .map(|s| cache.sig(&s.labels, on, names, &mut buf))
        .collect();
    let lsig: Vec<usize> = lhs
        .iter()
        .map(|s| cache.sig(&s.labels, on, names, &mut buf))
        .collect();
    let nsig = cache.sig_ids.len();
    let mut right = vec![usize::MAX; nsig];
    for (i, &id) in rsig.iter().enumerate() {
        if right[id] != usize::MAX {
            let rs = &rhs[i];
            let side = if one_to_many { "left" } else { "right" };
            return exec(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                labels_string(&match_labels(&rs.labels, on, names)),
                labels_string(&rs.labels),
                labels_string(&rhs[right[id]].labels),
            ));
        }
        right[id] = i;
    }
    let mut matched_once = vec![false; if one_to_one { nsig } else { 0 }];
    // Many-to-one: the first result of each match group, and the results of groups with
    // more than one (only those are hashed).
    let mut first: Vec<Option<L>> = vec![None; if one_to_one { 0 } else { nsig }];
    let mut more: std::collections::HashSet<(usize, L)> = Default::default();
    let mut in_more = vec![false; first.len()];
    let mut out = Vec::new();
    for (li, ls) in lhs.iter().enumerate() {
        let id = lsig[li];
        let ri = right[id];
        if ri == usize::MAX {
            continue;
        }
        let rs = &rhs[ri];
        let (vl, vr, hl, hr) = if one_to_many {
            (rs.f, ls.f, rs.h.as_ref(), ls.h.as_ref())
        } else {
            (ls.f, rs.f, ls.h.as_ref(), rs.h.as_ref())
        };
        let (mut value, h, keep) = elem_binop(op, vl, vr, hl, hr)?;
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let pair = (addr(&ls.labels), addr(&rs.labels));
        let metric = match cache.results.get(&pair) {
            Some((a, b, m)) if Arc::ptr_eq(a, &ls.labels) && Arc::ptr_eq(b, &rs.labels) => {
                m.clone()
            }
            _ => {
                let m = result_metric(
                    op,
                    &ls.labels,
                    &rs.labels,
                    on,
                    names,
                    one_to_one,
                    include,
                    return_bool,
                );
                cache
                    .results
                    .insert(pair, (ls.labels.clone(), rs.labels.clone(), m.clone()));
                m
            }
        };
        if one_to_one {
            if matched_once[id] {
                return exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                );
            }
            matched_once[id] = true;
        } else {
            let unique = match &first[id] {
                None => {
                    first[id] = Some(metric.clone());
                    true
                }
                Some(f) => {
                    if !in_more[id] {
                        in_more[id] = true;
                        more.insert((id, f.clone()));
                    }
                    more.insert((id, metric.clone()))
                }
            };
            if !unique {
                return exec(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                );
            }
        }
        if hl.is_some() != hr.is_some() {
            continue;
        }
        if hl.is_some() && h.is_none() && !return_bool {
            continue;
        }
        out.push(S {
            labels: metric,
            f: value,
            h,
        });
    }
    Ok(out)
}

/// resultMetric of engine.go: the many side's labels, without the name for arithmetic and
/// `bool`, reduced to the matching labels for one-to-one `on`, without them for `ignoring`,
/// with `group_x` labels copied from the one side.
#[allow(clippy::too_many_arguments)]
fn result_metric(
    op: u16,
    ls: &Labels,
    rs: &Labels,
    on: bool,
    names: &[String],
    one_to_one: bool,
    include: &[String],
    return_bool: bool,
) -> L {
    let mut metric: Labels = ls.clone();
    if drops_name(op) || return_bool {
        metric.retain(|(n, _)| n != "__name__");
    }
    if one_to_one {
        metric.retain(|(n, _)| {
            let listed = names.iter().any(|x| x == n);
            if on { listed } else { !listed }
        });
    }
    for n in include {
        let v = get(rs, n).to_string();
        set_label(&mut metric, n, &v);
    }
    Arc::new(metric)
}

/// extrapolatedRate of functions.go: the increase over the samples, corrected for counter
/// resets, extrapolated towards the range boundaries (at most half a sample interval beyond
/// the samples, never below zero for counters).
fn extrapolated_rate(
    pts: &[Pt],
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<(f64, Option<Hist>)> {
    if pts.len() < 2 {
        return None;
    }
    let range_start = range_end - range_ms;
    let first = &pts[0];
    let last = &pts[pts.len() - 1];
    let mut result = 0.0;
    let mut hist: Option<FloatHistogram> = None;
    if let Some(fh) = &first.h {
        if pts.iter().any(|p| p.h.is_none()) {
            return None;
        }
        let lh = last.h.as_ref().unwrap();
        let mut h = lh.sub(fh);
        if is_counter {
            for w in pts.windows(2) {
                let (prev, cur) = (w[0].h.as_ref().unwrap(), w[1].h.as_ref().unwrap());
                if cur.detect_reset(prev) {
                    h = h.add(prev);
                }
            }
        }
        hist = Some(h);
    } else {
        if pts.iter().any(|p| p.h.is_some()) {
            return None;
        }
        result = last.f - first.f;
        if is_counter {
            let mut prev = first.f;
            for p in &pts[1..] {
                if p.f < prev {
                    result += prev;
                }
                prev = p.f;
            }
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / (pts.len() - 1) as f64;
    if is_counter && hist.is_none() && result > 0.0 && first.f >= 0.0 {
        let to_zero = sampled * (first.f / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    let mut factor = interval / sampled;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    match hist {
        Some(mut h) => {
            h.scale(factor);
            h.counter_reset_hint = crate::CounterResetHint::Gauge;
            Some((0.0, Some(Arc::new(h))))
        }
        None => Some((result * factor, None)),
    }
}

fn instant_value(pts: &[Pt], is_rate: bool) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let last = &pts[pts.len() - 1];
    let prev = &pts[pts.len() - 2];
    if last.h.is_some() || prev.h.is_some() {
        return None;
    }
    let mut v = if is_rate && last.f < prev.f {
        last.f
    } else {
        last.f - prev.f
    };
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

fn linear_regression(pts: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = pts[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in pts.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn float_range_fn(name: &str, p: &[(i64, f64)], scalars: &[f64], t: i64) -> R<Option<f64>> {
    Ok(Some(match name {
        "avg_over_time" => {
            let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
            for &(_, v) in p {
                count += 1.0;
                if mean.is_infinite() {
                    if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                        continue;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        continue;
                    }
                }
                (mean, c) = kahan_inc(v / count - mean / count, mean, c);
            }
            if mean.is_infinite() { mean } else { mean + c }
        }
        "sum_over_time" => {
            let (mut s, mut c) = (0.0, 0.0);
            for &(_, v) in p {
                (s, c) = kahan_inc(v, s, c);
            }
            if f64::is_infinite(s) { s } else { s + c }
        }
        "min_over_time" => p
            .iter()
            .fold(p[0].1, |m, &(_, v)| if v < m || m.is_nan() { v } else { m }),
        "max_over_time" => p
            .iter()
            .fold(p[0].1, |m, &(_, v)| if v > m || m.is_nan() { v } else { m }),
        "stddev_over_time" | "stdvar_over_time" => {
            let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &(_, v) in p {
                count += 1.0;
                let delta = v - (mean + cm);
                (mean, cm) = kahan_inc(delta / count, mean, cm);
                (aux, ca) = kahan_inc(delta * (v - (mean + cm)), aux, ca);
            }
            let var: f64 = (aux + ca) / count;
            if name == "stddev_over_time" {
                var.sqrt()
            } else {
                var
            }
        }
        "quantile_over_time" => {
            let mut vals: Vec<f64> = p.iter().map(|x| x.1).collect();
            quantile(scalars[0], &mut vals)
        }
        "deriv" => {
            if p.len() < 2 {
                return Ok(None);
            }
            linear_regression(p, p[0].0).0
        }
        "predict_linear" => {
            if p.len() < 2 {
                return Ok(None);
            }
            let (slope, intercept) = linear_regression(p, t);
            slope * scalars[0] + intercept
        }
        "double_exponential_smoothing" | "holt_winters" => {
            let (sf, tf) = (scalars[0], scalars[1]);
            if sf <= 0.0 || sf >= 1.0 {
                return exec(format!(
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                ));
            }
            if tf <= 0.0 || tf >= 1.0 {
                return exec(format!(
                    "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                ));
            }
            if p.len() < 2 {
                return Ok(None);
            }
            let (mut s0, mut s1) = (0.0, p[0].1);
            let mut b = p[1].1 - p[0].1;
            for (i, &(_, v)) in p.iter().enumerate().skip(1) {
                let x = sf * v;
                // The trend at the previous point (calcTrendValue).
                b = if i == 1 {
                    b
                } else {
                    tf * (s1 - s0) + (1.0 - tf) * b
                };
                let y = (1.0 - sf) * (s1 + b);
                (s0, s1) = (s1, x + y);
            }
            s1
        }
        "resets" => p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64,
        "changes" => p
            .windows(2)
            .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
            .count() as f64,
        other => return exec(format!("function {other}() is not supported")),
    }))
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn date_fn(name: &str) -> fn(i64) -> f64 {
    match name {
        "minute" => |s| (s.rem_euclid(3600) / 60) as f64,
        "hour" => |s| (s.rem_euclid(86_400) / 3600) as f64,
        "day_of_week" => |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        "day_of_month" => |s| civil(s.div_euclid(86_400)).2 as f64,
        "month" => |s| civil(s.div_euclid(86_400)).1 as f64,
        "year" => |s| civil(s.div_euclid(86_400)).0 as f64,
        "day_of_year" => |s| {
            let (y, _, _) = civil(s.div_euclid(86_400));
            // Days from Jan 1 of that year.
            let jan1 = days_from_civil(y, 1, 1);
            (s.div_euclid(86_400) - jan1 + 1) as f64
        },
        _ => |s| {
            let (y, m, _) = civil(s.div_euclid(86_400));
            match m {
                2 if is_leap(y) => 29.0,
                2 => 28.0,
                4 | 6 | 9 | 11 => 30.0,
                _ => 31.0,
            }
        },
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
