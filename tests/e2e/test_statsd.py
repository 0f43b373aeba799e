"""statsd receiver with real StatsD clients from PyPI: `statsd` (plain StatsD over UDP and
TCP: counters, gauges with deltas, timers) and Datadog's `datadog` DogStatsD client (tags,
sample rates, histograms, distributions). The aggregated OTLP that reaches the sink is
checked against Go's statsdreceiver translation: counters as delta integer sums scaled by
the sample rate, gauges with +/- deltas applied, timers as a summary and histograms /
distributions as exponential histograms per `timer_histogram_mapping`, tags as sorted
attributes, the receiver's scope name."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import statsd
from datadog.dogstatsd import DogStatsd

from harness import Ferrotel, free_port
from otlp_sink import Sink

SCOPE = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/statsdreceiver"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def statsd_ferrotel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("statsd")
    sink = Sink()
    udp, tcp = _free_udp_port(), free_port()
    mapping = [
        {"statsd_type": "timer", "observer_type": "summary", "summary": {"percentiles": [0, 50, 100]}},
        {"statsd_type": "histogram", "observer_type": "histogram", "histogram": {"max_size": 20}},
    ]
    cfg = {
        "receivers": {
            "statsd": {"endpoint": f"127.0.0.1:{udp}", "aggregation_interval": "1s", "timer_histogram_mapping": mapping},
            "statsd/tcp": {"endpoint": f"127.0.0.1:{tcp}", "transport": "tcp", "aggregation_interval": "1s", "is_monotonic_counter": True},
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "none"}},
            "pipelines": {"metrics": {"receivers": ["statsd", "statsd/tcp"], "exporters": ["otlp"]}},
        },
    }
    f = Ferrotel(tmp, cfg, [tcp])
    yield f, sink, udp, tcp
    f.stop()
    sink.stop()


def _metrics(sink, prefix):
    out = {}
    for rec in sink.requests("metrics"):
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name.startswith(prefix):
                        out.setdefault(m.name, []).append((m, sm.scope))
    return out


def _wait(sink, ferrotel, prefix, names):
    deadline = time.monotonic() + 20
    got = {}
    while time.monotonic() < deadline:
        got = _metrics(sink, prefix)
        if all(f"{prefix}{n}" in got for n in names):
            # one more interval, so that nothing of this run is still held
            time.sleep(1.2)
            return _metrics(sink, prefix)
        time.sleep(0.1)
    raise AssertionError(f"got {sorted(got)}\n--- ferrotel ---\n{ferrotel.output(3000)}")


def _attrs(dp):
    return {kv.key: kv.value.string_value for kv in dp.attributes}


def _sum_ints(entries):
    return sum(dp.as_int for m, _ in entries for dp in m.sum.data_points)


def test_plain_statsd_client_over_udp(statsd_ferrotel):
    f, sink, udp, tcp = statsd_ferrotel
    p = f"s{uuid.uuid4().hex[:8]}."
    c = statsd.StatsClient("127.0.0.1", udp, prefix=p[:-1])
    c.incr("requests", 3)
    c.incr("requests")
    c.decr("requests")
    c.gauge("temp", 20)
    c.gauge("temp", -5, delta=True)
    c.gauge("temp", 2.5, delta=True)
    for ms in (10, 30, 20):
        c.timing("latency", ms)
    got = _wait(sink, f, p, ["requests", "temp", "latency"])

    (m, scope), = got[f"{p}requests"]
    assert scope.name == SCOPE
    assert m.sum.aggregation_temporality == 1 and not m.sum.is_monotonic  # DELTA
    assert m.sum.data_points[0].as_int == 3
    assert m.sum.data_points[0].start_time_unix_nano < m.sum.data_points[0].time_unix_nano

    (m, _), = got[f"{p}temp"]
    assert m.gauge.data_points[0].as_double == 17.5

    (m, _), = got[f"{p}latency"]
    dp = m.summary.data_points[0]
    assert (dp.count, dp.sum) == (3, 60.0)
    assert [(q.quantile, q.value) for q in dp.quantile_values] == [(0.0, 10.0), (0.5, 20.0), (1.0, 30.0)]


def test_plain_statsd_client_over_tcp(statsd_ferrotel):
    f, sink, udp, tcp = statsd_ferrotel
    p = f"t{uuid.uuid4().hex[:8]}."
    c = statsd.TCPStatsClient("127.0.0.1", tcp, prefix=p[:-1])
    for _ in range(5):
        c.incr("jobs")
    c.close()
    got = _wait(sink, f, p, ["jobs"])
    assert _sum_ints(got[f"{p}jobs"]) == 5
    m, _ = got[f"{p}jobs"][0]
    assert m.sum.is_monotonic


def test_dogstatsd_tags_sample_rates_histograms(statsd_ferrotel, monkeypatch):
    f, sink, udp, tcp = statsd_ferrotel
    p = f"d{uuid.uuid4().hex[:8]}."
    dd = DogStatsd(host="127.0.0.1", port=udp, namespace=p[:-1], disable_telemetry=True, disable_buffering=True, origin_detection_enabled=False)
    dd.increment("hits", 2, tags=["route:/a", "env:test"])
    dd.increment("hits", 1, tags=["env:test", "route:/a"])
    dd.increment("hits", 1, tags=["route:/b", "env:test"])
    # sampled at 0.25: the client sends it (random patched) and the receiver counts 4
    import datadog.dogstatsd.base as dd_base

    monkeypatch.setattr(dd_base, "random", lambda: 0.0)
    dd.increment("sampled", 1, sample_rate=0.25)
    for v in (1, 2, 4, 8):
        dd.histogram("size", v, tags=["unit:b"])
    dd.distribution("size.dist", 3)
    dd.close_socket()
    got = _wait(sink, f, p, ["hits", "sampled", "size", "size.dist"])

    hits = {tuple(sorted(_attrs(dp).items())): dp.as_int for m, _ in got[f"{p}hits"] for dp in m.sum.data_points}
    assert hits == {(("env", "test"), ("route", "/a")): 3, (("env", "test"), ("route", "/b")): 1}
    # tags are a sorted set
    m, _ = got[f"{p}hits"][0]
    assert [kv.key for kv in m.sum.data_points[0].attributes] == ["env", "route"]

    assert _sum_ints(got[f"{p}sampled"]) == 4

    (m, _), = got[f"{p}size"]
    dp = m.exponential_histogram.data_points[0]
    assert m.exponential_histogram.aggregation_temporality == 1
    assert (dp.count, dp.sum, dp.min, dp.max) == (4, 15.0, 1.0, 8.0)
    assert _attrs(dp) == {"unit": "b"}
    # go-expohisto: the four powers of two fit 20 buckets from scale 2 (index -1, 3, 7, 11)
    assert dp.scale == 2 and dp.positive.offset == -1
    assert list(dp.positive.bucket_counts) == [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]

    (m, _), = got[f"{p}size.dist"]
    assert m.exponential_histogram.data_points[0].count == 1
