"""HostFS: the only code that opens host files.

Every host probe reads through a :class:`HostFS` whose ``root`` is ``/`` on a node, ``/host``
in a DaemonSet, or a fixture tree in tests (``--root DIR``). Paths passed in are the host's
absolute paths (``/proc/1/cgroup``). Every OSError becomes a
:class:`~inspect8s.errors.ProbeFailed` naming the host path.

Under a root other than ``/``, every path is resolved inside the root as a chroot would
resolve it (:mod:`inspect8s.host._resolve`): absolute links and ``..`` never leave it, so
a tree from another machine cannot make inspect8s read this one. With ``/`` as root the
kernel's own resolution already means that, and paths are opened as given.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from inspect8s.errors import ErrorKind, ProbeFailed, kind_from_oserror
from inspect8s.host._resolve import Resolver, is_procfs
from inspect8s.model.frozen import frozen

_PROC_ROOT = re.compile(r"/proc/(\d+)/(root|cwd)(?=/|$)")
_PROC_EXE = re.compile(r"/proc/(\d+)/exe")
_READ_CHUNK = 1 << 16
_SMALL_READ = 1 << 13  # first read of read_many: holds stat/status/cgroup/cmdline whole
_RDONLY = os.O_RDONLY | os.O_CLOEXEC


def _small_reads(fds: Iterable[int]) -> list[bytes] | None:
    """One read of each file descriptor as it is opened (each closed after it); None when a
    file fills the read (too large to be sure it was read whole). OSError passes through."""
    contents = []
    for fd in fds:
        try:
            data = os.read(fd, _SMALL_READ)
        finally:
            os.close(fd)
        if len(data) == _SMALL_READ:
            return None
        contents.append(data)
    return contents


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


@frozen
class FileStat:
    """What ``stat(2)`` says about a host file (symlinks followed, as a reader opens it)."""

    mode: int  # permission bits, st_mode & 0o7777
    uid: int
    gid: int
    size: int  # bytes
    kind: str  # "file" | "dir" | "socket" | "other"


class HostFS:
    """Read-only access to a host filesystem mounted at ``root``.

    ``use_openat2`` picks how paths are resolved under a root other than ``/``: None (the
    default) uses ``openat2(RESOLVE_IN_ROOT)`` where the kernel has it, False always takes
    the component walk (tests run both)."""

    __slots__ = ("_nofollow", "_prefix", "_procfs", "_resolver", "_root_error", "root")

    # Whether the host scan may read around the per-file methods below
    # (:meth:`read_proc_quick`, the cgroup.procs walk of ``host/scan.py``). Subclasses that
    # record or replay each read set it False.
    direct_reads: ClassVar[bool] = True

    def __init__(self, root: str = "/", *, use_openat2: bool | None = None) -> None:
        root = os.path.abspath(root or "/")
        self.root = root
        # "" for "/", so that host paths are this machine's paths with no extra work.
        self._prefix = "" if root == "/" else root.rstrip("/")
        self._resolver: Resolver | None = None
        self._root_error: OSError | None = None
        self._procfs: bool | None = None  # is the root's /proc a real procfs? (asked once)
        # Files inside an opened directory are opened without following a link; a link
        # there is then resolved inside the root (``_open_in``).
        self._nofollow = os.O_NOFOLLOW if self._prefix else 0
        if self._prefix:
            try:
                fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                self._root_error = exc
            else:
                self._resolver = Resolver(fd, use_openat2=use_openat2)

    def __del__(self) -> None:
        resolver = getattr(self, "_resolver", None)
        if resolver is not None:
            try:
                os.close(resolver.root_fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"HostFS({self.root!r})"

    @property
    def is_live(self) -> bool:
        """True when the root is this machine's own ``/``."""
        return self._prefix == ""

    @property
    def own_pid(self) -> int | None:
        """The PID of the process whose view the top of this tree is (a live ``/``: this
        process; a bundle: the process that recorded it); None when unknown."""
        return os.getpid() if self.is_live else None

    @property
    def confinement(self) -> str:
        """How paths are kept inside the root: "none" (the root is ``/``), "openat2"
        (the kernel resolves in the root) or "walk" (component by component)."""
        if self._resolver is None:
            return "none"
        return "openat2" if self._resolver.kernel else "walk"

    def real(self, path: str) -> str:
        """Where the host's absolute ``path`` lies on this machine, lexically (``..``
        stops at the root; links are not resolved). For messages only: open through the
        methods below, or ask :meth:`resolve`."""
        self._check(path)
        if not self._prefix:
            return path
        return self._prefix + posixpath.normpath("/" + path.lstrip("/")).replace("//", "/")

    def resolve(self, path: str) -> str:
        """The path on this machine of the host's ``path`` with every link resolved
        inside the root, so that the result holds no link at all (what a unix socket
        connect or a directory walk may use as is). Raises ProbeFailed."""
        self._check(path)
        if self._resolver is None:
            if self._root_error is not None:
                raise self._fail(path, self._root_error)
            return path
        try:
            inside = self._in_root_canonical(path)
        except OSError as exc:
            raise self._fail(path, exc) from None
        return self._prefix + inside if inside != "/" else self.root

    def socket_path(self, path: str) -> str:
        """:meth:`resolve` for a unix socket the host has at ``path``: raises
        ProbeFailed(missing) unless a socket is there, inside the root. A link that
        leads out of the root (``/run/containerd/containerd.sock -> /run/...`` of this
        machine) resolves inside the root, where no such socket is."""
        real = self.resolve(path)
        try:
            # Under "/" links are this machine's own and followed; a resolved path has none.
            mode = os.stat(real, follow_symlinks=self._resolver is None).st_mode
        except OSError as exc:
            raise self._fail(path, exc) from None
        if not stat.S_ISSOCK(mode):
            where = "" if real == self._prefix + path else f" (resolved inside the root to {real})"
            raise ProbeFailed(ErrorKind.MISSING, self._source(path), f"not a unix socket{where}")
        return real

    # -- resolution inside the root ----------------------------------------------------
    #
    # A process's own view, ``/proc/<pid>/root`` (and ``cwd``, ``exe``), is a "magic link"
    # of procfs that no resolution inside a root follows (openat2 refuses it; a link in a
    # fixture tree is a plain link). When the root's /proc is a real procfs (``--root
    # /host`` in a DaemonSet with the host's PID namespace), ``/proc/<pid>/root/<rest>`` is
    # resolved with that process's root as the root: the kernel opens the magic link (a
    # tree cannot forge one), and ``<rest>`` stays inside it like any other path;
    # ``/proc/<pid>/exe`` opens the process's executable.

    def _real_procfs(self) -> bool:
        """Whether the root's /proc is a real procfs (asked once)."""
        assert self._resolver is not None
        if self._procfs is None:
            try:
                fd = self._resolver.open("/proc", os.O_PATH | os.O_DIRECTORY)
            except OSError:
                self._procfs = False
            else:
                try:
                    self._procfs = is_procfs(fd)
                finally:
                    os.close(fd)
        return self._procfs

    def _magic(self, pid: str, name: str, flags: int) -> int:
        """Open the magic link ``name`` (root, cwd, exe) of process ``pid`` of the root's
        real procfs: the pid directory inside the root, the link as the kernel follows it."""
        assert self._resolver is not None
        pid_dir = self._resolver.open(f"/proc/{pid}", os.O_PATH | os.O_DIRECTORY)
        try:
            return os.open(name, flags | os.O_CLOEXEC, dir_fd=pid_dir)
        finally:
            os.close(pid_dir)

    def _sub_root(self, path: str) -> tuple[Resolver, str] | None:
        """(resolver of a process's root or working directory, the rest of ``path``) for
        a ``/proc/<pid>/root/...`` or ``/proc/<pid>/cwd/...`` path of the root's real
        procfs; None for any other path."""
        if not path.startswith("/proc/"):
            return None
        match = _PROC_ROOT.match(path)
        if match is None or not self._real_procfs():
            return None
        assert self._resolver is not None
        fd = self._magic(match.group(1), match.group(2), os.O_PATH | os.O_DIRECTORY)
        return Resolver(fd, use_openat2=self._resolver.kernel), path[match.end() :] or "/"

    def _in_root_open(self, path: str, flags: int) -> int:
        assert self._resolver is not None
        if path.startswith("/proc/"):
            exe = _PROC_EXE.fullmatch(path)
            if exe is not None and self._real_procfs():
                return self._magic(exe.group(1), "exe", flags)
        sub = self._sub_root(path)
        if sub is None:
            return self._resolver.open(path, flags)
        resolver, rest = sub
        try:
            return resolver.open(rest, flags)
        finally:
            os.close(resolver.root_fd)

    def _in_root_parent(self, path: str) -> tuple[int, str]:
        assert self._resolver is not None
        sub = self._sub_root(path)
        if sub is None:
            return self._resolver.open_parent(path)
        resolver, rest = sub
        try:
            if rest.strip("/") == "":
                return os.dup(resolver.root_fd), "."
            return resolver.open_parent(rest)
        finally:
            os.close(resolver.root_fd)

    def _in_root_canonical(self, path: str) -> str:
        assert self._resolver is not None
        sub = self._sub_root(path)
        if sub is None:
            return self._resolver.canonical(path)
        resolver, rest = sub
        try:
            inside = resolver.canonical(rest)
        finally:
            os.close(resolver.root_fd)
        head = path[: len(path) - len(rest)] if rest != "/" else path.rstrip("/")
        return head.rstrip("/") + (inside if inside != "/" else "")

    @staticmethod
    def _source(path: str) -> str:
        return f"host:{path}"

    def _check(self, path: str) -> None:
        if not path.startswith("/"):
            raise ProbeFailed(ErrorKind.MALFORMED, self._source(path), "not an absolute host path")

    def _fail(self, path: str, exc: OSError) -> ProbeFailed:
        return ProbeFailed(kind_from_oserror(exc), self._source(path), exc.strerror or str(exc))

    def _open(self, path: str, flags: int) -> int:
        """Open a host path (raises OSError): as given under ``/``, else inside the root."""
        if self._resolver is not None:
            return self._in_root_open(path, flags)
        if self._root_error is not None:
            raise self._root_error
        self._check(path)
        return os.open(path, flags)

    def _open_in(self, dfd: int, dir_path: str, name: str, flags: int) -> int:
        """Open ``name`` of the directory ``dfd`` (the host's ``dir_path``). Under a root
        other than ``/`` a link there (ELOOP with O_NOFOLLOW) or a name with ``/`` or
        ``..`` is resolved from the root instead."""
        if self._resolver is None:
            return os.open(name, flags, dir_fd=dfd)
        if "/" in name or name == "..":
            return self._in_root_open(f"{dir_path.rstrip('/')}/{name}", flags)
        try:
            return os.open(name, flags | os.O_NOFOLLOW, dir_fd=dfd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            return self._in_root_open(f"{dir_path.rstrip('/')}/{name}", flags)

    def _open_parent(self, path: str) -> tuple[int | None, str]:
        """(directory fd or None for "as given", name) for calls that do not follow the
        last component."""
        if self._resolver is None:
            if self._root_error is not None:
                raise self._root_error
            self._check(path)
            return None, path
        return self._in_root_parent(path)

    def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        """Read a whole file (proc files have no size, so read until EOF)."""
        try:
            fd = self._open(path, _RDONLY)
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

    def iter_chunks(self, path: str, *, chunk: int = _READ_CHUNK) -> Iterator[bytes]:
        """The bytes of a large file in pieces of ``chunk`` (a binary read for its build
        stamp: never held whole, never kept in a bundle); raises ProbeFailed."""
        try:
            fd = self._open(path, _RDONLY)
        except OSError as exc:
            raise self._fail(path, exc) from None
        try:
            while True:
                try:
                    data = os.read(fd, chunk)
                except OSError as exc:
                    raise self._fail(path, exc) from None
                if not data:
                    return
                yield data
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
            dfd, name = self._open_parent(path)
            if dfd is None:
                return os.readlink(name)
            try:
                return os.readlink(name, dir_fd=dfd)
            finally:
                os.close(dfd)
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
            st = self._stat(path)
        except (OSError, ProbeFailed):
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
            return self._open(path, _DIRECTORY)
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
                    if "/" in name:
                        targets[name] = self.readlink(f"{dir_path.rstrip('/')}/{name}")
                    else:
                        targets[name] = os.readlink(name, dir_fd=dfd)
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
                except ProbeFailed as exc:
                    failures[name] = exc
        finally:
            os.close(dfd)
        return targets, failures

    def _read_in(self, dfd: int, dir_path: str, name: str, *, whole: bool) -> bytes:
        """One file of an opened directory: one read when it fits ``_SMALL_READ`` (and
        ``whole`` is False), else until EOF."""
        fd = self._open_in(dfd, dir_path, name, _RDONLY)
        try:
            data = os.read(fd, _SMALL_READ)
            if len(data) == _SMALL_READ or (data and whole):
                chunks = [data]
                while chunk := os.read(fd, _READ_CHUNK):
                    chunks.append(chunk)
                data = b"".join(chunks)
        finally:
            os.close(fd)
        return data

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
        ``dir_path`` raises ProbeFailed. No ``links``: ``link_dir`` is not opened.
        """
        dfd = self._open_dir(dir_path)
        contents: dict[str, bytes] = {}
        targets: dict[str, str] = {}
        failures: dict[str, ProbeFailed] = {}
        try:
            for name in files:
                try:
                    contents[name] = self._read_in(dfd, dir_path, name, whole=False)
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
            if not links:
                return contents, targets, failures
            try:
                lfd = self._open_in(dfd, dir_path, link_dir, _DIRECTORY)
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
        host scan down to its syscalls. Under a root other than ``/`` a file or
        ``link_dir`` that is a link also gives None (:meth:`read_proc_dir` resolves it
        inside the root). No ``links``: ``link_dir`` is not opened."""
        if self._resolver is None and not self._prefix and self._root_error is None:
            # Under / there is nothing to stay inside: each path is opened as given, one
            # lookup per file instead of a directory open plus one per file (about -20 % of
            # the scan's system-call time at 5,000 processes).
            if not dir_path.startswith("/"):
                return None
            try:
                contents = _small_reads(os.open(f"{dir_path}/{name}", _RDONLY) for name in files)
                if contents is None:
                    return None
                return contents, [os.readlink(f"{dir_path}/{link_dir}/{n}") for n in links]
            except OSError:
                return None
        flags = _RDONLY | self._nofollow
        try:
            dfd = self._open(dir_path, _DIRECTORY)
        except (OSError, ProbeFailed):
            return None
        try:
            contents = _small_reads(os.open(name, flags, dir_fd=dfd) for name in files)
            if contents is None:
                return None
            if not links:
                return contents, []
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
                    contents[name] = self._read_in(dfd, dir_path, name, whole=not single_read)
                except OSError as exc:
                    failures[name] = self._fail(f"{dir_path}/{name}", exc)
        finally:
            os.close(dfd)
        return contents, failures

    def listdir(self, path: str) -> list[str]:
        try:
            if self._resolver is None:
                self._check(path)
                return os.listdir(path)
            fd = self._open(path, _DIRECTORY)
            try:
                return os.listdir(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._fail(path, exc) from None

    def iter_pids(self) -> Iterator[int]:
        """The numeric entries of ``/proc``: the processes visible from this root."""
        for name in self.listdir("/proc"):
            if name.isdigit():
                yield int(name)

    def _stat(self, path: str) -> os.stat_result:
        """stat(2) of a host path, following links (inside the root); raises OSError."""
        if self._resolver is None:
            if self._root_error is not None:
                raise self._root_error
            self._check(path)
            return os.stat(path)
        fd = self._in_root_open(path, os.O_PATH)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def _mode(self, path: str) -> int | None:
        try:
            return self._stat(path).st_mode
        except (OSError, ProbeFailed):
            return None

    def exists(self, path: str) -> bool:
        """True when something, a dangling link included, is at ``path``."""
        try:
            dfd, name = self._open_parent(path)
            if dfd is None:
                return os.path.lexists(name)
            try:
                os.stat(name, dir_fd=dfd, follow_symlinks=False)
            finally:
                os.close(dfd)
        except (OSError, ProbeFailed):
            return False
        return True

    def is_dir(self, path: str) -> bool:
        mode = self._mode(path)
        return mode is not None and stat.S_ISDIR(mode)

    def is_file(self, path: str) -> bool:
        mode = self._mode(path)
        return mode is not None and stat.S_ISREG(mode)

    def is_socket(self, path: str) -> bool:
        """True when ``path`` is a unix socket (fixture trees may hold a plain marker file
        instead: see :meth:`socket_kind`)."""
        mode = self._mode(path)
        return mode is not None and stat.S_ISSOCK(mode)

    def socket_kind(self, path: str) -> str | None:
        """ "socket", "file" (a plain file where a socket should be), "dir", or None if absent."""
        mode = self._mode(path)
        if mode is None:
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
            names = HostFS.listdir(self, path)
        except ProbeFailed as exc:
            if exc.kind is ErrorKind.MISSING:
                return []
            raise
        base = path.rstrip("/")
        return [f"{base}/{n}" for n in sorted(names) if n.endswith(suffix)]
