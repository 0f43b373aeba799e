"""Bad input against the real binary's OTLP HTTP and gRPC ports: each gets its status and
message, is counted in otelcol_receiver_refused_*, and the process keeps serving."""

from __future__ import annotations

import gzip
import json

import grpc
import pytest
import requests
from google.rpc import status_pb2

from conftest import new_run_id, span_ids, spans_request
from harness import Ferrotel, free_port, metric_sum, pipeline_config, scrape
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_sink import Sink

BODY_LIMIT = 64 * 1024
TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class Target:
    def __init__(self, tmp):
        self.sink = Sink()
        self.grpc_port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        cfg = pipeline_config(
            self.grpc_port,
            self.http_port,
            {"otlp": {"endpoint": self.sink.grpc_endpoint, "tls": {"insecure": True}}},
            metrics_port=self.metrics_port,
            receiver_extra={"http": {"max_request_body_size": BODY_LIMIT}, "grpc": {"max_recv_msg_size_mib": 1}},
        )
        self.ferrotel = Ferrotel(tmp, cfg, [self.grpc_port, self.http_port, self.metrics_port])
        self.url = f"http://127.0.0.1:{self.http_port}"

    def refused(self, transport: str) -> float:
        return metric_sum(scrape(self.metrics_port), "otelcol_receiver_refused_", transport=transport)

    def refused_for(self, reason: str) -> float:
        return metric_sum(scrape(self.metrics_port), "otelcol_receiver_refused_requests", transport="http", reason=reason)

    def close(self):
        self.ferrotel.stop()
        self.sink.stop()


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = Target(tmp_path_factory.mktemp("badinput"))
    yield t
    t.close()


def valid_protobuf(n: int = 3, run_id: str | None = None) -> bytes:
    return spans_request(run_id or new_run_id(), n).SerializeToString()


def big_protobuf() -> bytes:
    body = valid_protobuf(1000)
    assert len(body) > BODY_LIMIT
    return body


