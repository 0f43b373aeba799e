"""The official OpenTelemetry Python SDK (gRPC and HTTP/protobuf OTLP exporters) sends
traces, logs and metrics to ferrotel, which forwards them through `otlp`, `otlphttp` and
`otlphttp` with JSON encoding; each delivery must equal, field by field, what the same SDK
providers sent straight to a reference sink."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import compare
from conftest import SIGNALS, assert_forwarded_unchanged, new_run_id
from harness import E2E

# (SDK exporter protocol, compression towards ferrotel)
VARIANTS = [("grpc", "gzip"), ("grpc", "none"), ("http", "none"), ("http", "deflate")]
EXPORTERS = ["otlp", "otlphttp", "otlphttp/json"]


@pytest.fixture(scope="module", params=VARIANTS, ids=[f"{p}-{c}" for p, c in VARIANTS])
def python_run(request, forwarding):
    protocol, compression = request.param
    run_id = new_run_id()
    if protocol == "grpc":
        via, direct = f"127.0.0.1:{forwarding.grpc_port}", forwarding.direct.grpc_endpoint
    else:
        via, direct = f"http://127.0.0.1:{forwarding.http_port}", forwarding.direct.http_endpoint
    p = subprocess.run(
        [sys.executable, str(E2E / "py_sender.py"), "--protocol", protocol, "--via", via, "--direct", direct, "--run-id", run_id, "--compression", compression],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, f"the Python SDK could not export everything:\n{p.stdout}\n{p.stderr[-4000:]}\n--- ferrotel ---\n{forwarding.ferrotel.output(3000)}"
    return run_id


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("signal", SIGNALS)
def test_python_sdk_telemetry_arrives_unchanged(forwarding, python_run, signal, exporter):
    assert_forwarded_unchanged(forwarding, python_run, signal, exporter)


def test_python_sdk_output_covers_the_fields_compared(forwarding, python_run):
    """Guards the comparison against passing vacuously: what the SDK produced has every
    feature the issue lists."""
    filt = ("e2e.run", python_run)
    reqs = lambda s: [r.request for r in forwarding.direct.requests(s)]  # noqa: E731
    spans = compare.spans(reqs("traces"), filt)
    text = json.dumps(spans)
    for needle in ['"parent_span_id"', '"links"', '"exception.stacktrace"', '"trace_state": "vendor=v1,ot=th:0"', '"code": 2', '"array_value"', '"double_value"', '"bool_value"', '"1700000000000000001"', '"1700000001999999999"']:
        assert needle in text, f"SDK traces lack {needle}"
    limited = [s["span"] for s in spans.values() if s["span"]["name"] == "e2e.limited"][0]
    assert (limited.get("dropped_attributes_count"), limited.get("dropped_events_count"), limited.get("dropped_links_count")) == (3, 1, 2), limited.keys()
    assert all(s["resource_schema_url"] == "https://opentelemetry.io/schemas/1.26.0" for s in spans.values())
    kinds = {s["span"].get("kind") for s in spans.values()}
    assert {1, 2, 3, 4, 5} <= kinds, kinds
    assert any(s["span"].get("flags", 0) & 0x300 == 0x300 for s in spans.values()), "no span with a remote parent flag"
    assert all(s["scope"].get("version") == "0.1.0" and s["scope"].get("attributes") and s["scope_schema_url"] for s in spans.values())

    logs = compare.logs(reqs("logs"), filt)
    sev = {l["log"].get("severity_number") for l in logs.values()}
    assert {5, 9, 11, 13, 17, 21} <= sev, sev
    assert sum(1 for l in logs.values() if l["log"].get("trace_id") and l["log"].get("span_id")) >= 5
    assert any("kvlist_value" in json.dumps(l["log"].get("body")) for l in logs.values())
    assert any(l["log"].get("event_name") == "e2e.order.placed" for l in logs.values())
    assert any(l["log"].get("dropped_attributes_count") for l in logs.values())

    points = [p for ps in compare.metric_points(reqs("metrics"), filt).values() for p in ps]
    types = {(p["metric"]["type"], p["metric"]["aggregation_temporality"], p["metric"]["is_monotonic"]) for p in points}
    assert ("sum", 1, True) in types and ("sum", 2, True) in types, types  # delta and cumulative counters
    assert ("sum", 2, False) in types, types  # up-down counter
    assert ("histogram", 1, None) in types and ("histogram", 2, None) in types, types
    assert any(t[0] == "exponential_histogram" for t in types) and any(t[0] == "gauge" for t in types), types
    hist = [p["point"] for p in points if p["metric"]["name"] == "e2e.latency"]
    assert any(h.get("explicit_bounds") == [0.0, 5.0, 10.0, 25.0, 100.0] and "min" in h and "max" in h for h in hist)
    assert any(p["point"].get("exemplars") for p in points), "no exemplars produced"
