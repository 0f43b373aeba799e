"""Issue 12, the seeds' demo: examples/demo/demo.py runs shopper -> grocery-store -> inventory
as three processes instrumented with the official Python SDK against a no-config ferrotel, and
what the UI's pages read is there: the three services, checkout traces with spans from all
three (and the truffle carts' error), log lines whose trace ids open stored traces, the
request-duration histogram with exemplars that open stored traces, and the service graph's
edges shopper -> grocery-store -> inventory. Expectations come from the demo's own cart
function (which visits fail, how many inventory calls each makes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from harness import REPO
from noconfig import NoConfigFerrotel
from store_harness import poll

DEMO_DIR = REPO / "examples" / "demo"
sys.path.insert(0, str(DEMO_DIR))
import demo  # noqa: E402  (the cart function: what each visit buys)

VISITS = 5
SERVICES = {demo.SHOPPER, demo.STORE, demo.INVENTORY}
CARTS = [demo.cart(i) for i in range(VISITS)]
FAILED_VISITS = {i for i, c in enumerate(CARTS) if demo.FAILING_ITEM in c}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    f = NoConfigFerrotel(tmp, data_dir=tmp / "data")
    started_ms = int(time.time() * 1000)
    try:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{f.http}"}
        r = subprocess.run(
            [sys.executable, str(DEMO_DIR / "demo.py"), "--visits", str(VISITS), "--interval", "0.2"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert r.returncode == 0, f"demo.py exited {r.returncode}:\n{r.stdout}\n{r.stderr}\n{f.output()}"
        assert f"{VISITS} visits, {VISITS - len(FAILED_VISITS)} checkouts, {len(FAILED_VISITS)} failed" in r.stdout, r.stdout
        yield f, started_ms
    finally:
        f.stop()


def test_the_demo_fails_some_but_not_all_checkouts():
    assert FAILED_VISITS and len(FAILED_VISITS) < VISITS, CARTS


def checkout_traces(f: NoConfigFerrotel) -> list[dict]:
    """The shopper's traces, whole (by id), once every one has its inventory spans."""
    found = f.json("/api/traces", {"service": demo.SHOPPER, "operation": "checkout", "limit": 20})["data"]
    if len(found) != VISITS:
        return []
    out = []
    for t in found:
        whole = f.json(f"/api/traces/{t['traceID']}")["data"][0]
        services = {whole["processes"][s["processID"]]["serviceName"] for s in whole["spans"]}
        if services != SERVICES:
            return []
        out.append(whole)
    return out


def tag(span: dict, key: str):
    return next((t["value"] for t in span["tags"] if t["key"] == key), None)


def test_services_and_checkout_traces_span_all_three_services_with_the_error(ran):
    f, _ = ran
    assert SERVICES <= set(f.json("/api/services")["data"])
    traces = poll(lambda: checkout_traces(f), 60, "five checkout traces with spans of all three services")
    failed = 0
    for t in traces:
        by_service = Counter(t["processes"][s["processID"]]["serviceName"] for s in t["spans"])
        roots = [s for s in t["spans"] if not s.get("references")]
        assert [(r["operationName"], t["processes"][r["processID"]]["serviceName"]) for r in roots] == [("checkout", demo.SHOPPER)]
        visit = tag(roots[0], "shopper.visit")
        items = CARTS[visit]
        # one SERVER span and one database span per item in inventory, a CLIENT span per item
        # plus the SERVER span in the grocery-store, the root and its CLIENT span in the shopper
        assert by_service == {demo.SHOPPER: 2, demo.STORE: 1 + len(items), demo.INVENTORY: 2 * len(items)}, (visit, by_service)
        errors = [s for s in t["spans"] if tag(s, "otel.status_code") == "ERROR"]
        if visit in FAILED_VISITS:
            failed += 1
            names = {(t["processes"][s["processID"]]["serviceName"], s["operationName"]) for s in errors}
            assert (demo.INVENTORY, "GET /stock/{item}") in names, names
            assert (demo.INVENTORY, "SELECT stock") in names, names
            assert (demo.SHOPPER, "checkout") in names, names
            db = next(s for s in errors if s["operationName"] == "SELECT stock")
            assert any(
                any(fld["key"] == "exception.type" and fld["value"] == "TimeoutError" for fld in log["fields"]) for log in db["logs"]
            ), db["logs"]
        else:
            assert errors == [], (visit, errors)
    assert failed == len(FAILED_VISITS)
    # the search by status finds exactly the failed carts
    errs = f.json("/api/traces", {"service": demo.SHOPPER, "tags": '{"error":"true"}', "limit": 20})["data"]
    assert len(errs) == len(FAILED_VISITS)


