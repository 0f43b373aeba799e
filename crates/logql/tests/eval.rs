//! LogQL evaluation table: queries over a deterministic in-memory source of generated json
//! and logfmt lines. Each expected result is computed here by direct loops over the
//! generated records (their field values, not by parsing the lines with the engine), with
//! Loki's documented semantics: windows `(t - range, t]`, steps `start..=end`, log queries
//! over `[start, end)`, structured metadata as labels, parsed labels keying streams.

use std::collections::BTreeMap;

use logql::{
    Direction, Engine, Entry, Error, Labels, LogSource, Selection, Stream, Value, labels_string,
};

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

struct Rec {
    ts: i64,
    line: String,
    meta: Labels,
    /// The record's logical fields as generated (what a parser should extract).
    f: BTreeMap<&'static str, String>,
    garbage: bool,
}

struct Gen {
    labels: Labels,
    recs: Vec<Rec>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut v: Labels = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

fn key(pairs: &[(&str, &str)]) -> String {
    labels_string(&labels(pairs))
}

fn generate() -> Vec<Gen> {
    let mut out = Vec::new();
    // A: json lines, one a second; every 17th is not json; every 10th carries a trace_id.
    let mut a = Vec::new();
    for i in 0..120i64 {
        let level = ["info", "info", "info", "warn", "error"][(i % 5) as usize];
        let status = match i % 7 {
            0 => 500,
            1 => 404,
            _ => 200,
        };
        let latency = (i * 13) % 97 + 1;
        let (size, user) = (i * 10, [0, 0, 0, 1, 1, 2, 3][(i % 7) as usize]);
        let msg = format!("order {i} placed");
        let garbage = i % 17 == 16;
        let line = if garbage {
            format!("garbage line {i}")
        } else {
            format!(
                r#"{{"level":"{level}","msg":"{msg}","status":{status},"latency":"{latency}ms","size":{size},"user":{{"id":{user}}}}}"#
            )
        };
        let mut f = BTreeMap::new();
        f.insert("level", level.to_string());
        f.insert("msg", msg);
        f.insert("status", status.to_string());
        f.insert("latency", format!("{latency}ms"));
        f.insert("size", size.to_string());
        f.insert("user_id", user.to_string());
        let meta = if i % 10 == 0 {
            labels(&[("trace_id", &format!("tr{i:03}"))])
        } else {
            Vec::new()
        };
        a.push(Rec {
            ts: T0 + i * S,
            line,
            meta,
            f,
            garbage,
        });
    }
    out.push(Gen {
        labels: labels(&[("app", "shop"), ("env", "prod"), ("format", "json")]),
        recs: a,
    });
    // B: logfmt, every 1.5 s.
    let mut b = Vec::new();
    for i in 0..90i64 {
        let level = ["debug", "info", "warn", "error"][(i % 4) as usize];
        let status = if i % 6 == 0 { 503 } else { 200 };
        let duration = (i * 7) % 50 + 1;
        let bytes = i * 100;
        let line = format!(
            r#"level={level} msg="payment {i} ok" status={status} duration={duration}ms bytes={bytes}"#
        );
        let mut f = BTreeMap::new();
        f.insert("level", level.to_string());
        f.insert("msg", format!("payment {i} ok"));
        f.insert("status", status.to_string());
        f.insert("duration", format!("{duration}ms"));
        f.insert("bytes", bytes.to_string());
        b.push(Rec {
            ts: T0 + i * 1_500_000_000,
            line,
            meta: Vec::new(),
            f,
            garbage: false,
        });
    }
    out.push(Gen {
        labels: labels(&[("app", "shop"), ("env", "dev"), ("format", "logfmt")]),
        recs: b,
    });
    // C: logfmt, every 2 s, half a second off the grid.
    let mut c = Vec::new();
    for i in 0..60i64 {
        let level = if i % 3 == 0 { "error" } else { "info" };
        let user = format!("u{}", i % 3);
        let took = format!("{}.{}s", i % 3, i % 10);
        let line = format!("level={level} user={user} took={took} msg=login");
        let mut f = BTreeMap::new();
        f.insert("level", level.to_string());
        f.insert("user", user);
        f.insert("took", took);
        f.insert("msg", "login".to_string());
        c.push(Rec {
            ts: T0 + i * 2 * S + S / 2,
            line,
            meta: Vec::new(),
            f,
            garbage: false,
        });
    }
    out.push(Gen {
        labels: labels(&[("app", "auth"), ("env", "prod"), ("format", "logfmt")]),
        recs: c,
    });
    out
}

struct Mem(Vec<Stream>);

impl LogSource for Mem {
    fn select(&self, sel: &Selection<'_>) -> Result<Vec<Stream>, String> {
        Ok(self
            .0
            .iter()
            .filter(|s| sel.matchers.iter().all(|m| m.matches_labels(&s.labels)))
            .map(|s| Stream {
                labels: s.labels.clone(),
                entries: s
                    .entries
                    .iter()
                    .filter(|e| e.ts_ns >= sel.start_ns && e.ts_ns < sel.end_ns)
                    // Applying the pushdown filters is optional: do it, the engine re-checks.
                    .filter(|e| sel.line_filters.iter().all(|f| f.matches(&e.line)))
                    .cloned()
                    .collect(),
            })
            .collect())
    }
}

fn source(g: &[Gen]) -> Mem {
    Mem(g
        .iter()
        .map(|s| Stream {
            labels: s.labels.clone(),
            entries: s
                .recs
                .iter()
                .map(|r| Entry {
                    ts_ns: r.ts,
                    line: r.line.as_str().into(),
                    metadata: r.meta.clone(),
                })
                .collect(),
        })
        .collect())
}

fn lab(g: &Gen, k: &str) -> String {
    logql::label_value(&g.labels, k).unwrap_or("").to_string()
}

fn in_win(ts: i64, t: i64, range: i64) -> bool {
    ts > t - range && ts <= t
}

/// Go's time.ParseDuration for the test's own values ("12ms", "1.5s"), in seconds.
fn secs(d: &str) -> f64 {
    if let Some(ms) = d.strip_suffix("ms") {
        ms.parse::<f64>().unwrap() / 1e3
    } else {
        d.strip_suffix('s').unwrap().parse().unwrap()
    }
}

/// Prometheus' documented quantile: linear interpolation at rank q*(n-1).
fn quantile(q: f64, mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = q * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

type Instant = BTreeMap<String, f64>;
type Matrix = BTreeMap<String, Vec<(i64, f64)>>;
type Logs = Vec<(String, Vec<(i64, String)>)>;

enum Expect {
    Instant(i64, Instant),
    Range(i64, i64, i64, Matrix),
    Logs(i64, i64, usize, Direction, Logs),
    Err(Option<i64>, &'static str),
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn run(engine: &Engine, src: &Mem, q: &str, e: &Expect) -> Result<(), String> {
    match e {
        Expect::Instant(t, want) => {
            let got = match engine.query_instant(src, q, *t, 100, Direction::Backward) {
                Ok(Value::Vector(v)) => v
                    .into_iter()
                    .map(|s| (labels_string(&s.labels), s.value))
                    .collect::<Instant>(),
                other => return Err(format!("unexpected {other:?}")),
            };
            if got.len() != want.len()
                || got
                    .iter()
                    .zip(want)
                    .any(|((gk, gv), (wk, wv))| gk != wk || !close(*gv, *wv))
            {
                return Err(format!("got  {got:?}\nwant {want:?}"));
            }
        }
        Expect::Range(start, end, step, want) => {
            let got =
                match engine.query_range(src, q, *start, *end, *step, 100, Direction::Backward) {
                    Ok(Value::Matrix(m)) => m
                        .into_iter()
                        .map(|s| (labels_string(&s.labels), s.points))
                        .collect::<Matrix>(),
                    other => return Err(format!("unexpected {other:?}")),
                };
            let same = got.len() == want.len()
                && got.iter().zip(want).all(|((gk, gp), (wk, wp))| {
                    gk == wk
                        && gp.len() == wp.len()
                        && gp
                            .iter()
                            .zip(wp)
                            .all(|(g, w)| g.0 == w.0 && close(g.1, w.1))
                });
            if !same {
                return Err(format!("got  {got:?}\nwant {want:?}"));
            }
        }
        Expect::Logs(start, end, limit, dir, want) => {
            let got = match engine.query_range(src, q, *start, *end, S, *limit, *dir) {
                Ok(Value::Streams(s)) => s
                    .into_iter()
                    .map(|s| {
                        (
                            labels_string(&s.labels),
                            s.entries
                                .into_iter()
                                .map(|e| (e.ts_ns, e.line.to_string()))
                                .collect(),
                        )
                    })
                    .collect::<Logs>(),
                other => return Err(format!("unexpected {other:?}")),
            };
            if &got != want {
                return Err(format!("got  {got:#?}\nwant {want:#?}"));
            }
        }
        Expect::Err(t, want) => {
            let r = match t {
                Some(t) => engine.query_instant(src, q, *t, 100, Direction::Backward),
                None => engine.query_range(src, q, T0, T0 + 10 * S, S, 100, Direction::Backward),
            };
            match r {
                Err(e) if e.to_string().contains(want) => {}
                other => return Err(format!("want error containing {want:?}, got {other:?}")),
            }
        }
    }
    Ok(())
}

/// Sorts expected streams like the engine (by label set) and orders entries by direction,
/// keeping only the first `limit` entries overall.
fn logs_expect(mut picked: Vec<(Labels, i64, String)>, limit: usize, dir: Direction) -> Logs {
    match dir {
        Direction::Forward => picked.sort_by_key(|p| p.1),
        Direction::Backward => picked.sort_by_key(|p| std::cmp::Reverse(p.1)),
    }
    picked.truncate(limit);
    let mut by: BTreeMap<Labels, Vec<(i64, String)>> = BTreeMap::new();
    for (l, ts, line) in picked {
        by.entry(l).or_default().push((ts, line));
    }
    by.into_iter()
        .map(|(l, e)| (labels_string(&l), e))
        .collect()
}

#[test]
fn logql_evaluation_table() {
    let g = generate();
    let src = source(&g);
    let engine = Engine::default();
    let t = T0 + 100 * S;
    let (a, b, c) = (&g[0], &g[1], &g[2]);
    let shop = [a, b];
    let mut cases: Vec<(&str, Expect)> = Vec::new();

    // 1. Structured metadata keys the series of a bare range aggregation.
    let mut m = Instant::new();
    for r in &a.recs {
        if in_win(r.ts, t, 30 * S) {
            let mut l = a.labels.clone();
            l.extend(r.meta.iter().cloned());
            l.sort();
            *m.entry(labels_string(&l)).or_default() += 1.0;
        }
    }
    cases.push((
        r#"count_over_time({app="shop", env="prod"}[30s])"#,
        Expect::Instant(t, m),
    ));

    // 2. sum of counts over two streams.
    let n = shop
        .iter()
        .flat_map(|s| &s.recs)
        .filter(|r| in_win(r.ts, t, 60 * S))
        .count();
    cases.push((
        r#"sum(count_over_time({app="shop"}[1m]))"#,
        Expect::Instant(t, [(key(&[]), n as f64)].into()),
    ));

    // 3. rate by env.
    let mut m = Instant::new();
    for s in shop {
        let n = s.recs.iter().filter(|r| in_win(r.ts, t, 60 * S)).count();
        m.insert(key(&[("env", &lab(s, "env"))]), n as f64 / 60.0);
    }
    cases.push((
        r#"sum by (env) (rate({app="shop"}[1m]))"#,
        Expect::Instant(t, m),
    ));

    // 4. bytes_over_time by app.
    let mut m = Instant::new();
    for s in [a, c] {
        let n: usize = s
            .recs
            .iter()
            .filter(|r| in_win(r.ts, t, 45 * S))
            .map(|r| r.line.len())
            .sum();
        *m.entry(key(&[("app", &lab(s, "app"))])).or_default() += n as f64;
    }
    cases.push((
        r#"sum by (app) (bytes_over_time({env="prod"}[45s]))"#,
        Expect::Instant(t, m),
    ));

    // 5. bytes_rate.
    let n: usize = [b, c]
        .iter()
        .flat_map(|s| &s.recs)
        .filter(|r| in_win(r.ts, t, 20 * S))
        .map(|r| r.line.len())
        .sum();
    cases.push((
        r#"sum(bytes_rate({format="logfmt"}[20s]))"#,
        Expect::Instant(t, [(key(&[]), n as f64 / 20.0)].into()),
    ));

    // 6. Range query: count by parsed level, errors dropped, steps inclusive of end.
    let (start, end, step) = (T0 + 20 * S, T0 + 110 * S, 10 * S);
    let mut m = Matrix::new();
    let mut ts = start;
    while ts <= end {
        let mut per: BTreeMap<String, f64> = BTreeMap::new();
        for r in &a.recs {
            if !r.garbage && in_win(r.ts, ts, 10 * S) {
                *per.entry(r.f["level"].clone()).or_default() += 1.0;
            }
        }
        for (lvl, v) in per {
            m.entry(key(&[("level", &lvl)])).or_default().push((ts, v));
        }
        ts += step;
    }
    cases.push((
        r#"sum by (level) (count_over_time({format="json"} | json | __error__="" [10s]))"#,
        Expect::Range(start, end, step, m),
    ));

    // 7. A parse error left in a metric query fails it, as Loki does.
    assert!(a.recs.iter().any(|r| r.garbage && in_win(r.ts, t, 60 * S)));
    cases.push((
        r#"sum(count_over_time({format="json"} | json [1m]))"#,
        Expect::Err(Some(t), "pipeline error: 'JSONParserErr' for series"),
    ));

    // 8. numeric label filter after json.
    let mut m = Instant::new();
    for r in &a.recs {
        if !r.garbage && in_win(r.ts, t, 60 * S) && r.f["status"].parse::<i64>().unwrap() >= 500 {
            *m.entry(key(&[("status", &r.f["status"])])).or_default() += 1.0;
        }
    }
    cases.push((
        r#"sum by (status) (count_over_time({format="json"} | json | __error__="" | status >= 500 [1m]))"#,
        Expect::Instant(t, m),
    ));

    // 9. |= line filter.
    let n = shop
        .iter()
        .flat_map(|s| &s.recs)
        .filter(|r| in_win(r.ts, t, 60 * S) && r.line.contains("error"))
        .count();
    cases.push((
        r#"sum(count_over_time({app="shop"} |= "error" [1m]))"#,
        Expect::Instant(t, [(key(&[]), n as f64)].into()),
    ));

    // 10. |~ regex line filter (unanchored): logfmt lines with a 5xx status.
    let n = b
        .recs
        .iter()
        .filter(|r| in_win(r.ts, t, 60 * S) && r.f["status"].starts_with('5'))
        .count();
    cases.push((
        r#"sum(count_over_time({app="shop"} |~ "status=5\\d\\d" [1m]))"#,
        Expect::Instant(t, [(key(&[]), n as f64)].into()),
    ));

    // 11. negative filters chained: no "error", and not "order <n>0 " with two+ digits.
    let mut n = 0;
    for (si, s) in shop.iter().enumerate() {
        for (i, r) in s.recs.iter().enumerate() {
            let order_tens = si == 0 && !r.garbage && i % 10 == 0 && i >= 10;
            if in_win(r.ts, t, 60 * S) && !r.line.contains("error") && !order_tens {
                n += 1;
            }
        }
    }
    cases.push((
        r#"sum(count_over_time({app="shop"} != "error" !~ "order [0-9]+0 " [1m]))"#,
        Expect::Instant(t, [(key(&[]), n as f64)].into()),
    ));

    // 12. logfmt + regex label filter.
    let mut m = Instant::new();
    for r in [b, c].iter().flat_map(|s| &s.recs) {
        let l = &r.f["level"];
        if in_win(r.ts, t, 60 * S) && (l == "error" || l == "warn") {
            *m.entry(key(&[("level", l)])).or_default() += 1.0;
        }
    }
    cases.push((
        r#"sum by (level) (count_over_time({format="logfmt"} | logfmt | level=~"error|warn" [1m]))"#,
        Expect::Instant(t, m),
    ));

    // 13. duration filters with `or`; a missing label fails a duration filter.
    let mut m = Instant::new();
    for s in [b, c] {
        for r in &s.recs {
            let keep = match r.f.get("duration") {
                Some(d) => secs(d) > 0.020,
                None => secs(&r.f["took"]) >= 1.0,
            };
            if in_win(r.ts, t, 60 * S) && keep {
                *m.entry(key(&[("app", &lab(s, "app"))])).or_default() += 1.0;
            }
        }
    }
    cases.push((
        r#"sum by (app) (count_over_time({format="logfmt"} | logfmt | duration > 20ms or took >= 1s [1m]))"#,
        Expect::Instant(t, m),
    ));

    // 14. byte-size filter (5KB = 5000 bytes, go-humanize).
    let n = b
        .recs
        .iter()
        .filter(|r| in_win(r.ts, t, 120 * S) && r.f["bytes"].parse::<i64>().unwrap() > 5000)
        .count();
    cases.push((
        r#"sum(count_over_time({app="shop", env="dev"} | logfmt | bytes > 5KB [2m]))"#,
        Expect::Instant(t, [(key(&[]), n as f64)].into()),
    ));

    // 15. sum_over_time of an unwrapped label.
    let v: f64 = b
        .recs
        .iter()
        .filter(|r| in_win(r.ts, t, 60 * S))
        .map(|r| r.f["bytes"].parse::<f64>().unwrap())
        .sum();
    cases.push((
        r#"sum by (env) (sum_over_time({app="shop", env="dev"} | logfmt | unwrap bytes [1m]))"#,
        Expect::Instant(t, [(key(&[("env", "dev")]), v)].into()),
    ));

    // 16. avg_over_time of durations (seconds) grouped by app.
    let w: Vec<f64> = b
        .recs
        .iter()
        .filter(|r| in_win(r.ts, t, 60 * S))
        .map(|r| secs(&r.f["duration"]))
        .collect();
    cases.push((
        r#"avg_over_time({app="shop", env="dev"} | logfmt | unwrap duration(duration) [1m]) by (app)"#,
        Expect::Instant(t, [(key(&[("app", "shop")]), w.iter().sum::<f64>() / w.len() as f64)].into()),
    ));

    // 17. max_over_time by level.
    let mut m = Instant::new();
    for r in &a.recs {
        if !r.garbage && in_win(r.ts, t, 30 * S) {
            let v = r.f["size"].parse::<f64>().unwrap();
            let e = m
                .entry(key(&[("level", &r.f["level"])]))
                .or_insert(f64::MIN);
            *e = e.max(v);
        }
    }
    cases.push((
        r#"max_over_time({format="json"} | json | __error__="" | unwrap size [30s]) by (level)"#,
        Expect::Instant(t, m),
    ));

    // 18. quantile_over_time by user.
    let mut per: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &c.recs {
        if in_win(r.ts, t, 120 * S) {
            per.entry(r.f["user"].clone())
                .or_default()
                .push(secs(&r.f["took"]));
        }
    }
    let m: Instant = per
        .into_iter()
        .map(|(u, v)| (key(&[("user", &u)]), quantile(0.9, v)))
        .collect();
    cases.push((
        r#"quantile_over_time(0.9, {app="auth"} | logfmt | unwrap duration(took) [2m]) by (user)"#,
        Expect::Instant(t, m),
    ));

    // 19. Without grouping an unwrap keeps every label but the unwrapped one.
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for r in &c.recs {
        if in_win(r.ts, t, 60 * S) {
            let mut l = c.labels.clone();
            for k in ["level", "user", "msg"] {
                l.push((k.to_string(), r.f[k].clone()));
            }
            l.sort();
            let e = m.entry(labels_string(&l)).or_insert(f64::MAX);
            *e = e.min(secs(&r.f["took"]));
        }
    }
    cases.push((
        r#"min_over_time({app="auth"} | logfmt | unwrap duration(took) [1m])"#,
        Expect::Instant(t, m),
    ));

    // 20. topk over a nested json field (user.id flattened to user_id).
    let mut per: BTreeMap<String, f64> = BTreeMap::new();
    for r in &a.recs {
        if !r.garbage && in_win(r.ts, t, 120 * S) {
            *per.entry(r.f["user_id"].clone()).or_default() += 1.0;
        }
    }
    let mut ranked: Vec<(String, f64)> = per.into_iter().collect();
    ranked.sort_by(|x, y| y.1.partial_cmp(&x.1).unwrap().then(x.0.cmp(&y.0)));
    let top: Instant = ranked
        .iter()
        .take(2)
        .map(|(u, v)| (key(&[("user_id", u)]), *v))
        .collect();
    assert!(
        ranked[1].1 > ranked[2].1,
        "the test data must not tie at the cut"
    );
    cases.push((
        r#"topk(2, sum by (user_id) (count_over_time({format="json"} | json | __error__="" [2m])))"#,
        Expect::Instant(t, top),
    ));

    // 21. bottomk.
    let mut per: BTreeMap<String, f64> = BTreeMap::new();
    for s in [b, c] {
        for r in &s.recs {
            if in_win(r.ts, t, 60 * S) {
                *per.entry(lab(s, "app")).or_default() += 1.0;
            }
        }
    }
    let (lvl, v) = per
        .iter()
        .min_by(|x, y| x.1.partial_cmp(y.1).unwrap())
        .unwrap();
    assert_eq!(
        per.values().filter(|x| *x == v).count(),
        1,
        "no tie at the bottom"
    );
    cases.push((
        r#"bottomk(1, sum by (app) (count_over_time({format="logfmt"} | logfmt [1m])))"#,
        Expect::Instant(t, [(key(&[("app", lvl)]), *v)].into()),
    ));

    // 22. Grafana's Loki health check.
    cases.push((
        "vector(1)+vector(1)",
        Expect::Instant(t, [(key(&[]), 2.0)].into()),
    ));

    // 23. arithmetic with scalars.
    let n = shop
        .iter()
        .flat_map(|s| &s.recs)
        .filter(|r| in_win(r.ts, t, 60 * S))
        .count() as f64;
    cases.push((
        r#"sum(count_over_time({app="shop"}[1m])) / 60 * 2 + 1"#,
        Expect::Instant(t, [(key(&[]), n / 60.0 * 2.0 + 1.0)].into()),
    ));

    // 24/25. comparison as a filter and with bool.
    let per_env: Vec<(String, f64)> = shop
        .iter()
        .map(|s| {
            (
                lab(s, "env"),
                s.recs.iter().filter(|r| in_win(r.ts, t, 60 * S)).count() as f64,
            )
        })
        .collect();
    assert!(per_env.iter().any(|p| p.1 > 45.0) && per_env.iter().any(|p| p.1 <= 45.0));
    cases.push((
        r#"sum by (env) (count_over_time({app="shop"}[1m])) > 45"#,
        Expect::Instant(
            t,
            per_env
                .iter()
                .filter(|p| p.1 > 45.0)
                .map(|p| (key(&[("env", &p.0)]), p.1))
                .collect(),
        ),
    ));
    cases.push((
        r#"sum by (env) (count_over_time({app="shop"}[1m])) > bool 45"#,
        Expect::Instant(
            t,
            per_env
                .iter()
                .map(|p| (key(&[("env", &p.0)]), if p.1 > 45.0 { 1.0 } else { 0.0 }))
                .collect(),
        ),
    ));

    // 26. vector/vector with on().
    let cnt = |s: &Gen| s.recs.iter().filter(|r| in_win(r.ts, t, 60 * S)).count() as f64;
    cases.push((
        r#"sum by (app) (count_over_time({env="prod"}[1m])) / on (app) sum by (app) (count_over_time({env=~"prod|dev"}[1m]))"#,
        Expect::Instant(
            t,
            [(key(&[("app", "auth")]), 1.0), (key(&[("app", "shop")]), cnt(a) / (cnt(a) + cnt(b)))].into(),
        ),
    ));

    // 27. or of disjoint vectors.
    cases.push((
        r#"sum by (app) (count_over_time({app="auth"}[1m])) or sum by (app) (count_over_time({app="shop"}[1m]))"#,
        Expect::Instant(t, [(key(&[("app", "auth")]), cnt(c)), (key(&[("app", "shop")]), cnt(a) + cnt(b))].into()),
    ));

    // label_replace: app "shop"/"auth" -> svc "sh"/"au" (first two chars).
    let mut m = Instant::new();
    for s in &g {
        let n = s.recs.iter().filter(|r| in_win(r.ts, t, 60 * S)).count() as f64;
        let app = lab(s, "app");
        *m.entry(key(&[("app", &app), ("svc", &app[..2])]))
            .or_default() += n;
    }
    cases.push((
        r#"label_replace(sum by (app) (count_over_time({env=~".+"}[1m])), "svc", "$1", "app", "(..).*")"#,
        Expect::Instant(t, m),
    ));

    // 28. absent_over_time.
    cases.push((
        r#"absent_over_time({app="nope", env=~"x"}[1m])"#,
        Expect::Instant(t, [(key(&[("app", "nope")]), 1.0)].into()),
    ));
    cases.push((
        r#"absent_over_time({app="auth"}[1m])"#,
        Expect::Instant(t, Instant::new()),
    ));

    // 29/30. range query with offset; steps without data have no point.
    for (q, off) in [
        (r#"sum(count_over_time({app="auth"}[15s]))"#, 0),
        (
            r#"sum(count_over_time({app="auth"}[15s] offset 10s))"#,
            10 * S,
        ),
    ] {
        let (start, end, step) = (T0 - 20 * S, T0 + 60 * S, 5 * S);
        let mut pts = Vec::new();
        let mut ts = start;
        while ts <= end {
            let n = c
                .recs
                .iter()
                .filter(|r| in_win(r.ts, ts - off, 15 * S))
                .count();
            if n > 0 {
                pts.push((ts, n as f64));
            }
            ts += step;
        }
        cases.push((q, Expect::Range(start, end, step, [(key(&[]), pts)].into())));
    }

    // 31. log query, backward, limit.
    let (ls, le) = (T0 + 10 * S, T0 + 50 * S);
    let picked = c
        .recs
        .iter()
        .filter(|r| r.ts >= ls && r.ts < le && r.line.contains("error"))
        .map(|r| (c.labels.clone(), r.ts, r.line.clone()))
        .collect();
    cases.push((
        r#"{app="auth"} |= "error""#,
        Expect::Logs(
            ls,
            le,
            5,
            Direction::Backward,
            logs_expect(picked, 5, Direction::Backward),
        ),
    ));

    // 32. json + filter + line_format, forward: streams keyed by the extracted labels.
    let (ls, le) = (T0, T0 + 60 * S);
    let picked = a
        .recs
        .iter()
        .filter(|r| r.ts >= ls && r.ts < le && !r.garbage && r.f["level"] == "error")
        .map(|r| {
            let mut l = a.labels.clone();
            l.extend(r.meta.iter().cloned());
            for (k, v) in &r.f {
                l.push((k.to_string(), v.clone()));
            }
            l.sort();
            (l, r.ts, format!("{} {}", r.f["msg"], r.f["status"]))
        })
        .collect();
    cases.push((
        r#"{format="json"} | json | level="error" | line_format "{{.msg}} {{.status}}""#,
        Expect::Logs(
            ls,
            le,
            4,
            Direction::Forward,
            logs_expect(picked, 4, Direction::Forward),
        ),
    ));

    // 33. label_format rename + keep.
    let (ls, le) = (T0, T0 + 120 * S);
    let picked = c
        .recs
        .iter()
        .filter(|r| r.ts >= ls && r.ts < le)
        .map(|r| {
            (
                labels(&[("level", &r.f["level"]), ("who", &r.f["user"])]),
                r.ts,
                r.line.clone(),
            )
        })
        .collect();
    cases.push((
        r#"{app="auth"} | logfmt | label_format who=user | keep who, level"#,
        Expect::Logs(
            ls,
            le,
            7,
            Direction::Backward,
            logs_expect(picked, 7, Direction::Backward),
        ),
    ));

    // 34. the error label on lines that are not json.
    let (ls, le) = (T0, T0 + 120 * S);
    let picked = a
        .recs
        .iter()
        .filter(|r| r.ts >= ls && r.ts < le && r.garbage)
        .map(|r| {
            let mut l = a.labels.clone();
            l.extend(r.meta.iter().cloned());
            l.push(("__error__".into(), "JSONParserErr".into()));
            l.sort();
            (l, r.ts, r.line.clone())
        })
        .collect();
    cases.push((
        r#"{format="json"} | json | __error__!="" | drop __error_details__"#,
        Expect::Logs(
            ls,
            le,
            100,
            Direction::Backward,
            logs_expect(picked, 100, Direction::Backward),
        ),
    ));

    // 35. label_format template + line filter after line_format sees the new line.
    let (ls, le) = (T0, T0 + 30 * S);
    let picked = b
        .recs
        .iter()
        .filter(|r| r.ts >= ls && r.ts < le && r.f["level"] == "warn")
        .map(|r| {
            let mut l = b.labels.clone();
            l.push(("sev".into(), "WARN".into()));
            l.sort();
            (l, r.ts, format!("WARN {}", r.f["msg"]))
        })
        .collect();
    cases.push((
        r#"{env="dev"} | logfmt | label_format sev="{{.level | ToUpper}}" | line_format "{{.sev}} {{.msg}}" |= "WARN" | keep app, env, format, sev"#,
        Expect::Logs(ls, le, 50, Direction::Backward, logs_expect(picked, 50, Direction::Backward)),
    ));

    // 36/37. errors as Loki words them.
    cases.push((
        r#"{app="auth"}"#,
        Expect::Err(
            Some(t),
            "log queries are not supported as an instant query type",
        ),
    ));
    cases.push((
        r#"{app=~".*"}"#,
        Expect::Err(
            None,
            "queries require at least one regexp or equality matcher",
        ),
    ));

    assert!(cases.len() >= 25);
    // An expectation that is empty by accident would let a broken engine pass.
    for (q, e) in &cases {
        let empty = match e {
            Expect::Instant(_, m) => m.is_empty(),
            Expect::Range(_, _, _, m) => m.is_empty() || m.values().any(|p| p.is_empty()),
            Expect::Logs(_, _, _, _, l) => l.is_empty(),
            Expect::Err(..) => false,
        };
        assert!(
            !empty || *q == r#"absent_over_time({app="auth"}[1m])"#,
            "empty expectation for {q}"
        );
    }
    let mut failures = Vec::new();
    for (q, e) in &cases {
        if let Err(msg) = run(&engine, &src, q, e) {
            failures.push(format!("{q}\n{msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn limits_are_enforced_with_loki_wording() {
    let src = source(&generate());
    let e = Engine {
        max_series: 2,
        ..Engine::default()
    };
    let err = e
        .query_range(
            &src,
            r#"{app="shop"}"#,
            T0,
            T0 + S,
            S,
            6000,
            Direction::Backward,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit(
            "max entries limit per query exceeded, limit > max_entries_limit (6000 > 5000)".into()
        )
    );
    let err = e
        .query_range(
            &src,
            r#"count_over_time({app="shop"}[1m])"#,
            T0,
            T0 + 100_000 * S,
            S,
            10,
            Direction::Backward,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("exceeded maximum resolution of 11,000 points")
    );
    let err = e
        .query_instant(
            &src,
            r#"count_over_time({env="prod"}[10m])"#,
            T0 + 100 * S,
            10,
            Direction::Backward,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::Limit("maximum of series (2) reached for a single query".into())
    );
    // Extreme times from HTTP parameters must not overflow.
    for q in [
        r#"count_over_time({app="auth"}[1m] offset -5m)"#,
        r#"max_over_time({app="auth"} | logfmt | unwrap duration(took) [5m] offset 1h) by (user)"#,
        r#"absent_over_time({app="x"}[1m])"#,
    ] {
        let _ = e.query_range(
            &src,
            q,
            i64::MIN,
            i64::MAX,
            i64::MAX / 4,
            10,
            Direction::Forward,
        );
        let _ = e.query_instant(&src, q, i64::MIN, 10, Direction::Forward);
        let _ = e.query_instant(&src, q, i64::MAX, 10, Direction::Forward);
    }
    // sum over a range aggregation keys series by its grouping as lines are read: 120
    // distinct parsed messages never become 120 series. max is not linear: it must see them.
    let small = Engine {
        max_cells: 500,
        ..Engine::default()
    };
    let q = r#"sum by (level) (count_over_time({format="json"} | json | __error__="" [10s]))"#;
    match small.query_range(&src, q, T0, T0 + 110 * S, 10 * S, 10, Direction::Backward) {
        Ok(Value::Matrix(m)) => assert_eq!(m.len(), 3),
        other => panic!("{other:?}"),
    }
    let q = r#"max by (level) (count_over_time({format="json"} | json | __error__="" [10s]))"#;
    let err = small
        .query_range(&src, q, T0, T0 + 110 * S, 10 * S, 10, Direction::Backward)
        .unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    let v = e
        .query_instant(&src, "vector(1)+vector(1)", T0, 10, Direction::Backward)
        .unwrap();
    let j = logql::to_loki_data(&v);
    assert_eq!(j["resultType"], "vector");
    assert_eq!(j["result"].as_array().unwrap().len(), 1);
    assert_eq!(j["result"][0]["value"][1], "2");
    let j = logql::to_loki_data(
        &e.query_instant(&src, "1+1", T0, 10, Direction::Backward)
            .unwrap(),
    );
    assert_eq!(j["resultType"], "scalar");
    assert_eq!(j["result"][1], "2");
}
