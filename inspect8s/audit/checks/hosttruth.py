"""Host-truth checks (scope container): what the kernel shows about a container's isolation,
judged from the kernel alone.

The ``I8S-ISO-*`` checks compare the kernel with the pod spec and skip when no spec is known
(a node audit without ``--kubeconfig`` or ``--pods``). These do not need a spec: a
container that holds every capability, shares the host's network or PID namespace, runs
as the host's root, has no seccomp filter or a writable root filesystem is reported from
``/proc/<pid>/status``, ``/proc/<pid>/uid_map``, ``/proc/<pid>/ns/*``, its mount table and
its devices cgroup. Each message says it comes from the kernel and, when the spec is known,
whether the spec asked for it.

Sources: the project's runtime-facts reference 4.4 C6 and 4.6 (host truth of isolation);
capabilities(7), user_namespaces(7), seccomp(2) (``Seccomp:`` in proc(5) status),
Documentation/admin-guide/cgroup-v1/devices.rst.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspect8s.audit.checks.containers import container_namespaces, container_on_node
from inspect8s.audit.registry import ContainerContext, Scope, Skip, Violation, check
from inspect8s.audit.results import Severity
from inspect8s.model import ContainerSpec, Pod, host_uid
from inspect8s.model.nsrules import host_namespace_rule

# Every capability up to AUDIT_READ (bit 37, Linux 3.16): a mask holding all of them is the
# full set on any kernel a node runs today; newer bits (PERFMON, BPF, CHECKPOINT_RESTORE)
# count when the kernel has them, which a privileged container then holds too.
FULL_SET_BITS = 38


def _spec(ctx: ContainerContext) -> tuple[Pod, ContainerSpec] | None:
    if ctx.pod is None or ctx.spec is None:
        return None
    return ctx.pod, ctx.spec


def _asked(ctx: ContainerContext, asked: bool, field: str) -> str:
    """What the spec said about a fact the kernel shows, as a suffix for the message."""
    if _spec(ctx) is None:
        return " (no pod spec known)"
    return f" (the spec sets {field})" if asked else " (the spec does not ask for it)"


def full_capability_set(mask: int) -> bool:
    """True when ``mask`` holds every capability through AUDIT_READ."""
    full = (1 << FULL_SET_BITS) - 1
    return mask & full == full


@check(
    "I8S-HOST-PRIVILEGED",
    title="Container is privileged in the kernel",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def privileged_in_kernel(ctx: ContainerContext) -> Iterator[Violation]:
    """The kernel shows the container privileged: its init process holds every capability
    (``CapEff`` in ``/proc/<pid>/status``), its cgroup v1 ``devices.list`` allows every
    device (``a *:* rwm``), or ``/sys`` is mounted read-write in it. Any one of them is
    enough to reach the host: load modules, open the host's disks, rewrite kernel settings.
    This is what ``privileged: true`` produces, and also what a runtime hook, a hand-started
    container or a mis-set runtime handler produces without it.

    Judged from the kernel alone; the message says whether the pod spec asked for it.
    Source: capabilities(7); cgroup-v1 devices.rst; runtime-facts 4.4 C6 and 4.6.
    """
    host = container_on_node(ctx)
    if host.cap_eff is None and host.devices_allow_all is None and host.mounts is None:
        raise Skip("neither the init process's status, its devices cgroup nor its mounts were read")
    reasons = []
    if host.cap_eff is not None and full_capability_set(host.cap_eff):
        reasons.append(f"its init process holds every capability (CapEff {host.cap_eff:016x})")
    if host.devices_allow_all:
        reasons.append("its devices cgroup allows every device (a *:* rwm)")
    sysfs = [m for m in host.mounts or () if m.mount_point == "/sys" and m.fs_type == "sysfs"]
    if any(not m.read_only for m in sysfs):
        reasons.append("/sys is mounted read-write")
    if not reasons:
        return
    spec = _spec(ctx)
    asked = spec is not None and spec[1].privileged
    yield Violation(
        "the kernel shows it privileged: "
        + "; ".join(reasons)
        + _asked(ctx, asked, "privileged: true")
    )


_HOST_NS: tuple[tuple[str, str], ...] = (
    ("net", "hostNetwork"),
    ("pid", "hostPID"),
    ("ipc", "hostIPC"),
    ("uts", "hostNetwork"),
)


@check(
    "I8S-HOST-HOSTNS",
    title="Container shares a namespace with the host",
    severity=Severity.HIGH,
    scope=Scope.CONTAINER,
)
def host_namespaces_in_kernel(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's init process is in the host's network, PID, IPC or UTS namespace
    (the inode of ``/proc/<pid>/ns/<type>`` equals the host reference's). In the host's
    network namespace it binds the node's addresses and reaches services listening on the
    node's loopback; in the host's PID namespace it sees, signals and (with the
    capabilities) traces every process; the host's IPC namespace opens the host's shared
    memory.

    Judged from the kernel alone (I8S-ISO-HOSTNS compares with the spec when it is known);
    the message says whether the spec asked for it, by the runtime's rule
    (``model/nsrules.py``: ``hostNetwork`` shares UTS too under containerd and cri-dockerd,
    never under CRI-O).
    Source: namespaces(7); runtime-facts 4.6 (ns inodes vs the host's).
    """
    host = container_namespaces(ctx)
    spec = _spec(ctx)
    rule = host_namespace_rule(host.runtime)
    expected = (
        rule.expected(spec[0].host_network, spec[0].host_pid, spec[0].host_ipc)
        | rule.optional(spec[0].host_network)
        if spec is not None
        else frozenset()
    )
    for ns, fieldname in _HOST_NS:
        if ns in host.host_namespaces:
            asked = ns in expected
            yield Violation(
                f"the kernel shows it in the host's {ns} namespace (inode "
                f"{host.namespaces.get(ns)})" + _asked(ctx, asked, f"{fieldname}: true")
            )


