"""The host_metrics receiver end to end: shared/configs/seed-hostmetrics.yaml runs with only
its endpoints changed (the logging exporter becomes an otlphttp exporter to a sink), and the
values agree with what a real prometheus-node-exporter (Debian's package) reads at the
same moment."""

from __future__ import annotations

import time

import pytest
import yaml

import pod_logs
from backends import NodeExporter
from harness import Ferrotel, free_port, scrape
from otlp_sink import Sink

SEED = pod_logs.SHARED_CONFIGS / "seed-hostmetrics.yaml"


def points(requests, since_ns: int = 0) -> dict:
    """{(metric name, sorted attribute items): (value, time_unix_nano, unit, kind)} of the
    newest data point of each series in these metrics requests."""
    out: dict = {}
    for rec in requests:
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    data = getattr(m, kind)
                    for p in data.data_points:
                        if p.time_unix_nano < since_ns:
                            continue
                        attrs = tuple(sorted((kv.key, kv.value.string_value) for kv in p.attributes))
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        key = (m.name, attrs)
                        if key not in out or out[key][1] <= p.time_unix_nano:
                            out[key] = (value, p.time_unix_nano, m.unit, kind, getattr(data, "is_monotonic", None), p.start_time_unix_nano)
    return out


def seed_config(sink: Sink, grpc_port: int, metrics_port: int) -> dict:
    """seed-hostmetrics.yaml with its endpoints changed: the OTLP receiver on a free port, the
    logging exporter replaced by an otlphttp exporter to the sink, self-metrics on a free port."""
    cfg = yaml.safe_load(SEED.read_text())
    cfg["receivers"]["otlp"]["protocols"]["grpc"] = {"endpoint": f"127.0.0.1:{grpc_port}"}
    cfg["exporters"] = {"otlphttp": {"endpoint": sink.http_endpoint}}
    for p in cfg["service"]["pipelines"].values():
        p["exporters"] = ["otlphttp" if e == "logging" else e for e in p["exporters"]]
    cfg["service"]["telemetry"] = {
        "metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}
    }
    return cfg


def test_seed_hostmetrics_runs_with_go_names_and_the_filter_drops_network_connections(tmp_path):
    sink = Sink()
    grpc_port, metrics_port = free_port(), free_port()
    cfg = seed_config(sink, grpc_port, metrics_port)
    assert cfg["receivers"]["hostmetrics"]["collection_interval"] == "10s", "the seed's own interval"
    fc = Ferrotel(tmp_path, cfg, [grpc_port, metrics_port])
    try:
        # initial_delay 1s, then every 10s: the first scrape lands within a few seconds
        assert sink.wait_for(lambda: any(n == "system.network.io" for n, _ in points(sink.requests("metrics"))), timeout=20), fc.output()
        got = points(sink.requests("metrics"))
        names = {n for n, _ in got}
        assert {
            "system.cpu.time",
            "system.memory.usage",
            "system.cpu.load_average.1m",
            "system.cpu.load_average.5m",
            "system.cpu.load_average.15m",
            "system.network.io",
            "system.network.packets",
            "system.network.errors",
            "system.network.dropped",
        } <= names, names
        assert "system.network.connections" not in names, "filter/network-connections drops it"
        # units, types and attributes as Go's scrapers give them
        v, _, unit, kind, mono, start = got[("system.cpu.time", (("cpu", "cpu0"), ("state", "user")))]
        assert (unit, kind, mono) == ("s", "sum", True) and v > 0 and start > 0
        v, _, unit, kind, mono, _ = got[("system.memory.usage", (("state", "used"),))]
        assert (unit, kind, mono) == ("By", "sum", False) and v > 0
        assert {dict(a)["state"] for n, a in got if n == "system.memory.usage"} == {
            "used", "free", "buffered", "cached", "slab_reclaimable", "slab_unreclaimable"}
        v, _, unit, kind, mono, _ = got[("system.network.io", (("device", "lo"), ("direction", "receive")))]
        assert (unit, kind, mono) == ("By", "sum", True)
        _, _, unit, kind, _, _ = got[("system.cpu.load_average.1m", ())]
        assert (unit, kind) == ("{thread}", "gauge")
        # every scraper's own scope
        scopes = {sm.scope.name.rsplit("/", 1)[-1] for r in sink.requests("metrics") for rm in r.request.resource_metrics for sm in rm.scope_metrics}
        assert scopes == {"cpuscraper", "memoryscraper", "loadscraper", "networkscraper"}, scopes
        # the connections points were scraped, then counted as filtered
        samples = scrape(metrics_port)
        filtered = [v for n, lab, v in samples if n == "otelcol_processor_filter_datapoints_filtered" and lab.get("filter") == "filter/network-connections"]
        assert filtered and filtered[0] >= 12, samples
        scraped = [v for n, lab, v in samples if n == "otelcol_scraper_scraped_metric_points" and lab.get("scraper") == "network"]
        assert scraped and scraped[0] > filtered[0], samples
    finally:
        fc.stop()
        sink.stop()


