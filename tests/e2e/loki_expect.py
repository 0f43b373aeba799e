"""What the Go `loki` exporter pushes for given log records, written in Python from the Go
rules (`pkg/translator/loki` of opentelemetry-collector-contrib, as ferrotel's
crates/components/src/exporters/loki/translate.rs and line.rs document them), so that the
end-to-end tests can take the records the Go collector's filelog receiver makes and say which
Loki streams, lines and timestamps a Go agent would have pushed for them.

Covered: the default labels (`exporter`, `job`, `instance`, `level` from the severity), the
`loki.resource.labels` / `loki.attribute.labels` hints (string or list, names trimmed, dotted
paths into maps), `loki.format` json (Go's `lokiEntry` through `encoding/json`) and raw, label
name sanitising and `strconv.Quote`d values. Not covered (the agent configs do not use them):
logfmt, tenants, flags, instrumentation scope versions.

Also: the `resource` and `attributes` processors' value actions (insert, update, upsert), to
apply a config's processors to records the Go collector made without them."""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal

from opentelemetry.proto.logs.v1 import logs_pb2

HINTS = ("loki.attribute.labels", "loki.resource.labels", "loki.tenant", "loki.format")
LEVELS = [
    "UNSPECIFIED", "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4",
    "INFO", "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4",
    "ERROR", "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
]  # fmt: skip


# ---- Go text formats ---------------------------------------------------------------------
def es6_number(f: float) -> str:
    """A float64 as Go's encoding/json (and pdata's AsString) writes it: ES6 number text."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {f}")
    if f == 0:
        return "0" if math.copysign(1, f) > 0 else "-0"
    a = abs(f)
    r = repr(f)
    if 1e-6 <= a < 1e21:
        if float(int(f)) == f:
            return str(int(f))
        return format(Decimal(r), "f")
    mant, _, exp = r.partition("e")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mant}e{sign}{int(exp.lstrip('+-'))}"


def go_json(v) -> str:
    """`json.Marshal(value.AsRaw())`: maps with sorted keys, compact, HTML-escaped strings."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return es6_number(v)
    if isinstance(v, str):
        return _go_string(v)
    if isinstance(v, dict):
        return "{" + ",".join(_go_string(k) + ":" + go_json(v[k]) for k in sorted(v, key=lambda k: k.encode())) + "}"
    if isinstance(v, list):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    raise TypeError(f"no Go JSON for {type(v)}")


def _go_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    # Go escapes what a browser might misread (HTML escaping is on in json.Marshal).
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def as_string(v) -> str:
    """pdata `Value.AsString()`."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return es6_number(v)
    if v is None:
        return ""
    return go_json(v)


def go_quote(s: str) -> str:
    """`strconv.Quote` for the text label values hold (printable runes kept)."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def normalize_label(name: str) -> str:
    """`prometheus.NormalizeLabel`: non letters/digits to `_`, `key_` before a digit, `key`
    before a single leading `_`."""
    if not name:
        return name
    s = "".join(c if c.isalnum() else "_" for c in name)
    if s[0].isdigit():
        s = "key_" + s
    elif s.startswith("_") and not s.startswith("__"):
        s = "key" + s
    return s


# ---- processors ---------------------------------------------------------------------------
def apply_actions(attrs: dict, actions: list[dict]) -> dict:
    """The value actions of the `resource`/`attributes` processors on one attribute map."""
    out = dict(attrs)
    for a in actions:
        key, action = a["key"], a["action"]
        if "value" not in a:
            raise NotImplementedError(f"only value actions are modelled, not {a}")
        if action == "insert" and key not in out or action == "update" and key in out or action == "upsert":
            out[key] = a["value"]
        elif action not in ("insert", "update", "upsert"):
            raise NotImplementedError(f"action {action}")
    return out


def apply_processors(records: list[dict], config: dict, names: list[str]) -> list[dict]:
    """`records` (pod_logs.records() dicts) through the named processors of `config`."""
    out = []
    for r in records:
        r = dict(r)
        for name in names:
            kind = name.split("/", 1)[0]
            pc = config["processors"][name]
            if kind == "resource":
                r["resource"] = apply_actions(r["resource"], pc["attributes"])
            elif kind == "attributes":
                r["attributes"] = apply_actions(r["attributes"], pc["actions"])
            else:
                raise NotImplementedError(f"processor {name}")
        out.append(r)
    return out


