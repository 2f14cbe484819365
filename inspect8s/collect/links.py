"""The links of one container's chain: handler, shim, OCI runtime, processes, namespaces,
cgroup, limits and what the runtime asked for, each with the source that proved it.

Per runtime (docs/architecture.md "The runtime chain"):

* containerd: the handler and ``runtimeType`` from the verbose status, the runc.v2 shim
  (one per sandbox), runc's state under ``options.Root`` (or ``/run/containerd/runc``)
  ``/<namespace>``;
* CRI-O: the handler from the status (``""`` is the default), resolved through the daemon's
  own configuration (``default_runtime`` and ``[crio.runtime.runtimes.<name>]``:
  ``runtime_path``, ``runtime_type``, ``runtime_root``, ``monitor_path``); one conmon per
  container and sandbox, started with ``-c <id> -r <runtime> --runtime-arg --root=<root>
  -b <bundle>``; the OCI runtime's state under that root; the namespaces CRI-O pinned
  (pinns) under its ``namespaces_dir``;
* Docker (alone or behind cri-dockerd): dockerd, the containerd it drives (namespace
  ``moby``), one runc.v2 shim per container, runc's state under ``<exec-root>/runtime-runc``.

The verbose statuses come through the command's inventory (each asked once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from inspect8s.collect.discover import conmon_option
from inspect8s.collect.errors import Errors
from inspect8s.collect.inventory import CRIRuntime, Inventory, JSONDict
from inspect8s.collect.join import FLAGGED_NAMESPACES
from inspect8s.collect.node import NodeCollection, docker_endpoint_label
from inspect8s.collect.origin import cgroup_line
from inspect8s.errors import ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    Container,
    ContainerdConfig,
    CrioConfig,
    DockerDaemonConfig,
    NodeReport,
    RuntimeDaemon,
    Shim,
)
from inspect8s.model.chain import (
    CgroupLink,
    ContainerdLink,
    ContainerTrace,
    DaemonLink,
    HandlerLink,
    LimitsLink,
    Link,
    NamespacesLink,
    OciRuntimeLink,
    ProcessesLink,
    RequestedLink,
    RuntimeLink,
    ShimLink,
)
from inspect8s.model.nsrules import host_namespace_rule
from inspect8s.nodeconfig import crio as crio_config
from inspect8s.nodeconfig import flags as daemon_flags
from inspect8s.runtime import ocistate
from inspect8s.runtime.convert import ContainerMeta, VerboseInfo, verbose_info
from inspect8s.runtime.endpoint import parse_endpoint

D = TypeVar("D", bound=DaemonLink)


def status_call(c: Container) -> str:
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
            fs = collection.views.fs_of(None) if collection.views else HostFS("/")
            collection.inventory = Inventory(fs, errors=errors)
        self._inventory = collection.inventory

    def runtime(self, ident: str | None) -> CRIRuntime | None:
        socket = self._collection.socket(ident)
        return self._inventory.cri(socket) if socket is not None else None

    def api_version(self, ident: str | None) -> str | None:
        cri = self.runtime(ident)
        return self._errors.attempt(cri.api_version) if cri is not None else None

    def relayed_version(self, ident: str | None) -> str | None:
        """cri-dockerd's CRI ``Version.runtimeVersion``: the Docker Engine's version it
        relays (cri-dockerd core/docker_service.go ``Version``); None: no answer."""
        cri = self.runtime(ident)
        answer = self._errors.attempt(cri.version) if cri is not None else None
        said = str((answer or {}).get("runtimeVersion") or "")
        return said or None

    def sandbox_info(self, ident: str, sandbox_id: str, runtime: str) -> VerboseInfo | None:
        """The sandbox's verbose status; None when the call failed (recorded in errors)."""
        return self._verbose(ident, lambda cri: cri.pod_sandbox_status(sandbox_id), runtime)

    def container_info(self, ident: str, container_id: str, runtime: str) -> VerboseInfo | None:
        """The container's verbose status; None when the call failed (recorded in errors)."""
        return self._verbose(ident, lambda cri: cri.container_status(container_id), runtime)

    def _verbose(
        self, ident: str, call: Callable[[CRIRuntime], JSONDict], runtime: str
    ) -> VerboseInfo | None:
        cri = self.runtime(ident)
        if cri is None:
            return None
        status = self._errors.attempt(lambda: call(cri))
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


