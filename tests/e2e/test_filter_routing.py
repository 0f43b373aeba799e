"""The filter processor's OTTL form and the routing connector in the real binary: the Go
filter README's examples drop exactly the documented spans, span events, metrics, data points
and log records; the routing connector's README examples send each record to the pipelines
of the first route it matches (by record attribute, by resource, by the `X-Tenant` header
with `include_metadata`), and the rest to `default_pipelines`."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import kv
from harness import Ferrotel, free_port, pipeline_config
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.logs.v1 import logs_pb2 as L
from opentelemetry.proto.metrics.v1 import metrics_pb2 as M
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2 as T
from otlp_sink import Sink

# processor/filterprocessor/README.md: the traces, metrics and logs examples.
README_FILTER = {
    "error_mode": "ignore",
    "traces": {
        "span": [
            'attributes["container.name"] == "app_container_1"',
            'resource.attributes["host.name"] == "localhost"',
            'name == "app_3"',
        ],
        "spanevent": ['attributes["grpc"] == true', 'IsMatch(name, ".*grpc.*")'],
    },
    "metrics": {
        "metric": ['name == "my.metric" and resource.attributes["my_label"] == "abc123"', "type == METRIC_DATA_TYPE_HISTOGRAM"],
        "datapoint": ["metric.type == METRIC_DATA_TYPE_SUMMARY", 'resource.attributes["service.name"] == "my_service_name"'],
    },
    "logs": {"log_record": ['IsMatch(body, ".*password.*")', "severity_number < SEVERITY_NUMBER_WARN"]},
}


@pytest.fixture()
def sink():
    s = Sink()
    yield s
    s.stop()


def post(port: int, signal: str, req, headers: dict | None = None) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{port}/v1/{signal}",
        data=req.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", **(headers or {})},
        timeout=10,
    )


def res(**attrs) -> resource_pb2.Resource:
    return resource_pb2.Resource(attributes=[kv(k, v) for k, v in attrs.items()])


def test_readme_filter_examples_drop_what_the_readme_says(tmp_path, sink):
    g, h = free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}
    fx = Ferrotel(tmp_path, pipeline_config(g, h, exporters, processors={"filter": README_FILTER}), [g, h])
    try:
        spans = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
            T.ResourceSpans(resource=res(**{"host.name": "server-1"}), scope_spans=[T.ScopeSpans(spans=[
                T.Span(trace_id=b"\x01" * 16, span_id=b"\x01" * 8, name="a", attributes=[kv("container.name", "app_container_1")]),
                T.Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="b", events=[
                    T.Span.Event(name="grpc.call"), T.Span.Event(name="db", attributes=[kv("grpc", True)]), T.Span.Event(name="kept")]),
                T.Span(trace_id=b"\x01" * 16, span_id=b"\x03" * 8, name="app_3"),
            ])]),
            T.ResourceSpans(resource=res(**{"host.name": "localhost"}), scope_spans=[T.ScopeSpans(spans=[
                T.Span(trace_id=b"\x02" * 16, span_id=b"\x04" * 8, name="c")])]),
        ])
        assert post(h, "traces", spans).status_code == 200
        assert sink.wait_for(lambda: sink.requests("traces"), 20), fx.output(3000)
        out = sink.requests("traces")[0].request
        got = [(s.name, [e.name for e in s.events]) for rs in out.resource_spans for ss in rs.scope_spans for s in ss.spans]
        assert got == [("b", ["kept"])]

        summary = M.Metric(name="sizes", summary=M.Summary(data_points=[M.SummaryDataPoint(count=1, time_unix_nano=1)]))
        metrics = metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[
            M.ResourceMetrics(resource=res(my_label="abc123", **{"service.name": "other"}), scope_metrics=[M.ScopeMetrics(metrics=[
                M.Metric(name="my.metric", gauge=M.Gauge(data_points=[M.NumberDataPoint(as_int=1, time_unix_nano=1)])),
                M.Metric(name="latency", histogram=M.Histogram(data_points=[M.HistogramDataPoint(count=1, time_unix_nano=1)], aggregation_temporality=2)),
                summary,
                M.Metric(name="kept", gauge=M.Gauge(data_points=[M.NumberDataPoint(as_int=2, time_unix_nano=1)])),
            ])]),
            M.ResourceMetrics(resource=res(**{"service.name": "my_service_name"}), scope_metrics=[M.ScopeMetrics(metrics=[
                M.Metric(name="all.points.dropped", gauge=M.Gauge(data_points=[M.NumberDataPoint(as_int=3, time_unix_nano=1)])),
            ])]),
        ])
        assert post(h, "metrics", metrics).status_code == 200
        assert sink.wait_for(lambda: sink.requests("metrics"), 20), fx.output(3000)
        out = sink.requests("metrics")[0].request
        assert [m.name for rm in out.resource_metrics for sm in rm.scope_metrics for m in sm.metrics] == ["kept"]

        logs = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[L.ResourceLogs(scope_logs=[L.ScopeLogs(log_records=[
            L.LogRecord(body=kv("b", "user password=hunter2").value, severity_number=17),
            L.LogRecord(body=kv("b", "debug noise").value, severity_number=5),
            L.LogRecord(body=kv("b", "disk almost full").value, severity_number=13),
        ])])])
        assert post(h, "logs", logs).status_code == 200
        assert sink.wait_for(lambda: sink.requests("logs"), 20), fx.output(3000)
        out = sink.requests("logs")[0].request
        assert [r.body.string_value for rl in out.resource_logs for sl in rl.scope_logs for r in sl.log_records] == ["disk almost full"]
    finally:
        fx.stop()


def routing_config(g: int, h: int, sink: Sink, routing: dict, routes: list[str]) -> dict:
    """logs/in -> routing -> one pipeline per route, each tagging what it got with a resource
    attribute `routed.to` before the shared sink."""
    processors = {f"resource/{r}": {"attributes": [{"key": "routed.to", "value": r, "action": "upsert"}]} for r in routes}
    pipelines = {"logs/in": {"receivers": ["otlp"], "exporters": ["routing"]}}
    for r in routes:
        pipelines[f"logs/{r}"] = {"receivers": ["routing"], "processors": [f"resource/{r}"], "exporters": ["otlp"]}
    return {
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": f"127.0.0.1:{g}"},
            "http": {"endpoint": f"127.0.0.1:{h}", "include_metadata": True},
        }}},
        "processors": processors,
        "connectors": {"routing": routing},
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {"pipelines": pipelines},
    }


def routed(sink: Sink) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in sink.requests("logs"):
        for rl in r.request.resource_logs:
            to = next(a.value.string_value for a in rl.resource.attributes if a.key == "routed.to")
            for sl in rl.scope_logs:
                out.setdefault(to, []).extend(rec.body.string_value for rec in sl.log_records)
    return out


def wait_records(sink: Sink, n: int, fx: Ferrotel) -> dict[str, list[str]]:
    assert sink.wait_for(lambda: sum(len(v) for v in routed(sink).values()) >= n, 20), fx.output(3000)
    time.sleep(0.3)  # nothing more arrives
    return routed(sink)


def test_routing_readme_region_and_service_examples(tmp_path, sink):
    g, h = free_port(), free_port()
    routing = {
        "default_pipelines": ["logs/other"],
        "table": [
            {"context": "log", "condition": 'severity_number < SEVERITY_NUMBER_ERROR', "pipelines": ["logs/cheap"]},
            {"context": "log", "condition": 'attributes["region"] == "east"', "pipelines": ["logs/east"]},
            {"context": "resource", "condition": 'attributes["service.name"] == "billing"', "pipelines": ["logs/billing"]},
        ],
    }
    cfg = routing_config(g, h, sink, routing, ["cheap", "east", "billing", "other"])
    fx = Ferrotel(tmp_path, cfg, [g, h])
    try:
        def rec(body, sev, **attrs):
            return L.LogRecord(body=kv("b", body).value, severity_number=sev, attributes=[kv(k, v) for k, v in attrs.items()])

        logs = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[
            L.ResourceLogs(resource=res(**{"service.name": "api"}), scope_logs=[L.ScopeLogs(log_records=[
                rec("info", 9, region="east"), rec("east error", 17, region="east"), rec("west error", 17, region="west")])]),
            L.ResourceLogs(resource=res(**{"service.name": "billing"}), scope_logs=[L.ScopeLogs(log_records=[
                rec("billing error", 17), rec("billing east", 21, region="east")])]),
        ])
        assert post(h, "logs", logs).status_code == 200
        got = wait_records(sink, 5, fx)
        assert got == {
            "cheap": ["info"],
            # A record matching the east route goes there, even inside the billing resource.
            "east": ["east error", "billing east"],
            "billing": ["billing error"],
            "other": ["west error"],
        }
    finally:
        fx.stop()


def test_routing_by_tenant_header_with_include_metadata(tmp_path, sink):
    g, h = free_port(), free_port()
    routing = {
        "default_pipelines": ["logs/other"],
        "table": [
            {"context": "request", "condition": 'request["X-Tenant"] == "acme"', "pipelines": ["logs/acme"]},
            {"context": "request", "condition": 'request["X-Tenant"] == "ecorp"', "pipelines": ["logs/ecorp"]},
        ],
    }
    fx = Ferrotel(tmp_path, routing_config(g, h, sink, routing, ["acme", "ecorp", "other"]), [g, h])
    try:
        for tenant in ("acme", "ecorp", "initech", None):
            logs = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[L.ResourceLogs(scope_logs=[L.ScopeLogs(
                log_records=[L.LogRecord(body=kv("b", f"from {tenant}").value)])])])
            headers = {"X-Tenant": tenant} if tenant else {}
            assert post(h, "logs", logs, headers).status_code == 200
        got = wait_records(sink, 4, fx)
        # Two requests for one pipeline leave its exporter's queue through different
        # workers: their order at the sink is not defined (nor is it in Go).
        got = {name: sorted(bodies) for name, bodies in got.items()}
        assert got == {"acme": ["from acme"], "ecorp": ["from ecorp"], "other": ["from None", "from initech"]}
    finally:
        fx.stop()
