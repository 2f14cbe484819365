"""scan_host on every replay tree, on fault trees built at test time, and on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspect8s.collect.join import group_containers
from inspect8s.errors import ErrorKind
from inspect8s.host.fs import HostFS
from inspect8s.host.proc import read_namespaces
from inspect8s.host.scan import CMDLINE_COMMS, HostScan, scan_host
from inspect8s.model import NAMESPACE_TYPES, ProcessInfo, QoS

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"
GENERATED = ["cgroupv2-systemd-containerd", "crio", "docker-era"]


def _expected(tree: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((NODES / tree / "expected.json").read_text())
    return data


def _cgroup_path(proc: ProcessInfo) -> str:
    """The path of the memory hierarchy (v1) or the v2 line."""
    for e in proc.cgroups:
        if "memory" in e.controllers:
            return e.path
    return next(e.path for e in proc.cgroups if not e.controllers)


@pytest.mark.parametrize("tree", GENERATED)
def test_scan_generated_tree(tree: str) -> None:
    exp = _expected(tree)
    scan = scan_host(HostFS(str(NODES / tree)))
    assert scan.failures == []
    assert sorted(scan.processes) == sorted(int(p) for p in exp["processes"])
    for pid_text, want in exp["processes"].items():
        proc = scan.processes[int(pid_text)]
        assert (proc.ppid, proc.comm, _cgroup_path(proc)) == (
            want["ppid"],
            want["comm"],
            want["cgroup"],
        )
        if proc.cmdline_read:
            assert list(proc.cmdline) == want["cmdline"]
        else:
            assert proc.cmdline == ()
    host = exp["host_namespaces"]
    assert scan.processes[1].namespaces == host

    by_container, _ = group_containers(scan.identities)
    container_pids = {cid: tuple(pids) for cid, pids in by_container.items()}
    for c in exp["containers"]:
        ident = scan.identities[c["init_pid"]]
        assert ident.container_id == c["id"]
        assert ident.pod_uid == c["pod_uid"]
        assert ident.qos == (QoS(c["qos"]) if c["qos"] else None)
        if ident.driver == "systemd" or c["pod_uid"] is None:
            assert ident.runtime == c["runtime"]
        else:
            assert ident.runtime == "unknown"  # bare cgroupfs ids do not name the runtime
        assert container_pids[c["id"]] == tuple(c["pids"])
        proc = scan.processes[c["init_pid"]]
        assert proc.ppid == c["shim_pid"]
        shared = sorted(t for t, ino in proc.namespaces.items() if host.get(t) == ino)
        assert shared == sorted(c["host_namespaces"])
        # status is read for container processes
        assert proc.cap_eff is not None and proc.seccomp_mode is not None
        assert proc.cmdline_read and proc.cmdline
        mounts = scan.mounts_of(c["init_pid"])
        assert mounts is not None
        assert any(m.mount_point.startswith("/sys/fs/cgroup") for m in mounts)
    # host processes: no identity, no status read by default
    assert 1 not in scan.identities
    assert scan.processes[1].cap_eff is None
    # one table per container mount namespace, none for the host
    assert len(scan.mountinfo_by_mnt_ns) == len(exp["containers"])
    assert host["mnt"] not in scan.mountinfo_by_mnt_ns


def test_scan_daemons_have_cmdlines() -> None:
    scan = scan_host(HostFS(str(NODES / "cgroupv2-systemd-containerd")))
    kubelet = scan.processes[700]
    assert kubelet.cmdline_read
    assert "--config=/var/lib/kubelet/config.yaml" in kubelet.cmdline
    assert scan.processes[1001].cmdline[0] == "/usr/bin/containerd-shim-runc-v2"
    assert not scan.processes[880].cmdline_read  # sshd: not needed
    assert scan.processes[2].cmdline == ()  # kernel thread


def test_scan_cmdline_and_status_all() -> None:
    tree = "crio"
    exp = _expected(tree)
    scan = scan_host(HostFS(str(NODES / tree)), cmdline="all", status="all")
    for pid_text, want in exp["processes"].items():
        proc = scan.processes[int(pid_text)]
        assert proc.cmdline_read and list(proc.cmdline) == want["cmdline"]
        assert proc.uid is not None and proc.cap_eff is not None
    assert scan.processes[3202].cap_eff == 0x000001FFFFFFFFFF  # privileged
    assert scan.processes[3202].seccomp_mode == 0
    assert scan.processes[3102].seccomp_mode == 2
    assert scan.processes[3102].nspid == (3102, 1)
    assert scan.processes[3202].nspid == (3202,)  # hostPID


def test_scan_crio_conmon_is_not_a_container() -> None:
    scan = scan_host(HostFS(str(NODES / "crio")))
    conmons = [p for p in scan.processes.values() if p.comm == "conmon"]
    assert len(conmons) == 6
    assert all(p.pid not in scan.identities for p in conmons)
    assert all(p.cmdline_read and "-c" in p.cmdline for p in conmons)


def test_scan_docker_era_old_kernel_has_no_time_ns() -> None:
    scan = scan_host(HostFS(str(NODES / "docker-era")))
    assert scan.failures == []  # an absent link type is not an error
    assert all("time" not in p.namespaces for p in scan.processes.values())
    plain = scan.identities[2301]
    assert (plain.runtime, plain.pod_uid, plain.driver) == ("docker", None, "cgroupfs")


def test_scan_real_recording() -> None:
    fs = HostFS(str(NODES / "real-1.26-containerd"))
    scan = scan_host(fs)
    assert scan.failures == []
    assert len(scan.processes) == 30
    assert len(scan.identities) == 19
    qos = [i.qos for i in scan.identities.values()]
    assert (qos.count(QoS.GUARANTEED), qos.count(QoS.BURSTABLE), qos.count(QoS.BESTEFFORT)) == (
        2,
        9,
        8,
    )
    containerd = scan.processes[22467]
    assert containerd.cmdline == ("/usr/bin/containerd", "-c", "/etc/containerd/config.toml")
    hungry = scan.identities[5073]
    assert hungry.container_id.startswith("2e5d8677f102")
    assert hungry.pod_uid is not None
    # every pod there is hostNetwork: net equals containerd's
    assert all(
        scan.processes[pid].namespaces["net"] == containerd.namespaces["net"]
        for pid in scan.identities
    )
    # only the hostPID pod shop/legacy-builder (pause 4902, container 4962) shares the pid ns
    host_pid = sorted(
        pid
        for pid in scan.identities
        if scan.processes[pid].namespaces["pid"] == containerd.namespaces["pid"]
    )
    assert host_pid == [4902, 4962]
    assert {scan.identities[p].pod_uid for p in host_pid} == {scan.identities[4902].pod_uid}


# --------------------------------------------------------------------------- faults


@pytest.fixture
def tree(v2_tree: Path) -> Path:
    return v2_tree


def _replace_link_with_file(root: Path, pid: int, kind: str) -> None:
    link = root / "proc" / str(pid) / "ns" / kind
    text = os.readlink(link)
    link.unlink()
    link.write_text(text)  # readlink on a regular file: EINVAL


def test_fault_ns_link_unreadable_one_process(tree: Path) -> None:
    _replace_link_with_file(tree, 1022, "net")
    _replace_link_with_file(tree, 1022, "ipc")
    scan = scan_host(HostFS(str(tree)))
    proc = scan.processes[1022]
    assert "net" not in proc.namespaces and "ipc" not in proc.namespaces
    assert "mnt" in proc.namespaces
    assert 1022 in scan.identities  # the rest of the process is still there
    assert len(scan.failures) == 1
    f = scan.failures[0]
    assert f.kind is ErrorKind.MALFORMED
    assert f.source == "host:/proc/1022/ns/{ipc,net}"
    assert "PID 1022" in f.detail


def test_fault_ns_links_aggregated_over_many_processes(tree: Path) -> None:
    pids = sorted(int(p.name) for p in (tree / "proc").iterdir() if p.name.isdigit())
    for pid in pids:
        _replace_link_with_file(tree, pid, "net")
    scan = scan_host(HostFS(str(tree)), namespaces="all")
    assert len(scan.processes) == len(pids)
    assert len(scan.failures) == 1
    f = scan.failures[0]
    assert f.source == "host:/proc/*/ns/{net}"
    assert f"for {len(pids)} processes" in f.detail
    assert f"and {len(pids) - 5} more" in f.detail


def test_namespaces_read_only_for_the_processes_that_matter(tree: Path) -> None:
    """PID 1, container processes, runtime daemons/shims/kubelet and the caller: their links
    are read; any other process's are not (so an unreadable one is no failure either)."""
    pids = sorted(int(p.name) for p in (tree / "proc").iterdir() if p.name.isdigit())
    for pid in pids:
        _replace_link_with_file(tree, pid, "net")
    everything = scan_host(HostFS(str(tree)), namespaces="all")
    scan = scan_host(HostFS(str(tree)), namespaces_of=[pids[-1]])
    read = {pid for pid, p in scan.processes.items() if p.namespaces_read}
    skipped = set(scan.processes) - read
    assert skipped, "the fixture has processes that are neither containers nor daemons"
    for pid in skipped:
        proc = scan.processes[pid]
        assert proc.namespaces == {} and pid not in scan.identities and pid != 1
        assert proc.comm not in CMDLINE_COMMS and pid != pids[-1]
        assert everything.processes[pid].namespaces  # readable: left out by choice
    assert {1, pids[-1], *scan.identities} <= read
    for pid in read:
        assert scan.processes[pid].namespaces == everything.processes[pid].namespaces
    (f,) = scan.failures
    assert f"for {len(read)} processes" in f.detail


