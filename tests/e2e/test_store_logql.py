"""LogQL through ferrotel's Loki API over its embedded store, with every expected result
derived in the test from the lines it sent (plain loops over the sent entries, never via
ferrotel).

The lines arrive three ways: Loki push as JSON (with structured metadata on some entries),
Loki push as snappy-compressed protobuf, and OTLP logs through the pipeline into the
`embedded_store` exporter (Loki's OTLP mapping: `service.name` -> `service_name`, the other
resource attributes of Loki's default index list -> labels with `_` for `.`, record
attributes and the other resource attributes -> structured metadata).

Window semantics are Loki's: a range aggregation at time t covers (t - range, t]; lines are
placed off the step grid so that no line sits on a window edge. Metric queries always
aggregate with an explicit `by`: the labels of a non-aggregated series would also carry
structured metadata and parsed labels, which this test does not pin down."""

from __future__ import annotations

import json
import random
import time

import cramjam
import pytest

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from store_harness import StoreFerrotel, get_json, loki_push_request, poll, request

S = 1_000_000_000
N = 120  # lines per stream, one every 10 s: 20 minutes
INDEXED = ("job", "env", "instance", "service_name", "deployment_environment")


def kv(k, v):
    if isinstance(v, int):
        return common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(int_value=v))
    return common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(string_value=v))


class Entry:
    def __init__(self, labels: dict, ts: int, line: str, meta: dict | None = None, parsed: dict | None = None, via: str = ""):
        self.labels, self.ts, self.line, self.meta, self.parsed, self.via = labels, ts, line, meta or {}, parsed or {}, via

    def key(self) -> tuple:
        return tuple(sorted(self.labels.items()))


def generate(t0: int) -> list[Entry]:
    rng = random.Random(20261130)
    out: list[Entry] = []
    paths = ["/cart", "/checkout", "/health", "/login", "/search"]
    for k, labels in enumerate(({"job": "api", "env": "prod", "instance": "a"}, {"job": "api", "env": "dev", "instance": "b"})):
        for i in range(N):
            ts = t0 + i * 10 * S + 3_700_000_000 + k * 100_000_000
            status = rng.choice([200, 200, 200, 201, 404, 500, 503])
            level = "error" if status >= 500 else "warn" if status == 404 else "info"
            dur = rng.randint(1, 400)
            path = rng.choice(paths)
            user = f"u{rng.randint(0, 4)}"
            line = json.dumps({"level": level, "status": status, "duration_ms": dur, "path": path, "user": {"id": user}}, separators=(",", ":"))
            meta = {"trace_id": f"{rng.getrandbits(128):032x}"} if labels["instance"] == "a" and i % 10 == 0 else {}
            parsed = {"level": level, "status": str(status), "duration_ms": str(dur), "path": path, "user_id": user}
            out.append(Entry(labels, ts, line, meta, parsed, via="loki-json"))
    for k, labels in enumerate(({"job": "worker", "env": "prod"}, {"job": "worker", "env": "staging"})):
        for i in range(N):
            ts = t0 + i * 10 * S + 4_300_000_000 + k * 100_000_000
            level = rng.choice(["info", "info", "info", "warn", "error"])
            queue = rng.choice(["high", "low"])
            took = rng.randint(1, 1000) / 1000
            job_id = 1000 + i + 1000 * k
            msg = "processed job" if level != "error" else "job failed"
            line = f'level={level} msg="{msg}" job_id={job_id} took={took:.3f} queue={queue}'
            parsed = {"level": level, "msg": msg, "job_id": str(job_id), "took": f"{took:.3f}", "queue": queue}
            out.append(Entry(labels, ts, line, {}, parsed, via="loki-proto"))
    for i in range(N):
        ts = t0 + i * 10 * S + 5_100_000_000
        method = rng.choice(["GET", "GET", "POST"])
        code = rng.choice([200, 200, 200, 302, 500])
        line = f"{method} /cart {code} {rng.randint(1, 90)}ms"
        labels = {"service_name": "checkout", "deployment_environment": "prod"}
        meta = {"http_status_code": str(code), "host_name": "h1"}
        out.append(Entry(labels, ts, line, meta, {}, via="otlp"))
    return out


