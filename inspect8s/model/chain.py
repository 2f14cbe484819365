"""The runtime chain of one pod: typed links from the kubelet to the cgroup limits.

One frozen model per kind of link, each with the source that proved it and, when it could
not be established, why (``missing``). The JSON form is the documented ``RuntimeChain``
document (docs/output-formats.md): every link is ``{"name", "values", "source",
"missing"}``. :meth:`RuntimeChain.from_data` reads that document back into the same
models, so a chain printed by an agent pod on another node is rendered exactly as one
traced here; a document that does not fit raises ``ProbeFailed(MALFORMED)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import field
from typing import Any, ClassVar, TypeVar

from inspect8s.errors import ErrorKind, ProbeError, ProbeFailed
from inspect8s.model.frozen import frozen
from inspect8s.model.host import CgroupLimits
from inspect8s.model.kube import Pod
from inspect8s.model.serialize import Malformed, decode, decode_fields, to_data

SCHEMA_VERSION = 1  # of the RuntimeChain document (docs/output-formats.md)

L = TypeVar("L", bound="Link")


@frozen(kw_only=True)
class Link:
    """One link of a runtime chain. ``missing`` is None when the link was established, else
    the reason it was not; ``source`` says what proved its values (None: nothing did)."""

    NAME: ClassVar[str] = ""
    source: str | None = None
    missing: str | None = None

    @property
    def name(self) -> str:
        return self.NAME

    def value_data(self) -> dict[str, Any]:
        """The link's values as JSON data (the document's ``values``)."""
        return {
            f.name: to_data(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("source", "missing")
        }

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "values": self.value_data(),
            "source": self.source,
            "missing": self.missing,
        }

    @classmethod
    def from_data(cls, data: object, *, where: str = "") -> Link:
        """Any link from its JSON form, by its ``name``; a kind this version does not know
        (written by a newer inspect8s) is kept as :class:`OtherLink`."""
        if not isinstance(data, Mapping):
            raise Malformed(where, "expected a link object")
        name = data.get("name")
        if not isinstance(name, str):
            raise Malformed(f"{where}.name", "expected the link's name")
        values = data.get("values", {})
        if not isinstance(values, Mapping):
            raise Malformed(f"{where}.values", "expected an object")
        source = decode(str | None, data.get("source"), f"{where}.source")
        missing = decode(str | None, data.get("missing"), f"{where}.missing")
        kind = LINK_TYPES.get(name)
        if kind is None:
            return OtherLink(link_name=name, values=dict(values), source=source, missing=missing)
        return kind._from_values(values, f"{where}.values", source, missing)

    @classmethod
    def _from_values(
        cls, values: Mapping[str, object], where: str, source: str | None, missing: str | None
    ) -> Link:
        kwargs = decode_fields(cls, values, where, skip=("source", "missing"))
        return cls(source=source, missing=missing, **kwargs)


@frozen(kw_only=True)
class KubeletLink(Link):
    """The kubelet process (or, stopped, its unit and files) and its version."""

    NAME: ClassVar[str] = "kubelet"
    pid: int | None = None  # None: no kubelet process
    version: str | None = None  # None: not determined
    version_source: str | None = None  # "api:node/N", "host:/var/lib/dpkg/status", ...
    cmdline: tuple[str, ...] = ()


@frozen(kw_only=True)
class CriEndpointLink(Link):
    """The CRI endpoint the kubelet uses, who set it, and the daemon behind it."""

    NAME: ClassVar[str] = "cri-endpoint"
    endpoint: str | None = None  # as configured ("unix:///run/crio/crio.sock")
    set_by: str | None = None  # "flag --container-runtime-endpoint", "config ...", default
    socket: str | None = None  # the socket it reaches (its key); None: nothing there
    daemon_pid: int | None = None  # the daemon listening on it; None: not found
    runtime: str | None = None  # that daemon's name
    container_runs_here: bool | None = None  # the pod runs in that daemon; None: not asked


@frozen(kw_only=True)
class DaemonLink(Link):
    """A runtime daemon process: which one, how it was found, what it said."""

    NAME: ClassVar[str] = ""
    daemon: str = ""  # "containerd" | "crio" | "cri-dockerd" | "dockerd" (JSON: "name")
    pid: int | None = None  # None: no such process found
    version: str | None = None  # None: not answered
    version_source: str | None = None  # "cri:Version", "docker:/version", "host:..." ...
    config_file: str | None = None  # the file it was started with; None: its default
    config_source: str | None = None  # what named it: "--config", "default path"
    sockets: tuple[str, ...] = ()  # the API sockets it serves
    found_by: str | None = None  # how this daemon was tied to the container

    def value_data(self) -> dict[str, Any]:
        data = Link.value_data(self)
        return {"name": data.pop("daemon"), **data}

    @classmethod
    def _from_values(
        cls, values: Mapping[str, object], where: str, source: str | None, missing: str | None
    ) -> Link:
        renamed = {k: v for k, v in values.items() if k not in ("name", "daemon")}
        renamed["daemon"] = values.get("name", "")
        kwargs = decode_fields(cls, renamed, where, skip=("source", "missing"))
        return cls(source=source, missing=missing, **kwargs)


@frozen(kw_only=True)
class RuntimeLink(DaemonLink):
    """The daemon that runs the pod: the one behind the socket that listed it."""

    NAME: ClassVar[str] = "runtime"
    cri_api_version: str | None = None  # "v1" | "v1alpha2"; None: not a CRI runtime / no answer
    kubelet_runtime: bool | None = None  # it serves the kubelet's endpoint
    relays: str | None = None  # cri-dockerd: the Docker Engine version its CRI Version relays


@frozen(kw_only=True)
class DockerdLink(DaemonLink):
    """The Docker Engine behind cri-dockerd (or that runs a Docker container)."""

    NAME: ClassVar[str] = "dockerd"


@frozen(kw_only=True)
class ContainerdLink(DaemonLink):
    """The containerd that dockerd drives (namespace ``moby``)."""

    NAME: ClassVar[str] = "containerd"
    namespace: str | None = "moby"  # the containerd namespace of the container's tasks
    socket_from_dockerd: str | None = None  # the socket dockerd's configuration names


@frozen(kw_only=True)
class HandlerLink(Link):
    """The runtime handler (RuntimeClass) and what it resolves to in the runtime."""

    NAME: ClassVar[str] = "handler"
    runtime_handler: str = ""  # as the runtime reports it; "" is the default handler
    runtime_type: str | None = None  # "io.containerd.runc.v2"; CRI-O: "oci" | "vm" | "pod"
    runtime_options: dict[str, Any] = field(default_factory=dict)  # containerd's options
    snapshotter: str | None = None
    status_shape: str | None = None  # whose verbose info was read: "containerd" | "cri-o"
    resolved_handler: str | None = None  # the handler "" stands for (CRI-O default_runtime)
    resolved_by: str | None = None  # where that came from ("default_runtime (FILE:LINE)")
    runtime_path: str | None = None  # CRI-O runtime_path: the OCI runtime binary
    runtime_root: str | None = None  # CRI-O runtime_root: where that runtime keeps its state
    monitor_path: str | None = None  # CRI-O monitor_path: conmon
    defined_at: str | None = None  # the runtime table in the configuration ("FILE:LINE")


@frozen(kw_only=True)
class ShimLink(Link):
    """The monitor process the container's init process is a child of."""

    NAME: ClassVar[str] = "shim"
    pid: int | None = None
    binary: str | None = None  # "containerd-shim-runc-v2" | "conmon"
    namespace: str | None = None  # containerd namespace ("k8s.io", "moby")
    started_for: str | None = None  # the sandbox or container ID it was started for
    parent_of_container: bool | None = None
    parent_of_sandbox: bool | None = None  # None: no sandbox to compare with
    daemon_pid: int | None = None  # the daemon it belongs to; None: not determined
    address: str | None = None  # containerd shims: the daemon socket (-address)
    runtime: str | None = None  # conmon -r: the OCI runtime binary it runs
    runtime_args: tuple[str, ...] = ()  # conmon --runtime-arg
    bundle: str | None = None  # conmon -b, a containerd shim's -bundle: the OCI bundle
    cgroup: str | None = None  # the monitor's own cgroup (conmon: <pod>/crio-conmon-<id>)


