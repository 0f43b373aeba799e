"""Issue 11, first "Done when" item: the official Python and Node OpenTelemetry SDKs send the
seeds' shopper -> grocery-store -> inventory telemetry (traces, logs linked to them by trace id,
metrics with exemplars) to ferrotel's OTLP receiver, the `embedded_store` exporter keeps it, and
every query API the `embedded_store` extension serves returns it in the upstream shape:
Jaeger (legacy JSON and api_v3), Tempo (protobuf and JSON), Loki and Prometheus. Each test checks
the JSON shape with a JSON schema written from the reference (shared/reference/backends.md §1.4,
§1.5, §2) and the values against what the SDKs exported (read back from in-memory exporters on
the same providers). The last tests replay Grafana's "Save & test" probes (backends.md §0.1).
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass

import jsonschema
import pytest

import seed_demo
from harness import NODE_DIR, Ferrotel, free_port, pipeline_config
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1 import trace_pb2

NODE_SERVICE = "shopper-node"
ALL_SERVICES = {*seed_demo.SERVICES, NODE_SERVICE}
DEADLINE = 30.0  # seconds for the exporter queue to reach the store

# OTLP span kinds (the proto enum) and the names Jaeger gives them
KIND_NAME = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


# ---------------------------------------------------------------------------------------------
# HTTP helpers


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not JSON (HTTP {self.status}): {self.body[:500]!r}") from None


def request(url: str, *, data: bytes | None = None, headers: dict | None = None, method: str | None = None) -> Reply:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return Reply(r.status, r.read(), {k.lower(): v for k, v in r.headers.items()})
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read(), {k.lower(): v for k, v in e.headers.items()})


def qs(params) -> str:
    return urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)


# ---------------------------------------------------------------------------------------------
# JSON schemas, written from the reference shapes (backends.md)

STR_LIST = {"type": "array", "items": {"type": "string"}}
DIGITS = {"type": "string", "pattern": "^[0-9]+$"}
HEX32 = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
HEX16 = {"type": "string", "pattern": "^[0-9a-f]{16}$"}


def jaeger_envelope(data_schema) -> dict:
    """backends.md §1.4: every legacy Jaeger response."""
    return {
        "type": "object",
        "required": ["data", "total", "limit", "offset", "errors"],
        "properties": {
            "data": data_schema,
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "errors": {
                "anyOf": [
                    {"type": "null"},
                    {
                        "type": "array",
                        "items": {"type": "object", "required": ["code", "msg"], "properties": {"code": {"type": "integer"}, "msg": {"type": "string"}}},
                    },
                ]
            },
        },
    }


JAEGER_KV = {
    "type": "object",
    "required": ["key", "type", "value"],
    "properties": {"key": {"type": "string"}, "type": {"enum": ["string", "bool", "int64", "float64", "binary"]}},
}
JAEGER_SPAN = {
    "type": "object",
    "required": ["traceID", "spanID", "operationName", "references", "startTime", "duration", "tags", "logs", "processID"],
    "properties": {
        "traceID": HEX32,
        "spanID": HEX16,
        "operationName": {"type": "string"},
        "references": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["refType", "traceID", "spanID"],
                "properties": {"refType": {"enum": ["CHILD_OF", "FOLLOWS_FROM"]}, "traceID": HEX32, "spanID": HEX16},
            },
        },
        "startTime": {"type": "integer"},
        "duration": {"type": "integer"},
        "tags": {"type": "array", "items": JAEGER_KV},
        "logs": {"type": "array", "items": {"type": "object", "required": ["timestamp", "fields"]}},
        "processID": {"type": "string"},
        "warnings": {"anyOf": [{"type": "null"}, STR_LIST]},
    },
}
JAEGER_TRACE = {
    "type": "object",
    "required": ["traceID", "spans", "processes"],
    "properties": {
        "traceID": HEX32,
        "spans": {"type": "array", "items": JAEGER_SPAN, "minItems": 1},
        "processes": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["serviceName", "tags"],
                "properties": {"serviceName": {"type": "string"}, "tags": {"type": "array", "items": JAEGER_KV}},
            },
        },
        "warnings": {"anyOf": [{"type": "null"}, STR_LIST]},
    },
}
JAEGER_OPERATION = {"type": "object", "required": ["name", "spanKind"], "properties": {"name": {"type": "string"}, "spanKind": {"type": "string"}}}
JAEGER_DEPENDENCY = {
    "type": "object",
    "required": ["parent", "child", "callCount"],
    "properties": {"parent": {"type": "string"}, "child": {"type": "string"}, "callCount": {"type": "integer"}},
}

def otlp_resource_spans(trace_id, span_id, kind) -> dict:
    """OTLP JSON ResourceSpans; ids and kind as the API encodes them."""
    span = {
        "type": "object",
        "required": ["traceId", "spanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano"],
        "properties": {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": {"anyOf": [span_id, {"const": ""}]},
            "name": {"type": "string"},
            "kind": kind,
            "startTimeUnixNano": DIGITS,
            "endTimeUnixNano": DIGITS,
            "attributes": {"type": "array", "items": OTLP_KV},
            "status": {"type": "object", "properties": {"message": {"type": "string"}}},
            "flags": {"type": "integer"},
        },
    }
    return {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["resource", "scopeSpans"],
            "properties": {
                "resource": {"type": "object", "properties": {"attributes": {"type": "array", "items": OTLP_KV}}},
                "scopeSpans": {
                    "type": "array",
                    "items": {"type": "object", "required": ["spans"], "properties": {"scope": {"type": "object"}, "spans": {"type": "array", "items": span}}},
                },
            },
        },
    }


OTLP_ANY = {"type": "object", "minProperties": 1, "maxProperties": 1}
OTLP_KV = {"type": "object", "required": ["key", "value"], "properties": {"key": {"type": "string"}, "value": OTLP_ANY}}
# Jaeger api_v3 (backends.md §1.5): OTLP JSON with hex ids and enum ints (`"kind": 2`)
OTLP_RESOURCE_SPANS = otlp_resource_spans(HEX32, HEX16, {"type": "integer", "minimum": 0, "maximum": 5})
# Tempo renders tempopb.Trace with gogo jsonpb, as Tempo itself does: base64 ids and enum names
B64 = {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"}
TEMPO_RESOURCE_SPANS = otlp_resource_spans(B64, B64, {"type": "string", "pattern": "^SPAN_KIND_"})


def tempo_json_to_hex(resource_spans: list) -> list:
    """Tempo's jsonpb trace (base64 ids, enum names) in the api_v3 form (hex ids, enum ints)."""
    kinds = {n: i for i, n in enumerate(["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"])}
    codes = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
    out = json.loads(json.dumps(resource_spans))
    for rs in out:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                for k in ("traceId", "spanId", "parentSpanId"):
                    if sp.get(k):
                        sp[k] = base64.b64decode(sp[k]).hex()
                sp["kind"] = kinds[sp["kind"]]
                if isinstance(sp.get("status", {}).get("code"), str):
                    sp["status"]["code"] = codes[sp["status"]["code"]]
    return out


V3_TRACES = {
    "type": "object",
    "required": ["result"],
    "properties": {"result": {"type": "object", "required": ["resourceSpans"], "properties": {"resourceSpans": OTLP_RESOURCE_SPANS}}},
}
V3_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["httpCode", "message"], "properties": {"httpCode": {"type": "integer"}, "message": {"type": "string"}}}},
}
V3_SUMMARIES = {
    "type": "object",
    "required": ["summaries"],
    "properties": {
        "summaries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["traceId", "rootServiceName", "rootOperationName", "minStartTimeUnixNano", "maxEndTimeUnixNano", "spanCount", "errorSpanCount", "services"],
                "properties": {
                    "traceId": HEX32,
                    "rootServiceName": {"type": "string"},
                    "rootOperationName": {"type": "string"},
                    "minStartTimeUnixNano": DIGITS,
                    "maxEndTimeUnixNano": DIGITS,
                    "spanCount": {"type": "integer"},
                    "errorSpanCount": {"type": "integer"},
                    "services": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "spanCount", "errorSpanCount"],
                            "properties": {"name": {"type": "string"}, "spanCount": {"type": "integer"}, "errorSpanCount": {"type": "integer"}},
                        },
                    },
                },
            },
        }
    },
}

