"""Spans from the official OpenTelemetry Python SDK go through ferrotel's sampling
processors to an OTLP sink.

`probabilistic_sampler` (hash_seed mode) must keep exactly the traces the Go processor keeps
for the same seed: the expectation is computed here from the algorithm (FNV-1a 32 over the
little-endian seed and the trace id, 14-bit bucket below `uint32(pct × 163.84)` in float32),
and the kept spans carry the `ot=rv:…;th:…` tracestate with Go's threshold.

`tail_sampling` must keep whole traces with an error or a slow span, drop the others (and the
ones a `drop` policy names), and let late spans follow the decision."""

from __future__ import annotations

import random
import struct
import time

import pytest

from harness import Ferrotel, free_port, metric_sum, pipeline_config, scrape
from otlp_sink import Sink

from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags


@pytest.fixture()
def sink():
    s = Sink()
    yield s
    s.stop()


class SeededIds(IdGenerator):
    """Reproducible trace and span ids."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def generate_span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self.rng.getrandbits(128) or 1


def start(tmp_path, sink: Sink, processors: dict) -> tuple[Ferrotel, int, int]:
    g, h, m = free_port(), free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}
    cfg = pipeline_config(g, h, exporters, processors=processors, signals=("traces",), metrics_port=m)
    return Ferrotel(tmp_path, cfg, [g, h]), g, m


def provider(port: int, seed: int) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create({"service.name": "e2e-sampling"}), id_generator=SeededIds(seed))
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True), max_export_batch_size=256))
    return tp


def received_spans(sink: Sink) -> list:
    return [s for rec in sink.requests("traces") for rs in rec.request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def go_hash_seed_keeps(seed: int, trace_id: bytes, pct: float) -> bool:
    bucket = fnv1a32(struct.pack("<I", seed) + trace_id) & 0x3FFF
    # float32 × float32 is exact in a float64, then rounded once to float32 as Go does.
    rate = int(f32(f32(pct) * f32(163.84)))
    return bucket < rate


def go_hash_seed_tvalue(pct: float) -> str:
    rate = int(f32(f32(pct) * f32(163.84)))
    reject56 = (16384 - rate) << 42
    return f"{reject56:014x}".rstrip("0") or "0"


def test_probabilistic_sampler_keeps_the_traces_go_keeps(tmp_path, sink):
    seed, pct = 22, 30.0
    fx, port, mport = start(tmp_path, sink, {"probabilistic_sampler": {"sampling_percentage": pct, "hash_seed": seed}})
    tp = provider(port, seed=7)
    try:
        tracer = tp.get_tracer("e2e.sampling")
        sent = []
        for i in range(300):
            with tracer.start_as_current_span(f"op-{i}") as span:
                sent.append(span.get_span_context().trace_id.to_bytes(16, "big"))
        assert tp.force_flush(20_000)
        expected = {t for t in sent if go_hash_seed_keeps(seed, t, pct)}
        assert 40 < len(expected) < 150, len(expected)
        assert sink.wait_for(lambda: len(received_spans(sink)) >= len(expected), timeout=20), f"{len(received_spans(sink))} of {len(expected)}\n{fx.output(3000)}"
        time.sleep(0.5)
        spans = received_spans(sink)
        assert {s.trace_id for s in spans} == expected
        assert len(spans) == len(expected)
        tv = go_hash_seed_tvalue(pct)
        assert tv == "b334"
        for s in spans:
            assert s.trace_state.startswith("ot=rv:"), s.trace_state
            assert s.trace_state.endswith(f";th:{tv}"), s.trace_state
        samples = scrape(mport)
        name = "otelcol_processor_probabilistic_sampler_count_traces_sampled"
        assert metric_sum(samples, name, policy="trace_id_hash", sampled="true") == len(expected)
        assert metric_sum(samples, name, policy="trace_id_hash", sampled="false") == len(sent) - len(expected)
    finally:
        tp.shutdown()
        fx.stop()


def test_tail_sampling_keeps_errors_and_slow_traces_whole(tmp_path, sink):
    processors = {
        "tail_sampling": {
            "decision_wait": "1s",
            "num_traces": 1000,
            "policies": [
                {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                {"name": "slow", "type": "latency", "latency": {"threshold_ms": 300}},
                {
                    "name": "no-health",
                    "type": "drop",
                    "drop": {"drop_sub_policy": [{"name": "health", "type": "string_attribute", "string_attribute": {"key": "url.path", "values": ["/health"]}}]},
                },
            ],
        }
    }
    fx, port, mport = start(tmp_path, sink, processors)
    tp = provider(port, seed=11)
    try:
        tracer = tp.get_tracer("e2e.sampling")
        t0 = time.time_ns()
        ids = {}

        def trace(name: str, *, error=False, duration_ms=10, attrs=None):
            with tracer.start_as_current_span(name, start_time=t0, attributes=attrs or {}) as root:
                ids[name] = root.get_span_context().trace_id
                child = tracer.start_span(f"{name}.child", start_time=t0 + 1_000_000)
                if error:
                    child.set_status(Status(StatusCode.ERROR, "boom"))
                child.end(end_time=t0 + duration_ms * 1_000_000)
                root.end(end_time=t0 + duration_ms * 1_000_000)

        trace("failing", error=True)
        trace("slow", duration_ms=500)
        trace("fast")
        trace("health", error=True, attrs={"url.path": "/health"})
        assert tp.force_flush(20_000)
        assert sink.wait_for(lambda: len(received_spans(sink)) >= 4, timeout=20), fx.output(3000)
        time.sleep(1.5)
        kept = {}
        for s in received_spans(sink):
            kept.setdefault(s.trace_id, []).append(s.name)
        want = {ids["failing"].to_bytes(16, "big"), ids["slow"].to_bytes(16, "big")}
        assert set(kept) == want, {k.hex(): v for k, v in kept.items()}
        assert all(len(v) == 2 for v in kept.values()), kept

        # Late spans follow the decision: the failing trace's go on, the fast one's do not.
        for name in ("failing", "fast"):
            parent = SpanContext(trace_id=ids[name], span_id=0x1234, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
            late = tracer.start_span(f"{name}.late", context=otel_trace.set_span_in_context(NonRecordingSpan(parent)))
            late.end()
        assert tp.force_flush(20_000)
        assert sink.wait_for(lambda: any(s.name == "failing.late" for s in received_spans(sink)), timeout=10), fx.output(3000)
        time.sleep(2.5)
        names = {s.name for s in received_spans(sink)}
        assert "fast.late" not in names

        samples = scrape(mport)
        glob = "otelcol_processor_tail_sampling_global_count_traces_sampled"
        assert metric_sum(samples, glob, sampled="true") == 2
        assert metric_sum(samples, glob, decision="dropped") == 1
        assert metric_sum(samples, glob, decision="not_sampled") == 1
        assert metric_sum(samples, "otelcol_processor_tail_sampling_count_traces_sampled", policy="errors", sampled="true") == 2
        assert metric_sum(samples, "otelcol_processor_tail_sampling_new_trace_id_received") == 4
        assert metric_sum(samples, "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early") == 0
    finally:
        tp.shutdown()
        fx.stop()