@frozen(kw_only=True)
class OciRuntimeLink(Link):
    """The OCI runtime binary and the state it keeps for the container."""

    NAME: ClassVar[str] = "oci-runtime"
    binary: str | None = None
    version: str | None = None  # None: not run (replay) or unknown
    root: str | None = None  # the state root the container was found under
    state_file: str | None = None  # None: no state found
    state_init_pid: int | None = None
    bundle: str | None = None
    state_cgroup_path: str | None = None
    state_namespaces: dict[str, str] = field(default_factory=dict)  # type -> path ("": own)


@frozen(kw_only=True)
class ProcessesLink(Link):
    """The container's processes on the host."""

    NAME: ClassVar[str] = "processes"
    init_pid: int | None = None
    sandbox_pid: int | None = None  # the pod's pause process; None: no sandbox process
    runtime_reported_pid: int | None = None  # what the runtime's status says; None: not said
    pids: tuple[int, ...] = ()


@frozen(kw_only=True)
class NamespacesLink(Link):
    """The init process's namespaces, compared with the host's and the sandbox's."""

    NAME: ClassVar[str] = "namespaces"
    inodes: dict[str, int] = field(default_factory=dict)
    shared_with_host: tuple[str, ...] = ()
    shared_with_sandbox: tuple[str, ...] = ()
    host_reference: str | None = None  # the process standing for the host
    pinned: dict[str, str] = field(default_factory=dict)  # type -> file the runtime pinned
    runtime_rule: str | None = None  # the runtime's namespace rule that applies, with source


