"""The transform processor's README examples (basic and advanced style) run end to end: hand-
built OTLP requests go into ferrotel over OTLP/HTTP, through `transform`, out over OTLP/gRPC to
a sink, and come out with the documented results. `error_mode` is checked too: `propagate`
refuses the batch, `ignore` goes on with the next statement."""

from __future__ import annotations

import pytest
import requests

from conftest import kv
from harness import Ferrotel, free_port, pipeline_config
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2 as c
from opentelemetry.proto.logs.v1 import logs_pb2 as L
from opentelemetry.proto.metrics.v1 import metrics_pb2 as M
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2 as T
from otlp_sink import Sink

# processor/transformprocessor/README.md, "Basic Config" (profiles left out)
README_BASIC = {
    "error_mode": "ignore",
    "trace_statements": [
        'keep_keys(span.attributes, ["service.name", "service.namespace", "cloud.region", "process.command_line"])',
        'replace_pattern(span.attributes["process.command_line"], "password\\\\=[^\\\\s]*(\\\\s?)", "password=***")',
        "limit(span.attributes, 100, [])",
        "truncate_all(span.attributes, 4096)",
    ],
    "metric_statements": [
        'keep_keys(resource.attributes, ["host.name"])',
        "truncate_all(resource.attributes, 4096)",
        'set(metric.description, "Sum") where metric.type == "Sum"',
        'convert_sum_to_gauge() where metric.name == "system.processes.count"',
        'convert_gauge_to_sum("cumulative", false) where metric.name == "prometheus_metric"',
    ],
    "log_statements": [
        'set(log.severity_text, "FAIL") where log.body == "request failed"',
        'replace_all_matches(log.attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")',
        'replace_all_patterns(log.attributes, "value", "/account/\\\\d{4}", "/account/{accountId}")',
        'set(log.body, log.attributes["http.route"])',
    ],
}

# README "Advanced Config"
README_ADVANCED = {
    "error_mode": "ignore",
    "metric_statements": [
        {"error_mode": "propagate", "conditions": ["metric.type == METRIC_DATA_TYPE_SUM"], "statements": ['set(metric.description, "Sum")']},
    ],
    "log_statements": [
        {"conditions": ['IsMap(log.body) and log.body["object"] != nil'], "statements": ['set(log.body, log.attributes["http.route"])']},
    ],
}


@pytest.fixture()
def sink():
    s = Sink()
    yield s
    s.stop()


def start(tmp_path, sink: Sink, transform: dict) -> tuple[Ferrotel, int]:
    g, h = free_port(), free_port()
    exporters = {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}}
    cfg = pipeline_config(g, h, exporters, processors={"transform": transform})
    return Ferrotel(tmp_path, cfg, [g, h]), h


def post(port: int, signal: str, req) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{port}/v1/{signal}",
        data=req.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )


def s(v: str) -> c.AnyValue:
    return c.AnyValue(string_value=v)


def attrs(kvs) -> dict:
    out = {}
    for a in kvs:
        kind = a.value.WhichOneof("value")
        out[a.key] = getattr(a.value, kind) if kind else None
    return out


def one(sink: Sink, signal: str, fx: Ferrotel):
    assert sink.wait_for(lambda: sink.requests(signal), timeout=20), fx.output(3000)
    return sink.requests(signal)[0].request


def test_readme_basic_config(tmp_path, sink):
    fx, port = start(tmp_path, sink, README_BASIC)
    try:
        traces = trace_service_pb2.ExportTraceServiceRequest(
            resource_spans=[
                T.ResourceSpans(
                    resource=resource_pb2.Resource(attributes=[kv("service.name", "svc")]),
                    scope_spans=[
                        T.ScopeSpans(
                            spans=[
                                T.Span(
                                    trace_id=bytes(range(1, 17)),
                                    span_id=bytes(range(1, 9)),
                                    name="op",
                                    attributes=[
                                        kv("process.command_line", "app --password=secret --port=1"),
                                        kv("http.method", "GET"),
                                        kv("cloud.region", "eu"),
                                        kv("big", "x" * 5000),
                                    ],
                                )
                            ]
                        )
                    ],
                )
            ]
        )
        assert post(port, "traces", traces).status_code == 200
        span = one(sink, "traces", fx).resource_spans[0].scope_spans[0].spans[0]
        assert attrs(span.attributes) == {"process.command_line": "app --password=***--port=1", "cloud.region": "eu"}

        metrics = metrics_service_pb2.ExportMetricsServiceRequest(
            resource_metrics=[
                M.ResourceMetrics(
                    resource=resource_pb2.Resource(attributes=[kv("host.name", "h"), kv("os.type", "linux")]),
                    scope_metrics=[
                        M.ScopeMetrics(
                            metrics=[
                                M.Metric(
                                    name="system.processes.count",
                                    sum=M.Sum(data_points=[M.NumberDataPoint(as_int=7, time_unix_nano=1)], aggregation_temporality=2),
                                ),
                                M.Metric(name="prometheus_metric", gauge=M.Gauge(data_points=[M.NumberDataPoint(as_double=1.5, time_unix_nano=1)])),
                            ]
                        )
                    ],
                )
            ]
        )
        assert post(port, "metrics", metrics).status_code == 200
        rm = one(sink, "metrics", fx).resource_metrics[0]
        assert attrs(rm.resource.attributes) == {"host.name": "h"}
        procs, prom = rm.scope_metrics[0].metrics
        assert procs.WhichOneof("data") == "gauge" and procs.gauge.data_points[0].as_int == 7
        # metric.type is an int: `== "Sum"` never matches, as in Go
        assert procs.description == ""
        assert prom.WhichOneof("data") == "sum"
        assert (prom.sum.aggregation_temporality, prom.sum.is_monotonic) == (2, False)

        logs = logs_service_pb2.ExportLogsServiceRequest(
            resource_logs=[
                L.ResourceLogs(
                    scope_logs=[
                        L.ScopeLogs(
                            log_records=[
                                L.LogRecord(
                                    body=s("request failed"),
                                    attributes=[kv("http.route", "/user/7/list/9"), kv("acct", "/account/1234")],
                                ),
                                L.LogRecord(body=s("fine"), attributes=[kv("http.route", "/health")]),
                            ]
                        )
                    ]
                )
            ]
        )
        assert post(port, "logs", logs).status_code == 200
        recs = one(sink, "logs", fx).resource_logs[0].scope_logs[0].log_records
        assert recs[0].severity_text == "FAIL"
        assert recs[0].body.string_value == "/user/{userId}/list/{listId}"
        assert attrs(recs[0].attributes)["acct"] == "/account/{accountId}"
        assert (recs[1].severity_text, recs[1].body.string_value) == ("", "/health")
    finally:
        fx.stop()


