"""ferrotel in front of ferrotel: the Python SDK sends to collector A, whose `otlp` exporter
(zstd) and `otlp_http` exporter (snappy, then lz4, then zlib) feed collectors B1 and B2, which forward
to the test's sinks. What arrives must equal what the SDK produced: ferrotel's exporters
and its receiver agree on every compression and encoding."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SIGNALS, assert_forwarded_unchanged, new_run_id
from harness import E2E, Ferrotel, free_port, pipeline_config
from otlp_sink import Sink


class Chain:
    def __init__(self, tmp, http_compression: str):
        self.direct, self.sink1, self.sink2 = Sink(), Sink(), Sink()
        self.b1 = self._collector(tmp, "b1", {"otlp_grpc": {"endpoint": self.sink1.grpc_endpoint, "tls": {"insecure": True}, "compression": "gzip"}})
        self.b2 = self._collector(tmp, "b2", {"otlp_grpc": {"endpoint": self.sink2.grpc_endpoint, "tls": {"insecure": True}, "compression": "none"}})
        exporters = {
            "otlp_grpc": {"endpoint": f"127.0.0.1:{self.b1.grpc_port}", "tls": {"insecure": True}, "compression": "zstd"},
            "otlp_http": {"endpoint": f"http://127.0.0.1:{self.b2.http_port}", "compression": http_compression},
        }
        self.a = self._collector(tmp, "a", exporters)
        self.grpc_port = self.a.grpc_port
        self.ferrotel = self.a  # for failure output

    @staticmethod
    def _collector(tmp, name, exporters):
        g, h = free_port(), free_port()
        fx = Ferrotel(tmp, pipeline_config(g, h, exporters), [g, h], name=name)
        fx.grpc_port, fx.http_port = g, h
        return fx

    def landing(self, exporter):
        return {"otlp": (self.sink1, "grpc"), "otlphttp": (self.sink2, "grpc")}[exporter]

    def close(self):
        for fx in (self.a, self.b1, self.b2):
            fx.stop()
        for s in (self.direct, self.sink1, self.sink2):
            s.stop()


@pytest.fixture(scope="module", params=["snappy", "lz4", "zlib"])
def chain_run(request, tmp_path_factory):
    chain = Chain(tmp_path_factory.mktemp(f"chain-{request.param}"), request.param)
    run_id = new_run_id()
    p = subprocess.run(
        [sys.executable, str(E2E / "py_sender.py"), "--protocol", "grpc", "--via", f"127.0.0.1:{chain.grpc_port}", "--direct", chain.direct.grpc_endpoint, "--run-id", run_id],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr[-3000:]}\n--- a ---\n{chain.a.output(2000)}"
    yield chain, run_id
    chain.close()


@pytest.mark.parametrize("path", ["otlp", "otlphttp"])
@pytest.mark.parametrize("signal", SIGNALS)
def test_telemetry_through_two_ferrotels_arrives_unchanged(chain_run, signal, path):
    chain, run_id = chain_run
    try:
        assert_forwarded_unchanged(chain, run_id, signal, path)
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- b1 ---\n{chain.b1.output(2000)}\n--- b2 ---\n{chain.b2.output(2000)}") from None
