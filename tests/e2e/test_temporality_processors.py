"""The official Python SDK's metrics (cumulative, and with a delta temporality preference) go
through ferrotel with `cumulative_to_delta`, `delta_to_cumulative` and `metrics_transform`
(the last under its deprecated name `metricstransform`) to an OTLP sink, and come out with the
temporality, values and names the Go processors give them."""

from __future__ import annotations

import pytest

from harness import Ferrotel, free_port, metric_sum, pipeline_config, scrape
from otlp_sink import Sink

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

DELTA, CUMULATIVE = 1, 2
BOUNDS = [10.0, 100.0]


@pytest.fixture()
def sink():
    s = Sink()
    yield s
    s.stop()


def start(tmp_path, sink: Sink, processors: dict) -> tuple[Ferrotel, int, int]:
    g, h, m = free_port(), free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}
    cfg = pipeline_config(g, h, exporters, processors=processors, signals=("metrics",), metrics_port=m)
    return Ferrotel(tmp_path, cfg, [g, h]), g, m


class Sdk:
    """A meter provider exporting over OTLP/gRPC to ferrotel only when told to (flush)."""

    def __init__(self, port: int, delta: bool):
        temporality = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA} if delta else {}
        exporter = OTLPMetricExporter(endpoint=f"127.0.0.1:{port}", insecure=True, preferred_temporality=temporality)
        # An interval far longer than the test: exports happen on force_flush only.
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        views = [View(instrument_name="e2e.size", aggregation=ExponentialBucketHistogramAggregation())]
        self.provider = MeterProvider(resource=Resource.create({"service.name": "e2e-temporality"}), metric_readers=[reader], views=views)
        meter = self.provider.get_meter("e2e.temporality", "0.1.0")
        self.requests = meter.create_counter("e2e.requests", unit="{request}")
        self.latency = meter.create_histogram("e2e.latency", unit="ms", explicit_bucket_boundaries_advisory=BOUNDS)
        self.queue = meter.create_up_down_counter("e2e.queue")
        self.size = meter.create_histogram("e2e.size", unit="By")

    def flush(self) -> None:
        assert self.provider.force_flush(10_000)

    def close(self) -> None:
        self.provider.shutdown()


def points(sink: Sink, name: str) -> list[tuple[object, object]]:
    """(metric data, point) of every point named `name`, in time order (the exporter's
    queue may deliver requests out of order)."""
    out = []
    for rec in sink.requests("metrics"):
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name != name:
                        continue
                    kind = m.WhichOneof("data")
                    data = getattr(m, kind)
                    out.extend((data, p) for p in data.data_points)
    return sorted(out, key=lambda dp: dp[1].time_unix_nano)


def wait_points(sink: Sink, name: str, n: int, ferrotel: Ferrotel) -> list[tuple[object, object]]:
    assert sink.wait_for(lambda: len(points(sink, name)) >= n, timeout=20), f"{name}: {len(points(sink, name))} of {n} points\n{ferrotel.output(3000)}"
    return points(sink, name)


def steps(sdk: Sdk) -> None:
    """Three collections: the counter grows by 5, 7, 3; the histogram gets {1, 50}, {500}, {};
    the exponential histogram {3, 5} then {1000} (a wider range: a coarser scale)."""
    sdk.requests.add(5, {"route": "/a"})
    sdk.latency.record(1)
    sdk.latency.record(50)
    sdk.size.record(3)
    sdk.size.record(5)
    sdk.queue.add(4)
    sdk.flush()
    sdk.requests.add(7, {"route": "/a"})
    sdk.latency.record(500)
    sdk.size.record(1000)
    sdk.queue.add(-1)
    sdk.flush()
    sdk.requests.add(3, {"route": "/a"})
    sdk.flush()


