"""The README's quickstart works as written: its config (ports moved to free ones) runs, its
curl JSON span is accepted and printed by the debug exporter, the health check answers and
the self-metrics count the span."""

from __future__ import annotations

import json
import re
import time

import requests

from harness import REPO, Ferrotel, free_port, http_get, metric_sum, scrape


def _readme_parts() -> tuple[str, str]:
    readme = (REPO / "README.md").read_text()
    yaml = re.search(r"```yaml\n(.*?)```", readme, re.S)
    body = re.search(r"-d '(\{.*?\})'", readme, re.S)
    assert yaml and body, "README lost its quickstart config or curl body"
    return yaml.group(1), body.group(1)


def test_readme_quickstart_runs_as_written(tmp_path):
    yaml, body = _readme_parts()
    g, h, hc, m = free_port(), free_port(), free_port(), free_port()
    yaml = yaml.replace("127.0.0.1:4317", f"127.0.0.1:{g}").replace("127.0.0.1:4318", f"127.0.0.1:{h}").replace("127.0.0.1:13133", f"127.0.0.1:{hc}")
    # self-metrics on a free port instead of the default 8888
    yaml = yaml.replace("service:\n", f"service:\n  telemetry:\n    metrics:\n      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {m}}}}}}}}}]\n", 1)
    fx = Ferrotel(tmp_path, yaml, [g, h, hc, m])
    try:
        r = requests.post(f"http://127.0.0.1:{h}/v1/traces", data=body.encode(), headers={"Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        json.loads(r.content or b"{}")
        deadline = time.monotonic() + 10
        while "hello" not in fx.output(100_000) and time.monotonic() < deadline:
            time.sleep(0.1)
        out = fx.output(100_000)
        for want in ["Span #0", "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "hello", "Server", "-> service.name: Str(quickstart)"]:
            assert want in out, f"debug exporter output lacks {want!r}:\n{out[-3000:]}"
        status, text = http_get(f"http://127.0.0.1:{hc}/")
        assert status == 200 and json.loads(text)["status"] == "Server available", text
        assert metric_sum(scrape(m), "otelcol_receiver_accepted_spans", receiver="otlp", transport="http") == 1
    finally:
        fx.stop()


def test_readme_secure_gateway_config_validates(tmp_path):
    """The "Securing a gateway" config validates as written (files and host names replaced by
    ones made here: certificates from the openssl CLI, the backend on 127.0.0.1)."""
    import subprocess

    from harness import BIN, ferrotel_env

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Securing a gateway", 1)[1]
    yaml = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    tls = tmp_path / "tls"
    tls.mkdir()
    for name in ["server", "clients-ca", "backend-ca", "gateway-client"]:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", f"/CN={name}", "-keyout", str(tls / f"{name}.key"), "-out", str(tls / f"{name}.crt")],
            check=True, capture_output=True,
        )
    (tmp_path / "token").write_text("s3cret\n")
    yaml = (
        yaml.replace("/etc/ferrotel/tls/", f"{tls}/")
        .replace("/etc/ferrotel/token", str(tmp_path / "token"))
        .replace("/var/lib/ferrotel/queue", str(tmp_path / "queue"))
        .replace("backend.example.com:4317", f"127.0.0.1:{free_port()}")
        .replace("0.0.0.0:4317", f"127.0.0.1:{free_port()}")
        .replace("0.0.0.0:4318", f"127.0.0.1:{free_port()}")
    )
    (tmp_path / "queue").mkdir()
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml)
    out = subprocess.run([str(BIN), "validate", "--config", str(path)], env=ferrotel_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
