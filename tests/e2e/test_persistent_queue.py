"""The persistent sending queue (`sending_queue.storage: file_storage/...`) of the real binary:
whatever ferrotel acknowledged survives `kill -9` and arrives once the endpoint is up
(duplicates allowed, counted); a damaged queue file gives a clear start error, or with
`recreate: true` a fresh queue."""

from __future__ import annotations

import collections
import json
import random
import signal
import subprocess
import threading
import time

import grpc

from conftest import new_run_id, span_ids, spans_request
from harness import BIN, Ferrotel, ferrotel_env, free_port, metric_sum, pipeline_config, scrape
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from otlp_sink import Sink

FAST_RETRY = {"enabled": True, "initial_interval": "50ms", "max_interval": "200ms", "max_elapsed_time": "0s"}
QUEUE_FILE = "exporter_otlp_http__traces"


def _config(g: int, h: int, sink_port: int, qdir, metrics_port: int | None = None, storage_extra: dict | None = None) -> dict:
    exporters = {
        "otlp_http": {
            "endpoint": f"http://127.0.0.1:{sink_port}",
            "timeout": "2s",
            "retry_on_failure": FAST_RETRY,
            "sending_queue": {"storage": "file_storage/q", "num_consumers": 4, "queue_size": 100000},
        }
    }
    # No batch processor: it acknowledges before export; here an ack must mean "on disk".
    cfg = pipeline_config(g, h, exporters, processors={}, signals=("traces",), metrics_port=metrics_port)
    cfg["extensions"] = {"file_storage/q": {"directory": str(qdir), **(storage_extra or {})}}
    cfg["service"]["extensions"] = ["file_storage/q"]
    return cfg


class Sender:
    """Sends spans over gRPC from a few threads and records the ids ferrotel acknowledged."""

    def __init__(self, port: int, run: str, seed: int, threads: int = 2):
        self.port, self.run = port, run
        self.acked: list[bytes] = []
        self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(seed * 10 + i,), daemon=True) for i in range(threads)]
        for t in self._threads:
            t.start()

    def _loop(self, seed: int) -> None:
        rng = random.Random(seed)
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as ch:
            stub = trace_service_pb2_grpc.TraceServiceStub(ch)
            while not self._stop.is_set():
                req = spans_request(self.run, 10, rng)
                try:
                    stub.Export(req, timeout=2)
                except grpc.RpcError:
                    with self._lock:
                        self.failed += 1
                    time.sleep(0.02)
                    continue
                with self._lock:
                    self.acked.extend(span_ids([req], self.run))

    def stop(self) -> list[bytes]:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        with self._lock:
            return list(self.acked)


def test_kill_9_at_random_moments_loses_no_acknowledged_span(tmp_path):
    qdir = tmp_path / "queue"
    qdir.mkdir()
    sink = Sink(start=False, http_port=free_port())
    g, h = free_port(), free_port()
    cfg = _config(g, h, sink.http_port, qdir)
    run = new_run_id()
    rng = random.Random(1234)
    acked: list[bytes] = []
    rounds = 20
    try:
        for i in range(rounds):
            # Mostly down; sometimes up, so that exports and deletes race the kill too.
            if rng.random() < 0.3:
                sink.start(grpc_on=False)
            fx = Ferrotel(tmp_path, cfg, [g], name=f"ferrotel-{i}")
            sender = Sender(g, run, seed=i)
            time.sleep(rng.uniform(0.2, 1.2))
            fx.signal(signal.SIGKILL)
            fx.wait_exit(10)
            acked.extend(sender.stop())
            fx.stop()
            sink.stop()
        assert len(acked) > rounds * 10, f"too little was acknowledged ({len(acked)} spans) for the test to mean anything"

        # Final run with the endpoint up: everything acknowledged arrives.
        sink.start(grpc_on=False)
        metrics_port = free_port()
        fx = Ferrotel(tmp_path, _config(g, h, sink.http_port, qdir, metrics_port=metrics_port), [g], name="ferrotel-final")
        want = set(acked)
        got = lambda: set(span_ids([r.request for r in sink.requests("traces")], run))  # noqa: E731
        ok = sink.wait_for(lambda: want <= got(), 60)
        missing = want - got()
        assert ok and not missing, f"{len(missing)} of {len(want)} acknowledged spans never arrived:\n{fx.output()}"
        counts = collections.Counter(span_ids([r.request for r in sink.requests("traces")], run))
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        print(f"acknowledged {len(want)} spans over {rounds} kills; delivered {sum(counts.values())}, duplicates {duplicates}")
        # The queue empties once everything is delivered.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            size = metric_sum(scrape(metrics_port), "otelcol_exporter_queue_size", exporter="otlp_http")
            if size == 0:
                break
            time.sleep(0.1)
        assert size == 0, f"queue still holds {size} requests after delivery"
        fx.stop()
    finally:
        sink.stop()


