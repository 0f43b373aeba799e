//! The otlp receiver against real clients: tonic with the raw-bytes codec, and reqwest, on
//! 127.0.0.1 listeners with port 0.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use pdata::json::ExportResponse;
use pdata::{Batch, Signal};
use prost::Message;
use runtime::admission::Admission;
use runtime::factory::{ReceiverFactory, ReceiverOutputs, typed};
use runtime::{Component, ConsumeError, Consumer, Host, Telemetry};
use tonic::Code;
use tonic::codec::CompressionEncoding;

use super::config::Config;
use super::{Factory, OtlpReceiver};
use crate::otlp_grpc_codec::{RawBytesCodec, RpcStatus, export_path, retry_delay, retry_delay_of};

/// Records what it is given, or refuses with a configured error.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Batch>>,
    refuse_with: Mutex<Option<ConsumeError>>,
}

impl Recorder {
    fn items(&self) -> usize {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .map(Batch::item_count)
            .sum()
    }
    fn count(&self) -> usize {
        self.batches.lock().unwrap().len()
    }
    fn refuse_with(&self, e: Option<ConsumeError>) {
        *self.refuse_with.lock().unwrap() = e;
    }
}

#[async_trait]
impl Consumer for Recorder {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        if let Some(e) = self.refuse_with.lock().unwrap().clone() {
            return Err(e);
        }
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }
}

struct Harness {
    receiver: OtlpReceiver,
    telemetry: Telemetry,
    recorders: [Arc<Recorder>; 3],
    /// Private to the test, so that concurrent tests do not see each other's pressure.
    admission: Admission,
}

impl Harness {
    async fn start(yaml: &str) -> Harness {
        Self::start_for(yaml, &Signal::ALL).await
    }

    async fn start_for(yaml: &str, signals: &[Signal]) -> Harness {
        Self::start_with(yaml, signals, &Host::default())
            .await
            .expect("start")
    }

    async fn start_with(yaml: &str, signals: &[Signal], host: &Host) -> Result<Harness, String> {
        let value = config::Value::from_yaml_str(yaml).expect("test yaml");
        let cfg = Factory
            .parse_config(&value, "receivers::otlp")
            .expect("valid config");
        let telemetry = Telemetry::default();
        let recorders = [
            Arc::new(Recorder::default()),
            Arc::new(Recorder::default()),
            Arc::new(Recorder::default()),
        ];
        let mut outputs = ReceiverOutputs::default();
        for s in signals {
            outputs.set(*s, recorders[index(*s)].clone());
        }
        let admission = Admission::new();
        let receiver = OtlpReceiver::new(
            "otlp",
            &telemetry,
            typed::<Config>(&cfg),
            outputs,
            admission.clone(),
        )
        .expect("create");
        receiver.start(host).await?;
        Ok(Harness {
            receiver,
            telemetry,
            recorders,
            admission,
        })
    }

    fn recorder(&self, s: Signal) -> &Recorder {
        &self.recorders[index(s)]
    }

    fn grpc(&self) -> SocketAddr {
        self.receiver.grpc_addr().expect("grpc running")
    }

    fn http_url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.receiver.http_addr().expect("http running")
        )
    }

    fn metric(&self, name: &str, transport: &str) -> f64 {
        self.telemetry
            .value(name, &[("receiver", "otlp"), ("transport", transport)])
            .unwrap_or(0.0)
    }

    fn refused_requests(&self, transport: &str, reason: &str) -> f64 {
        self.telemetry
            .value(
                super::pipeline::REFUSED_REQUESTS,
                &[
                    ("receiver", "otlp"),
                    ("transport", transport),
                    ("reason", reason),
                ],
            )
            .unwrap_or(0.0)
    }
}

const BOTH: &str =
    "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n  http:\n    endpoint: 127.0.0.1:0\n";

fn index(s: Signal) -> usize {
    match s {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
        Signal::Profiles => 3,
    }
}

fn accepted_metric(s: Signal) -> &'static str {
    match s {
        Signal::Traces => "otelcol_receiver_accepted_spans",
        Signal::Metrics => "otelcol_receiver_accepted_metric_points",
        Signal::Logs => "otelcol_receiver_accepted_log_records",
        Signal::Profiles => "otelcol_receiver_accepted_profile_samples",
    }
}

fn refused_metric(s: Signal) -> &'static str {
    match s {
        Signal::Traces => "otelcol_receiver_refused_spans",
        Signal::Metrics => "otelcol_receiver_refused_metric_points",
        Signal::Logs => "otelcol_receiver_refused_log_records",
        Signal::Profiles => "otelcol_receiver_refused_profile_samples",
    }
}

fn request(signal: Signal, seed: u64) -> (Vec<u8>, usize) {
    let r = pdata::testdata::request(signal, 2, 3, seed);
    let n = r.item_count();
    assert!(n > 0);
    (r.encode_to_vec(), n)
}

async fn grpc_export(
    addr: SocketAddr,
    signal: Signal,
    body: Vec<u8>,
    gzip: bool,
) -> Result<tonic::Response<Bytes>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20);
    if gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    client.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(export_path(signal));
    client
        .unary(tonic::Request::new(Bytes::from(body)), path, RawBytesCodec)
        .await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn compress(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => gzip(data),
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        "zlib" | "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "snappy" => snap::raw::Encoder::new().compress_vec(data).unwrap(),
        "x-snappy-framed" => {
            let mut e = snap::write::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            e.into_inner().unwrap()
        }
        "lz4" => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        other => panic!("no test encoder for {other}"),
    }
}

async fn post(
    url: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    req.send().await.expect("http request")
}

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

