"""Screening a v1 or hybrid host's processes by one resource controller's ``cgroup.procs``
(host/scan.py, ``cgroups="screen"``, the default there) against every process's
``/proc/<pid>/cgroup``: the same containers and the same facts for every process that
matters; the others keep only their screening lines, marked incomplete."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from inspect8s.collect.origin import cgroup_line
from inspect8s.host.cgroups import CgroupMount, parse_proc_cgroup, read_layout
from inspect8s.host.fs import HostFS
from inspect8s.host.identify import identify_entries
from inspect8s.host.scan import CMDLINE_COMMS, scan_host, screening_hierarchies
from inspect8s.model import ProcessInfo

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"
V1 = "docker-era"  # Docker 18.09 on a v1 host (its SOURCE.md)


def _with_cgroup_procs(root: Path) -> None:
    """Write each hierarchy's ``cgroup.procs`` under the tree's cgroup mounts from the
    processes' own ``/proc/<pid>/cgroup`` files, as the kernel would show them."""
    fs = HostFS(str(root))
    layout = read_layout(fs)
    for proc_dir in (root / "proc").iterdir():
        if not proc_dir.name.isdigit() or not (proc_dir / "cgroup").is_file():
            continue
        for entry in parse_proc_cgroup((proc_dir / "cgroup").read_text(), "test"):
            mount = layout.v1.get(entry.controllers[0]) if entry.controllers else layout.v2
            if mount is None:
                continue
            rel = entry.path.removeprefix(mount.root.rstrip("/")).strip("/")
            directory = root / mount.mount_point.lstrip("/") / rel
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / "cgroup.procs", "a") as out:
                out.write(f"{proc_dir.name}\n")


# host processes added to the recorded node (which holds only the chain's processes): an
# sshd in its own service and a shell in a user's session
BORING = {880: ("sshd", "/system.slice/ssh.service"), 3001: ("bash", "/user.slice/user-0.slice")}


def _add_host_process(root: Path, pid: int, comm: str, path: str) -> None:
    """A process like the recorded kubelet (905) with another name and cgroup."""
    shutil.copytree(root / "proc" / "905", root / "proc" / str(pid), symlinks=True)
    proc = root / "proc" / str(pid)
    stat = (proc / "stat").read_text()
    rest = stat[stat.rindex(")") + 1 :]
    (proc / "stat").write_text(f"{pid} ({comm}){rest}")
    (proc / "cmdline").write_bytes(comm.encode() + b"\0")
    lines = (proc / "cgroup").read_text().splitlines()
    moved = [
        f"{line.rsplit(':', 1)[0]}:{path}" if not line.startswith("0::") else line for line in lines
    ]
    (proc / "cgroup").write_text("".join(f"{line}\n" for line in moved))


@pytest.fixture
def v1_tree(tmp_path: Path) -> Path:
    root = tmp_path / V1
    shutil.copytree(NODES / V1, root, symlinks=True)
    for pid, (comm, path) in BORING.items():
        _add_host_process(root, pid, comm, path)
    _with_cgroup_procs(root)
    return root


def _matters(pid: int, proc: ProcessInfo, self_pid: int | None = None) -> bool:
    return pid in (1, self_pid) or proc.comm in CMDLINE_COMMS


def _compare(screened: dict[int, ProcessInfo], per_file: dict[int, ProcessInfo]) -> int:
    """Assert what the screen promises for every process both scans saw; how many
    processes it left incomplete."""
    incomplete = 0
    for pid, proc in screened.items():
        full = per_file[pid]
        if proc.cgroups_complete:
            assert proc.cgroups == full.cgroups, pid
            continue
        incomplete += 1
        assert identify_entries(full.cgroups) is None, pid  # in no container
        assert set(proc.cgroups) < set(full.cgroups), pid
        assert cgroup_line(proc) == cgroup_line(full), pid  # what `pid` prints
    return incomplete


