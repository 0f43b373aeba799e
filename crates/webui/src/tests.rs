//! The asset table, the budget, and the routes the pages rely on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::assets;

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// Every file under `assets/` by its path relative to it (`/`-separated).
fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, base, out);
        } else {
            let rel = p.strip_prefix(base).unwrap();
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
}

fn app() -> axum::Router {
    crate::router(Arc::new(
        || serde_json::json!({"version": "test", "pipelines": [{"name": "traces"}], "metrics": [{"name": "otelcol_receiver_accepted_spans", "value": 7}]}),
    ))
}

async fn get(path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let r = app()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

#[test]
fn every_file_under_assets_is_in_the_table_and_matches_it() {
    let mut files = Vec::new();
    walk(&assets_dir(), &assets_dir(), &mut files);
    files.retain(|f| f != "README.md");
    files.sort();
    let mut table: Vec<String> = assets::all().iter().map(|(n, _)| n.to_string()).collect();
    table.sort();
    assert_eq!(
        files, table,
        "assets/ and the table in src/assets.rs differ: add one include_bytes! line per file"
    );
    for (name, bytes) in assets::all() {
        assert_eq!(
            std::fs::read(assets_dir().join(name)).unwrap(),
            *bytes,
            "{name}: embedded bytes differ from the file"
        );
    }
}

#[test]
fn total_asset_size_stays_within_the_budget() {
    let total: usize = assets::all().iter().map(|(_, b)| b.len()).sum();
    assert!(
        total <= assets::BUDGET_BYTES,
        "assets are {total} bytes, the budget is {} (200 KiB)",
        assets::BUDGET_BYTES
    );
}

#[test]
fn every_module_the_pages_import_is_embedded() {
    // `import … from "./x.js"` / `"../x.js"` in each module must name an embedded asset
    let re_from = "from \"";
    for (name, bytes) in assets::all().iter().filter(|(n, _)| n.ends_with(".js")) {
        let text = std::str::from_utf8(bytes).unwrap();
        let dir = Path::new(name).parent().unwrap();
        for part in text.split(re_from).skip(1) {
            let spec = &part[..part.find('"').unwrap()];
            if !spec.starts_with('.') {
                panic!("{name}: imports {spec} (only relative imports of embedded modules)");
            }
            let mut p = dir.to_path_buf();
            for c in spec.split('/') {
                match c {
                    "." => {}
                    ".." => {
                        p.pop();
                    }
                    c => p.push(c),
                }
            }
            let target = p.to_string_lossy().replace('\\', "/");
            assert!(
                assets::get(&target).is_some(),
                "{name} imports {spec} = {target}, which is not embedded"
            );
        }
    }
}

#[tokio::test]
async fn index_is_served_for_the_root_of_the_ui_and_every_deep_path() {
    let index = assets::get("index.html").unwrap();
    for path in [
        "/ui/",
        "/ui/services",
        "/ui/services/grocery-store",
        "/ui/trace/0af7651916cd43dd8448eb211c80319c?span=b7ad6b7169203331",
        "/ui/logs?query=%7Bservice_name%3D%22x%22%7D",
        "/ui/collector",
    ] {
        let (status, ct, body) = get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(ct.as_deref(), Some("text/html; charset=utf-8"), "{path}");
        assert_eq!(body, index, "{path}");
    }
    let r = app()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()[header::LOCATION], "/ui/");
}

#[tokio::test]
async fn assets_are_served_with_their_content_type() {
    for (name, want) in [
        ("app.css", "text/css; charset=utf-8"),
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("js/pages/trace.js", "text/javascript; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ] {
        let (status, ct, body) = get(&format!("/ui/assets/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(ct.as_deref(), Some(want), "{name}");
        assert_eq!(body, assets::get(name).unwrap(), "{name}");
    }
}

#[tokio::test]
async fn unknown_assets_are_404() {
    for path in [
        "/ui/assets/nope.js",
        "/ui/assets/js/pages/nope.js",
        "/ui/assets/README.md",
    ] {
        let (status, _, _) = get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn collector_endpoint_returns_the_closures_json() {
    let (status, ct, body) = get("/api/ferrotel/collector").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"version": "test", "pipelines": [{"name": "traces"}], "metrics": [{"name": "otelcol_receiver_accepted_spans", "value": 7}]})
    );
}
