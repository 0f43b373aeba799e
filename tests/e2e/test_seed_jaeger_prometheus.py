"""seed-jaeger-prometheus.yaml with only its endpoints changed: the OpenTelemetry Python
SDK sends the seeds' story (a shopper visits the grocery-store, which asks inventory) over
OTLP; the `spanmetrics` connector turns the spans into calls and duration metrics and the
`zipkin` exporter hands the traces to "Jaeger" (a second ferrotel playing Jaeger's Zipkin
port with its `zipkin` receiver).

Checked: every span reaches the Zipkin side, and the span metrics count exactly the story's
calls, split by the seed's dimensions (http.method, http.status_code), with the durations
in the seed's buckets. The metrics are read from the seed's `prometheus` exporter when this
build has it; until then (it comes with another part of the metrics work) that exporter is
swapped for an `otlp` one to a sink — the only change besides endpoints.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

import pod_logs
from harness import BIN, Ferrotel, free_port, scrape
from otlp_sink import Sink

SEED = pod_logs.SHARED_CONFIGS / "seed-jaeger-prometheus.yaml"
MS = 1_000_000
# (durations in ms of: web request, /products, inventory request, /inventory; failed?)
VISITS = [((20, 15, 5, 3), False), ((120, 110, 90, 80), False), ((8, 7, 5, 1.5), True)]


def _has_prometheus_exporter() -> bool:
    out = subprocess.run([str(BIN), "components"], capture_output=True, text=True, timeout=30).stdout
    return any(e.get("name") == "prometheus" for e in yaml.safe_load(out).get("exporters") or [])


def _send_story(otlp_port: int) -> int:
    """The three visits, each with explicit times so that the buckets are known."""
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{otlp_port}", insecure=True)
    providers = {}
    for svc in ("shopper", "grocery-store", "inventory"):
        p = TracerProvider(resource=Resource.create({"service.name": svc}))
        p.add_span_processor(SimpleSpanProcessor(exporter))
        providers[svc] = p
    t = {svc: p.get_tracer(f"{svc}.app") for svc, p in providers.items()}
    base = time.time_ns() - 60 * 1_000_000_000
    spans = 0
    for i, (d, failed) in enumerate(VISITS):
        start = base + i * 1_000_000_000
        code = 500 if failed else 200
        http = {"http.method": "GET", "http.status_code": code}
        steps = [
            ("shopper", "web request", SpanKind.CLIENT, d[0]),
            ("grocery-store", "/products", SpanKind.SERVER, d[1]),
            ("grocery-store", "inventory request", SpanKind.CLIENT, d[2]),
            ("inventory", "/inventory", SpanKind.SERVER, d[3]),
        ]
        ctx = None
        for j, (svc, name, kind, ms) in enumerate(steps):
            s = t[svc].start_span(name, context=ctx, kind=kind, attributes=http, start_time=start + j * 1000)
            if failed:
                s.set_status(Status(StatusCode.ERROR, "inventory failed"))
            s.end(end_time=start + j * 1000 + int(ms * MS))
            ctx = trace.set_span_in_context(s)
            spans += 1
    for p in providers.values():
        p.shutdown()
    return spans


def _expected_calls():
    """(service, span name, kind, status code, http.status_code) -> calls."""
    out = {}
    for _d, failed in VISITS:
        status = "STATUS_CODE_ERROR" if failed else "STATUS_CODE_UNSET"
        code = 500 if failed else 200
        for svc, name, kind in [
            ("shopper", "web request", "SPAN_KIND_CLIENT"),
            ("grocery-store", "/products", "SPAN_KIND_SERVER"),
            ("grocery-store", "inventory request", "SPAN_KIND_CLIENT"),
            ("inventory", "/inventory", "SPAN_KIND_SERVER"),
        ]:
            key = (svc, name, kind, status, str(code))
            out[key] = out.get(key, 0) + 1
    return out


# The seed's buckets in ms: 2 4 6 8 10 50 100 200 ...; upper-inclusive. Cumulative counts
# per `le` for the inventory server span without error: 3 ms and 80 ms.
INVENTORY_OK_LE = {"2": 0, "4": 1, "6": 1, "8": 1, "10": 1, "50": 1, "100": 2, "200": 2, "+Inf": 2}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    if not SEED.exists():
        raise AssertionError(f"{SEED} is missing: the shared configs must sit beside the repository")
    tmp = tmp_path_factory.mktemp("seed_jaeger")
    cfg = yaml.safe_load(SEED.read_text())
    grpc_port, http_port, self_port, health_port, prom_port, zport = (free_port() for _ in range(6))
    cfg["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{grpc_port}"
    cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{http_port}"
    cfg["exporters"]["zipkin"]["endpoint"] = f"http://127.0.0.1:{zport}/api/v2/spans"
    cfg["service"]["telemetry"]["metrics"]["address"] = f"127.0.0.1:{self_port}"
    cfg["extensions"]["health_check"] = {"endpoint": f"127.0.0.1:{health_port}"}
    metrics_sink = None
    if _has_prometheus_exporter():
        cfg["exporters"]["prometheus"]["endpoint"] = f"127.0.0.1:{prom_port}"
    else:
        metrics_sink = Sink()
        del cfg["exporters"]["prometheus"]
        cfg["exporters"]["otlp/metrics"] = {"endpoint": metrics_sink.grpc_endpoint, "tls": {"insecure": True}}
        cfg["service"]["pipelines"]["metrics"]["exporters"] = ["otlp/metrics"]

    jaeger_sink = Sink()
    jaeger = Ferrotel(
        tmp,
        {
            "receivers": {"zipkin": {"endpoint": f"127.0.0.1:{zport}"}},
            "exporters": {"otlp": {"endpoint": jaeger_sink.grpc_endpoint, "tls": {"insecure": True}}},
            "service": {"telemetry": {"metrics": {"level": "none"}}, "pipelines": {"traces": {"receivers": ["zipkin"], "exporters": ["otlp"]}}},
        },
        [zport],
        name="jaeger",
    )
    collector = Ferrotel(tmp, cfg, [grpc_port, http_port, health_port], name="collector")
    sent = _send_story(grpc_port)
    yield {"collector": collector, "jaeger_sink": jaeger_sink, "metrics_sink": metrics_sink, "prom_port": prom_port, "sent": sent}
    collector.stop()
    jaeger.stop()
    jaeger_sink.stop()
    if metrics_sink:
        metrics_sink.stop()


def test_every_span_reaches_the_zipkin_side(seed_run):
    sink = seed_run["jaeger_sink"]
    assert sink.wait_for(lambda: sink.count("traces") >= seed_run["sent"], timeout=20), seed_run["collector"].output(3000)
    services = {
        a.value.string_value
        for r in sink.requests("traces")
        for rs in r.request.resource_spans
        for a in rs.resource.attributes
        if a.key == "service.name"
    }
    assert services == {"shopper", "grocery-store", "inventory"}


def _otlp_calls_and_buckets(sink: Sink):
    calls, inventory_ok = {}, None
    for r in sink.requests("metrics"):
        for rm in r.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == "traces.span.metrics.calls":
                        for dp in m.sum.data_points:
                            a = {kv.key: kv.value for kv in dp.attributes}
                            key = (
                                a["service.name"].string_value,
                                a["span.name"].string_value,
                                a["span.kind"].string_value,
                                a["status.code"].string_value,
                                str(a["http.status_code"].int_value),
                            )
                            calls[key] = dp.as_int  # cumulative: the last flush wins
                    if m.name == "traces.span.metrics.duration":
                        assert m.unit == "ms"
                        for dp in m.histogram.data_points:
                            a = {kv.key: kv.value for kv in dp.attributes}
                            if a["span.name"].string_value == "/inventory" and a["status.code"].string_value == "STATUS_CODE_UNSET":
                                inventory_ok = list(dp.bucket_counts), list(dp.explicit_bounds)
    return calls, inventory_ok


def test_span_metrics_count_the_story_exactly(seed_run):
    want = _expected_calls()
    deadline = time.monotonic() + 40  # the seed flushes every 15s
    calls, inventory = {}, None
    while time.monotonic() < deadline:
        if seed_run["metrics_sink"] is not None:
            calls, inventory = _otlp_calls_and_buckets(seed_run["metrics_sink"])
            if calls == want:
                break
        else:
            samples = scrape(seed_run["prom_port"])
            calls = {
                (lab["service_name"], lab["span_name"], lab["span_kind"], lab["status_code"], lab["http_status_code"]): int(v)
                for n, lab, v in samples
                if n == "demo_traces_span_metrics_calls_total"
            }
            les = {
                lab["le"]: int(v)
                for n, lab, v in samples
                if n == "demo_traces_span_metrics_duration_milliseconds_bucket" and lab.get("span_name") == "/inventory" and lab.get("status_code") == "STATUS_CODE_UNSET"
            }
            inventory = les
            if calls == want:
                break
        time.sleep(0.5)
    assert calls == want, f"{calls}\n--- collector ---\n{seed_run['collector'].output(3000)}"
    if seed_run["metrics_sink"] is not None:
        counts, bounds = inventory
        assert bounds == [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]
        assert counts == [0, 1, 0, 0, 0, 0, 1] + [0] * 10, "3 ms in le 4, 80 ms in le 100"
    else:
        assert {k: inventory[k] for k in INVENTORY_OK_LE} == INVENTORY_OK_LE