@frozen(kw_only=True)
class CgroupLink(Link):
    """The container's cgroup."""

    NAME: ClassVar[str] = "cgroup"
    path: str | None = None
    driver: str | None = None  # "cgroupfs" | "systemd"
    qos: str | None = None  # "Guaranteed" | "Burstable" | "BestEffort"; None: not a pod path


@frozen(kw_only=True)
class LimitsLink(Link):
    """The limits the kernel enforces in the container's cgroup (its own files)."""

    NAME: ClassVar[str] = "limits"
    limits: CgroupLimits = field(default_factory=CgroupLimits)

    def value_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self.limits)
        data["cpu_limit_millicores"] = self.limits.cpu_limit_millicores
        return data

    @classmethod
    def _from_values(
        cls, values: Mapping[str, object], where: str, source: str | None, missing: str | None
    ) -> Link:
        limits = CgroupLimits(**decode_fields(CgroupLimits, values, where))
        return cls(limits=limits, source=source, missing=missing)


@frozen(kw_only=True)
class RequestedLink(Link):
    """What the runtime's OCI spec asked for (``linux.resources``)."""

    NAME: ClassVar[str] = "requested"
    memory_limit_bytes: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    privileged: bool | None = None


@frozen(kw_only=True)
class OtherLink(Link):
    """A link of a kind this inspect8s does not know (from a newer one), kept as data."""

    link_name: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.link_name

    def value_data(self) -> dict[str, Any]:
        return dict(self.values)


LINK_TYPES: dict[str, type[Link]] = {
    k.NAME: k
    for k in (
        KubeletLink,
        CriEndpointLink,
        RuntimeLink,
        DockerdLink,
        ContainerdLink,
        HandlerLink,
        ShimLink,
        OciRuntimeLink,
        ProcessesLink,
        NamespacesLink,
        CgroupLink,
        LimitsLink,
        RequestedLink,
    )
}


def _links(data: object, where: str) -> tuple[Link, ...]:
    if not isinstance(data, list):
        raise Malformed(where, "expected a list of links")
    return tuple(Link.from_data(item, where=f"{where}[{i}]") for i, item in enumerate(data))


@frozen
class ContainerTrace:
    """Where one container sits, link by link (see docs/architecture.md)."""

    container_id: str
    name: str | None
    pod_name: str | None
    pod_namespace: str | None
    links: tuple[Link, ...]

    def link(self, name: str) -> Link | None:
        for item in self.links:
            if item.name == name:
                return item
        return None

    def get(self, kind: type[L]) -> L | None:
        """The link of type ``kind``; None: the trace has none."""
        return next((x for x in self.links if isinstance(x, kind)), None)

    def to_data(self) -> dict[str, Any]:
        return {
            "container_id": self.container_id,
            "name": self.name,
            "pod_name": self.pod_name,
            "pod_namespace": self.pod_namespace,
            "links": [link.to_data() for link in self.links],
        }

    @classmethod
    def from_data(cls, data: object, *, where: str = "") -> ContainerTrace:
        if not isinstance(data, Mapping):
            raise Malformed(where, "expected a container trace object")
        kwargs = decode_fields(cls, data, where, skip=("links",))
        return cls(links=_links(data.get("links", []), f"{where}.links"), **kwargs)


