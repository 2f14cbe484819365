"""The kubelet's effective configuration, with the file, line or flag behind every value.

Merge order, lowest precedence first, as the kubelet applies it:

1. built-in defaults (only the few that rules need, see :func:`kubelet_defaults`);
2. the ``--config`` file (a KubeletConfiguration in YAML or JSON);
3. the ``--config-dir`` drop-ins: ``*.conf`` files in lexical order (alpha 1.28, beta 1.30,
   GA 1.35), each merged like a JSON merge patch: mappings merge key by key, lists and
   scalars are replaced whole ("Kubelet Configuration Directory Merging",
   https://kubernetes.io/docs/reference/node/kubelet-config-directory-merging/);
4. command-line flags, which win over both files: the kubelet re-parses its command line
   over the loaded configuration (``kubeletConfigFlagPrecedence`` in
   kubernetes ``cmd/kubelet/app/server.go``, kubernetes/kubernetes#56171; documented in
   "Set Kubelet Parameters Via A Configuration File", kubernetes.io/docs/tasks/
   administer-cluster/kubelet-config-file/). Feature gates merge per gate: a gate named
   by ``--feature-gates`` wins, the others keep the file's value.

Where the flags come from: the running kubelet's command line when there is one;
otherwise the systemd unit ``kubelet.service`` with its drop-ins and environment files
(kubeadm's ``10-kubeadm.conf`` expands ``$KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS
$KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`` from ``/var/lib/kubelet/kubeadm-flags.env``
and ``/etc/default/kubelet`` or ``/etc/sysconfig/kubelet``). Both are kept: ``flags`` is
what the kubelet runs with, ``unit_flags`` what its unit would pass at the next start.
kubeadm's ``/var/lib/kubelet/instance-config.yaml`` is kept apart in
``kubeadm_instance``: the kubelet itself reads only ``--config`` and ``--config-dir``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, KubeletConfig
from inspect8s.nodeconfig._parse import load_yaml_mapping, malformed, read_config
from inspect8s.nodeconfig.envfile import parse_env_file
from inspect8s.nodeconfig.systemd import Word, resolve_service

KUBEADM_FLAGS_ENV = "/var/lib/kubelet/kubeadm-flags.env"
KUBEADM_INSTANCE_CONFIG = "/var/lib/kubelet/instance-config.yaml"
# EnvironmentFile= of kubeadm's 10-kubeadm.conf: deb packages, rpm packages.
EXTRA_ARGS_FILES = ("/etc/default/kubelet", "/etc/sysconfig/kubelet")

# pflag boolean flags of the kubelet (a bare "--flag" means true; "--flag value" does not
# consume the value). Flags not listed here that are followed by a word not starting with
# "-" take that word as their value.
BOOL_FLAGS = frozenset(
    {
        "--alsologtostderr", "--anonymous-auth", "--authentication-token-webhook",
        "--cgroups-per-qos", "--enable-controller-attach-detach", "--enable-debugging-handlers",
        "--enable-server", "--exit-on-lock-contention", "--fail-cgroupv1", "--fail-swap-on",
        "--help", "--kernel-memcg-notification", "--keep-terminated-pod-volumes",
        "--local-storage-capacity-isolation", "--logtostderr", "--make-iptables-util-chains",
        "--one-output", "--protect-kernel-defaults", "--register-node",
        "--register-schedulable", "--rotate-certificates", "--rotate-server-certificates",
        "--serialize-image-pulls", "--skip-headers", "--skip-log-headers", "--version",
        "--allow-privileged", "--cpu-cfs-quota", "--experimental-allocatable-ignore-eviction",
        "--experimental-check-node-capabilities-before-mount", "--redirect-container-streaming",
        "--add-dir-header", "--log-json-split-stream",
    }
)  # fmt: skip


def _bool(text: str) -> object:
    low = text.strip().lower()
    if low in ("true", "1", "t"):
        return True
    if low in ("false", "0", "f"):
        return False
    return text


def _int(text: str) -> object:
    try:
        return int(text.strip())
    except ValueError:
        return text


def _list(text: str) -> object:
    return [part.strip() for part in text.split(",") if part.strip()]


def _map(text: str) -> object:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _str(text: str) -> object:
    return text


# Flags that have a KubeletConfiguration field (kubelet reference, "DEPRECATED: This
# parameter should be set via the config file specified by the Kubelet's --config flag"),
# with how the flag's text becomes the field's value. --pod-infra-container-image,
# --container-runtime and the dockershim-era flags have no field and stay flags only.
FLAG_FIELDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "--cgroup-driver": ("cgroupDriver", _str),
    "--container-runtime-endpoint": ("containerRuntimeEndpoint", _str),
    "--image-service-endpoint": ("imageServiceEndpoint", _str),
    "--fail-cgroupv1": ("failCgroupV1", _bool),
    "--fail-swap-on": ("failSwapOn", _bool),
    "--cgroup-root": ("cgroupRoot", _str),
    "--cgroups-per-qos": ("cgroupsPerQOS", _bool),
    "--kubelet-cgroups": ("kubeletCgroups", _str),
    "--system-cgroups": ("systemCgroups", _str),
    "--pod-manifest-path": ("staticPodPath", _str),
    "--max-pods": ("maxPods", _int),
    "--pod-pids-limit": ("podPidsLimit", _int),
    "--cluster-dns": ("clusterDNS", _list),
    "--cluster-domain": ("clusterDomain", _str),
    "--address": ("address", _str),
    "--port": ("port", _int),
    "--read-only-port": ("readOnlyPort", _int),
    "--healthz-port": ("healthzPort", _int),
    "--healthz-bind-address": ("healthzBindAddress", _str),
    "--resolv-conf": ("resolvConf", _str),
    "--runtime-request-timeout": ("runtimeRequestTimeout", _str),
    "--rotate-certificates": ("rotateCertificates", _bool),
    "--tls-cert-file": ("tlsCertFile", _str),
    "--tls-private-key-file": ("tlsPrivateKeyFile", _str),
    "--serialize-image-pulls": ("serializeImagePulls", _bool),
    "--volume-plugin-dir": ("volumePluginDir", _str),
    "--protect-kernel-defaults": ("protectKernelDefaults", _bool),
    "--make-iptables-util-chains": ("makeIPTablesUtilChains", _bool),
    "--oom-score-adj": ("oomScoreAdj", _int),
    "--provider-id": ("providerID", _str),
    "--register-node": ("registerNode", _bool),
    "--hairpin-mode": ("hairpinMode", _str),
    "--cpu-manager-policy": ("cpuManagerPolicy", _str),
    "--topology-manager-policy": ("topologyManagerPolicy", _str),
    "--system-reserved": ("systemReserved", _map),
    "--kube-reserved": ("kubeReserved", _map),
    "--eviction-hard": ("evictionHard", _str),
    "--enforce-node-allocatable": ("enforceNodeAllocatable", _list),
    "--image-gc-high-threshold": ("imageGCHighThresholdPercent", _int),
    "--image-gc-low-threshold": ("imageGCLowThresholdPercent", _int),
    "--container-log-max-size": ("containerLogMaxSize", _str),
    "--container-log-max-files": ("containerLogMaxFiles", _int),
    "--local-storage-capacity-isolation": ("localStorageCapacityIsolation", _bool),
}

KUBELET_CONFIG_KIND = "KubeletConfiguration"


def _minor(version: str | None) -> int | None:
    """The minor of a "v1.26.4" / "1.26" version string; None: unknown."""
    if not version:
        return None
    parts = version.lstrip("v").split(".")
    if len(parts) < 2 or parts[0] != "1":
        return None
    digits = "".join(ch for ch in parts[1] if ch.isdigit())
    return int(digits) if digits else None


def kubelet_defaults(version: str | None) -> dict[str, ConfigValue]:
    """The built-in values the rules compare against, for a kubelet ``version``.

    * ``cgroupDriver``: ``cgroupfs`` (KubeletConfiguration v1beta1 default).
    * ``containerRuntimeEndpoint``: ``unix:///var/run/dockershim.sock`` before 1.24 (the
      in-tree dockershim); ``unix:///run/containerd/containerd.sock`` from 1.24 (the
      flag's default after dockershim's removal, the config field's from 1.27).
    * ``failCgroupV1``: added in 1.31 with default false; true from 1.35 (KEP-5573,
      kubernetes/kubernetes#134298).
    * ``failSwapOn``: true.

    An unknown version gets the values of the newest kubelet.
    """
    minor = _minor(version)
    out: dict[str, ConfigValue] = {}

    def put(key: str, value: object) -> None:
        out[key] = ConfigValue(key=key, value=value, source="default")

    put("cgroupDriver", "cgroupfs")
    put("failSwapOn", True)
    if minor is not None and minor < 24:
        put("containerRuntimeEndpoint", "unix:///var/run/dockershim.sock")
    else:
        put("containerRuntimeEndpoint", "unix:///run/containerd/containerd.sock")
    if minor is None or minor >= 35:
        put("failCgroupV1", True)
    elif minor >= 31:
        put("failCgroupV1", False)
    return out


# --------------------------------------------------------------------------- flags


def _normalise(name: str) -> str:
    """pflag's WordSepNormalizeFunc: "_" and "-" are the same; always "--name"."""
    return "--" + name.lstrip("-").replace("_", "-")


def parse_flags(words: Iterable[Word]) -> dict[str, ConfigValue]:
    """Parse a kubelet command line the way pflag does, keeping every flag.

    The first word is skipped when it is the program (does not start with "-"); a
    repeated flag keeps the last value and lists the earlier ones in ``overrides``.
    Words after ``--`` and stray positional words are not flags and are dropped.
    """
    items = list(words)
    if items and not items[0].text.startswith("-"):
        items = items[1:]
    out: dict[str, ConfigValue] = {}
    i = 0
    while i < len(items):
        word = items[i]
        i += 1
        text = word.text
        if text == "--":
            break
        if not text.startswith("-") or text == "-":
            continue
        raw, sep, value = text.partition("=")
        name = _normalise(raw)
        if not sep:
            if name in BOOL_FLAGS:
                value = "true"
            elif i < len(items) and not items[i].text.startswith("-"):
                value = items[i].text
                i += 1
            else:
                value = "true"
        previous = out.get(name)
        out[name] = ConfigValue(
            key=raw,
            value=value,
            source=word.source,
            line=word.line,
            overrides=(previous, *previous.overrides) if previous is not None else (),
        )
    return out


def cmdline_words(cmdline: Sequence[str]) -> list[Word]:
    return [Word(arg, "cmdline", None) for arg in cmdline]


# --------------------------------------------------------------------------- config files


def parse_kubelet_config(text: str, path: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Parse a KubeletConfiguration file (``--config`` or a drop-in): the mapping and the
    line of each key. Like the kubelet, a file without ``kind: KubeletConfiguration`` is
    refused (kubernetes/kubernetes#124796: every drop-in needs apiVersion and kind)."""
    data, lines = load_yaml_mapping(text, path)
    kind = data.get("kind")
    if kind != KUBELET_CONFIG_KIND:
        where = lines.get(("kind",), 1)
        what = "kind is missing" if kind is None else f"kind is {kind!r}"
        raise malformed(path, f"{what}, expected {KUBELET_CONFIG_KIND}", where)
    gates = data.get("featureGates")
    if gates is not None and not isinstance(gates, dict):
        raise malformed(path, "featureGates is not a mapping", lines.get(("featureGates",)))
    return data, lines


def _merge_patch(base: object, patch: object) -> object:
    """JSON merge patch (RFC 7386) without deletion: mappings merge, the rest replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge_patch(merged.get(key), value)
        return merged
    return copy.deepcopy(patch)


def merge_kubelet(
    defaults: dict[str, ConfigValue],
    files: Sequence[tuple[str, dict[str, Any], dict[tuple[str, ...], int]]],
    flags: dict[str, ConfigValue],
) -> tuple[dict[str, ConfigValue], dict[str, ConfigValue]]:
    """Merge defaults, the config file then drop-ins (``files`` in order) and ``flags``.

    Returns (settings, feature_gates). Pure.
    """
    settings = dict(defaults)
    gates: dict[str, ConfigValue] = {}
    for path, data, lines in files:
        for key, value in data.items():
            if key in ("apiVersion", "kind"):
                continue
            line = lines.get((key,))
            if key == "featureGates" and isinstance(value, dict):
                for gate, enabled in value.items():
                    previous = gates.get(str(gate))
                    gates[str(gate)] = ConfigValue(
                        key=f"featureGates.{gate}",
                        value=enabled,
                        source=path,
                        line=lines.get((key, str(gate)), line),
                        overrides=_chain(previous),
                    )
            previous = settings.get(key)
            merged = _merge_patch(previous.value if previous is not None else None, value)
            settings[key] = ConfigValue(key, merged, path, line, _chain(previous))
    for flag, given in flags.items():
        if flag == "--feature-gates":
            for gate, enabled in _map_value(given.value).items():
                previous = gates.get(gate)
                gates[gate] = ConfigValue(
                    given.key, _bool(enabled), given.source, given.line, _chain(previous)
                )
            continue
        mapped = FLAG_FIELDS.get(flag)
        if mapped is None:
            continue
        field, convert = mapped
        previous = settings.get(field)
        settings[field] = ConfigValue(
            given.key, convert(str(given.value)), given.source, given.line, _chain(previous)
        )
    return settings, gates


def _map_value(value: object) -> dict[str, str]:
    parsed = _map(str(value))
    return parsed if isinstance(parsed, dict) else {}


def _chain(previous: ConfigValue | None) -> tuple[ConfigValue, ...]:
    return () if previous is None else (previous, *previous.overrides)


# --------------------------------------------------------------------------- collection


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _fallback_words(fs: HostFS, errors: list[ProbeFailed]) -> tuple[list[Word], list[str]]:
    """Without a kubelet unit: the args kubeadm's env files hold, in 10-kubeadm.conf order."""
    words: list[Word] = []
    read: list[str] = []
    for path, variable in (
        (KUBEADM_FLAGS_ENV, "KUBELET_KUBEADM_ARGS"),
        *((p, "KUBELET_EXTRA_ARGS") for p in EXTRA_ARGS_FILES),
    ):
        try:
            text = read_config(fs, path)
            if text is None:
                continue
            env = parse_env_file(text, path)
        except ProbeFailed as exc:
            errors.append(exc)
            continue
        read.append(path)
        assignment = env.get(variable)
        if assignment is not None:
            words.extend(Word(part, path, assignment.line) for part in assignment.value.split())
    return words, read


def _load_file(
    fs: HostFS, path: str, errors: list[ProbeFailed], *, named_by: str | None
) -> tuple[str, dict[str, Any], dict[tuple[str, ...], int]] | None:
    try:
        text = read_config(fs, path)
        if text is None:
            if named_by is not None:
                errors.append(
                    ProbeFailed(ErrorKind.MISSING, f"host:{path}", f"named by {named_by}, absent")
                )
            return None
        data, lines = parse_kubelet_config(text, path)
    except ProbeFailed as exc:
        errors.append(exc)
        return None
    return path, data, lines


def collect_kubelet_config(
    fs: HostFS,
    cmdline: Sequence[str] | None,
    errors: list[ProbeFailed],
    *,
    version: str | None = None,
) -> KubeletConfig | None:
    """Read everything that configures the kubelet through ``fs``.

    ``cmdline`` is the running kubelet's argv (None: no kubelet runs). Problems with
    single files are appended to ``errors``; the rest is still merged. None when
    nothing about a kubelet was found.
    """
    service = resolve_service(fs, "kubelet.service", errors)
    unit_files: tuple[str, ...] = ()
    env_files: list[str] = []
    unit_words: list[Word] = []
    if service is not None:
        unit_files = service.unit_files
        env_files = list(service.env_files)
        unit_words = list(service.argv)
    if not unit_words:
        fallback, read = _fallback_words(fs, errors)
        unit_words = fallback
        env_files.extend(p for p in read if p not in env_files)
    unit_flags = parse_flags(unit_words)

    if cmdline is not None:
        flags, flags_from = parse_flags(cmdline_words(cmdline)), "cmdline"
    elif unit_flags:
        flags, flags_from = unit_flags, "unit"
    else:
        flags, flags_from = {}, "none"

    files: list[tuple[str, dict[str, Any], dict[tuple[str, ...], int]]] = []
    config_file: str | None = None
    given = flags.get("--config")
    if given is not None and str(given.value):
        config_file = _absolute(str(given.value))
        loaded = _load_file(fs, config_file, errors, named_by=f"--config ({given.where()})")
        if loaded is not None:
            files.append(loaded)
    config_dir: str | None = None
    drop_ins: list[str] = []
    given_dir = flags.get("--config-dir")
    if given_dir is not None and str(given_dir.value):
        config_dir = _absolute(str(given_dir.value))
        try:
            candidates = fs.glob_dir(config_dir, ".conf")
        except ProbeFailed as exc:
            errors.append(exc)
            candidates = []
        for path in candidates:
            loaded = _load_file(fs, path, errors, named_by=None)
            if loaded is not None:
                files.append(loaded)
                drop_ins.append(path)

    instance: dict[str, ConfigValue] = {}
    try:
        text = read_config(fs, KUBEADM_INSTANCE_CONFIG)
        if text is not None:
            data, lines = parse_kubelet_config(text, KUBEADM_INSTANCE_CONFIG)
            instance = {
                key: ConfigValue(key, value, KUBEADM_INSTANCE_CONFIG, lines.get((key,)))
                for key, value in data.items()
                if key not in ("apiVersion", "kind")
            }
    except ProbeFailed as exc:
        errors.append(exc)

    if cmdline is None and not unit_files and not env_files and not files and not instance:
        return None
    settings, gates = merge_kubelet(kubelet_defaults(version), files, flags)
    return KubeletConfig(
        settings=settings,
        flags=flags,
        feature_gates=gates,
        flags_from=flags_from,
        config_file=config_file,
        config_dir=config_dir,
        drop_ins=tuple(drop_ins),
        unit_flags=unit_flags,
        unit_files=unit_files,
        env_files=tuple(env_files),
        kubeadm_instance=instance,
        version=version,
    )