def test_fault_vanished_processes_are_dropped_silently(tree: Path) -> None:
    shutil.rmtree(tree / "proc" / "1222")  # listed below, gone entirely
    for name in ("stat", "cgroup", "cmdline", "status", "mountinfo"):
        (tree / "proc" / "1122" / name).unlink()  # directory left, files gone
    shutil.rmtree(tree / "proc" / "1123" / "ns")  # ns gone after stat was read
    (tree / "proc" / "1321" / "status").unlink()  # gone before status was read
    scan = scan_host(HostFS(str(tree)), pids=[1, 1122, 1123, 1222, 1321, 1322, 99999])
    assert scan.failures == []
    assert sorted(scan.processes) == [1, 1322]


def test_fault_every_ns_link_gone_but_zombie_kept(tree: Path) -> None:
    stat = tree / "proc" / "880" / "stat"
    stat.write_text(stat.read_text().replace("(sshd) S ", "(sshd) Z "))
    for link in (tree / "proc" / "880" / "ns").iterdir():
        link.unlink()
    scan = scan_host(HostFS(str(tree)), pids=[880])
    assert scan.failures == []
    assert scan.processes[880].state == "Z" and scan.processes[880].namespaces == {}


def test_fault_malformed_stat_and_cgroup(tree: Path) -> None:
    (tree / "proc" / "1022" / "stat").write_text("1022 nginx S\n")
    (tree / "proc" / "1122" / "cgroup").write_text("not a cgroup line\n")
    scan = scan_host(HostFS(str(tree)), cgroups="proc")
    assert 1022 not in scan.processes
    assert scan.processes[1122].cgroups == ()
    assert 1122 not in scan.identities
    assert {(f.source, f.kind) for f in scan.failures} == {
        ("host:/proc/1022/stat", ErrorKind.MALFORMED),
        ("host:/proc/1122/cgroup", ErrorKind.MALFORMED),
    }


