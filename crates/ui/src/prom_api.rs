//! Prometheus' HTTP API (`/api/v1/*`) over the store: PromQL instant and range queries,
//! series, labels, label values, metadata, exemplars, build info, and remote write as an
//! ingest path. Envelope, status codes and error types as Prometheus answers.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use prost::Message;
use serde_json::{Value as J, json};

use crate::adapters::{Metrics, prom_selector};
use crate::time::{prom_duration, prom_time};
use crate::{Api, Params, blocking, json, params};

pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/query_exemplars", get(exemplars).post(exemplars))
        .route("/api/v1/status/buildinfo", get(buildinfo))
        .route("/api/v1/write", post(write))
}

fn success(data: J) -> Response {
    json(StatusCode::OK, &json!({"status": "success", "data": data}))
}

fn error(status: StatusCode, error_type: &str, msg: &str) -> Response {
    json(
        status,
        &json!({"status": "error", "errorType": error_type, "error": msg}),
    )
}

fn bad_data(msg: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_data", msg)
}

fn now_ms() -> i64 {
    crate::time::now_ns() / 1_000_000
}

fn time_param(p: &Params, k: &str, default: i64) -> Result<i64, Response> {
    match p.get(k) {
        None => Ok(default),
        Some(v) => prom_time(v).map_err(|e| bad_data(&format!("invalid parameter \"{k}\": {e}"))),
    }
}

fn promql_error(e: &promql::Error) -> Response {
    error(
        StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        e.error_type(),
        &e.to_string(),
    )
}

async fn query(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(q) = p.get("query").map(str::to_string) else {
        return bad_data("invalid parameter \"query\": query must not be empty");
    };
    let t = match time_param(&p, "time", now_ms()) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let r = blocking(move || api.promql.instant(&Metrics(&*api.store), &q, t)).await;
    match r {
        Ok(Ok(v)) => success(promql::json::data(&v)),
        Ok(Err(e)) => promql_error(&e),
        Err(r) => r,
    }
}

async fn query_range(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(q) = p.get("query").map(str::to_string) else {
        return bad_data("invalid parameter \"query\": query must not be empty");
    };
    let (start, end) = match (
        time_param(&p, "start", i64::MIN),
        time_param(&p, "end", i64::MIN),
    ) {
        (Ok(s), Ok(e)) if s != i64::MIN && e != i64::MIN => (s, e),
        (Err(r), _) | (_, Err(r)) => return r,
        _ => return bad_data("invalid parameter \"start\": start and end are required"),
    };
    if end < start {
        return bad_data("end timestamp must not be before start time");
    }
    let step = match p.get("step").map(prom_duration) {
        Some(Ok(s)) if s > 0 => s,
        Some(Ok(_)) => {
            return bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            );
        }
        Some(Err(e)) => return bad_data(&format!("invalid parameter \"step\": {e}")),
        None => return bad_data("invalid parameter \"step\": step is required"),
    };
    if (end - start) / step > 11_000 {
        return bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let r = blocking(move || {
        api.promql
            .range(&Metrics(&*api.store), &q, start, end, step)
    })
    .await;
    match r {
        Ok(Ok(v)) => success(promql::json::data(&v)),
        Ok(Err(e)) => promql_error(&e),
        Err(r) => r,
    }
}

/// `match[]` selectors (none: every series) and the time range.
fn selection(
    p: &Params,
    required: bool,
) -> Result<(Vec<Vec<store::query::Matcher>>, i64, i64), Response> {
    let raw = p.all("match[]");
    if required && raw.is_empty() {
        return Err(bad_data("no match[] parameter provided"));
    }
    let mut sets = Vec::new();
    for m in raw {
        sets.push(
            prom_selector(m)
                .map_err(|e| bad_data(&format!("invalid parameter \"match[]\": {e}")))?,
        );
    }
    if sets.is_empty() {
        sets.push(Vec::new());
    }
    let start = time_param(p, "start", i64::MIN / 2)?;
    let end = time_param(p, "end", i64::MAX / 2)?;
    Ok((sets, start, end))
}

fn label_sets(
    api: &Api,
    sets: &[Vec<store::query::Matcher>],
    start: i64,
    end: i64,
) -> BTreeSet<Arc<store::Labels>> {
    let mut out = BTreeSet::new();
    for ms in sets {
        out.extend(api.store.series(ms, start, end));
    }
    out
}

fn limit(p: &Params) -> usize {
    p.get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX)
}

async fn series(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (sets, start, end) = match selection(&p, true) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = limit(&p);
    match blocking(move || label_sets(&api, &sets, start, end)).await {
        Ok(all) => success(J::Array(
            all.iter()
                .take(n)
                .map(|l| promql::json::metric(l))
                .collect(),
        )),
        Err(r) => r,
    }
}

