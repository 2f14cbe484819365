"""The node report: one pipeline from the host's processes to every container's runtime.

    host scan (/proc, cgroups)            host/scan.py
      -> discovery: daemons, the sockets each serves, shims, the kubelet and its endpoint,
         each daemon's configuration file                      collect/discover.py
      -> survey: each runtime socket asked once (Version, lists)  collect/inventory.py
      -> join: containers by ID, pods by UID, each with the daemon that runs it
                                                                   collect/join.py
      -> NodeReport (and, for trace and audit, what it was built from: NodeCollection)

Every source failure goes to one error sink (``collect/errors.py``) and reaches the
report; the rest of the report is still built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from inspect8s.collect import discover, join
from inspect8s.collect import kubelet as kubelet_info
from inspect8s.collect.errors import Errors
from inspect8s.collect.inventory import Inventory, Survey, survey
from inspect8s.collect.join import FLAGGED_NAMESPACES, host_reference
from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host import cgroups, containertruth, scan
from inspect8s.host.fs import HostFS
from inspect8s.model import (
    ContainerdConfig,
    CrioConfig,
    DockerDaemonConfig,
    KubeletConfig,
    KubeletProcess,
    KubeletRuntime,
    KubeletVersion,
    NodeInfo,
    NodeReport,
    ProcessInfo,
    RuntimeDaemon,
    SocketInfo,
)
from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig import flags as daemon_flags
from inspect8s.runtime.clients import RuntimeClients
from inspect8s.runtime.convert import ContainerMeta
from inspect8s.runtime.endpoint import parse_endpoint, require_unix, why_not_unix

__all__ = ["FLAGGED_NAMESPACES", "NodeCollection", "RuntimeOptions", "collect_node", "gather_node"]

DaemonConfig = ContainerdConfig | CrioConfig | DockerDaemonConfig


@frozen
class RuntimeOptions:
    """Where to find runtimes beyond what the node names, and how long to wait."""

    cri_endpoints: tuple[str, ...] = ()  # extra CRI sockets (unix:// or path)
    docker_hosts: tuple[str, ...] = ()  # extra Docker Engine sockets
    timeout: float = 3.0
    query_runtimes: bool = True  # False: host files only (fixture trees, --no-runtime)
    clients: RuntimeClients | None = None  # None: the live sockets (runtime/clients.py)
    kubelet_version: KubeletVersion | None = None  # known to the caller (Node object, option)
    recorded_sockets: tuple[str, ...] = ()  # a bundle's socket list (replay)


@dataclass
class NodeCollection:
    """A node report plus what it was built from, for commands that go further (trace,
    audit, record): the process table, what runtimes said, the open runtime clients."""

    report: NodeReport
    processes: Mapping[int, ProcessInfo]
    metadata: dict[str, ContainerMeta]
    layout: cgroups.CgroupLayout | None
    scan: scan.HostScan | None = None  # the /proc pass (mount tables of container mnt ns)
    inventory: Inventory | None = None  # every runtime answer of this command
    daemon_configs: dict[int, DaemonConfig | None] = field(default_factory=dict)  # by PID
    kubelet_config: KubeletConfig | None = None
    views: discover.Views | None = None
    errors: Errors = field(default_factory=Errors)

    def socket(self, ident: str | None) -> SocketInfo | None:
        return next((s for s in self.report.sockets if ident and s.ident == ident), None)

    def daemon(self, pid: int | None) -> RuntimeDaemon | None:
        return join.daemon_by_pid(self.report.runtimes, pid)

    def close(self) -> None:
        if self.inventory is not None:
            self.inventory.close()


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


def collect_node(
    fs: HostFS,
    options: RuntimeOptions | None = None,
    *,
    self_pid: int | None = None,
) -> NodeReport:
    """The whole node picture from one pass over /proc plus a few runtime calls."""
    collection = gather_node(fs, options, self_pid=self_pid)
    collection.close()
    return collection.report


# --------------------------------------------------------------------------- configuration


def _daemon_configs(
    views: discover.Views, daemons: Sequence[RuntimeDaemon], errors: Errors
) -> tuple[dict[int, DaemonConfig | None], dict[int, list[tuple[str, str]]]]:
    """Each daemon's configuration, read as the daemon reads it (its own view of the
    filesystem), and the sockets it names: containerd ``[grpc] address``, CRI-O
    ``[crio.api] listen``, dockerd ``hosts``."""
    from inspect8s.nodeconfig.containerd import collect_containerd_config
    from inspect8s.nodeconfig.crio import collect_crio_config
    from inspect8s.nodeconfig.docker import collect_docker_config

    configs: dict[int, DaemonConfig | None] = {}
    named: dict[int, list[tuple[str, str]]] = {}
    for d in daemons:
        if d.pid is None:
            continue
        fs = views.fs_of(d.pid)
        failures: list[ProbeFailed] = []
        who = f"{d.name} (PID {d.pid})"
        found: DaemonConfig | None = None
        sockets: list[tuple[str, str]] = []
        if d.name == "containerd":
            found = collect_containerd_config(fs, d.cmdline, failures)
            if found is not None and found.grpc_address is not None:
                value = found.grpc_address
                sockets.append((str(value.value), f"{who} [grpc] address ({value.where()})"))
        elif d.name == "crio":
            found = collect_crio_config(fs, d.cmdline, failures)
            listen = found.settings.get("crio.api.listen") if found else None
            if listen is not None and isinstance(listen.value, str):
                sockets.append((listen.value, f"{who} [crio.api] listen ({listen.where()})"))
        elif d.name == "dockerd":
            found = collect_docker_config(fs, d.cmdline, failures)
            hosts = found.settings.get("hosts") if found else None
            if hosts is not None and isinstance(hosts.value, list):
                for host in hosts.value:
                    sockets.append((str(host), f"{who} hosts ({hosts.where()})"))
        for failure in failures:
            errors.add(failure)
        configs[d.pid] = found
        named[d.pid] = sockets
    return configs, named


def _kubelet(
    fs: HostFS,
    views: discover.Views,
    process: KubeletProcess | None,
    given: KubeletVersion | None,
    errors: Errors,
) -> tuple[KubeletConfig | None, KubeletVersion | None]:
    """The kubelet's configuration (from its process, else its unit and files) and version."""
    from inspect8s.nodeconfig.kubelet import collect_kubelet_config

    view = views.fs_of(process.pid if process else None)
    version = kubelet_info.kubelet_version(fs, errors, given=given, process=process, config=None)
    failures: list[ProbeFailed] = []
    cmdline = process.cmdline if process else None
    config = collect_kubelet_config(
        view, cmdline, failures, version=version.version if version else None
    )
    if version is None and config is not None and process is None:
        version = kubelet_info.kubelet_version(fs, errors, given=None, process=None, config=config)
        if version is not None:
            failures = []
            config = collect_kubelet_config(view, cmdline, failures, version=version.version)
    for failure in failures:
        errors.add(failure)
    return config, version