TEMPO_SEARCH = {
    "type": "object",
    "required": ["traces"],
    "properties": {
        "traces": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["traceID", "rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs"],
                "properties": {
                    "traceID": {"type": "string", "pattern": "^[0-9a-f]{1,32}$"},
                    "rootServiceName": {"type": "string"},
                    "rootTraceName": {"type": "string"},
                    "startTimeUnixNano": DIGITS,
                    "durationMs": {"type": "integer"},
                    "spanSets": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["spans", "matched"],
                            "properties": {
                                "matched": {"type": "integer"},
                                "spans": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["spanID", "startTimeUnixNano", "durationNanos"],
                                        "properties": {
                                            "spanID": HEX16,
                                            "name": {"type": "string"},
                                            "startTimeUnixNano": DIGITS,
                                            "durationNanos": DIGITS,
                                            "attributes": {"type": "array", "items": OTLP_KV},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "serviceStats": {
                        "type": "object",
                        "additionalProperties": {"type": "object", "required": ["spanCount"], "properties": {"spanCount": {"type": "integer"}, "errorCount": {"type": "integer"}}},
                    },
                },
            },
        },
        "metrics": {"type": "object"},
    },
}
TEMPO_TAGS_V1 = {"type": "object", "required": ["tagNames"], "properties": {"tagNames": STR_LIST}}
TEMPO_TAGS_V2 = {
    "type": "object",
    "required": ["scopes"],
    "properties": {
        "scopes": {
            "type": "array",
            "items": {"type": "object", "required": ["name", "tags"], "properties": {"name": {"type": "string"}, "tags": STR_LIST}},
        }
    },
}
TEMPO_VALUES_V1 = {"type": "object", "required": ["tagValues"], "properties": {"tagValues": STR_LIST}}
TEMPO_VALUES_V2 = {
    "type": "object",
    "required": ["tagValues"],
    "properties": {
        "tagValues": {
            "type": "array",
            "items": {"type": "object", "required": ["type", "value"], "properties": {"type": {"type": "string"}, "value": {"type": "string"}}},
        }
    },
}


def success(data_schema) -> dict:
    """Prometheus and Loki envelope (backends.md §2.a, §2.c)."""
    return {"type": "object", "required": ["status", "data"], "properties": {"status": {"const": "success"}, "data": data_schema}}


SAMPLE_VALUE = {"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}], "minItems": 2, "maxItems": 2}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
VECTOR = {
    "type": "object",
    "required": ["resultType", "result"],
    "properties": {
        "resultType": {"const": "vector"},
        "result": {"type": "array", "items": {"type": "object", "required": ["metric", "value"], "properties": {"metric": LABELS, "value": SAMPLE_VALUE}}},
    },
}
MATRIX = {
    "type": "object",
    "required": ["resultType", "result"],
    "properties": {
        "resultType": {"const": "matrix"},
        "result": {
            "type": "array",
            "items": {"type": "object", "required": ["metric", "values"], "properties": {"metric": LABELS, "values": {"type": "array", "items": SAMPLE_VALUE}}},
        },
    },
}
SCALAR = {"type": "object", "required": ["resultType", "result"], "properties": {"resultType": {"const": "scalar"}, "result": SAMPLE_VALUE}}
STREAMS = {
    "type": "object",
    "required": ["resultType", "result"],
    "properties": {
        "resultType": {"const": "streams"},
        "result": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["stream", "values"],
                "properties": {
                    "stream": LABELS,
                    "values": {"type": "array", "items": {"type": "array", "prefixItems": [DIGITS, {"type": "string"}], "minItems": 2, "maxItems": 2}},
                },
            },
        },
        "stats": {"type": "object"},
    },
}
EXEMPLARS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["seriesLabels", "exemplars"],
        "properties": {
            "seriesLabels": LABELS,
            "exemplars": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["labels", "value", "timestamp"],
                    "properties": {"labels": LABELS, "value": {"type": "string"}, "timestamp": {"type": "number"}},
                },
            },
        },
    },
}
METADATA = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {"type": "object", "required": ["type", "help", "unit"], "properties": {"type": {"type": "string"}, "help": {"type": "string"}, "unit": {"type": "string"}}},
    },
}
BUILDINFO = {"type": "object", "required": ["version", "revision", "branch", "buildUser", "buildDate", "goVersion"]}


def check(doc, schema, what: str):
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        raise AssertionError(f"{what}: does not have the reference shape: {e.message} at {list(e.absolute_path)}\n{json.dumps(doc)[:2000]}") from None
    return doc


# ---------------------------------------------------------------------------------------------
# What was sent, as each API should render it


def hexid(n: int, width: int) -> str:
    return f"{n:0{width}x}"


@dataclass
class SpanFacts:
    trace_id: str
    span_id: str
    parent: str | None
    service: str
    name: str
    kind: int  # OTLP enum
    start_ns: int
    end_ns: int
    error: bool
    status_message: str
    attributes: dict
    resource: dict | None = None  # None: not known (the Node SDK's defaults)
    events: tuple = ()  # (name, time ns, attributes)


def python_spans(sent: seed_demo.Sent) -> list[SpanFacts]:
    out = []
    for s in sent.spans:
        out.append(
            SpanFacts(
                trace_id=hexid(s.context.trace_id, 32),
                span_id=hexid(s.context.span_id, 16),
                parent=hexid(s.parent.span_id, 16) if s.parent else None,
                service=s.resource.attributes["service.name"],
                name=s.name,
                kind=s.kind.value + 1,  # the API enum starts at INTERNAL = 0, OTLP's at INTERNAL = 1
                start_ns=s.start_time,
                end_ns=s.end_time,
                error=s.status.status_code.name == "ERROR",
                status_message=s.status.description or "",
                attributes=dict(s.attributes),
                resource=dict(s.resource.attributes),
                events=tuple((e.name, e.timestamp, dict(e.attributes)) for e in s.events),
            )
        )
    return out


def node_spans(node: dict) -> list[SpanFacts]:
    return [
        SpanFacts(
            trace_id=node["traceId"],
            span_id=s["spanId"],
            parent=s["parentSpanId"],
            service=NODE_SERVICE,
            name=s["name"],
            kind=s["kind"] + 1,  # JS API enum: INTERNAL = 0
            start_ns=int(s["startNs"]),
            end_ns=int(s["endNs"]),
            error=False,
            status_message="",
            attributes={},
        )
        for s in node["spans"]
    ]


@dataclass
class Demo:
    base: str
    sent: seed_demo.Sent
    node: dict
    spans: list[SpanFacts]  # Python and Node
    ferrotel: Ferrotel

    def get(self, path: str, params=None, headers=None) -> Reply:
        url = self.base + path + (("?" + qs(params)) if params else "")
        return request(url, headers=headers)

    def get_json(self, path: str, params=None, status: int = 200):
        r = self.get(path, params)
        assert r.status == status, f"GET {path} {params}: HTTP {r.status} (wanted {status}): {r.body[:1000]!r}\n--- ferrotel ---\n{self.ferrotel.output(2000)}"
        return r.json()

    # ---- derived facts ----
    def trace_spans(self, trace_id: str) -> list[SpanFacts]:
        return [s for s in self.spans if s.trace_id == trace_id]

    def services_of_trace(self, trace_id: str) -> set[str]:
        return {s.service for s in self.trace_spans(trace_id)}

    def root(self, trace_id: str) -> SpanFacts:
        (r,) = [s for s in self.trace_spans(trace_id) if s.parent is None]
        return r

    def python_logs(self, service: str) -> list[dict]:
        out = []
        for rec in self.sent.logs_of(service):
            lr = rec.log_record
            out.append(
                {
                    "ts": lr.timestamp,
                    "line": lr.body,
                    "trace_id": hexid(lr.trace_id, 32),
                    "span_id": hexid(lr.span_id, 16),
                    "severity": lr.severity_text,
                }
            )
        return out

    def logs_of(self, service: str) -> list[dict]:
        if service == NODE_SERVICE:
            return [{"ts": int(r["timeNs"]), "line": r["body"], "trace_id": r["traceId"], "span_id": r["spanId"]} for r in self.node["logs"]]
        return self.python_logs(service)

    @property
    def window_s(self) -> tuple[int, int]:
        """A query window (unix seconds) around everything sent."""
        return int(self.sent.window_ns[0] / 1e9) - 120, int(time.time()) + 60


