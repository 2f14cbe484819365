"""The runtime chain of one pod or one process, link by link, each with its source.

kubelet -> CRI endpoint -> runtime daemon -> handler/runtimeType -> shim -> OCI runtime ->
sandbox and container PIDs -> namespaces -> cgroup -> effective limits
(docs/architecture.md "The runtime chain"). Docker containers trace dockerd -> containerd
(namespace ``moby``) -> shim -> runc. Every link may be missing; it then says why.

This module is a collector: it asks the runtime per container (ContainerStatus and
PodSandboxStatus, verbose) and reads OCI state files; failures become ProbeErrors.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from inspect8s.collect.errors import Errors
from inspect8s.collect.inventory import CRIRuntime, Inventory
from inspect8s.collect.join import FLAGGED_NAMESPACES
from inspect8s.collect.node import NodeCollection
from inspect8s.errors import NotFoundError, ProbeFailed, UsageError
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    Container,
    KubeletProcess,
    NodeReport,
    ProcessInfo,
    ProcessOrigin,
    RuntimeDaemon,
)
from inspect8s.model.chain import (
    CgroupLink,
    ContainerdLink,
    ContainerTrace,
    CriEndpointLink,
    DaemonLink,
    DockerdLink,
    HandlerLink,
    KubeletLink,
    LimitsLink,
    Link,
    NamespacesLink,
    OciRuntimeLink,
    ProcessesLink,
    RequestedLink,
    RuntimeChain,
    RuntimeLink,
    ShimLink,
)
from inspect8s.nodeconfig import flags as daemon_flags
from inspect8s.runtime import ocistate
from inspect8s.runtime.convert import ContainerMeta, VerboseInfo, verbose_info

# --------------------------------------------------------------------------- lookup


def pod_key(c: Container) -> tuple[str, ...]:
    """A pod's identity: its UID; without one (no label, no pod cgroup), its namespace and
    name within the daemon that runs it."""
    if c.pod_uid:
        return ("uid", c.pod_uid)
    return ("name", c.pod_namespace or "", c.pod_name or "", str(c.runtime_pid or ""))


def pods_on_node(report: NodeReport) -> dict[tuple[str, ...], list[Container]]:
    """Every pod on the node by identity (:func:`pod_key`), with its containers."""
    pods: dict[tuple[str, ...], list[Container]] = {}
    for c in report.containers:
        if c.pod_name or c.pod_uid:
            pods.setdefault(pod_key(c), []).append(c)
    return pods


def _pod_label(report: NodeReport, members: Sequence[Container]) -> str:
    first = next((c for c in members if c.pod_name), members[0])
    daemon = next((d for d in report.runtimes if d.pid and d.pid == first.runtime_pid), None)
    runtime = f"{daemon.name} PID {daemon.pid}" if daemon else first.runtime
    uid = first.pod_uid or "no UID"
    return f"{first.pod_namespace or '?'}/{first.pod_name or '?'} (UID {uid}, {runtime})"


def find_pod(
    report: NodeReport, name: str, namespace: str | None, *, uid: str | None = None
) -> list[Container]:
    """The containers (sandbox included) of pod ``name``; errors list close matches.

    With ``uid`` (known from the API) the pod is the one with that UID, whatever its name
    says (its cgroup path or labels carry it, so this works with no runtime answering).
    Without it, a name held by several pods (two runtimes, or a StatefulSet pod being
    replaced) means the one in the kubelet's runtime when exactly one is there; otherwise
    every candidate is listed with its UID and runtime, and none is guessed.
    """
    pods = pods_on_node(report)
    if uid:
        found = pods.get(("uid", uid))
        if found:
            return found
        where = f"{namespace}/{name}" if namespace else name
        raise NotFoundError(f"no container of pod {where} (UID {uid}) runs on this node")
    matches = [
        members
        for members in pods.values()
        if any(c.pod_name == name for c in members)
        and (namespace is None or any(c.pod_namespace == namespace for c in members))
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        namespaces = {next((c.pod_namespace for c in m if c.pod_namespace), "") for m in matches}
        kubelet = report.kubelet_runtime
        if len(namespaces) == 1 and kubelet is not None and kubelet.daemon_pid is not None:
            mine = [m for m in matches if any(c.runtime_pid == kubelet.daemon_pid for c in m)]
            if len(mine) == 1:
                return mine[0]
        listed = "; ".join(sorted(_pod_label(report, m) for m in matches))
        if len(namespaces) > 1 and namespace is None:
            raise UsageError(
                f"pod {name!r} exists in several namespaces: {listed}; name the namespace",
                param="namespace",
            )
        raise UsageError(
            f"{len(matches)} pods are named {name!r} here: {listed}; "
            "name the pod's UID to pick one",
            param="uid",
        )
    names = sorted(
        {f"{m[0].pod_namespace or ''}/{m[0].pod_name}" for m in pods.values() if m[0].pod_name}
    )
    close = difflib.get_close_matches(
        name if namespace is None else f"{namespace}/{name}",
        names if namespace is not None else [n.split("/", 1)[1] for n in names],
        n=5,
        cutoff=0.5,
    )
    where = f" in namespace {namespace!r}" if namespace else ""
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    if not pods:
        hint = "; no pod containers were found on this node (is a runtime reachable?)"
    raise NotFoundError(f"no pod {name!r}{where} on this node{hint}")


def same_name_notes(report: NodeReport, members: Sequence[Container]) -> tuple[str, ...]:
    """Other pods on the node with the same namespace/name as the pod of ``members``."""
    first = next((c for c in members if c.pod_name), None)
    if first is None:
        return ()
    key = pod_key(first)
    others = [
        m
        for k, m in pods_on_node(report).items()
        if k != key
        and any(c.pod_name == first.pod_name and c.pod_namespace == first.pod_namespace for c in m)
    ]
    return tuple(
        f"another pod has this namespace/name: {_pod_label(report, m)}"
        for m in sorted(others, key=lambda m: pod_key(m[0]))
    )


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


def _cgroup_line(proc: ProcessInfo) -> str:
    """The cgroup path that says where a process is: on v1 and hybrid hosts a resource
    controller's line (``memory``, ``pids``, ``cpu``...), not ``name=systemd`` or the empty
    v2 line, which CRI-O leaves at ``/`` for conmon (runtime-facts, real-crio-1.28.11)."""
    entries = list(proc.cgroups)
    for wanted in ("memory", "pids", "cpu", "cpuacct"):
        for e in entries:
            if wanted in e.controllers:
                return e.path
    real = [e for e in entries if e.controllers and not any("=" in x for x in e.controllers)]
    if real:
        return real[0].path
    v2 = [e for e in entries if not e.controllers]
    return v2[0].path if v2 else (entries[0].path if entries else "unknown")


def process_origin(
    collection: NodeCollection, fs: HostFS, pid: int
) -> tuple[ProcessOrigin, Container | None]:
    """What host process (or thread) ``pid`` is, and the container whose pod's chain tells
    its story: its own, the one it monitors (a shim or conmon), or None."""
    tgid, container = container_of_pid(collection, fs, pid)
    report = collection.report
    proc = collection.processes[tgid]
    cgroup = _cgroup_line(proc)

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
        )

    if container is not None:
        pod = _pod_label(report, [container]) if container.pod_name or container.pod_uid else None
        if container.is_sandbox:
            text = f"the sandbox (pause process) of pod {pod}" if pod else "a sandbox"
            return origin("sandbox", text, container), container
        name = container.name or "?"
        text = f"in container {name} {container.id[:13]} ({container.runtime})"
        return origin("container", text + (f" of pod {pod}" if pod else ""), container), container
    shim = next((s for s in report.shims if s.pid == tgid), None)
    if shim is not None:
        monitored = [c for c in report.containers if c.id in (shim.id, *shim.container_ids)]
        target = next(
            (c for c in monitored if c.id == shim.id), monitored[0] if monitored else None
        )
        if target is not None:
            if target.is_sandbox or (shim.kind != "conmon" and len(monitored) > 1):
                what = f"pod {_pod_label(report, [target])}"
            else:
                what = f"container {target.name or '?'} {target.id[:13]}"
                if target.pod_name:
                    what += f" of pod {_pod_label(report, [target])}"
            text = f"the monitor ({shim.kind}) of {what}"
        else:
            text = f"a monitor ({shim.kind}) of {shim.id or 'an unknown container'}"
        return origin("monitor", text, target), target
    daemon = next((d for d in report.runtimes if d.pid == tgid), None)
    if daemon is not None:
        socks = ", ".join(daemon.sockets) or "no socket found"
        return origin("runtime", f"the {daemon.name} daemon ({socks})", None), None
    if report.kubelet is not None and report.kubelet.pid == tgid:
        return origin("kubelet", "the kubelet", None), None
    return origin("host", f"in no container; its cgroup is {cgroup}", None), None


# --------------------------------------------------------------------------- node links


def kubelet_links(report: NodeReport, c: Container | None) -> list[Link]:
    """The kubelet link and its CRI endpoint link (who set it), and whether the container
    ``c`` runs in the runtime behind that endpoint."""
    kubelet: KubeletProcess | None = report.kubelet
    runtime = report.kubelet_runtime
    links: list[Link] = []
    version = report.kubelet_version
    if kubelet is None:
        links.append(
            KubeletLink(
                version=version.version if version else None,
                version_source=version.source if version else None,
                source=version.source if version else None,
                missing="no kubelet process on this node (or not visible)"
                + ("; its unit and configuration files were read" if runtime else ""),
            )
        )
    else:
        links.append(
            KubeletLink(
                pid=kubelet.pid,
                version=version.version if version else kubelet.version,
                version_source=version.source if version else None,
                cmdline=kubelet.cmdline,
                source=f"host:/proc/{kubelet.pid}/cmdline",
            )
        )
    if runtime is None:
        links.append(CriEndpointLink(missing="no kubelet configuration names an endpoint"))
        return links
    runs_here = None
    if c is not None:
        runs_here = (c.runtime_pid is not None and c.runtime_pid == runtime.daemon_pid) or (
            c.endpoint is not None and c.endpoint == runtime.socket
        )
    links.append(
        CriEndpointLink(
            endpoint=runtime.endpoint,
            set_by=runtime.set_by,
            socket=runtime.socket,
            daemon_pid=runtime.daemon_pid,
            runtime=runtime.runtime,
            container_runs_here=runs_here,
            source=runtime.source,
            missing=runtime.problem,
        )
    )
    return links


def runtime_link(
    collection: NodeCollection, c: Container | None, name: str, api_version: str | None
) -> Link:
    """The daemon that runs ``c``: the one listening on the socket that listed it, else the
    one its shim belongs to; never "a daemon of that name"."""
    report = collection.report
    daemon = collection.daemon(c.runtime_pid) if c is not None else None
    kubelet = report.kubelet_runtime
    found_by = ""
    if (daemon is None or daemon.name != name) and name == "cri-dockerd" and kubelet:
        # No runtime listed the container (host files alone): cri-dockerd is the daemon
        # behind the kubelet's endpoint.
        daemon = collection.daemon(kubelet.daemon_pid)
        found_by = "listens on the kubelet's endpoint"
    if daemon is None:
        why = f"no {name} daemon process found serving this container"
        if c is not None and c.endpoint:
            why = f"no daemon process found listening on {c.endpoint}"
        return RuntimeLink(daemon=name, missing=why)
    socket = collection.socket(c.endpoint) if c is not None else None
    if found_by:
        pass
    elif socket is not None:
        found_by = f"listens on {socket.path}, which listed the container"
    else:
        found_by = "its shim's -address names its socket"
    return RuntimeLink(
        daemon=daemon.name,
        pid=daemon.pid,
        version=daemon.version,
        version_source=daemon.version_source,
        config_file=daemon.config_file,
        config_source=daemon.config_source,
        cri_api_version=api_version,
        sockets=daemon.sockets,
        found_by=found_by,
        kubelet_runtime=bool(kubelet and kubelet.daemon_pid == daemon.pid),
        source=daemon.version_source
        or (f"host:/proc/{daemon.pid}/cmdline" if daemon.pid else None),
    )


# --------------------------------------------------------------------------- container links


def _ns_links(c: Container, report: NodeReport, sandbox: Container | None) -> NamespacesLink:
    if not c.namespaces:
        return NamespacesLink(missing="namespace links unreadable or no process")
    shared_sandbox = []
    if sandbox is not None and sandbox is not c:
        shared_sandbox = [
            t for t in FLAGGED_NAMESPACES if sandbox.namespaces.get(t) == c.namespaces.get(t)
        ]
    return NamespacesLink(
        inodes=dict(sorted(c.namespaces.items())),
        shared_with_host=c.host_namespaces,
        shared_with_sandbox=tuple(shared_sandbox),
        host_reference=report.host_reference.reason,
        source=f"host:/proc/{c.init_pid}/ns",
    )


def _cgroup_links(c: Container) -> list[Link]:
    return [
        CgroupLink(
            path=c.cgroup_path,
            driver=c.cgroup_driver,
            qos=c.qos.value if c.qos else None,
            source=f"host:/proc/{c.init_pid}/cgroup",
        ),
        LimitsLink(limits=c.limits, source="host:cgroup files of the container's cgroup"),
    ]


def _oci_link(
    fs: HostFS,
    c: Container,
    namespace: str | None,
    binary_name: str,
    roots: Sequence[str],
    errors: Errors,
    timeout: float,
) -> OciRuntimeLink:
    path = ocistate.find_binary(fs, binary_name)
    version: str | None = None
    sources: list[str] = []
    if path:
        version, vsource = ocistate.binary_version(fs, path, timeout)
        sources.append(vsource)
    binary = path or binary_name
    try:
        state = ocistate.find_state(fs, c.id, namespace, roots)
    except ProbeFailed as exc:
        errors.add(exc)
        return OciRuntimeLink(binary=binary, version=version, source="; ".join(sources) or None)
    sources.insert(0, f"{state.runtime} state:{state.state_path}")
    return OciRuntimeLink(
        binary=binary,
        version=version,
        state_file=state.state_path,
        state_init_pid=state.init_pid,
        bundle=state.bundle,
        state_cgroup_path=state.cgroup_path,
        state_namespaces=dict(state.namespaces),
        source="; ".join(sources),
    )


def _shim_link(report: NodeReport, c: Container, sandbox: Container | None) -> ShimLink:
    if c.shim_pid is None:
        return ShimLink(missing="the container's parent process is not a shim")
    shim = next((s for s in report.shims if s.pid == c.shim_pid), None)
    return ShimLink(
        pid=c.shim_pid,
        binary=shim.kind if shim else None,
        namespace=shim.namespace if shim else None,
        started_for=shim.id if shim else None,
        parent_of_container=True,
        parent_of_sandbox=(
            sandbox.shim_pid == c.shim_pid if sandbox is not None and sandbox is not c else None
        ),
        daemon_pid=shim.daemon_pid if shim else None,
        address=shim.address if shim else None,
        source=f"host:/proc/{c.init_pid}/stat (ppid)",
    )


def _status_call(c: Container) -> str:
    """The verbose CRI call that speaks for ``c``."""
    return "cri:PodSandboxStatus(verbose)" if c.is_sandbox else "cri:ContainerStatus(verbose)"


class CRISession:
    """The verbose statuses a trace reads, through the command's runtime inventory: each
    sandbox's and container's status is asked once however many links need it, and a
    failure lands in the trace's own errors."""

    def __init__(self, collection: NodeCollection, errors: Errors) -> None:
        self._collection = collection
        self._errors = errors
        if collection.inventory is None:  # a collection made by hand: open one now
            fs = collection.views._fs if collection.views else HostFS("/")
            collection.inventory = Inventory(fs, errors=errors)
        self._inventory = collection.inventory

    def runtime(self, ident: str | None) -> CRIRuntime | None:
        socket = self._collection.socket(ident)
        return self._inventory.cri(socket) if socket is not None else None

    def api_version(self, ident: str | None) -> str | None:
        cri = self.runtime(ident)
        return self._errors.attempt(cri.api_version) if cri is not None else None

    def sandbox_info(self, ident: str, sandbox_id: str, runtime: str) -> VerboseInfo | None:
        """The sandbox's verbose status; None when the call failed (recorded in errors)."""
        cri = self.runtime(ident)
        if cri is None:
            return None
        status = self._errors.attempt(lambda: cri.pod_sandbox_status(sandbox_id))
        return (
            None if status is None else self._errors.attempt(lambda: verbose_info(status, runtime))
        )

    def container_info(self, ident: str, container_id: str, runtime: str) -> VerboseInfo | None:
        cri = self.runtime(ident)
        if cri is None:
            return None
        status = self._errors.attempt(lambda: cri.container_status(container_id))
        return (
            None if status is None else self._errors.attempt(lambda: verbose_info(status, runtime))
        )

    def info_for(self, c: Container, meta: ContainerMeta | None) -> VerboseInfo | None:
        """``c``'s own verbose status from the runtime that listed it (PodSandboxStatus for
        a sandbox); None when no runtime listed it or the call failed."""
        if meta is None or not meta.endpoint:
            return None
        if c.is_sandbox:
            return self.sandbox_info(meta.endpoint, c.id, meta.runtime)
        return self.container_info(meta.endpoint, c.id, meta.runtime)


