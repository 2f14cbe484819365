"""Cgroup membership from the hierarchies' ``cgroup.procs`` (host/scan.py) against
``/proc/<pid>/cgroup``: the same answer on every replay tree and on this machine, and the
per-process file whenever the walk cannot be trusted for a process or a hierarchy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inspect8s.host.cgroups import read_layout
from inspect8s.host.fs import HostFS
from inspect8s.host.scan import cgroup_membership, scan_host

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"
TREES = sorted(p.name for p in NODES.iterdir() if (p / "proc").is_dir())
V2 = "cgroupv2-systemd-containerd"
# A process of the burstable pod in the v2 tree, and its cgroup directory.
PID = 1122
SCOPE = (
    "kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod8a1c2d3e_4f5a_4b6c_9d7e_8f9a0b1c2d3e.slice/"
    "cri-containerd-d416ad884664268eda222ab90240b89a7fd31d8ae92f60f41437d889fdeed29c.scope"
)
OTHER = "/system.slice/elsewhere.service"


@pytest.mark.parametrize("tree", TREES)
def test_walk_and_proc_files_agree_on_every_tree(tree: str) -> None:
    fs = HostFS(str(NODES / tree))
    walked = scan_host(fs, cgroups="walk")
    per_file = scan_host(fs, cgroups="proc")
    assert walked.processes == per_file.processes
    assert walked.identities == per_file.identities
    assert walked.failures == per_file.failures


def test_v2_tree_is_walked_by_default() -> None:
    fs = HostFS(str(NODES / V2))
    sample = (NODES / V2 / "proc" / "1" / "cgroup").read_text()
    got = cgroup_membership(fs, read_layout(fs), sample)
    assert got is not None
    prefixes, members = got
    assert prefixes == ("0::",)
    assert members[PID] == (f"/{SCOPE}",)


@pytest.fixture
def tree(v2_tree: Path) -> Path:
    assert v2_tree.name == V2
    return v2_tree


def _path(root: Path, pid: int) -> str:
    entries = scan_host(HostFS(str(root))).processes[pid].cgroups
    assert [e.hierarchy_id for e in entries] == [0]
    return entries[0].path


def test_walk_is_what_the_default_scan_uses(tree: Path) -> None:
    # /proc/<pid>/cgroup now disagrees with cgroup.procs: the default scan follows the
    # hierarchy, the per-process mode the file.
    (tree / "proc" / str(PID) / "cgroup").write_text(f"0::{OTHER}\n")
    assert _path(tree, PID) == f"/{SCOPE}"
    per_file = scan_host(HostFS(str(tree)), cgroups="proc").processes[PID].cgroups
    assert per_file[0].path == OTHER


def test_pid_listed_in_two_cgroups_is_read_from_its_file(tree: Path) -> None:
    (tree / "proc" / str(PID) / "cgroup").write_text(f"0::{OTHER}\n")
    second = tree / "sys/fs/cgroup/system.slice/cgroup.procs"
    second.parent.mkdir(parents=True, exist_ok=True)
    second.write_text(f"{PID}\n")
    assert _path(tree, PID) == OTHER


def test_pid_the_walk_did_not_find_is_read_from_its_file(tree: Path) -> None:
    procs = tree / "sys/fs/cgroup" / SCOPE / "cgroup.procs"
    kept = [line for line in procs.read_text().split() if line != str(PID)]
    procs.write_text("".join(f"{p}\n" for p in kept))
    (tree / "proc" / str(PID) / "cgroup").write_text(f"0::{OTHER}\n")
    assert _path(tree, PID) == OTHER


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_hierarchy_that_cannot_be_read_is_not_walked(tree: Path, damage: str) -> None:
    (tree / "proc" / str(PID) / "cgroup").write_text(f"0::{OTHER}\n")
    bad = tree / "sys/fs/cgroup/kubepods.slice/cgroup.procs"
    if bad.exists():
        bad.unlink()
    if damage == "garbage":
        bad.write_text("12 thirteen\n")
    else:
        bad.mkdir()  # EISDIR, as a threaded subtree's EOPNOTSUPP: not ENOENT
    fs = HostFS(str(tree))
    sample = (tree / "proc" / "1" / "cgroup").read_text()
    assert cgroup_membership(fs, read_layout(fs), sample) is None
    assert _path(tree, PID) == OTHER
    assert scan_host(fs).failures == []


def test_live_walk_matches_proc_files() -> None:
    """On this machine (any layout: every mounted hierarchy is walked), each process
    seen by both scans, with the same start time, is in the same cgroups. The files are read
    before and after the walk: a process that moved meanwhile (a busy machine's services
    do) is left out, since either answer was right at its moment."""
    fs = HostFS("/")
    before = scan_host(fs, cgroups="proc", mountinfo="none")
    walked = scan_host(fs, cgroups="walk", mountinfo="none")
    per_file = scan_host(fs, cgroups="proc", mountinfo="none")
    both = [
        pid
        for pid, proc in walked.processes.items()
        if pid in per_file.processes
        and pid in before.processes
        and per_file.processes[pid].start_time_ticks == proc.start_time_ticks
        and before.processes[pid].start_time_ticks == proc.start_time_ticks
        and before.processes[pid].cgroups == per_file.processes[pid].cgroups
    ]
    assert os.getpid() in both and len(both) > 10
    differ = [
        pid for pid in both if walked.processes[pid].cgroups != per_file.processes[pid].cgroups
    ]
    assert differ == []
    assert walked.processes[os.getpid()].cgroups == per_file.processes[os.getpid()].cgroups
    sample = Path("/proc/self/cgroup").read_text()
    got = cgroup_membership(fs, read_layout(fs), sample)
    assert got is not None, "every hierarchy of this machine is mounted and readable"
    assert os.getpid() in got[1]