@frozen
class RuntimeChain:
    """The trace of one pod: the links it shares (kubelet..runtime) and one trace per container."""

    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    node_links: tuple[Link, ...]
    sandbox: ContainerTrace | None
    containers: tuple[ContainerTrace, ...]
    errors: tuple[ProbeError, ...] = ()
    notes: tuple[str, ...] = ()  # what a reader should know: other pods of the same name, ...
    api: Pod | None = None  # the pod as the Kubernetes API shows it; None: the API was not used
    traced_on: str | None = None  # "this machine", "bundle DIR", "agent pod on node N"

    def node_link(self, kind: type[L]) -> L | None:
        return next((x for x in self.node_links if isinstance(x, kind)), None)

    def to_data(self) -> dict[str, Any]:
        return {
            "pod_name": self.pod_name,
            "pod_namespace": self.pod_namespace,
            "pod_uid": self.pod_uid,
            "node_links": [link.to_data() for link in self.node_links],
            "sandbox": self.sandbox.to_data() if self.sandbox else None,
            "containers": [c.to_data() for c in self.containers],
            "errors": to_data(self.errors),
            "notes": list(self.notes),
            "api": to_data(self.api),
            "traced_on": self.traced_on,
        }

    @classmethod
    def from_data(cls, data: object, *, where: str = "") -> RuntimeChain:
        """A chain read back from its document (``kind`` and ``schemaVersion`` may be
        there); raises :class:`~inspect8s.model.serialize.Malformed`."""
        if not isinstance(data, Mapping):
            raise Malformed(where, "expected a RuntimeChain object")
        kind = data.get("kind", "RuntimeChain")
        if kind != "RuntimeChain":
            raise Malformed(f"{where}.kind", f"expected a RuntimeChain document, got {kind!r}")
        version = data.get("schemaVersion", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise Malformed(
                f"{where}.schemaVersion",
                f"schema version {version!r}; this inspect8s reads {SCHEMA_VERSION}",
            )
        kwargs = decode_fields(cls, data, where, skip=("node_links", "sandbox", "containers"))
        sandbox = data.get("sandbox")
        containers = data.get("containers", [])
        if not isinstance(containers, list):
            raise Malformed(f"{where}.containers", "expected a list")
        return cls(
            node_links=_links(data.get("node_links", []), f"{where}.node_links"),
            sandbox=None
            if sandbox is None
            else ContainerTrace.from_data(sandbox, where=f"{where}.sandbox"),
            containers=tuple(
                ContainerTrace.from_data(c, where=f"{where}.containers[{i}]")
                for i, c in enumerate(containers)
            ),
            **kwargs,
        )


def chain_from_document(data: object, source: str) -> RuntimeChain:
    """A ``RuntimeChain`` document (another inspect8s's output: an agent pod's log, a
    file) as models; ``ProbeFailed(MALFORMED)`` naming ``source`` when it does not fit."""
    try:
        return RuntimeChain.from_data(data)
    except Malformed as exc:
        raise exc.probe(source) from None
    except RecursionError:
        raise ProbeFailed(ErrorKind.MALFORMED, source, "nested too deeply") from None


@frozen
class ProcessOrigin:
    """What one host process is, in the chain's terms (``inspect8s pid``)."""

    pid: int  # the process (thread group) ID
    thread: int  # the ID asked about (== pid unless a thread was named)
    comm: str
    role: str  # "container" | "sandbox" | "monitor" | "runtime" | "kubelet" | "host"
    description: str  # one line: "the sandbox (pause process) of pod shop/web (UID ...)"
    cgroup: str  # its cgroup path (a v1 controller's line on v1 and hybrid hosts)
    container_id: str | None = None  # its container, or the one it monitors; None: neither
    pod_namespace: str | None = None
    pod_name: str | None = None
    pod_uid: str | None = None
    cgroup_line: str = ""  # which /proc/<pid>/cgroup line ``cgroup`` is: a v1 controller, "unified"