def _handler_link(
    c: Container,
    meta: ContainerMeta | None,
    info: VerboseInfo | None,
    sandbox_info: VerboseInfo | None,
) -> tuple[HandlerLink, dict[str, Any]]:
    said = [v for v in (info, sandbox_info) if v is not None and v.shape != "none"]
    runtime_options = next((v.runtime_options for v in said if v.runtime_options), {})
    runtime_type = next((v.runtime_type for v in said if v.runtime_type), None)
    if not said:
        missing = (
            "no runtime answered for this container"
            if meta is None or not meta.endpoint
            else "the runtime gave no verbose status (see errors)"
        )
        return HandlerLink(missing=missing), {}
    handler_from = sandbox_info if sandbox_info is not None else info
    sources = [_status_call(c)]
    if handler_from is not None and handler_from.handler_source:
        sources.append(handler_from.handler_source)
    link = HandlerLink(
        runtime_handler=(handler_from.runtime_handler if handler_from else None) or "",
        runtime_type=runtime_type,
        runtime_options=runtime_options,
        snapshotter=info.snapshotter if info else None,
        status_shape=said[0].shape,
        source="; ".join(sources),
    )
    return link, runtime_options


def _configured_runc_root(collection: NodeCollection, c: Container) -> str | None:
    """containerd's ``runtimes.<default>.options.Root`` in the config of the daemon that
    runs ``c`` (containerd's CRI passes it to the runc shim); None: not set."""
    config = collection.daemon_configs.get(c.runtime_pid) if c.runtime_pid else None
    runtimes = getattr(config, "runtimes", None)
    if not isinstance(runtimes, dict):
        return None
    default = getattr(config, "default_runtime_name", None)
    name = str(default.value) if default is not None else "runc"
    spec = runtimes.get(name)
    value = spec.options.get("Root") if spec is not None else None
    return str(value.value) if value is not None and value.value else None