def send(fer: StoreFerrotel, entries: list[Entry]) -> None:
    by_stream: dict[tuple, list[Entry]] = {}
    for e in entries:
        by_stream.setdefault((e.via, e.key()), []).append(e)
    # Loki push, JSON, in two requests per stream
    for (via, key), es in by_stream.items():
        if via != "loki-json":
            continue
        for half in (es[: len(es) // 2], es[len(es) // 2 :]):
            vals = [[str(e.ts), e.line, e.meta] if e.meta else [str(e.ts), e.line] for e in half]
            body = json.dumps({"streams": [{"stream": dict(key), "values": vals}]}).encode()
            st, resp = request("POST", f"{fer.api}/loki/api/v1/push", body, {"Content-Type": "application/json"})
            assert st == 204, f"JSON push answered {st}: {resp!r}"
    # Loki push, protobuf + snappy, both worker streams in one request
    streams = []
    for (via, key), es in by_stream.items():
        if via == "loki-proto":
            sel = "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"
            streams.append((sel, [(e.ts, e.line, e.meta) for e in es]))
    body = bytes(cramjam.snappy.compress_raw(loki_push_request(streams)))
    st, resp = request("POST", f"{fer.api}/loki/api/v1/push", body, {"Content-Type": "application/x-protobuf"})
    assert st == 204, f"protobuf push answered {st}: {resp!r}"
    # OTLP logs through the pipeline
    otlp = [e for e in entries if e.via == "otlp"]
    recs = [
        logs_pb2.LogRecord(
            time_unix_nano=e.ts,
            severity_number=17 if e.meta["http_status_code"] == "500" else 9,
            severity_text="ERROR" if e.meta["http_status_code"] == "500" else "INFO",
            body=common_pb2.AnyValue(string_value=e.line),
            attributes=[kv("http.status_code", int(e.meta["http_status_code"]))],
        )
        for e in otlp
    ]
    req = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource_pb2.Resource(attributes=[kv("service.name", "checkout"), kv("deployment.environment", "prod"), kv("host.name", "h1")]),
                scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name="logql-test"), log_records=recs)],
            )
        ]
    )
    st, resp = request("POST", f"{fer.otlp_http}/v1/logs", req.SerializeToString(), {"Content-Type": "application/x-protobuf"})
    assert st == 200, f"OTLP logs answered {st}: {resp!r}"


@pytest.fixture(scope="module")
def loki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("logql")
    fer = StoreFerrotel(tmp)
    t0 = (time.time_ns() - 40 * 60 * S) // (60 * S) * (60 * S)
    entries = generate(t0)
    try:
        send(fer, entries)

        def all_there():
            st, body = get_json(fer.api, "/loki/api/v1/query", {"query": 'sum(count_over_time({job=~".+"}[1h])) + sum(count_over_time({service_name="checkout"}[1h]))', "time": str(t0 + 40 * 60 * S)})
            res = body.get("data", {}).get("result", []) if st == 200 else []
            return res and float(res[0]["value"][1]) == len(entries)

        poll(all_there, 60, f"all {len(entries)} lines are queryable")
        yield {"fer": fer, "t0": t0, "entries": entries}
    finally:
        fer.stop()


# ---------------------------------------------------------------- log queries
def sel(**m):
    """A stream selector predicate over an entry's labels: op in = != =~ !~."""
    import re

    def ok(e: Entry) -> bool:
        for name, (op, v) in m.items():
            got = e.labels.get(name, "")
            if op == "=" and got != v or op == "!=" and got == v:
                return False
            if op == "=~" and not re.fullmatch(v, got) or op == "!~" and re.fullmatch(v, got):
                return False
        return True

    return ok


def num(x: str) -> float:
    return float(x)


