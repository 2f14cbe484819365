"""One pass over ``/proc``: every process with its namespaces, cgroup and container identity.

What is read per process (decisions, measured in benchmarks/README.md "host_scan"):

* always: ``stat`` (ppid, comm, state) and ``cgroup`` (unless the cgroup walk below gave
  it): what decides container membership and daemon identity, in one
  :meth:`HostFS.read_proc_quick` call per process; when that meets any error the process
  is read again with :meth:`HostFS.read_proc_dir`, which says what failed.
* the eight ``ns/*`` links (inodes taken from the link text, no ``stat``) only for the
  processes that matter (``namespaces="needed"``): PID 1, container processes, the daemons
  named in :data:`CMDLINE_COMMS` and the caller itself; the others get ``namespaces={}``
  and ``ProcessInfo.namespaces_read`` False. On a node of 5,000 processes these links were
  about half of the scan's syscalls (benchmarks/README.md, "node_scan").
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
* ``cgroup`` membership comes from the hierarchy itself on a cgroup v2 host
  (``cgroups="auto"``, the default for a whole-host scan; ``"walk"`` does it for any
  layout): the hierarchy is walked once and its ``cgroup.procs`` files read, one read per
  cgroup instead of one per process (a node has far fewer cgroups than processes; about
  -40 ms at 5,000 processes). On v1 and hybrid hosts every hierarchy would have to be
  walked and each root's ``cgroup.procs`` lists every process: ten hierarchies cost as
  much as the per-process reads they save (benchmarks/README.md), so ``auto`` *screens*
  there (``"screen"``): it walks only the hierarchies that say whether a process is in a
  container (the first mounted resource controller, memory before pids, which runtimes
  always place a container in, and a hybrid host's v2 hierarchy, whose ``cgroup.procs``
  is cheap). A process those lines place in a container, one that is a daemon, shim or
  the kubelet (:data:`CMDLINE_COMMS`), PID 1, ``namespaces_of`` and any process the walk
  did not find have their ``/proc/<pid>/cgroup`` read as usual; every other process is
  read by its ``stat`` alone and keeps only its screening lines, with
  ``ProcessInfo.cgroups_complete`` False (about -25 % of the scan's CPU time at 5,000
  processes on a hybrid host, benchmarks/README.md "node_scan"). The text
  ``/proc/<pid>/cgroup`` would show is rebuilt from that (hierarchy ids and controller
  names taken from one process's file, paths joined to each mount's root the way the
  kernel shows them), so the result is the same. A process is read the usual way when it
  was not found in every hierarchy (started during the walk, outside what a mount shows,
  listed in two cgroups of one v1 hierarchy because its threads are split), and a
  hierarchy whose ``cgroup.procs`` cannot be read (threaded v2 subtrees answer
  EOPNOTSUPP) is not walked at all, which sends every process down the usual path.
  ``cgroups="proc"`` always reads ``/proc/<pid>/cgroup``.

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

import os
from collections.abc import Collection, Iterable
from dataclasses import field
from typing import Literal

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.cgroups import (
    RESOURCE_CONTROLLERS,
    CgroupLayout,
    parse_proc_cgroup,
    read_layout,
)
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
from inspect8s.model.frozen import frozen

_MISSING = ErrorKind.MISSING
_PROC_FILES = ("stat", "cgroup")
_PROC_FILES_ALL = ("stat", "cgroup", "cmdline")
_PROC_FILES_KNOWN_CGROUP = ("stat",)
_PROC_FILES_ALL_KNOWN_CGROUP = ("stat", "cmdline")

# comm (15 characters at most, TASK_COMM_LEN) of the processes whose command line the node
# picture needs: kubelet, runtime daemons, shims and monitors, OCI runtimes; kube-proxy for
# its --kubeconfig (CIS 4.1.3).
CMDLINE_COMMS: frozenset[str] = frozenset(
    {
        "kubelet",
        "kube-proxy",
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

# stat_tuple: (pid, comm, state, ppid, flags, threads, start time)
_Stat = tuple[int, str, str, int, int, int, int]
# a cgroup file's entries and the container they identify, if any
_Parsed = tuple[tuple[CgroupEntry, ...], ContainerIdentity | None]


@frozen
class HostScan:
    """The result of :func:`scan_host`."""

    processes: dict[int, ProcessInfo]  # pid -> process, in /proc order
    identities: dict[int, ContainerIdentity]  # pid -> container, only for container processes
    mountinfo_by_mnt_ns: dict[int, tuple[Mount, ...]]  # mnt ns inode -> its mount table
    failures: list[ProbeFailed] = field(default_factory=list)

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


def _walk_hierarchy(fs: HostFS, mount_point: str, mount_root: str) -> dict[int, str] | None:
    """pid -> cgroup path in one hierarchy, from every ``cgroup.procs`` under its mount.

    Paths are ``mount_root`` joined with the directory below the mount point, as
    ``/proc/<pid>/cgroup`` shows them. A PID listed in two cgroups (a v1 process whose
    threads sit in different cgroups) is left out. None when some ``cgroup.procs`` cannot
    be read for another reason than the cgroup going away (a threaded v2 subtree): the
    hierarchy then cannot be trusted.
    """
    # The mount point with its links resolved inside the root; below it, directories are
    # entered only when they are not links and cgroup.procs is opened without following
    # one, so the walk stays inside the root too.
    try:
        top = fs.resolve(mount_point).rstrip("/") or "/"
    except ProbeFailed:
        return None
    prefix = mount_root.rstrip("/")
    found: dict[int, str] = {}
    twice: set[int] = set()
    stack = [(top, "")]
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    while stack:
        directory, rel = stack.pop()
        try:
            fd = os.open(f"{directory}/cgroup.procs", flags)
        except FileNotFoundError:
            data = b""
        except OSError:
            return None
        else:
            try:
                chunks = []
                while chunk := os.read(fd, 1 << 16):
                    chunks.append(chunk)
            except OSError:
                return None
            finally:
                os.close(fd)
            data = b"".join(chunks)
        if data:
            # v1 may list a PID twice in one file (cgroup-v1/cgroups.rst): harmless. A PID
            # in two cgroups of one hierarchy is ambiguous.
            try:
                listed = dict.fromkeys(map(int, data.split()), prefix + rel or "/")
            except ValueError:
                return None
            if not found.keys().isdisjoint(listed):
                twice.update(found.keys() & listed.keys())
            found.update(listed)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, f"{rel}/{entry.name}"))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return None
    for pid in twice:
        found.pop(pid, None)
    return found


def cgroup_membership(
    fs: HostFS,
    layout: CgroupLayout,
    sample: str,
    only: Collection[str] | None = None,
) -> tuple[tuple[str, ...], dict[int, tuple[str, ...]]] | None:
    """Every process's cgroup in every hierarchy, from the hierarchies' ``cgroup.procs``.

    ``sample`` is one process's ``/proc/<pid>/cgroup``: it gives the hierarchies in the
    kernel's order and their ``id:controllers:`` prefixes (the same for every process).
    Returns ``(prefixes, pid -> paths)`` where ``paths[i]`` belongs to ``prefixes[i]``;
    only PIDs found in every hierarchy are in the map. None when some hierarchy has no
    mount under the root or cannot be walked. ``only`` limits the walk to the hierarchies
    whose controller lists are given (``"memory"``, ``"cpu,cpuacct"``; ``""`` for v2).
    """
    prefixes: list[str] = []
    walks: list[dict[int, str]] = []
    for line in sample.splitlines():
        if not line:
            continue
        hid, sep, rest = line.partition(":")
        controllers, sep2, _ = rest.partition(":")
        if not (sep and sep2):
            return None
        if only is not None and controllers not in only:
            continue
        names = tuple(controllers.split(",")) if controllers else ()
        if hid == "0" and not names:
            mount = layout.v2
        else:
            mount = layout.v1.get(names[0]) if names else None
            if mount is not None and set(mount.controllers) != set(names):
                mount = None
        if mount is None:
            return None
        walked = _walk_hierarchy(fs, mount.mount_point, mount.root)
        if walked is None:
            return None
        prefixes.append(f"{hid}:{controllers}:")
        walks.append(walked)
    if not walks:
        return None
    first, rest_walks = walks[0], walks[1:]
    members: dict[int, tuple[str, ...]] = {}
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    for pid, path in first.items():
        paths = [path]
        for walked in rest_walks:
            other = walked.get(pid)
            if other is None:
                break
            paths.append(other)
        else:
            key = tuple(paths)
            members[pid] = interned.setdefault(key, key)
    return tuple(prefixes), members


def _unified(sample: str) -> bool:
    """True when a ``/proc/<pid>/cgroup`` text has the single v2 line only."""
    return sample.startswith("0::") and sample.count("\n") <= 1


def screening_hierarchies(sample: str, layout: CgroupLayout) -> tuple[str, ...]:
    """The hierarchies of a v1 or hybrid host that screen processes for containers (their
    controller lists as ``/proc/<pid>/cgroup`` writes them): the v2 line of a hybrid host
    when its hierarchy is mounted, and the first mounted one of the resource controllers
    runtimes always place a container in (:data:`~inspect8s.host.cgroups.RESOURCE_CONTROLLERS`,
    memory first)."""
    lines = [line.split(":", 2) for line in sample.splitlines() if line.count(":") >= 2]
    picked = []
    if layout.v2 is not None and any(h == "0" and c == "" for h, c, _ in lines):
        picked.append("")
    for wanted in RESOURCE_CONTROLLERS:
        found = next((c for _, c, _ in lines if wanted in c.split(",")), None)
        if found is not None and layout.v1.get(wanted) is not None:
            picked.append(found)
            break
    return tuple(picked)


def _cgroup_text(prefixes: tuple[str, ...], paths: tuple[str, ...]) -> str:
    """The ``/proc/<pid>/cgroup`` text of a process a walk found at ``paths``."""
    return "".join(f"{pre}{path}\n" for pre, path in zip(prefixes, paths, strict=True))


def _sample_cgroup(fs: HostFS, pid_list: list[int]) -> str | None:
    """The ``cgroup`` file of the first readable process (the hierarchies' order)."""
    for pid in pid_list[:8]:
        text = fs.read_text_or_none(f"/proc/{pid}/cgroup")
        if text:
            return text
    return None


def _read_files(
    fs: HostFS,
    base: str,
    names: tuple[str, ...],
    failures: list[ProbeFailed],
) -> tuple[_Stat, dict[str, bytes], dict[str, ProbeFailed]] | None:
    """A process's files read one by one, each failure recorded: the path taken when the
    quick read of :meth:`HostFS.read_proc_quick` met an error. None: leave the process out
    (gone mid-scan, or its ``stat`` unreadable)."""
    try:
        files, _, failed = fs.read_proc_dir(base, names, "ns", ())
    except ProbeFailed as exc:
        if exc.kind is not _MISSING:
            failures.append(exc)
        return None
    if failed:
        if any(f.kind is _MISSING for f in failed.values()):
            return None  # gone mid-scan
        if "stat" in failed:
            failures.append(failed["stat"])
            return None
        failures.extend(failed.values())
    try:
        stat = stat_tuple(files["stat"].decode("utf-8", "replace"), f"host:{base}/stat")
    except ProbeFailed as exc:
        failures.append(exc)
        return None
    return stat, files, failed


# "net:[4026531840]": the inode sits between "net:[" and the final "]".
_NS_INODE = tuple(slice(len(kind) + 2, -1) for kind in NAMESPACE_TYPES)


def _read_namespaces(
    fs: HostFS,
    base: str,
    pid: int,
    state: str,
    ns_failed: dict[tuple[ErrorKind, tuple[str, ...]], list[int]],
) -> dict[str, int] | None:
    """The eight ``ns/*`` links of one process (inodes from the link text, no ``stat``):
    one :meth:`HostFS.read_proc_quick`, or link by link when that meets an error, each
    unreadable type aggregated into ``ns_failed``. None: every link gone (the process
    exited after its ``stat`` was read)."""
    if fs.direct_reads:
        got = fs.read_proc_quick(base, (), "ns", NAMESPACE_TYPES)
        if got is not None:
            try:
                return {
                    kind: int(target[inode])
                    for kind, inode, target in zip(NAMESPACE_TYPES, _NS_INODE, got[1], strict=True)
                }
            except ValueError:
                pass  # a link of another shape: the careful path below names it
    try:
        _, links, failed = fs.read_proc_dir(base, (), "ns", NAMESPACE_TYPES)
    except ProbeFailed as exc:
        if exc.kind is _MISSING:
            return None
        failed = {"ns": exc}
        links = {}
    link_failed: dict[str, ProbeFailed] = {}
    for key, one in failed.items():
        if key.startswith("ns/"):
            link_failed[key[3:]] = one
        elif key == "ns":
            link_failed = dict.fromkeys(NAMESPACE_TYPES, one)
    namespaces: dict[str, int] = {}
    for kind, target in links.items():
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
            return None  # every link gone: exited between stat and ns
        by_kind: dict[ErrorKind, list[str]] = {}
        for kind, link_exc in link_failed.items():
            if link_exc.kind is not _MISSING:  # an absent type (old kernel) is no error
                by_kind.setdefault(link_exc.kind, []).append(kind)
        for ekind, kinds in by_kind.items():
            ns_failed.setdefault((ekind, tuple(sorted(kinds))), []).append(pid)
    return namespaces


def scan_host(
    fs: HostFS,
    *,
    pids: Iterable[int] | None = None,
    status: Literal["containers", "all", "none"] = "containers",
    cmdline: Literal["needed", "all"] = "needed",
    cmdline_comms: Collection[str] = CMDLINE_COMMS,
    mountinfo: Literal["containers", "none"] = "containers",
    cgroups: Literal["auto", "walk", "screen", "proc"] = "auto",
    layout: CgroupLayout | None = None,
    namespaces: Literal["needed", "all"] = "needed",
    namespaces_of: Collection[int] = (),
) -> HostScan:
    """Scan every process under ``fs`` (or only ``pids``) in one pass; see the module doc.

    ``cmdline="needed"`` reads ``cmdline`` for container processes and for processes whose
    ``comm`` is in ``cmdline_comms`` (runtime daemons, shims, kubelet); the others get
    ``cmdline=()`` and ``cmdline_read=False``. Raises ProbeFailed only if ``/proc`` itself
    cannot be listed.

    ``namespaces="needed"`` reads the ``ns/*`` links of the processes that matter: PID 1 (the
    host's namespaces), container processes, the processes whose ``comm`` is in
    ``cmdline_comms``, and ``namespaces_of`` (the caller itself); the others get
    ``namespaces={}`` and ``namespaces_read=False``. ``"all"``, or an explicit ``pids``,
    reads them for every process.

    ``cgroups="auto"`` takes cgroup membership from ``cgroup.procs`` on a cgroup v2 host
    when the whole host is scanned and screens by one resource controller on v1 and hybrid
    hosts, ``"walk"`` walks every hierarchy on any host, ``"screen"`` screens (on a v2 host
    it does what ``"auto"`` does), ``"proc"`` reads every file (see the module doc);
    ``layout`` saves reading the mount table again when the caller has it. A HostFS whose
    ``direct_reads`` is False (recording, replaying) is always read file by file.
    """
    pid_list = list(fs.iter_pids()) if pids is None else list(pids)
    prefixes: tuple[str, ...] = ()
    members: dict[int, tuple[str, ...]] = {}
    # screened PIDs (v1 and hybrid hosts): pid -> their lines in the screening hierarchies
    screen_prefixes: tuple[str, ...] = ()
    screened: dict[int, tuple[str, ...]] = {}
    if cgroups != "proc" and pids is None and fs.direct_reads:
        if layout is None:
            try:
                layout = read_layout(fs)
            except ProbeFailed:
                layout = None
        sample = _sample_cgroup(fs, pid_list) if layout is not None else None
        if layout is not None and sample is not None:
            if cgroups == "walk" or _unified(sample):
                membership = cgroup_membership(fs, layout, sample)
                if membership is not None:
                    prefixes, members = membership
            elif cgroups in ("auto", "screen"):
                only = screening_hierarchies(sample, layout)
                walked = cgroup_membership(fs, layout, sample, only) if only else None
                if walked is not None:
                    screen_prefixes, screened = walked
    processes: dict[int, ProcessInfo] = {}
    identities: dict[int, ContainerIdentity] = {}
    failures: list[ProbeFailed] = []
    ns_failed: dict[tuple[ErrorKind, tuple[str, ...]], list[int]] = {}
    # cgroup paths from the walk, or a raw cgroup file -> (entries, identity); shared by
    # every process in the same cgroups
    cgroup_cache: dict[tuple[str, ...] | bytes, _Parsed] = {}
    read_quick = fs.read_proc_quick
    direct = fs.direct_reads
    all_ns = namespaces == "all" or pids is not None
    ns_pids = frozenset({1, *namespaces_of})
    files_wanted = _PROC_FILES_ALL if cmdline == "all" else _PROC_FILES
    files_known = _PROC_FILES_ALL_KNOWN_CGROUP if cmdline == "all" else _PROC_FILES_KNOWN_CGROUP
    comms = frozenset(cmdline_comms)
    want_status_all = status == "all"
    want_status_containers = status == "containers"

    # screening lines -> their entries when they name no container, else None (read the
    # file); shared by every process in the same cgroups
    screen_cache: dict[tuple[str, ...], tuple[CgroupEntry, ...] | None] = {}

    for pid in pid_list:
        base = f"/proc/{pid}"
        known = members.get(pid)
        # a screened process whose screening lines name no container: its stat is enough
        boring: tuple[CgroupEntry, ...] | None = None
        seen = screened.get(pid) if screened else None
        if seen is not None:
            if seen in screen_cache:
                boring = screen_cache[seen]
            else:
                try:
                    text = _cgroup_text(screen_prefixes, seen)
                    found = parse_proc_cgroup(text, f"host:{base}/cgroup")
                except ProbeFailed:  # a name holding a newline: read the file
                    boring = None
                else:
                    boring = found if identify_entries(found) is None else None
                screen_cache[seen] = boring
        names = files_wanted if known is None and boring is None else files_known
        got = read_quick(base, names, "ns", ()) if direct else None
        if got is not None:
            files = dict(zip(names, got[0], strict=True))
            failed: dict[str, ProbeFailed] = {}
            try:
                _, comm, state, ppid, _, threads, start = stat_tuple(
                    files["stat"].decode("utf-8", "replace"), f"host:{base}/stat"
                )
            except ProbeFailed as exc:
                failures.append(exc)
                continue
        else:
            careful = _read_files(fs, base, names, failures)
            if careful is None:
                continue
            (_, comm, state, ppid, _, threads, start), files, failed = careful

        complete = True
        if boring is not None:
            if comm in comms or pid in ns_pids:
                # daemons, shims, the kubelet, PID 1 and the caller: every line
                try:
                    files["cgroup"] = fs.read_bytes(f"{base}/cgroup")
                except ProbeFailed as exc:
                    if exc.kind is _MISSING:
                        continue
                    failures.append(exc)
                    complete = False
            else:
                complete = False

        # the walk's paths, else the file's bytes: parsed once per distinct value
        key: tuple[str, ...] | bytes | None = known if known is not None else files.get("cgroup")
        entries: tuple[CgroupEntry, ...] = ()
        ident: ContainerIdentity | None = None
        if boring is not None and not complete:
            entries = boring
        elif key is not None:
            cached = cgroup_cache.get(key)
            if cached is None:
                if isinstance(key, bytes):
                    text = key.decode("utf-8", "replace")
                else:
                    text = _cgroup_text(prefixes, key)
                try:  # a cgroup name holding a newline would not read back from the walk
                    entries = parse_proc_cgroup(text, f"host:{base}/cgroup")
                except ProbeFailed as exc:
                    failures.append(exc)
                else:
                    ident = identify_entries(entries)
                    cgroup_cache[key] = (entries, ident)
            else:
                entries, ident = cached

        proc_ns: dict[str, int] = {}
        ns_read = all_ns or ident is not None or comm in comms or pid in ns_pids
        if ns_read:
            read = _read_namespaces(fs, base, pid, state, ns_failed)
            if read is None:
                continue  # gone mid-scan
            proc_ns = read

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

        st = None
        if want_status_all or (want_status_containers and ident is not None):
            path = f"{base}/status"
            try:
                st = parse_status(fs.read_text(path), f"host:{path}")
            except ProbeFailed as exc:
                if exc.kind is _MISSING:
                    continue
                failures.append(exc)
        if st is not None:
            processes[pid] = ProcessInfo(
                pid, ppid, comm, argv, state, start, proc_ns, entries,
                st.uid, st.cap_eff, st.seccomp_mode, st.no_new_privs,
                st.threads if st.threads is not None else threads, st.nspid,
                argv_read, ns_read, complete,
            )  # fmt: skip
        else:
            processes[pid] = ProcessInfo(
                pid, ppid, comm, argv, state, start, proc_ns, entries,
                threads=threads, cmdline_read=argv_read, namespaces_read=ns_read,
                cgroups_complete=complete,
            )  # fmt: skip
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