def trace_cri_container(
    collection: NodeCollection,
    c: Container,
    meta: ContainerMeta | None,
    sandbox: Container | None,
    cri: CRISession,
    errors: Errors,
    timeout: float,
) -> ContainerTrace:
    report = collection.report
    processes = collection.processes
    info = cri.info_for(c, meta)
    sandbox_info = info if c.is_sandbox else None
    if sandbox is not None and not c.is_sandbox and meta is not None and meta.endpoint:
        sandbox_info = cri.sandbox_info(meta.endpoint, sandbox.id, meta.runtime)
    handler, runtime_options = _handler_link(c, meta, info, sandbox_info)
    links: list[Link] = [handler, _shim_link(report, c, sandbox)]
    binary = str(runtime_options.get("binary_name") or runtime_options.get("BinaryName") or "")
    root = str(runtime_options.get("root") or runtime_options.get("Root") or "")
    root = root or (_configured_runc_root(collection, c) or "")
    ns = "k8s.io"
    shim = next((s for s in report.shims if s.pid == c.shim_pid), None)
    if shim and shim.namespace:
        ns = shim.namespace
    # The runc.v2 shim runs runc with --root <options.Root or /run/containerd/runc>/<ns>.
    roots = [f"{root.rstrip('/')}/{ns}"] if root else []
    if shim is not None and shim.kind == "conmon":
        # conmon is told which OCI runtime to run (-r PATH) and that runtime's flags
        # (--runtime-arg --root=DIR); CRI-O's verbose status does not name the binary.
        argv = processes[shim.pid].cmdline[1:] if shim.pid in processes else ()
        binary = binary or (daemon_flags.last_flag(argv, ("-r", "--runtime")) or "")
        for arg in daemon_flags.flag_values(argv, ("--runtime-arg",)):
            if arg.startswith("--root="):
                roots.append(arg.split("=", 1)[1])
    fs = _runtime_fs(collection, c)
    links.append(_oci_link(fs, c, ns, binary or "runc", roots, errors, timeout))
    pid_from_runtime = info.pid if info else None
    links.append(
        ProcessesLink(
            sandbox_pid=sandbox.init_pid if sandbox else None,
            init_pid=c.init_pid,
            runtime_reported_pid=pid_from_runtime,
            pids=c.pids,
            source=f"{_status_call(c)}.info.pid; host:/proc"
            if pid_from_runtime is not None
            else "host:/proc",
        )
    )
    links.append(_ns_links(c, report, sandbox))
    links.extend(_cgroup_links(c))
    resources = info.resources if info else {}
    if resources:
        links.append(_requested_link(c, resources, info.privileged if info else None))
    return _container_trace(c, links)


