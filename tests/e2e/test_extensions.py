"""The pprof, zpages and healthcheckv2 extensions on a running ferrotel under load: a CPU
profile that decodes as profile.proto and names ferrotel's own functions, zpages listing
the running pipelines and extensions, and healthcheckv2 reporting each component's status."""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import urllib.request

from harness import Ferrotel, free_port, http_get
from pprof_proto import Profile, function_names


def _config(g, h, pprof_port, zpages_port, health_port):
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{g}"}, "http": {"endpoint": f"127.0.0.1:{h}"}}}},
        "processors": {"batch": {"timeout": "50ms"}},
        "exporters": {"debug": {"verbosity": "basic"}},
        "connectors": {"forward": {}},
        "extensions": {
            "pprof": {"endpoint": f"127.0.0.1:{pprof_port}"},
            "zpages": {"endpoint": f"127.0.0.1:{zpages_port}"},
            "healthcheckv2": {
                "use_v2": True,
                "http": {"endpoint": f"127.0.0.1:{health_port}", "config": {"enabled": True}},
                "component_health": {"include_permanent_errors": True},
            },
        },
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "none"}},
            "extensions": ["pprof", "zpages", "healthcheckv2"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["debug", "forward"]},
                "traces/out": {"receivers": ["forward"], "exporters": ["debug"]},
                "logs": {"receivers": ["otlp"], "exporters": ["debug"]},
            },
        },
    }


def _traces_body(i: int) -> bytes:
    spans = [
        {
            "traceId": f"{i + 1:016x}{j + 1:016x}",
            "spanId": f"{j + 1:016x}",
            "name": f"op-{j}",
            "kind": 2,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000100000000",
            "attributes": [{"key": "http.route", "value": {"stringValue": f"/r/{j % 7}"}}],
        }
        for j in range(200)
    ]
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "load"}}]}, "scopeSpans": [{"spans": spans}]}]}
    return json.dumps(body).encode()


def _load(http_port: int, stop: threading.Event, sent: list[int]):
    url = f"http://127.0.0.1:{http_port}/v1/traces"
    i = 0
    while not stop.is_set():
        req = urllib.request.Request(url, data=_traces_body(i), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                r.read()
                sent[0] += 1
        except OSError:
            time.sleep(0.01)
        i += 1


def _get_bytes(url: str, timeout: float):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers, r.read()


def test_pprof_zpages_healthcheckv2_on_a_loaded_collector(tmp_path):
    g, h, pp, zp, hp = (free_port() for _ in range(5))
    fx = Ferrotel(tmp_path, _config(g, h, pp, zp, hp), [g, h, pp, zp, hp])
    stop = threading.Event()
    sent = [0]
    loaders = [threading.Thread(target=_load, args=(h, stop, sent), daemon=True) for _ in range(2)]
    try:
        # healthcheckv2: every component OK once the pipelines run.
        deadline = time.monotonic() + 10
        while True:
            code, text = http_get(f"http://127.0.0.1:{hp}/status?verbose")
            if code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert code == 200, text
        status = json.loads(text)
        assert status["status"] == "StatusOK" and status["healthy"] is True, status
        pipelines = status["components"]
        assert set(pipelines) == {"extensions", "pipeline:traces", "pipeline:traces/out", "pipeline:logs"}, pipelines.keys()
        assert set(pipelines["pipeline:traces"]["components"]) == {"receiver:otlp", "processor:batch", "exporter:debug", "connector:forward"}
        assert set(pipelines["pipeline:traces/out"]["components"]) == {"connector:forward", "exporter:debug"}
        assert set(pipelines["extensions"]["components"]) == {"extension:pprof", "extension:zpages", "extension:healthcheckv2"}
        for p in pipelines.values():
            for name, c in p["components"].items():
                assert c["status"] == "StatusOK" and c["healthy"] is True, (name, c)
        code, text = http_get(f"http://127.0.0.1:{hp}/status?pipeline=logs")
        assert code == 200 and json.loads(text)["status"] == "StatusOK", text
        assert http_get(f"http://127.0.0.1:{hp}/status?pipeline=metrics")[0] == 404
        code, text = http_get(f"http://127.0.0.1:{hp}/config")
        assert code == 200, text
        conf = json.loads(text)
        assert conf["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == f"127.0.0.1:{h}"
        assert conf["service"]["pipelines"]["traces/out"] == {"receivers": ["forward"], "processors": [], "exporters": ["debug"]}

        # pprof: a CPU profile while load runs.
        for t in loaders:
            t.start()
        time.sleep(0.5)
        code, headers, body = _get_bytes(f"http://127.0.0.1:{pp}/debug/pprof/profile?seconds=2", timeout=120)
        assert code == 200
        assert headers.get("Content-Type") == "application/octet-stream"
        assert body[:2] == b"\x1f\x8b", "gzip'd"
        prof = Profile()
        prof.ParseFromString(gzip.decompress(body))
        st = prof.string_table
        assert st[0] == ""
        assert [(st[v.type], st[v.unit]) for v in prof.sample_type] == [("samples", "count"), ("cpu", "nanoseconds")]
        assert (st[prof.period_type.type], st[prof.period_type.unit]) == ("cpu", "nanoseconds")
        assert prof.period == 10_000_000
        assert prof.duration_nanos >= 1_900_000_000, prof.duration_nanos
        assert len(prof.sample) > 0
        assert all(s.value[1] == s.value[0] * prof.period for s in prof.sample)
        names = function_names(prof)
        own = [n for n in names if n.startswith(("components::", "runtime::", "ferrotel::", "pdata::", "<components::", "<runtime::", "<pdata::"))]
        assert own, f"no ferrotel function among the sampled frames: {sorted(set(names))[:60]}"
        assert sent[0] > 0

        # zpages: the running pipelines and extensions.
        code, html = http_get(f"http://127.0.0.1:{zp}/debug/pipelinez")
        assert code == 200, html
        for row in (
            "<td>traces</td><td>traces</td><td>false</td><td>otlp</td><td>batch</td><td>debug<br>forward (connector)</td>",
            "<td>traces/out</td><td>traces</td><td>false</td><td>forward (connector)</td><td></td><td>debug</td>",
            "<td>logs</td><td>logs</td><td>false</td><td>otlp</td><td></td><td>debug</td>",
        ):
            assert row in html, f"{row} not in {html}"
        code, html = http_get(f"http://127.0.0.1:{zp}/debug/extensionz")
        assert code == 200
        for ext in ("pprof", "zpages", "healthcheckv2"):
            assert f"<td>{ext}</td>" in html, html
        code, html = http_get(f"http://127.0.0.1:{zp}/debug/tracez")
        assert code == 200
        row = re.search(r"<tr><td>pipeline/traces</td>((?:<td>\d+</td>)+)</tr>", html)
        assert row, html
        cells = [int(c) for c in re.findall(r"<td>(\d+)</td>", row.group(1))]
        assert sum(cells[1:-1]) > 0, f"pushes into traces recorded in the latency buckets: {cells}"
        code, html = http_get(f"http://127.0.0.1:{zp}/debug/servicez")
        assert code == 200 and "<td>Command</td><td>ferrotel</td>" in html, html
    finally:
        stop.set()
        for t in loaders:
            if t.is_alive():
                t.join(timeout=10)
        rc = fx.stop()
    assert rc == 0, fx.output()
