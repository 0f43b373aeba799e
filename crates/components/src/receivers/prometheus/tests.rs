use ::config::Value;

use super::Config;

fn parse(yaml: &str) -> Result<Config, String> {
    let v = Value::from_yaml_str(yaml).expect("yaml");
    Config::parse(&v, "receivers::prometheus").map_err(|e| e.to_string())
}

#[test]
fn seed_sidecar_receiver_config_parses_with_prometheus_defaults() {
    let c = parse(
        "config:\n  scrape_configs:\n  - job_name: 'otel-scrape'\n    scrape_interval: 1m\n    static_configs:\n    - targets: [\"0.0.0.0:9404\"]\n    metrics_path: \"/actuator/prometheus\"\n",
    )
    .unwrap();
    let sc = &c.prometheus.scrape_configs[0];
    assert_eq!(sc.job_name, "otel-scrape");
    assert_eq!(sc.metrics_path, "/actuator/prometheus");
    assert_eq!(sc.scrape_timeout, std::time::Duration::from_secs(10));
    assert!(!c.trim_metric_suffixes);
}

#[test]
fn refuses_what_cannot_run_by_name() {
    let cases = [
        (
            "config:\n  scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod}]\n",
            "receivers::prometheus::config: scrape_configs[0]: job \"k\": kubernetes_sd_configs is not supported",
        ),
        (
            "target_allocator:\n  endpoint: http://ta\n",
            "target_allocator is not supported",
        ),
        (
            "config:\n  scrape_configs: []\n",
            "no Prometheus scrape_configs or target_allocator set",
        ),
        (
            "config:\n  scrape_configs:\n  - job_name: a\n    follow_redirects: false\n",
            "follow_redirects: false is not supported",
        ),
        (
            "use_start_time_metric: true\nconfig:\n  scrape_configs:\n  - job_name: a\n",
            "use_start_time_metric is not supported",
        ),
        ("bogus: 1\n", "bogus"),
    ];
    for (yaml, want) in cases {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}

// ---- the receiver through its factory, against a target served here ----------------------

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pdata::proto::metrics::v1::{Metric, metric};
use pdata::{Batch, Request};
use runtime::factory::{ReceiverFactory, ReceiverOutputs, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Telemetry};

use super::Factory;

#[derive(Default)]
struct Sink {
    batches: Mutex<Vec<Batch>>,
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

impl Sink {
    /// Every metric delivered so far, with its resource's `service.name`.
    fn metrics(&self) -> Vec<(String, Metric)> {
        let mut out = Vec::new();
        for b in self.batches.lock().unwrap().iter() {
            let Request::Metrics(req) = &*b.request().unwrap() else {
                continue;
            };
            for rm in &req.resource_metrics {
                let job = rm
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref())
                    .map(|v| format!("{:?}", v.value))
                    .unwrap_or_default();
                for sm in &rm.scope_metrics {
                    for m in &sm.metrics {
                        out.push((job.clone(), m.clone()));
                    }
                }
            }
        }
        out
    }

    async fn wait(&self, what: &str, cond: impl Fn(&[(String, Metric)]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if cond(&self.metrics()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

/// A target on 127.0.0.1 that answers with `body` (gzip'd when asked) and counts scrapes.
async fn serve(
    body: &'static str,
    content_type: &'static str,
) -> (u16, Arc<AtomicUsize>, Arc<Mutex<Vec<http::HeaderMap>>>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let headers = Arc::new(Mutex::new(Vec::new()));
    let (h2, hd2) = (hits.clone(), headers.clone());
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |req_headers: http::HeaderMap| {
            let (hits, headers) = (h2.clone(), hd2.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let gzip = req_headers
                    .get("accept-encoding")
                    .is_some_and(|v| v.to_str().unwrap_or("").contains("gzip"));
                headers.lock().unwrap().push(req_headers);
                let mut resp = http::Response::builder().header("content-type", content_type);
                let data = if gzip {
                    resp = resp.header("content-encoding", "gzip");
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    e.write_all(body.as_bytes()).unwrap();
                    e.finish().unwrap()
                } else {
                    body.as_bytes().to_vec()
                };
                resp.body(axum::body::Body::from(data)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hits, headers)
}

async fn start(yaml: &str, sink: &Arc<Sink>) -> Arc<dyn runtime::Receiver> {
    let value = Value::from_yaml_str(yaml).expect("yaml");
    let cfg = Factory
        .parse_config(&value, "receivers::prometheus")
        .expect("config");
    let set = Settings {
        id: ::config::ComponentId::new("prometheus"),
        kind: Kind::Receiver,
        telemetry: Telemetry::default(),
    };
    let mut outputs = ReceiverOutputs::default();
    outputs.set(pdata::Signal::Metrics, sink.clone());
    let r = Factory.create(set, &cfg, outputs).expect("create");
    r.start(&Host::default()).await.expect("start");
    r
}

fn gauge_value(m: &Metric) -> f64 {
    match &m.data {
        Some(metric::Data::Gauge(g)) => match g.data_points[0].value {
            Some(pdata::proto::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

#[tokio::test]
async fn scrapes_a_gzip_openmetrics_target_on_its_interval_with_prometheus_headers() {
    let (port, hits, headers) = serve(
        "# TYPE jobs counter\njobs_total 3\n# EOF\n",
        "application/openmetrics-text; version=1.0.0",
    )
    .await;
    let sink = Arc::new(Sink::default());
    let r = start(
        &format!("config:\n  scrape_configs:\n  - job_name: t\n    scrape_interval: 200ms\n    static_configs:\n    - targets: ['127.0.0.1:{port}']\n"),
        &sink,
    )
    .await;
    sink.wait("three scrapes", |ms| {
        ms.iter().filter(|(_, m)| m.name == "jobs_total").count() >= 3
    })
    .await;
    r.shutdown().await.unwrap();
    assert!(hits.load(Ordering::SeqCst) >= 3);
    let h = headers.lock().unwrap()[0].clone();
    assert_eq!(h["x-prometheus-scrape-timeout-seconds"], "0.2");
    assert!(
        h["accept"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text;version=1.0.0")
    );
    let ms = sink.metrics();
    let up = ms.iter().find(|(_, m)| m.name == "up").unwrap();
    assert_eq!(gauge_value(&up.1), 1.0);
}

#[tokio::test]
async fn body_over_the_limit_fails_the_scrape_with_up_zero() {
    let (port, _, _) = serve("a_metric_with_a_long_name 1\n", "text/plain; version=0.0.4").await;
    let sink = Arc::new(Sink::default());
    let r = start(
        &format!("config:\n  scrape_configs:\n  - job_name: t\n    scrape_interval: 200ms\n    body_size_limit: 10\n    enable_compression: false\n    static_configs:\n    - targets: ['127.0.0.1:{port}']\n"),
        &sink,
    )
    .await;
    sink.wait("up", |ms| ms.iter().any(|(_, m)| m.name == "up"))
        .await;
    r.shutdown().await.unwrap();
    let ms = sink.metrics();
    assert_eq!(
        gauge_value(&ms.iter().find(|(_, m)| m.name == "up").unwrap().1),
        0.0
    );
    assert!(
        ms.iter()
            .all(|(_, m)| m.name != "a_metric_with_a_long_name")
    );
}

#[tokio::test]
async fn a_target_removed_from_file_sd_sends_staleness_markers() {
    let (port, _, _) = serve("# TYPE g gauge\ng 1\n", "text/plain; version=0.0.4").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    std::fs::write(
        &file,
        format!(r#"[{{"targets": ["127.0.0.1:{port}"], "labels": {{"env": "e2e"}}}}]"#),
    )
    .unwrap();
    let sink = Arc::new(Sink::default());
    let r = start(
        &format!(
            "config:\n  scrape_configs:\n  - job_name: fsd\n    scrape_interval: 100ms\n    file_sd_configs:\n    - files: ['{}/*.json']\n      refresh_interval: 100ms\n",
            dir.path().display()
        ),
        &sink,
    )
    .await;
    sink.wait("a scrape", |ms| ms.iter().any(|(_, m)| m.name == "g"))
        .await;
    std::fs::write(&file, "[]").unwrap();
    sink.wait("a staleness marker", |ms| {
        ms.iter().any(|(_, m)| {
            m.name == "g"
                && matches!(&m.data, Some(metric::Data::Gauge(g)) if g.data_points[0].flags == 1)
        })
    })
    .await;
    r.shutdown().await.unwrap();
    let ms = sink.metrics();
    let g = &ms.iter().find(|(_, m)| m.name == "g").unwrap().1;
    let Some(metric::Data::Gauge(gg)) = &g.data else {
        panic!()
    };
    let env = gg.data_points[0].attributes.iter().find(|a| a.key == "env");
    assert!(env.is_some(), "file_sd labels reach the samples");
}

/// `scheme: https` with `tls_config`: a target behind mTLS is scraped with the configured CA
/// and client certificate (up = 1); without the client certificate the scrape fails (up = 0).
#[tokio::test]
async fn scrapes_an_https_target_with_tls_config_and_a_client_certificate() {
    use crate::util::tls::{ALPN_HTTP1, TlsServerConfig};
    use crate::util::tls_testing::{Ca, write};
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("scrape CA");
    let server = ca.server("target");
    let client = ca.client("prometheus");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let tls = TlsServerConfig {
        cert_file: write(dir.path(), "server.pem", &server.cert_pem),
        key_file: write(dir.path(), "server.key", &server.key_pem),
        client_ca_file: ca_file.clone(),
        ..Default::default()
    };
    let cert_file = write(dir.path(), "client.pem", &client.cert_pem);
    let key_file = write(dir.path(), "client.key", &client.key_pem);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = tokio_util::sync::CancellationToken::new();
    let _server = crate::util::http_server::serve_tls(
        "target",
        Default::default(),
        Some(tls.acceptor(ALPN_HTTP1).unwrap()),
        listener,
        stop.clone(),
        |_req| async {
            let mut r = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                b"secure_total 7\n",
            )));
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            Ok::<_, std::convert::Infallible>(r)
        },
    );
    for (with_cert, want_up) in [(true, 1.0), (false, 0.0)] {
        let client_keys = if with_cert {
            format!(", cert_file: {cert_file}, key_file: {key_file}")
        } else {
            String::new()
        };
        let sink = Arc::new(Sink::default());
        let r = start(
            &format!("config:\n  scrape_configs:\n  - job_name: t\n    scheme: https\n    scrape_interval: 200ms\n    tls_config: {{ca_file: {ca_file}{client_keys}}}\n    static_configs:\n    - targets: ['127.0.0.1:{port}']\n"),
            &sink,
        )
        .await;
        sink.wait("up", |ms| ms.iter().any(|(_, m)| m.name == "up"))
            .await;
        r.shutdown().await.unwrap();
        let ms = sink.metrics();
        let up = ms.iter().find(|(_, m)| m.name == "up").unwrap();
        assert_eq!(
            gauge_value(&up.1),
            want_up,
            "with client certificate: {with_cert}"
        );
        assert_eq!(
            ms.iter().any(|(_, m)| m.name == "secure_total"),
            with_cert,
            "with client certificate: {with_cert}"
        );
    }
    stop.cancel();
}
