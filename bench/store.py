#!/usr/bin/env python3
"""Embedded store vs ClickHouse (issue 11), same data, same run, this machine.

Driven by bench/store.sh; see docs/performance.md. Steps:
 1. crates/store/examples/store_bench (pinned to core 0) generates the spans, log lines and
    metric series, ingests them into the embedded store, measures ingest CPU, bytes on disk
    and the queries, and writes the very same data as TSV in the Go clickhouse exporter's
    column order (bench/store/schema.sql) plus the query parameters (params.json).
 2. ClickHouse (Debian's clickhouse-server, pinned to core 1, its own temp data dir and
    config, 127.0.0.1 only) gets the exporter's tables, the same rows over HTTP in inserts of
    100,000 rows; its server CPU is read from /proc/<pid>/stat around the inserts and until
    background merges have settled, and again for the same inserts into Null-engine tables
    (the cost of parsing TSV alone, which the Go exporter's Native protocol does not pay).
 3. The same queries in SQL over HTTP (one keep-alive connection, max_threads=1).
Results: results.json and results.md in the output directory.
"""

import argparse
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / TICK


def pct(v, p):
    v = sorted(v)
    return v[round((len(v) - 1) * p)] if v else float("nan")


CONFIG = """<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/err.log</errorlog>
    <size>100M</size><count>1</count></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>5368709120</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <!-- The exporter's tables say CODEC(ZSTD(1)) per column; 18.16 has no column codecs, so
       every part is compressed with zstd level 1 instead of the default lz4. -->
  <compression><case><method>zstd</method><level>1</level></case></compression>
</yandex>
"""