def test_screen_names_the_same_containers_as_the_files(v1_tree: Path) -> None:
    fs = HostFS(str(v1_tree))
    screened = scan_host(fs, cgroups="screen")
    per_file = scan_host(fs, cgroups="proc")
    assert screened.identities == per_file.identities and screened.identities
    assert screened.failures == per_file.failures
    assert screened.processes.keys() == per_file.processes.keys()
    assert _compare(screened.processes, per_file.processes) == len(BORING)
    for pid, proc in screened.processes.items():
        if _matters(pid, proc) or pid in screened.identities:
            assert proc.cgroups_complete, pid
        # every other field is the same
        assert proc.comm == per_file.processes[pid].comm
        assert proc.namespaces == per_file.processes[pid].namespaces


def test_screen_is_the_default_on_a_v1_host(v1_tree: Path) -> None:
    fs = HostFS(str(v1_tree))
    default = scan_host(fs)
    assert default == scan_host(fs, cgroups="screen")
    assert any(not p.cgroups_complete for p in default.processes.values())


def test_screening_hierarchies_are_memory_and_the_mounted_v2_line(v1_tree: Path) -> None:
    v1_only = read_layout(HostFS(str(v1_tree)))  # no cgroup2 mount, as on a legacy host
    assert v1_only.v2 is None
    hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/a\n2:cpu,cpuacct:/\n0::/\n"
    assert screening_hierarchies(hybrid, v1_only) == ("memory",)
    with_v2 = dataclasses.replace(v1_only, v2=CgroupMount("/sys/fs/cgroup/unified", "/", 2, ()))
    assert screening_hierarchies(hybrid, with_v2) == ("", "memory")
    without_memory = "8:pids:/\n2:cpu,cpuacct:/\n1:name=systemd:/\n"
    assert screening_hierarchies(without_memory, v1_only) == ("pids",)
    only_cpu = "2:cpu,cpuacct:/\n1:name=systemd:/\n"
    assert screening_hierarchies(only_cpu, v1_only) == ("cpu,cpuacct",)
    unmounted = dataclasses.replace(v1_only, v1={})
    assert screening_hierarchies(hybrid, unmounted) == ()
    assert screening_hierarchies("1:name=systemd:/\n", v1_only) == ()


def test_an_unreadable_screen_falls_back_to_the_files(v1_tree: Path) -> None:
    layout = read_layout(HostFS(str(v1_tree)))
    memory = layout.v1["memory"]
    top = v1_tree / memory.mount_point.lstrip("/")
    (top / "cgroup.procs").unlink(missing_ok=True)
    (top / "cgroup.procs").mkdir()  # EISDIR: the hierarchy cannot be trusted
    fs = HostFS(str(v1_tree))
    screened = scan_host(fs, cgroups="screen")
    assert all(p.cgroups_complete for p in screened.processes.values())
    assert screened.processes == scan_host(fs, cgroups="proc").processes


def test_live_screen_matches_proc_files() -> None:
    """On this machine: the screen (on v1 and hybrid hosts; on v2 the whole walk) names
    the same containers as the files, for every process both scans saw unchanged."""
    fs = HostFS("/")
    before = scan_host(fs, cgroups="proc", mountinfo="none")
    screened = scan_host(fs, cgroups="screen", mountinfo="none", namespaces_of=(os.getpid(),))
    after = scan_host(fs, cgroups="proc", mountinfo="none")
    stable = {
        pid: after.processes[pid]
        for pid, proc in screened.processes.items()
        if pid in after.processes
        and pid in before.processes
        and after.processes[pid].start_time_ticks == proc.start_time_ticks
        and before.processes[pid].cgroups == after.processes[pid].cgroups
    }
    assert os.getpid() in stable and len(stable) > 10
    _compare({pid: screened.processes[pid] for pid in stable}, stable)
    for pid in stable:
        assert (pid in screened.identities) == (pid in after.identities), pid
    me = screened.processes[os.getpid()]
    assert me.cgroups_complete and me.cgroups == after.processes[os.getpid()].cgroups
