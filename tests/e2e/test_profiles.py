"""OTLP profiles through ferrotel, byte for byte.

Requests are built here from the official opentelemetry-proto definitions (the
`opentelemetry-proto` package from PyPI: profiles `v1development` with the dictionary): several
resources, scopes and profiles, samples with stacks, locations, functions, mappings, links and
attributes in the dictionary. They go into ferrotel's `otlp` receiver over gRPC
(`ProfilesService/Export`) and HTTP (`POST /v1development/profiles`), through `memory_limiter`,
the `forward` connector and `batch`, and out of the `otlp_grpc` and `otlp_http` exporters to raw sinks in this test,
which compare the bytes that arrive with the bytes that were sent. The `debug` exporter counts
them, and the self-metrics count samples under Go's names.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.profiles.v1development import profiles_service_pb2 as svc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.profiles.v1development import profiles_pb2 as pb
from opentelemetry.proto.resource.v1 import resource_pb2

from harness import Ferrotel, free_port, http_get

EXPORT = "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"


def _kv(k: str, v: str) -> common_pb2.KeyValue:
    return common_pb2.KeyValue(key=k, value=common_pb2.AnyValue(string_value=v))


def build_request(tag: str, n_profiles: int, samples_per_profile: int) -> svc.ExportProfilesServiceRequest:
    """A request whose samples all index into one dictionary, as SDKs and eBPF agents send."""
    strings = ["", "cpu", "nanoseconds", "samples", "count", f"main.{tag}", "runtime.goexit", "/app/bin", "thread.name"]
    d = pb.ProfilesDictionary(
        string_table=strings,
        mapping_table=[pb.Mapping(), pb.Mapping(memory_start=0x400000, memory_limit=0x800000, file_offset=0, filename_strindex=7)],
        function_table=[pb.Function(), pb.Function(name_strindex=5, system_name_strindex=5, filename_strindex=7, start_line=10),
                        pb.Function(name_strindex=6, filename_strindex=7, start_line=1)],
        location_table=[pb.Location(),
                        pb.Location(mapping_index=1, address=0x401000, lines=[pb.Line(function_index=1, line=12, column=3)]),
                        pb.Location(mapping_index=1, address=0x402000, lines=[pb.Line(function_index=2, line=1)])],
        stack_table=[pb.Stack(), pb.Stack(location_indices=[1, 2]), pb.Stack(location_indices=[2])],
        link_table=[pb.Link(), pb.Link(trace_id=bytes(range(16)), span_id=bytes(range(8)))],
        attribute_table=[pb.KeyValueAndUnit(), pb.KeyValueAndUnit(key_strindex=8, value=common_pb2.AnyValue(string_value=f"worker-{tag}"))],
    )
    req = svc.ExportProfilesServiceRequest(dictionary=d)
    for r in range(2):
        rp = req.resource_profiles.add(resource=resource_pb2.Resource(attributes=[_kv("service.name", f"svc-{tag}-{r}")]),
                                       schema_url="https://opentelemetry.io/schemas/1.27.0")
        sp = rp.scope_profiles.add(scope=common_pb2.InstrumentationScope(name="profiler", version="1.2.3"))
        for p in range(n_profiles):
            prof = sp.profiles.add(
                sample_type=pb.ValueType(type_strindex=3, unit_strindex=4),
                period_type=pb.ValueType(type_strindex=1, unit_strindex=2),
                period=10_000_000,
                time_unix_nano=1_700_000_000_000_000_000 + p,
                duration_nano=1_000_000_000,
                profile_id=bytes([p + 1] * 16),
                attribute_indices=[1],
            )
            for s in range(samples_per_profile):
                prof.samples.add(stack_index=1 + (s % 2), values=[s + 1], attribute_indices=[1], link_index=1 if s == 0 else 0,
                                 timestamps_unix_nano=[1_700_000_000_000_000_000 + s])
    return req


def samples_of(req: svc.ExportProfilesServiceRequest) -> int:
    return sum(len(p.samples) for rp in req.resource_profiles for sp in rp.scope_profiles for p in sp.profiles)


class RawSink:
    """A gRPC ProfilesService and an HTTP endpoint that record the bytes they receive."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got: dict[str, list[bytes]] = {"grpc": [], "http": []}
        self.grpc_port = free_port()
        self.http_port = free_port()

        def export(request: bytes, context) -> bytes:
            with self.lock:
                self.got["grpc"].append(request)
            return svc.ExportProfilesServiceResponse().SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.profiles.v1development.ProfilesService",
            {"Export": grpc.unary_unary_rpc_method_handler(export)},  # no (de)serializer: raw bytes
        )
        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.grpc.add_generic_rpc_handlers((handler,))
        self.grpc.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        self.grpc.start()

        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: D401 - silence
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = self.path == "/v1development/profiles" and self.headers["Content-Type"] == "application/x-protobuf"
                if ok:
                    enc = self.headers.get("Content-Encoding", "")
                    if enc == "gzip":
                        import gzip

                        body = gzip.decompress(body)
                    with sink.lock:
                        sink.got["http"].append(body)
                out = svc.ExportProfilesServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.http = ThreadingHTTPServer(("127.0.0.1", self.http_port), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got["grpc"]) >= n and len(self.got["http"]) >= n:
                    return
            time.sleep(0.05)
        raise AssertionError(f"sinks got {[(k, len(v)) for k, v in self.got.items()]}, wanted {n} each")

    def stop(self) -> None:
        self.grpc.stop(0)
        self.http.shutdown()


