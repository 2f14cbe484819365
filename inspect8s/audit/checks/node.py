"""Node-wide checks (scope node): the kubelet, the runtimes, cgroups and Docker leftovers.

They read the node audit's Snapshot (``inspect8s/collect/nodeaudit.py``): the node report, the
node configuration with provenance, each CRI endpoint's own answers and the docker.sock
holders. Facts and sources are in the project's runtime-facts reference (sections 4.1 to
4.5); each docstring names the one it uses. Version-aware rules are in ``upgrade.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from inspect8s.audit.checks.versions import kube_minor
from inspect8s.audit.registry import CheckSettings, Scope, Skip, Violation, check
from inspect8s.audit.results import Location, Severity
from inspect8s.model import (
    ConfigValue,
    ContainerdConfig,
    KubeletConfig,
    RuntimeStatus,
    Snapshot,
)

# --------------------------------------------------------------------------- helpers


def where(value: ConfigValue) -> str:
    """Where a value was set, for messages: "file:line" or "the kubelet's command line"."""
    if value.source == "cmdline":
        return "the running kubelet's command line"
    if value.source == "default":
        return "the built-in default"
    return value.where()


def location(value: ConfigValue) -> Location | None:
    """A file location for a value set in a file; None for command lines and defaults."""
    if value.source.startswith("/"):
        return Location(value.source, line=value.line)
    return None


def target_minor(snap: Snapshot, settings: CheckSettings) -> int:
    """The Kubernetes minor to check against: ``--target-version``, else the kubelet's."""
    if settings.target_version:
        minor = kube_minor(settings.target_version)
        if minor is None:
            raise Skip(f"--target-version {settings.target_version!r} is not a 1.x version")
        return minor
    if snap.kubelet_version is not None and snap.kubelet_version.minor is not None:
        return snap.kubelet_version.minor
    raise Skip(
        "the kubelet's version is unknown and no --target-version was given "
        "(pass --target-version or --kubelet-version)"
    )


def kubelet_config(snap: Snapshot) -> KubeletConfig:
    if snap.node_config is None:
        raise Skip("node configuration not collected")
    if snap.node_config.kubelet is None:
        raise Skip("no kubelet on this node (no process, unit or configuration found)")
    return snap.node_config.kubelet


def containerd_config(snap: Snapshot) -> ContainerdConfig:
    if snap.node_config is None:
        raise Skip("node configuration not collected")
    if snap.node_config.containerd is None:
        raise Skip("no containerd config file (containerd runs on its built-in defaults)")
    return snap.node_config.containerd


def flag_values(kc: KubeletConfig, flag: str) -> list[ConfigValue]:
    """The flag as the kubelet runs with it and as its unit would pass it (one per place)."""
    found: dict[str, ConfigValue] = {}
    for table in (kc.flags, kc.unit_flags):
        value = table.get(flag)
        if value is not None:
            found.setdefault(value.where(), value)
    return list(found.values())


def strip_unix(endpoint: str) -> str:
    return endpoint[len("unix://") :] if endpoint.startswith("unix://") else endpoint


def kubelet_endpoint(snap: Snapshot) -> ConfigValue | None:
    """The CRI endpoint the kubelet uses (flag, config or default); None: no kubelet."""
    if snap.node_config is None or snap.node_config.kubelet is None:
        return None
    return snap.node_config.kubelet.settings.get("containerRuntimeEndpoint")


def kubelet_runtime(snap: Snapshot) -> RuntimeStatus | None:
    """The answers of the CRI socket the kubelet uses (the very socket, found by identity:
    the node report's ``kubelet_runtime``); None: not asked or no kubelet."""
    runtime = snap.node.kubelet_runtime if snap.node is not None else None
    if runtime is not None and runtime.socket:
        found = next(
            (s for s in snap.runtime_status if (s.socket or s.endpoint) == runtime.socket), None
        )
        if found is not None:
            return found
    endpoint = kubelet_endpoint(snap)
    if endpoint is None:
        return None
    path = strip_unix(str(endpoint.value))
    return next((s for s in snap.runtime_status if s.endpoint == path and not s.socket), None)


