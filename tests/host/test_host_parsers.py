"""Pure parsers of /proc and mountinfo files: good input, and malformed input -> MALFORMED."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.mounts import parse_mountinfo, parse_mountinfo_line, unescape
from inspect8s.host.proc import (
    parse_cmdline,
    parse_ns_link,
    parse_stat,
    parse_status,
)

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "host"
SRC = "host:/proc/42/x"

TAIL = "S 1 42 42 0 -1 4194560 659 0 0 0 0 0 0 0 20 0 3 0 161135 2322432 316 0 0 0"


@pytest.mark.parametrize(
    ("line", "pid", "comm", "state", "ppid", "threads", "start"),
    [
        (f"42 (sleep) {TAIL}", 42, "sleep", "S", 1, 3, 161135),
        (f"42 (tmux: server) {TAIL}", 42, "tmux: server", "S", 1, 3, 161135),
        (f"42 (a) b) c) {TAIL}", 42, "a) b) c", "S", 1, 3, 161135),
        (f"42 ((sd-pam)) {TAIL}", 42, "(sd-pam)", "S", 1, 3, 161135),
        (f"42 () {TAIL}", 42, "", "S", 1, 3, 161135),
        (f"7 (x) Z {TAIL[2:]}\n", 7, "x", "Z", 1, 3, 161135),
    ],
)
def test_parse_stat(
    line: str, pid: int, comm: str, state: str, ppid: int, threads: int, start: int
) -> None:
    st = parse_stat(line, SRC)
    assert (st.pid, st.comm, st.state, st.ppid) == (pid, comm, state, ppid)
    assert (st.num_threads, st.start_time_ticks) == (threads, start)
    assert not st.is_kernel_thread


def test_parse_stat_recorded_shim() -> None:
    st = parse_stat((CASES / "stat-containerd-shim.txt").read_text(), SRC)
    assert (st.pid, st.comm, st.ppid, st.num_threads, st.start_time_ticks) == (
        27169,
        "containerd-shim",
        1,
        11,
        145504,
    )


def test_kernel_thread_flag() -> None:
    st = parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0", SRC)
    assert st.is_kernel_thread


@pytest.mark.parametrize(
    "text",
    [
        "",
        "42 sleep S 1",  # no parentheses
        "42 (sleep) S 1 42",  # too short
        f"x (sleep) {TAIL}",  # pid not a number
        f"42 (sleep) S one {TAIL[4:]}",  # ppid not a number
        "42 )sleep( " + TAIL,  # ')' before '('
    ],
)
def test_parse_stat_malformed(text: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_stat(text, SRC)
    assert exc.value.kind is ErrorKind.MALFORMED
    assert exc.value.source == SRC


def test_parse_status_recorded() -> None:
    st = parse_status((CASES / "status-containerd-1.6.txt").read_text(), SRC)
    assert st.name == "containerd"
    assert st.uid == 0
    assert st.cap_eff == 0x000001FFFEFFFFFF  # as recorded: CAP_SYS_RESOURCE (24) missing
    assert st.seccomp_mode == 0
    assert st.no_new_privs is False
    assert st.threads is not None and st.threads > 1
    assert st.nspid == (22467,)


def test_parse_status_container_fields() -> None:
    text = (
        "Name:\tnginx\nUid:\t101\t102\t103\t104\nNSpid:\t5073\t1\nThreads:\t4\n"
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n"
    )
    st = parse_status(text, SRC)
    assert (st.uid, st.cap_eff, st.seccomp_mode, st.no_new_privs) == (102, 0xA80425FB, 2, True)
    assert (st.threads, st.nspid) == (4, (5073, 1))


def test_parse_status_old_kernel_lacks_lines() -> None:
    st = parse_status("Name:\tx\nUid:\t0\t0\t0\t0\n", SRC)
    assert (st.seccomp_mode, st.no_new_privs, st.nspid, st.cap_eff) == (None, None, (), None)


@pytest.mark.parametrize(
    "text",
    [
        "Uid:\t0\t0\n",  # 2 values
        "CapEff:\tnothex\n",
        "Seccomp:\tfilter\n",
        "NSpid:\t12 x\n",
        "Name:\tx\nthis line has no colon\n",
    ],
)
def test_parse_status_malformed(text: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_status(text, SRC)
    assert exc.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize(
    ("raw", "argv"),
    [
        (b"", ()),
        (b"/bin/sleep\x00infinity\x00", ("/bin/sleep", "infinity")),
        (b"/bin/sh\x00-c\x00a b  c\x00", ("/bin/sh", "-c", "a b  c")),
        (b"nginx: master process\x00", ("nginx: master process",)),
        (b"sshd: root@pts/0", ("sshd: root@pts/0",)),  # rewritten argv, no NUL
        (b"x\x00\x00y\x00", ("x", "", "y")),  # an empty argument stays
        (b"\xff\xfe\x00", ("\ufffd\ufffd",)),
    ],
)
def test_parse_cmdline(raw: bytes, argv: tuple[str, ...]) -> None:
    assert parse_cmdline(raw) == argv


@pytest.mark.parametrize(
    ("text", "kind", "inode"),
    [
        ("net:[4026531840]", "net", 4026531840),
        ("pid_for_children:[4026532722]", "pid_for_children", 4026532722),
        ("cgroup:[1]", "cgroup", 1),
    ],
)
def test_parse_ns_link(text: str, kind: str, inode: int) -> None:
    assert parse_ns_link(text, SRC) == (kind, inode)


@pytest.mark.parametrize("text", ["", "net", "net:[]", "net:[12", ":[12]", "net:[x]", "/dev/null"])
def test_parse_ns_link_malformed(text: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_ns_link(text, SRC)
    assert exc.value.kind is ErrorKind.MALFORMED


# --------------------------------------------------------------------------- mountinfo


def test_unescape() -> None:
    assert unescape(r"/media/my\040disk") == "/media/my disk"
    assert unescape(r"a\011b\012c\134d") == "a\tb\nc\\d"
    assert unescape("plain") == "plain"


def test_parse_mountinfo_cases() -> None:
    mounts = parse_mountinfo((CASES / "mountinfo-escapes.txt").read_text())
    assert [m.mount_id for m in mounts] == [22, 27, 60, 61, 62, 63]
    media = mounts[2]
    assert media.mount_point == "/media/my disk"
    assert (media.fs_type, media.source, media.parent_id) == ("ext4", "/dev/vdb1", 27)
    assert media.options == ("rw", "relatime")
    odd = mounts[3]
    assert odd.root == "/sub\tdir"
    assert odd.mount_point == "/mnt/tab\there\nnl\\back"
    assert odd.source == "tmp fs"
    assert odd.read_only
    assert odd.super_options == ("rw", "size=64k")
    cg = mounts[4]
    assert (cg.fs_type, cg.mount_point, cg.major_minor) == ("cgroup2", "/sys/fs/cgroup", "0:26")
    assert mounts[5].root == "net:[4026532213]"


@pytest.mark.parametrize(
    "line",
    [
        "22 27 0:21 / /proc rw,relatime proc proc rw",  # no separator
        "22 27 0:21 / /proc rw,relatime -",  # nothing after it
        "x 27 0:21 / /proc rw - proc proc rw",  # id not a number
        "22",
    ],
)
def test_parse_mountinfo_malformed(line: str) -> None:
    with pytest.raises(ProbeFailed) as exc:
        parse_mountinfo_line(line, "host:/proc/1/mountinfo")
    assert exc.value.kind is ErrorKind.MALFORMED
    assert exc.value.source == "host:/proc/1/mountinfo"


def test_parse_mountinfo_live_self() -> None:
    mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    assert any(m.mount_point == "/" for m in mounts)
    assert any(m.mount_point == "/proc" and m.fs_type == "proc" for m in mounts)