# ---- the exporter -------------------------------------------------------------------------
def _hint_names(v) -> list[str]:
    if isinstance(v, str):
        return v.split(",")
    if isinstance(v, list):
        return [as_string(x) if not isinstance(x, str) else x for x in v]
    return [as_string(v)]


def _lookup(name: str, attrs: dict):
    """Go's `getAttribute`: the key itself, else a dotted path into maps, longest prefix first."""
    if name in attrs:
        return True, attrs[name]
    parts = name.split(".")
    for i in range(len(parts) - 1):
        left, right = ".".join(parts[: len(parts) - i - 1]), ".".join(parts[len(parts) - i - 1 :])
        found, v = _lookup(left, attrs)
        if found and isinstance(v, dict):
            return _lookup(right, v)
    return False, None


def severity_number(rec: dict) -> int:
    s = rec.get("severity", 0)
    return logs_pb2.SeverityNumber.Value(s) if isinstance(s, str) else int(s)


def _hex_id(b64: str) -> str:
    return base64.b64decode(b64).hex() if b64 else ""


def loki_entry(rec: dict, default_labels: bool = True) -> tuple[str, int | None, str] | None:
    """(stream labels as Loki shows them, timestamp in ns or None for "the observed time or
    now", line) for one record, or None when Go drops it (an unknown `loki.format`)."""
    res, attrs = rec["resource"], rec["attributes"]
    labels: dict[str, str] = {}  # raw name -> value, in merge order
    if default_labels:
        labels["exporter"] = "OTLP"
        if "service.name" in res:
            job = as_string(res["service.name"])
            if "service.namespace" in res:
                job = as_string(res["service.namespace"]) + "/" + job
            labels["job"] = job
        if "service.instance.id" in res:
            labels["instance"] = as_string(res["service.instance.id"])

    def promote(names, where, level=None):
        for n in names:
            n = n.strip()
            found, v = _lookup(n, where)
            if found:
                labels[n] = as_string(v)
            elif level is not None and n == "level":
                labels[n] = level

    if "loki.resource.labels" in res:
        promote(_hint_names(res["loki.resource.labels"]), res)
    if "loki.resource.labels" in attrs:
        promote(_hint_names(attrs["loki.resource.labels"]), res)
    names = _hint_names(attrs["loki.attribute.labels"]) if "loki.attribute.labels" in attrs else []
    sev = severity_number(rec)
    level = None
    if default_labels and sev != 0:
        hint = attrs.get("loki.attribute.labels")
        if "loki.attribute.labels" not in attrs:
            names = ["level"]
        elif isinstance(hint, (str, list)):
            names = names + ["level"]
        if "level" not in attrs:
            level = LEVELS[sev] if 0 <= sev < len(LEVELS) else ""
    promote(names, attrs, level)

    fmt = res.get("loki.format", attrs.get("loki.format", "json"))
    skip = set(HINTS) | set(labels)
    if fmt == "raw":
        line = as_string(rec["body"])
    elif fmt == "json":
        members = []
        if rec["body"] is not None:
            members.append('"body":' + go_json(rec["body"]))
        trace, span = _hex_id(rec.get("trace_id", "")), _hex_id(rec.get("span_id", ""))
        if trace:
            members.append('"traceid":' + go_json(trace))
        if span:
            members.append('"spanid":' + go_json(span))
        if rec.get("severity_text"):
            members.append('"severity":' + go_json(rec["severity_text"]))
        line_attrs = {k: v for k, v in attrs.items() if k not in skip}
        if level is not None and "level" not in skip:
            line_attrs["level"] = level
        if line_attrs:
            members.append('"attributes":' + go_json(line_attrs))
        line_res = {k: v for k, v in res.items() if k not in skip}
        if line_res:
            members.append('"resources":' + go_json(line_res))
        if rec.get("scope"):
            members.append('"instrumentation_scope":{"name":' + go_json(rec["scope"]) + "}")
        line = "{" + ",".join(members) + "}"
    else:
        return None
    if not labels:
        return None
    rendered = sorted((normalize_label(k), v) for k, v in labels.items())
    stream = "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in rendered) + "}"
    return stream, (rec["time"] or None), line
