//! `jaeger` receiver through its factory on 127.0.0.1: Go's config keys, defaults and errors,
//! and each protocol end to end into a collecting consumer, with the self-metrics.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use jaeger::fuzzing::{sample_batch, sample_emit_batch};
use jaeger::thrift::Protocol;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::{Batch, Request};
use prost::Message;
use runtime::Component;
use runtime::factory::{ReceiverFactory, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Telemetry};

use super::{Config, Factory, JaegerReceiver};
use crate::otlp_grpc_codec::RawBytesCodec;
use crate::processors::testing::Collect;

struct Refuse(bool);

#[async_trait]
impl Consumer for Refuse {
    async fn consume(&self, _: Batch) -> Result<(), ConsumeError> {
        Err(if self.0 {
            ConsumeError::retryable("busy")
        } else {
            ConsumeError::permanent("no")
        })
    }
}

fn parse(yaml: &str) -> Result<Config, String> {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    Factory
        .parse_config(&v, "receivers::jaeger")
        .map(|c| runtime::factory::typed::<Config>(&c).clone())
        .map_err(|e| e.to_string())
}

/// Every protocol on 127.0.0.1 with an ephemeral port (Go's validation, like ours, refuses
/// port 0, so the ports are set after parsing).
fn all_protocols() -> Config {
    let mut cfg = parse(
        "protocols:\n  grpc:\n    endpoint: 127.0.0.1:1\n  thrift_http:\n    endpoint: 127.0.0.1:1\n  thrift_compact:\n    endpoint: 127.0.0.1:1\n  thrift_binary:\n    endpoint: 127.0.0.1:1\n",
    )
    .unwrap();
    let p = &mut cfg.protocols;
    p.grpc.as_mut().unwrap().endpoint = "127.0.0.1:0".into();
    p.thrift_http.as_mut().unwrap().endpoint = "127.0.0.1:0".into();
    p.thrift_compact.as_mut().unwrap().endpoint = "127.0.0.1:0".into();
    p.thrift_binary.as_mut().unwrap().endpoint = "127.0.0.1:0".into();
    cfg
}

