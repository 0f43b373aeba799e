"""The logs path of a Kubernetes node agent, end to end, with the two real agent configs
(shared/configs/seed-agent-filelog.yaml and seed-agent-filelog-multiformat.yaml) changed only
in the include path (a temporary /var/log/pods-shaped tree), the endpoints (loki -> a Loki push
endpoint inside the test, otlp -> a free port, the receivers' ${env:MY_POD_IP} -> 127.0.0.1 via
the environment on free ports, self-metrics on a free port) and, where a test needs it,
`storage: file_storage` with an extension on a temporary directory.

What a Go agent would push is taken from the Go collector itself where it can run: its filelog
receiver (otelcol-contrib 0.135, which has no loki exporter) reads the same files with the same
receiver config, and loki_expect turns its records into the streams, lines and timestamps the Go
loki exporter makes of them. Independently of Go, every line written carries a token `#x12#`
that must reach Loki exactly once with the container timestamp it was written with."""

from __future__ import annotations

import collections
import copy
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

import loki_expect
import pod_logs
from harness import BIN, Ferrotel, ferrotel_env, free_port, metric_sum, scrape
from loki_sink import LokiSink
from otlp_sink import Sink
from pod_logs import cri_line, docker_line, pod_dir

SEED = "seed-agent-filelog.yaml"
MULTI = "seed-agent-filelog-multiformat.yaml"
# 2024-05-01T12:00:00Z
BASE_NS = 1_714_564_800 * 1_000_000_000
TOKEN = re.compile(r"#([a-z]+\d+)#")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def seed(name: str) -> dict:
    return yaml.safe_load((pod_logs.SHARED_CONFIGS / name).read_text())


