"""Real metrics backends for the end-to-end tests, from Debian's packages (scripts/test.sh
installs them): Prometheus (scraping, remote-write receiver, PromQL), VictoriaMetrics
(remote-write receiver, PromQL) and prometheus-node-exporter (a real scrape target). Each runs
on a free 127.0.0.1 port with its own temporary data directory and is stopped by the test.
A missing binary fails the test with what to install; it is never skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from harness import free_port, http_get, port_open


def require(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"`{binary}` is not installed: apt-get install {package} (scripts/test.sh does)")
    return path


class _Server:
    name = "server"

    def _start(self, cmd: list[str], workdir: Path, ready_path: str, timeout: float = 30.0) -> None:
        self.log_path = workdir / f"{self.name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            if port_open(self.port) and http_get(f"{self.url}{ready_path}")[0] == 200:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout}s:\n{self.output()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self, tail: int = 4000) -> str:
        try:
            self._log.flush()
            return self.log_path.read_bytes().decode("utf-8", "replace")[-tail:]
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()

    # ---- PromQL (the same HTTP API on Prometheus and VictoriaMetrics) ----
    def query(self, expr: str) -> list[tuple[dict, float]]:
        """An instant query: [(labels, value)]."""
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise AssertionError(f"{self.name} query {expr!r} failed: {body}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def wait_for(self, expr: str, want, timeout: float = 60.0, what: str = "") -> list[tuple[dict, float]]:
        """Polls `expr` until `want(result)` holds; fails with the last result."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.query(expr)
            if want(last):
                return last
            time.sleep(0.5)
        raise AssertionError(f"{self.name}: {what or expr} not reached within {timeout}s; last result of {expr!r}: {last}\n--- {self.name} ---\n{self.output(2000)}")

    def series_names(self) -> set[str]:
        with urllib.request.urlopen(f"{self.url}/api/v1/label/__name__/values", timeout=10) as r:
            return set(json.loads(r.read())["data"])


class Prometheus(_Server):
    """Prometheus with the remote-write receiver on; scrapes `targets` (host:port, job
    `ferrotel`) or `jobs` ({job: targets}) every `interval` with `honor_labels` (the labels
    ferrotel exports win, as in a collector setup)."""

    name = "prometheus"

    def __init__(
        self,
        workdir: Path,
        targets: list[str] | None = None,
        interval: str = "1s",
        metrics_path: str = "/metrics",
        extra_flags: list[str] | None = None,
        jobs: dict[str, list[str]] | None = None,
        name: str = "prometheus",
    ):
        binary = require("prometheus", "prometheus")
        self.name = name
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cfg = workdir / f"{name}.yml"
        jobs = dict(jobs or {})
        if targets:
            jobs["ferrotel"] = targets
        scrape = ""
        if jobs:
            scrape = "scrape_configs:\n" + "".join(
                f"  - job_name: {job}\n"
                "    honor_labels: true\n"
                f"    metrics_path: {metrics_path}\n"
                f"    static_configs:\n      - targets: {json.dumps(t)}\n"
                for job, t in jobs.items()
            )
        cfg.write_text(f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n{scrape}")
        data = workdir / f"{name}-data"
        data.mkdir(exist_ok=True)
        self.write_url = f"{self.url}/api/v1/write"
        self._start(
            [binary, f"--config.file={cfg}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver", *(extra_flags or [])],
            workdir,
            "/-/ready",
        )


class VictoriaMetrics(_Server):
    """Single-node VictoriaMetrics: remote write on /api/v1/write, PromQL on /api/v1/query,
    with the 30 s query latency offset removed so fresh samples are visible."""

    name = "victoria-metrics"

    def __init__(self, workdir: Path):
        binary = require("victoria-metrics", "victoria-metrics")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        data = workdir / "vm-data"
        self.write_url = f"{self.url}/api/v1/write"
        self._start(
            [binary, f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={data}", "-search.latencyOffset=0s", "-search.disableCache", "-retentionPeriod=100y"],
            workdir,
            "/health",
        )


class NodeExporter(_Server):
    """prometheus-node-exporter on loopback: a real scrape target."""

    name = "node-exporter"

    def __init__(self, workdir: Path, extra_flags: list[str] | None = None):
        binary = require("prometheus-node-exporter", "prometheus-node-exporter")
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._start([binary, f"--web.listen-address=127.0.0.1:{self.port}", *(extra_flags or [])], workdir, "/metrics")

    def metrics_text(self) -> str:
        status, text = http_get(f"{self.url}/metrics", timeout=10)
        assert status == 200, f"node-exporter answered {status}"
        return text
