//! `zipkin` exporter through its factory against a Zipkin endpoint on 127.0.0.1 written here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use pdata::{Batch, Request, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;
use crate::connectors::story;

/// (Content-Type, body) of each accepted request.
type Bodies = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Zipkin {
    got: Bodies,
    status: Arc<Mutex<Vec<u16>>>,
}

async fn serve(z: Zipkin) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/api/v2/spans",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let z = z.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let code = z.status.lock().unwrap().pop().unwrap_or(202);
                if code == 202 {
                    z.got.lock().unwrap().push((ct, body.to_vec()));
                }
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn exporter(yaml: &str) -> Result<Arc<dyn runtime::Exporter>, String> {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&v, "exporters::zipkin")
        .map_err(|e| e.to_string())?;
    let set = Settings {
        id: ::config::ComponentId::parse("zipkin").unwrap(),
        kind: Kind::Exporter,
        telemetry: Telemetry::new("normal"),
    };
    Factory.create(set, &cfg, Signal::Traces)
}

#[test]
fn config_errors_are_gos() {
    let err = |yaml: &str| exporter(yaml).err().expect("an error");
    assert!(err("{}").ends_with("endpoint required"));
    assert!(
        err("endpoint: http://127.0.0.1:9411/api/v2/spans\nformat: thrift")
            .ends_with("thrift is not one of json or proto")
    );
    assert!(exporter("endpoint: http://127.0.0.1:9411/api/v2/spans\nunknown: 1").is_err());
    let c: super::Config = crate::util::http_client::decode(
        &::config::Value::from_yaml_str("endpoint: http://x/api/v2/spans").unwrap(),
        "exporters::zipkin",
    )
    .unwrap();
    assert_eq!(c.client_settings().timeout, Duration::from_secs(5));
    assert_eq!(c.default_service_name, "<missing service name>");
    assert_eq!(c.format, "json");
}

async fn send_story(format: &str) -> Vec<(String, Vec<u8>)> {
    let z = Zipkin::default();
    let addr = serve(z.clone()).await;
    let e = exporter(&format!(
        "endpoint: http://{addr}/api/v2/spans\nformat: {format}\nsending_queue: {{enabled: false}}"
    ))
    .unwrap();
    e.start(&Host::default()).await.unwrap();
    e.consume(Batch::from_request(Request::Traces(story::visits())))
        .await
        .unwrap();
    e.shutdown().await.unwrap();
    z.got.lock().unwrap().clone()
}

#[tokio::test]
async fn posts_v2_json_that_decodes_to_the_same_spans() {
    let got = send_story("json").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "application/json");
    let spans = zipkin::json::decode(&got[0].1).unwrap();
    assert_eq!(spans.len(), 15);
    let web = spans.iter().find(|s| s.name == "web request").unwrap();
    assert_eq!(web.kind, zipkin::model::Kind::Client);
    assert_eq!(web.local_endpoint.as_ref().unwrap().service_name, "shopper");
    assert_eq!(
        web.tags.get("http.status_code").map(String::as_str),
        Some("200")
    );
    assert_eq!(
        web.tags.get("otel.library.name").map(String::as_str),
        Some("shopper.app")
    );
    assert_eq!(web.duration, 20_000, "20 ms in microseconds");
    let failed = spans
        .iter()
        .find(|s| s.name == "/inventory" && s.tags.contains_key("error"))
        .unwrap();
    assert_eq!(failed.tags["error"], "true");
    assert_eq!(failed.tags["otel.status_code"], "STATUS_CODE_ERROR");
    assert_eq!(failed.tags["otel.status_description"], "inventory failed");
    let browse = spans.iter().find(|s| s.name == "browse").unwrap();
    assert_eq!(browse.tags["span.kind"], "internal");
    assert_eq!(browse.parent_id, None);
}

#[tokio::test]
async fn posts_v2_protobuf() {
    let got = send_story("proto").await;
    assert_eq!(got[0].0, "application/x-protobuf");
    let spans = zipkin::proto::decode(&got[0].1, false).unwrap();
    assert_eq!(spans.len(), 15);
    assert_eq!(
        spans[1].parent_id,
        Some(u64::from_be_bytes([1, 0, 0, 0, 0, 0, 0, 1]))
    );
}

#[tokio::test]
async fn non_2xx_is_retried_and_a_bad_span_is_permanent() {
    let z = Zipkin::default();
    z.status.lock().unwrap().extend([503, 500]);
    let addr = serve(z.clone()).await;
    let e = exporter(&format!(
        "endpoint: http://{addr}/api/v2/spans\nsending_queue: {{enabled: false}}\nretry_on_failure: {{initial_interval: 10ms, max_interval: 20ms}}"
    ))
    .unwrap();
    e.start(&Host::default()).await.unwrap();
    e.consume(Batch::from_request(Request::Traces(story::visits())))
        .await
        .unwrap();
    assert_eq!(
        z.got.lock().unwrap().len(),
        1,
        "delivered after two retries"
    );

    let mut bad = story::visits();
    bad.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![0; 16];
    let err = e
        .consume(Batch::from_request(Request::Traces(bad)))
        .await
        .unwrap_err();
    assert!(err.is_permanent());
    assert!(
        err.message.contains("TraceID is invalid"),
        "{}",
        err.message
    );
    e.shutdown().await.unwrap();
}
