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
from collections.abc import Mapping, Sequence
from typing import Any

from inspect8s.collect.errors import Errors
from inspect8s.collect.node import FLAGGED_NAMESPACES, NodeCollection
from inspect8s.errors import NotFoundError, ProbeFailed, UsageError
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    Container,
    ContainerTrace,
    KubeletProcess,
    Link,
    NodeReport,
    ProcessInfo,
    RuntimeChain,
    RuntimeDaemon,
)
from inspect8s.model.serialize import to_data
from inspect8s.runtime import detect, ocistate
from inspect8s.runtime.clients import LIVE, CRIAnswers, RuntimeClients
from inspect8s.runtime.convert import ContainerMeta, VerboseInfo, verbose_info

DEFAULT_CRI_ENDPOINT = "unix:///run/containerd/containerd.sock"  # kubelet >= 1.27 default


# --------------------------------------------------------------------------- lookup


def pods_on_node(report: NodeReport) -> dict[tuple[str, str], list[Container]]:
    pods: dict[tuple[str, str], list[Container]] = {}
    for c in report.containers:
        if c.pod_name:
            pods.setdefault((c.pod_namespace or "", c.pod_name), []).append(c)
    return pods


def find_pod(
    report: NodeReport, name: str, namespace: str | None, *, uid: str | None = None
) -> list[Container]:
    """The containers (sandbox included) of pod ``name``; errors list close matches.

    With ``uid`` (known from the API) containers are matched by the pod UID their cgroup
    path or labels carry, which works even when no runtime answers."""
    if uid:
        by_uid = [c for c in report.containers if c.pod_uid == uid]
        if by_uid:
            return by_uid
    pods = pods_on_node(report)
    matches = [k for k in pods if k[1] == name and (namespace is None or k[0] == namespace)]
    if len(matches) == 1:
        return pods[matches[0]]
    if len(matches) > 1:
        listed = ", ".join(f"{ns}/{n}" for ns, n in sorted(matches))
        raise UsageError(f"pod {name!r} exists in several namespaces ({listed}); pass -n")
    names = sorted({f"{ns}/{n}" for ns, n in pods})
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
                tgid = int(line.split()[1])
        if tgid not in processes:
            raise NotFoundError(f"no process with PID {pid} on this node (it may have exited)")
    for c in collection.report.containers:
        if tgid in c.pids:
            return tgid, c
    return tgid, None


# --------------------------------------------------------------------------- node links


def kubelet_links(report: NodeReport, endpoint_used: str | None) -> list[Link]:
    """The kubelet link and the CRI endpoint link (with who set it)."""
    kubelet: KubeletProcess | None = report.kubelet
    links: list[Link] = []
    if kubelet is None:
        links.append(
            Link("kubelet", {}, None, missing="no kubelet process on this node (or not visible)")
        )
        if endpoint_used:
            links.append(
                Link(
                    "cri-endpoint",
                    {"endpoint": endpoint_used, "set_by": "inspect8s (found socket)"},
                    "host:socket",
                )
            )
        return links
    links.append(
        Link(
            "kubelet",
            {"pid": kubelet.pid, "version": kubelet.version, "cmdline": list(kubelet.cmdline)},
            f"host:/proc/{kubelet.pid}/cmdline",
        )
    )
    flag = kubelet.flags.get("--container-runtime-endpoint")
    if flag:
        links.append(
            Link(
                "cri-endpoint",
                {"endpoint": flag, "set_by": "flag --container-runtime-endpoint"},
                f"host:/proc/{kubelet.pid}/cmdline",
            )
        )
    else:
        links.append(
            Link(
                "cri-endpoint",
                {
                    "endpoint": endpoint_used or DEFAULT_CRI_ENDPOINT,
                    "set_by": "config file or default (no flag on the command line)",
                },
                "kubelet default" if endpoint_used is None else "host:socket",
            )
        )
    return links


