"""`resource_detection` end to end: the official Python SDK sends spans to ferrotel, whose
`resource_detection` processor (detectors env, system and ec2, the last pointed at a fake
IMDSv2 on 127.0.0.1 through AWS_EC2_METADATA_SERVICE_ENDPOINT) adds the detected attributes;
the OTLP that comes out carries them. No request leaves 127.0.0.1: every other metadata
address of every ferrotel the tests start is FERROTEL_METADATA_ENDPOINT, a closed port."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from harness import Ferrotel, free_port, pipeline_config
from otlp_sink import Sink

TOKEN = "AQAEAFakeToken=="
IDENTITY = {
    "accountId": "123456789012",
    "architecture": "x86_64",
    "availabilityZone": "us-west-2b",
    "imageId": "ami-5fb8c835",
    "instanceId": "i-1234567890abcdef0",
    "instanceType": "t2.micro",
    "pendingTime": "2016-11-19T16:32:11Z",
    "privateIp": "10.158.112.84",
    "region": "us-west-2",
    "version": "2017-09-30",
}
IMDS_HOSTNAME = "ip-10-158-112-84.us-west-2.compute.internal"


class FakeImds:
    """IMDSv2 as AWS documents it: PUT /latest/api/token, then GETs carrying the token."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: str):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):  # noqa: N802
                imds.requests.append(("PUT", self.path, dict(self.headers)))
                if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    self._reply(200, TOKEN)
                else:
                    self._reply(400, "bad token request")

            def do_GET(self):  # noqa: N802
                imds.requests.append(("GET", self.path, dict(self.headers)))
                if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                    self._reply(401, "")
                    return
                body = {
                    "/latest/meta-data/instance-id": IDENTITY["instanceId"],
                    "/latest/dynamic/instance-identity/document": json.dumps(IDENTITY, indent=2),
                    "/latest/meta-data/hostname": IMDS_HOSTNAME,
                }.get(self.path)
                self._reply(200, body) if body is not None else self._reply(404, "")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def attrs(resource) -> dict:
    out = {}
    for kv in resource.attributes:
        v = kv.value
        out[kv.key] = getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None
    return out


def send_spans(endpoint: str, resource: dict, n: int = 3) -> None:
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = provider.get_tracer("e2e.resource_detection", "0.1.0")
    for i in range(n):
        with tracer.start_as_current_span(f"rd-span-{i}"):
            pass
    provider.force_flush()
    provider.shutdown()


@pytest.fixture
def imds():
    s = FakeImds()
    yield s
    s.close()


def test_python_sdk_spans_leave_with_env_system_and_ec2_attributes(tmp_path, imds):
    sink = Sink()
    grpc_port, http_port = free_port(), free_port()
    cfg = pipeline_config(
        grpc_port,
        http_port,
        {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        processors={
            "resource_detection": {
                "detectors": ["env", "system", "ec2"],
                "timeout": "5s",
                "system": {"hostname_sources": ["os"]},
            },
            "batch": {"timeout": "100ms"},
        },
        signals=("traces",),
    )
    env = {
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=e2e,team=observability%20core",
    }
    ferrotel = Ferrotel(tmp_path, cfg, [grpc_port, http_port], env=env)
    try:
        send_spans(f"127.0.0.1:{grpc_port}", {"service.name": "rd-e2e", "host.name": "sdk-set-host", "team": "sdk"})
        assert sink.wait_for(lambda: sink.count("traces") >= 3), f"no spans arrived:\n{ferrotel.output()}"
        for rec in sink.requests("traces"):
            for rs in rec.request.resource_spans:
                got = attrs(rs.resource)
                # the SDK's own attributes stay unless a detector sets the key (override: true)
                assert got["service.name"] == "rd-e2e"
                assert got["telemetry.sdk.language"] == "python"
                # env detector (ferrotel's own OTEL_RESOURCE_ATTRIBUTES), overriding the SDK's team
                assert got["deployment.environment.name"] == "e2e"
                assert got["team"] == "observability core"
                # system detector, listed before ec2: its host.name wins over IMDS's
                assert got["host.name"] == socket.gethostname()
                assert got["os.type"] == "linux"
                # ec2 detector, from the fake IMDS
                for k, v in {
                    "cloud.provider": "aws",
                    "cloud.platform": "aws_ec2",
                    "cloud.region": "us-west-2",
                    "cloud.account.id": "123456789012",
                    "cloud.availability_zone": "us-west-2b",
                    "host.id": "i-1234567890abcdef0",
                    "host.image.id": "ami-5fb8c835",
                    "host.type": "t2.micro",
                }.items():
                    assert got[k] == v, (k, got)
        # IMDSv2: the token first, with its TTL header; detection ran once.
        assert imds.requests[0][0:2] == ("PUT", "/latest/api/token")
        assert sum(1 for r in imds.requests if r[1] == "/latest/dynamic/instance-identity/document") == 1
    finally:
        ferrotel.stop()
        sink.stop()


def test_config_naming_every_cloud_detector_starts_soft_and_unchanged(tmp_path):
    """With FERROTEL_METADATA_ENDPOINT at a closed 127.0.0.1 port (the harness default), a
    config naming every cloud detector starts within its timeout and changes nothing."""
    sink = Sink()
    grpc_port, http_port = free_port(), free_port()
    cfg = pipeline_config(
        grpc_port,
        http_port,
        {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        processors={
            "resourcedetection/cloud": {
                "detectors": ["ec2", "ecs", "eks", "gcp", "azure", "aks", "lambda", "heroku", "docker", "openshift"],
                "timeout": "2s",
                "override": False,
            }
        },
        signals=("traces",),
    )
    t0 = time.monotonic()
    ferrotel = Ferrotel(tmp_path, cfg, [grpc_port, http_port])
    try:
        assert time.monotonic() - t0 < 15
        send_spans(f"127.0.0.1:{grpc_port}", {"service.name": "rd-soft"}, n=1)
        assert sink.wait_for(lambda: sink.count("traces") >= 1), ferrotel.output()
        got = attrs(sink.requests("traces")[0].request.resource_spans[0].resource)
        assert not any(k.startswith(("cloud.", "host.", "k8s.", "os.")) for k in got), got
        assert "deprecated" in ferrotel.output() and "resourcedetection" in ferrotel.output()
    finally:
        ferrotel.stop()
        sink.stop()
