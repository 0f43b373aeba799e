use std::time::Duration;

use runtime::factory::{ExtensionFactory, typed};
use runtime::status::{Event, InstanceId, Status};
use runtime::{Component, Extension, Host, Kind};

use super::*;

fn parse(yaml: &str) -> Result<AnyConfig, ::config::ConfigError> {
    Factory.parse_config(
        &::config::Value::from_yaml_str(yaml).unwrap(),
        "extensions::healthcheckv2",
    )
}

async fn started(yaml: &str) -> (HealthCheckV2, SocketAddr) {
    let cfg = parse(yaml).unwrap();
    let hc = HealthCheckV2::new("healthcheckv2".into(), typed::<Config>(&cfg).clone());
    hc.start(&Host::default()).await.unwrap();
    let addr = hc.local_addr().unwrap();
    (hc, addr)
}

fn inst(kind: Kind, id: &str, pipelines: &[&str]) -> InstanceId {
    InstanceId {
        kind,
        id: ::config::ComponentId::parse(id).unwrap(),
        pipelines: pipelines.iter().map(|s| s.to_string()).collect(),
    }
}

/// The instances of `traces: otlp -> batch -> debug` plus the extension itself.
fn instances() -> Vec<InstanceId> {
    vec![
        inst(Kind::Extension, "healthcheckv2", &[]),
        inst(Kind::Exporter, "debug", &["traces"]),
        inst(Kind::Processor, "batch", &["traces"]),
        inst(Kind::Receiver, "otlp", &["traces", "metrics"]),
    ]
}

fn report(hc: &HealthCheckV2, i: &InstanceId, status: Status) {
    hc.component_status_changed(i, &Event::new(status));
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (s, body) = get(addr, path).await;
    (
        s,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

const V2: &str = "use_v2: true\nhttp:\n  endpoint: 127.0.0.1:0\n";

#[test]
fn defaults_and_validation_messages_are_gos() {
    let cfg = parse("").unwrap();
    let c: &Config = typed(&cfg);
    assert_eq!(c.endpoint, "localhost:13133");
    assert_eq!(c.path, "/");
    assert!(!c.use_v2 && c.http.is_none() && c.component_health.is_none());
    // An `http` section that sets only one key keeps the others' defaults.
    let cfg = parse("use_v2: true\nhttp:\n  status:\n    path: /health\n").unwrap();
    let h = typed::<Config>(&cfg).http.clone().unwrap();
    assert_eq!(h.endpoint, "localhost:13133");
    assert!(h.status.enabled);
    assert_eq!(h.status.path, "/health");
    assert!(!h.config.enabled);
    assert_eq!(h.config.path, "/config");
    // An empty section is present, with its defaults.
    let cfg = parse("use_v2: true\nhttp:\ncomponent_health:\n").unwrap();
    let c: &Config = typed(&cfg);
    assert_eq!(c.http.as_ref().unwrap().status.path, "/status");
    assert_eq!(
        c.component_health.as_ref().unwrap(),
        &config::ComponentHealthConfig::default()
    );
    let cfg = parse("use_v2: true\nhttp: {}\ncomponent_health: {include_recoverable_errors: true, recovery_duration: 5m}\n").unwrap();
    let ch = typed::<Config>(&cfg).component_health.clone().unwrap();
    assert!(ch.include_recoverable_errors && !ch.include_permanent_errors);
    assert_eq!(ch.recovery_duration.0, Duration::from_secs(300));

    let err = |yaml: &str| parse(yaml).unwrap_err().to_string();
    for (yaml, message) in [
        (
            "endpoint: ''",
            "extensions::healthcheckv2: http endpoint required",
        ),
        (
            "path: health",
            "extensions::healthcheckv2: path must start with /",
        ),
        (
            "use_v2: true",
            "extensions::healthcheckv2: must specify at least one protocol",
        ),
        (
            "use_v2: true\nhttp: {endpoint: ''}",
            "extensions::healthcheckv2: http endpoint required",
        ),
        (
            "use_v2: true\nhttp: {status: {path: status}}",
            "extensions::healthcheckv2: path must start with /",
        ),
        (
            "use_v2: true\nhttp: {config: {enabled: true, path: config}}",
            "extensions::healthcheckv2: path must start with /",
        ),
        (
            "use_v2: true\ngrpc: {endpoint: localhost:13132}",
            "extensions::healthcheckv2::grpc: the gRPC health service of healthcheckv2 is not built into ferrotel yet; use the http service (remove the grpc section)",
        ),
    ] {
        assert_eq!(err(yaml), message, "{yaml}");
    }
    // Without use_v2, Go ignores the grpc section.
    parse("grpc: {endpoint: localhost:13132}").unwrap();
    assert!(err("nope: 1").contains("nope"));
    assert!(err("use_v2: true\nhttp: {nope: 1}").contains("nope"));
}

#[tokio::test]
async fn v2_status_is_starting_until_ready_then_ok_with_components_per_pipeline() {
    let (hc, addr) = started(V2).await;
    // Nothing reported yet: Go's zero event.
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(code, 503);
    assert_eq!(body["status"], "StatusNone");
    assert_eq!(body["healthy"], true);
    assert_eq!(body["status_time"], "0001-01-01T00:00:00Z");
    assert!(body["start_time"].as_str().unwrap().ends_with('Z'));

    for i in instances() {
        report(&hc, &i, Status::Starting);
    }
    // OK before the pipelines are ready is held back, as in Go.
    for i in instances() {
        report(&hc, &i, Status::Ok);
    }
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(
        (code, body["status"].as_str()),
        (503, Some("StatusStarting"))
    );

    hc.pipelines_ready();
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "StatusOK");
    assert!(
        body.get("components").is_none(),
        "concise without verbose: {body}"
    );

    let (code, body) = get_json(addr, "/status?verbose").await;
    assert_eq!(code, 200);
    let comps = body["components"].as_object().unwrap();
    let keys: Vec<&str> = comps.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        vec!["extensions", "pipeline:metrics", "pipeline:traces"]
    );
    let traces = comps["pipeline:traces"]["components"].as_object().unwrap();
    let keys: Vec<&str> = traces.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        vec!["exporter:debug", "processor:batch", "receiver:otlp"]
    );
    for c in traces.values() {
        assert_eq!(c["status"], "StatusOK");
        assert_eq!(c["healthy"], true);
        assert!(c.get("start_time").is_none(), "only on the top node");
    }
    assert_eq!(
        comps["extensions"]["components"]["extension:healthcheckv2"]["status"],
        "StatusOK"
    );

    // One pipeline, and one that does not exist.
    let (code, body) = get_json(addr, "/status?pipeline=traces&verbose=true").await;
    assert_eq!(code, 200);
    assert_eq!(body["components"]["receiver:otlp"]["status"], "StatusOK");
    assert!(body["start_time"].is_string());
    let (code, body) = get(addr, "/status?pipeline=logs").await;
    assert_eq!((code, body.as_str()), (404, ""));
    let (code, _) = get(addr, "/status?pipeline=traces&verbose=false").await;
    assert_eq!(code, 200);
    // /config is off by default; other paths are 404.
    assert_eq!(get(addr, "/config").await.0, 404);
    assert_eq!(get(addr, "/").await.0, 404);

    // Shutdown: Stopping wins over OK in the aggregate.
    report(&hc, &instances()[3], Status::Stopping);
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(
        (code, body["status"].as_str()),
        (503, Some("StatusStopping"))
    );
    hc.shutdown().await.unwrap();
}

