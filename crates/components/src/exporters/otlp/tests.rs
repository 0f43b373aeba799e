//! `otlp_grpc` through its factory against a real tonic server on 127.0.0.1 that answers from
//! a script and records what arrived.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use pdata::{Batch, Signal};
use runtime::factory::{ExporterFactory, Settings};
use runtime::{ConsumeError, Host, Kind, Telemetry};
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};

use super::Factory;
use crate::otlp_grpc_codec::{RawBytesCodec, TRACE_SERVICE, status_from_consume_error};

#[derive(Debug, Clone)]
struct Received {
    bytes: Bytes,
    grpc_encoding: Option<String>,
    token: Option<String>,
    user_agent: Option<String>,
    /// The request body's size on the wire (frame header + compressed message).
    content_length: Option<usize>,
    grpc_timeout: Option<String>,
}

/// Replies in order; `Ok` with an empty response once the script is empty.
#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Result<Bytes, Status>>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Script {
    fn with(replies: Vec<Result<Bytes, Status>>) -> Script {
        Script {
            replies: Arc::new(Mutex::new(replies.into())),
            ..Script::default()
        }
    }
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl NamedService for Script {
    const NAME: &'static str = TRACE_SERVICE;
}

impl tonic::codegen::Service<http::Request<Body>> for Script {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let header = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let method = Method {
            script: self.clone(),
            grpc_encoding: header("grpc-encoding"),
            token: header("x-token"),
            user_agent: header("user-agent"),
            content_length: header("content-length").and_then(|v| v.parse().ok()),
            grpc_timeout: header("grpc-timeout"),
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(RawBytesCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd);
            Ok(grpc.unary(method, req).await)
        })
    }
}

struct Method {
    script: Script,
    grpc_encoding: Option<String>,
    token: Option<String>,
    user_agent: Option<String>,
    content_length: Option<usize>,
    grpc_timeout: Option<String>,
}

impl UnaryService<Bytes> for Method {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, req: tonic::Request<Bytes>) -> Self::Future {
        self.script.received.lock().unwrap().push(Received {
            bytes: req.into_inner(),
            grpc_encoding: self.grpc_encoding.clone(),
            token: self.token.clone(),
            user_agent: self.user_agent.clone(),
            content_length: self.content_length,
            grpc_timeout: self.grpc_timeout.clone(),
        });
        let reply = self
            .script
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(Bytes::new()));
        Box::pin(async move { reply.map(tonic::Response::new) })
    }
}

async fn serve_on(listener: tokio::net::TcpListener, script: Script) {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(script)
            .serve_with_incoming(incoming),
    );
}

async fn serve(script: Script) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve_on(listener, script).await;
    addr
}

fn exporter(yaml: &str, tel: &Telemetry) -> Arc<dyn runtime::Exporter> {
    let value = config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "exporters::otlp")
        .unwrap_or_else(|e| panic!("{e}"));
    let set = Settings {
        id: config::ComponentId::new("otlp"),
        kind: Kind::Exporter,
        telemetry: tel.clone(),
    };
    Factory.create(set, &cfg, Signal::Traces).unwrap()
}

/// No queue (errors reach the caller) and fast retries.
fn direct(addr: SocketAddr, extra: &str) -> String {
    format!(
        "endpoint: {addr}\ntls: {{insecure: true}}\nsending_queue: {{enabled: false}}\nretry_on_failure: {{initial_interval: 20ms, randomization_factor: 0, max_elapsed_time: 5s}}\n{extra}"
    )
}

fn spans(n: usize, seed: u64) -> Batch {
    let req = pdata::testdata::request(Signal::Traces, 1, n, seed);
    Batch::from_encoded(Signal::Traces, Bytes::from(req.encode_to_vec())).unwrap()
}

#[tokio::test]
async fn sends_the_encoded_batch_gzip_compressed_with_headers() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, "headers: {X-Token: secret}"), &tel);
    exp.start(&Host::default()).await.unwrap();
    let batch = spans(5, 1);
    exp.consume(batch.clone()).await.unwrap();
    let got = script.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].bytes,
        batch.encoded(),
        "bytes arrive unchanged after decompression"
    );
    assert_eq!(got[0].grpc_encoding.as_deref(), Some("gzip"));
    assert_eq!(got[0].token.as_deref(), Some("secret"));
    assert!(
        got[0]
            .user_agent
            .as_deref()
            .unwrap_or("")
            .contains("ferrotel/"),
        "{:?}",
        got[0].user_agent
    );
    assert_eq!(
        tel.value("otelcol_exporter_sent_spans", &[("exporter", "otlp")]),
        Some(5.0)
    );
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn zstd_and_none_compression_are_applied() {
    for (name, expected) in [("zstd", Some("zstd")), ("none", None)] {
        let script = Script::default();
        let addr = serve(script.clone()).await;
        let exp = exporter(
            &direct(addr, &format!("compression: {name}")),
            &Telemetry::default(),
        );
        let batch = spans(3, 2);
        exp.consume(batch.clone()).await.unwrap();
        let got = script.received();
        assert_eq!(got[0].grpc_encoding.as_deref(), expected, "{name}");
        assert_eq!(got[0].bytes, batch.encoded());
    }
}

