"""Write inspect8s/runtime/_cri/schema.py, the table of inspect8s's CRI wire codec.

    python scripts/gen_cri_schema.py                      # from tests/testbed/api_pb2.py
    python scripts/gen_cri_schema.py --pb2 FILE --out FILE

(scripts/gen_cri.sh runs it after protoc.) The table holds the request and answer messages
of the calls CRIClient makes (``REQUESTS``, ``ANSWERS``) and every message and enum they
reach, read from the descriptors protoc wrote into ``api_pb2.py``: each field's number,
JSON name, type, whether it is singular, proto3 ``optional``, repeated or a map (key
type, value type), and each enum's value names. Needs protobuf (a test dependency).

``describe`` turns descriptors into the table's dicts, for this script and for tests that
give the codec other messages.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PB2 = REPO / "tests" / "testbed" / "api_pb2.py"
DEFAULT_OUT = REPO / "inspect8s" / "runtime" / "_cri" / "schema.py"

REQUESTS = (
    "VersionRequest",
    "StatusRequest",
    "RuntimeConfigRequest",
    "ListPodSandboxRequest",
    "PodSandboxStatusRequest",
    "ListContainersRequest",
    "ContainerStatusRequest",
)
ANSWERS = (
    "VersionResponse",
    "StatusResponse",
    "RuntimeConfigResponse",
    "ListPodSandboxResponse",
    "PodSandboxStatusResponse",
    "ListContainersResponse",
    "ContainerStatusResponse",
)

# FieldDescriptorProto.Type numbers, the type codes of the table
TYPE_NAMES = {
    1: "DOUBLE",
    2: "FLOAT",
    3: "INT64",
    4: "UINT64",
    5: "INT32",
    6: "FIXED64",
    7: "FIXED32",
    8: "BOOL",
    9: "STRING",
    11: "MESSAGE",
    12: "BYTES",
    13: "UINT32",
    14: "ENUM",
    15: "SFIXED32",
    16: "SFIXED64",
    17: "SINT32",
    18: "SINT64",
}
LABEL_NAMES = {0: "SINGULAR", 1: "OPTIONAL", 2: "REPEATED", 3: "MAP"}
SINGULAR, OPTIONAL, REPEATED, MAP = 0, 1, 2, 3
MESSAGE, ENUM = 11, 14

Field = tuple[str, int, int, "str | None", int]


class Unsupported(Exception):
    """A descriptor the codec cannot decode as MessageToDict would."""


def _relative(full_name: str, package: str) -> str:
    prefix = package + "." if package else ""
    if not full_name.startswith(prefix):
        raise Unsupported(f"{full_name} is not in package {package!r}")
    return full_name[len(prefix) :]


def _is_proto3_optional(field: Any) -> bool:
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.DescriptorProto()
    field.containing_type.CopyToProto(proto)
    return any(f.number == field.number and f.proto3_optional for f in proto.field)


def describe(
    roots: list[Any], package: str
) -> tuple[dict[str, dict[int, Field]], dict[str, dict[int, str]]]:
    """The table (messages, enums) of message descriptors ``roots`` and all they reach.

    Names are relative to ``package``; messages of other packages (well-known types, which
    MessageToDict prints in their own forms), groups, oneofs, closed (proto2) enums,
    required fields and custom defaults raise Unsupported.
    """
    messages: dict[str, dict[int, Field]] = {}
    enums: dict[str, dict[int, str]] = {}
    pending = list(roots)

    def enum_ref(enum: Any) -> str:
        name = _relative(enum.full_name, package)
        if enum.is_closed:
            raise Unsupported(f"{enum.full_name} is a closed enum")
        if name not in enums:
            enums[name] = {}
            for value in enum.values:
                enums[name].setdefault(value.number, value.name)  # first name of an alias
        return name

    def reference(field: Any) -> str | None:
        if field.type == MESSAGE:
            pending.append(field.message_type)
            return _relative(field.message_type.full_name, package)
        if field.type == ENUM:
            return enum_ref(field.enum_type)
        return None

    while pending:
        message = pending.pop(0)
        name = _relative(message.full_name, package)
        if name in messages:
            continue
        fields: dict[int, Field] = {}
        messages[name] = fields
        for field in sorted(message.fields, key=lambda f: f.number):
            where = f"{message.full_name}.{field.name}"
            if field.type not in TYPE_NAMES:
                raise Unsupported(f"{where}: field type {field.type}")
            if field.is_required or field.has_default_value:
                raise Unsupported(f"{where}: required field or custom default")
            if field.containing_oneof is not None and not _is_proto3_optional(field):
                raise Unsupported(f"{where}: member of oneof {field.containing_oneof.name}")
            entry = field.message_type if field.type == MESSAGE else None
            if entry is not None and entry.GetOptions().map_entry:
                key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
                spec: Field = (field.json_name, value.type, MAP, reference(value), key.type)
            elif field.is_repeated:
                spec = (field.json_name, field.type, REPEATED, reference(field), 0)
            elif field.has_presence and field.type != MESSAGE:
                spec = (field.json_name, field.type, OPTIONAL, reference(field), 0)
            else:
                spec = (field.json_name, field.type, SINGULAR, reference(field), 0)
            fields[field.number] = spec
    return messages, enums


HEADER = '''\
"""The wire schema of the CRI messages inspect8s sends and reads (runtime.v1), for wire.py.

