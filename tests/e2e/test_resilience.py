"""The real binary under failure: an exporter's endpoint down while another keeps
receiving, SIGTERM under steady load, SIGHUP reload, health check and self-metrics."""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import grpc
import pytest
import requests

from conftest import logs_request, new_run_id, span_ids, spans_request
from harness import Ferrotel, free_port, http_get, metric_sum, pipeline_config, scrape
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_sink import Sink

FAST_RETRY = {"enabled": True, "initial_interval": "100ms", "max_interval": "500ms", "max_elapsed_time": "60s"}


def _export_spans(port: int, req, timeout: float = 5.0) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        trace_service_pb2_grpc.TraceServiceStub(ch).Export(req, timeout=timeout)


@pytest.mark.parametrize("down_exporter", ["otlp", "otlphttp"])
def test_fanout_one_exporter_down_other_keeps_receiving_and_down_one_catches_up(tmp_path, down_exporter):
    up = Sink()
    down = Sink(start=False, grpc_port=free_port(), http_port=free_port())
    if down_exporter == "otlp":
        down_cfg = {"endpoint": f"127.0.0.1:{down.grpc_port}", "tls": {"insecure": True}, "retry_on_failure": FAST_RETRY, "timeout": "2s"}
    else:
        down_cfg = {"endpoint": f"http://127.0.0.1:{down.http_port}", "retry_on_failure": FAST_RETRY, "timeout": "2s"}
    g, h = free_port(), free_port()
    exporters = {"otlp/up": {"endpoint": up.grpc_endpoint, "tls": {"insecure": True}}, f"{down_exporter}/down": down_cfg}
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, signals=("traces", "logs")), [g, h])
    try:
        run = new_run_id()
        rng = random.Random(7)
        sent: list[bytes] = []
        for _ in range(20):
            req = spans_request(run, 10, rng)
            _export_spans(g, req)
            sent.extend(span_ids([req], run))
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            logs_service_pb2_grpc.LogsServiceStub(ch).Export(logs_request(run, 7), timeout=5)

        got_up = lambda: span_ids([r.request for r in up.requests("traces")], run)  # noqa: E731
        assert up.wait_for(lambda: len(got_up()) >= len(sent), 15), f"healthy exporter got {len(got_up())}/{len(sent)} spans while the other was down:\n{fx.output()}"
        assert sorted(got_up()) == sorted(sent)
        assert up.wait_for(lambda: up.count("logs") >= 7, 10)
        time.sleep(1.5)  # a few retries fail against the closed port
        assert fx.alive()

        down.start()
        got_down = lambda: span_ids([r.request for r in down.requests("traces")], run)  # noqa: E731
        assert down.wait_for(lambda: len(got_down()) >= len(sent), 40), f"recovered exporter got {len(got_down())}/{len(sent)} spans:\n{fx.output()}"
        time.sleep(0.5)
        assert sorted(got_down()) == sorted(sent), "the recovered endpoint got a different set of spans (lost or duplicated)"
        assert down.wait_for(lambda: down.count("logs") >= 7, 10), "logs were not delivered after recovery"
        assert down.count("logs") == 7
    finally:
        fx.stop()
        up.stop()
        down.stop()


def test_sigterm_under_load_delivers_every_acknowledged_span(tmp_path):
    sink = Sink(delay=0.05)  # slow: the exporter queue is not empty at SIGTERM
    g, h = free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "sending_queue": {"num_consumers": 1, "queue_size": 1000}}}
    cfg = pipeline_config(g, h, exporters, processors={"batch": {"send_batch_size": 50, "timeout": "50ms"}}, signals=("traces",))
    fx = Ferrotel(tmp_path, cfg, [g, h])
    run = new_run_id()
    acked: list[bytes] = []
    failed = 0
    stop = threading.Event()
    lock = threading.Lock()

    def sender(seed: int):
        nonlocal failed
        rng = random.Random(seed)
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            deadline = time.monotonic() + 30
            while not stop.is_set() and time.monotonic() < deadline:
                req = spans_request(run, 20, rng)
                try:
                    stub.Export(req, timeout=5)
                except grpc.RpcError:
                    with lock:
                        failed += 1
                    time.sleep(0.01)
                    continue
                with lock:
                    acked.extend(span_ids([req], run))
                time.sleep(0.01)

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(2)]
    try:
        for t in threads:
            t.start()
        time.sleep(2.5)
        with lock:
            acked_at_term = len(acked)
        delivered_at_term = len(span_ids([r.request for r in sink.requests("traces")], run))
        fx.signal(signal.SIGTERM)
        code = fx.wait_exit(45)
        stop.set()
        for t in threads:
            t.join(10)
        assert acked_at_term > 0, f"nothing was acknowledged before SIGTERM:\n{fx.output()}"
        assert delivered_at_term < acked_at_term, "the queue was already empty at SIGTERM: the test proves nothing"
        got = set(span_ids([r.request for r in sink.requests("traces")], run))
        missing = [s for s in acked if s not in got]
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans never reached the endpoint (exit code {code}):\n{fx.output()}"
        assert code == 0, f"exit code {code} after SIGTERM:\n{fx.output()}"
    finally:
        stop.set()
        fx.stop()
        sink.stop()