def _truncated_gzip() -> bytes:
    z = gzip.compress(valid_protobuf(50))
    return z[: len(z) // 2]


def _gzip_bomb() -> bytes:
    """Small on the wire, bigger than the limit once decompressed."""
    body = valid_protobuf(1000)
    z = gzip.compress(body)
    assert len(z) < BODY_LIMIT < len(body)
    return z


PROTO = "application/x-protobuf"
JSON = "application/json"

# id, method, path, headers, body, expected status, check on the response,
# reason label of otelcol_receiver_refused_requests
HTTP_CASES = [
    ("garbage_protobuf", "POST", "/v1/traces", {"Content-Type": PROTO}, b"\x0a\xff\xff\xff\xff\x0fgarbage", 400, "status_proto", "malformed"),
    ("garbage_protobuf_logs", "POST", "/v1/logs", {"Content-Type": PROTO}, b"\x12\x05abc", 400, "status_proto", "malformed"),
    ("broken_json", "POST", "/v1/traces", {"Content-Type": JSON}, b'{"resourceSpans": [{"scopeSpans": [', 400, "status_json", "malformed"),
    ("json_bad_id", "POST", "/v1/traces", {"Content-Type": JSON}, b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708","name":"x"}]}]}]}', 400, "status_json", "malformed"),
    ("truncated_gzip", "POST", "/v1/traces", {"Content-Type": PROTO, "Content-Encoding": "gzip"}, _truncated_gzip(), 400, "status_proto", "malformed"),
    ("unsupported_content_encoding", "POST", "/v1/traces", {"Content-Type": PROTO, "Content-Encoding": "br"}, b"xx", 400, "text:Content-Encoding", "unsupported_encoding"),
    ("wrong_content_type", "POST", "/v1/traces", {"Content-Type": "text/plain"}, b"hello", 415, "text:415 unsupported media type, supported: [application/json, application/x-protobuf]", "unsupported_media_type"),
    ("wrong_method", "GET", "/v1/traces", {}, b"", 405, "text:405 method not allowed, supported: [POST]", "method_not_allowed"),
    ("wrong_method_put", "PUT", "/v1/metrics", {"Content-Type": PROTO}, b"", 405, "text:405 method not allowed, supported: [POST]", "method_not_allowed"),
    ("oversize_body", "POST", "/v1/traces", {"Content-Type": PROTO}, big_protobuf(), (413, 400), "any", "too_large"),
    ("oversize_after_decompression", "POST", "/v1/traces", {"Content-Type": PROTO, "Content-Encoding": "gzip"}, _gzip_bomb(), (413, 400), "any", "too_large"),
    ("unknown_path", "POST", "/v1/nothing", {"Content-Type": PROTO}, valid_protobuf(), 404, "any", "not_found"),
]


def _check_body(resp: requests.Response, how: str) -> None:
    if how == "status_proto":
        assert resp.headers.get("Content-Type", "").startswith(PROTO), resp.headers
        st = status_pb2.Status()
        st.ParseFromString(resp.content)
        assert st.message, f"empty google.rpc.Status message: {resp.content!r}"
    elif how == "status_json":
        assert resp.headers.get("Content-Type", "").startswith(JSON), resp.headers
        st = json.loads(resp.content)
        assert st.get("message"), f"no message in {resp.content!r}"
    elif how.startswith("text:"):
        assert how[5:] in resp.text, f"{resp.text!r} lacks {how[5:]!r}"


def _still_serving(target: Target) -> None:
    """A valid request over HTTP and over gRPC succeeds and reaches the sink."""
    run = new_run_id()
    r = requests.post(f"{target.url}/v1/traces", data=valid_protobuf(3, run), headers={"Content-Type": PROTO}, timeout=5)
    assert r.status_code == 200, (r.status_code, r.text)
    with grpc.insecure_channel(f"127.0.0.1:{target.grpc_port}") as ch:
        trace_service_pb2_grpc.TraceServiceStub(ch).Export(spans_request(run, 2), timeout=5)
    ok = target.sink.wait_for(lambda: len(span_ids([x.request for x in target.sink.requests("traces")], run)) >= 5, 15)
    assert ok, f"valid data after bad input did not arrive:\n{target.ferrotel.output(3000)}"


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_http_bad_input_is_answered_counted_and_survived(target, case):
    _, method, path, headers, body, want, how, reason = case
    before = target.refused("http")
    before_reason = target.refused_for(reason)
    resp = requests.request(method, f"{target.url}{path}", data=body, headers=headers, timeout=10)
    wants = want if isinstance(want, tuple) else (want,)
    assert resp.status_code in wants, f"{method} {path}: got {resp.status_code} {resp.text[:300]!r}, want {want}"
    _check_body(resp, how)
    assert target.ferrotel.alive(), target.ferrotel.output()
    after = target.refused("http")
    assert after > before, f"otelcol_receiver_refused_*{{transport=http}} did not go up ({before} -> {after})"
    assert target.refused_for(reason) == before_reason + 1, f"otelcol_receiver_refused_requests{{reason={reason}}} did not go up by one"
    _still_serving(target)


def test_http_oversize_status_is_413(target):
    """The README documents 413 Payload Too Large for bodies over max_request_body_size."""
    resp = requests.post(f"{target.url}/v1/traces", data=big_protobuf(), headers={"Content-Type": PROTO}, timeout=10)
    assert resp.status_code == 413, (resp.status_code, resp.text[:300])


def test_grpc_garbage_is_refused_counted_and_survived(target):
    before = target.refused("grpc")
    with grpc.insecure_channel(f"127.0.0.1:{target.grpc_port}") as ch:
        call = ch.unary_unary(TRACES_METHOD, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as e:
            call(b"\x0a\xff\xff\xff\xff\x0fgarbage", timeout=5)
    assert e.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL), e.value
    assert e.value.details(), "no status message"
    assert target.refused("grpc") > before, "otelcol_receiver_refused_*{transport=grpc} did not go up"
    _still_serving(target)


def test_grpc_oversize_message_is_resource_exhausted(target):
    req = spans_request(new_run_id(), 1)
    req.resource_spans[0].scope_spans[0].spans[0].name = "x" * (1024 * 1024 + 10)
    with grpc.insecure_channel(f"127.0.0.1:{target.grpc_port}") as ch:
        with pytest.raises(grpc.RpcError) as e:
            trace_service_pb2_grpc.TraceServiceStub(ch).Export(req, timeout=10)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.value
    _still_serving(target)


def test_grpc_unknown_method_is_unimplemented(target):
    with grpc.insecure_channel(f"127.0.0.1:{target.grpc_port}") as ch:
        call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Nope", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as e:
            call(b"", timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED, e.value
    _still_serving(target)
