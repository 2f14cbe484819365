"""Reads stay inside ``--root`` and inside a bundle: links in a tree from another machine
(absolute, relative ``..``, paths named by files in the tree, sockets) never make inspect8s
read or connect to this machine. Checked three ways: the marker of ``outside`` appears in no
output and no bundle file, strace shows no opened path and no connected socket outside the
allowed places, and no connection reaches a socket listening outside the root."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspect8s.errors import ErrorKind, ProbeFailed
from inspect8s.host.fs import HostFS
from tests.hostile.conftest import REPO, Outside, one_line, run_here, traced, tree_files

FIXTURE_HOST = REPO / "tests/fixtures/audit/containerd-2.1-v2-removed-keys/host"
KUBELET_PID = 700
RESOLVERS = [pytest.param(None, id="openat2"), pytest.param(False, id="walk")]


class Listener:
    """A unix socket that counts the connections it accepts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.accepted = 0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            if self._stop.is_set():  # close()'s own connection, made to end the wait
                conn.close()
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
            try:
                wake.connect(str(self.path))  # ends a wait in accept() at once
            except OSError:
                pass
            self._thread.join()
        self._sock.close()


@pytest.fixture
def listener(outside: Outside) -> Iterator[Listener]:
    server = Listener(outside.path / "containerd.sock")
    yield server
    server.close()


def _up(path: Path) -> str:
    """A relative link from ``path``'s directory that climbs far past any root."""
    return "../" * (len(path.parts) + 4)


