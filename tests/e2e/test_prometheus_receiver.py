"""The `prometheus` receiver end to end: ferrotel scrapes a real `prometheus-node-exporter`
(Debian's package) and a target served by this test that exposes every metric type in both
exposition formats (exemplars, escapes, `_created`, `target_info`, gzip, a series that
disappears), and the OTLP that reaches an OTLP sink is compared field by field with the
Go receiver's translation (names, types, temporality, monotonicity, start times,
attributes, resource)."""

from __future__ import annotations

import base64
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backends import NodeExporter
from harness import Ferrotel, free_port
from otlp_sink import Sink

CREATED = 1_700_000_000.25

OM_BODY = """# TYPE requests counter
# HELP requests Requests served, with a \\"quoted\\" word.
requests_total{path="/a\\\\b",note="line\\nbreak \\"q\\""} {n} # {{trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"}} 1.0 1700000001.5
requests_created{path="/a\\\\b",note="line\\nbreak \\"q\\""} 1700000000.25
# TYPE temperature_celsius gauge
# UNIT temperature_celsius celsius
temperature_celsius 21.5
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="1.0"} 3 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 0.5
latency_seconds_bucket{le="+Inf"} 4
latency_seconds_sum 2.5
latency_seconds_count 4
# TYPE rpc_duration summary
rpc_duration{quantile="0.5"} 3
rpc_duration{quantile="0.9"} 7
rpc_duration_sum 100
rpc_duration_count 20
# TYPE mystery unknown
mystery 42
# TYPE target info
target_info{env="prod",region="eu"} 1
{vanishing}# EOF
"""

TEXT_BODY = """# HELP hits_total Hits \\\\ with a backslash.
# TYPE hits_total counter
hits_total{code="200"} {n}
# TYPE queue_depth gauge
queue_depth NaN
# TYPE size_bytes histogram
size_bytes_bucket{le="10"} 2
size_bytes_bucket{le="+Inf"} 5
size_bytes_sum 120
size_bytes_count 5
# TYPE gc summary
gc{quantile="0.99"} 0.25
gc_sum 3
gc_count 9
untyped_sample{a="x"} +Inf
{vanishing}"""


class Target:
    """Serves /om (OpenMetrics, gzip'd when asked) and /text (text 0.0.4). The series
    `vanishing` is there for the first two scrapes of each path only."""

    def __init__(self):
        self.scrapes = {"/om": 0, "/text": 0}
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: D401 - quiet
                pass

            def do_GET(self):  # noqa: N802
                path = self.path.split("?")[0]
                if path not in target.scrapes:
                    self.send_response(404)
                    self.end_headers()
                    return
                with target.lock:
                    target.scrapes[path] += 1
                    n = target.scrapes[path]
                    target.headers.append({k.lower(): v for k, v in self.headers.items()})
                if path == "/om":
                    vanishing = '# TYPE vanishing counter\nvanishing_total{k="v"} 1\n' if n <= 2 else ""
                    body = OM_BODY.replace("{n}", str(10 * n)).replace("{vanishing}", vanishing).replace("{{", "{").replace("}}", "}")
                    ctype = "application/openmetrics-text; version=1.0.0; charset=utf-8"
                else:
                    vanishing = 'vanishing_gauge{k="v"} 1\n' if n <= 2 else ""
                    body = TEXT_BODY.replace("{n}", str(5 * n)).replace("{vanishing}", vanishing)
                    ctype = "text/plain; version=0.0.4; charset=utf-8"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                if "gzip" in self.headers.get("Accept-Encoding", "") and path == "/om":
                    data = gzip.compress(data)
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def node_exporter(tmp_path_factory):
    ne = NodeExporter(tmp_path_factory.mktemp("node-exporter"), ["--collector.disable-defaults", "--collector.loadavg", "--collector.cpu", "--collector.meminfo"])
    yield ne.port
    ne.stop()


def attrs(kvs) -> dict:
    return {kv.key: kv.value.string_value for kv in kvs}


def metrics_of(sink: Sink, job: str) -> list[tuple[dict, object]]:
    """(resource attributes, metric) for every metric of `job`, in arrival order."""
    out = []
    for rec in sink.requests("metrics"):
        for rm in rec.request.resource_metrics:
            res = attrs(rm.resource.attributes)
            if res.get("service.name") != job:
                continue
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out.append((res, sm.scope, m))
    return out


def last(sink: Sink, job: str, name: str):
    found = [(r, s, m) for r, s, m in metrics_of(sink, job) if m.name == name]
    assert found, f"no {name} from job {job}"
    return found[-1]