# --------------------------------------------------------------------------- sockets


def _note_sockets(
    book: discover.SocketBook,
    options: RuntimeOptions,
    daemons: Sequence[RuntimeDaemon],
    listeners: Mapping[int, Sequence[str]],
    named: Mapping[int, Sequence[tuple[str, str]]],
    shims: Sequence[Any],
    kubelet: KubeletProcess | None,
    endpoint: tuple[str, str, str] | None,
    errors: Errors,
    configs: Mapping[int, DaemonConfig | None],
) -> tuple[str | None, str | None]:
    """Fill the socket book from every source; returns the kubelet endpoint's socket
    identity (None: nothing there) and, when it leads nowhere, why."""
    discover.note_daemon_sockets(book, daemons, listeners, named)
    for d in daemons:
        if d.name == "dockerd":
            for value in daemon_flags.flag_values(d.cmdline[1:], ("--containerd",)):
                path = parse_endpoint(value).path
                if path:
                    book.add(path, f"dockerd (PID {d.pid}) --containerd", pid=d.pid,
                             runtime="containerd")  # fmt: skip
            config = configs.get(d.pid) if d.pid is not None else None
            address = config.containerd_address if isinstance(config, DockerDaemonConfig) else None
            if address is not None and isinstance(address.value, str):
                path = parse_endpoint(address.value).path
                if path:
                    book.add(path, f"dockerd (PID {d.pid}) containerd ({address.where()})",
                             pid=d.pid, runtime="containerd")  # fmt: skip
        elif d.name == "cri-dockerd":
            for value in daemon_flags.flag_values(d.cmdline[1:], ("--docker-endpoint",)):
                path = parse_endpoint(value).path
                if path:
                    book.add(path, docker_endpoint_label(d.pid), pid=d.pid,
                             runtime="dockerd")  # fmt: skip
    for s in shims:
        if s.address:
            book.add(s.address, "containerd shims (-address)", pid=s.pid, runtime="containerd")
    kubelet_ident: str | None = None
    problem: str | None = None
    if endpoint is not None:
        parsed = parse_endpoint(endpoint[0])
        if parsed.path is None:
            problem = why_not_unix(parsed)
        else:
            kubelet_ident = book.add(
                parsed.path,
                f"kubelet ({endpoint[1]})",
                pid=kubelet.pid if kubelet else None,
                runtime="cri",
            )
            if kubelet_ident is None:
                problem = f"nothing at {parsed.path} (as the kubelet sees it)"
    for text in options.cri_endpoints:
        path = require_unix(text, "CRI endpoint", "cri_endpoints")
        if book.add(path, "given as a CRI endpoint", runtime="cri") is None:
            errors.add(ProbeFailed(ErrorKind.MISSING, f"host:{path}",
                                   "given as a CRI endpoint, but nothing is there"))  # fmt: skip
    for text in options.docker_hosts:
        path = require_unix(text, "Docker host", "docker_hosts")
        if book.add(path, "given as a Docker host", runtime="dockerd") is None:
            errors.add(ProbeFailed(ErrorKind.MISSING, f"host:{path}",
                                   "given as a Docker host, but nothing is there"))  # fmt: skip
    for path in options.recorded_sockets:
        book.add(path, "recorded socket")
    discover.note_known_sockets(book)
    return kubelet_ident, problem


