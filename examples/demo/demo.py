#!/usr/bin/env python3
"""The seeds' demo: a `shopper` checks out at a `grocery-store`, which asks `inventory` for the
stock of each item in the cart. Three real processes on 127.0.0.1 talking HTTP, instrumented
with the official OpenTelemetry Python SDK, exporting traces, logs and metrics over OTLP/HTTP
to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318: a `ferrotel` started without a
config).

    python demo.py                     one visit a second until Ctrl-C
    python demo.py --visits 20         20 visits, then exit 0 once everything is exported
    python demo.py --interval 0.2      visits five times a second
    python demo.py --port-base 18080   the services listen on 18080-18082 (default: free ports)

What it shows:
- traces: the shopper's root span `checkout` -> CLIENT `GET` -> grocery-store SERVER
  `GET /checkout` -> a CLIENT `GET` per item -> inventory SERVER `GET /stock/{item}` -> an
  INTERNAL `SELECT stock` span. W3C trace context crosses every HTTP call (the SDK's
  propagator: `opentelemetry.propagate.inject/extract`).
- errors: carts with truffles fail: inventory's warehouse lookup for them times out (an ERROR
  span, an exception event and an ERROR log line), the grocery-store answers 503.
- logs: Python `logging` through the SDK's LoggingHandler, so each record carries the trace
  and span id of the span it was written in.
- metrics: `http.server.request.duration` (histogram, seconds, recorded inside the SERVER span
  so the SDK attaches exemplars that link to the trace), `grocery.checkouts` (counter, by
  result) and `inventory.stock.lookups` (counter, by item), exported every 2 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

SHOPPER, STORE, INVENTORY = "shopper", "grocery-store", "inventory"
ITEMS = ("apples", "bread", "milk", "cheese", "coffee", "eggs", "rice", "tomatoes")
# The item whose warehouse lookup always times out: every cart holding it fails.
FAILING_ITEM = "truffles"
# http.server.request.duration: the semantic conventions' advisory boundaries (seconds)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
SCOPE = "ferrotel.demo"


# ---------------------------------------------------------------------------- telemetry setup


class _Failures:
    """Counts exports that did not succeed, so `--visits N` can exit non-zero when the
    telemetry did not arrive (a wrong endpoint, a collector that is not running)."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def wrap(self, exporter, ok):
        inner_export = exporter.export

        def export(batch, *a, **kw):
            r = inner_export(batch, *a, **kw)
            if r != ok:
                with self.lock:
                    self.count += 1
            return r

        exporter.export = export
        return exporter


class Telemetry:
    """One service's SDK: traces, logs (Python logging through the SDK) and metrics, all over
    OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT."""

    def __init__(self, service: str):
        self.failures = _Failures()
        resource = Resource.create(
            {
                "service.name": service,
                "service.version": "1.0.0",
                "service.namespace": "grocery",
                "service.instance.id": f"{service}-{os.getpid()}",
                "deployment.environment.name": "demo",
            }
        )
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(
                self.failures.wrap(OTLPSpanExporter(), SpanExportResult.SUCCESS),
                schedule_delay_millis=500,
            )
        )
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                self.failures.wrap(OTLPLogExporter(), LogRecordExportResult.SUCCESS),
                schedule_delay_millis=500,
            )
        )
        reader = PeriodicExportingMetricReader(
            self.failures.wrap(OTLPMetricExporter(), MetricExportResult.SUCCESS),
            export_interval_millis=2000,
        )
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        self.tracer = self.tracer_provider.get_tracer(SCOPE, "1.0.0")
        self.meter = self.meter_provider.get_meter(SCOPE, "1.0.0")
        # Python logging -> the SDK: records written inside a span carry its trace and span id.
        self.log = logging.getLogger(service)
        self.log.setLevel(logging.INFO)
        self.log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=self.logger_provider))
        self.log.propagate = False

    def shutdown(self) -> int:
        """Exports what is left; returns the number of exports that failed."""
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown()
        return self.failures.count


# ---------------------------------------------------------------------------- HTTP plumbing