# ---- pod log files ----------------------------------------------------------------------
class PodLog:
    """One container's log file, written in its runtime's format. Every line gets the next
    timestamp (distinct nanoseconds, so that the full precision is checked)."""

    _clock = 0
    _lock = threading.Lock()

    def __init__(self, root: Path, namespace: str, pod: str, container: str, fmt: str, restart: int = 0, uid: str | None = None):
        self.fmt = fmt
        self.namespace, self.pod, self.container = namespace, pod, container
        self.uid = uid or pod_logs.UIDS.get(fmt, pod_logs.UIDS["containerd"])
        self.path = pod_dir(root, namespace, pod, self.uid, container) / f"{restart}.log"
        self.times: dict[str, int] = {}  # token -> timestamp (ns) of the line that starts with it

    @classmethod
    def next_ns(cls) -> int:
        with cls._lock:
            cls._clock += 1
            return BASE_NS + cls._clock * 1_000_001 + 7

    def _time(self, ns: int) -> str:
        """RFC 3339 with nanoseconds: UTC `Z` for containerd and docker, a +02:00 / -05:00
        offset for CRI-O (the seed parses CRI-O times with a gotime layout honouring it)."""
        offset = {"crio": dt.timedelta(hours=2 if ns % 2 else -5)}.get(self.fmt, dt.timedelta(0))
        t = dt.datetime.fromtimestamp(ns // 1_000_000_000, dt.timezone(offset))
        tz = "Z" if not offset else t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}" + tz

    def line(self, text: str, tag: str = "F", stream: str = "stdout") -> str:
        ns = self.next_ns()
        m = TOKEN.match(text)
        if m and m.group(1) not in self.times:
            self.times[m.group(1)] = ns
        if self.fmt == "docker":
            # docker's json-file driver ends every full line's text with \n, a partial without
            return docker_line(self._time(ns), stream, text + ("\n" if tag == "F" else ""))
        return cri_line(self._time(ns), stream, tag, text)

    def write(self, *lines: str) -> None:
        """One write() for all: P and F parts land in the same poll."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(lines))

    def say(self, *texts: str, tag: str = "F") -> None:
        self.write(*(self.line(t, tag) for t in texts))


class SteadyWriter(threading.Thread):
    """Appends `#<prefix><n># ...` lines to a pod log at a steady rate until stopped, as a
    busy container would; `rotate_at` renames the file and starts a new one (kubelet's
    rotation) after that many lines."""

    def __init__(self, log: PodLog, prefix: str, rate: float = 200.0, limit: int | None = None, rotate_at: int | None = None):
        super().__init__(daemon=True)
        self.log, self.prefix, self.interval, self.limit, self.rotate_at = log, prefix, 1.0 / rate, limit, rotate_at
        self.tokens: list[str] = []
        self.halt = threading.Event()
        self.rotated_to: Path | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            n = 0
            next_at = time.monotonic()
            while not self.halt.is_set() and (self.limit is None or n < self.limit):
                if self.rotate_at is not None and n == self.rotate_at:
                    self.rotated_to = self.log.path.with_name(self.log.path.name + ".20240501-120000")
                    os.rename(self.log.path, self.rotated_to)
                tok = f"{self.prefix}{n}"
                self.log.say(f"#{tok}# steady line {n} " + "x" * 60)
                self.tokens.append(tok)
                n += 1
                next_at += self.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        except BaseException as e:  # surfaced by finish()
            self.error = e

    def finish(self) -> list[str]:
        self.halt.set()
        self.join(10)
        if self.error:
            raise self.error
        return self.tokens


# ---- the agent under test ---------------------------------------------------------------
def agent_config(seed_name: str, root: Path, loki: LokiSink, *, storage: Path | None = None, loki_extra: dict | None = None) -> dict:
    """The seed config with only the include path, endpoints and (optionally) storage changed."""
    cfg = seed(seed_name)
    fl = cfg["receivers"]["filelog"]
    fl["include"] = [str(root / "var/log/pods") + "/" + p.split("/var/log/pods/", 1)[1] for p in fl["include"]]
    for proto in cfg["receivers"]["otlp"]["protocols"].values():
        proto["endpoint"] = "${env:MY_POD_IP}:" + str(free_port())
    cfg["exporters"]["loki"]["endpoint"] = loki.endpoint
    cfg["exporters"]["loki"].update(loki_extra or {})
    cfg["exporters"]["otlp"]["endpoint"] = f"127.0.0.1:{free_port()}"  # nothing sends traces
    telemetry = cfg["service"].setdefault("telemetry", {})
    telemetry["metrics"] = {"level": "detailed", "readers": [{"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": free_port()}}}}]}
    if storage is not None:
        fl["storage"] = "file_storage"
        cfg.setdefault("extensions", {})["file_storage"] = {"directory": str(storage)}
        cfg["service"]["extensions"] = ["file_storage"]
    return cfg


class Agent:
    """ferrotel running an agent config; can be stopped and started again on the same config."""

    def __init__(self, tmp: Path, cfg: dict, monkeypatch):
        monkeypatch.setenv("MY_POD_IP", "127.0.0.1")
        self.tmp, self.cfg, self.runs = tmp, cfg, 0
        self.proc: Ferrotel | None = None
        self.start()

    @property
    def metrics_port(self) -> int:
        return self.cfg["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"]

    def start(self) -> None:
        ports = [int(p["endpoint"].rsplit(":", 1)[1]) for p in self.cfg["receivers"]["otlp"]["protocols"].values()]
        self.runs += 1
        self.proc = Ferrotel(self.tmp, self.cfg, ports + [self.metrics_port], name=f"ferrotel{self.runs}")

    def output(self) -> str:
        return self.proc.output() if self.proc else ""

    def log_text(self) -> str:
        return self.proc.log_path.read_bytes().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


@pytest.fixture
def loki():
    s = LokiSink()
    yield s
    s.stop()


def go_filelog(tmp: Path, receiver: dict, sink: Sink) -> pod_logs.GoCollector:
    """The Go collector's filelog receiver with the same receiver config, into `sink`."""
    cfg = {
        "receivers": {"filelog": receiver},
        "exporters": {"otlphttp": {"endpoint": sink.http_endpoint, "encoding": "json"}},
        "service": {"telemetry": {"metrics": {"level": "none"}}, "pipelines": {"logs": {"receivers": ["filelog"], "exporters": ["otlphttp"]}}},
    }
    return pod_logs.GoCollector(tmp, cfg, name="otelcol-go")


def go_records(sink: Sink) -> list[dict]:
    return pod_logs.records(sink.requests("logs"))


# ---- checks -----------------------------------------------------------------------------
def tokens_in(entries) -> collections.Counter:
    c = collections.Counter()
    for e in entries:
        c.update(set(TOKEN.findall(e.line)))  # the text can be in the body and an attribute
    return c