def test_log_lines_carry_trace_ids_that_open_stored_traces(ran):
    f, started_ms = ran
    params = {"query": f'{{service_name="{demo.INVENTORY}"}}', "limit": 1000, "start": started_ms * 1_000_000, "end": (int(time.time()) + 60) * 10**9}

    def lines():
        got = [
            (s["stream"], line)
            for s in f.json("/loki/api/v1/query_range", params)["data"]["result"]
            for _, line in s["values"]
        ]
        wanted = sum(len(c) for c in CARTS)  # one line per lookup: its stock, or its failure
        return got if len(got) >= wanted else []

    got = poll(lines, 60, "inventory's log lines")
    error_lines = [(st, line) for st, line in got if st.get("severity_text") == "ERROR"]
    assert len(error_lines) == len(FAILED_VISITS), error_lines
    assert all(f"stock lookup for {demo.FAILING_ITEM} failed" in line for _, line in error_lines)
    for stream, line in got:
        assert len(stream.get("trace_id", "")) == 32 and len(stream.get("span_id", "")) == 16, (stream, line)
    # the error line's trace is stored, holds the line's span, and that span failed
    for stream, _ in error_lines:
        t = f.json(f"/api/traces/{stream['trace_id']}")["data"][0]
        span = next(s for s in t["spans"] if s["spanID"] == stream["span_id"])
        assert span["operationName"] == "SELECT stock" and tag(span, "otel.status_code") == "ERROR"
    # LogQL's structured-metadata filter finds a trace's lines (what the trace view asks)
    tid = error_lines[0][0]["trace_id"]
    q = {**params, "query": f'{{service_name="{demo.INVENTORY}"}} | trace_id="{tid}"'}
    res = f.json("/loki/api/v1/query_range", q)["data"]["result"]
    assert {s["stream"]["trace_id"] for s in res} == {tid}


def test_the_latency_histogram_has_exemplars_that_open_stored_traces(ran):
    f, started_ms = ran
    query = 'http_server_request_duration_seconds_bucket{job="grocery/grocery-store"}'

    def exemplars():
        res = f.json("/api/v1/query_exemplars", {"query": query, "start": started_ms / 1000 - 60, "end": time.time() + 60})["data"]
        return [e for s in res for e in s["exemplars"]]

    ex = poll(exemplars, 60, "exemplars on the grocery-store's request duration")
    for e in ex:
        t = f.json(f"/api/traces/{e['labels']['trace_id']}")["data"][0]
        span = next(s for s in t["spans"] if s["spanID"] == e["labels"]["span_id"])
        assert span["operationName"] == "GET /checkout" and tag(span, "span.kind") == "server"
        assert float(e["value"]) * 1e6 <= span["duration"] + 1e4  # recorded inside the span
    # the histogram is in seconds and counts every checkout request
    count = f.json("/api/v1/query", {"query": 'sum(http_server_request_duration_seconds_count{job="grocery/grocery-store"})'})
    assert float(count["data"]["result"][0]["value"][1]) == VISITS


def test_the_service_graph_has_the_edges_shopper_grocery_store_inventory(ran):
    f, _ = ran
    lookups = sum(len(c) for c in CARTS)
    want = {(demo.SHOPPER, demo.STORE): VISITS, (demo.STORE, demo.INVENTORY): lookups}

    def edges():
        res = f.json("/api/v1/query", {"query": "sum by (client, server) (traces_service_graph_request_total)"})["data"]["result"]
        got = {(r["metric"]["client"], r["metric"]["server"]): float(r["value"][1]) for r in res}
        return got if all(got.get(k) == v for k, v in want.items()) else None

    # derived metrics are flushed every 15 s
    got = poll(edges, 90, f"service-graph edges {want}", interval=1)
    failed = f.json("/api/v1/query", {"query": "sum by (client, server) (traces_service_graph_request_failed_total)"})["data"]["result"]
    failed = {(r["metric"]["client"], r["metric"]["server"]): float(r["value"][1]) for r in failed}
    assert failed.get((demo.STORE, demo.INVENTORY)) == len(FAILED_VISITS), (failed, got)
    # the RED metrics of each service's SERVER spans count its requests
    calls = f.json("/api/v1/query", {"query": 'sum by (service_name) (traces_span_metrics_calls_total{span_kind="SPAN_KIND_SERVER"})'})
    calls = {r["metric"]["service_name"]: float(r["value"][1]) for r in calls["data"]["result"]}
    assert calls == {demo.STORE: VISITS, demo.INVENTORY: lookups}, calls