// ---------------------------------------------------------------------------------------------
// gRPC

#[tokio::test]
async fn grpc_accepts_every_signal_plain_and_gzip() {
    let h = Harness::start(BOTH).await;
    for signal in Signal::ALL {
        for gzip in [false, true] {
            let (body, n) = request(signal, 7);
            let before = h.recorder(signal).items();
            let resp = grpc_export(h.grpc(), signal, body.clone(), gzip)
                .await
                .expect("export ok");
            assert!(
                resp.into_inner().is_empty(),
                "full success is an empty response"
            );
            assert_eq!(h.recorder(signal).items(), before + n);
            let last = h
                .recorder(signal)
                .batches
                .lock()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            assert!(last.is_encoded(), "the batch stays encoded");
            assert_eq!(last.encoded(), Bytes::from(body));
        }
        assert_eq!(
            h.metric(accepted_metric(signal), "grpc"),
            h.recorder(signal).items() as f64
        );
    }
    h.receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_garbage_is_invalid_argument_counted_and_server_keeps_serving() {
    let h = Harness::start(BOTH).await;
    let err = grpc_export(
        h.grpc(),
        Signal::Traces,
        vec![0xff, 0xff, 0xff, 0x01],
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("invalid traces export request"),
        "{}",
        err.message()
    );
    assert_eq!(h.refused_requests("grpc", "malformed"), 1.0);
    assert_eq!(h.recorder(Signal::Traces).count(), 0);

    let (body, n) = request(Signal::Traces, 1);
    grpc_export(h.grpc(), Signal::Traces, body, false)
        .await
        .expect("next request served");
    assert_eq!(h.recorder(Signal::Traces).items(), n);
}

#[tokio::test]
async fn grpc_empty_request_is_ok_without_calling_the_pipeline() {
    let h = Harness::start(BOTH).await;
    grpc_export(h.grpc(), Signal::Logs, Vec::new(), false)
        .await
        .expect("ok");
    assert_eq!(h.recorder(Signal::Logs).count(), 0);
}

#[tokio::test]
async fn grpc_signal_without_pipeline_is_unimplemented() {
    let h = Harness::start_for(BOTH, &[Signal::Traces]).await;
    let (body, _) = request(Signal::Metrics, 1);
    let err = grpc_export(h.grpc(), Signal::Metrics, body, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}

#[tokio::test]
async fn grpc_maps_downstream_errors_to_status_codes() {
    let h = Harness::start(BOTH).await;
    let rec = h.recorder(Signal::Traces);
    let (body, n) = request(Signal::Traces, 3);

    rec.refuse_with(Some(ConsumeError::retryable("sending queue is full")));
    let err = grpc_export(h.grpc(), Signal::Traces, body.clone(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), "sending queue is full");
    assert_eq!(retry_delay_of(&err), None);

    rec.refuse_with(Some(ConsumeError::throttled(
        "slow down",
        Duration::from_secs(7),
    )));
    let err = grpc_export(h.grpc(), Signal::Traces, body.clone(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(retry_delay_of(&err), Some(Duration::from_secs(7)));

    rec.refuse_with(Some(ConsumeError::permanent("bad data")));
    let err = grpc_export(h.grpc(), Signal::Traces, body.clone(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);

    assert_eq!(
        h.metric(refused_metric(Signal::Traces), "grpc"),
        (3 * n) as f64
    );
    assert_eq!(h.refused_requests("grpc", "pipeline"), 3.0);
    assert_eq!(h.metric(accepted_metric(Signal::Traces), "grpc"), 0.0);
}

#[tokio::test]
async fn grpc_passes_partial_success_back() {
    let h = Harness::start(BOTH).await;
    h.recorder(Signal::Metrics)
        .refuse_with(Some(ConsumeError::partial(2, "2 points dropped")));
    let (body, n) = request(Signal::Metrics, 3);
    let resp = grpc_export(h.grpc(), Signal::Metrics, body, false)
        .await
        .expect("partial success is OK");
    let parsed = ExportResponse::from_protobuf(Signal::Metrics, &resp.into_inner()).unwrap();
    let p = parsed.partial_success.expect("partial_success set");
    assert_eq!(p.rejected, 2);
    assert_eq!(p.error_message, "2 points dropped");
    assert_eq!(
        h.metric(accepted_metric(Signal::Metrics), "grpc"),
        (n - 2) as f64
    );
    assert_eq!(h.metric(refused_metric(Signal::Metrics), "grpc"), 2.0);
}

#[tokio::test]
async fn grpc_enforces_max_recv_msg_size_mib() {
    let h = Harness::start(
        "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n    max_recv_msg_size_mib: 1\n",
    )
    .await;
    // A valid request just over 1 MiB: one log with a large body.
    use pdata::proto::common::v1::{AnyValue, any_value::Value};
    use pdata::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    let record = LogRecord {
        body: Some(AnyValue {
            value: Some(Value::StringValue("x".repeat(1 << 20))),
        }),
        ..Default::default()
    };
    let r = pdata::proto::collector::logs::v1::ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let err = grpc_export(h.grpc(), Signal::Logs, r.encode_to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(h.refused_requests("grpc", "too_large"), 1.0);
    assert_eq!(h.recorder(Signal::Logs).count(), 0);

    // Compressed small, decompressed over the limit: refused too.
    let err = grpc_export(h.grpc(), Signal::Logs, r.encode_to_vec(), true)
        .await
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    assert_eq!(h.recorder(Signal::Logs).count(), 0);

    let (body, n) = request(Signal::Logs, 1);
    grpc_export(h.grpc(), Signal::Logs, body, false)
        .await
        .expect("next request served");
    assert_eq!(h.recorder(Signal::Logs).items(), n);
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[tokio::test]
async fn http_accepts_protobuf_for_every_signal_with_every_encoding() {
    let h = Harness::start(BOTH).await;
    let paths = [
        (Signal::Traces, "/v1/traces"),
        (Signal::Metrics, "/v1/metrics"),
        (Signal::Logs, "/v1/logs"),
    ];
    for (signal, path) in paths {
        let mut expected = 0;
        for encoding in [
            None,
            Some("gzip"),
            Some("zstd"),
            Some("zlib"),
            Some("deflate"),
            Some("snappy"),
            Some("x-snappy-framed"),
            Some("lz4"),
        ] {
            let (body, n) = request(signal, 11);
            let wire = match encoding {
                Some(e) => compress(e, &body),
                None => body,
            };
            let resp = post(&h.http_url(path), PROTOBUF, encoding, wire).await;
            assert_eq!(resp.status(), 200, "{signal} {encoding:?}");
            assert_eq!(resp.headers()["content-type"], PROTOBUF);
            assert!(resp.bytes().await.unwrap().is_empty());
            expected += n;
            assert_eq!(
                h.recorder(signal).items(),
                expected,
                "{signal} {encoding:?}"
            );
        }
        assert_eq!(h.metric(accepted_metric(signal), "http"), expected as f64);
    }
}

#[tokio::test]
async fn http_accepts_json_in_camel_and_snake_case() {
    let h = Harness::start(BOTH).await;
    let req = pdata::testdata::request(Signal::Logs, 1, 4, 5);
    let resp = post(
        &h.http_url("/v1/logs"),
        "application/json; charset=utf-8",
        None,
        pdata::json::encode(&req),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], JSON);
    assert_eq!(resp.text().await.unwrap(), "{}");
    assert_eq!(h.recorder(Signal::Logs).items(), 4);
    assert_eq!(
        *h.recorder(Signal::Logs).batches.lock().unwrap()[0]
            .request()
            .unwrap(),
        req
    );

    let snake = br#"{"resource_spans":[{"scope_spans":[{"spans":[
        {"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","name":"a","kind":2},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"b"}]}]}]}"#;
    let resp = post(&h.http_url("/v1/traces"), JSON, Some("gzip"), gzip(snake)).await;
    assert_eq!(resp.status(), 200);
    let batches = h.recorder(Signal::Traces).batches.lock().unwrap().clone();
    let r = batches[0].request().unwrap();
    let pdata::Request::Traces(t) = &*r else {
        panic!("traces")
    };
    let spans = &t.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 2);
    let hex: String = spans[0]
        .trace_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, "5b8efff798038103d269b633813fc60c");
    assert_eq!(spans[0].kind, 2);
}

