"""/proc/<pid>/cgroup parsing, cgroup layout detection, path resolution and limit files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.cgroups import (
    CgroupLayout,
    CgroupMount,
    detect_layout,
    parent_entries,
    parse_limit_file,
    parse_proc_cgroup,
    read_layout,
    read_limits,
    resolve_dir,
)
from inspect8s.host.fs import HostFS
from inspect8s.host.mounts import parse_mountinfo
from inspect8s.model import CgroupEntry, CgroupLimits, CgroupVersion

NODES = Path(__file__).resolve().parents[1] / "fixtures" / "nodes"
SRC = "host:/x"


# --------------------------------------------------------------------------- /proc/<pid>/cgroup


def test_parse_proc_cgroup_v1_and_v2() -> None:
    text = (
        "12:cpu,cpuacct:/kubepods/pod1/abc\n1:name=systemd:/system.slice/x.service\n"
        "0::/kubepods/pod1/abc\n"
    )
    entries = parse_proc_cgroup(text, SRC)
    assert entries == (
        CgroupEntry(12, ("cpu", "cpuacct"), "/kubepods/pod1/abc"),
        CgroupEntry(1, ("name=systemd",), "/system.slice/x.service"),
        CgroupEntry(0, (), "/kubepods/pod1/abc"),
    )


def test_parse_proc_cgroup_path_with_colon_and_cgroupns() -> None:
    entries = parse_proc_cgroup("0::/a:b/c\n", SRC)
    assert entries[0].path == "/a:b/c"
    assert parse_proc_cgroup("0::/../../..\n", SRC)[0].path == "/../../.."


@pytest.mark.parametrize(
    "text", ["", "\n", "garbage\n", "x::/\n", "0:memory\n", "4:memory:relative/path\n"]
)
def test_parse_proc_cgroup_malformed(text: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_proc_cgroup(text, SRC)
    assert exc.value.kind is ErrorKind.MALFORMED
    assert exc.value.source == SRC


# --------------------------------------------------------------------------- layout


def _layout_of(tree: str) -> CgroupLayout:
    return read_layout(HostFS(str(NODES / tree)))


def test_layout_v2() -> None:
    layout = _layout_of("cgroupv2-systemd-containerd")
    assert layout.version is CgroupVersion.V2
    assert layout.v1 == {}
    assert layout.v2 == CgroupMount("/sys/fs/cgroup", "/", 2, ())
    assert layout.mount_for("memory") == layout.v2


def test_layout_v1_with_comounted_cpu() -> None:
    layout = _layout_of("docker-era")
    assert layout.version is CgroupVersion.V1
    assert layout.v2 is None
    cpu = layout.v1["cpu"]
    assert cpu.mount_point == "/sys/fs/cgroup/cpu,cpuacct"
    assert cpu.controllers == ("cpu", "cpuacct")
    assert layout.v1["cpuacct"] is cpu
    assert layout.v1["name=systemd"].mount_point == "/sys/fs/cgroup/systemd"
    assert layout.mount_for("memory") == CgroupMount("/sys/fs/cgroup/memory", "/", 1, ("memory",))


def test_layout_hybrid_recorded() -> None:
    layout = _layout_of("real-1.26-containerd")
    assert layout.version is CgroupVersion.HYBRID
    assert layout.v2 is not None and layout.v2.mount_point == "/sys/fs/cgroup/unified"
    assert layout.mount_for("memory") == layout.v1["memory"]
    assert layout.v1["pids"].mount_point == "/sys/fs/cgroup/pids"


def test_layout_live_this_machine() -> None:
    layout = read_layout(HostFS("/"))
    text = Path("/proc/self/mountinfo").read_text()
    types = {m.fs_type for m in parse_mountinfo(text) if m.mount_point.startswith("/sys/fs/cgroup")}
    if "cgroup" in types and "cgroup2" in types:
        assert layout.version is CgroupVersion.HYBRID
    elif "cgroup2" in types:
        assert layout.version is CgroupVersion.V2
    else:
        assert layout.version is CgroupVersion.V1


def test_layout_named_v1_leftover_on_v2_is_v2() -> None:
    mounts = parse_mountinfo(
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        "40 30 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
    )
    assert detect_layout(mounts).version is CgroupVersion.V2


def test_layout_none_and_strip_prefix() -> None:
    assert detect_layout(()).version is None
    mounts = parse_mountinfo("30 23 0:26 / /host/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    layout = detect_layout(mounts, strip_prefix="/host")
    assert layout.v2 is not None and layout.v2.mount_point == "/sys/fs/cgroup"


@pytest.mark.parametrize(
    ("root", "path", "expected"),
    [
        ("/", "/kubepods/pod1/abc", "/sys/fs/cgroup/kubepods/pod1/abc"),
        ("/", "/", "/sys/fs/cgroup"),
        ("/kubepods", "/kubepods/pod1/abc", "/sys/fs/cgroup/pod1/abc"),
        ("/kubepods", "/system.slice", None),  # outside the mounted subtree
        # a reader inside a cgroup namespace: its paths and the mount root are relative
        ("/..", "/../kubepods/pod1", "/sys/fs/cgroup/kubepods/pod1"),
        ("/", "/../../x", None),  # above what the mount shows
        ("/", "/a/./b/../c", "/sys/fs/cgroup/a/c"),
    ],
)
def test_resolve_dir(root: str, path: str, expected: str | None) -> None:
    assert resolve_dir(CgroupMount("/sys/fs/cgroup", root, 2, ()), path) == expected


def test_parent_entries() -> None:
    path = "/kubepods/burstable/pod1/abc"
    entries = (
        CgroupEntry(3, ("memory",), path),
        CgroupEntry(2, ("cpu", "cpuacct"), path),
        CgroupEntry(4, ("pids",), path),
    )
    assert [e.path for e in parent_entries(entries)] == ["/kubepods/burstable/pod1"] * 3
    assert parent_entries((CgroupEntry(0, (), "/a"),))[0].path == "/"


# --------------------------------------------------------------------------- limit files

LIMIT_CASES: list[tuple[int, str, str, dict[str, int | None]]] = [
    (1, "memory.limit_in_bytes", "134217728\n", {"memory_max_bytes": 134217728}),
    (1, "memory.limit_in_bytes", "9223372036854771712\n", {"memory_max_bytes": None}),
    (1, "memory.limit_in_bytes", "9223372036854710272\n", {"memory_max_bytes": None}),  # 64K
    (1, "memory.usage_in_bytes", "225280\n", {"memory_usage_bytes": 225280}),
    (1, "memory.failcnt", "1289\n", {"memory_failcnt": 1289}),
    (
        1,
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        {"memory_oom_kills": 1},
    ),
    (1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n", {"memory_oom_kills": None}),
    (1, "cpu.cfs_quota_us", "-1\n", {"cpu_quota_us": None}),
    (1, "cpu.cfs_quota_us", "25000\n", {"cpu_quota_us": 25000}),
    (1, "cpu.cfs_period_us", "100000\n", {"cpu_period_us": 100000}),
    (1, "cpu.shares", "1024\n", {"cpu_shares": 1024}),
    (
        1,
        "cpu.stat",
        "nr_periods 12\nnr_throttled 3\nthrottled_time 4500000\n",
        {"cpu_nr_periods": 12, "cpu_nr_throttled": 3, "cpu_throttled_usec": 4500},
    ),
    (1, "pids.max", "max\n", {"pids_max": None}),
    (1, "pids.max", "4096\n", {"pids_max": 4096}),
    (1, "pids.current", "7\n", {"pids_current": 7}),
    (2, "memory.max", "max\n", {"memory_max_bytes": None}),
    (2, "memory.max", "268435456\n", {"memory_max_bytes": 268435456}),
    (2, "memory.current", "8192\n", {"memory_usage_bytes": 8192}),
    (
        2,
        "memory.events",
        "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n",
        {"memory_oom_kills": 2},
    ),
    (2, "cpu.max", "max 100000\n", {"cpu_quota_us": None, "cpu_period_us": 100000}),
    (2, "cpu.max", "50000 100000\n", {"cpu_quota_us": 50000, "cpu_period_us": 100000}),
    (2, "cpu.weight", "79\n", {"cpu_weight": 79}),
    (
        2,
        "cpu.stat",
        "usage_usec 10\nuser_usec 5\nsystem_usec 5\nnr_periods 4\nnr_throttled 1\n"
        "throttled_usec 900\n",
        {"cpu_nr_periods": 4, "cpu_nr_throttled": 1, "cpu_throttled_usec": 900},
    ),
    (
        2,
        "cpu.stat",  # cpu controller not enabled: usage only
        "usage_usec 10\nuser_usec 5\nsystem_usec 5\n",
        {"cpu_nr_periods": None, "cpu_nr_throttled": None, "cpu_throttled_usec": None},
    ),
    (2, "pids.max", "max\n", {"pids_max": None}),
    (2, "pids.current", "3\n", {"pids_current": 3}),
]


@pytest.mark.parametrize(("version", "name", "text", "expected"), LIMIT_CASES)
def test_parse_limit_file(
    version: int, name: str, text: str, expected: dict[str, int | None]
) -> None:
    assert parse_limit_file(version, name, text, SRC) == expected


@pytest.mark.parametrize(
    ("version", "name", "text"),
    [
        (1, "memory.limit_in_bytes", ""),
        (1, "memory.limit_in_bytes", "max\n"),  # v1 has no "max"
        (1, "memory.limit_in_bytes", "1 2\n"),
        (1, "cpu.cfs_quota_us", "lots\n"),
        (1, "memory.oom_control", "oom_kill\n"),
        (1, "cpu.stat", "nr_periods x\n"),
        (2, "memory.max", "unlimited\n"),
        (2, "cpu.max", "50000\n"),
        (2, "cpu.max", "max max\n"),
        (2, "memory.events", "oom_kill 1 2\n"),
        (2, "pids.max", "\n"),
        (2, "pids.current", "-\n"),
    ],
)
def test_parse_limit_file_malformed(version: int, name: str, text: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_limit_file(version, name, text, SRC)
    assert exc.value.kind is ErrorKind.MALFORMED
    assert exc.value.source == SRC


def test_parse_limit_file_unknown_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_limit_file(2, "memory.limit_in_bytes", "1", SRC)


# --------------------------------------------------------------------------- read_limits


def _entries_v2(path: str) -> tuple[CgroupEntry, ...]:
    return (CgroupEntry(0, (), path),)


API = (
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod8a1c2d3e_4f5a_4b6c_9d7e_8f9a0b1c2d3e.slice"
)


def _scope(tree: str, pid: int) -> str:
    return (NODES / tree / "proc" / str(pid) / "cgroup").read_text().strip().split("::", 1)[1]


def test_read_limits_v2_tree() -> None:
    fs = HostFS(str(NODES / "cgroupv2-systemd-containerd"))
    layout = read_layout(fs)
    limits, failures = read_limits(fs, layout, _entries_v2(_scope(fs.root, 1122)))
    assert failures == []
    assert limits == CgroupLimits(
        memory_max_bytes=536870912,
        memory_usage_bytes=301 << 20,
        memory_oom_kills=2,
        cpu_quota_us=None,
        cpu_period_us=100000,
        cpu_weight=10,
        cpu_nr_periods=0,
        cpu_nr_throttled=0,
        cpu_throttled_usec=0,
        pids_max=None,
        pids_current=1,
    )


def test_read_limits_v1_recorded_oom() -> None:
    """The recorded `hungry` container: 48Mi limit and one kernel OOM kill."""
    fs = HostFS(str(NODES / "real-1.26-containerd"))
    layout = read_layout(fs)
    entries = parse_proc_cgroup((NODES / "real-1.26-containerd/proc/5073/cgroup").read_text(), SRC)
    limits, failures = read_limits(fs, layout, entries)
    assert failures == []
    assert limits.memory_max_bytes == 50331648
    assert limits.memory_oom_kills == 1
    assert limits.memory_failcnt == 0  # as recorded: the container cgroup's own counter
    assert limits.cpu_quota_us is None and limits.cpu_shares == 2
    assert limits.cpu_weight is None
    pod, failures = read_limits(fs, layout, parent_entries(entries))
    assert failures == []
    assert pod.memory_max_bytes == 50331648
    assert pod.memory_failcnt is not None and pod.memory_failcnt > 1000


def test_read_limits_v1_guaranteed_cpu_limit() -> None:
    fs = HostFS(str(NODES / "docker-era"))
    layout = read_layout(fs)
    entries = parse_proc_cgroup((NODES / "docker-era/proc/2002/cgroup").read_text(), SRC)
    limits, failures = read_limits(fs, layout, entries)
    assert failures == []
    assert (limits.memory_max_bytes, limits.cpu_quota_us, limits.cpu_period_us) == (
        209715200,
        30000,
        100000,
    )
    assert limits.cpu_limit_millicores == 300
    assert limits.cpu_shares == 307


def test_read_limits_missing_and_malformed_files(tmp_path: Path) -> None:
    root = tmp_path / "node"
    shutil.copytree(NODES / "cgroupv2-systemd-containerd", root, symlinks=True)
    fs = HostFS(str(root))
    scope = _scope(str(root), 1022)
    d = root / ("sys/fs/cgroup" + scope.lstrip())
    (d / "memory.max").unlink()
    (d / "cpu.max").write_text("fifty 100000\n")
    limits, failures = read_limits(fs, read_layout(fs), _entries_v2(scope))
    by_source = {f.source: f.kind for f in failures}
    assert by_source == {
        f"host:/sys/fs/cgroup{scope}/memory.max": ErrorKind.MISSING,
        f"host:/sys/fs/cgroup{scope}/cpu.max": ErrorKind.MALFORMED,
    }
    # the other files are still read
    assert limits.memory_max_bytes is None and limits.cpu_quota_us is None
    assert limits.memory_usage_bytes == 31 << 20
    assert limits.cpu_weight == 20
    assert limits.cpu_nr_throttled == 37


def test_read_limits_unresolvable_cgroup() -> None:
    fs = HostFS(str(NODES / "cgroupv2-systemd-containerd"))
    limits, failures = read_limits(fs, read_layout(fs), _entries_v2("/../../.."))
    assert limits == CgroupLimits()
    assert len(failures) == 3
    assert {f.kind for f in failures} == {ErrorKind.MISSING}


def test_read_limits_pod_level() -> None:
    fs = HostFS(str(NODES / "cgroupv2-systemd-containerd"))
    scope = _scope(fs.root, 1022)
    limits, failures = read_limits(fs, read_layout(fs), parent_entries(_entries_v2(scope)))
    assert failures == []
    assert (limits.memory_max_bytes, limits.cpu_quota_us) == (268435456, 50000)
