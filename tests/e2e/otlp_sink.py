"""An OTLP receiving end for the tests: a gRPC server (TraceService, MetricsService,
LogsService Export) and an HTTP server (POST /v1/traces|metrics|logs, protobuf or JSON,
gzip/deflate/zstd-free), both recording every decoded request.

The sink can be slowed down (``delay`` seconds per request), told to fail
(``fail_with`` = an HTTP status / gRPC code for every request) and started late on a port
reserved in advance (to play an endpoint that is down and comes back).
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

SIGNALS = ("traces", "metrics", "logs")

REQUEST_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
RESPONSE_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


def item_count(signal: str, req) -> int:
    """Spans, metric data points or log records in one request."""
    n = 0
    if signal == "traces":
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                n += len(ss.spans)
    elif signal == "logs":
        for rl in req.resource_logs:
            for sl in rl.scope_logs:
                n += len(sl.log_records)
    else:
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    if kind is not None:
                        n += len(getattr(m, kind).data_points)
    return n


class Recorded:
    """One request as it arrived."""

    def __init__(self, signal: str, transport: str, request, headers: dict[str, str]):
        self.signal = signal
        self.transport = transport
        self.request = request
        self.headers = headers
        self.at = time.monotonic()


class Sink:
    """Records OTLP requests arriving over gRPC and HTTP. Thread-safe."""

    def __init__(self, grpc_port: int = 0, http_port: int = 0, start: bool = True, delay: float = 0.0):
        self.delay = delay
        self.fail_with: int | None = None  # HTTP status; gRPC gets UNAVAILABLE when set
        self.attempts: dict[tuple[str, str], int] = {}  # (signal, transport) -> requests seen, failed or not
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests: list[Recorded] = []
        self._grpc_server: grpc.Server | None = None
        self._http_server: ThreadingHTTPServer | None = None
        self.grpc_port = grpc_port
        self.http_port = http_port
        if start:
            self.start()

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, grpc_on: bool = True, http_on: bool = True) -> None:
        if grpc_on and self._grpc_server is None:
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.max_receive_message_length", 64 << 20)])
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)
            logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
            port = server.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
            if port == 0:
                raise RuntimeError(f"sink: cannot bind gRPC 127.0.0.1:{self.grpc_port}")
            self.grpc_port = port
            server.start()
            self._grpc_server = server
        if http_on and self._http_server is None:
            sink = self

            class Handler(_HttpHandler):
                pass

            Handler.sink = sink
            httpd = ThreadingHTTPServer(("127.0.0.1", self.http_port), Handler)
            httpd.daemon_threads = True
            self.http_port = httpd.server_address[1]
            threading.Thread(target=httpd.serve_forever, daemon=True, name="sink-http").start()
            self._http_server = httpd

    def stop(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None)
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # ---- recording -------------------------------------------------------------------
    def _attempt(self, signal: str, transport: str) -> None:
        with self._lock:
            self.attempts[(signal, transport)] = self.attempts.get((signal, transport), 0) + 1

    def _record(self, rec: Recorded) -> None:
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()

    def requests(self, signal: str | None = None, transport: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self._requests if (signal is None or r.signal == signal) and (transport is None or r.transport == transport)]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def count(self, signal: str, transport: str | None = None, pred=None) -> int:
        """Items (spans / points / records) received for `signal`, optionally only requests
        for which pred(request) is true."""
        return sum(item_count(signal, r.request) for r in self.requests(signal, transport) if pred is None or pred(r.request))

    def wait_for(self, cond, timeout: float = 20.0) -> bool:
        """Waits until cond() is true (re-checked on every arrival and every 100 ms)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._lock.release()
                try:
                    if cond():
                        return True
                finally:
                    self._lock.acquire()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))


def _grpc_handler(sink: Sink, signal: str):
    def export(self, request, context):
        sink._attempt(signal, "grpc")
        if sink.delay:
            time.sleep(sink.delay)
        if sink.fail_with is not None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "sink told to fail")
        headers = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        sink._record(Recorded(signal, "grpc", request, headers))
        return RESPONSE_TYPES[signal]()

    return export


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: Sink):
        self.Export = _grpc_handler(sink, "traces").__get__(self)


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, sink: Sink):
        self.Export = _grpc_handler(sink, "metrics").__get__(self)


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, sink: Sink):
        self.Export = _grpc_handler(sink, "logs").__get__(self)


class _HttpHandler(BaseHTTPRequestHandler):
    sink: Sink
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self._read_body()
        path = self.path.split("?")[0]
        signal = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}.get(path)
        if signal is None:
            self._reply(404, b"404 page not found\n", "text/plain")
            return
        sink = self.sink
        sink._attempt(signal, "http")
        if sink.delay:
            time.sleep(sink.delay)
        if sink.fail_with is not None:
            self._reply(sink.fail_with, b"sink told to fail", "text/plain")
            return
        enc = (self.headers.get("Content-Encoding") or "").lower()
        try:
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc in ("deflate", "zlib"):
                body = zlib.decompress(body)
            elif enc not in ("", "identity"):
                self._reply(400, f"sink: unsupported Content-Encoding {enc}".encode(), "text/plain")
                return
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype == "application/x-protobuf":
                req = REQUEST_TYPES[signal]()
                req.ParseFromString(body)
            elif ctype == "application/json":
                from otlp_json import parse_request

                req = parse_request(signal, body)
            else:
                self._reply(415, b"sink: unsupported media type", "text/plain")
                return
        except Exception as e:  # noqa: BLE001 - any decode failure is a 400 here
            self._reply(400, f"sink: cannot decode: {e}".encode(), "text/plain")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        sink._record(Recorded(signal, "http", req, headers))
        resp = RESPONSE_TYPES[signal]().SerializeToString()
        if ctype == "application/json":
            self._reply(200, b"{}", "application/json")
        else:
            self._reply(200, resp, "application/x-protobuf")
