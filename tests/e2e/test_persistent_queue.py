"""The persistent sending queue (`sending_queue.storage: file_storage/...`) of the real binary:
whatever ferrotel acknowledged survives `kill -9` and arrives once the endpoint is up
(duplicates allowed, counted); a truncated or garbled queue file still starts, counts the
requests it lost, and delivers the rest."""

from __future__ import annotations

import collections
import random
import signal
import threading
import time

import grpc

from conftest import new_run_id, span_ids, spans_request
from harness import Ferrotel, free_port, metric_sum, pipeline_config, scrape
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from otlp_sink import Sink

FAST_RETRY = {"enabled": True, "initial_interval": "50ms", "max_interval": "200ms", "max_elapsed_time": "0s"}
QUEUE_DIR = "exporter_otlp_http__traces.queue"


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
    assert (qdir / QUEUE_DIR).is_dir()
    return acked


def _records(data: bytes) -> list[tuple[int, int, bytes]]:
    """The records of a queue segment as written: (offset, length, OTLP payload). The
    framing is the `spool` crate's: a 24-byte header whose bytes 8..12 are the payload
    length, then the payload."""
    out, pos = [], 0
    while pos + 24 <= len(data):
        n = int.from_bytes(data[pos + 8 : pos + 12], "little")
        out.append((pos, 24 + n, data[pos + 24 : pos + 24 + n]))
        pos += 24 + n
    assert pos == len(data), "segment does not end on a record boundary"
    return out


def _spans(payload: bytes, run: str) -> set[bytes]:
    return set(span_ids([trace_service_pb2.ExportTraceServiceRequest.FromString(payload)], run))


def _damage_and_restart(tmp_path, damage) -> None:
    """Queues spans, damages the queue's segment with `damage(bytes) -> (bytes, kept)`
    (`kept(offset, length)` says whether a record survives), restarts with the endpoint up,
    and checks that exactly the surviving records arrive and the others are counted."""
    qdir = tmp_path / "queue"
    qdir.mkdir()
    sink = Sink(start=False, http_port=free_port())
    g, h = free_port(), free_port()
    run = new_run_id()
    acked = _queue_some(tmp_path, qdir, g, h, sink.http_port, run)
    segs = sorted(p for p in (qdir / QUEUE_DIR).iterdir() if p.suffix == ".seg" and p.stat().st_size > 0)
    assert len(segs) == 1, segs
    original = segs[0].read_bytes()
    records = _records(original)
    assert len(records) >= 6, f"only {len(records)} requests queued"
    on_disk = set().union(*(_spans(r[2], run) for r in records))
    assert set(acked) <= on_disk, "an acknowledged span was not in the queue"
    damaged, kept = damage(original)
    segs[0].write_bytes(damaged)
    want = set().union(*(_spans(r[2], run) for r in records if kept(r[0], r[1])))
    lost = sum(1 for r in records if not kept(r[0], r[1]))
    assert want and lost, "the damage must hit some records and spare others"

    sink.start(grpc_on=False)
    metrics_port = free_port()
    try:
        fx = Ferrotel(tmp_path, _config(g, h, sink.http_port, qdir, metrics_port=metrics_port), [g], name="ferrotel-damaged")
        got = lambda: set(span_ids([r.request for r in sink.requests("traces")], run))  # noqa: E731
        assert sink.wait_for(lambda: want <= got(), 30), fx.output()
        time.sleep(0.5)
        assert got() == want, f"{len(got() - want)} spans arrived from damaged records"
        corrupt = metric_sum(scrape(metrics_port), "otelcol_exporter_queue_corrupt_items", exporter="otlp_http")
        assert corrupt == lost, f"counted {corrupt} lost requests, {lost} were damaged:\n{fx.output()}"
        assert "Persistent queue damaged" in fx.output(), fx.output()
        # Still a working queue: new spans go through.
        sender = Sender(g, run, seed=7, threads=1)
        time.sleep(0.5)
        fresh = sender.stop()
        assert fresh and sink.wait_for(lambda: set(fresh) <= got(), 20), fx.output()
        fx.stop()
    finally:
        sink.stop()


def test_truncated_queue_file_starts_counts_the_lost_requests_and_delivers_the_rest(tmp_path):
    def truncate(data: bytes):
        cut = len(data) // 3
        return data[:cut], lambda off, n: off + n <= cut

    _damage_and_restart(tmp_path, truncate)


def test_queue_file_overwritten_with_garbage_starts_counts_the_lost_requests_and_delivers_the_rest(tmp_path):
    def garbage(data: bytes):
        a, b = len(data) // 3, len(data) // 3 + len(data) // 4
        out = bytearray(data)
        out[a:b] = random.Random(5).randbytes(b - a)
        return bytes(out), lambda off, n: off + n <= a or off >= b

    _damage_and_restart(tmp_path, garbage)