def hostile_tree(tmp_path: Path, outside: Outside) -> Path:
    """The containerd fixture node with every kind of link out of it."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_HOST, root, symlinks=True)
    out = str(outside.path)
    etc = root / "etc"
    (etc / "os-release").unlink()
    (etc / "os-release").symlink_to(f"{out}/os-release")  # absolute link
    (etc / "hostname").unlink()
    (etc / "hostname").symlink_to(_up(etc) + out.lstrip("/") + "/hostname")  # relative ..
    shutil.rmtree(etc / "containerd")
    (etc / "containerd").symlink_to(f"{out}/containerd")  # a directory link
    drop_ins = etc / "systemd/system/kubelet.service.d"
    (drop_ins / "20-evil.conf").symlink_to(f"{out}/evil.conf")
    # A path named by a file in the tree: the kubelet's --config climbs out lexically.
    cmdline = root / f"proc/{KUBELET_PID}/cmdline"
    args = cmdline.read_bytes().split(b"\0")
    args = [b"--config=/../../../../../../.." + out.encode() + b"/kubelet.yaml"
            if a.startswith(b"--config=") else a for a in args]  # fmt: skip
    cmdline.write_bytes(b"\0".join(args))
    # The same in the kubelet's unit (read when the process is not there or says less).
    unit = drop_ins / "10-kubeadm.conf"
    unit.write_text(unit.read_text().replace(
        "--config=/var/lib/kubelet/config.yaml",
        "--config=/../../../../../../.." + out + "/kubelet.yaml",
    ))  # fmt: skip
    sock = root / "run/containerd/containerd.sock"
    sock.unlink()
    sock.symlink_to(f"{out}/containerd.sock")  # a socket link out of the root
    return root


# Places a Python process may open that are not the host being inspected: the interpreter,
# its libraries and their compiled modules (PYTHONPYCACHEPREFIX, tests/conftest.py), the
# code under test, a few libc files.
_PROCESS_PLACES = (
    str(REPO), sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix),
    os.path.realpath(sys.base_prefix), "/usr/lib", "/lib", "/usr/lib64", "/lib64",
    "/usr/share/zoneinfo", "/usr/share/locale",
    *([os.environ["PYTHONPYCACHEPREFIX"]] if os.environ.get("PYTHONPYCACHEPREFIX") else []),
)  # fmt: skip
_PROCESS_FILES = (
    "/etc/ld.so.cache", "/etc/locale.alias", "/etc/localtime", "/dev/null", "/dev/urandom",
    # gRPC, loaded for the runtime clients: OpenSSL's configuration, its thread count and
    # its allocator's look at the kernel's overcommit policy (nothing inspect8s reports).
    "/etc/ssl/openssl.cnf", "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/possible",
    "/proc/sys/vm/overcommit_memory",
)  # fmt: skip


def _allowed(path: str, roots: list[str]) -> bool:
    if path in _PROCESS_FILES or path.startswith(("pipe:", "socket:", "anon_inode:")):
        return True
    return any(path == p or path.startswith(p.rstrip("/") + "/")
               for p in (*roots, *_PROCESS_PLACES))  # fmt: skip


def _outside_opens(trace_opened: tuple[str, ...], roots: list[str]) -> list[str]:
    return sorted({p for p in trace_opened if not _allowed(p, roots)})


# --------------------------------------------------------------------------- HostFS


@pytest.mark.parametrize("use_openat2", RESOLVERS)
def test_hostfs_keeps_every_link_inside_the_root(
    tmp_path: Path, outside: Outside, use_openat2: bool | None
) -> None:
    root = tmp_path / "r"
    (root / "etc").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text("ID=inside\n")
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")  # a normal relative link
    (root / "etc/abs").symlink_to("/usr/lib/os-release")  # absolute: from the root
    (root / "etc/out-abs").symlink_to(f"{outside.path}/os-release")
    (root / "etc/out-rel").symlink_to(_up(root / "etc") + f"{outside.path}/os-release"[1:])
    (root / "etc/loop").symlink_to("/etc/loop")
    (root / "etc/dir").symlink_to(str(outside.path))
    (root / "var").symlink_to("/")  # /var/etc/os-release is /etc/os-release of the root
    fs = HostFS(str(root), use_openat2=use_openat2)
    assert fs.confinement == ("walk" if use_openat2 is False else "openat2")
    assert fs.read_text("/etc/os-release") == "ID=inside\n"
    assert fs.read_text("/etc/abs") == "ID=inside\n"
    assert fs.read_text("/var/etc/os-release") == "ID=inside\n"
    assert fs.read_text("/../../../usr/lib/os-release") == "ID=inside\n"
    assert fs.read_text("/etc/../../../../usr/lib/./os-release") == "ID=inside\n"
    for path in ("/etc/out-abs", "/etc/out-rel", "/etc/dir/os-release", "/etc/dir/hostname"):
        with pytest.raises(ProbeFailed) as failed:
            fs.read_text(path)
        assert failed.value.kind is ErrorKind.MISSING, path
    with pytest.raises(ProbeFailed) as looped:
        fs.read_text("/etc/loop")
    assert looped.value.kind is ErrorKind.MALFORMED
    assert fs.readlink("/etc/out-abs") == f"{outside.path}/os-release"  # read, not followed
    assert fs.exists("/etc/out-abs") and not fs.is_file("/etc/out-abs")
    assert not fs.is_dir("/etc/dir") and fs.glob_dir("/etc/dir") == []
    assert set(fs.listdir("/var")) == set(os.listdir(root))
    assert fs.resolve("/var/etc/os-release") == f"{root}/usr/lib/os-release"
    for path in ("/etc/out-abs", "/etc/dir/os-release"):
        with pytest.raises(ProbeFailed):
            fs.resolve(path)  # the links' targets have no parent directory in the root


@pytest.mark.parametrize("use_openat2", RESOLVERS)
def test_proc_reads_resolve_links_inside_the_root(
    tmp_path: Path, outside: Outside, use_openat2: bool | None
) -> None:
    root = tmp_path / "r"
    proc = root / "proc/42"
    (proc / "ns").mkdir(parents=True)
    (proc / "stat").write_text("42 (x) S 1\n")
    (proc / "cgroup").symlink_to(f"{outside.path}/hostname")  # out: missing inside
    (proc / "status").symlink_to("/proc/42/stat")  # in: read through the link
    (proc / "ns/net").symlink_to("net:[4026531840]")
    fs = HostFS(str(root), use_openat2=use_openat2)
    assert fs.read_proc_quick("/proc/42", ["stat", "cgroup"], "ns", ["net"]) is None
    contents, targets, failures = fs.read_proc_dir("/proc/42", ["stat", "status", "cgroup"],
                                                   "ns", ["net"])  # fmt: skip
    assert contents == {"stat": b"42 (x) S 1\n", "status": b"42 (x) S 1\n"}
    assert targets == {"net": "net:[4026531840]"}
    assert failures["cgroup"].kind is ErrorKind.MISSING
    many, failed = fs.read_many("/proc/42", ["cgroup", "status"])
    assert many == {"status": b"42 (x) S 1\n"} and set(failed) == {"cgroup"}


@pytest.mark.parametrize("use_openat2", RESOLVERS)
def test_sockets_are_asked_only_inside_the_root(
    tmp_path: Path, listener: Listener, use_openat2: bool | None
) -> None:
    root = tmp_path / "r"
    (root / "run/containerd").mkdir(parents=True)
    (root / "var").mkdir()
    (root / "var/run").symlink_to("/run")
    (root / "run/containerd/containerd.sock").symlink_to(str(listener.path))
    own = root / "run/own.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(own))
    try:
        fs = HostFS(str(root), use_openat2=use_openat2)
        with pytest.raises(ProbeFailed) as failed:
            fs.socket_path("/var/run/containerd/containerd.sock")
        assert failed.value.kind is ErrorKind.MISSING
        assert fs.socket_kind("/run/containerd/containerd.sock") is None
        # The root's own socket, also through a link inside the root, is asked.
        assert fs.socket_path("/var/run/own.sock") == str(own)
        assert fs.socket_kind("/var/run/own.sock") == "socket"
    finally:
        server.close()
    assert listener.accepted == 0


def test_live_root_follows_this_machines_links(tmp_path: Path) -> None:
    """Under ``/`` (a node, or ``--root /host`` mounted from the node) links are the
    host's own and are followed as the kernel follows them."""
    target = tmp_path / "real.txt"
    target.write_text("here\n")
    (tmp_path / "link").symlink_to(target)
    fs = HostFS("/")
    assert fs.confinement == "none"
    assert fs.read_text(str(tmp_path / "link")) == "here\n"


