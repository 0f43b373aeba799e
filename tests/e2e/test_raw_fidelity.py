"""Hand-built OTLP requests that set every field the protocol has (including what no SDK
here produces: summaries, NaN and infinities, empty and nested values, data point flags,
exponential histogram details), sent over gRPC, HTTP/protobuf and HTTP/JSON, must come out
of each of ferrotel's exporters exactly as they went in."""

from __future__ import annotations

import math

import grpc
import pytest
import requests

import compare
from conftest import SIGNALS, new_run_id
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2 as c
from opentelemetry.proto.logs.v1 import logs_pb2 as L
from opentelemetry.proto.metrics.v1 import metrics_pb2 as M
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2 as T
from otlp_json import to_json

EXPORTERS = ["otlp", "otlphttp", "otlphttp/json"]


def av(v) -> c.AnyValue:
    if v is None:
        return c.AnyValue()
    if isinstance(v, bool):
        return c.AnyValue(bool_value=v)
    if isinstance(v, int):
        return c.AnyValue(int_value=v)
    if isinstance(v, float):
        return c.AnyValue(double_value=v)
    if isinstance(v, bytes):
        return c.AnyValue(bytes_value=v)
    if isinstance(v, list):
        return c.AnyValue(array_value=c.ArrayValue(values=[av(x) for x in v]))
    if isinstance(v, dict):
        return c.AnyValue(kvlist_value=c.KeyValueList(values=[c.KeyValue(key=k, value=av(x)) for k, x in v.items()]))
    return c.AnyValue(string_value=v)


def attrs(d: dict) -> list:
    return [c.KeyValue(key=k, value=av(v)) for k, v in d.items()]


EVERY_VALUE = {
    "s": "ünïcödé ✓ \"quoted\" \\ \n newline",
    "empty.s": "",
    "t": True,
    "f": False,
    "i.neg": -9223372036854775808,
    "i.max": 9223372036854775807,
    "i.zero": 0,
    "d": 1.5e-300,
    "d.neg.zero": -0.0,
    "d.nan": math.nan,
    "d.inf": math.inf,
    "d.ninf": -math.inf,
    "b": b"\x00\xff\x10binary",
    "b.empty": b"",
    "arr": ["x", 1, 2.5, False, None, [1, [2]], {"k": "v"}],
    "arr.empty": [],
    "map": {"nested": {"deeper": [b"\x01", {"x": None}]}, "n": 3},
    "map.empty": {},
    "none": None,
}


def resource(run_id: str) -> resource_pb2.Resource:
    return resource_pb2.Resource(attributes=attrs({"e2e.run": run_id, **EVERY_VALUE}), dropped_attributes_count=4)


def scope() -> c.InstrumentationScope:
    return c.InstrumentationScope(name="raw.scope", version="9.9.9", attributes=attrs({"scope.k": "v", "n": 1}), dropped_attributes_count=2)


TID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SID = bytes.fromhex("b7ad6b7169203331")


def traces(run_id: str) -> trace_service_pb2.ExportTraceServiceRequest:
    span = T.Span(
        trace_id=TID,
        span_id=SID,
        trace_state="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        parent_span_id=bytes.fromhex("00f067aa0ba902b7"),
        flags=0x301,
        name="every field ✓",
        kind=T.Span.SPAN_KIND_PRODUCER,
        start_time_unix_nano=1,
        end_time_unix_nano=18446744073709551615,
        attributes=attrs(EVERY_VALUE),
        dropped_attributes_count=7,
        events=[
            T.Span.Event(time_unix_nano=1700000000000000001, name="e1", attributes=attrs({"k": [1, 2]}), dropped_attributes_count=1),
            T.Span.Event(name=""),
        ],
        dropped_events_count=3,
        links=[
            T.Span.Link(trace_id=TID, span_id=bytes.fromhex("1111111111111111"), trace_state="a=b", attributes=attrs({"l": True}), dropped_attributes_count=2, flags=0x101),
            T.Span.Link(trace_id=bytes.fromhex("ffffffffffffffffffffffffffffffff"), span_id=bytes.fromhex("ffffffffffffffff")),
        ],
        dropped_links_count=5,
        status=T.Status(code=T.Status.STATUS_CODE_ERROR, message="broken ✗"),
    )
    bare = T.Span(trace_id=TID, span_id=bytes.fromhex("0000000000000001"), name="")
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            T.ResourceSpans(
                resource=resource(run_id),
                schema_url="https://example.com/r",
                scope_spans=[T.ScopeSpans(scope=scope(), spans=[span, bare], schema_url="https://example.com/s"), T.ScopeSpans(spans=[T.Span(trace_id=TID, span_id=bytes.fromhex("0000000000000002"), name="no scope")])],
            )
        ]
    )


