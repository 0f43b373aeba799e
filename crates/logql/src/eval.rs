//! Query evaluation with Loki's semantics (pkg/logql/engine.go, range_vector.go,
//! evaluator.go): log queries read `[start, end)` and return at most `limit` entries in the
//! query's direction; metric queries evaluate at each step `t` of `start, start+step, ..,
//! <= end` over the window `(t - offset - range, t - offset]`. Intermediate results are one
//! value slot per series and step, bounded by `max_points` steps and `max_cells` slots.

use std::collections::HashMap;

use crate::parser::{
    AggOp, BinOp, Conv, Expr, Grouping, LogExpr, LogRange, Matching, RangeOp, SampleExpr, Stage,
};
use crate::pipeline::{Builder, ERROR_LABEL, go_parse_float, label_filter, process};
use crate::{
    Direction, Entry, Error, Labels, LineFilter, LogSource, MatchOp, Sample, Selection, Series,
    Stream, Value, labels_string,
};

/// The query engine and its limits (Loki's defaults).
#[derive(Debug, Clone)]
pub struct Engine {
    /// Loki's `max_entries_limit_per_query` (5000): the largest `limit` a log query may ask.
    pub max_entries: usize,
    /// Loki's `max_query_series` (500): series in a metric query's result.
    pub max_series: usize,
    /// Points per series of a range query (11,000 as in Loki and Prometheus).
    pub max_points: usize,
    /// Series × steps slots of any intermediate result (memory bound: 16 bytes each).
    pub max_cells: usize,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            max_entries: 5000,
            max_series: 500,
            max_points: 11_000,
            max_cells: 20_000_000,
        }
    }
}

pub(crate) fn arith(op: BinOp, a: f64, b: f64) -> Option<f64> {
    let bool_ = |x: bool| Some(if x { 1.0 } else { 0.0 });
    match op {
        BinOp::Add => Some(a + b),
        BinOp::Sub => Some(a - b),
        BinOp::Mul => Some(a * b),
        BinOp::Div => Some(a / b),
        BinOp::Mod => Some(a % b),
        BinOp::Pow => Some(a.powf(b)),
        BinOp::Eq => bool_(a == b),
        BinOp::Ne => bool_(a != b),
        BinOp::Gt => bool_(a > b),
        BinOp::Ge => bool_(a >= b),
        BinOp::Lt => bool_(a < b),
        BinOp::Le => bool_(a <= b),
        BinOp::Or | BinOp::And | BinOp::Unless => None,
    }
}

struct SeriesSteps {
    labels: Labels,
    vals: Vec<Option<f64>>,
}

enum Evaled {
    Scalar(f64),
    Vec(Vec<SeriesSteps>),
}

struct Ctx<'a> {
    src: &'a dyn LogSource,
    steps: &'a [i64],
}

impl Engine {
    /// A range query. Log queries return [`Value::Streams`]; metric queries a
    /// [`Value::Matrix`] (a literal: one series without labels).
    #[allow(clippy::too_many_arguments)]
    pub fn query_range(
        &self,
        src: &dyn LogSource,
        query: &str,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
        limit: usize,
        direction: Direction,
    ) -> Result<Value, Error> {
        let expr = crate::parser::parse(query)?;
        if end_ns < start_ns {
            return Err(Error::Query(
                "end timestamp must not be before start time".into(),
            ));
        }
        match expr {
            Expr::Log(l) => self.log_query(src, &l, start_ns, end_ns, limit, direction),
            Expr::Sample(s) => {
                if step_ns <= 0 {
                    return Err(Error::Query(
                        "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
                    ));
                }
                let n = (end_ns.saturating_sub(start_ns) / step_ns) as u64 + 1;
                if n > self.max_points as u64 {
                    return Err(Error::Limit(
                        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
                    ));
                }
                let steps: Vec<i64> = (0..n as i64).map(|i| start_ns + i * step_ns).collect();
                let ctx = Ctx { src, steps: &steps };
                let out = match self.eval(&ctx, &s)? {
                    Evaled::Scalar(v) => vec![Series {
                        labels: Vec::new(),
                        points: steps.iter().map(|t| (*t, v)).collect(),
                    }],
                    Evaled::Vec(series) => {
                        let mut out: Vec<Series> = series
                            .into_iter()
                            .filter_map(|s| {
                                let points: Vec<(i64, f64)> = s
                                    .vals
                                    .iter()
                                    .zip(&steps)
                                    .filter_map(|(v, t)| v.map(|v| (*t, v)))
                                    .collect();
                                (!points.is_empty()).then_some(Series {
                                    labels: s.labels,
                                    points,
                                })
                            })
                            .collect();
                        out.sort_by(|a, b| a.labels.cmp(&b.labels));
                        out
                    }
                };
                self.check_series(out.len())?;
                Ok(Value::Matrix(out))
            }
        }
    }

