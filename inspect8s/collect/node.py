"""Join host truth, runtime answers and API views into models; the only catch site.

Sources raise ``ProbeFailed``; here each failure becomes a ``ProbeError`` in the report,
and the rest of the report is still built.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from inspect8s.collect.errors import Errors
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host import cgroups, containertruth, scan
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    CgroupLimits,
    Container,
    ContainerIdentity,
    NamespaceReference,
    NodeInfo,
    NodeReport,
    ProcessInfo,
    RuntimeDaemon,
    Shim,
    SocketInfo,
)
from inspect8s.runtime import detect
from inspect8s.runtime.clients import LIVE, RuntimeClients
from inspect8s.runtime.convert import ContainerMeta, cri_index, docker_index, parse_k8s_name

T = TypeVar("T")

# The namespaces a pod spec can share with the host (hostNetwork also shares UTS; hostPID,
# hostIPC); mnt is listed because sharing it means seeing the host's whole filesystem.
# user, cgroup and time are kept in the inodes but not flagged: every pod shares them with
# the host unless hostUsers: false or (cgroup) the runtime unshares it on cgroup v2.
FLAGGED_NAMESPACES: tuple[str, ...] = ("ipc", "mnt", "net", "pid", "uts")


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Where to find runtimes beyond the default socket paths, and how long to wait."""

    cri_endpoints: tuple[str, ...] = ()  # extra CRI sockets (unix:// or path)
    docker_hosts: tuple[str, ...] = ()  # extra Docker Engine sockets
    timeout: float = 3.0
    query_runtimes: bool = True  # False: host files only (fixture trees, --no-runtime)
    clients: RuntimeClients | None = None  # None: the live sockets (runtime/clients.py)


# --------------------------------------------------------------------------- node facts


def _first_text(fs: HostFS, paths: Sequence[str], errors: Errors) -> str | None:
    """The stripped text of the first of ``paths`` that exists; absence is not an error
    (a replay tree may not hold it), a failure to read one that exists is."""
    for path in paths:
        try:
            text = fs.read_text_or_none(path)
        except ProbeFailed as exc:
            errors.add(exc)
            continue
        if text is not None and text.strip():
            return text.strip()
    return None


