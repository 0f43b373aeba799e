"""The official OpenTelemetry JS SDK (@opentelemetry/sdk-node with its OTLP HTTP/JSON and
gRPC exporters) sends traces, logs and metrics to ferrotel, which forwards them through
`otlp`, `otlphttp` and `otlphttp/json`; each delivery must equal, field by field, what the
same SDK providers sent straight to a reference sink (over gRPC, i.e. protobuf)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import compare
from conftest import SIGNALS, assert_forwarded_unchanged, new_run_id
from harness import NODE_DIR

VARIANTS = [("http-json", "none"), ("http-json", "gzip"), ("grpc", "none"), ("grpc", "gzip")]
EXPORTERS = ["otlp", "otlphttp", "otlphttp/json"]


@pytest.fixture(scope="module", params=VARIANTS, ids=[f"{p}-{c}" for p, c in VARIANTS])
def node_run(request, forwarding):
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "@opentelemetry" / "sdk-node").is_dir(), "run `npm ci` in tests/e2e/node (scripts/test.sh does)"
    protocol, compression = request.param
    run_id = new_run_id()
    if protocol == "grpc":
        via = f"http://127.0.0.1:{forwarding.grpc_port}"
    else:
        via = f"http://127.0.0.1:{forwarding.http_port}"
    direct = f"http://{forwarding.direct.grpc_endpoint}"
    p = subprocess.run(
        [node, str(NODE_DIR / "sender.js"), "--protocol", protocol, "--via", via, "--direct", direct, "--run-id", run_id, "--compression", compression],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )
    assert p.returncode == 0, f"the JS SDK could not export everything:\n{p.stdout}\n{p.stderr[-4000:]}\n--- ferrotel ---\n{forwarding.ferrotel.output(3000)}"
    return run_id


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("signal", SIGNALS)
def test_node_sdk_telemetry_arrives_unchanged(forwarding, node_run, signal, exporter):
    assert_forwarded_unchanged(forwarding, node_run, signal, exporter)


def test_node_sdk_output_covers_the_fields_compared(forwarding, node_run):
    filt = ("e2e.run", node_run)
    reqs = lambda s: [r.request for r in forwarding.direct.requests(s)]  # noqa: E731
    spans = compare.spans(reqs("traces"), filt)
    text = json.dumps(spans)
    for needle in ['"parent_span_id"', '"links"', '"exception.message"', '"trace_state": "vendor=v1,ot=th:0"', '"code": 2', '"array_value"', '"double_value"', '"1700000000000000001"', '"1700000001999999999"']:
        assert needle in text, f"SDK traces lack {needle}"
    assert {1, 2, 3, 4, 5} <= {s["span"].get("kind") for s in spans.values()}
    logs = compare.logs(reqs("logs"), filt)
    assert {5, 9, 11, 13, 17, 21} <= {l["log"].get("severity_number") for l in logs.values()}
    assert sum(1 for l in logs.values() if l["log"].get("trace_id") and l["log"].get("span_id")) >= 5
    points = [p for ps in compare.metric_points(reqs("metrics"), filt).values() for p in ps]
    types = {(p["metric"]["type"], p["metric"]["aggregation_temporality"], p["metric"]["is_monotonic"]) for p in points}
    assert ("sum", 1, True) in types and ("sum", 2, True) in types and ("sum", 2, False) in types, types
    assert ("histogram", 1, None) in types and ("histogram", 2, None) in types, types
    assert any(t[0] == "exponential_histogram" for t in types), types