# --------------------------------------------------------------------------- the CLI


def test_node_and_audit_on_a_hostile_root_read_nothing_outside(
    tmp_path: Path, outside: Outside, listener: Listener
) -> None:
    root = hostile_tree(tmp_path, outside)
    for args in (["node", "--root", str(root)], ["node", "--root", str(root), "-o", "json"],
                 ["audit", "--root", str(root), "-o", "json"]):  # fmt: skip
        proc = run_here(*args)
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert not outside.leaks(proc.stdout, proc.stderr), args
    doc = json.loads(run_here("node", "--root", str(root), "-o", "json").stdout)
    assert doc["node"]["os_release"] is None and doc["node"]["hostname"] != outside.marker
    assert listener.accepted == 0


@pytest.mark.parametrize("kubelet", ["running", "stopped"])
def test_opened_paths_stay_in_the_root(
    tmp_path: Path, outside: Outside, listener: Listener, strace: None, kubelet: str
) -> None:
    root = hostile_tree(tmp_path, outside)
    if kubelet == "stopped":  # its unit names the config file: --config=/../../…
        shutil.rmtree(root / f"proc/{KUBELET_PID}")
    result = traced(["audit", "--root", str(root), "-o", "json"], tmp_path / "strace.log")
    assert result.proc.returncode in (0, 1, 3), result.proc.stderr
    assert result.opened, "strace saw no open at all"
    assert any(p.startswith(str(root)) for p in result.opened)
    assert _outside_opens(result.opened, [str(root)]) == []
    assert not any(p.startswith(str(outside.path)) for p in result.opened)
    assert not any(p.startswith(str(outside.path)) for p in result.connected)
    assert listener.accepted == 0


def test_record_of_a_hostile_root_copies_nothing_from_outside(
    tmp_path: Path, outside: Outside, listener: Listener, strace: None
) -> None:
    root = hostile_tree(tmp_path, outside)
    bundle = tmp_path / "bundle"
    result = traced(["record", str(bundle), "--root", str(root)], tmp_path / "strace.log")
    assert result.proc.returncode == 0, result.proc.stderr
    files = tree_files(bundle)
    assert files and not outside.leaks(*files.values(), result.proc.stderr)
    # Written where it belongs and opened nothing outside (the bundle is an allowed place).
    assert _outside_opens(result.opened, [str(root), str(bundle)]) == []
    for link in bundle.rglob("*"):
        if link.is_symlink():  # links are kept as links (data), never followed into
            assert not (bundle / "host" / os.readlink(link).lstrip("/")).is_relative_to(
                outside.path
            )
    replay = run_here("audit", "--from", str(bundle), "-o", "json")
    assert replay.returncode in (0, 1, 3), replay.stderr
    assert not outside.leaks(replay.stdout, replay.stderr)
    assert listener.accepted == 0


def crafted_bundle(tmp_path: Path, outside: Outside) -> Path:
    """A bundle from "another machine" whose files are links out of it."""
    bundle = tmp_path / "crafted"
    record = run_here("record", str(bundle), "--root", str(FIXTURE_HOST))
    assert record.returncode == 0, record.stderr
    host = bundle / "host"
    for name, target in (("etc/os-release", f"{outside.path}/os-release"),
                         ("etc/hostname", _up(host / "etc") + f"{outside.path}/hostname"[1:]),
                         ("etc/containerd", str(outside.path / "containerd"))):  # fmt: skip
        path = host / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        path.symlink_to(target)
    runtime = bundle / "runtime/docker.json"
    runtime.unlink()
    runtime.symlink_to(outside.path / "docker.json")
    (outside.path / "docker.json").write_text(json.dumps({"/x": {"marker": outside.marker}}))
    return bundle


