"""A protobuf wire-format codec for the CRI messages, driven by the table in ``schema.py``.

:func:`decode` turns the bytes of a message into the dict protobuf's
``json_format.MessageToDict`` gives for it with its default options, without protobuf:

* keys are the fields' JSON names (camelCase), in field-number order;
* 64-bit integers (int64, uint64, sint64, fixed64, sfixed64) are decimal strings, 32-bit
  ones ints; enums are value names, and a number the enum does not name stays an int;
  bytes are base64 strings; float and double are Python floats ("NaN", "Infinity",
  "-Infinity" as strings; a float is the shortest decimal that rounds to the same 32 bits);
* a scalar field without explicit presence is left out at its default (0, "", false, the
  enum's 0); a proto3 ``optional`` field is kept whenever it was sent; empty repeated
  fields and maps are left out; a sub-message that was sent is kept even when empty (``{}``);
* maps are dicts with string keys ("true"/"false" for bool keys), sorted by key: a runtime
  sends map entries in any order (containerd's differs from answer to answer) and
  MessageToDict keeps protobuf's hash-table order, so sorting is what makes the same answer
  give the same JSON; an entry without key or value has the default one.

It decodes as protobuf's upb runtime does: fields in any order, the last occurrence of a
singular scalar wins, repeated occurrences of a singular sub-message are merged, repeated
scalars come packed or one by one, and a field number the table does not know (or a known
one sent with another wire type) is skipped whatever its wire type, groups included. A map
entry holding a field other than its key and value is dropped, as upb drops it. Strings must
be UTF-8. Malformed input (a varint or length that runs past the end of its message, a
varint longer than 10 bytes, a tag longer than 5, wire type 6 or 7, field number 0, an end
group that ends nothing, nesting deeper than 100 messages and groups) raises
:class:`WireError`.

:func:`encode` writes the few request messages: singular string and bool fields, defaults
left out, in field-number order (what protobuf's ``SerializeToString`` writes).

The table is the generated ``schema.py``; :class:`Codec` takes any table in the same form
(``scripts/gen_cri_schema.py``'s ``describe`` makes one from protobuf descriptors).
"""

from __future__ import annotations

import math
import struct
from binascii import b2a_base64
from collections.abc import Mapping
from typing import Any

from inspect8s.runtime._cri.schema import (
    BOOL,
    BYTES,
    DOUBLE,
    ENUM,
    FIXED32,
    FIXED64,
    FLOAT,
    INT32,
    INT64,
    MAP,
    MESSAGE,
    OPTIONAL,
    REPEATED,
    SFIXED32,
    SFIXED64,
    SINGULAR,
    SINT32,
    SINT64,
    STRING,
    UINT32,
    UINT64,
    Field,
)

JSONDict = dict[str, Any]
Messages = Mapping[str, Mapping[int, Field]]
Enums = Mapping[str, Mapping[int, str]]

# upb's limit: sub-messages, map entries and groups nested deeper than this fail.
MAX_DEPTH = 100

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF
_SIGN32 = 1 << 31
_SIGN64 = 1 << 63

# wire types
_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5

_WIRE_TYPES = {
    DOUBLE: _I64,
    FLOAT: _I32,
    INT64: _VARINT,
    UINT64: _VARINT,
    INT32: _VARINT,
    FIXED64: _I64,
    FIXED32: _I32,
    BOOL: _VARINT,
    STRING: _LEN,
    MESSAGE: _LEN,
    BYTES: _LEN,
    UINT32: _VARINT,
    ENUM: _VARINT,
    SFIXED32: _I32,
    SFIXED64: _I64,
    SINT32: _VARINT,
    SINT64: _VARINT,
}

# How a compiled field is decoded (the second element of a compiled entry). Values sent
# with a length (wire type 2) are the kinds from _L_STRMAP on.
_K_SCALAR = 0  # singular number, bool or enum, left out at its default
_K_OPTIONAL = 1  # singular number, bool or enum with explicit presence
_K_REPEATED = 2  # one element of a repeated number, bool or enum
_L_STRMAP = 3  # one entry of a map<string, string>
_L_STRING = 4  # singular string or bytes, left out when empty
_L_MESSAGE = 5  # singular sub-message, merged over occurrences
_L_MESSAGES = 6  # one element of a repeated sub-message
_L_MAP = 7  # one entry of any other map
_L_REPEATED = 8  # one element of a repeated string or bytes
_L_PACKED = 9  # a packed run of a repeated number, bool or enum
_L_OPTIONAL = 10  # singular string or bytes with explicit presence

