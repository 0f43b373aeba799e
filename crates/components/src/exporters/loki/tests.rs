//! `loki` through its factory against a Loki push receiver on 127.0.0.1 written here: it
//! snappy-decodes and protobuf-decodes what arrives and answers scripted statuses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use pdata::proto::collector::logs::v1::ExportLogsServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use pdata::proto::resource::v1::Resource;
use pdata::{Batch, Request, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;
use super::proto::{self, PushRequest};

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    push: PushRequest,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn lines(&self) -> Vec<String> {
        self.push
            .streams
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.line.clone()))
            .collect()
    }
}

type Reply = (u16, Vec<(&'static str, String)>, &'static str);

#[derive(Clone, Default)]
struct Loki {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    /// Answers for a tenant's requests, before the general ones.
    tenant_replies: Arc<Mutex<Vec<(String, Reply)>>>,
    accepted: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<Mutex<usize>>,
}

impl Loki {
    fn with(replies: Vec<Reply>) -> Loki {
        Loki {
            replies: Arc::new(Mutex::new(replies.into())),
            ..Loki::default()
        }
    }
    fn accepted(&self) -> Vec<Received> {
        self.accepted.lock().unwrap().clone()
    }
    fn accepted_lines(&self) -> Vec<String> {
        self.accepted().iter().flat_map(Received::lines).collect()
    }
    fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }
}

async fn serve(loki: Loki) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/loki/api/v1/push",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let loki = loki.clone();
            async move {
                *loki.attempts.lock().unwrap() += 1;
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
                if ct != Some("application/x-protobuf") {
                    return reply((415, vec![], "bad content type"));
                }
                let push = match proto::decode(&body) {
                    Ok(p) => p,
                    Err(e) => {
                        return reply((400, vec![], Box::leak(e.into_boxed_str())));
                    }
                };
                let tenant = headers
                    .get("x-scope-orgid")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let scripted = {
                    let mut t = loki.tenant_replies.lock().unwrap();
                    match t.iter().position(|(n, _)| *n == tenant) {
                        Some(i) => Some(t.remove(i).1),
                        None => loki.replies.lock().unwrap().pop_front(),
                    }
                };
                let r = scripted.unwrap_or((204, vec![], ""));
                if r.0 / 100 == 2 {
                    loki.accepted
                        .lock()
                        .unwrap()
                        .push(Received { headers, push });
                }
                reply(r)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn reply((status, headers, body): Reply) -> axum::response::Response {
    let mut resp = axum::response::Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

fn exporter(yaml: &str, tel: &Telemetry) -> Arc<dyn runtime::Exporter> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "exporters::loki")
        .unwrap_or_else(|e| panic!("{e}"));
    let set = Settings {
        id: config::ComponentId::new("loki"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    Factory.create(set, &cfg, Signal::Logs).unwrap()
}

fn direct(addr: SocketAddr, extra: &str) -> String {
    format!(
        "endpoint: http://{addr}/loki/api/v1/push\nsending_queue: {{enabled: false}}\nretry_on_failure: {{initial_interval: 20ms, randomization_factor: 0, max_interval: 100ms, max_elapsed_time: 20s}}\n{extra}"
    )
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    }
}

/// Records `body-<n>` for n in `range`, each under its own tenant hint when given.
fn batch(
    res: Vec<KeyValue>,
    range: std::ops::Range<u64>,
    tenant: Option<&dyn Fn(u64) -> String>,
) -> Batch {
    let records = range
        .map(|n| {
            let mut attributes = vec![kv("pod", "p1"), kv("loki.attribute.labels", "pod")];
            if let Some(t) = tenant {
                attributes.push(kv("loki.tenant", "org"));
                attributes.push(kv("org", &t(n)));
            }
            LogRecord {
                time_unix_nano: 1_700_000_000_000_000_000 + n,
                severity_number: 9,
                body: Some(AnyValue {
                    value: Some(Value::StringValue(format!("body-{n}"))),
                }),
                attributes,
                ..LogRecord::default()
            }
        })
        .collect();
    Batch::from_request(Request::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: res,
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }))
}

fn counter(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("exporter", "loki")]).unwrap_or(0.0)
}

