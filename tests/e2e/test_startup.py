"""What the running collector tells its operator at start: warnings for unset environment
variables and deprecated component names, and the ready line."""

from __future__ import annotations

import os
import time

from harness import Ferrotel, free_port, pipeline_config


def test_startup_logs_warnings_and_ready(tmp_path):
    os.environ.pop("FERROTEL_E2E_UNSET", None)
    g, h = free_port(), free_port()
    exporters = {
        "logging": {"loglevel": "info"},
        "debug": {"verbosity": "basic${env:FERROTEL_E2E_UNSET}"},
        "otlphttp": {"endpoint": f"http://127.0.0.1:{free_port()}"},
    }
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, signals=("logs",)), [g, h])
    try:
        # The ports open a moment before the ready line is written.
        deadline = time.monotonic() + 10
        while "Everything is ready" not in fx.output(20_000) and time.monotonic() < deadline:
            time.sleep(0.05)
        out = fx.output(20_000)
        assert "Everything is ready" in out, out
        assert '"logging" is deprecated' in out and '"otlphttp" is deprecated' in out, out
        assert "unset environment variable" in out and "FERROTEL_E2E_UNSET" in out, f"no warning about the unset variable:\n{out}"
    finally:
        fx.stop()
