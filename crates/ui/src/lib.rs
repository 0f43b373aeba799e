//! `ui`: the query APIs ferrotel serves over HTTP from its embedded store — those Grafana's
//! datasources and the Jaeger UI speak, each in the upstream shape (ferrotel's own pages,
//! which read these APIs, are the `webui` crate, served on the same port):
//!
//! | API | Paths | Grafana datasource URL |
//! |---|---|---|
//! | Prometheus | `/api/v1/*` (also under `/prometheus`) | `http://host:port` or `http://host:port/prometheus` |
//! | Loki | `/loki/api/v1/*` | `http://host:port` |
//! | Tempo | `/tempo/api/*` | `http://host:port/tempo` |
//! | Jaeger (legacy and `api_v3`) | `/api/services`, `/api/traces`, `/api/v3/*`, … (also under `/jaeger`) | `http://host:port` or `http://host:port/jaeger` |
//!
//! Jaeger and Tempo both own `/api/traces/{id}` with different bodies: at the root it is
//! Jaeger's (the Jaeger UI SPA expects `/api` at the root), and Tempo is served under the
//! `/tempo` prefix, which Grafana's Tempo datasource carries in its URL. Tempo's paths that
//! Jaeger does not use (`/api/echo`, `/api/search`, `/api/v2/...`) answer at the root too.
//!
//! Every handler runs its store and query-language work on the blocking pool: a query over a
//! large range must not stall the collector's async workers.

// Helpers return their error as the ready HTTP response (`Result<T, Response>`): the size
// is on the error path only, and boxing each would add noise to every handler.
#![allow(clippy::result_large_err)]

mod adapters;
mod jaeger_api;
mod loki_api;
mod prom_api;
mod tempo_api;
#[cfg(test)]
mod tests;
pub mod time;
pub mod tracesearch;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as J;
use store::query::Backend;

/// Request bodies larger than this are refused (413), as Loki and Prometheus bound theirs.
pub const MAX_BODY: usize = 64 << 20;

/// What every handler shares.
pub struct Api {
    /// The embedded store, or any other backend answering the same questions.
    pub store: Arc<dyn Backend>,
    pub promql: promql::Engine,
    pub logql: logql::Engine,
    /// Bounds the spans one search or dependency computation reads.
    pub max_scan_spans: usize,
}

impl Api {
    pub fn new(store: Arc<dyn Backend>) -> Arc<Api> {
        Arc::new(Api {
            store,
            promql: promql::Engine::default(),
            logql: logql::Engine::default(),
            max_scan_spans: 2_000_000,
        })
    }
}

/// All query APIs on one router.
pub fn router(api: Arc<Api>) -> Router {
    let prom = prom_api::routes();
    let jaeger = jaeger_api::routes();
    let tempo = tempo_api::routes();
    Router::new()
        .merge(prom.clone())
        .nest("/prometheus", prom)
        .merge(loki_api::routes())
        .merge(jaeger.clone())
        .nest("/jaeger", jaeger)
        .merge(tempo_api::root_routes())
        .nest("/tempo", tempo)
        .route("/ready", axum::routing::get(|| async { "ready\n" }))
        .with_state(api)
}

/// The lines printed at startup: where each API is, as a datasource URL.
pub fn banner(base: &str) -> Vec<String> {
    vec![
        format!("Prometheus API: {base}  (Grafana Prometheus datasource URL)"),
        format!("Loki API:       {base}  (Grafana Loki datasource URL)"),
        format!("Tempo API:      {base}/tempo  (Grafana Tempo datasource URL)"),
        format!("Jaeger API:     {base}  (Grafana Jaeger datasource URL, Jaeger UI query base)"),
    ]
}

/// Query-string and form parameters, in order, repeated keys kept.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Handlers take their parameters as an extractor; a body that cannot be read answers 413.
impl<S: Send + Sync> axum::extract::FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Response> {
        params(req).await.map(|(p, _, _)| p)
    }
}

/// Reads a request's parameters: the query string, and for a form POST (Grafana posts its
/// Prometheus queries) the body too.
pub async fn params(
    req: Request,
) -> Result<(Params, axum::http::request::Parts, bytes::Bytes), Response> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| text(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body: {e}")))?;
    let mut p: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        p.extend(form_urlencoded::parse(&body).into_owned());
    }
    Ok((Params(p), parts, body))
}

pub fn json(status: StatusCode, v: &J) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn text(status: StatusCode, s: &str) -> Response {
    (status, s.to_string()).into_response()
}

pub fn bytes_response(status: StatusCode, content_type: &'static str, b: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(b));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Runs store and query work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("query failed: {e}"),
        )
    })
}

/// The body of a push, gunzipped when `Content-Encoding: gzip`.
pub fn decoded_body(
    parts: &axum::http::request::Parts,
    body: bytes::Bytes,
) -> Result<bytes::Bytes, Response> {
    let gz = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gz {
        return Ok(body);
    }
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("gzip: {e}")))?;
    if out.len() > MAX_BODY {
        return Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "decompressed body too large",
        ));
    }
    Ok(out.into())
}
