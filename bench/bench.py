#!/usr/bin/env python3
"""Side-by-side OTLP collector benchmark: ferrotel, Rotel and the floor, one core each.

Driven by bench/run.sh (which installs and builds what is needed); see docs/performance.md.
Every collector under test runs pinned to core 0 (`taskset -c 0`); the load generator and the
counting sink run on core 1. Only 127.0.0.1 is used. Every wait is bounded.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

SINK_GRPC, SINK_HTTP = 14317, 14318
COLL_GRPC, COLL_HTTP = 4317, 4318
SIGNAL_ITEMS = {"traces": "spans", "logs": "logs", "metrics": "points"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc readers


def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / CLK
    except (OSError, IndexError, ValueError):
        return None


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None



def peak_rss(pid):
    """VmHWM (peak resident set) of a live process, bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def sink_stats(port, timeout=5):
    """GET /stats of a loadgen sink or target on 127.0.0.1:port, as JSON."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=timeout) as r:
        return json.loads(r.read())

def core_times():
    """{cpu index: (busy ticks, total ticks)} from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(v) for v in parts[1:]]
                idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
                out[int(parts[0][3:])] = (sum(vals) - idle, sum(vals))
    return out


def core_busy(a, b, core):
    if core not in a or core not in b:
        return None
    db, dt = b[core][0] - a[core][0], b[core][1] - a[core][1]
    return db / dt if dt > 0 else None


class RssSampler(threading.Thread):
    """Samples a process's RSS every `interval` seconds; keeps the peak."""

    def __init__(self, pid, interval=0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.last = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            r = rss_bytes(self.pid)
            if r is None:
                return
            self.last = r
            self.peak = max(self.peak, r)
            self._halt.wait(self.interval)

    def reset_peak(self):
        self.peak = self.last

    def stop(self):
        self._halt.set()
        self.join(timeout=2)


# ---------------------------------------------------------------- processes

PROCS = []
NICE = 0


class Proc:
    def __init__(self, name, cmd, core, logdir, stdout_file=None, env=None):
        self.name = name
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.out_path = stdout_file
        err = open(self.log_path, "ab")
        out = open(stdout_file, "wb") if stdout_file else err
        full = ["nice", "-n", str(NICE), "taskset", "-c", str(core)] + cmd
        self.p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                  env=env, start_new_session=True)
        PROCS.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        if self.alive():
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        if self in PROCS:
            PROCS.remove(self)

    def wait(self, timeout):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=5)
        if self in PROCS:
            PROCS.remove(self)
        return self.p.returncode


