//! `zipkin` receiver through its factory on 127.0.0.1: every format and encoding, Go's
//! answers, and the round trip OTLP → `zipkin` exporter → `zipkin` receiver → OTLP.

use std::sync::Arc;

use async_trait::async_trait;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::trace::v1::Span;
use pdata::{Batch, Request, Signal};
use runtime::Component;
use runtime::factory::{ExporterFactory, ReceiverFactory, Settings};
use runtime::{ConsumeError, Consumer, Host, Kind, Telemetry};

use super::{Factory, ZipkinReceiver};
use crate::connectors::story;
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

fn settings(name: &str, kind: Kind) -> Settings {
    Settings {
        id: ::config::ComponentId::parse(name).unwrap(),
        kind,
        telemetry: Telemetry::new("normal"),
    }
}

async fn receiver(yaml: &str, next: Arc<dyn Consumer>) -> (Arc<ZipkinReceiver>, String) {
    let v = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory.parse_config(&v, "receivers::zipkin").unwrap();
    let cfg: &super::Config = runtime::factory::typed(&cfg);
    let r = Arc::new(ZipkinReceiver::new(&settings("zipkin", Kind::Receiver), cfg, next).unwrap());
    r.start(&Host::default()).await.unwrap();
    let addr = r.addr().expect("running");
    (r, format!("http://{addr}"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn all_spans(req: &ExportTraceServiceRequest) -> Vec<&Span> {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect()
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

const V2: &str = r#"[{"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2","kind":"SERVER","name":"get /api","timestamp":1556604172355737,"duration":1431,"localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},"remoteEndpoint":{"serviceName":"frontend","ipv4":"172.19.0.2","port":58648},"tags":{"http.method":"GET","http.status_code":"200","otel.library.name":"lib","otel.library.version":"1.0","host.name":"h1"}}]"#;

#[tokio::test]
async fn v2_json_becomes_otlp_with_gos_mapping() {
    let sink = Arc::new(Collect::default());
    let (r, url) = receiver(
        "endpoint: 127.0.0.1:0\nparse_string_tags: true",
        sink.clone(),
    )
    .await;
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v2/spans"))
        .header("content-type", "application/json")
        .body(V2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let reqs = sink.requests();
    let Request::Traces(t) = &reqs[0] else {
        panic!()
    };
    let rs = &t.resource_spans[0];
    let res = &rs.resource.as_ref().unwrap().attributes;
    assert_eq!(
        attr(res, "service.name"),
        Some(&any_value::Value::StringValue("backend".into()))
    );
    assert_eq!(
        attr(res, "host.name"),
        Some(&any_value::Value::StringValue("h1".into()))
    );
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("lib", "1.0")
    );
    let s = &rs.scope_spans[0].spans[0];
    assert_eq!(s.kind, 2);
    assert_eq!(s.start_time_unix_nano, 1556604172355737000);
    assert_eq!(s.end_time_unix_nano, 1556604172355737000 + 1431000);
    assert_eq!(hex(&s.trace_id), "00000000000000005af7183fb1d4cf5f");
    assert_eq!(hex(&s.parent_span_id), "6b221d5bc9e6496c");
    assert_eq!(
        attr(&s.attributes, "http.status_code"),
        Some(&any_value::Value::IntValue(200))
    );
    assert_eq!(
        attr(&s.attributes, "net.host.ip"),
        Some(&any_value::Value::StringValue("192.168.99.1".into()))
    );
    assert_eq!(
        attr(&s.attributes, "net.host.port"),
        Some(&any_value::Value::IntValue(3306))
    );
    assert_eq!(
        attr(&s.attributes, "peer.service"),
        Some(&any_value::Value::StringValue("frontend".into()))
    );
    assert_eq!(
        attr(&s.attributes, "net.peer.port"),
        Some(&any_value::Value::IntValue(58648))
    );
    assert!(
        attr(&s.attributes, "host.name").is_none(),
        "resource tags are not span attributes"
    );
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn proto_gzip_v1_json_and_thrift_and_bad_bodies() {
    let sink = Arc::new(Collect::default());
    let (r, url) = receiver("endpoint: 127.0.0.1:0", sink.clone()).await;
    let c = reqwest::Client::new();
    let spans = zipkin::json::decode(V2.as_bytes()).unwrap();
    let body = crate::compression::compress(
        crate::compression::Codec::Gzip,
        None,
        &zipkin::proto::encode(&spans),
    )
    .unwrap();
    let resp = c
        .post(format!("{url}/api/v2/spans"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let v1 = r#"[{"traceId":"4d1e00c0db9010db86154a4ba6e91385","id":"4d1e00c0db9010db","name":"get","timestamp":1472470996199000,"duration":207000,"annotations":[{"timestamp":1472470996199000,"value":"sr","endpoint":{"serviceName":"backend"}}]}]"#;
    let resp = c
        .post(format!("{url}/api/v1/spans"))
        .body(v1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = c
        .post(format!("{url}/api/v2/spans"))
        .body("[{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = c
        .post(format!("{url}/api/v2/spans"))
        .header("content-encoding", "br")
        .body(V2)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let reqs = sink.requests();
    assert_eq!(reqs.len(), 2);
    let Request::Traces(v1t) = &reqs[1] else {
        panic!()
    };
    assert_eq!(all_spans(v1t)[0].kind, 2, "sr: server");
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_answer_503_when_retryable_else_500() {
    for (retryable, code) in [(true, 503), (false, 500)] {
        let (r, url) = receiver("endpoint: 127.0.0.1:0", Arc::new(Refuse(retryable))).await;
        let resp = reqwest::Client::new()
            .post(format!("{url}/api/v2/spans"))
            .body(V2)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), code);
        r.shutdown().await.unwrap();
    }
}

/// OTLP → `zipkin` exporter (JSON and proto) → `zipkin` receiver → OTLP, compared field by
/// field. What Zipkin cannot carry, and so is expected to differ:
/// - attribute types: every span attribute arrives as a string (`http.status_code` "200");
/// - resource attributes that are not resource conventions (none in the story), and the
///   grouping: spans come back grouped by service, then scope;
/// - times are in microseconds (the story's are whole microseconds: equal);
/// - status messages of non-error spans, span flags, dropped counts, schema URLs, scope
///   attributes.
#[tokio::test]
async fn round_trip_through_the_zipkin_exporter_keeps_every_carried_field() {
    for format in ["json", "proto"] {
        let sink = Arc::new(Collect::default());
        let (r, url) = receiver("endpoint: 127.0.0.1:0", sink.clone()).await;
        let ev = ::config::Value::from_yaml_str(&format!(
            "endpoint: {url}/api/v2/spans\nformat: {format}\nsending_queue: {{enabled: false}}"
        ))
        .unwrap();
        let ef = crate::exporters::zipkin::Factory;
        let cfg = ef.parse_config(&ev, "exporters::zipkin").unwrap();
        let e = ef
            .create(settings("zipkin", Kind::Exporter), &cfg, Signal::Traces)
            .unwrap();
        e.start(&Host::default()).await.unwrap();
        let sent = story::visits();
        e.consume(Batch::from_request(Request::Traces(sent.clone())))
            .await
            .unwrap();
        e.shutdown().await.unwrap();
        let reqs = sink.requests();
        let Request::Traces(got) = &reqs[0] else {
            panic!()
        };
        let sent_spans = all_spans(&sent);
        let got_spans = all_spans(got);
        assert_eq!(got_spans.len(), sent_spans.len(), "{format}");
        for s in sent_spans {
            let g = got_spans
                .iter()
                .find(|g| g.span_id == s.span_id)
                .unwrap_or_else(|| panic!("span {:?} lost", s.name));
            assert_eq!(g.trace_id, s.trace_id);
            assert_eq!(g.parent_span_id, s.parent_span_id);
            assert_eq!(g.name, s.name);
            assert_eq!(g.kind, s.kind, "{} {format}", s.name);
            assert_eq!(g.start_time_unix_nano, s.start_time_unix_nano);
            assert_eq!(g.end_time_unix_nano, s.end_time_unix_nano);
            assert_eq!(g.status, s.status, "{} {format}", s.name);
            for a in &s.attributes {
                let want = crate::util::gotext::as_string(a.value.as_ref());
                assert_eq!(
                    attr(&g.attributes, &a.key),
                    Some(&any_value::Value::StringValue(want)),
                    "{} {}",
                    s.name,
                    a.key
                );
            }
        }
        // Resources: the service and the SDK language come back on the resource; the scope
        // name and version on the scope.
        for rs in &got.resource_spans {
            let res = &rs.resource.as_ref().unwrap().attributes;
            assert!(attr(res, "service.name").is_some());
            assert_eq!(
                attr(res, "telemetry.sdk.language"),
                Some(&any_value::Value::StringValue("python".into()))
            );
            let scope = rs.scope_spans[0].scope.as_ref().unwrap();
            assert!(scope.name.ends_with(".app") && scope.version == "0.1.0");
        }
        r.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn memory_pressure_refuses_before_reading_with_503() {
    use http_body_util::{BodyExt, Full};
    let admission = runtime::admission::Admission::new();
    let limiter = admission.register(Some(1 << 20));
    let sink = Arc::new(Collect::default());
    let cfg = super::Config::default();
    let tel = Telemetry::new("normal");
    let svc = Arc::new(
        super::server::ZipkinService::new(&cfg, sink.clone(), &tel, "zipkin", admission).unwrap(),
    );
    let req = |body: &'static str| {
        http::Request::post("/api/v2/spans")
            .body(Full::new(bytes::Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    limiter.set_refusing(true);
    let r = svc.clone().handle(req(V2)).await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"data refused due to high memory usage\n");
    limiter.set_refusing(false);
    let r = svc.handle(req(V2)).await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn auth_refuses_401_before_reading_and_include_metadata_keeps_headers() {
    let sink = Arc::new(Collect::default());
    let v = ::config::Value::from_yaml_str(
        "endpoint: 127.0.0.1:0\ninclude_metadata: true\nauth: {authenticator: bearertokenauth}",
    )
    .unwrap();
    let cfg = Factory.parse_config(&v, "receivers::zipkin").unwrap();
    let cfg: &super::Config = runtime::factory::typed(&cfg);
    let set = settings("zipkin", Kind::Receiver);
    let tel = set.telemetry.clone();
    let r = Arc::new(ZipkinReceiver::new(&set, cfg, sink.clone()).unwrap());
    assert_eq!(
        r.start(&Host::default()).await.unwrap_err(),
        "failed to resolve authenticator \"bearertokenauth\": authenticator not found"
    );
    let host = crate::extensions::test_host(&[("bearertokenauth", "token: s3cret")]).await;
    r.start(&host).await.unwrap();
    let url = format!("http://{}/api/v2/spans", r.addr().unwrap());
    let refused = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(V2)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.text().await.unwrap(),
        "missing or empty authorization header: Authorization\n"
    );
    assert_eq!(
        tel.value(
            crate::receivers::otlp::pipeline::REFUSED_REQUESTS,
            &[("receiver", "zipkin"), ("reason", "unauthenticated")]
        ),
        Some(1.0)
    );
    let ok = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer s3cret")
        .header("x-tenant", "acme")
        .body(V2)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let got = sink.batches();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].client_info().unwrap().get("x-tenant"),
        ["acme".to_string()]
    );
    r.shutdown().await.unwrap();
}
