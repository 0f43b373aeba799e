//! `webui`: ferrotel's browser UI. It owns the static pages (HTML, CSS and plain ES-module
//! JavaScript under `assets/`, embedded into the binary at compile time: no Node build step,
//! no CDN, works offline) and the one endpoint those pages need that the query APIs of the
//! `ui` crate do not answer: `/api/ferrotel/collector` (the running pipelines and live
//! self-metrics). Everything else the pages show they read from the Prometheus, Loki and
//! Jaeger APIs the `ui` crate serves on the same port, so the UI shows exactly what Grafana
//! would.
//!
//! Assets: `index.html`, `app.css` and the ES modules under `js/` (one per page in
//! `js/pages/`); hand-written SVG charts, no framework. Budget: all assets together stay under
//! 200 KiB uncompressed (a unit test holds it). `assets/README.md` lists the files and, per
//! page, the API requests it makes.
//!
//! Paths: `/` redirects to `/ui/`; `/ui/assets/<file>` are the assets; every other `/ui/...`
//! path answers `index.html` (the pages route on the client with the History API, so every
//! view has a URL that pastes into a chat and opens the same view).

mod assets;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// The collector's own status as JSON (pipelines, extensions, self-metrics), produced on
/// each request by whoever runs the UI (the `embedded_store` extension).
pub type CollectorStatus = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The UI's routes, to be merged with the query APIs' router on the same listener.
pub fn router(collector: CollectorStatus) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/assets/{*file}", get(asset))
        .route("/ui/{*view}", get(index))
        .route(
            "/api/ferrotel/collector",
            get(move || {
                let c = collector.clone();
                async move {
                    let mut r = c().to_string().into_response();
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    r
                }
            }),
        )
}

async fn index() -> Response {
    serve("index.html", false)
}

async fn asset(Path(file): Path<String>) -> Response {
    serve(&file, true)
}

fn serve(file: &str, immutable: bool) -> Response {
    // For working on the pages: FERROTEL_UI_ASSETS=crates/webui/assets serves them from disk,
    // so an edit shows on reload without rebuilding the binary (names with `..` refused).
    let body = match std::env::var_os("FERROTEL_UI_ASSETS") {
        Some(dir) if !file.split('/').any(|c| c == ".." || c.is_empty()) => {
            match std::fs::read(std::path::Path::new(&dir).join(file)) {
                Ok(b) => axum::body::Body::from(b),
                Err(e) => {
                    return (StatusCode::NOT_FOUND, format!("{file}: {e}\n")).into_response();
                }
            }
        }
        _ => match assets::get(file) {
            Some(b) => axum::body::Body::from(b),
            None => return (StatusCode::NOT_FOUND, format!("no asset {file}\n")).into_response(),
        },
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(assets::mime(file)),
    );
    // Assets change with the binary: revalidate instead of caching stale pages.
    let cache = if immutable { "no-cache" } else { "no-store" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
