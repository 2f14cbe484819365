"""The runtime chain of one pod or one process, link by link, each with its source.

kubelet -> CRI endpoint -> runtime daemon -> handler/runtimeType -> shim -> OCI runtime ->
sandbox and container PIDs -> namespaces -> cgroup -> effective limits
(docs/architecture.md "The runtime chain"). Docker containers trace dockerd -> containerd
(namespace ``moby``) -> shim -> runc; behind cri-dockerd the chain reads kubelet ->
cri-dockerd -> dockerd -> containerd -> shim -> runc. Every link may be missing; it then
says why.

This module is a collector: it asks the runtime per container (ContainerStatus and
PodSandboxStatus, verbose) through the command's inventory and reads OCI state files;
failures become ProbeErrors. The pods on a node are found in ``collect/podlookup.py``, the
container links built in ``collect/links.py``, a process's role in ``collect/origin.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inspect8s.collect.errors import Errors
from inspect8s.collect.links import (
    CRISession,
    daemon_link,
    moby_links,
    trace_cri_container,
    trace_docker_container,
)
from inspect8s.collect.node import NodeCollection
from inspect8s.collect.origin import cgroup_line, container_of_pid, process_origin
from inspect8s.collect.podlookup import (
    find_pod,
    pod_containers,
    pod_key,
    pod_label,
    pods_on_node,
    same_name_notes,
)
from inspect8s.host.fs import HostFS
from inspect8s.model import Container, KubeletProcess, NodeReport, RuntimeDaemon, SocketInfo
from inspect8s.model.chain import (
    ContainerTrace,
    CriEndpointLink,
    DockerdLink,
    KubeletLink,
    Link,
    RuntimeChain,
    RuntimeLink,
)
from inspect8s.runtime.convert import ContainerMeta

__all__ = [
    "cgroup_line",
    "container_of_pid",
    "find_pod",
    "kubelet_links",
    "pod_containers",
    "pod_key",
    "pod_label",
    "pods_on_node",
    "process_origin",
    "runtime_link",
    "same_name_notes",
    "trace_pod",
]


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
    collection: NodeCollection,
    c: Container | None,
    name: str,
    api_version: str | None,
    *,
    daemon: RuntimeDaemon | None = None,
    socket: SocketInfo | None = None,
    relays: str | None = None,
) -> Link:
    """The daemon that runs ``c``: the one listening on the socket that listed it (or the
    ``daemon`` and ``socket`` the caller found), else the one its shim belongs to; never
    "a daemon of that name". ``relays``: what cri-dockerd's CRI Version relays (the Docker
    Engine's version; its own comes from its package or binary)."""
    report = collection.report
    kubelet = report.kubelet_runtime
    found_by = ""
    if daemon is None:
        daemon = collection.daemon(c.runtime_pid) if c is not None else None
        socket = collection.socket(c.endpoint) if c is not None else None
    if (daemon is None or daemon.name != name) and name == "cri-dockerd" and kubelet:
        # No runtime listed the container (host files alone): cri-dockerd is the daemon
        # behind the kubelet's endpoint.
        daemon = collection.daemon(kubelet.daemon_pid)
        socket = None
        found_by = "listens on the kubelet's endpoint"
    if daemon is None:
        why = f"no {name} daemon process found serving this container"
        if c is not None and c.endpoint:
            why = f"no daemon process found listening on {c.endpoint}"
        elif name == "podman" and c is not None and c.shim_pid is not None:
            # podman(1) starts a container and exits; conmon stays as its monitor.
            why = f"podman runs no daemon: conmon (PID {c.shim_pid}) monitors the container"
        return RuntimeLink(daemon=name, missing=why)
    if found_by:
        pass
    elif socket is not None:
        found_by = f"listens on {socket.path}, which listed the container"
    else:
        found_by = "its shim's -address names its socket"
    link = daemon_link(RuntimeLink, daemon, name, found_by)
    source = link.source
    if relays is not None:
        source = "; ".join(x for x in (source, "cri:Version (runtimeVersion relayed)") if x)
    return dataclasses.replace(
        link,
        cri_api_version=api_version,
        kubelet_runtime=bool(kubelet and kubelet.daemon_pid == daemon.pid),
        relays=relays,
        source=source,
    )