def test_scrapes_node_exporter_and_a_test_target_with_the_go_translation(tmp_path, node_exporter):
    target = Target()
    sink = Sink()
    metrics_port = free_port()
    cfg = {
        "receivers": {
            "prometheus": {
                "config": {
                    "scrape_configs": [
                        {
                            "job_name": "node",
                            "scrape_interval": "1s",
                            "static_configs": [{"targets": [f"127.0.0.1:{node_exporter}"]}],
                        },
                        {
                            "job_name": "om",
                            "scrape_interval": "1s",
                            "metrics_path": "/om",
                            "static_configs": [{"targets": [f"127.0.0.1:{target.port}"], "labels": {"team": "core"}}],
                            "basic_auth": {"username": "u", "password": "p$$w"},
                            # `$$1` is the collector's escape for Prometheus's `$1`.
                            "relabel_configs": [
                                {"source_labels": ["__address__"], "regex": "(.*):(.*)", "target_label": "host_port", "replacement": "$${2}"},
                            ],
                            "metric_relabel_configs": [
                                {"source_labels": ["__name__"], "regex": "(mys)tery", "target_label": "was", "replacement": "unknown_$$1"},
                            ],
                        },
                        {
                            "job_name": "text",
                            "scrape_interval": "1s",
                            "metrics_path": "/text",
                            "scrape_protocols": ["PrometheusText0.0.4"],
                            "authorization": {"credentials": "s3cret"},
                            "static_configs": [{"targets": [f"localhost:{target.port}"]}],
                        },
                    ]
                }
            }
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {
                "logs": {"level": "info"},
                "metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]},
            },
            "pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["otlp"]}},
        },
    }
    ft = Ferrotel(tmp_path, cfg, [metrics_port])
    try:
        ok = sink.wait_for(
            lambda: target.scrapes["/om"] >= 4
            and target.scrapes["/text"] >= 4
            and any(m.name == "node_load1" for _, _, m in metrics_of(sink, "node")),
            timeout=30,
        )
        time.sleep(1.5)
        assert ok, ft.output()
    finally:
        ft.stop()
        target.stop()
        sink.stop()

    # ---- what the scraper sent
    om_headers = [h for h in target.headers if "openmetrics" in h.get("accept", "")]
    assert om_headers, target.headers
    h = om_headers[0]
    assert h["accept"].startswith("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,")
    assert h["x-prometheus-scrape-timeout-seconds"] == "1"
    assert h["accept-encoding"] == "gzip"
    assert h["authorization"] == "Basic " + base64.b64encode(b"u:p$w").decode()
    text_headers = [h for h in target.headers if h.get("accept", "").startswith("text/plain;version=0.0.4;q=0.6")]
    assert text_headers, target.headers
    assert text_headers[0]["authorization"] == "Bearer s3cret"

    # ---- OpenMetrics target
    res, scope, m = last(sink, "om", "requests_total")
    assert res["service.name"] == "om"
    assert res["service.instance.id"] == f"127.0.0.1:{target.port}"
    assert "server.address" not in res  # loopback is not discernible
    assert res["server.port"] == str(target.port)
    assert res["url.scheme"] == "http"
    assert res["env"] == "prod" and res["region"] == "eu"  # target_info
    assert scope.name == "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
    assert m.WhichOneof("data") == "sum"
    assert m.sum.is_monotonic and m.sum.aggregation_temporality == 2
    assert m.description == 'Requests served, with a "quoted" word.'
    p = m.sum.data_points[0]
    assert attrs(p.attributes) == {"path": "/a\\b", "note": 'line\nbreak "q"', "team": "core", "host_port": str(target.port)}
    assert p.start_time_unix_nano == int(CREATED * 1e9) // 1000 * 1000 or abs(p.start_time_unix_nano - int(CREATED * 1e9)) < 1000
    assert p.as_double % 10 == 0 and p.as_double >= 30
    ex = p.exemplars[0]
    assert ex.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ex.span_id.hex() == "00f067aa0ba902b7"
    assert ex.as_double == 1.0 and ex.time_unix_nano == 1_700_000_001_500_000_000

    _, _, m = last(sink, "om", "temperature_celsius")
    assert m.WhichOneof("data") == "gauge" and m.unit == "celsius"
    assert m.gauge.data_points[0].as_double == 21.5
    assert m.gauge.data_points[0].start_time_unix_nano == 0

    _, _, m = last(sink, "om", "latency_seconds")
    assert m.WhichOneof("data") == "histogram" and m.histogram.aggregation_temporality == 2
    hp = m.histogram.data_points[0]
    assert list(hp.explicit_bounds) == [0.1, 1.0]
    assert list(hp.bucket_counts) == [1, 2, 1]
    assert hp.count == 4 and hp.sum == 2.5
    assert hp.exemplars[0].trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert hp.exemplars[0].time_unix_nano == hp.time_unix_nano  # no timestamp: the sample's

    _, _, m = last(sink, "om", "rpc_duration")
    assert m.WhichOneof("data") == "summary"
    sp = m.summary.data_points[0]
    assert (sp.count, sp.sum) == (20, 100.0)
    assert [(q.quantile, q.value) for q in sp.quantile_values] == [(0.5, 3.0), (0.9, 7.0)]

    _, _, m = last(sink, "om", "mystery")
    assert m.WhichOneof("data") == "gauge"
    assert attrs(m.gauge.data_points[0].attributes)["was"] == "unknown_mys"

    vanish = [m for _, _, m in metrics_of(sink, "om") if m.name == "vanishing_total"]
    assert vanish, sorted({m.name for _, _, m in metrics_of(sink, "om")})
    assert vanish[0].sum.data_points[0].flags == 0
    stale = [m for m in vanish if m.sum.data_points[0].flags == 1]
    assert stale, "the series that disappeared got no no-recorded-value point"
    assert not stale[0].sum.data_points[0].HasField("as_double")
    assert stale[0].sum.data_points[0].start_time_unix_nano == vanish[0].sum.data_points[0].start_time_unix_nano

    for name, want in [("up", 1.0), ("scrape_samples_scraped", 14.0)]:
        _, _, m = last(sink, "om", name)
        assert m.WhichOneof("data") == "gauge"
        assert m.gauge.data_points[0].as_double == want, name
    _, _, m = last(sink, "om", "scrape_duration_seconds")
    assert m.unit == "seconds" and 0 < m.gauge.data_points[0].as_double < 1
    for name in ("scrape_samples_post_metric_relabeling", "scrape_series_added"):
        last(sink, "om", name)

    # ---- text 0.0.4 target
    res, _, m = last(sink, "text", "hits_total")
    assert res["service.instance.id"] == f"localhost:{target.port}"
    assert "server.address" not in res
    assert m.sum.is_monotonic and m.description == "Hits \\ with a backslash."
    firsts = [mm for _, _, mm in metrics_of(sink, "text") if mm.name == "hits_total"]
    # Without _created the start is the first scrape's time (Go's initial-point adjuster).
    assert m.sum.data_points[0].start_time_unix_nano == firsts[0].sum.data_points[0].time_unix_nano
    _, _, m = last(sink, "text", "queue_depth")
    import math

    assert math.isnan(m.gauge.data_points[0].as_double) and m.gauge.data_points[0].flags == 0
    _, _, m = last(sink, "text", "size_bytes")
    assert list(m.histogram.data_points[0].bucket_counts) == [2, 3]
    _, _, m = last(sink, "text", "gc")
    assert [(q.quantile, q.value) for q in m.summary.data_points[0].quantile_values] == [(0.99, 0.25)]
    _, _, m = last(sink, "text", "untyped_sample")
    assert m.WhichOneof("data") == "gauge" and math.isinf(m.gauge.data_points[0].as_double)
    stale = [mm for _, _, mm in metrics_of(sink, "text") if mm.name == "vanishing_gauge" and mm.gauge.data_points[0].flags == 1]
    assert stale

    # ---- node exporter
    res, _, m = last(sink, "node", "node_load1")
    assert res["service.instance.id"] == f"127.0.0.1:{node_exporter}"
    assert m.WhichOneof("data") == "gauge" and m.gauge.data_points[0].as_double >= 0
    _, _, m = last(sink, "node", "node_cpu_seconds_total")
    assert m.WhichOneof("data") == "sum" and m.sum.is_monotonic
    modes = {attrs(p.attributes).get("mode") for p in m.sum.data_points}
    assert {"idle", "user", "system"} <= modes
    assert all("cpu" in attrs(p.attributes) for p in m.sum.data_points)
    _, _, m = last(sink, "node", "node_memory_MemTotal_bytes")
    assert m.gauge.data_points[0].as_double > 0
    _, _, m = last(sink, "node", "up")
    assert m.gauge.data_points[0].as_double == 1.0


def test_unreachable_target_reports_up_zero(tmp_path):
    sink = Sink()
    metrics_port = free_port()
    dead = free_port()
    cfg = {
        "receivers": {"prometheus": {"config": {"scrape_configs": [{"job_name": "dead", "scrape_interval": "1s", "static_configs": [{"targets": [f"127.0.0.1:{dead}"]}]}]}}},
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}},
            "pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["otlp"]}},
        },
    }
    ft = Ferrotel(tmp_path, cfg, [metrics_port])
    try:
        assert sink.wait_for(lambda: any(m.name == "up" for _, _, m in metrics_of(sink, "dead")), timeout=15), ft.output()
    finally:
        ft.stop()
        sink.stop()
    _, _, m = last(sink, "dead", "up")
    assert m.gauge.data_points[0].as_double == 0.0
    assert "Failed to scrape Prometheus endpoint" in ft.output()
