"""Turn models into plain JSON-ready data (dicts, lists, str, int, float, bool, None)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any


def to_data(value: Any) -> Any:
    """Recursively convert dataclasses, enums, tuples and dicts to JSON-ready values.

    Dataclass properties are not included; fields keep their names.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_data(v) for v in value]
    return value