#[tokio::test]
async fn unavailable_is_retried_then_delivered() {
    let script = Script::with(vec![
        Err(Status::unavailable("busy")),
        Err(Status::unavailable("busy")),
    ]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default());
    exp.consume(spans(2, 3))
        .await
        .expect("third attempt succeeds");
    assert_eq!(script.received().len(), 3);
}

#[tokio::test]
async fn permanent_codes_are_not_retried() {
    for status in [
        Status::invalid_argument("bad data"),
        Status::resource_exhausted("no retry info"),
        Status::internal("x"),
    ] {
        let code = status.code();
        let script = Script::with(vec![Err(status)]);
        let addr = serve(script.clone()).await;
        let tel = Telemetry::default();
        let exp = exporter(&direct(addr, ""), &tel);
        let err = exp.consume(spans(4, 4)).await.unwrap_err();
        assert!(err.is_permanent(), "{code:?}: {err}");
        assert!(
            err.message
                .starts_with("not retryable error: rpc error: code = "),
            "{err}"
        );
        assert_eq!(script.received().len(), 1, "{code:?}");
        assert_eq!(
            tel.value(
                "otelcol_exporter_send_failed_spans",
                &[("exporter", "otlp")]
            ),
            Some(4.0)
        );
    }
}

#[tokio::test]
async fn resource_exhausted_with_retry_info_waits_the_server_delay() {
    let throttle = status_from_consume_error(&ConsumeError::throttled(
        "slow down",
        Duration::from_millis(400),
    ));
    assert_eq!(throttle.code(), Code::ResourceExhausted);
    let script = Script::with(vec![Err(throttle)]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default());
    let t0 = Instant::now();
    exp.consume(spans(1, 5))
        .await
        .expect("delivered after the delay");
    assert!(
        t0.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn partial_success_is_accepted_not_retried() {
    let partial =
        pdata::json::ExportResponse::partial(Signal::Traces, 2, "2 spans dropped").to_protobuf();
    let script = Script::with(vec![Ok(Bytes::from(partial))]);
    let addr = serve(script.clone()).await;
    let exp = exporter(&direct(addr, ""), &Telemetry::default());
    exp.consume(spans(3, 6))
        .await
        .expect("partial success is success");
    assert_eq!(script.received().len(), 1);
}

#[tokio::test]
async fn endpoint_down_at_start_then_up_gets_everything_delivered() {
    // Reserve a port, then free it: the exporter starts against a closed port.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let tel = Telemetry::default();
    let yaml = format!(
        "endpoint: http://{addr}\ntls: {{insecure: true}}\ntimeout: 1s\nretry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 20s}}"
    );
    let exp = exporter(&yaml, &tel);
    exp.start(&Host::default())
        .await
        .expect("lazy connect: a down endpoint is not a start error");
    let mut expected = 0;
    for i in 0..20 {
        exp.consume(spans(2, i)).await.expect("queued");
        expected += 2;
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
            Batch::from_encoded(Signal::Traces, r.bytes.clone())
                .unwrap()
                .item_count()
        })
        .sum();
    assert_eq!(delivered, expected);
    assert_eq!(
        tel.value("otelcol_exporter_sent_spans", &[("exporter", "otlp")]),
        Some(expected as f64)
    );
}

#[tokio::test]
async fn default_tls_against_a_plaintext_server_fails_retryably() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let yaml = format!(
        "endpoint: {addr}\nsending_queue: {{enabled: false}}\nretry_on_failure: {{enabled: false}}\ntls: {{insecure_skip_verify: true}}"
    );
    let err = exporter(&yaml, &Telemetry::default())
        .consume(spans(1, 7))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(script.received().is_empty());
}

/// Serves `script` and counts the TCP connections the server accepted.
async fn serve_counting(script: Script) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    let incoming = futures::stream::unfold(listener, move |l| {
        let counter = counter.clone();
        async move {
            let accepted = l.accept().await.map(|(s, _)| s);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some((accepted, l))
        }
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(script)
            .serve_with_incoming(incoming),
    );
    (addr, count)
}

