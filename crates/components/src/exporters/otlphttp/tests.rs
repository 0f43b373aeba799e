//! `otlp_http` through its factory against a real HTTP server on 127.0.0.1 that answers
//! scripted statuses and records what arrived.

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use pdata::{Batch, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as the server reads it, decompressed per `Content-Encoding`.
    fn decoded_body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => out = self.body.to_vec(),
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("zlib" | "deflate") => {
                flate2::read::ZlibDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("zstd") => out = zstd::decode_all(&self.body[..]).unwrap(),
            Some("snappy") => {
                out = snap::raw::Decoder::new()
                    .decompress_vec(&self.body)
                    .unwrap()
            }
            Some("lz4") => {
                lz4_flex::frame::FrameDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some(other) => panic!("unexpected encoding {other}"),
        }
        out
    }
}

type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Script {
    fn with(replies: Vec<Reply>) -> Script {
        Script {
            replies: Arc::new(Mutex::new(replies.into())),
            ..Script::default()
        }
    }
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve_on(listener: tokio::net::TcpListener, script: Script) {
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let script = script.clone();
            async move {
                script.received.lock().unwrap().push(Received {
                    path: uri.path().to_string(),
                    headers,
                    body,
                });
                let (status, headers, body) = script
                    .replies
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((200, vec![], vec![]));
                let mut resp = axum::response::Response::new(axum::body::Body::from(body));
                *resp.status_mut() = StatusCode::from_u16(status).unwrap();
                for (k, v) in headers {
                    resp.headers_mut().insert(k, v.parse().unwrap());
                }
                resp
            }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
}

async fn serve(script: Script) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve_on(listener, script).await;
    addr
}

