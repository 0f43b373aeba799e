#!/usr/bin/env python3
"""Filelog -> Loki benchmark: ferrotel, the Go collector and the floor over the same files.

Driven by bench/filelog.sh (which installs and builds what is needed); see docs/performance.md.
For each message size, a /var/log/pods-shaped tree of containerd lines is written once
(`ferrotel-loadgen gen-pod-logs`), then each collector reads it from the beginning with fresh
state, pinned to core 0 (`taskset -c 0`), while the counting sink runs on core 1:

- ferrotel runs the seed config seed-agent-filelog.yaml with only its include path and its
  endpoints changed (loki -> the Loki sink; the traces exporter -> an unused loopback port);
- the Go collector (otelcol-contrib, which has no loki exporter nor resource processor) runs
  the same filelog receiver and operators into `otlphttp` -> the OTLP sink;
- the floor (`ferrotel-loadgen loki-floor`) reads, splits, builds the same Loki push with
  nothing parsed (the Go exporter's line for the seed, its fields cut at the line's first three
  spaces and from the path, no time parsed), snappy, sends to the Loki sink, and exits;
- `floor_body` is the same floor writing `{"body":"<line>"}` only (less than the seed's push:
  a lower floor, reported for reference).

A run ends when the sink has counted every line of the tree (or nothing arrived for --stall
seconds). Measured: lines/s from start to the last line, CPU-seconds of the collector from
/proc (the floor reports its own getrusage), peak RSS (VmHWM). Only 127.0.0.1 is used.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (shared /proc readers and process handling)
from bench import MIB, Proc, cleanup, peak_rss, sink_stats as stats, core_busy, core_times, cpu_seconds, log  # noqa: E402

LOKI_PORT = 13100
OTLP_GRPC, OTLP_HTTP = 14317, 14318
TRACES_SINKHOLE = 14399  # the seed's traces exporter points here; nothing listens, no traffic
COLLECTOR_PORTS = [4317, 4318]  # the seed's otlp receiver (MY_POD_IP=127.0.0.1)
SEED_INCLUDE = "/var/log/pods/*/*/*.log"
SEED_LOKI = "http://loki.default.svc.cluster.local:3100/loki/api/v1/push"
SEED_TEMPO = "tempo.default.svc.cluster.local:4317"


# ---------------------------------------------------------------- /proc






# ---------------------------------------------------------------- configs


def replace_once(text, old, new, what):
    n = text.count(old)
    if n != 1:
        raise RuntimeError(f"seed config: expected {what} {old!r} once, found it {n} times")
    return text.replace(old, new)


def ferrotel_config(seed_text, pods_dir):
    """The seed config, unchanged but for the include path and the endpoints."""
    t = replace_once(seed_text, SEED_INCLUDE, f"{pods_dir}/*/*/*.log", "the include path")
    t = replace_once(t, SEED_LOKI, f"http://127.0.0.1:{LOKI_PORT}/loki/api/v1/push", "the loki endpoint")
    return replace_once(t, SEED_TEMPO, f"127.0.0.1:{TRACES_SINKHOLE}", "the traces endpoint")


def go_config(seed_text, pods_dir):
    """The seed's filelog receiver (same keys and operators) into otlphttp -> the OTLP sink.

    otelcol-contrib 0.135 has neither the loki exporter nor the resource processor; the
    resource processor only adds two attributes, so the receiver and operators, where the
    work is, are the same as ferrotel's.
    """
    import yaml  # bench/filelog.sh makes sure it can be imported

    seed = yaml.safe_load(seed_text)
    filelog = seed["receivers"]["filelog"]
    if filelog.get("include") != [SEED_INCLUDE]:
        raise RuntimeError(f"seed config: unexpected filelog include {filelog.get('include')}")
    filelog["include"] = [f"{pods_dir}/*/*/*.log"]
    cfg = {
        "receivers": {"filelog": filelog},
        # No sending queue: the receiver then waits for each export (backpressure) instead of
        # dropping batches when the queue fills ("sending queue is full": the Go filelog
        # receiver does not retry by default). No compression: the Go side pays the least for
        # its exporter, so the comparison errs in Go's favour.
        "exporters": {"otlphttp": {"endpoint": f"http://127.0.0.1:{OTLP_HTTP}", "compression": "none",
                                   "sending_queue": {"enabled": False}}},
        "service": {
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
            "pipelines": {"logs": {"receivers": ["filelog"], "exporters": ["otlphttp"]}},
        },
    }
    return yaml.safe_dump(cfg, sort_keys=False)


# ---------------------------------------------------------------- files


def pod_tree(args, message_size):
    """Writes (or reuses) the tree for one message size; returns its manifest."""
    root = os.path.join(args.work, f"pods-{message_size}B-{args.size}-{args.pods}pods")
    params = {"size": args.size, "message_size": message_size, "pods": args.pods, "seed": 1}
    params_path = os.path.join(root, "params.json")
    manifest_path = os.path.join(root, "manifest.json")
    try:
        with open(params_path) as f, open(manifest_path) as g:
            if json.load(f) == params:
                m = json.load(g)
                if all(os.path.isfile(p) for p in m["files"]):
                    log(f"reusing {m['lines']:,} lines, {m['bytes'] / MIB:,.1f} MiB in {root}")
                    return m
    except (OSError, ValueError, KeyError):
        pass
    log(f"writing {args.size} of {message_size}-byte messages under {root}")
    if os.path.isdir(root):
        import shutil

        shutil.rmtree(root)
    os.makedirs(root)
    p = Proc(f"gen-pod-logs-{message_size}", [args.loadgen, "gen-pod-logs", "--root", root, "--size",
                                              args.size, "--message-size", str(message_size),
                                              "--pods", str(args.pods), "--seed", "1"],
             args.load_core, args.out, stdout_file=os.path.join(args.out, f"manifest-{message_size}B.json"))
    if p.wait(timeout=1800) != 0:
        raise RuntimeError(f"gen-pod-logs failed (see {p.log_path})")
    with open(manifest_path) as f:
        m = json.load(f)
    with open(params_path, "w") as f:
        json.dump(params, f)
    log(f"wrote {m['lines']:,} lines, {m['bytes'] / MIB:,.1f} MiB, {m['partial_pairs']:,} P/F pairs")
    return m


def warm_cache(manifest):
    """Reads every file once so that each collector starts with the files in the page cache."""
    for path in manifest["files"]:
        with open(path, "rb", buffering=0) as f:
            while f.read(1 << 20):
                pass


# ---------------------------------------------------------------- one run


def wait_all_lines(sink_port, expected, proc, args, started):
    """Polls the sink until `expected` lines arrived (or no progress for --stall seconds).

    Returns the last counts, whether every line arrived, and two samples (time, lines at the
    sink, collector CPU-seconds): at the first poll that saw a line and at the end. Between
    them lies the steady part of the run, without the collector's start-up.
    """
    last_items, last_change = -1, time.time()
    first = None
    while True:
        s = stats(sink_port)
        now = time.time()
        cpu = cpu_seconds(proc.pid) if proc.alive() else None
        if first is None and s["items"] > 0 and cpu is not None:
            first = (now, s["items"], cpu)
        if s["items"] >= expected:
            return s, True, first, (now, s["items"], cpu)
        if s["items"] != last_items:
            last_items, last_change = s["items"], now
        limit = args.stall if s["items"] > 0 else max(args.stall, 60)
        if now - last_change > limit:
            log(f"no progress for {limit:.0f}s at {s['items']:,}/{expected:,} lines; giving up")
            return s, False, first, (now, s["items"], cpu)
        if not proc.alive():
            # The floor exits once everything was acknowledged; a collector should not exit.
            s = stats(sink_port)
            now = time.time()
            if s["items"] >= expected:
                return s, True, first, (now, s["items"], None)
            log(f"{proc.name} exited at {s['items']:,}/{expected:,} lines (see {proc.log_path})")
            return s, False, first, (now, s["items"], None)
        time.sleep(args.poll)


def run_one(args, coll, manifest, message_size, seed_text, rep):
    tag = f"filelog.{message_size}B.{coll}.{rep}"
    expected = manifest["lines"]
    floor = coll in ("floor", "floor_body")
    loki = floor or coll == "ferrotel"
    sink_port = LOKI_PORT if loki else OTLP_HTTP
    ports = [LOKI_PORT] if loki else [OTLP_GRPC, OTLP_HTTP]
    bench.wait_ports_free(ports + COLLECTOR_PORTS)
    if loki:
        sink_cmd = [args.loadgen, "loki-sink", "--listen", f"127.0.0.1:{LOKI_PORT}"]
    else:
        sink_cmd = [args.loadgen, "sink", "--grpc", f"127.0.0.1:{OTLP_GRPC}", "--http", f"127.0.0.1:{OTLP_HTTP}"]
    sink = Proc(f"{tag}.sink", sink_cmd, args.load_core, args.out,
                stdout_file=os.path.join(args.out, f"{tag}.sink.json"))
    proc = None
    try:
        bench.wait_ports(ports, sink)
        env = dict(os.environ, MY_POD_IP="127.0.0.1")
        if floor:
            cmd = [args.loadgen, "loki-floor", "--pods-dir", manifest["pods_dir"], "--endpoint",
                   f"127.0.0.1:{LOKI_PORT}", "--batch", str(args.floor_batch),
                   "--lines", "body" if coll == "floor_body" else "seed"]
            out_file = os.path.join(args.out, f"{tag}.report.json")
        else:
            cfg_path = os.path.join(args.out, f"{coll}-{message_size}B.yaml")
            with open(cfg_path, "w") as f:
                f.write(ferrotel_config(seed_text, manifest["pods_dir"]) if coll == "ferrotel"
                        else go_config(seed_text, manifest["pods_dir"]))
            cmd = [args.ferrotel if coll == "ferrotel" else args.gocol, "--config", cfg_path]
            out_file = None
        k0, l0 = core_times(), cpu_seconds(sink.pid) or 0
        started = time.time()
        proc = Proc(f"{tag}.{coll}", cmd, args.sut_core, args.out, stdout_file=out_file, env=env)
        s, complete, first, last = wait_all_lines(sink_port, expected, proc, args, started)
        wall = last[0] - started
        k1, l1 = core_times(), cpu_seconds(sink.pid) or 0
        if floor:
            rc = proc.wait(timeout=60)
            try:
                with open(out_file) as f:
                    rep_json = json.loads(f.read().strip().splitlines()[-1])
            except (OSError, ValueError, IndexError) as e:
                raise RuntimeError(f"loki-floor failed (rc={rc}, see {proc.log_path}): {e}") from e
            cpu, rss = rep_json["cpu_s"], rep_json["peak_rss_mib"] * MIB
        else:
            cpu, rss = last[2], peak_rss(proc.pid)
            if cpu is None or not proc.alive():
                raise RuntimeError(f"{coll} exited (see {proc.log_path})")
        # Late arrivals would be duplicates: give them a moment, then read the final counts.
        time.sleep(args.settle)
        final = stats(sink_port)
        delivered = s["items"]
        # The steady part: from the first poll that saw a line to the end. Runs too short for
        # one (most lines already there at the first poll) fall back to the whole run.
        steady = first is not None and delivered - first[1] >= 0.2 * expected and cpu > first[2]
        if steady:
            w_lines, w_cpu, w_time = delivered - first[1], cpu - first[2], last[0] - first[0]
        else:
            w_lines, w_cpu, w_time = delivered, cpu, wall
        per_line = w_cpu / w_lines if w_cpu and w_lines else None
        return {
            "scenario": f"{message_size} B messages", "message_size": message_size, "collector": coll,
            "run": rep, "complete": complete, "expected": expected, "delivered": delivered,
            "final_items": final["items"],
            "distinct": final.get("distinct") if loki else None,
            "duplicates": final.get("duplicates") if loki else None,
            # Bytes of the Loki lines per line: the floor's push should match ferrotel's.
            "loki_line_bytes": final["bytes"] / final["items"] if loki and final.get("items") else None,
            "steady_window": steady, "window_lines": w_lines, "window_cpu_s": w_cpu, "window_s": w_time,
            "lines_per_s": w_lines / w_time if w_time > 0 else None,
            "lines_per_cpu_s": 1 / per_line if per_line else None,
            "cpu_us_per_line": 1e6 * per_line if per_line else None,
            # Per line times lines per GB of this tree: the steady cost of reading a GB.
            "cpu_s_per_gb": per_line * expected / (manifest["bytes"] / 1e9) if per_line else None,
            "cpu_pct": 100 * w_cpu / w_time if w_time > 0 else None,
            "wall_s": wall, "total_cpu_s": cpu,
            "peak_rss_mib": rss / MIB if rss else None,
            "sink_cpu_pct": 100 * (l1 - l0) / wall if wall > 0 else None,
            "sut_core_pct": 100 * (core_busy(k0, k1, args.sut_core) or 0),
            "load_core_pct": 100 * (core_busy(k0, k1, args.load_core) or 0),
            "file_bytes": manifest["bytes"],
        }
    finally:
        if proc is not None:
            proc.stop()
        sink.stop()


# ---------------------------------------------------------------- report


def fmt(v, digits=0):
    return bench.fmt(v, digits)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def median_run(rows):
    """The run whose lines per CPU-second is the median (whole row, so its figures agree)."""
    ok = [r for r in rows if not r.get("error") and r.get("lines_per_cpu_s")]
    if not ok:
        return rows[-1] if rows else None
    ok.sort(key=lambda r: r["lines_per_cpu_s"])
    med = dict(ok[(len(ok) - 1) // 2])
    med["runs"] = len(ok)
    med["spread"] = (ok[0]["lines_per_cpu_s"], ok[-1]["lines_per_cpu_s"])
    med["median_lines_per_cpu_s"] = statistics.median(r["lines_per_cpu_s"] for r in ok)
    return med


def markdown(results, collectors, sizes):
    lines = ["### filelog -> Loki (collector pinned to one core; pre-written files, start_at: beginning)", "",
             "| messages | collector | lines per CPU-s | CPU-s / GB | CPU us / line | lines/s | collector CPU % "
             "| peak RSS MiB | delivered / lines | dups | Loki line bytes | per CPU-s vs Go | CPU per line vs floor "
             "| total s / CPU-s | sink CPU % | core 0 / 1 busy % | runs (lines per CPU-s min-max) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    med = {}
    for size in sizes:
        for c in collectors:
            rows = [r for r in results if r["message_size"] == size and r["collector"] == c]
            if rows:
                med[(size, c)] = median_run(rows)
    for size in sizes:
        go, floor = med.get((size, "go")), med.get((size, "floor"))
        for c in collectors:
            r = med.get((size, c))
            if not r:
                continue
            if r.get("error"):
                lines.append(f"| {size} B | {c} | failed: {r['error'][:100]} ||||||||||||||")
                continue
            spread = r.get("spread")
            lines.append("| " + " | ".join([
                f"{size} B", c, fmt(r["lines_per_cpu_s"]), fmt(r["cpu_s_per_gb"], 1),
                fmt(r["cpu_us_per_line"], 2), fmt(r["lines_per_s"]), fmt(r["cpu_pct"]),
                fmt(r["peak_rss_mib"], 1),
                f"{r['delivered']:,} / {r['expected']:,}" + ("" if r["complete"] else " (incomplete)"),
                fmt(r["duplicates"]), fmt(r.get("loki_line_bytes")),
                ratio(r["lines_per_cpu_s"], go and go.get("lines_per_cpu_s")),
                ratio(r["cpu_us_per_line"], floor and floor.get("cpu_us_per_line")),
                f"{fmt(r['wall_s'], 1)} / {fmt(r['total_cpu_s'], 2)}" + ("" if r["steady_window"] else " (whole run)"),
                fmt(r["sink_cpu_pct"]), f"{fmt(r['sut_core_pct'])} / {fmt(r['load_core_pct'])}",
                f"{r.get('runs', 1)} ({fmt(spread[0])}-{fmt(spread[1])})" if spread else "1",
            ]) + " |")
    lines.append("")
    fer100, go100, fl100 = med.get((100, "ferrotel")), med.get((100, "go")), med.get((100, "floor"))
    flb100 = med.get((100, "floor_body"))

    def ok(r):
        return r and not r.get("error")

    goals = ["### Against the goals of issue 6", "", "| goal | result |", "|---|---|"]
    if ok(fer100):
        v = fer100["lines_per_cpu_s"]
        goals.append(f"| >= 300,000 lines/s per core, 100-byte messages | {fmt(v)} "
                     f"({'met' if v and v >= 300_000 else '**not met**'}) |")
        if ok(go100):
            rr = v / go100["lines_per_cpu_s"] if v and go100["lines_per_cpu_s"] else None
            goals.append(f"| >= 10x the Go collector's lines per CPU-second | "
                         f"{fmt(rr, 2)}x ({'met' if rr and rr >= 10 else '**not met**'}) |")
        if ok(fl100):
            rr = (fer100["cpu_us_per_line"] / fl100["cpu_us_per_line"]
                  if fer100["cpu_us_per_line"] and fl100["cpu_us_per_line"] else None)
            goals.append(f"| CPU per line within 2x of the floor's | {fmt(rr, 2)}x "
                         f"({'met' if rr and rr <= 2 else '**not met**'}) |")
        if ok(flb100) and fer100["cpu_us_per_line"] and flb100["cpu_us_per_line"]:
            rr = fer100["cpu_us_per_line"] / flb100["cpu_us_per_line"]
            goals.append(f"| (for reference: CPU per line against the body-only floor) | {fmt(rr, 2)}x |")
        peaks = [med[(s, 'ferrotel')]["peak_rss_mib"] for s in sizes
                 if ok(med.get((s, "ferrotel"))) and med[(s, "ferrotel")].get("peak_rss_mib")]
        if peaks:
            goals.append(f"| peak RSS under 64 MiB | {fmt(max(peaks), 1)} MiB "
                         f"({'met' if max(peaks) < 64 else '**not met**'}) |")
    else:
        goals.append("| all four goals | ferrotel not measured in this run |")
    for r in results:
        if r.get("error"):
            goals.append(f"| ({r['collector']} {r['message_size']} B run {r['run']} failed) | {r['error'][:200]} |")
    return "\n".join(lines + goals)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--ferrotel")
    ap.add_argument("--gocol")
    ap.add_argument("--seed-config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True, help="where the pod log trees are written (reused)")
    ap.add_argument("--size", default="1G", help="total size of each tree (1G, 64M, ...)")
    ap.add_argument("--messages", default="100,1024", help="message sizes in bytes")
    ap.add_argument("--pods", type=int, default=32)
    ap.add_argument("--collectors", default="floor,floor_body,go,ferrotel")
    ap.add_argument("--runs", type=int, default=3, help="runs per collector and size; the median is reported")
    ap.add_argument("--floor-batch", type=int, default=1000)
    ap.add_argument("--stall", type=float, default=30, help="give up after this long without a new line")
    ap.add_argument("--poll", type=float, default=0.05)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--sut-core", type=int, default=0)
    ap.add_argument("--load-core", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)
    bench.NICE = args.nice
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(143)))
    with open(args.seed_config) as f:
        seed_text = f.read()
    collectors = [c for c in args.collectors.split(",") if c]
    for name, path in (("ferrotel", args.ferrotel), ("go", args.gocol)):
        if name in collectors and not path:
            log(f"no {name} binary; skipped")
            collectors.remove(name)
    sizes = [int(s) for s in args.messages.split(",") if s]
    results = []
    results_path = os.path.join(args.out, "results.json")
    try:
        for size in sizes:
            manifest = pod_tree(args, size)
            for rep in range(1, args.runs + 1):
                for coll in collectors:
                    warm_cache(manifest)
                    log(f"{size} B messages, {coll}, run {rep}/{args.runs}: {manifest['lines']:,} lines")
                    try:
                        r = run_one(args, coll, manifest, size, seed_text, rep)
                    except Exception as e:  # noqa: BLE001 - one failed run must not stop the others
                        log(f"{coll} {size} B run {rep} failed: {e}")
                        r = {"scenario": f"{size} B messages", "message_size": size, "collector": coll,
                             "run": rep, "error": str(e)}
                    finally:
                        cleanup()
                    results.append(r)
                    with open(results_path, "w") as f:
                        json.dump(results, f, indent=1)
                    log(json.dumps(r))
    finally:
        cleanup()
    md = markdown(results, collectors, sizes)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
