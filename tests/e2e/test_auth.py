"""Authentication and client metadata end to end, with the official Python SDK's OTLP
exporters as clients:

- the otlp receiver with `bearertokenauth` on gRPC and HTTP accepts the SDK when its
  `headers` carry the right bearer token, and refuses a wrong or missing token
  (UNAUTHENTICATED / 401) without passing anything on, counting every refusal;
- a tenant header sent by the SDK travels with the data (`include_metadata`), is kept by the
  batch processor's `metadata_keys` (one batch per tenant) and is set again on the outgoing
  request by `headers_setter` (`from_context`), so that the OTLP sink sees each tenant's
  spans arrive with its own header; the outgoing request also carries the exporter's own
  bearer token (a `bearertokenauth` client)."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

from conftest import new_run_id
from harness import Ferrotel, free_port, metric_sum, scrape
from otlp_sink import Sink

TOKEN = "e2e-s3cret"


def finished_spans(run_id: str, n: int):
    """`n` finished SDK spans (ReadableSpan), built without any exporter."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-auth", "e2e.run": run_id}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("e2e")
    for i in range(n):
        with tracer.start_as_current_span(f"auth-{i}"):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def exporter(protocol: str, port: int, headers: dict[str, str] | None):
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, headers=headers, timeout=5)
    return HttpSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", headers=headers, timeout=5)


def export(protocol: str, port: int, headers, spans) -> SpanExportResult:
    exp = exporter(protocol, port, headers)
    try:
        return exp.export(spans)
    finally:
        exp.shutdown()


def sink_spans(sink: Sink, run_id: str) -> int:
    n = 0
    for rec in sink.requests("traces"):
        for rs in rec.request.resource_spans:
            if any(a.key == "e2e.run" and a.value.string_value == run_id for a in rs.resource.attributes):
                n += sum(len(ss.spans) for ss in rs.scope_spans)
    return n


@pytest.fixture(scope="module")
def bearer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auth")
    sink = Sink()
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    auth = {"auth": {"authenticator": "bearertokenauth"}}
    cfg = {
        "extensions": {"bearertokenauth": {"token": TOKEN}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{grpc_port}", **auth},
                    "http": {"endpoint": f"127.0.0.1:{http_port}", **auth},
                }
            }
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "extensions": ["bearertokenauth"],
            "telemetry": {"metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}},
            "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp"]}},
        },
    }
    fer = Ferrotel(tmp, cfg, [grpc_port, http_port, metrics_port])
    yield sink, fer, {"grpc": grpc_port, "http": http_port}, metrics_port
    fer.stop()
    sink.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_bearer_token_right_accepted_wrong_and_missing_refused_and_counted(bearer, protocol):
    sink, fer, ports, metrics_port = bearer
    before = metric_sum(scrape(metrics_port), "otelcol_receiver_refused_requests", transport=protocol, reason="unauthenticated")

    run_ok = new_run_id()
    assert export(protocol, ports[protocol], {"authorization": f"Bearer {TOKEN}"}, finished_spans(run_ok, 3)) == SpanExportResult.SUCCESS, fer.output(3000)
    assert sink.wait_for(lambda: sink_spans(sink, run_ok) == 3), fer.output(3000)

    run_bad = new_run_id()
    assert export(protocol, ports[protocol], {"authorization": "Bearer wrong"}, finished_spans(run_bad, 2)) == SpanExportResult.FAILURE
    assert export(protocol, ports[protocol], None, finished_spans(run_bad, 2)) == SpanExportResult.FAILURE
    after = metric_sum(scrape(metrics_port), "otelcol_receiver_refused_requests", transport=protocol, reason="unauthenticated")
    assert after - before == 2, fer.output(3000)
    assert sink_spans(sink, run_bad) == 0
    accepted = metric_sum(scrape(metrics_port), "otelcol_receiver_accepted_spans", transport=protocol)
    assert accepted >= 3


