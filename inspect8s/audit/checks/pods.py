"""Spec-only checks (scope pod): they read nothing but the pod spec, so they run the same on
pods from the API and on manifests (``inspect8s audit --manifests``).

Facts and sources are in the project's runtime-facts reference, sections 4.5 (dockershim
leftovers) and 4.6 (isolation and resource rules); each docstring names its source.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from inspect8s.audit.registry import Scope, Violation, check
from inspect8s.audit.results import Severity
from inspect8s.model import ContainerSpec, Pod, Volume


def spec_kind(spec: ContainerSpec) -> str:
    return "init container" if spec.init else "container"


def spec_subject(spec: ContainerSpec) -> str:
    return f"container/{spec.name}"


def spec_field(pod: Pod, spec: ContainerSpec, *rest: str | int) -> tuple[str | int, ...]:
    """The path of a container field in the pod object: ``spec.containers[i].<rest>``
    (``initContainers`` for init containers), for Violation.field."""
    group = "initContainers" if spec.init else "containers"
    index = 0
    for other in pod.containers:
        if other is spec:
            break
        if other.init == spec.init:
            index += 1
    return ("spec", group, index, *rest)


# --------------------------------------------------------------------------- resources


@check(
    "I8S-RES-MEMLIMIT",
    title="Container has no memory limit",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def memory_limit_missing(pod: Pod) -> Iterator[Violation]:
    """A container without a memory limit may use all of the node's memory.

    The kernel then picks OOM victims among every pod on the node, not just this one, and
    the pod cannot be Guaranteed QoS. Set ``resources.limits.memory`` on every container
    (a namespace LimitRange that defaults it is not visible in a manifest).

    Source: Polaris ``memoryLimitsMissing``, Popeye POP-106/107 (runtime-facts 4.6).
    """
    for spec in pod.containers:
        if spec.limits.memory_bytes is None:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets no resources.limits.memory",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "resources", "limits", "memory"),
            )


@check(
    "I8S-RES-MEMREQ",
    title="Container has no memory request",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def memory_request_missing(pod: Pod) -> Iterator[Violation]:
    """Without a memory request the scheduler places the pod as if it needed no memory.

    Kubernetes uses the limit as the request when only the limit is set, so this fires only
    when both are missing. The pod is then BestEffort for memory and first to be evicted
    under memory pressure.

    Source: Polaris ``memoryRequestsMissing``, Popeye POP-106 (runtime-facts 4.6).
    """
    for spec in pod.containers:
        if spec.requests.memory_bytes is None and spec.limits.memory_bytes is None:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets neither resources.requests.memory "
                "nor resources.limits.memory",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "resources", "requests", "memory"),
            )


@check(
    "I8S-RES-CPUREQ",
    title="Container has no CPU request",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def cpu_request_missing(pod: Pod) -> Iterator[Violation]:
    """Without a CPU request the container gets the minimum CPU weight under contention.

    The scheduler does not reserve CPU for it and the kernel gives it the smallest share
    (cpu.shares 2 / cpu.weight 1) when the node is busy. Kubernetes uses the CPU limit as
    the request when only the limit is set, so this fires only when both are missing.

    Source: Polaris ``cpuRequestsMissing``, Popeye POP-106 (runtime-facts 4.6).
    """
    for spec in pod.containers:
        if spec.requests.cpu_millicores is None and spec.limits.cpu_millicores is None:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets neither resources.requests.cpu "
                "nor resources.limits.cpu",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "resources", "requests", "cpu"),
            )


@check(
    "I8S-RES-CPULIMIT",
    title="Container has no CPU limit",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def cpu_limit_missing(pod: Pod) -> Iterator[Violation]:
    """A container without a CPU limit has no CFS quota and may use every idle core.

    Often deliberate (quotas cause throttling); a pod without CPU limits cannot be
    Guaranteed QoS. Accept it in the ignore file where intended.

    Source: Polaris ``cpuLimitsMissing``, Popeye POP-107 (runtime-facts 4.6).
    """
    for spec in pod.containers:
        if spec.limits.cpu_millicores is None:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets no resources.limits.cpu",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "resources", "limits", "cpu"),
            )


# --------------------------------------------------------------------------- privileges


@check(
    "I8S-SEC-PRIVILEGED",
    title="Container runs privileged",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def privileged(pod: Pod) -> Iterator[Violation]:
    """A privileged container gets every capability, all host devices and no seccomp or
    AppArmor confinement; on cgroup v2 hosts it also sees the host's cgroupfs read-write.

    Source: Polaris security check ``runAsPrivileged`` (runtime-facts 4.6);
    kubernetes/kubernetes#112937 (runtime-facts 4.4 C6).
    """
    for spec in pod.containers:
        if spec.privileged:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} sets securityContext.privileged: true",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "privileged"),
            )


@check(
    "I8S-SEC-HOSTPID",
    title="Pod shares the host's PID namespace",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def host_pid(pod: Pod) -> Iterator[Violation]:
    """With ``hostPID: true`` the pod sees every process on the node and, with enough
    privilege, can signal or ptrace them and read their environment and /proc/<pid>/root.

    Source: Polaris ``hostPIDSet`` (runtime-facts 4.6).
    """
    if pod.host_pid:
        yield Violation("pod sets spec.hostPID: true", field=("spec", "hostPID"))


@check(
    "I8S-SEC-HOSTIPC",
    title="Pod shares the host's IPC namespace",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def host_ipc(pod: Pod) -> Iterator[Violation]:
    """With ``hostIPC: true`` the pod shares System V IPC and POSIX message queues with
    every host process and can read or corrupt their shared memory.

    Source: Polaris ``hostIPCSet`` (runtime-facts 4.6).
    """
    if pod.host_ipc:
        yield Violation("pod sets spec.hostIPC: true", field=("spec", "hostIPC"))


@check(
    "I8S-SEC-HOSTNETWORK",
    title="Pod uses the host's network namespace",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def host_network(pod: Pod) -> Iterator[Violation]:
    """With ``hostNetwork: true`` the pod binds the node's interfaces, reaches services on
    the node's loopback (kubelet, runtime metrics) and bypasses network policies.

    Source: Polaris ``hostNetworkSet`` (runtime-facts 4.6).
    """
    if pod.host_network:
        yield Violation("pod sets spec.hostNetwork: true", field=("spec", "hostNetwork"))


@check(
    "I8S-SEC-HOSTPORT",
    title="Container binds a host port",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def host_port(pod: Pod) -> Iterator[Violation]:
    """A ``hostPort`` exposes the container on the node's address, limits scheduling to one
    such pod per node and port, and bypasses the Service layer.

    Source: Polaris ``hostPortSet`` (runtime-facts 4.6).
    """
    for spec in pod.containers:
        ports = sorted(p for p in spec.host_ports if p)
        if ports:
            listed = ", ".join(str(p) for p in ports)
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} binds hostPort {listed}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "ports"),
            )


@check(
    "I8S-SEC-PRIVESC",
    title="Container allows privilege escalation",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def privilege_escalation(pod: Pod) -> Iterator[Violation]:
    """Unless ``allowPrivilegeEscalation: false`` is set, the runtime does not set the
    no_new_privs flag, so setuid binaries and file capabilities can raise the process's
    privileges. The field defaults to true (and is forced true for privileged containers
    or those with CAP_SYS_ADMIN).

    Source: Polaris ``privilegeEscalationAllowed`` (runtime-facts 4.6); the host-truth
    counterpart compares ``NoNewPrivs`` in /proc/<pid>/status.
    """
    for spec in pod.containers:
        if spec.allow_privilege_escalation is not False:
            how = "true" if spec.allow_privilege_escalation else "unset (defaults to true)"
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r}: "
                f"securityContext.allowPrivilegeEscalation is {how}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "allowPrivilegeEscalation"),
            )


DANGEROUS_CAPABILITIES: frozenset[str] = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "NET_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_BOOT",
        "SYS_TIME",
        "DAC_READ_SEARCH",
        "BPF",
        "PERFMON",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
    }
)


def cap_name(raw: str) -> str:
    name = raw.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


@check(
    "I8S-SEC-CAPS",
    title="Container adds dangerous capabilities",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def dangerous_capabilities(pod: Pod) -> Iterator[Violation]:
    """Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE or ALL give a
    container most of root's power over the node: mounting filesystems, changing the
    network, tracing other processes, loading kernel modules.

    Flagged when ``securityContext.capabilities.add`` holds any of: ALL, SYS_ADMIN,
    NET_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_RAWIO, SYS_BOOT, SYS_TIME, DAC_READ_SEARCH,
    BPF, PERFMON, MAC_ADMIN, MAC_OVERRIDE (with or without the CAP_ prefix).

    Source: Polaris ``dangerousCapabilities``/``insecureCapabilities`` (runtime-facts 4.6).
    """
    for spec in pod.containers:
        bad = sorted({cap_name(c) for c in spec.capabilities_add} & DANGEROUS_CAPABILITIES)
        if bad:
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} adds capabilities {', '.join(bad)}",
                subject=spec_subject(spec),
                field=spec_field(pod, spec, "securityContext", "capabilities", "add"),
            )


# --------------------------------------------------------------------------- host paths

# Socket file names of container runtimes (runtime-facts 1.8 and 4.5 S3).
RUNTIME_SOCKETS: frozenset[str] = frozenset(
    {
        "docker.sock",
        "dockershim.sock",
        "containerd.sock",
        "containerd.sock.ttrpc",
        "crio.sock",
        "cri-dockerd.sock",
        "podman.sock",
    }
)

# Directories that hold one of those sockets on a standard node (``/`` holds them all).
RUNTIME_SOCKET_DIRS: frozenset[str] = frozenset(
    {
        "/",
        "/run",
        "/var/run",
        "/run/containerd",
        "/var/run/containerd",
        "/run/crio",
        "/var/run/crio",
        "/run/docker",
        "/var/run/docker",
        "/run/cri-dockerd",
        "/var/run/cri-dockerd",
        "/run/dockershim",
        "/var/run/dockershim",
        "/run/k3s",
        "/run/k3s/containerd",
        "/run/podman",
        "/var/run/podman",
    }
)


def _norm(path: str) -> str:
    cleaned = posixpath.normpath(path.strip() or "/")
    # normpath keeps a leading "//"; both mean the root directory here
    return "/" + cleaned.lstrip("/")


def host_paths(pod: Pod) -> Iterator[tuple[Volume, str]]:
    for volume in pod.volumes:
        if volume.host_path is not None:
            yield volume, _norm(volume.host_path)


def volume_field(pod: Pod, volume: Volume) -> tuple[str | int, ...]:
    return ("spec", "volumes", pod.volumes.index(volume), "hostPath", "path")


def mounted_by(pod: Pod, volume: str) -> str:
    users = [
        f"{s.name!r} at {m.mount_path}{' (ro)' if m.read_only else ''}"
        for s in pod.containers
        for m in s.volume_mounts
        if m.name == volume
    ]
    return "mounted by " + ", ".join(users) if users else "not mounted by any container"


@check(
    "I8S-WL-DOCKERSOCK",
    title="Workload mounts a container runtime socket",
    severity=Severity.CRITICAL,
    scope=Scope.POD,
)
def runtime_socket_mount(pod: Pod) -> Iterator[Violation]:
    """A hostPath mount of a runtime socket (docker.sock, dockershim.sock, containerd.sock,
    containerd.sock.ttrpc, crio.sock, cri-dockerd.sock) lets the pod start privileged
    containers on the node: it is root on the node. It is also a hidden dependency on that
    runtime: after the move off Docker the socket is gone and the workload breaks.

    Source: runtime-facts 4.5 S3: aws-containers/kubectl-detector-for-docker-socket;
    Kubernetes docs "Migrating telemetry and security agents from dockershim"; extended to
    the other runtime sockets (runtime-facts 1.8).
    """
    for volume, path in host_paths(pod):
        if posixpath.basename(path) in RUNTIME_SOCKETS:
            yield Violation(
                f"volume {volume.name!r} is hostPath {volume.host_path} "
                f"({mounted_by(pod, volume.name)})",
                field=volume_field(pod, volume),
            )


@check(
    "I8S-WL-RUNTIMEDIR",
    title="Workload mounts a host directory that holds a runtime socket",
    severity=Severity.HIGH,
    scope=Scope.POD,
)
def runtime_socket_dir_mount(pod: Pod) -> Iterator[Violation]:
    """A hostPath mount of a directory that holds a runtime socket (``/``, ``/run``,
    ``/var/run``, ``/run/containerd``, ``/var/run/crio``, ``/var/run/docker`` ...) exposes
    the socket as surely as mounting the socket itself, and scanners that look only for
    ``*docker.sock`` miss it.

    Source: runtime-facts 4.5 S3 (the Kubernetes docs caveat on parent directories) and
    1.8 (socket exposure beyond docker.sock).
    """
    for volume, path in host_paths(pod):
        if path in RUNTIME_SOCKET_DIRS:
            yield Violation(
                f"volume {volume.name!r} is hostPath {volume.host_path}, which holds container "
                f"runtime sockets ({mounted_by(pod, volume.name)})",
                field=volume_field(pod, volume),
            )


DOCKER_LOG_DIRS: tuple[str, ...] = ("/var/lib/docker", "/var/lib/docker/containers")


@check(
    "I8S-WL-DOCKERLOGS",
    title="Workload reads Docker's container log directory",
    severity=Severity.LOW,
    scope=Scope.POD,
)
def docker_log_dir_mount(pod: Pod) -> Iterator[Violation]:
    """Log shippers that mount ``/var/lib/docker/containers`` read Docker's json-file logs.
    Under containerd or CRI-O the kubelet writes container logs to ``/var/log/pods`` and
    the Docker directory stays empty: the shipper silently stops collecting.

    Source: runtime-facts 4.5 S7 (Kubernetes docs on migrating telemetry agents off
    dockershim) and 1.7 (log shippers tailing /var/lib/docker/containers).
    """
    for volume, path in host_paths(pod):
        if path in DOCKER_LOG_DIRS or path.startswith("/var/lib/docker/containers/"):
            yield Violation(
                f"volume {volume.name!r} is hostPath {volume.host_path} "
                f"({mounted_by(pod, volume.name)}); container logs are under /var/log/pods "
                "with containerd and CRI-O",
                field=volume_field(pod, volume),
            )


# --------------------------------------------------------------------------- seccomp

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"


@check(
    "I8S-WL-SECCOMP-ANN",
    title="Pod uses the removed seccomp alpha annotations",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def seccomp_alpha_annotations(pod: Pod) -> Iterator[Violation]:
    """The annotations ``seccomp.security.alpha.kubernetes.io/pod`` and
    ``container.seccomp.security.alpha.kubernetes.io/<name>`` were deprecated in 1.19, are
    ignored by the kubelet since 1.25 and were removed in 1.27: the profile they name is
    not applied. The profile ``docker/default`` is deprecated since 1.11. Use
    ``securityContext.seccompProfile.type: RuntimeDefault``.

    Source: runtime-facts 4.5 S6: kubernetes/kubernetes#109819; kubernetes/website#33524,
    #38987, #14616.
    """
    for key in sorted(pod.annotations):
        if key == SECCOMP_POD_ANNOTATION or key.startswith(SECCOMP_CONTAINER_ANNOTATION_PREFIX):
            value = pod.annotations[key]
            extra = (
                "; profile docker/default is deprecated, use RuntimeDefault"
                if value.strip() == "docker/default"
                else ""
            )
            fix = _seccomp_field_for(value)
            yield Violation(
                f"annotation {key}: {value} is ignored since Kubernetes 1.25{extra}; "
                f"set securityContext.seccompProfile.type: {fix}",
                field=("metadata", "annotations", key),
            )


def _seccomp_field_for(value: str) -> str:
    value = value.strip()
    if value in ("runtime/default", "docker/default"):
        return "RuntimeDefault"
    if value == "unconfined":
        return "Unconfined"
    if value.startswith("localhost/"):
        return f"Localhost (localhostProfile: {value[len('localhost/') :]})"
    return "RuntimeDefault"


@check(
    "I8S-SEC-SECCOMP-UNCONFINED",
    title="Container runs without seccomp",
    severity=Severity.MEDIUM,
    scope=Scope.POD,
)
def seccomp_unconfined(pod: Pod) -> Iterator[Violation]:
    """``seccompProfile.type: Unconfined`` turns off system-call filtering, exposing the
    whole kernel API (keyctl, unshare, mount, bpf ...) to the container.

    The container's own setting wins over the pod's. Source: runtime-facts 4.5 S6
    (seccomp profile types) and 4.6 (spec seccomp vs the ``Seccomp:`` field of
    /proc/<pid>/status).
    """
    for spec in pod.containers:
        effective = spec.seccomp_profile or pod.seccomp_profile
        if effective == "Unconfined":
            yield Violation(
                f"{spec_kind(spec)} {spec.name!r} runs with seccompProfile.type Unconfined",
                subject=spec_subject(spec),
                field=(
                    spec_field(pod, spec, "securityContext", "seccompProfile", "type")
                    if spec.seccomp_profile
                    else ("spec", "securityContext", "seccompProfile", "type")
                ),
            )