def poll(what: str, probe, demo_ferrotel: Ferrotel, deadline: float = DEADLINE):
    """Calls probe() until it returns (True, x); returns x. The store is written through the
    exporter's queue, so data becomes queryable shortly after the SDK's export returned."""
    end = time.monotonic() + deadline
    last = None
    while True:
        try:
            ok, last = probe()
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
            ok, last = False, repr(e)
        if ok:
            return last
        if time.monotonic() > end:
            raise AssertionError(f"{what} not seen within {deadline}s; last answer: {str(last)[:2000]}\n--- ferrotel ---\n{demo_ferrotel.output(3000)}")
        time.sleep(0.2)


def run_node(http_port: int) -> dict:
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "@opentelemetry" / "sdk-node").is_dir(), "run `npm ci` in tests/e2e/node (scripts/test.sh does)"
    p = subprocess.run(
        [node, str(NODE_DIR / "seed_shopper.js"), "--url", f"http://127.0.0.1:{http_port}", "--service", NODE_SERVICE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NODE_DIR,
    )
    assert p.returncode == 0, f"the JS SDK could not export everything:\n{p.stdout}\n{p.stderr[-4000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embedded_store_apis")
    grpc, http, api = free_port(), free_port(), free_port()
    cfg = pipeline_config(grpc, http, {"embedded_store": {}}, processors={})
    cfg["extensions"] = {"embedded_store": {"endpoint": f"127.0.0.1:{api}", "directory": str(tmp / "store")}}
    cfg["service"]["extensions"] = ["embedded_store"]
    f = Ferrotel(tmp, cfg, [grpc, http, api])
    try:
        sent = seed_demo.send(f"127.0.0.1:{grpc}")
        assert not sent.failures, f"the Python SDK could not export everything: {sent.failures}\n{f.output(3000)}"
        assert len(sent.traces) == seed_demo.VISITS and sent.error_trace
        node = run_node(http)
        d = Demo(f"http://127.0.0.1:{api}", sent, node, python_spans(sent) + node_spans(node), f)
        wait_until_stored(d)
        yield d
    finally:
        f.stop()


def wait_until_stored(d: Demo) -> None:
    """Every trace complete, every log line and every metric recording queryable."""
    for tid in [*d.sent.traces, d.node["traceId"]]:
        want = len(d.trace_spans(tid))

        def trace_complete(tid=tid, want=want):
            r = d.get(f"/api/v3/traces/{tid}")
            if r.status != 200:
                return False, r.body[:300]
            n = sum(len(ss.get("spans", [])) for rs in r.json()["result"]["resourceSpans"] for ss in rs.get("scopeSpans", []))
            return n == want, n

        poll(f"trace {tid} with {want} spans", trace_complete, d.ferrotel)

    want_logs = {s: len(d.logs_of(s)) for s in ALL_SERVICES}

    def logs_complete():
        r = d.get("/loki/api/v1/query", {"query": 'sum by (service_name) (count_over_time({service_name=~".+"}[10m]))'})
        got = {x["metric"].get("service_name"): int(float(x["value"][1])) for x in r.json()["data"]["result"]}
        return got == want_logs, got

    poll(f"log lines per service {want_logs}", logs_complete, d.ferrotel)

    def metrics_complete():
        r = d.get("/api/v1/query", {"query": "sum(http_server_request_duration_seconds_count) + sum(grocery_items_sold_total)"})
        res = r.json()["data"]["result"]
        return bool(res) and float(res[0]["value"][1]) == len(d.sent.durations) + d.sent.items_sold, res

    poll("the grocery-store's metrics", metrics_complete, d.ferrotel)


# =============================================================================================
# Jaeger, legacy JSON API (backends.md §1.4; what Grafana's Jaeger datasource calls)


def test_jaeger_services_lists_every_sdk_service(demo):
    doc = check(demo.get_json("/api/services"), jaeger_envelope(STR_LIST), "/api/services")
    assert set(doc["data"]) == ALL_SERVICES
    assert len(doc["data"]) == len(set(doc["data"])) == doc["total"]


@pytest.mark.parametrize("service", sorted(ALL_SERVICES))
def test_jaeger_service_operations_are_the_span_names(demo, service):
    doc = check(demo.get_json(f"/api/services/{urllib.parse.quote(service)}/operations"), jaeger_envelope(STR_LIST), "operations")
    want = {s.name for s in demo.spans if s.service == service}
    assert sorted(doc["data"]) == sorted(want), "unique span names of the service, all kinds"


def test_jaeger_operations_carry_span_kinds(demo):
    service = seed_demo.STORE
    doc = check(demo.get_json("/api/operations", {"service": service}), jaeger_envelope({"type": "array", "items": JAEGER_OPERATION}), "/api/operations")
    want = {(s.name, KIND_NAME[s.kind]) for s in demo.spans if s.service == service}
    got = [(o["name"], o["spanKind"]) for o in doc["data"]]
    assert sorted(got) == sorted(want)
    doc = check(demo.get_json("/api/operations", {"service": service, "spanKind": "server"}), jaeger_envelope({"type": "array", "items": JAEGER_OPERATION}), "/api/operations")
    assert [(o["name"], o["spanKind"]) for o in doc["data"]] == sorted(w for w in want if w[1] == "server")


