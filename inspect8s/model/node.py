"""The node as inspect8s sees it: runtimes, sockets, shims, the kubelet, containers."""

from __future__ import annotations

from dataclasses import field

from inspect8s.errors import ProbeError
from inspect8s.model.frozen import frozen
from inspect8s.model.host import CgroupLimits, CgroupVersion, ContainerMount, QoS


@frozen
class RuntimeDaemon:
    """A container runtime daemon found on the node."""

    name: str  # "containerd" | "crio" | "cri-dockerd" | "dockerd" | "podman"
    pid: int | None  # None: only its socket was found
    version: str | None  # None: not asked or not answered
    sockets: tuple[str, ...] = ()
    config_file: str | None = None  # None: default / not given on the command line
    cmdline: tuple[str, ...] = ()
    version_source: str | None = None  # e.g. "cri:Version", "docker:/version"
    config_source: str | None = None  # what named config_file: "--config" or "default path"
    mount_ns: int | None = None  # inode of its mount namespace; None: unreadable or no process


@frozen
class SocketInfo:
    """A runtime socket: one file, however many paths name it (``/var/run`` -> ``/run``).

    ``key`` tells sockets apart when two daemons in different mount namespaces bind the
    same path (each sees its own ``/run``): it is ``path`` when that is unique on the node,
    else ``path@pid:<daemon pid>``; bundles file each socket's answers under it.
    """

    path: str  # as its daemon names it (its listening path), else as first named
    runtime: str  # "containerd" | "crio" | "cri-dockerd" | "dockerd" | "dockershim" | ...
    kind: str  # "socket" | "file" | "dir"
    aliases: tuple[str, ...] = ()  # other paths that reach the same file
    daemon_pid: int | None = None  # the process listening on it; None: not found
    named_by: tuple[str, ...] = ()  # who names this socket: "containerd --address (PID 812)"
    address: str | None = None  # the host path used to reach it, when not ``path`` itself
    key: str = ""  # unique among the node's sockets; "" means ``path``

    @property
    def ident(self) -> str:
        return self.key or self.path


@frozen
class Shim:
    """A per-sandbox/per-container monitor process (containerd-shim-*, conmon)."""

    pid: int
    kind: str  # binary name: "containerd-shim-runc-v2", "conmon", ...
    namespace: str | None  # containerd namespace from "-namespace" (k8s.io, moby); None: n/a
    id: str | None  # sandbox / container id the shim was started for; None: unknown
    child_pids: tuple[int, ...] = ()
    container_ids: tuple[str, ...] = ()
    daemon_pid: int | None = None  # the runtime daemon it belongs to; None: not determined
    address: str | None = None  # containerd shims: the daemon socket given with -address


@frozen
class KubeletProcess:
    pid: int
    version: str | None  # None: could not be determined from the host
    cmdline: tuple[str, ...]
    flags: dict[str, str]  # "--flag" -> value ("true" for bare boolean flags)


@frozen
class NamespaceReference:
    """The process whose namespaces stand for "the host" when comparing inodes."""

    pid: int | None  # None: no readable reference
    reason: str  # e.g. "PID 1", "PID 1 unreadable (permission); using containerd PID 812"
    namespaces: dict[str, int] = field(default_factory=dict)


@frozen
class UidMapRange:
    """One line of /proc/<pid>/uid_map: ``count`` IDs from ``inside`` map to ``outside``
    (in the parent user namespace; the host's for a container's first level)."""

    inside: int
    outside: int
    count: int


def host_uid(uid: int, uid_map: tuple[UidMapRange, ...]) -> int | None:
    """The host UID that ``uid`` (inside the namespace) is; None: not mapped."""
    for r in uid_map:
        if r.inside <= uid < r.inside + r.count:
            return r.outside + (uid - r.inside)
    return None


@frozen
class Container:
    """A container as seen on the node: host truth joined with what the runtime says."""

    id: str
    runtime: str
    name: str | None  # None: the runtime did not answer and no label said
    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    qos: QoS | None
    init_pid: int | None  # None: not running / not found
    shim_pid: int | None
    pids: tuple[int, ...]
    cgroup_path: str
    cgroup_driver: str
    limits: CgroupLimits
    namespaces: dict[str, int]
    host_namespaces: tuple[str, ...]  # ns types whose inode equals the host reference's
    is_sandbox: bool = False  # the pod's pause/sandbox container
    image: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    name_source: str | None = None  # where name/pod came from: "cri", "docker", "cgroup"
    # Of the init process, from /proc/<pid>/status (container checks); None: not read.
    cap_eff: int | None = None  # CapEff bit mask
    seccomp_mode: int | None = None  # 0 disabled, 1 strict, 2 filter
    no_new_privs: bool | None = None
    mounts: tuple[ContainerMount, ...] | None = None  # its mount table; None: not read
    pod_limits: CgroupLimits | None = None  # of the parent (pod) cgroup; None: not read
    runtime_pid: int | None = None  # PID of the daemon that runs it; None: not determined
    endpoint: str | None = None  # key of the socket whose runtime listed it; None: none did
    # Of the init process, for the host-truth checks (host/containertruth.py):
    uid: int | None = None  # effective UID inside its user namespace; None: status not read
    uid_map: tuple[UidMapRange, ...] | None = None  # /proc/<pid>/uid_map; None: not read
    devices_allow_all: bool | None = None  # v1 devices.list is "a *:* rwm"; None: not known


