"""The `file` exporter, the `otlp_json_file` receiver, `group_by_attrs`, `redaction` and the
`nop` receiver/exporter in running ferrotel processes:

- spans from the official Python SDK go through `groupbyattrs` (the deprecated name) and
  `redaction` into a `file` exporter; the test reads the OTLP/JSON lines back and checks
  the regrouping, the masking and Go's summary attributes;
- traces, metrics and logs written by one ferrotel's `file` exporter are read back by a
  second ferrotel's `otlp_json_file` receiver and forwarded over OTLP/gRPC to a sink in the
  test, where they must equal, field by field, what was sent to the first one;
- pipelines made of `nop` receivers and exporters start and accept data.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

import otlp_json
from conftest import kv, logs_request, new_run_id, spans_request
from harness import Ferrotel, free_port, metric_sum, scrape
from otlp_sink import Sink

REQUEST_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
TOP_KEY = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}


def telemetry(metrics_port: int) -> dict:
    return {
        "logs": {"level": "info"},
        "metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]},
    }


def post(port: int, signal: str, req) -> int:
    r = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/{signal}",
        data=req.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        method="POST",
    )
    with urllib.request.urlopen(r, timeout=10) as resp:
        return resp.status


def read_json_lines(path: Path) -> list[tuple[str, object]]:
    """(signal, request) for each line of a file written by the file exporter."""
    out = []
    for line in path.read_text().splitlines():
        doc = json.loads(line)
        signal = next(s for s, k in TOP_KEY.items() if k in doc)
        # OTLP/JSON ids are hex, not protobuf JSON's base64
        out.append((signal, otlp_json.parse_request(signal, line.encode())))
    return out


def attrs(kvs) -> dict:
    out = {}
    for a in kvs:
        kind = a.value.WhichOneof("value")
        out[a.key] = getattr(a.value, kind) if kind else None
    return out


def test_python_sdk_spans_are_grouped_redacted_and_written_as_otlp_json(tmp_path):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    grpc_port, metrics_port = free_port(), free_port()
    out = tmp_path / "spans.json"
    cfg = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": {
            # the deprecated spelling must still work
            "groupbyattrs": {"keys": ["tenant"]},
            "redaction": {
                "allow_all_keys": True,
                "blocked_values": ["4[0-9]{12}(?:[0-9]{3})?"],
                "blocked_key_patterns": [".*password.*"],
                "summary": "debug",
            },
        },
        "exporters": {"file": {"path": str(out), "flush_interval": "100ms"}},
        "service": {
            "telemetry": telemetry(metrics_port),
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["groupbyattrs", "redaction"], "exporters": ["file"]}},
        },
    }
    fer = Ferrotel(tmp_path, cfg, [grpc_port, metrics_port])
    run_id = new_run_id()
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-file", "e2e.run": run_id}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)))
    tracer = provider.get_tracer("e2e.file", "0.1.0")
    for i, tenant in enumerate(["a", "b", "a"]):
        with tracer.start_as_current_span(f"op-{i}") as span:
            span.set_attribute("tenant", tenant)
            span.set_attribute("note", f"paid with 4111111111111111 #{i}")
            span.set_attribute("db.password", "hunter2")
            span.set_attribute("i", i)
    provider.shutdown()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and metric_sum(scrape(metrics_port), "otelcol_processor_groupbyattrs_num_grouped_spans") < 3:
        time.sleep(0.05)
    assert fer.stop() == 0, fer.output()

    lines = read_json_lines(out)
    assert lines and all(s == "traces" for s, _ in lines), fer.output()
    by_tenant: dict[str, list] = {}
    for _, req in lines:
        for rs in req.resource_spans:
            res = attrs(rs.resource.attributes)
            assert res["e2e.run"] == run_id and res["service.name"] == "e2e-file"
            for ss in rs.scope_spans:
                assert ss.scope.name == "e2e.file" and ss.scope.version == "0.1.0"
                by_tenant.setdefault(res["tenant"], []).extend(ss.spans)
    assert sorted(by_tenant) == ["a", "b"]
    assert sorted(s.name for s in by_tenant["a"]) == ["op-0", "op-2"]
    assert [s.name for s in by_tenant["b"]] == ["op-1"]
    for spans in by_tenant.values():
        for s in spans:
            a = attrs(s.attributes)
            assert "tenant" not in a, "group_by_attrs moves the key to the resource"
            assert a["note"].startswith("paid with **** #"), a
            assert a["db.password"] == "****"
            assert a["i"] in (0, 1, 2)
            assert a["redaction.masked.keys"] == "db.password,note"
            assert a["redaction.masked.count"] == 2
            assert len(s.trace_id) == 16 and len(s.span_id) == 8


def metrics_request(run_id: str) -> metrics_service_pb2.ExportMetricsServiceRequest:
    now = time.time_ns()
    gauge = metrics_pb2.Metric(
        name="e2e.temperature",
        unit="Cel",
        gauge=metrics_pb2.Gauge(data_points=[metrics_pb2.NumberDataPoint(time_unix_nano=now, as_double=21.5, attributes=[kv("room", "a")])]),
    )
    total = metrics_pb2.Metric(
        name="e2e.requests",
        sum=metrics_pb2.Sum(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE,
            is_monotonic=True,
            data_points=[metrics_pb2.NumberDataPoint(start_time_unix_nano=now - 10**9, time_unix_nano=now, as_int=42)],
        ),
    )
    hist = metrics_pb2.Metric(
        name="e2e.latency",
        histogram=metrics_pb2.Histogram(
            aggregation_temporality=metrics_pb2.AGGREGATION_TEMPORALITY_DELTA,
            data_points=[
                metrics_pb2.HistogramDataPoint(
                    time_unix_nano=now, count=3, sum=12.5, bucket_counts=[1, 2, 0], explicit_bounds=[5.0, 10.0], min=1.0, max=9.0
                )
            ],
        ),
    )
    return metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[
            metrics_pb2.ResourceMetrics(
                resource=resource_pb2.Resource(attributes=[kv("e2e.run", run_id), kv("service.name", "e2e-metrics")]),
                scope_metrics=[metrics_pb2.ScopeMetrics(scope=common_pb2.InstrumentationScope(name="e2e", version="1"), metrics=[gauge, total, hist])],
                schema_url="https://opentelemetry.io/schemas/1.26.0",
            )
        ]
    )


def test_file_written_by_ferrotel_is_replayed_by_otlp_json_file(tmp_path):
    run_id = new_run_id()
    sent = {
        "traces": [spans_request(run_id, 5), spans_request(run_id, 2)],
        "metrics": [metrics_request(run_id)],
        "logs": [logs_request(run_id, 4)],
    }
    # 1. ferrotel A: otlp -> file (all signals into one file, as Go's shared exporter does)
    http_port, metrics_a = free_port(), free_port()
    data = tmp_path / "data" / "telemetry.json"
    cfg_a = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_port}"}}}},
        "exporters": {"file": {"path": str(data), "create_directory": True}},
        "service": {
            "telemetry": telemetry(metrics_a),
            "pipelines": {s: {"receivers": ["otlp"], "exporters": ["file"]} for s in sent},
        },
    }
    a = Ferrotel(tmp_path, cfg_a, [http_port, metrics_a], name="writer")
    for signal, reqs in sent.items():
        for req in reqs:
            assert post(http_port, signal, req) == 200
    assert a.stop() == 0, a.output()
    written = read_json_lines(data)
    assert sorted(s for s, _ in written) == ["logs", "metrics", "traces", "traces"], written

    # 2. ferrotel B: otlp_json_file -> otlp (gRPC) -> the sink
    sink = Sink()
    try:
        metrics_b = free_port()
        cfg_b = {
            "receivers": {
                "otlp_json_file": {"include": [str(data.parent / "*.json")], "start_at": "beginning", "poll_interval": "50ms", "include_file_name": False}
            },
            "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
            "service": {
                "telemetry": telemetry(metrics_b),
                "pipelines": {s: {"receivers": ["otlp_json_file"], "exporters": ["otlp"]} for s in sent},
            },
        }
        b = Ferrotel(tmp_path, cfg_b, [metrics_b], name="reader")
        want = sum(len(v) for v in sent.values())
        sink.wait_for(lambda: len(sink.requests()) >= want, 20)
        assert b.stop() == 0, b.output()
        for signal, reqs in sent.items():
            got = [json_format.MessageToDict(r.request) for r in sink.requests(signal)]
            expected = [json_format.MessageToDict(r) for r in reqs]
            key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
            assert sorted(got, key=key) == sorted(expected, key=key), f"{signal} differ:\n{got}\n{expected}\n{b.output()}"
    finally:
        sink.stop()


def test_nop_receiver_and_exporter_pipelines_start_and_accept_data(tmp_path):
    http_port, metrics_port = free_port(), free_port()
    cfg = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_port}"}}}, "nop": None},
        "exporters": {"nop": None},
        "service": {
            "telemetry": telemetry(metrics_port),
            "pipelines": {
                "traces": {"receivers": ["otlp", "nop"], "exporters": ["nop"]},
                "metrics": {"receivers": ["nop"], "exporters": ["nop"]},
                "logs": {"receivers": ["otlp"], "exporters": ["nop"]},
            },
        },
    }
    fer = Ferrotel(tmp_path, cfg, [http_port, metrics_port])
    try:
        run_id = new_run_id()
        assert post(http_port, "traces", spans_request(run_id, 3)) == 200
        assert post(http_port, "logs", logs_request(run_id, 2)) == 200
        samples = scrape(metrics_port)
        assert metric_sum(samples, "otelcol_receiver_accepted_spans", receiver="otlp") == 3
        assert metric_sum(samples, "otelcol_receiver_accepted_log_records", receiver="otlp") == 2
        assert fer.alive()
    finally:
        assert fer.stop() == 0, fer.output()
