"""Join by identity: processes to containers, containers to the runtime that listed them.

A container is its ID (the cgroup path names it); its pod is the pod UID (the cgroup path
and the kubelet's labels carry it), never a namespace/name pair, which two runtimes, or one
runtime while a StatefulSet pod is replaced, can hold twice. What a runtime said about a
container is found by container ID in the survey of the socket that listed it, and the
runtime is the daemon behind that socket (``Container.runtime_pid``, ``endpoint``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from inspect8s.collect.errors import Errors
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host import cgroups
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    CgroupLimits,
    Container,
    ContainerIdentity,
    NamespaceReference,
    ProcessInfo,
    RuntimeDaemon,
    Shim,
    SocketInfo,
)
from inspect8s.runtime.convert import ContainerMeta, parse_k8s_name

# The namespaces a pod spec can share with the host (hostNetwork also shares UTS; hostPID,
# hostIPC); mnt is listed because sharing it means seeing the host's whole filesystem.
# user, cgroup and time are kept in the inodes but not flagged: every pod shares them with
# the host unless hostUsers: false or (cgroup) the runtime unshares it on cgroup v2.
FLAGGED_NAMESPACES: tuple[str, ...] = ("ipc", "mnt", "net", "pid", "uts")


def host_reference(
    processes: Mapping[int, ProcessInfo],
    kubelet_pid: int | None,
    daemons: Sequence[RuntimeDaemon],
    container_pids: set[int],
    self_pid: int | None,
) -> NamespaceReference:
    """Choose the process whose namespaces stand for the host's.

    PID 1 when its links are readable. Otherwise (PID 1's ns links are EACCES on some
    machines, even for root) the kubelet, then a runtime daemon: both must run in the host's
    namespaces to do their job. Last, inspect8s itself when it runs on the host outside any
    container. The reason names the choice.
    """
    wanted = set(FLAGGED_NAMESPACES)
    init = processes.get(1)
    if init is not None and wanted <= set(init.namespaces):
        return NamespaceReference(pid=1, reason="PID 1", namespaces=dict(init.namespaces))
    why = "PID 1 not visible" if init is None else "PID 1's namespace links unreadable"
    candidates: list[tuple[int, str]] = []
    if kubelet_pid is not None:
        candidates.append((kubelet_pid, "kubelet"))
    candidates += [(d.pid, d.name) for d in daemons if d.pid is not None]
    if self_pid is not None:
        candidates.append((self_pid, "inspect8s itself"))
    for pid, what in candidates:
        proc = processes.get(pid)
        if proc is None or pid in container_pids or not wanted <= set(proc.namespaces):
            continue
        return NamespaceReference(
            pid=pid, reason=f"{what} (PID {pid}); {why}", namespaces=dict(proc.namespaces)
        )
    return NamespaceReference(pid=None, reason=f"nothing readable; {why}")


def _init_pid(pids: Sequence[int], processes: Mapping[int, ProcessInfo]) -> int | None:
    """The container's first process: the one whose parent is outside the container."""
    members = set(pids)
    tops = [p for p in pids if processes[p].ppid not in members]
    if not tops:
        return min(pids) if pids else None
    return min(tops, key=lambda p: (processes[p].start_time_ticks, p))


def _runtime_of(ident: ContainerIdentity, shim: Shim | None, meta: ContainerMeta | None) -> str:
    if meta is not None:
        return meta.runtime
    if ident.runtime != "unknown":
        return ident.runtime
    if shim is not None:
        if shim.kind == "conmon":
            return "crio"
        if shim.namespace == "moby" or shim.kind.startswith("docker-"):
            return "docker"
        return "containerd"
    return "unknown"


def group_containers(
    identities: Mapping[int, ContainerIdentity],
) -> tuple[dict[str, list[int]], dict[str, ContainerIdentity]]:
    """Processes by container ID (from their cgroup paths)."""
    by_container: dict[str, list[int]] = {}
    idents: dict[str, ContainerIdentity] = {}
    for pid, ident in identities.items():
        by_container.setdefault(ident.container_id, []).append(pid)
        idents.setdefault(ident.container_id, ident)
    for pids in by_container.values():
        pids.sort()
    return by_container, idents