# --------------------------------------------------------------------------- handler


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
    sources = [status_call(c)]
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


def _crio_resolved(
    collection: NodeCollection, c: Container, link: HandlerLink
) -> tuple[HandlerLink, crio_config.CrioHandler | None]:
    """A CRI-O handler link with what its configuration makes of the handler: the table
    ``""`` (the kubelet's default) resolves to through ``default_runtime``, and that
    table's ``runtime_path``, ``runtime_type``, ``runtime_root``, ``monitor_path``."""
    if link.missing is not None:
        return link, None
    daemon = collection.daemon(c.runtime_pid)
    config = collection.daemon_configs.get(c.runtime_pid) if c.runtime_pid else None
    crio = config if isinstance(config, CrioConfig) else None
    if crio is None:
        # Without the daemon's configuration nothing says what the handler's table holds.
        why = "CRI-O's configuration was not read" + ("" if daemon else " (no CRI-O process)")
        return replace(link, source="; ".join(x for x in (link.source, why) if x)), None
    handler = crio_config.resolve_handler(
        crio, link.runtime_handler, daemon.version if daemon else None
    )
    places = []
    if handler.resolved_by is not None and handler.resolved_by.startswith("default_runtime"):
        places.append(f"host:{handler.resolved_by.removeprefix('default_runtime (')[:-1]}")
    if handler.defined_at is not None:
        places.append(f"host:{handler.defined_at}")
    else:
        places.append(
            f"no [crio.runtime.runtimes.{handler.name}] table in {', '.join(crio.files)}: "
            "CRI-O's built-in defaults"
        )
    return (
        replace(
            link,
            runtime_type=handler.runtime_type,
            resolved_handler=handler.name,
            resolved_by=handler.resolved_by,
            runtime_path=handler.runtime_path,
            runtime_root=handler.runtime_root,
            monitor_path=handler.monitor_path,
            defined_at=handler.defined_at,
            source="; ".join([link.source or "", *places]).lstrip("; "),
        ),
        handler,
    )


def configured_runc_root(collection: NodeCollection, c: Container) -> str | None:
    """containerd's ``runtimes.<default>.options.Root`` in the config of the daemon that
    runs ``c`` (containerd's CRI passes it to the runc shim); None: not set."""
    config = collection.daemon_configs.get(c.runtime_pid) if c.runtime_pid else None
    if not isinstance(config, ContainerdConfig):
        return None
    default = config.default_runtime_name
    name = str(default.value) if default is not None else "runc"
    spec = config.runtimes.get(name)
    value = spec.options.get("Root") if spec is not None else None
    return str(value.value) if value is not None and value.value else None


# --------------------------------------------------------------------------- shim


def shim_of(report: NodeReport, c: Container) -> Shim | None:
    return next((s for s in report.shims if s.pid == c.shim_pid), None)


def shim_link(collection: NodeCollection, c: Container, sandbox: Container | None) -> ShimLink:
    """The monitor the container's init process is a child of, with what its command
    line says (conmon: ``-r`` runtime, ``--runtime-arg``, ``-b`` bundle)."""
    if c.shim_pid is None:
        return ShimLink(missing="the container's parent process is not a shim")
    shim = shim_of(collection.report, c)
    proc = collection.processes.get(c.shim_pid)
    argv = proc.cmdline[1:] if proc else ()
    runtime = bundle = None
    runtime_args: tuple[str, ...] = ()
    if shim is not None and shim.kind == "conmon":
        runtime = next(reversed(conmon_option(argv, ("-r", "--runtime"))), None)
        runtime_args = tuple(conmon_option(argv, ("--runtime-arg",)))
        bundle = next(reversed(conmon_option(argv, ("-b", "--bundle"))), None)
    elif shim is not None:
        bundle = daemon_flags.last_flag(argv, ("-bundle", "--bundle"))
    sources = [f"host:/proc/{c.init_pid}/stat (ppid)"]
    if proc is not None and proc.cmdline:
        sources.append(f"host:/proc/{c.shim_pid}/cmdline")
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
        runtime=runtime,
        runtime_args=runtime_args,
        bundle=bundle,
        cgroup=cgroup_line(proc)[0] if proc is not None and proc.cgroups else None,
        source="; ".join(sources),
    )


# --------------------------------------------------------------------------- OCI runtime


