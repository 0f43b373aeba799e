"""Real Jaeger clients into ferrotel's `jaeger` receiver, out as OTLP.

Python (official SDK 1.45 with `opentelemetry-exporter-jaeger-thrift`): the agent's UDP
compact port, the collector's Thrift HTTP endpoint, and gRPC `PostSpans` (the SDK's proto
translation, see jaeger_proto.py). Node (official JS SDK with `@opentelemetry/exporter-jaeger`,
which sends with jaeger-client): the agent's UDP binary port, Thrift HTTP, and gRPC
(node/jaeger_sender.js).

Each arrival is compared field by field with the SDK's own spans, by the rules of Go's
`pkg/translator/jaeger` for what the exporter wrote: `span.kind` → kind; `error` /
`otel.status_code` / `otel.status_description` → status (else a 5xx `http.status_code`);
resource attributes, scope tags and everything else → span attributes; logs → events (named
by an `event` field, which only the JS exporter writes); FOLLOWS_FROM references → links with
`opentracing.ref_type`; `otel.scope.*` → scope for protobuf only; timestamps at the
precision each client sends.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import opentelemetry.sdk.environment_variables as _sdk_env

# The SDK dropped the names of the Jaeger exporter's environment variables (1.22) after the
# exporter's last release (1.21), which still imports them: give them back, with their own
# names as values (what they were), so that the released exporter imports unchanged.
for _name in (
    "OTEL_EXPORTER_JAEGER_AGENT_HOST",
    "OTEL_EXPORTER_JAEGER_AGENT_PORT",
    "OTEL_EXPORTER_JAEGER_AGENT_SPLIT_OVERSIZED_BATCHES",
    "OTEL_EXPORTER_JAEGER_ENDPOINT",
    "OTEL_EXPORTER_JAEGER_PASSWORD",
    "OTEL_EXPORTER_JAEGER_TIMEOUT",
    "OTEL_EXPORTER_JAEGER_USER",
):
    if not hasattr(_sdk_env, _name):
        setattr(_sdk_env, _name, _name)

from opentelemetry.exporter.jaeger.thrift import JaegerExporter  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import Link, SpanKind, Status, StatusCode  # noqa: E402

import jaeger_proto  # noqa: E402
from harness import NODE_DIR, Ferrotel, free_port, metric_sum, scrape  # noqa: E402
from otlp_sink import Sink  # noqa: E402


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jaeger_ferrotel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jaeger")
    sink = Sink()
    ports = {"grpc": free_port(), "http": free_port(), "compact": free_udp_port(), "binary": free_udp_port(), "self": free_port()}
    cfg = {
        "receivers": {
            "jaeger": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{ports['grpc']}"},
                    "thrift_http": {"endpoint": f"127.0.0.1:{ports['http']}"},
                    "thrift_compact": {"endpoint": f"127.0.0.1:{ports['compact']}"},
                    "thrift_binary": {"endpoint": f"127.0.0.1:{ports['binary']}"},
                }
            }
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {
                "logs": {"level": "info"},
                "metrics": {"level": "normal", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": ports["self"]}}}}]},
            },
            "pipelines": {"traces": {"receivers": ["jaeger"], "exporters": ["otlp"]}},
        },
    }
    f = Ferrotel(tmp, cfg, [ports["grpc"], ports["http"], ports["self"]])
    yield f, sink, ports
    f.stop()
    sink.stop()


def _arrived(sink: Sink, run_id: str) -> dict:
    """span id (hex) -> (span, resource attrs, scope) of the spans tagged with `run_id`."""
    out = {}
    for rec in sink.requests("traces"):
        for rs in rec.request.resource_spans:
            res = {a.key: a.value for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    attrs = {a.key: a.value for a in s.attributes}
                    if "e2e.run" in attrs and attrs["e2e.run"].string_value == run_id:
                        out[s.span_id.hex()] = (s, res, ss.scope)
    return out


def _wait(sink, run_id, n, ferrotel) -> dict:
    deadline = time.monotonic() + 20
    got = {}
    while time.monotonic() < deadline:
        got = _arrived(sink, run_id)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"only {len(got)} of {n} spans arrived\n--- ferrotel ---\n{ferrotel.output(3000)}")


def _value(v):
    """An OTLP AnyValue as a plain Python value (type kept)."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return ("str", v.string_value)
    if kind == "bool_value":
        return ("bool", v.bool_value)
    if kind == "int_value":
        return ("int", v.int_value)
    if kind == "double_value":
        return ("double", v.double_value)
    raise AssertionError(f"unexpected value {v}")