def _requested_link(
    c: Container, resources: dict[str, Any], privileged: bool | None
) -> RequestedLink:
    """What the runtime's OCI spec asks of the kernel (``linux.resources``)."""

    def number(section: str, key: str) -> int | None:
        value = (resources.get(section) or {}).get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return RequestedLink(
        memory_limit_bytes=number("memory", "limit"),
        cpu_quota=number("cpu", "quota"),
        cpu_period=number("cpu", "period"),
        cpu_shares=number("cpu", "shares"),
        pids_limit=number("pids", "limit"),
        privileged=privileged,
        source=f"{_status_call(c)}.info.runtimeSpec.linux.resources",
    )


def _container_trace(c: Container, links: Sequence[Link]) -> ContainerTrace:
    return ContainerTrace(
        container_id=c.id,
        name=c.name if not c.is_sandbox else "(sandbox)",
        pod_name=c.pod_name,
        pod_namespace=c.pod_namespace,
        links=tuple(links),
    )


def _runtime_fs(collection: NodeCollection, c: Container) -> HostFS:
    """Where the runtime of ``c`` keeps its files: its daemon's own view (a daemon in a
    private mount namespace keeps its runc state there), else the root."""
    views = collection.views
    if views is None:
        return HostFS("/")
    return views.fs_of(c.runtime_pid)