    /// An instant query at `t_ns`: a [`Value::Vector`] or, for a literal, a
    /// [`Value::Scalar`]. Log queries are refused as Loki refuses them.
    pub fn query_instant(
        &self,
        src: &dyn LogSource,
        query: &str,
        t_ns: i64,
        limit: usize,
        direction: Direction,
    ) -> Result<Value, Error> {
        let _ = (limit, direction);
        let expr = crate::parser::parse(query)?;
        let s = match expr {
            Expr::Log(_) => {
                return Err(Error::Query(
                    "log queries are not supported as an instant query type, please change your query to a range query type".into(),
                ));
            }
            Expr::Sample(s) => s,
        };
        let steps = [t_ns];
        let ctx = Ctx { src, steps: &steps };
        match self.eval(&ctx, &s)? {
            Evaled::Scalar(v) => Ok(Value::Scalar(t_ns, v)),
            Evaled::Vec(series) => {
                let mut out: Vec<Sample> = series
                    .into_iter()
                    .filter_map(|s| {
                        s.vals[0].map(|v| Sample {
                            labels: s.labels,
                            ts_ns: t_ns,
                            value: v,
                        })
                    })
                    .collect();
                match &s {
                    SampleExpr::Agg {
                        op: AggOp::Sort, ..
                    } => out.sort_by(|a, b| a.value.total_cmp(&b.value)),
                    SampleExpr::Agg {
                        op: AggOp::SortDesc,
                        ..
                    } => out.sort_by(|a, b| b.value.total_cmp(&a.value)),
                    SampleExpr::Agg {
                        op: AggOp::Topk, ..
                    } => out.sort_by(|a, b| b.value.total_cmp(&a.value)),
                    SampleExpr::Agg {
                        op: AggOp::Bottomk, ..
                    } => out.sort_by(|a, b| a.value.total_cmp(&b.value)),
                    _ => out.sort_by(|a, b| a.labels.cmp(&b.labels)),
                }
                self.check_series(out.len())?;
                Ok(Value::Vector(out))
            }
        }
    }

    fn check_series(&self, n: usize) -> Result<(), Error> {
        if n > self.max_series {
            return Err(Error::Limit(format!(
                "maximum of series ({}) reached for a single query",
                self.max_series
            )));
        }
        Ok(())
    }

    fn check_cells(&self, series: usize, steps: usize) -> Result<(), Error> {
        if series.saturating_mul(steps) > self.max_cells {
            return Err(Error::Limit(format!(
                "query too large: {series} series over {steps} steps exceed the engine's bound of {} points; add filters, aggregate, or use a larger step",
                self.max_cells
            )));
        }
        Ok(())
    }

    // ---- log queries ----