def _attrs(kvs) -> dict:
    return {a.key: _value(a.value) for a in kvs}


def _py_tag(value):
    """The exporters' `_translate_attribute`, as Go's translator then types it."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("double", value)
    return ("str", str(value))


# ---------------------------------------------------------------- Python


def _py_spans(tracer, run_id: str):
    """Every kind, attributes of every type, an error with a description, an OK, a server
    span whose only status is an HTTP 503, an event with attributes, a link."""
    common = {"e2e.run": run_id}
    with tracer.start_as_current_span("browse", kind=SpanKind.INTERNAL, attributes=common) as browse:
        with tracer.start_as_current_span(
            "web request",
            kind=SpanKind.CLIENT,
            attributes={**common, "http.method": "GET", "http.status_code": 200, "ratio": 0.25, "cached": False, "tags": ("a", "b")},
        ):
            with tracer.start_as_current_span("/products", kind=SpanKind.SERVER, attributes={**common, "http.status_code": 503}) as srv:
                srv.add_event("cache miss", attributes={"key": "apples", "size": 3})
                with tracer.start_as_current_span(
                    "inventory request", kind=SpanKind.CLIENT, attributes=common, links=[Link(browse.get_span_context(), {"why": "follows"})]
                ) as cli:
                    cli.set_status(Status(StatusCode.ERROR, "inventory failed"))
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER, attributes=common):
            pass
        with tracer.start_as_current_span("consume", kind=SpanKind.CONSUMER, attributes=common) as c:
            c.set_status(Status(StatusCode.OK))


def _py_provider(exporter=None):
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shopper", "deployment.environment": "e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, memory


def _usec(nsec: int) -> int:
    """The thrift exporter's `_nsec_to_usec_round`."""
    return (nsec + 500) // 1000


def _ts_nanos(ts) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


def _expected_status(s) -> tuple[int, str]:
    if s.status.status_code is StatusCode.ERROR:
        return 2, s.status.description or ""
    if s.status.status_code is StatusCode.OK:
        return 1, ""
    code = (s.attributes or {}).get("http.status_code")
    # Go's fallback: a 5xx (or any code below 100 or from 399) is an error; 4xx depends on kind.
    if code is not None and not (100 <= code < 399):
        return 2, ""
    return 0, ""


def _check_python(sent, got, *, proto: bool):
    assert {s.kind for s in sent} == set(SpanKind)
    assert any(s.links for s in sent) and any(s.events for s in sent)
    assert set(got) == {format(s.context.span_id, "016x") for s in sent}
    for s in sent:
        g, gres, gscope = got[format(s.context.span_id, "016x")]
        assert g.trace_id == s.context.trace_id.to_bytes(16, "big"), s.name
        assert g.parent_span_id == (s.parent.span_id.to_bytes(8, "big") if s.parent else b""), s.name
        assert g.name == s.name
        assert g.kind == s.kind.value + 1, (s.name, g.kind)  # the SDK's enum is OTLP's minus one
        assert (g.status.code, g.status.message) == _expected_status(s), s.name
        want = {k: _py_tag(v) for k, v in s.attributes.items()}
        want.update({k: _py_tag(v) for k, v in s.resource.attributes.items()})
        want["otel.library.name"] = ("str", "e2e.jaeger.py")
        want["otel.library.version"] = ("str", "7.8.9")
        if proto:
            # Only the protobuf translator takes the scope tags out, into the scope; the
            # spans' processes carry the resource attributes.
            assert (gscope.name, gscope.version) == ("e2e.jaeger.py", "7.8.9")
            assert _attrs_of(gres) == {"service.name": ("str", "shopper"), **{k: _py_tag(v) for k, v in s.resource.attributes.items()}}
        else:
            want["otel.scope.name"] = ("str", "e2e.jaeger.py")
            want["otel.scope.version"] = ("str", "7.8.9")
            assert (gscope.name, gscope.version) == ("", "")
            assert _attrs_of(gres) == {"service.name": ("str", "shopper")}
        assert _attrs(g.attributes) == want, s.name
        # Events: the exporter writes the name as a `message` field, which Go keeps as an
        # attribute (only an `event` field names an event).
        assert [(e.name, _attrs(e.attributes)) for e in g.events] == [
            ("", {**{k: _py_tag(v) for k, v in e.attributes.items()}, "message": ("str", e.name)}) for e in s.events
        ], s.name
        assert [(l.trace_id, l.span_id, _attrs(l.attributes)) for l in g.links] == [
            (l.context.trace_id.to_bytes(16, "big"), l.context.span_id.to_bytes(8, "big"), {"opentracing.ref_type": ("str", "follows_from")})
            for l in s.links
        ], s.name
        if proto:
            start = jaeger_proto._ts(s.start_time)
            end = jaeger_proto._ts(s.end_time)
            assert g.start_time_unix_nano == _ts_nanos(start)
            assert g.end_time_unix_nano == _ts_nanos(start) + _ts_nanos(jaeger_proto._duration(start, end))
            assert [e.time_unix_nano for e in g.events] == [_ts_nanos(jaeger_proto._ts(e.timestamp)) for e in s.events]
        else:
            start_us, dur_us = _usec(s.start_time), _usec(s.end_time - s.start_time)
            assert (g.start_time_unix_nano, g.end_time_unix_nano) == (start_us * 1000, (start_us + dur_us) * 1000), s.name
            assert [e.time_unix_nano for e in g.events] == [_usec(e.timestamp) * 1000 for e in s.events]


