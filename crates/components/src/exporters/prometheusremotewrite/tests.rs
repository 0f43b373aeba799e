//! `prometheus_remote_write` through its factory against a remote-write receiver on
//! 127.0.0.1 written here: it snappy- and protobuf-decodes what arrives and answers
//! scripted statuses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use pdata::{Batch, Request, Signal};
use promtranslate::build::*;
use promtranslate::prompb::{self, WriteRequest};
use runtime::ComponentConfig;
use runtime::factory::{ExporterFactory, Settings};
use runtime::{Host, Kind, Telemetry};

use super::Factory;

#[derive(Clone, Default)]
struct Receiver {
    replies: Arc<Mutex<VecDeque<u16>>>,
    accepted: Arc<Mutex<Vec<(HeaderMap, WriteRequest)>>>,
    attempts: Arc<Mutex<usize>>,
}

impl Receiver {
    fn with(replies: Vec<u16>) -> Receiver {
        Receiver {
            replies: Arc::new(Mutex::new(replies.into())),
            ..Default::default()
        }
    }
    fn accepted(&self) -> Vec<(HeaderMap, WriteRequest)> {
        self.accepted.lock().unwrap().clone()
    }
    fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }
}

async fn serve(r: Receiver) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                *r.attempts.lock().unwrap() += 1;
                let status = r.replies.lock().unwrap().pop_front().unwrap_or(204);
                let req = match prompb::decode(&body) {
                    Ok(req) => req,
                    Err(e) => return (StatusCode::BAD_REQUEST, e),
                };
                if status / 100 == 2 {
                    r.accepted.lock().unwrap().push((headers, req));
                }
                (
                    StatusCode::from_u16(status).unwrap(),
                    "out of order sample".to_string(),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn exporter(yaml: &str, tel: &Telemetry) -> Arc<dyn runtime::Exporter> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "exporters::prometheus_remote_write")
        .unwrap_or_else(|e| panic!("{e}"));
    let set = Settings {
        id: config::ComponentId::new("prometheus_remote_write"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    Factory.create(set, &cfg, Signal::Metrics).unwrap()
}

fn direct(addr: SocketAddr, extra: &str) -> String {
    format!(
        "endpoint: http://{addr}/api/v1/write\nremote_write_queue: {{enabled: false}}\nretry_on_failure: {{initial_interval: 10ms, randomization_factor: 0, max_interval: 20ms, max_elapsed_time: 5s}}\n{extra}"
    )
}

const T: u64 = 1_700_000_000_000_000_000;

fn batch() -> Batch {
    Batch::from_request(Request::Metrics(request(
        vec![kv("service.name", "svc"), kv("host.name", "h")],
        vec![
            sum(
                "requests",
                "",
                true,
                false,
                vec![point(vec![kv("code", "200")], T - 1, T, 3.0)],
            ),
            sum("deltas", "", true, true, vec![point(vec![], T - 1, T, 3.0)]),
        ],
    )))
}

fn names(req: &WriteRequest) -> Vec<String> {
    let mut out: Vec<String> = req
        .timeseries
        .iter()
        .map(|ts| {
            ts.labels
                .iter()
                .map(|l| format!("{}={}", l.name, l.value))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    out.sort();
    out
}

fn value(tel: &Telemetry, name: &str) -> f64 {
    tel.value(name, &[("exporter", "prometheus_remote_write")])
        .unwrap_or(0.0)
}

#[tokio::test]
async fn sends_remote_write_1_0_with_external_labels_and_drops_deltas() {
    let r = Receiver::default();
    let addr = serve(r.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(
        &direct(
            addr,
            "external_labels: {cluster: c1}\nheaders: {X-Scope-OrgID: t1, Content-Type: text/plain}",
        ),
        &tel,
    );
    exp.start(&Host::default()).await.unwrap();
    exp.consume(batch()).await.unwrap();
    let got = r.accepted();
    assert_eq!(got.len(), 1);
    let (headers, req) = &got[0];
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(h("content-encoding"), "snappy");
    assert_eq!(h("content-type"), "application/x-protobuf");
    assert_eq!(h("x-prometheus-remote-write-version"), "0.1.0");
    assert_eq!(h("x-scope-orgid"), "t1");
    assert_eq!(
        names(req),
        vec![
            "__name__=requests_total,cluster=c1,code=200,job=svc",
            "__name__=target_info,cluster=c1,host_name=h,job=svc",
        ]
    );
    assert_eq!(
        value(
            &tel,
            "otelcol_exporter_prometheusremotewrite_failed_translations"
        ),
        1.0
    );
    assert_eq!(
        value(
            &tel,
            "otelcol_exporter_prometheusremotewrite_translated_time_series"
        ),
        2.0
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_400_is_permanent_and_not_retried() {
    let r = Receiver::with(vec![400]);
    let addr = serve(r.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, ""), &tel);
    exp.start(&Host::default()).await.unwrap();
    let err = exp.consume(batch()).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert_eq!(
        err.message,
        "remote write returned HTTP status 400 Bad Request; err = %!w(<nil>): out of order sample"
    );
    assert_eq!(r.attempts(), 1);
    assert_eq!(
        value(&tel, "otelcol_exporter_send_failed_metric_points"),
        2.0
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn status_5xx_and_429_are_retried_until_accepted() {
    let r = Receiver::with(vec![503, 429, 500]);
    let addr = serve(r.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, ""), &tel);
    exp.start(&Host::default()).await.unwrap();
    exp.consume(batch()).await.unwrap();
    assert_eq!(r.attempts(), 4);
    assert_eq!(r.accepted().len(), 1);
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn large_batches_are_split_by_max_batch_size_bytes() {
    let r = Receiver::default();
    let addr = serve(r.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(
        &direct(
            addr,
            "max_batch_size_bytes: 2000\ntarget_info: {enabled: false}",
        ),
        &tel,
    );
    exp.start(&Host::default()).await.unwrap();
    let points = (0..200)
        .map(|i| point(vec![kv("i", &format!("{i:04}"))], T - 1, T, i as f64))
        .collect();
    let b = Batch::from_request(Request::Metrics(request(
        vec![],
        vec![gauge("g", "", points)],
    )));
    exp.consume(b).await.unwrap();
    let got = r.accepted();
    assert!(got.len() > 1, "{}", got.len());
    let total: usize = got.iter().map(|(_, w)| w.timeseries.len()).sum();
    assert_eq!(total, 200);
    for (_, w) in &got {
        let size: usize = w.timeseries.iter().map(prost::Message::encoded_len).sum();
        assert!(size < 2000, "{size}");
    }
    exp.shutdown().await.unwrap();
}

fn validate(yaml: &str) -> Result<(), String> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg: super::Config =
        crate::util::http_client::decode(&value, "exporters::prometheusremotewrite")
            .map_err(|e| e.to_string())?;
    cfg.validate()
}

#[test]
fn config_defaults_and_gos_validation_messages() {
    let value = config::Value::from_yaml_str("endpoint: http://p:9090/api/v1/write").unwrap();
    let cfg: super::Config = crate::util::http_client::decode(&value, "x").unwrap();
    assert_eq!(
        cfg.client_settings().timeout,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(cfg.max_batch_size_bytes, 3_000_000);
    assert!(cfg.target_info.enabled);
    assert!(cfg.add_metric_suffixes);
    assert!(cfg.remote_write_queue.enabled);
    assert_eq!(cfg.remote_write_queue.queue_size, 10000);
    assert_eq!(cfg.remote_write_queue.num_consumers, 5);
    assert_eq!(cfg.queue_settings().num_consumers, 1);
    assert_eq!(cfg.concurrency(), 5);
    assert_eq!(
        cfg.retry_on_failure.initial_interval.0,
        std::time::Duration::from_millis(50)
    );
    assert_eq!(
        cfg.retry_on_failure.max_interval.0,
        std::time::Duration::from_millis(200)
    );
    assert_eq!(
        cfg.retry_on_failure.max_elapsed_time.0,
        std::time::Duration::from_secs(60)
    );
    assert_eq!(validate("{}").unwrap_err(), "invalid endpoint");
    assert_eq!(
        validate("endpoint: http://p/w\nremote_write_queue: {queue_size: 0}").unwrap_err(),
        "a 0 size queue will drop all the data"
    );
    assert_eq!(
        validate("endpoint: http://p/w\nremote_write_queue: {queue_size: -1}").unwrap_err(),
        "remote write queue size can't be negative"
    );
    assert_eq!(
        validate("endpoint: http://p/w\nremote_write_queue: {num_consumers: -1}").unwrap_err(),
        "remote write consumer number can't be negative"
    );
    assert_eq!(
        validate("endpoint: http://p/w\nmax_batch_request_parallelism: 0").unwrap_err(),
        "max_batch_request_parallelism can't be set to below 1"
    );
    assert_eq!(
        validate("endpoint: http://p/w\nexternal_labels: {a: ''}").unwrap_err(),
        "prometheus remote write: external labels configuration contains an empty key or value"
    );
    assert!(
        validate("endpoint: http://p/w\nsending_queue: {}")
            .unwrap_err()
            .contains("sending_queue")
    );
    validate("endpoint: https://p/w\nnamespace: ns\nresource_to_telemetry_conversion: {enabled: true}\nadd_metric_suffixes: false\nexport_created_metric: {enabled: true}\ntls: {insecure_skip_verify: true}\nheaders: {a: b}").unwrap();
}