def http_get(tel: Telemetry, url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """A GET inside a CLIENT span, with the trace context injected as W3C headers."""
    u = urlparse(url)
    with tel.tracer.start_as_current_span("GET", kind=SpanKind.CLIENT) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("url.full", url)
        span.set_attribute("server.address", u.hostname or "")
        span.set_attribute("server.port", u.port or 80)
        headers: dict[str, str] = {}
        propagate.inject(headers)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
        return status, body


class Server:
    """An HTTP service whose handler runs inside a SERVER span continuing the caller's trace,
    and records http.server.request.duration inside that span (so exemplars attach)."""

    def __init__(self, tel: Telemetry, port: int, routes):
        self.tel = tel
        self.routes = routes  # [(prefix, route template, fn(span, path, query) -> (status, dict))]
        self.duration = tel.meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.handle(self)

            def log_message(self, *a):  # the SDK logs; no access log on stderr
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        start = time.perf_counter()
        u = urlparse(req.path)
        prefix, route, fn = next(((p, r, f) for p, r, f in self.routes if u.path.startswith(p)), (None, None, None))
        # header names arrive as the client wrote them (urllib capitalizes): W3C's are lower case
        ctx = propagate.extract({k.lower(): v for k, v in req.headers.items()})
        name = f"GET {route}" if route else "GET"
        with self.tel.tracer.start_as_current_span(name, context=ctx, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", "GET")
            span.set_attribute("url.path", u.path)
            span.set_attribute("url.scheme", "http")
            span.set_attribute("server.port", self.httpd.server_address[1])
            if route:
                span.set_attribute("http.route", route)
            if fn is None:
                status, payload = 404, {"error": "not found"}
            else:
                try:
                    status, payload = fn(span, u.path[len(prefix) :], parse_qs(u.query))
                except Exception as e:  # a bug in the demo: still answer, and show it
                    span.record_exception(e)
                    self.tel.log.exception("request failed")
                    status, payload = 500, {"error": str(e)}
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR, payload.get("error", "")))
            body = json.dumps(payload).encode()
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
            attrs = {"http.request.method": "GET", "http.response.status_code": status, "url.scheme": "http"}
            if route:
                attrs["http.route"] = route
            if status >= 500:
                attrs["error.type"] = str(status)
            # inside the span: the SDK's trace_based exemplar filter keeps its trace id
            self.duration.record(time.perf_counter() - start, attrs)

    def serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)


# ---------------------------------------------------------------------------- the services


def inventory(tel: Telemetry, port: int) -> Server:
    lookups = tel.meter.create_counter("inventory.stock.lookups", unit="{lookup}", description="Stock lookups by item.")
    rng = random.Random(7)

    def stock(span, item: str, _query):
        span.set_attribute("grocery.item", item)
        lookups.add(1, {"grocery.item": item})
        with tel.tracer.start_as_current_span("SELECT stock", kind=SpanKind.CLIENT) as db:
            db.set_attribute("db.system.name", "sqlite")
            # the older names, which service graphs read for the database's node
            db.set_attribute("db.system", "sqlite")
            db.set_attribute("db.name", "warehouse")
            db.set_attribute("db.query.text", "SELECT count FROM stock WHERE item = ?")
            db.set_attribute("db.collection.name", "stock")
            time.sleep(rng.uniform(0.004, 0.03))
            if item == FAILING_ITEM:
                time.sleep(0.12)
                err = TimeoutError(f"warehouse lookup for {item} timed out after 120 ms")
                db.record_exception(err)
                db.set_status(Status(StatusCode.ERROR, str(err)))
                tel.log.error("stock lookup for %s failed: %s", item, err)
                return 500, {"error": str(err)}
        count = rng.randint(0, 40)
        tel.log.info("stock for %s: %d", item, count)
        return 200, {"item": item, "count": count}

    return Server(tel, port, [("/stock/", "/stock/{item}", stock)])


def grocery_store(tel: Telemetry, port: int, inventory_url: str) -> Server:
    checkouts = tel.meter.create_counter("grocery.checkouts", unit="{checkout}", description="Checkouts by result.")
    sold = tel.meter.create_counter("grocery.items.sold", unit="{item}", description="Items sold.")

    def checkout(span, _rest, query):
        items = [i for i in query.get("items", [""])[0].split(",") if i]
        span.set_attribute("grocery.cart.size", len(items))
        tel.log.info("checkout of %d items: %s", len(items), ", ".join(items))
        missing = []
        for item in items:
            status, _ = http_get(tel, f"{inventory_url}/stock/{item}")
            if status != 200:
                missing.append(item)
        if missing:
            checkouts.add(1, {"result": "failed"})
            tel.log.warning("checkout failed: inventory could not confirm %s", ", ".join(missing))
            return 503, {"error": f"inventory unavailable for {', '.join(missing)}"}
        checkouts.add(1, {"result": "ok"})
        sold.add(len(items))
        tel.log.info("checkout complete, %d items sold", len(items))
        return 200, {"sold": items}

    return Server(tel, port, [("/checkout", "/checkout", checkout)])