Generated by scripts/gen_cri_schema.py (run by `bash scripts/gen_cri.sh`) from the
descriptors of api.proto; do not edit.

MESSAGES: message name (relative to runtime.v1) -> {{field number: (JSON name, type,
label, reference, key type)}}. The type is the value's (a map's value type for a map);
the reference names the message or enum of a MESSAGE or ENUM value, else None; the key
type is a map's key type, else 0. ENUMS: enum name -> {{number: value name}}.
"""

from __future__ import annotations

# field types: the numbers of FieldDescriptorProto.Type
{types}

# labels
SINGULAR = 0  # implicit presence: left out at the default value
OPTIONAL = 1  # explicit presence (proto3 optional): kept whenever it was sent
REPEATED = 2
MAP = 3

Field = tuple[str, int, int, str | None, int]

'''


def _line(indent: str, key: str, spec: Field) -> list[str]:
    json_name, kind, label, ref, key_kind = spec
    parts = [
        f'"{json_name}"',
        TYPE_NAMES[kind],
        LABEL_NAMES[label],
        "None" if ref is None else f'"{ref}"',
        TYPE_NAMES[key_kind] if key_kind else "0",
    ]
    line = f"{indent}{key}: ({', '.join(parts)}),"
    if len(line) <= 100:
        return [line]
    return [f"{indent}{key}: (", *(f"{indent}    {part}," for part in parts), f"{indent}),"]


def render(messages: dict[str, dict[int, Field]], enums: dict[str, dict[int, str]]) -> str:
    """The text of schema.py for the table."""
    types = "\n".join(f"{name} = {number}" for number, name in TYPE_NAMES.items())
    lines = [
        HEADER.format(types=types).rstrip("\n"),
        "",
        "MESSAGES: dict[str, dict[int, Field]] = {",
    ]
    for name in sorted(messages):
        fields = messages[name]
        if not fields:
            lines.append(f'    "{name}": {{}},')
            continue
        lines.append(f'    "{name}": {{')
        for number, spec in fields.items():
            lines += _line("        ", str(number), spec)
        lines.append("    },")
    lines += ["}", "", "ENUMS: dict[str, dict[int, str]] = {"]
    for name in sorted(enums):
        lines.append(f'    "{name}": {{')
        lines += [f'        {number}: "{value}",' for number, value in enums[name].items()]
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def load_pb2(path: Path) -> Any:
    """The generated module at ``path``, imported under a name of its own."""
    spec = importlib.util.spec_from_file_location("_gen_cri_schema_api_pb2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pb2", type=Path, default=DEFAULT_PB2, help="protoc's api_pb2.py")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the schema.py to write")
    args = parser.parse_args(argv)
    pb2 = load_pb2(args.pb2)
    file = pb2.DESCRIPTOR
    roots = [file.message_types_by_name[name] for name in (*REQUESTS, *ANSWERS)]
    messages, enums = describe(roots, file.package)
    args.out.write_text(render(messages, enums))
    return 0


if __name__ == "__main__":
    sys.exit(main())