LOG_QUERIES = [
    # (name, query, predicate over entries, line transform or None)
    ("eq", '{job="api"}', lambda e: sel(job=("=", "api"))(e), None),
    ("neq", '{job="api", env!="dev"}', lambda e: sel(job=("=", "api"), env=("!=", "dev"))(e), None),
    ("regex", '{job=~"api|worker", env="prod"}', lambda e: sel(job=("=~", "api|worker"), env=("=", "prod"))(e), None),
    ("not-regex", '{job="worker", env!~"stag.*"}', lambda e: sel(job=("=", "worker"), env=("!~", "stag.*"))(e), None),
    ("line-filters-chained", '{job="api"} |= "error" != "/health"', lambda e: e.labels.get("job") == "api" and "error" in e.line and "/health" not in e.line, None),
    ("regex-line-filters", '{job="api"} |~ "\\"status\\":50[0-9]" !~ "checkout|login"', lambda e: e.labels.get("job") == "api" and '"status":50' in e.line and not ("checkout" in e.line or "login" in e.line), None),
    ("json-numeric", '{job="api"} | json | status >= 500', lambda e: e.labels.get("job") == "api" and int(e.parsed["status"]) >= 500, None),
    ("json-nested", '{job="api"} | json | user_id="u3"', lambda e: e.labels.get("job") == "api" and e.parsed["user_id"] == "u3", None),
    (
        "json-string-and-numeric",
        '{job="api"} | json | level="warn" | duration_ms > 100',
        lambda e: e.labels.get("job") == "api" and e.parsed["level"] == "warn" and int(e.parsed["duration_ms"]) > 100,
        None,
    ),
    ("logfmt", '{job="worker"} | logfmt | queue="high" | took > 0.5', lambda e: e.labels.get("job") == "worker" and e.parsed["queue"] == "high" and num(e.parsed["took"]) > 0.5, None),
    ("logfmt-line-format", '{job="worker"} | logfmt | line_format "{{.msg}} #{{.job_id}}"', lambda e: e.labels.get("job") == "worker", lambda e: f"{e.parsed['msg']} #{e.parsed['job_id']}"),
    ("json-line-format", '{job="api", instance="a"} | json | line_format "{{.path}} {{.status}}"', lambda e: e.labels.get("instance") == "a", lambda e: f"{e.parsed['path']} {e.parsed['status']}"),
    ("otlp-service-name", '{service_name="checkout"}', lambda e: e.via == "otlp", None),
    ("otlp-resource-label", '{service_name="checkout", deployment_environment="prod"} |= "POST"', lambda e: e.via == "otlp" and "POST" in e.line, None),
    ("otlp-record-attribute", '{service_name="checkout"} | http_status_code >= 500', lambda e: e.via == "otlp" and int(e.meta["http_status_code"]) >= 500, None),
    ("otlp-non-index-resource-attribute", '{service_name="checkout"} | host_name="h1" |= "GET"', lambda e: e.via == "otlp" and "GET" in e.line, None),
    ("structured-metadata", None, None, None),  # filled in by the test: a trace_id sent as metadata
]


def project(labels: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in labels.items() if k in INDEXED))


@pytest.mark.parametrize("name,query,pred,fmt", LOG_QUERIES, ids=[q[0] for q in LOG_QUERIES])
@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_log_query(loki, name, query, pred, fmt, direction):
    entries = loki["entries"]
    if name == "structured-metadata":
        tid = next(e.meta["trace_id"] for e in entries if e.meta.get("trace_id"))
        query = f'{{job="api", instance="a"}} | trace_id="{tid}"'
        pred = lambda e: e.meta.get("trace_id") == tid  # noqa: E731
    want = sorted((project(e.labels), e.ts, fmt(e) if fmt else e.line) for e in entries if pred(e))
    assert want, f"{name}: the test selects no lines"
    t0 = loki["t0"]
    st, body = get_json(loki["fer"].api, "/loki/api/v1/query_range", {"query": query, "start": str(t0 - 60 * S), "end": str(t0 + 25 * 60 * S), "limit": "5000", "direction": direction})
    assert st == 200 and body.get("status") == "success", f"{query}: {st} {body}"
    assert body["data"]["resultType"] == "streams"
    got = []
    for s in body["data"]["result"]:
        ts_list = [int(v[0]) for v in s["values"]]
        # each stream is ordered as asked
        assert ts_list == sorted(ts_list, reverse=direction == "backward"), f"{query}: stream {s['stream']} not in {direction} order"
        got.extend((project(s["stream"]), int(v[0]), v[1]) for v in s["values"])
    got.sort()
    missing = [w for w in want if w not in got]
    extra = [g for g in got if g not in want]
    assert not missing and not extra, f"{query}: {len(want)} lines expected, {len(got)} answered; missing {missing[:5]}; extra {extra[:5]}"


def test_log_query_limit_keeps_the_newest(loki):
    """`limit` with direction backward returns the newest lines."""
    t0 = loki["t0"]
    want = sorted((e.ts, e.line) for e in loki["entries"] if e.labels.get("job") == "worker")[-15:]
    st, body = get_json(loki["fer"].api, "/loki/api/v1/query_range", {"query": '{job="worker"}', "start": str(t0), "end": str(t0 + 25 * 60 * S), "limit": "15"})
    assert st == 200, body
    got = sorted((int(v[0]), v[1]) for s in body["data"]["result"] for v in s["values"])
    assert got == want


# ---------------------------------------------------------------- metric queries
def window(entries, t: int, rng_s: int, pred):
    return [e for e in entries if pred(e) and t - rng_s * S < e.ts <= t]


def agg(groups: dict, how: str) -> dict:
    out = {}
    for k, vals in groups.items():
        if how == "sum":
            out[k] = sum(vals)
        elif how == "avg":
            out[k] = sum(vals) / len(vals)
        elif how == "min":
            out[k] = min(vals)
        elif how == "max":
            out[k] = max(vals)
        elif how == "count":
            out[k] = float(len(vals))
    return out