def _dockerd_of(collection: NodeCollection, c: Container) -> RuntimeDaemon | None:
    """The dockerd behind a Docker container: the one whose socket listed it, else the one
    behind the socket cri-dockerd's ``--docker-endpoint`` names, else the only dockerd."""
    report = collection.report
    daemon = collection.daemon(c.runtime_pid)
    if daemon is not None and daemon.name == "dockerd":
        return daemon
    if daemon is not None and daemon.name == "cri-dockerd":
        named = f"cri-dockerd (PID {daemon.pid}) --docker-endpoint"
        for s in report.sockets:
            if named in s.named_by and s.daemon_pid is not None:
                return collection.daemon(s.daemon_pid)
    dockerds = [d for d in report.runtimes if d.name == "dockerd"]
    return dockerds[0] if len(dockerds) == 1 else None


def moby_links(
    collection: NodeCollection, c: Container, engine: type[DaemonLink] = RuntimeLink
) -> list[Link]:
    """dockerd and the containerd it drives (namespace ``moby``): the containerd the
    container's shim belongs to (its ``-address``), else the one behind the socket
    dockerd's ``--containerd`` names."""
    report = collection.report
    dockerd = _dockerd_of(collection, c)
    links: list[Link] = [_daemon_link(engine, dockerd, "dockerd", "the Docker Engine that runs it")]
    shim = next((s for s in report.shims if s.pid == c.shim_pid), None)
    containerd = collection.daemon(shim.daemon_pid) if shim is not None else None
    how = "the container's shim -address names its socket"
    wanted = daemon_flags.flag_values(dockerd.cmdline[1:], ("--containerd",)) if dockerd else []
    if containerd is None and dockerd is not None:
        named = f"dockerd (PID {dockerd.pid}) --containerd"
        for s in report.sockets:
            if named in s.named_by and s.daemon_pid is not None:
                containerd = collection.daemon(s.daemon_pid)
                how = "dockerd's --containerd names its socket"
    link = _daemon_link(ContainerdLink, containerd, "containerd", how)
    links.append(replace(link, socket_from_dockerd=wanted[-1] if wanted else None))
    return links


