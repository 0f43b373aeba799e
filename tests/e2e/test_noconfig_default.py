"""Issue 12, the no-config default: `ferrotel` with no --config receives OTLP, keeps it in the
embedded store on disk under the data directory it prints (XDG_DATA_HOME/ferrotel here), and
serves the UI on the port it prints. Every address is moved to a free port with the --set flags
the startup lines document. The test sends a span with the official Python SDK to the endpoint
the printed `export OTEL_EXPORTER_OTLP_ENDPOINT=` line names, finds it through the Jaeger API,
loads /ui/, and finds the span again after a restart on the same directory."""

from __future__ import annotations

import json
import os

from noconfig import NoConfigFerrotel
from store_harness import poll
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

SERVICE = "noconfig-test"


def trace_spans(f: NoConfigFerrotel, trace_id: str) -> list[dict]:
    status, body, _ = f.get(f"/api/traces/{trace_id}")
    if status != 200:
        return []
    return [s for t in json.loads(body)["data"] for s in t["spans"]]


def test_noconfig_prints_where_it_runs_stores_an_sdk_span_serves_the_ui_and_keeps_the_span_across_a_restart(tmp_path):
    xdg = tmp_path / "xdg"
    data = xdg / "ferrotel"
    f = NoConfigFerrotel(tmp_path, env={"XDG_DATA_HOME": str(xdg)}, name="first")
    try:
        # What it prints: where the UI is (the port really bound), the data directory under
        # XDG_DATA_HOME and its cap, the OTLP endpoints, the line to paste, the Grafana URLs.
        ui_url = f.printed(r"^\s*UI:\s+(\S+)$")
        assert ui_url == f"http://127.0.0.1:{f.ui}/ui/", f.output()
        assert f.printed(r"^\s*Data:\s+(\S+) \(capped at \d+ MiB") == str(data), f.output()
        assert data.is_dir(), f"{data} was not created"
        assert f.printed(r"^\s*OTLP gRPC:\s+(\S+)$") == f"127.0.0.1:{f.grpc}"
        assert f.printed(r"^\s*OTLP HTTP:\s+(\S+)$") == f"127.0.0.1:{f.http}"
        endpoint = f.printed(r"^\s*export OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)$")
        assert endpoint == f"http://127.0.0.1:{f.http}", f.output()
        assert f.printed(r"Prometheus API: (\S+)") == f"http://127.0.0.1:{f.ui}"
        assert f.printed(r"Loki API:\s+(\S+)") == f"http://127.0.0.1:{f.ui}"
        assert f.printed(r"Tempo API:\s+(\S+)") == f"http://127.0.0.1:{f.ui}/tempo"
        assert f.printed(r"Jaeger API:\s+(\S+)") == f"http://127.0.0.1:{f.ui}"

        # A span from the official SDK, sent where the printed line says (the SDK appends
        # /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT itself; given explicitly it does not).
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
        with provider.get_tracer("noconfig").start_as_current_span("first-span", kind=SpanKind.SERVER) as span:
            span.set_attribute("test.run", os.getpid())
            ctx = span.get_span_context()
        provider.shutdown()
        trace_id, span_id = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"

        spans = poll(lambda: trace_spans(f, trace_id), 30, f"span {span_id} of trace {trace_id} in /api/traces")
        assert [(s["spanID"], s["operationName"]) for s in spans] == [(span_id, "first-span")]
        assert SERVICE in f.json("/api/services")["data"]

        # The UI: the page itself, and the root redirects to it.
        status, body, headers = f.get("/ui/")
        assert status == 200 and headers.get("content-type", "").startswith("text/html"), (status, headers)
        assert b"<html" in body.lower() or b"<!doctype html" in body.lower(), body[:300]
        assert f.get("/")[:2] == (200, body), "/ does not lead to the UI's page"
        collector = f.json("/api/ferrotel/collector")
        assert {p["name"] for p in collector["pipelines"]} == {"traces", "metrics", "logs"}
        assert collector["extensions"] == ["embedded_store"]
    finally:
        assert f.stop() == 0, f.output()

    # Restart on the same directory, named this time with --set: the span is still there.
    g = NoConfigFerrotel(tmp_path, data_dir=data, name="second")
    try:
        assert g.printed(r"^\s*Data:\s+(\S+) \(capped") == str(data), g.output()
        spans = poll(lambda: trace_spans(g, trace_id), 30, f"span {span_id} after the restart")
        assert [(s["spanID"], s["operationName"]) for s in spans] == [(span_id, "first-span")]
    finally:
        assert g.stop() == 0, g.output()
