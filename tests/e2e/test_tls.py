"""TLS and mTLS with real clients. Certificates are made by the test with the `openssl` CLI:
a CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a client
certificate from another CA.

The official Python SDK's OTLP exporters send spans to ferrotel A, whose otlp receiver
requires client certificates from the CA (gRPC: `credentials=` from the certificate files;
HTTP: `certificate_file=` plus the client certificate and key from the SDK's
OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE / OTEL_EXPORTER_OTLP_CLIENT_KEY). A's `otlp_grpc`
exporter presents its own client certificate to ferrotel B (mTLS too), which forwards to the
test's sink. A also requires a bearer token (`bearertokenauth`) on both protocols, as a
gateway is run; the SDK sends it in its `headers`. Clients without a certificate, with one from
another CA, with an expired one, or with a valid certificate and a wrong token are refused and
counted in `otelcol_receiver_refused_requests` (`reason="tls_handshake"` / `"unauthenticated"`).
A server certificate replaced on disk is served to new connections within `reload_interval`.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from harness import Ferrotel, free_port, metric_sum, scrape
from otlp_sink import Sink


def _openssl(*args: str, cwd: Path) -> None:
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(args)}:\n{p.stderr}"


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d)


def _leaf(d: Path, name: str, ca: str, usage: str, days: str = "2") -> None:
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        f"extendedKeyUsage={usage}\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", days, "-extfile", ext.name, cwd=d)


class Pki:
    def __init__(self, d: Path):
        self.dir = d
        _ca(d, "ca")
        _ca(d, "other-ca")
        _leaf(d, "server", "ca", "serverAuth")
        # What an operator rotates the server certificate to.
        _leaf(d, "server-next", "ca", "serverAuth")
        _leaf(d, "client", "ca", "clientAuth")
        _leaf(d, "collector-a", "ca", "clientAuth")
        _leaf(d, "stranger", "other-ca", "clientAuth")
        # Signed by the right CA, but its validity ended yesterday (`-days -1`).
        _leaf(d, "expired", "ca", "clientAuth", days="-1")

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def read(self, name: str) -> bytes:
        return (self.dir / name).read_bytes()

    def server_tls(self) -> dict:
        return {"cert_file": self.path("server.pem"), "key_file": self.path("server.key"), "client_ca_file": self.path("ca.pem")}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    pki = Pki(d)
    sink = Sink()

    def collector(name: str, exporter: dict, token: str | None = None) -> tuple[Ferrotel, int, int, int]:
        g, h, m = free_port(), free_port(), free_port()
        auth = {"auth": {"authenticator": "bearertokenauth"}} if token else {}
        cfg = {
            "receivers": {"otlp": {"protocols": {
                "grpc": {"endpoint": f"127.0.0.1:{g}", "tls": pki.server_tls(), **auth},
                "http": {"endpoint": f"127.0.0.1:{h}", "tls": pki.server_tls(), **auth},
            }}},
            "exporters": {"otlp_grpc": exporter},
            "service": {
                "telemetry": {"metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": m}}}}]}},
                "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp_grpc"]}},
            },
        }
        if token:
            cfg["extensions"] = {"bearertokenauth": {"token": token}}
            cfg["service"]["extensions"] = ["bearertokenauth"]
        return Ferrotel(d, cfg, [g, h], name=name), g, h, m

    b, b_grpc, _, _ = collector("b", {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}})
    # A: mTLS and a bearer token on both protocols, as a gateway is run.
    a, a_grpc, a_http, a_metrics = collector("a", {
        "endpoint": f"127.0.0.1:{b_grpc}",
        "tls": {"ca_file": pki.path("ca.pem"), "cert_file": pki.path("collector-a.pem"), "key_file": pki.path("collector-a.key")},
        "retry_on_failure": {"enabled": False},
    }, token=TOKEN)
    yield pki, sink, a, a_grpc, a_http, a_metrics
    a.stop()
    b.stop()
    sink.stop()


def _spans(run_id: str, n: int = 3):
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "tls-e2e", "run.id": run_id}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tls-e2e")
    for i in range(n):
        with tracer.start_as_current_span(f"span-{i}"):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def _of_run(run_id: str):
    def pred(req) -> bool:
        return any(
            a.key == "run.id" and a.value.string_value == run_id
            for rs in req.resource_spans
            for a in rs.resource.attributes
        )
    return pred


TOKEN = "gateway-s3cret"


def _grpc_exporter(pki: Pki, port: int, client: str | None, token: str = TOKEN) -> GrpcSpanExporter:
    creds = grpc.ssl_channel_credentials(
        root_certificates=pki.read("ca.pem"),
        private_key=pki.read(f"{client}.key") if client else None,
        certificate_chain=pki.read(f"{client}.pem") if client else None,
    )
    return GrpcSpanExporter(endpoint=f"localhost:{port}", credentials=creds, timeout=3, headers={"authorization": f"Bearer {token}"})


def _no_ca_bundle_override(monkeypatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on some machines) replace the
    session's CA, so the SDK's `certificate_file` would be ignored."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _http_exporter(pki: Pki, port: int, client: str | None, monkeypatch, token: str = TOKEN) -> HttpSpanExporter:
    _no_ca_bundle_override(monkeypatch)
    if client:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.path(f"{client}.pem"))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.path(f"{client}.key"))
    else:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", raising=False)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", raising=False)
    return HttpSpanExporter(endpoint=f"https://127.0.0.1:{port}/v1/traces", certificate_file=pki.path("ca.pem"), timeout=3, headers={"authorization": f"Bearer {token}"})


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_with_a_client_certificate_reaches_the_sink_through_two_mtls_hops(setup, protocol, monkeypatch):
    pki, sink, a, a_grpc, a_http, _ = setup
    run_id = uuid.uuid4().hex
    exporter = _grpc_exporter(pki, a_grpc, "client") if protocol == "grpc" else _http_exporter(pki, a_http, "client", monkeypatch)
    try:
        result = exporter.export(_spans(run_id))
    finally:
        exporter.shutdown()
    assert result == SpanExportResult.SUCCESS, a.output(3000)
    arrived = sink.wait_for(lambda: sink.count("traces", pred=_of_run(run_id)) >= 3, timeout=20)
    assert arrived, f"spans did not arrive through A -> B -> sink\n--- a ---\n{a.output(3000)}"
    assert sink.count("traces", pred=_of_run(run_id)) == 3


@pytest.mark.parametrize("client", [None, "stranger", "expired"], ids=["no-certificate", "other-ca", "expired"])
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_without_a_trusted_client_certificate_is_refused(setup, protocol, client, monkeypatch):
    pki, sink, a, a_grpc, a_http, a_metrics = setup

    def refused() -> float:
        return metric_sum(scrape(a_metrics), "otelcol_receiver_refused_requests", reason="tls_handshake")

    before = refused()
    run_id = uuid.uuid4().hex
    exporter = _grpc_exporter(pki, a_grpc, client) if protocol == "grpc" else _http_exporter(pki, a_http, client, monkeypatch)
    try:
        result = exporter.export(_spans(run_id))
    finally:
        exporter.shutdown()
    assert result == SpanExportResult.FAILURE
    assert not sink.wait_for(lambda: sink.count("traces", pred=_of_run(run_id)) > 0, timeout=1)
    # Each refused handshake is counted (the SDK may retry within its timeout: at least one).
    assert refused() > before, scrape(a_metrics)


def test_sdk_that_does_not_trust_the_ca_refuses_the_server(setup, monkeypatch):
    pki, _, _, _, a_http, _ = setup
    _no_ca_bundle_override(monkeypatch)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.path("client.pem"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.path("client.key"))
    exporter = HttpSpanExporter(endpoint=f"https://127.0.0.1:{a_http}/v1/traces", certificate_file=pki.path("other-ca.pem"), timeout=3)
    try:
        assert exporter.export(_spans(uuid.uuid4().hex)) == SpanExportResult.FAILURE
    finally:
        exporter.shutdown()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_sdk_with_a_valid_certificate_but_a_wrong_token_is_refused_and_counted(setup, protocol, monkeypatch):
    pki, sink, a, a_grpc, a_http, a_metrics = setup

    def refused() -> float:
        return metric_sum(scrape(a_metrics), "otelcol_receiver_refused_requests", reason="unauthenticated")

    before = refused()
    run_id = uuid.uuid4().hex
    exporter = (
        _grpc_exporter(pki, a_grpc, "client", token="wrong")
        if protocol == "grpc"
        else _http_exporter(pki, a_http, "client", monkeypatch, token="wrong")
    )
    try:
        result = exporter.export(_spans(run_id))
    finally:
        exporter.shutdown()
    assert result == SpanExportResult.FAILURE
    assert not sink.wait_for(lambda: sink.count("traces", pred=_of_run(run_id)) > 0, timeout=1)
    assert refused() > before, scrape(a_metrics)


def _served_cn(port: int, ca: str) -> str:
    """The CN of the certificate a new TLS connection to `port` is served."""
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
    return subject["commonName"]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_rotated_server_certificate_is_served_within_reload_interval(setup, tmp_path, protocol, monkeypatch):
    pki, sink, *_ = setup
    rot = tmp_path / "rot"
    rot.mkdir()
    for ext in ("pem", "key"):
        shutil.copy(pki.path(f"server.{ext}"), rot / f"server.{ext}")
    port = free_port()
    tls = {"cert_file": str(rot / "server.pem"), "key_file": str(rot / "server.key"), "reload_interval": "1s"}
    cfg = {
        "receivers": {"otlp": {"protocols": {protocol: {"endpoint": f"127.0.0.1:{port}", "tls": tls}}}},
        "exporters": {"otlp_grpc": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp_grpc"]}}},
    }
    fx = Ferrotel(tmp_path, cfg, [port], name=f"rotation-{protocol}")
    try:
        assert _served_cn(port, pki.path("ca.pem")) == "server"
        # Rotate as cert-manager does: new files in place, no restart, no signal.
        for ext in ("key", "pem"):
            tmp = rot / f"server.{ext}.new"
            shutil.copy(pki.path(f"server-next.{ext}"), tmp)
            tmp.replace(rot / f"server.{ext}")
        rotated_at = time.monotonic()
        cn = "server"
        # reload_interval is 1s; 5s allows for the reload's own tick and a loaded machine.
        while time.monotonic() - rotated_at < 5 and cn != "server-next":
            time.sleep(0.2)
            cn = _served_cn(port, pki.path("ca.pem"))
        assert cn == "server-next", f"still serving {cn} 5s after rotation:\n{fx.output(3000)}"
        # And an SDK that trusts the CA exports through the new certificate.
        run_id = uuid.uuid4().hex
        if protocol == "grpc":
            exporter = GrpcSpanExporter(endpoint=f"localhost:{port}", credentials=grpc.ssl_channel_credentials(root_certificates=pki.read("ca.pem")), timeout=3)
        else:
            _no_ca_bundle_override(monkeypatch)
            exporter = HttpSpanExporter(endpoint=f"https://127.0.0.1:{port}/v1/traces", certificate_file=pki.path("ca.pem"), timeout=3)
        try:
            assert exporter.export(_spans(run_id)) == SpanExportResult.SUCCESS, fx.output(3000)
        finally:
            exporter.shutdown()
        assert sink.wait_for(lambda: sink.count("traces", pred=_of_run(run_id)) >= 3, timeout=20)
    finally:
        fx.stop()
