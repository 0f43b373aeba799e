"""Backpressure and error classes end to end: memory_limiter and a full exporter queue
refuse with a retryable status (gRPC UNAVAILABLE / HTTP 503) and count it; an endpoint that
answers with retryable errors gets everything once it recovers; a permanent error (HTTP
400) is not retried and is counted as failed."""

from __future__ import annotations

import random
import re
import signal
import time

import grpc
import pytest
import requests

from conftest import new_run_id, span_ids, spans_request
from harness import Ferrotel, free_port, metric_sum, pipeline_config, scrape
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_sink import Sink

PROTO = {"Content-Type": "application/x-protobuf"}
FAST_RETRY = {"enabled": True, "initial_interval": "100ms", "max_interval": "500ms", "max_elapsed_time": "60s"}


def test_memory_limiter_over_limit_refuses_with_retryable_status_and_counts(tmp_path):
    sink = Sink()
    g, h, m = free_port(), free_port(), free_port()
    cfg = pipeline_config(
        g,
        h,
        {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        processors={"memory_limiter": {"check_interval": "100ms", "limit_mib": 4, "spike_limit_mib": 1}, "batch": {}},
        metrics_port=m,
        signals=("traces",),
    )
    fx = Ferrotel(tmp_path, cfg, [g, h, m])
    try:
        time.sleep(0.5)  # at least one check: a running process is far above 4 MiB
        r = requests.post(f"http://127.0.0.1:{h}/v1/traces", data=spans_request(new_run_id(), 3).SerializeToString(), headers=PROTO, timeout=5)
        assert r.status_code == 503, (r.status_code, r.text)
        assert "Retry-After" not in r.headers
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            with pytest.raises(grpc.RpcError) as e:
                trace_service_pb2_grpc.TraceServiceStub(ch).Export(spans_request(new_run_id(), 2), timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE, e.value
        assert "memory" in (e.value.details() or ""), e.value.details()
        s = scrape(m)
        # Under memory pressure the receiver refuses before reading the body (admission
        # control), so the items are unknown: each refused request is counted by reason.
        refused = metric_sum(s, "otelcol_receiver_refused_requests", receiver="otlp", reason="memory_limit")
        assert refused == 2, [x for x in s if "refused" in x[0]]
        assert metric_sum(s, "otelcol_receiver_accepted_spans", receiver="otlp") == 0
        assert sink.count("traces") == 0
    finally:
        fx.stop()
        sink.stop()


def test_full_exporter_queue_refuses_with_unavailable_and_counts(tmp_path):
    down_port = free_port()  # nothing listens: every export attempt fails and is retried
    g, h, m = free_port(), free_port(), free_port()
    exporters = {
        "otlp": {
            "endpoint": f"127.0.0.1:{down_port}",
            "tls": {"insecure": True},
            "timeout": "1s",
            "sending_queue": {"enabled": True, "num_consumers": 1, "queue_size": 2},
            "retry_on_failure": {"enabled": True, "initial_interval": "5s", "max_elapsed_time": "60s"},
        }
    }
    cfg = pipeline_config(g, h, exporters, processors={}, metrics_port=m, signals=("traces",))
    fx = Ferrotel(tmp_path, cfg, [g, h, m], extra_args=["--shutdown-timeout", "2s"])
    try:
        codes = []
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            for _ in range(8):
                try:
                    stub.Export(spans_request(new_run_id(), 4), timeout=5)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    codes.append(e.code())
                    last = e
                time.sleep(0.05)
        assert codes[0] == grpc.StatusCode.OK, codes
        assert grpc.StatusCode.UNAVAILABLE in codes, f"the queue never filled: {codes}\n{fx.output()}"
        assert "queue is full" in last.details(), last.details()
        accepted = codes.count(grpc.StatusCode.OK)
        assert accepted <= 4, f"{accepted} requests accepted into a queue of 2 with 1 consumer: {codes}"
        r = requests.post(f"http://127.0.0.1:{h}/v1/traces", data=spans_request(new_run_id(), 1).SerializeToString(), headers=PROTO, timeout=5)
        assert r.status_code == 503, (r.status_code, r.text)
        s = scrape(m)
        refused = codes.count(grpc.StatusCode.UNAVAILABLE)
        assert metric_sum(s, "otelcol_exporter_enqueue_failed_spans", exporter="otlp") == 4 * refused + 1
        assert metric_sum(s, "otelcol_receiver_refused_spans", receiver="otlp") == 4 * refused + 1
        assert metric_sum(s, "otelcol_exporter_queue_capacity", exporter="otlp") == 2
    finally:
        fx.stop()


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_endpoint_answering_retryable_errors_gets_everything_once_it_recovers(tmp_path, exporter):
    sink = Sink()
    sink.fail_with = 503  # HTTP 503; gRPC UNAVAILABLE
    g, h = free_port(), free_port()
    if exporter == "otlp":
        cfg = {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "retry_on_failure": FAST_RETRY}
        transport = "grpc"
    else:
        cfg = {"endpoint": sink.http_endpoint, "retry_on_failure": FAST_RETRY}
        transport = "http"
    fx = Ferrotel(tmp_path, pipeline_config(g, h, {exporter: cfg}, signals=("traces",)), [g, h])
    try:
        run = new_run_id()
        rng = random.Random(11)
        sent = []
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            for _ in range(10):
                req = spans_request(run, 5, rng)
                stub.Export(req, timeout=5)
                sent.extend(span_ids([req], run))
        assert sink.wait_for(lambda: sink.attempts.get(("traces", transport), 0) >= 3, 10), f"no retries seen: {sink.attempts}\n{fx.output()}"
        sink.fail_with = None
        got = lambda: span_ids([r.request for r in sink.requests("traces", transport)], run)  # noqa: E731
        assert sink.wait_for(lambda: len(got()) >= len(sent), 30), f"{len(got())}/{len(sent)} after recovery\n{fx.output()}"
        time.sleep(0.5)
        assert sorted(got()) == sorted(sent)
    finally:
        fx.stop()
        sink.stop()


def test_permanent_http_error_is_not_retried_and_counted_failed(tmp_path):
    sink = Sink()
    sink.fail_with = 400
    g, h, m = free_port(), free_port(), free_port()
    exporters = {"otlphttp": {"endpoint": sink.http_endpoint, "retry_on_failure": FAST_RETRY}}
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, processors={}, metrics_port=m, signals=("traces",)), [g, h, m])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            for _ in range(3):
                stub.Export(spans_request(new_run_id(), 4), timeout=5)
        assert sink.wait_for(lambda: sink.attempts.get(("traces", "http"), 0) >= 3, 10), sink.attempts
        time.sleep(1.5)  # several retry intervals: a retryable error would have been re-sent by now
        assert sink.attempts[("traces", "http")] == 3, f"a 400 was retried: {sink.attempts}"
        deadline = time.monotonic() + 5
        while metric_sum(scrape(m), "otelcol_exporter_send_failed_spans", exporter="otlphttp") < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
        s = scrape(m)
        assert metric_sum(s, "otelcol_exporter_send_failed_spans", exporter="otlphttp") == 12
        assert metric_sum(s, "otelcol_exporter_sent_spans", exporter="otlphttp") == 0
    finally:
        fx.stop()
        sink.stop()


