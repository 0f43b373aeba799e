#!/usr/bin/env python3
"""Metrics-path benchmarks of issue 7: scrape -> remote write, and spanmetrics.

Driven by bench/scrape.sh (which installs and builds what is needed); see docs/performance.md.
Everything runs on 127.0.0.1; the collector under test is pinned to core 0 (`taskset -c 0`),
the instruments (scrape target, remote-write sink, generator, OTLP sink) to core 1.

Part `remote-write`: a `ferrotel-loadgen prom-target` serving --series samples (text format,
gzip) is scraped every --interval and the samples are remote-written (1.0, snappy protobuf) to
`ferrotel-loadgen rw-sink`, by each of:
- ferrotel: `prometheus` receiver -> `prometheusremotewrite` exporter;
- Prometheus in agent mode (`prometheus --agent`, Debian's package);
- vmagent (Debian's victoria-metrics package).
After the first samples arrive, each runs for --duration; measured over that window: the
collector's CPU-seconds (/proc utime+stime, all threads) per 1M samples delivered, and its peak
RSS (VmHWM) at the end.

Part `spanmetrics`: `ferrotel-loadgen gen traces` at --span-rate spans/s into ferrotel, once
with a pass-through traces pipeline (otlp -> otlp exporter -> sink) and once with the same
plus the `spanmetrics` connector feeding a metrics pipeline to the sink; CPU per span of each
and the ratio.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shared /proc readers and process handling)
from bench import MIB, Proc, cleanup, peak_rss, sink_stats as stats, cpu_seconds, log  # noqa: E402

TARGET_PORT = 19100
RW_PORT = 19201
COLLECTOR_HTTP = 19090  # Prometheus' and vmagent's own web port (must be loopback)
SELF_METRICS = 18888
OTLP_GRPC, OTLP_HTTP = 4317, 4318
SINK_GRPC, SINK_HTTP = 14317, 14318






# ---------------------------------------------------------------- configs


def scrape_job(interval):
    return (f"  - job_name: bench\n"
            f"    scrape_interval: {interval}\n"
            f"    scrape_timeout: {interval}\n"
            f"    static_configs:\n"
            f"      - targets: ['127.0.0.1:{TARGET_PORT}']\n")


def rw_url():
    return f"http://127.0.0.1:{RW_PORT}/api/v1/write"


def ferrotel_rw_config(interval):
    job = "\n".join("      " + line for line in scrape_job(interval).splitlines())
    return f"""receivers:
  prometheus:
    config:
      scrape_configs:
{job}
exporters:
  prometheusremotewrite:
    endpoint: {rw_url()}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{SELF_METRICS}
  pipelines:
    metrics:
      receivers: [prometheus]
      exporters: [prometheusremotewrite]
"""


def prometheus_config(interval, remote_write=True):
    """Prometheus' config; vmagent reads the same without `remote_write` (a flag there)."""
    rw = f"remote_write:\n  - url: {rw_url()}\n" if remote_write else ""
    return (f"global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n"
            f"scrape_configs:\n{scrape_job(interval)}{rw}")


def spanmetrics_config(with_spanmetrics):
    head = f"""receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{OTLP_GRPC}
exporters:
  otlp:
    endpoint: 127.0.0.1:{SINK_GRPC}
    tls:
      insecure: true
"""
    if not with_spanmetrics:
        return head + f"""service:
  telemetry:
    metrics:
      address: 127.0.0.1:{SELF_METRICS}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
"""
    return head + f"""connectors:
  spanmetrics:
    metrics_flush_interval: 15s
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{SELF_METRICS}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp, spanmetrics]
    metrics:
      receivers: [spanmetrics]
      exporters: [otlp]
"""


# ---------------------------------------------------------------- runs