def cleanup(*_):
    for p in list(PROCS):
        try:
            p.stop(timeout=3)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_ports(ports, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early (see {proc.log_path})")
        if all(port_open(p) for p in ports):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not open {ports} in {timeout}s (see {proc.log_path})")


def wait_ports_free(ports, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline and any(port_open(p) for p in ports):
        time.sleep(0.2)


def http_json(path, data=None, timeout=10):
    req = urllib.request.Request(f"http://127.0.0.1:{SINK_HTTP}{path}", data=data,
                                 headers={"content-type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------- collectors


def collector_cmd(name, args, overload=False):
    if name == "floor":
        return [args.loadgen, "floor", "--grpc", f"127.0.0.1:{COLL_GRPC}", "--http",
                f"127.0.0.1:{COLL_HTTP}", "--forward", f"127.0.0.1:{SINK_GRPC}"]
    if name == "rotel":
        return [args.rotel, "start", "--otlp-grpc-endpoint", f"127.0.0.1:{COLL_GRPC}",
                "--otlp-http-endpoint", f"127.0.0.1:{COLL_HTTP}", "--exporter", "otlp",
                "--otlp-exporter-endpoint", f"http://127.0.0.1:{SINK_GRPC}",
                "--otlp-exporter-compression", "gzip",
                "--pid-file", os.path.join(args.out, "rotel.pid")]
    if name == "ferrotel":
        cfg = args.ferrotel_overload_config if overload else args.ferrotel_config
        return [args.ferrotel, "--config", cfg]
    raise ValueError(name)


class Setup:
    """A sink on core 1 and a collector on core 0, stopped on exit."""

    def __init__(self, args, coll, tag, sink_args=(), overload=False):
        self.args, self.coll, self.tag = args, coll, tag
        wait_ports_free([COLL_GRPC, COLL_HTTP, SINK_GRPC, SINK_HTTP])
        self.sink_out = os.path.join(args.out, f"{tag}.sink.json")
        self.sink = Proc(f"{tag}.sink", [args.loadgen, "sink", "--grpc", f"127.0.0.1:{SINK_GRPC}",
                                         "--http", f"127.0.0.1:{SINK_HTTP}", *sink_args],
                         args.load_core, args.out, stdout_file=self.sink_out)
        wait_ports([SINK_GRPC, SINK_HTTP], self.sink)
        self.proc = Proc(f"{tag}.{coll}", collector_cmd(coll, args, overload), args.sut_core, args.out)
        self.started = time.time()
        wait_ports([COLL_GRPC, COLL_HTTP], self.proc, timeout=30)
        self.rss = RssSampler(self.proc.pid)
        self.rss.start()

    def close(self):
        self.rss.stop()
        self.proc.stop()
        self.sink.stop()

    def gen(self, signal_, proto, comp, rate, seconds, conns, inflight, timeout="10s", name="gen"):
        port = COLL_GRPC if proto == "grpc" else COLL_HTTP
        self.gen_out = os.path.join(self.args.out, f"{self.tag}.{name}.json")
        self.unacked = os.path.join(self.args.out, f"{self.tag}.{name}.unacked.json")
        cmd = [self.args.loadgen, "gen", signal_, "--protocol", proto, "--compression", comp,
               "--endpoint", f"127.0.0.1:{port}", "--rate", str(int(rate)),
               "--connections", str(conns), "--in-flight", str(inflight),
               "--duration", f"{seconds}s", "--timeout", timeout,
               "--unacked-file", self.unacked]
        return Proc(f"{self.tag}.{name}", cmd, self.args.load_core, self.args.out, stdout_file=self.gen_out)

    def finish_gen(self, g, seconds):
        rc = g.wait(timeout=seconds + 60)
        try:
            with open(self.gen_out) as f:
                return json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError) as e:
            raise RuntimeError(f"generator failed (rc={rc}, see {g.log_path}): {e}") from e

    def drain(self, limit=30):
        """Waits until the sink stops receiving (1 s without new items), at most `limit` s."""
        deadline = time.time() + limit
        last = http_json("/stats")["items"]
        stable_since = time.time()
        while time.time() < deadline:
            time.sleep(0.25)
            now = http_json("/stats")["items"]
            if now != last:
                last, stable_since = now, time.time()
            elif time.time() - stable_since >= 1.0:
                break
        return http_json("/stats")

    def lost(self, report):
        try:
            with open(self.unacked) as f:
                unacked = json.load(f)
        except (OSError, ValueError):
            unacked = []
        q = json.dumps({"start": report["seq_start"], "end": report["seq_end"], "unacked": unacked})
        return http_json("/lost", data=q.encode())


# ---------------------------------------------------------------- scenarios


def throughput(args, coll, signal_, proto, comp):
    tag = f"tp.{signal_}.{proto}.{comp}.{coll}"
    s = Setup(args, coll, tag)
    try:
        total = args.warmup + args.window + 2
        g = s.gen(signal_, proto, comp, 0, total, args.connections, args.in_flight)
        time.sleep(args.warmup)
        s.rss.reset_peak()
        t0, s0, c0, k0 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid), core_times()
        l0 = (cpu_seconds(s.sink.pid) or 0) + (cpu_seconds(g.pid) or 0)
        time.sleep(args.window)
        t1, s1, c1, k1 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid), core_times()
        l1 = (cpu_seconds(s.sink.pid) or 0) + (cpu_seconds(g.pid) or 0)
        report = s.finish_gen(g, total)
        final = s.drain()
        lost = s.lost(report)
        items = s1["items"] - s0["items"]
        cpu = (c1 - c0) if c0 is not None and c1 is not None else None
        return {
            "kind": "throughput", "scenario": f"{signal_} {proto} {comp}-in", "collector": coll,
            "items_per_s": items / (t1 - t0),
            "cpu_pct": 100 * cpu / (t1 - t0) if cpu is not None else None,
            "cpu_s_per_m": cpu / (items / 1e6) if cpu and items else None,
            "per_core": items / cpu if cpu and items else None,
            "peak_rss_mib": s.rss.peak / MIB,
            "load_core_pct": 100 * (core_busy(k0, k1, args.load_core) or 0),
            "sut_core_pct": 100 * (core_busy(k0, k1, args.sut_core) or 0),
            "load_procs_pct": 100 * (l1 - l0) / (t1 - t0),
            "sent": report["sent"], "acknowledged": report["acknowledged"],
            "refused": report["refused"], "errors": report["errors"],
            "delivered": final["distinct"], "duplicates": final["duplicates"],
            "lost_acked": lost["lost_acked"], "p99_ms": report["latency_ms_p99"],
        }
    finally:
        s.close()


def steady(args, coll):
    tag = f"steady.{coll}"
    s = Setup(args, coll, tag)
    try:
        time.sleep(args.idle)
        idle_rss = rss_bytes(s.proc.pid) or 0
        total = args.warmup + args.steady + 1
        g = s.gen("traces", "grpc", "none", args.steady_rate, total, 2, 4)
        time.sleep(args.warmup)
        s.rss.reset_peak()
        t0, s0, c0 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        time.sleep(args.steady)
        t1, s1, c1 = time.time(), http_json("/stats"), cpu_seconds(s.proc.pid)
        report = s.finish_gen(g, total)
        final = s.drain()
        lost = s.lost(report)
        items = s1["items"] - s0["items"]
        return {
            "kind": "steady", "scenario": f"traces grpc none-in @{args.steady_rate}/s", "collector": coll,
            "items_per_s": items / (t1 - t0), "cpu_pct": 100 * (c1 - c0) / (t1 - t0),
            "cpu_s_per_m": (c1 - c0) / (items / 1e6) if items else None,
            "peak_rss_mib": s.rss.peak / MIB, "idle_rss_mib": idle_rss / MIB,
            "sent": report["sent"], "acknowledged": report["acknowledged"],
            "delivered": final["distinct"], "duplicates": final["duplicates"],
            "lost_acked": lost["lost_acked"], "p99_ms": report["latency_ms_p99"],
        }
    finally:
        s.close()


def overload(args, coll, sustained):
    tag = f"overload.{coll}"
    s = Setup(args, coll, tag, overload=True)
    try:
        rate = 2 * sustained
        g = s.gen("traces", "grpc", "none", rate, args.overload, args.overload_connections,
                  args.overload_in_flight, timeout="5s")
        report = s.finish_gen(g, args.overload)
        final = s.drain(limit=60)
        lost = s.lost(report)
        return {
            "kind": "overload", "scenario": f"traces grpc none-in, 2x = {rate:.0f}/s offered", "collector": coll,
            "offered_per_s": report["offered_items_per_s"], "items_per_s": report["items_per_s"],
            "peak_rss_mib": s.rss.peak / MIB, "sent": report["sent"],
            "acknowledged": report["acknowledged"], "delivered": final["distinct"],
            "duplicates": final["duplicates"], "lost_acked": lost["lost_acked"],
            "delivered_unacked": lost["delivered_unacked"],
            "refused": report["refused"], "errors": report["errors"], "p99_ms": report["latency_ms_p99"],
        }
    finally:
        s.close()


# ---------------------------------------------------------------- report


def fmt(v, digits=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def markdown(results, collectors):
    lines = []
    tp = [r for r in results if r["kind"] == "throughput"]
    if tp:
        lines += ["### Throughput (rate 0: as fast as acknowledged; collector pinned to one core)", "",
                  "| scenario | collector | items/s per core | CPU-s / M items | measured items/s | collector CPU % "
                  "| peak RSS MiB | loss | dups | per core vs Rotel | per core vs floor | gen+sink CPU % | core 0 / 1 busy % |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        by = {(r["scenario"], r["collector"]): r for r in tp}
        for scen in dict.fromkeys(r["scenario"] for r in tp):
            rot, flo = by.get((scen, "rotel")), by.get((scen, "floor"))
            for c in collectors:
                r = by.get((scen, c))
                if not r:
                    continue
                if r.get("error"):
                    lines.append(f"| {scen} | {c} | failed: {r['error'][:80]} ||||||||||||")
                    continue
                lines.append("| " + " | ".join([
                    scen, c, fmt(r["per_core"]), fmt(r["cpu_s_per_m"], 2), fmt(r["items_per_s"]),
                    fmt(r["cpu_pct"]), fmt(r["peak_rss_mib"], 1), fmt(r["lost_acked"]), fmt(r["duplicates"]),
                    ratio(r["per_core"], rot and rot.get("per_core")),
                    ratio(r["per_core"], flo and flo.get("per_core")),
                    fmt(r["load_procs_pct"]),
                    f"{fmt(r['sut_core_pct'])} / {fmt(r['load_core_pct'])}",
                ]) + " |")
        lines.append("")
    st = [r for r in results if r["kind"] == "steady" and not r.get("error")]
    if st:
        rot = next((r for r in st if r["collector"] == "rotel"), None)
        lines += [f"### Steady load ({st[0]['scenario']})", "",
                  "| collector | CPU % of core | CPU-s / M spans | CPU vs Rotel | peak RSS MiB | idle RSS MiB | loss | dups |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in st:
            lines.append("| " + " | ".join([
                r["collector"], fmt(r["cpu_pct"], 1), fmt(r["cpu_s_per_m"], 2),
                ratio(r["cpu_s_per_m"], rot and rot.get("cpu_s_per_m")),
                fmt(r["peak_rss_mib"], 1), fmt(r["idle_rss_mib"], 1), fmt(r["lost_acked"]), fmt(r["duplicates"]),
            ]) + " |")
        lines.append("")
    ov = [r for r in results if r["kind"] == "overload" and not r.get("error")]
    if ov:
        lines += ["### Overload (offered: 2x the collector's own traces gRPC none-in items/s per core from this run)", "",
                  "| collector | offered/s | acked/s | peak RSS MiB | sent | acknowledged | delivered | silent loss "
                  "| dups | refused (items by status) | errors (items) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in ov:
            lines.append("| " + " | ".join([
                r["collector"], fmt(r["offered_per_s"]), fmt(r["items_per_s"]), fmt(r["peak_rss_mib"], 1),
                fmt(r["sent"]), fmt(r["acknowledged"]), fmt(r["delivered"]), fmt(r["lost_acked"]),
                fmt(r["duplicates"]),
                ", ".join(f"{k}: {v:,}" for k, v in r["refused"].items()) or "-",
                ", ".join(f"{k}: {v:,}" for k, v in r["errors"].items()) or "-",
            ]) + " |")
        lines.append("")
    failed = [r for r in results if r.get("error") and r["kind"] != "throughput"]
    for r in failed:
        lines.append(f"- {r['kind']} {r['collector']} failed: {r['error']}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--rotel")
    ap.add_argument("--ferrotel")
    ap.add_argument("--ferrotel-config")
    ap.add_argument("--ferrotel-overload-config")
    ap.add_argument("--out", required=True)
    ap.add_argument("--collectors", default="floor,rotel,ferrotel")
    ap.add_argument("--signals", default="traces,logs,metrics")
    ap.add_argument("--protocols", default="grpc,http")
    ap.add_argument("--compressions", default="none,gzip,zstd")
    ap.add_argument("--scenarios", default="", help="explicit list signal:proto:comp,... (overrides the grid)")
    ap.add_argument("--parts", default="throughput,steady,overload")
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--window", type=float, default=15)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--in-flight", type=int, default=16)
    ap.add_argument("--steady", type=float, default=20)
    ap.add_argument("--steady-rate", type=int, default=10000)
    ap.add_argument("--idle", type=float, default=5)
    ap.add_argument("--overload", type=float, default=60)
    ap.add_argument("--overload-connections", type=int, default=64)
    ap.add_argument("--overload-in-flight", type=int, default=64)
    ap.add_argument("--nice", type=int, default=0, help="nice value of every benchmarked process")
    ap.add_argument("--sut-core", type=int, default=0)
    ap.add_argument("--load-core", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    global NICE
    NICE = args.nice
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(143)))

    collectors = [c for c in args.collectors.split(",") if c]
    if "rotel" in collectors and not args.rotel:
        collectors.remove("rotel")
    if "ferrotel" in collectors and not args.ferrotel:
        collectors.remove("ferrotel")
    if args.scenarios:
        grid = [tuple(s.split(":")) for s in args.scenarios.split(",") if s]
    else:
        grid = [(s, p, c) for s in args.signals.split(",") for p in args.protocols.split(",")
                for c in args.compressions.split(",")]
    parts = args.parts.split(",")
    results = []
    results_path = os.path.join(args.out, "results.json")

    def record(r):
        results.append(r)
        with open(results_path, "w") as f:
            json.dump(results, f, indent=1)
        log(json.dumps(r))

    def attempt(kind, coll, fn, *a):
        try:
            record(fn(*a))
        except Exception as e:  # noqa: BLE001 - one failed scenario must not stop the run
            log(f"{kind} {coll} {a[2:]} failed: {e}")
            record({"kind": kind, "scenario": " ".join(a[2:]) if kind == "throughput" else kind,
                    "collector": coll, "error": str(e)})
        finally:
            cleanup()

    try:
        if "throughput" in parts:
            for (sig, proto, comp) in grid:
                for coll in collectors:
                    log(f"throughput {sig} {proto} {comp} {coll}")
                    attempt("throughput", coll, throughput, args, coll, sig, proto, comp)
                    results[-1]["scenario"] = f"{sig} {proto} {comp}-in"
        if "steady" in parts:
            for coll in collectors:
                log(f"steady {coll}")
                attempt("steady", coll, steady, args, coll)
        if "overload" in parts:
            for coll in collectors:
                sus = next((r["per_core"] for r in results if r["kind"] == "throughput"
                            and r["collector"] == coll and r["scenario"] == "traces grpc none-in"
                            and not r.get("error")), None)
                if not sus:
                    log(f"overload {coll}: no traces grpc none-in rate per core measured; skipped")
                    continue
                log(f"overload {coll} at 2x {sus:.0f}/s")
                attempt("overload", coll, overload, args, coll, sus)
    finally:
        cleanup()
    md = markdown(results, collectors)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
