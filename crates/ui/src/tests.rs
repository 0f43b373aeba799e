//! Router-level tests: requests as Grafana and the Jaeger UI send them, against a store fed
//! through its ingest paths.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use pdata::proto::collector::trace::v1::ExportTraceServiceRequest;
use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};
use pdata::proto::resource::v1::Resource;
use pdata::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use promtranslate::prompb;
use prost::Message;
use serde_json::Value as J;
use tower::ServiceExt;

use crate::{Api, router};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn store() -> store::Store {
    store::Store::open(store::Options::default()).unwrap().0
}

fn api(s: store::Store) -> Arc<Api> {
    Api::new(Arc::new(s))
}

/// POSTs a JSON body to Loki's push endpoint.
async fn push_json(api: &Arc<Api>, body: impl Into<Body>) -> (StatusCode, Vec<u8>) {
    call(
        api,
        Request::post("/loki/api/v1/push")
            .header("content-type", "application/json")
            .body(body.into())
            .unwrap(),
    )
    .await
}

async fn call(api: &Arc<Api>, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router(api.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

async fn get_json(api: &Arc<Api>, uri: &str) -> (StatusCode, J) {
    let (s, b) = call(api, Request::get(uri).body(Body::empty()).unwrap()).await;
    (
        s,
        serde_json::from_slice(&b).unwrap_or(J::String(String::from_utf8_lossy(&b).into())),
    )
}

const T0: u64 = 1_700_000_000_000_000_000;

fn span(trace: u8, id: u8, parent: u8, name: &str, start: u64, dur: u64, error: bool) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: if parent == 0 { 2 } else { 3 },
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        status: error.then(|| Status {
            code: 2,
            message: "boom".into(),
        }),
        attributes: vec![kv("http.route", "/checkout")],
        ..Default::default()
    }
}

fn traces(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

fn seed_traces(s: &store::Store) {
    let a = traces(
        "shopper",
        vec![span(1, 1, 0, "checkout", T0, 50_000_000, false)],
    );
    let b = traces(
        "grocery-store",
        vec![span(
            1,
            2,
            1,
            "GET /items",
            T0 + 1_000_000,
            30_000_000,
            true,
        )],
    );
    for r in [a, b] {
        s.ingest_traces(&r, &r.encode_to_vec()).unwrap();
    }
}

#[tokio::test]
async fn grafana_save_and_test_probes_succeed() {
    let s = store();
    seed_traces(&s);
    let api = api(s);
    // Prometheus: a form POST of `1+1`, then build info.
    let (st, b) = call(
        &api,
        Request::post("/api/v1/query")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("query=1%2B1&time=4"))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let v: J = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["data"]["resultType"], "scalar");
    assert_eq!(v["data"]["result"][1], "2");
    let (st, v) = get_json(&api, "/api/v1/status/buildinfo").await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["data"]["version"].is_string());
    // Loki: exactly one sample equal to 2.
    let (st, v) = get_json(&api, "/loki/api/v1/query?query=vector(1)%2Bvector(1)").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"]["result"][0]["value"][1], "2");
    // Tempo and Jaeger.
    let (st, b) = call(
        &api,
        Request::get("/tempo/api/echo").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!((st, &b[..]), (StatusCode::OK, &b"echo"[..]));
    let (st, v) = get_json(&api, "/api/services").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"], serde_json::json!(["grocery-store", "shopper"]));
}

