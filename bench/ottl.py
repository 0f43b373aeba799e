#!/usr/bin/env python3
"""OTTL cost (issue 10): the same logs pipeline with and without a `transform` processor
running five typical statements, in one run, ferrotel pinned to one core; and
`tail_sampling` with four policies at a fixed span rate, its memory and its losses.

Driven by bench/ottl.sh; see docs/performance.md. Reuses bench.py's processes: ferrotel on
core 0, the load generator and counting sink on core 1, 127.0.0.1 only. Modes alternate run
by run so that drift of a shared machine hits both alike.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time

import bench
from bench import MIB, Setup, cpu_seconds, http_json, log

LOGS = """receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:{grpc}}}
      http: {{endpoint: 127.0.0.1:{http}}}
processors:
  batch: {{}}
{transform}exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls: {{insecure: true}}
service:
  pipelines:
    logs: {{receivers: [otlp], processors: [{processors}], exporters: [otlp]}}
"""

# The five statements: set an attribute, delete_key, replace_pattern on the body,
# truncate_all, and a `where` condition on severity.
TRANSFORM = """  transform:
    error_mode: ignore
    log_statements:
      - context: log
        statements:
          - set(attributes["deployment.environment"], "production")
          - delete_key(attributes, "user_agent.original")
          - replace_pattern(body, "id=[0-9]+", "id=***")
          - truncate_all(attributes, 32)
          - set(severity_text, "LOW") where severity_number < SEVERITY_NUMBER_WARN
"""

TAIL = """receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:{grpc}}}
      http: {{endpoint: 127.0.0.1:{http}}}
processors:
  tail_sampling:
    decision_wait: 2s
    num_traces: {num_traces}
    policies:
      - {{name: errors, type: status_code, status_code: {{status_codes: [ERROR]}}}}
      - {{name: slow, type: latency, latency: {{threshold_ms: 500}}}}
      - {{name: checkout, type: string_attribute, string_attribute: {{key: http.route, values: ["/api/checkout"]}}}}
      - {{name: some, type: probabilistic, probabilistic: {{sampling_percentage: 10}}}}
exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    tls: {{insecure: true}}
service:
  telemetry:
    metrics:
      level: detailed
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {metrics}}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], processors: [tail_sampling], exporters: [otlp]}}
"""


def write(out, name, text):
    path = os.path.join(out, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def logs_run(args, mode, i):
    with_t = mode == "transform"
    args.ferrotel_config = write(args.out, f"ferrotel-ottl-{mode}.yaml", LOGS.format(
        grpc=bench.COLL_GRPC, http=bench.COLL_HTTP, sink=bench.SINK_GRPC,
        transform=TRANSFORM if with_t else "",
        processors="transform, batch" if with_t else "batch"))
    s = Setup(args, "ferrotel", f"ottl.{mode}.{i}")
    try:
        total = args.warmup + args.window + 2
        # Rate 0: as fast as ferrotel takes them (throughput, not a fixed rate).
        g = s.gen("logs", "grpc", "none", 0, total, 2, 8)
        time.sleep(args.warmup)
        t0, s0, c0 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        time.sleep(args.window)
        t1, s1, c1 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        report = s.finish_gen(g, total)
        final = s.drain()
        lost = s.lost(report)
        items = s1["items"] - s0["items"]
        return {"mode": mode, "run": i, "items_per_s": items / (t1 - t0),
                "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
                "cpu_us_per_item": 1e6 * (c1 - c0) / items if items else None,
                "acknowledged": report["acknowledged"], "delivered": final["distinct"],
                "lost_acked": lost["lost_acked"]}
    finally:
        s.close()


def scrape_sum(port, name):
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " {"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def tail_run(args, i):
    metrics_port = 18899
    args.ferrotel_config = write(args.out, "ferrotel-tail.yaml", TAIL.format(
        grpc=bench.COLL_GRPC, http=bench.COLL_HTTP, sink=bench.SINK_GRPC,
        num_traces=args.num_traces, metrics=metrics_port))
    s = Setup(args, "ferrotel", f"tail.{i}")
    try:
        total = args.warmup + args.window + 2
        g = s.gen("traces", "grpc", "none", args.rate, total, 2, 8)
        time.sleep(args.warmup)
        s.rss.reset_peak()
        t0, c0 = time.time(), cpu_seconds(s.proc.pid)
        time.sleep(args.window)
        t1, c1 = time.time(), cpu_seconds(s.proc.pid)
        report = s.finish_gen(g, total)
        time.sleep(4)  # decision_wait + a tick: every trace decided
        final = s.drain()
        m = lambda n: scrape_sum(metrics_port, n)  # noqa: E731
        incoming = m("otelcol_processor_incoming_items")
        outgoing = m("otelcol_processor_outgoing_items")
        early = m("otelcol_processor_tail_sampling_sampling_trace_dropped_too_early")
        sampled = m("otelcol_processor_tail_sampling_global_count_traces_sampled")
        return {"run": i, "spans_per_s": report["acknowledged"] / total,
                "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "peak_rss_mib": s.rss.peak / MIB,
                "acknowledged": report["acknowledged"], "incoming": incoming,
                "outgoing": outgoing, "delivered": final["distinct"],
                "dropped_too_early": early, "traces_sampled_metric": sampled}
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--ferrotel", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--window", type=float, default=15)
    ap.add_argument("--rate", type=int, default=50000, help="tail_sampling: spans/s offered")
    ap.add_argument("--num-traces", type=int, default=50000)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--sut-core", type=int, default=0)
    ap.add_argument("--load-core", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    bench.NICE = args.nice
    signal.signal(signal.SIGTERM, lambda *_: (bench.cleanup(), sys.exit(143)))
    results, tails = [], []
    try:
        for i in range(args.runs):
            for mode in ("passthrough", "transform"):
                log(f"ottl logs {mode} run {i + 1}/{args.runs}")
                try:
                    r = logs_run(args, mode, i)
                except Exception as e:  # noqa: BLE001 - one failed run must not stop the others
                    r = {"mode": mode, "run": i, "error": str(e)}
                finally:
                    bench.cleanup()
                results.append(r)
                log(json.dumps(r))
        for i in range(args.runs):
            log(f"tail_sampling run {i + 1}/{args.runs} at {args.rate} spans/s")
            try:
                r = tail_run(args, i)
            except Exception as e:  # noqa: BLE001
                r = {"run": i, "error": str(e)}
            finally:
                bench.cleanup()
            tails.append(r)
            log(json.dumps(r))
        with open(os.path.join(args.out, "ottl.json"), "w") as f:
            json.dump({"logs": results, "tail_sampling": tails}, f, indent=1)
    finally:
        bench.cleanup()

    def med(rows, key, mode=None):
        vals = [r[key] for r in rows if (mode is None or r.get("mode") == mode) and r.get(key) is not None]
        return statistics.median(vals) if vals else None

    lines = ["### transform with five statements vs pass-through (logs, gRPC in, batch, OTLP/gRPC out, one core)", "",
             "| pipeline | logs/s (median) | CPU % (median) | CPU µs/record (median) | lost acked | runs |",
             "|---|---|---|---|---|---|"]
    for mode in ("passthrough", "transform"):
        ok = [r for r in results if r.get("mode") == mode and not r.get("error")]
        lines.append(f"| {mode} | {med(ok, 'items_per_s') or 0:.0f} | {med(ok, 'cpu_pct') or 0:.1f} | "
                     f"{med(ok, 'cpu_us_per_item') or 0:.3f} | {sum(r.get('lost_acked') or 0 for r in ok)} | {len(ok)} |")
    a, b = med(results, "items_per_s", "passthrough"), med(results, "items_per_s", "transform")
    if a and b:
        lines += ["", f"Throughput with transform / pass-through: {b / a:.2f} (goal at least 0.50)"]
    lines += ["", f"### tail_sampling, 4 policies, {args.rate} spans/s offered, num_traces {args.num_traces}", "",
              "| run | spans/s acked | CPU % | peak RSS MiB | incoming | outgoing | dropped too early | delivered |",
              "|---|---|---|---|---|---|---|---|"]
    for r in tails:
        if r.get("error"):
            lines.append(f"| {r['run']} | error: {r['error']} |||||||")
            continue
        lines.append(f"| {r['run']} | {r['spans_per_s']:.0f} | {r['cpu_pct']:.1f} | {r['peak_rss_mib']:.0f} | "
                     f"{r['incoming']:.0f} | {r['outgoing']:.0f} | {r['dropped_too_early']:.0f} | {r['delivered']} |")
    md = "\n".join(lines)
    with open(os.path.join(args.out, "ottl.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