def kubelet_uses_docker(snap: Snapshot) -> bool:
    """True when the kubelet reaches Docker (dockershim, cri-dockerd)."""
    endpoint = kubelet_endpoint(snap)
    if endpoint is None:
        return False
    text = str(endpoint.value)
    if "dockershim.sock" in text or "cri-dockerd" in text:
        return True
    kc = snap.node_config.kubelet if snap.node_config else None
    runtime = kc.flags.get("--container-runtime") if kc else None
    return runtime is not None and str(runtime.value) == "docker"


def containerd_statuses(snap: Snapshot) -> list[RuntimeStatus]:
    return [s for s in snap.runtime_status if s.runtime_name == "containerd"]


def subject_key(key: str) -> str:
    return f"containerd/{key}"


# --------------------------------------------------------------------------- kubelet


@check(
    "I8S-KUBELET-ENDPOINT-SCHEME",
    title="Kubelet runtime endpoint has no unix:// scheme",
    severity=Severity.LOW,
    scope=Scope.NODE,
)
def endpoint_without_scheme(snap: Snapshot) -> Iterator[Violation]:
    """A CRI endpoint given as a bare path is deprecated: the kubelet logs "Using this
    endpoint is deprecated, please consider using full URL format".

    Source: runtime-facts 4.1 K5 (kubernetes/kubernetes#112136, kubernetes/website#43935).
    Write ``unix:///run/containerd/containerd.sock``.
    """
    kc = kubelet_config(snap)
    for key in ("containerRuntimeEndpoint", "imageServiceEndpoint"):
        value = kc.settings.get(key)
        if value is None or value.source == "default" or not isinstance(value.value, str):
            continue
        if value.value.startswith("/"):
            yield Violation(
                f"{value.key} is {value.value!r} without a scheme ({where(value)}); "
                f"write unix://{value.value}",
                subject=f"kubelet/{key}",
                location=location(value),
            )


# --------------------------------------------------------------------------- containerd