def runtime_link(daemon: RuntimeDaemon | None, name: str, api_version: str | None) -> Link:
    if daemon is None:
        return Link("runtime", {"name": name}, None, missing=f"no {name} daemon process found")
    return Link(
        "runtime",
        {
            "name": daemon.name,
            "pid": daemon.pid,
            "version": daemon.version,
            "config_file": daemon.config_file,
            "cri_api_version": api_version,
        },
        daemon.version_source or (f"host:/proc/{daemon.pid}/cmdline" if daemon.pid else None),
    )


def _daemon(report: NodeReport, name: str) -> RuntimeDaemon | None:
    for d in report.runtimes:
        if d.name == name:
            return d
    return None


# --------------------------------------------------------------------------- container links


def _ns_links(c: Container, report: NodeReport, sandbox: Container | None) -> Link:
    if not c.namespaces:
        return Link("namespaces", {}, None, missing="namespace links unreadable or no process")
    shared_sandbox = []
    if sandbox is not None and sandbox is not c:
        shared_sandbox = [
            t for t in FLAGGED_NAMESPACES if sandbox.namespaces.get(t) == c.namespaces.get(t)
        ]
    return Link(
        "namespaces",
        {
            "inodes": dict(sorted(c.namespaces.items())),
            "shared_with_host": list(c.host_namespaces),
            "shared_with_sandbox": shared_sandbox,
            "host_reference": report.host_reference.reason,
        },
        f"host:/proc/{c.init_pid}/ns",
    )


def _cgroup_links(c: Container) -> list[Link]:
    return [
        Link(
            "cgroup",
            {
                "path": c.cgroup_path,
                "driver": c.cgroup_driver,
                "qos": c.qos.value if c.qos else None,
            },
            f"host:/proc/{c.init_pid}/cgroup",
        ),
        Link(
            "limits",
            {
                **to_data(c.limits),
                "cpu_limit_millicores": c.limits.cpu_limit_millicores,
            },
            "host:cgroup files of the container's cgroup",
        ),
    ]


def _oci_link(
    fs: HostFS,
    c: Container,
    namespace: str | None,
    binary_name: str,
    roots: Sequence[str],
    errors: Errors,
    timeout: float,
) -> Link:
    path = ocistate.find_binary(fs, binary_name)
    values: dict[str, Any] = {"binary": path or binary_name}
    sources: list[str] = []
    if path:
        version, vsource = ocistate.binary_version(fs, path, timeout)
        values["version"] = version
        sources.append(vsource)
    try:
        state = ocistate.find_state(fs, c.id, namespace, roots)
    except ProbeFailed as exc:
        errors.add(exc)
        values["state"] = None
        return Link("oci-runtime", values, "; ".join(sources) or None)
    values.update(
        {
            "state_file": state.state_path,
            "state_init_pid": state.init_pid,
            "bundle": state.bundle,
            "state_cgroup_path": state.cgroup_path,
            "state_namespaces": state.namespaces,
        }
    )
    sources.insert(0, f"{state.runtime} state:{state.state_path}")
    return Link("oci-runtime", values, "; ".join(sources))


def _shim_link(report: NodeReport, c: Container, sandbox: Container | None) -> Link:
    if c.shim_pid is None:
        return Link("shim", {}, None, missing="the container's parent process is not a shim")
    shim = next((s for s in report.shims if s.pid == c.shim_pid), None)
    values: dict[str, Any] = {
        "pid": c.shim_pid,
        "binary": shim.kind if shim else None,
        "namespace": shim.namespace if shim else None,
        "started_for": shim.id if shim else None,
        "parent_of_container": True,
    }
    if sandbox is not None and sandbox is not c:
        values["parent_of_sandbox"] = sandbox.shim_pid == c.shim_pid
    return Link("shim", values, f"host:/proc/{c.init_pid}/stat (ppid)")


def _status_call(c: Container) -> str:
    """The verbose CRI call that speaks for ``c``."""
    return "cri:PodSandboxStatus(verbose)" if c.is_sandbox else "cri:ContainerStatus(verbose)"


