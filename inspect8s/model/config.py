"""Node configuration with provenance: kubelet, containerd, CRI-O, dockerd, crictl."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    grpc_address: ConfigValue | None = None  # [grpc] address; None: not set (the default socket)

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
