"""The metrics seeds, run unchanged except for their endpoints, against real backends:

- seed-jaeger-prometheus.yaml: the shopper -> grocery-store -> inventory spans of the seed's
  story, sent by the OpenTelemetry Python SDK, come out of the `spanmetrics` connector and the
  `prometheus` exporter (namespace `demo`) into a real Prometheus that scrapes ferrotel; PromQL
  answers the exact call counts and bucket counts under the names the Go collector gives
  them. The same spans leave through the `zipkin` exporter (to a Zipkin endpoint in the test)
  and the SDK's own metrics reach Prometheus too.
- seed-sidecar.yaml: the `prometheus` receiver scrapes a Spring Boot actuator
  (`/actuator/prometheus`, Micrometer's text format with its trailing commas) on the seed's
  own one-minute interval, and `otlp` delivers the Go receiver's translation to a sink.
- seed-gateway.yaml (metrics part): the SDK's counters, up-down counters, gauges and
  histograms go through `memory_limiter` and `batch` to `prometheusremotewrite`, into a real
  Prometheus (`--web.enable-remote-write-receiver`) and a real VictoriaMetrics, with the
  seed's `external_labels`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

import pod_logs
from backends import Prometheus, VictoriaMetrics
from harness import Ferrotel, free_port
from otlp_sink import Sink

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.metrics import Observation


def seed(name: str) -> dict:
    return yaml.safe_load((pod_logs.SHARED_CONFIGS / name).read_text())


# ---- a Zipkin endpoint ------------------------------------------------------------------
class ZipkinEndpoint:
    """POST /api/v2/spans (JSON, optionally gzip) collected as a list of Zipkin spans."""

    def __init__(self):
        self.spans: list[dict] = []
        self.bad: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                try:
                    if self.path != "/api/v2/spans" or "json" not in self.headers.get("Content-Type", ""):
                        raise ValueError(f"{self.path} {self.headers.get('Content-Type')}")
                    outer.spans.extend(json.loads(body))
                    self.send_response(202)
                except ValueError as e:
                    outer.bad.append(str(e))
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the seed's story -------------------------------------------------------------------
MS = 1_000_000
# (service, span name, kind, duration ms, http.method, http.status_code, error)
STORY = [
    ("shopper", "GET /shop", SpanKind.CLIENT, 3, "GET", 200, False),
    ("shopper", "GET /shop", SpanKind.CLIENT, 7, "GET", 200, False),
    ("shopper", "GET /shop", SpanKind.CLIENT, 45, "GET", 200, False),
    ("shopper", "GET /shop", SpanKind.CLIENT, 120, "GET", 200, False),
    ("grocery-store", "GET /groceries", SpanKind.SERVER, 5, "GET", 200, False),
    ("grocery-store", "GET /groceries", SpanKind.SERVER, 5, "GET", 200, False),
    ("grocery-store", "GET /groceries", SpanKind.SERVER, 900, "GET", 500, True),
    ("inventory", "POST /reserve", SpanKind.SERVER, 1, "POST", 201, False),
    ("inventory", "POST /reserve", SpanKind.SERVER, 1500, "POST", 201, False),
]
# The seed's explicit buckets, in ms as Prometheus' `le` shows them.
LE = ["2", "4", "6", "8", "10", "50", "100", "200", "400", "800", "1000", "1400", "2000", "5000", "10000", "15000", "+Inf"]
LE_MS = [float(x) if x != "+Inf" else float("inf") for x in LE]


def send_story(grpc_port: int, run: str) -> None:
    now = time.time_ns()
    by_service: dict[str, list] = {}
    for row in STORY:
        by_service.setdefault(row[0], []).append(row)
    for service, rows in by_service.items():
        tp = TracerProvider(resource=Resource.create({"service.name": service, "e2e.run": run}))
        tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True, timeout=10)))
        tracer = tp.get_tracer("seed-story")
        for i, (_, name, kind, ms, method, code, error) in enumerate(rows):
            start = now - (i + 1) * 10_000 * MS
            span = tracer.start_span(name, kind=kind, start_time=start, attributes={"http.method": method, "http.status_code": code})
            if error:
                span.set_status(Status(StatusCode.ERROR, "out of stock"))
            span.end(end_time=start + ms * MS)
        tp.shutdown()


def jaeger_prometheus_config(grpc, http, zipkin_port, prom_port, self_port, health_port) -> dict:
    cfg = seed("seed-jaeger-prometheus.yaml")
    cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{grpc}"
    cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{http}"
    assert cfg["exporters"]["zipkin"]["endpoint"] == "http://localhost:9411/api/v2/spans"
    cfg["exporters"]["zipkin"]["endpoint"] = f"http://127.0.0.1:{zipkin_port}/api/v2/spans"
    cfg["exporters"]["prometheus"]["endpoint"] = f"127.0.0.1:{prom_port}"
    cfg["service"]["telemetry"]["metrics"]["address"] = f"127.0.0.1:{self_port}"
    # `health_check:` with no settings listens on Go's default 0.0.0.0:13133: keep it on loopback.
    cfg["extensions"]["health_check"] = {"endpoint": f"127.0.0.1:{health_port}"}
    return cfg


@pytest.fixture(scope="module")
def jaeger_prometheus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed-jaeger-prometheus")
    zipkin = ZipkinEndpoint()
    ports = [free_port() for _ in range(5)]
    grpc, http, prom_port, self_port, health_port = ports
    cfg = jaeger_prometheus_config(grpc, http, zipkin.port, prom_port, self_port, health_port)
    fer = Ferrotel(tmp, cfg, [grpc, http, prom_port, health_port])
    prom = Prometheus(tmp / "prometheus", targets=[f"127.0.0.1:{prom_port}"])
    run = f"r{time.time_ns()}"
    try:
        send_story(grpc, run)
        yield fer, prom, zipkin, grpc, run
    finally:
        prom.stop()
        fer.stop()
        zipkin.stop()


def test_spanmetrics_calls_reach_prometheus_with_exact_counts(jaeger_prometheus):
    fer, prom, _, _, _ = jaeger_prometheus
    expected = {}
    for service, name, kind, _, method, code, error in STORY:
        key = (service, name, f"SPAN_KIND_{kind.name}", "STATUS_CODE_ERROR" if error else "STATUS_CODE_UNSET", method, str(code))
        expected[key] = expected.get(key, 0) + 1

    def got(result):
        return {(m.get("service_name"), m.get("span_name"), m.get("span_kind"), m.get("status_code"), m.get("http_method"), m.get("http_status_code")): v for m, v in result}

    # The seed flushes every 15 s; Prometheus scrapes every second.
    result = prom.wait_for("demo_traces_span_metrics_calls_total", lambda r: got(r) == expected, timeout=60, what="the span call counts")
    for m, _ in result:
        assert m["job"] == m["service_name"], f"job is the service's name as the Go exporter sets it: {m}"


def test_spanmetrics_duration_buckets_are_exact(jaeger_prometheus):
    fer, prom, _, _, _ = jaeger_prometheus
    for service in ("shopper", "grocery-store", "inventory"):
        durations = [ms for s, _, _, ms, *_ in STORY if s == service]
        want = {le: float(sum(1 for d in durations if d <= bound)) for le, bound in zip(LE, LE_MS)}
        expr = f'sum by (le) (demo_traces_span_metrics_duration_milliseconds_bucket{{service_name="{service}"}})'
        result = prom.wait_for(expr, lambda r: {m["le"]: v for m, v in r} == want, timeout=60, what=f"{service}'s duration buckets")
        assert len(result) == len(LE)
        count = prom.query(f'sum(demo_traces_span_metrics_duration_milliseconds_count{{service_name="{service}"}})')
        total = prom.query(f'sum(demo_traces_span_metrics_duration_milliseconds_sum{{service_name="{service}"}})')
        assert count[0][1] == len(durations)
        assert total[0][1] == pytest.approx(sum(durations), rel=1e-6)


def test_spans_leave_through_the_zipkin_exporter(jaeger_prometheus):
    _, _, zipkin, _, run = jaeger_prometheus
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(zipkin.spans) < len(STORY):
        time.sleep(0.2)
    assert not zipkin.bad, zipkin.bad
    assert len(zipkin.spans) == len(STORY), zipkin.spans
    by_service: dict[str, list] = {}
    for s in zipkin.spans:
        by_service.setdefault(s["localEndpoint"]["serviceName"], []).append(s)
    assert {k: len(v) for k, v in by_service.items()} == {"shopper": 4, "grocery-store": 3, "inventory": 2}
    assert {s["kind"] for s in by_service["shopper"]} == {"CLIENT"}
    assert sorted(s["duration"] for s in by_service["shopper"]) == [3000, 7000, 45000, 120000]
    failed = [s for s in by_service["grocery-store"] if "error" in s.get("tags", {})]
    # Go writes pdata's StatusCode.String() (the proto enum name) and `error: "true"`.
    assert len(failed) == 1, failed
    tags = failed[0]["tags"]
    assert (tags["otel.status_code"], tags["error"], tags["otel.status_description"]) == ("STATUS_CODE_ERROR", "true", "out of stock"), tags
    assert all(s["tags"]["http.method"] for s in zipkin.spans)


def test_sdk_metrics_reach_prometheus_through_the_seed_exporter(jaeger_prometheus):
    fer, prom, _, grpc, run = jaeger_prometheus
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"127.0.0.1:{grpc}", insecure=True, timeout=10), export_interval_millis=3_600_000)
    mp = MeterProvider(resource=Resource.create({"service.name": "checkout", "service.namespace": "shop", "service.instance.id": "i-1"}), metric_readers=[reader])
    meter = mp.get_meter("seed-metrics")
    meter.create_counter("shop.orders", unit="{order}").add(5, {"region": "eu"})
    meter.create_histogram("shop.latency", unit="ms").record(12, {"region": "eu"})
    mp.force_flush()
    mp.shutdown()
    # Go's names: namespace prefix, `{order}` dropped, `_total`, `ms` -> `_milliseconds`;
    # job = service.namespace/service.name, instance = service.instance.id.
    r = prom.wait_for('demo_shop_orders_total{region="eu"}', lambda r: len(r) == 1 and r[0][1] == 5, timeout=30)
    assert (r[0][0]["job"], r[0][0]["instance"]) == ("shop/checkout", "i-1"), r
    prom.wait_for('demo_shop_latency_milliseconds_count{region="eu"}', lambda r: len(r) == 1 and r[0][1] == 1, timeout=30)
    # The Go exporter puts its namespace on target_info too.
    info = prom.wait_for('demo_target_info{job="shop/checkout"}', lambda r: len(r) == 1, timeout=30)
    assert info[0][0]["instance"] == "i-1"


# ---- seed-gateway: prometheusremotewrite ------------------------------------------------
def gateway_config(grpc, http, write_url, self_port) -> dict:
    cfg = seed("seed-gateway.yaml")
    cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{grpc}"
    cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{http}"
    cfg["exporters"]["prometheusremotewrite"]["endpoint"] = write_url
    # Nothing is sent on the logs and traces pipelines; their backends point at closed loopback ports.
    cfg["exporters"]["loki"]["endpoint"] = f"http://127.0.0.1:{free_port()}/loki/api/v1/push"
    cfg["exporters"]["otlp/trace"]["endpoint"] = f"http://127.0.0.1:{free_port()}"
    cfg["service"]["telemetry"] = {"metrics": {"address": f"127.0.0.1:{self_port}"}}
    return cfg


CUMULATIVE = {Counter: AggregationTemporality.CUMULATIVE, UpDownCounter: AggregationTemporality.CUMULATIVE, Histogram: AggregationTemporality.CUMULATIVE}


@pytest.mark.parametrize("backend", ["prometheus", "victoria-metrics"])
def test_gateway_remote_writes_sdk_metrics(tmp_path, backend, monkeypatch):
    server = Prometheus(tmp_path / "prom") if backend == "prometheus" else VictoriaMetrics(tmp_path / "vm")
    grpc, http, self_port = free_port(), free_port(), free_port()
    fer = None
    try:
        monkeypatch.setenv("MY_POD_IP", "127.0.0.1")
        fer = Ferrotel(tmp_path, gateway_config(grpc, http, server.write_url, self_port), [grpc, http])
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"127.0.0.1:{grpc}", insecure=True, timeout=10, preferred_temporality=CUMULATIVE),
            export_interval_millis=3_600_000,
        )
        views = [View(instrument_name="gw.latency", aggregation=ExplicitBucketHistogramAggregation([10, 100, 1000]))]
        mp = MeterProvider(resource=Resource.create({"service.name": "gateway-svc", "service.instance.id": "pod-7", "k8s.namespace.name": "prod"}), metric_readers=[reader], views=views)
        meter = mp.get_meter("seed-gateway")
        meter.create_counter("gw.requests").add(7, {"route": "/a"})
        meter.create_counter("gw.requests").add(3, {"route": "/b"})
        meter.create_up_down_counter("gw.connections", unit="{connection}").add(4)
        meter.create_observable_gauge("gw.memory", callbacks=[lambda _: [Observation(2048, {"area": "heap"})]], unit="By")
        h = meter.create_histogram("gw.latency", unit="ms")
        for v in (5, 50, 50, 500, 5000):
            h.record(v)
        mp.force_flush()
        mp.shutdown()
        ext = 'collector_label="127.0.0.1"'
        r = server.wait_for(f"gw_requests_total{{{ext}}}", lambda r: {m.get("route"): v for m, v in r} == {"/a": 7, "/b": 3}, timeout=45)
        assert all((m["job"], m["instance"]) == ("gateway-svc", "pod-7") for m, _ in r), r
        server.wait_for(f"gw_connections{{{ext}}}", lambda r: [v for _, v in r] == [4], timeout=30)
        server.wait_for(f'gw_memory_bytes{{{ext},area="heap"}}', lambda r: [v for _, v in r] == [2048], timeout=30)
        buckets = server.wait_for(f"gw_latency_milliseconds_bucket{{{ext}}}", lambda r: len(r) == 4, timeout=30)
        assert {float(m["le"]) if m["le"] != "+Inf" else float("inf"): v for m, v in buckets} == {10.0: 1, 100.0: 3, 1000.0: 4, float("inf"): 5}
        server.wait_for(f"gw_latency_milliseconds_sum{{{ext}}}", lambda r: [v for _, v in r] == [5605], timeout=30)
        server.wait_for(f"gw_latency_milliseconds_count{{{ext}}}", lambda r: [v for _, v in r] == [5], timeout=30)
        info = server.wait_for(f'target_info{{job="gateway-svc"}}', lambda r: len(r) == 1, timeout=30)
        assert info[0][0].get("k8s_namespace_name") == "prod", info
    finally:
        if fer is not None:
            fer.stop()
        server.stop()


# ---- seed-sidecar: scraping a Spring Boot actuator --------------------------------------
ACTUATOR = """# HELP jvm_memory_used_bytes The amount of used memory
# TYPE jvm_memory_used_bytes gauge
jvm_memory_used_bytes{area="heap",id="G1 Eden Space",} 2.5165824E7
jvm_memory_used_bytes{area="nonheap",id="Metaspace",} 4.1235464E7
# HELP http_server_requests_seconds
# TYPE http_server_requests_seconds summary
http_server_requests_seconds_count{exception="None",method="GET",outcome="SUCCESS",status="200",uri="/actuator/prometheus",} 3.0
http_server_requests_seconds_sum{exception="None",method="GET",outcome="SUCCESS",status="200",uri="/actuator/prometheus",} 0.047
# HELP logback_events_total Number of events that made it to the logs
# TYPE logback_events_total counter
logback_events_total{level="warn",} 2.0
logback_events_total{level="info",} 41.0
"""


class Actuator:
    """A Spring Boot application's metrics endpoint."""

    def __init__(self):
        self.scrapes = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                if self.path != "/actuator/prometheus":
                    self.send_response(404)
                    self.end_headers()
                    return
                outer.scrapes += 1
                body = ACTUATOR.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_sidecar_scrapes_the_actuator_and_forwards_the_go_translation(tmp_path):
    cfg = seed("seed-sidecar.yaml")
    job = cfg["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert job["static_configs"][0]["targets"] == ["0.0.0.0:9404"] and job["scrape_interval"] == "1m"
    actuator, sink = Actuator(), Sink()
    grpc = free_port()
    fer = None
    try:
        job["static_configs"][0]["targets"] = [f"127.0.0.1:{actuator.port}"]
        cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{grpc}"
        cfg["exporters"]["otlp"]["endpoint"] = f"http://127.0.0.1:{sink.grpc_port}"
        cfg["service"]["telemetry"] = {"metrics": {"address": f"127.0.0.1:{free_port()}"}}
        fer = Ferrotel(tmp_path, cfg, [grpc])

        def scraped():
            return {m.name for r in sink.requests("metrics") for rm in r.request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}

        # The first scrape comes at the target's offset within the seed's 1m interval.
        assert sink.wait_for(lambda: "jvm_memory_used_bytes" in scraped(), timeout=75), f"nothing scraped in 75 s ({actuator.scrapes} scrapes):\n{fer.output()}"
        (rm,) = [rm for r in sink.requests("metrics") for rm in r.request.resource_metrics]
        res = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
        assert res["service.name"] == "otel-scrape"
        assert res["service.instance.id"] == f"127.0.0.1:{actuator.port}"
        # Go leaves server.address out for a loopback host (isDiscernibleHost).
        assert "server.address" not in res
        assert (res["server.port"], res["url.scheme"]) == (str(actuator.port), "http")
        metrics = {m.name: m for sm in rm.scope_metrics for m in sm.metrics}
        assert {"jvm_memory_used_bytes", "http_server_requests_seconds", "logback_events_total", "up", "scrape_duration_seconds", "scrape_samples_scraped"} <= set(metrics), set(metrics)
        mem = {tuple(sorted((kv.key, kv.value.string_value) for kv in p.attributes)): p.as_double for p in metrics["jvm_memory_used_bytes"].gauge.data_points}
        assert mem == {(("area", "heap"), ("id", "G1 Eden Space")): 25165824.0, (("area", "nonheap"), ("id", "Metaspace")): 41235464.0}
        (summary,) = metrics["http_server_requests_seconds"].summary.data_points
        assert (summary.count, summary.sum, len(summary.quantile_values)) == (3, 0.047, 0)
        events = metrics["logback_events_total"].sum
        assert events.is_monotonic and events.aggregation_temporality == 2
        assert sorted(p.as_double for p in events.data_points) == [2.0, 41.0]
        assert metrics["up"].gauge.data_points[0].as_double == 1.0
        assert metrics["scrape_samples_scraped"].gauge.data_points[0].as_double == 6.0  # 2 gauges, count + sum, 2 counters
    finally:
        if fer is not None:
            fer.stop()
        sink.stop()
        actuator.stop()