class CRISession:
    """One CRI client per endpoint for a whole trace (live sockets, or a bundle's answers
    through ``clients``), and each sandbox's verbose status asked once however many of its
    containers are traced."""

    def __init__(
        self, fs: HostFS, timeout: float, errors: Errors, clients: RuntimeClients | None = None
    ) -> None:
        self._fs = fs
        self._timeout = timeout
        self._errors = errors
        self._factory: RuntimeClients = clients or LIVE
        self._clients: dict[str, CRIAnswers] = {}
        self._sandboxes: dict[tuple[str, str], VerboseInfo | None] = {}

    def client(self, endpoint: str) -> CRIAnswers:
        if endpoint not in self._clients:
            self._clients[endpoint] = self._factory.cri(self._fs, endpoint, self._timeout)
        return self._clients[endpoint]

    def sandbox_info(self, endpoint: str, sandbox_id: str, runtime: str) -> VerboseInfo | None:
        """The sandbox's verbose status; None when the call failed (recorded in errors)."""
        key = (endpoint, sandbox_id)
        if key not in self._sandboxes:
            client = self.client(endpoint)
            status = self._errors.attempt(lambda: client.pod_sandbox_status(sandbox_id))
            self._sandboxes[key] = (
                None
                if status is None
                else self._errors.attempt(lambda: verbose_info(status, runtime))
            )
        return self._sandboxes[key]

    def container_info(self, endpoint: str, container_id: str, runtime: str) -> VerboseInfo | None:
        client = self.client(endpoint)
        status = self._errors.attempt(lambda: client.container_status(container_id))
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

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def trace_cri_container(
    fs: HostFS,
    report: NodeReport,
    c: Container,
    meta: ContainerMeta | None,
    sandbox: Container | None,
    cri: CRISession,
    errors: Errors,
    timeout: float,
    processes: Mapping[int, ProcessInfo],
) -> ContainerTrace:
    links: list[Link] = []
    info = cri.info_for(c, meta)
    sandbox_info = info if c.is_sandbox else None
    if sandbox is not None and not c.is_sandbox and meta is not None and meta.endpoint:
        sandbox_info = cri.sandbox_info(meta.endpoint, sandbox.id, meta.runtime)
    said = [v for v in (info, sandbox_info) if v is not None and v.shape != "none"]
    runtime_options = next((v.runtime_options for v in said if v.runtime_options), {})
    runtime_type = next((v.runtime_type for v in said if v.runtime_type), None)
    if said:
        handler_from = sandbox_info if sandbox_info is not None else info
        sources = [_status_call(c)]
        if handler_from is not None and handler_from.handler_source:
            sources.append(handler_from.handler_source)
        links.append(
            Link(
                "handler",
                {
                    "runtime_handler": (handler_from.runtime_handler if handler_from else None)
                    or "",
                    "runtime_type": runtime_type,
                    "runtime_options": runtime_options,
                    "snapshotter": info.snapshotter if info else None,
                    "status_shape": said[0].shape,
                },
                "; ".join(sources),
            )
        )
    else:
        links.append(
            Link(
                "handler",
                {},
                None,
                missing="no runtime answered for this container"
                if meta is None or not meta.endpoint
                else "the runtime gave no verbose status (see errors)",
            )
        )
    links.append(_shim_link(report, c, sandbox))
    binary = str(runtime_options.get("binary_name") or runtime_options.get("BinaryName") or "")
    root = str(runtime_options.get("root") or runtime_options.get("Root") or "")
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
        runtimes = detect.flag_values(argv, ("-r", "--runtime"))
        binary = binary or (runtimes[-1] if runtimes else "")
        for arg in detect.flag_values(argv, ("--runtime-arg",)):
            if arg.startswith("--root="):
                roots.append(arg.split("=", 1)[1])
    links.append(_oci_link(fs, c, ns, binary or "runc", roots, errors, timeout))
    pid_from_runtime = info.pid if info else None
    links.append(
        Link(
            "processes",
            {
                "sandbox_pid": sandbox.init_pid if sandbox else None,
                "init_pid": c.init_pid,
                "runtime_reported_pid": pid_from_runtime,
                "pids": list(c.pids),
            },
            f"{_status_call(c)}.info.pid; host:/proc"
            if pid_from_runtime is not None
            else "host:/proc",
        )
    )
    links.append(_ns_links(c, report, sandbox))
    links.extend(_cgroup_links(c))
    resources = info.resources if info else {}
    if resources:
        links.append(
            Link(
                "requested",
                {
                    "memory_limit_bytes": (resources.get("memory") or {}).get("limit"),
                    "cpu_quota": (resources.get("cpu") or {}).get("quota"),
                    "cpu_period": (resources.get("cpu") or {}).get("period"),
                    "cpu_shares": (resources.get("cpu") or {}).get("shares"),
                    "pids_limit": (resources.get("pids") or {}).get("limit"),
                    "privileged": info.privileged if info else None,
                },
                f"{_status_call(c)}.info.runtimeSpec.linux.resources",
            )
        )
    return ContainerTrace(
        container_id=c.id,
        name=c.name if not c.is_sandbox else "(sandbox)",
        pod_name=c.pod_name,
        pod_namespace=c.pod_namespace,
        links=tuple(links),
    )