async fn ready_with(yaml: &str) -> (HealthCheckV2, SocketAddr) {
    let (hc, addr) = started(yaml).await;
    for i in instances() {
        report(&hc, &i, Status::Starting);
        report(&hc, &i, Status::Ok);
    }
    hc.pipelines_ready();
    (hc, addr)
}

#[tokio::test]
async fn permanent_errors_are_unhealthy_only_with_include_permanent_errors() {
    let exporter = &instances()[1];
    // Without component_health an error is reported but healthy (200).
    let (hc, addr) = ready_with(V2).await;
    hc.component_status_changed(exporter, &Event::error(Status::PermanentError, "bad auth"));
    let (code, body) = get_json(addr, "/status?verbose").await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "StatusPermanentError");
    assert_eq!(body["healthy"], true);
    assert_eq!(body["error"], "bad auth");
    let debug = &body["components"]["pipeline:traces"]["components"]["exporter:debug"];
    assert_eq!(debug["error"], "bad auth");
    assert_eq!(
        body["components"]["pipeline:metrics"]["status"], "StatusOK",
        "other pipelines are unaffected"
    );
    hc.shutdown().await.unwrap();

    let (hc, addr) = ready_with(&format!(
        "{V2}component_health:\n  include_permanent_errors: true\n"
    ))
    .await;
    hc.component_status_changed(exporter, &Event::error(Status::PermanentError, "bad auth"));
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(code, 500);
    assert_eq!(body["healthy"], false);
    assert_eq!(body["status"], "StatusPermanentError");
    let (code, _) = get_json(addr, "/status?pipeline=metrics").await;
    assert_eq!(code, 200);
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn recoverable_errors_turn_unhealthy_after_recovery_duration_and_back_on_recovery() {
    let exporter = &instances()[1];
    let (hc, addr) = ready_with(&format!(
        "{V2}component_health:\n  include_recoverable_errors: true\n  recovery_duration: 300ms\n"
    ))
    .await;
    hc.component_status_changed(
        exporter,
        &Event::error(Status::RecoverableError, "503 from backend"),
    );
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!(code, 200, "within recovery_duration: {body}");
    assert_eq!(body["status"], "StatusRecoverableError");
    assert_eq!(body["healthy"], true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // A later error of another component does not reset the clock: the aggregate keeps
    // the earliest.
    let processor = &instances()[2];
    hc.component_status_changed(processor, &Event::error(Status::RecoverableError, "later"));
    let (code, body) = get_json(addr, "/status?pipeline=traces").await;
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["healthy"], false);
    assert_eq!(body["error"], "503 from backend");
    hc.component_status_changed(exporter, &Event::new(Status::Ok));
    hc.component_status_changed(processor, &Event::new(Status::Ok));
    let (code, body) = get_json(addr, "/status").await;
    assert_eq!((code, body["status"].as_str()), (200, Some("StatusOK")));
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn recoverable_outranks_permanent_when_only_recoverable_errors_are_included() {
    let (hc, addr) = ready_with(&format!(
        "{V2}component_health:\n  include_recoverable_errors: true\n  recovery_duration: 1h\n"
    ))
    .await;
    let i = instances();
    hc.component_status_changed(&i[1], &Event::error(Status::PermanentError, "p"));
    hc.component_status_changed(&i[2], &Event::error(Status::RecoverableError, "r"));
    let (code, body) = get_json(addr, "/status?pipeline=traces").await;
    assert_eq!(body["status"], "StatusRecoverableError");
    assert_eq!(code, 200);
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_use_v2_it_answers_as_health_check() {
    let (hc, addr) = started("endpoint: 127.0.0.1:0").await;
    for i in instances() {
        report(&hc, &i, Status::Starting);
    }
    let (code, body) = get(addr, "/any/path").await;
    assert_eq!(code, 503);
    assert_eq!(
        body,
        r#"{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}"#
    );
    for i in instances() {
        report(&hc, &i, Status::Ok);
    }
    hc.pipelines_ready();
    let (code, body) = get_json(addr, "/").await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "Server available");
    assert!(::config::Duration::parse(body["uptime"].as_str().unwrap()).is_ok());
    hc.shutdown().await.unwrap();

    let (hc, addr) = started(
        "endpoint: 127.0.0.1:0\npath: /health\nresponse_body: {healthy: up, unhealthy: down}",
    )
    .await;
    assert_eq!(get(addr, "/health").await, (503, "down".to_string()));
    for i in instances() {
        report(&hc, &i, Status::Starting);
        report(&hc, &i, Status::Ok);
    }
    hc.pipelines_ready();
    assert_eq!(get(addr, "/health").await, (200, "up".to_string()));
    assert_eq!(get(addr, "/other").await.0, 404);
    hc.shutdown().await.unwrap();
}

#[tokio::test]
async fn config_path_serves_the_running_configuration_when_enabled() {
    let cfg = parse(&format!("{V2}  config:\n    enabled: true\n")).unwrap();
    let hc = HealthCheckV2::new("healthcheckv2".into(), typed::<Config>(&cfg).clone());
    let service = runtime::view::ServiceView {
        config: ::config::Value::from_yaml_str(
            "receivers: {otlp: {protocols: {grpc: {endpoint: 127.0.0.1:4317}}}}\nservice: {pipelines: {traces: {receivers: [otlp]}}}",
        )
        .unwrap(),
        ..Default::default()
    };
    let host = Host {
        service: std::sync::Arc::new(service),
        ..Host::default()
    };
    hc.start(&host).await.unwrap();
    let addr = hc.local_addr().unwrap();
    let (code, body) = get_json(addr, "/config").await;
    assert_eq!(code, 200);
    assert_eq!(
        body["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"],
        "127.0.0.1:4317"
    );
    assert_eq!(
        body["service"]["pipelines"]["traces"]["receivers"][0],
        "otlp"
    );
    hc.shutdown().await.unwrap();

    // Without a configuration from the host: Go's 503.
    let (hc, addr) = started(&format!("{V2}  config:\n    enabled: true\n")).await;
    assert_eq!(get(addr, "/config").await.0, 503);
    hc.shutdown().await.unwrap();
}