def _attrs_of(res: dict) -> dict:
    return {k: _value(v) for k, v in res.items()}


def test_python_sdk_thrift_compact_over_udp(jaeger_ferrotel):
    f, sink, ports = jaeger_ferrotel
    run_id = uuid.uuid4().hex
    provider, memory = _py_provider(JaegerExporter(agent_host_name="127.0.0.1", agent_port=ports["compact"]))
    _py_spans(provider.get_tracer("e2e.jaeger.py", "7.8.9"), run_id)
    provider.shutdown()
    sent = memory.get_finished_spans()
    got = _wait(sink, run_id, len(sent), f)
    _check_python(sent, got, proto=False)


def test_python_sdk_thrift_over_http(jaeger_ferrotel):
    f, sink, ports = jaeger_ferrotel
    run_id = uuid.uuid4().hex
    exporter = JaegerExporter(collector_endpoint=f"http://127.0.0.1:{ports['http']}/api/traces?format=jaeger.thrift")
    provider, memory = _py_provider(exporter)
    _py_spans(provider.get_tracer("e2e.jaeger.py", "7.8.9"), run_id)
    provider.shutdown()
    sent = memory.get_finished_spans()
    got = _wait(sink, run_id, len(sent), f)
    _check_python(sent, got, proto=False)


def test_python_sdk_protobuf_over_grpc(jaeger_ferrotel):
    f, sink, ports = jaeger_ferrotel
    run_id = uuid.uuid4().hex
    provider, memory = _py_provider()
    _py_spans(provider.get_tracer("e2e.jaeger.py", "7.8.9"), run_id)
    provider.shutdown()
    sent = memory.get_finished_spans()
    jaeger_proto.post_spans(f"127.0.0.1:{ports['grpc']}", jaeger_proto.translate(list(sent)))
    got = _wait(sink, run_id, len(sent), f)
    _check_python(sent, got, proto=True)


def test_grpc_refuses_what_go_cannot_unmarshal(jaeger_ferrotel):
    import grpc

    _, _, ports = jaeger_ferrotel
    bad = jaeger_proto.PostSpansRequest(batch=jaeger_proto.Batch(spans=[jaeger_proto.Span(trace_id=b"\x01" * 5, span_id=b"\x02" * 8)]))
    with pytest.raises(grpc.RpcError) as e:
        jaeger_proto.post_spans(f"127.0.0.1:{ports['grpc']}", bad)
    assert e.value.code() == grpc.StatusCode.INTERNAL
    assert e.value.details() == "grpc: error unmarshalling request: invalid length for TraceID"


# ---------------------------------------------------------------- Node


