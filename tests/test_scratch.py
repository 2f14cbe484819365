"""tests/scratch.py: whatever a test does to the copy, restore() makes it the source again."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.scratch import ScratchTree

NODE = Path(__file__).resolve().parent / "fixtures" / "nodes" / "cgroupv2-systemd-containerd"


def snapshot(root: Path) -> dict[str, tuple[str, object, int]]:
    """Every entry under ROOT: its type, its bytes or link target, its mode."""
    out: dict[str, tuple[str, object, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path), 0)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> ScratchTree:
    return ScratchTree(NODE, tmp_path_factory.mktemp("scratch"))


def test_a_fresh_copy_is_the_source(scratch: ScratchTree) -> None:
    assert scratch.path.name == NODE.name
    assert snapshot(scratch.path) == snapshot(NODE)


def test_restore_undoes_every_kind_of_damage(scratch: ScratchTree) -> None:
    root = scratch.path
    before = snapshot(NODE)
    proc = root / "proc"
    pids = sorted(p.name for p in proc.iterdir() if p.name.isdigit())
    first, second, third = pids[:3]
    (proc / first / "stat").write_text("garbage\n")  # bytes changed in place
    (proc / first / "cgroup").unlink()  # a file gone
    link = proc / first / "ns" / "net"
    text = os.readlink(link)
    link.unlink()
    link.write_text(text)  # a link replaced by a file
    os.symlink("net:[1]", proc / first / "ns" / "extra")  # a link added
    shutil.rmtree(proc / second)  # a whole process gone
    (proc / third / "ns").chmod(0o500)  # a mode changed
    (proc / third / "status").chmod(0o000)
    (proc / third / "cmdline").unlink()
    (proc / third / "cmdline").mkdir()  # a file replaced by a directory
    (proc / "99999").mkdir()  # a directory added, with content
    (proc / "99999" / "stat").write_text("99999 (x) S\n")
    assert not (proc / second).exists()
    assert snapshot(root) != before
    scratch.restore()
    assert snapshot(root) == before
    scratch.restore()  # nothing to do: still the source
    assert snapshot(root) == before