def metrics(run_id: str) -> metrics_service_pb2.ExportMetricsServiceRequest:
    ex = [
        M.Exemplar(filtered_attributes=attrs({"user": "u1"}), time_unix_nano=5, as_double=0.25, span_id=SID, trace_id=TID),
        M.Exemplar(time_unix_nano=6, as_int=-3),
    ]
    pa = attrs({"p": "a", "n": 1})
    ms = [
        M.Metric(name="g.int", description="d ✓", unit="{thing}", gauge=M.Gauge(data_points=[M.NumberDataPoint(attributes=pa, time_unix_nano=10, as_int=-5, exemplars=ex), M.NumberDataPoint(time_unix_nano=11, flags=1)]), metadata=attrs({"meta": "x"})),
        M.Metric(name="g.double", gauge=M.Gauge(data_points=[M.NumberDataPoint(time_unix_nano=10, as_double=math.nan), M.NumberDataPoint(time_unix_nano=12, as_double=-math.inf, start_time_unix_nano=2)])),
        M.Metric(name="sum.cum", unit="By", sum=M.Sum(aggregation_temporality=M.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=True, data_points=[M.NumberDataPoint(attributes=pa, start_time_unix_nano=1, time_unix_nano=10, as_int=9223372036854775807)])),
        M.Metric(name="sum.delta.nonmono", sum=M.Sum(aggregation_temporality=M.AGGREGATION_TEMPORALITY_DELTA, is_monotonic=False, data_points=[M.NumberDataPoint(start_time_unix_nano=9, time_unix_nano=10, as_double=-0.5)])),
        M.Metric(name="sum.unspecified", sum=M.Sum(data_points=[M.NumberDataPoint(time_unix_nano=10, as_int=0)])),
        M.Metric(
            name="hist",
            histogram=M.Histogram(
                aggregation_temporality=M.AGGREGATION_TEMPORALITY_DELTA,
                data_points=[
                    M.HistogramDataPoint(attributes=pa, start_time_unix_nano=1, time_unix_nano=10, count=6, sum=12.5, bucket_counts=[1, 0, 3, 2], explicit_bounds=[0.0, 5.0, 10.0], exemplars=ex, min=-1.0, max=9.75),
                    M.HistogramDataPoint(time_unix_nano=11, count=0, flags=1),
                ],
            ),
        ),
        M.Metric(
            name="exphist",
            exponential_histogram=M.ExponentialHistogram(
                aggregation_temporality=M.AGGREGATION_TEMPORALITY_CUMULATIVE,
                data_points=[
                    M.ExponentialHistogramDataPoint(
                        attributes=pa,
                        start_time_unix_nano=1,
                        time_unix_nano=10,
                        count=10,
                        sum=-3.5,
                        scale=-3,
                        zero_count=2,
                        positive=M.ExponentialHistogramDataPoint.Buckets(offset=-2, bucket_counts=[1, 0, 2]),
                        negative=M.ExponentialHistogramDataPoint.Buckets(offset=5, bucket_counts=[3, 2]),
                        exemplars=ex,
                        min=-100.0,
                        max=8.0,
                        zero_threshold=1e-9,
                    )
                ],
            ),
        ),
        M.Metric(
            name="summary",
            summary=M.Summary(
                data_points=[
                    M.SummaryDataPoint(
                        attributes=pa,
                        start_time_unix_nano=1,
                        time_unix_nano=10,
                        count=100,
                        sum=5000.5,
                        quantile_values=[M.SummaryDataPoint.ValueAtQuantile(quantile=0.0, value=1.0), M.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=99.5), M.SummaryDataPoint.ValueAtQuantile(quantile=1.0, value=100.0)],
                    )
                ]
            ),
        ),
    ]
    return metrics_service_pb2.ExportMetricsServiceRequest(
        resource_metrics=[M.ResourceMetrics(resource=resource(run_id), schema_url="https://example.com/r", scope_metrics=[M.ScopeMetrics(scope=scope(), metrics=ms, schema_url="https://example.com/s")])]
    )


