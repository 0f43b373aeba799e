"""Sends traces, logs and metrics with the official OpenTelemetry Python SDK, TWICE from
the same providers: through ferrotel (``--via``) and straight to the test's reference sink
(``--direct``). Both paths use the same OTLP exporter class (gRPC or HTTP/protobuf), so
whatever the SDK produced arrives at the reference sink untouched and the test can compare
it, field by field, with what came out of ferrotel.

Run by tests/e2e/test_sdk_python.py; prints a JSON summary on stdout, exits 1 if any export
did not succeed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, ObservableCounter, ObservableGauge, ObservableUpDownCounter, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.metrics import Observation
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

FAILURES: list[str] = []
_fail_lock = threading.Lock()


def _failed(what: str) -> None:
    with _fail_lock:
        FAILURES.append(what)


class CheckedSpans(SpanExporter):
    def __init__(self, name, inner):
        self.name, self.inner = name, inner

    def export(self, spans):
        r = self.inner.export(spans)
        if r != SpanExportResult.SUCCESS:
            _failed(f"{self.name}: traces export returned {r}")
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


class CheckedLogs(LogRecordExporter):
    def __init__(self, name, inner):
        self.name, self.inner = name, inner

    def export(self, batch):
        r = self.inner.export(batch)
        if r != LogRecordExportResult.SUCCESS:
            _failed(f"{self.name}: logs export returned {r}")
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


class TeeMetrics(MetricExporter):
    """One reader's collection, handed to two OTLP exporters: the points are identical."""

    def __init__(self, temporality, exporters):
        super().__init__(preferred_temporality=temporality)
        self.exporters = exporters

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        ok = MetricExportResult.SUCCESS
        for name, e in self.exporters:
            r = e.export(metrics_data, timeout_millis=timeout_millis)
            if r != MetricExportResult.SUCCESS:
                _failed(f"{name}: metrics export returned {r}")
                ok = r
        return ok

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **kwargs):
        for _, e in self.exporters:
            e.shutdown()


CUMULATIVE = {
    Counter: AggregationTemporality.CUMULATIVE,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    Histogram: AggregationTemporality.CUMULATIVE,
    ObservableCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}
