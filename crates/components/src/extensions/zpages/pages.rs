//! The HTML of each page, from the service's view.

use std::fmt::Write as _;
use std::time::Duration;

use runtime::view::{LATENCY_BUCKETS, ServiceView};

use super::super::html_escape as esc;
use crate::util::time::rfc3339_utc;

const STYLE: &str = "<style>body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}td,th{border:1px solid #aaa;padding:2px 8px;text-align:left}th{background:#eee}</style>";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>{STYLE}</head>\n<body>\n<h1>{t}</h1>\n<p><a href=\"/debug/servicez\">servicez</a> | <a href=\"/debug/pipelinez\">pipelinez</a> | <a href=\"/debug/extensionz\">extensionz</a> | <a href=\"/debug/featurez\">featurez</a> | <a href=\"/debug/tracez\">tracez</a></p>\n{body}</body></html>\n",
        t = esc(title)
    )
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table>\n<tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| esc(i))
        .collect::<Vec<_>>()
        .join("<br>")
}

pub fn servicez(v: &ServiceView) -> String {
    let mut b = String::new();
    b.push_str("<h2>Build And Runtime</h2>\n");
    table(
        &mut b,
        &["Property", "Value"],
        &[
            vec!["Command".into(), esc(v.build.command)],
            vec!["Description".into(), esc(v.build.description)],
            vec!["Version".into(), esc(v.build.version)],
            vec!["Start time".into(), esc(&rfc3339_utc(v.start_time))],
            vec![
                "Uptime".into(),
                esc(&::config::Duration(Duration::from_secs(v.uptime().as_secs())).to_string()),
            ],
            vec!["Process ID".into(), std::process::id().to_string()],
        ],
    );
    let _ = writeln!(
        b,
        "<p>{} pipelines, {} extensions.</p>",
        v.pipelines.len(),
        v.extensions.len()
    );
    page("Service", &b)
}

pub fn pipelinez(v: &ServiceView) -> String {
    let rows: Vec<Vec<String>> = v
        .pipelines
        .iter()
        .map(|p| {
            let mark = |ids: &[String]| -> Vec<String> {
                ids.iter()
                    .map(|i| {
                        if p.connectors.contains(i) {
                            format!("{i} (connector)")
                        } else {
                            i.clone()
                        }
                    })
                    .collect()
            };
            vec![
                esc(&p.name),
                esc(&p.signal),
                p.mutates_data.to_string(),
                list(&mark(&p.receivers)),
                list(&p.processors),
                list(&mark(&p.exporters)),
            ]
        })
        .collect();
    let mut b = String::new();
    table(
        &mut b,
        &[
            "FullName",
            "InputType",
            "MutatesData",
            "Receivers",
            "Processors",
            "Exporters",
        ],
        &rows,
    );
    page("Pipelines", &b)
}

pub fn extensionz(v: &ServiceView) -> String {
    let rows: Vec<Vec<String>> = v.extensions.iter().map(|e| vec![esc(e)]).collect();
    let mut b = String::new();
    table(&mut b, &["FullName"], &rows);
    page("Extensions", &b)
}

pub fn featurez() -> String {
    let rows: Vec<Vec<String>> = runtime::featuregate::states()
        .into_iter()
        .map(|g| {
            vec![
                esc(&g.id),
                g.enabled.to_string(),
                esc(g.stage),
                esc(g.description),
            ]
        })
        .collect();
    let mut b = String::new();
    table(&mut b, &["ID", "Enabled", "Stage", "Description"], &rows);
    b.push_str("<p>Set with <code>--feature-gates</code> (<code>id</code>, <code>+id</code>, <code>-id</code>).</p>\n");
    page("Feature Gates", &b)
}

fn bucket_label(i: usize) -> String {
    let d = LATENCY_BUCKETS[i];
    let s = match d.as_micros() {
        0 => "0s".to_string(),
        us if us < 1000 => format!("{us}µs"),
        us if us < 1_000_000 => format!("{}ms", us / 1000),
        us if us < 60_000_000 => format!("{}s", us / 1_000_000),
        us => format!("{}m", us / 60_000_000),
    };
    format!("&gt;{s}")
}

pub fn tracez(v: &ServiceView) -> String {
    let mut head: Vec<String> = vec!["Span Name".into(), "Running".into()];
    head.extend((0..LATENCY_BUCKETS.len()).map(bucket_label));
    head.push("Errors".into());
    let mut b = String::new();
    b.push_str("<p>Go's tracez samples the collector's own spans. ferrotel has no spans of its own; it shows, per pipeline, each push of a batch into the pipeline (from its receivers or connectors, through its processors to its exporters or their queues): how many run now, how long the finished ones took, and how many failed.</p>\n");
    b.push_str("<table>\n<tr>");
    for h in &head {
        let _ = write!(b, "<th>{h}</th>");
    }
    b.push_str("</tr>\n");
    for p in &v.pipelines {
        let s = p.latency.snapshot();
        let _ = write!(
            b,
            "<tr><td>pipeline/{}</td><td>{}</td>",
            esc(&p.name),
            s.running
        );
        for n in s.buckets {
            let _ = write!(b, "<td>{n}</td>");
        }
        let _ = writeln!(b, "<td>{}</td></tr>", s.errors);
    }
    b.push_str("</table>\n");
    page("Trace Spans", &b)
}

/// Go's expvar JSON: `cmdline` and `memstats` there; here the command line and the
/// process's own figures.
pub fn expvarz(v: &ServiceView) -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut o = serde_json::Map::new();
    o.insert("cmdline".into(), serde_json::json!(args));
    o.insert("version".into(), serde_json::json!(v.build.version));
    o.insert(
        "uptime_seconds".into(),
        serde_json::json!(v.uptime().as_secs_f64()),
    );
    if let Some(rss) = runtime::telemetry::process_rss_bytes() {
        o.insert("process_rss_bytes".into(), serde_json::json!(rss));
    }
    if let Some(cpu) = runtime::telemetry::process_cpu_seconds() {
        o.insert("process_cpu_seconds".into(), serde_json::json!(cpu));
    }
    serde_json::to_string_pretty(&serde_json::Value::Object(o)).unwrap_or_default() + "\n"
}