USERS = """<yandex>
  <profiles><default>
    <max_memory_usage>10000000000</max_memory_usage>
    <max_threads>1</max_threads>
    <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
  </default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


class CH:
    def __init__(self, work, core):
        self.dir = os.path.join(work, "clickhouse")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.http, tcp = free_port(), free_port()
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(CONFIG.format(d=self.dir, http=self.http, tcp=tcp))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(USERS)
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(core), "clickhouse-server",
             f"--config-file={self.dir}/config.xml"],
            stdout=open(os.path.join(self.dir, "stdout"), "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self.pid = self.proc.pid
        for _ in range(120):
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=600)
                if self.q("SELECT version()").strip():
                    break
            except (OSError, http.client.HTTPException):
                time.sleep(0.5)
        else:
            raise SystemExit("clickhouse-server did not start; see " + self.dir)
        # taskset execs the server: the pid is the server's.
        self.version = self.q("SELECT version()").strip()

    def q(self, sql, body=None):
        if body is None:
            self.conn.request("POST", "/", body=sql.encode())
        else:
            self.conn.request("POST", "/?query=" + urllib.parse.quote(sql), body=body)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{sql[:200]}: {data[:500]!r}")
        return data.decode()

    def timed(self, sql):
        """The answer and the milliseconds it took (one round trip on the kept connection)."""
        t = time.perf_counter()
        out = self.q(sql)
        return out, (time.perf_counter() - t) * 1e3

    def cpu(self):
        return cpu_seconds(self.pid)

    def settle(self, quiet=3.0, limit=900):
        """Waits until no merge has run for `quiet` seconds."""
        t0 = time.time()
        calm = None
        while time.time() - t0 < limit:
            busy = int(self.q("SELECT count() FROM system.merges").strip() or 0)
            if busy:
                calm = None
            elif calm is None:
                calm = time.time()
            elif time.time() - calm >= quiet:
                return
            time.sleep(0.5)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)


def statements(path):
    sql = "\n".join(l for l in open(path) if not l.lstrip().startswith("--"))
    return [s.strip() for s in sql.split(";") if s.strip()]


def insert(ch, table, path, rows_per_insert):
    """POSTs the TSV file in inserts of `rows_per_insert` rows; returns rows."""
    n = 0
    buf = []
    with open(path, "rb") as f:
        for line in f:
            buf.append(line)
            if len(buf) == rows_per_insert:
                ch.q(f"INSERT INTO {table} FORMAT TabSeparated", b"".join(buf))
                n += len(buf)
                buf = []
    if buf:
        ch.q(f"INSERT INTO {table} FORMAT TabSeparated", b"".join(buf))
        n += len(buf)
    return n


def clickhouse_side(args, tsv, params):
    ch = CH(args.work, args.ch_core)
    log("clickhouse", ch.version, "pid", ch.pid, "http port", ch.http)
    res = {"version": ch.version}
    try:
        for s in statements(os.path.join(HERE, "store", "schema.sql")):
            ch.q(s)
        for t in ("otel_traces", "otel_logs", "otel_metrics_sum"):
            ch.q(f"CREATE TABLE null_{t} AS {t} ENGINE = Null")
        for key, table, file in (("spans", "otel_traces", "traces.tsv"),
                                 ("log_lines", "otel_logs", "logs.tsv"),
                                 ("samples", "otel_metrics_sum", "metrics.tsv")):
            path = os.path.join(tsv, file)
            c0, w0 = ch.cpu(), time.time()
            rows = insert(ch, f"null_{table}", path, args.rows_per_insert)
            parse = ch.cpu() - c0
            c0, w0 = ch.cpu(), time.time()
            rows = insert(ch, table, path, args.rows_per_insert)
            c1, w1 = ch.cpu(), time.time()
            ch.settle()
            c2 = ch.cpu()
            res[f"{key}"] = rows
            res[f"ingest_{key}_cpu_s_insert"] = c1 - c0
            res[f"ingest_{key}_cpu_s_with_merges"] = c2 - c0
            res[f"ingest_{key}_tsv_parse_cpu_s"] = parse
            res[f"ingest_{key}_wall_s"] = w1 - w0
            m = rows / 1e6
            res[f"cpu_s_per_million_{key}"] = (c2 - c0) / m
            res[f"cpu_s_per_million_{key}_less_tsv_parsing"] = (c2 - c0 - parse) / m
            log(key, rows, "rows: cpu insert", round(c1 - c0, 2), "with merges",
                round(c2 - c0, 2), "tsv parsing alone", round(parse, 2))
        parts = {}
        for line in ch.q("SELECT table, sum(rows), sum(bytes_on_disk), count() FROM system.parts "
                         "WHERE active GROUP BY table FORMAT TSV").splitlines():
            t, rows, b, n = line.split("\t")
            parts[t] = {"rows": int(rows), "bytes": int(b), "parts": int(n)}
        res["parts"] = parts
        tb = parts["otel_traces"]["bytes"]
        lookup = parts.get("otel_traces_trace_id_ts", {}).get("bytes", 0)
        res["bytes_traces"] = tb
        res["bytes_trace_id_lookup"] = lookup
        res["bytes_per_span"] = tb / res["spans"]
        res["bytes_per_span_with_lookup"] = (tb + lookup) / res["spans"]
        res["bytes_per_log_line"] = parts["otel_logs"]["bytes"] / res["log_lines"]
        res["bytes_per_sample"] = parts["otel_metrics_sum"]["bytes"] / res["samples"]
        res["du_data_dir"] = int(subprocess.check_output(
            ["du", "-sb", os.path.join(ch.dir, "data")]).split()[0])

        # ---- trace by id, as the exporter's lookup table is meant to be used
        ids = params["trace_ids"]
        lat, found = [], 0
        for i in ids:
            sql = (f"SELECT * FROM otel_traces WHERE TraceId = '{i}' "
                   f"AND TimestampTime >= (SELECT minMerge(Start) FROM otel_traces_trace_id_ts "
                   f"WHERE TraceId = '{i}') AND TimestampTime <= (SELECT maxMerge(End) FROM "
                   f"otel_traces_trace_id_ts WHERE TraceId = '{i}') FORMAT TSV")
            out, ms = ch.timed(sql)
            lat.append(ms)
            found += bool(out.strip())
        res["trace_by_id_lookups"] = len(lat)
        res["trace_by_id_found"] = found
        res["trace_by_id_p50_ms"] = pct(lat, 0.5)
        res["trace_by_id_p99_ms"] = pct(lat, 0.99)
        # without the lookup table: TraceId alone (no skip index in 18.16), 20 ids
        lat = []
        for i in ids[:20]:
            lat.append(ch.timed(f"SELECT * FROM otel_traces WHERE TraceId = '{i}' FORMAT TSV")[1])
        res["trace_by_id_no_lookup_p50_ms"] = pct(lat, 0.5)

        # ---- search by service and 5-minute window, 20 most recent traces
        lat, hits = [], 0
        for svc, a, b in params["searches"]:
            sql = (f"SELECT TraceId, max(Timestamp) AS t FROM otel_traces "
                   f"WHERE ServiceName = '{svc}' AND TimestampTime >= toDateTime({a // 10**9}) "
                   f"AND TimestampTime <= toDateTime({b // 10**9}) AND Timestamp >= {a} "
                   f"AND Timestamp <= {b} GROUP BY TraceId ORDER BY t DESC LIMIT 20 FORMAT TSV")
            out, ms = ch.timed(sql)
            lat.append(ms)
            hits += len(out.splitlines())
        res["search_queries"] = len(lat)
        res["search_hits"] = hits
        res["search_p50_ms"] = pct(lat, 0.5)
        res["search_p99_ms"] = pct(lat, 0.99)

        # ---- log text filter over every line
        times = []
        for _ in range(args.repeats):
            out, ms = ch.timed(f"SELECT count() FROM otel_logs WHERE Body LIKE "
                         f"'%{params['needle']}%'")
            n = int(out.strip())
            times.append(ms)
        res["log_filter_matches"] = n
        res["log_filter_ms_median"] = statistics.median(times)

        # ---- rate() by job, 1 h at 60 s steps over a 5 m window (no extrapolation)
        t0 = params["t0_s"]
        sql = f"""SELECT job, t, sum(r) FROM (
  SELECT ServiceName AS job, cityHash64(ResourceAttributes.value, Attributes.value) AS sid, t,
         (argMax(Value, TimeUnix) - argMin(Value, TimeUnix)) / (max(TimeUnix) - min(TimeUnix)) AS r
  FROM otel_metrics_sum
  ARRAY JOIN arrayMap(k -> toUInt32(intDiv(toUInt32(TimeUnix) + 59, 60) * 60 + k * 60), range(5)) AS t
  WHERE MetricName = '{params['metric']}' AND TimeUnix >= toDateTime({t0 - 300})
    AND TimeUnix <= toDateTime({t0 + 3600})
  GROUP BY job, sid, t
  HAVING count() > 1 AND t >= {t0} AND t <= {t0 + 3600}
) GROUP BY job, t ORDER BY job, t FORMAT TSV"""
        times = []
        for _ in range(args.repeats):
            out, ms = ch.timed(sql)
            times.append(ms)
        res["rate_points"] = len(out.splitlines())
        res["rate_ms_median"] = statistics.median(times)
    finally:
        ch.stop()
    return res


def table(st, ch):
    def r(a, b):
        return f"{a / b:.2f}×" if b else "–"

    rows = [
        ("ingest, CPU-s per million spans", st["cpu_s_per_million_spans"],
         ch["cpu_s_per_million_spans"], "lower"),
        ("  (ClickHouse less its TSV parsing)", st["cpu_s_per_million_spans"],
         ch["cpu_s_per_million_spans_less_tsv_parsing"], "lower"),
        ("ingest, CPU-s per million log lines", st["cpu_s_per_million_log_lines"],
         ch["cpu_s_per_million_log_lines"], "lower"),
        ("  (ClickHouse less its TSV parsing)", st["cpu_s_per_million_log_lines"],
         ch["cpu_s_per_million_log_lines_less_tsv_parsing"], "lower"),
        ("ingest, CPU-s per million samples", st["cpu_s_per_million_samples"],
         ch["cpu_s_per_million_samples"], "lower"),
        ("bytes on disk per span", st["bytes_per_span"], ch["bytes_per_span"], "lower"),
        ("  (ClickHouse with the trace-id lookup table)", st["bytes_per_span"],
         ch["bytes_per_span_with_lookup"], "lower"),
        ("bytes on disk per log line", st["bytes_per_log_line"], ch["bytes_per_log_line"],
         "lower"),
        ("bytes on disk per sample", st["bytes_per_sample"], ch["bytes_per_sample"], "lower"),
        ("trace by id p50, ms", st["trace_by_id_p50_ms"], ch["trace_by_id_p50_ms"], "lower"),
        ("trace by id p99, ms", st["trace_by_id_p99_ms"], ch["trace_by_id_p99_ms"], "lower"),
        ("search service + 5 min, p50 ms", st["search_p50_ms"], ch["search_p50_ms"], "lower"),
        ("search service + 5 min, p99 ms", st["search_p99_ms"], ch["search_p99_ms"], "lower"),
        ("log text filter, all lines, ms", st["log_filter_ms_median"],
         ch["log_filter_ms_median"], "lower"),
        ("rate() by job, 1 h / 60 s, ms", st["promql_ms_median"], ch["rate_ms_median"],
         "lower"),
    ]
    out = ["| measure | embedded store | ClickHouse 18.16 | store / ClickHouse |",
           "| --- | ---: | ---: | ---: |"]
    for name, a, b, _ in rows:
        out.append(f"| {name} | {a:.3g} | {b:.3g} | {r(a, b)} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", default="", help="store_bench size flags, one string")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows-per-insert", type=int, default=100_000)
    ap.add_argument("--store-core", default="0")
    ap.add_argument("--ch-core", default="1")
    args = ap.parse_args()
    tsv = os.path.join(args.work, "tsv")
    store_dir = os.path.join(args.work, "store")
    shutil.rmtree(tsv, ignore_errors=True)
    cmd = ["taskset", "-c", args.store_core, args.bench, *shlex.split(args.size), "--repeats",
           str(args.repeats), "--dir", store_dir, "--tsv", tsv]
    log("+", " ".join(cmd))
    with open(os.path.join(args.out, "store_bench.log"), "w") as err:
        st = json.loads(subprocess.check_output(cmd, stderr=err))
    shutil.rmtree(store_dir, ignore_errors=True)
    log("store:", json.dumps(st))
    params = json.load(open(os.path.join(tsv, "params.json")))
    ch = clickhouse_side(args, tsv, params)
    log("clickhouse:", json.dumps(ch))
    checks = {
        "same trace ids found": (st["trace_by_id_found"], ch["trace_by_id_found"]),
        "same log matches": (st["log_filter_matches"], ch["log_filter_matches"]),
        "same rate points": (st["promql_points"], ch["rate_points"]),
    }
    res = {"store": st, "clickhouse": ch, "checks": checks}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = table(st, ch)
    md += (f"\n\n{st['spans_written']:,} spans, {st['log_lines']:,} log lines, "
           f"{st['samples']:,} samples ({st['series']:,} series × 1 h at 15 s); "
           f"store ingest {st['spans_per_cpu_second']:,.0f} spans per CPU-second.\n"
           f"checks (store, ClickHouse): {json.dumps(checks)}\n")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    if not os.environ.get("STORE_KEEP_TSV"):
        shutil.rmtree(tsv, ignore_errors=True)
        shutil.rmtree(os.path.join(args.work, "clickhouse"), ignore_errors=True)


if __name__ == "__main__":
    main()