def wait_tokens(loki: LokiSink, want, timeout: float = 25.0):
    want = set(want)
    return loki.wait_for(lambda got: want <= set(tokens_in(got)), timeout)


def assert_exactly_once(entries, want, forbidden=(), context: str = "") -> None:
    got = tokens_in(entries)
    missing = sorted(t for t in want if got[t] == 0)
    dup = sorted((t, got[t]) for t in want if got[t] > 1)
    extra = sorted(t for t in forbidden if got[t])
    assert not missing and not dup and not extra, (
        f"{len(missing)} line(s) missing: {missing[:20]}\nduplicated: {dup[:20]}\nmust not arrive but did: {extra}\n{context}"
    )


def assert_timestamps(entries, logs: list[PodLog]) -> None:
    """The entry that starts with a token carries the container timestamp of its line."""
    times = {}
    for log in logs:
        times.update(log.times)
    wrong = []
    for e in entries:
        m = TOKEN.search(e.line)
        if m and m.group(1) in times and e.ts_ns != times[m.group(1)]:
            wrong.append((m.group(1), e.ts_ns, times[m.group(1)]))
    assert not wrong, f"{len(wrong)} entries with another timestamp than their line's (token, got, want): {wrong[:10]}"


def short(s: str, n: int = 300) -> str:
    return s if len(s) <= n else f"{s[:n]}...({len(s)} chars)"


def assert_same_as_go(entries, go_recs: list[dict], cfg: dict) -> None:
    """Loki got exactly the (stream, timestamp, line) entries the Go exporter would have
    pushed for the Go filelog receiver's records, after the config's processors."""
    procs = cfg["service"]["pipelines"]["logs"].get("processors", [])
    expected = [loki_expect.loki_entry(r) for r in loki_expect.apply_processors(go_recs, cfg, procs)]
    want = collections.Counter((s, ts, line) for s, ts, line in (x for x in expected if x) if ts is not None)
    # records without a timestamp get the observed time, which differs between two runs
    want_untimed = collections.Counter((s, line) for s, ts, line in (x for x in expected if x) if ts is None)
    got = collections.Counter()
    for e in entries:
        if want_untimed[(e.labels_text, e.line)] > 0:
            want_untimed[(e.labels_text, e.line)] -= 1
        else:
            got[(e.labels_text, e.ts_ns, e.line)] += 1
    missing, extra = want - got, got - want
    lines = [f"Go would push {sum(want.values())} timed entries; ferrotel pushed {sum(got.values())} such"]
    for title, c in (("missing (Go has them, ferrotel not)", missing), ("unexpected (ferrotel only)", extra)):
        for (s, ts, line), n in list(c.items())[:8]:
            lines.append(f"{title}: x{n} {s} ts={ts}\n    {short(line)}")
    assert not missing and not extra and not +want_untimed, "\n".join(lines)


def entry_of(entries, token: str):
    found = [e for e in entries if f"#{token}#" in e.line]
    assert len(found) == 1, f"{len(found)} entries carry #{token}#"
    return found[0]