def cart(visit: int) -> list[str]:
    """The items of visit `visit` (0-based): two to four, truffles in every fourth cart from
    the second on (so any run of two or more visits has a failed checkout)."""
    rng = random.Random(visit)
    items = rng.sample(ITEMS, rng.randint(2, 4))
    if visit % 4 == 1:
        items[-1] = FAILING_ITEM
    return items


def shop(tel: Telemetry, store_url: str, visit: int) -> bool:
    items = cart(visit)
    with tel.tracer.start_as_current_span("checkout", kind=SpanKind.INTERNAL) as span:
        span.set_attribute("shopper.visit", visit)
        span.set_attribute("grocery.cart.size", len(items))
        tel.log.info("visit %d: checking out %s", visit, ", ".join(items))
        status, body = http_get(tel, f"{store_url}/checkout?items={','.join(items)}")
        if status != 200:
            span.set_status(Status(StatusCode.ERROR, f"checkout answered {status}"))
            tel.log.error("visit %d: checkout failed with %d: %s", visit, status, body.decode(errors="replace"))
            return False
        tel.log.info("visit %d: bought %s", visit, ", ".join(items))
        return True


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: a service exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"demo: nothing listens on 127.0.0.1:{port} after {timeout}s")


def run_service(role: str, port: int, inventory_url: str) -> int:
    """A child process: serves until SIGTERM/SIGINT, then exports what is left."""
    tel = Telemetry(role)
    server = inventory(tel, port) if role == INVENTORY else grocery_store(tel, port, inventory_url)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    t = threading.Thread(target=server.serve, daemon=True)
    t.start()
    stop.wait()
    server.httpd.shutdown()
    failed = tel.shutdown()
    if failed:
        print(f"demo: {role}: {failed} exports failed", file=sys.stderr)
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visits", type=int, default=0, help="visits to make, then exit (default: until Ctrl-C)")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between visits (default 1)")
    ap.add_argument("--port-base", type=int, default=0, help="grocery-store on this port, inventory on the next (default: free ports)")
    ap.add_argument("--role", choices=[STORE, INVENTORY], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--inventory-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        return run_service(args.role, args.port, args.inventory_url)

    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    if args.port_base:
        store_port, inventory_port = args.port_base, args.port_base + 1
    else:
        store_port, inventory_port = free_port(), free_port()
    inventory_url = f"http://127.0.0.1:{inventory_port}"
    store_url = f"http://127.0.0.1:{store_port}"
    me = os.path.abspath(__file__)
    children = [
        subprocess.Popen([sys.executable, me, "--role", INVENTORY, "--port", str(inventory_port)]),
        subprocess.Popen(
            [sys.executable, me, "--role", STORE, "--port", str(store_port), "--inventory-url", inventory_url]
        ),
    ]
    code = 0
    tel = None
    try:
        wait_port(inventory_port, children[0])
        wait_port(store_port, children[1])
        tel = Telemetry(SHOPPER)
        print(
            f"demo: shopper -> grocery-store ({store_url}) -> inventory ({inventory_url}), "
            f"telemetry to {endpoint}" + (f", {args.visits} visits" if args.visits else ", Ctrl-C stops"),
            flush=True,
        )
        visit, ok, failed = 0, 0, 0
        while not args.visits or visit < args.visits:
            started = time.monotonic()
            if shop(tel, store_url, visit):
                ok += 1
            else:
                failed += 1
            visit += 1
            if not args.visits or visit < args.visits:
                time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
        print(f"demo: {visit} visits, {ok} checkouts, {failed} failed (carts with {FAILING_ITEM})", flush=True)
    except KeyboardInterrupt:
        print("demo: stopping", flush=True)
    finally:
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in children:
            try:
                code |= c.wait(timeout=60)
            except subprocess.TimeoutExpired:
                c.kill()
                code = 1
        if tel is not None and tel.shutdown():
            print(f"demo: shopper: {tel.failures.count} exports failed", file=sys.stderr)
            code = 1
    if code:
        print(f"demo: some telemetry was not exported to {endpoint}: is ferrotel running?", file=sys.stderr)
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