def test_readme_advanced_config(tmp_path, sink):
    fx, port = start(tmp_path, sink, README_ADVANCED)
    try:
        metrics = metrics_service_pb2.ExportMetricsServiceRequest(
            resource_metrics=[
                M.ResourceMetrics(
                    scope_metrics=[
                        M.ScopeMetrics(
                            metrics=[
                                M.Metric(name="a", sum=M.Sum(data_points=[M.NumberDataPoint(as_int=1)])),
                                M.Metric(name="b", gauge=M.Gauge(data_points=[M.NumberDataPoint(as_int=1)])),
                            ]
                        )
                    ]
                )
            ]
        )
        assert post(port, "metrics", metrics).status_code == 200
        ms = one(sink, "metrics", fx).resource_metrics[0].scope_metrics[0].metrics
        assert [(m.name, m.description) for m in ms] == [("a", "Sum"), ("b", "")]

        obj = c.AnyValue(kvlist_value=c.KeyValueList(values=[kv("object", "o")]))
        logs = logs_service_pb2.ExportLogsServiceRequest(
            resource_logs=[
                L.ResourceLogs(
                    scope_logs=[
                        L.ScopeLogs(
                            log_records=[
                                L.LogRecord(body=obj, attributes=[kv("http.route", "/r")]),
                                L.LogRecord(body=s("text"), attributes=[kv("http.route", "/r")]),
                            ]
                        )
                    ]
                )
            ]
        )
        assert post(port, "logs", logs).status_code == 200
        recs = one(sink, "logs", fx).resource_logs[0].scope_logs[0].log_records
        assert [r.body.string_value for r in recs] == ["/r", "text"]
    finally:
        fx.stop()


def substring_logs() -> logs_service_pb2.ExportLogsServiceRequest:
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[L.ResourceLogs(scope_logs=[L.ScopeLogs(log_records=[L.LogRecord(body=s("abc")), L.LogRecord(body=s("abcdef"))])])]
    )


STATEMENTS = [
    'set(log.attributes["short"], Substring(log.body, 0, 4))',
    'set(log.attributes["seen"], true)',
]


def test_error_mode_ignore_skips_only_the_failing_statement(tmp_path, sink):
    fx, port = start(tmp_path, sink, {"error_mode": "ignore", "log_statements": STATEMENTS})
    try:
        assert post(port, "logs", substring_logs()).status_code == 200
        recs = one(sink, "logs", fx).resource_logs[0].scope_logs[0].log_records
        assert attrs(recs[0].attributes) == {"seen": True}
        assert attrs(recs[1].attributes) == {"short": "abcd", "seen": True}
        assert "failed to execute statement" in fx.output(20000)
    finally:
        fx.stop()


def test_error_mode_propagate_refuses_the_batch(tmp_path, sink):
    fx, port = start(tmp_path, sink, {"log_statements": STATEMENTS})
    try:
        r = post(port, "logs", substring_logs())
        assert r.status_code >= 400, (r.status_code, r.text)
        assert not sink.wait_for(lambda: sink.requests("logs"), timeout=2)
    finally:
        fx.stop()


def test_validate_names_the_bad_statement(tmp_path):
    import subprocess

    import yaml

    from harness import BIN

    cfg = pipeline_config(free_port(), free_port(), {"debug": {}}, processors={"transform": {"log_statements": ['set(log.attributes["a"], Concat("x"))']}})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run([str(BIN), "validate", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert 'unable to parse OTTL statement "set(log.attributes[\\"a\\"], Concat(\\"x\\"))"' in text, text
    assert "incorrect number of arguments" in text, text
