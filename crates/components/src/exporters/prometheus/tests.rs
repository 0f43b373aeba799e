//! `prometheus` through its factory: OTLP in, scrapes over HTTP on 127.0.0.1.

use std::sync::Arc;

use pdata::{Batch, Request, Signal};
use promtranslate::build::*;
use runtime::ComponentConfig;
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;

const T: u64 = 1_700_000_000_000_000_000;
const S: u64 = 1_000_000_000;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn exporter(extra: &str) -> (Arc<dyn runtime::Exporter>, String, Telemetry) {
    let port = free_port();
    let yaml = format!("endpoint: 127.0.0.1:{port}\n{extra}");
    let value = config::Value::from_yaml_str(&yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "exporters::prometheus")
        .unwrap_or_else(|e| panic!("{e}"));
    let tel = Telemetry::default();
    let set = Settings {
        id: config::ComponentId::new("prometheus"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    let exp = Factory.create(set, &cfg, Signal::Metrics).unwrap();
    exp.start(&Host::default()).await.unwrap();
    (exp, format!("http://127.0.0.1:{port}/metrics"), tel)
}

fn batch(metrics: Vec<pdata::proto::metrics::v1::Metric>) -> Batch {
    Batch::from_request(Request::Metrics(request(
        vec![
            kv("service.name", "cart"),
            kv("service.namespace", "shop"),
            kv("service.instance.id", "i-1"),
            kv("host.name", "h1"),
        ],
        metrics,
    )))
}

async fn get(url: &str, accept: Option<&str>) -> (String, String) {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    (ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn serves_otlp_metrics_under_gos_names_with_target_info() {
    let (exp, url, tel) =
        exporter("namespace: demo\nconst_labels: {env: prod}\nwithout_scope_info: true").await;
    exp.consume(batch(vec![
        sum(
            "calls",
            "",
            true,
            false,
            vec![point(vec![kv("http.method", "GET")], T, T + S, 4.0)],
        ),
        histogram(
            "duration",
            "ms",
            false,
            vec![hpoint(vec![], T, T + S, &[2.0, 4.0], &[1, 0, 1], 7.0)],
        ),
    ]))
    .await
    .unwrap();
    let (ct, body) = get(&url, None).await;
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    let want = "# HELP demo_calls_total 
# TYPE demo_calls_total counter
demo_calls_total{env=\"prod\",http_method=\"GET\",instance=\"i-1\",job=\"shop/cart\"} 4
# HELP demo_duration_milliseconds 
# TYPE demo_duration_milliseconds histogram
demo_duration_milliseconds_bucket{env=\"prod\",instance=\"i-1\",job=\"shop/cart\",le=\"2\"} 1
demo_duration_milliseconds_bucket{env=\"prod\",instance=\"i-1\",job=\"shop/cart\",le=\"4\"} 1
demo_duration_milliseconds_bucket{env=\"prod\",instance=\"i-1\",job=\"shop/cart\",le=\"+Inf\"} 2
demo_duration_milliseconds_sum{env=\"prod\",instance=\"i-1\",job=\"shop/cart\"} 7
demo_duration_milliseconds_count{env=\"prod\",instance=\"i-1\",job=\"shop/cart\"} 2
# HELP demo_target_info Target metadata
# TYPE demo_target_info gauge
demo_target_info{host_name=\"h1\",instance=\"i-1\",job=\"shop/cart\"} 1
";
    assert_eq!(body, want);
    assert_eq!(
        tel.value(
            "otelcol_exporter_sent_metric_points",
            &[("exporter", "prometheus")]
        ),
        Some(2.0)
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn delta_counters_are_accumulated_across_batches() {
    let (exp, url, _) = exporter("without_scope_info: true").await;
    for i in 0..3 {
        exp.consume(batch(vec![sum(
            "c",
            "",
            true,
            true,
            vec![point(vec![], T + i * S, T + (i + 1) * S, 2.0)],
        )]))
        .await
        .unwrap();
    }
    let (_, body) = get(&url, None).await;
    assert!(
        body.contains("c_total{instance=\"i-1\",job=\"shop/cart\"} 6\n"),
        "{body}"
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn openmetrics_when_enabled_and_asked_gzip_when_accepted() {
    let (exp, url, _) =
        exporter("enable_open_metrics: true\nwithout_scope_info: true\nresponse_headers: {X-Served-By: ferrotel}").await;
    exp.consume(batch(vec![gauge(
        "g",
        "1",
        vec![point(vec![], 0, T, 0.25)],
    )]))
    .await
    .unwrap();
    let (ct, body) = get(
        &url,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(
        ct,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(
        body.contains("g_ratio{instance=\"i-1\",job=\"shop/cart\"} 0.25\n"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    // reqwest without its gzip feature: ask by hand and check the header and magic bytes.
    let resp = reqwest::Client::new()
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers().get("content-encoding").unwrap(), "gzip");
    assert_eq!(resp.headers().get("x-served-by").unwrap(), "ferrotel");
    let raw = resp.bytes().await.unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b]);
    let plain =
        crate::compression::decompress(crate::compression::Codec::Gzip, &raw, 1 << 20).unwrap();
    assert!(
        String::from_utf8(plain)
            .unwrap()
            .contains("# TYPE g_ratio gauge")
    );
    // Other paths are not served.
    let resp = reqwest::get(url.replace("/metrics", "/other"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn expired_series_leave_the_scrape() {
    let (exp, url, _) = exporter("metric_expiration: 300ms\nwithout_scope_info: true").await;
    exp.consume(batch(vec![gauge("g", "", vec![point(vec![], 0, T, 1.0)])]))
        .await
        .unwrap();
    assert!(get(&url, None).await.1.contains("g{"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let body = get(&url, None).await.1;
    assert!(!body.contains("g{"), "{body}");
    exp.shutdown().await.unwrap();
}

fn validate(yaml: &str) -> Result<super::Config, String> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg: super::Config =
        config::decode(&value, "exporters::prometheus").map_err(|e| e.to_string())?;
    cfg.validate()?;
    Ok(cfg)
}

#[test]
fn config_defaults_and_checks() {
    let c = validate("endpoint: 0.0.0.0:8889").unwrap();
    assert_eq!(c.metric_expiration.0, std::time::Duration::from_secs(300));
    assert!(c.add_metric_suffixes);
    assert!(c.with_suffixes());
    assert!(!c.send_timestamps);
    assert!(!c.enable_open_metrics);
    assert!(validate("{}").is_err());
    let c = validate("endpoint: :8889\ntranslation_strategy: UnderscoreEscapingWithoutSuffixes")
        .unwrap();
    assert!(!c.with_suffixes());
    assert!(
        validate("endpoint: :8889\ntranslation_strategy: NoTranslation")
            .unwrap_err()
            .contains("not supported")
    );
    assert!(
        validate("endpoint: :8889\nbogus: 1")
            .unwrap_err()
            .contains("bogus")
    );
    validate("endpoint: :8889\nnamespace: demo\nconst_labels: {a: b}\nsend_timestamps: true\nresource_to_telemetry_conversion: {enabled: true}\nenable_open_metrics: true\nadd_metric_suffixes: false\nwithout_scope_info: true").unwrap();
}