# compiled entry: (json name, how, type, reference, field number); the reference is the
# message name (sub-messages), the enum's names (enums) or an _Entry (maps)
_Compiled = tuple[str, int, int, Any, int]
# map entry: (key tag, key type, value tag, value type, value reference)
_Entry = tuple[int, int, int, int, Any]

_unpack_f = struct.Struct("<f").unpack_from
_unpack_d = struct.Struct("<d").unpack_from
_pack_f = struct.Struct("<f").pack


class WireError(ValueError):
    """The bytes are not a well-formed encoding of the message."""


def _varint(
    buf: bytes, pos: int, end: int, what: str = "varint", most: int = 10
) -> tuple[int, int]:
    """The varint at ``pos`` (at most ``most`` bytes, kept to 64 bits) and the position after
    it; ``what`` names it in errors (a tag and a length may take at most 5 bytes)."""
    result = 0
    shift = 0
    start = pos
    limit = 7 * most
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift == limit:
            raise WireError(f"{what} at byte {start} is longer than {most} bytes")
    raise WireError(f"{what} at byte {start} runs past the end of its message (byte {end})")


def _tag(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A field tag of more than one byte: at most 5 bytes, below 2**32."""
    result, after = _varint(buf, pos, end, "tag", 5)
    if result > _MASK32:
        raise WireError(f"tag at byte {pos} does not fit in 32 bits")
    return result, after


def _span(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Start and end of the length-delimited value whose length is at ``pos``."""
    if pos < end and buf[pos] < 0x80:
        start = pos + 1
        stop = start + buf[pos]
    else:
        length, start = _varint(buf, pos, end, "length", 5)
        if length > 0x7FFFFFFF:
            raise WireError(f"length {length} at byte {pos} is over 2 GiB")
        stop = start + length
    if stop > end:
        raise WireError(
            f"length {stop - start} at byte {pos} runs past the end of its message (byte {end})"
        )
    return start, stop


def _skip(buf: bytes, pos: int, end: int, tag: int, depth: int) -> int:
    """Skip the value of an unknown field whose tag was just read; the position after it."""
    if tag >> 3 == 0:
        raise WireError(f"field number 0 before byte {pos}")
    if tag & 7 != _SGROUP:
        return _skip_value(buf, pos, end, tag)
    # a group: its fields up to the end of group of the same number (upb lets field
    # number 0 pass inside a group)
    groups = [tag >> 3]
    while groups:
        if depth + len(groups) > MAX_DEPTH:
            raise WireError(f"groups nested deeper than {MAX_DEPTH} levels at byte {pos}")
        if pos >= end:
            raise WireError(f"group {groups[-1]} is not ended before byte {end}")
        inner, pos = _tag(buf, pos, end)
        if inner & 7 == _SGROUP:
            groups.append(inner >> 3)
        elif inner & 7 == _EGROUP:
            if groups.pop() != inner >> 3:
                raise WireError(f"end of group {inner >> 3} before byte {pos} ends no group")
        else:
            pos = _skip_value(buf, pos, end, inner)
    return pos


def _skip_value(buf: bytes, pos: int, end: int, tag: int) -> int:
    """Skip a value of wire type varint, fixed64, length-delimited or fixed32."""
    wire = tag & 7
    if wire == _VARINT:
        return _varint(buf, pos, end)[1]
    if wire == _LEN:
        return _span(buf, pos, end)[1]
    if wire in (_I64, _I32):
        stop = pos + (8 if wire == _I64 else 4)
        if stop > end:
            raise WireError(f"fixed-size value at byte {pos} runs past the end of its message")
        return stop
    if wire == _EGROUP:
        raise WireError(f"end of group {tag >> 3} before byte {pos} outside a group")
    raise WireError(f"wire type {wire} before byte {pos}")


def _text(raw: bytes, kind: int) -> str:
    """A string field's text, or a bytes field's base64."""
    if kind == STRING:
        return raw.decode()
    return b2a_base64(raw, newline=False).decode("ascii")


def _shortest_float(value: float) -> float:
    """The float with the fewest significant digits (6 at least) whose 32-bit rounding is
    ``value``: the figure ``MessageToDict`` prints for a float field."""
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if _unpack_f(_pack_f(candidate))[0] == value:
            return candidate
    return value


def _float_json(value: float, single: bool) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return _shortest_float(value) if single else value


def _scalar(buf: bytes, pos: int, end: int, kind: int, names: Any) -> tuple[Any, bool, int]:
    """The scalar of type ``kind`` at ``pos``: (JSON value, whether it is the default, the
    position after it). ``names`` are the enum's value names for an enum."""
    if kind in (STRING, BYTES):
        start, stop = _span(buf, pos, end)
        return _text(buf[start:stop], kind), start == stop, stop
    if kind in (INT64, UINT64, SINT64):
        value, pos = _varint(buf, pos, end)
        if kind == INT64:
            if value >= _SIGN64:
                value -= 1 << 64
        elif kind == SINT64:
            value = (value >> 1) ^ -(value & 1)
        return str(value), not value, pos
    if kind in (ENUM, INT32):
        value, pos = _varint(buf, pos, end)
        value &= _MASK32
        if value >= _SIGN32:
            value -= 1 << 32
        if kind == ENUM:
            return names.get(value, value), not value, pos
        return value, not value, pos
    if kind == BOOL:
        value, pos = _varint(buf, pos, end)
        return value != 0, not value, pos
    if kind in (UINT32, SINT32):
        value, pos = _varint(buf, pos, end)
        value &= _MASK32
        if kind == SINT32:
            value = (value >> 1) ^ -(value & 1)
        return value, not value, pos
    size = 4 if kind in (FIXED32, SFIXED32, FLOAT) else 8
    stop = pos + size
    if stop > end:
        raise WireError(f"fixed-size value at byte {pos} runs past the end of its message")
    if kind in (FLOAT, DOUBLE):
        number = (_unpack_f if kind == FLOAT else _unpack_d)(buf, pos)[0]
        default = number == 0.0 and math.copysign(1.0, number) > 0
        return _float_json(number, kind == FLOAT), default, stop
    value = int.from_bytes(buf[pos:stop], "little", signed=kind in (SFIXED32, SFIXED64))
    if kind in (FIXED64, SFIXED64):
        return str(value), not value, stop
    if kind in (FIXED32, SFIXED32):
        return value, not value, stop
    raise ValueError(f"not a scalar field type: {kind}")


def _default_json(kind: int, names: Any) -> Any:
    """The JSON form of a type's default value (a map entry without its value)."""
    if kind in (STRING, BYTES):
        return ""
    if kind in (INT64, UINT64, SINT64, FIXED64, SFIXED64):
        return "0"
    if kind == BOOL:
        return False
    if kind == ENUM:
        return names.get(0, 0)
    if kind in (FLOAT, DOUBLE):
        return 0.0
    if kind == MESSAGE:
        return {}
    return 0


def _key_json(key: Any) -> str:
    if key is True:
        return "true"
    if key is False:
        return "false"
    return str(key)


class Codec:
    """Decoder and encoder of the messages of one schema table.

    ``messages`` maps a message name to ``{field number: Field}``, ``enums`` an enum name to
    ``{number: value name}``, in the form ``schema.py`` documents.
    """

    def __init__(self, messages: Messages, enums: Enums) -> None:
        self._messages = messages
        self._enums = enums
        self._tables: dict[str, dict[int, _Compiled]] = {}
        self._orders: dict[str, dict[str, int]] = {}
        self._maps: dict[str, list[str]] = {}

    # -- decoding -------------------------------------------------------------------------

    def decode(self, data: bytes | bytearray | memoryview, message: str) -> JSONDict:
        """The ``MessageToDict`` form of ``data``, an encoded ``message``."""
        if message not in self._messages:
            raise KeyError(f"no message {message!r} in the schema")
        buf = data if isinstance(data, bytes) else bytes(data)
        out: JSONDict = {}
        try:
            self._merge(buf, 0, len(buf), message, out, 0)
        except UnicodeDecodeError as exc:
            raise WireError(f"a string field is not UTF-8 ({exc.reason})") from None
        return out

    def _table(self, name: str) -> dict[int, _Compiled]:
        """The fields of message ``name`` by tag (field number and wire type)."""
        table = self._tables.get(name)
        if table is not None:
            return table
        table = {}
        order = {}
        maps = []
        for number, (json_name, kind, label, ref, key_kind) in self._messages[name].items():
            order[json_name] = number
            names = self._enums[ref] if kind == ENUM and ref is not None else None
            wire = _WIRE_TYPES[kind]
            if label == MAP:
                maps.append(json_name)
                how = _L_STRMAP if kind == STRING and key_kind == STRING else _L_MAP
                value_ref = ref if names is None else names
                entry: _Entry = (
                    1 << 3 | _WIRE_TYPES[key_kind],
                    key_kind,
                    2 << 3 | wire,
                    kind,
                    value_ref,
                )
                table[number << 3 | _LEN] = (json_name, how, kind, entry, number)
            elif kind == MESSAGE:
                how = _L_MESSAGES if label == REPEATED else _L_MESSAGE
                table[number << 3 | _LEN] = (json_name, how, kind, ref, number)
            elif wire == _LEN:  # string, bytes
                how = {SINGULAR: _L_STRING, OPTIONAL: _L_OPTIONAL, REPEATED: _L_REPEATED}[label]
                table[number << 3 | _LEN] = (json_name, how, kind, None, number)
            else:
                how = {SINGULAR: _K_SCALAR, OPTIONAL: _K_OPTIONAL, REPEATED: _K_REPEATED}[label]
                table[number << 3 | wire] = (json_name, how, kind, names, number)
                if label == REPEATED:
                    table[number << 3 | _LEN] = (json_name, _L_PACKED, kind, names, number)
        self._orders[name] = order
        self._maps[name] = maps
        self._tables[name] = table
        return table

    def _merge(self, buf: bytes, pos: int, end: int, name: str, out: JSONDict, depth: int) -> None:
        """Decode the fields of message ``name`` in ``buf[pos:end]`` into ``out``."""
        if depth > MAX_DEPTH:
            raise WireError(f"messages nested deeper than {MAX_DEPTH} levels at byte {pos}")
        table = self._tables.get(name)
        if table is None:
            table = self._table(name)
        lookup = table.get
        ordered = not out  # merging into an earlier occurrence may add fields out of order
        mapped = False
        last = 0
        while pos < end:
            tag = buf[pos]
            if tag < 0x80:
                pos += 1
            else:
                tag, pos = _tag(buf, pos, end)
            spec = lookup(tag)
            if spec is None:
                pos = _skip(buf, pos, end, tag, depth)
                continue
            key, how, kind, ref, number = spec
            if number < last:
                ordered = False
            last = number
            if how < _L_STRMAP:
                if how == _K_SCALAR:
                    value, default, pos = _scalar(buf, pos, end, kind, ref)
                    if default:
                        out.pop(key, None)
                    else:
                        out[key] = value
                elif how == _K_REPEATED:
                    value, _, pos = _scalar(buf, pos, end, kind, ref)
                    items = out.get(key)
                    if items is None:
                        out[key] = [value]
                    else:
                        items.append(value)
                else:  # _K_OPTIONAL
                    out[key], _, pos = _scalar(buf, pos, end, kind, ref)
                continue
            length = buf[pos] if pos < end else 0x80
            if length < 0x80 and pos + 1 + length <= end:
                start = pos + 1
                pos = start + length
            else:
                start, pos = _span(buf, pos, end)
            if how == _L_STRMAP:
                # the usual entry: the key's field, then the value's, each under 128 bytes
                at = start + 2
                if pos - start >= 4 and buf[start] == 0x0A and buf[start + 1] < 0x80:
                    value_at = at + buf[start + 1]
                    if (
                        value_at + 2 <= pos
                        and buf[value_at] == 0x12
                        and buf[value_at + 1] < 0x80
                        and value_at + 2 + buf[value_at + 1] == pos
                    ):
                        entries = out.get(key)
                        if entries is None:
                            entries = out[key] = {}
                        entries[buf[at:value_at].decode()] = buf[value_at + 2 : pos].decode()
                        mapped = True
                        continue
                found = self._entry(buf, start, pos, ref, depth + 1)
                if found is not None:
                    entries = out.get(key)
                    if entries is None:
                        entries = out[key] = {}
                    entries[found[0]] = found[1]
                    mapped = True
            elif how == _L_STRING:
                if start == pos:
                    out.pop(key, None)
                else:
                    raw = buf[start:pos]
                    out[key] = raw.decode() if kind == STRING else _text(raw, kind)
            elif how == _L_MESSAGE:
                sub = out.get(key)
                if sub is None:
                    sub = out[key] = {}
                self._merge(buf, start, pos, ref, sub, depth + 1)
            elif how == _L_MESSAGES:
                sub = {}
                items = out.get(key)
                if items is None:
                    out[key] = [sub]
                else:
                    items.append(sub)
                self._merge(buf, start, pos, ref, sub, depth + 1)
            elif how == _L_MAP:
                found = self._entry(buf, start, pos, ref, depth + 1)
                if found is not None:
                    entries = out.get(key)
                    if entries is None:
                        entries = out[key] = {}
                    entries[found[0]] = found[1]
                    mapped = True
            elif how == _L_REPEATED:
                items = out.get(key)
                if items is None:
                    out[key] = [_text(buf[start:pos], kind)]
                else:
                    items.append(_text(buf[start:pos], kind))
            elif how == _L_PACKED:
                values = []
                while start < pos:
                    value, _, start = _scalar(buf, start, pos, kind, ref)
                    values.append(value)
                if values:
                    items = out.get(key)
                    if items is None:
                        out[key] = values
                    else:
                        items.extend(values)
            else:  # _L_OPTIONAL
                out[key] = _text(buf[start:pos], kind)
        if mapped:  # runtimes send map entries in any order (Go's): keep them sorted
            for key in self._maps[name]:
                entries = out.get(key)
                if entries is not None and len(entries) > 1:
                    out[key] = dict(sorted(entries.items()))
        if not ordered:
            order = self._orders[name]
            fields = sorted(out.items(), key=lambda item: order[item[0]])
            out.clear()
            out.update(fields)

    def _entry(
        self, buf: bytes, pos: int, end: int, entry: _Entry, depth: int
    ) -> tuple[str, Any] | None:
        """The (key, value) of the map entry in ``buf[pos:end]``; None when upb drops it
        (a field other than key and value in it)."""
        if depth > MAX_DEPTH:
            raise WireError(f"messages nested deeper than {MAX_DEPTH} levels at byte {pos}")
        key_tag, key_kind, value_tag, value_kind, ref = entry
        key: Any = None
        value: Any = None
        unknown = False
        while pos < end:
            tag = buf[pos]
            if tag < 0x80:
                pos += 1
            else:
                tag, pos = _tag(buf, pos, end)
            if tag == key_tag:
                key, _, pos = _scalar(buf, pos, end, key_kind, None)
            elif tag == value_tag:
                if value_kind == MESSAGE:
                    start, pos = _span(buf, pos, end)
                    if value is None:
                        value = {}
                    self._merge(buf, start, pos, ref, value, depth + 1)
                else:
                    value, _, pos = _scalar(buf, pos, end, value_kind, ref)
            else:
                pos = _skip(buf, pos, end, tag, depth)
                unknown = True
        if unknown:
            return None
        if key is None:
            key = _default_json(key_kind, None)
        if value is None:
            value = _default_json(value_kind, ref)
        return (key if key_kind == STRING else _key_json(key)), value

    # -- encoding -------------------------------------------------------------------------

    def encode(self, message: str, values: Mapping[str, str | bool]) -> bytes:
        """The encoding of ``message`` with ``values`` by JSON field name: singular string
        and bool fields only; defaults (``""``, ``False``) are left out."""
        fields = self._messages[message]
        known = {spec[0] for spec in fields.values()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{message} has no field {', '.join(unknown)}")
        parts: list[bytes] = []
        for number in sorted(fields):
            json_name, kind, label, _, _ = fields[number]
            if json_name not in values:
                continue
            value = values[json_name]
            if label == SINGULAR and kind == STRING:
                if not isinstance(value, str):
                    raise TypeError(f"{message}.{json_name} is a string, not {value!r}")
                if value:
                    data = value.encode()
                    parts += (_encode_varint(number << 3 | _LEN), _encode_varint(len(data)), data)
            elif label == SINGULAR and kind == BOOL:
                if not isinstance(value, bool):
                    raise TypeError(f"{message}.{json_name} is a bool, not {value!r}")
                if value:
                    parts += (_encode_varint(number << 3 | _VARINT), b"\x01")
            else:
                raise ValueError(f"{message}.{json_name}: only singular strings and bools encode")
        return b"".join(parts)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_CRI: Codec | None = None


def cri_codec() -> Codec:
    """The codec of the CRI messages in ``schema.py``."""
    global _CRI
    if _CRI is None:
        from inspect8s.runtime._cri.schema import ENUMS, MESSAGES

        _CRI = Codec(MESSAGES, ENUMS)
    return _CRI


def decode(data: bytes | bytearray | memoryview, message: str) -> JSONDict:
    """The ``MessageToDict`` form of the CRI ``message`` (``"ContainerStatusResponse"``)
    encoded in ``data``; raises :class:`WireError` when the bytes are malformed."""
    return cri_codec().decode(data, message)


def encode(message: str, values: Mapping[str, str | bool]) -> bytes:
    """The encoding of the CRI request ``message`` (``"ContainerStatusRequest"``) with
    ``values`` by JSON field name (``{"containerId": ..., "verbose": True}``)."""
    return cri_codec().encode(message, values)
