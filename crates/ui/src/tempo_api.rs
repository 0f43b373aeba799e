//! Tempo's HTTP API as Grafana's Tempo datasource uses it: echo, build info, trace by id
//! (protobuf and JSON, v1 and v2), TraceQL and legacy tag search, tag names and values.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use pdata::proto::trace::v1::ResourceSpans;
use prost::Message;
use serde_json::{Value as J, json};
use traceql::TraceInfo;

use crate::tracesearch::{parse_trace_id, search, span_attributes, summary};
use crate::{Api, Params, blocking, bytes_response, json, text};

/// Under the `/tempo` prefix.
pub fn routes() -> Router<Arc<Api>> {
    root_routes().route("/api/traces/{id}", get(trace_v1))
}

/// The paths Jaeger does not use, also served at the root.
pub fn root_routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/api/echo", get(|| async { "echo" }))
        .route("/api/status/buildinfo", get(buildinfo))
        .route("/api/v2/traces/{id}", get(trace_v2))
        .route("/api/search", get(search_handler))
        .route("/api/search/tags", get(tags_v1))
        .route("/api/v2/search/tags", get(tags_v2))
        .route("/api/search/tag/{tag}/values", get(values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(values_v2))
}

/// `tempopb.Trace`: field 1 is `repeated ResourceSpans`, so it is wire-identical to OTLP's
/// `TracesData`.
#[derive(Clone, PartialEq, prost::Message)]
struct TempoTrace {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    inspected_bytes: u64,
}

/// `tempopb.TraceByIDResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TempoTrace>,
    #[prost(message, optional, tag = "2")]
    metrics: Option<TraceByIdMetrics>,
    /// 0 COMPLETE, 1 PARTIAL
    #[prost(int32, tag = "3")]
    status: i32,
    #[prost(string, tag = "4")]
    message: String,
}

fn wants_protobuf(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/protobuf"))
}

async fn buildinfo() -> Response {
    json(
        StatusCode::OK,
        &json!({"version": "2.8.0", "revision": concat!("ferrotel-", env!("CARGO_PKG_VERSION")), "branch": "ferrotel", "buildDate": "", "buildUser": "ferrotel", "goVersion": ""}),
    )
}