def test_cumulative_sdk_metrics_become_deltas(tmp_path, sink):
    fx, port, mport = start(tmp_path, sink, {"cumulative_to_delta": {}})
    sdk = Sdk(port, delta=False)
    try:
        steps(sdk)
        counter = wait_points(sink, "e2e.requests", 3, fx)
        assert [d.aggregation_temporality for d, _ in counter] == [DELTA] * 3
        assert [p.as_int for _, p in counter] == [5, 7, 3]
        # each delta starts where the previous point ended; the first keeps the SDK's start
        for (_, prev), (_, cur) in zip(counter, counter[1:]):
            assert cur.start_time_unix_nano == prev.time_unix_nano
        hist = wait_points(sink, "e2e.latency", 3, fx)
        assert [d.aggregation_temporality for d, _ in hist] == [DELTA] * 3
        assert [(p.count, p.sum, list(p.bucket_counts)) for _, p in hist] == [(2, 51.0, [1, 1, 0]), (1, 500.0, [0, 0, 1]), (0, 0.0, [0, 0, 0])]
        # min and max are not deltas: removed from every converted point
        assert not any(p.HasField("min") or p.HasField("max") for _, p in hist)
        # exponential histograms: the second point is the first one's difference at its
        # coarser scale
        size = [p for _, p in wait_points(sink, "e2e.size", 2, fx)]
        assert [(p.count, p.sum) for p in size[:2]] == [(2, 8.0), (1, 1000.0)]
        assert sum(size[1].positive.bucket_counts) + size[1].zero_count == 1
        assert size[1].scale < size[0].scale
        # a non-monotonic sum is left cumulative
        queue = wait_points(sink, "e2e.queue", 3, fx)
        assert [(d.aggregation_temporality, p.as_int) for d, p in queue] == [(CUMULATIVE, 4), (CUMULATIVE, 3), (CUMULATIVE, 3)]
    finally:
        sdk.close()
        fx.stop()


def test_delta_sdk_metrics_become_cumulative(tmp_path, sink):
    fx, port, mport = start(tmp_path, sink, {"deltatocumulative": {"max_stale": "1m"}})
    sdk = Sdk(port, delta=True)
    try:
        steps(sdk)
        counter = wait_points(sink, "e2e.requests", 3, fx)
        assert [d.aggregation_temporality for d, _ in counter] == [CUMULATIVE] * 3
        assert [p.as_int for _, p in counter] == [5, 12, 15]
        # the running total keeps the start of its first delta
        assert len({p.start_time_unix_nano for _, p in counter}) == 1
        hist = [p for _, p in wait_points(sink, "e2e.latency", 2, fx)]
        assert [(p.count, p.sum, list(p.bucket_counts)) for p in hist[:2]] == [(2, 51.0, [1, 1, 0]), (3, 551.0, [1, 1, 1])]
        assert (hist[1].min, hist[1].max) == (1.0, 500.0)
        # exponential histograms of different scales add up at the coarser one
        size = [p for _, p in wait_points(sink, "e2e.size", 2, fx)]
        assert [(p.count, p.sum) for p in size[:2]] == [(2, 8.0), (3, 1008.0)]
        assert sum(size[1].positive.bucket_counts) + size[1].zero_count == 3
        assert size[1].scale <= size[0].scale
        samples = scrape(mport)
        assert metric_sum(samples, "otelcol_deltatocumulative_streams_tracked") >= 2
        assert metric_sum(samples, "otelcol_deltatocumulative_streams_max_stale") == 60
        assert metric_sum(samples, "otelcol_deltatocumulative_datapoints") >= 5
    finally:
        sdk.close()
        fx.stop()


def test_metrics_transform_renames_labels_and_scales(tmp_path, sink):
    processors = {
        "metricstransform": {
            "transforms": [
                {
                    "include": r"^e2e\.(.*)$",
                    "match_type": "regexp",
                    "action": "update",
                    "new_name": "app.$1",
                    "operations": [
                        {"action": "add_label", "new_label": "env", "new_value": "test"},
                        {"action": "update_label", "label": "route", "new_label": "http.route", "value_actions": [{"value": "/a", "new_value": "/api"}]},
                    ],
                },
                {"include": "app.latency", "action": "update", "operations": [{"action": "experimental_scale_value", "experimental_scale": 0.001}]},
                {"include": "app.requests", "action": "insert", "new_name": "app.requests.double", "operations": [{"action": "toggle_scalar_data_type"}]},
            ]
        }
    }
    fx, port, _ = start(tmp_path, sink, processors)
    sdk = Sdk(port, delta=False)
    try:
        steps(sdk)
        counter = wait_points(sink, "app.requests", 3, fx)
        assert not points(sink, "e2e.requests")
        attrs = {kv.key: kv.value.string_value for kv in counter[0][1].attributes}
        assert attrs == {"env": "test", "http.route": "/api"}
        assert [p.as_int for _, p in counter] == [5, 12, 15]
        doubles = wait_points(sink, "app.requests.double", 3, fx)
        assert [p.WhichOneof("value") for _, p in doubles] == ["as_double"] * 3
        assert [p.as_double for _, p in doubles] == [5.0, 12.0, 15.0]
        hist = wait_points(sink, "app.latency", 1, fx)[0][1]
        assert list(hist.explicit_bounds) == [0.01, 0.1]
        assert hist.sum == pytest.approx(0.051)
    finally:
        sdk.close()
        fx.stop()