def moby_links(report: NodeReport) -> list[Link]:
    """dockerd and the containerd it drives (namespace ``moby``): the containerd whose
    socket dockerd's ``--containerd`` names, else the only containerd on the node."""
    dockerd = _daemon(report, "dockerd")
    links = [runtime_link(dockerd, "dockerd", None)]
    candidates = [d for d in report.runtimes if d.name == "containerd"]
    wanted = set(detect.flag_values(dockerd.cmdline[1:], ("--containerd",))) if dockerd else set()
    containerd = next((d for d in candidates if wanted & set(d.sockets)), None)
    if containerd is None and len(candidates) == 1:
        containerd = candidates[0]
    link = runtime_link(containerd, "containerd", None)
    values = {**link.values, "namespace": "moby"}
    if wanted:
        values["socket_from_dockerd"] = sorted(wanted)[0]
    links.append(Link("containerd", values, link.source, link.missing))
    return links


def trace_docker_container(
    fs: HostFS,
    report: NodeReport,
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
    links: list[Link] = moby_links(report) if daemons else []
    dockerd = _daemon(report, "dockerd")
    links.append(_shim_link(report, c, sandbox))
    roots: list[str] = []
    if dockerd is not None:
        for exec_root in detect.flag_values(dockerd.cmdline[1:], ("--exec-root",)):
            roots.append(f"{exec_root.rstrip('/')}/runtime-runc/moby")
    links.append(_oci_link(fs, c, "moby", "runc", roots, errors, timeout))
    values: dict[str, Any] = {"init_pid": c.init_pid, "pids": list(c.pids)}
    source = "host:/proc"
    if sandbox is not None:
        values["sandbox_pid"] = sandbox.init_pid
    if info is not None:
        values["runtime_reported_pid"] = info.pid
        if info.pid is not None:
            source = f"{_status_call(c)}.info.pid; host:/proc"
    links.append(Link("processes", values, source))
    links.append(_ns_links(c, report, sandbox))
    links.extend(_cgroup_links(c))
    return ContainerTrace(
        container_id=c.id,
        name=c.name if not c.is_sandbox else "(sandbox)",
        pod_name=c.pod_name,
        pod_namespace=c.pod_namespace,
        links=tuple(links),
    )


def _uses_cri_dockerd(report: NodeReport, meta: ContainerMeta | None) -> bool:
    """The kubelet reaches Docker through cri-dockerd: the container was listed by
    cri-dockerd, or (no runtime answered) the kubelet's endpoint is cri-dockerd's socket."""
    if meta is not None:
        return meta.runtime == "cri-dockerd"
    kubelet = report.kubelet
    endpoint = kubelet.flags.get("--container-runtime-endpoint") if kubelet else None
    return bool(endpoint and "cri-dockerd" in endpoint)


# --------------------------------------------------------------------------- chains


def _cri_node_links(
    report: NodeReport,
    meta: ContainerMeta | None,
    runtime: str,
    cri: CRISession,
    errors: Errors,
) -> list[Link]:
    endpoint = meta.endpoint if meta else None
    links = kubelet_links(report, f"unix://{endpoint}" if endpoint else None)
    api_version = None
    if endpoint:
        api_version = errors.attempt(cri.client(endpoint).api_version)
    name = meta.runtime if meta else runtime
    daemon = _daemon(report, name)
    links.append(runtime_link(daemon, name, api_version))
    return links


def trace_pod(
    fs: HostFS,
    collection: NodeCollection,
    containers: Sequence[Container],
    *,
    timeout: float = 3.0,
    pod_name: str | None = None,
    pod_namespace: str | None = None,
    clients: RuntimeClients | None = None,
) -> RuntimeChain:
    """The chain of one pod from its containers on this node (``pod_name`` names it when
    the containers themselves carry no name, e.g. found by UID). ``clients`` answers the
    runtime calls (default: the live sockets; a bundle's ``ReplayClients`` for ``--from``)."""
    errors = Errors()
    report = collection.report
    sandbox = next((c for c in containers if c.is_sandbox), None)
    first = sandbox or containers[0]
    meta = collection.metadata.get(first.id)
    node_links: list[Link]
    sandbox_trace: ContainerTrace | None
    if first.runtime in ("docker", "cri-dockerd") and _uses_cri_dockerd(report, meta):
        # kubelet -> cri-dockerd -> dockerd -> containerd (moby) -> shim -> runc
        cri = CRISession(fs, timeout, errors, clients)
        try:
            node_links = _cri_node_links(report, meta, "cri-dockerd", cri, errors)
            engine, containerd = moby_links(report)
            node_links += [
                Link("dockerd", engine.values, engine.source, engine.missing),
                containerd,
            ]

            def one(c: Container) -> ContainerTrace:
                info = cri.info_for(c, collection.metadata.get(c.id))
                return trace_docker_container(
                    fs, report, c, errors, timeout, daemons=False, info=info, sandbox=sandbox
                )

            sandbox_trace = one(sandbox) if sandbox else None
            traces = [one(c) for c in containers if not c.is_sandbox]
        finally:
            cri.close()
    elif first.runtime == "docker" and (meta is None or meta.runtime == "docker"):
        node_links = kubelet_links(report, None)
        traces = [trace_docker_container(fs, report, c, errors, timeout) for c in containers]
        sandbox_trace = None
    else:
        cri = CRISession(fs, timeout, errors, clients)
        try:
            node_links = _cri_node_links(report, meta, first.runtime, cri, errors)
            sandbox_trace = (
                trace_cri_container(
                    fs,
                    report,
                    sandbox,
                    meta,
                    sandbox,
                    cri,
                    errors,
                    timeout,
                    collection.processes,
                )
                if sandbox
                else None
            )
            traces = [
                trace_cri_container(
                    fs,
                    report,
                    c,
                    collection.metadata.get(c.id),
                    sandbox,
                    cri,
                    errors,
                    timeout,
                    collection.processes,
                )
                for c in containers
                if not c.is_sandbox
            ]
        finally:
            cri.close()
    return RuntimeChain(
        pod_name=first.pod_name or pod_name,
        pod_namespace=first.pod_namespace or pod_namespace,
        pod_uid=first.pod_uid,
        node_links=tuple(node_links),
        sandbox=sandbox_trace,
        containers=tuple(traces),
        errors=tuple(errors.items),
    )


def pod_containers(collection: NodeCollection, c: Container) -> list[Container]:
    """All containers of ``c``'s pod (``[c]`` when it belongs to no pod)."""
    if c.pod_uid is None and c.pod_name is None:
        return [c]
    return [
        x
        for x in collection.report.containers
        if (c.pod_uid and x.pod_uid == c.pod_uid)
        or (not c.pod_uid and x.pod_name == c.pod_name and x.pod_namespace == c.pod_namespace)
    ]
