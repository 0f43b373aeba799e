"""Jaeger's api_v2 protobuf for the tests, without generated code: the messages of Jaeger's
`model.proto` and `collector.proto` (package `jaeger.api_v2`, the same field numbers and
types; the gogoproto options only change Go's generated code) built as descriptors at run
time, and `CollectorService/PostSpans` called through grpcio.

`translate` turns Python SDK spans into a `PostSpansRequest` as the SDK's own
`opentelemetry-exporter-jaeger-proto-grpc` 1.21 does (its `ProtobufTranslator`), which cannot
be installed beside protobuf 7 (its generated code is for protobuf 3).
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import duration_pb2, timestamp_pb2  # noqa: F401  (registers the imports)
from opentelemetry.trace import SpanKind, StatusCode

F = descriptor_pb2.FieldDescriptorProto
POST_SPANS = "/jaeger.api_v2.CollectorService/PostSpans"


def _file() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(name="jaeger_api_v2_e2e.proto", package="jaeger.api_v2", syntax="proto3")
    fd.dependency.extend(["google/protobuf/timestamp.proto", "google/protobuf/duration.proto"])
    vt = fd.enum_type.add(name="ValueType")
    for i, n in enumerate(["STRING", "BOOL", "INT64", "FLOAT64", "BINARY"]):
        vt.value.add(name=n, number=i)
    rt = fd.enum_type.add(name="SpanRefType")
    rt.value.add(name="CHILD_OF", number=0)
    rt.value.add(name="FOLLOWS_FROM", number=1)

    def msg(name, fields):
        m = fd.message_type.add(name=name)
        for num, (fname, ftype, label, tname) in enumerate(fields, start=1):
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = tname

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    msg("KeyValue", [
        ("key", F.TYPE_STRING, opt, None),
        ("v_type", F.TYPE_ENUM, opt, ".jaeger.api_v2.ValueType"),
        ("v_str", F.TYPE_STRING, opt, None),
        ("v_bool", F.TYPE_BOOL, opt, None),
        ("v_int64", F.TYPE_INT64, opt, None),
        ("v_float64", F.TYPE_DOUBLE, opt, None),
        ("v_binary", F.TYPE_BYTES, opt, None),
    ])
    msg("Log", [
        ("timestamp", F.TYPE_MESSAGE, opt, ".google.protobuf.Timestamp"),
        ("fields", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.KeyValue"),
    ])
    msg("SpanRef", [
        ("trace_id", F.TYPE_BYTES, opt, None),
        ("span_id", F.TYPE_BYTES, opt, None),
        ("ref_type", F.TYPE_ENUM, opt, ".jaeger.api_v2.SpanRefType"),
    ])
    msg("Process", [
        ("service_name", F.TYPE_STRING, opt, None),
        ("tags", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.KeyValue"),
    ])
    msg("Span", [
        ("trace_id", F.TYPE_BYTES, opt, None),
        ("span_id", F.TYPE_BYTES, opt, None),
        ("operation_name", F.TYPE_STRING, opt, None),
        ("references", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.SpanRef"),
        ("flags", F.TYPE_UINT32, opt, None),
        ("start_time", F.TYPE_MESSAGE, opt, ".google.protobuf.Timestamp"),
        ("duration", F.TYPE_MESSAGE, opt, ".google.protobuf.Duration"),
        ("tags", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.KeyValue"),
        ("logs", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.Log"),
        ("process", F.TYPE_MESSAGE, opt, ".jaeger.api_v2.Process"),
        ("process_id", F.TYPE_STRING, opt, None),
        ("warnings", F.TYPE_STRING, rep, None),
    ])
    msg("Batch", [
        ("spans", F.TYPE_MESSAGE, rep, ".jaeger.api_v2.Span"),
        ("process", F.TYPE_MESSAGE, opt, ".jaeger.api_v2.Process"),
    ])
    msg("PostSpansRequest", [("batch", F.TYPE_MESSAGE, opt, ".jaeger.api_v2.Batch")])
    msg("PostSpansResponse", [])
    return fd


_pool = descriptor_pool.DescriptorPool()
for _dep in (timestamp_pb2.DESCRIPTOR, duration_pb2.DESCRIPTOR):
    _pool.Add(descriptor_pb2.FileDescriptorProto.FromString(_dep.serialized_pb))
_pool.Add(_file())


def message(name: str):
    return message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"jaeger.api_v2.{name}"))


KeyValue, Log, SpanRef, Process, Span, Batch = (message(n) for n in ("KeyValue", "Log", "SpanRef", "Process", "Span", "Batch"))
PostSpansRequest, PostSpansResponse = message("PostSpansRequest"), message("PostSpansResponse")
Timestamp = message_factory.GetMessageClass(_pool.FindMessageTypeByName("google.protobuf.Timestamp"))
Duration = message_factory.GetMessageClass(_pool.FindMessageTypeByName("google.protobuf.Duration"))

STRING, BOOL, INT64, FLOAT64 = 0, 1, 2, 3
CHILD_OF, FOLLOWS_FROM = 0, 1

# The exporter's OTLP_JAEGER_SPAN_KIND.
JAEGER_KIND = {
    SpanKind.INTERNAL: "internal",
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}


def _kv(key, value):
    if isinstance(value, bool):
        return KeyValue(key=key, v_type=BOOL, v_bool=value)
    if isinstance(value, str):
        return KeyValue(key=key, v_type=STRING, v_str=value)
    if isinstance(value, int):
        return KeyValue(key=key, v_type=INT64, v_int64=value)
    if isinstance(value, float):
        return KeyValue(key=key, v_type=FLOAT64, v_float64=value)
    if isinstance(value, tuple):
        return KeyValue(key=key, v_type=STRING, v_str=str(value))
    return None


def _ts(nsec: int):
    # The exporter goes through a float, as here.
    t = nsec / 1e9
    seconds = int(t)
    return Timestamp(seconds=seconds, nanos=int((t - seconds) * 1e9))


def _duration(start, end):
    d = Duration(seconds=end.seconds - start.seconds, nanos=end.nanos - start.nanos)
    if d.seconds < 0 and d.nanos > 0:
        d.seconds += 1
        d.nanos -= 1000000000
    elif d.seconds > 0 and d.nanos < 0:
        d.seconds -= 1
        d.nanos += 1000000000
    return d


def _tags(attrs):
    return [kv for kv in (_kv(k, v) for k, v in (attrs or {}).items()) if kv is not None]


def _span(span, service_name):
    ctx = span.get_span_context()
    tags = _tags(span.attributes) + _tags(span.resource.attributes)
    if span.status.status_code is not StatusCode.UNSET:
        tags.append(_kv("otel.status_code", span.status.status_code.name))
        if span.status.description is not None:
            tags.append(_kv("otel.status_description", span.status.description))
    tags.append(_kv("span.kind", JAEGER_KIND[span.kind]))
    if span.instrumentation_scope:
        sc = span.instrumentation_scope
        tags += [_kv("otel.library.name", sc.name), _kv("otel.library.version", sc.version)]
        tags += [_kv("otel.scope.name", sc.name), _kv("otel.scope.version", sc.version)]
    if not span.status.is_ok:
        tags.append(_kv("error", True))
    refs = []
    if span.parent:
        refs.append(SpanRef(ref_type=CHILD_OF, trace_id=ctx.trace_id.to_bytes(16, "big"), span_id=span.parent.span_id.to_bytes(8, "big")))
    for link in span.links:
        refs.append(SpanRef(ref_type=FOLLOWS_FROM, trace_id=link.context.trace_id.to_bytes(16, "big"), span_id=link.context.span_id.to_bytes(8, "big")))
    logs = []
    for e in span.events:
        fields = _tags(e.attributes) + [_kv("message", e.name)]
        logs.append(Log(timestamp=_ts(e.timestamp), fields=fields))
    start, end = _ts(span.start_time), _ts(span.end_time)
    return Span(
        trace_id=ctx.trace_id.to_bytes(16, "big"),
        span_id=ctx.span_id.to_bytes(8, "big"),
        operation_name=span.name,
        references=refs,
        flags=int(ctx.trace_flags),
        start_time=start,
        duration=_duration(start, end),
        tags=tags,
        logs=logs,
        process=Process(service_name=service_name, tags=_tags(span.resource.attributes)),
    )


def translate(spans):
    """A PostSpansRequest for SDK spans: every span carries its own process, the batch none."""
    service = spans[0].resource.attributes.get("service.name", "unknown_service")
    return PostSpansRequest(batch=Batch(spans=[_span(s, service) for s in spans]))


def post_spans(endpoint: str, request, timeout: float = 10.0):
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(POST_SPANS, request_serializer=lambda m: m.SerializeToString(), response_deserializer=PostSpansResponse.FromString)
        return call(request, timeout=timeout)
