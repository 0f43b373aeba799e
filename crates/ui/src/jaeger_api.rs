//! Jaeger's query APIs: the legacy JSON API (what Grafana's Jaeger datasource and the Jaeger
//! UI's trace page call) with its `{"data","total","limit","offset","errors"}` envelope,
//! and `api_v3` (OTLP JSON; what the Jaeger UI's search calls), plus dependencies.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value as J, json};
use store::SpanRow;

use crate::time::{go_duration, now_ns, rfc3339_ns};
use crate::tracesearch::{parse_trace_id, summary};
use crate::{Api, Params, blocking, json};

pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/api/services", get(services))
        .route(
            "/api/services/{service}/operations",
            get(service_operations),
        )
        .route("/api/operations", get(operations))
        .route("/api/traces", get(find_traces))
        .route("/api/traces/{id}", get(trace))
        .route("/api/dependencies", get(dependencies))
        .route("/api/metrics/{which}", get(spm_metrics))
        .route("/api/v3/services", get(v3_services))
        .route("/api/v3/operations", get(v3_operations))
        .route("/api/v3/traces/{id}", get(v3_trace))
        .route("/api/v3/traces", get(v3_find_traces))
        .route("/api/v3/trace-summaries", get(v3_summaries))
}

fn envelope(data: J, total: usize) -> Response {
    json(
        StatusCode::OK,
        &json!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": null}),
    )
}

