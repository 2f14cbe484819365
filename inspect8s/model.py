"""Frozen models: what the collectors turn raw data into. No I/O here.

Units are in field names; where a field may be ``None`` the comment on the same line
says what ``None`` means. ``to_json`` helpers live in ``inspect8s/serialize.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from inspect8s.errors import ProbeError

# Namespace types as named under /proc/<pid>/ns (pid_for_children/time_for_children are
# read too but are not "the process's" namespace).
NAMESPACE_TYPES: tuple[str, ...] = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


class QoS(StrEnum):
    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BESTEFFORT = "BestEffort"


class CgroupVersion(StrEnum):
    V1 = "v1"
    V2 = "v2"
    HYBRID = "hybrid"  # v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified)


# --------------------------------------------------------------------------- host


@dataclass(frozen=True, slots=True)
class CgroupEntry:
    """One line of /proc/<pid>/cgroup: ``hierarchy-id:controllers:path``."""

    hierarchy_id: int
    controllers: tuple[str, ...]  # () for the v2 line "0::/..."
    path: str


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One process as read from /proc/<pid>/{stat,status,cmdline,ns/*,cgroup}."""

    pid: int
    ppid: int
    comm: str
    cmdline: tuple[str, ...]  # () for kernel threads and unreadable cmdlines
    state: str
    start_time_ticks: int
    namespaces: dict[str, int]  # ns type -> inode; a type is absent when its link was unreadable
    cgroups: tuple[CgroupEntry, ...]
    uid: int | None = None  # effective uid; None: status not read (see host/scan.py) or unreadable
    cap_eff: int | None = None  # None: status not read or unreadable
    seccomp_mode: int | None = None  # 0 disabled, 1 strict, 2 filter; None: unknown
    no_new_privs: bool | None = None  # None: unknown (kernel too old or status unreadable)
    threads: int | None = None
    nspid: tuple[int, ...] = ()  # status "NSpid:", host PID first; (): status not read
    cmdline_read: bool = True  # False: the host scan skipped cmdline (host/scan.py, "needed")

    @property
    def exe_name(self) -> str:
        """The program's base name from argv[0], falling back to comm."""
        if self.cmdline:
            return self.cmdline[0].rsplit("/", 1)[-1]
        return self.comm


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of /proc/<pid>/mountinfo (proc(5))."""

    mount_id: int
    parent_id: int
    major_minor: str
    root: str  # the path within the source filesystem that forms this mount's root
    mount_point: str
    options: tuple[str, ...]  # per-mount options ("rw", "nosuid", ...)
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


@dataclass(frozen=True, slots=True)
class CgroupLimits:
    """Effective limits and stats of one cgroup, from whichever version holds them.

    Every limit is ``None`` when there is no limit (v2 "max", v1's page-counter sentinel);
    an unreadable file is a ProbeError in the snapshot, never a silent ``None``.
    """

    memory_max_bytes: int | None = None  # None: unlimited
    memory_usage_bytes: int | None = None  # None: not read
    memory_oom_kills: int | None = None  # None: not reported by this kernel/version
    memory_failcnt: int | None = None  # v1 only
    cpu_quota_us: int | None = None  # None: unlimited (-1 / "max")
    cpu_period_us: int | None = None
    cpu_shares: int | None = None  # v1 cpu.shares
    cpu_weight: int | None = None  # v2 cpu.weight
    cpu_nr_periods: int | None = None
    cpu_nr_throttled: int | None = None
    cpu_throttled_usec: int | None = None
    pids_max: int | None = None  # None: unlimited
    pids_current: int | None = None

    @property
    def cpu_limit_millicores(self) -> int | None:
        """The CPU limit as Kubernetes writes it (quota/period in millicores); None: no limit."""
        if self.cpu_quota_us is None or not self.cpu_period_us:
            return None
        return (self.cpu_quota_us * 1000) // self.cpu_period_us


@dataclass(frozen=True, slots=True)
class ContainerIdentity:
    """What a cgroup path says about the container a process belongs to."""

    runtime: str  # "containerd" | "crio" | "docker" | "podman" | "unknown"
    container_id: str
    pod_uid: str | None  # None: not a Kubernetes pod path (plain docker/podman)
    qos: QoS | None  # None: not a pod path
    driver: str  # "cgroupfs" | "systemd"
    cgroup_path: str


# --------------------------------------------------------------------------- node


@dataclass(frozen=True, slots=True)
class RuntimeDaemon:
    """A container runtime daemon found on the node."""

    name: str  # "containerd" | "crio" | "cri-dockerd" | "dockerd" | "podman"
    pid: int | None  # None: only its socket was found
    version: str | None  # None: not asked or not answered
    sockets: tuple[str, ...] = ()
    config_file: str | None = None  # None: default / not given on the command line
    cmdline: tuple[str, ...] = ()
    version_source: str | None = None  # e.g. "cri:Version", "docker:/version"


@dataclass(frozen=True, slots=True)
class SocketInfo:
    """A runtime socket path looked for under the root."""

    path: str
    runtime: str
    kind: str  # "socket" | "file" | "dir"


@dataclass(frozen=True, slots=True)
class Shim:
    """A per-sandbox/per-container monitor process (containerd-shim-*, conmon)."""

    pid: int
    kind: str  # binary name: "containerd-shim-runc-v2", "conmon", ...
    namespace: str | None  # containerd namespace from "-namespace" (k8s.io, moby); None: n/a
    id: str | None  # sandbox / container id the shim was started for; None: unknown
    child_pids: tuple[int, ...] = ()
    container_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KubeletProcess:
    pid: int
    version: str | None  # None: could not be determined from the host
    cmdline: tuple[str, ...]
    flags: dict[str, str]  # "--flag" -> value ("true" for bare boolean flags)


@dataclass(frozen=True, slots=True)
class NamespaceReference:
    """The process whose namespaces stand for "the host" when comparing inodes."""

    pid: int | None  # None: no readable reference
    reason: str  # e.g. "PID 1", "PID 1 unreadable (permission); using containerd PID 812"
    namespaces: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class NodeInfo:
    hostname: str
    kernel: str
    os_release: str | None  # PRETTY_NAME; None: /etc/os-release unreadable
    cgroup_version: CgroupVersion | None  # None: no cgroup mount found
    cgroup_driver: str | None  # as implied by the container cgroup paths; None: no containers
    root: str


@dataclass(frozen=True, slots=True)
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


# --------------------------------------------------------------------------- Kubernetes


@dataclass(frozen=True, slots=True)
class ResourceList:
    """Requests or limits of one container in canonical units; None: not set."""

    cpu_millicores: int | None = None
    memory_bytes: int | None = None
    ephemeral_storage_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    host_path: str | None  # None: not a hostPath volume
    host_path_type: str | None = None
    kind: str = "other"  # "hostPath" | "emptyDir" | "configMap" | ... first key of the volume


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """A container of a pod spec, plus its status when the pod came from the API."""

    name: str
    image: str
    requests: ResourceList
    limits: ResourceList
    privileged: bool = False
    allow_privilege_escalation: bool | None = None  # None: not set (defaults to true)
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    seccomp_profile: str | None = None  # "RuntimeDefault" | "Unconfined" | "Localhost"; None: unset
    host_ports: tuple[int, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    init: bool = False
    # status
    container_id: str | None = None  # "containerd://<id>" as the API reports it; None: not started
    restart_count: int = 0
    last_termination_reason: str | None = None
    ready: bool | None = None
    state: str | None = None  # "running" | "waiting" | "terminated"; None: no status (manifest)
    state_reason: str | None = None  # e.g. "CrashLoopBackOff", "OOMKilled"; None: none given


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    namespace: str
    uid: str | None
    node_name: str | None
    phase: str | None
    qos: QoS | None  # status.qosClass, or computed from the spec for manifests
    containers: tuple[ContainerSpec, ...]
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False
    seccomp_profile: str | None = None  # pod-level securityContext.seccompProfile.type
    volumes: tuple[Volume, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    runtime_class: str | None = None
    owner: str | None = None  # "ReplicaSet/frontend-abc" of the first ownerReference
    source: str = "api"  # "api" | "manifest:<file>#<doc index>" | "runtime"


@dataclass(frozen=True, slots=True)
class KubeNode:
    name: str
    kubelet_version: str | None
    container_runtime_version: str | None  # "containerd://1.6.20", "docker://20.10.24"
    os_image: str | None
    kernel_version: str | None
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, str], ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()  # (type, address)

    @property
    def cri_socket_annotation(self) -> str | None:
        return self.annotations.get("kubeadm.alpha.kubernetes.io/cri-socket")


# --------------------------------------------------------------------------- trace


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a runtime chain: a named step, its values, and what proved them.

    ``missing`` is None when the link was established, else the reason it was not.
    """

    name: str  # "kubelet" | "cri-endpoint" | "runtime" | "handler" | "shim" | "oci-runtime" ...
    values: dict[str, object]
    source: str | None
    missing: str | None = None


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class RuntimeChain:
    """The trace of one pod: the links it shares (kubelet..runtime) and one trace per container."""

    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    node_links: tuple[Link, ...]
    sandbox: ContainerTrace | None
    containers: tuple[ContainerTrace, ...]
    errors: tuple[ProbeError, ...] = ()


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything collected for one run: what checks read and renderers show.

    A part is ``None`` / empty when it was not collected (no API access, no node probe);
    why is in ``errors`` or in the command's options, never guessed.
    """

    node: NodeReport | None = None
    pods: tuple[Pod, ...] = ()
    kube_nodes: tuple[KubeNode, ...] = ()
    traces: tuple[RuntimeChain, ...] = ()
    errors: tuple[ProbeError, ...] = ()
    node_config: NodeConfig | None = None  # None: node configuration not collected
    # Node audit (inspect8s/nodeaudit.py); empty / None when not collected:
    runtime_status: tuple[RuntimeStatus, ...] = ()  # one per CRI endpoint that was asked
    docker_engines: tuple[DockerEngineStatus, ...] = ()  # one per Docker socket that was asked
    kubelet_version: KubeletVersion | None = None  # None: not determined
    docker_socket_holders: tuple[SocketHolder, ...] | None = None  # None: not scanned
    runtime_classes: tuple[RuntimeClass, ...] | None = None  # None: not listed / no API


# --------------------------------------------------------------------------- node configuration


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """One configuration value and where it came from.

    ``source`` is the host path of the file that set it ("/var/lib/kubelet/config.yaml"),
    ``"cmdline"`` (the live process's command line) or ``"default"`` (built into the
    program; see the ``key`` docs of the model holding it).
    """

    key: str  # as written in the source: "--cgroup-driver", "cgroupDriver", a dotted TOML path
    value: object  # as parsed: str, int, bool, float, list or dict (flags: str; "true" if bare)
    source: str
    line: int | None = None  # 1-based line in ``source``; None: not a file, or line not found
    overrides: tuple[ConfigValue, ...] = ()  # the values this one replaced, latest first

    def where(self) -> str:
        """ "file:line", "file", "cmdline" or "default": for messages."""
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True, slots=True)
class KubeletConfig:
    """The kubelet's effective configuration, merged the way the kubelet merges it.

    Precedence (lowest first): built-in defaults, the ``--config`` file, the
    ``--config-dir`` drop-ins in lexical order, command-line flags. ``settings`` is keyed by
    top-level KubeletConfiguration field (camelCase); nested fields (``authentication``)
    are merged as the kubelet merges them and carry the last source that touched them.
    """

    settings: dict[str, ConfigValue]  # field -> effective value (defaults included)
    flags: dict[str, ConfigValue]  # "--flag" -> value: every flag the kubelet runs with
    feature_gates: dict[str, ConfigValue]  # gate -> bool, config file(s) then --feature-gates
    flags_from: str  # "cmdline" (live process) | "unit" (systemd unit/env files) | "none"
    config_file: str | None  # --config path; None: no --config flag
    config_dir: str | None = None  # --config-dir path; None: not given
    drop_ins: tuple[str, ...] = ()  # drop-in files read, in merge order
    unit_flags: dict[str, ConfigValue] = field(default_factory=dict)  # what the unit passes
    unit_files: tuple[str, ...] = ()  # kubelet.service and its drop-ins, in systemd order
    env_files: tuple[str, ...] = ()  # EnvironmentFile= / kubeadm-flags.env files read
    kubeadm_instance: dict[str, ConfigValue] = field(default_factory=dict)  # instance-config.yaml
    version: str | None = None  # kubelet version the defaults were chosen for; None: unknown


@dataclass(frozen=True, slots=True)
class ContainerdRuntime:
    """One CRI runtime handler of containerd (``...containerd.runtimes.<name>``)."""

    name: str
    runtime_type: ConfigValue | None  # None: not set (containerd uses io.containerd.runc.v2)
    options: dict[str, ConfigValue]  # SystemdCgroup, BinaryName, Root, ... as written
    source: str  # file that defines it
    line: int | None = None  # line of its table header; None: not found

    @property
    def systemd_cgroup(self) -> bool | None:
        """``options.SystemdCgroup``; None: not set (containerd's default is false)."""
        value = self.options.get("SystemdCgroup")
        return value.value if value is not None and isinstance(value.value, bool) else None


@dataclass(frozen=True, slots=True)
class DeprecatedKey:
    """A configuration key or value that a containerd release ignores or removed.

    ``id`` is stable for rules: "systemd_cgroup", "default_runtime",
    "untrusted_workload_runtime", "runtime_engine", "runtime_root", "disable_cgroup",
    "CriuPath", "runtime.v1.linux", "runc.v1", "aufs", "registry.mirrors",
    "registry.configs", "registry.auths", "cni.bin_dir", "tracing", "v2-key-in-v3".
    """

    id: str
    value: ConfigValue  # key = full dotted TOML path as written, with file and line
    removed_in: str  # containerd release that removed (or plans to remove) it: "2.0", "2.2"
    replacement: str  # what to use instead, one line


@dataclass(frozen=True, slots=True)
class ContainerdConfig:
    """containerd's configuration: the main file merged with its ``imports``.

    ``version`` 1 is assumed when the file has none. Plugin ids are fully qualified
    (v1 short names such as ``cri`` are mapped as containerd's v1 migration maps them).
    """

    path: str  # the main config file
    version: int  # effective config version (1 when absent)
    version_value: ConfigValue | None  # the ``version = N`` line; None: absent
    files: tuple[str, ...]  # every file merged, main first, in containerd's load order
    plugins: dict[str, ConfigValue]  # plugin id -> its whole section (value: dict), by file
    disabled_plugins: tuple[ConfigValue, ...]  # each entry as written (str)
    runtimes: dict[str, ContainerdRuntime]
    default_runtime_name: ConfigValue | None  # None: not set (containerd default "runc")
    sandbox_image: ConfigValue | None  # v1/v2 sandbox_image, v3 pinned_images.sandbox; None: unset
    snapshotter: ConfigValue | None  # None: not set (overlayfs)
    registry_config_path: ConfigValue | None  # registry.config_path (hosts.toml dir); None: unset
    registry_mirrors: dict[str, ConfigValue]  # host -> endpoint list
    registry_configs: dict[str, ConfigValue]  # host -> table (auth values replaced by "***")
    registry_auths: dict[str, ConfigValue]  # host -> table (values replaced by "***")
    deprecated_keys: tuple[DeprecatedKey, ...]
    cri_plugin_ids: tuple[
        str, ...
    ]  # CRI plugin ids for this version, e.g. io.containerd.grpc.v1.cri

    @property
    def cri_disabled(self) -> bool:
        """True when ``disabled_plugins`` names the CRI plugin ("cri" or a CRI plugin id)."""
        names = {"cri", "io.containerd.grpc.v1.cri", *self.cri_plugin_ids}
        return any(v.value in names for v in self.disabled_plugins)


@dataclass(frozen=True, slots=True)
class CrioRuntime:
    name: str
    runtime_path: ConfigValue | None  # None: not set (CRI-O looks the name up in $PATH)
    runtime_type: ConfigValue | None  # "oci" | "vm" | "pod"; None: not set ("oci")
    runtime_root: ConfigValue | None
    source: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class CrioConfig:
    """CRI-O's crio.conf followed by crio.conf.d/*.conf in lexical order (later wins per key)."""

    files: tuple[str, ...]  # files merged, in order
    settings: dict[str, ConfigValue]  # dotted TOML path ("crio.runtime.cgroup_manager") -> value
    runtimes: dict[str, CrioRuntime]
    cgroup_manager: ConfigValue | None  # None: not set (CRI-O default "systemd")
    conmon_cgroup: ConfigValue | None
    default_runtime: ConfigValue | None  # None: not set ("crun" in CRI-O >= 1.31, "runc" before)
    pause_image: ConfigValue | None  # None: not set (CRI-O's built-in pause image)


@dataclass(frozen=True, slots=True)
class DockerDaemonConfig:
    """dockerd's daemon.json (top-level keys with lines)."""

    path: str
    settings: dict[str, ConfigValue]  # top-level key -> value
    cgroup_driver: ConfigValue | None  # from exec-opts native.cgroupdriver; None: not set
    registry_mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    data_root: ConfigValue | None = None  # None: not set (/var/lib/docker)
    containerd_address: ConfigValue | None = None  # "containerd"; None: dockerd's own/managed


@dataclass(frozen=True, slots=True)
class CrictlConfig:
    """crictl's configuration file (/etc/crictl.yaml or $CRI_CONFIG_FILE)."""

    path: str
    runtime_endpoint: ConfigValue | None  # None: not set: crictl tries its default list
    image_endpoint: ConfigValue | None  # None: not set: crictl uses the runtime endpoint
    settings: dict[str, ConfigValue] = field(default_factory=dict)  # every key of the file
    default_endpoints: tuple[str, ...] = ()  # the list crictl falls back to; () when set

    @property
    def uses_default_endpoints(self) -> bool:
        return self.runtime_endpoint is None or not str(self.runtime_endpoint.value).strip()


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Node configuration with provenance. A part is None when its file is absent."""

    kubelet: KubeletConfig | None  # None: no kubelet command line, unit or config found
    containerd: ContainerdConfig | None  # None: no config file (containerd built-in defaults)
    crio: CrioConfig | None  # None: no crio.conf and no drop-ins
    docker: DockerDaemonConfig | None  # None: no daemon.json
    crictl: CrictlConfig | None  # None: no crictl.yaml (crictl uses its default endpoints)


# --------------------------------------------------------------------------- node audit


@dataclass(frozen=True, slots=True)
class RuntimeCondition:
    """One CRI ``Status`` condition (``RuntimeReady``, ``ContainerdHasNoDeprecationWarnings``)."""

    type: str
    status: bool  # protobuf leaves false out of the JSON answer: absent means False
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class RuntimeStatus:
    """What one CRI endpoint answered to Version, Status(verbose) and RuntimeConfig."""

    endpoint: str  # the socket's host path
    runtime_name: str | None  # Version.runtimeName ("containerd", "cri-o"); None: no answer
    runtime_version: str | None  # Version.runtimeVersion; None: no answer
    api_version: str | None  # "v1" | "v1alpha2"; None: neither API answered
    conditions: tuple[RuntimeCondition, ...] = ()  # (): Status not answered
    cgroup_driver: str | None = None  # "systemd" | "cgroupfs" | "unimplemented"; None: failed
    sandbox_image: str | None = None  # from the verbose Status config; None: not reported
    source: str = "cri"  # "cri" (live) or "bundle:<dir>"
    errors: tuple[str, ...] = ()  # one line per call that failed ("Version: unavailable: ...")


@dataclass(frozen=True, slots=True)
class DockerEngineStatus:
    """What one Docker Engine socket answered."""

    endpoint: str  # the socket's host path
    version: str | None  # /version Version; None: no answer
    api_version: str | None  # /version ApiVersion
    containers: tuple[str, ...] = ()  # ids from /containers/json?all=1; (): none or not asked
    source: str = "docker"  # "docker" (live) or "bundle:<dir>"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class SocketHolder:
    """A process holding a connection to (or the listener of) a runtime socket."""

    pid: int
    comm: str
    cmdline: tuple[str, ...]
    socket: str  # the socket's path
    fd: int
    role: str  # "listener" (the daemon's own end) | "client" (the peer of an accepted conn)


# --------------------------------------------------------------------------- container truth


@dataclass(frozen=True, slots=True)
class ContainerMount:
    """One mount of a container's mount namespace, with where it comes from on the host."""

    mount_point: str  # inside the container
    fs_type: str
    read_only: bool
    root: str  # mountinfo field 4: the path within the source filesystem
    source: str  # mountinfo mount source ("/dev/sda1", "tmpfs", "cgroup")
    host_path: str | None  # the host path a bind mount shows; None: not a host path / unknown


@dataclass(frozen=True, slots=True)
class RuntimeClass:
    """A node.k8s.io/v1 RuntimeClass: the name pods use and the CRI handler it selects."""

    name: str
    handler: str
