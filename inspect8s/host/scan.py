"""One pass over ``/proc``: every process with its namespaces, cgroup and container identity.

What is read per process (decisions, measured in benchmarks/README.md "host_scan"):

* always: ``stat`` (ppid, comm, state), ``cgroup`` and the eight ``ns/*`` links (inodes
  taken from the link text, no ``stat``), in one :meth:`HostFS.read_proc_dir` call per
  process.
* ``cmdline`` only for container processes and for the daemons named in
  :data:`CMDLINE_COMMS` (kubelet, runtimes, shims, conmon) by default
  (``cmdline="needed"``; ``ProcessInfo.cmdline_read`` is False for the others);
  ``cmdline="all"`` reads it everywhere (about +10-15 %).
* ``status`` (uid, CapEff, Seccomp, NoNewPrivs, NSpid) only for processes in a container by
  default (``status="containers"``): the checks need it there, and reading and parsing it
  for every process costs about +50 % on the whole scan. ``status="all"`` / ``"none"`` change that.
* ``mountinfo`` once per mount namespace, only for namespaces that hold a container
  process (``mountinfo="containers"``, the first readable process of each), never per
  process. The host's own table is :func:`inspect8s.host.cgroups.read_layout`'s business.
* identical ``cgroup`` contents are parsed and identified once (every process of one
  container, and every host process of one service, share them).

Failures:

* A process that vanishes mid-scan (ENOENT/ESRCH on any of its files, or every ns link
  gone) is dropped silently: normal, not an error.
* Unreadable ns links (EACCES for PID 1 on some hosts, every other user's processes when
  not root, EINVAL for something that is not a link) are aggregated: one ProbeFailed per
  (error kind, set of link types), whose detail counts the processes and names the first
  few PIDs, so 5,000 unreadable processes make one line, not 5,000. The affected types are
  simply absent from ``ProcessInfo.namespaces``.
* Any other failure (malformed stat or cgroup, unreadable status or mountinfo) is one
  ProbeFailed per file. A process whose ``stat`` cannot be read is left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.cgroups import parse_proc_cgroup
from inspect8s.host.fs import HostFS
from inspect8s.host.identify import identify_entries
from inspect8s.host.mounts import parse_mountinfo
from inspect8s.host.proc import parse_cmdline, parse_status, stat_tuple
from inspect8s.model import (
    NAMESPACE_TYPES,
    CgroupEntry,
    ContainerIdentity,
    Mount,
    ProcessInfo,
)

_MISSING = ErrorKind.MISSING
_PROC_FILES = ("stat", "cgroup")
_PROC_FILES_ALL = ("stat", "cgroup", "cmdline")

# comm (15 characters at most, TASK_COMM_LEN) of the processes whose command line the node
# picture needs: kubelet, runtime daemons, shims and monitors, OCI runtimes.
CMDLINE_COMMS: frozenset[str] = frozenset(
    {
        "kubelet",
        "containerd",
        "containerd-shim",  # containerd-shim, containerd-shim-runc-v2, -runsc-v1, -kata-v2
        "dockerd",
        "docker-containe",  # docker-containerd, docker-containerd-shim (Docker < 18.09)
        "docker-proxy",
        "cri-dockerd",
        "crio",
        "conmon",
        "podman",
        "runc",
        "crun",
        "k3s-server",
        "k3s-agent",
        "kubelite",
    }
)
_PIDS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class HostScan:
    """The result of :func:`scan_host`."""

    processes: dict[int, ProcessInfo]  # pid -> process, in /proc order
    identities: dict[int, ContainerIdentity]  # pid -> container, only for container processes
    mountinfo_by_mnt_ns: dict[int, tuple[Mount, ...]]  # mnt ns inode -> its mount table
    failures: list[ProbeFailed] = field(default_factory=list)

    def container_pids(self) -> dict[str, tuple[int, ...]]:
        """container id -> PIDs of its processes (ascending)."""
        out: dict[str, list[int]] = {}
        for pid, ident in self.identities.items():
            out.setdefault(ident.container_id, []).append(pid)
        return {cid: tuple(sorted(pids)) for cid, pids in out.items()}

    def mounts_of(self, pid: int) -> tuple[Mount, ...] | None:
        """The mount table of ``pid``'s mount namespace, if it was read."""
        proc = self.processes.get(pid)
        if proc is None or "mnt" not in proc.namespaces:
            return None
        return self.mountinfo_by_mnt_ns.get(proc.namespaces["mnt"])


