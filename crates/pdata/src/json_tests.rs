use super::*;
use crate::testdata;

#[test]
fn round_trip_generated_data() {
    for signal in Signal::ALL {
        for (r, p, seed) in [(0, 0, 1), (1, 1, 2), (2, 9, 3), (3, 24, 4)] {
            let req = testdata::request(signal, r, p, seed);
            let json = encode(&req);
            let back = decode(signal, &json)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)));
            assert_eq!(back, req, "{signal} seed {seed}");
            // Encoding is stable.
            assert_eq!(encode(&back), json);
        }
    }
}

#[test]
fn output_shape() {
    let req = testdata::request(Signal::Traces, 1, 2, 5);
    let json = String::from_utf8(encode(&req)).unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    let span = &v["resourceSpans"][0]["scopeSpans"][1]["spans"][0];
    let trace_id = span["traceId"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32);
    assert_eq!(trace_id, trace_id.to_lowercase());
    assert!(span["startTimeUnixNano"].is_string());
    assert!(!json.contains('_') || !json.contains("\"trace_id\""));
    assert!(span["attributes"].is_array());
}

const CAMEL_TRACES: &str = r#"{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}], "droppedAttributesCount": 1},
    "scopeSpans": [{
      "scope": {"name": "lib", "version": "1.0"},
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "parentSpanId": "",
        "traceState": "a=b",
        "flags": 257,
        "name": "GET /",
        "kind": "SPAN_KIND_SERVER",
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": 1544712661000000000,
        "attributes": [
          {"key": "i", "value": {"intValue": "-42"}},
          {"key": "i2", "value": {"intValue": 7}},
          {"key": "d", "value": {"doubleValue": "NaN"}},
          {"key": "d2", "value": {"doubleValue": 1.5}},
          {"key": "b", "value": {"boolValue": true}},
          {"key": "x", "value": {"bytesValue": "AQID"}},
          {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "1"}]}}},
          {"key": "k", "value": {"kvlistValue": {"values": [{"key": "n", "value": {"doubleValue": "-Infinity"}}]}}},
          {"key": "empty"}
        ],
        "events": [{"timeUnixNano": "1544712660500000000", "name": "ev", "attributes": [], "droppedAttributesCount": 2}],
        "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173", "flags": 1}],
        "droppedLinksCount": 3,
        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
        "someFutureField": {"ignored": [1, 2, 3]}
      }],
      "schemaUrl": "https://s"
    }]
  }]
}"#;

const SNAKE_TRACES: &str = r#"{
  "resource_spans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "svc"}}], "dropped_attributes_count": 1},
    "scope_spans": [{
      "scope": {"name": "lib", "version": "1.0"},
      "spans": [{
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
        "trace_state": "a=b",
        "flags": 257,
        "name": "GET /",
        "kind": 2,
        "start_time_unix_nano": 1544712660000000000,
        "end_time_unix_nano": "1544712661000000000",
        "attributes": [
          {"key": "i", "value": {"int_value": -42}},
          {"key": "i2", "value": {"int_value": "7"}},
          {"key": "d", "value": {"double_value": "NaN"}},
          {"key": "d2", "value": {"double_value": "1.5"}},
          {"key": "b", "value": {"bool_value": true}},
          {"key": "x", "value": {"bytes_value": "AQID"}},
          {"key": "a", "value": {"array_value": {"values": [{"string_value": "x"}, {"int_value": 1}]}}},
          {"key": "k", "value": {"kvlist_value": {"values": [{"key": "n", "value": {"double_value": "-Infinity"}}]}}},
          {"key": "empty", "value": null}
        ],
        "events": [{"time_unix_nano": "1544712660500000000", "name": "ev", "dropped_attributes_count": 2}],
        "links": [{"trace_id": "5B8EFFF798038103D269B633813FC60C", "span_id": "EEE19B7EC3C1B173", "flags": 1}],
        "dropped_links_count": 3,
        "status": {"code": 2, "message": "boom"}
      }],
      "schema_url": "https://s"
    }]
  }]
}"#;

