"""profile.proto (github.com/google/pprof/proto/profile.proto, package perftools.profiles)
as a protobuf message class built from a hand-made descriptor with the published field
numbers, so the tests decode pprof output with the `protobuf` package alone (no protoc)."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_PKG = "perftools.profiles"

# message -> [(field, number, type, repeated, message type)]
_MESSAGES = {
    "Profile": [
        ("sample_type", 1, _F.TYPE_MESSAGE, True, "ValueType"),
        ("sample", 2, _F.TYPE_MESSAGE, True, "Sample"),
        ("mapping", 3, _F.TYPE_MESSAGE, True, "Mapping"),
        ("location", 4, _F.TYPE_MESSAGE, True, "Location"),
        ("function", 5, _F.TYPE_MESSAGE, True, "Function"),
        ("string_table", 6, _F.TYPE_STRING, True, None),
        ("drop_frames", 7, _F.TYPE_INT64, False, None),
        ("keep_frames", 8, _F.TYPE_INT64, False, None),
        ("time_nanos", 9, _F.TYPE_INT64, False, None),
        ("duration_nanos", 10, _F.TYPE_INT64, False, None),
        ("period_type", 11, _F.TYPE_MESSAGE, False, "ValueType"),
        ("period", 12, _F.TYPE_INT64, False, None),
        ("comment", 13, _F.TYPE_INT64, True, None),
        ("default_sample_type", 14, _F.TYPE_INT64, False, None),
        ("doc_url", 15, _F.TYPE_INT64, False, None),
    ],
    "ValueType": [
        ("type", 1, _F.TYPE_INT64, False, None),
        ("unit", 2, _F.TYPE_INT64, False, None),
    ],
    "Sample": [
        ("location_id", 1, _F.TYPE_UINT64, True, None),
        ("value", 2, _F.TYPE_INT64, True, None),
        ("label", 3, _F.TYPE_MESSAGE, True, "Label"),
    ],
    "Label": [
        ("key", 1, _F.TYPE_INT64, False, None),
        ("str", 2, _F.TYPE_INT64, False, None),
        ("num", 3, _F.TYPE_INT64, False, None),
        ("num_unit", 4, _F.TYPE_INT64, False, None),
    ],
    "Mapping": [
        ("id", 1, _F.TYPE_UINT64, False, None),
        ("memory_start", 2, _F.TYPE_UINT64, False, None),
        ("memory_limit", 3, _F.TYPE_UINT64, False, None),
        ("file_offset", 4, _F.TYPE_UINT64, False, None),
        ("filename", 5, _F.TYPE_INT64, False, None),
        ("build_id", 6, _F.TYPE_INT64, False, None),
        ("has_functions", 7, _F.TYPE_BOOL, False, None),
        ("has_filenames", 8, _F.TYPE_BOOL, False, None),
        ("has_line_numbers", 9, _F.TYPE_BOOL, False, None),
        ("has_inline_frames", 10, _F.TYPE_BOOL, False, None),
    ],
    "Location": [
        ("id", 1, _F.TYPE_UINT64, False, None),
        ("mapping_id", 2, _F.TYPE_UINT64, False, None),
        ("address", 3, _F.TYPE_UINT64, False, None),
        ("line", 4, _F.TYPE_MESSAGE, True, "Line"),
        ("is_folded", 5, _F.TYPE_BOOL, False, None),
    ],
    "Line": [
        ("function_id", 1, _F.TYPE_UINT64, False, None),
        ("line", 2, _F.TYPE_INT64, False, None),
        ("column", 3, _F.TYPE_INT64, False, None),
    ],
    "Function": [
        ("id", 1, _F.TYPE_UINT64, False, None),
        ("name", 2, _F.TYPE_INT64, False, None),
        ("system_name", 3, _F.TYPE_INT64, False, None),
        ("filename", 4, _F.TYPE_INT64, False, None),
        ("start_line", 5, _F.TYPE_INT64, False, None),
    ],
}


def _build():
    fdp = descriptor_pb2.FileDescriptorProto(name="profile.proto", package=_PKG, syntax="proto3")
    for name, fields in _MESSAGES.items():
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, repeated, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype)
            f.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if type_name:
                f.type_name = f".{_PKG}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PKG}.Profile"))


Profile = _build()


def function_names(profile) -> list[str]:
    """The function names the samples' stacks go through, one entry per frame."""
    strings = profile.string_table
    functions = {f.id: strings[f.name] for f in profile.function}
    locations = {loc.id: loc for loc in profile.location}
    names = []
    for s in profile.sample:
        for lid in s.location_id:
            for line in locations[lid].line:
                names.append(functions[line.function_id])
    return names