def _ns_failures(failed: dict[tuple[ErrorKind, tuple[str, ...]], list[int]]) -> list[ProbeFailed]:
    out = []
    for (kind, types), unsorted in failed.items():
        pids = sorted(unsorted)
        what = ",".join(types)
        if len(pids) == 1:
            source = f"host:/proc/{pids[0]}/ns/{{{what}}}"
            detail = f"namespace links {what} of PID {pids[0]} unreadable"
        else:
            shown = ", ".join(str(p) for p in pids[:_PIDS_SHOWN])
            more = f" and {len(pids) - _PIDS_SHOWN} more" if len(pids) > _PIDS_SHOWN else ""
            source = f"host:/proc/*/ns/{{{what}}}"
            detail = (
                f"namespace links {what} unreadable for {len(pids)} processes (PIDs {shown}{more})"
            )
        out.append(ProbeFailed(kind, source, detail))
    return out


def scan_host(
    fs: HostFS,
    *,
    pids: Iterable[int] | None = None,
    status: Literal["containers", "all", "none"] = "containers",
    cmdline: Literal["needed", "all"] = "needed",
    cmdline_comms: Collection[str] = CMDLINE_COMMS,
    mountinfo: Literal["containers", "none"] = "containers",
) -> HostScan:
    """Scan every process under ``fs`` (or only ``pids``) in one pass; see the module doc.

    ``cmdline="needed"`` reads ``cmdline`` for container processes and for processes whose
    ``comm`` is in ``cmdline_comms`` (runtime daemons, shims, kubelet); the others get
    ``cmdline=()`` and ``cmdline_read=False``. Raises ProbeFailed only if ``/proc`` itself
    cannot be listed.
    """
    pid_list = list(fs.iter_pids()) if pids is None else list(pids)
    processes: dict[int, ProcessInfo] = {}
    identities: dict[int, ContainerIdentity] = {}
    failures: list[ProbeFailed] = []
    ns_failed: dict[tuple[ErrorKind, tuple[str, ...]], list[int]] = {}
    # raw cgroup file -> (entries, identity); shared by every process in the same cgroups
    cgroup_cache: dict[bytes, tuple[tuple[CgroupEntry, ...], ContainerIdentity | None]] = {}
    read_proc_dir = fs.read_proc_dir
    ns_types = NAMESPACE_TYPES
    files_wanted = _PROC_FILES_ALL if cmdline == "all" else _PROC_FILES
    comms = frozenset(cmdline_comms)
    want_status_all = status == "all"
    want_status_containers = status == "containers"

    for pid in pid_list:
        base = f"/proc/{pid}"
        try:
            files, links, failed = read_proc_dir(base, files_wanted, "ns", ns_types)
        except ProbeFailed as exc:
            if exc.kind is not _MISSING:
                failures.append(exc)
            continue
        link_failed: dict[str, ProbeFailed] = {}
        if failed:
            file_failed: dict[str, ProbeFailed] = {}
            for key, one in failed.items():
                if key.startswith("ns/"):
                    link_failed[key[3:]] = one
                elif key == "ns":
                    link_failed = dict.fromkeys(ns_types, one)
                else:
                    file_failed[key] = one
            if any(f.kind is _MISSING for f in file_failed.values()):
                continue  # gone mid-scan
            if "stat" in file_failed:
                failures.append(file_failed["stat"])
                continue
            failures.extend(file_failed.values())
        try:
            _, comm, state, ppid, _, threads, start = stat_tuple(
                files["stat"].decode("utf-8", "replace"), f"host:{base}/stat"
            )
        except ProbeFailed as exc:
            failures.append(exc)
            continue

        namespaces: dict[str, int] = {}
        for kind, target in links.items():
            # "net:[4026531840]": the inode sits between "[" and the final "]".
            try:
                namespaces[kind] = int(target[target.index("[") + 1 : -1])
            except ValueError:
                link_failed[kind] = ProbeFailed(
                    ErrorKind.MALFORMED,
                    f"host:{base}/ns/{kind}",
                    f"not a namespace link: {target!r}",
                )
        if link_failed:
            if (
                not namespaces
                and state != "Z"
                and all(f.kind is _MISSING for f in link_failed.values())
            ):
                continue  # every link gone: exited between stat and ns
            by_kind: dict[ErrorKind, list[str]] = {}
            for kind, link_exc in link_failed.items():
                if link_exc.kind is not _MISSING:  # an absent type (old kernel) is no error
                    by_kind.setdefault(link_exc.kind, []).append(kind)
            for ekind, kinds in by_kind.items():
                ns_failed.setdefault((ekind, tuple(sorted(kinds))), []).append(pid)

        raw_cgroup = files.get("cgroup")
        entries: tuple[CgroupEntry, ...] = ()
        ident: ContainerIdentity | None = None
        if raw_cgroup is not None:
            cached = cgroup_cache.get(raw_cgroup)
            if cached is None:
                try:
                    entries = parse_proc_cgroup(
                        raw_cgroup.decode("utf-8", "replace"), f"host:{base}/cgroup"
                    )
                except ProbeFailed as exc:
                    failures.append(exc)
                else:
                    ident = identify_entries(entries)
                    cgroup_cache[raw_cgroup] = (entries, ident)
            else:
                entries, ident = cached

        argv: tuple[str, ...] = ()
        argv_read = True
        if "cmdline" in files:
            argv = parse_cmdline(files["cmdline"])
        elif "cmdline" in failed:
            pass  # recorded above
        elif ident is not None or comm in comms:
            try:
                argv = parse_cmdline(fs.read_bytes(f"{base}/cmdline"))
            except ProbeFailed as exc:
                if exc.kind is _MISSING:
                    continue
                failures.append(exc)
        else:
            argv_read = False

        if want_status_all or (want_status_containers and ident is not None):
            path = f"{base}/status"
            try:
                st = parse_status(fs.read_text(path), f"host:{path}")
            except ProbeFailed as exc:
                if exc.kind is _MISSING:
                    continue
                failures.append(exc)
            else:
                processes[pid] = ProcessInfo(
                    pid,
                    ppid,
                    comm,
                    argv,
                    state,
                    start,
                    namespaces,
                    entries,
                    st.uid,
                    st.cap_eff,
                    st.seccomp_mode,
                    st.no_new_privs,
                    st.threads if st.threads is not None else threads,
                    st.nspid,
                    argv_read,
                )
                if ident is not None:
                    identities[pid] = ident
                continue
        processes[pid] = ProcessInfo(
            pid,
            ppid,
            comm,
            argv,
            state,
            start,
            namespaces,
            entries,
            threads=threads,
            cmdline_read=argv_read,
        )
        if ident is not None:
            identities[pid] = ident

    failures.extend(_ns_failures(ns_failed))
    by_mnt: dict[int, tuple[Mount, ...]] = {}
    if mountinfo == "containers":
        by_mnt = _read_mount_tables(fs, processes, identities, failures)
    return HostScan(processes, identities, by_mnt, failures)


def _read_mount_tables(
    fs: HostFS,
    processes: dict[int, ProcessInfo],
    identities: dict[int, ContainerIdentity],
    failures: list[ProbeFailed],
) -> dict[int, tuple[Mount, ...]]:
    """Read mountinfo once per mount namespace that holds a container process."""
    pids_by_ns: dict[int, list[int]] = {}
    for pid in identities:
        mnt = processes[pid].namespaces.get("mnt")
        if mnt is not None:
            pids_by_ns.setdefault(mnt, []).append(pid)
    tables: dict[int, tuple[Mount, ...]] = {}
    for mnt, members in pids_by_ns.items():
        last: ProbeFailed | None = None
        for pid in sorted(members):
            path = f"/proc/{pid}/mountinfo"
            try:
                tables[mnt] = parse_mountinfo(fs.read_text(path), f"host:{path}")
                break
            except ProbeFailed as exc:
                if exc.kind is not _MISSING:
                    last = exc
        else:
            if last is not None:
                failures.append(last)
    return tables
