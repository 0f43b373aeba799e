"""Loads a running ferrotel with spans and log lines over OTLP/HTTP (protobuf) for the UI
benchmark (bench/ui.py): traces of 5-20 spans across 10 services (the shape of issue 11's
store_bench: frontend -> 50 operations, ~2% of spans with status ERROR), start times spread
evenly over the last `--minutes` minutes, and two log lines per trace carrying its trace and
span ids. Deterministic for a seed (the ids and shapes; times follow the clock)."""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import random
import sys
import threading
import time

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SERVICES = ["frontend", "checkout", "cart", "payment", "shipping", "email", "currency", "recommendation", "ad", "product-catalog"]
RESOURCES = ["items", "orders", "users", "cart", "quotes"]
VERBS = ["GET", "POST", "PUT", "DELETE"]
LANGS = ["go", "java", "python", "nodejs", "dotnet"]


def kv(k, v):
    if isinstance(v, int):
        return common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(int_value=v))
    return common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(string_value=v))


def resource(svc: int) -> resource_pb2.Resource:
    return resource_pb2.Resource(
        attributes=[
            kv("service.name", SERVICES[svc]),
            kv("service.version", f"1.{svc % 4}.0"),
            kv("service.instance.id", f"{SERVICES[svc]}-0"),
            kv("host.name", f"node-{svc % 16}"),
            kv("deployment.environment", "production"),
            kv("telemetry.sdk.language", LANGS[svc % 5]),
        ]
    )


RES = [resource(i) for i in range(len(SERVICES))]
SCOPE = common_pb2.InstrumentationScope(name="bench.ui", version="1.0.0")


def operation(op: int):
    svc = op // 5
    return svc, VERBS[op % 4], f"/api/{SERVICES[svc]}/{RESOURCES[op % 5]}"


def trace(r: random.Random, start_ns: int):
    """(spans by service, log records by service) of one trace."""
    tid = r.getrandbits(128).to_bytes(16, "big")
    n = 5 + r.randrange(16)
    total = 2_000_000 + r.randrange(400_000_000)
    spans = []  # (svc, span)
    for i in range(n):
        op = r.randrange(5) if i == 0 else r.randrange(50)
        svc, verb, route = operation(op)
        if i == 0:
            parent, ps, pd = b"", start_ns, total
        else:
            p = spans[r.randrange(i)][1]
            parent, ps, pd = p.span_id, p.start_time_unix_nano, p.end_time_unix_nano - p.start_time_unix_nano
        s = ps if i == 0 else ps + r.randrange(pd // 2 + 1)
        d = pd if i == 0 else max(pd // 2, 1000) // (1 + r.randrange(4))
        code = 500 if r.random() < 0.02 else 200
        sp = trace_pb2.Span(
            trace_id=tid,
            span_id=r.getrandbits(64).to_bytes(8, "big"),
            parent_span_id=parent,
            name=f"{verb} {route}",
            kind=2 if i == 0 else 2 + r.randrange(2),
            start_time_unix_nano=s,
            end_time_unix_nano=s + d,
            attributes=[
                kv("http.request.method", verb),
                kv("http.route", route),
                kv("http.response.status_code", code),
                kv("url.full", f"http://{SERVICES[svc]}.shop.svc:8080{route}/{r.randrange(100000)}"),
                kv("user_agent.original", "okhttp/4.12.0"),
            ],
        )
        if code == 500:
            sp.status.code = trace_pb2.Status.STATUS_CODE_ERROR
            sp.status.message = "Internal Server Error"
        spans.append((svc, sp))
    logs = []
    for svc, sp in (spans[0], spans[r.randrange(n)]):
        err = sp.status.code == trace_pb2.Status.STATUS_CODE_ERROR
        logs.append(
            (
                svc,
                logs_pb2.LogRecord(
                    time_unix_nano=sp.start_time_unix_nano,
                    observed_time_unix_nano=sp.start_time_unix_nano,
                    severity_number=17 if err else 9,
                    severity_text="ERROR" if err else "INFO",
                    body=common_pb2.AnyValue(
                        string_value=f"request {sp.name} {'failed' if err else 'completed'} in {(sp.end_time_unix_nano - sp.start_time_unix_nano) // 1000} us"
                    ),
                    trace_id=sp.trace_id,
                    span_id=sp.span_id,
                ),
            )
        )
    return spans, logs


def requests(args):
    """Yields (path, body, spans, logs) requests of about --batch spans each."""
    r = random.Random(args.seed)
    now = time.time_ns()
    first = now - args.minutes * 60 * 10**9
    n_traces = max(1, args.spans // 12)  # 12.5 spans per trace on average
    step = (now - 60 * 10**9 - first) // n_traces
    sent, t = 0, 0
    while sent < args.spans:
        by_svc: dict[int, list] = {}
        logs_by_svc: dict[int, list] = {}
        count = 0
        while count < args.batch and sent + count < args.spans:
            spans, logs = trace(r, first + t * step + r.randrange(1_000_000))
            t += 1
            spans = spans[: args.spans - sent - count]
            for svc, sp in spans:
                by_svc.setdefault(svc, []).append(sp)
            for svc, lr in logs:
                logs_by_svc.setdefault(svc, []).append(lr)
            count += len(spans)
        req = trace_service_pb2.ExportTraceServiceRequest(
            resource_spans=[
                trace_pb2.ResourceSpans(resource=RES[s], scope_spans=[trace_pb2.ScopeSpans(scope=SCOPE, spans=v)]) for s, v in by_svc.items()
            ]
        )
        yield "/v1/traces", req.SerializeToString(), count, 0
        if args.logs:
            lreq = logs_service_pb2.ExportLogsServiceRequest(
                resource_logs=[
                    logs_pb2.ResourceLogs(resource=RES[s], scope_logs=[logs_pb2.ScopeLogs(scope=SCOPE, log_records=v)])
                    for s, v in logs_by_svc.items()
                ]
            )
            yield "/v1/logs", lreq.SerializeToString(), 0, sum(len(v) for v in logs_by_svc.values())
        sent += count


def sender(host, port, q, stats, lock):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while True:
        item = q.get()
        if item is None:
            return
        path, body, spans, logs = item
        for attempt in range(20):
            try:
                conn.request("POST", path, body, {"Content-Type": "application/x-protobuf"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    break
                if resp.status not in (429, 503):
                    raise SystemExit(f"{path}: HTTP {resp.status}")
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            time.sleep(0.1 * (attempt + 1))
        else:
            raise SystemExit(f"{path}: refused 20 times")
        with lock:
            stats["spans"] += spans
            stats["logs"] += logs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True, help="host:port of OTLP/HTTP")
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--logs", type=int, default=1, help="1: two log lines per trace, 0: none")
    ap.add_argument("--minutes", type=int, default=50)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    host, port = args.endpoint.rsplit(":", 1)
    q: queue.Queue = queue.Queue(maxsize=16)
    stats, lock = {"spans": 0, "logs": 0}, threading.Lock()
    threads = [threading.Thread(target=sender, args=(host, int(port), q, stats, lock), daemon=True) for _ in range(args.senders)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    for item in requests(args):
        q.put(item)
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    print(json.dumps({**stats, "seconds": round(time.monotonic() - t0, 1)}))


if __name__ == "__main__":
    sys.exit(main())
