//! Loki's HTTP API (`/loki/api/v1/*`) over the store: LogQL range and instant queries,
//! labels, label values, series, index stats and volume, build info, and push (protobuf +
//! snappy, or JSON) as an ingest path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use prost::Message;
use serde_json::{Value as J, json};
use store::lokiproto;

use crate::adapters::Logs;
use crate::time::{loki_step, loki_time, now_ns};
use crate::{Api, Params, blocking, json, params, text};

pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/loki/api/v1/query", get(query).post(query))
        .route(
            "/loki/api/v1/query_range",
            get(query_range).post(query_range),
        )
        .route("/loki/api/v1/labels", get(labels))
        .route("/loki/api/v1/label", get(labels))
        .route("/loki/api/v1/label/{name}/values", get(label_values))
        .route("/loki/api/v1/series", get(series).post(series))
        .route("/loki/api/v1/index/stats", get(stats))
        .route("/loki/api/v1/index/volume", get(volume))
        .route("/loki/api/v1/index/volume_range", get(volume))
        .route("/loki/api/v1/status/buildinfo", get(buildinfo))
        .route("/loki/api/v1/push", post(push))
}

/// Loki answers 400 with the message as plain text.
fn bad(msg: &str) -> Response {
    text(StatusCode::BAD_REQUEST, msg)
}

fn success(data: J) -> Response {
    json(StatusCode::OK, &json!({"status": "success", "data": data}))
}

fn t(p: &Params, k: &str, default: i64) -> Result<i64, Response> {
    match p.get(k) {
        None => Ok(default),
        Some(v) => loki_time(v).map_err(|e| bad(&e)),
    }
}

/// start/end/since as Loki reads them (`since` defaults the start back from end).
fn range(p: &Params, default_span_ns: i64) -> Result<(i64, i64), Response> {
    let end = t(p, "end", now_ns())?;
    let since = match p.get("since") {
        Some(s) => crate::time::go_duration(s).map_err(|e| bad(&e))?,
        None => default_span_ns,
    };
    let start = t(p, "start", end - since)?;
    if end < start {
        return Err(bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

fn direction(p: &Params) -> Result<logql::Direction, Response> {
    match p.get("direction").map(|d| d.to_ascii_lowercase()) {
        None => Ok(logql::Direction::Backward),
        Some(d) if d == "backward" => Ok(logql::Direction::Backward),
        Some(d) if d == "forward" => Ok(logql::Direction::Forward),
        Some(d) => Err(bad(&format!("invalid direction '{d}'"))),
    }
}

fn limit(p: &Params) -> Result<usize, Response> {
    match p.get("limit") {
        None => Ok(100),
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| bad(&format!("invalid limit: {l}"))),
    }
}

fn logql_error(e: &logql::Error) -> Response {
    match e {
        logql::Error::Source(m) => text(StatusCode::INTERNAL_SERVER_ERROR, m),
        other => bad(&other.to_string()),
    }
}

fn source(api: &Api) -> Logs<'_> {
    Logs {
        store: &*api.store,
        // Lines a metric query may read (each held with its metadata until evaluated).
        max_entries: 1_000_000,
    }
}

async fn query_range(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(q) = p.get("query").map(str::to_string) else {
        return bad("query must be supplied");
    };
    let (start, end) = match range(&p, 3_600_000_000_000) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (dir, lim) = match (direction(&p), limit(&p)) {
        (Ok(d), Ok(l)) => (d, l),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    // Loki's default step: the range over 250 points, at least a second.
    let step = match p.get("step") {
        Some(s) => match loki_step(s) {
            Ok(s) => s,
            Err(e) => return bad(&e),
        },
        None => (((end - start) as f64 / 1e9 / 250.0).ceil() as i64).max(1) * 1_000_000_000,
    };
    let r = blocking(move || {
        api.logql
            .query_range(&source(&api), &q, start, end, step, lim, dir)
    })
    .await;
    match r {
        Ok(Ok(v)) => success(logql::to_loki_data(&v)),
        Ok(Err(e)) => logql_error(&e),
        Err(r) => r,
    }
}

async fn query(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(q) = p.get("query").map(str::to_string) else {
        return bad("query must be supplied");
    };
    let at = match t(&p, "time", now_ns()) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (dir, lim) = match (direction(&p), limit(&p)) {
        (Ok(d), Ok(l)) => (d, l),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let r = blocking(move || api.logql.query_instant(&source(&api), &q, at, lim, dir)).await;
    match r {
        Ok(Ok(v)) => success(logql::to_loki_data(&v)),
        Ok(Err(e)) => logql_error(&e),
        Err(r) => r,
    }
}

fn selector(s: Option<&str>) -> Result<Vec<store::query::Matcher>, Response> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => logql::parse_selector(s).map_err(|e| bad(&e.to_string())),
    }
}

const SIX_HOURS: i64 = 6 * 3_600_000_000_000;

async fn streams(
    api: Arc<Api>,
    ms: Vec<store::query::Matcher>,
    start: i64,
    end: i64,
) -> Result<Vec<Arc<store::Labels>>, Response> {
    blocking(move || api.store.log_streams(&ms, start, end)).await
}

async fn labels(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p, SIX_HOURS) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms = match selector(p.get("query")) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match streams(api, ms, start, end).await {
        Ok(s) => {
            let names: BTreeSet<&str> = s
                .iter()
                .flat_map(|l| l.iter().map(|(k, _)| k.as_str()))
                .collect();
            success(json!(names))
        }
        Err(r) => r,
    }
}