fn legacy_error(status: StatusCode, msg: &str) -> Response {
    json(
        status,
        &json!({"data": null, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": status.as_u16(), "msg": msg}]}),
    )
}

fn v3_error(status: StatusCode, msg: &str) -> Response {
    json(
        status,
        &json!({"error": {"httpCode": status.as_u16(), "message": msg}}),
    )
}

async fn services(State(api): State<Arc<Api>>) -> Response {
    match blocking(move || api.store.operations()).await {
        Ok(ops) => {
            let names: Vec<&String> = ops.keys().collect();
            envelope(json!(names), names.len())
        }
        Err(r) => r,
    }
}

async fn service_operations(State(api): State<Arc<Api>>, Path(service): Path<String>) -> Response {
    match blocking(move || api.store.operations()).await {
        Ok(ops) => {
            let mut names: Vec<&str> = ops
                .get(&service)
                .map(|s| s.iter().map(|(n, _)| n.as_str()).collect())
                .unwrap_or_default();
            names.dedup();
            envelope(json!(names), names.len())
        }
        Err(r) => r,
    }
}

/// Jaeger's span kind names (an unset kind is the empty string in the legacy API).
fn kind_name(k: u8) -> &'static str {
    match k {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "",
    }
}

fn ops_of(api: &Api, service: &str, kind: Option<&str>, unset_as: &'static str) -> Vec<J> {
    let ops = api.store.operations();
    ops.get(service)
        .map(|s| {
            s.iter()
                .map(|(n, k)| (n, if *k == 0 { unset_as } else { kind_name(*k) }))
                .filter(|(_, k)| kind.is_none_or(|w| w == *k))
                .map(|(n, k)| json!({"name": n, "spanKind": k}))
                .collect()
        })
        .unwrap_or_default()
}

async fn operations(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(service) = p.get("service").map(str::to_string) else {
        return legacy_error(StatusCode::BAD_REQUEST, "parameter 'service' is required");
    };
    let kind = p.get("spanKind").map(str::to_string);
    match blocking(move || ops_of(&api, &service, kind.as_deref(), "")).await {
        Ok(v) => {
            let n = v.len();
            envelope(J::Array(v), n)
        }
        Err(r) => r,
    }
}

/// Traces as the legacy API's envelope of UI-model traces.
fn traces_envelope(traces: &[Vec<SpanRow>], raw: bool) -> Response {
    let t: Vec<J> = traces
        .iter()
        .flat_map(|rows| {
            let rs = store::traces::assemble(rows);
            jaeger::uimodel::traces_to_ui(&rs, &jaeger::uimodel::UiOptions { adjust: !raw })
        })
        .collect();
    let n = t.len();
    envelope(J::Array(t), n)
}

async fn trace(State(api): State<Arc<Api>>, Path(id): Path<String>, p: Params) -> Response {
    let Some(tid) = parse_trace_id(&id) else {
        return legacy_error(
            StatusCode::BAD_REQUEST,
            &format!("cannot parse traceID: {id}"),
        );
    };
    let raw = p.get("raw") == Some("true");
    match blocking(move || api.store.trace(&tid)).await {
        Ok(Ok(rows)) if rows.is_empty() => legacy_error(StatusCode::NOT_FOUND, "trace not found"),
        Ok(Ok(rows)) => traces_envelope(&[rows], raw),
        Ok(Err(e)) => legacy_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

struct Search {
    service: Option<String>,
    operation: Option<String>,
    tags: Vec<(String, String)>,
    min: Option<u64>,
    max: Option<u64>,
    start: i64,
    end: i64,
    limit: usize,
}

/// A Jaeger search is the single-spanset TraceQL query Jaeger v2's memory store matches
/// (`traceql::from_jaeger_search`: service, operation, tags on the span, its resource or
/// `error`/`span.kind`/status, durations), run by the shared trace search.
fn run_search(api: &Api, s: &Search) -> Result<Vec<Vec<SpanRow>>, String> {
    let tags: Vec<(&str, &str)> = s
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let q = traceql::from_jaeger_search(&traceql::JaegerSearch {
        service: s.service.as_deref(),
        operation: s.operation.as_deref(),
        tags: &tags,
        min_duration_ns: s.min,
        max_duration_ns: s.max,
    });
    Ok(
        crate::tracesearch::search(&*api.store, &q, s.start, s.end, s.limit)?
            .into_iter()
            .map(|f| f.rows)
            .collect(),
    )
}

fn duration_param(p: &Params, k: &str) -> Result<Option<u64>, String> {
    p.get(k)
        .map(|v| {
            go_duration(v)
                .map(|d| d.max(0) as u64)
                .map_err(|e| format!("cannot parse {k}: {e}"))
        })
        .transpose()
}

async fn find_traces(State(api): State<Arc<Api>>, p: Params) -> Response {
    // Multi-fetch by id.
    let ids = p.all("traceID");
    if !ids.is_empty() {
        let mut tids = Vec::new();
        for id in ids {
            match parse_trace_id(id) {
                Some(t) => tids.push(t),
                None => {
                    return legacy_error(
                        StatusCode::BAD_REQUEST,
                        &format!("cannot parse traceID: {id}"),
                    );
                }
            }
        }
        let r = blocking(move || -> Result<Vec<Vec<SpanRow>>, String> {
            tids.iter()
                .map(|t| api.store.trace(t))
                .filter(|r| !r.as_ref().is_ok_and(|v| v.is_empty()))
                .collect()
        })
        .await;
        return match r {
            Ok(Ok(t)) => traces_envelope(&t, false),
            Ok(Err(e)) => legacy_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
            Err(r) => r,
        };
    }
    let Some(service) = p.get("service").map(str::to_string) else {
        return legacy_error(StatusCode::BAD_REQUEST, "parameter 'service' is required");
    };
    let mut tags: Vec<(String, String)> = Vec::new();
    for t in p.all("tag") {
        match t.split_once(':') {
            Some((k, v)) => tags.push((k.to_string(), v.to_string())),
            None => {
                return legacy_error(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed 'tag' parameter, expecting key:value, received: {t}"),
                );
            }
        }
    }
    if let Some(js) = p.get("tags") {
        match serde_json::from_str::<BTreeMap<String, J>>(js) {
            Ok(m) => tags.extend(m.into_iter().map(|(k, v)| {
                let v = match v {
                    J::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })),
            Err(e) => {
                return legacy_error(
                    StatusCode::BAD_REQUEST,
                    &format!("malformed 'tags' parameter: {e}"),
                );
            }
        }
    }
    let (min, max) = match (
        duration_param(&p, "minDuration"),
        duration_param(&p, "maxDuration"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return legacy_error(StatusCode::BAD_REQUEST, &e),
    };
    let us = |k: &str| {
        p.get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| v.saturating_mul(1000))
    };
    let end = us("end").unwrap_or_else(now_ns);
    // Jaeger's default lookback: two days.
    let start = us("start").unwrap_or(end - 2 * 86_400 * 1_000_000_000);
    let limit = p
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(100);
    let s = Search {
        service: Some(service),
        operation: p.get("operation").map(str::to_string),
        tags,
        min,
        max,
        start,
        end,
        limit,
    };
    match blocking(move || run_search(&api, &s)).await {
        Ok(Ok(t)) => traces_envelope(&t, false),
        Ok(Err(e)) => legacy_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// Parent -> child service calls in the window: a span whose parent span is stored and
/// belongs to another service is one call (Jaeger's dependency links).
async fn dependencies(State(api): State<Arc<Api>>, p: Params) -> Response {
    let ms = |k: &str| p.get(k).and_then(|v| v.parse::<i64>().ok());
    let end = ms("endTs").map_or_else(now_ns, |e| e.saturating_mul(1_000_000));
    let lookback = ms("lookback")
        .unwrap_or(86_400_000)
        .saturating_mul(1_000_000);
    let only = p.get("service").map(str::to_string);
    let r = blocking(move || -> Result<Vec<J>, String> {
        // Services as small numbers, and a fast hasher: a dependency graph reads every span
        // of the range (a million on the UI's default hour) into these maps.
        let mut names: foldhash::HashMap<Arc<str>, u32> = Default::default();
        let mut service_of: foldhash::HashMap<([u8; 16], [u8; 8]), u32> = Default::default();
        let mut children: Vec<([u8; 16], [u8; 8], u32)> = Vec::new();
        let mut n = 0usize;
        api.store
            .for_each_span_columns(end - lookback, end, &mut |r| {
                let next = names.len() as u32;
                let svc = match names.get(&*r.service) {
                    Some(i) => *i,
                    None => *names.entry(r.service.clone()).or_insert(next),
                };
                service_of.insert((r.trace_id, r.span_id), svc);
                if !r.is_root() {
                    children.push((r.trace_id, r.parent_span_id, svc));
                }
                n += 1;
                n < api.max_scan_spans
            })?;
        let mut edges: foldhash::HashMap<(u32, u32), u64> = Default::default();
        for (t, parent, child) in children {
            if let Some(&ps) = service_of.get(&(t, parent))
                && ps != child
            {
                *edges.entry((ps, child)).or_default() += 1;
            }
        }
        let mut by_index: Vec<Arc<str>> = vec![Arc::from(""); names.len()];
        for (name, i) in names {
            by_index[i as usize] = name;
        }
        let calls: BTreeMap<(Arc<str>, Arc<str>), u64> = edges
            .into_iter()
            .map(|((p, c), k)| {
                (
                    (by_index[p as usize].clone(), by_index[c as usize].clone()),
                    k,
                )
            })
            .collect();
        Ok(calls
            .into_iter()
            .filter(|((p, c), _)| only.as_ref().is_none_or(|s| **p == **s || **c == **s))
            .map(|((p, c), n)| json!({"parent": &*p, "child": &*c, "callCount": n}))
            .collect())
    })
    .await;
    match r {
        Ok(Ok(v)) => {
            let n = v.len();
            envelope(J::Array(v), n)
        }
        Ok(Err(e)) => legacy_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

async fn v3_services(State(api): State<Arc<Api>>) -> Response {
    match blocking(move || api.store.operations()).await {
        Ok(ops) => json(
            StatusCode::OK,
            &json!({"services": ops.keys().collect::<Vec<_>>()}),
        ),
        Err(r) => r,
    }
}

async fn v3_operations(State(api): State<Arc<Api>>, p: Params) -> Response {
    let Some(service) = p.get("service").map(str::to_string) else {
        return v3_error(StatusCode::BAD_REQUEST, "service name is required");
    };
    let kind = p.get("spanKind").or(p.get("span_kind")).map(str::to_string);
    match blocking(move || ops_of(&api, &service, kind.as_deref(), "internal")).await {
        Ok(v) => json(StatusCode::OK, &json!({"operations": v})),
        Err(r) => r,
    }
}

fn otlp_result(traces: &[Vec<SpanRow>]) -> J {
    let rs: Vec<_> = traces
        .iter()
        .flat_map(|t| store::traces::assemble(t))
        .collect();
    json!({"result": jaeger::uimodel::otlp_json_traces(&rs, jaeger::uimodel::OtlpJsonStyle::Otlp)})
}

async fn v3_trace(State(api): State<Arc<Api>>, Path(id): Path<String>) -> Response {
    let Some(tid) = parse_trace_id(&id) else {
        return v3_error(
            StatusCode::BAD_REQUEST,
            &format!("malformed parameter trace_id: {id}"),
        );
    };
    match blocking(move || api.store.trace(&tid)).await {
        Ok(Ok(rows)) if rows.is_empty() => v3_error(StatusCode::NOT_FOUND, "trace not found"),
        Ok(Ok(rows)) => json(StatusCode::OK, &otlp_result(&[rows])),
        Ok(Err(e)) => v3_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// `query.x` parameters in the canonical camelCase or the deprecated snake_case spelling.
fn q<'a>(p: &'a Params, camel: &str, snake: &str) -> Option<&'a str> {
    p.get(&format!("query.{camel}"))
        .or_else(|| p.get(&format!("query.{snake}")))
}

fn v3_search(p: &Params) -> Result<Search, Response> {
    let bad = |m: String| v3_error(StatusCode::BAD_REQUEST, &m);
    let time = |camel: &str, snake: &str| -> Result<i64, Response> {
        let v = q(p, camel, snake).ok_or_else(|| bad(format!("query.{camel} is required")))?;
        rfc3339_ns(v).ok_or_else(|| bad(format!("malformed parameter query.{camel}: {v}")))
    };
    let start = time("startTimeMin", "start_time_min")?;
    let end = time("startTimeMax", "start_time_max")?;
    let dur = |camel: &str, snake: &str| -> Result<Option<u64>, Response> {
        q(p, camel, snake)
            .map(|v| {
                go_duration(v)
                    .map(|d| d.max(0) as u64)
                    .map_err(|e| bad(format!("malformed parameter query.{camel}: {e}")))
            })
            .transpose()
    };
    let tags = match q(p, "attributes", "attributes") {
        Some(js) => serde_json::from_str::<BTreeMap<String, String>>(js)
            .map_err(|e| bad(format!("malformed parameter query.attributes: {e}")))?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    Ok(Search {
        service: q(p, "serviceName", "service_name").map(str::to_string),
        operation: q(p, "operationName", "operation_name").map(str::to_string),
        tags,
        min: dur("durationMin", "duration_min")?,
        max: dur("durationMax", "duration_max")?,
        start,
        end,
        limit: q(p, "searchDepth", "search_depth")
            .or_else(|| p.get("query.num_traces"))
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .unwrap_or(100),
    })
}

async fn v3_find_traces(State(api): State<Arc<Api>>, p: Params) -> Response {
    let s = match v3_search(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match blocking(move || run_search(&api, &s)).await {
        Ok(Ok(t)) if t.is_empty() => v3_error(StatusCode::NOT_FOUND, "No traces found"),
        Ok(Ok(t)) => json(StatusCode::OK, &otlp_result(&t)),
        Ok(Err(e)) => v3_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

async fn v3_summaries(State(api): State<Arc<Api>>, p: Params) -> Response {
    let s = match v3_search(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match blocking(move || run_search(&api, &s)).await {
        Ok(Ok(t)) => {
            let summaries: Vec<J> = t
                .iter()
                .map(|rows| {
                    let s = summary(rows);
                    json!({
                        "traceId": hex::encode(rows[0].trace_id),
                        "rootServiceName": s.root_service,
                        "rootOperationName": s.root_name,
                        "minStartTimeUnixNano": s.start_ns.to_string(),
                        "maxEndTimeUnixNano": s.end_ns.to_string(),
                        "spanCount": rows.len(),
                        "errorSpanCount": s.errors,
                        "services": s.services.iter().map(|(n, (c, e))| json!({"name": n, "spanCount": c, "errorSpanCount": e})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json(StatusCode::OK, &json!({"summaries": summaries}))
        }
        Ok(Err(e)) => v3_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// Jaeger's Monitor tab (SPM): request rate, error rate and latency quantiles per service
/// (and operation), from the RED series the store derives from spans, computed with the
/// PromQL Jaeger's Prometheus reader issues. Answers a `MetricFamily` as Jaeger does.
async fn spm_metrics(
    State(api): State<Arc<Api>>,
    Path(which): Path<String>,
    p: Params,
) -> Response {
    let services = p.all("service");
    if services.is_empty() {
        return legacy_error(
            StatusCode::BAD_REQUEST,
            "please provide at least one service name",
        );
    }
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let re = |v: &[&str]| {
        v.iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|")
    };
    let kinds: Vec<String> = {
        let k = p.all("spanKind");
        if k.is_empty() {
            vec!["SPAN_KIND_SERVER".into()]
        } else {
            k.iter()
                .map(|k| {
                    format!(
                        "SPAN_KIND_{}",
                        k.trim_start_matches("SPAN_KIND_").to_ascii_uppercase()
                    )
                })
                .collect()
        }
    };
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let by_op = p.get("groupByOperation") == Some("true");
    let ms = |k: &str, d: i64| p.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(d);
    let end = ms("endTs", now_ns() / 1_000_000);
    let lookback = ms("lookback", 3_600_000);
    let step = ms("step", 5_000).max(1);
    let rate_per = ms("ratePer", 600_000).max(1);
    let sel = format!(
        "service_name=~\"{}\", span_kind=~\"{}\"",
        esc(&re(&services)),
        esc(&re(&kinds))
    );
    let by = if by_op {
        "service_name, span_name"
    } else {
        "service_name"
    };
    let range = format!("{}ms", rate_per);
    let (name, help, query) = match which.as_str() {
        "calls" => (
            "service_call_rate",
            "calls/sec, grouped by service",
            format!("sum(rate(traces_span_metrics_calls_total{{{sel}}}[{range}])) by ({by})"),
        ),
        "errors" => (
            "service_error_rate",
            "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service",
            format!(
                "sum(rate(traces_span_metrics_calls_total{{{sel}, status_code=\"STATUS_CODE_ERROR\"}}[{range}])) by ({by}) / sum(rate(traces_span_metrics_calls_total{{{sel}}}[{range}])) by ({by})"
            ),
        ),
        "latencies" => {
            let q: f64 = match p.get("quantile").map(str::parse::<f64>) {
                Some(Ok(q)) if (0.0..=1.0).contains(&q) => q,
                _ => {
                    return legacy_error(
                        StatusCode::BAD_REQUEST,
                        "please provide a quantile between 0 and 1",
                    );
                }
            };
            (
                "service_latencies",
                "0.95th quantile latency, grouped by service",
                // Stored in seconds; Jaeger reports milliseconds.
                format!(
                    "1000 * histogram_quantile({q}, sum(rate(traces_span_metrics_duration_seconds_bucket{{{sel}}}[{range}])) by ({by}, le))"
                ),
            )
        }
        other => return legacy_error(StatusCode::NOT_FOUND, &format!("unknown metric {other}")),
    };
    let start = end - lookback;
    let r = blocking(move || {
        api.promql.range(
            &crate::adapters::Metrics(&*api.store),
            &query,
            start,
            end,
            step,
        )
    })
    .await;
    let v = match r {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return legacy_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(r) => return r,
    };
    let series = match v {
        promql::Value::Matrix(m) => m,
        _ => Vec::new(),
    };
    let metrics: Vec<J> = series
        .iter()
        .map(|s| {
            let mut labels = vec![json!({"name": "service_name", "value": store::query::label(&s.labels, "service_name")})];
            if by_op {
                labels.push(json!({"name": "operation", "value": store::query::label(&s.labels, "span_name")}));
            }
            let points: Vec<J> = s
                .floats
                .iter()
                .map(|(t, v)| {
                    let ts = jiff::Timestamp::from_millisecond(*t).map(|t| t.to_string()).unwrap_or_default();
                    let v = if v.is_nan() { 0.0 } else { *v };
                    json!({"gaugeValue": {"doubleValue": v}, "timestamp": ts})
                })
                .collect();
            json!({"labels": labels, "metricPoints": points})
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({"name": name, "type": "GAUGE", "help": help, "metrics": metrics}),
    )
}