def inner(es, fn: str, rng_s: int) -> float:
    if fn == "count":
        return float(len(es))
    if fn == "rate":
        return len(es) / rng_s
    if fn == "bytes":
        return float(sum(len(e.line.encode()) for e in es))
    raise ValueError(fn)


def metric(pred, fn, rng_s, how, by, label_of=None):
    """Expected value at t: {labels tuple: value}. Inner series are the streams (the queries
    below select streams whose lines carry the same metadata), grouped by `by`; `label_of`
    reads a `by` label from a parsed field."""

    def at(entries, t):
        es = window(entries, t, rng_s, pred)
        per_series: dict[tuple, list] = {}
        for e in es:
            per_series.setdefault(e.key() if label_of is None else (e.key(), label_of(e)), []).append(e)
        groups: dict[tuple, list] = {}
        for key, ses in per_series.items():
            e0 = ses[0]
            labels = tuple(sorted((b, (label_of(e0) if label_of and b not in e0.labels else e0.labels.get(b, ""))) for b in by))
            labels = tuple((k, v) for k, v in labels if v != "")
            groups.setdefault(labels, []).append(inner(ses, fn, rng_s))
        return agg(groups, how)

    return at


def topk1(inner_at):
    def at(entries, t):
        vals = inner_at(entries, t)
        return ("topk", vals)

    return at


api = lambda e: e.labels.get("job") == "api"  # noqa: E731
worker = lambda e: e.labels.get("job") == "worker"  # noqa: E731
prod = lambda e: e.labels.get("env") == "prod"  # noqa: E731

METRIC_QUERIES = [
    ("sum-count-by-env", 'sum by (env) (count_over_time({job="api"}[1m]))', metric(api, "count", 60, "sum", ["env"])),
    ("sum-rate-by-job", 'sum by (job) (rate({env="prod"}[2m]))', metric(prod, "rate", 120, "sum", ["job"])),
    ("sum-bytes-by-instance", 'sum by (instance) (bytes_over_time({job="api"}[5m]))', metric(api, "bytes", 300, "sum", ["instance"])),
    ("avg-count-by-job", 'avg by (job) (count_over_time({job="worker"}[2m]))', metric(worker, "count", 120, "avg", ["job"])),
    ("min-bytes-by-env", 'min by (env) (bytes_over_time({job="worker"}[3m]))', metric(worker, "bytes", 180, "min", ["env"])),
    ("max-count-filtered", 'max by (job) (count_over_time({job="worker"} |= "failed" [5m]))', metric(lambda e: worker(e) and "failed" in e.line, "count", 300, "max", ["job"])),
    ("count-streams-by-job", 'count by (job) (count_over_time({job="worker"}[1m]))', metric(worker, "count", 60, "count", ["job"])),
    (
        "sum-by-parsed-label",
        'sum by (queue) (count_over_time({job="worker"} | logfmt [2m]))',
        metric(worker, "count", 120, "sum", ["queue"], label_of=lambda e: e.parsed["queue"]),
    ),
    (
        "sum-by-json-level",
        'sum by (level) (count_over_time({job="api"} | json [5m]))',
        metric(api, "count", 300, "sum", ["level"], label_of=lambda e: e.parsed["level"]),
    ),
    (
        "sum-otlp-metadata-filter",
        'sum(count_over_time({service_name="checkout"} | http_status_code >= 500 [5m]))',
        metric(lambda e: e.via == "otlp" and int(e.meta["http_status_code"]) >= 500, "count", 300, "sum", []),
    ),
    (
        "topk",
        'topk(1, sum by (instance) (count_over_time({job="api"} |= "error" [5m])))',
        topk1(metric(lambda e: api(e) and "error" in e.line, "count", 300, "sum", ["instance"])),
    ),
]


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def check_point(name: str, t: int, want, got: dict) -> str | None:
    """got: {labels tuple: value} at t."""
    if isinstance(want, tuple) and want[0] == "topk":
        vals = want[1]
        if not vals:
            return None if not got else f"{name} at {t}: expected nothing, got {got}"
        best = max(vals.values())
        if len(got) != 1:
            return f"{name} at {t}: topk(1) answered {got}"
        (k, v), = got.items()
        if not (close(v, best) and k in [kk for kk, vv in vals.items() if vv == best]):
            return f"{name} at {t}: topk(1) answered {got}, the top is {best} among {vals}"
        return None
    want_c = {k: v for k, v in want.items()}
    if set(want_c) != set(got) or not all(close(want_c[k], got[k]) for k in want_c):
        return f"{name} at {t}: expected {want_c}, got {got}"
    return None


