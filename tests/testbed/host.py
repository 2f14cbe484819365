"""Host-side helpers of the test bed: mounts, cgroup hierarchies, processes.

Everything here acts only on paths and PIDs the caller names; nothing matches processes by
name.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_MNT_DETACH = 2


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (proc(5)).
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_points(mountinfo: Path = Path("/proc/self/mountinfo")) -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount this process sees."""
    points = []
    for line in mountinfo.read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        points.append((_unescape(fields[4]), right.split()[0]))
    return points


def propagation(point: str, mountinfo: Path = Path("/proc/self/mountinfo")) -> str | None:
    """``shared``, ``slave`` or ``private`` for the mount at POINT (the last one mounted
    there); None when nothing is mounted at POINT. From mountinfo's optional fields
    (``shared:N``, ``master:N``; proc(5))."""
    found = None
    for line in mountinfo.read_text().splitlines():
        left, _, _ = line.partition(" - ")
        fields = left.split()
        if _unescape(fields[4]) != point:
            continue
        tags = {f.split(":", 1)[0] for f in fields[6:]}
        found = "shared" if "shared" in tags else "slave" if "master" in tags else "private"
    return found


def mounts_under(base: Path) -> list[str]:
    """Mount points at or below BASE, deepest first."""
    prefix = str(base).rstrip("/") + "/"
    found = [p for p, _ in mount_points() if p == str(base) or p.startswith(prefix)]
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def unmount_all_under(base: Path) -> list[str]:
    """Lazily unmount every mount at or below BASE; return those that would not go."""
    libc = ctypes.CDLL(None, use_errno=True)
    stuck = []
    for _ in range(3):
        points = mounts_under(base)
        if not points:
            return []
        for point in points:
            if libc.umount2(os.fsencode(point), _MNT_DETACH) != 0:
                err = ctypes.get_errno()
                if err not in (errno.EINVAL, errno.ENOENT):
                    stuck.append(f"{point}: {os.strerror(err)}")
    return stuck + mounts_under(base)


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy under /sys/fs/cgroup (v1 controllers and cgroup2)."""
    roots = []
    for point, fstype in mount_points():
        if fstype in ("cgroup", "cgroup2") and point.startswith(str(CGROUP_ROOT)):
            roots.append(Path(point))
    return sorted(set(roots))


def hierarchy_of(controller: str) -> Path | None:
    """The v1 hierarchy holding CONTROLLER (``memory``, ``cpu``), if mounted."""
    for point, fstype in mount_points():
        if fstype != "cgroup" or not point.startswith(str(CGROUP_ROOT)):
            continue
        if controller in Path(point).name.split(","):
            return Path(point)
    return None


def cgroup_dirs(relative: str) -> list[Path]:
    """RELATIVE (``/kubepods/pod<uid>``) in every hierarchy where it exists."""
    rel = relative.strip("/")
    return [h / rel for h in cgroup_hierarchies() if (h / rel).is_dir()]


def remove_cgroup_tree(relative: str) -> list[str]:
    """rmdir RELATIVE and everything below it in every hierarchy; return what stayed.

    A cgroup with processes in it cannot be removed (EBUSY); that is reported, not forced.
    """
    left = []
    for top in cgroup_dirs(relative):
        dirs = [Path(d) for d, _, _ in os.walk(top)]
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                left.append(f"{d}: {exc.strerror}")
    return left


def pid_alive(pid: int, start_time: str | None = None) -> bool:
    """True when PID exists (and, given START_TIME, is still the same process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return False
    return start_time is None or fields[19] == start_time


def pid_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks), or None if PID is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def pids_referencing(text: str) -> list[int]:
    """PIDs whose command line contains TEXT (a test bed's private directory)."""
    needle = text.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(entry.name))
    return found


def stop_pids(pids: Iterable[int], *, grace: float = 5.0) -> list[int]:
    """SIGTERM PIDS, wait up to GRACE seconds, SIGKILL the rest; return any still alive."""
    pending = {p: pid_start_time(p) for p in pids}
    for pid in pending:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p, t) for p, t in pending.items()):
        time.sleep(0.05)
    for pid, started in pending.items():
        if pid_alive(pid, started):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(pid_alive(p, t) for p, t in pending.items()):
        time.sleep(0.05)
    return [p for p, t in pending.items() if pid_alive(p, t)]


def default_route_interface() -> str | None:
    """The interface of the IPv4 default route, from /proc/net/route."""
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            return fields[0]
    return None
