"""Version-aware pre-upgrade checks (scope node): is this node ready for ``--target-version``?

The target is a Kubernetes minor (``--target-version 1.31``); by default the kubelet's own
(from ``--kubelet-version``, the bundle or the package database). Without either, every
check here is skipped with the reason. Version data lives in ``checks/versions.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspect8s.audit.checks import versions as v
from inspect8s.audit.checks.node import (
    containerd_config,
    containerd_statuses,
    kubelet_config,
    kubelet_endpoint,
    kubelet_runtime,
    location,
    target_minor,
    where,
)
from inspect8s.audit.registry import CheckSettings, Scope, Skip, Violation, check
from inspect8s.audit.results import Location, Severity
from inspect8s.model import CgroupVersion, Snapshot


def _flag_violations(
    snap: Snapshot, flag: str, removed_in: int, advice: str
) -> Iterator[Violation]:
    kc = kubelet_config(snap)
    seen: set[str] = set()
    for table, state in ((kc.flags, "runs with"), (kc.unit_flags, "would start with")):
        value = table.get(flag)
        if value is None or value.where() in seen:
            continue
        seen.add(value.where())
        yield Violation(
            f"the kubelet {state} {flag}={value.value} ({where(value)}); the flag is removed "
            f"in Kubernetes 1.{removed_in} and the kubelet fails with 'unknown flag: {flag}'; "
            f"{advice}",
            subject=f"kubelet/{flag}",
            location=location(value),
        )


@check(
    "I8S-KFLAG-124",
    title="Kubelet flag removed in 1.24 with dockershim",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def flags_removed_124(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """With dockershim's removal in 1.24 these kubelet flags were removed:
    ``--experimental-dockershim-root-directory``, ``--docker-endpoint``,
    ``--image-pull-progress-deadline``, ``--network-plugin``, ``--cni-conf-dir``,
    ``--cni-bin-dir``, ``--cni-cache-dir``, ``--network-plugin-mtu``. A 1.24+ kubelet given
    one fails with "failed to parse kubelet flag: unknown flag: --network-plugin".

    Source: runtime-facts 4.1 K1 (kubernetes/kubernetes#106907 release note;
    cilium/cilium#21311 error text). Looks at the running command line and at what the
    systemd unit, kubeadm-flags.env and KUBELET_EXTRA_ARGS would pass.
    """
    if target_minor(snap, settings) < v.DOCKERSHIM_REMOVED:
        return
    for flag in v.FLAGS_REMOVED_1_24:
        yield from _flag_violations(
            snap, flag, v.DOCKERSHIM_REMOVED, "remove it (CNI settings now belong to the runtime)"
        )


@check(
    "I8S-KFLAG-127",
    title="Kubelet flag --container-runtime removed in 1.27",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def container_runtime_flag(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """``--container-runtime`` was deprecated in 1.24 and removed in 1.27 ("unknown flag:
    --container-runtime"); kubeadm-flags.env files written by older kubeadm still carry
    ``--container-runtime=remote``.

    Source: runtime-facts 4.1 K4 (kubernetes/kubernetes#114017; replicatedhq/kURL#4451;
    website find-out-runtime-you-use.md).
    """
    if target_minor(snap, settings) < v.CONTAINER_RUNTIME_FLAG_REMOVED:
        return
    yield from _flag_violations(
        snap,
        "--container-runtime",
        v.CONTAINER_RUNTIME_FLAG_REMOVED,
        "remove it (every runtime is remote since 1.24)",
    )


@check(
    "I8S-KFLAG-135",
    title="Kubelet flag --pod-infra-container-image removed in 1.35",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def pod_infra_flag(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """``--pod-infra-container-image`` lost its effect when the kubelet started taking the
    pinned sandbox image from the CRI (1.29) and was removed in 1.35: a kubelet still given
    it does not start, and kubeadm does not strip user ``extraArgs``.

    Source: runtime-facts 4.1 K6 (kubernetes/kubernetes#133779 and CHANGELOG-1.35 as cited
    by kubermatic/operating-system-manager#555). "(verify)": sig-windows-tools#397 says
    1.34; the Kubernetes sources' 1.35 is used.
    """
    if target_minor(snap, settings) < v.POD_INFRA_FLAG_REMOVED:
        return
    yield from _flag_violations(
        snap,
        "--pod-infra-container-image",
        v.POD_INFRA_FLAG_REMOVED,
        "remove it and set the sandbox image in the runtime's config",
    )


@check(
    "I8S-KUBELET-DOCKERSHIM",
    title="Kubelet uses dockershim, removed in 1.24",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def dockershim_endpoint(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """dockershim was removed from the kubelet in 1.24. A kubelet whose endpoint is
    ``dockershim.sock`` (explicitly, or by the pre-1.24 default with
    ``--container-runtime=docker``) needs cri-dockerd or a move to containerd/CRI-O first.

    Source: runtime-facts 4.1 K3 (kubernetes/kubernetes#97252; KEP-2221; website
    "Check whether dockershim removal affects you").
    """
    if target_minor(snap, settings) < v.DOCKERSHIM_REMOVED:
        return
    kc = kubelet_config(snap)
    endpoint = kubelet_endpoint(snap)
    runtime_flag = kc.flags.get("--container-runtime")
    uses_docker_default = runtime_flag is not None and str(runtime_flag.value) == "docker"
    if endpoint is not None and "dockershim.sock" in str(endpoint.value):
        if endpoint.source == "default" and not uses_docker_default:
            return  # a remote runtime was named some other way
        yield Violation(
            f"the kubelet's CRI endpoint is {endpoint.value} ({where(endpoint)}"
            + (f", with --container-runtime=docker at {where(runtime_flag)}" if runtime_flag
               else "")
            + "): dockershim is gone in 1.24; migrate the node to containerd or install "
            "cri-dockerd before upgrading",
            subject="kubelet/containerRuntimeEndpoint",
            location=location(endpoint) or (location(runtime_flag) if runtime_flag else None),
        )  # fmt: skip


@check(
    "I8S-CRI-V1",
    title="Runtime lacks CRI v1, required by kubelet 1.26+",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def cri_v1(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """Kubelet 1.26 and later speak only CRI v1; with a runtime that serves only
    v1alpha2 it fails: "CRI v1 runtime API is not implemented for endpoint".

    Source: runtime-facts 4.2 R1/R2 (kubernetes/kubernetes#110618; containerd RELEASES.md
    "v1.6.15+, v1.7.0+ | 1.26+ | v1"). Read from the runtime's own answer: v1 Version
    UNIMPLEMENTED and v1alpha2 Version answered.
    """
    if target_minor(snap, settings) < v.CRI_V1_REQUIRED:
        return
    answered = [s for s in snap.runtime_status if s.api_version is not None]
    if not answered:
        raise Skip("no CRI endpoint answered Version (see the probe errors)")
    for status in answered:
        if status.api_version != "v1alpha2":
            continue
        name = status.runtime_name or "runtime"
        ver = f" {status.runtime_version}" if status.runtime_version else ""
        yield Violation(
            f"{name}{ver} at {status.endpoint} serves only CRI v1alpha2; kubelet 1.26+ needs "
            "CRI v1: upgrade the runtime (containerd 1.6.15+/1.7+, CRI-O 1.26+) first",
            subject=f"cri:{status.endpoint}",
        )


@check(
    "I8S-RUNTIME-MINVER",
    title="Runtime older than the minimum for the target Kubernetes",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def runtime_minimum(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """containerd releases per Kubernetes minor (1.26+: 1.6.15+ or 1.7.0+; then the
    per-minor rows of containerd's release table); CRI-O's minor follows Kubernetes'.

    Source: runtime-facts 4.2 R2/R3/R5 (containerd RELEASES.md support matrix; the 1.34
    and 1.35 rows from the containerd.io releases table, marked "(verify)"; cri-o README
    compatibility matrix). The version is the runtime's CRI Version answer.
    """
    target = target_minor(snap, settings)
    answered = [s for s in snap.runtime_status if s.runtime_version is not None]
    if not answered:
        raise Skip("no CRI endpoint answered Version (see the probe errors)")
    for status in answered:
        parsed = v.parse_version(status.runtime_version)
        if parsed is None:
            continue
        if status.runtime_name == "containerd":
            minimum = v.containerd_minimum(target, parsed)
            if minimum is not None:
                yield Violation(
                    f"containerd {status.runtime_version} at {status.endpoint} is below "
                    f"{v.show(minimum)}, the lowest release of its line for Kubernetes "
                    f"1.{target}; upgrade containerd before the kubelet",
                    subject=f"runtime/containerd:{status.endpoint}",
                )
        elif status.runtime_name == "cri-o" and parsed[0] == 1 and parsed[1] < target:
            yield Violation(
                f"CRI-O {status.runtime_version} at {status.endpoint} is for Kubernetes "
                f"1.{parsed[1]}; use CRI-O 1.{target} with Kubernetes 1.{target}",
                subject=f"runtime/cri-o:{status.endpoint}",
            )


@check(
    "I8S-CTRD-1X",
    title="containerd 1.x past its last supported Kubernetes release",
    severity=Severity.HIGH,
    scope=Scope.NODE,
)
def containerd_1x(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """Kubernetes 1.35 is the last release that supports containerd 1.x: move to
    containerd 2.x (and a version 3 config) before 1.36.

    Source: runtime-facts 4.2 R4 (AWS EKS 1.35 notes; kubernetes/kubernetes#133774).
    """
    target = target_minor(snap, settings)
    if target <= v.CONTAINERD_1X_LAST_KUBERNETES:
        return
    for status in containerd_statuses(snap):
        parsed = v.parse_version(status.runtime_version)
        if parsed is not None and parsed[0] == 1:
            yield Violation(
                f"containerd {status.runtime_version} at {status.endpoint}: Kubernetes 1."
                f"{target} does not support containerd 1.x (1.35 was the last); upgrade to "
                "containerd 2.x and migrate its config (containerd config migrate)",
                subject=f"runtime/containerd:{status.endpoint}",
            )


@check(
    "I8S-CTRD-CFGVER",
    title="containerd config version does not match the installed containerd",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def config_version(snap: Snapshot) -> Iterator[Violation]:
    """Config ``version`` 1 (assumed when absent) works everywhere, 2 needs containerd
    1.3+, 3 needs 2.0+. containerd 2.x migrates older versions in memory at every start
    (``containerd config migrate`` writes version 3; rollback to 1.x is then blocked),
    and keys that moved are easy to get wrong; containerd 1.x cannot read version 3.

    Source: runtime-facts 4.3 D1 (containerd RELEASES.md "Daemon Configuration").
    """
    config = containerd_config(snap)
    installed = next(
        (p for s in containerd_statuses(snap) if (p := v.parse_version(s.runtime_version))),
        None,
    )
    if installed is None:
        raise Skip("containerd's version is unknown (no CRI Version answer)")
    value = config.version_value
    shown = f"version {config.version}" + ("" if value else " (no version line: 1 assumed)")
    origin = where(value) if value else config.path
    since = v.CONTAINERD_CONFIG_VERSION_SINCE.get(config.version)
    if since is not None and installed < since:
        yield Violation(
            f"{config.path} is config {shown} ({origin}) but containerd "
            f"{v.show(installed)} reads it only from {v.show(since)}; use version 2",
            subject="containerd/config-version",
            location=location(value) if value else None,
        )
    elif installed[0] >= 2 and config.version < 3:
        yield Violation(
            f"{config.path} is config {shown} ({origin}); containerd {v.show(installed)} "
            "migrates it in memory at every start: run `containerd config migrate` and "
            "review the result",
            subject="containerd/config-version",
            location=location(value) if value else None,
        )


@check(
    "I8S-CG-V1",
    title="cgroup v1 node with a target that refuses cgroup v1",
    severity=Severity.CRITICAL,
    scope=Scope.NODE,
)
def cgroup_v1(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """From Kubernetes 1.35 the kubelet refuses to start on cgroup v1 by default
    (``failCgroupV1`` defaults to true: "kubelet is configured to not run on a host using
    cgroup v1"). Move the node to cgroup v2, or set ``failCgroupV1: false`` to keep going
    until v1 support is removed (no earlier than 1.38).

    Source: runtime-facts 4.4 C4 (KEP-5573, kubernetes/kubernetes#134298; Kubernetes blog
    "Moving cgroup v1 Support into Maintenance Mode"). The cgroup version is the one the
    node's mounts show; hybrid counts as v1.
    """
    target = target_minor(snap, settings)
    if target < v.CGROUP_V1_REFUSED:
        return
    if snap.node is None or snap.node.node.cgroup_version is None:
        raise Skip("the node's cgroup version is unknown")
    if snap.node.node.cgroup_version is CgroupVersion.V2:
        return
    kc = kubelet_config(snap)
    value = kc.settings.get("failCgroupV1")
    if value is not None and value.source != "default" and value.value is False:
        return
    explicit = value is not None and value.source != "default"
    config_file = kc.config_file
    if explicit and value is not None:
        detail = f"failCgroupV1 is {value.value} ({where(value)})"
    else:
        detail = f"failCgroupV1 is not set in {config_file or 'the kubelet config (no --config)'}"
    yield Violation(
        f"the node runs cgroup {snap.node.node.cgroup_version.value} and {detail}: kubelet "
        f"1.{target} will not start; move the node to cgroup v2, or set failCgroupV1: false "
        "in the kubelet config",
        subject="kubelet/failCgroupV1",
        location=(
            location(value)
            if explicit and value is not None
            else (Location(config_file) if config_file else None)
        ),
    )


@check(
    "I8S-CG-FROMCRI",
    title="Runtime does not report its cgroup driver to the kubelet",
    severity=Severity.MEDIUM,
    scope=Scope.NODE,
)
def cgroup_driver_from_cri(snap: Snapshot, settings: CheckSettings) -> Iterator[Violation]:
    """KubeletCgroupDriverFromCRI (beta and on in 1.31, GA in 1.34) makes the kubelet take
    the cgroup driver from the runtime's ``RuntimeConfig``; a runtime without it (containerd
    before 2.0, older cri-dockerd) makes the kubelet fall back to its config and report
    ``kubelet_cri_losing_support``; the fallback is planned to stop in 1.36.

    Source: runtime-facts 4.4 C3 (kubernetes/kubernetes#125828, #133157, #136731;
    containerd/containerd#8722). Fires for targets from 1.34.
    """
    target = target_minor(snap, settings)
    if target < v.CGROUP_DRIVER_FROM_CRI_LOSING_SUPPORT:
        return
    runtime = kubelet_runtime(snap)
    if runtime is None:
        raise Skip("the kubelet's runtime did not answer (or there is no kubelet)")
    if runtime.cgroup_driver is None:
        raise Skip(f"{runtime.endpoint} did not answer RuntimeConfig (see the probe errors)")
    if runtime.cgroup_driver == "unimplemented":
        name = runtime.runtime_name or "the runtime"
        yield Violation(
            f"{name} {runtime.runtime_version or ''} at {runtime.endpoint} does not implement "
            f"RuntimeConfig: kubelet 1.{target} counts it as losing support and the fallback "
            "to the kubelet's cgroupDriver is planned to end in 1.36; upgrade the runtime "
            "(containerd 2.0+)",
            subject=f"cri:{runtime.endpoint}",
        )


__all__ = ["containerd_config"]
