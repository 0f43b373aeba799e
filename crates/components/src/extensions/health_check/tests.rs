use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use runtime::factory::{ExtensionFactory, typed};
use runtime::{Component, Extension, Host};

use super::*;

struct Answer {
    status: u16,
    content_type: Option<String>,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: axum::http::Uri = format!("http://{addr}{path}").parse().unwrap();
    let resp = client.get(uri).await.expect("server answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn parse(yaml: &str) -> Result<AnyConfig, ::config::ConfigError> {
    Factory.parse_config(
        &::config::Value::from_yaml_str(yaml).unwrap(),
        "extensions::health_check",
    )
}

async fn started(yaml: &str) -> (HealthCheck, SocketAddr) {
    let cfg = parse(yaml).unwrap();
    let hc = HealthCheck::new("health_check".into(), typed::<Config>(&cfg).clone());
    hc.start(&Host::default()).await.unwrap();
    let addr = hc.local_addr().unwrap();
    (hc, addr)
}

const NOT_AVAILABLE: &str =
    r#"{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}"#;

#[tokio::test]
async fn answers_503_until_pipelines_are_ready_then_200_then_503_at_shutdown() {
    let (hc, addr) = started("endpoint: 127.0.0.1:0").await;

    let before = get(addr, "/").await;
    assert_eq!(before.status, 503);
    assert_eq!(before.content_type.as_deref(), Some("application/json"));
    assert_eq!(before.body, NOT_AVAILABLE);

    hc.pipelines_ready();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let ready = get(addr, "/").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.content_type.as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(json["status"], "Server available");
    let up_since = json["upSince"].as_str().unwrap();
    assert!(
        up_since.len() >= 20 && up_since.ends_with('Z') && up_since.as_bytes()[10] == b'T',
        "{up_since}"
    );
    let uptime =
        ::config::Duration::parse(json["uptime"].as_str().unwrap()).expect("a Go duration");
    assert!(
        uptime.0 >= Duration::from_millis(20) && uptime.0 < Duration::from_secs(60),
        "{uptime}"
    );
    assert!(
        ready
            .body
            .starts_with(r#"{"status":"Server available","upSince":""#),
        "Go's field order: {}",
        ready.body
    );

    hc.pipelines_not_ready();
    assert_eq!(get(addr, "/").await.body, NOT_AVAILABLE);
    hc.shutdown().await.unwrap();
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the port is closed after shutdown");
}

#[tokio::test]
async fn serves_only_the_configured_path() {
    let (hc, addr) = started("endpoint: 127.0.0.1:0\npath: /health/status").await;
    hc.pipelines_ready();
    assert_eq!(get(addr, "/health/status").await.status, 200);
    let other = get(addr, "/").await;
    assert_eq!(other.status, 404);
    assert_eq!(other.body, "404 page not found\n");
    assert_eq!(get(addr, "/health/status/more").await.status, 404);
    hc.shutdown().await.unwrap();

    // The default `/` is a subtree, as in Go: every path answers.
    let (hc, addr) = started("endpoint: 127.0.0.1:0").await;
    assert_eq!(get(addr, "/anything/else").await.status, 503);
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn response_body_overrides_the_json_and_headers_are_added() {
    let yaml = "endpoint: 127.0.0.1:0\nresponse_body: {healthy: I'm OK, unhealthy: I'm not well}\nresponse_headers: {X-Probe: yes}";
    let (hc, addr) = started(yaml).await;
    let sick = get(addr, "/").await;
    assert_eq!((sick.status, sick.body.as_str()), (503, "I'm not well"));
    assert_eq!(sick.headers.get("x-probe").unwrap(), "yes");
    hc.pipelines_ready();
    let well = get(addr, "/").await;
    assert_eq!((well.status, well.body.as_str()), (200, "I'm OK"));
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_busy_port_fails_start_with_the_address() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = taken.local_addr().unwrap().port();
    let cfg = parse(&format!("endpoint: 127.0.0.1:{port}")).unwrap();
    let hc = HealthCheck::new("health_check".into(), typed::<Config>(&cfg).clone());
    let err = hc.start(&Host::default()).await.unwrap_err();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn config_defaults_and_contrib_validation_messages() {
    let cfg = parse("").unwrap();
    let cfg = typed::<Config>(&cfg);
    assert_eq!(cfg.endpoint, "localhost:13133");
    assert_eq!(cfg.path, "/");
    assert_eq!(cfg.check_collector_pipeline.exporter_failure_threshold, 5);
    let err = |yaml: &str| parse(yaml).unwrap_err().to_string();
    assert!(err("path: health").contains("bad config: path must start with /"));
    assert!(err("endpoint: ''").contains("bad config: endpoint must be specified"));
    assert!(err("check_collector_pipeline: {interval: soon}").contains("time: invalid duration"));
    assert!(
        err("check_collector_pipeline: {exporter_failure_threshold: 0}")
            .contains("bad config: exporter_failure_threshold expects a positive number")
    );
    assert!(err("tls: {cert_file: a.pem}").contains(
        "tls: TLS configuration must include both certificate and key (CertFile/CertPem and KeyFile/KeyPem)"
    ));
    assert!(parse("tls: {cert_file: a.pem, key_file: a.key}").is_ok());
    assert!(
        parse(
            "check_collector_pipeline: {enabled: true, interval: 5m, exporter_failure_threshold: 5}"
        )
        .is_ok()
    );
    assert!(parse("cors: {allowed_origins: ['*']}\ninclude_metadata: true").is_ok());
    assert!(parse("no_such_key: 1").is_err());
}

#[test]
fn up_since_is_rfc3339_like_go() {
    assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339_utc(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)),
        "2023-11-14T22:13:20.5Z"
    );
    assert_eq!(
        rfc3339_utc(UNIX_EPOCH + Duration::new(951_782_400, 123_456_789)),
        "2000-02-29T00:00:00.123456789Z"
    );
    assert_eq!(
        rfc3339_utc(UNIX_EPOCH + Duration::from_secs(4_107_542_399)),
        "2100-02-28T23:59:59Z"
    );
}

#[tokio::test]
async fn the_factory_builds_an_extension_found_by_its_type() {
    let set = runtime::Settings {
        id: ::config::ComponentId::new("health_check"),
        kind: runtime::Kind::Extension,
        telemetry: runtime::Telemetry::default(),
    };
    let ext = Factory
        .create(set, &parse("endpoint: 127.0.0.1:0").unwrap())
        .unwrap();
    ext.start(&Host::default()).await.unwrap();
    let hc = ext
        .as_any()
        .downcast_ref::<HealthCheck>()
        .expect("concrete type");
    let addr = hc.local_addr().unwrap();
    ext.pipelines_ready();
    assert_eq!(get(addr, "/").await.status, 200);
    ext.shutdown().await.unwrap();
}
