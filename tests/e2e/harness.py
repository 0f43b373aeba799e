"""Runs the real ferrotel binary for the end-to-end tests: writes a config, starts the
process on free 127.0.0.1 ports, waits until it serves, reads its self-metrics, stops it
with a signal and keeps its output for failure messages."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("FERROTEL_BIN", REPO / "target" / "debug" / "ferrotel"))
E2E = Path(__file__).resolve().parent
NODE_DIR = E2E / "node"


# Every ferrotel the tests start sends metadata requests (configs naming cloud detectors of
# `resource_detection`) to a closed port on 127.0.0.1, never to a metadata address; the
# platform addresses a CI machine may itself carry (a runner inside Kubernetes or ECS) are
# dropped so that they cannot take precedence. A test passes `env=` to point a detector at
# its own fake server.
METADATA_ENDPOINT = "http://127.0.0.1:9"
PLATFORM_ENDPOINT_VARS = (
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "GCE_METADATA_HOST",
    "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "DOCKER_HOST",
)


def ferrotel_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ferrotel started by the tests (see METADATA_ENDPOINT)."""
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_ENDPOINT_VARS}
    env.update({"RUST_BACKTRACE": "1", "NO_COLOR": "1", "FERROTEL_METADATA_ENDPOINT": METADATA_ENDPOINT})
    env.update(extra or {})
    return env


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it; the caller binds it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def pipeline_config(
    receiver_grpc: int,
    receiver_http: int,
    exporters: dict,
    *,
    processors: dict | None = None,
    pipeline_processors: list[str] | None = None,
    metrics_port: int | None = None,
    health_port: int | None = None,
    signals=("traces", "metrics", "logs"),
    receiver_extra: dict | None = None,
) -> dict:
    """otlp receiver -> processors -> every exporter in `exporters`, for each signal."""
    processors = {"batch": {"timeout": "100ms"}} if processors is None else processors
    pipeline_processors = list(processors) if pipeline_processors is None else pipeline_processors
    http = {"endpoint": f"127.0.0.1:{receiver_http}"}
    grpc = {"endpoint": f"127.0.0.1:{receiver_grpc}"}
    if receiver_extra:
        grpc.update(receiver_extra.get("grpc", {}))
        http.update(receiver_extra.get("http", {}))
    cfg: dict = {
        "receivers": {"otlp": {"protocols": {"grpc": grpc, "http": http}}},
        "processors": processors,
        "exporters": exporters,
        "service": {
            "telemetry": {"logs": {"level": "info"}},
            "pipelines": {
                sig: {"receivers": ["otlp"], "processors": pipeline_processors, "exporters": list(exporters)} for sig in signals
            },
        },
    }
    if not processors:
        del cfg["processors"]
    # Always a free port: the default localhost:8888 may be taken (another test, another run).
    if metrics_port is None:
        metrics_port = free_port()
    if metrics_port:
        cfg["service"]["telemetry"]["metrics"] = {
            "level": "normal",
            "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}],
        }
    if health_port is not None:
        cfg["extensions"] = {"health_check": {"endpoint": f"127.0.0.1:{health_port}"}}
        cfg["service"]["extensions"] = ["health_check"]
    return cfg


class Ferrotel:
    """One ferrotel process. The config is written as JSON (valid YAML).

    Every instance is remembered in `Ferrotel.started` so that conftest's `reap_ferrotels`
    can kill what a failed test left running, instead of letting it hold CPU, memory and disk
    through the rest of the session."""

    started: "list[Ferrotel]" = []

    def __init__(
        self,
        workdir: Path,
        config: dict | str,
        wait_ports: list[int],
        name: str = "ferrotel",
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ):
        if not BIN.exists():
            raise RuntimeError(f"{BIN} does not exist: build it first (cargo build -p ferrotel) or set FERROTEL_BIN")
        self.workdir = workdir
        self.config_path = workdir / f"{name}.yaml"
        self.log_path = workdir / f"{name}.log"
        self.write_config(config)
        self.wait_ports = wait_ports
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(BIN), "--config", str(self.config_path), *(extra_args or [])],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=ferrotel_env(env),
        )
        Ferrotel.started.append(self)
        self.wait_ready()

    def write_config(self, config: dict | str) -> None:
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        self.config_path.write_text(text)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferrotel exited with {self.proc.returncode} during start:\n{self.output()}")
            if all(port_open(p) for p in self.wait_ports):
                return
            time.sleep(0.05)
        raise RuntimeError(f"ferrotel did not open ports {self.wait_ports} within {timeout}s:\n{self.output()}")

    def output(self, tail: int = 6000) -> str:
        try:
            if not self._log.closed:
                self._log.flush()
            return self.log_path.read_bytes().decode("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 40.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"ferrotel did not exit within {timeout}s after the signal:\n{self.output()}")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc.poll() is None


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict, float]]:
    """Prometheus text from ferrotel's self-metrics endpoint as (name, labels, value)."""
    status, text = http_get(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        raise AssertionError(f"self-metrics answered {status}: {text[:500]}")
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_sum(samples, prefix: str, **labels) -> float:
    """Sum of every sample whose name starts with `prefix` and that has these labels."""
    return sum(v for n, lab, v in samples if n.startswith(prefix) and all(lab.get(k) == want for k, want in labels.items()))
