use std::sync::Arc;
use std::time::Duration;

use runtime::factory::{ExtensionFactory, typed};
use runtime::view::{Latency, PipelineView, ServiceView};
use runtime::{Component, Host};

use super::*;

fn parse(yaml: &str) -> Result<AnyConfig, ::config::ConfigError> {
    Factory.parse_config(
        &::config::Value::from_yaml_str(yaml).unwrap(),
        "extensions::zpages",
    )
}

fn pipeline(name: &str, r: &[&str], p: &[&str], e: &[&str], conns: &[&str]) -> PipelineView {
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PipelineView {
        name: name.into(),
        signal: name.split('/').next().unwrap().into(),
        receivers: v(r),
        processors: v(p),
        exporters: v(e),
        connectors: v(conns),
        mutates_data: !p.is_empty(),
        latency: Arc::new(Latency::default()),
    }
}

fn view() -> ServiceView {
    ServiceView {
        pipelines: vec![
            pipeline(
                "traces",
                &["otlp"],
                &["batch"],
                &["otlp_grpc/jaeger", "spanmetrics"],
                &["spanmetrics"],
            ),
            pipeline(
                "metrics/spans",
                &["spanmetrics"],
                &[],
                &["prometheus"],
                &["spanmetrics"],
            ),
        ],
        extensions: vec!["zpages".into(), "health_check".into()],
        ..ServiceView::default()
    }
}

async fn started(yaml: &str, view: ServiceView) -> (ZPages, SocketAddr) {
    let cfg = parse(yaml).unwrap();
    let z = ZPages::new("zpages".into(), typed::<Config>(&cfg).clone());
    let host = Host {
        service: Arc::new(view),
        ..Host::default()
    };
    z.start(&host).await.unwrap();
    let addr = z.local_addr().unwrap();
    (z, addr)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[test]
fn defaults_and_validation_are_the_core_extensions() {
    let cfg = parse("").unwrap();
    let c: &Config = typed(&cfg);
    assert_eq!(c.endpoint, "localhost:55679");
    assert!(!c.expvar.enabled);
    let cfg = parse("endpoint: 0.0.0.0:55679\nexpvar: {enabled: true}").unwrap();
    assert!(typed::<Config>(&cfg).expvar.enabled);
    assert_eq!(
        parse("endpoint: ''").unwrap_err().to_string(),
        "extensions::zpages: \"endpoint\" is required when using the \"zpages\" extension"
    );
    assert!(parse("nope: 1").unwrap_err().to_string().contains("nope"));
}

#[tokio::test]
async fn pages_show_the_running_services_pipelines_extensions_and_build() {
    let (z, addr) = started("endpoint: 127.0.0.1:0", view()).await;

    let (code, ct, html) = get(addr, "/debug/pipelinez").await;
    assert_eq!((code, ct.as_str()), (200, "text/html; charset=utf-8"));
    for cell in [
        "<td>traces</td><td>traces</td><td>true</td><td>otlp</td><td>batch</td><td>otlp_grpc/jaeger<br>spanmetrics (connector)</td>",
        "<td>metrics/spans</td><td>metrics</td><td>false</td><td>spanmetrics (connector)</td><td></td><td>prometheus</td>",
    ] {
        assert!(html.contains(cell), "{cell} not in {html}");
    }

    let (code, _, html) = get(addr, "/debug/extensionz").await;
    assert_eq!(code, 200);
    assert!(
        html.contains("<td>zpages</td>") && html.contains("<td>health_check</td>"),
        "{html}"
    );

    let (code, _, html) = get(addr, "/debug/servicez").await;
    assert_eq!(code, 200);
    assert!(html.contains("<td>Command</td><td>ferrotel</td>"), "{html}");
    assert!(html.contains(&format!(
        "<td>Version</td><td>{}</td>",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(html.contains("<td>Uptime</td>"));

    let (code, _, html) = get(addr, "/debug/featurez").await;
    assert_eq!(code, 200);
    assert!(
        html.contains("<td>connector.servicegraph.virtualNode</td><td>true</td><td>Beta</td>"),
        "{html}"
    );

    // expvarz is off unless enabled; unknown paths are Go's 404.
    assert_eq!(get(addr, "/debug/expvarz").await.0, 404);
    let (code, _, body) = get(addr, "/debug/nope").await;
    assert_eq!((code, body.as_str()), (404, "404 page not found\n"));
    z.shutdown().await.unwrap();
}

#[tokio::test]
async fn tracez_shows_pipeline_pushes_in_zpages_latency_buckets() {
    let v = view();
    let lat = v.pipelines[0].latency.clone();
    lat.record(Duration::from_micros(5), false);
    lat.record(Duration::from_millis(3), false);
    lat.record(Duration::from_millis(4), true);
    let (z, addr) = started("endpoint: 127.0.0.1:0", v).await;
    let (code, _, html) = get(addr, "/debug/tracez").await;
    assert_eq!(code, 200);
    assert!(html.contains("<th>&gt;0s</th><th>&gt;10µs</th><th>&gt;100µs</th><th>&gt;1ms</th><th>&gt;10ms</th><th>&gt;100ms</th><th>&gt;1s</th><th>&gt;10s</th><th>&gt;1m</th><th>Errors</th>"), "{html}");
    assert!(
        html.contains("<tr><td>pipeline/traces</td><td>0</td><td>1</td><td>0</td><td>0</td><td>2</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>"),
        "{html}"
    );
    assert!(html.contains("<td>pipeline/metrics/spans</td>"));
    z.shutdown().await.unwrap();
}

#[tokio::test]
async fn expvarz_serves_process_facts_when_enabled() {
    let (z, addr) = started("endpoint: 127.0.0.1:0\nexpvar:\n  enabled: true", view()).await;
    let (code, ct, body) = get(addr, "/debug/expvarz").await;
    assert_eq!(
        (code, ct.as_str()),
        (200, "application/json; charset=utf-8")
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["cmdline"],
        serde_json::json!(std::env::args().collect::<Vec<_>>())
    );
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["uptime_seconds"].is_number());
    z.shutdown().await.unwrap();
}
