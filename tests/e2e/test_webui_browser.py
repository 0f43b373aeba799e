"""The web UI in a real browser: headless Chromium from Debian's packages (/usr/bin/chromium),
driven by Playwright for Python against `ferrotel` started with no --config, after the seeds' demo
(examples/demo/demo.py) sent its telemetry
(shopper -> grocery-store -> inventory, one failing inventory lookup per round).

Driver: Playwright (PyPI `playwright`, pinned in requirements.txt) launched with
`executable_path=/usr/bin/chromium`; `playwright install` is never run, so no browser is
downloaded. Playwright over Selenium because its locators wait for the client-side routed
pages by themselves (no sleeps), it clicks SVG elements (scatter dots, exemplars) like a
user, and it needs no chromedriver whose version must match the browser.

Each test asserts one thing the issue's "Done when" names, with expectations derived from
what the SDK sent (trace ids, span nesting, the error span, log bodies); each page is
screenshotted at 1280x800 into $FERROTEL_ARTIFACTS/webui/ (default tests/e2e/artifacts/webui/).

Skipped only when /usr/bin/chromium is absent and FERROTEL_REQUIRE_BROWSER is unset
(scripts/test.sh sets it, so CI fails instead of skipping).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

import seed_demo
from harness import REPO
from noconfig import NoConfigFerrotel
from store_harness import get_json, poll

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = bool(os.environ.get("FERROTEL_REQUIRE_BROWSER"))
if not CHROMIUM.exists():
    if REQUIRED:
        raise RuntimeError(f"FERROTEL_REQUIRE_BROWSER is set but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set FERROTEL_REQUIRE_BROWSER=1 to fail instead", allow_module_level=True)

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("the playwright package is missing (pip install -r tests/e2e/requirements.txt)", allow_module_level=True)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
ARTIFACTS = Path(os.environ.get("FERROTEL_ARTIFACTS", Path(__file__).resolve().parent / "artifacts")) / "webui"
# generous: derived metrics are flushed every 15 s, and the machine may be loaded
DERIVED_DEADLINE_S = 60
UI_TIMEOUT_MS = 20_000


# ---------------------------------------------------------------- ferrotel
class Started(NoConfigFerrotel):
    """`ferrotel` without --config (noconfig.py: every address and the data directory moved by
    the documented --set flags), under the names this test uses."""

    def __init__(self, workdir: Path):
        super().__init__(workdir, data_dir=workdir / "store")
        self.api, self.grpc_port, self.http_port = self.base, self.grpc, self.http


START = Started


def _rates(api: str) -> dict[str, float]:
    """Request rate per service, as the services page computes it."""
    q = (
        'sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"}[1h]))'
        " or sum by (service_name) (rate(traces_span_metrics_calls_total[1h]))"
    )
    status, body = get_json(api, "/api/v1/query", {"query": q})
    if status != 200:
        return {}
    return {r["metric"].get("service_name", ""): float(r["value"][1]) for r in body["data"]["result"]}


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent: str | None  # parent span id (hex) within the trace
    name: str
    service: str
    error: bool
    status_description: str


@dataclass
class Log:
    body: str
    trace_id: str
    span_id: str
    service: str
    level: str


class Demo:
    """ferrotel plus the telemetry the seeds' services sent to it, as plain records."""

    def __init__(self, f, spans: list[Span], logs: list[Log]):
        self.f = f
        self.api = f.api
        self.spans = spans
        self.logs = logs
        self.traces = sorted({s.trace_id for s in spans})
        # the failed traces, newest last
        first = {}
        for i, s in enumerate(spans):
            first.setdefault(s.trace_id, i)
        self.error_traces = sorted({s.trace_id for s in spans if s.error}, key=lambda t: first[t])

    def url(self, path: str, **params) -> str:
        qs = urllib.parse.urlencode({k: v for k, v in params.items() if v})
        return f"{self.api}{path}{'?' + qs if qs else ''}"

    def root_operation(self) -> str:
        return next(s.name for s in self.spans if s.parent is None)

    def spans_of(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    def logs_of(self, trace_id: str, span_id: str | None = None) -> list[Log]:
        return [r for r in self.logs if r.trace_id == trace_id and (span_id is None or r.span_id == span_id)]


def _from_seed(rounds) -> tuple[list[Span], list[Log]]:
    """What the in-process SDK exported (tests/e2e/seed_demo.py), read from its exporters."""
    spans = [
        Span(
            trace_id=f"{s.context.trace_id:032x}",
            span_id=f"{s.context.span_id:016x}",
            parent=f"{s.parent.span_id:016x}" if s.parent is not None else None,
            name=s.name,
            service=s.resource.attributes["service.name"],
            error=s.status.status_code.name == "ERROR",
            status_description=s.status.description or "",
        )
        for r in rounds
        for s in sorted(r.spans, key=lambda x: x.start_time)
    ]
    logs = [
        Log(
            body=str(x.log_record.body),
            trace_id=f"{x.log_record.trace_id:032x}" if x.log_record.trace_id else "",
            span_id=f"{x.log_record.span_id:016x}" if x.log_record.span_id else "",
            service=x.resource.attributes["service.name"],
            level=(x.log_record.severity_text or "").lower(),
        )
        for r in rounds
        for x in r.logs
    ]
    return spans, logs


def _send_seed(f) -> tuple[list[Span], list[Log]]:
    grpc = f"127.0.0.1:{f.grpc_port}"
    rounds = [seed_demo.send(grpc)]
    # a rate needs two flushes of the derived counters (every 15 s) with more spans in the
    # second: wait until the first flush has the three services, then send a second round
    poll(lambda: set(seed_demo.SERVICES) <= _services_with_metrics(f.api), DERIVED_DEADLINE_S, "derived span metrics for the three services")
    rounds.append(seed_demo.send(grpc))
    for r in rounds:
        assert not r.failures, r.failures
    return _from_seed(rounds)


DEMO_PY = REPO / "examples" / "demo" / "demo.py"
DEMO_VISITS = 24  # one a second: the spans straddle at least one 15 s flush of the derived metrics


def _send_examples_demo(f) -> tuple[list[Span], list[Log]]:
    """uiback's examples/demo/demo.py (three processes over HTTP, OTLP/HTTP export); what it
    sent is read back from the store's Jaeger and Loki APIs."""
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{f.http_port}")
    t0 = time.time()
    run = subprocess.run([sys.executable, str(DEMO_PY), "--visits", str(DEMO_VISITS), "--interval", "1"], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, f"demo.py exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    start_us, end_us = int((t0 - 60) * 1e6), int((time.time() + 60) * 1e6)

    def traces():
        _, b = get_json(f.api, "/api/traces", {"service": "shopper", "operation": "checkout", "limit": "1000", "start": str(start_us), "end": str(end_us)})
        return b.get("data") or []

    data = poll(lambda: (d := traces()) and len(d) >= DEMO_VISITS and d, DERIVED_DEADLINE_S, f"{DEMO_VISITS} checkout traces in the store")
    spans = []
    for t in data:
        ids = {x["spanID"] for x in t["spans"]}
        for x in sorted(t["spans"], key=lambda x: x["startTime"]):
            tags = {k["key"]: k["value"] for k in x.get("tags") or []}
            parent = next((r["spanID"] for r in x.get("references") or [] if r["refType"] == "CHILD_OF" and r["spanID"] in ids), None)
            spans.append(
                Span(
                    trace_id=t["traceID"],
                    span_id=x["spanID"],
                    parent=parent,
                    name=x["operationName"],
                    service=t["processes"][x["processID"]]["serviceName"],
                    error=tags.get("error") in (True, "true") or str(tags.get("otel.status_code", "")).upper() == "ERROR",
                    status_description=str(tags.get("otel.status_description", "")),
                )
            )
    _, b = get_json(f.api, "/loki/api/v1/query_range", {"query": '{service_name=~".+"}', "limit": "5000", "start": str(start_us * 1000), "end": str(end_us * 1000)})
    logs = [
        Log(body=line, trace_id=st["stream"].get("trace_id", ""), span_id=st["stream"].get("span_id", ""), service=st["stream"].get("service_name", ""), level=st["stream"].get("detected_level", ""))
        for st in b["data"]["result"]
        for _, line, *_ in st["values"]
    ]
    return spans, logs


# The seeds' demo as a newcomer runs it (examples/demo/demo.py, three processes); the
# in-process emulation of the same services with FERROTEL_UI_DEMO=seed.
SEND = _send_seed if os.environ.get("FERROTEL_UI_DEMO") == "seed" else _send_examples_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    f = START(tmp_path_factory.mktemp("webui"))
    try:
        spans, logs = SEND(f)
        poll(lambda: all(_rates(f.api).get(s, 0) > 0 for s in seed_demo.SERVICES), DERIVED_DEADLINE_S, "non-zero request rates for the three services")
        poll(lambda: _edges(f.api) >= {("shopper", "grocery-store"), ("grocery-store", "inventory")}, DERIVED_DEADLINE_S, "service graph edges")
        d = Demo(f, spans, logs)
        assert d.error_traces, "the seeds send failing checkouts"
        yield d
    except BaseException:
        print(f.output())
        raise
    finally:
        f.stop()


def _services_with_metrics(api: str) -> set[str]:
    status, body = get_json(api, "/api/v1/label/service_name/values", {"match[]": "traces_span_metrics_calls_total"})
    return set(body.get("data") or []) if status == 200 else set()


def _edges(api: str) -> set[tuple[str, str]]:
    status, body = get_json(api, "/api/v1/query", {"query": "traces_service_graph_request_total"})
    if status != 200:
        return set()
    return {(r["metric"]["client"], r["metric"]["server"]) for r in body["data"]["result"]}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport=VIEWPORT)
    pg = ctx.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    yield pg
    ctx.close()
    # no page may throw: errors are shown in the page, never as uncaught exceptions
    assert not [e for e in errors if e.startswith("uncaught")], errors


def settled(page) -> None:
    """Waits until the view of the current URL is rendered (app.js sets data-url and
    aria-busy on <main>): lists read right after a navigation are the new view's."""
    page.wait_for_function(
        "() => { const m = document.getElementById('main');"
        " return m && m.getAttribute('aria-busy') === 'false' && m.dataset.url === location.pathname + location.search; }"
    )


def visit(page, url: str) -> None:
    page.goto(url)
    settled(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# ---------------------------------------------------------------- tests
def test_services_page_lists_the_three_services_with_non_zero_rates(demo, page):
    visit(page, demo.url("/ui/services"))
    table = page.locator("#services-table")
    expect(table).to_be_visible()
    for svc in seed_demo.SERVICES:
        row = table.locator(f'tr[data-service="{svc}"]')
        expect(row).to_have_count(1)
        rate = row.locator("td.rate").inner_text()
        assert re.fullmatch(r"[0-9.]+[kMG]?", rate) and float(re.sub(r"[kMG]$", "", rate)) > 0, f"{svc}: rate {rate!r}"
    shot(page, "services")
    # one service, its operations (the inventory's failing lookups show an error rate)
    table.locator('tr[data-service="inventory"] a').click()
    expect(page).to_have_url(re.compile(r"/ui/services/inventory"))
    settled(page)
    expect(page.locator("table.ops")).to_contain_text("GET /stock")
    shot(page, "service-inventory")


def test_search_finds_the_failed_trace_and_its_waterfall_nests_the_spans_and_marks_the_error(demo, page):
    root_op = demo.root_operation()
    visit(page, demo.url("/ui/traces"))
    form = page.locator("#trace-search")
    form.locator('select[name="service"]').select_option("shopper")
    # the operation list is replaced by the shopper's
    _, ops = get_json(demo.api, "/api/services/shopper/operations")
    assert root_op in ops["data"], ops
    expect(form.locator('select[name="operation"] option')).to_have_count(1 + len(ops["data"]))
    form.locator('select[name="operation"]').select_option(root_op)
    form.locator('select[name="status"]').select_option("error")
    form.locator('input[name="tags"]').press("Enter")  # Enter submits
    expect(page).to_have_url(re.compile(r"status=error"))
    expect(page).to_have_url(re.compile("operation=" + re.escape(urllib.parse.quote_plus(root_op))))
    settled(page)
    error_trace = demo.error_traces[-1]
    item = page.locator(f'#trace-list li[data-trace="{error_trace}"]')
    expect(item).to_be_visible()
    # only failed traces match status=error
    ids = page.locator("#trace-list li").evaluate_all("els => els.map(e => e.dataset.trace)")
    assert set(ids) <= set(demo.error_traces), ids
    expect(page.locator("svg.scatter .dot.error").first).to_be_visible()
    shot(page, "traces")

    # a scatter dot opens its trace (from the keyboard: dots of close traces overlap)
    page.locator(f'svg.scatter .dot[aria-label*="{error_trace}"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/ui/trace/{error_trace}"))
    settled(page)
    page.go_back()
    settled(page)

    item.locator("a").first.click()
    expect(page).to_have_url(re.compile(f"/ui/trace/{error_trace}"))
    settled(page)
    wf = page.locator("#waterfall")
    expect(wf).to_be_visible()
    spans = demo.spans_of(error_trace)
    by_id = {s.span_id: s for s in spans}

    def depth(s):
        d = 0
        while s.parent is not None and s.parent in by_id:
            s = by_id[s.parent]
            d += 1
        return d

    expect(wf.locator(".span")).to_have_count(len(spans))
    for s in spans:
        row = wf.locator(f'.span[data-span="{s.span_id}"]')
        assert row.get_attribute("data-depth") == str(depth(s)), f"{s.service} {s.name}: depth"
        cls = row.get_attribute("class")
        assert ("error" in cls.split()) == s.error, f"{s.service} {s.name}: class {cls}"
        if s.error:
            expect(row.locator(".err-icon").first).to_be_visible()
    assert max(depth(s) for s in spans) >= 2, "the seeds' trace nests three levels"
    shot(page, "trace")

    # collapsing the root hides its descendants
    root = next(s for s in spans if depth(s) == 0)
    wf.locator(f'.span[data-span="{root.span_id}"] .twisty').first.click()
    expect(wf.locator(".span")).to_have_count(1)


def test_clicking_a_log_lines_trace_id_opens_that_trace(demo, page):
    # an ERROR line written inside a failed checkout
    failing = next(r for t in reversed(demo.error_traces) for r in demo.logs_of(t) if r.level == "error")
    tid = failing.trace_id
    visit(page, demo.url("/ui/logs", query=f'{{service_name="{failing.service}"}}'))
    line = page.locator("#log-list li.log", has_text=failing.body.splitlines()[0]).filter(has=page.locator(f'[data-trace="{tid}"]'))
    expect(line).to_have_count(1)
    assert line.get_attribute("data-level") == "error"
    expect(page.locator(".card svg.bars rect").first).to_be_attached()
    # expanding a record shows all its labels and structured metadata
    line.locator("button.expand").click()
    expect(line.locator("dl.labels")).to_contain_text(tid)
    shot(page, "logs")
    line.locator(f'[data-trace="{tid}"]').click()
    expect(page).to_have_url(re.compile(f"/ui/trace/{tid}"))
    expect(page.locator("#waterfall")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(tid)


def test_trace_view_shows_the_spans_logs(demo, page):
    tid = demo.error_traces[-1]
    spans = demo.spans_of(tid)
    # the failed span that wrote log lines (else any span that did)
    err = next((s for s in spans if s.error and demo.logs_of(tid, s.span_id)), None) or next(s for s in spans if demo.logs_of(tid, s.span_id))
    want = [r.body for r in demo.logs_of(tid, err.span_id)]
    visit(page, demo.url(f"/ui/trace/{tid}"))
    # the trace's logs, all of them, below the waterfall
    trace_logs = page.locator("#trace-log-list li.log")
    expect(trace_logs).to_have_count(len(demo.logs_of(tid)))
    # select the span: its details list its own log lines
    page.locator(f'#waterfall .span[data-span="{err.span_id}"] .span-name').click()
    expect(page).to_have_url(re.compile(f"span={err.span_id}"))
    settled(page)
    details = page.locator("#span-details")
    expect(details).to_be_visible()
    expect(details.locator(".span-logs li.log")).to_have_count(len(want))
    for body in want:
        expect(details.locator(".span-logs")).to_contain_text(body.splitlines()[0])
    if err.status_description:
        expect(details).to_contain_text(err.status_description)
    expect(details.locator(".links a", has_text="metrics")).to_have_attribute("href", re.compile(f"/ui/services/{re.escape(err.service)}\\?"))
    shot(page, "trace-span")


def test_service_graph_shows_shopper_to_grocery_store_to_inventory(demo, page):
    visit(page, demo.url("/ui/graph"))
    for a, b in (("shopper", "grocery-store"), ("grocery-store", "inventory")):
        edge = page.locator(f'svg.graph g.edge[data-from="{a}"][data-to="{b}"]')
        expect(edge).to_have_count(1)
        label = edge.locator("text").text_content()
        assert re.search(r"[1-9][0-9]* req", label), label
    for svc in seed_demo.SERVICES:
        expect(page.locator(f'svg.graph g.node[data-service="{svc}"]')).to_have_count(1)
    # the failing lookups mark the grocery-store -> inventory edge
    expect(page.locator('g.edge.error[data-to="inventory"]')).to_have_count(1)
    shot(page, "graph")


def test_latency_chart_shows_exemplars_and_one_opens_its_trace(demo, page):
    visit(page, demo.url("/ui/metrics", query='traces_span_metrics_duration_seconds{service_name="grocery-store"}'))
    ex = page.locator("svg.chart .exemplar")
    expect(ex.first).to_be_attached()
    labels = ex.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    ids = {m.group(1) for l in labels if (m := re.search(r"trace ([0-9a-f]{32})", l))}
    assert ids and ids <= set(demo.traces), f"exemplar traces {ids} not among the sent {demo.traces}"
    shot(page, "metrics")
    label = labels[-1]
    tid = re.search(r"trace ([0-9a-f]{32})", label).group(1)
    ex.last.click()
    expect(page).to_have_url(re.compile(f"/ui/trace/{tid}"))
    expect(page.locator("#waterfall")).to_be_visible()


def test_collector_page_shows_accepted_counts(demo, page):
    status, body = get_json(demo.api, "/api/ferrotel/collector")
    assert status == 200 and "metrics" in body, f"/api/ferrotel/collector has no self-metrics (uiback's collector_status not on this binary?): {json.dumps(body)[:500]}"
    visit(page, demo.url("/ui/collector"))
    expect(page.locator("svg.pipelines")).to_be_visible()
    cell = page.locator('tr[data-component="receiver/otlp"] td[data-field="accepted"]')
    expect(cell).to_be_visible()
    accepted = int(re.match(r"[0-9]+", cell.inner_text().replace(",", "")).group(0))
    sent_items = len(demo.spans) + len(demo.logs)
    assert accepted >= sent_items, f"otlp accepted {accepted}, the seeds sent {sent_items} spans and logs"
    # the second poll (5 s later) adds a rate
    expect(cell).to_contain_text("/s", timeout=20_000)
    shot(page, "collector")


def test_every_view_is_a_deep_link_and_back_forward_work(demo, page):
    visit(page, demo.url("/ui/services", refresh="30s"))
    expect(page.locator("#services-table")).to_be_visible()
    # the time-range picker writes the URL
    page.locator("#range").select_option("now-15m")
    expect(page).to_have_url(re.compile(r"from=now-15m"))
    expect(page.locator("#services-table")).to_be_visible()
    # nav links carry the shared time range and refresh
    page.locator("#nav a", has_text="Graph").click()
    expect(page).to_have_url(re.compile(r"/ui/graph\?.*from=now-15m"))
    expect(page).to_have_url(re.compile(r"refresh=30s"))
    page.locator("#nav a", has_text="Logs").click()
    expect(page).to_have_url(re.compile(r"/ui/logs"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/ui/graph"))
    expect(page.locator("svg.graph")).to_be_visible()
    page.go_forward()
    expect(page.locator("#logql")).to_be_visible()
    # `/` focuses the page's query box
    page.locator("main").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("#logql")).to_be_focused()
    # an unknown trace is a readable message, not a blank page
    visit(page, demo.url("/ui/trace/0123456789abcdef0123456789abcdef"))
    expect(page.locator("main .msg")).to_contain_text("not in the store")


def test_logs_live_tail_shows_new_lines(demo, page):
    service = f"live-tail-{uuid.uuid4().hex[:8]}"
    visit(page, demo.url("/ui/logs", query=f'{{service_name="{service}"}}', live="1"))
    expect(page.locator("#live")).to_be_checked()
    expect(page.locator("#log-list")).to_be_attached()
    expect(page.locator("#log-list li.log")).to_have_count(0)
    body = f"a line sent while tailing {uuid.uuid4().hex}"
    tid = uuid.uuid4().hex
    now_ns = time.time_ns()
    payload = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeLogs": [{"logRecords": [{"timeUnixNano": str(now_ns), "severityNumber": 13, "severityText": "WARN", "body": {"stringValue": f"{body} trace_id={tid}"}}]}],
            }
        ]
    }
    req = urllib.request.Request(f"http://127.0.0.1:{demo.f.http_port}/v1/logs", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    line = page.locator("#log-list li.log", has_text=body)
    expect(line).to_have_count(1)
    assert line.get_attribute("data-level") == "warn"
    # `trace_id=<hex>` in the body becomes a link to that trace, as Grafana's derived field
    expect(line.locator(f'[data-trace="{tid}"]')).to_be_visible()