def build_containers(
    fs: HostFS,
    by_container: Mapping[str, list[int]],
    idents: Mapping[str, ContainerIdentity],
    processes: Mapping[int, ProcessInfo],
    shims: Sequence[Shim],
    metadata: Mapping[str, ContainerMeta],
    sockets: Sequence[SocketInfo],
    layout: cgroups.CgroupLayout | None,
    reference: NamespaceReference,
    errors: Errors,
) -> tuple[list[Container], dict[int, list[str]]]:
    """Every container on the node, and the containers of each shim (by shim PID)."""
    shim_by_pid = {s.pid: s for s in shims}
    daemon_of_socket = {s.ident: s.daemon_pid for s in sockets}
    shim_containers: dict[int, list[str]] = {}
    containers: list[Container] = []
    for cid, pids in by_container.items():
        ident = idents[cid]
        init = _init_pid(pids, processes)
        init_proc = processes.get(init) if init is not None else None
        shim = shim_by_pid.get(init_proc.ppid) if init_proc else None
        if shim is not None:
            shim_containers.setdefault(shim.pid, []).append(cid)
        meta = metadata.get(cid)
        if meta is None and shim is not None and shim.kind == "conmon":
            meta = conmon_meta(processes[shim.pid].cmdline, cid)
        if meta is None and ident.runtime != "docker":
            meta = bundle_meta(fs, cid, shim, errors)
        limits = CgroupLimits()
        if layout is not None and init_proc is not None:
            read, failures = cgroups.read_limits(fs, layout, init_proc.cgroups)
            limits = read
            for failure in failures:
                errors.add(failure)
        namespaces = dict(init_proc.namespaces) if init_proc else {}
        shared = tuple(
            t
            for t in FLAGGED_NAMESPACES
            if t in namespaces and reference.namespaces.get(t) == namespaces[t]
        )
        is_sandbox = (
            meta.is_sandbox
            if meta
            # containerd's CRI starts one runc.v2 shim per sandbox, named after it; conmon,
            # and dockerd's shims (namespace moby), are per container, so their id says
            # nothing about the sandbox.
            else _looks_like_pause(init_proc)
            or (
                shim is not None
                and shim.kind != "conmon"
                and shim.namespace != "moby"
                and shim.id == cid
            )
        )
        endpoint = meta.endpoint if meta else None
        runtime_pid = daemon_of_socket.get(endpoint) if endpoint else None
        if runtime_pid is None and shim is not None:
            runtime_pid = shim.daemon_pid
        containers.append(
            Container(
                id=cid,
                runtime=_runtime_of(ident, shim, meta),
                name=meta.name if meta else None,
                pod_name=meta.pod_name if meta else None,
                pod_namespace=meta.pod_namespace if meta else None,
                pod_uid=(meta.pod_uid if meta and meta.pod_uid else ident.pod_uid),
                qos=ident.qos,
                init_pid=init,
                shim_pid=shim.pid if shim else None,
                pids=tuple(pids),
                cgroup_path=ident.cgroup_path,
                cgroup_driver=ident.driver,
                limits=limits,
                namespaces=namespaces,
                host_namespaces=shared,
                is_sandbox=is_sandbox,
                image=meta.image if meta else None,
                labels=dict(meta.labels) if meta else {},
                name_source=meta.source if meta else "cgroup",
                runtime_pid=runtime_pid,
                endpoint=endpoint,
            )
        )
    return containers, shim_containers


def daemon_by_pid(daemons: Sequence[RuntimeDaemon], pid: int | None) -> RuntimeDaemon | None:
    if pid is None:
        return None
    return next((d for d in daemons if d.pid == pid), None)


def _looks_like_pause(proc: ProcessInfo | None) -> bool:
    return proc is not None and proc.exe_name == "pause"


