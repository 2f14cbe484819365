"""The kubelet's effective configuration, with the file, line or flag behind every value.

Merge order, lowest precedence first, as the kubelet applies it:

1. built-in defaults for the kubelet's version (only those the checks need, see
   :func:`kubelet_defaults`); a kubelet without ``--config`` keeps its flag defaults, which
   differ for authentication, authorization and the read-only port;
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

Every value says which place set it (``ConfigValue.origin``: default, config, config-drop-in,
unit, unit-drop-in, env-file, cmdline; ``via``: the ``$KUBELET_*_ARGS`` variable that carried
a flag) and what it overrode. A running kubelet's command line is matched word by word
against what its unit expands to, so a flag on the command line still names the env file
and line that put it there. With neither a process nor a unit (a stopped kubelet whose unit
is elsewhere), the config file and kubeconfig are looked for where kubeadm and the
distributions put them (:data:`KNOWN_CONFIG_FILES`).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from inspect8s.model import ConfigValue, KubeletConfig, KubeletFile
from inspect8s.model.frozen import frozen
from inspect8s.nodeconfig._parse import load_yaml_mapping, malformed, read_config
from inspect8s.nodeconfig.envfile import parse_env_file
from inspect8s.nodeconfig.systemd import Word, resolve_service, unit_origin

KUBEADM_FLAGS_ENV = "/var/lib/kubelet/kubeadm-flags.env"
KUBEADM_INSTANCE_CONFIG = "/var/lib/kubelet/instance-config.yaml"
# EnvironmentFile= of kubeadm's 10-kubeadm.conf: deb packages, rpm packages.
EXTRA_ARGS_FILES = ("/etc/default/kubelet", "/etc/sysconfig/kubelet")

# Where kubeadm and the distributions put the kubelet's config file and kubeconfig, for a
# kubelet that neither runs nor has a unit naming them. The paths are those kube-bench
# looks at (cfg/config.yaml, node.kubelet.confs and .kubeconfig), KubeletConfiguration
# files only: kubeadm, then EKS (AL2, AL2023 nodeadm), GKE, AKS.
KNOWN_CONFIG_FILES = (
    "/var/lib/kubelet/config.yaml",
    "/etc/kubernetes/kubelet-config.yaml",
    "/etc/kubernetes/kubelet/kubelet-config.json",
    "/etc/kubernetes/kubelet/config.json",
    "/home/kubernetes/kubelet-config.yaml",
    "/etc/default/kubeletconfig.json",
)
KNOWN_KUBECONFIGS = (
    "/etc/kubernetes/kubelet.conf",
    "/var/lib/kubelet/kubeconfig",
    "/etc/kubernetes/kubelet/kubeconfig",
)

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
        "--add-dir-header", "--log-json-split-stream", "--seccomp-default",
    }
)  # fmt: skip

# KubeletConfiguration fields that are structs: their values merge key by key and each
# leaf keeps its own provenance (``KubeletConfig.leaves``). Map-valued fields
# (evictionHard, systemReserved, featureGates, ...) stay whole values.
STRUCT_FIELDS = frozenset(
    {"authentication", "authorization", "logging", "memorySwap", "tracing", "crashLoopBackOff"}
)


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
# parameter should be set via the config file specified by the Kubelet's --config flag";
# names from AddKubeletConfigFlags in kubernetes cmd/kubelet/app/options/options.go), with
# how the flag's text becomes the field's value; a dotted field is inside a struct.
# --pod-infra-container-image, --container-runtime, --hostname-override and the
# dockershim-era flags have no field and stay flags only.
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
    "--pod-max-pids": ("podPidsLimit", _int),
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
    "--rotate-server-certificates": ("serverTLSBootstrap", _bool),
    "--tls-cert-file": ("tlsCertFile", _str),
    "--tls-private-key-file": ("tlsPrivateKeyFile", _str),
    "--tls-cipher-suites": ("tlsCipherSuites", _list),
    "--tls-min-version": ("tlsMinVersion", _str),
    "--anonymous-auth": ("authentication.anonymous.enabled", _bool),
    "--authentication-token-webhook": ("authentication.webhook.enabled", _bool),
    "--client-ca-file": ("authentication.x509.clientCAFile", _str),
    "--authorization-mode": ("authorization.mode", _str),
    "--streaming-connection-idle-timeout": ("streamingConnectionIdleTimeout", _str),
    "--event-qps": ("eventRecordQPS", _int),
    "--event-burst": ("eventBurst", _int),
    "--seccomp-default": ("seccompDefault", _bool),
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


def kubelet_defaults(version: str | None, *, legacy: bool = False) -> dict[str, ConfigValue]:
    """The built-in values the checks compare against, for a kubelet ``version``, keyed by
    field path (dotted inside structs: ``authentication.anonymous.enabled``).

    ``legacy``: the kubelet has no ``--config`` file. It then keeps its flag defaults
    (``applyLegacyDefaults`` in kubernetes cmd/kubelet/app/options/options.go): anonymous
    authentication on, token webhook off, authorization ``AlwaysAllow``, read-only port
    10255. With a config file the KubeletConfiguration v1beta1 defaults apply (anonymous
    off, webhook on, ``Webhook``, read-only port 0; kubernetes
    pkg/kubelet/apis/config/v1beta1/defaults.go, and kubernetes/kubernetes#59666).

    Version-dependent, from the same defaults file's history:

    * ``containerRuntimeEndpoint``: ``unix:///var/run/dockershim.sock`` before 1.24 (the
      in-tree dockershim); ``unix:///run/containerd/containerd.sock`` from 1.24.
    * ``failCgroupV1``: added in 1.31 with default false; true from 1.35 (KEP-5573,
      kubernetes/kubernetes#134298).
    * ``eventRecordQPS``: 5 before 1.27, 50 from 1.27 (kubernetes/kubernetes#116121).
    * ``seccompDefault``: the field exists from 1.22 (KEP-2413), default false.

    Unchanged: ``cgroupDriver`` cgroupfs, ``failSwapOn`` true,
    ``streamingConnectionIdleTimeout`` 4h0m0s, ``makeIPTablesUtilChains`` true,
    ``protectKernelDefaults`` false, ``rotateCertificates`` false (no default in
    defaults.go: the Go zero value), ``serverTLSBootstrap`` false, ``podPidsLimit`` -1 (no
    limit beyond the node's), ``tlsCipherSuites`` unset (Go's defaults).

    An unknown version gets the values of the newest kubelet, except for settings that
    only some versions have (``failCgroupV1``): no such default is claimed then.
    """
    minor = _minor(version)
    out: dict[str, ConfigValue] = {}

    def put(key: str, value: object) -> None:
        out[key] = ConfigValue(key=key, value=value, source="default", origin="default")

    put("cgroupDriver", "cgroupfs")
    put("failSwapOn", True)
    if minor is not None and minor < 24:
        put("containerRuntimeEndpoint", "unix:///var/run/dockershim.sock")
    else:
        put("containerRuntimeEndpoint", "unix:///run/containerd/containerd.sock")
    if minor is not None and minor >= 35:
        put("failCgroupV1", True)
    elif minor is not None and minor >= 31:
        put("failCgroupV1", False)
    put("authentication.anonymous.enabled", legacy)
    put("authentication.webhook.enabled", not legacy)
    put("authorization.mode", "AlwaysAllow" if legacy else "Webhook")
    put("readOnlyPort", 10255 if legacy else 0)
    put("streamingConnectionIdleTimeout", "4h0m0s")
    put("makeIPTablesUtilChains", True)
    put("protectKernelDefaults", False)
    put("eventRecordQPS", 5 if minor is not None and minor < 27 else 50)
    put("rotateCertificates", False)
    put("serverTLSBootstrap", False)
    put("podPidsLimit", -1)
    if minor is None or minor >= 22:
        put("seccompDefault", False)
    return out


def gate_defaults(version: str | None) -> dict[str, ConfigValue]:
    """Default state of the feature gates the checks read, for a kubelet ``version``.

    * ``RotateKubeletServerCertificate``: alpha (off) in 1.7, beta and on from 1.12, still
      beta (kubernetes website feature-gates table; kubernetes/kubernetes#125811).
    * ``SeccompDefault``: alpha (off) in 1.22, beta and on in 1.25, GA in 1.27 (KEP-2413;
      kubernetes/kubernetes#101943). Before 1.25 ``seccompDefault: true`` needs it on.
    """
    minor = _minor(version)
    newest = minor is None
    out: dict[str, ConfigValue] = {}

    def put(gate: str, value: bool) -> None:
        out[gate] = ConfigValue(f"featureGates.{gate}", value, "default", origin="default")

    put("RotateKubeletServerCertificate", newest or (minor is not None and minor >= 12))
    if newest or (minor is not None and minor >= 22):
        put("SeccompDefault", newest or (minor is not None and minor >= 25))
    return out


# --------------------------------------------------------------------------- flags


def _normalise(name: str) -> str:
    """pflag's WordSepNormalizeFunc: "_" and "-" are the same; always "--name"."""
    return "--" + name.lstrip("-").replace("_", "-")


def _word_origin(word: Word) -> str:
    if word.origin:
        return word.origin
    return "cmdline" if word.source == "cmdline" else unit_origin(word.source)


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
            overrides=_chain(previous),
            origin=_word_origin(word),
            via=word.variable,
        )
    return out


def cmdline_words(cmdline: Sequence[str]) -> list[Word]:
    return [Word(arg, "cmdline", None, "cmdline") for arg in cmdline]


def attribute_cmdline(cmdline: Sequence[str], unit_words: Sequence[Word]) -> list[Word]:
    """The running command line, each argument credited to the unit file, drop-in or env
    file line that expands to it; arguments the unit does not explain stay "cmdline".

    The two are aligned as sequences (the longest matching runs, program name excluded),
    so an argument added by hand, or a unit edited since the kubelet started, changes only
    the words it touches.
    """
    words = cmdline_words(cmdline)
    if not unit_words or len(words) < 2:
        return words
    mine = [w.text for w in words[1:]]
    theirs = [w.text for w in unit_words[1:]]
    matcher = difflib.SequenceMatcher(a=mine, b=theirs, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            words[1 + block.a + k] = unit_words[1 + block.b + k]
    return words


# --------------------------------------------------------------------------- config files


@frozen
class Merged:
    """The result of :func:`merge_kubelet`."""

    settings: dict[str, ConfigValue]  # top-level fields
    leaves: dict[str, ConfigValue]  # values inside struct fields, by dotted path
    gates: dict[str, ConfigValue]  # feature gates


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


def leaf_values(prefix: tuple[str, ...], value: object) -> Iterable[tuple[tuple[str, ...], object]]:
    """(path, value) of every non-mapping value under ``value`` (depth-limited)."""
    if isinstance(value, dict) and len(prefix) < 8:
        for key, sub in value.items():
            yield from leaf_values((*prefix, str(key)), sub)
    else:
        yield prefix, value


def _nest(leaves: dict[str, ConfigValue], top: str) -> dict[str, Any]:
    """The struct ``top`` rebuilt from its leaves (for the defaults of a struct field)."""
    out: dict[str, Any] = {}
    for path, value in leaves.items():
        parts = path.split(".")
        if parts[0] != top:
            continue
        node = out
        for part in parts[1:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value.value
    return out


def _set_in(struct: object, parts: Sequence[str], value: object) -> dict[str, Any]:
    """A copy of ``struct`` (a mapping or nothing) with ``parts`` set to ``value``."""
    out: dict[str, Any] = dict(struct) if isinstance(struct, dict) else {}
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        out[parts[0]] = _set_in(out.get(parts[0]), parts[1:], value)
    return out


def merge_kubelet(
    defaults: dict[str, ConfigValue],
    files: Sequence[tuple[str, dict[str, Any], dict[tuple[str, ...], int]]],
    flags: dict[str, ConfigValue],
    *,
    drop_ins: Collection[str] = (),
    gate_default: dict[str, ConfigValue] | None = None,
) -> Merged:
    """Merge defaults, the config file then drop-ins (``files`` in order) and ``flags``.

    ``defaults`` are keyed by field path (see :func:`kubelet_defaults`); ``drop_ins`` are
    the paths among ``files`` that are ``--config-dir`` drop-ins (their values get origin
    "config-drop-in", the others "config"). Pure.
    """
    settings: dict[str, ConfigValue] = {}
    leaves: dict[str, ConfigValue] = {}
    for key, value in defaults.items():
        (leaves if "." in key else settings)[key] = value
    for top in sorted({key.split(".", 1)[0] for key in leaves}):
        settings.setdefault(top, ConfigValue(top, _nest(leaves, top), "default", origin="default"))
    gates: dict[str, ConfigValue] = dict(gate_default or {})
    for path, data, lines in files:
        origin = "config-drop-in" if path in drop_ins else "config"
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
                        origin=origin,
                    )
            if key in STRUCT_FIELDS and isinstance(value, dict):
                for parts, leaf in leaf_values((key,), value):
                    dotted = ".".join(parts)
                    previous_leaf = leaves.get(dotted)
                    leaves[dotted] = ConfigValue(
                        dotted,
                        copy.deepcopy(leaf),
                        path,
                        _line(lines, parts),
                        _chain(previous_leaf),
                        origin,
                    )
            previous = settings.get(key)
            merged = _merge_patch(previous.value if previous is not None else None, value)
            settings[key] = ConfigValue(key, merged, path, line, _chain(previous), origin)
    for flag, given in flags.items():
        if flag == "--feature-gates":
            for gate, enabled in _map_value(given.value).items():
                previous = gates.get(gate)
                gates[gate] = _from_flag(given, _bool(enabled), previous)
            continue
        mapped = FLAG_FIELDS.get(flag)
        if mapped is None:
            continue
        field, convert = mapped
        converted = convert(str(given.value))
        steps = field.split(".")
        if len(steps) > 1:
            leaves[field] = _from_flag(given, converted, leaves.get(field), convert)
            whole = settings.get(steps[0])
            settings[steps[0]] = _from_flag(
                given, _set_in(whole.value if whole else None, steps[1:], converted), whole
            )
            continue
        settings[field] = _from_flag(given, converted, settings.get(field), convert)
    return Merged(settings, leaves, gates)


def _line(lines: dict[tuple[str, ...], int], parts: tuple[str, ...]) -> int | None:
    """The line of a key path or, failing that, of its nearest parent."""
    for end in range(len(parts), 0, -1):
        found = lines.get(parts[:end])
        if found is not None:
            return found
    return None


def _from_flag(
    given: ConfigValue,
    value: object,
    previous: ConfigValue | None,
    convert: Callable[[str], object] | None = None,
) -> ConfigValue:
    """The field's value from a flag; it overrides the flag's earlier occurrences on the
    command line (converted like the flag), then what the files and defaults had."""
    earlier = tuple(
        replace(o, value=convert(str(o.value))) if convert is not None else o
        for o in given.overrides
    )
    return ConfigValue(
        given.key,
        value,
        given.source,
        given.line,
        (*earlier, *_chain(previous)),
        given.origin,
        given.via,
    )


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
            words.extend(
                Word(part, path, assignment.line, "env-file", variable)
                for part in assignment.value.split()
            )
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


def _known_location(fs: HostFS, candidates: Sequence[str], flag: str) -> ConfigValue | None:
    """The first of ``candidates`` that is a file, as the value of ``flag``."""
    for path in candidates:
        if fs.is_file(path):
            return ConfigValue(flag, path, "known-location", origin="known-location")
    return None


def kubelet_file(fs: HostFS, path: str, role: str, named_by: ConfigValue | None) -> KubeletFile:
    """Mode and owner of one file the kubelet uses, read through ``fs``."""
    try:
        st = fs.stat(path)
    except ProbeFailed as exc:
        return KubeletFile(path, role, named_by, error=exc.record())
    return KubeletFile(path, role, named_by, st.mode, st.uid, st.gid)


def _files_used(
    fs: HostFS,
    unit_files: Sequence[str],
    config: ConfigValue | None,
    drop_ins: Sequence[str],
    config_dir: ConfigValue | None,
    kubeconfig: ConfigValue | None,
    client_ca: ConfigValue | None,
) -> tuple[KubeletFile, ...]:
    """The files CIS 4.1 judges, as the kubelet's flags and settings name them."""
    out = [kubelet_file(fs, path, unit_origin(path), None) for path in unit_files]
    if config is not None and str(config.value):
        out.append(kubelet_file(fs, _absolute(str(config.value)), "config", config))
    out += [kubelet_file(fs, path, "config-drop-in", config_dir) for path in drop_ins]
    for value, role in ((kubeconfig, "kubeconfig"), (client_ca, "client-ca")):
        if value is not None and isinstance(value.value, str) and value.value:
            out.append(kubelet_file(fs, _absolute(value.value), role, value))
    return tuple(out)


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
    no_unit = not unit_words
    if no_unit:
        fallback, read = _fallback_words(fs, errors)
        unit_words = fallback
        env_files.extend(p for p in read if p not in env_files)
    unit_flags = parse_flags(unit_words)

    if cmdline is not None:
        program = [Word(cmdline[0], "cmdline", None, "cmdline")] if cmdline else []
        known = unit_words if no_unit else unit_words[1:]
        attributed = attribute_cmdline(cmdline, [*program, *known])
        flags, flags_from = parse_flags(attributed), "cmdline"
    elif unit_flags:
        flags, flags_from = unit_flags, "unit"
    else:
        flags, flags_from = {}, "none"

    files: list[tuple[str, dict[str, Any], dict[tuple[str, ...], int]]] = []
    config_file: str | None = None
    named_by = flags.get("--config")
    if named_by is not None and not str(named_by.value):
        named_by = None
    if named_by is None and cmdline is None and no_unit:
        named_by = _known_location(fs, KNOWN_CONFIG_FILES, "--config")
    if named_by is not None:
        config_file = _absolute(str(named_by.value))
        how = f"--config ({named_by.where()})" if named_by.origin != "known-location" else None
        loaded = _load_file(fs, config_file, errors, named_by=how)
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
    legacy = config_file is None
    merged = merge_kubelet(
        kubelet_defaults(version, legacy=legacy),
        files,
        flags,
        drop_ins=drop_ins,
        gate_default=gate_defaults(version),
    )
    kubeconfig = flags.get("--kubeconfig")
    if kubeconfig is None and cmdline is None and no_unit:
        kubeconfig = _known_location(fs, KNOWN_KUBECONFIGS, "--kubeconfig")
    used = _files_used(
        fs,
        unit_files,
        named_by,
        drop_ins,
        given_dir,
        kubeconfig,
        merged.leaves.get("authentication.x509.clientCAFile"),
    )
    return KubeletConfig(
        settings=merged.settings,
        flags=flags,
        feature_gates=merged.gates,
        flags_from=flags_from,
        config_file=config_file,
        config_dir=config_dir,
        drop_ins=tuple(drop_ins),
        unit_flags=unit_flags,
        unit_files=unit_files,
        env_files=tuple(env_files),
        kubeadm_instance=instance,
        version=version,
        leaves=merged.leaves,
        files=used,
        legacy_defaults=legacy,
        config_named_by=named_by,
    )