#[tokio::test]
async fn labels_lines_timestamps_and_headers_arrive_in_lokis_wire_format() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, "headers: {X-Custom: yes}"), &tel);
    exp.start(&Host::default()).await.unwrap();
    let res = vec![kv("service.name", "api"), kv("service.namespace", "shop")];
    exp.consume(batch(res, 0..3, None)).await.unwrap();
    let got = loki.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("x-custom"), Some("yes"));
    assert_eq!(got[0].header("x-scope-orgid"), None);
    assert_eq!(got[0].header("content-encoding"), None);
    let streams = &got[0].push.streams;
    assert_eq!(streams.len(), 1);
    assert_eq!(
        streams[0].labels,
        r#"{exporter="OTLP", job="shop/api", level="INFO", pod="p1"}"#
    );
    assert_eq!(
        got[0].lines(),
        vec![
            r#"{"body":"body-0","resources":{"service.name":"api","service.namespace":"shop"}}"#,
            r#"{"body":"body-1","resources":{"service.name":"api","service.namespace":"shop"}}"#,
            r#"{"body":"body-2","resources":{"service.name":"api","service.namespace":"shop"}}"#,
        ]
    );
    let ts = streams[0].entries[2].timestamp;
    assert_eq!((ts.seconds, ts.nanos), (1_700_000_000, 2));
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 3.0);
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_tenant_gets_its_own_request_with_x_scope_orgid() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default());
    let tenant = |n: u64| format!("t{}", n % 2);
    exp.consume(batch(vec![], 0..4, Some(&tenant)))
        .await
        .unwrap();
    let mut got: Vec<(String, Vec<String>)> = loki
        .accepted()
        .iter()
        .map(|r| (r.header("x-scope-orgid").unwrap().to_string(), r.lines()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "t0".to_string(),
                vec![
                    r#"{"body":"body-0","attributes":{"org":"t0"}}"#.to_string(),
                    r#"{"body":"body-2","attributes":{"org":"t0"}}"#.to_string()
                ]
            ),
            (
                "t1".to_string(),
                vec![
                    r#"{"body":"body-1","attributes":{"org":"t1"}}"#.to_string(),
                    r#"{"body":"body-3","attributes":{"org":"t1"}}"#.to_string()
                ]
            ),
        ]
    );
}

/// Requests that wait in the queue together go as one push per tenant (their protobuf
/// encodings concatenated), every line once and in order, counted once.
#[tokio::test]
async fn requests_queued_together_go_as_one_push_per_tenant() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(
        &format!("endpoint: http://{addr}/loki/api/v1/push\nsending_queue: {{num_consumers: 1}}"),
        &tel,
    );
    let tenant = |n: u64| format!("t{}", n % 2);
    // Not started yet: the five batches (ten requests, one per tenant each) wait together.
    for b in 0..5 {
        exp.consume(batch(vec![], b * 4..b * 4 + 4, Some(&tenant)))
            .await
            .unwrap();
    }
    exp.start(&Host::default()).await.unwrap();
    exp.shutdown().await.unwrap();
    let mut got: Vec<(String, Vec<String>)> = loki
        .accepted()
        .iter()
        .map(|r| (r.header("x-scope-orgid").unwrap().to_string(), r.lines()))
        .collect();
    got.sort();
    let want = |t: u64| {
        (
            format!("t{t}"),
            (0..20)
                .filter(|n| n % 2 == t)
                .map(|n| format!(r#"{{"body":"body-{n}","attributes":{{"org":"t{t}"}}}}"#))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(got, vec![want(0), want(1)]);
    assert_eq!(loki.attempts(), 2);
    // The joined bodies go out as chunks, but with their length, as Go sends a push.
    for r in loki.accepted() {
        assert!(r.header("content-length").is_some(), "{:?}", r.headers);
        assert_eq!(r.header("transfer-encoding"), None);
    }
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 20.0);
}

/// A push in chunks (merged requests) that Loki's proxy redirects with a 308 follows the
/// redirect, as Go's client does with any body: every line arrives once.
#[tokio::test]
async fn a_redirected_merged_push_follows_the_redirect() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let target = format!("http://{addr}/loki/api/v1/push");
    let app = axum::Router::new().route(
        "/old",
        axum::routing::post(move || {
            let target = target.clone();
            async move { reply((308, vec![("location", target)], "")) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tel = Telemetry::default();
    let exp = exporter(
        &format!("endpoint: http://{proxy}/old\nsending_queue: {{num_consumers: 1}}"),
        &tel,
    );
    // Queued before the start: taken together, one push in chunks.
    for b in 0..3 {
        exp.consume(batch(vec![], b * 2..b * 2 + 2, None))
            .await
            .unwrap();
    }
    exp.start(&Host::default()).await.unwrap();
    exp.shutdown().await.unwrap();
    let lines = loki.accepted_lines();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        loki.attempts(),
        1,
        "merged into one push, sent once to Loki"
    );
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 6.0);
}

#[tokio::test]
async fn unavailable_loki_for_a_while_loses_nothing() {
    let replies = (0..6)
        .map(|_| (503, vec![], "ingester unavailable"))
        .chain([(429, vec![("retry-after", "1".to_string())], "slow down")])
        .collect();
    let loki = Loki::with(replies);
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let yaml = format!(
        "endpoint: http://{addr}/loki/api/v1/push\nretry_on_failure: {{initial_interval: 20ms, randomization_factor: 0, max_interval: 100ms, max_elapsed_time: 30s}}"
    );
    let exp = exporter(&yaml, &tel);
    exp.start(&Host::default()).await.unwrap();
    let t0 = Instant::now();
    for i in 0..5 {
        exp.consume(batch(vec![], i * 10..i * 10 + 10, None))
            .await
            .unwrap();
    }
    tokio::time::timeout(Duration::from_secs(30), exp.shutdown())
        .await
        .expect("drained")
        .unwrap();
    let mut lines = loki.accepted_lines();
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 50);
    assert_eq!(loki.accepted_lines().len(), 50, "nothing sent twice");
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 50.0);
    assert_eq!(
        counter(&tel, "otelcol_exporter_send_failed_log_records"),
        0.0
    );
}

#[tokio::test]
async fn a_400_is_counted_as_failed_once_and_later_batches_flow() {
    let loki = Loki::with(vec![(
        400,
        vec![],
        "entry for stream '{pod=\"p1\"}' has timestamp too old\nmore",
    )]);
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, ""), &tel);
    let err = exp.consume(batch(vec![], 0..3, None)).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(
        err.message.contains(
            "HTTP 400 \"Bad Request\": entry for stream '{pod=\"p1\"}' has timestamp too old"
        ),
        "{err}"
    );
    assert!(!err.message.contains("more"), "first line only: {err}");
    exp.consume(batch(vec![], 3..5, None)).await.unwrap();
    assert_eq!(loki.attempts(), 2, "the 400 is not retried");
    assert_eq!(
        counter(&tel, "otelcol_exporter_send_failed_log_records"),
        3.0
    );
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 2.0);
    assert_eq!(loki.accepted_lines().len(), 2);
}

