//! `http_check` through its factory against an HTTP server on 127.0.0.1 in the test.
//! Expected metrics are Go's documentation.md: `httpcheck.status` five points per URL (one
//! per class, 1 for the response's), `httpcheck.duration` in ms, `httpcheck.error` with the
//! request's error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::common::v1::any_value::Value as V;
use pdata::proto::metrics::v1::{Metric, metric::Data, number_data_point::Value};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Factory;
use crate::receivers::netlog::testutil::{free_port, parse_err};

#[derive(Default)]
struct Sink(Mutex<Vec<Batch>>);

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.0.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Sink {
    async fn first_scrape(&self) -> Vec<Metric> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(b) = self.0.lock().unwrap().first() {
                let Request::Metrics(r) = b.clone().into_request().unwrap() else {
                    panic!()
                };
                let sm = &r.resource_metrics[0].scope_metrics[0];
                assert_eq!(sm.scope.as_ref().unwrap().name, super::scraper::SCOPE_NAME);
                return sm.metrics.clone();
            }
            assert!(Instant::now() < deadline, "no scrape");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Serves `/status/<code>` with that status; records each request's head and body.
async fn server(seen: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut n = 0;
                // read the head and a small body
                loop {
                    let Ok(m) = s.read(&mut buf[n..]).await else {
                        return;
                    };
                    if m == 0 {
                        break;
                    }
                    n += m;
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if n >= end + 4 + len {
                            break;
                        }
                    }
                }
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let code: u16 = req
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/status/"))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(200);
                seen.lock().unwrap().push(req);
                let resp =
                    format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

fn attrs(dp: &pdata::proto::metrics::v1::NumberDataPoint) -> BTreeMap<String, String> {
    dp.attributes
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(V::StringValue(s)) => s.clone(),
                Some(V::IntValue(i)) => i.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

fn int(dp: &pdata::proto::metrics::v1::NumberDataPoint) -> i64 {
    match dp.value {
        Some(Value::AsInt(i)) => i,
        _ => panic!("not an int"),
    }
}

async fn start(yaml: &str, sink: &Arc<Sink>) -> Arc<dyn runtime::Receiver> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "receivers::http_check")
        .unwrap();
    let set = Settings {
        id: config::ComponentId::new("http_check"),
        kind: Kind::Receiver,
        telemetry: runtime::Telemetry::default(),
    };
    let mut outputs = ReceiverOutputs::default();
    outputs.set(pdata::Signal::Metrics, sink.clone());
    let r = Factory.create(set, &cfg, outputs).unwrap();
    r.start(&Host::default()).await.unwrap();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_classes_duration_and_errors_as_go_documents_them() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = server(seen.clone()).await;
    let refused = free_port();
    let sink = Arc::new(Sink::default());
    let ok = format!("http://127.0.0.1:{port}/status/200");
    let missing = format!("http://127.0.0.1:{port}/status/404");
    let down = format!("http://127.0.0.1:{refused}/");
    let r = start(
        &format!(
            "collection_interval: 10s
initial_delay: 0s
targets:
  - endpoint: {ok}
    endpoints: [{missing}]
  - endpoint: {down}
"
        ),
        &sink,
    )
    .await;
    let ms = sink.first_scrape().await;
    let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["httpcheck.duration", "httpcheck.error", "httpcheck.status"]
    );

    let Some(Data::Gauge(d)) = &ms[0].data else {
        panic!()
    };
    assert_eq!(ms[0].unit, "ms");
    let urls: Vec<String> = d
        .data_points
        .iter()
        .map(|p| attrs(p)["http.url"].clone())
        .collect();
    assert_eq!(urls, [ok.clone(), missing.clone(), down.clone()]);

    let Some(Data::Sum(e)) = &ms[1].data else {
        panic!()
    };
    assert_eq!(e.data_points.len(), 1);
    let a = attrs(&e.data_points[0]);
    assert_eq!(a["http.url"], down);
    assert_eq!(
        a["error.message"],
        format!("Get \"{down}\": dial tcp 127.0.0.1:{refused}: connect: connection refused")
    );
    assert_eq!(int(&e.data_points[0]), 1);
    assert!(!e.is_monotonic);

    let Some(Data::Sum(s)) = &ms[2].data else {
        panic!()
    };
    assert_eq!(s.aggregation_temporality, 2); // cumulative
    assert_eq!(s.data_points.len(), 15);
    let ones: Vec<(String, String, String, String)> = s
        .data_points
        .iter()
        .filter(|p| int(p) == 1)
        .map(|p| {
            let a = attrs(p);
            (
                a["http.url"].clone(),
                a["http.status_code"].clone(),
                a["http.method"].clone(),
                a["http.status_class"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ones,
        [
            (ok.clone(), "200".into(), "GET".into(), "2xx".into()),
            (missing.clone(), "404".into(), "GET".into(), "4xx".into()),
        ]
    );
    // the refused URL: five zeros with status code 0
    let down_points: Vec<i64> = s
        .data_points
        .iter()
        .filter(|p| attrs(p)["http.url"] == down)
        .map(int)
        .collect();
    assert_eq!(down_points, [0, 0, 0, 0, 0]);
    assert!(
        s.data_points
            .iter()
            .filter(|p| attrs(p)["http.url"] == down)
            .all(|p| attrs(p)["http.status_code"] == "0")
    );
    assert!(s.data_points[0].start_time_unix_nano > 0);
    r.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_headers_and_body_are_sent() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = server(seen.clone()).await;
    let sink = Arc::new(Sink::default());
    let r = start(
        &format!(
            "collection_interval: 10s
initial_delay: 0s
metrics: {{ httpcheck.duration: {{ enabled: false }} }}
targets:
  - endpoint: http://127.0.0.1:{port}/status/503
    method: POST
    headers: {{ x-check: yes }}
    body: '{{\"ping\":1}}'
"
        ),
        &sink,
    )
    .await;
    let ms = sink.first_scrape().await;
    let names: Vec<&str> = ms.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["httpcheck.status"]);
    let req = seen.lock().unwrap()[0].clone();
    assert!(req.starts_with("POST /status/503 "), "{req}");
    assert!(req.to_ascii_lowercase().contains("x-check: yes"), "{req}");
    assert!(req.ends_with("{\"ping\":1}"), "{req}");
    r.shutdown().await.unwrap();
}

#[test]
fn config_errors_match_go() {
    let cases = [
        ("collection_interval: 10s", "no targets configured"),
        ("targets: [{method: GET}]", "\"endpoint\" must be specified"),
        (
            "targets: [{endpoint: invalid}]",
            "\"endpoint\" must be in the form of <scheme>://<hostname>[:<port>]: parse \"invalid\": invalid URI for request",
        ),
        ("targets: [{endpoint: 'http://a', bogus: 1}]", "bogus"),
        ("targets: [{endpoint: 'http://a'}]\nbogus: 1", "bogus"),
    ];
    for (yaml, want) in cases {
        let err = parse_err(&Factory, yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
}
