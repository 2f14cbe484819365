"""Host facts: processes, cgroups, mounts and the container identity a cgroup path gives."""

from __future__ import annotations

from enum import StrEnum

from inspect8s.model.frozen import frozen

# Namespace types as named under /proc/<pid>/ns (pid_for_children/time_for_children are
# read too but are not "the process's" namespace).
NAMESPACE_TYPES: tuple[str, ...] = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")


class QoS(StrEnum):
    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BESTEFFORT = "BestEffort"


class CgroupVersion(StrEnum):
    V1 = "v1"
    V2 = "v2"
    HYBRID = "hybrid"  # v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified)


@frozen
class CgroupEntry:
    """One line of /proc/<pid>/cgroup: ``hierarchy-id:controllers:path``."""

    hierarchy_id: int
    controllers: tuple[str, ...]  # () for the v2 line "0::/..."
    path: str


@frozen
class ProcessInfo:
    """One process as read from /proc/<pid>/{stat,status,cmdline,ns/*,cgroup}."""

    pid: int
    ppid: int
    comm: str
    cmdline: tuple[str, ...]  # () for kernel threads and unreadable cmdlines
    state: str
    start_time_ticks: int
    namespaces: dict[str, int]  # ns type -> inode; a type is absent when its link was unreadable
    cgroups: tuple[CgroupEntry, ...]
    uid: int | None = None  # effective uid; None: status not read (see host/scan.py) or unreadable
    cap_eff: int | None = None  # None: status not read or unreadable
    seccomp_mode: int | None = None  # 0 disabled, 1 strict, 2 filter; None: unknown
    no_new_privs: bool | None = None  # None: unknown (kernel too old or status unreadable)
    threads: int | None = None
    nspid: tuple[int, ...] = ()  # status "NSpid:", host PID first; (): status not read
    cmdline_read: bool = True  # False: the host scan skipped cmdline (host/scan.py, "needed")
    namespaces_read: bool = True  # False: the host scan skipped ns/* (host/scan.py, "needed")
    # False: ``cgroups`` holds only the lines of the hierarchies the scan screened with, for
    # a process they place in no container (host/scan.py, "screen")
    cgroups_complete: bool = True

    @property
    def exe_name(self) -> str:
        """The program's base name from argv[0], falling back to comm."""
        if self.cmdline:
            return self.cmdline[0].rsplit("/", 1)[-1]
        return self.comm


@frozen
class Mount:
    """One line of /proc/<pid>/mountinfo (proc(5))."""

    mount_id: int
    parent_id: int
    major_minor: str
    root: str  # the path within the source filesystem that forms this mount's root
    mount_point: str
    options: tuple[str, ...]  # per-mount options ("rw", "nosuid", ...)
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


@frozen
class CgroupLimits:
    """Effective limits and stats of one cgroup, from whichever version holds them.

    Every limit is ``None`` when there is no limit (v2 "max", v1's page-counter sentinel);
    an unreadable file is a ProbeError in the snapshot, never a silent ``None``.
    """

    memory_max_bytes: int | None = None  # None: unlimited
    memory_usage_bytes: int | None = None  # None: not read
    memory_oom_kills: int | None = None  # None: not reported by this kernel/version
    memory_failcnt: int | None = None  # v1 only
    cpu_quota_us: int | None = None  # None: unlimited (-1 / "max")
    cpu_period_us: int | None = None
    cpu_shares: int | None = None  # v1 cpu.shares
    cpu_weight: int | None = None  # v2 cpu.weight
    cpu_nr_periods: int | None = None
    cpu_nr_throttled: int | None = None
    cpu_throttled_usec: int | None = None
    pids_max: int | None = None  # None: unlimited
    pids_current: int | None = None

    @property
    def cpu_limit_millicores(self) -> int | None:
        """The CPU limit as Kubernetes writes it (quota/period in millicores); None: no limit."""
        if self.cpu_quota_us is None or not self.cpu_period_us:
            return None
        return (self.cpu_quota_us * 1000) // self.cpu_period_us


@frozen
class ContainerIdentity:
    """What a cgroup path says about the container a process belongs to."""

    runtime: str  # "containerd" | "crio" | "docker" | "podman" | "unknown"
    container_id: str
    pod_uid: str | None  # None: not a Kubernetes pod path (plain docker/podman)
    qos: QoS | None  # None: not a pod path
    driver: str  # "cgroupfs" | "systemd"
    cgroup_path: str


@frozen
class ContainerMount:
    """One mount of a container's mount namespace, with where it comes from on the host."""

    mount_point: str  # inside the container
    fs_type: str
    read_only: bool
    root: str  # mountinfo field 4: the path within the source filesystem
    source: str  # mountinfo mount source ("/dev/sda1", "tmpfs", "cgroup")
    host_path: str | None  # the host path a bind mount shows; None: not a host path / unknown
