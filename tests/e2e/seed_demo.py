"""The seeds' demo apps — a `shopper` that visits a `grocery-store`, which asks `inventory` for
stock — emulated in-process with the official OpenTelemetry Python SDK and sent over OTLP/gRPC.

Each service has its own TracerProvider, LoggerProvider and MeterProvider with its own
Resource (service.name), as three separate processes would. The trace context crosses the
"network" as a W3C `traceparent` header (inject on the client side, extract on the server
side), log records are emitted while a span is active (so the SDK puts its trace_id/span_id on
them), and the grocery-store records its request-duration histogram and a counter inside its
SERVER span (so the SDK's default `trace_based` exemplar filter attaches exemplars).

Spans and logs carry explicit timestamps (durations are therefore exact); a copy of every span
and log record the SDK exported is kept from in-memory exporters on the same providers, so the
tests derive their expectations from what the SDK really produced.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SHOPPER, STORE, INVENTORY = "shopper", "grocery-store", "inventory"
SERVICES = (SHOPPER, STORE, INVENTORY)
VISITS = 3
# the visit whose inventory lookup fails (its inventory SERVER span has status ERROR)
ERROR_VISIT = 1
ITEMS = ("apples", "bread", "milk")

# span offsets from the visit's start, in ms: (start, end)
SHOPPER_SPAN = (0, 150)
STORE_SPAN = (10, 140)
STORE_CLIENT_SPAN = (20, 80)
INVENTORY_SPAN = (25, 75)
SLOWER_MS = 25  # visit i's shopper and grocery-store spans end i * SLOWER_MS later

# histogram name/unit as an HTTP server would record it (semconv), and a plain counter
DURATION_METRIC = "http.server.request.duration"
DURATION_UNIT = "s"
# the semconv's advisory boundaries for http.server.request.duration
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
COUNTER_METRIC = "grocery.items.sold"
COUNTER_UNIT = "{item}"

PROPAGATOR = TraceContextTextMapPropagator()


class _Checked:
    """Records every export that did not succeed (a test must not pass on lost data)."""

    failures: list[str]

    def __init__(self, name, inner, ok):
        self.name, self.inner, self.ok = name, inner, ok
        self.failures = []

    def export(self, batch, *a, **kw):
        r = self.inner.export(batch, *a, **kw)
        if r != self.ok:
            self.failures.append(f"{self.name}: export returned {r}")
        return r

    def shutdown(self, *a, **kw):
        return self.inner.shutdown(*a, **kw)

    def force_flush(self, timeout_millis: float = 30000, *a, **kw):
        return self.inner.force_flush(timeout_millis) if hasattr(self.inner, "force_flush") else True


class _CheckedSpans(_Checked, SpanExporter):
    pass


class _CheckedLogs(_Checked, LogRecordExporter):
    pass


class _CheckedMetrics(_Checked, MetricExporter):
    def __init__(self, name, inner, ok):
        MetricExporter.__init__(
            self,
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        _Checked.__init__(self, name, inner, ok)


@dataclass
class App:
    service: str
    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    meter_provider: MeterProvider
    exporters: list = field(default_factory=list)

    @property
    def tracer(self):
        return self.tracer_provider.get_tracer(f"{self.service}.app", "1.0.0")

    @property
    def logger(self):
        return self.logger_provider.get_logger(f"{self.service}.app", "1.0.0")

    @property
    def meter(self):
        return self.meter_provider.get_meter(f"{self.service}.app", "1.0.0")

    def log(self, ts_ns: int, severity: SeverityNumber, body: str, **attrs) -> None:
        """A log record emitted in the active context (the SDK copies its span context)."""
        self.logger.emit(
            timestamp=ts_ns,
            severity_number=severity,
            severity_text=severity.name,
            body=body,
            attributes=attrs or None,
        )

    def shutdown(self) -> list[str]:
        self.meter_provider.shutdown()
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        return [f for e in self.exporters for f in e.failures]


@dataclass
class Sent:
    """What the SDK exported, read back from the in-memory exporters."""

    spans: list = field(default_factory=list)  # opentelemetry.sdk.trace.ReadableSpan
    logs: list = field(default_factory=list)  # opentelemetry.sdk._logs.ReadableLogRecord
    durations: list[float] = field(default_factory=list)  # histogram recordings (s)
    items_sold: int = 0  # counter total
    traces: list[str] = field(default_factory=list)  # hex trace ids, one per visit
    error_trace: str = ""
    window_ns: tuple[int, int] = (0, 0)
    failures: list[str] = field(default_factory=list)

    # ---- views used by the tests ----
    def spans_of(self, trace_id: str) -> list:
        return [s for s in self.spans if f"{s.context.trace_id:032x}" == trace_id]

    def logs_of(self, service: str) -> list:
        return [r for r in self.logs if r.resource.attributes["service.name"] == service]


def _app(service: str, endpoint: str, memory_spans: InMemorySpanExporter, memory_logs: InMemoryLogRecordExporter) -> App:
    resource = Resource.create({"service.name": service, "service.version": "1.0.0", "deployment.environment": "e2e"})
    spans = _CheckedSpans(f"{service} traces", OTLPSpanExporter(endpoint=endpoint, insecure=True), SpanExportResult.SUCCESS)
    logs = _CheckedLogs(f"{service} logs", OTLPLogExporter(endpoint=endpoint, insecure=True), LogRecordExportResult.SUCCESS)
    metrics = _CheckedMetrics(f"{service} metrics", OTLPMetricExporter(endpoint=endpoint, insecure=True), MetricExportResult.SUCCESS)
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(SimpleSpanProcessor(spans))
    tp.add_span_processor(SimpleSpanProcessor(memory_spans))
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
    lp.add_log_record_processor(SimpleLogRecordProcessor(memory_logs))
    # collected once, at shutdown: one cumulative point per series
    reader = PeriodicExportingMetricReader(metrics, export_interval_millis=3_600_000)
    mp = MeterProvider(resource=resource, metric_readers=[reader])
    return App(service, tp, lp, mp, [spans, logs, metrics])


def _ms(base: int, offset_ms: int) -> int:
    return base + offset_ms * 1_000_000


def send(grpc_endpoint: str) -> Sent:
    """Runs VISITS shopper visits against the grocery-store (and its inventory) and sends all
    telemetry to `grpc_endpoint` (host:port of an OTLP/gRPC receiver)."""
    memory_spans, memory_logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    shopper, store, inventory = (_app(s, grpc_endpoint, memory_spans, memory_logs) for s in SERVICES)
    duration = store.meter.create_histogram(DURATION_METRIC, unit=DURATION_UNIT, description="Duration of HTTP server requests.", explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
    sold = store.meter.create_counter(COUNTER_METRIC, unit=COUNTER_UNIT, description="Items sold by the grocery store.")
    sent = Sent()
    now = time.time_ns()
    # visits one second apart, the last one ending a few seconds ago: every query window that
    # ends "now" covers all of them
    first = now - (VISITS + 5) * 1_000_000_000
    sent.window_ns = (first, _ms(first + (VISITS - 1) * 1_000_000_000, SHOPPER_SPAN[1] + (VISITS - 1) * SLOWER_MS))

    for visit in range(VISITS):
        t0 = first + visit * 1_000_000_000
        item = ITEMS[visit % len(ITEMS)]
        fails = visit == ERROR_VISIT
        slow = visit * SLOWER_MS  # later visits take longer (distinct durations)

        # shopper: CLIENT span, the request to the grocery store
        span = shopper.tracer.start_span(
            "GET /products",
            kind=SpanKind.CLIENT,
            start_time=_ms(t0, SHOPPER_SPAN[0]),
            attributes={"http.request.method": "GET", "url.full": "http://grocery-store/products", "visit": visit},
        )
        with trace.use_span(span, end_on_exit=False):
            shopper.log(_ms(t0, 1), SeverityNumber.INFO, f"shopper visit {visit}: looking for {item}", visit=visit)
            headers: dict[str, str] = {}
            PROPAGATOR.inject(headers)

        # grocery-store: SERVER span under the shopper's context (from the traceparent header)
        token = otel_context.attach(PROPAGATOR.extract(headers))
        try:
            srv = store.tracer.start_span(
                "GET /products",
                kind=SpanKind.SERVER,
                start_time=_ms(t0, STORE_SPAN[0]),
                attributes={"http.request.method": "GET", "http.route": "/products", "item": item},
            )
        finally:
            otel_context.detach(token)
        with trace.use_span(srv, end_on_exit=False):
            store.log(
                _ms(t0, 11),
                SeverityNumber.INFO,
                json.dumps({"msg": "listing products", "item": item, "visit": visit}),
            )
            cli = store.tracer.start_span(
                "GET /inventory",
                kind=SpanKind.CLIENT,
                start_time=_ms(t0, STORE_CLIENT_SPAN[0]),
                attributes={"http.request.method": "GET", "url.full": f"http://inventory/stock/{item}"},
            )
            with trace.use_span(cli, end_on_exit=False):
                inv_headers: dict[str, str] = {}
                PROPAGATOR.inject(inv_headers)

            # inventory: SERVER span under the store's CLIENT span
            token = otel_context.attach(PROPAGATOR.extract(inv_headers))
            try:
                inv = inventory.tracer.start_span(
                    "GET /stock",
                    kind=SpanKind.SERVER,
                    start_time=_ms(t0, INVENTORY_SPAN[0]),
                    attributes={"http.request.method": "GET", "http.route": "/stock/{item}", "item": item},
                )
            finally:
                otel_context.detach(token)
            with trace.use_span(inv, end_on_exit=False):
                inventory.log(_ms(t0, 30), SeverityNumber.INFO, f"stock lookup for {item}", item=item)
                # a span event (Jaeger shows it as a span log, OTLP keeps it as an event)
                inv.add_event("stock checked", {"item": item, "in_stock": not fails, "quantity": 0 if fails else 10 * (visit + 1)}, timestamp=_ms(t0, 60))
                if fails:
                    inv.set_attribute("http.response.status_code", 503)
                    inv.set_status(Status(StatusCode.ERROR, f"out of stock: {item}"))
                    inventory.log(_ms(t0, 70), SeverityNumber.ERROR, f"out of stock: {item}", item=item)
                else:
                    inv.set_attribute("http.response.status_code", 200)
            inv.end(end_time=_ms(t0, INVENTORY_SPAN[1]))
            cli.set_attribute("http.response.status_code", 503 if fails else 200)
            cli.end(end_time=_ms(t0, STORE_CLIENT_SPAN[1]))

            status = 503 if fails else 200
            seconds = (STORE_SPAN[1] + slow - STORE_SPAN[0]) / 1000
            duration.record(seconds, {"http.route": "/products", "http.response.status_code": status})
            sent.durations.append(seconds)
            if not fails:
                sold.add(visit + 1, {"item": item})
                sent.items_sold += visit + 1
            srv.set_attribute("http.response.status_code", status)
        srv.end(end_time=_ms(t0, STORE_SPAN[1] + slow))

        with trace.use_span(span, end_on_exit=False):
            shopper.log(_ms(t0, SHOPPER_SPAN[1] + slow - 1), SeverityNumber.WARN if fails else SeverityNumber.INFO, f"shopper visit {visit}: done", visit=visit)
        span.end(end_time=_ms(t0, SHOPPER_SPAN[1] + slow))

        tid = f"{span.get_span_context().trace_id:032x}"
        sent.traces.append(tid)
        if fails:
            sent.error_trace = tid

    for app in (shopper, store, inventory):
        sent.failures += app.shutdown()
    sent.spans = list(memory_spans.get_finished_spans())
    sent.logs = list(memory_logs.get_finished_logs())  # ReadableLogRecord: .log_record, .resource
    return sent
