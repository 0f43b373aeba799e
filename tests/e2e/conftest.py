"""Shared fixtures: OTLP sinks, a ferrotel forwarding otlp -> batch -> {otlp, otlphttp,
otlphttp/json} to them, and the comparison of what came through ferrotel with what the SDK
sent straight to a reference sink."""

from __future__ import annotations

import os
import random
import time
import uuid

import pytest

import compare
from harness import BIN, Ferrotel, free_port, pipeline_config
from otlp_sink import Sink

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SIGNALS = ("traces", "metrics", "logs")


def pytest_configure(config):
    if not BIN.exists():
        raise pytest.UsageError(f"{BIN} is missing: run `cargo build -p ferrotel` first (scripts/test.sh does)")


@pytest.fixture(autouse=True)
def reap_ferrotels():
    """Kills every ferrotel a test started and left running (a test that failed before its
    own `stop()`), so that one failure cannot starve or break the tests after it."""
    before = len(Ferrotel.started)
    yield
    left = [f for f in Ferrotel.started[before:] if f.alive()]
    del Ferrotel.started[before:]
    for f in left:
        f.proc.kill()
        f.proc.wait()
        if not f._log.closed:
            f._log.close()
    if left:
        print(f"reaped {len(left)} ferrotel process(es) the test left running")


class Forwarding:
    """A running ferrotel whose exporters `otlp` (gRPC), `otlphttp` (protobuf) and
    `otlphttp/json` (JSON) forward to `out` / `out_json`, plus a reference sink `direct`."""

    def __init__(self, tmp):
        self.out = Sink()
        self.out_json = Sink()
        self.direct = Sink()
        self.grpc_port, self.http_port = free_port(), free_port()
        self.metrics_port, self.health_port = free_port(), free_port()
        exporters = {
            "otlp": {"endpoint": self.out.grpc_endpoint, "tls": {"insecure": True}},
            "otlphttp": {"endpoint": self.out.http_endpoint},
            "otlphttp/json": {"endpoint": self.out_json.http_endpoint, "encoding": "json"},
        }
        cfg = pipeline_config(self.grpc_port, self.http_port, exporters, metrics_port=self.metrics_port, health_port=self.health_port)
        self.ferrotel = Ferrotel(tmp, cfg, [self.grpc_port, self.http_port, self.health_port])

    # where each exporter's output lands: (sink, transport)
    def landing(self, exporter: str):
        return {"otlp": (self.out, "grpc"), "otlphttp": (self.out, "http"), "otlphttp/json": (self.out_json, "http")}[exporter]

    def close(self):
        self.ferrotel.stop()
        for s in (self.out, self.out_json, self.direct):
            s.stop()


@pytest.fixture(scope="session")
def forwarding(tmp_path_factory):
    f = Forwarding(tmp_path_factory.mktemp("forwarding"))
    yield f
    f.close()


def assert_forwarded_unchanged(fwd: Forwarding, run_id: str, signal: str, exporter: str, timeout: float = 20.0) -> None:
    """What `exporter` delivered for this run equals, field by field, what the SDK sent to
    the reference sink."""
    flatten = compare.FLATTEN[signal]
    filt = ("e2e.run", run_id)
    expected = flatten([r.request for r in fwd.direct.requests(signal)], filt)
    assert expected, f"the SDK sent no {signal} to the reference sink: the sender is broken"
    sink, transport = fwd.landing(exporter)

    def got():
        return flatten([r.request for r in sink.requests(signal, transport)], filt)

    def complete():
        try:
            return len(got()) >= len(expected)
        except compare.Duplicate:
            return True

    sink.wait_for(complete, timeout)
    try:
        arrived = got()
    except compare.Duplicate as e:
        raise AssertionError(f"{exporter}: {e}\n--- ferrotel output ---\n{fwd.ferrotel.output(3000)}") from None
    problems = compare.diff(expected, arrived)
    assert not problems, f"{signal} through ferrotel's {exporter} exporter differ from what the SDK sent:\n{problems}\n--- ferrotel output ---\n{fwd.ferrotel.output(3000)}"


# ---- raw OTLP requests for the resilience tests ----------------------------------------
def kv(key: str, value) -> common_pb2.KeyValue:
    v = common_pb2.AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    elif isinstance(value, float):
        v.double_value = value
    else:
        v.string_value = str(value)
    return common_pb2.KeyValue(key=key, value=v)


def spans_request(run_id: str, n: int, rng: random.Random | None = None) -> trace_service_pb2.ExportTraceServiceRequest:
    """n spans with random ids under one resource tagged with the run id."""
    rng = rng or random.Random()
    now = time.time_ns()
    spans = []
    trace_id = rng.randbytes(16)
    for i in range(n):
        spans.append(
            trace_pb2.Span(
                trace_id=trace_id,
                span_id=rng.randbytes(8),
                name=f"op-{i}",
                kind=trace_pb2.Span.SPAN_KIND_SERVER,
                start_time_unix_nano=now + i,
                end_time_unix_nano=now + i + 1000,
                attributes=[kv("i", i), kv("s", "x" * 20)],
            )
        )
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=resource_pb2.Resource(attributes=[kv("service.name", "e2e-raw"), kv("e2e.run", run_id)]),
                scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="raw"), spans=spans)],
            )
        ]
    )


def logs_request(run_id: str, n: int) -> logs_service_pb2.ExportLogsServiceRequest:
    now = time.time_ns()
    recs = [logs_pb2.LogRecord(time_unix_nano=now + i, body=common_pb2.AnyValue(string_value=f"line {i}"), severity_number=9) for i in range(n)]
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=[kv("e2e.run", run_id)]),
                scope_logs=[logs_pb2.ScopeLogs(log_records=recs)],
            )
        ]
    )


def span_ids(requests, run_id: str) -> list[bytes]:
    out = []
    for req in requests:
        for rs in req.resource_spans:
            if any(a.key == "e2e.run" and a.value.string_value == run_id for a in rs.resource.attributes):
                for ss in rs.scope_spans:
                    out.extend(s.span_id for s in ss.spans)
    return out


def new_run_id() -> str:
    return uuid.uuid4().hex


def node_available() -> bool:
    return (BIN.parent.exists()) and os.path.isdir(os.path.join(os.path.dirname(__file__), "node", "node_modules"))