def oci_link(
    fs: HostFS,
    c: Container,
    namespace: str | None,
    binary_name: str,
    roots: Sequence[str],
    errors: Errors,
    timeout: float,
) -> tuple[OciRuntimeLink, ocistate.OCIState | None]:
    """The OCI runtime binary (its version when it may be run) and its state of ``c``,
    looked for under ``roots`` first (the runtime's configured or given root)."""
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
        return (
            OciRuntimeLink(binary=binary, version=version, source="; ".join(sources) or None),
            None,
        )
    sources.insert(0, f"{state.runtime} state:{state.state_path}")
    root = state.state_path.rsplit("/", 2)[0] if state.state_path.count("/") >= 2 else None
    return (
        OciRuntimeLink(
            binary=binary,
            version=version,
            root=root,
            state_file=state.state_path,
            state_init_pid=state.init_pid,
            bundle=state.bundle,
            state_cgroup_path=state.cgroup_path,
            state_namespaces=dict(state.namespaces),
            source="; ".join(sources),
        ),
        state,
    )


def runtime_fs(collection: NodeCollection, pid: int | None) -> HostFS:
    """Where a runtime keeps its files: its daemon's own view (a daemon in a private mount
    namespace keeps its runc state there), else the root."""
    views = collection.views
    if views is None:
        return HostFS("/")
    return views.fs_of(pid)


# --------------------------------------------------------------------------- processes ..


def processes_link(c: Container, sandbox: Container | None, info: VerboseInfo | None) -> Link:
    reported = info.pid if info is not None else None
    return ProcessesLink(
        sandbox_pid=sandbox.init_pid if sandbox else None,
        init_pid=c.init_pid,
        runtime_reported_pid=reported,
        pids=c.pids,
        source=f"{status_call(c)}.info.pid; host:/proc" if reported is not None else "host:/proc",
    )


def namespaces_link(
    c: Container,
    report: NodeReport,
    sandbox: Container | None,
    state: ocistate.OCIState | None = None,
    pinned_dir: str | None = None,
    pinned_source: str | None = None,
) -> NamespacesLink:
    """The init process's namespace inodes, which of them are the host's and the
    sandbox's, the runtime's host-namespace rule (``model/nsrules.py``), and, for CRI-O,
    which namespaces are files pinns made under ``pinned_dir`` (its ``namespaces_dir``) as
    the OCI state names them."""
    if not c.namespaces:
        return NamespacesLink(missing="namespace links unreadable or no process")
    shared_sandbox: list[str] = []
    if sandbox is not None and sandbox is not c:
        shared_sandbox = [
            t for t in FLAGGED_NAMESPACES if sandbox.namespaces.get(t) == c.namespaces.get(t)
        ]
    pinned: dict[str, str] = {}
    sources = [f"host:/proc/{c.init_pid}/ns"]
    if state is not None and pinned_dir:
        prefix = pinned_dir.rstrip("/") + "/"
        for kind, path in sorted(state.namespaces.items()):
            rest = path[len(prefix) :] if path.startswith(prefix) else ""
            if "/" in rest and rest.split("/", 1)[0].endswith("ns"):
                pinned[kind] = path
        if pinned:
            sources.append(f"{state.runtime} state:{state.state_path} (config.namespaces)")
            if pinned_source:
                sources.append(pinned_source)
    rule = host_namespace_rule(c.runtime)
    return NamespacesLink(
        inodes=dict(sorted(c.namespaces.items())),
        shared_with_host=c.host_namespaces,
        shared_with_sandbox=tuple(shared_sandbox),
        host_reference=report.host_reference.reason,
        pinned=pinned,
        runtime_rule=f"{rule.text} ({rule.source})",
        source="; ".join(sources),
    )


def cgroup_links(c: Container) -> list[Link]:
    return [
        CgroupLink(
            path=c.cgroup_path,
            driver=c.cgroup_driver,
            qos=c.qos.value if c.qos else None,
            source=f"host:/proc/{c.init_pid}/cgroup",
        ),
        LimitsLink(limits=c.limits, source="host:cgroup files of the container's cgroup"),
    ]


def requested_link(
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
        source=f"{status_call(c)}.info.runtimeSpec.linux.resources",
    )


def container_trace(c: Container, links: Sequence[Link]) -> ContainerTrace:
    return ContainerTrace(
        container_id=c.id,
        name=c.name if not c.is_sandbox else "(sandbox)",
        pod_name=c.pod_name,
        pod_namespace=c.pod_namespace,
        links=tuple(links),
    )


