"""Per-container host facts the container checks compare with the pod spec.

The node probe (``collect.gather_node``) already reads ``/proc/<pid>/status`` of container
processes and one mount table per container mount namespace (``host/scan.py``). This
module turns them into the fields of :class:`~inspect8s.model.Container` that the checks
read: the init process's ``CapEff``, ``Seccomp``, ``NoNewPrivs`` and effective UID, and the
container's mounts with the host path each bind mount shows. For the audit (mount tables
read) it also reads, for each container's init process only: ``/proc/<pid>/uid_map``
(whether its UID 0 is the host's UID 0, user_namespaces(7)) and, on cgroup v1, the
``devices.list`` of its cgroup (``a *:* rwm`` means every device is allowed; cgroup v2
controls devices with an eBPF program that no file shows, so there it stays unknown).

The host path of a mount is found the way the kernel builds a bind mount: a container mount
of device ``M`` whose ``root`` is ``/containerd/containerd.sock`` comes from the host mount
of the same device whose ``root`` is the longest prefix of it (``/`` for the ``/run``
tmpfs), so it shows ``/run/containerd/containerd.sock``. Without the host's table (its
mountinfo unreadable) ``host_path`` stays None and checks fall back to the mount point.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Mapping, Sequence

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.cgroups import (
    CgroupLayout,
    entry_for,
    parent_entries,
    read_limits,
    resolve_dir,
)
from inspect8s.host.fs import HostFS
from inspect8s.host.mounts import read_mountinfo
from inspect8s.host.scan import HostScan
from inspect8s.model import (
    CgroupEntry,
    CgroupLimits,
    Container,
    ContainerMount,
    Mount,
    ProcessInfo,
    UidMapRange,
)

# Filesystems that are not a view of host files: their host path means nothing.
PSEUDO_FILESYSTEMS: frozenset[str] = frozenset(
    {"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "securityfs", "debugfs"}
)


def _under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def host_path_of(mount: Mount, host_by_device: Mapping[str, Sequence[Mount]]) -> str | None:
    """The host path ``mount`` shows, from the host mount of the same device (pure)."""
    if mount.fs_type in PSEUDO_FILESYSTEMS:
        return None
    best: Mount | None = None
    for host in host_by_device.get(mount.major_minor, ()):
        if _under(mount.root, host.root) and (best is None or len(host.root) > len(best.root)):
            best = host
    if best is None:
        return None
    rest = mount.root[len(best.root.rstrip("/")) :] if best.root != "/" else mount.root
    joined = posixpath.normpath(best.mount_point.rstrip("/") + "/" + rest.lstrip("/"))
    return "/" + joined.lstrip("/")


def resolve_mounts(
    mounts: Sequence[Mount], host_mounts: Sequence[Mount] | None
) -> tuple[ContainerMount, ...]:
    """A container's mount table with host paths (None everywhere without ``host_mounts``)."""
    by_device: dict[str, list[Mount]] = {}
    for host in host_mounts or ():
        by_device.setdefault(host.major_minor, []).append(host)
    return tuple(
        ContainerMount(
            mount_point=m.mount_point,
            fs_type=m.fs_type,
            read_only=m.read_only,
            root=m.root,
            source=m.source,
            host_path=host_path_of(m, by_device),
        )
        for m in mounts
    )


def parse_uid_map(text: str, source: str) -> tuple[UidMapRange, ...]:
    """``/proc/<pid>/uid_map``: lines of ``inside outside count`` (user_namespaces(7)).

    A process in the host's user namespace shows ``0 0 4294967295``. Raises
    ProbeFailed(malformed) on a line that is not three numbers.
    """
    out = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise ProbeFailed(ErrorKind.MALFORMED, source, f"not a uid_map line: {line[:80]!r}")
        inside, outside, count = (int(f) for f in fields)
        out.append(UidMapRange(inside, outside, count))
    if not out:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "empty uid_map")
    return tuple(out)


def parse_devices_list(text: str) -> bool:
    """True when a v1 ``devices.list`` allows every device (the line ``a *:* rwm``)."""
    return any(line.split() == ["a", "*:*", "rwm"] for line in text.splitlines())