@check(
    "I8S-HOST-ROOT",
    title="Container runs as the host's root",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def host_root_in_kernel(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's init process runs as UID 0 (effective UID in ``/proc/<pid>/status``)
    and its user namespace maps UID 0 to the host's UID 0 (``/proc/<pid>/uid_map``, as
    without ``hostUsers: false``): root inside is root for every host file, socket and
    device the container can reach. Pods with ``hostUsers: false`` (a user namespace) run
    as an unprivileged host UID and are not reported.

    Judged from the kernel alone; the message says what the spec asked for.
    Source: user_namespaces(7); proc(5) ``Uid:``; Kubernetes docs "Use a User Namespace
    With a Pod".
    """
    host = container_on_node(ctx)
    if host.uid is None:
        raise Skip("the init process's /proc/<pid>/status was not read")
    if host.uid != 0:
        return
    if host.uid_map is None:
        raise Skip("the init process's uid_map was not read")
    outside = host_uid(0, host.uid_map)
    if outside != 0:
        return
    spec = _spec(ctx)
    if spec is None:
        said = " (no pod spec known)"
    elif spec[1].run_as_user == 0:
        said = " (the spec sets runAsUser: 0)"
    elif spec[1].run_as_non_root:
        said = " although the spec sets runAsNonRoot: true"
    else:
        said = " (the spec sets neither runAsUser nor runAsNonRoot: the image's user)"
    yield Violation(
        f"the kernel shows PID {host.init_pid} running as UID 0, the host's root "
        f"(no user namespace remaps it){said}"
    )


@check(
    "I8S-HOST-SECCOMP",
    title="Container runs without a seccomp filter",
    severity=Severity.MEDIUM,
    scope=Scope.CONTAINER,
)
def seccomp_in_kernel(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's init process has no seccomp filter (``Seccomp: 0`` in
    ``/proc/<pid>/status``): every system call of the kernel is open to it, including the
    ones container escapes use (``unshare``, ``keyctl``, ``bpf``, ``mount``...). Happens
    with ``seccompProfile.type: Unconfined``, with no profile and a kubelet without
    ``seccompDefault``, and always for privileged containers.

    Judged from the kernel alone (I8S-ISO-SECCOMP compares with a profile the spec asks
    for). Source: seccomp(2); proc(5) ``Seccomp:``; runtime-facts 4.5 S6 and 4.6.
    """
    host = container_on_node(ctx)
    if host.seccomp_mode is None:
        raise Skip("the init process's seccomp mode was not read")
    if host.seccomp_mode != 0:
        return
    spec = _spec(ctx)
    if spec is None:
        said = " (no pod spec known)"
    else:
        pod, container = spec
        profile = container.seccomp_profile or pod.seccomp_profile
        if container.privileged:
            said = " (the spec sets privileged: true, which turns seccomp off)"
        elif profile is None:
            said = " (the spec sets no seccompProfile)"
        else:
            said = f" (the spec sets seccompProfile {profile})"
    yield Violation(
        f"the kernel shows PID {host.init_pid} with no seccomp filter (Seccomp: 0){said}"
    )


@check(
    "I8S-HOST-ROOTFS",
    title="Container root filesystem is writable in the kernel",
    severity=Severity.LOW,
    scope=Scope.CONTAINER,
)
def rootfs_in_kernel(ctx: ContainerContext) -> Iterator[Violation]:
    """The container's ``/`` is mounted read-write in its own mount table
    (``/proc/<pid>/mountinfo`` of its mount namespace): it can change its own binaries.
    With ``readOnlyRootFilesystem: true`` the runtime mounts it read-only, so a writable
    ``/`` under that spec means the setting was not applied.

    Judged from the kernel alone. Source: proc(5) mountinfo; runtime-facts 4.6.
    """
    host = container_on_node(ctx)
    if host.mounts is None:
        raise Skip("the container's mount table was not read")
    roots = [m for m in host.mounts if m.mount_point == "/"]
    if not roots or roots[-1].read_only:
        return
    spec = _spec(ctx)
    asked = spec is not None and spec[1].read_only_root_filesystem is True
    said = (
        " although the spec sets readOnlyRootFilesystem: true" if asked else _asked(ctx, False, "")
    )
    yield Violation(f"the kernel shows its root filesystem ({roots[-1].fs_type}) read-write{said}")


__all__ = ["FULL_SET_BITS", "full_capability_set"]