# --------------------------------------------------------------------------- CRI


def trace_cri_container(
    collection: NodeCollection,
    c: Container,
    meta: ContainerMeta | None,
    sandbox: Container | None,
    cri: CRISession,
    errors: Errors,
    timeout: float,
) -> ContainerTrace:
    """One container (or the sandbox) of a CRI runtime: containerd or CRI-O."""
    report = collection.report
    info = cri.info_for(c, meta)
    sandbox_info = info if c.is_sandbox else None
    if sandbox is not None and not c.is_sandbox and meta is not None and meta.endpoint:
        sandbox_info = cri.sandbox_info(meta.endpoint, sandbox.id, meta.runtime)
    handler, runtime_options = _handler_link(c, meta, info, sandbox_info)
    shim = shim_of(report, c)
    is_crio = c.runtime == "crio" or (shim is not None and shim.kind == "conmon")
    resolved: crio_config.CrioHandler | None = None
    if is_crio:
        handler, resolved = _crio_resolved(collection, c, handler)
    shim_info = shim_link(collection, c, sandbox)
    links: list[Link] = [handler, shim_info]
    fs = runtime_fs(collection, c.runtime_pid)
    state: ocistate.OCIState | None = None
    pinned_dir = pinned_source = None
    if resolved is not None and resolved.runtime_type == "vm":
        links.append(
            OciRuntimeLink(
                binary=resolved.runtime_path or resolved.name,
                missing=f"handler {resolved.name} is runtime_type vm: its containers run in "
                "the pod's VM, which the runtime's shim starts; there is no OCI runtime state "
                "on the host",
                source=handler.source,
            )
        )
    elif is_crio:
        # conmon runs the OCI runtime it is told (-r PATH) with that runtime's flags
        # (--runtime-arg --root=DIR); the handler's table says the same from the config.
        roots = [a.split("=", 1)[1] for a in shim_info.runtime_args if a.startswith("--root=")]
        if resolved is not None and resolved.runtime_root:
            roots.append(resolved.runtime_root)
        binary = shim_info.runtime or (resolved.runtime_path if resolved else None)
        binary = binary or (resolved.name if resolved else "runc")
        oci, state = oci_link(fs, c, None, binary, roots, errors, timeout)
        links.append(oci)
        config = collection.daemon_configs.get(c.runtime_pid) if c.runtime_pid else None
        crio = config if isinstance(config, CrioConfig) else None
        pinned_dir = crio_config.namespaces_dir(crio)
        value = crio.settings.get("crio.runtime.namespaces_dir") if crio else None
        pinned_source = f"host:{value.where()} (namespaces_dir)" if value else None
    else:
        binary = str(runtime_options.get("binary_name") or runtime_options.get("BinaryName") or "")
        root = str(runtime_options.get("root") or runtime_options.get("Root") or "")
        root = root or (configured_runc_root(collection, c) or "")
        ns = shim.namespace if shim and shim.namespace else "k8s.io"
        # The runc.v2 shim runs runc with --root <options.Root or /run/containerd/runc>/<ns>.
        roots = [f"{root.rstrip('/')}/{ns}"] if root else []
        oci, state = oci_link(fs, c, ns, binary or "runc", roots, errors, timeout)
        links.append(oci)
    links.append(processes_link(c, sandbox, info))
    links.append(namespaces_link(c, report, sandbox, state, pinned_dir, pinned_source))
    links.extend(cgroup_links(c))
    resources = info.resources if info else {}
    if resources:
        links.append(requested_link(c, resources, info.privileged if info else None))
    return container_trace(c, links)


# --------------------------------------------------------------------------- Docker


def dockerd_of(collection: NodeCollection, c: Container) -> RuntimeDaemon | None:
    """The dockerd behind a Docker container: the one whose socket listed it, else the one
    behind the socket cri-dockerd's ``--docker-endpoint`` names, else the only dockerd."""
    report = collection.report
    daemon = collection.daemon(c.runtime_pid)
    if daemon is not None and daemon.name == "dockerd":
        return daemon
    if daemon is not None and daemon.name == "cri-dockerd":
        named = docker_endpoint_label(daemon.pid)
        for s in report.sockets:
            if named in s.named_by and s.daemon_pid is not None:
                return collection.daemon(s.daemon_pid)
    dockerds = [d for d in report.runtimes if d.name == "dockerd"]
    return dockerds[0] if len(dockerds) == 1 else None