# ---- 1. the seed configs deliver every line exactly once, as Go would -------------------
def test_containerd_seed_pushes_every_line_once_with_go_labels_lines_and_timestamps(tmp_path, loki, monkeypatch):
    """seed-agent-filelog.yaml (containerd only: the router drops other formats; no
    recombination, so P and F parts are records of their own) from the beginning of files
    already on the node, then a pod appearing mid-run."""
    root = tmp_path / "node"
    web = PodLog(root, "dev", "shop-web", "web", "containerd")
    web.write(
        web.line(f"#c1# hello trace_id={TRACE} level=info"),
        web.line("#c2# partial one ", tag="P"),
        web.line("#c3# and its end"),
        web.line('#c4# {"level":"error","msg":"json body","traceID":"abc","n":3}'),
        web.line("#c5# multi-byte: héllo wörld — 日本語 ✓ 🚀 <tag> & \"quoted\" \\ back\tslash"),
        web.line("#c6# " + "q" * (1024 * 1024 + 50_000)),  # longer than max_log_size (1 MiB)
        web.line("#c7# after the long line"),
    )
    other = PodLog(root, "kube-system", "coredns-7db6d8ff4d-abcde", "coredns", "containerd", restart=2)
    other.say("#c8# [INFO] plugin/reload: Running configuration SHA512")
    crio = PodLog(root, "dev", "shop-api", "api", "crio")
    crio.say("#r1# crio line is not containerd's")
    docker = PodLog(root, "dev", "shop-db", "db", "docker")
    docker.say("#d1# docker line")
    want = [f"c{i}" for i in range(1, 9)]

    cfg = agent_config(SEED, root, loki)
    go_sink = Sink()
    go = go_filelog(tmp_path, copy.deepcopy(cfg["receivers"]["filelog"]), go_sink)
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        got = wait_tokens(loki, want, timeout=20)
        assert_exactly_once(got, want, forbidden=["r1", "d1"], context=agent.output())
        # a pod appearing mid-run is read from its first line
        late = PodLog(root, "dev", "late-pod", "app", "containerd", uid="3e6f4c2e-1a2b-4c3d-8e9f-0123456789ab")
        late.say("#c9# first line of a new pod", "#c10# second")
        want += ["c9", "c10"]
        got = wait_tokens(loki, want, timeout=20)
        n_go = len(got)
        go_sink.wait_for(lambda: len(go_records(go_sink)) >= n_go, timeout=15)
        time.sleep(1.0)  # a duplicate would arrive now
        got = loki.snapshot()
        assert_exactly_once(got, want, forbidden=["r1", "d1"], context=agent.output())
        assert_timestamps(got, [web, other, late])
        assert_same_as_go(got, go_records(go_sink), cfg)

        # The same written out from the Go rules, for one line: resource labels from the
        # resource processor's hint plus the default `exporter`, no `resources` left in the
        # line (all of them are labels), the record's attributes sorted, the body the raw line.
        e = entry_of(got, "c1")
        assert e.labels_text == (
            f'{{cluster="minikube", container="web", exporter="OTLP", filename="{web.path}", namespace="dev", pod="shop-web"}}'
        )
        body = next(l for l in web.path.read_text(encoding="utf-8").splitlines() if "#c1#" in l)
        time_str = body.split(" ", 1)[0]
        assert e.line == (
            '{"body":' + loki_expect.go_json(body) + ',"attributes":{"log":' + loki_expect.go_json(body.split(" F ", 1)[1])
            + f',"logtag":"F","restart_count":"0","stream":"stdout","time":"{time_str}","uid":"{web.uid}"}}}}'
        )
        # the line longer than max_log_size: filelog cuts it after 1 MiB (1048576 bytes of the
        # file line); the first piece is a containerd line, the rest is not and the router
        # drops it (Go does the same).
        big = json.loads(entry_of(got, "c6").line)
        assert len(big["body"]) == 1024 * 1024 and big["attributes"]["logtag"] == "F"
    finally:
        agent.stop()
        go.stop()
        go_sink.stop()