def read_uid_map(fs: HostFS, pid: int) -> tuple[UidMapRange, ...]:
    path = f"/proc/{pid}/uid_map"
    return parse_uid_map(fs.read_text(path), f"host:{path}")


def read_devices_allow_all(
    fs: HostFS, layout: CgroupLayout, entries: Sequence[CgroupEntry]
) -> bool | None:
    """Whether the v1 devices cgroup of ``entries`` allows all devices; None: no v1 devices
    hierarchy (cgroup v2) or the cgroup is not visible. Raises ProbeFailed on a read error."""
    mount = layout.v1.get("devices")
    path = entry_for(entries, layout, "devices") if mount is not None else None
    directory = resolve_dir(mount, path) if mount is not None and path is not None else None
    if directory is None:
        return None
    return parse_devices_list(fs.read_text(f"{directory}/devices.list"))


def with_host_truth(
    containers: Sequence[Container],
    processes: Mapping[int, ProcessInfo],
    host_scan: HostScan,
    fs: HostFS,
    reference_pid: int | None,
    add_error: Callable[[ProbeFailed], None] | None = None,
    layout: CgroupLayout | None = None,
) -> list[Container]:
    """``containers`` with ``cap_eff``, ``seccomp_mode``, ``no_new_privs`` and ``mounts``.

    The host's mount table is read from the namespace reference process (a host process,
    so its mount points are host paths); a failure to read it goes to ``add_error`` (a
    callable taking the ProbeFailed) and leaves host paths unknown.

    When the scan read mount tables (``gather_node(read_mounts=True)``, the audit) and
    ``layout`` is known, the parent (pod) cgroup's limits are read too, once per parent:
    the kubelet puts ``podPidsLimit`` and the pod's memory limit there.
    """
    deep = bool(host_scan.mountinfo_by_mnt_ns)
    host_mounts: tuple[Mount, ...] | None = None
    if reference_pid is not None and deep:
        try:
            host_mounts = read_mountinfo(fs, reference_pid)
        except ProbeFailed as exc:
            if add_error is not None:
                add_error(exc)
    resolved: dict[int, tuple[ContainerMount, ...]] = {}
    parents: dict[tuple[CgroupEntry, ...], CgroupLimits] = {}
    out = []
    for c in containers:
        proc = processes.get(c.init_pid) if c.init_pid is not None else None
        if proc is None:
            out.append(c)
            continue
        mounts = None
        mnt = proc.namespaces.get("mnt")
        table = host_scan.mountinfo_by_mnt_ns.get(mnt) if mnt is not None else None
        if mnt is not None and table is not None:
            mounts = resolved.get(mnt)
            if mounts is None:
                mounts = resolved[mnt] = resolve_mounts(table, host_mounts)
        pod_limits = None
        if deep and layout is not None and proc.cgroups:
            key = parent_entries(proc.cgroups)
            pod_limits = parents.get(key)
            if pod_limits is None:
                pod_limits, failures = read_limits(fs, layout, key)
                parents[key] = pod_limits
                for failure in failures:
                    if add_error is not None:
                        add_error(failure)
        uid_map = None
        devices = None
        if deep:
            try:
                uid_map = read_uid_map(fs, proc.pid)
            except ProbeFailed as exc:
                if add_error is not None and exc.kind is not ErrorKind.MISSING:
                    add_error(exc)  # a process gone meanwhile is normal, not an error
            if layout is not None and proc.cgroups:
                try:
                    devices = read_devices_allow_all(fs, layout, proc.cgroups)
                except ProbeFailed as exc:
                    # missing: the container went away, or a bundle recorded before this
                    # file was read; the fact stays unknown (None) and checks say so
                    if add_error is not None and exc.kind is not ErrorKind.MISSING:
                        add_error(exc)
        out.append(
            dataclasses.replace(
                c,
                pod_limits=pod_limits,
                cap_eff=proc.cap_eff,
                seccomp_mode=proc.seccomp_mode,
                no_new_privs=proc.no_new_privs,
                mounts=mounts,
                uid=proc.uid,
                uid_map=uid_map,
                devices_allow_all=devices,
            )
        )
    return out