def _with_versions(
    daemons: Sequence[RuntimeDaemon],
    sockets: Sequence[SocketInfo],
    found: Survey,
    fs: HostFS,
    views: discover.Views,
    errors: Errors,
) -> list[RuntimeDaemon]:
    """Daemons with the version their own sockets answered (cri-dockerd: its package's or
    binary's, ``collect/daemonversion.py``); runtimes that answered on a socket whose
    process was not seen (another PID namespace) are added without a PID."""
    by_pid = {s.ident: s.daemon_pid for s in sockets}
    out: list[RuntimeDaemon] = []
    for d in daemons:
        mine = [s for s in sockets if d.pid is not None and s.daemon_pid == d.pid]
        version = next((found.versions[s.ident] for s in mine if s.ident in found.versions), None)
        if version is None and d.name == "cri-dockerd":
            from inspect8s.collect.daemonversion import cri_dockerd_version

            version = cri_dockerd_version(fs, views.fs_of(d.pid), d, errors)
        if version is None and d.name == "dockerd":
            relayed = relayed_version(d, daemons, sockets, found)
            if relayed:
                version = (relayed, "cri:Version (relayed by cri-dockerd)")
        if version is not None:
            d = replace(d, version=version[0], version_source=version[1])
        out.append(d)
    known = {d.pid for d in out if d.pid is not None}
    for s in sockets:
        if s.ident in found.versions and by_pid.get(s.ident) not in known:
            name = found.answered.get(s.ident, s.runtime)
            ver, src = found.versions[s.ident]
            out.append(RuntimeDaemon(name=name, pid=None, version=ver, version_source=src,
                                     sockets=(s.path,)))  # fmt: skip
    return out