def logs(run_id: str) -> logs_service_pb2.ExportLogsServiceRequest:
    recs = [
        L.LogRecord(
            time_unix_nano=100,
            observed_time_unix_nano=101,
            severity_number=L.SEVERITY_NUMBER_FATAL4,
            severity_text="FATAL4",
            body=av({"msg": "structured", "every": [1, 2.5, b"\x00", None, {"x": True}]}),
            attributes=attrs(EVERY_VALUE),
            dropped_attributes_count=3,
            flags=1,
            trace_id=TID,
            span_id=SID,
            event_name="raw.event",
        ),
        L.LogRecord(time_unix_nano=200, body=av(b"\xde\xad\xbe\xef")),
        L.LogRecord(observed_time_unix_nano=300, body=av(-1.25)),
        L.LogRecord(time_unix_nano=400),
    ]
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[L.ResourceLogs(resource=resource(run_id), schema_url="https://example.com/r", scope_logs=[L.ScopeLogs(scope=scope(), log_records=recs, schema_url="https://example.com/s")])]
    )


BUILD = {"traces": traces, "metrics": metrics, "logs": logs}
GRPC = {
    "traces": lambda ch: trace_service_pb2_grpc.TraceServiceStub(ch).Export,
    "metrics": lambda ch: metrics_service_pb2_grpc.MetricsServiceStub(ch).Export,
    "logs": lambda ch: logs_service_pb2_grpc.LogsServiceStub(ch).Export,
}


def _send(fwd, signal: str, transport: str, req) -> None:
    if transport == "grpc":
        with grpc.insecure_channel(f"127.0.0.1:{fwd.grpc_port}") as ch:
            GRPC[signal](ch)(req, timeout=10)
        return
    if transport == "http-proto":
        body, ctype = req.SerializeToString(), "application/x-protobuf"
    else:
        body, ctype = to_json(req), "application/json"
    r = requests.post(f"http://127.0.0.1:{fwd.http_port}/v1/{signal}", data=body, headers={"Content-Type": ctype}, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)


@pytest.fixture(scope="module", params=["grpc", "http-proto", "http-json"])
def raw_runs(request, forwarding):
    """Sends one request per signal over the given transport; returns {signal: (run, req)}."""
    out = {}
    for signal in SIGNALS:
        run = new_run_id()
        req = BUILD[signal](run)
        _send(forwarding, signal, request.param, req)
        out[signal] = (run, req)
    return out


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("signal", SIGNALS)
def test_every_otlp_field_survives(forwarding, raw_runs, signal, exporter):
    run, req = raw_runs[signal]
    flatten = compare.FLATTEN[signal]
    expected = flatten([req], ("e2e.run", run))
    sink, transport = forwarding.landing(exporter)

    def got():
        return flatten([r.request for r in sink.requests(signal, transport)], ("e2e.run", run))

    sink.wait_for(lambda: len(got()) >= len(expected), 15)
    problems = compare.diff(expected, got())
    assert not problems, f"{signal} via {exporter}:\n{problems}\n--- ferrotel ---\n{forwarding.ferrotel.output(3000)}"