@check(
    "I8S-CTRD-CRIOFF",
    title="containerd's CRI plugin is disabled on a Kubernetes node",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def cri_plugin_disabled(snap: Snapshot) -> Iterator[Violation]:
    """Docker's ``containerd.io`` package ships ``disabled_plugins = ["cri"]``; the kubelet
    then cannot use containerd ("container runtime is not running", "unknown service
    runtime.v1.RuntimeService").

    Source: runtime-facts 4.3 D7 (kubernetes/website container-runtimes.md note;
    containerd/containerd#8139, #4581). The fully-qualified id ``io.containerd.grpc.v1.cri``
    is matched too (containerd#14121, marked "(verify)"; containerd's own plugin ids are
    the source used). Fires only when a kubelet is configured on the node.
    """
    config = containerd_config(snap)
    kubelet_config(snap)
    if not config.cri_disabled:
        return
    names = {"cri", *config.cri_plugin_ids, "io.containerd.grpc.v1.cri"}
    for value in config.disabled_plugins:
        if value.value in names:
            yield Violation(
                f"{where(value)} disables the CRI plugin ({value.value!r} in disabled_plugins): "
                "the kubelet cannot use this containerd; remove it from disabled_plugins "
                "and restart containerd",
                subject=subject_key("disabled_plugins"),
                location=location(value),
            )


_CFGPROP_IDS = frozenset(
    {
        "systemd_cgroup", "default_runtime", "untrusted_workload_runtime", "runtime_engine",
        "runtime_root", "disable_cgroup", "CriuPath", "aufs", "cni.bin_dir", "tracing",
    }
)  # fmt: skip
_REGISTRY_IDS = frozenset({"registry.mirrors", "registry.configs", "registry.auths"})


def _installed_containerd(snap: Snapshot) -> tuple[int, ...] | None:
    from inspect8s.audit.checks.versions import parse_version

    for status in containerd_statuses(snap):
        parsed = parse_version(status.runtime_version)
        if parsed is not None:
            return parsed
    if snap.node is not None:
        for daemon in snap.node.runtimes:
            if daemon.name == "containerd" and daemon.version:
                return parse_version(daemon.version)
    return None


def _deprecated(
    snap: Snapshot, ids: frozenset[str], settings: CheckSettings
) -> Iterator[Violation]:
    """Deprecated keys of ``ids``, when they matter: the installed containerd is 2.x (it
    ignores them, or drops them in a later 2.x), or the target Kubernetes needs 2.x (past
    1.35). On containerd 1.x for a target up to 1.35 they still work: no finding."""
    from inspect8s.audit.checks.versions import CONTAINERD_1X_LAST_KUBERNETES, parse_version

    config = containerd_config(snap)
    installed = _installed_containerd(snap)
    try:
        target: int | None = target_minor(snap, settings)
    except Skip:
        target = None
    needs_2x = target is not None and target > CONTAINERD_1X_LAST_KUBERNETES
    if installed is None and not needs_2x:
        raise Skip("containerd's version is unknown (no CRI Version answer)")
    if installed is not None and installed[0] < 2 and not needs_2x:
        return
    for item in config.deprecated_keys:
        if item.id not in ids:
            continue
        removed = parse_version(item.removed_in)
        if installed is not None and removed is not None and installed >= removed:
            state = f"containerd {'.'.join(map(str, installed))} ignores it"
        else:
            state = f"containerd {item.removed_in} removes it"
        yield Violation(
            f"{item.value.key} ({where(item.value)}): {state}; {item.replacement}",
            subject=subject_key(item.value.key),
            location=location(item.value),
        )


@check(
    "I8S-CTRD-CFGPROP",
    title="containerd config uses a property containerd 2.x removed",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def removed_properties(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """Config properties removed in containerd 2.0: ``systemd_cgroup`` (use the runc
    runtime's ``options.SystemdCgroup``), ``untrusted_workload_runtime``,
    ``default_runtime`` (use ``default_runtime_name``), ``runtime_engine``,
    ``runtime_root`` (use ``options.Root``), ``disable_cgroup``, runc ``CriuPath``, the aufs
    snapshotter; planned for 2.2: CNI ``bin_dir`` (use ``bin_dirs``) and the tracing
    plugins (use OTEL_* variables). containerd 2.x ignores them, so the setting silently
    stops applying.

    Source: runtime-facts 4.3 D4/D5 (containerd RELEASES.md "Deprecated config properties"
    and "Deprecated features"). Reported when the installed containerd is 2.x or the target
    Kubernetes is past 1.35 (which needs containerd 2.x); containerd 1.x still reads them.
    """
    yield from _deprecated(snap, _CFGPROP_IDS, settings)


@check(
    "I8S-CTRD-REGISTRY",
    title="containerd registry mirrors/configs/auths in config.toml",
    severity=Severity.LOW,
    scope=Scope.NODE,
)
def registry_properties(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """``registry.mirrors``, ``registry.configs`` and ``registry.auths`` of the CRI plugin
    are deprecated since containerd 1.5 and targeted for removal in 2.2: move hosts to
    ``config_path`` with ``hosts.toml`` files, and credentials to ImagePullSecrets or a
    credential helper.

    Source: runtime-facts 4.3 D5 (containerd RELEASES.md "Deprecated config properties");
    the same deprecations appear as ``io.containerd.deprecation/cri-registry-*`` IDs.
    Reported when the installed containerd is 2.x or the target Kubernetes is past 1.35.
    """
    yield from _deprecated(snap, _REGISTRY_IDS, settings)


@check(
    "I8S-CTRD-V2KEY",
    title="Version-2 CRI key in a version-3 containerd config",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def v2_key_in_v3(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """A version 3 config splits the CRI plugin into ``io.containerd.cri.v1.runtime`` and
    ``io.containerd.cri.v1.images``; keys left under ``io.containerd.grpc.v1.cri`` (other
    than the gRPC server's own) do nothing, and containerd logs "Ignoring unknown key".

    Source: runtime-facts 4.3 D2/D3 (containerd/containerd#10132, docs/PLUGINS.md,
    #12552).
    """
    yield from _deprecated(snap, frozenset({"v2-key-in-v3"}), settings)


@check(
    "I8S-CTRD-V1SHIM",
    title="containerd runtime v1 or runc.v1 shim in use",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def v1_shim(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """containerd 2.0 removed the v1 runtime (``io.containerd.runtime.v1.linux``, whose
    shim binary is ``containerd-shim``) and the ``io.containerd.runc.v1`` shim; use
    ``io.containerd.runc.v2``.

    Source: runtime-facts 4.3 D4 (containerd RELEASES.md "Deprecated features"). Reads
    the config's ``runtime_type`` values and the shim processes running on the node.
    """
    if snap.node_config is not None and snap.node_config.containerd is not None:
        try:
            yield from _deprecated(snap, frozenset({"runtime.v1.linux", "runc.v1"}), settings)
        except Skip:
            pass  # version unknown: the running shims below still tell
    if snap.node is None:
        return
    by_kind: dict[str, list[int]] = {}
    for shim in snap.node.shims:
        # comm is cut to 15 characters: an exiting runc.v2 shim with no command line left
        # reads as "containerd-shim". containerd starts every shim with -namespace, so a
        # shim without one was not read from its command line and is not judged.
        if shim.namespace is None:
            continue
        if shim.kind in ("containerd-shim", "docker-containerd-shim", "containerd-shim-runc-v1"):
            by_kind.setdefault(shim.kind, []).append(shim.pid)
    for kind, pids in sorted(by_kind.items()):
        shown = ", ".join(str(p) for p in pids[:8]) + (" ..." if len(pids) > 8 else "")
        yield Violation(
            f"{len(pids)} {kind} process(es) run containers (PIDs {shown}): this shim is "
            "gone in containerd 2.0; move the runtime to io.containerd.runc.v2 (for Docker: "
            "Docker Engine 20.10 or later uses runc.v2)",
            subject=f"containerd/shim/{kind}",
        )


@check(
    "I8S-CTRD-DEPRWARN",
    title="containerd reports deprecation warnings",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def deprecation_warnings(snap: Snapshot) -> Iterator[Violation]:
    """containerd (>= 1.6.25/1.7.9 per containerd's 2.0 notes; a sosreport issue says
    1.6.27/1.7.12, "(verify)") records every deprecated feature it used and reports them in
    the CRI Status condition ``ContainerdHasNoDeprecationWarnings`` (status false, the
    message a JSON object of ``io.containerd.deprecation/...`` IDs). They are not kept
    across restarts.

    Source: runtime-facts 4.3 D6 (containerd/containerd#9258, #9312, #10827). Read from the
    CRI Status answer, the cheapest authoritative source.
    """
    import json

    statuses = [s for s in containerd_statuses(snap) if s.conditions is not None]
    if not statuses:
        raise Skip("no containerd CRI endpoint answered Status")
    for status in statuses:
        for cond in status.conditions or ():
            if cond.type != "ContainerdHasNoDeprecationWarnings" or cond.status:
                continue
            try:
                warnings = json.loads(cond.message) if cond.message else {}
            except ValueError:
                warnings = None
            if not isinstance(warnings, dict) or not warnings:
                yield Violation(
                    f"containerd at {status.endpoint}: {cond.reason}: {cond.message}; "
                    "run `ctr deprecations list` and remove what it names",
                    subject=subject_key("deprecations"),
                )
                continue
            for wid, text in sorted(warnings.items()):
                yield Violation(
                    f"containerd at {status.endpoint} reports {wid}: {text} (remove the "
                    "deprecated setting, then restart containerd: the list is not persisted)",
                    subject=subject_key(str(wid)),
                )


@check(
    "I8S-CTRD-SANDBOX",
    title="Sandbox image differs between the kubelet and the runtime",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def sandbox_image_mismatch(snap: Snapshot) -> Iterator[Violation]:
    """The kubelet's ``--pod-infra-container-image`` only pins the image for its garbage
    collector; the runtime starts the sandbox image of its own config (containerd
    ``sandbox_image`` / v3 ``pinned_images.sandbox``, CRI-O ``pause_image``). From 1.29
    the kubelet asks the CRI which image is pinned, so a different value in the flag is
    ignored and misleads (kubeadm warns "the sandbox image ... is inconsistent").

    Source: runtime-facts 4.1 K6 and 4.3 D3 (kubernetes/kubernetes#118544, #115610;
    containerd/containerd#12552). The runtime's value is the one its CRI Status reports,
    else its config file.
    """
    kc = kubelet_config(snap)
    flag = kc.flags.get("--pod-infra-container-image") or kc.unit_flags.get(
        "--pod-infra-container-image"
    )
    if flag is None:
        return
    runtime = kubelet_runtime(snap)
    image: str | None = runtime.sandbox_image if runtime else None
    origin = f"the CRI Status of {runtime.endpoint}" if runtime and image else None
    if image is None and snap.node_config is not None:
        cfg = snap.node_config.containerd
        crio = snap.node_config.crio
        name = runtime.runtime_name if runtime else None
        if name in (None, "containerd") and cfg is not None and cfg.sandbox_image is not None:
            image, origin = str(cfg.sandbox_image.value), where(cfg.sandbox_image)
        elif name == "cri-o" and crio is not None and crio.pause_image is not None:
            image, origin = str(crio.pause_image.value), where(crio.pause_image)
    if image is None:
        raise Skip("the runtime's sandbox image is unknown (no CRI answer, no config value)")
    if str(flag.value) != image:
        yield Violation(
            f"the kubelet's --pod-infra-container-image is {flag.value!r} ({where(flag)}) "
            f"but the runtime uses {image!r} ({origin}); set the runtime's sandbox image "
            "and drop the flag",
            subject="kubelet/--pod-infra-container-image",
            location=location(flag),
        )


# --------------------------------------------------------------------------- cgroups


def _runtime_driver(snap: Snapshot) -> tuple[str, str] | None:
    """(driver, where) the runtime the kubelet uses is configured with; None: unknown."""
    runtime = kubelet_runtime(snap)
    if runtime is not None and runtime.cgroup_driver in ("systemd", "cgroupfs"):
        return runtime.cgroup_driver, f"CRI RuntimeConfig of {runtime.endpoint}"
    cfg = snap.node_config
    if cfg is None:
        return None
    if kubelet_uses_docker(snap) and cfg.docker is not None and cfg.docker.cgroup_driver:
        return str(cfg.docker.cgroup_driver.value), where(cfg.docker.cgroup_driver)
    name = runtime.runtime_name if runtime else None
    if name in (None, "containerd") and cfg.containerd is not None:
        default = cfg.containerd.default_runtime_name
        rname = str(default.value) if default is not None else "runc"
        spec = cfg.containerd.runtimes.get(rname)
        if spec is not None:
            value = spec.options.get("SystemdCgroup")
            if value is not None and isinstance(value.value, bool):
                return ("systemd" if value.value else "cgroupfs"), where(value)
            return "cgroupfs", f"{spec.source} (runtime {rname!r}: SystemdCgroup not set)"
    if name == "cri-o" and cfg.crio is not None:
        value = cfg.crio.cgroup_manager
        if value is not None:
            return str(value.value), where(value)
        return "systemd", "CRI-O's built-in default"
    return None


def _observed_driver(snap: Snapshot) -> tuple[str, str] | None:
    if snap.node is None:
        return None
    drivers = sorted({c.cgroup_driver for c in snap.node.containers if c.pod_uid})
    if len(drivers) != 1:
        return None
    count = sum(1 for c in snap.node.containers if c.pod_uid)
    return drivers[0], f"the cgroup paths of {count} pod container(s) on the node"


@check(
    "I8S-CG-DRIVER",
    title="Kubelet, runtime and cgroup paths disagree on the cgroup driver",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def cgroup_driver_mismatch(snap: Snapshot) -> Iterator[Violation]:
    """The kubelet and the runtime must use the same cgroup driver; otherwise runc fails
    with "expected cgroupsPath to be of format slice:prefix:name" or pods land outside the
    kubelet's accounting.

    Source: runtime-facts 4.4 C1/C2 (website container-runtimes.md "cgroup drivers";
    kubernetes-sigs/kubespray#8122). Compares the kubelet's ``cgroupDriver`` (unless it
    takes the driver from the runtime, C3), the runtime's (CRI RuntimeConfig, else
    containerd ``SystemdCgroup`` of the default runtime, CRI-O ``cgroup_manager``, dockerd
    ``native.cgroupdriver``) and the format of the pod cgroup paths actually on the node.
    """
    sides: list[tuple[str, str, str]] = []  # (who, driver, where)
    kc = snap.node_config.kubelet if snap.node_config else None
    runtime = kubelet_runtime(snap)
    minor = snap.kubelet_version.minor if snap.kubelet_version else None
    from_cri = (
        minor is not None
        and minor >= 31
        and runtime is not None
        and runtime.cgroup_driver in ("systemd", "cgroupfs")
    )
    if kc is not None and not from_cri:
        value = kc.settings.get("cgroupDriver")
        if value is not None:
            sides.append(("kubelet", str(value.value), where(value)))
    found = _runtime_driver(snap)
    if found is not None:
        sides.append(("runtime", *found))
    seen = _observed_driver(snap)
    if seen is not None:
        sides.append(("node", *seen))
    if len(sides) < 2:
        raise Skip("fewer than two of kubelet, runtime and node cgroup paths are known")
    if len({driver for _, driver, _ in sides}) > 1:
        text = "; ".join(f"{who}: {driver} ({origin})" for who, driver, origin in sides)
        kubelet_value = kc.settings.get("cgroupDriver") if kc else None
        yield Violation(
            f"cgroup drivers differ: {text}; make the kubelet's cgroupDriver and the "
            "runtime's driver the same (systemd on systemd hosts) and recreate the node's pods",
            subject="cgroup-driver",
            location=location(kubelet_value) if kubelet_value else None,
        )


# --------------------------------------------------------------------------- dockershim leftovers


@check(
    "I8S-CRICTL-DS",
    title="crictl is configured for dockershim",
    severity=Severity.LOW,
    scope=Scope.NODE,
)
def crictl_dockershim(snap: Snapshot) -> Iterator[Violation]:
    """``/etc/crictl.yaml`` naming ``unix:///var/run/dockershim.sock``, or setting no
    endpoint (older crictl then tries dockershim.sock first: "connect: no such file or
    directory"). Set ``runtime-endpoint`` and ``image-endpoint`` to the node's runtime.

    Source: runtime-facts 4.5 S1 (kubernetes-sigs/cri-tools#868, #1041, #1089).
    """
    if snap.node_config is None or snap.node_config.crictl is None:
        return
    cfg = snap.node_config.crictl
    for key, value in (("runtime-endpoint", cfg.runtime_endpoint),
                       ("image-endpoint", cfg.image_endpoint)):  # fmt: skip
        if value is not None and "dockershim" in str(value.value):
            yield Violation(
                f"{cfg.path}: {key} is {value.value!r} ({where(value)}); point it at the "
                "node's runtime socket",
                subject=f"crictl/{key}",
                location=location(value),
            )
    if cfg.uses_default_endpoints:
        yield Violation(
            f"{cfg.path} sets no runtime-endpoint: crictl falls back to its default list "
            "(dockershim.sock first in older releases); set it explicitly",
            subject="crictl/runtime-endpoint",
            location=Location(cfg.path),
        )


@check(
    "I8S-NODE-DOCKER",
    title="Docker registry settings not carried over to containerd",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def docker_registry_settings(snap: Snapshot) -> Iterator[Violation]:
    """``/etc/docker/daemon.json`` registry mirrors and insecure registries apply only to
    Docker; a node moved to containerd pulls without them unless containerd has them
    (``config_path`` with hosts.toml, or the deprecated ``registry.mirrors``).

    Source: runtime-facts 4.5 S4 and "Hidden-Docker-dependency sweep" (website
    check-if-dockershim-removal-affects-you.md). Fires only when the kubelet does not use
    Docker.
    """
    if snap.node_config is None or snap.node_config.docker is None:
        return
    if kubelet_uses_docker(snap):
        return
    docker = snap.node_config.docker
    ctrd = snap.node_config.containerd
    migrated = ctrd is not None and (
        ctrd.registry_config_path is not None or bool(ctrd.registry_mirrors)
    )
    if migrated:
        return
    for key, values in (("registry-mirrors", docker.registry_mirrors),
                        ("insecure-registries", docker.insecure_registries)):  # fmt: skip
        if not values:
            continue
        value = docker.settings.get(key)
        yield Violation(
            f"{docker.path} sets {key} {list(values)} but containerd has no registry "
            "config_path or mirrors: add hosts.toml files under a config_path",
            subject=f"docker/{key}",
            location=location(value) if value else Location(docker.path),
        )


@check(
    "I8S-NODE-DOCKERD",
    title="dockerd runs beside containerd",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def dockerd_beside_containerd(snap: Snapshot) -> Iterator[Violation]:
    """A Docker daemon still running on a node whose kubelet does not use Docker is a
    hidden dependency (scripts, agents, `docker build`) and a second container runtime
    outside Kubernetes' view.

    Source: runtime-facts "Hidden-Docker-dependency sweep" (website
    check-if-dockershim-removal-affects-you.md). Fires when dockerd and containerd both run
    and the kubelet (if any) uses neither dockershim nor cri-dockerd.
    """
    if snap.node is None:
        raise Skip("node not probed")
    if kubelet_uses_docker(snap):
        return
    names = {d.name for d in snap.node.runtimes}
    if "containerd" not in names:
        return
    for daemon in snap.node.runtimes:
        if daemon.name != "dockerd":
            continue
        where_ = f"PID {daemon.pid}" if daemon.pid else "socket only"
        socks = ", ".join(daemon.sockets) or "its default socket"
        yield Violation(
            f"dockerd ({where_}, {socks}) runs beside containerd: find what still uses it "
            "(see I8S-NODE-MOBY, I8S-NODE-DOCKERSOCK), then stop and disable docker.service",
            subject=f"dockerd/{daemon.pid}" if daemon.pid else "dockerd",
        )


@check(
    "I8S-NODE-MOBY",
    title="Containers run in containerd's moby namespace",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def moby_containers(snap: Snapshot) -> Iterator[Violation]:
    """Containers in containerd's ``moby`` namespace were started by Docker, outside
    Kubernetes (pods of a dockershim/cri-dockerd kubelet are excluded): workloads that will
    not survive Docker's removal, invisible to kubectl.

    Source: runtime-facts "Hidden-Docker-dependency sweep" (website
    check-if-dockershim-removal-affects-you.md). Read from the shims' ``-namespace moby``.
    """
    if snap.node is None:
        raise Skip("node not probed")
    containers = {c.id: c for c in snap.node.containers}
    for shim in snap.node.shims:
        if shim.namespace != "moby":
            continue
        ids: Sequence[str] = shim.container_ids or ((shim.id,) if shim.id else ())
        for cid in ids:
            found = containers.get(cid)
            if found is not None and found.pod_uid:
                continue  # a pod container of dockershim / cri-dockerd
            name = f" ({found.name})" if found is not None and found.name else ""
            yield Violation(
                f"container {cid[:12]}{name} runs in the moby namespace under shim PID "
                f"{shim.pid}: it was started by Docker outside Kubernetes; move it to a pod "
                "or a systemd service before removing Docker",
                subject=f"container/{cid[:12]}",
            )


@check(
    "I8S-NODE-DOCKERSOCK",
    title="Processes hold docker.sock connections",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def docker_socket_clients(snap: Snapshot) -> Iterator[Violation]:
    """Processes connected to the Docker socket (monitoring and security agents, CI
    runners, scripts) depend on Docker and break when it goes.

    Source: runtime-facts 4.5 S4 (website migrating-telemetry-and-security-agents.md,
    check-if-dockershim-removal-affects-you.md). Found from /proc/net/unix, the kernel's
    sock_diag peer of each accepted connection and /proc/<pid>/fd.
    """
    if snap.docker_socket_holders is None:
        return
    if snap.socket_peers_known is False:
        raise Skip(
            "the client ends of docker.sock connections could not be named (the kernel's "
            "socket peers are known only on the machine itself, not under a root or in a "
            "bundle recorded without them)"
        )
    daemons = {d.pid for d in snap.node.runtimes if d.pid} if snap.node else set()
    seen: set[int] = set()
    for holder in snap.docker_socket_holders:
        if holder.role != "client" or holder.pid in daemons or holder.pid in seen:
            continue
        seen.add(holder.pid)
        cmd = " ".join(holder.cmdline)[:120] or holder.comm
        yield Violation(
            f"PID {holder.pid} ({cmd}) holds a connection to {holder.socket} (fd "
            f"{holder.fd}): move it to the CRI (crictl, containerd API) or remove it",
            subject=f"process/{holder.pid}",
        )


__all__ = ["Snapshot", "kubelet_config", "target_minor", "where"]