D = TypeVar("D", bound=DaemonLink)


def _daemon_link(kind: type[D], daemon: RuntimeDaemon | None, what: str, found_by: str) -> D:
    if daemon is None:
        return kind(daemon=what, missing=f"no {what} daemon process found")
    return kind(
        daemon=daemon.name,
        pid=daemon.pid,
        version=daemon.version,
        version_source=daemon.version_source,
        config_file=daemon.config_file,
        config_source=daemon.config_source,
        sockets=daemon.sockets,
        found_by=found_by,
        source=daemon.version_source
        or (f"host:/proc/{daemon.pid}/cmdline" if daemon.pid else None),
    )


def trace_docker_container(
    collection: NodeCollection,
    c: Container,
    errors: Errors,
    timeout: float,
    *,
    daemons: bool = True,
    info: VerboseInfo | None = None,
    sandbox: Container | None = None,
) -> ContainerTrace:
    """One Docker container: dockerd -> containerd (moby) -> shim -> runc -> processes.
    ``daemons=False`` leaves the dockerd and containerd links to the pod's node links
    (the cri-dockerd chain); ``info`` is cri-dockerd's verbose ContainerStatus."""
    report = collection.report
    links: list[Link] = moby_links(collection, c) if daemons else []
    dockerd = _dockerd_of(collection, c)
    links.append(_shim_link(report, c, sandbox))
    roots: list[str] = []
    if dockerd is not None:
        for exec_root in daemon_flags.flag_values(dockerd.cmdline[1:], ("--exec-root",)):
            roots.append(f"{exec_root.rstrip('/')}/runtime-runc/moby")
    fs = (
        collection.views.fs_of(dockerd.pid)
        if collection.views and dockerd
        else _runtime_fs(collection, c)
    )
    links.append(_oci_link(fs, c, "moby", "runc", roots, errors, timeout))
    reported = info.pid if info is not None else None
    links.append(
        ProcessesLink(
            init_pid=c.init_pid,
            sandbox_pid=sandbox.init_pid if sandbox is not None else None,
            runtime_reported_pid=reported,
            pids=c.pids,
            source=f"{_status_call(c)}.info.pid; host:/proc"
            if reported is not None
            else "host:/proc",
        )
    )
    links.append(_ns_links(c, report, sandbox))
    links.extend(_cgroup_links(c))
    return _container_trace(c, links)