def test_multiformat_seed_pushes_every_line_once_through_rotation_copytruncate_and_new_pods(tmp_path, loki, monkeypatch):
    """seed-agent-filelog-multiformat.yaml unchanged: `start_at: end`, `poll_interval: 5s`.
    Lines are written after the first poll, as on a real node: docker, CRI-O and containerd
    files, P/F recombination, a line over the recombine max_log_size, JSON bodies lifting
    level/context/traceID into labels, multi-byte UTF-8, a line over 1 MiB; then rotation by
    rename while writing, copytruncate, and a pod appearing mid-run."""
    root = tmp_path / "node"
    web = PodLog(root, "dev", "aidt-test-web", "web", "containerd")
    api = PodLog(root, "dev", "aidt-test-api", "api", "crio", restart=1)
    db = PodLog(root, "dev", "aidt-test-db", "db", "docker")
    prod = PodLog(root, "prod", "aidt-test-web", "web", "containerd")  # outside the include glob
    # on the node before the agent starts: not read (start_at: end)
    web.say("#p1# before start")
    api.say("#p2# before start")
    db.say("#p3# before start")
    prod.say("#p4# other namespace")

    cfg = agent_config(MULTI, root, loki)
    go_sink = Sink()
    go = go_filelog(tmp_path, copy.deepcopy(cfg["receivers"]["filelog"]), go_sink)
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        # both have polled once (Go's first poll comes one poll_interval after the start)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if agent.log_text().count("Started watching file") >= 3 and go.output().count("Started watching file") >= 3:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"no first poll:\nferrotel: {agent.output()}\nGo: {go.output()}")

        want = []
        web.write(
            web.line(f"#c1# hello trace_id={TRACE} level=info"),
            web.line("#c2# partial one ", tag="P"),
            web.line("and its end"),
            web.line('{"level":"error","msg":"#c3# json body","traceID":"' + TRACE + '","context":"checkout","n":3,"ratio":0.25,"ok":true,"nested":{"k":"v"}}'),
            web.line("#c4# multi-byte: héllo wörld — 日本語 ✓ 🚀 <tag> & \"quoted\""),
            # containerd cuts long lines into 16 KiB P parts; 8 of them exceed the recombine
            # max_log_size (102400): Go flushes the first 7 as one record, the rest with F as
            # a second one (with the 8th part's time)
            *[web.line(("#c5#" if i == 0 else "") + chr(ord("a") + i) * (16384 - (4 if i == 0 else 0)), tag="P") for i in range(8)],
            web.line("END"),
            # one physical line over filelog's max_log_size (1 MiB): cut into a 1 MiB token
            # and the rest; the rest is no CRI line, no route matches it and the router drops
            # it (Go does the same)
            web.line("#c6# " + "q" * (1024 * 1024 + 50_000)),
        )
        want += ["c1", "c2", "c3", "c4", "c5", "c6"]
        api.write(
            api.line("#r1# crio line"),
            api.line("#r2# crio part ", tag="P"),
            api.line("end"),
            api.line('{"level":"warn","context":"payments","traceID":"' + TRACE + '","msg":"#r3#"}'),
        )
        db.write(
            db.line("#d1# docker line"),
            # the text keeps docker's \n: `^{.*}$` does not match it (RE2's $ is end of text),
            # so this body stays a string
            db.line('{"level":"info","msg":"#d2#"}'),
            # a docker partial has no \n: parsed, `level` becomes a label
            db.line('{"level":"debug","msg":"#d3# partial without newline"}', tag="P"),
        )
        want += ["r1", "r2", "r3", "d1", "d2", "d3"]

        # rotation by rename while writing: 100 lines over ~5 s, the file renamed to
        # 0.log.<time> (outside the *.log glob) after 50 and a new 0.log started
        # (whenever the polls fall, lines written between the last poll and the rename are
        # left in the moved file: unless a poll lands in the last 50 ms before the rename,
        # some are, and only the lost-file drain reads them)
        rot = SteadyWriter(web, "w", rate=20, limit=100, rotate_at=50)
        rot.start()
        time.sleep(1.0)
        late = PodLog(root, "dev", "aidt-test-late", "app", "containerd", uid="3e6f4c2e-1a2b-4c3d-8e9f-0123456789ab")
        late.write(late.line("#l1# a pod appearing mid-run"), late.line("#l2# part ", tag="P"), late.line("two"), late.line("#l3# last"))
        want += ["l1", "l2", "l3"]

        # copytruncate once the lines so far are read (what copytruncate writes between the
        # copy and the truncate is lost in any reader; not the point here)
        wait_tokens(loki, ["r1", "r2", "r3"], timeout=15)
        go_sink.wait_for(lambda: sum("#r3#" in str(r["body"]) for r in go_records(go_sink)) >= 1, timeout=15)
        shutil.copyfile(api.path, api.path.with_name("1.log.1"))
        with open(api.path, "r+") as f:
            f.truncate(0)
        api.say("#r4# after copytruncate", "#r5# more")
        want += ["r4", "r5"]
        want += rot.finish()
        assert rot.rotated_to is not None and rot.rotated_to.exists()

        got = wait_tokens(loki, want, timeout=20)
        # Loki entries: one per token plus the second half of the recombined c5
        n = len(want) + 1
        loki.wait_for(lambda g: len(g) >= n, timeout=10)
        go_sink.wait_for(lambda: len(go_records(go_sink)) >= n, timeout=15)
        time.sleep(1.0)  # a duplicate would arrive now
        got = loki.snapshot()
        assert_exactly_once(got, want, forbidden=["p1", "p2", "p3", "p4"], context=agent.output())
        assert len(got) == n, f"{len(got)} entries, expected {n}"
        assert_timestamps(got, [web, api, db, late])
        assert_same_as_go(got, go_records(go_sink), cfg)

        # A few written out from the Go rules: labels `level`, `context`, `traceID` from the
        # attributes processor's hint, resource labels pod/namespace/container, `exporter`
        e = entry_of(got, "c3")
        assert e.labels_text == (
            f'{{container="web", context="checkout", exporter="OTLP", level="error", namespace="dev", pod="aidt-test-web", traceID="{TRACE}"}}'
        )
        assert '"attributes":{"log.file.path":"' + str(web.path) + '","log.iostream":"stdout","logtag":"F","msg":"#c3# json body","n":3,"nested":{"k":"v"},"ok":true,"ratio":0.25,"restart_count":"0","time":"' in e.line
        assert "resources" not in e.line
        assert entry_of(got, "c4").line.startswith('{"body":"#c4# multi-byte: héllo wörld — 日本語 ✓ 🚀 \\u003ctag\\u003e \\u0026 \\"quoted\\""')
        # filelog trims a token's trailing white space by default (Go's `trim` defaults), so
        # the P part's final space is gone before recombine joins the parts
        assert entry_of(got, "c2").line.startswith('{"body":"#c2# partial oneand its end"')
        assert entry_of(got, "d3").labels_text == '{container="db", exporter="OTLP", level="debug", namespace="dev", pod="aidt-test-db"}'
        assert entry_of(got, "d2").labels_text == '{container="db", exporter="OTLP", namespace="dev", pod="aidt-test-db"}'
        assert entry_of(got, "r3").labels_text == f'{{container="api", context="payments", exporter="OTLP", level="warn", namespace="dev", pod="aidt-test-api", traceID="{TRACE}"}}'
        c5 = [e for e in got if e.line.startswith('{"body":"#c5#') or e.line.startswith('{"body":"hhhh')]
        assert sorted(len(e.line.split('"', 4)[3]) for e in c5) == [16384 + 3, 7 * 16384], "recombine split at max_log_size"
    finally:
        agent.stop()
        go.stop()
        go_sink.stop()


