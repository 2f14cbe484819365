"""``@frozen``: the project's immutable records, dataclasses made with fewer generated methods.

``@frozen`` is ``@dataclass(frozen=True, slots=True)`` with the same fields, constructor,
immutability, equality, hash and repr, but ``__eq__``, ``__hash__`` and ``__repr__`` are
shared functions that read the field names the class keeps, instead of three methods
compiled from source for every class. Compiling generated methods is most of what building
a dataclass costs (about a third less per class here), and a command builds every model
class it imports before it does anything (benchmarks/README.md, "node_scan").

Equality compares the fields whose ``field(compare=...)`` is true, as a tuple, and only
between instances of the same class; the hash is that of the same tuple (of the
``field(hash=...)`` fields where given); the repr is ``Name(field=value, ...)`` over the
``field(repr=...)`` fields. ``dataclasses.fields``, ``replace`` and ``asdict`` work as on
any dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


def _eq(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    names = self.__compared__
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self.__hashed__))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _make(cls: type[_T], kw_only: bool) -> type[_T]:
    own = cls.__dict__
    for name, method in (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr)):
        if name not in own:
            setattr(cls, name, method)
    made: Any = dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=kw_only)(cls)
    every = fields(made)
    # plain class attributes: a slots class keeps them on the class, not on instances
    made.__compared__ = tuple(f.name for f in every if f.compare)
    made.__hashed__ = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
    made.__shown__ = tuple(f.name for f in every if f.repr)
    return made  # type: ignore[no-any-return]


@overload
def frozen(cls: type[_T], /) -> type[_T]: ...
@overload
def frozen(*, kw_only: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True)
def frozen(
    cls: type[_T] | None = None, /, *, kw_only: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Make ``cls`` a frozen, slotted dataclass (see the module doc)."""
    if cls is None:
        return lambda c: _make(c, kw_only)
    return _make(cls, kw_only)
