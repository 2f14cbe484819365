"""Reading JSON from outside (runtimes, the API, bundles) without trusting its shape.

A converter of outside data is total: whatever the answer holds, it returns a model or
raises ``ProbeFailed(MALFORMED)``, never ``AttributeError`` or ``TypeError``. The
accessors here give a field's value when it has the expected JSON type and a neutral value
(``{}``, ``[]``, ``None``) when it does not, so that one odd field does not lose the rest of
an answer; :func:`total` turns whatever still goes wrong inside a converter into a
``ProbeFailed(MALFORMED)`` naming the source.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import DecimalException
from typing import Any, ParamSpec, TypeVar

from inspect8s.errors import ErrorKind, ProbeFailed

P = ParamSpec("P")
R = TypeVar("R")

# What malformed data makes pure code raise.
SHAPE_ERRORS = (
    TypeError, AttributeError, KeyError, IndexError, ValueError, RecursionError,
    OverflowError, DecimalException,
)  # fmt: skip


def obj(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def objects(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON array (other entries left out)."""
    return [v for v in items(value) if isinstance(v, Mapping)]


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type: "an object", "a list", "a number", ..."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def required_items(value: Any, what: str, source: str) -> list[Mapping[str, Any]]:
    """A list of objects a model cannot do without (a pod's containers): absent is empty,
    anything else than a list of objects is ``ProbeFailed(MALFORMED)``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"unexpected structure: {what} is {json_kind(value)}"
        )
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ProbeFailed(
                ErrorKind.MALFORMED,
                source,
                f"unexpected structure: {what}[{i}] is {json_kind(item)}, not an object",
            )
    return value


def required_obj(value: Any, what: str, source: str) -> Mapping[str, Any]:
    """An object a model cannot do without: absent is empty, another type is malformed."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProbeFailed(
            ErrorKind.MALFORMED, source, f"unexpected structure: {what} is {json_kind(value)}"
        )
    return value


def text(value: Any) -> str | None:
    """A non-empty string, a number as text, or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def string_map(value: Any) -> dict[str, str]:
    """A JSON object of strings (labels, annotations): keys and values as text."""
    return {str(k): v if isinstance(v, str) else str(v) for k, v in obj(value).items()}


def integer(value: Any) -> int | None:
    """An int from a JSON number or a string of digits (protobuf int64 comes as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def total(
    source: str, *, source_arg: int | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a converter total: a shape error raised inside becomes
    ``ProbeFailed(MALFORMED, source, ...)``, where the source is the call's ``source=``
    argument, or its positional argument ``source_arg``, or ``source``."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except SHAPE_ERRORS as exc:
                where = kwargs.get("source")
                if where is None and source_arg is not None and len(args) > source_arg:
                    where = args[source_arg]
                name = where if isinstance(where, str) and where else source
                detail = f"unexpected structure ({type(exc).__name__}: {exc})"
                if isinstance(exc, RecursionError):
                    detail = "nested too deeply"
                raise ProbeFailed(ErrorKind.MALFORMED, name, detail[:300]) from None

        return guarded

    return wrap