async fn labels(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (sets, start, end) = match selection(&p, false) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = limit(&p);
    match blocking(move || {
        label_sets(&api, &sets, start, end)
            .iter()
            .flat_map(|l| l.iter().map(|(k, _)| k.clone()))
            .collect::<BTreeSet<String>>()
    })
    .await
    {
        Ok(names) => success(json!(names.into_iter().take(n).collect::<Vec<_>>())),
        Err(r) => r,
    }
}

async fn label_values(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    p: Params,
) -> Response {
    let (sets, start, end) = match selection(&p, false) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = limit(&p);
    match blocking(move || {
        label_sets(&api, &sets, start, end)
            .iter()
            .filter_map(|l| {
                let v = store::query::label(l, &name);
                (!v.is_empty()).then(|| v.to_string())
            })
            .collect::<BTreeSet<String>>()
    })
    .await
    {
        Ok(values) => success(json!(values.into_iter().take(n).collect::<Vec<_>>())),
        Err(r) => r,
    }
}

async fn metadata(State(api): State<Arc<Api>>, p: Params) -> Response {
    let only = p.get("metric").map(str::to_string);
    let n = p
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l >= 0)
        .map_or(usize::MAX, |l| l as usize);
    let md = api.store.metadata();
    let mut out = serde_json::Map::new();
    for (name, m) in md {
        if only.as_ref().is_some_and(|o| *o != name) {
            continue;
        }
        if out.len() >= n {
            break;
        }
        out.insert(
            name,
            json!([{"type": m.r#type, "help": m.help, "unit": m.unit}]),
        );
    }
    success(J::Object(out))
}

/// The vector selectors of a query (exemplars are looked up for each).
fn selectors(expr: &promql_parser::parser::Expr, out: &mut Vec<String>) {
    use promql_parser::parser::Expr;
    match expr {
        Expr::VectorSelector(v) => out.push(v.to_string()),
        Expr::MatrixSelector(m) => out.push(m.vs.to_string()),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                selectors(a, out);
            }
        }
        _ => {}
    }
}

async fn exemplars(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(q) = p.get("query") else {
        return bad_data("invalid parameter \"query\": query must not be empty");
    };
    let expr = match promql_parser::parser::parse(q) {
        Ok(e) => e,
        Err(e) => return bad_data(&format!("invalid parameter \"query\": {e}")),
    };
    let mut sels = Vec::new();
    selectors(&expr, &mut sels);
    let start = match time_param(&p, "start", i64::MIN / 2) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let end = match time_param(&p, "end", i64::MAX / 2) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let r = blocking(move || -> Result<J, String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for s in sels {
            let ms = prom_selector(&s)?;
            for series in api.store.select_series(&ms, start, end)? {
                if series.exemplars.is_empty() || !seen.insert(series.labels.clone()) {
                    continue;
                }
                let ex: Vec<J> = series
                    .exemplars
                    .iter()
                    .map(|(t, v, l)| {
                        json!({
                            "labels": promql::json::metric(l),
                            "value": promql::format_value(*v),
                            "timestamp": *t as f64 / 1000.0,
                        })
                    })
                    .collect();
                out.push(
                    json!({"seriesLabels": promql::json::metric(&series.labels), "exemplars": ex}),
                );
            }
        }
        Ok(J::Array(out))
    })
    .await;
    match r {
        Ok(Ok(v)) => success(v),
        Ok(Err(e)) => bad_data(&e),
        Err(r) => r,
    }
}

/// Grafana reads the version to pick features (an empty `features` map means Prometheus,
/// not Mimir): we answer as the Prometheus release whose API we follow, and name ourselves
/// in `branch` and `revision`.
async fn buildinfo() -> Response {
    success(json!({
        "version": "2.53.0",
        "revision": concat!("ferrotel-", env!("CARGO_PKG_VERSION")),
        "branch": "ferrotel",
        "buildUser": "ferrotel",
        "buildDate": "",
        "goVersion": "",
    }))
}

/// Remote write 1.0: snappy-compressed protobuf `WriteRequest`; 204 when stored, 400 for a
/// body that does not decode (the sender must not retry it), 500 when the store fails.
async fn write(State(api): State<Arc<Api>>, req: Request) -> Response {
    let (_, _, body) = match params(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let raw = match snap::raw::Decoder::new().decompress_vec(&body) {
        Ok(r) => r,
        Err(e) => return crate::text(StatusCode::BAD_REQUEST, &format!("snappy: {e}")),
    };
    let wr = match promtranslate::prompb::WriteRequest::decode(&raw[..]) {
        Ok(w) => w,
        Err(e) => return crate::text(StatusCode::BAD_REQUEST, &format!("protobuf: {e}")),
    };
    match blocking(move || api.store.ingest_remote_write(&wr, &raw)).await {
        Ok(Ok(())) => crate::text(StatusCode::NO_CONTENT, ""),
        Ok(Err(e)) => crate::text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(r) => r,
    }
}