#[tokio::test]
async fn tonic_server_reads_gzip_and_zstd_messages_of_a_large_batch() {
    // Large enough that the message spans many HTTP/2 DATA frames and flow-control windows.
    let batch = spans(3000, 11);
    assert!(batch.encoded().len() > 1 << 20);
    for name in ["gzip", "zstd"] {
        let script = Script::default();
        let addr = serve(script.clone()).await;
        let exp = exporter(
            &direct(addr, &format!("compression: {name}\ntimeout: 7s")),
            &Telemetry::default(),
        );
        exp.consume(batch.clone()).await.unwrap();
        let got = script.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].bytes, batch.encoded(), "{name}");
        assert_eq!(got[0].grpc_encoding.as_deref(), Some(name));
        assert_eq!(got[0].grpc_timeout.as_deref(), Some("7000m"));
        let wire = got[0].content_length.expect("exact body size is announced");
        assert!(
            wire < batch.encoded().len() / 3,
            "{name}: {wire} bytes on the wire"
        );
    }
}

#[tokio::test]
async fn compression_level_is_applied() {
    let batch = spans(500, 12);
    let mut sizes = Vec::new();
    for level in [1, 9] {
        let script = Script::default();
        let addr = serve(script.clone()).await;
        let exp = exporter(
            &direct(
                addr,
                &format!("compression: gzip\ncompression_params: {{level: {level}}}"),
            ),
            &Telemetry::default(),
        );
        exp.consume(batch.clone()).await.unwrap();
        let got = script.received();
        assert_eq!(got[0].bytes, batch.encoded());
        sizes.push(got[0].content_length.unwrap());
    }
    assert!(
        sizes[1] < sizes[0],
        "level 9 is smaller than level 1: {sizes:?}"
    );
}

#[test]
fn invalid_compression_level_is_a_config_error() {
    let value = config::Value::from_yaml_str(
        "endpoint: a:1\ncompression: gzip\ncompression_params: {level: 42}",
    )
    .unwrap();
    let Err(err) = Factory.parse_config(&value, "exporters::otlp") else {
        panic!("level 42 is refused");
    };
    let err = err.to_string();
    assert!(
        err.contains("unsupported compression level 42 for gzip"),
        "{err}"
    );
}

#[tokio::test]
async fn trailers_only_error_keeps_code_and_decoded_message() {
    // tonic answers a handler error as a trailers-only response: grpc-status and a
    // percent-encoded grpc-message in the response headers, no body.
    let script = Script::with(vec![Err(Status::permission_denied("no: ✓ 100% denied"))]);
    let addr = serve(script.clone()).await;
    let err = exporter(&direct(addr, ""), &Telemetry::default())
        .consume(spans(1, 13))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(
        err.message
            .ends_with("rpc error: code = PermissionDenied desc = no: ✓ 100% denied"),
        "{err}"
    );
}

#[tokio::test]
async fn concurrent_exports_share_one_connection() {
    let script = Script::default();
    let (addr, connections) = serve_counting(script.clone()).await;
    let yaml =
        format!("endpoint: {addr}\ntls: {{insecure: true}}\nsending_queue: {{num_consumers: 8}}");
    let exp = exporter(&yaml, &Telemetry::default());
    exp.start(&Host::default()).await.unwrap();
    for i in 0..40 {
        exp.consume(spans(10, 100 + i)).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    assert_eq!(script.received().len(), 40);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reconnects_after_the_server_drops_the_connection() {
    let script = Script::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let first = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(script.clone())
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    let exp = exporter(&direct(addr, ""), &Telemetry::default());
    exp.consume(spans(1, 14)).await.unwrap();
    // Graceful shutdown sends GOAWAY and closes the connection; then a new server takes the port.
    stop.send(()).unwrap();
    first.await.unwrap().unwrap();
    serve_on(
        tokio::net::TcpListener::bind(addr).await.unwrap(),
        script.clone(),
    )
    .await;
    exp.consume(spans(1, 15))
        .await
        .expect("a new connection is opened");
    assert_eq!(script.received().len(), 2);
}

#[tokio::test]
async fn auth_headers_setter_sends_metadata_from_the_batch_client_info() {
    let script = Script::default();
    let addr = serve(script.clone()).await;
    let host = crate::extensions::test_host(&[(
        "headers_setter",
        "headers: [{key: X-Token, from_context: x-tenant}]",
    )])
    .await;
    let tel = Telemetry::default();
    let exp = exporter(&direct(addr, "auth: {authenticator: headers_setter}"), &tel);
    exp.start(&host).await.unwrap();
    let mut info = pdata::ClientInfo::default();
    info.push("X-Tenant", "acme".into());
    exp.consume(spans(2, 1).with_client_info(Some(Arc::new(info))))
        .await
        .unwrap();
    assert_eq!(script.received()[0].token.as_deref(), Some("acme"));
    exp.shutdown().await.unwrap();

    let exp = exporter(&direct(addr, "auth: {authenticator: nope}"), &tel);
    assert_eq!(
        exp.start(&host).await.unwrap_err(),
        "failed to resolve authenticator \"nope\": authenticator not found"
    );
}