    fn log_query(
        &self,
        src: &dyn LogSource,
        l: &LogExpr,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        direction: Direction,
    ) -> Result<Value, Error> {
        if limit > self.max_entries {
            return Err(Error::Limit(format!(
                "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {})",
                self.max_entries
            )));
        }
        let filters = pushdown_filters(&l.stages);
        let equals = pushdown_label_equals(&l.stages);
        let only_filters = l.stages.len() == filters.len();
        let sel = Selection {
            matchers: &l.matchers,
            start_ns,
            end_ns,
            line_filters: &filters,
            direction,
            limit: only_filters.then_some(limit),
            metadata: None,
            label_equals: &equals,
        };
        let streams = src.select(&sel).map_err(Error::Source)?;
        let mut keys: HashMap<Labels, usize> = HashMap::new();
        let mut key_labels: Vec<Labels> = Vec::new();
        // (ts, stream key, line); at most `limit` per source stream: no more can be in the
        // overall first `limit`.
        let mut picked: Vec<(i64, usize, String)> = Vec::new();
        let mut b = Builder::default();
        for st in &streams {
            if !l.matchers.iter().all(|m| m.matches_labels(&st.labels)) {
                continue;
            }
            let order = entry_order(&st.entries, direction);
            let mut stream_key: Option<usize> = None;
            let mut taken = 0;
            for &i in &order {
                if taken >= limit {
                    break;
                }
                let e = &st.entries[i];
                if e.ts_ns < start_ns || e.ts_ns >= end_ns {
                    continue;
                }
                let Some(line) =
                    process(&l.stages, e.ts_ns, &e.line, &st.labels, &e.metadata, &mut b)
                else {
                    continue;
                };
                let k = if b.changed() {
                    intern(&mut keys, &mut key_labels, b.labels(&st.labels))
                } else {
                    *stream_key.get_or_insert_with(|| {
                        intern(&mut keys, &mut key_labels, st.labels.clone())
                    })
                };
                picked.push((e.ts_ns, k, line.into_owned()));
                taken += 1;
            }
        }
        match direction {
            Direction::Forward => picked.sort_by_key(|p| p.0),
            Direction::Backward => picked.sort_by_key(|p| std::cmp::Reverse(p.0)),
        }
        picked.truncate(limit);
        let mut out: Vec<Stream> = key_labels
            .into_iter()
            .map(|labels| Stream {
                labels,
                entries: Vec::new(),
            })
            .collect();
        for (ts, k, line) in picked {
            out[k].entries.push(Entry {
                ts_ns: ts,
                line: line.into(),
                metadata: Vec::new(),
            });
        }
        out.retain(|s| !s.entries.is_empty());
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Streams(out))
    }

    // ---- metric queries ----

    fn eval(&self, ctx: &Ctx<'_>, e: &SampleExpr) -> Result<Evaled, Error> {
        match e {
            SampleExpr::Literal(v) => Ok(Evaled::Scalar(*v)),
            SampleExpr::Vector(v) => Ok(Evaled::Vec(vec![SeriesSteps {
                labels: Vec::new(),
                vals: vec![Some(*v); ctx.steps.len()],
            }])),
            SampleExpr::Range {
                op,
                param,
                range,
                grouping,
            } => self.range_agg(ctx, *op, *param, range, grouping.as_ref(), None),
            SampleExpr::Agg {
                op,
                param,
                inner,
                grouping,
            } => {
                // sum is linear: `sum by (g) (count_over_time(..))` may key the range
                // aggregation's series by g directly (as Loki pushes it down), so lines with
                // unique parsed labels do not each make a series.
                let all = Grouping {
                    without: false,
                    labels: Vec::new(),
                };
                let pushed = match (op, inner.as_ref()) {
                    (
                        AggOp::Sum,
                        SampleExpr::Range {
                            op: rop,
                            param: rparam,
                            range,
                            grouping: None,
                        },
                    ) if range.unwrap.is_none() && *rop != RangeOp::Absent => {
                        Some(self.range_agg(
                            ctx,
                            *rop,
                            *rparam,
                            range,
                            None,
                            Some(grouping.as_ref().unwrap_or(&all)),
                        )?)
                    }
                    _ => None,
                };
                let inner = match pushed.map_or_else(|| self.eval(ctx, inner), Ok)? {
                    Evaled::Vec(v) => v,
                    Evaled::Scalar(_) => {
                        return Err(Error::Query(
                            "vector aggregations need a vector: the parameter is a scalar".into(),
                        ));
                    }
                };
                Ok(Evaled::Vec(vector_agg(
                    *op,
                    *param,
                    inner,
                    grouping.as_ref(),
                    ctx.steps.len(),
                )))
            }
            SampleExpr::LabelReplace {
                inner,
                dst,
                replacement,
                src,
                re,
            } => {
                let Evaled::Vec(v) = self.eval(ctx, inner)? else {
                    return Err(Error::Query(
                        "label_replace needs a vector: the parameter is a scalar".into(),
                    ));
                };
                label_replace(v, dst, replacement, src, re, ctx.steps.len()).map(Evaled::Vec)
            }
            SampleExpr::Binary {
                op,
                return_bool,
                matching,
                lhs,
                rhs,
            } => {
                let l = self.eval(ctx, lhs)?;
                let r = self.eval(ctx, rhs)?;
                binary(*op, *return_bool, matching.as_ref(), l, r, ctx.steps.len())
            }
        }
    }

    fn range_agg(
        &self,
        ctx: &Ctx<'_>,
        op: RangeOp,
        param: Option<f64>,
        r: &LogRange,
        grouping: Option<&Grouping>,
        reduce: Option<&Grouping>,
    ) -> Result<Evaled, Error> {
        let steps = ctx.steps;
        let first = steps[0].saturating_sub(r.offset_ns);
        let last = steps[steps.len() - 1].saturating_sub(r.offset_ns);
        let filters = pushdown_filters(&r.log.stages);
        let equals = pushdown_label_equals(&r.log.stages);
        // With nothing but line filters, a series pushed down to `sum by (…)` keeps only
        // the grouping labels: structured metadata under other names cannot matter.
        let metadata = match reduce {
            Some(g) if !g.without && r.log.stages.len() == filters.len() => Some(&g.labels[..]),
            _ => None,
        };
        let sel = Selection {
            matchers: &r.log.matchers,
            start_ns: first.saturating_sub(r.range_ns).saturating_add(1),
            end_ns: last.saturating_add(1),
            line_filters: &filters,
            direction: Direction::Forward,
            limit: None,
            metadata,
            label_equals: &equals,
        };
        let lo_all = sel.start_ns;
        let hi_all = last;
        let streams = ctx.src.select(&sel).map_err(Error::Source)?;
        let mut keys: HashMap<Labels, usize> = HashMap::new();
        let mut key_labels: Vec<Labels> = Vec::new();
        let mut samples: Vec<Vec<(i64, f64)>> = Vec::new();
        // Counts and byte sums (no unwrap) stream into per-step difference arrays: memory is
        // series x steps, not one sample per log line.
        let streaming = r.unwrap.is_none() && op != RangeOp::Absent;
        let nsteps = steps.len();
        let mut diff: Vec<Vec<(i64, i64)>> = Vec::new();
        let mut b = Builder::default();
        for st in &streams {
            if !r.log.matchers.iter().all(|m| m.matches_labels(&st.labels)) {
                continue;
            }
            let mut stream_key: Option<usize> = None;
            for e in &st.entries {
                if e.ts_ns < lo_all || e.ts_ns > hi_all {
                    continue;
                }
                let Some(line) = process(
                    &r.log.stages,
                    e.ts_ns,
                    &e.line,
                    &st.labels,
                    &e.metadata,
                    &mut b,
                ) else {
                    continue;
                };
                let (value, k) = match &r.unwrap {
                    None => {
                        let v = match op {
                            RangeOp::Bytes | RangeOp::BytesRate => line.len() as f64,
                            _ => 1.0,
                        };
                        let k = if !b.changed() {
                            *stream_key.get_or_insert_with(|| {
                                let l = match reduce {
                                    Some(g) => group_key(&st.labels, Some(g)),
                                    None => st.labels.clone(),
                                };
                                intern(&mut keys, &mut key_labels, l)
                            })
                        } else {
                            // Errors keep every label so the pipeline error names the series.
                            let l = match reduce {
                                Some(g) if !b.has_err() => {
                                    b.grouped(&st.labels, &g.labels, g.without)
                                }
                                _ => b.labels(&st.labels),
                            };
                            intern(&mut keys, &mut key_labels, l)
                        };
                        (v, k)
                    }
                    Some(u) => {
                        let raw = b.get(&st.labels, &u.name).unwrap_or("").to_string();
                        let mut v = 0.0;
                        if raw.is_empty() {
                            set_sample_err(&mut b, "empty value".into());
                        } else {
                            let conv = match u.conv {
                                Conv::Float => go_parse_float(&raw),
                                Conv::Duration => crate::lexer::parse_duration(&raw, false)
                                    .map(|ns| ns as f64 / 1e9),
                                Conv::Bytes => crate::lexer::parse_bytes(&raw).map(|b| b as f64),
                            };
                            match conv {
                                Some(x) => v = x,
                                None => set_sample_err(
                                    &mut b,
                                    format!("invalid value {raw:?} for unwrap"),
                                ),
                            }
                        }
                        if !u.post.iter().all(|f| label_filter(f, &st.labels, &mut b)) {
                            continue;
                        }
                        let labels = if b.has_err() {
                            b.labels(&st.labels)
                        } else {
                            match grouping {
                                Some(g) if g.without => {
                                    let mut names = g.labels.clone();
                                    names.push(u.name.clone());
                                    b.grouped(&st.labels, &names, true)
                                }
                                Some(g) => b.grouped(&st.labels, &g.labels, false),
                                None => b.grouped(&st.labels, std::slice::from_ref(&u.name), true),
                            }
                        };
                        (v, intern(&mut keys, &mut key_labels, labels))
                    }
                };
                if streaming {
                    if diff.len() <= k {
                        self.check_cells(k + 1, nsteps)?;
                        diff.resize_with(k + 1, || vec![(0, 0); nsteps + 1]);
                    }
                    // Steps whose window (t - off - range, t - off] holds ts.
                    let from = e.ts_ns.saturating_add(r.offset_ns);
                    let lo = steps.partition_point(|t| *t < from);
                    let hi = steps.partition_point(|t| *t < from.saturating_add(r.range_ns));
                    if lo < hi {
                        let d = &mut diff[k];
                        d[lo].0 += 1;
                        d[lo].1 += value as i64;
                        d[hi].0 -= 1;
                        d[hi].1 -= value as i64;
                    }
                    continue;
                }
                if samples.len() <= k {
                    samples.resize_with(k + 1, Vec::new);
                }
                samples[k].push((e.ts_ns, value));
            }
        }
        // A key exists only once a sample was taken for it.
        for labels in &key_labels {
            if let Some(err) = crate::label_value(labels, ERROR_LABEL) {
                return Err(Error::Query(format!(
                    "pipeline error: '{err}' for series: '{}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"{err}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
                    labels_string(labels)
                )));
            }
        }
        let range_s = r.range_ns as f64 / 1e9;
        if op == RangeOp::Absent {
            let mut vals = vec![Some(1.0); steps.len()];
            for s in &mut samples {
                s.sort_by_key(|p| p.0);
                for (i, t) in steps.iter().enumerate() {
                    let w = window(s, t.saturating_sub(r.offset_ns), r.range_ns);
                    if !w.is_empty() {
                        vals[i] = None;
                    }
                }
            }
            let mut labels: Labels = Vec::new();
            for m in &r.log.matchers {
                if m.op == MatchOp::Equal && !labels.iter().any(|(n, _)| *n == m.name) {
                    labels.push((m.name.clone(), m.value.clone()));
                }
            }
            labels.sort();
            return Ok(Evaled::Vec(vec![SeriesSteps { labels, vals }]));
        }
        self.check_cells(key_labels.len(), steps.len())?;
        if streaming {
            let mut out = Vec::with_capacity(key_labels.len());
            for (labels, d) in key_labels.into_iter().zip(diff) {
                let (mut n, mut bytes) = (0i64, 0i64);
                let vals = d[..nsteps]
                    .iter()
                    .map(|(dn, db)| {
                        n += dn;
                        bytes += db;
                        (n > 0).then(|| match op {
                            RangeOp::Count => n as f64,
                            RangeOp::Rate => n as f64 / range_s,
                            RangeOp::Bytes => bytes as f64,
                            _ => bytes as f64 / range_s,
                        })
                    })
                    .collect();
                out.push(SeriesSteps { labels, vals });
            }
            return Ok(Evaled::Vec(out));
        }
        let mut out = Vec::with_capacity(key_labels.len());
        let mut scratch: Vec<f64> = Vec::new();
        for (k, labels) in key_labels.into_iter().enumerate() {
            let Some(s) = samples.get_mut(k) else {
                continue;
            };
            s.sort_by_key(|p| p.0);
            // Prefix sums make count/sum/rate/avg O(1) per step.
            let mut prefix = Vec::with_capacity(s.len() + 1);
            prefix.push(0.0f64);
            let mut acc = 0.0;
            for (_, v) in s.iter() {
                acc += v;
                prefix.push(acc);
            }
            let mut vals = Vec::with_capacity(steps.len());
            for t in steps {
                let hi = t.saturating_sub(r.offset_ns);
                let a = s.partition_point(|p| p.0 <= hi.saturating_sub(r.range_ns));
                let z = s.partition_point(|p| p.0 <= hi);
                if a >= z {
                    vals.push(None);
                    continue;
                }
                let w = &s[a..z];
                let n = w.len() as f64;
                let sum = prefix[z] - prefix[a];
                let v = match op {
                    RangeOp::Count => n,
                    // Unwrapped values are summed directly (prefix differences would add
                    // rounding error); counts and byte sizes are exact integers either way.
                    RangeOp::Rate if r.unwrap.is_some() => {
                        w.iter().map(|p| p.1).sum::<f64>() / range_s
                    }
                    RangeOp::Rate => n / range_s,
                    RangeOp::Sum => w.iter().map(|p| p.1).sum(),
                    RangeOp::Bytes => sum,
                    RangeOp::BytesRate => sum / range_s,
                    RangeOp::Avg => {
                        // Mean computed incrementally as Prometheus does, for precision.
                        let mut mean = 0.0;
                        for (i, p) in w.iter().enumerate() {
                            mean += (p.1 - mean) / (i as f64 + 1.0);
                        }
                        mean
                    }
                    RangeOp::Min => w
                        .iter()
                        .map(|p| p.1)
                        .fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
                    RangeOp::Max => w
                        .iter()
                        .map(|p| p.1)
                        .fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
                    RangeOp::Stddev | RangeOp::Stdvar => {
                        let (mut count, mut mean, mut m2) = (0.0, 0.0, 0.0);
                        for p in w {
                            count += 1.0;
                            let d = p.1 - mean;
                            mean += d / count;
                            m2 += d * (p.1 - mean);
                        }
                        let var = m2 / count;
                        if op == RangeOp::Stddev {
                            var.sqrt()
                        } else {
                            var
                        }
                    }
                    RangeOp::Quantile => {
                        scratch.clear();
                        scratch.extend(w.iter().map(|p| p.1));
                        quantile(param.unwrap_or(0.0), &mut scratch)
                    }
                    RangeOp::First => w[0].1,
                    RangeOp::Last => w[w.len() - 1].1,
                    RangeOp::Absent => unreachable!("handled above"),
                };
                vals.push(Some(v));
            }
            out.push(SeriesSteps { labels, vals });
        }
        Ok(Evaled::Vec(out))
    }
}