async fn label_values(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    p: Params,
) -> Response {
    let (start, end) = match range(&p, SIX_HOURS) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms = match selector(p.get("query")) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match streams(api, ms, start, end).await {
        Ok(s) => {
            let values: BTreeSet<&str> = s
                .iter()
                .map(|l| store::query::label(l, &name))
                .filter(|v| !v.is_empty())
                .collect();
            success(json!(values))
        }
        Err(r) => r,
    }
}

async fn series(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p, SIX_HOURS) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut raw = p.all("match[]");
    raw.extend(p.all("match"));
    if raw.is_empty() {
        return bad("at least one match[] argument required");
    }
    let mut out = BTreeSet::new();
    for m in raw {
        let ms = match selector(Some(m)) {
            Ok(m) => m,
            Err(r) => return r,
        };
        match streams(api.clone(), ms, start, end).await {
            Ok(s) => out.extend(s),
            Err(r) => return r,
        }
    }
    success(J::Array(
        out.iter()
            .map(|l| {
                J::Object(
                    l.iter()
                        .map(|(k, v)| (k.clone(), J::String(v.clone())))
                        .collect(),
                )
            })
            .collect(),
    ))
}

/// Counts of what a selector reads: Grafana shows them as the query's size.
async fn stats(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p, 3_600_000_000_000) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms = match p.get("query").map(logql::parse_selector) {
        None => Vec::new(),
        Some(Ok(m)) => m,
        // A full query (with filters): its selector is what the stats are about.
        Some(Err(_)) => match selector(p.get("query").and_then(|q| q.split('|').next())) {
            Ok(m) => m,
            Err(r) => return r,
        },
    };
    let r = blocking(move || -> Result<J, String> {
        let (mut entries, mut bytes) = (0u64, 0u64);
        let mut names = BTreeSet::new();
        api.store.for_each_log(&ms, start, end, &mut |r| {
            entries += 1;
            bytes += r.line.len() as u64;
            names.insert(r.labels.clone());
            entries < 10_000_000
        })?;
        Ok(json!({"streams": names.len(), "chunks": names.len(), "entries": entries, "bytes": bytes}))
    })
    .await;
    match r {
        Ok(Ok(v)) => json(StatusCode::OK, &v),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// Bytes per stream (or per the `targetLabels`, or the selector's labels, as Loki groups
/// them) for Logs Drilldown; `volume_range` answers the same totals at the end time.
async fn volume(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p, 3_600_000_000_000) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms = match selector(p.get("query")) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let by: Vec<String> = match p.get("targetLabels") {
        Some(t) => t
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => ms.iter().map(|m| m.name.clone()).collect(),
    };
    let lim = p
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100);
    let r = blocking(move || -> Result<Vec<(store::Labels, u64)>, String> {
        let mut groups: BTreeMap<store::Labels, u64> = BTreeMap::new();
        api.store.for_each_log(&ms, start, end, &mut |r| {
            let key: store::Labels = if by.is_empty() {
                (*r.labels).clone()
            } else {
                by.iter()
                    .filter_map(|k| {
                        let v = store::query::label(&r.labels, k);
                        (!v.is_empty()).then(|| (k.clone(), v.to_string()))
                    })
                    .collect()
            };
            *groups.entry(key).or_default() += r.line.len() as u64;
            true
        })?;
        let mut v: Vec<_> = groups.into_iter().collect();
        v.sort_by_key(|g| std::cmp::Reverse(g.1));
        v.truncate(lim);
        Ok(v)
    })
    .await;
    let ts = end as f64 / 1e9;
    match r {
        Ok(Ok(v)) => success(json!({
            "resultType": "vector",
            "result": v.iter().map(|(l, b)| json!({
                "metric": J::Object(l.iter().map(|(k, v)| (k.clone(), J::String(v.clone()))).collect()),
                "value": [ts, b.to_string()],
            })).collect::<Vec<_>>(),
        })),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

async fn buildinfo() -> Response {
    json(
        StatusCode::OK,
        &json!({"version": "3.5.0", "revision": concat!("ferrotel-", env!("CARGO_PKG_VERSION")), "branch": "ferrotel", "buildUser": "ferrotel", "buildDate": "", "goVersion": ""}),
    )
}

/// JSON push: `{"streams":[{"stream":{..},"values":[["<ns>","line"(, {metadata})]]}]}`.
fn push_from_json(body: &[u8]) -> Result<lokiproto::PushRequest, String> {
    let v: J = serde_json::from_slice(body).map_err(|e| format!("loghttp: {e}"))?;
    let mut out = lokiproto::PushRequest::default();
    for s in v
        .get("streams")
        .and_then(J::as_array)
        .ok_or("loghttp: no streams")?
    {
        let labels = s
            .get("stream")
            .and_then(J::as_object)
            .ok_or("loghttp: a stream has no labels")?;
        let mut pairs: Vec<(&String, &str)> = labels
            .iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
            .collect();
        pairs.sort();
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stream = lokiproto::Stream {
            labels: format!("{{{text}}}"),
            ..Default::default()
        };
        for e in s
            .get("values")
            .and_then(J::as_array)
            .ok_or("loghttp: a stream has no values")?
        {
            let a = e.as_array().ok_or("loghttp: a value is not an array")?;
            let ts: i64 = a
                .first()
                .and_then(J::as_str)
                .ok_or("loghttp: timestamps must be strings")?
                .parse()
                .map_err(|_| "loghttp: invalid timestamp")?;
            let line = a
                .get(1)
                .and_then(J::as_str)
                .ok_or("loghttp: a line must be a string")?;
            let md = a.get(2).and_then(J::as_object).map(|m| {
                m.iter()
                    .map(|(k, v)| lokiproto::LabelPair {
                        name: k.clone(),
                        value: v.as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            });
            stream.entries.push(lokiproto::Entry {
                timestamp: lokiproto::Timestamp::from_unix_nanos(ts),
                line: line.to_string(),
                structured_metadata: md.unwrap_or_default(),
            });
        }
        out.streams.push(stream);
    }
    Ok(out)
}

async fn push(State(api): State<Arc<Api>>, req: Request) -> Response {
    let (_, parts, body) = match params(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let body = match crate::decoded_body(&parts, body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let req = if is_json {
        push_from_json(&body)
    } else {
        lokiproto::decode(&body)
    };
    let req = match req {
        Ok(r) => r,
        Err(e) => return bad(&e),
    };
    let encoded = req.encode_to_vec();
    match blocking(move || api.store.ingest_loki_push(&req, &encoded)).await {
        Ok(Ok(())) => text(StatusCode::NO_CONTENT, ""),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(r) => r,
    }
}
