"""The logs path of a Kubernetes node agent, end to end: container log files in the docker,
CRI-O and containerd formats -> filelog and its stanza operators -> OTLP, compared field by
field with what the Go collector (otelcol-contrib 0.135) makes of the same files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

import pod_logs
from harness import Ferrotel, free_port
from otlp_sink import Sink
from pod_logs import UIDS, append, cri_line, docker_line, pod_dir

SHARED = pod_logs.SHARED_CONFIGS


def seed(name: str) -> dict:
    return yaml.safe_load((SHARED / name).read_text())


def write_pods(root: Path, namespace: str = "dev", prefix: str = "aidt-test") -> int:
    """One pod per runtime format, with partial lines, a JSON body, multi-byte UTF-8 and a
    `trace_id=` in a message. Returns the number of log records a reader should make."""
    c = pod_dir(root, namespace, f"{prefix}-containerd", UIDS["containerd"], "web") / "0.log"
    append(
        c,
        [
            cri_line("2024-05-01T12:00:00.123456789Z", "stdout", "F", "hello world trace_id=4bf92f3577b34da6a3ce929d0e0e4736 level=info"),
            cri_line("2024-05-01T12:00:01.000000001Z", "stderr", "P", "partial one "),
            cri_line("2024-05-01T12:00:01.000000002Z", "stderr", "F", "and its end"),
            cri_line("2024-05-01T12:00:02.5Z", "stdout", "F", '{"level":"error","msg":"json body","traceID":"abc","n":3}'),
            cri_line("2024-05-01T12:00:03.000Z", "stdout", "F", "multi-byte: héllo wörld — 日本語 ✓"),
        ],
    )
    r = pod_dir(root, namespace, f"{prefix}-crio", UIDS["crio"], "api") / "1.log"
    append(
        r,
        [
            cri_line("2024-05-01T12:00:00.123456789+02:00", "stdout", "F", "crio line"),
            cri_line("2024-05-01T12:00:01.5-05:00", "stderr", "P", "crio part "),
            cri_line("2024-05-01T12:00:01.6-05:00", "stderr", "F", "end"),
        ],
    )
    d = pod_dir(root, namespace, f"{prefix}-docker", UIDS["docker"], "db") / "0.log"
    append(
        d,
        [
            docker_line("2024-05-01T12:00:00.123456789Z", "stdout", "docker line\n"),
            docker_line("2024-05-01T12:00:05.5Z", "stderr", '{"level":"warn","context":"x"}\n'),
        ],
    )
    return 4 + 2 + 2


def filelog_only(receiver: dict, sink: Sink, go: bool) -> dict:
    """filelog -> otlphttp into `sink` (the Go binary has no other exporter)."""
    exporter = "otlphttp" if go else "otlp_http"
    return {
        "receivers": {"filelog": receiver},
        "exporters": {exporter: {"endpoint": sink.http_endpoint, "encoding": "json" if go else "proto"}},
        "service": {
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": {"logs": {"receivers": ["filelog"], "exporters": [exporter]}},
        },
    }


@pytest.mark.parametrize("seed_file", ["seed-agent-filelog.yaml", "seed-agent-filelog-multiformat.yaml"])
def test_filelog_operators_produce_what_the_go_collector_produces(tmp_path, seed_file):
    receiver = seed(seed_file)["receivers"]["filelog"]
    root = tmp_path / "node"
    n = write_pods(root)
    pods = root / "var" / "log" / "pods"
    receiver["include"] = [str(pods) + "/" + p.split("/var/log/pods/", 1)[1] for p in receiver["include"]]
    receiver["start_at"] = "beginning"
    receiver["poll_interval"] = "200ms"
    # The first seed's router only knows containerd lines: the others are dropped by both.
    want_min = n if "multiformat" in seed_file else 4

    results = {}
    for who in ("go", "ferrotel"):
        sink = Sink()
        cfg = filelog_only(dict(receiver), sink, go=(who == "go"))
        if who == "go":
            proc = pod_logs.GoCollector(tmp_path, cfg)
            stop, out = proc.stop, proc.output
        else:
            proc = Ferrotel(tmp_path, cfg, [])
            stop, out = proc.stop, proc.output
        try:
            sink.wait_for(lambda: sum(len(pod_logs.records([r])) for r in sink.requests("logs")) >= want_min, timeout=20)
            time.sleep(1.0)  # anything extra (a duplicate) would arrive now
            results[who] = sorted(pod_logs.records(sink.requests("logs")), key=pod_logs.sort_key)
        finally:
            stop()
            sink.stop()
        assert len(results[who]) >= want_min, f"{who} delivered {len(results[who])} of {want_min} records:\n{out()}"

    go, ours = results["go"], results["ferrotel"]
    assert len(ours) == len(go), f"ferrotel made {len(ours)} records, Go {len(go)}\nGo: {json.dumps(go, indent=1)}\nours: {json.dumps(ours, indent=1)}"
    for g, o in zip(go, ours):
        assert o == g, f"record differs:\nGo:   {json.dumps(g, ensure_ascii=False)}\nours: {json.dumps(o, ensure_ascii=False)}"