def _queue_some(tmp_path, qdir, g, h, sink_port, run) -> list[bytes]:
    """Runs ferrotel with the endpoint down, sends spans, stops it: they stay queued on disk."""
    fx = Ferrotel(tmp_path, _config(g, h, sink_port, qdir), [g], name="ferrotel-fill")
    sender = Sender(g, run, seed=99, threads=1)
    time.sleep(1.0)
    acked = sender.stop()
    fx.signal(signal.SIGTERM)
    assert fx.wait_exit(20) == 0, fx.output()
    fx.stop()
    assert acked, "nothing was acknowledged"
    assert (qdir / QUEUE_FILE).exists()
    return acked


def test_damaged_queue_file_fails_start_clearly_and_recreate_starts_a_fresh_queue(tmp_path):
    qdir = tmp_path / "queue"
    qdir.mkdir()
    sink = Sink(start=False, http_port=free_port())
    g, h = free_port(), free_port()
    run = new_run_id()
    _queue_some(tmp_path, qdir, g, h, sink.http_port, run)
    path = qdir / QUEUE_FILE
    data = bytearray(path.read_bytes())
    # Garbage over the middle of the file (the pages holding the queued requests).
    mid = len(data) // 2
    data[mid : mid + 8192] = random.Random(5).randbytes(min(8192, len(data) - mid))
    path.write_bytes(bytes(data))

    cfg = _config(g, h, sink.http_port, qdir)
    (tmp_path / "bad.yaml").write_text(json.dumps(cfg))
    p = subprocess.run([str(BIN), "--config", str(tmp_path / "bad.yaml")], capture_output=True, text=True, timeout=30, env=ferrotel_env())
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"started on a damaged queue file:\n{out}"
    assert QUEUE_FILE in out and "corrupt" in out, out

    sink.start(grpc_on=False)
    try:
        fx = Ferrotel(tmp_path, _config(g, h, sink.http_port, qdir, storage_extra={"recreate": True}), [g], name="ferrotel-recreate")
        assert "recreating database file" in fx.output(), fx.output()
        sender = Sender(g, run, seed=7, threads=1)
        time.sleep(0.5)
        acked = sender.stop()
        got = lambda: set(span_ids([r.request for r in sink.requests("traces")], run))  # noqa: E731
        assert sink.wait_for(lambda: set(acked) <= got(), 20), fx.output()
        aside = [p.name for p in qdir.iterdir() if p.name.startswith(QUEUE_FILE) and p.name != QUEUE_FILE]
        assert len(aside) == 1, f"the damaged file was not kept aside: {sorted(p.name for p in qdir.iterdir())}"
        fx.stop()
    finally:
        sink.stop()


def test_truncated_queue_file_fails_start_clearly(tmp_path):
    qdir = tmp_path / "queue"
    qdir.mkdir()
    sink = Sink(start=False, http_port=free_port())
    g, h = free_port(), free_port()
    _queue_some(tmp_path, qdir, g, h, sink.http_port, new_run_id())
    path = qdir / QUEUE_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    (tmp_path / "trunc.yaml").write_text(json.dumps(_config(g, h, sink.http_port, qdir)))
    p = subprocess.run([str(BIN), "--config", str(tmp_path / "trunc.yaml")], capture_output=True, text=True, timeout=30, env=ferrotel_env())
    out = p.stdout + p.stderr
    assert p.returncode != 0, f"started on a truncated queue file:\n{out}"
    assert QUEUE_FILE in out, out