def assert_jaeger_trace_matches(demo: Demo, trace: dict) -> None:
    """A UI-model trace equals what the SDKs sent: spans, parent references, processes."""
    tid = trace["traceID"]
    want = {s.span_id: s for s in demo.trace_spans(tid)}
    got = {s["spanID"]: s for s in trace["spans"]}
    assert set(got) == set(want), f"trace {tid}: span ids"
    for sid, s in got.items():
        w = want[sid]
        assert s["traceID"] == tid
        assert s["operationName"] == w.name
        assert s["startTime"] == w.start_ns // 1000, "microseconds since the epoch"
        assert s["duration"] == (w.end_ns - w.start_ns) // 1000, "microseconds"
        refs = [(r["refType"], r["traceID"], r["spanID"]) for r in s["references"]]
        assert refs == ([("CHILD_OF", tid, w.parent)] if w.parent else []), f"span {w.name} of {w.service}: references"
        process = trace["processes"][s["processID"]]
        assert process["serviceName"] == w.service
        if w.resource is not None:
            # resource -> process: service.name is the serviceName, the rest are tags
            assert {t["key"]: t["value"] for t in process["tags"]} == {k: v for k, v in w.resource.items() if k != "service.name"}
        # events -> logs: timestamp in us, the event name as the field `event`
        logs = [(lg["timestamp"], {f["key"]: f["value"] for f in lg["fields"]}) for lg in s["logs"]]
        assert logs == [(ts // 1000, {"event": name, **attrs}) for name, ts, attrs in w.events], f"span {w.name}: logs"
        tags = {t["key"]: t for t in s["tags"]}
        assert tags["span.kind"]["value"] == KIND_NAME[w.kind]
        for k, v in w.attributes.items():
            assert k in tags, f"attribute {k} is not a tag of {w.name}"
            assert tags[k]["type"] == {str: "string", bool: "bool", int: "int64", float: "float64"}[type(v)]
            assert tags[k]["value"] == v
        if w.error:
            assert tags["error"] == {"key": "error", "type": "bool", "value": True}
            assert tags["otel.status_code"]["value"] == "ERROR"
            assert tags["otel.status_description"]["value"] == w.status_message
        else:
            assert "error" not in tags, f"{w.service} {w.name} was not an error"


def test_jaeger_search_by_service_returns_the_visits_nested(demo):
    start, end = demo.window_s
    doc = demo.get_json("/api/traces", {"service": seed_demo.SHOPPER, "start": start * 1_000_000, "end": end * 1_000_000, "limit": 20})
    check(doc, jaeger_envelope({"type": "array", "items": JAEGER_TRACE}), "/api/traces search")
    assert sorted(t["traceID"] for t in doc["data"]) == sorted(demo.sent.traces)
    for t in doc["data"]:
        assert {p["serviceName"] for p in t["processes"].values()} == set(seed_demo.SERVICES)
        assert_jaeger_trace_matches(demo, t)


def test_jaeger_search_filters(demo):
    start, end = demo.window_s
    base = {"start": start * 1_000_000, "end": end * 1_000_000, "limit": 20}

    def found(**params):
        doc = demo.get_json("/api/traces", {**base, **params})
        check(doc, jaeger_envelope({"type": "array", "items": JAEGER_TRACE}), "/api/traces search")
        return sorted(t["traceID"] for t in doc["data"])

    # the error tag is how Jaeger exposes an OTLP error status
    assert found(service=seed_demo.INVENTORY, tags=json.dumps({"error": "true"})) == [demo.sent.error_trace]
    # a span attribute
    milk = [s.trace_id for s in demo.spans if s.service == seed_demo.STORE and s.attributes.get("item") == "milk" and s.kind == 2]
    assert found(service=seed_demo.STORE, tags=json.dumps({"item": "milk"})) == sorted(milk)
    # an operation and a minimum duration (of a span of that service and operation)
    slow = {s.trace_id for s in demo.spans if s.service == seed_demo.STORE and s.name == "GET /products" and s.end_ns - s.start_ns >= 150_000_000}
    assert 0 < len(slow) < seed_demo.VISITS
    assert found(service=seed_demo.STORE, operation="GET /products", minDuration="150ms") == sorted(slow)
    assert found(service=NODE_SERVICE) == [demo.node["traceId"]]
    # without start/end: Jaeger's default lookback (2 days) covers everything just sent
    doc = demo.get_json("/api/traces", {"service": seed_demo.SHOPPER})
    assert sorted(t["traceID"] for t in doc["data"]) == sorted(demo.sent.traces)
    # multi-fetch by id (traceID repeated)
    want = sorted([demo.sent.traces[0], demo.node["traceId"]])
    doc = demo.get_json("/api/traces", {"traceID": want})
    check(doc, jaeger_envelope({"type": "array", "items": JAEGER_TRACE}), "/api/traces?traceID=..")
    assert sorted(t["traceID"] for t in doc["data"]) == want


def test_jaeger_trace_by_id_has_the_error_span_tags(demo):
    tid = demo.sent.error_trace
    doc = check(demo.get_json(f"/api/traces/{tid}"), jaeger_envelope({"type": "array", "items": JAEGER_TRACE, "minItems": 1, "maxItems": 1}), "/api/traces/{id}")
    assert_jaeger_trace_matches(demo, doc["data"][0])
    errors = [s for s in doc["data"][0]["spans"] if any(t["key"] == "error" for t in s["tags"])]
    assert [s["spanID"] for s in errors] == [s.span_id for s in demo.trace_spans(tid) if s.error]
    # the Node SDK's trace too
    doc = demo.get_json(f"/api/traces/{demo.node['traceId']}")
    assert_jaeger_trace_matches(demo, doc["data"][0])


def test_jaeger_trace_by_unknown_id_is_404(demo):
    doc = check(demo.get_json("/api/traces/" + "ab" * 16, status=404), jaeger_envelope({"type": "null"}), "missing trace")
    assert doc["errors"] and doc["errors"][0]["code"] == 404


def test_jaeger_dependencies_are_shopper_store_inventory(demo):
    doc = demo.get_json("/api/dependencies", {"endTs": int(time.time() * 1000) + 60_000, "lookback": 3_600_000})
    check(doc, jaeger_envelope({"type": "array", "items": JAEGER_DEPENDENCY}), "/api/dependencies")
    # Jaeger's rule: a span whose parent belongs to another service is one call parent -> child
    by_id = {s.span_id: s for s in demo.spans}
    want = Counter((by_id[s.parent].service, s.service) for s in demo.spans if s.parent and by_id[s.parent].service != s.service)
    assert want == {(seed_demo.SHOPPER, seed_demo.STORE): seed_demo.VISITS, (seed_demo.STORE, seed_demo.INVENTORY): seed_demo.VISITS}
    got = {(d["parent"], d["child"]): d["callCount"] for d in doc["data"]}
    assert got == dict(want)


# =============================================================================================
# Jaeger api_v3 (backends.md §1.5)


def rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000000000Z"


def test_jaeger_v3_services_and_operations(demo):
    doc = check(demo.get_json("/api/v3/services"), {"type": "object", "required": ["services"], "properties": {"services": STR_LIST}}, "/api/v3/services")
    assert sorted(doc["services"]) == sorted(ALL_SERVICES)
    for service in ALL_SERVICES:
        doc = demo.get_json("/api/v3/operations", {"service": service})
        check(doc, {"type": "object", "required": ["operations"], "properties": {"operations": {"type": "array", "items": JAEGER_OPERATION}}}, "/api/v3/operations")
        want = {(s.name, KIND_NAME[s.kind]) for s in demo.spans if s.service == service}
        assert sorted((o["name"], o["spanKind"]) for o in doc["operations"]) == sorted(want)


def otlp_value(v: dict):
    """An OTLP JSON AnyValue as a Python value; int64 must be a decimal string (OTLP JSON)."""
    ((k, x),) = v.items()
    if k == "intValue":
        assert isinstance(x, str), f"intValue {x!r} must be a string in OTLP JSON"
    return {"stringValue": str, "boolValue": bool, "intValue": int, "doubleValue": float}[k](x)


def pb_value(v):
    return getattr(v, v.WhichOneof("value"))


def sdk_encoded(demo: Demo, trace_id: str) -> dict[str, dict]:
    """The Python SDK's own OTLP encoding of a trace's spans (what went over the wire), as
    OTLP JSON by span id, plus each span's resource attributes."""
    req = encode_spans([s for s in demo.sent.spans if hexid(s.context.trace_id, 32) == trace_id])
    out = {}
    for rs in req.resource_spans:
        res = {a.key: a.value for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for sp in ss.spans:
                out[sp.span_id.hex()] = {"span": sp, "resource": res, "scope": ss.scope}
    return out


def assert_otlp_json_trace(demo: Demo, resource_spans: list, trace_id: str) -> None:
    """OTLP JSON (hex ids, enum ints, int64 as strings) equal to the SDK's encoding."""
    want = sdk_encoded(demo, trace_id)
    seen = set()
    for rs in resource_spans:
        res = {a["key"]: otlp_value(a["value"]) for a in rs["resource"].get("attributes", [])}
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                w = want[sp["spanId"]]
                pb: trace_pb2.Span = w["span"]
                seen.add(sp["spanId"])
                assert res == {k: pb_value(v) for k, v in w["resource"].items()}
                assert ss.get("scope", {}).get("name") == w["scope"].name
                assert sp["traceId"] == pb.trace_id.hex() == trace_id
                assert sp.get("parentSpanId", "") == pb.parent_span_id.hex()
                assert sp["name"] == pb.name
                assert sp["kind"] == pb.kind
                assert sp["startTimeUnixNano"] == str(pb.start_time_unix_nano)
                assert sp["endTimeUnixNano"] == str(pb.end_time_unix_nano)
                assert sp.get("status", {}).get("code", 0) == pb.status.code
                assert sp.get("status", {}).get("message", "") == pb.status.message
                assert sp.get("flags", 0) == pb.flags
                got_attrs = {a["key"]: otlp_value(a["value"]) for a in sp.get("attributes", [])}
                assert got_attrs == {a.key: pb_value(a.value) for a in pb.attributes}
                events = [(e["name"], e["timeUnixNano"], {a["key"]: otlp_value(a["value"]) for a in e.get("attributes", [])}) for e in sp.get("events", [])]
                assert events == [(e.name, str(e.time_unix_nano), {a.key: pb_value(a.value) for a in e.attributes}) for e in pb.events]
    assert seen == set(want)


def test_jaeger_v3_trace_by_id_is_otlp_json(demo):
    tid = demo.sent.error_trace
    doc = check(demo.get_json(f"/api/v3/traces/{tid}"), V3_TRACES, "/api/v3/traces/{id}")
    assert_otlp_json_trace(demo, doc["result"]["resourceSpans"], tid)
    # the error span's status, as the reference example shows it
    statuses = [sp.get("status") for rs in doc["result"]["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"] if sp.get("status", {}).get("code") == 2]
    assert statuses == [{"code": 2, "message": f"out of stock: {seed_demo.ITEMS[seed_demo.ERROR_VISIT]}"}]


def test_jaeger_v3_search_by_service_and_time(demo):
    start, end = demo.window_s
    params = {"query.service_name": seed_demo.INVENTORY, "query.start_time_min": rfc3339(start), "query.start_time_max": rfc3339(end)}
    doc = check(demo.get_json("/api/v3/traces", params), V3_TRACES, "/api/v3/traces search")
    by_trace = defaultdict(list)
    for rs in doc["result"]["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for sp in ss["spans"]:
                by_trace[sp["traceId"]].append(rs)
    assert sorted(by_trace) == sorted(demo.sent.traces), "every visit reached the inventory"
    for tid in demo.sent.traces:
        spans = [sp for rs in doc["result"]["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"] if sp["traceId"] == tid]
        assert sorted(sp["spanId"] for sp in spans) == sorted(s.span_id for s in demo.trace_spans(tid)), "full traces"
    # the canonical camelCase parameter names are accepted too
    params = {"query.serviceName": NODE_SERVICE, "query.startTimeMin": rfc3339(start), "query.startTimeMax": rfc3339(end)}
    doc = check(demo.get_json("/api/v3/traces", params), V3_TRACES, "/api/v3/traces search")
    assert {sp["traceId"] for rs in doc["result"]["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]} == {demo.node["traceId"]}


def test_jaeger_v3_no_match_is_404_error_shape(demo):
    start, end = demo.window_s
    params = {"query.service_name": "no-such-service", "query.start_time_min": rfc3339(start), "query.start_time_max": rfc3339(end)}
    doc = check(demo.get_json("/api/v3/traces", params, status=404), V3_ERROR, "no-match search")
    assert doc["error"]["httpCode"] == 404


def test_jaeger_v3_trace_summaries(demo):
    start, end = demo.window_s
    params = {"query.service_name": seed_demo.SHOPPER, "query.start_time_min": rfc3339(start), "query.start_time_max": rfc3339(end)}
    doc = check(demo.get_json("/api/v3/trace-summaries", params), V3_SUMMARIES, "/api/v3/trace-summaries")
    got = {s["traceId"]: s for s in doc["summaries"]}
    assert sorted(got) == sorted(demo.sent.traces)
    for tid, s in got.items():
        spans = demo.trace_spans(tid)
        root = demo.root(tid)
        assert (s["rootServiceName"], s["rootOperationName"]) == (root.service, root.name)
        assert s["spanCount"] == len(spans)
        assert s["errorSpanCount"] == sum(x.error for x in spans)
        assert s["minStartTimeUnixNano"] == str(min(x.start_ns for x in spans))
        assert s["maxEndTimeUnixNano"] == str(max(x.end_ns for x in spans))
        per = {v["name"]: (v["spanCount"], v["errorSpanCount"]) for v in s["services"]}
        want = {svc: (sum(x.service == svc for x in spans), sum(x.service == svc and x.error for x in spans)) for svc in {x.service for x in spans}}
        assert per == want


# =============================================================================================
# Tempo, under /tempo (backends.md §2.b; what Grafana's Tempo datasource calls)


def pb_fields(buf: bytes) -> list[tuple[int, int, object]]:
    """The top-level fields of a protobuf message: (number, wire type, value)."""
    out, i = [], 0

    def varint():
        nonlocal i
        shift = n = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            out.append((num, wt, varint()))
        elif wt == 2:
            n = varint()
            out.append((num, wt, buf[i : i + n]))
            i += n
        elif wt == 1:
            out.append((num, wt, buf[i : i + 8]))
            i += 8
        elif wt == 5:
            out.append((num, wt, buf[i : i + 4]))
            i += 4
        else:
            raise AssertionError(f"unexpected wire type {wt} at byte {i}")
    return out


def span_ids_of(td: trace_pb2.TracesData) -> list[str]:
    return sorted(sp.span_id.hex() for rs in td.resource_spans for ss in rs.scope_spans for sp in ss.spans)


def assert_traces_data(demo: Demo, td: trace_pb2.TracesData, tid: str) -> None:
    assert span_ids_of(td) == sorted(s.span_id for s in demo.trace_spans(tid))
    want = sdk_encoded(demo, tid)
    for rs in td.resource_spans:
        for ss in rs.scope_spans:
            for sp in ss.spans:
                w = want[sp.span_id.hex()]
                # the span exactly as the SDK encoded it (ids, kind, times, status, flags,
                # attributes, events), under the same resource and scope
                assert sp == w["span"], f"span {sp.name}:\n{sp}\n!=\n{w['span']}"
                assert {a.key: pb_value(a.value) for a in rs.resource.attributes} == {k: pb_value(v) for k, v in w["resource"].items()}
                assert (ss.scope.name, ss.scope.version) == (w["scope"].name, w["scope"].version)


def test_tempo_echo(demo):
    r = demo.get("/tempo/api/echo")
    assert (r.status, r.body) == (200, b"echo")


def test_tempo_v2_trace_by_id_protobuf_is_trace_by_id_response(demo):
    tid = demo.sent.error_trace
    start, end = demo.window_s
    r = demo.get(f"/tempo/api/v2/traces/{tid}", {"start": start, "end": end}, headers={"Accept": "application/protobuf"})
    assert r.status == 200, r.body[:500]
    assert r.headers.get("content-type", "").startswith("application/protobuf")
    fields = pb_fields(r.body)
    traces = [v for n, wt, v in fields if n == 1 and wt == 2]
    assert len(traces) == 1, f"TraceByIDResponse.trace (field 1) once: {[(n, wt) for n, wt, _ in fields]}"
    status = [v for n, wt, v in fields if n == 3]
    assert status in ([], [0]), "PartialStatus COMPLETE"
    # tempopb.Trace field 1 = repeated ResourceSpans: wire-identical to OTLP TracesData
    assert_traces_data(demo, trace_pb2.TracesData.FromString(traces[0]), tid)


def test_tempo_v1_trace_by_id_protobuf_is_traces_data(demo):
    tid = demo.sent.traces[0]
    r = demo.get(f"/tempo/api/traces/{tid}", headers={"Accept": "application/protobuf"})
    assert r.status == 200, r.body[:500]
    assert_traces_data(demo, trace_pb2.TracesData.FromString(r.body), tid)


def test_tempo_trace_by_id_json(demo):
    tid = demo.sent.error_trace
    doc = demo.get_json(f"/tempo/api/v2/traces/{tid}")
    check(doc, {"type": "object", "required": ["trace"], "properties": {"trace": {"type": "object", "required": ["resourceSpans"], "properties": {"resourceSpans": TEMPO_RESOURCE_SPANS}}}}, "/api/v2/traces JSON")
    assert doc.get("status", "COMPLETE") == "COMPLETE"
    assert_otlp_json_trace(demo, tempo_json_to_hex(doc["trace"]["resourceSpans"]), tid)
    doc = demo.get_json(f"/tempo/api/traces/{tid}")
    # Tempo's JSON for tempopb.Trace names the list `batches` (older) or `resourceSpans`
    key = "batches" if "batches" in doc else "resourceSpans"
    check(doc, {"type": "object", "required": [key], "properties": {key: TEMPO_RESOURCE_SPANS}}, "/api/traces JSON")
    assert_otlp_json_trace(demo, tempo_json_to_hex(doc[key]), tid)
    # Jaeger keeps /api/traces/{id} at the root; Tempo's is only under /tempo
    assert "data" in demo.get_json(f"/api/traces/{tid}")


def tempo_search(demo: Demo, **params) -> dict:
    start, end = demo.window_s
    doc = demo.get_json("/tempo/api/search", {"start": start, "end": end, "limit": 20, **params})
    return check(doc, TEMPO_SEARCH, f"/api/search {params}")


def test_tempo_traceql_search_finds_the_error_trace(demo):
    doc = tempo_search(demo, q='{ resource.service.name = "inventory" && status = error }', spss=3)
    tid = demo.sent.error_trace
    assert [t["traceID"].rjust(32, "0") for t in doc["traces"]] == [tid]
    (t,) = doc["traces"]
    spans = demo.trace_spans(tid)
    root = demo.root(tid)
    assert t["rootServiceName"] == root.service == seed_demo.SHOPPER
    assert t["rootTraceName"] == root.name
    assert t["startTimeUnixNano"] == str(min(s.start_ns for s in spans))
    assert t["durationMs"] == (max(s.end_ns for s in spans) - min(s.start_ns for s in spans)) // 1_000_000
    (err,) = [s for s in spans if s.error]
    assert len(t["spanSets"]) == 1
    ss = t["spanSets"][0]
    assert ss["matched"] == 1
    (sp,) = ss["spans"]
    assert sp["spanID"] == err.span_id
    assert sp["startTimeUnixNano"] == str(err.start_ns)
    assert sp["durationNanos"] == str(err.end_ns - err.start_ns)
    if "serviceStats" in t:
        assert t["serviceStats"] == {
            svc: {"spanCount": sum(s.service == svc for s in spans), "errorCount": sum(s.service == svc and s.error for s in spans)} for svc in {s.service for s in spans}
        }


def test_tempo_traceql_search_by_duration_and_kind(demo):
    doc = tempo_search(demo, q='{ resource.service.name = "grocery-store" && kind = server && duration > 150ms }')
    want = {s.trace_id for s in demo.spans if s.service == seed_demo.STORE and s.kind == 2 and s.end_ns - s.start_ns > 150_000_000}
    assert 0 < len(want) < seed_demo.VISITS
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted(want)


def test_tempo_legacy_tags_search(demo):
    # logfmt tags, as Grafana's legacy search sends them
    doc = tempo_search(demo, tags="service.name=inventory")
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted(demo.sent.traces)
    doc = tempo_search(demo, tags="service.name=inventory item=bread")
    bread = {s.trace_id for s in demo.spans if s.service == seed_demo.INVENTORY and s.attributes.get("item") == "bread"}
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted(bread)
    # minDuration: only the slowest visit's trace lasts >= 190 ms (and has a span that long)
    slow = {s.trace_id for s in demo.spans if s.service == seed_demo.SHOPPER and s.end_ns - s.start_ns >= 190_000_000}
    assert len(slow) == 1
    doc = tempo_search(demo, tags="service.name=shopper", minDuration="190ms")
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted(slow)
    # service.name and the span name are matched as substrings (backends.md §2.b)
    doc = tempo_search(demo, tags="service.name=invent")
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted(demo.sent.traces)
    doc = tempo_search(demo, tags='name="GET /sto"')
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted({s.trace_id for s in demo.spans if "GET /sto" in s.name})
    doc = tempo_search(demo, tags="status.code=error")
    assert [t["traceID"].rjust(32, "0") for t in doc["traces"]] == [demo.sent.error_trace]
    # every result names its root span (what Grafana's search table shows)
    doc = tempo_search(demo, tags="service.name=shopper-node")
    assert [(t["traceID"].rjust(32, "0"), t["rootServiceName"], t["rootTraceName"]) for t in doc["traces"]] == [
        (demo.node["traceId"], NODE_SERVICE, demo.root(demo.node["traceId"]).name)
    ]


def test_tempo_search_tags_v1_and_v2(demo):
    span_keys = {k for s in demo.spans for k in s.attributes}
    resource_keys = {k for s in demo.sent.spans for k in s.resource.attributes}
    doc = check(demo.get_json("/tempo/api/search/tags"), TEMPO_TAGS_V1, "/api/search/tags")
    assert span_keys | resource_keys <= set(doc["tagNames"])
    doc = check(demo.get_json("/tempo/api/search/tags", {"scope": "resource"}), TEMPO_TAGS_V1, "/api/search/tags?scope=resource")
    assert resource_keys <= set(doc["tagNames"]) and not (span_keys - resource_keys) & set(doc["tagNames"])
    doc = check(demo.get_json("/tempo/api/search/tags", {"scope": "span"}), TEMPO_TAGS_V1, "/api/search/tags?scope=span")
    assert span_keys <= set(doc["tagNames"])
    doc = check(demo.get_json("/tempo/api/v2/search/tags"), TEMPO_TAGS_V2, "/api/v2/search/tags")
    scopes = {s["name"]: set(s["tags"]) for s in doc["scopes"]}
    assert span_keys <= scopes["span"]
    assert resource_keys <= scopes["resource"]
    assert {"duration", "kind", "name", "status", "statusMessage", "rootName", "rootServiceName", "traceDuration"} <= scopes["intrinsic"]


def test_tempo_tag_values_v1_and_v2(demo):
    doc = check(demo.get_json("/tempo/api/search/tag/service.name/values"), TEMPO_VALUES_V1, "tag values v1")
    assert sorted(doc["tagValues"]) == sorted(ALL_SERVICES)
    doc = check(demo.get_json("/tempo/api/v2/search/tag/resource.service.name/values"), TEMPO_VALUES_V2, "tag values v2")
    assert sorted((v["type"], v["value"]) for v in doc["tagValues"]) == sorted(("string", s) for s in ALL_SERVICES)
    doc = check(demo.get_json("/tempo/api/v2/search/tag/span.item/values"), TEMPO_VALUES_V2, "tag values v2")
    assert sorted((v["type"], v["value"]) for v in doc["tagValues"]) == sorted({("string", s.attributes["item"]) for s in demo.spans if "item" in s.attributes})
    doc = check(demo.get_json("/tempo/api/v2/search/tag/span.visit/values"), TEMPO_VALUES_V2, "tag values v2")
    assert sorted((v["type"], v["value"]) for v in doc["tagValues"]) == sorted({("int", str(s.attributes["visit"])) for s in demo.spans if "visit" in s.attributes})


# =============================================================================================
# Loki (backends.md §2.c)


def loki(demo: Demo, path: str, schema, **params):
    doc = demo.get_json(f"/loki/api/v1/{path}", params)
    return check(doc, success(schema), f"/loki/api/v1/{path} {params}")["data"]


def test_loki_labels_and_values(demo):
    start, end = demo.window_s
    assert "service_name" in loki(demo, "labels", STR_LIST, start=start * 10**9, end=end * 10**9)
    assert sorted(loki(demo, "label/service_name/values", STR_LIST, start=start * 10**9, end=end * 10**9)) == sorted(ALL_SERVICES)


def test_loki_series(demo):
    start, end = demo.window_s
    data = loki(demo, "series", {"type": "array", "items": LABELS, "minItems": 1}, **{"match[]": '{service_name="grocery-store"}', "start": start, "end": end})
    assert {s["service_name"] for s in data} == {seed_demo.STORE}
    # the resource attributes Loki's OTLP ingestion indexes become stream labels
    assert {s.get("deployment_environment") for s in data} == {"e2e"}


def stream_entries(data) -> list[tuple[str, str, dict]]:
    return [(ts, line, r["stream"]) for r in data["result"] for ts, line in r["values"]]


def test_loki_query_range_returns_the_lines_with_trace_ids(demo):
    start, end = demo.window_s
    for service in ALL_SERVICES:
        data = loki(demo, "query_range", STREAMS, query=f'{{service_name="{service}"}}', start=start * 10**9, end=end * 10**9, limit=100)
        got = stream_entries(data)
        want = demo.logs_of(service)
        assert sorted((ts, line) for ts, line, _ in got) == sorted((str(w["ts"]), w["line"]) for w in want)
        # structured metadata (trace_id, span_id) is folded into the stream labels, as Loki
        # answers a client that does not ask for categorized labels
        by_ts = {str(w["ts"]): w for w in want}
        for ts, _, labels in got:
            assert labels["service_name"] == service
            assert labels.get("trace_id") == by_ts[ts]["trace_id"], "the log record's trace id is the span's"
            assert labels.get("span_id") == by_ts[ts]["span_id"]
        assert {w["trace_id"] for w in want} <= {s.trace_id for s in demo.spans if s.service == service}
        # newest first (direction=backward is the default)
        stamps = [int(ts) for r in data["result"] for ts, _ in r["values"]]
        for r in data["result"]:
            vals = [int(ts) for ts, _ in r["values"]]
            assert vals == sorted(vals, reverse=True)
        assert stamps


def test_loki_line_filter_and_trace_id_filter(demo):
    start, end = demo.window_s
    rng = {"start": start * 10**9, "end": end * 10**9}
    data = loki(demo, "query_range", STREAMS, query='{service_name="inventory"} |= "out of stock"', **rng)
    want = [w for w in demo.logs_of(seed_demo.INVENTORY) if "out of stock" in w["line"]]
    assert len(want) == 1
    assert [(ts, line, labels["trace_id"]) for ts, line, labels in stream_entries(data)] == [(str(want[0]["ts"]), want[0]["line"], demo.sent.error_trace)]
    # every log line of one trace, by its trace id (a label filter on structured metadata)
    tid = demo.sent.error_trace
    for service in seed_demo.SERVICES:
        data = loki(demo, "query_range", STREAMS, query=f'{{service_name="{service}"}} | trace_id="{tid}"', **rng)
        assert sorted(line for _, line, _ in stream_entries(data)) == sorted(w["line"] for w in demo.logs_of(service) if w["trace_id"] == tid)


def test_loki_json_parser(demo):
    start, end = demo.window_s
    item = seed_demo.ITEMS[seed_demo.ERROR_VISIT]
    data = loki(demo, "query_range", STREAMS, query=f'{{service_name="grocery-store"}} | json | item="{item}"', start=start * 10**9, end=end * 10**9)
    want = [w for w in demo.logs_of(seed_demo.STORE) if json.loads(w["line"])["item"] == item]
    got = stream_entries(data)
    assert sorted(line for _, line, _ in got) == sorted(w["line"] for w in want)
    for _, line, labels in got:
        body = json.loads(line)
        assert labels["msg"] == body["msg"] and labels["visit"] == str(body["visit"]), "`| json` extracts the fields as labels"


def test_loki_count_over_time_matrix_and_vector(demo):
    q = 'sum by (service_name) (count_over_time({service_name=~".+"}[5m]))'
    want = {s: len(demo.logs_of(s)) for s in ALL_SERVICES}
    now = time.time()
    data = loki(demo, "query", VECTOR, query=q, time=int(now * 1e9))
    assert {r["metric"]["service_name"]: float(r["value"][1]) for r in data["result"]} == want
    assert all(set(r["metric"]) == {"service_name"} for r in data["result"])
    data = loki(demo, "query_range", MATRIX, query=q, start=int((now - 60) * 1e9), end=int(now * 1e9), step="15s")
    got = {}
    for r in data["result"]:
        assert set(r["metric"]) == {"service_name"}
        ts = [v[0] for v in r["values"]]
        assert ts == sorted(ts) and all(b - a == pytest.approx(15) for a, b in zip(ts, ts[1:]))
        got[r["metric"]["service_name"]] = float(r["values"][-1][1])  # the last step covers every line
    assert got == want


# =============================================================================================
# Prometheus (backends.md §2.a)

HIST = "http_server_request_duration_seconds"  # http.server.request.duration, unit s
COUNTER = "grocery_items_sold_total"  # grocery.items.sold, unit {item}: annotation dropped, _total added


def prom(demo: Demo, path: str, schema, **params):
    doc = demo.get_json(f"/api/v1/{path}", params)
    return check(doc, success(schema), f"/api/v1/{path} {params}")["data"]


def prom_value(demo: Demo, query: str) -> float:
    data = prom(demo, "query", VECTOR, query=query, time=time.time())
    assert len(data["result"]) == 1, data
    return float(data["result"][0]["value"][1])


def test_prometheus_metric_names(demo):
    names = set(prom(demo, "label/__name__/values", STR_LIST))
    assert {f"{HIST}_bucket", f"{HIST}_sum", f"{HIST}_count", COUNTER, "target_info"} <= names


def test_prometheus_series_and_labels(demo):
    start, end = demo.window_s
    data = prom(demo, "series", {"type": "array", "items": LABELS}, **{"match[]": f"{HIST}_count", "start": start, "end": end})
    instance = {s.resource.attributes["service.instance.id"] for s in demo.sent.spans if s.resource.attributes["service.name"] == seed_demo.STORE}
    # one series per attribute set the SDK recorded with
    want = {(r, str(c)) for r, c in [("/products", 503 if v == seed_demo.ERROR_VISIT else 200) for v in range(seed_demo.VISITS)]}
    assert sorted((s["http_route"], s["http_response_status_code"]) for s in data) == sorted(want)
    for s in data:
        assert s["__name__"] == f"{HIST}_count"
        assert s["job"] == seed_demo.STORE, "job = service.name"
        assert {s["instance"]} == instance, "instance = service.instance.id"
    labels = set(prom(demo, "labels", STR_LIST))
    assert {"__name__", "job", "instance", "le", "http_route", "http_response_status_code", "item"} <= labels


def test_prometheus_metadata(demo):
    data = prom(demo, "metadata", METADATA)
    assert data[HIST][0]["type"] == "histogram"
    assert data[HIST][0]["help"] == "Duration of HTTP server requests."
    assert data[COUNTER][0]["type"] == "counter"
    assert data[COUNTER][0]["help"] == "Items sold by the grocery store."


def test_prometheus_query_values_equal_what_was_recorded(demo):
    sent = demo.sent
    assert prom_value(demo, f"sum({HIST}_count)") == len(sent.durations)
    assert prom_value(demo, f"sum({HIST}_sum)") == pytest.approx(sum(sent.durations), rel=1e-9)
    assert prom_value(demo, f"sum({COUNTER})") == sent.items_sold
    # the bucket counts: cumulative, per boundary
    data = prom(demo, "query", VECTOR, query=f"sum by (le) ({HIST}_bucket)", time=time.time())
    got = {float(r["metric"]["le"]): float(r["value"][1]) for r in data["result"]}
    assert got[math.inf] == len(sent.durations)
    for le, n in got.items():
        assert n == sum(d <= le for d in sent.durations), f"le={le}"
    assert set(got) == {*(float(b) for b in seed_demo.DURATION_BUCKETS), math.inf}


def test_prometheus_query_range_shape(demo):
    now = time.time()
    data = prom(demo, "query_range", MATRIX, query=f"sum({HIST}_count)", start=now - 120, end=now, step=15)
    (series,) = data["result"]
    assert series["metric"] == {}
    ts = [v[0] for v in series["values"]]
    assert ts == sorted(ts) and all(b - a == pytest.approx(15) for a, b in zip(ts, ts[1:]))
    assert float(series["values"][-1][1]) == len(demo.sent.durations)
    # Grafana POSTs its queries as a form by default
    body = qs({"query": f"sum by (job) ({COUNTER})", "start": now - 120, "end": now, "step": "15"}).encode()
    r = request(demo.base + "/api/v1/query_range", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST")
    assert r.status == 200, r.body[:500]
    data = check(r.json(), success(MATRIX), "POST query_range")["data"]
    assert [(s["metric"], float(s["values"][-1][1])) for s in data["result"]] == [({"job": seed_demo.STORE}, demo.sent.items_sold)]


def test_prometheus_exemplars_link_to_the_traces(demo):
    start, end = demo.window_s
    store_server = {s.trace_id: s for s in demo.spans if s.service == seed_demo.STORE and s.kind == 2}
    expected_value = {
        # the histogram recorded the grocery-store SERVER span's duration (s)
        f"{HIST}_bucket": {tid: (sp.end_ns - sp.start_ns) / 1e9 for tid, sp in store_server.items()},
        # the counter added visit + 1 items (not on the failed visit)
        COUNTER: {tid: visit + 1 for visit, tid in enumerate(demo.sent.traces) if visit != seed_demo.ERROR_VISIT},
    }
    for metric, values in expected_value.items():
        data = prom(demo, "query_exemplars", EXEMPLARS, query=metric, start=start, end=end)
        exemplars = [(s["seriesLabels"], e) for s in data for e in s["exemplars"]]
        assert exemplars, f"{metric}: no exemplars"
        for series, e in exemplars:
            assert series["__name__"] == metric
            tid = e["labels"].get("trace_id")
            assert tid in values, f"{metric}: exemplar trace_id {tid} is not a trace that recorded {metric}"
            assert e["labels"].get("span_id") == store_server[tid].span_id, "recorded inside the grocery-store's SERVER span"
            assert float(e["value"]) == pytest.approx(values[tid])
            if metric == f"{HIST}_bucket":
                # on the bucket the value falls into (the smallest bound >= value)
                bound = min([b for b in seed_demo.DURATION_BUCKETS if b >= values[tid]] or [math.inf])
                assert float(series["le"]) == bound
            assert start <= e["timestamp"] <= end


# =============================================================================================
# Grafana "Save & test", replayed exactly as Grafana sends it (backends.md §0.1)


def test_grafana_prometheus_save_and_test(demo):
    # pkg/promlib/healthcheck.go: instant query 1+1 over the range 1s..4s, POSTed as a form
    # (POST is Grafana's default method), time = the range end
    r = request(
        demo.base + "/api/v1/query",
        data=b"query=1%2B1&time=4",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    assert r.status == 200, r.body[:500]
    data = check(r.json(), success(SCALAR), "1+1")["data"]
    assert data["result"][0] == 4 and data["result"][1] == "2"
    # then buildinfo for flavour detection (no `features` map: plain Prometheus)
    r = demo.get("/api/v1/status/buildinfo")
    assert r.status == 200
    info = check(r.json(), success(BUILDINFO), "buildinfo")["data"]
    assert not info.get("features")


def test_grafana_loki_save_and_test(demo):
    # pkg/tsdb/loki/healthcheck.go + api.go makeDataRequest: instant query, GET, ns time
    r = demo.get("/loki/api/v1/query", {"direction": "backward", "query": "vector(1)+vector(1)", "time": time.time_ns()})
    assert r.status == 200, r.body[:500]
    data = check(r.json(), success(VECTOR), "vector(1)+vector(1)")["data"]
    assert len(data["result"]) == 1, "exactly one sample"
    assert float(data["result"][0]["value"][1]) == 2


def test_grafana_tempo_save_and_test(demo):
    # the datasource URL carries /tempo; Grafana GETs <url>/api/echo
    r = demo.get("/tempo/api/echo")
    assert r.status == 200 and r.body == b"echo"


def test_grafana_jaeger_save_and_test(demo):
    r = demo.get("/api/services")
    assert r.status == 200
    doc = r.json()
    assert isinstance(doc.get("data"), list) and doc["data"], "a non-empty service list"


# =============================================================================================
# The same APIs under the prefixes a datasource URL may carry (crates/ui lib.rs)


@pytest.mark.parametrize(
    "path,alias",
    [
        ("/api/services", "/jaeger/api/services"),
        (f"/api/services/{seed_demo.STORE}/operations", f"/jaeger/api/services/{seed_demo.STORE}/operations"),
        ("/api/v3/services", "/jaeger/api/v3/services"),
        ("/api/v1/label/__name__/values", "/prometheus/api/v1/label/__name__/values"),
        ("/api/v1/metadata", "/prometheus/api/v1/metadata"),
        ("/tempo/api/search/tags", "/api/search/tags"),
        ("/tempo/api/v2/search/tags", "/api/v2/search/tags"),
        ("/tempo/api/echo", "/api/echo"),
    ],
)
def test_api_prefixes_serve_the_same_answer(demo, path, alias):
    a, b = demo.get(path), demo.get(alias)
    assert (a.status, b.status) == (200, 200), (a.body[:300], b.body[:300])
    assert a.body == b.body


def test_buildinfo_shapes(demo):
    check(demo.get_json("/tempo/api/status/buildinfo"), BUILDINFO, "Tempo buildinfo")
    doc = demo.get_json("/loki/api/v1/status/buildinfo")
    check(doc if "version" in doc else doc.get("data"), BUILDINFO, "Loki buildinfo")


def test_loki_index_stats_shape(demo):
    start, end = demo.window_s
    doc = demo.get_json("/loki/api/v1/index/stats", {"query": '{service_name="inventory"}', "start": start * 10**9, "end": end * 10**9})
    check(doc, {"type": "object", "required": ["streams", "chunks", "entries", "bytes"], "properties": {k: {"type": "integer", "minimum": 0} for k in ("streams", "chunks", "entries", "bytes")}}, "index/stats")
    # zeros are acceptable (backends.md §2.c); counts, when given, are the inventory's
    assert doc["entries"] in (0, len(demo.logs_of(seed_demo.INVENTORY)))


def test_error_answers_have_the_reference_shapes(demo):
    # Jaeger legacy: the envelope with errors[] (search without a service)
    doc = check(demo.get_json("/api/traces", status=400), jaeger_envelope({"type": "null"}), "Jaeger 400")
    assert doc["errors"][0]["code"] == 400
    # api_v3: {"error": {"httpCode", "message"}}
    doc = check(demo.get_json("/api/v3/traces/" + "cd" * 16, status=404), V3_ERROR, "v3 unknown trace")
    assert doc["error"]["httpCode"] == 404
    doc = check(demo.get_json("/api/v3/traces/not-an-id", status=400), V3_ERROR, "v3 malformed id")
    assert doc["error"]["httpCode"] == 400
    # Prometheus: status error + errorType bad_data on a parse error
    doc = demo.get_json("/api/v1/query", {"query": "sum(("}, status=400)
    check(doc, {"type": "object", "required": ["status", "errorType", "error"], "properties": {"status": {"const": "error"}, "errorType": {"const": "bad_data"}, "error": {"type": "string"}}}, "PromQL parse error")
    # Loki: a log query is not an instant query (400); Tempo: unknown trace is 404, which
    # makes Grafana fall back from /api/v2/traces to /api/traces
    assert demo.get("/loki/api/v1/query", {"query": '{service_name="shopper"}'}).status == 400
    assert demo.get("/tempo/api/v2/traces/" + "cd" * 16, headers={"Accept": "application/protobuf"}).status == 404
    assert demo.get("/tempo/api/traces/" + "cd" * 16).status == 404


def test_grafana_loki_categorize_labels_header(demo):
    """Grafana sends `X-Loki-Response-Encoding-Flags: categorize-labels` on every Loki query; a
    backend either ignores it (plain 2-tuples, structured metadata among the stream labels) or
    echoes it in data.encodingFlags and answers 3-tuples (backends.md §2.c)."""
    start, end = demo.window_s
    url = demo.base + "/loki/api/v1/query_range?" + qs({"query": '{service_name="inventory"}', "start": start * 10**9, "end": end * 10**9})
    r = request(url, headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
    assert r.status == 200, r.body[:500]
    doc = r.json()
    want = {(str(w["ts"]), w["line"], w["trace_id"]) for w in demo.logs_of(seed_demo.INVENTORY)}
    if "categorize-labels" in (doc["data"].get("encodingFlags") or []):
        got = set()
        for stream in doc["data"]["result"]:
            for ts, line, meta in stream["values"]:
                got.add((ts, line, meta["structuredMetadata"]["trace_id"]))
    else:
        check(doc, success(STREAMS), "query_range, header ignored")
        got = {(ts, line, labels["trace_id"]) for ts, line, labels in stream_entries(doc["data"])}
    assert got == want


def test_loki_line_format(demo):
    start, end = demo.window_s
    data = loki(demo, "query_range", STREAMS, query='{service_name="grocery-store"} | json | line_format "{{.msg}}: {{.item}}"', start=start * 10**9, end=end * 10**9)
    want = sorted((str(w["ts"]), "{msg}: {item}".format(**json.loads(w["line"]))) for w in demo.logs_of(seed_demo.STORE))
    assert sorted((ts, line) for ts, line, _ in stream_entries(data)) == want


def test_searches_outside_the_time_range_find_nothing(demo):
    first_s = demo.sent.window_ns[0] // 10**9
    before = (first_s - 7200, first_s - 3600)
    # Jaeger legacy: 200 with empty data (api_v3 would be 404)
    doc = demo.get_json("/api/traces", {"service": seed_demo.SHOPPER, "start": before[0] * 1_000_000, "end": before[1] * 1_000_000})
    assert doc["data"] == []
    # Tempo: no traces
    doc = check(demo.get_json("/tempo/api/search", {"q": "{}", "start": before[0], "end": before[1]}), TEMPO_SEARCH, "search before")
    assert doc["traces"] == []


def test_tempo_empty_traceql_lists_recent_traces(demo):
    # `{}` is what Grafana's search runs before any filter is chosen
    doc = tempo_search(demo, q="{}")
    assert sorted(t["traceID"].rjust(32, "0") for t in doc["traces"]) == sorted([*demo.sent.traces, demo.node["traceId"]])
    for t in doc["traces"]:
        root = demo.root(t["traceID"].rjust(32, "0"))
        assert (t["rootServiceName"], t["rootTraceName"]) == (root.service, root.name)


def test_jaeger_search_tag_parameter(demo):
    # the repeatable `tag=key:value` form (backends.md §1.4)
    start, end = demo.window_s
    doc = demo.get_json("/api/traces", {"service": seed_demo.INVENTORY, "tag": ["item:milk", "http.response.status_code:200"], "start": start * 1_000_000, "end": end * 1_000_000})
    want = {s.trace_id for s in demo.spans if s.service == seed_demo.INVENTORY and s.attributes.get("item") == "milk" and s.attributes.get("http.response.status_code") == 200}
    assert len(want) == 1
    assert [t["traceID"] for t in doc["data"]] == sorted(want)