def test_sigterm_with_unreachable_endpoint_exits_within_the_shutdown_timeout_and_logs_the_drop(tmp_path):
    g, h = free_port(), free_port()
    exporters = {
        "otlp": {
            "endpoint": f"127.0.0.1:{free_port()}",
            "tls": {"insecure": True},
            "timeout": "1s",
            "sending_queue": {"num_consumers": 1, "queue_size": 10},
            "retry_on_failure": {"initial_interval": "1s", "max_elapsed_time": "60s"},
        }
    }
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, processors={}, signals=("traces",)), [g, h], extra_args=["--shutdown-timeout", "3s"])
    try:
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            for _ in range(3):
                stub.Export(spans_request(new_run_id(), 4), timeout=5)
        t0 = time.monotonic()
        fx.signal(signal.SIGTERM)
        code = fx.wait_exit(20)
        took = time.monotonic() - t0
        out = fx.output(20_000)
        assert took < 8, f"shutdown took {took:.1f}s with --shutdown-timeout 3s:\n{out}"
        assert code == 0, out
        dropped = sum(int(n) for n in re.findall(r"dropped_items=(\d+)", out))
        assert "Exporting failed. Dropping data." in out and dropped == 12, f"dropped {dropped} of 12 items, or not logged:\n{out}"
    finally:
        fx.stop()


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_overload_refuses_instead_of_buffering_and_loses_nothing_acknowledged(tmp_path):
    """Senders much faster than the endpoint: ferrotel pushes back (UNAVAILABLE) instead of
    growing without bound, and every span it acknowledged is delivered."""
    import threading

    sink = Sink(delay=0.1)
    g, h, m = free_port(), free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "sending_queue": {"num_consumers": 2, "queue_size": 20}}}
    cfg = pipeline_config(g, h, exporters, processors={"batch": {"send_batch_size": 1000, "send_batch_max_size": 2000, "timeout": "50ms"}}, metrics_port=m, signals=("traces",))
    fx = Ferrotel(tmp_path, cfg, [g, h, m])
    run = new_run_id()
    acked: list[bytes] = []
    refused = 0
    lock = threading.Lock()
    stop = threading.Event()
    peak = [0]

    def sender(seed):
        nonlocal refused
        rng = random.Random(seed)
        with grpc.insecure_channel(f"127.0.0.1:{g}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            while not stop.is_set():
                req = spans_request(run, 200, rng)
                try:
                    stub.Export(req, timeout=10)
                except grpc.RpcError as e:
                    assert e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED), e
                    with lock:
                        refused += 1
                    time.sleep(0.005)
                    continue
                with lock:
                    acked.extend(span_ids([req], run))

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes(fx.proc.pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(4)] + [threading.Thread(target=watch, daemon=True)]
    try:
        for t in threads:
            t.start()
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join(15)
        print(f"overload: acked={len(acked)} refused_requests={refused} peak_rss={peak[0] >> 20}MiB")
        assert refused > 0, f"never pushed back while overloaded ({len(acked)} spans acknowledged)"
        assert peak[0] < 400 * 1024 * 1024, f"RSS peaked at {peak[0] >> 20} MiB under overload"
        got = lambda: set(span_ids([r.request for r in sink.requests("traces")], run))  # noqa: E731
        sink.wait_for(lambda: len(got()) >= len(acked), 60)
        missing = set(acked) - got()
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans were never delivered:\n{fx.output()}"
        s = scrape(m)
        assert metric_sum(s, "otelcol_receiver_accepted_spans", receiver="otlp") == len(acked)
    finally:
        stop.set()
        fx.stop()
        sink.stop()