NODE_KIND = {0: 0, 1: 2, 2: 3, 3: 4, 4: 5}  # JS SpanKind -> OTLP; INTERNAL gets no span.kind tag
NODE_STATUS = {0: 0, 1: 1, 2: 2}


def _node_tag(value):
    """jaeger-client's tag typing: every number is a DOUBLE, arrays are `String(value)`."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("double", float(value))
    if isinstance(value, list):
        return ("str", ",".join(str(x) for x in value))
    return ("str", value)


@pytest.fixture(scope="module")
def node_run(jaeger_ferrotel):
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "@opentelemetry" / "exporter-jaeger").is_dir(), "run `npm ci` in tests/e2e/node (scripts/test.sh does)"
    _, _, ports = jaeger_ferrotel
    run_id = uuid.uuid4().hex
    p = subprocess.run(
        [node, str(NODE_DIR / "jaeger_sender.js"), "--run-id", run_id, "--udp-port", str(ports["binary"]),
         "--http-url", f"http://127.0.0.1:{ports['http']}/api/traces", "--grpc", f"127.0.0.1:{ports['grpc']}"],
        capture_output=True, text=True, timeout=120, cwd=NODE_DIR,
    )
    assert p.returncode == 0, p.stderr
    return run_id, json.loads(p.stdout)


@pytest.mark.parametrize("path", ["udp", "http", "grpc"])
def test_node_sdk_jaeger_exporter(jaeger_ferrotel, node_run, path):
    f, sink, _ = jaeger_ferrotel
    run_id, sent_by_path = node_run
    sent = sent_by_path[path]
    got = _wait(sink, f"{run_id}-{path}", len(sent), f)
    assert {s["kind"] for s in sent} == {0, 1, 2, 3}
    assert set(got) == {s["spanId"] for s in sent}
    for s in sent:
        g, gres, gscope = got[s["spanId"]]
        assert g.trace_id.hex() == s["traceId"] and g.parent_span_id.hex() == s["parentSpanId"] and g.name == s["name"]
        assert g.kind == NODE_KIND[s["kind"]], s["name"]
        assert (g.status.code, g.status.message) == (NODE_STATUS[s["status"]["code"]], s["status"]["message"] if s["status"]["code"] == 2 else ""), s["name"]
        want = {k: _node_tag(v) for k, v in s["attributes"].items()}
        want.update({k: _node_tag(v) for k, v in s["resource"].items()})
        want["otel.library.name"] = ("str", "e2e.jaeger.js")
        want["otel.library.version"] = ("str", "4.5.6")
        assert _attrs(g.attributes) == want, s["name"]
        assert _attrs_of(gres) == {"service.name": ("str", "js-shop")}
        assert (gscope.name, gscope.version) == ("", ""), "the JS exporter writes no otel.scope.* tags"
        # The JS exporter names events with an `event` field: Go takes it as the name.
        assert [(e.name, _attrs(e.attributes)) for e in g.events] == [(e["name"], {k: _node_tag(v) for k, v in e["attributes"].items()}) for e in s["events"]]
        # jaeger-client writes microseconds computed in floating point and cut to an integer:
        # within a microsecond or so of the SDK's nanoseconds.
        for ge, se in zip(g.events, s["events"]):
            assert ge.time_unix_nano % 1000 == 0 and abs(ge.time_unix_nano - int(se["timeNs"])) < 2000
        assert [(l.trace_id.hex(), l.span_id.hex(), _attrs(l.attributes)) for l in g.links] == [
            (l["traceId"], l["spanId"], {"opentracing.ref_type": ("str", "follows_from")}) for l in s["links"]
        ]
        assert g.start_time_unix_nano % 1000 == 0 and abs(g.start_time_unix_nano - int(s["startNs"])) < 2000
        assert abs(g.end_time_unix_nano - int(s["endNs"])) < 3000


def test_self_metrics_count_spans_per_go_transport(jaeger_ferrotel, node_run):
    f, sink, ports = jaeger_ferrotel
    run_id, sent = node_run
    for path in ("udp", "http", "grpc"):
        _wait(sink, f"{run_id}-{path}", len(sent[path]), f)
    samples = scrape(ports["self"])
    for transport in ("grpc", "collector_http", "udp_thrift_binary"):
        assert metric_sum(samples, "otelcol_receiver_accepted_spans", receiver="jaeger", transport=transport) >= 4, transport