DELTA = {
    Counter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


def exporters(protocol: str, endpoint: str, compression: str):
    """(span, log, metric-factory) OTLP exporters of the SDK for one destination."""
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        comp = {"gzip": Compression.Gzip, "none": Compression.NoCompression}[compression]
        return (
            OTLPSpanExporter(endpoint=endpoint, insecure=True, compression=comp, timeout=10),
            OTLPLogExporter(endpoint=endpoint, insecure=True, compression=comp, timeout=10),
            lambda: OTLPMetricExporter(endpoint=endpoint, insecure=True, compression=comp, timeout=10),
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    comp = {"gzip": Compression.Gzip, "deflate": Compression.Deflate, "none": Compression.NoCompression}[compression]
    return (
        OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", compression=comp, timeout=10),
        OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", compression=comp, timeout=10),
        lambda: OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", compression=comp, timeout=10),
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["grpc", "http"], required=True)
    ap.add_argument("--via", required=True, help="ferrotel's OTLP endpoint (grpc: host:port, http: base URL)")
    ap.add_argument("--direct", required=True, help="the reference sink's endpoint, same form")
    ap.add_argument("--compression", default="none")
    ap.add_argument("--run-id", required=True)
    args = ap.parse_args()

    resource = Resource.create(
        {
            "service.name": "e2e-python",
            "service.version": "1.2.3",
            "e2e.run": args.run_id,
            "e2e.int": 42,
            "e2e.double": 3.25,
            "e2e.bool": True,
            "e2e.strings": ["a", "b", "ü"],
            "e2e.ints": [1, -2, 9007199254740993],
        },
        schema_url="https://opentelemetry.io/schemas/1.26.0",
    )
    via_s, via_l, via_m = exporters(args.protocol, args.via, args.compression)
    dir_s, dir_l, dir_m = exporters(args.protocol, args.direct, "none")

    tp = TracerProvider(resource=resource)
    tp.add_span_processor(BatchSpanProcessor(CheckedSpans("via", via_s), schedule_delay_millis=200))
    tp.add_span_processor(BatchSpanProcessor(CheckedSpans("direct", dir_s), schedule_delay_millis=200))

    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(CheckedLogs("via", via_l), schedule_delay_millis=200))
    lp.add_log_record_processor(BatchLogRecordProcessor(CheckedLogs("direct", dir_l), schedule_delay_millis=200))

    big = 10**9  # ms: collections only happen on force_flush/shutdown
    readers = [
        PeriodicExportingMetricReader(TeeMetrics(CUMULATIVE, [("via", via_m()), ("direct", dir_m())]), export_interval_millis=big),
        PeriodicExportingMetricReader(TeeMetrics(DELTA, [("via", via_m()), ("direct", dir_m())]), export_interval_millis=big),
    ]
    views = [
        View(instrument_name="e2e.latency", aggregation=ExplicitBucketHistogramAggregation(boundaries=[0.0, 5.0, 10.0, 25.0, 100.0], record_min_max=True)),
        View(instrument_name="e2e.payload.size", aggregation=ExponentialBucketHistogramAggregation(max_size=40)),
    ]
    mp = MeterProvider(resource=resource, metric_readers=readers, views=views)

    tracer = tp.get_tracer("e2e.tracer", "0.1.0", schema_url="https://opentelemetry.io/schemas/1.21.0", attributes={"scope.attr": "t", "scope.n": 7})
    meter = mp.get_meter("e2e.meter", "0.2.0", schema_url="https://opentelemetry.io/schemas/1.24.0", attributes={"scope.attr": "m"})
    otel_logger = lp.get_logger("e2e.structured", "0.3.0", attributes={"scope.attr": "l"})

    pylog = logging.getLogger("e2e.app")
    pylog.setLevel(logging.DEBUG)
    pylog.propagate = False
    pylog.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=lp))

    requests = meter.create_counter("e2e.requests", unit="{request}", description="requests served")
    byte_counter = meter.create_counter("e2e.bytes", unit="By", description="bytes, as a float counter")
    depth = meter.create_up_down_counter("e2e.queue.depth", unit="{item}", description="queue depth")
    latency = meter.create_histogram("e2e.latency", unit="ms", description="latency")
    size = meter.create_histogram("e2e.payload.size", unit="By", description="exponential histogram")
    meter.create_observable_gauge("e2e.temperature", callbacks=[lambda _opts: [Observation(21.5, {"room": "a"}), Observation(-3, {"room": "b"})]], unit="Cel")

    # A remote parent with a trace state and the sampled flag: the root span inherits both,
    # and its OTLP flags carry the "parent is remote" bits.
    remote = SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1"), ("ot", "th:0")]),
    )
    parent_ctx = trace.set_span_in_context(NonRecordingSpan(remote))

    with tracer.start_as_current_span("e2e.root", context=parent_ctx, kind=SpanKind.SERVER, attributes={"http.route": "/checkout", "http.status_code": 200, "ratio": 0.5, "ok": True, "tags": ["x", "y"], "nums": [1.5, 2.5], "flags": [True, False]}) as root:
        root.add_event("started", {"step": 1, "big": 2**62})
        pylog.debug("debug line %d", 1)
        pylog.info("checkout started for %s", "alice", extra={"user.id": 7, "cart.total": 19.99})
        with tracer.start_as_current_span("e2e.db", kind=SpanKind.CLIENT, attributes={"db.system": "postgresql"}) as db:
            requests.add(1, {"route": "/checkout", "ok": True})
            latency.record(12.5, {"route": "/checkout"})
            db.add_event("query", {"db.statement": "SELECT 1"}, timestamp=1_700_000_000_123_456_789)
            pylog.warning("slow query: %.1f ms", 12.5)
        with tracer.start_as_current_span("e2e.publish", kind=SpanKind.PRODUCER) as pub:
            pub_ctx = pub.get_span_context()
            byte_counter.add(1.5, {"dir": "out"})
            size.record(1024, {"topic": "orders"})
        with tracer.start_as_current_span("e2e.consume", kind=SpanKind.CONSUMER, links=[Link(pub_ctx, {"link.kind": "follows", "n": 1}), Link(remote, {"remote": True})]):
            depth.add(5, {"queue": "q1"})
            otel_logger.emit(
                body={"msg": "structured", "nested": {"k": [1, "two", 3.0, False]}, "raw": b"\x00\x01\xff"},
                severity_number=SeverityNumber.INFO3,
                severity_text="INFO3",
                attributes={"bytes.attr": b"\x10\x20", "empty.list": [], "i": -1},
                event_name="e2e.order.placed",
            )
        with tracer.start_as_current_span("e2e.fail", kind=SpanKind.INTERNAL) as fail:
            try:
                raise ValueError("boom: card declined")
            except ValueError as e:
                fail.record_exception(e, {"retry": False})
                fail.set_status(Status(StatusCode.ERROR, "card declined"))
                pylog.error("payment failed", exc_info=True)
        root.set_status(Status(StatusCode.OK))
        for v in (0.0, 3.0, 5.0, 7.0, 10.0, 99.0, 150.0):
            latency.record(v, {"route": "/checkout"})
        pylog.critical("critical: %s", "disk full")

    # Explicit nanosecond timestamps (not from the clock) must arrive to the nanosecond.
    odd = tracer.start_span("e2e.explicit-times", kind=SpanKind.INTERNAL, start_time=1_700_000_000_000_000_001)
    odd.add_event("mid", timestamp=1_700_000_000_500_000_003)
    odd.end(end_time=1_700_000_001_999_999_999)

    # Over the SDK's default limits (128 attributes / events / links): dropped counts travel too.
    many = tracer.start_span("e2e.limited", attributes={f"a{i}": i for i in range(131)}, links=[Link(remote, {"i": i}) for i in range(130)])
    for i in range(129):
        many.add_event(f"ev{i}")
    many.end()
    otel_logger.emit(body="many attributes", severity_number=SeverityNumber.DEBUG2, attributes={f"k{i}": str(i) for i in range(130)})

    mp.force_flush()  # first collection: cumulative and delta look alike
    for v in (1, 2, 3):
        requests.add(v, {"route": "/other"})
        depth.add(-1, {"queue": "q1"})
        latency.record(v * 30.0, {"route": "/other"})
        size.record(v * 7, {"topic": "orders"})
    pylog.info("no span here")  # a log record without trace context

    mp.force_flush()  # second collection: cumulative keeps start times, delta moves them
    tp.force_flush()
    lp.force_flush()
    mp.shutdown()
    tp.shutdown()
    lp.shutdown()
    time.sleep(0.1)
    print(json.dumps({"failures": FAILURES}))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
