"""ferrotel's embedded store and Prometheus API against a real Prometheus (Debian's 2.42):
the SAME remote-write requests (protobuf + snappy) go to both `/api/v1/write`, then a table of
PromQL queries covering every feature issue 11 lists is run against both, each as an instant
query and as a range query (GET for some, form-encoded POST for others, as Grafana sends
them), and the answers must be equal: result type, label sets, timestamps, and values within
1e-9 relative (NaN == NaN). /api/v1/series, /labels and /label/__name__/values are compared
for a few match[] too.

This goes through ferrotel's whole path: remote-write ingest, the store (WAL, heads, blocks),
its series selection, the PromQL engine and the JSON API. Prometheus 2.42 accepts native
histograms over remote write 1.0 when started with `--enable-feature=native-histograms`
(the `histograms` field of prompb.TimeSeries), so native histogram_quantile is compared on
real native histograms."""

from __future__ import annotations

import math
import time

import pytest

from backends import Prometheus
from store_harness import StoreFerrotel, get_json, poll, remote_write

STEPS = 200
INTERVAL = 15_000
STALE_NAN = 0x7FF0000000000002


class Rng:
    """The LCG of crates/promql/tests/vs_prometheus.rs: the data is the same on every run."""

    def __init__(self, seed: int):
        self.s = seed

    def next(self) -> float:
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
        return (self.s >> 11) / float(1 << 53)


def stale_nan() -> float:
    import struct

    return struct.unpack("<d", struct.pack("<Q", STALE_NAN))[0]


def generate(start: int) -> list[dict]:
    """Counters with a reset, gauges (one ended by a stale marker, one that just stops), a
    classic histogram (le buckets + _count + _sum), native histograms (schema 1 and schema 0
    with negative buckets and a reset), an info series and `up` for joins."""
    rng = Rng(42)
    out = []
    times = [start + i * INTERVAL + (i * 7919) % 2000 for i in range(STEPS)]
    for inst in ("a", "b"):
        for method in ("GET", "POST"):
            v = 0.0
            s = {"labels": {"__name__": "http_requests_total", "job": "api", "instance": inst, "method": method}, "samples": []}
            for i, t in enumerate(times):
                if inst == "b" and method == "POST" and i == 100:
                    v = 3.0  # counter reset
                elif rng.next() > 0.1:
                    v += round(rng.next() * 10.0) + (2.0 if method == "GET" else 0.5)
                s["samples"].append((t, v))
            out.append(s)
    for ri, room in enumerate(("kitchen", "garage", "attic")):
        s = {"labels": {"__name__": "temperature", "room": room, "job": "home"}, "samples": []}
        for i, t in enumerate(times):
            if room == "garage" and i == 190:
                s["samples"].append((t, stale_nan()))  # ended by a stale marker
                break
            if room == "attic" and i == 185:
                break  # just stops: visible for the 5m lookback, then gone
            base = (21.0, 12.0, -3.0)[ri]
            v = base + 4.0 * math.sin(i / 17.0) + (rng.next() - 0.5) * 2.0
            s["samples"].append((t, round(v * 1000.0) / 1000.0))
        out.append(s)
    bounds = (0.1, 0.5, 1.0, 5.0, math.inf)
    les = ("0.1", "0.5", "1", "5", "+Inf")
    for inst in ("a", "b"):
        cum = [0.0] * 5
        total = 0.0
        buckets = [{"labels": {"__name__": "req_duration_seconds_bucket", "job": "api", "instance": inst, "le": le}, "samples": []} for le in les]
        count_s = {"labels": {"__name__": "req_duration_seconds_count", "job": "api", "instance": inst}, "samples": []}
        sum_s = {"labels": {"__name__": "req_duration_seconds_sum", "job": "api", "instance": inst}, "samples": []}
        for t in times:
            n = int(rng.next() * 20.0)
            for _ in range(n):
                obs = rng.next() * rng.next() * (3.0 if inst == "a" else 8.0)
                total += obs
                for j, ub in enumerate(bounds):
                    if obs <= ub:
                        cum[j] += 1.0
            for j, b in enumerate(buckets):
                b["samples"].append((t, cum[j]))
            count_s["samples"].append((t, cum[4]))
            sum_s["samples"].append((t, total))
        out.extend(buckets)
        out.append(count_s)
        out.append(sum_s)
    for svc, schema in (("x", 1), ("y", 0)):
        s = {"labels": {"__name__": "rpc_latency_seconds", "service": svc}, "histograms": []}
        pos = [0.0] * 6  # bucket indices -2..=3
        neg = [0.0] * 2  # bucket indices 1..=2
        zero = 0.0
        total = 0.0
        for i, t in enumerate(times):
            if svc == "y" and i == 120:
                pos, neg, zero, total = [0.0] * 6, [0.0] * 2, 0.0, 0.0  # reset
            for j in range(6):
                add = math.floor(rng.next() * (3 + j))
                pos[j] += add
                total += add * (2.0 ** ((j - 2) / (2**schema))) * 0.8
            if svc == "y":
                for j in range(2):
                    add = math.floor(rng.next() * 2.0)
                    neg[j] += add
                    total -= add
            zero += math.floor(rng.next() * 2.0)
            s["histograms"].append(
                {
                    "t": t,
                    "schema": schema,
                    "zero_threshold": 0.001,
                    "zero_count": zero,
                    "count": sum(pos) + sum(neg) + zero,
                    "sum": total,
                    "positive_spans": [(-2, 6)],
                    "positive_buckets": list(pos),
                    "negative_spans": [(1, 2)] if svc == "y" else [],
                    "negative_buckets": list(neg) if svc == "y" else [],
                }
            )
        out.append(s)
    for inst, version in (("a", "1.0"), ("b", "2.0")):
        info = {"labels": {"__name__": "node_info", "instance": inst, "version": version}, "samples": []}
        up = {"labels": {"__name__": "up", "instance": inst, "job": "api"}, "samples": []}
        for i, t in enumerate(times):
            info["samples"].append((t, 1.0))
            up["samples"].append((t, 0.0 if inst == "b" and i % 40 < 5 else 1.0))
        out.append(info)
        out.append(up)
    return out


