"""``@frozen`` (inspect8s/model/frozen.py) against ``@dataclass(frozen=True, slots=True)``:
the same constructor, equality, hash, repr, immutability and dataclass helpers, for the
same class written both ways."""

from __future__ import annotations

import dataclasses
import math
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from inspect8s.model import ProcessInfo
from inspect8s.model.frozen import frozen


def _both(kw_only: bool = False) -> tuple[type[Any], type[Any]]:
    def body() -> dict[str, Any]:
        return {
            "__annotations__": {"a": "int", "b": "str", "c": "dict[str, int]", "d": "float"},
            "b": "x",
            "c": field(default_factory=dict, compare=False, repr=False),
            "d": 0.0,
        }

    ours = frozen(kw_only=kw_only)(type("Rec", (), body()))
    theirs = dataclass(frozen=True, slots=True, kw_only=kw_only)(type("Rec", (), body()))
    return ours, theirs


VALUES = [
    {"a": 1},
    {"a": 1, "b": "y"},
    {"a": 1, "c": {"k": 1}},
    {"a": -5, "b": "", "d": 2.5},
    {"a": 1, "d": math.nan},
]


@pytest.mark.parametrize("kw_only", [False, True])
def test_same_behaviour_as_a_frozen_slotted_dataclass(kw_only: bool) -> None:
    ours, theirs = _both(kw_only)
    for left in VALUES:
        for right in VALUES:
            o1, o2 = ours(**left), ours(**right)
            t1, t2 = theirs(**left), theirs(**right)
            assert (o1 == o2) == (t1 == t2), (left, right)
            assert (o1 != o2) == (t1 != t2), (left, right)
            if t1 == t2:
                assert hash(o1) == hash(o2)
        o, t = ours(**left), theirs(**left)
        assert repr(o) == repr(t)
        assert hash(o) == hash(t)  # the same tuple of compared fields
        assert dataclasses.asdict(o) == dataclasses.asdict(t)
        assert dataclasses.replace(o, a=9) == ours(**{**left, "a": 9})
    nan = ours(a=1, d=math.nan)
    assert nan == nan  # one object: tuple comparison, as a dataclass does
    assert ours(a=1) != theirs(a=1)  # another class is never equal
    assert [f.name for f in dataclasses.fields(ours)] == ["a", "b", "c", "d"]


def test_frozen_and_slotted() -> None:
    ours, _ = _both()
    rec = ours(a=1)
    with pytest.raises(FrozenInstanceError):
        rec.a = 2
    with pytest.raises(FrozenInstanceError):
        del rec.a
    assert not hasattr(rec, "__dict__")
    with pytest.raises(TypeError):
        ours()  # a is required
    kw, _ = _both(kw_only=True)
    with pytest.raises(TypeError):
        kw(1)  # keyword-only


def test_a_model_keeps_its_own_methods_and_unhashable_fields_fail_as_before() -> None:
    @frozen
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

    assert repr(Named("x")) == "<x>"
    proc = ProcessInfo(1, 0, "init", (), "S", 0, {"mnt": 1}, ())
    assert proc == ProcessInfo(1, 0, "init", (), "S", 0, {"mnt": 1}, ())
    assert pickle.loads(pickle.dumps(proc)) == proc
    with pytest.raises(TypeError):
        hash(proc)  # a dict field: unhashable, as with dataclass(frozen=True)
