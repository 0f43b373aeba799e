"""fluent_forward receiver with real Fluent clients: the `fluent-logger` library from PyPI
(Message mode, integer and EventTime timestamps, its logging handler) and, when the npm
packages are installed, the `fluent-logger` package from npm (PackedForward and
CompressedPackedForward with `requireAckResponse`). The records reaching the OTLP sink are
checked against what Go's fluentforwardreceiver makes of the same events: the tag in
`fluent.tag`, `message`/`log` as the body, every other key an attribute with its msgpack
type, the event time as the record's time."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
import uuid

import pytest
from fluent import handler as fluent_handler
from fluent import sender as fluent_sender

from harness import NODE_DIR, Ferrotel, free_port, metric_sum, scrape
from otlp_sink import Sink


@pytest.fixture(scope="module")
def fluent_ferrotel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fluent")
    sink = Sink()
    port, legacy, metrics = free_port(), free_port(), free_port()
    cfg = {
        "receivers": {
            "fluent_forward": {"endpoint": f"127.0.0.1:{port}"},
            # the deprecated spelling answers too
            "fluentforward/legacy": {"endpoint": f"127.0.0.1:{legacy}"},
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "detailed", "address": f"127.0.0.1:{metrics}"}},
            "pipelines": {"logs": {"receivers": ["fluent_forward", "fluentforward/legacy"], "exporters": ["otlp"]}},
        },
    }
    f = Ferrotel(tmp, cfg, [port, legacy, metrics])
    yield f, sink, port, legacy, metrics
    f.stop()
    sink.stop()


def _value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind)


def _records(sink, run):
    out = []
    for rec in sink.requests("logs"):
        for rl in rec.request.resource_logs:
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    attrs = {kv.key: _value(kv.value) for kv in r.attributes}
                    if run in json.dumps([_value(r.body), attrs], default=str):
                        out.append((r, attrs))
    return out


def _wait(sink, ferrotel, run, n):
    deadline = time.monotonic() + 20
    got = []
    while time.monotonic() < deadline:
        got = _records(sink, run)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{len(got)} of {n} records arrived\n--- ferrotel ---\n{ferrotel.output(3000)}")


def test_pypi_fluent_logger_message_mode(fluent_ferrotel):
    f, sink, port, legacy, metrics = fluent_ferrotel
    run = uuid.uuid4().hex
    before = time.time_ns()
    nano = fluent_sender.FluentSender("app", host="127.0.0.1", port=port, nanosecond_precision=True)
    assert nano.emit("follow", {"message": f"hello {run}", "user": "alice", "n": 3, "ratio": 0.5, "ok": True, "nested": {"k": "v"}, "list": [1, "x"], "none": None})
    nano.close()
    secs = fluent_sender.FluentSender("app", host="127.0.0.1", port=legacy)
    assert secs.emit_with_time("plain", 1_700_000_000, {"log": f"fluent-bit style {run}", "stream": "stdout"})
    secs.close()
    got = {_value(r.body): (r, a) for r, a in _wait(sink, f, run, 2)}

    r, a = got[f"hello {run}"]
    # message mode: the tag first, then the record's keys; msgpack types kept
    assert list(a) == ["fluent.tag", "user", "n", "ratio", "ok", "nested", "list", "none"]
    assert a == {"fluent.tag": "app.follow", "user": "alice", "n": 3, "ratio": 0.5, "ok": True, "nested": {"k": "v"}, "list": [1, "x"], "none": None}
    # EventTime keeps nanoseconds
    assert before <= r.time_unix_nano <= time.time_ns()
    assert r.observed_time_unix_nano == 0

    r, a = got[f"fluent-bit style {run}"]
    assert a == {"fluent.tag": "app.plain", "stream": "stdout"}
    assert r.time_unix_nano == 1_700_000_000 * 10**9


def test_pypi_fluent_logging_handler(fluent_ferrotel):
    f, sink, port, *_ = fluent_ferrotel
    run = uuid.uuid4().hex
    h = fluent_handler.FluentHandler("py.logging", host="127.0.0.1", port=port)
    h.setFormatter(fluent_handler.FluentRecordFormatter({"level": "%(levelname)s", "message": "%(message)s", "where": "%(module)s"}))
    log = logging.getLogger("e2e.fluent")
    log.propagate = False
    log.handlers = [h]
    log.setLevel(logging.INFO)
    log.warning("from logging %s", run)
    h.close()
    (r, a), = _wait(sink, f, run, 1)
    assert _value(r.body) == f"from logging {run}"
    assert a == {"fluent.tag": "py.logging", "level": "WARNING", "where": "test_fluent_forward"}


def test_self_metrics(fluent_ferrotel):
    f, sink, port, legacy, metrics = fluent_ferrotel
    run = uuid.uuid4().hex
    s = fluent_sender.FluentSender("m", host="127.0.0.1", port=port)
    for i in range(3):
        assert s.emit(None, {"message": f"{i} {run}"})
    s.close()
    _wait(sink, f, run, 3)
    samples = scrape(metrics)
    assert metric_sum(samples, "otelcol_fluent_events_parsed", receiver="fluent_forward") >= 3
    assert metric_sum(samples, "otelcol_fluent_records_generated", receiver="fluent_forward") >= 3
    assert metric_sum(samples, "otelcol_fluent_opened_connections", receiver="fluent_forward") >= 1
    assert metric_sum(samples, "otelcol_receiver_accepted_log_records", receiver="fluent_forward", transport="http") >= 3


NODE_SENDER = r"""
const logger = require('fluent-logger');
const [port, run, mode] = process.argv.slice(2);
const sender = logger.createFluentSender('node', {
  host: '127.0.0.1', port: Number(port), timeout: 3.0, reconnectInterval: 600000,
  eventMode: mode, requireAckResponse: true, ackResponseTimeout: 5000, flushInterval: 10,
});
let pending = 3;
for (let i = 0; i < 3; i++) {
  sender.emit('packed', { message: `node ${i} ${run}`, i }, logger.EventTime.now(), (err) => {
    if (err) { console.error('emit failed', err); process.exit(1); }
    if (--pending === 0) { sender.end(); console.log('acked'); }
  });
}
"""


@pytest.mark.parametrize("mode", ["PackedForward", "CompressedPackedForward"])
def test_npm_fluent_logger_packed_forward_with_acks(fluent_ferrotel, mode, tmp_path):
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "fluent-logger").exists():
        pytest.skip("the npm fluent-logger package is not installed (scripts/test.sh installs tests/e2e/node)")
    f, sink, port, *_ = fluent_ferrotel
    run = uuid.uuid4().hex
    script = NODE_DIR / f"fluent_sender_{run}.js"
    script.write_text(NODE_SENDER)
    try:
        out = subprocess.run(["node", str(script), str(port), run, mode], cwd=NODE_DIR, capture_output=True, text=True, timeout=30)
    finally:
        script.unlink()
    assert out.returncode == 0 and "acked" in out.stdout, out.stdout + out.stderr
    got = _wait(sink, f, run, 3)
    bodies = sorted(_value(r.body) for r, _ in got)
    assert bodies == [f"node {i} {run}" for i in range(3)]
    for r, a in got:
        # forward modes: the record's keys, then the tag
        assert list(a) == ["i", "fluent.tag"] and a["fluent.tag"] == "node.packed"
        assert abs(r.time_unix_nano / 1e9 - time.time()) < 60
