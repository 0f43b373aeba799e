//! The embedded assets: one line per file under `assets/` (except `assets/README.md`, which
//! documents them). The tests fail when a file is added without a line here, or when the
//! total outgrows the budget (`BUDGET_BYTES`, 200 KiB).

/// Every asset, by its path under `assets/`.
static ASSETS: &[(&str, &[u8])] = &[
    ("app.css", include_bytes!("../assets/app.css")),
    ("index.html", include_bytes!("../assets/index.html")),
    ("js/app.js", include_bytes!("../assets/js/app.js")),
    ("js/charts.js", include_bytes!("../assets/js/charts.js")),
    ("js/lib.js", include_bytes!("../assets/js/lib.js")),
    ("js/nav.js", include_bytes!("../assets/js/nav.js")),
    (
        "js/pages/collector.js",
        include_bytes!("../assets/js/pages/collector.js"),
    ),
    (
        "js/pages/graph.js",
        include_bytes!("../assets/js/pages/graph.js"),
    ),
    (
        "js/pages/jaeger.js",
        include_bytes!("../assets/js/pages/jaeger.js"),
    ),
    (
        "js/pages/loglines.js",
        include_bytes!("../assets/js/pages/loglines.js"),
    ),
    (
        "js/pages/logs.js",
        include_bytes!("../assets/js/pages/logs.js"),
    ),
    (
        "js/pages/metrics.js",
        include_bytes!("../assets/js/pages/metrics.js"),
    ),
    (
        "js/pages/red.js",
        include_bytes!("../assets/js/pages/red.js"),
    ),
    (
        "js/pages/services.js",
        include_bytes!("../assets/js/pages/services.js"),
    ),
    (
        "js/pages/trace.js",
        include_bytes!("../assets/js/pages/trace.js"),
    ),
    (
        "js/pages/traces.js",
        include_bytes!("../assets/js/pages/traces.js"),
    ),
];

/// The asset budget: every embedded file together, uncompressed, stays under 200 KiB.
#[cfg(test)]
pub const BUDGET_BYTES: usize = 200 * 1024;

/// Every embedded asset's name and bytes.
#[cfg(test)]
pub fn all() -> &'static [(&'static str, &'static [u8])] {
    ASSETS
}

pub fn get(name: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The content type, by extension.
pub fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
