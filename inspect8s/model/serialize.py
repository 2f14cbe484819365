"""Models to plain JSON-ready data and back.

:func:`to_data` turns models into dicts, lists, str, int, float, bool and None;
:func:`from_data` reads such data back into the model it came from, field by field by the
model's type hints, and refuses anything else with one ``ProbeFailed(MALFORMED)`` naming
where in the document it went wrong (a document from another inspect8s, an agent pod's
log, a file: never trusted to be well formed).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.shape import json_kind

T = TypeVar("T")


def to_data(value: Any) -> Any:
    """Recursively convert dataclasses, enums, tuples and dicts to JSON-ready values.

    A model with its own ``to_data()`` method (the chain links, whose JSON nests their
    values) gives its own form; other dataclasses give their fields by name (properties
    are not included).
    """
    own = getattr(type(value), "to_data", None)
    if own is not None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return own(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_data(v) for v in value]
    return value


class Malformed(Exception):
    """Data that does not fit the model: where (a JSON path) and what was wrong."""

    def __init__(self, where: str, detail: str) -> None:
        where = "$" + where if not where.startswith("$") else where
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail

    def probe(self, source: str) -> ProbeFailed:
        return ProbeFailed(ErrorKind.MALFORMED, source, f"{self.where}: {self.detail}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(tp: Any, value: object, where: str) -> Any:
    """``value`` (JSON data) as type ``tp``; raises :class:`Malformed`. Pure."""
    if tp is Any or tp is object:
        return value
    if tp is type(None):
        if value is not None:
            raise Malformed(where, f"expected null, got {json_kind(value)}")
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        failures: list[Malformed] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return decode(option, value, where)
            except Malformed as exc:
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        raise Malformed(where, f"unexpected {json_kind(value)}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            raise Malformed(where, f"expected a list, got {json_kind(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise Malformed(where, f"expected {len(args)} items, got {len(value)}")
        return tuple(
            decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin is list:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise Malformed(where, f"expected a list, got {json_kind(value)}")
        return [decode(arg, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise Malformed(where, f"expected an object, got {json_kind(value)}")
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key: Any = k
            if key_type is int:
                try:
                    key = int(k)
                except (TypeError, ValueError):
                    raise Malformed(where, f"key {k!r} is not a number") from None
            out[key] = decode(value_type, v, f"{where}.{k}")
        return out
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            try:
                return tp(value)
            except ValueError:
                raise Malformed(where, f"{value!r} is not one of the known values") from None
        if dataclasses.is_dataclass(tp):
            return from_data(tp, value, where=where)
        if tp is bool:
            if not isinstance(value, bool):
                raise Malformed(where, f"expected a boolean, got {json_kind(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Malformed(where, f"expected an integer, got {json_kind(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Malformed(where, f"expected a number, got {json_kind(value)}")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise Malformed(where, f"expected a string, got {json_kind(value)}")
            return value
    raise Malformed(where, f"cannot read type {tp!r}")


def decode_fields(
    cls: type, data: Mapping[str, object], where: str, *, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The keyword arguments of dataclass ``cls`` from ``data``: each field by its type;
    a field that is absent takes its default (a document written by an older inspect8s),
    keys the model does not know are left out (one written by a newer one)."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if f.name in data:
            kwargs[f.name] = decode(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise Malformed(where, f"{f.name!r} is missing")
    return kwargs


def from_data(cls: type[T], data: object, *, where: str = "") -> T:
    """The model ``cls`` (a dataclass) read back from :func:`to_data`'s output; a model
    with its own ``from_data`` classmethod reads itself. Raises :class:`Malformed`."""
    own = getattr(cls, "from_data", None)
    if own is not None:
        result: T = own(data, where=where)
        return result
    if not isinstance(data, Mapping):
        raise Malformed(where, f"expected an object, got {json_kind(data)}")
    return cls(**decode_fields(cls, data, where))