# ---- against prometheus-node-exporter -----------------------------------------------------

def node_metrics(node: NodeExporter) -> dict:
    """{(name, sorted label items): value} of node-exporter's /metrics."""
    return {(name, tuple(sorted(labels.items()))): value for name, labels, value in scrape(node.port)}


@pytest.fixture
def node_exporter(tmp_path):
    node = NodeExporter(
        tmp_path / "node-exporter",
        ["--collector.disable-defaults", "--collector.cpu", "--collector.meminfo", "--collector.loadavg",
         "--collector.netdev", "--collector.filesystem",
         # Debian's default excludes the loopback device, the one interface a test can load
         "--collector.netdev.device-exclude="],
    )
    yield node
    node.stop()


def test_values_agree_with_prometheus_node_exporter_at_the_same_moment(tmp_path, node_exporter):
    """Counters (cpu seconds, lo bytes and packets) read by ferrotel lie between two
    node-exporter scrapes taken just before and just after ferrotel's scrape; gauges (load,
    memory) lie within the two scrapes' range widened by a stated tolerance; totals that do
    not move (MemTotal, the root file system's size and inodes) are equal."""
    sink = Sink()
    metrics_port = free_port()
    cfg = {
        "receivers": {"host_metrics": {
            "collection_interval": "1s",
            "initial_delay": "0s",
            "scrapers": {
                "cpu": None,
                "load": None,
                "memory": {"metrics": {"system.memory.limit": {"enabled": True}, "system.linux.memory.available": {"enabled": True}}},
                "network": {"include": {"match_type": "strict", "interfaces": ["lo"]}},
                "filesystem": {"include_mount_points": {"match_type": "strict", "mount_points": ["/"]}},
            },
        }},
        "exporters": {"otlphttp": {"endpoint": sink.http_endpoint}},
        "service": {
            "telemetry": {"metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}},
            "pipelines": {"metrics": {"receivers": ["host_metrics"], "exporters": ["otlphttp"]}},
        },
    }
    fc = Ferrotel(tmp_path, cfg, [metrics_port])
    try:
        assert sink.wait_for(lambda: sink.requests("metrics"), timeout=15), fc.output()
        before = node_metrics(node_exporter)
        t_before = time.time_ns()
        # the first ferrotel scrape that started after node-exporter's first answer
        assert sink.wait_for(lambda: any(v[1] > t_before for v in points(sink.requests("metrics")).values()), timeout=15), fc.output()
        after = node_metrics(node_exporter)
        got = points(sink.requests("metrics"), since_ns=t_before)

        def between(what, f, a, b, tol=0.0):
            lo, hi = min(a, b) - tol, max(a, b) + tol
            assert lo <= f <= hi, f"{what}: ferrotel {f} not within node-exporter's [{a}, {b}] ± {tol}"

        def node(name, **labels):
            key = (name, tuple(sorted(labels.items())))
            assert key in before and key in after, f"node-exporter has no {key}"
            return before[key], after[key]

        # load averages: the same /proc/loadavg, two decimals
        for window in ("1m", "5m", "15m"):
            f = got[(f"system.cpu.load_average.{window}", ())][0]
            between(f"load {window}", f, *node(f"node_load{window[:-1]}"), tol=0.005)

        # cpu seconds per cpu and mode (user hz ticks; node-exporter prints more digits)
        modes = {"user": "user", "system": "system", "idle": "idle", "nice": "nice", "iowait": "wait", "irq": "interrupt", "softirq": "softirq", "steal": "steal"}
        cpus = sorted({dict(a)["cpu"] for n, a in got if n == "system.cpu.time"})
        assert cpus, got.keys()
        for cpu in cpus:
            for mode, state in modes.items():
                f = got[("system.cpu.time", (("cpu", cpu), ("state", state)))][0]
                between(f"cpu {cpu} {mode}", f, *node("node_cpu_seconds_total", cpu=cpu[3:], mode=mode), tol=0.011)

        # loopback traffic: monotonic counters, read between the two node-exporter scrapes
        for direction, prefix in (("receive", "receive"), ("transmit", "transmit")):
            f = got[("system.network.io", (("device", "lo"), ("direction", direction)))][0]
            between(f"lo bytes {direction}", f, *node(f"node_network_{prefix}_bytes_total", device="lo"))
            f = got[("system.network.packets", (("device", "lo"), ("direction", direction)))][0]
            between(f"lo packets {direction}", f, *node(f"node_network_{prefix}_packets_total", device="lo"))

        # memory: MemTotal is fixed; the rest moves with the machine's other work, so the
        # tolerance is 1% of MemTotal beyond what the two scrapes saw
        total = got[("system.memory.limit", ())][0]
        assert total == before[("node_memory_MemTotal_bytes", ())] == after[("node_memory_MemTotal_bytes", ())]
        tol = total * 0.01
        state = lambda s: got[("system.memory.usage", (("state", s),))][0]  # noqa: E731
        between("free", state("free"), *node("node_memory_MemFree_bytes"), tol=tol)
        between("buffered", state("buffered"), *node("node_memory_Buffers_bytes"), tol=tol)
        used_node = [total - m for m in node("node_memory_MemAvailable_bytes")]
        between("used (MemTotal - MemAvailable)", state("used"), *used_node, tol=tol)
        cached_node = [c + s for c, s in zip(node("node_memory_Cached_bytes"), node("node_memory_SReclaimable_bytes"))]
        between("cached (Cached + SReclaimable)", state("cached"), *cached_node, tol=tol)
        between("slab_unreclaimable", state("slab_unreclaimable"), *node("node_memory_SUnreclaim_bytes"), tol=tol)
        between("available", got[("system.linux.memory.available", ())][0], *node("node_memory_MemAvailable_bytes"), tol=tol)

        # the root file system: its size is fixed (used + free + reserved = blocks x fragment
        # size); free space moves with the machine's other work, so 1% of the size beyond
        # what the two scrapes saw
        fs = {dict(a)["state"]: (v, dict(a)) for (n, a), (v, *_rest) in got.items() if n == "system.filesystem.usage" and dict(a)["mountpoint"] == "/"}
        assert set(fs) == {"used", "free", "reserved"}, fs
        labels = fs["used"][1]
        nlabels = {"device": labels["device"], "fstype": labels["type"], "mountpoint": "/"}
        size = sum(v for v, _ in fs.values())
        assert size == before[("node_filesystem_size_bytes", tuple(sorted(nlabels.items())))], (size, nlabels)
        between("root free", fs["free"][0], *node("node_filesystem_avail_bytes", **nlabels), tol=size * 0.01)
        reserved_node = [f - a for f, a in zip(node("node_filesystem_free_bytes", **nlabels), node("node_filesystem_avail_bytes", **nlabels))]
        between("root reserved", fs["reserved"][0], *reserved_node, tol=size * 0.01)
        inodes = {dict(a)["state"]: v for (n, a), (v, *_rest) in got.items() if n == "system.filesystem.inodes.usage" and dict(a)["mountpoint"] == "/"}
        assert inodes["used"] + inodes["free"] == before[("node_filesystem_files", tuple(sorted(nlabels.items())))]
    finally:
        fc.stop()
        sink.stop()


def test_process_scraper_reports_ferrotel_itself_with_go_resource_attributes(tmp_path):
    """The process scraper, filtered to the collector's own executable name: one resource
    whose pid is the ferrotel process, with its command line and owner, and CPU time that
    does not go backwards."""
    sink = Sink()
    metrics_port = free_port()
    cfg = {
        "receivers": {"host_metrics": {
            "collection_interval": "500ms",
            "initial_delay": "0s",
            "scrapers": {"process": {
                "mute_process_exe_error": True,
                "include": {"match_type": "strict", "names": ["ferrotel"]},
                "metrics": {"process.threads": {"enabled": True}},
            }},
        }},
        "exporters": {"otlphttp": {"endpoint": sink.http_endpoint}},
        "service": {
            "telemetry": {"metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}},
            "pipelines": {"metrics": {"receivers": ["host_metrics"], "exporters": ["otlphttp"]}},
        },
    }
    fc = Ferrotel(tmp_path, cfg, [metrics_port])
    pid = fc.proc.pid

    def own(rec):
        for rm in rec.request.resource_metrics:
            attrs = {kv.key: kv.value for kv in rm.resource.attributes}
            if "process.pid" in attrs and attrs["process.pid"].int_value == pid:
                yield attrs, rm
    try:
        assert sink.wait_for(lambda: sum(1 for r in sink.requests("metrics") for _ in own(r)) >= 2, timeout=15), fc.output()
        seen = [x for r in sink.requests("metrics") for x in own(r)]
        attrs, rm = seen[-1]
        assert list(attrs) == ["process.pid", "process.parent_pid", "process.executable.name", "process.executable.path",
                               "process.command", "process.command_line", "process.owner"]
        assert attrs["process.executable.name"].string_value == "ferrotel"
        assert attrs["process.command_line"].string_value.endswith(f"--config {fc.config_path}")
        assert attrs["process.parent_pid"].int_value > 0
        metrics = {m.name: m for sm in rm.scope_metrics for m in sm.metrics}
        assert set(metrics) == {"process.cpu.time", "process.memory.usage", "process.memory.virtual", "process.disk.io", "process.threads"}
        assert metrics["process.threads"].sum.data_points[0].as_int >= 2
        rss = metrics["process.memory.usage"].sum.data_points[0].as_int
        assert 1 << 20 < rss < 1 << 31, rss

        def user_cpu(rm):
            m = next(m for sm in rm.scope_metrics for m in sm.metrics if m.name == "process.cpu.time")
            return next(p.as_double for p in m.sum.data_points if p.attributes[0].value.string_value == "user")
        assert user_cpu(seen[0][1]) <= user_cpu(seen[-1][1])
    finally:
        fc.stop()
        sink.stop()
