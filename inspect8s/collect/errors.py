"""The one error sink every collector writes to: ``ProbeFailed`` in, ``ProbeError`` out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from inspect8s.errors import ProbeError, ProbeFailed

T = TypeVar("T")


@dataclass
class Errors:
    """Collects ProbeErrors, dropping exact repeats."""

    items: list[ProbeError] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, exc: ProbeFailed) -> None:
        key = (exc.kind.value, exc.source, exc.detail)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(exc.record())

    def attempt(self, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except ProbeFailed as exc:
            self.add(exc)
            return None