#[tokio::test]
async fn one_tenant_refused_does_not_lose_or_resend_the_others() {
    let loki = Loki::default();
    loki.tenant_replies
        .lock()
        .unwrap()
        .push(("bad".into(), (400, vec![], "tenant rejected")));
    loki.tenant_replies
        .lock()
        .unwrap()
        .push(("slow".into(), (503, vec![], "later")));
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, ""), &tel);
    let tenant = |n: u64| ["good", "bad", "slow"][(n % 3) as usize].to_string();
    let err = exp
        .consume(batch(vec![], 0..6, Some(&tenant)))
        .await
        .unwrap_err();
    assert!(err.message.contains("tenant rejected"), "{err}");
    let mut got: Vec<(String, usize)> = loki
        .accepted()
        .iter()
        .map(|r| {
            (
                r.header("x-scope-orgid").unwrap().to_string(),
                r.lines().len(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("good".to_string(), 2), ("slow".to_string(), 2)],
        "the good tenant sent once, the slow one retried, the bad one dropped"
    );
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 4.0);
    assert_eq!(
        counter(&tel, "otelcol_exporter_send_failed_log_records"),
        2.0
    );
}

#[tokio::test]
async fn records_without_labels_are_dropped_and_counted_the_rest_is_sent() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(
        &direct(
            addr,
            "default_labels_enabled: {exporter: false, job: false, instance: false, level: false}",
        ),
        &tel,
    );
    let mut b = batch(vec![], 0..3, None);
    if let Request::Logs(r) = b.request_mut().unwrap() {
        // The middle record loses its label hint.
        r.resource_logs[0].scope_logs[0].log_records[1]
            .attributes
            .retain(|a| a.key != "loki.attribute.labels");
    }
    exp.consume(b).await.unwrap();
    assert_eq!(loki.accepted_lines().len(), 2);
    assert_eq!(counter(&tel, "otelcol_exporter_sent_log_records"), 2.0);
    assert_eq!(
        counter(&tel, "otelcol_exporter_send_failed_log_records"),
        1.0
    );
    assert_eq!(
        counter(
            &tel,
            "otelcol_lokiexporter_send_failed_due_to_missing_labels"
        ),
        1.0
    );
}

#[tokio::test]
async fn configured_headers_win_over_the_tenant_header() {
    let loki = Loki::default();
    let addr = serve(loki.clone()).await;
    let exp = exporter(
        &direct(addr, "headers: {X-Scope-OrgID: static}"),
        &Telemetry::default(),
    );
    let tenant = |_: u64| "fromhint".to_string();
    exp.consume(batch(vec![], 0..1, Some(&tenant)))
        .await
        .unwrap();
    // confighttp applies the configured headers last.
    assert_eq!(loki.accepted()[0].header("x-scope-orgid"), Some("static"));
}

#[tokio::test]
async fn connection_refused_is_retried_until_loki_is_up() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let tel = Telemetry::default();
    let exp = exporter(
        &format!(
            "endpoint: http://{addr}/loki/api/v1/push\ntimeout: 1s\nretry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 20s}}"
        ),
        &tel,
    );
    exp.start(&Host::default()).await.unwrap();
    exp.consume(batch(vec![], 0..4, None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loki = Loki::default();
    serve_at(addr, loki.clone()).await;
    tokio::time::timeout(Duration::from_secs(20), exp.shutdown())
        .await
        .expect("drained")
        .unwrap();
    assert_eq!(loki.accepted_lines().len(), 4);
}

/// The receiver of `serve`, reached on a given address (a TCP relay to it).
async fn serve_at(addr: SocketAddr, loki: Loki) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let inner = serve(loki).await;
    // Forward raw TCP from the fixed port to the receiver.
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(inner).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
}