def test_sighup_reloads_config_and_data_keeps_flowing(tmp_path):
    first, second = Sink(), Sink()
    g, h = free_port(), free_port()

    def cfg(sink):
        return pipeline_config(g, h, {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}, signals=("traces",))

    fx = Ferrotel(tmp_path, cfg(first), [g, h])
    run = new_run_id()
    acked: list[bytes] = []
    stop = threading.Event()

    def sender():
        rng = random.Random(3)
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            req = spans_request(run, 5, rng)
            try:
                _export_spans(g, req, timeout=3)
                acked.extend(span_ids([req], run))
            except grpc.RpcError:
                pass
            time.sleep(0.02)

    t = threading.Thread(target=sender, daemon=True)
    try:
        t.start()
        assert first.wait_for(lambda: len(span_ids([r.request for r in first.requests("traces")], run)) > 0, 10), fx.output()
        fx.write_config(cfg(second))
        fx.signal(signal.SIGHUP)
        ok = second.wait_for(lambda: len(span_ids([r.request for r in second.requests("traces")], run)) > 20, 20)
        assert ok, f"no data reached the new exporter endpoint after SIGHUP:\n{fx.output()}"
        assert fx.alive(), fx.output()
        stop.set()
        t.join(10)
        everywhere = lambda: set(span_ids([r.request for r in first.requests("traces") + second.requests("traces")], run))  # noqa: E731
        first.wait_for(lambda: set(acked) <= everywhere(), 10)
        missing = set(acked) - everywhere()
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans were lost across the reload:\n{fx.output()}"
    finally:
        stop.set()
        fx.stop()
        first.stop()
        second.stop()


def test_health_check_is_200_once_running(forwarding):
    status, body = http_get(f"http://127.0.0.1:{forwarding.health_port}/")
    assert status == 200, (status, body)
    doc = json.loads(body)
    assert doc.get("status") == "Server available", doc


def test_self_metrics_count_what_flowed(tmp_path):
    sink = Sink()
    g, h, m = free_port(), free_port(), free_port()
    cfg = pipeline_config(g, h, {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}, metrics_port=m)
    fx = Ferrotel(tmp_path, cfg, [g, h, m])
    try:
        run = new_run_id()
        for _ in range(3):
            _export_spans(g, spans_request(run, 7))
        for _ in range(2):
            r = requests.post(f"http://127.0.0.1:{h}/v1/traces", data=spans_request(run, 5).SerializeToString(), headers={"Content-Type": "application/x-protobuf"}, timeout=5)
            assert r.status_code == 200, r.text
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            logs_service_pb2_grpc.LogsServiceStub(ch).Export(logs_request(run, 4), timeout=5)
        assert sink.wait_for(lambda: sink.count("traces") >= 31 and sink.count("logs") >= 4, 15), fx.output()
        deadline = time.monotonic() + 5
        while True:
            s = scrape(m)
            done = metric_sum(s, "otelcol_exporter_sent_spans", exporter="otlp") >= 31 and metric_sum(s, "otelcol_exporter_sent_log_records", exporter="otlp") >= 4
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert metric_sum(s, "otelcol_receiver_accepted_spans", receiver="otlp", transport="grpc") == 21
        assert metric_sum(s, "otelcol_receiver_accepted_spans", receiver="otlp", transport="http") == 10
        assert metric_sum(s, "otelcol_receiver_accepted_log_records", receiver="otlp", transport="grpc") == 4
        assert metric_sum(s, "otelcol_exporter_sent_spans", exporter="otlp") == 31
        assert metric_sum(s, "otelcol_exporter_sent_log_records", exporter="otlp") == 4
        assert metric_sum(s, "otelcol_exporter_send_failed_spans", exporter="otlp") == 0
        assert metric_sum(s, "otelcol_receiver_refused_spans") == 0
        assert metric_sum(s, "otelcol_process_uptime") > 0
        assert metric_sum(s, "otelcol_process_memory_rss") > 1e6
        names = {n for n, _, _ in s}
        assert "otelcol_exporter_queue_capacity" in names and "otelcol_processor_batch_batch_send_size" in " ".join(names), sorted(names)
    finally:
        fx.stop()
        sink.stop()