# Every feature issue 11 lists; each is run as an instant and as a range query.
QUERIES = [
    # selectors: = != =~ !~, __name__ regex
    'http_requests_total{method="GET"}',
    'http_requests_total{instance=~"a|b", method!="POST"}',
    'http_requests_total{method!~"G.*"}',
    '{__name__=~"http_requests_.*", instance="a"}',
    'temperature{room!="kitchen"}',
    # rate / irate / increase / delta and friends
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[10m])",
    "delta(temperature[10m])",
    "resets(http_requests_total[50m])",
    "deriv(temperature[10m])",
    # *_over_time
    "avg_over_time(temperature[10m])",
    "min_over_time(temperature[10m])",
    "max_over_time(temperature[10m])",
    "sum_over_time(temperature[10m])",
    "count_over_time(temperature[10m])",
    "last_over_time(temperature[10m])",
    "quantile_over_time(0.7, temperature[10m])",
    "stddev_over_time(temperature[10m])",
    # aggregations by / without
    "sum by (instance) (rate(http_requests_total[5m]))",
    "avg without (method) (http_requests_total)",
    "min by (job) (temperature)",
    "max(temperature)",
    "count by (job) (up)",
    "topk(2, http_requests_total)",
    "topk by (instance) (1, rate(http_requests_total[5m]))",
    "quantile by (job) (0.9, rate(http_requests_total[5m]))",
    "sum without (instance, method) (rate(http_requests_total[5m]))",
    # histogram_quantile: classic and native
    "histogram_quantile(0.9, rate(req_duration_seconds_bucket[10m]))",
    "histogram_quantile(0.5, sum by (le) (rate(req_duration_seconds_bucket[10m])))",
    "histogram_quantile(0.99, sum by (le, job) (req_duration_seconds_bucket))",
    # (native histogram_quantile: test_native_histogram_quantile below)
    "rate(req_duration_seconds_sum[5m]) / rate(req_duration_seconds_count[5m])",
    # binary operators with on / ignoring / group_left
    "http_requests_total * on(instance) group_left(version) node_info",
    "sum by (instance) (http_requests_total) / ignoring(job) up",
    'http_requests_total{instance="a"} - ignoring(method) group_left http_requests_total{instance="a", method="GET"}',
    "node_info * on(instance) group_right(version) http_requests_total",
    "http_requests_total / 2",
    "http_requests_total % 7",
    # comparisons, with and without bool
    "temperature > 10",
    "temperature > bool 10",
    "up == bool on(instance) node_info",
    # set operators
    "up and on(instance) node_info",
    "up or temperature",
    "http_requests_total unless on(instance) (up == 0)",
    # offset
    "http_requests_total offset 10m",
    "rate(http_requests_total[5m] offset 3m)",
    # lookback and staleness: attic just stops, garage ends with a stale marker
    "temperature",
    "last_over_time(temperature[5m])",
    # label_replace, absent, literals
    'label_replace(up, "foo", "$1-x", "instance", "(.*)")',
    'label_replace(http_requests_total, "method", "$1$1", "method", "(G)ET")',
    "absent(temperature)",
    'absent(nonexistent{job="x"})',
    'absent(temperature{room="garage"})',
    "vector(1)",
    "1 + 2 * 3",
    "scalar(sum(up))",
    'scalar(temperature{room="kitchen"}) * up',
    "time()",
    # native histograms as values
    "rpc_latency_seconds",
    "rate(rpc_latency_seconds[5m])",
    "histogram_count(rpc_latency_seconds)",
    "histogram_sum(rate(rpc_latency_seconds[10m]))",
]