def _uses_cri_dockerd(report: NodeReport, meta: ContainerMeta | None, c: Container) -> bool:
    """The kubelet reaches Docker through cri-dockerd: the container was listed by
    cri-dockerd, or it belongs to a pod and a cri-dockerd daemon runs or (no runtime
    answered) the kubelet's endpoint is cri-dockerd's socket."""
    if meta is not None and meta.runtime == "cri-dockerd":
        return True
    if c.pod_uid is None and c.pod_name is None:
        return False  # a plain Docker container (docker run), not a pod's
    if any(d.name == "cri-dockerd" for d in report.runtimes):
        return True
    runtime = report.kubelet_runtime
    if runtime is not None and runtime.runtime == "cri-dockerd":
        return True
    return bool(runtime and "cri-dockerd" in runtime.endpoint)


def _cri_dockerd(
    collection: NodeCollection, meta: ContainerMeta | None
) -> tuple[RuntimeDaemon | None, SocketInfo | None]:
    """The cri-dockerd in front of a Docker pod and its CRI socket: the one whose socket
    listed the pod, else the one behind the kubelet's endpoint, else the only one."""
    report = collection.report
    if meta is not None and meta.runtime == "cri-dockerd" and meta.endpoint:
        socket = collection.socket(meta.endpoint)
        if socket is not None:
            return collection.daemon(socket.daemon_pid), socket
    kubelet = report.kubelet_runtime
    daemon = None
    if kubelet is not None and kubelet.runtime == "cri-dockerd":
        daemon = collection.daemon(kubelet.daemon_pid)
    if daemon is None:
        found = [d for d in report.runtimes if d.name == "cri-dockerd"]
        daemon = found[0] if len(found) == 1 else None
    if daemon is None:
        return None, None
    socket = next(
        (s for s in report.sockets if s.daemon_pid == daemon.pid and s.runtime == "cri-dockerd"),
        None,
    )
    return daemon, socket


# --------------------------------------------------------------------------- container links


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
    if first.runtime in ("docker", "cri-dockerd") and _uses_cri_dockerd(report, meta, first):
        # kubelet -> cri-dockerd -> dockerd -> containerd (moby) -> shim -> runc
        crid, crid_socket = _cri_dockerd(collection, meta)
        relays = None
        api_version = None
        if crid_socket is not None:
            api_version = cri.api_version(crid_socket.ident)
            relays = cri.relayed_version(crid_socket.ident)
        node_links = kubelet_links(report, first)
        node_links.append(
            runtime_link(
                collection,
                first,
                "cri-dockerd",
                api_version,
                daemon=crid,
                socket=crid_socket,
                relays=relays,
            )
        )
        node_links += moby_links(collection, first, DockerdLink)

        def cri_meta(c: Container) -> ContainerMeta | None:
            """What cri-dockerd's socket is asked about ``c`` (a container dockerd listed
            first is still asked through cri-dockerd, which is what the kubelet asks)."""
            listed = collection.metadata.get(c.id)
            if listed is not None and listed.runtime == "cri-dockerd":
                return listed
            if crid_socket is None:
                return None
            return ContainerMeta(
                id=c.id, runtime="cri-dockerd", name=c.name, pod_name=c.pod_name,
                pod_namespace=c.pod_namespace, pod_uid=c.pod_uid, is_sandbox=c.is_sandbox,
                image=c.image, state=None, endpoint=crid_socket.ident,
            )  # fmt: skip

        def one(c: Container) -> ContainerTrace:
            info = cri.info_for(c, cri_meta(c))
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