# ---- 2. restarts with file_storage ------------------------------------------------------
def steady_node(tmp_path: Path, loki: LokiSink, storage: Path | None, loki_extra: dict | None = None):
    """seed-agent-filelog.yaml (start_at: beginning, 200ms polls) on one busy containerd pod."""
    root = tmp_path / "node"
    log = PodLog(root, "dev", "busy", "app", "containerd")
    cfg = agent_config(SEED, root, loki, storage=storage, loki_extra=loki_extra)
    return log, cfg


def test_sigterm_mid_stream_and_restart_delivers_every_line_exactly_once(tmp_path, loki, monkeypatch):
    storage = tmp_path / "storage"
    storage.mkdir()
    log, cfg = steady_node(tmp_path, loki, storage)
    writer = SteadyWriter(log, "s", rate=300)
    writer.start()
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        assert loki.wait_for(lambda g: len(g) >= 300, timeout=15), agent.output()
        agent.proc.signal(signal.SIGTERM)
        assert agent.proc.wait_exit(30) == 0, agent.output()
        n_at_stop = len(loki.snapshot())
        time.sleep(0.5)  # the container keeps writing while the agent is down
        agent.start()
        loki.wait_for(lambda g: len(g) >= n_at_stop + 300, timeout=15)
        want = writer.finish()
        got = wait_tokens(loki, want, timeout=20)
        time.sleep(1.0)  # a duplicate would arrive now
        got = loki.snapshot()
        assert n_at_stop < len(want), "the stop was not mid-stream"
        assert_exactly_once(got, want, context=agent.output())
        assert len(got) == len(want)
    finally:
        writer.finish()
        agent.stop()


