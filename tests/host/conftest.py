"""Fixtures of the host tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scratch import ScratchTree

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"


@pytest.fixture(scope="session")
def _v2_scratch(tmp_path_factory: pytest.TempPathFactory) -> ScratchTree:
    return ScratchTree(NODES / "cgroupv2-systemd-containerd", tmp_path_factory.mktemp("node"))


@pytest.fixture
def v2_tree(_v2_scratch: ScratchTree) -> Iterator[Path]:
    """tests/fixtures/nodes/cgroupv2-systemd-containerd, copied: the test may damage it
    (the copy is made once and put back after each test, tests/scratch.py)."""
    yield _v2_scratch.path
    _v2_scratch.restore()
