"""OTLP/JSON -> protobuf messages, per the OTLP spec: trace and span ids are hex strings
(protobuf's JSON mapping would read them as base64), everything else is proto3 JSON."""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format

from otlp_sink import REQUEST_TYPES

_ID_KEYS = {"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"}


def _fix_ids(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                out[k] = base64.b64encode(bytes.fromhex(v)).decode()
            else:
                out[k] = _fix_ids(v)
        return out
    if isinstance(node, list):
        return [_fix_ids(x) for x in node]
    return node


def parse_request(signal: str, body: bytes):
    req = REQUEST_TYPES[signal]()
    json_format.ParseDict(_fix_ids(json.loads(body)), req)
    return req


def _ids_to_hex(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                out[k] = base64.b64decode(v).hex()
            else:
                out[k] = _ids_to_hex(v)
        return out
    if isinstance(node, list):
        return [_ids_to_hex(x) for x in node]
    return node


def to_json(req) -> bytes:
    """A protobuf request as OTLP/JSON (camelCase, hex ids, enums as ints)."""
    d = json_format.MessageToDict(req, use_integers_for_enums=True)
    return json.dumps(_ids_to_hex(d)).encode()
