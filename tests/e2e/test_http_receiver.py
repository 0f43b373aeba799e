"""The OTLP/HTTP receiver's configurable surface against the real binary: custom URL
paths, CORS, OTLP/JSON spellings (camelCase and snake_case, enums as names, int64 as
strings), responses in the request's encoding, empty requests."""

from __future__ import annotations

import json

import pytest
import requests

from conftest import new_run_id, span_ids, spans_request
from harness import Ferrotel, free_port, pipeline_config
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from otlp_sink import Sink


class Target:
    def __init__(self, tmp):
        self.sink = Sink()
        g, h = free_port(), free_port()
        cfg = pipeline_config(
            g,
            h,
            {"otlp": {"endpoint": self.sink.grpc_endpoint, "tls": {"insecure": True}}},
            processors={},
            receiver_extra={
                "http": {
                    "traces_url_path": "custom/traces",  # no leading slash: added, as Go does
                    "cors": {"allowed_origins": ["https://*.example.com"], "allowed_headers": ["X-Custom"], "max_age": 600},
                }
            },
        )
        self.ferrotel = Ferrotel(tmp, cfg, [g, h])
        self.url = f"http://127.0.0.1:{h}"

    def spans(self, run):
        return span_ids([r.request for r in self.sink.requests("traces")], run)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = Target(tmp_path_factory.mktemp("http"))
    yield t
    t.ferrotel.stop()
    t.sink.stop()


def test_custom_traces_path_replaces_the_default(target):
    run = new_run_id()
    body = spans_request(run, 2).SerializeToString()
    r = requests.post(f"{target.url}/custom/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/x-protobuf")
    trace_service_pb2.ExportTraceServiceResponse().ParseFromString(r.content)
    assert target.sink.wait_for(lambda: len(target.spans(run)) == 2, 10)
    r = requests.post(f"{target.url}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert r.status_code == 404


def test_cors_preflight_and_simple_request(target):
    pre = requests.options(
        f"{target.url}/custom/traces",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Custom"},
        timeout=5,
    )
    assert pre.status_code in (200, 204), pre.status_code
    assert pre.headers.get("Access-Control-Allow-Origin") == "https://app.example.com", pre.headers
    assert "POST" in pre.headers.get("Access-Control-Allow-Methods", ""), pre.headers
    assert "x-custom" in pre.headers.get("Access-Control-Allow-Headers", "").lower(), pre.headers
    assert pre.headers.get("Access-Control-Max-Age") == "600", pre.headers
    denied = requests.options(f"{target.url}/custom/traces", headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in denied.headers, denied.headers
    run = new_run_id()
    r = requests.post(f"{target.url}/custom/traces", data=spans_request(run, 1).SerializeToString(), headers={"Content-Type": "application/x-protobuf", "Origin": "https://app.example.com"}, timeout=5)
    assert r.status_code == 200 and r.headers.get("Access-Control-Allow-Origin") == "https://app.example.com", r.headers


@pytest.mark.parametrize("style", ["camelCase", "snake_case"])
def test_json_spellings_arrive_as_the_same_protobuf(target, style):
    run = new_run_id()
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "e2e.run", "value": {"stringValue": run}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "json", "version": "1"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "0102030405060708",
                                "name": "json-span",
                                "kind": "SPAN_KIND_CLIENT",
                                "startTimeUnixNano": "1700000000000000001",
                                "endTimeUnixNano": 1700000000999999999,
                                "attributes": [
                                    {"key": "i", "value": {"intValue": "9007199254740993"}},
                                    {"key": "d", "value": {"doubleValue": 0.5}},
                                    {"key": "b", "value": {"boolValue": True}},
                                    {"key": "bytes", "value": {"bytesValue": "AAH/"}},
                                    {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": 2}]}}},
                                ],
                                "status": {"code": 2, "message": "bad"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    if style == "snake_case":
        doc = _snake(doc)
    r = requests.post(f"{target.url}/custom/traces", data=json.dumps(doc), headers={"Content-Type": "application/json; charset=utf-8"}, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert target.sink.wait_for(lambda: len(target.spans(run)) == 1, 10)
    span = [s for q in target.sink.requests("traces") for rs in q.request.resource_spans for ss in rs.scope_spans for s in ss.spans if s.span_id.hex() == "eee19b7ec3c1b174" and any(a.value.string_value == run for a in rs.resource.attributes)][0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.parent_span_id.hex() == "0102030405060708"
    assert span.kind == 3 and span.name == "json-span"
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (1700000000000000001, 1700000000999999999)
    attrs = {a.key: a.value for a in span.attributes}
    assert attrs["i"].int_value == 9007199254740993
    assert attrs["d"].double_value == 0.5 and attrs["b"].bool_value is True
    assert attrs["bytes"].bytes_value == b"\x00\x01\xff"
    assert [v.WhichOneof("value") for v in attrs["arr"].array_value.values] == ["string_value", "int_value"]
    assert span.status.code == 2 and span.status.message == "bad"


def _snake(node):
    import re

    if isinstance(node, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_snake(x) for x in node]
    return node


def test_empty_request_is_200_and_sends_nothing(target):
    before = len(target.sink.requests("traces"))
    r = requests.post(f"{target.url}/custom/traces", data=b"", headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert r.status_code == 200, r.text
    r = requests.post(f"{target.url}/custom/traces", data=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 200, r.text
    assert len(target.sink.requests("traces")) == before