def run_remote_write(args, coll, rep):
    tag = f"rw.{coll}.{rep}"
    bench.wait_ports_free([TARGET_PORT, RW_PORT, COLLECTOR_HTTP, SELF_METRICS])
    target = Proc(f"{tag}.target", [args.loadgen, "prom-target", "--listen", f"127.0.0.1:{TARGET_PORT}",
                                    "--series", str(args.series)],
                  args.load_core, args.out, stdout_file=os.path.join(args.out, f"{tag}.target.json"))
    sink = Proc(f"{tag}.sink", [args.loadgen, "rw-sink", "--listen", f"127.0.0.1:{RW_PORT}"],
                args.load_core, args.out, stdout_file=os.path.join(args.out, f"{tag}.sink.json"))
    proc = None
    data = tempfile.mkdtemp(prefix=f"{tag}.", dir=args.out)
    try:
        bench.wait_ports([TARGET_PORT, RW_PORT], sink)
        if coll == "ferrotel":
            cfg = os.path.join(args.out, "ferrotel-rw.yaml")
            with open(cfg, "w") as f:
                f.write(ferrotel_rw_config(args.interval))
            cmd = [args.ferrotel, "--config", cfg]
        else:
            cfg = os.path.join(args.out, f"{coll}-rw.yaml")
            with open(cfg, "w") as f:
                f.write(prometheus_config(args.interval, remote_write=coll == "prometheus-agent"))
            if coll == "prometheus-agent":
                cmd = [args.prometheus, "--enable-feature=agent", f"--config.file={cfg}", f"--storage.agent.path={data}",
                       f"--web.listen-address=127.0.0.1:{COLLECTOR_HTTP}"]
            else:
                cmd = [args.vmagent, f"-promscrape.config={cfg}", f"-remoteWrite.url={rw_url()}",
                       f"-remoteWrite.tmpDataPath={data}", f"-httpListenAddr=127.0.0.1:{COLLECTOR_HTTP}"]
        proc = Proc(f"{tag}.{coll}", cmd, args.sut_core, args.out)
        # The window starts at the first poll that sees samples at the sink.
        deadline = time.time() + 60 + 2 * bench_seconds(args.interval)
        first = None
        while time.time() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{coll} exited (see {proc.log_path})")
            s = stats(RW_PORT)
            if s["items"] > 0:
                first = (time.time(), s["items"], cpu_seconds(proc.pid))
                break
            time.sleep(0.2)
        if first is None:
            raise RuntimeError(f"no samples from {coll} (see {proc.log_path})")
        time.sleep(args.duration)
        # End once the scrape in flight has been written: the sink's count holds for 2 s (the
        # window then covers whole scrapes, and the CPU they cost).
        s, still, settle_end = stats(RW_PORT), time.time(), time.time() + 15
        while time.time() < settle_end:
            time.sleep(0.25)
            n = stats(RW_PORT)
            if n["items"] != s["items"]:
                s, still = n, time.time()
            elif time.time() - still >= 2:
                break
        cpu = cpu_seconds(proc.pid)
        rss = peak_rss(proc.pid)
        end = time.time()
        if not proc.alive() or cpu is None:
            raise RuntimeError(f"{coll} exited (see {proc.log_path})")
        samples = s["items"] - first[1]
        w_cpu = cpu - first[2]
        t = stats(TARGET_PORT)
        return {
            "part": "remote-write", "collector": coll, "run": rep,
            "series": t["samples_per_scrape"], "scrapes": t["scrapes"],
            "window_s": end - first[0], "window_samples": samples, "window_cpu_s": w_cpu,
            "cpu_s_per_1m_samples": 1e6 * w_cpu / samples if samples else None,
            "samples_per_s": samples / (end - first[0]),
            "distinct_series": s["distinct_series"], "bad_requests": s["bad_requests"],
            "peak_rss_mib": rss / MIB if rss else None,
        }
    finally:
        if proc is not None:
            proc.stop()
        sink.stop()
        target.stop()


def bench_seconds(d):
    d = d.strip()
    for unit, mult in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if d.endswith(unit) and d[: -len(unit)].replace(".", "").isdigit():
            return float(d[: -len(unit)]) * mult
    return float(d)


