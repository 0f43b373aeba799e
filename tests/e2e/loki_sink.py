"""A Loki push endpoint for the tests: decodes the real wire format (snappy-compressed
`logproto.PushRequest` protobuf on POST /loki/api/v1/push) and keeps every entry with its
stream labels and tenant. It can be told to answer 503 for a while, or 400 for requests that
carry a given line, as Loki does for out-of-order entries."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import timestamp_pb2


def _push_request_class():
    """logproto.PushRequest as Loki's push.proto defines it (fields 1, 2, 3 of each message)."""
    f = descriptor_pb2.FileDescriptorProto()
    f.name = "ferrotel_test_loki_push.proto"
    f.package = "logproto"
    f.dependency.append("google/protobuf/timestamp.proto")
    T = descriptor_pb2.FieldDescriptorProto

    def field(msg, name, number, type_, label=T.LABEL_OPTIONAL, type_name=None):
        fd = msg.field.add()
        fd.name, fd.number, fd.type, fd.label = name, number, type_, label
        if type_name:
            fd.type_name = type_name

    req = f.message_type.add()
    req.name = "PushRequest"
    field(req, "streams", 1, T.TYPE_MESSAGE, T.LABEL_REPEATED, ".logproto.StreamAdapter")
    stream = f.message_type.add()
    stream.name = "StreamAdapter"
    field(stream, "labels", 1, T.TYPE_STRING)
    field(stream, "entries", 2, T.TYPE_MESSAGE, T.LABEL_REPEATED, ".logproto.EntryAdapter")
    field(stream, "hash", 3, T.TYPE_UINT64)
    entry = f.message_type.add()
    entry.name = "EntryAdapter"
    field(entry, "timestamp", 1, T.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    field(entry, "line", 2, T.TYPE_STRING)
    field(entry, "structuredMetadata", 3, T.TYPE_MESSAGE, T.LABEL_REPEATED, ".logproto.LabelPairAdapter")
    pair = f.message_type.add()
    pair.name = "LabelPairAdapter"
    field(pair, "name", 1, T.TYPE_STRING)
    field(pair, "value", 2, T.TYPE_STRING)
    # A pool of our own: nothing else in the process defines these names.
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(f.SerializeToString())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("logproto.PushRequest"))

PushRequest = _push_request_class()

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_labels(text: str) -> dict:
    """`{a="1", b="x"}` -> {"a": "1", "b": "x"} (Loki's stream selector form)."""
    return {k: v.encode().decode("unicode_escape") for k, v in _LABEL.findall(text)}


@dataclass
class LokiEntry:
    labels: dict
    labels_text: str
    ts_ns: int
    line: str
    tenant: str | None


class LokiSink:
    def __init__(self):
        self.entries: list[LokiEntry] = []
        self.requests = 0
        self.refused = 0
        self.lock = threading.Lock()
        self.unavailable_until = 0.0
        self.reject_line_containing: str | None = None
        self.headers_seen: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with sink.lock:
                    sink.requests += 1
                    sink.headers_seen.append(dict(self.headers))
                if self.path != "/loki/api/v1/push":
                    return self._answer(404, b"404 page not found\n")
                if time.monotonic() < sink.unavailable_until:
                    with sink.lock:
                        sink.refused += 1
                    return self._answer(503, b"unavailable\n")
                if self.headers.get("Content-Type") != "application/x-protobuf":
                    return self._answer(415, b"unsupported content type\n")
                try:
                    req = PushRequest()
                    req.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
                except Exception as e:  # a broken request is the exporter's bug: make it visible
                    return self._answer(400, f"cannot decode: {e}\n".encode())
                got = []
                for s in req.streams:
                    labels = parse_labels(s.labels)
                    for e in s.entries:
                        ts = e.timestamp.seconds * 1_000_000_000 + e.timestamp.nanos
                        got.append(LokiEntry(labels, s.labels, ts, e.line, self.headers.get("X-Scope-OrgID")))
                bad = sink.reject_line_containing
                if bad is not None and any(bad in g.line for g in got):
                    with sink.lock:
                        sink.refused += 1
                    return self._answer(400, b"entry too far behind, entry timestamp is: ...\n")
                with sink.lock:
                    sink.entries.extend(got)
                self._answer(204, b"")

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}/loki/api/v1/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def unavailable_for(self, seconds: float) -> None:
        self.unavailable_until = time.monotonic() + seconds

    def snapshot(self) -> list[LokiEntry]:
        with self.lock:
            return list(self.entries)

    def wait_for(self, predicate, timeout: float = 30.0) -> list[LokiEntry]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.snapshot()
            if predicate(got):
                return got
            time.sleep(0.1)
        return self.snapshot()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