def _uses_cri_dockerd(report: NodeReport, meta: ContainerMeta | None) -> bool:
    """The kubelet reaches Docker through cri-dockerd: the container was listed by
    cri-dockerd, or (no runtime answered) the kubelet's endpoint is cri-dockerd's socket."""
    if meta is not None:
        return meta.runtime == "cri-dockerd"
    runtime = report.kubelet_runtime
    if runtime is not None and runtime.runtime == "cri-dockerd":
        return True
    return bool(runtime and "cri-dockerd" in runtime.endpoint)


# --------------------------------------------------------------------------- chains


def _cri_node_links(
    collection: NodeCollection,
    c: Container,
    meta: ContainerMeta | None,
    runtime: str,
    cri: CRISession,
) -> list[Link]:
    links = kubelet_links(collection.report, c)
    api_version = cri.api_version(meta.endpoint) if meta and meta.endpoint else None
    name = meta.runtime if meta else runtime
    links.append(runtime_link(collection, c, name, api_version))
    return links


def trace_pod(
    fs: HostFS,
    collection: NodeCollection,
    containers: Sequence[Container],
    *,
    timeout: float = 3.0,
    pod_name: str | None = None,
    pod_namespace: str | None = None,
    clients: object = None,
) -> RuntimeChain:
    """The chain of one pod from its containers on this node (``pod_name`` names it when
    the containers themselves carry no name, e.g. found by UID). Runtime calls go through
    the collection's inventory (each question asked once per command); ``fs`` and
    ``clients`` are kept for callers of the earlier signature."""
    del fs, clients
    errors = Errors()
    report = collection.report
    sandbox = next((c for c in containers if c.is_sandbox), None)
    first = sandbox or containers[0]
    meta = collection.metadata.get(first.id)
    cri = CRISession(collection, errors)
    sandbox_trace: ContainerTrace | None
    if first.runtime in ("docker", "cri-dockerd") and _uses_cri_dockerd(report, meta):
        # kubelet -> cri-dockerd -> dockerd -> containerd (moby) -> shim -> runc
        node_links = _cri_node_links(collection, first, meta, "cri-dockerd", cri)
        node_links += moby_links(collection, first, DockerdLink)

        def one(c: Container) -> ContainerTrace:
            info = cri.info_for(c, collection.metadata.get(c.id))
            return trace_docker_container(
                collection, c, errors, timeout, daemons=False, info=info, sandbox=sandbox
            )

        sandbox_trace = one(sandbox) if sandbox else None
        traces = [one(c) for c in containers if not c.is_sandbox]
    elif first.runtime == "docker" and (meta is None or meta.runtime == "docker"):
        node_links = kubelet_links(report, first)
        traces = [trace_docker_container(collection, c, errors, timeout) for c in containers]
        sandbox_trace = None
    else:
        node_links = _cri_node_links(collection, first, meta, first.runtime, cri)
        sandbox_trace = (
            trace_cri_container(collection, sandbox, meta, sandbox, cri, errors, timeout)
            if sandbox
            else None
        )
        traces = [
            trace_cri_container(
                collection, c, collection.metadata.get(c.id), sandbox, cri, errors, timeout
            )
            for c in containers
            if not c.is_sandbox
        ]
    return RuntimeChain(
        pod_name=first.pod_name or pod_name,
        pod_namespace=first.pod_namespace or pod_namespace,
        pod_uid=first.pod_uid,
        node_links=tuple(node_links),
        sandbox=sandbox_trace,
        containers=tuple(traces),
        errors=tuple(errors.items),
        notes=same_name_notes(report, containers),
    )


def pod_containers(collection: NodeCollection, c: Container) -> list[Container]:
    """All containers of ``c``'s pod (``[c]`` when it belongs to no pod): by pod UID, and
    only by namespace/name within the same runtime when no UID is known."""
    if c.pod_uid is None and c.pod_name is None:
        return [c]
    return [
        x
        for x in collection.report.containers
        if (c.pod_uid and x.pod_uid == c.pod_uid)
        or (
            not c.pod_uid
            and x.pod_name == c.pod_name
            and x.pod_namespace == c.pod_namespace
            and x.runtime_pid == c.runtime_pid
        )
    ]
