"""Resolve a path inside another root, the way a chroot (or ``openat2(RESOLVE_IN_ROOT)``) would.

A process's own view of the filesystem is ``/proc/<pid>/root``: a daemon in a private mount
namespace binds its socket and reads its config file there, so the path it names means
*that* root. An absolute symlink met under ``/proc/<pid>/root`` is resolved by the kernel
against the caller's root, not the process's (path_resolution(7)), so such paths are
resolved here, one component at a time, through the same :class:`HostFS` every other read
uses (live, recorded or replayed alike), and only the result, which holds no symlink below
``base``, is read.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_LINKS = 40  # the kernel's limit on symlinks followed in one lookup (ELOOP)


class TooManyLinks(ValueError):
    """More than :data:`MAX_LINKS` symlinks in one path."""


def resolve_under(base: str, path: str, readlink: Callable[[str], str | None]) -> str:
    """``base`` + ``path`` with every symlink below ``base`` followed inside ``base``.

    ``base`` is a host path that acts as the root (``/proc/812/root``, or ``""`` for the
    root itself); ``path`` is absolute in that root. ``readlink(host_path)`` gives a link's
    target, or None when the path is not a link or does not exist. ``..`` never climbs above
    ``base``. Raises :class:`TooManyLinks` for a loop.
    """
    if not path.startswith("/"):
        raise ValueError(f"paths are absolute, got {path!r}")
    base = base.rstrip("/")
    done: list[str] = []
    todo = [p for p in reversed(path.split("/")) if p]
    links = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        target = readlink(base + "/" + "/".join([*done, part]))
        if target is None:
            done.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            raise TooManyLinks(f"{base}{path}: more than {MAX_LINKS} symbolic links")
        if target.startswith("/"):
            done = []
        todo.extend(p for p in reversed(target.split("/")) if p)
    return base + "/" + "/".join(done)