fn set_sample_err(b: &mut Builder, details: String) {
    if !b.has_err() {
        b.set(ERROR_LABEL, "SampleExtractionErr");
        b.set(crate::pipeline::ERROR_DETAILS_LABEL, &details);
    }
}

fn window(s: &[(i64, f64)], hi: i64, range: i64) -> &[(i64, f64)] {
    let a = s.partition_point(|p| p.0 <= hi.saturating_sub(range));
    let z = s.partition_point(|p| p.0 <= hi);
    if a >= z { &[] } else { &s[a..z] }
}

/// Prometheus' quantile: linear interpolation between the closest ranks; q outside [0, 1]
/// gives -Inf/+Inf.
fn quantile(q: f64, v: &mut [f64]) -> f64 {
    if v.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lo = rank.floor().max(0.0) as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let w = rank - rank.floor();
    v[lo] * (1.0 - w) + v[hi] * w
}

fn intern(keys: &mut HashMap<Labels, usize>, all: &mut Vec<Labels>, l: Labels) -> usize {
    if let Some(&k) = keys.get(&l) {
        return k;
    }
    let k = all.len();
    all.push(l.clone());
    keys.insert(l, k);
    k
}

/// Entry indices in `direction` order (entries are usually sorted ascending already).
fn entry_order(entries: &[Entry], d: Direction) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    if !entries.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns) {
        idx.sort_by_key(|&i| entries[i].ts_ns);
    }
    if d == Direction::Backward {
        idx.reverse();
    }
    idx
}