def test_forward_connector_joins_pipelines_and_fan_in_from_two_receivers(tmp_path):
    """otlp (gRPC) and otlp/2 (HTTP) fan in to traces/in -> forward -> traces/out -> otlp."""
    sink = Sink()
    g, h, h2 = free_port(), free_port(), free_port()
    cfg = {
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{g}"}}},
            "otlp/2": {"protocols": {"http": {"endpoint": f"127.0.0.1:{h2}"}}},
        },
        "processors": {"batch": {"timeout": "50ms"}},
        "connectors": {"forward": {}},
        "exporters": {"otlp_grpc": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": h}}}}]}},
            "pipelines": {
                "traces/in": {"receivers": ["otlp", "otlp/2"], "processors": ["batch"], "exporters": ["forward"]},
                "traces/out": {"receivers": ["forward"], "exporters": ["otlp_grpc"]},
            },
        },
    }
    fx = Ferrotel(tmp_path, cfg, [g, h2])
    try:
        run = new_run_id()
        a, b = spans_request(run, 3), spans_request(run, 4)
        _export_spans(g, a)
        r = requests.post(f"http://127.0.0.1:{h2}/v1/traces", data=b.SerializeToString(), headers={"Content-Type": "application/x-protobuf"}, timeout=5)
        assert r.status_code == 200, r.text
        want = sorted(span_ids([a, b], run))
        got = lambda: sorted(span_ids([x.request for x in sink.requests("traces")], run))  # noqa: E731
        assert sink.wait_for(lambda: len(got()) >= 7, 10), fx.output()
        assert got() == want
    finally:
        fx.stop()
        sink.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_drains_batch_and_exits_zero(tmp_path, sig):
    """Data still waiting in the batch processor (long timeout) is exported on shutdown."""
    sink = Sink()
    g, h = free_port(), free_port()
    cfg = pipeline_config(g, h, {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}, processors={"batch": {"timeout": "60s", "send_batch_size": 100000}}, signals=("traces",))
    fx = Ferrotel(tmp_path, cfg, [g, h])
    try:
        run = new_run_id()
        req = spans_request(run, 9)
        _export_spans(g, req)
        time.sleep(0.3)
        assert sink.count("traces") == 0, "the batch processor sent before its timeout"
        fx.signal(sig)
        code = fx.wait_exit(30)
        assert sorted(span_ids([x.request for x in sink.requests("traces")], run)) == sorted(span_ids([req], run)), fx.output()
        assert code == 0, fx.output()
        assert "Shutdown complete" in fx.output(), fx.output()
    finally:
        fx.stop()
        sink.stop()


def test_health_check_turns_503_while_draining_on_shutdown(tmp_path):
    sink = Sink(delay=0.3)
    g, h, hc = free_port(), free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "sending_queue": {"num_consumers": 1}}}
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, processors={}, health_port=hc, signals=("traces",)), [g, h, hc])
    try:
        assert http_get(f"http://127.0.0.1:{hc}/")[0] == 200
        run = new_run_id()
        for _ in range(12):
            _export_spans(g, spans_request(run, 2))  # ~3.6s of backlog at the slow sink
        fx.signal(signal.SIGTERM)
        seen = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and fx.alive():
            try:
                status, body = http_get(f"http://127.0.0.1:{hc}/", timeout=0.5)
                seen.append(status)
                if status == 503:
                    assert json.loads(body)["status"] == "Server not available", body
                    break
            except OSError:
                seen.append("refused")
            time.sleep(0.05)
        assert 503 in seen, f"health check while draining answered {seen}"
        assert fx.wait_exit(30) == 0
        assert len(span_ids([r.request for r in sink.requests("traces")], run)) == 24, "backlog not drained"
    finally:
        fx.stop()
        sink.stop()