def test_tenant_header_flows_through_include_metadata_batch_and_headers_setter(tmp_path):
    sink = Sink()
    grpc_port, http_port = free_port(), free_port()
    auth = {"auth": {"authenticator": "bearertokenauth/in"}, "include_metadata": True}
    cfg = {
        "extensions": {
            "bearertokenauth/in": {"token": TOKEN},
            "headers_setter": {"headers": [{"key": "X-Tenant", "from_context": "x-tenant"}, {"key": "Authorization", "value": "Bearer downstream"}]},
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{grpc_port}", **auth},
                    "http": {"endpoint": f"127.0.0.1:{http_port}", **auth},
                }
            }
        },
        "processors": {"batch": {"timeout": "200ms", "metadata_keys": ["X-Tenant"]}},
        "exporters": {
            "otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}, "auth": {"authenticator": "headers_setter"}},
            "otlp_http": {"endpoint": sink.http_endpoint, "auth": {"authenticator": "headers_setter"}},
        },
        "service": {
            "extensions": ["bearertokenauth/in", "headers_setter"],
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp", "otlp_http"]}},
        },
    }
    fer = Ferrotel(tmp_path, cfg, [grpc_port, http_port])
    try:
        runs = {}
        for protocol, tenant, n in [("grpc", "acme", 3), ("http", "globex", 2), ("grpc", "globex", 1)]:
            run = new_run_id()
            runs[run] = (tenant, n)
            port = grpc_port if protocol == "grpc" else http_port
            headers = {"authorization": f"Bearer {TOKEN}", "x-tenant": tenant}
            assert export(protocol, port, headers, finished_spans(run, n)) == SpanExportResult.SUCCESS, fer.output(3000)

        def delivered():
            return all(sink_spans(sink, run) == 2 * n for run, (_, n) in runs.items())  # both exporters

        assert sink.wait_for(delivered), fer.output(3000)
        checked = {}
        for rec in sink.requests("traces"):
            tenants = set()
            for rs in rec.request.resource_spans:
                run = next((a.value.string_value for a in rs.resource.attributes if a.key == "e2e.run"), None)
                if run in runs:
                    tenants.add(runs[run][0])
            if not tenants:
                continue
            assert len(tenants) == 1, f"one batch per tenant, got {tenants} in one request"
            tenant = tenants.pop()
            got = {k.lower(): v for k, v in rec.headers.items()}
            assert got.get("x-tenant") == tenant, (rec.transport, got)
            checked.setdefault(rec.transport, set()).add(tenant)
            assert got.get("authorization") == "Bearer downstream", (rec.transport, got)
        assert checked == {"grpc": {"acme", "globex"}, "http": {"acme", "globex"}}, checked
    finally:
        fer.stop()
        sink.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_basicauth_htpasswd_accepts_the_user_and_refuses_a_wrong_password(tmp_path, protocol):
    import base64

    sink = Sink()
    grpc_port, http_port = free_port(), free_port()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("# users\nalice:{SHA}" + base64.b64encode(__import__("hashlib").sha1(b"wonderland").digest()).decode() + "\n")
    auth = {"auth": {"authenticator": "basicauth"}}
    cfg = {
        "extensions": {"basicauth": {"htpasswd": {"file": str(htpasswd), "inline": "bob:builder"}}},
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}", **auth}, "http": {"endpoint": f"127.0.0.1:{http_port}", **auth}}}},
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {"extensions": ["basicauth"], "telemetry": {"metrics": {"level": "none"}}, "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlp"]}}},
    }
    fer = Ferrotel(tmp_path, cfg, [grpc_port, http_port])
    try:
        port = grpc_port if protocol == "grpc" else http_port
        basic = lambda user, pw: {"authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}  # noqa: E731
        for user, pw in [("alice", "wonderland"), ("bob", "builder")]:
            run = new_run_id()
            assert export(protocol, port, basic(user, pw), finished_spans(run, 2)) == SpanExportResult.SUCCESS, fer.output(3000)
            assert sink.wait_for(lambda: sink_spans(sink, run) == 2), fer.output(3000)
        run = new_run_id()
        assert export(protocol, port, basic("alice", "nope"), finished_spans(run, 2)) == SpanExportResult.FAILURE
        assert sink_spans(sink, run) == 0
    finally:
        fer.stop()
        sink.stop()
