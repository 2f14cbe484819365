"""The pure parts of the chain: CRI-O's handler tables, each runtime's host-namespace rule,
the cgroup line a process is named by, shims caught between two moments, OCI state roots,
cri-dockerd's own version; and a VM handler on the real CRI-O recording."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inspect8s.collect.daemonversion import cri_dockerd_version
from inspect8s.collect.discover import find_shims
from inspect8s.collect.errors import Errors
from inspect8s.collect.origin import cgroup_line
from inspect8s.host.fs import HostFS
from inspect8s.model import CgroupEntry, ProcessInfo, RuntimeDaemon
from inspect8s.model.nsrules import host_namespace_rule
from inspect8s.nodeconfig.crio import merge_crio_files, parse_crio_file, resolve_handler
from inspect8s.runtime import ocistate
from tests.clirun import cli

BUNDLE = Path("tests/fixtures/bundles/real-crio-1.28")


def _crio(*files: tuple[str, str]) -> object:
    return merge_crio_files([parse_crio_file(text, path) for path, text in files])


MAIN = '[crio.runtime]\ndefault_runtime = "runc"\nconmon = "/usr/libexec/crio/conmon"\n'
RUNC = '[crio.runtime.runtimes.runc]\nruntime_path = "/usr/sbin/runc"\nruntime_root = "/run/r"\n'
KATA = '[crio.runtime.runtimes.kata]\nruntime_path = "/usr/bin/containerd-shim-kata-v2"\n'
KATA += 'runtime_type = "vm"\n'


def test_the_default_handler_is_default_runtimes_table() -> None:
    config = _crio(("/etc/crio/crio.conf", MAIN), ("/etc/crio/crio.conf.d/10.conf", RUNC))
    handler = resolve_handler(config, "", "1.28.11")  # type: ignore[arg-type]
    assert (handler.name, handler.resolved_by) == (
        "runc",
        "default_runtime (/etc/crio/crio.conf:2)",
    )
    assert (handler.runtime_path, handler.runtime_type, handler.runtime_root) == (
        "/usr/sbin/runc", "oci", "/run/r",
    )  # fmt: skip
    # no monitor_path in the table: [crio.runtime] conmon
    assert handler.monitor_path == "/usr/libexec/crio/conmon"
    assert handler.defined_at == "/etc/crio/crio.conf.d/10.conf:1"


@pytest.mark.parametrize(("version", "name"), [("1.28.11", "runc"), ("1.30.4", "runc"),
                                               ("1.31.0", "crun"), (None, "runc")])  # fmt: skip
def test_without_default_runtime_the_version_decides(version: str | None, name: str) -> None:
    config = _crio(("/etc/crio/crio.conf", "[crio.runtime]\nlog_level = 'info'\n"))
    handler = resolve_handler(config, "", version)  # type: ignore[arg-type]
    assert handler.name == name and handler.defined_at is None
    assert handler.runtime_path is None and handler.runtime_type == "oci"
    assert handler.resolved_by is not None and "default handler" in handler.resolved_by


def test_a_named_vm_handler() -> None:
    config = _crio(("/etc/crio/crio.conf", MAIN + "\n" + KATA))
    handler = resolve_handler(config, "kata", "1.28.11")  # type: ignore[arg-type]
    assert (handler.name, handler.resolved_by, handler.runtime_type) == ("kata", None, "vm")
    assert handler.runtime_path == "/usr/bin/containerd-shim-kata-v2"


def test_a_vm_handler_on_the_real_recording(tmp_path: Path) -> None:
    """The same pods with the default handler made a VM one: no OCI state is looked for on
    the host, and the link says why."""
    bundle = tmp_path / "b"
    shutil.copytree(BUNDLE, bundle, symlinks=True)
    conf = bundle / "host/etc/crio/crio.conf.d/20-runc.conf"
    conf.write_text(conf.read_text().replace('runtime_type = "oci"', 'runtime_type = "vm"'))
    result = cli("pod", "web", "-n", "shop", "--trace-runtime", "--from", str(bundle), "-o", "json")
    assert result.returncode == 0, result.stderr
    (web,) = result.json()["containers"]
    links = {x["name"]: x for x in web["links"]}
    assert links["handler"]["values"]["runtime_type"] == "vm"
    oci = links["oci-runtime"]
    assert oci["missing"] is not None and "runtime_type vm" in oci["missing"]
    assert oci["values"]["binary"] == "/usr/sbin/runc"


@pytest.mark.parametrize(
    ("runtime", "network", "expected", "optional"),
    [
        ("containerd", True, {"net", "uts"}, set()),
        ("crio", True, {"net"}, set()),
        ("cri-dockerd", True, {"net", "uts"}, set()),
        ("docker", True, {"net", "uts"}, set()),
        ("kata-something", True, {"net"}, {"uts"}),
        ("crio", False, set(), set()),
    ],
)
def test_host_namespace_rules(
    runtime: str, network: bool, expected: set[str], optional: set[str]
) -> None:
    rule = host_namespace_rule(runtime)
    assert rule.expected(network, False, False) == expected
    assert rule.optional(network) == optional
    assert rule.expected(False, True, True) == {"pid", "ipc"}


def _proc(pid: int, cgroups: tuple[CgroupEntry, ...] = (), **kw: object) -> ProcessInfo:
    base: dict[str, object] = {
        "pid": pid, "ppid": 1, "comm": "x", "cmdline": (), "state": "S",
        "start_time_ticks": pid, "namespaces": {}, "cgroups": cgroups,
    }  # fmt: skip
    base.update(kw)
    return ProcessInfo(**base)  # type: ignore[arg-type]


CONMON = "/k8snode/kubepods/burstable/podu/crio-conmon-abc"


def test_the_cgroup_line_of_a_process_on_v1_hybrid_and_v2() -> None:
    hybrid = (
        CgroupEntry(9, ("name=systemd",), "/"),
        CgroupEntry(4, ("memory",), CONMON),
        CgroupEntry(1, ("cpu",), CONMON),
        CgroupEntry(0, (), "/"),
    )
    assert cgroup_line(_proc(1, hybrid)) == (CONMON, "memory")
    v1 = (CgroupEntry(3, ("name=systemd",), "/"), CgroupEntry(2, ("cpu", "cpuacct"), CONMON))
    assert cgroup_line(_proc(1, v1)) == (CONMON, "cpu")
    v2 = (CgroupEntry(0, (), "/kubepods.slice/crio-conmon-abc.scope"),)
    assert cgroup_line(_proc(1, v2)) == ("/kubepods.slice/crio-conmon-abc.scope", "unified")
    assert cgroup_line(_proc(1)) == ("unknown", "")


def test_shims_between_two_moments_are_left_out() -> None:
    shim = "/usr/bin/containerd-shim-runc-v2"
    procs = {
        10: _proc(10, cmdline=(shim, "-namespace", "moby", "-id", "a" * 64, "-address", "/s")),
        11: _proc(11, ppid=10),
        # the short-lived `start` that forks the long-lived shim, and a `delete`
        12: _proc(12, cmdline=(shim, "-namespace", "moby", "-id", "b" * 64, "start")),
        13: _proc(13, cmdline=(shim, "-namespace", "k8s.io", "-id", "c" * 64, "delete")),
        # exiting: no command line, comm cut to 15 characters, no child
        14: _proc(14, comm="containerd-shim", state="Z"),
        15: _proc(15, comm="containerd-shim"),
    }
    shims = find_shims(procs)
    assert [(s.pid, s.namespace, s.id) for s in shims] == [(10, "moby", "a" * 64)]
    assert shims[0].child_pids == (11,)


def test_crun_state_under_a_given_root(tmp_path: Path) -> None:
    state = tmp_path / "run/crio/crun/abc"
    state.mkdir(parents=True)
    (state / "status").write_text(json.dumps({"pid": 42, "bundle": "/b", "cgroup-path": "/c"}))
    found = ocistate.find_state(HostFS(str(tmp_path)), "abc", None, ["/run/crio/crun"])
    assert (found.runtime, found.init_pid, found.state_path) == (
        "crun",
        42,
        "/run/crio/crun/abc/status",
    )


def test_cri_dockerd_version_from_the_package_then_the_binary(tmp_path: Path) -> None:
    daemon = RuntimeDaemon("cri-dockerd", 77, None, cmdline=("/usr/local/bin/cri-dockerd",))
    fs = HostFS(str(tmp_path))
    assert cri_dockerd_version(fs, fs, daemon, Errors()) is None
    binary = tmp_path / "usr/local/bin/cri-dockerd"
    binary.parent.mkdir(parents=True)
    stamp = b'build\t-ldflags="-X github.com/Mirantis/cri-dockerd/version.Version=0.3.15 -X x"'
    binary.write_bytes(b"\x7fELF" + b"\0" * 9000 + stamp + b"\0" * 100)
    assert cri_dockerd_version(fs, fs, daemon, Errors()) == (
        "0.3.15", "host:/usr/local/bin/cri-dockerd (build stamp)",
    )  # fmt: skip
    dpkg = tmp_path / "var/lib/dpkg/status"
    dpkg.parent.mkdir(parents=True)
    package = "Package: cri-dockerd\nStatus: install ok installed\n"
    dpkg.write_text(package + "Version: 0.3.15.3-0.debian-bookworm\n\n")
    assert cri_dockerd_version(fs, fs, daemon, Errors()) == (
        "0.3.15.3-0.debian-bookworm", "host:/var/lib/dpkg/status (package cri-dockerd)",
    )  # fmt: skip


def test_a_podman_container_under_its_own_cgroup_parent() -> None:
    from inspect8s.host.identify import identify

    cid = "f" * 64
    found = identify(f"/i8s-podman-1a2b/libpod-{cid}")
    assert found is not None and (found.runtime, found.container_id) == ("podman", cid)


def test_a_listener_bound_with_extra_slashes_is_its_path() -> None:
    from inspect8s.collect.discover import parse_proc_net_unix

    text = (
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "0000000000000000: 00000002 00000000 00010000 0001 01 91234 ///run/cri-dockerd.sock\n"
    )
    assert parse_proc_net_unix(text) == [(91234, 0x10000, 1, "/run/cri-dockerd.sock")]