def run_spanmetrics(args, variant, rep):
    tag = f"spanmetrics.{variant}.{rep}"
    bench.wait_ports_free([OTLP_GRPC, SINK_GRPC, SINK_HTTP, SELF_METRICS])
    sink = Proc(f"{tag}.sink", [args.loadgen, "sink", "--grpc", f"127.0.0.1:{SINK_GRPC}",
                                "--http", f"127.0.0.1:{SINK_HTTP}"],
                args.load_core, args.out, stdout_file=os.path.join(args.out, f"{tag}.sink.json"))
    proc = gen = None
    try:
        bench.wait_ports([SINK_GRPC, SINK_HTTP], sink)
        cfg = os.path.join(args.out, f"ferrotel-{variant}.yaml")
        with open(cfg, "w") as f:
            f.write(spanmetrics_config(variant == "spanmetrics"))
        proc = Proc(f"{tag}.ferrotel", [args.ferrotel, "--config", cfg], args.sut_core, args.out)
        bench.wait_ports([OTLP_GRPC], proc)
        gen_out = os.path.join(args.out, f"{tag}.gen.json")
        gen = Proc(f"{tag}.gen", [args.loadgen, "gen", "traces", "--endpoint", f"127.0.0.1:{OTLP_GRPC}",
                                  "--rate", str(args.span_rate), "--connections", "2", "--in-flight", "4",
                                  "--duration", f"{args.warmup + args.span_window:.0f}s"],
                   args.load_core, args.out, stdout_file=gen_out)
        time.sleep(args.warmup)
        c0, s0, t0 = cpu_seconds(proc.pid), stats(SINK_HTTP), time.time()
        time.sleep(args.span_window)
        c1, s1, t1 = cpu_seconds(proc.pid), stats(SINK_HTTP), time.time()
        rss = peak_rss(proc.pid)
        gen.wait(timeout=60)
        with open(gen_out) as f:
            g = json.loads(f.read().strip().splitlines()[-1])
        spans = g.get("acknowledged", 0)
        cpu = c1 - c0
        # Spans accepted in the window at the configured rate: the generator's own count over
        # its whole run would include the warm-up.
        window_spans = args.span_rate * (t1 - t0)
        return {
            "part": "spanmetrics", "collector": variant, "run": rep, "window_s": t1 - t0,
            "window_cpu_s": cpu, "window_spans": window_spans,
            "cpu_us_per_span": 1e6 * cpu / window_spans if window_spans else None,
            "generator_report": {k: g.get(k) for k in ("sent", "acknowledged", "refused") if k in g},
            "generator_spans": spans,
            "sink_items_in_window": s1.get("items", 0) - s0.get("items", 0),
            "peak_rss_mib": rss / MIB if rss else None,
        }
    finally:
        for p in (gen, proc):
            if p is not None:
                p.stop()
        sink.stop()


# ---------------------------------------------------------------- report