def _named_socket_daemon(collection: NodeCollection, named: str) -> RuntimeDaemon | None:
    for s in collection.report.sockets:
        if any(by.startswith(named) for by in s.named_by) and s.daemon_pid is not None:
            daemon = collection.daemon(s.daemon_pid)
            if daemon is not None and daemon.name == "containerd":
                return daemon
    return None


def containerd_of_dockerd(
    collection: NodeCollection, c: Container, dockerd: RuntimeDaemon | None
) -> tuple[RuntimeDaemon | None, str, str | None]:
    """``(containerd, how it was found, the socket dockerd's configuration names)``: the
    daemon the container's shim belongs to (its ``-address``, resolved in the shim's view),
    else the one behind dockerd's ``--containerd``, else behind ``containerd`` in its
    daemon.json, else the containerd dockerd started itself (its child), else none."""
    report = collection.report
    wanted: str | None = None
    config = collection.daemon_configs.get(dockerd.pid) if dockerd and dockerd.pid else None
    if dockerd is not None:
        flagged = daemon_flags.flag_values(dockerd.cmdline[1:], ("--containerd",))
        if flagged:
            wanted = parse_endpoint(flagged[-1]).path or flagged[-1]
        elif isinstance(config, DockerDaemonConfig) and config.containerd_address is not None:
            value = str(config.containerd_address.value)
            wanted = parse_endpoint(value).path or value
    shim = shim_of(report, c)
    containerd = collection.daemon(shim.daemon_pid) if shim is not None else None
    if containerd is not None and shim is not None:
        return (
            containerd,
            f"the container's shim -address names its socket ({shim.address})",
            wanted,
        )
    if dockerd is None:
        return None, "", wanted
    found = _named_socket_daemon(collection, f"dockerd (PID {dockerd.pid}) --containerd")
    if found is not None:
        return found, f"dockerd's --containerd names its socket ({wanted})", wanted
    found = _named_socket_daemon(collection, f"dockerd (PID {dockerd.pid}) containerd (")
    if found is not None and isinstance(config, DockerDaemonConfig):
        where = config.containerd_address.where() if config.containerd_address else config.path
        return found, f"dockerd's daemon.json containerd names its socket ({where})", wanted
    children = [
        d
        for d in report.runtimes
        if d.name == "containerd"
        and d.pid is not None
        and d.pid in collection.processes
        and collection.processes[d.pid].ppid == dockerd.pid
    ]
    if len(children) == 1:
        return (
            children[0],
            "dockerd started it (its child process, dockerd's own containerd)",
            wanted,
        )
    return None, "", wanted


def daemon_link(kind: type[D], daemon: RuntimeDaemon | None, what: str, found_by: str) -> D:
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


def moby_links(
    collection: NodeCollection, c: Container, engine: type[DaemonLink] = RuntimeLink
) -> list[Link]:
    """dockerd and the containerd it drives (namespace ``moby``), each with how it was
    tied to the container (:func:`containerd_of_dockerd`)."""
    dockerd = dockerd_of(collection, c)
    links: list[Link] = [daemon_link(engine, dockerd, "dockerd", "the Docker Engine that runs it")]
    containerd, how, wanted = containerd_of_dockerd(collection, c, dockerd)
    link = daemon_link(ContainerdLink, containerd, "containerd", how)
    if containerd is None and dockerd is not None:
        link = replace(
            link,
            missing=f"no containerd daemon found behind dockerd (PID {dockerd.pid})"
            + (f": nothing listens on {wanted}" if wanted else ""),
        )
    links.append(replace(link, socket_from_dockerd=wanted))
    return links


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
    dockerd = dockerd_of(collection, c)
    links.append(shim_link(collection, c, sandbox))
    roots: list[str] = []
    if dockerd is not None:
        for exec_root in daemon_flags.flag_values(dockerd.cmdline[1:], ("--exec-root",)):
            roots.append(f"{exec_root.rstrip('/')}/runtime-runc/moby")
    fs = runtime_fs(collection, dockerd.pid if dockerd else c.runtime_pid)
    oci, state = oci_link(fs, c, "moby", "runc", roots, errors, timeout)
    links.append(oci)
    links.append(processes_link(c, sandbox, info))
    links.append(namespaces_link(c, report, sandbox, state))
    links.extend(cgroup_links(c))
    return container_trace(c, links)