def test_replay_of_a_crafted_bundle_follows_no_link_out(
    tmp_path: Path, outside: Outside, strace: None
) -> None:
    bundle = crafted_bundle(tmp_path, outside)
    for args in (["audit", "--from", str(bundle), "-o", "json"],
                 ["audit", "--from", str(bundle)]):  # fmt: skip
        result = traced(args, tmp_path / "strace.log")
        assert result.proc.returncode in (0, 1, 3), result.proc.stderr
        assert not outside.leaks(result.proc.stdout, result.proc.stderr)
        assert _outside_opens(result.opened, [str(bundle)]) == []


def test_a_bundle_whose_host_is_a_link_is_refused(tmp_path: Path, outside: Outside) -> None:
    bundle = crafted_bundle(tmp_path, outside)
    shutil.rmtree(bundle / "host")
    (bundle / "host").symlink_to("/")
    proc = run_here("audit", "--from", str(bundle))
    assert proc.returncode == 2
    assert "host is not a directory of the bundle" in one_line(proc.stderr)


def test_a_bundle_manifest_that_is_a_link_out_is_not_read(tmp_path: Path, outside: Outside) -> None:
    bundle = crafted_bundle(tmp_path, outside)
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["hostname"] = outside.marker
    (outside.path / "bundle.json").write_text(json.dumps(manifest))
    (bundle / "bundle.json").unlink()
    (bundle / "bundle.json").symlink_to(outside.path / "bundle.json")
    proc = run_here("audit", "--from", str(bundle), "-o", "json")
    assert proc.returncode == 2
    assert "not a bundle" in one_line(proc.stderr)
    assert not outside.leaks(proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- /proc/<pid>/root


@pytest.fixture
def private_mount_process(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A process in its own mount namespace with a tmpfs only it sees: (pid, mount point)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (util-linux) for a private mount namespace")
    point = tmp_path / "private"
    point.mkdir()
    script = (
        f"mount -t tmpfs none {point} && echo seen-only-inside > {point}/file && "
        f"ln -s /etc/hostname {point}/abs && echo ready && exec sleep 60"
    )
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        pytest.skip("could not make a private mount namespace here")
    try:
        yield proc.pid, str(point)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("use_openat2", RESOLVERS)
def test_a_process_root_of_a_real_procfs_is_read_inside_that_root(
    private_mount_process: tuple[int, str], use_openat2: bool | None
) -> None:
    """``--root /host`` with the host's /proc: ``/proc/<pid>/root/...`` is the process's own
    view (a daemon in a private mount namespace), resolved inside that view."""
    pid, point = private_mount_process
    assert not os.path.exists(f"{point}/file")  # not in this mount namespace
    fs = HostFS("/proc/self/root", use_openat2=use_openat2)  # a root that is not "/"
    assert fs.read_text(f"/proc/{pid}/root{point}/file") == "seen-only-inside\n"
    assert fs.readlink(f"/proc/{pid}/root{point}/abs") == "/etc/hostname"
    # An absolute link there stays inside the process's root (here it shares /etc).
    assert fs.read_text(f"/proc/{pid}/root{point}/abs") == Path("/etc/hostname").read_text()
    assert (
        fs.resolve(f"/proc/{pid}/root{point}/abs")
        == f"/proc/self/root/proc/{pid}/root/etc/hostname"
    )


def test_a_process_root_in_a_fixture_tree_is_a_plain_link(tmp_path: Path, outside: Outside) -> None:
    """In a tree that is not a procfs, ``/proc/<pid>/root`` is an ordinary link: resolved
    inside the tree's root like any other."""
    root = tmp_path / "r"
    (root / "proc/7").mkdir(parents=True)
    (root / "proc/7/root").symlink_to("/")
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("tree\n")
    (root / "proc/8").mkdir()
    (root / "proc/8/root").symlink_to(str(outside.path))
    fs = HostFS(str(root))
    assert fs.read_text("/proc/7/root/etc/hostname") == "tree\n"
    with pytest.raises(ProbeFailed):
        fs.read_text("/proc/8/root/hostname")


def test_a_process_executable_of_a_real_procfs_is_read_and_a_tree_link_stays_inside(
    tmp_path: Path, outside: Outside
) -> None:
    """``/proc/<pid>/exe`` of a real procfs under the root opens the process's binary (the
    kubelet's build stamp is read there); in a tree it is a link resolved inside it."""
    fs = HostFS("/proc/self/root")
    head = next(fs.iter_chunks(f"/proc/{os.getpid()}/exe", chunk=4))
    assert head == b"\x7fELF"
    root = tmp_path / "r"
    (root / "proc/9").mkdir(parents=True)
    (root / "proc/9/exe").symlink_to(f"{outside.path}/hostname")
    with pytest.raises(ProbeFailed):
        next(HostFS(str(root)).iter_chunks("/proc/9/exe"))