fn exporter(yaml: &str, tel: &Telemetry, signal: Signal) -> Arc<dyn runtime::Exporter> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "exporters::otlp_http")
        .unwrap_or_else(|e| panic!("{e}"));
    let set = Settings {
        id: config::ComponentId::new("otlp_http"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    Factory.create(set, &cfg, signal).unwrap()
}

fn direct(addr: SocketAddr, extra: &str) -> String {
    format!(
        "endpoint: http://{addr}\nsending_queue: {{enabled: false}}\nretry_on_failure: {{initial_interval: 20ms, randomization_factor: 0, max_elapsed_time: 5s}}\n{extra}"
    )
}

fn batch(signal: Signal, n: usize, seed: u64) -> Batch {
    let req = pdata::testdata::request(signal, 1, n, seed);
    Batch::from_encoded(signal, Bytes::from(req.encode_to_vec())).unwrap()
}

fn protobuf_reply(status: u16, body: Vec<u8>) -> Reply {
    (
        status,
        vec![("content-type", "application/x-protobuf".into())],
        body,
    )
}

#[tokio::test]
async fn posts_gzip_protobuf_to_the_signal_path_with_headers_and_user_agent() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(
        &direct(addr, "headers: {X-Token: secret}"),
        &tel,
        Signal::Logs,
    );
    exp.start(&Host::default()).await.unwrap();
    let b = batch(Signal::Logs, 4, 1);
    exp.consume(b.clone()).await.unwrap();
    let got = script.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/v1/logs");
    assert_eq!(
        got[0].header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(got[0].header("content-encoding"), Some("gzip"));
    assert_eq!(got[0].header("x-token"), Some("secret"));
    assert!(
        got[0]
            .header("user-agent")
            .unwrap()
            .starts_with("ferrotel/")
    );
    assert_eq!(got[0].decoded_body(), b.encoded().to_vec());
    assert_eq!(
        tel.value(
            "otelcol_exporter_sent_log_records",
            &[("exporter", "otlp_http")]
        ),
        Some(4.0)
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_compression_is_decodable_by_the_server() {
    for name in ["zstd", "zlib", "deflate", "snappy", "lz4", "none"] {
        let script = Script::default();
        let addr = serve(script.clone()).await;
        let exp = exporter(
            &direct(addr, &format!("compression: {name}")),
            &Telemetry::default(),
            Signal::Traces,
        );
        let b = batch(Signal::Traces, 3, 2);
        exp.consume(b.clone()).await.unwrap();
        let got = &script.received()[0];
        let expected = if name == "none" { None } else { Some(name) };
        assert_eq!(got.header("content-encoding"), expected);
        assert_eq!(got.decoded_body(), b.encoded().to_vec(), "{name}");
    }
}

#[tokio::test]
async fn json_encoding_posts_otlp_json() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let exp = exporter(
        &direct(addr, "encoding: json"),
        &Telemetry::default(),
        Signal::Metrics,
    );
    let b = batch(Signal::Metrics, 3, 3);
    exp.consume(b.clone()).await.unwrap();
    let got = &script.received()[0];
    assert_eq!(got.path, "/v1/metrics");
    assert_eq!(got.header("content-type"), Some("application/json"));
    let decoded = pdata::json::decode(Signal::Metrics, &got.decoded_body()).unwrap();
    assert_eq!(decoded, *b.request().unwrap());
}

#[tokio::test]
async fn per_signal_endpoint_is_used_as_is() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let yaml =
        format!("traces_endpoint: http://{addr}/custom/path\nsending_queue: {{enabled: false}}");
    exporter(&yaml, &Telemetry::default(), Signal::Traces)
        .consume(batch(Signal::Traces, 1, 4))
        .await
        .unwrap();
    assert_eq!(script.received()[0].path, "/custom/path");
}

#[tokio::test]
async fn retryable_statuses_are_retried_then_delivered() {
    let script = Script::with(vec![
        (503, vec![], vec![]),
        (502, vec![], vec![]),
        (504, vec![], vec![]),
        (429, vec![], vec![]),
    ]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default(), Signal::Traces);
    exp.consume(batch(Signal::Traces, 2, 5))
        .await
        .expect("delivered on the fifth attempt");
    assert_eq!(script.received().len(), 5);
}

#[tokio::test]
async fn permanent_status_is_not_retried_and_reports_url_status_and_message() {
    let status = pdata::json::encode_status_protobuf(3, "field X is invalid");
    let script = Script::with(vec![protobuf_reply(400, status)]);
    let addr = serve(script.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, ""), &tel, Signal::Traces);
    let err = exp.consume(batch(Signal::Traces, 3, 6)).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(
        err.message.contains(&format!(
            "request to http://{addr}/v1/traces responded with HTTP Status Code 400"
        )),
        "{err}"
    );
    assert!(err.message.contains("Message=field X is invalid"), "{err}");
    assert_eq!(script.received().len(), 1);
    assert_eq!(
        tel.value(
            "otelcol_exporter_send_failed_spans",
            &[("exporter", "otlp_http")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503() {
    for status in [429, 503] {
        let script = Script::with(vec![(status, vec![("retry-after", "1".into())], vec![])]);
        let addr = serve(script.clone()).await;
        let exp = exporter(&direct(addr, ""), &Telemetry::default(), Signal::Traces);
        let t0 = Instant::now();
        exp.consume(batch(Signal::Traces, 1, 7)).await.unwrap();
        assert!(
            t0.elapsed() >= Duration::from_secs(1),
            "{status}: {:?}",
            t0.elapsed()
        );
        assert_eq!(script.received().len(), 2);
    }
}

#[tokio::test]
async fn partial_success_is_accepted_not_retried() {
    let partial =
        pdata::json::ExportResponse::partial(Signal::Traces, 1, "1 span dropped").to_protobuf();
    let script = Script::with(vec![protobuf_reply(200, partial)]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default(), Signal::Traces);
    exp.consume(batch(Signal::Traces, 2, 8))
        .await
        .expect("partial success is success");
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn unparsable_success_body_is_permanent_so_accepted_data_is_not_resent() {
    let script = Script::with(vec![protobuf_reply(200, vec![0xff, 0xff, 0xff])]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default(), Signal::Traces);
    let err = exp.consume(batch(Signal::Traces, 2, 9)).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn endpoint_down_at_start_then_up_gets_everything_delivered() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let tel = Telemetry::default();
    let yaml = format!(
        "endpoint: http://{addr}\ntimeout: 1s\nretry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 20s}}"
    );
    let exp = exporter(&yaml, &tel, Signal::Logs);
    exp.start(&Host::default()).await.unwrap();
    for i in 0..20 {
        exp.consume(batch(Signal::Logs, 2, i))
            .await
            .expect("queued");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let script = Script::default();
    serve_on(
        tokio::net::TcpListener::bind(addr).await.unwrap(),
        script.clone(),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(20), exp.shutdown())
        .await
        .expect("drained in time")
        .unwrap();
    let delivered: usize = script
        .received()
        .iter()
        .map(|r| {
            Batch::from_encoded(Signal::Logs, Bytes::from(r.decoded_body()))
                .unwrap()
                .item_count()
        })
        .sum();
    assert_eq!(delivered, 40);
    assert_eq!(
        tel.value(
            "otelcol_exporter_sent_log_records",
            &[("exporter", "otlp_http")]
        ),
        Some(40.0)
    );
}

#[tokio::test]
async fn auth_authenticator_headers_arrive_and_configured_headers_win() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let host = crate::extensions::test_host(&[
        ("bearertokenauth", "token: s3cret"),
        (
            "headers_setter",
            "headers: [{key: X-Scope-OrgID, from_context: x-tenant}, {key: X-Fixed, value: setter}]",
        ),
    ])
    .await;
    let tel = Telemetry::default();
    let exp = exporter(
        &direct(addr, "auth: {authenticator: bearertokenauth}"),
        &tel,
        Signal::Logs,
    );
    exp.start(&host).await.unwrap();
    exp.consume(batch(Signal::Logs, 2, 1)).await.unwrap();
    assert_eq!(
        script.received()[0].header("authorization"),
        Some("Bearer s3cret")
    );
    exp.shutdown().await.unwrap();

    // headers_setter reads the batch's client info; configured headers are set after it.
    let exp = exporter(
        &direct(
            addr,
            "auth: {authenticator: headers_setter}\nheaders: {X-Fixed: configured}",
        ),
        &tel,
        Signal::Logs,
    );
    exp.start(&host).await.unwrap();
    let mut info = pdata::ClientInfo::default();
    info.push("x-tenant", "acme".into());
    exp.consume(batch(Signal::Logs, 2, 2).with_client_info(Some(Arc::new(info))))
        .await
        .unwrap();
    let got = script.received();
    assert_eq!(got[1].header("x-scope-orgid"), Some("acme"));
    assert_eq!(got[1].header("x-fixed"), Some("configured"));
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_or_server_only_authenticator_fails_start_with_gos_message() {
    let host = crate::extensions::test_host(&[("basicauth", "htpasswd: {inline: 'a:b'}")]).await;
    let tel = Telemetry::default();
    let exp = exporter(
        "endpoint: http://127.0.0.1:1\nauth: {authenticator: bearertokenauth}",
        &tel,
        Signal::Logs,
    );
    assert_eq!(
        exp.start(&host).await.unwrap_err(),
        "failed to resolve authenticator \"bearertokenauth\": authenticator not found"
    );
    let exp = exporter(
        "endpoint: http://127.0.0.1:1\nauth: {authenticator: basicauth}",
        &tel,
        Signal::Logs,
    );
    assert_eq!(
        exp.start(&host).await.unwrap_err(),
        "requested authenticator is not a HTTPClient"
    );
}

/// A started `file_storage` extension over a fresh directory, in a host as `file_storage/q`.
async fn file_storage_host(dir: &std::path::Path) -> (Host, Arc<dyn runtime::Extension>) {
    use runtime::factory::ExtensionFactory;
    let value = config::Value::from_yaml_str(&format!("directory: {}", dir.display())).unwrap();
    let f = crate::extensions::file_storage::Factory;
    let cfg = f.parse_config(&value, "extensions::file_storage").unwrap();
    let id = config::ComponentId::parse("file_storage/q").unwrap();
    let set = Settings {
        id: id.clone(),
        kind: Kind::Extension,
        telemetry: Telemetry::default(),
    };
    let ext = f.create(set, &cfg).unwrap();
    ext.start(&Host::default()).await.unwrap();
    let mut host = Host::default();
    host.extensions.insert(id, ext.clone());
    (host, ext)
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("ferrotel-otlphttp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[tokio::test]
async fn persistent_queue_keeps_requests_across_a_restart_until_the_endpoint_is_up() {
    let dir = temp_dir("pq");
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let yaml = format!(
        "endpoint: http://{addr}\ntimeout: 1s\nsending_queue: {{storage: file_storage/q, num_consumers: 2}}\nretry_on_failure: {{initial_interval: 20ms, max_interval: 50ms, max_elapsed_time: 0s}}"
    );
    // First run: the endpoint is down; everything is acknowledged once on disk.
    let (host, ext) = file_storage_host(&dir).await;
    let tel = Telemetry::default();
    let exp = exporter(&yaml, &tel, Signal::Logs);
    exp.start(&host).await.unwrap();
    for i in 0..10 {
        exp.consume(batch(Signal::Logs, 3, i))
            .await
            .expect("queued");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), exp.shutdown())
        .await
        .expect("shutdown does not wait for the endpoint")
        .unwrap();
    ext.shutdown().await.unwrap();
    assert!(dir.join("exporter_otlp_http__logs.queue").is_dir());

    // Second run: the endpoint is up; what the first run queued arrives.
    let script = Script::default();
    serve_on(
        tokio::net::TcpListener::bind(addr).await.unwrap(),
        script.clone(),
    )
    .await;
    let (host, ext) = file_storage_host(&dir).await;
    let tel = Telemetry::default();
    let exp = exporter(&yaml, &tel, Signal::Logs);
    exp.start(&host).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered = || -> usize {
        script
            .received()
            .iter()
            .map(|r| {
                Batch::from_encoded(Signal::Logs, Bytes::from(r.decoded_body()))
                    .unwrap()
                    .item_count()
            })
            .sum()
    };
    while delivered() < 30 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered(), 30);
    assert_eq!(
        tel.value(
            "otelcol_exporter_queue_capacity",
            &[("data_type", "logs"), ("exporter", "otlp_http")]
        ),
        Some(1000.0)
    );
    exp.shutdown().await.unwrap();
    ext.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn persistent_queue_whose_directory_cannot_be_made_fails_start_clearly() {
    let dir = temp_dir("pq-blocked");
    // A file where the queue's directory goes.
    std::fs::write(dir.join("exporter_otlp_http__logs.queue"), b"in the way").unwrap();
    let (host, ext) = file_storage_host(&dir).await;
    let exp = exporter(
        "endpoint: http://127.0.0.1:1\nsending_queue: {storage: file_storage/q}",
        &Telemetry::default(),
        Signal::Logs,
    );
    let err = exp.start(&host).await.unwrap_err();
    assert!(err.starts_with("persistent queue: "), "{err}");
    assert!(err.contains("exporter_otlp_http__logs.queue"), "{err}");
    ext.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
