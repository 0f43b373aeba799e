"""http_check receiver against real HTTP servers on 127.0.0.1 (the stdlib's http.server):
the metrics that reach the OTLP sink are those Go's documentation.md describes —
`httpcheck.status` (one point per status class, 1 for the response's class, with
`http.url`, `http.status_code`, `http.method`, `http.status_class`), `httpcheck.duration`
(ms, `http.url`) and `httpcheck.error` (`http.url`, `error.message`) for a refused
connection."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import Ferrotel, free_port
from otlp_sink import Sink


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):  # noqa: D401 - quiet
        pass

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        _Handler.seen.append((self.command, self.path, dict(self.headers), body))
        code = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
        if self.path == "/slow":
            time.sleep(0.2)
        self.send_response(code)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = _answer  # noqa: N815 - http.server's naming
    do_POST = _answer  # noqa: N815
    do_HEAD = _answer  # noqa: N815


@pytest.fixture(scope="module")
def http_check_ferrotel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("httpcheck")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    refused = free_port()
    sink = Sink()
    base = f"http://127.0.0.1:{port}"
    cfg = {
        "receivers": {
            "http_check": {
                "collection_interval": "1s",
                "initial_delay": "0s",
                "targets": [
                    {"endpoint": f"{base}/status/200", "endpoints": [f"{base}/status/302", f"{base}/slow"]},
                    {"endpoint": f"{base}/status/500", "method": "POST", "headers": {"x-probe": "ferrotel"}, "body": "ping"},
                    {"endpoint": f"http://127.0.0.1:{refused}/"},
                ],
            },
            # the deprecated spelling answers too
            "httpcheck/legacy": {"collection_interval": "1s", "initial_delay": "0s", "targets": [{"endpoint": f"{base}/status/404", "method": "HEAD"}]},
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "none"}},
            "pipelines": {"metrics": {"receivers": ["http_check", "httpcheck/legacy"], "exporters": ["otlp"]}},
        },
    }
    f = Ferrotel(tmp, cfg, [])
    yield f, sink, base, refused
    f.stop()
    sink.stop()
    server.shutdown()


def _attrs(dp):
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in dp.attributes}


def _points(sink, name):
    out = []
    for rec in sink.requests("metrics"):
        for rm in rec.request.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        kind = m.WhichOneof("data")
                        out.extend((m, sm.scope, dp) for dp in getattr(m, kind).data_points)
    return out


def test_status_duration_and_error_metrics(http_check_ferrotel):
    f, sink, base, refused = http_check_ferrotel
    down = f"http://127.0.0.1:{refused}/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        urls = {_attrs(dp)["http.url"] for _, _, dp in _points(sink, "httpcheck.status")}
        if len(urls) >= 6:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"status for {urls}\n{f.output(3000)}")

    status = _points(sink, "httpcheck.status")
    m, scope, _ = status[0]
    assert scope.name == "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/httpcheckreceiver"
    assert m.unit == "1" and m.sum.aggregation_temporality == 2 and not m.sum.is_monotonic
    hot = {}
    for _, _, dp in status:
        a = _attrs(dp)
        if dp.as_int == 1:
            hot[a["http.url"]] = (a["http.status_code"], a["http.method"], a["http.status_class"])
    assert hot == {
        f"{base}/status/200": (200, "GET", "2xx"),
        # a 302 without Location is the answer in both Go's client and this one
        f"{base}/status/302": (302, "GET", "3xx"),
        f"{base}/slow": (200, "GET", "2xx"),
        f"{base}/status/500": (500, "POST", "5xx"),
        f"{base}/status/404": (404, "HEAD", "4xx"),
    }
    # every URL has its five classes per scrape
    per_scrape = [dp for _, _, dp in status if _attrs(dp)["http.url"] == down]
    assert {_attrs(dp)["http.status_class"] for dp in per_scrape} == {"1xx", "2xx", "3xx", "4xx", "5xx"}
    assert all(dp.as_int == 0 and _attrs(dp)["http.status_code"] == 0 for dp in per_scrape)

    durations = {_attrs(dp)["http.url"]: dp.as_int for m, _, dp in _points(sink, "httpcheck.duration")}
    assert durations[f"{base}/slow"] >= 200
    m, _, _ = _points(sink, "httpcheck.duration")[0]
    assert m.unit == "ms" and m.WhichOneof("data") == "gauge"

    errors = [(_attrs(dp), dp.as_int) for _, _, dp in _points(sink, "httpcheck.error")]
    assert errors and all(a["http.url"] == down and v == 1 for a, v in errors)
    assert errors[0][0]["error.message"] == f'Get "{down}": dial tcp 127.0.0.1:{refused}: connect: connection refused'

    post = [s for s in _Handler.seen if s[0] == "POST"]
    assert post and post[0][2].get("x-probe") == "ferrotel" and post[0][3] == b"ping"
