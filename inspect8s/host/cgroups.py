"""cgroup v1 / v2 / hybrid layout, ``/proc/<pid>/cgroup`` parsing, limits and stats files.

Kernel references: Documentation/admin-guide/cgroup-v2.rst (``memory.max``, ``memory.events``,
``cpu.max``, ``cpu.weight``, ``cpu.stat``, ``pids.*``), Documentation/admin-guide/cgroup-v1/
{memory,pids}.rst and scheduler/sched-bwc.rst (``memory.limit_in_bytes``, ``memory.oom_control``,
``cpu.cfs_quota_us``, ``cpu.shares``, ``cpu.stat``), proc(5) for ``/proc/<pid>/cgroup``.

The layout comes from the mount table (``/proc/self/mountinfo`` under the root), not from
``statfs``, so that a fixture tree can describe any layout. Paths in ``/proc/<pid>/cgroup``
and the ``root`` field of a cgroup mount are both relative to the *reader's* cgroup
namespace root; :func:`resolve_dir` joins them the way the kernel shows them
(runtime-facts.md "cgroup namespaces"; inspektor-gadget PR #3085).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import field

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.host.mounts import read_mountinfo
from inspect8s.model import CgroupEntry, CgroupLimits, CgroupVersion, Mount
from inspect8s.model.frozen import frozen

CGROUP_ROOT = "/sys/fs/cgroup"

# A v1 memory limit at or above this is "no limit": the kernel prints
# PAGE_COUNTER_MAX * PAGE_SIZE, i.e. LONG_MAX rounded down to a page
# (9223372036854771712 with 4 KiB pages, 9223372036854710272 with 64 KiB pages).
V1_UNLIMITED_THRESHOLD = (1 << 63) - (1 << 20)


# v1 controllers in the order that best says where a process is: the resource controllers
# runtimes always place a container in. ``name=systemd`` and the ``0::`` line are not: CRI-O
# leaves conmon at ``/`` there while every v1 controller says ``.../crio-conmon-<id>``
# (real-crio-1.28.11 SOURCE.md, "conmon's cgroup").
RESOURCE_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer")


def _malformed(source: str, detail: str) -> ProbeFailed:
    return ProbeFailed(ErrorKind.MALFORMED, source, detail)


# --------------------------------------------------------------------------- /proc/<pid>/cgroup


def parse_proc_cgroup(text: str, source: str) -> tuple[CgroupEntry, ...]:
    """``/proc/<pid>/cgroup``: ``hierarchy-id:controller-list:path`` per line.

    v1 lines name their controllers (``4:memory:/kubepods/...``, ``1:name=systemd:/...``,
    ``2:cpu,cpuacct:/...``); the v2 line is ``0::/path``. The path may itself hold ':'.
    """
    entries = []
    for line in text.splitlines():
        if not line:
            continue
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            raise _malformed(source, f"not a cgroup line: {line!r}")
        try:
            hid = int(parts[0])
        except ValueError:
            raise _malformed(source, f"hierarchy id is not a number: {line!r}") from None
        controllers = tuple(parts[1].split(",")) if parts[1] else ()
        entries.append(CgroupEntry(hierarchy_id=hid, controllers=controllers, path=parts[2]))
    if not entries:
        raise _malformed(source, "empty cgroup file")
    return tuple(entries)


# --------------------------------------------------------------------------- layout


@frozen
class CgroupMount:
    """One cgroup hierarchy mounted on the host."""

    mount_point: str  # host path, e.g. /sys/fs/cgroup/memory
    root: str  # cgroup path shown at the mount point (mountinfo field 4), usually "/"
    version: int  # 1 or 2
    controllers: tuple[str, ...]  # v1: from the super options ("memory", "name=systemd"); v2: ()


@frozen
class CgroupLayout:
    """Where each cgroup hierarchy is mounted.

    ``version`` is None when no cgroup filesystem is mounted (or the mount table was
    unreadable). In a hybrid layout (v1 controllers plus a cgroup2 mount, usually
    ``/sys/fs/cgroup/unified``) controllers are read from v1 and the v2 mount is used only
    for controllers v1 does not have.
    """

    version: CgroupVersion | None
    v1: dict[str, CgroupMount] = field(default_factory=dict)  # controller -> mount
    v2: CgroupMount | None = None

    def mount_for(self, controller: str) -> CgroupMount | None:
        """The mount holding ``controller`` ("memory", "cpu", "pids", "name=systemd")."""
        return self.v1.get(controller) or self.v2


def _prefer(old: CgroupMount | None, new: CgroupMount) -> bool:
    """Keep the first mount of a hierarchy unless a later one is the canonical one."""
    if old is None:
        return True
    old_canon = old.mount_point.startswith(CGROUP_ROOT) and old.root == "/"
    new_canon = new.mount_point.startswith(CGROUP_ROOT) and new.root == "/"
    return new_canon and not old_canon


def detect_layout(mounts: Iterable[Mount], *, strip_prefix: str = "") -> CgroupLayout:
    """The cgroup layout a mount table describes (pure).

    ``strip_prefix`` removes a root prefix from mount points (the mount table of a
    process that sees the host under ``/host`` names ``/host/sys/fs/cgroup/...``).
    """
    v1: dict[str, CgroupMount] = {}
    v2: CgroupMount | None = None
    for m in mounts:
        if m.fs_type not in ("cgroup", "cgroup2"):
            continue
        point = m.mount_point
        if strip_prefix and point.startswith(strip_prefix + "/"):
            point = point[len(strip_prefix) :]
        if m.fs_type == "cgroup2":
            cand = CgroupMount(point, m.root, 2, ())
            if _prefer(v2, cand):
                v2 = cand
            continue
        controllers = tuple(
            o
            for o in m.super_options
            if o not in ("rw", "ro")
            and ("=" not in o or o.startswith("name="))
            and o not in ("noprefix", "clone_children", "xattr", "cpuset_v2_mode", "nsdelegate")
        )
        cand = CgroupMount(point, m.root, 1, controllers)
        for c in controllers:
            if _prefer(v1.get(c), cand):
                v1[c] = cand
    real_v1 = any(not c.startswith("name=") for c in v1)
    if v2 is not None and (v2.mount_point == CGROUP_ROOT or not real_v1):
        # Unified: /sys/fs/cgroup itself is cgroup2 (a leftover named v1 hierarchy such as
        # name=systemd holds no controller and does not make it hybrid).
        version: CgroupVersion | None = CgroupVersion.V2
    elif v1 and v2 is not None:
        version = CgroupVersion.HYBRID
    elif v1:
        version = CgroupVersion.V1
    else:
        version = None
    return CgroupLayout(version=version, v1=v1, v2=v2)


def read_layout(fs: HostFS) -> CgroupLayout:
    """Detect the layout from ``/proc/self/mountinfo`` under the root (ProbeFailed if that
    cannot be read or parsed)."""
    mounts = read_mountinfo(fs, "self")
    return detect_layout(mounts, strip_prefix="" if fs.is_live else fs.root.rstrip("/"))


def _components(path: str) -> list[str]:
    """Lexically resolved components of a cgroup path, keeping leading '..' (a path above
    the reader's cgroup namespace root, e.g. ``/../../kubepods.slice/...``)."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and out and out[-1] != "..":
            out.pop()
        else:
            out.append(part)
    return out


def resolve_dir(mount: CgroupMount, path: str) -> str | None:
    """The host directory of cgroup ``path`` in hierarchy ``mount``; None when the path
    lies outside what the mount shows (seen through a cgroup namespace whose root the
    mount does not reach)."""
    want = _components(path)
    root = _components(mount.root)
    if want[: len(root)] != root:
        return None
    rest = want[len(root) :]
    if rest and rest[0] == "..":
        return None
    return "/".join([mount.mount_point.rstrip("/"), *rest]) if rest else mount.mount_point


def entry_for(entries: Sequence[CgroupEntry], layout: CgroupLayout, controller: str) -> str | None:
    """The cgroup path of ``controller`` among a process's entries; None if none applies."""
    if controller in layout.v1:
        for e in entries:
            if controller in e.controllers:
                return e.path
        return None
    for e in entries:
        if e.hierarchy_id == 0 and not e.controllers:
            return e.path
    return None


def parent_entries(entries: Sequence[CgroupEntry]) -> tuple[CgroupEntry, ...]:
    """The same entries one level up (container cgroup -> pod cgroup)."""
    out = []
    for e in entries:
        parts = e.path.rstrip("/").rsplit("/", 1)
        parent = parts[0] if parts[0] else "/"
        out.append(CgroupEntry(e.hierarchy_id, e.controllers, parent))
    return tuple(out)


# --------------------------------------------------------------------------- limit files

_Parsed = dict[str, int | None]


def _single(text: str, source: str) -> str:
    value = text.strip()
    if not value or len(value.split()) != 1:
        raise _malformed(source, f"expected one value, got {text.strip()!r}")
    return value


def _int(value: str, source: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _malformed(source, f"{value!r} is not a number") from None


def _int_or_max(text: str, source: str) -> int | None:
    value = _single(text, source)
    return None if value == "max" else _int(value, source)


def parse_flat_keyed(text: str, source: str) -> dict[str, int]:
    """``key value`` lines (``cpu.stat``, ``memory.events``, ``memory.oom_control``)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise _malformed(source, f"expected 'key value', got {line!r}")
        out[parts[0]] = _int(parts[1], source)
    return out


def _v1_memory_limit(text: str, source: str) -> _Parsed:
    value = _int(_single(text, source), source)
    return {"memory_max_bytes": None if value >= V1_UNLIMITED_THRESHOLD else value}


def _v2_memory_max(text: str, source: str) -> _Parsed:
    return {"memory_max_bytes": _int_or_max(text, source)}


def _usage(text: str, source: str) -> _Parsed:
    return {"memory_usage_bytes": _int(_single(text, source), source)}


def _failcnt(text: str, source: str) -> _Parsed:
    return {"memory_failcnt": _int(_single(text, source), source)}


def _oom_kills(text: str, source: str) -> _Parsed:
    # v2 memory.events and v1 memory.oom_control (since Linux 4.13) both carry "oom_kill".
    return {"memory_oom_kills": parse_flat_keyed(text, source).get("oom_kill")}


def _cfs_quota(text: str, source: str) -> _Parsed:
    value = _int(_single(text, source), source)
    return {"cpu_quota_us": None if value < 0 else value}


def _cfs_period(text: str, source: str) -> _Parsed:
    return {"cpu_period_us": _int(_single(text, source), source)}


def _cpu_max(text: str, source: str) -> _Parsed:
    parts = text.split()
    if len(parts) != 2:
        raise _malformed(source, f"expected '$MAX $PERIOD', got {text.strip()!r}")
    quota = None if parts[0] == "max" else _int(parts[0], source)
    return {"cpu_quota_us": quota, "cpu_period_us": _int(parts[1], source)}


def _shares(text: str, source: str) -> _Parsed:
    return {"cpu_shares": _int(_single(text, source), source)}


def _weight(text: str, source: str) -> _Parsed:
    return {"cpu_weight": _int(_single(text, source), source)}


def _cpu_stat_v1(text: str, source: str) -> _Parsed:
    stats = parse_flat_keyed(text, source)
    ns = stats.get("throttled_time")
    return {
        "cpu_nr_periods": stats.get("nr_periods"),
        "cpu_nr_throttled": stats.get("nr_throttled"),
        "cpu_throttled_usec": None if ns is None else ns // 1000,
    }


def _cpu_stat_v2(text: str, source: str) -> _Parsed:
    # nr_periods/nr_throttled/throttled_usec appear only with the cpu controller enabled.
    stats = parse_flat_keyed(text, source)
    return {
        "cpu_nr_periods": stats.get("nr_periods"),
        "cpu_nr_throttled": stats.get("nr_throttled"),
        "cpu_throttled_usec": stats.get("throttled_usec"),
    }


def _pids_max(text: str, source: str) -> _Parsed:
    return {"pids_max": _int_or_max(text, source)}


def _pids_current(text: str, source: str) -> _Parsed:
    return {"pids_current": _int(_single(text, source), source)}


_Parser = Callable[[str, str], _Parsed]

# (controller, file, parser) per version, in reading order.
V1_FILES: tuple[tuple[str, str, _Parser], ...] = (
    ("memory", "memory.limit_in_bytes", _v1_memory_limit),
    ("memory", "memory.usage_in_bytes", _usage),
    ("memory", "memory.failcnt", _failcnt),
    ("memory", "memory.oom_control", _oom_kills),
    ("cpu", "cpu.cfs_quota_us", _cfs_quota),
    ("cpu", "cpu.cfs_period_us", _cfs_period),
    ("cpu", "cpu.shares", _shares),
    ("cpu", "cpu.stat", _cpu_stat_v1),
    ("pids", "pids.max", _pids_max),
    ("pids", "pids.current", _pids_current),
)
V2_FILES: tuple[tuple[str, str, _Parser], ...] = (
    ("memory", "memory.max", _v2_memory_max),
    ("memory", "memory.current", _usage),
    ("memory", "memory.events", _oom_kills),
    ("cpu", "cpu.max", _cpu_max),
    ("cpu", "cpu.weight", _weight),
    ("cpu", "cpu.stat", _cpu_stat_v2),
    ("pids", "pids.max", _pids_max),
    ("pids", "pids.current", _pids_current),
)
_ALL_PARSERS: dict[tuple[int, str], _Parser] = {
    **{(1, name): p for _, name, p in V1_FILES},
    **{(2, name): p for _, name, p in V2_FILES},
}


def parse_limit_file(version: int, name: str, text: str, source: str) -> dict[str, int | None]:
    """One limits/stats file of cgroup ``version`` (1 or 2) -> CgroupLimits field values.

    >>> parse_limit_file(2, "cpu.max", "50000 100000\\n", "host:x")
    {'cpu_quota_us': 50000, 'cpu_period_us': 100000}
    """
    try:
        parser = _ALL_PARSERS[(version, name)]
    except KeyError:
        raise ValueError(f"no parser for cgroup v{version} file {name!r}") from None
    return parser(text, source)


def read_limits(
    fs: HostFS, layout: CgroupLayout, entries: Sequence[CgroupEntry]
) -> tuple[CgroupLimits, list[ProbeFailed]]:
    """Effective limits and stats of the cgroup ``entries`` point at, reading each file once.

    Each controller is read from the hierarchy that holds it (v1 mount, else v2). A file
    that is missing, unreadable or malformed is a failure in the returned list and leaves
    its fields None; the other files are still read. A controller whose cgroup directory
    cannot be resolved (path outside the visible hierarchy) is one failure.
    """
    values: dict[str, int | None] = {}
    failures: list[ProbeFailed] = []
    for controller in ("memory", "cpu", "pids"):
        mount = layout.mount_for(controller)
        if mount is None:
            failures.append(
                ProbeFailed(
                    ErrorKind.MISSING,
                    f"host:{CGROUP_ROOT}",
                    f"no cgroup hierarchy holds the {controller} controller",
                )
            )
            continue
        path = entry_for(entries, layout, controller)
        directory = None if path is None else resolve_dir(mount, path)
        if directory is None:
            failures.append(
                ProbeFailed(
                    ErrorKind.MISSING,
                    f"host:{mount.mount_point}",
                    f"cgroup of the {controller} controller ({path or 'no entry'}) "
                    f"is not visible under {mount.mount_point}",
                )
            )
            continue
        table = V1_FILES if mount.version == 1 else V2_FILES
        for ctl, name, parser in table:
            if ctl != controller:
                continue
            host_path = f"{directory}/{name}"
            try:
                values.update(parser(fs.read_text(host_path), f"host:{host_path}"))
            except ProbeFailed as exc:
                failures.append(exc)
    return CgroupLimits(**values), failures
