"""Runs the ferrotel binary as a newcomer does, with no --config (the built-in default: OTLP
-> batch -> embedded store, UI and query APIs on the store's port), with every address moved
to a free 127.0.0.1 port and the data directory into a temp dir by the documented --set
flags. Keeps what it printed (stdout: the human lines; stderr: the log)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from harness import BIN, ferrotel_env, free_port, port_open


class NoConfigFerrotel:
    def __init__(self, workdir: Path, data_dir: Path | None = None, env: dict[str, str] | None = None, name: str = "ferrotel"):
        if not BIN.exists():
            raise RuntimeError(f"{BIN} does not exist: build it first (cargo build -p ferrotel) or set FERROTEL_BIN")
        self.grpc, self.http, self.ui, self.metrics = free_port(), free_port(), free_port(), free_port()
        self.args = [
            "--set", f"receivers::otlp::protocols::grpc::endpoint=127.0.0.1:{self.grpc}",
            "--set", f"receivers::otlp::protocols::http::endpoint=127.0.0.1:{self.http}",
            "--set", f"extensions::embedded_store::endpoint=127.0.0.1:{self.ui}",
            "--set", f"service::telemetry::metrics::address=127.0.0.1:{self.metrics}",
        ]  # fmt: skip
        if data_dir is not None:
            self.args += ["--set", f"extensions::embedded_store::directory={data_dir}"]
        self.out_path = workdir / f"{name}.stdout"
        self.err_path = workdir / f"{name}.stderr"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([str(BIN), *self.args], stdout=self._out, stderr=self._err, env=ferrotel_env(env))
        self.base = f"http://127.0.0.1:{self.ui}"
        self.wait_banner()

    def stdout(self) -> str:
        self._out.flush()
        return self.out_path.read_text(errors="replace")

    def output(self, tail: int = 6000) -> str:
        self._err.flush()
        return f"--- stdout\n{self.stdout()}\n--- stderr\n{self.err_path.read_text(errors='replace')[-tail:]}"

    def wait_banner(self, timeout: float = 30.0) -> None:
        """Until the startup lines are printed (the last one names the --set flag) and the
        ports listen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferrotel exited with {self.proc.returncode} during start:\n{self.output()}")
            if "Move a port or the directory with --set" in self.stdout() and all(
                port_open(p) for p in (self.grpc, self.http, self.ui)
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"ferrotel printed no startup lines within {timeout}s:\n{self.output()}")

    def printed(self, pattern: str) -> str:
        """The first group of `pattern` in what ferrotel printed on stdout."""
        m = re.search(pattern, self.stdout(), re.M)
        assert m, f"no line matching {pattern!r} in:\n{self.output()}"
        return m.group(1)

    def get(self, path: str, params: dict | None = None, timeout: float = 10.0) -> tuple[int, bytes, dict]:
        """Status, body and headers (lower-case names) of a GET on the UI's port."""
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
        except urllib.error.HTTPError as e:
            return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}

    def json(self, path: str, params: dict | None = None):
        status, body, _ = self.get(path, params)
        assert status == 200, f"GET {path} {params}: HTTP {status}: {body[:500]!r}"
        return json.loads(body)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        self._err.close()
        return self.proc.returncode

