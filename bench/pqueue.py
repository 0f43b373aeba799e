#!/usr/bin/env python3
"""Persistent sending queue cost: ferrotel with the in-memory sending queue and with
`sending_queue.storage: file_storage` side by side in one run, at a fixed span rate.

Driven by bench/pqueue.sh; see docs/performance.md. Reuses bench.py's processes: ferrotel
pinned to core 0, the load generator and counting sink on core 1, 127.0.0.1 only. The two
modes alternate run by run so that drift of a shared machine hits both alike.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import time

import bench
from bench import Setup, cpu_seconds, http_json, log

PIPELINE = """receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:{grpc}}}
      http: {{endpoint: 127.0.0.1:{http}}}
processors:
  batch: {batch}
{extensions}exporters:
  otlp:
    endpoint: 127.0.0.1:{sink}
    compression: gzip
    tls: {{insecure: true}}
    sending_queue: {queue}
service:
{service_ext}  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [otlp]}}
"""


def write_config(out, mode, qdir, batch):
    persistent = mode == "persistent"
    text = PIPELINE.format(
        grpc=bench.COLL_GRPC, http=bench.COLL_HTTP, sink=bench.SINK_GRPC, batch=batch,
        extensions=(f"extensions:\n  file_storage/q: {{directory: {qdir}}}\n" if persistent else ""),
        queue=("{storage: file_storage/q}" if persistent else "{}"),
        service_ext=("  extensions: [file_storage/q]\n" if persistent else ""),
    )
    path = os.path.join(out, f"ferrotel-pqueue-{mode}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def one_run(args, mode, i):
    qdir = os.path.join(args.out, f"queue-{i}")
    shutil.rmtree(qdir, ignore_errors=True)
    os.makedirs(qdir)
    args.ferrotel_config = write_config(args.out, mode, qdir, args.batch)
    tag = f"pq.{mode}.{i}"
    s = Setup(args, "ferrotel", tag)
    try:
        total = args.warmup + args.window + 1
        g = s.gen("traces", "grpc", "none", args.rate, total, 2, 8)
        time.sleep(args.warmup)
        t0, s0, c0 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        time.sleep(args.window)
        t1, s1, c1 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        report = s.finish_gen(g, total)
        final = s.drain()
        lost = s.lost(report)
        items = s1["items"] - s0["items"]
        return {
            "mode": mode, "run": i, "items_per_s": items / (t1 - t0),
            "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
            "cpu_us_per_item": 1e6 * (c1 - c0) / items if items else None,
            "acknowledged": report["acknowledged"], "refused": report["refused"],
            "delivered": final["distinct"], "duplicates": final["duplicates"],
            "lost_acked": lost["lost_acked"], "p99_ms": report["latency_ms_p99"],
        }
    finally:
        s.close()
        shutil.rmtree(qdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--ferrotel", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rate", type=int, default=50000, help="spans/s offered")
    ap.add_argument("--runs", type=int, default=3, help="runs per mode")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--window", type=float, default=20)
    ap.add_argument("--batch", default="{}", help="the batch processor's settings (YAML flow map)")
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--sut-core", type=int, default=0)
    ap.add_argument("--load-core", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    bench.NICE = args.nice
    signal.signal(signal.SIGTERM, lambda *_: (bench.cleanup(), sys.exit(143)))
    results = []
    try:
        for i in range(args.runs):
            for mode in ("memory", "persistent"):
                log(f"pqueue {mode} run {i + 1}/{args.runs} at {args.rate} spans/s")
                try:
                    r = one_run(args, mode, i)
                except Exception as e:  # noqa: BLE001 - one failed run must not stop the others
                    r = {"mode": mode, "run": i, "error": str(e)}
                finally:
                    bench.cleanup()
                results.append(r)
                log(json.dumps(r))
                with open(os.path.join(args.out, "pqueue.json"), "w") as f:
                    json.dump(results, f, indent=1)
    finally:
        bench.cleanup()

    def med(mode, key):
        vals = [r[key] for r in results if r["mode"] == mode and r.get(key) is not None]
        return statistics.median(vals) if vals else None

    lines = [f"### Persistent sending queue at {args.rate} spans/s (traces, gRPC in, batch, OTLP/gRPC out)", "",
             "| queue | items/s (median) | CPU % (median) | CPU µs/item (median) | lost acked | runs |",
             "|---|---|---|---|---|---|"]
    for mode in ("memory", "persistent"):
        ok = [r for r in results if r["mode"] == mode and not r.get("error")]
        ips, cpu, per = med(mode, "items_per_s"), med(mode, "cpu_pct"), med(mode, "cpu_us_per_item")
        lost = sum(r.get("lost_acked") or 0 for r in ok)
        lines.append(f"| {mode} | {ips or 0:.0f} | {cpu or 0:.1f} | {per or 0:.3f} | {lost} | {len(ok)} |")
    a, b = med("memory", "cpu_us_per_item"), med("persistent", "cpu_us_per_item")
    if a and b:
        lines += ["", f"CPU per item, persistent / memory: {b / a:.2f} ({100 * (b / a - 1):+.0f} %; goal at most +25 %)"]
    md = "\n".join(lines)
    with open(os.path.join(args.out, "pqueue.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