async fn start(next: Arc<dyn Consumer>) -> (Arc<JaegerReceiver>, Telemetry) {
    let telemetry = Telemetry::new("normal");
    let set = Settings {
        id: ::config::ComponentId::parse("jaeger").unwrap(),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let r = Arc::new(JaegerReceiver::new(
        &set,
        &all_protocols(),
        next,
        runtime::admission::Admission::new(),
    ));
    r.start(&Host::default()).await.unwrap();
    (r, telemetry)
}

fn spans(sink: &Collect) -> Vec<ExportTraceServiceRequest> {
    sink.requests()
        .into_iter()
        .map(|r| match r {
            Request::Traces(t) => t,
            _ => panic!("traces expected"),
        })
        .collect()
}

fn accepted(tel: &Telemetry, transport: &str) -> Option<f64> {
    tel.value(
        "otelcol_receiver_accepted_spans",
        &[("receiver", "jaeger"), ("transport", transport)],
    )
}

fn refused(tel: &Telemetry, transport: &str) -> Option<f64> {
    tel.value(
        "otelcol_receiver_refused_spans",
        &[("receiver", "jaeger"), ("transport", transport)],
    )
}

#[test]
fn defaults_are_gos() {
    let cfg = parse("protocols:\n  grpc:\n  thrift_http:\n  thrift_compact:\n  thrift_binary:\n")
        .unwrap();
    let p = &cfg.protocols;
    assert_eq!(p.grpc.as_ref().unwrap().endpoint, "localhost:14250");
    assert_eq!(p.thrift_http.as_ref().unwrap().endpoint, "localhost:14268");
    let c = p.thrift_compact.as_ref().unwrap();
    assert_eq!(
        (
            c.endpoint.as_str(),
            c.queue_size,
            c.max_packet_size,
            c.workers,
            c.socket_buffer_size
        ),
        ("localhost:6831", 1000, 65000, 10, 0)
    );
    let b = p.thrift_binary.as_ref().unwrap();
    assert_eq!(b.endpoint, "localhost:6832");
    // Only the protocols named are enabled.
    let cfg = parse("protocols:\n  thrift_compact:\n    queue_size: 5\n    workers: 2\n").unwrap();
    assert!(cfg.protocols.grpc.is_none() && cfg.protocols.thrift_http.is_none());
    assert_eq!(cfg.protocols.thrift_compact.as_ref().unwrap().queue_size, 5);
}

#[test]
fn config_errors_are_gos() {
    let cases = [
        (
            "protocols: {}\n",
            "receivers::jaeger: must specify at least one protocol when using the Jaeger receiver",
        ),
        (
            "protocols:\n  grpc:\n    endpoint: localhost\n",
            "receivers::jaeger: invalid port number for the gRPC endpoint: endpoint is not formatted correctly: address localhost: missing port in address",
        ),
        (
            "protocols:\n  thrift_http:\n    endpoint: localhost:abc\n",
            "receivers::jaeger: invalid port number for the Thrift HTTP endpoint: endpoint port is not a number: strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            "protocols:\n  thrift_binary:\n    endpoint: localhost:0\n",
            "receivers::jaeger: invalid port number for the Thrift UDP Binary endpoint: port number must be between 1 and 65535",
        ),
        (
            "protocols:\n  thrift_compact:\n    endpoint: ::1:6831\n",
            "receivers::jaeger: invalid port number for the Thrift UDP Compact endpoint: endpoint is not formatted correctly: address ::1:6831: too many colons in address",
        ),
        (
            "protocols:\n  grpc:\nremote_sampling:\n  host_endpoint: 0.0.0.0:5778\n  strategy_file: strategies.json\n",
            "receivers::jaeger::remote_sampling: remote sampling config detected in the Jaeger receiver; use the `jaegerremotesampling` extension instead",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(parse(yaml).unwrap_err(), want, "{yaml}");
    }
    assert_eq!(
        parse("protocols:\n  thrift_compact:\n    workers: 0\n").unwrap_err(),
        "receivers::jaeger::protocols::thrift_compact::workers: number of processors must be greater than 0, called with 0"
    );
    let typo = parse("protocols:\n  thrift_htttp:\n").unwrap_err();
    assert!(typo.contains("thrift_htttp"), "{typo}");
    assert!(parse("protocols:\n  grpc:\n    endpoint: \"[::1]:14250\"\n").is_ok());
}

#[test]
fn the_registry_builds_jaeger() {
    let r = crate::registry();
    assert!(r.receivers.contains_key("jaeger"));
}

#[tokio::test]
async fn grpc_post_spans_reach_the_pipeline_as_otlp() {
    let sink = Arc::new(Collect::default());
    let (r, tel) = start(sink.clone()).await;
    let addr = r.addrs().grpc.unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = tonic::client::Grpc::new(channel);
    let post = |body: Vec<u8>, path: &'static str| {
        let mut client = client.clone();
        async move {
            client.ready().await.unwrap();
            client
                .unary::<Bytes, Bytes, _>(
                    tonic::Request::new(Bytes::from(body)),
                    http::uri::PathAndQuery::from_static(path),
                    RawBytesCodec,
                )
                .await
        }
    };
    let path = jaeger::proto::POST_SPANS_PATH;
    let resp = post(jaeger::proto::fixtures::sample_request(), path)
        .await
        .unwrap();
    assert!(resp.get_ref().is_empty(), "PostSpansResponse has no fields");
    let got = spans(&sink);
    let rs = &got[0].resource_spans[0];
    assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "lib");
    assert_eq!(rs.scope_spans[0].spans[0].name, "op");
    assert_eq!(rs.scope_spans[0].spans[0].kind, 4);
    assert_eq!(accepted(&tel, "grpc"), Some(1.0));

    // A trace id of 5 bytes does not unmarshal in Go: INTERNAL, nothing counted.
    let bad = jaeger::proto::PostSpansRequest {
        batch: Some(jaeger::proto::Batch {
            spans: vec![jaeger::proto::Span {
                trace_id: vec![1; 5],
                ..Default::default()
            }],
            process: None,
        }),
    };
    let err = post(bad.encode_to_vec(), path).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Internal);
    assert_eq!(
        err.message(),
        "grpc: error unmarshalling request: invalid length for TraceID"
    );
    // Over max_recv_msg_size_mib (4 MiB by default): RESOURCE_EXHAUSTED as grpc-go says.
    let big = jaeger::proto::PostSpansRequest {
        batch: Some(jaeger::proto::Batch {
            spans: vec![jaeger::proto::Span {
                operation_name: "x".repeat(5 << 20),
                ..Default::default()
            }],
            process: None,
        }),
    };
    let err = post(big.encode_to_vec(), path).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    let err = post(vec![], "/jaeger.api_v2.CollectorService/Other")
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn grpc_refusals_are_counted_and_retryable_ones_are_unavailable() {
    let (r, tel) = start(Arc::new(Refuse(true))).await;
    let addr = r.addrs().grpc.unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let err = client
        .unary::<Bytes, Bytes, _>(
            tonic::Request::new(Bytes::from(jaeger::proto::fixtures::sample_request())),
            http::uri::PathAndQuery::from_static(jaeger::proto::POST_SPANS_PATH),
            RawBytesCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert_eq!(refused(&tel, "grpc"), Some(1.0));
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn thrift_http_answers_as_go() {
    let sink = Arc::new(Collect::default());
    let (r, tel) = start(sink.clone()).await;
    let url = format!("http://{}/api/traces", r.addrs().http.unwrap());
    let client = reqwest::Client::new();
    let body = sample_batch(Protocol::Binary);
    let post = |ct: Option<&str>, body: Vec<u8>| {
        let mut req = client.post(&url).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let resp = post(Some("application/x-thrift"), body.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = post(
        Some("application/vnd.apache.thrift.binary; charset=x"),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 202);
    let got = spans(&sink);
    assert_eq!(got.len(), 2);
    let rs = &got[0].resource_spans[0];
    assert_eq!(rs.scope_spans[0].spans.len(), 2);
    assert_eq!(rs.scope_spans[0].spans[0].name, "get /api");
    assert_eq!(accepted(&tel, "collector_http"), Some(4.0));

    for (ct, body, want) in [
        (
            Some("application/json"),
            body.clone(),
            "Unsupported content type: application/json\n",
        ),
        (
            None,
            body.clone(),
            "Cannot parse content type: mime: no media type\n",
        ),
        (
            Some("application/x-thrift"),
            vec![0x0c, 0x00],
            "Unable to process request body: thrift: unexpected end of input\n",
        ),
    ] {
        let resp = post(ct, body).await.unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.text().await.unwrap(), want);
    }
    // Counted as the otlp receiver counts refused requests, by reason.
    let refused_requests = |reason: &str| {
        tel.value(
            "otelcol_receiver_refused_requests",
            &[
                ("receiver", "jaeger"),
                ("transport", "collector_http"),
                ("reason", reason),
            ],
        )
    };
    assert_eq!(refused_requests("unsupported_media_type"), Some(2.0));
    assert_eq!(refused_requests("malformed"), Some(1.0));
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    let resp = client
        .post(url.replace("/api/traces", "/api/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // gzip, as confighttp decompresses it.
    let gz = crate::compression::compress(crate::compression::Codec::Gzip, None, &body).unwrap();
    let resp = client
        .post(&url)
        .header("content-type", "application/x-thrift")
        .header("content-encoding", "gzip")
        .body(gz.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn thrift_http_refusals_say_cannot_submit() {
    for (retryable, status) in [(false, 500), (true, 503)] {
        let (r, tel) = start(Arc::new(Refuse(retryable))).await;
        let url = format!("http://{}/api/traces", r.addrs().http.unwrap());
        let resp = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-thrift")
            .body(sample_batch(Protocol::Binary))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status);
        let text = resp.text().await.unwrap();
        assert!(text.starts_with("Cannot submit Jaeger batch: "), "{text}");
        assert_eq!(refused(&tel, "collector_http"), Some(2.0));
        r.shutdown().await.unwrap();
    }
}

async fn wait_for(sink: &Collect, n: usize) -> Vec<ExportTraceServiceRequest> {
    for _ in 0..200 {
        let got = spans(sink);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no batch arrived");
}

#[tokio::test]
async fn udp_agent_ports_take_compact_and_binary_emit_batch() {
    let sink = Arc::new(Collect::default());
    let (r, tel) = start(sink.clone()).await;
    let addrs = r.addrs();
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .send_to(
            &sample_emit_batch(Protocol::Compact, true),
            addrs.compact.unwrap(),
        )
        .unwrap();
    let got = wait_for(&sink, 1).await;
    let rs = &got[0].resource_spans[0];
    assert_eq!(rs.scope_spans[0].spans[1].name, "db query");
    assert_eq!(accepted(&tel, "udp_thrift_compact"), Some(2.0));

    // Binary: a packet that does not decode is dropped, the next one goes through.
    client
        .send_to(b"\x80\x01\x00", addrs.binary.unwrap())
        .unwrap();
    client
        .send_to(
            &sample_emit_batch(Protocol::Binary, true),
            addrs.binary.unwrap(),
        )
        .unwrap();
    let got = wait_for(&sink, 2).await;
    assert_eq!(got[1].resource_spans[0].scope_spans[0].spans.len(), 2);
    assert_eq!(accepted(&tel, "udp_thrift_binary"), Some(2.0));
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_taken_port_fails_start_with_nothing_left_running() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = all_protocols();
    cfg.protocols.thrift_http.as_mut().unwrap().endpoint = taken.local_addr().unwrap().to_string();
    let set = Settings {
        id: ::config::ComponentId::parse("jaeger").unwrap(),
        kind: Kind::Receiver,
        telemetry: Telemetry::new("normal"),
    };
    let r = JaegerReceiver::new(
        &set,
        &cfg,
        Arc::new(Collect::default()),
        runtime::admission::Admission::new(),
    );
    let err = r.start(&Host::default()).await.unwrap_err();
    assert!(err.contains("failed to bind to Collector address"), "{err}");
    assert!(r.addrs().grpc.is_none());
}

#[tokio::test]
async fn thrift_http_with_auth_refuses_401_counted_and_keeps_metadata() {
    let sink = Arc::new(Collect::default());
    let telemetry = Telemetry::new("normal");
    let set = Settings {
        id: ::config::ComponentId::parse("jaeger").unwrap(),
        kind: Kind::Receiver,
        telemetry: telemetry.clone(),
    };
    let mut cfg = all_protocols();
    let auth = || {
        Some(crate::receivers::otlp::config::AuthConfig {
            authenticator: "bearertokenauth".into(),
            request_params: Vec::new(),
        })
    };
    cfg.protocols.thrift_http.as_mut().unwrap().auth = auth();
    cfg.protocols.thrift_http.as_mut().unwrap().include_metadata = true;
    cfg.protocols.grpc.as_mut().unwrap().auth = auth();
    let r = Arc::new(JaegerReceiver::new(
        &set,
        &cfg,
        sink.clone(),
        runtime::admission::Admission::new(),
    ));
    assert_eq!(
        r.start(&Host::default()).await.unwrap_err(),
        "failed to resolve authenticator \"bearertokenauth\": authenticator not found"
    );
    let host = crate::extensions::test_host(&[("bearertokenauth", "token: s3cret")]).await;
    r.start(&host).await.unwrap();
    let url = format!("http://{}/api/traces", r.addrs().http.unwrap());
    let body = sample_batch(Protocol::Binary);
    let refused = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-thrift")
        .header("authorization", "Bearer wrong")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.text().await.unwrap(),
        "scheme or token does not match: Bearer wrong\n"
    );
    assert_eq!(
        telemetry.value(
            crate::receivers::otlp::pipeline::REFUSED_REQUESTS,
            &[
                ("transport", "collector_http"),
                ("reason", "unauthenticated")
            ]
        ),
        Some(1.0)
    );
    let ok = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-thrift")
        .header("authorization", "Bearer s3cret")
        .header("x-tenant", "acme")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let got = sink.batches();
    assert_eq!(
        got[0].client_info().unwrap().get("x-tenant"),
        ["acme".to_string()]
    );
    r.shutdown().await.unwrap();
}