#[test]
fn decodes_both_key_and_enum_styles() {
    let a = decode(Signal::Traces, CAMEL_TRACES.as_bytes()).unwrap();
    let b = decode(Signal::Traces, SNAKE_TRACES.as_bytes()).unwrap();
    // NaN != NaN, so compare the protobuf encodings.
    assert_eq!(a.encode_to_vec(), b.encode_to_vec());
    let Request::Traces(t) = a else {
        unreachable!()
    };
    let s = &t.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(hex::encode(&s.trace_id), "5b8efff798038103d269b633813fc60c");
    assert_eq!(s.span_id.len(), 8);
    assert!(s.parent_span_id.is_empty());
    assert_eq!(s.kind, 2);
    assert_eq!(s.start_time_unix_nano, 1_544_712_660_000_000_000);
    assert_eq!(s.end_time_unix_nano, 1_544_712_661_000_000_000);
    assert_eq!(s.status.as_ref().unwrap().code, 2);
    assert_eq!(s.links[0].flags, 1);
    assert_eq!(s.dropped_links_count, 3);
    assert_eq!(s.events[0].dropped_attributes_count, 2);
    use any_value::Value as V;
    let val = |i: usize| s.attributes[i].value.as_ref().and_then(|v| v.value.clone());
    assert_eq!(val(0), Some(V::IntValue(-42)));
    assert_eq!(val(1), Some(V::IntValue(7)));
    assert!(matches!(val(2), Some(V::DoubleValue(d)) if d.is_nan()));
    assert_eq!(val(5), Some(V::BytesValue(vec![1, 2, 3])));
    assert_eq!(val(8), None);
    // Non-finite doubles survive the round trip as strings.
    let json = String::from_utf8(encode(&Request::Traces(t))).unwrap();
    assert!(json.contains(r#"{"doubleValue":"NaN"}"#), "{json}");
    assert!(json.contains(r#"{"doubleValue":"-Infinity"}"#));
    assert!(json.contains(r#""bytesValue":"AQID""#));
    assert!(json.contains(r#""kind":2"#));
}

/// The shape the OpenTelemetry JS OTLP/HTTP JSON exporter sends.
const JS_EXPORTER_TRACES: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"js-app"}},{"key":"telemetry.sdk.language","value":{"stringValue":"nodejs"}},{"key":"telemetry.sdk.name","value":{"stringValue":"opentelemetry"}},{"key":"telemetry.sdk.version","value":{"stringValue":"1.25.1"}},{"key":"process.pid","value":{"intValue":12345}}],"droppedAttributesCount":0},"scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-http","version":"0.52.1"},"spans":[{"traceId":"71699b6fe85982c7c8995ea3d9c95df2","spanId":"3c191d03fa8be065","parentSpanId":"","name":"GET","kind":3,"startTimeUnixNano":"1718901234567000000","endTimeUnixNano":"1718901234599000000","attributes":[{"key":"http.url","value":{"stringValue":"http://localhost:8080/"}},{"key":"http.status_code","value":{"intValue":200}},{"key":"net.peer.port","value":{"intValue":8080}}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,"status":{"code":0},"links":[],"droppedLinksCount":0}]}]}]}"#;

#[test]
fn decodes_js_exporter_payload() {
    let req = decode(Signal::Traces, JS_EXPORTER_TRACES.as_bytes()).unwrap();
    assert_eq!(req.item_count(), 1);
    let Request::Traces(t) = &req else {
        unreachable!()
    };
    let s = &t.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(s.kind, 3);
    assert_eq!(s.end_time_unix_nano - s.start_time_unix_nano, 32_000_000);
    assert_eq!(s.status, Some(Status::default()));
    assert_eq!(
        t.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes
            .len(),
        5
    );
}