def _node_info(fs: HostFS, layout_version: Any, driver: str | None, errors: Errors) -> NodeInfo:
    hostname = _first_text(fs, ("/proc/sys/kernel/hostname", "/etc/hostname"), errors)
    kernel = _first_text(fs, ("/proc/sys/kernel/osrelease",), errors)
    os_release = None
    text = _first_text(fs, ("/etc/os-release", "/usr/lib/os-release"), errors)
    for line in (text or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            os_release = line.split("=", 1)[1].strip().strip('"')
    return NodeInfo(
        hostname=hostname or "unknown",
        kernel=kernel or "unknown",
        os_release=os_release,
        cgroup_version=layout_version,
        cgroup_driver=driver,
        root=fs.root,
    )


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


# --------------------------------------------------------------------------- runtimes


@dataclass
class RuntimeAnswers:
    daemons: list[RuntimeDaemon]
    metadata: dict[str, ContainerMeta]


def query_runtimes(
    fs: HostFS,
    daemons: list[RuntimeDaemon],
    sockets: Sequence[SocketInfo],
    options: RuntimeOptions,
    errors: Errors,
) -> RuntimeAnswers:
    """Ask each reachable runtime for its version and container list (a few calls per
    runtime, none per container)."""
    metadata: dict[str, ContainerMeta] = {}
    versions: dict[str, tuple[str, str]] = {}  # daemon name -> (version, source)
    relayed: tuple[str, str] | None = None  # dockerd's version as cri-dockerd relays it
    if not options.query_runtimes:
        return RuntimeAnswers(daemons=daemons, metadata=metadata)

    cri_paths = [p for p in map(detect.strip_unix, options.cri_endpoints) if p.startswith("/")]
    docker_paths = [p for p in map(detect.strip_unix, options.docker_hosts) if p.startswith("/")]
    for s in sockets:
        if s.kind != "socket":
            continue
        if s.runtime in ("containerd", "crio", "cri-dockerd", "dockershim"):
            cri_paths.append(s.path)
        elif s.runtime == "dockerd":
            docker_paths.append(s.path)
    for d in daemons:
        for sock in d.sockets:
            if d.name == "dockerd":
                docker_paths.append(sock)
            elif d.name in ("containerd", "crio", "cri-dockerd"):
                cri_paths.append(sock)

    from inspect8s.runtime.convert import runtime_name_from_cri_version

    for path in dict.fromkeys(cri_paths):
        if fs.socket_kind(path) != "socket":
            continue
        with (options.clients or LIVE).cri(fs, path, options.timeout) as client:
            version = errors.attempt(client.version)
            if version is None:
                continue
            runtime = runtime_name_from_cri_version(version)
            said = str(version.get("runtimeVersion", ""))
            if runtime == "cri-dockerd":
                # cri-dockerd answers Version with the Docker Engine's name and version
                # (runtimeName "docker"); its own version is not in the answer. Used for
                # dockerd only when the Engine itself does not answer (below).
                relayed = relayed or (said, "cri:Version (from cri-dockerd)")
            else:
                versions.setdefault(runtime, (said, "cri:Version"))
            sandboxes = (errors.attempt(client.list_pod_sandboxes) or {}).get("items", [])
            ctrs = (errors.attempt(client.list_containers) or {}).get("containers", [])
            index = errors.attempt(functools.partial(cri_index, runtime, sandboxes, ctrs)) or {}
            for cid, meta in index.items():
                metadata.setdefault(cid, dataclasses.replace(meta, endpoint=path))

    for path in dict.fromkeys(docker_paths):
        if fs.socket_kind(path) != "socket":
            continue
        with (options.clients or LIVE).docker(fs, path, options.timeout) as engine:
            info = errors.attempt(engine.version)
            if info is None:
                continue
            versions.setdefault("dockerd", (str(info.get("Version", "")), "docker:/version"))
            listed = errors.attempt(engine.containers) or []
            for cid, meta in (
                errors.attempt(functools.partial(docker_index, listed)) or {}
            ).items():
                metadata.setdefault(cid, dataclasses.replace(meta, endpoint=path))

    if relayed is not None:
        versions.setdefault("dockerd", relayed)
    updated = []
    for d in daemons:
        found = versions.get(d.name)
        if found:
            d = _replace_daemon(d, version=found[0], version_source=found[1])
        updated.append(d)
    # Runtimes that answered on a socket but whose process was not seen (another PID ns).
    seen = {d.name for d in updated}
    for name, (ver, src) in versions.items():
        if name not in seen:
            updated.append(RuntimeDaemon(name=name, pid=None, version=ver, version_source=src))
    return RuntimeAnswers(daemons=updated, metadata=metadata)


def _replace_daemon(d: RuntimeDaemon, **changes: Any) -> RuntimeDaemon:
    return dataclasses.replace(d, **changes)


# --------------------------------------------------------------------------- node report


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


@dataclass
class NodeCollection:
    """A node report plus what it was built from, for commands that go further (trace)."""

    report: NodeReport
    processes: Mapping[int, ProcessInfo]
    metadata: dict[str, ContainerMeta]
    layout: cgroups.CgroupLayout | None
    scan: scan.HostScan | None = None  # the /proc pass (mount tables of container mnt ns)


def collect_node(
    fs: HostFS,
    options: RuntimeOptions | None = None,
    *,
    self_pid: int | None = None,
) -> NodeReport:
    """The whole node picture from one pass over /proc plus a few runtime calls."""
    return gather_node(fs, options, self_pid=self_pid).report


def gather_node(
    fs: HostFS,
    options: RuntimeOptions | None = None,
    *,
    self_pid: int | None = None,
    read_mounts: bool = False,
) -> NodeCollection:
    """:func:`collect_node`, keeping the process table and runtime metadata.

    ``read_mounts`` also reads the mount table of every container's mount namespace (once
    per namespace) into ``scan.mountinfo_by_mnt_ns``: checks need it, views do not."""
    options = options or RuntimeOptions()
    errors = Errors()
    not_found: list[str] = []

    layout = errors.attempt(lambda: cgroups.read_layout(fs))
    host = scan.scan_host(
        fs,
        mountinfo="containers" if read_mounts else "none",
        cgroups="auto" if layout is not None else "proc",
        layout=layout,
    )
    for failure in host.failures:
        errors.add(failure)
    processes = host.processes

    daemons = detect.find_daemons(processes)
    extra = [(detect.strip_unix(e), "cri") for e in options.cri_endpoints]
    extra += [(detect.strip_unix(e), "dockerd") for e in options.docker_hosts]
    sockets = detect.find_sockets(fs, extra)
    shims = detect.find_shims(processes)
    kubelet = detect.find_kubelet(processes)

    answers = query_runtimes(fs, daemons, sockets, options, errors)
    daemons = answers.daemons

    # Group processes by container.
    by_container: dict[str, list[int]] = {}
    idents: dict[str, ContainerIdentity] = {}
    for pid, ident in host.identities.items():
        by_container.setdefault(ident.container_id, []).append(pid)
        idents.setdefault(ident.container_id, ident)
    container_pids = {p for pids in by_container.values() for p in pids}

    if self_pid is None and fs.is_live:
        self_pid = os.getpid()
    reference = host_reference(
        processes, kubelet.pid if kubelet else None, daemons, container_pids, self_pid
    )

    shim_by_pid = {s.pid: s for s in shims}
    shim_containers: dict[int, list[str]] = {}
    containers: list[Container] = []
    drivers: set[str] = set()
    for cid, pids in by_container.items():
        pids.sort()
        ident = idents[cid]
        drivers.add(ident.driver)
        init = _init_pid(pids, processes)
        init_proc = processes.get(init) if init is not None else None
        shim = shim_by_pid.get(init_proc.ppid) if init_proc else None
        if shim is not None:
            shim_containers.setdefault(shim.pid, []).append(cid)
        meta = answers.metadata.get(cid)
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
            )
        )

    # Init-process status and mount tables for the container checks (host/containertruth.py).
    containers = containertruth.with_host_truth(
        containers, processes, host, fs, reference.pid, errors.add, layout
    )
    shims = [
        dataclasses.replace(s, container_ids=tuple(sorted(shim_containers.get(s.pid, ()))))
        for s in shims
    ]
    containers.sort(key=lambda c: (c.pod_namespace or "", c.pod_name or "", c.id))

    if not daemons:
        not_found.append("no container runtime daemon process (containerd, CRI-O, dockerd)")
    if kubelet is None:
        not_found.append("no kubelet process")
    if not sockets:
        not_found.append("no runtime socket at the default paths")
    if not containers:
        not_found.append("no container processes")

    driver = None
    if drivers:
        driver = "/".join(sorted(drivers))
    node = _node_info(fs, layout.version if layout else None, driver, errors)
    report = NodeReport(
        node=node,
        runtimes=tuple(daemons),
        sockets=tuple(sockets),
        shims=tuple(shims),
        kubelet=kubelet,
        host_reference=reference,
        containers=tuple(containers),
        errors=tuple(errors.items),
        not_found=tuple(not_found),
    )
    return NodeCollection(
        report=report, processes=processes, metadata=answers.metadata, layout=layout, scan=host
    )


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
    """Names from conmon's ``-n k8s_<container>_<pod>_<ns>_<uid>_<attempt>`` (CRI-O)."""
    names = detect.flag_values(cmdline[1:], ("-n", "--name"))
    parsed = parse_k8s_name(names[-1]) if names else None
    if parsed is None:
        return None
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
    import json

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
