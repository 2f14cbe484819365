"""Opening paths inside a root directory the way a chroot would.

A host tree given with ``--root`` (``/host`` in a DaemonSet, a fixture tree, a bundle's
``host/``) holds symlinks that mean something on that host: ``/etc/os-release ->
../usr/lib/os-release``, ``/var/run -> /run``. Followed by this machine's kernel, an
absolute link or a ``..`` that climbs past the root would read this machine's files. Here
every component is resolved inside the root: ``..`` at the root stays at the root, an
absolute link starts again at the root, and the final file is opened without following
anything the resolution did not check.

Two implementations with the same meaning:

* ``openat2(2)`` with ``RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`` (Linux 5.6), called
  through ``ctypes``: one system call, the kernel does the resolution, races included;
* a component-by-component walk (``fstatat``/``readlinkat``/``openat`` with
  ``O_NOFOLLOW`` from directory descriptors) where the kernel or a seccomp profile lacks
  ``openat2`` (Docker's default profile answered ENOSYS before 20.10).

Both give up after 40 links (the kernel's own limit, ``MAXSYMLINKS``) with ELOOP.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

# include/uapi/linux/openat2.h
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
_RESOLVE = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
MAX_LINKS = 40  # include/linux/namei.h MAXSYMLINKS

# openat2 has number 437 in the unified syscall table every architecture listed here uses
# (arch/*/entry/syscalls, include/uapi/asm-generic/unistd.h); others take the walk.
_SYS_OPENAT2 = 437
_OPENAT2_MACHINES = frozenset(
    {"x86_64", "amd64", "aarch64", "arm64", "i386", "i686", "armv7l", "armv6l", "ppc64le",
     "ppc64", "s390x", "riscv64", "loongarch64"}
)  # fmt: skip

_O_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


# ctypes is imported on the first resolution under a root that is not "/" (start-up of
# commands on this machine's own root does not pay for it).
_ctypes: Any = None
_OpenHow: Any = None
_syscall: object = None  # the libc syscall function, once looked up; False: unusable
_openat2_works: bool | None = None  # decided on the first call


def _load_ctypes() -> Any:
    global _ctypes, _OpenHow
    if _ctypes is None:
        import ctypes

        class OpenHow(ctypes.Structure):  # struct open_how
            _fields_ = [
                ("flags", ctypes.c_uint64),
                ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64),
            ]

        _ctypes, _OpenHow = ctypes, OpenHow
    return _ctypes


def _libc_syscall() -> object:
    global _syscall
    if _syscall is None:
        ctypes = _load_ctypes()
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.syscall
            fn.restype = ctypes.c_long
            fn.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                           ctypes.c_size_t]  # fmt: skip
            _syscall = fn
        except (OSError, AttributeError):
            _syscall = False
    return _syscall


def _raw_openat2(dirfd: int, rel: bytes, flags: int) -> int:
    ctypes = _load_ctypes()
    how = _OpenHow(flags, 0, _RESOLVE)
    fn = _libc_syscall()
    assert callable(fn)
    for _ in range(8):  # EAGAIN: a rename or mount raced the resolution (openat2(2))
        fd = int(fn(_SYS_OPENAT2, dirfd, rel, ctypes.byref(how), ctypes.sizeof(how)))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):
            raise OSError(err, os.strerror(err))
    raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))


def openat2_available(root_fd: int) -> bool:
    """Whether ``openat2`` with ``RESOLVE_IN_ROOT`` works here (asked once per process)."""
    global _openat2_works
    if _openat2_works is None:
        if os.uname().machine.lower() not in _OPENAT2_MACHINES or not _libc_syscall():
            _openat2_works = False
        else:
            try:
                os.close(_raw_openat2(root_fd, b".", _O_PATH_DIR))
                _openat2_works = True
            except OSError:
                # ENOSYS (old kernel, seccomp), EPERM (seccomp), EINVAL/E2BIG (no such flag)
                _openat2_works = False
    return _openat2_works


PROC_SUPER_MAGIC = 0x9FA0  # include/uapi/linux/magic.h
_fstatfs: object = None


def is_procfs(fd: int) -> bool:
    """Whether the directory ``fd`` is on a proc filesystem (``fstatfs`` f_type)."""
    global _fstatfs
    ctypes = _load_ctypes()
    if _fstatfs is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.fstatfs
            fn.argtypes = [ctypes.c_int, ctypes.c_void_p]
            fn.restype = ctypes.c_int
            _fstatfs = fn
        except (OSError, AttributeError):
            _fstatfs = False
    if not callable(_fstatfs):
        return False
    buf = ctypes.create_string_buffer(256)  # struct statfs: 120 bytes on 64-bit Linux
    if _fstatfs(fd, buf) != 0:
        return False
    # f_type is the first member, a long (__fsword_t).
    f_type = ctypes.c_long.from_buffer(buf).value
    return bool(f_type == PROC_SUPER_MAGIC)


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


class Resolver:
    """Opens paths relative to ``root_fd`` as if ``root_fd`` were ``/``."""

    __slots__ = ("_openat2", "root_fd")

    def __init__(self, root_fd: int, *, use_openat2: bool | None = None) -> None:
        self.root_fd = root_fd
        self._openat2 = openat2_available(root_fd) if use_openat2 is None else use_openat2

    @property
    def kernel(self) -> bool:
        """True when the kernel resolves (openat2), False for the component walk."""
        return self._openat2

    def open(self, path: str, flags: int) -> int:
        """Open ``path`` (host absolute) inside the root, following links inside it."""
        flags |= os.O_CLOEXEC
        if self._openat2:
            return _raw_openat2(self.root_fd, os.fsencode(path.lstrip("/") or "."), flags)
        parent, name = self.walk(path, follow_last=True)
        try:
            return os.open(name, flags | os.O_NOFOLLOW, dir_fd=parent)
        finally:
            os.close(parent)

    def open_parent(self, path: str) -> tuple[int, str]:
        """``(directory fd, name)`` for calls that must not follow the last component
        (readlink, lstat): the directory is resolved inside the root, ``name`` is one
        component (``"."`` when the path names a directory through ``..`` or the root).
        The caller closes the descriptor."""
        if not self._openat2:
            return self.walk(path, follow_last=False)
        head, _, name = path.rstrip("/").rpartition("/")
        if name in ("", ".", ".."):
            return self.open(path, _O_PATH_DIR), "."
        return self.open(head or "/", _O_PATH_DIR), name

    def walk(self, path: str, *, follow_last: bool) -> tuple[int, str]:
        """The component walk: ``(directory fd, last name)``, every directory on the way
        checked not to be a link (or resolved inside the root when it is one)."""
        fd, name, _names = self._walk(path, follow_last=follow_last)
        return fd, name

    def canonical(self, path: str) -> str:
        """The path below the root with every link resolved inside it (``/run/x.sock``);
        the last component exists or does not, links on the way exist."""
        fd, name, names = self._walk(path, follow_last=True)
        os.close(fd)
        if name != ".":
            names.append(name)
        return "/" + "/".join(names)

    def _walk(self, path: str, *, follow_last: bool) -> tuple[int, str, list[str]]:
        todo = _parts(path)
        todo.reverse()
        stack: list[int] = []  # directory fds below the root, one per name in ``names``
        names: list[str] = []
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == "..":
                    if stack:
                        os.close(stack.pop())
                        names.pop()
                    continue
                current = stack[-1] if stack else self.root_fd
                last = not todo
                if last and not follow_last:
                    return os.dup(current), name, names
                try:
                    st = os.stat(name, dir_fd=current, follow_symlinks=False)
                except FileNotFoundError:
                    if last:  # the caller's open says ENOENT with the right path
                        return os.dup(current), name, names
                    raise
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_LINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
                    target = os.readlink(name, dir_fd=current)
                    if target.startswith("/"):
                        while stack:
                            os.close(stack.pop())
                        names.clear()
                    more = _parts(target)
                    more.reverse()
                    todo.extend(more)
                    continue
                if last:
                    return os.dup(current), name, names
                if not stat.S_ISDIR(st.st_mode):
                    raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
                stack.append(os.open(name, _O_PATH_DIR | os.O_NOFOLLOW, dir_fd=current))
                names.append(name)
            return os.dup(stack[-1] if stack else self.root_fd), ".", names
        finally:
            for fd in stack:
                os.close(fd)