def test_sigkill_mid_stream_and_restart_loses_no_line(tmp_path, loki, monkeypatch):
    """After SIGKILL, lines may arrive twice (those pushed after the last saved checkpoint are
    read again); none may be missing. The sending queue is off: records accepted into an
    in-memory queue are gone with the process on SIGKILL (Go's too) unless the queue is
    persistent (issue 9); without it a push returns only after Loki acknowledged it, and the
    file offset only moves past lines Loki has."""
    storage = tmp_path / "storage"
    storage.mkdir()
    log, cfg = steady_node(tmp_path, loki, storage, loki_extra={"sending_queue": {"enabled": False}})
    writer = SteadyWriter(log, "k", rate=300)
    writer.start()
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        assert loki.wait_for(lambda g: len(g) >= 300, timeout=15), agent.output()
        agent.proc.signal(signal.SIGKILL)
        agent.proc.wait_exit(10)
        n_at_kill = len(loki.snapshot())
        time.sleep(0.5)
        agent.start()
        loki.wait_for(lambda g: len(g) >= n_at_kill + 300, timeout=15)
        want = writer.finish()
        assert n_at_kill < len(want), "the kill was not mid-stream"
        got = wait_tokens(loki, want, timeout=20)
        counts = tokens_in(got)
        missing = [t for t in want if counts[t] == 0]
        assert not missing, f"{len(missing)} of {len(want)} lines lost after SIGKILL: {missing[:20]}\n{agent.output()}"
        # and the restart resumed from the checkpoint (re-reading only what came after the
        # last saved one), not from the start of the file
        duplicated = sum(1 for t in want if counts[t] > 1)
        assert duplicated < n_at_kill // 2, f"{duplicated} of the {n_at_kill} lines pushed before the kill came again"
    finally:
        writer.finish()
        agent.stop()


# ---- 3. Loki refusing ---------------------------------------------------------------------
def test_loki_unavailable_for_10s_loses_no_line(tmp_path, loki, monkeypatch):
    """503 is retryable: the exporter's retry (5 s initial interval, growing) brings every
    line once Loki is back, each exactly once (a 503 means Loki kept nothing)."""
    log, cfg = steady_node(tmp_path, loki, None)
    loki.unavailable_for(10)
    writer = SteadyWriter(log, "u", rate=100, limit=300)
    writer.start()
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        writer.join(10)
        want = writer.finish()
        assert loki.refused > 0 and not loki.snapshot(), "Loki was not unavailable while the lines were sent"
        got = wait_tokens(loki, want, timeout=30)
        time.sleep(1.0)
        got = loki.snapshot()
        assert_exactly_once(got, want, context=agent.output())
        samples = scrape(agent.metrics_port)
        assert metric_sum(samples, "otelcol_exporter_send_failed_log_records", exporter="loki") == 0
        assert metric_sum(samples, "otelcol_exporter_sent_log_records", exporter="loki") == len(want)
    finally:
        writer.finish()
        agent.stop()


def test_loki_rejecting_a_line_with_400_counts_it_as_failed_and_the_rest_flows(tmp_path, loki, monkeypatch):
    """400 (Loki's "entry too far behind" and the like) is permanent: the request is not
    retried and its records are counted in otelcol_exporter_send_failed_log_records; lines
    before and after arrive."""
    log, cfg = steady_node(tmp_path, loki, None)
    agent = Agent(tmp_path, cfg, monkeypatch)
    try:
        before = [f"a{i}" for i in range(20)]
        log.say(*(f"#{t}# before" for t in before))
        wait_tokens(loki, before, timeout=15)
        loki.reject_line_containing = "#bad1#"
        log.say("#bad1# refused by Loki")

        def failed():
            return metric_sum(scrape(agent.metrics_port), "otelcol_exporter_send_failed_log_records", exporter="loki")

        deadline = time.monotonic() + 15
        while failed() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = [f"b{i}" for i in range(20)]
        log.say(*(f"#{t}# after" for t in after))
        wait_tokens(loki, after, timeout=15)
        time.sleep(1.0)  # a retry of the refused request would come now
        got = loki.snapshot()
        assert_exactly_once(got, before + after, forbidden=["bad1"], context=agent.output())
        assert failed() == 1, "exactly the refused line's record counts as failed"
        assert loki.refused == 1, f"the refused request was sent {loki.refused} times: a 400 must not be retried"
        assert metric_sum(scrape(agent.metrics_port), "otelcol_exporter_sent_log_records", exporter="loki") == len(before) + len(after)
    finally:
        agent.stop()


# ---- 4. broken operator configs -----------------------------------------------------------
def _op(cfg: dict, op_id: str) -> dict:
    return next(o for o in cfg["receivers"]["filelog"]["operators"] if o.get("id") == op_id)


