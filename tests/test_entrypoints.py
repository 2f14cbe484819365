"""inspect8s.entrypoints: the installed entry points, read again when a distribution comes
or goes on sys.path, and only then."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from inspect8s import entrypoints
from inspect8s.audit.registry import ENTRY_POINT_GROUP
from inspect8s.render import ENTRY_POINT_GROUP as RENDERERS

GROUP = "inspect8s.test-entrypoints.v1"


def _distribution(site: Path, name: str, entry: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entry}\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.append(str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


def test_the_same_entry_points_as_importlib() -> None:
    for group in (ENTRY_POINT_GROUP, RENDERERS):
        got = entrypoints.entry_points(group)
        assert got and sorted(got) == sorted(metadata.entry_points(group=group))


def test_a_distribution_installed_or_removed_is_seen_at_once(site: Path) -> None:
    assert entrypoints.entry_points(GROUP) == ()
    _distribution(site, "first", "one = first_mod:checks")
    assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["one"]
    # A second one in the same directory, at once (the same tick of the clock, most likely).
    _distribution(site, "second", "two = second_mod:checks")
    assert sorted(ep.name for ep in entrypoints.entry_points(GROUP)) == ["one", "two"]
    for path in (site / "first-1.0.dist-info").iterdir():
        path.unlink()
    (site / "first-1.0.dist-info").rmdir()
    assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["two"]


def test_unchanged_paths_are_not_read_again(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _distribution(site, "third", "three = third_mod:checks")
    assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["three"]
    reads: list[object] = []
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda: reads.append(1) or real())
    assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["three"]
    assert entrypoints.entry_points(RENDERERS)
    assert reads == []
    sys.path.append(str(site / "elsewhere"))  # another path: read again, once
    try:
        assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["three"]
        assert [ep.name for ep in entrypoints.entry_points(GROUP)] == ["three"]
    finally:
        sys.path.remove(str(site / "elsewhere"))
    assert reads == [1]