def pf(x) -> float:
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(x, None) if x in ("NaN", "+Inf", "-Inf") else float(x)


def norm_hist(h: dict):
    return ("H", pf(h["count"]), pf(h["sum"]), tuple((b[0], pf(b[1]), pf(b[2]), pf(b[3])) for b in h.get("buckets", [])))


def normalize(data: dict, keep_order: bool):
    rt = data["resultType"]
    rows = []
    if rt == "scalar":
        rows.append(((), [(float(data["result"][0]), pf(data["result"][1]))]))
    elif rt == "string":
        rows.append(((), [(float(data["result"][0]), ("S", data["result"][1]))]))
    else:
        for r in data["result"]:
            metric = tuple(sorted(r["metric"].items()))
            pts = []
            if "value" in r:
                pts.append((float(r["value"][0]), pf(r["value"][1])))
            if "histogram" in r:
                pts.append((float(r["histogram"][0]), norm_hist(r["histogram"][1])))
            for v in r.get("values", []):
                pts.append((float(v[0]), pf(v[1])))
            for v in r.get("histograms", []):
                pts.append((float(v[0]), norm_hist(v[1])))
            pts.sort(key=lambda p: p[0])
            rows.append((metric, pts))
    if not keep_order:
        rows.sort(key=lambda r: r[0])
    return rt, rows


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return close(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "S":
        return a == b
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "H":
        return (
            close(a[1], b[1])
            and close(a[2], b[2])
            and len(a[3]) == len(b[3])
            and all(x[0] == y[0] and close(x[1], y[1]) and close(x[2], y[2]) and close(x[3], y[3]) for x, y in zip(a[3], b[3]))
        )
    return False


def diff(want, got) -> str | None:
    """None when equal, else what differs first."""
    if want[0] != got[0]:
        return f"resultType {want[0]} (prometheus) vs {got[0]} (ferrotel)"
    if [r[0] for r in want[1]] != [r[0] for r in got[1]]:
        return f"series differ:\n  prometheus {[dict(r[0]) for r in want[1]]}\n  ferrotel   {[dict(r[0]) for r in got[1]]}"
    for (labels, wp), (_, gp) in zip(want[1], got[1]):
        if [p[0] for p in wp] != [p[0] for p in gp]:
            return f"{dict(labels)}: timestamps differ:\n  prometheus {[p[0] for p in wp]}\n  ferrotel   {[p[0] for p in gp]}"
        for (t, a), (_, b) in zip(wp, gp):
            if not same_value(a, b):
                return f"{dict(labels)} at {t}: prometheus {a} vs ferrotel {b}"
    return None


def secs(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("promql-vs-prometheus")
    prom = Prometheus(tmp / "prom", extra_flags=["--enable-feature=native-histograms"])
    fer = None
    try:
        fer = StoreFerrotel(tmp / "ferrotel")
        now = int(time.time() * 1000)
        # Samples in the last hour (Prometheus appends only to its head block).
        start = (now - 55 * 60_000) // 60_000 * 60_000
        series = generate(start)
        # The same requests to both: in a few chunks of series, as a sender batches.
        for i in range(0, len(series), 7):
            chunk = series[i : i + 7]
            remote_write(prom.write_url, chunk)
            remote_write(f"{fer.api}/api/v1/write", chunk)
        last = start + (STEPS - 1) * INTERVAL

        # Both must see every series before the comparison starts.
        def count(base):
            st, body = get_json(base, "/api/v1/query", {"query": "count(last_over_time({__name__=~\".+\"}[1h]))", "time": secs(last)})
            return st == 200 and body["data"]["result"] and body["data"]["result"][0]["value"][1] == str(len(series))

        poll(lambda: count(prom.url), 60, "prometheus has every series")
        poll(lambda: count(fer.api), 60, "ferrotel has every series")
        yield {"prom": prom, "fer": fer, "start": start, "last": last, "series": series}
    finally:
        if fer:
            fer.stop()
        prom.stop()


def run(base: str, path: str, params: dict, post: bool):
    status, body = get_json(base, path, params, post=post)
    return status, body


def compare_query(both, query: str, kind: str, post: bool) -> str | None:
    start, last = both["start"], both["last"]
    if kind == "instant":
        path = "/api/v1/query"
        # between samples, shortly after the last one
        params = {"query": query, "time": secs(last - 7_300)}
    else:
        path = "/api/v1/query_range"
        params = {"query": query, "start": secs(start + 10 * 60_000 + 500), "end": secs(last + 90_000), "step": "45"}
    ps, pb = run(both["prom"].url, path, params, post)
    fs, fb = run(both["fer"].api, path, params, post)
    if pb.get("status") != "success":
        if fb.get("status") == "success":
            return f"prometheus failed ({pb}) but ferrotel answered {str(fb)[:800]}"
        if pb.get("errorType") != fb.get("errorType"):
            return f"error type {pb.get('errorType')} ({pb.get('error')}) vs ferrotel {fb.get('errorType')} ({fb.get('error')})"
        return None
    if fb.get("status") != "success":
        return f"ferrotel failed with HTTP {fs}: {fb}"
    keep = query.startswith("sort")
    return diff(normalize(pb["data"], keep), normalize(fb["data"], keep))


def test_query_table_covers_at_least_30_queries():
    assert len(QUERIES) >= 30


@pytest.mark.parametrize("kind", ["instant", "range"])
@pytest.mark.parametrize("query", QUERIES)
def test_promql_answers_equal_prometheus(both, query, kind):
    # Grafana posts its queries form-encoded; half of the table goes that way.
    post = QUERIES.index(query) % 2 == 1
    problem = compare_query(both, query, kind, post)
    assert problem is None, f"{kind} {query!r} ({'POST form' if post else 'GET'}): {problem}"


def test_prometheus_saw_non_empty_results(both):
    """The comparison proves something only when the answers are not all empty."""
    empty = []
    for q in QUERIES:
        st, body = get_json(both["prom"].url, "/api/v1/query", {"query": q, "time": secs(both["last"] - 7_300)})
        assert body.get("status") == "success", f"{q}: {body}"
        if body["data"]["resultType"] in ("vector", "matrix") and not body["data"]["result"]:
            empty.append(q)
    # only the absent() queries of present series may be empty
    assert set(empty) <= {"absent(temperature)", 'absent(temperature{room="garage"})'}, empty


# Native histogram_quantile. Prometheus 2.51 changed its interpolation inside an exponential
# bucket from linear to logarithmic; ferrotel follows the newer releases (it answers
# buildinfo as 2.53), Debian's Prometheus is 2.42. So the reference is derived from the real
# Prometheus another way: it evaluates the inner expression (the native histograms, compared
# equal to ferrotel's by the table above), the test applies both interpolations to those
# buckets, checks that the linear one reproduces Prometheus 2.42's own histogram_quantile
# (so the bucket walk is right), and compares ferrotel with the logarithmic one.
NATIVE_QUANTILES = [
    (0.9, "rpc_latency_seconds"),
    (0.1, "rpc_latency_seconds"),
    (0.5, "rate(rpc_latency_seconds[10m])"),
    (0.75, "sum(rate(rpc_latency_seconds[10m]))"),
    (0.99, 'rate(rpc_latency_seconds{service="y"}[5m])'),
]


def native_quantile(q: float, h, exponential: bool) -> float:
    """Prometheus' histogramQuantile (promql/quantile.go) over a JSON histogram: linear as in
    2.42, logarithmic with the reverse walk for q >= 0.5 as in 2.51+/3.x."""
    _, count, total, buckets = h
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if count == 0 or math.isnan(q):
        return math.nan
    bs = [(lo, up, c) for _, lo, up, c in buckets]
    has_neg = any(up <= 0 for lo, up, c in bs)
    has_pos = any(lo >= 0 for lo, up, c in bs)
    reverse = exponential and not (math.isnan(total) or q < 0.5)
    rank = (1 - q) * count if reverse else q * count
    acc, cur = 0.0, (0.0, 0.0, 0.0)
    for b in reversed(bs) if reverse else bs:
        if b[2] == 0:
            continue
        cur = b
        acc += b[2]
        if acc >= rank:
            break
    lo, up, bc = cur
    if lo < 0 < up:
        if not has_neg and has_pos:
            lo = 0.0
        elif not has_pos and has_neg:
            up = 0.0
    acc = min(acc, count)
    if acc < rank:
        return up
    r = acc - rank if reverse else rank - (acc - bc)
    frac = r / bc
    if not exponential or (lo <= 0 <= up):
        return lo + (up - lo) * frac
    ll, lu = math.log2(abs(lo)), math.log2(abs(up))
    if lo > 0:
        return 2 ** (ll + (lu - ll) * frac)
    return -(2 ** (lu + (ll - lu) * (1 - frac)))


@pytest.mark.parametrize("kind", ["instant", "range"])
@pytest.mark.parametrize("q,inner", NATIVE_QUANTILES, ids=lambda x: str(x))
def test_native_histogram_quantile(both, q, inner, kind):
    query = f"histogram_quantile({q}, {inner})"
    if kind == "instant":
        path, params = "/api/v1/query", {"query": None, "time": secs(both["last"] - 7_300)}
    else:
        path = "/api/v1/query_range"
        params = {"query": None, "start": secs(both["start"] + 10 * 60_000 + 500), "end": secs(both["last"] + 90_000), "step": "45"}
    _, hists = get_json(both["prom"].url, path, {**params, "query": inner})
    _, prom_q = get_json(both["prom"].url, path, {**params, "query": query})
    _, fer_q = get_json(both["fer"].api, path, {**params, "query": query}, post=True)
    assert fer_q.get("status") == "success", fer_q
    hists = normalize(hists["data"], False)
    assert hists[1] and all(isinstance(v, tuple) and v[0] == "H" for _, pts in hists[1] for _, v in pts), hists
    derived = lambda exp: (
        hists[0],
        [(tuple(k for k in labels if k[0] != "__name__"), [(t, native_quantile(q, h, exp)) for t, h in pts]) for labels, pts in hists[1]],
    )
    linear = diff(normalize(prom_q["data"], False), derived(False))
    assert linear is None, f"the test's linear interpolation does not reproduce Prometheus 2.42: {linear}"
    problem = diff(derived(True), normalize(fer_q["data"], False))
    assert problem is None, f"{kind} {query!r}: {problem}".replace("prometheus", "derived from prometheus")


MATCHES = [
    ['http_requests_total'],
    ['{__name__=~"temp.*"}', 'up{instance="b"}'],
    ['{job="api"}'],
    ['rpc_latency_seconds', 'node_info{version=~"1.*"}'],
]


@pytest.mark.parametrize("match", MATCHES, ids=lambda m: "|".join(m))
@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST"])
def test_series_and_labels_equal_prometheus(both, match, post):
    prom, fer = both["prom"], both["fer"]
    params = [("match[]", m) for m in match]
    for path in ("/api/v1/series", "/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/label/instance/values"):
        if path.startswith("/api/v1/label/") and post:
            continue  # label values is GET only in Prometheus' API
        _, pb = get_json(prom.url, path, params, post=post)
        _, fb = get_json(fer.api, path, params, post=post)
        assert pb.get("status") == "success", f"prometheus {path}: {pb}"
        assert fb.get("status") == "success", f"ferrotel {path} {match}: {fb}"
        if path == "/api/v1/series":
            want = sorted(tuple(sorted(m.items())) for m in pb["data"])
            got = sorted(tuple(sorted(m.items())) for m in fb["data"])
        else:
            want, got = sorted(pb["data"]), sorted(fb["data"])
        assert got == want, f"{path} match[]={match}: prometheus {want} vs ferrotel {got}"


def test_unfiltered_labels_equal_prometheus(both):
    prom, fer = both["prom"], both["fer"]
    for path in ("/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/label/le/values"):
        _, pb = get_json(prom.url, path)
        _, fb = get_json(fer.api, path)
        assert fb.get("status") == "success", f"ferrotel {path}: {fb}"
        assert sorted(fb["data"]) == sorted(pb["data"]), f"{path}: prometheus {pb['data']} vs ferrotel {fb['data']}"
