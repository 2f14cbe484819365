"""The CRI wire codec (inspect8s/runtime/_cri/wire.py) against the protobuf runtime.

Messages are built with protobuf (the generated CRI messages, and a message of every field
type made here from a descriptor), serialized, and decoded both ways: the codec's dict must
be what ``MessageToDict`` gives for the parsed message, key order included. Hand-written
bytes cover what protobuf never writes itself (unknown fields, fields out of order, split
sub-messages, redundant varints) and malformed input, where both must refuse.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from testbed import api_pb2

from inspect8s.runtime._cri import schema, wire
from inspect8s.runtime._cri.wire import Codec, WireError
from scripts.gen_cri_schema import ANSWERS, REQUESTS, describe

T = FieldDescriptor

# -- building messages at random ----------------------------------------------------------

INT32S = [0, 1, -1, 127, 128, 300, -(2**31), 2**31 - 1]
INT64S = [0, 1, -1, 2**31, -(2**31) - 1, -(2**63), 2**63 - 1]
UINT32S = [0, 1, 127, 128, 2**31, 2**32 - 1]
UINT64S = [0, 1, 2**32, 2**63, 2**64 - 1]
STRINGS = ["", "a", "x" * 127, "y" * 128, "ünïcødé 🚀 中文", "\x00nul", "line\nbreak", "é" * 300]
FLOATS = [0.0, -0.0, 1.0, 0.1, -2.5, 1e-45, 3.4028234663852886e38, math.inf, -math.inf, math.nan]
DOUBLES = [0.0, -0.0, 0.1, -1e308, 5e-324, 1.7976931348623157e308, math.inf, math.nan]


def random_scalar(field: FieldDescriptor, rng: random.Random) -> Any:
    kind = field.type
    if kind in (T.TYPE_INT32, T.TYPE_SINT32, T.TYPE_SFIXED32):
        return rng.choice([*INT32S, rng.randint(-(2**31), 2**31 - 1)])
    if kind in (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_SFIXED64):
        return rng.choice([*INT64S, rng.randint(-(2**63), 2**63 - 1)])
    if kind in (T.TYPE_UINT32, T.TYPE_FIXED32):
        return rng.choice([*UINT32S, rng.randint(0, 2**32 - 1)])
    if kind in (T.TYPE_UINT64, T.TYPE_FIXED64):
        return rng.choice([*UINT64S, rng.randint(0, 2**64 - 1)])
    if kind == T.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == T.TYPE_STRING:
        if rng.random() < 0.3:
            codes = [rng.choice([rng.randint(32, 126), rng.randint(160, 0x2FFF)]) for _ in "x" * 9]
            return "".join(map(chr, codes))
        return rng.choice(STRINGS)
    if kind == T.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 3, 5, 130])))
    if kind == T.TYPE_ENUM:
        numbers = [value.number for value in field.enum_type.values]
        return rng.choice([*numbers, *numbers, 7, 1000, -5, 2**31 - 1])  # some not in the enum
    if kind == T.TYPE_FLOAT:
        if rng.random() < 0.5:
            return struct.unpack("<f", struct.pack("<f", rng.uniform(-1e6, 1e6)))[0]
        return rng.choice(FLOATS)
    if kind == T.TYPE_DOUBLE:
        return rng.choice([*DOUBLES, rng.uniform(-1e12, 1e12), rng.random()])
    raise AssertionError(f"no random value for {field.full_name}")


def fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    """Set a random part of MESSAGE's fields to random values."""
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.25:
            continue
        value: Any = getattr(message, field.name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
            for _ in range(rng.choice([0, 1, 2, 5])):
                key = random_scalar(key_field, rng)
                if value_field.type == T.TYPE_MESSAGE:
                    item = value[key]
                    if depth < 5:
                        fill(item, rng, depth + 1)
                else:
                    value[key] = random_scalar(value_field, rng)
        elif field.is_repeated:
            for _ in range(rng.choice([0, 1, 2, 4])):
                if field.type == T.TYPE_MESSAGE:
                    item = value.add()
                    if depth < 5:
                        fill(item, rng, depth + 1)
                else:
                    value.append(random_scalar(field, rng))
        elif field.type == T.TYPE_MESSAGE:
            value.SetInParent()  # present, even if it stays empty
            if depth < 5 and rng.random() < 0.8:
                fill(value, rng, depth + 1)
        else:
            setattr(message, field.name, random_scalar(field, rng))


def assert_same_order(ours: Any, theirs: Any, descriptor: Descriptor) -> None:
    """The keys of every message dict come in the order MessageToDict gives (maps aside,
    whose order protobuf does not keep)."""
    assert list(ours) == list(theirs)
    for field in descriptor.fields:
        if field.json_name not in theirs or field.type != T.TYPE_MESSAGE:
            continue
        value = theirs[field.json_name]
        entry = field.message_type
        if entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == T.TYPE_MESSAGE:
                for key, item in value.items():
                    assert_same_order(ours[field.json_name][key], item, value_field.message_type)
        elif field.is_repeated:
            for mine, item in zip(ours[field.json_name], value, strict=True):
                assert_same_order(mine, item, entry)
        else:
            assert_same_order(ours[field.json_name], value, entry)


def check(codec: Codec, cls: Any, name: str, data: bytes) -> None:
    """The codec decodes DATA as protobuf does: the same dict, or both refuse."""
    try:
        theirs = MessageToDict(cls.FromString(data))
    except DecodeError:
        with pytest.raises(WireError):
            codec.decode(data, name)
        return
    ours = codec.decode(data, name)
    assert ours == theirs, data.hex()
    assert_same_order(ours, theirs, cls.DESCRIPTOR)


CRI = wire.cri_codec()


@pytest.mark.parametrize("answer", ANSWERS)
def test_random_answers_decode_as_message_to_dict(answer: str) -> None:
    rng = random.Random(f"cri-{answer}")
    cls = getattr(api_pb2, answer)
    for _ in range(150):
        message = cls()
        fill(message, rng)
        check(CRI, cls, answer, message.SerializeToString())


# -- every field type, from a descriptor made here ------------------------------------------

SCALARS = {
    "double": T.TYPE_DOUBLE,
    "float": T.TYPE_FLOAT,
    "int64": T.TYPE_INT64,
    "uint64": T.TYPE_UINT64,
    "int32": T.TYPE_INT32,
    "fixed64": T.TYPE_FIXED64,
    "fixed32": T.TYPE_FIXED32,
    "bool": T.TYPE_BOOL,
    "string": T.TYPE_STRING,
    "bytes": T.TYPE_BYTES,
    "uint32": T.TYPE_UINT32,
    "sfixed32": T.TYPE_SFIXED32,
    "sfixed64": T.TYPE_SFIXED64,
    "sint32": T.TYPE_SINT32,
    "sint64": T.TYPE_SINT64,
}
# (key type, value type) of the maps: every key type, values of every kind
MAPS = [("int32", "string"), ("int64", "color"), ("uint32", "inner"), ("uint64", "int64"),
        ("sint32", "float"), ("sint64", "bytes"), ("fixed32", "double"), ("fixed64", "bool"),
        ("sfixed32", "uint32"), ("sfixed64", "sint64"), ("bool", "inner"), ("string", "string"),
        ("string", "inner"), ("uint64", "color"), ("int32", "fixed64")]  # fmt: skip
PACKAGE = "wiretest"


def all_types_file() -> descriptor_pb2.FileDescriptorProto:
    """A proto3 file whose message AllTypes has a field of every kind the codec reads."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="wiretest/all_types.proto", package=PACKAGE, syntax="proto3"
    )
    color = proto.enum_type.add(name="Color")
    for number, value in ((0, "COLOR_UNSET"), (1, "RED"), (2, "GREEN"), (-3, "INFRARED")):
        color.value.add(name=value, number=number)
    inner = proto.message_type.add(name="Inner")
    inner.field.add(name="note", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    inner.field.add(name="count", number=2, type=T.TYPE_SINT64, label=T.LABEL_OPTIONAL)
    inner.field.add(
        name="child", number=3, type=T.TYPE_MESSAGE, type_name=".wiretest.Inner",
        label=T.LABEL_OPTIONAL,
    )  # fmt: skip
    message = proto.message_type.add(name="AllTypes")
    number = 0

    def add(name: str, kind: int, label: int = T.LABEL_OPTIONAL, type_name: str = "") -> Any:
        nonlocal number
        number += 1
        field = message.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
        return field

    for name, kind in SCALARS.items():
        add(f"s_{name}", kind)
        add(f"r_{name}", kind, T.LABEL_REPEATED)
        optional = add(f"o_{name}", kind)
        optional.proto3_optional = True
        optional.oneof_index = len(message.oneof_decl)
        message.oneof_decl.add(name=f"_o_{name}")
    add("s_color", T.TYPE_ENUM, type_name=".wiretest.Color")
    optional = add("o_color", T.TYPE_ENUM, type_name=".wiretest.Color")
    optional.proto3_optional = True
    optional.oneof_index = len(message.oneof_decl)
    message.oneof_decl.add(name="_o_color")
    add("r_color", T.TYPE_ENUM, T.LABEL_REPEATED, ".wiretest.Color")
    add("s_inner", T.TYPE_MESSAGE, type_name=".wiretest.Inner")
    add("r_inner", T.TYPE_MESSAGE, T.LABEL_REPEATED, ".wiretest.Inner")
    add("unpacked_int32", T.TYPE_INT32, T.LABEL_REPEATED).options.packed = False
    for key, value_name in MAPS:
        entry_name = f"Map{key.capitalize()}{value_name.capitalize()}Entry"
        entry = message.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=SCALARS[key], label=T.LABEL_OPTIONAL)
        value = entry.field.add(name="value", number=2, label=T.LABEL_OPTIONAL)
        if value_name == "color":
            value.type, value.type_name = T.TYPE_ENUM, ".wiretest.Color"
        elif value_name == "inner":
            value.type, value.type_name = T.TYPE_MESSAGE, ".wiretest.Inner"
        else:
            value.type = SCALARS[value_name]
        add(f"map_{key}_{value_name}", T.TYPE_MESSAGE, T.LABEL_REPEATED,
            f".wiretest.AllTypes.{entry_name}")  # fmt: skip
    return proto


@pytest.fixture(scope="module")
def all_types() -> tuple[Codec, Any]:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(all_types_file())
    descriptor = pool.FindMessageTypeByName("wiretest.AllTypes")
    messages, enums = describe([descriptor], PACKAGE)
    return Codec(messages, enums), message_factory.GetMessageClass(descriptor)


def test_the_all_types_table(all_types: tuple[Codec, Any]) -> None:
    cls = all_types[1]
    messages, enums = describe([cls.DESCRIPTOR], PACKAGE)
    fields = {spec[0]: spec for spec in messages["AllTypes"].values()}
    assert fields["sInt64"] == ("sInt64", schema.INT64, schema.SINGULAR, None, 0)
    assert fields["oBytes"] == ("oBytes", schema.BYTES, schema.OPTIONAL, None, 0)
    assert fields["rColor"] == ("rColor", schema.ENUM, schema.REPEATED, "Color", 0)
    assert fields["sInner"] == ("sInner", schema.MESSAGE, schema.SINGULAR, "Inner", 0)
    assert fields["mapBoolInner"] == ("mapBoolInner", schema.MESSAGE, schema.MAP, "Inner", 8)
    assert enums == {"Color": {0: "COLOR_UNSET", 1: "RED", 2: "GREEN", -3: "INFRARED"}}
    assert set(messages) == {"AllTypes", "Inner"}


def test_random_messages_of_every_field_type(all_types: tuple[Codec, Any]) -> None:
    codec, cls = all_types
    rng = random.Random("all-types")
    for _ in range(400):
        message = cls()
        fill(message, rng)
        check(codec, cls, "AllTypes", message.SerializeToString())


def test_scalar_forms(all_types: tuple[Codec, Any]) -> None:
    codec, cls = all_types
    message = cls(
        s_int32=-1, s_int64=-(2**63), s_uint64=2**64 - 1, s_sint32=-(2**31), s_sint64=-1,
        s_fixed64=2**64 - 1, s_sfixed64=-2, s_fixed32=2**32 - 1, s_sfixed32=-(2**31),
        s_bytes=b"\x00\xffab", s_float=0.1, s_double=0.1, s_color=-3, r_color=[1, 9, -3],
        o_int32=0, o_string="", o_bool=False, o_color=0, o_float=-0.0, s_inner={},
        map_bool_inner={False: {}}, map_int32_string={-1: "minus"}, map_uint64_color={1: 0},
    )  # fmt: skip
    ours = codec.decode(message.SerializeToString(), "AllTypes")
    assert ours == MessageToDict(message)
    assert ours["sInt32"] == -1 and ours["sInt64"] == str(-(2**63))
    assert ours["sUint64"] == "18446744073709551615" and ours["sFixed32"] == 2**32 - 1
    assert ours["sBytes"] == "AP9hYg==" and ours["sFloat"] == 0.1 and ours["sColor"] == "INFRARED"
    assert ours["rColor"] == ["RED", 9, "INFRARED"]
    assert ours["oInt32"] == 0 and ours["oString"] == "" and ours["oBool"] is False
    assert ours["oColor"] == "COLOR_UNSET" and math.copysign(1, ours["oFloat"]) == -1
    assert ours["sInner"] == {} and ours["mapBoolInner"] == {"false": {}}
    assert ours["mapInt32String"] == {"-1": "minus"}
    assert ours["mapUint64Color"] == {"1": "COLOR_UNSET"}
    floats = cls(s_float=math.nan, r_float=[math.inf, -math.inf], s_double=-math.inf)
    assert codec.decode(floats.SerializeToString(), "AllTypes") == {
        "sDouble": "-Infinity", "sFloat": "NaN", "rFloat": ["Infinity", "-Infinity"]
    }  # fmt: skip


def test_nesting_limit(all_types: tuple[Codec, Any]) -> None:
    codec, cls = all_types

    def nested(levels: int) -> bytes:
        data = b""
        for _ in range(levels):
            data = b"\x1a" + varint(len(data)) + data  # Inner.child
        return data

    inner = cls.DESCRIPTOR.fields_by_name["s_inner"].message_type
    inner_cls = message_factory.GetMessageClass(inner)
    check(codec, inner_cls, "Inner", nested(100))
    check(codec, inner_cls, "Inner", nested(101))
    with pytest.raises(WireError, match="nested deeper than 100"):
        codec.decode(nested(101), "Inner")


# -- hand-written bytes ----------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= 2**64 - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def ld(number: int, data: bytes) -> bytes:
    """A length-delimited field."""
    return tag(number, 2) + varint(len(data)) + data


def vi(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def same(name: str, data: bytes) -> dict[str, Any]:
    """Decode DATA as CRI message NAME; check it equals protobuf's and return it."""
    ours = CRI.decode(data, name)
    assert ours == MessageToDict(getattr(api_pb2, name).FromString(data))
    return ours


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = (
        vi(100, 2**64 - 1)
        + tag(101, 1) + b"\x01" * 8
        + ld(102, b"\xff\xfe not even UTF-8")
        + tag(103, 3) + vi(1, 5) + tag(104, 3) + ld(2, b"x") + tag(104, 4) + tag(103, 4)
        + tag(105, 5) + b"\x02" * 4
    )  # fmt: skip
    data = unknown + ld(1, b"abc") + unknown + vi(3, 1) + ld(2, unknown + ld(1, b"app"))
    assert same("ContainerStatus", data) == {
        "id": "abc", "metadata": {"name": "app"}, "state": "CONTAINER_RUNNING"
    }  # fmt: skip
    # a known field number with another wire type is unknown too
    other_wire_types = vi(1, 5) + ld(7, b"\x05") + tag(3, 5) + b"\x01\x00\x00\x00"
    assert same("ContainerStatus", other_wire_types) == {}


def test_fields_out_of_order_come_in_field_order() -> None:
    data = vi(7, 3) + ld(12, ld(1, b"k") + ld(2, b"v")) + ld(1, b"id") + vi(3, 2)
    answer = same("ContainerStatus", data)
    assert list(answer) == ["id", "state", "exitCode", "labels"]
    assert answer == {"id": "id", "state": "CONTAINER_EXITED", "exitCode": 3, "labels": {"k": "v"}}


def test_the_last_of_a_repeated_singular_field_wins() -> None:
    data = ld(1, b"first") + vi(3, 1) + vi(7, 9) + ld(1, b"second") + vi(3, 2) + vi(7, 0)
    assert same("ContainerStatus", data) == {"id": "second", "state": "CONTAINER_EXITED"}
    assert same("ContainerStatus", ld(1, b"x") + ld(1, b"")) == {}


def test_a_sub_message_sent_in_two_parts_is_merged() -> None:
    first = ld(2, vi(2, 4))  # metadata.attempt
    second = ld(2, ld(1, b"app"))  # metadata.name
    answer = same("ContainerStatus", first + ld(1, b"c") + second)
    assert answer == {"id": "c", "metadata": {"name": "app", "attempt": 4}}
    assert list(answer["metadata"]) == ["name", "attempt"]
    # repeated fields inside the two parts add up; a zero in the second clears the first
    user = ld(1, vi(1, 7) + vi(3, 1)) + ld(1, vi(1, 0) + vi(3, 2))
    assert same("ContainerUser", user) == {"linux": {"supplementalGroups": ["1", "2"]}}
    assert same("ContainerStatus", ld(2, b"") + ld(2, b"")) == {"metadata": {}}


def test_packed_and_unpacked_repeated_integers() -> None:
    packed = ld(3, varint(1) + varint(2**63) + varint(-1))
    unpacked = vi(3, 5) + vi(3, 6)
    assert same("LinuxContainerUser", packed) == {"supplementalGroups": ["1", str(-(2**63)), "-1"]}
    assert same("LinuxContainerUser", unpacked + packed + vi(3, 0)) == {
        "supplementalGroups": ["5", "6", "1", str(-(2**63)), "-1", "0"]
    }
    assert same("LinuxContainerUser", ld(3, b"")) == {}


def test_repeated_strings_and_bytes_are_one_element_an_occurrence(
    all_types: tuple[Codec, Any],
) -> None:
    codec, cls = all_types
    numbers = {f.name: f.number for f in cls.DESCRIPTOR.fields}
    data = (
        ld(numbers["r_string"], b"a") + ld(numbers["r_bytes"], b"\x01\x02\x03")
        + ld(numbers["r_string"], b"") + ld(numbers["r_bytes"], b"")
        + ld(numbers["unpacked_int32"], varint(1) + varint(-1))
        + vi(numbers["unpacked_int32"], 2)
    )  # fmt: skip
    ours = codec.decode(data, "AllTypes")
    assert ours == MessageToDict(cls.FromString(data))
    assert ours == {"rString": ["a", ""], "rBytes": ["AQID", ""], "unpackedInt32": [1, -1, 2]}


def test_map_entries() -> None:
    def entry(*parts: bytes) -> bytes:
        return ld(12, b"".join(parts))  # ContainerStatus.labels

    data = (
        entry(ld(1, b"k"), ld(2, b"a"))
        + entry(ld(2, b"v" * 200), ld(1, b"long"))  # value first, a 2-byte length
        + entry(ld(1, b"k"), ld(2, b"b"))  # the same key again: the last wins
        + entry(ld(1, b"no value"))
        + entry(ld(2, b"no key"))
        + entry(ld(1, b"x"), ld(1, b"y"), ld(2, b"1"), ld(2, b"2"))
        + entry(ld(1, b"dropped"), vi(3, 1), ld(2, b"an unknown field in the entry"))
        + entry(ld(1, b"dropped too"), vi(2, 1))  # a value of another wire type
    )
    assert same("ContainerStatus", data) == {
        "labels": {"k": "b", "long": "v" * 200, "no value": "", "": "no key", "y": "2"}
    }
    assert same("ContainerStatus", entry()) == {"labels": {"": ""}}


def test_map_entries_come_sorted_by_key_whatever_order_they_were_sent_in() -> None:
    keys = [b"zeta", b"alpha", b"io.kubernetes.pod.uid", b"io.kubernetes.pod.name", b"mid"]
    for sent in (keys, keys[::-1]):
        labels = b"".join(ld(8, ld(1, key) + ld(2, b"v")) for key in sent)  # Container.labels
        answer = same("Container", labels + ld(1, b"c") + ld(9, ld(1, b"b")) + ld(9, ld(1, b"a")))
        assert list(answer) == ["id", "labels", "annotations"]
        assert list(answer["labels"]) == sorted(key.decode() for key in keys)
        assert list(answer["annotations"]) == ["a", "b"]


def test_integers_at_their_limits_and_redundant_varints() -> None:
    assert same("ContainerStatus", vi(7, -1)) == {"exitCode": -1}
    assert same("ContainerStatus", vi(7, 2**32 + 5)) == {"exitCode": 5}  # kept to 32 bits
    assert same("ContainerStatus", tag(7, 0) + b"\x85" + b"\x80" * 8 + b"\x00") == {"exitCode": 5}
    assert same("ContainerStatus", tag(4, 0) + b"\xff" * 9 + b"\x7f") == {"createdAt": "-1"}
    assert same("ContainerStatus", vi(3, 77) + vi(7, -(2**31))) == {
        "state": 77, "exitCode": -(2**31)
    }  # fmt: skip
    assert same("IDMapping", vi(1, 2**32 - 1) + vi(2, -1)) == {
        "hostId": 4294967295, "containerId": 4294967295
    }  # fmt: skip
    assert same("Mount", vi(3, 2**63)) == {"readonly": True}
    assert same("Mount", tag(3, 0) + b"\x80" * 9 + b"\x02") == {}  # bit 64 only: false
    assert same("ContainerStatus", b"\xb8\x80\x80\x80\x00\x05") == {"exitCode": 5}  # 5-byte tag
    assert same("ContainerStatus", tag(1, 2) + b"\x81\x80\x80\x80\x00x") == {"id": "x"}


MALFORMED = {
    "truncated varint": vi(7, 300)[:-1],
    "truncated tag": b"\x80",
    "varint of 11 bytes": tag(4, 0) + b"\xff" * 10 + b"\x01",
    "tag of 6 bytes": b"\xb8\x80\x80\x80\x80\x00\x05",
    "tag over 32 bits": b"\x88\x80\x80\x80\x10\x05",
    "length past the end": ld(1, b"abc")[:-1],
    "length of 6 bytes": tag(1, 2) + b"\x81\x80\x80\x80\x80\x00x",
    "length over 2 GiB": tag(1, 2) + varint(2**31) + b"x",
    "sub-message past the end": tag(2, 2) + varint(10) + ld(1, b"abc"),
    "field past its sub-message": ld(2, tag(1, 2) + b"\x05") + b"abcde",
    "truncated fixed64": tag(100, 1) + b"\x00" * 7,
    "truncated fixed32": tag(100, 5) + b"\x00" * 3,
    "wire type 6": tag(100, 6),
    "wire type 7": tag(100, 7),
    "end of group outside a group": tag(100, 4),
    "group not ended": tag(100, 3) + vi(1, 1),
    "group ended by another": tag(100, 3) + tag(101, 4),
    "field number 0": b"\x00\x01",
    "field number 0 ending a group": tag(100, 3) + tag(0, 4),
    "wire type 6 in a group": tag(100, 3) + tag(1, 6) + tag(100, 4),
    "bad UTF-8": ld(1, b"\xff"),
    "encoded surrogate": ld(1, b"\xed\xa0\x80"),
    "bad UTF-8 in a map key": ld(12, ld(1, b"\xc3") + ld(2, b"v")),
    "bad UTF-8 in a map value": ld(12, ld(1, b"k") + ld(2, b"\xc3")),
    "truncated packed run": ld(18, ld(1, ld(3, b"\x01\xff"))),
    "groups nested 101 deep": tag(100, 3) * 101 + tag(100, 4) * 101,
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_is_refused_as_protobuf_refuses_it(data: bytes) -> None:
    with pytest.raises(DecodeError):
        api_pb2.ContainerStatus.FromString(data)
    with pytest.raises(WireError):
        CRI.decode(data, "ContainerStatus")


def test_groups_nested_as_deep_as_protobuf_allows() -> None:
    # inside a group upb lets field number 0 pass
    zeros = tag(100, 3) + vi(0, 1) + tag(0, 3) + tag(0, 4) + tag(100, 4)
    assert same("ContainerStatus", zeros) == {}
    assert same("ContainerStatus", tag(100, 3) * 100 + tag(100, 4) * 100) == {}
    inside = ld(2, tag(100, 3) * 99 + tag(100, 4) * 99)
    assert same("ContainerStatus", inside) == {"metadata": {}}
    with pytest.raises(WireError):
        CRI.decode(ld(2, tag(100, 3) * 100 + tag(100, 4) * 100), "ContainerStatus")


def test_mangled_answers_decode_or_fail_as_protobuf_does() -> None:
    rng = random.Random("mangled")
    mutations: list[Callable[[bytearray], None]] = [
        lambda b: b.__setitem__(rng.randrange(len(b)), rng.randrange(256)),
        lambda b: b.__delitem__(slice(rng.randrange(len(b)), None)),
        lambda b: b.insert(rng.randrange(len(b)), rng.randrange(256)),
        lambda b: b.__delitem__(rng.randrange(len(b))),
    ]
    checked = 0
    while checked < 1500:
        answer = rng.choice(ANSWERS)
        cls = getattr(api_pb2, answer)
        message = cls()
        fill(message, rng)
        data = bytearray(message.SerializeToString())
        if not data:
            continue
        for _ in range(rng.randint(1, 3)):
            if data:
                rng.choice(mutations)(data)
        check(CRI, cls, answer, bytes(data))
        checked += 1


def test_every_answer_and_what_it_reaches_is_in_the_table() -> None:
    for answer in ANSWERS:
        assert answer in schema.MESSAGES
    pending = [getattr(api_pb2, name).DESCRIPTOR for name in (*ANSWERS, *REQUESTS)]
    while pending:
        descriptor = pending.pop()
        fields = schema.MESSAGES[descriptor.full_name.removeprefix("runtime.v1.")]
        assert sorted(fields) == sorted(f.number for f in descriptor.fields)
        for field in descriptor.fields:
            assert fields[field.number][0] == field.json_name
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                pending.append(field.message_type)


def test_unknown_message_names_are_refused() -> None:
    with pytest.raises(KeyError):
        CRI.decode(b"", "NoSuchMessage")


# -- requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("VersionRequest", {}),
        ("VersionRequest", {"version": "v1"}),
        ("StatusRequest", {"verbose": True}),
        ("StatusRequest", {"verbose": False}),
        ("RuntimeConfigRequest", {}),
        ("ListPodSandboxRequest", {}),
        ("ListContainersRequest", {}),
        ("PodSandboxStatusRequest", {"podSandboxId": "f" * 64, "verbose": True}),
        ("PodSandboxStatusRequest", {"podSandboxId": "", "verbose": False}),
        ("ContainerStatusRequest", {"containerId": "c" * 200, "verbose": True}),
        ("ContainerStatusRequest", {"containerId": "«ünïcødé»", "verbose": False}),
    ],
)
def test_requests_encode_as_protobuf_serializes_them(name: str, values: dict[str, Any]) -> None:
    fields = {
        field.name: values[field.json_name]
        for field in getattr(api_pb2, name).DESCRIPTOR.fields
        if field.json_name in values
    }
    expected = getattr(api_pb2, name)(**fields).SerializeToString()
    assert wire.encode(name, values) == expected


def test_requests_refuse_what_they_cannot_encode() -> None:
    with pytest.raises(ValueError, match="no field"):
        wire.encode("StatusRequest", {"verbos": True})
    with pytest.raises(TypeError):
        wire.encode("StatusRequest", {"verbose": "yes"})
    with pytest.raises(TypeError):
        wire.encode("ContainerStatusRequest", {"containerId": 5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="only singular strings and bools"):
        wire.encode("ListContainersRequest", {"filter": "x"})
