"""syslog, tcp_log and udp_log receivers with real senders: Python's stdlib
`logging.handlers.SysLogHandler` over UDP and TCP, and a raw socket writing RFC 5424 with
RFC 6587 octet counting. Each record that reaches the OTLP sink is checked for the
attributes Go's syslog receiver gives the same message (appname, hostname, priority,
facility, message, structured_data, ...), its severity and its timestamp."""

from __future__ import annotations

import calendar
import logging
import logging.handlers
import socket
import time
import uuid

import pytest

from harness import Ferrotel, free_port
from otlp_sink import Sink


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def syslog_ferrotel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("syslog")
    sink = Sink()
    udp_port, tcp3164, tcp5424, tcplog = _free_udp_port(), free_port(), free_port(), free_port()
    udplog = _free_udp_port()
    cfg = {
        "receivers": {
            "syslog/udp": {"udp": {"listen_address": f"127.0.0.1:{udp_port}"}, "protocol": "rfc3164", "location": "UTC"},
            "syslog/tcp": {"tcp": {"listen_address": f"127.0.0.1:{tcp3164}"}, "protocol": "rfc3164", "location": "UTC"},
            "syslog/octets": {
                "tcp": {"listen_address": f"127.0.0.1:{tcp5424}", "add_attributes": True},
                "protocol": "rfc5424",
                "enable_octet_counting": True,
            },
            # the deprecated spellings answer too
            "tcplog": {"listen_address": f"127.0.0.1:{tcplog}", "attributes": {"source": "tcp"}},
            "udp_log": {"listen_address": f"127.0.0.1:{udplog}", "attributes": {"source": "udp"}},
        },
        "exporters": {"otlp": {"endpoint": sink.grpc_endpoint, "tls": {"insecure": True}}},
        "service": {
            "telemetry": {"logs": {"level": "info"}, "metrics": {"level": "none"}},
            "pipelines": {
                "logs": {
                    "receivers": ["syslog/udp", "syslog/tcp", "syslog/octets", "tcplog", "udp_log"],
                    "exporters": ["otlp"],
                }
            },
        },
    }
    f = Ferrotel(tmp, cfg, [tcp3164, tcp5424, tcplog])
    yield f, sink, {"udp": udp_port, "tcp": tcp3164, "octets": tcp5424, "tcplog": tcplog, "udplog": udplog}
    f.stop()
    sink.stop()


def _records(sink: Sink):
    out = []
    for rec in sink.requests("logs"):
        for rl in rec.request.resource_logs:
            for sl in rl.scope_logs:
                out.extend(sl.log_records)
    return out


def _attrs(r) -> dict:
    out = {}
    for kv in r.attributes:
        kind = kv.value.WhichOneof("value")
        if kind == "kvlist_value":
            out[kv.key] = {
                e.key: {p.key: p.value.string_value for p in e.value.kvlist_value.values}
                for e in kv.value.kvlist_value.values
            }
        else:
            out[kv.key] = getattr(kv.value, kind)
    return out


def _wait_for(sink, ferrotel, pred, n=1):
    deadline = time.monotonic() + 20
    got = []
    while time.monotonic() < deadline:
        got = [r for r in _records(sink) if pred(r)]
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{len(got)} of {n} records arrived\n--- ferrotel ---\n{ferrotel.output(3000)}")


def _rfc3164_logger(name: str, handler: logging.Handler) -> logging.Logger:
    """A logger that writes RFC 3164 headers (`Mmm dd hh:mm:ss host tag[pid]: msg`) in UTC,
    the day space-padded as the RFC says."""

    class Rfc3164(logging.Formatter):
        converter = time.gmtime

        def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's naming
            t = time.gmtime(record.created)
            return f"{time.strftime('%b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S', t)}"

    handler.setFormatter(Rfc3164("%(asctime)s myhost myapp[%(process)d]: %(message)s"))
    log = logging.getLogger(name)
    log.propagate = False
    log.handlers = [handler]
    log.setLevel(logging.DEBUG)
    return log


def _check_rfc3164(r, message: str, severity_number: int, severity_text: str, priority: int):
    a = _attrs(r)
    assert a["appname"] == "myapp"
    assert a["hostname"] == "myhost"
    assert a["message"] == message
    assert a["priority"] == priority
    assert a["facility"] == priority // 8
    assert a["proc_id"] == str(__import__("os").getpid())
    assert r.severity_number == severity_number
    assert r.severity_text == severity_text
    # the header's time, this year, in UTC (to the second)
    assert abs(r.time_unix_nano / 1e9 - time.time()) < 60


