"""What one host process is, in the chain's terms (``inspect8s pid``).

Every process of a chain is named by its role: a container's process, a pod's sandbox
(pause) process, the monitor of a container or sandbox (a containerd shim, conmon), a runtime
daemon, the kubelet; anything else is on the host, with its cgroup. Membership comes from
the cgroup path (``host/identify.py``); monitors from the process table (``Shim``: its
``-id``/``-c`` and the containers whose init process is its child).
"""

from __future__ import annotations

from inspect8s.collect.node import NodeCollection
from inspect8s.collect.podlookup import pod_label
from inspect8s.errors import NotFoundError, ProbeFailed
from inspect8s.host.cgroups import RESOURCE_CONTROLLERS
from inspect8s.host.fs import HostFS
from inspect8s.model import Container, ProcessInfo, ProcessOrigin, Shim


def cgroup_line(proc: ProcessInfo) -> tuple[str, str]:
    """``(path, which line)`` of the cgroup that says where a process is: on v1 and hybrid
    hosts a resource controller's line (``memory``, ``pids``, ``cpu``...), never
    ``name=systemd``; on v2 hosts the unified ``0::`` line. ``which`` is the controller, or
    ``"unified"``; ``("unknown", "")`` when the process has no cgroup lines."""
    entries = list(proc.cgroups)
    for wanted in RESOURCE_CONTROLLERS:
        for e in entries:
            if wanted in e.controllers:
                return e.path, wanted
    for e in entries:
        if e.controllers and not any("=" in x for x in e.controllers):
            return e.path, e.controllers[0]
    for e in entries:
        if not e.controllers:
            return e.path, "unified"
    return (entries[0].path, ",".join(entries[0].controllers)) if entries else ("unknown", "")


def container_of_pid(
    collection: NodeCollection, fs: HostFS, pid: int
) -> tuple[int, Container | None]:
    """``(process pid, container)`` for a host PID or a thread ID; container None when the
    process is in no container. Raises NotFoundError for a PID that does not exist."""
    processes = collection.processes
    tgid = pid
    if pid not in processes:
        # A thread ID is not listed in /proc but /proc/<tid>/status names its process.
        try:
            status = fs.read_text(f"/proc/{pid}/status")
        except ProbeFailed:
            raise NotFoundError(f"no process with PID {pid} on this node") from None
        for line in status.splitlines():
            if line.startswith("Tgid:"):
                try:
                    tgid = int(line.split()[1])
                except (IndexError, ValueError):
                    break
        if tgid not in processes:
            raise NotFoundError(f"no process with PID {pid} on this node (it may have exited)")
    for c in collection.report.containers:
        if tgid in c.pids:
            return tgid, c
    return tgid, None


def _monitored(collection: NodeCollection, shim: Shim) -> tuple[str, Container | None]:
    """What a monitor process watches, in words, and the container whose pod's chain tells
    its story: conmon one container or sandbox (``-c``), a containerd shim one sandbox and
    its containers (CRI) or one container (``moby``: one shim per Docker container)."""
    report = collection.report
    ids = (shim.id, *shim.container_ids)
    monitored = [c for c in report.containers if c.id in ids]
    target = next((c for c in monitored if c.id == shim.id), monitored[0] if monitored else None)
    if target is None:
        return f"a monitor ({shim.kind}) of {shim.id or 'an unknown container'}", None
    pod = pod_label(report, [target]) if target.pod_name or target.pod_uid else None
    if target.is_sandbox and (shim.kind == "conmon" or len(monitored) == 1):
        what = f"the sandbox of pod {pod}" if pod else f"sandbox {target.id[:13]}"
    elif target.is_sandbox or len(monitored) > 1:
        what = f"pod {pod}" if pod else f"sandbox {target.id[:13]} and its containers"
    else:
        what = f"container {target.name or '?'} {target.id[:13]}" + (
            f" of pod {pod}" if pod else ""
        )
    return f"the monitor ({shim.kind}) of {what}", target


def process_origin(
    collection: NodeCollection, fs: HostFS, pid: int
) -> tuple[ProcessOrigin, Container | None]:
    """What host process (or thread) ``pid`` is, and the container whose pod's chain tells
    its story: its own, the one it monitors (a shim or conmon), or None."""
    tgid, container = container_of_pid(collection, fs, pid)
    report = collection.report
    proc = collection.processes[tgid]
    cgroup, which = cgroup_line(proc)

    def origin(role: str, text: str, c: Container | None) -> ProcessOrigin:
        return ProcessOrigin(
            pid=tgid,
            thread=pid,
            comm=proc.comm,
            role=role,
            description=text,
            cgroup=cgroup,
            container_id=c.id if c else None,
            pod_namespace=c.pod_namespace if c else None,
            pod_name=c.pod_name if c else None,
            pod_uid=c.pod_uid if c else None,
            cgroup_line=which,
        )

    shim = next((s for s in report.shims if s.pid == tgid), None)
    if container is not None and shim is None:
        pod = pod_label(report, [container]) if container.pod_name or container.pod_uid else None
        if container.is_sandbox:
            text = f"the sandbox (pause process) of pod {pod}" if pod else "a sandbox"
            return origin("sandbox", text, container), container
        name = container.name or "?"
        text = f"in container {name} {container.id[:13]} ({container.runtime})"
        return origin("container", text + (f" of pod {pod}" if pod else ""), container), container
    if shim is not None:
        text, target = _monitored(collection, shim)
        return origin("monitor", text, target), target
    daemon = next((d for d in report.runtimes if d.pid == tgid), None)
    if daemon is not None:
        socks = ", ".join(daemon.sockets) or "no socket found"
        return origin("runtime", f"the {daemon.name} daemon ({socks})", None), None
    if report.kubelet is not None and report.kubelet.pid == tgid:
        return origin("kubelet", "the kubelet", None), None
    return origin("host", f"in no container; its cgroup is {cgroup}", None), None