def test_profiles_pass_through_grpc_and_http_unchanged(tmp_path):
    sink = RawSink()
    grpc_in, http_in, metrics_port = free_port(), free_port(), free_port()
    cfg = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_in}"}, "http": {"endpoint": f"127.0.0.1:{http_in}"}}}},
        "processors": {"memory_limiter": {"check_interval": "1s", "limit_mib": 4096}, "batch": {"timeout": "50ms"}},
        "connectors": {"forward": {}},
        "exporters": {
            "otlp_grpc": {"endpoint": f"127.0.0.1:{sink.grpc_port}", "tls": {"insecure": True}},
            "otlp_http": {"endpoint": f"http://127.0.0.1:{sink.http_port}"},
            "debug": {},
        },
        "service": {
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": metrics_port}}}}]}},
            # In through one pipeline, out through another joined by the forward connector.
            "pipelines": {
                "profiles/in": {"receivers": ["otlp"], "processors": ["memory_limiter"], "exporters": ["forward"]},
                "profiles": {"receivers": ["forward"], "processors": ["batch"], "exporters": ["otlp_grpc", "otlp_http", "debug"]},
            },
        },
    }
    col = Ferrotel(tmp_path, cfg, [grpc_in, http_in, metrics_port], extra_args=["--feature-gates=service.profilesSupport"])
    try:
        sent = [build_request("a", 3, 5).SerializeToString(), build_request("b", 1, 7).SerializeToString()]
        # gRPC in
        with grpc.insecure_channel(f"127.0.0.1:{grpc_in}") as ch:
            call = ch.unary_unary(EXPORT)  # raw bytes both ways
            reply = call(sent[0], timeout=10)
            assert svc.ExportProfilesServiceResponse.FromString(reply).partial_success.rejected_profiles == 0
        sink.wait(1)
        # HTTP in
        r = urllib.request.Request(f"http://127.0.0.1:{http_in}/v1development/profiles", data=sent[1],
                                   headers={"Content-Type": "application/x-protobuf"}, method="POST")
        with urllib.request.urlopen(r, timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/x-protobuf"
        sink.wait(2)
        for transport in ("grpc", "http"):
            assert sink.got[transport] == sent, f"{transport}: bytes changed on the way"
        # What went through is what was built: the dictionary and every sample survived.
        back = svc.ExportProfilesServiceRequest.FromString(sink.got["grpc"][0])
        assert back.dictionary.string_table[5] == "main.a"
        assert samples_of(back) == 2 * 3 * 5

        want_samples = 2 * 3 * 5 + 2 * 1 * 7
        deadline = time.monotonic() + 10
        while True:
            _, text = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
            accepted = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("otelcol_receiver_accepted_profile_samples{")
            )
            sent_ok = [line for line in text.splitlines() if line.startswith("otelcol_exporter_sent_profile_samples{") and 'exporter="otlp_grpc"' in line]
            if accepted == want_samples and sent_ok and float(sent_ok[0].rsplit(" ", 1)[1]) == want_samples:
                break
            assert time.monotonic() < deadline, f"profile sample metrics not as expected:\n{text}"
            time.sleep(0.2)
        out = col.output()
        assert "resource profiles=2 sample records=30" in out and "resource profiles=2 sample records=14" in out, out
    finally:
        col.stop()
        sink.stop()


def test_profiles_over_json_are_refused_clearly_and_other_signals_keep_flowing(tmp_path):
    grpc_in, http_in = free_port(), free_port()
    cfg = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_in}"}, "http": {"endpoint": f"127.0.0.1:{http_in}"}}}},
        "exporters": {"debug": {}},
        "service": {"pipelines": {"profiles": {"receivers": ["otlp"], "exporters": ["debug"]},
                                  "traces": {"receivers": ["otlp"], "exporters": ["debug"]}}},
    }
    col = Ferrotel(tmp_path, cfg, [grpc_in, http_in])
    try:
        r = urllib.request.Request(f"http://127.0.0.1:{http_in}/v1development/profiles", data=b'{"resourceProfiles": []}',
                                   headers={"Content-Type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(r, timeout=10)
            raise AssertionError("JSON profiles were accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400
            assert "not supported for profiles" in e.read().decode()
        # A malformed protobuf body is a 400 too, and the process keeps running.
        r = urllib.request.Request(f"http://127.0.0.1:{http_in}/v1development/profiles", data=b"\x0a\xff\xff",
                                   headers={"Content-Type": "application/x-protobuf"}, method="POST")
        try:
            urllib.request.urlopen(r, timeout=10)
            raise AssertionError("a malformed body was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400
        r = urllib.request.Request(f"http://127.0.0.1:{http_in}/v1/traces", data=b"",
                                   headers={"Content-Type": "application/x-protobuf"}, method="POST")
        with urllib.request.urlopen(r, timeout=10) as resp:
            assert resp.status == 200
    finally:
        col.stop()
