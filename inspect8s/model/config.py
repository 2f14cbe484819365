"""Node configuration with provenance: kubelet, containerd, CRI-O, dockerd, crictl."""

from __future__ import annotations

from dataclasses import field

from inspect8s.errors import ProbeError
from inspect8s.model.frozen import frozen

# The kinds of place a kubelet value comes from (``ConfigValue.origin``), lowest precedence
# first as the kubelet applies them.
KUBELET_ORIGINS = (
    "default",  # built into the kubelet of that version (flag or KubeletConfiguration default)
    "known-location",  # nothing names it: found where kubeadm or a distribution puts it
    "config",  # the --config file
    "config-drop-in",  # a --config-dir drop-in
    "unit",  # the ExecStart=/Environment= of kubelet.service itself
    "unit-drop-in",  # a kubelet.service.d/*.conf drop-in (kubeadm's 10-kubeadm.conf)
    "env-file",  # an EnvironmentFile=: kubeadm-flags.env, /etc/default/kubelet, ...
    "cmdline",  # the running process's command line, where no unit file explains it
    "configz",  # the running kubelet's own answer on /configz
)


@frozen
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
    origin: str | None = None  # one of KUBELET_ORIGINS; None: not classified (other daemons)
    via: str | None = None  # the systemd variable that carried a flag ("KUBELET_EXTRA_ARGS")

    def where(self) -> str:
        """ "file:line", "file", "cmdline" or "default": for messages."""
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@frozen
class KubeletFile:
    """A file the kubelet uses, named by its unit, a flag or a setting, with mode and owner."""

    path: str  # host path
    role: str  # unit, unit-drop-in, config, config-drop-in, kubeconfig, client-ca, proxy-kubeconfig
    named_by: ConfigValue | None  # the flag or setting that names it; None: systemd's unit search
    mode: int | None = None  # permission bits (0o644); None: not read, see ``error``
    uid: int | None = None
    gid: int | None = None
    error: ProbeError | None = None  # why mode and owner are unknown; None: read


def nested_get(
    settings: dict[str, ConfigValue], leaves: dict[str, ConfigValue], path: str
) -> ConfigValue | None:
    """A field by dotted path: ``leaves`` for fields inside a struct, else ``settings``."""
    return leaves.get(path) if "." in path else settings.get(path)


@frozen
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
    # Every value inside a struct field ("authentication.anonymous.enabled"), each with its
    # own file, line and what it overrode; ``settings`` keeps the merged struct as a whole.
    leaves: dict[str, ConfigValue] = field(default_factory=dict)
    files: tuple[KubeletFile, ...] = ()  # unit, config, drop-ins, kubeconfig, client CA
    legacy_defaults: bool = False  # no --config file: the flag defaults apply (anonymous auth on)
    config_named_by: ConfigValue | None = None  # --config flag, or a known location; None: none

    def get(self, path: str) -> ConfigValue | None:
        """The effective value of a field by its dotted path; None: not set, no default."""
        return nested_get(self.settings, self.leaves, path)


@frozen
class KubeletConfigz:
    """The running kubelet's configuration as it answers ``/configz`` (through the API
    server's node proxy): every field after the kubelet merged files, flags and defaults.
    Values carry ``origin="configz"`` and ``source`` the request; no file or line."""

    node: str  # the Node name asked
    source: str  # "api:GET /api/v1/nodes/<node>/proxy/configz"
    settings: dict[str, ConfigValue] = field(default_factory=dict)  # top-level fields
    leaves: dict[str, ConfigValue] = field(default_factory=dict)  # inside struct fields
    feature_gates: dict[str, ConfigValue] = field(default_factory=dict)  # as configured
    error: str | None = None  # why it could not be read (RBAC, proxy refused); None: read

    def get(self, path: str) -> ConfigValue | None:
        return nested_get(self.settings, self.leaves, path)


@frozen
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


@frozen
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


@frozen
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


@frozen
class CrioRuntime:
    name: str
    runtime_path: ConfigValue | None  # None: not set (CRI-O looks the name up in $PATH)
    runtime_type: ConfigValue | None  # "oci" | "vm" | "pod"; None: not set ("oci")
    runtime_root: ConfigValue | None  # None: not set (the OCI runtime's own default root)
    source: str
    line: int | None = None
    monitor_path: ConfigValue | None = None  # None: not set ([crio.runtime] conmon, else $PATH)


@frozen
class CrioConfig:
    """CRI-O's crio.conf followed by crio.conf.d/*.conf in lexical order (later wins per key)."""

    files: tuple[str, ...]  # files merged, in order
    settings: dict[str, ConfigValue]  # dotted TOML path ("crio.runtime.cgroup_manager") -> value
    runtimes: dict[str, CrioRuntime]
    cgroup_manager: ConfigValue | None  # None: not set (CRI-O default "systemd")
    conmon_cgroup: ConfigValue | None
    default_runtime: ConfigValue | None  # None: not set ("crun" in CRI-O >= 1.31, "runc" before)
    pause_image: ConfigValue | None  # None: not set (CRI-O's built-in pause image)


@frozen
class DockerDaemonConfig:
    """dockerd's daemon.json (top-level keys with lines)."""

    path: str
    settings: dict[str, ConfigValue]  # top-level key -> value
    cgroup_driver: ConfigValue | None  # from exec-opts native.cgroupdriver; None: not set
    registry_mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    data_root: ConfigValue | None = None  # None: not set (/var/lib/docker)
    containerd_address: ConfigValue | None = None  # "containerd"; None: dockerd's own/managed


@frozen
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


@frozen
class KubeProxyConfig:
    """A kube-proxy process on the host and the kubeconfig file it uses (CIS 4.1.3/4.1.4)."""

    pid: int
    kubeconfig: KubeletFile | None  # role "proxy-kubeconfig"; None: see ``reason``
    reason: str | None = None  # why no file is judged (runs in a pod, no kubeconfig); None: one is


@frozen
class NodeConfig:
    """Node configuration with provenance. A part is None when its file is absent."""

    kubelet: KubeletConfig | None  # None: no kubelet command line, unit or config found
    containerd: ContainerdConfig | None  # None: no config file (containerd built-in defaults)
    crio: CrioConfig | None  # None: no crio.conf and no drop-ins
    docker: DockerDaemonConfig | None  # None: no daemon.json
    crictl: CrictlConfig | None  # None: no crictl.yaml (crictl uses its default endpoints)
    kube_proxy: KubeProxyConfig | None = None  # None: no kube-proxy process found