def median_by(rows, key):
    ok = [r for r in rows if not r.get("error") and r.get(key)]
    if not ok:
        return rows[-1] if rows else None
    ok.sort(key=lambda r: r[key])
    med = dict(ok[(len(ok) - 1) // 2])
    med["runs"] = len(ok)
    med["spread"] = (ok[0][key], ok[-1][key])
    med["median"] = statistics.median(r[key] for r in ok)
    return med


def markdown(results, args):
    out = []
    rw = [r for r in results if r["part"] == "remote-write"]
    if rw:
        out.append(f"### Scrape -> remote write ({args.series:,} series every {args.interval}, "
                   f"collector pinned to one core, {args.duration:.0f} s window)\n")
        out.append("| collector | CPU-s per 1M samples | samples/s | peak RSS MiB | distinct series | "
                   "bad requests | runs (min-max CPU-s/1M) |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        meds = {}
        for coll in args.collectors.split(","):
            rows = [r for r in rw if r["collector"] == coll]
            m = median_by(rows, "cpu_s_per_1m_samples")
            if not m or m.get("error"):
                out.append(f"| {coll} | error: {m.get('error') if m else 'no run'} | | | | | |")
                continue
            meds[coll] = m
            out.append(f"| {coll} | {m['cpu_s_per_1m_samples']:.2f} | {m['samples_per_s']:,.0f} | "
                       f"{m['peak_rss_mib']:.1f} | {m['distinct_series']:,} | {m['bad_requests']} | "
                       f"{m['runs']} ({m['spread'][0]:.2f}-{m['spread'][1]:.2f}) |")
        f = meds.get("ferrotel")
        if f:
            out.append("")
            for peer in ("vmagent", "prometheus-agent"):
                p = meds.get(peer)
                if p:
                    out.append(f"- ferrotel CPU per sample vs {peer}: "
                               f"{f['cpu_s_per_1m_samples'] / p['cpu_s_per_1m_samples']:.2f}x; "
                               f"RSS {f['peak_rss_mib']:.1f} vs {p['peak_rss_mib']:.1f} MiB")
        out.append("")
    sm = [r for r in results if r["part"] == "spanmetrics"]
    if sm:
        out.append(f"### spanmetrics at {args.span_rate:,} spans/s (ferrotel pinned to one core)\n")
        out.append("| pipeline | CPU us per span | peak RSS MiB | runs (min-max) |")
        out.append("|---|---:|---:|---|")
        meds = {}
        for v in ("passthrough", "spanmetrics"):
            m = median_by([r for r in sm if r["collector"] == v], "cpu_us_per_span")
            if not m or m.get("error"):
                out.append(f"| {v} | error: {m.get('error') if m else 'no run'} | | |")
                continue
            meds[v] = m
            out.append(f"| {v} | {m['cpu_us_per_span']:.3f} | {m['peak_rss_mib']:.1f} | "
                       f"{m['runs']} ({m['spread'][0]:.3f}-{m['spread'][1]:.3f}) |")
        if len(meds) == 2:
            extra = meds["spanmetrics"]["cpu_us_per_span"] / meds["passthrough"]["cpu_us_per_span"] - 1
            out.append(f"\n- spanmetrics CPU per span over pass-through: {100 * extra:+.1f} % (goal <= 25 %)")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--ferrotel")
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--vmagent", default="vmagent")
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", default="remote-write,spanmetrics")
    ap.add_argument("--collectors", default="vmagent,prometheus-agent,ferrotel")
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--span-rate", type=int, default=100_000)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--span-window", type=float, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--sut-core", type=int, default=0)
    ap.add_argument("--load-core", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    bench.NICE = args.nice
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))
    parts = [p for p in args.parts.split(",") if p]
    results = []
    results_path = os.path.join(args.out, "results.json")
    try:
        for rep in range(1, args.runs + 1):
            if "remote-write" in parts:
                for coll in [c for c in args.collectors.split(",") if c]:
                    log(f"remote write, {coll}, run {rep}/{args.runs}")
                    try:
                        r = run_remote_write(args, coll, rep)
                    except Exception as e:  # noqa: BLE001 - reported in the table
                        log(f"  failed: {e}")
                        r = {"part": "remote-write", "collector": coll, "run": rep, "error": str(e)}
                    log(f"  {json.dumps(r)}")
                    results.append(r)
            if "spanmetrics" in parts:
                for variant in ("passthrough", "spanmetrics"):
                    log(f"spanmetrics, {variant}, run {rep}/{args.runs}")
                    try:
                        r = run_spanmetrics(args, variant, rep)
                    except Exception as e:  # noqa: BLE001 - reported in the table
                        log(f"  failed: {e}")
                        r = {"part": "spanmetrics", "collector": variant, "run": rep, "error": str(e)}
                    log(f"  {json.dumps(r)}")
                    results.append(r)
            with open(results_path, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        cleanup()
    md = markdown(results, args)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