@pytest.mark.parametrize("name,query,expect", METRIC_QUERIES, ids=[q[0] for q in METRIC_QUERIES])
def test_metric_query_range(loki, name, query, expect):
    t0, entries = loki["t0"], loki["entries"]
    start, end, step = t0 + 60 * S, t0 + 23 * 60 * S, 60
    st, body = get_json(loki["fer"].api, "/loki/api/v1/query_range", {"query": query, "start": str(start), "end": str(end), "step": f"{step}s"})
    assert st == 200 and body.get("status") == "success", f"{query}: {st} {body}"
    assert body["data"]["resultType"] == "matrix", body["data"]["resultType"]
    by_t: dict[int, dict] = {}
    for s in body["data"]["result"]:
        for ts, v in s["values"]:
            by_t.setdefault(round(float(ts) * 1000), {})[tuple(sorted(s["metric"].items()))] = float(v)
    problems = []
    for t in range(start, end + 1, step * S):
        p = check_point(query, t, expect(entries, t), by_t.pop(t // 1_000_000, {}))
        if p:
            problems.append(p)
    assert not by_t, f"{query}: points off the step grid: {sorted(by_t)[:5]}"
    assert not problems, "\n".join(problems[:8])


@pytest.mark.parametrize("name,query,expect", METRIC_QUERIES, ids=[q[0] for q in METRIC_QUERIES])
def test_metric_query_instant(loki, name, query, expect):
    t0, entries = loki["t0"], loki["entries"]
    t = t0 + 10 * 60 * S + 30 * S
    st, body = get_json(loki["fer"].api, "/loki/api/v1/query", {"query": query, "time": str(t)}, post=name.startswith("s"))
    assert st == 200 and body.get("status") == "success", f"{query}: {st} {body}"
    assert body["data"]["resultType"] == "vector", body["data"]["resultType"]
    got = {}
    for s in body["data"]["result"]:
        assert round(float(s["value"][0]) * 1000) == t // 1_000_000
        got[tuple(sorted(s["metric"].items()))] = float(s["value"][1])
    want = expect(entries, t)
    assert want if not isinstance(want, tuple) else want[1], f"{name}: the expected vector is empty at {t}"
    p = check_point(query, t, want, got)
    assert p is None, p


def test_vector_arithmetic_as_grafana_health_check(loki):
    st, body = get_json(loki["fer"].api, "/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": str(loki["t0"])})
    assert st == 200 and [float(r["value"][1]) for r in body["data"]["result"]] == [2.0], body


# ---------------------------------------------------------------- labels, values, series
def test_labels_values_and_series(loki):
    fer, t0, entries = loki["fer"], loki["t0"], loki["entries"]
    rng = {"start": str(t0 - 60 * S), "end": str(t0 + 25 * 60 * S)}
    streams = {e.key() for e in entries}

    st, body = get_json(fer.api, "/loki/api/v1/labels", rng)
    assert st == 200, body
    assert sorted(body["data"]) == sorted({k for s in streams for k, _ in s})

    st, body = get_json(fer.api, "/loki/api/v1/labels", {**rng, "query": '{job="worker"}'})
    assert sorted(body["data"]) == ["env", "job"], body

    for name in ("job", "env", "instance", "service_name"):
        st, body = get_json(fer.api, f"/loki/api/v1/label/{name}/values", rng)
        assert st == 200, body
        assert sorted(body["data"]) == sorted({v for s in streams for k, v in s if k == name}), name

    st, body = get_json(fer.api, "/loki/api/v1/label/env/values", {**rng, "query": '{job="api"}'})
    assert sorted(body["data"]) == ["dev", "prod"], body

    for matches, pred in (
        (['{job="api"}'], lambda k: dict(k).get("job") == "api"),
        (['{env="prod"}', '{service_name=~"check.*"}'], lambda k: dict(k).get("env") == "prod" or dict(k).get("service_name", "").startswith("check")),
        (['{job=~".+", env!="prod"}'], lambda k: dict(k).get("job") and dict(k).get("env") != "prod"),
    ):
        for post in (False, True):
            st, body = get_json(fer.api, "/loki/api/v1/series", {**rng, "match[]": matches}, post=post)
            assert st == 200, body
            got = sorted(tuple(sorted(s.items())) for s in body["data"])
            assert got == sorted(k for k in streams if pred(k)), f"series {matches}: {got}"

    # outside the range: nothing
    st, body = get_json(fer.api, "/loki/api/v1/series", {"match[]": '{job="api"}', "start": str(t0 - 3600 * S), "end": str(t0 - 1800 * S)})
    assert st == 200 and body["data"] == [], body