def docker_endpoint_label(cri_dockerd_pid: int | None) -> str:
    """How a socket named by a cri-dockerd's ``--docker-endpoint`` says so (``named_by``)."""
    return f"cri-dockerd (PID {cri_dockerd_pid}) --docker-endpoint"


# cri-dockerd --help: ``--docker-endpoint`` defaults to ``unix:///var/run/docker.sock``
# (``/run/docker.sock`` where ``/var/run`` links to ``/run``).
CRI_DOCKERD_DEFAULT_DOCKER = ("/var/run/docker.sock", "/run/docker.sock")


def relayed_version(
    dockerd: RuntimeDaemon,
    daemons: Sequence[RuntimeDaemon],
    sockets: Sequence[SocketInfo],
    found: Survey,
) -> str | None:
    """The Docker Engine version a cri-dockerd relays (in CRI ``Version``) for ``dockerd``:
    that of the cri-dockerd whose ``--docker-endpoint`` (without the flag, its default
    ``unix:///var/run/docker.sock``) is one of ``dockerd``'s sockets. Only when no relaying
    cri-dockerd's process was seen (its socket answered from another PID namespace) and the
    node has this one dockerd and one such relay is that relay taken; never another
    dockerd's version."""
    if not found.relayed or dockerd.pid is None:
        return None
    own = [s for s in sockets if s.daemon_pid == dockerd.pid]
    by_ident = {s.ident: s for s in sockets}
    crids = {d.pid: d for d in daemons if d.name == "cri-dockerd" and d.pid is not None}
    unplaced = []
    for ident, version in found.relayed.items():
        socket = by_ident.get(ident)
        pid = socket.daemon_pid if socket is not None else None
        crid = crids.get(pid) if pid is not None else None
        if crid is None:
            unplaced.append(version)
            continue
        if daemon_flags.flag_values(crid.cmdline[1:], ("--docker-endpoint",)):
            named = docker_endpoint_label(crid.pid)
            if any(named in s.named_by for s in own):
                return version
        elif any(p in CRI_DOCKERD_DEFAULT_DOCKER for s in own for p in (s.path, *s.aliases)):
            return version
    dockerds = [d for d in daemons if d.name == "dockerd"]
    if len(dockerds) == 1 and len(found.relayed) == 1 and unplaced:
        return unplaced[0]
    return None


def _sockets_named(sockets: Sequence[SocketInfo], found: Survey) -> list[SocketInfo]:
    """Sockets with the runtime their answer names, where discovery could not tell."""
    out = []
    for s in sockets:
        said = found.answered.get(s.ident)
        if said and s.runtime in ("cri", "unknown"):
            s = replace(s, runtime=said)
        out.append(s)
    return out


# --------------------------------------------------------------------------- the pipeline


