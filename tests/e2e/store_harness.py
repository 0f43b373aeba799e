"""Helpers for the embedded-store end-to-end tests: a ferrotel running the `embedded_store`
extension (query APIs) and exporter (OTLP ingest), HTTP helpers, and hand-rolled protobuf
encoders for the two push formats the store also ingests directly: Prometheus remote write
1.0 (`prometheus.WriteRequest`, prompb/types.proto) and Loki's `logproto.PushRequest`."""

from __future__ import annotations

import json
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import cramjam

from harness import Ferrotel, free_port, pipeline_config


# ---------------------------------------------------------------- ferrotel with the store
class StoreFerrotel:
    """ferrotel: otlp receiver -> embedded_store exporter for every signal, the embedded_store
    extension serving the query APIs on `self.api` (http://127.0.0.1:port)."""

    def __init__(self, workdir: Path, directory: Path | None = None, name: str = "ferrotel", **store_settings):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.grpc_port, self.http_port, self.api_port, self.metrics_port = free_port(), free_port(), free_port(), free_port()
        self.directory = directory or (workdir / "store")
        cfg = pipeline_config(self.grpc_port, self.http_port, {"embedded_store": {}}, processors={}, metrics_port=self.metrics_port)
        ext = {"endpoint": f"127.0.0.1:{self.api_port}", "directory": str(self.directory)}
        ext.update(store_settings)
        cfg["extensions"] = {"embedded_store": ext}
        cfg["service"]["extensions"] = ["embedded_store"]
        self.config = cfg
        self.name = name
        self.proc = Ferrotel(workdir, cfg, [self.grpc_port, self.http_port, self.api_port], name=name)
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.otlp_http = f"http://127.0.0.1:{self.http_port}"

    def stop(self):
        return self.proc.stop()

    def output(self, tail: int = 6000) -> str:
        return self.proc.output(tail)


# ---------------------------------------------------------------- HTTP
def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(base: str, path: str, params: list[tuple[str, str]] | dict | None = None, post: bool = False) -> tuple[int, dict]:
    """GET with a query string, or POST form-encoded (Grafana's default for Prometheus)."""
    qs = urllib.parse.urlencode(params or {}, doseq=True)
    if post:
        status, body = request("POST", base + path, qs.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    else:
        status, body = request("GET", base + path + ("?" + qs if qs else ""))
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"status": "error", "error": body.decode("utf-8", "replace")}


def poll(fn, deadline_s: float, what: str, interval: float = 0.3):
    """Calls fn() until it returns a truthy value; fails with `what` and the last value."""
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {deadline_s}s; last: {str(last)[:2000]}")


# ---------------------------------------------------------------- protobuf wire format
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _key(field: int, wt: int) -> bytes:
    return _varint((field << 3) | wt)


def f_varint(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(n) if n else b""


def f_sint(field: int, n: int) -> bytes:
    return _key(field, 0) + _varint(_zigzag(n)) if n else b""


def f_double(field: int, x: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", x)


def f_bytes(field: int, b: bytes) -> bytes:
    return _key(field, 2) + _varint(len(b)) + b


def f_str(field: int, s: str) -> bytes:
    return f_bytes(field, s.encode())


def f_packed_sint(field: int, xs) -> bytes:
    return f_bytes(field, b"".join(_varint(_zigzag(x)) for x in xs)) if xs else b""


# ---------------------------------------------------------------- remote write 1.0
def _rw_histogram(h: dict) -> bytes:
    """prometheus.Histogram with integer counts: buckets as deltas of absolute counts."""

    def spans(field, sp):
        return b"".join(f_bytes(field, f_sint(1, off) + f_varint(2, ln)) for off, ln in sp)

    def deltas(counts):
        out, prev = [], 0
        for c in counts:
            out.append(int(c) - prev)
            prev = int(c)
        return out

    return b"".join(
        [
            f_varint(1, int(h["count"])),
            f_double(3, h["sum"]),
            f_sint(4, h["schema"]),
            f_double(5, h["zero_threshold"]),
            f_varint(6, int(h["zero_count"])),
            spans(8, h.get("negative_spans", [])),
            f_packed_sint(9, deltas(h.get("negative_buckets", []))),
            spans(11, h["positive_spans"]),
            f_packed_sint(12, deltas(h["positive_buckets"])),
            f_varint(15, h["t"]),
        ]
    )


def write_request(series: list[dict]) -> bytes:
    """series: [{"labels": {name: value}, "samples": [(t_ms, v)], "histograms": [dict]}]."""
    out = []
    for s in series:
        ts = b"".join(f_bytes(1, f_str(1, k) + f_str(2, v)) for k, v in sorted(s["labels"].items()))
        ts += b"".join(f_bytes(2, f_double(1, v) + f_varint(2, t)) for t, v in s.get("samples", []))
        ts += b"".join(f_bytes(4, _rw_histogram(h)) for h in s.get("histograms", []))
        out.append(f_bytes(1, ts))
    return b"".join(out)


def remote_write(url: str, series: list[dict]) -> None:
    body = bytes(cramjam.snappy.compress_raw(write_request(series)))
    status, resp = request(
        "POST",
        url,
        body,
        {
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        },
    )
    assert status in (200, 204), f"remote write to {url} answered {status}: {resp[:500]!r}"


# ---------------------------------------------------------------- Loki push (protobuf)
def loki_push_request(streams: list[tuple[str, list[tuple[int, str, dict]]]]) -> bytes:
    """logproto.PushRequest: streams of (label selector text, [(t_ns, line, structured metadata)])."""
    out = []
    for labels, entries in streams:
        body = f_str(1, labels)
        for t_ns, line, meta in entries:
            tsmsg = f_varint(1, t_ns // 1_000_000_000) + f_varint(2, t_ns % 1_000_000_000)
            e = f_bytes(1, tsmsg) + f_str(2, line)
            e += b"".join(f_bytes(3, f_str(1, k) + f_str(2, v)) for k, v in meta.items())
            body += f_bytes(2, e)
        out.append(f_bytes(1, body))
    return b"".join(out)
