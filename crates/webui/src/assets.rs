//! The embedded assets: one line per file under `assets/`. The test below fails when a file
//! is added without a line here, or when the total outgrows the budget.

/// Every asset with its content type.
static ASSETS: &[(&str, &[u8], &str)] = &[(
    "index.html",
    include_bytes!("../assets/index.html"),
    "text/html; charset=utf-8",
)];

pub fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, b, m)| (*b, *m))
}