def test_fault_unreadable_mountinfo_tries_next_process_of_namespace(tree: Path) -> None:
    # the two processes of the hostNetwork pod get the same mount namespace
    mnt = os.readlink(tree / "proc" / "1322" / "ns" / "mnt")
    (tree / "proc" / "1321" / "ns" / "mnt").unlink()
    os.symlink(mnt, tree / "proc" / "1321" / "ns" / "mnt")
    (tree / "proc" / "1321" / "mountinfo").write_text("garbage\n")
    scan = scan_host(HostFS(str(tree)))
    assert scan.failures == []
    assert scan.mounts_of(1321) == scan.mounts_of(1322) is not None
    (tree / "proc" / "1322" / "mountinfo").write_text("garbage\n")
    scan = scan_host(HostFS(str(tree)))
    assert [f.kind for f in scan.failures] == [ErrorKind.MALFORMED]
    assert scan.mounts_of(1322) is None


def test_no_proc_at_all(tmp_path: Path) -> None:
    from inspect8s.errors import ProbeFailed

    with pytest.raises(ProbeFailed) as exc:
        scan_host(HostFS(str(tmp_path)))
    assert exc.value.kind is ErrorKind.MISSING


# --------------------------------------------------------------------------- live


def _pid1_ns_readable() -> bool:
    try:
        os.readlink("/proc/1/ns/net")
    except PermissionError:
        return False
    return True


def test_live_scan_finds_itself() -> None:
    scan = scan_host(HostFS("/"), cmdline="all", namespaces_of=[os.getpid()])
    me = scan.processes[os.getpid()]
    assert me.ppid == os.getppid()
    raw = Path("/proc/self/cmdline").read_bytes()
    assert me.cmdline == tuple(raw.rstrip(b"\0").decode().split("\0"))
    want = {t: os.readlink(f"/proc/self/ns/{t}") for t in NAMESPACE_TYPES}
    assert {t: f"{t}:[{ino}]" for t, ino in me.namespaces.items()} == want


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["/bin/sleep", "60"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_live_default_scan_and_exited_child(child: subprocess.Popen[bytes]) -> None:
    fs = HostFS("/")
    scan = scan_host(fs, pids=[child.pid, os.getpid()])
    assert scan.processes[child.pid].ppid == os.getpid()
    assert scan.processes[child.pid].comm == "sleep"
    child.kill()
    child.wait()  # reaped: its /proc entry is gone
    scan = scan_host(fs, pids=[child.pid, os.getpid()])
    assert child.pid not in scan.processes and os.getpid() in scan.processes
    assert not any(str(child.pid) in f.source for f in scan.failures)


@pytest.mark.skipif(_pid1_ns_readable(), reason="PID 1's ns links are readable here")
def test_live_pid1_ns_links_permission_denied() -> None:
    scan: HostScan = scan_host(HostFS("/"), pids=[1, os.getpid()])
    assert scan.processes[1].namespaces == {}
    assert scan.processes[1].comm  # the rest of PID 1 is there
    perm = [f for f in scan.failures if f.kind is ErrorKind.PERMISSION]
    assert len(perm) == 1
    assert perm[0].source.startswith("host:/proc/1/ns/{")
    inodes, failures = read_namespaces(HostFS("/"), 1)
    assert inodes == {} and {f.kind for f in failures.values()} == {ErrorKind.PERMISSION}
