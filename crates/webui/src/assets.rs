//! The embedded assets: one line per file under `assets/`. The tests fail when a file is
//! added without a line here, or when the total outgrows the budget.

/// Every asset, by its path under `assets/`.
static ASSETS: &[(&str, &[u8])] = &[("index.html", include_bytes!("../assets/index.html"))];

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
