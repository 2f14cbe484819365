"""A copy of a fixture tree that tests may damage, copied once and put back after each test.

Copying a recorded node (hundreds of files, directories and namespace links) for every test
that breaks one file costs more than the test itself; :class:`ScratchTree` copies it once
and, after each test, :meth:`ScratchTree.restore` makes the copy what the source is again:
every entry of the source with its type, bytes, link target and mode, owned by whoever made
the copy, and nothing else (entries a test added are removed). Only what differs is
written, so the next test starts from the tree exactly as recorded.

    @pytest.fixture(scope="module")
    def _node(tmp_path_factory): return ScratchTree(SOURCE, tmp_path_factory.mktemp("node"))

    @pytest.fixture
    def tree(_node): yield _node.path; _node.restore()
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _remove(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        os.chmod(path, 0o700)  # a test may have made it unreadable
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _restore(source: str, copy: str, owner: tuple[int, int]) -> None:
    wanted = {entry.name: entry.stat(follow_symlinks=False) for entry in os.scandir(source)}
    for entry in os.scandir(copy):
        want = wanted.get(entry.name)
        have = entry.stat(follow_symlinks=False)
        if want is None or _kind(want.st_mode) != _kind(have.st_mode):
            _remove(entry.path)
    for name, want in wanted.items():
        src, dst = os.path.join(source, name), os.path.join(copy, name)
        kind = _kind(want.st_mode)
        exists = os.path.lexists(dst)
        if kind == "link":
            target = os.readlink(src)
            if not exists or os.readlink(dst) != target:
                if exists:
                    os.unlink(dst)
                os.symlink(target, dst)
            have = os.lstat(dst)
            if (have.st_uid, have.st_gid) != owner:
                os.lchown(dst, *owner)
            continue
        if kind == "dir":
            if not exists:
                os.mkdir(dst)
            _restore_meta(dst, want, owner)
            _restore(src, dst, owner)
            continue
        if kind != "file":
            raise ValueError(f"{src}: a fixture tree holds only files, directories and links")
        with open(src, "rb") as f:
            data = f.read()
        if not exists:
            with open(dst, "xb") as f:
                f.write(data)
        elif _read(dst) != data:
            os.chmod(dst, 0o600)  # writable whatever mode a test set
            with open(dst, "wb") as f:
                f.write(data)
        _restore_meta(dst, want, owner)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except PermissionError:  # a test made it unreadable (and the suite runs as a user)
        os.chmod(path, 0o600)
        with open(path, "rb") as f:
            return f.read()


def _restore_meta(path: str, want: os.stat_result, owner: tuple[int, int]) -> None:
    have = os.lstat(path)
    if (have.st_uid, have.st_gid) != owner:
        os.lchown(path, *owner)
    if stat.S_IMODE(have.st_mode) != stat.S_IMODE(want.st_mode):
        os.chmod(path, stat.S_IMODE(want.st_mode))


class ScratchTree:
    """``source`` copied to ``parent/<source name>`` once; :meth:`restore` after each use."""

    def __init__(self, source: Path, parent: Path) -> None:
        self.source = source
        self.path = parent / source.name
        shutil.copytree(source, self.path, symlinks=True)
        made = os.lstat(self.path)
        self._owner = (made.st_uid, made.st_gid)  # the copy's, whoever owns the source

    def restore(self) -> None:
        """Make the copy what the source is again (see the module docstring)."""
        _restore_meta(str(self.path), os.lstat(self.source), self._owner)
        _restore(str(self.source), str(self.path), self._owner)