#[test]
fn decodes_logs_and_metrics_samples() {
    let logs = r#"{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[
        {"timeUnixNano":"1","observedTimeUnixNano":2,"severityNumber":"SEVERITY_NUMBER_WARN","severityText":"WARN",
         "body":{"stringValue":"hello"},"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","flags":1,"eventName":"ev"},
        {"severity_number":17,"body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"x"}}]}},"event_name":"e2"}
    ]}]}]}"#;
    let Request::Logs(l) = decode(Signal::Logs, logs.as_bytes()).unwrap() else {
        unreachable!()
    };
    let recs = &l.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(recs[0].severity_number, 13);
    assert_eq!(recs[0].observed_time_unix_nano, 2);
    assert_eq!(recs[0].event_name, "ev");
    assert_eq!(recs[0].trace_id[15], 0x10);
    assert_eq!(recs[1].severity_number, 17);
    assert_eq!(recs[1].event_name, "e2");

    let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
      {"name":"g","gauge":{"dataPoints":[{"asDouble":1.5,"timeUnixNano":"5","exemplars":[{"asInt":"3","spanId":"AABBCCDDEEFF0011","traceId":"00112233445566778899aabbccddeeff"}]}]}},
      {"name":"s","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,"dataPoints":[{"asInt":"-9"},{"as_int":9}]}},
      {"name":"h","histogram":{"aggregation_temporality":1,"dataPoints":[{"count":"3","sum":2.5,"bucketCounts":["1","2"],"explicitBounds":[1.0],"min":0.5,"max":2}]}},
      {"name":"e","exponentialHistogram":{"dataPoints":[{"count":4,"scale":-1,"zeroCount":"1","positive":{"offset":-2,"bucketCounts":["1",2]},"negative":{"bucket_counts":["1"]},"zeroThreshold":0.001}]}},
      {"name":"q","summary":{"dataPoints":[{"count":"10","sum":20,"quantileValues":[{"quantile":0.5,"value":1},{"quantile":1,"value":"Infinity"}]}]}}
    ]}]}]}"#;
    let req = decode(Signal::Metrics, metrics.as_bytes()).unwrap();
    assert_eq!(req.item_count(), 6);
    let Request::Metrics(m) = &req else {
        unreachable!()
    };
    let ms = &m.resource_metrics[0].scope_metrics[0].metrics;
    match &ms[0].data {
        Some(metric::Data::Gauge(g)) => {
            assert_eq!(
                g.data_points[0].value,
                Some(number_data_point::Value::AsDouble(1.5))
            );
            assert_eq!(
                g.data_points[0].exemplars[0].value,
                Some(exemplar::Value::AsInt(3))
            );
            assert_eq!(
                g.data_points[0].exemplars[0].span_id,
                hex::decode("aabbccddeeff0011").unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    match &ms[1].data {
        Some(metric::Data::Sum(s)) => {
            assert_eq!(s.aggregation_temporality, 2);
            assert!(s.is_monotonic);
            assert_eq!(
                s.data_points[1].value,
                Some(number_data_point::Value::AsInt(9))
            );
        }
        other => panic!("{other:?}"),
    }
    match &ms[2].data {
        Some(metric::Data::Histogram(h)) => {
            assert_eq!(h.aggregation_temporality, 1);
            assert_eq!(h.data_points[0].bucket_counts, vec![1, 2]);
            assert_eq!(h.data_points[0].max, Some(2.0));
        }
        other => panic!("{other:?}"),
    }
    match &ms[3].data {
        Some(metric::Data::ExponentialHistogram(h)) => {
            let p = &h.data_points[0];
            assert_eq!((p.scale, p.zero_count, p.zero_threshold), (-1, 1, 0.001));
            assert_eq!(p.positive.as_ref().unwrap().offset, -2);
            assert_eq!(p.positive.as_ref().unwrap().bucket_counts, vec![1, 2]);
            assert_eq!(p.negative.as_ref().unwrap().bucket_counts, vec![1]);
        }
        other => panic!("{other:?}"),
    }
    match &ms[4].data {
        Some(metric::Data::Summary(s)) => {
            assert_eq!(s.data_points[0].quantile_values[1].value, f64::INFINITY);
        }
        other => panic!("{other:?}"),
    }
    // Histogram bucket counts are written as strings.
    let json = String::from_utf8(encode(&req)).unwrap();
    assert!(json.contains(r#""bucketCounts":["1","2"]"#), "{json}");
    assert!(json.contains(r#""asInt":"-9""#));
}

#[test]
fn errors_are_clear() {
    let cases: &[(&str, &str)] = &[
        ("{", "EOF"),
        ("[]", "expected an object"),
        (
            r#"{"resourceSpans":{}}"#,
            "resourceSpans: expected an array",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#,
            "traceId",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]}"#,
            "traceId",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}"#,
            "kind",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-1"}]}]}]}"#,
            "startTimeUnixNano",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":3}]}]}]}"#,
            "name: expected a string",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"droppedAttributesCount":5000000000}]}]}]}"#,
            "out of range",
        ),
        (
            r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"!!"}}]}}]}"#,
            "base64",
        ),
    ];
    for (json, want) in cases {
        match decode(Signal::Traces, json.as_bytes()) {
            Err(PdataError::Json(msg)) => assert!(msg.contains(want), "{json}: {msg}"),
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn responses_and_status() {
    let r = ExportResponse::partial(Signal::Traces, 2, "bad spans");
    let json = r.to_json();
    assert_eq!(
        String::from_utf8(json.clone()).unwrap(),
        r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad spans"}}"#
    );
    assert_eq!(ExportResponse::from_json(Signal::Traces, &json).unwrap(), r);
    assert_eq!(ExportResponse::success(Signal::Logs).to_json(), b"{}");
    for signal in Signal::ALL {
        let r = ExportResponse::partial(signal, 7, "x");
        assert_eq!(
            ExportResponse::from_protobuf(signal, &r.to_protobuf()).unwrap(),
            r
        );
        assert_eq!(ExportResponse::from_json(signal, &r.to_json()).unwrap(), r);
    }
    let m = ExportResponse::from_json(
        Signal::Metrics,
        br#"{"partial_success":{"rejected_data_points":3}}"#,
    )
    .unwrap();
    assert_eq!(m.partial_success.unwrap().rejected, 3);

    let s = encode_status_json(3, "bad \"json\"\n");
    assert_eq!(
        String::from_utf8(s.clone()).unwrap(),
        r#"{"code":3,"message":"bad \"json\"\n","details":[]}"#
    );
    let st = decode_status_json(&s).unwrap();
    assert_eq!((st.code, st.message.as_str()), (3, "bad \"json\"\n"));
    use prost::Message;
    let p = RpcStatus::decode(&encode_status_protobuf(14, "unavailable")[..]).unwrap();
    assert_eq!((p.code, p.message.as_str()), (14, "unavailable"));
}

#[test]
fn string_escaping() {
    let mut b = Vec::new();
    w_str(&mut b, "a\u{1}\"\\\té");
    assert_eq!(
        String::from_utf8(b.clone()).unwrap(),
        "\"a\\u0001\\\"\\\\\\té\""
    );
    let back: String = serde_json::from_slice(&b).unwrap();
    assert_eq!(back, "a\u{1}\"\\\té");
}

#[test]
fn skips_unknown_keys_of_any_shape_and_reads_escaped_keys() {
    let json = r#"{"future":[{"a":[1,{"b":null}]},"x",2.5,true,null],
      "resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"unknownObj":{"k":{"k":[[]]}},"body":{"stringValue":"hi","extra":[1,2]},
         "sev\u0065rityText":"WARN","event\u005fname":"e"}
      ]}]}]}"#;
    let Request::Logs(l) = decode(Signal::Logs, json.as_bytes()).unwrap() else {
        unreachable!()
    };
    let rec = &l.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(rec.severity_text, "WARN");
    assert_eq!(rec.event_name, "e");
    assert_eq!(
        rec.body.as_ref().and_then(|b| b.value.clone()),
        Some(any_value::Value::StringValue("hi".into()))
    );
}