def _cycle(cfg: dict) -> None:
    ops = cfg["receivers"]["filelog"]["operators"]
    ops[-1]["id"] = "add-cluster"
    ops[-1]["output"] = "get-format"


# (name, edit of seed-agent-filelog.yaml, path, reason). The reasons are the Go collector's
# (otelcol-contrib 0.135 `validate` on the same filelog receiver says them word for word);
# Go's paths name its Go structs (`receivers::filelog::baseconfig::operators::1::builder::
# parserconfig::timestamp`, `'operators[3]'`), ours the keys of the config.
BROKEN = [
    ("unknown_operator_type", lambda c: c["receivers"]["filelog"]["operators"][3].update(type="nosuch_parser"),
     "receivers::filelog::operators::3", "unsupported type 'nosuch_parser'"),
    ("regex_parser_without_regex", lambda c: _op(c, "parser-containerd").pop("regex"),
     "receivers::filelog::operators::1", "missing required field 'regex'"),
    ("bad_strptime_layout", lambda c: _op(c, "parser-containerd")["timestamp"].update(layout="%Y-%m-%dT%H:%M:%S.%Q"),
     "receivers::filelog::operators::1", "invalid strptime layout: invalid strptime format: [unsupported ctimefmt.ToNative() directive: %Q]"),
    ("bad_gotime_layout", lambda c: _op(c, "parser-containerd")["timestamp"].update(layout_type="gotime", layout="2006-01-02T15:04:05.999:999"),
     "receivers::filelog::operators::1", "invalid gotime layout: invalid fractional seconds directive: ':999'. must be preceded with '.' or ','"),
    ("unknown_output_id", lambda c: _op(c, "parser-containerd").update(output="nowhere"),
     "receivers::filelog::operators", "operator 'nowhere' does not exist: {\"operator_id\":\"parser-containerd\"}"),
    ("cycle_between_operators", _cycle, "receivers::filelog::operators", "pipeline has a circular dependency"),
]  # fmt: skip


def run_ferrotel(args: list[str], cfg: dict, tmp_path: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    path = tmp_path / "broken.yaml"
    path.write_text(json.dumps(cfg))
    env = ferrotel_env({"MY_POD_IP": "127.0.0.1"})
    return subprocess.run([str(BIN), *args, "--config", str(path)], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("name,edit,path,reason", BROKEN, ids=[b[0] for b in BROKEN])
def test_validate_refuses_broken_operator_config_with_path_and_reason(tmp_path, name, edit, path, reason):
    cfg = seed(SEED)
    edit(cfg)
    p = run_ferrotel(["validate"], cfg, tmp_path)
    assert p.returncode == 1, f"validate exited {p.returncode}:\n{p.stderr}"
    assert "panicked" not in p.stderr
    err = next((l for l in p.stderr.splitlines() if l.startswith("Error:")), "")
    assert f"{path}" in err and reason in err, f"want {path!r} and {reason!r} in the error, got:\n{p.stderr}"
    if name == "cycle_between_operators":
        # the cycle is named (Go starts it at whichever operator its map iteration gives)
        for op_id in ("get-format", "parser-containerd", "extract_metadata_from_filepath", "add-cluster"):
            assert op_id in err, err


def test_missing_storage_extension_stops_the_start_with_the_reason(tmp_path, monkeypatch):
    """Go's `validate` passes this config (the extension is looked up when the receiver
    starts); the start fails with Go's message and a non-zero exit."""
    cfg = seed(SEED)
    cfg["receivers"]["filelog"]["include"] = [str(tmp_path / "none" / "*.log")]
    cfg["receivers"]["filelog"]["storage"] = "file_storage"
    for proto in cfg["receivers"]["otlp"]["protocols"].values():
        proto["endpoint"] = "${env:MY_POD_IP}:" + str(free_port())
    cfg["service"]["telemetry"] = {"metrics": {"level": "none"}}
    assert run_ferrotel(["validate"], cfg, tmp_path).returncode == 0
    p = run_ferrotel([], cfg, tmp_path)
    assert p.returncode != 0
    assert "failed to start \"filelog\" receiver: storage client: storage extension 'file_storage' not found" in p.stderr, p.stderr