/// The line filters that see the original line: every one before the first line_format.
fn pushdown_filters(stages: &[Stage]) -> Vec<LineFilter> {
    let mut out = Vec::new();
    for s in stages {
        match s {
            Stage::Line(f) => out.push(f.clone()),
            Stage::LineFormat(_) => break,
            _ => {}
        }
    }
    out
}

/// The `name="value"` label filters of a pipeline that hold for every entry it passes: those
/// before the first stage that can add or change labels (a parser, a format), alone or
/// joined by `and`.
fn pushdown_label_equals(stages: &[Stage]) -> Vec<(String, String)> {
    use crate::parser::LabelFilter;
    fn collect(f: &LabelFilter, out: &mut Vec<(String, String)>) {
        match f {
            LabelFilter::Str(m) if m.op == labels::MatchOp::Equal && !m.value.is_empty() => {
                out.push((m.name.clone(), m.value.clone()));
            }
            LabelFilter::And(a, b) => {
                collect(a, out);
                collect(b, out);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for s in stages {
        match s {
            Stage::Line(_) => {}
            Stage::Filter(f) => collect(f, &mut out),
            _ => break,
        }
    }
    out
}

fn group_key(labels: &Labels, g: Option<&Grouping>) -> Labels {
    match g {
        None => Vec::new(),
        Some(g) => labels
            .iter()
            .filter(|(n, _)| g.labels.contains(n) != g.without)
            .cloned()
            .collect(),
    }
}

// Steps index several parallel per-series arrays at once.
#[allow(clippy::needless_range_loop)]
fn vector_agg(
    op: AggOp,
    param: Option<f64>,
    inner: Vec<SeriesSteps>,
    g: Option<&Grouping>,
    nsteps: usize,
) -> Vec<SeriesSteps> {
    match op {
        AggOp::Sort | AggOp::SortDesc => return inner,
        AggOp::Topk | AggOp::Bottomk => {
            let k = param.unwrap_or(1.0) as usize;
            let groups: Vec<Labels> = inner.iter().map(|s| group_key(&s.labels, g)).collect();
            let mut keep = vec![vec![false; nsteps]; inner.len()];
            let mut by_group: HashMap<&Labels, Vec<usize>> = HashMap::new();
            for (i, gk) in groups.iter().enumerate() {
                by_group.entry(gk).or_default().push(i);
            }
            for members in by_group.values() {
                let mut cand: Vec<(f64, usize)> = Vec::with_capacity(members.len());
                for step in 0..nsteps {
                    cand.clear();
                    cand.extend(
                        members
                            .iter()
                            .filter_map(|&i| inner[i].vals[step].map(|v| (v, i))),
                    );
                    if op == AggOp::Topk {
                        cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    } else {
                        cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    }
                    for &(_, i) in cand.iter().take(k) {
                        keep[i][step] = true;
                    }
                }
            }
            return inner
                .into_iter()
                .zip(keep)
                .map(|(mut s, k)| {
                    for (v, keep) in s.vals.iter_mut().zip(k) {
                        if !keep {
                            *v = None;
                        }
                    }
                    s
                })
                .collect();
        }
        _ => {}
    }
    #[derive(Clone, Copy)]
    struct Acc {
        n: f64,
        sum: f64,
        min: f64,
        max: f64,
        mean: f64,
        m2: f64,
    }
    let zero = Acc {
        n: 0.0,
        sum: 0.0,
        min: f64::NAN,
        max: f64::NAN,
        mean: 0.0,
        m2: 0.0,
    };
    let mut keys: HashMap<Labels, usize> = HashMap::new();
    let mut labels: Vec<Labels> = Vec::new();
    let mut accs: Vec<Vec<Acc>> = Vec::new();
    for s in &inner {
        let k = intern(&mut keys, &mut labels, group_key(&s.labels, g));
        if accs.len() <= k {
            accs.push(vec![zero; nsteps]);
        }
        for (step, v) in s.vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            let a = &mut accs[k][step];
            a.n += 1.0;
            a.sum += v;
            if a.min.is_nan() || v < a.min {
                a.min = v;
            }
            if a.max.is_nan() || v > a.max {
                a.max = v;
            }
            let d = v - a.mean;
            a.mean += d / a.n;
            a.m2 += d * (v - a.mean);
        }
    }
    labels
        .into_iter()
        .zip(accs)
        .map(|(labels, accs)| SeriesSteps {
            labels,
            vals: accs
                .iter()
                .map(|a| {
                    (a.n > 0.0).then(|| match op {
                        AggOp::Sum => a.sum,
                        AggOp::Avg => a.mean,
                        AggOp::Min => a.min,
                        AggOp::Max => a.max,
                        AggOp::Count => a.n,
                        AggOp::Stddev => (a.m2 / a.n).sqrt(),
                        AggOp::Stdvar => a.m2 / a.n,
                        _ => unreachable!("handled above"),
                    })
                })
                .collect(),
        })
        .collect()
}

fn signature(labels: &Labels, m: Option<&Matching>) -> Labels {
    match m {
        None => labels.clone(),
        Some(m) => labels
            .iter()
            .filter(|(n, _)| m.labels.contains(n) == m.on)
            .cloned()
            .collect(),
    }
}

#[allow(clippy::needless_range_loop)]
fn binary(
    op: BinOp,
    return_bool: bool,
    m: Option<&Matching>,
    l: Evaled,
    r: Evaled,
    nsteps: usize,
) -> Result<Evaled, Error> {
    let apply = |a: f64, b: f64, keep: f64| -> Option<f64> {
        let v = arith(op, a, b)?;
        if op.is_comparison() && !return_bool {
            (v == 1.0).then_some(keep)
        } else {
            Some(v)
        }
    };
    match (l, r) {
        (Evaled::Scalar(a), Evaled::Scalar(b)) => {
            Ok(Evaled::Scalar(arith(op, a, b).unwrap_or(f64::NAN)))
        }
        (Evaled::Vec(mut v), Evaled::Scalar(b)) => {
            for s in &mut v {
                for x in s.vals.iter_mut() {
                    *x = x.and_then(|a| apply(a, b, a));
                }
            }
            Ok(Evaled::Vec(v))
        }
        (Evaled::Scalar(a), Evaled::Vec(mut v)) => {
            for s in &mut v {
                for x in s.vals.iter_mut() {
                    *x = x.and_then(|b| apply(a, b, b));
                }
            }
            Ok(Evaled::Vec(v))
        }
        (Evaled::Vec(lv), Evaled::Vec(rv)) => {
            let lsig: Vec<Labels> = lv.iter().map(|s| signature(&s.labels, m)).collect();
            let rsig: Vec<Labels> = rv.iter().map(|s| signature(&s.labels, m)).collect();
            if op.is_set() {
                let mut out: Vec<SeriesSteps> = Vec::new();
                let mut rmap: HashMap<&Labels, Vec<usize>> = HashMap::new();
                for (i, s) in rsig.iter().enumerate() {
                    rmap.entry(s).or_default().push(i);
                }
                let rhas = |sig: &Labels, step: usize| {
                    rmap.get(sig)
                        .is_some_and(|is| is.iter().any(|&i| rv[i].vals[step].is_some()))
                };
                let mut lmap: HashMap<&Labels, Vec<usize>> = HashMap::new();
                for (i, s) in lsig.iter().enumerate() {
                    lmap.entry(s).or_default().push(i);
                }
                for (i, s) in lv.iter().enumerate() {
                    let vals = (0..nsteps)
                        .map(|step| {
                            let v = s.vals[step]?;
                            let has = rhas(&lsig[i], step);
                            match op {
                                BinOp::And => has.then_some(v),
                                BinOp::Unless => (!has).then_some(v),
                                _ => Some(v),
                            }
                        })
                        .collect();
                    out.push(SeriesSteps {
                        labels: s.labels.clone(),
                        vals,
                    });
                }
                if op == BinOp::Or {
                    for (i, s) in rv.iter().enumerate() {
                        let vals = (0..nsteps)
                            .map(|step| {
                                let v = s.vals[step]?;
                                let lhas = lmap.get(&rsig[i]).is_some_and(|is| {
                                    is.iter().any(|&j| lv[j].vals[step].is_some())
                                });
                                (!lhas).then_some(v)
                            })
                            .collect();
                        out.push(SeriesSteps {
                            labels: s.labels.clone(),
                            vals,
                        });
                    }
                }
                return Ok(Evaled::Vec(out));
            }
            let mut rmap: HashMap<&Labels, Vec<usize>> = HashMap::new();
            for (i, s) in rsig.iter().enumerate() {
                rmap.entry(s).or_default().push(i);
            }
            let mut keys: HashMap<Labels, usize> = HashMap::new();
            let mut labels: Vec<Labels> = Vec::new();
            let mut vals: Vec<Vec<Option<f64>>> = Vec::new();
            for (i, ls) in lv.iter().enumerate() {
                let Some(cands) = rmap.get(&lsig[i]) else {
                    continue;
                };
                let res_labels = match m {
                    Some(mm) if mm.on => lsig[i].clone(),
                    Some(mm) => ls
                        .labels
                        .iter()
                        .filter(|(n, _)| !mm.labels.contains(n))
                        .cloned()
                        .collect(),
                    None => ls.labels.clone(),
                };
                let k = intern(&mut keys, &mut labels, res_labels);
                if vals.len() <= k {
                    vals.push(vec![None; nsteps]);
                }
                for step in 0..nsteps {
                    let Some(a) = ls.vals[step] else { continue };
                    let mut found = None;
                    for &j in cands {
                        if let Some(b) = rv[j].vals[step] {
                            if found.is_some() {
                                return Err(Error::Query(format!(
                                    "found duplicate series for the match group {} on the right hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side",
                                    labels_string(&rsig[j])
                                )));
                            }
                            found = Some(b);
                        }
                    }
                    let Some(b) = found else { continue };
                    if let Some(v) = apply(a, b, a) {
                        if vals[k][step].is_some() {
                            return Err(Error::Query(
                                "vector cannot contain metrics with the same labelset".into(),
                            ));
                        }
                        vals[k][step] = Some(v);
                    }
                }
            }
            Ok(Evaled::Vec(
                labels
                    .into_iter()
                    .zip(vals)
                    .map(|(labels, vals)| SeriesSteps { labels, vals })
                    .collect(),
            ))
        }
    }
}

/// Prometheus' label_replace: when `re` matches the whole `src` value, `dst` becomes the
/// expanded replacement (removed when that is empty); series that end with the same labels
/// must not both have a value at one step.
fn label_replace(
    v: Vec<SeriesSteps>,
    dst: &str,
    replacement: &str,
    src: &str,
    re: &regex::Regex,
    nsteps: usize,
) -> Result<Vec<SeriesSteps>, Error> {
    let mut keys: HashMap<Labels, usize> = HashMap::new();
    let mut labels: Vec<Labels> = Vec::new();
    let mut vals: Vec<Vec<Option<f64>>> = Vec::new();
    for s in v {
        let mut l = s.labels;
        let sv = crate::label_value(&l, src).unwrap_or("").to_string();
        if let Some(c) = re.captures(&sv) {
            let mut out = String::new();
            c.expand(replacement, &mut out);
            l.retain(|(n, _)| n != dst);
            if !out.is_empty() {
                l.push((dst.to_string(), out));
                l.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
        let k = intern(&mut keys, &mut labels, l);
        if vals.len() <= k {
            vals.push(vec![None; nsteps]);
        }
        for (slot, x) in vals[k].iter_mut().zip(s.vals) {
            if x.is_some() {
                if slot.is_some() {
                    return Err(Error::Query(
                        "vector cannot contain metrics with the same labelset".into(),
                    ));
                }
                *slot = x;
            }
        }
    }
    Ok(labels
        .into_iter()
        .zip(vals)
        .map(|(labels, vals)| SeriesSteps { labels, vals })
        .collect())
}