#[test]
fn null_means_default_everywhere() {
    let json = r#"{"resourceSpans":[{"resource":null,"schemaUrl":null,"scopeSpans":[{"scope":null,"spans":[
        {"traceId":null,"name":null,"kind":null,"startTimeUnixNano":null,"attributes":null,
         "flags":null,"status":null,"events":null,
         "links":[{"attributes":[{"key":"k","value":{"stringValue":null,"intValue":"5"}}]}]}
    ]}]}]}"#;
    let Request::Traces(t) = decode(Signal::Traces, json.as_bytes()).unwrap() else {
        unreachable!()
    };
    assert!(t.resource_spans[0].resource.is_none());
    let s = &t.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        (s.trace_id.len(), s.name.as_str(), s.kind, s.flags),
        (0, "", 0, 0)
    );
    assert!(s.status.is_none() && s.attributes.is_empty() && s.events.is_empty());
    // A null oneof member does not hide a present one.
    assert_eq!(
        s.links[0].attributes[0].value.as_ref().unwrap().value,
        Some(any_value::Value::IntValue(5))
    );
}

#[test]
fn errors_name_the_field_and_position() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"intValue":"1.5"}}]}]}]}]}"#,
            r#"intValue: expected an integer, found "1.5" at line 1"#,
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"events":[null]}]}]}]}"#,
            "events: expected an object, found null",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"status":[]}]}]}]}"#,
            "status: expected an object, found an array",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abc"}]}]}]}"#,
            r#"spanId: invalid hex id "abc""#,
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"flags":-1}]}]}]}"#,
            "flags: expected an unsigned integer, found -1",
        ),
        (
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":{}}]}]}]}"#,
            "kind: expected an integer, found an object",
        ),
        (r#"{"resourceSpans":[]} x"#, "trailing characters"),
        ("null", "request: expected an object, found null"),
    ];
    for (json, want) in cases {
        match decode(Signal::Traces, json.as_bytes()) {
            Err(PdataError::Json(msg)) => assert!(msg.contains(want), "{json}: {msg}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"histogram":{"dataPoints":[{"bucketCounts":["1",null]}]}}]}]}]}"#;
    match decode(Signal::Metrics, metrics.as_bytes()) {
        Err(PdataError::Json(msg)) => assert!(msg.contains("bucketCounts"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 10_000;
    let mut json = String::from(r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":"#);
    json.push_str(&r#"{"arrayValue":{"values":["#.repeat(depth));
    json.push_str(&"]}}".repeat(depth));
    json.push_str("}]}]}]}");
    match decode(Signal::Logs, json.as_bytes()) {
        Err(PdataError::Json(msg)) => assert!(msg.contains("recursion limit"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
