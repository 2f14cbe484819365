"""Host-truth checks (scope container): what the kernel enforces versus what the pod asked.

Each check receives a :class:`~inspect8s.audit.registry.ContainerContext`: the container as
the node probe saw it (cgroup limits, namespaces, ``/proc/<pid>/status`` of its init
process, its mount table) joined with its pod spec when one is known (API, ``--pods``).
A check that needs a part that was not collected raises ``Skip`` with the reason.

Facts and sources: the project's runtime-facts reference, "What no existing tool does" 3
(cross-layer consistency), sections 4.4 C6, 4.5 S3 and 4.6; each docstring names its own.

Thresholds are read from ``CheckSettings.options`` (``inspect8s audit --check-option
KEY=VALUE``): ``oom-kills-max`` (default 0), ``throttle-ratio-max`` (default 0.25) and
``throttle-min-periods`` (default 100).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from inspect8s.audit.checks.pods import RUNTIME_SOCKET_DIRS, RUNTIME_SOCKETS
from inspect8s.audit.registry import (
    CheckSettings,
    ContainerContext,
    Scope,
    Skip,
    Violation,
    check,
)
from inspect8s.audit.results import Severity
from inspect8s.model import CgroupLimits, Container, ContainerSpec, Pod
from inspect8s.model.nsrules import SPEC_FIELDS, host_namespace_rule

PAGE_SIZE = 4096  # the kernel rounds memory limits down to whole pages

# Capability bit numbers (include/uapi/linux/capability.h).
CAPABILITY_BITS: tuple[str, ...] = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
)

# The capabilities containerd, cri-dockerd and (older) CRI-O give a non-privileged
# container (containerd pkg/oci DefaultSpec / Docker's default set). CRI-O's newer default
# is a subset, so it never makes a container look worse than it is.
RUNTIME_DEFAULT_CAPABILITIES: frozenset[str] = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    }
)


def capability_names(mask: int) -> frozenset[str]:
    """Names of the capabilities set in a CapEff mask (unknown bits as CAP_<n>)."""
    names = set()
    bit = 0
    while mask >> bit:
        if mask >> bit & 1:
            names.add(CAPABILITY_BITS[bit] if bit < len(CAPABILITY_BITS) else f"CAP_{bit}")
        bit += 1
    return frozenset(names)


def _norm_cap(raw: str) -> str:
    name = raw.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


def container_on_node(ctx: ContainerContext) -> Container:
    """The container as the node probe saw it; Skip when it was not found there."""
    if ctx.container is None:
        raise Skip("the container was not found on this node")
    return ctx.container


def container_namespaces(ctx: ContainerContext) -> Container:
    """:func:`container_on_node`, with its namespace links read and a host reference to
    compare them with; Skip otherwise."""
    host = container_on_node(ctx)
    node = ctx.snapshot.node
    if node is not None and node.host_reference.pid is None:
        raise Skip(f"no host namespace reference: {node.host_reference.reason}")
    if not host.namespaces:
        raise Skip("the container's namespace links were not read")
    return host


def _spec(ctx: ContainerContext) -> tuple[Pod, ContainerSpec]:
    if ctx.pod is None or ctx.spec is None:
        raise Skip("no pod spec for this container (give --kubeconfig or --pods)")
    return ctx.pod, ctx.spec


def _option(settings: CheckSettings, key: str, default: float) -> float:
    raw = settings.options.get(key)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise Skip(f"check option {key}={raw!r} is not a number") from None


def _mib(value: int) -> str:
    return f"{value / (1 << 20):g}Mi" if value % (1 << 20) == 0 else f"{value} bytes"


def _memory_read(limits: CgroupLimits) -> bool:
    # memory.usage_in_bytes / memory.current is read with the limit; None means the memory
    # files were not read (no hierarchy, unreadable: a ProbeError says which).
    return limits.memory_usage_bytes is not None


def _cpu_read(limits: CgroupLimits) -> bool:
    return limits.cpu_period_us is not None or limits.cpu_shares is not None


# --------------------------------------------------------------------------- limits


@check(
    "I8S-ISO-MEMLIMIT",
    title="Memory limit in the spec is not what the kernel enforces",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def memory_limit_enforced(ctx: ContainerContext) -> Iterator[Violation]:
    """The pod spec sets ``resources.limits.memory`` but the container's cgroup
    (``memory.max`` on cgroup v2, ``memory.limit_in_bytes`` on v1) holds no limit or a
    different one. The scheduler and the QoS class believe the limit; the kernel does not
    apply it, so the container can take the node's memory.

    Seen when a runtime ignores the CRI resources, a container was started outside the
    kubelet, or the cgroup was changed afterwards. The kernel rounds the limit down to whole
    pages; that difference is not flagged.

    Source: runtime-facts "What no existing tool does" 3 (spec limits vs memory.max) and 4.6.
    """
    _, spec = _spec(ctx)
    host = container_on_node(ctx)
    wanted = spec.limits.memory_bytes
    if wanted is None:
        return
    if not _memory_read(host.limits):
        raise Skip("the container's memory cgroup files were not read")
    actual = host.limits.memory_max_bytes
    if actual is None:
        yield Violation(
            f"spec limits memory to {_mib(wanted)} but the cgroup {host.cgroup_path} "
            "has no memory limit"
        )
    elif actual != wanted and actual != wanted // PAGE_SIZE * PAGE_SIZE:
        yield Violation(
            f"spec limits memory to {_mib(wanted)} but the kernel enforces {_mib(actual)} "
            f"(cgroup {host.cgroup_path})"
        )


@check(
    "I8S-ISO-CPULIMIT",
    title="CPU limit in the spec is not what the kernel enforces",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def cpu_limit_enforced(ctx: ContainerContext) -> Iterator[Violation]:
    """The pod spec sets ``resources.limits.cpu`` but the container's CFS quota
    (``cpu.max`` on v2, ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` on v1) is unlimited or
    gives another number of millicores (quota x 1000 / period; a difference of 1
    millicore from rounding is allowed).

    An unlimited quota with a limit in the spec is also what a kubelet with
    ``cpuCFSQuota: false`` produces: the limit is then not enforced anywhere.

    Source: runtime-facts "What no existing tool does" 3 (spec limits vs cpu.max) and 4.6.
    """
    _, spec = _spec(ctx)
    host = container_on_node(ctx)
    wanted = spec.limits.cpu_millicores
    if wanted is None:
        return
    if not _cpu_read(host.limits):
        raise Skip("the container's cpu cgroup files were not read")
    actual = host.limits.cpu_limit_millicores
    if actual is None:
        yield Violation(
            f"spec limits CPU to {wanted}m but the cgroup {host.cgroup_path} has no CFS quota"
        )
    elif abs(actual - max(wanted, 10)) > 1:
        # The kubelet never sets less than 1 ms of quota per 100 ms period (10m).
        yield Violation(
            f"spec limits CPU to {wanted}m but the kernel enforces {actual}m "
            f"(quota {host.limits.cpu_quota_us}us per {host.limits.cpu_period_us}us)"
        )


@check(
    "I8S-ISO-MEM-UNLIMITED",
    title="Container has no memory limit in the kernel",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def memory_unlimited(ctx: ContainerContext) -> Iterator[Violation]:
    """Neither the container's cgroup nor its pod's cgroup carries a memory limit, so only
    the node-wide ``kubepods`` limit (allocatable) stops it: one such container can push
    every other pod on the node into the OOM killer.

    Judged from the kernel alone, so it also finds containers that no API object
    describes (static pods, containers started by hand in the ``k8s.io`` namespace).

    Source: runtime-facts 4.6 (the cgroup files actually carry the limits).
    """
    host = container_on_node(ctx)
    if not _memory_read(host.limits):
        raise Skip("the container's memory cgroup files were not read")
    if host.limits.memory_max_bytes is not None:
        return
    if host.pod_limits is not None and host.pod_limits.memory_max_bytes is not None:
        return
    where = "" if host.pod_limits is not None else " (its pod cgroup was not read)"
    yield Violation(f"no memory limit on cgroup {host.cgroup_path} or its parent{where}")


def _pod_pids_limit(ctx: ContainerContext) -> int | None:
    config = ctx.snapshot.node_config
    kubelet = config.kubelet if config is not None else None
    value = kubelet.settings.get("podPidsLimit") if kubelet is not None else None
    if value is None or isinstance(value.value, bool):
        return None
    try:
        number = int(str(value.value))
    except ValueError:
        return None
    return number if number > 0 else None


@check(
    "I8S-ISO-PIDS-UNLIMITED",
    title="Container has no PID limit in the kernel",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
)
def pids_unlimited(ctx: ContainerContext) -> Iterator[Violation]:
    """Neither the container's nor its pod's cgroup has a ``pids.max``, so a fork bomb in
    it can exhaust the node's PIDs. The kubelet writes its ``podPidsLimit`` into the pod
    cgroup; when the kubelet configuration is known and sets one, a pod cgroup holding a
    different value is flagged too.

    Source: runtime-facts 4.6 (``pids.max`` carries the limit); kubelet ``podPidsLimit``.
    """
    host = container_on_node(ctx)
    if host.limits.pids_current is None:
        raise Skip("the container's pids cgroup files were not read")
    pod_max = host.pod_limits.pids_max if host.pod_limits is not None else None
    configured = _pod_pids_limit(ctx)
    if (
        host.pod_limits is not None
        and configured is not None
        and host.pod_uid is not None
        and pod_max != configured
    ):
        shown = "no limit" if pod_max is None else str(pod_max)
        yield Violation(
            f"the kubelet sets podPidsLimit {configured} but the pod cgroup has {shown}"
        )
        return
    if host.limits.pids_max is None and pod_max is None:
        where = "" if host.pod_limits is not None else " (its pod cgroup was not read)"
        yield Violation(f"no pids.max on cgroup {host.cgroup_path} or its parent{where}")


# --------------------------------------------------------------------------- placement


@check(
    "I8S-ISO-QOS",
    title="Container sits in another QoS cgroup than its pod's class",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def qos_parent(ctx: ContainerContext) -> Iterator[Violation]:
    """The API's ``status.qosClass`` (or the class computed from the spec) differs from
    the QoS slice the container's cgroup actually sits in (``kubepods`` for Guaranteed,
    ``kubepods-burstable``/``kubepods/burstable``, ``...besteffort``). Eviction order,
    ``cpu.shares`` and OOM scores follow the cgroup, not the API.

    Source: runtime-facts "What no existing tool does" 3 (QoS class vs cgroup parent) and
    "cgroup path formats" (Guaranteed pods sit directly under kubepods).
    """
    pod, _ = _spec(ctx)
    host = container_on_node(ctx)
    if pod.qos is None:
        raise Skip("the pod's QoS class is not known")
    if host.qos is None:
        raise Skip(f"the cgroup path {host.cgroup_path} names no QoS class")
    if pod.qos is not host.qos:
        yield Violation(
            f"the pod's QoS class is {pod.qos.value} but the container's cgroup "
            f"{host.cgroup_path} is under the {host.qos.value} parent"
        )


@check(
    "I8S-ISO-HOSTNS",
    title="Namespaces shared with the host differ from the spec",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def host_namespaces(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's namespace inodes (``/proc/<pid>/ns/*``) equal the host's where the
    spec does not ask for it (``hostNetwork``, ``hostPID``, ``hostIPC`` are false), or
    differ where it does. A container in the host's network namespace sees every
    interface and can bind the node's ports; one in the host's PID namespace sees and can
    signal every process; the host's mount namespace means the host's whole filesystem.

    What a spec field shares is the runtime's rule (``model/nsrules.py``): containerd and
    cri-dockerd share the host's UTS namespace with a ``hostNetwork`` pod, CRI-O gives every
    pod its own UTS (and, unless ``hostIPC``, IPC) namespace, so neither is reported as a
    difference. The host reference is PID 1, or the kubelet or runtime when PID 1 is
    unreadable (see ``inspect8s node``).

    Source: runtime-facts "What no existing tool does" 3 (hostPID/hostNetwork/hostIPC vs
    actual ns inodes) and 4.6 (ns inodes vs host); containerd
    ``internal/cri/server/podsandbox/sandbox_run_linux.go``, cri-o
    ``server/sandbox_run_linux.go``, cri-dockerd ``core/security_context.go``; the
    real-node-1.28-two-containerds and real-crio-1.28.11 recordings.
    """
    pod, _ = _spec(ctx)
    host = container_namespaces(ctx)
    declared = {"hostNetwork": pod.host_network, "hostPID": pod.host_pid, "hostIPC": pod.host_ipc}
    rule = host_namespace_rule(host.runtime)
    expected = rule.expected(pod.host_network, pod.host_pid, pod.host_ipc)
    optional = rule.optional(pod.host_network)
    shared = set(host.host_namespaces)
    for ns, fieldname in SPEC_FIELDS:
        if ns not in host.namespaces or ns in optional:
            continue
        if ns in shared and ns not in expected:
            why = f"the spec has {fieldname}: {str(declared[fieldname]).lower()}"
            if declared[fieldname]:
                why += f" and {rule.text}"
            yield Violation(
                f"shares the host's {ns} namespace (inode {host.namespaces[ns]}) but {why}"
            )
        elif ns not in shared and ns in expected:
            yield Violation(
                f"the spec has {fieldname}: true but the container's {ns} namespace is "
                "not the host's"
            )
    if "mnt" in shared:
        yield Violation("shares the host's mount namespace, which no pod spec can ask for")


# --------------------------------------------------------------------------- privileges


def _effective_seccomp(pod: Pod, spec: ContainerSpec) -> str | None:
    return spec.seccomp_profile or pod.seccomp_profile


@check(
    "I8S-ISO-CAPS",
    title="Container holds capabilities its spec does not grant",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def capabilities_match(ctx: ContainerContext) -> Iterator[Violation]:
    """The init process's effective capabilities (``CapEff`` in ``/proc/<pid>/status``)
    include capabilities that are neither in the runtime's default set (containerd and
    Docker: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP,
    SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE) nor added by
    ``securityContext.capabilities.add``, in a container that is not privileged; or it
    holds a capability the spec drops. Privileged containers hold every capability by
    design and are only checked by I8S-SEC-PRIVILEGED.

    Source: runtime-facts "What no existing tool does" 3 and 4.6 (``CapEff`` matches the spec).
    """
    _, spec = _spec(ctx)
    host = container_on_node(ctx)
    if host.cap_eff is None:
        raise Skip("the init process's /proc/<pid>/status was not read")
    if spec.privileged:
        return
    held = capability_names(host.cap_eff)
    added = {_norm_cap(c) for c in spec.capabilities_add}
    dropped = {_norm_cap(c) for c in spec.capabilities_drop}
    allowed = set(CAPABILITY_BITS) if "ALL" in added else RUNTIME_DEFAULT_CAPABILITIES | added
    if "ALL" in dropped:
        allowed = added - {"ALL"}
    else:
        allowed -= dropped
    extra = sorted(held - allowed)
    if extra:
        yield Violation(
            f"the init process (PID {host.init_pid}) holds {', '.join(extra)} "
            "which the spec neither adds nor the runtime grants by default "
            f"(CapEff {host.cap_eff:016x})"
        )


@check(
    "I8S-ISO-SECCOMP",
    title="Seccomp profile in the spec is not applied",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def seccomp_applied(ctx: ContainerContext) -> Iterator[Violation]:
    """The spec asks for a seccomp profile (``RuntimeDefault`` or ``Localhost`` in the
    container's or the pod's ``securityContext.seccompProfile``) but the init process runs
    without a filter (``Seccomp: 0`` in ``/proc/<pid>/status``). The syscalls the profile
    should block are then all open. Privileged containers run unconfined by design.

    Source: runtime-facts "What no existing tool does" 3 (spec seccomp vs ``Seccomp:``)
    and 4.6.
    """
    pod, spec = _spec(ctx)
    host = container_on_node(ctx)
    profile = _effective_seccomp(pod, spec)
    if profile is None or profile == "Unconfined" or spec.privileged:
        return
    if host.seccomp_mode is None:
        raise Skip("the init process's seccomp mode was not read")
    if host.seccomp_mode == 0:
        yield Violation(
            f"the spec asks for seccomp profile {profile} but PID {host.init_pid} runs "
            "with no seccomp filter (Seccomp: 0)"
        )


@check(
    "I8S-ISO-NNP",
    title="no_new_privs is not set though the spec forbids privilege escalation",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def no_new_privs_set(ctx: ContainerContext) -> Iterator[Violation]:
    """``allowPrivilegeEscalation: false`` is meant to make the runtime set the process's
    ``no_new_privs`` flag, so setuid binaries and file capabilities cannot raise its
    privileges. The init process's ``NoNewPrivs: 0`` in ``/proc/<pid>/status`` means they
    still can.

    Source: runtime-facts 4.6 (``/proc/<pid>/status`` ``NoNewPrivs`` matches the spec).
    """
    _, spec = _spec(ctx)
    host = container_on_node(ctx)
    if spec.allow_privilege_escalation is not False:
        return
    if host.no_new_privs is None:
        raise Skip("the init process's NoNewPrivs was not read")
    if not host.no_new_privs:
        yield Violation(
            f"the spec sets allowPrivilegeEscalation: false but PID {host.init_pid} "
            "has NoNewPrivs: 0"
        )


# --------------------------------------------------------------------------- pressure


@check(
    "I8S-ISO-OOMKILL",
    title="Container was OOM-killed",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def oom_kills(ctx: ContainerContext, settings: CheckSettings) -> Iterator[Violation]:
    """The kernel's OOM killer killed processes in the container's cgroup (``oom_kill``
    in ``memory.events`` on v2, in ``memory.oom_control`` on v1 since Linux 4.13) more
    often than ``oom-kills-max`` (default 0). A child killed this way does not restart the
    container, so the API shows no OOMKilled status: only the cgroup counts it.

    Option: ``--check-option oom-kills-max=N``.

    Source: runtime-facts 4.6 (host truth of resource limits); kernel
    Documentation/admin-guide/cgroup-v2.rst ``memory.events``.
    """
    host = container_on_node(ctx)
    kills = host.limits.memory_oom_kills
    if kills is None:
        raise Skip("this kernel or cgroup version does not report OOM kills")
    limit = _option(settings, "oom-kills-max", 0)
    if kills > limit:
        memory = host.limits.memory_max_bytes
        bound = f" at its {_mib(memory)} limit" if memory is not None else ""
        yield Violation(f"{kills} OOM kill{'s' if kills != 1 else ''}{bound} (cgroup counter)")


@check(
    "I8S-ISO-THROTTLE",
    title="Container is CPU-throttled often",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
)
def cpu_throttling(ctx: ContainerContext, settings: CheckSettings) -> Iterator[Violation]:
    """More than ``throttle-ratio-max`` (default 0.25) of the container's CFS periods
    ended throttled (``nr_throttled / nr_periods`` in ``cpu.stat``), counted once it has
    run at least ``throttle-min-periods`` (default 100) periods. Latency suffers long
    before average CPU use reaches the limit.

    Options: ``--check-option throttle-ratio-max=0.1``, ``throttle-min-periods=N``.

    Source: runtime-facts 4.6; kernel Documentation/scheduler/sched-bwc.rst (``cpu.stat``).
    """
    host = container_on_node(ctx)
    periods = host.limits.cpu_nr_periods
    throttled = host.limits.cpu_nr_throttled
    if periods is None or throttled is None:
        raise Skip("cpu.stat was not read")
    if periods < _option(settings, "throttle-min-periods", 100):
        return
    ratio = throttled / periods
    if ratio > _option(settings, "throttle-ratio-max", 0.25):
        yield Violation(
            f"throttled in {throttled} of {periods} CFS periods ({ratio:.0%}) "
            f"with a quota of {host.limits.cpu_limit_millicores}m"
        )


# --------------------------------------------------------------------------- mounts


def _sockets_exposed(host: Container) -> Iterator[str]:
    for m in host.mounts or ():
        if m.fs_type in ("proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue"):
            continue
        where = m.host_path or m.root
        names = {posixpath.basename(m.mount_point.rstrip("/"))}
        if m.host_path:
            names.add(posixpath.basename(m.host_path.rstrip("/")))
        socket = sorted(names & RUNTIME_SOCKETS)
        if socket:
            yield (
                f"runtime socket {socket[0]} is mounted at {m.mount_point}"
                + (f" (host {m.host_path})" if m.host_path else "")
            )
        elif m.host_path is not None and m.host_path in RUNTIME_SOCKET_DIRS and m.mount_point:
            # The container rootfs ("/" from an overlay) never resolves to a host path.
            yield (
                f"host directory {where} (which holds runtime sockets) is mounted at "
                f"{m.mount_point}{' read-only' if m.read_only else ''}"
            )


@check(
    "I8S-ISO-RUNTIMESOCK",
    title="Runtime socket visible in the container",
    severity=Severity.CRITICAL,
    scope=Scope.CONTAINER,
)
def runtime_socket_mounted(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's own mount table (``/proc/<pid>/mountinfo`` of its mount namespace)
    holds a container runtime socket (docker.sock, dockershim.sock, containerd.sock,
    containerd.sock.ttrpc, crio.sock, cri-dockerd.sock, podman.sock) or a host directory
    that holds them (``/run``, ``/var/run``, ``/run/containerd``...). Whoever reaches such
    a socket can start a privileged container and own the node; mounting it read-only
    does not help (connecting to a socket ignores the mount's read-only flag).

    Read from the kernel, so it finds mounts no pod spec declares (added by a runtime
    hook, an OCI config edit, ``docker run -v``), which the spec check I8S-WL-DOCKERSOCK
    cannot see.

    Source: runtime-facts 4.5 S3 (cross-check actual mounts in mountinfo) and
    "What no existing tool does" 8.
    """
    host = container_on_node(ctx)
    if host.mounts is None:
        raise Skip("the container's mount table was not read")
    for message in _sockets_exposed(host):
        yield Violation(message)


def _own_cgroup_under(root: str, own: str) -> bool:
    own = own.rstrip("/") or "/"
    return root == own or root.startswith(own + "/")


@check(
    "I8S-ISO-CGROUPFS",
    title="Host cgroup filesystem writable in the container",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def cgroupfs_writable(ctx: ContainerContext) -> Iterator[Violation]:
    """A cgroup (v1 or v2) filesystem is mounted read-write in the container and shows
    more than the container's own cgroup (its ``root`` in mountinfo, read from the host,
    is an ancestor such as ``/``). The container can then change other pods' limits or
    move processes between them. Privileged pods on cgroup v2 hosts get exactly this
    (kubernetes#112937).

    Source: runtime-facts 4.4 C6 (privileged pods on cgroup v2 see the host cgroupfs
    read-write).
    """
    host = container_on_node(ctx)
    if host.mounts is None:
        raise Skip("the container's mount table was not read")
    seen: set[str] = set()
    for m in host.mounts:
        if m.fs_type not in ("cgroup", "cgroup2") or m.read_only:
            continue
        if _own_cgroup_under(m.root, host.cgroup_path):
            continue
        if m.mount_point in seen:
            continue
        seen.add(m.mount_point)
        yield Violation(
            f"{m.fs_type} is mounted read-write at {m.mount_point} showing {m.root} "
            f"(the container's own cgroup is {host.cgroup_path})"
        )


__all__ = ["CAPABILITY_BITS", "RUNTIME_DEFAULT_CAPABILITIES", "capability_names"]
