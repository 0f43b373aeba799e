"""Configurations in the shapes people ship, validated and started as a user would.

Each file in public_configs/ is a collector config as published by a project or vendor (the
Helm chart's rendered default and presets with today's type names, the OpenTelemetry Demo,
docker-otel-lgtm, Jaeger v2, vendors' getting-started configs, docker-compose stacks). For
each, the table below pins what `ferrotel validate` must say: nothing (then the config is
started, must report ready and stop cleanly), or exactly which component types are not built
yet, unknown (not OpenTelemetry Collector components, e.g. Jaeger's own storage extensions) or
removed upstream. Update a row when a component lands.

Nothing here leaves the machine: before a config is used every host in an endpoint, URL or
scrape target is rewritten to 127.0.0.1 and every port to a free one (consistently, so that a
collector scraping its own :8888 still finds it); receivers and extensions that would bind a
default port get a free one; environment variables the configs' docs set point at loopback;
cloud metadata detectors are pointed at a closed loopback port (FERROTEL_METADATA_ENDPOINT,
set by the harness for every ferrotel it starts, and here for `validate`).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from harness import BIN, Ferrotel, free_port

CONFIGS = Path(__file__).parent / "public_configs"

# name -> (not built, unknown, removed): sets of "kind/type" as validate names them;
EXPECT: dict[str, tuple[set[str], set[str], set[str]]] = {
    "helm-default-daemonset": (set(), set(), set()),
    "helm-preset-logs-collection": (set(), set(), set()),
    "helm-preset-host-metrics": (set(), set(), set()),
    "helm-preset-kubernetes-attributes": ({"processor/k8s_attributes"}, set(), set()),
    "helm-preset-kubelet-metrics": ({"receiver/kubelet_stats"}, set(), set()),
    "helm-preset-cluster-metrics": ({"receiver/k8s_cluster"}, set(), set()),
    "helm-preset-kubernetes-events": ({"receiver/k8s_objects"}, set(), set()),
    "otel-demo": (
        {"receiver/docker_stats", "receiver/nginx", "receiver/postgresql", "receiver/redis", "exporter/opensearch"},
        set(),
        set(),
    ),
    "otel-demo-core": (set(), set(), set()),
    "docker-otel-lgtm": (set(), set(), set()),
    "jaeger-v2-otlp-in": (set(), set(), set()),
    "jaeger-v2-all-in-one": (set(), {"extension/jaeger_storage", "extension/jaeger_query", "extension/remote_sampling", "exporter/jaeger_storage_exporter"}, set()),
    "vendor-honeycomb": (set(), set(), set()),
    "vendor-grafana-cloud": ({"connector/grafanacloud"}, set(), set()),
    "vendor-new-relic": (set(), set(), set()),
    "vendor-datadog": ({"connector/datadog", "exporter/datadog"}, set(), set()),
    "vendor-elastic": (set(), set(), set()),
    "vendor-dash0": (set(), set(), set()),
    "vendor-lightstep": (set(), set(), set()),
    "vendor-uptrace": (set(), set(), set()),
    "vendor-axiom": (set(), set(), set()),
    "vendor-signoz-cloud": (set(), set(), set()),
    "vendor-aws-adot": ({"exporter/awsxray", "exporter/awsemf"}, set(), set()),
    "compose-classic-demo": (set(), set(), set()),
    "compose-spring-lgtm": (set(), set(), set()),
    "gateway-load-balancing": ({"exporter/load_balancing"}, set(), set()),
    "gateway-tail-sampling": (set(), set(), set()),
    "gateway-routing-tenants": (set(), set(), set()),
    "gateway-filter-transform": (set(), set(), set()),
    "logs-syslog-fluent": (set(), set(), set()),
    "statsd-to-prometheus": (set(), set(), set()),
    "kafka-buffer": ({"exporter/kafka"}, set(), set()),
    "file-archive": (set(), set(), set()),
    "profiles-ebpf-agent": (set(), set(), set()),
}

# Flags the configs' docs say to pass.
EXTRA_ARGS = {"profiles-ebpf-agent": ["--feature-gates=service.profilesSupport"]}


def test_every_config_file_has_a_row():
    files = {p.stem for p in CONFIGS.glob("*.yaml")}
    assert files == set(EXPECT), f"rows without a file: {set(EXPECT) - files}; files without a row: {files - set(EXPECT)}"
    assert len(files) >= 25


class Loopback:
    """Rewrites every network address in a config to 127.0.0.1 and a free port."""

    HOSTPORT = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)?(?P<host>\[[^\]]*\]|[A-Za-z0-9_.-]*|\})(?P<sep>:)(?P<port>\d{2,5})(?!\d)")
    URL_NO_PORT = re.compile(r"^(?P<scheme>https?://)(?P<host>[A-Za-z0-9_.-]+)(?P<rest>/.*)?$")

    def __init__(self):
        self.ports: dict[int, int] = {}

    def port(self, p: int) -> int:
        if p not in self.ports:
            self.ports[p] = free_port()
        return self.ports[p]

    def rewrite_str(self, s: str) -> str:
        if s.startswith("unix://"):
            return s
        m = self.URL_NO_PORT.match(s)
        if m:
            return f"{m['scheme']}127.0.0.1:{self.port(hash(m['host']) % 10000 + 70000)}{m['rest'] or ''}"

        def sub(m: re.Match) -> str:
            host = m["host"]
            port = self.port(int(m["port"]))
            if host == "}":
                return f"}}:{port}"  # ${env:HOST}:4317 — the variable is loopback
            return f"{m['scheme'] or ''}127.0.0.1:{port}"

        return self.HOSTPORT.sub(sub, s)

    def walk(self, v, key: str | None = None):
        if isinstance(v, dict):
            return {k: self.walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.walk(x, key) for x in v]
        if isinstance(v, str):
            if key == "root_path":
                return "/"
            return self.rewrite_str(v)
        if isinstance(v, int) and key == "port":
            return self.port(v)
        return v


# Receivers/extensions that listen on a default port when given no endpoint.
LISTENERS = {"zipkin", "health_check", "pprof", "zpages", "fluentforward", "fluent_forward", "statsd"}


def bind_defaults(cfg: dict, lb: Loopback) -> None:
    def endpoint() -> str:
        return f"127.0.0.1:{free_port()}"

    for section in ("receivers", "extensions"):
        for cid, c in list((cfg.get(section) or {}).items()):
            typ = cid.split("/")[0]
            if typ == "otlp" and section == "receivers":
                protos = (c or {}).get("protocols") or {}
                for name in list(protos):
                    if not (protos[name] or {}).get("endpoint"):
                        protos[name] = {**(protos[name] or {}), "endpoint": endpoint()}
            elif typ == "jaeger" and section == "receivers":
                protos = (c or {}).get("protocols") or {}
                for name in list(protos):
                    if not (protos[name] or {}).get("endpoint"):
                        protos[name] = {**(protos[name] or {}), "endpoint": endpoint()}
            elif typ == "healthcheckv2":
                http = (c or {}).get("http")
                if c is not None and "http" in c and not (http or {}).get("endpoint"):
                    c["http"] = {**(http or {}), "endpoint": endpoint()}
            elif typ in LISTENERS and not (c or {}).get("endpoint"):
                cfg[section][cid] = {**(c or {}), "endpoint": endpoint()}
    tel = cfg.setdefault("service", {}).setdefault("telemetry", {}) or {}
    cfg["service"]["telemetry"] = tel
    metrics = tel.setdefault("metrics", {}) or {}
    tel["metrics"] = metrics
    if not metrics.get("readers"):
        metrics["readers"] = [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": lb.port(8888)}}}}]


def environment(tmp: Path, lb: Loopback) -> dict[str, str]:
    (tmp / "replay").mkdir(exist_ok=True)
    (tmp / "out").mkdir(exist_ok=True)
    loop = "127.0.0.1"
    return {
        **os.environ,
        "NO_COLOR": "1",
        "FERROTEL_METADATA_ENDPOINT": os.environ.get("FERROTEL_METADATA_ENDPOINT", "http://127.0.0.1:9"),
        "MY_POD_IP": loop,
        "K8S_NODE_IP": loop,
        "K8S_NODE_NAME": "node-1",
        "OTEL_COLLECTOR_HOST": loop,
        "OTEL_COLLECTOR_PORT_GRPC": str(free_port()),
        "OTEL_COLLECTOR_PORT_HTTP": str(free_port()),
        "FRONTEND_PROXY_ADDR": f"{loop}:{free_port()}",
        "IMAGE_PROVIDER_HOST": loop,
        "IMAGE_PROVIDER_PORT": str(free_port()),
        "POSTGRES_HOST": loop,
        "POSTGRES_PORT": str(free_port()),
        "POSTGRES_PASSWORD": "otel",
        "HONEYCOMB_API_KEY": "hc-key",
        "GRAFANA_CLOUD_INSTANCE_ID": "123456",
        "GRAFANA_CLOUD_API_KEY": "glc-key",
        "GRAFANA_CLOUD_OTLP_ENDPOINT": f"http://{loop}:{free_port()}/otlp",
        "NEW_RELIC_LICENSE_KEY": "nr-key",
        "DD_SITE": "datadoghq.com",
        "DD_API_KEY": "dd-key",
        "ELASTIC_APM_SERVER_ENDPOINT": f"{loop}:{free_port()}",
        "ELASTIC_APM_SECRET_TOKEN": "token",
        "DASH0_AUTH_TOKEN": "token",
        "LS_ACCESS_TOKEN": "token",
        "UPTRACE_DSN": f"http://project1_secret@{loop}:{free_port()}/1",
        "AXIOM_API_TOKEN": "token",
        "AXIOM_DATASET": "otel",
        "SIGNOZ_INGESTION_KEY": "key",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
        "ARCHIVE_DIR": str(tmp),
    }


def prepared(name: str, tmp: Path) -> tuple[Path, dict[str, str]]:
    lb = Loopback()
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    cfg = lb.walk(cfg)
    bind_defaults(cfg, lb)
    text = yaml.safe_dump(cfg, sort_keys=False)
    hosts = set(re.findall(r"://([^/:\s'\"@]+)", text)) | set(re.findall(r"([A-Za-z0-9_.-]+):\d{2,5}\b", text))
    # `http://*` is a CORS pattern, `${env:…}` a loopback value set below.
    hosts = {h for h in hosts if h not in ("127.0.0.1", "*") and not h.startswith("${")}
    assert not hosts, f"{name}: addresses left after the loopback rewrite: {hosts}"
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path, environment(tmp, lb)


LINE = re.compile(r"^\s*(?:Error: invalid configuration: )?(?P<section>receivers|processors|exporters|connectors|extensions)::(?P<id>[^:\s]+): (?P<msg>.*)$")
KIND = {"receivers": "receiver", "processors": "processor", "exporters": "exporter", "connectors": "connector", "extensions": "extension"}


def verdict(stderr: str) -> tuple[set[str], set[str], set[str], list[str]]:
    not_built, unknown, removed, other = set(), set(), set(), []
    for line in stderr.splitlines():
        m = LINE.match(line)
        if not m:
            if line.strip() and " WARN " not in line and not line.startswith(("warning", "  ")):
                other.append(line)
            continue
        kind_type = f"{KIND[m['section']]}/{m['id'].split('/')[0]}"
        msg = m["msg"]
        if "is not built into ferrotel yet" in msg:
            not_built.add(kind_type)
        elif msg.startswith("unknown type:"):
            unknown.add(kind_type)
        elif "was removed from the OpenTelemetry Collector" in msg:
            removed.add(kind_type)
        else:
            other.append(line)
    return not_built, unknown, removed, other


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_public_config_validates_and_runs_or_names_what_is_missing(name, tmp_path):
    path, env = prepared(name, tmp_path)
    args = EXTRA_ARGS.get(name, [])
    out = subprocess.run([str(BIN), "validate", "--config", str(path), *args], env=env, capture_output=True, text=True, timeout=60)
    want_not_built, want_unknown, want_removed = EXPECT[name]
    if not (want_not_built or want_unknown or want_removed):
        assert out.returncode == 0, f"{name} should validate:\n{out.stderr}\n--- config ---\n{path.read_text()}"
        col = Ferrotel(tmp_path, path.read_text(), [], name=name, extra_args=args, env=env)
        try:
            deadline = time.monotonic() + 20
            while "Everything is ready" not in col.output():
                assert col.proc.poll() is None, f"{name} exited during start:\n{col.output()}"
                assert time.monotonic() < deadline, f"{name} did not become ready:\n{col.output()}"
                time.sleep(0.1)
            time.sleep(0.5)
            assert col.proc.poll() is None, f"{name} stopped after start:\n{col.output()}"
        finally:
            code = col.stop()
        assert code == 0, f"{name} exited with {code} on SIGTERM:\n{col.output()}"
        return
    assert out.returncode == 1, f"{name} validated but should not:\n{out.stdout}"
    not_built, unknown, removed, other = verdict(out.stderr)
    assert (not_built, unknown, removed) == (want_not_built, want_unknown, want_removed), out.stderr
    assert not other, f"{name}: errors other than missing components:\n" + "\n".join(other)
