"""Metrics from the OpenTelemetry Python SDK through ferrotel into a real Prometheus and a
real VictoriaMetrics (Debian's packages, started here on 127.0.0.1 with temporary data
dirs): Prometheus scrapes ferrotel's `prometheus` exporters (text 0.0.4 and OpenMetrics)
and receives its `prometheusremotewrite`; VictoriaMetrics receives `prometheus_remote_write`.
PromQL answers must equal what the SDK sent, under the names the Go collector gives them.

ferrotel runs the seed-gateway config (endpoints pointed at 127.0.0.1) with the
seed-jaeger-prometheus `prometheus` exporter (`namespace: demo`) added to its metrics
pipeline, plus an OpenMetrics `prometheus` exporter and the VictoriaMetrics remote write."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from backends import Prometheus, VictoriaMetrics
from harness import Ferrotel, free_port, http_get, scrape

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

# ../shared/configs beside the repository (FERROTEL_SHARED overrides, e.g. from a worktree).
SEEDS = Path(os.environ.get("FERROTEL_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "configs"
POD_IP = "10.1.2.3"


class Servers:
    def __init__(self, tmp: Path):
        self.demo_port, self.om_port = free_port(), free_port()
        self.grpc_port, self.http_port, self.self_port = free_port(), free_port(), free_port()
        # Two Prometheus servers scrape the pull exporters every second (honor_labels keeps the
        # job and instance that the exporter derives from service.*, as collector users
        # configure it). `prom` has native histograms on, so it asks for the protobuf format
        # first; it also takes the remote write. `prom_text` has them off and scrapes the text
        # format (the seed's exporter) and OpenMetrics (the exporter with enable_open_metrics).
        demo, om = [f"127.0.0.1:{self.demo_port}"], [f"127.0.0.1:{self.om_port}"]
        self.servers = []
        try:
            self.prom = self.started(Prometheus(tmp, jobs={"demo": demo}, extra_flags=["--enable-feature=native-histograms,exemplar-storage"]))
            self.prom_text = self.started(Prometheus(tmp, jobs={"demo": demo, "om": om}, extra_flags=["--enable-feature=exemplar-storage"], name="prometheus-text"))
            self.vm = self.started(VictoriaMetrics(tmp / "vm"))
        except BaseException:
            for server in self.servers:
                server.stop()
            raise
        self.prom_port, self.text_port, self.vm_port = self.prom.port, self.prom_text.port, self.vm.port

        cfg = yaml.safe_load((SEEDS / "seed-gateway.yaml").read_text())
        cfg["receivers"]["otlp"]["protocols"] = {
            "grpc": {"endpoint": f"127.0.0.1:{self.grpc_port}"},
            "http": {"endpoint": f"127.0.0.1:{self.http_port}"},
        }
        # Nothing is sent to these (no logs or traces in this test); still loopback only.
        cfg["exporters"]["loki"]["endpoint"] = f"http://127.0.0.1:{free_port()}/loki/api/v1/push"
        cfg["exporters"]["otlp/trace"]["endpoint"] = f"http://127.0.0.1:{free_port()}"
        cfg["exporters"]["prometheusremotewrite"]["endpoint"] = f"http://127.0.0.1:{self.prom_port}/api/v1/write"
        # The seed's memory_limiter percentages need a cgroup limit; keep them.
        jaeger = yaml.safe_load((SEEDS / "seed-jaeger-prometheus.yaml").read_text())
        demo = dict(jaeger["exporters"]["prometheus"])
        demo["endpoint"] = f"127.0.0.1:{self.demo_port}"
        cfg["exporters"]["prometheus"] = demo
        cfg["exporters"]["prometheus/om"] = {"endpoint": f"127.0.0.1:{self.om_port}", "enable_open_metrics": True}
        cfg["exporters"]["prometheus_remote_write/vm"] = {"endpoint": f"http://127.0.0.1:{self.vm_port}/api/v1/write"}
        cfg["exporters"]["debug"] = {"verbosity": "basic"}
        cfg["service"]["pipelines"]["metrics"]["exporters"] += ["prometheus", "prometheus/om", "prometheus_remote_write/vm"]
        cfg["service"]["pipelines"]["metrics"]["processors"] = ["memory_limiter", "batch"]
        cfg["processors"]["batch"] = {"timeout": "200ms"}
        cfg["service"]["telemetry"] = {
            "logs": {"level": "info"},
            "metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": self.self_port}}}}]},
        }
        os.environ["MY_POD_IP"] = POD_IP
        try:
            self.ferrotel = Ferrotel(tmp, cfg, [self.grpc_port, self.http_port, self.demo_port, self.om_port])
        except BaseException:
            self.close()
            raise
        # Prometheus applies its targets about 5 s after start: wait until both exporters have
        # been scraped, so that short-lived states (exemplars) are seen.
        deadline = time.monotonic() + 30
        while len(query(self.prom_port, "up == 1")) < 1 or len(query(self.text_port, "up == 1")) < 2:
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("prometheus did not scrape ferrotel's exporters within 30s")
            time.sleep(0.2)

    def started(self, server):
        self.servers.append(server)
        return server

    def close(self) -> None:
        if getattr(self, "ferrotel", None) is not None:
            self.ferrotel.stop()
        for server in self.servers:
            server.stop()


def send(servers: Servers) -> None:
    """What the SDK sends: cumulative instruments of one service, delta ones of another."""
    endpoint = f"http://127.0.0.1:{servers.http_port}/v1/metrics"
    resource = Resource.create(
        {
            "service.name": "shop-api",
            "service.namespace": "shop",
            "service.instance.id": "inst-1",
            "deployment.environment": "e2e",
            "host.name": "h1",
        }
    )
    views = [
        View(instrument_name="e2e.latency", aggregation=ExplicitBucketHistogramAggregation([10, 100, 1000])),
        View(instrument_name="e2e.delta.latency", aggregation=ExplicitBucketHistogramAggregation([10, 100, 1000])),
        View(instrument_name="e2e.exp.latency", aggregation=ExponentialBucketHistogramAggregation()),
    ]
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint), export_interval_millis=3_600_000)
    # Not shut down (not even at exit): a last export would carry the cumulative points again
    # without their exemplars and replace them in the pull exporter, as in Go.
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=views, shutdown_on_exit=False)
    meter = provider.get_meter("e2e.meter", "1.0")
    requests = meter.create_counter("e2e.requests", unit="{request}", description="Requests served")
    requests.add(5, {"http.method": "GET"})
    requests.add(3, {"http.method": "POST"})
    queue = meter.create_up_down_counter("e2e.queue.size", unit="{item}")
    queue.add(10)
    queue.add(-4)
    meter.create_observable_gauge("e2e.temperature", [lambda _: [Observation(21.5)]], unit="Cel")
    meter.create_observable_gauge("e2e.cpu.utilization", [lambda _: [Observation(0.25)]], unit="1")
    latency = meter.create_histogram("e2e.latency", unit="ms")
    exp_latency = meter.create_histogram("e2e.exp.latency", unit="ms")
    for v in (5, 50, 500, 5000):
        latency.record(v)
        exp_latency.record(v)
    # A counter and a histogram recorded inside a sampled span carry exemplars (the SDK's
    # trace-based exemplar filter).
    tracer = TracerProvider().get_tracer("e2e")
    with tracer.start_as_current_span("traced") as span:
        meter.create_counter("e2e.traced.requests").add(2)
        latency.record(7)
        servers.trace_id = format(span.get_span_context().trace_id, "032x")
        servers.span_id = format(span.get_span_context().span_id, "016x")
    provider.force_flush()

    delta = {Counter: AggregationTemporality.DELTA, UpDownCounter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}
    dreader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint, preferred_temporality=delta), export_interval_millis=3_600_000
    )
    dprovider = MeterProvider(resource=Resource.create({"service.name": "shop-delta", "host.name": "h2"}), metric_readers=[dreader], views=views)
    dmeter = dprovider.get_meter("e2e.meter")
    dreq = dmeter.create_counter("e2e.delta.requests")
    dlat = dmeter.create_histogram("e2e.delta.latency", unit="ms")
    dud = dmeter.create_up_down_counter("e2e.delta.inflight")
    dreq.add(2)
    dlat.record(1)
    dud.add(7)
    dprovider.force_flush()
    time.sleep(0.5)
    dreq.add(3)
    dlat.record(2000)
    dud.add(-2)
    dprovider.force_flush()
    dprovider.shutdown()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if not (SEEDS / "seed-gateway.yaml").exists():
        # As crates/ferrotel/tests/cli.rs: the seed configs live beside the repository.
        pytest.skip(f"{SEEDS} has no seed-gateway.yaml (set FERROTEL_SHARED to the shared directory)")
    s = Servers(tmp_path_factory.mktemp("prometheus"))
    try:
        send(s)
        yield s
    finally:
        s.close()


def query(port: int, q: str) -> list[dict]:
    status, body = http_get(f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=5)
    assert status == 200, f"{q}: {status} {body[:500]}"
    data = json.loads(body)
    assert data["status"] == "success", body
    return data["data"]["result"]


def eventually(port: int, q: str, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        result = query(port, q)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def value(servers: Servers, port: int, q: str) -> float:
    result = eventually(port, q)
    assert len(result) == 1, f"{q}: expected one series, got {result}\n--- ferrotel ---\n{servers.ferrotel.output(3000)}"
    return float(result[0]["value"][1])


def expect(servers: Servers, port: int, q: str, want: float, timeout: float = 30.0) -> None:
    """The query answers one series with `want` (waiting for scrapes of later exports)."""
    deadline = time.monotonic() + timeout
    while True:
        got = value(servers, port, q)
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == want, f"{q}: {got} != {want}"


# (PromQL selector without the source matcher, expected value); one row per series the SDK sent.
CUMULATIVE = [
    ('{NS}e2e_requests_total{job="shop/shop-api",instance="inst-1",http_method="GET"}', 5.0),
    ('{NS}e2e_requests_total{job="shop/shop-api",instance="inst-1",http_method="POST"}', 3.0),
    ('{NS}e2e_queue_size{job="shop/shop-api",instance="inst-1"}', 6.0),
    ('{NS}e2e_temperature_celsius{job="shop/shop-api",instance="inst-1"}', 21.5),
    ('{NS}e2e_cpu_utilization_ratio{job="shop/shop-api",instance="inst-1"}', 0.25),
    ('{NS}e2e_latency_milliseconds_bucket{job="shop/shop-api",le="10"}', 2.0),
    ('{NS}e2e_latency_milliseconds_bucket{job="shop/shop-api",le="100"}', 3.0),
    ('{NS}e2e_latency_milliseconds_bucket{job="shop/shop-api",le="1000"}', 4.0),
    ('{NS}e2e_latency_milliseconds_bucket{job="shop/shop-api",le="+Inf"}', 5.0),
    ('{NS}e2e_latency_milliseconds_sum{job="shop/shop-api"}', 5562.0),
    ('{NS}e2e_latency_milliseconds_count{job="shop/shop-api"}', 5.0),
    ('{NS}e2e_traced_requests_total{job="shop/shop-api"}', 2.0),
]
TARGET_INFO = ('target_info{job="shop/shop-api",instance="inst-1",deployment_environment="e2e",host_name="h1"}', 1.0)
# Delta instruments: the pull exporter accumulates counters and histograms (Go's accumulator).
DELTA_PULL = [
    ('{NS}e2e_delta_requests_total{job="shop-delta"}', 5.0),
    ('{NS}e2e_delta_latency_milliseconds_count{job="shop-delta"}', 2.0),
    ('{NS}e2e_delta_latency_milliseconds_sum{job="shop-delta"}', 2001.0),
    ('{NS}e2e_delta_latency_milliseconds_bucket{job="shop-delta",le="10"}', 1.0),
]


def with_matcher(selector: str, ns: str, matcher: str, openmetrics: bool = False) -> str:
    s = selector.replace("{NS}", ns)
    if openmetrics:
        # OpenMetrics writes `le="10.0"` (client_golang's float text) and Prometheus before 3.0
        # stores it as written; its protobuf parser formats bounds the same way.
        s = re.sub(r'le="([0-9.]+)"', lambda m: f'le=~"{m.group(1)}(\\\\.0)?"', s)
    return s[:-1] + "," + matcher + "}"


SOURCES = {
    # Prometheus scraping the seed's `prometheus` exporter (namespace demo, text format)
    "scrape-text": ("demo_", 'job!=""', "prom_text"),
    # Prometheus scraping the OpenMetrics exporter (no namespace)
    "scrape-openmetrics": ("", 'otel_scope_name="e2e.meter"', "prom_text"),
    # Prometheus with native histograms scraping the seed's exporter (protobuf format)
    "scrape-protobuf": ("demo_", 'collector_label=""', "prom"),
    # the seed's prometheusremotewrite into Prometheus (external label collector_label)
    "remote-write-prometheus": ("", f'collector_label="{POD_IP}"', "prom"),
    # prometheus_remote_write into VictoriaMetrics (remote write carries no scope labels)
    "remote-write-victoriametrics": ("", 'job=~".+"', "vm"),
}


def port_of(servers: Servers, which: str) -> int:
    return {"prom": servers.prom_port, "prom_text": servers.text_port, "vm": servers.vm_port}[which]


@pytest.mark.parametrize("source", list(SOURCES))
def test_cumulative_instruments_answer_promql_with_gos_names(servers, source):
    ns, matcher, which = SOURCES[source]
    if source in ("scrape-text", "scrape-protobuf"):
        # The seed's exporter: scope labels as Go's exporter adds them.
        matcher += ',otel_scope_name="e2e.meter",otel_scope_version="1.0"'
    port = port_of(servers, which)
    for selector, want in CUMULATIVE:
        q = with_matcher(selector, ns, matcher, source in ("scrape-openmetrics", "scrape-protobuf"))
        expect(servers, port, q, want)


@pytest.mark.parametrize("source", list(SOURCES))
def test_target_info_carries_the_resource(servers, source):
    _, matcher, which = SOURCES[source]
    matcher = matcher.replace('otel_scope_name="e2e.meter"', 'job!=""')
    ns = SOURCES[source][0]
    # The pull exporter names it under its namespace (Go's collector does); remote write has none.
    selector = ns + TARGET_INFO[0]
    q = selector if not matcher else selector[:-1] + "," + matcher + "}"
    result = eventually(port_of(servers, which), q)
    assert result, q
    assert all(float(r["value"][1]) == 1.0 for r in result), result


@pytest.mark.parametrize("source", ["scrape-text", "scrape-openmetrics", "scrape-protobuf"])
def test_delta_counters_and_histograms_are_accumulated_by_the_pull_exporter(servers, source):
    ns, matcher, which = SOURCES[source]
    port = port_of(servers, which)
    for selector, want in DELTA_PULL:
        q = with_matcher(selector, ns, matcher, source in ("scrape-openmetrics", "scrape-protobuf"))
        expect(servers, port, q, want)
    # Non-monotonic delta sums are dropped (Go's accumulator has no meaning for them).
    assert query(port, f'{{__name__=~"{ns}e2e_delta_inflight.*"}}') == []


@pytest.mark.parametrize("source", ["remote-write-prometheus", "remote-write-victoriametrics"])
def test_delta_temporality_is_not_remote_written(servers, source):
    _, matcher, which = SOURCES[source]
    port = port_of(servers, which)
    # The cumulative ones have arrived by now...
    expect(servers, port, with_matcher(CUMULATIVE[0][0], "", matcher), 5.0)
    # ...and Go's translator refuses delta sums and histograms. (In Prometheus the scraped
    # copies exist; the remote-written ones would carry the external label.)
    rw = f'collector_label="{POD_IP}"' if which == "prom" else 'job=~".+"'
    for name in ("e2e_delta_requests_total", "e2e_delta_latency_milliseconds_count", "e2e_delta_inflight"):
        assert query(port, f"{name}{{{rw}}}") == [], name


@pytest.mark.parametrize("source", ["remote-write-prometheus", "scrape-protobuf"])
def test_exponential_histograms_arrive_as_native_histograms(servers, source):
    ns, matcher, _ = SOURCES[source]
    sel = f"{ns}e2e_exp_latency_milliseconds{{{matcher}}}"
    expect(servers, servers.prom_port, f"histogram_count({sel})", 4.0)
    expect(servers, servers.prom_port, f"histogram_sum({sel})", 5555.0)
    # A quantile from the native buckets: the median of 5, 50, 500, 5000 lies in 50's bucket.
    median = value(servers, servers.prom_port, f"histogram_quantile(0.5, {sel})")
    assert 40 <= median <= 60, median


def test_text_formats_show_exponential_histograms_as_count_and_sum(servers):
    expect(servers, servers.text_port, 'demo_e2e_exp_latency_milliseconds_count{job="shop/shop-api"}', 4.0)
    expect(servers, servers.text_port, 'demo_e2e_exp_latency_milliseconds_sum{job="shop/shop-api"}', 5555.0)


def exemplars(port: int, q: str) -> list[dict]:
    now = time.time()
    params = urllib.parse.urlencode({"query": q, "start": now - 600, "end": now + 60})
    deadline = time.monotonic() + 30
    while True:
        status, body = http_get(f"http://127.0.0.1:{port}/api/v1/query_exemplars?{params}", timeout=5)
        assert status == 200, body
        data = json.loads(body)["data"]
        if data or time.monotonic() > deadline:
            return data
        time.sleep(0.5)


@pytest.mark.parametrize("source", ["scrape-openmetrics", "scrape-protobuf", "remote-write-prometheus"])
def test_exemplars_carry_the_trace_and_span_ids(servers, source):
    ns, matcher, which = SOURCES[source]
    want = {"trace_id": servers.trace_id, "span_id": servers.span_id}
    for selector, value in (("e2e_traced_requests_total", 2.0), ("e2e_latency_milliseconds_bucket", 7.0)):
        got = exemplars(port_of(servers, which), f"{ns}{selector}{{{matcher}}}")
        found = [(e, series["seriesLabels"]) for series in got for e in series["exemplars"] if e["labels"] == want]
        assert found, f"{selector}: no exemplar with {want} in {got}"
        e, labels = found[0]
        assert float(e["value"]) == value
        if selector.endswith("_bucket"):
            # the bucket its value falls in
            assert labels["le"] in ("10", "10.0"), labels


def test_failed_translations_are_counted(servers):
    samples = scrape(servers.self_port)
    failed = [v for n, lab, v in samples if n.startswith("otelcol_exporter_prometheusremotewrite_failed_translations")]
    assert failed and min(failed) >= 1, samples


def post_gauge(servers: Servers, name: str, service: str, t_ns: int, flags: int = 0) -> None:
    """One gauge point as OTLP/JSON straight to ferrotel (explicit timestamps and flags)."""
    import urllib.request

    point = {"timeUnixNano": str(t_ns), "asDouble": 1.0}
    if flags:
        point["flags"] = flags
    body = {
        "resourceMetrics": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeMetrics": [{"metrics": [{"name": name, "gauge": {"dataPoints": [point]}}]}],
            }
        ]
    }
    req = urllib.request.Request(
        f"http://127.0.0.1:{servers.http_port}/v1/metrics",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def test_no_recorded_value_ends_the_series_in_prometheus(servers):
    """A point flagged "no recorded value" is remote-written as Prometheus's stale NaN: the
    series drops out of instant queries at once (and leaves the pull exporters)."""
    q = f'e2e_stale{{collector_label="{POD_IP}"}}'
    now = time.time_ns()
    post_gauge(servers, "e2e.stale", "stale", now)
    expect(servers, servers.prom_port, q, 1.0)
    post_gauge(servers, "e2e.stale", "stale", now + 1_000_000_000, flags=1)
    deadline = time.monotonic() + 20
    while query(servers.prom_port, q) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert query(servers.prom_port, q) == [], "the stale marker did not end the series"
    # Not an empty answer because nothing arrived: the series has samples in the last minute.
    assert query(servers.prom_port, f"count_over_time({q}[1m])"), "the series never arrived"
    status, text = http_get(f"http://127.0.0.1:{servers.om_port}/metrics")
    assert status == 200 and "e2e_stale" not in text, text


def test_out_of_order_samples_are_refused_by_prometheus_and_counted_as_permanent_failures(servers):
    """Prometheus answers 400 to a sample older than the series' last one: ferrotel does not
    retry it and counts its points in otelcol_exporter_send_failed_metric_points."""
    def post(t_ns: int) -> None:
        post_gauge(servers, "e2e.ooo", "ooo", t_ns)

    def failed() -> float:
        return sum(
            v
            for n, lab, v in scrape(servers.self_port)
            if n.startswith("otelcol_exporter_send_failed_metric_points") and lab.get("exporter") == "prometheusremotewrite"
        )

    before = failed()
    now = time.time_ns()
    post(now)
    expect(servers, servers.prom_port, f'e2e_ooo{{collector_label="{POD_IP}"}}', 1.0)
    post(now - 60_000_000_000)
    deadline = time.monotonic() + 20
    while failed() <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert failed() == before + 1, servers.ferrotel.output(2000)
    log = servers.ferrotel.output(20000)
    assert "Exporting failed. Dropping data." in log and "remote write returned HTTP status 400 Bad Request" in log, log
