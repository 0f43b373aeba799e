"""Flattens OTLP requests into items with their resource and scope, indexed so that two
deliveries of the same telemetry compare equal whatever the batching and order:
spans by span id, log records by (time, observed time, body), metric data points by
(metric name, temporality, attributes, start time, time).

Every item keeps everything it arrived with (resource + its schema url, scope name, version,
attributes + its schema url, and the whole item), rendered with protobuf's JSON mapping so a
mismatch shows as a readable diff. Attribute order is kept: a collector that only forwards
must not reorder attributes.
"""

from __future__ import annotations

from google.protobuf import json_format


def _d(msg) -> dict:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True, use_integers_for_enums=True)


def _attrs_key(kvs) -> str:
    return repr([(kv.key, kv.value.SerializeToString(deterministic=True)) for kv in kvs])


def _resource_of(rs) -> dict:
    return {"resource": _d(rs.resource), "resource_schema_url": rs.schema_url}


def _scope_of(ss) -> dict:
    return {"scope": _d(ss.scope), "scope_schema_url": ss.schema_url}


def _resource_matches(resource, attr_filter) -> bool:
    if attr_filter is None:
        return True
    key, value = attr_filter
    return any(kv.key == key and kv.value.string_value == value for kv in resource.attributes)


class Duplicate(AssertionError):
    pass


def _put(out: dict, key, value, what: str) -> None:
    if key in out:
        raise Duplicate(f"{what} {key!r} arrived more than once")
    out[key] = value


def spans(requests, attr_filter=None) -> dict:
    out: dict = {}
    for req in requests:
        for rs in req.resource_spans:
            if not _resource_matches(rs.resource, attr_filter):
                continue
            for ss in rs.scope_spans:
                for s in ss.spans:
                    _put(out, s.span_id.hex(), {**_resource_of(rs), **_scope_of(ss), "span": _d(s)}, "span")
    return out


def logs(requests, attr_filter=None) -> dict:
    out: dict = {}
    for req in requests:
        for rl in req.resource_logs:
            if not _resource_matches(rl.resource, attr_filter):
                continue
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    key = (r.time_unix_nano, r.observed_time_unix_nano, r.body.SerializeToString(deterministic=True).hex())
                    _put(out, key, {**_resource_of(rl), **_scope_of(sl), "log": _d(r)}, "log record")
    return out


def metric_points(requests, attr_filter=None) -> dict:
    out: dict = {}
    for req in requests:
        for rm in req.resource_metrics:
            if not _resource_matches(rm.resource, attr_filter):
                continue
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    kind = m.WhichOneof("data")
                    data = getattr(m, kind)
                    temporality = getattr(data, "aggregation_temporality", 0)
                    meta = {
                        "name": m.name,
                        "description": m.description,
                        "unit": m.unit,
                        "metadata": [_d(kv) for kv in m.metadata],
                        "type": kind,
                        "aggregation_temporality": temporality,
                        "is_monotonic": getattr(data, "is_monotonic", None),
                    }
                    for p in data.data_points:
                        key = (m.name, temporality, _attrs_key(p.attributes), p.start_time_unix_nano, p.time_unix_nano)
                        # Two readers may produce points with equal keys (an up-down counter is
                        # cumulative in both; a millisecond clock gives equal times): keep all.
                        out.setdefault(key, []).append({**_resource_of(rm), **_scope_of(sm), "metric": meta, "point": _d(p)})
    for v in out.values():
        v.sort(key=repr)
    return out


FLATTEN = {"traces": spans, "logs": logs, "metrics": metric_points}


def diff(expected: dict, got: dict, limit: int = 5) -> str:
    """A short human-readable account of how two flattened sets differ ('' if equal)."""
    lines = []
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    if missing:
        lines.append(f"{len(missing)} missing, e.g. {missing[:limit]}")
    if extra:
        lines.append(f"{len(extra)} unexpected, e.g. {extra[:limit]}")
    shown = 0
    for k in expected:
        if k in got and expected[k] != got[k]:
            lines.append(f"item {k!r} differs:\n{_field_diff(expected[k], got[k])}")
            shown += 1
            if shown >= limit:
                lines.append("...")
                break
    return "\n".join(lines)


def _field_diff(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                out.append(_field_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}"))
        return "\n".join(out)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return "\n".join(_field_diff(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)) if x != y)
    return f"  {path}: SDK produced {a!r}\n  {' ' * len(path)}  but got {b!r}"