/// Posts `body` and checks the status, the Status body and the refusal count, then checks a
/// valid request still goes through.
async fn assert_refused(
    h: &Harness,
    resp: reqwest::Response,
    status: u16,
    content_type: &str,
    reason: &str,
    body_says: &str,
) {
    assert_eq!(resp.status(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with(content_type), "{ct}");
    let bytes = resp.bytes().await.unwrap();
    let text = match content_type {
        PROTOBUF => {
            RpcStatus::decode(bytes.as_ref())
                .expect("protobuf Status body")
                .message
        }
        JSON => {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON Status body");
            assert_eq!(v["code"], 3);
            v["message"].as_str().unwrap().to_string()
        }
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    assert!(
        text.contains(body_says),
        "{text:?} should contain {body_says:?}"
    );
    assert_eq!(h.refused_requests("http", reason), 1.0, "{reason}");

    let before = h.recorder(Signal::Traces).items();
    let (body, n) = request(Signal::Traces, 99);
    let ok = post(&h.http_url("/v1/traces"), PROTOBUF, None, body).await;
    assert_eq!(ok.status(), 200, "server keeps serving after {reason}");
    assert_eq!(h.recorder(Signal::Traces).items(), before + n);
}

#[tokio::test]
async fn http_refuses_garbage_protobuf_with_400_status_body() {
    let h = Harness::start(BOTH).await;
    let resp = post(
        &h.http_url("/v1/traces"),
        PROTOBUF,
        None,
        vec![0x0a, 0xff, 0xff, 0xff],
    )
    .await;
    assert_refused(
        &h,
        resp,
        400,
        PROTOBUF,
        "malformed",
        "invalid traces export request",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_broken_json_with_400_json_status() {
    let h = Harness::start(BOTH).await;
    let resp = post(
        &h.http_url("/v1/traces"),
        JSON,
        None,
        b"{\"resourceSpans\": [".to_vec(),
    )
    .await;
    assert_refused(
        &h,
        resp,
        400,
        JSON,
        "malformed",
        "invalid traces export request",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_truncated_gzip_with_400() {
    let h = Harness::start(BOTH).await;
    let (body, _) = request(Signal::Traces, 1);
    let gz = gzip(&body);
    let resp = post(
        &h.http_url("/v1/traces"),
        PROTOBUF,
        Some("gzip"),
        gz[..gz.len() / 2].to_vec(),
    )
    .await;
    assert_refused(&h, resp, 400, PROTOBUF, "malformed", "gzip").await;
}

#[tokio::test]
async fn http_refuses_wrong_content_type_with_415() {
    let h = Harness::start(BOTH).await;
    let resp = post(
        &h.http_url("/v1/traces"),
        "text/plain",
        None,
        b"hello".to_vec(),
    )
    .await;
    assert_refused(
        &h,
        resp,
        415,
        "text/plain",
        "unsupported_media_type",
        "415 unsupported media type, supported: [application/json, application/x-protobuf]",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_get_with_405() {
    let h = Harness::start(BOTH).await;
    let resp = reqwest::get(h.http_url("/v1/metrics")).await.unwrap();
    assert_refused(
        &h,
        resp,
        405,
        "text/plain",
        "method_not_allowed",
        "405 method not allowed, supported: [POST]",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_unknown_path_with_404() {
    let h = Harness::start(BOTH).await;
    let resp = post(&h.http_url("/v1/nope"), PROTOBUF, None, Vec::new()).await;
    assert_refused(
        &h,
        resp,
        404,
        "text/plain",
        "not_found",
        "404 page not found",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_unknown_content_encoding_with_400() {
    let h = Harness::start(BOTH).await;
    let resp = post(
        &h.http_url("/v1/traces"),
        PROTOBUF,
        Some("br"),
        b"xx".to_vec(),
    )
    .await;
    assert_refused(
        &h,
        resp,
        400,
        "text/plain",
        "unsupported_encoding",
        "unsupported Content-Encoding: br",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_oversize_body_with_413() {
    let h = Harness::start(
        "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    max_request_body_size: 16384\n",
    )
    .await;
    let resp = post(&h.http_url("/v1/traces"), PROTOBUF, None, vec![0u8; 32768]).await;
    assert_refused(
        &h,
        resp,
        413,
        PROTOBUF,
        "too_large",
        "max_request_body_size",
    )
    .await;
}

#[tokio::test]
async fn http_refuses_zip_bomb_that_decompresses_past_the_cap_with_413() {
    let h = Harness::start(
        "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    max_request_body_size: 1MiB\n",
    )
    .await;
    // 256 MiB of zeros as 256 concatenated gzip members of 1 MiB each (a few hundred KiB on
    // the wire): it must stop at the 1 MiB cap, not inflate it all.
    let bomb = gzip(&vec![0u8; 1 << 20]).repeat(256);
    assert!(bomb.len() < 1 << 20);
    let rss_before = runtime::telemetry::process_rss_bytes().unwrap_or(0);
    let resp = post(&h.http_url("/v1/traces"), JSON, Some("gzip"), bomb).await;
    let rss_after = runtime::telemetry::process_rss_bytes().unwrap_or(0);
    assert!(
        rss_after < rss_before + (128 << 20),
        "decompression went past the cap: rss {rss_before} -> {rss_after}"
    );
    assert_refused(&h, resp, 413, JSON, "too_large", "max_request_body_size").await;
}

#[tokio::test]
async fn http_maps_downstream_errors_to_status_codes_and_retry_after() {
    let h = Harness::start(BOTH).await;
    let rec = h.recorder(Signal::Logs);
    let (body, n) = request(Signal::Logs, 3);
    let url = h.http_url("/v1/logs");

    rec.refuse_with(Some(ConsumeError::retryable(
        "data refused due to high memory usage",
    )));
    let resp = post(&url, PROTOBUF, None, body.clone()).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_none());
    let status = RpcStatus::decode(resp.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(status.code, 14);
    assert_eq!(status.message, "data refused due to high memory usage");

    rec.refuse_with(Some(ConsumeError::throttled(
        "slow down",
        Duration::from_secs(30),
    )));
    let resp = post(&url, PROTOBUF, None, body.clone()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    let status = RpcStatus::decode(resp.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(retry_delay(&status), Some(Duration::from_secs(30)));

    rec.refuse_with(Some(ConsumeError::permanent("cannot export")));
    let resp = post(
        &url,
        JSON,
        None,
        pdata::json::encode(&pdata::Request::decode(Signal::Logs, &body).unwrap()),
    )
    .await;
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["content-type"], JSON);
    let v: serde_json::Value = resp.json_value().await;
    assert_eq!(v["code"], 13);

    assert_eq!(
        h.metric(refused_metric(Signal::Logs), "http"),
        (3 * n) as f64
    );
    assert_eq!(h.refused_requests("http", "pipeline"), 3.0);
}

trait JsonValue {
    async fn json_value(self) -> serde_json::Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

#[tokio::test]
async fn http_passes_partial_success_back_in_both_encodings() {
    let h = Harness::start(BOTH).await;
    h.recorder(Signal::Traces)
        .refuse_with(Some(ConsumeError::partial(3, "3 spans dropped")));
    let (body, _) = request(Signal::Traces, 3);

    let resp = post(&h.http_url("/v1/traces"), PROTOBUF, None, body.clone()).await;
    assert_eq!(resp.status(), 200);
    let r = ExportResponse::from_protobuf(Signal::Traces, &resp.bytes().await.unwrap()).unwrap();
    assert_eq!(r.partial_success.unwrap().rejected, 3);

    let json = pdata::json::encode(&pdata::Request::decode(Signal::Traces, &body).unwrap());
    let resp = post(&h.http_url("/v1/traces"), JSON, None, json).await;
    assert_eq!(resp.status(), 200);
    let v = resp.json_value().await;
    assert_eq!(v["partialSuccess"]["rejectedSpans"], "3");
    assert_eq!(v["partialSuccess"]["errorMessage"], "3 spans dropped");
}

#[tokio::test]
async fn http_serves_custom_url_paths_with_leading_slash_added() {
    let h = Harness::start(
        "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    traces_url_path: custom/traces\n    logs_url_path: /my/logs\n",
    )
    .await;
    let (body, n) = request(Signal::Traces, 1);
    assert_eq!(
        post(&h.http_url("/custom/traces"), PROTOBUF, None, body.clone())
            .await
            .status(),
        200
    );
    assert_eq!(h.recorder(Signal::Traces).items(), n);
    assert_eq!(
        post(&h.http_url("/v1/traces"), PROTOBUF, None, body)
            .await
            .status(),
        404
    );
    let (body, _) = request(Signal::Logs, 1);
    assert_eq!(
        post(&h.http_url("/my/logs"), PROTOBUF, None, body)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn http_answers_cors_preflight_for_allowed_origins_only() {
    let h = Harness::start(
        "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    cors:\n      allowed_origins: [\"https://*.example.com\"]\n      max_age: 600\n",
    )
    .await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, h.http_url("/v1/traces"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(ok.headers()["access-control-allow-methods"], "POST");
    assert_eq!(ok.headers()["access-control-allow-headers"], "content-type");
    assert_eq!(ok.headers()["access-control-max-age"], "600");

    let refused = preflight("https://evil.test").await.unwrap();
    assert_eq!(refused.status(), 204);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let (body, _) = request(Signal::Traces, 1);
    let resp = client
        .post(h.http_url("/v1/traces"))
        .header("origin", "https://app.example.com")
        .header("content-type", PROTOBUF)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn http_adds_configured_response_headers() {
    let h = Harness::start("protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    response_headers:\n      x-served-by: ferrotel\n").await;
    let (body, _) = request(Signal::Traces, 1);
    let resp = post(&h.http_url("/v1/traces"), PROTOBUF, None, body).await;
    assert_eq!(resp.headers()["x-served-by"], "ferrotel");
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and config

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_requests_in_flight() {
    // A consumer that takes a while: the request is in flight when shutdown begins.
    struct Slow(Arc<Recorder>, Arc<tokio::sync::Notify>);
    #[async_trait]
    impl Consumer for Slow {
        async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
            self.1.notify_one();
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.0.consume(batch).await
        }
    }
    let rec = Arc::new(Recorder::default());
    let entered = Arc::new(tokio::sync::Notify::new());
    let mut outputs = ReceiverOutputs::default();
    outputs.set(Signal::Traces, Arc::new(Slow(rec.clone(), entered.clone())));
    let value = config::Value::from_yaml_str(BOTH).unwrap();
    let cfg = Factory.parse_config(&value, "receivers::otlp").unwrap();
    let receiver = Arc::new(
        OtlpReceiver::new(
            "otlp",
            &Telemetry::default(),
            typed::<Config>(&cfg),
            outputs,
            Admission::new(),
        )
        .unwrap(),
    );
    receiver.start(&Host::default()).await.unwrap();
    let url = format!("http://{}/v1/traces", receiver.http_addr().unwrap());
    let (body, n) = request(Signal::Traces, 1);
    let in_flight = tokio::spawn(async move { post(&url, PROTOBUF, None, body).await.status() });
    entered.notified().await;
    let stopped = receiver.http_addr().unwrap();
    receiver.shutdown().await.unwrap();
    assert_eq!(
        in_flight.await.unwrap(),
        200,
        "the request in flight finished"
    );
    assert_eq!(rec.items(), n);
    assert!(
        tokio::net::TcpStream::connect(stopped).await.is_err(),
        "listener closed"
    );
}

#[test]
fn config_defaults_match_the_go_collector() {
    let parse = |yaml: &str| {
        Factory.parse_config(
            &config::Value::from_yaml_str(yaml).unwrap(),
            "receivers::otlp",
        )
    };
    let cfg = parse("protocols:\n  grpc:\n  http:\n").unwrap();
    let cfg = typed::<Config>(&cfg);
    let g = cfg.protocols.grpc.as_ref().expect("grpc: enables gRPC");
    assert_eq!(g.endpoint, "localhost:4317");
    assert_eq!(g.max_recv_msg_size(), 4 << 20);
    let h = cfg.protocols.http.as_ref().expect("http: enables HTTP");
    assert_eq!(h.endpoint, "localhost:4318");
    assert_eq!(
        (
            h.traces_url_path.as_str(),
            h.metrics_url_path.as_str(),
            h.logs_url_path.as_str()
        ),
        ("/v1/traces", "/v1/metrics", "/v1/logs")
    );
    assert_eq!(h.max_request_body_size.0, 20 << 20);
    assert!(h.keep_alives_enabled);

    let only_grpc = parse("protocols:\n  grpc:\n").unwrap();
    assert!(typed::<Config>(&only_grpc).protocols.http.is_none());

    let err = parse("protocols:\n").unwrap_err().to_string();
    assert!(
        err.contains("must specify at least one protocol when using the OTLP receiver"),
        "{err}"
    );
    let err = parse("protocols:\n  grpc:\n    endpont: x\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("endpont"), "{err}");
    parse("protocols:\n  grpc:\n    tls:\n      cert_file: a.pem\n      key_file: a.key\n")
        .expect("TLS keys are served");
    let err = parse("protocols:\n  grpc:\n    tls:\n      cert_file: a.pem\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "protocols::grpc::tls: TLS configuration must include both certificate and key"
        ),
        "{err}"
    );
    // `auth` is resolved at start (see the auth tests below).
    assert!(parse("protocols:\n  http:\n    auth:\n      authenticator: basicauth\n").is_ok());
}

#[tokio::test]
async fn start_fails_with_a_clear_error_when_the_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let yaml = format!(
        "protocols:\n  grpc:\n    endpoint: {}\n",
        taken.local_addr().unwrap()
    );
    let cfg = Factory
        .parse_config(
            &config::Value::from_yaml_str(&yaml).unwrap(),
            "receivers::otlp",
        )
        .unwrap();
    let r = OtlpReceiver::new(
        "otlp",
        &Telemetry::default(),
        typed::<Config>(&cfg),
        ReceiverOutputs::default(),
        Admission::new(),
    )
    .unwrap();
    let err = r.start(&Host::default()).await.unwrap_err();
    assert!(err.contains("failed to listen for OTLP/gRPC"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Fuzz bodies, run over seeded random and mutated inputs (cargo-fuzz needs nightly).

/// xorshift64*, so the inputs are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.truncate(i);
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            _ => {
                let n = rng.below(16);
                v.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    v
}

fn fuzz_corpus() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = Signal::ALL
        .iter()
        .map(|s| pdata::testdata::request(*s, 1, 2, 3).encode_to_vec())
        .collect();
    seeds.extend(
        Signal::ALL
            .iter()
            .map(|s| pdata::json::encode(&pdata::testdata::request(*s, 1, 2, 3))),
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs = Vec::new();
    for i in 0..3000 {
        if i % 3 == 0 {
            let n = rng.below(64);
            inputs.push((0..n).map(|_| rng.next() as u8).collect());
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            inputs.push(mutate(&mut rng, seed));
        }
    }
    inputs
}

#[test]
fn fuzz_bodies_do_not_panic_on_random_and_mutated_inputs() {
    let inputs = fuzz_corpus();
    for input in &inputs {
        super::fuzzing::otlp_protobuf(input);
        super::fuzzing::otlp_json(input);
    }
    // Decompression: seeds are each encoding's output, prefixed with its selector byte.
    let (plain, _) = request(Signal::Traces, 4);
    let encodings = [
        "identity",
        "gzip",
        "zstd",
        "zlib",
        "snappy",
        "x-snappy-framed",
        "lz4",
    ];
    let mut rng = Rng(42);
    for i in 0..3000 {
        let which = rng.below(encodings.len());
        let body = if which == 0 {
            plain.clone()
        } else {
            compress(encodings[which], &plain)
        };
        let mut input = vec![which as u8];
        input.extend(if i % 2 == 0 {
            mutate(&mut rng, &body)
        } else {
            body
        });
        super::fuzzing::http_decompress(&input);
    }
}

// Body decoding (`http::decode_body`, the cap and encodings of the HTTP path).

#[test]
fn every_encoding_round_trips() {
    use super::http::decode_body;
    use crate::compression::{Codec, DecompressError};
    let data: Vec<u8> = (0..10_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let cases = [
        (None, data.clone()),
        (Some(Codec::Gzip), compress("gzip", &data)),
        (Some(Codec::Zlib), compress("zlib", &data)),
        (Some(Codec::Zstd), compress("zstd", &data)),
        (Some(Codec::Snappy), compress("snappy", &data)),
        (
            Some(Codec::SnappyFramed),
            compress("x-snappy-framed", &data),
        ),
        (Some(Codec::Lz4), compress("lz4", &data)),
    ];
    for (enc, body) in cases {
        assert_eq!(
            decode_body(enc, body.clone(), data.len()).unwrap(),
            data,
            "{enc:?}"
        );
        assert_eq!(
            decode_body(enc, body, data.len() - 1),
            Err(DecompressError::TooLarge {
                limit: data.len() - 1
            }),
            "{enc:?}"
        );
    }
}

#[test]
fn deflate_is_read_as_zlib_and_unknown_encodings_are_rejected() {
    use super::http::content_codec;
    use crate::compression::Codec;
    assert_eq!(content_codec("deflate"), Some(Some(Codec::Zlib)));
    assert_eq!(content_codec("GZIP"), Some(Some(Codec::Gzip)));
    assert_eq!(content_codec("br"), None);
}

// ---------------------------------------------------------------------------------------------
// Admission: refusing before the body is read

const MEMORY_REFUSED: &str = "data refused due to high memory usage";

#[tokio::test]
async fn grpc_refuses_unavailable_under_memory_pressure_without_reading_the_body() {
    let h = Harness::start(BOTH).await;
    let limiter = h.admission.register(None);
    limiter.set_refusing(true);
    // A request whose message never comes: only a server that answers without polling the
    // body can answer it.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", h.grpc()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let never = futures::stream::pending::<Bytes>();
    let path = http::uri::PathAndQuery::from_static(export_path(Signal::Traces));
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        client.client_streaming(tonic::Request::new(never), path, RawBytesCodec),
    )
    .await
    .expect("answered without waiting for the body")
    .expect_err("refused");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), MEMORY_REFUSED);
    assert_eq!(h.recorder(Signal::Traces).count(), 0, "pipeline not called");
    assert_eq!(h.refused_requests("grpc", "memory_limit"), 1.0);

    limiter.set_refusing(false);
    let (body, n) = request(Signal::Traces, 1);
    grpc_export(h.grpc(), Signal::Traces, body, false)
        .await
        .expect("accepted once the pressure is gone");
    assert_eq!(h.recorder(Signal::Traces).items(), n);
}

#[tokio::test]
async fn grpc_refuses_a_message_over_the_read_budget_and_releases_what_it_reserved() {
    let h = Harness::start(BOTH).await;
    let _limiter = h.admission.register(Some(1000));
    let (body, n) = request(Signal::Traces, 1);
    assert!(body.len() > 1000, "the message must exceed the budget");
    // Another request holds part of the budget (one larger than the budget is admitted
    // only when nothing else is being read).
    let held = h.admission.try_reserve(1).unwrap();
    for gzip in [false, true] {
        let status = grpc_export(h.grpc(), Signal::Traces, body.clone(), gzip)
            .await
            .expect_err("over the budget");
        assert_eq!(status.code(), Code::Unavailable, "gzip {gzip}");
        assert_eq!(status.message(), MEMORY_REFUSED);
    }
    assert_eq!(h.recorder(Signal::Traces).count(), 0, "pipeline not called");
    assert_eq!(h.refused_requests("grpc", "memory_limit"), 2.0);
    assert_eq!(h.admission.reserved(), 1, "refused requests hold nothing");

    drop(held);
    grpc_export(h.grpc(), Signal::Traces, body, true)
        .await
        .expect("admitted when the budget is free");
    assert_eq!(h.recorder(Signal::Traces).items(), n);
    assert_eq!(h.admission.reserved(), 0, "released once answered");
}

#[tokio::test]
async fn http_refuses_503_under_memory_pressure_with_a_status_in_the_request_encoding() {
    let h = Harness::start(BOTH).await;
    let limiter = h.admission.register(None);
    limiter.set_refusing(true);
    let (body, n) = request(Signal::Traces, 1);

    let resp = post(&h.http_url("/v1/traces"), PROTOBUF, None, body.clone()).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_none(), "as Go: none");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(PROTOBUF)
    );
    let status = RpcStatus::decode(resp.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!((status.code, status.message.as_str()), (14, MEMORY_REFUSED));

    let json = br#"{"resourceSpans":[]}"#.to_vec();
    let resp = post(&h.http_url("/v1/traces"), JSON, None, json).await;
    assert_eq!(resp.status(), 503);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(v["code"], 14);
    assert_eq!(v["message"], MEMORY_REFUSED);

    assert_eq!(h.recorder(Signal::Traces).count(), 0, "pipeline not called");
    assert_eq!(h.refused_requests("http", "memory_limit"), 2.0);

    limiter.set_refusing(false);
    let ok = post(&h.http_url("/v1/traces"), PROTOBUF, None, body).await;
    assert_eq!(ok.status(), 200, "accepted once the pressure is gone");
    assert_eq!(h.recorder(Signal::Traces).items(), n);
}

#[tokio::test]
async fn http_answers_503_under_memory_pressure_before_a_large_body_has_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::start(BOTH).await;
    let limiter = h.admission.register(None);
    limiter.set_refusing(true);
    let addr = h.receiver.http_addr().unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // 10 MB announced, 1 KB sent: the answer must not wait for the rest.
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {PROTOBUF}\r\nContent-Length: 10000000\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[0u8; 1024]).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(h.recorder(Signal::Traces).count(), 0);
    assert_eq!(h.refused_requests("http", "memory_limit"), 1.0);
}

#[tokio::test]
async fn http_refuses_a_body_over_the_read_budget_with_503_and_releases_what_it_reserved() {
    let h = Harness::start(BOTH).await;
    let _limiter = h.admission.register(Some(1000));
    let (body, n) = request(Signal::Traces, 1);
    assert!(body.len() > 1000, "the body must exceed the budget");
    let held = h.admission.try_reserve(1).unwrap();
    let resp = post(&h.http_url("/v1/traces"), PROTOBUF, None, body.clone()).await;
    assert_eq!(resp.status(), 503);
    let status = RpcStatus::decode(resp.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!((status.code, status.message.as_str()), (14, MEMORY_REFUSED));
    assert_eq!(h.refused_requests("http", "memory_limit"), 1.0);
    assert_eq!(h.admission.reserved(), 1, "refused requests hold nothing");

    drop(held);
    let ok = post(
        &h.http_url("/v1/traces"),
        PROTOBUF,
        Some("gzip"),
        gzip(&body),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(h.recorder(Signal::Traces).items(), n);
    assert_eq!(h.admission.reserved(), 0, "released once answered");
}

// ---------------------------------------------------------------------------------------------
// auth and include_metadata

/// A host with a `bearertokenauth` extension (token `s3cret`) and a `headers_setter` (a
/// client-only authenticator).
async fn auth_host() -> Host {
    use runtime::ExtensionFactory;
    let mut host = Host::default();
    for (id, factory, yaml) in [
        (
            "bearertokenauth",
            &crate::extensions::bearertokenauth::Factory as &dyn ExtensionFactory,
            "token: s3cret\n",
        ),
        (
            "headers_setter",
            &crate::extensions::headers_setter::Factory,
            "headers: [{key: x, value: y}]\n",
        ),
    ] {
        let cfg = factory
            .parse_config(&config::Value::from_yaml_str(yaml).unwrap(), id)
            .unwrap();
        let set = runtime::Settings {
            id: config::ComponentId::parse(id).unwrap(),
            kind: runtime::Kind::Extension,
            telemetry: Telemetry::default(),
        };
        let ext = factory.create(set, &cfg).unwrap();
        ext.start(&host).await.unwrap();
        host.extensions
            .insert(config::ComponentId::parse(id).unwrap(), ext);
    }
    host
}

const AUTH_BOTH: &str = "protocols:\n  grpc:\n    endpoint: 127.0.0.1:0\n    include_metadata: true\n    auth:\n      authenticator: bearertokenauth\n  http:\n    endpoint: 127.0.0.1:0\n    include_metadata: true\n    auth:\n      authenticator: bearertokenauth\n";

async fn grpc_export_with(
    addr: SocketAddr,
    body: Vec<u8>,
    headers: &[(&'static str, &str)],
) -> Result<tonic::Response<Bytes>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let mut req = tonic::Request::new(Bytes::from(body));
    for (k, v) in headers {
        req.metadata_mut().insert(*k, v.parse().unwrap());
    }
    let path = http::uri::PathAndQuery::from_static(export_path(Signal::Traces));
    client.unary(req, path, RawBytesCodec).await
}

#[tokio::test]
async fn grpc_with_bearertokenauth_accepts_the_token_and_refuses_others_unauthenticated() {
    let host = auth_host().await;
    let h = Harness::start_with(AUTH_BOTH, &Signal::ALL, &host)
        .await
        .unwrap();
    let (body, n) = request(Signal::Traces, 1);
    grpc_export_with(
        h.grpc(),
        body.clone(),
        &[("authorization", "Bearer s3cret"), ("x-tenant", "acme")],
    )
    .await
    .expect("right token accepted");
    assert_eq!(h.recorder(Signal::Traces).items(), n);
    // include_metadata: the request's metadata travels with the batch.
    let batch = h.recorder(Signal::Traces).batches.lock().unwrap()[0].clone();
    let client = batch.client_info().expect("client info kept");
    assert_eq!(client.get("x-tenant"), ["acme".to_string()]);
    assert_eq!(client.get("Authorization"), ["Bearer s3cret".to_string()]);

    let wrong = grpc_export_with(h.grpc(), body.clone(), &[("authorization", "Bearer nope")])
        .await
        .expect_err("wrong token refused");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(
        wrong.message(),
        "scheme or token does not match: Bearer nope"
    );
    let missing = grpc_export_with(h.grpc(), body, &[])
        .await
        .expect_err("missing token refused");
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(
        missing.message(),
        "missing or empty authorization header: Authorization"
    );
    assert_eq!(h.recorder(Signal::Traces).count(), 1, "pipeline not called");
    assert_eq!(h.refused_requests("grpc", "unauthenticated"), 2.0);
}

#[tokio::test]
async fn grpc_refuses_unauthenticated_before_the_body_arrives() {
    let host = auth_host().await;
    let h = Harness::start_with(AUTH_BOTH, &Signal::ALL, &host)
        .await
        .unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", h.grpc()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let never = futures::stream::pending::<Bytes>();
    let path = http::uri::PathAndQuery::from_static(export_path(Signal::Traces));
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        client.client_streaming(tonic::Request::new(never), path, RawBytesCodec),
    )
    .await
    .expect("answered without waiting for the body")
    .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(h.refused_requests("grpc", "unauthenticated"), 1.0);
}

#[tokio::test]
async fn http_with_bearertokenauth_answers_401_in_the_request_encoding_and_counts_it() {
    let host = auth_host().await;
    let h = Harness::start_with(AUTH_BOTH, &Signal::ALL, &host)
        .await
        .unwrap();
    let (body, n) = request(Signal::Traces, 2);
    let url = h.http_url("/v1/traces");
    let ok = reqwest::Client::new()
        .post(&url)
        .header("content-type", PROTOBUF)
        .header("authorization", "Bearer s3cret")
        .header("X-Tenant", "acme")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(h.recorder(Signal::Traces).items(), n);
    let batch = h.recorder(Signal::Traces).batches.lock().unwrap()[0].clone();
    assert_eq!(
        batch.client_info().unwrap().get("x-tenant"),
        ["acme".to_string()]
    );

    let wrong = reqwest::Client::new()
        .post(&url)
        .header("content-type", PROTOBUF)
        .header("authorization", "Bearer nope")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let status = RpcStatus::decode(wrong.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 16);
    assert_eq!(
        status.message,
        "scheme or token does not match: Bearer nope"
    );

    let missing = post(&url, JSON, None, b"{}".to_vec()).await;
    assert_eq!(missing.status(), 401);
    let text = missing.text().await.unwrap();
    assert!(
        text.contains("missing or empty authorization header: Authorization"),
        "{text}"
    );
    assert_eq!(h.recorder(Signal::Traces).count(), 1);
    assert_eq!(h.refused_requests("http", "unauthenticated"), 2.0);
}

#[tokio::test]
async fn http_answers_401_before_a_large_body_has_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = auth_host().await;
    let h = Harness::start_with(AUTH_BOTH, &Signal::ALL, &host)
        .await
        .unwrap();
    let addr = h.receiver.http_addr().unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {PROTOBUF}\r\nContent-Length: 10000000\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[0u8; 1024]).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("answered before the body was sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(h.recorder(Signal::Traces).count(), 0);
    assert_eq!(h.refused_requests("http", "unauthenticated"), 1.0);
}

#[tokio::test]
async fn start_fails_for_an_unknown_or_client_only_authenticator() {
    let host = auth_host().await;
    let yaml = |id: &str| {
        format!(
            "protocols:\n  http:\n    endpoint: 127.0.0.1:0\n    auth:\n      authenticator: {id}\n"
        )
    };
    let err = Harness::start_with(&yaml("bearertokenauth/missing"), &Signal::ALL, &host)
        .await
        .err()
        .expect("unknown authenticator");
    assert_eq!(
        err,
        "failed to resolve authenticator \"bearertokenauth/missing\": authenticator not found"
    );
    let err = Harness::start_with(&yaml("headers_setter"), &Signal::ALL, &host)
        .await
        .err()
        .expect("client-only authenticator");
    assert_eq!(err, "requested authenticator is not a server authenticator");
}

#[tokio::test]
async fn without_include_metadata_or_auth_batches_carry_no_client_info() {
    let h = Harness::start(BOTH).await;
    let (body, _) = request(Signal::Traces, 3);
    let r = reqwest::Client::new()
        .post(h.http_url("/v1/traces"))
        .header("content-type", PROTOBUF)
        .header("x-tenant", "acme")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let batch = h.recorder(Signal::Traces).batches.lock().unwrap()[0].clone();
    assert!(batch.client_info().is_none());
}
