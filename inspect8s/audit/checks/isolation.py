"""Spec checks of workload isolation (scope pod): who the container runs as, what it may
write, which filters confine it, which host paths and capabilities it gets, which image it
runs. They read only the pod spec, so they run the same on manifests, on ``--pods`` and on
the live API; the kernel's side of the same questions is in ``checks/hosttruth.py``.

Sources: the project's runtime-facts reference 4.6 (isolation rules as Polaris and Checkov
state them) and the Kubernetes API reference (core/v1 SecurityContext, PodSecurityContext,
Container); each docstring names its own.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from inspect8s.audit.checks.pods import (
    DANGEROUS_CAPABILITIES,
    RUNTIME_SOCKET_DIRS,
    RUNTIME_SOCKETS,
    cap_name,
    host_paths,
    mounted_by,
    spec_field,
    spec_kind,
    spec_subject,
    volume_field,
)
from inspect8s.audit.registry import Scope, Violation, check
from inspect8s.audit.results import Severity
from inspect8s.model import ContainerSpec, Pod

# --------------------------------------------------------------------------- users


@check(
    "I8S-SEC-RUNASROOT",
    title="Container may run as root",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def runs_as_root(pod: Pod) -> Iterator[Violation]:
    """A container whose effective ``runAsUser`` is 0, or that sets neither a non-zero
    ``runAsUser`` nor ``runAsNonRoot: true``, runs as whatever user its image names, root
    for most images. Root in a container is root on the node's files it can reach (host
    paths, a writable ``/proc/sys`` entry) and the first step of every container escape.

    The container's ``securityContext`` wins over the pod's, field by field (core/v1
    SecurityContext). ``runAsNonRoot: true`` makes the kubelet refuse to start an image
    whose user is 0; a non-zero ``runAsUser`` runs the process as that user whatever the
    image says.

    Source: Polaris ``runAsRootAllowed``, Checkov CKV_K8S_23 (runtime-facts 4.6); core/v1
    SecurityContext ``runAsUser``, ``runAsNonRoot``.
    """
    for spec in pod.containers:
        if spec.run_as_user == 0:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} runs as UID 0 (runAsUser: 0)",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "runAsUser"),
            )
        elif spec.run_as_user is None and spec.run_as_non_root is not True:
            how = "false" if spec.run_as_non_root is False else "not set"
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets no runAsUser and runAsNonRoot is {how}: "
                "it runs as the image's user, root unless the image says otherwise",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "runAsNonRoot"),
            )


@check(
    "I8S-SEC-ROROOTFS",
    title="Container root filesystem is writable",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def writable_root_filesystem(pod: Pod) -> Iterator[Violation]:
    """Without ``readOnlyRootFilesystem: true`` a process in the container can change its
    own binaries and libraries, drop tools, and persist inside the container until it is
    recreated. Write to ``emptyDir`` volumes instead.

    Source: Polaris ``notReadOnlyRootFilesystem``, Checkov CKV_K8S_22 (runtime-facts 4.6).
    """
    for spec in pod.containers:
        if spec.read_only_root_filesystem is not True:
            how = "false" if spec.read_only_root_filesystem is False else "not set"
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r}: securityContext.readOnlyRootFilesystem is {how}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "readOnlyRootFilesystem"),
            )


# --------------------------------------------------------------------------- seccomp


@check(
    "I8S-SEC-SECCOMP",
    title="Container has no seccomp profile",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def seccomp_missing(pod: Pod) -> Iterator[Violation]:
    """Neither the container nor the pod sets ``seccompProfile.type`` to ``RuntimeDefault``
    or ``Localhost``: unless the kubelet runs with ``seccompDefault: true``, the container
    gets no system-call filter at all (``Seccomp: 0``). ``Unconfined`` is reported by
    I8S-SEC-SECCOMP-UNCONFINED.

    A privileged container gets no seccomp filter even when a profile is set (the runtime
    skips it for privileged containers), so a profile next to ``privileged: true`` is
    reported too: it protects nothing. The seccomp alpha annotations are ignored since 1.25
    and do not count as a profile (I8S-WL-SECCOMP-ANN).

    Source: Kubernetes docs "Restrict a Container's Syscalls with seccomp" (``seccompDefault``,
    privileged containers run unconfined); Checkov CKV_K8S_31; runtime-facts 4.5 S6, 4.6.
    """
    for spec in pod.containers:
        profile = spec.seccomp_profile or pod.seccomp_profile
        if profile in ("RuntimeDefault", "Localhost") and spec.privileged:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} is privileged, so its seccomp profile "
                f"{profile} is not applied: privileged containers run without seccomp",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "privileged"),
            )
        elif profile is None:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets no seccompProfile (neither it nor the "
                "pod): no system-call filter unless the kubelet sets seccompDefault",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "seccompProfile"),
            )


# --------------------------------------------------------------------------- host paths

# Host directories that a pod can use to read secrets, change the node or other pods, or
# hide from the node's tools; a path under one of them counts (read-only too: reading is
# enough for most). The directories holding runtime sockets are I8S-WL-RUNTIMEDIR's.
SENSITIVE_HOST_PATHS: tuple[str, ...] = (
    "/boot",
    "/dev",
    "/etc",
    "/etc/cni",
    "/etc/kubernetes",
    "/home",
    "/lib/modules",
    "/opt/cni",
    "/proc",
    "/root",
    "/sys",
    "/usr",
    "/var/lib/cni",
    "/var/lib/containerd",
    "/var/lib/docker",
    "/var/lib/etcd",
    "/var/lib/kubelet",
    "/var/log",
)
# Single files under those that hold nothing to abuse.
HARMLESS_HOST_PATHS: frozenset[str] = frozenset({"/etc/localtime", "/usr/share/zoneinfo"})


def _sensitive_root(path: str) -> str | None:
    if path in HARMLESS_HOST_PATHS or path.startswith("/usr/share/zoneinfo/"):
        return None
    best = None
    for root in SENSITIVE_HOST_PATHS:
        if (path == root or path.startswith(root + "/")) and (
            best is None or len(root) > len(best)
        ):
            best = root
    return best


@check(
    "I8S-SEC-HOSTPATH",
    title="Workload mounts a sensitive host path",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def sensitive_host_path(pod: Pod) -> Iterator[Violation]:
    """A hostPath volume of (or under) a host directory that holds the node's secrets or
    control: ``/etc`` and ``/etc/kubernetes`` (credentials, kubeconfigs), ``/var/lib/kubelet``
    (every pod's volumes and service-account tokens), ``/var/lib/etcd`` (the cluster's
    data), ``/proc``, ``/sys`` and ``/dev`` (the kernel and the host's devices),
    ``/var/log`` (every container's logs, and a known escape through log symlinks), the CNI
    directories (``/etc/cni``, ``/opt/cni``, ``/var/lib/cni``: the node's network plugins),
    ``/var/lib/docker`` and ``/var/lib/containerd`` (every container's files), ``/boot``,
    ``/lib/modules``, ``/usr``, ``/root``, ``/home``. Read-only mounts are reported too;
    ``/etc/localtime`` and ``/usr/share/zoneinfo`` are not. The runtime socket directories
    (``/``, ``/run``, ``/var/run``, ...) are I8S-WL-RUNTIMEDIR's.

    Such mounts are often needed by node agents (CNI, CSI, log shippers, monitoring): accept
    them in the ignore file for those.

    Source: Kubernetes docs "Volumes: hostPath" (warning on sensitive paths) and Pod Security
    Standards (baseline forbids hostPath); runtime-facts 4.5 S3, 4.6.
    """
    for volume, path in host_paths(pod):
        if path in RUNTIME_SOCKET_DIRS or posixpath.basename(path) in RUNTIME_SOCKETS:
            continue
        root = _sensitive_root(path)
        if root is None:
            continue
        under = "" if root == path else f" (under {root})"
        yield Violation(
            f"volume {volume.name!r} is hostPath {volume.host_path}{under} "
            f"({mounted_by(pod, volume.name)})",
            field=volume_field(pod, volume),
        )


# --------------------------------------------------------------------------- images


def image_tag(image: str) -> tuple[str | None, bool]:
    """(tag, pinned by digest) of an image reference; tag None: none written.

    ``registry:5000/app`` has no tag (the colon belongs to the registry's port);
    ``app@sha256:...`` is pinned whatever its tag says.
    """
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else None
    return (tag or None), bool(digest)


@check(
    "I8S-SEC-IMAGETAG",
    title="Container image is not pinned",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def image_not_pinned(pod: Pod) -> Iterator[Violation]:
    """An image without a tag means ``:latest``; ``:latest`` moves. Two nodes may run two
    different images under one name, a rollback does not roll back, and what was audited
    is not what runs. Pin a version tag or a digest (``@sha256:...``). With ``:latest`` (or
    no tag) and ``imagePullPolicy: IfNotPresent`` or ``Never`` a node also keeps running
    whichever ``latest`` it pulled first.

    Source: Polaris ``tagNotSpecified``, Checkov CKV_K8S_14; Kubernetes docs "Images"
    (``imagePullPolicy`` defaults to Always for ``:latest`` and untagged images).
    """
    for spec in pod.containers:
        tag, pinned = image_tag(spec.image)
        if pinned or (tag is not None and tag != "latest"):
            continue
        what = "has no tag (so :latest)" if tag is None else "uses the :latest tag"
        policy = spec.image_pull_policy
        stale = (
            f"; imagePullPolicy {policy} keeps whatever image a node pulled first"
            if policy in ("IfNotPresent", "Never")
            else ""
        )
        yield Violation(
            f"{spec_kind(spec)} {spec.name!r} image {spec.image!r} {what}{stale}",
            subject=spec_subject(spec),
            field=spec_field(pod, spec, "image"),
        )


# --------------------------------------------------------------------------- API access


@check(
    "I8S-SEC-SATOKEN",
    title="Service account token mounted into a pod that does not use the API",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def service_account_token(pod: Pod) -> Iterator[Violation]:
    """The pod runs as the namespace's ``default`` service account (no
    ``serviceAccountName``), which a workload that talks to the API would not, yet its token
    is mounted (``automountServiceAccountToken`` is not false). Whoever gets code running in
    the container holds a credential for the API server it has no use for. Set
    ``automountServiceAccountToken: false`` on the pod (or on the ``default`` account).

    A pod with its own service account is taken to use the API and is not reported.

    Source: Kubernetes docs "Configure Service Accounts for Pods" (opt out of API credential
    automounting); Checkov CKV_K8S_38 (reported for every pod there).
    """
    if pod.automount_service_account_token is False:
        return
    if pod.service_account not in (None, "default"):
        return
    how = "true" if pod.automount_service_account_token else "not set (defaults to true)"
    yield Violation(
        f"pod runs as the default service account with automountServiceAccountToken {how}",
        field=("spec", "automountServiceAccountToken"),
    )


# --------------------------------------------------------------------------- kernel views


@check(
    "I8S-SEC-PROCMOUNT",
    title="Container unmasks /proc",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def proc_mount_unmasked(pod: Pod) -> Iterator[Violation]:
    """``securityContext.procMount: Unmasked`` turns off the runtime's masking of
    ``/proc`` (``/proc/kcore``, ``/proc/sysrq-trigger``, ``/proc/sys`` read-only ...), which
    exists to keep a container from reading kernel memory or changing the host's kernel
    settings. Only meant for nested containers inside a user namespace.

    Source: Pod Security Standards (baseline: ``procMount`` must be Default); core/v1
    SecurityContext ``procMount``.
    """
    for spec in pod.containers:
        if spec.proc_mount is not None and spec.proc_mount != "Default":
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets securityContext.procMount: "
                f"{spec.proc_mount}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "procMount"),
            )


@check(
    "I8S-SEC-HOSTPROCESS",
    title="Windows container runs as a host process",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def windows_host_process(pod: Pod) -> Iterator[Violation]:
    """``securityContext.windowsOptions.hostProcess: true`` runs the container's
    processes directly on the Windows node, with the host's network and file system: it is
    the Windows equivalent of a privileged pod.

    Source: Pod Security Standards (baseline forbids HostProcess); Kubernetes docs
    "Create a Windows HostProcess Pod".
    """
    for spec in pod.containers:
        if spec.host_process:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} runs as a Windows HostProcess container",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "windowsOptions", "hostProcess"),
            )


# --------------------------------------------------------------------------- capabilities


def _keeps_net_raw(spec: ContainerSpec) -> bool:
    dropped = {cap_name(c) for c in spec.capabilities_drop}
    added = {cap_name(c) for c in spec.capabilities_add}
    return "NET_RAW" in added or not ({"ALL", "NET_RAW"} & dropped)


@check(
    "I8S-SEC-CAPS-INSECURE",
    title="Container keeps or adds insecure capabilities",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def insecure_capabilities(pod: Pod) -> Iterator[Violation]:
    """Capabilities beyond what a service needs, short of the dangerous ones of
    I8S-SEC-CAPS: an added capability other than NET_BIND_SERVICE (SYS_CHROOT, SETUID,
    IPC_LOCK, SYS_RESOURCE, ...), or NET_RAW kept (neither ``drop: [ALL]`` nor
    ``drop: [NET_RAW]``), which lets the container forge packets and spoof ARP and DNS on
    the node's network. Adding NET_BIND_SERVICE (binding ports below 1024) after
    ``drop: [ALL]`` is the recommended way and is not reported. Privileged containers hold
    every capability and are I8S-SEC-PRIVILEGED's.

    Source: Polaris ``insecureCapabilities``, Checkov CKV_K8S_28 (NET_RAW) and CKV_K8S_37
    (runtime-facts 4.6); Pod Security Standards (restricted: drop ALL, add only
    NET_BIND_SERVICE).
    """
    for spec in pod.containers:
        if spec.privileged:
            continue
        added = {cap_name(c) for c in spec.capabilities_add}
        extra = sorted(added - DANGEROUS_CAPABILITIES - {"NET_BIND_SERVICE"})
        problems = []
        if extra:
            problems.append(f"adds {', '.join(extra)}")
        if _keeps_net_raw(spec) and "NET_RAW" not in extra:
            problems.append("keeps NET_RAW (drops neither ALL nor NET_RAW)")
        if problems:
            where = "add" if extra else "drop"
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} {'; '.join(problems)}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "capabilities", where),
            )
