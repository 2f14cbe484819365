"""cgroup path -> the container (and pod) a process belongs to.

Path formats (runtime-facts.md "cgroup path formats"):

* kubelet cgroupfs driver: ``/kubepods/<qos>/pod<uid>/<id>``, Guaranteed pods directly under
  ``/kubepods`` (``/kubepods/pod<uid>/<id>``); CRI-O with cgroupfs names the leaf
  ``crio-<id>`` (amicontained#7 sample; CRI-O ``conmon_cgroup = "pod"`` docs).
* kubelet systemd driver: ``/kubepods.slice/kubepods-<qos>.slice/
  kubepods-<qos>-pod<uid_with_underscores>.slice/<scope>``, Guaranteed pods as
  ``kubepods-pod<uid>.slice`` (falcosecurity/falco#1568); the scope is
  ``cri-containerd-<id>.scope`` (containerd), ``crio-<id>.scope`` (CRI-O), ``docker-<id>.scope``
  (dockershim / cri-dockerd). ``crio-conmon-<id>.scope`` and ``libpod-conmon-<id>.scope`` hold
  the monitor, not the container.
* plain Docker ``/docker/<id>`` (cgroupfs) or ``/system.slice/docker-<id>.scope`` (systemd);
  podman ``libpod-<id>.scope`` (elastic/quark#222; Docker runmetrics doc) or
  ``/libpod_parent/libpod-<id>`` (podman's cgroupfs manager; ``<parent>/libpod-<id>`` under
  a ``--cgroup-parent``).
* Seen through a cgroup namespace the path is relative (``/``, ``/../../..``,
  ``/../kubepods-...slice/cri-containerd-<id>.scope``): leading ``..`` are ignored and what
  remains is matched; a path with nothing left gives None.

Sub-cgroups inside a container (crun's ``container``, a containerised systemd's
``init.scope``) still belong to the container: the *last* container component wins.
The kubelet's ``--cgroup-root`` prefix (``/kubelet/kubepods/...``, kind's
``kubelet-kubepods-...slice``) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from inspect8s.model import CgroupEntry, ContainerIdentity, QoS

_ID = r"[0-9a-f]{12,64}"
_SCOPE = re.compile(rf"^(?P<prefix>cri-containerd|crio|docker|libpod)-(?P<id>{_ID})\.scope$")
_MONITOR_SCOPE = re.compile(rf"^(?:crio|libpod)-conmon-(?P<id>{_ID})(?:\.scope)?$")
_BARE_ID = re.compile(rf"^{_ID}$")
_CRIO_LEAF = re.compile(rf"^crio-(?P<id>{_ID})$")
_LIBPOD_LEAF = re.compile(rf"^libpod-(?P<id>{_ID})$")
_CGROUPFS_POD = re.compile(r"^pod(?P<uid>[0-9a-fA-F][0-9a-fA-F-]*)$")
_SYSTEMD_POD = re.compile(
    r"^(?:.*-)?kubepods(?:-(?P<qos>burstable|besteffort))?-pod(?P<uid>[0-9a-fA-F_]+)\.slice$"
)
_RUNTIME_OF_PREFIX = {
    "cri-containerd": "containerd",
    "crio": "crio",
    "docker": "docker",
    "libpod": "podman",
}
_QOS_OF_NAME = {"burstable": QoS.BURSTABLE, "besteffort": QoS.BESTEFFORT}


def _parts(path: str) -> list[str]:
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", ".", ".."):
            # '..' only occurs at the front of a path seen through a cgroup namespace.
            continue
        out.append(part)
    return out


def _pod_of(parts: list[str], before: int) -> tuple[str | None, QoS | None, str | None]:
    """(pod uid, QoS, driver) from the component just above a container component."""
    if before < 0:
        return None, None, None
    comp = parts[before]
    m = _SYSTEMD_POD.match(comp)
    if m:
        qos = _QOS_OF_NAME.get(m.group("qos") or "", QoS.GUARANTEED)
        return m.group("uid").replace("_", "-"), qos, "systemd"
    m = _CGROUPFS_POD.match(comp)
    if m and before >= 1:
        parent = parts[before - 1]
        if parent in _QOS_OF_NAME and before >= 2 and parts[before - 2].endswith("kubepods"):
            return m.group("uid"), _QOS_OF_NAME[parent], "cgroupfs"
        if parent.endswith("kubepods"):
            return m.group("uid"), QoS.GUARANTEED, "cgroupfs"
    return None, None, None


def identify(path: str) -> ContainerIdentity | None:
    """The container a cgroup path names, or None for a path that is not a container's
    (host services, pod-level cgroups, conmon monitors, the namespace root ``/``)."""
    parts = _parts(path)
    for i in range(len(parts) - 1, -1, -1):
        comp = parts[i]
        if _MONITOR_SCOPE.match(comp):
            return None
        m = _SCOPE.match(comp)
        if m:
            uid, qos, _ = _pod_of(parts, i - 1)
            runtime = _RUNTIME_OF_PREFIX[m.group("prefix")]
            return ContainerIdentity(runtime, m.group("id"), uid, qos, "systemd", path)
        m = _CRIO_LEAF.match(comp)
        if m:
            uid, qos, _ = _pod_of(parts, i - 1)
            return ContainerIdentity("crio", m.group("id"), uid, qos, "cgroupfs", path)
        m = _LIBPOD_LEAF.match(comp)
        if m and i >= 1:
            return ContainerIdentity("podman", m.group("id"), None, None, "cgroupfs", path)
        if _BARE_ID.match(comp) and i >= 1:
            if parts[i - 1] == "docker":
                return ContainerIdentity("docker", comp, None, None, "cgroupfs", path)
            uid, qos, driver = _pod_of(parts, i - 1)
            if uid is not None and driver == "cgroupfs":
                # containerd and dockershim/cri-dockerd both use the bare id here: the
                # runtime is told by the shim the process hangs under, not by the path.
                return ContainerIdentity("unknown", comp, uid, qos, "cgroupfs", path)
    return None


# v1 hierarchies worth asking first: they are always set by the runtime.
_V1_ORDER = ("pids", "memory", "cpu", "name=systemd")


def identify_entries(entries: Sequence[CgroupEntry]) -> ContainerIdentity | None:
    """The container of a process from all its ``/proc/<pid>/cgroup`` lines.

    The v2 line is tried first; on hybrid hosts it is usually ``0::/`` (an empty unified
    hierarchy), so the v1 lines (pids, memory, cpu, name=systemd, then the rest) follow.
    """
    seen: set[str] = set()
    ordered = sorted(
        entries,
        key=lambda e: (
            0
            if not e.controllers
            else 1 + next((n for n, c in enumerate(_V1_ORDER) if c in e.controllers), 9)
        ),
    )
    for e in ordered:
        if e.path in seen:
            continue
        seen.add(e.path)
        ident = identify(e.path)
        if ident is not None:
            return ident
    return None