# OCI bundle annotations set by containerd's CRI plugin and by CRI-O (runtime-facts.md
# "OCI bundle / config.json locations").
_BUNDLE_KEYS = {
    "containerd": (
        "io.kubernetes.cri.container-type",
        "io.kubernetes.cri.sandbox-name",
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.cri.sandbox-uid",
        "io.kubernetes.cri.container-name",
        "io.kubernetes.cri.image-name",
    ),
    "crio": (
        "io.kubernetes.cri-o.ContainerType",
        "io.kubernetes.pod.name",
        "io.kubernetes.pod.namespace",
        "io.kubernetes.pod.uid",
        "io.kubernetes.container.name",
        "io.kubernetes.cri-o.ImageName",
    ),
}


def conmon_meta(cmdline: Sequence[str], cid: str) -> ContainerMeta | None:
    """Names from conmon's ``-n k8s_<container>_<pod>_<ns>_<uid>_<attempt>`` (CRI-O), or
    the container's own name for one podman runs (``-n NAME``, no pod)."""
    from inspect8s.collect.discover import conmon_option

    names = conmon_option(cmdline[1:], ("-n", "--name"))
    if not names or not names[-1]:
        return None
    parsed = parse_k8s_name(names[-1])
    if parsed is None:
        return ContainerMeta(
            id=cid, runtime="podman", name=names[-1], pod_name=None, pod_namespace=None,
            pod_uid=None, is_sandbox=False, image=None, state=None, source="host:conmon -n",
        )  # fmt: skip
    container, pod, namespace, uid = parsed
    is_sandbox = container in ("", "POD")
    return ContainerMeta(
        id=cid,
        runtime="crio",
        name=None if is_sandbox else container,
        pod_name=pod,
        pod_namespace=namespace,
        pod_uid=uid,
        is_sandbox=is_sandbox,
        image=None,
        state=None,
        source="host:conmon -n",
    )


def bundle_dirs(fs: HostFS, cid: str, shim: Shim | None) -> list[str]:
    """Where the OCI bundle of ``cid`` may be: next to the shim's working directory (the
    shim runs in its sandbox's bundle), then the default containerd and CRI-O paths."""
    ns = (shim.namespace if shim else None) or "k8s.io"
    dirs: list[str] = []
    if shim is not None and shim.kind != "conmon":
        try:
            cwd = fs.readlink(f"/proc/{shim.pid}/cwd")
        except ProbeFailed:
            cwd = ""
        if cwd.startswith("/") and "/" in cwd.rstrip("/"):
            dirs.append(f"{cwd.rstrip('/').rsplit('/', 1)[0]}/{cid}")
    dirs += [
        f"/run/containerd/io.containerd.runtime.v2.task/{ns}/{cid}",
        f"/run/containers/storage/overlay-containers/{cid}/userdata",
    ]
    return dirs


def bundle_meta(fs: HostFS, cid: str, shim: Shim | None, errors: Errors) -> ContainerMeta | None:
    """Pod and container names from the OCI bundle's annotations, when no runtime answered."""
    for d in bundle_dirs(fs, cid, shim):
        path = f"{d}/config.json"
        if not fs.is_file(path):
            continue
        try:
            text = fs.read_text(path)
        except ProbeFailed as exc:
            errors.add(exc)
            return None
        try:
            annotations = json.loads(text).get("annotations") or {}
        except (ValueError, AttributeError):
            errors.add(ProbeFailed(ErrorKind.MALFORMED, f"host:{path}", "not a JSON object"))
            return None
        for runtime, keys in _BUNDLE_KEYS.items():
            kind, pod, namespace, uid, name, image = (annotations.get(k) for k in keys)
            if kind is None:
                continue
            is_sandbox = kind == "sandbox"
            return ContainerMeta(
                id=cid,
                runtime=runtime,
                name=None if is_sandbox else name,
                pod_name=pod,
                pod_namespace=namespace,
                pod_uid=uid,
                is_sandbox=is_sandbox,
                image=image,
                state=None,
                source=f"host:{path}",
            )
    return None