def gather_node(
    fs: HostFS,
    options: RuntimeOptions | None = None,
    *,
    self_pid: int | None = None,
    read_mounts: bool = False,
    inventory: Inventory | None = None,
) -> NodeCollection:
    """:func:`collect_node`, keeping what it was built from (the caller closes it).

    ``read_mounts`` also reads the mount table of every container's mount namespace (once
    per namespace) into ``scan.mountinfo_by_mnt_ns``: checks need it, views do not.
    ``inventory`` lets the caller share one set of runtime clients with later steps."""
    options = options or RuntimeOptions()
    errors = inventory.errors if inventory is not None else Errors()
    if inventory is None:
        inventory = Inventory(fs, options.clients, timeout=options.timeout, errors=errors)
    not_found: list[str] = []
    if self_pid is None:
        self_pid = fs.own_pid
    layout = errors.attempt(lambda: cgroups.read_layout(fs))
    host = scan.scan_host(
        fs,
        mountinfo="containers" if read_mounts else "none",
        cgroups="auto" if layout is not None else "proc",
        layout=layout,
        namespaces_of=() if self_pid is None else (self_pid,),
    )
    for failure in host.failures:
        errors.add(failure)
    processes = host.processes

    daemons = discover.find_daemons(processes)
    shims = discover.find_shims(processes)
    kubelet = discover.find_kubelet(processes)
    by_container, idents = join.group_containers(host.identities)
    container_pids = {p for pids in by_container.values() for p in pids}
    reference = host_reference(
        processes, kubelet.pid if kubelet else None, daemons, container_pids, self_pid
    )
    own = processes.get(self_pid) if self_pid is not None else None
    reference_mnt = (own.namespaces.get("mnt") if own else None) or reference.namespaces.get("mnt")
    views = discover.Views(fs, processes, reference_mnt)

    configs, named = _daemon_configs(views, daemons, errors)
    kubelet_config, version = _kubelet(fs, views, kubelet, options.kubelet_version, errors)
    if kubelet is not None and version is not None:
        kubelet = replace(kubelet, version=version.version)
    endpoint = kubelet_info.kubelet_endpoint(kubelet, kubelet_config)

    book = discover.SocketBook(fs, views, errors)
    listeners = discover.daemon_listeners(fs, daemons, processes, errors)
    kubelet_ident, problem = _note_sockets(
        book, options, daemons, listeners, named, shims, kubelet, endpoint, errors, configs
    )
    sockets = book.sockets()
    daemons = discover.owners(daemons, sockets)
    shims = discover.shim_daemons(shims, book, daemons, processes)

    found = survey(inventory, sockets) if options.query_runtimes else Survey()
    sockets = _sockets_named(sockets, found)
    daemons = _with_versions(daemons, sockets, found, fs, views, errors)

    containers, shim_containers = join.build_containers(
        fs, by_container, idents, processes, shims, found.metadata, sockets, layout,
        reference, errors,
    )  # fmt: skip
    # Init-process status and mount tables for the container checks (host/containertruth.py).
    containers = containertruth.with_host_truth(
        containers, processes, host, fs, reference.pid, errors.add, layout
    )
    shims = [replace(s, container_ids=tuple(sorted(shim_containers.get(s.pid, ())))) for s in shims]
    containers.sort(key=lambda c: (c.pod_namespace or "", c.pod_name or "", c.pod_uid or "", c.id))

    kubelet_socket = None
    if kubelet_ident is not None and kubelet_ident in book.infos:
        ident = book.infos[kubelet_ident].ident
        kubelet_socket = next((s for s in sockets if s.ident == ident), None)
    kubelet_daemon = join.daemon_by_pid(
        daemons, kubelet_socket.daemon_pid if kubelet_socket else None
    )
    if kubelet_socket is not None and kubelet_daemon is None and problem is None:
        problem = "no daemon process was found listening on it"
    runtime_name = (
        kubelet_daemon.name
        if kubelet_daemon
        else (found.answered.get(kubelet_socket.ident) if kubelet_socket else None)
    )
    kubelet_runtime: KubeletRuntime | None = kubelet_info.kubelet_runtime_of(
        endpoint,
        kubelet,
        socket=kubelet_socket.ident if kubelet_socket else None,
        daemon_pid=kubelet_daemon.pid if kubelet_daemon else None,
        runtime=runtime_name,
        problem=problem,
    )

    if not daemons:
        not_found.append("no container runtime daemon process (containerd, CRI-O, dockerd)")
    if kubelet is None:
        not_found.append(
            "no kubelet process" + (" (its unit or configuration files were read)"
                                    if kubelet_config is not None else "")
        )  # fmt: skip
    if not sockets:
        not_found.append("no runtime socket at the paths the node names or the default paths")
    if not containers:
        not_found.append("no container processes")

    drivers = {c.cgroup_driver for c in containers}
    driver = "/".join(sorted(drivers)) if drivers else None
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
        kubelet_runtime=kubelet_runtime,
        kubelet_version=version,
    )
    return NodeCollection(
        report=report,
        processes=processes,
        metadata=found.metadata,
        layout=layout,
        scan=host,
        inventory=inventory,
        daemon_configs=configs,
        kubelet_config=kubelet_config,
        views=views,
        errors=errors,
    )
