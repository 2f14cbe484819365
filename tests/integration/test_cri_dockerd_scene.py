"""The cri-dockerd chain on the live dockerd of the test bed, with the right containerd
among two, traced live and from the bundle ``record`` writes.

cri-dockerd is not packaged here. A small CRI server (tests/testbed/criserver.py,
``CriDockerdCRI``) stands in for it, answering as cri-dockerd 0.3 does from the live Docker
Engine (the shapes of cri-dockerd's own source), started as ``.../bin/cri-dockerd
--container-runtime-endpoint unix:///run/cri-dockerd.sock --docker-endpoint
unix:///var/run/docker.sock`` so that discovery sees a cri-dockerd daemon listening there;
the scene's package database lists Mirantis' ``cri-dockerd`` package. Everything else is
real, in a mount namespace of the test's own:

* containerd A on the **default socket** ``/run/containerd/containerd.sock`` with a pod of
  its own (the trap: dockerd's default containerd);
* containerd B on ``/run/docker-containerd/containerd.sock``, named to dockerd only in
  dockerd's ``daemon.json`` (``"containerd"``), and that dockerd on ``/var/run/docker.sock``;
* a stopped kubelet whose config names cri-dockerd's socket;
* pod ``shop/web`` as cri-dockerd makes it: a ``k8s_POD_web_shop_<uid>_0`` pause container
  and a ``k8s_app_web_shop_<uid>_0`` container sharing its network and IPC, labelled as the
  kubelet's, under the pod cgroup ``/kubepods/besteffort/pod<uid>``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testbed import TestBed, host
from testbed.namespace import MountNamespace

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
A_SOCKET = "/run/containerd/containerd.sock"
B_SOCKET = "/run/docker-containerd/containerd.sock"
CRI_SOCKET = "/run/cri-dockerd.sock"
PACKAGE = "0.3.15.3-0.debian-bookworm"
UNIT = """[Unit]
Description=kubelet: The Kubernetes Node Agent

[Service]
ExecStart=/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --v=2
"""
KUBELET_CONFIG = f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{CRI_SOCKET}
"""
DPKG = f"""Package: cri-dockerd
Status: install ok installed
Priority: optional
Section: admin
Architecture: amd64
Version: {PACKAGE}
Description: cri-dockerd

"""