#[tokio::test]
async fn tempo_trace_by_id_is_protobuf_when_grafana_asks_and_404_when_missing() {
    let s = store();
    seed_traces(&s);
    let api = api(s);
    let id = hex::encode([1u8; 16]);
    let (st, b) = call(
        &api,
        Request::get(format!("/tempo/api/v2/traces/{id}"))
            .header("accept", "application/protobuf")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // TraceByIDResponse { trace = 1: Trace { resource_spans = 1 } }: the trace field holds
    // a TracesData.
    #[derive(prost::Message)]
    struct Resp {
        #[prost(message, optional, tag = "1")]
        trace: Option<pdata::proto::trace::v1::TracesData>,
    }
    let r = Resp::decode(&b[..]).unwrap();
    let spans: usize = r
        .trace
        .unwrap()
        .resource_spans
        .iter()
        .map(|rs| rs.scope_spans[0].spans.len())
        .sum();
    assert_eq!(spans, 2);
    let (st, b) = call(
        &api,
        Request::get(format!("/tempo/api/traces/{id}"))
            .header("accept", "application/protobuf")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        pdata::proto::trace::v1::TracesData::decode(&b[..])
            .unwrap()
            .resource_spans
            .len(),
        2
    );
    let (st, _) = call(
        &api,
        Request::get(format!("/tempo/api/v2/traces/{}", hex::encode([9u8; 16])))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // At the root, /api/traces/{id} is Jaeger's.
    let (st, v) = get_json(&api, &format!("/api/traces/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"][0]["spans"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn traceql_search_reports_root_and_matched_span() {
    let s = store();
    seed_traces(&s);
    let api = api(s);
    let q = "%7B%20resource.service.name%20%3D%20%22grocery-store%22%20%26%26%20status%20%3D%20error%20%7D";
    let (st, v) = get_json(&api, &format!("/tempo/api/search?q={q}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t = &v["traces"][0];
    assert_eq!(t["rootServiceName"], "shopper");
    assert_eq!(t["rootTraceName"], "checkout");
    assert_eq!(t["durationMs"], 50);
    assert_eq!(t["spanSets"][0]["matched"], 1);
    assert_eq!(
        t["spanSets"][0]["spans"][0]["spanID"],
        hex::encode([2u8; 8])
    );
    assert_eq!(t["serviceStats"]["grocery-store"]["errorCount"], 1);
    let (st, _) = get_json(&api, "/tempo/api/search?q=%7B%20%3E%3E").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn jaeger_search_and_dependencies() {
    let s = store();
    seed_traces(&s);
    let api = api(s);
    let start = T0 / 1000 - 1_000_000;
    let end = T0 / 1000 + 1_000_000;
    let (st, v) = get_json(&api, &format!("/api/traces?service=grocery-store&tags=%7B%22error%22%3A%22true%22%7D&start={start}&end={end}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = get_json(
        &api,
        &format!("/api/traces?service=grocery-store&tag=http.route:/nope&start={start}&end={end}"),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 0);
    let (st, v) = get_json(&api, "/api/traces").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["msg"], "parameter 'service' is required");
    let (_, v) = get_json(
        &api,
        &format!(
            "/api/dependencies?endTs={}&lookback=86400000",
            T0 / 1_000_000 + 1000
        ),
    )
    .await;
    assert_eq!(
        v["data"],
        serde_json::json!([{"parent": "shopper", "child": "grocery-store", "callCount": 1}])
    );
    let (_, v) = get_json(&api, "/api/v3/operations?service=grocery-store").await;
    assert_eq!(
        v["operations"],
        serde_json::json!([{"name": "GET /items", "spanKind": "client"}])
    );
    let (st, v) = get_json(&api, "/api/v3/traces?query.service_name=nobody&query.start_time_min=2023-01-01T00:00:00Z&query.start_time_max=2024-01-01T00:00:00Z").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["message"], "No traces found");
}

type TestSeries<'a> = (Vec<(&'a str, &'a str)>, Vec<(i64, f64)>);

/// The lines of a Loki streams answer, sorted.
fn stream_lines(v: &J) -> Vec<String> {
    let mut out: Vec<String> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["values"].as_array().unwrap().clone())
        .map(|e| e[1].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn remote_write(series: Vec<TestSeries>) -> Vec<u8> {
    let wr = prompb::WriteRequest {
        timeseries: series
            .into_iter()
            .map(|(labels, samples)| prompb::TimeSeries {
                labels: labels
                    .into_iter()
                    .map(|(n, v)| prompb::Label {
                        name: n.into(),
                        value: v.into(),
                    })
                    .collect(),
                samples: samples
                    .into_iter()
                    .map(|(t, v)| prompb::Sample {
                        timestamp: t,
                        value: v,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&wr.encode_to_vec())
        .unwrap()
}

#[tokio::test]
async fn remote_write_then_promql_series_labels_and_tempo_aliases() {
    let api = api(store());
    let body = remote_write(vec![
        (
            vec![
                ("__name__", "traces_span_metrics_calls_total"),
                ("service_name", "shop"),
                ("span_kind", "SPAN_KIND_SERVER"),
                ("span_name", "GET /"),
                ("status_code", "STATUS_CODE_UNSET"),
            ],
            (0..=60).map(|i| (i * 10_000, (i * 10) as f64)).collect(),
        ),
        (
            vec![("__name__", "up"), ("job", "a")],
            vec![(0, 1.0), (600_000, 1.0)],
        ),
    ]);
    let (st, _) = call(
        &api,
        Request::post("/api/v1/write")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(
        &api,
        Request::post("/api/v1/write")
            .body(Body::from("not snappy"))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // 10 per 10 s is 1/s.
    let (_, v) = get_json(
        &api,
        "/api/v1/query?query=sum(rate(traces_span_metrics_calls_total%5B1m%5D))&time=300",
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    // Tempo's name for the same series, with its `service` label.
    let (_, v) = get_json(&api, "/api/v1/query?query=sum%20by%20(service)%20(rate(traces_spanmetrics_calls_total%7Bservice%3D%22shop%22%7D%5B1m%5D))&time=300").await;
    assert_eq!(v["data"]["result"][0]["metric"]["service"], "shop", "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "1");
    let (_, v) = get_json(&api, "/api/v1/label/__name__/values").await;
    assert_eq!(
        v["data"],
        serde_json::json!(["traces_span_metrics_calls_total", "up"])
    );
    let (_, v) = get_json(&api, "/api/v1/series?match%5B%5D=up").await;
    assert_eq!(
        v["data"],
        serde_json::json!([{"__name__": "up", "job": "a"}])
    );
    let (st, v) = get_json(&api, "/api/v1/series").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], "bad_data");
    let (st, v) = get_json(&api, "/api/v1/query?query=sum(").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    // Jaeger's Monitor tab: calls per second for the service.
    let (st, v) = get_json(
        &api,
        "/api/metrics/calls?service=shop&endTs=600000&lookback=300000&step=60000&ratePer=60000",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "service_call_rate");
    let p = &v["metrics"][0]["metricPoints"][0];
    assert_eq!(p["gaugeValue"]["doubleValue"], 1.0, "{v}");
}

#[tokio::test]
async fn loki_push_json_then_logql_and_labels() {
    let api = api(store());
    let body = serde_json::json!({"streams": [
        {"stream": {"job": "varlogs", "level": "error"}, "values": [["1000000000", "db timeout", {"trace_id": "0102"}], ["2000000000", "ok"]]},
        {"stream": {"job": "varlogs", "level": "info"}, "values": [["1500000000", "hello"]]}
    ]});
    let (st, b) = push_json(&api, body.to_string()).await;
    assert_eq!(
        st,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&b)
    );
    let (_, v) = get_json(&api, "/loki/api/v1/labels?start=0&end=10").await;
    assert_eq!(v["data"], serde_json::json!(["job", "level"]));
    let (_, v) = get_json(&api, "/loki/api/v1/label/level/values?start=0&end=10").await;
    assert_eq!(v["data"], serde_json::json!(["error", "info"]));
    let (st, v) = get_json(&api, "/loki/api/v1/query_range?query=%7Bjob%3D%22varlogs%22%7D%20%7C%3D%20%22o%22&start=0&end=10").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(stream_lines(&v).len(), 3);
    let (_, v) = get_json(
        &api,
        "/loki/api/v1/query?query=sum(count_over_time(%7Bjob%3D%22varlogs%22%7D%5B10s%5D))&time=5",
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "3", "{v}");
    let (st, _) = get_json(&api, "/loki/api/v1/query?query=%7Bjob%3D%22varlogs%22%7D").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = push_json(&api, "{").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_trace_id_label_filter_keeps_exactly_the_lines_the_pipeline_keeps() {
    let api = api(store());
    let t1 = "0af7651916cd43dd8448eb211c80319c";
    let t2 = "0af7651916cd43dd8448eb211c80319d";
    let body = serde_json::json!({"streams": [
        {"stream": {"job": "a"}, "values": [
            ["1000000000", "one", {"trace_id": t1}],
            // not 16 bytes: kept as an attribute named trace_id, which is the metadata
            ["2000000000", "two", {"trace_id": "0102"}],
            ["3000000000", "three", {"trace_id": t2}],
            ["4000000000", "four"]
        ]},
        // a stream label of that name, no metadata: the label decides
        {"stream": {"job": "b", "trace_id": "x"}, "values": [["5000000000", "five"]]},
        // both: the metadata wins, as in the pipeline
        {"stream": {"job": "b", "trace_id": "y"}, "values": [["6000000000", "six", {"trace_id": "0103"}]]}
    ]});
    let (st, _) = push_json(&api, body.to_string()).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let q = |query: &str| {
        format!(
            "/loki/api/v1/query_range?query={}&start=0&end=10",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        )
    };
    for (query, want) in [
        (format!(r#"{{job=~"a|b"}} | trace_id="{t1}""#), vec!["one"]),
        (r#"{job=~"a|b"} | trace_id="0102""#.to_string(), vec!["two"]),
        (r#"{job=~"a|b"} | trace_id="x""#.to_string(), vec!["five"]),
        (r#"{job=~"a|b"} | trace_id="0103""#.to_string(), vec!["six"]),
        (r#"{job=~"a|b"} | trace_id="y""#.to_string(), vec![]),
        (
            format!(r#"{{job=~"a|b"}} |= "e" | trace_id="{t2}""#),
            vec!["three"],
        ),
        (
            format!(r#"{{job="a"}} | trace_id="{t1}" or trace_id="{t2}""#),
            vec!["one", "three"],
        ),
    ] {
        let (st, v) = get_json(&api, &q(&query)).await;
        assert_eq!(st, StatusCode::OK, "{query}: {v}");
        assert_eq!(stream_lines(&v), want, "{query}");
    }
    let (_, v) = get_json(
        &api,
        &format!(
            "/loki/api/v1/query?query={}&time=10",
            form_urlencoded::byte_serialize(
                r#"sum(count_over_time({job="a"} | trace_id="0102" [20s]))"#.as_bytes()
            )
            .collect::<String>()
        ),
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
}