async fn load(api: &Arc<Api>, id: &str) -> Result<Vec<ResourceSpans>, Response> {
    let Some(tid) = parse_trace_id(id) else {
        return Err(text(
            StatusCode::BAD_REQUEST,
            &format!("invalid trace id: {id}"),
        ));
    };
    let api = api.clone();
    let rows = blocking(move || api.store.trace(&tid))
        .await?
        .map_err(|e| text(StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    if rows.is_empty() {
        return Err(text(StatusCode::NOT_FOUND, "trace not found"));
    }
    Ok(store::traces::assemble(&rows))
}

async fn trace_v1(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rs = match load(&api, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if wants_protobuf(&headers) {
        return bytes_response(
            StatusCode::OK,
            "application/protobuf",
            TempoTrace { resource_spans: rs }.encode_to_vec(),
        );
    }
    let otlp = jaeger::uimodel::otlp_json_traces(&rs, jaeger::uimodel::OtlpJsonStyle::Tempo);
    json(StatusCode::OK, &json!({"batches": otlp["resourceSpans"]}))
}

async fn trace_v2(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rs = match load(&api, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if wants_protobuf(&headers) {
        let resp = TraceByIdResponse {
            trace: Some(TempoTrace { resource_spans: rs }),
            metrics: Some(TraceByIdMetrics::default()),
            status: 0,
            message: String::new(),
        };
        return bytes_response(StatusCode::OK, "application/protobuf", resp.encode_to_vec());
    }
    let otlp = jaeger::uimodel::otlp_json_traces(&rs, jaeger::uimodel::OtlpJsonStyle::Tempo);
    json(
        StatusCode::OK,
        &json!({"trace": otlp, "status": "COMPLETE"}),
    )
}

/// Seconds, as Tempo reads `start`/`end`.
fn secs(p: &Params, k: &str) -> Result<Option<i64>, Response> {
    match p.get(k) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(|s| Some(s.saturating_mul(1_000_000_000)))
            .map_err(|_| text(StatusCode::BAD_REQUEST, &format!("invalid {k}: {v}"))),
    }
}

async fn search_handler(State(api): State<Arc<Api>>, p: Params) -> Response {
    let query = match p.get("q") {
        Some(q) => traceql::parse(q),
        None => traceql::from_legacy_search(&traceql::LegacySearch {
            tags: p.get("tags"),
            min_duration: p.get("minDuration"),
            max_duration: p.get("maxDuration"),
        }),
    };
    let query = match query {
        Ok(q) => q,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.message()),
    };
    let limit = p
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(20);
    let spss = p
        .get("spss")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(3);
    let (start, end) = match (secs(&p, "start"), secs(&p, "end")) {
        (Ok(s), Ok(e)) => (s.unwrap_or(0), e.map_or(i64::MAX, |e| e + 999_999_999)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let r = blocking(move || -> Result<J, String> {
        let found = search(&*api.store, &query, start, end, limit)?;
        let mut traces = Vec::new();
        let mut inspected = 0usize;
        for f in &found {
            inspected += f.rows.len();
            let s = summary(&f.rows);
            let info = TraceInfo {
                root_service: &s.root_service,
                root_name: &s.root_name,
                duration_ns: s.end_ns.saturating_sub(s.start_ns),
            };
            let spans: Vec<J> = f
                .matched
                .iter()
                .take(spss)
                .map(|&i| {
                    let r = &f.rows[i];
                    json!({
                        "spanID": hex::encode(r.span_id),
                        "name": &*r.name,
                        "startTimeUnixNano": r.start_ns.to_string(),
                        "durationNanos": r.duration_ns().to_string(),
                        "attributes": span_attributes(&query, r, &info),
                    })
                })
                .collect();
            let set = json!({"spans": spans, "matched": f.matched.len()});
            let stats: serde_json::Map<String, J> = s
                .services
                .iter()
                .map(|(k, (n, e))| (k.clone(), json!({"spanCount": n, "errorCount": e})))
                .collect();
            traces.push(json!({
                "traceID": hex::encode(f.rows[0].trace_id),
                "rootServiceName": s.root_service,
                "rootTraceName": s.root_name,
                "startTimeUnixNano": s.start_ns.to_string(),
                "durationMs": (s.end_ns.saturating_sub(s.start_ns)) / 1_000_000,
                "spanSet": set,
                "spanSets": [set],
                "serviceStats": stats,
            }));
        }
        Ok(json!({
            "traces": traces,
            "metrics": {"inspectedTraces": found.len(), "inspectedBytes": "0", "inspectedSpans": inspected.to_string(), "completedJobs": 1, "totalJobs": 1},
        }))
    })
    .await;
    match r {
        Ok(Ok(v)) => json(StatusCode::OK, &v),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// Attribute keys seen on spans and resources in the range, from the most recent spans (at
/// most `max_scan_spans`).
fn tag_names(
    api: &Api,
    start: i64,
    end: i64,
) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let mut span = BTreeSet::new();
    let mut resource = BTreeSet::new();
    let mut seen_res = std::collections::HashSet::new();
    let mut n = 0usize;
    let max = api.max_scan_spans.min(200_000);
    api.store.for_each_span(start, end, &mut |r| {
        let s = store::SpanRef::new(r);
        if let Some(sp) = s.span() {
            span.extend(sp.attributes.iter().map(|kv| kv.key.clone()));
        }
        if seen_res.insert(r.resource.clone())
            && let Some(res) = s.resource()
        {
            resource.extend(res.attributes.iter().map(|kv| kv.key.clone()));
        }
        n += 1;
        n < max
    })?;
    Ok((span, resource))
}

fn range(p: &Params) -> Result<(i64, i64), Response> {
    let start = secs(p, "start")?.unwrap_or(0);
    let end = secs(p, "end")?.map_or(i64::MAX, |e| e + 999_999_999);
    Ok((start, end))
}

const INTRINSICS: &[&str] = &[
    "duration",
    "event:name",
    "kind",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:kind",
    "span:name",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

async fn tags_v1(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let scope = p.get("scope").map(str::to_string);
    match blocking(move || tag_names(&api, start, end)).await {
        Ok(Ok((span, resource))) => {
            let mut names: BTreeSet<String> = BTreeSet::new();
            match scope.as_deref() {
                Some("span") => names.extend(span),
                Some("resource") => names.extend(resource),
                Some("intrinsic") => names.extend(INTRINSICS.iter().map(|s| s.to_string())),
                _ => {
                    names.extend(span);
                    names.extend(resource);
                }
            }
            json(StatusCode::OK, &json!({"tagNames": names}))
        }
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

async fn tags_v2(State(api): State<Arc<Api>>, p: Params) -> Response {
    let (start, end) = match range(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let scope = p.get("scope").map(str::to_string);
    match blocking(move || tag_names(&api, start, end)).await {
        Ok(Ok((span, resource))) => {
            let mut scopes = Vec::new();
            let want = |s: &str| scope.as_deref().is_none_or(|w| w == s || w == "all");
            if want("span") {
                scopes.push(json!({"name": "span", "tags": span}));
            }
            if want("resource") {
                scopes.push(json!({"name": "resource", "tags": resource}));
            }
            if want("intrinsic") {
                scopes.push(json!({"name": "intrinsic", "tags": INTRINSICS}));
            }
            json(StatusCode::OK, &json!({"scopes": scopes}))
        }
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

/// Distinct values of a tag (scoped `span.x`/`resource.x`/`.x`, an intrinsic, or a bare
/// name read from span then resource), with their TraceQL types.
fn tag_values(
    api: &Api,
    tag: &str,
    start: i64,
    end: i64,
    filter: Option<&traceql::Query>,
) -> Result<Vec<(String, &'static str)>, String> {
    use pdata::proto::common::v1::any_value::Value as V;
    let (scope, key) = if let Some(k) = tag.strip_prefix("span.") {
        ("span", k)
    } else if let Some(k) = tag.strip_prefix("resource.") {
        ("resource", k)
    } else if let Some(k) = tag.strip_prefix('.') {
        ("any", k)
    } else {
        ("bare", tag)
    };
    let mut out: BTreeSet<(String, &'static str)> = BTreeSet::new();
    let mut n = 0usize;
    let max = api.max_scan_spans.min(200_000);
    api.store.for_each_span(start, end, &mut |r| {
        n += 1;
        let s = store::SpanRef::new(r);
        if let Some(q) = filter
            && !q.matches_span(
                &crate::adapters::SpanV(store::SpanRef::new(r)),
                &TraceInfo::default(),
            )
        {
            return n < max;
        }
        let intrinsic: Option<(String, &'static str)> = match (scope, key) {
            ("bare", "name") | ("bare", "span:name") => Some((r.name.to_string(), "string")),
            ("bare", "status") | ("bare", "span:status") => Some((
                ["unset", "ok", "error"][r.status.min(2) as usize].into(),
                "keyword",
            )),
            ("bare", "kind") | ("bare", "span:kind") => Some((
                [
                    "unspecified",
                    "internal",
                    "server",
                    "client",
                    "producer",
                    "consumer",
                ][r.kind.min(5) as usize]
                    .into(),
                "keyword",
            )),
            ("bare", "rootServiceName") | ("bare", "trace:rootService") if r.is_root() => {
                Some((r.service.to_string(), "string"))
            }
            ("bare", "rootName") | ("bare", "trace:rootName") if r.is_root() => {
                Some((r.name.to_string(), "string"))
            }
            _ => None,
        };
        if let Some(v) = intrinsic {
            out.insert(v);
            return out.len() < 1000 && n < max;
        }
        let v = match scope {
            "span" => s.span_attr(key),
            "resource" => s.resource_attr(key),
            _ => s.span_attr(key).or_else(|| s.resource_attr(key)),
        };
        if let Some(v) = v.and_then(|v| v.value.as_ref()) {
            let tv = match v {
                V::StringValue(x) => Some((x.clone(), "string")),
                V::IntValue(i) => Some((i.to_string(), "int")),
                V::DoubleValue(d) => Some((d.to_string(), "float")),
                V::BoolValue(b) => Some((b.to_string(), "bool")),
                _ => None,
            };
            out.extend(tv);
        }
        out.len() < 1000 && n < max
    })?;
    Ok(out.into_iter().collect())
}

async fn values_v1(State(api): State<Arc<Api>>, Path(tag): Path<String>, p: Params) -> Response {
    let (start, end) = match range(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match blocking(move || tag_values(&api, &tag, start, end, None)).await {
        Ok(Ok(v)) => {
            let vals: BTreeSet<String> = v.into_iter().map(|(s, _)| s).collect();
            json(StatusCode::OK, &json!({"tagValues": vals}))
        }
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}

async fn values_v2(State(api): State<Arc<Api>>, Path(tag): Path<String>, p: Params) -> Response {
    let (start, end) = match range(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    // Grafana double-encodes the tag in the path; axum decoded it once.
    let tag = form_urlencoded::parse(format!("t={tag}").as_bytes())
        .next()
        .map_or(tag, |(_, v)| v.into_owned());
    // Grafana sends partial queries while the user types: no filter then.
    let filter = p
        .get("q")
        .filter(|q| q.trim() != "{}")
        .and_then(|q| traceql::parse(q).ok());
    match blocking(move || tag_values(&api, &tag, start, end, filter.as_ref())).await {
        Ok(Ok(v)) => json(
            StatusCode::OK,
            &json!({"tagValues": v.iter().map(|(s, t)| json!({"type": t, "value": s})).collect::<Vec<_>>(), "metrics": {}}),
        ),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(r) => r,
    }
}