@dataclass
class Scene:
    ns: MountNamespace
    a: TestBed
    b: TestBed
    cri_dockerd_pid: int
    uid: str
    sandbox_id: str
    app_id: str
    bundle: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.ns.exec_prefix, sys.executable, "-m", "inspect8s", *args],
            capture_output=True, text=True, cwd=REPO, timeout=180, check=False,
        )  # fmt: skip

    def json(self, *args: str) -> Any:
        proc = self.run(*args, "-o", "json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


def _start_cri_dockerd(ns: MountNamespace) -> subprocess.Popen[bytes]:
    """The stand-in, under cri-dockerd's name and flags (module docstring)."""
    bin_dir = ns.base / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "cri-dockerd").symlink_to(sys.executable)
    paths = [str(REPO), str(REPO / "tests"), sysconfig.get_paths()["purelib"]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.Popen(
        [*ns.exec_prefix, str(bin_dir / "cri-dockerd"), "-m", "testbed.criserver", "cri-dockerd",
         "--container-runtime-endpoint", f"unix://{CRI_SOCKET}",
         "--docker-endpoint", "unix:///var/run/docker.sock"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"serving":
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.kill()
        raise RuntimeError(f"the cri-dockerd stand-in did not start: {err}")
    return proc


def _pod(b: TestBed, uid: str) -> tuple[str, str]:
    """``shop/web`` as cri-dockerd creates it through dockerd (module docstring)."""
    parent = f"/kubepods/besteffort/pod{uid}"
    labels = {
        "io.kubernetes.pod.name": "web",
        "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.pod.uid": uid,
        "io.inspect8s.testbed": "1",
    }
    sandbox = b.docker.containers.run(
        b.docker_image, ["/bin/sleep", "infinity"], name=f"k8s_POD_web_shop_{uid}_0",
        detach=True, network_mode="none", ipc_mode="shareable", cgroup_parent=parent,
        labels={**labels, "io.kubernetes.container.name": "POD",
                "io.kubernetes.docker.type": "podsandbox"},
    )  # fmt: skip
    app = b.docker.containers.run(
        b.docker_image, ["/bin/sleep", "infinity"], name=f"k8s_app_web_shop_{uid}_0",
        detach=True, network_mode=f"container:{sandbox.id}", ipc_mode=f"container:{sandbox.id}",
        cgroup_parent=parent, mem_limit=64 << 20,
        labels={**labels, "io.kubernetes.container.name": "app",
                "io.kubernetes.docker.type": "container", "io.kubernetes.sandbox.id": sandbox.id},
    )  # fmt: skip
    return sandbox.id, app.id


@pytest.fixture(scope="module")
def scene(testbed_available: None) -> Iterator[Scene]:
    existed = {p: bool(host.cgroup_dirs(p)) for p in ("/kubepods", "/kubepods/besteffort")}
    uid = str(uuid.uuid4())
    with MountNamespace() as ns:
        ns.write("/etc/systemd/system/kubelet.service", UNIT)
        ns.write("/var/lib/kubelet/config.yaml", KUBELET_CONFIG)
        status = Path("/var/lib/dpkg/status")
        ns.write(str(status), DPKG + (status.read_text() if status.exists() else ""))
        a = TestBed(
            mount_ns=ns, docker=False, config_flag=False,
            paths={"containerd_config": "/etc/containerd/config.toml",
                   "containerd_socket": A_SOCKET, "containerd_state": "/run/containerd",
                   "runc_root": "/run/containerd/runc"},
        )  # fmt: skip
        b = TestBed(
            mount_ns=ns, containerd_in_daemon_json=True,
            paths={"containerd_config": "/etc/docker-containerd/config.toml",
                   "containerd_socket": B_SOCKET,
                   "containerd_state": "/run/docker-containerd/state",
                   "runc_root": "/run/docker-containerd/runc",
                   "docker_socket": "/var/run/docker.sock", "docker_exec_root": "/run/docker"},
        )  # fmt: skip
        cri_dockerd: subprocess.Popen[bytes] | None = None
        ids: tuple[str, str] | None = None
        try:
            with a, b:
                a.run_pod("api", "shop")
                ids = _pod(b, uid)
                cri_dockerd = _start_cri_dockerd(ns)
                bundle = ns.base / "bundle"
                yield Scene(ns, a, b, cri_dockerd.pid, uid, ids[0], ids[1], bundle)
                if ids is not None:
                    for cid in reversed(ids):
                        b.docker.api.remove_container(cid, force=True)
        finally:
            if cri_dockerd is not None:
                host.stop_pids([cri_dockerd.pid])
                cri_dockerd.wait(timeout=10)
            host.remove_cgroup_tree(f"/kubepods/besteffort/pod{uid}")
            for parent in ("/kubepods/besteffort", "/kubepods"):
                if not existed[parent]:
                    for d in host.cgroup_dirs(parent):
                        try:
                            d.rmdir()
                        except OSError:
                            pass


def _links(links: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {x["name"]: x for x in links}


@pytest.fixture(scope="module")
def live(scene: Scene) -> Any:
    return scene.json("pod", "web", "-n", "shop", "--trace-runtime")


def test_every_link_of_the_cri_dockerd_chain_is_named(scene: Scene, live: Any) -> None:
    assert live["pod_uid"] == scene.uid
    node = _links(live["node_links"])
    assert list(node) == ["kubelet", "cri-endpoint", "runtime", "dockerd", "containerd"]
    endpoint = node["cri-endpoint"]["values"]
    assert endpoint["endpoint"] == f"unix://{CRI_SOCKET}"
    assert endpoint["set_by"] == "config containerRuntimeEndpoint"
    assert endpoint["daemon_pid"] == scene.cri_dockerd_pid
    runtime = node["runtime"]["values"]
    assert (runtime["name"], runtime["pid"]) == ("cri-dockerd", scene.cri_dockerd_pid)
    assert (runtime["version"], runtime["version_source"]) == (
        PACKAGE, "host:/var/lib/dpkg/status (package cri-dockerd)",
    )  # fmt: skip
    engine = scene.b.docker.version()["Version"]
    assert runtime["relays"] == engine and runtime["cri_api_version"] == "v1"
    dockerd = node["dockerd"]["values"]
    assert (dockerd["pid"], dockerd["version"]) == (scene.b.dockerd_pid, engine)
    assert dockerd["version_source"] == "docker:/version"
    # the containerd dockerd drives, not the one on the default socket
    containerd = node["containerd"]["values"]
    assert containerd["pid"] == scene.b.containerd_pid != scene.a.containerd_pid
    assert containerd["namespace"] == "moby" and containerd["socket_from_dockerd"] == B_SOCKET
    assert B_SOCKET in containerd["found_by"]
    assert [x["name"] for x in live["node_links"] if x["missing"]] == ["kubelet"]
    for one, cid in (
        (live["sandbox"], scene.sandbox_id),
        *((c, scene.app_id) for c in live["containers"]),
    ):
        assert one["container_id"] == cid
        links = _links(one["links"])
        assert not [name for name, x in links.items() if x["missing"]], links
        shim = links["shim"]["values"]
        assert (shim["binary"], shim["namespace"], shim["started_for"]) == (
            "containerd-shim-runc-v2", "moby", cid,
        )  # fmt: skip
        assert shim["daemon_pid"] == scene.b.containerd_pid
        oci = links["oci-runtime"]["values"]
        assert oci["state_file"] == f"/run/docker/runtime-runc/moby/{cid}/state.json"
        procs = links["processes"]["values"]
        assert procs["init_pid"] == oci["state_init_pid"]
        assert links["cgroup"]["values"]["path"] == f"/kubepods/besteffort/pod{scene.uid}/{cid}"
    (app,) = live["containers"]
    procs = _links(app["links"])["processes"]["values"]
    assert procs["runtime_reported_pid"] == procs["init_pid"]  # cri-dockerd's verbose pid
    ns = _links(app["links"])["namespaces"]["values"]
    assert ns["shared_with_sandbox"] == ["ipc", "net"]
    assert _links(app["links"])["limits"]["values"]["memory_max_bytes"] == 64 << 20


def test_pid_names_the_moby_shim_and_the_pause_process(scene: Scene, live: Any) -> None:
    (app,) = live["containers"]
    shim_pid = _links(app["links"])["shim"]["values"]["pid"]
    doc = scene.json("pid", str(shim_pid))
    assert doc["role"] == "monitor" and doc["container"] == scene.app_id
    label = f"pod shop/web (UID {scene.uid}"
    assert doc["description"].startswith(
        f"the monitor (containerd-shim-runc-v2) of container app {scene.app_id[:13]} of {label}"
    )
    pause = _links(live["sandbox"]["links"])["processes"]["values"]["init_pid"]
    doc = scene.json("pid", str(pause))
    assert doc["role"] == "sandbox"
    assert doc["description"].startswith(f"the sandbox (pause process) of {label}")
    doc = scene.json("pid", str(scene.cri_dockerd_pid))
    assert (
        doc["role"] == "runtime" and doc["description"] == f"the cri-dockerd daemon ({CRI_SOCKET})"
    )
    node = scene.json("node")
    shims = {s["pid"]: s for s in node["shims"]}
    assert shims[shim_pid]["container_ids"] == [scene.app_id]
    assert all(s["namespace"] and s["id"] for s in node["shims"] if s["kind"] != "conmon")


@dataclass
class Moment:
    """What a chain says of the moment it was traced, taken out of the comparison and
    checked on its own: the memory usage of each container's cgroup (container ID ->
    (cgroup, bytes); a running process changes it between the live trace and ``record``)
    and the process standing for the host's namespaces (chosen among every process of the
    machine, when PID 1's links are unreadable; a busy host starts and stops daemons of its
    own between two reads)."""

    usage: dict[str, tuple[str, int]]
    host_references: set[str]


def _without_run(doc: Any) -> tuple[Any, Moment]:
    """A chain document without what only a live trace gives: where it was traced and the
    OCI runtime's version (binaries are not run on replay), and without its :class:`Moment`."""
    doc = json.loads(json.dumps(doc))
    doc.pop("traced_on", None)
    moment = Moment({}, set())
    for one in [doc["sandbox"], *doc["containers"]]:
        links = _links(one["links"])
        for link in one["links"]:
            if link["name"] == "oci-runtime":
                link["values"]["version"] = None
                link["source"] = link["source"].split("; ")[0]
            if link["name"] == "limits":
                cgroup = links["cgroup"]["values"]["path"]
                usage = link["values"].pop("memory_usage_bytes")
                moment.usage[one["container_id"]] = (cgroup, usage)
            if link["name"] == "namespaces":
                moment.host_references.add(link["values"].pop("host_reference"))
    return doc, moment


def _recorded_usage(bundle: Path, cgroup: str) -> int:
    """The memory usage file of ``cgroup`` as ``record`` kept it (v1 or v2)."""
    root = bundle / "host" / "sys" / "fs" / "cgroup"
    found = [
        p
        for name in ("memory.usage_in_bytes", "memory.current")
        for p in root.rglob(name)
        if str(p.parent).endswith(cgroup)
    ]
    assert len(found) == 1, (cgroup, found)
    return int(found[0].read_text())


def _differences(got: Any, want: Any, where: str = "$") -> list[str]:
    """Where two JSON documents differ, one line a place (the assertion's message)."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [
            line
            for key in sorted(set(got) | set(want))
            for line in _differences(got.get(key), want.get(key), f"{where}.{key}")
        ]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [
            line
            for i, (a, b) in enumerate(zip(got, want, strict=True))
            for line in _differences(a, b, f"{where}[{i}]")
        ]
    return [] if got == want else [f"{where}: replayed {got!r}, live {want!r}"]


def test_record_then_replay_traces_the_pod_as_live(scene: Scene, live: Any) -> None:
    proc = scene.run("record", str(scene.bundle))
    assert proc.returncode == 0, proc.stderr
    cri = json.loads((scene.bundle / "runtime" / "cri.json").read_text())
    calls = cri[CRI_SOCKET]
    assert (
        set(calls["ContainerStatus"]) == {scene.app_id}
        and scene.sandbox_id in calls["PodSandboxStatus"]
    )
    # the bundle is read outside the namespace, as elsewhere (CI, a laptop) it would be
    replayed = subprocess.run(
        [sys.executable, "-m", "inspect8s", "pod", "web", "-n", "shop", "--trace-runtime",
         "--from", str(scene.bundle), "-o", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    got, got_moment = _without_run(json.loads(replayed.stdout))
    want, want_moment = _without_run(live)
    # every value equal, the namespace inodes and what is shared with the host among them
    assert got == want, _differences(got, want)
    # memory usage: the live value was read, the replayed one is the value recorded
    usage, live_usage = got_moment.usage, want_moment.usage
    assert set(usage) == set(live_usage) == {scene.sandbox_id, scene.app_id}
    for cid, (cgroup, replayed_usage) in usage.items():
        assert live_usage[cid][0] == cgroup and live_usage[cid][1] > 0
        assert replayed_usage == _recorded_usage(scene.bundle, cgroup)
    # one host reference per trace, a process named with why it stands for the host
    for moment in (got_moment, want_moment):
        (reference,) = moment.host_references
        assert reference == "PID 1" or re.fullmatch(r"[\w. -]+ \(PID \d+\); .+", reference)