@frozen
class NodeInfo:
    hostname: str
    kernel: str
    os_release: str | None  # PRETTY_NAME; None: /etc/os-release unreadable
    cgroup_version: CgroupVersion | None  # None: no cgroup mount found
    cgroup_driver: str | None  # as implied by the container cgroup paths; None: no containers
    root: str


@frozen
class NodeReport:
    """The whole node picture, as `inspect8s node` prints it."""

    node: NodeInfo
    runtimes: tuple[RuntimeDaemon, ...]
    sockets: tuple[SocketInfo, ...]
    shims: tuple[Shim, ...]
    kubelet: KubeletProcess | None
    host_reference: NamespaceReference
    containers: tuple[Container, ...]
    errors: tuple[ProbeError, ...]
    not_found: tuple[str, ...] = ()  # things looked for and absent, said plainly
    kubelet_runtime: KubeletRuntime | None = None  # None: no kubelet process, unit or config
    kubelet_version: KubeletVersion | None = None  # None: not determined


@frozen
class KubeletRuntime:
    """The CRI endpoint the kubelet uses and the runtime behind it, each with its source.

    Found from the running kubelet's flags, else its unit, drop-ins, env files and config
    file (a stopped kubelet leaves those), else the kubelet's built-in default.
    """

    endpoint: str  # as configured ("unix:///run/containerd/containerd.sock")
    set_by: str  # "flag --container-runtime-endpoint", "config containerRuntimeEndpoint", ...
    source: (
        str  # where it was read: "host:/proc/6032/cmdline", "host:/var/lib/kubelet/config.yaml:12"
    )
    kubelet_pid: int | None = None  # None: the kubelet is not running
    socket: str | None = None  # SocketInfo.ident of that endpoint; None: no such socket
    daemon_pid: int | None = None  # the daemon serving it; None: not found
    runtime: str | None = None  # that daemon's name; None: unknown
    problem: str | None = None  # why the endpoint leads nowhere; None: it was found


@frozen
class RuntimeCondition:
    """One CRI ``Status`` condition (``RuntimeReady``, ``ContainerdHasNoDeprecationWarnings``)."""

    type: str
    status: bool  # protobuf leaves false out of the JSON answer: absent means False
    reason: str = ""
    message: str = ""


@frozen
class RuntimeStatus:
    """What one CRI endpoint answered to Version, Status(verbose) and RuntimeConfig."""

    endpoint: str  # the socket's host path
    runtime_name: str | None  # Version.runtimeName ("containerd", "cri-o"); None: no answer
    runtime_version: str | None  # Version.runtimeVersion; None: no answer
    api_version: str | None  # "v1" | "v1alpha2"; None: neither API answered
    conditions: tuple[RuntimeCondition, ...] | None = ()  # None: Status not answered
    cgroup_driver: str | None = None  # "systemd" | "cgroupfs" | "unimplemented"; None: failed
    sandbox_image: str | None = None  # from the verbose Status config; None: not reported
    source: str = "cri"  # "cri" (live) or "bundle:<dir>"
    errors: tuple[str, ...] = ()  # one line per call that failed ("Version: unavailable: ...")
    socket: str = ""  # SocketInfo.ident of the socket asked; "": ``endpoint``
    daemon_pid: int | None = None  # the daemon serving it; None: not found


@frozen
class DockerEngineStatus:
    """What one Docker Engine socket answered."""

    endpoint: str  # the socket's host path
    version: str | None  # /version Version; None: no answer
    api_version: str | None  # /version ApiVersion
    containers: tuple[str, ...] = ()  # ids from /containers/json?all=1; (): none or not asked
    source: str = "docker"  # "docker" (live) or "bundle:<dir>"


@frozen
class KubeletVersion:
    """The kubelet's version and where it was read (``--kubelet-version``, a bundle, dpkg)."""

    version: str  # "v1.26.4" or "1.26.4-00" as the source wrote it
    source: str  # "option", "bundle:<dir>", "host:/var/lib/dpkg/status", "api:node/<name>"

    @property
    def minor(self) -> int | None:
        parts = self.version.lstrip("v").split(".")
        if len(parts) < 2 or parts[0] != "1":
            return None
        digits = "".join(ch for ch in parts[1] if ch.isdigit())
        return int(digits) if digits else None


@frozen
class SocketHolder:
    """A process holding a connection to (or the listener of) a runtime socket."""

    pid: int
    comm: str
    cmdline: tuple[str, ...]
    socket: str  # the socket's path
    fd: int
    role: str  # "listener" (the daemon's own end) | "client" (the peer of an accepted conn)
