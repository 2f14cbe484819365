"""HostFS: the only code that opens host files.

Every host probe reads through a :class:`HostFS` whose ``root`` is ``/`` on a node, ``/host``
in a DaemonSet, or a fixture tree in tests (``--root DIR``). Paths passed in are the host's
absolute paths (``/proc/1/cgroup``); the root is prefixed here and nowhere else. Every
OSError becomes a :class:`~inspect8s.errors.ProbeFailed` naming the host path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from inspect8s.errors import ErrorKind, ProbeFailed, kind_from_oserror

_READ_CHUNK = 1 << 16
_SMALL_READ = 1 << 13  # first read of read_many: holds stat/status/cgroup/cmdline whole


@dataclass(frozen=True, slots=True)
class FileStat:
    """What ``stat(2)`` says about a host file (symlinks followed, as a reader opens it)."""

    mode: int  # permission bits, st_mode & 0o7777
    uid: int
    gid: int
    size: int  # bytes
    kind: str  # "file" | "dir" | "socket" | "other"


class HostFS:
    """Read-only access to a host filesystem mounted at ``root``."""

    __slots__ = ("_prefix", "root")

    # Whether the host scan may read around the per-file methods below
    # (:meth:`read_proc_quick`, the cgroup.procs walk of ``host/scan.py``). Subclasses that
    # record or replay each read set it False.
    direct_reads: ClassVar[bool] = True

    def __init__(self, root: str = "/") -> None:
        root = os.path.abspath(root or "/")
        self.root = root
        # "" for "/", so that _real("/proc") is "/proc" with no extra string work.
        self._prefix = "" if root == "/" else root.rstrip("/")

    def __repr__(self) -> str:
        return f"HostFS({self.root!r})"

    @property
    def is_live(self) -> bool:
        """True when the root is this machine's own ``/``."""
        return self._prefix == ""

    def real(self, path: str) -> str:
        """The path on this machine for the host's absolute ``path``."""
        if not path.startswith("/"):
            raise ValueError(f"host paths are absolute, got {path!r}")
        return self._prefix + path

    @staticmethod
    def _source(path: str) -> str:
        return f"host:{path}"

    def _fail(self, path: str, exc: OSError) -> ProbeFailed:
        return ProbeFailed(kind_from_oserror(exc), self._source(path), exc.strerror or str(exc))

    def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        """Read a whole file (proc files have no size, so read until EOF)."""
        real = self.real(path)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise self._fail(path, exc) from None
        try:
            chunks: list[bytes] = []
            total = 0
            while True:
                chunk = os.read(fd, _READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if limit is not None and total >= limit:
                    break
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]
        except OSError as exc:
            raise self._fail(path, exc) from None
        finally:
            os.close(fd)

    def read_text(self, path: str, *, limit: int | None = None) -> str:
        """Read a file as text; undecodable bytes are replaced, never fatal."""
        return self.read_bytes(path, limit=limit).decode("utf-8", errors="replace")

    def read_text_or_none(self, path: str) -> str | None:
        """Read a file that may legitimately be absent; other errors still raise."""
        try:
            return self.read_text(path)
        except ProbeFailed as exc:
            if exc.kind is ErrorKind.MISSING:
                return None
            raise

    def readlink(self, path: str) -> str:
        try:
            return os.readlink(self.real(path))
        except OSError as exc:
            raise self._fail(path, exc) from None

    def readlink_or_none(self, path: str) -> str | None:
        """A symlink's target; None when ``path`` is not a symlink, is absent or unreadable
        (path resolution: ``host/resolve.py``)."""
        try:
            return self.readlink(path)
        except ProbeFailed:
            return None

    def identity(self, path: str) -> tuple[str, str] | None:
        """``("<dev>:<ino>", kind)`` of the file at ``path`` (links followed), kind as in
        :meth:`socket_kind`; None when absent. Two paths are one file when equal."""
        try:
            st = os.stat(self.real(path))
        except (OSError, ValueError):
            return None
        if stat.S_ISSOCK(st.st_mode):
            kind = "socket"
        elif stat.S_ISDIR(st.st_mode):
            kind = "dir"
        else:
            kind = "file"
        return f"{st.st_dev}:{st.st_ino}", kind

    def _open_dir(self, path: str) -> int:
        try:
            return os.open(self.real(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise self._fail(path, exc) from None

    def readlinks(
        self, dir_path: str, names: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, ProbeFailed]]:
        """Read several symlinks of one directory (``/proc/<pid>/ns``) with one directory open.

        Returns ``(targets, failures)`` keyed by name. Failing to open the directory itself
        raises ProbeFailed. Used by the /proc scan, where resolving the directory once per
        process instead of once per link is a measurable share of the time.
        """
        dfd = self._open_dir(dir_path)
        targets: dict[str, str] = {}
        failures: dict[str, ProbeFailed] = {}
        try:
            for name in names:
                try:
                    targets[name] = os.readlink(name, dir_fd=dfd)
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
        finally:
            os.close(dfd)
        return targets, failures

    def read_proc_dir(
        self,
        dir_path: str,
        files: Sequence[str],
        link_dir: str,
        links: Sequence[str],
    ) -> tuple[dict[str, bytes], dict[str, str], dict[str, ProbeFailed]]:
        """Read files of ``dir_path`` and the symlinks of its subdirectory ``link_dir``
        (``/proc/<pid>`` with ``ns``) with one lookup of the directory: the per-process
        step of the host scan, where syscalls are most of the time.

        Files are read as with ``read_many(single_read=True)``. Returns ``(contents,
        targets, failures)``; failure keys are ``name`` for files and ``link_dir/name`` for
        links (``"ns"`` itself when that directory cannot be opened). Failing to open
        ``dir_path`` raises ProbeFailed.
        """
        dfd = self._open_dir(dir_path)
        contents: dict[str, bytes] = {}
        targets: dict[str, str] = {}
        failures: dict[str, ProbeFailed] = {}
        flags = os.O_RDONLY | os.O_CLOEXEC
        try:
            for name in files:
                try:
                    fd = os.open(name, flags, dir_fd=dfd)
                    try:
                        data = os.read(fd, _SMALL_READ)
                        if len(data) == _SMALL_READ:
                            chunks = [data]
                            while chunk := os.read(fd, _READ_CHUNK):
                                chunks.append(chunk)
                            data = b"".join(chunks)
                    finally:
                        os.close(fd)
                    contents[name] = data
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
            try:
                lfd = os.open(link_dir, flags | os.O_DIRECTORY, dir_fd=dfd)
            except OSError as exc:
                failures[link_dir] = self._fail(f"{dir_path}/{link_dir}", exc)
                return contents, targets, failures
            try:
                for name in links:
                    try:
                        targets[name] = os.readlink(name, dir_fd=lfd)
                    except OSError as exc:
                        path = f"{link_dir}/{name}"
                        failures[path] = self._fail(f"{dir_path}/{path}", exc)
            finally:
                os.close(lfd)
        finally:
            os.close(dfd)
        return contents, targets, failures

    def read_proc_quick(
        self, dir_path: str, files: Sequence[str], link_dir: str, links: Sequence[str]
    ) -> tuple[list[bytes], list[str]] | None:
        """:meth:`read_proc_dir` for the common case: every file small and readable, every
        link readable. Returns the contents and link targets in the order asked, or None
        on any error or a file too large for one read; the caller then asks
        :meth:`read_proc_dir`, which says what failed. Keeps the per-process cost of the
        host scan down to its syscalls."""
        flags = os.O_RDONLY | os.O_CLOEXEC
        contents = []
        try:
            dfd = os.open(self._prefix + dir_path, flags | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            for name in files:
                fd = os.open(name, flags, dir_fd=dfd)
                try:
                    data = os.read(fd, _SMALL_READ)
                finally:
                    os.close(fd)
                if len(data) == _SMALL_READ:
                    return None
                contents.append(data)
            lfd = os.open(link_dir, flags | os.O_DIRECTORY, dir_fd=dfd)
            try:
                targets = [os.readlink(name, dir_fd=lfd) for name in links]
            finally:
                os.close(lfd)
        except OSError:
            return None
        finally:
            os.close(dfd)
        return contents, targets

    def read_many(
        self, dir_path: str, names: Sequence[str], *, single_read: bool = False
    ) -> tuple[dict[str, bytes], dict[str, ProbeFailed]]:
        """Read several files of one directory (``/proc/<pid>``) with one directory open.

        Returns ``(contents, failures)`` keyed by name; failing to open the directory raises
        ProbeFailed. ``single_read=True`` treats a short read as the end of the file: right
        for regular files and for /proc files the kernel produces in one go (``stat``,
        ``status``, ``cgroup``, ``cmdline``), wrong for multi-record seq files such as
        ``mountinfo``, which return one page per read.
        """
        dfd = self._open_dir(dir_path)
        contents: dict[str, bytes] = {}
        failures: dict[str, ProbeFailed] = {}
        try:
            for name in names:
                try:
                    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dfd)
                    try:
                        data = os.read(fd, _SMALL_READ)
                        if len(data) == _SMALL_READ or (data and not single_read):
                            chunks = [data]
                            while chunk := os.read(fd, _READ_CHUNK):
                                chunks.append(chunk)
                            data = b"".join(chunks)
                    finally:
                        os.close(fd)
                    contents[name] = data
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
        finally:
            os.close(dfd)
        return contents, failures

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(self.real(path))
        except OSError as exc:
            raise self._fail(path, exc) from None

    def iter_pids(self) -> Iterator[int]:
        """The numeric entries of ``/proc``: the processes visible from this root."""
        for name in self.listdir("/proc"):
            if name.isdigit():
                yield int(name)

    def _stat(self, path: str) -> os.stat_result:
        """stat(2) of a host path, following links; raises OSError."""
        return os.stat(self.real(path))

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.real(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self.real(path))

    def is_file(self, path: str) -> bool:
        return os.path.isfile(self.real(path))

    def is_socket(self, path: str) -> bool:
        """True when ``path`` is a unix socket (fixture trees may hold a plain marker file
        instead: see :meth:`socket_kind`)."""
        try:
            return stat.S_ISSOCK(os.stat(self.real(path)).st_mode)
        except OSError:
            return False

    def socket_kind(self, path: str) -> str | None:
        """ "socket", "file" (a plain file where a socket should be), "dir", or None if absent."""
        try:
            mode = os.stat(self.real(path)).st_mode
        except OSError:
            return None
        if stat.S_ISSOCK(mode):
            return "socket"
        if stat.S_ISDIR(mode):
            return "dir"
        return "file"

    def stat(self, path: str) -> FileStat:
        """Mode, owner and size of ``path`` (symlinks followed); ProbeFailed on any error."""
        try:
            st = self._stat(path)
        except OSError as exc:
            raise self._fail(path, exc) from None
        if stat.S_ISREG(st.st_mode):
            kind = "file"
        elif stat.S_ISDIR(st.st_mode):
            kind = "dir"
        elif stat.S_ISSOCK(st.st_mode):
            kind = "socket"
        else:
            kind = "other"
        return FileStat(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, kind)

    def glob_dir(self, path: str, suffix: str = "") -> list[str]:
        """Sorted host paths of the entries of a directory ending with ``suffix``;
        an absent directory gives an empty list."""
        try:
            names = os.listdir(self.real(path))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._fail(path, exc) from None
        base = path.rstrip("/")
        return [f"{base}/{n}" for n in sorted(names) if n.endswith(suffix)]