def test_stdlib_syslog_handler_over_udp(syslog_ferrotel):
    f, sink, ports = syslog_ferrotel
    run = uuid.uuid4().hex
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", ports["udp"]), facility=logging.handlers.SysLogHandler.LOG_LOCAL0)
    log = _rfc3164_logger("e2e.syslog.udp", handler)
    log.warning("disk almost full %s", run)
    log.error("disk full %s", run)
    handler.close()
    got = _wait_for(sink, f, lambda r: run in r.body.string_value, 2)
    by_msg = {_attrs(r)["message"]: r for r in got}
    # local0 = 16: warning 16*8+4, error 16*8+3; Go's stanza severities warn (13) and error (17)
    _check_rfc3164(by_msg[f"disk almost full {run}"], f"disk almost full {run}", 13, "warning", 132)
    _check_rfc3164(by_msg[f"disk full {run}"], f"disk full {run}", 17, "err", 131)


def test_stdlib_syslog_handler_over_tcp(syslog_ferrotel):
    f, sink, ports = syslog_ferrotel
    run = uuid.uuid4().hex
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", ports["tcp"]), socktype=socket.SOCK_STREAM)
    # newline framing, as the receiver expects without octet counting
    handler.append_nul = False
    log = _rfc3164_logger("e2e.syslog.tcp", handler)
    for i in range(3):
        log.info("line %d %s\n", i, run)
    handler.close()
    got = _wait_for(sink, f, lambda r: run in r.body.string_value, 3)
    msgs = sorted(_attrs(r)["message"] for r in got)
    assert msgs == [f"line {i} {run}" for i in range(3)]
    for r in got:
        # LOG_USER (1) info (6) = 14; stanza info (9)
        _check_rfc3164(r, _attrs(r)["message"], 9, "info", 14)


def test_rfc5424_octet_counting_from_a_raw_socket(syslog_ferrotel):
    f, sink, ports = syslog_ferrotel
    run = uuid.uuid4().hex
    msgs = [
        f'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event {run}',
        f"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed {run}",
        "this is not syslog",
    ]
    data = b"".join(f"{len(m.encode())} {m}".encode() for m in msgs)
    with socket.create_connection(("127.0.0.1", ports["octets"])) as s:
        # in pieces that cut frames and lengths
        for i in range(0, len(data), 37):
            s.sendall(data[i : i + 37])
            time.sleep(0.005)
    got = _wait_for(sink, f, lambda r: run in r.body.string_value or r.body.string_value.endswith("this is not syslog"), 3)
    by_app = {_attrs(r).get("appname"): r for r in got}
    ev = by_app["evntslog"]
    a = _attrs(ev)
    assert a["hostname"] == "mymachine.example.com"
    assert a["msg_id"] == "ID47"
    assert a["priority"] == 165
    assert a["facility"] == 20
    assert a["version"] == 1
    assert a["message"] == f"An application event {run}"
    assert a["structured_data"] == {"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}}
    assert "proc_id" not in a
    # notice (5) is stanza's info2 (10)
    assert ev.severity_number == 10 and ev.severity_text == "notice"
    assert ev.time_unix_nano == calendar.timegm((2003, 10, 11, 22, 14, 15)) * 10**9 + 3_000_000
    assert a["net.transport"] == "IP.TCP" and a["net.peer.ip"] == "127.0.0.1" and a["net.host.port"] == str(ports["octets"])
    su = _attrs(by_app["su"])
    assert su["message"] == f"'su root' failed {run}" and su["priority"] == 34
    assert by_app["su"].severity_number == 18 and by_app["su"].severity_text == "crit"
    # the malformed frame is passed on unparsed (on_error: send) and the connection went on
    bad = by_app[None]
    assert bad.body.string_value == "18 this is not syslog"


def test_tcplog_and_udp_log_lines(syslog_ferrotel):
    f, sink, ports = syslog_ferrotel
    run = uuid.uuid4().hex
    with socket.create_connection(("127.0.0.1", ports["tcplog"])) as s:
        s.sendall(f"tcp one {run}\ntcp two {run}\n".encode())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(f"udp one {run}\n".encode(), ("127.0.0.1", ports["udplog"]))
    got = _wait_for(sink, f, lambda r: run in r.body.string_value, 3)
    assert sorted((r.body.string_value, _attrs(r)["source"]) for r in got) == [
        (f"tcp one {run}", "tcp"),
        (f"tcp two {run}", "tcp"),
        (f"udp one {run}", "udp"),
    ]
