"""Issue 12 benchmark driver (bench/ui.sh): the no-config ferrotel binary (release build) on
core 0, everything else on core 1.

(a) Cold start: a fresh data directory each run; the time from spawning the binary to the
    first 200 answer on /ui/ and on /api/services (polled every 2 ms), `--cold-runs` runs.
(b) Pages with N spans stored: bench/ui_load.py sends N spans (and two log lines per trace)
    over OTLP/HTTP into the running binary; once the exporter has sent them all and the
    derived RED metrics count them all, every API request the UI's pages make (the list in
    crates/webui/assets/README.md, with the PromQL of js/pages/red.js) is timed with curl's
    time_total on loopback, `--repeats` runs each: median, p95 and max.
Writes results.json and results.md into --out and prints the table."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, data: Path, log: Path):
    ports = {k: free_port() for k in ("grpc", "http", "ui", "metrics")}
    args = [
        "taskset", "-c", "0", binary,
        "--set", f"receivers::otlp::protocols::grpc::endpoint=127.0.0.1:{ports['grpc']}",
        "--set", f"receivers::otlp::protocols::http::endpoint=127.0.0.1:{ports['http']}",
        "--set", f"extensions::embedded_store::endpoint=127.0.0.1:{ports['ui']}",
        "--set", f"extensions::embedded_store::directory={data}",
        "--set", f"service::telemetry::metrics::address=127.0.0.1:{ports['metrics']}",
    ]  # fmt: skip
    f = open(log, "wb")
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    return p, ports, t0


def stop(p) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def cold_start(binary: str, work: Path, runs: int) -> dict:
    ui, api = [], []
    for i in range(runs):
        data = work / f"cold-{i}"
        shutil.rmtree(data, ignore_errors=True)
        p, ports, t0 = start(binary, data, work / f"cold-{i}.log")
        base = f"http://127.0.0.1:{ports['ui']}"
        got: dict[str, float] = {}
        deadline = t0 + 30
        while len(got) < 2 and time.perf_counter() < deadline:
            for name, path in (("ui", "/ui/"), ("api", "/api/services")):
                if name not in got and status_of(base + path) == 200:
                    got[name] = time.perf_counter() - t0
            time.sleep(0.002)
        stop(p)
        if len(got) < 2:
            raise SystemExit(f"cold start run {i}: no 200 within 30 s (see {work}/cold-{i}.log)")
        ui.append(got["ui"] * 1000)
        api.append(got["api"] * 1000)
        shutil.rmtree(data, ignore_errors=True)
    return {
        "runs": runs,
        "ui_ms": {"median": statistics.median(ui), "max": max(ui), "all": [round(x, 1) for x in ui]},
        "api_services_ms": {"median": statistics.median(api), "max": max(api), "all": [round(x, 1) for x in api]},
    }


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def wait_for(what: str, fn, timeout: float):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(1)
    raise SystemExit(f"{what}: not within {timeout} s (last {last})")


# ---------------------------------------------------------------- the pages' requests

CALLS = "traces_span_metrics_calls_total"
BUCKET = "traces_span_metrics_duration_seconds_bucket"
ENTRY = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"'


def entry_or(fn, metric, by, sel, extra, w):
    """js/pages/red.js entryOr: entry spans per group, or all spans of groups without them."""
    groups = ", ".join(x for x in by if x != "le")

    def m(parts):
        return f"{metric}{{{','.join(parts)}}}"

    has_entry = f"sum by ({groups}) (rate({CALLS}{{{','.join([ENTRY, *sel])}}}[{w}]))"
    b = ", ".join(by)
    return f"sum by ({b}) ({fn}({m([ENTRY, *sel, *extra])}[{w}])) or (sum by ({b}) ({fn}({m([*sel, *extra])}[{w}])) unless on ({groups}) {has_entry})"


def red_queries(by: list[str], sel: list[str], w: str, entry_only: bool = True) -> dict[str, str]:
    def f(fn, metric, extra_by=None, extra_sel=()):
        b = [*by, *([extra_by] if extra_by else [])]
        if entry_only:
            return entry_or(fn, metric, b, sel, list(extra_sel), w)
        return f"sum by ({', '.join(b)}) ({fn}({metric}{{{','.join([*sel, *extra_sel])}}}[{w}]))"

    def quant(p):
        return f"histogram_quantile({p}, {f('rate', BUCKET, 'le')})"

    return {
        "rate": f("rate", CALLS),
        "errors": f("rate", CALLS, None, ['status_code="STATUS_CODE_ERROR"']),
        "p50": quant(0.5),
        "p95": quant(0.95),
        "p99": quant(0.99),
    }


def page_requests(base: str, service: str, operation: str, traces: list[tuple[str, int, int]]) -> list[tuple[str, str, list[str]]]:
    """(page, request, [urls]) for the default range (last hour) ending now; `traces` are
    (id, start ns, end ns) of stored traces, rotated between runs of the by-id requests.
    Pages marked `*` are variants the pages do not ask by default (for comparison)."""
    end = time.time()
    start = end - 3600
    W = "3600s"
    step = 60  # range/60
    R = f"{max(60, 4 * step)}s"
    e_us, s_us = int(end * 1e6), int(start * 1e6)
    e_ns, s_ns = int(end * 1e9), int(start * 1e9)

    def u(path, **params):
        return f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"

    def prom(q):
        return u("/api/v1/query", query=q, time=f"{end:.3f}")

    def prom_range(q):
        return u("/api/v1/query_range", query=q, start=f"{start:.3f}", end=f"{end:.3f}", step=step)

    out = []
    svc_q = red_queries(["service_name"], [], W)
    for k, q in svc_q.items():
        out.append(("services", f"query {k} by service", [prom(q)]))
    out.append(("services", "query_range rate (sparklines)", [prom_range(red_queries(["service_name"], [], R)["rate"])]))
    out.append(("services", "/api/services", [u("/api/services")]))
    sel = [f'service_name="{service}"']
    # the service page: its operations of every kind
    for k, q in red_queries(["service_name", "span_name", "span_kind"], sel, W, entry_only=False).items():
        out.append(("service", f"query {k} by operation", [prom(q)]))
    for k in ("rate", "errors", "p95"):
        out.append(("service", f"query_range {k}", [prom_range(red_queries(["service_name"], sel, R)[k])]))
    for name in ("traces_service_graph_request_total", "traces_service_graph_request_failed_total"):
        out.append(("graph", f"increase({name.removeprefix('traces_service_graph_')})", [prom(f"sum by (client, server) (increase({name}[{W}]))")]))
    out.append(("graph", "/api/dependencies (only when both are empty)", [u("/api/dependencies", endTs=int(end * 1000), lookback=3600 * 1000)]))
    out.append(("traces", f"/api/services/{service}/operations", [u(f"/api/services/{service}/operations")]))
    out.append(("traces", "search service, limit 20", [u("/api/traces", service=service, start=s_us, end=e_us, limit=20)]))
    out.append(("traces", "search service+operation, limit 20", [u("/api/traces", service=service, operation=operation, start=s_us, end=e_us, limit=20)]))
    out.append(("traces", "search with status filter (service, limit 100)", [u("/api/traces", service=service, start=s_us, end=e_us, limit=100)]))
    out.append(
        ("traces", "search minDuration=100ms, limit 20", [u("/api/traces", service=service, minDuration="100ms", start=s_us, end=e_us, limit=20)])
    )
    out.append(("trace", "/api/traces/<id>", [u(f"/api/traces/{t}") for t, _, _ in traces]))

    def trace_logs(t, a_ns, b_ns):
        return u("/loki/api/v1/query_range", query=f'{{service_name=~".+"}} | trace_id="{t}"', start=a_ns, end=b_ns, limit=1000)

    # the trace page: the trace's span +-1 min; the same over the whole hour for comparison
    out.append(("trace", "logs of the trace (its span +-1 min)", [trace_logs(t, a - 60 * 10**9, b + 60 * 10**9) for t, a, b in traces]))
    out.append(("trace*", "logs of the trace (whole hour)", [trace_logs(t, s_ns, e_ns) for t, _, _ in traces]))
    for page, lq in (("logs", '{service_name=~".+"}'), ("logs*", f'{{service_name="{service}"}}')):
        out.append((page, f"{lq} limit 200", [u("/loki/api/v1/query_range", query=lq, start=s_ns, end=e_ns, limit=200, direction="backward")]))
        out.append(
            (
                page,
                f"{lq} volume by level",
                [u("/loki/api/v1/query_range", query=f"sum by (detected_level) (count_over_time({lq} [{step}s]))", start=s_ns, end=e_ns, step=step)],
            )
        )
    out.append(
        (
            "logs",
            'line filter |= "failed", limit 200',
            [u("/loki/api/v1/query_range", query='{service_name=~".+"} |= "failed"', start=s_ns, end=e_ns, limit=200, direction="backward")],
        )
    )
    out.append(("logs", "labels", [u("/loki/api/v1/labels", start=s_ns, end=e_ns)]))
    out.append(("metrics", "label/__name__/values", [u("/api/v1/label/__name__/values", start=f"{start:.0f}", end=f"{end:.0f}")]))
    out.append(("metrics", "metadata", [u("/api/v1/metadata")]))
    out.append(("metrics", f"series {CALLS}", [u("/api/v1/series", **{"match[]": CALLS, "start": f"{start:.0f}", "end": f"{end:.0f}"})]))
    out.append(("metrics", f"query_range rate({CALLS})", [prom_range(f"rate({CALLS}[{R}])")]))
    out.append(
        ("metrics", "query_range p95 of duration buckets", [prom_range(f"histogram_quantile(0.95, sum by (le) (rate({BUCKET}[{R}])))")])
    )
    out.append(("metrics", f"query_exemplars {BUCKET}", [u("/api/v1/query_exemplars", query=BUCKET, start=f"{start:.0f}", end=f"{end:.0f}")]))
    out.append(("collector", "/api/ferrotel/collector", [u("/api/ferrotel/collector")]))
    out.append(("ui", "/ui/ (index.html)", [u("/ui/")]))
    return out


def curl_time(url: str) -> tuple[int, float, int]:
    """(HTTP status, time_total in ms, response bytes) of one GET by curl."""
    out = subprocess.run(
        ["taskset", "-c", "1", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}", url],
        capture_output=True, text=True, timeout=120,
    ).stdout.split()  # fmt: skip
    return int(out[0]), float(out[1]) * 1000, int(out[2])


def pct(v: list[float], p: float) -> float:
    s = sorted(v)
    return s[min(len(s) - 1, max(0, int(round(p * len(s) + 0.5)) - 1))]


def pages(binary: str, work: Path, spans: int, repeats: int, python: str) -> dict:
    data = work / "pages-data"
    shutil.rmtree(data, ignore_errors=True)
    p, ports, _ = start(binary, data, work / "pages.log")
    base = f"http://127.0.0.1:{ports['ui']}"
    try:
        wait_for("the binary to serve", lambda: status_of(base + "/api/services") == 200, 60)
        t0 = time.monotonic()
        load = subprocess.run(
            ["taskset", "-c", "1", python, str(HERE / "ui_load.py"), "--endpoint", f"127.0.0.1:{ports['http']}", "--spans", str(spans)],
            capture_output=True, text=True,
        )  # fmt: skip
        if load.returncode != 0:
            raise SystemExit(f"ui_load.py failed:\n{load.stdout}\n{load.stderr}")
        loaded = json.loads(load.stdout.strip().splitlines()[-1])

        def sent():
            c = get_json(base + "/api/ferrotel/collector")
            n = sum(m["value"] for m in c["metrics"] if m["name"] == "otelcol_exporter_sent_spans")
            return n if n >= spans else None

        wait_for(f"{spans} spans sent to the store", sent, 600)
        ingest_s = time.monotonic() - t0

        def derived():
            r = get_json(base + "/api/v1/query?" + urllib.parse.urlencode({"query": f"sum({CALLS})"}))["data"]["result"]
            n = float(r[0]["value"][1]) if r else 0
            return n if n >= spans else None

        wait_for("the derived RED metrics to count every span", derived, 120)

        def rates():
            q = red_queries(["service_name"], [], "3600s")["rate"]
            r = get_json(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))["data"]["result"]
            return len(r) >= 10

        # a rate needs two samples of each series: one more flush of the derived metrics
        wait_for("a request rate for every service", rates, 120)
        # ids of real traces of the service the pages look at, for the by-id requests
        found = get_json(base + "/api/traces?" + urllib.parse.urlencode({"service": "frontend", "limit": repeats}))["data"]
        traces = []
        for t in found:
            starts = [sp["startTime"] for sp in t["spans"]]
            ends = [sp["startTime"] + sp["duration"] for sp in t["spans"]]
            traces.append((t["traceID"], min(starts) * 1000, max(ends) * 1000))
        ops = get_json(base + "/api/services/frontend/operations")["data"]
        operation = sorted(o["name"] if isinstance(o, dict) else o for o in ops)[0]
        disk = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
        results = []
        reqs = page_requests(base, "frontend", operation, traces)
        for page, name, urls in reqs:
            curl_time(urls[0])  # one warm-up, as a page's second visit
            times, statuses, sizes = [], set(), []
            for i in range(repeats):
                st, ms, size = curl_time(urls[i % len(urls)])
                statuses.add(st)
                times.append(ms)
                sizes.append(size)
            results.append(
                {
                    "page": page,
                    "request": name,
                    "url": urls[0].removeprefix(base),
                    "status": sorted(statuses),
                    "median_ms": round(statistics.median(times), 2),
                    "p95_ms": round(pct(times, 0.95), 2),
                    "max_ms": round(max(times), 2),
                    "bytes": int(statistics.median(sizes)),
                }
            )
            print(f"{page:10} {name:45} {results[-1]['median_ms']:8.1f} {results[-1]['p95_ms']:8.1f}  {sorted(statuses)}", file=sys.stderr, flush=True)
        rss = None
        for line in Path(f"/proc/{p.pid}/status").read_text().splitlines() if p.poll() is None else []:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
        # p is taskset, which execs the binary: same pid
        return {"spans": spans, "loaded": loaded, "ingest_seconds": round(ingest_s, 1), "disk_bytes": disk, "rss_mib": rss, "requests": results}
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--cold-runs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    res = {"cold_start": cold_start(args.bin, work, args.cold_runs)}
    c = res["cold_start"]
    print(f"cold start: /ui/ median {c['ui_ms']['median']:.1f} ms max {c['ui_ms']['max']:.1f} ms; "
          f"/api/services median {c['api_services_ms']['median']:.1f} ms max {c['api_services_ms']['max']:.1f} ms", file=sys.stderr, flush=True)  # fmt: skip
    res["pages"] = pages(args.bin, work, args.spans, args.repeats, args.python)
    (out / "results.json").write_text(json.dumps(res, indent=2))
    lines = [
        f"Cold start ({c['runs']} runs, fresh data directory): first 200 on /ui/ median {c['ui_ms']['median']:.0f} ms, "
        f"max {c['ui_ms']['max']:.0f} ms; on /api/services median {c['api_services_ms']['median']:.0f} ms, max {c['api_services_ms']['max']:.0f} ms.",
        "",
        f"{res['pages']['spans']:,} spans and {res['pages']['loaded']['logs']:,} log lines stored "
        f"({res['pages']['disk_bytes'] / 2**20:.0f} MiB on disk, ingest {res['pages']['ingest_seconds']} s, RSS {res['pages']['rss_mib']} MiB); "
        f"{args.repeats} runs per request, curl time_total on loopback:",
        "",
        "| page | request | median ms | p95 ms | max ms | bytes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in res["pages"]["requests"]:
        flag = "" if r["status"] == [200] else f" (HTTP {r['status']})"
        lines.append(f"| {r['page']} | {r['request']}{flag} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['bytes']:,} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
